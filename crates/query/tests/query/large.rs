//! Large results: messages over tonic's 4 MiB default, and a multi-million-row result read
//! batch by batch in bounded memory.

use crate::common::{TOKEN, emulator, write_lp};
use futures::TryStreamExt;
use influxdb3_query::{FlightOptions, QueryClient};

#[tokio::test]
async fn messages_larger_than_4_mib() {
    let emu = emulator().await;
    // Strings are limited to 1 MB each, so six of them make one row (one message) of 5.4 MB.
    let big = "x".repeat(900_000);
    let fields: Vec<String> = (0..6).map(|i| format!("s{i}=\"{big}\"")).collect();
    write_lp(
        &emu,
        "big",
        &format!("blob,k=a {} 1700000000000000000\n", fields.join(",")),
        None,
    )
    .await;

    let client = QueryClient::builder(emu.url())
        .token(TOKEN)
        .database("big")
        .build()
        .unwrap();
    #[derive(serde::Deserialize)]
    struct Row {
        s0: String,
        s5: String,
    }
    let result = client.query("SELECT * FROM blob").await.unwrap();
    let rows: Vec<Row> = result.rows().unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].s0.len(), big.len());
    assert_eq!(rows[0].s5, big);

    let small = QueryClient::builder(emu.url())
        .token(TOKEN)
        .database("big")
        .flight_options(FlightOptions::default().max_decoding_message_size(4 * 1024 * 1024))
        .build()
        .unwrap();
    let e = small.query("SELECT * FROM blob").await.unwrap_err();
    assert!(
        e.hint()
            .is_some_and(|h| h.contains("max_decoding_message_size")),
        "{e}"
    );
}

#[tokio::test]
async fn millions_of_rows_stream_in_small_batches() {
    let emu = emulator().await;
    let mut lines = String::new();
    for i in 0..1500 {
        lines.push_str(&format!("t v={i}i {}\n", 1_700_000_000_000_000_000i64 + i));
    }
    write_lp(&emu, "many", &lines, None).await;
    let client = QueryClient::builder(emu.url())
        .token(TOKEN)
        .database("many")
        .build()
        .unwrap();

    const ROWS: usize = 2_000_000;
    let mut stream = client
        .query_stream(format!(
            "SELECT a.v AS a, b.v AS b FROM t a CROSS JOIN t b LIMIT {ROWS}"
        ))
        .await
        .unwrap();
    let (mut rows, mut batches, mut largest) = (0usize, 0usize, 0usize);
    while let Some(batch) = stream.try_next().await.unwrap() {
        rows += batch.num_rows();
        batches += 1;
        largest = largest.max(batch.get_array_memory_size());
    }
    assert_eq!(rows, ROWS);
    // The result (32 MB of values) arrived in many small pieces, never all at once.
    assert!(batches >= 16, "only {batches} batches");
    assert!(largest <= 8 * 1024 * 1024, "a batch held {largest} bytes");
}
