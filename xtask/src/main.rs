//! Project automation, run as `cargo xtask <command>`.
//!
//! - `ci`: the one gate (format, lints, tests, docs, examples, cargo-deny).
//! - `bench`: runs the benchmarks and prints the table of BENCHMARKS.md.
//! - `emulator [ARGS]`: runs the InfluxDB 3 emulator binary.
//! - `sample-data`: regenerates `examples/data/` from its single source.

use std::env;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};
use std::time::Instant;

mod bench;
mod deny;

fn main() -> ExitCode {
    let args: Vec<String> = env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("ci") => ci(),
        Some("bench") => bench::run_all(&args[1..]),
        Some("deny") => deny::check(),
        Some("emulator") => emulator(&args[1..]),
        Some("sample-data") => sample_data(),
        Some("-h" | "--help" | "help") | None => {
            print_help();
            Ok(())
        }
        Some(other) => Err(format!("unknown command `{other}`; run `cargo xtask help`")),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("xtask: {message}");
            ExitCode::FAILURE
        }
    }
}

fn print_help() {
    println!(
        "usage: cargo xtask <command>\n\n\
         commands:\n  \
         ci            fmt --check, clippy -D warnings, tests (unit, integration, doc), docs, cargo deny\n  \
         deny          cargo deny check (with the advisory snapshot when offline)\n  \
         bench         run the benchmarks and print the comparison table (--quick: short run; --report: print the last results)\n  \
         emulator ARGS run the InfluxDB 3 emulator (e.g. --bind 127.0.0.1:8181 --token T)\n  \
         sample-data   regenerate examples/data/ from its single source"
    );
}

/// The workspace root (the parent of this crate's directory).
pub(crate) fn workspace_root() -> PathBuf {
    // `cargo run` sets the variable for the run too; prefer it to the path compiled in, which
    // is stale when another checkout built this binary in a shared target directory.
    let manifest_dir = PathBuf::from(
        env::var_os("CARGO_MANIFEST_DIR").unwrap_or_else(|| env!("CARGO_MANIFEST_DIR").into()),
    );
    manifest_dir
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or(manifest_dir)
}

/// The cargo executable that runs this xtask.
pub(crate) fn cargo() -> Command {
    let mut command = Command::new(env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned()));
    command.current_dir(workspace_root());
    command
}

/// Runs `command`, failing with a message naming `what` on a non-zero exit.
pub(crate) fn run(what: &str, command: &mut Command) -> Result<(), String> {
    let status = command
        .status()
        .map_err(|e| format!("{what}: could not start: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("{what} failed ({status})"))
    }
}

fn ci() -> Result<(), String> {
    let started = Instant::now();
    let mut doc = cargo();
    doc.args([
        "doc",
        "--workspace",
        "--no-deps",
        "--document-private-items",
    ])
    .env("RUSTDOCFLAGS", "-D warnings");
    let steps: Vec<(&str, Command)> = vec![
        ("cargo fmt --check", {
            let mut c = cargo();
            c.args(["fmt", "--all", "--check"]);
            c
        }),
        ("cargo clippy -D warnings", {
            let mut c = cargo();
            c.args([
                "clippy",
                "--workspace",
                "--all-targets",
                "--all-features",
                "--",
                "-D",
                "warnings",
            ]);
            c
        }),
        (
            "cargo clippy -D warnings (influxdb3-lp without default features)",
            {
                // The line protocol crate is meant to be used alone, without Arrow.
                let mut c = cargo();
                c.args([
                    "clippy",
                    "--package",
                    "influxdb3-lp",
                    "--no-default-features",
                    "--",
                    "-D",
                    "warnings",
                ]);
                c
            },
        ),
        // `--tests` runs unit and integration tests (the examples run as tests in
        // `examples/tests/run_examples.rs`) without linking one large binary per example:
        // clippy has already checked the examples' `main`s.
        ("cargo test (unit, integration, examples)", {
            let mut c = cargo();
            c.args(["test", "--workspace", "--all-features", "--tests"]);
            c
        }),
        ("cargo test --doc", {
            let mut c = cargo();
            c.args(["test", "--workspace", "--all-features", "--doc"]);
            c
        }),
        ("cargo doc (warnings denied)", doc),
    ];
    report_free_disk();
    if env::var_os("INFLUX_HOST").is_none() {
        println!(
            "==> INFLUX_HOST is not set: the real-server half of tests/e2e.rs is skipped \
             (each skipped test says so in its captured output)"
        );
    }
    for (name, mut command) in steps {
        // A gate builds once: incremental caches would only fill the disk (gigabytes here,
        // with DataFusion linked into every test binary that starts an emulator).
        command.env("CARGO_INCREMENTAL", "0");
        step(name, || run(name, &mut command))?;
    }
    step("cargo deny check", deny::check)?;
    println!("==> ci passed in {:.1} s", started.elapsed().as_secs_f64());
    Ok(())
}

/// Prints how much disk is free where the build goes: a cold `cargo xtask ci` writes about
/// 4 GB to `target/debug`, and a full disk shows up as a linker crash that names nothing.
fn report_free_disk() {
    let target = env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace_root().join("target"));
    let probe = if target.exists() {
        target.clone()
    } else {
        workspace_root()
    };
    let Ok(output) = Command::new("df").arg("-Pk").arg(&probe).output() else {
        return;
    };
    let text = String::from_utf8_lossy(&output.stdout);
    // POSIX format: a header line, then `fs blocks used available capacity mount`.
    let available_kib = text
        .lines()
        .nth(1)
        .and_then(|line| line.split_whitespace().nth(3))
        .and_then(|n| n.parse::<u64>().ok());
    if let Some(kib) = available_kib {
        let gib = kib as f64 / (1024.0 * 1024.0);
        println!(
            "==> {:.1} GiB free for {} (a cold run needs about 4 GB)",
            gib,
            target.display()
        );
        if gib < 5.0 {
            println!("==> warning: the build may run out of disk space");
        }
    }
}

/// Runs one CI step, printing its name and how long it took.
fn step(name: &str, body: impl FnOnce() -> Result<(), String>) -> Result<(), String> {
    println!("==> {name}");
    let started = Instant::now();
    let result = body();
    let secs = started.elapsed().as_secs_f64();
    match &result {
        Ok(()) => println!("==> {name}: ok ({secs:.1} s)"),
        Err(_) => println!("==> {name}: FAILED ({secs:.1} s)"),
    }
    result
}

fn emulator(args: &[String]) -> Result<(), String> {
    run(
        "influxdb3-emulator",
        cargo()
            .args(["run", "--package", "influxdb3-emulator", "--"])
            .args(args),
    )
}

fn sample_data() -> Result<(), String> {
    let out = workspace_root().join("examples").join("data");
    run(
        "make_sample_data",
        cargo()
            .args([
                "run",
                "--package",
                "influxdb3-ingest",
                "--example",
                "make_sample_data",
                "--",
            ])
            .arg(&out),
    )
}
