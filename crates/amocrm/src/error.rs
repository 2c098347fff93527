//! The ONE [`parse_error`] that turns every amoCRM failure (API v4, the
//! OAuth endpoint, the legacy calls/add) into an [`ErrorKind`] with a
//! message a person can act on.
//!
//! amo answers errors as `application/problem+json`
//! (`{"title","type","status","detail"}`, with `validation-errors[].errors[]
//! {code,path,detail}` for a 400), or `{"_total_items":0,"errors":[{"title":
//! "Entity not found"}]}` for a call whose number matches nothing, or the
//! OAuth server's `{"hint","title","detail"}`.

use std::time::Duration;

use chrono::Utc;
use reqwest::header::{HeaderMap, RETRY_AFTER};
use ringside_core::{Error, ErrorKind};
use serde_json::Value;

/// How long an IP block (403 "IP address blocked") is waited out.
pub const IP_BLOCK_WAIT: Duration = Duration::from_secs(60);
/// The wait after a 429 without `Retry-After`.
pub const DEFAULT_429_WAIT: Duration = Duration::from_secs(1);
/// The message for a refused refresh token (revoked or already used).
pub const REFRESH_REFUSED: &str = "amoCRM refused the refresh token: reconnect amoCRM in Settings";
/// The message for an unpaid account (402).
pub const NOT_PAID: &str = "the amoCRM account is not paid";
/// amo's title for a call whose number matches no contact or company.
pub const ENTITY_NOT_FOUND: &str = "Entity not found";

const MAX_DETAIL_CHARS: usize = 300;

/// Turn an amoCRM answer that is not a success into an [`Error`].
///
/// - 401 → `Unauthorized`; 402 → `Forbidden` ([`NOT_PAID`]);
/// - 403 whose body mentions "blocked" → `RateLimited` for
///   [`IP_BLOCK_WAIT`] (amo restricts an IP after repeated 429s); other 403 →
///   `Forbidden`;
/// - 429 → `RateLimited` (`Retry-After`, else [`DEFAULT_429_WAIT`]);
/// - 400/422 and other 4xx → `Invalid` with amo's title, detail and every
///   validation error's `path: detail`; 404 → `NotFound`;
/// - 5xx → `Unavailable`; 3xx → `Config` (wrong base URL); anything else
///   (an unexpected 2xx) → `Internal`.
pub fn parse_error(status: u16, headers: &HeaderMap, body: &str) -> Error {
    let detail = vendor_detail(body);
    let with = |msg: &str| -> String {
        if detail.is_empty() {
            msg.to_string()
        } else {
            format!("{msg}: {detail}")
        }
    };
    match status {
        401 => Error::new(
            ErrorKind::Unauthorized,
            with("amoCRM rejected the access token"),
        ),
        402 => Error::new(ErrorKind::Forbidden, with(NOT_PAID)),
        403 if body.to_ascii_lowercase().contains("blocked") => Error::new(
            ErrorKind::RateLimited,
            with(&format!(
                "amoCRM blocked this IP address for too many requests; waiting {} s",
                IP_BLOCK_WAIT.as_secs()
            )),
        )
        .with_retry_after(Some(
            retry_after(headers)
                .unwrap_or(IP_BLOCK_WAIT)
                .max(IP_BLOCK_WAIT),
        )),
        403 => Error::new(
            ErrorKind::Forbidden,
            with("amoCRM refused: the integration's user lacks the rights for this"),
        ),
        404 => Error::not_found(with("amoCRM has no such resource")),
        429 => Error::new(
            ErrorKind::RateLimited,
            "amoCRM asks us to slow down (more than 7 requests per second)",
        )
        .with_retry_after(Some(retry_after(headers).unwrap_or(DEFAULT_429_WAIT))),
        500..=599 => Error::new(
            ErrorKind::Unavailable,
            with(&format!("amoCRM had a server error ({status})")),
        ),
        300..=399 => Error::config(format!(
            "amoCRM answered a redirect ({status}): check the account address (https://<subdomain>.amocrm.ru)"
        )),
        400..=499 => Error::invalid(with(&format!("amoCRM refused the request ({status})"))),
        _ => Error::internal(with(&format!("unexpected answer from amoCRM ({status})"))),
    }
}

/// Whether a 400 is amo's "no entity has this phone" for a call.
pub fn is_entity_not_found(status: u16, body: &str) -> bool {
    (status == 400 || status == 404) && body.contains(ENTITY_NOT_FOUND)
}

