//! Arrow `RecordBatch` encoding.

use std::sync::Arc;

use arrow_array::types::{Float16Type, Int8Type, Int32Type, UInt16Type};
use arrow_array::{
    ArrayRef, BinaryArray, BooleanArray, DictionaryArray, Float32Array, Float64Array, Int8Array,
    Int16Array, Int32Array, Int64Array, LargeStringArray, PrimitiveArray, RecordBatch, StringArray,
    StringViewArray, TimestampMicrosecondArray, TimestampMillisecondArray,
    TimestampNanosecondArray, TimestampSecondArray, UInt8Array, UInt16Array, UInt32Array,
    UInt64Array,
};
use arrow_buffer::{Buffer, ScalarBuffer};
use influxdb3_lp::{
    EncodeStats, Error, LineEncoder, Point, Precision, RecordBatchLines, TableMapping,
};

use crate::encode_in;

fn batch(columns: Vec<(&str, ArrayRef)>) -> RecordBatch {
    RecordBatch::try_from_iter(columns).unwrap()
}

fn arc<A: arrow_array::Array + 'static>(a: A) -> ArrayRef {
    Arc::new(a)
}

fn lines(
    batch: &RecordBatch,
    mapping: &TableMapping,
    precision: Precision,
) -> Result<String, Error> {
    encode_in(precision, &RecordBatchLines::new(batch, mapping))
}

fn times(values: Vec<i64>) -> ArrayRef {
    arc(TimestampNanosecondArray::from(values))
}

/// A Float16 array from raw half-precision bits.
fn float16(bits: Vec<u16>) -> ArrayRef {
    let len = bits.len();
    let values = ScalarBuffer::<<Float16Type as arrow_array::ArrowPrimitiveType>::Native>::new(
        Buffer::from_vec(bits),
        0,
        len,
    );
    arc(PrimitiveArray::<Float16Type>::new(values, None))
}

#[test]
fn every_field_type() {
    let b = batch(vec![
        ("f16", float16(vec![0x3E00, 0xC000])), // 1.5, -2
        ("f32", arc(Float32Array::from(vec![0.1_f32, 3.0]))),
        ("f64", arc(Float64Array::from(vec![21.1, 1e300]))),
        ("i8", arc(Int8Array::from(vec![i8::MIN, 1]))),
        ("i16", arc(Int16Array::from(vec![i16::MIN, 2]))),
        ("i32", arc(Int32Array::from(vec![i32::MIN, 3]))),
        ("i64", arc(Int64Array::from(vec![i64::MIN, 4]))),
        ("u8", arc(UInt8Array::from(vec![u8::MAX, 5]))),
        ("u16", arc(UInt16Array::from(vec![u16::MAX, 6]))),
        ("u32", arc(UInt32Array::from(vec![u32::MAX, 7]))),
        ("u64", arc(UInt64Array::from(vec![u64::MAX, 8]))),
        ("b", arc(BooleanArray::from(vec![true, false]))),
        ("s", arc(StringArray::from(vec!["a \"q\"", "\\"]))),
        ("ls", arc(LargeStringArray::from(vec!["large", "x"]))),
        (
            "vs",
            arc(StringViewArray::from(vec![
                "view",
                "a string longer than twelve bytes",
            ])),
        ),
        (
            "ds",
            arc(DictionaryArray::<Int32Type>::from_iter(["d1", "d2"])),
        ),
        ("time", times(vec![1, 2])),
    ]);
    let out = lines(
        &b,
        &TableMapping::new().measurement("m"),
        Precision::Nanoseconds,
    )
    .unwrap();
    assert_eq!(
        out,
        format!(
            "m f16=1.5,f32=0.1,f64=21.1,i8=-128i,i16=-32768i,i32=-2147483648i,i64={}i,u8=255u,u16=65535u,u32=4294967295u,u64={}u,b=true,s=\"a \\\"q\\\"\",ls=\"large\",vs=\"view\",ds=\"d1\" 1\n\
             m f16=-2,f32=3,f64=1e+300,i8=1i,i16=2i,i32=3i,i64=4i,u8=5u,u16=6u,u32=7u,u64=8u,b=false,s=\"\\\\\",ls=\"x\",vs=\"a string longer than twelve bytes\",ds=\"d2\" 2\n",
            i64::MIN,
            u64::MAX
        )
    );
}

