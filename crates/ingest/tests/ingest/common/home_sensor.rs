// The sample table, defined once: `tests/ingest/common/mod.rs` declares this file as a module and
// `examples/make_sample_data.rs` writes the sample files from it with `include!`, so that the
// files and the tests' expectations cannot drift apart. (No inner doc comment: `include!`
// does not allow one.)

/// 2022-01-01T08:00:00Z in seconds since the Unix epoch.
pub(crate) const FIRST_HOUR: i64 = 1_641_024_000;

/// InfluxData's "Get started" home sensor data, in its order (Living Room then Kitchen each
/// hour): hours after 08:00, room, temp (°C), hum (%), co (ppm).
pub(crate) const HOME_SENSOR_ROWS: [(i64, &str, f64, f64, i64); 26] = [
    (0, "Living Room", 21.1, 35.9, 0),
    (0, "Kitchen", 21.0, 35.9, 0),
    (1, "Living Room", 21.4, 35.9, 0),
    (1, "Kitchen", 23.0, 36.2, 0),
    (2, "Living Room", 21.8, 36.0, 0),
    (2, "Kitchen", 22.7, 36.1, 0),
    (3, "Living Room", 22.2, 36.0, 0),
    (3, "Kitchen", 22.4, 36.0, 0),
    (4, "Living Room", 22.2, 35.9, 0),
    (4, "Kitchen", 22.5, 36.0, 0),
    (5, "Living Room", 22.4, 36.0, 0),
    (5, "Kitchen", 22.8, 36.5, 1),
    (6, "Living Room", 22.3, 36.1, 0),
    (6, "Kitchen", 22.8, 36.3, 1),
    (7, "Living Room", 22.3, 36.1, 1),
    (7, "Kitchen", 22.7, 36.2, 3),
    (8, "Living Room", 22.4, 36.0, 4),
    (8, "Kitchen", 22.4, 36.0, 7),
    (9, "Living Room", 22.6, 35.9, 5),
    (9, "Kitchen", 22.7, 36.0, 9),
    (10, "Living Room", 22.8, 36.2, 9),
    (10, "Kitchen", 23.3, 36.9, 18),
    (11, "Living Room", 22.5, 36.3, 14),
    (11, "Kitchen", 23.1, 36.6, 22),
    (12, "Living Room", 22.2, 36.4, 17),
    (12, "Kitchen", 22.7, 36.5, 26),
];
