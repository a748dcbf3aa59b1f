//! A blocking [`Client`] for code that is not async, like `reqwest::blocking`.
//!
//! It owns a small tokio runtime (one worker thread, which also runs the batching writer
//! in the background) and blocks the calling thread on each call. Do not use it from inside
//! an async runtime: calls made there fail with a configuration error instead of blocking
//! the runtime.
//!
//! ```no_run
//! use influxdb_client_3::blocking::Client;
//! use influxdb_client_3::{Point, Precision, WriteCall};
//!
//! # fn main() -> Result<(), influxdb_client_3::Error> {
//! let client = Client::builder("http://localhost:8181").database("sensors").token("apiv3_...").build()?;
//! client.write(Point::new("home").tag("room", "Kitchen").field("temp", 21.5))?;
//! client.write_with("home,room=Kitchen temp=21.7 1641024000", WriteCall::new().precision(Precision::Seconds))?;
//! println!("{}", client.query("SELECT * FROM home")?);
//! client.close()?;
//! # Ok(()) }
//! ```

use std::fmt;
use std::future::Future;
use std::path::Path;
use std::sync::Arc;

use influxdb3_lp::ToLineProtocol;
use influxdb3_query::{Query, QueryResult, RecordBatch, SchemaRef};
use influxdb3_write::{CloseSummary, FlushSummary};

use crate::{ClientBuilder as AsyncBuilder, Error, WriteCall, WriteResult};

/// The blocking counterpart of [`crate::Client`], with the same methods.
///
/// Cheap to clone; clones share the runtime and the connections. The runtime stops when the
/// last clone is dropped.
///
/// Dropping the last clone closes the client as [`close`](Self::close) does: a batching
/// writer delivers what it holds (within `max_close_wait`) and hands anything undelivered to
/// the error callback before the runtime stops.
#[derive(Clone)]
pub struct Client {
    inner: crate::Client,
    runtime: Arc<tokio::runtime::Runtime>,
    _closer: Arc<Closer>,
}

/// Closes the client when the last [`Client`] clone is dropped, on the client's runtime, while
/// that runtime still runs (dropping the runtime first would cancel the writer's task and
/// lose the lines it holds).
struct Closer {
    inner: crate::Client,
    runtime: Arc<tokio::runtime::Runtime>,
}

impl Drop for Closer {
    fn drop(&mut self) {
        let close = || {
            // Undelivered lines reach the error callback; there is no one to return an error to.
            let _ = self.runtime.block_on(self.inner.close());
        };
        if tokio::runtime::Handle::try_current().is_ok() {
            // Dropped inside an async runtime, where `block_on` is not allowed: close from a
            // thread of its own and wait for it.
            std::thread::scope(|scope| {
                scope.spawn(close);
            });
        } else {
            close();
        }
    }
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("blocking::Client")
            .field(&self.inner)
            .finish()
    }
}

/// Configures a blocking [`Client`]: the same settings as [`crate::ClientBuilder`].
#[must_use]
#[derive(Debug)]
pub struct ClientBuilder {
    inner: AsyncBuilder,
}

impl ClientBuilder {
    /// Applies `f` to the async builder, to reach every setting:
    ///
    /// ```
    /// use influxdb_client_3::blocking::Client;
    ///
    /// let client = Client::builder("http://localhost:8181")
    ///     .database("sensors")
    ///     .with(|b| b.header("X-Trace", "1"))
    ///     .build()?;
    /// # Ok::<(), influxdb_client_3::Error>(())
    /// ```
    pub fn with(mut self, f: impl FnOnce(AsyncBuilder) -> AsyncBuilder) -> Self {
        self.inner = f(self.inner);
        self
    }

    /// The database to write to and query.
    pub fn database(self, database: impl Into<String>) -> Self {
        self.with(|b| b.database(database))
    }

    /// The API token.
    pub fn token(self, token: impl Into<String>) -> Self {
        self.with(|b| b.token(token))
    }

    /// The write mode, default tags and callbacks.
    pub fn write_client_options(self, options: crate::WriteClientOptions) -> Self {
        self.with(|b| b.write_client_options(options))
    }

