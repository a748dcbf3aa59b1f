//! [`Client`] and [`ClientBuilder`].

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use influxdb3_lp::{EncodeStats, LineEncoder, Precision, ToLineProtocol};
use influxdb3_query::{
    ChunkStream, FlightOptions, Query, QueryClient, QueryResult, RecordBatchStream, SchemaRef,
};
use influxdb3_write::{
    AuthScheme, CloseSummary, Endpoint, FlushSummary, HttpTransport, ServerInfo, WriteParams,
    Writer, write_encoded_now,
};

use crate::Error;
use crate::config::{self, Settings};
use crate::options::{WriteCall, WriteClientOptions, WriteMode};

/// The client for InfluxDB 3 (the Python client's `InfluxDBClient3`): writes line protocol
/// over HTTP, queries over Arrow Flight.
///
/// Build one with [`Client::builder`], [`Client::from_env`] or
/// [`Client::from_connection_string`]. Writes are synchronous unless
/// [`WriteClientOptions::write_options`] gives batching options, as in Python.
///
/// Cheap to clone (an `Arc` inside); clones share the connections and the batching writer.
/// `Send + Sync`. `Debug` never shows the token.
///
/// ```no_run
/// use influxdb_client_3::{Client, Point, Precision, Query, WriteCall};
///
/// # async fn run() -> Result<(), influxdb_client_3::Error> {
/// let client = Client::builder("http://localhost:8181")
///     .database("sensors")
///     .token("apiv3_...")
///     .build()?;
///
/// client.write(Point::new("home").tag("room", "Kitchen").field("temp", 21.5)).await?;
/// client
///     .write_with(
///         "home,room=Living\\ Room temp=21.1,hum=35.9,co=0i 1641024000",
///         WriteCall::new().precision(Precision::Seconds),
///     )
///     .await?;
///
/// let table = client.query("SELECT room, temp FROM home").await?;
/// println!("{table}");
/// let table = client.query(Query::influxql("SELECT DISTINCT(temp) AS val FROM home")).await?;
/// println!("{table}");
/// client.close().await?;
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Client {
    inner: Arc<Inner>,
}

struct Inner {
    host: String,
    database: Option<String>,
    precision: Precision,
    no_sync: bool,
    accept_partial: bool,
    endpoint: Endpoint,
    default_tags: Vec<(String, String)>,
    /// An encoder with the default tags escaped once, cloned for every write.
    encoder: LineEncoder,
    transport: HttpTransport,
    writer: Option<Writer<HttpTransport>>,
    query: QueryClient,
    closed: AtomicBool,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let inner = &self.inner;
        f.debug_struct("Client")
            .field("host", &inner.host)
            .field("database", &inner.database)
            .field("precision", &inner.precision)
            .field("endpoint", &inner.endpoint)
            .field(
                "mode",
                &if inner.writer.is_some() {
                    "batching"
                } else {
                    "synchronous"
                },
            )
            .field("default_tags", &inner.default_tags)
            .field("closed", &inner.closed.load(Ordering::Relaxed))
            .finish_non_exhaustive()
    }
}

/// What one write did.
///
/// In synchronous mode the lines were acknowledged by the server when this is returned; in
/// batching mode they were handed to the background writer (`batched` is true) and their
/// outcome goes to the callbacks.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct WriteResult {
    /// Lines written (or queued, in batching mode).
    pub lines: u64,
    /// Bytes of line protocol (before compression).
    pub bytes: usize,
    /// HTTP requests made (0 in batching mode; more than 1 for bodies over 10 MiB).
    pub requests: usize,
    /// What the encoder wrote and what it left out: records without any field left,
    /// NaN/±Inf or null fields, empty or null tags.
    pub encoded: EncodeStats,
    /// Whether the lines went to the batching writer rather than straight to the server.
    pub batched: bool,
}

