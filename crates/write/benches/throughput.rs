//! Batching throughput into an in-process emulator over loopback, with 1 and 4 requests in
//! flight, plus the client's own CPU cost measured without a server.
//!
//! What is measured:
//! - `writer/emulator/in_flight=N`: wall time to write and `close()` 100 000 lines through
//!   the real `HttpTransport` into the emulator running in the same process (so client and
//!   server share the 2 cores; the figure is end-to-end lines/s, not client cost alone).
//! - `writer/discard`: the same writes into a transport that drops the bodies, so only the
//!   client's encoding, batching and bookkeeping run. Before the criterion run, this bench
//!   prints the process CPU time (user + system, from `/proc/self/stat` on Linux) per
//!   million lines for that client-only path; no server runs in that phase, so the process
//!   CPU time is the client's.

// criterion_group! generates an undocumented public function.
#![allow(missing_docs)]

use std::time::Duration;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use influxdb3_emulator::Emulator;
use influxdb3_write::{
    Body, Error, HttpTransport, WriteOptions, WriteParams, WriteTransport, Writer,
};

const LINES: usize = 100_000;
const PER_WRITE: usize = 1_000;

/// Ready line protocol in chunks of `PER_WRITE` distinct lines.
fn chunks() -> Vec<String> {
    (0..LINES / PER_WRITE)
        .map(|c| {
            let mut text = String::new();
            for i in c * PER_WRITE..(c + 1) * PER_WRITE {
                text.push_str(&format!(
                    "cpu,host=h{} usage={}.5,n={i}i {i}\n",
                    i % 16,
                    i % 100
                ));
            }
            text
        })
        .collect()
}

fn options(in_flight: usize) -> WriteOptions {
    WriteOptions::default()
        .batch_size(5_000)
        .flush_interval(Duration::from_millis(100))
        .max_in_flight(in_flight)
}

async fn run<T: WriteTransport>(transport: T, in_flight: usize, chunks: &[String]) {
    let writer = Writer::new(transport, options(in_flight), ());
    let params = WriteParams::new("bench");
    for chunk in chunks {
        if let Err(e) = writer.write(&params, chunk.as_str()).await {
            panic!("bench write failed: {e}");
        }
    }
    match writer.close().await {
        Ok(summary) => assert_eq!(summary.accepted_lines, LINES as u64),
        Err(e) => panic!("bench close failed: {e}"),
    }
}

/// Drops every body: the client-only cost.
struct Discard;

impl WriteTransport for Discard {
    async fn send(&self, _params: &WriteParams, body: Body) -> Result<(), Error> {
        std::hint::black_box(body);
        Ok(())
    }
}

/// User + system CPU time of this process, in clock ticks (Linux), if readable.
fn process_cpu_ticks() -> Option<u64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // Fields after the command name (which is in parentheses and may contain spaces).
    let rest = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // utime and stime are fields 14 and 15 of the whole line: 11 and 12 here (0-based).
    Some(fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?)
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
    let chunks = chunks();

    // Client CPU per million lines, no server in the process doing work.
    let rounds = 10;
    if let Some(before) = process_cpu_ticks() {
        let started = std::time::Instant::now();
        for _ in 0..rounds {
            runtime.block_on(run(Discard, 1, &chunks));
        }
        let wall = started.elapsed();
        if let Some(after) = process_cpu_ticks() {
            // Linux reports in USER_HZ, 100 ticks per second on every common configuration.
            let cpu_secs = (after - before) as f64 / 100.0;
            let millions = (rounds * LINES) as f64 / 1e6;
            println!(
                "client only (discard transport): {:.3} s CPU and {:.3} s wall per million lines",
                cpu_secs / millions,
                wall.as_secs_f64() / millions
            );
        }
    }

    // Every write flushed at once: the bench measures the writer, not the emulator's WAL timer.
    let emulator = match runtime.block_on(
        Emulator::builder()
            .wal_flush_interval(std::time::Duration::ZERO)
            .start(),
    ) {
        Ok(e) => e,
        Err(e) => panic!("cannot start the emulator: {e}"),
    };
    let url = emulator.url();
    let mut group = c.benchmark_group("writer");
    group.throughput(Throughput::Elements(LINES as u64));
    group.sample_size(10);
    group.bench_function("discard", |b| {
        b.to_async(&runtime).iter(|| run(Discard, 1, &chunks));
    });
    for in_flight in [1, 4] {
        group.bench_function(format!("emulator/in_flight={in_flight}"), |b| {
            b.to_async(&runtime).iter(|| async {
                let transport = match HttpTransport::builder(&url).build() {
                    Ok(t) => t,
                    Err(e) => panic!("transport: {e}"),
                };
                run(transport, in_flight, &chunks).await;
            });
        });
    }
    group.finish();
    drop(emulator);
}

criterion_group!(benches, bench);
criterion_main!(benches);
