//! `POST /api/v3/write_lp`, `POST /api/v2/write` and `POST /write` (PROTOCOL.md §2).

use std::io::Read as _;
use std::time::{SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use http::{HeaderValue, StatusCode};
use influxdb3_lp::{FieldValue, ParsedLine, parse_lines};
use serde::Serialize;

use super::{FullRequest, Resp, empty, error_json, json_error_body, plain, v2_error};
use crate::faults::WriteFault;
use crate::state::EmulatorState;
use crate::stats::RecordedWrite;
use crate::store::{LineError, LineInput, Row, StoreError, Value};

/// Which write endpoint a request came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Api {
    /// `/api/v3/write_lp`.
    V3,
    /// `/api/v2/write`.
    V2,
    /// `/write`.
    V1,
}

/// The timestamp unit of a write (PROTOCOL.md §2.1). `Debug` names are the server's, used in
/// the out-of-range message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Precision {
    Auto,
    Second,
    Millisecond,
    Microsecond,
    Nanosecond,
}

impl Precision {
    fn parse(value: &str, api: Api) -> Result<Self, String> {
        Ok(match value {
            "auto" if api == Api::V3 => Precision::Auto,
            "second" | "s" => Precision::Second,
            "millisecond" | "ms" => Precision::Millisecond,
            "microsecond" | "us" | "u" => Precision::Microsecond,
            "nanosecond" | "ns" | "n" => Precision::Nanosecond,
            other => {
                let auto = if api == Api::V3 { "`auto`, " } else { "" };
                return Err(format!(
                    "unknown variant `{other}`, expected one of {auto}`s`, `second`, `millisecond`, `ms`, `microsecond`, `u`, `us`, `n`, `nanosecond`, `ns`"
                ));
            }
        })
    }

    fn multiplier(self) -> i64 {
        match self {
            Precision::Second => 1_000_000_000,
            Precision::Millisecond => 1_000_000,
            Precision::Microsecond => 1_000,
            Precision::Auto | Precision::Nanosecond => 1,
        }
    }

    /// The nanosecond time of a line: its timestamp scaled to ns (with `auto` guessing the
    /// unit from the magnitude), or `now` truncated to the unit.
    fn resolve(self, timestamp: Option<i64>, now: i64) -> Result<i64, String> {
        match timestamp {
            Some(ts) => {
                let unit = if self == Precision::Auto {
                    match ts.unsigned_abs() / 1_000_000_000 {
                        0..5 => Precision::Second,
                        5..5_000 => Precision::Millisecond,
                        5_000..5_000_000 => Precision::Microsecond,
                        _ => Precision::Nanosecond,
                    }
                } else {
                    self
                };
                ts.checked_mul(unit.multiplier())
                    .ok_or_else(|| format!("timestamp, {ts}, out of range for precision: {self:?}"))
            }
            None => Ok(now - now % self.multiplier()),
        }
    }
}

/// What the query string asked for.
struct Params {
    database: String,
    precision: Precision,
    accept_partial: bool,
    /// `no_sync=true`: answer before the WAL flush.
    no_sync: bool,
}

/// A request-level failure, rendered per endpoint.
enum Failure {
    /// A query string the server's serde type rejects (missing or repeated key, bad value),
    /// with serde's text; each endpoint adds its own prefix.
    Params(String),
    /// A parameter error answered with this text as is.
    Plain(String),
    /// A database name rule (§2.2).
    DbName(String),
}

/// Handles a write on any of the three endpoints.
pub(crate) async fn handle(state: &EmulatorState, request: FullRequest, api: Api) -> Resp {
    let decoded = decode_body(state, &request, api);
    let (database, lines, response, wait_for) = match (&decoded, state.faults.take_write_fault()) {
        (_, Some(fault)) => (None, 0, fault_response(&fault), None),
        (Err(response), None) => (None, 0, clone_error(response), None),
        (Ok(body), None) => process(state, &request, api, body),
    };
    if let Some(seq) = wait_for {
        // A synchronous write is answered once the WAL flush has made it durable.
        state.store.wait_flushed(seq).await;
    }
    let status = response.status().as_u16();
    state.stats.record_write(
        || RecordedWrite {
            method: request.method.to_string(),
            path_and_query: redact_token(&request.uri),
            headers: request
                .headers
                .iter()
                .filter(|(name, _)| *name != http::header::AUTHORIZATION)
                .map(|(name, value)| {
                    (
                        name.as_str().to_owned(),
                        String::from_utf8_lossy(value.as_bytes()).into_owned(),
                    )
                })
                .collect(),
            body: decoded
                .as_ref()
                .map_or_else(|_| request.body.clone(), Clone::clone),
            status,
        },
        database.as_deref(),
        lines,
    );
    response
}

