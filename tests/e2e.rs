//! End-to-end tests of `influxdb_client_3` over real sockets: against the emulator always,
//! and against a real server when `INFLUX_HOST` is set (see `lib.rs`).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use arrow_array::{Float64Array, Int64Array, RecordBatch, StringArray, TimestampSecondArray};
use influxdb_client_3::{
    Client, Error, Point, Precision, Query, Record, RecordBatchLines, TableMapping, WriteCall,
    WriteClientOptions, WriteOptions,
};
use influxdb3_e2e_tests::{BoxError, Server, data_file, unique};
use serde_json::json;

/// Runs each test body against the emulator, and against `INFLUX_HOST` when it is set.
macro_rules! suite {
    ($($name:ident),* $(,)?) => {
        mod emulator {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() -> Result<(), super::BoxError> {
                    super::$name(&super::Server::start_emulator().await?).await
                }
            )*
        }
        mod real_server {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() -> Result<(), super::BoxError> {
                    match super::Server::real(stringify!($name)) {
                        Some(server) => super::$name(&server).await,
                        None => Ok(()),
                    }
                }
            )*
        }
    };
}

suite!(
    writes_every_record_kind_and_reads_it_back,
    per_call_options_and_default_tags,
    batching_writer_reports_to_callbacks,
    write_file_reads_every_format,
    write_file_errors_say_how_far_it_got,
    write_errors_carry_status_and_line_errors,
    query_modes_and_query_errors,
    closed_client_refuses_work,
);

#[derive(serde::Deserialize)]
struct Count {
    n: i64,
}

async fn count(client: &Client, measurement: &str) -> Result<i64, BoxError> {
    let result = client
        .query(format!("SELECT count(*) AS n FROM \"{measurement}\""))
        .await?;
    Ok(result.rows::<Count>()?.first().map_or(0, |c| c.n))
}

#[derive(influxdb_client_3::ToLineProtocol)]
struct Reading {
    #[influxdb(tag)]
    room: String,
    temp: f64,
    co: Option<i64>,
    #[influxdb(timestamp, precision = "s")]
    time: i64,
}

async fn writes_every_record_kind_and_reads_it_back(server: &Server) -> Result<(), BoxError> {
    let client = server.client()?;
    let m = unique("kinds");
    let now_s = 1_700_000_000i64;

    // A Point, by value and by reference; a Vec of points.
    client
        .write(
            Point::new(&m)
                .tag("kind", "point")
                .field("v", 1.0)
                .timestamp(now_s * 1_000_000_000),
        )
        .await?;
    let p = Point::new(&m)
        .tag("kind", "point_ref")
        .field("v", 2.0)
        .timestamp((now_s + 1) * 1_000_000_000);
    client.write(&p).await?;
    let many: Vec<Point> = (0..3)
        .map(|i| {
            Point::new(&m)
                .tag("kind", "vec")
                .field("v", f64::from(i))
                .timestamp((now_s + 10 + i64::from(i)) * 1_000_000_000)
        })
        .collect();
    assert_eq!(client.write(&many).await?.lines, 3);

    // Ready line protocol, as &str and as String, in seconds.
    let seconds = WriteCall::new().precision(Precision::Seconds);
    client
        .write_with(
            format!("{m},kind=str v=3 {}", now_s + 2).as_str(),
            seconds.clone(),
        )
        .await?;
    client
        .write_with(
            format!("{m},kind=string v=4 {}", now_s + 3),
            seconds.clone(),
        )
        .await?;

    // The dict form.
    let record = Record::from_json(
        &json!({"measurement": m, "tags": {"kind": "dict"}, "fields": {"v": 5.0}, "time": now_s + 4}),
    )?;
    client.write_with(record, seconds.clone()).await?;

    // A derived struct (in its own measurement, `reading`, so rename it through a Vec check).
    let readings = vec![
        Reading {
            room: "Kitchen".into(),
            temp: 21.5,
            co: Some(1),
            time: now_s,
        },
        Reading {
            room: "Office".into(),
            temp: 20.0,
            co: None,
            time: now_s + 1,
        },
    ];
    let result = client.write_with(&readings, seconds.clone()).await?;
    assert_eq!(result.lines, 2);

    // An Arrow RecordBatch with a mapping.
    let batch = RecordBatch::try_from_iter([
        (
            "kind",
            Arc::new(StringArray::from(vec!["arrow", "arrow"])) as _,
        ),
        ("v", Arc::new(Float64Array::from(vec![f64::NAN, 7.0])) as _),
        ("n", Arc::new(Int64Array::from(vec![Some(1), None])) as _),
        (
            "time",
            Arc::new(TimestampSecondArray::from(vec![now_s + 5, now_s + 6])) as _,
        ),
    ])?;
    let mapping = TableMapping::new().measurement(&m).tag_columns(["kind"]);
    let result = client
        .write(RecordBatchLines::new(&batch, &mapping))
        .await?;
    assert_eq!(result.lines, 2);
    assert_eq!(
        result.encoded.dropped_fields, 2,
        "the NaN and the null are left out and counted"
    );

    // A record with nothing left to write sends nothing and says so.
    let result = client.write(Point::new(&m).field("v", f64::NAN)).await?;
    assert_eq!(
        (
            result.lines,
            result.requests,
            result.encoded.skipped_records
        ),
        (0, 0, 1)
    );

    assert_eq!(count(&client, &m).await?, 10);
    #[derive(serde::Deserialize)]
    struct Row {
        kind: String,
        v: f64,
    }
    let rows: Vec<Row> = client
        .query(
            Query::sql(format!("SELECT kind, v FROM \"{m}\" WHERE kind = $k")).param("k", "dict"),
        )
        .await?
        .rows()?;
    assert_eq!(rows.len(), 1);
    assert_eq!((rows[0].kind.as_str(), rows[0].v), ("dict", 5.0));
    let readings = client
        .query("SELECT room, temp, co FROM reading ORDER BY room")
        .await?;
    assert!(readings.num_rows() >= 2);
    Ok(())
}

