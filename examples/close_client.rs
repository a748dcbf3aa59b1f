//! Close a client: send what is left and release the connections.
//!
//! Python: `client.close()`.

use influxdb_client_3::{Client, Error};
use influxdb3_examples::{BoxError, Connection};

/// The example's body.
pub(crate) async fn run(connection: &Connection) -> Result<(), BoxError> {
    let client = Client::builder(connection.host())
        .database(connection.database())
        .token(connection.token())
        .build()?;
    client.close().await?;

    // A closed client refuses further work.
    let err = client.query("SELECT 1").await.err();
    assert!(matches!(err, Some(Error::Closed)), "{err:?}");
    Ok(())
}

fn main() {
    influxdb3_examples::main(|c| async move { run(&c).await })
}
