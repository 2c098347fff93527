//! The HTTP side: one handler that takes every request, records it on
//! arrival, applies an outage or an injected fault, dispatches it to its
//! surface and stores the final status.
//!
//! Each request is processed on its own task, so the emulator finishes the
//! work even when the client hangs up early (as a PHP backend would once it
//! has started), and `requests()` always ends up with the status answered.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::State as AxumState;
use axum::http::header::{AUTHORIZATION, CONTENT_TYPE, HeaderName, HeaderValue};
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::Response;
use serde_json::{Value, json};
use tokio::sync::watch;

use crate::faults::{Fault, FaultQueue};
use crate::store::Store;
use crate::{EmulatorConfig, GatewayEvent, RecordedRequest, Surface};
use crate::{gateway, rest, search};

/// The header carrying the gateway secret (vendor doc).
pub const SECRET_HEADER: &str = "x-vtiger-secret";

/// Everything the emulator knows, behind one lock.
#[derive(Debug)]
pub(crate) struct State {
    /// The current configuration (secret, key and limit as rotated).
    pub(crate) config: EmulatorConfig,
    /// The access key REST accepts; `None` after a revocation without a
    /// replacement.
    pub(crate) access_key: Option<String>,
    pub(crate) store: Store,
    pub(crate) requests: Vec<RecordedRequest>,
    pub(crate) gateway_events: Vec<GatewayEvent>,
    pub(crate) faults: FaultQueue,
    pub(crate) down: bool,
    pub(crate) flood: Flood,
}

/// State shared by the server task and the handles.
#[derive(Debug)]
pub(crate) struct Shared {
    state: Mutex<State>,
    /// The number of accepted gateway events, for waiters.
    pub(crate) events: watch::Sender<usize>,
}

impl Shared {
    pub(crate) fn new(config: EmulatorConfig) -> Shared {
        let access_key = Some(config.access_key.clone());
        Shared {
            state: Mutex::new(State {
                config,
                access_key,
                store: Store::default(),
                requests: Vec::new(),
                gateway_events: Vec::new(),
                faults: FaultQueue::default(),
                down: false,
                flood: Flood::default(),
            }),
            events: watch::channel(0).0,
        }
    }

    /// Locks the state (a poisoned lock is taken over: the state is plain
    /// data and stays usable).
    pub(crate) fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// The REST flood control: a rolling one-minute window of counted requests.
/// The headers are read by a third-party client (contracts notes §2.5); the
/// window semantics are inferred.
#[derive(Debug, Default)]
pub(crate) struct Flood {
    window: VecDeque<Instant>,
}

/// The flood-control window length.
pub(crate) const FLOOD_WINDOW: Duration = Duration::from_secs(60);

/// What the flood-control headers say.
#[derive(Debug, Clone, Copy)]
pub(crate) struct FloodStatus {
    pub(crate) limit: u32,
    pub(crate) remaining: u32,
    pub(crate) reset_secs: u64,
}

impl Flood {
    fn prune(&mut self, now: Instant) {
        while self
            .window
            .front()
            .is_some_and(|t| now.duration_since(*t) >= FLOOD_WINDOW)
        {
            self.window.pop_front();
        }
    }

    /// The window as it stands, without counting a request.
    pub(crate) fn status(&mut self, limit: u32, now: Instant) -> FloodStatus {
        self.prune(now);
        let used = u32::try_from(self.window.len()).unwrap_or(u32::MAX);
        let reset_secs = match self.window.front() {
            Some(oldest) => {
                let left = FLOOD_WINDOW.saturating_sub(now.duration_since(*oldest));
                left.as_millis().div_ceil(1000).max(1) as u64
            }
            None => FLOOD_WINDOW.as_secs(),
        };
        FloodStatus {
            limit,
            remaining: limit.saturating_sub(used),
            reset_secs,
        }
    }

