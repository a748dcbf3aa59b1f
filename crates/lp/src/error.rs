//! The encoding error.

use crate::Timestamp;

/// Why a record could not be encoded as line protocol.
///
/// Every variant says what was wrong and where: the measurement and key for points, the line
/// number for ready line protocol, the row and column for Arrow batches. Long values are cut
/// to their first 100 characters in the error.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The measurement name cannot be written.
    #[error("invalid measurement {measurement:?}: {reason}")]
    InvalidMeasurement {
        /// The measurement name.
        measurement: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// A tag key cannot be written.
    #[error("measurement {measurement:?}: invalid tag key {key:?}: {reason}")]
    InvalidTagKey {
        /// The measurement of the record.
        measurement: String,
        /// The tag key.
        key: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// A tag value cannot be written.
    #[error("measurement {measurement:?}: invalid value {value:?} of tag {key:?}: {reason}")]
    InvalidTagValue {
        /// The measurement of the record.
        measurement: String,
        /// The tag key.
        key: String,
        /// The tag value.
        value: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// A field key cannot be written.
    #[error("measurement {measurement:?}: invalid field key {key:?}: {reason}")]
    InvalidFieldKey {
        /// The measurement of the record.
        measurement: String,
        /// The field key.
        key: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// A string field value is longer than the server accepts (1 MiB).
    #[error(
        "measurement {measurement:?}: string field {key:?} is {len} bytes long, more than the server's limit of 1048576 bytes"
    )]
    FieldValueTooLong {
        /// The measurement of the record.
        measurement: String,
        /// The field key.
        key: String,
        /// The length of the value in bytes.
        len: usize,
    },
    /// The same tag key appears twice in one record (the server would accept the line and
    /// break the table).
    #[error("measurement {measurement:?}: tag key {key:?} appears more than once")]
    DuplicateTagKey {
        /// The measurement of the record.
        measurement: String,
        /// The repeated key.
        key: String,
    },
    /// The same field key appears twice in one record.
    #[error("measurement {measurement:?}: field key {key:?} appears more than once")]
    DuplicateFieldKey {
        /// The measurement of the record.
        measurement: String,
        /// The repeated key.
        key: String,
    },
    /// The timestamp does not fit in i64 nanoseconds, so the server would reject it.
    #[error(
        "measurement {measurement:?}: timestamp {timestamp} is out of range (it must fit in i64 nanoseconds, 1677-09-21 to 2262-04-11)"
    )]
    TimestampOutOfRange {
        /// The measurement of the record.
        measurement: String,
        /// The timestamp.
        timestamp: Timestamp,
    },
    /// Ready line protocol is not valid (for [`Validated`](crate::Validated) input, or text
    /// that is not UTF-8).
    #[error("line {line_number}: {message}: {line:?}")]
    InvalidLineProtocol {
        /// The 1-based line number, counted as the server counts (blank and comment lines
        /// skipped).
        line_number: usize,
        /// What is wrong, in the server's wording where the server would reject the line.
        message: String,
        /// The line (cut to 100 characters).
        line: String,
    },
    /// A row of an Arrow batch could not be encoded.
    #[error("row {row}: {source}")]
    Row {
        /// The row number (counted from the batch's
        /// [`row_offset`](crate::RecordBatchLines::row_offset)).
        row: u64,
        /// What was wrong in that row.
        source: Box<Error>,
    },
    /// A column named by the [`TableMapping`](crate::TableMapping) is not in the batch.
    #[error("{role} column {column:?} is not in the batch; its columns are {available:?}")]
    MissingColumn {
        /// What the column was to hold (`tag`, `timestamp`).
        role: &'static str,
        /// The missing column.
        column: String,
        /// The columns the batch has.
        available: Vec<String>,
    },
    /// A column's Arrow type cannot be written in its role.
    #[error("column {column:?} has type {data_type}, which cannot be written as a {role}")]
    UnsupportedColumnType {
        /// The column.
        column: String,
        /// Its Arrow data type.
        data_type: String,
        /// What the column was to hold (`field`, `tag`, `timestamp`, `measurement`).
        role: &'static str,
    },
    /// A row has a null where a value is required (the timestamp or the measurement).
    #[error("row {row}: column {column:?} is null, but it holds the {role}")]
    NullValue {
        /// The row number (counted from the batch's row offset).
        row: u64,
        /// The column.
        column: String,
        /// What the column holds (`timestamp`, `measurement`).
        role: &'static str,
    },
    /// A batch has no measurement: no fixed name and no `measurement` or `iox::measurement`
    /// column.
    #[error(
        "no measurement: set TableMapping::measurement or add a `measurement` or `iox::measurement` column; the batch's columns are {available:?}"
    )]
    NoMeasurement {
        /// The columns the batch has.
        available: Vec<String>,
    },
}

/// At most 100 characters of `s`, with `…` when cut.
pub(crate) fn snippet(s: &str) -> String {
    const MAX: usize = 100;
    match s.char_indices().nth(MAX) {
        None => s.to_owned(),
        Some((end, _)) => format!("{}…", &s[..end]),
    }
}
