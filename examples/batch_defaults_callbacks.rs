//! Initialize a client using batch defaults and callbacks, then write a CSV file.
//!
//! Python: `WriteOptions()` + `write_client_options(success_callback=..., error_callback=...,
//! retry_callback=..., write_options=...)` + `client.write_file('./data/home-sensor-data.csv',
//! timestamp_column='time', tag_columns=["room"], write_precision='s')`, with the `with`
//! block closing the client. The callbacks assert success, as the Python ones do.

use std::sync::{Arc, Mutex};

use influxdb_client_3::{Client, Precision, WriteClientOptions, WriteOptions};
use influxdb3_examples::{BoxError, Connection, data_file};

/// The example's body.
pub(crate) async fn run(connection: &Connection) -> Result<(), BoxError> {
    let status: Arc<Mutex<Vec<String>>> = Arc::default();

    let (ok, err, retry) = (status.clone(), status.clone(), status.clone());
    let wco = WriteClientOptions::new()
        .success_callback(move |ctx, data| {
            let s = format!(
                "Success writing batch: {} lines, {} bytes",
                ctx.lines,
                data.len()
            );
            ok.lock().map(|mut v| v.push(s)).ok();
        })
        .error_callback(move |ctx, _data, e| {
            let s = format!("Error writing batch: config: {ctx:?}, error: {e}");
            err.lock().map(|mut v| v.push(s)).ok();
        })
        .retry_callback(move |ctx, _data, e| {
            let s = format!("Retry error writing batch: config: {ctx:?}, error: {e}");
            retry.lock().map(|mut v| v.push(s)).ok();
        })
        .write_options(WriteOptions::default());

    let client = Client::builder(connection.host())
        .database(connection.database())
        .token(connection.token())
        .write_client_options(wco)
        .build()?;

    let report = client
        .write_file(data_file("home-sensor-data.csv"))
        .timestamp_column("time")
        .tag_columns(["room"])
        .measurement_name("home")
        .write_precision(Precision::Seconds)
        .await?;
    println!(
        "queued {} lines from {} rows",
        report.lines_written, report.rows_read
    );

    // Python's `with ... as client:` closes the client at the end: everything is delivered.
    let summary = client.close().await?;
    let status = status.lock().map_err(|_| "a callback panicked")?.clone();
    assert!(!status.is_empty(), "the success callback ran");
    for s in &status {
        assert!(s.starts_with("Success"), "Expected {s} to be success");
    }
    assert_eq!(summary.accepted_lines, report.lines_written);
    assert_eq!(summary.failed_lines, 0);
    Ok(())
}

fn main() {
    influxdb3_examples::main(|c| async move { run(&c).await })
}
