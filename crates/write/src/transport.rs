//! The [`WriteTransport`] trait and its HTTP implementation, [`HttpTransport`].

use std::fmt;
use std::future::Future;
use std::io::Write as _;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use bytes::Bytes;
use http::header::{AUTHORIZATION, CONTENT_ENCODING, CONTENT_TYPE, USER_AGENT};
use http::{HeaderMap, HeaderName, HeaderValue, Method, Request, Uri};
use http_body_util::{BodyExt, Full};
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::{TokioExecutor, TokioTimer};
use url::Url;

use crate::connect::{Connector, ProxyConfig};
use crate::{Endpoint, Error, ErrorKind, WriteParams};

/// Sends one encoded body of line protocol to the server.
///
/// [`HttpTransport`] is the real implementation; the batching [`Writer`](crate::Writer) and
/// [`write_now`](crate::write_now) are generic over this trait so that other transports
/// (another HTTP stack, a recording wrapper) can be plugged in.
///
/// The body is complete line protocol whose lines all end with `\n`, with no blank or
/// comment lines, so the server's line N is the body's line N.
///
/// ```
/// use influxdb3_write::{Body, Error, WriteParams, WriteTransport};
///
/// /// Prints bodies instead of sending them.
/// struct Print;
///
/// impl WriteTransport for Print {
///     async fn send(&self, params: &WriteParams, body: Body) -> Result<(), Error> {
///         println!("{}: {} bytes", params.database, body.bytes().len());
///         Ok(())
///     }
/// }
/// ```
pub trait WriteTransport: Send + Sync + 'static {
    /// Writes `body` with `params`. A 2xx response is `Ok`; anything else is an [`Error`]
    /// whose line numbers count the lines of `body`. The same `body` (a cheap clone) is
    /// passed again when a request is retried.
    fn send(
        &self,
        params: &WriteParams,
        body: Body,
    ) -> impl Future<Output = Result<(), Error>> + Send;
}

impl<T: WriteTransport> WriteTransport for Arc<T> {
    fn send(
        &self,
        params: &WriteParams,
        body: Body,
    ) -> impl Future<Output = Result<(), Error>> + Send {
        (**self).send(params, body)
    }
}

/// One request body: its line protocol, and its gzip form once a transport has made it, so
/// that a batch that is retried is compressed once, not once per attempt. Clones share both.
#[derive(Clone, Debug, Default)]
pub struct Body {
    data: Bytes,
    gzipped: Arc<OnceLock<Bytes>>,
}

impl Body {
    /// A body of complete line protocol (every line ends with `\n`).
    pub fn new(data: Bytes) -> Self {
        Body {
            data,
            gzipped: Arc::default(),
        }
    }

    /// The line protocol.
    pub fn bytes(&self) -> &Bytes {
        &self.data
    }

    /// The gzip form of the body: made by `compress` on first use, then shared by every
    /// clone of this body.
    pub fn gzipped(
        &self,
        compress: impl FnOnce(&[u8]) -> Result<Bytes, Error>,
    ) -> Result<Bytes, Error> {
        if let Some(done) = self.gzipped.get() {
            return Ok(done.clone());
        }
        let made = compress(&self.data)?;
        // Another clone may have raced to the same result: either copy is the same bytes.
        Ok(self.gzipped.get_or_init(|| made).clone())
    }
}

impl From<Bytes> for Body {
    fn from(data: Bytes) -> Self {
        Body::new(data)
    }
}

/// How the token is presented in the `Authorization` header.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub enum AuthScheme {
    /// `Authorization: Token <token>` (the default, as in the official clients).
    #[default]
    Token,
    /// `Authorization: Bearer <token>`.
    Bearer,
}

impl AuthScheme {
    fn as_str(self) -> &'static str {
        match self {
            AuthScheme::Token => "Token",
            AuthScheme::Bearer => "Bearer",
        }
    }
}

