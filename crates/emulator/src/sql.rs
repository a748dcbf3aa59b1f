//! Query execution on DataFusion over a [`DatabaseSnapshot`].
//!
//! OWNERSHIP: Flight/SQL side. Contract used by the HTTP side:
//! `execute(snapshot, QueryLanguage, text, params)`.
//!
//! Every query gets a fresh [`SessionContext`] whose default catalog and schema are `public`
//! and `iox` (as in InfluxDB 3), so a table is reachable both as `home` and as
//! `public.iox.home`, and an unknown table is reported as `table 'public.iox.<t>' not found`.
//! `information_schema` is on, so `SHOW TABLES` and `SHOW COLUMNS FROM t` work.
//! InfluxQL text is translated by [`crate::influxql`] and then runs on the same context.

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

use arrow_array::RecordBatch;
use arrow_array::cast::AsArray;
use arrow_array::types::Int64Type;
use arrow_schema::SchemaRef;
use datafusion::common::{ParamValues, TableReference};
use datafusion::dataframe::DataFrame;
use datafusion::error::DataFusionError;
use datafusion::execution::context::{SessionConfig, SessionContext};
use datafusion::physical_plan::SendableRecordBatchStream;
use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
use datafusion::scalar::ScalarValue;
use futures::TryStreamExt;
use http::StatusCode;
use serde_json::Value;

use crate::influxql::{self, Translation};
use crate::state::DatabaseSnapshot;

mod functions;
pub(crate) mod limits;
mod system;
pub(crate) mod view;

/// The language of a query text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum QueryLanguage {
    /// SQL, planned by DataFusion.
    Sql,
    /// The emulator's InfluxQL subset (see [`crate::influxql`]).
    InfluxQl,
}

/// Why a query could not be planned or executed.
///
/// `Display` is the Flight message without the `Error while planning query: ` prefix the
/// Flight service adds; [`QueryError::http_body`] is the body of the HTTP error response.
#[derive(Debug, Clone)]
pub(crate) struct QueryError {
    status: StatusCode,
    code: tonic::Code,
    message: String,
    /// The HTTP body when it is not `message`.
    http_body: Option<String>,
}

/// DataFusion 55 starts the list of valid fields of a schema error on a new line where the
/// server's DataFusion writes a space (`No field named x. Valid fields are …`).
fn server_wording(message: String) -> String {
    if message.contains(".\nValid fields are") {
        message.replace(".\nValid fields are", ". Valid fields are")
    } else {
        message
    }
}

