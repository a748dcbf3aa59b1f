//! Use batch options when writing file data (CSV and JSON).
//!
//! Python: `WriteOptions(batch_size=500, flush_interval=10_000, jitter_interval=2_000,
//! retry_interval=5_000, max_retries=5, max_retry_delay=30_000, exponential_base=2)` with
//! success/error/retry callbacks, then `write_file` of the CSV and the JSON sample files.
//! The error and retry callbacks assert that they are never called, as in Python.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use influxdb_client_3::{Client, Precision, WriteClientOptions, WriteOptions};
use influxdb3_examples::{BoxError, Connection, data_file};

/// What the callbacks saw (Python's `result` dict).
#[derive(Debug, Default)]
struct Outcome {
    status: Option<&'static str>,
    data: Option<String>,
    error: Option<String>,
}

/// The example's body.
pub(crate) async fn run(connection: &Connection) -> Result<(), BoxError> {
    let result: Arc<Mutex<Outcome>> = Arc::default();
    let (on_ok, on_err, on_retry) = (result.clone(), result.clone(), result.clone());

    let write_options = WriteOptions::default()
        .batch_size(500)
        .flush_interval(Duration::from_millis(10_000))
        .jitter_interval(Duration::from_millis(2_000))
        .retry_interval(Duration::from_millis(5_000))
        .max_retries(5)
        .max_retry_delay(Duration::from_millis(30_000))
        .exponential_base(2);

    let wco = WriteClientOptions::new()
        .success_callback(move |_ctx, data| {
            if let Ok(mut r) = on_ok.lock() {
                r.status.get_or_insert("success");
                r.data = Some(String::from_utf8_lossy(data).into_owned());
            }
            println!("Successfully wrote data: {} bytes", data.len());
        })
        .error_callback(move |_ctx, data, e| {
            if let Ok(mut r) = on_err.lock() {
                r.status = Some("error");
                r.data = Some(String::from_utf8_lossy(data).into_owned());
                r.error = Some(e.to_string());
            }
        })
        .retry_callback(move |_ctx, data, e| {
            if let Ok(mut r) = on_retry.lock() {
                r.status = Some("retry_error");
                r.data = Some(String::from_utf8_lossy(data).into_owned());
                r.error = Some(e.to_string());
            }
        })
        .write_options(write_options);

    let client = Client::builder(connection.host())
        .database(connection.database())
        .token(connection.token())
        .write_client_options(wco)
        .build()?;

    let csv = client
        .write_file(data_file("home-sensor-data.csv"))
        .timestamp_column("time")
        .tag_columns(["room"])
        .measurement_name("home")
        .write_precision(Precision::Seconds)
        .await?;
    let json = client
        .write_file(data_file("home-sensor-data.json"))
        .timestamp_column("time")
        .tag_columns(["room"])
        .measurement_name("home")
        .write_precision(Precision::Seconds)
        .await?;
    println!("CSV: {csv:?}\nJSON: {json:?}");

    // The end of Python's `with` block: close, which flushes the batches.
    client.close().await?;
    let r = result.lock().map_err(|_| "a callback panicked")?;
    assert!(r.data.is_some(), "Expected data in {r:?}");
    assert_eq!(
        r.status,
        Some("success"),
        "Expected {:?} to be success",
        r.error
    );
    Ok(())
}

fn main() {
    influxdb3_examples::main(|c| async move { run(&c).await })
}
