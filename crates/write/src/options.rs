//! [`WriteOptions`] of the batching writer and its [`RetryPolicy`].

use std::time::Duration;

use rand::Rng;

/// How the batching [`Writer`](crate::Writer) batches, retries, buffers and closes.
///
/// The defaults are those of the Python client's `WriteOptions` (as `Duration`s), plus the
/// bounds on memory and concurrency this client adds. The builder methods carry the
/// Python names.
///
/// ```
/// use std::time::Duration;
/// use influxdb3_write::WriteOptions;
///
/// let options = WriteOptions::default()
///     .batch_size(500)
///     .flush_interval(Duration::from_secs(10))
///     .jitter_interval(Duration::from_secs(2))
///     .retry_interval(Duration::from_secs(5))
///     .max_retries(5)
///     .max_retry_delay(Duration::from_secs(30))
///     .exponential_base(2);
/// assert_eq!(options.batch_size, 500);
/// ```
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct WriteOptions {
    /// Lines that make a request go (default 1000): when a target has this many lines
    /// waiting and a request slot is free, they are sent. Under load a request takes every
    /// line waiting for its target, up to `max_batch_bytes` (group commit), so requests carry
    /// at least `batch_size` lines and often many more; only `flush_interval`, `flush()`,
    /// `close()` and drop send fewer.
    pub batch_size: usize,
    /// A batch that is not full is sent this long after its first line arrived (default 1 s).
    pub flush_interval: Duration,
    /// Each request waits a random time in `0..jitter_interval` first (default 0).
    pub jitter_interval: Duration,
    /// The first retry waits between `retry_interval` and `retry_interval * exponential_base`
    /// (default 5 s).
    pub retry_interval: Duration,
    /// Retries after the first attempt before a batch is given up (default 5).
    pub max_retries: u32,
    /// The longest wait between two attempts, unless the server's `Retry-After` asks for
    /// more (default 125 s).
    pub max_retry_delay: Duration,
    /// No retry is started that would end later than this after the first attempt
    /// (default 180 s).
    pub max_retry_time: Duration,
    /// The growth factor of the retry delay (default 2).
    pub exponential_base: u32,
    /// How long `close()` (or dropping the writer) waits for buffered and retrying batches
    /// before handing them to the error callback (default 300 s).
    pub max_close_wait: Duration,
    /// The most bytes in one request (default 10,000,000, just below the server's default
    /// limit of 10 MiB = 10,485,760 bytes, which applies to the body before and after gzip).
    /// Against a server that answers each write at its WAL flush (1 s by default), this is
    /// what a batching writer with one request in flight delivers per second under load.
    pub max_batch_bytes: usize,
    /// The most lines the writer holds, buffered, in flight or waiting for a retry
    /// (default 1 000 000, room for a full request in flight and the next one filling up).
    /// Writers wait (or `try_write` fails) when it is reached; if nothing is in flight then,
    /// the fullest target is sent at once rather than when it is due. Raised to
    /// `batch_size` if smaller.
    pub max_buffered_lines: usize,
    /// The most bytes the writer holds, like `max_buffered_lines` (default 64 MiB).
    /// Raised to `max_batch_bytes` if smaller.
    pub max_buffered_bytes: usize,
    /// Requests in flight at once (default 1). One keeps the batches in the order they
    /// were written, also across retries, like the Python client's single write worker; a
    /// server that syncs its WAL once a second acknowledges about one request per second
    /// and connection, so raise it (e.g. to 4) for throughput when the order of writes to
    /// the same series and timestamp does not matter.
    pub max_in_flight: usize,
}

/// Durations above this (100 years, such as `Duration::MAX`) are taken as this: "never", in a
/// form that can still be added to a clock.
pub(crate) const LONGEST_WAIT: Duration = Duration::from_secs(100 * 365 * 24 * 3600);

