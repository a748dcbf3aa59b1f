//! `cargo xtask bench`: runs every benchmark, then prints one table with each target's ratio
//! measured in the same run (these machines are shared and noisy, so only ratios between
//! neighbours in one run are meaningful).

use std::fs;
use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::{cargo, run, workspace_root};

/// A benchmark binary: the package, the bench target, and the criterion group it writes.
struct Suite {
    title: &'static str,
    package: &'static str,
    bench: &'static str,
    /// Set for the peer benchmark, which is a workspace of its own.
    manifest: Option<&'static str>,
}

const SUITES: &[Suite] = &[
    Suite {
        title: "line protocol encoding",
        package: "influxdb3-lp",
        bench: "encode",
        manifest: None,
    },
    Suite {
        title: "file ingest",
        package: "influxdb3-ingest",
        bench: "ingest",
        manifest: None,
    },
    Suite {
        title: "batching writer",
        package: "influxdb3-write",
        bench: "throughput",
        manifest: None,
    },
    Suite {
        title: "batching writer against a 1 s WAL",
        package: "influxdb3-write",
        bench: "wal",
        manifest: None,
    },
    Suite {
        title: "facade batching write",
        package: "influxdb-client-3",
        bench: "batching",
        manifest: None,
    },
    Suite {
        title: "query streaming",
        package: "influxdb3-query",
        bench: "stream",
        manifest: None,
    },
    Suite {
        title: "emulator write endpoint",
        package: "influxdb3-emulator",
        bench: "write",
        manifest: None,
    },
    Suite {
        title: "peer: influxdb3-client 0.3",
        package: "influxdb3-peer-bench",
        bench: "peer",
        manifest: Some("benches/peer/Cargo.toml"),
    },
];

/// A ratio the issues set a target for: `numerator / denominator` of the mean time per element
/// when both benches declare element throughput (lines, rows), else of the time per iteration.
struct Ratio {
    what: &'static str,
    group: &'static str,
    numerator: &'static str,
    denominator: &'static str,
    /// The target, phrased for the table.
    target: &'static str,
    /// True when the ratio meets the target; `None` for a ratio shown for context only.
    meets: Option<fn(f64) -> bool>,
}

const RATIOS: &[Ratio] = &[
    Ratio {
        what: "home point encode / memcpy of its bytes",
        group: "lp_encode",
        numerator: "point_home",
        denominator: "point_home_memcpy",
        target: "<= 6x",
        meets: Some(|r| r <= 6.0),
    },
    Ratio {
        what: "escaped point encode / memcpy of its bytes",
        group: "lp_encode",
        numerator: "point_escaped",
        denominator: "point_escaped_memcpy",
        target: "<= 6x",
        meets: Some(|r| r <= 6.0),
    },
    Ratio {
        what: "1M home rows: a Point per row, built and encoded / RecordBatch",
        group: "lp_encode",
        numerator: "batch_home_1m_via_points",
        denominator: "batch_home_1m",
        target: ">= 3x",
        meets: Some(|r| r >= 3.0),
    },
    Ratio {
        what: "10k x 25 floats: a Point per row, built and encoded / RecordBatch",
        group: "lp_encode",
        numerator: "batch_wide_10k_via_points",
        denominator: "batch_wide_10k",
        target: ">= 3x",
        meets: Some(|r| r >= 3.0),
    },
    Ratio {
        what: "1M home rows: Points built beforehand, encoder alone / RecordBatch",
        group: "lp_encode",
        numerator: "batch_home_1m_as_points",
        denominator: "batch_home_1m",
        target: "none (context)",
        meets: None,
    },
    Ratio {
        what: "10k x 25 floats: Points built beforehand, encoder alone / RecordBatch",
        group: "lp_encode",
        numerator: "batch_wide_10k_as_points",
        denominator: "batch_wide_10k",
        target: "none (context)",
        meets: None,
    },
    Ratio {
        what: "home point: influxdb3-client / ours",
        group: "peer",
        numerator: "point_home_influxdb3_client",
        denominator: "point_home_ours",
        target: ">= 3x",
        meets: Some(|r| r >= 3.0),
    },
    Ratio {
        what: "escaped point: influxdb3-client / ours",
        group: "peer",
        numerator: "point_escaped_influxdb3_client",
        denominator: "point_escaped_ours",
        target: ">= 3x",
        meets: Some(|r| r >= 3.0),
    },
    Ratio {
        what: "parquet 1M rows -> LP / in-memory batch -> LP",
        group: "ingest",
        numerator: "parquet_1m_to_lp",
        denominator: "recordbatch_1m_to_lp",
        target: "close to 1x",
        meets: Some(|r| r <= 1.5),
    },
    Ratio {
        what: "per line: emulator accepting over HTTP / writer client alone",
        group: "",
        numerator: "emulator_write/http_100k_lines",
        denominator: "writer/discard",
        target: "> 1x (client cheaper)",
        meets: Some(|r| r > 1.0),
    },
    Ratio {
        what: "1 s WAL, no_sync, batch_size 10k, 1 in flight: batching / sync 10k-line writes (lines/s)",
        group: "writer_wal",
        numerator: "backpressure_sync_10k_no_sync",
        denominator: "backpressure_batching_no_sync",
        target: ">= 0.8",
        meets: Some(|r| r >= 0.8),
    },
    Ratio {
        what: "no_sync, 4 in flight: Writer / bare HTTP client, same bodies (lines/s)",
        group: "writer_wal",
        numerator: "no_sync_in_flight=4_bare_http",
        denominator: "no_sync_in_flight=4_writer",
        target: ">= 0.9",
        meets: Some(|r| r >= 0.9),
    },
    Ratio {
        what: "batching: Client::write / Writer::write of the same points (lines/s)",
        group: "facade",
        numerator: "writer_write",
        denominator: "client_write",
        target: ">= 0.9 (within 10%)",
        meets: Some(|r| r >= 0.9),
    },
    Ratio {
        what: "stream rows: bare FlightClient / ours (time)",
        group: "query_stream",
        numerator: "bare_flight_client",
        denominator: "ours",
        target: ">= 0.95",
        meets: Some(|r| r >= 0.95),
    },
];

