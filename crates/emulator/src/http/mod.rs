//! The HTTP API: routing, authentication, request bodies and response conventions
//! (PROTOCOL.md §1).

mod admin;
mod query;
mod write;

pub(crate) use admin::{VERSION, uuid_v4};

use std::sync::Arc;

use bytes::{Bytes, BytesMut};
use http::header::HeaderValue;
use http::{Method, Request, Response, StatusCode};
use http_body_util::{BodyExt as _, Full};
use hyper::body::Incoming;
use serde::Serialize;
use tokio::sync::Notify;

use crate::state::{AuthError, EmulatorState};

/// The response type of every handler (tonic's body, shared with the gRPC side).
pub(crate) type Resp = Response<tonic::body::Body>;

/// The HTTP router.
#[derive(Debug)]
pub(crate) struct HttpApp {
    state: Arc<EmulatorState>,
}

/// A request with its body read in full.
pub(crate) struct FullRequest {
    pub(crate) method: Method,
    pub(crate) uri: http::Uri,
    pub(crate) headers: http::HeaderMap,
    pub(crate) body: Bytes,
    /// The raw body was over the size limit (its content was dropped).
    pub(crate) too_large: bool,
}

impl FullRequest {
    /// The query-string pairs, percent-decoded, in order.
    pub(crate) fn query_pairs(&self) -> Option<QueryString> {
        self.uri.query().map(|q| {
            QueryString(
                url::form_urlencoded::parse(q.as_bytes())
                    .map(|(k, v)| (k.into_owned(), v.into_owned()))
                    .collect(),
            )
        })
    }

    pub(crate) fn header(&self, name: impl http::header::AsHeaderName) -> Option<&HeaderValue> {
        self.headers.get(name)
    }
}

/// Parsed query-string pairs.
pub(crate) struct QueryString(pub(crate) Vec<(String, String)>);

impl QueryString {
    /// The value of `key`; `Err(())` when the key is repeated (the server's serde types
    /// reject duplicate fields).
    pub(crate) fn get(&self, key: &str) -> Result<Option<&str>, RepeatedKey> {
        let mut found = None;
        for (k, v) in &self.0 {
            if k == key {
                if found.is_some() {
                    return Err(RepeatedKey(key.to_owned()));
                }
                found = Some(v.as_str());
            }
        }
        Ok(found)
    }
}

/// A query parameter given more than once.
pub(crate) struct RepeatedKey(pub(crate) String);

impl RepeatedKey {
    /// serde's wording for it.
    pub(crate) fn message(&self) -> String {
        format!("duplicate field `{}`", self.0)
    }
}

impl HttpApp {
    pub(crate) fn new(state: Arc<EmulatorState>) -> Self {
        HttpApp { state }
    }

    /// Handles one HTTP request. When the close-connection fault fires, signals `kill` and
    /// never returns (the connection task drops the connection).
    pub(crate) async fn handle(&self, request: Request<Incoming>, kill: &Notify) -> Resp {
        let mut response = self.route(request, kill).await;
        let success = response.status().is_success();
        let headers = response.headers_mut();
        if success {
            headers.insert(
                http::header::ACCESS_CONTROL_ALLOW_ORIGIN,
                HeaderValue::from_static("*"),
            );
        }
        response
    }

    async fn route(&self, request: Request<Incoming>, kill: &Notify) -> Resp {
        let state = &self.state;
        if request.method() == Method::OPTIONS {
            return preflight();
        }
        let request = match read_body(request, state.max_request_size).await {
            Ok(r) => r,
            Err(e) => return plain(StatusCode::BAD_REQUEST, format!("error reading body: {e}")),
        };
        state.stats.record_bytes(request.body.len());
        if state.faults.take_close_connection() {
            kill.notify_one();
            return std::future::pending().await;
        }
        if let Some(delay) = state.faults.response_delay() {
            tokio::time::sleep(delay).await;
        }

        let path = request.uri.path().to_owned();
        let is_admin_token_create =
            request.method == Method::POST && path == "/api/v3/configure/token/admin";
        if !is_admin_token_create {
            let p_param = if path == "/write" || path == "/query" {
                request
                    .query_pairs()
                    .and_then(|q| q.get("p").ok().flatten().map(str::to_owned))
            } else {
                None
            };
            let authorization = request
                .header(http::header::AUTHORIZATION)
                .map(HeaderValue::as_bytes);
            match state.authorize_http(authorization, p_param.as_deref()) {
                Ok(()) => {}
                Err(AuthError::Malformed) => {
                    return plain(
                        StatusCode::BAD_REQUEST,
                        "{\"error\": \"Authorization header was malformed, the request was not in the form of 'Authorization: <auth-scheme> <token>', supported auth-schemes are Bearer, Token and Basic\"}",
                    );
                }
                // 3.6.0 answers 401 with an empty body.
                Err(AuthError::Unauthenticated) => return empty(StatusCode::UNAUTHORIZED),
            }
        }

        let method = request.method.clone();
        let is_write = matches!(
            path.as_str(),
            "/api/v3/write_lp" | "/api/v2/write" | "/write"
        );
        if request.too_large && !is_write {
            // The write endpoints answer in their own shapes. Elsewhere 3.6.0's error for an
            // over-size body is the same as on `/api/v3/write_lp`: a 500 with the message.
            return plain(
                StatusCode::INTERNAL_SERVER_ERROR,
                format!(
                    "max request size ({} bytes) exceeded",
                    state.max_request_size
                ),
            );
        }
        match (method, path.as_str()) {
            (Method::POST, "/api/v3/write_lp") => {
                write::handle(state, request, write::Api::V3).await
            }
            (Method::POST, "/api/v2/write") => write::handle(state, request, write::Api::V2).await,
            (Method::POST, "/write") => write::handle(state, request, write::Api::V1).await,
            (Method::GET | Method::POST, "/api/v3/query_sql") => {
                query::handle(state, request, crate::sql::QueryLanguage::Sql).await
            }
            (Method::GET | Method::POST, "/api/v3/query_influxql") => {
                query::handle(state, request, crate::sql::QueryLanguage::InfluxQl).await
            }
            (Method::GET | Method::POST, "/query") => query::v1(state, request).await,
            (Method::GET, "/health" | "/api/v1/health") => admin::health(),
            (Method::GET, "/metrics") => admin::metrics(state),
            (Method::GET | Method::POST, "/ping") => admin::ping(state),
            (_, "/api/v3/configure/database") => admin::database(state, request),
            (_, "/api/v3/configure/table") => admin::table(state, request),
            (_, p) if p.starts_with("/api/v3/configure/token") => admin::token(state, &request),
            _ => not_found(),
        }
    }
}

