//! The batching writer against a server that answers synchronous writes at its next WAL flush
//! (every 1 s, InfluxDB 3 Core's default), simulated by the emulator: what a user sees against
//! a real server, where an emulator that answers at once hides the writer's behaviour.
//!
//! Group `writer_wal` (400,000 home-sensor points, one `Point` per `write` call, as fast as the
//! producer can; each iteration ends with `close()`):
//! - `defaults`: every option at its default (batch_size 1000, 1 in flight, sync writes), with
//!   1,000,000 points.
//! - `backpressure_batching_no_sync`: batch_size 10,000, 1 in flight, `no_sync`.
//! - `backpressure_sync_10k_no_sync`: the same points encoded into 10,000-line bodies and sent
//!   with `write_now`, one after the other (what the batching writer is compared with).
//! - `no_sync_in_flight=4_writer`: ready 10,000-line bodies through a `Writer` with 4 in flight.
//! - `no_sync_in_flight=4_bare_http`: the same bodies POSTed by a bare hyper client, 4 at once.
//!
//! Both `in_flight=4` cases send uncompressed bodies (the writer's gzip is turned off) so that
//! the wire bytes are the same. Before criterion runs, the bench prints the requests sent and
//! the smallest batch of one run of each batching case.

// criterion_group! generates an undocumented public function.
#![allow(missing_docs)]

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;

use bytes::Bytes;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use http_body_util::Full;
use hyper_util::client::legacy::Client as HyperClient;
use hyper_util::rt::TokioExecutor;
use influxdb3_emulator::{Emulator, EmulatorHandle};
use influxdb3_lp::{LineEncoder, Point};
use influxdb3_write::{
    BatchContext, Endpoint, HttpTransport, WriteObserver, WriteOptions, WriteParams, Writer,
    write_now,
};

const POINTS: usize = 400_000;
/// The defaults case writes more, so that the first request (sent at batch_size, while the
/// writer is idle) and the last (at close) weigh less against the steady state.
const DEFAULTS_POINTS: usize = 1_000_000;
const BODY_LINES: usize = 10_000;

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

/// The points as ready 10,000-line bodies.
fn bodies() -> Vec<Bytes> {
    (0..POINTS / BODY_LINES)
        .map(|b| {
            let mut encoder = LineEncoder::default();
            for i in b * BODY_LINES..(b + 1) * BODY_LINES {
                if let Err(e) = encoder.encode(&point(i)) {
                    panic!("encode: {e}");
                }
            }
            encoder.take()
        })
        .collect()
}

/// Counts requests and the smallest batch.
#[derive(Default)]
struct BatchStats {
    batches: AtomicUsize,
    smallest: AtomicU64,
}

impl WriteObserver for BatchStats {
    fn on_success(&self, ctx: &BatchContext, _data: &[u8]) {
        self.batches.fetch_add(1, Ordering::SeqCst);
        let lines = ctx.lines as u64;
        let _ = self
            .smallest
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |s| {
                (s == 0 || lines < s).then_some(lines)
            });
    }
}

fn transport(url: &str, gzip: bool) -> HttpTransport {
    let builder = HttpTransport::builder(url);
    let builder = if gzip {
        builder
    } else {
        builder.gzip_threshold(0)
    };
    match builder.build() {
        Ok(t) => t,
        Err(e) => panic!("transport: {e}"),
    }
}

/// Writes every point, one `write` each, then closes; returns what the close reported.
async fn produce(
    url: &str,
    options: WriteOptions,
    params: &WriteParams,
    stats: Arc<BatchStats>,
    points: usize,
) {
    let writer = Writer::new(transport(url, true), options, stats);
    for i in 0..points {
        if let Err(e) = writer.write(params, &point(i)).await {
            panic!("write: {e}");
        }
    }
    match writer.close().await {
        Ok(s) if s.accepted_lines == points as u64 => {}
        Ok(s) => panic!("lines were lost: {s:?}"),
        Err(e) => panic!("close: {e}"),
    }
}

fn backpressure() -> WriteOptions {
    WriteOptions::default()
        .batch_size(BODY_LINES)
        .max_in_flight(1)
}

async fn sync_10k(url: &str, params: &WriteParams) {
    let transport = transport(url, true);
    let mut encoder = LineEncoder::default();
    for start in (0..POINTS).step_by(BODY_LINES) {
        for i in start..start + BODY_LINES {
            if let Err(e) = encoder.encode(&point(i)) {
                panic!("encode: {e}");
            }
        }
        if let Err(e) = write_now(&transport, params, encoder.take()).await {
            panic!("write_now: {e}");
        }
    }
}

