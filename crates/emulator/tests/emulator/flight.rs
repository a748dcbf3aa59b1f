//! Flight `DoGet` against a running emulator, with a plain arrow-flight client over tonic:
//! data is written with HTTP line protocol, then read back with JSON tickets.

use std::time::Duration;

use arrow_array::cast::AsArray;
use arrow_array::types::{Float64Type, TimestampNanosecondType};
use arrow_array::{Array, RecordBatch};
use arrow_flight::flight_service_client::FlightServiceClient;
use arrow_flight::{FlightClient, FlightData, FlightDescriptor, Ticket};
use arrow_schema::{DataType, TimeUnit};
use bytes::Bytes;
use futures::TryStreamExt;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use influxdb3_emulator::{Emulator, EmulatorHandle};
use serde_json::{Value, json};
use tonic::transport::Channel;
use tonic::{Code, Status};

const TOKEN: &str = "flight-test-token";

const HOME: &str = "\
home,room=Living\\ Room temp=21.1,hum=35.9,co=0i 1641024000000000000
home,room=Kitchen temp=21.0,hum=35.9,co=0i 1641024000000000000
home,room=Living\\ Room temp=21.4,hum=35.9,co=0i 1641027600000000000
home,room=Kitchen temp=23.0,hum=36.2,co=0i,ok=true 1641027600000000000
home,room=Living\\ Room temp=21.8,hum=36.0,co=1i 1641031200000000000
home,room=Kitchen temp=22.7,hum=36.1,co=3i,ok=false 1641031200000000000
";

async fn start() -> EmulatorHandle {
    Emulator::builder()
        .token(TOKEN)
        .start()
        .await
        .expect("emulator starts")
}

/// Writes line protocol with `POST /api/v3/write_lp` and expects 204.
async fn write(emulator: &EmulatorHandle, db: &str, lines: impl Into<Bytes>) {
    let client = Client::builder(TokioExecutor::new()).build_http::<Full<Bytes>>();
    let request = http::Request::post(format!(
        "{}/api/v3/write_lp?db={db}&precision=nanosecond",
        emulator.url()
    ))
    .header("authorization", format!("Bearer {TOKEN}"))
    .body(Full::new(lines.into()))
    .expect("valid request");
    let response = client.request(request).await.expect("write request");
    let status = response.status();
    let body = response
        .into_body()
        .collect()
        .await
        .expect("write response body")
        .to_bytes();
    assert_eq!(
        status,
        204,
        "write failed: {}",
        String::from_utf8_lossy(&body)
    );
}

async fn channel(emulator: &EmulatorHandle) -> Channel {
    Channel::from_shared(emulator.url())
        .expect("valid url")
        .connect()
        .await
        .expect("gRPC connection")
}

fn ticket(value: Value) -> Ticket {
    Ticket::new(value.to_string())
}

/// Runs DoGet with `FlightClient` and collects the batches.
async fn query(
    emulator: &EmulatorHandle,
    token: Option<&str>,
    ticket: Ticket,
) -> Result<Vec<RecordBatch>, Status> {
    let mut client = FlightClient::new(channel(emulator).await);
    if let Some(token) = token {
        client
            .add_header("authorization", &format!("Bearer {token}"))
            .expect("valid header");
    }
    let to_status = |e: arrow_flight::error::FlightError| match e {
        arrow_flight::error::FlightError::Tonic(status) => *status,
        other => Status::internal(other.to_string()),
    };
    let stream = client.do_get(ticket).await.map_err(to_status)?;
    stream.try_collect().await.map_err(to_status)
}

