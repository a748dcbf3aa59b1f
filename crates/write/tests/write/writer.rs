//! The batching writer against the emulator, over real sockets, with small (ms) intervals.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::common::{TOKEN, count, emulator, transport};
use influxdb3_emulator::{Emulator, RetryAfter, WriteFault};
use influxdb3_lp::Point;
use influxdb3_write::{
    BatchContext, Callbacks, Endpoint, Error, ErrorKind, HttpTransport, WriteObserver,
    WriteOptions, WriteParams, Writer,
};

/// Records every callback.
#[derive(Default)]
pub(crate) struct Recorder {
    pub(crate) accepted: AtomicU64,
    pub(crate) failed: AtomicU64,
    retries: AtomicU64,
    pub(crate) errors: Mutex<Vec<(BatchContext, String, Error)>>,
    retry_attempts: Mutex<Vec<u32>>,
    success_data: Mutex<Vec<String>>,
}

impl WriteObserver for Recorder {
    fn on_success(&self, ctx: &BatchContext, data: &[u8]) {
        self.accepted.fetch_add(ctx.lines as u64, Ordering::SeqCst);
        self.success_data
            .lock()
            .unwrap()
            .push(String::from_utf8_lossy(data).into_owned());
    }
    fn on_error(&self, ctx: &BatchContext, data: &[u8], err: &Error) {
        self.failed.fetch_add(ctx.lines as u64, Ordering::SeqCst);
        self.errors.lock().unwrap().push((
            ctx.clone(),
            String::from_utf8_lossy(data).into_owned(),
            err.clone(),
        ));
    }
    fn on_retry(&self, ctx: &BatchContext, _data: &[u8], _err: &Error) {
        self.retries.fetch_add(1, Ordering::SeqCst);
        self.retry_attempts.lock().unwrap().push(ctx.attempt);
    }
}

/// The lines of each successful request, in order.
fn batch_sizes(recorder: &Recorder) -> Vec<usize> {
    recorder
        .success_data
        .lock()
        .unwrap()
        .iter()
        .map(|d| d.lines().count())
        .collect()
}

pub(crate) fn fast() -> WriteOptions {
    WriteOptions::default()
        .flush_interval(Duration::from_millis(20))
        .retry_interval(Duration::from_millis(5))
        .max_retry_delay(Duration::from_millis(50))
        .max_close_wait(Duration::from_secs(10))
}

fn point(i: i64) -> Point {
    Point::new("m").tag("k", "v").field("i", i).timestamp(i)
}

#[tokio::test]
async fn batches_land_and_are_reported() {
    let emulator = emulator().await;
    let recorder = Arc::new(Recorder::default());
    // A long flush interval, so that only batch_size makes requests go: every request but
    // the one the flush sends holds at least batch_size lines, so at most 10 requests.
    let sized = Writer::new(
        transport(&emulator),
        fast()
            .batch_size(100)
            .flush_interval(Duration::from_secs(60)),
        recorder.clone(),
    );
    let params = WriteParams::new("batch");
    for i in 0..1000 {
        sized.write(&params, &point(i)).await.expect("write");
    }
    let flushed = sized.flush().await.expect("flush");
    assert_eq!(flushed.accepted_lines, 1000);
    let requests = emulator.stats().write_requests;
    assert!((1..=10).contains(&requests), "{requests} requests");
    let sizes = batch_sizes(&recorder);
    assert!(
        sizes[..sizes.len() - 1].iter().all(|&n| n >= 100),
        "only the flush sends less than batch_size: {sizes:?}"
    );
    assert_eq!(count(&emulator, "batch", "m").await, 1000);
    let summary = sized.close().await.expect("close");
    assert_eq!((summary.accepted_lines, summary.failed_lines), (1000, 0));

    // A line that is not flushed goes out after flush_interval on its own.
    let writer = Writer::new(
        transport(&emulator),
        fast().batch_size(100),
        recorder.clone(),
    );
    writer
        .write(&params, "m,k=v i=5000i 5000")
        .await
        .expect("write");
    let deadline = Instant::now() + Duration::from_secs(5);
    while emulator.stats().lines_accepted("batch") < 1001 {
        assert!(
            Instant::now() < deadline,
            "flush_interval did not send the batch"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let summary = writer.close().await.expect("close");
    assert_eq!((summary.accepted_lines, summary.failed_lines), (1, 0));
    assert_eq!(recorder.accepted.load(Ordering::SeqCst), 1001);
}

#[tokio::test]
async fn groups_by_target_and_closed_handles_fail() {
    let emulator = emulator().await;
    let writer = Writer::new(transport(&emulator), fast(), ());
    let other = writer.clone();
    writer
        .write(&WriteParams::new("a"), "m v=1 1")
        .await
        .expect("a");
    other
        .write(&WriteParams::new("b").endpoint(Endpoint::V3), "m v=1 1")
        .await
        .expect("b");
    let err = writer
        .write(&WriteParams::new("a").no_sync(true), "m v=1 1")
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Config);
    writer.close().await.expect("close");
    assert_eq!(emulator.stats().lines_accepted("a"), 1);
    assert_eq!(emulator.stats().lines_accepted("b"), 1);
    let err = other
        .write(&WriteParams::new("a"), "m v=1 1")
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Closed);
    assert_eq!(other.flush().await.unwrap_err().kind(), ErrorKind::Closed);
}