/// Configures a [`Client`]. Every setting has the Python/Go client's default.
///
/// ```
/// use std::time::Duration;
/// use influxdb_client_3::{Client, FlightClientOptions, Precision, WriteClientOptions, WriteOptions};
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), influxdb_client_3::Error> {
/// let client = Client::builder("https://influxdb.example.com:8181")
///     .database("sensors")
///     .token("apiv3_...")
///     .precision(Precision::Seconds)
///     .write_client_options(
///         WriteClientOptions::new()
///             .write_options(WriteOptions::default().batch_size(500))
///             .default_tags([("site", "north")]),
///     )
///     .flight_client_options(FlightClientOptions::default().max_decoding_message_size(128 << 20))
///     .header("X-Trace", "1")
///     .write_timeout(Duration::from_secs(30))
///     .query_timeout(Duration::from_secs(60))
///     .build()?;
/// assert!(!format!("{client:?}").contains("apiv3_"));
/// # Ok(()) }
/// ```
#[must_use]
pub struct ClientBuilder {
    host: String,
    token: Option<String>,
    auth_scheme: AuthScheme,
    org: Option<String>,
    database: Option<String>,
    precision: Precision,
    gzip_threshold: Option<usize>,
    no_sync: bool,
    accept_partial: bool,
    use_v2_api: bool,
    write_timeout: Option<Option<Duration>>,
    query_timeout: Option<Duration>,
    disable_grpc_compression: Option<bool>,
    headers: Vec<(String, String)>,
    proxy: Option<String>,
    root_certificates: Vec<Vec<u8>>,
    identity: Option<(Vec<u8>, Vec<u8>)>,
    danger_accept_invalid_certs: bool,
    write_client_options: WriteClientOptions,
    flight_options: FlightOptions,
}

impl fmt::Debug for ClientBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientBuilder")
            .field("host", &influxdb3_tls::redact_url(&self.host))
            .field("token", &self.token.as_ref().map(|_| "<redacted>"))
            .field("auth_scheme", &self.auth_scheme)
            .field("database", &self.database)
            .field("precision", &self.precision)
            .field("write_client_options", &self.write_client_options)
            .finish_non_exhaustive()
    }
}

impl ClientBuilder {
    fn new(host: &str) -> Self {
        ClientBuilder {
            host: host.to_owned(),
            token: None,
            auth_scheme: AuthScheme::Token,
            org: None,
            database: None,
            precision: Precision::Nanoseconds,
            gzip_threshold: None,
            no_sync: false,
            accept_partial: true,
            use_v2_api: true,
            write_timeout: None,
            query_timeout: None,
            disable_grpc_compression: None,
            headers: Vec::new(),
            proxy: None,
            root_certificates: Vec::new(),
            identity: None,
            danger_accept_invalid_certs: false,
            write_client_options: WriteClientOptions::default(),
            flight_options: FlightOptions::default(),
        }
    }

    /// A builder from the `INFLUX_*` environment variables (PROTOCOL.md §7.3). Unset and
    /// empty variables keep the defaults; a value that cannot be parsed is an error naming the
    /// variable. Add callbacks and other options before [`build`](Self::build).
    ///
    /// | Variable | Meaning |
    /// |---|---|
    /// | `INFLUX_HOST` | the server (required): `http[s]://host[:port]`, or `host[:port]` for https |
    /// | `INFLUX_TOKEN` | the token |
    /// | `INFLUX_AUTH_SCHEME` | `Token` (default) or `Bearer` |
    /// | `INFLUX_DATABASE` | the default database |
    /// | `INFLUX_ORG` | the organization (sent to the v2 endpoint) |
    /// | `INFLUX_PRECISION` | `ns`/`nanosecond` (default), `us`, `ms`, `s` (or their long names) |
    /// | `INFLUX_GZIP_THRESHOLD` | gzip bodies of at least this many bytes (default 1000; 0 off) |
    /// | `INFLUX_WRITE_NO_SYNC` | boolean: answer writes before the WAL is persisted (v3 endpoint) |
    /// | `INFLUX_WRITE_ACCEPT_PARTIAL` | boolean: keep the valid lines of a write with invalid ones (default true) |
    /// | `INFLUX_WRITE_USE_V2_API` | boolean: write to `/api/v2/write` (default true) or `/api/v3/write_lp` |
    /// | `INFLUX_DISABLE_GRPC_COMPRESSION` | boolean: do not ask for gzip-compressed query responses |
    /// | `INFLUX_WRITE_TIMEOUT` | a duration: milliseconds (`10000`, as Python) or with units (`10s`, as Go) |
    /// | `INFLUX_QUERY_TIMEOUT` | the same, for queries (default none) |
    ///
    /// Booleans are `true`/`false`, `yes`/`no`, `y`/`n`, `t`/`f` or `1`/`0`, in any case, so
    /// one environment file serves the Python, Go and Rust clients.
    pub fn from_env() -> Result<Self, Error> {
        Ok(Self::from_settings(config::from_env(|name| {
            std::env::var(name).ok()
        })?))
    }

    /// A builder from a connection string (PROTOCOL.md §7.4):
    /// `https://host:8181?token=...&database=...` (a bare `host:8181?...` means https). The
    /// query parameters are `token`, `authScheme`, `org`, `database`, `precision`,
    /// `gzipThreshold`, `writeNoSync`, `writeAcceptPartial`, `writeUseV2Api`, `writeTimeout`,
    /// `queryTimeout` and `disableGrpcCompression`, with the values
    /// [`from_env`](Self::from_env) takes. Other keys (another client's, or a typo) are
    /// ignored with a `tracing` warning; a known key with a bad value is an error.
    ///
    /// ```
    /// let builder = influxdb_client_3::ClientBuilder::from_connection_string(
    ///     "localhost:8181?token=t&database=db&writeTimeout=10000&disableGrpcCompression=yes",
    /// )?;
    /// # let _ = builder;
    /// # Ok::<(), influxdb_client_3::Error>(())
    /// ```
    pub fn from_connection_string(connection_string: &str) -> Result<Self, Error> {
        Ok(Self::from_settings(config::from_connection_string(
            connection_string,
        )?))
    }

