//! Connection setup for [`HttpTransport`](crate::HttpTransport): TCP (directly or through an
//! HTTP proxy) and the rustls configuration.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use base64::Engine as _;
use http::{HeaderValue, Uri};
use hyper::rt::{Read, ReadBufCursor, Write};
use hyper_util::client::legacy::connect::{Connected, Connection, HttpConnector};
use hyper_util::rt::TokioIo;
use influxdb3_tls::AcceptAnyServerCertificate;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;

use crate::Error;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// An HTTP proxy: where it is and the `Proxy-Authorization` to present.
#[derive(Clone)]
pub(crate) struct ProxyConfig {
    uri: Uri,
    pub(crate) authorization: Option<HeaderValue>,
}

impl std::fmt::Debug for ProxyConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProxyConfig")
            .field("uri", &self.uri)
            .field(
                "authorization",
                &self.authorization.as_ref().map(|_| "<redacted>"),
            )
            .finish()
    }
}

impl ProxyConfig {
    pub(crate) fn parse(text: &str) -> Result<ProxyConfig, Error> {
        let shown = influxdb3_tls::redact_url(text);
        let url = url::Url::parse(text)
            .map_err(|e| Error::config(format!("invalid proxy URL {shown}: {e}")))?;
        if url.scheme() != "http" {
            return Err(Error::config(format!(
                "unsupported proxy URL {shown}: only http:// proxies are supported"
            )));
        }
        let host = url
            .host_str()
            .ok_or_else(|| Error::config(format!("the proxy URL {shown} has no host")))?;
        let port = url.port_or_known_default().unwrap_or(80);
        let uri: Uri = format!("http://{host}:{port}")
            .parse()
            .map_err(|e| Error::config(format!("invalid proxy URL {shown}: {e}")))?;
        let authorization = if url.username().is_empty() && url.password().is_none() {
            None
        } else {
            let decode = |s: &str| {
                percent_decode(s)
                    .ok_or_else(|| Error::config(format!("invalid escape in proxy URL {shown}")))
            };
            let user = decode(url.username())?;
            let password = decode(url.password().unwrap_or(""))?;
            let encoded =
                base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
            let mut value = HeaderValue::from_str(&format!("Basic {encoded}"))
                .map_err(|_| Error::config("invalid proxy credentials"))?;
            value.set_sensitive(true);
            Some(value)
        };
        Ok(ProxyConfig { uri, authorization })
    }
}

fn percent_decode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = std::str::from_utf8(bytes.get(i + 1..i + 3)?).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// Opens TCP connections, directly or through an HTTP proxy.
#[derive(Clone)]
pub(crate) struct Connector {
    http: HttpConnector,
    proxy: Option<Arc<ProxyConfig>>,
}

impl Connector {
    pub(crate) fn new(connect_timeout: Option<Duration>, proxy: Option<ProxyConfig>) -> Self {
        let mut http = HttpConnector::new();
        http.enforce_http(false);
        http.set_nodelay(true);
        http.set_keepalive(Some(Duration::from_secs(30)));
        http.set_connect_timeout(connect_timeout);
        Connector {
            http,
            proxy: proxy.map(Arc::new),
        }
    }
}

impl tower_service::Service<Uri> for Connector {
    type Response = Stream;
    type Error = BoxError;
    type Future = Pin<Box<dyn Future<Output = Result<Stream, BoxError>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.http.poll_ready(cx).map_err(Into::into)
    }

    fn call(&mut self, dst: Uri) -> Self::Future {
        let Some(proxy) = self.proxy.clone() else {
            let connecting = self.http.call(dst);
            return Box::pin(async move {
                Ok(Stream {
                    io: connecting.await?,
                    proxied: false,
                })
            });
        };
        let connecting = self.http.call(proxy.uri.clone());
        Box::pin(async move {
            let mut io = connecting.await.map_err(|e| {
                format!(
                    "cannot connect to the proxy: {}",
                    crate::transport::chain(&e)
                )
            })?;
            if dst.scheme() == Some(&http::uri::Scheme::HTTPS) {
                tunnel(io.inner_mut(), &dst, proxy.authorization.as_ref()).await?;
                Ok(Stream { io, proxied: false })
            } else {
                Ok(Stream { io, proxied: true })
            }
        })
    }
}

