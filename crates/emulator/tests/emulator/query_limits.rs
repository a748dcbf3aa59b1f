//! A query cannot make the emulator abort on a failed allocation: functions asked for huge
//! values, and huge results, answer `Resources exhausted` over HTTP and Flight, and the
//! emulator keeps serving.
//!
//! Before the per-query memory limit, `repeat(arrow_cast('x', 'LargeUtf8'), a * 3000000000)`
//! over three rows aborted the process ("memory allocation of 18000000000 bytes failed").

use arrow_flight::{FlightClient, Ticket};
use bytes::Bytes;
use futures::TryStreamExt;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use influxdb3_emulator::{Emulator, EmulatorHandle};
use serde_json::json;
use tonic::Code;
use tonic::transport::Channel;

async fn request(emulator: &EmulatorHandle, path_and_query: &str, body: &str) -> (u16, String) {
    let client = Client::builder(TokioExecutor::new()).build_http::<Full<Bytes>>();
    let request = http::Request::post(format!("{}{path_and_query}", emulator.url()))
        .body(Full::new(Bytes::from(body.to_owned())))
        .expect("valid request");
    let response = client.request(request).await.expect("request");
    let status = response.status().as_u16();
    let body = response
        .into_body()
        .collect()
        .await
        .expect("body")
        .to_bytes();
    (status, String::from_utf8_lossy(&body).into_owned())
}

async fn sql(emulator: &EmulatorHandle, q: &str) -> (u16, String) {
    let body = json!({"db": "db", "q": q, "format": "jsonl"}).to_string();
    request(emulator, "/api/v3/query_sql", &body).await
}

#[tokio::test]
async fn huge_allocations_are_errors_not_aborts() {
    let emulator = Emulator::builder().start().await.expect("emulator starts");
    let (status, body) = request(&emulator, "/api/v3/write_lp?db=db", "m,t=a v=1 1\n").await;
    assert_eq!(status, 204, "{body}");

    for query in [
        "SELECT length(repeat('x', 1500000000)) AS n",
        "SELECT length(repeat(arrow_cast('x', 'LargeUtf8'), a * 3000000000)) AS n \
         FROM (VALUES (1), (2), (3)) t(a)",
        "SELECT length(lpad('x', 2000000000)) AS n",
        "SELECT length(rpad(t, 2000000000, 'yz')) AS n FROM m",
        "SELECT * FROM generate_series(1, 100000000)",
    ] {
        let (status, body) = sql(&emulator, query).await;
        assert_eq!(status, 500, "{query}: {body}");
        assert!(body.contains("Resources exhausted"), "{query}: {body}");
        assert!(body.contains("per-query memory limit"), "{query}: {body}");
    }

    // Over Flight too, as RESOURCE_EXHAUSTED.
    let channel = Channel::from_shared(emulator.url())
        .expect("valid url")
        .connect()
        .await
        .expect("gRPC connection");
    let mut client = FlightClient::new(channel);
    let ticket = json!({
        "database": "db",
        "sql_query": "SELECT length(repeat(t, 2000000000)) AS n FROM m",
        "query_type": "sql",
    });
    let outcome = match client.do_get(Ticket::new(ticket.to_string())).await {
        Ok(stream) => stream.try_collect::<Vec<_>>().await.map(|_| ()),
        Err(e) => Err(e),
    };
    match outcome {
        Err(arrow_flight::error::FlightError::Tonic(status)) => {
            assert_eq!(status.code(), Code::ResourceExhausted, "{status}");
            assert!(status.message().contains("Resources exhausted"), "{status}");
        }
        other => panic!("expected RESOURCE_EXHAUSTED, got {other:?}"),
    }

    // Small values of the same functions still work, and the emulator still serves.
    let (status, body) = sql(
        &emulator,
        "SELECT repeat(t, 3) AS r, lpad(t, 3, '-') AS p FROM m",
    )
    .await;
    assert_eq!(
        (status, body.as_str()),
        (200, "{\"r\":\"aaa\",\"p\":\"--a\"}\n")
    );
    let (status, body) = sql(
        &emulator,
        "SELECT count(*) AS n FROM generate_series(1, 1000)",
    )
    .await;
    assert_eq!((status, body.as_str()), (200, "{\"n\":1000}\n"));
}
