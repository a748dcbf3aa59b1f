//! Explicitly specify synchronous mode: `write_client_options(write_options=SYNCHRONOUS)`.

use influxdb_client_3::{Client, SYNCHRONOUS, WriteClientOptions, WriteMode};
use influxdb3_examples::{BoxError, Connection};

/// The example's body.
pub(crate) async fn run(connection: &Connection) -> Result<(), BoxError> {
    let wco = WriteClientOptions::new().write_options(SYNCHRONOUS);
    assert_eq!(wco.mode(), &WriteMode::Synchronous);

    // Python's `flight_client_options=None`: the default Flight options.
    let client = Client::builder(connection.host())
        .database(connection.database())
        .token(connection.token())
        .write_client_options(wco)
        .build()?;
    assert!(!client.is_batching());
    println!("{client:?}");
    Ok(())
}

fn main() {
    influxdb3_examples::main(|c| async move { run(&c).await })
}
