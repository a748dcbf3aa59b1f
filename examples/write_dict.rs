//! Write data using a dict-shaped record.
//!
//! Python: `client.write(record={"measurement": "home", "tags": {...}, "fields": {...},
//! "time": 1641067200}, write_precision="s")`.

use influxdb_client_3::{Client, Precision, Record, WriteCall};
use influxdb3_examples::{BoxError, Connection};
use serde_json::json;

/// The example's body.
pub(crate) async fn run(connection: &Connection) -> Result<(), BoxError> {
    // Using point dictionary structure.
    let points = Record::from_json(&json!({
        "measurement": "home",
        "tags": {"room": "Kitchen", "sensor": "K001"},
        "fields": {"temp": 72.2, "hum": 36.9, "co": 4},
        "time": 1641067200
    }))?;

    let client = Client::builder(connection.host())
        .database(connection.database())
        .token(connection.token())
        .build()?;
    client
        .write_with(points, WriteCall::new().precision(Precision::Seconds))
        .await?;

    let table = client
        .query("SELECT co, sensor FROM home WHERE time = from_unixtime(1641067200) AND sensor = 'K001'")
        .await?;
    println!("{table}");
    #[derive(serde::Deserialize)]
    struct Row {
        co: i64,
        sensor: String,
    }
    let rows: Vec<Row> = table.rows()?;
    assert!(
        rows.iter().any(|r| r.co == 4 && r.sensor == "K001"),
        "the record was written"
    );
    Ok(())
}

fn main() {
    influxdb3_examples::main(|c| async move { run(&c).await })
}
