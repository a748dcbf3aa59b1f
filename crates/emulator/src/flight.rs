//! The Arrow Flight service (DoGet with the JSON ticket).
//!
//! OWNERSHIP: Flight/SQL side. Contract used by the server: `flight_service(state)`.
//!
//! DoGet follows PROTOCOL.md §3: the ticket is decoded first (any failure is
//! `INVALID_ARGUMENT` `Invalid ticket. Error: Invalid ticket`), then the `authorization`
//! metadata is checked, then the database is looked up (unknown: `INTERNAL`
//! `Cannot retrieve database: External error: database not found: <db>`), then the query is
//! planned (errors: `INVALID_ARGUMENT` `Error while planning query: …`). The result streams
//! as the schema message followed by the batches, cut by arrow-flight's encoder towards its
//! ~2 MiB message target; batches are pulled from DataFusion only as fast as the client reads.
//! Injected query faults, per-batch delays and the client's `grpc-timeout` apply to the stream.
//! Every other Flight method answers `UNIMPLEMENTED`, except `Handshake`, which echoes.

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use arrow_array::RecordBatch;
use arrow_schema::{DataType, Field, Schema, SchemaRef};

use arrow_flight::encode::FlightDataEncoderBuilder;
use arrow_flight::error::FlightError;
use arrow_flight::flight_service_server::{FlightService, FlightServiceServer};
use arrow_flight::{
    Action, ActionType, Criteria, Empty, FlightData, FlightDescriptor, FlightInfo,
    HandshakeRequest, HandshakeResponse, PollInfo, PutResult, SchemaResult, Ticket,
};
use futures::stream::BoxStream;
use futures::{Stream, StreamExt};
use serde::Deserialize;
use tonic::codec::CompressionEncoding;
use tonic::{Request, Response, Status, Streaming};

use crate::sql::{self, QueryError, QueryLanguage};
use crate::state::{EmulatorState, QueryFault};

/// Longest status message sent; longer ones are cut and end in `...` (as InfluxDB does).
const MAX_MESSAGE_LEN: usize = 2000;

/// Builds the Flight service over the emulator's state.
///
/// As the server: responses are gzip-compressed when the client's `grpc-accept-encoding`
/// lists gzip (identity otherwise), and gzip-compressed requests are accepted.
pub(crate) fn flight_service(state: Arc<EmulatorState>) -> FlightServiceServer<FlightServiceImpl> {
    FlightServiceServer::new(FlightServiceImpl { state })
        .accept_compressed(CompressionEncoding::Gzip)
        .send_compressed(CompressionEncoding::Gzip)
}

/// The emulator's `arrow.flight.protocol.FlightService`.
#[derive(Debug, Clone)]
pub(crate) struct FlightServiceImpl {
    state: Arc<EmulatorState>,
}

/// The JSON ticket of DoGet (PROTOCOL.md §3.1).
#[derive(Debug, Deserialize)]
struct JsonTicket {
    #[serde(alias = "namespace_name", alias = "bucket", alias = "bucket-name")]
    database: String,
    sql_query: String,
    #[serde(default)]
    query_type: Option<String>,
    #[serde(default)]
    params: Option<serde_json::Map<String, serde_json::Value>>,
    /// Accepted (and type-checked) but without effect in the emulator.
    #[serde(default, rename = "is_debug")]
    _is_debug: Option<bool>,
}

/// A decoded, validated ticket.
#[derive(Debug)]
struct QueryRequest {
    database: String,
    query: String,
    language: QueryLanguage,
    params: serde_json::Map<String, serde_json::Value>,
}

impl QueryRequest {
    /// Decodes the ticket; the reason for a failure is hidden, as in InfluxDB.
    fn decode(ticket: &[u8]) -> Result<Self, Status> {
        let invalid = || Status::invalid_argument("Invalid ticket. Error: Invalid ticket");
        if ticket.is_empty() {
            // The server tries protobuf before JSON, and no bytes are a valid empty protobuf
            // `ReadInfo`: SQL `""` on database `""` (which then does not exist).
            return Ok(Self {
                database: String::new(),
                query: String::new(),
                language: QueryLanguage::Sql,
                params: serde_json::Map::new(),
            });
        }
        let ticket: JsonTicket = serde_json::from_slice(ticket).map_err(|_| invalid())?;
        let language = match ticket.query_type.as_deref() {
            None | Some("sql") => QueryLanguage::Sql,
            Some("influxql") => QueryLanguage::InfluxQl,
            Some(_) => return Err(invalid()),
        };
        let params = ticket.params.unwrap_or_default();
        // Arrays and objects make the ticket invalid.
        sql::param_values(&params).map_err(|_| invalid())?;
        Ok(Self {
            database: ticket.database,
            query: ticket.sql_query,
            language,
            params,
        })
    }
}

