//! Behaviour of `#[derive(ToLineProtocol)]`: the lines it produces.

use std::borrow::Cow;
use std::time::{Duration, UNIX_EPOCH};

use influxdb3_derive::ToLineProtocol;
use influxdb3_lp::{Error, LineEncoder, Precision};

fn encode<T: influxdb3_lp::ToLineProtocol>(
    precision: Precision,
    record: &T,
) -> Result<String, Error> {
    let mut encoder = LineEncoder::new(precision);
    encoder.encode(record)?;
    Ok(String::from_utf8_lossy(encoder.as_bytes()).into_owned())
}

#[derive(ToLineProtocol)]
#[influxdb(crate = "influxdb3_lp", measurement = "home")]
struct Home {
    #[influxdb(tag)]
    room: String,
    #[influxdb(tag, rename = "sensor_id")]
    sensor: Option<&'static str>,
    temp: f64,
    #[influxdb(field)]
    hum: f32,
    co: Option<i64>,
    ok: bool,
    count: u32,
    note: Cow<'static, str>,
    #[influxdb(skip)]
    #[allow(dead_code)]
    cache: Vec<u8>,
    #[influxdb(timestamp, precision = "s")]
    time: i64,
}

#[test]
fn writes_tags_fields_and_timestamp_in_the_encoders_precision() -> Result<(), Error> {
    let home = Home {
        room: "Living Room".into(),
        sensor: Some("K001"),
        temp: 21.1,
        hum: 35.9,
        co: Some(0),
        ok: true,
        count: 3,
        note: Cow::Borrowed("a \"b\""),
        cache: vec![1, 2],
        time: 1_641_024_000,
    };
    assert_eq!(
        encode(Precision::Seconds, &home)?,
        "home,room=Living\\ Room,sensor_id=K001 temp=21.1,hum=35.9,co=0i,ok=true,count=3u,note=\"a \\\"b\\\"\" 1641024000\n"
    );
    assert_eq!(
        encode(Precision::Milliseconds, &home)?,
        "home,room=Living\\ Room,sensor_id=K001 temp=21.1,hum=35.9,co=0i,ok=true,count=3u,note=\"a \\\"b\\\"\" 1641024000000\n"
    );
    Ok(())
}

#[test]
fn leaves_out_none_members() -> Result<(), Error> {
    let home = Home {
        room: "Kitchen".into(),
        sensor: None,
        temp: 22.0,
        hum: 36.0,
        co: None,
        ok: false,
        count: 0,
        note: Cow::Borrowed(""),
        cache: Vec::new(),
        time: 5,
    };
    assert_eq!(
        encode(Precision::Seconds, &home)?,
        "home,room=Kitchen temp=22,hum=36,ok=false,count=0u,note=\"\" 5\n"
    );
    Ok(())
}

#[derive(ToLineProtocol)]
#[influxdb(crate = "influxdb3_lp")]
struct HomeSensorReading {
    value: i64,
    #[influxdb(timestamp)]
    at: Option<std::time::SystemTime>,
}

#[test]
fn default_measurement_is_snake_case_and_system_time_works() -> Result<(), Error> {
    let r = HomeSensorReading {
        value: 7,
        at: Some(UNIX_EPOCH + Duration::from_millis(1_500)),
    };
    assert_eq!(
        encode(Precision::Milliseconds, &r)?,
        "home_sensor_reading value=7i 1500\n"
    );
    let r = HomeSensorReading { value: 7, at: None };
    assert_eq!(
        encode(Precision::Nanoseconds, &r)?,
        "home_sensor_reading value=7i\n"
    );
    Ok(())
}

#[derive(ToLineProtocol)]
#[influxdb(crate = "influxdb3_lp", measurement = "m")]
struct Unsigned {
    v: f64,
    #[influxdb(timestamp, precision = "us")]
    ts: u64,
}

