//! End-to-end test support: the server a test runs against.
//!
//! Every test in `e2e.rs` runs against a fresh in-process emulator, and runs again against a
//! real InfluxDB 3 server when `INFLUX_HOST` (with `INFLUX_TOKEN`, and optionally
//! `INFLUX_DATABASE`, default `e2e`) is set; without it, those runs print that they were
//! skipped.

use influxdb_client_3::{Client, ClientBuilder};
use influxdb3_emulator::{Emulator, EmulatorHandle};

/// The error type of the tests.
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// The token the emulators of these tests require.
pub const EMULATOR_TOKEN: &str = "e2e-secret-token";

/// A server under test.
#[derive(Debug)]
pub struct Server {
    host: String,
    token: String,
    database: String,
    emulator: Option<EmulatorHandle>,
}

impl Server {
    /// A new emulator that requires [`EMULATOR_TOKEN`].
    pub async fn start_emulator() -> Result<Server, BoxError> {
        let emulator = Emulator::builder().token(EMULATOR_TOKEN).start().await?;
        Ok(Server {
            host: emulator.url(),
            token: EMULATOR_TOKEN.to_owned(),
            database: "e2e".to_owned(),
            emulator: Some(emulator),
        })
    }

    /// The real server from `INFLUX_HOST`, or `None` (after printing that `test` is
    /// skipped) when it is not set.
    pub fn real(test: &str) -> Option<Server> {
        match std::env::var("INFLUX_HOST").ok().filter(|h| !h.is_empty()) {
            Some(host) => Some(Server {
                host,
                token: std::env::var("INFLUX_TOKEN").unwrap_or_default(),
                database: std::env::var("INFLUX_DATABASE")
                    .ok()
                    .filter(|d| !d.is_empty())
                    .unwrap_or_else(|| "e2e".to_owned()),
                emulator: None,
            }),
            None => {
                eprintln!("skipped {test} against a real server: INFLUX_HOST is not set");
                None
            }
        }
    }

    /// The server URL.
    pub fn host(&self) -> &str {
        &self.host
    }

    /// The token.
    pub fn token(&self) -> &str {
        &self.token
    }

    /// The database the tests write to.
    pub fn database(&self) -> &str {
        &self.database
    }

    /// The emulator, for fault injection and statistics (`None` on a real server).
    pub fn emulator(&self) -> Option<&EmulatorHandle> {
        self.emulator.as_ref()
    }

    /// A client builder with the host, token and database set.
    pub fn builder(&self) -> ClientBuilder {
        Client::builder(&self.host)
            .token(self.token.as_str())
            .database(self.database.as_str())
    }

    /// A synchronous client.
    pub fn client(&self) -> Result<Client, BoxError> {
        Ok(self.builder().build()?)
    }
}

/// A measurement name unique to this process and call, so runs against a shared real
/// server do not see each other's data.
pub fn unique(prefix: &str) -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    format!(
        "{prefix}_{}_{}_{}",
        std::process::id(),
        nanos % 1_000_000_000,
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}

/// The path of a sample data file in `examples/data/`.
pub fn data_file(name: &str) -> std::path::PathBuf {
    std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../examples/data")
        .join(name)
}
