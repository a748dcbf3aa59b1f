//! [`LineEncoder`], the [`ToLineProtocol`] trait, escaping and validation.

use std::cmp::Ordering;
use std::fmt;
use std::sync::Arc;

use bytes::Bytes;

use crate::error::snippet;
use crate::number::{TimestampDigits, write_f64, write_i64, write_u64};
use crate::parser::{line_end_state, parse_lines, split_lines, trim_leading};
use crate::{Error, FieldValue, Point, Precision};

/// The longest measurement, key, tag value or string field the server accepts, in bytes.
pub(crate) const MAX_COMPONENT_LEN: usize = 1 << 20;

// Byte classes of the escaping tables.
const PLAIN: u8 = 0;
const ESCAPE: u8 = 1;
const REJECT_LF: u8 = 2;
const REJECT_CR: u8 = 3;
const REJECT_TAB: u8 = 4;
const REJECT_NUL: u8 = 5;

const fn escape_table(escaped: &[u8], reject_control: bool, reject_nul: bool) -> [u8; 256] {
    let mut table = [PLAIN; 256];
    let mut i = 0;
    while i < escaped.len() {
        table[escaped[i] as usize] = ESCAPE;
        i += 1;
    }
    if reject_control {
        table[b'\n' as usize] = REJECT_LF;
        table[b'\r' as usize] = REJECT_CR;
        table[b'\t' as usize] = REJECT_TAB;
    }
    if reject_nul {
        table[0] = REJECT_NUL;
    }
    table
}

/// Measurement: escape `\`, `,` and space; reject LF, CR, tab and NUL (§5.7).
static MEASUREMENT: [u8; 256] = escape_table(b"\\, ", true, true);
/// Tag keys, tag values and field keys: escape `\`, `,`, `=` and space; reject LF, CR, tab.
static KEY: [u8; 256] = escape_table(b"\\,= ", true, false);

/// Whether `bytes` holds a byte below `!` (space and the control characters), `,`, `=` or
/// `\`: every byte that [`MEASUREMENT`] or [`KEY`] escapes or rejects is one of these.
#[inline(always)]
fn may_need_escaping(bytes: &[u8]) -> bool {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGHS: u64 = 0x8080_8080_8080_8080;
    /// The high bit of some byte is set when a byte of `w` is below `n` (`n <= 128`); for
    /// whether any byte is, it is exact.
    #[inline(always)]
    fn below(w: u64, n: u8) -> u64 {
        w.wrapping_sub(ONES * u64::from(n)) & !w & HIGHS
    }
    #[inline(always)]
    fn special(w: u64) -> u64 {
        below(w, b'!')
            | below(w ^ (ONES * u64::from(b',')), 1)
            | below(w ^ (ONES * u64::from(b'=')), 1)
            | below(w ^ (ONES * u64::from(b'\\')), 1)
    }
    let (words, rest) = bytes.as_chunks::<8>();
    let mut found = 0;
    for word in words {
        found |= special(u64::from_le_bytes(*word));
    }
    // The last bytes: a word that overlaps the ones already seen, or the bytes of a short
    // name after padding of `a`s.
    let last = if rest.is_empty() {
        return found != 0;
    } else if let Some(tail) = bytes.last_chunk::<8>() {
        u64::from_le_bytes(*tail)
    } else if let (Some(head), Some(tail)) = (bytes.first_chunk::<4>(), bytes.last_chunk::<4>()) {
        u64::from(u32::from_le_bytes(*head)) | (u64::from(u32::from_le_bytes(*tail)) << 32)
    } else {
        rest.iter()
            .rev()
            .fold(ONES * u64::from(b'a'), |w, &b| (w << 8) | u64::from(b))
    };
    (found | special(last)) != 0
}

/// Appends a name that may hold a byte to escape or reject, escaped per `table`.
///
/// Writes into room made at the end of `buf` (twice the name's length, the most escaping can
/// take), one byte per step and without a branch per byte: a backslash is written before
/// every byte and kept only when the byte is one to escape.
fn escape_slow(buf: &mut Vec<u8>, bytes: &[u8], table: &[u8; 256]) -> Result<(), &'static str> {
    const _: () = assert!(PLAIN == 0 && ESCAPE == 1);
    let start = buf.len();
    if bytes.len() <= 16 {
        // A fixed-size store rather than a call to `memset`, for the usual short name.
        buf.extend_from_slice(&[0; 32]);
    } else {
        buf.resize(start + 2 * bytes.len(), 0);
    }
    let out = &mut buf[start..];
    let mut n = 0;
    for &b in bytes {
        let class = table[usize::from(b)];
        if class > ESCAPE {
            buf.truncate(start);
            return Err(match class {
                REJECT_LF => "contains a line feed (\\n)",
                REJECT_CR => "contains a carriage return (\\r)",
                REJECT_TAB => "contains a tab (\\t)",
                _ => "contains a NUL character",
            });
        }
        out[n] = b'\\';
        n += usize::from(class);
        out[n] = b;
        n += 1;
    }
    buf.truncate(start + n);
    Ok(())
}

/// Appends a string field value's text with `\` and `"` escaped, copying the runs between
/// them whole (string values can be long).
#[inline]
fn escape_string_into(buf: &mut Vec<u8>, s: &str) {
    let bytes = s.as_bytes();
    let mut start = 0;
    for i in memchr::memchr2_iter(b'\\', b'"', bytes) {
        buf.extend_from_slice(&bytes[start..i]);
        buf.push(b'\\');
        start = i;
    }
    buf.extend_from_slice(&bytes[start..]);
}