/// Error bodies larger than this are cut (they are read into memory to build the [`Error`]).
const MAX_ERROR_BODY: usize = 1024 * 1024;

/// Reads a response body up to `limit` bytes; the flag says whether more followed (the rest
/// is not read).
async fn read_prefix(
    mut body: hyper::body::Incoming,
    limit: usize,
) -> Result<(Bytes, bool), hyper::Error> {
    let mut out = bytes::BytesMut::new();
    while let Some(frame) = body.frame().await {
        let Ok(data) = frame?.into_data() else {
            continue;
        };
        let room = limit - out.len();
        if data.len() > room {
            out.extend_from_slice(&data[..room]);
            return Ok((out.freeze(), true));
        }
        out.extend_from_slice(&data);
    }
    Ok((out.freeze(), false))
}

/// The HTTP write transport: hyper 1 with a pooled keep-alive connection pool, HTTP/1.1 and
/// HTTP/2 (negotiated by ALPN over TLS), rustls on `ring` with the webpki roots, gzip above
/// a threshold, timeouts, custom headers and an optional HTTP proxy.
///
/// Cloning is cheap and shares the connection pool. `Debug` never shows the token.
///
/// ```no_run
/// # async fn run() -> Result<(), influxdb3_write::Error> {
/// use bytes::Bytes;
/// use influxdb3_write::{Body, HttpTransport, WriteParams, WriteTransport};
///
/// let transport = HttpTransport::builder("http://localhost:8181")
///     .token("apiv3_...")
///     .build()?;
/// let body = Body::new(Bytes::from_static(b"home,room=kitchen temp=21.5\n"));
/// transport.send(&WriteParams::new("sensors"), body).await?;
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct HttpTransport {
    inner: Arc<TransportInner>,
}

struct TransportInner {
    client: Client<HttpsConnector<Connector>, Full<Bytes>>,
    /// The host URL with its path prefix, without a trailing `/`.
    base: Url,
    /// `Authorization` (marked sensitive), if a token was given.
    authorization: Option<HeaderValue>,
    auth_scheme: AuthScheme,
    /// The user agent and the custom headers.
    headers: HeaderMap,
    /// Sent on plain-http requests through a proxy.
    proxy_authorization: Option<HeaderValue>,
    org: Option<String>,
    gzip_threshold: usize,
    timeout: Option<Duration>,
    proxy: Option<String>,
    danger_accept_invalid_certs: bool,
}

impl HttpTransport {
    /// Starts configuring a transport for the server at `host`: `http://host[:port]`,
    /// `https://host[:port]`, or a bare `host[:port]`, which means `https` (port 443 unless
    /// given), optionally with a path prefix, which is kept.
    ///
    /// ```
    /// use influxdb3_write::{HttpTransport, WriteParams};
    ///
    /// let transport = HttpTransport::builder("example.com:8181").build()?;
    /// let url = transport.write_url(&WriteParams::new("db"));
    /// assert!(url.starts_with("https://example.com:8181/api/v2/write?"), "{url}");
    /// # Ok::<(), influxdb3_write::Error>(())
    /// ```
    pub fn builder(host: impl AsRef<str>) -> HttpTransportBuilder {
        HttpTransportBuilder::new(host.as_ref())
    }

    /// The URL a write with `params` goes to (no secrets in it).
    pub fn write_url(&self, params: &WriteParams) -> String {
        self.url_for(params).to_string()
    }

