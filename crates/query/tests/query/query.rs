//! The query client against the emulator over real sockets: SQL, InfluxQL, parameters,
//! every result mode, timeouts and errors.

use std::time::{Duration, Instant};

use crate::common::{TOKEN, emulator, write_lp};
use futures::TryStreamExt;
use influxdb3_query::{Code, ErrorKind, Query, QueryClient, Value};
use serde::Deserialize;

const HOME: &str = "\
home,room=kitchen temp=21.5,hum=35.9,co=0i,ok=true,count=3u,note=\"a\" 1700000000000000000
home,room=living temp=22.1,hum=36.0,co=1i,ok=false,count=4u,note=\"b\" 1700000001000000000
home,room=kitchen temp=23.0,hum=36.1,co=4i,ok=true,count=5u,note=\"c\" 1700000002000000000
";

async fn setup() -> (influxdb3_emulator::EmulatorHandle, QueryClient) {
    let emu = emulator().await;
    write_lp(&emu, "sensors", HOME, None).await;
    let client = QueryClient::builder(emu.url())
        .token(TOKEN)
        .database("sensors")
        .build()
        .unwrap();
    (emu, client)
}

#[derive(Debug, Deserialize, PartialEq)]
struct Reading {
    room: String,
    temp: f64,
    co: i64,
    count: u64,
    ok: bool,
    time: String,
}

#[tokio::test]
async fn sql_round_trip_rows_points_and_display() {
    let (_emu, client) = setup().await;
    let result = client
        .query("SELECT room, temp, co, count, ok, time FROM home ORDER BY time")
        .await
        .unwrap();
    assert_eq!(result.num_rows(), 3);
    let rows: Vec<Reading> = result.rows().unwrap();
    assert_eq!(
        rows[0],
        Reading {
            room: "kitchen".into(),
            temp: 21.5,
            co: 0,
            count: 3,
            ok: true,
            time: "2023-11-14T22:13:20Z".into(),
        }
    );
    assert_eq!(rows[2].co, 4);

    let table = result.to_string();
    assert!(table.contains("| kitchen"), "{table}");
    assert!(table.contains("21.5"), "{table}");

    let all = client
        .query("SELECT * FROM home ORDER BY time")
        .await
        .unwrap();
    let points = all.points();
    assert_eq!(points.len(), 3);
    assert_eq!(
        points[1].tags.get("room").map(String::as_str),
        Some("living")
    );
    assert_eq!(points[1].fields.get("co"), Some(&Value::Integer(1)));
    assert_eq!(points[1].fields.get("count"), Some(&Value::UInteger(4)));
    assert_eq!(points[1].fields.get("ok"), Some(&Value::Boolean(false)));
    assert_eq!(
        points[1].fields.get("note"),
        Some(&Value::String("b".into()))
    );
    assert_eq!(points[1].time, Some(1_700_000_001_000_000_000));
    assert!(!points[1].fields.contains_key("room"));
    assert!(!points[1].fields.contains_key("time"));
}

#[tokio::test]
async fn influxql_round_trip_keeps_the_measurement() {
    let (_emu, client) = setup().await;
    let result = client
        .query(Query::influxql(
            "SELECT temp FROM home WHERE room = 'kitchen'",
        ))
        .await
        .unwrap();
    assert_eq!(result.num_rows(), 2);
    assert_eq!(result.schema().field(0).name(), "iox::measurement");
    let points = result.points();
    assert_eq!(points[0].measurement.as_deref(), Some("home"));
    assert_eq!(points[0].fields.get("temp"), Some(&Value::Float(21.5)));
}

