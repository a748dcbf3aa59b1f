//! What every format shares: the opened file ([`SourceFile`]) and the [`BatchSource`] built
//! on a format's reader ([`FileSource`]). Each format module only validates its options and
//! builds its reader.

use std::fs::File;
use std::io::BufReader;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow_array::RecordBatch;
use arrow_schema::{ArrowError, Schema, SchemaRef};

use crate::counting::{ByteCounter, CountingReader};
use crate::{BatchSource, Error, ErrorKind, FileFormat, Progress};

/// A file opened for reading as one format: what errors name (path, format) and what
/// [`Progress`] counts (bytes read, file size).
#[derive(Debug)]
pub(crate) struct SourceFile {
    path: PathBuf,
    format: FileFormat,
    counter: ByteCounter,
    total_bytes: u64,
}

impl SourceFile {
    /// Checks the batch size (when the format has one), then opens the file and reads its
    /// size. The open file is handed back to be wrapped by [`buffered`](Self::buffered) or
    /// [`chunks`](Self::chunks), so that every byte read is counted.
    pub(crate) fn open(
        path: &Path,
        format: FileFormat,
        batch_size: Option<usize>,
    ) -> Result<(SourceFile, File), Error> {
        if batch_size == Some(0) {
            return Err(Error::new(
                ErrorKind::InvalidOptions,
                path,
                "batch size must not be zero",
            )
            .with_format(format));
        }
        let file = File::open(path).map_err(|e| Error::io(format, path, "cannot open", e))?;
        let total_bytes = file
            .metadata()
            .map_err(|e| Error::io(format, path, "cannot read file metadata", e))?
            .len();
        let source = SourceFile {
            path: path.to_path_buf(),
            format,
            counter: ByteCounter::default(),
            total_bytes,
        };
        Ok((source, file))
    }

    /// The file's size in bytes when it was opened.
    #[cfg(feature = "ipc")]
    pub(crate) fn total_bytes(&self) -> u64 {
        self.total_bytes
    }

    /// The file read sequentially through a buffer, counting bytes.
    pub(crate) fn buffered(&self, file: File) -> BufReader<CountingReader<File>> {
        BufReader::new(CountingReader::new(file, self.counter.clone()))
    }

    /// The file read at offsets (parquet's and ORC's chunk readers), counting bytes.
    #[cfg(any(feature = "parquet", feature = "orc"))]
    pub(crate) fn chunks(&self, file: File) -> crate::counting::CountingFile {
        crate::counting::CountingFile::new(file, self.total_bytes, self.counter.clone())
    }

    /// Forgets the bytes read so far: schema inference read the start of the file, which is
    /// now read again from the top.
    #[cfg(any(feature = "csv", feature = "json"))]
    pub(crate) fn restart_count(&self) {
        self.counter.reset();
    }

    /// An error of this kind about this file.
    pub(crate) fn error(&self, kind: ErrorKind, message: impl Into<String>) -> Error {
        Error::new(kind, &self.path, message).with_format(self.format)
    }

    /// An I/O error on this file, saying what was being done.
    pub(crate) fn io_error(&self, what: &str, err: std::io::Error) -> Error {
        Error::io(self.format, &self.path, what, err)
    }

    /// An error from an Arrow reader of this file (see [`Error::arrow`]).
    pub(crate) fn arrow_error(&self, err: ArrowError) -> Error {
        Error::arrow(self.format, &self.path, err)
    }

    /// Looks up projected column names in a schema; the indices come sorted (file order).
    ///
    /// An unknown name is an [`ErrorKind::Schema`] error listing the columns the file has.
    pub(crate) fn projection_indices(
        &self,
        schema: &Schema,
        names: &[String],
    ) -> Result<Vec<usize>, Error> {
        let mut indices = names
            .iter()
            .map(|name| {
                schema.index_of(name).map_err(|_| {
                    let available: Vec<&str> =
                        schema.fields().iter().map(|f| f.name().as_str()).collect();
                    self.error(
                        ErrorKind::Schema,
                        format!(
                            "projected column `{name}` is not in the file; its columns are {}",
                            available.join(", ")
                        ),
                    )
                    .with_column(name.clone())
                })
            })
            .collect::<Result<Vec<usize>, Error>>()?;
        indices.sort_unstable();
        indices.dedup();
        Ok(indices)
    }