#[test]
fn tags_of_every_string_type_sorted_and_escaped() {
    let b = batch(vec![
        ("z", arc(StringArray::from(vec!["Living Room", "k,=\\x"]))),
        ("a", arc(LargeStringArray::from(vec!["l1", "l2"]))),
        ("m", arc(StringViewArray::from(vec!["v1", "v2"]))),
        (
            "d8",
            arc(DictionaryArray::<Int8Type>::from_iter(["x", "y"])),
        ),
        (
            "du",
            arc(DictionaryArray::<UInt16Type>::from_iter([Some("p"), None])),
        ),
        ("v", arc(Float64Array::from(vec![1.0, 2.0]))),
        ("time", times(vec![10, 20])),
    ]);
    let mapping = TableMapping::new()
        .measurement("m")
        .tag_columns(["z", "a", "m", "d8", "du"]);
    assert_eq!(
        lines(&b, &mapping, Precision::Nanoseconds).unwrap(),
        "m,a=l1,d8=x,du=p,m=v1,z=Living\\ Room v=1 10\nm,a=l2,d8=y,m=v2,z=k\\,\\=\\\\x v=2 20\n"
    );
}

#[test]
fn default_tags_merge_with_tag_columns() {
    let b = batch(vec![
        ("host", arc(StringArray::from(vec![Some("h1"), None]))),
        ("v", arc(Int64Array::from(vec![1, 2]))),
        ("time", times(vec![1, 2])),
    ]);
    let mapping = TableMapping::new().measurement("m").tag_columns(["host"]);
    let mut encoder =
        LineEncoder::default().with_default_tags([("host", "default"), ("a", "1"), ("z", "")]);
    encoder
        .encode(&RecordBatchLines::new(&b, &mapping))
        .unwrap();
    assert_eq!(encoder.as_bytes(), b"m,a=1,host=h1 v=1i 1\nm,a=1 v=2i 2\n");
    // The empty default tag (twice) and the null host.
    assert_eq!(encoder.stats().dropped_tags, 3);
}

#[test]
fn nulls() {
    let b = batch(vec![
        (
            "t",
            arc(StringArray::from(vec![
                Some("a"),
                None,
                Some(""),
                Some("d"),
            ])),
        ),
        (
            "x",
            arc(Float64Array::from(vec![
                Some(1.0),
                None,
                Some(f64::NAN),
                None,
            ])),
        ),
        (
            "y",
            arc(StringArray::from(vec![None, Some("s"), None, None])),
        ),
        ("time", times(vec![1, 2, 3, 4])),
    ]);
    let mapping = TableMapping::new().measurement("m").tag_columns(["t"]);
    let mut encoder = LineEncoder::default();
    encoder
        .encode(&RecordBatchLines::new(&b, &mapping))
        .unwrap();
    assert_eq!(encoder.as_bytes(), b"m,t=a x=1 1\nm y=\"s\" 2\n");
    assert_eq!(
        encoder.stats(),
        EncodeStats {
            lines: 2,
            skipped_records: 2,
            dropped_fields: 6,
            dropped_tags: 2,
        }
    );
}

#[test]
fn a_null_timestamp_names_the_row() {
    let b = batch(vec![
        ("v", arc(Int64Array::from(vec![1, 2, 3]))),
        (
            "ts",
            arc(TimestampSecondArray::from(vec![Some(1), Some(2), None])),
        ),
    ]);
    let mapping = TableMapping::new().measurement("m").timestamp_column("ts");
    let mut encoder = LineEncoder::default();
    let err = encoder
        .encode(&RecordBatchLines::new(&b, &mapping).row_offset(100))
        .unwrap_err();
    assert_eq!(
        err,
        Error::NullValue {
            row: 102,
            column: "ts".into(),
            role: "timestamp"
        }
    );
    assert!(err.to_string().contains("row 102"), "{err}");
    // Nothing of the batch is kept.
    assert!(encoder.is_empty());
    assert_eq!(encoder.stats(), EncodeStats::default());
}