    fn url_for(&self, params: &WriteParams) -> Url {
        let inner = &self.inner;
        let mut url = inner.base.clone();
        let path = match params.endpoint {
            Endpoint::V2 => "/api/v2/write",
            Endpoint::V3 => "/api/v3/write_lp",
        };
        url.set_path(&format!(
            "{}{path}",
            inner.base.path().trim_end_matches('/')
        ));
        {
            let mut q = url.query_pairs_mut();
            match params.endpoint {
                Endpoint::V2 => {
                    if let Some(org) = &inner.org {
                        q.append_pair("org", org);
                    }
                    q.append_pair("bucket", &params.database);
                    q.append_pair("precision", params.precision.v2_name());
                }
                Endpoint::V3 => {
                    q.append_pair("db", &params.database);
                    q.append_pair("precision", params.precision.v3_name());
                    if params.no_sync {
                        q.append_pair("no_sync", "true");
                    }
                    if !params.accept_partial {
                        q.append_pair("accept_partial", "false");
                    }
                }
            }
        }
        url
    }

    async fn send_inner(&self, params: &WriteParams, body: Body) -> Result<(), Error> {
        params.validate()?;
        let lines = body.bytes();
        if lines.is_empty() {
            return Ok(());
        }
        let inner = &*self.inner;
        let url = self.url_for(params);
        let gzip = inner.gzip_threshold > 0 && lines.len() >= inner.gzip_threshold;
        let payload = if gzip {
            body.gzipped(gzip_body)?
        } else {
            lines.clone()
        };
        let mut headers = HeaderMap::new();
        headers.insert(
            CONTENT_TYPE,
            HeaderValue::from_static("text/plain; charset=utf-8"),
        );
        if gzip {
            headers.insert(CONTENT_ENCODING, HeaderValue::from_static("gzip"));
        }
        self.exchange(Method::POST, &url, headers, payload, lines)
            .await
            .map(drop)
    }

    /// Asks the server who it is (`GET /ping`, with the token): its version, build and
    /// product name. A cheap way to check the host, the TLS settings and the token before
    /// writing; the Python client's `get_server_version()`.
    ///
    /// Fails like a write does: [`ErrorKind::Connect`] or [`ErrorKind::Timeout`] when the
    /// server cannot be reached, [`ErrorKind::Http`] with status 401 for a missing or wrong
    /// token (InfluxDB 3 asks for one on `/ping` unless started with `--disable-authz ping`).
    ///
    /// ```no_run
    /// # async fn example() -> Result<(), influxdb3_write::Error> {
    /// let transport = influxdb3_write::HttpTransport::builder("http://localhost:8181")
    ///     .token("my-token")
    ///     .build()?;
    /// let server = transport.ping().await?;
    /// println!("{} {}", server.product_name.as_deref().unwrap_or("InfluxDB"),
    ///     server.version.as_deref().unwrap_or("(version unknown)"));
    /// # Ok(())
    /// # }
    /// ```
    pub async fn ping(&self) -> Result<ServerInfo, Error> {
        let mut url = self.inner.base.clone();
        url.set_path(&format!(
            "{}/ping",
            self.inner.base.path().trim_end_matches('/')
        ));
        let (headers, body) = self
            .exchange(Method::GET, &url, HeaderMap::new(), Bytes::new(), &[])
            .await?;
        Ok(ServerInfo::from_ping(&headers, &body))
    }

