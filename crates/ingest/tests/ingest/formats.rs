//! Reading every format back: values, types, projection, options, progress, batching.

use std::fmt::Write as _;
use std::fs::File;
use std::sync::Arc;

use crate::common::*;
use arrow_array::cast::AsArray;
use arrow_array::types::{Float64Type, Int64Type};
use arrow_array::{Float64Array, Int64Array, RecordBatch, StringArray, TimestampNanosecondArray};
use arrow_schema::{DataType, Field, Schema, TimeUnit};
use influxdb3_ingest::{
    CsvOptions, FeatherOptions, FileFormat, FileParserOptions, JsonLayout, JsonOptions, OrcOptions,
    ParquetOptions, open, open_as,
};

#[test]
fn every_sample_file_reads_back_the_source_rows() {
    for name in SAMPLE_FILES {
        let mut source = open(sample(name), None).unwrap_or_else(|e| panic!("{e}"));
        assert_home_types(&source.schema(), name);
        let names: Vec<_> = source
            .schema()
            .fields()
            .iter()
            .map(|f| f.name().clone())
            .collect();
        assert_eq!(
            names,
            ["time", "room", "temp", "hum", "co"],
            "{name}: column order"
        );
        let batches = read_all(source.as_mut()).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(rows(&batches), expected_rows(), "{name}");
    }
}

#[test]
fn projection_reads_only_the_named_columns_in_file_order() {
    let options: [(&str, FileParserOptions); 5] = [
        (
            "home-sensor-data.csv",
            CsvOptions::new().projection(["co", "time"]).into(),
        ),
        (
            "home-sensor-data.json",
            JsonOptions::new().projection(["co", "time"]).into(),
        ),
        (
            "home-sensor-data.parquet",
            ParquetOptions::new().projection(["co", "time"]).into(),
        ),
        (
            "home-sensor-data.feather",
            FeatherOptions::new().projection(["co", "time"]).into(),
        ),
        (
            "home-sensor-data.orc",
            OrcOptions::new().projection(["co", "time"]).into(),
        ),
    ];
    let expected: Vec<i64> = expected_rows().iter().map(|r| r.4).collect();
    for (name, options) in options {
        let mut source = open(sample(name), Some(options)).unwrap_or_else(|e| panic!("{e}"));
        let names: Vec<_> = source
            .schema()
            .fields()
            .iter()
            .map(|f| f.name().clone())
            .collect();
        assert_eq!(names, ["time", "co"], "{name}");
        let batches = read_all(source.as_mut()).unwrap_or_else(|e| panic!("{e}"));
        let co: Vec<i64> = batches
            .iter()
            .flat_map(|b| b.column(1).as_primitive::<Int64Type>().values().to_vec())
            .collect();
        assert_eq!(co, expected, "{name}");
    }
}

#[test]
fn progress_counts_rows_and_bytes_and_knows_totals_from_metadata() {
    for name in SAMPLE_FILES {
        let path = sample(name);
        let size = std::fs::metadata(&path).expect("sample exists").len();
        let mut source = open(&path, None).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(source.progress().rows_read, 0, "{name}");
        read_all(source.as_mut()).unwrap_or_else(|e| panic!("{e}"));
        let progress = source.progress();
        assert_eq!(progress.rows_read, 26, "{name}");
        assert_eq!(progress.total_bytes, Some(size), "{name}");
        assert!(progress.bytes_read > 0, "{name}: {progress:?}");
        let format = FileFormat::from_path(&path).expect("known extension");
        match format {
            FileFormat::Parquet | FileFormat::Orc => {
                assert_eq!(progress.total_rows, Some(26), "{name}");
                assert_eq!(progress.fraction(), Some(1.0), "{name}");
            }
            FileFormat::Csv | FileFormat::Json => {
                // Text is read once from the top after inference: every byte exactly once.
                assert_eq!(progress.bytes_read, size, "{name}");
                assert_eq!(progress.fraction(), Some(1.0), "{name}");
            }
            FileFormat::Feather => assert_eq!(progress.total_rows, None, "{name}"),
        }
    }
}