impl QueryError {
    fn new(status: StatusCode, code: tonic::Code, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
            http_body: None,
        }
    }

    /// An error raised by DataFusion while parsing or planning (before any row is produced).
    ///
    /// Over HTTP the server answers 500 `query error: error while planning query: …`
    /// (405 for `NotImplemented`); over Flight the code follows the error (`INVALID_ARGUMENT`
    /// for SQL, plan and schema errors, `INTERNAL` otherwise).
    pub(crate) fn planning(err: DataFusionError) -> Self {
        let message = server_wording(err.to_string());
        let status = match datafusion_status(&err) {
            StatusCode::METHOD_NOT_ALLOWED => StatusCode::METHOD_NOT_ALLOWED,
            _ => StatusCode::INTERNAL_SERVER_ERROR,
        };
        let code = match datafusion_status(&err) {
            StatusCode::INTERNAL_SERVER_ERROR if !is_schema_error(&err) => tonic::Code::Internal,
            _ => tonic::Code::InvalidArgument,
        };
        Self {
            status,
            code,
            http_body: Some(format!(
                "query error: error while planning query: {message}"
            )),
            message,
        }
    }

    /// An error raised while rows were being produced: HTTP 500, gRPC `INTERNAL`
    /// (`INVALID_ARGUMENT` when DataFusion blames the query itself).
    pub(crate) fn execution(err: DataFusionError) -> Self {
        let code = match datafusion_status(&err) {
            StatusCode::BAD_REQUEST => tonic::Code::InvalidArgument,
            _ if is_resources_exhausted(&err) => tonic::Code::ResourceExhausted,
            _ => tonic::Code::Internal,
        };
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            code,
            server_wording(err.to_string()),
        )
    }

    /// A semantic error in an InfluxQL statement (HTTP 500 `error in InfluxQL statement: …`,
    /// `INVALID_ARGUMENT` `Error during planning: …`).
    pub(crate) fn influxql(message: impl fmt::Display) -> Self {
        Self {
            status: StatusCode::INTERNAL_SERVER_ERROR,
            code: tonic::Code::InvalidArgument,
            message: format!("Error during planning: {message}"),
            http_body: Some(format!("error in InfluxQL statement: {message}")),
        }
    }

    /// A syntax error in an InfluxQL statement, in the words of the server's parser:
    /// `message` found at byte `pos`.
    pub(crate) fn influxql_syntax(message: impl fmt::Display, pos: usize) -> Self {
        Self {
            status: StatusCode::INTERNAL_SERVER_ERROR,
            code: tonic::Code::InvalidArgument,
            message: format!("Error during planning: {message} at pos {pos}"),
            http_body: Some(format!(
                "error in InfluxQL statement: parsing error: {message} at pos {pos}"
            )),
        }
    }

    /// An InfluxQL statement the server's parser cannot start to read at byte `pos` of `text`.
    pub(crate) fn influxql_invalid_statement(text: &str, pos: usize) -> Self {
        let rest = text.get(pos..).unwrap_or_default();
        let detail =
            format!("invalid InfluxQL statement at pos {pos}. Parsing Error: Nom({rest:?}, Tag)");
        Self {
            status: StatusCode::INTERNAL_SERVER_ERROR,
            code: tonic::Code::InvalidArgument,
            message: format!("Error during planning: {detail}"),
            http_body: Some(format!(
                "error in InfluxQL statement: parsing error: {detail}"
            )),
        }
    }

    /// An InfluxQL construct the server parses but does not implement (`INVALID_ARGUMENT`
    /// `rewriting statement: This feature is not implemented: …`).
    pub(crate) fn influxql_not_implemented(what: impl fmt::Display) -> Self {
        let message = format!("rewriting statement: This feature is not implemented: {what}");
        Self {
            status: StatusCode::INTERNAL_SERVER_ERROR,
            code: tonic::Code::InvalidArgument,
            http_body: Some(format!("error in InfluxQL statement: {message}")),
            message,
        }
    }

    /// More than one InfluxQL statement in one query.
    pub(crate) fn influxql_statements() -> Self {
        let message = "must provide only one InfluxQl statement per query";
        Self {
            status: StatusCode::INTERNAL_SERVER_ERROR,
            code: tonic::Code::InvalidArgument,
            message: format!("Error during planning: {message}"),
            http_body: Some(message.to_owned()),
        }
    }

    /// A valid construct the emulator does not implement (HTTP 400, `INVALID_ARGUMENT`).
    pub(crate) fn unsupported(construct: impl fmt::Display) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            tonic::Code::InvalidArgument,
            format!("the emulator does not support {construct}"),
        )
    }

    /// A construct InfluxDB 3 itself rejects as not implemented (HTTP 405, `INVALID_ARGUMENT`),
    /// e.g. `SHOW DATABASES` over Flight.
    pub(crate) fn not_implemented(what: impl fmt::Display) -> Self {
        Self::new(
            StatusCode::METHOD_NOT_ALLOWED,
            tonic::Code::InvalidArgument,
            format!("This feature is not implemented: {what}"),
        )
    }

    /// Refuses a query of `language` (`SQL`, `InfluxQL`) with more than
    /// [`MAX_QUERY_OPERATORS`] `operators` (HTTP 400, `INVALID_ARGUMENT`).
    pub(crate) fn check_operators(language: &str, operators: usize) -> Result<(), QueryError> {
        if operators <= MAX_QUERY_OPERATORS {
            return Ok(());
        }
        Err(Self::new(
            StatusCode::BAD_REQUEST,
            tonic::Code::InvalidArgument,
            format!(
                "the emulator does not run {language} with {operators} operators, parentheses \
                 and keywords (the limit is {MAX_QUERY_OPERATORS}): expressions are limited so \
                 that evaluating them cannot overflow its stack"
            ),
        ))
    }

    /// The query thread could not start or stopped without an answer (HTTP 500, `INTERNAL`).
    fn query_thread(what: impl fmt::Display) -> Self {
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            tonic::Code::Internal,
            format!("the emulator's query thread {what}"),
        )
    }

    /// A bad `params` value (HTTP 400, `INVALID_ARGUMENT`).
    pub(crate) fn params(message: impl fmt::Display) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            tonic::Code::InvalidArgument,
            message.to_string(),
        )
    }

    /// The HTTP status the `/api/v3/query_*` endpoints answer with.
    pub(crate) fn http_status(&self) -> StatusCode {
        self.status
    }

    /// The body of the HTTP error response.
    pub(crate) fn http_body(&self) -> &str {
        self.http_body.as_deref().unwrap_or(&self.message)
    }

    /// The gRPC code the Flight service answers with.
    pub(crate) fn grpc_code(&self) -> tonic::Code {
        self.code
    }
}

impl fmt::Display for QueryError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for QueryError {}

