//! The HTTP side: one handler that takes every request, records it on
//! arrival, applies an outage or an injected fault, dispatches it to its
//! surface and stores the final status.
//!
//! Each request is processed on its own task, so the emulator finishes the
//! work even when the client hangs up early, and `requests()` always ends up
//! with the status answered.

use std::collections::HashSet;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::State as AxumState;
use axum::http::header::{AUTHORIZATION, CONTENT_TYPE, HeaderName, HeaderValue};
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::Response;
use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use tokio::sync::watch;

use crate::faults::{Fault, FaultQueue};
use crate::oauth::OAuth;
use crate::store::Store;
use crate::{CallEvent, EmulatorConfig, RecordedRequest, Registration, Surface};
use crate::{oauth, phonebridge};

/// PhoneBridge's integration state for the one emulated CRM account.
#[derive(Debug, Default)]
pub(crate) struct Integration {
    /// `integrate` was enabled (POST) and not disabled since.
    pub(crate) enabled: bool,
    /// Another PBX vendor is integrated with the account.
    pub(crate) other_pbx: bool,
    /// The account's licence lacks PhoneBridge (`NO_PERMISSION`).
    pub(crate) no_license: bool,
    /// The `clicktocallandcallcontrol` registration, if enabled.
    pub(crate) registration: Option<Registration>,
    /// The idempotency keys of the applied call events.
    pub(crate) applied: HashSet<(String, String, String)>,
}

/// Everything the emulator knows, behind one lock.
#[derive(Debug)]
pub(crate) struct State {
    pub(crate) config: EmulatorConfig,
    /// `http://127.0.0.1:PORT`.
    pub(crate) base_url: String,
    /// How far [`crate::ZohoEmulator::advance`] moved the clock.
    pub(crate) clock_offset: Duration,
    pub(crate) oauth: OAuth,
    pub(crate) store: Store,
    pub(crate) integration: Integration,
    pub(crate) requests: Vec<RecordedRequest>,
    pub(crate) events: Vec<CallEvent>,
    pub(crate) faults: FaultQueue,
    pub(crate) down: bool,
}

impl State {
    /// The emulator's clock: real UTC time plus every `advance`.
    pub(crate) fn now(&self) -> DateTime<Utc> {
        Utc::now() + self.clock_offset
    }

    /// `base_url/dc`.
    pub(crate) fn api_domain(&self) -> String {
        format!("{}/{}", self.base_url, self.config.data_centre)
    }
}

/// State shared by the server task and the handles.
#[derive(Debug)]
pub(crate) struct Shared {
    state: Mutex<State>,
    /// The number of applied call events, for waiters.
    pub(crate) events: watch::Sender<usize>,
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
                integration: Integration::default(),
                requests: Vec::new(),
                events: Vec::new(),
                faults: FaultQueue::default(),
                down: false,
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

/// A parsed incoming request.
#[derive(Debug, Clone)]
pub(crate) struct Incoming {
    pub(crate) method: Method,
    pub(crate) path: String,
    pub(crate) query: Vec<(String, String)>,
    /// The form body, when the content type is form-urlencoded.
    pub(crate) form: Vec<(String, String)>,
    pub(crate) authorization: Option<String>,
}

impl Incoming {
    /// The first value of `key`: query string first, then form body (a
    /// Java servlet's `getParameter`, `[INFERRED]`).
    pub(crate) fn param(&self, key: &str) -> Option<&str> {
        self.query
            .iter()
            .chain(&self.form)
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
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
    Empty,
}

impl Reply {
    /// The vendor's error shape:
    /// `{"code":…,"details":{…},"message":…,"status":"error"}`.
    pub(crate) fn error(
        status: u16,
        code: &str,
        message: impl Into<String>,
        details: Value,
    ) -> Reply {
        Reply::json(
            status,
            json!({"code": code, "details": details, "message": message.into(), "status": "error"}),
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

    /// 204 with an empty body.
    pub(crate) fn no_content() -> Reply {
        Reply {
            status: 204,
            headers: Vec::new(),
            body: ReplyBody::Empty,
        }
    }

    pub(crate) fn redirect(location: String) -> Reply {
        Reply {
            status: 302,
            headers: vec![("location", location)],
            body: ReplyBody::Empty,
        }
    }

    pub(crate) fn with_header(mut self, name: &'static str, value: String) -> Reply {
        self.headers.push((name, value));
        self
    }

    fn into_response(self) -> Response {
        let (content_type, body) = match self.body {
            ReplyBody::Json(value) => (Some("application/json;charset=UTF-8"), value.to_string()),
            ReplyBody::Html(html) => (Some("text/html;charset=UTF-8"), html),
            ReplyBody::Empty => (None, String::new()),
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
    if path.starts_with("/oauth/") {
        Surface::Accounts
    } else if phonebridge::split_path(path).is_some() {
        Surface::PhoneBridge
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
        authorization: header(AUTHORIZATION.as_str()),
    };
    let body = String::from_utf8_lossy(&body).into_owned();
    let task = tokio::spawn(process(shared, incoming, body, content_type));
    match task.await {
        Ok(reply) => reply.into_response(),
        Err(error) => {
            tracing::warn!(%error, "zoho emulator handler failed");
            Reply::error(500, "INTERNAL_ERROR", "Internal server error", json!({})).into_response()
        }
    }
}

async fn process(
    shared: Arc<Shared>,
    incoming: Incoming,
    body: String,
    content_type: Option<String>,
) -> Reply {
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
            body,
            content_type,
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
        shared.lock().requests[index].status = reply.status;
        reply
    };
    if down {
        return finish(Reply::error(
            503,
            "SERVICE_UNAVAILABLE",
            "The service is temporarily unavailable",
            json!({}),
        ));
    }
    match fault {
        Some(Fault::ServerError { status, .. }) => finish(Reply::error(
            status,
            "INTERNAL_ERROR",
            "Internal server error",
            json!({}),
        )),
        Some(Fault::RateLimited {
            retry_after_secs, ..
        }) => {
            let reply = Reply::error(
                429,
                "TOO_MANY_REQUESTS",
                "You have exceeded the maximum number of API calls allowed",
                json!({}),
            );
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
    match surface {
        Surface::Accounts => oauth::handle(shared, incoming),
        Surface::PhoneBridge => phonebridge::handle(shared, incoming),
        Surface::Other => record_page(shared, incoming),
    }
}

/// `/crm/tab/<Module>/<id>`: a stand-in for the record page the `Url`
/// fields point at (`[INFERRED]`: the vendor doc only says "Entity Zoho CRM
/// Url"). Anything else is 404 `INVALID_URL_PATTERN` (Zoho's code for an
/// unknown API path, `[INFERRED]`).
fn record_page(shared: &Shared, incoming: &Incoming) -> Reply {
    let not_found = || {
        Reply::error(
            404,
            "INVALID_URL_PATTERN",
            "Please check if the URL trying to access is a correct one",
            json!({}),
        )
    };
    let Some(rest) = incoming.path.strip_prefix("/crm/tab/") else {
        return not_found();
    };
    let Some((module, id)) = rest.split_once('/') else {
        return not_found();
    };
    let state = shared.lock();
    match state.store.record_title(module, id) {
        Some(title) => {
            let (title, module, id) = (escape(&title), escape(module), escape(id));
            Reply::html(
                200,
                format!(
                    "<!doctype html><html><head><meta charset=\"utf-8\"><title>{title}</title></head>\
                 <body><h1>{module}: {title}</h1><p>Record {id}</p></body></html>"
                ),
            )
        }
        None => not_found(),
    }
}

/// Escapes text for HTML.
fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}
