//! One error vocabulary for every adapter and use case.
//!
//! Adapters turn vendor status codes and bodies into an [`ErrorKind`] in one
//! place; callers (the UI, the HTTP API, the outbox) branch on the kind and the
//! retryable flag, never on message text.

use std::time::Duration;

use serde::Serialize;

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What went wrong, in terms every caller understands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum ErrorKind {
    /// Credentials missing, wrong or expired.
    Unauthorized,
    /// Authenticated but not allowed to do this.
    Forbidden,
    /// Slow down; see `retry_after`.
    RateLimited,
    /// The thing asked for does not exist.
    NotFound,
    /// The input (ours or the caller's) is malformed or fails validation.
    Invalid,
    /// The request conflicts with the current state.
    Conflict,
    /// The remote service is down or answered 5xx.
    Unavailable,
    /// No answer in time.
    Timeout,
    /// Configuration is missing or wrong.
    Config,
    /// The provider cannot do this (a capability it does not declare).
    Unsupported,
    /// Local storage failed.
    Storage,
    /// A bug or an unexpected answer.
    Internal,
}

impl ErrorKind {
    /// The stable code the UI and API clients branch on.
    pub fn code(self) -> &'static str {
        match self {
            ErrorKind::Unauthorized => "unauthorized",
            ErrorKind::Forbidden => "forbidden",
            ErrorKind::RateLimited => "rate_limited",
            ErrorKind::NotFound => "not_found",
            ErrorKind::Invalid => "invalid",
            ErrorKind::Conflict => "conflict",
            ErrorKind::Unavailable => "unavailable",
            ErrorKind::Timeout => "timeout",
            ErrorKind::Config => "config",
            ErrorKind::Unsupported => "unsupported",
            ErrorKind::Storage => "storage",
            ErrorKind::Internal => "internal",
        }
    }

    /// Whether repeating the same (idempotent) request may succeed.
    pub fn is_retryable(self) -> bool {
        matches!(
            self,
            ErrorKind::RateLimited | ErrorKind::Unavailable | ErrorKind::Timeout
        )
    }
}

/// An error with a kind, a human message and, for rate limits, how long to wait.
#[derive(Debug, Clone, thiserror::Error, Serialize)]
#[error("{message}")]
pub struct Error {
    #[serde(rename = "code")]
    pub kind: ErrorKind,
    pub message: String,
    #[serde(skip)]
    pub retry_after: Option<Duration>,
}

impl Error {
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Self {
            kind,
            message: message.into(),
            retry_after: None,
        }
    }

    pub fn with_retry_after(mut self, after: Option<Duration>) -> Self {
        self.retry_after = after;
        self
    }

    pub fn invalid(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Invalid, message)
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::NotFound, message)
    }

    pub fn storage(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Storage, message)
    }

    pub fn config(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Config, message)
    }

    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Internal, message)
    }

    pub fn is_retryable(&self) -> bool {
        self.kind.is_retryable()
    }

    /// Prefix the message with what was being done.
    pub fn context(mut self, what: impl std::fmt::Display) -> Self {
        self.message = format!("{what}: {}", self.message);
        self
    }
}