/// InfluxDB's mapping of a DataFusion error to an HTTP status (`datafusion_error_status_code`).
fn datafusion_status(err: &DataFusionError) -> StatusCode {
    match err {
        DataFusionError::SQL(..) | DataFusionError::Plan(_) | DataFusionError::SchemaError(..) => {
            StatusCode::BAD_REQUEST
        }
        DataFusionError::NotImplemented(_) => StatusCode::METHOD_NOT_ALLOWED,
        DataFusionError::Context(_, inner) | DataFusionError::Diagnostic(_, inner) => {
            datafusion_status(inner)
        }
        DataFusionError::Shared(inner) => datafusion_status(inner),
        _ => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

fn is_schema_error(err: &DataFusionError) -> bool {
    matches!(err.find_root(), DataFusionError::SchemaError(..))
}

fn is_resources_exhausted(err: &DataFusionError) -> bool {
    matches!(err.find_root(), DataFusionError::ResourcesExhausted(_))
}

/// Converts the JSON `params` object of a query into DataFusion parameter values
/// (PROTOCOL.md §3.1): `null`, booleans and strings as they are; non-negative integers as
/// `UInt64`, negative integers as `Int64`, other numbers as `Float64`. Arrays and objects
/// are rejected.
pub(crate) fn param_values(
    params: &serde_json::Map<String, Value>,
) -> Result<HashMap<String, ScalarValue>, QueryError> {
    params
        .iter()
        .map(|(name, value)| {
            let scalar = match value {
                Value::Null => ScalarValue::Null,
                Value::Bool(b) => ScalarValue::Boolean(Some(*b)),
                Value::String(s) => ScalarValue::Utf8(Some(s.clone())),
                Value::Number(n) => {
                    if let Some(u) = n.as_u64() {
                        ScalarValue::UInt64(Some(u))
                    } else if let Some(i) = n.as_i64() {
                        ScalarValue::Int64(Some(i))
                    } else if let Some(f) = n.as_f64() {
                        ScalarValue::Float64(Some(f))
                    } else {
                        return Err(QueryError::params(format!(
                            "query parameter '{name}': number {n} is out of range"
                        )));
                    }
                }
                Value::Array(_) | Value::Object(_) => {
                    return Err(QueryError::params(format!(
                        "query parameter '{name}': arrays and objects are not supported as parameter values"
                    )));
                }
            };
            Ok((name.clone(), scalar))
        })
        .collect()
}

/// Runs `query` against `snapshot` and collects the whole result.
///
/// For the HTTP query endpoints, whose responses are built whole; Flight uses
/// [`execute_stream`]. A result over [`limits::QUERY_MEMORY_LIMIT`] bytes is an error.
pub(crate) async fn execute(
    snapshot: &DatabaseSnapshot,
    language: QueryLanguage,
    query: &str,
    params: &serde_json::Map<String, Value>,
) -> Result<(SchemaRef, Vec<RecordBatch>), QueryError> {
    let mut stream = execute_stream(snapshot, language, query, params).await?;
    let schema = stream.schema();
    let mut batches = Vec::new();
    let mut bytes = 0usize;
    while let Some(batch) = stream.try_next().await.map_err(QueryError::execution)? {
        // The collected result counts against the query's memory limit too.
        bytes = bytes.saturating_add(batch.get_array_memory_size());
        if bytes > limits::QUERY_MEMORY_LIMIT {
            return Err(QueryError::execution(DataFusionError::ResourcesExhausted(
                format!(
                    "the result is larger than the emulator's per-query memory limit of {} \
                     bytes",
                    limits::QUERY_MEMORY_LIMIT
                ),
            )));
        }
        batches.push(batch);
    }
    Ok((schema, batches))
}

/// The stack of a query thread. DataFusion (cloning, planning and evaluating expressions)
/// and the InfluxQL translator recurse over expression trees; a long `OR` chain in a debug
/// build needs a few kilobytes of stack per operator. The memory is reserved, not used, until
/// a query goes that deep.
const QUERY_STACK_SIZE: usize = 256 * 1024 * 1024;

/// The most operators (and opening parentheses and keywords) one query may hold, which bounds
/// how deep its expression trees go, so that no query can overflow [`QUERY_STACK_SIZE`]:
/// a query over the limit gets an error instead of aborting the process the emulator runs in.
pub(crate) const MAX_QUERY_OPERATORS: usize = 10_000;

/// Plans `query` against `snapshot` and returns its result as a stream of batches.
///
/// The query is planned and executed on a thread of its own with a large stack (see
/// [`QUERY_STACK_SIZE`]), driven by a current-thread runtime; batches come back through a
/// channel of one, so a slow reader holds the query back, and dropping the stream stops it.
///
/// Errors returned here are planning errors; errors while rows are produced come through
/// the stream (convert them with [`QueryError::execution`]).
pub(crate) async fn execute_stream(
    snapshot: &DatabaseSnapshot,
    language: QueryLanguage,
    query: &str,
    params: &serde_json::Map<String, Value>,
) -> Result<SendableRecordBatchStream, QueryError> {
    let (snapshot, query, params) = (snapshot.clone(), query.to_owned(), params.clone());
    let (planned_tx, planned_rx) = tokio::sync::oneshot::channel();
    let (batch_tx, mut batch_rx) = tokio::sync::mpsc::channel(1);
    let run_query = move || {
        let runtime = match tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
        {
            Ok(runtime) => runtime,
            Err(e) => {
                let _ = planned_tx.send(Err(QueryError::query_thread(format_args!(
                    "has no runtime: {e}"
                ))));
                return;
            }
        };
        let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            runtime.block_on(async {
                let mut stream = match plan(&snapshot, language, &query, &params).await {
                    Ok(stream) => stream,
                    Err(e) => {
                        let _ = planned_tx.send(Err(e));
                        return;
                    }
                };
                if planned_tx.send(Ok(stream.schema())).is_err() {
                    return;
                }
                while let Some(batch) = futures::StreamExt::next(&mut stream).await {
                    if batch_tx.send(batch).await.is_err() {
                        return; // The reader went away.
                    }
                }
            });
        }));
        if outcome.is_err() {
            // A panic in DataFusion: the reader gets an error, never a silently short result.
            let _ = batch_tx.blocking_send(Err(DataFusionError::Execution(
                "the query panicked (see the emulator's log)".to_owned(),
            )));
        }
    };
    std::thread::Builder::new()
        .name("emulator-query".to_owned())
        .stack_size(QUERY_STACK_SIZE)
        .spawn(run_query)
        .map_err(|e| QueryError::query_thread(format_args!("could not start: {e}")))?;
    let schema = planned_rx.await.map_err(|_| {
        QueryError::query_thread("stopped while planning (see the emulator's log)")
    })??;
    let batches = futures::stream::poll_fn(move |cx| batch_rx.poll_recv(cx));
    Ok(Box::pin(RecordBatchStreamAdapter::new(schema, batches)))
}

