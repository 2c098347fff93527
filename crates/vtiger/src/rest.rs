//! The HTTP side of the adapter: one way to send a request (throttle permit,
//! transport errors, bounded body, flood-control headers) and the ONE
//! [`parse_error`] that turns every vendor failure into an [`ErrorKind`].
//!
//! Nothing is retried here: the outbox retries deliveries durably and the
//! lookup cache serves stale data while a refresh runs.

use std::time::Duration;

use chrono::Utc;
use reqwest::header::{ACCEPT, HeaderMap, LOCATION, RETRY_AFTER};
use reqwest::{RequestBuilder, Response, StatusCode};
use ringside_core::{Error, ErrorKind, Result};
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::VtigerCrm;
use crate::wire::Envelope;

/// The REST API's base path under the instance URL.
pub const REST_BASE: &str = "/restapi/v1/vtiger/default";
/// The most rows one VTQL query returns (Vtiger's cap).
pub const MAX_ROWS: usize = 100;
/// When the flood-control headers say this many requests (or fewer) remain,
/// the throttle is held until the window resets.
pub const FLOOD_LOW_WATER: u64 = 5;
/// The flood window assumed when Vtiger sends no `X-FloodControl-Reset`.
const DEFAULT_FLOOD_RESET: Duration = Duration::from_secs(60);
/// The largest successful answer read.
const MAX_BODY_BYTES: usize = 4 << 20;
/// The most of an error answer read for its message.
const MAX_ERROR_BYTES: usize = 16 << 10;
/// How much of a vendor message is quoted.
const MAX_DETAIL_CHARS: usize = 300;

/// Which Vtiger surface answered: the credentials differ, so do the messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Surface {
    /// The Phone Calls Generic gateway (`X-VTIGER-SECRET`).
    Gateway,
    /// The REST API (HTTP Basic `username:accessKey`).
    Rest,
}

impl Surface {
    fn credentials(self) -> &'static str {
        match self {
            Surface::Gateway => "Vtiger rejected the gateway secret (X-VTIGER-SECRET)",
            Surface::Rest => "Vtiger rejected the username or access key",
        }
    }
}

/// An HTTP answer, whatever its status.
#[derive(Debug, Clone)]
pub(crate) struct Reply {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: String,
}

impl Reply {
    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }

    /// The envelope, when the body is one.
    pub fn envelope(&self) -> Option<Envelope> {
        serde_json::from_str(&self.body).ok()
    }

    /// The vendor's error code (`RECORD_NOT_FOUND`, …), when the body has one.
    pub fn error_code(&self) -> Option<String> {
        self.envelope()
            .and_then(|e| e.error)
            .map(|e| e.code)
            .filter(|c| !c.is_empty())
    }

    /// The REST `result` of a successful answer, else the error.
    pub fn into_result(self, surface: Surface) -> Result<Value> {
        if !self.is_success() {
            return Err(parse_error(surface, self.status, &self.headers, &self.body));
        }
        match self.envelope() {
            Some(Envelope {
                success: true,
                result,
                ..
            }) => Ok(result.unwrap_or(Value::Null)),
            _ => Err(parse_error(surface, self.status, &self.headers, &self.body)),
        }
    }
}

