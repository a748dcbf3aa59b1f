//! Helpers shared by the integration tests: an emulator, HTTP writes over a raw socket, and
//! test certificates.

#![allow(dead_code, unreachable_pub)]

use std::sync::Arc;

use influxdb3_emulator::{Emulator, EmulatorHandle};
use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;

pub const TOKEN: &str = "apiv3_test-token";

/// A plain-HTTP emulator that requires [`TOKEN`].
pub async fn emulator() -> EmulatorHandle {
    Emulator::builder()
        .token(TOKEN)
        .start()
        .await
        .expect("emulator starts")
}

/// A CA, a server certificate for `localhost` and a client certificate, all PEM.
pub struct TestPki {
    pub ca_pem: String,
    pub server_cert_pem: String,
    pub server_key_pem: String,
    pub client_cert_pem: String,
    pub client_key_pem: String,
}

impl TestPki {
    pub fn generate() -> Self {
        let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca_params
            .distinguished_name
            .push(DnType::CommonName, "influxdb3-query test CA");
        let ca = CertifiedIssuer::self_signed(ca_params, KeyPair::generate().unwrap()).unwrap();

        let server_key = KeyPair::generate().unwrap();
        let server = CertificateParams::new(vec!["localhost".to_string()])
            .unwrap()
            .signed_by(&server_key, &ca)
            .unwrap();

        let client_key = KeyPair::generate().unwrap();
        let mut client_params = CertificateParams::new(vec!["client".to_string()]).unwrap();
        client_params
            .distinguished_name
            .push(DnType::CommonName, "query client");
        let client = client_params.signed_by(&client_key, &ca).unwrap();

        TestPki {
            ca_pem: ca.pem(),
            server_cert_pem: server.pem(),
            server_key_pem: server_key.serialize_pem(),
            client_cert_pem: client.pem(),
            client_key_pem: client_key.serialize_pem(),
        }
    }

    /// A rustls client config trusting the CA, with the client identity when `mtls`.
    pub fn rustls_client(&self, mtls: bool) -> rustls::ClientConfig {
        use rustls::pki_types::pem::PemObject;
        use rustls::pki_types::{CertificateDer, PrivateKeyDer};
        let mut roots = rustls::RootCertStore::empty();
        for cert in CertificateDer::pem_slice_iter(self.ca_pem.as_bytes()) {
            roots.add(cert.unwrap()).unwrap();
        }
        let builder = rustls::ClientConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots);
        if mtls {
            let certs = CertificateDer::pem_slice_iter(self.client_cert_pem.as_bytes())
                .collect::<Result<Vec<_>, _>>()
                .unwrap();
            let key = PrivateKeyDer::from_pem_slice(self.client_key_pem.as_bytes()).unwrap();
            builder.with_client_auth_cert(certs, key).unwrap()
        } else {
            builder.with_no_client_auth()
        }
    }
}

/// Writes line protocol with `POST /api/v3/write_lp` over HTTP/1.1 (TLS when `tls` is given)
/// and panics unless the server answers 2xx.
pub async fn write_lp(
    emulator: &EmulatorHandle,
    db: &str,
    lines: &str,
    tls: Option<rustls::ClientConfig>,
) {
    let addr = emulator.addr();
    let tcp = TcpStream::connect(addr).await.unwrap();
    let response = match tls {
        Some(config) => {
            let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
            let name = rustls::pki_types::ServerName::try_from("localhost").unwrap();
            let stream = connector.connect(name, tcp).await.unwrap();
            post(stream, db, lines).await
        }
        None => post(tcp, db, lines).await,
    };
    let status_line = response.lines().next().unwrap_or_default().to_string();
    assert!(
        status_line.starts_with("HTTP/1.1 2"),
        "write failed: {response}"
    );
}

async fn post<S: AsyncRead + AsyncWrite + Unpin>(mut stream: S, db: &str, body: &str) -> String {
    let head = format!(
        "POST /api/v3/write_lp?db={db}&precision=nanosecond HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer {TOKEN}\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    stream.write_all(body.as_bytes()).await.unwrap();
    stream.flush().await.unwrap();
    let mut response = Vec::new();
    // The server closes the connection after answering (Connection: close); a TLS peer may
    // close without close_notify, which is fine once the head has arrived.
    let _ = stream.read_to_end(&mut response).await;
    String::from_utf8_lossy(&response).into_owned()
}
