//! The HTTP transport and the synchronous mode against the emulator, over real sockets.

use std::time::{Duration, SystemTime};

use crate::common::{TOKEN, count, emulator, query, transport};
use bytes::Bytes;
use influxdb3_emulator::{Emulator, RetryAfter, WriteFault};
use influxdb3_lp::{LineEncoder, Point, Precision, Timestamp};
use influxdb3_write::{
    AuthScheme, Endpoint, ErrorKind, HttpTransport, MAX_REQUEST_BYTES, WriteParams, WriteTransport,
    write_now,
};

fn body(lines: &[&str]) -> Bytes {
    let mut encoder = LineEncoder::new(Precision::Nanoseconds);
    for line in lines {
        encoder.encode(*line).expect("valid line protocol");
    }
    encoder.take()
}

#[tokio::test]
async fn sync_writes_land_on_v2_and_v3() {
    let emulator = emulator().await;
    let transport = transport(&emulator);
    emulator.record_bodies(true);

    let v2 = WriteParams::new("v2db");
    let outcome = write_now(
        &transport,
        &v2,
        body(&["cpu,host=a v=1 1", "cpu,host=b v=2 2"]),
    )
    .await
    .expect("v2 write");
    assert_eq!((outcome.requests, outcome.lines), (1, 2));

    let v3 = WriteParams::new("v3db")
        .endpoint(Endpoint::V3)
        .no_sync(true);
    write_now(&transport, &v3, body(&["cpu,host=a v=1 1"]))
        .await
        .expect("v3 write");
    assert_eq!(count(&emulator, "v2db", "cpu").await, 2);
    // no_sync data is queryable after the next WAL flush, as on the server.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    while count(&emulator, "v3db", "cpu").await != 1 {
        assert!(
            std::time::Instant::now() < deadline,
            "no_sync data never appeared"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }

    let writes = emulator.stats().writes;
    assert_eq!(writes.len(), 2);
    assert_eq!(
        writes[0].path_and_query,
        "/api/v2/write?bucket=v2db&precision=ns"
    );
    assert_eq!(
        writes[1].path_and_query,
        "/api/v3/write_lp?db=v3db&precision=nanosecond&no_sync=true"
    );
    assert_eq!(
        writes[0].header("content-type"),
        Some("text/plain; charset=utf-8")
    );
    let agent = writes[0].header("user-agent").unwrap_or_default();
    assert!(agent.starts_with("influxdb3-rust/"), "{agent}");

    // An empty body sends nothing.
    let outcome = write_now(&transport, &v2, Bytes::new())
        .await
        .expect("empty");
    assert_eq!(outcome.requests, 0);
    assert_eq!(emulator.stats().writes.len(), 2);
}

#[tokio::test]
async fn v2_refuses_v3_only_options_before_sending() {
    let emulator = emulator().await;
    let transport = transport(&emulator);
    let err = write_now(
        &transport,
        &WriteParams::new("db").no_sync(true),
        body(&["m v=1"]),
    )
    .await
    .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Config);
    assert_eq!(emulator.stats().write_requests, 0);
}

#[tokio::test]
async fn gzip_above_the_threshold_only() {
    let emulator = emulator().await;
    emulator.record_bodies(true);
    let big: Vec<String> = (0..100).map(|i| format!("m,t=x v={i}i {i}")).collect();
    let big: Vec<&str> = big.iter().map(String::as_str).collect();
    let params = WriteParams::new("gz");

    let default = transport(&emulator);
    write_now(&default, &params, body(&big))
        .await
        .expect("gzip write");
    write_now(&default, &params, body(&["small v=1 1"]))
        .await
        .expect("small write");
    let off = HttpTransport::builder(emulator.url())
        .token(TOKEN)
        .gzip_threshold(0)
        .build()
        .expect("transport");
    write_now(&off, &WriteParams::new("plain"), body(&big))
        .await
        .expect("plain write");

    let stats = emulator.stats();
    let w = &stats.writes;
    assert_eq!(w[0].header("content-encoding"), Some("gzip"));
    assert_eq!(w[1].header("content-encoding"), None);
    assert_eq!(w[2].header("content-encoding"), None);
    // The emulator records the body after gunzip: the same text either way.
    assert_eq!(w[0].body, w[2].body);
    assert!(w[0].body_text().starts_with("m,t=x v=0i 0\n"));
    assert_eq!(count(&emulator, "gz", "m").await, 100);
    assert_eq!(count(&emulator, "plain", "m").await, 100);
}