/// Appends `s` to `buf` like `extend_from_slice`, but copies a short slice (most names, keys
/// and numbers) with one or two fixed-size stores instead of a call to `memcpy`: its bytes are
/// gathered into a 4-, 8- or 16-byte word (two overlapping loads), the word is appended, and
/// the bytes past `s` are cut off again.
#[inline(always)]
pub(crate) fn put(buf: &mut Vec<u8>, s: &[u8]) {
    let n = s.len();
    let len = buf.len();
    if let (Some(head), Some(tail)) = (s.first_chunk::<16>(), s.last_chunk::<16>()) {
        if n > 32 {
            buf.extend_from_slice(s);
            return;
        }
        // The first 16 bytes, then the last 16 over them.
        buf.extend_from_slice(head);
        buf.truncate(len + n - 16);
        buf.extend_from_slice(tail);
        return;
    } else if let (Some(head), Some(tail)) = (s.first_chunk::<8>(), s.last_chunk::<8>()) {
        // The tail's bytes that overlap the head's are the same bytes, so `|` keeps them.
        let word = u128::from(u64::from_le_bytes(*head))
            | (u128::from(u64::from_le_bytes(*tail)) << (8 * (n - 8)));
        buf.extend_from_slice(&word.to_le_bytes());
    } else if let (Some(head), Some(tail)) = (s.first_chunk::<4>(), s.last_chunk::<4>()) {
        let word = u64::from(u32::from_le_bytes(*head))
            | (u64::from(u32::from_le_bytes(*tail)) << (8 * (n - 4)));
        buf.extend_from_slice(&word.to_le_bytes());
    } else if let (Some(&first), Some(&last)) = (s.first(), s.last()) {
        let middle = s[n / 2];
        let word = u32::from(first)
            | (u32::from(middle) << (8 * (n / 2)))
            | (u32::from(last) << (8 * (n - 1)));
        buf.extend_from_slice(&word.to_le_bytes());
    }
    buf.truncate(len + n);
}

/// The kind of a name, for validation.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Name {
    Measurement,
    TagKey,
    TagValue,
    FieldKey,
}

/// Appends the escaped `s` as a component of kind `kind`, or returns why it cannot be written.
///
/// Inlined into each caller with its `kind` known: a name that needs no escaping and breaks no
/// rule (nearly every name) costs a few comparisons, one word-at-a-time scan and one copy.
#[inline(always)]
pub(crate) fn write_name(buf: &mut Vec<u8>, s: &str, kind: Name) -> Result<(), &'static str> {
    let bytes = s.as_bytes();
    let suspect = match bytes {
        [] | [.., b'\\'] => true,
        [b'#', ..] => kind == Name::Measurement,
        b"time" | b"__chunk_order" => matches!(kind, Name::TagKey | Name::FieldKey),
        _ => bytes.len() > MAX_COMPONENT_LEN,
    };
    if suspect || may_need_escaping(bytes) {
        write_name_slow(buf, bytes, kind)
    } else {
        put(buf, bytes);
        Ok(())
    }
}

/// [`write_name`] for a name that breaks a rule or holds a byte to escape or reject.
#[cold]
#[inline(never)]
fn write_name_slow(buf: &mut Vec<u8>, bytes: &[u8], kind: Name) -> Result<(), &'static str> {
    match bytes {
        [] => return Err("it is empty"),
        [.., b'\\'] => return Err("it ends with a backslash, which the server rejects"),
        [b'#', ..] if kind == Name::Measurement => {
            return Err("it starts with '#', which makes the line a comment");
        }
        b"time" | b"__chunk_order" if matches!(kind, Name::TagKey | Name::FieldKey) => {
            return Err("`time` and `__chunk_order` are reserved column names");
        }
        _ if bytes.len() > MAX_COMPONENT_LEN => {
            return Err("it is longer than the server's limit of 1048576 bytes");
        }
        _ => {}
    }
    let table = if kind == Name::Measurement {
        &MEASUREMENT
    } else {
        &KEY
    };
    escape_slow(buf, bytes, table)
}

/// Appends a string field value in quotes, or returns its length when too long.
#[inline]
pub(crate) fn write_string_value(buf: &mut Vec<u8>, s: &str) -> Result<(), usize> {
    if s.len() > MAX_COMPONENT_LEN {
        return Err(s.len());
    }
    buf.push(b'"');
    escape_string_into(buf, s);
    buf.push(b'"');
    Ok(())
}

/// Counters of what the encoder wrote and what it left out, cumulative since the encoder was
/// created or last [cleared](LineEncoder::clear).
///
/// Nothing is dropped silently: a record left with no fields, a NaN/±Inf or null field and an
/// empty or null tag value are each counted here.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct EncodeStats {
    /// Lines written.
    pub lines: u64,
    /// Points and rows not written because they had no field left (all NaN/±Inf or null).
    pub skipped_records: u64,
    /// Fields left out because they were NaN, ±Inf or null.
    pub dropped_fields: u64,
    /// Tags left out because their value was empty or null.
    pub dropped_tags: u64,
}

/// A default tag: its key, and `,key=value` escaped (`None` for an empty value).
#[derive(Clone)]
pub(crate) struct DefaultTag {
    pub(crate) key: String,
    pub(crate) encoded: Option<Box<[u8]>>,
}