/// Refuses SQL with more than [`MAX_QUERY_OPERATORS`] operators, opening parentheses and
/// keywords (literals, names and commas do not count, so long `IN` lists are fine). Text that
/// does not tokenize is left to DataFusion, which reports the error in its own words.
fn check_sql_size(sql: &str) -> Result<(), QueryError> {
    use datafusion::sql::sqlparser::dialect::GenericDialect;
    use datafusion::sql::sqlparser::keywords::Keyword;
    use datafusion::sql::sqlparser::tokenizer::{Token, Tokenizer};

    let Ok(tokens) = Tokenizer::new(&GenericDialect {}, sql).tokenize() else {
        return Ok(());
    };
    let operators = tokens
        .iter()
        .filter(|token| match token {
            Token::Word(word) => word.keyword != Keyword::NoKeyword,
            Token::EOF
            | Token::Number(..)
            | Token::Char(_)
            | Token::SingleQuotedString(_)
            | Token::DoubleQuotedString(_)
            | Token::TripleSingleQuotedString(_)
            | Token::TripleDoubleQuotedString(_)
            | Token::DollarQuotedString(_)
            | Token::SingleQuotedByteStringLiteral(_)
            | Token::DoubleQuotedByteStringLiteral(_)
            | Token::TripleSingleQuotedByteStringLiteral(_)
            | Token::TripleDoubleQuotedByteStringLiteral(_)
            | Token::SingleQuotedRawStringLiteral(_)
            | Token::DoubleQuotedRawStringLiteral(_)
            | Token::TripleSingleQuotedRawStringLiteral(_)
            | Token::TripleDoubleQuotedRawStringLiteral(_)
            | Token::NationalStringLiteral(_)
            | Token::QuoteDelimitedStringLiteral(_)
            | Token::NationalQuoteDelimitedStringLiteral(_)
            | Token::EscapedStringLiteral(_)
            | Token::UnicodeStringLiteral(_)
            | Token::HexStringLiteral(_)
            | Token::Comma
            | Token::Whitespace(_)
            | Token::RParen
            | Token::RBracket
            | Token::RBrace
            | Token::Period
            | Token::SemiColon
            | Token::Placeholder(_) => false,
            _ => true,
        })
        .count();
    QueryError::check_operators("SQL", operators)
}

