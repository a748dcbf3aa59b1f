//! `/health`, `/ping`, `/api/v3/configure/database` and the token endpoints (PROTOCOL.md §4).

use std::time::{SystemTime, UNIX_EPOCH};

use http::{HeaderValue, Method, StatusCode};
use serde::Deserialize;

use super::{FullRequest, Resp, empty, error_json, plain, typed};
use crate::state::EmulatorState;
use crate::store::StoreError;

/// The version the emulator reports on `/ping`.
pub(crate) const VERSION: &str = "3.6.0-emulator";

pub(super) fn health() -> Resp {
    typed(StatusCode::OK, "text/plain; charset=utf-8", "OK")
}

pub(super) fn ping(state: &EmulatorState) -> Resp {
    #[derive(serde::Serialize)]
    struct Ping<'a> {
        product_name: &'a str,
        version: &'a str,
        revision: &'a str,
        process_id: &'a str,
    }
    let body = serde_json::to_string(&Ping {
        product_name: "InfluxDB 3 Core",
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
    plain(StatusCode::NOT_FOUND, "Not found")
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
                Err(e @ StoreError::TooManyDatabases(_)) => {
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
        _ => plain(StatusCode::NOT_FOUND, "Not found"),
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
            body.push_str(&line);
            typed(StatusCode::OK, "text/plain; charset=utf-8", body)
        }
        other => plain(
            StatusCode::BAD_REQUEST,
            format!(
                "serde error: unknown variant `{other}`, expected one of `json`, `jsonl`, `csv`, `pretty`"
            ),
        ),
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
