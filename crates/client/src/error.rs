//! The one error type of the facade.

use std::path::PathBuf;
use std::time::Duration;

use influxdb3_write::LineError;

/// Every failure of the client: configuration, encoding, writing, querying and file ingest.
///
/// The variants keep the underlying crates' errors, with their detail; the accessors
/// ([`status`](Error::status), [`message`](Error::message),
/// [`line_errors`](Error::line_errors), [`retry_after`](Error::retry_after),
/// [`grpc_code`](Error::grpc_code)) reach that detail without matching. Python's
/// `InfluxDBError` is an alias of this type, [`InfluxDBError`](crate::InfluxDBError).
///
/// The token never appears in an error.
///
/// ```
/// use influxdb_client_3::{Client, Error};
///
/// let err = Client::builder("ftp://localhost:8181").build().unwrap_err();
/// assert!(matches!(err, Error::Config(_)));
/// assert!(err.to_string().contains("http"));
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The client, a call or the environment is configured wrongly; nothing was sent.
    #[error("invalid configuration: {0}")]
    Config(String),
    /// A record could not be encoded as line protocol; nothing was sent.
    #[error("cannot encode the record: {0}")]
    Encode(#[from] influxdb3_lp::Error),
    /// A write failed (HTTP error, rejected lines, timeout, connection failure, closed
    /// writer).
    #[error("write failed: {0}")]
    Write(#[from] influxdb3_write::Error),
    /// A query failed.
    #[error("query failed: {0}")]
    Query(#[from] influxdb3_query::Error),
    /// A file could not be read or parsed.
    #[cfg(feature = "ingest")]
    #[error("{0}")]
    Ingest(#[from] influxdb3_ingest::Error),
    /// `write_file` stopped part way: `source` says why, `rows_written` how many rows of the
    /// file had been handed to the writer (and, in synchronous mode, acknowledged by the
    /// server) before the failure.
    #[error("writing {path}: {source} ({rows_written} rows, {lines_written} lines were written before the error)", path = path.display())]
    WriteFile {
        /// The file.
        path: PathBuf,
        /// Rows of the file written before the error.
        rows_written: u64,
        /// Lines written before the error.
        lines_written: u64,
        /// The cause.
        source: Box<Error>,
    },
    /// The client was closed with [`Client::close`](crate::Client::close).
    #[error("the client is closed")]
    Closed,
}

impl Error {
    pub(crate) fn config(message: impl Into<String>) -> Self {
        Error::Config(message.into())
    }

    /// The error at the bottom of a [`WriteFile`](Error::WriteFile) chain, or `self`.
    fn root(&self) -> &Error {
        match self {
            Error::WriteFile { source, .. } => source.root(),
            other => other,
        }
    }

    /// The HTTP status of a failed write, when the server answered.
    ///
    /// ```
    /// # fn f(err: influxdb_client_3::Error) {
    /// if err.status() == Some(401) {
    ///     eprintln!("check the token");
    /// }
    /// # }
    /// ```
    pub fn status(&self) -> Option<u16> {
        match self.root() {
            Error::Write(e) => e.status().map(|s| s.as_u16()),
            _ => None,
        }
    }

    /// The server's (or the underlying library's) message, without the context this type's
    /// `Display` adds.
    pub fn message(&self) -> String {
        match self.root() {
            Error::Write(e) => e.message().to_owned(),
            Error::Query(e) => e.message().to_owned(),
            other => other.to_string(),
        }
    }

    /// The lines the server rejected in a failed or partial write.
    pub fn line_errors(&self) -> &[LineError] {
        match self.root() {
            Error::Write(e) => e.line_errors(),
            _ => &[],
        }
    }

    /// How long the server asked to wait before retrying (`Retry-After`).
    pub fn retry_after(&self) -> Option<Duration> {
        match self.root() {
            Error::Write(e) => e.retry_after(),
            _ => None,
        }
    }

    /// The gRPC status code of a failed query.
    pub fn grpc_code(&self) -> Option<influxdb3_query::Code> {
        match self.root() {
            Error::Query(e) => e.code(),
            _ => None,
        }
    }

    /// Whether a [`try_write`](crate::Client::try_write) found the batching writer's buffer
    /// full (nothing of the record was buffered; [`write`](crate::Client::write) would have
    /// waited for room).
    pub fn is_buffer_full(&self) -> bool {
        matches!(self.root(), Error::Write(e) if e.kind() == influxdb3_write::ErrorKind::BufferFull)
    }

    /// Whether trying the same operation again may succeed (connection failures, timeouts,
    /// 429 and 5xx responses).
    pub fn is_retryable(&self) -> bool {
        match self.root() {
            Error::Write(e) => e.is_retryable(),
            Error::Query(e) => matches!(
                e.kind(),
                influxdb3_query::ErrorKind::Connect | influxdb3_query::ErrorKind::Timeout
            ),
            _ => false,
        }
    }
}