    /// The projected schema and the indices of the projected columns (file order), or the
    /// schema unchanged without a projection. An unknown column is an [`ErrorKind::Schema`]
    /// error listing the file's columns.
    pub(crate) fn project(
        &self,
        schema: &SchemaRef,
        columns: Option<&[String]>,
    ) -> Result<(SchemaRef, Option<Vec<usize>>), Error> {
        let Some(columns) = columns else {
            return Ok((schema.clone(), None));
        };
        let indices = self.projection_indices(schema, columns)?;
        let projected = schema.project(&indices).map_err(|e| self.arrow_error(e))?;
        Ok((Arc::new(projected), Some(indices)))
    }
}

/// A format's reader of batches, driven by [`FileSource`].
pub(crate) trait BatchReader: Send {
    /// The next batch, or `None` at the end. `rows_read` rows were returned before it, so
    /// that errors can name the row.
    fn read_batch(
        &mut self,
        file: &SourceFile,
        rows_read: u64,
    ) -> Result<Option<RecordBatch>, Error>;
}

/// Arrow's readers (IPC, parquet, ORC): an error is located at the first row of the batch
/// that failed.
impl<I> BatchReader for I
where
    I: Iterator<Item = Result<RecordBatch, ArrowError>> + Send,
{
    fn read_batch(
        &mut self,
        file: &SourceFile,
        rows_read: u64,
    ) -> Result<Option<RecordBatch>, Error> {
        self.next()
            .transpose()
            .map_err(|err| file.arrow_error(err).with_row(rows_read + 1))
    }
}

/// A file read by a format's [`BatchReader`] as a [`BatchSource`]: counts rows and bytes, and
/// refuses to read on after an error.
pub(crate) struct FileSource<R> {
    file: SourceFile,
    reader: R,
    schema: SchemaRef,
    total_rows: Option<u64>,
    rows_read: u64,
    failed: Option<ErrorKind>,
}

impl<R: BatchReader> FileSource<R> {
    /// A source whose batches all have `schema`; `total_rows` when the file's metadata
    /// records it.
    pub(crate) fn new(
        file: SourceFile,
        reader: R,
        schema: SchemaRef,
        total_rows: Option<u64>,
    ) -> Self {
        FileSource {
            file,
            reader,
            schema,
            total_rows,
            rows_read: 0,
            failed: None,
        }
    }
}

impl<R: BatchReader> BatchSource for FileSource<R> {
    fn schema(&self) -> SchemaRef {
        self.schema.clone()
    }

    fn next_batch(&mut self) -> Result<Option<RecordBatch>, Error> {
        if let Some(kind) = self.failed {
            return Err(self
                .file
                .error(kind, "reading stopped at an earlier error")
                .with_row(self.rows_read + 1));
        }
        // The last line of defence: a reader that panics on a malformed file gives an error
        // naming the file, format and row, and the source stops.
        let read = influxdb3_ipc_guard::contain("reading a batch", || {
            self.reader.read_batch(&self.file, self.rows_read)
        })
        .unwrap_or_else(|panic| {
            Err(self
                .file
                .error(self.file.format.malformed_kind(), panic.to_string())
                .with_row(self.rows_read + 1))
        });
        match read {
            Ok(Some(batch)) => {
                self.rows_read += batch.num_rows() as u64;
                Ok(Some(batch))
            }
            Ok(None) => Ok(None),
            Err(err) => {
                self.failed = Some(err.kind());
                Err(err)
            }
        }
    }

    fn progress(&self) -> Progress {
        Progress {
            rows_read: self.rows_read,
            bytes_read: self.file.counter.get(),
            total_bytes: Some(self.file.total_bytes),
            total_rows: self.total_rows,
        }
    }
}