    /// Counts a request if the window has room; `Err` carries the status of
    /// the refused request.
    pub(crate) fn admit(&mut self, limit: u32, now: Instant) -> Result<FloodStatus, FloodStatus> {
        let status = self.status(limit, now);
        if status.remaining == 0 {
            return Err(status);
        }
        self.window.push_back(now);
        Ok(self.status(limit, now))
    }
}

/// A parsed incoming request.
#[derive(Debug, Clone)]
pub(crate) struct Incoming {
    pub(crate) method: Method,
    pub(crate) path: String,
    pub(crate) query: Vec<(String, String)>,
    /// The form body, when the content type is form-urlencoded.
    pub(crate) form: Vec<(String, String)>,
    pub(crate) body: Bytes,
    pub(crate) content_type: Option<String>,
    pub(crate) secret: Option<String>,
    pub(crate) authorization: Option<String>,
}

impl Incoming {
    /// The first query-string value of `key`.
    pub(crate) fn query_param(&self, key: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// Whether the body is `application/x-www-form-urlencoded`.
    pub(crate) fn is_form(&self) -> bool {
        self.content_type.as_deref().is_some_and(is_form_type)
    }
}

fn is_form_type(content_type: &str) -> bool {
    content_type.split(';').next().is_some_and(|t| {
        t.trim()
            .eq_ignore_ascii_case("application/x-www-form-urlencoded")
    })
}

/// An answer, before it becomes an HTTP response.
#[derive(Debug, Clone)]
pub(crate) struct Reply {
    pub(crate) status: u16,
    pub(crate) headers: Vec<(&'static str, String)>,
    pub(crate) body: ReplyBody,
}

#[derive(Debug, Clone)]
pub(crate) enum ReplyBody {
    Json(Value),
    Html(String),
}

impl Reply {
    /// `200 {"success":true,"result":…}`.
    pub(crate) fn ok(result: Value) -> Reply {
        Reply::json(200, json!({"success": true, "result": result}))
    }

    /// `{"success":false,"error":{"code":…,"message":…}}` with `status`.
    pub(crate) fn error(status: u16, code: &str, message: impl Into<String>) -> Reply {
        Reply::json(
            status,
            json!({"success": false, "error": {"code": code, "message": message.into()}}),
        )
    }

    pub(crate) fn json(status: u16, body: Value) -> Reply {
        Reply {
            status,
            headers: Vec::new(),
            body: ReplyBody::Json(body),
        }
    }

    pub(crate) fn html(status: u16, body: String) -> Reply {
        Reply {
            status,
            headers: Vec::new(),
            body: ReplyBody::Html(body),
        }
    }

    pub(crate) fn redirect(location: String) -> Reply {
        Reply {
            status: 302,
            headers: vec![("location", location)],
            body: ReplyBody::Html(String::new()),
        }
    }

    pub(crate) fn with_header(mut self, name: &'static str, value: String) -> Reply {
        self.headers.push((name, value));
        self
    }

    /// Adds the `X-FloodControl-*` headers.
    pub(crate) fn with_flood(self, flood: FloodStatus) -> Reply {
        self.with_header("x-floodcontrol-limit", flood.limit.to_string())
            .with_header("x-floodcontrol-remaining", flood.remaining.to_string())
            .with_header("x-floodcontrol-reset", flood.reset_secs.to_string())
    }

