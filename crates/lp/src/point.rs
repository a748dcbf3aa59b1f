//! The data model: [`Precision`], [`Timestamp`], [`FieldValue`] and [`Point`].

use std::fmt;
use std::str::FromStr;
use std::time::{SystemTime, UNIX_EPOCH};

/// The unit of the timestamps in a write (the `precision` parameter of the write endpoints).
///
/// ```
/// use influxdb3_lp::Precision;
///
/// let p: Precision = "ms".parse()?;
/// assert_eq!(p, Precision::Milliseconds);
/// assert_eq!(p.v3_name(), "millisecond");
/// assert_eq!(p.to_string(), "ms");
/// # Ok::<(), influxdb3_lp::ParsePrecisionError>(())
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Precision {
    /// Nanoseconds (`ns`), the default.
    #[default]
    Nanoseconds,
    /// Microseconds (`us`).
    Microseconds,
    /// Milliseconds (`ms`).
    Milliseconds,
    /// Seconds (`s`).
    Seconds,
}

impl Precision {
    /// The name the v3 endpoint (`/api/v3/write_lp`) takes: `nanosecond`, `microsecond`,
    /// `millisecond` or `second`.
    pub const fn v3_name(self) -> &'static str {
        match self {
            Self::Nanoseconds => "nanosecond",
            Self::Microseconds => "microsecond",
            Self::Milliseconds => "millisecond",
            Self::Seconds => "second",
        }
    }

    /// The name the v1 and v2 endpoints take: `ns`, `us`, `ms` or `s` (never `µs`).
    pub const fn v2_name(self) -> &'static str {
        match self {
            Self::Nanoseconds => "ns",
            Self::Microseconds => "us",
            Self::Milliseconds => "ms",
            Self::Seconds => "s",
        }
    }

    /// How many nanoseconds one unit of this precision is.
    ///
    /// ```
    /// assert_eq!(influxdb3_lp::Precision::Seconds.nanos_per_unit(), 1_000_000_000);
    /// ```
    pub const fn nanos_per_unit(self) -> i64 {
        match self {
            Self::Nanoseconds => 1,
            Self::Microseconds => 1_000,
            Self::Milliseconds => 1_000_000,
            Self::Seconds => 1_000_000_000,
        }
    }
}

impl fmt::Display for Precision {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.v2_name())
    }
}

/// The error of parsing a [`Precision`] from text; it names the rejected value.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error(
    "invalid precision {value:?}: expected one of ns, nanosecond, us, microsecond, ms, millisecond, s, second"
)]
pub struct ParsePrecisionError {
    /// The text that is not a precision.
    pub value: String,
}

impl FromStr for Precision {
    type Err = ParsePrecisionError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "ns" | "nanosecond" => Ok(Self::Nanoseconds),
            "us" | "microsecond" => Ok(Self::Microseconds),
            "ms" | "millisecond" => Ok(Self::Milliseconds),
            "s" | "second" => Ok(Self::Seconds),
            other => Err(ParsePrecisionError {
                value: other.to_owned(),
            }),
        }
    }
}