    /// Sends one request with the transport's headers, token and timeout; returns the headers
    /// and body (at most [`MAX_ERROR_BODY`] bytes) of a 2xx answer, or the error any other
    /// status makes (`sent` is the uncompressed body, for line errors).
    async fn exchange(
        &self,
        method: Method,
        url: &Url,
        extra_headers: HeaderMap,
        payload: Bytes,
        sent: &[u8],
    ) -> Result<(HeaderMap, Bytes), Error> {
        let inner = &*self.inner;
        let url_text = url.to_string();
        let uri: Uri = url_text
            .parse()
            .map_err(|e| Error::config(format!("invalid request URL {url_text}: {e}")))?;
        let mut request = Request::builder()
            .method(method)
            .uri(uri)
            .body(Full::new(payload))
            .map_err(|e| Error::config(format!("cannot build request to {url_text}: {e}")))?;
        let headers = request.headers_mut();
        headers.extend(inner.headers.clone());
        headers.extend(extra_headers);
        if let Some(auth) = &inner.authorization {
            headers.insert(AUTHORIZATION, auth.clone());
        }
        if let (Some(auth), "http") = (&inner.proxy_authorization, url.scheme()) {
            headers.insert(http::header::PROXY_AUTHORIZATION, auth.clone());
        }

        let exchange = async {
            let response = inner
                .client
                .request(request)
                .await
                .map_err(|e| request_error(&e, &url_text))?;
            let (parts, body_in) = response.into_parts();
            let body = read_prefix(body_in, MAX_ERROR_BODY).await;
            if parts.status.is_success() {
                // Read the (normally empty) body so the connection goes back to the pool; an
                // oversized one is not an error of the request.
                let (body, truncated) = body.map_err(|e| {
                    Error::new(
                        ErrorKind::Connect,
                        format!(
                            "the connection broke while reading the response: {}",
                            chain(&e)
                        ),
                    )
                    .with_url(url_text.clone())
                })?;
                let body = if truncated { Bytes::new() } else { body };
                return Ok((parts.headers, body));
            }
            // A broken error body still leaves the status to report; an oversized one is
            // kept up to the limit (a large partial-write answer is still a partial write).
            let (bytes, truncated) = body.unwrap_or_default();
            Err(Error::from_response(
                parts.status,
                parts.headers,
                &bytes,
                sent,
                url_text.clone(),
                url.path(),
            )
            .with_body_truncated(truncated))
        };
        match inner.timeout {
            Some(limit) => match tokio::time::timeout(limit, exchange).await {
                Ok(result) => result,
                Err(_) => Err(Error::new(
                    ErrorKind::Timeout,
                    format!("no complete response within {limit:?}"),
                )
                .with_url(url_text)),
            },
            None => exchange.await,
        }
    }
}

/// What a server says about itself on `/ping` ([`HttpTransport::ping`]). Each part is `None`
/// when the server did not say it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ServerInfo {
    /// The version, from the `X-Influxdb-Version` header or else the body's `version`
    /// (`3.6.0`, say).
    pub version: Option<String>,
    /// The build, from the `X-Influxdb-Build` header: `Core` or `Enterprise`.
    pub build: Option<String>,
    /// The body's `product_name` (`InfluxDB 3 Core`, say).
    pub product_name: Option<String>,
}

impl ServerInfo {
    fn from_ping(headers: &HeaderMap, body: &[u8]) -> ServerInfo {
        #[derive(serde::Deserialize)]
        struct Body {
            version: Option<String>,
            product_name: Option<String>,
        }
        let header = |name: &str| {
            headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::trim)
                .filter(|v| !v.is_empty())
                .map(str::to_owned)
        };
        let body = serde_json::from_slice::<Body>(body).ok();
        let (body_version, product_name) =
            body.map_or((None, None), |b| (b.version, b.product_name));
        ServerInfo {
            version: header("x-influxdb-version").or(body_version),
            build: header("x-influxdb-build"),
            product_name,
        }
    }
}

impl WriteTransport for HttpTransport {
    fn send(
        &self,
        params: &WriteParams,
        body: Body,
    ) -> impl Future<Output = Result<(), Error>> + Send {
        self.send_inner(params, body)
    }
}

impl fmt::Debug for HttpTransport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let inner = &*self.inner;
        f.debug_struct("HttpTransport")
            .field("host", &influxdb3_tls::redact_url(inner.base.as_str()))
            .field("token", &inner.authorization.as_ref().map(|_| "<redacted>"))
            .field("auth_scheme", &inner.auth_scheme)
            .field("org", &inner.org)
            .field("gzip_threshold", &inner.gzip_threshold)
            .field("timeout", &inner.timeout)
            .field("proxy", &inner.proxy)
            .field(
                "danger_accept_invalid_certs",
                &inner.danger_accept_invalid_certs,
            )
            .finish_non_exhaustive()
    }
}