/// Turn a Vtiger answer that is not a success into an [`Error`].
///
/// - 401 → `Unauthorized` (which credential depends on `surface`), 403 →
///   `Forbidden`, 404 → `NotFound`, 429 → `RateLimited` with `retry_after`
///   from `Retry-After` (else `X-FloodControl-Reset`), other 4xx →
///   `Invalid` with the vendor's code and `error.message`, 5xx →
///   `Unavailable` (keeping a `Retry-After`), a redirect → `Config` (the base
///   URL is wrong), anything else → `Internal`.
/// - A 2xx with `{"success":false,"error":{…}}` maps by the vendor code:
///   authentication codes → `Unauthorized`, rate-limit codes →
///   `RateLimited`, permission codes → `Forbidden`, others → `Invalid`.
/// - A 2xx whose body is not the JSON envelope → `Internal`.
pub fn parse_error(surface: Surface, status: u16, headers: &HeaderMap, body: &str) -> Error {
    let envelope: Option<Envelope> = serde_json::from_str(body).ok();
    let vendor = envelope.as_ref().and_then(|e| e.error.clone());
    let code = vendor
        .as_ref()
        .map(|e| e.code.trim().to_string())
        .filter(|c| !c.is_empty());
    let detail = vendor_detail(status, code.as_deref(), vendor.map(|e| e.message), body);
    let with_detail = |msg: &str| format!("{msg}: {detail}");
    let retry_after = retry_after(headers);

    if (200..300).contains(&status) {
        return match (&envelope, &code) {
            (Some(env), Some(code)) if !env.success => {
                let kind = kind_of_code(code);
                let message = match kind {
                    ErrorKind::Unauthorized => with_detail(surface.credentials()),
                    ErrorKind::RateLimited => with_detail("Vtiger asks us to slow down"),
                    ErrorKind::Forbidden => with_detail("Vtiger does not allow this"),
                    _ => with_detail("Vtiger refused the request"),
                };
                let after = (kind == ErrorKind::RateLimited)
                    .then_some(retry_after)
                    .flatten();
                Error::new(kind, message).with_retry_after(after)
            }
            (Some(env), None) if !env.success => {
                Error::invalid("Vtiger answered the request with success=false and no error code")
            }
            _ => Error::internal(format!(
                "Vtiger answered {status} with a body that is not the expected JSON \
                 {{\"success\":…,\"result\":…}}: {}",
                cut(body.trim())
            )),
        };
    }
    match status {
        401 => Error::new(ErrorKind::Unauthorized, with_detail(surface.credentials())),
        403 => Error::new(
            ErrorKind::Forbidden,
            with_detail("Vtiger does not allow this (403)"),
        ),
        404 => Error::not_found(with_detail(match surface {
            Surface::Gateway => {
                "Vtiger has no Phone Calls gateway at this address (404; check the base URL)"
            }
            Surface::Rest => "Vtiger does not know this (404)",
        })),
        429 => Error::new(
            ErrorKind::RateLimited,
            with_detail("Vtiger asks us to slow down (429)"),
        )
        .with_retry_after(retry_after),
        300..=399 => {
            let location = headers
                .get(LOCATION)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("nowhere");
            Error::config(format!(
                "Vtiger redirected the request ({status}) to {location}; check the instance URL"
            ))
        }
        400..=499 => Error::invalid(with_detail(&format!(
            "Vtiger refused the request ({status})"
        ))),
        // Only an explicit Retry-After: the flood-control window says nothing
        // about when a failing server recovers.
        500..=599 => Error::new(
            ErrorKind::Unavailable,
            with_detail(&format!("Vtiger is unavailable ({status})")),
        )
        .with_retry_after(explicit_retry_after(headers)),
        _ => Error::internal(with_detail(&format!(
            "unexpected answer from Vtiger ({status})"
        ))),
    }
}

/// The kind a vendor error code stands for.
fn kind_of_code(code: &str) -> ErrorKind {
    match code.to_ascii_uppercase().as_str() {
        "INVALID_AUTH"
        | "INVALID_SECRET"
        | "INVALID_SESSIONID"
        | "INVALID_AUTH_TOKEN"
        | "INVALID_USER_CREDENTIALS"
        | "AUTHENTICATION_REQUIRED"
        | "ACCESSKEY_UNDEFINED"
        | "AUTH_REQUIRED"
        | "INVALIDTOKEN" => ErrorKind::Unauthorized,
        "RATE_LIMIT_EXCEEDED" | "TOO_MANY_REQUESTS" | "API_LIMIT_EXCEEDED" => {
            ErrorKind::RateLimited
        }
        "ACCESS_DENIED" | "PERMISSION_DENIED" | "OPERATION_NOT_PERMITTED" => ErrorKind::Forbidden,
        _ => ErrorKind::Invalid,
    }
}

/// `CODE: message` from the vendor's error object, else the status text,
/// else the body text.
fn vendor_detail(status: u16, code: Option<&str>, message: Option<String>, body: &str) -> String {
    let message = message
        .map(|m| m.trim().to_string())
        .filter(|m| !m.is_empty());
    match (code, message) {
        (Some(code), Some(message)) => format!("{code}: {}", cut(&message)),
        (Some(code), None) => code.to_string(),
        (None, Some(message)) => cut(&message),
        (None, None) => {
            let text = body.trim();
            if text.is_empty() || text.starts_with('<') {
                StatusCode::from_u16(status)
                    .ok()
                    .and_then(|s| s.canonical_reason())
                    .unwrap_or("no details")
                    .to_string()
            } else {
                cut(text)
            }
        }
    }
}