/// Decoded bodies are kept for the recorder; an error response is rebuilt for sending.
fn clone_error(response: &(StatusCode, Bytes)) -> Resp {
    plain(response.0, response.1.clone())
}

/// The body after the size check and gunzip, or the error response as (status, body).
fn decode_body(
    state: &EmulatorState,
    request: &FullRequest,
    api: Api,
) -> Result<Bytes, (StatusCode, Bytes)> {
    // `/api/v2/write` answers body errors in its own shape; the other two endpoints with a
    // 500 and the bare message (3.6.0 maps these errors to 500).
    let limit = state.max_request_size;
    let too_large = || {
        let message = format!("max request size ({limit} bytes) exceeded");
        if api == Api::V2 {
            let body =
                serde_json::json!({"code": "request too large", "message": message}).to_string();
            (StatusCode::PAYLOAD_TOO_LARGE, Bytes::from(body))
        } else {
            (StatusCode::INTERNAL_SERVER_ERROR, Bytes::from(message))
        }
    };
    let bad_gzip = |message: String| {
        if api == Api::V2 {
            (
                StatusCode::BAD_REQUEST,
                Bytes::from(v2_json("invalid", &message)),
            )
        } else {
            (StatusCode::INTERNAL_SERVER_ERROR, Bytes::from(message))
        }
    };
    let bad_request = |message: String| {
        let body = if api == Api::V2 {
            v2_json("invalid", &message)
        } else {
            message
        };
        (StatusCode::BAD_REQUEST, Bytes::from(body))
    };
    if request.too_large {
        return Err(too_large());
    }
    let encoding = request
        .header(http::header::CONTENT_ENCODING)
        .map(HeaderValue::as_bytes);
    match encoding {
        None | Some(b"identity") => Ok(request.body.clone()),
        Some(b"gzip") => {
            let mut out = Vec::new();
            let decoder = flate2::read::MultiGzDecoder::new(&request.body[..]);
            match decoder.take(limit as u64 + 1).read_to_end(&mut out) {
                Ok(n) if n > limit => Err(too_large()),
                Ok(_) => Ok(Bytes::from(out)),
                Err(e) => Err(bad_gzip(format!("error decoding gzip stream: {e}"))),
            }
        }
        Some(other) => Err(bad_request(format!(
            "unacceptable content-encoding: {}",
            String::from_utf8_lossy(other)
        ))),
    }
}

fn v2_json(code: &str, message: &str) -> String {
    // Field order matters to byte-exact comparisons: code first.
    format!(
        "{{\"code\":{},\"message\":{}}}",
        serde_json::Value::from(code),
        serde_json::Value::from(message)
    )
}

/// What [`process`] returns: the database written to (if it got that far), the lines
/// stored, the response, and the WAL sequence number to wait for before answering (a
/// synchronous write that stored lines).
type Processed = (Option<String>, u64, Resp, Option<u64>);

