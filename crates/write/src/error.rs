//! The one error type of the write path, and the parsing of server error responses.

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use http::{HeaderMap, StatusCode};

/// What kind of failure an [`Error`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// Invalid configuration or parameters, found before anything was sent
    /// (bad host URL, bad header, `no_sync` on the v2 endpoint, ...).
    Config,
    /// The connection could not be established, or it broke before a response arrived.
    Connect,
    /// The request (or the connection attempt) took longer than the configured timeout.
    Timeout,
    /// The server answered with a non-2xx status.
    Http,
    /// The server stored the valid lines of a write and rejected others
    /// (v3 `accept_partial=true`); [`Error::line_errors`] lists the rejected lines.
    PartialWrite,
    /// A record could not be encoded as line protocol.
    Encode,
    /// The batching writer was closed (or its background task stopped) before the
    /// operation could complete.
    Closed,
    /// The batching writer's buffer is full ([`Writer::try_write`](crate::Writer::try_write)).
    BufferFull,
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ErrorKind::Config => "configuration error",
            ErrorKind::Connect => "connection error",
            ErrorKind::Timeout => "timeout",
            ErrorKind::Http => "HTTP error",
            ErrorKind::PartialWrite => "partial write",
            ErrorKind::Encode => "encode error",
            ErrorKind::Closed => "writer closed",
            ErrorKind::BufferFull => "buffer full",
        })
    }
}

/// One line the server rejected.
///
/// `line_number` is 1-based and counts the lines of the data the error refers to: the body
/// passed to [`write_now`](crate::write_now), or the `data` handed to a
/// [`WriteObserver`](crate::WriteObserver) callback together with the error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineError {
    line_number: usize,
    message: String,
    original_line: String,
}

impl LineError {
    /// Creates a line error.
    ///
    /// ```
    /// let e = influxdb3_write::LineError::new(2, "No fields were provided", "cpu,host=a");
    /// assert_eq!(e.line_number(), 2);
    /// ```
    pub fn new(
        line_number: usize,
        message: impl Into<String>,
        original_line: impl Into<String>,
    ) -> Self {
        LineError {
            line_number,
            message: message.into(),
            original_line: original_line.into(),
        }
    }

    /// The 1-based number of the rejected line.
    pub fn line_number(&self) -> usize {
        self.line_number
    }

    /// The server's reason for rejecting the line.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The rejected line as it was sent (the server's own copy is cut to 20 bytes; the
    /// client replaces it with the full line from the body it sent whenever it can).
    pub fn original_line(&self) -> &str {
        &self.original_line
    }

    pub(crate) fn with_line_number(mut self, line_number: usize) -> Self {
        self.line_number = line_number;
        self
    }
}

impl fmt::Display for LineError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: {}", self.line_number, self.message)?;
        if !self.original_line.is_empty() {
            write!(f, " (line: {:?})", self.original_line)?;
        }
        Ok(())
    }
}

/// The error of every operation in this crate.
///
/// It says what went wrong and where: the [`kind`](Error::kind), the HTTP status and the
/// server's message when there was a response, the rejected lines of a write, the server's
/// `Retry-After`, and the request URL (which never contains the token).
///
/// ```
/// use influxdb3_write::{Error, ErrorKind};
///
/// fn report(err: &Error) {
///     match err.kind() {
///         ErrorKind::PartialWrite => {
///             for line in err.line_errors() {
///                 eprintln!("rejected line {}: {}", line.line_number(), line.message());
///             }
///         }
///         _ if err.is_retryable() => eprintln!("try again later: {err}"),
///         _ => eprintln!("write failed: {err}"),
///     }
/// }
/// ```
#[derive(Clone)]
pub struct Error {
    inner: Box<Inner>,
}

#[derive(Clone)]
struct Inner {
    kind: ErrorKind,
    message: String,
    status: Option<StatusCode>,
    headers: HeaderMap,
    url: Option<String>,
    line_errors: Vec<LineError>,
    retry_after: Option<Duration>,
    source: Option<Arc<dyn std::error::Error + Send + Sync + 'static>>,
}

