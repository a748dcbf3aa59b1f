//! Streams a several-million-row result from an in-process emulator through `QueryClient`
//! and through a bare `arrow_flight::FlightClient`, in the same run.
//!
//! `cargo bench -p influxdb3-query --bench stream`

// criterion's macros generate undocumented public functions.
#![allow(missing_docs)]

use std::time::Duration;

use arrow_flight::{FlightClient, Ticket};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use futures::TryStreamExt;
use influxdb3_emulator::Emulator;
use influxdb3_query::QueryClient;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const TOKEN: &str = "apiv3_bench";
const SIDE: usize = 2000;
const ROWS: usize = 4_000_000;
const SQL: &str = "SELECT a.v AS a, b.v AS b FROM t a CROSS JOIN t b";

async fn load(addr: std::net::SocketAddr) {
    let mut body = String::new();
    for i in 0..SIDE {
        body.push_str(&format!(
            "t v={i}i {}\n",
            1_700_000_000_000_000_000i64 + i as i64
        ));
    }
    let mut socket = tokio::net::TcpStream::connect(addr).await.expect("connect");
    let head = format!(
        "POST /api/v3/write_lp?db=bench&precision=nanosecond HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer {TOKEN}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    socket.write_all(head.as_bytes()).await.expect("write head");
    socket.write_all(body.as_bytes()).await.expect("write body");
    let mut response = Vec::new();
    let _ = socket.read_to_end(&mut response).await;
    assert!(response.starts_with(b"HTTP/1.1 2"), "write failed");
}

fn query_stream(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let emu = rt.block_on(async {
        let emu = Emulator::builder()
            .token(TOKEN)
            .start()
            .await
            .expect("emulator");
        load(emu.addr()).await;
        emu
    });
    let url = emu.url();
    let ours = QueryClient::builder(&url)
        .token(TOKEN)
        .database("bench")
        .build()
        .expect("client");
    let channel = rt.block_on(async {
        tonic::transport::Endpoint::from_shared(url.clone())
            .expect("uri")
            .connect()
            .await
            .expect("connect")
    });
    let ticket = format!(r#"{{"database":"bench","sql_query":"{SQL}","query_type":"sql"}}"#);

    let mut group = c.benchmark_group("query_stream");
    group.throughput(Throughput::Elements(ROWS as u64));
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(20));
    group.bench_function("ours", |b| {
        b.to_async(&rt).iter(|| async {
            let mut stream = ours.query_stream(SQL).await.expect("query");
            let mut rows = 0;
            while let Some(batch) = stream.try_next().await.expect("batch") {
                rows += batch.num_rows();
            }
            assert_eq!(rows, ROWS);
        })
    });
    group.bench_function("bare_flight_client", |b| {
        b.to_async(&rt).iter(|| async {
            let mut client = FlightClient::new(channel.clone());
            client
                .add_header("authorization", &format!("Bearer {TOKEN}"))
                .expect("header");
            let mut stream = client
                .do_get(Ticket::new(ticket.clone()))
                .await
                .expect("query");
            let mut rows = 0;
            while let Some(batch) = stream.try_next().await.expect("batch") {
                rows += batch.num_rows();
            }
            assert_eq!(rows, ROWS);
        })
    });
    group.finish();
    drop(emu);
}

criterion_group!(benches, query_stream);
criterion_main!(benches);
