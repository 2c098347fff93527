//! The one place where Gamma's HTTP answers become shared [`ErrorKind`]s.
//!
//! The vendor puts the reason for an error in the HTTP reason phrase
//! ("Check the reason phrase to know what is wrong"), so that comes first in
//! messages, then the body text.

use std::time::Duration;

use chrono::{DateTime, Utc};
use ringside_core::{Error, ErrorKind};

/// How much of an error body is quoted in a message.
const MAX_DETAIL_CHARS: usize = 300;

/// Turn a non-2xx answer into an [`Error`].
///
/// `reason` is the HTTP reason phrase when the server sent a non-canonical
/// one, `body` the (bounded) body text, `retry_after` the parsed
/// `Retry-After` header (kept on 429 and 503).
pub fn parse_error(
    status: u16,
    reason: Option<&str>,
    body: &str,
    retry_after: Option<Duration>,
) -> Error {
    let detail = detail(reason, body);
    let with_detail = |msg: &str| match &detail {
        Some(d) => format!("{msg}: {d}"),
        None => msg.to_string(),
    };
    let (kind, message) = match status {
        400 => (
            ErrorKind::Invalid,
            with_detail("the PBX refused the request as invalid (400)"),
        ),
        401 => (
            ErrorKind::Unauthorized,
            "the PBX rejected the API key (401)".to_string(),
        ),
        403 => (
            ErrorKind::Forbidden,
            with_detail(
                "the PBX does not allow this action (403; is this machine's IP address allowed?)",
            ),
        ),
        404 => (
            ErrorKind::NotFound,
            with_detail("the PBX does not know this (404)"),
        ),
        405 => (
            ErrorKind::Invalid,
            with_detail("the PBX does not accept this HTTP method (405)"),
        ),
        429 => (
            ErrorKind::RateLimited,
            with_detail("the PBX asks us to slow down (429)"),
        ),
        500 | 502 | 503 | 504 => (
            ErrorKind::Unavailable,
            with_detail(&format!("the PBX is unavailable ({status})")),
        ),
        s if (400..500).contains(&s) => (
            ErrorKind::Invalid,
            with_detail(&format!("the PBX refused the request ({s})")),
        ),
        s if (500..600).contains(&s) => (
            ErrorKind::Unavailable,
            with_detail(&format!("the PBX failed ({s})")),
        ),
        s => (
            ErrorKind::Internal,
            with_detail(&format!("unexpected answer from the PBX ({s})")),
        ),
    };
    let retry_after = match kind {
        ErrorKind::RateLimited | ErrorKind::Unavailable => retry_after,
        _ => None,
    };
    Error::new(kind, message).with_retry_after(retry_after)
}

/// The reason phrase, else the body's `error`/`message`/`reason` when it is a
/// JSON object, else the body text; trimmed and cut to a readable length.
fn detail(reason: Option<&str>, body: &str) -> Option<String> {
    let from_json = serde_json::from_str::<serde_json::Value>(body)
        .ok()
        .and_then(|v| {
            ["error", "message", "reason"]
                .iter()
                .find_map(|k| v.get(k).and_then(|m| m.as_str()).map(str::to_string))
        });
    let text = reason
        .map(str::trim)
        .filter(|r| !r.is_empty())
        .or_else(|| from_json.as_deref().map(str::trim))
        .unwrap_or_else(|| body.trim());
    if text.is_empty() {
        return None;
    }
    let mut cut: String = text.chars().take(MAX_DETAIL_CHARS).collect();
    if cut.len() < text.len() {
        cut.push('…');
    }
    Some(cut)
}

/// Parse a `Retry-After` value: delay-seconds or an HTTP date (relative to `now`).
pub fn parse_retry_after(value: &str, now: DateTime<Utc>) -> Option<Duration> {
    let value = value.trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let at = DateTime::parse_from_rfc2822(value)
        .ok()?
        .with_timezone(&Utc);
    Some((at - now).to_std().unwrap_or(Duration::ZERO))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_map_to_kinds() {
        let cases: &[(u16, ErrorKind, &str)] = &[
            (
                400,
                ErrorKind::Invalid,
                "invalid (400): destination missing",
            ),
            (401, ErrorKind::Unauthorized, "rejected the API key"),
            (403, ErrorKind::Forbidden, "does not allow"),
            (404, ErrorKind::NotFound, "(404)"),
            (405, ErrorKind::Invalid, "HTTP method"),
            (429, ErrorKind::RateLimited, "slow down"),
            (500, ErrorKind::Unavailable, "unavailable (500)"),
            (502, ErrorKind::Unavailable, "unavailable (502)"),
            (503, ErrorKind::Unavailable, "unavailable (503)"),
            (504, ErrorKind::Unavailable, "unavailable (504)"),
            (418, ErrorKind::Invalid, "(418)"),
            (507, ErrorKind::Unavailable, "(507)"),
            (302, ErrorKind::Internal, "unexpected"),
        ];
        for (status, kind, needle) in cases {
            let e = parse_error(*status, Some("destination missing"), "", None);
            assert_eq!(e.kind, *kind, "{status}");
            assert!(e.message.contains(needle), "{status}: {}", e.message);
        }
    }

    #[test]
    fn reason_phrase_wins_then_body() {
        let e = parse_error(400, Some("Bad extension"), "{\"x\":1}", None);
        assert!(e.message.ends_with(": Bad extension"), "{}", e.message);
        let e = parse_error(400, None, "  unknown callId 9  ", None);
        assert!(e.message.ends_with(": unknown callId 9"), "{}", e.message);
        let e = parse_error(
            400,
            None,
            r#"{"status":400,"error":"unknown callId 9"}"#,
            None,
        );
        assert!(e.message.ends_with(": unknown callId 9"), "{}", e.message);
        let e = parse_error(400, None, &"x".repeat(1000), None);
        assert!(e.message.chars().count() < 400, "{}", e.message);
    }

    #[test]
    fn retry_after_kept_only_where_meaningful() {
        let wait = Some(Duration::from_secs(7));
        assert_eq!(parse_error(429, None, "", wait).retry_after, wait);
        assert_eq!(parse_error(503, None, "", wait).retry_after, wait);
        assert_eq!(parse_error(400, None, "", wait).retry_after, None);
    }

    #[test]
    fn retry_after_values() {
        let now = DateTime::parse_from_rfc3339("2015-10-21T07:27:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let cases = [
            ("120", Some(Duration::from_secs(120))),
            (" 0 ", Some(Duration::ZERO)),
            (
                "Wed, 21 Oct 2015 07:28:00 GMT",
                Some(Duration::from_secs(60)),
            ),
            ("Wed, 21 Oct 2015 07:00:00 GMT", Some(Duration::ZERO)),
            ("soon", None),
            ("-5", None),
        ];
        for (raw, expected) in cases {
            assert_eq!(parse_retry_after(raw, now), expected, "{raw}");
        }
    }
}