#[tokio::test]
async fn transient_failures_are_retried() {
    let emulator = emulator().await;
    emulator
        .faults()
        .fail_writes(2, WriteFault::new(503, "busy"));
    let recorder = Arc::new(Recorder::default());
    let writer = Writer::new(transport(&emulator), fast(), recorder.clone());
    writer
        .write(&WriteParams::new("retry"), "m v=1 1")
        .await
        .expect("write");
    let summary = writer.close().await.expect("close");
    assert_eq!(summary.accepted_lines, 1);
    assert_eq!(*recorder.retry_attempts.lock().unwrap(), [1, 2]);
    assert_eq!(emulator.stats().write_requests, 3);
}

#[tokio::test]
async fn retry_after_replaces_the_backoff() {
    let emulator = emulator().await;
    emulator.faults().fail_writes(
        1,
        WriteFault::new(429, "later").retry_after(RetryAfter::Seconds(1)),
    );
    let recorder = Arc::new(Recorder::default());
    let writer = Writer::new(
        transport(&emulator),
        fast().retry_interval(Duration::from_millis(1)),
        recorder.clone(),
    );
    let started = Instant::now();
    writer
        .write(&WriteParams::new("ra"), "m v=1 1")
        .await
        .expect("write");
    writer.flush().await.expect("flush");
    let waited = started.elapsed();
    assert!(waited >= Duration::from_secs(1), "{waited:?}");
    assert!(waited < Duration::from_secs(3), "{waited:?}");
    assert_eq!(recorder.accepted.load(Ordering::SeqCst), 1);
    assert_eq!(recorder.retries.load(Ordering::SeqCst), 1);
}

