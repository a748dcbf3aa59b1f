//! [`QueryClient`] and its builder.

use std::fmt;
use std::str::FromStr;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use arrow_flight::Ticket;
use arrow_flight::decode::{DecodedPayload, FlightDataDecoder};
use arrow_flight::error::FlightError;
use arrow_flight::flight_service_client::FlightServiceClient;
use arrow_schema::SchemaRef;
use futures::{StreamExt, TryStreamExt};
use influxdb3_ipc_guard::MessageGuard;
use tonic::codec::CompressionEncoding;
use tonic::metadata::{AsciiMetadataKey, AsciiMetadataValue, MetadataMap};
use tonic::transport::{Channel, Endpoint};

use crate::error::Error;
use crate::options::FlightOptions;
use crate::query::Query;
use crate::result::QueryResult;
use crate::stream::{ChunkStream, Deadline, RecordBatchStream, poll_decoder};

/// The default `User-Agent`: `influxdb3-rust/<version> (<os>; <arch>)`.
pub fn default_user_agent() -> String {
    format!(
        "influxdb3-rust/{} ({}; {})",
        env!("CARGO_PKG_VERSION"),
        std::env::consts::OS,
        std::env::consts::ARCH
    )
}

/// A client for SQL and InfluxQL queries over Arrow Flight.
///
/// Cheap to clone: clones share one gRPC channel (one HTTP/2 connection, opened on the first
/// query and reopened when it breaks), and may be used from many tasks at once.
///
/// Four ways to read a result, after the Python client's `mode`s:
///
/// | Python `mode` | Method | Returns |
/// |---|---|---|
/// | `all`, `pandas` | [`query`](Self::query) | [`QueryResult`]: every batch in memory, pretty-printed by `Display`, [`rows`](QueryResult::rows), [`points`](QueryResult::points) |
/// | `reader` | [`query_stream`](Self::query_stream) | [`RecordBatchStream`]: batches one by one, in bounded memory |
/// | `chunk` | [`query_chunks`](Self::query_chunks) | [`ChunkStream`]: batches with their `app_metadata` |
/// | `schema` | [`query_schema`](Self::query_schema) | the [`SchemaRef`] alone |
///
/// ```no_run
/// use influxdb3_query::{Query, QueryClient};
///
/// # async fn run() -> Result<(), influxdb3_query::Error> {
/// let client = QueryClient::builder("http://localhost:8181")
///     .token("apiv3_...")
///     .database("sensors")
///     .build()?;
///
/// let result = client.query("SELECT room, temp FROM home ORDER BY time").await?;
/// println!("{result}");
///
/// let result = client
///     .query(Query::influxql("SELECT temp FROM home WHERE room = $room").param("room", "kitchen"))
///     .await?;
/// println!("{} rows", result.num_rows());
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct QueryClient {
    inner: Arc<Inner>,
}

/// Timeouts this long or longer are taken as "no timeout" (about 100 years).
pub(crate) const NO_TIMEOUT_FROM: Duration = Duration::from_secs(100 * 365 * 24 * 3600);

struct Inner {
    /// The configured endpoint; its channel is made on first use, inside the caller's runtime.
    endpoint_config: Endpoint,
    flight: OnceLock<FlightServiceClient<Channel>>,
    max_decoding_message_size: usize,
    /// Whether responses may come gzip-compressed (`grpc-accept-encoding: gzip`).
    accept_gzip: bool,
    endpoint: String,
    database: Option<String>,
    has_token: bool,
    /// Authorization and client headers, sent with every query.
    metadata: MetadataMap,
    header_names: Vec<String>,
    query_timeout: Option<Duration>,
}

impl fmt::Debug for QueryClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("QueryClient")
            .field("endpoint", &self.inner.endpoint)
            .field("database", &self.inner.database)
            .field("token", &self.inner.has_token.then_some("<redacted>"))
            .field("headers", &self.inner.header_names)
            .field("query_timeout", &self.inner.query_timeout)
            .finish()
    }
}

/// Builds a [`QueryClient`]; made by [`QueryClient::builder`].
///
/// ```
/// use influxdb3_query::{FlightOptions, QueryClient};
///
/// let client = QueryClient::builder("https://influxdb.example.com")
///     .token("apiv3_...")
///     .database("sensors")
///     .header("x-tenant", "blue")
///     .flight_options(FlightOptions::default())
///     .build()?; // does not connect yet
/// assert!(!format!("{client:?}").contains("apiv3_"));
/// # Ok::<(), influxdb3_query::Error>(())
/// ```
#[derive(Clone)]
pub struct QueryClientBuilder {
    host: String,
    token: Option<String>,
    database: Option<String>,
    headers: Vec<(String, String)>,
    user_agent: Option<String>,
    options: FlightOptions,
}