fn cut(text: &str) -> String {
    let mut out: String = text.chars().take(MAX_DETAIL_CHARS).collect();
    if out.len() < text.len() {
        out.push('…');
    }
    out
}

/// `Retry-After` (seconds or an HTTP date), else `X-FloodControl-Reset`.
fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    explicit_retry_after(headers).or_else(|| {
        headers
            .get("x-floodcontrol-reset")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map(Duration::from_secs)
    })
}

/// `Retry-After` alone (seconds or an HTTP date).
fn explicit_retry_after(headers: &HeaderMap) -> Option<Duration> {
    let value = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
    };
    if let Some(v) = value(RETRY_AFTER.as_str()) {
        if let Ok(secs) = v.parse::<u64>() {
            return Some(Duration::from_secs(secs));
        }
        if let Ok(at) = chrono::DateTime::parse_from_rfc2822(v) {
            let wait = at.with_timezone(&Utc) - Utc::now();
            return Some(wait.to_std().unwrap_or(Duration::ZERO));
        }
    }
    None
}

/// What the `X-FloodControl-*` headers say: `(remaining, reset)`.
fn flood_status(headers: &HeaderMap) -> Option<(u64, Option<Duration>)> {
    let number = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
    };
    let remaining = number("x-floodcontrol-remaining")?;
    Some((
        remaining,
        number("x-floodcontrol-reset").map(Duration::from_secs),
    ))
}

/// A VTQL string literal: `'…'` with quotes and backslashes escaped.
pub(crate) fn quote(value: &str) -> String {
    format!("'{}'", value.replace('\\', "\\\\").replace('\'', "''"))
}

/// Whether `id` is a Vtiger composite id (`12x345`), safe in a query.
pub(crate) fn is_record_id(id: &str) -> bool {
    let all_digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    id.split_once('x')
        .is_some_and(|(module, record)| all_digits(module) && all_digits(record))
}

impl VtigerCrm {
    /// Send one request: wait for a throttle permit, send, read the bounded
    /// body. Only transport failures are errors here; every HTTP answer is a
    /// [`Reply`].
    pub(crate) async fn send(
        &self,
        surface: Surface,
        what: &str,
        request: RequestBuilder,
    ) -> Result<Reply> {
        self.throttle.acquire().await;
        tracing::debug!(crm = "vtiger", what, ?surface, "request");
        let response = request
            .header(ACCEPT, "application/json")
            .send()
            .await
            .map_err(|e| self.transport_error(what, &e))?;
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        if surface == Surface::Rest {
            self.observe_flood(&headers);
        }
        let success = (200..300).contains(&status);
        let limit = if success {
            MAX_BODY_BYTES
        } else {
            MAX_ERROR_BYTES
        };
        let body = match read_bounded(response, limit).await {
            Ok((body, complete)) => {
                if success && !complete {
                    return Err(Error::internal(format!(
                        "{what}: Vtiger's answer is larger than {} MiB",
                        MAX_BODY_BYTES >> 20
                    )));
                }
                String::from_utf8_lossy(&body).into_owned()
            }
            Err(e) => return Err(self.transport_error(what, &e)),
        };
        if !success {
            tracing::debug!(crm = "vtiger", what, status, "request failed");
            if status == 429
                && let Some(wait) = retry_after(&headers)
            {
                self.throttle.hold_for(wait);
            }
        }
        Ok(Reply {
            status,
            headers,
            body,
        })
    }

