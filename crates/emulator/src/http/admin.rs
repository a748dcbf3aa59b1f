//! `/health`, `/ping`, `/metrics`, `/api/v3/configure/database`, `/api/v3/configure/table`
//! and the token endpoints (PROTOCOL.md §4; the recorded 3.6.0 corpus where they differ).

use std::time::{SystemTime, UNIX_EPOCH};

use http::{HeaderValue, Method, StatusCode};
use serde::Deserialize;

use super::{FullRequest, Resp, empty, error_json, not_found, plain, typed};
use crate::state::EmulatorState;
use crate::store::{ColumnKind, StoreError};

/// The version the emulator reports on `/ping`: the server version it emulates.
pub(crate) const VERSION: &str = "3.6.0";

/// `OK` without a `Content-Type`, as 3.6.0 answers.
pub(super) fn health() -> Resp {
    plain(StatusCode::OK, "OK")
}

/// A few Prometheus-format counters, without a `Content-Type` (as 3.6.0 sends its own).
pub(super) fn metrics(state: &EmulatorState) -> Resp {
    let stats = state.stats.snapshot();
    let body = format!(
        "# HELP http_requests_total Requests received.\n# TYPE http_requests_total counter\nhttp_requests_total {}\n# HELP write_requests_total Write requests received.\n# TYPE write_requests_total counter\nwrite_requests_total {}\n",
        stats.requests, stats.write_requests
    );
    plain(StatusCode::OK, body)
}

pub(super) fn ping(state: &EmulatorState) -> Resp {
    #[derive(serde::Serialize)]
    // 3.6.0's body: these three keys in this order, no `product_name`.
    struct Ping<'a> {
        version: &'a str,
        revision: &'a str,
        process_id: &'a str,
    }
    let body = serde_json::to_string(&Ping {
        version: VERSION,
        revision: "emulator",
        process_id: &state.cluster_uuid,
    })
    .unwrap_or_default();
    let mut response = typed(StatusCode::OK, "application/json", body);
    let request_id = uuid_v7();
    let headers = response.headers_mut();
    headers.insert("x-influxdb-version", HeaderValue::from_static(VERSION));
    headers.insert("x-influxdb-build", HeaderValue::from_static("Core"));
    if let Ok(id) = HeaderValue::from_str(&request_id) {
        headers.insert("request-id", id.clone());
        headers.insert("x-request-id", id);
    }
    response
}

/// `/api/v3/configure/token*`: the emulator has exactly one (operator) token, given at start.
pub(super) fn token(state: &EmulatorState, request: &FullRequest) -> Resp {
    if state.token.is_none() {
        return plain(
            StatusCode::METHOD_NOT_ALLOWED,
            "endpoint disabled, started without auth",
        );
    }
    if request.method == Method::POST && request.uri.path() == "/api/v3/configure/token/admin" {
        return plain(StatusCode::CONFLICT, "token name already exists, _admin");
    }
    not_found()
}

#[derive(Deserialize)]
struct CreateDatabase {
    db: String,
    #[serde(default)]
    #[allow(dead_code)]
    retention_period: Option<String>,
}

