//! Parquet files, read row group by row group with `ParquetRecordBatchReader`.

use std::path::Path;

use arrow_array::RecordBatchReader;
use parquet::arrow::ProjectionMask;
use parquet::arrow::arrow_reader::{ParquetRecordBatchReader, ParquetRecordBatchReaderBuilder};
use parquet::errors::ParquetError;

use crate::source::{FileSource, SourceFile};
use crate::{DEFAULT_BATCH_SIZE, Error, ErrorKind, FileFormat};

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

    setter!(batch_size);

    setter! {
        /// Reads only these top-level columns; they come in the file's column order.
        projection
    }
}

const FORMAT: FileFormat = FileFormat::Parquet;

fn parquet_error(file: &SourceFile, err: ParquetError) -> Error {
    let kind = match &err {
        ParquetError::External(e) if e.is::<std::io::Error>() => ErrorKind::Io,
        _ => ErrorKind::Corrupt,
    };
    file.error(kind, err.to_string()).with_source(err)
}

/// Opens a parquet file as a [`BatchSource`](crate::BatchSource).
pub(crate) fn open(
    path: &Path,
    options: ParquetOptions,
) -> Result<FileSource<ParquetRecordBatchReader>, Error> {
    let (file, handle) = SourceFile::open(path, FORMAT, Some(options.batch_size))?;
    let mut builder = ParquetRecordBatchReaderBuilder::try_new(file.chunks(handle))
        .map_err(|e| parquet_error(&file, e))?
        .with_batch_size(options.batch_size);
    let total_rows = u64::try_from(builder.metadata().file_metadata().num_rows()).unwrap_or(0);
    if let Some(columns) = &options.projection {
        let indices = file.projection_indices(builder.schema(), columns)?;
        let mask = ProjectionMask::roots(builder.parquet_schema(), indices);
        builder = builder.with_projection(mask);
    }
    let reader = builder.build().map_err(|e| parquet_error(&file, e))?;
    let schema = reader.schema();
    Ok(FileSource::new(file, reader, schema, Some(total_rows)))
}
