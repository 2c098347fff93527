//! The HTTP side: one handler takes every request, records it on arrival,
//! applies the outage switch, authentication, the leaky bucket and an
//! injected fault, dispatches it and stores the final status and error code.
//!
//! Rules:
//! - notes §5.2 (official): `/rest/<user>/<code>/<method>[.json]` (inbound
//!   webhook) and `/rest/<method>[.json]` with `auth=<access_token>` in the
//!   query string or the body (application); JSON or form bodies; GET works
//!   too. The `.json` suffix is optional; method names are case-insensitive
//!   (the docs spell `telephony.externalCall.register` and
//!   `telephony.externalcall.register`).
//! - notes §5.3 (official): success `{"result":…,"time":{…}}`, errors
//!   `{"error":"CODE","error_description":"…"}`.
//! - auth errors: a wrong webhook user or code → 401 `INVALID_CREDENTIALS`
//!   (the notes' table lists it under 403; 401 as the emulator brief asks,
//!   inferred); no `auth` → 401 `NO_AUTH_FOUND` (notes §5.3); an expired
//!   token → 401 `expired_token` (notes §5.2); an unknown token → 401
//!   `invalid_token` (inferred).
//! - notes §5.4 (official): a leaky bucket, drains `bucket_rate`/s, blocks
//!   above `bucket_burst`; over it 503
//!   `{"error":"QUERY_LIMIT_EXCEEDED","error_description":"Too many requests"}`.
//!   Inferred: one bucket for the portal (webhook and application calls
//!   share it, as they share the portal and the source IP), counted after
//!   authentication; rejected requests do not fill it; the token endpoint
//!   is not limited.
//! - inferred: an outage answers every request 503
//!   `{"error":"INTERNAL_SERVER_ERROR","error_description":"Portal is temporarily unavailable"}`;
//!   unknown paths 404 `NOT_FOUND`; unknown methods 404
//!   `ERROR_METHOD_NOT_FOUND` "Method not found!" (notes brief).
//!
//! Each request is processed on its own task, so the emulator finishes the
//! work even when the client hangs up early.

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::State as AxumState;
use axum::http::header::{CONTENT_TYPE, HeaderValue};
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::Response;
use serde_json::{Map, Value, json};

use crate::faults::{Fault, FaultQueue};
use crate::oauth::{OAuth, TokenCheck};
use crate::params::{self, Params};
use crate::store::Store;
use crate::{AuthKind, EmulatorConfig, MethodCall, RecordedRequest};
use crate::{api, oauth};

/// Everything the emulator knows, behind one lock.
#[derive(Debug)]
pub(crate) struct State {
    pub(crate) config: EmulatorConfig,
    /// `http://127.0.0.1:PORT`.
    pub(crate) base_url: String,
    pub(crate) clock_offset: Duration,
    pub(crate) oauth: OAuth,
    pub(crate) store: Store,
    pub(crate) requests: Vec<RecordedRequest>,
    pub(crate) method_calls: Vec<MethodCall>,
    pub(crate) faults: FaultQueue,
    pub(crate) down: bool,
    pub(crate) limit_hits: usize,
    bucket_level: f64,
    bucket_at_ms: f64,
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

    /// The emulator's clock in fractional Unix seconds.
    pub(crate) fn now_f64(&self) -> f64 {
        self.now_duration().as_secs_f64()
    }

    /// The portal's host (`127.0.0.1:PORT`), Bitrix's `domain`.
    pub(crate) fn domain(&self) -> String {
        self.base_url
            .trim_start_matches("http://")
            .trim_start_matches("https://")
            .to_owned()
    }

    /// One request through the leaky bucket; false when it is full.
    fn bucket_admits(&mut self) -> bool {
        let burst = self.config.bucket_burst;
        if burst == 0 {
            return true;
        }
        let now = self.now_f64() * 1000.0;
        let elapsed = ((now - self.bucket_at_ms) / 1000.0).max(0.0);
        self.bucket_level = (self.bucket_level - elapsed * self.config.bucket_rate).max(0.0);
        self.bucket_at_ms = now;
        if self.bucket_level + 1.0 > f64::from(burst) + 1e-9 {
            return false;
        }
        self.bucket_level += 1.0;
        true
    }
}

