//! The parser: what it accepts, and the server's error messages and line numbers.

use std::borrow::Cow;

use influxdb3_lp::{FieldValue, ParsedLine, parse_lines};

/// The error message of the first line of `body`.
fn error(body: &str) -> String {
    match parse_lines(body).next() {
        Some(Err(e)) => e.message,
        other => panic!("{body:?} did not fail: {other:?}"),
    }
}

/// The first line of `body`, which must parse.
fn ok(body: &str) -> ParsedLine<'_> {
    match parse_lines(body).next() {
        Some(Ok(line)) => line,
        other => panic!("{body:?} did not parse: {other:?}"),
    }
}

/// The value of the only field of `m f=<value>`.
fn value(text: &str) -> FieldValue {
    let body = format!("m f={text}");
    let line = ok(&body);
    assert_eq!(line.fields.len(), 1, "{body}");
    line.fields[0].1.clone()
}

const TRAILING: &str = "Could not parse entire line. Found trailing content: ";

#[test]
fn the_servers_error_messages() {
    // The wording of InfluxDB 3 Core 3.6.0 (the recorded conformance corpus).
    let cases: &[(&str, &str)] = &[
        (
            "measurement",
            "A generic parsing error occurred: TakeWhile1",
        ),
        (",", "Invalid measurement was provided"),
        ("J,#", "Tag Set Malformed"),
        ("J,", "Tag Set Malformed"),
        ("testmeasure, bar=1i", "Tag Set Malformed"),
        ("0,,=", "Tag Set Malformed"),
        ("testmeasure,foo\\=\\,baz= bar=1i", "Tag Set Malformed"),
        ("testmeasure,foo=,baz= bar=1i", "Tag Set Malformed"),
        ("testmeasure,foo= sed=1i", "Tag Set Malformed"),
        ("m,=a f=1", "Tag Set Malformed"),
        (
            "testmeasure,foo=f bar=1i,baz=",
            "Could not parse entire line. Found trailing content: 'baz='",
        ),
        ("\u{1b}# /", "No fields were provided"),
        (
            ":\u{14}\\",
            "Measurements, tag keys and values, and field keys may not end with a backslash",
        ),
        (
            "m,t=a\\\\ f=1",
            "Measurements, tag keys and values, and field keys may not end with a backslash",
        ),
        (
            "m f\\\\=1",
            "Measurements, tag keys and values, and field keys may not end with a backslash",
        ),
        ("cpu,host=a val= 123", "No fields were provided"),
        ("m f=\"open", "No fields were provided"),
        ("m", "A generic parsing error occurred: TakeWhile1"),
        ("m\tf=1", "A generic parsing error occurred: TakeWhile1"),
        ("m ", "No fields were provided"),
        (
            "m f=1\r",
            "Could not parse entire line. Found trailing content: '\r'",
        ),
        (
            "m f=1 ",
            "Could not parse entire line. Found trailing content: ' '",
        ),
        (
            "m f=1\t1",
            "Could not parse entire line. Found trailing content: '\t1'",
        ),
        (
            "m f=1, g=2",
            "Could not parse entire line. Found trailing content: ' g=2'",
        ),
        (
            "m f=1 # c",
            "Could not parse entire line. Found trailing content: ' # c'",
        ),
        (
            "m v=1 100 200",
            "Could not parse entire line. Found trailing content: '200'",
        ),
        ("m v=.5 1", "No fields were provided"),
        (
            "m v=5. 2",
            "Could not parse entire line. Found trailing content: '. 2'",
        ),
        (
            "m v=1.5i",
            "Could not parse entire line. Found trailing content: 'i'",
        ),
        (
            "m v=-1u",
            "Could not parse entire line. Found trailing content: 'u'",
        ),
        ("m v=+1", "No fields were provided"),
        ("m v=NaN", "No fields were provided"),
        ("m v=Inf", "No fields were provided"),
        (
            "m v=tRUE",
            "Could not parse entire line. Found trailing content: 'RUE'",
        ),
        (
            "m v=1 1.5",
            "Could not parse entire line. Found trailing content: '.5'",
        ),
        (
            "m v=1 +5",
            "Could not parse entire line. Found trailing content: ' +5'",
        ),
        (
            "m v=9223372036854775808i",
            "Unable to parse integer value '9223372036854775808'",
        ),
        (
            "m v=18446744073709551616u",
            "Unable to parse unsigned integer value '18446744073709551616'",
        ),
        (
            "m v=1 9223372036854775808",
            "Unable to parse timestamp value '9223372036854775808'",
        ),
    ];
    for (body, message) in cases {
        assert_eq!(error(body), *message, "{body:?}");
    }
    // Trailing content is quoted in full (3.6.0 does not cut it).
    let long = format!("J,{}", "a".repeat(200));
    assert_eq!(error(&long), "Tag Set Malformed");
    let long = format!("testmeasure, {}=1i", "b".repeat(200));
    assert_eq!(error(&long), "Tag Set Malformed");
    let long = format!("testmeasure,foo=f bar=1i,ba{}=", "z".repeat(100));
    assert_eq!(error(&long), format!("{TRAILING}'ba{}='", "z".repeat(100)));
    // The second field's error starts after its comma, the third's at its comma.
    assert_eq!(error("m a=1,b=x"), format!("{TRAILING}'b=x'"));
    assert_eq!(error("m a=1,b=2,c=x"), format!("{TRAILING}',c=x'"));
}

