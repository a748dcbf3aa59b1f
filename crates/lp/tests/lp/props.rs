//! Property tests: encode-then-parse round trips, and the parser never panics.

use std::collections::BTreeMap;

use influxdb3_lp::{FieldValue, LineEncoder, Point, Precision, Timestamp, Validated, parse_lines};
use proptest::prelude::*;

/// Any UTF-8 without the characters names may not hold.
const NAME: &str = "[^\n\r\t\u{0}]{1,12}";

fn valid_name(s: &str) -> bool {
    !s.ends_with('\\')
}

fn measurement() -> impl Strategy<Value = String> {
    NAME.prop_filter("a valid measurement", |s| {
        valid_name(s) && !s.starts_with('#')
    })
}

fn key() -> impl Strategy<Value = String> {
    NAME.prop_filter("a valid key", |s| {
        valid_name(s) && s != "time" && s != "__chunk_order"
    })
}

fn field_value() -> impl Strategy<Value = FieldValue> {
    prop_oneof![
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(FieldValue::Float),
        any::<i64>().prop_map(FieldValue::Integer),
        any::<u64>().prop_map(FieldValue::UInteger),
        any::<bool>().prop_map(FieldValue::Boolean),
        any::<String>().prop_map(FieldValue::String),
    ]
}

fn point() -> impl Strategy<Value = Point> {
    (
        measurement(),
        prop::collection::btree_map(
            key(),
            "[^\n\r\t]{0,8}".prop_filter("valid", |s| valid_name(s)),
            0..5,
        ),
        prop::collection::btree_map(key(), field_value(), 1..6),
        prop::option::of(any::<i64>()),
    )
        .prop_map(|(m, tags, fields, ts)| {
            let mut point = Point::new(m);
            // Insert tags in reverse order, so the encoder has to sort them.
            for (k, v) in tags.into_iter().rev() {
                point = point.tag(k, v);
            }
            for (k, v) in fields {
                point = point.field(k, v);
            }
            match ts {
                Some(ts) => point.timestamp(ts),
                None => point,
            }
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn points_round_trip_through_the_parser(point in point()) {
        let mut encoder = LineEncoder::new(Precision::Nanoseconds);
        encoder.encode(&point).unwrap();
        let text = std::str::from_utf8(encoder.as_bytes()).unwrap();
        prop_assert!(text.ends_with('\n'));
        let lines: Vec<_> = parse_lines(text).collect();
        prop_assert_eq!(lines.len(), 1, "{:?}", text);
        let line = lines[0].as_ref().map_err(|e| TestCaseError::fail(format!("{e} in {text:?}")))?;
        prop_assert_eq!(line.measurement.as_ref(), point.measurement());
        let tags: BTreeMap<_, _> = point.tags().iter().filter(|(_, v)| !v.is_empty()).cloned().collect();
        let parsed_tags: Vec<(String, String)> = line.tags.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        prop_assert_eq!(parsed_tags, tags.into_iter().collect::<Vec<_>>());
        let parsed_fields: Vec<(String, FieldValue)> = line.fields.iter().map(|(k, v)| (k.to_string(), v.clone())).collect();
        prop_assert_eq!(parsed_fields, point.fields().to_vec());
        prop_assert_eq!(line.timestamp, point.get_timestamp().map(|t| t.value()));
        // The encoder's own check agrees.
        prop_assert!(LineEncoder::default().encode(&Validated(text)).is_ok());
    }

    #[test]
    fn floats_are_written_as_ryu_writes_them_with_a_plus_in_exponents(
        m in -10_000_000_000_000_000_i64..10_000_000_000_000_000,
        k in 0_i32..9,
        bits in any::<u64>(),
    ) {
        // Short decimals (the encoder's fast path) and arbitrary bit patterns (ryu).
        for v in [m as f64 / 10f64.powi(k), f64::from_bits(bits)] {
            if !v.is_finite() {
                continue;
            }
            let mut encoder = LineEncoder::default();
            encoder.encode(&Point::new("m").field("f", v)).unwrap();
            let mut ryu = ryu::Buffer::new();
            let expected = ryu.format_finite(v);
            let expected = expected.strip_suffix(".0").unwrap_or(expected);
            // Go's and Python's clients write a positive exponent with a `+`, and so do we.
            let expected = match expected.split_once('e') {
                Some((digits, exponent)) if !exponent.starts_with('-') => format!("{digits}e+{exponent}"),
                _ => expected.to_owned(),
            };
            let expected = format!("m f={expected}\n");
            prop_assert_eq!(encoder.as_bytes(), expected.as_bytes());
            let body = std::str::from_utf8(encoder.as_bytes()).unwrap();
            let parsed = parse_lines(body).next().unwrap().unwrap();
            prop_assert_eq!(&parsed.fields[0].1, &FieldValue::Float(v));
        }
    }

    #[test]
    fn timestamps_convert_like_integer_division(ns in any::<i64>()) {
        for precision in [Precision::Microseconds, Precision::Milliseconds, Precision::Seconds] {
            let unit = precision.nanos_per_unit();
            let value = Timestamp::from_nanos(ns).in_precision(precision).unwrap();
            prop_assert!(value * unit <= ns && ns - value * unit < unit);
        }
    }

    #[test]
    fn the_parser_never_panics_on_any_text(body in any::<String>()) {
        for line in parse_lines(&body) {
            let _ = line;
        }
    }

    #[test]
    fn the_parser_never_panics_on_line_protocol_like_text(
        body in "[a-z0-9 ,=\\\\\"#\n\r\t.eEiutTfF+-]{0,60}"
    ) {
        for (i, line) in parse_lines(&body).enumerate() {
            match line {
                Ok(l) => prop_assert_eq!(l.line_number, i + 1),
                Err(e) => prop_assert_eq!(e.line_number, i + 1),
            }
        }
        // Ready line protocol keeps its lines apart: the server sees as many lines as the
        // encoder counted, also when more text follows.
        let mut encoder = LineEncoder::default();
        if encoder.encode(body.as_str()).is_ok() {
            let lines = encoder.line_count();
            encoder.encode("next v=1").unwrap();
            let out = std::str::from_utf8(encoder.as_bytes()).unwrap();
            prop_assert_eq!(parse_lines(out).count(), lines + 1, "{:?}", out);
            prop_assert!(parse_lines(out).last().unwrap().is_ok());
        }
    }

    /// Arbitrary bytes (invalid UTF-8 included): the splitter gives back exactly the input,
    /// and encoding them as ready line protocol is a result, never a panic.
    #[test]
    fn arbitrary_bytes_never_panic_the_splitter_or_the_encoder(
        body in proptest::collection::vec(any::<u8>(), 0..200)
    ) {
        let joined: Vec<u8> = influxdb3_lp::lines(&body).flatten().copied().collect();
        prop_assert_eq!(&joined, &body);
        let mut encoder = LineEncoder::default();
        let _ = encoder.encode(&bytes::Bytes::from(body.clone()));
        if let Ok(text) = std::str::from_utf8(&body) {
            let _ = encoder.encode(text);
            for line in parse_lines(text) {
                let _ = line;
            }
        }
    }
}