impl Default for WriteOptions {
    fn default() -> Self {
        WriteOptions {
            batch_size: 1000,
            flush_interval: Duration::from_secs(1),
            jitter_interval: Duration::ZERO,
            retry_interval: Duration::from_secs(5),
            max_retries: 5,
            max_retry_delay: Duration::from_secs(125),
            max_retry_time: Duration::from_secs(180),
            exponential_base: 2,
            max_close_wait: Duration::from_secs(300),
            max_batch_bytes: 10_000_000,
            max_buffered_lines: 1_000_000,
            max_buffered_bytes: 64 * 1024 * 1024,
            max_in_flight: 1,
        }
    }
}

macro_rules! setters {
    ($($(#[$doc:meta])* $name:ident: $ty:ty;)*) => {
        impl WriteOptions {
            $(
                $(#[$doc])*
                pub fn $name(mut self, value: $ty) -> Self {
                    self.$name = value;
                    self
                }
            )*
        }
    };
}

setters! {
    /// Sets [`batch_size`](WriteOptions::batch_size) (at least 1 is used).
    batch_size: usize;
    /// Sets [`flush_interval`](WriteOptions::flush_interval).
    flush_interval: Duration;
    /// Sets [`jitter_interval`](WriteOptions::jitter_interval).
    jitter_interval: Duration;
    /// Sets [`retry_interval`](WriteOptions::retry_interval).
    retry_interval: Duration;
    /// Sets [`max_retries`](WriteOptions::max_retries).
    max_retries: u32;
    /// Sets [`max_retry_delay`](WriteOptions::max_retry_delay).
    max_retry_delay: Duration;
    /// Sets [`max_retry_time`](WriteOptions::max_retry_time).
    max_retry_time: Duration;
    /// Sets [`exponential_base`](WriteOptions::exponential_base) (at least 1 is used).
    exponential_base: u32;
    /// Sets [`max_close_wait`](WriteOptions::max_close_wait).
    max_close_wait: Duration;
    /// Sets [`max_batch_bytes`](WriteOptions::max_batch_bytes) (at least 1 is used).
    max_batch_bytes: usize;
    /// Sets [`max_buffered_lines`](WriteOptions::max_buffered_lines).
    max_buffered_lines: usize;
    /// Sets [`max_buffered_bytes`](WriteOptions::max_buffered_bytes).
    max_buffered_bytes: usize;
    /// Sets [`max_in_flight`](WriteOptions::max_in_flight) (at least 1 is used).
    max_in_flight: usize;
}

impl WriteOptions {
    /// The options with every bound made consistent (see the field docs), and every duration
    /// capped at [`LONGEST_WAIT`] (100 years: `Duration::MAX` means "never").
    pub(crate) fn normalized(mut self) -> Self {
        self.batch_size = self.batch_size.max(1);
        self.max_batch_bytes = self.max_batch_bytes.max(1);
        self.max_in_flight = self.max_in_flight.max(1);
        self.exponential_base = self.exponential_base.max(1);
        // Semaphore permits are requested as u32 per chunk; keep the bounds representable.
        let cap = u32::MAX as usize;
        self.max_buffered_lines = self.max_buffered_lines.max(self.batch_size).min(cap);
        self.max_buffered_bytes = self.max_buffered_bytes.max(self.max_batch_bytes).min(cap);
        self.batch_size = self.batch_size.min(self.max_buffered_lines);
        self.max_batch_bytes = self.max_batch_bytes.min(self.max_buffered_bytes);
        // Deadlines are computed from these: "never" must still be addable to a clock.
        for d in [
            &mut self.flush_interval,
            &mut self.jitter_interval,
            &mut self.retry_interval,
            &mut self.max_retry_delay,
            &mut self.max_retry_time,
            &mut self.max_close_wait,
        ] {
            *d = (*d).min(LONGEST_WAIT);
        }
        self
    }
}

/// When to retry a failed batch and how long to wait: exponential backoff with random
/// spread, capped, honouring `Retry-After`, bounded in count and total time.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct RetryPolicy {
    interval: Duration,
    base: u32,
    max_delay: Duration,
    max_retries: u32,
    max_time: Duration,
    jitter: Duration,
}

impl RetryPolicy {
    pub(crate) fn new(options: &WriteOptions) -> Self {
        RetryPolicy {
            interval: options.retry_interval,
            base: options.exponential_base.max(1),
            max_delay: options.max_retry_delay,
            max_retries: options.max_retries,
            max_time: options.max_retry_time,
            jitter: options.jitter_interval,
        }
    }

    /// The range the delay before retry `n` (1-based) is drawn from:
    /// `[interval * base^(n-1), interval * base^n]`, both ends capped at `max_delay`.
    pub(crate) fn delay_range(&self, n: u32) -> (Duration, Duration) {
        let scale = |exp: u32| -> Duration {
            let factor = u64::from(self.base).saturating_pow(exp);
            let nanos = self.interval.as_nanos().saturating_mul(u128::from(factor));
            let capped = nanos.min(self.max_delay.as_nanos());
            Duration::from_nanos(u64::try_from(capped).unwrap_or(u64::MAX))
        };
        (scale(n.saturating_sub(1)), scale(n))
    }

    /// The wait before retry `n` (1-based), or `None` to give up: after `max_retries`
    /// retries, or when the retry would start later than `max_time` after the first
    /// attempt (`elapsed` is the time since then). A `Retry-After` from the server replaces
    /// the backoff (plus up to `jitter`).
    pub(crate) fn next_delay(
        &self,
        n: u32,
        elapsed: Duration,
        retry_after: Option<Duration>,
        rng: &mut impl Rng,
    ) -> Option<Duration> {
        if n == 0 || n > self.max_retries {
            return None;
        }
        let delay = match retry_after {
            // A `Retry-After` of years (or u64::MAX seconds) saturates instead of overflowing;
            // `max_time` then gives the batch up.
            Some(after) => after.saturating_add(random_up_to(self.jitter, rng)),
            None => {
                let (low, high) = self.delay_range(n);
                if high > low {
                    low + random_up_to(high - low, rng)
                } else {
                    low
                }
            }
        };
        (elapsed.saturating_add(delay) <= self.max_time).then_some(delay)
    }
}

/// A uniformly random duration in `0..=max`.
pub(crate) fn random_up_to(max: Duration, rng: &mut impl Rng) -> Duration {
    if max.is_zero() {
        return Duration::ZERO;
    }
    let nanos = u64::try_from(max.as_nanos()).unwrap_or(u64::MAX);
    Duration::from_nanos(rng.random_range(0..=nanos))
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    fn policy() -> RetryPolicy {
        RetryPolicy::new(&WriteOptions::default())
    }

    #[test]
    fn defaults_match_python() {
        let o = WriteOptions::default();
        assert_eq!(o.batch_size, 1000);
        assert_eq!(o.flush_interval, Duration::from_millis(1000));
        assert_eq!(o.jitter_interval, Duration::ZERO);
        assert_eq!(o.retry_interval, Duration::from_millis(5000));
        assert_eq!(o.max_retries, 5);
        assert_eq!(o.max_retry_delay, Duration::from_millis(125_000));
        assert_eq!(o.max_retry_time, Duration::from_millis(180_000));
        assert_eq!(o.exponential_base, 2);
        assert_eq!(o.max_close_wait, Duration::from_millis(300_000));
    }

    #[test]
    fn normalized_keeps_bounds_consistent() {
        let o = WriteOptions::default()
            .batch_size(0)
            .max_in_flight(0)
            .max_buffered_lines(10)
            .batch_size(50)
            .normalized();
        assert_eq!(o.batch_size, 50);
        assert_eq!(o.max_buffered_lines, 50);
        assert_eq!(o.max_in_flight, 1);

        let o = WriteOptions::default()
            .flush_interval(Duration::MAX)
            .max_close_wait(Duration::MAX)
            .max_retry_time(Duration::MAX)
            .normalized();
        assert_eq!(o.flush_interval, LONGEST_WAIT);
        assert_eq!(o.max_close_wait, LONGEST_WAIT);
        assert_eq!(o.max_retry_time, LONGEST_WAIT);
    }

    #[test]
    fn a_huge_retry_after_saturates() {
        let p = RetryPolicy::new(
            &WriteOptions::default()
                .jitter_interval(Duration::from_secs(1))
                .normalized(),
        );
        let mut rng = rand::rngs::SmallRng::seed_from_u64(1);
        // u64::MAX seconds plus jitter used to overflow; it is past max_retry_time: give up.
        assert_eq!(
            p.next_delay(
                1,
                Duration::ZERO,
                Some(Duration::from_secs(u64::MAX)),
                &mut rng
            ),
            None
        );
    }

    #[test]
    fn delay_ranges_grow_exponentially_and_are_capped() {
        let p = policy();
        let s = Duration::from_secs;
        assert_eq!(p.delay_range(1), (s(5), s(10)));
        assert_eq!(p.delay_range(2), (s(10), s(20)));
        assert_eq!(p.delay_range(3), (s(20), s(40)));
        assert_eq!(p.delay_range(5), (s(80), s(125)));
        assert_eq!(p.delay_range(6), (s(125), s(125)));
        assert_eq!(p.delay_range(200), (s(125), s(125)));
    }

    #[test]
    fn delays_are_drawn_within_the_range() {
        let p = policy();
        let mut rng = rand::rngs::SmallRng::seed_from_u64(7);
        for n in 1..=5 {
            let (low, high) = p.delay_range(n);
            for _ in 0..200 {
                let d = p.next_delay(n, Duration::ZERO, None, &mut rng).unwrap();
                assert!(
                    low <= d && d <= high,
                    "retry {n}: {d:?} not in {low:?}..{high:?}"
                );
            }
        }
    }

    #[test]
    fn gives_up_after_max_retries_or_max_time() {
        let p = policy();
        let mut rng = rand::rngs::SmallRng::seed_from_u64(1);
        assert!(p.next_delay(5, Duration::ZERO, None, &mut rng).is_some());
        assert!(p.next_delay(6, Duration::ZERO, None, &mut rng).is_none());
        assert!(p.next_delay(0, Duration::ZERO, None, &mut rng).is_none());
        // 170 s spent: a retry needing at least 5 s more would end at 175 s..180 s: allowed
        // only when the drawn delay fits.
        let elapsed = Duration::from_secs(176);
        assert!(p.next_delay(1, elapsed, None, &mut rng).is_none());
        assert!(
            p.next_delay(1, Duration::from_secs(170), None, &mut rng)
                .is_some()
        );
        // Retry-After replaces the backoff, and counts against max_retry_time too.
        let after = Some(Duration::from_secs(1));
        assert_eq!(
            p.next_delay(3, Duration::ZERO, after, &mut rng),
            Some(Duration::from_secs(1))
        );
        let after = Some(Duration::from_secs(200));
        assert_eq!(p.next_delay(1, Duration::ZERO, after, &mut rng), None);
    }

    #[test]
    fn retry_after_gets_jitter() {
        let options = WriteOptions::default().jitter_interval(Duration::from_millis(100));
        let p = RetryPolicy::new(&options);
        let mut rng = rand::rngs::SmallRng::seed_from_u64(3);
        for _ in 0..100 {
            let d = p
                .next_delay(1, Duration::ZERO, Some(Duration::from_secs(2)), &mut rng)
                .unwrap();
            assert!(d >= Duration::from_secs(2) && d <= Duration::from_millis(2100));
        }
    }

    #[test]
    fn base_one_and_tiny_intervals() {
        let options = WriteOptions::default()
            .exponential_base(1)
            .retry_interval(Duration::from_millis(3));
        let p = RetryPolicy::new(&options);
        assert_eq!(
            p.delay_range(4),
            (Duration::from_millis(3), Duration::from_millis(3))
        );
    }
}
