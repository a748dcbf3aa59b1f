//! The facade's batching path against the `Writer` it wraps: `Client::write` of a `Point` in
//! batching mode (encoded once with the client's prepared encoder, handed to the writer as
//! `Encoded`) and `Writer::write` of the same `Point`, both into one in-process emulator that
//! flushes every write at once, so that the client's costs are what differ.
//!
//! Group `facade` (200,000 points, one `write` call each, then `close()`): `client_write` and
//! `writer_write`.

// criterion_group! generates an undocumented public function.
#![allow(missing_docs)]

use std::time::Duration;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use influxdb_client_3::{Client, Point, WriteClientOptions, WriteOptions};
use influxdb3_emulator::Emulator;
use influxdb3_write::{HttpTransport, WriteParams, Writer};

const POINTS: usize = 200_000;

fn point(i: usize) -> Point {
    Point::new("home")
        .tag(
            "room",
            ["Kitchen", "Living Room", "Office", "Bedroom"][i % 4],
        )
        .field("temp", 20.0 + (i % 50) as f64 / 10.0)
        .field("hum", 35.0 + (i % 30) as f64 / 10.0)
        .field("co", (i % 25) as i64)
        .timestamp(1_700_000_000_000_000_000 + i as i64)
}

fn options() -> WriteOptions {
    WriteOptions::default()
        .batch_size(5_000)
        .flush_interval(Duration::from_millis(100))
}

async fn client_write(url: &str) {
    let client = match Client::builder(url)
        .database("bench_facade")
        .write_client_options(WriteClientOptions::new().write_options(options()))
        .build()
    {
        Ok(c) => c,
        Err(e) => panic!("client: {e}"),
    };
    for i in 0..POINTS {
        if let Err(e) = client.write(point(i)).await {
            panic!("write: {e}");
        }
    }
    match client.close().await {
        Ok(s) if s.accepted_lines == POINTS as u64 => {}
        Ok(s) => panic!("lines were lost: {s:?}"),
        Err(e) => panic!("close: {e}"),
    }
}

async fn writer_write(url: &str) {
    let transport = match HttpTransport::builder(url).build() {
        Ok(t) => t,
        Err(e) => panic!("transport: {e}"),
    };
    let writer = Writer::new(transport, options(), ());
    let params = WriteParams::new("bench_writer");
    for i in 0..POINTS {
        if let Err(e) = writer.write(&params, &point(i)).await {
            panic!("write: {e}");
        }
    }
    match writer.close().await {
        Ok(s) if s.accepted_lines == POINTS as u64 => {}
        Ok(s) => panic!("lines were lost: {s:?}"),
        Err(e) => panic!("close: {e}"),
    }
}

fn bench(c: &mut Criterion) {
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => panic!("cannot start a tokio runtime: {e}"),
    };
    let emulator = match runtime.block_on(
        Emulator::builder()
            .wal_flush_interval(Duration::ZERO)
            .start(),
    ) {
        Ok(e) => e,
        Err(e) => panic!("cannot start the emulator: {e}"),
    };
    let url = emulator.url();
    let mut group = c.benchmark_group("facade");
    group.throughput(Throughput::Elements(POINTS as u64));
    group.sample_size(10);
    group.bench_function("client_write", |b| {
        b.to_async(&runtime).iter(|| client_write(&url));
    });
    group.bench_function("writer_write", |b| {
        b.to_async(&runtime).iter(|| writer_write(&url));
    });
    group.finish();
    drop(emulator);
}

criterion_group!(benches, bench);
criterion_main!(benches);