/// Everything a person can read in amo's error body: title, detail, hint,
/// `errors[]` titles/details and `validation-errors` as `path: detail`.
pub fn vendor_detail(body: &str) -> String {
    let Ok(json) = serde_json::from_str::<Value>(body) else {
        let text = body.trim();
        return if text.starts_with('<') {
            String::new()
        } else {
            truncate(text)
        };
    };
    let mut parts: Vec<String> = Vec::new();
    let mut push = |s: &str| {
        let s = s.trim();
        if !s.is_empty() && !parts.iter().any(|p| p == s) {
            parts.push(s.to_string());
        }
    };
    for key in ["title", "detail", "hint", "error_description"] {
        if let Some(s) = json.get(key).and_then(Value::as_str) {
            push(s);
        }
    }
    // The legacy calls/add: {"response":{"error":"…","error_code":401}}.
    if let Some(s) = json.pointer("/response/error").and_then(Value::as_str) {
        push(s);
    }
    if let Some(errors) = json.get("errors").and_then(Value::as_array) {
        for e in errors {
            match e {
                Value::String(s) => push(s),
                Value::Object(_) => {
                    for key in ["title", "detail"] {
                        if let Some(s) = e.get(key).and_then(Value::as_str) {
                            push(s);
                        }
                    }
                }
                _ => {}
            }
        }
    }
    if let Some(groups) = json.get("validation-errors").and_then(Value::as_array) {
        for group in groups {
            for e in group
                .get("errors")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                let path = e.get("path").and_then(Value::as_str).unwrap_or("");
                let detail = e
                    .get("detail")
                    .and_then(Value::as_str)
                    .or_else(|| e.get("code").and_then(Value::as_str))
                    .unwrap_or("");
                if path.is_empty() {
                    push(detail);
                } else {
                    push(&format!("{path}: {detail}"));
                }
            }
        }
    }
    truncate(&parts.join("; "))
}

fn truncate(s: &str) -> String {
    if s.chars().count() <= MAX_DETAIL_CHARS {
        s.to_string()
    } else {
        let cut: String = s.chars().take(MAX_DETAIL_CHARS).collect();
        format!("{cut}…")
    }
}

/// `Retry-After` as seconds or an HTTP date.
pub fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let v = headers
        .get(RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)?;
    if let Ok(secs) = v.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    chrono::DateTime::parse_from_rfc2822(v).ok().map(|at| {
        (at.with_timezone(&Utc) - Utc::now())
            .to_std()
            .unwrap_or(Duration::ZERO)
    })
}

#[cfg(test)]
mod tests {
    use reqwest::header::HeaderValue;
    use serde_json::json;

    use super::*;

    #[test]
    fn statuses_map_to_kinds() {
        let none = HeaderMap::new();
        let cases: &[(u16, &str, ErrorKind)] = &[
            (401, "{}", ErrorKind::Unauthorized),
            (402, "{}", ErrorKind::Forbidden),
            (
                403,
                r#"{"title":"IP address blocked"}"#,
                ErrorKind::RateLimited,
            ),
            (403, r#"{"title":"Forbidden"}"#, ErrorKind::Forbidden),
            (404, "", ErrorKind::NotFound),
            (429, "", ErrorKind::RateLimited),
            (400, "{}", ErrorKind::Invalid),
            (500, "", ErrorKind::Unavailable),
            (503, "<html>", ErrorKind::Unavailable),
            (301, "", ErrorKind::Config),
            (200, "", ErrorKind::Internal),
        ];
        for (status, body, kind) in cases {
            assert_eq!(
                parse_error(*status, &none, body).kind,
                *kind,
                "{status} {body}"
            );
        }
        assert!(parse_error(402, &none, "").message.contains(NOT_PAID));
        let blocked = parse_error(403, &none, "IP address blocked");
        assert_eq!(blocked.retry_after, Some(IP_BLOCK_WAIT));
        assert_eq!(
            parse_error(429, &none, "").retry_after,
            Some(DEFAULT_429_WAIT)
        );
        let mut h = HeaderMap::new();
        h.insert(RETRY_AFTER, HeaderValue::from_static("7"));
        assert_eq!(
            parse_error(429, &h, "").retry_after,
            Some(Duration::from_secs(7))
        );
    }

    #[test]
    fn validation_errors_are_quoted() {
        let body = json!({"validation-errors":[{"request_id":"0","errors":[
            {"code":"NotSupportedChoice","path":"call_status","detail":"The value you selected is not a valid choice."}]}],
            "title":"Bad Request","type":"https://httpstatus.es/400","status":400,"detail":"Request validation failed"})
        .to_string();
        let e = parse_error(400, &HeaderMap::new(), &body);
        assert_eq!(e.kind, ErrorKind::Invalid);
        assert!(
            e.message.contains("Request validation failed"),
            "{}",
            e.message
        );
        assert!(
            e.message
                .contains("call_status: The value you selected is not a valid choice."),
            "{}",
            e.message
        );
        let nf = json!({"_total_items":0,"errors":[{"title":"Entity not found"}]}).to_string();
        assert!(is_entity_not_found(400, &nf));
        assert!(!is_entity_not_found(400, &body));
        assert!(
            parse_error(400, &HeaderMap::new(), &nf)
                .message
                .contains("Entity not found")
        );
    }
}
