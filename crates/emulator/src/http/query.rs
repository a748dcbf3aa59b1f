//! `/api/v3/query_sql`, `/api/v3/query_influxql` (PROTOCOL.md §4.2) and the v1 `/query`.
//!
//! As 3.6.0: planning errors are 500 `query error: error while planning query: …`, InfluxQL
//! syntax errors 500 `error in InfluxQL statement: …`, an unknown `Accept` value 500
//! `invalid mime type (…)`; `SHOW DATABASES` (no `db` needed) and `SHOW RETENTION POLICIES`
//! have their own shapes over HTTP.
//!
//! The result is computed in full and then sent; the real server streams it (an error during
//! execution truncates its body instead of producing an error status).

use std::sync::Arc;

use arrow_array::RecordBatch;
use arrow_schema::{DataType, Field, Schema, SchemaRef};
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
    if language == QueryLanguage::InfluxQl && is_show(&body.q, &["DATABASES"]) {
        return match show_databases(state, format) {
            Ok(response) => response,
            Err(message) => plain(StatusCode::INTERNAL_SERVER_ERROR, message),
        };
    }
    let Some(db) = body.db else {
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
    if language == QueryLanguage::InfluxQl && is_show(&body.q, &["RETENTION", "POLICIES"]) {
        return match show_retention_policies(&snapshot.name, format) {
            Ok(response) => response,
            Err(message) => plain(StatusCode::INTERNAL_SERVER_ERROR, message),
        };
    }
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

/// Whether an InfluxQL text is `SHOW` followed by `words` (any case, an optional `;`).
fn is_show(q: &str, words: &[&str]) -> bool {
    let mut found = q.trim().trim_end_matches(';').split_whitespace();
    found.next().is_some_and(|w| w.eq_ignore_ascii_case("show"))
        && words
            .iter()
            .all(|word| found.next().is_some_and(|w| w.eq_ignore_ascii_case(word)))
        && found.next().is_none()
}

/// A result of string columns `names`, one row per entry of `rows`.
fn strings(names: &[&str], rows: &[Vec<String>]) -> Result<(SchemaRef, RecordBatch), String> {
    let schema = Arc::new(Schema::new(
        names
            .iter()
            .map(|name| Field::new(*name, DataType::Utf8, false))
            .collect::<Vec<_>>(),
    ));
    let columns = (0..names.len())
        .map(|i| {
            Arc::new(arrow_array::StringArray::from_iter_values(
                rows.iter().map(|row| row[i].as_str()),
            )) as arrow_array::ArrayRef
        })
        .collect();
    let batch = RecordBatch::try_new(Arc::clone(&schema), columns).map_err(|e| e.to_string())?;
    Ok((schema, batch))
}

/// InfluxQL `SHOW DATABASES` over HTTP, as 3.6.0 answers it: `iox::database` and
/// `deleted`, soft-deleted databases included.
fn show_databases(state: &EmulatorState, format: Format) -> Result<Resp, String> {
    let databases = state.store.list_databases(true);
    let schema = Arc::new(Schema::new(vec![
        Field::new("iox::database", DataType::Utf8, false),
        Field::new("deleted", DataType::Boolean, false),
    ]));
    let batch = RecordBatch::try_new(
        Arc::clone(&schema),
        vec![
            Arc::new(arrow_array::StringArray::from_iter_values(
                databases.iter().map(|(name, _)| name.as_str()),
            )),
            Arc::new(arrow_array::BooleanArray::from(
                databases
                    .iter()
                    .map(|(_, deleted)| *deleted)
                    .collect::<Vec<_>>(),
            )),
        ],
    )
    .map_err(|e| e.to_string())?;
    let bytes = encode(format, &schema, &[batch])?;
    Ok(typed(StatusCode::OK, format.content_type(), bytes))
}

/// InfluxQL `SHOW RETENTION POLICIES` over HTTP, as 3.6.0 answers it: `iox::database` and
/// `name` (`autogen`).
fn show_retention_policies(db: &str, format: Format) -> Result<Resp, String> {
    let (schema, batch) = strings(
        &["iox::database", "name"],
        &[vec![db.to_owned(), "autogen".to_owned()]],
    )?;
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

/// `/query`, the InfluxDB v1 query API, as 3.6.0 implements it: parameters `q`, `db`,
/// `epoch` (`ns`, `u`/`µ`, `ms`, `s`, `m`, `h`: times as integers) and `pretty`, from the
/// query string and from a form-encoded body (which wins); `Accept` picks JSON (default) or
/// CSV. The JSON answer is `{"results":[{"statement_id":0,"series":[…]}]}` (no `series` when
/// nothing matched), one series per measurement and `GROUP BY` tag set, the last one first
/// (the server's buffer order); times are RFC 3339 (`…Z`), nulls `null`. Each answer ends in
/// CRLF.
pub(super) async fn v1(state: &EmulatorState, request: FullRequest) -> Resp {
    let mut pairs: Vec<(String, String)> = url::form_urlencoded::parse(&request.body)
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    pairs.extend(request.query_pairs().map(|q| q.0).unwrap_or_default());
    let get = |key: &str| {
        pairs
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    };
    let csv = match request
        .header(http::header::ACCEPT)
        .map(http::HeaderValue::as_bytes)
    {
        None | Some(b"application/json" | b"*/*") => false,
        Some(b"application/csv" | b"text/csv") => true,
        Some(other) => {
            return plain(
                StatusCode::INTERNAL_SERVER_ERROR,
                format!("invalid mime type ({})", String::from_utf8_lossy(other)),
            );
        }
    };
    let Some(q) = get("q") else {
        return plain(
            StatusCode::BAD_REQUEST,
            "missing query parameters 'db' and 'q'",
        );
    };
    let epoch = match get("epoch") {
        None => None,
        Some(unit) => match unit {
            "ns" => Some(1),
            "u" | "µ" => Some(1_000),
            "ms" => Some(1_000_000),
            "s" => Some(1_000_000_000),
            "m" => Some(60_000_000_000),
            "h" => Some(3_600_000_000_000),
            other => {
                return plain(
                    StatusCode::BAD_REQUEST,
                    format!(
                        "serde error: unknown variant `{other}`, expected one of `ns`, `u`, `µ`, `ms`, `s`, `m`, `h`"
                    ),
                );
            }
        },
    };
    let pretty = match get("pretty") {
        None | Some("false") => false,
        Some("true") => true,
        Some(other) => {
            return plain(
                StatusCode::BAD_REQUEST,
                format!("serde error: provided string was not `true` or `false`: {other}"),
            );
        }
    };
    let series = if is_show(q, &["DATABASES"]) {
        let names: Vec<serde_json::Value> = state
            .store
            .list_databases(false)
            .into_iter()
            .map(|(name, _)| serde_json::json!([name]))
            .collect();
        vec![V1Series {
            name: "databases".to_owned(),
            tags: None,
            columns: vec!["name".to_owned()],
            values: names,
        }]
    } else {
        let Some(db) = get("db") else {
            return plain(
                StatusCode::BAD_REQUEST,
                "must specify a 'db' parameter, or provide the database in the InfluxQL query",
            );
        };
        let Some(snapshot) = state.store.snapshot(db) else {
            return error_json(
                StatusCode::NOT_FOUND,
                &format!("query error: database not found: {db}"),
            );
        };
        state.stats.record_query(&snapshot.name);
        if is_show(q, &["RETENTION", "POLICIES"]) {
            vec![V1Series {
                name: "retention_policies".to_owned(),
                tags: None,
                columns: [
                    "name",
                    "duration",
                    "shardGroupDuration",
                    "replicaN",
                    "default",
                ]
                .map(str::to_owned)
                .to_vec(),
                values: vec![serde_json::json!(["autogen", "0s", "168h0m0s", 1, true])],
            }]
        } else {
            let params = serde_json::Map::new();
            match crate::sql::execute(&snapshot, QueryLanguage::InfluxQl, q, &params).await {
                Ok((schema, batches)) => match v1_series(&schema, &batches, epoch) {
                    Ok(series) => series,
                    Err(message) => return plain(StatusCode::INTERNAL_SERVER_ERROR, message),
                },
                Err(e) => return plain(e.http_status(), e.http_body().to_owned()),
            }
        }
    };
    if csv {
        return typed(StatusCode::OK, "application/csv", v1_csv(&series));
    }
    let response = V1Response {
        results: vec![V1Statement {
            statement_id: 0,
            series,
        }],
    };
    let body = if pretty {
        serde_json::to_vec_pretty(&response)
    } else {
        serde_json::to_vec(&response)
    };
    match body {
        Ok(mut body) => {
            body.extend_from_slice(b"\r\n");
            typed(StatusCode::OK, "application/json", body)
        }
        Err(e) => plain(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
    }
}

/// The CSV form of a v1 answer: `name,tags,<columns>`, then one line per row with the
/// series name and an empty tags field; values unquoted. Ends in CRLF.
fn v1_csv(series: &[V1Series]) -> Vec<u8> {
    let mut out = String::from("name,tags");
    for column in series
        .first()
        .map(|s| s.columns.as_slice())
        .unwrap_or_default()
    {
        out.push(',');
        out.push_str(column);
    }
    out.push('\n');
    for s in series {
        for row in &s.values {
            out.push_str(&s.name);
            out.push(',');
            for value in row.as_array().map(Vec::as_slice).unwrap_or_default() {
                out.push(',');
                match value {
                    serde_json::Value::String(text) => out.push_str(text),
                    other => out.push_str(&other.to_string()),
                }
            }
            out.push('\n');
        }
    }
    out.push_str("\r\n");
    out.into_bytes()
}

/// The body of a `/query` answer (fields in the server's order).
#[derive(serde::Serialize)]
struct V1Response {
    results: Vec<V1Statement>,
}

#[derive(serde::Serialize)]
struct V1Statement {
    statement_id: usize,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    series: Vec<V1Series>,
}

#[derive(serde::Serialize)]
struct V1Series {
    name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    tags: Option<std::collections::BTreeMap<String, Option<String>>>,
    columns: Vec<String>,
    values: Vec<serde_json::Value>,
}

/// An InfluxQL result as v1 series: split by `iox::measurement` and the `GROUP BY` tag
/// columns named in the schema's group key metadata (which become the series' `tags`; a
/// null tag is left out of them).
fn v1_series(
    schema: &SchemaRef,
    batches: &[RecordBatch],
    epoch: Option<i64>,
) -> Result<Vec<V1Series>, String> {
    use serde_json::Value;

    type Tags = std::collections::BTreeMap<String, Option<String>>;

    let tag_columns: Vec<usize> = schema
        .metadata()
        .get("iox::influxql::group_key::metadata")
        .and_then(|m| serde_json::from_str::<Value>(m).ok())
        .and_then(|m| {
            m.get("tagKeyColumns")
                .and_then(Value::as_array)
                .map(|columns| {
                    columns
                        .iter()
                        .filter_map(|c| c.get("columnIndex").and_then(Value::as_u64))
                        .filter_map(|i| usize::try_from(i).ok())
                        .collect()
                })
        })
        .unwrap_or_default();
    let measurement = schema.index_of("iox::measurement").ok();
    let value_columns: Vec<usize> = (0..schema.fields().len())
        .filter(|i| Some(*i) != measurement && !tag_columns.contains(i))
        .collect();
    let columns: Vec<String> = value_columns
        .iter()
        .map(|i| schema.field(*i).name().clone())
        .collect();
    let mut series: Vec<(String, Option<Tags>, Vec<Value>)> = Vec::new();
    for batch in batches {
        let cells: Vec<Vec<Value>> = batch
            .columns()
            .iter()
            .enumerate()
            .map(|(i, column)| {
                let is_time = schema.field(i).name() == "time";
                json_cells(column, if is_time { epoch } else { None })
            })
            .collect::<Result<_, _>>()?;
        let cell = |column: usize, row: usize| {
            cells
                .get(column)
                .and_then(|c| c.get(row))
                .cloned()
                .unwrap_or(Value::Null)
        };
        for row in 0..batch.num_rows() {
            let name = measurement
                .and_then(|m| cell(m, row).as_str().map(str::to_owned))
                .unwrap_or_default();
            let tags: Option<Tags> = (!tag_columns.is_empty()).then(|| {
                tag_columns
                    .iter()
                    .filter_map(|i| match cell(*i, row) {
                        Value::String(value) => {
                            Some((schema.field(*i).name().clone(), Some(value)))
                        }
                        _ => None,
                    })
                    .collect()
            });
            let values = Value::Array(value_columns.iter().map(|i| cell(*i, row)).collect());
            match series.last_mut() {
                Some((n, t, rows)) if *n == name && *t == tags => rows.push(values),
                _ => series.push((name, tags, vec![values])),
            }
        }
    }
    // The server buffers each new series in front of the others and drains from the front.
    series.reverse();
    Ok(series
        .into_iter()
        .map(|(name, tags, values)| V1Series {
            name,
            tags,
            columns: columns.clone(),
            values,
        })
        .collect())
}

/// The values of `column` as JSON: numbers, booleans and strings as themselves, times in
/// RFC 3339 with as many fractional digits as needed (0, 3, 6 or 9), or integers in `epoch`
/// nanoseconds per unit, null as null.
fn json_cells(
    column: &arrow_array::ArrayRef,
    epoch: Option<i64>,
) -> Result<Vec<serde_json::Value>, String> {
    use arrow_array::Array;
    use arrow_array::cast::AsArray;
    use arrow_array::types::{Float64Type, Int64Type, TimestampNanosecondType, UInt64Type};
    use serde_json::Value;

    let column = match column.data_type() {
        DataType::Dictionary(..) | DataType::Utf8View | DataType::LargeUtf8 => {
            arrow_cast::cast(column, &DataType::Utf8).map_err(|e| e.to_string())?
        }
        DataType::Timestamp(..) => arrow_cast::cast(
            column,
            &DataType::Timestamp(arrow_schema::TimeUnit::Nanosecond, None),
        )
        .map_err(|e| e.to_string())?,
        _ => Arc::clone(column),
    };
    let options = arrow_cast::display::FormatOptions::default()
        .with_timestamp_format(Some("%Y-%m-%dT%H:%M:%S%.fZ"));
    let formatter = arrow_cast::display::ArrayFormatter::try_new(column.as_ref(), &options)
        .map_err(|e| e.to_string())?;
    let value = |row: usize| -> Value {
        if column.is_null(row) {
            return Value::Null;
        }
        match column.data_type() {
            DataType::Int64 => Value::from(column.as_primitive::<Int64Type>().value(row)),
            DataType::UInt64 => Value::from(column.as_primitive::<UInt64Type>().value(row)),
            DataType::Float64 => {
                serde_json::Number::from_f64(column.as_primitive::<Float64Type>().value(row))
                    .map_or(Value::Null, Value::Number)
            }
            DataType::Boolean => Value::Bool(column.as_boolean().value(row)),
            DataType::Utf8 => Value::String(column.as_string::<i32>().value(row).to_owned()),
            DataType::Timestamp(..) if epoch.is_some() => {
                let nanos = column.as_primitive::<TimestampNanosecondType>().value(row);
                Value::from(nanos / epoch.unwrap_or(1).max(1))
            }
            _ => Value::String(formatter.value(row).to_string()),
        }
    };
    Ok((0..column.len()).map(value).collect())
}
