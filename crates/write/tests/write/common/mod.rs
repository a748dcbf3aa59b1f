//! Helpers shared by the integration tests: an emulator and a way to read data back
//! through its HTTP query API.

#![allow(dead_code, unreachable_pub)]

use bytes::Bytes;
use http_body_util::{BodyExt, Empty};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use influxdb3_emulator::{Emulator, EmulatorHandle};
use influxdb3_write::HttpTransport;

pub const TOKEN: &str = "apiv3_test-token";

/// An emulator requiring [`TOKEN`].
pub async fn emulator() -> EmulatorHandle {
    Emulator::builder()
        .token(TOKEN)
        .start()
        .await
        .expect("the emulator starts")
}

/// A transport to `emulator` with its token.
pub fn transport(emulator: &EmulatorHandle) -> HttpTransport {
    HttpTransport::builder(emulator.url())
        .token(TOKEN)
        .build()
        .expect("a valid transport")
}

/// Runs `sql` against `db` through `/api/v3/query_sql?format=json` and returns the rows.
pub async fn query(emulator: &EmulatorHandle, db: &str, sql: &str) -> Vec<serde_json::Value> {
    let mut url = url::Url::parse(&emulator.url()).expect("emulator URL");
    url.set_path("/api/v3/query_sql");
    url.query_pairs_mut()
        .append_pair("db", db)
        .append_pair("q", sql)
        .append_pair("format", "json");
    let client = Client::builder(TokioExecutor::new()).build_http::<Empty<Bytes>>();
    let request = http::Request::get(url.as_str())
        .header("authorization", format!("Token {TOKEN}"))
        .body(Empty::new())
        .expect("request");
    let response = client.request(request).await.expect("query response");
    let status = response.status();
    let body = response
        .into_body()
        .collect()
        .await
        .expect("body")
        .to_bytes();
    assert!(
        status.is_success(),
        "query {sql:?} failed: {status} {}",
        String::from_utf8_lossy(&body)
    );
    serde_json::from_slice(&body).expect("JSON rows")
}

/// `SELECT COUNT(*)` of `table` in `db`.
pub async fn count(emulator: &EmulatorHandle, db: &str, table: &str) -> u64 {
    let rows = query(emulator, db, &format!("SELECT COUNT(*) AS n FROM {table}")).await;
    rows[0]["n"].as_u64().expect("a count")
}
