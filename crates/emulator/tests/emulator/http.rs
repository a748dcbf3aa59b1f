//! The emulator's HTTP API over real sockets, with a plain hyper client.

use std::io::Write as _;
use std::time::{Duration, Instant, SystemTime};

use arrow_array::RecordBatch;
use bytes::Bytes;
use http::{HeaderMap, Method, Request};
use http_body_util::{BodyExt as _, Full};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use influxdb3_emulator::{Emulator, EmulatorHandle, RetryAfter, WriteFault};

type HttpClient = Client<hyper_util::client::legacy::connect::HttpConnector, Full<Bytes>>;

fn client() -> HttpClient {
    Client::builder(TokioExecutor::new()).build_http()
}

/// A response, read in full.
#[derive(Debug)]
struct Reply {
    status: u16,
    headers: HeaderMap,
    body: String,
    raw: Bytes,
}

impl Reply {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body)
            .unwrap_or_else(|e| panic!("body {:?} is not JSON: {e}", self.body))
    }
}

async fn send_with(
    client: &HttpClient,
    method: Method,
    url: &str,
    headers: &[(&str, &str)],
    body: impl Into<Bytes>,
) -> Result<Reply, hyper_util::client::legacy::Error> {
    let mut request = Request::builder().method(method).uri(url);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let request = request.body(Full::new(body.into())).unwrap();
    let response = client.request(request).await?;
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let body = response.into_body().collect().await.unwrap().to_bytes();
    Ok(Reply {
        status,
        headers,
        body: String::from_utf8_lossy(&body).into_owned(),
        raw: body,
    })
}

async fn send(
    method: Method,
    url: &str,
    headers: &[(&str, &str)],
    body: impl Into<Bytes>,
) -> Reply {
    send_with(&client(), method, url, headers, body)
        .await
        .unwrap()
}

async fn post(url: &str, body: impl Into<Bytes>) -> Reply {
    send(Method::POST, url, &[], body).await
}

async fn get(url: &str) -> Reply {
    send(Method::GET, url, &[], Bytes::new()).await
}

async fn start() -> EmulatorHandle {
    Emulator::builder().start().await.unwrap()
}

/// Runs SQL over HTTP and returns the JSON rows.
async fn sql(emulator: &EmulatorHandle, db: &str, q: &str) -> serde_json::Value {
    let body = serde_json::json!({"db": db, "q": q}).to_string();
    let reply = post(&format!("{}/api/v3/query_sql", emulator.url()), body).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    reply.json()
}

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    encoder.write_all(data).unwrap();
    encoder.finish().unwrap()
}

/// 3.6.0 answers 401 with an empty body.
const UNAUTHENTICATED: &str = "";
const MALFORMED: &str = "{\"error\": \"Authorization header was malformed, the request was not in the form of 'Authorization: <auth-scheme> <token>', supported auth-schemes are Bearer, Token and Basic\"}";

#[tokio::test]
async fn health_ping_options_and_unknown_paths() {
    let emulator = start().await;
    let url = emulator.url();
    assert!(url.starts_with("http://127.0.0.1:"));

    let health = get(&format!("{url}/health")).await;
    assert_eq!((health.status, health.body.as_str()), (200, "OK"));
    // 3.6.0 sends no Content-Type on /health.
    assert_eq!(health.header("content-type"), None);
    assert_eq!(health.header("access-control-allow-origin"), Some("*"));
    // 3.6.0 sends no cluster-uuid header.
    assert_eq!(health.header("cluster-uuid"), None);

    let ping = get(&format!("{url}/ping")).await;
    assert_eq!(ping.status, 200);
    assert_eq!(ping.header("content-type"), Some("application/json"));
    assert_eq!(ping.header("x-influxdb-build"), Some("Core"));
    assert_eq!(
        ping.header("x-influxdb-version"),
        Some(influxdb3_emulator::VERSION)
    );
    assert_eq!(ping.header("request-id"), ping.header("x-request-id"));
    assert!(ping.header("request-id").is_some());
    let body = ping.json();
    assert_eq!(body["version"], "3.6.0");
    assert_eq!(body["process_id"].as_str().map(str::len), Some(36));
    // 3.6.0's keys, in its order, and no product_name.
    assert!(
        ping.body
            .starts_with("{\"version\":\"3.6.0\",\"revision\":")
    );
    assert!(!ping.body.contains("product_name"));

    let options = send(
        Method::OPTIONS,
        &format!("{url}/anything"),
        &[],
        Bytes::new(),
    )
    .await;
    assert_eq!(options.status, 204);

    let missing = get(&format!("{url}/nope")).await;
    assert_eq!((missing.status, missing.body.as_str()), (404, "not found"));
    assert_eq!(missing.header("content-type"), None);
    assert_eq!(missing.header("access-control-allow-origin"), Some("*"));
    // A known path with the wrong method is also 404.
    let wrong = get(&format!("{url}/api/v3/write_lp?db=x")).await;
    assert_eq!((wrong.status, wrong.body.as_str()), (404, "not found"));
}

#[tokio::test]
async fn authentication() {
    let emulator = Emulator::builder().token("s3cret").start().await.unwrap();
    let url = emulator.url();
    let write = format!("{url}/api/v3/write_lp?db=db");

    for (headers, status, body) in [
        (vec![], 401, UNAUTHENTICATED),
        (
            vec![("authorization", "Bearer wrong")],
            401,
            UNAUTHENTICATED,
        ),
        (vec![("authorization", "bearer s3cret")], 400, MALFORMED),
        (
            vec![("authorization", "Bearer s3cret extra")],
            400,
            MALFORMED,
        ),
        (vec![("authorization", "Basic %%%")], 400, MALFORMED),
        (vec![("authorization", "Bearer s3cret")], 204, ""),
        (vec![("authorization", "Token s3cret")], 204, ""),
        // base64("user:s3cret")
        (vec![("authorization", "Basic dXNlcjpzM2NyZXQ=")], 204, ""),
    ] {
        let reply = send(Method::POST, &write, &headers, "m f=1").await;
        assert_eq!(
            (reply.status, reply.body.as_str()),
            (status, body),
            "{headers:?}"
        );
        if status != 204 {
            assert_eq!(reply.header("content-type"), None);
        }
    }
    // Health, ping and unknown paths need the token too.
    assert_eq!(get(&format!("{url}/health")).await.status, 401);
    assert_eq!(get(&format!("{url}/ping")).await.status, 401);
    assert_eq!(get(&format!("{url}/nope")).await.status, 401);
    // OPTIONS does not.
    let options = send(Method::OPTIONS, &format!("{url}/health"), &[], Bytes::new()).await;
    assert_eq!(options.status, 204);
    // `p=` on /write wins over the header; it is not read on v3.
    let v1 = send(
        Method::POST,
        &format!("{url}/write?db=db&p=s3cret"),
        &[("authorization", "Bearer wrong")],
        "m f=2",
    )
    .await;
    assert_eq!(v1.status, 204, "{}", v1.body);
    assert_eq!(
        post(&format!("{write}&p=s3cret"), "m f=3").await.status,
        401
    );
    // The v2 endpoint uses the same 401 body.
    let v2 = post(&format!("{url}/api/v2/write?bucket=db"), "m f=4").await;
    assert_eq!((v2.status, v2.body.as_str()), (401, UNAUTHENTICATED));

    // Without a configured token anything goes, but a malformed header is still 400.
    let open = start().await;
    let open_write = format!("{}/api/v3/write_lp?db=db", open.url());
    assert_eq!(post(&open_write, "m f=1").await.status, 204);
    let any = send(
        Method::POST,
        &open_write,
        &[("authorization", "Token any")],
        "m f=1",
    )
    .await;
    assert_eq!(any.status, 204);
    let bad = send(
        Method::POST,
        &open_write,
        &[("authorization", "Token")],
        "m f=1",
    )
    .await;
    assert_eq!((bad.status, bad.body.as_str()), (400, MALFORMED));
}