fn gzip_body(body: &[u8]) -> Result<Bytes, Error> {
    // Level 1: line protocol still shrinks several times, at a fraction of the CPU of level 6.
    let mut encoder = flate2::write::GzEncoder::new(
        Vec::with_capacity(body.len() / 4 + 64),
        flate2::Compression::fast(),
    );
    encoder
        .write_all(body)
        .and_then(|()| encoder.finish())
        .map(Bytes::from)
        .map_err(|e| Error::new(ErrorKind::Encode, "gzip compression failed").with_source(e))
}

/// Maps a hyper client error: connect failures and broken connections are `Connect`
/// (retryable), a timed-out connect is `Timeout`.
fn request_error(e: &hyper_util::client::legacy::Error, url: &str) -> Error {
    let timed_out = {
        let mut source: Option<&(dyn std::error::Error + 'static)> = Some(e);
        let mut found = false;
        while let Some(s) = source {
            if let Some(io) = s.downcast_ref::<std::io::Error>()
                && io.kind() == std::io::ErrorKind::TimedOut
            {
                found = true;
            }
            source = s.source();
        }
        found
    };
    let what = if e.is_connect() {
        "cannot connect"
    } else {
        "the request failed"
    };
    let kind = if timed_out {
        ErrorKind::Timeout
    } else {
        ErrorKind::Connect
    };
    Error::new(kind, format!("{what}: {}", chain(e))).with_url(url.to_owned())
}

/// An error and its sources, joined with `: `.
pub(crate) fn chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let part = s.to_string();
        if !text.ends_with(&part) {
            text.push_str(": ");
            text.push_str(&part);
        }
        source = s.source();
    }
    text
}

/// Configures an [`HttpTransport`]; see [`HttpTransport::builder`].
///
/// ```
/// use std::time::Duration;
/// use influxdb3_write::{AuthScheme, HttpTransport};
///
/// let transport = HttpTransport::builder("https://influx.example.com/prefix")
///     .token("apiv3_...")
///     .auth_scheme(AuthScheme::Bearer)
///     .gzip_threshold(0) // never compress
///     .timeout(Duration::from_secs(30))
///     .header("x-team", "metrics")
///     .build()?;
/// assert!(!format!("{transport:?}").contains("apiv3_"));
/// # Ok::<(), influxdb3_write::Error>(())
/// ```
#[must_use]
pub struct HttpTransportBuilder {
    host: String,
    token: Option<String>,
    auth_scheme: AuthScheme,
    org: Option<String>,
    gzip_threshold: usize,
    timeout: Option<Duration>,
    connect_timeout: Option<Duration>,
    headers: HeaderMap,
    user_agent: Option<String>,
    proxy: Option<String>,
    root_certificates: Vec<Vec<u8>>,
    identity: Option<(Vec<u8>, Vec<u8>)>,
    danger_accept_invalid_certs: bool,
    /// The first invalid setting, reported by `build()`.
    error: Option<Error>,
}

impl fmt::Debug for HttpTransportBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HttpTransportBuilder")
            .field("host", &influxdb3_tls::redact_url(&self.host))
            .field("token", &self.token.as_ref().map(|_| "<redacted>"))
            .field("auth_scheme", &self.auth_scheme)
            .field("gzip_threshold", &self.gzip_threshold)
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

impl HttpTransportBuilder {
    fn new(host: &str) -> Self {
        HttpTransportBuilder {
            host: host.to_owned(),
            token: None,
            auth_scheme: AuthScheme::Token,
            org: None,
            gzip_threshold: 1000,
            timeout: Some(Duration::from_secs(10)),
            connect_timeout: Some(Duration::from_secs(10)),
            headers: HeaderMap::new(),
            user_agent: None,
            proxy: None,
            root_certificates: Vec::new(),
            identity: None,
            danger_accept_invalid_certs: false,
            error: None,
        }
    }

