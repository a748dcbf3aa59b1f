//! The points both benchmarks encode, built the same way with each crate's API.

/// The `home` point of the InfluxDB getting-started guide, with `influxdb3-lp`.
pub fn home_ours() -> influxdb3_lp::Point {
    influxdb3_lp::Point::new("home")
        .tag("room", "Living Room")
        .field("temp", 21.1)
        .field("hum", 35.9)
        .field("co", 0_i64)
        .timestamp(1_641_024_000_000_000_000)
}

/// The `home` point with `influxdb3-client`.
pub fn home_peer() -> influxdb3_client::Point {
    influxdb3_client::Point::new("home")
        .tag("room", "Living Room")
        .field("temp", 21.1)
        .field("hum", 35.9)
        .field("co", 0_i64)
        .timestamp_nanos(1_641_024_000_000_000_000)
}

const MEASUREMENT: &str = "my measurement, with escapes";
const TAGS: [(&str, &str); 2] = [("a=b c", "value = one, two"), ("tag key, one", "x y,z=w")];
const STRING_KEY: &str = "field key, \"quoted\"";
const STRING_VALUE: &str = "a \"string\" with \\ backslashes, commas and = signs";

/// A point with heavy escaping everywhere, with `influxdb3-lp`.
pub fn escaped_ours() -> influxdb3_lp::Point {
    influxdb3_lp::Point::new(MEASUREMENT)
        .tag(TAGS[0].0, TAGS[0].1)
        .tag(TAGS[1].0, TAGS[1].1)
        .field(STRING_KEY, STRING_VALUE)
        .field("temp = x", 21.5)
        .field("count,n", 42_i64)
        .timestamp(1_641_024_000_000_000_000)
}

/// The same point with `influxdb3-client`.
pub fn escaped_peer() -> influxdb3_client::Point {
    influxdb3_client::Point::new(MEASUREMENT)
        .tag(TAGS[0].0, TAGS[0].1)
        .tag(TAGS[1].0, TAGS[1].1)
        .field(STRING_KEY, STRING_VALUE)
        .field("temp = x", 21.5)
        .field("count,n", 42_i64)
        .timestamp_nanos(1_641_024_000_000_000_000)
}
