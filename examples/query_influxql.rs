//! Query using InfluxQL.
//!
//! Python: `client.query(query="SELECT * from home WHERE time >= -90d", language="influxql")`.

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

    // As in Python's docs. On InfluxDB 3 a bare `-90d` is an offset from the epoch, so this
    // matches every point; write `time >= now() - 90d` for the last 90 days.
    let query = "SELECT * from home WHERE time >= -90d";
    let table = client.query(Query::influxql(query)).await?;
    assert!(table.num_rows() >= 1);
    // InfluxQL results start with the measurement column.
    assert_eq!(table.schema().field(0).name(), "iox::measurement");

    // Filter columns: select them in the query.
    let table = client
        .query(Query::influxql(
            "SELECT room, temp from home WHERE time >= -90d",
        ))
        .await?;
    println!("{table}");
    Ok(())
}

fn main() {
    influxdb3_examples::main(|c| async move { run(&c).await })
}
