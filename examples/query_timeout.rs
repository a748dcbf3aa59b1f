//! Specify a timeout.
//!
//! Python: `client.query(query=query, timeout=5)`.

use std::time::Duration;

use influxdb_client_3::{Client, Point, Query};
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
    let table = client
        .query(Query::sql(query).timeout(Duration::from_secs(5)))
        .await?;
    println!("{} rows", table.num_rows());
    Ok(())
}

fn main() {
    influxdb3_examples::main(|c| async move { run(&c).await })
}