#[test]
fn timestamps_in_every_unit_with_a_time_zone() {
    let second = 1_641_024_000_i64;
    let columns: Vec<ArrayRef> = vec![
        arc(TimestampSecondArray::from(vec![second]).with_timezone("Europe/Paris")),
        arc(TimestampMillisecondArray::from(vec![second * 1_000 + 123]).with_timezone("+05:30")),
        arc(
            TimestampMicrosecondArray::from(vec![second * 1_000_000 + 123_456])
                .with_timezone("UTC"),
        ),
        arc(
            TimestampNanosecondArray::from(vec![second * 1_000_000_000 + 123_456_789])
                .with_timezone("America/New_York"),
        ),
    ];
    let expected_ns = [
        second * 1_000_000_000,
        second * 1_000_000_000 + 123_000_000,
        second * 1_000_000_000 + 123_456_000,
        second * 1_000_000_000 + 123_456_789,
    ];
    for (column, ns) in columns.into_iter().zip(expected_ns) {
        let b = batch(vec![
            ("v", arc(Int64Array::from(vec![1]))),
            ("time", column),
        ]);
        let mapping = TableMapping::new().measurement("m");
        for precision in [
            Precision::Nanoseconds,
            Precision::Microseconds,
            Precision::Milliseconds,
            Precision::Seconds,
        ] {
            let expected = ns / precision.nanos_per_unit();
            assert_eq!(
                lines(&b, &mapping, precision).unwrap(),
                format!("m v=1i {expected}\n"),
                "{precision}"
            );
        }
    }
    // Before 1970, rounded down.
    let b = batch(vec![
        ("v", arc(Int64Array::from(vec![1]))),
        ("time", times(vec![-1])),
    ]);
    assert_eq!(
        lines(
            &b,
            &TableMapping::new().measurement("m"),
            Precision::Seconds
        )
        .unwrap(),
        "m v=1i -1\n"
    );
}

#[test]
fn int64_timestamps() {
    let b = batch(vec![
        ("v", arc(Int64Array::from(vec![1]))),
        ("time", arc(Int64Array::from(vec![1_641_024_000]))),
    ]);
    // By default in the encoder's precision.
    let mapping = TableMapping::new().measurement("m");
    assert_eq!(
        lines(&b, &mapping, Precision::Seconds).unwrap(),
        "m v=1i 1641024000\n"
    );
    let mapping = mapping.integer_timestamp_precision(Precision::Seconds);
    assert_eq!(
        lines(&b, &mapping, Precision::Milliseconds).unwrap(),
        "m v=1i 1641024000000\n"
    );
    // Out of range once scaled to nanoseconds.
    let b = batch(vec![
        ("v", arc(Int64Array::from(vec![1, 2]))),
        ("time", arc(Int64Array::from(vec![1, i64::MAX / 10]))),
    ]);
    let err = lines(&b, &mapping, Precision::Seconds).unwrap_err();
    assert!(
        matches!(&err, Error::Row { row: 1, source } if matches!(**source, Error::TimestampOutOfRange { .. })),
        "{err}"
    );
}

#[test]
fn no_timestamp() {
    let b = batch(vec![("v", arc(Int64Array::from(vec![1, 2])))]);
    let err = lines(
        &b,
        &TableMapping::new().measurement("m"),
        Precision::Nanoseconds,
    )
    .unwrap_err();
    assert_eq!(
        err,
        Error::MissingColumn {
            role: "timestamp",
            column: "time".into(),
            available: vec!["v".into()]
        }
    );
    let mapping = TableMapping::new().measurement("m").no_timestamp();
    assert_eq!(
        lines(&b, &mapping, Precision::Nanoseconds).unwrap(),
        "m v=1i\nm v=2i\n"
    );
}

