//! The HTTP side: one handler takes every request, records it on arrival,
//! applies the outage switch, the API v4 rate limit and IP block, an
//! injected fault, dispatches it to its surface and stores the final status.
//!
//! Rules:
//! - notes §4.6 (official): at most 7 requests per second. Here: per client
//!   IP, a rolling one-second window of the emulator clock, API v4 only
//!   (OAuth and the legacy host are not limited, inferred). A request over
//!   the limit gets 429 with `Retry-After: 1` and a problem JSON body; it
//!   does not count towards the window (inferred).
//! - inferred (notes §4.6: "403-block semantics are widely reported but the
//!   text was not retrieved"): after `block_after_429s` consecutive 429s
//!   the IP is blocked and every API v4 request gets 403
//!   `{"title":"Forbidden","type":"https://httpstatus.es/403","status":403,"detail":"IP address blocked"}`
//!   for `block_for`; an accepted request resets the count.
//! - inferred: an outage answers every request 503 (problem JSON).
//!
//! Each request is processed on its own task, so the emulator finishes the
//! work even when the client hangs up early.

use std::collections::{HashMap, VecDeque};
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{ConnectInfo, State as AxumState};
use axum::http::header::{AUTHORIZATION, CONTENT_TYPE, HeaderName, HeaderValue};
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::Response;
use serde_json::{Value, json};
use tokio::sync::watch;

use crate::faults::{Fault, FaultQueue};
use crate::oauth::OAuth;
use crate::store::Store;
use crate::{EmulatorConfig, RecordedRequest, Surface};
use crate::{api, legacy, oauth};

/// Per-IP rate-limit state.
#[derive(Debug, Default)]
pub(crate) struct IpState {
    /// Accepted API requests, emulator-clock milliseconds.
    window: VecDeque<u128>,
    consecutive_429s: u32,
    blocked_until: Option<u128>,
}

/// Everything the emulator knows, behind one lock.
#[derive(Debug)]
pub(crate) struct State {
    pub(crate) config: EmulatorConfig,
    /// `http://127.0.0.1:PORT`.
    pub(crate) base_url: String,
    /// How far `advance` moved the clock.
    pub(crate) clock_offset: Duration,
    pub(crate) oauth: OAuth,
    pub(crate) store: Store,
    pub(crate) requests: Vec<RecordedRequest>,
    pub(crate) faults: FaultQueue,
    pub(crate) down: bool,
    limiter: HashMap<IpAddr, IpState>,
}

impl State {
    fn now_duration(&self) -> Duration {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            + self.clock_offset
    }

    /// The emulator's clock in Unix seconds: real time plus every `advance`.
    pub(crate) fn now(&self) -> u64 {
        self.now_duration().as_secs()
    }

    fn now_ms(&self) -> u128 {
        self.now_duration().as_millis()
    }

    /// Housekeeping on the emulator clock: the legacy queue's 18 hours.
    fn tick(&mut self) {
        let now = self.now();
        self.store
            .purge_queue(now, legacy::LEGACY_QUEUE_LIFETIME.as_secs());
    }

    /// The rate limit and IP block for one API v4 request.
    fn limit(&mut self, ip: IpAddr) -> Option<Reply> {
        let rate = self.config.rate_per_second;
        if rate == 0 {
            return None;
        }
        let now = self.now_ms();
        let block_after = self.config.block_after_429s;
        let block_for = self.config.block_for.as_millis();
        let entry = self.limiter.entry(ip).or_default();
        if let Some(until) = entry.blocked_until {
            if now < until {
                return Some(Reply::problem(403, "Forbidden", "IP address blocked"));
            }
            *entry = IpState::default();
        }
        while entry.window.front().is_some_and(|t| now >= t + 1000) {
            entry.window.pop_front();
        }
        if entry.window.len() >= rate as usize {
            entry.consecutive_429s += 1;
            if block_after > 0 && entry.consecutive_429s >= block_after {
                entry.blocked_until = Some(now + block_for);
            }
            return Some(
                Reply::problem(429, "Too Many Requests", "Too many requests")
                    .with_header("retry-after", "1".to_owned()),
            );
        }
        entry.consecutive_429s = 0;
        entry.window.push_back(now);
        None
    }
}

/// State shared by the server task and the handles.
#[derive(Debug)]
pub(crate) struct Shared {
    state: Mutex<State>,
    /// The number of applied calls, for waiters.
    pub(crate) calls: watch::Sender<usize>,
}

impl Shared {
    pub(crate) fn new(config: EmulatorConfig, base_url: String) -> Shared {
        Shared {
            state: Mutex::new(State {
                config,
                base_url,
                clock_offset: Duration::ZERO,
                oauth: OAuth::default(),
                store: Store::default(),
                requests: Vec::new(),
                faults: FaultQueue::default(),
                down: false,
                limiter: HashMap::new(),
            }),
            calls: watch::channel(0).0,
        }
    }

