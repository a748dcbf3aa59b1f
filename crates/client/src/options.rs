//! Write-side options: [`WriteMode`], [`SYNCHRONOUS`], [`WriteClientOptions`] and the
//! per-call [`WriteCall`].

use std::fmt;

use influxdb3_lp::Precision;
use influxdb3_write::{BatchContext, Callbacks, WriteObserver, WriteOptions};

use crate::InfluxDBError;

/// How the client writes: at once, or through the background batching writer.
///
/// The Python client's `write_options`: [`SYNCHRONOUS`] or a `WriteOptions`. A
/// [`WriteOptions`] converts into [`WriteMode::Batching`].
///
/// ```
/// use influxdb_client_3::{WriteMode, WriteOptions, SYNCHRONOUS};
///
/// assert_eq!(WriteMode::default(), SYNCHRONOUS);
/// let batching: WriteMode = WriteOptions::default().into();
/// assert!(matches!(batching, WriteMode::Batching(_)));
/// ```
#[derive(Debug, Clone, Default, PartialEq)]
pub enum WriteMode {
    /// Each `write` sends its data at once and returns the server's answer: no batching, no
    /// retries, no callbacks. The default.
    #[default]
    Synchronous,
    /// Each `write` hands its lines to a background writer that batches them, retries
    /// failures and reports every outcome to the callbacks.
    Batching(WriteOptions),
}

/// The synchronous write mode (the Python client's `SYNCHRONOUS` constant).
pub const SYNCHRONOUS: WriteMode = WriteMode::Synchronous;

impl From<WriteOptions> for WriteMode {
    fn from(options: WriteOptions) -> Self {
        WriteMode::Batching(options)
    }
}

/// A boxed observer, so any [`WriteObserver`] (or [`Callbacks`]) can be stored.
pub(crate) struct BoxObserver(pub(crate) Box<dyn WriteObserver>);

impl WriteObserver for BoxObserver {
    fn on_success(&self, ctx: &BatchContext, data: &[u8]) {
        self.0.on_success(ctx, data);
    }

    fn on_error(&self, ctx: &BatchContext, data: &[u8], err: &influxdb3_write::Error) {
        self.0.on_error(ctx, data, err);
    }

    fn on_retry(&self, ctx: &BatchContext, data: &[u8], err: &influxdb3_write::Error) {
        self.0.on_retry(ctx, data, err);
    }
}

/// The write side of a client (the Python client's `write_client_options(...)`): the write
/// mode, default tags (`point_settings`) and the success, error and retry callbacks.
///
/// The callbacks run only in batching mode, as in Python. They receive a [`BatchContext`]
/// (database, precision, attempt, line count: Python's `self` config), the line protocol
/// concerned, and for errors the error.
///
/// ```
/// use influxdb_client_3::{WriteClientOptions, WriteMode, WriteOptions, SYNCHRONOUS};
///
/// let wco = WriteClientOptions::new()
///     .write_options(WriteOptions::default())
///     .success_callback(|ctx, _data| println!("Success: {} lines", ctx.lines))
///     .error_callback(|_ctx, _data, err| eprintln!("Error: {err}"))
///     .retry_callback(|_ctx, _data, err| eprintln!("Retry error: {err}"));
/// assert!(matches!(wco.mode(), WriteMode::Batching(_)));
///
/// let wco = WriteClientOptions::new().write_options(SYNCHRONOUS);
/// assert_eq!(wco.mode(), &WriteMode::Synchronous);
/// ```
#[derive(Default)]
pub struct WriteClientOptions {
    pub(crate) mode: WriteMode,
    pub(crate) default_tags: Vec<(String, String)>,
    pub(crate) tag_order: Vec<String>,
    pub(crate) callbacks: Callbacks,
    pub(crate) observer: Option<Box<dyn WriteObserver>>,
    has_callbacks: bool,
}

impl fmt::Debug for WriteClientOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WriteClientOptions")
            .field("mode", &self.mode)
            .field("default_tags", &self.default_tags)
            .field("tag_order", &self.tag_order)
            .field("callbacks", &self.callbacks)
            .field("observer", &self.observer.is_some())
            .finish()
    }
}

impl WriteClientOptions {
    /// Synchronous mode, no default tags, no callbacks.
    pub fn new() -> Self {
        Self::default()
    }

    /// The write mode: [`SYNCHRONOUS`], or a [`WriteOptions`] for batching.
    pub fn write_options(mut self, mode: impl Into<WriteMode>) -> Self {
        self.mode = mode.into();
        self
    }