/// The router's 404 for an unknown path or method: `not found`, with the CORS header the
/// server's router adds.
pub(crate) fn not_found() -> Resp {
    let mut response = plain(StatusCode::NOT_FOUND, "not found");
    response.headers_mut().insert(
        http::header::ACCESS_CONTROL_ALLOW_ORIGIN,
        HeaderValue::from_static("*"),
    );
    response
}

/// Reads the whole body. Past `limit` bytes the rest is read and dropped, so the client
/// finishes its upload and then gets the 413, as with the real server.
async fn read_body(request: Request<Incoming>, limit: usize) -> Result<FullRequest, hyper::Error> {
    let (parts, mut body) = request.into_parts();
    let mut buf = BytesMut::new();
    let mut too_large = false;
    while let Some(frame) = body.frame().await {
        let frame = frame?;
        if let Ok(data) = frame.into_data() {
            if too_large || buf.len() + data.len() > limit {
                too_large = true;
                buf = BytesMut::new();
            } else {
                buf.extend_from_slice(&data);
            }
        }
    }
    Ok(FullRequest {
        method: parts.method,
        uri: parts.uri,
        headers: parts.headers,
        body: buf.freeze(),
        too_large,
    })
}

fn preflight() -> Resp {
    let mut response = empty(StatusCode::NO_CONTENT);
    let headers = response.headers_mut();
    headers.insert(
        http::header::ACCESS_CONTROL_ALLOW_METHODS,
        HeaderValue::from_static("GET, POST, PUT, DELETE, OPTIONS"),
    );
    headers.insert(
        http::header::ACCESS_CONTROL_ALLOW_HEADERS,
        HeaderValue::from_static("*"),
    );
    headers.insert(
        http::header::ACCESS_CONTROL_MAX_AGE,
        HeaderValue::from_static("86400"),
    );
    response
}

/// A response with `body` and no `Content-Type` (the server's error convention).
pub(crate) fn plain(status: StatusCode, body: impl Into<Bytes>) -> Resp {
    let mut response = Response::new(tonic::body::Body::new(Full::new(body.into())));
    *response.status_mut() = status;
    response
}

/// A response without a body.
pub(crate) fn empty(status: StatusCode) -> Resp {
    let mut response = Response::new(tonic::body::Body::empty());
    *response.status_mut() = status;
    response
}

/// A successful response with a content type.
pub(crate) fn typed(
    status: StatusCode,
    content_type: &'static str,
    body: impl Into<Bytes>,
) -> Resp {
    let mut response = plain(status, body);
    response.headers_mut().insert(
        http::header::CONTENT_TYPE,
        HeaderValue::from_static(content_type),
    );
    response
}

/// `{"error":"<message>"}` with no `Content-Type`.
pub(crate) fn error_json(status: StatusCode, message: &str) -> Resp {
    json_error_body(status, &ErrorBody { error: message })
}

/// Any serializable error body with no `Content-Type`.
pub(crate) fn json_error_body(status: StatusCode, body: &impl Serialize) -> Resp {
    match serde_json::to_vec(body) {
        Ok(bytes) => plain(status, bytes),
        Err(e) => plain(
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("error serializing the response: {e}"),
        ),
    }
}

/// `{"code":"<code>","message":"<message>"}`, the `/api/v2/write` error shape.
pub(crate) fn v2_error(status: StatusCode, code: &str, message: &str) -> Resp {
    #[derive(Serialize)]
    struct V2Error<'a> {
        code: &'a str,
        message: &'a str,
    }
    json_error_body(status, &V2Error { code, message })
}

#[derive(Serialize)]
struct ErrorBody<'a> {
    error: &'a str,
}
