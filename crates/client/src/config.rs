//! Settings from the environment (`INFLUX_*`) and from a connection string
//! (PROTOCOL.md §7.3–7.4), parsed with errors that name the variable or parameter.

use std::time::Duration;

use influxdb3_lp::Precision;
use influxdb3_write::AuthScheme;

use crate::Error;

/// Where a value came from, for error messages.
#[derive(Clone, Copy)]
pub(crate) enum Origin {
    /// An environment variable.
    Env,
    /// A query parameter of a connection string.
    ConnectionString,
}

impl Origin {
    fn describe(self, name: &str) -> String {
        match self {
            Origin::Env => format!("environment variable {name}"),
            Origin::ConnectionString => format!("connection string parameter `{name}`"),
        }
    }
}

/// The settings both sources can carry; `None` means "not given".
#[derive(Default)]
pub(crate) struct Settings {
    pub(crate) host: Option<String>,
    pub(crate) token: Option<String>,
    pub(crate) auth_scheme: Option<AuthScheme>,
    pub(crate) org: Option<String>,
    pub(crate) database: Option<String>,
    pub(crate) precision: Option<Precision>,
    pub(crate) gzip_threshold: Option<usize>,
    pub(crate) no_sync: Option<bool>,
    pub(crate) accept_partial: Option<bool>,
    pub(crate) use_v2_api: Option<bool>,
    pub(crate) write_timeout: Option<Duration>,
    pub(crate) query_timeout: Option<Duration>,
    pub(crate) disable_grpc_compression: Option<bool>,
}

/// Reads the `INFLUX_*` variables through `lookup` (the process environment in production).
pub(crate) fn from_env(lookup: impl Fn(&str) -> Option<String>) -> Result<Settings, Error> {
    let get = |name: &str| lookup(name).filter(|v| !v.is_empty());
    let origin = Origin::Env;
    let host = get("INFLUX_HOST").ok_or_else(|| {
        Error::config("environment variable INFLUX_HOST is not set: set it to the server URL, e.g. http://localhost:8181")
    })?;
    Ok(Settings {
        host: Some(host),
        token: get("INFLUX_TOKEN"),
        auth_scheme: get("INFLUX_AUTH_SCHEME")
            .map(|v| parse_auth_scheme(origin, "INFLUX_AUTH_SCHEME", &v))
            .transpose()?,
        org: get("INFLUX_ORG"),
        database: get("INFLUX_DATABASE"),
        precision: get("INFLUX_PRECISION")
            .map(|v| parse_precision(origin, "INFLUX_PRECISION", &v))
            .transpose()?,
        gzip_threshold: get("INFLUX_GZIP_THRESHOLD")
            .map(|v| parse_usize(origin, "INFLUX_GZIP_THRESHOLD", &v))
            .transpose()?,
        no_sync: get("INFLUX_WRITE_NO_SYNC")
            .map(|v| parse_bool(origin, "INFLUX_WRITE_NO_SYNC", &v))
            .transpose()?,
        accept_partial: get("INFLUX_WRITE_ACCEPT_PARTIAL")
            .map(|v| parse_bool(origin, "INFLUX_WRITE_ACCEPT_PARTIAL", &v))
            .transpose()?,
        use_v2_api: get("INFLUX_WRITE_USE_V2_API")
            .map(|v| parse_bool(origin, "INFLUX_WRITE_USE_V2_API", &v))
            .transpose()?,
        write_timeout: get("INFLUX_WRITE_TIMEOUT")
            .map(|v| parse_duration(origin, "INFLUX_WRITE_TIMEOUT", &v))
            .transpose()?,
        query_timeout: get("INFLUX_QUERY_TIMEOUT")
            .map(|v| parse_duration(origin, "INFLUX_QUERY_TIMEOUT", &v))
            .transpose()?,
        disable_grpc_compression: get("INFLUX_DISABLE_GRPC_COMPRESSION")
            .map(|v| parse_bool(origin, "INFLUX_DISABLE_GRPC_COMPRESSION", &v))
            .transpose()?,
    })
}

