//! Integration tests of `influxdb3-write` over real sockets against the emulator, in one test
//! binary.
//!
//! One binary per crate keeps links few and the target directory small.

mod common;
mod hostile;
mod http;
mod proxy;
mod writer;
