//! Integration tests of `influxdb3-ingest` through its public API, in one test binary.
//!
//! One binary per crate keeps links few and the target directory small.

mod common;
mod errors;
mod formats;
mod line_protocol;