/// Plans `query` on the current thread (the query thread of [`execute_stream`]).
async fn plan(
    snapshot: &DatabaseSnapshot,
    language: QueryLanguage,
    query: &str,
    params: &serde_json::Map<String, Value>,
) -> Result<SendableRecordBatchStream, QueryError> {
    let params = param_values(params)?;
    let view = &view::server_view(snapshot);
    let (sql, metadata) = match language {
        QueryLanguage::Sql => {
            check_sql_size(query)?;
            check_placeholders(query)?;
            let ctx = session(snapshot)?;
            let frame = frame(&ctx, query, &params).await?;
            // The server's plans drop the table's schema metadata, except when the plan is
            // replaced by an empty relation (`LIMIT 0`, `WHERE false`), which keeps it.
            let empty = matches!(
                frame.clone().into_optimized_plan(),
                Ok(datafusion::logical_expr::LogicalPlan::EmptyRelation(ref e)) if !e.produce_one_row
            );
            let mut stream = frame.execute_stream().await.map_err(QueryError::planning)?;
            if reads_information_schema(query) {
                stream = with_old_type_names(stream);
            }
            return Ok(if empty {
                stream
            } else {
                with_schema_metadata(stream, (HashMap::new(), influxql::FieldMetadata::Keep))
            });
        }
        QueryLanguage::InfluxQl => {
            let (translation, metadata, fields) = influxql::translate(view, query)?;
            let metadata = (metadata, fields);
            match translation {
                Translation::Sql(sql) => (sql, metadata),
                Translation::Batches(schema, batches) => {
                    return Ok(with_schema_metadata(
                        batch_stream(schema, batches),
                        metadata,
                    ));
                }
                Translation::GapFill {
                    sql,
                    bounds,
                    lower,
                    plan,
                } => {
                    let ctx = session(snapshot)?;
                    let bounds = run(&ctx, &bounds, &params).await?;
                    let bounds = bounds_in_nanos(&bounds)?;
                    let (lowers, uppers) = bounds.split_at(lower.min(bounds.len()));
                    let lower = lowers.iter().copied().max();
                    let upper = uppers.iter().copied().min().unwrap_or(i64::MAX);
                    let frame = frame(&ctx, &sql, &params).await?;
                    let schema = Arc::clone(frame.schema().inner());
                    let batches = frame.collect().await.map_err(QueryError::execution)?;
                    let filled = plan.apply(&schema, &batches, lower, upper)?;
                    return Ok(with_schema_metadata(batch_stream(schema, filled), metadata));
                }
            }
        }
    };
    let ctx = session(snapshot)?;
    let stream = frame(&ctx, &sql, &params)
        .await?
        .execute_stream()
        .await
        .map_err(QueryError::planning)?;
    Ok(with_schema_metadata(stream, metadata))
}

/// The server rejects a query parameter in the `SELECT` list of a query without `FROM`
/// (`SELECT $x`) as an unknown column, before binding.
fn check_placeholders(sql: &str) -> Result<(), QueryError> {
    use datafusion::sql::sqlparser::ast::{Expr, SelectItem, SetExpr, Statement, Value};
    use datafusion::sql::sqlparser::dialect::GenericDialect;
    use datafusion::sql::sqlparser::parser::Parser;

    let Ok(statements) = Parser::parse_sql(&GenericDialect {}, sql) else {
        return Ok(());
    };
    let [Statement::Query(query)] = statements.as_slice() else {
        return Ok(());
    };
    let SetExpr::Select(select) = query.body.as_ref() else {
        return Ok(());
    };
    if !select.from.is_empty() {
        return Ok(());
    }
    for item in &select.projection {
        let expr = match item {
            SelectItem::UnnamedExpr(expr) | SelectItem::ExprWithAlias { expr, .. } => expr,
            _ => continue,
        };
        if let Expr::Value(value) = expr
            && let Value::Placeholder(name) = &value.value
        {
            let name = name.trim_start_matches('$');
            return Err(QueryError::planning(DataFusionError::SchemaError(
                Box::new(datafusion::common::SchemaError::FieldNotFound {
                    field: Box::new(datafusion::common::Column::new_unqualified(name)),
                    valid_fields: Vec::new(),
                }),
                Box::new(None),
            )));
        }
    }
    Ok(())
}

/// Whether an SQL query reads `information_schema` (also through `SHOW COLUMNS`).
fn reads_information_schema(sql: &str) -> bool {
    let lower = sql.to_ascii_lowercase();
    lower.contains("information_schema") || lower.trim_start().starts_with("show")
}

/// The server's Arrow names types as `Debug` does (`Timestamp(Nanosecond, None)`), ours
/// as `Timestamp(ns)`: rewrites the `data_type` column of `information_schema` results.
fn with_old_type_names(stream: SendableRecordBatchStream) -> SendableRecordBatchStream {
    let schema = stream.schema();
    let Ok(index) = schema.index_of("data_type") else {
        return stream;
    };
    if schema.field(index).data_type() != &arrow_schema::DataType::Utf8 {
        return stream;
    }
    let out = Arc::clone(&schema);
    let batches = futures::StreamExt::map(stream, move |batch| {
        let batch = batch?;
        let Some(names) = batch.column(index).as_string_opt::<i32>() else {
            return Ok(batch);
        };
        let renamed: arrow_array::StringArray = names
            .iter()
            .map(|name| {
                name.map(|name| match name.parse::<arrow_schema::DataType>() {
                    Ok(data_type) => format!("{data_type:?}"),
                    Err(_) => name.to_owned(),
                })
            })
            .collect();
        let mut columns = batch.columns().to_vec();
        columns[index] = Arc::new(renamed);
        RecordBatch::try_new(Arc::clone(&out), columns)
            .map_err(|e| DataFusionError::ArrowError(Box::new(e), None))
    });
    Box::pin(RecordBatchStreamAdapter::new(schema, batches))
}

