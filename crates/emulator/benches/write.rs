//! Write throughput of the emulator over HTTP: 100,000 lines per iteration in 10 requests of
//! 10,000 lines, the shape of a batching client's traffic (so 1M-line test loads stay cheap).

// `criterion_group!` generates an undocumented public function.
#![allow(missing_docs)]

use bytes::Bytes;
use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use http_body_util::{BodyExt as _, Full};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use influxdb3_emulator::Emulator;

const LINES_PER_REQUEST: usize = 10_000;
const REQUESTS: usize = 10;

fn body(offset: usize) -> Bytes {
    let mut body = String::with_capacity(LINES_PER_REQUEST * 64);
    for i in 0..LINES_PER_REQUEST {
        let n = offset + i;
        body.push_str(&format!(
            "home,room=room{} temp={}.5,hum=35.9,co={}i {n}\n",
            n % 8,
            n % 30,
            n % 5
        ));
    }
    Bytes::from(body)
}

fn write_throughput(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a tokio runtime for the bench");
    let emulator = runtime
        // Every write flushed at once: the bench measures the emulator, not a WAL timer.
        .block_on(
            Emulator::builder()
                .wal_flush_interval(std::time::Duration::ZERO)
                .start(),
        )
        .expect("the emulator starts");
    let url = format!("{}/api/v3/write_lp?db=bench&precision=ns", emulator.url());
    let client: Client<_, Full<Bytes>> = Client::builder(TokioExecutor::new()).build_http();
    let bodies: Vec<Bytes> = (0..REQUESTS).map(|r| body(r * LINES_PER_REQUEST)).collect();

    let mut group = c.benchmark_group("emulator_write");
    group.throughput(Throughput::Elements((LINES_PER_REQUEST * REQUESTS) as u64));
    group.sample_size(10);
    let admin = format!("{}/api/v3/configure/database?db=bench", emulator.url());
    group.bench_function("http_100k_lines", |b| {
        // Each iteration starts from an empty database so memory stays flat.
        let reset = || {
            runtime.block_on(async {
                let request = http::Request::delete(&admin)
                    .body(Full::new(Bytes::new()))
                    .expect("a valid request");
                let response = client.request(request).await.expect("the delete is sent");
                response
                    .into_body()
                    .collect()
                    .await
                    .expect("the body is read");
            })
        };
        b.iter_batched(
            reset,
            |()| {
                runtime.block_on(async {
                    for body in &bodies {
                        let request = http::Request::post(&url)
                            .body(Full::new(body.clone()))
                            .expect("a valid request");
                        let response = client.request(request).await.expect("the write is sent");
                        assert_eq!(response.status(), 204);
                        response
                            .into_body()
                            .collect()
                            .await
                            .expect("the body is read");
                    }
                })
            },
            BatchSize::PerIteration,
        )
    });
    group.finish();
}

criterion_group!(benches, write_throughput);
criterion_main!(benches);
