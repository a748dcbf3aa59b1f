//! Success, error and retry callbacks of the batching writer.

use std::fmt;

use influxdb3_lp::Precision;

use crate::Error;

/// Which batch a callback is about.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct BatchContext {
    /// The database written to.
    pub database: String,
    /// The precision of the timestamps in the data.
    pub precision: Precision,
    /// The attempt this callback is about: 1 for the first request, 2 for the first retry, ...
    pub attempt: u32,
    /// The number of lines in the data handed to the callback.
    pub lines: usize,
}

/// Receives the outcome of every batch the [`Writer`](crate::Writer) sends (the Python
/// client's `success_callback`, `error_callback` and `retry_callback`).
///
/// Every line written is handed exactly once to either `on_success` or `on_error`.
/// `data` is the line protocol concerned. Callbacks run on the writer's tasks: keep them
/// short and never block in them. A panic in a callback is caught and logged.
///
/// ```
/// use influxdb3_write::{BatchContext, Error, WriteObserver};
/// use std::sync::atomic::{AtomicUsize, Ordering};
///
/// #[derive(Default)]
/// struct Count { ok: AtomicUsize, failed: AtomicUsize }
///
/// impl WriteObserver for Count {
///     fn on_success(&self, ctx: &BatchContext, _data: &[u8]) {
///         self.ok.fetch_add(ctx.lines, Ordering::Relaxed);
///     }
///     fn on_error(&self, ctx: &BatchContext, _data: &[u8], err: &Error) {
///         self.failed.fetch_add(ctx.lines, Ordering::Relaxed);
///         eprintln!("{} lines for {} failed: {err}", ctx.lines, ctx.database);
///     }
/// }
/// ```
pub trait WriteObserver: Send + Sync + 'static {
    /// The server accepted `data`.
    fn on_success(&self, ctx: &BatchContext, data: &[u8]) {
        let _ = (ctx, data);
    }

    /// `data` was not written and will not be retried: a non-retryable error, retries used
    /// up, or the writer closed before it could be delivered. For a partial write, `data`
    /// is the rejected lines and `err.line_errors()` numbers them within `data`.
    fn on_error(&self, ctx: &BatchContext, data: &[u8], err: &Error) {
        let _ = (ctx, data, err);
    }

    /// Sending `data` failed with a retryable error; it will be sent again.
    fn on_retry(&self, ctx: &BatchContext, data: &[u8], err: &Error) {
        let _ = (ctx, data, err);
    }
}

/// The observer that ignores every outcome.
impl WriteObserver for () {}

/// A shared observer, so that the caller can keep a handle to it (to read counters, say).
impl<O: WriteObserver + ?Sized> WriteObserver for std::sync::Arc<O> {
    fn on_success(&self, ctx: &BatchContext, data: &[u8]) {
        (**self).on_success(ctx, data);
    }

    fn on_error(&self, ctx: &BatchContext, data: &[u8], err: &Error) {
        (**self).on_error(ctx, data, err);
    }

    fn on_retry(&self, ctx: &BatchContext, data: &[u8], err: &Error) {
        (**self).on_retry(ctx, data, err);
    }
}

type DataFn = Box<dyn Fn(&BatchContext, &[u8]) + Send + Sync>;
type ErrorFn = Box<dyn Fn(&BatchContext, &[u8], &Error) + Send + Sync>;

/// A [`WriteObserver`] made of closures.
///
/// ```
/// use influxdb3_write::Callbacks;
///
/// let callbacks = Callbacks::new()
///     .on_success(|ctx, _data| println!("wrote {} lines to {}", ctx.lines, ctx.database))
///     .on_error(|ctx, _data, err| eprintln!("gave up on {} lines: {err}", ctx.lines))
///     .on_retry(|ctx, _data, err| eprintln!("attempt {} failed: {err}", ctx.attempt));
/// # let _ = callbacks;
/// ```
#[derive(Default)]
pub struct Callbacks {
    success: Option<DataFn>,
    error: Option<ErrorFn>,
    retry: Option<ErrorFn>,
}

impl Callbacks {
    /// Callbacks that do nothing until set.
    pub fn new() -> Self {
        Callbacks::default()
    }

    /// Called with each batch the server accepted.
    pub fn on_success(mut self, f: impl Fn(&BatchContext, &[u8]) + Send + Sync + 'static) -> Self {
        self.success = Some(Box::new(f));
        self
    }

    /// Called with each batch given up on.
    pub fn on_error(
        mut self,
        f: impl Fn(&BatchContext, &[u8], &Error) + Send + Sync + 'static,
    ) -> Self {
        self.error = Some(Box::new(f));
        self
    }

    /// Called with each failed attempt that will be retried.
    pub fn on_retry(
        mut self,
        f: impl Fn(&BatchContext, &[u8], &Error) + Send + Sync + 'static,
    ) -> Self {
        self.retry = Some(Box::new(f));
        self
    }
}

impl fmt::Debug for Callbacks {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Callbacks")
            .field("on_success", &self.success.is_some())
            .field("on_error", &self.error.is_some())
            .field("on_retry", &self.retry.is_some())
            .finish()
    }
}

impl WriteObserver for Callbacks {
    fn on_success(&self, ctx: &BatchContext, data: &[u8]) {
        if let Some(f) = &self.success {
            f(ctx, data);
        }
    }

    fn on_error(&self, ctx: &BatchContext, data: &[u8], err: &Error) {
        if let Some(f) = &self.error {
            f(ctx, data, err);
        }
    }

    fn on_retry(&self, ctx: &BatchContext, data: &[u8], err: &Error) {
        if let Some(f) = &self.retry {
            f(ctx, data, err);
        }
    }
}
