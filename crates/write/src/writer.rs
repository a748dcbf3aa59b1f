//! The batching [`Writer`]: a background task that batches lines per target, sends them
//! with retries, reports every outcome to a [`WriteObserver`] and bounds its memory.

use std::collections::{BTreeSet, HashMap, VecDeque};
use std::fmt;
use std::marker::PhantomData;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use influxdb3_lp::{Encoded, LineEncoder, ToLineProtocol};
use rand::SeedableRng;
use rand::rngs::SmallRng;
use tokio::sync::{Semaphore, SemaphorePermit, mpsc, oneshot, watch};
use tokio::task::{Id, JoinSet};
use tokio::time::Instant;

use crate::options::{RetryPolicy, random_up_to};
use crate::{
    BatchContext, Error, ErrorKind, HttpTransport, LineError, WriteObserver, WriteOptions,
    WriteParams, WriteTransport, lines,
};

/// Totals of a [`Writer`] since it was created, returned by [`Writer::flush`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct FlushSummary {
    /// Lines the server accepted (handed to `on_success`).
    pub accepted_lines: u64,
    /// Lines handed to `on_error`.
    pub failed_lines: u64,
}

/// What became of everything written to a [`Writer`], returned by [`Writer::close`].
///
/// `accepted_lines + failed_lines` is every line the writer took.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct CloseSummary {
    /// Lines the server accepted (handed to `on_success`).
    pub accepted_lines: u64,
    /// Lines handed to `on_error`, including `abandoned_lines`.
    pub failed_lines: u64,
    /// Of `failed_lines`: lines still undelivered when `max_close_wait` ran out.
    pub abandoned_lines: u64,
}

enum Command {
    Write {
        params: WriteParams,
        data: Bytes,
        lines: usize,
    },
    Flush(oneshot::Sender<FlushSummary>),
    Close(oneshot::Sender<CloseSummary>),
    /// A `try_write` found the buffer full: if nothing is in flight, send the fullest group
    /// now rather than when it is due, since nothing else would free the room.
    NeedRoom,
    /// A `write` started waiting for room: look again at [`Shared::starved`].
    Wake,
}

/// The bounds on what the writer holds, shared by the handles and the background task.
struct Shared {
    lines: Semaphore,
    bytes: Semaphore,
    max_lines: usize,
    max_bytes: usize,
    /// Calls of [`Writer::write`] waiting for room.
    waiting: AtomicUsize,
    /// The most lines and bytes one of them waits for (reset when none waits). When nothing
    /// is in flight and the room they need is not there, no request would ever free it: the
    /// background task then sends its fullest group without waiting for it to be due.
    need_lines: AtomicUsize,
    need_bytes: AtomicUsize,
}

impl Shared {
    /// Whether a caller waits for room that only a request can free.
    fn starved(&self) -> bool {
        self.waiting.load(Ordering::SeqCst) > 0
            && (self.lines.available_permits() < self.need_lines.load(Ordering::SeqCst)
                || self.bytes.available_permits() < self.need_bytes.load(Ordering::SeqCst))
    }
}

/// Counts one caller in [`Shared::waiting`] until dropped (also when the `write` future
/// is dropped while waiting).
struct WaitingForRoom<'a>(&'a Shared);

impl Drop for WaitingForRoom<'_> {
    fn drop(&mut self) {
        if self.0.waiting.fetch_sub(1, Ordering::SeqCst) == 1 {
            self.0.need_lines.store(0, Ordering::SeqCst);
            self.0.need_bytes.store(0, Ordering::SeqCst);
        }
    }
}

