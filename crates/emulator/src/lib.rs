//! An in-process emulator of InfluxDB 3 Core, for tests, examples and local development.
//!
//! One TCP port serves the HTTP API (writes, SQL/InfluxQL queries over HTTP, database
//! management, `/health`, `/ping`) and Arrow Flight `DoGet` queries (gRPC over HTTP/2), like
//! the real server. Data lives in memory as Arrow, queries run on DataFusion. Status codes,
//! error bodies and stored results follow InfluxDB 3 Core 3.6.0 as recorded in the shared
//! conformance corpus (`../shared/conformance/cases.jsonl`), which the crate's tests replay.
//!
//! Like the server, the emulator keeps one row per measurement, tag set and timestamp (a
//! rewrite merges its fields into the row, the last write winning per field), and simulates
//! the write-ahead log: a write is answered at the next WAL flush unless it says
//! `no_sync=true`, and its data becomes visible to queries at that flush
//! ([`EmulatorBuilder::wal_flush_interval`], 100 ms by default here, 1 s in the binary as in
//! the server).
//!
//! On top of the server, a test gets [fault injection](FaultController) (failed, slow or
//! dropped requests) and [statistics](Stats), including every write body received.
//!
//! # Example
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use influxdb3_emulator::Emulator;
//!
//! let emulator = Emulator::builder().token("my-token").start().await?;
//! println!("listening on {}", emulator.url()); // http://127.0.0.1:<port>
//! assert_eq!(emulator.token(), Some("my-token"));
//! assert_eq!(emulator.stats().requests, 0);
//! emulator.shutdown().await;
//! # Ok(())
//! # }
//! ```
//!
//! # Differences from a real server
//!
//! - Nothing is persisted: data lives in memory until the emulator stops. The WAL is only a
//!   timer (no files, no snapshots, no Parquet); `system.parquet_files` stays empty.
//! - A line that repeats a tag key (`m,t=a,t=b f=1`) is accepted with 204 like on the server,
//!   and the last value is kept. The server stores it in a way that makes every later query
//!   of that table fail (PROTOCOL.md §8.3); the emulator's table stays queryable.
//! - For schema errors, `original_line` is the line's own text (the server re-serializes the
//!   parsed line, which unquotes strings and normalizes floats).
//! - Deleting a database (soft or hard) drops its data at once; retention periods are
//!   accepted and ignored.
//! - Tokens are not managed: the emulator knows one token (or none) given at start; the
//!   token endpoints only answer as a server without auth, or with a bootstrapped admin
//!   token, does. Caches, processing-engine triggers and plugins are not implemented.
//! - `/metrics` serves a few request counters, not the server's metric families.
//! - HTTP query results are computed in full before the response is sent.
//! - A query holds at most 10 000 operators, opening parentheses and keywords (literals,
//!   names and commas do not count, so long `IN` lists are fine); past that the answer is a
//!   400 `the emulator does not run …`. Each query is planned and run on a thread of its own
//!   whose 256 MiB stack is reserved, not used, so a deep expression cannot overflow the stack
//!   of the process the emulator runs in. In a debug build, DataFusion plans long operator
//!   chains slowly (a 5 000-term `OR` takes tens of seconds).
//! - Queries run on DataFusion 55, not the server's version: a few result types and
//!   nullabilities can differ (the known ones, `date_trunc`, `extract`, `concat`, are matched),
//!   and some error texts differ (the Flight text of a SQL syntax error lacks the server's
//!   `: sql parser error: …` tail).
//! - Each query may use 512 MiB: operators that buffer rows draw on a memory pool, functions
//!   that can build huge values (`repeat`, `lpad`, `rpad`) check their result size first, and
//!   an HTTP result larger than that is refused. Past the limit the answer is `Resources
//!   exhausted` (HTTP 500, gRPC `RESOURCE_EXHAUSTED`), never an abort.
//! - `system.queries`, `system.last_caches` and `system.parquet_files` exist with the server's
//!   columns but are always empty; other `system` tables do not exist.
//! - InfluxQL is a subset: no subqueries, no regular expressions in `FROM` or `GROUP BY`, no
//!   `SHOW SERIES` and no transformation functions (`difference`, `top`, `percentile`, …);
//!   those answer 400 `the emulator does not support …`. Syntax errors use the server
//!   parser's words only for the common cases.
//! - `/query` (v1) follows the server's handler for JSON and CSV output but has no chunked
//!   mode.
//!
//! What the emulator does answer is checked on every CI run against 351 request/response
//! pairs recorded from a real InfluxDB 3 Core 3.6.0 (`../shared/conformance/`, replayed by
//! `tests/emulator/conformance.rs`); one case is known to differ (the syntax-error tail above).

