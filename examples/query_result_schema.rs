//! View the schema for all batches in the stream.
//!
//! Python: `table = client.query(...)` and `print(table.schema)`.

use influxdb_client_3::{Client, Point};
use influxdb3_examples::{BoxError, Connection};

/// The example's body.
pub(crate) async fn run(connection: &Connection) -> Result<(), BoxError> {
    let client = Client::builder(connection.host())
        .database(connection.database())
        .token(connection.token())
        .build()?;
    client
        .write(
            Point::new("home")
                .tag("room", "Kitchen")
                .field("temp", 21.0),
        )
        .await?;

    let table = client
        .query(
            "SELECT *
             from home
             WHERE time >= now() - INTERVAL '90 days'",
        )
        .await?;

    // View the table schema.
    let schema = table.schema();
    println!("{schema:#?}");
    assert!(schema.field_with_name("room").is_ok() && schema.field_with_name("time").is_ok());
    Ok(())
}

fn main() {
    influxdb3_examples::main(|c| async move { run(&c).await })
}