    fn from_settings(s: Settings) -> Self {
        let mut b = ClientBuilder::new(s.host.as_deref().unwrap_or_default());
        b.token = s.token;
        if let Some(scheme) = s.auth_scheme {
            b.auth_scheme = scheme;
        }
        b.org = s.org;
        b.database = s.database;
        if let Some(p) = s.precision {
            b.precision = p;
        }
        b.gzip_threshold = s.gzip_threshold;
        if let Some(v) = s.no_sync {
            b.no_sync = v;
        }
        if let Some(v) = s.accept_partial {
            b.accept_partial = v;
        }
        if let Some(v) = s.use_v2_api {
            b.use_v2_api = v;
        }
        if let Some(t) = s.write_timeout {
            b.write_timeout = Some(Some(t));
        }
        b.query_timeout = s.query_timeout;
        b.disable_grpc_compression = s.disable_grpc_compression;
        b
    }

    /// The database to write to and query (Python's `database`).
    pub fn database(mut self, database: impl Into<String>) -> Self {
        self.database = Some(database.into());
        self
    }

    /// The API token. Without one (or with an empty one) no `Authorization` is sent, for
    /// servers started `--without-auth`.
    pub fn token(mut self, token: impl Into<String>) -> Self {
        let token = token.into();
        self.token = (!token.is_empty()).then_some(token);
        self
    }

    /// How the token is sent on writes (default `Token`; queries always use `Bearer`).
    pub fn auth_scheme(mut self, scheme: AuthScheme) -> Self {
        self.auth_scheme = scheme;
        self
    }

    /// The organization, sent on v2 writes (InfluxDB 3 ignores it).
    pub fn org(mut self, org: impl Into<String>) -> Self {
        self.org = Some(org.into());
        self
    }

    /// The default precision of timestamps written (default nanoseconds); a
    /// [`WriteCall::precision`] overrides it per call.
    pub fn precision(mut self, precision: Precision) -> Self {
        self.precision = precision;
        self
    }

    /// Bodies of at least this many bytes are gzip-compressed (default 1000; 0 turns it off).
    pub fn gzip_threshold(mut self, bytes: usize) -> Self {
        self.gzip_threshold = Some(bytes);
        self
    }

    /// Acknowledge writes before the server's WAL is persisted (needs
    /// [`use_v2_api(false)`](Self::use_v2_api)).
    pub fn no_sync(mut self, no_sync: bool) -> Self {
        self.no_sync = no_sync;
        self
    }

    /// Whether the server stores the valid lines of a write with invalid ones (default
    /// `true`; `false` needs [`use_v2_api(false)`](Self::use_v2_api)).
    pub fn accept_partial(mut self, accept_partial: bool) -> Self {
        self.accept_partial = accept_partial;
        self
    }

    /// Write to `/api/v2/write` (`true`, the default, as in the Go client) or to
    /// `/api/v3/write_lp` (`false`, needed for `no_sync` and `accept_partial(false)`).
    pub fn use_v2_api(mut self, use_v2_api: bool) -> Self {
        self.use_v2_api = use_v2_api;
        self
    }

    /// The write mode, default tags and callbacks (Python's `write_client_options`).
    pub fn write_client_options(mut self, options: WriteClientOptions) -> Self {
        self.write_client_options = options;
        self
    }

    /// Shorthand for setting only the write mode of the
    /// [`write_client_options`](Self::write_client_options).
    pub fn write_options(mut self, mode: impl Into<WriteMode>) -> Self {
        self.write_client_options.mode = mode.into();
        self
    }

    /// Shorthand for adding default tags to the
    /// [`write_client_options`](Self::write_client_options).
    pub fn default_tags<K, V>(mut self, tags: impl IntoIterator<Item = (K, V)>) -> Self
    where
        K: Into<String>,
        V: Into<String>,
    {
        self.write_client_options = self.write_client_options.default_tags(tags);
        self
    }

    /// Options of the Flight (query) connection: TLS roots, mTLS identity, server name,
    /// message size (Python's `flight_client_options`).
    pub fn flight_client_options(mut self, options: FlightOptions) -> Self {
        self.flight_options = options;
        self
    }

    /// Adds a header to every write request and every query.
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// The limit on one write request (default 10 s); `None` for no limit.
    pub fn write_timeout(mut self, timeout: impl Into<Option<Duration>>) -> Self {
        self.write_timeout = Some(timeout.into());
        self
    }

