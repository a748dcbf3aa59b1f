//! Points, escaping, validation, the encoder's buffer and stats, ready line protocol.

use std::time::{Duration, UNIX_EPOCH};

use bytes::Bytes;
use influxdb3_lp::{
    EncodeStats, Error, FieldValue, LineEncoder, Point, Precision, Timestamp, Validated,
};

use crate::{encode, encode_in};

fn p(measurement: &str) -> Point {
    Point::new(measurement)
}

#[test]
fn home_point() {
    let point = p("home")
        .tag("room", "Living Room")
        .field("temp", 21.1)
        .field("hum", 35.9)
        .field("co", 0)
        .timestamp(1_641_024_000_000_000_000);
    assert_eq!(
        encode(&point).unwrap(),
        "home,room=Living\\ Room temp=21.1,hum=35.9,co=0i 1641024000000000000\n"
    );
}

#[test]
fn measurement_escaping() {
    let out = encode(&p("my meas,x=y\\z").field("v", 1)).unwrap();
    // `=` is not escaped in a measurement; `\`, `,` and space are.
    assert_eq!(out, "my\\ meas\\,x=y\\\\z v=1i\n");
    // `#` inside a name, quotes and `iox::` prefixes are fine.
    assert_eq!(
        encode(&p("iox::a#\"b").field("v", 1)).unwrap(),
        "iox::a#\"b v=1i\n"
    );
}

#[test]
fn tag_and_field_key_escaping() {
    let out = encode(&p("m").tag("k ,=\\x", "v ,=\\y").field("f ,=\\z", true)).unwrap();
    assert_eq!(
        out,
        "m,k\\ \\,\\=\\\\x=v\\ \\,\\=\\\\y f\\ \\,\\=\\\\z=true\n"
    );
}

#[test]
fn string_field_escaping() {
    let out = encode(&p("m").field("s", "a \"quoted\" \\ back\nslash, =")).unwrap();
    assert_eq!(out, "m s=\"a \\\"quoted\\\" \\\\ back\nslash, =\"\n");
    assert_eq!(encode(&p("m").field("s", "")).unwrap(), "m s=\"\"\n");
}

#[test]
fn number_and_bool_formats() {
    let out = encode(
        &p("m")
            .field("a", 1.0)
            .field("b", 1e300)
            .field("c", -0.0)
            .field("d", 0.1)
            .field("e", 1.5e-7)
            .field("f", -3_i64)
            .field("g", u64::MAX)
            .field("h", false)
            .field("i", i64::MIN)
            .field("j", 0.1_f32),
    )
    .unwrap();
    assert_eq!(
        out,
        format!(
            "m a=1,b=1e+300,c=-0,d=0.1,e=1.5e-7,f=-3i,g={}u,h=false,i={}i,j=0.1\n",
            u64::MAX,
            i64::MIN
        )
    );
}

#[test]
fn field_value_conversions() {
    assert_eq!(FieldValue::from(1_i8), FieldValue::Integer(1));
    assert_eq!(FieldValue::from(1_i16), FieldValue::Integer(1));
    assert_eq!(FieldValue::from(1_i32), FieldValue::Integer(1));
    assert_eq!(FieldValue::from(1_isize), FieldValue::Integer(1));
    assert_eq!(FieldValue::from(1_u8), FieldValue::UInteger(1));
    assert_eq!(FieldValue::from(1_u16), FieldValue::UInteger(1));
    assert_eq!(FieldValue::from(1_u32), FieldValue::UInteger(1));
    assert_eq!(FieldValue::from(1_usize), FieldValue::UInteger(1));
    assert_eq!(FieldValue::from(2.5_f32), FieldValue::Float(2.5));
    assert_eq!(FieldValue::from(0.3_f32), FieldValue::Float(0.3));
    assert!(matches!(FieldValue::from(f32::NAN), FieldValue::Float(f) if f.is_nan()));
    assert_eq!(FieldValue::from(true), FieldValue::Boolean(true));
    assert_eq!(
        FieldValue::from(String::from("s")),
        FieldValue::String("s".into())
    );
}

#[test]
fn tags_are_sorted_by_key() {
    let out = encode(
        &p("m")
            .tag("b", "2")
            .tag("c", "3")
            .tag("a", "1")
            .field("v", 1),
    )
    .unwrap();
    assert_eq!(out, "m,a=1,b=2,c=3 v=1i\n");
}