/// A default tag that cannot be written, reported on every encode.
#[derive(Clone)]
struct InvalidDefaultTag {
    key: String,
    value: String,
    reason: &'static str,
    in_key: bool,
}

impl InvalidDefaultTag {
    /// The error of every encode while this default tag is set.
    #[cold]
    fn error(&self, measurement: &str) -> Error {
        if self.in_key {
            Error::InvalidTagKey {
                measurement: snippet(measurement),
                key: snippet(&self.key),
                reason: self.reason,
            }
        } else {
            Error::InvalidTagValue {
                measurement: snippet(measurement),
                key: snippet(&self.key),
                value: snippet(&self.value),
                reason: self.reason,
            }
        }
    }
}

/// Where the encoder was, to roll back to.
#[derive(Clone, Copy)]
pub(crate) struct Mark {
    pub(crate) len: usize,
    lines: usize,
    stats: EncodeStats,
}

/// How tag keys `a` and `b` compare in the tag order `order`: keys named in it first, in its
/// order, then the others by bytes (plain `str` order when `order` is empty).
#[inline]
pub(crate) fn tag_cmp(order: &[String], a: &str, b: &str) -> Ordering {
    if order.is_empty() {
        return a.cmp(b);
    }
    let rank = |k: &str| order.iter().position(|o| o == k).unwrap_or(order.len());
    rank(a).cmp(&rank(b)).then_with(|| a.cmp(b))
}

/// Encodes records to line protocol into a reusable byte buffer.
///
/// Each record becomes one line ending in `\n`, in the encoder's [`Precision`]. A record that
/// cannot be written is an error, and the buffer is left as it was before the call.
///
/// ```
/// use influxdb3_lp::{LineEncoder, Point, Precision};
///
/// let mut encoder = LineEncoder::new(Precision::Seconds).with_default_tags([("site", "a")]);
/// encoder.encode(&Point::new("cpu").tag("host", "h1").field("load", 0.5).timestamp(1))?; // seconds
/// encoder.encode("mem used=1i 2\n")?;
/// assert_eq!(encoder.as_bytes(), b"cpu,host=h1,site=a load=0.5 1\nmem used=1i 2\n");
/// assert_eq!(encoder.line_count(), 2);
/// let body = encoder.take();
/// assert!(encoder.is_empty());
/// # let _ = body;
/// # Ok::<(), influxdb3_lp::Error>(())
/// ```
#[derive(Clone)]
pub struct LineEncoder {
    pub(crate) buf: Vec<u8>,
    pub(crate) precision: Precision,
    /// Shared by clones: an encoder prepared once with default tags is cloned per write
    /// without escaping them again.
    pub(crate) default_tags: Arc<Vec<DefaultTag>>,
    /// Tag keys written first, in this order (the rest follow sorted); shared by clones.
    pub(crate) tag_order: Arc<Vec<String>>,
    invalid_default: Option<InvalidDefaultTag>,
    pub(crate) line_count: usize,
    pub(crate) stats: EncodeStats,
    /// The leading digits of the last timestamp written, kept for the next one.
    pub(crate) timestamps: TimestampDigits,
    order: Vec<u32>,
    /// Scratch space of [`LineBuilder`](crate::LineBuilder): the last tag key of the line,
    /// and its field keys (concatenated) with where each ends.
    pub(crate) last_tag_key: String,
    pub(crate) field_keys: String,
    pub(crate) field_key_ends: Vec<usize>,
    /// Scratch space of [`LineBuilder`](crate::LineBuilder) with a tag order: the line's
    /// tags, collected to be ordered before the first field.
    pub(crate) pending_tags: Vec<(String, String)>,
}

impl Default for LineEncoder {
    fn default() -> Self {
        Self::new(Precision::Nanoseconds)
    }
}

impl fmt::Debug for LineEncoder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LineEncoder")
            .field("precision", &self.precision)
            .field("len", &self.buf.len())
            .field("line_count", &self.line_count)
            .field("stats", &self.stats)
            .field(
                "default_tags",
                &self
                    .default_tags
                    .iter()
                    .map(|t| t.key.as_str())
                    .collect::<Vec<_>>(),
            )
            .field("tag_order", &self.tag_order)
            .finish()
    }
}

impl LineEncoder {
    /// An empty encoder writing timestamps in `precision`.
    pub fn new(precision: Precision) -> Self {
        Self {
            buf: Vec::new(),
            precision,
            default_tags: Arc::default(),
            tag_order: Arc::default(),
            invalid_default: None,
            line_count: 0,
            stats: EncodeStats::default(),
            timestamps: TimestampDigits::default(),
            order: Vec::new(),
            last_tag_key: String::new(),
            field_keys: String::new(),
            field_key_ends: Vec::new(),
            pending_tags: Vec::new(),
        }
    }