#[test]
fn measurement_sources() {
    let b = batch(vec![
        ("measurement", arc(StringArray::from(vec!["cpu", "my mem"]))),
        ("iox::measurement", arc(StringArray::from(vec!["x", "y"]))),
        ("v", arc(Int64Array::from(vec![1, 2]))),
        ("time", times(vec![1, 2])),
    ]);
    // The `measurement` column first; neither is written as a field.
    assert_eq!(
        lines(&b, &TableMapping::new(), Precision::Nanoseconds).unwrap(),
        "cpu v=1i 1\nmy\\ mem v=2i 2\n"
    );
    // A fixed name wins.
    assert_eq!(
        lines(
            &b,
            &TableMapping::new().measurement("fixed"),
            Precision::Nanoseconds
        )
        .unwrap(),
        "fixed v=1i 1\nfixed v=2i 2\n"
    );
    // `iox::measurement` (query output), as a dictionary.
    let b = batch(vec![
        (
            "iox::measurement",
            arc(DictionaryArray::<Int32Type>::from_iter(["a", "b"])),
        ),
        ("v", arc(Int64Array::from(vec![1, 2]))),
        ("time", times(vec![1, 2])),
    ]);
    assert_eq!(
        lines(&b, &TableMapping::new(), Precision::Nanoseconds).unwrap(),
        "a v=1i 1\nb v=2i 2\n"
    );
    // None at all.
    let b = batch(vec![
        ("v", arc(Int64Array::from(vec![1]))),
        ("time", times(vec![1])),
    ]);
    let err = lines(&b, &TableMapping::new(), Precision::Nanoseconds).unwrap_err();
    assert_eq!(
        err,
        Error::NoMeasurement {
            available: vec!["v".into(), "time".into()]
        }
    );
    // A null measurement names the row; an invalid one too.
    let b = batch(vec![
        (
            "measurement",
            arc(StringArray::from(vec![Some("ok"), Some("#bad"), None])),
        ),
        ("v", arc(Int64Array::from(vec![1, 2, 3]))),
        ("time", times(vec![1, 2, 3])),
    ]);
    let err = lines(&b, &TableMapping::new(), Precision::Nanoseconds).unwrap_err();
    assert!(
        matches!(&err, Error::Row { row: 1, source } if matches!(**source, Error::InvalidMeasurement { .. })),
        "{err}"
    );
    let b = b.slice(2, 1);
    let err = lines(&b, &TableMapping::new(), Precision::Nanoseconds).unwrap_err();
    assert_eq!(
        err,
        Error::NullValue {
            row: 0,
            column: "measurement".into(),
            role: "measurement"
        }
    );
}

#[test]
fn mapping_errors_name_the_column() {
    let b = batch(vec![
        ("room", arc(StringArray::from(vec!["a"]))),
        ("n", arc(Int32Array::from(vec![1]))),
        ("blob", arc(BinaryArray::from(vec![&b"x"[..]]))),
        ("time", times(vec![1])),
    ]);
    let mapping = TableMapping::new()
        .measurement("m")
        .tag_columns(["room", "floor"]);
    assert_eq!(
        lines(&b, &mapping, Precision::Nanoseconds).unwrap_err(),
        Error::MissingColumn {
            role: "tag",
            column: "floor".into(),
            available: vec!["room".into(), "n".into(), "blob".into(), "time".into()]
        }
    );
    let mapping = TableMapping::new().measurement("m").tag_columns(["room"]);
    let err = lines(&b, &mapping, Precision::Nanoseconds).unwrap_err();
    assert_eq!(
        err,
        Error::UnsupportedColumnType {
            column: "blob".into(),
            data_type: "Binary".into(),
            role: "field"
        }
    );
    assert_eq!(
        err.to_string(),
        "column \"blob\" has type Binary, which cannot be written as a field"
    );
    // A binary tag column is not a scalar: an error naming it (an integer one is text).
    let mapping = TableMapping::new().measurement("m").tag_columns(["blob"]);
    assert!(matches!(
        lines(&b, &mapping, Precision::Nanoseconds).unwrap_err(),
        Error::UnsupportedColumnType { role: "tag", .. }
    ));
    let mapping = TableMapping::new()
        .measurement("m")
        .timestamp_column("room");
    assert!(matches!(
        lines(&b, &mapping, Precision::Nanoseconds).unwrap_err(),
        Error::UnsupportedColumnType {
            role: "timestamp",
            ..
        }
    ));
    // A `time` column that is not the timestamp would be a reserved field name.
    let b = batch(vec![
        ("v", arc(Int64Array::from(vec![1]))),
        ("time", arc(Int64Array::from(vec![1]))),
        ("ts", times(vec![1])),
    ]);
    let mapping = TableMapping::new().measurement("m").timestamp_column("ts");
    assert!(matches!(
        lines(&b, &mapping, Precision::Nanoseconds).unwrap_err(),
        Error::InvalidFieldKey { key, .. } if key == "time"
    ));
    // A bad fixed measurement.
    let mapping = TableMapping::new().measurement("").no_timestamp();
    assert!(matches!(
        lines(&b, &mapping, Precision::Nanoseconds).unwrap_err(),
        Error::InvalidMeasurement { .. }
    ));
}