#[test]
fn default_tags_merge_and_the_point_wins() {
    let mut encoder =
        LineEncoder::default().with_default_tags([("b", "default"), ("d", "4"), ("a", "0")]);
    encoder
        .encode(&p("m").tag("c", "3").tag("b", "own").field("v", 1))
        .unwrap();
    encoder.encode(&p("m").field("v", 2)).unwrap();
    assert_eq!(
        encoder.as_bytes(),
        b"m,a=0,b=own,c=3,d=4 v=1i\nm,a=0,b=default,d=4 v=2i\n"
    );
    // A default tag with an empty value is left out and counted.
    let mut encoder = LineEncoder::default().with_default_tags([("e", "")]);
    encoder.encode(&p("m").field("v", 1)).unwrap();
    assert_eq!(encoder.as_bytes(), b"m v=1i\n");
    assert_eq!(encoder.stats().dropped_tags, 1);
}

#[test]
fn invalid_default_tags_fail_every_encode() {
    let mut encoder = LineEncoder::default().with_default_tags([("time", "x")]);
    let err = encoder.encode(&p("m").field("v", 1)).unwrap_err();
    assert!(
        matches!(&err, Error::InvalidTagKey { key, .. } if key == "time"),
        "{err}"
    );
    let mut encoder = LineEncoder::default().with_default_tags([("k", "a\nb")]);
    let err = encoder.encode(&p("m").field("v", 1)).unwrap_err();
    assert!(
        matches!(&err, Error::InvalidTagValue { key, .. } if key == "k"),
        "{err}"
    );
    assert!(encoder.is_empty());
}

#[test]
fn empty_tag_values_are_dropped_and_counted() {
    let mut encoder = LineEncoder::default();
    encoder
        .encode(&p("m").tag("a", "").tag("b", "x").field("v", 1))
        .unwrap();
    assert_eq!(encoder.as_bytes(), b"m,b=x v=1i\n");
    assert_eq!(
        encoder.stats(),
        EncodeStats {
            lines: 1,
            dropped_tags: 1,
            ..EncodeStats::default()
        }
    );
}

#[test]
fn non_finite_floats_are_dropped_and_empty_points_skipped() {
    let mut encoder = LineEncoder::default();
    encoder
        .encode(
            &p("m")
                .field("a", f64::NAN)
                .field("b", 1.5)
                .field("c", f64::INFINITY),
        )
        .unwrap();
    encoder
        .encode(&p("m").field("a", f64::NEG_INFINITY).timestamp(5))
        .unwrap();
    encoder.encode(&p("m")).unwrap();
    assert_eq!(encoder.as_bytes(), b"m b=1.5\n");
    assert_eq!(encoder.line_count(), 1);
    assert_eq!(
        encoder.stats(),
        EncodeStats {
            lines: 1,
            skipped_records: 2,
            dropped_fields: 3,
            dropped_tags: 0,
        }
    );
}

/// The reason text of a name error, and which component it is about.
fn name_error(point: &Point) -> (&'static str, &'static str) {
    match encode(point).unwrap_err() {
        Error::InvalidMeasurement { reason, .. } => ("measurement", reason),
        Error::InvalidTagKey { reason, .. } => ("tag key", reason),
        Error::InvalidTagValue { reason, .. } => ("tag value", reason),
        Error::InvalidFieldKey { reason, .. } => ("field key", reason),
        other => panic!("unexpected error {other:?}"),
    }
}

#[test]
fn measurement_validation() {
    assert_eq!(
        name_error(&p("").field("v", 1)),
        ("measurement", "it is empty")
    );
    assert!(name_error(&p("#m").field("v", 1)).1.contains("'#'"));
    assert!(name_error(&p("m\\").field("v", 1)).1.contains("backslash"));
    assert!(name_error(&p("a\nb").field("v", 1)).1.contains("line feed"));
    assert!(
        name_error(&p("a\rb").field("v", 1))
            .1
            .contains("carriage return")
    );
    assert!(name_error(&p("a\tb").field("v", 1)).1.contains("tab"));
    assert!(name_error(&p("a\0b").field("v", 1)).1.contains("NUL"));
    assert!(
        name_error(&p(&"m".repeat(1_048_577)).field("v", 1))
            .1
            .contains("1048576")
    );
    // A NUL is fine in tag values (the parser accepts it there).
    assert_eq!(
        encode(&p("m").tag("t", "a\0b").field("v", 1)).unwrap(),
        "m,t=a\0b v=1i\n"
    );
}