#[tokio::test]
async fn parameters_of_every_type() {
    let (_emu, client) = setup().await;
    let count = |q: Query| {
        let client = client.clone();
        async move { client.query(q).await.unwrap().num_rows() }
    };
    let sql = |text: &str| Query::sql(text);
    assert_eq!(
        count(sql("SELECT * FROM home WHERE room = $r").param("r", "kitchen")).await,
        2
    );
    assert_eq!(
        count(sql("SELECT * FROM home WHERE temp > $t").param("t", 22.0)).await,
        2
    );
    assert_eq!(
        count(sql("SELECT * FROM home WHERE co > $i").param("i", -1i64)).await,
        3
    );
    assert_eq!(
        count(sql("SELECT * FROM home WHERE co >= $i").param("i", 1i32)).await,
        2
    );
    assert_eq!(
        count(sql("SELECT * FROM home WHERE count <= $u").param("u", 4u64)).await,
        2
    );
    assert_eq!(
        count(sql("SELECT * FROM home WHERE ok = $b").param("b", false)).await,
        1
    );
    assert_eq!(
        count(sql("SELECT * FROM home WHERE note = $n").param("n", None::<String>)).await,
        0
    );
    assert_eq!(
        count(
            sql("SELECT * FROM home WHERE room = $r AND ok = $b AND temp < $t")
                .param("r", "kitchen")
                .param("b", true)
                .param("t", 22.5)
        )
        .await,
        1
    );
    // InfluxQL takes parameters too.
    assert_eq!(
        count(Query::influxql("SELECT temp FROM home WHERE room = $r").param("r", "living")).await,
        1
    );
}

#[tokio::test]
async fn every_mode() {
    let (_emu, client) = setup().await;
    let q = || Query::sql("SELECT room, temp FROM home ORDER BY time");

    // reader
    let mut stream = client.query_stream(q()).await.unwrap();
    assert_eq!(stream.schema().field(0).name(), "room");
    let mut rows = 0;
    while let Some(batch) = stream.try_next().await.unwrap() {
        assert!(batch.num_rows() > 0);
        rows += batch.num_rows();
    }
    assert_eq!(rows, 3);

    // chunk
    let chunks: Vec<_> = client
        .query_chunks(q())
        .await
        .unwrap()
        .try_collect()
        .await
        .unwrap();
    assert_eq!(chunks.iter().map(|c| c.data.num_rows()).sum::<usize>(), 3);

    // schema
    let schema = client.query_schema(q()).await.unwrap();
    let names: Vec<_> = schema.fields().iter().map(|f| f.name().as_str()).collect();
    assert_eq!(names, ["room", "temp"]);

    // all, with an empty result: schema but no batches.
    let empty = client
        .query("SELECT room FROM home WHERE room = 'attic'")
        .await
        .unwrap();
    assert!(empty.is_empty());
    assert_eq!(empty.schema().field(0).name(), "room");

    // a database per query overrides the client's
    let other = client
        .query(Query::sql("SELECT 1").database("nope"))
        .await
        .unwrap_err();
    assert_eq!(other.kind(), ErrorKind::NotFound);
}

#[tokio::test]
async fn schema_only_does_not_wait_for_batches() {
    let (emu, client) = setup().await;
    emu.faults().slow_query_batches(Duration::from_secs(3));
    let started = Instant::now();
    let schema = client.query_schema("SELECT * FROM home").await.unwrap();
    assert!(schema.field_with_name("temp").is_ok());
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "schema took {:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn timeouts_cover_the_whole_query() {
    let (emu, client) = setup().await;
    emu.faults().slow_query_batches(Duration::from_millis(400));

    let e = client
        .query(Query::sql("SELECT * FROM home").timeout(Duration::from_millis(100)))
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Timeout, "{e}");
    assert!(e.is_timeout());
    assert!(e.hint().is_some_and(|h| h.contains("timeout")));

    // The stream gets its schema, then times out while reading.
    let mut stream = client
        .query_stream(Query::sql("SELECT * FROM home").timeout(Duration::from_millis(100)))
        .await
        .unwrap();
    let e = stream.try_next().await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Timeout, "{e}");
    assert!(
        stream.try_next().await.unwrap().is_none(),
        "the stream ends after an error"
    );

    // The client-wide default applies when the query sets none.
    let client = QueryClient::builder(emu.url())
        .token(TOKEN)
        .database("sensors")
        .flight_options(
            influxdb3_query::FlightOptions::default().query_timeout(Duration::from_millis(100)),
        )
        .build()
        .unwrap();
    let e = client.query("SELECT * FROM home").await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Timeout, "{e}");
}