#[test]
fn a_bad_tag_value_names_the_row_and_column() {
    let b = batch(vec![
        ("room", arc(StringArray::from(vec!["a", "b", "c\nd"]))),
        ("v", arc(Int64Array::from(vec![1, 2, 3]))),
        ("time", times(vec![1, 2, 3])),
    ]);
    let mapping = TableMapping::new().measurement("m").tag_columns(["room"]);
    let mut encoder = LineEncoder::default();
    let err = encoder
        .encode(&RecordBatchLines::new(&b, &mapping).row_offset(10))
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "row 12: measurement \"m\": invalid value \"c\\nd\" of tag \"room\": contains a line feed (\\n)"
    );
    assert!(encoder.is_empty());
}

#[test]
fn the_same_lines_as_points() {
    let rooms = ["Kitchen", "Living Room", "Hall"];
    let b = batch(vec![
        ("room", arc(StringArray::from(rooms.to_vec()))),
        ("temp", arc(Float64Array::from(vec![21.0, 22.5, f64::NAN]))),
        (
            "hum",
            arc(Float64Array::from(vec![Some(35.9), None, Some(36.0)])),
        ),
        ("co", arc(Int64Array::from(vec![0, 1, 2]))),
        ("time", times(vec![10, 20, 30])),
    ]);
    let mapping = TableMapping::new()
        .measurement("home")
        .tag_columns(["room"]);
    let points = vec![
        Point::new("home")
            .tag("room", rooms[0])
            .field("temp", 21.0)
            .field("hum", 35.9)
            .field("co", 0)
            .timestamp(10),
        Point::new("home")
            .tag("room", rooms[1])
            .field("temp", 22.5)
            .field("co", 1)
            .timestamp(20),
        Point::new("home")
            .tag("room", rooms[2])
            .field("temp", f64::NAN)
            .field("hum", 36.0)
            .field("co", 2)
            .timestamp(30),
    ];
    let from_batch = lines(&b, &mapping, Precision::Nanoseconds).unwrap();
    let from_points = encode_in(Precision::Nanoseconds, &points).unwrap();
    assert_eq!(from_batch, from_points);
}