#[test]
fn csv_with_an_explicit_schema_parses_columns_as_given() {
    let schema = Arc::new(Schema::new(vec![
        Field::new("time", DataType::Utf8, false),
        Field::new("room", DataType::Utf8, false),
        Field::new("temp", DataType::Float32, false),
        Field::new("hum", DataType::Float64, false),
        Field::new("co", DataType::Float64, false),
    ]));
    let options = CsvOptions::new().schema(schema.clone());
    let mut source = open(sample("home-sensor-data.csv"), Some(options.into())).expect("opens");
    assert_eq!(source.schema(), schema);
    let batches = read_all(source.as_mut()).expect("reads");
    let batch = &batches[0];
    assert_eq!(
        batch.column(0).as_string::<i32>().value(0),
        "2022-01-01T08:00:00Z"
    );
    assert_eq!(
        batch.column(4).as_primitive::<Float64Type>().value(25),
        26.0
    );
}

#[test]
fn csv_delimiter_quote_escape_null_and_header_options() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("odd.csv");
    std::fs::write(
        &path,
        "room;note;temp;time\n\
         'Living; Room';'say \\'hi\\'';21.5;2022-01-01T08:00:00Z\n\
         Kitchen;NA;NA;2022-01-01 09:00:00+01:00\n",
    )
    .expect("write");
    let options = CsvOptions::new()
        .delimiter(b';')
        .quote(b'\'')
        .escape(b'\\')
        .null_values(["NA"]);
    let mut source = open(&path, Some(options.into())).expect("opens");
    let schema = source.schema();
    assert_eq!(schema.field(2).data_type(), &DataType::Float64);
    assert_eq!(
        schema.field(3).data_type(),
        &DataType::Timestamp(TimeUnit::Nanosecond, None)
    );
    let batch = &read_all(source.as_mut()).expect("reads")[0];
    let room = batch.column(0).as_string::<i32>();
    assert_eq!(room.value(0), "Living; Room");
    assert_eq!(batch.column(1).as_string::<i32>().value(0), "say 'hi'");
    assert!(batch.column(1).is_null(1));
    assert!(batch.column(2).is_null(1));
    let time = batch
        .column(3)
        .as_primitive::<arrow_array::types::TimestampNanosecondType>();
    assert_eq!(time.value(0), FIRST_HOUR * 1_000_000_000);
    // 09:00 at +01:00 is 08:00 UTC.
    assert_eq!(time.value(1), FIRST_HOUR * 1_000_000_000);

    // Without a header the columns are numbered and the first line is data.
    let path = dir.path().join("noheader.csv");
    std::fs::write(&path, "Kitchen,21.5\nLiving Room,22\n").expect("write");
    let mut source = open(&path, Some(CsvOptions::new().has_header(false).into())).expect("opens");
    let names: Vec<_> = source
        .schema()
        .fields()
        .iter()
        .map(|f| f.name().clone())
        .collect();
    assert_eq!(names, ["column_1", "column_2"]);
    let batches = read_all(source.as_mut()).expect("reads");
    assert_eq!(batches[0].num_rows(), 2);

    // A null regex replaces the default; here `-` and the empty field are null.
    let path = dir.path().join("dash.csv");
    std::fs::write(&path, "a,b\n-,1\n,2\nx,3\n").expect("write");
    let mut source = open(&path, Some(CsvOptions::new().null_regex("^-?$").into())).expect("opens");
    let batch = &read_all(source.as_mut()).expect("reads")[0];
    assert_eq!(batch.column(0).null_count(), 2);
}

#[test]
fn csv_timestamp_columns_turn_text_into_timestamps() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("dates.csv");
    std::fs::write(&path, "day,v\n2022-01-01,1\n2022-01-02,2\n").expect("write");
    let source = open(&path, None).expect("opens");
    assert_eq!(source.schema().field(0).data_type(), &DataType::Date32);
    let options = CsvOptions::new().timestamp_columns(["day"]);
    let mut source = open(&path, Some(options.into())).expect("opens");
    assert_eq!(
        source.schema().field(0).data_type(),
        &DataType::Timestamp(TimeUnit::Nanosecond, None)
    );
    let batch = &read_all(source.as_mut()).expect("reads")[0];
    let day = batch
        .column(0)
        .as_primitive::<arrow_array::types::TimestampNanosecondType>();
    assert_eq!(
        day.value(1),
        (FIRST_HOUR - 8 * 3600 + 86_400) * 1_000_000_000
    );
}

