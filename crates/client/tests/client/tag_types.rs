//! Tag columns of any scalar type are written as their text.

use std::io::Write as _;
use std::sync::Arc;

use arrow_array::{BooleanArray, Float64Array, Int64Array, RecordBatch, TimestampSecondArray};
use influxdb_client_3::{Precision, Query, RecordBatchLines, TableMapping, WriteCall};

use crate::support::{BoxError, builder, emulator};

#[tokio::test]
async fn a_csv_with_an_integer_tag_column_is_written_through_write_file() -> Result<(), BoxError> {
    let emulator = emulator().await?;
    let client = builder(&emulator, "tags").build()?;
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("floors.csv");
    {
        let mut file = std::fs::File::create(&path)?;
        writeln!(file, "time,room,floor,temp")?;
        writeln!(file, "1641024000,Kitchen,1,21.5")?;
        writeln!(file, "1641024000,Bedroom,2,19.0")?;
        writeln!(file, "1641024001,Attic,3,17.25")?;
    }
    let report = client
        .write_file(&path)
        .measurement_name("home")
        .tag_columns(["room", "floor"])
        .write_precision(Precision::Seconds)
        .await?;
    assert_eq!(report.lines_written, 3);
    // `floor` is a tag (a string column on the server) holding the integer's text.
    let table = client
        .query(Query::sql(
            "SELECT room FROM home WHERE floor = '2' AND time = '2022-01-01T08:00:00Z'",
        ))
        .await?;
    assert_eq!(table.num_rows(), 1, "{table}");
    let rows: Vec<serde_json::Value> = client
        .query(Query::sql("SELECT floor, room FROM home ORDER BY floor"))
        .await?
        .rows()?;
    let floors: Vec<_> = rows.iter().map(|r| r["floor"].clone()).collect();
    assert_eq!(floors, ["1", "2", "3"]);
    Ok(())
}

#[tokio::test]
async fn record_batch_tag_columns_of_scalar_types() -> Result<(), BoxError> {
    let emulator = emulator().await?;
    let client = builder(&emulator, "tags").build()?;
    let batch = RecordBatch::try_from_iter([
        ("floor", Arc::new(Int64Array::from(vec![1, 2])) as _),
        (
            "occupied",
            Arc::new(BooleanArray::from(vec![true, false])) as _,
        ),
        ("temp", Arc::new(Float64Array::from(vec![21.5, 19.0])) as _),
        (
            "time",
            Arc::new(TimestampSecondArray::from(vec![
                1_641_024_000,
                1_641_024_001,
            ])) as _,
        ),
    ])?;
    let mapping = TableMapping::new()
        .measurement("rooms")
        .tag_columns(["floor", "occupied"]);
    client
        .write_with(
            RecordBatchLines::new(&batch, &mapping),
            WriteCall::new().precision(Precision::Seconds),
        )
        .await?;
    let table = client
        .query(Query::sql(
            "SELECT temp FROM rooms WHERE occupied = 'true' AND floor = '1'",
        ))
        .await?;
    assert_eq!(table.num_rows(), 1, "{table}");
    Ok(())
}

#[tokio::test]
async fn point_tags_of_any_display_type() -> Result<(), BoxError> {
    let emulator = emulator().await?;
    let client = builder(&emulator, "tags").build()?;
    let point = influxdb_client_3::Point::new("points")
        .tag("floor", 2)
        .tag("occupied", true)
        .tag("room", String::from("Kitchen"))
        .field("temp", 21.5);
    assert_eq!(
        point.to_string(),
        "points,floor=2,occupied=true,room=Kitchen temp=21.5"
    );
    client.write(point).await?;
    let table = client
        .query(Query::sql(
            "SELECT temp FROM points WHERE floor = '2' AND occupied = 'true'",
        ))
        .await?;
    assert_eq!(table.num_rows(), 1, "{table}");
    Ok(())
}
