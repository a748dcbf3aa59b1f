//! JSON files: newline-delimited records or one array of records, streamed record by record.
//!
//! A small splitter finds each top-level object (tracking strings and nesting, counting
//! lines) and hands it to arrow-json's `Decoder`, so an array is never loaded whole.

use std::fmt;
use std::fs::File;
use std::io::{BufRead, BufReader, Seek, SeekFrom};
use std::path::Path;
use std::sync::Arc;

use arrow_array::RecordBatch;
use arrow_json::reader::{Decoder, infer_json_schema_from_iterator};
use arrow_schema::{ArrowError, Schema, SchemaRef};
use serde::de::{Deserialize, Deserializer, IgnoredAny, MapAccess, Visitor};
use serde_json::Value;

use crate::counting::CountingReader;
use crate::source::{BatchReader, FileSource, SourceFile};
use crate::text::{looks_like_timestamp, promote_timestamps};
use crate::{DEFAULT_BATCH_SIZE, Error, ErrorKind, FileFormat};

/// Deepest nesting of objects and arrays accepted in a record.
const MAX_DEPTH: usize = 64;
/// Largest record accepted, so that a file without a closing brace cannot fill memory.
const MAX_RECORD_BYTES: usize = 64 << 20;

/// Records read to infer a schema when none is given.
const DEFAULT_INFER_RECORDS: usize = 1000;

/// How the records are laid out in a JSON file.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum JsonLayout {
    /// Decided by the first non-whitespace byte: `[` is an array, anything else lines.
    #[default]
    Auto,
    /// One object per line (JSON Lines / NDJSON); any whitespace may separate objects.
    Lines,
    /// One array whose elements are the records: `[{...}, {...}]`.
    Array,
}

/// Options for JSON files.
///
/// Records are objects; their keys are the columns. Without an explicit
/// [`schema`](Self::schema) the types are inferred from the first records
/// ([`infer_rows`](Self::infer_rows)), columns in the order keys first appear; text columns
/// whose sampled values are all date-times (`2022-01-01T08:00:00Z`) are read as
/// `Timestamp(Nanosecond, None)` holding UTC instants.
///
/// ```
/// use influxdb3_ingest::{JsonLayout, JsonOptions};
///
/// let options = JsonOptions::new().layout(JsonLayout::Array).batch_size(500);
/// ```
#[derive(Debug, Clone)]
pub struct JsonOptions {
    layout: JsonLayout,
    schema: Option<SchemaRef>,
    infer_rows: usize,
    timestamp_columns: Vec<String>,
    batch_size: usize,
    projection: Option<Vec<String>>,
}

impl Default for JsonOptions {
    fn default() -> Self {
        JsonOptions {
            layout: JsonLayout::Auto,
            schema: None,
            infer_rows: DEFAULT_INFER_RECORDS,
            timestamp_columns: Vec::new(),
            batch_size: DEFAULT_BATCH_SIZE,
            projection: None,
        }
    }
}

impl JsonOptions {
    /// The defaults: layout detected, schema inferred from the first 1000 records, batches of
    /// [`DEFAULT_BATCH_SIZE`] rows.
    pub fn new() -> Self {
        Self::default()
    }

    /// The layout of the records (default [`JsonLayout::Auto`]).
    pub fn layout(mut self, layout: JsonLayout) -> Self {
        self.layout = layout;
        self
    }

    setter! {
        /// An explicit schema: no inference. Keys not in the schema are ignored.
        schema
    }

    setter! {
        /// How many records inference reads (default 1000; zero means all).
        infer_rows
    }

    setter! {
        /// Columns read as timestamps even if not all sampled values look like date-times.
        /// Ignored with an explicit schema.
        timestamp_columns
    }

    setter!(batch_size);

    setter! {
        /// Reads only these columns; they come in the schema's column order.
        projection
    }
}

const FORMAT: FileFormat = FileFormat::Json;

type Input = BufReader<CountingReader<File>>;

/// Where the splitter is between records.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Between {
    /// Nothing read yet.
    Start,
    /// In an array, just after `[`: a record or `]`.
    ArrayOpen,
    /// In an array, after a record: `,` or `]`.
    ArrayAfterRecord,
    /// In an array, after `,`: a record.
    ArrayAfterComma,
    /// After the closing `]`: only whitespace may follow.
    ArrayClosed,
    /// Newline-delimited records.
    Lines,
}