/// Dictionary tag values are escaped once and reused: repeated, escaped, empty and null
/// values, a bad value that no row uses (no error), and a bad value used by a later row
/// (an error naming that row, nothing kept).
#[test]
fn dictionary_tag_values_are_escaped_once_and_checked_when_used() {
    let keys =
        PrimitiveArray::<Int32Type>::from(vec![Some(0), Some(1), Some(0), None, Some(2), Some(1)]);
    let values = StringArray::from(vec!["Living Room", "k,=\\x", "", "bad\nvalue"]);
    let dict = DictionaryArray::<Int32Type>::try_new(keys, Arc::new(values)).unwrap();
    let b = batch(vec![
        ("room", arc(dict)),
        ("v", arc(Int64Array::from(vec![1, 2, 3, 4, 5, 6]))),
        ("time", times(vec![1, 2, 3, 4, 5, 6])),
    ]);
    let mapping = TableMapping::new().measurement("m").tag_columns(["room"]);
    let mut encoder = LineEncoder::default();
    encoder
        .encode(&RecordBatchLines::new(&b, &mapping))
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(encoder.as_bytes()),
        "m,room=Living\\ Room v=1i 1\nm,room=k\\,\\=\\\\x v=2i 2\nm,room=Living\\ Room v=3i 3\n\
         m v=4i 4\nm v=5i 5\nm,room=k\\,\\=\\\\x v=6i 6\n"
    );
    assert_eq!(
        encoder.stats().dropped_tags,
        2,
        "the null key and the empty value"
    );

    let keys = PrimitiveArray::<Int32Type>::from(vec![0, 0, 1]);
    let values = StringArray::from(vec!["ok", "bad\nvalue"]);
    let dict = DictionaryArray::<Int32Type>::try_new(keys, Arc::new(values)).unwrap();
    let b = batch(vec![
        ("room", arc(dict)),
        ("v", arc(Int64Array::from(vec![1, 2, 3]))),
        ("time", times(vec![1, 2, 3])),
    ]);
    let mut encoder = LineEncoder::default();
    let err = encoder
        .encode(&RecordBatchLines::new(&b, &mapping))
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "row 2: measurement \"m\": invalid value \"bad\\nvalue\" of tag \"room\": contains a line feed (\\n)"
    );
    assert!(encoder.is_empty());
}

#[test]
fn scalar_tag_columns_are_written_as_text() {
    let keys = Int8Array::from(vec![Some(0), Some(1), None]);
    let dictionary =
        DictionaryArray::<Int8Type>::try_new(keys, arc(Int64Array::from(vec![7, 8]))).unwrap();
    let b = batch(vec![
        (
            "floor",
            arc(Int64Array::from(vec![Some(2), Some(-3), None])),
        ),
        ("level", arc(UInt8Array::from(vec![1, 2, 3]))),
        ("ok", arc(BooleanArray::from(vec![true, false, true]))),
        ("ratio", arc(Float64Array::from(vec![0.5, 2.0, 1e21]))),
        ("zone", arc(dictionary)),
        (
            "since",
            arc(TimestampSecondArray::from(vec![1_641_024_000, 0, 1])),
        ),
        ("v", arc(Int64Array::from(vec![1, 2, 3]))),
        ("time", times(vec![1, 2, 3])),
    ]);
    let mapping = TableMapping::new()
        .measurement("m")
        .tag_columns(["floor", "level", "ok", "ratio", "zone", "since"]);
    assert_eq!(
        lines(&b, &mapping, Precision::Nanoseconds).unwrap(),
        "m,floor=2,level=1,ok=true,ratio=0.5,since=2022-01-01T08:00:00,zone=7 v=1i 1\n\
         m,floor=-3,level=2,ok=false,ratio=2.0,since=1970-01-01T00:00:00,zone=8 v=2i 2\n\
         m,level=3,ok=true,ratio=1e21,since=1970-01-01T00:00:01 v=3i 3\n"
    );
    // The columns are tags, not fields, and the result parses as the server would.
    let text = lines(&b, &mapping, Precision::Nanoseconds).unwrap();
    for line in influxdb3_lp::parse_lines(&text) {
        let line = line.unwrap();
        assert_eq!(line.fields.len(), 1);
        assert!(line.tags.iter().any(|(k, _)| k == "level"));
    }
}

#[test]
fn tag_columns_follow_the_encoders_tag_order() {
    let b = batch(vec![
        ("a", arc(StringArray::from(vec!["1"]))),
        ("room", arc(StringArray::from(vec!["Kitchen"]))),
        ("z", arc(StringArray::from(vec!["9"]))),
        ("v", arc(Int64Array::from(vec![1]))),
    ]);
    let mapping = TableMapping::new()
        .measurement("m")
        .tag_columns(["a", "room", "z"])
        .no_timestamp();
    let mut encoder = LineEncoder::default()
        .with_tag_order(["z", "room"])
        .with_default_tags([("site", "s"), ("b", "x")]);
    encoder
        .encode(&RecordBatchLines::new(&b, &mapping))
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(encoder.as_bytes()),
        "m,z=9,room=Kitchen,a=1,b=x,site=s v=1i\n"
    );
}
