//! The simulated write-ahead log over real sockets: synchronous writes are answered at the
//! next flush (all waiting writes at once), `no_sync` writes at once, and written data is
//! visible to queries from the flush on.

use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt as _, Full};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use influxdb3_emulator::{Emulator, EmulatorHandle};

type HttpClient = Client<HttpConnector, Full<Bytes>>;

/// The flush interval of these tests: long enough to tell a wait from none on a busy
/// machine (the bounds below leave half an interval or more of slack), short enough to keep
/// the tests quick.
const INTERVAL: Duration = Duration::from_secs(1);

async fn start(interval: Duration) -> EmulatorHandle {
    Emulator::builder()
        .wal_flush_interval(interval)
        .start()
        .await
        .expect("emulator starts")
}

fn client() -> HttpClient {
    Client::builder(TokioExecutor::new()).build_http()
}

/// POSTs a write and returns its status and how long the answer took.
async fn write(client: &HttpClient, url: &str, query: &str, body: &str) -> (u16, Duration) {
    let started = Instant::now();
    let request = http::Request::post(format!("{url}/api/v3/write_lp?{query}"))
        .body(Full::new(Bytes::from(body.to_owned())))
        .expect("request");
    let response = client.request(request).await.expect("write");
    let status = response.status().as_u16();
    let _ = response.into_body().collect().await;
    (status, started.elapsed())
}

/// `SELECT count(*)` of table `m` in `db` (0 when the table has no visible rows yet).
async fn count(client: &HttpClient, url: &str, db: &str) -> i64 {
    let request = http::Request::get(format!(
        "{url}/api/v3/query_sql?db={db}&q=SELECT+count(*)+AS+n+FROM+m&format=json"
    ))
    .body(Full::new(Bytes::new()))
    .expect("request");
    let response = client.request(request).await.expect("query");
    let body = response
        .into_body()
        .collect()
        .await
        .expect("body")
        .to_bytes();
    let rows: serde_json::Value = serde_json::from_slice(&body).expect("JSON rows");
    rows[0]["n"].as_i64().unwrap_or(0)
}

#[tokio::test]
async fn a_sync_write_is_answered_at_the_next_flush_and_visible_then() {
    let emulator = start(INTERVAL).await;
    let url = emulator.url();
    let client = client();
    // The first write ends at a flush; the second starts right after it, so it waits for
    // (nearly) a whole interval, and never longer than one.
    let (status, _) = write(&client, &url, "db=s", "m f=1 1").await;
    assert_eq!(status, 204);
    let (status, took) = write(&client, &url, "db=s", "m f=2 2").await;
    assert_eq!(status, 204);
    assert!(
        took >= INTERVAL / 2,
        "a synchronous write waited only {took:?} for a {INTERVAL:?} flush"
    );
    assert!(
        took < INTERVAL * 2,
        "a synchronous write took {took:?}, more than one {INTERVAL:?} flush"
    );
    // Answered means flushed: both rows are visible at once.
    assert_eq!(count(&client, &url, "s").await, 2);
}

#[tokio::test]
async fn a_no_sync_write_returns_at_once_and_its_data_appears_at_the_flush() {
    let emulator = start(INTERVAL).await;
    let url = emulator.url();
    let client = client();
    // Line up with a flush first, so the no_sync write has most of an interval to go.
    write(&client, &url, "db=n", "other f=1 1").await;
    let (status, took) = write(&client, &url, "db=n&no_sync=true", "m f=1 1").await;
    assert_eq!(status, 204);
    assert!(
        took < INTERVAL / 2,
        "a no_sync write took {took:?} with a {INTERVAL:?} flush interval"
    );
    assert_eq!(
        count(&client, &url, "n").await,
        0,
        "no_sync data is visible only after the flush"
    );
    let deadline = Instant::now() + INTERVAL * 3;
    loop {
        if count(&client, &url, "n").await == 1 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "no_sync data not visible after {:?}",
            INTERVAL * 3
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn concurrent_sync_writes_share_one_flush() {
    let emulator = start(INTERVAL).await;
    let url = emulator.url();
    let client = client();
    write(&client, &url, "db=g", "m f=0 0").await;
    let started = Instant::now();
    let writes: Vec<_> = (1..=20)
        .map(|i| {
            let client = client.clone();
            let url = url.clone();
            tokio::spawn(async move {
                let (status, _) = write(&client, &url, "db=g", &format!("m f={i} {i}")).await;
                (status, started.elapsed())
            })
        })
        .collect();
    let mut finished = Vec::new();
    for write in writes {
        let (status, at) = write.await.expect("write task");
        assert_eq!(status, 204);
        finished.push(at);
    }
    let first = finished.iter().min().copied().unwrap_or_default();
    let last = finished.iter().max().copied().unwrap_or_default();
    assert!(
        last < INTERVAL * 2,
        "20 concurrent writes took {last:?}: they did not share a {INTERVAL:?} flush"
    );
    assert!(
        last - first < INTERVAL / 2,
        "the writes were answered from {first:?} to {last:?}, not at one flush"
    );
    assert_eq!(count(&client, &url, "g").await, 21);
}

#[tokio::test]
async fn a_zero_interval_flushes_every_write_at_once() {
    let emulator = start(Duration::ZERO).await;
    let url = emulator.url();
    let client = client();
    let (status, _) = write(&client, &url, "db=z&no_sync=true", "m f=1 1").await;
    assert_eq!(status, 204);
    assert_eq!(count(&client, &url, "z").await, 1);
}

#[tokio::test]
async fn shutdown_answers_writes_waiting_for_a_flush() {
    let emulator = start(Duration::from_secs(3600)).await;
    let url = emulator.url();
    let client = client();
    let pending = tokio::spawn({
        let client = client.clone();
        let url = url.clone();
        async move { write(&client, &url, "db=w", "m f=1 1").await }
    });
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(!pending.is_finished(), "the write waits for the flush");
    emulator.shutdown().await;
    let (status, _) = tokio::time::timeout(Duration::from_secs(10), pending)
        .await
        .expect("answered at shutdown")
        .expect("write task");
    assert_eq!(status, 204);
}