/// A syntax problem found by the splitter, at a line.
struct SplitError {
    line: u64,
    message: String,
}

/// Splits a byte stream into top-level JSON objects without parsing them.
struct Splitter {
    layout: JsonLayout,
    between: Between,
    /// The current line, from 1.
    line: u64,
}

impl Splitter {
    fn new(layout: JsonLayout) -> Self {
        Splitter {
            layout,
            between: Between::Start,
            line: 1,
        }
    }

    /// Appends the next record's bytes to `out`; returns the line it starts on, or `None`
    /// at the end.
    fn next_record(
        &mut self,
        input: &mut impl BufRead,
        out: &mut Vec<u8>,
    ) -> Result<Option<u64>, SplitError> {
        // Skip to the start of the next record.
        loop {
            let buf = input.fill_buf().map_err(|e| SplitError {
                line: self.line,
                message: format!("read failed: {e}"),
            })?;
            let Some(&byte) = buf.first() else {
                return match self.between {
                    Between::Start | Between::Lines | Between::ArrayClosed => Ok(None),
                    _ => Err(SplitError {
                        line: self.line,
                        message:
                            "the file ends inside the array (no closing `]`); is it truncated?"
                                .to_owned(),
                    }),
                };
            };
            match byte {
                b'\n' => self.line += 1,
                b' ' | b'\t' | b'\r' => {}
                // A UTF-8 byte order mark at the very start.
                0xEF if self.between == Between::Start && buf.starts_with(&[0xEF, 0xBB, 0xBF]) => {
                    input.consume(3);
                    continue;
                }
                b'[' if self.between == Between::Start && self.layout != JsonLayout::Lines => {
                    self.between = Between::ArrayOpen;
                }
                b',' if self.between == Between::ArrayAfterRecord => {
                    self.between = Between::ArrayAfterComma;
                }
                b']' if matches!(self.between, Between::ArrayOpen | Between::ArrayAfterRecord) => {
                    self.between = Between::ArrayClosed;
                }
                b'{' if self.between != Between::ArrayClosed
                    && self.between != Between::ArrayAfterRecord =>
                {
                    if self.between == Between::Start {
                        if self.layout == JsonLayout::Array {
                            return Err(SplitError {
                                line: self.line,
                                message: "expected `[` to open an array of records, found `{`"
                                    .to_owned(),
                            });
                        }
                        self.between = Between::Lines;
                    }
                    break;
                }
                other => {
                    let expected = match self.between {
                        Between::Start if self.layout == JsonLayout::Array => "`[`",
                        Between::Start => "`{` or `[`",
                        Between::Lines => "`{` starting a record",
                        Between::ArrayOpen => "`{` or `]`",
                        Between::ArrayAfterRecord => "`,` or `]`",
                        Between::ArrayAfterComma => "`{` starting a record",
                        Between::ArrayClosed => "nothing after the closing `]`",
                    };
                    return Err(SplitError {
                        line: self.line,
                        message: format!("expected {expected}, found {}", Shown(other)),
                    });
                }
            }
            input.consume(1);
        }

        // Copy the object through its matching `}`.
        let start_line = self.line;
        let base = out.len();
        let mut depth = 0usize;
        let mut in_string = false;
        let mut escaped = false;
        loop {
            let buf = input.fill_buf().map_err(|e| SplitError {
                line: self.line,
                message: format!("read failed: {e}"),
            })?;
            if buf.is_empty() {
                return Err(SplitError {
                    line: start_line,
                    message: "the file ends inside this record; is it truncated?".to_owned(),
                });
            }
            let mut end = None;
            for (i, &b) in buf.iter().enumerate() {
                if b == b'\n' {
                    self.line += 1;
                }
                if in_string {
                    if escaped {
                        escaped = false;
                    } else if b == b'\\' {
                        escaped = true;
                    } else if b == b'"' {
                        in_string = false;
                    }
                    continue;
                }
                match b {
                    b'"' => in_string = true,
                    b'{' | b'[' => {
                        depth += 1;
                        // arrow-json and serde_json recurse per level: a record nested
                        // thousands deep would overflow the stack.
                        if depth > MAX_DEPTH {
                            return Err(SplitError {
                                line: self.line,
                                message: format!(
                                    "the record starting on line {start_line} nests objects and arrays more than {MAX_DEPTH} levels deep"
                                ),
                            });
                        }
                    }
                    b'}' | b']' => {
                        depth = depth.saturating_sub(1);
                        if depth == 0 {
                            end = Some(i + 1);
                            break;
                        }
                    }
                    _ => {}
                }
            }
            let take = end.unwrap_or(buf.len());
            if out.len() - base + take > MAX_RECORD_BYTES {
                return Err(SplitError {
                    line: start_line,
                    message: format!(
                        "the record starting on this line is larger than {} MiB",
                        MAX_RECORD_BYTES >> 20
                    ),
                });
            }
            out.extend_from_slice(&buf[..take]);
            input.consume(take);
            if end.is_some() {
                if self.between != Between::Lines {
                    self.between = Between::ArrayAfterRecord;
                }
                return Ok(Some(start_line));
            }
        }
    }
}

