//! A Rust client for InfluxDB 3: write line protocol over HTTP (at once or batched, with
//! retries and callbacks), write feather/parquet/CSV/JSON/ORC files, and query with SQL or
//! InfluxQL over Arrow Flight.
//!
//! It mirrors the Python client `influxdb3-python` (module `influxdb_client_3`):
//!
//! | Python | Rust |
//! |---|---|
//! | `InfluxDBClient3(host, database, token, write_client_options, flight_client_options)` | [`Client::builder`]`(host).database(..).token(..).write_client_options(..).flight_client_options(..).build()`, [`Client::from_env`], [`Client::from_connection_string`] |
//! | `client.write(record, write_precision="s")` | [`client.write(record)`](Client::write), [`client.write_with(record, WriteCall::new().precision(Precision::Seconds))`](Client::write_with) |
//! | records: `Point`, dict, line protocol string, DataFrame | [`Point`], [`Record`] (dict shape) and `#[derive(ToLineProtocol)]` structs, `&str`/`String`, [`RecordBatchLines`] (Arrow batch + [`TableMapping`]), `Vec`s of these |
//! | `client.write_file(file, measurement_name, tag_columns, timestamp_column, ...)` | [`client.write_file(path)`](Client::write_file)`.measurement_name(..).tag_columns(..).timestamp_column(..).await` → [`WriteReport`] |
//! | `client.query(q, language="influxql", mode=..., timeout=5)` | [`query`](Client::query) / [`query_stream`](Client::query_stream) / [`query_chunks`](Client::query_chunks) / [`query_schema`](Client::query_schema) with SQL text or a [`Query`] (`Query::influxql`, `.timeout(..)`, `.param(..)`) |
//! | `client.close()` | [`client.close().await`](Client::close) |
//! | `WriteOptions(...)`, `SYNCHRONOUS` | [`WriteOptions`] (same defaults, as `Duration`s), [`SYNCHRONOUS`] / [`WriteMode`] |
//! | `write_client_options(...)`, `flight_client_options(...)` | [`WriteClientOptions`], [`FlightClientOptions`] |
//! | `WritePrecision`, `InfluxDBError` | [`WritePrecision`] (= [`Precision`]), [`InfluxDBError`] (= [`Error`]) |
//!
//! # Example
//!
//! ```no_run
//! use influxdb_client_3::{Client, Point, Precision, Query, WriteCall};
//!
//! # #[tokio::main] async fn main() -> Result<(), influxdb_client_3::Error> {
//! let client = Client::builder("http://localhost:8181")
//!     .database("sensors")
//!     .token("apiv3_...")
//!     .build()?;
//!
//! let point = Point::new("home").tag("room", "Kitchen").field("temp", 21.5).field("hum", 0.25);
//! client.write(point).await?;
//!
//! let line = "home,room=Living\\ Room temp=21.1,hum=35.9,co=0i 1641024000";
//! client.write_with(line, WriteCall::new().precision(Precision::Seconds)).await?;
//!
//! let table = client.query("SELECT * FROM home WHERE time >= now() - INTERVAL '90 days'").await?;
//! println!("{table}");
//! client.close().await?;
//! # Ok(()) }
//! ```
//!
//! # User structs
//!
//! With the default `derive` feature, `#[derive(ToLineProtocol)]` writes plain structs (see
//! [`influxdb3_derive`] for the attributes). The generated code names
//! `::influxdb_client_3::lp`, so no other dependency is needed:
//!
//! ```
//! use influxdb_client_3::ToLineProtocol;
//!
//! #[derive(ToLineProtocol)]
//! #[influxdb(measurement = "home")]
//! struct Reading {
//!     #[influxdb(tag)]
//!     room: String,
//!     temp: f64,
//!     #[influxdb(timestamp, precision = "s")]
//!     time: i64,
//! }
//! # let mut e = influxdb_client_3::lp::LineEncoder::new(influxdb_client_3::Precision::Seconds);
//! # e.encode(&Reading { room: "Kitchen".into(), temp: 21.5, time: 1 }).unwrap();
//! # assert_eq!(e.as_bytes(), b"home,room=Kitchen temp=21.5 1\n");
//! ```
//!
//! # Modes
//!
//! Without write options, every write is sent at once and returns the server's answer
//! (synchronous mode, the default as in Python). With
//! `WriteClientOptions::new().write_options(WriteOptions::default())`, writes go to a
//! background writer that batches, retries, reports to the callbacks and applies
//! backpressure; [`Client::flush`] and [`Client::close`] deliver what it holds.
//!
//! For code that is not async, [`blocking::Client`] has the same methods.

mod client;
mod config;
mod error;
#[cfg(feature = "ingest")]
mod file;
mod options;
mod record;

pub mod blocking;

pub use crate::client::{Client, ClientBuilder, WriteResult};
pub use crate::error::Error;
#[cfg(feature = "ingest")]
pub use crate::file::{FileProgress, WriteFile, WriteReport};
pub use crate::options::{SYNCHRONOUS, WriteCall, WriteClientOptions, WriteMode};
pub use crate::record::{Record, RecordTime};

/// The line protocol crate, `influxdb3-lp` (the path `#[derive(ToLineProtocol)]` uses).
pub use influxdb3_lp as lp;
pub use influxdb3_lp::{
    EncodeStats, FieldValue, Point, Precision, RecordBatchLines, TableMapping, Timestamp,
    ToLineProtocol, Validated,
};

/// `#[derive(ToLineProtocol)]` for user structs; see [`influxdb3_derive`].
#[cfg(feature = "derive")]
pub use influxdb3_derive::ToLineProtocol;

pub use influxdb3_write::{
    AuthScheme, BatchContext, CloseSummary, Endpoint, FlushSummary, LineError, ServerInfo,
    WriteObserver, WriteOptions,
};

pub use influxdb3_query::{
    Chunk, ChunkStream, Code, FlightOptions, ParamValue, PointRow, Query, QueryLanguage,
    QueryResult, RecordBatch, RecordBatchStream, SchemaRef, Value,
};

#[cfg(feature = "ingest")]
pub use influxdb3_ingest::{FileFormat, FileParserOptions};

/// The file parser options of each format, from `influxdb3-ingest`.
#[cfg(feature = "ingest")]
pub mod ingest {
    pub use influxdb3_ingest::*;
}

/// Python's `WritePrecision`: the unit of written timestamps.
pub type WritePrecision = Precision;

/// Python's `InfluxDBError`: the error of every operation.
pub type InfluxDBError = Error;

/// Python's `flight_client_options`: options of the Flight (query) connection.
pub type FlightClientOptions = FlightOptions;

/// The README's code blocks, compiled as doctests so that the tour stays true.
#[doc = include_str!("../../../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;
