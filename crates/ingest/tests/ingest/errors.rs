//! Bad input never panics: each case is an error naming the format, the path and, for text,
//! the row and line.

use std::path::Path;

use crate::common::*;
use influxdb3_ingest::{
    CsvOptions, ErrorKind, FileFormat, JsonLayout, JsonOptions, ParquetOptions, open,
};

/// Opens and reads a file to the end, returning the first error.
fn read_error(
    path: &Path,
    options: Option<influxdb3_ingest::FileParserOptions>,
) -> Option<influxdb3_ingest::Error> {
    let mut source = match open(path, options) {
        Ok(source) => source,
        Err(err) => return Some(err),
    };
    read_all(source.as_mut()).err()
}

#[test]
fn an_unknown_extension_lists_the_supported_ones() {
    for name in ["data.xlsx", "data", "archive.csv.gz"] {
        let err = open(name, None)
            .err()
            .unwrap_or_else(|| panic!("{name} opened"));
        assert_eq!(err.kind(), ErrorKind::UnknownExtension);
        let text = err.to_string();
        assert!(text.contains(name), "{text}");
        for ext in [".feather", ".parquet", ".csv", ".json", ".orc"] {
            assert!(text.contains(ext), "{text}");
        }
    }
}

#[test]
fn a_missing_file_is_an_io_error_naming_format_and_path() {
    let err = open("no/such/file.parquet", None)
        .err()
        .expect("missing file");
    assert_eq!(err.kind(), ErrorKind::Io);
    assert_eq!(err.format(), Some(FileFormat::Parquet));
    assert!(
        err.to_string()
            .starts_with("parquet file `no/such/file.parquet`"),
        "{err}"
    );
}

#[test]
fn invalid_options_are_refused() {
    let csv = sample("home-sensor-data.csv");
    let err = open(&csv, Some(ParquetOptions::new().into()))
        .err()
        .expect("wrong options");
    assert_eq!(err.kind(), ErrorKind::InvalidOptions);
    assert!(err.to_string().contains("parquet parser options"), "{err}");

    let err = open(&csv, Some(CsvOptions::new().null_regex("(").into()))
        .err()
        .expect("bad regex");
    assert_eq!(err.kind(), ErrorKind::InvalidOptions);

    let err = open(&csv, Some(CsvOptions::new().batch_size(0).into()))
        .err()
        .expect("zero batch");
    assert_eq!(err.kind(), ErrorKind::InvalidOptions);
}

#[test]
fn projecting_an_unknown_column_lists_the_columns() {
    let err = open(
        sample("home-sensor-data.parquet"),
        Some(
            ParquetOptions::new()
                .projection(["time", "pressure"])
                .into(),
        ),
    )
    .err()
    .expect("unknown column");
    assert_eq!(err.kind(), ErrorKind::Schema);
    assert_eq!(err.column(), Some("pressure"));
    assert!(
        err.to_string().contains("time, room, temp, hum, co"),
        "{err}"
    );
}

/// Garbage that is not valid UTF-8, JSON or any binary format.
fn garbage() -> Vec<u8> {
    (0..4096u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8 | 0x80)
        .collect()
}

#[test]
fn truncated_and_garbage_files_are_errors_not_panics() {
    let dir = tempfile::tempdir().expect("tempdir");
    for name in SAMPLE_FILES {
        let bytes = std::fs::read(sample(name)).expect("sample");
        let format = FileFormat::from_path(name).expect("known");
        let binary = matches!(
            format,
            FileFormat::Parquet | FileFormat::Feather | FileFormat::Orc
        );
        let mut cuts: Vec<usize> = vec![
            0,
            1,
            7,
            12,
            bytes.len() / 3,
            bytes.len() / 2,
            bytes.len() - 9,
            bytes.len() - 1,
        ];
        cuts.extend((0..bytes.len()).step_by(53));
        for cut in cuts {
            let path = dir.path().join(format!("cut-{cut}-{name}"));
            std::fs::write(&path, &bytes[..cut]).expect("write");
            let result = std::panic::catch_unwind(|| read_error(&path, None));
            let err = result.unwrap_or_else(|_| panic!("{name} cut at {cut} panicked"));
            match err {
                Some(err) => {
                    assert_eq!(err.format(), Some(format), "{name} cut at {cut}: {err}");
                    assert_eq!(err.path(), path.as_path());
                    let text = err.to_string();
                    assert!(
                        text.starts_with(&format!("{} file `", format.name())),
                        "{text}"
                    );
                }
                // A text file cut at a line boundary is a shorter valid file; a cut inside a
                // JSON record is always an error.
                None => assert!(
                    !binary
                        && (cut == 0
                            || matches!(bytes[cut - 1], b'\n' | b'}')
                            || format == FileFormat::Csv),
                    "{name} cut at {cut} of {} read without error",
                    bytes.len()
                ),
            }
        }
        let path = dir.path().join(format!("garbage-{name}"));
        std::fs::write(&path, garbage()).expect("write");
        let err = std::panic::catch_unwind(|| read_error(&path, None))
            .unwrap_or_else(|_| panic!("garbage {name} panicked"))
            .unwrap_or_else(|| panic!("garbage {name} read without error"));
        assert_eq!(err.format(), Some(format));
        if binary {
            assert!(
                matches!(err.kind(), ErrorKind::Corrupt | ErrorKind::Io),
                "{err}"
            );
        } else {
            assert!(
                matches!(err.kind(), ErrorKind::Parse | ErrorKind::Schema),
                "{err}"
            );
        }
    }
}

