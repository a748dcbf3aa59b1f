//! Fault injection: failed, slow or dropped requests, controlled by a [`FaultController`].

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, SystemTime};

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use crate::state::{QueryFault, Stats};

/// The response a failed write gets instead of the real one.
///
/// ```
/// use influxdb3_emulator::{RetryAfter, WriteFault};
/// let fault = WriteFault::new(503, "busy").retry_after(RetryAfter::Seconds(2));
/// assert_eq!(fault.status, 503);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WriteFault {
    /// HTTP status code of the response.
    pub status: u16,
    /// Response body, sent as is (no `Content-Type`, like the server's own errors).
    pub body: String,
    /// A `Retry-After` header to send, if any.
    pub retry_after: Option<RetryAfter>,
}

impl WriteFault {
    /// A fault answering `status` with `body` and no `Retry-After`.
    pub fn new(status: u16, body: impl Into<String>) -> Self {
        WriteFault {
            status,
            body: body.into(),
            retry_after: None,
        }
    }

    /// Adds a `Retry-After` header.
    pub fn retry_after(mut self, retry_after: RetryAfter) -> Self {
        self.retry_after = Some(retry_after);
        self
    }
}

/// The two forms of the `Retry-After` header (RFC 9110 §10.2.3).
///
/// ```
/// use influxdb3_emulator::RetryAfter;
/// use std::time::{Duration, SystemTime};
/// assert_eq!(RetryAfter::Seconds(3).header_value(), "3");
/// let at = SystemTime::UNIX_EPOCH + Duration::from_secs(784_111_777);
/// assert_eq!(RetryAfter::HttpDate(at).header_value(), "Sun, 06 Nov 1994 08:49:37 GMT");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RetryAfter {
    /// `Retry-After: <delta-seconds>`.
    Seconds(u64),
    /// `Retry-After: <HTTP-date>`.
    HttpDate(SystemTime),
}

impl RetryAfter {
    /// The header value.
    pub fn header_value(&self) -> String {
        match self {
            RetryAfter::Seconds(s) => s.to_string(),
            RetryAfter::HttpDate(t) => httpdate::fmt_http_date(*t),
        }
    }
}

/// Controls the faults of a running emulator. Cheap to clone; all clones act on the same
/// emulator. Faults apply to the HTTP side unless said otherwise; query faults apply to
/// Flight `DoGet`.
///
/// ```
/// # async fn demo() -> Result<(), influxdb3_emulator::Error> {
/// use influxdb3_emulator::{Emulator, RetryAfter, WriteFault};
/// let emulator = Emulator::builder().start().await?;
/// emulator
///     .faults()
///     .fail_writes(2, WriteFault::new(503, "busy").retry_after(RetryAfter::Seconds(1)));
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct FaultController {
    pub(crate) faults: Arc<Faults>,
    pub(crate) stats: Arc<Stats>,
}

impl FaultController {
    /// The next `n` write requests (any of the three write endpoints) get `fault` instead of
    /// being processed. Nothing is stored for them.
    pub fn fail_writes(&self, n: u64, fault: WriteFault) {
        self.faults.lock().fail_writes = Some((n, fault));
    }

    /// Every write request fails with `fault` with probability `fraction` (0.0 to 1.0),
    /// decided by a random generator seeded with `seed`, so a test sees the same sequence
    /// every run. Applies after any [`fail_writes`](Self::fail_writes) count is used up.
    pub fn fail_write_fraction(&self, fraction: f64, seed: u64, fault: WriteFault) {
        self.faults.lock().fail_fraction =
            Some((fraction.clamp(0.0, 1.0), StdRng::seed_from_u64(seed), fault));
    }

    /// Delays every HTTP response by `delay` (Flight is not delayed; see
    /// [`slow_query_batches`](Self::slow_query_batches)).
    pub fn delay_responses(&self, delay: Duration) {
        self.faults.lock().delay = Some(delay);
    }

    /// The next `n` HTTP requests are read in full and then the connection is closed without
    /// any response.
    pub fn close_connections(&self, n: u64) {
        self.faults.lock().close_connections = n;
    }

    /// The next `n` Flight queries fail at once with this gRPC status.
    pub fn fail_queries(&self, n: u64, code: tonic::Code, message: impl Into<String>) {
        self.faults.lock().fail_queries = Some((n, QueryFault::Fail(code, message.into())));
    }

    /// The next `n_queries` Flight queries send `k_batches` record batches and then fail
    /// with this gRPC status inside the stream.
    pub fn fail_queries_after_batches(
        &self,
        n_queries: u64,
        k_batches: usize,
        code: tonic::Code,
        message: impl Into<String>,
    ) {
        self.faults.lock().fail_queries = Some((
            n_queries,
            QueryFault::FailAfterBatches(k_batches, code, message.into()),
        ));
    }

    /// Waits `delay` before each record batch of every Flight query.
    pub fn slow_query_batches(&self, delay: Duration) {
        self.faults.lock().query_batch_delay = Some(delay);
    }

    /// Starts (or stops) keeping every write request body in [`Stats::writes`](crate::Stats::writes).
    pub fn record_bodies(&self, on: bool) {
        self.stats.set_record_bodies(on);
    }

    /// Removes every fault.
    pub fn clear(&self) {
        *self.faults.lock() = FaultState::default();
    }
}

/// Injected faults (see [`FaultController`]).
#[derive(Debug, Default)]
pub(crate) struct Faults {
    state: Mutex<FaultState>,
}

#[derive(Debug, Default)]
struct FaultState {
    fail_writes: Option<(u64, WriteFault)>,
    fail_fraction: Option<(f64, StdRng, WriteFault)>,
    delay: Option<Duration>,
    close_connections: u64,
    fail_queries: Option<(u64, QueryFault)>,
    query_batch_delay: Option<Duration>,
}

impl Faults {
    fn lock(&self) -> MutexGuard<'_, FaultState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Called once per write request: `Some` means answer with that fault.
    pub(crate) fn take_write_fault(&self) -> Option<WriteFault> {
        let mut state = self.lock();
        if let Some((n, fault)) = &mut state.fail_writes {
            if *n > 0 {
                *n -= 1;
                return Some(fault.clone());
            }
            state.fail_writes = None;
        }
        if let Some((fraction, rng, fault)) = &mut state.fail_fraction
            && rng.random_bool(*fraction)
        {
            return Some(fault.clone());
        }
        None
    }

    /// Called once per HTTP request: whether to drop the connection without a response.
    pub(crate) fn take_close_connection(&self) -> bool {
        let mut state = self.lock();
        if state.close_connections > 0 {
            state.close_connections -= 1;
            return true;
        }
        false
    }

    /// The delay to apply to every HTTP response.
    pub(crate) fn response_delay(&self) -> Option<Duration> {
        self.lock().delay
    }

    /// Contract: called once at the start of every Flight DoGet; `Some` means apply that fault.
    pub(crate) fn take_query_fault(&self) -> Option<QueryFault> {
        let mut state = self.lock();
        let (n, fault) = state.fail_queries.as_mut()?;
        if *n == 0 {
            state.fail_queries = None;
            return None;
        }
        *n -= 1;
        Some(fault.clone())
    }

    /// Contract: a delay to wait before sending each Flight data batch (slow streaming).
    pub(crate) fn query_batch_delay(&self) -> Option<Duration> {
        self.lock().query_batch_delay
    }
}
