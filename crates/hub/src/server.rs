//! The HTTP server as two functions: [`app`] builds the router from the
//! state (tests drive it with `oneshot`), [`run`] serves it on a listener
//! until `shutdown` resolves (tests bind `127.0.0.1:0`). [`webhook_app`] is
//! the webhook alone, for a listener the PBX reaches but agents do not;
//! [`run_router`] serves any of them.
//!
//! Limits: request bodies (413 past `max_body_bytes`), a time limit on every
//! request but the SSE stream, and at most `max_connections` open TCP
//! connections (further ones wait in the kernel's backlog).

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use axum::Router;
use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::StatusCode;
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::serve::{IncomingStream, Listener};
use ringside_api::Health;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tower_http::trace::TraceLayer;

use crate::crms;
use crate::error::{self, ApiError};
use crate::state::AppState;
use crate::{api, contacts, status, stream, webhook};

/// The agent API's prefix.
pub const API: &str = "/api/v1";

/// The router: webhook, agent API, stream, health.
pub fn app(state: AppState) -> Router {
    let timed = Router::new()
        .route(webhook::PATH, post(webhook::gamma))
        .route("/api/v1/me", get(api::me))
        .route("/api/v1/calls", get(api::calls))
        .route("/api/v1/calls/{id}", get(api::call))
        .route("/api/v1/calls/{id}/notes", put(api::set_notes))
        .route("/api/v1/calls/{id}/hangup", post(api::hang_up))
        .route("/api/v1/calls/{id}/transfer", post(api::transfer))
        .route("/api/v1/lookup", get(api::lookup))
        .route("/api/v1/dial", post(api::dial))
        .route("/api/v1/extensions", get(api::extensions))
        .route(
            "/api/v1/contacts",
            get(contacts::search).post(contacts::create),
        )
        .route("/api/v1/status", get(status::status))
        .route("/api/v1/crms", get(crms::list))
        .route("/api/v1/crms/links", get(crms::links))
        .route("/api/v1/crms/{id}/retry", post(crms::retry))
        .route("/api/v1/crms/{id}/check", post(crms::check))
        .route(
            "/crm/{name}/click-to-call",
            get(crms::click_to_call).post(crms::click_to_call),
        )
        .route("/crm/bitrix24/events", post(crms::bitrix_event))
        .route(
            "/crm/{name}/call-control/{action}",
            get(crms::call_control).post(crms::call_control),
        )
        .route("/healthz", get(healthz))
        .route_layer(middleware::from_fn_with_state(state.clone(), time_limit));
    let untimed = Router::new().route("/api/v1/stream", get(stream::stream));
    finish(timed.merge(untimed), state)
}

/// The webhook and `/healthz` only: what to expose where the PBX reaches
/// the hub when agents use another address.
pub fn webhook_app(state: AppState) -> Router {
    let timed = Router::new()
        .route(webhook::PATH, post(webhook::gamma))
        .route("/healthz", get(healthz))
        .route_layer(middleware::from_fn_with_state(state.clone(), time_limit));
    finish(timed, state)
}

/// Fallbacks, the body limit and tracing around `routes`.
fn finish(routes: Router<AppState>, state: AppState) -> Router {
    routes
        .method_not_allowed_fallback(error::method_not_allowed)
        .fallback(error::not_found)
        .layer(DefaultBodyLimit::max(state.limits.max_body_bytes))
        // Spans name the path only: a query string may carry the webhook secret.
        .layer(
            TraceLayer::new_for_http().make_span_with(|req: &Request| {
                tracing::debug_span!("http", method = %req.method(), path = %req.uri().path())
            }),
        )
        .with_state(state)
}

async fn time_limit(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let limit = state.limits.request_timeout;
    match tokio::time::timeout(limit, next.run(req)).await {
        Ok(response) => response,
        Err(_) => ApiError::new(
            StatusCode::GATEWAY_TIMEOUT,
            "timeout",
            format!("the request took longer than {} s", limit.as_secs_f32()),
        )
        .into_response(),
    }
}

/// `GET /healthz`: 200 when the journal can be read.
async fn healthz(State(state): State<AppState>) -> Response {
    let (status, health) = match state.engine.latest_update_seq().await {
        Ok(_) => (
            StatusCode::OK,
            Health {
                status: "ok".into(),
                journal: "ok".into(),
            },
        ),
        Err(e) => (
            StatusCode::SERVICE_UNAVAILABLE,
            Health {
                status: "unavailable".into(),
                journal: e.message,
            },
        ),
    };
    (status, axum::Json(health)).into_response()
}

/// Serve `state` on `listener` with at most `max_connections` connections,
/// until `shutdown` resolves; open connections (SSE streams too) are then
/// closed gracefully.
pub async fn run(
    listener: TcpListener,
    state: AppState,
    max_connections: usize,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> io::Result<()> {
    let router = app(state.clone());
    run_router(listener, router, state, max_connections, shutdown).await
}

/// Like [`run`], serving `router` (e.g. [`webhook_app`]) built on `state`.
pub async fn run_router(
    listener: TcpListener,
    router: Router,
    state: AppState,
    max_connections: usize,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> io::Result<()> {
    let listener = CappedListener::new(listener, max_connections);
    let shutdown = async move {
        shutdown.await;
        state.close_streams();
    };
    axum::serve(
        listener,
        router.into_make_service_with_connect_info::<PeerAddr>(),
    )
    .with_graceful_shutdown(shutdown)
    .await
}

/// The remote address of a connection, as seen by handlers through
/// `ConnectInfo<PeerAddr>` (tests set it with `MockConnectInfo`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PeerAddr(pub SocketAddr);

impl axum::extract::connect_info::Connected<IncomingStream<'_, CappedListener>> for PeerAddr {
    fn connect_info(stream: IncomingStream<'_, CappedListener>) -> Self {
        PeerAddr(*stream.remote_addr())
    }
}

/// A TCP listener that accepts a connection only while fewer than `max` are
/// open.
#[derive(Debug)]
pub struct CappedListener {
    inner: TcpListener,
    permits: Arc<Semaphore>,
}

impl CappedListener {
    pub fn new(inner: TcpListener, max: usize) -> Self {
        Self {
            inner,
            permits: Arc::new(Semaphore::new(max.max(1))),
        }
    }
}

impl Listener for CappedListener {
    type Io = CappedStream;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        // The semaphore is never closed; if it were, serve uncapped rather than stop.
        let permit = self.permits.clone().acquire_owned().await.ok();
        let (stream, addr) = Listener::accept(&mut self.inner).await;
        // Small SSE frames must not wait for the client's delayed ACK (Nagle).
        if let Err(e) = stream.set_nodelay(true) {
            tracing::debug!(error = %e, "cannot set TCP_NODELAY");
        }
        (
            CappedStream {
                stream,
                _permit: permit,
            },
            addr,
        )
    }

    fn local_addr(&self) -> io::Result<Self::Addr> {
        self.inner.local_addr()
    }
}

/// A connection holding one of the listener's permits until it closes.
#[derive(Debug)]
pub struct CappedStream {
    stream: TcpStream,
    _permit: Option<OwnedSemaphorePermit>,
}

impl AsyncRead for CappedStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_read(cx, buf)
    }
}

impl AsyncWrite for CappedStream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().stream).poll_write(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().stream).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }
}