mod faults;
mod flight;
mod gapfill;
mod http;
mod influxql;
mod server;
mod sql;
mod state;
mod stats;
mod store;

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

pub use crate::faults::{FaultController, RetryAfter, WriteFault};
pub use crate::stats::{RecordedWrite, Stats};

use crate::state::EmulatorState;
use crate::store::{Limits, Store};

/// The version string `/ping` reports: the InfluxDB 3 Core version the emulator follows
/// (the conformance corpus was recorded from 3.6.0).
pub const VERSION: &str = crate::http::VERSION;

/// Entry point: `Emulator::builder()`.
///
/// ```
/// # async fn demo() -> Result<(), influxdb3_emulator::Error> {
/// let emulator = influxdb3_emulator::Emulator::builder().start().await?;
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct Emulator;

impl Emulator {
    /// A builder with the defaults: `127.0.0.1:0` (an ephemeral port), no token (any or no
    /// token accepted), 10 MiB request limit, Core's limits of 5 databases, 2000 tables and
    /// 500 columns per table, plain HTTP, a 100 ms WAL flush interval
    /// ([`DEFAULT_WAL_FLUSH_INTERVAL`]).
    pub fn builder() -> EmulatorBuilder {
        EmulatorBuilder::default()
    }
}

/// Configures and starts an emulator.
///
/// ```
/// # async fn demo() -> Result<(), influxdb3_emulator::Error> {
/// use influxdb3_emulator::Emulator;
/// let emulator = Emulator::builder()
///     .token("secret")
///     .max_request_size(1024 * 1024)
///     .max_databases(10)
///     .start()
///     .await?;
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct EmulatorBuilder {
    bind: SocketAddr,
    token: Option<String>,
    max_request_size: usize,
    limits: Limits,
    tls: Option<(Vec<u8>, Vec<u8>)>,
    client_ca: Option<Vec<u8>>,
    flight_keep_alive: Duration,
    wal_flush_interval: Duration,
}

/// The WAL flush interval of [`Emulator::builder`]: short, so tests that write and then query
/// wait little, yet long enough that a test can see a synchronous write wait for the flush.
/// The binary uses the server's 1 s.
pub const DEFAULT_WAL_FLUSH_INTERVAL: Duration = Duration::from_millis(100);

impl Default for EmulatorBuilder {
    fn default() -> Self {
        EmulatorBuilder {
            bind: SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
            token: None,
            max_request_size: 10 * 1024 * 1024,
            limits: Limits::default(),
            tls: None,
            client_ca: None,
            flight_keep_alive: Duration::from_secs(5),
            wal_flush_interval: DEFAULT_WAL_FLUSH_INTERVAL,
        }
    }
}

impl std::fmt::Debug for EmulatorBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EmulatorBuilder")
            .field("bind", &self.bind)
            .field("token", &self.token.as_ref().map(|_| "<redacted>"))
            .field("max_request_size", &self.max_request_size)
            .field("limits", &self.limits)
            .field("tls", &self.tls.is_some())
            .field("client_ca", &self.client_ca.is_some())
            .field("flight_keep_alive", &self.flight_keep_alive)
            .field("wal_flush_interval", &self.wal_flush_interval)
            .finish()
    }
}

impl EmulatorBuilder {
    /// The address to listen on. Default `127.0.0.1:0`: an ephemeral port, see
    /// [`EmulatorHandle::addr`].
    pub fn bind(mut self, addr: SocketAddr) -> Self {
        self.bind = addr;
        self
    }

    /// Requires this token on every request (HTTP and Flight). Without it, any token or none
    /// is accepted (like `--without-auth`), but a malformed `Authorization` header still gets
    /// 400.
    pub fn token(mut self, token: impl Into<String>) -> Self {
        self.token = Some(token.into());
        self
    }

    /// The largest request body accepted, raw and after gunzip. Default 10 MiB (10485760).
    pub fn max_request_size(mut self, bytes: usize) -> Self {
        self.max_request_size = bytes;
        self
    }

