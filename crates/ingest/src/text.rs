//! What CSV and JSON share: timestamp columns and locating errors in text.

use arrow_schema::{DataType, Field, Schema, TimeUnit};

use crate::source::SourceFile;
use crate::{Error, ErrorKind};

/// The type text timestamps are read as: nanoseconds since the Unix epoch, UTC.
///
/// Strings with an offset (`Z`, `+02:00`) are converted to UTC; strings without one are
/// taken as UTC.
pub(crate) const TIMESTAMP: DataType = DataType::Timestamp(TimeUnit::Nanosecond, None);

/// Turns inferred columns into timestamps.
///
/// A column becomes [`TIMESTAMP`] when it is named in `forced` and was inferred as text or
/// a date, or when `auto(index, field)` says its sampled values all look like timestamps.
/// Forced names that are not columns are a schema error.
pub(crate) fn promote_timestamps(
    schema: Schema,
    forced: &[String],
    file: &SourceFile,
    auto: impl Fn(usize, &Field) -> bool,
) -> Result<Schema, Error> {
    for name in forced {
        if schema.field_with_name(name).is_err() {
            let available: Vec<&str> = schema.fields().iter().map(|f| f.name().as_str()).collect();
            return Err(file
                .error(
                    ErrorKind::Schema,
                    format!(
                        "timestamp column `{name}` is not in the file; its columns are {}",
                        available.join(", ")
                    ),
                )
                .with_column(name.clone()));
        }
    }
    let fields: Vec<Field> = schema
        .fields()
        .iter()
        .enumerate()
        .map(|(index, field)| {
            let textual = matches!(
                field.data_type(),
                DataType::Utf8 | DataType::LargeUtf8 | DataType::Date32 | DataType::Date64
            );
            let promote = match field.data_type() {
                DataType::Timestamp(..) => true,
                _ if textual && forced.iter().any(|n| n == field.name()) => true,
                DataType::Utf8 | DataType::LargeUtf8 => auto(index, field),
                _ => false,
            };
            if promote {
                field.as_ref().clone().with_data_type(TIMESTAMP)
            } else {
                field.as_ref().clone()
            }
        })
        .collect();
    Ok(Schema::new_with_metadata(fields, schema.metadata().clone()))
}

/// Whether a sampled string is a date-time that [`TIMESTAMP`] parsing accepts
/// (RFC 3339 / ISO 8601 with a time part; a bare date is not taken as a timestamp).
#[cfg(feature = "json")]
pub(crate) fn looks_like_timestamp(s: &str) -> bool {
    s.len() > 10
        && matches!(s.as_bytes().get(10), Some(b'T' | b't' | b' '))
        && arrow_cast::parse::string_to_timestamp_nanos(s).is_ok()
}

/// Finds the number after `word ` in an Arrow error message (`line 4`, `column 2`).
///
/// Arrow's CSV reader names lines and columns only in its messages; this recovers them so
/// that our error can carry them as fields.
#[cfg(feature = "csv")]
pub(crate) fn number_after(message: &str, word: &str) -> Option<u64> {
    let pattern = format!("{word} ");
    let start = message.find(&pattern)? + pattern.len();
    let digits: String = message[start..]
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    digits.parse().ok()
}