async fn per_call_options_and_default_tags(server: &Server) -> Result<(), BoxError> {
    let client = server
        .builder()
        .default_tags([("site", "north"), ("env", "test")])
        .build()?;
    let m = unique("tags");
    client
        .write_with(
            Point::new(&m).tag("env", "own").field("v", 1),
            WriteCall::new()
                .tag("batch", "b1")
                .precision(Precision::Milliseconds),
        )
        .await?;
    #[derive(serde::Deserialize)]
    struct Row {
        site: String,
        env: String,
        batch: String,
    }
    let rows: Vec<Row> = client
        .query(format!("SELECT site, env, batch FROM \"{m}\""))
        .await?
        .rows()?;
    assert_eq!(rows.len(), 1);
    assert_eq!(
        (
            rows[0].site.as_str(),
            rows[0].env.as_str(),
            rows[0].batch.as_str()
        ),
        ("north", "own", "b1")
    );

    // Another database for one call (emulator only: a real Core server allows 5 databases).
    if server.emulator().is_some() {
        client
            .write_with(
                Point::new(&m).field("v", 2),
                WriteCall::new().database("other"),
            )
            .await?;
        let other = client
            .query(Query::sql(format!("SELECT v FROM \"{m}\"")).database("other"))
            .await?;
        assert_eq!(other.num_rows(), 1);
    }
    Ok(())
}

async fn batching_writer_reports_to_callbacks(server: &Server) -> Result<(), BoxError> {
    let ok = Arc::new(AtomicU64::new(0));
    let failed = Arc::new(AtomicU64::new(0));
    let retried = Arc::new(AtomicU64::new(0));
    let (o, f, r) = (ok.clone(), failed.clone(), retried.clone());
    let options = WriteClientOptions::new()
        .write_options(
            WriteOptions::default()
                .batch_size(4)
                .flush_interval(Duration::from_millis(50))
                .retry_interval(Duration::from_millis(10))
                .max_retry_delay(Duration::from_millis(50)),
        )
        .success_callback(move |ctx, _| {
            o.fetch_add(ctx.lines as u64, Ordering::SeqCst);
        })
        .error_callback(move |ctx, _, _| {
            f.fetch_add(ctx.lines as u64, Ordering::SeqCst);
        })
        .retry_callback(move |_, _, e| {
            assert_eq!(e.status(), Some(503));
            r.fetch_add(1, Ordering::SeqCst);
        });
    let client = server.builder().write_client_options(options).build()?;
    assert!(client.is_batching());
    if let Some(emulator) = server.emulator() {
        emulator.faults().fail_writes(
            1,
            influxdb3_emulator::WriteFault::new(503, "busy")
                .retry_after(influxdb3_emulator::RetryAfter::Seconds(0)),
        );
    }
    let m = unique("batch");
    for i in 0..10i64 {
        let result = client
            .write(
                Point::new(&m)
                    .field("v", i)
                    .timestamp(1_700_000_000_000_000_000 + i),
            )
            .await?;
        assert!(result.batched);
    }
    let flushed = client.flush().await?;
    assert_eq!(flushed.accepted_lines, 10);
    assert_eq!(ok.load(Ordering::SeqCst), 10);
    if server.emulator().is_some() {
        assert_eq!(
            retried.load(Ordering::SeqCst),
            1,
            "the 503 was retried once"
        );
    }
    let closed = client.close().await?;
    assert_eq!((closed.accepted_lines, closed.failed_lines), (10, 0));
    assert_eq!(failed.load(Ordering::SeqCst), 0);
    assert_eq!(count(&server.client()?, &m).await?, 10);
    Ok(())
}

