//! How values become columns and back: timestamps, JSON bodies, SQLite errors.

use std::fmt::Display;

use chrono::{DateTime, Utc};
use ringside_core::{Call, Error, Result};

/// Fixed-width RFC 3339 UTC with milliseconds, so lexical order is time order.
const TIMESTAMP: &str = "%Y-%m-%dT%H:%M:%S%.3fZ";

/// A timestamp as stored in a column.
pub(crate) fn timestamp(t: &DateTime<Utc>) -> String {
    t.format(TIMESTAMP).to_string()
}

/// A timestamp read back from a column.
pub(crate) fn parse_timestamp(text: &str, what: impl Display) -> Result<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(text)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| Error::storage(format!("corrupt timestamp {text:?} in {what}: {e}")))
}

/// A SQLite failure while doing `what`, as a storage error.
pub(crate) fn db(what: impl Display) -> impl FnOnce(rusqlite::Error) -> Error {
    move |e| Error::storage(format!("journal: {what}: {e}"))
}

/// A call as stored in a JSON column.
pub(crate) fn encode_call(call: &Call) -> Result<String> {
    serde_json::to_string(call)
        .map_err(|e| Error::internal(format!("cannot encode call {}: {e}", call.id)))
}

/// A call read back from a JSON column; corrupt JSON is a storage error.
pub(crate) fn decode_call(json: &str, what: impl Display) -> Result<Call> {
    serde_json::from_str(json)
        .map_err(|e| Error::storage(format!("journal: corrupt call JSON in {what}: {e}")))
}

/// The `extensions` column of the update log: `,203,301,`, so a filter is a substring test.
pub(crate) fn extension_set(call: &Call) -> String {
    let mut set = ",".to_string();
    let mut seen = call.extensions();
    if let Some(owner) = &call.extension
        && !seen.contains(owner)
    {
        seen.push(owner.clone());
    }
    for ext in seen {
        set.push_str(&ext);
        set.push(',');
    }
    set
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn timestamps_are_fixed_width_and_sort_like_time() {
        let a = Utc.with_ymd_and_hms(2024, 3, 9, 8, 5, 1).unwrap();
        let b = a + chrono::Duration::milliseconds(1500);
        assert_eq!(timestamp(&a), "2024-03-09T08:05:01.000Z");
        assert_eq!(timestamp(&b), "2024-03-09T08:05:02.500Z");
        assert!(timestamp(&a) < timestamp(&b));
        assert_eq!(parse_timestamp(&timestamp(&b), "test").unwrap(), b);
    }

    #[test]
    fn corrupt_values_are_storage_errors() {
        let err = parse_timestamp("yesterday", "events.received_at").unwrap_err();
        assert_eq!(err.kind, ringside_core::ErrorKind::Storage);
        let err = decode_call("{not json", "calls.body").unwrap_err();
        assert_eq!(err.kind, ringside_core::ErrorKind::Storage);
        assert!(err.message.contains("calls.body"), "{}", err.message);
    }
}