#[tokio::test]
async fn authentication_errors() {
    let (emu, _client) = setup().await;
    let no_token = QueryClient::builder(emu.url())
        .database("sensors")
        .build()
        .unwrap();
    let e = no_token.query("SELECT * FROM home").await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Unauthenticated, "{e}");
    assert_eq!(e.code(), Some(Code::Unauthenticated));
    assert!(e.to_string().contains("hint: the token"), "{e}");

    let wrong = QueryClient::builder(emu.url())
        .token("apiv3_wrong-secret")
        .database("sensors")
        .build()
        .unwrap();
    let e = wrong.query("SELECT * FROM home").await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Unauthenticated, "{e}");
    assert!(!e.to_string().contains("wrong-secret"));
    assert!(!format!("{e:?}").contains("wrong-secret"));
    assert!(!format!("{wrong:?}").contains("wrong-secret"));
}

#[tokio::test]
async fn unknown_database_and_bad_sql() {
    let (emu, client) = setup().await;
    let e = client
        .query(Query::sql("SELECT * FROM home").database("missing"))
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotFound, "{e}");
    assert!(e.message().contains("database not found"), "{e}");
    assert!(
        e.hint()
            .is_some_and(|h| h.contains("database does not exist"))
    );

    let e = client.query("SELECT * FROM nowhere").await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidQuery, "{e}");
    assert_eq!(e.code(), Some(Code::InvalidArgument));
    assert!(e.message().contains("nowhere"), "{e}");

    let no_db = QueryClient::builder(emu.url())
        .token(TOKEN)
        .build()
        .unwrap();
    let e = no_db.query("SELECT 1").await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Config, "{e}");
}

#[tokio::test]
async fn server_failures_before_and_inside_the_stream() {
    let (emu, client) = setup().await;
    emu.faults()
        .fail_queries(1, Code::Internal, "injected failure");
    let e = client.query("SELECT * FROM home").await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Server, "{e}");
    assert_eq!(e.code(), Some(Code::Internal));
    assert!(e.message().contains("injected failure"), "{e}");
    // The fault is used up: the next query works.
    assert_eq!(
        client.query("SELECT * FROM home").await.unwrap().num_rows(),
        3
    );

    emu.faults()
        .fail_queries_after_batches(1, 1, Code::ResourceExhausted, "out of memory");
    let mut stream = client.query_stream("SELECT * FROM home").await.unwrap();
    let mut got_error = None;
    let mut rows = 0;
    loop {
        match stream.try_next().await {
            Ok(Some(batch)) => rows += batch.num_rows(),
            Ok(None) => break,
            Err(e) => {
                got_error = Some(e);
                break;
            }
        }
    }
    let e = got_error.expect("the stream fails");
    assert_eq!(e.code(), Some(Code::ResourceExhausted), "{e}");
    assert!(rows > 0, "a batch came before the error");
}

#[tokio::test]
async fn connection_refused_hints_at_host_and_port() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    let client = QueryClient::builder(format!("http://127.0.0.1:{port}"))
        .database("db")
        .build()
        .unwrap();
    let e = client.query("SELECT 1").await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Connect, "{e}");
    assert_eq!(e.code(), Some(Code::Unavailable));
    assert!(e.hint().is_some_and(|h| h.contains("host and port")), "{e}");
}

#[tokio::test]
async fn an_http1_server_hints_at_a_wrong_server() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            let mut buf = [0u8; 1024];
            let _ = socket.read(&mut buf).await;
            let _ = socket
                .write_all(
                    b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
                )
                .await;
        }
    });
    let client = QueryClient::builder(format!("http://{addr}"))
        .database("db")
        .build()
        .unwrap();
    let e = client.query("SELECT 1").await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Connect, "{e}");
    assert!(
        e.hint().is_some_and(|h| h.contains("InfluxDB 1.x/2.x")),
        "{e}"
    );
}