    /// Adds tags written on every point and row (the Python client's `point_settings`
    /// default tags). A record's own tag with the same key wins. A default tag with an empty
    /// value is left out (and counted in [`EncodeStats::dropped_tags`]); an invalid default
    /// tag makes every later encode fail with the reason.
    ///
    /// ```
    /// use influxdb3_lp::{LineEncoder, Point};
    ///
    /// let mut encoder = LineEncoder::default().with_default_tags([("env", "prod"), ("host", "x")]);
    /// encoder.encode(&Point::new("m").tag("host", "y").field("v", 1))?;
    /// assert_eq!(encoder.as_bytes(), b"m,env=prod,host=y v=1i\n");
    /// # Ok::<(), influxdb3_lp::Error>(())
    /// ```
    pub fn with_default_tags<K: Into<String>, V: Into<String>>(
        mut self,
        tags: impl IntoIterator<Item = (K, V)>,
    ) -> Self {
        for (key, value) in tags {
            let (key, value) = (key.into(), value.into());
            let mut encoded = Vec::new();
            encoded.push(b',');
            if let Err(reason) = write_name(&mut encoded, &key, Name::TagKey) {
                self.invalid_default.get_or_insert(InvalidDefaultTag {
                    key,
                    value,
                    reason,
                    in_key: true,
                });
                continue;
            }
            let encoded = if value.is_empty() {
                None
            } else {
                encoded.push(b'=');
                if let Err(reason) = write_name(&mut encoded, &value, Name::TagValue) {
                    self.invalid_default.get_or_insert(InvalidDefaultTag {
                        key,
                        value,
                        reason,
                        in_key: false,
                    });
                    continue;
                }
                Some(encoded.into_boxed_slice())
            };
            let tags = Arc::make_mut(&mut self.default_tags);
            match tags.iter_mut().find(|t| t.key == key) {
                Some(tag) => tag.encoded = encoded,
                None => tags.push(DefaultTag { key, encoded }),
            }
        }
        self.sort_default_tags();
        self
    }

    /// Writes the tags named in `keys` first, in that order, and the others after them sorted
    /// by key (the `tag_order` of the Python, Go and Java clients). Tags are sorted by key
    /// without it. InfluxDB 3 keeps the tag order of a table's first write as its column order,
    /// which decides how well queries filtering on the leading tags perform.
    ///
    /// It applies to everything the encoder orders: [`Point`]s, default tags, `RecordBatch`
    /// tag columns and [`LineBuilder`](crate::LineBuilder) lines (so derive-macro structs);
    /// ready line protocol text is written as it is. Keys repeated in `keys` count at their
    /// first place; an empty list means plain sorting.
    ///
    /// ```
    /// use influxdb3_lp::{LineEncoder, Point};
    ///
    /// let mut encoder = LineEncoder::default()
    ///     .with_tag_order(["region", "host"])
    ///     .with_default_tags([("env", "prod")]);
    /// encoder.encode(&Point::new("cpu").tag("az", "1").tag("host", "h1").tag("region", "eu").field("v", 1))?;
    /// assert_eq!(encoder.as_bytes(), b"cpu,region=eu,host=h1,az=1,env=prod v=1i\n");
    /// # Ok::<(), influxdb3_lp::Error>(())
    /// ```
    pub fn with_tag_order<S: Into<String>>(mut self, keys: impl IntoIterator<Item = S>) -> Self {
        let mut order: Vec<String> = Vec::new();
        for key in keys {
            let key = key.into();
            if !order.contains(&key) {
                order.push(key);
            }
        }
        self.tag_order = Arc::new(order);
        self.sort_default_tags();
        self
    }

    /// The tag keys written first, in order (empty: tags are sorted by key).
    pub fn tag_order(&self) -> &[String] {
        &self.tag_order
    }

    /// Sorts the default tags in the encoder's tag order.
    fn sort_default_tags(&mut self) {
        let order = Arc::clone(&self.tag_order);
        if !self
            .default_tags
            .windows(2)
            .all(|w| tag_cmp(&order, &w[0].key, &w[1].key) == Ordering::Less)
        {
            Arc::make_mut(&mut self.default_tags).sort_by(|a, b| tag_cmp(&order, &a.key, &b.key));
        }
    }

    /// The precision timestamps are written in.
    pub fn precision(&self) -> Precision {
        self.precision
    }

    /// The same encoder writing timestamps in `precision` (default tags are kept).
    pub fn with_precision(mut self, precision: Precision) -> Self {
        self.precision = precision;
        self
    }

    /// Fails with the first invalid default tag given to
    /// [`with_default_tags`](Self::with_default_tags), which would fail every encode: a way
    /// to report it once, when a client is configured.
    ///
    /// ```
    /// let encoder = influxdb3_lp::LineEncoder::default().with_default_tags([("ok", "a"), ("bad", "x\ny")]);
    /// assert!(encoder.check_default_tags().is_err());
    /// ```
    pub fn check_default_tags(&self) -> Result<(), Error> {
        self.check_default_tags_for("(any)")
    }

    /// Appends `record`. On error the encoder is left exactly as before the call.
    pub fn encode<R: ToLineProtocol + ?Sized>(&mut self, record: &R) -> Result<(), Error> {
        let mark = self.mark();
        record.encode_to(self).inspect_err(|_| self.rollback(mark))
    }

    /// Appends every record of `records`. On error the encoder is left exactly as before the
    /// call: none of the records is kept.
    pub fn encode_iter<I>(&mut self, records: I) -> Result<(), Error>
    where
        I: IntoIterator,
        I::Item: ToLineProtocol,
    {
        let mark = self.mark();
        for record in records {
            if let Err(e) = record.encode_to(self) {
                self.rollback(mark);
                return Err(e);
            }
        }
        Ok(())
    }

    /// Appends one point as a line (or nothing, counted in [`EncodeStats::skipped_records`],
    /// when it has no field left after dropping NaN/±Inf). On error the encoder is left as
    /// before the call.
    pub fn write_point(&mut self, point: &Point) -> Result<(), Error> {
        let mark = self.mark();
        match self.write_point_inner(point) {
            Ok(true) => {
                self.end_line();
                Ok(())
            }
            Ok(false) => {
                self.buf.truncate(mark.len);
                self.stats.skipped_records += 1;
                Ok(())
            }
            Err(e) => {
                self.rollback(mark);
                Err(e)
            }
        }
    }