/// `stream` with its schema metadata replaced by `metadata`, and field metadata kept as
/// `fields` says.
fn with_schema_metadata(
    stream: SendableRecordBatchStream,
    (metadata, fields): (HashMap<String, String>, influxql::FieldMetadata),
) -> SendableRecordBatchStream {
    let schema = stream.schema();
    if *schema.metadata() == metadata && fields == influxql::FieldMetadata::Keep {
        return stream;
    }
    let new_fields: Vec<arrow_schema::FieldRef> = schema
        .fields()
        .iter()
        .map(|field| {
            if fields == influxql::FieldMetadata::TagsOnly && !view::is_tag(field) {
                Arc::new(field.as_ref().clone().with_metadata(HashMap::new()))
            } else {
                Arc::clone(field)
            }
        })
        .collect();
    let schema = Arc::new(arrow_schema::Schema::new_with_metadata(
        new_fields, metadata,
    ));
    let out = Arc::clone(&schema);
    let batches = futures::StreamExt::map(stream, move |batch| {
        batch.and_then(|batch| {
            RecordBatch::try_new(Arc::clone(&out), batch.columns().to_vec())
                .map_err(|e| DataFusionError::ArrowError(Box::new(e), None))
        })
    });
    Box::pin(RecordBatchStreamAdapter::new(schema, batches))
}

/// `sql` planned on `ctx` with `params` bound.
async fn frame(
    ctx: &SessionContext,
    sql: &str,
    params: &HashMap<String, ScalarValue>,
) -> Result<DataFrame, QueryError> {
    // As the server: queries only, no DDL, DML or statements (`SET`, transactions).
    let options = datafusion::execution::context::SQLOptions::new()
        .with_allow_ddl(false)
        .with_allow_dml(false)
        .with_allow_statements(false);
    ctx.sql_with_options(sql, options)
        .await
        .map_err(QueryError::planning)?
        .with_param_values(ParamValues::from(params.clone()))
        .map_err(QueryError::planning)
}

/// Runs `sql` on `ctx` with `params` bound and collects the result.
async fn run(
    ctx: &SessionContext,
    sql: &str,
    params: &HashMap<String, ScalarValue>,
) -> Result<Vec<RecordBatch>, QueryError> {
    frame(ctx, sql, params)
        .await?
        .collect()
        .await
        .map_err(QueryError::execution)
}

/// The integers of a one-row result of `BIGINT` columns (a null bound is left out).
fn bounds_in_nanos(batches: &[RecordBatch]) -> Result<Vec<i64>, QueryError> {
    let mut values = Vec::new();
    for batch in batches.iter().filter(|b| b.num_rows() > 0) {
        for column in batch.columns() {
            let column = column.as_primitive_opt::<Int64Type>().ok_or_else(|| {
                QueryError::execution(DataFusionError::Execution(format!(
                    "a time bound evaluated to {}, not a timestamp",
                    column.data_type()
                )))
            })?;
            values.extend(column.iter().flatten());
        }
    }
    Ok(values)
}

fn batch_stream(schema: SchemaRef, batches: Vec<RecordBatch>) -> SendableRecordBatchStream {
    let stream = futures::stream::iter(batches.into_iter().map(Ok));
    Box::pin(RecordBatchStreamAdapter::new(schema, stream))
}

/// A session with every table of `snapshot` registered as `public.iox.<table>`, as the
/// server presents it ([`view::ViewTable`]).
fn session(snapshot: &DatabaseSnapshot) -> Result<SessionContext, QueryError> {
    // One partition keeps the row order of unordered queries stable (insertion order),
    // which tests and users of an emulator expect.
    let config = SessionConfig::new()
        .with_default_catalog_and_schema("public", "iox")
        .with_create_default_catalog_and_schema(true)
        .with_information_schema(true)
        .with_target_partitions(1);
    let runtime = limits::runtime().map_err(QueryError::planning)?;
    let mut state = datafusion::execution::SessionStateBuilder::new()
        .with_config(config)
        .with_runtime_env(runtime)
        .with_default_features();
    if let Some(planners) = state.expr_planners() {
        planners.insert(0, Arc::new(functions::Planner));
    }
    let ctx = SessionContext::new_with_state(state.build());
    limits::register(&ctx);
    functions::register(&ctx);
    system::register(&ctx, "public").map_err(QueryError::planning)?;
    for table in &snapshot.tables {
        ctx.register_table(
            TableReference::bare(table.name.as_str()),
            Arc::new(view::ViewTable::new(table)),
        )
        .map_err(QueryError::planning)?;
    }
    Ok(ctx)
}

#[cfg(test)]
pub(crate) mod tests {
    use std::collections::HashMap;

    use arrow_array::{
        ArrayRef, BooleanArray, Float64Array, Int64Array, StringArray, TimestampNanosecondArray,
        UInt64Array,
    };
    use arrow_cast::pretty::pretty_format_batches;
    use arrow_schema::{DataType, Field, Schema, TimeUnit};
    use serde_json::json;

    use super::*;
    use crate::state::TableSnapshot;

    fn field(name: &str, data_type: DataType, kind: &str) -> Field {
        Field::new(name, data_type, kind != "timestamp").with_metadata(HashMap::from([(
            "iox::column::type".to_owned(),
            format!("iox::column_type::{kind}"),
        )]))
    }