impl fmt::Debug for QueryClientBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("QueryClientBuilder")
            .field("host", &influxdb3_tls::redact_url(&self.host))
            .field("token", &self.token.as_ref().map(|_| "<redacted>"))
            .field("database", &self.database)
            .field(
                "headers",
                &self.headers.iter().map(|(k, _)| k).collect::<Vec<_>>(),
            )
            .field("user_agent", &self.user_agent)
            .field("options", &self.options)
            .finish()
    }
}

impl QueryClientBuilder {
    /// The token, sent as `authorization: Bearer <token>` (always Bearer on Flight). Without
    /// a token, or with an empty one, no `authorization` header is sent.
    pub fn token(mut self, token: impl Into<String>) -> Self {
        self.token = Some(token.into());
        self
    }

    /// The database of queries that do not name their own with
    /// [`Query::database`](crate::Query::database).
    pub fn database(mut self, database: impl Into<String>) -> Self {
        self.database = Some(database.into());
        self
    }

    /// Adds a gRPC metadata header sent with every query.
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// Replaces the `User-Agent`, by default [`default_user_agent`]. (tonic appends its own
    /// name to it.)
    pub fn user_agent(mut self, user_agent: impl Into<String>) -> Self {
        self.user_agent = Some(user_agent.into());
        self
    }

    /// Transport options: TLS, mTLS, timeouts, keep-alive, message size.
    pub fn flight_options(mut self, options: FlightOptions) -> Self {
        self.options = options;
        self
    }

    /// Checks the configuration and builds the client. Does not connect: the connection is
    /// opened by the first query.
    ///
    /// The host is `http://host[:port]` (HTTP/2 without TLS), `https://host[:port]` (TLS), or
    /// a bare `host[:port]`, which means `https`; the port defaults to 80 and 443; any path is
    /// ignored, as gRPC has none.
    ///
    /// Needs no runtime. The connection's background task is spawned on the tokio runtime of
    /// the first query, so use a client within one runtime.
    pub fn build(self) -> Result<QueryClient, Error> {
        let url =
            influxdb3_tls::parse_host_url(&self.host).map_err(|e| Error::config(e.to_string()))?;
        let tls = url.scheme() == "https";
        let host = url.host_str().unwrap_or_default();
        let port = url
            .port_or_known_default()
            .unwrap_or(if tls { 443 } else { 80 });
        let endpoint_uri = format!("{}://{host}:{port}", url.scheme());

        let user_agent = self.user_agent.unwrap_or_else(default_user_agent);
        let endpoint = Endpoint::from_shared(endpoint_uri.clone())
            .map_err(|e| {
                Error::config(format!(
                    "host `{}` is not a valid URI: {e}",
                    influxdb3_tls::redact_url(&self.host)
                ))
                .with_source(e)
            })?
            .user_agent(user_agent.clone())
            .map_err(|e| {
                Error::config(format!(
                    "user agent `{user_agent}` is not a valid header value"
                ))
                .with_source(e)
            })?;
        let endpoint = self.options.apply(endpoint, tls)?;

        let mut metadata = MetadataMap::new();
        let token = self.token.filter(|t| !t.is_empty());
        if let Some(token) = &token {
            let mut value = AsciiMetadataValue::try_from(format!("Bearer {token}")).map_err(|_| {
                Error::config("the token holds characters that cannot be sent in a header (only visible ASCII is allowed)")
            })?;
            value.set_sensitive(true);
            metadata.insert("authorization", value);
        }
        append_headers(&mut metadata, &self.headers, "client header")?;

        Ok(QueryClient {
            inner: Arc::new(Inner {
                endpoint_config: endpoint,
                flight: OnceLock::new(),
                max_decoding_message_size: self.options.max_decoding_message_size_value(),
                accept_gzip: self.options.grpc_compression_value(),
                endpoint: endpoint_uri,
                database: self.database,
                has_token: token.is_some(),
                metadata,
                header_names: self.headers.into_iter().map(|(k, _)| k).collect(),
                query_timeout: self.options.query_timeout_value(),
            }),
        })
    }
}

fn append_headers(
    metadata: &mut MetadataMap,
    headers: &[(String, String)],
    what: &str,
) -> Result<(), Error> {
    for (name, value) in headers {
        let key = AsciiMetadataKey::from_str(name).map_err(|_| {
            Error::config(format!("{what} name `{}` is not a valid gRPC metadata key (lower-case ASCII letters, digits, `-`, `_`, `.`; not ending in `-bin`)", name.escape_debug()))
        })?;
        let value = AsciiMetadataValue::try_from(value.as_str()).map_err(|_| {
            Error::config(format!(
                "{what} `{}` has a value that is not visible ASCII",
                name.escape_debug()
            ))
        })?;
        metadata.append(key, value);
    }
    Ok(())
}

