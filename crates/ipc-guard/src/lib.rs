//! Checks Arrow IPC messages before `arrow-ipc` decodes them.
//!
//! `arrow-ipc` trusts the message it is given: a buffer that points past the end of the body
//! makes it panic while slicing, a validity bitmap shorter than its column panics in
//! `arrow-buffer`, a schema with an unknown type panics in `convert.rs`, and the 8-byte
//! uncompressed-length prefix of an lz4 or zstd buffer is passed to `Vec::with_capacity` as
//! it is, so a forged prefix of 10¹⁸ bytes aborts the process. The Flight query client and the
//! feather reader read bytes from the network and from files, so both run every message through
//! a [`MessageGuard`] first, and decode inside [`contain`] as the last line of defence.
//!
//! ```
//! use influxdb3_ipc_guard::MessageGuard;
//!
//! let mut guard = MessageGuard::new();
//! // Not a flatbuffer: an error, never a panic.
//! let err = guard.check(b"\x01\x02\x03\x04", b"").unwrap_err();
//! assert!(err.to_string().contains("not a valid Arrow IPC message"), "{err}");
//! ```

use std::collections::VecDeque;
use std::fmt;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;

use arrow_ipc::{
    CompressionType, DateUnit, Field as FbField, FieldNode, IntervalUnit, Message, MessageHeader,
    Precision, RecordBatch as FbRecordBatch, Schema as FbSchema, TimeUnit, Type,
};
use arrow_schema::{DataType, Field, Schema, SchemaRef};

/// The largest buffer a compressed message may declare (its uncompressed length): 1 GiB.
///
/// `arrow-ipc` allocates the declared length before it decompresses; a larger declaration is
/// refused rather than trusted. Writers that need larger buffers can write smaller batches.
pub const MAX_UNCOMPRESSED_BUFFER: u64 = 1 << 30;

/// Deepest nesting of fields accepted in a schema (lists of structs of lists ...).
pub const MAX_FIELD_DEPTH: usize = 64;

/// Why a message was refused, or what a contained panic said.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    message: String,
}

impl Error {
    fn new(message: impl Into<String>) -> Self {
        Error {
            message: message.into(),
        }
    }

    /// The reason, without any prefix.
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Error {}

/// Checks the messages of one IPC stream (a Flight response, the blocks of a feather file) in
/// order. It remembers the schema of the stream, so that record batches are checked against it:
/// node and buffer counts, validity bitmaps long enough for their columns.
#[derive(Debug, Default, Clone)]
pub struct MessageGuard {
    schema: Option<SchemaRef>,
}

impl MessageGuard {
    /// A guard for a stream whose schema message is still to come.
    pub fn new() -> Self {
        Self::default()
    }

    /// A guard for messages whose schema is already known (a feather file's footer).
    pub fn with_schema(schema: SchemaRef) -> Self {
        MessageGuard {
            schema: Some(schema),
        }
    }

    /// Checks one message: `header` is the flatbuffer `Message` (without the continuation
    /// marker and length prefix), `body` the bytes its buffers point into. An empty header (a
    /// Flight message carrying only `app_metadata`) passes.
    pub fn check(&mut self, header: &[u8], body: &[u8]) -> Result<(), Error> {
        if header.is_empty() {
            return Ok(());
        }
        let message = arrow_ipc::root_as_message(header)
            .map_err(|e| Error::new(format!("not a valid Arrow IPC message: {e}")))?;
        self.check_message(message, body)
    }

