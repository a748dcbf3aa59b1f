//! Reading cells of Arrow columns, and the serde deserializer behind
//! [`QueryResult::rows`](crate::QueryResult::rows).

use std::fmt;

use arrow_array::cast::AsArray;
use arrow_array::types::{Float64Type, Int64Type, UInt64Type};
use arrow_array::{
    Array, ArrayRef, BooleanArray, Float64Array, Int64Array, RecordBatch, StringArray, UInt64Array,
};
use arrow_cast::display::{ArrayFormatter, FormatOptions};
use arrow_schema::{DataType, TimeUnit};
use serde::de::value::StrDeserializer;
use serde::de::{self, DeserializeSeed, IntoDeserializer, MapAccess, SeqAccess, Visitor};

use crate::error::{Error, ErrorKind};

/// One cell, in the few shapes the rest of the crate cares about.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Cell<'a> {
    Null,
    Bool(bool),
    Int(i64),
    UInt(u64),
    Float(f64),
    Str(&'a str),
    /// Nanoseconds since the epoch, UTC.
    Timestamp(i64),
    /// The text form of any other value.
    Other(String),
}

impl Cell<'_> {
    pub(crate) fn into_string(self) -> String {
        match self {
            Cell::Null => String::new(),
            Cell::Bool(b) => b.to_string(),
            Cell::Int(i) => i.to_string(),
            Cell::UInt(u) => u.to_string(),
            Cell::Float(f) => f.to_string(),
            Cell::Str(s) => s.to_owned(),
            Cell::Timestamp(ns) => rfc3339(ns),
            Cell::Other(s) => s,
        }
    }
}

fn rfc3339(ns: i64) -> String {
    chrono::DateTime::from_timestamp_nanos(ns).to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true)
}

/// A column prepared for reading cells by row index.
pub(crate) enum ColumnReader<'a> {
    Null,
    Bool(&'a BooleanArray),
    Int(Int64Array),
    UInt(UInt64Array),
    Float(Float64Array),
    Str(StringArray),
    /// Raw timestamp values and the factor that makes them nanoseconds.
    Timestamp(Int64Array, i64, TimeUnit),
    Other(&'a dyn Array, Option<ArrayFormatter<'a>>),
}

impl<'a> ColumnReader<'a> {
    pub(crate) fn new(array: &'a ArrayRef) -> Self {
        let cast = |to: &DataType| arrow_cast::cast(array, to).ok();
        match array.data_type() {
            DataType::Null => ColumnReader::Null,
            DataType::Boolean => ColumnReader::Bool(array.as_boolean()),
            DataType::Int8 | DataType::Int16 | DataType::Int32 | DataType::Int64 => {
                cast(&DataType::Int64)
                    .map(|a| ColumnReader::Int(a.as_primitive::<Int64Type>().clone()))
                    .unwrap_or_else(|| Self::other(array))
            }
            DataType::UInt8 | DataType::UInt16 | DataType::UInt32 | DataType::UInt64 => {
                cast(&DataType::UInt64)
                    .map(|a| ColumnReader::UInt(a.as_primitive::<UInt64Type>().clone()))
                    .unwrap_or_else(|| Self::other(array))
            }
            DataType::Float16 | DataType::Float32 | DataType::Float64 => cast(&DataType::Float64)
                .map(|a| ColumnReader::Float(a.as_primitive::<Float64Type>().clone()))
                .unwrap_or_else(|| Self::other(array)),
            DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => cast(&DataType::Utf8)
                .map(|a| ColumnReader::Str(a.as_string::<i32>().clone()))
                .unwrap_or_else(|| Self::other(array)),
            DataType::Dictionary(_, value) if value.is_string() => cast(&DataType::Utf8)
                .map(|a| ColumnReader::Str(a.as_string::<i32>().clone()))
                .unwrap_or_else(|| Self::other(array)),
            DataType::Timestamp(unit, _) => {
                let factor = match unit {
                    TimeUnit::Second => 1_000_000_000,
                    TimeUnit::Millisecond => 1_000_000,
                    TimeUnit::Microsecond => 1_000,
                    TimeUnit::Nanosecond => 1,
                };
                // Timestamp -> Int64 keeps the raw UTC value (no time-zone adjustment).
                cast(&DataType::Int64)
                    .map(|a| {
                        ColumnReader::Timestamp(
                            a.as_primitive::<Int64Type>().clone(),
                            factor,
                            *unit,
                        )
                    })
                    .unwrap_or_else(|| Self::other(array))
            }
            _ => Self::other(array),
        }
    }

    fn other(array: &'a ArrayRef) -> Self {
        let formatter = ArrayFormatter::try_new(array.as_ref(), &FormatOptions::default()).ok();
        ColumnReader::Other(array.as_ref(), formatter)
    }