/// The sample as a pretty-printed JSON array, with awkward strings.
fn json_array_text() -> String {
    let mut out = String::from("\u{feff}[\n");
    for (i, row) in expected_rows().iter().enumerate() {
        let secs = row.0 / 1_000_000_000;
        let hour = (secs - FIRST_HOUR) / 3600 + 8;
        if i > 0 {
            out.push_str(",\n");
        }
        let _ = write!(
            out,
            "  {{\n    \"time\": \"2022-01-01T{hour:02}:00:00Z\",\n    \"room\": \"{}\",\n    \
             \"temp\": {:?}, \"hum\": {:?},\n    \"co\": {},\n    \"note\": \"}} ] {{ \\\" [\"\n  }}",
            row.1, row.2, row.3, row.4
        );
    }
    out.push_str("\n]\n");
    out
}

#[test]
fn json_array_and_json_lines_give_the_same_rows() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("array.json");
    std::fs::write(&path, json_array_text()).expect("write");
    for layout in [JsonLayout::Auto, JsonLayout::Array] {
        let options = JsonOptions::new().layout(layout).batch_size(7);
        let mut source = open(&path, Some(options.into())).unwrap_or_else(|e| panic!("{e}"));
        let names: Vec<_> = source
            .schema()
            .fields()
            .iter()
            .map(|f| f.name().clone())
            .collect();
        assert_eq!(names, ["time", "room", "temp", "hum", "co", "note"]);
        let batches = read_all(source.as_mut()).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            batches.iter().map(|b| b.num_rows()).collect::<Vec<_>>(),
            [7, 7, 7, 5]
        );
        assert_eq!(rows(&batches), expected_rows());
        let note = batches[0].column(5).as_string::<i32>();
        assert_eq!(note.value(0), "} ] { \" [");
    }
    let options = JsonOptions::new().layout(JsonLayout::Lines);
    let mut source = open(sample("home-sensor-data.json"), Some(options.into())).expect("opens");
    assert_eq!(
        rows(&read_all(source.as_mut()).expect("reads")),
        expected_rows()
    );
}

#[test]
fn json_with_an_explicit_schema_ignores_other_keys() {
    let schema = Arc::new(Schema::new(vec![
        Field::new("room", DataType::Utf8, false),
        Field::new("co", DataType::Float64, true),
    ]));
    let options = JsonOptions::new().schema(schema.clone());
    let mut source = open(sample("home-sensor-data.json"), Some(options.into())).expect("opens");
    assert_eq!(source.schema(), schema);
    let batches = read_all(source.as_mut()).expect("reads");
    assert_eq!(
        batches[0].column(1).as_primitive::<Float64Type>().value(25),
        26.0
    );
}

fn write_feather(
    path: &std::path::Path,
    batch: &RecordBatch,
    compression: Option<arrow_ipc::CompressionType>,
) {
    let options = arrow_ipc::writer::IpcWriteOptions::default()
        .try_with_compression(compression)
        .expect("compression supported");
    let file = File::create(path).expect("create");
    let mut writer =
        arrow_ipc::writer::FileWriter::try_new_with_options(file, &batch.schema(), options)
            .expect("writer");
    // Two batches, to check batch-by-batch reading.
    writer.write(&batch.slice(0, 10)).expect("write");
    writer.write(&batch.slice(10, 16)).expect("write");
    writer.finish().expect("finish");
}

#[test]
fn feather_reads_uncompressed_lz4_and_zstd_files() {
    let dir = tempfile::tempdir().expect("tempdir");
    let batch = sample_batch();
    for (name, compression) in [
        ("plain.arrow", None),
        ("lz4.feather", Some(arrow_ipc::CompressionType::LZ4_FRAME)),
        ("zstd.ipc", Some(arrow_ipc::CompressionType::ZSTD)),
    ] {
        let path = dir.path().join(name);
        write_feather(&path, &batch, compression);
        let mut source = open(&path, None).unwrap_or_else(|e| panic!("{name}: {e}"));
        let batches = read_all(source.as_mut()).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(batches.len(), 2, "{name}");
        assert_eq!(rows(&batches), expected_rows(), "{name}");
    }
}

