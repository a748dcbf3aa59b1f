//! Streams of query results: [`RecordBatchStream`] (batches) and [`ChunkStream`] (batches with
//! their `app_metadata`).

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, ready};
use std::time::Duration;

use arrow_array::RecordBatch;
use arrow_flight::decode::{DecodedFlightData, DecodedPayload, FlightDataDecoder};
use arrow_schema::SchemaRef;
use bytes::Bytes;
use futures::{Stream, StreamExt};
use tokio::time::{Instant, Sleep};

use crate::error::Error;

/// The client-side end of a query's timeout, shared by the call that starts the query and the
/// stream that reads it.
pub(crate) struct Deadline {
    at: Option<(Instant, Duration)>,
    sleep: Option<Pin<Box<Sleep>>>,
}

impl Deadline {
    pub(crate) fn none() -> Self {
        Deadline {
            at: None,
            sleep: None,
        }
    }

    pub(crate) fn after(timeout: Option<Duration>) -> Self {
        Deadline {
            at: timeout.map(|t| (Instant::now() + t, t)),
            sleep: None,
        }
    }

    /// Runs `fut` until the deadline.
    pub(crate) async fn run<T>(
        &self,
        fut: impl Future<Output = Result<T, Error>>,
    ) -> Result<T, Error> {
        match self.at {
            Some((at, after)) => tokio::time::timeout_at(at, fut)
                .await
                .map_err(|_| Error::timeout(after))?,
            None => fut.await,
        }
    }

    /// `Some(error)` once the deadline has passed; otherwise arranges a wake-up for it.
    fn poll_expired(&mut self, cx: &mut Context<'_>) -> Option<Error> {
        let (at, after) = self.at?;
        let sleep = self
            .sleep
            .get_or_insert_with(|| Box::pin(tokio::time::sleep_until(at)));
        match sleep.as_mut().poll(cx) {
            Poll::Ready(()) => Some(Error::timeout(after)),
            Poll::Pending => None,
        }
    }
}

/// Polls the decoder for its next message. The messages were checked by a
/// [`MessageGuard`](influxdb3_ipc_guard::MessageGuard) before they reach it; should arrow-ipc
/// still panic on one, the panic becomes a decode error here instead of unwinding through the
/// caller's task. After an error the caller stops polling.
pub(crate) fn poll_decoder(
    decoder: &mut FlightDataDecoder,
    cx: &mut Context<'_>,
) -> Poll<Option<Result<DecodedFlightData, Error>>> {
    match influxdb3_ipc_guard::contain("decoding a Flight message", || decoder.poll_next_unpin(cx))
    {
        Ok(Poll::Pending) => Poll::Pending,
        Ok(Poll::Ready(item)) => Poll::Ready(item.map(|r| r.map_err(Error::from_flight))),
        Err(panic) => Poll::Ready(Some(Err(Error::new(
            crate::ErrorKind::Decode,
            panic.to_string(),
        )))),
    }
}

/// The shared reading loop: the next non-empty batch, with its Flight message.
struct Reader {
    decoder: FlightDataDecoder,
    schema: SchemaRef,
    deadline: Deadline,
    done: bool,
}

impl Reader {
    fn new(decoder: FlightDataDecoder, schema: SchemaRef, deadline: Deadline) -> Self {
        Reader {
            decoder,
            schema,
            deadline,
            done: false,
        }
    }

    /// The `Debug` output of the stream named `name` that reads with this reader.
    fn fmt_as(&self, name: &str, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct(name)
            .field("schema", &self.schema)
            .field("done", &self.done)
            .finish()
    }

    fn poll_next_data(
        &mut self,
        cx: &mut Context<'_>,
        keep: impl Fn(&DecodedFlightData, &RecordBatch) -> bool,
    ) -> Poll<Option<Result<(DecodedFlightData, RecordBatch), Error>>> {
        if self.done {
            return Poll::Ready(None);
        }
        if let Some(e) = self.deadline.poll_expired(cx) {
            self.done = true;
            return Poll::Ready(Some(Err(e)));
        }
        loop {
            match ready!(poll_decoder(&mut self.decoder, cx)) {
                None => {
                    self.done = true;
                    return Poll::Ready(None);
                }
                Some(Err(e)) => {
                    self.done = true;
                    return Poll::Ready(Some(Err(e)));
                }
                Some(Ok(mut data)) => {
                    match std::mem::replace(&mut data.payload, DecodedPayload::None) {
                        DecodedPayload::RecordBatch(batch) => {
                            if keep(&data, &batch) {
                                return Poll::Ready(Some(Ok((data, batch))));
                            }
                        }
                        DecodedPayload::Schema(schema) => self.schema = schema,
                        DecodedPayload::None => {}
                    }
                }
            }
        }
    }
}

/// The batches of a query result, read one at a time (Python's `mode="reader"`); made by
/// [`QueryClient::query_stream`](crate::QueryClient::query_stream).
///
/// A [`Stream`] of `Result<RecordBatch, Error>`. Only the batch being decoded is held in
/// memory; HTTP/2 flow control slows the server down when the reader is slow. Empty (0-row)
/// keep-alive batches are skipped. After an error the stream ends. Dropping the stream cancels
/// the query.
pub struct RecordBatchStream {
    reader: Reader,
}

