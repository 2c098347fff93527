//! SQLite plumbing: turning `rusqlite` errors into [`ringside_core::Error`]
//! with context, and the text forms of ids and timestamps.

use chrono::{DateTime, NaiveDate, SecondsFormat, Utc};
use ringside_core::{Error, Result};

/// Attach "what we were doing" to a SQLite failure (`ErrorKind::Storage`).
pub(crate) trait SqlContext<T> {
    fn storage(self, what: &str) -> Result<T>;
}

impl<T> SqlContext<T> for rusqlite::Result<T> {
    fn storage(self, what: &str) -> Result<T> {
        self.map_err(|e| Error::storage(format!("{what}: {e}")))
    }
}

/// A local id as the integer rowid it stands for; `None` when it cannot be one.
pub(crate) fn rowid(id: &str) -> Option<i64> {
    id.trim().parse::<i64>().ok().filter(|n| *n > 0)
}

/// Timestamps are stored as RFC 3339 text in UTC.
pub(crate) fn time_text(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// Read back a stored timestamp; `None` if it was somehow mangled.
pub(crate) fn parse_time(s: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(s)
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

/// Read back a stored `YYYY-MM-DD` date.
pub(crate) fn parse_date(s: &str) -> Option<NaiveDate> {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").ok()
}