#[test]
fn tag_and_field_validation() {
    let cases: [(Point, &str, &str); 14] = [
        (p("m").tag("", "v").field("v", 1), "tag key", "empty"),
        (p("m").tag("k\\", "v").field("v", 1), "tag key", "backslash"),
        (p("m").tag("k\n", "v").field("v", 1), "tag key", "line feed"),
        (
            p("m").tag("k", "v\\").field("v", 1),
            "tag value",
            "backslash",
        ),
        (
            p("m").tag("k", "v\r").field("v", 1),
            "tag value",
            "carriage return",
        ),
        (p("m").tag("k", "v\t").field("v", 1), "tag value", "tab"),
        (p("m").tag("time", "v").field("v", 1), "tag key", "reserved"),
        (
            p("m").tag("__chunk_order", "v").field("v", 1),
            "tag key",
            "reserved",
        ),
        (p("m").field("", 1), "field key", "empty"),
        (p("m").field("f\\", 1), "field key", "backslash"),
        (p("m").field("f\t", 1), "field key", "tab"),
        (p("m").field("time", 1), "field key", "reserved"),
        (p("m").field("__chunk_order", 1), "field key", "reserved"),
        (p("m").field("a\rb", 1), "field key", "carriage return"),
    ];
    for (point, component, reason) in cases {
        let (c, r) = name_error(&point);
        assert_eq!(c, component, "{point:?}");
        assert!(r.contains(reason), "{point:?}: {r}");
    }
}

#[test]
fn duplicate_keys_are_rejected() {
    let err = encode(
        &p("m")
            .tag("a", "1")
            .tag("b", "2")
            .tag("a", "3")
            .field("v", 1),
    )
    .unwrap_err();
    assert_eq!(
        err,
        Error::DuplicateTagKey {
            measurement: "m".into(),
            key: "a".into()
        }
    );
    // Also when one of them is empty.
    let err = encode(&p("m").tag("a", "").tag("a", "3").field("v", 1)).unwrap_err();
    assert!(matches!(err, Error::DuplicateTagKey { .. }));
    let err = encode(&p("m").field("x", 1).field("y", 2).field("x", 3.0)).unwrap_err();
    assert_eq!(
        err,
        Error::DuplicateFieldKey {
            measurement: "m".into(),
            key: "x".into()
        }
    );
    // Many fields take the sorted path.
    let mut point = p("m");
    for i in 0..40 {
        point = point.field(format!("f{i}"), i);
    }
    assert!(encode(&point).is_ok());
    let err = encode(&point.field("f17", 0)).unwrap_err();
    assert!(matches!(err, Error::DuplicateFieldKey { key, .. } if key == "f17"));
    // A NaN duplicate is still a duplicate.
    assert!(encode(&p("m").field("x", f64::NAN).field("x", 1)).is_err());
}

#[test]
fn string_field_length_limit() {
    let ok = "x".repeat(1 << 20);
    assert!(encode(&p("m").field("s", ok.as_str())).is_ok());
    let err = encode(&p("m").field("s", ok + "x")).unwrap_err();
    assert_eq!(
        err,
        Error::FieldValueTooLong {
            measurement: "m".into(),
            key: "s".into(),
            len: 1_048_577
        }
    );
}

#[test]
fn timestamps_in_each_precision() {
    let ns = p("m")
        .field("v", 1)
        .timestamp(Timestamp::nanos(1_641_024_000_123_456_789));
    assert_eq!(
        encode_in(Precision::Nanoseconds, &ns).unwrap(),
        "m v=1i 1641024000123456789\n"
    );
    assert_eq!(
        encode_in(Precision::Microseconds, &ns).unwrap(),
        "m v=1i 1641024000123456\n"
    );
    assert_eq!(
        encode_in(Precision::Milliseconds, &ns).unwrap(),
        "m v=1i 1641024000123\n"
    );
    assert_eq!(
        encode_in(Precision::Seconds, &ns).unwrap(),
        "m v=1i 1641024000\n"
    );
    // Rounded down, also before 1970.
    let before = p("m").field("v", 1).timestamp(Timestamp::nanos(-1));
    assert_eq!(
        encode_in(Precision::Seconds, &before).unwrap(),
        "m v=1i -1\n"
    );
    // Coarser units scale up.
    let secs = p("m")
        .field("v", 1)
        .timestamp(Timestamp::new(5, Precision::Seconds));
    assert_eq!(
        encode_in(Precision::Milliseconds, &secs).unwrap(),
        "m v=1i 5000\n"
    );
    assert_eq!(encode_in(Precision::Seconds, &secs).unwrap(), "m v=1i 5\n");
}

