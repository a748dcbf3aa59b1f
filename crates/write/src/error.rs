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
    /// The response body as read (at most 1 MiB), unescaped and uncut.
    body: bytes::Bytes,
    /// The response body was longer than what was read.
    body_truncated: bool,
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
                body: bytes::Bytes::new(),
                body_truncated: false,
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
    /// 429 and 5xx responses except 501 Not Implemented and a body found too large
    /// ([`is_too_large`](Self::is_too_large)).
    pub fn is_retryable(&self) -> bool {
        match self.inner.kind {
            ErrorKind::Connect | ErrorKind::Timeout => true,
            ErrorKind::Http if self.is_too_large() => false,
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

    /// Whether the server refused the request body as too large: a 413, or InfluxDB 3's
    /// `max request size (N bytes) exceeded` (which Core 3.6 answers with a 500 on
    /// `/api/v3/write_lp`).
    pub fn is_too_large(&self) -> bool {
        self.inner.status == Some(StatusCode::PAYLOAD_TOO_LARGE)
            || (self.inner.status.is_some() && self.request_size_limit().is_some())
    }

    /// The server's request size limit in bytes, when its answer states it
    /// (`max request size (10485760 bytes) exceeded`).
    pub fn request_size_limit(&self) -> Option<usize> {
        let text = &self.inner.message;
        let at = text.find("max request size (")? + "max request size (".len();
        let digits = &text[at..];
        let end = digits.find(" bytes)")?;
        digits[..end].parse().ok()
    }

    /// The body of the server's error response as it was read: at most 1 MiB, without the
    /// escaping and shortening applied to [`message`](Self::message). Empty when there was
    /// no response.
    pub fn body(&self) -> &[u8] {
        &self.inner.body
    }

    /// Whether the server's error response was longer than the 1 MiB that was read. Then
    /// [`line_errors`](Self::line_errors) lists only the rejected lines before the cut.
    pub fn body_truncated(&self) -> bool {
        self.inner.body_truncated
    }

    pub(crate) fn with_body_truncated(mut self, truncated: bool) -> Self {
        self.inner.body_truncated = truncated;
        self
    }

    /// Builds the error for a non-2xx response. `body` is the response body; `sent` is the
    /// request body, used to replace the server's truncated `original_line`s.
    pub(crate) fn from_response(
        status: StatusCode,
        headers: HeaderMap,
        body: impl AsRef<[u8]>,
        sent: &[u8],
        url: String,
        path: &str,
    ) -> Self {
        let body = bytes::Bytes::copy_from_slice(body.as_ref());
        let parsed = ErrorBody::parse(&body);
        let retry_after = headers
            .get(http::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| parse_retry_after(v, SystemTime::now()));

        let mut message = parsed.message.map(|m| shown(&m)).unwrap_or_else(|| {
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
        for e in &mut line_errors {
            e.message = shown(&e.message);
            e.original_line = match crate::lines::nth(sent, e.line_number) {
                Some(line) => String::from_utf8_lossy(line).into_owned(),
                None => shown(&e.original_line),
            };
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
        err.inner.body = body;
        err
    }
}

/// The most characters of server text shown in a message; the whole body stays available
/// through [`Error::body`].
const MAX_SHOWN: usize = 512;

/// Server text made fit for a message: control characters escaped (a terminal or a log line
/// cannot be corrupted by them) and cut to [`MAX_SHOWN`] characters.
fn shown(text: &str) -> String {
    let mut out = String::with_capacity(text.len().min(MAX_SHOWN * 2));
    let mut shown = 0;
    for c in text.chars() {
        if shown >= MAX_SHOWN {
            out.push_str(&format!("… ({} bytes in all)", text.len()));
            break;
        }
        if c.is_control() {
            for e in c.escape_default() {
                out.push(e);
                shown += 1;
            }
        } else {
            out.push(c);
            shown += 1;
        }
    }
    out
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

/// The fields of a JSON error body, filled in as they are read, so that a body cut at the
/// read limit keeps everything before the cut.
#[derive(Default)]
struct JsonFields {
    error: Option<String>,
    code: Option<String>,
    message: Option<String>,
    line_errors: Vec<LineError>,
}

#[derive(serde::Deserialize)]
struct JsonLineError {
    error_message: String,
    line_number: usize,
    #[serde(default)]
    original_line: String,
}

impl From<JsonLineError> for LineError {
    fn from(l: JsonLineError) -> Self {
        LineError::new(l.line_number, l.error_message, l.original_line)
    }
}

/// Reads a JSON object into [`JsonFields`] entry by entry (`data` element by element).
struct Collect<'a>(&'a mut JsonFields);

impl<'de> serde::de::Visitor<'de> for Collect<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON error object")
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        while let Some(key) = map.next_key::<String>()? {
            match key.as_str() {
                "error" => self.0.error = map.next_value()?,
                "code" => self.0.code = map.next_value()?,
                "message" => self.0.message = map.next_value()?,
                "data" => map.next_value_seed(Data(&mut self.0.line_errors))?,
                _ => {
                    map.next_value::<serde::de::IgnoredAny>()?;
                }
            }
        }
        Ok(())
    }
}

/// The `data` of a v3 error: one line error, an array of them, or something else (ignored).
struct Data<'a>(&'a mut Vec<LineError>);

impl<'de> serde::de::DeserializeSeed<'de> for Data<'_> {
    type Value = ();

    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> serde::de::Visitor<'de> for Data<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("line errors")
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while let Some(item) = seq.next_element::<serde_json::Value>()? {
            if let Ok(line) = serde_json::from_value::<JsonLineError>(item) {
                self.0.push(line.into());
            }
        }
        Ok(())
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, map: A) -> Result<(), A::Error> {
        let value = <serde_json::Value as serde::Deserialize>::deserialize(
            serde::de::value::MapAccessDeserializer::new(map),
        )?;
        if let Ok(line) = serde_json::from_value::<JsonLineError>(value) {
            self.0.push(line.into());
        }
        Ok(())
    }

    fn visit_unit<E>(self) -> Result<(), E> {
        Ok(())
    }
    fn visit_str<E>(self, _: &str) -> Result<(), E> {
        Ok(())
    }
    fn visit_bool<E>(self, _: bool) -> Result<(), E> {
        Ok(())
    }
    fn visit_i64<E>(self, _: i64) -> Result<(), E> {
        Ok(())
    }
    fn visit_u64<E>(self, _: u64) -> Result<(), E> {
        Ok(())
    }
    fn visit_f64<E>(self, _: f64) -> Result<(), E> {
        Ok(())
    }
}

