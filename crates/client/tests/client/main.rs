//! Integration tests of the facade against the in-process emulator, over real sockets.
//!
//! One binary with a module per area, because every binary that starts an emulator links
//! DataFusion.

mod compression;
mod hosts;
mod support;
mod tag_order;
mod tag_types;
mod timestamps;
mod try_write;
