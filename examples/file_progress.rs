//! Write a large generated CSV file with a text progress bar.
//!
//! The file is read batch by batch, so memory stays bounded whatever its size; the
//! `progress` callback draws `\r[####      ]  42%` after each batch.

use std::io::Write as _;

use influxdb_client_3::{Client, FileProgress, Precision};
use influxdb3_examples::{BoxError, Connection};

/// Writes `rows` generated rows.
pub(crate) async fn run_with_rows(connection: &Connection, rows: u64) -> Result<(), BoxError> {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("generated.csv");
    {
        let mut file = std::io::BufWriter::new(std::fs::File::create(&path)?);
        writeln!(file, "time,room,temp,hum,co")?;
        let start: u64 = 1_641_024_000;
        for i in 0..rows {
            let room = ["Kitchen", "Living Room", "Bedroom", "Office"][(i % 4) as usize];
            writeln!(
                file,
                "{},{room},{:.1},{:.1},{}",
                start + i,
                20.0 + (i % 50) as f64 / 10.0,
                35.0 + (i % 20) as f64 / 10.0,
                i % 10
            )?;
        }
        file.flush()?;
    }

    let client = Client::builder(connection.host())
        .database(connection.database())
        .token(connection.token())
        .build()?;

    let mut last = None;
    let report = client
        .write_file(&path)
        .measurement_name("generated")
        .tag_columns(["room"])
        .write_precision(Precision::Seconds)
        .progress(move |p: &FileProgress| {
            let percent = (100.0 * p.fraction().unwrap_or(0.0)).round() as usize;
            if last != Some(percent) {
                last = Some(percent);
                let filled = percent / 5;
                eprint!(
                    "\r[{}{}] {percent:>3}%",
                    "#".repeat(filled),
                    " ".repeat(20 - filled)
                );
            }
        })
        .await?;
    eprintln!();
    println!(
        "{} rows, {} lines, {} bytes, {} requests in {:?}",
        report.rows_read, report.lines_written, report.bytes, report.requests, report.elapsed
    );
    assert_eq!(report.rows_read, rows);
    assert_eq!(report.lines_written, rows);
    Ok(())
}

/// The example's body: half a million rows.
pub(crate) async fn run(connection: &Connection) -> Result<(), BoxError> {
    run_with_rows(connection, 500_000).await
}

fn main() {
    influxdb3_examples::main(|c| async move { run(&c).await })
}