    fn into_response(self) -> Response {
        let (content_type, body) = match self.body {
            ReplyBody::Json(value) => ("application/json; charset=utf-8", value.to_string()),
            ReplyBody::Html(html) => ("text/html; charset=utf-8", html),
        };
        let mut response = Response::new(Body::from(body));
        *response.status_mut() =
            StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let headers = response.headers_mut();
        headers.insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
        for (name, value) in self.headers {
            if let Ok(value) = HeaderValue::from_str(&value) {
                headers.append(HeaderName::from_static(name), value);
            }
        }
        response
    }
}

/// The router: every path goes to [`serve`].
pub(crate) fn app(shared: Arc<Shared>) -> Router {
    Router::new().fallback(serve).with_state(shared)
}

/// Which surface a path belongs to.
pub(crate) fn surface_of(path: &str) -> Surface {
    if path == gateway::GATEWAY_PATH {
        Surface::Gateway
    } else if path == search::SEARCH_PATH {
        Surface::Search
    } else if path == rest::REST_BASE || path.starts_with(&format!("{}/", rest::REST_BASE)) {
        Surface::Rest
    } else {
        Surface::Other
    }
}

fn parse_pairs(raw: &[u8]) -> Vec<(String, String)> {
    form_urlencoded::parse(raw).into_owned().collect()
}

async fn serve(
    AxumState(shared): AxumState<Arc<Shared>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let header = |name: &str| {
        headers
            .get(name)
            .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
    };
    let content_type = header(CONTENT_TYPE.as_str());
    let form = if content_type.as_deref().is_some_and(is_form_type) {
        parse_pairs(&body)
    } else {
        Vec::new()
    };
    let incoming = Incoming {
        method,
        path: uri.path().to_owned(),
        query: parse_pairs(uri.query().unwrap_or("").as_bytes()),
        form,
        body,
        content_type,
        secret: header(SECRET_HEADER),
        authorization: header(AUTHORIZATION.as_str()),
    };
    let task = tokio::spawn(process(shared, incoming));
    match task.await {
        Ok(reply) => reply.into_response(),
        Err(error) => {
            tracing::warn!(%error, "vtiger emulator handler failed");
            Reply::error(500, "INTERNAL_ERROR", "the emulator failed").into_response()
        }
    }
}

async fn process(shared: Arc<Shared>, incoming: Incoming) -> Reply {
    let surface = surface_of(&incoming.path);
    let (index, down, fault) = {
        let mut state = shared.lock();
        let index = state.requests.len();
        state.requests.push(RecordedRequest {
            surface,
            method: incoming.method.to_string(),
            path: incoming.path.clone(),
            query: incoming.query.clone(),
            form: incoming.form.clone(),
            body: String::from_utf8_lossy(&incoming.body).into_owned(),
            content_type: incoming.content_type.clone(),
            secret: incoming.secret.clone(),
            authorization: incoming.authorization.clone(),
            status: 0,
        });
        let down = state.down;
        let fault = if down {
            None
        } else {
            state.faults.take(surface)
        };
        (index, down, fault)
    };
    let finish = |reply: Reply| {
        let reply = if surface == Surface::Rest && !has_flood_headers(&reply) {
            let mut state = shared.lock();
            let limit = state.config.flood_limit_per_minute;
            let flood = state.flood.status(limit, Instant::now());
            reply.with_flood(flood)
        } else {
            reply
        };
        shared.lock().requests[index].status = reply.status;
        reply
    };
    if down {
        return finish(Reply::error(
            503,
            "SERVICE_UNAVAILABLE",
            "The service is temporarily unavailable",
        ));
    }
    match fault {
        Some(Fault::ServerError { status, .. }) => finish(Reply::error(
            status,
            "SERVER_ERROR",
            format!("Injected server error (HTTP {status})"),
        )),
        Some(Fault::RateLimited {
            retry_after_secs, ..
        }) => {
            let limit = shared.lock().config.flood_limit_per_minute;
            finish(
                Reply::error(429, "RATE_LIMIT_EXCEEDED", "Too many requests")
                    .with_header("retry-after", retry_after_secs.to_string())
                    .with_flood(FloodStatus {
                        limit,
                        remaining: 0,
                        reset_secs: retry_after_secs,
                    }),
            )
        }
        Some(Fault::Latency { ms, .. }) => {
            tokio::time::sleep(Duration::from_millis(ms)).await;
            finish(dispatch(&shared, surface, &incoming))
        }
        Some(Fault::ApplyThenStall { ms, .. }) => {
            let reply = finish(dispatch(&shared, surface, &incoming));
            tokio::time::sleep(Duration::from_millis(ms)).await;
            reply
        }
        None => finish(dispatch(&shared, surface, &incoming)),
    }
}

fn has_flood_headers(reply: &Reply) -> bool {
    reply
        .headers
        .iter()
        .any(|(name, _)| *name == "x-floodcontrol-limit")
}

fn dispatch(shared: &Shared, surface: Surface, incoming: &Incoming) -> Reply {
    match surface {
        Surface::Gateway => gateway::handle(shared, incoming),
        Surface::Rest => rest::handle(shared, incoming),
        Surface::Search => search::handle_search(shared, incoming),
        Surface::Other if incoming.path == search::INDEX_PATH => {
            search::handle_index(shared, incoming)
        }
        Surface::Other => {
            Reply::error(404, "NOT_FOUND", format!("No such page: {}", incoming.path))
        }
    }
}
