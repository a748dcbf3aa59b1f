//! Columnar encoding of Arrow `RecordBatch`es (feature `arrow`).

use arrow_array::cast::AsArray;
use arrow_array::types::{
    Float16Type, Float32Type, Float64Type, Int8Type, Int16Type, Int32Type, Int64Type,
    TimestampMicrosecondType, TimestampMillisecondType, TimestampNanosecondType,
    TimestampSecondType, UInt8Type, UInt16Type, UInt32Type, UInt64Type,
};
use arrow_array::{
    Array, ArrowPrimitiveType, LargeStringArray, RecordBatch, StringArray, StringViewArray,
};
use std::sync::Arc;

use arrow_buffer::{BooleanBuffer, NullBuffer};
use arrow_schema::{DataType, TimeUnit};

use crate::encoder::{Name, put, write_name, write_string_value};
use crate::error::snippet;
use crate::number::{write_f32, write_f64, write_i64, write_u64};
use crate::{Error, LineEncoder, Precision, Timestamp, ToLineProtocol};

/// How the columns of a `RecordBatch` map to line protocol: the measurement, the tag columns
/// and the timestamp column. Every other column is a field.
///
/// - Measurement: the fixed [`measurement`](Self::measurement) if set, else the value of the
///   `measurement` column, else of the `iox::measurement` column. Columns with those two names
///   are never written as fields.
/// - Tags: the [`tag_columns`](Self::tag_columns), written sorted by name (or in the
///   encoder's [tag order](crate::LineEncoder::with_tag_order)).
/// - Timestamp: the [`timestamp_column`](Self::timestamp_column) (default `time`), unless
///   [`no_timestamp`](Self::no_timestamp) is set.
///
/// ```
/// use influxdb3_lp::{Precision, TableMapping};
///
/// let mapping = TableMapping::new()
///     .measurement("home")
///     .tag_columns(["room"])
///     .timestamp_column("ts")
///     .integer_timestamp_precision(Precision::Seconds);
/// # let _ = mapping;
/// ```
#[derive(Clone, Debug, Default)]
pub struct TableMapping {
    measurement: Option<String>,
    tag_columns: Vec<String>,
    timestamp_column: Option<String>,
    no_timestamp: bool,
    integer_precision: Option<Precision>,
}

const MEASUREMENT_COLUMNS: [&str; 2] = ["measurement", "iox::measurement"];

impl TableMapping {
    /// The default mapping: measurement from a `measurement` (else `iox::measurement`)
    /// column, no tags, timestamps from the `time` column.
    pub fn new() -> Self {
        Self::default()
    }

    /// A fixed measurement name for every row; it wins over measurement columns.
    pub fn measurement(mut self, name: impl Into<String>) -> Self {
        self.measurement = Some(name.into());
        self
    }

    /// The columns written as tags. String columns (and dictionaries of strings) are written
    /// as they are; integer, float, boolean, decimal, date, time, timestamp and duration
    /// columns (and dictionaries of them) as their text (`2`, `21.5`, `true`,
    /// `2022-01-01T08:00:00`), as the Python client does. A column that is not in the batch,
    /// or of another type (a list, a struct, binary), is an error.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use arrow_array::{BooleanArray, Float64Array, Int64Array, RecordBatch};
    /// use influxdb3_lp::{LineEncoder, RecordBatchLines, TableMapping};
    ///
    /// let batch = RecordBatch::try_from_iter([
    ///     ("floor", Arc::new(Int64Array::from(vec![2])) as _),
    ///     ("occupied", Arc::new(BooleanArray::from(vec![true])) as _),
    ///     ("temp", Arc::new(Float64Array::from(vec![21.5])) as _),
    /// ])?;
    /// let mapping = TableMapping::new().measurement("home").tag_columns(["floor", "occupied"]).no_timestamp();
    /// let mut encoder = LineEncoder::default();
    /// encoder.encode(&RecordBatchLines::new(&batch, &mapping))?;
    /// assert_eq!(encoder.as_bytes(), b"home,floor=2,occupied=true temp=21.5\n");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn tag_columns<I, S>(mut self, columns: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.tag_columns = columns.into_iter().map(Into::into).collect();
        self
    }

    /// The timestamp column (default `time`): any Arrow `Timestamp` unit and time zone, or
    /// `Int64` in [`integer_timestamp_precision`](Self::integer_timestamp_precision).
    pub fn timestamp_column(mut self, name: impl Into<String>) -> Self {
        self.timestamp_column = Some(name.into());
        self.no_timestamp = false;
        self
    }

    /// Writes no timestamps, so the server assigns its time of ingest.
    pub fn no_timestamp(mut self) -> Self {
        self.no_timestamp = true;
        self
    }

    /// The unit of an `Int64` timestamp column; by default the encoder's precision.
    pub fn integer_timestamp_precision(mut self, p: Precision) -> Self {
        self.integer_precision = Some(p);
        self
    }

    fn timestamp_name(&self) -> &str {
        self.timestamp_column.as_deref().unwrap_or("time")
    }
}