/// When each callback ran, in order: `on_retry` just before the writer sleeps, `on_success`
/// just after the request that landed.
#[derive(Default)]
struct Timeline(Mutex<Vec<(&'static str, Instant)>>);

impl Timeline {
    fn gaps(&self) -> Vec<Duration> {
        let events = self.0.lock().unwrap();
        events.windows(2).map(|w| w[1].1 - w[0].1).collect()
    }
    fn kinds(&self) -> Vec<&'static str> {
        self.0.lock().unwrap().iter().map(|e| e.0).collect()
    }
}

impl WriteObserver for Timeline {
    fn on_success(&self, _ctx: &BatchContext, _data: &[u8]) {
        self.0.lock().unwrap().push(("success", Instant::now()));
    }
    fn on_error(&self, _ctx: &BatchContext, _data: &[u8], _err: &Error) {
        self.0.lock().unwrap().push(("error", Instant::now()));
    }
    fn on_retry(&self, _ctx: &BatchContext, _data: &[u8], _err: &Error) {
        self.0.lock().unwrap().push(("retry", Instant::now()));
    }
}

/// The waits between attempts follow the schedule: retry `n` waits between
/// `retry_interval * base^(n-1)` and `retry_interval * base^n`, capped at `max_retry_delay`.
/// Measured on the wall clock, so only the lower bounds are tight; the upper bound only
/// catches a schedule that is far too slow.
#[tokio::test]
async fn retries_wait_by_the_exponential_schedule_and_its_cap() {
    let emulator = emulator().await;
    emulator
        .faults()
        .fail_writes(4, WriteFault::new(503, "busy"));
    let timeline = Arc::new(Timeline::default());
    let writer = Writer::new(
        transport(&emulator),
        fast()
            .retry_interval(Duration::from_millis(40))
            .exponential_base(2)
            .max_retry_delay(Duration::from_millis(120))
            .max_retries(5),
        timeline.clone(),
    );
    writer
        .write(&WriteParams::new("schedule"), "m v=1 1")
        .await
        .expect("write");
    let summary = writer.close().await.expect("close");
    assert_eq!(summary.accepted_lines, 1);
    assert_eq!(
        timeline.kinds(),
        ["retry", "retry", "retry", "retry", "success"]
    );
    // Retry n waits in [40, 80], [80, 120 (capped from 160)], [120, 120], [120, 120] ms.
    let lows = [40, 80, 120, 120].map(Duration::from_millis);
    let gaps = timeline.gaps();
    for (n, (gap, low)) in gaps.iter().zip(lows).enumerate() {
        assert!(
            *gap >= low,
            "retry {}: waited {gap:?}, less than {low:?}",
            n + 1
        );
    }
    let total: Duration = gaps.iter().sum();
    assert!(
        total < Duration::from_millis(440 + 2000),
        "the retries took {total:?}, far more than the schedule's 440 ms at most"
    );
}

/// `jitter_interval` delays each batch by a random time below it: never more (plus the
/// time a request takes), and not always nothing.
#[tokio::test]
async fn jitter_delays_each_batch_by_a_random_time_below_the_interval() {
    let emulator = emulator().await;
    let jitter = Duration::from_millis(200);
    let writer = Writer::new(
        transport(&emulator),
        fast()
            .jitter_interval(jitter)
            .flush_interval(Duration::from_secs(60)),
        (),
    );
    let params = WriteParams::new("jitter");
    let mut waits = Vec::new();
    for i in 0..10 {
        writer
            .write(&params, format!("m v={i}i {i}").as_str())
            .await
            .expect("write");
        let started = Instant::now();
        writer.flush().await.expect("flush");
        waits.push(started.elapsed());
        assert_eq!(emulator.stats().lines_accepted("jitter"), i + 1);
    }
    writer.close().await.expect("close");
    assert!(
        waits.iter().all(|w| *w < jitter + Duration::from_secs(2)),
        "{waits:?}"
    );
    // Each wait is uniform in 0..200 ms: ten waits all below 20 ms has probability 1e-10.
    assert!(
        waits.iter().any(|w| *w >= Duration::from_millis(20)),
        "no batch waited: {waits:?}"
    );
}

#[tokio::test]
async fn gives_up_after_max_retries_or_max_retry_time() {
    let emulator = emulator().await;
    emulator
        .faults()
        .fail_writes(1000, WriteFault::new(500, "down"));
    let recorder = Arc::new(Recorder::default());
    let writer = Writer::new(
        transport(&emulator),
        fast().max_retries(3),
        recorder.clone(),
    );
    writer
        .write(&WriteParams::new("g"), "m v=1 1")
        .await
        .expect("write");
    let summary = writer.flush().await.expect("flush");
    assert_eq!(summary.failed_lines, 1);
    assert_eq!(emulator.stats().write_requests, 4);
    {
        let errors = recorder.errors.lock().unwrap();
        let (ctx, data, err) = &errors[0];
        assert_eq!((ctx.attempt, ctx.lines), (4, 1));
        assert_eq!(data, "m v=1 1\n");
        assert_eq!(err.status().map(|s| s.as_u16()), Some(500));
        assert!(err.message().contains("gave up after 4 attempts"), "{err}");
    }
    writer.close().await.expect("close");

    // max_retry_time: 10 ms delays, but only 60 ms in total: far fewer than 100 retries.
    let before = emulator.stats().write_requests;
    let recorder = Arc::new(Recorder::default());
    let writer = Writer::new(
        transport(&emulator),
        fast()
            .max_retries(100)
            .retry_interval(Duration::from_millis(10))
            .exponential_base(1)
            .max_retry_time(Duration::from_millis(60)),
        recorder.clone(),
    );
    writer
        .write(&WriteParams::new("g"), "m v=1 1")
        .await
        .expect("write");
    let started = Instant::now();
    let summary = writer.close().await.expect("close");
    assert_eq!(summary.failed_lines, 1);
    let attempts = emulator.stats().write_requests - before;
    assert!((2..=8).contains(&attempts), "{attempts} attempts");
    assert!(started.elapsed() < Duration::from_secs(2));
}

#[tokio::test]
async fn payload_too_large_splits_the_batch() {
    let emulator = Emulator::builder()
        .token(TOKEN)
        .max_request_size(2000)
        .start()
        .await
        .expect("emulator");
    let recorder = Arc::new(Recorder::default());
    let writer = Writer::new(
        HttpTransport::builder(emulator.url())
            .token(TOKEN)
            .gzip_threshold(0)
            .build()
            .expect("transport"),
        fast().batch_size(500),
        recorder.clone(),
    );
    let lines: Vec<String> = (0..300).map(|i| format!("m,k=v i={i}i {i}")).collect();
    writer
        .write(&WriteParams::new("split"), &lines)
        .await
        .expect("write");
    let summary = writer.close().await.expect("close");
    assert_eq!((summary.accepted_lines, summary.failed_lines), (300, 0));
    assert_eq!(count(&emulator, "split", "m").await, 300);
    // Parts arrive in order.
    let data = recorder.success_data.lock().unwrap().concat();
    assert_eq!(
        data,
        lines.iter().map(|l| format!("{l}\n")).collect::<String>()
    );

    // A single line above the limit cannot be split: it goes to the error callback.
    let recorder = Arc::new(Recorder::default());
    let writer = Writer::new(transport(&emulator), fast(), recorder.clone());
    let huge = format!("m s=\"{}\" 1", "x".repeat(3000));
    writer
        .write(&WriteParams::new("split"), huge.as_str())
        .await
        .expect("write");
    let summary = writer.close().await.expect("close");
    assert_eq!(summary.failed_lines, 1);
    let errors = recorder.errors.lock().unwrap();
    assert_eq!(errors[0].2.status().map(|s| s.as_u16()), Some(413));
}

#[tokio::test]
async fn partial_writes_split_accepted_and_rejected_lines() {
    let emulator = emulator().await;
    let recorder = Arc::new(Recorder::default());
    let writer = Writer::new(transport(&emulator), fast(), recorder.clone());
    let params = WriteParams::new("pw").endpoint(Endpoint::V3);
    let lines = ["m v=1 1", "m v= 2", "m v=3 3", "m v=4i 4", "m v=5 5"];
    writer.write(&params, &lines[..]).await.expect("write");
    let summary = writer.close().await.expect("close");
    assert_eq!((summary.accepted_lines, summary.failed_lines), (3, 2));
    assert_eq!(count(&emulator, "pw", "m").await, 3);
    assert_eq!(
        *recorder.success_data.lock().unwrap(),
        ["m v=1 1\nm v=3 3\nm v=5 5\n"]
    );
    let errors = recorder.errors.lock().unwrap();
    let (ctx, data, err) = &errors[0];
    assert_eq!(ctx.lines, 2);
    assert_eq!(data, "m v= 2\nm v=4i 4\n");
    assert_eq!(err.kind(), ErrorKind::PartialWrite);
    let numbered: Vec<_> = err
        .line_errors()
        .iter()
        .map(|e| (e.line_number(), e.original_line().to_owned()))
        .collect();
    assert_eq!(
        numbered,
        [(1, "m v= 2".to_owned()), (2, "m v=4i 4".to_owned())]
    );
    assert!(
        err.line_errors()[1]
            .message()
            .contains("invalid column type"),
        "{err}"
    );
}

#[tokio::test]
async fn a_server_that_stays_down_gets_everything_back_at_close() {
    let emulator = emulator().await;
    emulator
        .faults()
        .fail_write_fraction(1.0, 1, WriteFault::new(503, "down"));
    let recorder = Arc::new(Recorder::default());
    let writer = Writer::new(
        transport(&emulator),
        fast()
            .batch_size(10)
            .max_in_flight(2)
            .retry_interval(Duration::from_millis(20))
            .max_retries(1000)
            .max_retry_time(Duration::from_secs(600))
            .max_close_wait(Duration::from_millis(300)),
        recorder.clone(),
    );
    let params = WriteParams::new("down");
    for i in 0..95 {
        writer.write(&params, &point(i)).await.expect("write");
    }
    let started = Instant::now();
    let summary = writer.close().await.expect("close");
    let took = started.elapsed();
    assert!(took >= Duration::from_millis(300), "{took:?}");
    assert!(took < Duration::from_secs(2), "{took:?}");
    assert_eq!(summary.accepted_lines, 0);
    assert_eq!(summary.failed_lines, 95);
    assert_eq!(summary.abandoned_lines, 95);
    assert_eq!(recorder.failed.load(Ordering::SeqCst), 95);
    let errors = recorder.errors.lock().unwrap();
    assert!(errors.iter().all(|(_, _, e)| e.kind() == ErrorKind::Closed));
    let handed_back: usize = errors.iter().map(|(_, d, _)| d.lines().count()).sum();
    assert_eq!(handed_back, 95);
}

#[tokio::test]
async fn memory_is_bounded_while_the_server_is_down() {
    let emulator = emulator().await;
    emulator
        .faults()
        .fail_write_fraction(1.0, 1, WriteFault::new(503, "down"));
    let recorder = Arc::new(Recorder::default());
    let writer = Writer::new(
        transport(&emulator),
        fast()
            .batch_size(10)
            .max_buffered_lines(50)
            .max_buffered_bytes(4096)
            .max_batch_bytes(1024)
            .max_retries(10_000)
            .max_retry_time(Duration::from_secs(600)),
        recorder.clone(),
    );
    let params = WriteParams::new("bounded");
    let mut taken = 0;
    let full = loop {
        match writer.try_write(&params, &point(taken)) {
            Ok(()) => taken += 1,
            Err(e) => break e,
        }
        assert!(taken <= 50, "the buffer took more than max_buffered_lines");
    };
    assert_eq!(full.kind(), ErrorKind::BufferFull);
    assert_eq!(taken, 50);
    assert_eq!(writer.available_lines(), 0);
    assert!(writer.available_bytes() <= 4096);

    // write() waits for room; the server comes back; everything is delivered once.
    let waiting = {
        let writer = writer.clone();
        let params = params.clone();
        tokio::spawn(async move { writer.write(&params, &point(1000)).await })
    };
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert!(!waiting.is_finished(), "write() did not wait for room");
    emulator.faults().clear();
    waiting
        .await
        .expect("join")
        .expect("write after room frees up");
    let summary = writer.close().await.expect("close");
    assert_eq!((summary.accepted_lines, summary.failed_lines), (51, 0));
    assert_eq!(count(&emulator, "bounded", "m").await, 51);
}

#[tokio::test]
async fn the_byte_bound_holds_too() {
    let emulator = emulator().await;
    emulator
        .faults()
        .fail_write_fraction(1.0, 1, WriteFault::new(503, "down"));
    let writer = Writer::new(
        transport(&emulator),
        fast()
            .batch_size(5)
            .max_buffered_bytes(4096)
            .max_batch_bytes(1024)
            .max_retries(10_000)
            .max_retry_time(Duration::from_secs(600))
            .max_close_wait(Duration::from_millis(100)),
        (),
    );
    let params = WriteParams::new("bytes");
    // 200-byte lines: at most 20 fit in 4096 bytes.
    let line = |i: usize| format!("m s=\"{}\" {i}", "x".repeat(192 - i.to_string().len()));
    assert_eq!(line(7).len() + 1, 200);
    let mut taken = 0;
    let err = loop {
        match writer.try_write(&params, line(taken).as_str()) {
            Ok(()) => taken += 1,
            Err(e) => break e,
        }
        assert!(taken <= 20, "the buffer took more than max_buffered_bytes");
    };
    assert_eq!(err.kind(), ErrorKind::BufferFull);
    assert!(err.message().contains("max_buffered_bytes"), "{err}");
    assert_eq!(taken, 20);
    let summary = writer.close().await.expect("close");
    assert_eq!(summary.failed_lines, 20);
}

#[tokio::test]
async fn a_dropped_writer_still_delivers() {
    let emulator = emulator().await;
    let delivered = Arc::new(AtomicU64::new(0));
    let seen = delivered.clone();
    let callbacks = Callbacks::new().on_success(move |ctx, _| {
        seen.fetch_add(ctx.lines as u64, Ordering::SeqCst);
    });
    let writer = Writer::new(
        transport(&emulator),
        fast().flush_interval(Duration::from_secs(3600)),
        callbacks,
    );
    for i in 0..10 {
        writer
            .write(&WriteParams::new("dropped"), &point(i))
            .await
            .expect("write");
    }
    drop(writer);
    let deadline = Instant::now() + Duration::from_secs(5);
    while delivered.load(Ordering::SeqCst) < 10 {
        assert!(Instant::now() < deadline, "dropped writer did not deliver");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    assert_eq!(emulator.stats().lines_accepted("dropped"), 10);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_line_is_lost_or_duplicated_under_transient_failures() {
    const LINES: i64 = 1_000_000;
    const PER_WRITE: i64 = 10_000;
    let emulator = emulator().await;
    emulator
        .faults()
        .fail_write_fraction(0.25, 42, WriteFault::new(503, "flaky"));
    let recorder = Arc::new(Recorder::default());
    let writer = Writer::new(
        HttpTransport::builder(emulator.url())
            .token(TOKEN)
            .gzip_threshold(0)
            .build()
            .expect("transport"),
        fast()
            .batch_size(5000)
            .max_in_flight(4)
            .retry_interval(Duration::from_millis(1))
            .max_retry_delay(Duration::from_millis(10))
            .max_buffered_lines(50_000),
        recorder.clone(),
    );
    let params = WriteParams::new("noloss");
    let mut text = String::new();
    for start in (0..LINES).step_by(PER_WRITE as usize) {
        text.clear();
        for i in start..start + PER_WRITE {
            text.push_str("m v=");
            text.push_str(&i.to_string());
            text.push_str("i ");
            text.push_str(&i.to_string());
            text.push('\n');
        }
        writer.write(&params, text.as_str()).await.expect("write");
    }
    let summary = writer.close().await.expect("close");
    assert_eq!(
        summary.accepted_lines + summary.failed_lines,
        LINES as u64,
        "{summary:?}"
    );
    assert_eq!(
        recorder.accepted.load(Ordering::SeqCst) + recorder.failed.load(Ordering::SeqCst),
        LINES as u64
    );
    assert!(recorder.retries.load(Ordering::SeqCst) > 0);
    assert_eq!(
        emulator.stats().lines_accepted("noloss"),
        summary.accepted_lines
    );
    assert_eq!(
        count(&emulator, "noloss", "m").await,
        summary.accepted_lines
    );
    let distinct =
        crate::common::query(&emulator, "noloss", "SELECT COUNT(DISTINCT v) AS n FROM m").await;
    assert_eq!(distinct[0]["n"].as_u64(), Some(summary.accepted_lines));
}

/// `n` lines `m,k=v i=<i>i <i>` for `i` in `first..first + n`, as one record.
fn lines(first: usize, n: usize) -> String {
    (first..first + n)
        .map(|i| format!("m,k=v i={i}i {i}\n"))
        .collect()
}

#[tokio::test]
async fn a_full_buffer_sends_partial_batches_at_once() {
    let emulator = emulator().await;
    // flush_interval is a minute, so any stall waiting for it fails the timeout below. The
    // buffer holds one batch (max_buffered_lines is raised to batch_size); 600-line records
    // never fill a batch by size, and the second one always finds no room, so every record
    // after the first waits for the partial batch before it.
    let writer = Writer::new(
        transport(&emulator),
        fast()
            .flush_interval(Duration::from_secs(60))
            .batch_size(1000)
            .max_buffered_lines(1000),
        (),
    );
    let params = WriteParams::new("full");
    let (records, per_record) = (34, 600);
    let written = tokio::time::timeout(Duration::from_secs(10), async {
        for r in 0..records {
            writer
                .write(&params, lines(r * per_record, per_record).as_str())
                .await
                .expect("write");
        }
    })
    .await;
    assert!(
        written.is_ok(),
        "writes waited for flush_interval instead of sending partial batches"
    );
    let summary = tokio::time::timeout(Duration::from_secs(10), writer.close())
        .await
        .expect("close in time")
        .expect("close");
    let total = (records * per_record) as u64;
    assert_eq!((summary.accepted_lines, summary.failed_lines), (total, 0));
    assert_eq!(emulator.stats().lines_accepted("full"), total);
    assert_eq!(count(&emulator, "full", "m").await, total);
}

#[tokio::test]
async fn a_refused_try_write_sends_partial_batches_at_once() {
    let emulator = emulator().await;
    let writer = Writer::new(
        transport(&emulator),
        fast()
            .flush_interval(Duration::from_secs(60))
            .batch_size(1000)
            .max_buffered_lines(1000),
        (),
    );
    let params = WriteParams::new("tryfull");
    writer
        .try_write(&params, lines(0, 600).as_str())
        .expect("room for the first record");
    let err = writer
        .try_write(&params, lines(600, 600).as_str())
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::BufferFull);
    // The refusal sent the partial batch: the room comes back long before flush_interval.
    let deadline = Instant::now() + Duration::from_secs(5);
    while writer.available_lines() < 1000 {
        assert!(
            Instant::now() < deadline,
            "the refused try_write did not send the partial batch"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    assert_eq!(emulator.stats().lines_accepted("tryfull"), 600);
    writer
        .try_write(&params, lines(600, 600).as_str())
        .expect("room after the partial batch was sent");
    let summary = writer.close().await.expect("close");
    assert_eq!((summary.accepted_lines, summary.failed_lines), (1200, 0));
    assert_eq!(count(&emulator, "tryfull", "m").await, 1200);
}

/// An emulator that answers sync writes at its next WAL flush, as Core does.
async fn slow_wal_emulator(flush: Duration) -> influxdb3_emulator::EmulatorHandle {
    Emulator::builder()
        .token(TOKEN)
        .wal_flush_interval(flush)
        .start()
        .await
        .expect("emulator")
}

/// Under backpressure against a server that answers at its WAL flush, requests get fuller,
/// never smaller: no request below batch_size leaves while lines wait (only the close sends
/// the rest), and each takes everything waiting (group commit), so there are far fewer
/// requests than lines / batch_size.
#[tokio::test]
async fn backpressure_and_latency_make_requests_fuller_not_smaller() {
    let emulator = slow_wal_emulator(Duration::from_millis(100)).await;
    let recorder = Arc::new(Recorder::default());
    let writer = Writer::new(
        transport(&emulator),
        fast()
            .batch_size(1_000)
            .flush_interval(Duration::from_secs(60))
            .max_buffered_lines(20_000),
        recorder.clone(),
    );
    let params = WriteParams::new("fuller");
    let total = 60_000i64;
    for i in 0..total {
        writer.write(&params, &point(i)).await.expect("write");
    }
    let summary = writer.close().await.expect("close");
    assert_eq!(
        (summary.accepted_lines, summary.failed_lines),
        (total as u64, 0)
    );
    assert_eq!(count(&emulator, "fuller", "m").await, total as u64);
    let sizes = batch_sizes(&recorder);
    assert!(
        sizes[..sizes.len() - 1].iter().all(|&n| n >= 1_000),
        "a request below batch_size left while lines were waiting: {sizes:?}"
    );
    let requests = emulator.stats().write_requests;
    assert_eq!(requests as usize, sizes.len());
    assert!(
        requests as i64 <= total / 1_000,
        "{requests} requests for {total} lines (batch_size 1000): {sizes:?}"
    );
}

/// Group commit, step by step: while the first request waits for the server's WAL flush,
/// the lines written meanwhile wait too, and the next request takes all of them at once
/// (not batch_size at a time).
#[tokio::test]
async fn lines_written_during_a_request_go_together_in_the_next() {
    let emulator = slow_wal_emulator(Duration::from_millis(500)).await;
    let recorder = Arc::new(Recorder::default());
    let writer = Writer::new(
        transport(&emulator),
        fast()
            .batch_size(1_000)
            .flush_interval(Duration::from_secs(60)),
        recorder.clone(),
    );
    let params = WriteParams::new("group_commit");
    // batch_size lines with the writer idle: they go at once and wait for the flush.
    writer
        .write(&params, lines(0, 1_000).as_str())
        .await
        .expect("write");
    let deadline = Instant::now() + Duration::from_secs(5);
    while emulator.stats().write_requests == 0 {
        assert!(Instant::now() < deadline, "the first request did not leave");
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    // Written while that request is in flight (a few ms against a 500 ms flush).
    for chunk in 0..20 {
        let text = lines(1_000 + chunk * 1_000, 1_000);
        writer.write(&params, text.as_str()).await.expect("write");
    }
    let summary = writer.close().await.expect("close");
    assert_eq!((summary.accepted_lines, summary.failed_lines), (21_000, 0));
    assert_eq!(batch_sizes(&recorder), vec![1_000, 20_000]);
    assert_eq!(count(&emulator, "group_commit", "m").await, 21_000);
}

/// With one request in flight (the default) the order of writes is kept, also across group
/// commits: the last value written to a series and time is the one stored.
#[tokio::test]
async fn one_in_flight_keeps_the_order_of_writes() {
    let emulator = slow_wal_emulator(Duration::from_millis(50)).await;
    let writer = Writer::new(transport(&emulator), fast().batch_size(300), ());
    let params = WriteParams::new("order");
    for i in 0..5_000 {
        let line = format!("m,k=v v={i}i 1");
        writer.write(&params, line.as_str()).await.expect("write");
    }
    writer.close().await.expect("close");
    let rows = crate::common::query(&emulator, "order", "SELECT v FROM m").await;
    assert_eq!(rows.len(), 1, "one series and time is one row: {rows:?}");
    assert_eq!(rows[0]["v"], 4_999);
}

/// A flush sends what waits at once (below batch_size) and waits for it, also against a
/// server answering at its WAL flush.
#[tokio::test]
async fn flush_sends_partial_groups_at_once() {
    let emulator = slow_wal_emulator(Duration::from_millis(50)).await;
    let writer = Writer::new(
        transport(&emulator),
        fast()
            .batch_size(10_000)
            .flush_interval(Duration::from_secs(60)),
        (),
    );
    for i in 0..10 {
        writer
            .write(&WriteParams::new("flushed"), &point(i))
            .await
            .expect("write");
    }
    let flushed = tokio::time::timeout(Duration::from_secs(5), writer.flush())
        .await
        .expect("the flush does not wait for flush_interval")
        .expect("flush");
    assert_eq!(flushed.accepted_lines, 10);
    assert_eq!(count(&emulator, "flushed", "m").await, 10);
    writer.close().await.expect("close");
}

/// After an outage the backlog drains in full requests, not one line per WAL flush: the
/// server refuses the first requests (as while it restarts) while the producer keeps the
/// buffer full, and once it is back every request but the close's carries at least
/// batch_size lines.
#[tokio::test]
async fn after_an_outage_the_backlog_drains_in_full_requests() {
    let emulator = slow_wal_emulator(Duration::from_millis(50)).await;
    emulator
        .faults()
        .fail_writes(5, WriteFault::new(503, "restarting"));
    let recorder = Arc::new(Recorder::default());
    let writer = Writer::new(
        transport(&emulator),
        fast()
            .batch_size(1_000)
            .retry_interval(Duration::from_millis(20))
            .max_retry_delay(Duration::from_millis(100))
            .max_retries(20)
            .flush_interval(Duration::from_secs(60))
            .max_buffered_lines(10_000),
        recorder.clone(),
    );
    let params = WriteParams::new("outage");
    let total = 40_000i64;
    for i in 0..total {
        writer.write(&params, &point(i)).await.expect("write");
    }
    let summary = writer.close().await.expect("close");
    assert_eq!(
        (summary.accepted_lines, summary.failed_lines),
        (total as u64, 0)
    );
    assert_eq!(count(&emulator, "outage", "m").await, total as u64);
    let sizes = batch_sizes(&recorder);
    assert!(
        sizes[..sizes.len() - 1].iter().all(|&n| n >= 1_000),
        "small requests while the backlog drained: {sizes:?}"
    );
    assert!(sizes.len() <= 40, "{} requests: {sizes:?}", sizes.len());
}