    /// Vtiger Cloud's flood control: every REST answer carries
    /// `X-FloodControl-Limit/Remaining/Reset`. As third-party Vtiger clients
    /// do, when `Remaining` drops to [`FLOOD_LOW_WATER`] (5) or below we stop
    /// sending until the window resets (`Reset` seconds): the throttle is
    /// held for everyone using this CRM.
    fn observe_flood(&self, headers: &HeaderMap) {
        let Some((remaining, reset)) = flood_status(headers) else {
            return;
        };
        if remaining <= FLOOD_LOW_WATER {
            let wait = reset.unwrap_or(DEFAULT_FLOOD_RESET);
            tracing::info!(
                crm = "vtiger",
                remaining,
                wait_secs = wait.as_secs(),
                "Vtiger flood control nearly exhausted; holding requests until it resets"
            );
            self.throttle.hold_for(wait);
        }
    }

    /// `GET {base}/restapi/v1/vtiger/default/{op}?{query}` → `result`.
    pub(crate) async fn rest_get(&self, op: &str, query: &[(&str, &str)]) -> Result<Value> {
        if self.settings.access_key.expose().trim().is_empty() {
            return Err(Error::config("the Vtiger access key is not set"));
        }
        let url = format!("{}{REST_BASE}/{op}", self.base);
        let request = self
            .http
            .get(url)
            .basic_auth(
                &self.settings.username,
                Some(self.settings.access_key.expose()),
            )
            .query(query);
        let what = format!("Vtiger REST {op}");
        self.send(Surface::Rest, &what, request)
            .await?
            .into_result(Surface::Rest)
            .map_err(|e| e.context(&what))
    }

    /// One VTQL query (at most [`MAX_ROWS`] rows), rows decoded as `T`.
    pub(crate) async fn query_rows<T: DeserializeOwned>(&self, vtql: &str) -> Result<Vec<T>> {
        let result = self.rest_get("query", &[("query", vtql)]).await?;
        rows(result, "query")
    }

    /// A VTQL query paged with `LIMIT offset,100` while pages are full, at
    /// most `max_pages` pages. `vtql` has no `LIMIT` and no trailing `;`.
    pub(crate) async fn query_all<T: DeserializeOwned>(
        &self,
        vtql: &str,
        max_pages: usize,
    ) -> Result<Vec<T>> {
        let mut out = Vec::new();
        for page in 0..max_pages {
            let offset = page * MAX_ROWS;
            let rows: Vec<T> = self
                .query_rows(&format!("{vtql} LIMIT {offset},{MAX_ROWS};"))
                .await?;
            let full = rows.len() >= MAX_ROWS;
            out.extend(rows);
            if !full {
                return Ok(out);
            }
        }
        tracing::warn!(
            crm = "vtiger",
            pages = max_pages,
            "Vtiger query has more rows than Ringside reads; the rest is ignored"
        );
        Ok(out)
    }

    /// A failure before any answer: unreachable, timed out, broken mid-way.
    fn transport_error(&self, what: &str, e: &reqwest::Error) -> Error {
        let base = &self.base;
        if e.is_timeout() {
            Error::new(
                ErrorKind::Timeout,
                format!("{what}: Vtiger at {base} did not answer in time"),
            )
        } else if e.is_connect() {
            Error::new(
                ErrorKind::Unavailable,
                format!("{what}: Vtiger unreachable at {base}: {}", root_cause(e)),
            )
        } else {
            Error::new(
                ErrorKind::Unavailable,
                format!(
                    "{what}: the request to Vtiger at {base} failed: {}",
                    root_cause(e)
                ),
            )
        }
    }
}

/// A `result` that must be an array of records.
pub(crate) fn rows<T: DeserializeOwned>(result: Value, what: &str) -> Result<Vec<T>> {
    match result {
        Value::Array(items) => items
            .into_iter()
            .map(|item| {
                serde_json::from_value(item).map_err(|e| {
                    Error::internal(format!("Vtiger {what}: unexpected record shape: {e}"))
                })
            })
            .collect(),
        Value::Null => Ok(Vec::new()),
        other => Err(Error::internal(format!(
            "Vtiger {what}: expected a list of records, got {}",
            cut(&other.to_string())
        ))),
    }
}

/// Read at most `limit` bytes; `complete` is false when the body was longer.
async fn read_bounded(
    mut response: Response,
    limit: usize,
) -> std::result::Result<(Vec<u8>, bool), reqwest::Error> {
    let mut out = Vec::new();
    while let Some(chunk) = response.chunk().await? {
        if out.len() + chunk.len() > limit {
            out.extend_from_slice(&chunk[..limit - out.len()]);
            return Ok((out, false));
        }
        out.extend_from_slice(&chunk);
    }
    Ok((out, true))
}