#[test]
fn u64_timestamps_convert_and_out_of_range_is_an_error() -> Result<(), Error> {
    assert_eq!(
        encode(Precision::Nanoseconds, &Unsigned { v: 1.5, ts: 2 })?,
        "m v=1.5 2000\n"
    );
    let err = encode(
        Precision::Nanoseconds,
        &Unsigned {
            v: 1.5,
            ts: u64::MAX,
        },
    );
    assert!(
        matches!(err, Err(Error::TimestampOutOfRange { .. })),
        "{err:?}"
    );
    // A timestamp that fits in the member's unit but not in i64 nanoseconds.
    let err = encode(
        Precision::Nanoseconds,
        &Unsigned {
            v: 1.5,
            ts: i64::MAX as u64,
        },
    );
    assert!(
        matches!(err, Err(Error::TimestampOutOfRange { .. })),
        "{err:?}"
    );
    Ok(())
}

#[test]
fn nan_fields_are_dropped_and_counted_and_an_all_nan_record_is_skipped() -> Result<(), Error> {
    let mut encoder = LineEncoder::new(Precision::Nanoseconds);
    encoder.encode(&Unsigned { v: f64::NAN, ts: 1 })?;
    assert!(encoder.is_empty());
    assert_eq!(encoder.stats().skipped_records, 1);
    assert_eq!(encoder.stats().dropped_fields, 1);
    Ok(())
}

#[derive(ToLineProtocol)]
#[influxdb(crate = "influxdb3_lp", measurement = "cpu")]
struct Borrowed<'a> {
    #[influxdb(tag)]
    host: &'a str,
    #[influxdb(rename = "usage user")]
    usage: f64,
}

#[test]
fn borrowed_members_and_renamed_keys_are_escaped() -> Result<(), Error> {
    let host = String::from("a,b");
    let r = Borrowed {
        host: &host,
        usage: 0.5,
    };
    assert_eq!(
        encode(Precision::Nanoseconds, &r)?,
        "cpu,host=a\\,b usage\\ user=0.5\n"
    );
    // Vec and slices of derived records work through the blanket impls.
    assert_eq!(
        encode(
            Precision::Nanoseconds,
            &vec![
                Borrowed {
                    host: "x",
                    usage: 1.0
                },
                Borrowed {
                    host: "y",
                    usage: 2.0
                }
            ]
        )?,
        "cpu,host=x usage\\ user=1\ncpu,host=y usage\\ user=2\n"
    );
    Ok(())
}

#[test]
fn invalid_names_are_errors_naming_the_measurement() {
    let r = Borrowed {
        host: "line\nfeed",
        usage: 1.0,
    };
    let err = encode(Precision::Nanoseconds, &r);
    match err {
        Err(Error::InvalidTagValue {
            measurement, key, ..
        }) => {
            assert_eq!(measurement, "cpu");
            assert_eq!(key, "host");
        }
        other => panic!("expected an invalid tag value error, got {other:?}"),
    }
}

#[test]
fn ui() {
    let t = trybuild::TestCases::new();
    t.compile_fail("tests/ui/*.rs");
}

#[derive(ToLineProtocol)]
#[influxdb(crate = "influxdb3_lp", measurement = "m")]
struct Bare {
    v: i64,
    #[influxdb(timestamp)]
    ts: i64,
}

#[test]
fn integer_timestamp_without_precision_is_in_the_writes_precision() -> Result<(), Error> {
    let r = Bare {
        v: 1,
        ts: 1_641_024_000,
    };
    assert_eq!(encode(Precision::Seconds, &r)?, "m v=1i 1641024000\n");
    assert_eq!(
        encode(Precision::Milliseconds, &Bare { v: 1, ts: 5 })?,
        "m v=1i 5\n"
    );
    // Out of range in the write's precision is still an error.
    let err = encode(Precision::Seconds, &Bare { v: 1, ts: i64::MAX });
    assert!(
        matches!(err, Err(Error::TimestampOutOfRange { .. })),
        "{err:?}"
    );
    Ok(())
}