    /// The default timeout of queries (default none); [`Query::timeout`] overrides it.
    pub fn query_timeout(mut self, timeout: Duration) -> Self {
        self.query_timeout = Some(timeout);
        self
    }

    /// Stops asking the server for gzip-compressed query responses (Python's
    /// `disable_grpc_compression`; `INFLUX_DISABLE_GRPC_COMPRESSION` in
    /// [`from_env`](Self::from_env)). Compression is on by default; see
    /// [`FlightOptions::disable_grpc_compression`]. This setting wins over the one in
    /// [`flight_client_options`](Self::flight_client_options).
    pub fn disable_grpc_compression(mut self, disable: bool) -> Self {
        self.disable_grpc_compression = Some(disable);
        self
    }

    /// Sends write requests through an HTTP proxy (`http://[user:password@]host:port`).
    pub fn proxy(mut self, proxy_url: impl Into<String>) -> Self {
        self.proxy = Some(proxy_url.into());
        self
    }

    /// Trusts the certificates in this PEM data, for writes and queries, in addition to the
    /// built-in roots (a private CA or a self-signed server certificate).
    pub fn tls_root_certificates_pem(mut self, pem: impl Into<Vec<u8>>) -> Self {
        self.root_certificates.push(pem.into());
        self
    }

    /// Presents this client certificate (PEM, leaf first) and private key (PEM) to a server
    /// that asks for one (mutual TLS), for writes and queries: the Python client's
    /// `cert_file`/`cert_key_file`.
    pub fn tls_identity_pem(
        mut self,
        cert_pem: impl Into<Vec<u8>>,
        key_pem: impl Into<Vec<u8>>,
    ) -> Self {
        self.identity = Some((cert_pem.into(), key_pem.into()));
        self
    }

    /// **Dangerous**: accept any server certificate for writes and queries. Only for tests
    /// against servers with throw-away certificates.
    pub fn danger_accept_invalid_certs(mut self, accept: bool) -> Self {
        self.danger_accept_invalid_certs = accept;
        self
    }

    /// Checks the settings and builds the client.
    ///
    /// In batching mode the background writer is started on the current tokio runtime, so
    /// `build` must then be called inside one (the [`blocking`](crate::blocking) client
    /// brings its own).
    pub fn build(mut self) -> Result<Client, Error> {
        let url = influxdb3_tls::parse_host_url(&self.host)
            .map_err(|e| Error::config(format!("invalid host: {e}")))?;
        if self.use_v2_api && self.no_sync {
            return Err(Error::config(
                "invalid write options: no_sync requires use_v2_api(false) (the v2 endpoint always syncs)",
            ));
        }
        if self.use_v2_api && !self.accept_partial {
            return Err(Error::config(
                "invalid write options: accept_partial(false) requires use_v2_api(false) (the v2 endpoint never accepts partial writes)",
            ));
        }
        if url.scheme() == "http" && self.token.is_some() && !is_loopback(&url) {
            tracing::warn!(
                host = %influxdb3_tls::redact_url(&self.host),
                "the token is sent over plain http:// to a non-loopback host; use https:// to keep it secret"
            );
        }

        let mut transport = HttpTransport::builder(&self.host).auth_scheme(self.auth_scheme);
        let mut query = QueryClient::builder(&self.host);
        if let Some(token) = &self.token {
            transport = transport.token(token.as_str());
            query = query.token(token.as_str());
        }
        if let Some(org) = &self.org {
            transport = transport.org(org.as_str());
        }
        if let Some(db) = &self.database {
            query = query.database(db.as_str());
        }
        if let Some(g) = self.gzip_threshold {
            transport = transport.gzip_threshold(g);
        }
        if let Some(t) = self.write_timeout {
            transport = transport.timeout(t);
        }
        if let Some(p) = &self.proxy {
            transport = transport.proxy(p.as_str());
        }
        let mut flight = self.flight_options.clone();
        for pem in &self.root_certificates {
            transport = transport.tls_root_certificates_pem(pem.clone());
            flight = flight.root_certificates_pem(pem.clone());
        }
        if let Some((cert, key)) = &self.identity {
            transport = transport.tls_identity_pem(cert.clone(), key.clone());
            flight = flight.identity(cert.clone(), key.clone());
        }
        if self.danger_accept_invalid_certs {
            transport = transport.danger_accept_invalid_certs(true);
            flight = flight.danger_accept_invalid_certs(true);
        }
        if let Some(disable) = self.disable_grpc_compression {
            flight = flight.disable_grpc_compression(disable);
        }
        if let Some(t) = self.query_timeout {
            flight = flight.query_timeout(t);
        }
        for (name, value) in &self.headers {
            transport = transport.header(name, value);
            query = query.header(name.as_str(), value.as_str());
        }
        let transport = transport.build()?;
        let query = query.flight_options(flight).build()?;

        let writer = match &self.write_client_options.mode {
            WriteMode::Synchronous => None,
            WriteMode::Batching(options) => {
                if tokio::runtime::Handle::try_current().is_err() {
                    return Err(Error::config(
                        "a batching client must be built inside a tokio runtime (its writer runs as a background task); use influxdb_client_3::blocking::Client outside async code",
                    ));
                }
                let options = options.clone();
                let observer = self.write_client_options.take_observer()?;
                Some(Writer::new(transport.clone(), options, observer))
            }
        };

        let encoder = LineEncoder::new(self.precision)
            .with_tag_order(
                self.write_client_options
                    .tag_order
                    .iter()
                    .map(String::as_str),
            )
            .with_default_tags(
                self.write_client_options
                    .default_tags
                    .iter()
                    .map(|(k, v)| (k.as_str(), v.as_str())),
            );
        encoder
            .check_default_tags()
            .map_err(|e| Error::config(format!("invalid default tag: {e}")))?;
        Ok(Client {
            inner: Arc::new(Inner {
                host: self.host,
                database: self.database,
                precision: self.precision,
                no_sync: self.no_sync,
                accept_partial: self.accept_partial,
                endpoint: if self.use_v2_api {
                    Endpoint::V2
                } else {
                    Endpoint::V3
                },
                encoder,
                default_tags: std::mem::take(&mut self.write_client_options.default_tags),
                transport,
                writer,
                query,
                closed: AtomicBool::new(false),
            }),
        })
    }
}