/// The batching writer (the Python client's batching mode).
///
/// Lines written are collected per target ([`WriteParams`]) by a background task. A target
/// is sent when a request slot is free (`max_in_flight`) and it holds `batch_size` lines or
/// `max_batch_bytes` bytes, or its oldest line has waited `flush_interval`, or `flush`/`close`
/// asks. The request takes every line waiting for that target, up to `max_batch_bytes`
/// (group commit): while a request is in flight lines keep accumulating, so a server that
/// answers slowly (InfluxDB 3 answers a write after its WAL flush, 1 s by default) gets fuller
/// requests, never smaller ones. Failed requests are retried on 429, 5xx (except 501),
/// connection errors and timeouts, with exponential backoff honouring `Retry-After`, within
/// `max_retries` and `max_retry_time`. A body found too large is split. Every line is handed
/// exactly once to the observer's `on_success` or `on_error`, also on
/// [`close`](Writer::close) and when the writer is dropped without closing.
///
/// Memory is bounded: the writer holds at most `max_buffered_lines` lines and
/// `max_buffered_bytes` bytes (buffered, in flight or waiting for a retry); past that,
/// [`write`](Writer::write) waits and [`try_write`](Writer::try_write) fails with
/// [`ErrorKind::BufferFull`]. When a caller waits for room and nothing is in flight, the
/// fullest target is sent at once, since no room would free up otherwise.
///
/// With `max_in_flight(1)` (the default) requests go one after the other, in the order the
/// lines were written.
///
/// Handles are cheap to clone and share one background task; `close` on any of them closes
/// the writer for all. The task runs on the tokio runtime the writer was created on: close
/// the writer (or drop it and give the task time) before that runtime shuts down, or lines
/// still buffered are lost with it.
///
/// ```no_run
/// # async fn run() -> Result<(), influxdb3_write::Error> {
/// use influxdb3_lp::{Point, Precision};
/// use influxdb3_write::{Callbacks, HttpTransport, WriteOptions, WriteParams, Writer};
///
/// let transport = HttpTransport::builder("http://localhost:8181").token("apiv3_...").build()?;
/// let callbacks = Callbacks::new()
///     .on_error(|ctx, _data, err| eprintln!("{} lines lost: {err}", ctx.lines));
/// let writer = Writer::new(transport, WriteOptions::default().batch_size(500), callbacks);
///
/// let params = WriteParams::new("sensors").precision(Precision::Seconds);
/// for i in 0..10_000i64 {
///     let point = Point::new("home").tag("room", "kitchen").field("temp", 21.0).timestamp(i);
///     writer.write(&params, &point).await?;
/// }
/// let summary = writer.close().await?;
/// println!("{} lines written, {} failed", summary.accepted_lines, summary.failed_lines);
/// # Ok(())
/// # }
/// ```
pub struct Writer<T: WriteTransport = HttpTransport> {
    tx: mpsc::UnboundedSender<Command>,
    shared: Arc<Shared>,
    _transport: PhantomData<fn() -> T>,
}

impl<T: WriteTransport> Clone for Writer<T> {
    fn clone(&self) -> Self {
        Writer {
            tx: self.tx.clone(),
            shared: self.shared.clone(),
            _transport: PhantomData,
        }
    }
}

impl<T: WriteTransport> fmt::Debug for Writer<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Writer")
            .field("closed", &self.tx.is_closed())
            .field("free_lines", &self.shared.lines.available_permits())
            .field("max_buffered_lines", &self.shared.max_lines)
            .finish_non_exhaustive()
    }
}

impl<T: WriteTransport> Writer<T> {
    /// Starts a writer sending through `transport`, reporting to `observer` (use `()` to
    /// ignore outcomes, or [`Callbacks`](crate::Callbacks)).
    ///
    /// # Panics
    ///
    /// When called outside a tokio runtime: the background task is spawned on the current
    /// runtime.
    pub fn new(transport: T, options: WriteOptions, observer: impl WriteObserver) -> Self {
        let options = options.normalized();
        let shared = Arc::new(Shared {
            lines: Semaphore::new(options.max_buffered_lines),
            bytes: Semaphore::new(options.max_buffered_bytes),
            max_lines: options.max_buffered_lines,
            max_bytes: options.max_buffered_bytes,
            waiting: AtomicUsize::new(0),
            need_lines: AtomicUsize::new(0),
            need_bytes: AtomicUsize::new(0),
        });
        let (tx, rx) = mpsc::unbounded_channel();
        let (cancel, cancelled) = watch::channel(false);
        let job = Arc::new(JobContext {
            transport,
            observer: Arc::new(observer),
            policy: RetryPolicy::new(&options),
            jitter: options.jitter_interval,
            cancelled,
        });
        let worker = Worker {
            job,
            shared: shared.clone(),
            options,
            groups: HashMap::new(),
            jobs: JoinSet::new(),
            running: HashMap::new(),
            next_seq: 0,
            flush_upto: 0,
            room_requested: false,
            flush_waiters: Vec::new(),
            totals: CloseSummary::default(),
            cancel,
        };
        tokio::spawn(worker.run(rx));
        Writer {
            tx,
            shared,
            _transport: PhantomData,
        }
    }

    /// Encodes `record` and hands its lines to the writer, waiting while the buffer is full
    /// (backpressure). Returns once the lines are buffered, not when they are written: the
    /// outcome goes to the observer.
    ///
    /// While it waits, requests in flight free the room; when none is in flight, the
    /// fullest target is sent at once rather than when it is due.
    ///
    /// A record larger than the whole buffer is handed over in parts as room frees up; if
    /// this future is dropped midway, the parts handed over so far are written and the
    /// rest is not.
    pub async fn write<R: ToLineProtocol + ?Sized>(
        &self,
        params: &WriteParams,
        record: &R,
    ) -> Result<(), Error> {
        let (data, count) = self.encode(params, record)?;
        self.hand_over(params, data, count).await
    }

    /// Like [`write`](Self::write), for lines a [`LineEncoder`] already wrote: they are taken
    /// as they are, without being checked, counted or copied again.
    ///
    /// ```no_run
    /// # async fn run(writer: influxdb3_write::Writer) -> Result<(), influxdb3_write::Error> {
    /// use influxdb3_lp::{LineEncoder, Point};
    /// use influxdb3_write::WriteParams;
    ///
    /// let mut encoder = LineEncoder::default();
    /// encoder.encode(&Point::new("home").field("temp", 21.5))?;
    /// writer.write_encoded(&WriteParams::new("sensors"), encoder.take_encoded()).await?;
    /// # Ok(()) }
    /// ```
    pub async fn write_encoded(&self, params: &WriteParams, lines: Encoded) -> Result<(), Error> {
        params.validate()?;
        if self.tx.is_closed() {
            return Err(Error::new(ErrorKind::Closed, "the writer is closed"));
        }
        let (data, count) = lines.into_parts();
        self.check_line_sizes(&data)?;
        self.hand_over(params, data, count).await
    }