    /// Locks the state (a poisoned lock is taken over: the state is plain
    /// data and stays usable).
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Runs `f` on the state (after housekeeping) and then wakes call
    /// waiters.
    pub(crate) fn with_state<T>(&self, f: impl FnOnce(&mut State) -> T) -> T {
        let mut state = self.lock();
        state.tick();
        let out = f(&mut state);
        state.tick();
        let n = state.store.calls.len();
        drop(state);
        self.calls.send_if_modified(|count| {
            let changed = *count != n;
            *count = n;
            changed
        });
        out
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
    pub(crate) body: String,
    pub(crate) content_type: Option<String>,
    pub(crate) authorization: Option<String>,
    pub(crate) ip: IpAddr,
}

impl Incoming {
    /// The first value of `key` in the query string.
    pub(crate) fn query(&self, key: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// Whether the content type is form-urlencoded.
    pub(crate) fn is_form(&self) -> bool {
        self.content_type.as_deref().is_some_and(is_form_type)
    }

    /// Whether the content type is JSON (`application/json`, `…+json`).
    pub(crate) fn is_json(&self) -> bool {
        self.content_type.as_deref().is_some_and(|t| {
            let t = t
                .split(';')
                .next()
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase();
            t == "application/json" || t.ends_with("+json")
        })
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
    headers: Vec<(&'static str, String)>,
    body: Option<(Value, &'static str)>,
}

/// `application/hal+json`: API v4 answers.
pub(crate) const HAL: &str = "application/hal+json";
/// `application/problem+json`: API v4 and OAuth errors.
pub(crate) const PROBLEM: &str = "application/problem+json";
/// `application/json`: OAuth tokens and the legacy host.
pub(crate) const JSON: &str = "application/json";

impl Reply {
    pub(crate) fn json(status: u16, body: Value, content_type: &'static str) -> Reply {
        Reply {
            status,
            headers: Vec::new(),
            body: Some((body, content_type)),
        }
    }

    /// `application/hal+json` 200.
    pub(crate) fn hal(body: Value) -> Reply {
        Reply::json(200, body, HAL)
    }

    /// amo's generic problem JSON:
    /// `{"title","type":"https://httpstatus.es/<status>","status","detail"}`
    /// (notes §4.3).
    pub(crate) fn problem(status: u16, title: &str, detail: &str) -> Reply {
        Reply::json(
            status,
            json!({
                "title": title,
                "type": format!("https://httpstatus.es/{status}"),
                "status": status,
                "detail": detail,
            }),
            PROBLEM,
        )
    }

    /// 204 with an empty body.
    pub(crate) fn no_content() -> Reply {
        Reply {
            status: 204,
            headers: Vec::new(),
            body: None,
        }
    }

    pub(crate) fn with_header(mut self, name: &'static str, value: String) -> Reply {
        self.headers.push((name, value));
        self
    }

    fn into_response(self) -> Response {
        let (content_type, body) = match self.body {
            Some((value, content_type)) => (Some(content_type), value.to_string()),
            None => (None, String::new()),
        };
        let mut response = Response::new(Body::from(body));
        *response.status_mut() =
            StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let headers = response.headers_mut();
        if let Some(content_type) = content_type {
            headers.insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
        }
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
    if path.starts_with("/oauth2/") {
        Surface::OAuth
    } else if path.starts_with("/api/v4/") || path == "/api/v4" {
        Surface::Api
    } else if path == "/api/calls/add/" || path == "/api/calls/add" {
        Surface::Legacy
    } else {
        Surface::Other
    }
}

pub(crate) fn parse_pairs(raw: &[u8]) -> Vec<(String, String)> {
    form_urlencoded::parse(raw).into_owned().collect()
}

async fn serve(
    AxumState(shared): AxumState<Arc<Shared>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
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
        body: String::from_utf8_lossy(&body).into_owned(),
        content_type,
        authorization: header(AUTHORIZATION.as_str()),
        ip: peer.ip(),
    };
    let task = tokio::spawn(process(shared, incoming));
    match task.await {
        Ok(reply) => reply.into_response(),
        Err(error) => {
            tracing::warn!(%error, "amoCRM emulator handler failed");
            Reply::problem(500, "Internal Server Error", "Internal server error").into_response()
        }
    }
}

async fn process(shared: Arc<Shared>, incoming: Incoming) -> Reply {
    let surface = surface_of(&incoming.path);
    let (index, early, fault) = shared.with_state(|state| {
        let index = state.requests.len();
        state.requests.push(RecordedRequest {
            surface,
            method: incoming.method.to_string(),
            path: incoming.path.clone(),
            query: incoming.query.clone(),
            form: incoming.form.clone(),
            body: incoming.body.clone(),
            content_type: incoming.content_type.clone(),
            authorization: incoming.authorization.clone(),
            client_ip: incoming.ip.to_string(),
            status: 0,
        });
        if state.down {
            let reply = Reply::problem(
                503,
                "Service Unavailable",
                "The service is temporarily unavailable",
            );
            return (index, Some(reply), None);
        }
        if surface == Surface::Api
            && let Some(reply) = state.limit(incoming.ip)
        {
            return (index, Some(reply), None);
        }
        (index, None, state.faults.take(surface))
    });
    let finish = |reply: Reply| {
        shared.with_state(|s| s.requests[index].status = reply.status);
        reply
    };
    if let Some(reply) = early {
        return finish(reply);
    }
    match fault {
        Some(Fault::ServerError { status, .. }) => {
            let title = StatusCode::from_u16(status)
                .ok()
                .and_then(|s| s.canonical_reason())
                .unwrap_or("Error");
            finish(Reply::problem(status, title, "Internal server error"))
        }
        Some(Fault::RateLimited {
            retry_after_secs, ..
        }) => {
            let reply = Reply::problem(429, "Too Many Requests", "Too many requests");
            finish(match retry_after_secs {
                Some(secs) => reply.with_header("retry-after", secs.to_string()),
                None => reply,
            })
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

fn dispatch(shared: &Shared, surface: Surface, incoming: &Incoming) -> Reply {
    shared.with_state(|state| match surface {
        Surface::OAuth => oauth::handle(state, incoming),
        Surface::Api => match oauth::authenticate(state, incoming) {
            Ok(()) => api::handle(state, incoming),
            Err(reply) => reply,
        },
        Surface::Legacy => legacy::handle(state, incoming),
        Surface::Other => Reply::problem(404, "Not Found", "Not found"),
    })
}
