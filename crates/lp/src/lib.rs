//! InfluxDB 3 line protocol: build points, validate and escape them exactly as the server
//! parses them, encode them (and Arrow `RecordBatch`es, column by column) into a reusable
//! buffer, and parse line protocol the way the server does.
//!
//! No I/O and no async: this crate turns records into the bytes of a write request body.
//!
//! - [`Point`], [`FieldValue`], [`Timestamp`], [`Precision`]: the data model.
//! - [`LineEncoder`]: appends records to a byte buffer, checking everything the server would
//!   reject or mangle; [`EncodeStats`] counts what was left out (NaN fields, empty tags, points
//!   with no fields), so nothing is dropped silently. [`LineEncoder::line`] starts a
//!   [`LineBuilder`], which writes one line straight into the buffer without a `Point`.
//! - [`ToLineProtocol`]: anything an encoder can append: points, ready line protocol text
//!   (optionally [`Validated`]), slices and `Vec`s, and with the `arrow` feature (on by default)
//!   [`RecordBatchLines`] configured by a [`TableMapping`].
//! - [`parse_lines`]: the server's parser, with its error messages and line numbering;
//!   [`lines`]: the server's rule for where a line ends.
//!
//! # Example
//!
//! ```
//! use influxdb3_lp::{LineEncoder, Point, Precision, parse_lines};
//!
//! let mut encoder = LineEncoder::new(Precision::Seconds);
//! encoder.encode(
//!     &Point::new("home")
//!         .tag("room", "Living Room")
//!         .field("temp", 21.1)
//!         .field("hum", 35.9)
//!         .field("co", 0)
//!         .timestamp(1_641_024_000), // in the write precision: seconds
//! )?;
//! encoder.encode(&Point::new("home").field("temp", f64::NAN))?; // no field left: skipped
//! assert_eq!(
//!     encoder.as_bytes(),
//!     b"home,room=Living\\ Room temp=21.1,hum=35.9,co=0i 1641024000\n"
//! );
//! assert_eq!(encoder.stats().skipped_records, 1);
//!
//! // The parser reads it back as the server would.
//! let body = std::str::from_utf8(encoder.as_bytes()).unwrap();
//! let line = parse_lines(body).next().unwrap().unwrap();
//! assert_eq!(line.tags[0].1, "Living Room");
//!
//! // Validation errors say what and where.
//! let err = encoder.encode(&Point::new("home").tag("time", "x").field("v", 1)).unwrap_err();
//! assert!(err.to_string().contains("reserved"));
//! # Ok::<(), influxdb3_lp::Error>(())
//! ```
//!
//! # Features
//!
//! - `arrow` (default): [`TableMapping`] and [`RecordBatchLines`].
//! - `chrono`: `From<chrono::DateTime<Tz>>` for [`Timestamp`].

mod encoder;
mod error;
mod line;
mod number;
mod parser;
mod point;

#[cfg(feature = "arrow")]
mod arrow;

#[cfg(feature = "arrow")]
pub use crate::arrow::{RecordBatchLines, TableMapping};
pub use crate::encoder::{EncodeStats, Encoded, LineEncoder, ToLineProtocol, Validated};
pub use crate::error::Error;
pub use crate::line::LineBuilder;
pub use crate::parser::{LineParser, Lines, ParseError, ParsedLine, lines, parse_lines};
pub use crate::point::{FieldValue, ParsePrecisionError, Point, Precision, Timestamp};
