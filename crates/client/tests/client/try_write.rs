//! `Client::try_write`: buffers without waiting in batching mode, fails when the buffer is
//! full, and is a configuration error in synchronous mode.

use std::time::Duration;

use influxdb_client_3::{Error, Point, WriteClientOptions, WriteOptions};

use crate::support::{BoxError, builder, count, emulator};

#[tokio::test]
async fn try_write_fails_fast_when_the_buffer_is_full() -> Result<(), BoxError> {
    let emulator = emulator().await?;
    // A batch of 2 lines fills the buffer and is sent at once; the server holds its answer,
    // so the room is not given back while the test runs.
    emulator.faults().delay_responses(Duration::from_secs(2));
    let options = WriteOptions::default()
        .batch_size(2)
        .flush_interval(Duration::from_secs(60))
        .max_buffered_lines(2);
    let client = builder(&emulator, "try")
        .write_client_options(WriteClientOptions::new().write_options(options))
        .build()?;
    let point = |i: i64| Point::new("m").field("v", i).timestamp(i);
    let result = client.try_write(vec![point(1), point(2)])?;
    assert_eq!((result.lines, result.batched), (2, true));
    let err = client.try_write(point(3)).unwrap_err();
    assert!(err.is_buffer_full(), "{err}");
    // close() delivers what was buffered; the refused point was not kept.
    client.close().await?;
    emulator.faults().clear();
    let reader = builder(&emulator, "try").build()?;
    assert_eq!(count(&reader, "SELECT v FROM m").await?, 2);
    Ok(())
}

#[tokio::test]
async fn try_write_in_synchronous_mode_is_a_configuration_error() -> Result<(), BoxError> {
    let emulator = emulator().await?;
    let client = builder(&emulator, "try").build()?;
    let err = client.try_write(Point::new("m").field("v", 1)).unwrap_err();
    assert!(matches!(err, Error::Config(_)), "{err}");
    assert!(!err.is_buffer_full());
    Ok(())
}