fn is_loopback(url: &url::Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    }
}

/// Lines encoded for one write, with where they go.
pub(crate) struct Encoded {
    pub(crate) params: WriteParams,
    /// The lines as the encoder wrote and counted them: handed on without another scan.
    pub(crate) lines: influxdb3_lp::Encoded,
    pub(crate) stats: EncodeStats,
}

impl Client {
    /// Starts configuring a client for the server at `host`: `http://host[:port]`,
    /// `https://host[:port]`, or a bare `host[:port]`, which means `https` (port 443 unless
    /// given), as in the Python client. A malformed host is an error from
    /// [`build`](ClientBuilder::build).
    ///
    /// ```
    /// use influxdb_client_3::Client;
    ///
    /// let client = Client::builder("us-east-1-1.aws.cloud2.influxdata.com").database("db").build()?;
    /// assert!(Client::builder("ftp://localhost").build().is_err());
    /// # Ok::<(), influxdb_client_3::Error>(())
    /// ```
    pub fn builder(host: impl AsRef<str>) -> ClientBuilder {
        ClientBuilder::new(host.as_ref())
    }

    /// A client from the `INFLUX_*` environment variables; see
    /// [`ClientBuilder::from_env`].
    pub fn from_env() -> Result<Client, Error> {
        ClientBuilder::from_env()?.build()
    }

    /// A client from a connection string such as
    /// `https://host:8181?token=...&database=...`; see
    /// [`ClientBuilder::from_connection_string`].
    ///
    /// ```
    /// let client = influxdb_client_3::Client::from_connection_string(
    ///     "http://localhost:8181?token=my-token&database=sensors&precision=s",
    /// )?;
    /// assert_eq!(client.database(), Some("sensors"));
    /// assert!(!format!("{client:?}").contains("my-token"));
    /// # Ok::<(), influxdb_client_3::Error>(())
    /// ```
    pub fn from_connection_string(connection_string: &str) -> Result<Client, Error> {
        ClientBuilder::from_connection_string(connection_string)?.build()
    }

    /// The server URL.
    pub fn host(&self) -> &str {
        &self.inner.host
    }

    /// The default database.
    pub fn database(&self) -> Option<&str> {
        self.inner.database.as_deref()
    }

    /// The write mode the client was built with.
    pub fn is_batching(&self) -> bool {
        self.inner.writer.is_some()
    }

