//! Query answers in the shapes InfluxDB 3 Core 3.6.0 gives them (as recorded in the shared
//! conformance corpus): column order, tag types, schema metadata, InfluxQL `SHOW`s, the v1
//! `/query` endpoint, selector functions.

use arrow_flight::{FlightClient, Ticket};
use bytes::Bytes;
use futures::TryStreamExt;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use influxdb3_emulator::{Emulator, EmulatorHandle};
use serde_json::{Value, json};
use tonic::transport::Channel;

const CPU: &str = "\
cpu,host=a,region=us usage=10.5,idle=89i 1000000000
cpu,host=b,region=us usage=20.0,idle=79i 1000000000
cpu,host=c usage=50.5,idle=49i 61000000000
mem,host=a free=100u 1000000000
";

async fn request(emulator: &EmulatorHandle, method: &str, path: &str, body: &str) -> (u16, String) {
    let client = Client::builder(TokioExecutor::new()).build_http::<Full<Bytes>>();
    let request = http::Request::builder()
        .method(method)
        .uri(format!("{}{path}", emulator.url()))
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

async fn start() -> EmulatorHandle {
    let emulator = Emulator::builder().start().await.expect("emulator starts");
    let (status, body) = request(
        &emulator,
        "POST",
        "/api/v3/write_lp?db=db&precision=ns",
        CPU,
    )
    .await;
    assert_eq!(status, 204, "{body}");
    emulator
}

/// `q` in `language` (`sql`, `influxql`) over HTTP as JSON lines.
async fn jsonl(emulator: &EmulatorHandle, language: &str, q: &str) -> (u16, String) {
    let body = json!({"db": "db", "q": q, "format": "jsonl"}).to_string();
    request(
        emulator,
        "POST",
        &format!("/api/v3/query_{language}"),
        &body,
    )
    .await
}

/// `q` over Flight: the schema as (name, type, metadata) and its metadata.
async fn flight_schema(
    emulator: &EmulatorHandle,
    language: &str,
    q: &str,
) -> (Vec<(String, String, bool)>, Vec<(String, String)>) {
    let channel = Channel::from_shared(emulator.url())
        .expect("valid url")
        .connect()
        .await
        .expect("gRPC connection");
    let mut client = FlightClient::new(channel);
    let ticket = json!({"database": "db", "sql_query": q, "query_type": language});
    let stream = client
        .do_get(Ticket::new(ticket.to_string()))
        .await
        .expect("DoGet");
    let mut stream = stream.into_inner();
    let mut schema = None;
    while let Some(data) = stream.try_next().await.expect("a message") {
        if let arrow_flight::decode::DecodedPayload::Schema(s) = data.payload {
            schema = Some(s);
        }
    }
    let schema = schema.expect("a schema message");
    let fields = schema
        .fields()
        .iter()
        .map(|f| (f.name().clone(), f.data_type().to_string(), f.is_nullable()))
        .collect();
    let mut metadata: Vec<(String, String)> = schema
        .metadata()
        .iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    metadata.sort();
    (fields, metadata)
}

#[tokio::test]
async fn sql_shapes() {
    let emulator = start().await;
    // SELECT *: columns sorted by name, time included.
    let (status, body) = jsonl(
        &emulator,
        "sql",
        "SELECT * FROM cpu ORDER BY time, host LIMIT 1",
    )
    .await;
    assert_eq!(
        (status, body.as_str()),
        (
            200,
            "{\"host\":\"a\",\"idle\":89,\"region\":\"us\",\"time\":\"1970-01-01T00:00:01\",\"usage\":10.5}\n"
        )
    );
    // Tags are dictionaries to the planner, timestamps named as the server's Arrow names them.
    let (_, body) = jsonl(
        &emulator,
        "sql",
        "SELECT column_name, data_type FROM information_schema.columns WHERE table_name = 'cpu' \
         AND column_name IN ('host', 'time')  ORDER BY column_name",
    )
    .await;
    assert_eq!(
        body,
        "{\"column_name\":\"host\",\"data_type\":\"Dictionary(Int32, Utf8)\"}\n\
         {\"column_name\":\"time\",\"data_type\":\"Timestamp(Nanosecond, None)\"}\n"
    );
    // Plan errors: 500 with the server's prefix, DataFusion's sentences on one line.
    let (status, body) = jsonl(&emulator, "sql", "SELECT nope FROM mem").await;
    assert_eq!(status, 500);
    assert_eq!(
        body,
        "query error: error while planning query: Schema error: No field named nope. Valid \
         fields are mem.free, mem.host, mem.time."
    );
    let (status, body) = jsonl(&emulator, "sql", "INSERT INTO cpu (host) VALUES ('x')").await;
    assert_eq!(status, 500);
    assert!(body.ends_with("DML not supported: Insert Into"), "{body}");
    // A parameter alone in a SELECT without FROM is an unknown column.
    let body = json!({"db": "db", "q": "SELECT $x AS x", "params": {"x": 1}}).to_string();
    let (status, body) = request(&emulator, "POST", "/api/v3/query_sql", &body).await;
    assert_eq!(
        (status, body.as_str()),
        (
            500,
            "query error: error while planning query: Schema error: No field named x."
        )
    );
    // The selector functions.
    let (_, body) = jsonl(
        &emulator,
        "sql",
        "SELECT selector_last(usage, time)['value'] AS v, selector_first(usage, time)['time'] \
         AS t, selector_max(idle, time)['value'] AS mx, selector_min(idle, time)['value'] AS mn \
         FROM cpu",
    )
    .await;
    assert_eq!(
        body,
        "{\"v\":50.5,\"t\":\"1970-01-01T00:00:01\",\"mx\":89,\"mn\":49}\n"
    );
    // system tables exist (empty).
    let (status, body) = jsonl(&emulator, "sql", "SELECT count(*) AS n FROM system.queries").await;
    assert_eq!((status, body.as_str()), (200, "{\"n\":0}\n"));

    // Over Flight: tags are plain strings; the table's metadata only survives an empty plan;
    // date_trunc and extract are nullable.
    let (fields, metadata) = flight_schema(&emulator, "sql", "SELECT host, usage FROM cpu").await;
    assert_eq!(fields[0], ("host".to_owned(), "Utf8".to_owned(), true));
    assert!(metadata.is_empty(), "{metadata:?}");
    let (_, metadata) = flight_schema(&emulator, "sql", "SELECT usage FROM cpu LIMIT 0").await;
    assert_eq!(
        metadata,
        [
            ("iox::measurement::name".to_owned(), "cpu".to_owned()),
            (
                "iox::series::key::v2".to_owned(),
                "BAAAAGhvc3QGAAAAcmVnaW9u".to_owned()
            ),
        ]
    );
    let (fields, _) = flight_schema(
        &emulator,
        "sql",
        "SELECT date_trunc('minute', time) AS m, extract(epoch FROM time) AS e FROM cpu",
    )
    .await;
    assert!(
        fields.iter().all(|(_, _, nullable)| *nullable),
        "{fields:?}"
    );
    let (fields, _) =
        flight_schema(&emulator, "sql", "SELECT concat(host, '-') AS c FROM cpu").await;
    assert_eq!(fields[0].1, "Utf8View", "concat returns a string view");
}

#[tokio::test]
async fn influxql_shapes() {
    let emulator = start().await;
    let (_, metadata) = flight_schema(
        &emulator,
        "influxql",
        "SELECT mean(usage) FROM cpu GROUP BY host",
    )
    .await;
    assert_eq!(
        metadata[0],
        (
            "iox::influxql::group_key::metadata".to_owned(),
            "{\"tagKeyColumns\":[{\"tagKey\":\"host\",\"columnIndex\":2}]}".to_owned()
        )
    );
    assert_eq!(metadata[1].1, "cpu");
    let (fields, _) = flight_schema(&emulator, "influxql", "SHOW RETENTION POLICIES").await;
    let names: Vec<&str> = fields.iter().map(|(n, _, _)| n.as_str()).collect();
    assert_eq!(
        names,
        [
            "iox::measurement",
            "name",
            "duration",
            "shardGroupDuration",
            "replicaN",
            "default"
        ]
    );

    // Several measurements: one result, ordered by measurement, absent columns null.
    let (_, body) = jsonl(
        &emulator,
        "influxql",
        "SELECT usage, free FROM cpu, mem WHERE host = 'a'",
    )
    .await;
    assert_eq!(
        body,
        "{\"iox::measurement\":\"cpu\",\"time\":\"1970-01-01T00:00:01\",\"usage\":10.5}\n\
         {\"iox::measurement\":\"mem\",\"time\":\"1970-01-01T00:00:01\",\"free\":100}\n"
    );
    // SHOW TAG VALUES with a time range; a key some rows lack has a null value.
    let (_, body) = jsonl(
        &emulator,
        "influxql",
        "SHOW TAG VALUES FROM cpu WITH KEY = region WHERE time >= 0",
    )
    .await;
    assert_eq!(
        body,
        "{\"iox::measurement\":\"cpu\",\"key\":\"region\",\"value\":\"us\"}\n\
         {\"iox::measurement\":\"cpu\",\"key\":\"region\"}\n"
    );
    // A duration compared with time is an offset from the epoch.
    let (_, body) = jsonl(
        &emulator,
        "influxql",
        "SELECT usage FROM cpu WHERE time > 1m",
    )
    .await;
    assert_eq!(
        body,
        "{\"iox::measurement\":\"cpu\",\"time\":\"1970-01-01T00:01:01\",\"usage\":50.5}\n"
    );
    // HTTP shapes of SHOW RETENTION POLICIES and SHOW DATABASES.
    let (_, body) = jsonl(&emulator, "influxql", "SHOW RETENTION POLICIES").await;
    assert_eq!(body, "{\"iox::database\":\"db\",\"name\":\"autogen\"}\n");
    let (_, body) = jsonl(&emulator, "influxql", "SHOW DATABASES").await;
    assert_eq!(
        body,
        "{\"iox::database\":\"_internal\",\"deleted\":false}\n{\"iox::database\":\"db\",\"deleted\":false}\n"
    );
    // Parse errors are 500 in the server's words.
    let (status, body) = jsonl(&emulator, "influxql", "SELEC usage FROM cpu").await;
    assert_eq!(
        (status, body.as_str()),
        (
            500,
            "error in InfluxQL statement: parsing error: invalid InfluxQL statement at pos 0. \
             Parsing Error: Nom(\"SELEC usage FROM cpu\", Tag)"
        )
    );
}

#[tokio::test]
async fn v1_query_endpoint() {
    let emulator = start().await;
    let (status, body) = request(
        &emulator,
        "GET",
        "/query?db=db&q=SELECT%20mean(usage)%20FROM%20cpu%20GROUP%20BY%20host&epoch=s",
        "",
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let answer: Value = serde_json::from_str(&body).expect("JSON");
    assert_eq!(
        answer,
        // The last series first, as the server's buffer hands them out.
        json!({"results": [{"statement_id": 0, "series": [
            {"name": "cpu", "tags": {"host": "c"}, "columns": ["time", "mean"], "values": [[0, 50.5]]},
            {"name": "cpu", "tags": {"host": "b"}, "columns": ["time", "mean"], "values": [[0, 20.0]]},
            {"name": "cpu", "tags": {"host": "a"}, "columns": ["time", "mean"], "values": [[0, 10.5]]},
        ]}]})
    );
    let (status, body) = request(
        &emulator,
        "GET",
        "/query?db=nope&q=SELECT%20*%20FROM%20cpu",
        "",
    )
    .await;
    assert_eq!(
        (status, body.as_str()),
        (404, "{\"error\":\"query error: database not found: nope\"}")
    );
    let client = Client::builder(TokioExecutor::new()).build_http::<Full<Bytes>>();
    let form = http::Request::post(format!("{}/query?db=db", emulator.url()))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(Full::new(Bytes::from_static(b"q=SELECT+free+FROM+mem")))
        .expect("valid request");
    let response = client.request(form).await.expect("request");
    let body = response
        .into_body()
        .collect()
        .await
        .expect("body")
        .to_bytes();
    let answer: Value = serde_json::from_slice(&body).expect("JSON");
    assert_eq!(
        answer["results"][0]["series"][0],
        json!({"name": "mem", "columns": ["time", "free"], "values": [["1970-01-01T00:00:01Z", 100]]})
    );
    assert!(body.ends_with(b"\r\n"));
    // Nothing matched: no series.
    let (status, body) = request(
        &emulator,
        "GET",
        "/query?db=db&q=SELECT%20usage%20FROM%20cpu%20WHERE%20usage%20%3E%201000",
        "",
    )
    .await;
    assert_eq!(
        (status, body.as_str()),
        (200, "{\"results\":[{\"statement_id\":0}]}\r\n")
    );
}

#[tokio::test]
async fn empty_ticket_is_an_empty_query_on_no_database() {
    let emulator = start().await;
    let channel = Channel::from_shared(emulator.url())
        .expect("valid url")
        .connect()
        .await
        .expect("gRPC connection");
    let mut client = FlightClient::new(channel);
    let outcome = match client.do_get(Ticket::new(Bytes::new())).await {
        Ok(stream) => stream.try_collect::<Vec<_>>().await.map(|_| ()),
        Err(e) => Err(e),
    };
    match outcome {
        Err(arrow_flight::error::FlightError::Tonic(status)) => {
            assert_eq!(status.code(), tonic::Code::Internal, "{status}");
            assert_eq!(
                status.message(),
                "Cannot retrieve database: External error: database not found: "
            );
        }
        other => panic!("expected INTERNAL, got {other:?}"),
    }
}
