//! Write data using points, then retrieve it with InfluxQL.
//!
//! Python: `Point("home").tag("room", "Kitchen").field("temp", 21.5).field("hum", .25)`, then
//! `SELECT DISTINCT(temp) as val FROM home WHERE temp > 21.0 AND time >= now() - 10m` and
//! `assert 21.5 in df['val'].values`.

use influxdb_client_3::{Client, Point, Query};
use influxdb3_examples::{BoxError, Connection};

/// The example's body.
pub(crate) async fn run(connection: &Connection) -> Result<(), BoxError> {
    let point = Point::new("home")
        .tag("room", "Kitchen")
        .field("temp", 21.5)
        .field("hum", 0.25);
    let client = Client::builder(connection.host())
        .database(connection.database())
        .token(connection.token())
        .build()?;
    client.write(point).await?;

    // Execute an InfluxQL query.
    let table = client
        .query(Query::influxql(
            "SELECT DISTINCT(temp) as val
             FROM home
             WHERE temp > 21.0
             AND time >= now() - 10m",
        ))
        .await?;
    println!("{table}");
    #[derive(serde::Deserialize)]
    struct Row {
        val: f64,
    }
    let values: Vec<f64> = table.rows::<Row>()?.into_iter().map(|r| r.val).collect();
    assert!(values.contains(&21.5), "Expected value in {values:?}");
    Ok(())
}

fn main() {
    influxdb3_examples::main(|c| async move { run(&c).await })
}
