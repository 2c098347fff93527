//! The ONE [`parse_error`] that turns every Bitrix24 failure (REST methods
//! and the OAuth token endpoint) into an [`ErrorKind`] with a message a
//! person can act on.
//!
//! Bitrix24 answers errors as `{"error":"CODE","error_description":"text"}`
//! (the OAuth server: `{"error":"invalid_grant",...}`), mostly with a 4xx/5xx
//! status; an `error` key in a 200 answer is an error too.

use std::time::Duration;

use ringside_core::{Error, ErrorKind};
use serde_json::Value;

/// The wait after `QUERY_LIMIT_EXCEEDED` (the leaky bucket drains 2 req/s).
pub const QUERY_LIMIT_WAIT: Duration = Duration::from_secs(1);
/// The wait after `OPERATION_TIME_LIMIT` (a method's time budget is spent).
pub const OPERATION_TIME_WAIT: Duration = Duration::from_secs(10);
/// The message for `WRONG_AUTH_TYPE` (telephony through an inbound webhook).
pub const WRONG_AUTH_TYPE_MESSAGE: &str = "Bitrix24 refuses telephony methods through an inbound webhook on this portal: create a local application (OAuth) in Bitrix24 and configure client_id/client_secret/refresh token instead";
/// The message for `INVALID_CREDENTIALS`.
pub const INVALID_CREDENTIALS_MESSAGE: &str = "the webhook URL is wrong or was deleted";
/// The message for `ERROR_METHOD_NOT_FOUND` / `insufficient_scope`.
pub const MISSING_SCOPE_MESSAGE: &str = "the webhook lacks the telephony/crm scope";
/// The message for a refused refresh token.
pub const REFRESH_REFUSED: &str = "Bitrix24 refused the refresh token (expired, revoked or already used): reconnect the Bitrix24 application in Settings";

const MAX_DETAIL_CHARS: usize = 300;

/// A failed answer's Bitrix24 code and description (either may be empty).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct VendorError {
    pub code: String,
    pub description: String,
}

impl VendorError {
    /// `{"error":"CODE","error_description":"…"}`, or the body's text.
    pub fn parse(body: &str) -> VendorError {
        let Ok(json) = serde_json::from_str::<Value>(body) else {
            let text = body.trim();
            return VendorError {
                code: String::new(),
                description: if text.starts_with('<') {
                    String::new()
                } else {
                    truncate(text)
                },
            };
        };
        let text = |k: &str| {
            json.get(k)
                .and_then(Value::as_str)
                .map(|s| truncate(s.trim()))
                .unwrap_or_default()
        };
        VendorError {
            code: text("error"),
            description: text("error_description"),
        }
    }

    /// Whether the code (case-insensitive) is `code`.
    pub fn is(&self, code: &str) -> bool {
        self.code.eq_ignore_ascii_case(code)
    }

    fn detail(&self) -> String {
        match (self.code.is_empty(), self.description.is_empty()) {
            (true, true) => String::new(),
            (false, true) => self.code.clone(),
            (true, false) => self.description.clone(),
            (false, false) => format!("{}: {}", self.code, self.description),
        }
    }
}

/// Whether a failed answer says the access token expired or is not valid
/// (worth exactly one refresh).
pub fn is_token_rejected(status: u16, body: &str) -> bool {
    let v = VendorError::parse(body);
    v.is("expired_token")
        || v.is("invalid_token")
        || v.is("NO_AUTH_FOUND")
        || (status == 401 && v.code.is_empty())
}