    fn check_message(&mut self, message: Message<'_>, body: &[u8]) -> Result<(), Error> {
        match message.header_type() {
            MessageHeader::Schema => {
                let schema = message
                    .header_as_schema()
                    .ok_or_else(|| Error::new("a schema message without a schema"))?;
                check_schema(schema)?;
                self.schema = Some(Arc::new(arrow_ipc::convert::fb_to_schema(schema)));
                Ok(())
            }
            MessageHeader::RecordBatch => {
                let batch = message
                    .header_as_record_batch()
                    .ok_or_else(|| Error::new("a record batch message without a record batch"))?;
                check_batch(batch, body, self.schema.as_deref().map(|s| s.fields()))
            }
            MessageHeader::DictionaryBatch => {
                let dictionary = message.header_as_dictionary_batch().ok_or_else(|| {
                    Error::new("a dictionary batch message without a dictionary batch")
                })?;
                let batch = dictionary
                    .data()
                    .ok_or_else(|| Error::new("a dictionary batch without data"))?;
                // Which column a dictionary belongs to is resolved by the decoder; its buffers
                // are checked against the body here, its layout by the decoder's validation.
                check_batch(batch, body, None)
            }
            // Other headers (none, tensors) carry no buffers; the decoder refuses them.
            _ => Ok(()),
        }
    }
}

/// Checks a flatbuffer schema: every field has a type `arrow-ipc` can convert without
/// panicking (known type, unit, bit width and children count), nested at most
/// [`MAX_FIELD_DEPTH`] deep. Union and list-view columns are refused.
pub fn check_schema(schema: FbSchema<'_>) -> Result<(), Error> {
    let fields = schema
        .fields()
        .ok_or_else(|| Error::new("the schema has no field list"))?;
    let big_endian = !schema.endianness().equals_to_target_endianness();
    if big_endian {
        return Err(Error::new(
            "the data is big-endian; only little-endian Arrow data can be read",
        ));
    }
    for field in fields {
        check_field(field, 0)?;
    }
    Ok(())
}

fn field_name(field: &FbField<'_>) -> String {
    match field.name() {
        Some(name) => format!("column {name:?}"),
        None => "an unnamed column".to_owned(),
    }
}

fn check_field(field: FbField<'_>, depth: usize) -> Result<(), Error> {
    if depth >= MAX_FIELD_DEPTH {
        return Err(Error::new(format!(
            "{} is nested more than {MAX_FIELD_DEPTH} levels deep",
            field_name(&field)
        )));
    }
    let bad = |what: &str| Error::new(format!("{} has {what}", field_name(&field)));
    if let Some(dictionary) = field.dictionary() {
        let index = dictionary
            .indexType()
            .ok_or_else(|| bad("a dictionary without an index type"))?;
        if !matches!(index.bitWidth(), 8 | 16 | 32 | 64) {
            return Err(bad(&format!(
                "a dictionary index of {} bits",
                index.bitWidth()
            )));
        }
    }
    let children = field.children();
    let child_count = children.map_or(0, |c| c.len());
    let need_children = |n: usize| -> Result<(), Error> {
        if children.is_none() || child_count != n {
            return Err(bad(&format!("{child_count} child fields, expected {n}")));
        }
        Ok(())
    };
    match field.type_type() {
        Type::Null
        | Type::Bool
        | Type::Binary
        | Type::BinaryView
        | Type::LargeBinary
        | Type::Utf8
        | Type::Utf8View
        | Type::LargeUtf8 => {}
        Type::Int => {
            let int = field
                .type_as_int()
                .ok_or_else(|| bad("an integer type without details"))?;
            if !matches!(int.bitWidth(), 8 | 16 | 32 | 64) {
                return Err(bad(&format!("an integer of {} bits", int.bitWidth())));
            }
        }
        Type::FixedSizeBinary => {
            let fsb = field
                .type_as_fixed_size_binary()
                .ok_or_else(|| bad("a fixed-size binary type without details"))?;
            if fsb.byteWidth() < 0 {
                return Err(bad(&format!("a byte width of {}", fsb.byteWidth())));
            }
        }
        Type::FloatingPoint => {
            let float = field
                .type_as_floating_point()
                .ok_or_else(|| bad("a float type without details"))?;
            if !matches!(
                float.precision(),
                Precision::HALF | Precision::SINGLE | Precision::DOUBLE
            ) {
                return Err(bad("an unknown float precision"));
            }
        }
        Type::Date => {
            let date = field
                .type_as_date()
                .ok_or_else(|| bad("a date type without details"))?;
            if !matches!(date.unit(), DateUnit::DAY | DateUnit::MILLISECOND) {
                return Err(bad("an unknown date unit"));
            }
        }
        Type::Time => {
            let time = field
                .type_as_time()
                .ok_or_else(|| bad("a time type without details"))?;
            if !matches!(
                (time.bitWidth(), time.unit()),
                (32, TimeUnit::SECOND)
                    | (32, TimeUnit::MILLISECOND)
                    | (64, TimeUnit::MICROSECOND)
                    | (64, TimeUnit::NANOSECOND)
            ) {
                return Err(bad("an unknown time unit or width"));
            }
        }
        Type::Timestamp => {
            let timestamp = field
                .type_as_timestamp()
                .ok_or_else(|| bad("a timestamp type without details"))?;
            check_time_unit(timestamp.unit()).map_err(|()| bad("an unknown timestamp unit"))?;
        }
        Type::Duration => {
            let duration = field
                .type_as_duration()
                .ok_or_else(|| bad("a duration type without details"))?;
            check_time_unit(duration.unit()).map_err(|()| bad("an unknown duration unit"))?;
        }
        Type::Interval => {
            let interval = field
                .type_as_interval()
                .ok_or_else(|| bad("an interval type without details"))?;
            if !matches!(
                interval.unit(),
                IntervalUnit::YEAR_MONTH | IntervalUnit::DAY_TIME | IntervalUnit::MONTH_DAY_NANO
            ) {
                return Err(bad("an unknown interval unit"));
            }
        }
        Type::List | Type::LargeList => need_children(1)?,
        Type::FixedSizeList => {
            need_children(1)?;
            let fsl = field
                .type_as_fixed_size_list()
                .ok_or_else(|| bad("a fixed-size list type without details"))?;
            if fsl.listSize() < 0 {
                return Err(bad(&format!("a list size of {}", fsl.listSize())));
            }
        }
        Type::Map => {
            need_children(1)?;
            field
                .type_as_map()
                .ok_or_else(|| bad("a map type without details"))?;
        }
        Type::Struct_ => {}
        Type::RunEndEncoded => need_children(2)?,
        Type::Decimal => {
            let decimal = field
                .type_as_decimal()
                .ok_or_else(|| bad("a decimal type without details"))?;
            if !matches!(decimal.bitWidth(), 32 | 64 | 128 | 256)
                || u8::try_from(decimal.precision()).is_err()
                || i8::try_from(decimal.scale()).is_err()
            {
                return Err(bad("an unsupported decimal width, precision or scale"));
            }
        }
        Type::Union => return Err(bad("a union type, which is not supported")),
        Type::ListView | Type::LargeListView => {
            return Err(bad("a list-view type, which is not supported"));
        }
        other => return Err(bad(&format!("an unknown type ({})", other.0))),
    }
    if let Some(children) = children {
        for child in children {
            check_field(child, depth + 1)?;
        }
    }
    Ok(())
}

fn check_time_unit(unit: TimeUnit) -> Result<(), ()> {
    match unit {
        TimeUnit::SECOND | TimeUnit::MILLISECOND | TimeUnit::MICROSECOND | TimeUnit::NANOSECOND => {
            Ok(())
        }
        _ => Err(()),
    }
}

/// The size of each buffer once decompressed (its stored size when uncompressed).
fn check_buffers(batch: &FbRecordBatch<'_>, body: &[u8]) -> Result<Vec<u64>, Error> {
    let buffers = batch
        .buffers()
        .ok_or_else(|| Error::new("a record batch without a buffer list"))?;
    let compressed = match batch.compression() {
        None => false,
        Some(c)
            if matches!(
                c.codec(),
                CompressionType::LZ4_FRAME | CompressionType::ZSTD
            ) =>
        {
            true
        }
        Some(c) => {
            return Err(Error::new(format!(
                "an unknown compression codec ({})",
                c.codec().0
            )));
        }
    };
    let mut sizes = Vec::with_capacity(buffers.len());
    for (i, buffer) in buffers.iter().enumerate() {
        let (offset, length) = (buffer.offset(), buffer.length());
        let range = u64::try_from(offset)
            .ok()
            .zip(u64::try_from(length).ok())
            .and_then(|(o, l)| Some((o, o.checked_add(l)?)))
            .filter(|&(_, end)| end <= body.len() as u64);
        let Some((start, end)) = range else {
            return Err(Error::new(format!(
                "buffer {i} (offset {offset}, length {length}) lies outside the message body of {} bytes",
                body.len()
            )));
        };
        if !compressed || length == 0 {
            sizes.push(end - start);
            continue;
        }
        if length < 8 {
            return Err(Error::new(format!(
                "compressed buffer {i} is {length} bytes, shorter than its 8-byte length prefix"
            )));
        }
        let mut prefix = [0u8; 8];
        // In range: start + 8 <= end <= body.len().
        prefix.copy_from_slice(&body[start as usize..start as usize + 8]);
        let declared = i64::from_le_bytes(prefix);
        let size = match declared {
            -1 => end - start - 8,
            n if n >= 0 && n as u64 <= MAX_UNCOMPRESSED_BUFFER => n as u64,
            n => {
                return Err(Error::new(format!(
                    "compressed buffer {i} declares an uncompressed length of {n} bytes \
                     (at most {MAX_UNCOMPRESSED_BUFFER} accepted)"
                )));
            }
        };
        sizes.push(size);
    }
    Ok(sizes)
}

fn check_batch(
    batch: FbRecordBatch<'_>,
    body: &[u8],
    fields: Option<&arrow_schema::Fields>,
) -> Result<(), Error> {
    if batch.length() < 0 {
        return Err(Error::new(format!(
            "a record batch of {} rows",
            batch.length()
        )));
    }
    let nodes = batch
        .nodes()
        .ok_or_else(|| Error::new("a record batch without field nodes"))?;
    for (i, node) in nodes.iter().enumerate() {
        if node.length() < 0 || node.null_count() < 0 || node.null_count() > node.length() {
            return Err(Error::new(format!(
                "field node {i} has length {} and null count {}",
                node.length(),
                node.null_count()
            )));
        }
    }
    let sizes = check_buffers(&batch, body)?;
    let Some(fields) = fields else {
        return Ok(());
    };
    let mut layout = Layout {
        nodes: nodes.iter().copied().collect(),
        sizes: sizes.into(),
        variadic: batch
            .variadicBufferCounts()
            .map(|v| v.iter().collect())
            .unwrap_or_default(),
    };
    for field in fields {
        layout.field(field)?;
    }
    if !layout.variadic.is_empty() {
        return Err(Error::new(format!(
            "the record batch declares {} variadic buffer counts more than its view columns use",
            layout.variadic.len()
        )));
    }
    Ok(())
}

/// Walks the columns of a record batch in the order `arrow-ipc` reads them.
struct Layout {
    nodes: VecDeque<FieldNode>,
    sizes: VecDeque<u64>,
    variadic: VecDeque<i64>,
}

impl Layout {
    fn node(&mut self, field: &Field) -> Result<FieldNode, Error> {
        self.nodes.pop_front().ok_or_else(|| {
            Error::new(format!(
                "the record batch has no field node for column {:?}",
                field.name()
            ))
        })
    }