/// A rate an issue sets an absolute target for (lines/s of one benchmark).
struct Rate {
    what: &'static str,
    group: &'static str,
    id: &'static str,
    target: &'static str,
    min_per_sec: f64,
}

const RATES: &[Rate] = &[Rate {
    what: "defaults, fast producer, server answering at a 1 s WAL flush",
    group: "writer_wal",
    id: "defaults",
    target: ">= 100,000 lines/s",
    min_per_sec: 100_000.0,
}];

pub(crate) fn run_all(args: &[String]) -> Result<(), String> {
    if args.iter().any(|a| a == "--report") {
        print_table();
        return Ok(());
    }
    let quick = args.iter().any(|a| a == "--quick");
    let only: Vec<&str> = args
        .iter()
        .filter(|a| !a.starts_with("--"))
        .map(String::as_str)
        .collect();
    let mut failed = Vec::new();
    for suite in SUITES {
        if !only.is_empty() && !only.contains(&suite.bench) {
            continue;
        }
        println!(
            "==> bench: {} ({} / {})",
            suite.title, suite.package, suite.bench
        );
        let mut command = cargo();
        command.args(["bench", "--bench", suite.bench]);
        match suite.manifest {
            Some(manifest) => {
                command
                    .arg("--manifest-path")
                    .arg(workspace_root().join(manifest));
                command.env("CARGO_TARGET_DIR", peer_target_dir());
            }
            None => {
                command.args(["--package", suite.package]);
            }
        }
        command.arg("--");
        if quick {
            command.args(["--warm-up-time", "1", "--measurement-time", "3"]);
        }
        if let Err(e) = run(suite.title, &mut command) {
            eprintln!("    {e}");
            failed.push(suite.title);
        }
    }
    print_table();
    if failed.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "benchmarks that did not run: {}",
            failed.join(", ")
        ))
    }
}

fn peer_target_dir() -> PathBuf {
    workspace_root().join("target").join("peer")
}

fn criterion_dirs() -> [PathBuf; 2] {
    [
        workspace_root().join("target").join("criterion"),
        peer_target_dir().join("criterion"),
    ]
}

/// One measured benchmark: mean time per iteration and the declared throughput.
struct Measurement {
    mean_ns: f64,
    elements: Option<f64>,
    bytes: Option<f64>,
}

/// Reads `<criterion dir>/<group>/<id>`; `id` may itself be `group/id` when `group` is empty.
fn measurement(group: &str, id: &str) -> Option<Measurement> {
    criterion_dirs()
        .iter()
        .find_map(|dir| read_measurement(&dir.join(group).join(id)))
}