#[tokio::test]
async fn precision_is_sent_and_applied() {
    let emulator = emulator().await;
    emulator.record_bodies(true);
    let transport = transport(&emulator);
    let mut encoder = LineEncoder::new(Precision::Seconds);
    encoder
        .encode(
            &Point::new("p")
                .field("v", 1.0)
                .timestamp(Timestamp::new(1_700_000_000, Precision::Seconds)),
        )
        .expect("point");
    let v2 = WriteParams::new("prec").precision(Precision::Seconds);
    write_now(&transport, &v2, encoder.take())
        .await
        .expect("write s");
    let v3 = WriteParams::new("prec")
        .precision(Precision::Milliseconds)
        .endpoint(Endpoint::V3);
    write_now(&transport, &v3, body(&["p v=2 1700000001000"]))
        .await
        .expect("write ms");
    let rows = query(&emulator, "prec", "SELECT time, v FROM p ORDER BY time").await;
    assert_eq!(rows[0]["time"], "2023-11-14T22:13:20");
    assert_eq!(rows[1]["time"], "2023-11-14T22:13:21");
    let w = emulator.stats().writes;
    assert!(
        w[0].path_and_query.ends_with("precision=s"),
        "{}",
        w[0].path_and_query
    );
    assert!(w[1].path_and_query.ends_with("precision=millisecond"));
}

/// `ping` reads the version and build from the headers and the product from the body, with
/// the token; without it the server's 401 comes back as an error, and a closed port is a
/// connection error.
#[tokio::test]
async fn ping_tells_who_the_server_is() {
    let emulator = emulator().await;
    let server = transport(&emulator).ping().await.expect("ping");
    assert_eq!(server.version.as_deref(), Some("3.6.0"));
    assert_eq!(server.build.as_deref(), Some("Core"));
    // Core 3.6.0's /ping body has no product_name.
    assert_eq!(server.product_name, None);

    let anonymous = HttpTransport::builder(emulator.url()).build().unwrap();
    let err = anonymous.ping().await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Http);
    assert_eq!(err.status().map(|s| s.as_u16()), Some(401));
    assert!(err.to_string().contains("/ping"), "{err}");

    let url = emulator.url();
    emulator.shutdown().await;
    let err = HttpTransport::builder(url)
        .token(TOKEN)
        .build()
        .unwrap()
        .ping()
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Connect, "{err}");
}

#[tokio::test]
async fn auth_errors_and_schemes() {
    let emulator = emulator().await;
    let params = WriteParams::new("auth");
    let data = body(&["m v=1 1"]);

    let none = HttpTransport::builder(emulator.url())
        .build()
        .expect("transport");
    let err = none.send(&params, data.clone().into()).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Http);
    assert_eq!(err.status().map(|s| s.as_u16()), Some(401));
    // Core 3.6.0 answers 401 with an empty body: the status text stands in.
    assert_eq!(err.message(), "Unauthorized");
    assert!(!err.is_retryable());

    let wrong = HttpTransport::builder(emulator.url())
        .token("apiv3_wrong")
        .build()
        .expect("transport");
    let err = wrong.send(&params, data.clone().into()).await.unwrap_err();
    assert_eq!(err.status().map(|s| s.as_u16()), Some(401));
    assert!(!err.to_string().contains("apiv3_wrong"));
    assert!(!format!("{err:?}").contains("apiv3_wrong"));

    // A token with a space makes a malformed header: 400 with the server's explanation.
    let malformed = HttpTransport::builder(emulator.url())
        .token("two parts")
        .build()
        .expect("transport");
    let err = malformed
        .send(&params, data.clone().into())
        .await
        .unwrap_err();
    assert_eq!(err.status().map(|s| s.as_u16()), Some(400));
    assert!(
        err.message().contains("Authorization header was malformed"),
        "{err}"
    );

    let bearer = HttpTransport::builder(emulator.url())
        .token(TOKEN)
        .auth_scheme(AuthScheme::Bearer)
        .header("x-custom", "yes")
        .build()
        .expect("transport");
    emulator.record_bodies(true);
    bearer
        .send(&params, data.into())
        .await
        .expect("bearer works");
    assert_eq!(emulator.stats().writes[0].header("x-custom"), Some("yes"));
}