    /// The API token. Without one (or with an empty one), no `Authorization` header is sent.
    pub fn token(mut self, token: impl Into<String>) -> Self {
        let token = token.into();
        self.token = (!token.is_empty()).then_some(token);
        self
    }

    /// How the token is sent (default [`AuthScheme::Token`]).
    pub fn auth_scheme(mut self, scheme: AuthScheme) -> Self {
        self.auth_scheme = scheme;
        self
    }

    /// An organization, sent as `org=` on the v2 endpoint (InfluxDB 3 ignores it).
    pub fn org(mut self, org: impl Into<String>) -> Self {
        let org = org.into();
        self.org = (!org.is_empty()).then_some(org);
        self
    }

    /// Bodies of at least this many bytes are gzip-compressed (default 1000; 0 turns
    /// compression off).
    pub fn gzip_threshold(mut self, bytes: usize) -> Self {
        self.gzip_threshold = bytes;
        self
    }

    /// The limit on one whole request, from connecting to the end of the response
    /// (default 10 s). `None` means no limit.
    pub fn timeout(mut self, timeout: impl Into<Option<Duration>>) -> Self {
        self.timeout = timeout.into();
        self
    }

    /// The limit on establishing a TCP connection (default 10 s). `None` means no limit.
    pub fn connect_timeout(mut self, timeout: impl Into<Option<Duration>>) -> Self {
        self.connect_timeout = timeout.into();
        self
    }

    /// Adds a header to every request. An invalid name or value makes `build()` fail.
    pub fn header(mut self, name: impl AsRef<str>, value: impl AsRef<str>) -> Self {
        let (name, value) = (name.as_ref(), value.as_ref());
        match (
            HeaderName::from_bytes(name.as_bytes()),
            HeaderValue::from_str(value),
        ) {
            (Ok(n), Ok(v)) => {
                self.headers.append(n, v);
            }
            (Err(e), _) => {
                self.error
                    .get_or_insert(Error::config(format!("invalid header name {name:?}: {e}")));
            }
            (_, Err(e)) => {
                self.error.get_or_insert(Error::config(format!(
                    "invalid value for header {name:?}: {e}"
                )));
            }
        }
        self
    }

    /// The `User-Agent` (default `influxdb3-rust/<version> (<os>; <arch>)`).
    pub fn user_agent(mut self, user_agent: impl Into<String>) -> Self {
        self.user_agent = Some(user_agent.into());
        self
    }

    /// Sends requests through an HTTP proxy (`http://[user:password@]host:port`): `https`
    /// servers are reached through a `CONNECT` tunnel, `http` servers with absolute-form
    /// requests. Credentials in the proxy URL are sent as `Proxy-Authorization: Basic`.
    pub fn proxy(mut self, proxy_url: impl Into<String>) -> Self {
        self.proxy = Some(proxy_url.into());
        self
    }

    /// Trusts the certificates in this PEM data in addition to the webpki roots
    /// (for a private CA or a self-signed server certificate). May be called repeatedly.
    pub fn tls_root_certificates_pem(mut self, pem: impl Into<Vec<u8>>) -> Self {
        self.root_certificates.push(pem.into());
        self
    }

    /// Presents this client certificate (PEM, the leaf first, then any intermediates) and
    /// its private key (PEM: PKCS#8, PKCS#1 or SEC1) to servers that ask for one (mutual TLS).
    pub fn tls_identity_pem(
        mut self,
        cert_pem: impl Into<Vec<u8>>,
        key_pem: impl Into<Vec<u8>>,
    ) -> Self {
        self.identity = Some((cert_pem.into(), key_pem.into()));
        self
    }

    /// **Dangerous**: accept any server certificate, valid or not, for any host name.
    /// Only for tests against servers with throw-away certificates.
    pub fn danger_accept_invalid_certs(mut self, accept: bool) -> Self {
        self.danger_accept_invalid_certs = accept;
        self
    }

