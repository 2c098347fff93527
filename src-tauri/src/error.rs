//! The one error every command returns: `{ code, message }`.
//!
//! `code` is an [`ErrorKind`] code (`unauthorized`, `unavailable`, ...) or
//! [`KEYRING_UNAVAILABLE`]; the UI branches on `code`, never on `message`.

use ringside_core::{Error, ErrorKind};
use serde::{Deserialize, Serialize};

/// The keyring (Secret Service) cannot be reached; nothing was stored.
pub const KEYRING_UNAVAILABLE: &str = "keyring_unavailable";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[error("{code}: {message}")]
pub struct CommandError {
    pub code: String,
    pub message: String,
}

impl CommandError {
    pub fn new(code: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            code: code.into(),
            message: message.into(),
        }
    }

    pub fn kind(kind: ErrorKind, message: impl Into<String>) -> Self {
        Self::new(kind.code(), message)
    }

    pub fn invalid(message: impl Into<String>) -> Self {
        Self::kind(ErrorKind::Invalid, message)
    }

    pub fn unavailable(message: impl Into<String>) -> Self {
        Self::kind(ErrorKind::Unavailable, message)
    }

    pub fn internal(message: impl Into<String>) -> Self {
        Self::kind(ErrorKind::Internal, message)
    }

    pub fn keyring_unavailable(message: impl Into<String>) -> Self {
        Self::new(KEYRING_UNAVAILABLE, message)
    }
}

impl From<Error> for CommandError {
    fn from(e: Error) -> Self {
        Self::kind(e.kind, e.message)
    }
}

pub type CommandResult<T> = Result<T, CommandError>;
