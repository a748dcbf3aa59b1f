//! Class WriteOptions: batching options.
//!
//! Python: `WriteOptions(batch_size=500, flush_interval=10_000, jitter_interval=2_000,
//! retry_interval=5_000, max_retries=5, max_retry_delay=30_000, exponential_base=2)`, and the
//! documented defaults.

use std::time::Duration;

use influxdb_client_3::WriteOptions;
use influxdb3_examples::{BoxError, Connection};

/// The example's body.
pub(crate) async fn run(_connection: &Connection) -> Result<(), BoxError> {
    let write_options = WriteOptions::default()
        .batch_size(500)
        .flush_interval(Duration::from_millis(10_000))
        .jitter_interval(Duration::from_millis(2_000))
        .retry_interval(Duration::from_millis(5_000))
        .max_retries(5)
        .max_retry_delay(Duration::from_millis(30_000))
        .exponential_base(2);
    println!("{write_options:#?}");
    assert_eq!(write_options.batch_size, 500);

    // The documented defaults.
    let d = WriteOptions::default();
    assert_eq!(d.batch_size, 1000);
    assert_eq!(d.flush_interval, Duration::from_millis(1000));
    assert_eq!(d.jitter_interval, Duration::ZERO);
    assert_eq!(d.retry_interval, Duration::from_millis(5000));
    assert_eq!(d.max_retries, 5);
    assert_eq!(d.max_retry_delay, Duration::from_millis(125_000));
    assert_eq!(d.max_retry_time, Duration::from_millis(180_000));
    assert_eq!(d.exponential_base, 2);
    assert_eq!(d.max_close_wait, Duration::from_millis(300_000));
    Ok(())
}

fn main() {
    influxdb3_examples::main(|c| async move { run(&c).await })
}