    fn buffer(&mut self, field: &Field) -> Result<u64, Error> {
        self.sizes.pop_front().ok_or_else(|| {
            Error::new(format!(
                "the record batch has too few buffers for column {:?}",
                field.name()
            ))
        })
    }

    /// A bitmap (validity or boolean values) must hold one bit per row when it is used.
    fn bitmap(&mut self, field: &Field, node: &FieldNode, used: bool) -> Result<(), Error> {
        let size = self.buffer(field)?;
        let need = (node.length() as u64).div_ceil(8);
        if used && size < need {
            return Err(Error::new(format!(
                "column {:?} has {} rows but a bitmap of {size} bytes (needs {need})",
                field.name(),
                node.length()
            )));
        }
        Ok(())
    }

    /// A buffer of fixed-width values (offsets, numbers, views) holds whole values.
    fn typed(&mut self, field: &Field, width: u64) -> Result<(), Error> {
        let size = self.buffer(field)?;
        if width > 1 && size % width != 0 {
            return Err(Error::new(format!(
                "column {:?} has a buffer of {size} bytes, not a whole number of {width}-byte values",
                field.name()
            )));
        }
        Ok(())
    }

    fn buffers(&mut self, field: &Field, n: u64) -> Result<(), Error> {
        for _ in 0..n {
            self.buffer(field)?;
        }
        Ok(())
    }