#[test]
fn bare_integer_timestamps_are_in_the_writes_precision() {
    // The seed's case: an integer with `Precision::Seconds` is seconds, not nanoseconds.
    let point = p("home").field("temp", 21.5).timestamp(1_641_024_000);
    for precision in [
        Precision::Nanoseconds,
        Precision::Microseconds,
        Precision::Milliseconds,
        Precision::Seconds,
    ] {
        assert_eq!(
            encode_in(precision, &point).unwrap(),
            "home temp=21.5 1641024000\n"
        );
    }
    // Explicit units are converted.
    for (ts, want) in [
        (Timestamp::seconds(1_641_024_000), "1641024000000"),
        (Timestamp::millis(1_641_024_000_123), "1641024000123"),
        (Timestamp::micros(1_641_024_000_123_456), "1641024000123"),
        (Timestamp::nanos(1_641_024_000_123_456_789), "1641024000123"),
    ] {
        assert_eq!(
            encode_in(Precision::Milliseconds, &p("m").field("v", 1).timestamp(ts)).unwrap(),
            format!("m v=1i {want}\n")
        );
    }
    assert_eq!(Timestamp::from(7), Timestamp::in_write_precision(7));
    assert_eq!(Timestamp::from(7).to_nanos(), None);
    assert_eq!(Timestamp::from(7).to_string(), "7");
    assert_eq!(Timestamp::seconds(7).to_string(), "7s");
    // A bare integer out of range in the write's precision is rejected, naming the unit.
    let err = encode_in(
        Precision::Seconds,
        &p("m").field("v", 1).timestamp(i64::MAX / 1_000),
    )
    .unwrap_err();
    assert_eq!(
        err,
        Error::TimestampOutOfRange {
            measurement: "m".into(),
            timestamp: Timestamp::seconds(i64::MAX / 1_000)
        }
    );
}

#[test]
fn timestamps_that_overflow_nanoseconds_are_rejected() {
    let ts = Timestamp::new(i64::MAX / 1_000 + 1, Precision::Microseconds);
    assert!(ts.to_nanos().is_none());
    // Also when the encoder's precision matches: the server scales it to nanoseconds.
    let err = encode_in(Precision::Microseconds, &p("m").field("v", 1).timestamp(ts)).unwrap_err();
    assert_eq!(
        err,
        Error::TimestampOutOfRange {
            measurement: "m".into(),
            timestamp: ts
        }
    );
    assert!(err.to_string().contains("out of range"));
}

#[test]
fn system_time_timestamps() {
    let t = UNIX_EPOCH + Duration::new(1_641_024_000, 5);
    assert_eq!(
        Timestamp::from(t),
        Timestamp::from_nanos(1_641_024_000_000_000_005)
    );
    let before = UNIX_EPOCH - Duration::from_nanos(1_500);
    assert_eq!(Timestamp::from(before), Timestamp::from_nanos(-1_500));
    // Too far for nanoseconds: kept in a coarser unit, and rejected when encoded.
    let far = UNIX_EPOCH + Duration::from_secs(400 * 365 * 86_400);
    let ts = Timestamp::from(far);
    assert_eq!(ts.precision(), Some(Precision::Microseconds));
    assert!(encode(&p("m").field("v", 1).timestamp(far)).is_err());
}

#[test]
fn precision_names() {
    for (p, v2, v3, nanos) in [
        (Precision::Nanoseconds, "ns", "nanosecond", 1),
        (Precision::Microseconds, "us", "microsecond", 1_000),
        (Precision::Milliseconds, "ms", "millisecond", 1_000_000),
        (Precision::Seconds, "s", "second", 1_000_000_000),
    ] {
        assert_eq!(p.v2_name(), v2);
        assert_eq!(p.v3_name(), v3);
        assert_eq!(p.nanos_per_unit(), nanos);
        assert_eq!(p.to_string(), v2);
        assert_eq!(v2.parse::<Precision>().unwrap(), p);
        assert_eq!(v3.parse::<Precision>().unwrap(), p);
    }
    assert_eq!(Precision::default(), Precision::Nanoseconds);
    let err = "µs".parse::<Precision>().unwrap_err();
    assert!(err.to_string().contains("\"µs\""), "{err}");
}