    /// Appends ready line protocol, line by line: blank and `#` comment lines are dropped, a
    /// trailing `\r` is removed, and each line ends with `\n`. Lines are split as the server
    /// splits them (a line feed inside a quoted string value does not end the line). The
    /// lines are not otherwise checked; wrap the text in [`Validated`] for that. Fails when
    /// the text is not UTF-8, or when it ends inside a quoted string or after a backslash
    /// (the server would then join its last line with the next record's).
    pub fn write_line_protocol(&mut self, text: &[u8]) -> Result<(), Error> {
        let text = utf8(text)?;
        let mark = self.mark();
        self.buf.reserve(text.len() + 1);
        let mut rest = text;
        loop {
            let (end, open) = line_end_state(rest.as_bytes());
            let piece = &rest[..end];
            // Drop the `\r` of a CRLF, unless a backslash before it would then escape our `\n`.
            let piece = match piece.strip_suffix('\r') {
                Some(p) if !p.ends_with('\\') => p,
                _ => piece,
            };
            // Blank and comment lines are dropped; the others are kept as they are, leading
            // whitespace included, since it changes how the server splits quoted strings.
            let line = piece;
            let blank = trim_leading(piece).is_empty();
            if open {
                let line_number = self.line_count - mark.lines + 1;
                self.rollback(mark);
                return Err(Error::InvalidLineProtocol {
                    line_number,
                    message: "the text ends inside a quoted string or after a backslash, so the \
                              server would join this line with the next one"
                        .to_owned(),
                    line: snippet(line),
                });
            }
            if !blank {
                self.buf.extend_from_slice(line.as_bytes());
                self.end_line();
            }
            match rest.get(end + 1..) {
                Some(next) if !next.is_empty() => rest = next,
                _ => return Ok(()),
            }
        }
    }

    /// The encoded line protocol.
    pub fn as_bytes(&self) -> &[u8] {
        &self.buf
    }

    /// The length of the encoded line protocol in bytes.
    pub fn len(&self) -> usize {
        self.buf.len()
    }