/// Runs DoGet on the raw gRPC client and returns every message, then the final status.
async fn raw_do_get(
    emulator: &EmulatorHandle,
    ticket: Ticket,
    timeout: Option<Duration>,
) -> (Vec<FlightData>, Option<Status>) {
    let mut client = FlightServiceClient::new(channel(emulator).await);
    let mut request = tonic::Request::new(ticket);
    request.metadata_mut().insert(
        "authorization",
        format!("Bearer {TOKEN}").parse().expect("valid metadata"),
    );
    if let Some(timeout) = timeout {
        request.set_timeout(timeout);
    }
    let mut stream = match client.do_get(request).await {
        Ok(response) => response.into_inner(),
        Err(status) => return (Vec::new(), Some(status)),
    };
    let mut messages = Vec::new();
    loop {
        match stream.message().await {
            Ok(Some(message)) => messages.push(message),
            Ok(None) => return (messages, None),
            Err(status) => return (messages, Some(status)),
        }
    }
}

fn sql(db: &str, query: &str) -> Ticket {
    ticket(json!({"database": db, "sql_query": query, "query_type": "sql"}))
}

fn strings(batches: &[RecordBatch], column: &str) -> Vec<String> {
    batches
        .iter()
        .flat_map(|b| {
            let column = b.column_by_name(column).expect("column exists");
            let strings = column.as_string::<i32>();
            (0..strings.len())
                .map(|i| strings.value(i).to_owned())
                .collect::<Vec<_>>()
        })
        .collect()
}

fn floats(batches: &[RecordBatch], column: &str) -> Vec<f64> {
    batches
        .iter()
        .flat_map(|b| {
            let column = b.column_by_name(column).expect("column exists");
            column.as_primitive::<Float64Type>().values().to_vec()
        })
        .collect()
}

#[tokio::test]
async fn sql_query_returns_typed_columns_with_metadata() {
    let emulator = start().await;
    write(&emulator, "db", HOME).await;

    let batches = query(
        &emulator,
        Some(TOKEN),
        sql(
            "db",
            "SELECT room, temp, co, time FROM home WHERE temp > 21.3 ORDER BY time, room",
        ),
    )
    .await
    .expect("query succeeds");
    assert_eq!(
        strings(&batches, "room"),
        ["Kitchen", "Living Room", "Kitchen", "Living Room"]
    );
    assert_eq!(floats(&batches, "temp"), [23.0, 21.4, 22.7, 21.8]);
    let schema = batches[0].schema();
    let kind = |name: &str| {
        let field = schema.field_with_name(name).expect("field exists");
        (
            field.data_type().clone(),
            field.metadata().get("iox::column::type").cloned(),
        )
    };
    assert_eq!(
        kind("room"),
        (DataType::Utf8, Some("iox::column_type::tag".into()))
    );
    assert_eq!(
        kind("temp"),
        (
            DataType::Float64,
            Some("iox::column_type::field::float".into())
        )
    );
    assert_eq!(
        kind("co"),
        (
            DataType::Int64,
            Some("iox::column_type::field::integer".into())
        )
    );
    assert_eq!(
        kind("time"),
        (
            DataType::Timestamp(TimeUnit::Nanosecond, None),
            Some("iox::column_type::timestamp".into())
        )
    );
    let times: Vec<i64> = batches
        .iter()
        .flat_map(|b| {
            b.column_by_name("time")
                .expect("time column")
                .as_primitive::<TimestampNanosecondType>()
                .values()
                .to_vec()
        })
        .collect();
    assert_eq!(times[0], 1_641_027_600_000_000_000);

    // The database aliases of the ticket, and the SQL default query type.
    for key in ["namespace_name", "bucket", "bucket-name"] {
        let batches = query(
            &emulator,
            Some(TOKEN),
            ticket(json!({key: "db", "sql_query": "SELECT count(*) AS n FROM home"})),
        )
        .await
        .unwrap_or_else(|e| panic!("ticket with {key}: {e}"));
        assert_eq!(batches.iter().map(RecordBatch::num_rows).sum::<usize>(), 1);
    }
}