fn read_measurement(dir: &Path) -> Option<Measurement> {
    let estimates: Value =
        serde_json::from_str(&fs::read_to_string(dir.join("new").join("estimates.json")).ok()?)
            .ok()?;
    let mean_ns = estimates.get("mean")?.get("point_estimate")?.as_f64()?;
    let benchmark: Option<Value> = fs::read_to_string(dir.join("new").join("benchmark.json"))
        .ok()
        .and_then(|text| serde_json::from_str(&text).ok());
    let throughput = benchmark.as_ref().and_then(|b| b.get("throughput"));
    let elements = throughput
        .and_then(|t| t.get("Elements"))
        .and_then(Value::as_f64);
    let bytes = throughput
        .and_then(|t| t.get("Bytes").or_else(|| t.get("BytesDecimal")))
        .and_then(Value::as_f64);
    Some(Measurement {
        mean_ns,
        elements,
        bytes,
    })
}

fn print_table() {
    println!();
    println!("| group | benchmark | time / iter | elements/s | bytes/s |");
    println!("|---|---|---:|---:|---:|");
    for dir in criterion_dirs() {
        let Ok(groups) = fs::read_dir(&dir) else {
            continue;
        };
        let mut groups: Vec<_> = groups.flatten().map(|e| e.path()).collect();
        groups.sort();
        let peer_dir = dir == peer_target_dir().join("criterion");
        // The peer target dir holds the peer group; anything else there is stale.
        for group in groups
            .iter()
            .filter(|p| p.is_dir() && (!peer_dir || file_name(p) == "peer"))
        {
            let Ok(ids) = fs::read_dir(group) else {
                continue;
            };
            let mut ids: Vec<_> = ids.flatten().map(|e| e.path()).collect();
            ids.sort();
            for id in ids {
                let Some(mut m) = read_measurement(&id) else {
                    continue;
                };
                // An encoder bench produces the bytes its `_memcpy` baseline copies.
                if m.bytes.is_none() {
                    let baseline = group.join(format!("{}_memcpy", file_name(&id)));
                    m.bytes = read_measurement(&baseline).and_then(|b| b.bytes);
                }
                let secs = m.mean_ns / 1e9;
                println!(
                    "| {} | {} | {} | {} | {} |",
                    file_name(group),
                    file_name(&id),
                    human_time(m.mean_ns),
                    m.elements.map_or("".into(), |n| human_rate(n / secs, "/s")),
                    m.bytes.map_or("".into(), |n| human_rate(n / secs, "B/s")),
                );
            }
        }
    }
    println!();
    println!("| ratio (same run) | value | target | met |");
    println!("|---|---:|---|---|");
    for ratio in RATIOS {
        let value = measurement(ratio.group, ratio.numerator)
            .zip(measurement(ratio.group, ratio.denominator))
            .map(|(n, d)| match (n.elements, d.elements) {
                (Some(ne), Some(de)) => (n.mean_ns / ne) / (d.mean_ns / de),
                _ => n.mean_ns / d.mean_ns,
            });
        match value {
            Some(v) => println!(
                "| {} | {:.2}x | {} | {} |",
                ratio.what,
                v,
                ratio.target,
                match ratio.meets {
                    Some(meets) if meets(v) => "yes",
                    Some(_) => "NO",
                    None => "-",
                }
            ),
            None => println!("| {} | not measured | {} | |", ratio.what, ratio.target),
        }
    }
    println!();
    println!("| rate | value | target | met |");
    println!("|---|---:|---|---|");
    for rate in RATES {
        match measurement(rate.group, rate.id).and_then(|m| Some(m.elements? / (m.mean_ns / 1e9))) {
            Some(per_sec) => println!(
                "| {} | {} | {} | {} |",
                rate.what,
                human_rate(per_sec, "/s"),
                rate.target,
                if per_sec >= rate.min_per_sec {
                    "yes"
                } else {
                    "NO"
                }
            ),
            None => println!("| {} | not measured | {} | |", rate.what, rate.target),
        }
    }
}

fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

fn human_time(ns: f64) -> String {
    if ns >= 1e9 {
        format!("{:.2} s", ns / 1e9)
    } else if ns >= 1e6 {
        format!("{:.2} ms", ns / 1e6)
    } else if ns >= 1e3 {
        format!("{:.2} µs", ns / 1e3)
    } else {
        format!("{ns:.0} ns")
    }
}

fn human_rate(per_sec: f64, unit: &str) -> String {
    if per_sec >= 1e9 {
        format!("{:.2} G{unit}", per_sec / 1e9)
    } else if per_sec >= 1e6 {
        format!("{:.2} M{unit}", per_sec / 1e6)
    } else if per_sec >= 1e3 {
        format!("{:.2} k{unit}", per_sec / 1e3)
    } else {
        format!("{per_sec:.0} {unit}")
    }
}
