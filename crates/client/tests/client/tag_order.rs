//! `tag_order`: tags named in it first, in that order, the rest sorted.

use std::sync::Arc;

use arrow_array::{Float64Array, RecordBatch, StringArray};
use influxdb_client_3::{
    Point, Query, Record, RecordBatchLines, TableMapping, ToLineProtocol, WriteClientOptions,
};

use crate::support::{BoxError, builder, emulator};

#[derive(ToLineProtocol)]
#[influxdb(measurement = "derived")]
struct Derived {
    #[influxdb(tag)]
    a: String,
    #[influxdb(tag)]
    room: String,
    temp: f64,
}

/// The lines the emulator received, as text.
fn bodies(emulator: &influxdb3_emulator::EmulatorHandle) -> String {
    emulator
        .stats()
        .writes
        .iter()
        .map(|w| w.body_text())
        .collect()
}

#[tokio::test]
async fn tags_are_written_in_the_tag_order() -> Result<(), BoxError> {
    let emulator = emulator().await?;
    emulator.record_bodies(true);
    let client = builder(&emulator, "order")
        .write_client_options(
            WriteClientOptions::new()
                .tag_order(["room", "floor"])
                .default_tags([("site", "north")]),
        )
        .gzip_threshold(usize::MAX)
        .build()?;
    client
        .write(
            Point::new("home")
                .tag("zone", "z")
                .tag("floor", "2")
                .tag("room", "Kitchen")
                .field("temp", 21.5),
        )
        .await?;
    client
        .write(Derived {
            a: "x".into(),
            room: "Hall".into(),
            temp: 20.0,
        })
        .await?;
    client
        .write(Record::from_json(&serde_json::json!({
            "measurement": "dict",
            "tags": {"b": "1", "floor": "3", "room": "Attic"},
            "fields": {"temp": 17.0}
        }))?)
        .await?;
    let batch = RecordBatch::try_from_iter([
        ("a", Arc::new(StringArray::from(vec!["1"])) as _),
        ("room", Arc::new(StringArray::from(vec!["Office"])) as _),
        ("temp", Arc::new(Float64Array::from(vec![22.0])) as _),
    ])?;
    let mapping = TableMapping::new()
        .measurement("rows")
        .tag_columns(["a", "room"])
        .no_timestamp();
    client
        .write(RecordBatchLines::new(&batch, &mapping))
        .await?;

    let sent = bodies(&emulator);
    for line in [
        "home,room=Kitchen,floor=2,site=north,zone=z temp=21.5",
        "derived,room=Hall,a=x,site=north temp=20",
        "dict,room=Attic,floor=3,b=1,site=north temp=17",
        "rows,room=Office,a=1,site=north temp=22",
    ] {
        assert!(sent.contains(line), "{line} not in {sent}");
    }
    // The server keeps the first write's tag order as the table's column order.
    let schema = client
        .query_schema(Query::sql("SELECT * FROM home"))
        .await?;
    let names: Vec<_> = schema.fields().iter().map(|f| f.name().as_str()).collect();
    assert_eq!(names.len(), 6, "{names:?}");
    assert_eq!(
        client
            .query(Query::sql("SELECT * FROM derived"))
            .await?
            .num_rows(),
        1
    );
    Ok(())
}
