//! Each sample file, through `RecordBatchLines`, gives the same 26 lines of line protocol,
//! with the measurement from the mapping, a `measurement` column or an `iox::measurement`
//! column (in that order of precedence).

use crate::common::*;
use influxdb3_ingest::{
    BatchSource, CsvOptions, FileParserOptions, JsonOptions, OrcOptions, ParquetOptions, open,
};
use influxdb3_lp::{LineEncoder, Precision, RecordBatchLines, TableMapping};

/// The expected line protocol, written out from the source rows (floats as Rust prints
/// them: `21` for 21.0, as line protocol allows).
fn expected_lines(measurement: &str) -> String {
    expected_rows()
        .iter()
        .map(|(ns, room, temp, hum, co)| {
            format!(
                "{measurement},room={} temp={temp},hum={hum},co={co}i {}\n",
                room.replace(' ', "\\ "),
                ns / 1_000_000_000
            )
        })
        .collect()
}

fn encode(source: &mut dyn BatchSource, mapping: &TableMapping) -> String {
    let mut encoder = LineEncoder::new(Precision::Seconds);
    let mut offset = 0;
    while let Some(batch) = source.next_batch().unwrap_or_else(|e| panic!("{e}")) {
        encoder
            .encode(&RecordBatchLines::new(&batch, mapping).row_offset(offset))
            .unwrap_or_else(|e| panic!("{e}"));
        offset += batch.num_rows() as u64;
    }
    String::from_utf8(encoder.as_bytes().to_vec()).expect("line protocol is UTF-8")
}

#[test]
fn every_sample_file_encodes_to_the_expected_lines() {
    let mapping = TableMapping::new()
        .measurement("home")
        .tag_columns(["room"])
        .timestamp_column("time");
    for name in SAMPLE_FILES {
        let mut source = open(sample(name), None).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            encode(source.as_mut(), &mapping),
            expected_lines("home"),
            "{name}"
        );
    }
}

#[test]
fn small_batches_encode_to_the_same_lines() {
    let mapping = TableMapping::new()
        .measurement("home")
        .tag_columns(["room"]);
    let options: [(&str, FileParserOptions); 4] = [
        (
            "home-sensor-data.csv",
            CsvOptions::new().batch_size(5).into(),
        ),
        (
            "home-sensor-data.json",
            JsonOptions::new().batch_size(5).into(),
        ),
        (
            "home-sensor-data.parquet",
            ParquetOptions::new().batch_size(5).into(),
        ),
        (
            "home-sensor-data.orc",
            OrcOptions::new().batch_size(5).into(),
        ),
    ];
    for (name, options) in options {
        let mut source = open(sample(name), Some(options)).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            encode(source.as_mut(), &mapping),
            expected_lines("home"),
            "{name}"
        );
    }
}

#[test]
fn the_measurement_comes_from_the_mapping_then_the_measurement_columns() {
    let from_columns = TableMapping::new().tag_columns(["room"]);
    for name in [
        "home-sensor-data-measurement.csv",
        "home-sensor-data-iox.parquet",
    ] {
        let mut source = open(sample(name), None).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            encode(source.as_mut(), &from_columns),
            expected_lines("home"),
            "{name}"
        );

        // A measurement name given by the caller wins over the column.
        let named = TableMapping::new()
            .measurement("office")
            .tag_columns(["room"]);
        let mut source = open(sample(name), None).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            encode(source.as_mut(), &named),
            expected_lines("office"),
            "{name}"
        );
    }
}
