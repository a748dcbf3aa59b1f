//! File -> line protocol throughput, with no network: `BatchSource` + `RecordBatchLines` +
//! `LineEncoder`, against the encoder alone on the same rows already in memory.
//!
//! `cargo bench -p influxdb3-ingest --bench ingest`

// criterion's macros generate public functions without docs.
#![allow(missing_docs)]

use std::fs::File;
use std::hint::black_box;
use std::path::Path;
use std::sync::Arc;

use arrow_array::{Float64Array, Int64Array, RecordBatch, StringArray, TimestampNanosecondArray};
use arrow_schema::{DataType, Field, Schema, TimeUnit};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use influxdb3_ingest::{BatchSource, DEFAULT_BATCH_SIZE, open};
use influxdb3_lp::{LineEncoder, Precision, RecordBatchLines, TableMapping};

const ROWS: usize = 1_000_000;

/// 1M home sensor rows, one second apart, in batches of the default batch size.
fn home_batches() -> Vec<RecordBatch> {
    let rooms = ["Kitchen", "Living Room", "Bedroom", "Office"];
    let schema = Arc::new(Schema::new(vec![
        Field::new(
            "time",
            DataType::Timestamp(TimeUnit::Nanosecond, None),
            false,
        ),
        Field::new("room", DataType::Utf8, false),
        Field::new("temp", DataType::Float64, false),
        Field::new("hum", DataType::Float64, false),
        Field::new("co", DataType::Int64, false),
    ]));
    (0..ROWS)
        .step_by(DEFAULT_BATCH_SIZE)
        .map(|start| {
            let rows = start..(start + DEFAULT_BATCH_SIZE).min(ROWS);
            RecordBatch::try_new(
                schema.clone(),
                vec![
                    Arc::new(TimestampNanosecondArray::from_iter_values(
                        rows.clone()
                            .map(|i| (1_641_024_000 + i as i64) * 1_000_000_000),
                    )),
                    Arc::new(StringArray::from_iter_values(
                        rows.clone().map(|i| rooms[i % 4]),
                    )),
                    Arc::new(Float64Array::from_iter_values(
                        rows.clone().map(|i| 20.0 + (i % 37) as f64 * 0.1),
                    )),
                    Arc::new(Float64Array::from_iter_values(
                        rows.clone().map(|i| 35.0 + (i % 19) as f64 * 0.1),
                    )),
                    Arc::new(Int64Array::from_iter_values(rows.map(|i| (i % 29) as i64))),
                ],
            )
            .expect("bench batch")
        })
        .collect()
}

fn write_parquet(path: &Path, batches: &[RecordBatch]) {
    let file = File::create(path).expect("create parquet");
    let mut writer =
        parquet::arrow::ArrowWriter::try_new(file, batches[0].schema(), None).expect("writer");
    for batch in batches {
        writer.write(batch).expect("write parquet");
    }
    writer.close().expect("close parquet");
}

fn write_csv(path: &Path, batches: &[RecordBatch]) {
    let file = File::create(path).expect("create csv");
    let mut writer = arrow_csv::Writer::new(std::io::BufWriter::new(file));
    for batch in batches {
        writer.write(batch).expect("write csv");
    }
}

fn mapping() -> TableMapping {
    TableMapping::new()
        .measurement("home")
        .tag_columns(["room"])
        .timestamp_column("time")
}

/// Encodes every batch of a source; returns the line protocol bytes produced.
fn source_to_lp(path: &Path, mapping: &TableMapping) -> usize {
    let mut source = open(path, None).expect("open bench file");
    let mut encoder = LineEncoder::new(Precision::Nanoseconds);
    let mut bytes = 0;
    let mut offset = 0;
    while let Some(batch) = source.next_batch().expect("read bench file") {
        encoder
            .encode(&RecordBatchLines::new(&batch, mapping).row_offset(offset))
            .expect("encode");
        offset += batch.num_rows() as u64;
        bytes += encoder.len();
        encoder.clear();
    }
    assert_eq!(source.progress().rows_read, ROWS as u64);
    bytes
}

fn ingest(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("tempdir");
    let batches = home_batches();
    let parquet_path = dir.path().join("home-1m.parquet");
    let csv_path = dir.path().join("home-1m.csv");
    write_parquet(&parquet_path, &batches);
    write_csv(&csv_path, &batches);
    let mapping = mapping();

    let mut group = c.benchmark_group("ingest");
    group.sample_size(10);
    group.throughput(Throughput::Elements(ROWS as u64));
    group.bench_function("recordbatch_1m_to_lp", |b| {
        b.iter(|| {
            let mut encoder = LineEncoder::new(Precision::Nanoseconds);
            let mut bytes = 0;
            let mut offset = 0;
            for batch in &batches {
                encoder
                    .encode(&RecordBatchLines::new(batch, &mapping).row_offset(offset))
                    .expect("encode");
                offset += batch.num_rows() as u64;
                bytes += encoder.len();
                encoder.clear();
            }
            black_box(bytes)
        })
    });
    group.bench_function("parquet_1m_to_lp", |b| {
        b.iter(|| black_box(source_to_lp(&parquet_path, &mapping)))
    });
    group.bench_function("csv_1m_to_lp", |b| {
        b.iter(|| black_box(source_to_lp(&csv_path, &mapping)))
    });
    group.finish();
}

criterion_group!(benches, ingest);
criterion_main!(benches);
