//! Query using SQL.
//!
//! Python: `client.query("SELECT * from home WHERE time >= now() - INTERVAL '90 days'")`,
//! then `table.select(['room', 'temp'])` and `table.group_by('hum').aggregate([])`.

use influxdb_client_3::{Client, Point, RecordBatch};
use influxdb3_examples::{BoxError, Connection};

/// Writes a few recent points so the 90-day window has data.
pub(crate) async fn seed(client: &Client) -> Result<(), BoxError> {
    let points = vec![
        Point::new("home")
            .tag("room", "Kitchen")
            .field("temp", 21.0)
            .field("hum", 35.9)
            .field("co", 0),
        Point::new("home")
            .tag("room", "Living Room")
            .field("temp", 22.3)
            .field("hum", 36.1)
            .field("co", 1),
    ];
    client.write(points).await?;
    Ok(())
}

/// The example's body.
pub(crate) async fn run(connection: &Connection) -> Result<(), BoxError> {
    let client = Client::builder(connection.host())
        .database(connection.database())
        .token(connection.token())
        .build()?;
    seed(&client).await?;

    let table = client
        .query("SELECT * from home WHERE time >= now() - INTERVAL '90 days'")
        .await?;
    assert!(table.num_rows() >= 2);

    // Filter columns.
    let schema = table.schema();
    let columns = ["room", "temp"]
        .iter()
        .map(|c| schema.index_of(c))
        .collect::<Result<Vec<_>, _>>()?;
    let selected: Vec<RecordBatch> = table
        .batches()
        .iter()
        .map(|b| b.project(&columns))
        .collect::<Result<_, _>>()?;
    let selected_schema = selected
        .first()
        .map(RecordBatch::schema)
        .ok_or("no batches")?;
    println!(
        "{}",
        influxdb_client_3::QueryResult::new(selected_schema, selected)
    );

    // Aggregate in SQL (the Rust counterpart of PyArrow's group_by).
    let grouped = client
        .query("SELECT hum FROM home WHERE time >= now() - INTERVAL '90 days' GROUP BY hum ORDER BY hum")
        .await?;
    println!("{grouped}");
    Ok(())
}

fn main() {
    influxdb3_examples::main(|c| async move { run(&c).await })
}