/// Parses `[http[s]://]host[:port][/path]?token=..&authScheme=..&org=..&database=..&precision=..
/// &gzipThreshold=..&writeNoSync=..&writeAcceptPartial=..&writeUseV2Api=..&writeTimeout=..
/// &queryTimeout=..&disableGrpcCompression=..`; other keys are ignored with a warning.
pub(crate) fn from_connection_string(text: &str) -> Result<Settings, Error> {
    let origin = Origin::ConnectionString;
    let mut url = influxdb3_tls::parse_host_url(text)
        .map_err(|e| Error::config(format!("invalid connection string: {e}")))?;
    let mut settings = Settings::default();
    let pairs: Vec<(String, String)> = url
        .query_pairs()
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    for (key, value) in pairs {
        match key.as_str() {
            "token" => settings.token = Some(value).filter(|v| !v.is_empty()),
            "authScheme" => settings.auth_scheme = Some(parse_auth_scheme(origin, &key, &value)?),
            "org" => settings.org = Some(value),
            "database" => settings.database = Some(value).filter(|v| !v.is_empty()),
            "precision" => settings.precision = Some(parse_precision(origin, &key, &value)?),
            "gzipThreshold" => settings.gzip_threshold = Some(parse_usize(origin, &key, &value)?),
            "writeNoSync" => settings.no_sync = Some(parse_bool(origin, &key, &value)?),
            "writeAcceptPartial" => {
                settings.accept_partial = Some(parse_bool(origin, &key, &value)?)
            }
            "writeUseV2Api" => settings.use_v2_api = Some(parse_bool(origin, &key, &value)?),
            "disableGrpcCompression" => {
                settings.disable_grpc_compression = Some(parse_bool(origin, &key, &value)?)
            }
            "writeTimeout" => settings.write_timeout = Some(parse_duration(origin, &key, &value)?),
            "queryTimeout" => settings.query_timeout = Some(parse_duration(origin, &key, &value)?),
            _ => {
                // Another client's key (or a typo): ignored, so that one connection string
                // serves several clients, but said so. The value may be a secret: not logged.
                tracing::warn!(
                    parameter = %key,
                    "connection string parameter `{key}` is not known and is ignored; known: \
                     token, authScheme, org, database, precision, gzipThreshold, writeNoSync, \
                     writeAcceptPartial, writeUseV2Api, writeTimeout, queryTimeout, \
                     disableGrpcCompression"
                );
            }
        }
    }
    url.set_query(None);
    url.set_fragment(None);
    let mut host = url.to_string();
    if host.ends_with('/') && url.path() == "/" {
        host.pop();
    }
    settings.host = Some(host);
    Ok(settings)
}

fn invalid(origin: Origin, name: &str, value: &str, expected: &str) -> Error {
    Error::config(format!(
        "{} has the invalid value {value:?}: expected {expected}",
        origin.describe(name)
    ))
}

fn parse_auth_scheme(origin: Origin, name: &str, value: &str) -> Result<AuthScheme, Error> {
    if value.eq_ignore_ascii_case("token") {
        Ok(AuthScheme::Token)
    } else if value.eq_ignore_ascii_case("bearer") {
        Ok(AuthScheme::Bearer)
    } else {
        Err(invalid(origin, name, value, "`Token` or `Bearer`"))
    }
}

fn parse_precision(origin: Origin, name: &str, value: &str) -> Result<Precision, Error> {
    value.parse().map_err(|_| {
        invalid(
            origin,
            name,
            value,
            "one of ns, nanosecond, us, microsecond, ms, millisecond, s, second",
        )
    })
}

fn parse_usize(origin: Origin, name: &str, value: &str) -> Result<usize, Error> {
    value
        .trim()
        .parse()
        .map_err(|_| invalid(origin, name, value, "a non-negative integer (bytes)"))
}

/// A boolean as the official clients write it, case-insensitively: `true`, `t`, `yes`, `y`,
/// `1` (Python's and Go's true values) and `false`, `f`, `no`, `n`, `0`. Anything else is an
/// error naming the setting, rather than a silent `false`.
pub(crate) fn parse_bool(origin: Origin, name: &str, value: &str) -> Result<bool, Error> {
    match value.trim().to_ascii_lowercase().as_str() {
        "true" | "t" | "yes" | "y" | "1" => Ok(true),
        "false" | "f" | "no" | "n" | "0" => Ok(false),
        _ => Err(invalid(
            origin,
            name,
            value,
            "true or false (or yes, no, y, n, t, f, 1, 0)",
        )),
    }
}

/// A timeout: a whole number of milliseconds, as the Python client reads
/// `INFLUX_WRITE_TIMEOUT=10000`, or a Go duration with units (`10s`, `500ms`, `1m30s`), as
/// the Go client reads it.
fn parse_duration(origin: Origin, name: &str, value: &str) -> Result<Duration, Error> {
    let text = value.trim();
    let millis = (!text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()))
        .then(|| text.parse::<u64>().ok().map(Duration::from_millis));
    let parsed = match millis {
        Some(ms) => ms,
        None => parse_go_duration(text),
    };
    parsed.ok_or_else(|| {
        invalid(
            origin,
            name,
            value,
            "milliseconds (10000) or a duration such as 10s, 500ms, 1m or 1m30s \
             (units ns, us, µs, ms, s, m, h)",
        )
    })
}

