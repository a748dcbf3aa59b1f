//! A fake Flight server on loopback that answers with scripted, broken responses: the client
//! must turn every one of them into a result or an error, never a panic.

use std::collections::HashMap;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, Once};
use std::time::Duration;

use arrow_array::{ArrayRef, BooleanArray, Float64Array, Int64Array, RecordBatch, StringArray};
use arrow_flight::encode::FlightDataEncoderBuilder;
use arrow_flight::flight_service_server::{FlightService, FlightServiceServer};
use arrow_flight::{
    Action, ActionType, Criteria, Empty, FlightData, FlightDescriptor, FlightInfo,
    HandshakeRequest, HandshakeResponse, PollInfo, PutResult, SchemaResult, Ticket,
};
use futures::TryStreamExt;
use futures::stream;
use influxdb3_query::{ErrorKind, Query, QueryClient};
use tokio::net::TcpListener;
use tonic::{Request, Response, Status, Streaming};

/// The messages the fake server sends for the next DoGet.
#[derive(Clone, Default)]
struct Script(Arc<Mutex<Vec<FlightData>>>);

impl Script {
    fn set(&self, messages: Vec<FlightData>) {
        *self.0.lock().unwrap() = messages;
    }
}

type Boxed<T> = Pin<Box<dyn futures::Stream<Item = Result<T, Status>> + Send>>;

#[tonic::async_trait]
impl FlightService for Script {
    type HandshakeStream = Boxed<HandshakeResponse>;
    type ListFlightsStream = Boxed<FlightInfo>;
    type DoGetStream = Boxed<FlightData>;
    type DoPutStream = Boxed<PutResult>;
    type DoActionStream = Boxed<arrow_flight::Result>;
    type ListActionsStream = Boxed<ActionType>;
    type DoExchangeStream = Boxed<FlightData>;

    async fn do_get(&self, _: Request<Ticket>) -> Result<Response<Self::DoGetStream>, Status> {
        let messages = self.0.lock().unwrap().clone();
        Ok(Response::new(Box::pin(stream::iter(
            messages.into_iter().map(Ok),
        ))))
    }

    async fn handshake(
        &self,
        _: Request<Streaming<HandshakeRequest>>,
    ) -> Result<Response<Self::HandshakeStream>, Status> {
        Err(Status::unimplemented("handshake"))
    }
    async fn list_flights(
        &self,
        _: Request<Criteria>,
    ) -> Result<Response<Self::ListFlightsStream>, Status> {
        Err(Status::unimplemented("list_flights"))
    }
    async fn get_flight_info(
        &self,
        _: Request<FlightDescriptor>,
    ) -> Result<Response<FlightInfo>, Status> {
        Err(Status::unimplemented("get_flight_info"))
    }
    async fn poll_flight_info(
        &self,
        _: Request<FlightDescriptor>,
    ) -> Result<Response<PollInfo>, Status> {
        Err(Status::unimplemented("poll_flight_info"))
    }
    async fn get_schema(
        &self,
        _: Request<FlightDescriptor>,
    ) -> Result<Response<SchemaResult>, Status> {
        Err(Status::unimplemented("get_schema"))
    }
    async fn do_put(
        &self,
        _: Request<Streaming<FlightData>>,
    ) -> Result<Response<Self::DoPutStream>, Status> {
        Err(Status::unimplemented("do_put"))
    }
    async fn do_action(
        &self,
        _: Request<Action>,
    ) -> Result<Response<Self::DoActionStream>, Status> {
        Err(Status::unimplemented("do_action"))
    }
    async fn list_actions(
        &self,
        _: Request<Empty>,
    ) -> Result<Response<Self::ListActionsStream>, Status> {
        Err(Status::unimplemented("list_actions"))
    }
    async fn do_exchange(
        &self,
        _: Request<Streaming<FlightData>>,
    ) -> Result<Response<Self::DoExchangeStream>, Status> {
        Err(Status::unimplemented("do_exchange"))
    }
}

/// Starts the fake server; returns its script and a client for it.
async fn fake_server() -> (Script, QueryClient) {
    let (script, url) = fake_server_url().await;
    let client = QueryClient::builder(url).database("db").build().unwrap();
    (script, client)
}

async fn fake_server_url() -> (Script, String) {
    let script = Script::default();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let service = FlightServiceServer::new(script.clone());
    tokio::spawn(async move {
        tonic::transport::Server::builder()
            .add_service(service)
            .serve_with_incoming(tokio_stream::wrappers::TcpListenerStream::new(listener))
            .await
            .unwrap();
    });
    (script, format!("http://{addr}"))
}

fn sample() -> RecordBatch {
    let n = 50;
    RecordBatch::try_from_iter([
        (
            "room",
            Arc::new(StringArray::from_iter(
                (0..n).map(|i| (i % 7 != 0).then(|| format!("room {i}"))),
            )) as ArrayRef,
        ),
        (
            "ok",
            Arc::new(BooleanArray::from_iter(
                (0..n).map(|i| (i % 3 != 0).then_some(i % 2 == 0)),
            )) as ArrayRef,
        ),
        (
            "temp",
            Arc::new(Float64Array::from_iter_values((0..n).map(f64::from))) as ArrayRef,
        ),
        (
            "co",
            Arc::new(Int64Array::from_iter_values(0..i64::from(n))) as ArrayRef,
        ),
    ])
    .unwrap()
}

/// Valid messages: schema, then two batches.
async fn valid_messages() -> Vec<FlightData> {
    let batch = sample();
    FlightDataEncoderBuilder::new()
        .build(stream::iter([Ok(batch.clone()), Ok(batch)]))
        .try_collect()
        .await
        .unwrap()
}