#[tokio::test]
async fn write_then_query_in_every_format() {
    let emulator = start().await;
    let url = emulator.url();
    let body =
        "cpu,host=a usage=0.5,count=3i 1000000000\ncpu,host=b usage=1.5,up=true 2000000000\n";
    let reply = post(&format!("{url}/api/v3/write_lp?db=db&precision=ns"), body).await;
    assert_eq!((reply.status, reply.body.as_str()), (204, ""));

    let q = "SELECT host, usage, count, up, time FROM cpu ORDER BY time";
    let json = sql(&emulator, "db", q).await;
    assert_eq!(
        json,
        serde_json::json!([
            {"host": "a", "usage": 0.5, "count": 3, "time": "1970-01-01T00:00:01"},
            {"host": "b", "usage": 1.5, "up": true, "time": "1970-01-01T00:00:02"},
        ])
    );

    let encoded_q = "SELECT%20host%2C%20usage%20FROM%20cpu%20ORDER%20BY%20time";
    let jsonl = get(&format!(
        "{url}/api/v3/query_sql?db=db&q={encoded_q}&format=jsonl"
    ))
    .await;
    assert_eq!(jsonl.status, 200);
    assert_eq!(jsonl.header("content-type"), Some("application/jsonl"));
    assert_eq!(
        jsonl.body,
        "{\"host\":\"a\",\"usage\":0.5}\n{\"host\":\"b\",\"usage\":1.5}\n"
    );

    let csv = get(&format!(
        "{url}/api/v3/query_sql?db=db&q={encoded_q}&format=csv"
    ))
    .await;
    assert_eq!(csv.header("content-type"), Some("text/csv"));
    assert_eq!(csv.body, "host,usage\na,0.5\nb,1.5\n");

    let pretty = get(&format!(
        "{url}/api/v3/query_sql?db=db&q={encoded_q}&format=pretty"
    ))
    .await;
    assert_eq!(
        pretty.header("content-type"),
        Some("text/plain; charset=utf-8")
    );
    assert!(pretty.body.contains("| host | usage |"), "{}", pretty.body);

    let parquet = get(&format!(
        "{url}/api/v3/query_sql?db=db&q={encoded_q}&format=parquet"
    ))
    .await;
    assert_eq!(parquet.status, 200, "{}", parquet.body);
    assert_eq!(
        parquet.header("content-type"),
        Some("application/vnd.apache.parquet")
    );
    let batches: Vec<RecordBatch> =
        parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(parquet.raw)
            .unwrap()
            .build()
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
    let table = arrow_cast::pretty::pretty_format_batches(&batches)
        .unwrap()
        .to_string();
    assert_eq!(
        table,
        "+------+-------+\n| host | usage |\n+------+-------+\n| a    | 0.5   |\n| b    | 1.5   |\n+------+-------+"
    );

    // The Accept header picks the format when `format` is absent, and is always checked.
    let by_accept = send(
        Method::GET,
        &format!("{url}/api/v3/query_sql?db=db&q={encoded_q}"),
        &[("accept", "text/csv")],
        Bytes::new(),
    )
    .await;
    assert_eq!(by_accept.body, "host,usage\na,0.5\nb,1.5\n");
    let bad_accept = send(
        Method::GET,
        &format!("{url}/api/v3/query_sql?db=db&q={encoded_q}&format=json"),
        &[("accept", "application/json; charset=utf-8")],
        Bytes::new(),
    )
    .await;
    assert_eq!(
        (bad_accept.status, bad_accept.body.as_str()),
        (500, "invalid mime type (application/json; charset=utf-8)")
    );

    // Empty results.
    let none = "SELECT%20host%20FROM%20cpu%20WHERE%20host%3D%27zzz%27";
    assert_eq!(
        get(&format!("{url}/api/v3/query_sql?db=db&q={none}"))
            .await
            .body,
        "[]"
    );
    assert_eq!(
        get(&format!("{url}/api/v3/query_sql?db=db&q={none}&format=csv"))
            .await
            .body,
        ""
    );
    assert_eq!(
        get(&format!(
            "{url}/api/v3/query_sql?db=db&q={none}&format=jsonl"
        ))
        .await
        .body,
        ""
    );
    let empty_parquet = get(&format!(
        "{url}/api/v3/query_sql?db=db&q={none}&format=parquet"
    ))
    .await;
    assert_eq!(
        (empty_parquet.status, empty_parquet.body.as_str()),
        (200, "")
    );

    // Parameters, as JSON in GET and as an object in POST.
    let params = "%7B%22h%22%3A%22b%22%7D";
    let by_param = get(&format!(
        "{url}/api/v3/query_sql?db=db&q=SELECT%20usage%20FROM%20cpu%20WHERE%20host%3D%24h&params={params}"
    ))
    .await;
    assert_eq!(by_param.body, "[{\"usage\":1.5}]");
    let post_param = post(
        &format!("{url}/api/v3/query_sql"),
        r#"{"db":"db","q":"SELECT usage FROM cpu WHERE host=$h","params":{"h":"a"},"format":"jsonl"}"#,
    )
    .await;
    assert_eq!(post_param.body, "{\"usage\":0.5}\n");

    // InfluxQL over HTTP.
    let influxql = post(
        &format!("{url}/api/v3/query_influxql"),
        r#"{"db":"db","q":"SELECT usage FROM cpu"}"#,
    )
    .await;
    assert_eq!(influxql.status, 200, "{}", influxql.body);
    assert_eq!(influxql.json()[0]["iox::measurement"], "cpu");
    let databases = post(
        &format!("{url}/api/v3/query_influxql"),
        r#"{"q":"SHOW DATABASES","format":"jsonl"}"#,
    )
    .await;
    // One JSON line per database (the exact shape is the corpus's `influxql` cases).
    assert_eq!(databases.status, 200, "{}", databases.body);
    let lines: Vec<&str> = databases.body.lines().collect();
    assert_eq!(lines.len(), 2, "{}", databases.body);
    assert!(lines[0].contains("\"_internal\""), "{}", databases.body);
    assert!(lines[1].contains("\"db\""), "{}", databases.body);
    assert_eq!(emulator.stats().queries, 13);
}