#[tokio::test]
async fn partial_writes_are_reported_line_by_line() {
    let emulator = emulator().await;
    let transport = transport(&emulator);
    let long_bad = format!("m,host={} v=", "h".repeat(40));
    let data = body(&["m v=1 1", "m v= 2", "m v=3 3", &long_bad]);

    let v3 = WriteParams::new("partial").endpoint(Endpoint::V3);
    let err = write_now(&transport, &v3, data.clone()).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::PartialWrite);
    let lines: Vec<_> = err.line_errors().iter().map(|e| e.line_number()).collect();
    assert_eq!(lines, [2, 4]);
    assert_eq!(err.line_errors()[0].original_line(), "m v= 2");
    // The server cuts original_line to 20 bytes; the client restores the full line.
    assert_eq!(err.line_errors()[1].original_line(), long_bad);
    assert_eq!(count(&emulator, "partial", "m").await, 2);

    let strict = v3.clone().accept_partial(false);
    let err = write_now(&transport, &strict, data.clone())
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Http);
    assert_eq!(err.status().map(|s| s.as_u16()), Some(400));
    assert_eq!(err.line_errors().len(), 1);
    assert_eq!(err.line_errors()[0].line_number(), 2);

    let v2 = WriteParams::new("partial2");
    let err = write_now(&transport, &v2, data).await.unwrap_err();
    assert_eq!(err.status().map(|s| s.as_u16()), Some(400));
    assert!(
        err.message()
            .contains("write buffer error: parsing for line protocol failed"),
        "{err}"
    );
}

#[tokio::test]
async fn bodies_above_the_server_limit_are_split_and_line_numbers_kept() {
    let emulator = emulator().await;
    emulator.record_bodies(true);
    let transport = transport(&emulator);
    // ~12 MiB in 2 KiB lines: two requests. Line 6000 (in the second request) is bad.
    let value = "x".repeat(2048);
    let mut encoder = LineEncoder::new(Precision::Nanoseconds);
    let n = 6000;
    for i in 1..=n {
        let line = if i == n {
            format!("big s=\"{value}\",v= {i}")
        } else {
            format!("big s=\"{value}\" {i}")
        };
        encoder.encode(line.as_str()).expect("line");
    }
    let data = encoder.take();
    assert!(data.len() > MAX_REQUEST_BYTES);
    let params = WriteParams::new("split").endpoint(Endpoint::V3);
    let err = write_now(&transport, &params, data).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::PartialWrite);
    assert_eq!(err.line_errors()[0].line_number(), n);
    assert!(err.message().contains("earlier requests"), "{err}");
    let writes = emulator.stats().writes;
    assert_eq!(writes.len(), 2);
    assert!(writes.iter().all(|w| w.body.len() <= MAX_REQUEST_BYTES));
    assert_eq!(count(&emulator, "split", "big").await, (n - 1) as u64);
}

#[tokio::test]
async fn retry_after_in_both_forms_and_405_hint() {
    let emulator = emulator().await;
    let transport = transport(&emulator);
    let params = WriteParams::new("ra");
    let data = body(&["m v=1 1"]);

    emulator.faults().fail_writes(
        1,
        WriteFault::new(429, "slow down").retry_after(RetryAfter::Seconds(7)),
    );
    let err = transport
        .send(&params, data.clone().into())
        .await
        .unwrap_err();
    assert_eq!(err.retry_after(), Some(Duration::from_secs(7)));
    assert!(err.is_retryable());
    assert_eq!(err.message(), "slow down");

    let at = SystemTime::now() + Duration::from_secs(30);
    emulator.faults().fail_writes(
        1,
        WriteFault::new(503, "").retry_after(RetryAfter::HttpDate(at)),
    );
    let err = transport
        .send(&params, data.clone().into())
        .await
        .unwrap_err();
    let after = err.retry_after().expect("a Retry-After");
    assert!(
        after > Duration::from_secs(27) && after <= Duration::from_secs(30),
        "{after:?}"
    );
    assert_eq!(err.message(), "Service Unavailable");
    assert!(err.headers().contains_key("retry-after"));

    emulator.faults().fail_writes(1, WriteFault::new(405, ""));
    let err = transport.send(&params, data.into()).await.unwrap_err();
    assert!(
        err.message().contains("does not provide /api/v2/write"),
        "{err}"
    );
    assert!(
        err.url()
            .is_some_and(|u| u.contains("/api/v2/write?bucket=ra"))
    );
}

#[tokio::test]
async fn timeouts_and_refused_connections() {
    let emulator = emulator().await;
    emulator
        .faults()
        .delay_responses(Duration::from_millis(500));
    let slow = HttpTransport::builder(emulator.url())
        .token(TOKEN)
        .timeout(Duration::from_millis(100))
        .build()
        .expect("transport");
    let err = slow
        .send(&WriteParams::new("t"), body(&["m v=1"]).into())
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Timeout);
    assert!(err.is_retryable());

    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    drop(listener);
    let refused = HttpTransport::builder(format!("http://{addr}"))
        .build()
        .expect("transport");
    let err = refused
        .send(&WriteParams::new("t"), body(&["m v=1"]).into())
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Connect);
    assert!(err.is_retryable());
    assert!(err.to_string().contains(&addr.to_string()), "{err}");
}

