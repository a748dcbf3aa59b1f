//! gRPC compression through the facade: on by default, off with `disable_grpc_compression`.
//!
//! A TCP relay between the client and the emulator counts the bytes sent back to the client.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use influxdb_client_3::{Client, Query};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use crate::support::{BoxError, builder, emulator};

async fn copy(
    mut from: tokio::net::tcp::OwnedReadHalf,
    mut to: tokio::net::tcp::OwnedWriteHalf,
    count: Option<Arc<AtomicU64>>,
) {
    let mut buf = vec![0u8; 64 * 1024];
    while let Ok(n) = from.read(&mut buf).await {
        if n == 0 {
            break;
        }
        if let Some(count) = &count {
            count.fetch_add(n as u64, Ordering::Relaxed);
        }
        if to.write_all(&buf[..n]).await.is_err() {
            break;
        }
    }
    let _ = to.shutdown().await;
}

/// A relay to `target`; the counter holds the bytes sent back to clients.
async fn relay(target: SocketAddr) -> Result<(SocketAddr, Arc<AtomicU64>), BoxError> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let received = Arc::new(AtomicU64::new(0));
    let counter = Arc::clone(&received);
    tokio::spawn(async move {
        while let Ok((client, _)) = listener.accept().await {
            let Ok(server) = TcpStream::connect(target).await else {
                continue;
            };
            let (client_read, client_write) = client.into_split();
            let (server_read, server_write) = server.into_split();
            tokio::spawn(copy(client_read, server_write, None));
            tokio::spawn(copy(server_read, client_write, Some(Arc::clone(&counter))));
        }
    });
    Ok((addr, received))
}

async fn bytes_for_query(client: Client, received: &AtomicU64) -> Result<u64, BoxError> {
    let before = received.load(Ordering::Relaxed);
    let table = client
        .query(Query::sql("SELECT note FROM repetitive"))
        .await?;
    assert_eq!(table.num_rows(), 1_000);
    Ok(received.load(Ordering::Relaxed) - before)
}

#[tokio::test]
async fn query_responses_are_compressed_unless_disabled() -> Result<(), BoxError> {
    let emulator = emulator().await?;
    let writer = builder(&emulator, "zip").build()?;
    let note = "again and again ".repeat(40);
    let lines: Vec<String> = (0..1_000)
        .map(|i| format!("repetitive note=\"{note}\" {i}"))
        .collect();
    writer.write(lines).await?;

    let (addr, received) = relay(emulator.addr()).await?;
    let host = format!("http://{addr}");
    let token = emulator.token().unwrap_or_default().to_owned();
    let gzip = Client::builder(&host)
        .token(&token)
        .database("zip")
        .build()?;
    let compressed = bytes_for_query(gzip, &received).await?;
    let plain_client = Client::builder(&host)
        .token(&token)
        .database("zip")
        .disable_grpc_compression(true)
        .build()?;
    let plain = bytes_for_query(plain_client, &received).await?;
    assert!(plain > 600_000, "plain response of {plain} bytes");
    assert!(
        compressed * 5 < plain,
        "gzip {compressed} bytes vs plain {plain} bytes"
    );
    Ok(())
}
