//! Integration tests of `influxdb3-ingest` through its public API, in one test binary.
//!
//! One binary per crate keeps links few and the target directory small. The tests read every
//! format, so they need every format feature.
#![cfg(all(
    feature = "csv",
    feature = "json",
    feature = "parquet",
    feature = "ipc",
    feature = "orc"
))]

mod common;
mod errors;
mod formats;
mod hostile;
mod line_protocol;