impl Error {
    pub(crate) fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Error {
            inner: Box::new(Inner {
                kind,
                message: message.into(),
                status: None,
                headers: HeaderMap::new(),
                url: None,
                line_errors: Vec::new(),
                retry_after: None,
                source: None,
            }),
        }
    }

    pub(crate) fn config(message: impl Into<String>) -> Self {
        Error::new(ErrorKind::Config, message)
    }

    pub(crate) fn with_source(
        mut self,
        source: impl std::error::Error + Send + Sync + 'static,
    ) -> Self {
        self.inner.message = format!(
            "{}: {}",
            self.inner.message,
            crate::transport::chain(&source)
        );
        self.inner.source = Some(Arc::new(source));
        self
    }

    pub(crate) fn with_url(mut self, url: impl Into<String>) -> Self {
        self.inner.url = Some(url.into());
        self
    }

    pub(crate) fn with_message(mut self, message: impl Into<String>) -> Self {
        self.inner.message = message.into();
        self
    }

    pub(crate) fn with_line_errors(mut self, line_errors: Vec<LineError>) -> Self {
        self.inner.line_errors = line_errors;
        self
    }

    /// The kind of failure.
    pub fn kind(&self) -> ErrorKind {
        self.inner.kind
    }

    /// The HTTP status of the server's response, if there was one.
    pub fn status(&self) -> Option<StatusCode> {
        self.inner.status
    }

    /// The headers of the server's response (empty when there was no response).
    pub fn headers(&self) -> &HeaderMap {
        &self.inner.headers
    }

    /// The message: the server's own message for HTTP errors (from a v3 `{"error": ..}`,
    /// a v2 `{"code": .., "message": ..}` or a plain-text body), otherwise a description
    /// of what went wrong.
    pub fn message(&self) -> &str {
        &self.inner.message
    }

    /// The lines the server rejected, numbered as described on [`LineError`].
    pub fn line_errors(&self) -> &[LineError] {
        &self.inner.line_errors
    }

    /// How long the server asked the client to wait (`Retry-After`, as delta-seconds or as
    /// an HTTP date).
    pub fn retry_after(&self) -> Option<Duration> {
        self.inner.retry_after
    }

    /// The URL of the request, if one was made. It never contains the token.
    pub fn url(&self) -> Option<&str> {
        self.inner.url.as_deref()
    }

    /// Whether sending the same data again may succeed: connection failures, timeouts,
    /// 429 and 5xx responses except 501 Not Implemented.
    pub fn is_retryable(&self) -> bool {
        match self.inner.kind {
            ErrorKind::Connect | ErrorKind::Timeout => true,
            ErrorKind::Http => match self.inner.status {
                Some(s) => {
                    s == StatusCode::TOO_MANY_REQUESTS
                        || (s.is_server_error() && s != StatusCode::NOT_IMPLEMENTED)
                }
                None => false,
            },
            _ => false,
        }
    }

    /// Builds the error for a non-2xx response. `body` is the response body; `sent` is the
    /// request body, used to replace the server's truncated `original_line`s.
    pub(crate) fn from_response(
        status: StatusCode,
        headers: HeaderMap,
        body: &[u8],
        sent: &[u8],
        url: String,
        path: &str,
    ) -> Self {
        let parsed = ErrorBody::parse(body);
        let retry_after = headers
            .get(http::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| parse_retry_after(v, SystemTime::now()));

        let mut message = parsed.message.unwrap_or_else(|| {
            status
                .canonical_reason()
                .unwrap_or("no message from the server")
                .to_owned()
        });
        if status == StatusCode::METHOD_NOT_ALLOWED {
            message = format!(
                "{message} (hint: the server does not provide {path}; it may not be an InfluxDB 3 \
                 server, or it needs the other write endpoint, see `Endpoint`)"
            );
        }

        let mut line_errors = parsed.line_errors;
        if !line_errors.is_empty() {
            for e in &mut line_errors {
                if let Some(line) = crate::lines::nth(sent, e.line_number) {
                    e.original_line = String::from_utf8_lossy(line).into_owned();
                }
            }
        }
        let kind = if parsed.partial {
            ErrorKind::PartialWrite
        } else {
            ErrorKind::Http
        };

        let mut err = Error::new(kind, message).with_url(url);
        err.inner.status = Some(status);
        err.inner.headers = headers;
        err.inner.line_errors = line_errors;
        err.inner.retry_after = retry_after;
        err
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("Error");
        d.field("kind", &self.inner.kind)
            .field("message", &self.inner.message);
        if let Some(status) = self.inner.status {
            d.field("status", &status);
        }
        if let Some(url) = &self.inner.url {
            d.field("url", url);
        }
        if !self.inner.line_errors.is_empty() {
            d.field("line_errors", &self.inner.line_errors);
        }
        if let Some(r) = self.inner.retry_after {
            d.field("retry_after", &r);
        }
        if let Some(s) = &self.inner.source {
            d.field("source", s);
        }
        d.finish()
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.inner.status {
            Some(status) => write!(f, "{} {}", self.inner.kind, status)?,
            None => write!(f, "{}", self.inner.kind)?,
        }
        if let Some(url) = &self.inner.url {
            write!(f, " from {url}")?;
        }
        write!(f, ": {}", self.inner.message)?;
        const SHOWN: usize = 5;
        for e in self.inner.line_errors.iter().take(SHOWN) {
            write!(f, "; {e}")?;
        }
        if self.inner.line_errors.len() > SHOWN {
            write!(
                f,
                "; and {} more rejected lines",
                self.inner.line_errors.len() - SHOWN
            )?;
        }
        Ok(())
    }
}

