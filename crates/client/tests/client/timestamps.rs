//! Integer timestamps are in the write's precision; explicit units are converted.

use influxdb_client_3::{Point, Precision, Timestamp, ToLineProtocol, WriteCall};

use crate::support::{BoxError, builder, count, emulator};

#[tokio::test]
async fn integer_timestamp_with_seconds_precision_lands_on_the_right_instant()
-> Result<(), BoxError> {
    let emulator = emulator().await?;
    let client = builder(&emulator, "ts").build()?;
    // The seed's case: 1641024000 seconds is 2022-01-01T08:00:00Z, not 1970.
    client
        .write_with(
            Point::new("home")
                .tag("room", "Kitchen")
                .field("temp", 21.5)
                .timestamp(1_641_024_000),
            WriteCall::new().precision(Precision::Seconds),
        )
        .await?;
    // An explicit unit is converted to the write's precision.
    client
        .write_with(
            Point::new("home")
                .tag("room", "Living")
                .field("temp", 21.1)
                .timestamp(Timestamp::millis(1_641_024_000_000)),
            WriteCall::new().precision(Precision::Seconds),
        )
        .await?;
    // A bare integer with the default (nanosecond) precision is nanoseconds.
    client
        .write(
            Point::new("home")
                .tag("room", "Hall")
                .field("temp", 20.0)
                .timestamp(1_641_024_000_000_000_000),
        )
        .await?;
    assert_eq!(
        count(
            &client,
            "SELECT temp FROM home WHERE time = '2022-01-01T08:00:00Z'"
        )
        .await?,
        3
    );
    assert_eq!(
        count(
            &client,
            "SELECT temp FROM home WHERE time < '2000-01-01T00:00:00Z'"
        )
        .await?,
        0
    );
    Ok(())
}

#[derive(ToLineProtocol)]
#[influxdb(measurement = "reading")]
struct Reading {
    #[influxdb(tag)]
    room: String,
    temp: f64,
    #[influxdb(timestamp)]
    time: i64,
}

#[tokio::test]
async fn derive_integer_timestamps_follow_the_client_precision() -> Result<(), BoxError> {
    let emulator = emulator().await?;
    let client = builder(&emulator, "ts")
        .precision(Precision::Milliseconds)
        .build()?;
    client
        .write(Reading {
            room: "Kitchen".into(),
            temp: 21.5,
            time: 1_641_024_000_000,
        })
        .await?;
    assert_eq!(
        count(
            &client,
            "SELECT temp FROM reading WHERE time = '2022-01-01T08:00:00Z'"
        )
        .await?,
        1
    );
    Ok(())
}