/// A point in time: an integer count of units since the Unix epoch, where the unit is either
/// stated ([`Timestamp::seconds`], [`millis`](Timestamp::millis), [`micros`](Timestamp::micros),
/// [`nanos`](Timestamp::nanos), [`Timestamp::new`], `SystemTime`, chrono) or left to the write
/// (a bare integer: `From<i64>`, [`Timestamp::in_write_precision`]).
///
/// A bare integer is taken as already in the write's [`Precision`], as the Python client and
/// the dict-shaped records do: `Point::timestamp(1_641_024_000)` written with
/// `Precision::Seconds` is 2022-01-01T08:00:00Z. A timestamp with a stated unit is converted
/// to the write's precision (rounding down to a whole unit). Either way the encoder fails if
/// the value does not fit in i64 nanoseconds, as the server would.
///
/// ```
/// use influxdb3_lp::{LineEncoder, Point, Precision, Timestamp};
///
/// let ts = Timestamp::seconds(1_641_024_000);
/// assert_eq!(ts.to_nanos(), Some(1_641_024_000_000_000_000));
/// assert_eq!(Timestamp::seconds(i64::MAX).to_nanos(), None);
///
/// // A bare integer is in the write's precision; a stated unit is converted.
/// let mut encoder = LineEncoder::new(Precision::Seconds);
/// encoder.encode(&Point::new("home").field("temp", 21.5).timestamp(1_641_024_000))?;
/// encoder.encode(&Point::new("home").field("temp", 21.5).timestamp(Timestamp::millis(1_641_024_000_500)))?;
/// assert_eq!(encoder.as_bytes(), b"home temp=21.5 1641024000\nhome temp=21.5 1641024000\n");
/// # Ok::<(), influxdb3_lp::Error>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Timestamp {
    value: i64,
    unit: Option<Precision>,
}

impl Timestamp {
    /// A timestamp of `value` units of `precision` since the epoch.
    pub const fn new(value: i64, precision: Precision) -> Self {
        Self {
            value,
            unit: Some(precision),
        }
    }

    /// A timestamp of `value` units of whatever precision it is written in (the meaning of a
    /// bare `i64`, as in `Point::timestamp(1_641_024_000)`).
    ///
    /// ```
    /// use influxdb3_lp::{Precision, Timestamp};
    ///
    /// let ts = Timestamp::in_write_precision(1_641_024_000);
    /// assert_eq!(ts, Timestamp::from(1_641_024_000));
    /// assert_eq!(ts.precision(), None);
    /// assert_eq!(ts.in_precision(Precision::Seconds), Some(1_641_024_000));
    /// assert_eq!(ts.resolve(Precision::Seconds), Timestamp::seconds(1_641_024_000));
    /// ```
    pub const fn in_write_precision(value: i64) -> Self {
        Self { value, unit: None }
    }

    /// A timestamp in seconds since the epoch.
    pub const fn seconds(s: i64) -> Self {
        Self::new(s, Precision::Seconds)
    }

    /// A timestamp in milliseconds since the epoch.
    pub const fn millis(ms: i64) -> Self {
        Self::new(ms, Precision::Milliseconds)
    }

    /// A timestamp in microseconds since the epoch.
    pub const fn micros(us: i64) -> Self {
        Self::new(us, Precision::Microseconds)
    }

    /// A timestamp in nanoseconds since the epoch.
    pub const fn nanos(ns: i64) -> Self {
        Self::new(ns, Precision::Nanoseconds)
    }

    /// A timestamp in nanoseconds since the epoch (the same as [`nanos`](Self::nanos)).
    pub const fn from_nanos(ns: i64) -> Self {
        Self::nanos(ns)
    }

    /// The count of units since the epoch.
    pub fn value(&self) -> i64 {
        self.value
    }

    /// The unit of [`value`](Self::value), or `None` for a bare integer, whose unit is the
    /// write's precision.
    pub fn precision(&self) -> Option<Precision> {
        self.unit
    }

    /// The same instant with its unit stated: a bare integer takes `write_precision`, a
    /// timestamp with a unit is returned unchanged.
    pub fn resolve(self, write_precision: Precision) -> Self {
        Self::new(self.value, self.unit.unwrap_or(write_precision))
    }

    /// The timestamp in nanoseconds, or `None` when that overflows i64 (outside about
    /// 1677-09-21 to 2262-04-11) or when the unit is the write's, not yet known (see
    /// [`resolve`](Self::resolve)).
    pub fn to_nanos(&self) -> Option<i64> {
        self.value.checked_mul(self.unit?.nanos_per_unit())
    }