    /// Hands encoded lines to the background task, waiting for room as needed.
    async fn hand_over(
        &self,
        params: &WriteParams,
        mut data: Bytes,
        mut count: usize,
    ) -> Result<(), Error> {
        while !data.is_empty() {
            let whole = count > 0 && count <= self.shared.max_lines;
            let (len, n) = if whole && data.len() <= self.shared.max_bytes {
                (data.len(), count)
            } else {
                lines::prefix(&data, self.shared.max_lines, self.shared.max_bytes)
            };
            let held_lines = self.acquire(&self.shared.lines, permits(n)?).await?;
            let held_bytes = self.acquire(&self.shared.bytes, permits(len)?).await?;
            let chunk = data.split_to(len);
            self.send(params, chunk, n)?;
            held_lines.forget();
            held_bytes.forget();
            count = count.saturating_sub(n);
        }
        Ok(())
    }

    /// Like [`write`](Writer::write), but fails at once with [`ErrorKind::BufferFull`]
    /// instead of waiting when the buffer has no room for the whole record.
    pub fn try_write<R: ToLineProtocol + ?Sized>(
        &self,
        params: &WriteParams,
        record: &R,
    ) -> Result<(), Error> {
        let (data, count) = self.encode(params, record)?;
        if count == 0 {
            return Ok(());
        }
        let full = |what: &str| {
            Error::new(
                ErrorKind::BufferFull,
                format!(
                    "no room for {count} lines ({} bytes) in the writer's buffer: {what}",
                    data.len()
                ),
            )
        };
        if count > self.shared.max_lines || data.len() > self.shared.max_bytes {
            return Err(full(
                "the record is larger than max_buffered_lines/max_buffered_bytes; use write()",
            ));
        }
        let closed = || Error::new(ErrorKind::Closed, "the writer is closed");
        let held_lines = match self.shared.lines.try_acquire_many(permits(count)?) {
            Ok(p) => p,
            Err(tokio::sync::TryAcquireError::Closed) => return Err(closed()),
            Err(tokio::sync::TryAcquireError::NoPermits) => {
                self.request_room();
                return Err(full("max_buffered_lines reached"));
            }
        };
        let held_bytes = match self.shared.bytes.try_acquire_many(permits(data.len())?) {
            Ok(p) => p,
            Err(tokio::sync::TryAcquireError::Closed) => return Err(closed()),
            Err(tokio::sync::TryAcquireError::NoPermits) => {
                self.request_room();
                return Err(full("max_buffered_bytes reached"));
            }
        };
        self.send(params, data, count)?;
        held_lines.forget();
        held_bytes.forget();
        Ok(())
    }

    /// Sends everything buffered now and waits until every batch written before this call
    /// is delivered or handed to the error callback. Returns the writer's totals.
    pub async fn flush(&self) -> Result<FlushSummary, Error> {
        let (reply, answer) = oneshot::channel();
        self.tx
            .send(Command::Flush(reply))
            .map_err(|_| Error::new(ErrorKind::Closed, "the writer is closed"))?;
        answer.await.map_err(|_| {
            Error::new(
                ErrorKind::Closed,
                "the writer closed before the flush completed",
            )
        })
    }

    /// Flushes, waits up to `max_close_wait` for every batch, hands whatever is still
    /// undelivered to the error callback, and stops the background task. Other handles of
    /// this writer get [`ErrorKind::Closed`] afterwards.
    pub async fn close(self) -> Result<CloseSummary, Error> {
        let (reply, answer) = oneshot::channel();
        self.tx
            .send(Command::Close(reply))
            .map_err(|_| Error::new(ErrorKind::Closed, "the writer is already closed"))?;
        answer.await.map_err(|_| {
            Error::new(
                ErrorKind::Closed,
                "the writer's background task stopped before the close completed",
            )
        })
    }

    /// How many more lines the buffer can take right now.
    pub fn available_lines(&self) -> usize {
        self.shared.lines.available_permits()
    }

    /// How many more bytes the buffer can take right now.
    pub fn available_bytes(&self) -> usize {
        self.shared.bytes.available_permits()
    }

    fn encode<R: ToLineProtocol + ?Sized>(
        &self,
        params: &WriteParams,
        record: &R,
    ) -> Result<(Bytes, usize), Error> {
        params.validate()?;
        if self.tx.is_closed() {
            return Err(Error::new(ErrorKind::Closed, "the writer is closed"));
        }
        let mut encoder = LineEncoder::new(params.precision);
        encoder.encode(record)?;
        let count = encoder.line_count();
        let data = encoder.take();
        self.check_line_sizes(&data)?;
        Ok((data, count))
    }

