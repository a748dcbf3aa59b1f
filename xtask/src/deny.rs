//! `cargo deny check`: licenses, bans, sources and advisories.
//!
//! cargo-deny is installed with `cargo install --locked` when it is missing. The advisory
//! database is fetched from the network when that works; when it cannot be reached (CI machines
//! reach crates.io only), the RustSec snapshot in `../shared/advisory-db` is copied under
//! `target/`, made into a git repository where cargo-deny keeps its databases (it only reads
//! them from git), and used with `--offline` through a generated copy of `deny.toml` that sets
//! `db-path`.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::{cargo, run, workspace_root};

/// The cargo-deny release CI installs when none is on the PATH.
const CARGO_DENY_VERSION: &str = "0.20.2";

/// How long a network fetch of the advisory database may take before the snapshot is used.
const FETCH_TIME_LIMIT: Duration = Duration::from_secs(90);

pub(crate) fn check() -> Result<(), String> {
    ensure_cargo_deny()?;
    let root = workspace_root();
    if fetch_from_network(&root) {
        println!("    advisories: using the network RustSec database");
        return run("cargo deny check", cargo().args(["deny", "check"]));
    }
    // With `--offline`, cargo-deny's `cargo metadata` needs the sources of every package of
    // every target platform (windows-sys, android_system_properties, ...), which a build on
    // this machine never downloads: fetch them from crates.io first.
    run("cargo fetch", cargo().current_dir(&root).arg("fetch"))?;
    let config = offline_config(&root)?;
    println!(
        "    advisories: network database unreachable; using the snapshot via {}",
        config.display()
    );
    run(
        "cargo deny check",
        cargo()
            .args(["deny", "--offline", "--config"])
            .arg(&config)
            .args(["check"]),
    )
}

fn ensure_cargo_deny() -> Result<(), String> {
    let installed = cargo()
        .args(["deny", "--version"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .map(|s| s.success())
        .unwrap_or(false);
    if installed {
        return Ok(());
    }
    println!(
        "    cargo-deny not found: installing {CARGO_DENY_VERSION} with cargo install --locked"
    );
    run(
        "cargo install cargo-deny",
        cargo().args([
            "install",
            "--locked",
            "cargo-deny",
            "--version",
            CARGO_DENY_VERSION,
        ]),
    )
}

/// Tries `cargo deny fetch db` within [`FETCH_TIME_LIMIT`]; true when the database was fetched.
fn fetch_from_network(root: &Path) -> bool {
    if std::env::var_os("XTASK_DENY_OFFLINE").is_some() {
        return false;
    }
    let child = cargo()
        .current_dir(root)
        .args(["deny", "fetch", "db"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn();
    let Ok(mut child) = child else {
        return false;
    };
    let started = Instant::now();
    loop {
        match child.try_wait() {
            Ok(Some(status)) => return status.success(),
            Ok(None) if started.elapsed() < FETCH_TIME_LIMIT => {
                std::thread::sleep(Duration::from_millis(200));
            }
            _ => {
                let _ = child.kill();
                let _ = child.wait();
                return false;
            }
        }
    }
}

/// Prepares the local advisory database and a config that uses it; returns the config's path.
///
/// cargo-deny keeps each database in `<db-path>/<name>-<hash of its URL>` and, with `--offline`,
/// opens it from there without fetching. The directory name is learnt from cargo-deny itself (its
/// error names the directory it looked for), so this keeps working across cargo-deny releases.
fn offline_config(root: &Path) -> Result<PathBuf, String> {
    let snapshot = root.join("..").join("shared").join("advisory-db");
    if !snapshot.is_dir() {
        return Err(format!(
            "the advisory database is unreachable and there is no snapshot at {}",
            snapshot.display()
        ));
    }
    let work = root.join("target").join("advisory-db-offline");
    let db_path = work.join("dbs");
    // Start from a fresh copy each time: the snapshot may have been updated.
    if work.exists() {
        fs::remove_dir_all(&work).map_err(|e| format!("removing {}: {e}", work.display()))?;
    }
    fs::create_dir_all(&db_path).map_err(|e| format!("creating {}: {e}", db_path.display()))?;

    let original = fs::read_to_string(root.join("deny.toml"))
        .map_err(|e| format!("reading deny.toml: {e}"))?;
    let mut config = String::with_capacity(original.len() + 128);
    let mut placed = false;
    for line in original.lines() {
        config.push_str(line);
        config.push('\n');
        if line.trim_start().starts_with("db-urls") {
            config.push_str(&format!("db-path = \"{}\"\n", db_path.display()));
            placed = true;
        }
    }
    if !placed {
        return Err("deny.toml has no `db-urls` line in [advisories]".into());
    }
    let config_path = work.join("deny-offline.toml");
    fs::write(&config_path, config)
        .map_err(|e| format!("writing {}: {e}", config_path.display()))?;

    // Ask cargo-deny where it expects the database.
    let probe = cargo()
        .args(["deny", "--offline", "--config"])
        .arg(&config_path)
        .args(["check", "advisories"])
        .output()
        .map_err(|e| format!("running cargo deny: {e}"))?;
    let stderr = String::from_utf8_lossy(&probe.stderr);
    let prefix = db_path.display().to_string();
    let Some(expected) = stderr
        .split(['\'', '"', ' ', '\n'])
        .find(|word| word.starts_with(&prefix) && word.len() > prefix.len() + 1)
    else {
        return Err(format!(
            "could not learn where cargo-deny expects its advisory database; it said:\n{stderr}"
        ));
    };
    let repo = PathBuf::from(expected);
    copy_dir(&snapshot, &repo)?;
    let _ = fs::remove_dir_all(repo.join(".git"));
    let git = |args: &[&str]| -> Result<(), String> {
        run(
            &format!("git {}", args.join(" ")),
            Command::new("git")
                .current_dir(&repo)
                .args(args)
                .stdout(Stdio::null())
                .env("GIT_AUTHOR_NAME", "xtask")
                .env("GIT_AUTHOR_EMAIL", "xtask@localhost")
                .env("GIT_COMMITTER_NAME", "xtask")
                .env("GIT_COMMITTER_EMAIL", "xtask@localhost"),
        )
    };
    git(&["init", "--quiet", "--initial-branch=main"])?;
    git(&["add", "--all"])?;
    git(&[
        "commit",
        "--quiet",
        "--no-gpg-sign",
        "-m",
        "RustSec advisory-db snapshot",
    ])?;
    Ok(config_path)
}

fn copy_dir(from: &Path, to: &Path) -> Result<(), String> {
    fs::create_dir_all(to).map_err(|e| format!("creating {}: {e}", to.display()))?;
    let entries = fs::read_dir(from).map_err(|e| format!("reading {}: {e}", from.display()))?;
    for entry in entries {
        let entry = entry.map_err(|e| format!("reading {}: {e}", from.display()))?;
        let kind = entry
            .file_type()
            .map_err(|e| format!("reading {}: {e}", entry.path().display()))?;
        let target = to.join(entry.file_name());
        if kind.is_dir() {
            copy_dir(&entry.path(), &target)?;
        } else if kind.is_file() {
            fs::copy(entry.path(), &target)
                .map_err(|e| format!("copying {}: {e}", entry.path().display()))?;
        }
    }
    Ok(())
}
