//! Parquet files, read row group by row group with `ParquetRecordBatchReader`.

use std::fs::File;
use std::path::{Path, PathBuf};

use arrow_array::{RecordBatch, RecordBatchReader};
use arrow_schema::SchemaRef;
use parquet::arrow::ProjectionMask;
use parquet::arrow::arrow_reader::{ParquetRecordBatchReader, ParquetRecordBatchReaderBuilder};
use parquet::errors::ParquetError;

use crate::counting::{ByteCounter, CountingFile};
use crate::{BatchSource, DEFAULT_BATCH_SIZE, Error, ErrorKind, FileFormat, Progress};

/// Options for parquet files.
///
/// ```
/// use influxdb3_ingest::ParquetOptions;
///
/// let options = ParquetOptions::new().batch_size(4096).projection(["time", "room", "temp"]);
/// ```
#[derive(Debug, Clone)]
pub struct ParquetOptions {
    batch_size: usize,
    projection: Option<Vec<String>>,
}

impl Default for ParquetOptions {
    fn default() -> Self {
        ParquetOptions {
            batch_size: DEFAULT_BATCH_SIZE,
            projection: None,
        }
    }
}

impl ParquetOptions {
    /// The defaults: batches of [`DEFAULT_BATCH_SIZE`] rows, all columns.
    pub fn new() -> Self {
        Self::default()
    }

    /// The most rows per batch (default [`DEFAULT_BATCH_SIZE`]; must not be zero).
    pub fn batch_size(mut self, rows: usize) -> Self {
        self.batch_size = rows;
        self
    }

    /// Reads only these top-level columns; they come in the file's column order.
    pub fn projection<I, S>(mut self, columns: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.projection = Some(columns.into_iter().map(Into::into).collect());
        self
    }
}

/// A parquet file as a [`BatchSource`].
pub(crate) struct ParquetSource {
    path: PathBuf,
    reader: ParquetRecordBatchReader,
    schema: SchemaRef,
    counter: ByteCounter,
    total_bytes: u64,
    total_rows: u64,
    rows_read: u64,
}

const FORMAT: FileFormat = FileFormat::Parquet;

fn parquet_error(path: &Path, err: ParquetError) -> Error {
    let kind = match &err {
        ParquetError::External(e) if e.is::<std::io::Error>() => ErrorKind::Io,
        _ => ErrorKind::Corrupt,
    };
    Error::new(kind, path, err.to_string())
        .with_format(FORMAT)
        .with_source(err)
}

impl ParquetSource {
    pub(crate) fn open(path: &Path, options: ParquetOptions) -> Result<Self, Error> {
        if options.batch_size == 0 {
            return Err(Error::new(
                ErrorKind::InvalidOptions,
                path,
                "batch size must not be zero",
            )
            .with_format(FORMAT));
        }
        let file = File::open(path).map_err(|e| Error::io(FORMAT, path, "cannot open", e))?;
        let total_bytes = file
            .metadata()
            .map_err(|e| Error::io(FORMAT, path, "cannot read file metadata", e))?
            .len();
        let counter = ByteCounter::default();
        let chunks = CountingFile::new(file, total_bytes, counter.clone());
        let mut builder = ParquetRecordBatchReaderBuilder::try_new(chunks)
            .map_err(|e| parquet_error(path, e))?
            .with_batch_size(options.batch_size);
        let total_rows = u64::try_from(builder.metadata().file_metadata().num_rows()).unwrap_or(0);
        if let Some(columns) = &options.projection {
            let indices = crate::projection_indices(builder.schema(), columns, path, FORMAT)?;
            let mask = ProjectionMask::roots(builder.parquet_schema(), indices);
            builder = builder.with_projection(mask);
        }
        let reader = builder.build().map_err(|e| parquet_error(path, e))?;
        let schema = reader.schema();
        Ok(ParquetSource {
            path: path.to_path_buf(),
            reader,
            schema,
            counter,
            total_bytes,
            total_rows,
            rows_read: 0,
        })
    }
}

impl BatchSource for ParquetSource {
    fn schema(&self) -> SchemaRef {
        self.schema.clone()
    }

    fn next_batch(&mut self) -> Result<Option<RecordBatch>, Error> {
        match self.reader.next() {
            None => Ok(None),
            Some(Ok(batch)) => {
                self.rows_read += batch.num_rows() as u64;
                Ok(Some(batch))
            }
            Some(Err(err)) => {
                Err(Error::arrow(FORMAT, &self.path, err).with_row(self.rows_read + 1))
            }
        }
    }

    fn progress(&self) -> Progress {
        Progress {
            rows_read: self.rows_read,
            bytes_read: self.counter.get(),
            total_bytes: Some(self.total_bytes),
            total_rows: Some(self.total_rows),
        }
    }
}
