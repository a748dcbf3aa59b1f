//! TLS pieces shared by the write transport (`influxdb3-write`), the Flight query client
//! (`influxdb3-query`) and the emulator (`influxdb3-emulator`), so that each reads PEM the
//! same way and there is one accept-any-certificate verifier to review.
//!
//! - [`certificates`] and [`private_key`] read PEM, with errors that name the setting the
//!   PEM came from ([`PemError`]).
//! - [`AcceptAnyServerCertificate`] is the verifier behind the clients'
//!   `danger_accept_invalid_certs(true)`: the only way to turn verification off, and never
//!   the default.
//! - [`parse_host_url`] is the one parser of server addresses (`host[:port]` defaults to
//!   `https`), used by the facade, the write transport and the query client.
//! - [`redact_url`] shows a host URL in errors, logs and `Debug` without the credentials a
//!   user may have put in it (a password, a `?token=`).
//!
//! ```
//! let pem = b"-----BEGIN CERTIFICATE-----\nnot base64!\n-----END CERTIFICATE-----\n";
//! let err = influxdb3_tls::certificates(pem, "root certificate PEM #1").unwrap_err();
//! assert!(err.to_string().starts_with("root certificate PEM #1: cannot read a certificate"));
//! ```

use std::fmt;
use std::sync::Arc;

mod host;

pub use host::{HostUrlError, parse_host_url};

/// A host URL (or what a user passed as one) with its credentials hidden: the user info
/// before `@` and every query value become `<redacted>`. Works on text that does not parse
/// as a URL, so that errors about malformed hosts can quote it safely.
///
/// ```
/// use influxdb3_tls::redact_url;
///
/// assert_eq!(redact_url("http://user:pw@host:8181/x"), "http://<redacted>@host:8181/x");
/// assert_eq!(redact_url("localhost:8181?token=s&db=x"), "localhost:8181?token=<redacted>&db=<redacted>");
/// assert_eq!(redact_url("https://example.com:8181"), "https://example.com:8181");
/// ```
pub fn redact_url(text: &str) -> String {
    let (before_query, query) = match text.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (text, None),
    };
    let (scheme, rest) = match before_query.split_once("://") {
        Some((scheme, rest)) => (Some(scheme), rest),
        None => (None, before_query),
    };
    let authority_end = rest.find(['/', '#']).unwrap_or(rest.len());
    let (authority, path) = rest.split_at(authority_end);
    let mut out = String::with_capacity(text.len());
    if let Some(scheme) = scheme {
        out.push_str(scheme);
        out.push_str("://");
    }
    match authority.rsplit_once('@') {
        Some((_, host)) => {
            out.push_str("<redacted>@");
            out.push_str(host);
        }
        None => out.push_str(authority),
    }
    out.push_str(path);
    if let Some(query) = query {
        out.push('?');
        let (query, fragment) = match query.split_once('#') {
            Some((q, f)) => (q, Some(f)),
            None => (query, None),
        };
        for (i, pair) in query.split('&').enumerate() {
            if i > 0 {
                out.push('&');
            }
            match pair.split_once('=') {
                Some((key, _)) => {
                    out.push_str(key);
                    out.push_str("=<redacted>");
                }
                None => out.push_str(pair),
            }
        }
        if let Some(fragment) = fragment {
            out.push('#');
            out.push_str(fragment);
        }
    }
    out
}

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{CryptoProvider, verify_tls12_signature, verify_tls13_signature};
use rustls::pki_types::pem::PemObject as _;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, SignatureScheme};

/// A PEM that could not be used. The message starts with the name of the setting it came
/// from (for example `client certificate PEM (tls_identity_pem)`) and says what was wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PemError {
    message: String,
}

impl fmt::Display for PemError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for PemError {}

impl PemError {
    fn new(what: &str, problem: fmt::Arguments<'_>) -> PemError {
        PemError {
            message: format!("{what}: {problem}"),
        }
    }
}

/// Every `CERTIFICATE` block of `pem`, in order. `what` names the setting in errors.
///
/// Fails on a malformed block and on a PEM with no certificate at all (a key or an empty
/// file passed where a certificate belongs).
pub fn certificates(pem: &[u8], what: &str) -> Result<Vec<CertificateDer<'static>>, PemError> {
    let certificates = CertificateDer::pem_slice_iter(pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| PemError::new(what, format_args!("cannot read a certificate: {e}")))?;
    if certificates.is_empty() {
        return Err(PemError::new(what, format_args!("no certificate found")));
    }
    Ok(certificates)
}

