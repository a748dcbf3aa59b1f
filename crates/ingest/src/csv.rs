//! CSV files, decoded record by record with arrow-csv's push `Decoder`.

use std::fs::File;
use std::io::{BufRead, BufReader, Seek, SeekFrom};
use std::path::Path;
use std::sync::Arc;

use arrow_array::RecordBatch;
use arrow_csv::reader::{Decoder, Format};
use arrow_schema::{ArrowError, SchemaRef};
use regex::Regex;

use crate::counting::CountingReader;
use crate::source::{BatchReader, FileSource, SourceFile};
use crate::text::{number_after, promote_timestamps};
use crate::{DEFAULT_BATCH_SIZE, Error, ErrorKind, FileFormat};

/// Rows read to infer a schema when none is given.
pub const DEFAULT_INFER_ROWS: usize = 1000;

/// Options for CSV files.
///
/// Without an explicit [`schema`](Self::schema), column types are inferred from the first
/// [`infer_rows`](Self::infer_rows) rows (then reading starts again from the top): integers,
/// floats, booleans, dates, and date-times such as `2022-01-01T08:00:00Z`, which are read as
/// `Timestamp(Nanosecond, None)` holding UTC instants. Anything else is text.
///
/// ```
/// use influxdb3_ingest::CsvOptions;
///
/// let options = CsvOptions::new()
///     .delimiter(b';')
///     .null_values(["NA", "n/a"])
///     .timestamp_columns(["time"])
///     .batch_size(10_000);
/// ```
#[derive(Debug, Clone)]
pub struct CsvOptions {
    has_header: bool,
    delimiter: u8,
    quote: u8,
    escape: Option<u8>,
    comment: Option<u8>,
    null_regex: Option<String>,
    schema: Option<SchemaRef>,
    infer_rows: usize,
    timestamp_columns: Vec<String>,
    batch_size: usize,
    projection: Option<Vec<String>>,
}

impl Default for CsvOptions {
    fn default() -> Self {
        CsvOptions {
            has_header: true,
            delimiter: b',',
            quote: b'"',
            escape: None,
            comment: None,
            null_regex: None,
            schema: None,
            infer_rows: DEFAULT_INFER_ROWS,
            timestamp_columns: Vec::new(),
            batch_size: DEFAULT_BATCH_SIZE,
            projection: None,
        }
    }
}

impl CsvOptions {
    /// The defaults: a header row, `,` delimiter, `"` quote, empty fields are null, the
    /// schema inferred from the first [`DEFAULT_INFER_ROWS`] rows, batches of
    /// [`DEFAULT_BATCH_SIZE`] rows.
    pub fn new() -> Self {
        Self::default()
    }

    /// Whether the first line names the columns (default `true`). Without a header the
    /// columns are named `column_1`, `column_2`, ...
    pub fn has_header(mut self, has_header: bool) -> Self {
        self.has_header = has_header;
        self
    }

    /// The field delimiter (default `,`).
    pub fn delimiter(mut self, delimiter: u8) -> Self {
        self.delimiter = delimiter;
        self
    }

    /// The quote character (default `"`); a doubled quote inside quotes is a literal quote.
    pub fn quote(mut self, quote: u8) -> Self {
        self.quote = quote;
        self
    }

    /// An escape character inside quoted fields, such as `\` (default none).
    pub fn escape(mut self, escape: u8) -> Self {
        self.escape = Some(escape);
        self
    }

    /// Lines starting with this byte are skipped (default none).
    pub fn comment(mut self, comment: u8) -> Self {
        self.comment = Some(comment);
        self
    }

    /// Fields matching this regular expression (whole field) are null, replacing the default
    /// rule that only the empty field is null. An invalid regex is reported when opening.
    pub fn null_regex(mut self, regex: impl Into<String>) -> Self {
        self.null_regex = Some(regex.into());
        self
    }

    /// These exact strings, and the empty field, are null. Shorthand for a
    /// [`null_regex`](Self::null_regex) built from them.
    pub fn null_values<I, S>(mut self, values: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let alternatives: Vec<String> = values
            .into_iter()
            .map(|v| regex::escape(v.as_ref()))
            .collect();
        self.null_regex = Some(format!("^(?:|{})$", alternatives.join("|")));
        self
    }

    setter! {
        /// An explicit schema: no inference, and each column is parsed as the given type. With
        /// a header, the header's names must match the schema's.
        schema
    }

    setter! {
        /// How many rows inference reads (default [`DEFAULT_INFER_ROWS`]; zero means all).
        infer_rows
    }

    setter! {
        /// Columns read as timestamps even when inference would say text (or date): RFC 3339 /
        /// ISO 8601 strings, converted to UTC. Columns inferred as integers stay integers (their
        /// unit is for the line protocol mapping to say). Ignored with an explicit schema.
        timestamp_columns
    }

