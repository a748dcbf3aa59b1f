//! Shared helpers for the examples: where to connect, and where the sample data is.
//!
//! Every example runs against the server named by `INFLUX_HOST` / `INFLUX_TOKEN` /
//! `INFLUX_DATABASE` when `INFLUX_HOST` is set, and otherwise against an in-process
//! [`influxdb3_emulator`] started for it, so `cargo run --example quickstart` works on a
//! fresh machine with nothing else installed.
//!
//! Each example file has an `async fn run(connection: &Connection) -> Result<(), BoxError>`
//! and a `main` that calls [`main`] with it; `tests/run_examples.rs` includes the files as
//! modules and calls every `run` as a test, so CI runs all examples in one test binary.

use std::future::Future;
use std::path::PathBuf;

use influxdb_client_3::{Client, ClientBuilder};
use influxdb3_emulator::{Emulator, EmulatorHandle};

/// The error type of the examples.
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// Where the examples connect: a real server from the environment, or an emulator.
#[derive(Debug)]
pub struct Connection {
    host: String,
    token: Option<String>,
    database: String,
    emulator: Option<EmulatorHandle>,
}

impl Connection {
    /// The server from `INFLUX_HOST` (with `INFLUX_TOKEN` and `INFLUX_DATABASE`, default
    /// database `examples`) when `INFLUX_HOST` is set; otherwise a new in-process emulator.
    pub async fn start() -> Result<Connection, BoxError> {
        match std::env::var("INFLUX_HOST").ok().filter(|h| !h.is_empty()) {
            Some(host) => Ok(Connection {
                host,
                token: std::env::var("INFLUX_TOKEN").ok().filter(|t| !t.is_empty()),
                database: std::env::var("INFLUX_DATABASE")
                    .ok()
                    .filter(|d| !d.is_empty())
                    .unwrap_or_else(|| "examples".to_owned()),
                emulator: None,
            }),
            None => {
                let emulator = Emulator::builder().token("example-token").start().await?;
                Ok(Connection {
                    host: emulator.url(),
                    token: emulator.token().map(str::to_owned),
                    database: "examples".to_owned(),
                    emulator: Some(emulator),
                })
            }
        }
    }

    /// The server URL.
    pub fn host(&self) -> &str {
        &self.host
    }

    /// The token (the Python examples' `API_TOKEN`), if any.
    pub fn token(&self) -> &str {
        self.token.as_deref().unwrap_or_default()
    }

    /// The database (the Python examples' `BUCKET_NAME`).
    pub fn database(&self) -> &str {
        &self.database
    }

    /// The in-process emulator, when no real server was configured.
    pub fn emulator(&self) -> Option<&EmulatorHandle> {
        self.emulator.as_ref()
    }

    /// A client builder with the host, token and database set.
    pub fn builder(&self) -> ClientBuilder {
        Client::builder(&self.host)
            .token(self.token())
            .database(&self.database)
    }
}

/// The path of a sample data file in `examples/data/`.
pub fn data_file(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("data")
        .join(name)
}

/// Runs an example's `run` on a new tokio runtime with a [`Connection`], printing the error
/// and exiting with status 1 if it fails.
pub fn main<F, Fut>(run: F)
where
    F: FnOnce(Connection) -> Fut,
    Fut: Future<Output = Result<(), BoxError>>,
{
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("cannot start the tokio runtime: {e}");
            std::process::exit(1);
        }
    };
    let result = runtime.block_on(async {
        let connection = Connection::start().await?;
        run(connection).await
    });
    if let Err(e) = result {
        eprintln!("error: {e}");
        std::process::exit(1);
    }
}
