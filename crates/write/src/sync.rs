//! Synchronous mode: send now, no batching, no retries, no callbacks.

use bytes::Bytes;

use crate::{Error, WriteParams, WriteTransport, lines};

/// The largest body sent in one request: the server's default limit
/// (`--max-http-request-size`, 10 MiB), which applies to the uncompressed size.
pub const MAX_REQUEST_BYTES: usize = 10 * 1024 * 1024;

/// What a [`write_now`] sent.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct WriteOutcome {
    /// Requests made (more than one when the body was larger than [`MAX_REQUEST_BYTES`]).
    pub requests: usize,
    /// Lines written.
    pub lines: usize,
    /// Bytes of line protocol written (before compression).
    pub bytes: usize,
}

/// Writes `body` now: the synchronous mode (the Python client's `SYNCHRONOUS`, the default
/// of the facade). There are no retries and no callbacks; the first failure is returned.
///
/// `body` is line protocol as a [`LineEncoder`](influxdb3_lp::LineEncoder) produces it:
/// every line ends with `\n` and there are no blank or comment lines. An empty body sends
/// nothing. A body larger than [`MAX_REQUEST_BYTES`] is sent in several requests, split at
/// line boundaries, in order; when one of them fails the error's line numbers still count
/// the lines of the whole `body`, and the lines of the earlier requests are already written
/// (the error message says how many).
///
/// ```no_run
/// # async fn run() -> Result<(), influxdb3_write::Error> {
/// use influxdb3_lp::{LineEncoder, Point, Precision, Timestamp};
/// use influxdb3_write::{HttpTransport, WriteParams, write_now};
///
/// let transport = HttpTransport::builder("http://localhost:8181").token("apiv3_...").build()?;
/// let mut encoder = LineEncoder::new(Precision::Seconds);
/// encoder.encode(
///     &Point::new("home")
///         .tag("room", "kitchen")
///         .field("temp", 21.5)
///         .timestamp(Timestamp::new(1_700_000_000, Precision::Seconds)),
/// )?;
/// let params = WriteParams::new("sensors").precision(Precision::Seconds);
/// let outcome = write_now(&transport, &params, encoder.take()).await?;
/// assert_eq!(outcome.lines, 1);
/// # Ok(())
/// # }
/// ```
pub async fn write_now<T: WriteTransport>(
    transport: &T,
    params: &WriteParams,
    body: Bytes,
) -> Result<WriteOutcome, Error> {
    write_in_requests(transport, params, body, MAX_REQUEST_BYTES).await
}

/// Like [`write_now`], for lines a [`LineEncoder`](influxdb3_lp::LineEncoder) already wrote
/// and counted: a body within [`MAX_REQUEST_BYTES`] goes as it is, without scanning its lines.
pub async fn write_encoded_now<T: WriteTransport>(
    transport: &T,
    params: &WriteParams,
    lines: influxdb3_lp::Encoded,
) -> Result<WriteOutcome, Error> {
    let (body, count) = lines.into_parts();
    if body.len() > MAX_REQUEST_BYTES {
        return write_now(transport, params, body).await;
    }
    params.validate()?;
    if body.is_empty() {
        return Ok(WriteOutcome::default());
    }
    let bytes = body.len();
    transport
        .send(params, body.into())
        .await
        .map_err(|err| offset_error(err, WriteOutcome::default()))?;
    Ok(WriteOutcome {
        requests: 1,
        lines: count,
        bytes,
    })
}

pub(crate) async fn write_in_requests<T: WriteTransport>(
    transport: &T,
    params: &WriteParams,
    mut body: Bytes,
    max_request_bytes: usize,
) -> Result<WriteOutcome, Error> {
    params.validate()?;
    let mut outcome = WriteOutcome::default();
    while !body.is_empty() {
        let (len, count) = lines::prefix(&body, usize::MAX, max_request_bytes);
        let chunk = body.split_to(len);
        if let Err(err) = transport.send(params, chunk.into()).await {
            return Err(offset_error(err, outcome));
        }
        outcome.requests += 1;
        outcome.lines += count;
        outcome.bytes += len;
    }
    Ok(outcome)
}

/// Renumbers the error of a later request so that its line numbers count the whole body.
fn offset_error(err: Error, done: WriteOutcome) -> Error {
    if done.requests == 0 {
        return err;
    }
    let line_errors = err
        .line_errors()
        .iter()
        .map(|e| e.clone().with_line_number(e.line_number() + done.lines))
        .collect();
    let message = format!(
        "{} (the body was sent in parts; the first {} lines were written by {} earlier requests)",
        err.message(),
        done.lines,
        done.requests
    );
    err.with_line_errors(line_errors).with_message(message)
}
