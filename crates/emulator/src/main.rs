//! `influxdb3-emulator`: runs the InfluxDB 3 Core emulator until Ctrl-C.

use std::net::SocketAddr;
use std::process::ExitCode;
use std::time::Duration;

use influxdb3_emulator::Emulator;

const HELP: &str = "\
influxdb3-emulator: an in-memory emulator of InfluxDB 3 Core (HTTP API and Arrow Flight)

USAGE:
    influxdb3-emulator [OPTIONS]

OPTIONS:
    --bind <ADDR>          Address to listen on [default: 127.0.0.1:8181]
    --token <TOKEN>        Require this token (otherwise any or no token is accepted)
    --tls-cert <FILE>      PEM certificate chain; serve HTTPS and gRPC over TLS
    --tls-key <FILE>       PEM private key for --tls-cert
    --max-databases <N>    Database limit [default: 5]
    --wal-flush-interval <DURATION>
                           How often the simulated WAL is flushed: a write without
                           no_sync=true is answered at the next flush, and written data
                           becomes visible to queries at it; e.g. 100ms, 1s, 0s (flush
                           every write at once) [default: 1s, as the server]
    -h, --help             Print this help

Each request is logged (method, path, status, duration); set RUST_LOG to change the level.
";

/// The parsed command line.
struct Args {
    bind: SocketAddr,
    token: Option<String>,
    tls_cert: Option<String>,
    tls_key: Option<String>,
    max_databases: Option<usize>,
    wal_flush_interval: Duration,
}

/// A duration like the server's flags take: an integer and a unit (`ns`, `us`, `ms`, `s`,
/// `m`), e.g. `100ms`.
fn parse_duration(text: &str) -> Result<Duration, String> {
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .ok_or_else(|| format!("`{text}` needs a unit: ns, us, ms, s or m (e.g. 100ms)"))?;
    let (number, unit) = text.split_at(split);
    let n: u64 = number
        .parse()
        .map_err(|e| format!("`{text}`: not a number of {unit} ({e})"))?;
    match unit {
        "ns" => Ok(Duration::from_nanos(n)),
        "us" => Ok(Duration::from_micros(n)),
        "ms" => Ok(Duration::from_millis(n)),
        "s" => Ok(Duration::from_secs(n)),
        "m" => Ok(Duration::from_secs(n.saturating_mul(60))),
        other => Err(format!(
            "`{text}`: unknown unit `{other}` (ns, us, ms, s or m)"
        )),
    }
}

fn parse_args(mut args: impl Iterator<Item = String>) -> Result<Option<Args>, String> {
    let mut parsed = Args {
        bind: SocketAddr::from(([127, 0, 0, 1], 8181)),
        token: None,
        tls_cert: None,
        tls_key: None,
        max_databases: None,
        wal_flush_interval: Duration::from_secs(1),
    };
    while let Some(arg) = args.next() {
        let (name, inline) = match arg.split_once('=') {
            Some((n, v)) if n.starts_with("--") => (n.to_owned(), Some(v.to_owned())),
            _ => (arg.clone(), None),
        };
        if name == "-h" || name == "--help" {
            return Ok(None);
        }
        let mut value = || {
            inline
                .clone()
                .or_else(|| args.next())
                .ok_or_else(|| format!("{name} needs a value"))
        };
        match name.as_str() {
            "--bind" => {
                let v = value()?;
                parsed.bind = v
                    .parse()
                    .map_err(|e| format!("--bind {v}: not an address like 127.0.0.1:8181 ({e})"))?;
            }
            "--token" => parsed.token = Some(value()?),
            "--tls-cert" => parsed.tls_cert = Some(value()?),
            "--tls-key" => parsed.tls_key = Some(value()?),
            "--max-databases" => {
                let v = value()?;
                parsed.max_databases =
                    Some(v.parse().map_err(|e| format!("--max-databases {v}: {e}"))?);
            }
            "--wal-flush-interval" => {
                let v = value()?;
                parsed.wal_flush_interval =
                    parse_duration(&v).map_err(|e| format!("--wal-flush-interval {e}"))?;
            }
            other => return Err(format!("unknown argument `{other}` (see --help)")),
        }
    }
    Ok(Some(parsed))
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = match parse_args(std::env::args().skip(1)) {
        Ok(Some(args)) => args,
        Ok(None) => {
            print!("{HELP}");
            return ExitCode::SUCCESS;
        }
        Err(message) => {
            eprintln!("error: {message}");
            return ExitCode::from(2);
        }
    };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    tracing_subscriber::fmt().with_env_filter(filter).init();

    let mut builder = Emulator::builder()
        .bind(args.bind)
        .wal_flush_interval(args.wal_flush_interval);
    if let Some(token) = args.token {
        builder = builder.token(token);
    }
    if let Some(n) = args.max_databases {
        builder = builder.max_databases(n);
    }
    match (&args.tls_cert, &args.tls_key) {
        (Some(cert), Some(key)) => {
            let read = |path: &str| std::fs::read(path).map_err(|e| format!("reading {path}: {e}"));
            match (read(cert), read(key)) {
                (Ok(cert), Ok(key)) => builder = builder.tls(cert, key),
                (Err(e), _) | (_, Err(e)) => {
                    eprintln!("error: {e}");
                    return ExitCode::FAILURE;
                }
            }
        }
        (None, None) => {}
        _ => {
            eprintln!("error: --tls-cert and --tls-key go together");
            return ExitCode::from(2);
        }
    }
    let emulator = match builder.start().await {
        Ok(e) => e,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
    };
    tracing::info!(url = %emulator.url(), "InfluxDB 3 emulator listening; Ctrl-C to stop");
    if let Err(e) = tokio::signal::ctrl_c().await {
        eprintln!("error: waiting for Ctrl-C: {e}");
    }
    emulator.shutdown().await;
    ExitCode::SUCCESS
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Option<Args>, String> {
        parse_args(args.iter().map(|s| (*s).to_owned()))
    }

    #[test]
    fn parses_arguments() {
        let args = parse(&[
            "--bind",
            "0.0.0.0:9000",
            "--token=t",
            "--max-databases",
            "7",
        ])
        .unwrap()
        .unwrap();
        assert_eq!(args.bind, "0.0.0.0:9000".parse().unwrap());
        assert_eq!(args.token.as_deref(), Some("t"));
        assert_eq!(args.max_databases, Some(7));
        assert_eq!(args.wal_flush_interval, Duration::from_secs(1));
        let args = parse(&["--wal-flush-interval", "100ms"]).unwrap().unwrap();
        assert_eq!(args.wal_flush_interval, Duration::from_millis(100));
        assert_eq!(parse_duration("0s"), Ok(Duration::ZERO));
        assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
        assert!(parse_duration("100").is_err());
        assert!(parse_duration("1h").is_err());
        assert!(parse_duration("ms").is_err());
        assert!(parse(&["--help"]).unwrap().is_none());
        assert_eq!(parse(&["--token"]).err().unwrap(), "--token needs a value");
        assert!(
            parse(&["--bind", "nope"])
                .err()
                .unwrap()
                .starts_with("--bind nope")
        );
        assert!(
            parse(&["--what"])
                .err()
                .unwrap()
                .starts_with("unknown argument")
        );
    }
}