    /// Every column of `batch`, prepared.
    pub(crate) fn for_batch(batch: &'a RecordBatch) -> Vec<Self> {
        batch.columns().iter().map(ColumnReader::new).collect()
    }

    pub(crate) fn cell(&self, row: usize) -> Cell<'_> {
        match self {
            ColumnReader::Null => Cell::Null,
            ColumnReader::Bool(a) => {
                if a.is_null(row) {
                    Cell::Null
                } else {
                    Cell::Bool(a.value(row))
                }
            }
            ColumnReader::Int(a) => {
                if a.is_null(row) {
                    Cell::Null
                } else {
                    Cell::Int(a.value(row))
                }
            }
            ColumnReader::UInt(a) => {
                if a.is_null(row) {
                    Cell::Null
                } else {
                    Cell::UInt(a.value(row))
                }
            }
            ColumnReader::Float(a) => {
                if a.is_null(row) {
                    Cell::Null
                } else {
                    Cell::Float(a.value(row))
                }
            }
            ColumnReader::Str(a) => {
                if a.is_null(row) {
                    Cell::Null
                } else {
                    Cell::Str(a.value(row))
                }
            }
            ColumnReader::Timestamp(a, factor, unit) => {
                if a.is_null(row) {
                    return Cell::Null;
                }
                let raw = a.value(row);
                match raw.checked_mul(*factor) {
                    Some(ns) => Cell::Timestamp(ns),
                    // Outside what i64 nanoseconds can hold (before 1677 or after 2262).
                    None => Cell::Other(format!("{raw} {unit:?}s since the epoch")),
                }
            }
            ColumnReader::Other(a, formatter) => {
                if a.is_null(row) {
                    Cell::Null
                } else {
                    match formatter {
                        Some(f) => Cell::Other(f.value(row).to_string()),
                        None => Cell::Other(format!("<{} value>", a.data_type())),
                    }
                }
            }
        }
    }
}

impl de::Error for Error {
    fn custom<T: fmt::Display>(msg: T) -> Self {
        Error::new(ErrorKind::Deserialize, msg.to_string())
    }
}

/// Deserializes one row as a map (structs, maps) or a sequence (tuples) of its cells.
pub(crate) struct RowDeserializer<'r, 'a> {
    names: &'r [&'r str],
    columns: &'r [ColumnReader<'a>],
    row: usize,
    /// The row number over the whole result, for messages.
    row_number: usize,
}

impl<'r, 'a> RowDeserializer<'r, 'a> {
    pub(crate) fn new(
        names: &'r [&'r str],
        columns: &'r [ColumnReader<'a>],
        row: usize,
        row_number: usize,
    ) -> Self {
        RowDeserializer {
            names,
            columns,
            row,
            row_number,
        }
    }

    fn context(&self, column: Option<&str>, e: Error) -> Error {
        if e.message().starts_with("row ") {
            return e;
        }
        let message = match column {
            Some(c) => format!("row {}, column `{c}`: {}", self.row_number, e.message()),
            None => format!("row {}: {}", self.row_number, e.message()),
        };
        Error::new(ErrorKind::Deserialize, message)
    }
}

impl<'de> de::Deserializer<'de> for RowDeserializer<'_, '_> {
    type Error = Error;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        let access = RowAccess {
            row: &self,
            index: 0,
        };
        visitor.visit_map(access).map_err(|e| self.context(None, e))
    }

    fn deserialize_seq<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        let access = RowAccess {
            row: &self,
            index: 0,
        };
        visitor.visit_seq(access).map_err(|e| self.context(None, e))
    }

    fn deserialize_tuple<V: Visitor<'de>>(
        self,
        _len: usize,
        visitor: V,
    ) -> Result<V::Value, Error> {
        self.deserialize_seq(visitor)
    }

    fn deserialize_tuple_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _len: usize,
        visitor: V,
    ) -> Result<V::Value, Error> {
        self.deserialize_seq(visitor)
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string
        bytes byte_buf option unit unit_struct newtype_struct
        map struct enum identifier ignored_any
    }
}

struct RowAccess<'x, 'r, 'a> {
    row: &'x RowDeserializer<'r, 'a>,
    index: usize,
}

impl RowAccess<'_, '_, '_> {
    fn cell_deserializer(&self, index: usize) -> CellDeserializer<'_> {
        CellDeserializer(self.row.columns[index].cell(self.row.row))
    }
}