    /// The timestamp in `precision` units, rounded down (towards the past), or `None` when the
    /// timestamp overflows i64 nanoseconds. A bare integer is taken as already in `precision`.
    ///
    /// ```
    /// use influxdb3_lp::{Precision, Timestamp};
    ///
    /// assert_eq!(Timestamp::nanos(1_999).in_precision(Precision::Microseconds), Some(1));
    /// assert_eq!(Timestamp::nanos(-1).in_precision(Precision::Seconds), Some(-1));
    /// assert_eq!(Timestamp::from(5).in_precision(Precision::Seconds), Some(5));
    /// assert_eq!(Timestamp::from(i64::MAX).in_precision(Precision::Seconds), None);
    /// ```
    pub fn in_precision(&self, precision: Precision) -> Option<i64> {
        let resolved = self.resolve(precision);
        let nanos = resolved.to_nanos()?;
        if Some(precision) == resolved.unit {
            Some(self.value)
        } else {
            Some(nanos.div_euclid(precision.nanos_per_unit()))
        }
    }
}

impl fmt::Display for Timestamp {
    /// The value and its unit (`1641024000s`), or the bare value when the unit is the write's.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.unit {
            Some(unit) => write!(f, "{}{}", self.value, unit),
            None => write!(f, "{}", self.value),
        }
    }
}

impl From<i64> for Timestamp {
    /// A bare integer: units of the write's precision (nanoseconds unless the write says
    /// otherwise), as in the Python client. Use [`Timestamp::seconds`] and friends to state
    /// the unit.
    fn from(value: i64) -> Self {
        Self::in_write_precision(value)
    }
}

impl From<SystemTime> for Timestamp {
    /// The finest precision that holds the time: nanoseconds for any time the server accepts;
    /// times further out keep a coarser unit, and the encoder reports them as out of range.
    fn from(time: SystemTime) -> Self {
        let (duration, negative) = match time.duration_since(UNIX_EPOCH) {
            Ok(d) => (d, false),
            Err(e) => (e.duration(), true),
        };
        let sign = if negative { -1 } else { 1 };
        let candidates = [
            (duration.as_nanos(), Precision::Nanoseconds),
            (duration.as_micros(), Precision::Microseconds),
            (duration.as_millis(), Precision::Milliseconds),
            (u128::from(duration.as_secs()), Precision::Seconds),
        ];
        for (value, precision) in candidates {
            if let Ok(v) = i64::try_from(value) {
                return Self::new(sign * v, precision);
            }
        }
        // More than i64::MAX seconds away: beyond anything representable; the encoder
        // rejects it as out of range.
        Self::new(sign * i64::MAX, Precision::Seconds)
    }
}

#[cfg(feature = "chrono")]
impl<Tz: chrono::TimeZone> From<chrono::DateTime<Tz>> for Timestamp {
    /// Nanoseconds when they fit in i64 (years 1677 to 2262), microseconds otherwise.
    fn from(time: chrono::DateTime<Tz>) -> Self {
        match time.timestamp_nanos_opt() {
            Some(ns) => Self::from_nanos(ns),
            None => Self::new(time.timestamp_micros(), Precision::Microseconds),
        }
    }
}

/// The value of one field.
///
/// Floats that are NaN or infinite cannot be stored by the server; the encoder leaves such
/// fields out and counts them in [`EncodeStats::dropped_fields`](crate::EncodeStats).
///
/// ```
/// use influxdb3_lp::FieldValue;
///
/// assert_eq!(FieldValue::from(3_u8), FieldValue::UInteger(3));
/// assert_eq!(FieldValue::from(-3), FieldValue::Integer(-3));
/// assert_eq!(FieldValue::from(0.1_f32), FieldValue::Float(0.1));
/// assert_eq!(FieldValue::from("on"), FieldValue::String("on".to_owned()));
/// ```
#[derive(Clone, Debug, PartialEq)]
pub enum FieldValue {
    /// A 64-bit float, written in shortest round-trip form (`21.5`, `1e+300`, `2.5e-7`).
    Float(f64),
    /// A signed integer, written with an `i` suffix.
    Integer(i64),
    /// An unsigned integer, written with a `u` suffix.
    UInteger(u64),
    /// A string, written in double quotes.
    String(String),
    /// A boolean, written as `true` or `false`.
    Boolean(bool),
}