#[test]
fn open_as_ignores_the_extension() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("export.txt");
    std::fs::copy(sample("home-sensor-data.csv"), &path).expect("copy");
    let mut source = open_as(&path, FileFormat::Csv, None).expect("opens");
    assert_eq!(
        rows(&read_all(source.as_mut()).expect("reads")),
        expected_rows()
    );
}

/// 200k synthetic home rows.
fn big_batch(rows: usize) -> RecordBatch {
    let rooms = ["Kitchen", "Living Room", "Bedroom"];
    let schema = Arc::new(Schema::new(vec![
        Field::new(
            "time",
            DataType::Timestamp(TimeUnit::Nanosecond, None),
            false,
        ),
        Field::new("room", DataType::Utf8, false),
        Field::new("temp", DataType::Float64, false),
        Field::new("co", DataType::Int64, false),
    ]));
    RecordBatch::try_new(
        schema,
        vec![
            Arc::new(TimestampNanosecondArray::from_iter_values(
                (0..rows as i64).map(|i| (FIRST_HOUR + i) * 1_000_000_000),
            )),
            Arc::new(StringArray::from_iter_values(
                (0..rows).map(|i| rooms[i % 3]),
            )),
            Arc::new(Float64Array::from_iter_values(
                (0..rows).map(|i| 20.0 + (i % 50) as f64 / 10.0),
            )),
            Arc::new(Int64Array::from_iter_values(
                (0..rows as i64).map(|i| i % 30),
            )),
        ],
    )
    .expect("batch")
}

#[test]
fn a_file_larger_than_one_batch_is_read_in_batches_of_batch_size() {
    const ROWS: usize = 200_000;
    const BATCH: usize = 8192;
    let dir = tempfile::tempdir().expect("tempdir");
    let batch = big_batch(ROWS);

    let parquet_path = dir.path().join("big.parquet");
    let props = parquet::file::properties::WriterProperties::builder()
        .set_max_row_group_row_count(Some(30_000))
        .build();
    let mut writer = parquet::arrow::ArrowWriter::try_new(
        File::create(&parquet_path).expect("create"),
        batch.schema(),
        Some(props),
    )
    .expect("writer");
    writer.write(&batch).expect("write");
    writer.close().expect("close");

    let csv_path = dir.path().join("big.csv");
    let mut csv = String::from("time,room,temp,co\n");
    let temp = batch.column(2).as_primitive::<Float64Type>();
    let co = batch.column(3).as_primitive::<Int64Type>();
    let room = batch.column(1).as_string::<i32>();
    for i in 0..ROWS {
        let _ = writeln!(
            csv,
            "{},{},{:?},{}",
            FIRST_HOUR + i as i64,
            room.value(i),
            temp.value(i),
            co.value(i)
        );
    }
    std::fs::write(&csv_path, csv).expect("write");

    let cases: [(&std::path::Path, FileParserOptions); 2] = [
        (
            &parquet_path,
            ParquetOptions::new().batch_size(BATCH).into(),
        ),
        (&csv_path, CsvOptions::new().batch_size(BATCH).into()),
    ];
    for (path, options) in cases {
        let mut source = open(path, Some(options)).expect("opens");
        let mut sizes = Vec::new();
        let mut co_sum = 0i64;
        while let Some(batch) = source.next_batch().expect("reads") {
            sizes.push(batch.num_rows());
            co_sum += batch
                .column_by_name("co")
                .expect("co")
                .as_primitive::<Int64Type>()
                .values()
                .iter()
                .sum::<i64>();
        }
        let (last, full) = sizes.split_last().expect("some batches");
        assert!(
            full.iter().all(|&n| n == BATCH),
            "{}: {sizes:?}",
            path.display()
        );
        assert!(*last <= BATCH);
        assert_eq!(sizes.iter().sum::<usize>(), ROWS);
        assert_eq!(sizes.len(), ROWS.div_ceil(BATCH));
        assert_eq!(co_sum, (0..ROWS as i64).map(|i| i % 30).sum::<i64>());
        assert_eq!(source.progress().rows_read, ROWS as u64);
    }
}