    /// A single line must fit the buffer, or it could never be taken.
    fn check_line_sizes(&self, data: &Bytes) -> Result<(), Error> {
        if data.len() > self.shared.max_bytes {
            let mut line_number = 0;
            for line in lines::iter(data) {
                line_number += 1;
                if line.len() > self.shared.max_bytes {
                    return Err(Error::new(
                        ErrorKind::Encode,
                        format!(
                            "line {line_number} of the record is {} bytes, more than \
                             max_buffered_bytes ({})",
                            line.len(),
                            self.shared.max_bytes
                        ),
                    ));
                }
            }
        }
        Ok(())
    }

    /// Takes `n` permits from `semaphore` (the line or the byte bound), waiting for them if
    /// need be; while waiting, this caller counts in [`Shared::waiting`] with the room it
    /// needs, so that the background task can tell when only a forced send would free it.
    async fn acquire<'a>(
        &self,
        semaphore: &'a Semaphore,
        n: u32,
    ) -> Result<SemaphorePermit<'a>, Error> {
        let closed = || Error::new(ErrorKind::Closed, "the writer is closed");
        match semaphore.try_acquire_many(n) {
            Ok(held) => return Ok(held),
            Err(tokio::sync::TryAcquireError::Closed) => return Err(closed()),
            Err(tokio::sync::TryAcquireError::NoPermits) => {}
        }
        self.shared.waiting.fetch_add(1, Ordering::SeqCst);
        let _waiting = WaitingForRoom(&self.shared);
        let need = if std::ptr::eq(semaphore, &self.shared.lines) {
            &self.shared.need_lines
        } else {
            &self.shared.need_bytes
        };
        need.fetch_max(n as usize, Ordering::SeqCst);
        // Wakes the background task, after this caller's earlier lines. A closed writer
        // needs nothing: the acquire below reports the closure.
        let _ = self.tx.send(Command::Wake);
        semaphore.acquire_many(n).await.map_err(|_| closed())
    }

    /// After a refused `try_write`: asks the background task to send its fullest target if
    /// nothing is in flight. A closed writer needs nothing sent: the caller's own acquire or
    /// send reports the closure.
    fn request_room(&self) {
        let _ = self.tx.send(Command::NeedRoom);
    }

    fn send(&self, params: &WriteParams, data: Bytes, lines: usize) -> Result<(), Error> {
        self.tx
            .send(Command::Write {
                params: params.clone(),
                data,
                lines,
            })
            .map_err(|_| Error::new(ErrorKind::Closed, "the writer is closed"))
    }
}

fn permits(n: usize) -> Result<u32, Error> {
    u32::try_from(n)
        .map_err(|_| Error::new(ErrorKind::BufferFull, format!("{n} is too large a chunk")))
}

/// The lines of one `write` waiting in a group.
struct Chunk {
    data: Bytes,
    lines: usize,
    /// The write's sequence number: flushes wait for every write before theirs.
    seq: u64,
    /// When these lines have waited `flush_interval` and go whatever the batch size.
    deadline: Instant,
}

/// Lines waiting for one target, oldest first.
#[derive(Default)]
struct Group {
    chunks: VecDeque<Chunk>,
    lines: usize,
    bytes: usize,
}

/// A batch taken from a group and being delivered.
#[derive(Clone)]
struct Batch {
    /// The sequence number of its oldest write.
    seq: u64,
    params: WriteParams,
    data: Bytes,
    lines: usize,
}

/// What one delivery job did with its batch.
#[derive(Default)]
struct Outcome {
    accepted: u64,
    failed: u64,
    abandoned: u64,
}

/// Everything a delivery job needs.
struct JobContext<T> {
    transport: T,
    observer: Arc<dyn WriteObserver>,
    policy: RetryPolicy,
    jitter: Duration,
    cancelled: watch::Receiver<bool>,
}

/// The background task. Lines wait in their target's [`Group`] until a request slot is free
/// (`max_in_flight`) and the group is due: it holds `batch_size` lines or `max_batch_bytes`
/// bytes, its oldest line has waited `flush_interval`, or a flush or close asks for it. The
/// request then takes everything the group holds, up to `max_batch_bytes` (group commit):
/// while a request is in flight, lines keep accumulating, so a slow server gets fuller
/// requests rather than more of them.
struct Worker<T> {
    job: Arc<JobContext<T>>,
    shared: Arc<Shared>,
    options: WriteOptions,
    groups: HashMap<WriteParams, Group>,
    jobs: JoinSet<Outcome>,
    running: HashMap<Id, Batch>,
    next_seq: u64,
    /// Writes with a smaller sequence number go at once, whatever the batch size (flush,
    /// close).
    flush_upto: u64,
    /// A `try_write` found no room: send something if nothing is in flight.
    room_requested: bool,
    /// Flushes waiting for every write with a smaller sequence number.
    flush_waiters: Vec<(u64, oneshot::Sender<FlushSummary>)>,
    totals: CloseSummary,
    cancel: watch::Sender<bool>,
}

