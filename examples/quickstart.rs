//! Quickstart: write the home sensor sample data, then query it with SQL and InfluxQL.
//!
//! Run it with `cargo run -p influxdb3-examples --example quickstart`: without `INFLUX_HOST`
//! it starts an in-process emulator.

use influxdb_client_3::{Client, Precision, Query};
use influxdb3_examples::{BoxError, Connection, data_file};

/// The example's body.
pub(crate) async fn run(connection: &Connection) -> Result<(), BoxError> {
    let client = Client::builder(connection.host())
        .database(connection.database())
        .token(connection.token())
        .build()?;

    // Write the sample data (Python: client.write_file(...)).
    let report = client
        .write_file(data_file("home-sensor-data.csv"))
        .measurement_name("home")
        .tag_columns(["room"])
        .timestamp_column("time")
        .write_precision(Precision::Seconds)
        .await?;
    println!(
        "wrote {} lines from {} rows in {} request(s), {:?}",
        report.lines_written, report.rows_read, report.requests, report.elapsed
    );
    assert_eq!(report.lines_written, report.rows_read);

    // SQL.
    let table = client
        .query(
            "SELECT room, avg(temp) AS temp, max(co) AS co FROM home
             WHERE time >= '2022-01-01T08:00:00Z' AND time <= '2022-01-01T20:00:00Z'
             GROUP BY room ORDER BY room",
        )
        .await?;
    println!("{table}");
    assert_eq!(table.num_rows(), 2, "one row per room");

    // InfluxQL.
    let table = client
        .query(Query::influxql(
            "SELECT MEAN(temp) FROM home WHERE time >= '2022-01-01T08:00:00Z' AND time <= '2022-01-01T20:00:00Z' GROUP BY room",
        ))
        .await?;
    println!("{table}");

    client.close().await?;
    Ok(())
}

fn main() {
    influxdb3_examples::main(|c| async move { run(&c).await })
}