/// The innermost error message (e.g. "Connection refused").
fn root_cause(e: &reqwest::Error) -> String {
    let mut source: &dyn std::error::Error = e;
    while let Some(next) = source.source() {
        source = next;
    }
    source.to_string()
}

#[cfg(test)]
mod tests {
    use reqwest::header::HeaderValue;

    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (k, v) in pairs {
            map.insert(*k, HeaderValue::from_str(v).unwrap());
        }
        map
    }

    fn body(code: &str, message: &str) -> String {
        serde_json::json!({"success": false, "error": {"code": code, "message": message}})
            .to_string()
    }

    #[test]
    fn statuses_map_to_kinds() {
        let none = HeaderMap::new();
        let cases: &[(u16, ErrorKind)] = &[
            (401, ErrorKind::Unauthorized),
            (403, ErrorKind::Forbidden),
            (404, ErrorKind::NotFound),
            (429, ErrorKind::RateLimited),
            (400, ErrorKind::Invalid),
            (415, ErrorKind::Invalid),
            (500, ErrorKind::Unavailable),
            (503, ErrorKind::Unavailable),
            (302, ErrorKind::Config),
            (101, ErrorKind::Internal),
        ];
        for (status, kind) in cases {
            let e = parse_error(Surface::Rest, *status, &none, &body("X", "y"));
            assert_eq!(e.kind, *kind, "{status}: {}", e.message);
        }
    }

    #[test]
    fn messages_name_the_credential_and_the_vendor_reason() {
        let none = HeaderMap::new();
        let e = parse_error(Surface::Gateway, 401, &none, &body("INVALID_SECRET", "bad"));
        assert!(e.message.contains("X-VTIGER-SECRET"), "{}", e.message);
        let e = parse_error(Surface::Rest, 401, &none, "");
        assert!(e.message.contains("access key"), "{}", e.message);
        let e = parse_error(
            Surface::Gateway,
            400,
            &none,
            &body("RECORD_NOT_FOUND", "No call with call_id x"),
        );
        assert!(
            e.message
                .contains("RECORD_NOT_FOUND: No call with call_id x"),
            "{}",
            e.message
        );
        let e = parse_error(Surface::Rest, 502, &none, "<html>Bad gateway</html>");
        assert!(e.message.contains("Bad Gateway"), "{}", e.message);
    }

    #[test]
    fn retry_after_comes_from_the_header_or_the_flood_reset() {
        let e = parse_error(
            Surface::Rest,
            429,
            &headers(&[("retry-after", "7")]),
            &body("RATE_LIMIT_EXCEEDED", "slow"),
        );
        assert_eq!(e.retry_after, Some(Duration::from_secs(7)));
        let e = parse_error(
            Surface::Rest,
            429,
            &headers(&[("x-floodcontrol-reset", "42")]),
            "",
        );
        assert_eq!(e.retry_after, Some(Duration::from_secs(42)));
        let e = parse_error(Surface::Rest, 400, &headers(&[("retry-after", "7")]), "");
        assert_eq!(e.retry_after, None);
    }

    #[test]
    fn success_false_on_200_maps_by_code() {
        let none = HeaderMap::new();
        let e = parse_error(Surface::Rest, 200, &none, &body("INVALID_SESSIONID", "x"));
        assert_eq!(e.kind, ErrorKind::Unauthorized);
        let e = parse_error(Surface::Rest, 200, &none, &body("QUERY_SYNTAX_ERROR", "x"));
        assert_eq!(e.kind, ErrorKind::Invalid);
        let e = parse_error(Surface::Rest, 200, &none, "<html>login</html>");
        assert_eq!(e.kind, ErrorKind::Internal);
        assert!(e.message.contains("not the expected JSON"), "{}", e.message);
    }

    #[test]
    fn vtql_literals_are_escaped() {
        assert_eq!(quote("abc"), "'abc'");
        assert_eq!(quote("o'brien\\"), "'o''brien\\\\'");
        assert!(is_record_id("12x345"));
        assert!(!is_record_id("12x"));
        assert!(!is_record_id("12x3' OR '1'='1"));
    }
}
