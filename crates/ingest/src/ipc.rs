//! Feather v2 / Arrow IPC files (uncompressed, lz4 or zstd), read batch by batch.

use std::fs::File;
use std::io::BufReader;
use std::path::Path;

use arrow_ipc::reader::FileReader;

use crate::counting::CountingReader;
use crate::source::{FileSource, SourceFile};
use crate::{Error, FileFormat};

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

    setter! {
        /// Reads only these top-level columns; they come in the file's column order.
        projection
    }
}

const FORMAT: FileFormat = FileFormat::Feather;

/// Opens a feather / Arrow IPC file as a [`BatchSource`](crate::BatchSource).
pub(crate) fn open(
    path: &Path,
    options: FeatherOptions,
) -> Result<FileSource<FileReader<BufReader<CountingReader<File>>>>, Error> {
    let (file, handle) = SourceFile::open(path, FORMAT, None)?;
    let reader =
        FileReader::try_new(file.buffered(handle), None).map_err(|e| file.arrow_error(e))?;
    let (schema, indices) = file.project(&reader.schema(), options.projection.as_deref())?;
    let reader = match indices {
        None => reader,
        // The footer is small: read it again with the projection so that unread columns are
        // never decoded.
        Some(indices) => {
            let handle = File::open(path).map_err(|e| file.io_error("cannot open", e))?;
            FileReader::try_new(file.buffered(handle), Some(indices))
                .map_err(|e| file.arrow_error(e))?
        }
    };
    Ok(FileSource::new(file, reader, schema, None))
}