    /// Whether nothing is encoded.
    pub fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }

    /// The number of lines in the buffer.
    pub fn line_count(&self) -> usize {
        self.line_count
    }

    /// What was written and left out since the encoder was created or cleared.
    pub fn stats(&self) -> EncodeStats {
        self.stats
    }

    /// Hands out the encoded bytes (without copying them) and empties the buffer: the line
    /// count goes to 0, the stats are kept, and a new buffer of the same capacity is made.
    pub fn take(&mut self) -> Bytes {
        self.line_count = 0;
        let capacity = self.buf.capacity();
        Bytes::from(std::mem::replace(
            &mut self.buf,
            Vec::with_capacity(capacity),
        ))
    }

    /// Hands out the encoded lines with their count as an [`Encoded`] (without copying) and
    /// empties the buffer, like [`take`](Self::take).
    pub fn take_encoded(&mut self) -> Encoded {
        let lines = self.line_count;
        Encoded {
            bytes: self.take(),
            lines,
        }
    }

    /// Empties the buffer and resets the line count and the stats.
    pub fn clear(&mut self) {
        self.buf.clear();
        self.line_count = 0;
        self.stats = EncodeStats::default();
    }

    pub(crate) fn mark(&self) -> Mark {
        Mark {
            len: self.buf.len(),
            lines: self.line_count,
            stats: self.stats,
        }
    }

    pub(crate) fn rollback(&mut self, mark: Mark) {
        self.buf.truncate(mark.len);
        self.line_count = mark.lines;
        self.stats = mark.stats;
    }

    /// Ends the current line.
    #[inline]
    pub(crate) fn end_line(&mut self) {
        self.buf.push(b'\n');
        self.line_count += 1;
        self.stats.lines += 1;
    }

    /// The default tags, sorted by key.
    #[cfg(feature = "arrow")]
    pub(crate) fn default_tag_slots(&self) -> &[DefaultTag] {
        &self.default_tags
    }

    /// Fails with the invalid default tag, if there is one.
    #[inline]
    pub(crate) fn check_default_tags_for(&self, measurement: &str) -> Result<(), Error> {
        match &self.invalid_default {
            None => Ok(()),
            Some(tag) => Err(tag.error(measurement)),
        }
    }

    /// Appends the escaped measurement.
    #[inline]
    pub(crate) fn write_measurement(&mut self, measurement: &str) -> Result<(), Error> {
        write_name(&mut self.buf, measurement, Name::Measurement).map_err(|reason| {
            Error::InvalidMeasurement {
                measurement: snippet(measurement),
                reason,
            }
        })
    }

    /// Appends `,key=value` for one tag, or counts it as dropped when the value is empty.
    #[inline]
    pub(crate) fn write_tag(
        &mut self,
        measurement: &str,
        key: &str,
        value: &str,
    ) -> Result<(), Error> {
        self.buf.push(b',');
        let key_start = self.buf.len();
        write_name(&mut self.buf, key, Name::TagKey).map_err(|reason| Error::InvalidTagKey {
            measurement: snippet(measurement),
            key: snippet(key),
            reason,
        })?;
        if value.is_empty() {
            self.buf.truncate(key_start - 1);
            self.stats.dropped_tags += 1;
            return Ok(());
        }
        self.buf.push(b'=');
        write_name(&mut self.buf, value, Name::TagValue).map_err(|reason| Error::InvalidTagValue {
            measurement: snippet(measurement),
            key: snippet(key),
            value: snippet(value),
            reason,
        })
    }

    /// Merges the default tags with `tags`, already unique and in the encoder's tag order
    /// (see [`tag_cmp`]), and writes them all.
    #[inline]
    pub(crate) fn write_sorted_tags<'t>(
        &mut self,
        measurement: &str,
        tags: impl Iterator<Item = (&'t str, &'t str)>,
    ) -> Result<(), Error> {
        let mut d = 0;
        for (key, value) in tags {
            while let Some(default) = self.default_tags.get(d) {
                if tag_cmp(&self.tag_order, &default.key, key) == Ordering::Greater {
                    break;
                }
                d += 1;
                if default.key == key {
                    break;
                }
                match &default.encoded {
                    Some(encoded) => put(&mut self.buf, encoded),
                    None => self.stats.dropped_tags += 1,
                }
            }
            self.write_tag(measurement, key, value)?;
        }
        while let Some(default) = self.default_tags.get(d) {
            match &default.encoded {
                Some(encoded) => put(&mut self.buf, encoded),
                None => self.stats.dropped_tags += 1,
            }
            d += 1;
        }
        Ok(())
    }

    /// Appends `key=value` for one field (with a leading `,` unless `first`); returns false,
    /// writing nothing, for a NaN/±Inf float.
    #[inline]
    pub(crate) fn write_field(
        &mut self,
        measurement: &str,
        key: &str,
        value: &FieldValue,
        first: bool,
    ) -> Result<bool, Error> {
        if let FieldValue::Float(f) = value
            && !f.is_finite()
        {
            self.stats.dropped_fields += 1;
            return Ok(false);
        }
        self.write_field_key(measurement, key, first)?;
        match value {
            FieldValue::Float(f) => write_f64(&mut self.buf, *f),
            FieldValue::Integer(i) => {
                write_i64(&mut self.buf, *i);
                self.buf.push(b'i');
            }
            FieldValue::UInteger(u) => {
                write_u64(&mut self.buf, *u);
                self.buf.push(b'u');
            }
            FieldValue::Boolean(b) => {
                self.buf
                    .extend_from_slice(if *b { b"true" } else { b"false" })
            }
            FieldValue::String(s) => self.write_string_field_value(measurement, key, s)?,
        }
        Ok(true)
    }

    /// Appends `key="value"` for a string field (with a leading `,` unless `first`).
    #[inline]
    pub(crate) fn write_str_field(
        &mut self,
        measurement: &str,
        key: &str,
        value: &str,
        first: bool,
    ) -> Result<(), Error> {
        self.write_field_key(measurement, key, first)?;
        self.write_string_field_value(measurement, key, value)
    }

    /// Appends `,key=` (without the `,` when `first`).
    #[inline]
    fn write_field_key(&mut self, measurement: &str, key: &str, first: bool) -> Result<(), Error> {
        if !first {
            self.buf.push(b',');
        }
        write_name(&mut self.buf, key, Name::FieldKey).map_err(|reason| {
            Error::InvalidFieldKey {
                measurement: snippet(measurement),
                key: snippet(key),
                reason,
            }
        })?;
        self.buf.push(b'=');
        Ok(())
    }

    #[inline]
    fn write_string_field_value(
        &mut self,
        measurement: &str,
        key: &str,
        value: &str,
    ) -> Result<(), Error> {
        write_string_value(&mut self.buf, value).map_err(|len| Error::FieldValueTooLong {
            measurement: snippet(measurement),
            key: snippet(key),
            len,
        })
    }

    /// Writes the point without the final `\n`; `Ok(false)` when no field was written.
    fn write_point_inner(&mut self, point: &Point) -> Result<bool, Error> {
        let measurement = point.measurement();
        self.check_default_tags_for(measurement)?;
        self.write_measurement(measurement)?;

        let tags = point.tags();
        let sorted = tags
            .windows(2)
            .all(|w| tag_cmp(&self.tag_order, &w[0].0, &w[1].0) == Ordering::Less);
        if sorted {
            self.write_sorted_tags(
                measurement,
                tags.iter().map(|(k, v)| (k.as_str(), v.as_str())),
            )?;
        } else {
            let mut order = std::mem::take(&mut self.order);
            order.clear();
            order.extend(0..tags.len() as u32);
            let tag_order = &self.tag_order;
            order.sort_unstable_by(|&a, &b| {
                tag_cmp(tag_order, &tags[a as usize].0, &tags[b as usize].0)
            });
            let duplicate = order
                .windows(2)
                .find(|w| tags[w[0] as usize].0 == tags[w[1] as usize].0);
            let result = match duplicate {
                Some(w) => Err(Error::DuplicateTagKey {
                    measurement: snippet(measurement),
                    key: snippet(&tags[w[0] as usize].0),
                }),
                None => self.write_sorted_tags(
                    measurement,
                    order.iter().map(|&i| {
                        let (k, v) = &tags[i as usize];
                        (k.as_str(), v.as_str())
                    }),
                ),
            };
            self.order = order;
            result?;
        }

        let fields = point.fields();
        self.check_duplicate_fields(measurement, fields)?;
        self.buf.push(b' ');
        let mut first = true;
        for (key, value) in fields {
            if self.write_field(measurement, key, value, first)? {
                first = false;
            }
        }
        if first {
            return Ok(false);
        }

        if let Some(ts) = point.get_timestamp() {
            let value =
                ts.in_precision(self.precision)
                    .ok_or_else(|| Error::TimestampOutOfRange {
                        measurement: snippet(measurement),
                        timestamp: ts.resolve(self.precision),
                    })?;
            self.buf.push(b' ');
            self.timestamps.write(&mut self.buf, value);
        }
        Ok(true)
    }

    fn check_duplicate_fields(
        &mut self,
        measurement: &str,
        fields: &[(String, FieldValue)],
    ) -> Result<(), Error> {
        let duplicate = if fields.len() <= 16 {
            fields
                .iter()
                .enumerate()
                .find(|(i, (k, _))| fields[..*i].iter().any(|(other, _)| other == k))
                .map(|(i, _)| i)
        } else {
            let order = &mut self.order;
            order.clear();
            order.extend(0..fields.len() as u32);
            order.sort_unstable_by(|&a, &b| fields[a as usize].0.cmp(&fields[b as usize].0));
            order
                .windows(2)
                .find(|w| fields[w[0] as usize].0 == fields[w[1] as usize].0)
                .map(|w| w[0] as usize)
        };
        match duplicate {
            Some(i) => Err(Error::DuplicateFieldKey {
                measurement: snippet(measurement),
                key: snippet(&fields[i].0),
            }),
            None => Ok(()),
        }
    }
}

