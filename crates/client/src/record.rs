//! [`Record`]: the Python client's dict form of a point.

use influxdb3_lp::{Error as LpError, FieldValue, LineEncoder, Point, Timestamp, ToLineProtocol};
use serde_json::Value;

use crate::Error;

/// A point given in the shape of the Python client's dict records:
/// `{"measurement": .., "tags": {..}, "fields": {..}, "time": ..}`.
///
/// - `measurement` (string, required);
/// - `tags` (object of strings; numbers and booleans are written as text; `null` leaves the
///   tag out), optional;
/// - `fields` (object of numbers, strings and booleans; integers are written as integers,
///   other numbers as floats; `null` leaves the field out; written sorted by key), required;
/// - `time` (optional): an integer **in the precision of the write**, as in Python
///   (`1641067200` written with [`Precision::Seconds`](crate::Precision) is 2022-01-01T20:00Z),
///   or an RFC 3339 / ISO 8601 date-time string (`"2022-01-01T20:00:00Z"`,
///   `"2022-01-01T21:00:00.5+01:00"`; without an offset it is UTC, as in Python), written in
///   the write's precision, rounded down.
///
/// Any other key, or a value of the wrong type, is an error naming the key.
///
/// ```
/// use influxdb_client_3::lp::{LineEncoder, Precision};
/// use influxdb_client_3::Record;
/// use serde_json::json;
///
/// let record = Record::from_json(&json!({
///     "measurement": "home",
///     "tags": {"room": "Kitchen", "sensor": "K001"},
///     "fields": {"temp": 72.2, "hum": 36.9, "co": 4},
///     "time": 1641067200
/// }))?;
/// let mut encoder = LineEncoder::new(Precision::Seconds);
/// encoder.encode(&record)?;
/// assert_eq!(encoder.as_bytes(), b"home,room=Kitchen,sensor=K001 co=4i,hum=36.9,temp=72.2 1641067200\n");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct Record {
    point: Point,
    time: Option<RecordTime>,
}

/// The `time` of a [`Record`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RecordTime {
    /// An integer: a count of units of the precision the record is written in.
    InWritePrecision(i64),
    /// A date-time string: an instant, converted to the write's precision when written.
    At(Timestamp),
}

impl Record {
    /// Reads a dict-shaped JSON object; see the type's documentation for the shape.
    pub fn from_json(value: &Value) -> Result<Record, Error> {
        let object = value.as_object().ok_or_else(|| {
            Error::config(format!(
                "a record must be a JSON object with `measurement`, `tags`, `fields` and `time`, not {}",
                kind(value)
            ))
        })?;
        for key in object.keys() {
            if !matches!(key.as_str(), "measurement" | "tags" | "fields" | "time") {
                return Err(Error::config(format!(
                    "record key `{key}` is not known; a record has `measurement`, `tags`, `fields` and `time`"
                )));
            }
        }
        let measurement = match object.get("measurement") {
            Some(Value::String(m)) => m,
            Some(other) => {
                return Err(Error::config(format!(
                    "record key `measurement` must be a string, not {}",
                    kind(other)
                )));
            }
            None => return Err(Error::config("the record has no `measurement`")),
        };
        let mut point = Point::new(measurement.as_str());
        match object.get("tags") {
            None | Some(Value::Null) => {}
            Some(Value::Object(tags)) => {
                for (key, value) in tags {
                    let text = match value {
                        Value::Null => continue,
                        Value::String(s) => s.clone(),
                        Value::Number(n) => n.to_string(),
                        Value::Bool(b) => b.to_string(),
                        other => {
                            return Err(Error::config(format!(
                                "record tag `tags.{key}` must be a string, not {}",
                                kind(other)
                            )));
                        }
                    };
                    point = point.tag(key.as_str(), text);
                }
            }
            Some(other) => {
                return Err(Error::config(format!(
                    "record key `tags` must be an object, not {}",
                    kind(other)
                )));
            }
        }
        match object.get("fields") {
            Some(Value::Object(fields)) => {
                // Sorted by key, whatever order the JSON map keeps.
                let mut fields: Vec<(&String, &Value)> = fields.iter().collect();
                fields.sort_by(|a, b| a.0.cmp(b.0));
                for (key, value) in fields {
                    let value = match value {
                        Value::Null => continue,
                        Value::Bool(b) => FieldValue::Boolean(*b),
                        Value::String(s) => FieldValue::String(s.clone()),
                        Value::Number(n) => {
                            if let Some(i) = n.as_i64() {
                                FieldValue::Integer(i)
                            } else if let Some(u) = n.as_u64() {
                                FieldValue::UInteger(u)
                            } else if let Some(f) = n.as_f64() {
                                FieldValue::Float(f)
                            } else {
                                return Err(Error::config(format!(
                                    "record field `fields.{key}` is the number {n}, which is not representable"
                                )));
                            }
                        }
                        other => {
                            return Err(Error::config(format!(
                                "record field `fields.{key}` must be a number, string or boolean, not {}",
                                kind(other)
                            )));
                        }
                    };
                    point = point.field(key.as_str(), value);
                }
            }
            Some(other) => {
                return Err(Error::config(format!(
                    "record key `fields` must be an object, not {}",
                    kind(other)
                )));
            }
            None => return Err(Error::config("the record has no `fields`")),
        }
        let time = match object.get("time") {
            None | Some(Value::Null) => None,
            Some(Value::Number(n)) => Some(RecordTime::InWritePrecision(n.as_i64().ok_or_else(
                || {
                    Error::config(format!(
                        "record key `time` must be an integer in the write precision or an RFC 3339 date-time string, not {n}"
                    ))
                },
            )?)),
            Some(Value::String(text)) => Some(RecordTime::At(parse_date_time(text)?)),
            Some(other) => {
                return Err(Error::config(format!(
                    "record key `time` must be an integer in the write precision or an RFC 3339 date-time string, not {}",
                    kind(other)
                )));
            }
        };
        Ok(Record { point, time })
    }

