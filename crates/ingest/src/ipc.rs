//! Feather v2 / Arrow IPC files (uncompressed, lz4 or zstd), read batch by batch.

use std::fs::File;
use std::io::{BufReader, Read, Seek, SeekFrom};
use std::path::Path;
use std::sync::Arc;

use arrow_array::RecordBatch;
use arrow_buffer::Buffer;
use arrow_ipc::Block;
use arrow_ipc::reader::{FileDecoder, read_footer_length};
use arrow_schema::{ArrowError, SchemaRef};
use influxdb3_ipc_guard::MessageGuard;

use crate::counting::CountingReader;
use crate::source::{FileSource, SourceFile};
use crate::{Error, ErrorKind, FileFormat};

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

/// The trailer of a feather file: footer length (4 bytes) and `ARROW1`.
const TRAILER: u64 = 10;
/// The leading magic `ARROW1` and its padding.
const LEADER: u64 = 8;

/// The record batches of a feather file, each message checked by a
/// [`MessageGuard`] before arrow-ipc decodes it.
///
/// arrow-ipc's own `FileReader` trusts what the file declares: a block or body length sizes an
/// allocation before anything is read, a forged uncompressed length of an lz4 buffer is passed
/// to `Vec::with_capacity` (a 2 KB file could abort the process), and a missing schema or a
/// buffer past the body panics. Here every length is checked against the file first.
pub(crate) struct IpcBatches {
    reader: BufReader<CountingReader<File>>,
    decoder: FileDecoder,
    guard: MessageGuard,
    blocks: std::vec::IntoIter<Block>,
}

impl IpcBatches {
    /// Reads and checks the footer; `columns` is the projection by name, resolved against
    /// the footer's schema.
    fn open(
        file: &SourceFile,
        mut reader: BufReader<CountingReader<File>>,
        columns: Option<&[String]>,
    ) -> Result<(Self, SchemaRef), Error> {
        let corrupt = |message: String| file.error(ErrorKind::Corrupt, message);
        let file_len = file.total_bytes();
        if file_len < LEADER + TRAILER {
            return Err(corrupt(format!(
                "the file is {file_len} bytes, too short to be a feather (Arrow IPC) file"
            )));
        }
        let mut trailer = [0u8; TRAILER as usize];
        read_at(&mut reader, file_len - TRAILER, &mut trailer)
            .map_err(|e| file.io_error("cannot read the footer", e))?;
        let footer_len = read_footer_length(trailer).map_err(|e| file.arrow_error(e))? as u64;
        let footer_start = match (file_len - TRAILER).checked_sub(footer_len) {
            Some(start) if start >= LEADER => start,
            _ => {
                return Err(corrupt(format!(
                    "the footer declares {footer_len} bytes, more than the file holds"
                )));
            }
        };
        let mut footer_bytes = vec![0u8; footer_len as usize];
        read_at(&mut reader, footer_start, &mut footer_bytes)
            .map_err(|e| file.io_error("cannot read the footer", e))?;
        let footer = arrow_ipc::root_as_footer(&footer_bytes)
            .map_err(|e| corrupt(format!("the footer is not valid: {e}")))?;
        let fb_schema = footer
            .schema()
            .ok_or_else(|| corrupt("the footer has no schema".to_owned()))?;
        let schema = Arc::new(
            influxdb3_ipc_guard::schema_of(fb_schema)
                .map_err(|e| corrupt(format!("the schema is not readable: {e}")))?,
        );
        let check_block = |block: &Block| -> Result<Block, Error> {
            let end = u64::try_from(block.offset())
                .ok()
                .zip(u64::try_from(block.metaDataLength()).ok())
                .zip(u64::try_from(block.bodyLength()).ok())
                .and_then(|((o, m), b)| o.checked_add(m)?.checked_add(b))
                .filter(|&end| end <= footer_start && block.metaDataLength() >= 8);
            match end {
                Some(_) => Ok(*block),
                None => Err(corrupt(format!(
                    "a block (offset {}, metadata {} bytes, body {} bytes) lies outside the file's {footer_start} bytes of data",
                    block.offset(),
                    block.metaDataLength(),
                    block.bodyLength()
                ))),
            }
        };
        let blocks = footer
            .recordBatches()
            .ok_or_else(|| corrupt("the footer lists no record batches".to_owned()))?
            .iter()
            .map(check_block)
            .collect::<Result<Vec<_>, _>>()?;
        let dictionaries = footer
            .dictionaries()
            .map(|d| d.iter().map(check_block).collect::<Result<Vec<_>, _>>())
            .transpose()?
            .unwrap_or_default();
        let mut decoder = FileDecoder::new(schema.clone(), footer.version());
        let (projected, indices) = file.project(&schema, columns)?;
        if let Some(indices) = indices {
            decoder = decoder.with_projection(indices);
        }
        let mut batches = IpcBatches {
            reader,
            decoder,
            guard: MessageGuard::with_schema(schema),
            blocks: blocks.into_iter(),
        };
        for block in dictionaries {
            let buffer = batches
                .read_block(&block)
                .map_err(|e| file.arrow_error(e))?;
            batches
                .decoder
                .read_dictionary(&block, &buffer)
                .map_err(|e| file.arrow_error(e))?;
        }
        Ok((batches, projected))
    }

