//! Integration tests of the emulator over real sockets, with plain hyper and arrow-flight
//! clients, in one test binary.
//!
//! One binary per crate keeps links few and the target directory small.

mod conformance;
mod flight;
mod flight_gzip;
mod http;
mod query_limits;
mod server_shapes;
mod wal;