/// Unix seconds as Bitrix prints dates: `2026-03-10T11:19:38+00:00` (the
/// emulated server runs in UTC).
pub(crate) fn iso(secs: u64) -> String {
    chrono::DateTime::from_timestamp(i64::try_from(secs).unwrap_or(0), 0)
        .map(|d| d.format("%Y-%m-%dT%H:%M:%S+00:00").to_string())
        .unwrap_or_default()
}

/// State shared by the server task and the handles.
#[derive(Debug)]
pub(crate) struct Shared {
    state: Mutex<State>,
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
                method_calls: Vec::new(),
                faults: FaultQueue::default(),
                down: false,
                limit_hits: 0,
                bucket_level: 0.0,
                bucket_at_ms: 0.0,
            }),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Runs `f` on the state.
    pub(crate) fn with_state<T>(&self, f: impl FnOnce(&mut State) -> T) -> T {
        f(&mut self.lock())
    }
}

/// An answer, before it becomes an HTTP response.
#[derive(Debug, Clone)]
pub(crate) enum Reply {
    /// `{"result":…,"time":{…}}` plus extra top-level keys (`next`, `total`).
    Ok {
        result: Value,
        extra: Vec<(&'static str, Value)>,
    },
    /// `{"error":code,"error_description":description}`.
    Error {
        status: u16,
        code: String,
        description: String,
    },
    /// A bare JSON body (the token endpoint).
    Raw { status: u16, body: Value },
}

impl Reply {
    pub(crate) fn ok(result: Value) -> Reply {
        Reply::Ok {
            result,
            extra: Vec::new(),
        }
    }

    pub(crate) fn error(status: u16, code: &str, description: &str) -> Reply {
        Reply::Error {
            status,
            code: code.to_owned(),
            description: description.to_owned(),
        }
    }

    /// 400 with `code`.
    pub(crate) fn bad(code: &str, description: &str) -> Reply {
        Reply::error(400, code, description)
    }

    pub(crate) fn status(&self) -> u16 {
        match self {
            Reply::Ok { .. } => 200,
            Reply::Error { status, .. } | Reply::Raw { status, .. } => *status,
        }
    }

    fn error_code(&self) -> Option<String> {
        match self {
            Reply::Error { code, .. } => Some(code.clone()),
            Reply::Raw { body, .. } => body.get("error").and_then(Value::as_str).map(str::to_owned),
            Reply::Ok { .. } => None,
        }
    }

    fn into_response(self, start: f64, finish: f64) -> Response {
        let status = self.status();
        let body = match self {
            Reply::Ok { result, extra } => {
                let mut map = Map::new();
                map.insert("result".into(), result);
                for (k, v) in extra {
                    map.insert(k.into(), v);
                }
                let duration = (finish - start).max(0.0);
                map.insert(
                    "time".into(),
                    json!({
                        "start": start, "finish": finish,
                        "duration": duration, "processing": duration,
                        "date_start": iso(start as u64), "date_finish": iso(finish as u64),
                        "operating_reset_at": start as u64 + 600, "operating": 0,
                    }),
                );
                Value::Object(map)
            }
            Reply::Error {
                code, description, ..
            } => json!({"error": code, "error_description": description}),
            Reply::Raw { body, .. } => body,
        };
        let mut response = Response::new(Body::from(body.to_string()));
        *response.status_mut() =
            StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        response.headers_mut().insert(
            CONTENT_TYPE,
            HeaderValue::from_static("application/json; charset=utf-8"),
        );
        response
    }
}

/// The router: every path goes to [`serve`].
pub(crate) fn app(shared: Arc<Shared>) -> Router {
    Router::new().fallback(serve).with_state(shared)
}

/// What a path addresses.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Route {
    /// `/oauth/token/`.
    Token,
    /// `/rest/…`: the webhook's `(user, code)` when given, and the method.
    Rest {
        webhook: Option<(String, String)>,
        method: String,
    },
    Unknown,
}

