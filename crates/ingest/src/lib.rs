//! Stream data files as Arrow [`RecordBatch`]es, with bounded memory, for InfluxDB 3 ingest.
//!
//! A file becomes a [`BatchSource`]: its [`schema`](BatchSource::schema), then one
//! [`RecordBatch`] at a time from [`next_batch`](BatchSource::next_batch), and a running
//! [`Progress`]. No format reads the whole file into memory: parquet and ORC are read
//! row group / stripe by stripe, Arrow IPC batch by batch, CSV and JSON record by record.
//!
//! | Format | Extensions | Cargo feature | Options |
//! |---|---|---|---|
//! | [Feather v2 / Arrow IPC file](FileFormat::Feather) (uncompressed, lz4, zstd) | `.feather`, `.arrow`, `.ipc` | `ipc` | [`FeatherOptions`] |
//! | [Parquet](FileFormat::Parquet) | `.parquet` | `parquet` | [`ParquetOptions`] |
//! | [CSV](FileFormat::Csv) | `.csv` | `csv` | [`CsvOptions`] |
//! | [JSON](FileFormat::Json) (newline-delimited records or an array of records) | `.json`, `.jsonl`, `.ndjson` | `json` | [`JsonOptions`] |
//! | [ORC](FileFormat::Orc) | `.orc` | `orc` | [`OrcOptions`] |
//!
//! All features are on by default.
//!
//! # Example
//!
//! ```no_run
//! use influxdb3_ingest::{CsvOptions, open};
//!
//! # fn main() -> Result<(), influxdb3_ingest::Error> {
//! let mut source = open("data/home-sensor-data.csv", Some(CsvOptions::new().batch_size(1024).into()))?;
//! println!("schema: {:?}", source.schema());
//! while let Some(batch) = source.next_batch()? {
//!     println!("{} rows", batch.num_rows());
//! }
//! println!("{:?}", source.progress());
//! # Ok(())
//! # }
//! ```
//!
//! Errors name the format, the path and, where known, the row, line and column; see [`Error`].

// Helpers shared by the format modules go unused when some formats are compiled out.
#![cfg_attr(
    not(all(
        feature = "csv",
        feature = "json",
        feature = "parquet",
        feature = "ipc",
        feature = "orc"
    )),
    allow(dead_code)
)]

use std::fmt;
use std::path::Path;

use arrow_array::RecordBatch;
use arrow_schema::SchemaRef;

