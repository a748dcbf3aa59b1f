//! Transport options of the Flight client (the Python client's `flight_client_options`) and how
//! they become a tonic [`Endpoint`].

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use influxdb3_tls::AcceptAnyServerCertificate;
use rustls::crypto::CryptoProvider;
use rustls::pki_types::ServerName;
use tonic::transport::{Certificate, ClientTlsConfig, Endpoint, Identity};

use crate::error::Error;

/// The default [`FlightOptions::max_decoding_message_size`]: 64 MiB.
pub const DEFAULT_MAX_DECODING_MESSAGE_SIZE: usize = 64 * 1024 * 1024;

/// The default [`FlightOptions::connect_timeout`]: 10 s.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// Transport options of the Flight (gRPC) connection: TLS, mutual TLS, timeouts, keep-alive
/// and the largest message accepted. The Rust form of the Python client's
/// `flight_client_options`.
///
/// Built by chaining; [`Default`] gives verified TLS against the built-in Mozilla roots, a
/// 10 s connect timeout, no query timeout and a 64 MiB message limit.
///
/// ```
/// use std::time::Duration;
/// use influxdb3_query::FlightOptions;
///
/// # let ca_pem = b"";
/// let options = FlightOptions::default()
///     .root_certificates_pem(ca_pem.to_vec())
///     .tls_server_name("influxdb.internal")
///     .connect_timeout(Duration::from_secs(5))
///     .keep_alive_interval(Duration::from_secs(30))
///     .query_timeout(Duration::from_secs(60))
///     .max_decoding_message_size(256 * 1024 * 1024);
/// ```
#[derive(Clone)]
pub struct FlightOptions {
    root_certificates: Vec<Vec<u8>>,
    identity: Option<(Vec<u8>, Vec<u8>)>,
    tls_server_name: Option<String>,
    danger_accept_invalid_certs: bool,
    connect_timeout: Option<Duration>,
    keep_alive_interval: Option<Duration>,
    keep_alive_timeout: Option<Duration>,
    max_decoding_message_size: usize,
    query_timeout: Option<Duration>,
    disable_grpc_compression: bool,
}

impl Default for FlightOptions {
    fn default() -> Self {
        FlightOptions {
            root_certificates: Vec::new(),
            identity: None,
            tls_server_name: None,
            danger_accept_invalid_certs: false,
            connect_timeout: Some(DEFAULT_CONNECT_TIMEOUT),
            keep_alive_interval: None,
            keep_alive_timeout: None,
            max_decoding_message_size: DEFAULT_MAX_DECODING_MESSAGE_SIZE,
            query_timeout: None,
            disable_grpc_compression: false,
        }
    }
}

impl fmt::Debug for FlightOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FlightOptions")
            .field("root_certificates", &self.root_certificates.len())
            .field(
                "identity",
                &self
                    .identity
                    .as_ref()
                    .map(|_| "<certificate and redacted key>"),
            )
            .field("tls_server_name", &self.tls_server_name)
            .field(
                "danger_accept_invalid_certs",
                &self.danger_accept_invalid_certs,
            )
            .field("connect_timeout", &self.connect_timeout)
            .field("keep_alive_interval", &self.keep_alive_interval)
            .field("keep_alive_timeout", &self.keep_alive_timeout)
            .field("max_decoding_message_size", &self.max_decoding_message_size)
            .field("query_timeout", &self.query_timeout)
            .field("disable_grpc_compression", &self.disable_grpc_compression)
            .finish()
    }
}

impl FlightOptions {
    /// Trusts the CA certificates in this PEM (one or more `CERTIFICATE` blocks) in addition
    /// to the built-in Mozilla roots. Call again to add more. The Python client's
    /// `tls_root_certs`.
    pub fn root_certificates_pem(mut self, pem: impl Into<Vec<u8>>) -> Self {
        self.root_certificates.push(pem.into());
        self
    }

    /// Presents this client certificate (PEM chain) and private key (PEM, PKCS#8, PKCS#1 or
    /// SEC1) to servers that require mutual TLS.
    pub fn identity(mut self, cert_pem: impl Into<Vec<u8>>, key_pem: impl Into<Vec<u8>>) -> Self {
        self.identity = Some((cert_pem.into(), key_pem.into()));
        self
    }

    /// Verifies the server's certificate against this name (and sends it as SNI) instead of
    /// the host of the URL. The Python client's `override_hostname`.
    pub fn tls_server_name(mut self, name: impl Into<String>) -> Self {
        self.tls_server_name = Some(name.into());
        self
    }

    /// **Dangerous**: accepts any server certificate, signed by anyone, for any name, expired
    /// or not. The connection is still encrypted but no longer authenticated, so anyone on the
    /// path can read the token and the data. For tests against self-signed servers only.
    /// The Python client's `disable_server_verification`.
    pub fn danger_accept_invalid_certs(mut self, accept: bool) -> Self {
        self.danger_accept_invalid_certs = accept;
        self
    }

