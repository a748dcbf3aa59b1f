//! The one error type of this crate.

use std::error::Error as StdError;
use std::fmt;

pub use tonic::Code;

type BoxError = Box<dyn StdError + Send + Sync + 'static>;

/// What kind of failure an [`Error`] is.
///
/// Match on this to decide what to do; read [`Error::message`] and [`Error::hint`] to tell a
/// person what went wrong.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The client or the query was configured wrongly (bad URL, bad header, bad PEM, missing
    /// database, a parameter that cannot be sent). Nothing was sent to the server.
    Config,
    /// The server could not be reached, or the connection broke (gRPC `UNAVAILABLE`, HTTP/2
    /// protocol errors, a server that does not speak gRPC).
    Connect,
    /// The TLS handshake failed, most often because the server's certificate was not trusted.
    Tls,
    /// The token is missing or not valid (gRPC `UNAUTHENTICATED`).
    Unauthenticated,
    /// The token is expired or lacks permission (gRPC `PERMISSION_DENIED`).
    PermissionDenied,
    /// The database does not exist (a status whose message contains `database not found`).
    NotFound,
    /// The server rejected the query: syntax, planning or parameter errors
    /// (gRPC `INVALID_ARGUMENT`).
    InvalidQuery,
    /// The query ran longer than its timeout (client-side, gRPC `DEADLINE_EXCEEDED`, or the
    /// server's `grpc-timeout elapsed`).
    Timeout,
    /// Any other gRPC status from the server (`INTERNAL`, `RESOURCE_EXHAUSTED`, ...).
    Server,
    /// The response could not be decoded as Arrow Flight data.
    Decode,
    /// A result could not be converted into the requested Rust type (see
    /// [`QueryResult::rows`](crate::QueryResult::rows)).
    Deserialize,
}

impl ErrorKind {
    fn describe(self) -> &'static str {
        match self {
            ErrorKind::Config => "invalid configuration",
            ErrorKind::Connect => "connection failed",
            ErrorKind::Tls => "TLS failed",
            ErrorKind::Unauthenticated => "not authenticated",
            ErrorKind::PermissionDenied => "permission denied",
            ErrorKind::NotFound => "database not found",
            ErrorKind::InvalidQuery => "invalid query",
            ErrorKind::Timeout => "query timed out",
            ErrorKind::Server => "server error",
            ErrorKind::Decode => "could not decode the response",
            ErrorKind::Deserialize => "could not convert the result",
        }
    }
}

/// An error from a query: its [kind](ErrorKind), the gRPC [code](Error::code) when the server
/// or transport gave one, the server's message, and a [hint](Error::hint) for common mistakes.
///
/// `Display` prints all of these on one line. The token never appears in an error.
///
/// ```
/// use influxdb3_query::{ErrorKind, QueryClient};
///
/// // A URL with an unsupported scheme fails before anything is sent.
/// let err = QueryClient::builder("ftp://localhost:8181").build().unwrap_err();
/// assert_eq!(err.kind(), ErrorKind::Config);
/// assert!(err.to_string().contains("http:// or https://"));
/// ```
pub struct Error {
    kind: ErrorKind,
    code: Option<Code>,
    message: String,
    hint: Option<&'static str>,
    source: Option<BoxError>,
}

const HINT_UNREACHABLE: &str = "check the host and port: InfluxDB 3 listens on port 8181 by default, and the URL must start with http:// or https://";
const HINT_NOT_GRPC: &str = "the server did not answer as an Arrow Flight (gRPC over HTTP/2) service: this may be an InfluxDB 1.x/2.x server, a proxy that does not pass HTTP/2, or the wrong port";
const HINT_DATABASE: &str = "the database does not exist: check its name, or write data to it first (InfluxDB 3 creates a database on the first write)";
const HINT_TOKEN: &str =
    "the token is missing, wrong or unknown to this server: set it with QueryClientBuilder::token";
const HINT_PERMISSION: &str = "the token is expired or has no permission to read this database";
const HINT_TLS: &str = "TLS verification failed: the server's certificate is not trusted. Add its CA with FlightOptions::root_certificates_pem, set FlightOptions::tls_server_name if the certificate is for another name, or (for testing only) FlightOptions::danger_accept_invalid_certs";
const HINT_TLS_SCHEME: &str = "the TLS handshake failed: if the server does not use TLS, use an http:// URL; if it needs a client certificate, set FlightOptions::identity";
const HINT_CLIENT_CERT: &str =
    "the server requires a client certificate (mutual TLS): set one with FlightOptions::identity";
