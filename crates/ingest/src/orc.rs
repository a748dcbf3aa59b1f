//! ORC files, read stripe by stripe with orc-rust's synchronous `ArrowReader`.

use std::path::Path;

use arrow_array::{RecordBatch, RecordBatchReader};
use arrow_schema::ArrowError;
use orc_rust::ArrowReaderBuilder;
use orc_rust::projection::ProjectionMask;

use crate::source::{FileSource, SourceFile};
use crate::{DEFAULT_BATCH_SIZE, Error, ErrorKind, FileFormat};

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

    setter!(batch_size);

    setter! {
        /// Reads only these top-level columns; they come in the file's column order.
        projection
    }
}

const FORMAT: FileFormat = FileFormat::Orc;

/// Opens an ORC file as a [`BatchSource`](crate::BatchSource).
pub(crate) fn open(
    path: &Path,
    options: OrcOptions,
) -> Result<FileSource<impl Iterator<Item = Result<RecordBatch, ArrowError>> + Send + use<>>, Error>
{
    let (file, handle) = SourceFile::open(path, FORMAT, Some(options.batch_size))?;
    let mut builder = ArrowReaderBuilder::try_new(file.chunks(handle))
        .map_err(|e| file.error(ErrorKind::Corrupt, e.to_string()).with_source(e))?
        .with_batch_size(options.batch_size);
    if let Some(columns) = &options.projection {
        let schema = builder.schema();
        let indices = file.projection_indices(&schema, columns)?;
        let names: Vec<&str> = indices
            .iter()
            .map(|&i| schema.field(i).name().as_str())
            .collect();
        let mask = ProjectionMask::named_roots(builder.file_metadata().root_data_type(), &names);
        builder = builder.with_projection(mask);
    }
    let reader = builder.build();
    let schema = reader.schema();
    let total_rows = reader.total_row_count();
    // orc-rust derives each batch's nullability from its data; give every batch the source's
    // schema, as the trait promises.
    let batch_schema = schema.clone();
    let reader = reader.map(move |batch| {
        batch.and_then(|batch| RecordBatch::try_new(batch_schema.clone(), batch.columns().to_vec()))
    });
    Ok(FileSource::new(file, reader, schema, Some(total_rows)))
}