    /// Checks the settings and builds the transport. Must be called inside a tokio runtime
    /// only when requests are sent, not to build.
    pub fn build(self) -> Result<HttpTransport, Error> {
        if let Some(e) = self.error {
            return Err(e);
        }
        let base = parse_host(&self.host)?;

        let authorization = match &self.token {
            Some(token) => {
                let mut value =
                    HeaderValue::from_str(&format!("{} {token}", self.auth_scheme.as_str()))
                        .map_err(|_| {
                            Error::config(
                                "the token contains characters not allowed in an HTTP header",
                            )
                        })?;
                value.set_sensitive(true);
                Some(value)
            }
            None => None,
        };

        let mut headers = self.headers;
        let user_agent = self.user_agent.unwrap_or_else(|| {
            format!(
                "influxdb3-rust/{} ({}; {})",
                env!("CARGO_PKG_VERSION"),
                std::env::consts::OS,
                std::env::consts::ARCH
            )
        });
        headers.insert(
            USER_AGENT,
            HeaderValue::from_str(&user_agent)
                .map_err(|e| Error::config(format!("invalid user agent {user_agent:?}: {e}")))?,
        );

        let proxy = self.proxy.as_deref().map(ProxyConfig::parse).transpose()?;
        let proxy_authorization = proxy.as_ref().and_then(|p| p.authorization.clone());
        let tls = crate::connect::tls_config(
            &self.root_certificates,
            self.identity.as_ref(),
            self.danger_accept_invalid_certs,
        )?;
        let connector = Connector::new(self.connect_timeout, proxy);
        let https = hyper_rustls::HttpsConnectorBuilder::new()
            .with_tls_config(tls)
            .https_or_http()
            .enable_http1()
            .enable_http2()
            .wrap_connector(connector);
        let client = Client::builder(TokioExecutor::new())
            .pool_idle_timeout(Duration::from_secs(90))
            .pool_max_idle_per_host(100)
            .pool_timer(TokioTimer::new())
            .timer(TokioTimer::new())
            .build(https);

        Ok(HttpTransport {
            inner: Arc::new(TransportInner {
                client,
                base,
                authorization,
                auth_scheme: self.auth_scheme,
                headers,
                proxy_authorization,
                org: self.org,
                gzip_threshold: self.gzip_threshold,
                timeout: self.timeout,
                proxy: self.proxy.map(|p| influxdb3_tls::redact_url(&p)),
                danger_accept_invalid_certs: self.danger_accept_invalid_certs,
            }),
        })
    }
}