#[tokio::test]
async fn influxql_query_puts_the_measurement_first() {
    let emulator = start().await;
    write(&emulator, "db", HOME).await;
    let batches = query(
        &emulator,
        Some(TOKEN),
        ticket(json!({
            "database": "db",
            "sql_query": "SELECT MEAN(temp) AS t FROM home GROUP BY room",
            "query_type": "influxql",
        })),
    )
    .await
    .expect("query succeeds");
    let schema = batches[0].schema();
    let names: Vec<&str> = schema.fields().iter().map(|f| f.name().as_str()).collect();
    assert_eq!(names, ["iox::measurement", "time", "room", "t"]);
    assert_eq!(strings(&batches, "iox::measurement"), ["home", "home"]);
    assert_eq!(strings(&batches, "room"), ["Kitchen", "Living Room"]);
    let means = floats(&batches, "t");
    assert!((means[0] - 22.233_333).abs() < 1e-5, "{means:?}");

    let batches = query(
        &emulator,
        Some(TOKEN),
        ticket(
            json!({"database": "db", "sql_query": "SHOW MEASUREMENTS", "query_type": "influxql"}),
        ),
    )
    .await
    .expect("query succeeds");
    assert_eq!(strings(&batches, "iox::measurement"), ["measurements"]);
    assert_eq!(strings(&batches, "name"), ["home"]);
}

#[tokio::test]
async fn parameters_of_every_type_bind() {
    let emulator = start().await;
    write(&emulator, "db", HOME).await;
    let run = |query: &'static str, params: Value| {
        let emulator = &emulator;
        async move {
            let batches = query_with(emulator, query, params).await;
            batches.iter().map(RecordBatch::num_rows).sum::<usize>()
        }
    };
    async fn query_with(emulator: &EmulatorHandle, q: &str, params: Value) -> Vec<RecordBatch> {
        query(
            emulator,
            Some(TOKEN),
            ticket(json!({"database": "db", "sql_query": q, "params": params})),
        )
        .await
        .unwrap_or_else(|e| panic!("{q} with {params}: {e}"))
    }
    // String, float, unsigned (non-negative integer), signed (negative integer), boolean.
    assert_eq!(
        run(
            "SELECT * FROM home WHERE room = $room AND temp = $t AND co = $co AND co > $neg AND ok = $ok",
            json!({"room": "Kitchen", "t": 22.7, "co": 3, "neg": -1, "ok": false}),
        )
        .await,
        1
    );
    // Null compares as unknown: nothing matches.
    assert_eq!(
        run(
            "SELECT * FROM home WHERE room = $room",
            json!({"room": null})
        )
        .await,
        0
    );
    // Arrays and objects make the ticket invalid.
    for params in [json!({"a": [1]}), json!({"a": {"b": 1}})] {
        let status = query(
            &emulator,
            Some(TOKEN),
            ticket(json!({"database": "db", "sql_query": "SELECT 1", "params": params})),
        )
        .await
        .expect_err("rejected");
        assert_eq!(status.code(), Code::InvalidArgument);
        assert_eq!(status.message(), "Invalid ticket. Error: Invalid ticket");
    }
}