impl<T: WriteTransport> Worker<T> {
    async fn run(mut self, mut rx: mpsc::UnboundedReceiver<Command>) {
        let mut closers: Vec<oneshot::Sender<CloseSummary>> = Vec::new();
        let mut close_deadline: Option<Instant> = None;
        let mut dropped = false;
        loop {
            self.start_jobs();
            self.answer_flushes();
            if close_deadline.is_some() && self.groups.is_empty() && self.running.is_empty() {
                break;
            }
            // Lines not yet due wake the task when they are; with no free slot, only a
            // finished request can start the next one.
            let next_due = if self.jobs.len() < self.options.max_in_flight {
                self.groups
                    .values()
                    .filter_map(|g| g.chunks.front().map(|c| c.deadline))
                    .min()
            } else {
                None
            };
            let cancelled = *self.cancel.borrow();
            tokio::select! {
                command = rx.recv(), if close_deadline.is_none() => match command {
                    Some(Command::Close(reply)) => {
                        closers.push(reply);
                        close_deadline = Some(self.begin_close(&mut rx, &mut closers));
                    }
                    Some(command) => {
                        // Everything already sent is taken before deciding what to send: a
                        // producer that filled the buffer must not see its first line go alone.
                        self.handle(command, &mut closers);
                        while let Ok(command) = rx.try_recv() {
                            if let Command::Close(reply) = command {
                                closers.push(reply);
                                close_deadline = Some(self.begin_close(&mut rx, &mut closers));
                                break;
                            }
                            self.handle(command, &mut closers);
                        }
                    }
                    None => {
                        dropped = true;
                        let outstanding = self.outstanding_lines();
                        if outstanding > 0 {
                            tracing::warn!(
                                outstanding_lines = outstanding,
                                "influxdb3 Writer dropped without close(): delivering the \
                                 outstanding lines within max_close_wait"
                            );
                        }
                        close_deadline = Some(self.begin_close(&mut rx, &mut closers));
                    }
                },
                Some(joined) = self.jobs.join_next_with_id(), if !self.jobs.is_empty() => {
                    self.finish(joined);
                }
                () = sleep_until(next_due), if next_due.is_some() => {}
                () = sleep_until(close_deadline), if close_deadline.is_some() && !cancelled => {
                    self.abandon();
                }
                // Unreachable by construction (after the cancel nothing waits in a group, so
                // what is left are running jobs); kept so that no state can spin or lose lines.
                else => self.abandon(),
            }
        }
        self.shared.lines.close();
        self.shared.bytes.close();
        self.answer_flushes();
        let totals = self.totals;
        if dropped && totals.abandoned_lines > 0 {
            tracing::warn!(
                abandoned_lines = totals.abandoned_lines,
                "influxdb3 Writer dropped: lines still undelivered after max_close_wait were \
                 handed to the error callback"
            );
        }
        for reply in closers {
            let _ = reply.send(totals);
        }
    }

    fn handle(&mut self, command: Command, closers: &mut Vec<oneshot::Sender<CloseSummary>>) {
        match command {
            Command::Write {
                params,
                data,
                lines,
            } => self.add(params, data, lines),
            Command::Flush(reply) => {
                self.flush_upto = self.next_seq;
                self.flush_waiters.push((self.next_seq, reply));
            }
            Command::Close(reply) => closers.push(reply),
            Command::NeedRoom => self.room_requested = true,
            Command::Wake => {}
        }
    }

    /// Stops taking commands (those already sent are still handled), makes everything
    /// buffered due, and returns the close deadline.
    fn begin_close(
        &mut self,
        rx: &mut mpsc::UnboundedReceiver<Command>,
        closers: &mut Vec<oneshot::Sender<CloseSummary>>,
    ) -> Instant {
        rx.close();
        self.shared.lines.close();
        self.shared.bytes.close();
        while let Ok(command) = rx.try_recv() {
            self.handle(command, closers);
        }
        self.flush_upto = u64::MAX;
        Instant::now() + self.options.max_close_wait
    }

    fn outstanding_lines(&self) -> usize {
        self.shared.max_lines - self.shared.lines.available_permits()
    }

    /// Appends a write's lines to their target's group.
    fn add(&mut self, params: WriteParams, data: Bytes, lines: usize) {
        if data.is_empty() {
            return;
        }
        let seq = self.next_seq;
        self.next_seq += 1;
        let group = self.groups.entry(params).or_default();
        group.lines += lines;
        group.bytes += data.len();
        group.chunks.push_back(Chunk {
            data,
            lines,
            seq,
            deadline: Instant::now() + self.options.flush_interval,
        });
    }

    /// Whether a group's lines should go with the next free slot.
    fn due(&self, group: &Group, now: Instant) -> bool {
        group.chunks.front().is_some_and(|oldest| {
            group.lines >= self.options.batch_size
                || group.bytes >= self.options.max_batch_bytes
                || oldest.deadline <= now
                || oldest.seq < self.flush_upto
        })
    }

