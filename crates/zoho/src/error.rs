//! The ONE [`parse_error`] that turns every Zoho failure into an
//! [`ErrorKind`] with a message a person can act on, and the table of
//! documented PhoneBridge codes behind it.
//!
//! Two shapes reach it:
//! - PhoneBridge: `{"code":"…","details":{…},"message":"…","status":"error"}`
//!   (with a 4xx/5xx status, or 2xx with `"status":"error"`);
//! - the accounts server's token endpoint: `{"error":"invalid_code"}` with
//!   HTTP **200**, or `400 {"error":"Access Denied","error_description":"You
//!   have made too many requests continuously…"}` when the mint cap is hit.

use std::time::Duration;

use chrono::Utc;
use reqwest::StatusCode;
use reqwest::header::{HeaderMap, LOCATION, RETRY_AFTER};
use ringside_core::{Error, ErrorKind};
use serde_json::Value;

use crate::wire::{PbError, TokenResponse};

/// How much of a vendor message is quoted.
const MAX_DETAIL_CHARS: usize = 300;
/// How long Zoho blocks minting after "too many requests" (its window).
pub const MINT_BLOCK: Duration = Duration::from_secs(10 * 60);

/// The message for a refused refresh token (`invalid_code` on refresh).
pub const REFRESH_REFUSED: &str =
    "Zoho refused the refresh token (revoked or expired): reconnect Zoho in Settings";
/// The message for a refused client id or secret.
pub const CLIENT_REFUSED: &str = "Zoho rejected the client id/secret";
/// The message for a refused access token.
pub const TOKEN_REFUSED: &str = "Zoho rejected the access token";

/// Every documented PhoneBridge code (plus the CRM API's generic ones that
/// reach PhoneBridge callers), its kind and what to tell the person.
/// `{param}` is replaced by `details.param`.
pub const CODES: &[(&str, ErrorKind, &str)] = &[
    ("INVALID_TOKEN", ErrorKind::Unauthorized, TOKEN_REFUSED),
    (
        "AUTHENTICATION_FAILURE",
        ErrorKind::Unauthorized,
        TOKEN_REFUSED,
    ),
    (
        "OAUTH_SCOPE_MISMATCH",
        ErrorKind::Forbidden,
        "the Zoho authorisation lacks a permission Ringside needs (PhoneBridge, Contacts or Deals read): reconnect Zoho in Settings",
    ),
    (
        "TOO_MANY_REQUESTS",
        ErrorKind::RateLimited,
        "Zoho asks us to slow down (API limit reached)",
    ),
    (
        "REQUIRED_PARAM_MISSING",
        ErrorKind::Invalid,
        "Zoho says a required parameter is missing: {param}",
    ),
    (
        "INVALID_DATA",
        ErrorKind::Invalid,
        "Zoho says a parameter has an invalid value: {param}",
    ),
    (
        "NO_PERMISSION",
        ErrorKind::Forbidden,
        "your Zoho CRM license or role does not allow PhoneBridge (it needs an edition with telephony and an administrator's privilege)",
    ),
    (
        "PBX_NOT_REGISTERED",
        ErrorKind::Config,
        "Ringside is not registered as a PhoneBridge vendor for this Zoho client (the client id must be Ringside's PhoneBridge app for this data centre)",
    ),
    (
        "PBX_NOT_INTEGRATED",
        ErrorKind::Config,
        "PhoneBridge is not enabled for this Zoho account: run the integration setup",
    ),
    (
        "PBX_ALREADY_ENABLED",
        ErrorKind::Conflict,
        "Ringside's PhoneBridge integration is already enabled for this Zoho account",
    ),
    (
        "DIFFERENT_PBX_ALREADY_ENABLED",
        ErrorKind::Conflict,
        "another telephony provider is enabled in Zoho; disable it first (Zoho Setup → Telephony), then run the integration setup again",
    ),
    (
        "INVALID_USER",
        ErrorKind::Invalid,
        "the Zoho user is not enabled for PhoneBridge (enable click-to-call for them in the integration setup, or fix their Zoho user id in the agent directory)",
    ),
    (
        "INTERNAL_ERROR",
        ErrorKind::Unavailable,
        "Zoho had an internal error",
    ),
];

