//! State shared by the HTTP and Flight sides of the emulator.
//!
//! OWNERSHIP: the HTTP/storage side fills this in; the Flight/SQL side only *uses*
//! the items marked "contract" below, so their signatures must not change without
//! updating `flight.rs`, `sql.rs` and `influxql.rs`.

use std::sync::Arc;

use base64::Engine as _;

pub(crate) use crate::faults::Faults;
pub(crate) use crate::stats::StatsRecorder as Stats;
pub(crate) use crate::store::{DatabaseSnapshot, Store, TableSnapshot};

/// Everything a request handler needs.
#[derive(Debug)]
pub(crate) struct EmulatorState {
    /// The in-memory databases.
    pub(crate) store: Store,
    /// Injected faults.
    pub(crate) faults: Arc<Faults>,
    /// Request statistics.
    pub(crate) stats: Arc<Stats>,
    /// The token every request must carry, or `None` to accept any (or none).
    pub(crate) token: Option<String>,
    /// Largest accepted request body, raw and after gunzip.
    pub(crate) max_request_size: usize,
    /// A random id, sent as ping's `process_id`.
    pub(crate) cluster_uuid: String,
    /// Idle time after which a Flight query stream gets an empty keep-alive batch.
    pub(crate) flight_keep_alive: std::time::Duration,
}

/// What a query fault does to one DoGet.
#[derive(Debug, Clone)]
pub(crate) enum QueryFault {
    /// Fail at once with this gRPC status.
    Fail(tonic::Code, String),
    /// Send this many batches, then fail with the status inside the stream.
    FailAfterBatches(usize, tonic::Code, String),
}

/// Why an HTTP `Authorization` value was rejected (PROTOCOL.md §1.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum AuthError {
    /// Not `<scheme> <token>` with a known scheme: 400.
    Malformed,
    /// Missing or wrong token: 401.
    Unauthenticated,
}

impl EmulatorState {
    /// Contract: checks the gRPC `authorization` metadata value (PROTOCOL.md §3.1):
    /// `Bearer x`, `Token x` or `Basic base64(user:token)`, case-sensitive scheme, split at
    /// the first space; for Basic the token is after the first `:`. Returns
    /// `UNAUTHENTICATED` when a token is configured and the value is missing, malformed or wrong.
    pub(crate) fn authorize_grpc(&self, authorization: Option<&str>) -> Result<(), tonic::Status> {
        let Some(expected) = &self.token else {
            return Ok(());
        };
        let token = authorization.and_then(|value| {
            let (scheme, rest) = value.split_once(' ')?;
            match scheme {
                "Bearer" | "Token" => Some(rest.to_owned()),
                "Basic" => {
                    let decoded = base64::engine::general_purpose::STANDARD
                        .decode(rest)
                        .ok()?;
                    let text = String::from_utf8(decoded).ok()?;
                    text.split_once(':').map(|(_, token)| token.to_owned())
                }
                _ => None,
            }
        });
        match token {
            Some(token) if !token.is_empty() && token == *expected => Ok(()),
            _ => Err(tonic::Status::unauthenticated("Unauthenticated")),
        }
    }

    /// Checks an HTTP request's credentials (PROTOCOL.md §1.2). `p_param` is the `p=` query
    /// parameter of `/write` and `/query`, which takes precedence over the header.
    ///
    /// A malformed `Authorization` header is rejected even when no token is configured, as
    /// the server does with `--without-auth`.
    pub(crate) fn authorize_http(
        &self,
        authorization: Option<&[u8]>,
        p_param: Option<&str>,
    ) -> Result<(), AuthError> {
        let token = match (p_param, authorization) {
            (Some(p), _) => Some(p.to_owned()),
            (None, Some(header)) => Some(parse_http_authorization(header)?),
            (None, None) => None,
        };
        match (&self.token, token) {
            (None, _) => Ok(()),
            (Some(expected), Some(token)) if token == *expected => Ok(()),
            (Some(_), _) => Err(AuthError::Unauthenticated),
        }
    }
}

/// Extracts the token of an HTTP `Authorization` header: exactly two parts separated by a
/// single space, scheme `Bearer`, `Token` or `Basic` (case-sensitive); Basic carries
/// base64 of `user:token`, split at the last `:`.
fn parse_http_authorization(header: &[u8]) -> Result<String, AuthError> {
    let text = std::str::from_utf8(header).map_err(|_| AuthError::Malformed)?;
    let parts: Vec<&str> = text.split(' ').collect();
    let [scheme, credentials] = parts.as_slice() else {
        return Err(AuthError::Malformed);
    };
    match *scheme {
        "Bearer" | "Token" => Ok((*credentials).to_owned()),
        "Basic" => {
            let decoded = base64::engine::general_purpose::STANDARD
                .decode(credentials)
                .map_err(|_| AuthError::Malformed)?;
            let text = String::from_utf8(decoded).map_err(|_| AuthError::Malformed)?;
            let (_user, token) = text.rsplit_once(':').ok_or(AuthError::Malformed)?;
            Ok(token.to_owned())
        }
        _ => Err(AuthError::Malformed),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state(token: Option<&str>) -> EmulatorState {
        EmulatorState {
            store: Store::default(),
            faults: Arc::default(),
            stats: Arc::default(),
            token: token.map(str::to_owned),
            max_request_size: 1024,
            cluster_uuid: String::new(),
            flight_keep_alive: std::time::Duration::from_secs(5),
        }
    }

    #[test]
    fn http_authorization_forms() {
        let s = state(Some("tok"));
        assert_eq!(s.authorize_http(Some(b"Bearer tok"), None), Ok(()));
        assert_eq!(s.authorize_http(Some(b"Token tok"), None), Ok(()));
        // base64("me:x:tok") -> split at the last ':'
        assert_eq!(s.authorize_http(Some(b"Basic bWU6eDp0b2s="), None), Ok(()));
        assert_eq!(
            s.authorize_http(Some(b"bearer tok"), None),
            Err(AuthError::Malformed)
        );
        assert_eq!(
            s.authorize_http(Some(b"Bearer tok x"), None),
            Err(AuthError::Malformed)
        );
        assert_eq!(
            s.authorize_http(Some(b"Basic !!"), None),
            Err(AuthError::Malformed)
        );
        assert_eq!(
            s.authorize_http(Some(b"Bearer nope"), None),
            Err(AuthError::Unauthenticated)
        );
        assert_eq!(
            s.authorize_http(None, None),
            Err(AuthError::Unauthenticated)
        );
        assert_eq!(s.authorize_http(Some(b"Bearer nope"), Some("tok")), Ok(()));
        let open = state(None);
        assert_eq!(open.authorize_http(None, None), Ok(()));
        assert_eq!(
            open.authorize_http(Some(b"Bearer"), None),
            Err(AuthError::Malformed)
        );
    }

    #[test]
    fn grpc_authorization_forms() {
        let s = state(Some("tok"));
        assert!(s.authorize_grpc(Some("Bearer tok")).is_ok());
        assert!(s.authorize_grpc(Some("Token tok")).is_ok());
        // base64("me:tok")
        assert!(s.authorize_grpc(Some("Basic bWU6dG9r")).is_ok());
        assert!(s.authorize_grpc(Some("bearer tok")).is_err());
        assert!(s.authorize_grpc(None).is_err());
        assert!(state(None).authorize_grpc(None).is_ok());
    }
}