#[test]
fn a_failed_encode_leaves_the_encoder_unchanged() {
    let mut encoder = LineEncoder::default();
    encoder.encode(&p("m").field("v", 1)).unwrap();
    let before = (
        encoder.as_bytes().to_vec(),
        encoder.line_count(),
        encoder.stats(),
    );
    let batch = vec![
        p("m").field("v", 2).tag("e", ""),
        p("m").field("x", f64::NAN),
        p("m").tag("t", "bad\n").field("v", 3),
    ];
    assert!(encoder.encode(&batch).is_err());
    assert_eq!(
        (
            encoder.as_bytes().to_vec(),
            encoder.line_count(),
            encoder.stats()
        ),
        before
    );
    assert!(encoder.encode_iter(&batch).is_err());
    assert_eq!(
        (
            encoder.as_bytes().to_vec(),
            encoder.line_count(),
            encoder.stats()
        ),
        before
    );
    // And a point that fails half-way through writing its fields.
    assert!(
        encoder
            .write_point(&p("m").field("a", 1).field("b\\", 2))
            .is_err()
    );
    assert_eq!(encoder.as_bytes(), before.0.as_slice());
    encoder.encode_iter(batch.iter().take(2)).unwrap();
    assert_eq!(encoder.as_bytes(), b"m v=1i\nm v=2i\n");
}

#[test]
fn take_and_clear() {
    let mut encoder = LineEncoder::new(Precision::Seconds);
    encoder.encode(&p("m").field("v", 1)).unwrap();
    encoder.encode(&p("m").field("v", f64::NAN)).unwrap();
    assert_eq!(encoder.len(), 7);
    let body: Bytes = encoder.take();
    assert_eq!(&body[..], b"m v=1i\n");
    assert!(encoder.is_empty());
    assert_eq!(encoder.line_count(), 0);
    assert_eq!(encoder.stats().lines, 1);
    assert_eq!(encoder.stats().skipped_records, 1);
    encoder.encode(&p("m").field("v", 2)).unwrap();
    assert_eq!(encoder.as_bytes(), b"m v=2i\n");
    assert_eq!(encoder.precision(), Precision::Seconds);
    encoder.clear();
    assert!(encoder.is_empty());
    assert_eq!(encoder.stats(), EncodeStats::default());
    assert!(format!("{encoder:?}").contains("line_count: 0"));
}

#[test]
fn ready_line_protocol() {
    let text = "# comment\r\n\r\ncpu v=1\r\n   \n\tmem v=2i 5\nstr s=\"two\nlines\"\ndisk v=3";
    for out in [
        encode(text).unwrap(),
        encode(&text.to_owned()).unwrap(),
        encode(&Bytes::from(text)).unwrap(),
        encode(&Validated(text)).unwrap(),
    ] {
        assert_eq!(
            out,
            "cpu v=1\n\tmem v=2i 5\nstr s=\"two\nlines\"\ndisk v=3\n"
        );
    }
    let mut encoder = LineEncoder::default();
    encoder.encode(text).unwrap();
    assert_eq!(encoder.line_count(), 4);
    encoder.encode("").unwrap();
    encoder.encode("\n\n# only comments\n").unwrap();
    assert_eq!(encoder.line_count(), 4);
}

#[test]
fn ready_line_protocol_must_be_utf8() {
    let mut encoder = LineEncoder::default();
    let err = encoder
        .write_line_protocol(b"# c\na v=1\n\nb v=\xff2\nc v=3\n")
        .unwrap_err();
    match err {
        Error::InvalidLineProtocol {
            line_number, line, ..
        } => {
            assert_eq!(line_number, 2);
            assert_eq!(line, "b v=\u{fffd}2");
        }
        other => panic!("{other:?}"),
    }
    assert!(encoder.is_empty());
    assert!(encoder.encode(&Validated(&b"a v=\xff"[..])).is_err());
}

#[test]
fn ready_line_protocol_that_would_swallow_the_next_line_is_rejected() {
    let mut encoder = LineEncoder::default();
    encoder.encode("a v=1").unwrap();
    for text in ["b v=1\nc s=\"open", "b v=1\nc v=1\\"] {
        let err = encoder.encode(text).unwrap_err();
        assert!(
            matches!(&err, Error::InvalidLineProtocol { line_number: 2, .. }),
            "{err}"
        );
        assert_eq!(encoder.as_bytes(), b"a v=1\n");
        assert_eq!(encoder.line_count(), 1);
    }
    // A CRLF after a backslash keeps its `\r`, so the lines stay apart.
    encoder.encode("b v=1\\\r\nc v=2\r\n").unwrap();
    assert_eq!(encoder.as_bytes(), b"a v=1\nb v=1\\\r\nc v=2\n");
}