/// A status with InfluxDB's message length limit applied.
fn status(code: tonic::Code, message: impl Into<String>) -> Status {
    let mut message = message.into();
    if message.len() > MAX_MESSAGE_LEN {
        let mut cut = MAX_MESSAGE_LEN - 3;
        while !message.is_char_boundary(cut) {
            cut -= 1;
        }
        message.truncate(cut);
        message.push_str("...");
    }
    Status::new(code, message)
}

/// Parses a `grpc-timeout` value (`<1-8 digits><H|M|S|m|u|n>`).
fn parse_grpc_timeout(value: &str) -> Option<Duration> {
    if value.len() < 2 || value.len() > 9 {
        return None;
    }
    let (digits, unit) = value.split_at(value.len() - 1);
    let amount: u64 = digits.parse().ok()?;
    Some(match unit {
        "H" => Duration::from_secs(amount.checked_mul(3600)?),
        "M" => Duration::from_secs(amount.checked_mul(60)?),
        "S" => Duration::from_secs(amount),
        "m" => Duration::from_millis(amount),
        "u" => Duration::from_micros(amount),
        "n" => Duration::from_nanos(amount),
        _ => return None,
    })
}

impl FlightServiceImpl {
    async fn start_query(
        &self,
        request: Request<Ticket>,
    ) -> Result<BoxStream<'static, Result<FlightData, Status>>, Status> {
        let query = QueryRequest::decode(&request.get_ref().ticket)?;
        let authorization = request
            .metadata()
            .get("authorization")
            .and_then(|v| v.to_str().ok());
        self.state.authorize_grpc(authorization)?;
        let deadline = request
            .metadata()
            .get("grpc-timeout")
            .and_then(|v| v.to_str().ok())
            .and_then(parse_grpc_timeout);

        let fault = self.state.faults.take_query_fault();
        if let Some(QueryFault::Fail(code, message)) = &fault {
            return Err(status(*code, message.clone()));
        }
        let snapshot = self.state.store.snapshot(&query.database).ok_or_else(|| {
            status(
                tonic::Code::Internal,
                format!(
                    "Cannot retrieve database: External error: database not found: {}",
                    query.database
                ),
            )
        })?;
        self.state.stats.record_query(&query.database);

        let batches = sql::execute_stream(&snapshot, query.language, &query.query, &query.params)
            .await
            .map_err(|e| status(e.grpc_code(), format!("Error while planning query: {e}")))?;
        let schema = batches.schema();
        let keep_alive = keep_alive_message(&schema)?;
        let batches = batches.map(|batch| {
            batch.map_err(|e| {
                let e = QueryError::execution(e);
                FlightError::Tonic(Box::new(status(e.grpc_code(), e.to_string())))
            })
        });
        let messages = FlightDataEncoderBuilder::new()
            .with_schema(schema)
            .build(batches)
            .map(|message| message.map_err(Status::from));

        let fail_after = match fault {
            Some(QueryFault::FailAfterBatches(k, code, message)) => {
                Some((k, status(code, message)))
            }
            _ => None,
        };
        Ok(DoGetStream {
            inner: messages.boxed(),
            deadline: deadline.map(|d| Box::pin(tokio::time::sleep(d))),
            batch_delay: self.state.faults.query_batch_delay(),
            delayed: None,
            fail_after,
            messages_sent: 0,
            done: false,
            keep_alive: (self.state.flight_keep_alive, keep_alive),
            idle: None,
            stats: Arc::clone(&self.state.stats),
        }
        .boxed())
    }
}