    /// The most databases that can exist. Default 5, Core's limit.
    pub fn max_databases(mut self, n: usize) -> Self {
        self.limits.databases = n;
        self
    }

    /// The most tables over all databases. Default 2000, Core's limit.
    pub fn max_tables(mut self, n: usize) -> Self {
        self.limits.tables = n;
        self
    }

    /// The most tag plus field columns per table. Default 500, Core's limit.
    pub fn max_columns_per_table(mut self, n: usize) -> Self {
        self.limits.columns = n;
        self
    }

    /// Serves HTTPS and gRPC over TLS with this PEM certificate chain and PEM private key
    /// (ALPN `h2` and `http/1.1`). [`EmulatorHandle::url`] then is `https://localhost:<port>`,
    /// so the certificate should name `localhost`.
    pub fn tls(mut self, cert_chain_pem: impl Into<Vec<u8>>, key_pem: impl Into<Vec<u8>>) -> Self {
        self.tls = Some((cert_chain_pem.into(), key_pem.into()));
        self
    }

    /// Requires client certificates signed by this PEM CA (mutual TLS). Needs [`tls`](Self::tls).
    pub fn tls_client_ca(mut self, ca_pem: impl Into<Vec<u8>>) -> Self {
        self.client_ca = Some(ca_pem.into());
        self
    }

    /// How long a Flight query stream may stay idle, once its schema has been sent, before
    /// the emulator sends an empty (0-row) batch as a keep-alive, as the server does.
    /// Default 5 s, the server's interval; shorter values let tests see keep-alives, and
    /// `Duration::ZERO` turns them off.
    pub fn flight_keep_alive(mut self, idle: Duration) -> Self {
        self.flight_keep_alive = idle;
        self
    }

    /// How often the simulated write-ahead log is flushed, like the server's
    /// `--wal-flush-interval` (1 s by default there). Default
    /// [`DEFAULT_WAL_FLUSH_INTERVAL`] (100 ms).
    ///
    /// As on the server, a write without `no_sync=true` is answered after the next flush
    /// (every write waiting for a flush is answered at that flush), a `no_sync=true` write
    /// at once, and the data of either becomes visible to queries at the flush. Schema
    /// changes (new databases, tables and columns) take effect at once.
    /// `Duration::ZERO` flushes every write as it is stored: writes are answered and visible
    /// at once.
    pub fn wal_flush_interval(mut self, interval: Duration) -> Self {
        self.wal_flush_interval = interval;
        self
    }

    /// Binds the port and starts serving in the background on the current tokio runtime.
    ///
    /// # Errors
    ///
    /// [`Error::Bind`] when the address cannot be bound, [`Error::Tls`] when the certificates
    /// or key cannot be used.
    pub async fn start(self) -> Result<EmulatorHandle, Error> {
        let tls = match &self.tls {
            Some((cert, key)) => Some(tls_acceptor(cert, key, self.client_ca.as_deref())?),
            None if self.client_ca.is_some() => {
                return Err(Error::Tls(
                    "tls_client_ca needs a server certificate: call tls(cert, key) too".into(),
                ));
            }
            None => None,
        };
        let listener = TcpListener::bind(self.bind)
            .await
            .map_err(|source| Error::Bind {
                addr: self.bind,
                source,
            })?;
        let addr = listener.local_addr().map_err(|source| Error::Bind {
            addr: self.bind,
            source,
        })?;
        let state = Arc::new(EmulatorState {
            store: Store::new(self.limits, self.wal_flush_interval.is_zero()),
            faults: Arc::default(),
            stats: Arc::default(),
            token: self.token,
            max_request_size: self.max_request_size,
            cluster_uuid: crate::http::uuid_v4(),
            flight_keep_alive: self.flight_keep_alive,
        });
        let grpc = server::GrpcService::new(tonic::service::Routes::new(
            crate::flight::flight_service(Arc::clone(&state)),
        ));
        let (stop, stopped) = watch::channel(false);
        if !self.wal_flush_interval.is_zero() {
            tokio::spawn(wal_flusher(
                Arc::clone(&state),
                self.wal_flush_interval,
                stopped.clone(),
            ));
        }
        let task = tokio::spawn(server::serve(
            listener,
            tls.clone(),
            Arc::clone(&state),
            grpc,
            stopped,
        ));
        let url = if tls.is_some() {
            format!("https://localhost:{}", addr.port())
        } else {
            format!("http://{addr}")
        };
        Ok(EmulatorHandle {
            addr,
            url,
            state,
            stop,
            task: Some(task),
        })
    }
}