    /// Tags added to every point and row written (Python's `point_settings`). A record's own
    /// tag with the same key wins.
    pub fn default_tags<K, V>(mut self, tags: impl IntoIterator<Item = (K, V)>) -> Self
    where
        K: Into<String>,
        V: Into<String>,
    {
        self.default_tags
            .extend(tags.into_iter().map(|(k, v)| (k.into(), v.into())));
        self
    }

    /// Tag keys written first, in this order; the other tags follow sorted by key (Python's
    /// `tag_order`, also in the Go and Java clients). Without it tags are sorted by key.
    /// InfluxDB 3 takes a new table's column order from its first write, and queries that
    /// filter on the leading tags are faster. It applies to points, default tags, derive
    /// structs, dict records and `RecordBatch`/file rows; ready line protocol is sent as it is.
    /// See [`LineEncoder::with_tag_order`](influxdb3_lp::LineEncoder::with_tag_order).
    ///
    /// ```
    /// use influxdb_client_3::WriteClientOptions;
    ///
    /// let options = WriteClientOptions::new().tag_order(["region", "host"]);
    /// # let _ = options;
    /// ```
    pub fn tag_order<S: Into<String>>(mut self, keys: impl IntoIterator<Item = S>) -> Self {
        self.tag_order = keys.into_iter().map(Into::into).collect();
        self
    }

    /// Called with each batch the server accepted (batching mode).
    pub fn success_callback(
        mut self,
        f: impl Fn(&BatchContext, &[u8]) + Send + Sync + 'static,
    ) -> Self {
        self.callbacks = self.callbacks.on_success(f);
        self.has_callbacks = true;
        self
    }

    /// Called with each batch that was not written and will not be retried (batching mode),
    /// including what is still undelivered when the client closes.
    pub fn error_callback(
        mut self,
        f: impl Fn(&BatchContext, &[u8], &InfluxDBError) + Send + Sync + 'static,
    ) -> Self {
        self.callbacks = self
            .callbacks
            .on_error(move |ctx, data, err| f(ctx, data, &InfluxDBError::Write(err.clone())));
        self.has_callbacks = true;
        self
    }

    /// Called with each failed attempt that will be retried (batching mode).
    pub fn retry_callback(
        mut self,
        f: impl Fn(&BatchContext, &[u8], &InfluxDBError) + Send + Sync + 'static,
    ) -> Self {
        self.callbacks = self
            .callbacks
            .on_retry(move |ctx, data, err| f(ctx, data, &InfluxDBError::Write(err.clone())));
        self.has_callbacks = true;
        self
    }

    /// Reports outcomes to an implementation of [`WriteObserver`] instead of the closures.
    /// Setting both is a configuration error at build time.
    pub fn observer(mut self, observer: impl WriteObserver) -> Self {
        self.observer = Some(Box::new(observer));
        self
    }

    /// The write mode.
    pub fn mode(&self) -> &WriteMode {
        &self.mode
    }

    /// The observer the batching writer reports to, or why the options conflict.
    pub(crate) fn take_observer(&mut self) -> Result<BoxObserver, crate::Error> {
        match self.observer.take() {
            Some(_) if self.has_callbacks => Err(crate::Error::config(
                "WriteClientOptions has both an observer and callbacks: use one or the other",
            )),
            Some(observer) => Ok(BoxObserver(observer)),
            None => Ok(BoxObserver(Box::new(std::mem::take(&mut self.callbacks)))),
        }
    }
}

/// Options of one write call: the database, the precision and extra tags, overriding the
/// client's defaults (Python's `write(record, database=..., write_precision=...)`).
///
/// ```
/// use influxdb_client_3::{Precision, WriteCall};
///
/// let call = WriteCall::new().database("other").precision(Precision::Seconds).tag("source", "import");
/// # let _ = call;
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WriteCall {
    pub(crate) database: Option<String>,
    pub(crate) precision: Option<Precision>,
    pub(crate) tags: Vec<(String, String)>,
}

impl WriteCall {
    /// The client's defaults.
    pub fn new() -> Self {
        Self::default()
    }

    /// Writes to this database instead of the client's.
    pub fn database(mut self, database: impl Into<String>) -> Self {
        self.database = Some(database.into());
        self
    }

    /// The precision of the timestamps (Python's `write_precision`), instead of the
    /// client's (default nanoseconds).
    pub fn precision(mut self, precision: Precision) -> Self {
        self.precision = Some(precision);
        self
    }

    /// Adds a tag to every line of this call (it wins over the client's default tags; a
    /// record's own tag wins over both).
    pub fn tag(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.tags.push((key.into(), value.into()));
        self
    }
}