    fn table(name: &str, fields: Vec<Field>, columns: Vec<ArrayRef>) -> TableSnapshot {
        let schema = Arc::new(Schema::new(fields));
        let batch = RecordBatch::try_new(Arc::clone(&schema), columns).expect("valid test batch");
        TableSnapshot {
            name: name.to_owned(),
            schema,
            batches: vec![batch],
        }
    }

    /// The Python documentation's `home` data (three hours, two rooms) and a `weather` table
    /// with every field type and a point without the `city` tag.
    pub(crate) fn snapshot() -> DatabaseSnapshot {
        const S: i64 = 1_000_000_000;
        let home = table(
            "home",
            vec![
                field("room", DataType::Utf8, "tag"),
                field("co", DataType::Int64, "field::integer"),
                field("hum", DataType::Float64, "field::float"),
                field("temp", DataType::Float64, "field::float"),
                field(
                    "time",
                    DataType::Timestamp(TimeUnit::Nanosecond, None),
                    "timestamp",
                ),
            ],
            vec![
                Arc::new(StringArray::from(vec![
                    "Living Room",
                    "Kitchen",
                    "Living Room",
                    "Kitchen",
                    "Living Room",
                    "Kitchen",
                ])),
                Arc::new(Int64Array::from(vec![0, 0, 0, 0, 1, 3])),
                Arc::new(Float64Array::from(vec![35.9, 35.9, 35.9, 36.2, 36.0, 36.1])),
                Arc::new(Float64Array::from(vec![21.1, 21.0, 21.4, 23.0, 21.8, 22.7])),
                Arc::new(TimestampNanosecondArray::from(vec![
                    1_641_024_000 * S,
                    1_641_024_000 * S,
                    1_641_027_600 * S,
                    1_641_027_600 * S,
                    1_641_031_200 * S,
                    1_641_031_200 * S,
                ])),
            ],
        );
        let weather = table(
            "weather",
            vec![
                field("city", DataType::Utf8, "tag"),
                field("count", DataType::UInt64, "field::uinteger"),
                field("note", DataType::Utf8, "field::string"),
                field("sunny", DataType::Boolean, "field::boolean"),
                field(
                    "time",
                    DataType::Timestamp(TimeUnit::Nanosecond, None),
                    "timestamp",
                ),
            ],
            vec![
                Arc::new(StringArray::from(vec![Some("Oslo"), Some("Rome"), None])),
                Arc::new(UInt64Array::from(vec![Some(1), None, Some(3)])),
                Arc::new(StringArray::from(vec![
                    Some("cold"),
                    Some("warm"),
                    Some("odd"),
                ])),
                Arc::new(BooleanArray::from(vec![Some(false), Some(true), None])),
                Arc::new(TimestampNanosecondArray::from(vec![S, 2 * S, 3 * S])),
            ],
        );
        DatabaseSnapshot {
            name: "db".to_owned(),
            tables: vec![home, weather],
        }
    }

    /// Runs a query and pretty-prints its result.
    pub(crate) async fn run(
        language: QueryLanguage,
        query: &str,
        params: serde_json::Value,
    ) -> Result<String, QueryError> {
        let params = match params {
            serde_json::Value::Object(map) => map,
            _ => serde_json::Map::new(),
        };
        let (_, batches) = execute(&snapshot(), language, query, &params).await?;
        Ok(pretty_format_batches(&batches)
            .map_err(|e| QueryError::execution(e.into()))?
            .to_string())
    }

    async fn sql(query: &str) -> String {
        match run(QueryLanguage::Sql, query, json!({})).await {
            Ok(text) => text,
            Err(e) => panic!("query {query:?} failed: {e}"),
        }
    }

    fn lines(text: &str) -> Vec<&str> {
        text.lines().collect()
    }

    #[tokio::test]
    async fn python_docs_queries() {
        assert_eq!(
            lines(
                &sql("SELECT room FROM home WHERE temp=21.1 AND time=from_unixtime(1641024000)")
                    .await
            ),
            [
                "+-------------+",
                "| room        |",
                "+-------------+",
                "| Living Room |",
                "+-------------+"
            ]
        );
        // The data is from 2022, so a recent window is empty but must plan and run.
        assert_eq!(
            sql("SELECT * from home WHERE time >= now() - INTERVAL '90 days'").await,
            "++\n++"
        );
        assert_eq!(
            lines(&sql("SELECT DISTINCT room FROM home ORDER BY room").await),
            [
                "+-------------+",
                "| room        |",
                "+-------------+",
                "| Kitchen     |",
                "| Living Room |",
                "+-------------+"
            ]
        );
        assert_eq!(
            lines(&sql("SELECT room, max(temp) AS t FROM home GROUP BY room ORDER BY room").await),
            [
                "+-------------+------+",
                "| room        | t    |",
                "+-------------+------+",
                "| Kitchen     | 23.0 |",
                "| Living Room | 21.8 |",
                "+-------------+------+"
            ]
        );
        assert_eq!(
            lines(&sql("SELECT date_bin(INTERVAL '2 hours', time) AS bin, count(*) AS n FROM home GROUP BY bin ORDER BY bin").await),
            ["+---------------------+---+", "| bin                 | n |", "+---------------------+---+", "| 2022-01-01T08:00:00 | 4 |", "| 2022-01-01T10:00:00 | 2 |", "+---------------------+---+"]
        );
    }