fn route_of(path: &str) -> Route {
    if path == "/oauth/token" || path == "/oauth/token/" {
        return Route::Token;
    }
    let Some(rest) = path.strip_prefix("/rest/") else {
        return Route::Unknown;
    };
    let segs: Vec<&str> = rest.trim_end_matches('/').split('/').collect();
    let method_of = |m: &str| {
        let m = m.to_ascii_lowercase();
        m.strip_suffix(".json").map(str::to_owned).unwrap_or(m)
    };
    match segs.as_slice() {
        [method] if !method.is_empty() => Route::Rest {
            webhook: None,
            method: method_of(method),
        },
        [user, code, method] if !method.is_empty() => Route::Rest {
            webhook: Some(((*user).to_owned(), (*code).to_owned())),
            method: method_of(method),
        },
        _ => Route::Unknown,
    }
}

fn pairs(raw: &[u8]) -> Vec<(String, String)> {
    form_urlencoded::parse(raw).into_owned().collect()
}

/// The query string and the body merged (the body wins).
fn parse_params(query: &[(String, String)], content_type: Option<&str>, body: &[u8]) -> Params {
    let mut map = params::from_pairs(query);
    let kind = content_type
        .and_then(|t| t.split(';').next())
        .map(|t| t.trim().to_ascii_lowercase())
        .unwrap_or_default();
    let trimmed = String::from_utf8_lossy(body);
    let trimmed = trimmed.trim();
    let body_map = if kind == "application/json" || (kind.is_empty() && trimmed.starts_with('{')) {
        match serde_json::from_str::<Value>(trimmed) {
            Ok(Value::Object(m)) => m,
            _ => Map::new(),
        }
    } else if !trimmed.is_empty() {
        params::from_pairs(&pairs(body))
    } else {
        Map::new()
    };
    map.extend(body_map);
    Params(map)
}

/// Who a REST call runs as.
#[derive(Debug, Clone)]
pub(crate) struct Ctx {
    pub(crate) auth: AuthKind,
    pub(crate) user_id: u32,
    pub(crate) method: String,
}

async fn serve(
    AxumState(shared): AxumState<Arc<Shared>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let task = tokio::spawn(process(shared, method, uri, headers, body));
    match task.await {
        Ok(response) => response,
        Err(error) => {
            tracing::warn!(%error, "Bitrix24 emulator handler failed");
            Reply::error(500, "INTERNAL_SERVER_ERROR", "Internal server error")
                .into_response(0.0, 0.0)
        }
    }
}