async fn write_file_reads_every_format(server: &Server) -> Result<(), BoxError> {
    let client = server.client()?;
    for (file, rows) in [
        ("home-sensor-data.csv", 26),
        ("home-sensor-data.json", 26),
        ("home-sensor-data.parquet", 26),
        ("home-sensor-data.feather", 26),
        ("home-sensor-data.orc", 26),
    ] {
        let m = unique("file");
        let progress_calls = Arc::new(AtomicU64::new(0));
        let calls = progress_calls.clone();
        let report = client
            .write_file(data_file(file))
            .measurement_name(&m)
            .tag_columns(["room"])
            .timestamp_column("time")
            .write_precision(Precision::Seconds)
            .progress(move |p| {
                assert!(p.lines_written > 0);
                calls.fetch_add(1, Ordering::SeqCst);
            })
            .await?;
        assert_eq!(report.rows_read, rows, "{file}");
        assert_eq!(report.lines_written, rows, "{file}");
        assert_eq!(report.rows_skipped, 0, "{file}");
        assert!(
            report.requests >= 1 && report.bytes > 0,
            "{file}: {report:?}"
        );
        assert!(progress_calls.load(Ordering::SeqCst) >= 1, "{file}");
        assert_eq!(count(&client, &m).await?, rows as i64, "{file}");
    }
    // The measurement column of a file is used when no name is given.
    let report = client
        .write_file(data_file("home-sensor-data-measurement.csv"))
        .tag_columns(["room"])
        .await?;
    assert!(report.lines_written > 0);
    Ok(())
}

async fn write_file_errors_say_how_far_it_got(server: &Server) -> Result<(), BoxError> {
    let client = server.client()?;
    let err = client
        .write_file(data_file("no-such-file.csv"))
        .measurement_name("x")
        .await
        .err();
    match err {
        Some(Error::WriteFile {
            rows_written: 0,
            ref source,
            ..
        }) => {
            assert!(matches!(**source, Error::Ingest(_)), "{source:?}");
        }
        other => panic!("expected a WriteFile error, got {other:?}"),
    }
    let err = client
        .write_file(data_file("home-sensor-data.csv"))
        .measurement_name("x")
        .tag_columns(["no_such_column"])
        .await
        .err()
        .ok_or("a missing tag column must fail")?;
    let text = err.to_string();
    assert!(
        text.contains("no_such_column") && text.contains("0 rows"),
        "{text}"
    );
    Ok(())
}

