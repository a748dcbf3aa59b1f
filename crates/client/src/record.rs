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
/// - `time` (integer, optional), **in the precision of the write**, as in Python:
///   `1641067200` written with [`Precision::Seconds`](crate::Precision) is 2022-01-01T20:00Z.
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
    time: Option<i64>,
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
            Some(Value::Number(n)) => Some(n.as_i64().ok_or_else(|| {
                Error::config(format!(
                    "record key `time` must be an integer in the write precision, not {n}"
                ))
            })?),
            Some(other) => {
                return Err(Error::config(format!(
                    "record key `time` must be an integer in the write precision, not {}",
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

    /// The `time` value, in the precision of the write.
    pub fn time(&self) -> Option<i64> {
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
        match self.time {
            None => encoder.write_point(&self.point),
            Some(t) => {
                let point = self
                    .point
                    .clone()
                    .timestamp(Timestamp::new(t, encoder.precision()));
                encoder.write_point(&point)
            }
        }
    }
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
    }
}
