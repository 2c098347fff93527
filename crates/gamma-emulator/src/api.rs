//! The requests API under `/vtcrm/api/`: one route that checks faults,
//! authorization and the HTTP method, serves the API method and records the
//! exchange.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::header::AUTHORIZATION;
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::any;
use axum::{Json, Router};
use serde_json::{Value, json};

use crate::calls;
use crate::faults::Affliction;
use crate::requests::{self, Rejection};
use crate::state::{RecordedRequest, Shared, lock};

/// The path prefix of the requests API.
pub const API_PREFIX: &str = "/vtcrm/api";

/// The router of the requests API.
pub(crate) fn app(shared: Arc<Shared>) -> Router {
    Router::new()
        .route(&format!("{API_PREFIX}/{{method}}"), any(serve_request))
        .with_state(shared)
}

async fn serve_request(
    State(shared): State<Arc<Shared>>,
    method: Method,
    Path(name): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let affliction = lock(&shared.faults).next_request();
    let outcome = match affliction {
        Affliction::Fail {
            status,
            retry_after,
        } => {
            let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            let reason = status.canonical_reason().unwrap_or("injected fault");
            Err(Rejection {
                retry_after,
                ..Rejection::new(status, reason)
            })
        }
        Affliction::Delay(delay) => {
            tokio::time::sleep(delay).await;
            serve(&shared, &method, &name, &headers, &body)
        }
        Affliction::None => serve(&shared, &method, &name, &headers, &body),
    };
    let response = match outcome {
        Ok(body) => (StatusCode::OK, Json(body)).into_response(),
        Err(rejection) => rejection.into_response(),
    };
    shared.record(RecordedRequest {
        method: method.to_string(),
        path: name,
        headers: headers
            .iter()
            .map(|(n, v)| {
                (
                    n.as_str().to_owned(),
                    String::from_utf8_lossy(v.as_bytes()).into_owned(),
                )
            })
            .collect(),
        body: serde_json::from_slice(&body).unwrap_or(Value::Null),
        status: response.status().as_u16(),
    });
    response
}

fn authorize(shared: &Shared, headers: &HeaderMap) -> Result<(), Rejection> {
    let expected = format!("VTCRM-Basic {}", shared.config.api_key);
    match headers.get(AUTHORIZATION).map(|v| v.as_bytes()) {
        Some(given) if given == expected.as_bytes() => Ok(()),
        Some(_) => Err(Rejection::new(StatusCode::UNAUTHORIZED, "invalid API key")),
        None => Err(Rejection::new(
            StatusCode::UNAUTHORIZED,
            "missing Authorization: VTCRM-Basic header",
        )),
    }
}

fn expect_method(method: &Method, allowed: Method) -> Result<(), Rejection> {
    if *method == allowed {
        return Ok(());
    }
    let allow = if allowed == Method::GET {
        "GET"
    } else {
        "POST"
    };
    Err(Rejection {
        allow: Some(allow),
        ..Rejection::new(
            StatusCode::METHOD_NOT_ALLOWED,
            format!("method {method} not allowed, use {allow}"),
        )
    })
}

fn ok() -> Value {
    json!({"status": "OK"})
}

fn unknown_call(id: &str) -> Rejection {
    Rejection::bad("callId", format!("unknown callId {id}"))
}

/// The six methods of the requests API.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ApiMethod {
    Configure,
    ExtensionList,
    ExtensionListJson,
    Call,
    Drop,
    RedirectIncoming,
}

impl ApiMethod {
    fn from_path(name: &str) -> Option<Self> {
        Some(match name {
            "configure" => Self::Configure,
            "getExtensionList" => Self::ExtensionList,
            "getExtensionListJSON" => Self::ExtensionListJson,
            "call" => Self::Call,
            "drop" => Self::Drop,
            "redirectIncoming" => Self::RedirectIncoming,
            _ => return None,
        })
    }

    fn http_method(self) -> Method {
        match self {
            Self::ExtensionList | Self::ExtensionListJson => Method::GET,
            Self::Configure | Self::Call | Self::Drop | Self::RedirectIncoming => Method::POST,
        }
    }
}

fn serve(
    shared: &Arc<Shared>,
    method: &Method,
    name: &str,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Value, Rejection> {
    let Some(api_method) = ApiMethod::from_path(name) else {
        return Err(Rejection::new(
            StatusCode::NOT_FOUND,
            format!("no API method {name}"),
        ));
    };
    authorize(shared, headers)?;
    expect_method(method, api_method.http_method())?;
    let extensions = &shared.config.extensions;
    match api_method {
        ApiMethod::ExtensionList => Ok(extensions.iter().map(|(number, _)| *number).collect()),
        ApiMethod::ExtensionListJson => Ok(extensions
            .iter()
            .map(|(number, name)| json!({"extension": number, "name": name}))
            .collect()),
        ApiMethod::Configure => {
            let (mut target, allowed) =
                requests::configure(&requests::json_object(headers, body)?)?;
            let callbacks = &shared.events.callbacks;
            target.allowed_ip_addresses = match allowed {
                Some(allowed) => allowed,
                None => callbacks
                    .target()
                    .map(|t| t.allowed_ip_addresses)
                    .unwrap_or_default(),
            };
            callbacks.set_target(target);
            Ok(ok())
        }
        ApiMethod::Call => {
            let request = requests::call(&requests::json_object(headers, body)?, &shared.config)?;
            let call_id = calls::dial(shared, request);
            Ok(json!({"status": "OK", "callId": call_id}))
        }
        ApiMethod::Drop => {
            let id = requests::drop_call(&requests::json_object(headers, body)?)?;
            calls::hang_up(shared, &id).map_err(|_| unknown_call(&id))?;
            Ok(ok())
        }
        ApiMethod::RedirectIncoming => {
            let (id, destination) = requests::redirect(&requests::json_object(headers, body)?)?;
            calls::redirect(shared, &id, &destination).map_err(|_| unknown_call(&id))?;
            Ok(ok())
        }
    }
}