/// A `RecordBatch` with its [`TableMapping`], encoded column by column: one line per row.
///
/// Nulls: a null field is left out and a null tag is left out (both counted in
/// [`EncodeStats`](crate::EncodeStats)); a row with no non-null field is skipped and counted;
/// a null timestamp or measurement is an error naming the row. Encode it with
/// [`LineEncoder::encode`], which leaves the encoder unchanged when any row fails.
///
/// ```
/// use std::sync::Arc;
/// use arrow_array::{Float64Array, RecordBatch, StringArray, TimestampSecondArray};
/// use influxdb3_lp::{LineEncoder, Precision, RecordBatchLines, TableMapping};
///
/// let batch = RecordBatch::try_from_iter([
///     ("room", Arc::new(StringArray::from(vec!["Kitchen", "Living Room"])) as _),
///     ("temp", Arc::new(Float64Array::from(vec![21.5, 22.0])) as _),
///     ("time", Arc::new(TimestampSecondArray::from(vec![1, 2])) as _),
/// ])?;
/// let mapping = TableMapping::new().measurement("home").tag_columns(["room"]);
/// let mut encoder = LineEncoder::new(Precision::Seconds);
/// encoder.encode(&RecordBatchLines::new(&batch, &mapping))?;
/// assert_eq!(
///     encoder.as_bytes(),
///     b"home,room=Kitchen temp=21.5 1\nhome,room=Living\\ Room temp=22 2\n"
/// );
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug)]
pub struct RecordBatchLines<'a> {
    batch: &'a RecordBatch,
    mapping: &'a TableMapping,
    row_offset: u64,
}

impl<'a> RecordBatchLines<'a> {
    /// The lines of `batch` as mapped by `mapping`.
    pub fn new(batch: &'a RecordBatch, mapping: &'a TableMapping) -> Self {
        Self {
            batch,
            mapping,
            row_offset: 0,
        }
    }

    /// The number of the batch's first row in errors (e.g. its position in a file); rows are
    /// numbered from 0 by default.
    pub fn row_offset(mut self, first_row: u64) -> Self {
        self.row_offset = first_row;
        self
    }
}