/// `text` as UTF-8, or an error naming the line (server numbering) of the first bad byte.
fn utf8(text: &[u8]) -> Result<&str, Error> {
    std::str::from_utf8(text).map_err(|e| {
        let valid = &text[..e.valid_up_to()];
        // Both slices end at a character boundary, so they are valid UTF-8.
        let valid = std::str::from_utf8(valid).unwrap_or_default();
        let line_start = valid.rfind('\n').map_or(0, |i| i + 1);
        let complete = split_lines(&valid[..line_start])
            .filter(|l| !trim_leading(l).is_empty())
            .count();
        Error::InvalidLineProtocol {
            line_number: complete + 1,
            message: format!(
                "the text is not valid UTF-8 (byte offset {})",
                e.valid_up_to()
            ),
            line: snippet(&String::from_utf8_lossy(
                text[line_start..]
                    .split(|&b| b == b'\n')
                    .next()
                    .unwrap_or_default(),
            )),
        }
    })
}

/// Anything that can append line protocol to a [`LineEncoder`].
///
/// Implemented for [`Point`], ready line protocol (`str`, `String`, `bytes::Bytes`, and
/// [`Validated`] text), slices and `Vec`s of these, references, and (feature `arrow`)
/// [`RecordBatchLines`](crate::RecordBatchLines). Call it through
/// [`LineEncoder::encode`], which rolls back on error.
///
/// ```
/// use influxdb3_lp::{Error, LineEncoder, Point, ToLineProtocol};
///
/// struct Reading { sensor: String, celsius: f64 }
///
/// impl ToLineProtocol for Reading {
///     fn encode_to(&self, encoder: &mut LineEncoder) -> Result<(), Error> {
///         encoder.write_point(&Point::new("reading").tag("sensor", &self.sensor).field("celsius", self.celsius))
///     }
/// }
///
/// let mut encoder = LineEncoder::default();
/// encoder.encode(&[Reading { sensor: "a".into(), celsius: 20.5 }][..])?;
/// assert_eq!(encoder.as_bytes(), b"reading,sensor=a celsius=20.5\n");
/// # Ok::<(), Error>(())
/// ```
pub trait ToLineProtocol {
    /// Appends this record's lines to `encoder`.
    fn encode_to(&self, encoder: &mut LineEncoder) -> Result<(), Error>;
}

impl ToLineProtocol for Point {
    fn encode_to(&self, encoder: &mut LineEncoder) -> Result<(), Error> {
        encoder.write_point(self)
    }
}

impl<T: ToLineProtocol + ?Sized> ToLineProtocol for &T {
    fn encode_to(&self, encoder: &mut LineEncoder) -> Result<(), Error> {
        (**self).encode_to(encoder)
    }
}

impl<T: ToLineProtocol> ToLineProtocol for [T] {
    fn encode_to(&self, encoder: &mut LineEncoder) -> Result<(), Error> {
        self.iter().try_for_each(|r| r.encode_to(encoder))
    }
}

impl<T: ToLineProtocol> ToLineProtocol for Vec<T> {
    fn encode_to(&self, encoder: &mut LineEncoder) -> Result<(), Error> {
        self.as_slice().encode_to(encoder)
    }
}

impl ToLineProtocol for str {
    fn encode_to(&self, encoder: &mut LineEncoder) -> Result<(), Error> {
        encoder.write_line_protocol(self.as_bytes())
    }
}

impl ToLineProtocol for String {
    fn encode_to(&self, encoder: &mut LineEncoder) -> Result<(), Error> {
        encoder.write_line_protocol(self.as_bytes())
    }
}

impl ToLineProtocol for Bytes {
    fn encode_to(&self, encoder: &mut LineEncoder) -> Result<(), Error> {
        encoder.write_line_protocol(self)
    }
}

