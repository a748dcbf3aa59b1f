//! [`LineBuilder`]: one line written straight into a [`LineEncoder`], without a [`Point`].
//!
//! [`Point`]: crate::Point

use crate::encoder::Mark;
use crate::error::snippet;
use crate::{Error, FieldValue, LineEncoder, Timestamp};

impl LineEncoder {
    /// Starts a line of `measurement` written straight into this encoder, with no [`Point`]
    /// (and no allocation) in between; see [`LineBuilder`].
    ///
    /// Fails, writing nothing, when the measurement is invalid or a default tag is.
    ///
    /// [`Point`]: crate::Point
    pub fn line<'a>(&'a mut self, measurement: &'a str) -> Result<LineBuilder<'a>, Error> {
        let mark = self.mark();
        self.check_default_tags_for(measurement)?;
        self.write_measurement(measurement)
            .inspect_err(|_| self.rollback(mark))?;
        self.last_tag_key.clear();
        self.pending_tags.clear();
        self.field_keys.clear();
        self.field_key_ends.clear();
        Ok(LineBuilder {
            encoder: self,
            measurement,
            mark,
            has_tag: false,
            next_default: 0,
            in_fields: false,
            fields_written: 0,
            timestamp: None,
            error: None,
            finished: false,
        })
    }
}

/// One line being written into a [`LineEncoder`] (from [`LineEncoder::line`]): the low-level
/// way to encode a record, for generated code and hot loops that should not build a
/// [`Point`](crate::Point).
///
/// The rules are those of a `Point`: names are checked and escaped, the encoder's default
/// tags are merged in (a tag of the line wins), an empty tag value is left out, NaN/±Inf
/// fields are left out, and a line left with no field is not written but counted in
/// [`EncodeStats::skipped_records`](crate::EncodeStats). Both kinds are counted in the stats.
///
/// Unlike a `Point`, the builder does not sort: **tags must be added in increasing order of
/// their keys** (by bytes, as `str` compares), and all before the first field. With a
/// [tag order](LineEncoder::with_tag_order) on the encoder, tags may come in any order (still
/// before the first field): they are collected and written in the encoder's order. A tag out of
/// order, a repeated tag or field key, or any invalid name makes [`finish`](Self::finish)
/// fail with the first such error. Nothing is kept of a line that fails or that is dropped
/// without `finish`: the encoder is left as it was before [`LineEncoder::line`].
///
/// ```
/// use influxdb3_lp::{Error, LineEncoder, Precision, Timestamp};
///
/// let mut encoder = LineEncoder::new(Precision::Seconds).with_default_tags([("site", "a")]);
/// encoder
///     .line("home")?
///     .tag("room", "Living Room")
///     .field("temp", 21.1)
///     .field_str("state", "ok")
///     .field("co", 0)
///     .timestamp(Timestamp::new(1_641_024_000, Precision::Seconds))
///     .finish()?;
/// assert_eq!(
///     encoder.as_bytes(),
///     b"home,room=Living\\ Room,site=a temp=21.1,state=\"ok\",co=0i 1641024000\n"
/// );
///
/// // Tags out of order are an error, and leave the encoder as it was.
/// let err = encoder.line("home")?.tag("b", "1").tag("a", "2").field("v", 1).finish();
/// assert!(matches!(err, Err(Error::InvalidTagKey { .. })));
/// // So is a line dropped before `finish`.
/// drop(encoder.line("home")?.field("v", 1));
/// assert_eq!(encoder.line_count(), 1);
///
/// // A line whose only field is NaN is skipped and counted.
/// encoder.line("home")?.field("temp", f64::NAN).finish()?;
/// assert_eq!(encoder.stats().skipped_records, 1);
/// # Ok::<(), Error>(())
/// ```
#[must_use = "a line is only written by `finish`"]
pub struct LineBuilder<'a> {
    encoder: &'a mut LineEncoder,
    measurement: &'a str,
    mark: Mark,
    /// Whether a tag was added (its key is in `encoder.last_tag_key`).
    has_tag: bool,
    /// The first default tag not yet written or overridden.
    next_default: usize,
    /// Whether the space before the fields is written.
    in_fields: bool,
    fields_written: usize,
    timestamp: Option<Timestamp>,
    error: Option<Error>,
    finished: bool,
}