/// Parses and checks the host URL (`host[:port]` means `https`; see
/// [`influxdb3_tls::parse_host_url`]); a host URL must not have a query string or fragment.
fn parse_host(host: &str) -> Result<Url, Error> {
    let url = influxdb3_tls::parse_host_url(host).map_err(|e| Error::config(e.to_string()))?;
    if url.query().is_some() || url.fragment().is_some() {
        return Err(Error::config(
            "the host URL must not have a query string or fragment",
        ));
    }
    Ok(url)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_body_is_compressed_once_for_all_its_clones() {
        let calls = std::sync::atomic::AtomicUsize::new(0);
        let body = Body::new(Bytes::from_static(b"m v=1 1\n"));
        let retry = body.clone();
        let compress = |data: &[u8]| {
            calls.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            gzip_body(data)
        };
        let first = body.gzipped(compress).unwrap();
        let again = retry.gzipped(compress).unwrap();
        assert_eq!(first, again);
        assert_eq!(calls.load(std::sync::atomic::Ordering::SeqCst), 1);
    }
    use influxdb3_lp::Precision;

    #[test]
    fn server_info_prefers_headers_and_falls_back_to_the_body() {
        let body = br#"{"product_name":"InfluxDB 3 Enterprise","version":"3.5.0","revision":"x"}"#;
        let mut headers = HeaderMap::new();
        assert_eq!(
            ServerInfo::from_ping(&headers, body),
            ServerInfo {
                version: Some("3.5.0".to_owned()),
                build: None,
                product_name: Some("InfluxDB 3 Enterprise".to_owned()),
            }
        );
        headers.insert("x-influxdb-version", HeaderValue::from_static("3.6.1"));
        headers.insert("x-influxdb-build", HeaderValue::from_static("Enterprise"));
        let info = ServerInfo::from_ping(&headers, b"not json");
        assert_eq!(info.version.as_deref(), Some("3.6.1"));
        assert_eq!(info.build.as_deref(), Some("Enterprise"));
        assert_eq!(info.product_name, None);
        assert_eq!(
            ServerInfo::from_ping(&HeaderMap::new(), b""),
            ServerInfo::default()
        );
    }

    fn transport(host: &str) -> HttpTransport {
        HttpTransport::builder(host)
            .token("secret-token")
            .build()
            .unwrap()
    }

    #[test]
    fn urls_keep_prefix_and_encode_parameters() {
        let t = transport("http://localhost:8181/influx/");
        let v2 = WriteParams::new("my db&x").precision(Precision::Microseconds);
        assert_eq!(
            t.write_url(&v2),
            "http://localhost:8181/influx/api/v2/write?bucket=my+db%26x&precision=us"
        );
        let v3 = WriteParams::new("db")
            .endpoint(Endpoint::V3)
            .precision(Precision::Milliseconds);
        assert_eq!(
            t.write_url(&v3),
            "http://localhost:8181/influx/api/v3/write_lp?db=db&precision=millisecond"
        );
        let v3 = v3.no_sync(true).accept_partial(false);
        assert_eq!(
            t.write_url(&v3),
            "http://localhost:8181/influx/api/v3/write_lp?db=db&precision=millisecond&no_sync=true&accept_partial=false"
        );
        let t = HttpTransport::builder("https://h")
            .org("my-org")
            .build()
            .unwrap();
        assert_eq!(
            t.write_url(&WriteParams::new("d")),
            "https://h/api/v2/write?org=my-org&bucket=d&precision=ns"
        );
    }

    #[test]
    fn debug_redacts_the_token() {
        let t = transport("http://localhost:8181");
        let shown = format!("{t:?}");
        assert!(!shown.contains("secret-token"), "{shown}");
        assert!(shown.contains("<redacted>"), "{shown}");
        let b = HttpTransport::builder("http://h").token("secret-token");
        assert!(!format!("{b:?}").contains("secret-token"));
    }

    #[test]
    fn bad_configuration_is_reported() {
        let cases = [
            ("", "empty"),
            ("   ", "empty"),
            ("ftp://h", "scheme"),
            ("http://user:pw@h", "credentials"),
            ("http://h?token=x", "query"),
            ("not a url", "invalid host URL"),
        ];
        for (host, expected) in cases {
            let err = HttpTransport::builder(host).build().unwrap_err();
            assert_eq!(err.kind(), ErrorKind::Config);
            assert!(err.message().contains(expected), "{host}: {err}");
            assert!(!err.to_string().contains("pw"), "{err}");
        }
        let err = HttpTransport::builder("http://h")
            .header("bad name", "v")
            .build()
            .unwrap_err();
        assert!(err.message().contains("bad name"), "{err}");
        let err = HttpTransport::builder("http://h")
            .token("a\nb")
            .build()
            .unwrap_err();
        assert!(!err.to_string().contains("a\nb"));
        let err = HttpTransport::builder("http://h")
            .tls_root_certificates_pem("no pem here")
            .build()
            .unwrap_err();
        assert!(err.message().contains("certificate"), "{err}");
    }

    #[test]
    fn gzip_round_trips() {
        let body = b"cpu v=1\n".repeat(500);
        let gz = gzip_body(&body).unwrap();
        assert!(gz.len() < body.len() / 4);
        let mut out = Vec::new();
        std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(&gz[..]), &mut out).unwrap();
        assert_eq!(out, body);
    }
}
