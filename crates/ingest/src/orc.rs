//! ORC files, read stripe by stripe with orc-rust's synchronous `ArrowReader`.

use std::fs::File;
use std::path::{Path, PathBuf};

use arrow_array::{RecordBatch, RecordBatchReader};
use arrow_schema::SchemaRef;
use orc_rust::projection::ProjectionMask;
use orc_rust::{ArrowReader, ArrowReaderBuilder};

use crate::counting::{ByteCounter, CountingFile};
use crate::{BatchSource, DEFAULT_BATCH_SIZE, Error, ErrorKind, FileFormat, Progress};

/// Options for ORC files.
///
/// ```
/// use influxdb3_ingest::OrcOptions;
///
/// let options = OrcOptions::new().batch_size(4096).projection(["time", "room", "hum"]);
/// ```
#[derive(Debug, Clone)]
pub struct OrcOptions {
    batch_size: usize,
    projection: Option<Vec<String>>,
}

impl Default for OrcOptions {
    fn default() -> Self {
        OrcOptions {
            batch_size: DEFAULT_BATCH_SIZE,
            projection: None,
        }
    }
}

impl OrcOptions {
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

/// An ORC file as a [`BatchSource`].
pub(crate) struct OrcSource {
    path: PathBuf,
    reader: ArrowReader<CountingFile>,
    schema: SchemaRef,
    counter: ByteCounter,
    total_bytes: u64,
    rows_read: u64,
}

const FORMAT: FileFormat = FileFormat::Orc;

impl OrcSource {
    pub(crate) fn open(path: &Path, options: OrcOptions) -> Result<Self, Error> {
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
        let mut builder = ArrowReaderBuilder::try_new(chunks)
            .map_err(|e| {
                Error::new(ErrorKind::Corrupt, path, e.to_string())
                    .with_format(FORMAT)
                    .with_source(e)
            })?
            .with_batch_size(options.batch_size);
        if let Some(columns) = &options.projection {
            let schema = builder.schema();
            let indices = crate::projection_indices(&schema, columns, path, FORMAT)?;
            let names: Vec<&str> = indices
                .iter()
                .map(|&i| schema.field(i).name().as_str())
                .collect();
            let mask =
                ProjectionMask::named_roots(builder.file_metadata().root_data_type(), &names);
            builder = builder.with_projection(mask);
        }
        let reader = builder.build();
        let schema = reader.schema();
        Ok(OrcSource {
            path: path.to_path_buf(),
            reader,
            schema,
            counter,
            total_bytes,
            rows_read: 0,
        })
    }
}

impl BatchSource for OrcSource {
    fn schema(&self) -> SchemaRef {
        self.schema.clone()
    }

    fn next_batch(&mut self) -> Result<Option<RecordBatch>, Error> {
        match self.reader.next() {
            None => Ok(None),
            Some(Ok(batch)) => {
                // orc-rust derives each batch's nullability from its data; give every batch
                // the source's schema, as the trait promises.
                let batch = RecordBatch::try_new(self.schema.clone(), batch.columns().to_vec())
                    .map_err(|e| {
                        Error::arrow(FORMAT, &self.path, e).with_row(self.rows_read + 1)
                    })?;
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
            total_rows: Some(self.reader.total_row_count()),
        }
    }
}
