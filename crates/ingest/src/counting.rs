//! Counting the bytes a reader takes from a file, for [`Progress`](crate::Progress).

use std::io::{self, Read, Seek, SeekFrom};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

/// A shared count of bytes read; cloned into readers that the format libraries own.
#[derive(Debug, Clone, Default)]
pub(crate) struct ByteCounter(Arc<AtomicU64>);

impl ByteCounter {
    pub(crate) fn add(&self, n: u64) {
        self.0.fetch_add(n, Ordering::Relaxed);
    }

    pub(crate) fn get(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }

    /// Starts counting again, after schema inference read the start of a file that is now
    /// read again from the top.
    #[cfg(any(feature = "csv", feature = "json"))]
    pub(crate) fn reset(&self) {
        self.0.store(0, Ordering::Relaxed);
    }
}

/// A reader that adds every byte it reads to a [`ByteCounter`].
#[derive(Debug)]
pub(crate) struct CountingReader<R> {
    inner: R,
    counter: ByteCounter,
}

impl<R> CountingReader<R> {
    pub(crate) fn new(inner: R, counter: ByteCounter) -> Self {
        CountingReader { inner, counter }
    }
}

impl<R: Read> Read for CountingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.counter.add(n as u64);
        Ok(n)
    }
}

impl<R: Seek> Seek for CountingReader<R> {
    fn seek(&mut self, pos: SeekFrom) -> io::Result<u64> {
        self.inner.seek(pos)
    }
}

/// A file read at offsets (parquet's and ORC's `ChunkReader`), counting the bytes read.
///
/// Ranges past the end of the file are refused before anything is allocated, so a corrupt
/// length in a footer cannot make us allocate gigabytes.
#[cfg(any(feature = "parquet", feature = "orc"))]
#[derive(Debug)]
pub(crate) struct CountingFile {
    file: std::fs::File,
    len: u64,
    counter: ByteCounter,
}

#[cfg(any(feature = "parquet", feature = "orc"))]
impl CountingFile {
    pub(crate) fn new(file: std::fs::File, len: u64, counter: ByteCounter) -> Self {
        CountingFile { file, len, counter }
    }

    fn reader_at(&self, start: u64) -> io::Result<io::BufReader<CountingReader<std::fs::File>>> {
        let mut file = self.file.try_clone()?;
        file.seek(SeekFrom::Start(start))?;
        Ok(io::BufReader::new(CountingReader::new(
            file,
            self.counter.clone(),
        )))
    }

    fn bytes_at(&self, start: u64, length: u64) -> io::Result<Vec<u8>> {
        let end = start.checked_add(length).filter(|end| *end <= self.len);
        if end.is_none() {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                format!(
                    "range of {length} bytes at offset {start} is past the end of the file ({} bytes)",
                    self.len
                ),
            ));
        }
        let mut file = self.file.try_clone()?;
        file.seek(SeekFrom::Start(start))?;
        let mut buffer = Vec::with_capacity(length as usize);
        file.take(length).read_to_end(&mut buffer)?;
        self.counter.add(buffer.len() as u64);
        if buffer.len() as u64 != length {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                format!(
                    "expected {length} bytes at offset {start}, read only {}",
                    buffer.len()
                ),
            ));
        }
        Ok(buffer)
    }
}

#[cfg(feature = "parquet")]
impl parquet::file::reader::Length for CountingFile {
    fn len(&self) -> u64 {
        self.len
    }
}

#[cfg(feature = "parquet")]
impl parquet::file::reader::ChunkReader for CountingFile {
    type T = io::BufReader<CountingReader<std::fs::File>>;

    fn get_read(&self, start: u64) -> parquet::errors::Result<Self::T> {
        Ok(self.reader_at(start)?)
    }

    fn get_bytes(&self, start: u64, length: usize) -> parquet::errors::Result<bytes::Bytes> {
        Ok(self.bytes_at(start, length as u64)?.into())
    }
}

#[cfg(feature = "orc")]
impl orc_rust::reader::ChunkReader for CountingFile {
    type T = io::BufReader<CountingReader<std::fs::File>>;

    fn len(&self) -> u64 {
        self.len
    }

    fn get_read(&self, offset_from_start: u64) -> io::Result<Self::T> {
        self.reader_at(offset_from_start)
    }

    fn get_bytes(&self, offset_from_start: u64, length: u64) -> io::Result<bytes::Bytes> {
        Ok(self.bytes_at(offset_from_start, length)?.into())
    }
}
