//! One listener serving HTTP/1.1 and HTTP/2 (h2c, or h2 over TLS): HTTP/2 requests whose
//! `content-type` starts with `application/grpc` go to the Flight service, everything else to
//! the HTTP router (PROTOCOL.md §1.1).

use std::convert::Infallible;
use std::sync::Arc;
use std::time::{Duration, Instant};

use http::{Request, Response};
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Notify, watch};
use tokio::task::JoinSet;
use tokio_rustls::TlsAcceptor;
use tower::ServiceExt as _;
use tower::util::BoxCloneSyncService;

use crate::http::HttpApp;
use crate::state::EmulatorState;

/// How long a shutdown waits for open connections to finish before closing them.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

/// The gRPC side as a type-erased tower service.
pub(crate) type GrpcService =
    BoxCloneSyncService<Request<Incoming>, Response<tonic::body::Body>, Infallible>;

/// Everything one connection needs.
#[derive(Clone)]
struct App {
    http: Arc<HttpApp>,
    grpc: GrpcService,
    state: Arc<EmulatorState>,
}

/// Accepts connections until `shutdown` turns true, then shuts every connection down
/// gracefully (at most [`SHUTDOWN_GRACE`]) and returns, closing the listener.
pub(crate) async fn serve(
    listener: TcpListener,
    tls: Option<TlsAcceptor>,
    state: Arc<EmulatorState>,
    grpc: GrpcService,
    mut shutdown: watch::Receiver<bool>,
) {
    let app = App {
        http: Arc::new(HttpApp::new(Arc::clone(&state))),
        grpc,
        state,
    };
    let mut connections = JoinSet::new();
    let connection_shutdown = shutdown.clone();
    loop {
        tokio::select! {
            () = stopped(&mut shutdown) => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, _peer)) => {
                    connections.spawn(connection(
                        stream,
                        tls.clone(),
                        app.clone(),
                        connection_shutdown.clone(),
                    ));
                }
                Err(e) => {
                    // Typically EMFILE: back off briefly instead of spinning.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
            },
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
    drop(listener);
    let drained = tokio::time::timeout(SHUTDOWN_GRACE, async {
        while connections.join_next().await.is_some() {}
    })
    .await;
    if drained.is_err() {
        connections.abort_all();
    }
}

/// Resolves once shutdown was asked for (or the handle is gone).
async fn stopped(shutdown: &mut watch::Receiver<bool>) {
    // The `Ref` guard is dropped here, keeping the callers' futures `Send`.
    let _ = shutdown.wait_for(|stop| *stop).await;
}

async fn connection(
    stream: TcpStream,
    tls: Option<TlsAcceptor>,
    app: App,
    shutdown: watch::Receiver<bool>,
) {
    // Latency matters more than packet count for a test server.
    let _ = stream.set_nodelay(true);
    match tls {
        None => serve_io(stream, app, shutdown).await,
        Some(acceptor) => match acceptor.accept(stream).await {
            Ok(stream) => serve_io(stream, app, shutdown).await,
            Err(e) => tracing::debug!(error = %e, "TLS handshake failed"),
        },
    }
}

async fn serve_io<I>(io: I, app: App, mut shutdown: watch::Receiver<bool>)
where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    // Set by the close-connection fault: drop the connection without answering.
    let kill = Arc::new(Notify::new());
    let service = {
        let kill = Arc::clone(&kill);
        hyper::service::service_fn(move |request: Request<Incoming>| {
            let app = app.clone();
            let kill = Arc::clone(&kill);
            async move { Ok::<_, Infallible>(app.handle(request, &kill).await) }
        })
    };
    let builder = auto::Builder::new(TokioExecutor::new());
    let conn = builder.serve_connection(TokioIo::new(io), service);
    tokio::pin!(conn);
    let mut stopping = false;
    loop {
        tokio::select! {
            result = conn.as_mut() => {
                if let Err(e) = result {
                    tracing::debug!(error = %e, "connection ended with an error");
                }
                return;
            }
            _ = kill.notified() => return,
            () = stopped(&mut shutdown), if !stopping => {
                stopping = true;
                conn.as_mut().graceful_shutdown();
            }
        }
    }
}

impl App {
    async fn handle(
        &self,
        request: Request<Incoming>,
        kill: &Notify,
    ) -> Response<tonic::body::Body> {
        self.state.stats.record_request();
        let is_grpc = request.version() == http::Version::HTTP_2
            && request
                .headers()
                .get(http::header::CONTENT_TYPE)
                .is_some_and(|v| v.as_bytes().starts_with(b"application/grpc"));
        if is_grpc {
            return match self.grpc.clone().oneshot(request).await {
                Ok(response) => response,
                Err(never) => match never {},
            };
        }
        let started = Instant::now();
        let method = request.method().clone();
        let path = request.uri().path().to_owned();
        let response = self.http.handle(request, kill).await;
        // The path only: a `p=` query parameter would carry the token.
        tracing::info!(
            target: "influxdb3_emulator::request",
            %method,
            %path,
            status = response.status().as_u16(),
            duration = ?started.elapsed(),
            "request"
        );
        response
    }
}