#[tokio::test]
async fn query_errors() {
    let emulator = start().await;
    let url = emulator.url();
    post(&format!("{url}/api/v3/write_lp?db=db"), "cpu v=1").await;

    let no_query = get(&format!("{url}/api/v3/query_sql")).await;
    assert_eq!(
        (no_query.status, no_query.body.as_str()),
        (400, "missing query parameters 'db' and 'q'")
    );
    let no_q = get(&format!("{url}/api/v3/query_sql?db=db")).await;
    assert_eq!(
        (no_q.status, no_q.body.as_str()),
        (400, "serde error: missing field `q`")
    );
    let bad_json = post(&format!("{url}/api/v3/query_sql"), "{").await;
    assert_eq!(bad_json.status, 400);
    assert!(
        bad_json.body.starts_with("serde json error: "),
        "{}",
        bad_json.body
    );
    let bad_params = get(&format!(
        "{url}/api/v3/query_sql?db=db&q=SELECT%201&params=%5B"
    ))
    .await;
    assert!(
        bad_params.body.starts_with("serde json error: "),
        "{}",
        bad_params.body
    );
    let unknown_db = post(
        &format!("{url}/api/v3/query_sql"),
        r#"{"db":"nope","q":"SELECT 1"}"#,
    )
    .await;
    assert_eq!(
        (unknown_db.status, unknown_db.body.as_str()),
        (404, r#"{"error":"query error: database not found: nope"}"#)
    );
    assert_eq!(unknown_db.header("content-type"), None);
    let unknown_table = post(
        &format!("{url}/api/v3/query_sql"),
        r#"{"db":"db","q":"SELECT * FROM nope"}"#,
    )
    .await;
    // As the server: planning errors are 500 with the query error prefix.
    assert_eq!(unknown_table.status, 500);
    assert!(
        unknown_table.body.starts_with(
            "query error: error while planning query: Error during planning: table 'public.iox.nope' not found"
        ),
        "{}",
        unknown_table.body
    );
    let influxql_no_db = post(
        &format!("{url}/api/v3/query_influxql"),
        r#"{"q":"SELECT v FROM cpu"}"#,
    )
    .await;
    assert_eq!(
        (influxql_no_db.status, influxql_no_db.body.as_str()),
        (
            400,
            "must specify a 'db' parameter, or provide the database in the InfluxQL query"
        )
    );
}

/// Queries whose expression trees go deep: what used to overflow a 2 MiB stack (and abort the
/// process the emulator runs in) now runs on the query thread's large stack, InfluxQL `OR`
/// chains no longer hit DataFusion's parser nesting limit, and past the operator limit the
/// answer is a 400 that says so. The emulator serves queries afterwards.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deep_and_oversized_queries() {
    let emulator = start().await;
    let url = emulator.url();
    let write = post(
        &format!("{url}/api/v3/write_lp?db=db"),
        "m,room=kitchen v=1i 1\nm,room=hall v=2i 2\n",
    )
    .await;
    assert_eq!(write.status, 204, "{}", write.body);

    // 600 additions: DataFusion clones and evaluates the tree recursively.
    let chain = format!("SELECT v{} AS x FROM m ORDER BY time", " + 1".repeat(600));
    assert_eq!(
        sql(&emulator, "db", &chain).await,
        serde_json::json!([{"x": 601}, {"x": 602}])
    );
    let rooms = (0..300)
        .map(|i| format!("room = 'r{i}'"))
        .chain(["room = 'hall'".to_owned()])
        .collect::<Vec<_>>()
        .join(" OR ");
    assert_eq!(
        sql(&emulator, "db", &format!("SELECT v FROM m WHERE {rooms}")).await,
        serde_json::json!([{"v": 2}])
    );
    let influxql = serde_json::json!({
        "db": "db",
        "q": format!("SELECT v FROM m WHERE {rooms}"),
    });
    let reply = post(
        &format!("{url}/api/v3/query_influxql"),
        influxql.to_string(),
    )
    .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(reply.json()[0]["v"], 2, "{}", reply.body);

    let deep_parens = format!(
        "SELECT {}v{} FROM m",
        "(".repeat(100_000),
        ")".repeat(100_000)
    );
    let long_chain = format!("SELECT v FROM m WHERE {}", ["v = 1"; 20_000].join(" OR "));
    for (endpoint, q, language) in [
        ("query_sql", &long_chain, "SQL"),
        ("query_influxql", &deep_parens, "InfluxQL"),
        ("query_influxql", &long_chain, "InfluxQL"),
    ] {
        let body = serde_json::json!({"db": "db", "q": q}).to_string();
        let reply = post(&format!("{url}/api/v3/{endpoint}"), body).await;
        assert_eq!(reply.status, 400, "{endpoint}: {}", reply.body);
        assert!(
            reply
                .body
                .starts_with(&format!("the emulator does not run {language} with "))
                && reply.body.contains("(the limit is 10000)"),
            "{endpoint}: {}",
            reply.body
        );
    }
    // Deep parentheses in SQL stop at DataFusion's own nesting limit.
    let body = serde_json::json!({"db": "db", "q": format!("SELECT {}v{} FROM m", "(".repeat(60), ")".repeat(60))});
    let reply = post(&format!("{url}/api/v3/query_sql"), body.to_string()).await;
    assert_eq!(reply.status, 500, "{}", reply.body);
    assert!(
        reply.body.contains("RecursionLimitExceeded"),
        "{}",
        reply.body
    );

    assert_eq!(
        sql(&emulator, "db", "SELECT count(*) AS n FROM m").await,
        serde_json::json!([{"n": 2}])
    );
}