    /// The options of the Flight (query) connection.
    pub fn flight_client_options(self, options: crate::FlightClientOptions) -> Self {
        self.with(|b| b.flight_client_options(options))
    }

    /// Builds the client and its runtime.
    pub fn build(self) -> Result<Client, Error> {
        refuse_inside_runtime()?;
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("influxdb3-blocking")
            .enable_all()
            .build()
            .map_err(|e| {
                Error::config(format!("cannot start the blocking client's runtime: {e}"))
            })?;
        // Built inside the runtime so that a batching writer starts on it.
        let inner = {
            let _guard = runtime.enter();
            self.inner.build()?
        };
        let runtime = Arc::new(runtime);
        Ok(Client {
            _closer: Arc::new(Closer {
                inner: inner.clone(),
                runtime: runtime.clone(),
            }),
            inner,
            runtime,
        })
    }
}

fn refuse_inside_runtime() -> Result<(), Error> {
    if tokio::runtime::Handle::try_current().is_ok() {
        return Err(Error::config(
            "the blocking client cannot be used inside an async runtime; use influxdb_client_3::Client there",
        ));
    }
    Ok(())
}

impl Client {
    /// Starts configuring a blocking client for `host`.
    pub fn builder(host: impl AsRef<str>) -> ClientBuilder {
        ClientBuilder {
            inner: crate::Client::builder(host),
        }
    }

    /// A blocking client from the `INFLUX_*` environment variables; see
    /// [`crate::ClientBuilder::from_env`].
    pub fn from_env() -> Result<Client, Error> {
        ClientBuilder {
            inner: AsyncBuilder::from_env()?,
        }
        .build()
    }

    /// A blocking client from a connection string; see
    /// [`crate::ClientBuilder::from_connection_string`].
    pub fn from_connection_string(connection_string: &str) -> Result<Client, Error> {
        ClientBuilder {
            inner: AsyncBuilder::from_connection_string(connection_string)?,
        }
        .build()
    }

    fn block_on<F: Future>(&self, future: F) -> Result<F::Output, Error> {
        refuse_inside_runtime()?;
        Ok(self.runtime.block_on(future))
    }

    /// The async client inside, sharing this client's connections (use it on this
    /// client's runtime only).
    pub fn as_async(&self) -> &crate::Client {
        &self.inner
    }

    /// Writes `record`; see [`crate::Client::write`].
    pub fn write<R: ToLineProtocol>(&self, record: R) -> Result<WriteResult, Error> {
        self.write_with(record, WriteCall::new())
    }

    /// Writes `record` with per-call options; see [`crate::Client::write_with`].
    pub fn write_with<R: ToLineProtocol>(
        &self,
        record: R,
        call: WriteCall,
    ) -> Result<WriteResult, Error> {
        let future = self.inner.write_with(record, call);
        self.block_on(future)?
    }

    /// Buffers `record` in batching mode without waiting, failing when the buffer is full;
    /// see [`crate::Client::try_write`].
    pub fn try_write<R: ToLineProtocol>(&self, record: R) -> Result<WriteResult, Error> {
        self.inner.try_write(record)
    }

    /// Writes every record of an iterator in one write; see [`crate::Client::write_iter`].
    pub fn write_iter<I>(&self, records: I) -> Result<WriteResult, Error>
    where
        I: IntoIterator,
        I::Item: ToLineProtocol,
    {
        self.write_iter_with(records, WriteCall::new())
    }

    /// Like [`write_iter`](Self::write_iter), with per-call options.
    pub fn write_iter_with<I>(&self, records: I, call: WriteCall) -> Result<WriteResult, Error>
    where
        I: IntoIterator,
        I::Item: ToLineProtocol,
    {
        let future = self.inner.write_iter_with(records, call);
        self.block_on(future)?
    }

    /// Runs a query and reads the whole result; see [`crate::Client::query`].
    pub fn query(&self, query: impl Into<Query>) -> Result<QueryResult, Error> {
        self.block_on(self.inner.query(query))?
    }

    /// Runs a query and returns the schema of its result; see
    /// [`crate::Client::query_schema`].
    pub fn query_schema(&self, query: impl Into<Query>) -> Result<SchemaRef, Error> {
        self.block_on(self.inner.query_schema(query))?
    }

