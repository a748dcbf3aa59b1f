//! Feather v2 / Arrow IPC files (uncompressed, lz4 or zstd), read batch by batch.

use std::fs::File;
use std::io::BufReader;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow_array::RecordBatch;
use arrow_ipc::reader::FileReader;
use arrow_schema::SchemaRef;

use crate::counting::{ByteCounter, CountingReader};
use crate::{BatchSource, Error, FileFormat, Progress};

/// Options for feather / Arrow IPC files.
///
/// Batches come as they were written in the file (IPC has no re-batching on read).
///
/// ```
/// use influxdb3_ingest::FeatherOptions;
///
/// let options = FeatherOptions::new().projection(["time", "room", "co"]);
/// ```
#[derive(Debug, Clone, Default)]
pub struct FeatherOptions {
    projection: Option<Vec<String>>,
}

impl FeatherOptions {
    /// The defaults: all columns.
    pub fn new() -> Self {
        Self::default()
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

type Reader = FileReader<BufReader<CountingReader<File>>>;

/// A feather / Arrow IPC file as a [`BatchSource`].
pub(crate) struct FeatherSource {
    path: PathBuf,
    reader: Reader,
    schema: SchemaRef,
    counter: ByteCounter,
    total_bytes: u64,
    rows_read: u64,
}

const FORMAT: FileFormat = FileFormat::Feather;

fn open_reader(
    path: &Path,
    counter: &ByteCounter,
    projection: Option<Vec<usize>>,
) -> Result<(Reader, u64), Error> {
    let file = File::open(path).map_err(|e| Error::io(FORMAT, path, "cannot open", e))?;
    let total_bytes = file
        .metadata()
        .map_err(|e| Error::io(FORMAT, path, "cannot read file metadata", e))?
        .len();
    let reader = BufReader::new(CountingReader::new(file, counter.clone()));
    let reader =
        FileReader::try_new(reader, projection).map_err(|e| Error::arrow(FORMAT, path, e))?;
    Ok((reader, total_bytes))
}

impl FeatherSource {
    pub(crate) fn open(path: &Path, options: FeatherOptions) -> Result<Self, Error> {
        let counter = ByteCounter::default();
        let (mut reader, mut total_bytes) = open_reader(path, &counter, None)?;
        let mut schema = reader.schema();
        if let Some(columns) = &options.projection {
            // The footer is small: read it again with the projection so that unread
            // columns are never decoded.
            let indices = crate::projection_indices(&schema, columns, path, FORMAT)?;
            schema = Arc::new(
                schema
                    .project(&indices)
                    .map_err(|e| Error::arrow(FORMAT, path, e))?,
            );
            (reader, total_bytes) = open_reader(path, &counter, Some(indices))?;
        }
        Ok(FeatherSource {
            path: path.to_path_buf(),
            reader,
            schema,
            counter,
            total_bytes,
            rows_read: 0,
        })
    }
}

impl BatchSource for FeatherSource {
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
            total_rows: None,
        }
    }
}
