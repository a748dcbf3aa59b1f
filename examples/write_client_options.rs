//! Function write_client_options: options for batch writing and for synchronous writing.
//!
//! Python: `write_client_options(success_callback=..., error_callback=..., retry_callback=...,
//! write_options=WriteOptions())` asserting batching, and
//! `write_client_options(write_options=SYNCHRONOUS)` asserting synchronous.

use influxdb_client_3::{SYNCHRONOUS, WriteClientOptions, WriteMode, WriteOptions};
use influxdb3_examples::{BoxError, Connection};

/// The example's body.
pub(crate) async fn run(_connection: &Connection) -> Result<(), BoxError> {
    let wco = WriteClientOptions::new()
        .success_callback(|_ctx, _data| println!("Success"))
        .error_callback(|_ctx, _data, _err| println!("Error"))
        .retry_callback(|_ctx, _data, _err| println!("Retry error"))
        .write_options(WriteOptions::default());
    println!("{wco:?}");
    assert!(matches!(wco.mode(), WriteMode::Batching(_)));

    let wco = WriteClientOptions::new().write_options(SYNCHRONOUS);
    assert_eq!(wco.mode(), &WriteMode::Synchronous);
    Ok(())
}

fn main() {
    influxdb3_examples::main(|c| async move { run(&c).await })
}
