//! A query: its text, language, parameters and per-query settings, and the JSON ticket it
//! becomes on the wire.

use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

use crate::error::Error;

/// The language of a query's text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum QueryLanguage {
    /// SQL (the default).
    #[default]
    Sql,
    /// InfluxQL. Results start with an `iox::measurement` column.
    InfluxQl,
}

impl QueryLanguage {
    /// The `query_type` value of the Flight ticket: `"sql"` or `"influxql"`.
    pub fn as_str(self) -> &'static str {
        match self {
            QueryLanguage::Sql => "sql",
            QueryLanguage::InfluxQl => "influxql",
        }
    }
}

/// The value of a query parameter, referenced in the query text as `$name`.
///
/// Every Rust integer, float, `bool`, string and `Option` of those converts into a
/// `ParamValue` (`None` becomes [`ParamValue::Null`]).
///
/// The server reads JSON numbers as `UInt64` when they are non-negative integers, `Int64` when
/// they are negative integers and `Float64` otherwise, so `Int(5)` reaches SQL as an unsigned
/// 5; SQL compares it with signed columns as you would expect.
#[derive(Debug, Clone, PartialEq)]
pub enum ParamValue {
    /// SQL `NULL`.
    Null,
    /// A boolean.
    Bool(bool),
    /// A signed integer.
    Int(i64),
    /// An unsigned integer.
    UInt(u64),
    /// A float. NaN and infinities cannot be sent (the ticket is JSON).
    Float(f64),
    /// A string.
    String(String),
}

macro_rules! param_from {
    ($variant:ident: $($t:ty),*) => {$(
        impl From<$t> for ParamValue {
            fn from(v: $t) -> Self {
                ParamValue::$variant(v.into())
            }
        }
    )*};
}
param_from!(Int: i8, i16, i32, i64);
param_from!(UInt: u8, u16, u32, u64);
param_from!(Float: f32, f64);
param_from!(Bool: bool);
param_from!(String: String, &str, &String, Box<str>);

impl<T: Into<ParamValue>> From<Option<T>> for ParamValue {
    fn from(v: Option<T>) -> Self {
        v.map_or(ParamValue::Null, Into::into)
    }
}

impl ParamValue {
    fn to_json(&self, name: &str) -> Result<serde_json::Value, Error> {
        Ok(match self {
            ParamValue::Null => serde_json::Value::Null,
            ParamValue::Bool(b) => serde_json::Value::Bool(*b),
            ParamValue::Int(i) => serde_json::Value::from(*i),
            ParamValue::UInt(u) => serde_json::Value::from(*u),
            ParamValue::Float(f) => serde_json::Number::from_f64(*f)
                .map(serde_json::Value::Number)
                .ok_or_else(|| {
                    Error::config(format!(
                        "query parameter `{name}` is {f}, which cannot be sent: the Flight ticket is JSON, which has no NaN or infinity"
                    ))
                })?,
            ParamValue::String(s) => serde_json::Value::String(s.clone()),
        })
    }
}

/// One query: its text, [language](QueryLanguage), parameters, and optional database,
/// timeout and headers that override the client's for this query only.
///
/// A `&str` or `String` converts into a SQL query, so the query methods of
/// [`QueryClient`](crate::QueryClient) take either.
///
/// ```
/// use std::time::Duration;
/// use influxdb3_query::{Query, QueryLanguage};
///
/// let q = Query::sql("SELECT * FROM home WHERE room = $room AND temp > $min")
///     .param("room", "kitchen")
///     .param("min", 20.5)
///     .database("sensors")
///     .timeout(Duration::from_secs(5))
///     .header("x-request-id", "42");
/// assert_eq!(q.language(), QueryLanguage::Sql);
///
/// let q = Query::influxql("SELECT temp FROM home WHERE time > now() - 1h");
/// assert_eq!(q.language(), QueryLanguage::InfluxQl);
/// let q: Query = "SELECT 1".into();
/// assert_eq!(q.text(), "SELECT 1");
/// ```
///
/// `Debug` shows header names but not their values, which may hold credentials.
#[derive(Clone, PartialEq)]
pub struct Query {
    text: String,
    language: QueryLanguage,
    params: BTreeMap<String, ParamValue>,
    pub(crate) database: Option<String>,
    pub(crate) timeout: Option<Duration>,
    pub(crate) headers: Vec<(String, String)>,
}

impl fmt::Debug for Query {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let headers: Vec<(&str, &str)> = self
            .headers
            .iter()
            .map(|(name, _)| (name.as_str(), "<redacted>"))
            .collect();
        f.debug_struct("Query")
            .field("text", &self.text)
            .field("language", &self.language)
            .field("params", &self.params)
            .field("database", &self.database)
            .field("timeout", &self.timeout)
            .field("headers", &headers)
            .finish()
    }
}

impl Query {
    /// A query in the given language.
    pub fn new(language: QueryLanguage, text: impl Into<String>) -> Self {
        Query {
            text: text.into(),
            language,
            params: BTreeMap::new(),
            database: None,
            timeout: None,
            headers: Vec::new(),
        }
    }