/// The empty batch sent as a keep-alive on a stream of `schema`, encoded as the stream's
/// batches are (dictionaries sent as plain values).
fn keep_alive_message(schema: &SchemaRef) -> Result<FlightData, Status> {
    let fields: Vec<Field> = schema
        .fields()
        .iter()
        .map(|field| match field.data_type() {
            DataType::Dictionary(_, value) => {
                field.as_ref().clone().with_data_type((**value).clone())
            }
            _ => field.as_ref().clone(),
        })
        .collect();
    let hydrated = Arc::new(Schema::new_with_metadata(fields, schema.metadata().clone()));
    arrow_flight::utils::batches_to_flight_data(
        &hydrated,
        vec![RecordBatch::new_empty(hydrated.clone())],
    )
    .ok()
    .and_then(|mut messages| messages.pop())
    .ok_or_else(|| Status::internal("could not encode the keep-alive batch"))
}

/// The DoGet response: the encoder's messages with faults, delays and the deadline applied.
struct DoGetStream {
    inner: BoxStream<'static, Result<FlightData, Status>>,
    /// `grpc-timeout`: when it fires the stream ends with `RESOURCE_EXHAUSTED`.
    deadline: Option<Pin<Box<tokio::time::Sleep>>>,
    /// Wait this long before each data message.
    batch_delay: Option<Duration>,
    /// A data message waiting for its delay.
    delayed: Option<(FlightData, Pin<Box<tokio::time::Sleep>>)>,
    /// After this many data messages, end with this status.
    fail_after: Option<(usize, Status)>,
    /// Messages sent so far, the schema included (keep-alives not).
    messages_sent: usize,
    done: bool,
    /// After the schema, a stream idle this long gets this empty batch.
    keep_alive: (Duration, FlightData),
    /// Runs while the stream waits for its next message, once the schema is sent.
    idle: Option<Pin<Box<tokio::time::Sleep>>>,
    stats: Arc<crate::state::Stats>,
}

impl DoGetStream {
    fn finish(&mut self, status: Status) -> Poll<Option<Result<FlightData, Status>>> {
        self.done = true;
        self.delayed = None;
        Poll::Ready(Some(Err(status)))
    }

    fn emit(&mut self, message: FlightData) -> Poll<Option<Result<FlightData, Status>>> {
        self.messages_sent += 1;
        self.idle = None;
        Poll::Ready(Some(Ok(message)))
    }

    /// While waiting for the next message: the keep-alive batch when the stream has been
    /// idle for the keep-alive interval since the schema or the last message.
    fn keep_alive_due(&mut self, cx: &mut Context<'_>) -> Poll<Option<Result<FlightData, Status>>> {
        let interval = self.keep_alive.0;
        if self.messages_sent == 0 || interval.is_zero() {
            return Poll::Pending;
        }
        let idle = self
            .idle
            .get_or_insert_with(|| Box::pin(tokio::time::sleep(interval)));
        if idle.as_mut().poll(cx).is_pending() {
            return Poll::Pending;
        }
        self.idle = None;
        self.stats.record_keep_alive();
        Poll::Ready(Some(Ok(self.keep_alive.1.clone())))
    }

    fn fault_due(&mut self) -> Option<Status> {
        let data_sent = self.messages_sent.saturating_sub(1);
        match &self.fail_after {
            Some((k, _)) if self.messages_sent > 0 && data_sent >= *k => {
                self.fail_after.take().map(|(_, status)| status)
            }
            _ => None,
        }
    }
}

