//! [`QueryResult`]: a whole result in memory, printed as a table, read as typed rows or as
//! points.

use std::collections::BTreeMap;
use std::fmt;

use arrow_array::RecordBatch;
use arrow_schema::SchemaRef;
use serde::de::DeserializeOwned;

use crate::error::Error;
use crate::rows::{Cell, ColumnReader, RowDeserializer};

/// The metadata key that tells tags, fields and time apart (PROTOCOL.md §3.3).
pub const COLUMN_TYPE_KEY: &str = "iox::column::type";

/// A whole query result in memory (Python's `mode="all"` / `mode="pandas"`); made by
/// [`QueryClient::query`](crate::QueryClient::query).
///
/// `Display` prints an aligned text table, like the Python documentation's
/// `DataFrame.to_markdown()`:
///
/// ```
/// use std::sync::Arc;
/// use arrow_array::{Int64Array, RecordBatch, StringArray};
/// use influxdb3_query::QueryResult;
///
/// let batch = RecordBatch::try_from_iter([
///     ("room", Arc::new(StringArray::from(vec!["kitchen", "den"])) as _),
///     ("co", Arc::new(Int64Array::from(vec![4, 0])) as _),
/// ])?;
/// let result = QueryResult::new(batch.schema(), vec![batch]);
/// assert_eq!(result.num_rows(), 2);
/// println!("{result}");
/// // +---------+----+
/// // | room    | co |
/// // +---------+----+
/// // | kitchen | 4  |
/// // | den     | 0  |
/// // +---------+----+
/// # Ok::<(), arrow_schema::ArrowError>(())
/// ```
#[derive(Debug, Clone)]
pub struct QueryResult {
    schema: SchemaRef,
    batches: Vec<RecordBatch>,
}

impl QueryResult {
    /// A result of these batches, which must all have `schema`.
    pub fn new(schema: SchemaRef, batches: Vec<RecordBatch>) -> Self {
        QueryResult { schema, batches }
    }

    /// The schema of the result.
    pub fn schema(&self) -> SchemaRef {
        self.schema.clone()
    }

    /// The batches, in the order the server sent them; empty keep-alive batches are not
    /// included.
    pub fn batches(&self) -> &[RecordBatch] {
        &self.batches
    }

    /// The number of rows in all batches.
    pub fn num_rows(&self) -> usize {
        self.batches.iter().map(RecordBatch::num_rows).sum()
    }

    /// True when the result has no rows.
    pub fn is_empty(&self) -> bool {
        self.num_rows() == 0
    }

    /// The batches, by value.
    pub fn into_batches(self) -> Vec<RecordBatch> {
        self.batches
    }

