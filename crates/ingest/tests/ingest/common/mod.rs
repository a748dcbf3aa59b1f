//! Helpers shared by the integration tests: the sample files and their expected rows.
#![allow(dead_code)]

use std::path::PathBuf;

use arrow_array::RecordBatch;
use arrow_array::cast::AsArray;
use arrow_array::types::{Float64Type, Int64Type, TimestampNanosecondType};
use arrow_schema::{DataType, SchemaRef, TimeUnit};
use influxdb3_ingest::{BatchSource, Error};

/// One row of the home sensor data: (time in ns, room, temp, hum, co).
pub(crate) type Row = (i64, String, f64, f64, i64);

/// The sample data directory of the workspace (`examples/data`).
pub(crate) fn sample(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../examples/data")
        .join(name)
}

/// The five sample files, one per format.
pub(crate) const SAMPLE_FILES: [&str; 5] = [
    "home-sensor-data.csv",
    "home-sensor-data.json",
    "home-sensor-data.parquet",
    "home-sensor-data.feather",
    "home-sensor-data.orc",
];

mod home_sensor;

pub(crate) use home_sensor::FIRST_HOUR;
use home_sensor::HOME_SENSOR_ROWS;

/// The sample rows as `make_sample_data` writes them, with `time` in nanoseconds.
pub(crate) fn expected_rows() -> Vec<Row> {
    HOME_SENSOR_ROWS
        .iter()
        .map(|&(h, room, temp, hum, co)| {
            (
                (FIRST_HOUR + h * 3600) * 1_000_000_000,
                room.to_owned(),
                temp,
                hum,
                co,
            )
        })
        .collect()
}

/// Reads a source to the end.
pub(crate) fn read_all(source: &mut dyn BatchSource) -> Result<Vec<RecordBatch>, Error> {
    let mut batches = Vec::new();
    while let Some(batch) = source.next_batch()? {
        assert_eq!(
            batch.schema(),
            source.schema(),
            "every batch has the source's schema"
        );
        batches.push(batch);
    }
    Ok(batches)
}

/// Checks the normalized column types: time is a nanosecond timestamp (any zone), room
/// text, temp and hum floats, co integers.
pub(crate) fn assert_home_types(schema: &SchemaRef, what: &str) {
    for field in schema.fields() {
        let ok = match field.name().as_str() {
            "time" => matches!(
                field.data_type(),
                DataType::Timestamp(TimeUnit::Nanosecond, _)
            ),
            "room" | "measurement" | "iox::measurement" => field.data_type() == &DataType::Utf8,
            "temp" | "hum" => field.data_type() == &DataType::Float64,
            "co" => field.data_type() == &DataType::Int64,
            _ => false,
        };
        assert!(
            ok,
            "{what}: column {} has type {}",
            field.name(),
            field.data_type()
        );
    }
}

/// The rows of home-sensor batches (columns found by name).
pub(crate) fn rows(batches: &[RecordBatch]) -> Vec<Row> {
    let mut out = Vec::new();
    for batch in batches {
        let col = |name: &str| {
            batch
                .column_by_name(name)
                .unwrap_or_else(|| panic!("no column {name}"))
        };
        let time = arrow_cast::cast(
            col("time"),
            &DataType::Timestamp(TimeUnit::Nanosecond, None),
        )
        .expect("time casts to ns");
        let time = time.as_primitive::<TimestampNanosecondType>();
        let room = col("room").as_string::<i32>();
        let temp = col("temp").as_primitive::<Float64Type>();
        let hum = col("hum").as_primitive::<Float64Type>();
        let co = col("co").as_primitive::<Int64Type>();
        for i in 0..batch.num_rows() {
            out.push((
                time.value(i),
                room.value(i).to_owned(),
                temp.value(i),
                hum.value(i),
                co.value(i),
            ));
        }
    }
    out
}

/// The home sensor data as one batch (read from the parquet sample).
pub(crate) fn sample_batch() -> RecordBatch {
    let mut source =
        influxdb3_ingest::open(sample("home-sensor-data.parquet"), None).expect("sample opens");
    let batches = read_all(source.as_mut()).expect("sample reads");
    arrow_select::concat::concat_batches(&source.schema(), &batches).expect("batches concat")
}