    #[tokio::test]
    async fn tables_are_reachable_by_qualified_name_and_listed() {
        assert_eq!(
            sql("SELECT count(*) AS n FROM public.iox.home").await,
            sql("SELECT count(*) AS n FROM home").await
        );
        let tables = sql("SHOW TABLES").await;
        assert!(
            tables.contains("| public        | iox                | home"),
            "{tables}"
        );
        assert!(tables.contains("weather"), "{tables}");
    }

    #[tokio::test]
    async fn column_metadata_survives_plain_projections() {
        let params = serde_json::Map::new();
        let (schema, _) = execute(
            &snapshot(),
            QueryLanguage::Sql,
            "SELECT room, temp, time FROM home",
            &params,
        )
        .await
        .expect("query runs");
        let kind = |name: &str| {
            schema
                .field_with_name(name)
                .ok()
                .and_then(|f| f.metadata().get("iox::column::type").cloned())
        };
        assert_eq!(kind("room").as_deref(), Some("iox::column_type::tag"));
        assert_eq!(
            kind("temp").as_deref(),
            Some("iox::column_type::field::float")
        );
        assert_eq!(kind("time").as_deref(), Some("iox::column_type::timestamp"));
    }

    #[tokio::test]
    async fn parameters_of_every_type_bind() {
        let query = |q: &'static str, p: serde_json::Value| run(QueryLanguage::Sql, q, p);
        let one = |text: String| text.lines().count() == 5;
        assert!(one(query(
            "SELECT room FROM home WHERE room = $r AND temp = $t",
            json!({"r": "Kitchen", "t": 23.0})
        )
        .await
        .expect("string and float")));
        assert!(one(query(
            "SELECT co FROM home WHERE co = $c",
            json!({"c": 3})
        )
        .await
        .expect("uint")));
        assert!(one(query(
            "SELECT co FROM home WHERE co - 4 = $c",
            json!({"c": -1})
        )
        .await
        .expect("int")));
        assert!(one(query(
            "SELECT city FROM weather WHERE sunny = $s",
            json!({"s": true})
        )
        .await
        .expect("bool")));
        let none = query(
            "SELECT city FROM weather WHERE note = $n",
            json!({"n": null}),
        )
        .await
        .expect("null");
        assert_eq!(none, "++\n++", "comparing with NULL matches nothing");

        let values = param_values(
            json!({"u": 1, "i": -1, "f": 1.5, "z": 0})
                .as_object()
                .expect("object"),
        )
        .expect("valid");
        assert_eq!(values["u"], ScalarValue::UInt64(Some(1)));
        assert_eq!(values["i"], ScalarValue::Int64(Some(-1)));
        assert_eq!(values["f"], ScalarValue::Float64(Some(1.5)));
        assert_eq!(values["z"], ScalarValue::UInt64(Some(0)));
        for bad in [json!({"a": [1]}), json!({"a": {"b": 1}})] {
            let err = param_values(bad.as_object().expect("object")).expect_err("rejected");
            assert_eq!(err.http_status(), StatusCode::BAD_REQUEST);
            assert!(err.to_string().contains("'a'"), "{err}");
        }
        let missing = query("SELECT * FROM home WHERE room = $r", json!({}))
            .await
            .expect_err("unbound");
        assert_eq!(missing.grpc_code(), tonic::Code::InvalidArgument);
        assert!(missing.to_string().contains("$r"), "{missing}");
    }

    #[tokio::test]
    async fn planning_errors_are_classified() {
        let err = run(QueryLanguage::Sql, "SELECT * FROM nope", json!({}))
            .await
            .expect_err("unknown table");
        assert!(
            err.to_string()
                .contains("table 'public.iox.nope' not found"),
            "{err}"
        );
        assert_eq!(err.http_status(), StatusCode::INTERNAL_SERVER_ERROR);
        assert!(
            err.http_body()
                .starts_with("query error: error while planning query: ")
        );
        assert_eq!(err.grpc_code(), tonic::Code::InvalidArgument);

        let err = run(QueryLanguage::Sql, "SELEC 1", json!({}))
            .await
            .expect_err("syntax");
        assert_eq!(err.http_status(), StatusCode::INTERNAL_SERVER_ERROR);
        assert!(
            err.http_body()
                .starts_with("query error: error while planning query: ")
        );
        assert_eq!(err.grpc_code(), tonic::Code::InvalidArgument);
    }
}
