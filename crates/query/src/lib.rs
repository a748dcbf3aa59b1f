//! SQL and InfluxQL queries against InfluxDB 3 over Arrow Flight.
//!
//! [`QueryClient`] sends a [`Query`] as a Flight `DoGet` with the JSON ticket every official
//! InfluxDB 3 client sends, and reads the result in one of four ways, after the Python client's
//! `mode`s:
//!
//! - [`QueryClient::query`] (`all`, `pandas`): the whole [`QueryResult`] in memory; print it
//!   as a table, read [`rows`](QueryResult::rows) into your own types with serde, or
//!   [`points`](QueryResult::points) sorted into tags, fields and time.
//! - [`QueryClient::query_stream`] (`reader`): a [`RecordBatchStream`] in bounded memory.
//! - [`QueryClient::query_chunks`] (`chunk`): a [`ChunkStream`] of batches with their
//!   `app_metadata`.
//! - [`QueryClient::query_schema`] (`schema`): the schema alone.
//!
//! ```no_run
//! use std::time::Duration;
//! use futures::TryStreamExt;
//! use influxdb3_query::{FlightOptions, Query, QueryClient};
//!
//! # async fn run() -> Result<(), influxdb3_query::Error> {
//! let client = QueryClient::builder("https://localhost:8181")
//!     .token("apiv3_...")
//!     .database("sensors")
//!     .flight_options(FlightOptions::default().query_timeout(Duration::from_secs(30)))
//!     .build()?;
//!
//! // mode "all": everything in memory, printed as a table.
//! let result = client
//!     .query(Query::sql("SELECT * FROM home WHERE room = $room").param("room", "kitchen"))
//!     .await?;
//! println!("{result}");
//!
//! // InfluxQL.
//! let result = client.query(Query::influxql("SELECT temp FROM home WHERE time > now() - 1h")).await?;
//! println!("{} rows", result.num_rows());
//!
//! // mode "reader": one batch at a time.
//! let mut stream = client.query_stream("SELECT * FROM home").await?;
//! while let Some(batch) = stream.try_next().await? {
//!     println!("{} rows", batch.num_rows());
//! }
//!
//! // mode "chunk": batches with app_metadata.
//! let mut chunks = client.query_chunks("SELECT * FROM home").await?;
//! while let Some(chunk) = chunks.try_next().await? {
//!     println!("{} rows", chunk.data.num_rows());
//! }
//!
//! // mode "schema".
//! let schema = client.query_schema("SELECT * FROM home").await?;
//! println!("{schema:?}");
//! # Ok(()) }
//! ```
//!
//! # Connection
//!
//! `http://` URLs use HTTP/2 without TLS (h2c), `https://` URLs TLS (rustls on `ring`, with
//! the Mozilla roots plus any [`FlightOptions::root_certificates_pem`]); the port defaults to
//! 80 and 443 and any path is ignored. The client connects on its first query, and keeps one
//! HTTP/2 connection shared by all its clones.
//!
//! # Errors
//!
//! Every failure is an [`Error`] with a [`kind`](Error::kind), the gRPC [`code`](Error::code),
//! the server's message and, for common mistakes, a [`hint`](Error::hint). The token never
//! appears in errors or `Debug` output.

mod client;
mod error;
mod options;
mod query;
mod result;
mod rows;
mod stream;

pub use arrow_array::RecordBatch;
pub use arrow_schema::SchemaRef;

pub use client::{QueryClient, QueryClientBuilder, default_user_agent};
pub use error::{Code, Error, ErrorKind};
pub use options::{DEFAULT_CONNECT_TIMEOUT, DEFAULT_MAX_DECODING_MESSAGE_SIZE, FlightOptions};
pub use query::{ParamValue, Query, QueryLanguage};
pub use result::{COLUMN_TYPE_KEY, PointRow, QueryResult, Value};
pub use stream::{Chunk, ChunkStream, RecordBatchStream};