#[tokio::test]
async fn errors_follow_the_check_order() {
    let emulator = start().await;
    write(&emulator, "db", HOME).await;

    // A bad ticket is reported before authentication.
    for bad in [
        Ticket::new("not json"),
        ticket(json!({"database": "db"})),
        ticket(json!({"database": "db", "sql_query": "SELECT 1", "query_type": "SQL"})),
        ticket(json!({"database": 1, "sql_query": "SELECT 1"})),
        ticket(json!({"database": "db", "sql_query": "SELECT 1", "is_debug": "yes"})),
    ] {
        let status = query(&emulator, None, bad).await.expect_err("bad ticket");
        assert_eq!(status.code(), Code::InvalidArgument, "{status:?}");
        assert_eq!(status.message(), "Invalid ticket. Error: Invalid ticket");
    }

    for token in [None, Some("wrong")] {
        let status = query(&emulator, token, sql("db", "SELECT 1"))
            .await
            .expect_err("unauthenticated");
        assert_eq!(status.code(), Code::Unauthenticated, "{status:?}");
    }

    let status = query(&emulator, Some(TOKEN), sql("nope", "SELECT 1"))
        .await
        .expect_err("unknown database");
    assert_eq!(status.code(), Code::Internal);
    assert_eq!(
        status.message(),
        "Cannot retrieve database: External error: database not found: nope"
    );

    let status = query(&emulator, Some(TOKEN), sql("db", "SELECT * FROM missing"))
        .await
        .expect_err("unknown table");
    assert_eq!(status.code(), Code::InvalidArgument);
    assert!(
        status.message().starts_with("Error while planning query: "),
        "{}",
        status.message()
    );
    assert!(
        status
            .message()
            .contains("table 'public.iox.missing' not found"),
        "{}",
        status.message()
    );

    let status = query(
        &emulator,
        Some(TOKEN),
        ticket(
            json!({"database": "db", "sql_query": "SELECT * FROM /a/", "query_type": "influxql"}),
        ),
    )
    .await
    .expect_err("unsupported InfluxQL");
    assert_eq!(status.code(), Code::InvalidArgument);
    assert!(
        status.message().contains("the emulator does not support"),
        "{}",
        status.message()
    );

    let mut client = FlightClient::new(channel(&emulator).await);
    let err = client
        .get_flight_info(FlightDescriptor::new_cmd("SELECT 1"))
        .await
        .expect_err("unimplemented");
    match err {
        arrow_flight::error::FlightError::Tonic(status) => {
            assert_eq!(status.code(), Code::Unimplemented)
        }
        other => panic!("unexpected error {other}"),
    }
    assert_eq!(
        client
            .handshake(Bytes::from_static(b"ping"))
            .await
            .expect("handshake echoes"),
        Bytes::from_static(b"ping")
    );
}

#[tokio::test]
async fn query_faults_apply_to_the_stream() {
    let emulator = start().await;
    write(&emulator, "db", HOME).await;
    let all = || sql("db", "SELECT * FROM home");

    emulator
        .faults()
        .fail_queries(1, Code::Unavailable, "injected failure");
    let (messages, status) = raw_do_get(&emulator, all(), None).await;
    let status = status.expect("first query fails");
    assert!(messages.is_empty());
    assert_eq!(status.code(), Code::Unavailable);
    assert_eq!(status.message(), "injected failure");
    let (messages, status) = raw_do_get(&emulator, all(), None).await;
    assert!(status.is_none(), "{status:?}");
    assert_eq!(messages.len(), 2, "schema then one batch");

    emulator
        .faults()
        .fail_queries_after_batches(1, 0, Code::Internal, "mid-stream failure");
    let (messages, status) = raw_do_get(&emulator, all(), None).await;
    assert_eq!(messages.len(), 1, "only the schema went out");
    let status = status.expect("stream fails");
    assert_eq!(status.code(), Code::Internal);
    assert_eq!(status.message(), "mid-stream failure");

    // A slow stream is cut by the client's grpc-timeout.
    emulator.faults().slow_query_batches(Duration::from_secs(5));
    let (messages, status) = raw_do_get(&emulator, all(), Some(Duration::from_millis(100))).await;
    let status = status.expect("deadline hits");
    assert!(messages.len() <= 1, "no data batch before the deadline");
    assert!(
        matches!(
            status.code(),
            Code::ResourceExhausted | Code::Cancelled | Code::DeadlineExceeded
        ),
        "{status:?}"
    );
}