    /// Each row as a `T`, matching columns to `T`'s fields by name (with serde).
    ///
    /// - Integer, float, boolean and string columns deserialize into the Rust types of the
    ///   same kind (with range checks between integer types, and integers into floats).
    /// - `time` and other timestamp columns deserialize as `i64` nanoseconds since the epoch,
    ///   or, into a `String` (or `chrono::DateTime` with chrono's `serde` feature), as RFC 3339
    ///   text in UTC such as `2024-05-01T12:00:00Z`.
    /// - A null deserializes into `Option::None`; into a non-`Option` field it is an error.
    /// - Columns that `T` does not name are ignored, unless `T` denies unknown fields; an
    ///   `Option` field with no column is `None`.
    /// - Other Arrow types (dates, decimals, lists, ...) deserialize as their text form.
    ///
    /// Errors name the row (counted from 0 over the whole result) and the column.
    ///
    /// ```
    /// # use std::sync::Arc;
    /// # use arrow_array::{Float64Array, RecordBatch, StringArray, TimestampNanosecondArray};
    /// use influxdb3_query::QueryResult;
    ///
    /// #[derive(serde::Deserialize)]
    /// struct Reading {
    ///     room: String,
    ///     temp: Option<f64>,
    ///     time: i64,
    /// }
    /// # let batch = RecordBatch::try_from_iter([
    /// #     ("room", Arc::new(StringArray::from(vec!["kitchen"])) as _),
    /// #     ("temp", Arc::new(Float64Array::from(vec![21.5])) as _),
    /// #     ("time", Arc::new(TimestampNanosecondArray::from(vec![1_000])) as _),
    /// # ])?;
    /// # let result = QueryResult::new(batch.schema(), vec![batch]);
    /// // let result = client.query("SELECT room, temp, time FROM home").await?;
    /// let rows: Vec<Reading> = result.rows()?;
    /// assert_eq!(rows[0].room, "kitchen");
    /// assert_eq!(rows[0].temp, Some(21.5));
    /// assert_eq!(rows[0].time, 1_000);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn rows<T: DeserializeOwned>(&self) -> Result<Vec<T>, Error> {
        let mut out = Vec::with_capacity(self.num_rows());
        let mut row_base = 0;
        for batch in &self.batches {
            let columns = ColumnReader::for_batch(batch);
            let names: Vec<&str> = batch
                .schema_ref()
                .fields()
                .iter()
                .map(|f| f.name().as_str())
                .collect();
            for row in 0..batch.num_rows() {
                let de = RowDeserializer::new(&names, &columns, row, row_base + row);
                out.push(T::deserialize(de)?);
            }
            row_base += batch.num_rows();
        }
        Ok(out)
    }

    /// Each row as a [`PointRow`]: measurement, tags, fields and time, sorted by each column's
    /// `iox::column::type` metadata (PROTOCOL.md §3.3), as the Go client's `AsPoints` does.
    ///
    /// - A string column named `measurement` or `iox::measurement` (InfluxQL results) sets the
    ///   measurement.
    /// - Tag columns become tags, the timestamp column the time (ns), field columns fields.
    /// - A column without the metadata (a computed SQL expression) is the time if it is a
    ///   timestamp named `time`, and otherwise a field typed from its Arrow type.
    /// - Nulls are left out.
    pub fn points(&self) -> Vec<PointRow> {
        let mut out = Vec::with_capacity(self.num_rows());
        for batch in &self.batches {
            let schema = batch.schema();
            let roles: Vec<Role> = schema.fields().iter().map(|f| Role::of(f)).collect();
            let columns = ColumnReader::for_batch(batch);
            for row in 0..batch.num_rows() {
                let mut point = PointRow::default();
                for ((field, role), column) in schema.fields().iter().zip(&roles).zip(&columns) {
                    let cell = column.cell(row);
                    if matches!(cell, Cell::Null) {
                        continue;
                    }
                    let name = field.name();
                    match role {
                        Role::Measurement => {
                            point.measurement = Some(cell.into_string());
                        }
                        Role::Tag => {
                            point.tags.insert(name.clone(), cell.into_string());
                        }
                        Role::Time => match cell {
                            Cell::Timestamp(ns) | Cell::Int(ns) => point.time = Some(ns),
                            other => {
                                point.fields.insert(name.clone(), Value::from_cell(other));
                            }
                        },
                        Role::Field => {
                            point.fields.insert(name.clone(), Value::from_cell(cell));
                        }
                    }
                }
                out.push(point);
            }
        }
        out
    }
}

impl fmt::Display for QueryResult {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match arrow_cast::pretty::pretty_format_batches_with_schema(
            self.schema.clone(),
            &self.batches,
        ) {
            Ok(table) => write!(f, "{table}"),
            Err(e) => write!(
                f,
                "<result of {} rows could not be formatted: {e}>",
                self.num_rows()
            ),
        }
    }
}

enum Role {
    Measurement,
    Tag,
    Time,
    Field,
}

impl Role {
    fn of(field: &arrow_schema::Field) -> Role {
        let name = field.name().as_str();
        let is_string = matches!(
            field.data_type(),
            arrow_schema::DataType::Utf8
                | arrow_schema::DataType::LargeUtf8
                | arrow_schema::DataType::Utf8View
                | arrow_schema::DataType::Dictionary(_, _)
        );
        if (name == "measurement" || name == "iox::measurement") && is_string {
            return Role::Measurement;
        }
        match field.metadata().get(COLUMN_TYPE_KEY).map(String::as_str) {
            Some("iox::column_type::tag") => Role::Tag,
            Some("iox::column_type::timestamp") => Role::Time,
            Some(_) => Role::Field,
            None => {
                if name == "time"
                    && matches!(field.data_type(), arrow_schema::DataType::Timestamp(_, _))
                {
                    Role::Time
                } else {
                    Role::Field
                }
            }
        }
    }
}

/// One row of a result sorted into measurement, tags, fields and time; made by
/// [`QueryResult::points`].
#[derive(Debug, Clone, PartialEq, Default)]
pub struct PointRow {
    /// The measurement, from a `measurement` or `iox::measurement` column.
    pub measurement: Option<String>,
    /// Tags by name.
    pub tags: BTreeMap<String, String>,
    /// Fields by name.
    pub fields: BTreeMap<String, Value>,
    /// The time in nanoseconds since the epoch.
    pub time: Option<i64>,
}

/// The value of a field in a [`PointRow`].
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// A float.
    Float(f64),
    /// A signed integer.
    Integer(i64),
    /// An unsigned integer.
    UInteger(u64),
    /// A string (also the text form of Arrow types with no variant here).
    String(String),
    /// A boolean.
    Boolean(bool),
}

impl Value {
    fn from_cell(cell: Cell<'_>) -> Value {
        match cell {
            Cell::Bool(b) => Value::Boolean(b),
            Cell::Int(i) | Cell::Timestamp(i) => Value::Integer(i),
            Cell::UInt(u) => Value::UInteger(u),
            Cell::Float(f) => Value::Float(f),
            other => Value::String(other.into_string()),
        }
    }
}
