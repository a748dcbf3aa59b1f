//! Line protocol encoding throughput: points and RecordBatches, each against a plain memcpy of
//! the same output (`cargo xtask bench` reads these ids and prints the ratios).

// `criterion_group!` generates an undocumented public function.
#![allow(missing_docs)]

use std::hint::black_box;
use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::types::{Float64Type, Int64Type, TimestampNanosecondType};
use arrow_array::{
    ArrayRef, Float64Array, Int64Array, RecordBatch, StringArray, TimestampNanosecondArray,
};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use influxdb3_lp::{LineEncoder, Point, Precision, RecordBatchLines, TableMapping};

const POINTS: usize = 1_000;
const HOME_ROWS: usize = 1_000_000;
const WIDE_ROWS: usize = 10_000;
const WIDE_COLUMNS: usize = 25;
const ROOMS: [&str; 4] = ["Living Room", "Kitchen", "Bedroom", "Hall"];

fn home_point() -> Point {
    Point::new("home")
        .tag("room", "Living Room")
        .field("temp", 21.1)
        .field("hum", 35.9)
        .field("co", 0)
        .timestamp(1_641_024_000_000_000_000)
}

/// The least a point can be: a one-letter measurement and one integer field, no tags, no
/// timestamp. Its cost is what checking and writing any point costs before names and numbers.
fn minimal_point() -> Point {
    Point::new("m").field("c", 0)
}

fn escaped_point() -> Point {
    Point::new("my measurement, with \\ escapes")
        .tag("tag key, one", "value = one, two")
        .tag("a=b c", "back\\slash value")
        .field(
            "field key, \"quoted\"",
            "a \"string\" with \\ backslashes, commas and = signs",
        )
        .field("temp = x", 21.5)
        .field("count,n", 42_i64)
        .timestamp(1_641_024_000_000_000_000)
}

/// One point encoded `POINTS` times per iteration, and a memcpy of the same bytes.
fn bench_point(c: &mut Criterion, id: &str, point: &Point) {
    let points = vec![point.clone(); POINTS];
    let mut encoder = LineEncoder::new(Precision::Nanoseconds);
    encoder.encode(point).expect("the bench point is valid");
    let line = encoder.as_bytes().to_vec();
    let mut group = c.benchmark_group("lp_encode");
    group.throughput(Throughput::Elements(POINTS as u64));
    group.bench_function(id, |b| {
        b.iter(|| {
            encoder.clear();
            for p in &points {
                encoder.write_point(p).expect("the bench point is valid");
            }
            black_box(encoder.len())
        })
    });
    let mut out = Vec::with_capacity(line.len() * POINTS);
    group.throughput(Throughput::Bytes((line.len() * POINTS) as u64));
    group.bench_function(format!("{id}_memcpy"), |b| {
        b.iter(|| {
            out.clear();
            for _ in 0..POINTS {
                out.extend_from_slice(black_box(&line));
            }
            black_box(out.len())
        })
    });
    group.finish();
}

fn home_batch() -> (RecordBatch, Vec<Point>) {
    let start = 1_641_024_000_000_000_000_i64;
    let rooms: Vec<&str> = (0..HOME_ROWS).map(|i| ROOMS[i % ROOMS.len()]).collect();
    let temp: Vec<f64> = (0..HOME_ROWS)
        .map(|i| 20.0 + (i % 100) as f64 / 10.0)
        .collect();
    let hum: Vec<f64> = (0..HOME_ROWS)
        .map(|i| 35.0 + (i % 50) as f64 / 7.0)
        .collect();
    let co: Vec<i64> = (0..HOME_ROWS).map(|i| (i % 30) as i64).collect();
    let time: Vec<i64> = (0..HOME_ROWS)
        .map(|i| start + i as i64 * 1_000_000_000)
        .collect();
    let points = (0..HOME_ROWS)
        .map(|i| {
            Point::new("home")
                .tag("room", rooms[i])
                .field("temp", temp[i])
                .field("hum", hum[i])
                .field("co", co[i])
                .timestamp(time[i])
        })
        .collect();
    let batch = RecordBatch::try_from_iter([
        ("room", Arc::new(StringArray::from(rooms)) as ArrayRef),
        ("temp", Arc::new(Float64Array::from(temp)) as ArrayRef),
        ("hum", Arc::new(Float64Array::from(hum)) as ArrayRef),
        ("co", Arc::new(Int64Array::from(co)) as ArrayRef),
        (
            "time",
            Arc::new(TimestampNanosecondArray::from(time)) as ArrayRef,
        ),
    ])
    .expect("a valid batch");
    (batch, points)
}

fn wide_batch() -> (RecordBatch, Vec<Point>) {
    let start = 1_641_024_000_000_000_000_i64;
    let mut columns: Vec<(String, ArrayRef)> = (0..WIDE_COLUMNS)
        .map(|c| {
            let values: Vec<f64> = (0..WIDE_ROWS)
                .map(|r| (r * WIDE_COLUMNS + c) as f64 * 0.25)
                .collect();
            (
                format!("field_{c:02}"),
                Arc::new(Float64Array::from(values)) as ArrayRef,
            )
        })
        .collect();
    let time: Vec<i64> = (0..WIDE_ROWS).map(|i| start + i as i64).collect();
    let points = (0..WIDE_ROWS)
        .map(|r| {
            let mut p = Point::new("wide");
            for c in 0..WIDE_COLUMNS {
                p = p.field(
                    format!("field_{c:02}"),
                    (r * WIDE_COLUMNS + c) as f64 * 0.25,
                );
            }
            p.timestamp(time[r])
        })
        .collect();
    columns.push((
        "time".into(),
        Arc::new(TimestampNanosecondArray::from(time)),
    ));
    (
        RecordBatch::try_from_iter(columns).expect("a valid batch"),
        points,
    )
}