/// A string-like column.
enum StrColumn<'a> {
    Utf8(&'a StringArray),
    LargeUtf8(&'a LargeStringArray),
    Utf8View(&'a StringViewArray),
    Dictionary {
        nulls: Option<&'a NullBuffer>,
        keys: Vec<usize>,
        values: Box<StrColumn<'a>>,
    },
}

impl<'a> StrColumn<'a> {
    /// The column as strings, or `None` for another type.
    fn new(array: &'a dyn Array) -> Option<Self> {
        Some(match array.data_type() {
            DataType::Utf8 => Self::Utf8(array.as_string::<i32>()),
            DataType::LargeUtf8 => Self::LargeUtf8(array.as_string::<i64>()),
            DataType::Utf8View => Self::Utf8View(array.as_string_view()),
            DataType::Dictionary(_, value_type)
                if matches!(
                    **value_type,
                    DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View
                ) =>
            {
                let dict = array.as_any_dictionary_opt()?;
                let values = StrColumn::new(dict.values().as_ref())?;
                // `normalized_keys` needs at least one value; with none, every key is null.
                let keys = if dict.values().is_empty() {
                    Vec::new()
                } else {
                    dict.normalized_keys()
                };
                Self::Dictionary {
                    nulls: array.nulls(),
                    keys,
                    values: Box::new(values),
                }
            }
            _ => return None,
        })
    }

    /// The number of values.
    fn len(&self) -> usize {
        match self {
            Self::Utf8(a) => a.len(),
            Self::LargeUtf8(a) => a.len(),
            Self::Utf8View(a) => a.len(),
            Self::Dictionary { keys, .. } => keys.len(),
        }
    }

    /// The value at `row`, or `None` when null.
    #[inline]
    fn get(&self, row: usize) -> Option<&'a str> {
        match self {
            Self::Utf8(a) => a.is_valid(row).then(|| a.value(row)),
            Self::LargeUtf8(a) => a.is_valid(row).then(|| a.value(row)),
            Self::Utf8View(a) => a.is_valid(row).then(|| a.value(row)),
            Self::Dictionary {
                nulls,
                keys,
                values,
            } => {
                if !is_valid(*nulls, row) {
                    return None;
                }
                values.get(*keys.get(row)?)
            }
        }
    }
}

/// The values of a field column.
enum Values<'a> {
    F16(&'a [<Float16Type as ArrowPrimitiveType>::Native]),
    F32(&'a [f32]),
    F64(&'a [f64]),
    I8(&'a [i8]),
    I16(&'a [i16]),
    I32(&'a [i32]),
    I64(&'a [i64]),
    U8(&'a [u8]),
    U16(&'a [u16]),
    U32(&'a [u32]),
    U64(&'a [u64]),
    Bool(&'a BooleanBuffer),
    Str(StrColumn<'a>),
}

struct FieldColumn<'a> {
    /// `,`, the escaped key and `=`.
    key: Box<[u8]>,
    name: &'a str,
    nulls: Option<&'a NullBuffer>,
    values: Values<'a>,
}

enum TagSlot<'a> {
    /// A tag column: `,key=` escaped, the column name, its values, and for a dictionary
    /// column each dictionary value's `,key=value` once it has been escaped.
    Column {
        key: Box<[u8]>,
        name: &'a str,
        values: StrColumn<'a>,
        dictionary: Vec<DictionaryTag>,
    },
    /// A default tag of the encoder: `,key=value` escaped, or `None` for an empty value.
    Default(Option<Box<[u8]>>),
}

/// A dictionary value of a tag column, escaped on first use.
#[derive(Clone)]
enum DictionaryTag {
    /// Not seen yet.
    Unknown,
    /// Null or empty: the tag is left out.
    Dropped,
    /// `,key=value` escaped.
    Written(Box<[u8]>),
}

struct TimestampColumn<'a> {
    values: &'a [i64],
    nulls: Option<&'a NullBuffer>,
    unit: Precision,
    name: &'a str,
}

enum MeasurementSource<'a> {
    Fixed(&'a str, Box<[u8]>),
    Column(&'a str, StrColumn<'a>),
}

/// Everything prepared once per batch.
struct Plan<'a> {
    measurement: MeasurementSource<'a>,
    tags: Vec<TagSlot<'a>>,
    fields: Vec<FieldColumn<'a>>,
    timestamp: Option<TimestampColumn<'a>>,
}

fn column_names(batch: &RecordBatch) -> Vec<String> {
    batch
        .schema_ref()
        .fields()
        .iter()
        .map(|f| f.name().clone())
        .collect()
}

fn unsupported(name: &str, data_type: &DataType, role: &'static str) -> Error {
    Error::UnsupportedColumnType {
        column: name.to_owned(),
        data_type: data_type.to_string(),
        role,
    }
}

/// Whether a tag column of this type is written as its text: scalars (integers, floats,
/// booleans, decimals, dates, times, timestamps, durations) and dictionaries of them.
fn is_scalar(data_type: &DataType) -> bool {
    match data_type {
        DataType::Dictionary(_, values) => is_scalar(values),
        other => other.is_primitive() || matches!(other, DataType::Boolean | DataType::Null),
    }
}

/// `batch` with every non-string scalar tag column cast to its text (`2`, `true`, `21.5`,
/// `2022-01-01T08:00:00`), or `None` when every tag column is already string-like.
fn tags_as_text(batch: &RecordBatch, mapping: &TableMapping) -> Result<Option<RecordBatch>, Error> {
    let schema = batch.schema_ref();
    let to_cast: Vec<usize> = mapping
        .tag_columns
        .iter()
        .filter_map(|name| schema.fields().iter().position(|f| f.name() == name))
        .filter(|&i| {
            let column = batch.column(i).as_ref();
            StrColumn::new(column).is_none() && is_scalar(column.data_type())
        })
        .collect();
    if to_cast.is_empty() {
        return Ok(None);
    }
    let mut fields: Vec<arrow_schema::FieldRef> = schema.fields().iter().cloned().collect();
    let mut columns = batch.columns().to_vec();
    for i in to_cast {
        let field = &fields[i];
        let text = arrow_cast::cast(&columns[i], &DataType::Utf8)
            .map_err(|_| unsupported(field.name(), field.data_type(), "tag"))?;
        fields[i] = Arc::new(field.as_ref().clone().with_data_type(DataType::Utf8));
        columns[i] = text;
    }
    let schema = Arc::new(arrow_schema::Schema::new_with_metadata(
        fields,
        schema.metadata().clone(),
    ));
    let options = arrow_array::RecordBatchOptions::new().with_row_count(Some(batch.num_rows()));
    // The columns keep their lengths, so this cannot fail; should it, the first cast column
    // is named as unsupported rather than panicking.
    RecordBatch::try_new_with_options(schema.clone(), columns, &options)
        .map(Some)
        .map_err(|_| unsupported(schema.field(0).name(), &DataType::Utf8, "tag"))
}

impl RecordBatchLines<'_> {
    fn plan<'a>(
        batch: &'a RecordBatch,
        mapping: &'a TableMapping,
        encoder: &LineEncoder,
    ) -> Result<Plan<'a>, Error> {
        let schema = batch.schema_ref();
        let index_of = |name: &str| schema.fields().iter().position(|f| f.name() == name);

        // Measurement.
        let measurement = match &mapping.measurement {
            Some(name) => {
                let mut escaped = Vec::new();
                write_name(&mut escaped, name, Name::Measurement).map_err(|reason| {
                    Error::InvalidMeasurement {
                        measurement: snippet(name),
                        reason,
                    }
                })?;
                MeasurementSource::Fixed(name, escaped.into_boxed_slice())
            }
            None => {
                let (i, name) = MEASUREMENT_COLUMNS
                    .iter()
                    .find_map(|name| index_of(name).map(|i| (i, *name)))
                    .ok_or_else(|| Error::NoMeasurement {
                        available: column_names(batch),
                    })?;
                let column = batch.column(i).as_ref();
                let values = StrColumn::new(column)
                    .ok_or_else(|| unsupported(name, column.data_type(), "measurement"))?;
                MeasurementSource::Column(name, values)
            }
        };
        let measurement_name = match &measurement {
            MeasurementSource::Fixed(name, _) => *name,
            MeasurementSource::Column(name, _) => *name,
        };

        // Timestamp.
        let timestamp_name = mapping.timestamp_name();
        let timestamp = if mapping.no_timestamp {
            None
        } else {
            let i = index_of(timestamp_name).ok_or_else(|| Error::MissingColumn {
                role: "timestamp",
                column: timestamp_name.to_owned(),
                available: column_names(batch),
            })?;
            let column = batch.column(i).as_ref();
            let name = schema.field(i).name().as_str();
            let (values, unit): (&[i64], Precision) = match column.data_type() {
                DataType::Timestamp(TimeUnit::Second, _) => (
                    column.as_primitive::<TimestampSecondType>().values(),
                    Precision::Seconds,
                ),
                DataType::Timestamp(TimeUnit::Millisecond, _) => (
                    column.as_primitive::<TimestampMillisecondType>().values(),
                    Precision::Milliseconds,
                ),
                DataType::Timestamp(TimeUnit::Microsecond, _) => (
                    column.as_primitive::<TimestampMicrosecondType>().values(),
                    Precision::Microseconds,
                ),
                DataType::Timestamp(TimeUnit::Nanosecond, _) => (
                    column.as_primitive::<TimestampNanosecondType>().values(),
                    Precision::Nanoseconds,
                ),
                DataType::Int64 => (
                    column.as_primitive::<Int64Type>().values(),
                    mapping.integer_precision.unwrap_or(encoder.precision()),
                ),
                other => return Err(unsupported(name, other, "timestamp")),
            };
            Some(TimestampColumn {
                values,
                nulls: column.nulls(),
                unit,
                name,
            })
        };

        // Tags, in the encoder's tag order and merged with its default tags (a column wins).
        let mut tag_columns: Vec<(&'a str, usize)> = Vec::with_capacity(mapping.tag_columns.len());
        for name in &mapping.tag_columns {
            let i = index_of(name).ok_or_else(|| Error::MissingColumn {
                role: "tag",
                column: name.clone(),
                available: column_names(batch),
            })?;
            tag_columns.push((schema.field(i).name().as_str(), i));
        }
        let tag_order = encoder.tag_order();
        tag_columns.sort_unstable_by(|a, b| crate::encoder::tag_cmp(tag_order, a.0, b.0));
        if let Some(w) = tag_columns.windows(2).find(|w| w[0].0 == w[1].0) {
            return Err(Error::DuplicateTagKey {
                measurement: snippet(measurement_name),
                key: snippet(w[0].0),
            });
        }
        encoder.check_default_tags_for(measurement_name)?;
        let defaults = encoder.default_tag_slots();
        let mut tags = Vec::with_capacity(tag_columns.len() + defaults.len());
        let mut d = 0;
        for &(name, i) in &tag_columns {
            while let Some(default) = defaults.get(d) {
                if crate::encoder::tag_cmp(tag_order, &default.key, name)
                    == std::cmp::Ordering::Greater
                {
                    break;
                }
                d += 1;
                if default.key != name {
                    tags.push(TagSlot::Default(default.encoded.clone()));
                }
            }
            let column = batch.column(i).as_ref();
            let values = StrColumn::new(column)
                .ok_or_else(|| unsupported(name, column.data_type(), "tag"))?;
            let mut key = Vec::new();
            key.push(b',');
            write_name(&mut key, name, Name::TagKey).map_err(|reason| Error::InvalidTagKey {
                measurement: snippet(measurement_name),
                key: snippet(name),
                reason,
            })?;
            key.push(b'=');
            let dictionary = match &values {
                StrColumn::Dictionary { values, .. } => {
                    vec![DictionaryTag::Unknown; values.len()]
                }
                _ => Vec::new(),
            };
            tags.push(TagSlot::Column {
                key: key.into_boxed_slice(),
                name,
                values,
                dictionary,
            });
        }
        tags.extend(
            defaults[d..]
                .iter()
                .map(|t| TagSlot::Default(t.encoded.clone())),
        );

        // Fields: every other column.
        let mut fields = Vec::new();
        for (i, field) in schema.fields().iter().enumerate() {
            let name = field.name().as_str();
            let is_timestamp = timestamp.is_some() && name == timestamp_name;
            if is_timestamp
                || MEASUREMENT_COLUMNS.contains(&name)
                || tag_columns.iter().any(|(t, _)| *t == name)
            {
                continue;
            }
            if fields.iter().any(|f: &FieldColumn<'_>| f.name == name) {
                return Err(Error::DuplicateFieldKey {
                    measurement: snippet(measurement_name),
                    key: snippet(name),
                });
            }
            let column = batch.column(i).as_ref();
            let values = match column.data_type() {
                DataType::Float16 => Values::F16(column.as_primitive::<Float16Type>().values()),
                DataType::Float32 => Values::F32(column.as_primitive::<Float32Type>().values()),
                DataType::Float64 => Values::F64(column.as_primitive::<Float64Type>().values()),
                DataType::Int8 => Values::I8(column.as_primitive::<Int8Type>().values()),
                DataType::Int16 => Values::I16(column.as_primitive::<Int16Type>().values()),
                DataType::Int32 => Values::I32(column.as_primitive::<Int32Type>().values()),
                DataType::Int64 => Values::I64(column.as_primitive::<Int64Type>().values()),
                DataType::UInt8 => Values::U8(column.as_primitive::<UInt8Type>().values()),
                DataType::UInt16 => Values::U16(column.as_primitive::<UInt16Type>().values()),
                DataType::UInt32 => Values::U32(column.as_primitive::<UInt32Type>().values()),
                DataType::UInt64 => Values::U64(column.as_primitive::<UInt64Type>().values()),
                DataType::Boolean => Values::Bool(column.as_boolean().values()),
                other => Values::Str(
                    StrColumn::new(column).ok_or_else(|| unsupported(name, other, "field"))?,
                ),
            };
            let mut key = vec![b','];
            write_name(&mut key, name, Name::FieldKey).map_err(|reason| {
                Error::InvalidFieldKey {
                    measurement: snippet(measurement_name),
                    key: snippet(name),
                    reason,
                }
            })?;
            key.push(b'=');
            let nulls = match values {
                // Dictionary nulls are checked by the string lookup.
                Values::Str(_) => None,
                _ => column.nulls(),
            };
            fields.push(FieldColumn {
                key: key.into_boxed_slice(),
                name,
                nulls,
                values,
            });
        }

        Ok(Plan {
            measurement,
            tags,
            fields,
            timestamp,
        })
    }
}

#[inline]
fn is_valid(nulls: Option<&NullBuffer>, row: usize) -> bool {
    nulls.is_none_or(|n| n.is_valid(row))
}

impl ToLineProtocol for RecordBatchLines<'_> {
    fn encode_to(&self, encoder: &mut LineEncoder) -> Result<(), Error> {
        let converted = tags_as_text(self.batch, self.mapping)?;
        let batch = converted.as_ref().unwrap_or(self.batch);
        let mut plan = Self::plan(batch, self.mapping, encoder)?;
        let rows = self.batch.num_rows();
        // Reserve for the whole batch once, from the size of its first rows.
        const SAMPLE_ROWS: usize = 64;
        let first = encoder.buf.len();
        for row in 0..rows {
            if row == SAMPLE_ROWS {
                let per_row = (encoder.buf.len() - first).div_ceil(SAMPLE_ROWS);
                encoder.buf.reserve((rows - row) * (per_row + per_row / 8));
            }
            let start = encoder.buf.len();
            match encode_row(&mut plan, encoder, row) {
                Ok(true) => encoder.end_line(),
                Ok(false) => {
                    encoder.buf.truncate(start);
                    encoder.stats.skipped_records += 1;
                }
                Err(e) => {
                    encoder.buf.truncate(start);
                    let row = self.row_offset + row as u64;
                    return Err(match e {
                        Error::NullValue { column, role, .. } => {
                            Error::NullValue { row, column, role }
                        }
                        other => Error::Row {
                            row,
                            source: Box::new(other),
                        },
                    });
                }
            }
        }
        Ok(())
    }
}

/// Appends `,key=value` for a tag value of a row, or counts it as dropped when empty.
#[inline]
fn write_tag_value(
    buf: &mut Vec<u8>,
    stats: &mut crate::EncodeStats,
    key: &[u8],
    value: &str,
) -> Result<(), &'static str> {
    if value.is_empty() {
        stats.dropped_tags += 1;
        return Ok(());
    }
    put(buf, key);
    write_name(buf, value, Name::TagValue)
}

/// Writes one row without its `\n`; `Ok(false)` when it has no non-null field.
#[inline]
fn encode_row(plan: &mut Plan<'_>, encoder: &mut LineEncoder, row: usize) -> Result<bool, Error> {
    let measurement = match &plan.measurement {
        MeasurementSource::Fixed(name, escaped) => {
            put(&mut encoder.buf, escaped);
            *name
        }
        MeasurementSource::Column(name, values) => {
            let m = values.get(row).ok_or_else(|| Error::NullValue {
                row: 0,
                column: (*name).to_owned(),
                role: "measurement",
            })?;
            encoder.write_measurement(m)?;
            m
        }
    };

    for slot in &mut plan.tags {
        let (key, name, values, dictionary) = match slot {
            TagSlot::Default(Some(encoded)) => {
                put(&mut encoder.buf, encoded);
                continue;
            }
            TagSlot::Default(None) => {
                encoder.stats.dropped_tags += 1;
                continue;
            }
            TagSlot::Column {
                key,
                name,
                values,
                dictionary,
            } => (key, *name, values, dictionary),
        };
        let invalid = |value: &str, reason| Error::InvalidTagValue {
            measurement: snippet(measurement),
            key: snippet(name),
            value: snippet(value),
            reason,
        };
        let StrColumn::Dictionary {
            nulls,
            keys,
            values: dictionary_values,
        } = values
        else {
            match values.get(row) {
                None => encoder.stats.dropped_tags += 1,
                Some(value) => {
                    write_tag_value(&mut encoder.buf, &mut encoder.stats, key, value)
                        .map_err(|reason| invalid(value, reason))?;
                }
            }
            continue;
        };
        // A dictionary value is escaped once, the first time a row uses it.
        let index = match keys.get(row) {
            Some(&index) if is_valid(*nulls, row) => index,
            _ => {
                encoder.stats.dropped_tags += 1;
                continue;
            }
        };
        let Some(cached) = dictionary.get_mut(index) else {
            encoder.stats.dropped_tags += 1;
            continue;
        };
        if let DictionaryTag::Unknown = cached {
            *cached = match dictionary_values.get(index) {
                None | Some("") => DictionaryTag::Dropped,
                Some(value) => {
                    let mut encoded = key.to_vec();
                    write_name(&mut encoded, value, Name::TagValue)
                        .map_err(|reason| invalid(value, reason))?;
                    DictionaryTag::Written(encoded.into_boxed_slice())
                }
            };
        }
        match cached {
            DictionaryTag::Written(encoded) => put(&mut encoder.buf, encoded),
            _ => encoder.stats.dropped_tags += 1,
        }
    }

    encoder.buf.push(b' ');
    let mut first = true;
    for field in &plan.fields {
        if !is_valid(field.nulls, row) {
            encoder.stats.dropped_fields += 1;
            continue;
        }
        let buf = &mut encoder.buf;
        let start = buf.len();
        // The key with its leading `,`, but for the first field written.
        put(buf, &field.key[usize::from(first)..]);
        // Floats that cannot be written and null strings are left out, key and all.
        let written = match &field.values {
            Values::F16(v) => write_finite_f32(buf, v[row].to_f32()),
            Values::F32(v) => write_finite_f32(buf, v[row]),
            Values::F64(v) => {
                let v = v[row];
                v.is_finite() && {
                    write_f64(buf, v);
                    true
                }
            }
            Values::I8(v) => write_int_i(buf, i64::from(v[row])),
            Values::I16(v) => write_int_i(buf, i64::from(v[row])),
            Values::I32(v) => write_int_i(buf, i64::from(v[row])),
            Values::I64(v) => write_int_i(buf, v[row]),
            Values::U8(v) => write_uint_u(buf, u64::from(v[row])),
            Values::U16(v) => write_uint_u(buf, u64::from(v[row])),
            Values::U32(v) => write_uint_u(buf, u64::from(v[row])),
            Values::U64(v) => write_uint_u(buf, v[row]),
            Values::Bool(v) => {
                buf.extend_from_slice(if v.value(row) { b"true" } else { b"false" });
                true
            }
            Values::Str(s) => match s.get(row) {
                None => false,
                Some(value) => {
                    write_string_value(buf, value).map_err(|len| Error::FieldValueTooLong {
                        measurement: snippet(measurement),
                        key: snippet(field.name),
                        len,
                    })?;
                    true
                }
            },
        };
        if written {
            first = false;
        } else {
            buf.truncate(start);
            encoder.stats.dropped_fields += 1;
        }
    }
    if first {
        return Ok(false);
    }

    if let Some(ts) = &plan.timestamp {
        if !is_valid(ts.nulls, row) {
            return Err(Error::NullValue {
                row: 0,
                column: ts.name.to_owned(),
                role: "timestamp",
            });
        }
        let timestamp = Timestamp::new(ts.values[row], ts.unit);
        let value = timestamp.in_precision(encoder.precision).ok_or_else(|| {
            Error::TimestampOutOfRange {
                measurement: snippet(measurement),
                timestamp,
            }
        })?;
        encoder.buf.push(b' ');
        encoder.timestamps.write(&mut encoder.buf, value);
    }
    Ok(true)
}

/// Writes a finite f32 and returns true; returns false, writing nothing, for NaN/±Inf.
#[inline]
fn write_finite_f32(buf: &mut Vec<u8>, v: f32) -> bool {
    v.is_finite() && {
        write_f32(buf, v);
        true
    }
}

#[inline]
fn write_int_i(buf: &mut Vec<u8>, v: i64) -> bool {
    write_i64(buf, v);
    buf.push(b'i');
    true
}

#[inline]
fn write_uint_u(buf: &mut Vec<u8>, v: u64) -> bool {
    write_u64(buf, v);
    buf.push(b'u');
    true
}