async fn write_errors_carry_status_and_line_errors(server: &Server) -> Result<(), BoxError> {
    // A wrong token: 401, and the token is not in the error.
    let bad = Client::builder(server.host())
        .token("wrong-token-value")
        .database(server.database())
        .build()?;
    let err = bad
        .write("m v=1")
        .await
        .err()
        .ok_or("a wrong token must fail")?;
    assert_eq!(err.status(), Some(401), "{err}");
    assert!(!format!("{err} {err:?} {bad:?}").contains("wrong-token-value"));
    let err = bad
        .query("SELECT 1")
        .await
        .err()
        .ok_or("a wrong token must fail")?;
    assert_eq!(
        err.grpc_code(),
        Some(influxdb_client_3::Code::Unauthenticated),
        "{err}"
    );

    // A bad line on the v3 endpoint with partial writes off: 400 with the line named.
    let client = server
        .builder()
        .use_v2_api(false)
        .accept_partial(false)
        .build()?;
    let m = unique("bad");
    let err = client
        .write(format!("{m} v=1\n{m} v=\n"))
        .await
        .err()
        .ok_or("an invalid line must fail")?;
    assert_eq!(err.status(), Some(400), "{err}");
    let lines = err.line_errors();
    assert_eq!(lines.len(), 1, "{err}");
    assert_eq!(lines[0].line_number(), 2);

    // Client-side checks fail before anything is sent.
    let err = server
        .builder()
        .no_sync(true)
        .build()
        .err()
        .ok_or("no_sync needs v3")?;
    assert!(matches!(err, Error::Config(_)) && err.to_string().contains("no_sync"));
    let err = Client::builder(server.host())
        .build()?
        .write("m v=1")
        .await
        .err();
    assert!(
        matches!(err, Some(Error::Config(ref s)) if s.contains("database")),
        "{err:?}"
    );
    let err = client
        .write(Point::new("m").tag("a", "1").tag("a", "2").field("v", 1))
        .await
        .err();
    assert!(matches!(err, Some(Error::Encode(_))), "{err:?}");
    Ok(())
}

async fn query_modes_and_query_errors(server: &Server) -> Result<(), BoxError> {
    use futures::TryStreamExt;
    let client = server.client()?;
    let m = unique("q");
    let points: Vec<Point> = (0..5)
        .map(|i| Point::new(&m).tag("room", "r").field("v", i))
        .collect();
    client.write(points).await?;

    let q = format!("SELECT * FROM \"{m}\"");
    let all = client.query(q.as_str()).await?;
    assert_eq!(all.num_rows(), 5);
    let schema = client.query_schema(q.as_str()).await?;
    assert_eq!(schema.fields().len(), all.schema().fields().len());
    let batches: Vec<RecordBatch> = client.query_stream(q.as_str()).await?.try_collect().await?;
    assert_eq!(batches.iter().map(RecordBatch::num_rows).sum::<usize>(), 5);
    let chunks: Vec<_> = client.query_chunks(q.as_str()).await?.try_collect().await?;
    assert_eq!(chunks.iter().map(|c| c.data.num_rows()).sum::<usize>(), 5);
    let influxql = client
        .query(Query::influxql(format!(
            "SELECT v FROM \"{m}\" WHERE v >= 3"
        )))
        .await?;
    assert_eq!(influxql.num_rows(), 2);

    let err = client
        .query("SELECT * FROM no_such_table_here")
        .await
        .err()
        .ok_or("unknown table")?;
    assert_eq!(
        err.grpc_code(),
        Some(influxdb_client_3::Code::InvalidArgument),
        "{err}"
    );
    let err = client
        .query(Query::sql("SELECT 1").database("no_such_database"))
        .await
        .err()
        .ok_or("unknown db")?;
    assert!(err.to_string().contains("not found"), "{err}");
    Ok(())
}

async fn closed_client_refuses_work(server: &Server) -> Result<(), BoxError> {
    let client = server.client()?;
    let clone = client.clone();
    client.close().await?;
    assert!(matches!(clone.write("m v=1").await, Err(Error::Closed)));
    assert!(matches!(clone.query("SELECT 1").await, Err(Error::Closed)));
    // A second close is not an error.
    client.close().await?;
    Ok(())
}

// ---- Tests that do not fit the async suite. ----

