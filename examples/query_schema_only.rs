//! Retrieve the result schema and no data.
//!
//! Python: `client.query(query=query, mode="schema")`.

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

    let query = "SELECT * from home WHERE time >= now() - INTERVAL '90 days'";
    let schema = client.query_schema(query).await?;
    println!("{schema:#?}");
    assert!(schema.field_with_name("temp").is_ok());
    Ok(())
}

fn main() {
    influxdb3_examples::main(|c| async move { run(&c).await })
}