    /// Takes everything a group holds, up to `max_batch_bytes` (at least one line), as one
    /// batch: the written bytes themselves when they came in one write, else one copy.
    fn take(&mut self, params: &WriteParams) -> Option<Batch> {
        let max_bytes = self.options.max_batch_bytes;
        let group = self.groups.get_mut(params)?;
        let seq = group.chunks.front()?.seq;
        let mut parts: Vec<Bytes> = Vec::new();
        let (mut bytes, mut lines) = (0usize, 0usize);
        while let Some(chunk) = group.chunks.front_mut() {
            let room = max_bytes.saturating_sub(bytes);
            if chunk.data.len() <= room {
                bytes += chunk.data.len();
                lines += chunk.lines;
                parts.push(std::mem::take(&mut chunk.data));
                group.chunks.pop_front();
                continue;
            }
            // Part of this write fits (always at least one line in an empty batch).
            let (len, n) = lines::prefix(&chunk.data, usize::MAX, room.max(1));
            if len == 0 || (bytes > 0 && len > room) {
                break;
            }
            parts.push(chunk.data.split_to(len));
            chunk.lines = chunk.lines.saturating_sub(n);
            bytes += len;
            lines += n;
            break;
        }
        group.lines = group.lines.saturating_sub(lines);
        group.bytes -= bytes;
        if group.chunks.is_empty() {
            self.groups.remove(params);
        }
        let data = match parts.len() {
            1 => parts.pop().unwrap_or_default(),
            _ => {
                let mut buf = BytesMut::with_capacity(bytes);
                for part in &parts {
                    buf.extend_from_slice(part);
                }
                buf.freeze()
            }
        };
        Some(Batch {
            seq,
            params: params.clone(),
            data,
            lines,
        })
    }

    /// Fills the free request slots with due groups, oldest write first. A caller waiting
    /// for room with nothing in flight gets the fullest group sent, since no room can free
    /// up otherwise.
    fn start_jobs(&mut self) {
        if *self.cancel.borrow() {
            return;
        }
        let stuck = (self.room_requested || self.shared.starved()) && self.jobs.is_empty();
        self.room_requested = false;
        let mut force = stuck;
        while self.jobs.len() < self.options.max_in_flight {
            let now = Instant::now();
            let due = self
                .groups
                .iter()
                .filter(|(_, g)| self.due(g, now))
                .min_by_key(|(_, g)| g.chunks.front().map_or(u64::MAX, |c| c.seq))
                .map(|(p, _)| p.clone());
            let next = match due {
                Some(params) => Some(params),
                None if force => self
                    .groups
                    .iter()
                    .max_by_key(|(_, g)| g.bytes)
                    .map(|(p, _)| p.clone()),
                None => None,
            };
            force = false;
            let Some(batch) = next.and_then(|params| self.take(&params)) else {
                break;
            };
            let job = self.job.clone();
            let delivery = batch.clone();
            let handle = self.jobs.spawn(async move { job.deliver(delivery).await });
            self.running.insert(handle.id(), batch);
        }
    }

    fn finish(&mut self, joined: Result<(Id, Outcome), tokio::task::JoinError>) {
        let (id, outcome) = match joined {
            Ok((id, outcome)) => (id, outcome),
            Err(e) => {
                let id = e.id();
                let mut outcome = Outcome::default();
                if let Some(batch) = self.running.get(&id) {
                    let err = Error::new(
                        ErrorKind::Closed,
                        format!("the delivery task of this batch failed: {e}"),
                    );
                    self.job
                        .fail(&batch.params, &batch.data, batch.lines, 1, &err);
                    outcome.failed = batch.lines as u64;
                }
                (id, outcome)
            }
        };
        if let Some(batch) = self.running.remove(&id) {
            self.resolve(&batch, &outcome);
        }
    }

    /// Records a batch's outcome and frees its room in the buffer.
    fn resolve(&mut self, batch: &Batch, outcome: &Outcome) {
        self.totals.accepted_lines += outcome.accepted;
        self.totals.failed_lines += outcome.failed;
        self.totals.abandoned_lines += outcome.abandoned;
        self.shared.lines.add_permits(batch.lines);
        self.shared.bytes.add_permits(batch.data.len());
    }

    /// `max_close_wait` ran out: running jobs give up (they see the cancel signal), lines
    /// still waiting in groups go to the error callback.
    fn abandon(&mut self) {
        let _ = self.cancel.send(true);
        let keys: Vec<WriteParams> = self.groups.keys().cloned().collect();
        for params in keys {
            while let Some(batch) = self.take(&params) {
                let err = Error::new(
                    ErrorKind::Closed,
                    format!(
                        "the writer closed: max_close_wait ({:?}) ran out before these lines were sent",
                        self.options.max_close_wait
                    ),
                );
                self.job
                    .fail(&batch.params, &batch.data, batch.lines, 1, &err);
                let lines = batch.lines as u64;
                self.resolve(
                    &batch,
                    &Outcome {
                        accepted: 0,
                        failed: lines,
                        abandoned: lines,
                    },
                );
            }
        }
    }