    fn field(&mut self, field: &Field) -> Result<(), Error> {
        let node = self.node(field)?;
        // Validity is read only when the column has nulls (arrow-ipc drops it otherwise).
        let nulls = node.null_count() > 0;
        match field.data_type() {
            DataType::Null => Ok(()),
            DataType::Boolean => {
                self.bitmap(field, &node, nulls)?;
                self.bitmap(field, &node, true)
            }
            DataType::Utf8 | DataType::Binary => {
                self.bitmap(field, &node, nulls)?;
                self.typed(field, 4)?;
                self.buffers(field, 1)
            }
            DataType::LargeUtf8 | DataType::LargeBinary => {
                self.bitmap(field, &node, nulls)?;
                self.typed(field, 8)?;
                self.buffers(field, 1)
            }
            DataType::Utf8View | DataType::BinaryView => {
                let count = self.variadic.pop_front().unwrap_or(0);
                let count = u64::try_from(count).map_err(|_| {
                    Error::new(format!(
                        "column {:?} declares {count} data buffers",
                        field.name()
                    ))
                })?;
                if count > self.sizes.len() as u64 {
                    return Err(Error::new(format!(
                        "column {:?} declares {count} data buffers; the batch has fewer",
                        field.name()
                    )));
                }
                self.bitmap(field, &node, nulls)?;
                self.typed(field, 16)?;
                self.buffers(field, count)
            }
            DataType::List(child) | DataType::Map(child, _) => {
                self.bitmap(field, &node, nulls)?;
                self.typed(field, 4)?;
                self.field(child)
            }
            DataType::LargeList(child) => {
                self.bitmap(field, &node, nulls)?;
                self.typed(field, 8)?;
                self.field(child)
            }
            DataType::FixedSizeList(child, _) => {
                self.bitmap(field, &node, nulls)?;
                self.field(child)
            }
            DataType::Struct(children) => {
                self.bitmap(field, &node, nulls)?;
                for child in children {
                    self.field(child)?;
                }
                Ok(())
            }
            DataType::RunEndEncoded(run_ends, values) => {
                self.field(run_ends)?;
                self.field(values)
            }
            // Unions and list views are refused by `check_schema`.
            DataType::Union(..) | DataType::ListView(_) | DataType::LargeListView(_) => Err(
                Error::new(format!("column {:?} has an unsupported type", field.name())),
            ),
            // Primitive, decimal, temporal, fixed-size binary and dictionary (its indices):
            // validity + values; the values' length is checked by the decoder's validation.
            other => {
                let width = match other {
                    DataType::Dictionary(key, _) => key.primitive_width(),
                    other => other.primitive_width(),
                };
                self.bitmap(field, &node, nulls)?;
                self.typed(field, width.unwrap_or(1) as u64)
            }
        }
    }
}

/// Runs `f`, turning a panic into an [`Error`] that says what was being done and what the
/// panic said: the last line of defence around third-party decoders.
///
/// The panic is still reported by the process's panic hook (stderr by default); a checked
/// message should never get here.
pub fn contain<T>(what: &str, f: impl FnOnce() -> T) -> Result<T, Error> {
    catch_unwind(AssertUnwindSafe(f)).map_err(|payload| {
        let reason = payload
            .downcast_ref::<&str>()
            .map(|s| (*s).to_owned())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "no message".to_owned());
        Error::new(format!("{what} failed on malformed input: {reason}"))
    })
}