impl<'de> MapAccess<'de> for RowAccess<'_, '_, '_> {
    type Error = Error;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, Error> {
        match self.row.names.get(self.index) {
            Some(name) => seed
                .deserialize(StrDeserializer::<Error>::new(name))
                .map(Some),
            None => Ok(None),
        }
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, Error> {
        let index = self.index;
        self.index += 1;
        let name = self.row.names.get(index).copied();
        if index >= self.row.columns.len() {
            return Err(Error::new(
                ErrorKind::Deserialize,
                "value requested past the last column",
            ));
        }
        seed.deserialize(self.cell_deserializer(index))
            .map_err(|e| self.row.context(name, e))
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.row.columns.len() - self.index.min(self.row.columns.len()))
    }
}

impl<'de> SeqAccess<'de> for RowAccess<'_, '_, '_> {
    type Error = Error;

    fn next_element_seed<T: DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, Error> {
        if self.index >= self.row.columns.len() {
            return Ok(None);
        }
        let index = self.index;
        self.index += 1;
        let name = self.row.names.get(index).copied();
        seed.deserialize(self.cell_deserializer(index))
            .map(Some)
            .map_err(|e| self.row.context(name, e))
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.row.columns.len() - self.index.min(self.row.columns.len()))
    }
}

/// Deserializes one cell.
struct CellDeserializer<'a>(Cell<'a>);