    /// Answers the flushes whose writes are all delivered or handed back.
    fn answer_flushes(&mut self) {
        let oldest_unresolved = self
            .groups
            .values()
            .filter_map(|g| g.chunks.front().map(|c| c.seq))
            .chain(self.running.values().map(|b| b.seq))
            .min();
        let totals = FlushSummary {
            accepted_lines: self.totals.accepted_lines,
            failed_lines: self.totals.failed_lines,
        };
        let waiters = std::mem::take(&mut self.flush_waiters);
        for (target, reply) in waiters {
            if oldest_unresolved.is_none_or(|seq| seq >= target) || reply.is_closed() {
                let _ = reply.send(totals);
            } else {
                self.flush_waiters.push((target, reply));
            }
        }
    }
}

/// How many times a batch is halved after "too large" answers that do not state the
/// server's limit: pieces down to 1/64 of the batch, at most 127 requests, however many lines.
/// A server that refuses everything as too large then costs a bounded number of requests.
const MAX_BLIND_SPLITS: u32 = 6;

/// The smaller parts to send instead of a part the server found too large, with their line
/// counts and split depth; `None` when splitting cannot help (one line, a part already within
/// the server's stated limit, or [`MAX_BLIND_SPLITS`] reached) and the lines go back to the
/// caller.
///
/// When the answer states the limit (InfluxDB 3: `max request size (N bytes) exceeded`), the
/// part is cut into pieces of at most N bytes at once; otherwise it is halved.
fn split_too_large(
    data: &Bytes,
    lines: usize,
    splits: u32,
    err: &Error,
) -> Option<Vec<(Bytes, usize, u32)>> {
    if lines < 2 {
        return None;
    }
    if let Some(limit) = err.request_size_limit() {
        if data.len() <= limit {
            return None;
        }
        let mut pieces = Vec::new();
        let mut rest = data.clone();
        while !rest.is_empty() {
            let (len, n) = lines::prefix(&rest, usize::MAX, limit);
            if n == 0 {
                break;
            }
            pieces.push((rest.split_to(len), n, splits + 1));
        }
        return Some(pieces);
    }
    if splits >= MAX_BLIND_SPLITS {
        return None;
    }
    let (len, half) = lines::prefix(data, lines / 2, usize::MAX);
    Some(vec![
        (data.slice(..len), half, splits + 1),
        (data.slice(len..), lines - half, splits + 1),
    ])
}

