//! Write a line protocol string, then retrieve it with SQL.
//!
//! Python: `client.write(record=point, write_precision="s")` and
//! `assert f"{room}" == 'Living Room'`.

use influxdb_client_3::{Client, Precision, WriteCall};
use influxdb3_examples::{BoxError, Connection};

/// The example's body.
pub(crate) async fn run(connection: &Connection) -> Result<(), BoxError> {
    let point = "home,room=Living\\ Room temp=21.1,hum=35.9,co=0i 1641024000";

    let client = Client::builder(connection.host())
        .database(connection.database())
        .token(connection.token())
        .build()?;

    client
        .write_with(point, WriteCall::new().precision(Precision::Seconds))
        .await?;

    // Execute an SQL query.
    let table = client
        .query(
            "SELECT room
             FROM home
             WHERE temp=21.1
               AND time=from_unixtime(1641024000)",
        )
        .await?;
    println!("{table}");
    #[derive(serde::Deserialize)]
    struct Row {
        room: String,
    }
    let rows: Vec<Row> = table.rows()?;
    let room = rows
        .first()
        .map(|r| r.room.as_str())
        .ok_or("no row returned")?;
    assert_eq!(room, "Living Room", "Expected {room} to be Living Room");
    Ok(())
}

fn main() {
    influxdb3_examples::main(|c| async move { run(&c).await })
}
