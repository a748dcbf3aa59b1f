//! Request statistics and recorded write bodies.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, MutexGuard};

use bytes::Bytes;

/// A snapshot of what an emulator has received, from
/// [`EmulatorHandle::stats`](crate::EmulatorHandle::stats).
#[derive(Debug, Clone, Default, PartialEq)]
#[non_exhaustive]
pub struct Stats {
    /// Every request received (HTTP and gRPC).
    pub requests: u64,
    /// Requests to the three write endpoints.
    pub write_requests: u64,
    /// Request body bytes received, as sent (before gunzip).
    pub bytes_received: u64,
    /// Lines stored, per database.
    pub lines_accepted: HashMap<String, u64>,
    /// Queries run (Flight and HTTP).
    pub queries: u64,
    /// Queries run, per database.
    pub queries_by_database: HashMap<String, u64>,
    /// Empty keep-alive batches sent on idle Flight query streams.
    pub keep_alive_batches: u64,
    /// The write requests received since
    /// [`record_bodies(true)`](crate::FaultController::record_bodies), oldest first.
    pub writes: Vec<RecordedWrite>,
}

impl Stats {
    /// Lines stored in `database` (0 if none).
    pub fn lines_accepted(&self, database: &str) -> u64 {
        self.lines_accepted.get(database).copied().unwrap_or(0)
    }
}

/// One write request as the emulator received it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordedWrite {
    /// The HTTP method.
    pub method: String,
    /// The path and query string; a `p=` token parameter has its value replaced by `REDACTED`.
    pub path_and_query: String,
    /// Request headers, lower-case names, without `Authorization`.
    pub headers: Vec<(String, String)>,
    /// The body after gunzip (the raw body when it could not be decoded).
    pub body: Bytes,
    /// The status code the emulator answered with.
    pub status: u16,
}

impl RecordedWrite {
    /// The body as text (lossy for invalid UTF-8).
    pub fn body_text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The first value of header `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// Request statistics shared by the HTTP and Flight sides.
#[derive(Debug, Default)]
pub(crate) struct StatsRecorder {
    record_bodies: AtomicBool,
    inner: Mutex<Stats>,
}

impl StatsRecorder {
    fn lock(&self) -> MutexGuard<'_, Stats> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Contract: counts one query against `database` (called by the Flight service and HTTP query).
    pub(crate) fn record_query(&self, database: &str) {
        let mut stats = self.lock();
        stats.queries += 1;
        *stats
            .queries_by_database
            .entry(database.to_owned())
            .or_default() += 1;
    }

    /// Counts one keep-alive batch sent on a Flight query stream.
    pub(crate) fn record_keep_alive(&self) {
        self.lock().keep_alive_batches += 1;
    }

    /// Counts one request of any kind.
    pub(crate) fn record_request(&self) {
        self.lock().requests += 1;
    }

    /// Counts received body bytes.
    pub(crate) fn record_bytes(&self, n: usize) {
        self.lock().bytes_received += n as u64;
    }

    /// Counts one write request, stores it (built by `write`) when recording is on, and adds
    /// the lines stored.
    pub(crate) fn record_write(
        &self,
        write: impl FnOnce() -> RecordedWrite,
        database: Option<&str>,
        lines: u64,
    ) {
        let record = self.record_bodies.load(Ordering::Relaxed);
        let mut stats = self.lock();
        stats.write_requests += 1;
        if let Some(db) = database
            && lines > 0
        {
            *stats.lines_accepted.entry(db.to_owned()).or_default() += lines;
        }
        if record {
            stats.writes.push(write());
        }
    }

    pub(crate) fn set_record_bodies(&self, on: bool) {
        self.record_bodies.store(on, Ordering::Relaxed);
    }

    pub(crate) fn snapshot(&self) -> Stats {
        self.lock().clone()
    }
}