const HINT_TIMEOUT: &str = "the query took longer than its timeout: raise it with Query::timeout or FlightOptions::query_timeout";
const HINT_MESSAGE_SIZE: &str = "a response message is larger than the client accepts: raise FlightOptions::max_decoding_message_size";

impl Error {
    pub(crate) fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Error {
            kind,
            code: None,
            message: message.into(),
            hint: None,
            source: None,
        }
    }

    pub(crate) fn config(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Config, message)
    }

    pub(crate) fn with_source(mut self, source: impl Into<BoxError>) -> Self {
        self.source = Some(source.into());
        self
    }

    pub(crate) fn timeout(after: std::time::Duration) -> Self {
        let mut e = Self::new(
            ErrorKind::Timeout,
            format!("no complete result within {after:?}"),
        );
        e.hint = Some(HINT_TIMEOUT);
        e
    }

    /// Classifies a gRPC status (from the server or from the transport).
    pub(crate) fn from_status(status: tonic::Status) -> Self {
        let code = status.code();
        let message = status.message().to_owned();
        // The transport's own failures (connect, TLS, h2) come as statuses with a source.
        let causes = source_chain(&status);
        let chain = causes.join(": ").to_ascii_lowercase();
        let lower_msg = message.to_ascii_lowercase();

        let (kind, hint) = if lower_msg.contains("database not found") {
            (ErrorKind::NotFound, Some(HINT_DATABASE))
        } else if is_tls_verification_failure(&status) {
            (ErrorKind::Tls, Some(HINT_TLS))
        } else if chain.contains("certificaterequired") || chain.contains("certificate required") {
            (ErrorKind::Tls, Some(HINT_CLIENT_CERT))
        } else if chain.contains("tls") && code == Code::Unavailable
            || chain.contains("fatal alert")
            || chain.contains("handshake")
            || chain.contains("peer sent no certificates")
        {
            (ErrorKind::Tls, Some(HINT_TLS_SCHEME))
        } else {
            match code {
                Code::Unauthenticated => (ErrorKind::Unauthenticated, Some(HINT_TOKEN)),
                Code::PermissionDenied => (ErrorKind::PermissionDenied, Some(HINT_PERMISSION)),
                Code::DeadlineExceeded => (ErrorKind::Timeout, Some(HINT_TIMEOUT)),
                Code::ResourceExhausted if lower_msg.contains("grpc-timeout elapsed") => {
                    (ErrorKind::Timeout, Some(HINT_TIMEOUT))
                }
                Code::OutOfRange | Code::ResourceExhausted
                    if lower_msg.contains("message length too large")
                        || lower_msg.contains("decoded message length")
                        || lower_msg.contains("exceeded while decompressing") =>
                {
                    (ErrorKind::Server, Some(HINT_MESSAGE_SIZE))
                }
                Code::InvalidArgument => (ErrorKind::InvalidQuery, None),
                _ if lower_msg.contains("mapped from http status code")
                    || chain.contains("http2 error")
                    || chain.contains("h2 protocol error")
                    || chain.contains("frame with invalid size")
                    || chain.contains("protocol error") =>
                {
                    (ErrorKind::Connect, Some(HINT_NOT_GRPC))
                }
                Code::Unavailable => {
                    let hint = if chain.contains("connection refused")
                        || chain.contains("dns error")
                        || chain.contains("failed to lookup")
                        || chain.contains("tcp connect error")
                    {
                        Some(HINT_UNREACHABLE)
                    } else {
                        None
                    };
                    (ErrorKind::Connect, hint)
                }
                _ => (ErrorKind::Server, None),
            }
        };
        // The deepest cause is the most specific ("connection refused (os error 111)").
        let detail = match causes.last() {
            Some(cause) if message.is_empty() => cause.clone(),
            Some(cause) if !message.contains(cause.as_str()) => format!("{message}: {cause}"),
            _ => message,
        };
        Error {
            kind,
            code: Some(code),
            message: detail,
            hint,
            source: Some(Box::new(status)),
        }
    }

    /// Classifies an error from the Flight decoder.
    pub(crate) fn from_flight(error: arrow_flight::error::FlightError) -> Self {
        match error {
            arrow_flight::error::FlightError::Tonic(status) => Self::from_status(*status),
            other => Self::new(ErrorKind::Decode, other.to_string()).with_source(other),
        }
    }

    /// What kind of failure this is.
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// The gRPC status code, when the server or the transport gave one.
    pub fn code(&self) -> Option<Code> {
        self.code
    }

    /// The message: the server's status message, or what the client found wrong.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// A hint at the likely cause, for common mistakes (wrong port, missing token, unknown
    /// database, untrusted certificate, ...).
    pub fn hint(&self) -> Option<&str> {
        self.hint
    }

    /// True when the query ran longer than its timeout.
    pub fn is_timeout(&self) -> bool {
        self.kind == ErrorKind::Timeout
    }
}

