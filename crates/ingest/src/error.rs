//! The one error type of the crate.

use std::error::Error as StdError;
use std::fmt;
use std::path::{Path, PathBuf};

use arrow_schema::ArrowError;

use crate::FileFormat;

/// What went wrong while opening or reading a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The path's extension names no supported format; the message lists the supported ones.
    UnknownExtension,
    /// The format is known but its cargo feature is off.
    FormatDisabled,
    /// The options do not fit the file: options for another format, an invalid null regex,
    /// a zero batch size.
    InvalidOptions,
    /// The file could not be opened or read.
    Io,
    /// A binary file (parquet, ORC, feather) is truncated, corrupt or not of its format.
    Corrupt,
    /// A text file (CSV, JSON) has a row that does not parse or does not fit the schema.
    Parse,
    /// The schema could not be inferred, or a requested column does not exist.
    Schema,
}

impl ErrorKind {
    fn describe(self) -> &'static str {
        match self {
            ErrorKind::UnknownExtension => "unsupported file",
            ErrorKind::FormatDisabled => "format not enabled",
            ErrorKind::InvalidOptions => "invalid options",
            ErrorKind::Io => "I/O error",
            ErrorKind::Corrupt => "corrupt or truncated file",
            ErrorKind::Parse => "parse error",
            ErrorKind::Schema => "schema error",
        }
    }
}

/// An error reading a file, naming the format, the path and, where known, the row, line
/// and column.
///
/// Rows and lines count from 1. For CSV, `row` counts data records (the header is not a
/// row) and `line` is the line in the file; for JSON, `row` counts records and `line` is
/// the line on which the record starts.
///
/// ```
/// use influxdb3_ingest::{ErrorKind, open};
///
/// let err = open("readings.xlsx", None).err().expect("xlsx is not supported");
/// assert_eq!(err.kind(), ErrorKind::UnknownExtension);
/// assert!(err.to_string().contains(".parquet"));
/// assert!(err.to_string().contains("readings.xlsx"));
/// ```
pub struct Error {
    // Boxed: an error is rare and `Result<_, Error>` stays one pointer wide.
    inner: Box<Inner>,
}

struct Inner {
    kind: ErrorKind,
    format: Option<FileFormat>,
    path: PathBuf,
    row: Option<u64>,
    line: Option<u64>,
    column: Option<String>,
    message: String,
    source: Option<Box<dyn StdError + Send + Sync + 'static>>,
}

impl Error {
    pub(crate) fn new(kind: ErrorKind, path: &Path, message: impl Into<String>) -> Error {
        Error {
            inner: Box::new(Inner {
                kind,
                format: None,
                path: path.to_path_buf(),
                row: None,
                line: None,
                column: None,
                message: message.into(),
                source: None,
            }),
        }
    }

    /// An I/O error on the file.
    pub(crate) fn io(format: FileFormat, path: &Path, what: &str, err: std::io::Error) -> Error {
        Error::new(ErrorKind::Io, path, format!("{what}: {err}"))
            .with_format(format)
            .with_source(err)
    }

    /// An error from an Arrow reader. I/O stays I/O, schema stays schema; anything else is
    /// a [`ErrorKind::Parse`] error for text formats and [`ErrorKind::Corrupt`] for binary ones.
    pub(crate) fn arrow(format: FileFormat, path: &Path, err: ArrowError) -> Error {
        let text = matches!(format, FileFormat::Csv | FileFormat::Json);
        let kind = match &err {
            ArrowError::IoError(..) => ErrorKind::Io,
            ArrowError::SchemaError(_) if text => ErrorKind::Schema,
            _ if text => ErrorKind::Parse,
            _ => ErrorKind::Corrupt,
        };
        let message = match &err {
            // These variants' Display already prefixes a description; keep only the detail.
            ArrowError::ParseError(m)
            | ArrowError::CsvError(m)
            | ArrowError::JsonError(m)
            | ArrowError::SchemaError(m)
            | ArrowError::InvalidArgumentError(m)
            | ArrowError::ComputeError(m)
            | ArrowError::IpcError(m) => m.clone(),
            other => other.to_string(),
        };
        Error::new(kind, path, message)
            .with_format(format)
            .with_source(err)
    }

    pub(crate) fn with_format(mut self, format: FileFormat) -> Error {
        self.inner.format = Some(format);
        self
    }

    pub(crate) fn with_row(mut self, row: u64) -> Error {
        self.inner.row = Some(row);
        self
    }

    pub(crate) fn with_line(mut self, line: u64) -> Error {
        self.inner.line = Some(line);
        self
    }

    pub(crate) fn with_column(mut self, column: impl Into<String>) -> Error {
        self.inner.column = Some(column.into());
        self
    }

    pub(crate) fn with_source(mut self, source: impl StdError + Send + Sync + 'static) -> Error {
        self.inner.source = Some(Box::new(source));
        self
    }

    /// What kind of error this is.
    pub fn kind(&self) -> ErrorKind {
        self.inner.kind
    }

    /// The file's format, when it was known.
    pub fn format(&self) -> Option<FileFormat> {
        self.inner.format
    }

    /// The path of the file.
    pub fn path(&self) -> &Path {
        &self.inner.path
    }

    /// The data row (from 1) at which the error happened, when known.
    pub fn row(&self) -> Option<u64> {
        self.inner.row
    }

    /// The line of a text file (from 1) at which the error happened, when known.
    pub fn line(&self) -> Option<u64> {
        self.inner.line
    }

    /// The column the error is about, when known.
    pub fn column(&self) -> Option<&str> {
        self.inner.column.as_deref()
    }

    /// The detail, without the path and position.
    pub fn message(&self) -> &str {
        &self.inner.message
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.inner.format {
            Some(format) => write!(f, "{format} file `{}`", self.inner.path.display())?,
            None => write!(f, "file `{}`", self.inner.path.display())?,
        }
        if let Some(line) = self.inner.line {
            write!(f, ", line {line}")?;
        }
        if let Some(row) = self.inner.row {
            write!(f, ", row {row}")?;
        }
        if let Some(column) = &self.inner.column {
            write!(f, ", column `{column}`")?;
        }
        write!(
            f,
            ": {}: {}",
            self.inner.kind.describe(),
            self.inner.message
        )
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Error")
            .field("kind", &self.inner.kind)
            .field("format", &self.inner.format)
            .field("path", &self.inner.path)
            .field("row", &self.inner.row)
            .field("line", &self.inner.line)
            .field("column", &self.inner.column)
            .field("message", &self.inner.message)
            .finish()
    }
}

impl StdError for Error {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        self.inner
            .source
            .as_deref()
            .map(|s| s as &(dyn StdError + 'static))
    }
}
