//! `write_file`: stream a feather, parquet, CSV, JSON or ORC file to the server.

use std::fmt;
use std::future::{Future, IntoFuture};
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::time::{Duration, Instant};

use influxdb3_ingest::{BatchSource, FileParserOptions};
use influxdb3_lp::{EncodeStats, Precision, RecordBatchLines, TableMapping};
use tokio::sync::mpsc;

use crate::options::WriteCall;
use crate::{Client, Error};

/// How far a [`write_file`](Client::write_file) has got, passed to the
/// [`progress`](WriteFile::progress) callback after each batch.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
#[non_exhaustive]
pub struct FileProgress {
    /// Rows read from the file so far.
    pub rows_read: u64,
    /// Bytes read from the file so far.
    pub bytes_read: u64,
    /// The file's size in bytes, when known.
    pub total_bytes: Option<u64>,
    /// The number of rows in the file, when its metadata says (parquet, ORC).
    pub total_rows: Option<u64>,
    /// Lines written (or queued, in batching mode) so far.
    pub lines_written: u64,
}

impl FileProgress {
    /// The fraction done, between 0 and 1: by rows when the total is known, else by bytes.
    ///
    /// ```
    /// let mut p = influxdb_client_3::FileProgress::default();
    /// p.bytes_read = 25;
    /// p.total_bytes = Some(100);
    /// assert_eq!(p.fraction(), Some(0.25));
    /// ```
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

/// What a [`write_file`](Client::write_file) did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct WriteReport {
    /// Rows read from the file.
    pub rows_read: u64,
    /// Lines written (in batching mode: handed to the writer).
    pub lines_written: u64,
    /// Rows not written because no field was left after leaving out nulls and NaN/±Inf
    /// (`encoded.skipped_records`).
    pub rows_skipped: u64,
    /// What the encoder left out: null or NaN fields, null or empty tags, skipped rows.
    pub encoded: EncodeStats,
    /// Bytes of line protocol (before compression).
    pub bytes: u64,
    /// HTTP requests made (0 in batching mode, where the writer sends).
    pub requests: u64,
    /// Time from the start of the read to the last write.
    pub elapsed: Duration,
    /// Whether the lines went to the batching writer rather than straight to the server.
    pub batched: bool,
}

type ProgressFn = Box<dyn FnMut(&FileProgress) + Send>;

/// A `write_file` call being configured; `.await` it to run it. Created by
/// [`Client::write_file`].
///
/// The file is read batch by batch on a blocking thread and each batch is encoded and
/// written before the next is held in memory (at most two batches are in flight), so files
/// much larger than memory can be written.
///
/// ```no_run
/// # async fn run(client: influxdb_client_3::Client) -> Result<(), influxdb_client_3::Error> {
/// use influxdb_client_3::Precision;
///
/// let report = client
///     .write_file("data/home-sensor-data.csv")
///     .measurement_name("home")
///     .tag_columns(["room"])
///     .timestamp_column("time")
///     .write_precision(Precision::Seconds)
///     .progress(|p| eprintln!("{:.0}%", 100.0 * p.fraction().unwrap_or(0.0)))
///     .await?;
/// println!("{} rows, {} lines, {} requests", report.rows_read, report.lines_written, report.requests);
/// # Ok(()) }
/// ```
#[must_use = "a WriteFile does nothing until it is awaited"]
pub struct WriteFile {
    client: Client,
    path: PathBuf,
    measurement: Option<String>,
    tag_columns: Vec<String>,
    timestamp_column: Option<String>,
    call: WriteCall,
    parser_options: Option<FileParserOptions>,
    progress: Option<ProgressFn>,
}

impl fmt::Debug for WriteFile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WriteFile")
            .field("path", &self.path)
            .field("measurement", &self.measurement)
            .field("tag_columns", &self.tag_columns)
            .field("timestamp_column", &self.timestamp_column)
            .field("call", &self.call)
            .field("parser_options", &self.parser_options)
            .finish_non_exhaustive()
    }
}

impl Client {
    /// Writes the rows of a file (Python's `write_file`): `.feather`, `.parquet`, `.csv`,
    /// `.json` or `.orc`, chosen by extension. Configure the returned [`WriteFile`] and
    /// `.await` it for a [`WriteReport`].
    pub fn write_file(&self, path: impl AsRef<Path>) -> WriteFile {
        WriteFile {
            client: self.clone(),
            path: path.as_ref().to_owned(),
            measurement: None,
            tag_columns: Vec::new(),
            timestamp_column: None,
            call: WriteCall::new(),
            parser_options: None,
            progress: None,
        }
    }
}

impl WriteFile {
    /// The measurement of every row. Without it, the `measurement` column is used, else the
    /// `iox::measurement` column.
    pub fn measurement_name(mut self, name: impl Into<String>) -> Self {
        self.measurement = Some(name.into());
        self
    }

    /// The columns written as tags; every other column (except the timestamp and
    /// measurement columns) is a field.
    pub fn tag_columns<I, S>(mut self, columns: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.tag_columns = columns.into_iter().map(Into::into).collect();
        self
    }

    /// The timestamp column (default `time`): an Arrow timestamp of any unit, or integers in
    /// the [`write_precision`](Self::write_precision).
    pub fn timestamp_column(mut self, name: impl Into<String>) -> Self {
        self.timestamp_column = Some(name.into());
        self
    }

    /// Writes to this database instead of the client's.
    pub fn database(mut self, database: impl Into<String>) -> Self {
        self.call = self.call.database(database);
        self
    }