#[test]
fn field_values() {
    for (text, expected) in [
        ("5", 5.0),
        ("-5", -5.0),
        ("007", 7.0),
        ("1.5", 1.5),
        ("-1.5", -1.5),
        ("1e5", 1e5),
        ("1E+5", 1e5),
        ("-1.5e-3", -1.5e-3),
        ("2.5E3", 2500.0),
    ] {
        assert_eq!(value(text), FieldValue::Float(expected), "{text}");
    }
    assert_eq!(value("1e400"), FieldValue::Float(f64::INFINITY));
    assert_eq!(value("-5i"), FieldValue::Integer(-5));
    assert_eq!(value("9223372036854775807i"), FieldValue::Integer(i64::MAX));
    assert_eq!(
        value("-9223372036854775808i"),
        FieldValue::Integer(i64::MIN)
    );
    assert_eq!(
        value("18446744073709551615u"),
        FieldValue::UInteger(u64::MAX)
    );
    for t in ["t", "T", "true", "True", "TRUE"] {
        assert_eq!(value(t), FieldValue::Boolean(true), "{t}");
    }
    for f in ["f", "F", "false", "False", "FALSE"] {
        assert_eq!(value(f), FieldValue::Boolean(false), "{f}");
    }
    assert_eq!(value("\"\""), FieldValue::String(String::new()));
    assert_eq!(
        value(r#""a \"q\" \\ \n \x""#),
        FieldValue::String(r#"a "q" \ \n \x"#.into())
    );
    assert_eq!(
        value("\"tab\there\""),
        FieldValue::String("tab\there".into())
    );
}

#[test]
fn names_and_escapes() {
    let line = ok("my\\ m\\,x\\=y,t\\ k\\,\\=\\\\x=v\\ \\,\\=\\\\x f\\ \\,\\=\\\\x=1i 42");
    assert_eq!(line.measurement, "my m,x\\=y");
    assert_eq!(
        line.tags,
        vec![(Cow::from("t k,=\\x"), Cow::from("v ,=\\x"))]
    );
    assert_eq!(
        line.fields,
        vec![(Cow::from("f ,=\\x"), FieldValue::Integer(1))]
    );
    assert_eq!(line.timestamp, Some(42));
    // Unknown escapes keep the backslash; `=` and `"` are fine unescaped in a measurement.
    assert_eq!(ok("a\\nb=\"c f=1").measurement, "a\\nb=\"c");
    assert_eq!(ok("\\#m f=1").measurement, "\\#m");
    // A comma in a tag key is part of the key.
    assert_eq!(ok("m,a,b=c f=1").tags[0].0, "a,b");
    // Unescaped names borrow from the input.
    assert!(matches!(ok("m,t=v f=1").measurement, Cow::Borrowed(_)));
    // Negative timestamps, spaces after the timestamp, several spaces between parts.
    let line = ok("m   f=1   -5   ");
    assert_eq!(line.timestamp, Some(-5));
    assert_eq!(line.text, "m   f=1   -5   ");
}

#[test]
fn lines_comments_and_numbering() {
    let body =
        "# header\n\n   \ncpu v=1\n\t# indented comment\ncpu v=\nmem s=\"a\nb\" 1\n  disk v=2\nbad";
    let lines: Vec<_> = parse_lines(body).collect();
    assert_eq!(lines.len(), 5);
    let first = lines[0].as_ref().unwrap();
    assert_eq!((first.line_number, first.text), (1, "cpu v=1"));
    let second = lines[1].as_ref().unwrap_err();
    assert_eq!(second.line_number, 2);
    assert_eq!(second.message, "No fields were provided");
    assert_eq!(second.original_line, "cpu v=");
    assert_eq!(second.to_string(), "line 2: No fields were provided");
    let third = lines[2].as_ref().unwrap();
    assert_eq!(third.line_number, 3);
    assert_eq!(third.fields[0].1, FieldValue::String("a\nb".into()));
    let fourth = lines[3].as_ref().unwrap();
    assert_eq!((fourth.line_number, fourth.text), (4, "disk v=2"));
    assert_eq!(lines[4].as_ref().unwrap_err().line_number, 5);
    // A backslash before a line feed joins the lines.
    assert_eq!(parse_lines("m,t=a\\\nb f=1").count(), 1);
    assert_eq!(parse_lines("").count(), 0);
    assert_eq!(parse_lines("\n\n# c\n").count(), 0);
    assert_eq!(parse_lines("a f=1\n").count(), 1);
}

#[test]
fn the_one_mebibyte_limit() {
    let max = "x".repeat(1 << 20);
    let over = "x".repeat((1 << 20) + 1);
    assert!(
        parse_lines(&format!("m f=\"{max}\""))
            .next()
            .unwrap()
            .is_ok()
    );
    assert!(parse_lines(&format!("{max} f=1")).next().unwrap().is_ok());
    for body in [
        format!("m f=\"{over}\""),
        format!("{over} f=1"),
        format!("m,{over}=v f=1"),
        format!("m,t={over} f=1"),
        format!("m {over}=1"),
    ] {
        let message = parse_lines(&body).next().unwrap().unwrap_err().message;
        assert_eq!(message, "String is greater than 1MB");
    }
}