    /// Reads one block (message and body), checked by the guard.
    fn read_block(&mut self, block: &Block) -> Result<Buffer, ArrowError> {
        // Lengths were checked against the file when the footer was read.
        let meta_len = block.metaDataLength() as usize;
        let mut bytes = vec![0u8; meta_len + block.bodyLength() as usize];
        read_at(&mut self.reader, block.offset() as u64, &mut bytes)?;
        let (header, body) = bytes.split_at(meta_len);
        // The encapsulated message: an optional continuation marker, the flatbuffer's
        // length, the flatbuffer.
        let (prefix, rest) = if header[..4] == [0xff; 4] {
            (&header[4..8], &header[8..])
        } else {
            (&header[..4], &header[4..])
        };
        let len = i32::from_le_bytes([prefix[0], prefix[1], prefix[2], prefix[3]]);
        let flatbuffer = usize::try_from(len)
            .ok()
            .and_then(|len| rest.get(..len))
            .ok_or_else(|| {
                ArrowError::IpcError(format!(
                    "a message declares {len} bytes of metadata; its block has {meta_len}"
                ))
            })?;
        self.guard
            .check(flatbuffer, body)
            .map_err(|e| ArrowError::IpcError(e.to_string()))?;
        Ok(Buffer::from_vec(bytes))
    }

    fn next_batch(&mut self) -> Result<Option<RecordBatch>, ArrowError> {
        while let Some(block) = self.blocks.next() {
            let buffer = self.read_block(&block)?;
            if let Some(batch) = self.decoder.read_record_batch(&block, &buffer)? {
                return Ok(Some(batch));
            }
        }
        Ok(None)
    }
}

impl Iterator for IpcBatches {
    type Item = Result<RecordBatch, ArrowError>;

    fn next(&mut self) -> Option<Self::Item> {
        self.next_batch().transpose()
    }
}

fn read_at(
    reader: &mut (impl Read + Seek),
    offset: u64,
    buf: &mut [u8],
) -> Result<(), std::io::Error> {
    reader.seek(SeekFrom::Start(offset))?;
    reader.read_exact(buf)
}

/// Opens a feather / Arrow IPC file as a [`BatchSource`](crate::BatchSource).
pub(crate) fn open(path: &Path, options: FeatherOptions) -> Result<FileSource<IpcBatches>, Error> {
    let (file, handle) = SourceFile::open(path, FORMAT, None)?;
    let reader = file.buffered(handle);
    let (batches, schema) = IpcBatches::open(&file, reader, options.projection.as_deref())?;
    Ok(FileSource::new(file, batches, schema, None))
}