/// The text of every error in the status's source chain (not the status itself).
fn source_chain(status: &tonic::Status) -> Vec<String> {
    let mut parts: Vec<String> = Vec::new();
    let mut push = |text: String| {
        if !text.is_empty() && !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
    };
    let mut next = StdError::source(status);
    while let Some(err) = next {
        push(err.to_string());
        // io::Error's `source` skips the wrapped error; look inside it explicitly.
        if let Some(io) = err.downcast_ref::<std::io::Error>()
            && let Some(inner) = io.get_ref()
        {
            push(inner.to_string());
        }
        next = err.source();
    }
    parts
}

fn is_tls_verification_failure(status: &tonic::Status) -> bool {
    let mut next = StdError::source(status);
    while let Some(err) = next {
        if let Some(rustls::Error::InvalidCertificate(_)) = err.downcast_ref::<rustls::Error>() {
            return true;
        }
        if let Some(io) = err.downcast_ref::<std::io::Error>()
            && let Some(inner) = io.get_ref()
            && let Some(rustls::Error::InvalidCertificate(_)) =
                inner.downcast_ref::<rustls::Error>()
        {
            return true;
        }
        if err.to_string().contains("invalid peer certificate") {
            return true;
        }
        next = err.source();
    }
    false
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "query: {}", self.kind.describe())?;
        if let Some(code) = self.code {
            write!(f, " (gRPC {code:?})")?;
        }
        if !self.message.is_empty() {
            write!(f, ": {}", self.message)?;
        }
        if let Some(hint) = self.hint {
            write!(f, " (hint: {hint})")?;
        }
        Ok(())
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Error")
            .field("kind", &self.kind)
            .field("code", &self.code)
            .field("message", &self.message)
            .field("hint", &self.hint)
            .finish()
    }
}

impl StdError for Error {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        self.source
            .as_ref()
            .map(|s| s.as_ref() as &(dyn StdError + 'static))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn database_not_found_is_not_found_whatever_the_code() {
        let e = Error::from_status(tonic::Status::internal(
            "Cannot retrieve database: External error: database not found: nope",
        ));
        assert_eq!(e.kind(), ErrorKind::NotFound);
        assert_eq!(e.code(), Some(Code::Internal));
        let text = e.to_string();
        assert!(text.contains("Internal"), "{text}");
        assert!(text.contains("database not found: nope"), "{text}");
        assert!(text.contains("hint: the database does not exist"), "{text}");
    }

    #[test]
    fn status_codes_map_to_kinds() {
        let cases = [
            (
                tonic::Status::unauthenticated("x"),
                ErrorKind::Unauthenticated,
            ),
            (
                tonic::Status::permission_denied("x"),
                ErrorKind::PermissionDenied,
            ),
            (
                tonic::Status::invalid_argument("bad sql"),
                ErrorKind::InvalidQuery,
            ),
            (tonic::Status::deadline_exceeded("late"), ErrorKind::Timeout),
            (
                tonic::Status::resource_exhausted("grpc-timeout elapsed"),
                ErrorKind::Timeout,
            ),
            (tonic::Status::internal("boom"), ErrorKind::Server),
            (
                tonic::Status::unimplemented(
                    "grpc-status header missing, mapped from HTTP status code 404",
                ),
                ErrorKind::Connect,
            ),
        ];
        for (status, kind) in cases {
            let e = Error::from_status(status);
            assert_eq!(e.kind(), kind, "{e}");
        }
        let e = Error::from_status(tonic::Status::unauthenticated("x"));
        assert!(e.hint().is_some_and(|h| h.contains("token")));
        let e = Error::from_status(tonic::Status::unimplemented(
            "grpc-status header missing, mapped from HTTP status code 404",
        ));
        assert!(e.hint().is_some_and(|h| h.contains("InfluxDB 1.x/2.x")));
    }
}