impl From<influxdb3_lp::Error> for Error {
    /// A record that could not be encoded: [`ErrorKind::Encode`], with the encoder's error
    /// (which names the measurement, key, line, row or column) as message and source.
    fn from(e: influxdb3_lp::Error) -> Self {
        Error::new(ErrorKind::Encode, "cannot encode the record").with_source(e)
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.inner
            .source
            .as_ref()
            .map(|s| s.as_ref() as &(dyn std::error::Error + 'static))
    }
}

/// What could be read from an error response body.
#[derive(Debug, Default)]
struct ErrorBody {
    message: Option<String>,
    line_errors: Vec<LineError>,
    /// The server may have stored some lines (v3 partial write shape).
    partial: bool,
}

#[derive(serde::Deserialize)]
struct JsonBody {
    error: Option<String>,
    code: Option<String>,
    message: Option<String>,
    data: Option<serde_json::Value>,
}

#[derive(serde::Deserialize)]
struct JsonLineError {
    error_message: String,
    line_number: usize,
    #[serde(default)]
    original_line: String,
}

impl ErrorBody {
    /// Parses the three shapes of PROTOCOL.md §1.3: v3 `{"error", "data"}` (data an object
    /// or an array of line errors), v2 `{"code", "message"}`, or plain text.
    fn parse(body: &[u8]) -> ErrorBody {
        let text = String::from_utf8_lossy(body);
        let text = text.trim();
        if text.is_empty() {
            return ErrorBody::default();
        }
        let Ok(json) = serde_json::from_str::<JsonBody>(text) else {
            return ErrorBody {
                message: Some(text.to_owned()),
                ..ErrorBody::default()
            };
        };
        if let Some(error) = json.error {
            let partial = error.contains("partial write of line protocol occurred");
            let line_errors = match json.data {
                Some(serde_json::Value::Array(items)) => items
                    .into_iter()
                    .filter_map(|v| serde_json::from_value::<JsonLineError>(v).ok())
                    .map(|l| LineError::new(l.line_number, l.error_message, l.original_line))
                    .collect(),
                Some(v @ serde_json::Value::Object(_)) => {
                    serde_json::from_value::<JsonLineError>(v)
                        .map(|l| {
                            vec![LineError::new(
                                l.line_number,
                                l.error_message,
                                l.original_line,
                            )]
                        })
                        .unwrap_or_default()
                }
                _ => Vec::new(),
            };
            return ErrorBody {
                message: Some(error),
                partial,
                line_errors,
            };
        }
        match (json.code, json.message) {
            (Some(code), Some(message)) => ErrorBody {
                message: Some(format!("{code}: {message}")),
                ..ErrorBody::default()
            },
            (None, Some(message)) => ErrorBody {
                message: Some(message),
                ..ErrorBody::default()
            },
            _ => ErrorBody {
                message: Some(text.to_owned()),
                ..ErrorBody::default()
            },
        }
    }
}

/// Parses a `Retry-After` value: delta-seconds or an HTTP date (relative to `now`).
pub(crate) fn parse_retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    let value = value.trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let at = httpdate::parse_http_date(value).ok()?;
    Some(at.duration_since(now).unwrap_or(Duration::ZERO))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_v3_partial_write_array() {
        let body = br#"{"error":"partial write of line protocol occurred","data":[{"error_message":"bad","line_number":2,"original_line":"cpu v="},{"error_message":"worse","line_number":3,"original_line":"x"}]}"#;
        let sent = b"cpu v=1\ncpu v=\nxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx y=1\n";
        let err = Error::from_response(
            StatusCode::BAD_REQUEST,
            HeaderMap::new(),
            body,
            sent,
            "http://h/api/v3/write_lp?db=d".into(),
            "/api/v3/write_lp",
        );
        assert_eq!(err.kind(), ErrorKind::PartialWrite);
        assert_eq!(err.message(), "partial write of line protocol occurred");
        assert_eq!(err.line_errors().len(), 2);
        assert_eq!(err.line_errors()[0].line_number(), 2);
        assert_eq!(err.line_errors()[0].original_line(), "cpu v=");
        assert_eq!(
            err.line_errors()[1].original_line(),
            "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx y=1"
        );
        assert!(!err.is_retryable());
        let shown = err.to_string();
        assert!(shown.contains("400 Bad Request"), "{shown}");
        assert!(shown.contains("line 2: bad"), "{shown}");
    }

    #[test]
    fn parses_v3_object_data() {
        let body = br#"{"error":"line protocol parsing error","data":{"error_message":"No fields were provided","line_number":1,"original_line":"cpu,host=a val= 123"}}"#;
        let err = Error::from_response(
            StatusCode::BAD_REQUEST,
            HeaderMap::new(),
            body,
            b"",
            "u".into(),
            "/api/v3/write_lp",
        );
        assert_eq!(err.kind(), ErrorKind::Http);
        assert_eq!(err.line_errors().len(), 1);
        assert_eq!(err.line_errors()[0].message(), "No fields were provided");
        // The body sent is empty here, so the server's copy of the line is kept.
        assert_eq!(err.line_errors()[0].original_line(), "cpu,host=a val= 123");
    }

    #[test]
    fn parses_v2_and_plain_text_and_empty() {
        let v2 = Error::from_response(
            StatusCode::BAD_REQUEST,
            HeaderMap::new(),
            br#"{"code":"invalid","message":"write buffer error: incoming write was empty"}"#,
            b"",
            "u".into(),
            "/api/v2/write",
        );
        assert_eq!(
            v2.message(),
            "invalid: write buffer error: incoming write was empty"
        );
        let text = Error::from_response(
            StatusCode::PAYLOAD_TOO_LARGE,
            HeaderMap::new(),
            b"max request size (10485760 bytes) exceeded",
            b"",
            "u".into(),
            "/api/v3/write_lp",
        );
        assert_eq!(text.message(), "max request size (10485760 bytes) exceeded");
        let empty = Error::from_response(
            StatusCode::SERVICE_UNAVAILABLE,
            HeaderMap::new(),
            b"",
            b"",
            "u".into(),
            "/api/v3/write_lp",
        );
        assert_eq!(empty.message(), "Service Unavailable");
        assert!(empty.is_retryable());
        let auth = Error::from_response(
            StatusCode::UNAUTHORIZED,
            HeaderMap::new(),
            br#"{"error": "the request was not authenticated"}"#,
            b"",
            "u".into(),
            "/api/v3/write_lp",
        );
        assert_eq!(auth.message(), "the request was not authenticated");
        assert!(!auth.is_retryable());
    }

    #[test]
    fn method_not_allowed_gets_a_hint() {
        let err = Error::from_response(
            StatusCode::METHOD_NOT_ALLOWED,
            HeaderMap::new(),
            b"",
            b"",
            "u".into(),
            "/api/v3/write_lp",
        );
        assert!(err.message().contains("does not provide /api/v3/write_lp"));
    }

    #[test]
    fn retryable_statuses() {
        let e = |s: u16| {
            Error::from_response(
                StatusCode::from_u16(s).unwrap(),
                HeaderMap::new(),
                b"",
                b"",
                "u".into(),
                "/p",
            )
        };
        assert!(e(429).is_retryable());
        assert!(e(500).is_retryable());
        assert!(e(502).is_retryable());
        assert!(e(503).is_retryable());
        assert!(!e(501).is_retryable());
        assert!(!e(400).is_retryable());
        assert!(!e(413).is_retryable());
        assert!(Error::new(ErrorKind::Timeout, "t").is_retryable());
        assert!(Error::new(ErrorKind::Connect, "c").is_retryable());
        assert!(!Error::config("c").is_retryable());
    }

    #[test]
    fn retry_after_both_forms() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        assert_eq!(parse_retry_after("7", now), Some(Duration::from_secs(7)));
        assert_eq!(parse_retry_after(" 0 ", now), Some(Duration::ZERO));
        let date = httpdate::fmt_http_date(now + Duration::from_secs(30));
        assert_eq!(parse_retry_after(&date, now), Some(Duration::from_secs(30)));
        let past = httpdate::fmt_http_date(now - Duration::from_secs(30));
        assert_eq!(parse_retry_after(&past, now), Some(Duration::ZERO));
        assert_eq!(parse_retry_after("soon", now), None);
        assert_eq!(parse_retry_after("-3", now), None);

        let mut headers = HeaderMap::new();
        headers.insert(http::header::RETRY_AFTER, "12".parse().unwrap());
        let err = Error::from_response(
            StatusCode::TOO_MANY_REQUESTS,
            headers,
            b"",
            b"",
            "u".into(),
            "/p",
        );
        assert_eq!(err.retry_after(), Some(Duration::from_secs(12)));
    }
}
