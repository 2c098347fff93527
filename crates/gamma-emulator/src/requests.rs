//! Strict reading of request bodies: JSON only, mandatory parameters
//! present, every parameter of the documented type. Each refusal names the
//! parameter at fault.

use std::net::IpAddr;

use axum::http::header::CONTENT_TYPE;
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};

use crate::callbacks::CallbackTarget;
use crate::calls::DialRequest;
use crate::config::EmulatorConfig;

/// A refused request: status, reason and, for 400s, the parameter at fault.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Rejection {
    pub(crate) status: StatusCode,
    pub(crate) reason: String,
    pub(crate) param: Option<String>,
    pub(crate) retry_after: Option<u64>,
    pub(crate) allow: Option<&'static str>,
}

impl Rejection {
    /// A refusal with this status and reason.
    pub(crate) fn new(status: StatusCode, reason: impl Into<String>) -> Self {
        Self {
            status,
            reason: reason.into(),
            param: None,
            retry_after: None,
            allow: None,
        }
    }

    /// A 400 about one parameter.
    pub(crate) fn bad(param: &str, reason: impl Into<String>) -> Self {
        Self {
            param: Some(param.to_owned()),
            ..Self::new(StatusCode::BAD_REQUEST, reason)
        }
    }
}

impl IntoResponse for Rejection {
    fn into_response(self) -> Response {
        let body = json!({
            "status": self.status.as_u16(),
            "error": self.reason,
            "param": self.param,
        });
        let mut response = (self.status, axum::Json(body)).into_response();
        if let Some(seconds) = self.retry_after {
            response
                .headers_mut()
                .insert("retry-after", HeaderValue::from(seconds));
        }
        if let Some(allow) = self.allow {
            response
                .headers_mut()
                .insert("allow", HeaderValue::from_static(allow));
        }
        response
    }
}

/// The body as a JSON object. Accepts `Content-Type: application/json` and
/// the reference client's non-standard `json`.
pub(crate) fn json_object(
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Map<String, Value>, Rejection> {
    let content_type = headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let essence = content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    if essence != "application/json" && essence != "json" {
        return Err(Rejection::bad(
            "content-type",
            format!("content-type must be application/json, got {content_type:?}"),
        ));
    }
    match serde_json::from_slice(body) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(Rejection::bad("body", "body must be a JSON object")),
        Err(error) => Err(Rejection::bad(
            "body",
            format!("body is not valid JSON: {error}"),
        )),
    }
}

/// A mandatory id-like parameter: a non-empty string or a whole number.
fn required_text(map: &Map<String, Value>, key: &str) -> Result<String, Rejection> {
    match map.get(key) {
        None | Some(Value::Null) => Err(Rejection::bad(
            key,
            format!("missing mandatory parameter {key}"),
        )),
        Some(Value::String(s)) if !s.trim().is_empty() => Ok(s.trim().to_owned()),
        Some(Value::String(_)) => Err(Rejection::bad(key, format!("parameter {key} is empty"))),
        Some(Value::Number(n)) if n.is_u64() => Ok(n.to_string()),
        Some(_) => Err(Rejection::bad(
            key,
            format!("parameter {key} must be a string"),
        )),
    }
}

/// An optional object of name/value pairs (scalar values, sent as text).
fn pairs(map: &Map<String, Value>, key: &str) -> Result<Vec<(String, String)>, Rejection> {
    let object = match map.get(key) {
        None | Some(Value::Null) => return Ok(Vec::new()),
        Some(Value::Object(object)) => object,
        Some(_) => {
            return Err(Rejection::bad(
                key,
                format!("parameter {key} must be a JSON object"),
            ));
        }
    };
    object
        .iter()
        .map(|(name, value)| match value {
            Value::String(s) => Ok((name.clone(), s.clone())),
            Value::Number(n) => Ok((name.clone(), n.to_string())),
            Value::Bool(b) => Ok((name.clone(), b.to_string())),
            _ => Err(Rejection::bad(
                key,
                format!("{key}.{name} must be a string"),
            )),
        })
        .collect()
}

/// Like [`pairs`], but each pair must be a valid HTTP header.
fn header_pairs(map: &Map<String, Value>, key: &str) -> Result<Vec<(String, String)>, Rejection> {
    let pairs = pairs(map, key)?;
    for (name, value) in &pairs {
        if HeaderName::from_bytes(name.as_bytes()).is_err() || HeaderValue::from_str(value).is_err()
        {
            return Err(Rejection::bad(
                key,
                format!("{key}.{name} is not a valid HTTP header"),
            ));
        }
    }
    Ok(pairs)
}

