//! `/api/v3/query_sql` and `/api/v3/query_influxql` (PROTOCOL.md §4.2).
//!
//! The result is computed in full and then sent; the real server streams it (an error during
//! execution truncates its body instead of producing an error status).

use arrow_array::RecordBatch;
use http::{Method, StatusCode};
use serde::Deserialize;

use super::{FullRequest, Resp, error_json, plain, typed};
use crate::sql::QueryLanguage;
use crate::state::EmulatorState;

/// The output formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Format {
    Json,
    JsonLines,
    Csv,
    Parquet,
    Pretty,
}

impl Format {
    fn parse(value: &str) -> Result<Self, String> {
        Ok(match value {
            "json" => Format::Json,
            "jsonl" | "json_lines" => Format::JsonLines,
            "csv" => Format::Csv,
            "parquet" => Format::Parquet,
            "pretty" => Format::Pretty,
            other => {
                return Err(format!(
                    "unknown variant `{other}`, expected one of `pretty`, `json`, `json_lines`, `jsonl`, `csv`, `parquet`"
                ));
            }
        })
    }

    /// The format an `Accept` header asks for (parsed even when `format` is given).
    fn from_accept(accept: Option<&[u8]>) -> Result<Self, String> {
        let Some(raw) = accept else {
            return Ok(Format::Json);
        };
        let value = String::from_utf8_lossy(raw);
        Ok(match value.as_ref() {
            "application/json" | "*/*" => Format::Json,
            "text/csv" => Format::Csv,
            "text/plain" => Format::Pretty,
            "application/vnd.apache.parquet" => Format::Parquet,
            v if v.contains("text/html") || v.contains("*/*") => Format::Json,
            v => return Err(format!("invalid mime type ({v})")),
        })
    }

    fn content_type(self) -> &'static str {
        match self {
            Format::Json => "application/json",
            Format::JsonLines => "application/jsonl",
            Format::Csv => "text/csv",
            Format::Parquet => "application/vnd.apache.parquet",
            Format::Pretty => "text/plain; charset=utf-8",
        }
    }
}

/// The body of a POST query.
#[derive(Deserialize)]
struct QueryBody {
    db: Option<String>,
    q: String,
    format: Option<String>,
    #[serde(default)]
    params: Option<serde_json::Map<String, serde_json::Value>>,
}

pub(super) async fn handle(
    state: &EmulatorState,
    request: FullRequest,
    language: QueryLanguage,
) -> Resp {
    let accept_format = match Format::from_accept(
        request
            .header(http::header::ACCEPT)
            .map(http::HeaderValue::as_bytes),
    ) {
        Ok(f) => f,
        Err(message) => return plain(StatusCode::INTERNAL_SERVER_ERROR, message),
    };
    let body = match read_query(&request) {
        Ok(b) => b,
        Err(message) => return plain(StatusCode::BAD_REQUEST, message),
    };
    let format = match body.format.as_deref().map(Format::parse).transpose() {
        Ok(f) => f.unwrap_or(accept_format),
        Err(message) => return plain(StatusCode::BAD_REQUEST, format!("serde error: {message}")),
    };
    let Some(db) = body.db else {
        if language == QueryLanguage::InfluxQl && is_show_databases(&body.q) {
            return match show_databases(state, format) {
                Ok(response) => response,
                Err(message) => plain(StatusCode::INTERNAL_SERVER_ERROR, message),
            };
        }
        return match language {
            QueryLanguage::Sql => plain(StatusCode::BAD_REQUEST, "serde error: missing field `db`"),
            QueryLanguage::InfluxQl => plain(
                StatusCode::BAD_REQUEST,
                "must specify a 'db' parameter, or provide the database in the InfluxQL query",
            ),
        };
    };
    let Some(snapshot) = state.store.snapshot(&db) else {
        return error_json(
            StatusCode::NOT_FOUND,
            &format!("query error: database not found: {db}"),
        );
    };
    state.stats.record_query(&snapshot.name);
    let params = body.params.unwrap_or_default();
    let (schema, batches) = match crate::sql::execute(&snapshot, language, &body.q, &params).await {
        Ok(result) => result,
        Err(e) => return plain(e.http_status(), e.http_body().to_owned()),
    };
    match encode(format, &schema, &batches) {
        Ok(bytes) => typed(StatusCode::OK, format.content_type(), bytes),
        Err(message) => plain(StatusCode::INTERNAL_SERVER_ERROR, message),
    }
}

