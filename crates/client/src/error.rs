//! The hub's answers and transport failures as [`ringside_core::Error`]s.

use std::time::Duration;

use reqwest::StatusCode;
use reqwest::header::{HeaderMap, RETRY_AFTER};
use ringside_api::ErrorBody;
use ringside_core::{Error, ErrorKind};

/// The error a non-2xx answer of the hub stands for: its JSON
/// `{"code","message"}` read back into the same kind, else a kind from the
/// status. `Retry-After` (seconds) is kept for rate limits.
pub fn parse_error(status: StatusCode, headers: &HeaderMap, body: &[u8]) -> Error {
    let fallback = kind_of_status(status);
    let error = match serde_json::from_slice::<ErrorBody>(body) {
        Ok(body) => body.into_error(fallback),
        Err(_) => {
            let text = String::from_utf8_lossy(body);
            let text = text.trim();
            if text.is_empty() || text.len() > 200 {
                Error::new(fallback, format!("the hub answered {status}"))
            } else {
                Error::new(fallback, format!("the hub answered {status}: {text}"))
            }
        }
    };
    let retry_after = headers
        .get(RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok())
        .map(Duration::from_secs);
    error.with_retry_after(retry_after)
}

/// The kind an HTTP status means when the body does not say.
fn kind_of_status(status: StatusCode) -> ErrorKind {
    match status.as_u16() {
        401 => ErrorKind::Unauthorized,
        403 => ErrorKind::Forbidden,
        404 | 410 => ErrorKind::NotFound,
        409 => ErrorKind::Conflict,
        429 => ErrorKind::RateLimited,
        502 | 503 => ErrorKind::Unavailable,
        504 => ErrorKind::Timeout,
        400..=499 => ErrorKind::Invalid,
        _ => ErrorKind::Internal,
    }
}

/// A request that got no answer: the hub is unreachable, or slow.
pub(crate) fn transport(base: &str, e: &reqwest::Error, timeout: Duration) -> Error {
    if e.is_timeout() {
        Error::new(
            ErrorKind::Timeout,
            format!(
                "the hub at {base} did not answer within {} s",
                timeout.as_secs()
            ),
        )
    } else {
        Error::new(
            ErrorKind::Unavailable,
            format!("hub unreachable at {base}: {}", chain(e)),
        )
    }
}

/// `e` and its sources, `: `-separated (reqwest's own text is terse).
fn chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let more = s.to_string();
        if !text.contains(&more) {
            text.push_str(": ");
            text.push_str(&more);
        }
        source = s.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_map_to_kinds() {
        let cases: &[(u16, &str, ErrorKind)] = &[
            (
                401,
                r#"{"code":"unauthorized","message":"unknown token"}"#,
                ErrorKind::Unauthorized,
            ),
            (
                404,
                r#"{"code":"not_found","message":"no call x"}"#,
                ErrorKind::NotFound,
            ),
            (
                400,
                r#"{"code":"invalid","message":"bad"}"#,
                ErrorKind::Invalid,
            ),
            (
                413,
                r#"{"code":"payload_too_large","message":"big"}"#,
                ErrorKind::Invalid,
            ),
            // The PBX refusing the hub's key: the code says what, not the status.
            (
                502,
                r#"{"code":"unauthorized","message":"the PBX refused"}"#,
                ErrorKind::Unauthorized,
            ),
            (
                503,
                r#"{"code":"storage","message":"disk"}"#,
                ErrorKind::Storage,
            ),
            (
                500,
                r#"{"code":"something_new","message":"?"}"#,
                ErrorKind::Internal,
            ),
            (404, "<html>not here</html>", ErrorKind::NotFound),
            (502, "", ErrorKind::Unavailable),
            (504, "", ErrorKind::Timeout),
            (429, "", ErrorKind::RateLimited),
            (418, "", ErrorKind::Invalid),
        ];
        for (status, body, kind) in cases {
            let status = StatusCode::from_u16(*status).unwrap();
            let e = parse_error(status, &HeaderMap::new(), body.as_bytes());
            assert_eq!(e.kind, *kind, "{status} {body}");
        }
        let mut headers = HeaderMap::new();
        headers.insert(RETRY_AFTER, "7".parse().unwrap());
        let e = parse_error(StatusCode::TOO_MANY_REQUESTS, &headers, b"");
        assert_eq!(e.retry_after, Some(Duration::from_secs(7)));
        let e = parse_error(
            StatusCode::NOT_FOUND,
            &HeaderMap::new(),
            b"<html>not here</html>",
        );
        assert!(e.message.contains("not here"), "{}", e.message);
    }
}