/// The kind and message template of a documented code.
pub fn describe_code(code: &str) -> Option<(ErrorKind, &'static str)> {
    CODES
        .iter()
        .find(|(c, _, _)| c.eq_ignore_ascii_case(code.trim()))
        .map(|(_, kind, message)| (*kind, *message))
}

/// Turn a Zoho answer that is not a success into an [`Error`].
///
/// - A PhoneBridge code maps through [`CODES`] (the vendor's code and message
///   are appended). `INTERNAL_ERROR` answered with **403** is Zoho's way of
///   saying the user lacks the privilege: `Forbidden`.
/// - An accounts-server error: `invalid_code` → `Unauthorized` (reconnect),
///   `invalid_client`/`invalid_client_secret` → `Config`, `Access Denied …
///   too many requests` → `RateLimited` for 10 minutes, others → `Invalid`.
/// - Without a code, by status: 401 → `Unauthorized`, 403 → `Forbidden`,
///   404 → `NotFound`, 429 → `RateLimited` (+`Retry-After`), 5xx →
///   `Unavailable`, 3xx → `Config`, other 4xx → `Invalid`, anything else
///   (a 2xx that is not what we expected) → `Internal`.
pub fn parse_error(status: u16, headers: &HeaderMap, body: &str) -> Error {
    let json: Option<Value> = serde_json::from_str(body).ok();
    let after = retry_after(headers);

    // The accounts server's shape.
    if let Some(token) = json
        .as_ref()
        .filter(|v| v.get("error").is_some_and(Value::is_string))
        .and_then(|v| serde_json::from_value::<TokenResponse>(v.clone()).ok())
        .filter(|t| !t.error.trim().is_empty())
    {
        return oauth_error(status, &token.error, &token.error_description, after);
    }

    // PhoneBridge's shape.
    let vendor: Option<PbError> = json
        .as_ref()
        .filter(|v| v.is_object())
        .and_then(|v| serde_json::from_value(v.clone()).ok())
        .filter(|e: &PbError| !e.code.trim().is_empty());
    if let Some(vendor) = vendor {
        return code_error(status, &vendor, after);
    }

    let detail = status_detail(status, json.as_ref(), body);
    let with_detail = |msg: &str| format!("{msg} ({detail})");
    match status {
        401 => Error::new(ErrorKind::Unauthorized, with_detail(TOKEN_REFUSED)),
        403 => Error::new(
            ErrorKind::Forbidden,
            with_detail("Zoho does not allow this (403)"),
        ),
        404 => Error::not_found(with_detail(
            "Zoho has no such PhoneBridge endpoint (404; check the data centre)",
        )),
        429 => Error::new(
            ErrorKind::RateLimited,
            with_detail("Zoho asks us to slow down (429)"),
        )
        .with_retry_after(after),
        300..=399 => {
            let location = headers
                .get(LOCATION)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("nowhere");
            Error::config(format!(
                "Zoho redirected the request ({status}) to {location}; check the accounts server and data centre"
            ))
        }
        400..=499 => Error::invalid(with_detail(&format!("Zoho refused the request ({status})"))),
        500..=599 => Error::new(
            ErrorKind::Unavailable,
            with_detail(&format!("Zoho is unavailable ({status})")),
        )
        .with_retry_after(after),
        _ => Error::internal(with_detail(&format!(
            "unexpected answer from Zoho ({status})"
        ))),
    }
}

