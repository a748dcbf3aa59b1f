//! Function flight_client_options: specify the root certificate.
//!
//! Python: `flight_client_options(tls_root_certs=cert)` with the certificate read from a PEM
//! file (certifi's bundle). Here: on the in-process emulator, a self-signed certificate is
//! generated at run time and the emulator serves TLS with it; against a real server, the
//! PEM file named by `INFLUX_TLS_ROOT_CERTS` is used when set.

use influxdb_client_3::{Client, FlightClientOptions, Point};
use influxdb3_emulator::Emulator;
use influxdb3_examples::{BoxError, Connection};

/// The example's body.
pub(crate) async fn run(connection: &Connection) -> Result<(), BoxError> {
    // Where to connect, and the PEM certificate to trust.
    let (host, token, cert, _tls_emulator) = match connection.emulator() {
        Some(_) => {
            let generated = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()])?;
            let cert = generated.cert.pem();
            let emulator = Emulator::builder()
                .token("example-token")
                .tls(cert.clone(), generated.signing_key.serialize_pem())
                .start()
                .await?;
            (
                emulator.url(),
                "example-token".to_owned(),
                Some(cert),
                Some(emulator),
            )
        }
        None => {
            let cert = match std::env::var("INFLUX_TLS_ROOT_CERTS") {
                Ok(path) => Some(
                    std::fs::read_to_string(&path).map_err(|e| format!("reading {path}: {e}"))?,
                ),
                Err(_) => None,
            };
            (
                connection.host().to_owned(),
                connection.token().to_owned(),
                cert,
                None,
            )
        }
    };

    let mut fco = FlightClientOptions::default();
    let mut builder = Client::builder(&host)
        .database(connection.database())
        .token(token);
    if let Some(cert) = &cert {
        fco = fco.root_certificates_pem(cert.clone());
        // Writes go over HTTPS too; trust the same certificate there.
        builder = builder.tls_root_certificates_pem(cert.clone());
    }
    let client = builder.flight_client_options(fco).build()?;

    client
        .write(
            Point::new("home")
                .tag("room", "Kitchen")
                .field("temp", 21.0),
        )
        .await?;
    let table = client
        .query("SELECT room, temp FROM home WHERE room = 'Kitchen'")
        .await?;
    println!("{table}");
    assert!(table.num_rows() >= 1);
    Ok(())
}

fn main() {
    influxdb3_examples::main(|c| async move { run(&c).await })
}
