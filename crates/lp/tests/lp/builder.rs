//! `LineEncoder::line` (the `LineBuilder`) against `Point`s, and `lines`, the server's rule for
//! where a line ends.

use influxdb3_lp::{EncodeStats, Error, LineEncoder, Point, Precision, lines};

/// A builder line and the same point encode to the same bytes and stats.
#[test]
fn builder_lines_match_points() -> Result<(), Error> {
    let defaults = [
        ("host", "h1"),
        ("room", "ignored"),
        ("site", ""),
        ("a", "x y"),
    ];
    let mut built = LineEncoder::new(Precision::Milliseconds).with_default_tags(defaults);
    let mut pointed = built.clone();

    built
        .line("my home")?
        .tag("b", "")
        .tag("room", "Living Room")
        .field("temp", 21.1)
        .field("nan", f64::NAN)
        .field_str("note", "say \"hi\" \\ bye")
        .field("co", 0_u8)
        .field("on", true)
        .timestamp(influxdb3_lp::Timestamp::nanos(1_641_024_000_123_456_789))
        .finish()?;
    built.line("m")?.field("v", -1.5e300).finish()?;
    pointed.encode(
        &[
            Point::new("my home")
                .tag("room", "Living Room")
                .tag("b", "")
                .field("temp", 21.1)
                .field("nan", f64::NAN)
                .field("note", "say \"hi\" \\ bye")
                .field("co", 0_u8)
                .field("on", true)
                .timestamp(influxdb3_lp::Timestamp::nanos(1_641_024_000_123_456_789)),
            Point::new("m").field("v", -1.5e300),
        ][..],
    )?;
    assert_eq!(
        String::from_utf8_lossy(built.as_bytes()),
        String::from_utf8_lossy(pointed.as_bytes())
    );
    assert_eq!(built.stats(), pointed.stats());
    assert_eq!(
        built.stats(),
        EncodeStats {
            lines: 2,
            skipped_records: 0,
            dropped_fields: 1,
            dropped_tags: 3,
        }
    );
    Ok(())
}

#[test]
fn a_line_with_no_field_left_is_skipped_and_counted() -> Result<(), Error> {
    let mut encoder = LineEncoder::default().with_default_tags([("empty", "")]);
    encoder
        .line("m")?
        .tag("t", "x")
        .field("v", f64::INFINITY)
        .finish()?;
    encoder.line("m")?.finish()?;
    assert!(encoder.is_empty());
    assert_eq!(encoder.line_count(), 0);
    let stats = encoder.stats();
    assert_eq!((stats.skipped_records, stats.dropped_fields), (2, 1));
    assert_eq!(
        stats.dropped_tags, 2,
        "the empty default tag, once per line"
    );
    Ok(())
}

#[test]
fn errors_roll_the_line_back() -> Result<(), Error> {
    let mut encoder = LineEncoder::default();
    encoder.line("m")?.field("v", 1).finish()?;
    let before = (encoder.as_bytes().to_vec(), encoder.stats());

    type Case = fn(&mut LineEncoder) -> Result<(), Error>;
    let cases: [(Case, &str); 7] = [
        (
            |e| {
                e.line("m")?
                    .tag("b", "1")
                    .tag("a", "2")
                    .field("v", 1)
                    .finish()
            },
            "sorts before",
        ),
        (
            |e| {
                e.line("m")?
                    .tag("a", "1")
                    .tag("a", "2")
                    .field("v", 1)
                    .finish()
            },
            "appears more than once",
        ),
        (
            |e| e.line("m")?.field("v", 1).tag("a", "1").finish(),
            "before its first field",
        ),
        (
            |e| e.line("m")?.field("v", f64::NAN).field("v", 2).finish(),
            "appears more than once",
        ),
        (
            |e| e.line("m")?.tag("time", "1").field("v", 1).finish(),
            "reserved",
        ),
        (|e| e.line("m")?.field("time", 1).finish(), "reserved"),
        (
            |e| {
                e.line("m")?
                    .field("v", 1)
                    .timestamp(influxdb3_lp::Timestamp::new(i64::MAX, Precision::Seconds))
                    .finish()
            },
            "range",
        ),
    ];
    for (case, expected) in cases {
        let err = case(&mut encoder).expect_err(expected).to_string();
        assert!(err.contains(expected), "{err:?} should say {expected:?}");
    }
    assert!(encoder.line("bad\nname").is_err());
    // Dropped without `finish`: nothing is kept.
    drop(encoder.line("m")?.tag("t", "x").field("v", f64::NAN));
    assert_eq!((encoder.as_bytes().to_vec(), encoder.stats()), before);
    Ok(())
}

#[test]
fn lines_split_as_the_server_does() {
    let body = b"m s=\"x\ny\" 1\nm,t=a\\ b s=\"q\\\"\n\" 2\nm v=1\n";
    let split: Vec<&[u8]> = lines(body).collect();
    assert_eq!(
        split,
        [
            &b"m s=\"x\ny\" 1\n"[..],
            b"m,t=a\\ b s=\"q\\\"\n\" 2\n",
            b"m v=1\n"
        ]
    );
    // A quote in a tag value does not start a string.
    assert_eq!(lines(b"m,t=a\"b v=1\nm v=2\n").count(), 2);
    // An escaped line feed does not end the line, even before a multi-byte character.
    assert_eq!(lines("m\\\nx v=1\nm\\é v=2\n".as_bytes()).count(), 2);
    // The last line may lack its `\n`; blank lines are lines; nothing has no lines.
    assert_eq!(
        lines(b"a v=1\n\nb v=2").collect::<Vec<_>>(),
        [&b"a v=1\n"[..], b"\n", b"b v=2"]
    );
    assert_eq!(lines(b"").count(), 0);
    // A body ending inside a quoted string or after a backslash is one line.
    assert_eq!(lines(b"m s=\"open\nv=1\n").count(), 1);
    assert_eq!(lines(b"m v=1\\").count(), 1);
}

#[test]
fn with_a_tag_order_builder_tags_come_in_any_order() -> Result<(), Error> {
    let mut encoder = LineEncoder::default()
        .with_tag_order(["room"])
        .with_default_tags([("site", "a")]);
    encoder
        .line("home")?
        .tag("b", "1")
        .tag("room", "Kitchen")
        .tag("a", "2")
        .field("temp", 21.5)
        .finish()?;
    assert_eq!(
        String::from_utf8_lossy(encoder.as_bytes()),
        "home,room=Kitchen,a=2,b=1,site=a temp=21.5\n"
    );
    // A repeated key is still an error, and leaves the encoder as it was.
    let err = encoder
        .line("home")?
        .tag("a", "1")
        .tag("a", "2")
        .field("v", 1)
        .finish();
    assert!(matches!(err, Err(Error::DuplicateTagKey { .. })), "{err:?}");
    // A tag after a field is still an error.
    let err = encoder.line("home")?.field("v", 1).tag("a", "1").finish();
    assert!(matches!(err, Err(Error::InvalidTagKey { .. })), "{err:?}");
    // A line with no field left is skipped.
    encoder
        .line("home")?
        .tag("a", "1")
        .field("v", f64::NAN)
        .finish()?;
    assert_eq!(encoder.line_count(), 1);
    assert_eq!(encoder.stats().skipped_records, 1);
    Ok(())
}