/// A PhoneBridge `{"code": …}` error.
fn code_error(status: u16, vendor: &PbError, after: Option<Duration>) -> Error {
    let code = vendor.code.trim().to_ascii_uppercase();
    let vendor_text = match vendor.message.trim() {
        "" => code.clone(),
        m => format!("{code}: {}", cut(m)),
    };
    let param = vendor.param().unwrap_or_else(|| "(not named)".to_string());
    let (kind, message) = match describe_code(&code) {
        // Zoho documents a 403 INTERNAL_ERROR for "the user doesn't have
        // enough privilege to enable PhoneBridge".
        Some((ErrorKind::Unavailable, _)) if status == 403 => (
            ErrorKind::Forbidden,
            "your Zoho user does not have the privilege to do this in Zoho CRM (ask a Zoho administrator)"
                .to_string(),
        ),
        Some((kind, template)) => (kind, template.replace("{param}", &param)),
        None if status == 429 => (
            ErrorKind::RateLimited,
            "Zoho asks us to slow down (429)".to_string(),
        ),
        None if status >= 500 => (
            ErrorKind::Unavailable,
            format!("Zoho is unavailable ({status})"),
        ),
        None if status == 401 => (ErrorKind::Unauthorized, TOKEN_REFUSED.to_string()),
        None => (ErrorKind::Invalid, "Zoho refused the request".to_string()),
    };
    let retry = match kind {
        ErrorKind::RateLimited | ErrorKind::Unavailable => after,
        _ => None,
    };
    Error::new(kind, format!("{message} (Zoho: {vendor_text})")).with_retry_after(retry)
}

/// An accounts-server `{"error": …}`.
fn oauth_error(status: u16, error: &str, description: &str, after: Option<Duration>) -> Error {
    let error = error.trim();
    let description = description.trim();
    let vendor = if description.is_empty() {
        error.to_string()
    } else {
        format!("{error}: {}", cut(description))
    };
    let lower = error.to_ascii_lowercase();
    let too_many = description
        .to_ascii_lowercase()
        .contains("too many requests")
        || lower.contains("too many requests");
    match lower.as_str() {
        "invalid_code" => Error::new(ErrorKind::Unauthorized, REFRESH_REFUSED),
        "invalid_client" | "invalid_client_secret" | "unauthorized_client" => {
            Error::config(format!("{CLIENT_REFUSED} (Zoho: {vendor})"))
        }
        "invalid_redirect_uri" => Error::config(format!(
            "the redirect URI is not registered for this Zoho client (Zoho: {vendor})"
        )),
        "access denied" | "access_denied" if too_many => Error::new(
            ErrorKind::RateLimited,
            format!(
                "Zoho refused a new access token: at most 10 per 10 minutes per refresh token; waiting (Zoho: {vendor})"
            ),
        )
        .with_retry_after(Some(after.unwrap_or(MINT_BLOCK).max(MINT_BLOCK))),
        "access denied" | "access_denied" => Error::new(
            ErrorKind::Forbidden,
            format!("Zoho denied access (Zoho: {vendor})"),
        ),
        _ if too_many => Error::new(
            ErrorKind::RateLimited,
            format!("Zoho asks us to slow down (Zoho: {vendor})"),
        )
        .with_retry_after(Some(after.unwrap_or(MINT_BLOCK))),
        _ if status >= 500 => Error::new(
            ErrorKind::Unavailable,
            format!("Zoho's accounts server is unavailable ({status}; {vendor})"),
        )
        .with_retry_after(after),
        _ => Error::invalid(format!("Zoho's accounts server refused the request: {vendor}")),
    }
}

/// What to quote when there is no vendor code: a `message`, the body text,
/// else the status text.
fn status_detail(status: u16, json: Option<&Value>, body: &str) -> String {
    if let Some(m) = json
        .and_then(|v| v.get("message"))
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|m| !m.is_empty())
    {
        return cut(m);
    }
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

fn cut(text: &str) -> String {
    let mut out: String = text.chars().take(MAX_DETAIL_CHARS).collect();
    if out.len() < text.len() {
        out.push('…');
    }
    out
}

