//! A host without a scheme means https (port 443 unless given), everywhere a host is read.

use influxdb_client_3::{Client, Error, Point, Query};
use influxdb3_emulator::{Emulator, EmulatorHandle};

use crate::support::BoxError;

/// An emulator serving TLS with a self-signed certificate for `localhost`, and the PEM.
async fn tls_emulator() -> Result<(EmulatorHandle, String), BoxError> {
    let generated = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()])?;
    let cert = generated.cert.pem();
    let emulator = Emulator::builder()
        .token("test-token")
        .tls(cert.clone(), generated.signing_key.serialize_pem())
        .start()
        .await?;
    Ok((emulator, cert))
}

#[tokio::test]
async fn a_bare_host_and_port_writes_and_queries_over_https() -> Result<(), BoxError> {
    let (emulator, cert) = tls_emulator().await?;
    let host = format!("localhost:{}", emulator.addr().port());
    let client = Client::builder(&host)
        .token("test-token")
        .database("hosts")
        .tls_root_certificates_pem(cert.clone())
        .build()?;
    client
        .write(Point::new("m").tag("via", "builder").field("v", 1))
        .await?;
    // The connection string takes a bare host too.
    let from_string =
        Client::from_connection_string(&format!("{host}?token=test-token&database=hosts"))?;
    drop(from_string);
    let table = client.query(Query::sql("SELECT v FROM m")).await?;
    assert_eq!(table.num_rows(), 1);
    let info = client.ping().await?;
    assert!(info.version.is_some());
    Ok(())
}

#[tokio::test]
async fn a_bare_host_is_https_so_a_plain_http_server_is_a_connection_error() -> Result<(), BoxError>
{
    let emulator = crate::support::emulator().await?;
    let client = Client::builder(format!("127.0.0.1:{}", emulator.addr().port()))
        .database("hosts")
        .build()?;
    let err = client
        .write(Point::new("m").field("v", 1))
        .await
        .expect_err("TLS to a plain HTTP server must fail");
    assert!(!matches!(err, Error::Config(_)), "{err}");
    Ok(())
}

#[test]
fn malformed_hosts_are_configuration_errors() {
    for host in ["", "ftp://h", "not a url", "http://", "localhost:port"] {
        let err = Client::builder(host).database("db").build().unwrap_err();
        assert!(matches!(err, Error::Config(_)), "{host:?}: {err}");
        assert!(err.to_string().contains("host"), "{host:?}: {err}");
        let err = Client::from_connection_string(&format!("{host}?token=t")).unwrap_err();
        assert!(matches!(err, Error::Config(_)), "{host:?}: {err}");
    }
}

#[tokio::test]
async fn a_connection_string_in_other_clients_forms_writes_and_queries() -> Result<(), BoxError> {
    let emulator = crate::support::emulator().await?;
    let client = Client::from_connection_string(&format!(
        "{}?token={}&database=cfg&writeTimeout=10000&queryTimeout=30s&writeNoSync=no\
         &disableGrpcCompression=y&timeout=5&unknownKey=1",
        emulator.url(),
        emulator.token().unwrap_or_default()
    ))?;
    client.write(Point::new("m").field("v", 1)).await?;
    assert_eq!(
        client
            .query(Query::sql("SELECT v FROM m"))
            .await?
            .num_rows(),
        1
    );
    Ok(())
}