pub(super) fn database(state: &EmulatorState, request: FullRequest) -> Resp {
    match request.method {
        Method::GET => list_databases(state, &request),
        Method::POST | Method::PUT => {
            let content_type = request
                .header(http::header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("");
            if !is_json_media_type(content_type) {
                return plain(
                    StatusCode::UNSUPPORTED_MEDIA_TYPE,
                    "unacceptable content-type, expected: application/json",
                );
            }
            let body: CreateDatabase = match serde_json::from_slice(&request.body) {
                Ok(b) => b,
                Err(e) => {
                    return plain(StatusCode::BAD_REQUEST, format!("serde json error: {e}"));
                }
            };
            if let Err(message) = super::write::validate_db_name(&body.db) {
                return error_json(StatusCode::BAD_REQUEST, &message);
            }
            if request.method == Method::PUT {
                // Retention periods are accepted and ignored: the emulator never expires data.
                return if state.store.contains(&body.db) {
                    empty(StatusCode::OK)
                } else {
                    plain(
                        StatusCode::NOT_FOUND,
                        format!("the requested resource was not found: {}", body.db),
                    )
                };
            }
            match state.store.create_database(&body.db) {
                Ok(()) => empty(StatusCode::OK),
                Err(StoreError::AlreadyExists) => {
                    plain(StatusCode::CONFLICT, StoreError::AlreadyExists.to_string())
                }
                Err(e @ (StoreError::TooManyDatabases(_) | StoreError::Limit(_))) => {
                    error_json(StatusCode::UNPROCESSABLE_ENTITY, &e.to_string())
                }
            }
        }
        Method::DELETE => {
            let query = request.query_pairs();
            let db = match query.as_ref().map(|q| q.get("db")) {
                Some(Ok(Some(db))) => db.to_owned(),
                Some(Err(repeated)) => {
                    return plain(
                        StatusCode::BAD_REQUEST,
                        format!("serde error: {}", repeated.message()),
                    );
                }
                _ => {
                    return plain(StatusCode::BAD_REQUEST, "serde error: missing field `db`");
                }
            };
            if state.store.delete_database(&db, deleted_name(&db)) {
                empty(StatusCode::OK)
            } else {
                plain(
                    StatusCode::NOT_FOUND,
                    format!("the requested resource was not found: {db}"),
                )
            }
        }
        _ => not_found(),
    }
}

fn list_databases(state: &EmulatorState, request: &FullRequest) -> Resp {
    let query = request.query_pairs();
    let get = |key: &str| match &query {
        Some(q) => q.get(key).map_err(|r| r.message()),
        None => Ok(None),
    };
    let format = match get("format") {
        Ok(Some(f)) => f.to_owned(),
        Ok(None) => {
            return plain(
                StatusCode::BAD_REQUEST,
                "serde error: missing field `format`",
            );
        }
        Err(e) => return plain(StatusCode::BAD_REQUEST, format!("serde error: {e}")),
    };
    let show_deleted = match get("show_deleted") {
        Ok(None | Some("false")) => false,
        Ok(Some("true")) => true,
        Ok(Some(_)) => {
            return plain(
                StatusCode::BAD_REQUEST,
                "serde error: provided string was not `true` or `false`",
            );
        }
        Err(e) => return plain(StatusCode::BAD_REQUEST, format!("serde error: {e}")),
    };
    let rows = state.store.list_databases(show_deleted);
    let object = |name: &str, deleted: bool| {
        let mut row = serde_json::Map::new();
        row.insert("iox::database".to_owned(), name.into());
        if show_deleted {
            row.insert("deleted".to_owned(), deleted.into());
        }
        serde_json::Value::Object(row).to_string()
    };
    match format.as_str() {
        "json" => {
            let items: Vec<String> = rows.iter().map(|(n, d)| object(n, *d)).collect();
            typed(
                StatusCode::OK,
                "application/json",
                format!("[{}]", items.join(",")),
            )
        }
        "jsonl" | "json_lines" => {
            let body: String = rows.iter().map(|(n, d)| object(n, *d) + "\n").collect();
            typed(StatusCode::OK, "application/jsonl", body)
        }
        "csv" => {
            let mut body = String::from(if show_deleted {
                "iox::database,deleted\n"
            } else {
                "iox::database\n"
            });
            for (name, deleted) in &rows {
                body.push_str(name);
                if show_deleted {
                    body.push(',');
                    body.push_str(if *deleted { "true" } else { "false" });
                }
                body.push('\n');
            }
            typed(StatusCode::OK, "text/csv", body)
        }
        "pretty" => {
            let width = rows
                .iter()
                .map(|(n, _)| n.len())
                .chain(["iox::database".len()])
                .max()
                .unwrap_or(0);
            let line = format!("+{}+\n", "-".repeat(width + 2));
            let mut body = format!("{line}| {:width$} |\n{line}", "iox::database");
            for (name, _) in &rows {
                body.push_str(&format!("| {name:width$} |\n"));
            }
            // The last border has no line feed.
            body.push_str(line.trim_end_matches('\n'));
            typed(StatusCode::OK, "text/plain; charset=utf-8", body)
        }
        "parquet" => match databases_parquet(&rows, show_deleted) {
            Ok(bytes) => typed(StatusCode::OK, "application/vnd.apache.parquet", bytes),
            Err(e) => plain(StatusCode::INTERNAL_SERVER_ERROR, e),
        },
        other => plain(
            StatusCode::BAD_REQUEST,
            format!(
                "serde error: unknown variant `{other}`, expected one of `parquet`, `csv`, `pretty`, `json`, `json_lines`, `jsonl`"
            ),
        ),
    }
}

/// The database list as a Parquet file: `iox::database` (and `deleted`).
fn databases_parquet(rows: &[(String, bool)], show_deleted: bool) -> Result<Vec<u8>, String> {
    use std::sync::Arc;

    use arrow_array::{ArrayRef, BooleanArray, RecordBatch, StringArray};
    use arrow_schema::{DataType, Field, Schema};

    let mut fields = vec![Field::new("iox::database", DataType::Utf8, false)];
    let mut columns: Vec<ArrayRef> = vec![Arc::new(StringArray::from_iter_values(
        rows.iter().map(|(n, _)| n.as_str()),
    ))];
    if show_deleted {
        fields.push(Field::new("deleted", DataType::Boolean, false));
        columns.push(Arc::new(BooleanArray::from_iter(
            rows.iter().map(|(_, d)| Some(*d)),
        )));
    }
    let batch =
        RecordBatch::try_new(Arc::new(Schema::new(fields)), columns).map_err(|e| e.to_string())?;
    let mut out = Vec::new();
    let mut writer = parquet::arrow::ArrowWriter::try_new(&mut out, batch.schema(), None)
        .map_err(|e| e.to_string())?;
    writer.write(&batch).map_err(|e| e.to_string())?;
    writer.close().map_err(|e| e.to_string())?;
    Ok(out)
}

/// The body of `POST /api/v3/configure/table`.
#[derive(Deserialize)]
struct CreateTable {
    db: String,
    table: String,
    #[serde(default)]
    tags: Vec<String>,
    #[serde(default)]
    fields: Vec<CreateField>,
}

#[derive(Deserialize)]
struct CreateField {
    name: String,
    #[serde(rename = "type")]
    kind: FieldType,
}

/// The field types `POST /api/v3/configure/table` accepts.
#[derive(Deserialize, Clone, Copy)]
#[serde(rename_all = "lowercase")]
enum FieldType {
    Utf8,
    Int64,
    #[serde(rename = "uint64")]
    UInt64,
    Float64,
    Bool,
}

impl FieldType {
    fn kind(self) -> ColumnKind {
        match self {
            FieldType::Utf8 => ColumnKind::String,
            FieldType::Int64 => ColumnKind::Integer,
            FieldType::UInt64 => ColumnKind::UInteger,
            FieldType::Float64 => ColumnKind::Float,
            FieldType::Bool => ColumnKind::Boolean,
        }
    }
}

/// `/api/v3/configure/table`: POST creates a table (and its database), DELETE drops one.
pub(super) fn table(state: &EmulatorState, request: FullRequest) -> Resp {
    match request.method {
        Method::POST => {
            let content_type = request
                .header(http::header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("");
            if !is_json_media_type(content_type) {
                return plain(
                    StatusCode::UNSUPPORTED_MEDIA_TYPE,
                    "unacceptable content-type, expected: application/json",
                );
            }
            let body: CreateTable = match serde_json::from_slice(&request.body) {
                Ok(b) => b,
                Err(e) => {
                    return plain(StatusCode::BAD_REQUEST, format!("serde json error: {e}"));
                }
            };
            if let Err(message) = super::write::validate_db_name(&body.db) {
                return error_json(StatusCode::BAD_REQUEST, &message);
            }
            let fields: Vec<(String, ColumnKind)> = body
                .fields
                .iter()
                .map(|f| (f.name.clone(), f.kind.kind()))
                .collect();
            match state
                .store
                .create_table(&body.db, &body.table, &body.tags, &fields)
            {
                Ok(()) => empty(StatusCode::OK),
                Err(StoreError::AlreadyExists) => {
                    plain(StatusCode::CONFLICT, StoreError::AlreadyExists.to_string())
                }
                Err(e) => error_json(StatusCode::UNPROCESSABLE_ENTITY, &e.to_string()),
            }
        }
        Method::DELETE => {
            let query = request.query_pairs();
            let get = |key: &str| match &query {
                Some(q) => q.get(key).map_err(|r| r.message()),
                None => Ok(None),
            };
            let (db, table) = match (get("db"), get("table")) {
                (Ok(Some(db)), Ok(Some(table))) => (db.to_owned(), table.to_owned()),
                (Err(e), _) | (_, Err(e)) => {
                    return plain(StatusCode::BAD_REQUEST, format!("serde error: {e}"));
                }
                (Ok(None), _) => {
                    return plain(StatusCode::BAD_REQUEST, "serde error: missing field `db`");
                }
                (_, Ok(None)) => {
                    return plain(
                        StatusCode::BAD_REQUEST,
                        "serde error: missing field `table`",
                    );
                }
            };
            if state.store.delete_table(&db, &table) {
                empty(StatusCode::OK)
            } else {
                plain(
                    StatusCode::NOT_FOUND,
                    format!("the requested resource was not found: {table}"),
                )
            }
        }
        _ => not_found(),
    }
}

/// `application/json` or `application/<anything>+json`, parameters ignored.
fn is_json_media_type(content_type: &str) -> bool {
    let essence = content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    essence == "application/json"
        || (essence.starts_with("application/") && essence.ends_with("+json"))
}

/// The name a soft-deleted database gets: `<name>-<YYYYMMDDTHHMMSS>` (UTC).
fn deleted_name(name: &str) -> String {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    let (y, m, d) = civil_from_days(days);
    format!(
        "{name}-{y:04}{m:02}{d:02}T{:02}{:02}{:02}",
        rem / 3600,
        (rem % 3600) / 60,
        rem % 60
    )
}

/// Days since 1970-01-01 to (year, month, day), Howard Hinnant's algorithm.
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

/// A random UUID (version 4) in canonical text form.
pub(crate) fn uuid_v4() -> String {
    let mut bytes: [u8; 16] = rand::random();
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    format_uuid(bytes)
}

/// A time-ordered UUID (version 7), as the server uses for request ids.
fn uuid_v7() -> String {
    let millis = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64);
    let mut bytes: [u8; 16] = rand::random();
    bytes[..6].copy_from_slice(&millis.to_be_bytes()[2..]);
    bytes[6] = (bytes[6] & 0x0f) | 0x70;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    format_uuid(bytes)
}

fn format_uuid(b: [u8; 16]) -> String {
    let hex: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_dates() {
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(19_723), (2024, 1, 1));
        assert_eq!(civil_from_days(19_782), (2024, 2, 29));
    }

    #[test]
    fn uuids_have_version_bits() {
        let v4 = uuid_v4();
        assert_eq!(v4.len(), 36);
        assert_eq!(&v4[14..15], "4");
        assert_eq!(&uuid_v7()[14..15], "7");
    }

    #[test]
    fn json_media_types() {
        assert!(is_json_media_type("application/json"));
        assert!(is_json_media_type("application/json; charset=utf-8"));
        assert!(is_json_media_type("application/merge+json"));
        assert!(!is_json_media_type("text/plain"));
        assert!(!is_json_media_type(""));
    }
}
