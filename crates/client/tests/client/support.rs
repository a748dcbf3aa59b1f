//! Starting an emulator and counting query rows.

use influxdb_client_3::{Client, ClientBuilder, Query};
use influxdb3_emulator::{Emulator, EmulatorHandle};

/// The error type of the tests.
pub(crate) type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// A new emulator with a token.
pub(crate) async fn emulator() -> Result<EmulatorHandle, BoxError> {
    Ok(Emulator::builder().token("test-token").start().await?)
}

/// A client builder for `emulator`, database `db`.
pub(crate) fn builder(emulator: &EmulatorHandle, db: &str) -> ClientBuilder {
    Client::builder(emulator.url())
        .token(emulator.token().unwrap_or_default())
        .database(db)
}

/// The number of rows `sql` returns.
pub(crate) async fn count(client: &Client, sql: &str) -> Result<usize, BoxError> {
    Ok(client.query(Query::sql(sql)).await?.num_rows())
}