/// Flushes the simulated WAL every `interval` until the emulator stops, then flushes once
/// more and releases every write still waiting.
async fn wal_flusher(
    state: Arc<EmulatorState>,
    interval: Duration,
    mut stop: watch::Receiver<bool>,
) {
    let mut ticks = tokio::time::interval_at(tokio::time::Instant::now() + interval, interval);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = ticks.tick() => state.store.flush(),
            _ = stop.wait_for(|stopped| *stopped) => break,
        }
    }
    state.store.close();
}

fn tls_acceptor(
    cert_pem: &[u8],
    key_pem: &[u8],
    client_ca: Option<&[u8]>,
) -> Result<tokio_rustls::TlsAcceptor, Error> {
    let tls_error = |e: influxdb3_tls::PemError| Error::Tls(e.to_string());
    let certs =
        influxdb3_tls::certificates(cert_pem, "the certificate chain PEM").map_err(tls_error)?;
    let key = influxdb3_tls::private_key(key_pem, "the private key PEM").map_err(tls_error)?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ServerConfig::builder_with_provider(Arc::clone(&provider))
        .with_safe_default_protocol_versions()
        .map_err(|e| Error::Tls(e.to_string()))?;
    let builder = match client_ca {
        None => builder.with_no_client_auth(),
        Some(ca_pem) => {
            let mut roots = rustls::RootCertStore::empty();
            for cert in
                influxdb3_tls::certificates(ca_pem, "the client CA PEM").map_err(tls_error)?
            {
                roots
                    .add(cert)
                    .map_err(|e| Error::Tls(format!("using the client CA: {e}")))?;
            }
            let verifier = rustls::server::WebPkiClientVerifier::builder_with_provider(
                Arc::new(roots),
                provider,
            )
            .build()
            .map_err(|e| Error::Tls(format!("building the client verifier: {e}")))?;
            builder.with_client_cert_verifier(verifier)
        }
    };
    let mut config = builder
        .with_single_cert(certs, key)
        .map_err(|e| Error::Tls(format!("using the certificate and key: {e}")))?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(tokio_rustls::TlsAcceptor::from(Arc::new(config)))
}

/// A running emulator. Dropping it shuts the server down (in the background);
/// [`shutdown`](Self::shutdown) does so and waits.
pub struct EmulatorHandle {
    addr: SocketAddr,
    url: String,
    state: Arc<EmulatorState>,
    stop: watch::Sender<bool>,
    task: Option<JoinHandle<()>>,
}

impl std::fmt::Debug for EmulatorHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EmulatorHandle")
            .field("url", &self.url)
            .field("token", &self.state.token.as_ref().map(|_| "<redacted>"))
            .finish()
    }
}

impl EmulatorHandle {
    /// The base URL: `http://127.0.0.1:<port>`, or `https://localhost:<port>` with TLS.
    pub fn url(&self) -> String {
        self.url.clone()
    }

    /// The address the emulator listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The token the emulator requires, if any.
    pub fn token(&self) -> Option<&str> {
        self.state.token.as_deref()
    }

    /// Controls fault injection.
    pub fn faults(&self) -> FaultController {
        FaultController {
            faults: Arc::clone(&self.state.faults),
            stats: Arc::clone(&self.state.stats),
        }
    }

    /// A snapshot of the statistics so far.
    pub fn stats(&self) -> Stats {
        self.state.stats.snapshot()
    }

    /// Starts (or stops) recording write bodies in [`Stats::writes`]; same as
    /// [`FaultController::record_bodies`].
    pub fn record_bodies(&self, on: bool) {
        self.state.stats.set_record_bodies(on);
    }

    /// Stops accepting connections, lets open requests finish (at most 5 s) and returns once
    /// the port is closed.
    pub async fn shutdown(mut self) {
        let _ = self.stop.send(true);
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for EmulatorHandle {
    fn drop(&mut self) {
        // The server task closes the listener and finishes open connections on its own.
        let _ = self.stop.send(true);
    }
}

/// Why an emulator could not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The listen address could not be bound.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address asked for.
        addr: SocketAddr,
        /// The operating system's error.
        #[source]
        source: std::io::Error,
    },
    /// The TLS certificate, key or client CA could not be used.
    #[error("TLS configuration error: {0}")]
    Tls(String),
}