impl QueryClient {
    /// Starts building a client for `host` (`http://...` or `https://...`).
    pub fn builder(host: impl AsRef<str>) -> QueryClientBuilder {
        QueryClientBuilder {
            host: host.as_ref().to_owned(),
            token: None,
            database: None,
            headers: Vec::new(),
            user_agent: None,
            options: FlightOptions::default(),
        }
    }

    /// The database used by queries that name none.
    pub fn database(&self) -> Option<&str> {
        self.inner.database.as_deref()
    }

    /// Runs a query and reads its whole result into memory (Python's `mode="all"` and
    /// `mode="pandas"`).
    ///
    /// The timeout, if any, covers sending the query and reading every batch.
    ///
    /// ```no_run
    /// # async fn run(client: influxdb3_query::QueryClient) -> Result<(), influxdb3_query::Error> {
    /// let result = client.query("SELECT * FROM home").await?;
    /// println!("{result}"); // an aligned text table
    /// for batch in result.batches() {
    ///     println!("{} rows", batch.num_rows());
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn query(&self, query: impl Into<Query>) -> Result<QueryResult, Error> {
        let query = query.into();
        let timeout = self.timeout_of(&query);
        let run = async {
            let (decoder, schema) = self.start(&query, timeout).await?;
            let batches = RecordBatchStream::new(decoder, schema.clone(), Deadline::none())
                .try_collect::<Vec<_>>()
                .await?;
            Ok(QueryResult::new(schema, batches))
        };
        match timeout {
            Some(t) => tokio::time::timeout(t, run)
                .await
                .map_err(|_| Error::timeout(t))?,
            None => run.await,
        }
    }

    /// Runs a query and returns its batches as a stream, one batch in memory at a time
    /// (Python's `mode="reader"`). The schema is known as soon as this returns.
    ///
    /// The timeout, if any, covers the whole stream: a stream still running when it expires
    /// yields a [`Timeout`](crate::ErrorKind::Timeout) error and ends.
    ///
    /// ```no_run
    /// use futures::TryStreamExt;
    ///
    /// # async fn run(client: influxdb3_query::QueryClient) -> Result<(), influxdb3_query::Error> {
    /// let mut stream = client.query_stream("SELECT * FROM home").await?;
    /// println!("columns: {:?}", stream.schema().fields().iter().map(|f| f.name()).collect::<Vec<_>>());
    /// while let Some(batch) = stream.try_next().await? {
    ///     println!("{} rows", batch.num_rows());
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn query_stream(&self, query: impl Into<Query>) -> Result<RecordBatchStream, Error> {
        let query = query.into();
        let timeout = self.timeout_of(&query);
        let deadline = Deadline::after(timeout);
        let (decoder, schema) = deadline.run(self.start(&query, timeout)).await?;
        Ok(RecordBatchStream::new(decoder, schema, deadline))
    }

    /// Runs a query and returns its batches with each message's `app_metadata` (Python's
    /// `mode="chunk"`).
    ///
    /// ```no_run
    /// use futures::TryStreamExt;
    ///
    /// # async fn run(client: influxdb3_query::QueryClient) -> Result<(), influxdb3_query::Error> {
    /// let mut chunks = client.query_chunks("SELECT * FROM home").await?;
    /// while let Some(chunk) = chunks.try_next().await? {
    ///     println!("{} rows, {} bytes of metadata", chunk.data.num_rows(), chunk.app_metadata.len());
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn query_chunks(&self, query: impl Into<Query>) -> Result<ChunkStream, Error> {
        let query = query.into();
        let timeout = self.timeout_of(&query);
        let deadline = Deadline::after(timeout);
        let (decoder, schema) = deadline.run(self.start(&query, timeout)).await?;
        Ok(ChunkStream::new(decoder, schema, deadline))
    }

    /// Runs a query and returns only the schema of its result (Python's `mode="schema"`).
    /// Reads up to the schema message and then cancels the query; no batches are read.
    ///
    /// ```no_run
    /// # async fn run(client: influxdb3_query::QueryClient) -> Result<(), influxdb3_query::Error> {
    /// let schema = client.query_schema("SELECT * FROM home").await?;
    /// for field in schema.fields() {
    ///     println!("{}: {}", field.name(), field.data_type());
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn query_schema(&self, query: impl Into<Query>) -> Result<SchemaRef, Error> {
        let query = query.into();
        let timeout = self.timeout_of(&query);
        let deadline = Deadline::after(timeout);
        let (_decoder, schema) = deadline.run(self.start(&query, timeout)).await?;
        // Dropping the decoder resets the HTTP/2 stream, which cancels the query on the server.
        Ok(schema)
    }

