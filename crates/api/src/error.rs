//! Errors on the wire: `{"code", "message"}`, with `code` an
//! [`ErrorKind::code`] or one of the hub's HTTP-only codes.

use ringside_core::{Error, ErrorKind};
use serde::{Deserialize, Serialize};

/// The body of every error answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct ErrorBody {
    pub code: String,
    pub message: String,
}

impl ErrorBody {
    pub fn new(code: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            code: code.into(),
            message: message.into(),
        }
    }

    /// The error this body names, as the hub saw it; `fallback` when the
    /// code is not one of ours.
    pub fn into_error(self, fallback: ErrorKind) -> Error {
        Error::new(kind_from_code(&self.code).unwrap_or(fallback), self.message)
    }
}

impl From<&Error> for ErrorBody {
    fn from(e: &Error) -> Self {
        Self::new(e.kind.code(), e.message.clone())
    }
}

/// Every kind, so a code can be read back.
const KINDS: [ErrorKind; 12] = [
    ErrorKind::Unauthorized,
    ErrorKind::Forbidden,
    ErrorKind::RateLimited,
    ErrorKind::NotFound,
    ErrorKind::Invalid,
    ErrorKind::Conflict,
    ErrorKind::Unavailable,
    ErrorKind::Timeout,
    ErrorKind::Config,
    ErrorKind::Unsupported,
    ErrorKind::Storage,
    ErrorKind::Internal,
];

/// Fails to compile when a kind is added, as a reminder to list it in [`KINDS`].
const fn listed(kind: ErrorKind) {
    match kind {
        ErrorKind::Unauthorized
        | ErrorKind::Forbidden
        | ErrorKind::RateLimited
        | ErrorKind::NotFound
        | ErrorKind::Invalid
        | ErrorKind::Conflict
        | ErrorKind::Unavailable
        | ErrorKind::Timeout
        | ErrorKind::Config
        | ErrorKind::Unsupported
        | ErrorKind::Storage
        | ErrorKind::Internal => {}
    }
}
const _: () = listed(ErrorKind::Internal);

/// The kind whose [`ErrorKind::code`] is `code`. The hub's HTTP-only codes
/// (`payload_too_large`, `method_not_allowed`, `unsupported_media_type`) are
/// the client's mistakes: [`ErrorKind::Invalid`].
pub fn kind_from_code(code: &str) -> Option<ErrorKind> {
    match code {
        "payload_too_large" | "method_not_allowed" | "unsupported_media_type" => {
            Some(ErrorKind::Invalid)
        }
        _ => KINDS.into_iter().find(|k| k.code() == code),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_reads_back_as_its_kind() {
        for kind in KINDS {
            assert_eq!(kind_from_code(kind.code()), Some(kind));
            let body = ErrorBody::from(&Error::new(kind, "m"));
            let e = body.into_error(ErrorKind::Internal);
            assert_eq!((e.kind, e.message.as_str()), (kind, "m"));
        }
        assert_eq!(
            kind_from_code("payload_too_large"),
            Some(ErrorKind::Invalid)
        );
        assert_eq!(kind_from_code("Unauthorized"), None);
        assert_eq!(
            ErrorBody::new("teapot", "?")
                .into_error(ErrorKind::Conflict)
                .kind,
            ErrorKind::Conflict
        );
    }
}
