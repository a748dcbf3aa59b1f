//! `influxdb3-lp` against `influxdb3-client` 0.3, encoding the same points in the same run.
//!
//! `influxdb3-client`'s only public way to turn a point into line protocol is
//! `Point::to_line_protocol`, which returns a `String` per point; its batch writer's
//! allocation-free path is crate-private. Both sides append 1000 points into one reused buffer.

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use influxdb3_lp::{LineEncoder, Precision};
use influxdb3_lp_peer_bench::{escaped_ours, escaped_peer, home_ours, home_peer};

const POINTS: usize = 1_000;

fn bench_pair(
    c: &mut Criterion,
    name: &str,
    ours: influxdb3_lp::Point,
    peer: influxdb3_client::Point,
) {
    let ours = vec![ours; POINTS];
    let peer = vec![peer; POINTS];

    // Both produce the same line (up to field order, which both keep as given).
    let mut encoder = LineEncoder::new(Precision::Nanoseconds);
    encoder.encode(&ours[0]).expect("a valid point");
    let theirs = peer[0]
        .to_line_protocol(influxdb3_client::Precision::Nanosecond)
        .expect("a valid point");
    println!(
        "{name}:\n  ours:   {}  theirs: {theirs}",
        String::from_utf8_lossy(encoder.as_bytes())
    );

    let mut group = c.benchmark_group("peer");
    group.throughput(Throughput::Elements(POINTS as u64));
    group.bench_function(format!("{name}_ours"), |b| {
        b.iter(|| {
            encoder.clear();
            for p in &ours {
                encoder.write_point(p).expect("a valid point");
            }
            black_box(encoder.len())
        })
    });
    let mut buf: Vec<u8> = Vec::new();
    group.bench_function(format!("{name}_influxdb3_client"), |b| {
        b.iter(|| {
            buf.clear();
            for p in &peer {
                let line = p
                    .to_line_protocol(influxdb3_client::Precision::Nanosecond)
                    .expect("a valid point");
                buf.extend_from_slice(line.as_bytes());
                buf.push(b'\n');
            }
            black_box(buf.len())
        })
    });
    group.finish();
}

fn benches(c: &mut Criterion) {
    bench_pair(c, "point_home", home_ours(), home_peer());
    bench_pair(c, "point_escaped", escaped_ours(), escaped_peer());
}

criterion_group!(peer, benches);
criterion_main!(peer);