    /// The point, without the timestamp (which depends on the write precision).
    pub fn point(&self) -> &Point {
        &self.point
    }

    /// The `time` value, if the record has one.
    pub fn time(&self) -> Option<RecordTime> {
        self.time
    }
}

impl TryFrom<&Value> for Record {
    type Error = Error;

    fn try_from(value: &Value) -> Result<Self, Self::Error> {
        Record::from_json(value)
    }
}

impl TryFrom<Value> for Record {
    type Error = Error;

    fn try_from(value: Value) -> Result<Self, Self::Error> {
        Record::from_json(&value)
    }
}

impl ToLineProtocol for Record {
    fn encode_to(&self, encoder: &mut LineEncoder) -> Result<(), LpError> {
        let timestamp = match self.time {
            None => return encoder.write_point(&self.point),
            Some(RecordTime::InWritePrecision(t)) => Timestamp::new(t, encoder.precision()),
            Some(RecordTime::At(t)) => t,
        };
        encoder.write_point(&self.point.clone().timestamp(timestamp))
    }
}

/// An RFC 3339 / ISO 8601 date-time (`T` or a space between date and time, any fraction of a
/// second, `Z` or a `±hh:mm` offset, UTC without one) as nanoseconds since the epoch.
fn parse_date_time(text: &str) -> Result<Timestamp, Error> {
    let trimmed = text.trim();
    let instant = chrono::DateTime::parse_from_rfc3339(trimmed)
        .map(|t| t.to_utc())
        .or_else(|_| {
            ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%d %H:%M:%S%.f"]
                .iter()
                .find_map(|format| chrono::NaiveDateTime::parse_from_str(trimmed, format).ok())
                .map(|t| t.and_utc())
                .ok_or(())
        })
        .map_err(|()| {
            Error::config(format!(
                "record key `time` is the string {text:?}, which is not an RFC 3339 date-time \
                 such as \"2022-01-01T20:00:00Z\""
            ))
        })?;
    let nanos = instant.timestamp_nanos_opt().ok_or_else(|| {
        Error::config(format!(
            "record key `time` is {text:?}, outside the range InfluxDB can store \
             (1677-09-21 to 2262-04-11)"
        ))
    })?;
    Ok(Timestamp::from_nanos(nanos))
}

fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use influxdb3_lp::Precision;
    use serde_json::json;

    fn err(value: Value) -> String {
        Record::from_json(&value)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default()
    }

    #[test]
    fn time_is_in_the_write_precision() -> Result<(), Box<dyn std::error::Error>> {
        let r = Record::from_json(
            &json!({"measurement": "m", "fields": {"v": 1.5, "u": 18446744073709551615u64, "s": "x", "b": true, "n": null}, "time": 7}),
        )?;
        let mut e = LineEncoder::new(Precision::Milliseconds);
        e.encode(&r)?;
        assert_eq!(
            e.as_bytes(),
            b"m b=true,s=\"x\",u=18446744073709551615u,v=1.5 7\n"
        );
        Ok(())
    }

    #[test]
    fn errors_name_the_bad_key() {
        assert!(err(json!([1])).contains("an array"));
        assert!(err(json!({"measurement": "m", "fields": {"v": 1}, "tim": 1})).contains("`tim`"));
        assert!(err(json!({"fields": {"v": 1}})).contains("`measurement`"));
        assert!(err(json!({"measurement": 3, "fields": {"v": 1}})).contains("`measurement`"));
        assert!(err(json!({"measurement": "m"})).contains("`fields`"));
        assert!(err(json!({"measurement": "m", "fields": {"v": [1]}})).contains("`fields.v`"));
        assert!(
            err(json!({"measurement": "m", "tags": {"t": {}}, "fields": {"v": 1}}))
                .contains("`tags.t`")
        );
        assert!(
            err(json!({"measurement": "m", "fields": {"v": 1}, "time": 1.5})).contains("`time`")
        );
        assert!(
            err(json!({"measurement": "m", "fields": {"v": 1}, "time": "2022"})).contains("`time`")
        );
        assert!(
            err(json!({"measurement": "m", "fields": {"v": 1}, "time": "2022-13-01T00:00:00Z"}))
                .contains("\"2022-13-01T00:00:00Z\", which is not an RFC 3339")
        );
        assert!(
            err(json!({"measurement": "m", "fields": {"v": 1}, "time": "2300-01-01T00:00:00Z"}))
                .contains("outside the range")
        );
        assert!(
            err(json!({"measurement": "m", "fields": {"v": 1}, "time": [1]})).contains("an array")
        );
    }

    #[test]
    fn a_date_time_string_is_an_instant_written_in_the_write_precision()
    -> Result<(), Box<dyn std::error::Error>> {
        let encode = |time: &str, precision| -> Result<String, Box<dyn std::error::Error>> {
            let record =
                Record::from_json(&json!({"measurement": "m", "fields": {"v": 1}, "time": time}))?;
            let mut e = LineEncoder::new(precision);
            e.encode(&record)?;
            Ok(String::from_utf8(e.as_bytes().to_vec())?)
        };
        // 2022-01-01T20:00:00Z is 1641067200 s.
        for text in [
            "2022-01-01T20:00:00Z",
            "2022-01-01T21:00:00+01:00",
            "2022-01-01t20:00:00z",
            "2022-01-01T20:00:00",
            "2022-01-01 20:00:00",
            " 2022-01-01T20:00:00.000Z ",
        ] {
            assert_eq!(
                encode(text, Precision::Seconds)?,
                "m v=1i 1641067200\n",
                "{text}"
            );
        }
        assert_eq!(
            encode("2022-01-01T20:00:00.123456789Z", Precision::Nanoseconds)?,
            "m v=1i 1641067200123456789\n"
        );
        assert_eq!(
            encode("2022-01-01T20:00:00.123456789Z", Precision::Milliseconds)?,
            "m v=1i 1641067200123\n"
        );
        // Before the epoch, rounded down (towards the past) like every timestamp.
        assert_eq!(
            encode("1969-12-31T23:59:59.5Z", Precision::Seconds)?,
            "m v=1i -1\n"
        );
        let record = Record::from_json(
            &json!({"measurement": "m", "fields": {"v": 1}, "time": "1970-01-01T00:00:01Z"}),
        )?;
        assert_eq!(
            record.time(),
            Some(RecordTime::At(Timestamp::from_nanos(1_000_000_000)))
        );
        Ok(())
    }
}