/// A byte shown in an error: the character when printable, else its hex code.
struct Shown(u8);

impl fmt::Display for Shown {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.is_ascii_graphic() {
            write!(f, "`{}`", self.0 as char)
        } else {
            write!(f, "byte 0x{:02x}", self.0)
        }
    }
}

/// The keys of a JSON object in the order they appear (serde_json's `Value` sorts them).
struct KeyOrder(Vec<String>);

impl<'de> Deserialize<'de> for KeyOrder {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Keys;
        impl<'de> Visitor<'de> for Keys {
            type Value = KeyOrder;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JSON object")
            }

            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<KeyOrder, A::Error> {
                let mut keys = Vec::new();
                while let Some(key) = map.next_key::<String>()? {
                    map.next_value::<IgnoredAny>()?;
                    keys.push(key);
                }
                Ok(KeyOrder(keys))
            }
        }
        deserializer.deserialize_map(Keys)
    }
}

/// Splits the file into records and feeds them to arrow-json's decoder.
pub(crate) struct JsonReader {
    input: Input,
    splitter: Splitter,
    decoder: Decoder,
    schema: SchemaRef,
    batch_size: usize,
    /// The raw records of the batch being built and their first lines, kept (bounded by the
    /// batch size) so that a failing batch can be re-decoded record by record to name the row.
    pending: Vec<u8>,
    pending_records: Vec<(usize, u64)>,
}

fn split_error(file: &SourceFile, err: SplitError, row: u64) -> Error {
    file.error(ErrorKind::Parse, err.message)
        .with_line(err.line)
        .with_row(row)
}

fn infer_schema(
    file: &SourceFile,
    input: &mut Input,
    options: &JsonOptions,
) -> Result<Schema, Error> {
    let mut splitter = Splitter::new(options.layout);
    let mut values = Vec::new();
    let mut key_order: Vec<String> = Vec::new();
    let mut record = Vec::new();
    let limit = if options.infer_rows == 0 {
        usize::MAX
    } else {
        options.infer_rows
    };
    while values.len() < limit {
        record.clear();
        let row = values.len() as u64 + 1;
        let Some(line) = splitter
            .next_record(input, &mut record)
            .map_err(|e| split_error(file, e, row))?
        else {
            break;
        };
        let parse_error = |e: serde_json::Error| {
            file.error(ErrorKind::Parse, format!("invalid JSON: {e}"))
                .with_line(line + e.line().saturating_sub(1) as u64)
                .with_row(row)
                .with_source(e)
        };
        let value: Value = serde_json::from_slice(&record).map_err(parse_error)?;
        let KeyOrder(keys) = serde_json::from_slice(&record).map_err(parse_error)?;
        for key in keys {
            if !key_order.contains(&key) {
                key_order.push(key);
            }
        }
        values.push(value);
    }
    let inferred = infer_json_schema_from_iterator(values.iter().map(Ok::<_, ArrowError>))
        .map_err(|e| {
            file.error(ErrorKind::Schema, format!("cannot infer a schema: {e}"))
                .with_source(e)
        })?;
    // Put the columns in the order their keys first appear in the file.
    let mut fields: Vec<_> = inferred.fields().iter().cloned().collect();
    fields.sort_by_key(|f| {
        key_order
            .iter()
            .position(|k| k == f.name())
            .unwrap_or(usize::MAX)
    });
    let schema = Schema::new(fields);
    promote_timestamps(schema, &options.timestamp_columns, file, |_, field| {
        let mut seen = false;
        let all = values.iter().all(|v| match v.get(field.name()) {
            None | Some(Value::Null) => true,
            Some(Value::String(s)) => {
                seen = true;
                looks_like_timestamp(s)
            }
            Some(_) => false,
        });
        all && seen
    })
}