impl<'de> de::Deserializer<'de> for CellDeserializer<'_> {
    type Error = Error;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match self.0 {
            Cell::Null => visitor.visit_none(),
            Cell::Bool(b) => visitor.visit_bool(b),
            Cell::Int(i) | Cell::Timestamp(i) => visitor.visit_i64(i),
            Cell::UInt(u) => visitor.visit_u64(u),
            Cell::Float(f) => visitor.visit_f64(f),
            Cell::Str(s) => visitor.visit_str(s),
            Cell::Other(s) => visitor.visit_string(s),
        }
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match self.0 {
            Cell::Null => visitor.visit_none(),
            _ => visitor.visit_some(self),
        }
    }

    fn deserialize_unit<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match self.0 {
            Cell::Null => visitor.visit_unit(),
            _ => self.deserialize_any(visitor),
        }
    }

    fn deserialize_str<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match self.0 {
            Cell::Timestamp(ns) => visitor.visit_string(rfc3339(ns)),
            _ => self.deserialize_any(visitor),
        }
    }

    fn deserialize_string<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        self.deserialize_str(visitor)
    }

    fn deserialize_f64<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match self.0 {
            // Integers into floats, as serde_json does.
            Cell::Int(i) => visitor.visit_f64(i as f64),
            Cell::UInt(u) => visitor.visit_f64(u as f64),
            _ => self.deserialize_any(visitor),
        }
    }

    fn deserialize_f32<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        self.deserialize_f64(visitor)
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Error> {
        match self.0 {
            Cell::Str(s) => visitor.visit_enum(IntoDeserializer::<Error>::into_deserializer(s)),
            Cell::Other(s) => visitor.visit_enum(IntoDeserializer::<Error>::into_deserializer(s)),
            _ => self.deserialize_any(visitor),
        }
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, Error> {
        visitor.visit_newtype_struct(self)
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 char
        bytes byte_buf unit_struct seq tuple tuple_struct
        map struct identifier ignored_any
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::sync::Arc;

    use arrow_array::{
        BooleanArray, DictionaryArray, Float64Array, Int32Array, Int64Array, RecordBatch,
        StringArray, TimestampNanosecondArray, TimestampSecondArray, UInt64Array, types::Int32Type,
    };
    use arrow_schema::{Field, Schema};
    use serde::Deserialize;

    use crate::{PointRow, QueryResult, Value};

    fn result() -> QueryResult {
        let tag = |name: &str| {
            Field::new(name, arrow_schema::DataType::Utf8, true).with_metadata(
                [(
                    "iox::column::type".to_string(),
                    "iox::column_type::tag".to_string(),
                )]
                .into(),
            )
        };
        let field = |name: &str, dt, kind: &str| {
            Field::new(name, dt, true).with_metadata(
                [(
                    "iox::column::type".to_string(),
                    format!("iox::column_type::field::{kind}"),
                )]
                .into(),
            )
        };
        let schema = Arc::new(Schema::new(vec![
            tag("room"),
            field("temp", arrow_schema::DataType::Float64, "float"),
            field("co", arrow_schema::DataType::Int64, "integer"),
            field("count", arrow_schema::DataType::UInt64, "uinteger"),
            field("on", arrow_schema::DataType::Boolean, "boolean"),
            Field::new(
                "time",
                arrow_schema::DataType::Timestamp(arrow_schema::TimeUnit::Nanosecond, None),
                false,
            )
            .with_metadata(
                [(
                    "iox::column::type".to_string(),
                    "iox::column_type::timestamp".to_string(),
                )]
                .into(),
            ),
        ]));
        let batch = RecordBatch::try_new(
            schema.clone(),
            vec![
                Arc::new(StringArray::from(vec![Some("kitchen"), None])),
                Arc::new(Float64Array::from(vec![Some(21.5), None])),
                Arc::new(Int64Array::from(vec![Some(-4), Some(3)])),
                Arc::new(UInt64Array::from(vec![Some(7), Some(8)])),
                Arc::new(BooleanArray::from(vec![Some(true), Some(false)])),
                Arc::new(TimestampNanosecondArray::from(vec![
                    1_714_564_800_000_000_000,
                    1_714_564_800_123_000_000,
                ])),
            ],
        )
        .unwrap();
        QueryResult::new(schema, vec![batch])
    }

    #[test]
    fn rows_deserialize_by_name_with_options_and_timestamps() {
        #[derive(Deserialize, Debug, PartialEq)]
        struct Row {
            room: Option<String>,
            temp: Option<f64>,
            co: i32,
            count: u64,
            on: bool,
            time: i64,
        }
        #[derive(Deserialize, Debug, PartialEq)]
        struct TextTime {
            time: String,
            co: f64,
        }
        let r = result();
        let rows: Vec<Row> = r.rows().unwrap();
        assert_eq!(
            rows,
            vec![
                Row {
                    room: Some("kitchen".into()),
                    temp: Some(21.5),
                    co: -4,
                    count: 7,
                    on: true,
                    time: 1_714_564_800_000_000_000
                },
                Row {
                    room: None,
                    temp: None,
                    co: 3,
                    count: 8,
                    on: false,
                    time: 1_714_564_800_123_000_000
                },
            ]
        );
        let rows: Vec<TextTime> = r.rows().unwrap();
        assert_eq!(rows[0].time, "2024-05-01T12:00:00Z");
        assert_eq!(rows[1].time, "2024-05-01T12:00:00.123Z");
        assert_eq!(rows[0].co, -4.0);

        let tuples: Vec<(Option<String>, Option<f64>)> = r.rows().unwrap();
        assert_eq!(tuples[0], (Some("kitchen".into()), Some(21.5)));

        let maps: Vec<BTreeMap<String, serde_json::Value>> = r.rows().unwrap();
        assert_eq!(maps[1]["room"], serde_json::Value::Null);
        assert_eq!(maps[1]["count"], serde_json::json!(8));
    }

    #[test]
    fn rows_errors_name_row_and_column() {
        #[derive(Deserialize, Debug)]
        #[allow(dead_code)]
        struct NotNull {
            temp: f64,
        }
        let e = result().rows::<NotNull>().unwrap_err();
        assert_eq!(e.kind(), crate::ErrorKind::Deserialize);
        assert!(e.message().starts_with("row 1, column `temp`"), "{e}");

        #[derive(Deserialize, Debug)]
        #[allow(dead_code)]
        struct Missing {
            nope: i64,
        }
        let e = result().rows::<Missing>().unwrap_err();
        assert!(
            e.message().contains("row 0") && e.message().contains("nope"),
            "{e}"
        );

        #[derive(Deserialize, Debug)]
        #[allow(dead_code)]
        struct Narrow {
            co: u8,
        }
        let e = result().rows::<Narrow>().unwrap_err();
        assert!(e.message().starts_with("row 0, column `co`"), "{e}");
    }

    #[test]
    fn points_sort_columns_by_metadata() {
        let points = result().points();
        assert_eq!(
            points[0],
            PointRow {
                measurement: None,
                tags: [("room".to_string(), "kitchen".to_string())].into(),
                fields: [
                    ("temp".to_string(), Value::Float(21.5)),
                    ("co".to_string(), Value::Integer(-4)),
                    ("count".to_string(), Value::UInteger(7)),
                    ("on".to_string(), Value::Boolean(true)),
                ]
                .into(),
                time: Some(1_714_564_800_000_000_000),
            }
        );
        assert!(points[1].tags.is_empty());
        assert!(!points[1].fields.contains_key("temp"));
    }

    #[test]
    fn points_without_metadata_use_names_and_types() {
        let dict: DictionaryArray<Int32Type> = vec!["h2o", "h2o"].into_iter().collect();
        let batch = RecordBatch::try_from_iter([
            ("iox::measurement", Arc::new(dict) as _),
            (
                "time",
                Arc::new(TimestampSecondArray::from(vec![1, 2])) as _,
            ),
            ("n", Arc::new(Int32Array::from(vec![5, 6])) as _),
        ])
        .unwrap();
        let result = QueryResult::new(batch.schema(), vec![batch]);
        let points = result.points();
        assert_eq!(points[0].measurement.as_deref(), Some("h2o"));
        assert_eq!(points[1].time, Some(2_000_000_000));
        assert_eq!(points[1].fields["n"], Value::Integer(6));
        let text = result.to_string();
        assert!(text.contains("| h2o"), "{text}");
    }
}