impl Stream for DoGetStream {
    type Item = Result<FlightData, Status>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        if this.done {
            return Poll::Ready(None);
        }
        if let Some(deadline) = &mut this.deadline
            && deadline.as_mut().poll(cx).is_ready()
        {
            return this.finish(Status::resource_exhausted("grpc-timeout elapsed"));
        }
        if let Some(status) = this.fault_due() {
            return this.finish(status);
        }
        if let Some((_, sleep)) = &mut this.delayed {
            if sleep.as_mut().poll(cx).is_pending() {
                return this.keep_alive_due(cx);
            }
            if let Some((message, _)) = this.delayed.take() {
                return this.emit(message);
            }
        }
        match this.inner.poll_next_unpin(cx) {
            Poll::Pending => this.keep_alive_due(cx),
            Poll::Ready(Some(Ok(message))) => {
                let is_data = this.messages_sent > 0;
                match this.batch_delay {
                    Some(delay) if is_data => {
                        let mut sleep = Box::pin(tokio::time::sleep(delay));
                        if sleep.as_mut().poll(cx).is_ready() {
                            return this.emit(message);
                        }
                        this.delayed = Some((message, sleep));
                        this.keep_alive_due(cx)
                    }
                    _ => this.emit(message),
                }
            }
            Poll::Ready(Some(Err(status))) => this.finish(status),
            Poll::Ready(None) => match this.fail_after.take() {
                // Fewer batches than the fault wanted to let through: fail at the end.
                Some((_, status)) => this.finish(status),
                None => {
                    this.done = true;
                    Poll::Ready(None)
                }
            },
        }
    }
}

fn unimplemented(method: &str) -> Status {
    Status::unimplemented(format!(
        "{method} is not implemented by the emulator (only DoGet and Handshake are)"
    ))
}

#[tonic::async_trait]
impl FlightService for FlightServiceImpl {
    type HandshakeStream = BoxStream<'static, Result<HandshakeResponse, Status>>;
    type ListFlightsStream = BoxStream<'static, Result<FlightInfo, Status>>;
    type DoGetStream = BoxStream<'static, Result<FlightData, Status>>;
    type DoPutStream = BoxStream<'static, Result<PutResult, Status>>;
    type DoExchangeStream = BoxStream<'static, Result<FlightData, Status>>;
    type DoActionStream = BoxStream<'static, Result<arrow_flight::Result, Status>>;
    type ListActionsStream = BoxStream<'static, Result<ActionType, Status>>;

    async fn handshake(
        &self,
        request: Request<Streaming<HandshakeRequest>>,
    ) -> Result<Response<Self::HandshakeStream>, Status> {
        // Like InfluxDB: checks nothing, echoes the payload, returns the token it was sent.
        let authorization = request.metadata().get("authorization").cloned();
        let mut requests = request.into_inner();
        let first = requests.message().await?.unwrap_or_default();
        let reply = HandshakeResponse {
            protocol_version: first.protocol_version,
            payload: first.payload,
        };
        let mut response = Response::new(futures::stream::iter([Ok(reply)]).boxed());
        if let Some(value) = authorization {
            response.metadata_mut().insert("authorization", value);
        }
        Ok(response)
    }

    async fn list_flights(
        &self,
        _request: Request<Criteria>,
    ) -> Result<Response<Self::ListFlightsStream>, Status> {
        Err(unimplemented("ListFlights"))
    }

    async fn get_flight_info(
        &self,
        _request: Request<FlightDescriptor>,
    ) -> Result<Response<FlightInfo>, Status> {
        Err(unimplemented("GetFlightInfo (Flight SQL)"))
    }

    async fn poll_flight_info(
        &self,
        _request: Request<FlightDescriptor>,
    ) -> Result<Response<PollInfo>, Status> {
        Err(unimplemented("PollFlightInfo"))
    }

    async fn get_schema(
        &self,
        _request: Request<FlightDescriptor>,
    ) -> Result<Response<SchemaResult>, Status> {
        Err(unimplemented("GetSchema"))
    }

    async fn do_get(
        &self,
        request: Request<Ticket>,
    ) -> Result<Response<Self::DoGetStream>, Status> {
        self.start_query(request).await.map(Response::new)
    }

    async fn do_put(
        &self,
        _request: Request<Streaming<FlightData>>,
    ) -> Result<Response<Self::DoPutStream>, Status> {
        Err(unimplemented("DoPut"))
    }

    async fn do_exchange(
        &self,
        _request: Request<Streaming<FlightData>>,
    ) -> Result<Response<Self::DoExchangeStream>, Status> {
        Err(unimplemented("DoExchange"))
    }

    async fn do_action(
        &self,
        _request: Request<Action>,
    ) -> Result<Response<Self::DoActionStream>, Status> {
        Err(unimplemented("DoAction"))
    }

    async fn list_actions(
        &self,
        _request: Request<Empty>,
    ) -> Result<Response<Self::ListActionsStream>, Status> {
        Err(unimplemented("ListActions"))
    }
}
