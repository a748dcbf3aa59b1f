//! Initialize a client with synchronous (non-batch) defaults.
//!
//! Python: `InfluxDBClient3(host=..., database=..., token=...)`. Without write client
//! options, every write is sent at once.

use influxdb_client_3::{Client, Point};
use influxdb3_examples::{BoxError, Connection};

/// The example's body.
pub(crate) async fn run(connection: &Connection) -> Result<(), BoxError> {
    let client = Client::builder(connection.host())
        .database(connection.database())
        .token(connection.token())
        .build()?;
    assert!(!client.is_batching(), "writes are synchronous by default");

    // A synchronous write returns once the server has acknowledged it.
    let result = client
        .write(
            Point::new("home")
                .tag("room", "Kitchen")
                .field("temp", 21.0),
        )
        .await?;
    assert_eq!(result.lines, 1);
    assert!(!result.batched);
    println!("{client:?}");
    Ok(())
}

fn main() {
    influxdb3_examples::main(|c| async move { run(&c).await })
}