async fn writer_in_flight_4(url: &str, params: &WriteParams, bodies: &[Bytes]) {
    let options = WriteOptions::default()
        .batch_size(BODY_LINES)
        .max_in_flight(4);
    let writer = Writer::new(transport(url, false), options, ());
    for body in bodies {
        if let Err(e) = writer.write(params, body).await {
            panic!("write: {e}");
        }
    }
    match writer.close().await {
        Ok(s) if s.accepted_lines == POINTS as u64 => {}
        Ok(s) => panic!("lines were lost: {s:?}"),
        Err(e) => panic!("close: {e}"),
    }
}

async fn bare_in_flight_4(url: &str, bodies: &[Bytes]) {
    let client: HyperClient<_, Full<Bytes>> =
        HyperClient::builder(TokioExecutor::new()).build_http();
    let target = format!("{url}/api/v3/write_lp?db=bench_bare&precision=nanosecond&no_sync=true");
    let next = Arc::new(AtomicUsize::new(0));
    let mut tasks = Vec::new();
    for _ in 0..4 {
        let (client, target, next) = (client.clone(), target.clone(), next.clone());
        let bodies = bodies.to_vec();
        tasks.push(tokio::spawn(async move {
            loop {
                let i = next.fetch_add(1, Ordering::SeqCst);
                let Some(body) = bodies.get(i) else {
                    return;
                };
                let request = match http::Request::post(&target).body(Full::new(body.clone())) {
                    Ok(r) => r,
                    Err(e) => panic!("request: {e}"),
                };
                match client.request(request).await {
                    Ok(response) if response.status().is_success() => {}
                    Ok(response) => panic!("status {}", response.status()),
                    Err(e) => panic!("send: {e}"),
                }
            }
        }));
    }
    for task in tasks {
        if let Err(e) = task.await {
            panic!("task: {e}");
        }
    }
}

fn start_emulator(runtime: &tokio::runtime::Runtime) -> EmulatorHandle {
    match runtime.block_on(
        Emulator::builder()
            .wal_flush_interval(Duration::from_secs(1))
            .start(),
    ) {
        Ok(e) => e,
        Err(e) => panic!("cannot start the emulator: {e}"),
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
    let emulator = start_emulator(&runtime);
    let url = emulator.url();
    let sync_params = WriteParams::new("bench_sync");
    let no_sync = WriteParams::new("bench_no_sync")
        .endpoint(Endpoint::V3)
        .no_sync(true);
    let bodies = bodies();

    // One run of each batching case, to show how the requests look.
    for (name, options, params, points) in [
        (
            "defaults",
            WriteOptions::default(),
            &sync_params,
            DEFAULTS_POINTS,
        ),
        (
            "backpressure_batching_no_sync",
            backpressure(),
            &no_sync,
            POINTS,
        ),
    ] {
        let stats = Arc::new(BatchStats::default());
        let started = std::time::Instant::now();
        runtime.block_on(produce(&url, options, params, stats.clone(), points));
        let secs = started.elapsed().as_secs_f64();
        println!(
            "{name}: {points} lines in {secs:.2} s ({:.0} lines/s), {} requests, smallest batch {} lines",
            points as f64 / secs,
            stats.batches.load(Ordering::SeqCst),
            stats.smallest.load(Ordering::SeqCst)
        );
    }

    let mut group = c.benchmark_group("writer_wal");
    group.sample_size(10);
    group.throughput(Throughput::Elements(DEFAULTS_POINTS as u64));
    group.bench_function("defaults", |b| {
        b.to_async(&runtime).iter(|| {
            produce(
                &url,
                WriteOptions::default(),
                &sync_params,
                Arc::new(BatchStats::default()),
                DEFAULTS_POINTS,
            )
        });
    });
    group.throughput(Throughput::Elements(POINTS as u64));
    group.bench_function("backpressure_batching_no_sync", |b| {
        b.to_async(&runtime).iter(|| {
            produce(
                &url,
                backpressure(),
                &no_sync,
                Arc::new(BatchStats::default()),
                POINTS,
            )
        });
    });
    group.bench_function("backpressure_sync_10k_no_sync", |b| {
        b.to_async(&runtime).iter(|| sync_10k(&url, &no_sync));
    });
    group.bench_function("no_sync_in_flight=4_writer", |b| {
        b.to_async(&runtime)
            .iter(|| writer_in_flight_4(&url, &no_sync, &bodies));
    });
    group.bench_function("no_sync_in_flight=4_bare_http", |b| {
        b.to_async(&runtime)
            .iter(|| bare_in_flight_4(&url, &bodies));
    });
    group.finish();
    drop(emulator);
}

criterion_group!(benches, bench);
criterion_main!(benches);
