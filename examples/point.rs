//! Class Point: a time series data point.
//!
//! Python: `Point("home").tag("room", "Living Room").field("temp", 72)`.

use influxdb_client_3::Point;
use influxdb_client_3::lp::LineEncoder;
use influxdb3_examples::{BoxError, Connection};

/// The example's body.
pub(crate) async fn run(_connection: &Connection) -> Result<(), BoxError> {
    let point = Point::new("home")
        .tag("room", "Living Room")
        .field("temp", 72);

    let mut encoder = LineEncoder::default();
    encoder.encode(&point)?;
    let line = String::from_utf8(encoder.as_bytes().to_vec())?;
    print!("{line}");
    assert_eq!(line, "home,room=Living\\ Room temp=72i\n");
    Ok(())
}

fn main() {
    influxdb3_examples::main(|c| async move { run(&c).await })
}
