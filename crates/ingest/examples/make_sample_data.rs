//! Writes the home sensor sample data in every supported format, from one table.
//!
//! ```text
//! cargo run -p influxdb3-ingest --example make_sample_data -- <out dir>
//! ```
//!
//! The rows are InfluxData's "Get started" home sensor data: rooms `Living Room` and
//! `Kitchen`, hourly from 2022-01-01T08:00:00Z to 2022-01-01T20:00:00Z (26 rows), fields
//! `temp` (float), `hum` (float), `co` (integer), tag `room`, timestamp `time`.
//!
//! Files written: `home-sensor-data.{csv,json,parquet,feather,orc}`,
//! `home-sensor-data-measurement.csv` (with a `measurement` column) and
//! `home-sensor-data-iox.parquet` (with an `iox::measurement` column).

use std::error::Error;
use std::fmt::Write as _;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow_array::{
    ArrayRef, Float64Array, Int64Array, RecordBatch, StringArray, TimestampNanosecondArray,
};
use arrow_ipc::CompressionType;
use arrow_ipc::writer::{FileWriter, IpcWriteOptions};
use arrow_schema::{DataType, Field, Schema, TimeUnit};
use parquet::arrow::ArrowWriter;
use parquet::basic::Compression;
use parquet::file::properties::WriterProperties;

/// The measurement name used by the files that carry one.
const MEASUREMENT: &str = "home";

// `FIRST_HOUR` and `HOME_SENSOR_ROWS`, shared with the tests that check these files.
include!("../tests/ingest/common/home_sensor.rs");

/// One reading: hours after 08:00, room, temp (°C), hum (%), co (ppm).
type Row = (i64, &'static str, f64, f64, i64);

fn epoch_seconds(row: &Row) -> i64 {
    FIRST_HOUR + row.0 * 3600
}

fn rfc3339(row: &Row) -> String {
    format!("2022-01-01T{:02}:00:00Z", 8 + row.0)
}

/// The table as a RecordBatch: `time` (ns, UTC), `room`, `temp`, `hum`, `co`, optionally
/// preceded by a measurement column of the given name.
fn record_batch(measurement_column: Option<&str>) -> Result<RecordBatch, Box<dyn Error>> {
    let mut fields = Vec::new();
    let mut columns: Vec<ArrayRef> = Vec::new();
    if let Some(name) = measurement_column {
        fields.push(Field::new(name, DataType::Utf8, false));
        columns.push(Arc::new(StringArray::from(vec![
            MEASUREMENT;
            HOME_SENSOR_ROWS.len()
        ])));
    }
    fields.extend([
        Field::new(
            "time",
            DataType::Timestamp(TimeUnit::Nanosecond, Some("UTC".into())),
            false,
        ),
        Field::new("room", DataType::Utf8, false),
        Field::new("temp", DataType::Float64, false),
        Field::new("hum", DataType::Float64, false),
        Field::new("co", DataType::Int64, false),
    ]);
    columns.extend([
        Arc::new(
            TimestampNanosecondArray::from_iter_values(
                HOME_SENSOR_ROWS
                    .iter()
                    .map(|r| epoch_seconds(r) * 1_000_000_000),
            )
            .with_timezone("UTC"),
        ) as ArrayRef,
        Arc::new(StringArray::from_iter_values(
            HOME_SENSOR_ROWS.iter().map(|r| r.1),
        )),
        Arc::new(Float64Array::from_iter_values(
            HOME_SENSOR_ROWS.iter().map(|r| r.2),
        )),
        Arc::new(Float64Array::from_iter_values(
            HOME_SENSOR_ROWS.iter().map(|r| r.3),
        )),
        Arc::new(Int64Array::from_iter_values(
            HOME_SENSOR_ROWS.iter().map(|r| r.4),
        )),
    ]);
    Ok(RecordBatch::try_new(
        Arc::new(Schema::new(fields)),
        columns,
    )?)
}

/// CSV with a header; `time` as RFC 3339; floats always with a decimal point.
fn csv_text(with_measurement: bool) -> String {
    let mut out = String::new();
    if with_measurement {
        out.push_str("measurement,");
    }
    out.push_str("time,room,temp,hum,co\n");
    for row in &HOME_SENSOR_ROWS {
        if with_measurement {
            out.push_str(MEASUREMENT);
            out.push(',');
        }
        // `{:?}` keeps the `.0` of whole floats so that inference reads them as floats.
        let _ = writeln!(
            out,
            "{},{},{:?},{:?},{}",
            rfc3339(row),
            row.1,
            row.2,
            row.3,
            row.4
        );
    }
    out
}

/// Newline-delimited JSON records; `time` as RFC 3339.
fn json_lines() -> String {
    let mut out = String::new();
    for row in &HOME_SENSOR_ROWS {
        let _ = writeln!(
            out,
            r#"{{"time":"{}","room":"{}","temp":{:?},"hum":{:?},"co":{}}}"#,
            rfc3339(row),
            row.1,
            row.2,
            row.3,
            row.4
        );
    }
    out
}

fn write_parquet(path: &Path, batch: &RecordBatch) -> Result<(), Box<dyn Error>> {
    let props = WriterProperties::builder()
        .set_compression(Compression::SNAPPY)
        .build();
    let mut writer = ArrowWriter::try_new(File::create(path)?, batch.schema(), Some(props))?;
    writer.write(batch)?;
    writer.close()?;
    Ok(())
}

fn write_feather(path: &Path, batch: &RecordBatch) -> Result<(), Box<dyn Error>> {
    // pyarrow's feather default compression is lz4.
    let options =
        IpcWriteOptions::default().try_with_compression(Some(CompressionType::LZ4_FRAME))?;
    let mut writer =
        FileWriter::try_new_with_options(File::create(path)?, &batch.schema(), options)?;
    writer.write(batch)?;
    writer.finish()?;
    Ok(())
}

fn write_orc(path: &Path, batch: &RecordBatch) -> Result<(), Box<dyn Error>> {
    let mut writer =
        orc_rust::ArrowWriterBuilder::new(File::create(path)?, batch.schema()).try_build()?;
    writer.write(batch)?;
    writer.close()?;
    Ok(())
}

fn main() -> Result<(), Box<dyn Error>> {
    let Some(out_dir) = std::env::args_os().nth(1).map(PathBuf::from) else {
        eprintln!("usage: make_sample_data <out dir>");
        std::process::exit(2);
    };
    std::fs::create_dir_all(&out_dir)?;
    let batch = record_batch(None)?;
    let files = [
        "home-sensor-data.csv",
        "home-sensor-data.json",
        "home-sensor-data.parquet",
        "home-sensor-data.feather",
        "home-sensor-data.orc",
        "home-sensor-data-measurement.csv",
        "home-sensor-data-iox.parquet",
    ];
    std::fs::write(out_dir.join(files[0]), csv_text(false))?;
    std::fs::write(out_dir.join(files[1]), json_lines())?;
    write_parquet(&out_dir.join(files[2]), &batch)?;
    write_feather(&out_dir.join(files[3]), &batch)?;
    write_orc(&out_dir.join(files[4]), &batch)?;
    std::fs::write(out_dir.join(files[5]), csv_text(true))?;
    write_parquet(
        &out_dir.join(files[6]),
        &record_batch(Some("iox::measurement"))?,
    )?;
    for file in files {
        println!("wrote {}", out_dir.join(file).display());
    }
    Ok(())
}