    /// The query's timeout, or the client's. A timeout of [`NO_TIMEOUT_FROM`] or more (such as
    /// `Duration::MAX`) means no timeout: it could not be added to a clock or sent as a gRPC
    /// deadline.
    fn timeout_of(&self, query: &Query) -> Option<Duration> {
        query
            .timeout
            .or(self.inner.query_timeout)
            .filter(|t| *t < NO_TIMEOUT_FROM)
    }

    /// Sends the DoGet and reads up to (and including) the schema message.
    async fn start(
        &self,
        query: &Query,
        timeout: Option<Duration>,
    ) -> Result<(FlightDataDecoder, SchemaRef), Error> {
        let ticket = query.ticket_json(self.inner.database.as_deref())?;
        let mut request = tonic::Request::new(Ticket {
            ticket: ticket.into(),
        });
        let metadata = request.metadata_mut();
        *metadata = self.inner.metadata.clone();
        append_headers(metadata, &query.headers, "query header")?;
        if let Some(t) = timeout {
            request.set_timeout(t);
        }
        tracing::debug!(
            endpoint = %self.inner.endpoint,
            language = query.language().as_str(),
            "sending Flight DoGet"
        );
        let mut flight = self
            .inner
            .flight
            .get_or_init(|| {
                let client = FlightServiceClient::new(self.inner.endpoint_config.connect_lazy())
                    .max_decoding_message_size(self.inner.max_decoding_message_size);
                if self.inner.accept_gzip {
                    client.accept_compressed(CompressionEncoding::Gzip)
                } else {
                    client
                }
            })
            .clone();
        let response = flight.do_get(request).await.map_err(Error::from_status)?;
        // Every message is checked before arrow-ipc decodes it: a malformed or hostile
        // response is a decode error, never a panic or an allocation abort.
        let mut guard = MessageGuard::new();
        let messages = response.into_inner().map(move |message| {
            let message = message?;
            guard
                .check(&message.data_header, &message.data_body)
                .map_err(|e| FlightError::DecodeError(format!("malformed Flight message: {e}")))?;
            Ok(message)
        });
        let mut decoder = FlightDataDecoder::new(messages);
        loop {
            match std::future::poll_fn(|cx| poll_decoder(&mut decoder, cx)).await {
                Some(Ok(data)) => match data.payload {
                    DecodedPayload::Schema(schema) => return Ok((decoder, schema)),
                    DecodedPayload::None => continue,
                    DecodedPayload::RecordBatch(_) => {
                        return Err(Error::new(
                            crate::ErrorKind::Decode,
                            "the server sent a record batch before the schema",
                        ));
                    }
                },
                Some(Err(e)) => return Err(e),
                None => {
                    return Err(Error::new(
                        crate::ErrorKind::Decode,
                        "the server ended the response without sending a schema",
                    ));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_become_grpc_endpoints() {
        let cases = [
            ("http://localhost:8181", "http://localhost:8181"),
            (
                "https://example.com/some/prefix?x=1",
                "https://example.com:443",
            ),
            ("http://example.com", "http://example.com:80"),
            ("http://[::1]:8181/", "http://[::1]:8181"),
            ("example.com", "https://example.com:443"),
            ("example.com:8181", "https://example.com:8181"),
        ];
        for (host, endpoint) in cases {
            let client = QueryClient::builder(host).build().unwrap();
            assert_eq!(client.inner.endpoint, endpoint, "{host}");
        }
    }

    #[test]
    fn malformed_hosts_are_config_errors() {
        for (host, expected) in [
            ("", "empty"),
            ("ftp://h", "scheme"),
            ("not a url", "invalid host URL"),
            ("http://u:pw@h", "credentials"),
        ] {
            let err = QueryClient::builder(host).build().unwrap_err();
            assert_eq!(err.kind(), crate::ErrorKind::Config, "{host}");
            assert!(err.to_string().contains(expected), "{host}: {err}");
            assert!(!err.to_string().contains("pw"), "{err}");
        }
    }

    #[test]
    fn debug_redacts_the_token_and_header_values() {
        let builder = QueryClient::builder("http://localhost:8181")
            .token("apiv3_secret")
            .header("x-secret", "hidden-value");
        let client = builder.clone().build().unwrap();
        for text in [format!("{builder:?}"), format!("{client:?}")] {
            assert!(!text.contains("apiv3_secret"), "{text}");
            assert!(!text.contains("hidden-value"), "{text}");
            assert!(text.contains("<redacted>"), "{text}");
        }
        // Without a token there is no authorization metadata.
        let client = QueryClient::builder("http://localhost:8181")
            .token("")
            .build()
            .unwrap();
        assert!(client.inner.metadata.get("authorization").is_none());
    }

    #[test]
    fn default_user_agent_names_the_version_and_platform() {
        let ua = default_user_agent();
        assert!(ua.starts_with(&format!("influxdb3-rust/{} (", env!("CARGO_PKG_VERSION"))));
        assert!(ua.contains(std::env::consts::ARCH));
    }
}