async fn process(
    shared: Arc<Shared>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let content_type = headers
        .get(CONTENT_TYPE)
        .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned());
    let query = pairs(uri.query().unwrap_or("").as_bytes());
    let route = route_of(uri.path());
    let mut params = parse_params(&query, content_type.as_deref(), &body);
    let token = params.str("auth");
    params.0.remove("auth");

    let (index, start, early, fault, ctx) = shared.with_state(|state| {
        let index = state.requests.len();
        let start = state.now_f64();
        state.requests.push(RecordedRequest {
            method: method.to_string(),
            path: uri.path().to_owned(),
            query: query.clone(),
            body: String::from_utf8_lossy(&body).into_owned(),
            content_type: content_type.clone(),
            rest_method: match &route {
                Route::Rest { method, .. } => Some(method.clone()),
                _ => None,
            },
            auth: None,
            status: 0,
            error: None,
        });
        if state.down {
            let reply = Reply::error(
                503,
                "INTERNAL_SERVER_ERROR",
                "Portal is temporarily unavailable",
            );
            return (index, start, Some(reply), None, None);
        }
        let ctx = match &route {
            Route::Unknown => {
                let reply = Reply::error(404, "NOT_FOUND", "Not found");
                return (index, start, Some(reply), None, None);
            }
            Route::Token => None,
            Route::Rest { webhook, method } => {
                match authenticate(state, webhook.as_ref(), token.as_deref()) {
                    Err(reply) => return (index, start, Some(reply), None, None),
                    Ok((auth, user_id)) => {
                        state.requests[index].auth = Some(auth);
                        if !state.bucket_admits() {
                            state.limit_hits += 1;
                            let reply =
                                Reply::error(503, "QUERY_LIMIT_EXCEEDED", "Too many requests");
                            return (index, start, Some(reply), None, None);
                        }
                        Some(Ctx {
                            auth,
                            user_id,
                            method: method.clone(),
                        })
                    }
                }
            }
        };
        let fault = state.faults.take();
        if matches!(fault, Some(Fault::QueryLimit { .. })) {
            state.limit_hits += 1;
        }
        (index, start, None, fault, ctx)
    });

    let finish = |reply: Reply| {
        let now = shared.with_state(|s| {
            s.requests[index].status = reply.status();
            s.requests[index].error = reply.error_code();
            s.now_f64()
        });
        (reply, now)
    };
    let (reply, end) = if let Some(reply) = early {
        finish(reply)
    } else {
        match fault {
            Some(Fault::ServerError { status, .. }) => finish(Reply::error(
                status,
                "INTERNAL_SERVER_ERROR",
                "Internal server error",
            )),
            Some(Fault::QueryLimit { .. }) => finish(Reply::error(
                503,
                "QUERY_LIMIT_EXCEEDED",
                "Too many requests",
            )),
            Some(Fault::OperationTimeLimit { .. }) => finish(Reply::error(
                429,
                "OPERATION_TIME_LIMIT",
                "Method is blocked due to operation time limit.",
            )),
            Some(Fault::Latency { ms, .. }) => {
                tokio::time::sleep(Duration::from_millis(ms)).await;
                finish(dispatch(&shared, ctx.as_ref(), &params))
            }
            Some(Fault::ApplyThenStall { ms, .. }) => {
                let done = finish(dispatch(&shared, ctx.as_ref(), &params));
                tokio::time::sleep(Duration::from_millis(ms)).await;
                done
            }
            None => finish(dispatch(&shared, ctx.as_ref(), &params)),
        }
    };
    reply.into_response(start, end)
}

/// Authenticates a REST call: `(kind, acting user)`.
fn authenticate(
    state: &mut State,
    webhook: Option<&(String, String)>,
    token: Option<&str>,
) -> Result<(AuthKind, u32), Reply> {
    if let Some((user, code)) = webhook {
        let ok = user.parse::<u32>().ok() == Some(state.config.webhook_user_id)
            && *code == state.config.webhook_code;
        return if ok {
            Ok((AuthKind::Webhook, state.config.webhook_user_id))
        } else {
            Err(Reply::error(
                401,
                "INVALID_CREDENTIALS",
                "Invalid request credentials",
            ))
        };
    }
    let Some(token) = token else {
        return Err(Reply::error(
            401,
            "NO_AUTH_FOUND",
            "Wrong authorization data",
        ));
    };
    let now = state.now();
    match state.oauth.check(token, now) {
        TokenCheck::Valid => Ok((AuthKind::OAuth, state.config.webhook_user_id)),
        TokenCheck::Expired => Err(Reply::error(
            401,
            "expired_token",
            "The access token provided has expired.",
        )),
        TokenCheck::Unknown => Err(Reply::error(
            401,
            "invalid_token",
            "The access token provided is invalid.",
        )),
    }
}

fn dispatch(shared: &Shared, ctx: Option<&Ctx>, params: &Params) -> Reply {
    shared.with_state(|state| match ctx {
        None => oauth::handle(state, params),
        Some(ctx) => {
            let reply = api::handle(state, ctx, params);
            if matches!(reply, Reply::Ok { .. }) {
                state.method_calls.push(MethodCall {
                    method: ctx.method.clone(),
                    params: params::flatten(&params.0),
                    auth: ctx.auth,
                });
            }
            reply
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes() {
        assert_eq!(route_of("/oauth/token/"), Route::Token);
        assert_eq!(
            route_of("/rest/1/abc/Telephony.ExternalCall.Register.json"),
            Route::Rest {
                webhook: Some(("1".into(), "abc".into())),
                method: "telephony.externalcall.register".into()
            }
        );
        assert_eq!(
            route_of("/rest/crm.deal.list"),
            Route::Rest {
                webhook: None,
                method: "crm.deal.list".into()
            }
        );
        assert_eq!(route_of("/rest/a/b"), Route::Unknown);
    }
}
