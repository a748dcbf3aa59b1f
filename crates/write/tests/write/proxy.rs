//! Writes through an HTTP proxy: absolute-form requests for `http://` servers and a
//! `CONNECT` tunnel for `https://` servers. The proxy here is a minimal forwarding proxy
//! over real sockets.

use std::sync::{Arc, Mutex};

use crate::common::{TOKEN, count};
use influxdb3_emulator::Emulator;
use influxdb3_lp::{LineEncoder, Precision};
use influxdb3_write::{HttpTransport, WriteParams, write_now};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// What the proxy saw: each request head's first line and its Proxy-Authorization.
type Seen = Arc<Mutex<Vec<(String, Option<String>)>>>;

async fn start_proxy() -> (String, Seen) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let seen: Seen = Arc::default();
    let log = seen.clone();
    tokio::spawn(async move {
        while let Ok((client, _)) = listener.accept().await {
            tokio::spawn(serve(client, log.clone()));
        }
    });
    (format!("http://{addr}"), seen)
}

async fn serve(mut client: TcpStream, seen: Seen) {
    let mut head = Vec::new();
    let mut buf = [0u8; 4096];
    let end = loop {
        let n = client.read(&mut buf).await.expect("read");
        assert!(n > 0, "client closed before sending a request");
        head.extend_from_slice(&buf[..n]);
        if let Some(i) = head.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
    };
    let text = String::from_utf8_lossy(&head[..end]).into_owned();
    let first = text.lines().next().unwrap_or_default().to_owned();
    let auth = text
        .lines()
        .find_map(|l| {
            l.strip_prefix("proxy-authorization: ")
                .or_else(|| l.strip_prefix("Proxy-Authorization: "))
        })
        .map(str::to_owned);
    seen.lock().unwrap().push((first.clone(), auth));
    let mut parts = first.split_whitespace();
    let method = parts.next().unwrap_or_default();
    let target = parts.next().unwrap_or_default().to_owned();
    if method == "CONNECT" {
        let mut upstream = TcpStream::connect(target.as_str()).await.expect("upstream");
        client
            .write_all(b"HTTP/1.1 200 Connection established\r\n\r\n")
            .await
            .expect("reply");
        let _ = tokio::io::copy_bidirectional(&mut client, &mut upstream).await;
    } else {
        // Absolute form: forward the bytes as they are (the emulator accepts absolute-form
        // request targets, as HTTP/1.1 servers must).
        let url = url::Url::parse(&target).expect("absolute-form target");
        let authority = format!(
            "{}:{}",
            url.host_str().expect("host"),
            url.port_or_known_default().expect("port")
        );
        let mut upstream = TcpStream::connect(authority).await.expect("upstream");
        upstream.write_all(&head).await.expect("forward");
        let _ = tokio::io::copy_bidirectional(&mut client, &mut upstream).await;
    }
}

fn body() -> bytes::Bytes {
    let mut encoder = LineEncoder::new(Precision::Nanoseconds);
    encoder.encode("m v=1 1").expect("line");
    encoder.take()
}

#[tokio::test]
async fn http_servers_through_a_proxy_use_absolute_form() {
    let emulator = Emulator::builder()
        .token(TOKEN)
        .start()
        .await
        .expect("emulator");
    let (proxy, seen) = start_proxy().await;
    let proxy_with_auth = proxy.replace("http://", "http://user:pa%20ss@");
    let transport = HttpTransport::builder(emulator.url())
        .token(TOKEN)
        .proxy(proxy_with_auth)
        .build()
        .expect("transport");
    assert!(!format!("{transport:?}").contains("pa%20ss"));
    write_now(&transport, &WriteParams::new("proxied"), body())
        .await
        .expect("write through the proxy");
    assert_eq!(count(&emulator, "proxied", "m").await, 1);
    let seen = seen.lock().unwrap();
    let (first, auth) = &seen[0];
    assert!(
        first.starts_with(&format!(
            "POST {}/api/v2/write?bucket=proxied",
            emulator.url()
        )),
        "{first}"
    );
    // base64("user:pa ss")
    assert_eq!(auth.as_deref(), Some("Basic dXNlcjpwYSBzcw=="));
}

#[tokio::test]
async fn https_servers_through_a_proxy_use_a_connect_tunnel() {
    let cert = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).expect("cert");
    let emulator = Emulator::builder()
        .token(TOKEN)
        .tls(cert.cert.pem(), cert.signing_key.serialize_pem())
        .start()
        .await
        .expect("emulator");
    let (proxy, seen) = start_proxy().await;
    let transport = HttpTransport::builder(emulator.url())
        .token(TOKEN)
        .tls_root_certificates_pem(cert.cert.pem())
        .proxy(proxy)
        .build()
        .expect("transport");
    write_now(&transport, &WriteParams::new("tunnel"), body())
        .await
        .expect("write through the tunnel");
    assert_eq!(emulator.stats().lines_accepted("tunnel"), 1);
    let seen = seen.lock().unwrap();
    let port = emulator.addr().port();
    assert_eq!(seen[0].0, format!("CONNECT localhost:{port} HTTP/1.1"));
    assert_eq!(seen.len(), 1, "the request itself went inside the tunnel");
}