/// Whether an InfluxQL text is `SHOW DATABASES` (which needs no `db`).
fn is_show_databases(q: &str) -> bool {
    let words: Vec<&str> = q.split_whitespace().collect();
    matches!(words.as_slice(), [show, databases]
        if show.eq_ignore_ascii_case("show")
            && databases.trim_end_matches(';').eq_ignore_ascii_case("databases"))
}

/// InfluxQL `SHOW DATABASES`: `iox::measurement` = `databases`, then `name`.
fn show_databases(state: &EmulatorState, format: Format) -> Result<Resp, String> {
    use std::sync::Arc;
    let names: Vec<String> = state
        .store
        .list_databases(false)
        .into_iter()
        .map(|(name, _)| name)
        .collect();
    let schema = Arc::new(arrow_schema::Schema::new(vec![
        arrow_schema::Field::new("iox::measurement", arrow_schema::DataType::Utf8, false),
        arrow_schema::Field::new("name", arrow_schema::DataType::Utf8, false),
    ]));
    let batch = RecordBatch::try_new(
        Arc::clone(&schema),
        vec![
            Arc::new(arrow_array::StringArray::from(vec![
                "databases";
                names.len()
            ])),
            Arc::new(arrow_array::StringArray::from(names)),
        ],
    )
    .map_err(|e| e.to_string())?;
    let bytes = encode(format, &schema, &[batch])?;
    Ok(typed(StatusCode::OK, format.content_type(), bytes))
}

/// The query from the query string (GET) or the JSON body (POST); the error is the text of
/// the 400 response.
fn read_query(request: &FullRequest) -> Result<QueryBody, String> {
    if request.method == Method::POST {
        return serde_json::from_slice(&request.body).map_err(|e| format!("serde json error: {e}"));
    }
    let Some(query) = request.query_pairs() else {
        return Err("missing query parameters 'db' and 'q'".to_owned());
    };
    let get = |key: &str| {
        query
            .get(key)
            .map(|v| v.map(str::to_owned))
            .map_err(|r| format!("serde error: {}", r.message()))
    };
    let q = get("q")?.ok_or_else(|| "serde error: missing field `q`".to_owned())?;
    let params = match get("params")? {
        None => None,
        Some(text) => {
            Some(serde_json::from_str(&text).map_err(|e| format!("serde json error: {e}"))?)
        }
    };
    Ok(QueryBody {
        db: get("db")?,
        q,
        format: get("format")?,
        params,
    })
}

/// Encodes a result in `format`. JSON leaves out null values, as the server does (§8.4).
fn encode(
    format: Format,
    schema: &arrow_schema::SchemaRef,
    batches: &[RecordBatch],
) -> Result<Vec<u8>, String> {
    let batches: Vec<&RecordBatch> = batches.iter().filter(|b| b.num_rows() > 0).collect();
    let mut out = Vec::new();
    match format {
        Format::Json => {
            let mut writer = arrow_json::ArrayWriter::new(&mut out);
            writer
                .write_batches(&batches)
                .and_then(|()| writer.finish())
                .map_err(|e| format!("error encoding JSON: {e}"))?;
            if out.is_empty() {
                out.extend_from_slice(b"[]");
            }
        }
        Format::JsonLines => {
            let mut writer = arrow_json::LineDelimitedWriter::new(&mut out);
            writer
                .write_batches(&batches)
                .and_then(|()| writer.finish())
                .map_err(|e| format!("error encoding JSON lines: {e}"))?;
        }
        Format::Csv => {
            if !batches.is_empty() {
                let mut writer = arrow_csv::WriterBuilder::new()
                    .with_header(true)
                    .build(&mut out);
                for batch in &batches {
                    writer
                        .write(batch)
                        .map_err(|e| format!("error encoding CSV: {e}"))?;
                }
            }
        }
        Format::Pretty => {
            let owned: Vec<RecordBatch> = batches.into_iter().cloned().collect();
            // As the server: an empty result is `++\n++`, whatever its columns.
            let table = arrow_cast::pretty::pretty_format_batches(&owned)
                .map(|t| t.to_string())
                .map_err(|e| format!("error formatting the result: {e}"))?;
            out = table.into_bytes();
        }
        Format::Parquet => {
            // As the server: no rows, no body.
            if !batches.is_empty() {
                let mut writer =
                    parquet::arrow::ArrowWriter::try_new(&mut out, schema.clone(), None)
                        .map_err(|e| format!("error encoding parquet: {e}"))?;
                for batch in &batches {
                    writer
                        .write(batch)
                        .map_err(|e| format!("error encoding parquet: {e}"))?;
                }
                writer
                    .close()
                    .map_err(|e| format!("error encoding parquet: {e}"))?;
            }
        }
    }
    Ok(out)
}