macro_rules! field_from {
    ($variant:ident: $($t:ty),*) => {$(
        impl From<$t> for FieldValue {
            fn from(v: $t) -> Self {
                Self::$variant(v.into())
            }
        }
    )*};
}

field_from!(Integer: i64, i32, i16, i8);
field_from!(UInteger: u64, u32, u16, u8);
field_from!(Boolean: bool);
field_from!(String: String, &str, &String, Box<str>, std::borrow::Cow<'_, str>);

impl From<f64> for FieldValue {
    fn from(v: f64) -> Self {
        Self::Float(v)
    }
}

impl From<f32> for FieldValue {
    /// The f64 nearest to the shortest decimal form of the f32, so `0.1_f32` becomes `0.1`
    /// (not `0.10000000149011612`), the same value the server stores for the text `0.1`.
    fn from(v: f32) -> Self {
        Self::Float(f32_to_f64(v))
    }
}

impl From<isize> for FieldValue {
    fn from(v: isize) -> Self {
        // isize is at most 64 bits wide on every supported target.
        Self::Integer(v as i64)
    }
}

impl From<usize> for FieldValue {
    fn from(v: usize) -> Self {
        // usize is at most 64 bits wide on every supported target.
        Self::UInteger(v as u64)
    }
}

/// The f64 nearest to the shortest decimal representation of `v`.
pub(crate) fn f32_to_f64(v: f32) -> f64 {
    if !v.is_finite() {
        return f64::from(v);
    }
    let mut buf = zmij::Buffer::new();
    buf.format_finite(v).parse().unwrap_or(f64::from(v))
}

/// One line of line protocol: a measurement, tags, fields and an optional timestamp.
///
/// Built with a builder-style API. Tags are written sorted by key (or in the encoder's
/// [tag order](crate::LineEncoder::with_tag_order)); fields in the order given.
/// Nothing is checked until the point is encoded by a [`LineEncoder`](crate::LineEncoder).
///
/// ```
/// use influxdb3_lp::{LineEncoder, Point};
///
/// let point = Point::new("home")
///     .tag("room", "Living Room")
///     .field("temp", 21.1)
///     .field("co", 0)
///     .timestamp(1_641_024_000_000_000_000);
/// let mut encoder = LineEncoder::default();
/// encoder.encode(&point)?;
/// assert_eq!(encoder.as_bytes(), b"home,room=Living\\ Room temp=21.1,co=0i 1641024000000000000\n");
/// # Ok::<(), influxdb3_lp::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct Point {
    measurement: String,
    tags: Vec<(String, String)>,
    fields: Vec<(String, FieldValue)>,
    timestamp: Option<Timestamp>,
}

impl Point {
    /// A point of `measurement` with no tags, fields or timestamp.
    pub fn new(measurement: impl Into<String>) -> Self {
        Self {
            measurement: measurement.into(),
            tags: Vec::new(),
            fields: Vec::new(),
            timestamp: None,
        }
    }

    /// Adds a tag. The value is anything that displays as text: strings, and also integers,
    /// booleans, floats or your own `Display` types, written as their text (`2`, `true`). A
    /// tag with an empty value is left out when encoding; the same key twice is an encoding
    /// error.
    ///
    /// ```
    /// use influxdb3_lp::Point;
    ///
    /// let point = Point::new("home").tag("room", "Kitchen").tag("floor", 2).tag("occupied", true).field("temp", 21.5);
    /// assert_eq!(point.to_string(), "home,floor=2,occupied=true,room=Kitchen temp=21.5");
    /// ```
    pub fn tag(mut self, key: impl Into<String>, value: impl fmt::Display) -> Self {
        self.tags.push((key.into(), value.to_string()));
        self
    }