#[tokio::test]
async fn large_results_stream_in_several_messages() {
    let emulator = start().await;
    // 12 rows of 512 KiB strings: 6 MiB in all, written in three requests.
    let value = "x".repeat(512 * 1024);
    for request in 0..3 {
        let mut body = String::new();
        for row in 0..4 {
            let t = request * 4 + row;
            body.push_str(&format!("big,n={t} s=\"{value}\" {t}\n"));
        }
        write(&emulator, "db", body).await;
    }
    let (messages, status) = raw_do_get(
        &emulator,
        sql("db", "SELECT n, s FROM big ORDER BY time"),
        None,
    )
    .await;
    assert!(status.is_none(), "{status:?}");
    let total: usize = messages.iter().map(|m| m.data_body.len()).sum();
    assert!(total > 6 * 1024 * 1024, "{total} bytes");
    assert!(messages.len() >= 4, "{} messages", messages.len());
    assert!(
        messages.iter().all(|m| m.data_body.len() < 4 * 1024 * 1024),
        "every message stays under tonic's default 4 MiB limit"
    );

    let batches = query(
        &emulator,
        Some(TOKEN),
        sql("db", "SELECT n, s FROM big ORDER BY time"),
    )
    .await
    .expect("decodes");
    let n = strings(&batches, "n");
    assert_eq!(n.len(), 12);
    assert_eq!(n[11], "11");
    assert!(
        strings(&batches, "s")
            .iter()
            .all(|s| s.len() == value.len())
    );
}

/// Once the schema is out, an idle stream gets an empty batch every keep-alive interval
/// (PROTOCOL.md: 5 s on the server), decodable with the stream's schema; a stream that is
/// never idle that long gets none.
#[tokio::test]
async fn idle_streams_get_empty_keep_alive_batches() {
    let emulator = Emulator::builder()
        .token(TOKEN)
        .flight_keep_alive(Duration::from_millis(40))
        .start()
        .await
        .expect("emulator starts");
    write(&emulator, "db", HOME).await;
    let all = || sql("db", "SELECT room, temp, time FROM home ORDER BY time");

    let (messages, status) = raw_do_get(&emulator, all(), None).await;
    assert!(status.is_none(), "{status:?}");
    assert_eq!(messages.len(), 2, "schema then one batch, no keep-alive");
    assert_eq!(emulator.stats().keep_alive_batches, 0);

    emulator
        .faults()
        .slow_query_batches(Duration::from_millis(300));
    let (messages, status) = raw_do_get(&emulator, all(), None).await;
    assert!(status.is_none(), "{status:?}");
    let keep_alives = emulator.stats().keep_alive_batches;
    assert!(
        keep_alives >= 3,
        "{keep_alives} keep-alives in 300 ms of 40 ms idle steps"
    );
    assert_eq!(messages.len() as u64, 2 + keep_alives);

    // Decoded, the keep-alives are empty batches of the stream's (dictionary-free) schema,
    // sent before the data.
    let decoded: Vec<RecordBatch> =
        arrow_flight::decode::FlightRecordBatchStream::new_from_flight_data(futures::stream::iter(
            messages.into_iter().map(Ok),
        ))
        .try_collect()
        .await
        .expect("every message decodes");
    let rows: Vec<usize> = decoded.iter().map(RecordBatch::num_rows).collect();
    let (empty, data) = rows.split_at(rows.len() - 1);
    assert!(empty.iter().all(|&n| n == 0), "{rows:?}");
    assert_eq!(data, [6]);
    assert!(decoded.iter().all(|b| b.schema() == decoded[0].schema()));
    assert_eq!(
        decoded[0]
            .schema()
            .field_with_name("room")
            .map(|f| f.data_type().clone())
            .ok(),
        Some(DataType::Utf8)
    );

    // A zero interval turns keep-alives off.
    let quiet = Emulator::builder()
        .token(TOKEN)
        .flight_keep_alive(Duration::ZERO)
        .start()
        .await
        .expect("emulator starts");
    write(&quiet, "db", HOME).await;
    quiet
        .faults()
        .slow_query_batches(Duration::from_millis(100));
    let (messages, status) = raw_do_get(&quiet, all(), None).await;
    assert!(status.is_none(), "{status:?}");
    assert_eq!(messages.len(), 2);
    assert_eq!(quiet.stats().keep_alive_batches, 0);
}