    /// Writes `record` to the client's database in its precision: a [`Point`](crate::Point),
    /// ready line protocol (`&str`, `String`), a [`Record`](crate::Record), a struct with
    /// `#[derive(ToLineProtocol)]`, a [`RecordBatchLines`](crate::RecordBatchLines) (an Arrow
    /// `RecordBatch` with its [`TableMapping`](crate::TableMapping)), or a `Vec`/slice of
    /// any of these. References work too.
    ///
    /// The record is encoded when `write` is called, so the returned future does not
    /// borrow it. In synchronous mode the future completes with the server's answer; in
    /// batching mode once the lines are buffered (waiting while the buffer is full).
    pub fn write<R: ToLineProtocol>(
        &self,
        record: R,
    ) -> impl Future<Output = Result<WriteResult, Error>> + Send + 'static {
        self.write_with(record, WriteCall::new())
    }

    /// Like [`write`](Self::write), with a per-call database, precision and tags.
    ///
    /// ```no_run
    /// # async fn run(client: influxdb_client_3::Client) -> Result<(), influxdb_client_3::Error> {
    /// use influxdb_client_3::{Precision, WriteCall};
    ///
    /// let line = "home,room=Living\\ Room temp=21.1,hum=35.9,co=0i 1641024000";
    /// let result = client.write_with(line, WriteCall::new().precision(Precision::Seconds)).await?;
    /// assert_eq!(result.lines, 1);
    /// # Ok(()) }
    /// ```
    pub fn write_with<R: ToLineProtocol>(
        &self,
        record: R,
        call: WriteCall,
    ) -> impl Future<Output = Result<WriteResult, Error>> + Send + 'static {
        let encoded = self.encode(&record, &call);
        let client = self.clone();
        async move { client.send(encoded?).await }
    }

    /// Buffers `record` in batching mode without waiting: fails at once with an error for
    /// which [`Error::is_buffer_full`] holds when the writer's buffer
    /// (`max_buffered_lines`/`max_buffered_bytes` of the
    /// [`WriteOptions`](crate::WriteOptions)) has no room for it, where
    /// [`write`](Self::write) would wait. Nothing of a record that fails is buffered. For
    /// producers that would rather drop or divert data than slow down.
    ///
    /// In synchronous mode there is no buffer, so `try_write` is a configuration error: use
    /// [`write`](Self::write).
    ///
    /// ```no_run
    /// # async fn run(client: influxdb_client_3::Client) -> Result<(), influxdb_client_3::Error> {
    /// use influxdb_client_3::Point;
    ///
    /// match client.try_write(Point::new("home").field("temp", 21.5)) {
    ///     Ok(_) => {}
    ///     Err(e) if e.is_buffer_full() => eprintln!("dropped a reading: {e}"),
    ///     Err(e) => return Err(e),
    /// }
    /// # Ok(()) }
    /// ```
    pub fn try_write<R: ToLineProtocol>(&self, record: R) -> Result<WriteResult, Error> {
        self.try_write_with(record, WriteCall::new())
    }

    /// Like [`try_write`](Self::try_write), with a per-call database, precision and tags.
    pub fn try_write_with<R: ToLineProtocol>(
        &self,
        record: R,
        call: WriteCall,
    ) -> Result<WriteResult, Error> {
        let Some(writer) = &self.inner.writer else {
            return Err(Error::config(
                "try_write needs batching mode (a WriteOptions in the write client options); \
                 in synchronous mode use write()",
            ));
        };
        let encoded = self.encode(&record, &call)?;
        let result = WriteResult {
            lines: encoded.stats.lines,
            bytes: encoded.lines.bytes().len(),
            requests: 0,
            encoded: encoded.stats,
            batched: true,
        };
        if !encoded.lines.is_empty() {
            writer.try_write(&encoded.params, encoded.lines.bytes())?;
        }
        Ok(result)
    }

    /// Writes every record of an iterator in one write (one request in synchronous mode, as
    /// long as the body stays under the server's limit), e.g. a filtered or mapped sequence of
    /// points or derive-macro structs. Records are encoded as they are pulled, so nothing but
    /// the encoded bytes is held.
    ///
    /// ```no_run
    /// # async fn run(client: influxdb_client_3::Client) -> Result<(), influxdb_client_3::Error> {
    /// use influxdb_client_3::Point;
    ///
    /// let readings = [("Kitchen", 21.5), ("Living Room", 22.1)];
    /// let points = readings.iter().map(|(room, temp)| Point::new("home").tag("room", *room).field("temp", *temp));
    /// let result = client.write_iter(points).await?;
    /// assert_eq!(result.lines, 2);
    /// # Ok(()) }
    /// ```
    pub fn write_iter<I>(
        &self,
        records: I,
    ) -> impl Future<Output = Result<WriteResult, Error>> + Send + 'static
    where
        I: IntoIterator,
        I::Item: ToLineProtocol,
    {
        self.write_iter_with(records, WriteCall::new())
    }

    /// Like [`write_iter`](Self::write_iter), with a per-call database, precision and tags.
    pub fn write_iter_with<I>(
        &self,
        records: I,
        call: WriteCall,
    ) -> impl Future<Output = Result<WriteResult, Error>> + Send + 'static
    where
        I: IntoIterator,
        I::Item: ToLineProtocol,
    {
        let encoded = self.encode_into(&call, |encoder| encoder.encode_iter(records));
        let client = self.clone();
        async move { client.send(encoded?).await }
    }

    /// Encodes `record` for a write with `call`'s overrides.
    pub(crate) fn encode<R: ToLineProtocol + ?Sized>(
        &self,
        record: &R,
        call: &WriteCall,
    ) -> Result<Encoded, Error> {
        self.encode_into(call, |encoder| encoder.encode(record))
    }

    /// Runs `encode` on an encoder set up for `call` and returns what it produced.
    fn encode_into(
        &self,
        call: &WriteCall,
        encode: impl FnOnce(&mut LineEncoder) -> Result<(), influxdb3_lp::Error>,
    ) -> Result<Encoded, Error> {
        let params = self.params(call)?;
        let mut encoder = self.encoder(&params, call);
        encode(&mut encoder)?;
        Ok(Encoded {
            stats: encoder.stats(),
            lines: encoder.take_encoded(),
            params,
        })
    }

    pub(crate) fn params(&self, call: &WriteCall) -> Result<WriteParams, Error> {
        if self.inner.closed.load(Ordering::Acquire) {
            return Err(Error::Closed);
        }
        let database = call
            .database
            .as_deref()
            .or(self.inner.database.as_deref())
            .ok_or_else(|| {
                Error::config(
                    "no database to write to: set one with ClientBuilder::database or WriteCall::database",
                )
            })?;
        Ok(WriteParams::new(database)
            .precision(call.precision.unwrap_or(self.inner.precision))
            .no_sync(self.inner.no_sync)
            .accept_partial(self.inner.accept_partial)
            .endpoint(self.inner.endpoint))
    }

    pub(crate) fn encoder(&self, params: &WriteParams, call: &WriteCall) -> LineEncoder {
        let encoder = self.inner.encoder.clone().with_precision(params.precision);
        if call.tags.is_empty() {
            encoder
        } else {
            encoder.with_default_tags(call.tags.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        }
    }

    /// Sends (synchronous mode) or queues (batching mode) encoded lines.
    pub(crate) async fn send(&self, encoded: Encoded) -> Result<WriteResult, Error> {
        if self.inner.closed.load(Ordering::Acquire) {
            return Err(Error::Closed);
        }
        let mut result = WriteResult {
            lines: encoded.stats.lines,
            bytes: encoded.lines.bytes().len(),
            requests: 0,
            encoded: encoded.stats,
            batched: self.inner.writer.is_some(),
        };
        if encoded.lines.is_empty() {
            return Ok(result);
        }
        match &self.inner.writer {
            Some(writer) => {
                writer.write_encoded(&encoded.params, encoded.lines).await?;
            }
            None => {
                let outcome =
                    write_encoded_now(&self.inner.transport, &encoded.params, encoded.lines)
                        .await?;
                result.requests = outcome.requests;
            }
        }
        Ok(result)
    }

    /// Runs a query and reads the whole result (Python's `mode="all"` and `"pandas"`).
    ///
    /// Pass SQL text, or a [`Query`] for InfluxQL (`Query::influxql(..)`, Python's
    /// `language="influxql"`), parameters, a timeout, another database or headers. The
    /// result prints as a table (`Display`), and gives its [`schema`](QueryResult::schema),
    /// [`batches`](QueryResult::batches), typed [`rows`](QueryResult::rows) and
    /// [`points`](QueryResult::points).
    pub async fn query(&self, query: impl Into<Query>) -> Result<QueryResult, Error> {
        self.check_open()?;
        Ok(self.inner.query.query(query).await?)
    }

    /// Runs a query and streams its record batches (Python's `mode="reader"`), in bounded
    /// memory.
    pub async fn query_stream(&self, query: impl Into<Query>) -> Result<RecordBatchStream, Error> {
        self.check_open()?;
        Ok(self.inner.query.query_stream(query).await?)
    }

    /// Runs a query and streams its Flight messages with their `app_metadata` (Python's
    /// `mode="chunk"`).
    pub async fn query_chunks(&self, query: impl Into<Query>) -> Result<ChunkStream, Error> {
        self.check_open()?;
        Ok(self.inner.query.query_chunks(query).await?)
    }

    /// Runs a query and returns only the schema of its result (Python's `mode="schema"`).
    pub async fn query_schema(&self, query: impl Into<Query>) -> Result<SchemaRef, Error> {
        self.check_open()?;
        Ok(self.inner.query.query_schema(query).await?)
    }

    /// Asks the server who it is (`GET /ping` with the client's token and HTTP settings):
    /// its version, build and product name. The Python client's `get_server_version()`
    /// (`client.ping().await?.version`); a cheap check of host, TLS and token.
    pub async fn ping(&self) -> Result<ServerInfo, Error> {
        self.check_open()?;
        Ok(self.inner.transport.ping().await?)
    }

    fn check_open(&self) -> Result<(), Error> {
        if self.inner.closed.load(Ordering::Acquire) {
            Err(Error::Closed)
        } else {
            Ok(())
        }
    }

    /// Sends everything the batching writer holds and waits until each batch written before
    /// this call is delivered or handed to the error callback; returns the writer's totals.
    /// In synchronous mode there is nothing to flush and the totals are zero.
    pub async fn flush(&self) -> Result<FlushSummary, Error> {
        match &self.inner.writer {
            Some(writer) => Ok(writer.flush().await?),
            None => Ok(FlushSummary::default()),
        }
    }

    /// Closes the client (Python's `close()`): flushes the batching writer, waits up to
    /// `max_close_wait` for its batches, hands anything undelivered to the error callback,
    /// and stops the writer. Every clone is closed: later writes and queries fail with
    /// [`Error::Closed`]. Closing twice is not an error; the second call returns zeros.
    pub async fn close(&self) -> Result<CloseSummary, Error> {
        if self.inner.closed.swap(true, Ordering::AcqRel) {
            return Ok(CloseSummary::default());
        }
        match &self.inner.writer {
            Some(writer) => Ok(writer.clone().close().await?),
            None => Ok(CloseSummary::default()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};

    /// Everything a `tracing` subscriber writes while `f` runs.
    fn logged(f: impl FnOnce()) -> String {
        #[derive(Clone, Default)]
        struct Buffer(Arc<Mutex<Vec<u8>>>);
        impl std::io::Write for Buffer {
            fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
                self.0.lock().unwrap().extend_from_slice(bytes);
                Ok(bytes.len())
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }
        let buffer = Buffer::default();
        let writer = buffer.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_writer(move || writer.clone())
            .with_max_level(tracing::Level::TRACE)
            .finish();
        tracing::subscriber::with_default(subscriber, f);
        let bytes = buffer.0.lock().unwrap().clone();
        String::from_utf8_lossy(&bytes).into_owned()
    }

    #[test]
    fn unknown_connection_string_keys_are_ignored_with_a_warning() {
        let log = logged(|| {
            let client = Client::from_connection_string(
                "http://localhost:8181?token=t&database=db&timeout=secret-5&org=o",
            );
            assert!(client.is_ok(), "{client:?}");
        });
        assert!(log.contains("WARN"), "{log}");
        assert!(log.contains("`timeout`"), "{log}");
        assert!(!log.contains("secret-5"), "{log}");
    }

    #[test]
    fn credentials_in_the_host_never_reach_errors_logs_or_debug() {
        let hosts = [
            "http://user:SECRET@127.0.0.1:99999",
            "localhost:8181?token=SECRET",
            "http://example.com:8181?token=SECRET",
            "http://user:SECRET@example.com:8181",
            "ftp://user:SECRET@example.com",
        ];
        for host in hosts {
            let log = logged(|| {
                let builder = Client::builder(host).token("apiv3_TOKEN");
                let debug = format!("{builder:?}");
                assert!(!debug.contains("SECRET"), "{debug}");
                match builder.build() {
                    Ok(client) => {
                        let debug = format!("{client:?}");
                        assert!(!debug.contains("SECRET"), "{debug}");
                    }
                    Err(err) => {
                        let text = format!("{err} {err:?}");
                        assert!(!text.contains("SECRET"), "{host}: {text}");
                    }
                }
                if let Err(err) = influxdb3_query::QueryClient::builder(host).build() {
                    assert!(!err.to_string().contains("SECRET"), "{host}: {err}");
                }
                if let Err(err) = influxdb3_write::HttpTransport::builder(host).build() {
                    assert!(!err.to_string().contains("SECRET"), "{host}: {err}");
                }
            });
            assert!(!log.contains("SECRET"), "{host}: {log}");
            assert!(!log.contains("apiv3_TOKEN"), "{host}: {log}");
        }
        // Credentials in the host are refused before anything is logged, without echoing them.
        let log = logged(|| {
            let err = Client::builder("http://user:SECRET@example.com:8181")
                .token("t")
                .build()
                .err()
                .map(|e| e.to_string())
                .unwrap_or_default();
            assert!(err.contains("credentials"), "{err}");
        });
        assert!(!log.contains("SECRET"), "{log}");
        // The plain-http warning names the host.
        let log = logged(|| {
            let _ = Client::builder("http://example.com:8181")
                .token("t")
                .build();
        });
        assert!(log.contains("example.com"), "{log}");
    }

    #[test]
    fn an_invalid_default_tag_fails_the_build() {
        let err = Client::builder("http://localhost:8181")
            .database("db")
            .default_tags([("site", "north"), ("bad", "line\nbreak")])
            .build()
            .unwrap_err();
        assert!(
            matches!(&err, Error::Config(m) if m.starts_with("invalid default tag")),
            "{err}"
        );
    }
}