impl std::fmt::Debug for LineBuilder<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LineBuilder")
            .field("measurement", &self.measurement)
            .field("fields_written", &self.fields_written)
            .field("timestamp", &self.timestamp)
            .field("error", &self.error)
            .finish_non_exhaustive()
    }
}

impl LineBuilder<'_> {
    /// Adds a tag. Its key must sort after the previous tag's, and come before any field.
    pub fn tag(mut self, key: &str, value: &str) -> Self {
        if self.error.is_none()
            && let Err(e) = self.write_tag(key, value)
        {
            self.error = Some(e);
        }
        self
    }

    /// Adds a field (anything `Into<FieldValue>`: numbers, `bool`, strings; a `&str` is
    /// copied into a `String` first, which [`field_str`](Self::field_str) avoids).
    pub fn field(mut self, key: &str, value: impl Into<FieldValue>) -> Self {
        if self.error.is_none() {
            let value = value.into();
            if let Err(e) = self.write_field(key, FieldRef::Value(&value)) {
                self.error = Some(e);
            }
        }
        self
    }

    /// Adds a string field without copying it first.
    pub fn field_str(mut self, key: &str, value: &str) -> Self {
        if self.error.is_none()
            && let Err(e) = self.write_field(key, FieldRef::Str(value))
        {
            self.error = Some(e);
        }
        self
    }

    /// Sets the timestamp (a bare `i64` is in the write's precision, a
    /// [`Timestamp`] with a unit is converted); without one the server uses
    /// its time.
    pub fn timestamp(mut self, ts: impl Into<Timestamp>) -> Self {
        self.timestamp = Some(ts.into());
        self
    }

    /// Writes the line (or, when no field is left, counts it as skipped and writes nothing).
    /// On error the encoder is left as it was before [`LineEncoder::line`].
    pub fn finish(mut self) -> Result<(), Error> {
        self.finished = true;
        let result = self.finish_inner();
        if result.is_err() {
            self.encoder.rollback(self.mark);
        }
        result
    }

    fn finish_inner(&mut self) -> Result<(), Error> {
        if let Some(e) = self.error.take() {
            return Err(e);
        }
        if self.fields_written == 0 {
            // Default tags left out for an empty value are counted, as for a point.
            if !self.in_fields {
                self.write_remaining_tags()?;
            }
            let encoder = &mut *self.encoder;
            encoder.buf.truncate(self.mark.len);
            encoder.stats.skipped_records += 1;
            return Ok(());
        }
        if let Some(ts) = self.timestamp {
            let encoder = &mut *self.encoder;
            let value =
                ts.in_precision(encoder.precision)
                    .ok_or_else(|| Error::TimestampOutOfRange {
                        measurement: snippet(self.measurement),
                        timestamp: ts.resolve(encoder.precision),
                    })?;
            encoder.buf.push(b' ');
            encoder.timestamps.write(&mut encoder.buf, value);
        }
        self.encoder.end_line();
        Ok(())
    }

    /// Writes what is left of the tags before the fields: the collected tags in the encoder's
    /// tag order, merged with the default tags, or (without a tag order, where the line's
    /// tags are already written) the remaining default tags.
    fn write_remaining_tags(&mut self) -> Result<(), Error> {
        if self.encoder.tag_order.is_empty() {
            self.write_defaults_before(None);
            return Ok(());
        }
        let encoder = &mut *self.encoder;
        let mut tags = std::mem::take(&mut encoder.pending_tags);
        let order = std::sync::Arc::clone(&encoder.tag_order);
        tags.sort_by(|a, b| crate::encoder::tag_cmp(&order, &a.0, &b.0));
        let result = match tags.windows(2).find(|w| w[0].0 == w[1].0) {
            Some(w) => Err(Error::DuplicateTagKey {
                measurement: snippet(self.measurement),
                key: snippet(&w[0].0),
            }),
            None => encoder.write_sorted_tags(
                self.measurement,
                tags.iter().map(|(k, v)| (k.as_str(), v.as_str())),
            ),
        };
        tags.clear();
        encoder.pending_tags = tags;
        result
    }

    /// Writes the default tags whose keys sort before `key` (all of them for `None`), and
    /// skips the one equal to it, which the line's own tag overrides.
    fn write_defaults_before(&mut self, key: Option<&str>) {
        let encoder = &mut *self.encoder;
        let defaults = &encoder.default_tags;
        while let Some(default) = defaults.get(self.next_default) {
            if key.is_some_and(|key| {
                crate::encoder::tag_cmp(&encoder.tag_order, &default.key, key)
                    == std::cmp::Ordering::Greater
            }) {
                break;
            }
            self.next_default += 1;
            if key.is_some_and(|key| default.key == key) {
                break;
            }
            match &default.encoded {
                Some(encoded) => crate::encoder::put(&mut encoder.buf, encoded),
                None => encoder.stats.dropped_tags += 1,
            }
        }
    }

    fn write_tag(&mut self, key: &str, value: &str) -> Result<(), Error> {
        let measurement = self.measurement;
        let out_of_place = |reason| Error::InvalidTagKey {
            measurement: snippet(measurement),
            key: snippet(key),
            reason,
        };
        if self.in_fields {
            return Err(out_of_place(
                "a line's tags must all be added before its first field",
            ));
        }
        if !self.encoder.tag_order.is_empty() {
            // Collected, and ordered before the first field.
            self.encoder
                .pending_tags
                .push((key.to_owned(), value.to_owned()));
            self.has_tag = true;
            return Ok(());
        }
        if self.has_tag {
            let previous = self.encoder.last_tag_key.as_str();
            if key == previous {
                return Err(Error::DuplicateTagKey {
                    measurement: snippet(measurement),
                    key: snippet(key),
                });
            }
            if key < previous {
                return Err(out_of_place(
                    "a line's tags must be added sorted by key, and this key sorts before the \
                     previous tag's",
                ));
            }
        }
        self.write_defaults_before(Some(key));
        self.encoder.write_tag(measurement, key, value)?;
        self.has_tag = true;
        self.encoder.last_tag_key.clear();
        self.encoder.last_tag_key.push_str(key);
        Ok(())
    }

    fn write_field(&mut self, key: &str, value: FieldRef<'_>) -> Result<(), Error> {
        let encoder = &mut *self.encoder;
        let mut start = 0;
        for &end in &encoder.field_key_ends {
            if &encoder.field_keys[start..end] == key {
                return Err(Error::DuplicateFieldKey {
                    measurement: snippet(self.measurement),
                    key: snippet(key),
                });
            }
            start = end;
        }
        encoder.field_keys.push_str(key);
        encoder.field_key_ends.push(encoder.field_keys.len());
        if !self.in_fields {
            self.write_remaining_tags()?;
            self.encoder.buf.push(b' ');
            self.in_fields = true;
        }
        let first = self.fields_written == 0;
        let written = match value {
            FieldRef::Value(value) => {
                self.encoder
                    .write_field(self.measurement, key, value, first)?
            }
            FieldRef::Str(value) => {
                self.encoder
                    .write_str_field(self.measurement, key, value, first)?;
                true
            }
        };
        if written {
            self.fields_written += 1;
        }
        Ok(())
    }
}

impl Drop for LineBuilder<'_> {
    fn drop(&mut self) {
        if !self.finished {
            self.encoder.rollback(self.mark);
        }
    }
}

/// A field value to write: owned by the caller as a [`FieldValue`] or a borrowed string.
enum FieldRef<'v> {
    Value(&'v FieldValue),
    Str(&'v str),
}