/// The blocking client, used from plain threads.
#[test]
fn blocking_client_writes_queries_and_writes_files() -> Result<(), BoxError> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()?;
    let server = runtime.block_on(Server::start_emulator())?;
    let client = influxdb_client_3::blocking::Client::builder(server.host())
        .token(server.token())
        .database(server.database())
        .build()?;
    let m = unique("blocking");
    client.write(Point::new(&m).tag("room", "a").field("v", 1.5))?;
    client.write_with(
        format!("{m},room=b v=2.5 1700000000"),
        WriteCall::new().precision(Precision::Seconds),
    )?;
    let result = client.query(format!("SELECT room, v FROM \"{m}\" ORDER BY room"))?;
    assert_eq!(result.num_rows(), 2);
    let rows: usize = client
        .query_stream(format!("SELECT * FROM \"{m}\""))?
        .map(|b| b.map(|b| b.num_rows()))
        .sum::<Result<usize, _>>()?;
    assert_eq!(rows, 2);
    let report = client
        .write_file(data_file("home-sensor-data.parquet"))
        .measurement_name(&m)
        .tag_columns(["room"])
        .send()?;
    assert_eq!(report.rows_read, 26);

    // Batching from a blocking client: the writer runs on the client's own runtime.
    let batching = influxdb_client_3::blocking::Client::builder(server.host())
        .token(server.token())
        .database(server.database())
        .write_client_options(WriteClientOptions::new().write_options(WriteOptions::default()))
        .build()?;
    let b = unique("blocking_batch");
    for i in 0..20i64 {
        batching.write(Point::new(&b).field("v", i).timestamp(i))?;
    }
    let summary = batching.close()?;
    assert_eq!(summary.accepted_lines, 20);
    assert_eq!(
        client.query(format!("SELECT * FROM \"{b}\""))?.num_rows(),
        20
    );
    client.close()?;
    drop(server);
    Ok(())
}

#[tokio::test]
async fn blocking_client_refuses_to_run_inside_a_runtime() {
    let err = influxdb_client_3::blocking::Client::builder("http://localhost:8181")
        .build()
        .err();
    assert!(
        matches!(err, Some(Error::Config(ref s)) if s.contains("async runtime")),
        "{err:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connection_string_client_writes_and_queries() -> Result<(), BoxError> {
    let server = Server::start_emulator().await?;
    let client = Client::from_connection_string(&format!(
        "{}?token={}&database=cs&precision=s&writeUseV2Api=false&writeNoSync=true",
        server.host(),
        server.token()
    ))?;
    assert!(!format!("{client:?}").contains(server.token()));
    client.write("cs v=1 1700000000").await?;
    let rows = client.query("SELECT time FROM cs").await?;
    assert_eq!(rows.num_rows(), 1);
    let time = format!("{rows}");
    assert!(
        time.contains("2023-11-14T22:13:20"),
        "the line was written in seconds: {time}"
    );
    Ok(())
}

/// Runs the `from_env_child` test of this binary in a child process with `vars` set (the
/// process environment cannot be changed safely inside this one).
async fn run_child(vars: Vec<(&'static str, String)>) -> Result<(bool, String), BoxError> {
    let exe = std::env::current_exe()?;
    let output = tokio::task::spawn_blocking(move || {
        std::process::Command::new(exe)
            .args(["--exact", "from_env_child", "--ignored", "--nocapture"])
            .env_remove("INFLUX_HOST")
            .envs(vars)
            .output()
    })
    .await??;
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    Ok((output.status.success(), text))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn from_env_reads_the_environment() -> Result<(), BoxError> {
    let server = Server::start_emulator().await?;
    let (ok, text) = run_child(vec![
        ("INFLUX_HOST", server.host().to_owned()),
        ("INFLUX_TOKEN", server.token().to_owned()),
        ("INFLUX_DATABASE", "fromenv".to_owned()),
        ("INFLUX_PRECISION", "ms".to_owned()),
        ("INFLUX_WRITE_TIMEOUT", "5s".to_owned()),
        ("INFLUX_QUERY_TIMEOUT", "10s".to_owned()),
        ("INFLUX_GZIP_THRESHOLD", "1".to_owned()),
    ])
    .await?;
    assert!(ok && text.contains("1 passed"), "child failed: {text}");
    assert_eq!(
        server
            .emulator()
            .map(|e| e.stats().lines_accepted("fromenv")),
        Some(1)
    );

    // A bad value is an error naming the variable.
    let (ok, text) = run_child(vec![
        ("INFLUX_HOST", server.host().to_owned()),
        ("INFLUX_WRITE_TIMEOUT", "soon".to_owned()),
    ])
    .await?;
    assert!(!ok && text.contains("INFLUX_WRITE_TIMEOUT"), "{text}");
    Ok(())
}

/// Not run on its own: `from_env_reads_the_environment` runs it with the variables set.
#[tokio::test]
#[ignore = "run by from_env_reads_the_environment in a child process"]
async fn from_env_child() -> Result<(), BoxError> {
    let client = Client::from_env()?;
    assert_eq!(client.database(), Some("fromenv"));
    client.write("env v=1 1700000000000").await?;
    assert_eq!(client.query("SELECT v FROM env").await?.num_rows(), 1);
    Ok(())
}
