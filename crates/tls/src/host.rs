//! The one parser of host URLs that the facade, the write transport and the query client
//! share.

use std::fmt;

use url::Url;

use crate::redact_url;

/// A host that is not a usable server address. The message quotes the host with
/// [`redact_url`], so it never shows credentials.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostUrlError {
    message: String,
}

impl HostUrlError {
    fn new(message: String) -> Self {
        Self { message }
    }
}

impl fmt::Display for HostUrlError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for HostUrlError {}

/// Parses a server address: `http://host[:port][/path]`, `https://host[:port][/path]`, or a
/// bare `host[:port][/path]`, which means `https` (port 443 unless given), as in the Python
/// client. Surrounding whitespace is ignored.
///
/// Rejected with a [`HostUrlError`] that says what to change: an empty host, text that is not
/// a URL, a scheme other than `http`/`https`, a URL without a host name, and credentials in
/// the URL (pass a token instead). A query string is left to the caller (a connection string
/// carries its settings in one; a host must not have one).
///
/// ```
/// use influxdb3_tls::parse_host_url;
///
/// let url = parse_host_url("us-east-1-1.aws.cloud2.influxdata.com")?;
/// assert_eq!(url.as_str(), "https://us-east-1-1.aws.cloud2.influxdata.com/");
/// assert_eq!(url.port_or_known_default(), Some(443));
/// assert_eq!(parse_host_url("localhost:8181")?.as_str(), "https://localhost:8181/");
/// assert_eq!(parse_host_url("http://127.0.0.1:8181")?.as_str(), "http://127.0.0.1:8181/");
/// assert!(parse_host_url("ftp://h").unwrap_err().to_string().contains("scheme"));
/// assert!(parse_host_url("not a url").is_err());
/// assert!(!parse_host_url("http://u:secret@h").unwrap_err().to_string().contains("secret"));
/// # Ok::<(), influxdb3_tls::HostUrlError>(())
/// ```
pub fn parse_host_url(host: &str) -> Result<Url, HostUrlError> {
    let host = host.trim();
    if host.is_empty() {
        return Err(HostUrlError::new(
            "the host URL is empty; expected host[:port] or http[s]://host[:port], \
             e.g. http://localhost:8181"
                .to_owned(),
        ));
    }
    let shown = redact_url(host);
    let with_scheme;
    let text = if has_scheme(host) {
        host
    } else {
        with_scheme = format!("https://{host}");
        &with_scheme
    };
    let url = Url::parse(text).map_err(|e| {
        HostUrlError::new(format!(
            "invalid host URL {shown:?}: {e}; expected host[:port] or http[s]://host[:port], \
             e.g. http://localhost:8181"
        ))
    })?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(HostUrlError::new(format!(
            "unsupported scheme {:?} in host URL {shown:?}: use http:// or https://",
            url.scheme()
        )));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(HostUrlError::new(format!(
            "the host URL {shown:?} has no host name"
        )));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(HostUrlError::new(
            "credentials in the host URL are not supported; pass the token with `token(..)`"
                .to_owned(),
        ));
    }
    Ok(url)
}

/// Whether `text` starts with `scheme://` (a scheme being a letter followed by letters,
/// digits, `+`, `-` or `.`). `localhost:8181` has none: `localhost` is a host, not a scheme.
fn has_scheme(text: &str) -> bool {
    match text.split_once("://") {
        Some((scheme, _)) => {
            let mut chars = scheme.chars();
            chars.next().is_some_and(|c| c.is_ascii_alphabetic())
                && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
        }
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bare_hosts_default_to_https() {
        for (host, want, port) in [
            ("localhost", "https://localhost/", 443),
            ("localhost:8181", "https://localhost:8181/", 8181),
            (
                " example.com:8181/prefix ",
                "https://example.com:8181/prefix",
                8181,
            ),
            ("[::1]:8181", "https://[::1]:8181/", 8181),
            ("127.0.0.1", "https://127.0.0.1/", 443),
            ("http://example.com", "http://example.com/", 80),
            (
                "HTTPS://Example.com:8181",
                "https://example.com:8181/",
                8181,
            ),
        ] {
            let url = parse_host_url(host).unwrap();
            assert_eq!(url.as_str(), want, "{host}");
            assert_eq!(url.port_or_known_default(), Some(port), "{host}");
        }
    }

    #[test]
    fn malformed_hosts_are_clear_errors() {
        for (host, expected) in [
            ("", "empty"),
            ("   ", "empty"),
            ("ftp://h", "scheme"),
            ("http://", "invalid host URL"),
            ("not a url", "invalid host URL"),
            ("localhost:port", "invalid host URL"),
            ("http://user:pw@h", "credentials"),
            ("user:pw@h", "credentials"),
            ("://h", "invalid host URL"),
        ] {
            let err = parse_host_url(host).unwrap_err().to_string();
            assert!(err.contains(expected), "{host:?}: {err}");
            assert!(!err.contains("pw"), "{err}");
        }
    }
}
