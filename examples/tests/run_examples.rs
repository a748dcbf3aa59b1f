//! Runs every example against the emulator (or the server named by `INFLUX_HOST`).
//!
//! Each example file is compiled in here as a module and its `run` function is called
//! with a fresh [`Connection`], so CI runs all examples in one test binary
//! (`cargo test -p influxdb3-examples`) without building and starting one binary each.

use influxdb3_examples::{BoxError, Connection};

macro_rules! examples {
    ($($name:ident = $path:literal),* $(,)?) => {$(
        #[path = $path]
        #[allow(dead_code)]
        mod $name;

        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn $name() -> Result<(), BoxError> {
            let connection = Connection::start().await?;
            $name::run(&connection).await
        }
    )*};
}

examples!(
    client_synchronous = "../client_synchronous.rs",
    client_synchronous_explicit = "../client_synchronous_explicit.rs",
    batch_defaults_callbacks = "../batch_defaults_callbacks.rs",
    write_line_protocol = "../write_line_protocol.rs",
    write_points = "../write_points.rs",
    write_dict = "../write_dict.rs",
    write_file_batch_options = "../write_file_batch_options.rs",
    query_sql = "../query_sql.rs",
    query_influxql = "../query_influxql.rs",
    query_table = "../query_table.rs",
    query_result_schema = "../query_result_schema.rs",
    query_schema_only = "../query_schema_only.rs",
    query_timeout = "../query_timeout.rs",
    close_client = "../close_client.rs",
    point = "../point.rs",
    write_options = "../write_options.rs",
    write_client_options = "../write_client_options.rs",
    flight_client_options = "../flight_client_options.rs",
    quickstart = "../quickstart.rs",
);

#[path = "../file_progress.rs"]
#[allow(dead_code)]
mod file_progress;

/// The progress example with a smaller file, to keep the suite fast.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn file_progress() -> Result<(), BoxError> {
    let connection = Connection::start().await?;
    file_progress::run_with_rows(&connection, 20_000).await
}
