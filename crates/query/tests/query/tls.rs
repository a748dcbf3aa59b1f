//! TLS against the emulator with certificates generated here: custom roots, verification
//! failures, mutual TLS, server-name override and turning verification off.

use crate::common::{TOKEN, TestPki, write_lp};
use influxdb3_emulator::{Emulator, EmulatorHandle};
use influxdb3_query::{ErrorKind, FlightOptions, QueryClient};

const LINE: &str = "home,room=kitchen temp=21.5 1700000000000000000\n";

async fn tls_emulator(pki: &TestPki, mtls: bool) -> EmulatorHandle {
    let mut builder = Emulator::builder()
        .token(TOKEN)
        .tls(pki.server_cert_pem.clone(), pki.server_key_pem.clone());
    if mtls {
        builder = builder.tls_client_ca(pki.ca_pem.clone());
    }
    let emu = builder.start().await.expect("TLS emulator starts");
    write_lp(&emu, "sensors", LINE, Some(pki.rustls_client(mtls))).await;
    emu
}

fn client(host: &str, options: FlightOptions) -> QueryClient {
    QueryClient::builder(host)
        .token(TOKEN)
        .database("sensors")
        .flight_options(options)
        .build()
        .unwrap()
}

#[tokio::test]
async fn custom_root_certificate_is_trusted_and_missing_one_is_explained() {
    let pki = TestPki::generate();
    let emu = tls_emulator(&pki, false).await;
    assert!(emu.url().starts_with("https://localhost:"));

    let trusted = client(
        &emu.url(),
        FlightOptions::default().root_certificates_pem(pki.ca_pem.clone()),
    );
    let result = trusted.query("SELECT temp FROM home").await.unwrap();
    assert_eq!(result.num_rows(), 1);

    let untrusted = client(&emu.url(), FlightOptions::default());
    let e = untrusted.query("SELECT temp FROM home").await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Tls, "{e}");
    let text = e.to_string();
    assert!(text.contains("TLS verification failed"), "{text}");
    assert!(text.contains("root_certificates_pem"), "{text}");
}

#[tokio::test]
async fn server_name_override_and_dangerous_mode() {
    let pki = TestPki::generate();
    let emu = tls_emulator(&pki, false).await;
    let by_ip = format!("https://127.0.0.1:{}", emu.addr().port());

    // The certificate names `localhost`, not 127.0.0.1.
    let wrong_name = client(
        &by_ip,
        FlightOptions::default().root_certificates_pem(pki.ca_pem.clone()),
    );
    let e = wrong_name.query("SELECT temp FROM home").await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Tls, "{e}");

    let overridden = client(
        &by_ip,
        FlightOptions::default()
            .root_certificates_pem(pki.ca_pem.clone())
            .tls_server_name("localhost"),
    );
    assert_eq!(
        overridden
            .query("SELECT temp FROM home")
            .await
            .unwrap()
            .num_rows(),
        1
    );

    let dangerous = client(
        &by_ip,
        FlightOptions::default().danger_accept_invalid_certs(true),
    );
    assert_eq!(
        dangerous
            .query("SELECT temp FROM home")
            .await
            .unwrap()
            .num_rows(),
        1
    );
}

#[tokio::test]
async fn mutual_tls_needs_the_client_identity() {
    let pki = TestPki::generate();
    let emu = tls_emulator(&pki, true).await;
    let roots = FlightOptions::default().root_certificates_pem(pki.ca_pem.clone());

    let with_identity = client(
        &emu.url(),
        roots
            .clone()
            .identity(pki.client_cert_pem.clone(), pki.client_key_pem.clone()),
    );
    assert_eq!(
        with_identity
            .query("SELECT temp FROM home")
            .await
            .unwrap()
            .num_rows(),
        1
    );

    let without = client(&emu.url(), roots);
    let e = without.query("SELECT temp FROM home").await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Tls, "{e}");
    assert!(
        e.hint()
            .is_some_and(|h| h.contains("FlightOptions::identity")),
        "{e}"
    );
}

#[tokio::test]
async fn bad_pem_is_reported_at_build_time() {
    let e = QueryClient::builder("https://localhost:8181")
        .flight_options(FlightOptions::default().root_certificates_pem(b"not a pem".to_vec()))
        .build()
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Config);
    assert!(e.to_string().contains("root certificate PEM #1"), "{e}");

    let pki = TestPki::generate();
    let e = QueryClient::builder("https://localhost:8181")
        .flight_options(
            FlightOptions::default().identity(pki.client_cert_pem.clone(), b"no key".to_vec()),
        )
        .build()
        .unwrap_err();
    assert!(
        e.to_string()
            .contains("client key PEM (FlightOptions::identity): no usable private key"),
        "{e}"
    );
    let e = QueryClient::builder("https://localhost:8181")
        .flight_options(
            FlightOptions::default().identity(b"no cert".to_vec(), pki.client_key_pem.clone()),
        )
        .build()
        .unwrap_err();
    assert!(
        e.to_string()
            .contains("client certificate PEM (FlightOptions::identity): no certificate found"),
        "{e}"
    );
    // The key never shows in Debug output.
    let options =
        FlightOptions::default().identity(pki.client_cert_pem.clone(), pki.client_key_pem.clone());
    assert!(!format!("{options:?}").contains("PRIVATE KEY"));
}
