//! Integration tests of `influxdb3-query` over real sockets against the emulator, in one test
//! binary.
//!
//! One binary per crate keeps links few and the target directory small.

mod common;
mod compression;
mod hostile;
mod large;
mod query;
mod tls;