impl RecordBatchStream {
    pub(crate) fn new(decoder: FlightDataDecoder, schema: SchemaRef, deadline: Deadline) -> Self {
        RecordBatchStream {
            reader: Reader::new(decoder, schema, deadline),
        }
    }

    /// The schema of the result, known before the first batch.
    pub fn schema(&self) -> SchemaRef {
        self.reader.schema.clone()
    }
}

impl fmt::Debug for RecordBatchStream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.reader.fmt_as("RecordBatchStream", f)
    }
}

impl Stream for RecordBatchStream {
    type Item = Result<RecordBatch, Error>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.reader
            .poll_next_data(cx, |_, batch| batch.num_rows() > 0)
            .map(|item| item.map(|r| r.map(|(_, batch)| batch)))
    }
}

/// One message of a result: a batch and the message's `app_metadata` (Python's
/// `FlightStreamChunk`).
#[derive(Debug, Clone)]
pub struct Chunk {
    /// The rows.
    pub data: RecordBatch,
    /// The message's application metadata; usually empty for InfluxDB.
    pub app_metadata: Bytes,
}

/// The messages of a query result with their `app_metadata` (Python's `mode="chunk"`); made by
/// [`QueryClient::query_chunks`](crate::QueryClient::query_chunks).
///
/// A [`Stream`] of `Result<Chunk, Error>`, in bounded memory like [`RecordBatchStream`].
/// Keep-alive messages (0 rows, no metadata) are skipped.
pub struct ChunkStream {
    reader: Reader,
}

impl ChunkStream {
    pub(crate) fn new(decoder: FlightDataDecoder, schema: SchemaRef, deadline: Deadline) -> Self {
        ChunkStream {
            reader: Reader::new(decoder, schema, deadline),
        }
    }

    /// The schema of the result, known before the first chunk.
    pub fn schema(&self) -> SchemaRef {
        self.reader.schema.clone()
    }
}

impl fmt::Debug for ChunkStream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.reader.fmt_as("ChunkStream", f)
    }
}

impl Stream for ChunkStream {
    type Item = Result<Chunk, Error>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.reader
            .poll_next_data(cx, |data, batch| {
                batch.num_rows() > 0 || !data.inner.app_metadata.is_empty()
            })
            .map(|item| {
                item.map(|r| {
                    r.map(|(data, batch)| Chunk {
                        data: batch,
                        app_metadata: data.inner.app_metadata,
                    })
                })
            })
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow_array::{Int64Array, RecordBatch};
    use arrow_flight::encode::FlightDataEncoderBuilder;
    use arrow_schema::{DataType, Field, Schema};
    use futures::{StreamExt, TryStreamExt};

    use super::*;
    use crate::ErrorKind;

    fn batch(values: Vec<i64>) -> RecordBatch {
        let schema = Arc::new(Schema::new(vec![Field::new("v", DataType::Int64, false)]));
        RecordBatch::try_new(schema, vec![Arc::new(Int64Array::from(values))]).unwrap()
    }

    /// Encodes batches as the server does and decodes them up to the schema.
    async fn decode(batches: Vec<RecordBatch>) -> (FlightDataDecoder, SchemaRef) {
        let encoded = FlightDataEncoderBuilder::new()
            .build(futures::stream::iter(batches.into_iter().map(Ok)))
            .collect::<Vec<_>>()
            .await;
        let mut decoder = FlightDataDecoder::new(futures::stream::iter(encoded));
        loop {
            let data = decoder.next().await.unwrap().unwrap();
            if let DecodedPayload::Schema(schema) = data.payload {
                return (decoder, schema);
            }
        }
    }

    #[tokio::test]
    async fn empty_keep_alive_batches_are_skipped() {
        let (decoder, schema) =
            decode(vec![batch(vec![1, 2]), batch(vec![]), batch(vec![3])]).await;
        let stream = RecordBatchStream::new(decoder, schema, Deadline::none());
        let batches: Vec<RecordBatch> = stream.try_collect().await.unwrap();
        let sizes: Vec<usize> = batches.iter().map(RecordBatch::num_rows).collect();
        assert_eq!(sizes, [2, 1]);

        let (decoder, schema) = decode(vec![batch(vec![]), batch(vec![4])]).await;
        let chunks: Vec<Chunk> = ChunkStream::new(decoder, schema, Deadline::none())
            .try_collect()
            .await
            .unwrap();
        assert_eq!(chunks.len(), 1);
        assert_eq!(chunks[0].data.num_rows(), 1);
    }

    #[tokio::test(start_paused = true)]
    async fn a_stalled_stream_times_out_and_ends() {
        let schema = batch(vec![]).schema();
        let stalled = FlightDataDecoder::new(futures::stream::pending());
        let mut stream = RecordBatchStream::new(
            stalled,
            schema,
            Deadline::after(Some(Duration::from_secs(30))),
        );
        let e = stream.try_next().await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Timeout);
        assert!(e.message().contains("30s"), "{e}");
        assert!(stream.try_next().await.unwrap().is_none());
    }
}