fn is_ip_or_cidr(text: &str) -> bool {
    let (address, prefix) = match text.split_once('/') {
        Some((address, prefix)) => (address, Some(prefix)),
        None => (text, None),
    };
    let Ok(ip) = address.parse::<IpAddr>() else {
        return false;
    };
    let max = if ip.is_ipv4() { 32 } else { 128 };
    prefix.is_none_or(|p| p.parse::<u8>().is_ok_and(|p| p <= max))
}

/// A valid `configure` body: the new target, and the allowed addresses if
/// given (absent: the current ones remain).
pub(crate) fn configure(
    map: &Map<String, Value>,
) -> Result<(CallbackTarget, Option<Vec<String>>), Rejection> {
    let key = "events_callback_url";
    if map.get(key).is_some_and(Value::is_number) {
        return Err(Rejection::bad(
            key,
            format!("parameter {key} must be a string"),
        ));
    }
    let url = required_text(map, key)?;
    let parsed = reqwest::Url::parse(&url)
        .map_err(|e| Rejection::bad(key, format!("{key} is not a URL: {e}")))?;
    if !matches!(parsed.scheme(), "http" | "https") || parsed.host_str().is_none() {
        return Err(Rejection::bad(key, format!("{key} must be an http(s) URL")));
    }
    let ips_key = ["allowed_ip_addresses", "allowed_ip_address"]
        .into_iter()
        .find(|k| map.contains_key(*k));
    let allowed = match ips_key.and_then(|k| map.get(k).map(|v| (k, v))) {
        None | Some((_, Value::Null)) => None,
        Some((k, Value::Array(items))) => {
            let mut addresses = Vec::new();
            for item in items {
                match item.as_str() {
                    Some(text) if is_ip_or_cidr(text) => addresses.push(text.to_owned()),
                    _ => {
                        return Err(Rejection::bad(
                            k,
                            format!("{k} must hold IP addresses or CIDR subnets"),
                        ));
                    }
                }
            }
            Some(addresses)
        }
        Some((k, _)) => {
            return Err(Rejection::bad(
                k,
                format!("parameter {k} must be a JSON array"),
            ));
        }
    };
    let target = CallbackTarget {
        url,
        headers: header_pairs(map, "events_callback_headers")?,
        parameters: pairs(map, "events_callback_parameters")?,
        allowed_ip_addresses: Vec::new(),
    };
    Ok((target, allowed))
}

fn destination(map: &Map<String, Value>) -> Result<String, Rejection> {
    let key = "destination";
    let number = required_text(map, key)?;
    let digits = number.strip_prefix('+').unwrap_or(&number);
    let dialable = digits
        .chars()
        .all(|c| c.is_ascii_digit() || matches!(c, '*' | '#' | ' '))
        && digits
            .chars()
            .any(|c| c.is_ascii_digit() || c == '*' || c == '#');
    if !dialable {
        return Err(Rejection::bad(
            key,
            format!("destination {number:?} is not a dialable number"),
        ));
    }
    Ok(number)
}

/// A valid `call` body for this PBX.
pub(crate) fn call(
    map: &Map<String, Value>,
    config: &EmulatorConfig,
) -> Result<DialRequest, Rejection> {
    let key = "extension";
    let text = required_text(map, key)?;
    let extension: u32 = text.parse().map_err(|_| {
        Rejection::bad(
            key,
            format!("extension {text:?} is not an extension number"),
        )
    })?;
    if config.extension_name(extension).is_none() {
        return Err(Rejection::bad(
            key,
            format!("extension {extension} is not in the extension list"),
        ));
    }
    Ok(DialRequest {
        extension,
        destination: destination(map)?,
        headers: header_pairs(map, "request_callback_headers")?,
        parameters: pairs(map, "request_callback_parameters")?,
    })
}

/// A valid `drop` body: the call id.
pub(crate) fn drop_call(map: &Map<String, Value>) -> Result<String, Rejection> {
    required_text(map, "callId")
}

/// A valid `redirectIncoming` body: call id and destination.
pub(crate) fn redirect(map: &Map<String, Value>) -> Result<(String, String), Rejection> {
    Ok((required_text(map, "callId")?, destination(map)?))
}