#[test]
fn validated_line_protocol_reports_the_line() {
    let check = |text: &str, line: usize, message: &str| match encode(&Validated(text)) {
        Err(Error::InvalidLineProtocol {
            line_number,
            message: m,
            ..
        }) => {
            assert_eq!(line_number, line, "{text}");
            assert_eq!(m, message, "{text}");
        }
        other => panic!("{text}: {other:?}"),
    };
    check("a v=1\n# c\n\nb v=\n", 2, "No fields were provided");
    check(
        "a v=1 \n",
        1,
        "Could not parse entire line. Found trailing content: ' '",
    );
    check("a,t=1,t=2 v=1", 1, "tag key \"t\" appears more than once");
    check(
        "a v=1,v=2",
        1,
        "invalid line protocol - multiple instances of 'v' field found",
    );
    check("a,time=1 v=1", 1, "'time' is a reserved column");
    check("a time=1", 1, "'time' is a reserved column");
    let err = encode(&Validated("x v=1\ny v=\n")).unwrap_err();
    assert_eq!(err.to_string(), "line 2: No fields were provided: \"y v=\"");
}

#[test]
fn tag_order_puts_named_tags_first_and_sorts_the_rest() {
    let mut encoder = LineEncoder::default()
        .with_tag_order(["room", "floor", "room"])
        .with_default_tags([("site", "a"), ("building", "b")]);
    assert_eq!(encoder.tag_order(), ["room", "floor"]);
    encoder
        .encode(
            &p("home")
                .tag("zone", "z")
                .tag("floor", "2")
                .tag("alpha", "x")
                .tag("room", "Kitchen")
                .field("temp", 21.5),
        )
        .unwrap();
    // Only some named, a default tag named in the order, and a line tag overriding a default.
    let mut defaults = LineEncoder::default()
        .with_default_tags([("site", "a"), ("room", "none")])
        .with_tag_order(["site", "room"]);
    defaults
        .encode(&p("m").tag("room", "Kitchen").tag("a", "1").field("v", 1))
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(encoder.as_bytes()),
        "home,room=Kitchen,floor=2,alpha=x,building=b,site=a,zone=z temp=21.5\n"
    );
    assert_eq!(
        String::from_utf8_lossy(defaults.as_bytes()),
        "m,site=a,room=Kitchen,a=1 v=1i\n"
    );
    // A duplicate key is still an error; without an order, tags are sorted.
    assert!(matches!(
        LineEncoder::default()
            .with_tag_order(["b"])
            .encode(&p("m").tag("a", "1").tag("a", "2").field("v", 1)),
        Err(Error::DuplicateTagKey { .. })
    ));
    let mut plain = LineEncoder::default().with_tag_order(Vec::<String>::new());
    plain
        .encode(&p("m").tag("b", "1").tag("a", "2").field("v", 1))
        .unwrap();
    assert_eq!(plain.as_bytes(), b"m,a=2,b=1 v=1i\n");
}

#[test]
fn points_display_as_line_protocol_and_take_any_display_tag_value() {
    let name = String::from("Kitchen");
    let point = p("home")
        .tag("room", &name)
        .tag("name", name.clone())
        .tag("floor", 2)
        .tag("ratio", 0.5)
        .tag("occupied", false)
        .tag("big", u64::MAX)
        .field("temp", 21.5)
        .timestamp(Timestamp::seconds(1));
    let want = "home,big=18446744073709551615,floor=2,name=Kitchen,occupied=false,ratio=0.5,room=Kitchen \
         temp=21.5 1000000000";
    assert_eq!(point.to_string(), want);
    assert_eq!(point.to_line_protocol().unwrap(), want);
    assert_eq!(
        point.to_line_protocol_in(Precision::Seconds).unwrap(),
        want.replace(" 1000000000", " 1")
    );
    // No field left: empty; invalid: an error, and Display never fails.
    assert_eq!(p("m").field("v", f64::NAN).to_line_protocol().unwrap(), "");
    let bad = p("m").tag("k", "a").tag("k", "b").field("v", 1);
    assert!(bad.to_line_protocol().is_err());
    assert!(bad.to_string().starts_with("<invalid point: "), "{bad}");
    let far = p("m").field("v", 1).timestamp(Timestamp::seconds(i64::MAX));
    assert!(far.to_string().starts_with("<invalid point: "), "{far}");
}
