//! Flight responses are gzip-compressed when the client asks (`grpc-accept-encoding: gzip`),
//! as the server's are, and identity-encoded otherwise; gzip-compressed requests are read.

use arrow_flight::Ticket;
use arrow_flight::flight_service_client::FlightServiceClient;
use arrow_flight::utils::flight_data_to_batches;
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use influxdb3_emulator::{Emulator, EmulatorHandle};
use serde_json::json;
use tonic::codec::CompressionEncoding;
use tonic::transport::Channel;

async fn write(emulator: &EmulatorHandle, lines: String) {
    let client = Client::builder(TokioExecutor::new()).build_http::<Full<Bytes>>();
    let request = http::Request::post(format!(
        "{}/api/v3/write_lp?db=db&precision=nanosecond",
        emulator.url()
    ))
    .body(Full::new(Bytes::from(lines)))
    .expect("valid request");
    let response = client.request(request).await.expect("write request");
    let status = response.status();
    let body = response
        .into_body()
        .collect()
        .await
        .expect("body")
        .to_bytes();
    assert_eq!(status, 204, "{}", String::from_utf8_lossy(&body));
}

/// Runs `SELECT v FROM m` and returns the response's
/// `grpc-encoding` and the number of rows decoded.
async fn select(
    emulator: &EmulatorHandle,
    accept_gzip: bool,
    send_gzip: bool,
) -> (Option<String>, usize) {
    let channel = Channel::from_shared(emulator.url())
        .expect("valid url")
        .connect()
        .await
        .expect("gRPC connection");
    let mut client = FlightServiceClient::new(channel);
    if accept_gzip {
        client = client.accept_compressed(CompressionEncoding::Gzip);
    }
    if send_gzip {
        client = client.send_compressed(CompressionEncoding::Gzip);
    }
    let ticket = json!({"database": "db", "sql_query": "SELECT v FROM m", "query_type": "sql"});
    let response = client
        .do_get(Ticket::new(ticket.to_string()))
        .await
        .expect("DoGet starts");
    let encoding = response
        .metadata()
        .get("grpc-encoding")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let mut stream = response.into_inner();
    let mut messages = Vec::new();
    while let Some(message) = stream.message().await.expect("a message") {
        messages.push(message);
    }
    let batches = flight_data_to_batches(&messages).expect("decodable batches");
    (encoding, batches.iter().map(|b| b.num_rows()).sum())
}

#[tokio::test]
async fn flight_answers_gzip_when_asked() {
    let emulator = Emulator::builder().start().await.expect("emulator starts");
    let lines: String = (0..5000).map(|i| format!("m,t=same v=1.5 {i}\n")).collect();
    write(&emulator, lines).await;

    let (encoding, rows) = select(&emulator, true, false).await;
    assert_eq!(encoding.as_deref(), Some("gzip"));
    assert_eq!(rows, 5000);

    let (encoding, rows) = select(&emulator, false, false).await;
    assert_eq!(encoding, None, "identity unless the client accepts gzip");
    assert_eq!(rows, 5000);

    let (encoding, rows) = select(&emulator, true, true).await;
    assert_eq!(encoding.as_deref(), Some("gzip"), "a gzip request is read");
    assert_eq!(rows, 5000);
}