/// Opens a JSON file as a [`BatchSource`](crate::BatchSource).
pub(crate) fn open(path: &Path, options: JsonOptions) -> Result<FileSource<JsonReader>, Error> {
    let (file, handle) = SourceFile::open(path, FORMAT, Some(options.batch_size))?;
    let mut input = file.buffered(handle);
    let file_schema = match &options.schema {
        Some(schema) => schema.clone(),
        None => {
            let schema = infer_schema(&file, &mut input, &options)?;
            input
                .seek(SeekFrom::Start(0))
                .map_err(|e| file.io_error("cannot seek back after inference", e))?;
            file.restart_count();
            Arc::new(schema)
        }
    };
    let (schema, _) = file.project(&file_schema, options.projection.as_deref())?;
    let decoder = new_decoder(&schema, options.batch_size).map_err(|e| file.arrow_error(e))?;
    let reader = JsonReader {
        input,
        splitter: Splitter::new(options.layout),
        decoder,
        schema: schema.clone(),
        batch_size: options.batch_size,
        pending: Vec::new(),
        pending_records: Vec::new(),
    };
    Ok(FileSource::new(file, reader, schema, None))
}

impl BatchReader for JsonReader {
    fn read_batch(
        &mut self,
        file: &SourceFile,
        rows_read: u64,
    ) -> Result<Option<RecordBatch>, Error> {
        self.pending.clear();
        self.pending_records.clear();
        while self.pending_records.len() < self.batch_size {
            let start = self.pending.len();
            let row = rows_read + self.pending_records.len() as u64 + 1;
            let Some(line) = self
                .splitter
                .next_record(&mut self.input, &mut self.pending)
                .map_err(|e| split_error(file, e, row))?
            else {
                break;
            };
            self.pending.push(b'\n');
            self.pending_records.push((start, line));
            let record = &self.pending[start..];
            let mut offset = 0;
            while offset < record.len() {
                let used = self
                    .decoder
                    .decode(&record[offset..])
                    .map_err(|e| locate(file, e, row, line))?;
                if used == 0 {
                    break;
                }
                offset += used;
            }
        }
        match self.decoder.flush() {
            Ok(batch) => Ok(batch),
            Err(err) => Err(self.find_failing_record(file, rows_read, err)),
        }
    }
}

impl JsonReader {
    /// A batch failed to convert: decode its records one at a time to name the first bad one.
    fn find_failing_record(
        &self,
        file: &SourceFile,
        rows_read: u64,
        batch_error: ArrowError,
    ) -> Error {
        for (i, &(start, line)) in self.pending_records.iter().enumerate() {
            let end = self
                .pending_records
                .get(i + 1)
                .map_or(self.pending.len(), |&(next, _)| next);
            let row = rows_read + i as u64 + 1;
            let result = new_decoder(&self.schema, 1).and_then(|mut decoder| {
                decoder.decode(&self.pending[start..end])?;
                decoder.flush()
            });
            if let Err(err) = result {
                return locate(file, err, row, line);
            }
        }
        file.arrow_error(batch_error).with_row(rows_read + 1)
    }
}

/// An error of arrow-json's decoder, at the record of this row that starts on this line.
fn locate(file: &SourceFile, err: ArrowError, row: u64, line: u64) -> Error {
    file.arrow_error(err).with_row(row).with_line(line)
}

fn new_decoder(schema: &SchemaRef, batch_size: usize) -> Result<Decoder, ArrowError> {
    arrow_json::ReaderBuilder::new(schema.clone())
        .with_batch_size(batch_size)
        .build_decoder()
}