impl ErrorBody {
    /// Parses the three shapes of PROTOCOL.md §1.3: v3 `{"error", "data"}` (data an object
    /// or an array of line errors), v2 `{"code", "message"}`, or plain text. A JSON body cut
    /// short (it was larger than the read limit) keeps the fields and line errors before the
    /// cut, so a large partial-write answer is still a partial write.
    fn parse(body: &[u8]) -> ErrorBody {
        let text = String::from_utf8_lossy(body);
        let text = text.trim();
        if text.is_empty() {
            return ErrorBody::default();
        }
        let mut fields = JsonFields::default();
        let mut de = serde_json::Deserializer::from_str(text);
        let complete = serde::Deserializer::deserialize_map(&mut de, Collect(&mut fields))
            .and_then(|()| de.end())
            .is_ok();
        let json = complete || text.starts_with('{') && fields.error.is_some();
        if !json {
            return ErrorBody {
                message: Some(text.to_owned()),
                ..ErrorBody::default()
            };
        }
        if let Some(error) = fields.error {
            let partial = error.contains("partial write of line protocol occurred");
            return ErrorBody {
                message: Some(error),
                partial,
                line_errors: fields.line_errors,
            };
        }
        match (fields.code, fields.message) {
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

    /// Seeded fuzzing of error bodies: random bytes, valid partial-write bodies cut at every
    /// length, and byte flips of them. Parsing never panics, messages stay short and free of
    /// control characters, and a cut partial-write body stays a partial write.
    #[test]
    fn error_bodies_of_any_shape_give_short_clean_errors() {
        let mut body =
            String::from(r#"{"error":"partial write of line protocol occurred","data":["#);
        for i in 1..=40 {
            if i > 1 {
                body.push(',');
            }
            body.push_str(&format!(
                r#"{{"error_message":"bad \u0007 line\n{i}","line_number":{i},"original_line":"m f=\u001b{i}"}}"#
            ));
        }
        body.push_str("]}");
        let sent: String = (1..=40).map(|i| format!("m f={i}\n")).collect();
        let check = |bytes: &[u8]| -> Error {
            let err = Error::from_response(
                StatusCode::BAD_REQUEST,
                HeaderMap::new(),
                bytes,
                sent.as_bytes(),
                "http://h/api/v3/write_lp?db=d".into(),
                "/api/v3/write_lp",
            );
            let text = err.to_string();
            assert!(
                !text.chars().any(char::is_control),
                "{:?}",
                text.chars().filter(|c| c.is_control()).collect::<Vec<_>>()
            );
            assert!(err.message().chars().count() <= MAX_SHOWN + 40, "{text}");
            err
        };
        // Every cut of a valid body: once the "error" key is read, it is a partial write
        // with the line errors before the cut.
        let error_read = body.find(r#","data""#).unwrap();
        let mut last_count = 0;
        for cut in 0..=body.len() {
            let err = check(&body.as_bytes()[..cut]);
            if cut > error_read {
                assert_eq!(err.kind(), ErrorKind::PartialWrite, "cut at {cut}");
                assert!(err.line_errors().len() >= last_count, "cut at {cut}");
                last_count = err.line_errors().len();
            }
        }
        assert_eq!(last_count, 40);
        // Random bytes and byte flips.
        let mut state = 0x2545_f491_4f6c_dd1du64;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        for _ in 0..3000 {
            let mut bytes = body.as_bytes().to_vec();
            if next() % 4 == 0 {
                bytes = (0..next() % 700).map(|_| next() as u8).collect();
            } else {
                for _ in 0..1 + next() % 6 {
                    let at = (next() % bytes.len() as u64) as usize;
                    bytes[at] = next() as u8;
                }
            }
            check(&bytes);
        }
        // A long text body is cut, with its length said.
        let long = "é".repeat(5000);
        let err = check(long.as_bytes());
        assert!(
            err.message().ends_with("(10000 bytes in all)"),
            "{}",
            err.message()
        );
        assert_eq!(err.body(), long.as_bytes());
    }
}