/// Lines a [`LineEncoder`] wrote, with their count: complete line protocol (every line ends
/// with `\n`, no blank or comment lines), made only by
/// [`LineEncoder::take_encoded`]. Transports and writers take it as it is, without scanning or
/// copying the bytes again.
///
/// ```
/// use influxdb3_lp::{LineEncoder, Point};
///
/// let mut encoder = LineEncoder::default();
/// encoder.encode(&Point::new("home").field("temp", 21.5))?;
/// let encoded = encoder.take_encoded();
/// assert_eq!((encoded.lines(), encoded.bytes().as_ref()), (1, &b"home temp=21.5\n"[..]));
/// # Ok::<(), influxdb3_lp::Error>(())
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Encoded {
    bytes: Bytes,
    lines: usize,
}

impl Encoded {
    /// The line protocol.
    pub fn bytes(&self) -> &Bytes {
        &self.bytes
    }

    /// How many lines it holds.
    pub fn lines(&self) -> usize {
        self.lines
    }

    /// Whether it holds no line.
    pub fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }

    /// The bytes and the line count.
    pub fn into_parts(self) -> (Bytes, usize) {
        (self.bytes, self.lines)
    }
}

/// Ready line protocol that is checked before it is appended: every line must parse as the
/// server parses it, and must not repeat a tag or field key or use a reserved name. The first
/// bad line fails the whole text with its line number and reason.
///
/// ```
/// use influxdb3_lp::{Error, LineEncoder, Validated};
///
/// let mut encoder = LineEncoder::default();
/// encoder.encode(&Validated("cpu load=1\n"))?;
/// let err = encoder.encode(&Validated("cpu load=2\n\n# comment\ncpu load=\n")).unwrap_err();
/// match err {
///     Error::InvalidLineProtocol { line_number, message, .. } => {
///         assert_eq!((line_number, message.as_str()), (2, "No fields were provided"));
///     }
///     other => panic!("{other}"),
/// }
/// assert_eq!(encoder.as_bytes(), b"cpu load=1\n");
/// # Ok::<(), Error>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Validated<T>(pub T);

impl<T: AsRef<[u8]>> ToLineProtocol for Validated<T> {
    fn encode_to(&self, encoder: &mut LineEncoder) -> Result<(), Error> {
        let text = utf8(self.0.as_ref())?;
        // Check the lines as they will be sent: split as the server splits, without a
        // trailing `\r`, blank and comment lines dropped.
        let mut line_number = 0;
        for piece in split_lines(text) {
            let piece = match piece.strip_suffix('\r') {
                Some(p) if !p.ends_with('\\') => p,
                _ => piece,
            };
            if trim_leading(piece).is_empty() {
                continue;
            }
            line_number += 1;
            let invalid = |message: String| Error::InvalidLineProtocol {
                line_number,
                message,
                line: snippet(trim_leading(piece)),
            };
            // The piece as a whole, as the server sees it (it is one line to the splitter).
            for parsed in parse_lines(piece) {
                let parsed = parsed.map_err(|e| invalid(e.message))?;
                check_parsed(&parsed).map_err(invalid)?;
            }
        }
        encoder.write_line_protocol(text.as_bytes())
    }
}

/// The client-side rules beyond syntax: no repeated tag or field key, no reserved name.
fn check_parsed(line: &crate::ParsedLine<'_>) -> Result<(), String> {
    let reserved = |key: &str| key == "time" || key == "__chunk_order";
    for (i, (key, _)) in line.tags.iter().enumerate() {
        if line.tags[..i].iter().any(|(k, _)| k == key) {
            return Err(format!("tag key {key:?} appears more than once"));
        }
        if reserved(key) {
            return Err(format!("'{key}' is a reserved column"));
        }
    }
    for (i, (key, _)) in line.fields.iter().enumerate() {
        if line.fields[..i].iter().any(|(k, _)| k == key) {
            return Err(format!(
                "invalid line protocol - multiple instances of '{key}' field found"
            ));
        }
        if reserved(key) {
            return Err(format!("'{key}' is a reserved column"));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The word-at-a-time check finds every byte either table escapes or rejects, at every
    /// position of names of every length up to 24, and flags nothing in plain text.
    #[test]
    fn put_appends_slices_of_every_length() {
        let source: Vec<u8> = (1..=70).collect();
        for n in 0..=source.len() {
            let mut buf = b"abc".to_vec();
            put(&mut buf, &source[..n]);
            assert_eq!(&buf[..3], b"abc");
            assert_eq!(&buf[3..], &source[..n], "{n} bytes");
        }
    }

    #[test]
    fn may_need_escaping_finds_every_special_byte_wherever_it_is() {
        let special: Vec<u8> = (0..=255)
            .filter(|&b| MEASUREMENT[usize::from(b)] != PLAIN || KEY[usize::from(b)] != PLAIN)
            .collect();
        assert_eq!(
            special.len(),
            8,
            "NUL, tab, LF, CR, space, `,`, `=` and `\\`"
        );
        let plain = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ_-.:;/0123456789é€";
        for len in 0..=24 {
            let name: Vec<u8> = plain.bytes().cycle().take(len).collect();
            assert!(!may_need_escaping(&name), "{name:?}");
            for position in 0..len {
                for &b in &special {
                    let mut with = name.clone();
                    with[position] = b;
                    assert!(may_need_escaping(&with), "{b:#x} at {position} of {len}");
                }
            }
        }
        // Bytes that only look like the special ones in part (borrows between bytes).
        for b in 0..=255_u8 {
            let name = [b'a', b, 0x80, 0xFF, b'!', b'-', b'<', b'>', b'[', b']'];
            assert_eq!(
                may_need_escaping(&name),
                b < b'!' || b == b',' || b == b'=' || b == b'\\',
                "{b:#x}"
            );
        }
    }
}