    /// Adds a field. The same key twice is an encoding error.
    pub fn field(mut self, key: impl Into<String>, value: impl Into<FieldValue>) -> Self {
        self.fields.push((key.into(), value.into()));
        self
    }

    /// Sets the timestamp. A bare `i64` is in the write's precision (nanoseconds unless the
    /// write says otherwise); [`Timestamp::seconds`] and the other constructors, `SystemTime`
    /// and chrono date-times carry their unit and are converted. Without a timestamp, the
    /// server uses its own time.
    pub fn timestamp(mut self, ts: impl Into<Timestamp>) -> Self {
        self.timestamp = Some(ts.into());
        self
    }

    /// The measurement (table) name.
    pub fn measurement(&self) -> &str {
        &self.measurement
    }

    /// The tags in the order they were added.
    pub fn tags(&self) -> &[(String, String)] {
        &self.tags
    }

    /// The fields in the order they were added.
    pub fn fields(&self) -> &[(String, FieldValue)] {
        &self.fields
    }

    /// The timestamp, if one was set.
    pub fn get_timestamp(&self) -> Option<Timestamp> {
        self.timestamp
    }

    /// The point as one line of line protocol, without the trailing newline, with timestamps
    /// in nanoseconds (a bare integer timestamp is written as it is); Python's
    /// `Point.to_line_protocol()`. An empty string when no field is left (all NaN, or none);
    /// an error when the point cannot be written (an invalid name, a duplicate key, a
    /// timestamp out of range).
    ///
    /// ```
    /// use influxdb3_lp::{Point, Timestamp};
    ///
    /// let point = Point::new("home").tag("room", "Living Room").field("temp", 21.1).timestamp(Timestamp::seconds(1_641_024_000));
    /// assert_eq!(point.to_line_protocol()?, "home,room=Living\\ Room temp=21.1 1641024000000000000");
    /// assert!(Point::new("home").tag("a", 1).tag("a", 2).field("v", 1).to_line_protocol().is_err());
    /// # Ok::<(), influxdb3_lp::Error>(())
    /// ```
    pub fn to_line_protocol(&self) -> Result<String, crate::Error> {
        self.to_line_protocol_in(Precision::Nanoseconds)
    }

    /// The point as one line of line protocol with timestamps in `precision`; see
    /// [`to_line_protocol`](Self::to_line_protocol).
    ///
    /// ```
    /// use influxdb3_lp::{Point, Precision, Timestamp};
    ///
    /// let point = Point::new("home").field("temp", 21.1).timestamp(Timestamp::millis(1_641_024_000_500));
    /// assert_eq!(point.to_line_protocol_in(Precision::Seconds)?, "home temp=21.1 1641024000");
    /// # Ok::<(), influxdb3_lp::Error>(())
    /// ```
    pub fn to_line_protocol_in(&self, precision: Precision) -> Result<String, crate::Error> {
        let mut encoder = crate::LineEncoder::new(precision);
        encoder.write_point(self)?;
        let mut bytes = encoder.take().to_vec();
        if bytes.last() == Some(&b'\n') {
            bytes.pop();
        }
        // The encoder writes only UTF-8 (escaped `String`s and ASCII).
        Ok(String::from_utf8(bytes)
            .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned()))
    }
}

impl fmt::Display for Point {
    /// The line protocol of [`to_line_protocol`](Point::to_line_protocol) (nanosecond
    /// timestamps, no newline). A point that cannot be written shows as
    /// `<invalid point: reason>` rather than failing, so formatting never panics.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.to_line_protocol() {
            Ok(line) => f.write_str(&line),
            Err(e) => write!(f, "<invalid point: {e}>"),
        }
    }
}
