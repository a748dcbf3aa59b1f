//! gRPC compression: gzip-compressed responses by default, plain ones when disabled.
//!
//! A TCP relay between the client and the emulator counts the bytes the server sends back:
//! a compressible result is several times smaller on the wire with gzip.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use influxdb3_query::{FlightOptions, QueryClient};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use crate::common::{TOKEN, emulator, write_lp};

/// Copies `from` to `to`, adding every byte to `count`.
async fn copy_counting(
    mut from: tokio::net::tcp::OwnedReadHalf,
    mut to: tokio::net::tcp::OwnedWriteHalf,
    count: Arc<AtomicU64>,
) {
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        match from.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                count.fetch_add(n as u64, Ordering::Relaxed);
                if to.write_all(&buf[..n]).await.is_err() {
                    break;
                }
            }
        }
    }
    let _ = to.shutdown().await;
}

/// A relay to `target` on a new port; the counter holds the bytes sent back to clients.
async fn counting_relay(target: SocketAddr) -> (SocketAddr, Arc<AtomicU64>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let received = Arc::new(AtomicU64::new(0));
    let counter = Arc::clone(&received);
    tokio::spawn(async move {
        while let Ok((client, _)) = listener.accept().await {
            let Ok(server) = TcpStream::connect(target).await else {
                continue;
            };
            let (client_read, client_write) = client.into_split();
            let (server_read, server_write) = server.into_split();
            tokio::spawn(copy_counting(
                client_read,
                server_write,
                Arc::new(AtomicU64::new(0)),
            ));
            tokio::spawn(copy_counting(
                server_read,
                client_write,
                Arc::clone(&counter),
            ));
        }
    });
    (addr, received)
}

/// Runs the query through a fresh relay and returns (rows, bytes received).
async fn query_through_relay(target: SocketAddr, options: FlightOptions) -> (usize, u64) {
    let (relay, received) = counting_relay(target).await;
    let client = QueryClient::builder(format!("http://{relay}"))
        .token(TOKEN)
        .database("zip")
        .flight_options(options)
        .build()
        .unwrap();
    let result = client
        .query("SELECT note, v FROM repetitive")
        .await
        .unwrap();
    (result.num_rows(), received.load(Ordering::Relaxed))
}

#[tokio::test]
async fn responses_are_gzip_compressed_unless_disabled() {
    let emu = emulator().await;
    let note = "the same words again and again ".repeat(20);
    let lines: String = (0..2_000)
        .map(|i| format!("repetitive,k=a note=\"{note}\",v={i}i {i}\n"))
        .collect();
    write_lp(&emu, "zip", &lines, None).await;

    let (rows, compressed) = query_through_relay(emu.addr(), FlightOptions::default()).await;
    assert_eq!(rows, 2_000);
    let (rows, plain) = query_through_relay(
        emu.addr(),
        FlightOptions::default().disable_grpc_compression(true),
    )
    .await;
    assert_eq!(rows, 2_000);
    // About 1.2 MB of strings: plain it all crosses the wire, gzip shrinks it many times.
    assert!(plain > 1_000_000, "plain response of {plain} bytes");
    assert!(
        compressed * 5 < plain,
        "gzip {compressed} bytes vs plain {plain} bytes"
    );
}