/// Validates parameters, database name and lines, and stores them.
fn process(state: &EmulatorState, request: &FullRequest, api: Api, body: &Bytes) -> Processed {
    let params = match parse_params(request, api) {
        Ok(p) => p,
        Err(failure) => return (None, 0, failure_response(failure, api), None),
    };
    let body = match std::str::from_utf8(body) {
        Ok(b) => b,
        Err(e) => {
            let message = format!("body content is not valid utf8: {e}");
            let response = match api {
                Api::V2 => v2_error(StatusCode::BAD_REQUEST, "invalid", &message),
                _ => plain(StatusCode::INTERNAL_SERVER_ERROR, message),
            };
            return (None, 0, response, None);
        }
    };
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_nanos()).unwrap_or(i64::MAX));

    let mut physical_lines: Option<Vec<&str>> = None;
    let mut inputs: Vec<LineInput> = Vec::new();
    for parsed in parse_lines(body) {
        inputs.push(match parsed {
            Ok(line) => to_row(line, params.precision, now),
            Err(e) => {
                // The server reports the N-th physical line for syntax errors (§2.5).
                let lines = physical_lines.get_or_insert_with(|| body.lines().collect());
                Err(LineError {
                    message: e.message,
                    line_number: e.line_number,
                    original_line: lines
                        .get(e.line_number.saturating_sub(1))
                        .map_or_else(String::new, |l| (*l).to_owned()),
                })
            }
        });
    }
    let empty_body = inputs.is_empty();
    let accept_partial = params.accept_partial && api == Api::V3;
    let summary = match state.store.write(&params.database, inputs, accept_partial) {
        Ok(summary) => summary,
        Err(e @ StoreError::TooManyDatabases(_)) => {
            let response = match api {
                Api::V2 => v2_error(
                    StatusCode::BAD_REQUEST,
                    "invalid",
                    &format!("write buffer error: catalog update error: {e}"),
                ),
                _ => error_json(StatusCode::UNPROCESSABLE_ENTITY, &e.to_string()),
            };
            return (None, 0, response, None);
        }
        Err(e) => {
            return (
                None,
                0,
                plain(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
                None,
            );
        }
    };
    if empty_body {
        let response = match api {
            Api::V2 => v2_error(
                StatusCode::BAD_REQUEST,
                "invalid",
                "write buffer error: incoming write was empty",
            ),
            _ => plain(StatusCode::BAD_REQUEST, "incoming write was empty"),
        };
        return (Some(params.database), 0, response, None);
    }
    let stored = summary.lines_stored;
    let wait_for = (stored > 0 && !params.no_sync).then_some(summary.seq);
    let response = match summary.errors.first() {
        None => empty(StatusCode::NO_CONTENT),
        // 3.6.0's `/api/v2/write` gives no detail on bad lines.
        Some(_) if api == Api::V2 => v2_error(
            StatusCode::BAD_REQUEST,
            "invalid",
            "write buffer error: parsing for line protocol failed",
        ),
        Some(first) if !accept_partial => json_error_body(
            StatusCode::BAD_REQUEST,
            &LineErrorBody {
                error: "parsing failed for write_lp endpoint",
                data: WireLineError::from(first),
            },
        ),
        Some(_) => {
            let limit_hit = summary.errors.iter().any(|e| {
                e.message
                    .starts_with("Update to schema would exceed number of")
                    || e.message
                        .starts_with("Adding a new database would exceed limit of")
            });
            let status = if limit_hit {
                StatusCode::UNPROCESSABLE_ENTITY
            } else {
                StatusCode::BAD_REQUEST
            };
            json_error_body(
                status,
                &LineErrorBody {
                    error: "partial write of line protocol occurred",
                    data: summary
                        .errors
                        .iter()
                        .map(WireLineError::from)
                        .collect::<Vec<_>>(),
                },
            )
        }
    };
    (Some(params.database), stored, response, wait_for)
}

fn to_row(line: ParsedLine<'_>, precision: Precision, now: i64) -> LineInput {
    let time = precision
        .resolve(line.timestamp, now)
        .map_err(|message| LineError {
            message,
            line_number: line.line_number,
            original_line: line.text.to_owned(),
        })?;
    let mut columns = Vec::with_capacity(line.tags.len() + line.fields.len());
    for (key, value) in line.tags {
        columns.push((key.into_owned(), Value::Tag(value.into_owned())));
    }
    for (key, value) in line.fields {
        let value = match value {
            FieldValue::Float(v) => Value::Float(v),
            FieldValue::Integer(v) => Value::Integer(v),
            FieldValue::UInteger(v) => Value::UInteger(v),
            FieldValue::String(v) => Value::String(v),
            FieldValue::Boolean(v) => Value::Boolean(v),
        };
        columns.push((key.into_owned(), value));
    }
    Ok((
        Row {
            table: line.measurement.into_owned(),
            columns,
            time,
        },
        line.line_number,
        line.text.to_owned(),
    ))
}

#[derive(Serialize)]
struct LineErrorBody<'a, D> {
    error: &'a str,
    data: D,
}

/// One line error as the server serializes it, `original_line` cut to 20 bytes.
#[derive(Serialize)]
struct WireLineError<'a> {
    error_message: &'a str,
    line_number: usize,
    original_line: &'a str,
}

impl<'a> From<&'a LineError> for WireLineError<'a> {
    fn from(e: &'a LineError) -> Self {
        WireLineError {
            error_message: &e.message,
            line_number: e.line_number,
            original_line: cut_at_char_boundary(&e.original_line, 20),
        }
    }
}