/// The first private key of `pem` (PKCS #8, PKCS #1 or SEC1). `what` names the setting in
/// errors.
pub fn private_key(pem: &[u8], what: &str) -> Result<PrivateKeyDer<'static>, PemError> {
    PrivateKeyDer::from_pem_slice(pem).map_err(|e| match e {
        rustls::pki_types::pem::Error::NoItemsFound => PemError::new(
            what,
            format_args!("no usable private key: no private key found"),
        ),
        e => PemError::new(what, format_args!("no usable private key: {e}")),
    })
}

/// A server certificate verifier that accepts every certificate: the one behind the clients'
/// `danger_accept_invalid_certs(true)`.
///
/// Whatever certificate the server presents is accepted (expired, self-signed, for another
/// name), but the handshake signatures are still checked with the provider's algorithms, so
/// the session keys stay bound to the certificate the server sent. Use it only where the
/// network is trusted, such as a test server with a throwaway certificate.
#[derive(Debug)]
pub struct AcceptAnyServerCertificate {
    provider: Arc<CryptoProvider>,
}

impl AcceptAnyServerCertificate {
    /// A verifier that checks handshake signatures with `provider`'s algorithms.
    pub fn new(provider: Arc<CryptoProvider>) -> AcceptAnyServerCertificate {
        AcceptAnyServerCertificate { provider }
    }
}

impl ServerCertVerifier for AcceptAnyServerCertificate {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn self_signed() -> rcgen::CertifiedKey<rcgen::KeyPair> {
        rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap()
    }

    #[test]
    fn certificates_reads_every_block_in_order() {
        let (a, b) = (self_signed(), self_signed());
        let pem = format!("{}{}", a.cert.pem(), b.cert.pem());
        let read = certificates(pem.as_bytes(), "chain").unwrap();
        assert_eq!(read.len(), 2);
        assert_eq!(read[0].as_ref(), a.cert.der().as_ref());
        assert_eq!(read[1].as_ref(), b.cert.der().as_ref());
    }

    #[test]
    fn certificate_errors_name_the_setting_and_the_problem() {
        let key_only = self_signed().signing_key.serialize_pem();
        for (pem, problem) in [
            ("", "no certificate found"),
            (key_only.as_str(), "no certificate found"),
            (
                "-----BEGIN CERTIFICATE-----\n!!!\n-----END CERTIFICATE-----\n",
                "cannot read a certificate",
            ),
        ] {
            let err = certificates(pem.as_bytes(), "root certificate PEM #2").unwrap_err();
            let text = err.to_string();
            assert!(
                text.starts_with("root certificate PEM #2: ") && text.contains(problem),
                "{pem:?}: {text}"
            );
        }
    }

    #[test]
    fn private_key_reads_a_key_and_names_the_setting_otherwise() {
        let key = self_signed();
        let read = private_key(key.signing_key.serialize_pem().as_bytes(), "key").unwrap();
        assert_eq!(
            read.secret_der(),
            key.signing_key.serialize_der().as_slice()
        );

        for pem in ["", "garbage", key.cert.pem().as_str()] {
            let err = private_key(pem.as_bytes(), "client key PEM (identity)").unwrap_err();
            assert!(
                err.to_string()
                    .starts_with("client key PEM (identity): no usable private key"),
                "{pem:?}: {err}"
            );
        }
    }

    #[test]
    fn the_verifier_accepts_any_certificate_but_offers_the_providers_schemes() {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let verifier = AcceptAnyServerCertificate::new(Arc::clone(&provider));
        let cert = self_signed();
        let name = ServerName::try_from("not-the-certificates-name.example").unwrap();
        assert!(
            verifier
                .verify_server_cert(cert.cert.der(), &[], &name, &[], UnixTime::now())
                .is_ok()
        );
        assert_eq!(
            verifier.supported_verify_schemes(),
            provider
                .signature_verification_algorithms
                .supported_schemes()
        );
    }
}