/// Asks the proxy for a `CONNECT` tunnel to `dst` and waits for its 2xx answer.
async fn tunnel(
    stream: &mut TcpStream,
    dst: &Uri,
    authorization: Option<&HeaderValue>,
) -> Result<(), BoxError> {
    let host = dst.host().ok_or("the destination URL has no host")?;
    let port = dst.port_u16().unwrap_or(443);
    let mut request =
        format!("CONNECT {host}:{port} HTTP/1.1\r\nHost: {host}:{port}\r\n").into_bytes();
    if let Some(auth) = authorization {
        request.extend_from_slice(b"Proxy-Authorization: ");
        request.extend_from_slice(auth.as_bytes());
        request.extend_from_slice(b"\r\n");
    }
    request.extend_from_slice(b"\r\n");
    stream.write_all(&request).await?;

    // Read the response head; nothing follows it until we speak (TLS client hello first).
    let mut head = Vec::with_capacity(256);
    let mut chunk = [0u8; 512];
    loop {
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            return Err("the proxy closed the connection during CONNECT".into());
        }
        head.extend_from_slice(&chunk[..n]);
        if head.windows(4).any(|w| w == b"\r\n\r\n") {
            break;
        }
        if head.len() > 16 * 1024 {
            return Err("the proxy's CONNECT response head is too large".into());
        }
    }
    let status_line = head.split(|&b| b == b'\n').next().unwrap_or_default();
    let status_line = String::from_utf8_lossy(status_line);
    let status = status_line.split_whitespace().nth(1).unwrap_or("");
    if status.len() == 3 && status.starts_with('2') {
        Ok(())
    } else {
        Err(format!(
            "the proxy refused CONNECT to {host}:{port}: {}",
            status_line.trim()
        )
        .into())
    }
}

/// A TCP connection that knows whether it goes to a proxy in absolute-form mode.
pub(crate) struct Stream {
    io: TokioIo<TcpStream>,
    proxied: bool,
}

impl Connection for Stream {
    fn connected(&self) -> Connected {
        self.io.connected().proxy(self.proxied)
    }
}

impl Read for Stream {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: ReadBufCursor<'_>,
    ) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.io).poll_read(cx, buf)
    }
}

impl Write for Stream {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.io).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.io).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.io).poll_shutdown(cx)
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.io).poll_write_vectored(cx, bufs)
    }
}

/// The rustls client configuration: `ring`, webpki roots plus `extra_roots_pem`, or no
/// verification at all when `danger_accept_invalid_certs` is set; the client certificate and
/// key of `identity` (PEM) for servers that ask for one.
pub(crate) fn tls_config(
    extra_roots_pem: &[Vec<u8>],
    identity: Option<&(Vec<u8>, Vec<u8>)>,
    danger_accept_invalid_certs: bool,
) -> Result<rustls::ClientConfig, Error> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| Error::config(format!("TLS setup failed: {e}")))?;

    let mut roots = rustls::RootCertStore {
        roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
    };
    for (i, pem) in extra_roots_pem.iter().enumerate() {
        let what = format!("root certificate PEM #{}", i + 1);
        for cert in influxdb3_tls::certificates(pem, &what).map_err(pem_error)? {
            roots
                .add(cert)
                .map_err(|e| Error::config(format!("{what}: invalid certificate: {e}")))?;
        }
    }

    let builder = if danger_accept_invalid_certs {
        builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(AcceptAnyServerCertificate::new(provider)))
    } else {
        builder.with_root_certificates(roots)
    };
    let Some((cert_pem, key_pem)) = identity else {
        return Ok(builder.with_no_client_auth());
    };
    let chain = influxdb3_tls::certificates(cert_pem, "client certificate PEM (tls_identity_pem)")
        .map_err(pem_error)?;
    let key = influxdb3_tls::private_key(key_pem, "client key PEM (tls_identity_pem)")
        .map_err(pem_error)?;
    builder.with_client_auth_cert(chain, key).map_err(|e| {
        Error::config(format!(
            "client certificate and key (tls_identity_pem) cannot be used: {e}"
        ))
    })
}

fn pem_error(e: influxdb3_tls::PemError) -> Error {
    Error::config(e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proxy_credentials_become_basic_auth() {
        let p = ProxyConfig::parse("http://us%40er:p%3Ass@proxy:3128").unwrap();
        assert_eq!(p.uri.to_string(), "http://proxy:3128/");
        let auth = p.authorization.unwrap();
        assert!(auth.is_sensitive());
        let expected = base64::engine::general_purpose::STANDARD.encode("us@er:p:ss");
        assert_eq!(auth.to_str().unwrap(), format!("Basic {expected}"));
        assert!(
            ProxyConfig::parse("http://proxy")
                .unwrap()
                .authorization
                .is_none()
        );
        let err = ProxyConfig::parse("socks5://u:secret@p:1").unwrap_err();
        assert!(!err.to_string().contains("secret"), "{err}");
    }
}