    setter!(batch_size);

    setter! {
        /// Reads only these columns; they come in the file's column order.
        projection
    }
}

const FORMAT: FileFormat = FileFormat::Csv;

/// Opens a CSV file as a [`BatchSource`](crate::BatchSource).
pub(crate) fn open(path: &Path, options: CsvOptions) -> Result<FileSource<CsvReader>, Error> {
    let (file, handle) = SourceFile::open(path, FORMAT, Some(options.batch_size))?;
    let null_regex = match &options.null_regex {
        Some(source) => Some(Regex::new(source).map_err(|e| {
            file.error(
                ErrorKind::InvalidOptions,
                format!("invalid null regex `{source}`: {e}"),
            )
            .with_source(e)
        })?),
        None => None,
    };
    let mut input = file.buffered(handle);

    let mut format = Format::default()
        .with_header(options.has_header)
        .with_delimiter(options.delimiter)
        .with_quote(options.quote);
    if let Some(escape) = options.escape {
        format = format.with_escape(escape);
    }
    if let Some(comment) = options.comment {
        format = format.with_comment(comment);
    }
    if let Some(regex) = &null_regex {
        format = format.with_null_regex(regex.clone());
    }

    let file_schema = match &options.schema {
        Some(schema) => schema.clone(),
        None => {
            let max = (options.infer_rows > 0).then_some(options.infer_rows);
            let (schema, _) = format
                .infer_schema(&mut input, max)
                .map_err(|e| locate(file.arrow_error(e), options.has_header, None))?;
            input
                .seek(SeekFrom::Start(0))
                .map_err(|e| file.io_error("cannot seek back after inference", e))?;
            file.restart_count();
            let schema =
                promote_timestamps(schema, &options.timestamp_columns, &file, |_, _| false)?;
            Arc::new(schema)
        }
    };

    let mut builder = arrow_csv::ReaderBuilder::new(file_schema.clone())
        .with_format(format)
        .with_batch_size(options.batch_size);
    let (schema, indices) = file.project(&file_schema, options.projection.as_deref())?;
    if let Some(indices) = indices {
        builder = builder.with_projection(indices);
    }
    let reader = CsvReader {
        input,
        decoder: builder.build_decoder(),
        file_schema,
        has_header: options.has_header,
    };
    Ok(FileSource::new(file, reader, schema, None))
}

/// Feeds the file to arrow-csv's push decoder.
pub(crate) struct CsvReader {
    input: BufReader<CountingReader<File>>,
    decoder: Decoder,
    /// The schema before projection: arrow-csv names columns by their index in it.
    file_schema: SchemaRef,
    has_header: bool,
}

impl CsvReader {
    fn error(&self, file: &SourceFile, err: ArrowError) -> Error {
        locate(
            file.arrow_error(err),
            self.has_header,
            Some(&self.file_schema),
        )
    }
}

impl BatchReader for CsvReader {
    fn read_batch(
        &mut self,
        file: &SourceFile,
        _rows_read: u64,
    ) -> Result<Option<RecordBatch>, Error> {
        loop {
            let buf = self
                .input
                .fill_buf()
                .map_err(|e| file.io_error("read failed", e))?;
            let decoded = self.decoder.decode(buf).map_err(|e| self.error(file, e))?;
            self.input.consume(decoded);
            if decoded == 0 || self.decoder.capacity() == 0 {
                break;
            }
        }
        self.decoder.flush().map_err(|e| self.error(file, e))
    }
}

/// Adds the line, row and column that arrow-csv names in its message.
///
/// arrow-csv numbers lines three ways: "incorrect number of fields for line N" and "invalid
/// UTF-8 data for line N" count records from 1 including the header; the csv crate's
/// "unequal lengths ... at line N" (during inference) counts lines from 1; value parse errors
/// ("... for column C at line N") count records from 0 including the header. All are turned
/// into a line counted from 1 and a data row counted from 1 (assuming no quoted newlines).
fn locate(err: Error, has_header: bool, schema: Option<&SchemaRef>) -> Error {
    let message = err.message().to_owned();
    let header = u64::from(has_header);
    let record = if message.contains("for line ") {
        number_after(&message, "for line")
    } else if message.contains("unequal lengths") {
        number_after(&message, "at line")
    } else {
        number_after(&message, "at line").map(|n| n + 1)
    };
    let column = number_after(&message, "column")
        .and_then(|c| schema?.fields().get(usize::try_from(c).ok()?).cloned());
    let mut err = err;
    if let Some(record) = record {
        err = err.with_line(record);
        if record > header {
            err = err.with_row(record - header);
        }
    }
    if let Some(field) = column {
        err = err.with_column(field.name().clone());
    }
    err
}