/// The longest prefix of `s` of at most `max` bytes that ends on a character boundary.
fn cut_at_char_boundary(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

fn parse_params(request: &FullRequest, api: Api) -> Result<Params, Failure> {
    let Some(query) = request.query_pairs() else {
        return Err(Failure::Plain(
            match api {
                Api::V3 => "missing query parameter 'db'",
                Api::V2 => "no org/bucket destination provided",
                Api::V1 => "no db destination provided",
            }
            .to_owned(),
        ));
    };
    let get = |key: &str| query.get(key).map_err(|r| Failure::Params(r.message()));
    let precision = match get("precision")? {
        None if api == Api::V3 => Precision::Auto,
        None => Precision::Nanosecond,
        Some(p) => Precision::parse(p, api).map_err(Failure::Params)?,
    };
    let boolean = |key: &str| -> Result<Option<bool>, Failure> {
        match get(key)? {
            None => Ok(None),
            Some("true") => Ok(Some(true)),
            Some("false") => Ok(Some(false)),
            Some(_) => Err(Failure::Params(
                "provided string was not `true` or `false`".to_owned(),
            )),
        }
    };
    let database = match api {
        Api::V3 => {
            let accept_partial = boolean("accept_partial")?.unwrap_or(true);
            let no_sync = boolean("no_sync")?.unwrap_or(false);
            let db = get("db")?
                .ok_or_else(|| Failure::Params("missing field `db`".to_owned()))?
                .to_owned();
            validate_db_name(&db).map_err(Failure::DbName)?;
            return Ok(Params {
                database: db,
                precision,
                accept_partial,
                no_sync,
            });
        }
        Api::V2 => match get("bucket")? {
            Some(b) if !b.is_empty() => b.to_owned(),
            _ => return Err(Failure::Plain("missing bucket value".to_owned())),
        },
        Api::V1 => {
            let db = match get("db")? {
                Some(d) if !d.is_empty() => d.to_owned(),
                Some(_) => return Err(Failure::Plain("no db destination provided".to_owned())),
                None => return Err(Failure::Params("missing field `db`".to_owned())),
            };
            match get("rp")? {
                Some(rp)
                    if !(rp.is_empty()
                        || rp == "''"
                        || rp.eq_ignore_ascii_case("autogen")
                        || rp.eq_ignore_ascii_case("default")) =>
                {
                    format!("{db}/{}", rp.to_lowercase())
                }
                _ => db,
            }
        }
    };
    validate_namespace_name(&database).map_err(Failure::DbName)?;
    validate_db_name(&database).map_err(Failure::DbName)?;
    Ok(Params {
        database,
        precision,
        accept_partial: false,
        no_sync: false,
    })
}

fn failure_response(failure: Failure, api: Api) -> Resp {
    match (failure, api) {
        (Failure::Plain(detail), Api::V3) => plain(StatusCode::BAD_REQUEST, detail),
        (Failure::Params(detail), Api::V3) => {
            plain(StatusCode::BAD_REQUEST, format!("serde error: {detail}"))
        }
        (Failure::Params(detail), Api::V2) => v2_error(
            StatusCode::BAD_REQUEST,
            "invalid",
            &format!("failed to deserialize org/bucket/precision in request: {detail}"),
        ),
        (Failure::Plain(detail) | Failure::DbName(detail), Api::V2) => {
            v2_error(StatusCode::BAD_REQUEST, "invalid", &detail)
        }
        (Failure::Params(detail), Api::V1) => error_json(
            StatusCode::BAD_REQUEST,
            &format!("failed to deserialize db/rp/precision in request: {detail}"),
        ),
        (Failure::Plain(detail) | Failure::DbName(detail), Api::V1)
        | (Failure::DbName(detail), Api::V3) => error_json(StatusCode::BAD_REQUEST, &detail),
    }
}

/// The server's `validate_db_name` (PROTOCOL.md §2.2).
pub(super) fn validate_db_name(name: &str) -> Result<(), String> {
    const INVALID_CHAR: &str = "invalid character in database or rp name: must be ASCII, containing only letters, numbers, underscores, or hyphens";
    const BAD_RP: &str = "db name with invalid retention policy, if providing a retention policy name, must be of form '<db_name>/<rp_name>'";
    let mut chars = name.chars();
    let Some(first) = chars.next() else {
        return Err("db name cannot be empty".to_owned());
    };
    if !first.is_ascii() {
        return Err(INVALID_CHAR.to_owned());
    }
    if !first.is_ascii_alphanumeric() {
        return Err("db name did not start with a number or letter".to_owned());
    }
    let mut slash = false;
    for c in chars {
        match c {
            '/' if slash => return Err(BAD_RP.to_owned()),
            '/' => slash = true,
            c if c.is_ascii_alphanumeric() || c == '_' || c == '-' => {}
            _ => return Err(INVALID_CHAR.to_owned()),
        }
    }
    if name.ends_with('/') {
        return Err(BAD_RP.to_owned());
    }
    if name.len() > 64 {
        return Err("db name too long: max 64".to_owned());
    }
    Ok(())
}

/// The IOx namespace rules v1 and v2 check first: 1 to 64 characters, alphanumeric or
/// `/ _ -`.
fn validate_namespace_name(name: &str) -> Result<(), String> {
    let count = name.chars().count();
    if !(1..=64).contains(&count) {
        return Err(format!(
            "namespace name {name} length must be between 1 and 64 characters"
        ));
    }
    if let Some(position) = name
        .chars()
        .position(|c| !(c.is_alphanumeric() || matches!(c, '/' | '_' | '-')))
    {
        return Err(format!(
            "namespace name '{name}' contains invalid character, character number {position} is not whitelisted"
        ));
    }
    Ok(())
}

fn fault_response(fault: &WriteFault) -> Resp {
    let status = StatusCode::from_u16(fault.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut response = plain(status, fault.body.clone());
    if let Some(retry_after) = &fault.retry_after
        && let Ok(value) = HeaderValue::from_str(&retry_after.header_value())
    {
        response
            .headers_mut()
            .insert(http::header::RETRY_AFTER, value);
    }
    response
}

/// The path and query with the value of a `p=` (token) parameter replaced.
fn redact_token(uri: &http::Uri) -> String {
    let Some(query) = uri.query() else {
        return uri.path().to_owned();
    };
    let query: Vec<String> = query
        .split('&')
        .map(|pair| {
            if pair == "p" || pair.starts_with("p=") {
                "p=REDACTED".to_owned()
            } else {
                pair.to_owned()
            }
        })
        .collect();
    format!("{}?{}", uri.path(), query.join("&"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auto_precision_guesses_the_unit() {
        let p = Precision::Auto;
        assert_eq!(p.resolve(Some(123), 0), Ok(123_000_000_000));
        assert_eq!(
            p.resolve(Some(1_700_000_000_000), 0),
            Ok(1_700_000_000_000_000_000)
        );
        assert_eq!(
            p.resolve(Some(1_700_000_000_000_000), 0),
            Ok(1_700_000_000_000_000_000)
        );
        assert_eq!(
            p.resolve(Some(1_700_000_000_000_000_000), 0),
            Ok(1_700_000_000_000_000_000)
        );
        assert_eq!(p.resolve(None, 1_234_567), Ok(1_234_567));
        assert_eq!(
            Precision::Millisecond.resolve(None, 1_234_567),
            Ok(1_000_000)
        );
        assert_eq!(
            Precision::Second.resolve(Some(i64::MAX / 10), 0),
            Err(format!(
                "timestamp, {}, out of range for precision: Second",
                i64::MAX / 10
            ))
        );
    }

    #[test]
    fn cuts_at_utf8_boundaries() {
        assert_eq!(cut_at_char_boundary("short", 20), "short");
        let s = "aaaaaaaaaaaaaaaaaaaé"; // 19 ASCII + 2-byte char = 21 bytes
        assert_eq!(cut_at_char_boundary(s, 20), "aaaaaaaaaaaaaaaaaaa");
    }

    #[test]
    fn database_names() {
        assert_eq!(validate_db_name("ok_db-1"), Ok(()));
        assert_eq!(validate_db_name("db/rp"), Ok(()));
        assert_eq!(validate_db_name("").unwrap_err(), "db name cannot be empty");
        assert_eq!(
            validate_db_name("_x").unwrap_err(),
            "db name did not start with a number or letter"
        );
        assert!(
            validate_db_name("a b")
                .unwrap_err()
                .starts_with("invalid character")
        );
        assert!(
            validate_db_name("é")
                .unwrap_err()
                .starts_with("invalid character")
        );
        assert!(
            validate_db_name("a/b/c")
                .unwrap_err()
                .starts_with("db name with invalid")
        );
        assert!(
            validate_db_name("a/")
                .unwrap_err()
                .starts_with("db name with invalid")
        );
        assert_eq!(validate_db_name(&"a".repeat(64)), Ok(()));
        assert_eq!(
            validate_db_name(&"a".repeat(65)).unwrap_err(),
            "db name too long: max 64"
        );
    }
}