    /// Runs a query and iterates over its record batches as they arrive; see
    /// [`crate::Client::query_stream`].
    pub fn query_stream(&self, query: impl Into<Query>) -> Result<BatchIter, Error> {
        let stream = self.block_on(self.inner.query_stream(query))??;
        Ok(BatchIter {
            stream,
            runtime: self.runtime.clone(),
        })
    }

    /// Asks the server who it is; see [`crate::Client::ping`].
    pub fn ping(&self) -> Result<crate::ServerInfo, Error> {
        self.block_on(self.inner.ping())?
    }

    /// Flushes the batching writer; see [`crate::Client::flush`].
    pub fn flush(&self) -> Result<FlushSummary, Error> {
        self.block_on(self.inner.flush())?
    }

    /// Closes the client; see [`crate::Client::close`].
    pub fn close(&self) -> Result<CloseSummary, Error> {
        self.block_on(self.inner.close())?
    }

    /// Writes the rows of a file; see [`crate::Client::write_file`]. Configure the returned
    /// [`WriteFile`] and call [`send`](WriteFile::send).
    #[cfg(feature = "ingest")]
    pub fn write_file(&self, path: impl AsRef<Path>) -> WriteFile {
        WriteFile {
            inner: self.inner.write_file(path),
            client: self.clone(),
        }
    }
}

/// The record batches of a query, read as the caller iterates.
pub struct BatchIter {
    stream: influxdb3_query::RecordBatchStream,
    runtime: Arc<tokio::runtime::Runtime>,
}

impl fmt::Debug for BatchIter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BatchIter")
            .field("stream", &self.stream)
            .finish()
    }
}

impl BatchIter {
    /// The schema of the batches.
    pub fn schema(&self) -> SchemaRef {
        self.stream.schema()
    }
}

impl Iterator for BatchIter {
    type Item = Result<RecordBatch, Error>;

    fn next(&mut self) -> Option<Self::Item> {
        use futures::StreamExt;
        if let Err(e) = refuse_inside_runtime() {
            return Some(Err(e));
        }
        self.runtime
            .block_on(self.stream.next())
            .map(|r| r.map_err(Error::from))
    }
}

/// A blocking `write_file` being configured; see [`crate::WriteFile`].
#[cfg(feature = "ingest")]
#[must_use = "a WriteFile does nothing until it is sent"]
#[derive(Debug)]
pub struct WriteFile {
    inner: crate::WriteFile,
    client: Client,
}

#[cfg(feature = "ingest")]
impl WriteFile {
    fn map(mut self, f: impl FnOnce(crate::WriteFile) -> crate::WriteFile) -> Self {
        self.inner = f(self.inner);
        self
    }

    /// See [`crate::WriteFile::measurement_name`].
    pub fn measurement_name(self, name: impl Into<String>) -> Self {
        self.map(|w| w.measurement_name(name))
    }

    /// See [`crate::WriteFile::tag_columns`].
    pub fn tag_columns<I, S>(self, columns: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.map(|w| w.tag_columns(columns))
    }

    /// See [`crate::WriteFile::timestamp_column`].
    pub fn timestamp_column(self, name: impl Into<String>) -> Self {
        self.map(|w| w.timestamp_column(name))
    }

    /// See [`crate::WriteFile::database`].
    pub fn database(self, database: impl Into<String>) -> Self {
        self.map(|w| w.database(database))
    }

    /// See [`crate::WriteFile::write_precision`].
    pub fn write_precision(self, precision: crate::Precision) -> Self {
        self.map(|w| w.write_precision(precision))
    }

    /// See [`crate::WriteFile::file_parser_options`].
    pub fn file_parser_options(self, options: impl Into<crate::FileParserOptions>) -> Self {
        self.map(|w| w.file_parser_options(options))
    }

    /// See [`crate::WriteFile::progress`].
    pub fn progress(self, callback: impl FnMut(&crate::FileProgress) + Send + 'static) -> Self {
        self.map(|w| w.progress(callback))
    }

    /// Runs the write and blocks until it is done.
    pub fn send(self) -> Result<crate::WriteReport, Error> {
        let client = self.client;
        client.block_on(std::future::IntoFuture::into_future(self.inner))?
    }
}