/// Turn a Bitrix24 answer that is not a success into an [`Error`].
///
/// - `QUERY_LIMIT_EXCEEDED` (503) → `RateLimited`, retry after
///   [`QUERY_LIMIT_WAIT`]; `OPERATION_TIME_LIMIT` (429) → `RateLimited`,
///   retry after [`OPERATION_TIME_WAIT`]: both mean wait, not fail;
/// - `WRONG_AUTH_TYPE` → `Config` ([`WRONG_AUTH_TYPE_MESSAGE`]);
/// - `ERROR_METHOD_NOT_FOUND`, `insufficient_scope` → `Config`
///   ([`MISSING_SCOPE_MESSAGE`]);
/// - `expired_token`, `invalid_token`, `NO_AUTH_FOUND`, any other 401 →
///   `Unauthorized`; `INVALID_CREDENTIALS` → `Unauthorized`
///   ([`INVALID_CREDENTIALS_MESSAGE`]); `invalid_grant`/`invalid_client`
///   (token endpoint) → `Unauthorized` ([`REFRESH_REFUSED`]);
/// - `ACCESS_DENIED`, `user_access_error`, other 403 → `Forbidden`;
/// - 404 → `NotFound`; other 4xx → `Invalid` with the description;
/// - 5xx → `Unavailable`; 3xx → `Config` (wrong portal address); anything
///   else → `Internal`.
pub fn parse_error(status: u16, body: &str) -> Error {
    let v = VendorError::parse(body);
    let detail = v.detail();
    let with = |msg: &str| -> String {
        if detail.is_empty() {
            msg.to_string()
        } else {
            format!("{msg} ({detail})")
        }
    };
    if v.is("QUERY_LIMIT_EXCEEDED") {
        return Error::new(
            ErrorKind::RateLimited,
            "Bitrix24 asks us to slow down (QUERY_LIMIT_EXCEEDED: more than 2 requests per second sustained)",
        )
        .with_retry_after(Some(QUERY_LIMIT_WAIT));
    }
    if v.is("OPERATION_TIME_LIMIT") {
        return Error::new(
            ErrorKind::RateLimited,
            with(
                "Bitrix24 paused this method for using too much server time (OPERATION_TIME_LIMIT)",
            ),
        )
        .with_retry_after(Some(OPERATION_TIME_WAIT));
    }
    if v.is("WRONG_AUTH_TYPE") {
        return Error::config(WRONG_AUTH_TYPE_MESSAGE);
    }
    if v.is("ERROR_METHOD_NOT_FOUND") || v.is("insufficient_scope") {
        return Error::config(with(MISSING_SCOPE_MESSAGE));
    }
    if v.is("INVALID_CREDENTIALS") {
        return Error::new(ErrorKind::Unauthorized, with(INVALID_CREDENTIALS_MESSAGE));
    }
    if v.is("invalid_grant") || v.is("invalid_client") {
        return Error::new(ErrorKind::Unauthorized, with(REFRESH_REFUSED));
    }
    if v.is("expired_token") || v.is("invalid_token") || v.is("NO_AUTH_FOUND") || status == 401 {
        return Error::new(
            ErrorKind::Unauthorized,
            with("Bitrix24 rejected the access token"),
        );
    }
    if v.is("ACCESS_DENIED") || v.is("user_access_error") || status == 403 {
        return Error::new(
            ErrorKind::Forbidden,
            with("Bitrix24 refused: the user or plan lacks the rights for this"),
        );
    }
    match status {
        404 => Error::not_found(with("Bitrix24 has no such resource")),
        500..=599 => Error::new(
            ErrorKind::Unavailable,
            with(&format!("Bitrix24 had a server error ({status})")),
        ),
        300..=399 => Error::config(format!(
            "Bitrix24 answered a redirect ({status}): check the portal address (https://<portal>.bitrix24.com)"
        )),
        400..=499 => Error::invalid(if v.description.is_empty() {
            with(&format!("Bitrix24 refused the request ({status})"))
        } else {
            format!("Bitrix24 refused the request: {}", v.description)
        }),
        // An `error` in a 2xx answer: Bitrix24 refused, whatever the status.
        200..=299 if !v.code.is_empty() => Error::invalid(format!(
            "Bitrix24 refused the request: {}",
            if v.description.is_empty() {
                &v.code
            } else {
                &v.description
            }
        )),
        _ => Error::internal(with(&format!("unexpected answer from Bitrix24 ({status})"))),
    }
}

fn truncate(s: &str) -> String {
    if s.chars().count() <= MAX_DETAIL_CHARS {
        s.to_string()
    } else {
        let cut: String = s.chars().take(MAX_DETAIL_CHARS).collect();
        format!("{cut}…")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(code: &str, description: &str) -> String {
        serde_json::json!({"error": code, "error_description": description}).to_string()
    }

    #[test]
    fn codes_map_to_kinds() {
        let cases: &[(u16, &str, ErrorKind)] = &[
            (503, "QUERY_LIMIT_EXCEEDED", ErrorKind::RateLimited),
            (429, "OPERATION_TIME_LIMIT", ErrorKind::RateLimited),
            (401, "WRONG_AUTH_TYPE", ErrorKind::Config),
            (400, "ERROR_METHOD_NOT_FOUND", ErrorKind::Config),
            (403, "insufficient_scope", ErrorKind::Config),
            (401, "expired_token", ErrorKind::Unauthorized),
            (401, "invalid_token", ErrorKind::Unauthorized),
            (401, "NO_AUTH_FOUND", ErrorKind::Unauthorized),
            (401, "INVALID_CREDENTIALS", ErrorKind::Unauthorized),
            (400, "invalid_grant", ErrorKind::Unauthorized),
            (403, "ACCESS_DENIED", ErrorKind::Forbidden),
            (400, "ERROR_CORE", ErrorKind::Invalid),
            (404, "", ErrorKind::NotFound),
            (500, "INTERNAL_SERVER_ERROR", ErrorKind::Unavailable),
            (503, "OVERLOAD_LIMIT", ErrorKind::Unavailable),
            (302, "", ErrorKind::Config),
            (200, "ERROR_CORE", ErrorKind::Invalid),
            (200, "", ErrorKind::Internal),
        ];
        for (status, code, kind) in cases {
            assert_eq!(
                parse_error(*status, &body(code, "x")).kind,
                *kind,
                "{status} {code}"
            );
        }
        assert_eq!(
            parse_error(503, &body("QUERY_LIMIT_EXCEEDED", "Too many requests")).retry_after,
            Some(QUERY_LIMIT_WAIT)
        );
        assert_eq!(
            parse_error(429, &body("OPERATION_TIME_LIMIT", "")).retry_after,
            Some(OPERATION_TIME_WAIT)
        );
        assert_eq!(
            parse_error(401, &body("WRONG_AUTH_TYPE", "")).message,
            WRONG_AUTH_TYPE_MESSAGE
        );
        assert!(
            parse_error(401, &body("INVALID_CREDENTIALS", ""))
                .message
                .contains(INVALID_CREDENTIALS_MESSAGE)
        );
        let core = parse_error(400, &body("ERROR_CORE", "Unsupported phone number format"));
        assert!(core.message.contains("Unsupported phone number format"));
        assert_eq!(parse_error(502, "<html>").kind, ErrorKind::Unavailable);
    }

    #[test]
    fn token_rejections_are_recognised() {
        assert!(is_token_rejected(401, &body("expired_token", "")));
        assert!(is_token_rejected(401, &body("invalid_token", "")));
        assert!(!is_token_rejected(401, &body("WRONG_AUTH_TYPE", "")));
        assert!(!is_token_rejected(401, &body("INVALID_CREDENTIALS", "")));
    }
}