#[tokio::test]
async fn tls_verification_is_on_unless_turned_off() {
    let cert = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).expect("cert");
    let cert_pem = cert.cert.pem();
    let key_pem = cert.signing_key.serialize_pem();
    let emulator = Emulator::builder()
        .token(TOKEN)
        .tls(cert_pem.clone(), key_pem)
        .start()
        .await
        .expect("TLS emulator");
    let url = emulator.url();
    assert!(url.starts_with("https://"));
    let params = WriteParams::new("tls");

    let default = HttpTransport::builder(&url)
        .token(TOKEN)
        .build()
        .expect("transport");
    let err = default
        .send(&params, body(&["m v=1 1"]).into())
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Connect);
    assert!(
        err.to_string().to_lowercase().contains("certificate"),
        "{err}"
    );

    let trusted = HttpTransport::builder(&url)
        .token(TOKEN)
        .tls_root_certificates_pem(cert_pem)
        .build()
        .expect("transport");
    trusted
        .send(&params, body(&["m v=1 1"]).into())
        .await
        .expect("trusted root");

    let danger = HttpTransport::builder(&url)
        .token(TOKEN)
        .danger_accept_invalid_certs(true)
        .build()
        .expect("transport");
    danger
        .send(&params, body(&["m v=2 2"]).into())
        .await
        .expect("no verification");
    assert_eq!(emulator.stats().lines_accepted("tls"), 2);
}

/// A CA, a `localhost` server certificate and a client certificate it signed: `(ca, server
/// cert, server key, client cert, client key)`, all PEM.
fn mutual_tls_pki() -> (String, String, String, String, String) {
    use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, IsCa, KeyPair};
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).expect("CA params");
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca =
        CertifiedIssuer::self_signed(ca_params, KeyPair::generate().expect("key")).expect("CA");
    let server_key = KeyPair::generate().expect("key");
    let server = CertificateParams::new(vec!["localhost".to_owned()])
        .expect("server params")
        .signed_by(&server_key, &ca)
        .expect("server cert");
    let client_key = KeyPair::generate().expect("key");
    let client = CertificateParams::new(vec!["writer".to_owned()])
        .expect("client params")
        .signed_by(&client_key, &ca)
        .expect("client cert");
    (
        ca.pem(),
        server.pem(),
        server_key.serialize_pem(),
        client.pem(),
        client_key.serialize_pem(),
    )
}

#[tokio::test]
async fn mutual_tls_writes_need_the_client_identity() {
    let (ca, server_cert, server_key, client_cert, client_key) = mutual_tls_pki();
    let emulator = Emulator::builder()
        .token(TOKEN)
        .tls(server_cert, server_key)
        .tls_client_ca(ca.clone())
        .start()
        .await
        .expect("mTLS emulator");
    let url = emulator.url();
    let params = WriteParams::new("mtls");

    let with_identity = HttpTransport::builder(&url)
        .token(TOKEN)
        .tls_root_certificates_pem(ca.clone())
        .tls_identity_pem(client_cert.clone(), client_key.clone())
        .build()
        .expect("transport");
    with_identity
        .send(&params, body(&["m v=1 1"]).into())
        .await
        .expect("a write with the client certificate");

    let without = HttpTransport::builder(&url)
        .token(TOKEN)
        .tls_root_certificates_pem(ca.clone())
        .build()
        .expect("transport");
    let err = without
        .send(&params, body(&["m v=2 2"]).into())
        .await
        .unwrap_err();
    // The server's `CertificateRequired` alert may arrive before or after the request is
    // sent, so the message varies; the kind does not.
    assert_eq!(err.kind(), ErrorKind::Connect, "{err}");
    assert_eq!(emulator.stats().lines_accepted("mtls"), 1);

    // Bad identities are refused when the transport is built, naming the setting.
    for (cert, key, expected) in [
        ("not a pem", client_key.as_str(), "no certificate found"),
        (client_cert.as_str(), "no key", "no usable private key"),
        // A PEM with a certificate in place of the key.
        (client_cert.as_str(), ca.as_str(), "no usable private key"),
    ] {
        let err = HttpTransport::builder(&url)
            .tls_identity_pem(cert, key)
            .build()
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Config, "{err}");
        assert!(err.to_string().contains("tls_identity_pem"), "{err}");
        assert!(err.to_string().contains(expected), "{err}");
    }
}