/// Checks a flatbuffer schema ([`check_schema`]) and converts it: for readers that hold the
/// schema apart from the messages (a feather file's footer).
pub fn schema_of(schema: FbSchema<'_>) -> Result<Schema, Error> {
    check_schema(schema)?;
    Ok(arrow_ipc::convert::fb_to_schema(schema))
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow_array::types::Int32Type;
    use arrow_array::{
        ArrayRef, BooleanArray, Int64Array, ListArray, RecordBatch, StringArray,
        TimestampNanosecondArray,
    };
    use arrow_buffer::Buffer;
    use arrow_ipc::CompressionType as Codec;
    use arrow_ipc::writer::{DictionaryTracker, IpcDataGenerator, IpcWriteOptions};

    fn batch() -> RecordBatch {
        let strings: Vec<Option<&str>> = (0..40).map(|i| (i % 3 != 0).then_some("abc")).collect();
        let bools: Vec<Option<bool>> = (0..40)
            .map(|i| (i % 5 != 0).then_some(i % 2 == 0))
            .collect();
        RecordBatch::try_from_iter([
            ("s", Arc::new(StringArray::from(strings)) as ArrayRef),
            ("b", Arc::new(BooleanArray::from(bools)) as ArrayRef),
            (
                "i",
                Arc::new(Int64Array::from_iter_values(0..40)) as ArrayRef,
            ),
            (
                "t",
                Arc::new(TimestampNanosecondArray::from_iter_values(0..40).with_timezone("UTC"))
                    as ArrayRef,
            ),
            (
                "l",
                Arc::new(ListArray::from_iter_primitive::<Int32Type, _, _>(
                    (0..40).map(|i| (i % 4 != 0).then(|| vec![Some(i), None, Some(i + 1)])),
                )) as ArrayRef,
            ),
        ])
        .unwrap()
    }

    /// The schema and batch messages as (flatbuffer header, body) pairs.
    fn messages(compression: Option<Codec>) -> Vec<(Vec<u8>, Vec<u8>)> {
        let options = IpcWriteOptions::default()
            .try_with_compression(compression)
            .unwrap();
        let batch = batch();
        let generator = IpcDataGenerator::default();
        let mut tracker = DictionaryTracker::new(false);
        let schema = generator.schema_to_bytes_with_dictionary_tracker(
            &batch.schema(),
            &mut tracker,
            &options,
        );
        let (_, encoded) = generator
            .encode(&batch, &mut tracker, &options, &mut Default::default())
            .unwrap();
        vec![
            (schema.ipc_message, schema.arrow_data),
            (encoded.ipc_message, encoded.arrow_data),
        ]
    }

    /// Decodes the batch message the way the Flight decoder does.
    fn decode(messages: &[(Vec<u8>, Vec<u8>)]) -> Result<RecordBatch, String> {
        let schema_msg = arrow_ipc::root_as_message(&messages[0].0).map_err(|e| e.to_string())?;
        let schema = Arc::new(arrow_ipc::convert::fb_to_schema(
            schema_msg.header_as_schema().ok_or("no schema")?,
        ));
        let msg = arrow_ipc::root_as_message(&messages[1].0).map_err(|e| e.to_string())?;
        arrow_ipc::reader::read_record_batch(
            &Buffer::from(messages[1].1.clone()),
            msg.header_as_record_batch().ok_or("no batch")?,
            schema,
            &Default::default(),
            None,
            &msg.version(),
        )
        .map_err(|e| e.to_string())
    }

    fn guard_all(messages: &[(Vec<u8>, Vec<u8>)]) -> Result<(), Error> {
        let mut guard = MessageGuard::new();
        for (header, body) in messages {
            guard.check(header, body)?;
        }
        Ok(())
    }

    #[test]
    fn valid_messages_pass_and_decode() {
        for codec in [None, Some(Codec::LZ4_FRAME)] {
            let messages = messages(codec);
            guard_all(&messages).unwrap();
            assert_eq!(decode(&messages).unwrap(), batch());
        }
    }

    #[test]
    fn a_body_cut_short_is_refused() {
        let mut messages = messages(None);
        messages[1].1.truncate(8);
        let err = guard_all(&messages).unwrap_err();
        assert!(
            err.message()
                .contains("outside the message body of 8 bytes"),
            "{err}"
        );
        // Unguarded, arrow-ipc panics on this message.
        assert!(contain("decoding", || decode(&messages)).is_err());
    }

    #[test]
    fn a_forged_uncompressed_length_is_refused() {
        let mut messages = messages(Some(Codec::LZ4_FRAME));
        let msg = arrow_ipc::root_as_message(&messages[1].0).unwrap();
        let buffers = msg.header_as_record_batch().unwrap().buffers().unwrap();
        let first = buffers.iter().find(|b| b.length() >= 8).unwrap().offset() as usize;
        messages[1].1[first..first + 8].copy_from_slice(&(1u64 << 60).to_le_bytes());
        let err = guard_all(&messages).unwrap_err();
        assert!(
            err.message()
                .contains("declares an uncompressed length of 1152921504606846976"),
            "{err}"
        );
    }

    #[test]
    fn a_short_validity_bitmap_is_refused() {
        // Point the string column's validity buffer (buffer 0) at a 1-byte slice.
        let messages = messages(None);
        let mut header = messages[1].0.clone();
        let msg = arrow_ipc::root_as_message(&header).unwrap();
        let buffers = msg.header_as_record_batch().unwrap().buffers().unwrap();
        let validity = buffers.get(0);
        assert_eq!(validity.length(), 5, "40 rows, one bit each");
        // The buffer struct is stored inline: find its (offset, length) bytes and shrink length.
        let needle: Vec<u8> = [validity.offset().to_le_bytes(), 5i64.to_le_bytes()].concat();
        let at = header.windows(16).position(|w| w == needle).unwrap();
        header[at + 8..at + 16].copy_from_slice(&1i64.to_le_bytes());
        let forged = vec![messages[0].clone(), (header, messages[1].1.clone())];
        let err = guard_all(&forged).unwrap_err();
        assert!(
            err.message()
                .contains("column \"s\" has 40 rows but a bitmap of 1 bytes"),
            "{err}"
        );
        assert!(
            contain("decoding", || decode(&forged)).is_err(),
            "arrow panics here unguarded"
        );
    }

    #[test]
    fn a_schema_with_an_unknown_type_is_refused() {
        let mut messages = messages(None);
        // Type NONE where the first field's type tag is: flip every byte that equals the Utf8
        // tag until the guard notices (the position depends on the flatbuffer layout).
        let original = messages[0].0.clone();
        let mut refused = 0;
        for i in 0..original.len() {
            if original[i] != Type::Utf8.0 {
                continue;
            }
            messages[0].0 = original.clone();
            messages[0].0[i] = Type::NONE.0;
            if guard_all(&messages[..1]).is_err() {
                refused += 1;
            } else {
                // What passed must convert without a panic.
                let msg = arrow_ipc::root_as_message(&messages[0].0).unwrap();
                arrow_ipc::convert::fb_to_schema(msg.header_as_schema().unwrap());
            }
        }
        assert!(refused >= 1);
    }

    /// Seeded byte flips over valid messages: whatever the guard lets through decodes to a
    /// batch or an error, never a panic.
    #[test]
    fn byte_flips_never_reach_a_panic() {
        let mut state = 0x2545_f491_4f6c_dd1du64;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let mut refused = 0;
        for round in 0..3000 {
            let codec = if round % 2 == 0 {
                None
            } else {
                Some(Codec::LZ4_FRAME)
            };
            let mut messages = messages(codec);
            for _ in 0..1 + next() % 4 {
                let m = (next() % 2) as usize;
                let (header, body) = &mut messages[m];
                let target = if next() % 3 == 0 && !body.is_empty() {
                    body
                } else {
                    header
                };
                if target.is_empty() {
                    continue;
                }
                let at = (next() % target.len() as u64) as usize;
                target[at] ^= 1 << (next() % 8);
            }
            if guard_all(&messages).is_err() {
                refused += 1;
                continue;
            }
            if let Err(e) = contain("decoding", || decode(&messages)) {
                panic!("round {round}: the guard let through a message that panics: {e}");
            }
        }
        assert!(
            refused > 100,
            "the flips should hit the guard often: {refused}"
        );
    }
}
