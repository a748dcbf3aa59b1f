//! Read all data from the stream and print it as a table.
//!
//! Python: `client.query(query=query, mode="pandas")` and `print(pd.to_markdown())`. The
//! Rust result prints as a table with `Display`.

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
    let table = client.query(query).await?;
    let text = table.to_string();
    println!("{text}");
    assert!(text.contains("Kitchen") && text.contains("temp"));
    Ok(())
}

fn main() {
    influxdb3_examples::main(|c| async move { run(&c).await })
}