/// Builder setters that several options types share, over fields of the same names; invoked
/// inside their `impl`s, with the setter's doc comment (except `batch_size`, whose doc is
/// the same everywhere).
#[cfg_attr(
    not(any(
        feature = "ipc",
        feature = "parquet",
        feature = "csv",
        feature = "json",
        feature = "orc"
    )),
    allow(unused_macros, reason = "only the format options use it")
)]
macro_rules! setter {
    (batch_size) => {
        /// The most rows per batch (default [`DEFAULT_BATCH_SIZE`](crate::DEFAULT_BATCH_SIZE);
        /// must not be zero).
        pub fn batch_size(mut self, rows: usize) -> Self {
            self.batch_size = rows;
            self
        }
    };
    ($(#[$doc:meta])* projection) => {
        $(#[$doc])*
        pub fn projection<I, S>(mut self, columns: I) -> Self
        where
            I: IntoIterator<Item = S>,
            S: Into<String>,
        {
            self.projection = Some(columns.into_iter().map(Into::into).collect());
            self
        }
    };
    ($(#[$doc:meta])* schema) => {
        $(#[$doc])*
        pub fn schema(mut self, schema: SchemaRef) -> Self {
            self.schema = Some(schema);
            self
        }
    };
    ($(#[$doc:meta])* infer_rows) => {
        $(#[$doc])*
        pub fn infer_rows(mut self, rows: usize) -> Self {
            self.infer_rows = rows;
            self
        }
    };
    ($(#[$doc:meta])* timestamp_columns) => {
        $(#[$doc])*
        pub fn timestamp_columns<I, S>(mut self, columns: I) -> Self
        where
            I: IntoIterator<Item = S>,
            S: Into<String>,
        {
            self.timestamp_columns = columns.into_iter().map(Into::into).collect();
            self
        }
    };
}

mod counting;
mod error;
mod source;
#[cfg(any(feature = "csv", feature = "json"))]
mod text;

#[cfg(feature = "csv")]
mod csv;
#[cfg(feature = "ipc")]
mod ipc;
#[cfg(feature = "json")]
mod json;
#[cfg(feature = "orc")]
mod orc;
#[cfg(feature = "parquet")]
mod parquet;

pub use error::{Error, ErrorKind};

#[cfg(feature = "csv")]
pub use crate::csv::{CsvOptions, DEFAULT_INFER_ROWS};
#[cfg(feature = "ipc")]
pub use crate::ipc::FeatherOptions;
#[cfg(feature = "json")]
pub use crate::json::{JsonLayout, JsonOptions};
#[cfg(feature = "orc")]
pub use crate::orc::OrcOptions;
#[cfg(feature = "parquet")]
pub use crate::parquet::ParquetOptions;

/// Rows per batch when the options do not say otherwise.
pub const DEFAULT_BATCH_SIZE: usize = 8192;

/// A file read as a sequence of Arrow [`RecordBatch`]es sharing one schema.
///
/// Reading is synchronous on purpose: file decoding is CPU and disk work, so async callers
/// run the source on a blocking thread (`tokio::task::spawn_blocking`). Every batch has the
/// schema returned by [`schema`](Self::schema).
///
/// ```no_run
/// use influxdb3_ingest::{BatchSource, open};
///
/// fn count_rows(source: &mut dyn BatchSource) -> Result<usize, influxdb3_ingest::Error> {
///     let mut rows = 0;
///     while let Some(batch) = source.next_batch()? {
///         rows += batch.num_rows();
///     }
///     Ok(rows)
/// }
///
/// # fn main() -> Result<(), influxdb3_ingest::Error> {
/// let mut source = open("data/home-sensor-data.parquet", None)?;
/// println!("{} rows", count_rows(source.as_mut())?);
/// # Ok(())
/// # }
/// ```
pub trait BatchSource: Send {
    /// The schema of every batch (after projection).
    fn schema(&self) -> SchemaRef;

    /// The next batch, or `None` at the end of the file.
    ///
    /// After an error the source should not be read further.
    fn next_batch(&mut self) -> Result<Option<RecordBatch>, Error>;

    /// Rows and bytes read so far, and the totals when the file tells them.
    fn progress(&self) -> Progress;
}

impl<S: BatchSource + ?Sized> BatchSource for Box<S> {
    fn schema(&self) -> SchemaRef {
        (**self).schema()
    }

    fn next_batch(&mut self) -> Result<Option<RecordBatch>, Error> {
        (**self).next_batch()
    }

    fn progress(&self) -> Progress {
        (**self).progress()
    }
}

/// How far a [`BatchSource`] has read.
///
/// ```
/// use influxdb3_ingest::Progress;
///
/// let progress = Progress { rows_read: 10, bytes_read: 512, total_bytes: Some(1024), total_rows: None };
/// assert_eq!(progress.fraction(), Some(0.5));
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Progress {
    /// Rows returned so far in batches.
    pub rows_read: u64,
    /// Bytes read from the file so far (including metadata, footers and read-ahead).
    pub bytes_read: u64,
    /// The file's size in bytes, when known.
    pub total_bytes: Option<u64>,
    /// The number of rows in the file, when its metadata records it (parquet, ORC).
    pub total_rows: Option<u64>,
}

impl Progress {
    /// The fraction done, between 0 and 1: by rows when the total is known, else by bytes.
    pub fn fraction(&self) -> Option<f64> {
        let (done, total) = match (self.total_rows, self.total_bytes) {
            (Some(total), _) => (self.rows_read, total),
            (None, Some(total)) => (self.bytes_read, total),
            (None, None) => return None,
        };
        if total == 0 {
            return Some(1.0);
        }
        Some((done as f64 / total as f64).min(1.0))
    }
}

/// A supported file format.
///
/// Every variant exists whatever the cargo features; opening a format whose feature is off
/// returns an [`ErrorKind::FormatDisabled`] error.
///
/// ```
/// use influxdb3_ingest::FileFormat;
///
/// assert_eq!(FileFormat::from_path("data/home.feather")?, FileFormat::Feather);
/// assert_eq!(FileFormat::from_path("DATA.PARQUET")?, FileFormat::Parquet);
/// assert!(FileFormat::from_path("notes.txt").is_err());
/// # Ok::<(), influxdb3_ingest::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FileFormat {
    /// Feather v2, which is the Arrow IPC file format (`.feather`, `.arrow`, `.ipc`).
    Feather,
    /// Apache Parquet (`.parquet`).
    Parquet,
    /// Comma-separated (or otherwise delimited) values (`.csv`).
    Csv,
    /// JSON records, newline-delimited or in one array (`.json`, `.jsonl`, `.ndjson`).
    Json,
    /// Apache ORC (`.orc`).
    Orc,
}

impl FileFormat {
    /// What a malformed file of this format is: [`ErrorKind::Parse`] for text formats,
    /// [`ErrorKind::Corrupt`] for binary ones.
    pub(crate) fn malformed_kind(self) -> ErrorKind {
        match self {
            FileFormat::Csv | FileFormat::Json => ErrorKind::Parse,
            _ => ErrorKind::Corrupt,
        }
    }

    /// All formats, in the order of the docs.
    pub const ALL: [FileFormat; 5] = [
        FileFormat::Feather,
        FileFormat::Parquet,
        FileFormat::Csv,
        FileFormat::Json,
        FileFormat::Orc,
    ];

    /// The extensions (lower case, without the dot) recognised for this format.
    pub fn extensions(self) -> &'static [&'static str] {
        match self {
            FileFormat::Feather => &["feather", "arrow", "ipc"],
            FileFormat::Parquet => &["parquet"],
            FileFormat::Csv => &["csv"],
            FileFormat::Json => &["json", "jsonl", "ndjson"],
            FileFormat::Orc => &["orc"],
        }
    }

    /// A short lower-case name: `feather`, `parquet`, `csv`, `json` or `orc`.
    pub fn name(self) -> &'static str {
        match self {
            FileFormat::Feather => "feather",
            FileFormat::Parquet => "parquet",
            FileFormat::Csv => "csv",
            FileFormat::Json => "json",
            FileFormat::Orc => "orc",
        }
    }

    /// The format named by the path's extension (case-insensitive).
    ///
    /// An unknown or missing extension is an [`ErrorKind::UnknownExtension`] error whose
    /// message lists the supported extensions.
    pub fn from_path(path: impl AsRef<Path>) -> Result<FileFormat, Error> {
        let path = path.as_ref();
        let ext = path
            .extension()
            .and_then(|e| e.to_str())
            .map(str::to_ascii_lowercase);
        if let Some(ext) = &ext {
            for format in FileFormat::ALL {
                if format.extensions().contains(&ext.as_str()) {
                    return Ok(format);
                }
            }
        }
        let supported: Vec<String> = FileFormat::ALL
            .iter()
            .flat_map(|f| f.extensions().iter().map(|e| format!(".{e}")))
            .collect();
        let found = match ext {
            Some(ext) => format!("unknown file extension `.{ext}`"),
            None => "no file extension".to_owned(),
        };
        Err(Error::new(
            ErrorKind::UnknownExtension,
            path,
            format!("{found}; supported extensions are {}", supported.join(", ")),
        ))
    }
}

impl fmt::Display for FileFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Options for the file parser, typed per format (Python's `file_parser_options`).
///
/// Each options type converts into this enum with `.into()`.
///
/// ```
/// use influxdb3_ingest::{CsvOptions, FileParserOptions};
///
/// let options: FileParserOptions = CsvOptions::new().delimiter(b';').into();
/// assert!(matches!(options, FileParserOptions::Csv(_)));
/// ```
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum FileParserOptions {
    /// Options for CSV files.
    #[cfg(feature = "csv")]
    Csv(CsvOptions),
    /// Options for JSON files.
    #[cfg(feature = "json")]
    Json(JsonOptions),
    /// Options for parquet files.
    #[cfg(feature = "parquet")]
    Parquet(ParquetOptions),
    /// Options for feather / Arrow IPC files.
    #[cfg(feature = "ipc")]
    Feather(FeatherOptions),
    /// Options for ORC files.
    #[cfg(feature = "orc")]
    Orc(OrcOptions),
}

impl FileParserOptions {
    /// The format these options are for.
    pub fn format(&self) -> FileFormat {
        match *self {
            #[cfg(feature = "csv")]
            FileParserOptions::Csv(_) => FileFormat::Csv,
            #[cfg(feature = "json")]
            FileParserOptions::Json(_) => FileFormat::Json,
            #[cfg(feature = "parquet")]
            FileParserOptions::Parquet(_) => FileFormat::Parquet,
            #[cfg(feature = "ipc")]
            FileParserOptions::Feather(_) => FileFormat::Feather,
            #[cfg(feature = "orc")]
            FileParserOptions::Orc(_) => FileFormat::Orc,
        }
    }
}

macro_rules! options_into {
    ($feature:literal, $ty:ident, $variant:ident) => {
        #[cfg(feature = $feature)]
        impl From<$ty> for FileParserOptions {
            fn from(options: $ty) -> Self {
                FileParserOptions::$variant(options)
            }
        }
    };
}
options_into!("csv", CsvOptions, Csv);
options_into!("json", JsonOptions, Json);
options_into!("parquet", ParquetOptions, Parquet);
options_into!("ipc", FeatherOptions, Feather);
options_into!("orc", OrcOptions, Orc);

/// Opens a file as a [`BatchSource`], choosing the format from its extension.
///
/// `options` must be for that format (or `None` for the defaults).
///
/// ```no_run
/// use influxdb3_ingest::{ParquetOptions, open};
///
/// # fn main() -> Result<(), influxdb3_ingest::Error> {
/// let options = ParquetOptions::new().projection(["time", "room", "temp"]);
/// let mut source = open("data/home-sensor-data.parquet", Some(options.into()))?;
/// while let Some(batch) = source.next_batch()? {
///     assert_eq!(batch.num_columns(), 3);
/// }
/// # Ok(())
/// # }
/// ```
pub fn open(
    path: impl AsRef<Path>,
    options: Option<FileParserOptions>,
) -> Result<Box<dyn BatchSource>, Error> {
    let path = path.as_ref();
    let format = FileFormat::from_path(path)?;
    open_as(path, format, options)
}

/// Opens a file as a [`BatchSource`] of the given format, whatever its extension.
///
/// ```no_run
/// use influxdb3_ingest::{FileFormat, open_as};
///
/// # fn main() -> Result<(), influxdb3_ingest::Error> {
/// let source = open_as("export.txt", FileFormat::Csv, None)?;
/// println!("{:?}", source.schema());
/// # Ok(())
/// # }
/// ```
pub fn open_as(
    path: impl AsRef<Path>,
    format: FileFormat,
    options: Option<FileParserOptions>,
) -> Result<Box<dyn BatchSource>, Error> {
    let path = path.as_ref();
    if let Some(options) = &options
        && options.format() != format
    {
        return Err(Error::new(
            ErrorKind::InvalidOptions,
            path,
            format!(
                "{} parser options were given for a {format} file",
                options.format()
            ),
        )
        .with_format(format));
    }
    // A reader that panics on a malformed file (parquet's and ORC's do) gives an error that
    // names the file and format instead of unwinding into the caller.
    influxdb3_ipc_guard::contain("opening the file", || open_reader(path, format, options))
        .map_err(|panic| {
            Error::new(format.malformed_kind(), path, panic.to_string()).with_format(format)
        })?
}

fn open_reader(
    path: &Path,
    format: FileFormat,
    options: Option<FileParserOptions>,
) -> Result<Box<dyn BatchSource>, Error> {
    match format {
        #[cfg(feature = "csv")]
        FileFormat::Csv => {
            let options = match options {
                Some(FileParserOptions::Csv(o)) => o,
                _ => CsvOptions::default(),
            };
            Ok(Box::new(csv::open(path, options)?))
        }
        #[cfg(feature = "json")]
        FileFormat::Json => {
            let options = match options {
                Some(FileParserOptions::Json(o)) => o,
                _ => JsonOptions::default(),
            };
            Ok(Box::new(json::open(path, options)?))
        }
        #[cfg(feature = "parquet")]
        FileFormat::Parquet => {
            let options = match options {
                Some(FileParserOptions::Parquet(o)) => o,
                _ => ParquetOptions::default(),
            };
            Ok(Box::new(parquet::open(path, options)?))
        }
        #[cfg(feature = "ipc")]
        FileFormat::Feather => {
            let options = match options {
                Some(FileParserOptions::Feather(o)) => o,
                _ => FeatherOptions::default(),
            };
            Ok(Box::new(ipc::open(path, options)?))
        }
        #[cfg(feature = "orc")]
        FileFormat::Orc => {
            let options = match options {
                Some(FileParserOptions::Orc(o)) => o,
                _ => OrcOptions::default(),
            };
            Ok(Box::new(orc::open(path, options)?))
        }
        #[allow(unreachable_patterns)]
        disabled => Err(Error::new(
            ErrorKind::FormatDisabled,
            path,
            format!(
                "support for {disabled} files is not compiled in; enable the `{}` feature of influxdb3-ingest",
                match disabled {
                    FileFormat::Feather => "ipc",
                    other => other.name(),
                }
            ),
        )
        .with_format(disabled)),
    }
}