    /// The precision of the timestamps written, and of integer timestamp columns.
    pub fn write_precision(mut self, precision: Precision) -> Self {
        self.call = self.call.precision(precision);
        self
    }

    /// Options for the file's parser (delimiter, schema inference, projection, ...).
    pub fn file_parser_options(mut self, options: impl Into<FileParserOptions>) -> Self {
        self.parser_options = Some(options.into());
        self
    }

    /// Called after each batch of rows is written, with how far the file has got.
    pub fn progress(mut self, callback: impl FnMut(&FileProgress) + Send + 'static) -> Self {
        self.progress = Some(Box::new(callback));
        self
    }

    async fn run(mut self) -> Result<WriteReport, Error> {
        let started = Instant::now();
        let client = self.client.clone();
        let params = client.params(&self.call)?;
        let mut mapping = TableMapping::new()
            .tag_columns(self.tag_columns.clone())
            .integer_timestamp_precision(params.precision);
        if let Some(m) = &self.measurement {
            mapping = mapping.measurement(m.as_str());
        }
        if let Some(t) = &self.timestamp_column {
            mapping = mapping.timestamp_column(t.as_str());
        }
        let encoder = client.encoder(&params, &self.call);
        let path = self.path.clone();
        let options = self.parser_options.take();

        // The reader thread: read a batch, encode it, hand it over; at most 2 in the channel.
        let (tx, mut rx) = mpsc::channel::<Result<Chunk, Error>>(2);
        let reader_path = path.clone();
        let reader = tokio::task::spawn_blocking(move || {
            let mut source: Box<dyn BatchSource> =
                match influxdb3_ingest::open(&reader_path, options) {
                    Ok(s) => s,
                    Err(e) => {
                        let _ = tx.blocking_send(Err(e.into()));
                        return;
                    }
                };
            let mut encoder = encoder;
            let mut rows: u64 = 0;
            loop {
                let batch = match source.next_batch() {
                    Ok(Some(b)) => b,
                    Ok(None) => return,
                    Err(e) => {
                        let _ = tx.blocking_send(Err(e.into()));
                        return;
                    }
                };
                let lines = RecordBatchLines::new(&batch, &mapping).row_offset(rows);
                let before = encoder.stats();
                let chunk = match encoder.encode(&lines) {
                    Ok(()) => {
                        rows += batch.num_rows() as u64;
                        let p = source.progress();
                        Ok(Chunk {
                            lines: encoder.take_encoded(),
                            rows: batch.num_rows() as u64,
                            stats: diff(encoder.stats(), before),
                            progress: FileProgress {
                                rows_read: p.rows_read,
                                bytes_read: p.bytes_read,
                                total_bytes: p.total_bytes,
                                total_rows: p.total_rows,
                                lines_written: 0,
                            },
                        })
                    }
                    Err(e) => Err(Error::Encode(e)),
                };
                let failed = chunk.is_err();
                // The receiver is gone when the writing side failed or was dropped.
                if tx.blocking_send(chunk).is_err() || failed {
                    return;
                }
            }
        });

        let mut report = WriteReport {
            batched: client.is_batching(),
            ..WriteReport::default()
        };
        let mut rows_written: u64 = 0;
        let fail = |source: Error, rows_written: u64, lines_written: u64| Error::WriteFile {
            path: path.clone(),
            rows_written,
            lines_written,
            source: Box::new(source),
        };
        while let Some(chunk) = rx.recv().await {
            let chunk = match chunk {
                Ok(c) => c,
                Err(e) => return Err(fail(e, rows_written, report.lines_written)),
            };
            report.rows_read += chunk.rows;
            add(&mut report.encoded, chunk.stats);
            let encoded = crate::client::Encoded {
                params: params.clone(),
                lines: chunk.lines,
                stats: chunk.stats,
            };
            match client.send(encoded).await {
                Ok(result) => {
                    report.requests += result.requests as u64;
                    report.bytes += result.bytes as u64;
                    report.lines_written += result.lines;
                    rows_written += chunk.rows;
                }
                Err(e) => return Err(fail(e, rows_written, report.lines_written)),
            }
            if let Some(progress) = &mut self.progress {
                let mut p = chunk.progress;
                p.lines_written = report.lines_written;
                progress(&p);
            }
        }
        if let Err(e) = reader.await {
            return Err(fail(
                Error::config(format!("the file reader thread failed: {e}")),
                rows_written,
                report.lines_written,
            ));
        }
        report.rows_skipped = report.encoded.skipped_records;
        report.elapsed = started.elapsed();
        Ok(report)
    }
}

impl IntoFuture for WriteFile {
    type Output = Result<WriteReport, Error>;
    type IntoFuture = Pin<Box<dyn Future<Output = Self::Output> + Send>>;

    fn into_future(self) -> Self::IntoFuture {
        Box::pin(self.run())
    }
}

/// One encoded batch of the file.
struct Chunk {
    lines: influxdb3_lp::Encoded,
    rows: u64,
    stats: EncodeStats,
    progress: FileProgress,
}

fn diff(after: EncodeStats, before: EncodeStats) -> EncodeStats {
    EncodeStats {
        lines: after.lines - before.lines,
        skipped_records: after.skipped_records - before.skipped_records,
        dropped_fields: after.dropped_fields - before.dropped_fields,
        dropped_tags: after.dropped_tags - before.dropped_tags,
    }
}

fn add(total: &mut EncodeStats, more: EncodeStats) {
    total.lines += more.lines;
    total.skipped_records += more.skipped_records;
    total.dropped_fields += more.dropped_fields;
    total.dropped_tags += more.dropped_tags;
}