    /// Gives up connecting (TCP and TLS) after this long. Default 10 s.
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = Some(timeout);
        self
    }

    /// Sends HTTP/2 pings this often, also while idle, to keep the connection alive through
    /// proxies and to notice dead peers. Off by default.
    pub fn keep_alive_interval(mut self, interval: Duration) -> Self {
        self.keep_alive_interval = Some(interval);
        self
    }

    /// Closes the connection when a keep-alive ping is not answered within this long
    /// (hyper's default is 20 s). Only used with [`keep_alive_interval`](Self::keep_alive_interval).
    pub fn keep_alive_timeout(mut self, timeout: Duration) -> Self {
        self.keep_alive_timeout = Some(timeout);
        self
    }

    /// The largest gRPC message accepted from the server. Default 64 MiB
    /// ([`DEFAULT_MAX_DECODING_MESSAGE_SIZE`]); tonic's own default of 4 MiB is too small for
    /// rows with large strings. Use `usize::MAX` for no limit.
    pub fn max_decoding_message_size(mut self, limit: usize) -> Self {
        self.max_decoding_message_size = limit;
        self
    }

    /// The timeout of queries that do not set their own with
    /// [`Query::timeout`](crate::Query::timeout). None by default, as in the Go client.
    pub fn query_timeout(mut self, timeout: Duration) -> Self {
        self.query_timeout = Some(timeout);
        self
    }

    /// Stops asking for gzip-compressed responses (the Python client's
    /// `disable_grpc_compression`, the `INFLUX_DISABLE_GRPC_COMPRESSION` variable of the
    /// facade). By default the client sends `grpc-accept-encoding: gzip` and the server
    /// compresses the Arrow data it returns, which saves bandwidth on slow links at the cost
    /// of CPU on both ends; on a fast local network turning it off can make large results
    /// arrive sooner.
    ///
    /// ```
    /// let options = influxdb3_query::FlightOptions::default().disable_grpc_compression(true);
    /// # let _ = options;
    /// ```
    pub fn disable_grpc_compression(mut self, disable: bool) -> Self {
        self.disable_grpc_compression = disable;
        self
    }

    pub(crate) fn grpc_compression_value(&self) -> bool {
        !self.disable_grpc_compression
    }

    pub(crate) fn max_decoding_message_size_value(&self) -> usize {
        self.max_decoding_message_size
    }

    pub(crate) fn query_timeout_value(&self) -> Option<Duration> {
        self.query_timeout
    }

    /// Applies these options to a fresh endpoint for `uri` (`http://host:port` or
    /// `https://host:port`). Validates every PEM so that mistakes show up at build time.
    pub(crate) fn apply(&self, mut endpoint: Endpoint, tls: bool) -> Result<Endpoint, Error> {
        // Durations of 100 years or more (such as `Duration::MAX`) mean "never": they cannot
        // be added to a clock.
        let bounded = |d: Option<Duration>| d.filter(|d| *d < crate::client::NO_TIMEOUT_FROM);
        if let Some(t) = bounded(self.connect_timeout) {
            endpoint = endpoint.connect_timeout(t);
        }
        if let Some(i) = bounded(self.keep_alive_interval) {
            endpoint = endpoint
                .http2_keep_alive_interval(i)
                .keep_alive_while_idle(true);
        }
        if let Some(t) = bounded(self.keep_alive_timeout) {
            endpoint = endpoint.keep_alive_timeout(t);
        }
        if !tls {
            return Ok(endpoint);
        }

        let mut config = ClientTlsConfig::new();
        if let Some(name) = &self.tls_server_name {
            ServerName::try_from(name.as_str()).map_err(|e| {
                Error::config(format!(
                    "tls_server_name `{name}` is not a valid DNS name or IP address: {e}"
                ))
            })?;
            config = config.domain_name(name.clone());
        }
        if let Some((cert, key)) = &self.identity {
            influxdb3_tls::certificates(cert, "client certificate PEM (FlightOptions::identity)")
                .map_err(pem_error)?;
            influxdb3_tls::private_key(key, "client key PEM (FlightOptions::identity)")
                .map_err(pem_error)?;
            config = config.identity(Identity::from_pem(cert, key));
        }
        let endpoint = if self.danger_accept_invalid_certs {
            let provider = CryptoProvider::get_default()
                .cloned()
                .unwrap_or_else(|| Arc::new(rustls::crypto::ring::default_provider()));
            let verifier = AcceptAnyServerCertificate::new(provider);
            endpoint.tls_config_with_verifier(config, Arc::new(verifier))
        } else {
            config = config.with_webpki_roots();
            for (i, pem) in self.root_certificates.iter().enumerate() {
                let what = format!(
                    "root certificate PEM #{} (FlightOptions::root_certificates_pem)",
                    i + 1
                );
                influxdb3_tls::certificates(pem, &what).map_err(pem_error)?;
                config = config.ca_certificate(Certificate::from_pem(pem));
            }
            endpoint.tls_config(config)
        };
        endpoint
            .map_err(|e| Error::config(format!("invalid TLS configuration: {e}")).with_source(e))
    }
}

fn pem_error(e: influxdb3_tls::PemError) -> Error {
    Error::config(e.to_string())
}