/// Panics seen on this test's threads, contained or not: the guard must stop hostile messages
/// before arrow-ipc sees them, so even a contained panic is a failure here.
static PANICS: AtomicUsize = AtomicUsize::new(0);

fn count_panics_on_this_thread() {
    static HOOK: Once = Once::new();
    HOOK.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let name = std::thread::current().name().unwrap_or("").to_owned();
            if name.contains("hostile::") {
                PANICS.fetch_add(1, Ordering::SeqCst);
            }
            previous(info);
        }));
    });
}

/// Runs the query in every mode; each must end (within the timeout) with batches or an error.
async fn every_mode(client: &QueryClient) -> Vec<Result<usize, ErrorKind>> {
    let query = || Query::sql("SELECT * FROM home").timeout(Duration::from_secs(10));
    let all = client
        .query(query())
        .await
        .map(|r| r.num_rows())
        .map_err(|e| e.kind());
    let streamed = match client.query_stream(query()).await {
        Ok(s) => s
            .try_fold(0, |n, b| async move { Ok(n + b.num_rows()) })
            .await
            .map_err(|e| e.kind()),
        Err(e) => Err(e.kind()),
    };
    let chunks = match client.query_chunks(query()).await {
        Ok(s) => s
            .try_fold(0, |n, c| async move { Ok(n + c.data.num_rows()) })
            .await
            .map_err(|e| e.kind()),
        Err(e) => Err(e.kind()),
    };
    let schema = client
        .query_schema(query())
        .await
        .map(|s| s.fields().len())
        .map_err(|e| e.kind());
    vec![all, streamed, chunks, schema]
}

#[tokio::test]
async fn a_batch_cut_short_is_a_decode_error() {
    count_panics_on_this_thread();
    let (script, client) = fake_server().await;
    let mut messages = valid_messages().await;
    script.set(messages.clone());
    assert_eq!(
        every_mode(&client).await,
        vec![Ok(100), Ok(100), Ok(100), Ok(4)],
        "the valid script reads back"
    );

    // The first batch's body cut to 8 bytes: arrow-ipc panicked here before the guard.
    messages[1].data_body = messages[1].data_body.slice(..8);
    script.set(messages);
    let results = every_mode(&client).await;
    assert_eq!(
        &results[..3],
        &[
            Err(ErrorKind::Decode),
            Err(ErrorKind::Decode),
            Err(ErrorKind::Decode)
        ]
    );
    let err = client.query("SELECT 1").await.unwrap_err();
    assert!(
        err.to_string()
            .contains("outside the message body of 8 bytes"),
        "{err}"
    );
    assert_eq!(PANICS.load(Ordering::SeqCst), 0);
}

/// Seeded byte flips over a valid response (headers and bodies), replayed over a real socket:
/// every query ends with rows or an error, and no panic happens, not even a contained one.
#[tokio::test]
async fn byte_flipped_responses_never_panic() {
    count_panics_on_this_thread();
    let (script, client) = fake_server().await;
    let valid = valid_messages().await;
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let mut outcomes: HashMap<String, usize> = HashMap::new();
    for _ in 0..400 {
        let mut messages = valid.clone();
        for _ in 0..1 + next() % 3 {
            let m = (next() % messages.len() as u64) as usize;
            let body = next() % 2 == 0 && !messages[m].data_body.is_empty();
            let mut bytes = if body {
                messages[m].data_body.to_vec()
            } else {
                messages[m].data_header.to_vec()
            };
            if bytes.is_empty() {
                continue;
            }
            let at = (next() % bytes.len() as u64) as usize;
            bytes[at] ^= 1 << (next() % 8);
            if body {
                messages[m].data_body = bytes.into();
            } else {
                messages[m].data_header = bytes.into();
            }
        }
        script.set(messages);
        let results = every_mode(&client).await;
        for r in results {
            *outcomes.entry(format!("{r:?}")).or_default() += 1;
        }
    }
    assert_eq!(PANICS.load(Ordering::SeqCst), 0, "outcomes: {outcomes:?}");
    assert!(
        outcomes.contains_key(&format!("{:?}", Err::<usize, _>(ErrorKind::Decode))),
        "some flips must be refused: {outcomes:?}"
    );
}

/// A `Duration::MAX` timeout means no timeout, in every mode (it used to panic).
#[tokio::test]
async fn a_duration_max_timeout_means_no_timeout() {
    let (script, url) = fake_server_url().await;
    script.set(valid_messages().await);
    let client = QueryClient::builder(&url).database("db").build().unwrap();
    let query = || Query::sql("SELECT * FROM home").timeout(Duration::MAX);
    assert_eq!(client.query(query()).await.unwrap().num_rows(), 100);
    let stream = client.query_stream(query()).await.unwrap();
    assert_eq!(stream.try_collect::<Vec<_>>().await.unwrap().len(), 2);
    let chunks = client.query_chunks(query()).await.unwrap();
    assert_eq!(chunks.try_collect::<Vec<_>>().await.unwrap().len(), 2);
    assert_eq!(
        client.query_schema(query()).await.unwrap().fields().len(),
        4
    );

    let client = QueryClient::builder(&url)
        .database("db")
        .flight_options(
            influxdb3_query::FlightOptions::default()
                .query_timeout(Duration::MAX)
                .connect_timeout(Duration::MAX)
                .keep_alive_interval(Duration::MAX)
                .keep_alive_timeout(Duration::MAX),
        )
        .build()
        .unwrap();
    assert_eq!(client.query("SELECT 1").await.unwrap().num_rows(), 100);
}