#[tokio::test]
async fn write_parameters() {
    let emulator = start().await;
    let url = emulator.url();
    let v3 = |q: &str| format!("{url}/api/v3/write_lp{q}");

    for precision in [
        "auto",
        "second",
        "s",
        "millisecond",
        "ms",
        "microsecond",
        "us",
        "u",
        "nanosecond",
        "ns",
        "n",
    ] {
        let reply = post(&v3(&format!("?db=p&precision={precision}")), "m f=1 1").await;
        assert_eq!(reply.status, 204, "{precision}: {}", reply.body);
    }
    for precision in ["us", "ms", "s", "ns", "n", "u"] {
        let v2 = post(
            &format!("{url}/api/v2/write?bucket=p&precision={precision}"),
            "m f=1 1",
        )
        .await;
        assert_eq!(v2.status, 204, "{precision}: {}", v2.body);
        let v1 = post(
            &format!("{url}/write?db=p&precision={precision}"),
            "m f=1 1",
        )
        .await;
        assert_eq!(v1.status, 204, "{precision}: {}", v1.body);
    }
    let upper = post(&v3("?db=p&precision=NS"), "m f=1").await;
    assert_eq!(upper.status, 400);
    assert!(
        upper.body.starts_with("serde error: unknown variant `NS`"),
        "{}",
        upper.body
    );
    assert_eq!(upper.header("content-type"), None);
    for bad in ["µs", "h", "m", ""] {
        let encoded = url::form_urlencoded::byte_serialize(bad.as_bytes()).collect::<String>();
        assert_eq!(
            post(&v3(&format!("?db=p&precision={encoded}")), "m f=1")
                .await
                .status,
            400,
            "{bad}"
        );
    }
    let v2_auto = post(
        &format!("{url}/api/v2/write?bucket=p&precision=auto"),
        "m f=1",
    )
    .await;
    assert_eq!(v2_auto.status, 400);
    assert!(
        v2_auto
            .body
            .starts_with("{\"code\":\"invalid\",\"message\":\"failed to deserialize org/bucket/precision in request: unknown variant `auto`"),
        "{}",
        v2_auto.body
    );
    let v1_auto = post(&format!("{url}/write?db=p&precision=auto"), "m f=1").await;
    assert_eq!(v1_auto.status, 400);
    assert!(
        v1_auto.body.starts_with(
            "{\"error\":\"failed to deserialize db/rp/precision in request: unknown variant `auto`"
        ),
        "{}",
        v1_auto.body
    );

    for flag in ["1", "True", ""] {
        let reply = post(&v3(&format!("?db=p&accept_partial={flag}")), "m f=1").await;
        assert_eq!(
            (reply.status, reply.body.as_str()),
            (
                400,
                "serde error: provided string was not `true` or `false`"
            ),
            "{flag}"
        );
    }
    assert_eq!(
        post(&v3("?db=p&no_sync=true&accept_partial=false"), "m f=1")
            .await
            .status,
        204
    );
    let repeated = post(&v3("?db=a&db=b"), "m f=1").await;
    assert_eq!(
        (repeated.status, repeated.body.as_str()),
        (400, "serde error: duplicate field `db`")
    );
    let no_query = post(&v3(""), "m f=1").await;
    assert_eq!(
        (no_query.status, no_query.body.as_str()),
        (400, "missing query parameter 'db'")
    );
    let no_db = post(&v3("?precision=s"), "m f=1").await;
    assert_eq!(
        (no_db.status, no_db.body.as_str()),
        (400, "serde error: missing field `db`")
    );
    assert_eq!(post(&v3("?db=p&unknown=1"), "m f=1").await.status, 204);

    let v2_none = post(&format!("{url}/api/v2/write"), "m f=1").await;
    assert_eq!(
        v2_none.body,
        r#"{"code":"invalid","message":"no org/bucket destination provided"}"#
    );
    let v2_empty = post(&format!("{url}/api/v2/write?bucket=&org=x"), "m f=1").await;
    assert_eq!(
        v2_empty.body,
        r#"{"code":"invalid","message":"missing bucket value"}"#
    );
    let v1_none = post(&format!("{url}/write"), "m f=1").await;
    assert_eq!(
        (v1_none.status, v1_none.body.as_str()),
        (400, r#"{"error":"no db destination provided"}"#)
    );

    // v1 `rp`: default names keep the database, others make `db/rp`.
    for rp in ["autogen", "DEFAULT", "''", ""] {
        assert_eq!(
            post(&format!("{url}/write?db=rp&rp={rp}"), "m f=1")
                .await
                .status,
            204
        );
    }
    assert_eq!(
        post(&format!("{url}/write?db=rp&rp=Weekly"), "m f=1")
            .await
            .status,
        204
    );
    assert_eq!(
        sql(&emulator, "rp/weekly", "SELECT f FROM m").await,
        serde_json::json!([{"f": 1.0}])
    );
}

#[tokio::test]
async fn database_names() {
    let emulator = start().await;
    let url = emulator.url();
    let invalid = "invalid character in database or rp name: must be ASCII, containing only letters, numbers, underscores, or hyphens";
    for (name, message) in [
        ("_db", "db name did not start with a number or letter"),
        ("a%20b", invalid),
        (
            "a/b/c",
            "db name with invalid retention policy, if providing a retention policy name, must be of form '<db_name>/<rp_name>'",
        ),
    ] {
        let v3 = post(&format!("{url}/api/v3/write_lp?db={name}"), "m f=1").await;
        assert_eq!(v3.status, 400);
        assert_eq!(v3.json(), serde_json::json!({"error": message}), "{name}");
        if name != "a%20b" {
            let v2 = post(&format!("{url}/api/v2/write?bucket={name}"), "m f=1").await;
            assert_eq!(
                v2.json(),
                serde_json::json!({"code": "invalid", "message": message}),
                "{name}"
            );
        }
    }
    // v1 and v2 check the IOx namespace rules first.
    let v2 = post(&format!("{url}/api/v2/write?bucket=a%20b"), "m f=1").await;
    assert_eq!(
        v2.body,
        r#"{"code":"invalid","message":"namespace name 'a b' contains invalid character, character number 1 is not whitelisted"}"#
    );
    let empty = post(&format!("{url}/api/v3/write_lp?db="), "m f=1").await;
    assert_eq!(empty.body, r#"{"error":"db name cannot be empty"}"#);
    let long = "a".repeat(65);
    let too_long = post(&format!("{url}/api/v3/write_lp?db={long}"), "m f=1").await;
    assert_eq!(too_long.body, r#"{"error":"db name too long: max 64"}"#);
    // v1/v2 also apply the 64-character namespace rule.
    let v2_long = post(
        &format!("{url}/api/v2/write?bucket={}", "a".repeat(65)),
        "m f=1",
    )
    .await;
    assert_eq!(v2_long.status, 400);
}

#[tokio::test]
async fn bodies_gzip_utf8_and_size_limits() {
    let emulator = Emulator::builder()
        .max_request_size(1000)
        .start()
        .await
        .unwrap();
    let url = emulator.url();
    let v3 = format!("{url}/api/v3/write_lp?db=db");

    let gz = send(
        Method::POST,
        &v3,
        &[("content-encoding", "gzip")],
        gzip(b"m f=1 1\n"),
    )
    .await;
    assert_eq!(gz.status, 204, "{}", gz.body);
    let mut multi = gzip(b"m f=2 2\n");
    multi.extend(gzip(b"m f=3 3\n"));
    let multi = send(Method::POST, &v3, &[("content-encoding", "gzip")], multi).await;
    assert_eq!(multi.status, 204, "{}", multi.body);
    let identity = send(
        Method::POST,
        &v3,
        &[("content-encoding", "identity")],
        "m f=4 4",
    )
    .await;
    assert_eq!(identity.status, 204);
    assert_eq!(
        sql(&emulator, "db", "SELECT count(*) AS n FROM m").await,
        serde_json::json!([{"n": 4}])
    );

    let corrupt = send(
        Method::POST,
        &v3,
        &[("content-encoding", "gzip")],
        "not gzip",
    )
    .await;
    assert_eq!(
        corrupt.status, 500,
        "3.6.0 answers a corrupt gzip body with 500"
    );
    assert!(
        corrupt.body.starts_with("error decoding gzip stream: "),
        "{}",
        corrupt.body
    );
    let unknown = send(Method::POST, &v3, &[("content-encoding", "GZIP")], "m f=1").await;
    assert_eq!(
        (unknown.status, unknown.body.as_str()),
        (400, "unacceptable content-encoding: GZIP")
    );
    let not_utf8 = post(&v3, &b"m f=\"\xff\""[..]).await;
    assert_eq!(not_utf8.status, 500, "3.6.0 answers invalid UTF-8 with 500");
    assert!(
        not_utf8
            .body
            .starts_with("body content is not valid utf8: "),
        "{}",
        not_utf8.body
    );

    let big = "m f=1\n".repeat(200); // 1200 bytes
    let raw = post(&v3, big.clone()).await;
    // 3.6.0 answers an over-size body on v3 (and v1) with 500, on v2 with 413.
    assert_eq!(
        (raw.status, raw.body.as_str()),
        (500, "max request size (1000 bytes) exceeded")
    );
    let bomb = send(
        Method::POST,
        &v3,
        &[("content-encoding", "gzip")],
        gzip(big.as_bytes()),
    )
    .await;
    assert_eq!(
        (bomb.status, bomb.body.as_str()),
        (500, "max request size (1000 bytes) exceeded")
    );
    let v1 = post(&format!("{url}/write?db=db"), big.clone()).await;
    assert_eq!(
        (v1.status, v1.body.as_str()),
        (500, "max request size (1000 bytes) exceeded")
    );
    let query = post(&format!("{url}/api/v3/query_sql"), big.clone()).await;
    assert_eq!(
        (query.status, query.body.as_str()),
        (500, "max request size (1000 bytes) exceeded")
    );
    let v2 = post(&format!("{url}/api/v2/write?bucket=db"), big).await;
    assert_eq!(v2.status, 413);
    assert_eq!(
        v2.json(),
        serde_json::json!({"code": "request too large", "message": "max request size (1000 bytes) exceeded"})
    );
}

#[tokio::test]
async fn empty_writes() {
    let emulator = start().await;
    let url = emulator.url();
    let v3 = post(
        &format!("{url}/api/v3/write_lp?db=created"),
        "\n# only a comment\n  \n",
    )
    .await;
    assert_eq!(
        (v3.status, v3.body.as_str()),
        (400, "incoming write was empty")
    );
    assert_eq!(
        sql(&emulator, "created", "SELECT 1 AS one").await,
        serde_json::json!([{"one": 1}])
    );
    let v2 = post(&format!("{url}/api/v2/write?bucket=db"), "").await;
    assert_eq!(
        v2.body,
        r#"{"code":"invalid","message":"write buffer error: incoming write was empty"}"#
    );
}

#[tokio::test]
async fn partial_writes_and_line_errors() {
    let emulator = start().await;
    let url = emulator.url();
    let body = "cpu v=1 1\ncpu v= 2\n\ncpu v=3 3\ncpu,host=a_very_long_tag_value_here v=\"x\" 4\n";

    // accept_partial=true (default): good lines stored, 400 with an array.
    let partial = post(&format!("{url}/api/v3/write_lp?db=db&precision=s"), body).await;
    assert_eq!(partial.status, 400);
    assert_eq!(partial.header("content-type"), None);
    assert_eq!(
        partial.body,
        concat!(
            r#"{"error":"partial write of line protocol occurred","data":["#,
            r#"{"error_message":"No fields were provided","line_number":2,"original_line":"cpu v= 2"},"#,
            r#"{"error_message":"invalid column type for column 'v', expected iox::column_type::field::float, got iox::column_type::field::string","line_number":4,"original_line":"cpu,host=a_very_long"}"#,
            "]}"
        )
    );
    assert_eq!(
        sql(&emulator, "db", "SELECT v FROM cpu ORDER BY time").await,
        serde_json::json!([{"v": 1.0}, {"v": 3.0}])
    );
    assert_eq!(emulator.stats().lines_accepted("db"), 2);

    // accept_partial=false: nothing stored, the first error as an object.
    let strict = post(
        &format!("{url}/api/v3/write_lp?db=strict&accept_partial=false"),
        body,
    )
    .await;
    assert_eq!(
        strict.body,
        r#"{"error":"parsing failed for write_lp endpoint","data":{"error_message":"No fields were provided","line_number":2,"original_line":"cpu v= 2"}}"#
    );
    let missing = post(
        &format!("{url}/api/v3/query_sql"),
        r#"{"db":"strict","q":"SELECT 1"}"#,
    )
    .await;
    assert_eq!(
        missing.status, 404,
        "nothing, not even the database, was created"
    );

    // v1: same shape as accept_partial=false; v2: the code/message shape.
    let v1 = post(&format!("{url}/write?db=db"), "cpu v=1\ncpu v=1i").await;
    assert_eq!(
        v1.body,
        r#"{"error":"parsing failed for write_lp endpoint","data":{"error_message":"invalid column type for column 'v', expected iox::column_type::field::float, got iox::column_type::field::integer","line_number":2,"original_line":"cpu v=1i"}}"#
    );
    let v2 = post(&format!("{url}/api/v2/write?bucket=db"), "cpu v=1\ncpu v=").await;
    assert_eq!(
        (v2.status, v2.body.as_str()),
        (
            400,
            r#"{"code":"invalid","message":"write buffer error: parsing for line protocol failed"}"#
        )
    );

    // original_line is cut at 20 bytes on a UTF-8 boundary.
    let utf8 = post(&format!("{url}/api/v3/write_lp?db=db"), "ééééééééééé v=").await;
    assert_eq!(utf8.json()["data"][0]["original_line"], "éééééééééé");
}

#[tokio::test]
async fn schema_validation() {
    let emulator = start().await;
    let url = emulator.url();
    let target = format!("{url}/api/v3/write_lp?db=db");
    let write = |body: &'static str| post(&target, body);
    assert_eq!(
        write("m,t=a f=1,i=1i,u=1u,s=\"x\",b=true").await.status,
        204
    );

    let cases = [
        (
            "m f=1i",
            "invalid column type for column 'f', expected iox::column_type::field::float, got iox::column_type::field::integer",
        ),
        (
            "m u=1i",
            "invalid column type for column 'u', expected iox::column_type::field::uinteger, got iox::column_type::field::integer",
        ),
        (
            "m t=1",
            "invalid column type for column 't', expected iox::column_type::tag, got iox::column_type::field::float",
        ),
        (
            "m,f=x i=1i",
            "invalid column type for column 'f', expected iox::column_type::field::float, got iox::column_type::tag",
        ),
        (
            "n,x=a x=1",
            "invalid column type for column 'x', expected iox::column_type::tag, got iox::column_type::field::float",
        ),
        (
            "m time=1",
            "invalid column type for column 'time', expected iox::column_type::timestamp, got iox::column_type::field::float",
        ),
        ("new time=1", "'time' is a reserved column"),
        (
            "new,__chunk_order=a f=1",
            "'__chunk_order' is a reserved column",
        ),
        (
            "m f=1,f=2",
            "invalid line protocol - multiple instances of 'f' field found",
        ),
    ];
    for (line, message) in cases {
        let reply = write(line).await;
        assert_eq!(reply.status, 400, "{line}");
        assert_eq!(reply.json()["data"][0]["error_message"], message, "{line}");
    }
    // A repeated tag key is accepted, as by the server.
    assert_eq!(write("m,t=a,t=b f=1").await.status, 204);
    // Types are per table: another table may use `f` as an integer.
    assert_eq!(write("other f=1i").await.status, 204);
}

#[tokio::test]
async fn timestamps() {
    let emulator = start().await;
    let url = emulator.url();
    let rows = |db: &'static str| sql(&emulator, db, "SELECT time FROM m ORDER BY time");
    post(
        &format!("{url}/api/v3/write_lp?db=s&precision=second"),
        "m f=1 2",
    )
    .await;
    assert_eq!(
        rows("s").await,
        serde_json::json!([{"time": "1970-01-01T00:00:02"}])
    );
    post(
        &format!("{url}/api/v3/write_lp?db=auto"),
        "m f=1 3\nm f=1 1700000000000\nm f=1 123",
    )
    .await;
    assert_eq!(
        rows("auto").await,
        serde_json::json!([
            {"time": "1970-01-01T00:00:03"},
            {"time": "1970-01-01T00:02:03"},
            {"time": "2023-11-14T22:13:20"},
        ])
    );
    let overflow = post(
        &format!("{url}/api/v3/write_lp?db=s&precision=s"),
        "m f=1 9223372036854775",
    )
    .await;
    assert_eq!(
        overflow.json()["data"][0]["error_message"],
        "timestamp, 9223372036854775, out of range for precision: Second"
    );
    // No timestamp: now, truncated to the unit.
    let before = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    post(
        &format!("{url}/api/v3/write_lp?db=now&precision=s"),
        "m f=1",
    )
    .await;
    let after = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let seconds = sql(&emulator, "now", "SELECT CAST(time AS BIGINT) AS t FROM m").await;
    let t = seconds[0]["t"].as_i64().unwrap() as u64;
    assert_eq!(t % 1_000_000_000, 0, "truncated to whole seconds");
    assert!((before..=after).contains(&(t / 1_000_000_000)));
}

#[tokio::test]
async fn database_limit_and_management() {
    let emulator = Emulator::builder().max_databases(2).start().await.unwrap();
    let url = emulator.url();
    let admin = format!("{url}/api/v3/configure/database");
    let json = [("content-type", "application/json")];

    let created = send(Method::POST, &admin, &json, r#"{"db":"one"}"#).await;
    assert_eq!((created.status, created.body.as_str()), (200, ""));
    let again = send(Method::POST, &admin, &json, r#"{"db":"one"}"#).await;
    assert_eq!(
        (again.status, again.body.as_str()),
        (409, "attempted to create a resource that already exists")
    );
    let bad_name = send(Method::POST, &admin, &json, r#"{"db":"_x"}"#).await;
    assert_eq!(
        bad_name.body,
        r#"{"error":"db name did not start with a number or letter"}"#
    );
    let text = send(
        Method::POST,
        &admin,
        &[("content-type", "text/plain")],
        r#"{"db":"two"}"#,
    )
    .await;
    assert_eq!(
        (text.status, text.body.as_str()),
        (415, "unacceptable content-type, expected: application/json")
    );
    assert_eq!(
        post(&format!("{url}/api/v3/write_lp?db=two"), "m f=1")
            .await
            .status,
        204
    );

    let limit = "Adding a new database would exceed limit of 2 databases";
    let v3 = post(&format!("{url}/api/v3/write_lp?db=three"), "m f=1").await;
    assert_eq!(
        (v3.status, v3.json()),
        (422, serde_json::json!({"error": limit}))
    );
    let v1 = post(&format!("{url}/write?db=three"), "m f=1").await;
    assert_eq!(v1.status, 422);
    let v2 = post(&format!("{url}/api/v2/write?bucket=three"), "m f=1").await;
    assert_eq!(
        (v2.status, v2.json()),
        (
            400,
            serde_json::json!({"code": "invalid", "message": format!("write buffer error: catalog update error: {limit}")})
        )
    );
    let over = send(Method::POST, &admin, &json, r#"{"db":"three"}"#).await;
    assert_eq!(
        (over.status, over.json()),
        (422, serde_json::json!({"error": limit}))
    );

    let listed = get(&format!("{admin}?format=json")).await;
    assert_eq!(listed.header("content-type"), Some("application/json"));
    assert_eq!(
        listed.json(),
        serde_json::json!([{"iox::database": "_internal"}, {"iox::database": "one"}, {"iox::database": "two"}])
    );
    let csv = get(&format!("{admin}?format=csv")).await;
    assert_eq!(csv.body, "iox::database\n_internal\none\ntwo\n");
    let jsonl = get(&format!("{admin}?format=jsonl")).await;
    assert_eq!(jsonl.body.lines().count(), 3);
    let no_format = get(&admin).await;
    assert_eq!(
        (no_format.status, no_format.body.as_str()),
        (400, "serde error: missing field `format`")
    );

    let deleted = send(
        Method::DELETE,
        &format!("{admin}?db=one"),
        &[],
        Bytes::new(),
    )
    .await;
    assert_eq!(deleted.status, 200);
    let gone = send(
        Method::DELETE,
        &format!("{admin}?db=one"),
        &[],
        Bytes::new(),
    )
    .await;
    assert_eq!(
        (gone.status, gone.body.as_str()),
        (404, "the requested resource was not found: one")
    );
    // The slot is free again, and the deleted name shows with show_deleted.
    assert_eq!(
        post(&format!("{url}/api/v3/write_lp?db=three"), "m f=1")
            .await
            .status,
        204
    );
    let with_deleted = get(&format!("{admin}?format=json&show_deleted=true"))
        .await
        .json();
    let deleted_rows: Vec<_> = with_deleted
        .as_array()
        .unwrap()
        .iter()
        .filter(|row| row["deleted"] == true)
        .collect();
    assert_eq!(deleted_rows.len(), 1);
    assert!(
        deleted_rows[0]["iox::database"]
            .as_str()
            .unwrap()
            .starts_with("one-")
    );
}

#[tokio::test]
async fn write_faults_with_retry_after() {
    let emulator = start().await;
    let url = emulator.url();
    let write = format!("{url}/api/v3/write_lp?db=db");
    let faults = emulator.faults();

    faults.fail_writes(
        2,
        WriteFault::new(503, "busy").retry_after(RetryAfter::Seconds(7)),
    );
    for _ in 0..2 {
        let reply = post(&write, "m f=1").await;
        assert_eq!((reply.status, reply.body.as_str()), (503, "busy"));
        assert_eq!(reply.header("retry-after"), Some("7"));
    }
    assert_eq!(post(&write, "m f=1").await.status, 204);

    let at = SystemTime::UNIX_EPOCH + Duration::from_secs(784_111_777);
    faults.fail_writes(
        1,
        WriteFault::new(429, "slow down").retry_after(RetryAfter::HttpDate(at)),
    );
    let reply = post(&write, "m f=1").await;
    assert_eq!(reply.status, 429);
    assert_eq!(
        reply.header("retry-after"),
        Some("Sun, 06 Nov 1994 08:49:37 GMT")
    );
    assert_eq!(
        emulator.stats().lines_accepted("db"),
        1,
        "failed writes store nothing"
    );

    // A seeded fraction gives the same sequence on every emulator.
    let mut patterns = Vec::new();
    for _ in 0..2 {
        let e = start().await;
        e.faults()
            .fail_write_fraction(0.5, 42, WriteFault::new(500, "boom"));
        let mut pattern = Vec::new();
        for _ in 0..20 {
            pattern.push(
                post(&format!("{}/api/v3/write_lp?db=db", e.url()), "m f=1")
                    .await
                    .status,
            );
        }
        patterns.push(pattern);
    }
    assert_eq!(patterns[0], patterns[1]);
    assert!(
        patterns[0].contains(&500) && patterns[0].contains(&204),
        "{:?}",
        patterns[0]
    );

    faults.clear();
    assert_eq!(post(&write, "m f=1").await.status, 204);
}

#[tokio::test]
async fn delayed_and_dropped_responses() {
    let emulator = start().await;
    let url = emulator.url();
    let faults = emulator.faults();

    faults.delay_responses(Duration::from_millis(150));
    let started = Instant::now();
    assert_eq!(get(&format!("{url}/health")).await.status, 200);
    assert!(started.elapsed() >= Duration::from_millis(150));
    faults.clear();

    faults.close_connections(1);
    let client = client();
    let dropped = send_with(
        &client,
        Method::POST,
        &format!("{url}/api/v3/write_lp?db=db"),
        &[],
        "m f=1",
    )
    .await;
    let error = dropped.expect_err("the connection is closed without a response");
    assert!(
        error.is_connect() || std::error::Error::source(&error).is_some(),
        "{error:?}"
    );
    let next = send_with(
        &client,
        Method::GET,
        &format!("{url}/health"),
        &[],
        Bytes::new(),
    )
    .await;
    assert_eq!(next.unwrap().status, 200);
    // The dropped write was received (and recorded as a request) but not stored.
    assert_eq!(emulator.stats().lines_accepted("db"), 0);
}

#[tokio::test]
async fn stats_and_recorded_bodies() {
    let emulator = Emulator::builder().token("tok").start().await.unwrap();
    let url = emulator.url();
    emulator.record_bodies(true);
    let auth = ("authorization", "Token tok");

    let compressed = gzip(b"m f=1\nm f=2\n");
    let compressed_len = compressed.len();
    let reply = send(
        Method::POST,
        &format!("{url}/api/v3/write_lp?db=db&precision=ns"),
        &[auth, ("content-encoding", "gzip"), ("user-agent", "test/1")],
        compressed,
    )
    .await;
    assert_eq!(reply.status, 204);
    let reply = post(&format!("{url}/write?db=db&p=tok"), "m f=").await;
    assert_eq!(reply.status, 400);
    send(Method::GET, &format!("{url}/health"), &[auth], Bytes::new()).await;

    let stats = emulator.stats();
    assert_eq!(stats.requests, 3);
    assert_eq!(stats.write_requests, 2);
    assert_eq!(stats.bytes_received, (compressed_len + 4) as u64);
    assert_eq!(stats.lines_accepted("db"), 2);
    assert_eq!(stats.writes.len(), 2);
    let first = &stats.writes[0];
    assert_eq!(first.method, "POST");
    assert_eq!(first.path_and_query, "/api/v3/write_lp?db=db&precision=ns");
    assert_eq!(first.body_text(), "m f=1\nm f=2\n");
    assert_eq!(first.status, 204);
    assert_eq!(first.header("content-encoding"), Some("gzip"));
    assert_eq!(first.header("user-agent"), Some("test/1"));
    assert_eq!(first.header("authorization"), None);
    let second = &stats.writes[1];
    assert_eq!(second.path_and_query, "/write?db=db&p=REDACTED");
    assert_eq!(second.status, 400);
    assert!(!format!("{stats:?}").contains("tok\""), "no token in stats");
}

#[tokio::test]
async fn concurrent_emulators_and_shutdown() {
    let emulators = futures::future::join_all((0..4).map(|_| start())).await;
    let mut ports: Vec<u16> = emulators.iter().map(|e| e.addr().port()).collect();
    ports.sort_unstable();
    ports.dedup();
    assert_eq!(ports.len(), 4);
    for (i, e) in emulators.iter().enumerate() {
        post(
            &format!("{}/api/v3/write_lp?db=db", e.url()),
            format!("m f={i}"),
        )
        .await;
    }
    for (i, e) in emulators.iter().enumerate() {
        assert_eq!(
            sql(e, "db", "SELECT f FROM m").await,
            serde_json::json!([{"f": i as f64}])
        );
    }
    let addrs: Vec<_> = emulators.iter().map(|e| e.addr()).collect();
    let mut emulators = emulators.into_iter();
    // Explicit shutdown, and shutdown on drop.
    emulators.next().unwrap().shutdown().await;
    drop(emulators);
    tokio::time::sleep(Duration::from_millis(50)).await;
    for addr in addrs {
        assert!(
            tokio::net::TcpStream::connect(addr).await.is_err(),
            "{addr} still open"
        );
    }
}

#[tokio::test]
async fn many_lines_in_one_request() {
    let emulator = start().await;
    let url = emulator.url();
    let mut body = String::new();
    for i in 0..100_000 {
        body.push_str(&format!("m,host=h{} v={i}i,w={}.5 {i}\n", i % 10, i % 7));
    }
    let reply = post(&format!("{url}/api/v3/write_lp?db=db&precision=ns"), body).await;
    assert_eq!(reply.status, 204, "{}", reply.body);
    assert_eq!(
        sql(&emulator, "db", "SELECT count(*) AS n, sum(v) AS s FROM m").await,
        serde_json::json!([{"n": 100_000, "s": 4_999_950_000_i64}])
    );
}

/// A CA, a server certificate for `localhost` and a client certificate, all PEM.
struct Pki {
    ca: String,
    server_cert: String,
    server_key: String,
    client_cert: String,
    client_key: String,
}

fn pki() -> Pki {
    use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, IsCa, KeyPair};
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca = CertifiedIssuer::self_signed(ca_params, KeyPair::generate().unwrap()).unwrap();
    let server_key = KeyPair::generate().unwrap();
    let server_cert = CertificateParams::new(vec!["localhost".to_owned()])
        .unwrap()
        .signed_by(&server_key, &ca)
        .unwrap();
    let client_key = KeyPair::generate().unwrap();
    let client_cert = CertificateParams::new(vec!["client".to_owned()])
        .unwrap()
        .signed_by(&client_key, &ca)
        .unwrap();
    Pki {
        ca: ca.pem(),
        server_cert: server_cert.pem(),
        server_key: server_key.serialize_pem(),
        client_cert: client_cert.pem(),
        client_key: client_key.serialize_pem(),
    }
}

/// `GET /health` over TLS with the given ALPN protocol and optional client identity.
async fn tls_health(
    emulator: &EmulatorHandle,
    pki: &Pki,
    alpn: &[u8],
    identity: Option<(&str, &str)>,
) -> Result<(http::Version, u16), Box<dyn std::error::Error + Send + Sync>> {
    use std::sync::Arc;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut roots = rustls::RootCertStore::empty();
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    for cert in CertificateDer::pem_slice_iter(pki.ca.as_bytes()) {
        roots.add(cert?)?;
    }
    let builder = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_root_certificates(roots);
    let mut config = match identity {
        None => builder.with_no_client_auth(),
        Some((cert, key)) => {
            let certs =
                CertificateDer::pem_slice_iter(cert.as_bytes()).collect::<Result<Vec<_>, _>>()?;
            let key = PrivateKeyDer::from_pem_slice(key.as_bytes())?;
            builder.with_client_auth_cert(certs, key)?
        }
    };
    config.alpn_protocols = vec![alpn.to_vec()];
    let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
    let tcp = tokio::net::TcpStream::connect(emulator.addr()).await?;
    let name = rustls::pki_types::ServerName::try_from("localhost")?;
    let tls = connector.connect(name, tcp).await?;
    let io = hyper_util::rt::TokioIo::new(tls);
    let uri = format!("{}/health", emulator.url());
    let response = if alpn == b"h2" {
        let (mut sender, conn) =
            hyper::client::conn::http2::handshake(TokioExecutor::new(), io).await?;
        tokio::spawn(conn);
        sender
            .send_request(Request::get(uri).body(Full::new(Bytes::new()))?)
            .await?
    } else {
        let (mut sender, conn) = hyper::client::conn::http1::handshake(io).await?;
        tokio::spawn(conn);
        let request = Request::get(uri)
            .header("host", "localhost")
            .body(Full::new(Bytes::new()))?;
        sender.send_request(request).await?
    };
    Ok((response.version(), response.status().as_u16()))
}

#[tokio::test]
async fn tls_and_mutual_tls() {
    let pki = pki();
    let emulator = Emulator::builder()
        .tls(pki.server_cert.clone(), pki.server_key.clone())
        .start()
        .await
        .unwrap();
    assert!(emulator.url().starts_with("https://localhost:"));
    let h1 = tls_health(&emulator, &pki, b"http/1.1", None)
        .await
        .unwrap();
    assert_eq!(h1, (http::Version::HTTP_11, 200));
    let h2 = tls_health(&emulator, &pki, b"h2", None).await.unwrap();
    assert_eq!(h2, (http::Version::HTTP_2, 200));

    let mutual = Emulator::builder()
        .tls(pki.server_cert.clone(), pki.server_key.clone())
        .tls_client_ca(pki.ca.clone())
        .start()
        .await
        .unwrap();
    assert!(tls_health(&mutual, &pki, b"http/1.1", None).await.is_err());
    let with_identity = tls_health(
        &mutual,
        &pki,
        b"http/1.1",
        Some((&pki.client_cert, &pki.client_key)),
    )
    .await;
    assert_eq!(with_identity.unwrap(), (http::Version::HTTP_11, 200));

    let bad = Emulator::builder()
        .tls("not a pem", "nor this")
        .start()
        .await;
    assert!(
        matches!(bad, Err(influxdb3_emulator::Error::Tls(_))),
        "{bad:?}"
    );
    let ca_only = Emulator::builder()
        .tls_client_ca(pki.ca.clone())
        .start()
        .await;
    assert!(matches!(ca_only, Err(influxdb3_emulator::Error::Tls(_))));
}

#[tokio::test]
async fn h2c_routes_grpc_to_flight_and_the_rest_to_http() {
    let emulator = start().await;
    let client: HttpClient = Client::builder(TokioExecutor::new())
        .http2_only(true)
        .build_http();
    let health = send_with(
        &client,
        Method::GET,
        &format!("{}/health", emulator.url()),
        &[],
        Bytes::new(),
    )
    .await
    .unwrap();
    assert_eq!((health.status, health.body.as_str()), (200, "OK"));
    // The same path with a gRPC content type is the Flight service's (unknown method).
    let grpc = send_with(
        &client,
        Method::POST,
        &format!("{}/health", emulator.url()),
        &[("content-type", "application/grpc")],
        Bytes::new(),
    )
    .await
    .unwrap();
    assert_eq!(grpc.status, 200);
    assert_eq!(grpc.header("grpc-status"), Some("12"), "UNIMPLEMENTED");
    assert_eq!(emulator.stats().requests, 2);
}

#[tokio::test]
async fn bind_errors_name_the_address() {
    let first = start().await;
    let taken = Emulator::builder().bind(first.addr()).start().await;
    let error = taken.expect_err("the port is taken");
    assert!(
        error
            .to_string()
            .starts_with(&format!("cannot listen on {}", first.addr())),
        "{error}"
    );
}
