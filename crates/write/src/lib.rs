//! The InfluxDB 3 write path: an HTTP transport, synchronous writes and a batching writer.
//!
//! Line protocol (from [`influxdb3_lp`]) goes to the server through a [`WriteTransport`];
//! [`HttpTransport`] is the real one (hyper 1, rustls on `ring`, gzip, timeouts, proxy).
//! There are two writing modes, as in the official Python client:
//!
//! - **Synchronous** ([`write_now`]): the body is sent at once; the first failure is
//!   returned; no retries, no callbacks.
//! - **Batching** ([`Writer`]): lines are collected in the background and sent in batches
//!   with retries ([`WriteOptions`]); every outcome goes to a [`WriteObserver`] (or
//!   [`Callbacks`]); memory is bounded with backpressure; [`Writer::close`] flushes and hands
//!   back anything undelivered.
//!
//! Synchronous:
//!
//! ```no_run
//! # async fn run() -> Result<(), influxdb3_write::Error> {
//! use influxdb3_lp::{LineEncoder, Precision};
//! use influxdb3_write::{Endpoint, HttpTransport, WriteParams, write_now};
//!
//! let transport = HttpTransport::builder("http://localhost:8181").token("apiv3_...").build()?;
//! let params = WriteParams::new("sensors")
//!     .precision(Precision::Seconds)
//!     .endpoint(Endpoint::V3)
//!     .accept_partial(false);
//! let mut encoder = LineEncoder::new(params.precision);
//! encoder.encode("home,room=kitchen temp=21.5 1700000000")?;
//! match write_now(&transport, &params, encoder.take()).await {
//!     Ok(outcome) => println!("{} lines written", outcome.lines),
//!     Err(err) => {
//!         for line in err.line_errors() {
//!             eprintln!("line {}: {}", line.line_number(), line.message());
//!         }
//!     }
//! }
//! # Ok(())
//! # }
//! ```
//!
//! Batching:
//!
//! ```no_run
//! # async fn run() -> Result<(), influxdb3_write::Error> {
//! use std::time::Duration;
//! use influxdb3_lp::Point;
//! use influxdb3_write::{Callbacks, HttpTransport, WriteOptions, WriteParams, Writer};
//!
//! let transport = HttpTransport::builder("http://localhost:8181").token("apiv3_...").build()?;
//! let options = WriteOptions::default()
//!     .batch_size(5_000)
//!     .flush_interval(Duration::from_millis(500))
//!     .max_in_flight(4);
//! let callbacks = Callbacks::new()
//!     .on_success(|ctx, _| println!("{} lines in {}", ctx.lines, ctx.database))
//!     .on_error(|ctx, _, err| eprintln!("{} lines failed: {err}", ctx.lines))
//!     .on_retry(|ctx, _, err| eprintln!("attempt {} failed, retrying: {err}", ctx.attempt));
//! let writer = Writer::new(transport, options, callbacks);
//!
//! let params = WriteParams::new("sensors");
//! writer.write(&params, &Point::new("home").field("temp", 21.5)).await?;
//! writer.flush().await?;
//! let summary = writer.close().await?;
//! assert_eq!(summary.failed_lines, 0);
//! # Ok(())
//! # }
//! ```

mod connect;
mod error;
mod lines;
mod observer;
mod options;
mod params;
mod sync;
mod transport;
mod writer;

pub use crate::error::{Error, ErrorKind, LineError};
pub use crate::observer::{BatchContext, Callbacks, WriteObserver};
pub use crate::options::WriteOptions;
pub use crate::params::{Endpoint, WriteParams};
pub use crate::sync::{MAX_REQUEST_BYTES, WriteOutcome, write_encoded_now, write_now};
pub use crate::transport::{
    AuthScheme, Body, HttpTransport, HttpTransportBuilder, ServerInfo, WriteTransport,
};
pub use crate::writer::{CloseSummary, FlushSummary, Writer};