/// A Go duration string without a sign: one or more `<number><unit>` parts, e.g. `1m30s`,
/// `1.5s`, `500ms`. `0` alone is zero. Negative durations are rejected.
pub(crate) fn parse_go_duration(text: &str) -> Option<Duration> {
    let text = text.trim();
    if text == "0" {
        return Some(Duration::ZERO);
    }
    let mut rest = text.strip_prefix('+').unwrap_or(text);
    if rest.is_empty() {
        return None;
    }
    let mut total = Duration::ZERO;
    while !rest.is_empty() {
        let number_len = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        let (number, tail) = rest.split_at(number_len);
        if number.is_empty() || number == "." {
            return None;
        }
        let unit_len = tail
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(tail.len());
        let (unit, tail) = tail.split_at(unit_len);
        let nanos_per_unit: f64 = match unit {
            "ns" => 1.0,
            "us" | "µs" | "μs" => 1e3,
            "ms" => 1e6,
            "s" => 1e9,
            "m" => 60e9,
            "h" => 3600e9,
            _ => return None,
        };
        let value: f64 = number.parse().ok()?;
        let nanos = value * nanos_per_unit;
        if !nanos.is_finite() || nanos > u64::MAX as f64 {
            return None;
        }
        total = total.checked_add(Duration::from_nanos(nanos.round() as u64))?;
        rest = tail;
    }
    Some(total)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn env(vars: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        move |name| map.get(name).cloned()
    }

    #[test]
    fn durations_parse_like_go() {
        assert_eq!(parse_go_duration("10s"), Some(Duration::from_secs(10)));
        assert_eq!(parse_go_duration("500ms"), Some(Duration::from_millis(500)));
        assert_eq!(parse_go_duration("1m"), Some(Duration::from_secs(60)));
        assert_eq!(parse_go_duration("1m30s"), Some(Duration::from_secs(90)));
        assert_eq!(parse_go_duration("1.5s"), Some(Duration::from_millis(1500)));
        assert_eq!(parse_go_duration("2h"), Some(Duration::from_secs(7200)));
        assert_eq!(parse_go_duration("100us"), Some(Duration::from_micros(100)));
        assert_eq!(parse_go_duration("100µs"), Some(Duration::from_micros(100)));
        assert_eq!(parse_go_duration("7ns"), Some(Duration::from_nanos(7)));
        assert_eq!(parse_go_duration("0"), Some(Duration::ZERO));
        for bad in ["", "10", "s", "10x", "-1s", "1.2.3s", "ms10"] {
            assert_eq!(parse_go_duration(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn env_reads_every_variable() -> Result<(), Error> {
        let s = from_env(env(&[
            ("INFLUX_HOST", "https://example.com:8181"),
            ("INFLUX_TOKEN", "secret"),
            ("INFLUX_AUTH_SCHEME", "Bearer"),
            ("INFLUX_ORG", "o"),
            ("INFLUX_DATABASE", "db"),
            ("INFLUX_PRECISION", "millisecond"),
            ("INFLUX_GZIP_THRESHOLD", "0"),
            ("INFLUX_WRITE_NO_SYNC", "T"),
            ("INFLUX_WRITE_ACCEPT_PARTIAL", "0"),
            ("INFLUX_WRITE_USE_V2_API", "False"),
            ("INFLUX_WRITE_TIMEOUT", "500ms"),
            ("INFLUX_QUERY_TIMEOUT", "1m"),
            ("INFLUX_DISABLE_GRPC_COMPRESSION", "true"),
        ]))?;
        assert_eq!(s.host.as_deref(), Some("https://example.com:8181"));
        assert_eq!(s.token.as_deref(), Some("secret"));
        assert_eq!(s.auth_scheme, Some(AuthScheme::Bearer));
        assert_eq!(s.org.as_deref(), Some("o"));
        assert_eq!(s.database.as_deref(), Some("db"));
        assert_eq!(s.precision, Some(Precision::Milliseconds));
        assert_eq!(s.gzip_threshold, Some(0));
        assert_eq!(s.no_sync, Some(true));
        assert_eq!(s.accept_partial, Some(false));
        assert_eq!(s.use_v2_api, Some(false));
        assert_eq!(s.write_timeout, Some(Duration::from_millis(500)));
        assert_eq!(s.query_timeout, Some(Duration::from_secs(60)));
        assert_eq!(s.disable_grpc_compression, Some(true));
        Ok(())
    }

    #[test]
    fn other_clients_env_forms_are_accepted() -> Result<(), Error> {
        // Python's milliseconds and booleans.
        let s = from_env(env(&[
            ("INFLUX_HOST", "localhost:8181"),
            ("INFLUX_WRITE_TIMEOUT", "10000"),
            ("INFLUX_QUERY_TIMEOUT", " 250 "),
            ("INFLUX_WRITE_NO_SYNC", "yes"),
            ("INFLUX_WRITE_ACCEPT_PARTIAL", "N"),
            ("INFLUX_WRITE_USE_V2_API", "y"),
            ("INFLUX_DISABLE_GRPC_COMPRESSION", "1"),
        ]))?;
        assert_eq!(s.write_timeout, Some(Duration::from_secs(10)));
        assert_eq!(s.query_timeout, Some(Duration::from_millis(250)));
        assert_eq!(
            (s.no_sync, s.accept_partial, s.use_v2_api),
            (Some(true), Some(false), Some(true))
        );
        assert_eq!(s.disable_grpc_compression, Some(true));
        // Go's durations and booleans.
        let s = from_env(env(&[
            ("INFLUX_HOST", "http://h"),
            ("INFLUX_WRITE_TIMEOUT", "1m30s"),
            ("INFLUX_WRITE_NO_SYNC", "F"),
            ("INFLUX_DISABLE_GRPC_COMPRESSION", "TRUE"),
        ]))?;
        assert_eq!(s.write_timeout, Some(Duration::from_secs(90)));
        assert_eq!(s.no_sync, Some(false));
        assert_eq!(s.disable_grpc_compression, Some(true));
        // The connection string takes the same forms.
        let s = from_connection_string(
            "http://h?writeTimeout=5000&queryTimeout=2s&disableGrpcCompression=yes&writeNoSync=y",
        )?;
        assert_eq!(s.write_timeout, Some(Duration::from_secs(5)));
        assert_eq!(s.query_timeout, Some(Duration::from_secs(2)));
        assert_eq!(s.disable_grpc_compression, Some(true));
        assert_eq!(s.no_sync, Some(true));
        Ok(())
    }

    #[test]
    fn env_errors_name_the_variable() {
        let err = from_env(env(&[]))
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(err.contains("INFLUX_HOST"), "{err}");
        for (name, value) in [
            ("INFLUX_PRECISION", "minutes"),
            ("INFLUX_GZIP_THRESHOLD", "-1"),
            ("INFLUX_WRITE_NO_SYNC", "yep"),
            ("INFLUX_WRITE_ACCEPT_PARTIAL", "on"),
            ("INFLUX_WRITE_USE_V2_API", "2"),
            ("INFLUX_WRITE_TIMEOUT", "10 s"),
            ("INFLUX_WRITE_TIMEOUT", "-5"),
            ("INFLUX_QUERY_TIMEOUT", "soon"),
            ("INFLUX_AUTH_SCHEME", "Basic"),
            ("INFLUX_DISABLE_GRPC_COMPRESSION", "maybe"),
        ] {
            let err = from_env(env(&[("INFLUX_HOST", "http://h"), (name, value)]))
                .err()
                .map(|e| e.to_string())
                .unwrap_or_default();
            assert!(err.contains(name) && err.contains(value), "{name}: {err}");
        }
    }

    #[test]
    fn connection_string_keeps_path_and_reads_parameters() -> Result<(), Error> {
        let s = from_connection_string(
            "https://host.example:8443/prefix?token=t%2Bx&database=db&authScheme=Bearer&org=o&precision=s&gzipThreshold=64&writeNoSync=true&writeAcceptPartial=false&writeUseV2Api=false",
        )?;
        assert_eq!(s.host.as_deref(), Some("https://host.example:8443/prefix"));
        assert_eq!(s.token.as_deref(), Some("t+x"));
        assert_eq!(s.database.as_deref(), Some("db"));
        assert_eq!(s.auth_scheme, Some(AuthScheme::Bearer));
        assert_eq!(s.precision, Some(Precision::Seconds));
        assert_eq!(s.gzip_threshold, Some(64));
        assert_eq!(
            (s.no_sync, s.accept_partial, s.use_v2_api),
            (Some(true), Some(false), Some(false))
        );
        let s = from_connection_string("http://localhost:8181?token=t")?;
        assert_eq!(s.host.as_deref(), Some("http://localhost:8181"));
        // A bare host means https.
        let s = from_connection_string("localhost:8181?token=t&database=db")?;
        assert_eq!(s.host.as_deref(), Some("https://localhost:8181"));
        assert_eq!(s.database.as_deref(), Some("db"));
        Ok(())
    }

    #[test]
    fn connection_string_errors_name_the_parameter() {
        let msg = |s: &str| {
            from_connection_string(s)
                .err()
                .map(|e| e.to_string())
                .unwrap_or_default()
        };
        assert!(msg("ftp://h?token=t").contains("ftp"));
        assert!(msg("http://h?precision=h").contains("`precision`"));
        assert!(msg("http://h?writeNoSync=maybe").contains("`writeNoSync`"));
        // An unknown key is ignored (with a warning), not an error.
        assert!(from_connection_string("http://h?tokn=x&timeout=5").is_ok());
        assert!(msg("not a url").contains("invalid connection string"));
        // The token is never echoed back.
        assert!(!msg("http://h?token=supersecret&bogus=1").contains("supersecret"));
    }
}