#[test]
fn a_bad_csv_value_names_row_line_and_column() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("bad.csv");
    let mut text = String::from("time,room,temp\n");
    for i in 0..40 {
        let temp = if i == 29 {
            "warm".to_owned()
        } else {
            format!("{}.5", 20 + i % 3)
        };
        text.push_str(&format!("2022-01-01T08:00:{:02}Z,Kitchen,{temp}\n", i));
    }
    std::fs::write(&path, text).expect("write");
    // Inference sees only the first 10 rows, so row 30 fails while reading (in batch 3).
    let options = CsvOptions::new().infer_rows(10).batch_size(12);
    let err = read_error(&path, Some(options.into())).expect("bad value");
    assert_eq!(err.kind(), ErrorKind::Parse);
    assert_eq!(err.row(), Some(30), "{err}");
    assert_eq!(err.line(), Some(31), "{err}");
    assert_eq!(err.column(), Some("temp"), "{err}");
    assert!(err.to_string().contains("warm"), "{err}");

    // A row with the wrong number of fields.
    let path = dir.path().join("short.csv");
    std::fs::write(&path, "a,b\n1,2\n3,4\n5\n6,7\n").expect("write");
    let err = read_error(&path, None).expect("short row");
    assert_eq!(err.kind(), ErrorKind::Parse);
    assert_eq!(err.line(), Some(4), "{err}");
    assert_eq!(err.row(), Some(3), "{err}");
    // The same row found while reading rather than while inferring.
    let err = read_error(&path, Some(CsvOptions::new().infer_rows(1).into())).expect("short row");
    assert_eq!(err.kind(), ErrorKind::Parse);
    assert_eq!(err.line(), Some(4), "{err}");
    assert_eq!(err.row(), Some(3), "{err}");
}

#[test]
fn bad_json_names_the_record_and_line() {
    let dir = tempfile::tempdir().expect("tempdir");

    // A syntax error on the third record.
    let path = dir.path().join("syntax.json");
    std::fs::write(&path, "{\"a\": 1}\n{\"a\": 2}\n{\"a\" 3}\n").expect("write");
    let err = read_error(&path, None).expect("syntax error");
    assert_eq!(err.kind(), ErrorKind::Parse);
    assert_eq!((err.row(), err.line()), (Some(3), Some(3)), "{err}");

    // A value of the wrong type after the inferred rows, in the middle of a batch.
    let path = dir.path().join("type.json");
    let mut text = String::new();
    for i in 0..40 {
        let v = if i == 29 {
            "\"hot\"".to_owned()
        } else {
            format!("{i}.5")
        };
        text.push_str(&format!("{{\"room\": \"Kitchen\", \"temp\": {v}}}\n"));
    }
    std::fs::write(&path, &text).expect("write");
    let options = JsonOptions::new().infer_rows(10).batch_size(16);
    let err = read_error(&path, Some(options.into())).expect("type error");
    assert_eq!(err.kind(), ErrorKind::Parse);
    assert_eq!((err.row(), err.line()), (Some(30), Some(30)), "{err}");

    // An array that never closes, and text after the closing bracket.
    for (text, line) in [
        ("[{\"a\": 1},\n{\"a\": 2}\n", 3),
        ("[{\"a\": 1}]\n{\"a\": 2}\n", 2),
    ] {
        let path = dir.path().join("array.json");
        std::fs::write(&path, text).expect("write");
        let err = read_error(&path, None).expect("bad array");
        assert_eq!(err.kind(), ErrorKind::Parse, "{err}");
        assert_eq!(err.line(), Some(line), "{err}");
    }

    // Lines expected but an array given.
    let path = dir.path().join("lines.json");
    std::fs::write(&path, "[{\"a\": 1}]").expect("write");
    let options = JsonOptions::new().layout(JsonLayout::Lines);
    let err = read_error(&path, Some(options.into())).expect("array in lines mode");
    assert_eq!(err.kind(), ErrorKind::Parse);
}