/// `Retry-After` (seconds or an HTTP date).
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

    fn pb(code: &str, details: Value) -> String {
        json!({"code": code, "details": details, "message": "vendor says", "status": "error"})
            .to_string()
    }

    #[test]
    fn every_documented_code_has_its_kind_and_message() {
        let none = HeaderMap::new();
        let cases: &[(u16, &str, ErrorKind, &str)] = &[
            (
                401,
                "INVALID_TOKEN",
                ErrorKind::Unauthorized,
                "rejected the access token",
            ),
            (
                400,
                "REQUIRED_PARAM_MISSING",
                ErrorKind::Invalid,
                "required parameter is missing: tonumber",
            ),
            (
                400,
                "INVALID_DATA",
                ErrorKind::Invalid,
                "invalid value: tonumber",
            ),
            (
                403,
                "NO_PERMISSION",
                ErrorKind::Forbidden,
                "license or role does not allow PhoneBridge",
            ),
            (
                400,
                "PBX_NOT_REGISTERED",
                ErrorKind::Config,
                "not registered as a PhoneBridge vendor",
            ),
            (
                400,
                "PBX_NOT_INTEGRATED",
                ErrorKind::Config,
                "run the integration setup",
            ),
            (
                403,
                "PBX_ALREADY_ENABLED",
                ErrorKind::Conflict,
                "already enabled",
            ),
            (
                403,
                "DIFFERENT_PBX_ALREADY_ENABLED",
                ErrorKind::Conflict,
                "another telephony provider is enabled in Zoho; disable it first",
            ),
            (
                400,
                "INVALID_USER",
                ErrorKind::Invalid,
                "not enabled for PhoneBridge",
            ),
            (
                500,
                "INTERNAL_ERROR",
                ErrorKind::Unavailable,
                "internal error",
            ),
            (403, "INTERNAL_ERROR", ErrorKind::Forbidden, "privilege"),
            (
                429,
                "TOO_MANY_REQUESTS",
                ErrorKind::RateLimited,
                "slow down",
            ),
            (
                400,
                "SOMETHING_NEW",
                ErrorKind::Invalid,
                "SOMETHING_NEW: vendor says",
            ),
        ];
        for (status, code, kind, text) in cases {
            let e = parse_error(*status, &none, &pb(code, json!({"param": "tonumber"})));
            assert_eq!(e.kind, *kind, "{code}: {}", e.message);
            assert!(e.message.contains(text), "{code}: {}", e.message);
        }
        // A 2xx carrying status=error maps the same way.
        let e = parse_error(200, &none, &pb("INVALID_USER", json!({})));
        assert_eq!(e.kind, ErrorKind::Invalid);
    }

    #[test]
    fn statuses_without_a_code() {
        let none = HeaderMap::new();
        for (status, kind) in [
            (401, ErrorKind::Unauthorized),
            (403, ErrorKind::Forbidden),
            (404, ErrorKind::NotFound),
            (429, ErrorKind::RateLimited),
            (400, ErrorKind::Invalid),
            (502, ErrorKind::Unavailable),
            (302, ErrorKind::Config),
            (200, ErrorKind::Internal),
        ] {
            assert_eq!(parse_error(status, &none, "<html/>").kind, kind, "{status}");
        }
    }

    #[test]
    fn retry_after_is_kept_for_rate_limits() {
        let mut h = HeaderMap::new();
        h.insert(RETRY_AFTER, HeaderValue::from_static("7"));
        let e = parse_error(429, &h, "");
        assert_eq!(e.retry_after, Some(Duration::from_secs(7)));
        let e = parse_error(429, &h, &pb("TOO_MANY_REQUESTS", json!({})));
        assert_eq!(e.retry_after, Some(Duration::from_secs(7)));
        let e = parse_error(400, &h, &pb("INVALID_USER", json!({})));
        assert_eq!(e.retry_after, None);
    }

    #[test]
    fn accounts_errors() {
        let none = HeaderMap::new();
        let e = parse_error(200, &none, r#"{"error":"invalid_code"}"#);
        assert_eq!(e.kind, ErrorKind::Unauthorized);
        assert!(e.message.contains("reconnect Zoho"), "{}", e.message);
        let e = parse_error(200, &none, r#"{"error":"invalid_client"}"#);
        assert_eq!(e.kind, ErrorKind::Config);
        assert!(e.message.contains("client id/secret"), "{}", e.message);
        let e = parse_error(
            400,
            &none,
            r#"{"error":"Access Denied","error_description":"You have made too many requests continuously. Please try again after some time."}"#,
        );
        assert_eq!(e.kind, ErrorKind::RateLimited);
        assert_eq!(e.retry_after, Some(MINT_BLOCK));
    }
}