async fn sleep_until(deadline: Option<Instant>) {
    match deadline {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

impl<T: WriteTransport> JobContext<T> {
    /// Delivers one batch: jitter, retries, 413 halving, partial writes; every line ends up
    /// in exactly one callback.
    async fn deliver(&self, batch: Batch) -> Outcome {
        let mut outcome = Outcome::default();
        let mut rng = SmallRng::from_os_rng();
        let mut cancelled = self.cancelled.clone();
        let params = &batch.params;

        if !self.jitter.is_zero() {
            let wait = random_up_to(self.jitter, &mut rng);
            tokio::select! {
                () = tokio::time::sleep(wait) => {}
                _ = cancelled.wait_for(|c| *c) => {}
            }
        }

        // Parts still to deliver, the next one last, with how many times they were split; a
        // "too large" answer replaces a part with smaller ones.
        let mut parts = vec![(batch.data.clone(), batch.lines, 0u32)];
        while let Some((data, lines, splits)) = parts.pop() {
            // One body for every attempt of this part: compressed once, not per retry.
            let body = crate::Body::new(data.clone());
            let started = Instant::now();
            let mut attempt = 1u32;
            let mut last_error: Option<Error> = None;
            loop {
                if *cancelled.borrow() {
                    let err = closed_error(last_error.as_ref(), false);
                    self.fail(params, &data, lines, attempt, &err);
                    outcome.failed += lines as u64;
                    outcome.abandoned += lines as u64;
                    break;
                }
                let result = tokio::select! {
                    r = self.transport.send(params, body.clone()) => r,
                    _ = cancelled.wait_for(|c| *c) => {
                        let err = closed_error(last_error.as_ref(), true);
                        self.fail(params, &data, lines, attempt, &err);
                        outcome.failed += lines as u64;
                        outcome.abandoned += lines as u64;
                        break;
                    }
                };
                let err = match result {
                    Ok(()) => {
                        self.succeed(params, &data, lines, attempt);
                        outcome.accepted += lines as u64;
                        break;
                    }
                    Err(err) => err,
                };
                if err.is_too_large()
                    && let Some(pieces) = split_too_large(&data, lines, splits, &err)
                {
                    parts.extend(pieces.into_iter().rev());
                    break;
                }
                if err.kind() == ErrorKind::PartialWrite {
                    let (accepted, failed) = self.partial(params, &data, lines, attempt, &err);
                    outcome.accepted += accepted;
                    outcome.failed += failed;
                    break;
                }
                if err.is_retryable() {
                    let delay = self.policy.next_delay(
                        attempt,
                        started.elapsed(),
                        err.retry_after(),
                        &mut rng,
                    );
                    if let Some(delay) = delay {
                        self.notify(
                            |o, ctx| o.on_retry(ctx, &data, &err),
                            params,
                            lines,
                            attempt,
                        );
                        last_error = Some(err);
                        tokio::select! {
                            () = tokio::time::sleep(delay) => {}
                            _ = cancelled.wait_for(|c| *c) => {}
                        }
                        attempt += 1;
                        continue;
                    }
                    let message = format!(
                        "{} (gave up after {attempt} attempts in {:?})",
                        err.message(),
                        started.elapsed()
                    );
                    let err = err.with_message(message);
                    self.fail(params, &data, lines, attempt, &err);
                } else {
                    self.fail(params, &data, lines, attempt, &err);
                }
                outcome.failed += lines as u64;
                break;
            }
        }
        outcome
    }

    /// Splits a partial write into the accepted lines (`on_success`) and the rejected ones
    /// (`on_error`, renumbered within the rejected data). Returns (accepted, failed) counts.
    fn partial(
        &self,
        params: &WriteParams,
        data: &Bytes,
        lines: usize,
        attempt: u32,
        err: &Error,
    ) -> (u64, u64) {
        let rejected_numbers: BTreeSet<usize> = err
            .line_errors()
            .iter()
            .map(LineError::line_number)
            .filter(|n| (1..=lines).contains(n))
            .collect();
        if rejected_numbers.is_empty() {
            // No usable line numbers: nothing tells which lines were stored.
            self.fail(params, data, lines, attempt, err);
            return (0, lines as u64);
        }
        // An answer cut at the read limit lists the rejected lines only up to the cut: what
        // happened to the lines after the last one listed is unknown, and they go back to
        // the caller as such rather than being counted as stored.
        let last_known = match (err.body_truncated(), rejected_numbers.last()) {
            (true, Some(&last)) => last,
            _ => lines,
        };
        let mut accepted = BytesMut::new();
        let mut rejected = BytesMut::new();
        let mut unknown = BytesMut::new();
        let mut new_number = HashMap::new();
        for (i, line) in lines::iter(data).enumerate() {
            if rejected_numbers.contains(&(i + 1)) {
                rejected.extend_from_slice(line);
                new_number.insert(i + 1, new_number.len() + 1);
            } else if i + 1 > last_known {
                unknown.extend_from_slice(line);
            } else {
                accepted.extend_from_slice(line);
            }
        }
        let unknown_lines = lines - last_known;
        if unknown_lines > 0 {
            let err = err
                .clone()
                .with_line_errors(Vec::new())
                .with_message(format!(
                    "{} (the answer was cut at {} bytes after listing line {last_known}: whether these lines were stored is unknown)",
                    err.message(),
                    err.body().len()
                ));
            self.fail(params, &unknown, unknown_lines, attempt, &err);
        }
        let failed = rejected_numbers.len() + unknown_lines;
        let ok = lines - failed;
        if ok > 0 {
            self.succeed(params, &accepted, ok, attempt);
        }
        let line_errors = err
            .line_errors()
            .iter()
            .filter_map(|e| {
                new_number
                    .get(&e.line_number())
                    .map(|n| e.clone().with_line_number(*n))
            })
            .collect();
        let err = err.clone().with_line_errors(line_errors);
        self.fail(params, &rejected, rejected_numbers.len(), attempt, &err);
        (ok as u64, failed as u64)
    }

    fn succeed(&self, params: &WriteParams, data: &[u8], lines: usize, attempt: u32) {
        self.notify(|o, ctx| o.on_success(ctx, data), params, lines, attempt);
    }

    fn fail(&self, params: &WriteParams, data: &[u8], lines: usize, attempt: u32, err: &Error) {
        self.notify(|o, ctx| o.on_error(ctx, data, err), params, lines, attempt);
    }

    /// Calls the observer, catching (and logging) a panic in it.
    fn notify(
        &self,
        call: impl FnOnce(&dyn WriteObserver, &BatchContext),
        params: &WriteParams,
        lines: usize,
        attempt: u32,
    ) {
        let ctx = BatchContext {
            database: params.database.clone(),
            precision: params.precision,
            attempt,
            lines,
        };
        let observer = &*self.observer;
        if std::panic::catch_unwind(AssertUnwindSafe(|| call(observer, &ctx))).is_err() {
            tracing::error!(
                database = %ctx.database,
                lines,
                "a WriteObserver callback panicked; the panic was caught"
            );
        }
    }
}

fn closed_error(last: Option<&Error>, in_flight: bool) -> Error {
    let mut message =
        String::from("the writer closed: max_close_wait ran out before this batch was delivered");
    if in_flight {
        message.push_str(
            "; a request was in flight, so the server may have stored some or all of these lines",
        );
    }
    if let Some(e) = last {
        message.push_str("; the last attempt failed with: ");
        message.push_str(&e.to_string());
    }
    Error::new(ErrorKind::Closed, message)
}