#[tokio::test]
async fn builder_rejects_bad_configuration() {
    for host in ["localhost:port", "ftp://localhost", "not a url", ""] {
        let e = QueryClient::builder(host).build().unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Config, "{host}: {e}");
    }
    let e = QueryClient::builder("http://localhost")
        .header("Bad Header", "x")
        .build()
        .unwrap_err();
    assert!(e.to_string().contains("`Bad Header`"), "{e}");
    let e = QueryClient::builder("http://localhost")
        .token("bad\ntoken")
        .build()
        .unwrap_err();
    assert!(!e.to_string().contains("bad\ntoken"), "{e}");
    let e = QueryClient::builder("https://user:s3cret@localhost")
        .build()
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Config);
    assert!(!e.to_string().contains("s3cret"), "{e}");

    // Headers are accepted per client and per query; a bad per-query header fails the query.
    let (_emu, client) = setup().await;
    let client2 = QueryClient::builder(_emu.url())
        .token(TOKEN)
        .database("sensors")
        .header("x-tenant", "blue")
        .user_agent("my-app/1.0")
        .flight_options(
            influxdb3_query::FlightOptions::default()
                .connect_timeout(Duration::from_secs(2))
                .keep_alive_interval(Duration::from_secs(10))
                .keep_alive_timeout(Duration::from_secs(5))
                .max_decoding_message_size(usize::MAX),
        )
        .build()
        .unwrap();
    let result = client2
        .query(Query::sql("SELECT * FROM home").header("x-request-id", "7"))
        .await
        .unwrap();
    assert_eq!(result.num_rows(), 3);
    let e = client
        .query(Query::sql("SELECT 1").header("bad\nname", "x"))
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Config, "{e}");
}

#[tokio::test]
async fn one_client_is_shared_by_many_tasks() {
    let (_emu, client) = setup().await;
    let tasks: Vec<_> = (0..8)
        .map(|_| {
            let client = client.clone();
            tokio::spawn(async move {
                client
                    .query("SELECT * FROM home")
                    .await
                    .map(|r| r.num_rows())
            })
        })
        .collect();
    for task in tasks {
        assert_eq!(task.await.unwrap().unwrap(), 3);
    }
}

/// The server's keep-alives (empty batches on an idle stream) never reach the caller, in
/// any mode, and the rows are all there.
#[tokio::test]
async fn keep_alive_batches_are_skipped_in_every_mode() {
    let emu = influxdb3_emulator::Emulator::builder()
        .token(TOKEN)
        .flight_keep_alive(Duration::from_millis(30))
        .start()
        .await
        .unwrap();
    write_lp(&emu, "sensors", HOME, None).await;
    emu.faults().slow_query_batches(Duration::from_millis(200));
    let client = QueryClient::builder(emu.url())
        .token(TOKEN)
        .database("sensors")
        .build()
        .unwrap();
    let q = "SELECT room, temp, time FROM home ORDER BY time";

    let all = client.query(q).await.unwrap();
    assert_eq!(all.num_rows(), 3);
    assert!(all.batches().iter().all(|b| b.num_rows() > 0));
    let after_query = emu.stats().keep_alive_batches;
    assert!(after_query >= 2, "{after_query} keep-alives sent");

    let streamed: Vec<_> = client
        .query_stream(q)
        .await
        .unwrap()
        .try_collect()
        .await
        .unwrap();
    assert_eq!(
        streamed.iter().map(|b| b.num_rows()).collect::<Vec<_>>(),
        [3]
    );

    let chunks: Vec<_> = client
        .query_chunks(q)
        .await
        .unwrap()
        .try_collect()
        .await
        .unwrap();
    assert_eq!(chunks.len(), 1);
    assert_eq!(chunks[0].data.num_rows(), 3);
    assert!(emu.stats().keep_alive_batches >= after_query + 4);
}