    /// A SQL query.
    pub fn sql(text: impl Into<String>) -> Self {
        Self::new(QueryLanguage::Sql, text)
    }

    /// An InfluxQL query.
    pub fn influxql(text: impl Into<String>) -> Self {
        Self::new(QueryLanguage::InfluxQl, text)
    }

    /// Sets the parameter `name` (referenced as `$name` in the text). Setting it again
    /// replaces the value.
    pub fn param(mut self, name: impl Into<String>, value: impl Into<ParamValue>) -> Self {
        self.params.insert(name.into(), value.into());
        self
    }

    /// Queries this database instead of the client's default.
    pub fn database(mut self, database: impl Into<String>) -> Self {
        self.database = Some(database.into());
        self
    }

    /// Limits the whole query, including reading all of its results, to `timeout`.
    ///
    /// Sent to the server as the gRPC deadline and enforced by the client. Overrides
    /// [`FlightOptions::query_timeout`](crate::FlightOptions::query_timeout). A timeout of 100
    /// years or more (such as `Duration::MAX`) means no timeout.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// Adds a gRPC metadata header for this query only, after the client's headers. An
    /// invalid name or value is reported when the query runs.
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// The query text.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// The query language.
    pub fn language(&self) -> QueryLanguage {
        self.language
    }

    /// The parameters, by name.
    pub fn params(&self) -> &BTreeMap<String, ParamValue> {
        &self.params
    }

    /// The JSON ticket of PROTOCOL.md §3.1:
    /// `{"database","sql_query","query_type","params"?}`, `params` only when given.
    pub(crate) fn ticket_json(&self, default_database: Option<&str>) -> Result<Vec<u8>, Error> {
        let database = self
            .database
            .as_deref()
            .or(default_database)
            .ok_or_else(|| {
                Error::config(
                    "no database: set one with QueryClientBuilder::database or Query::database",
                )
            })?;
        if database.is_empty() {
            return Err(Error::config("the database name is empty"));
        }
        let mut ticket = serde_json::Map::new();
        ticket.insert("database".into(), database.into());
        ticket.insert("sql_query".into(), self.text.as_str().into());
        ticket.insert("query_type".into(), self.language.as_str().into());
        if !self.params.is_empty() {
            let mut params = serde_json::Map::new();
            for (name, value) in &self.params {
                params.insert(name.clone(), value.to_json(name)?);
            }
            ticket.insert("params".into(), serde_json::Value::Object(params));
        }
        serde_json::to_vec(&serde_json::Value::Object(ticket))
            .map_err(|e| Error::config(format!("could not encode the Flight ticket: {e}")))
    }
}

impl From<&str> for Query {
    fn from(text: &str) -> Self {
        Query::sql(text)
    }
}

impl From<String> for Query {
    fn from(text: String) -> Self {
        Query::sql(text)
    }
}

impl From<&String> for Query {
    fn from(text: &String) -> Self {
        Query::sql(text.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_hides_header_values() {
        let q = Query::sql("SELECT 1").header("authorization", "Bearer apiv3_secret");
        let text = format!("{q:?}");
        assert!(!text.contains("apiv3_secret"), "{text}");
        assert!(
            text.contains("authorization") && text.contains("<redacted>"),
            "{text}"
        );
    }

    fn json(q: &Query, db: Option<&str>) -> serde_json::Value {
        let bytes = q.ticket_json(db).unwrap();
        serde_json::from_slice(&bytes).unwrap()
    }

    #[test]
    fn ticket_without_params_has_exactly_three_keys() {
        let v = json(&Query::sql("SELECT 1"), Some("db"));
        assert_eq!(
            v,
            serde_json::json!({"database": "db", "sql_query": "SELECT 1", "query_type": "sql"})
        );
    }

    #[test]
    fn ticket_with_params_and_influxql() {
        let q = Query::influxql("SELECT * FROM cpu WHERE host=$h")
            .param("h", "a")
            .param("i", -3i32)
            .param("u", 7u8)
            .param("f", 1.5)
            .param("b", true)
            .param("n", None::<i64>)
            .database("other");
        let v = json(&q, Some("db"));
        assert_eq!(
            v,
            serde_json::json!({
                "database": "other",
                "sql_query": "SELECT * FROM cpu WHERE host=$h",
                "query_type": "influxql",
                "params": {"h": "a", "i": -3, "u": 7, "f": 1.5, "b": true, "n": null}
            })
        );
    }

    #[test]
    fn ticket_errors_name_the_problem() {
        let e = Query::sql("x").ticket_json(None).unwrap_err();
        assert!(e.to_string().contains("no database"), "{e}");
        let e = Query::sql("x")
            .param("bad", f64::INFINITY)
            .ticket_json(Some("db"))
            .unwrap_err();
        assert!(e.to_string().contains("parameter `bad`"), "{e}");
    }
}