/// Row `row` of the home batch as a `Point`, read from its typed columns.
fn home_row_to_point(batch: &RecordBatch, row: usize) -> Point {
    let column = |i: usize| batch.column(i).as_ref();
    Point::new("home")
        .tag("room", column(0).as_string::<i32>().value(row))
        .field("temp", column(1).as_primitive::<Float64Type>().value(row))
        .field("hum", column(2).as_primitive::<Float64Type>().value(row))
        .field("co", column(3).as_primitive::<Int64Type>().value(row))
        .timestamp(
            column(4)
                .as_primitive::<TimestampNanosecondType>()
                .value(row),
        )
}

/// Row `row` of the wide batch as a `Point`.
fn wide_row_to_point(batch: &RecordBatch, row: usize) -> Point {
    let schema = batch.schema_ref();
    let mut point = Point::new("wide");
    for c in 0..WIDE_COLUMNS {
        point = point.field(
            schema.field(c).name().as_str(),
            batch.column(c).as_primitive::<Float64Type>().value(row),
        );
    }
    let time = batch
        .column(WIDE_COLUMNS)
        .as_primitive::<TimestampNanosecondType>();
    point.timestamp(time.value(row))
}

/// A batch encoded column by column, a memcpy of its output, the same rows encoded from
/// `Point`s built beforehand (the encoder alone), and the same rows turned into a `Point` each
/// and encoded (what encoding a batch takes without the columnar path).
fn bench_batch(
    c: &mut Criterion,
    id: &str,
    batch: &RecordBatch,
    points: &[Point],
    mapping: &TableMapping,
    row_to_point: impl Fn(&RecordBatch, usize) -> Point,
) {
    let rows = batch.num_rows() as u64;
    let mut encoder = LineEncoder::new(Precision::Nanoseconds);
    encoder
        .encode(&RecordBatchLines::new(batch, mapping))
        .expect("the bench batch is valid");
    let output = encoder.as_bytes().to_vec();
    let mut check = LineEncoder::new(Precision::Nanoseconds);
    check
        .encode_iter(points)
        .expect("the bench points are valid");
    assert_eq!(
        check.as_bytes(),
        output.as_slice(),
        "points and batch encode alike"
    );
    check.clear();
    for row in 0..batch.num_rows() {
        check
            .write_point(&row_to_point(batch, row))
            .expect("the bench rows are valid");
    }
    assert_eq!(
        check.as_bytes(),
        output.as_slice(),
        "points built from the rows encode like the batch"
    );
    drop(check);

    let mut group = c.benchmark_group("lp_encode");
    group.sample_size(10);
    group.throughput(Throughput::Elements(rows));
    group.bench_function(id, |b| {
        b.iter(|| {
            encoder.clear();
            encoder
                .encode(&RecordBatchLines::new(batch, mapping))
                .expect("the bench batch is valid");
            black_box(encoder.len())
        })
    });
    let mut out = Vec::with_capacity(output.len());
    group.throughput(Throughput::Bytes(output.len() as u64));
    group.bench_function(format!("{id}_memcpy"), |b| {
        b.iter(|| {
            out.clear();
            out.extend_from_slice(black_box(&output));
            black_box(out.len())
        })
    });
    group.throughput(Throughput::Elements(rows));
    group.bench_function(format!("{id}_as_points"), |b| {
        b.iter(|| {
            encoder.clear();
            encoder
                .encode_iter(points)
                .expect("the bench points are valid");
            black_box(encoder.len())
        })
    });
    group.bench_function(format!("{id}_via_points"), |b| {
        b.iter(|| {
            encoder.clear();
            for row in 0..batch.num_rows() {
                encoder
                    .write_point(&row_to_point(batch, row))
                    .expect("the bench points are valid");
            }
            black_box(encoder.len())
        })
    });
    group.finish();
}

fn benches(c: &mut Criterion) {
    bench_point(c, "point_home", &home_point());
    bench_point(c, "point_escaped", &escaped_point());
    bench_point(c, "point_minimal", &minimal_point());

    let (batch, points) = home_batch();
    let mapping = TableMapping::new()
        .measurement("home")
        .tag_columns(["room"]);
    bench_batch(
        c,
        "batch_home_1m",
        &batch,
        &points,
        &mapping,
        home_row_to_point,
    );
    drop((batch, points));

    let (batch, points) = wide_batch();
    let mapping = TableMapping::new().measurement("wide");
    bench_batch(
        c,
        "batch_wide_10k",
        &batch,
        &points,
        &mapping,
        wide_row_to_point,
    );
}

criterion_group!(lp_encode, benches);
criterion_main!(lp_encode);
