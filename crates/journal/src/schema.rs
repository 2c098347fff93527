//! The schema (as migrations) and how a connection is opened and configured.

use std::path::Path;
use std::sync::LazyLock;
use std::time::Duration;

use ringside_core::{Error, Result};
use rusqlite::{Connection, OpenFlags};
use rusqlite_migration::{M, Migrations};

/// How long a connection waits for a lock before giving up.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// Migration 1: events, calls, legs and the call-update log.
const V1: &str = r#"
CREATE TABLE calls (
    id               TEXT PRIMARY KEY NOT NULL,
    provider         TEXT NOT NULL,
    provider_call_id TEXT NOT NULL,
    external_call_id TEXT,
    direction        TEXT NOT NULL,
    remote_number    TEXT NOT NULL,
    remote_raw       TEXT,
    remote_label     TEXT,
    extension        TEXT,
    status           TEXT NOT NULL,
    outcome          TEXT,
    started_at       TEXT NOT NULL,
    answered_at      TEXT,
    ended_at         TEXT,
    talk_seconds     INTEGER NOT NULL,
    last_event_at    TEXT NOT NULL,
    notes            TEXT,
    body             TEXT NOT NULL,
    UNIQUE (provider, provider_call_id)
);
CREATE INDEX calls_started_at ON calls (started_at, id);
CREATE INDEX calls_remote_number ON calls (remote_number, started_at);
CREATE INDEX calls_external_call_id ON calls (external_call_id);
CREATE INDEX calls_status_idle ON calls (status, last_event_at);

CREATE TABLE events (
    seq              INTEGER PRIMARY KEY AUTOINCREMENT,
    provider         TEXT NOT NULL,
    received_at      TEXT NOT NULL,
    provider_call_id TEXT,
    leg_id           TEXT,
    state            TEXT,
    body             TEXT NOT NULL,
    external_call_id TEXT,
    source_ip        TEXT,
    parsed           INTEGER NOT NULL,
    call_id          TEXT REFERENCES calls (id)
);
CREATE INDEX events_call_id ON events (call_id, seq);

CREATE TABLE legs (
    call_id          TEXT NOT NULL REFERENCES calls (id) ON DELETE CASCADE,
    provider         TEXT NOT NULL,
    provider_call_id TEXT NOT NULL,
    provider_leg_id  TEXT NOT NULL,
    extension        TEXT,
    incoming         INTEGER,
    states           TEXT NOT NULL,
    UNIQUE (provider, provider_call_id, provider_leg_id)
);
CREATE INDEX legs_call_id ON legs (call_id);
CREATE INDEX legs_extension ON legs (extension);

CREATE TABLE call_updates (
    seq              INTEGER PRIMARY KEY AUTOINCREMENT,
    call_id          TEXT NOT NULL REFERENCES calls (id),
    at               TEXT NOT NULL,
    extensions       TEXT NOT NULL,
    snapshot         TEXT NOT NULL
);
"#;

/// Migration 2: the CRM outbox, one row per operation a CRM must receive.
///
/// `UNIQUE (crm, call_id, op_key)` is the deduplication: re-planning a call
/// (a repeated or reordered event) never enqueues an operation twice.
/// `rank` is the operation's place in its call (ring before answered before
/// the end), so an operation enqueued late still goes out in order.
const V2: &str = r#"
CREATE TABLE outbox (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    crm              TEXT NOT NULL,
    call_id          TEXT NOT NULL REFERENCES calls (id),
    op_key           TEXT NOT NULL,
    rank             INTEGER NOT NULL,
    kind             TEXT NOT NULL,
    data             TEXT NOT NULL,
    state            TEXT NOT NULL,
    attempts         INTEGER NOT NULL DEFAULT 0,
    created_at       TEXT NOT NULL,
    not_before       TEXT NOT NULL,
    next_attempt_at  TEXT NOT NULL,
    error_code       TEXT,
    last_error       TEXT,
    delivered_at     TEXT,
    sent             TEXT,
    UNIQUE (crm, call_id, op_key)
);
CREATE INDEX outbox_due ON outbox (crm, state, next_attempt_at);
CREATE INDEX outbox_call ON outbox (crm, call_id, rank, id);
"#;

static MIGRATIONS: LazyLock<Migrations<'static>> =
    LazyLock::new(|| Migrations::new(vec![M::up(V1), M::up(V2)]));

/// Open (or create) the journal file for writing, configure it and migrate it
/// to the latest schema.
pub(crate) fn open_writer(path: &Path, synchronous_full: bool) -> Result<Connection> {
    let failed = |what: &str, e: &dyn std::fmt::Display| {
        Error::storage(format!(
            "cannot open journal at {}: {what}: {e}",
            path.display()
        ))
    };
    if let Some(dir) = path.parent()
        && !dir.as_os_str().is_empty()
    {
        std::fs::create_dir_all(dir).map_err(|e| failed("cannot create its directory", &e))?;
    }
    let mut conn = Connection::open(path).map_err(|e| failed("cannot open the file", &e))?;
    conn.busy_timeout(BUSY_TIMEOUT)
        .map_err(|e| failed("cannot set busy_timeout", &e))?;
    let mode: String = conn
        .pragma_update_and_check(None, "journal_mode", "WAL", |row| row.get(0))
        .map_err(|e| failed("cannot switch to WAL", &e))?;
    if !mode.eq_ignore_ascii_case("wal") {
        return Err(failed(
            "WAL not supported",
            &format!("journal_mode is {mode}"),
        ));
    }
    let synchronous = if synchronous_full { "FULL" } else { "OFF" };
    conn.pragma_update(None, "synchronous", synchronous)
        .map_err(|e| failed("cannot set synchronous", &e))?;
    conn.pragma_update(None, "foreign_keys", "ON")
        .map_err(|e| failed("cannot enable foreign keys", &e))?;
    // Each job runs in a savepoint; its statement journal would otherwise spill
    // to temp files (measured: 6x the WAL's bytes, the intake bottleneck).
    conn.pragma_update(None, "temp_store", "MEMORY")
        .map_err(|e| failed("cannot set temp_store", &e))?;
    MIGRATIONS
        .to_latest(&mut conn)
        .map_err(|e| failed("cannot migrate the schema", &e))?;
    Ok(conn)
}

/// Open a read-only connection to an existing journal.
pub(crate) fn open_reader(path: &Path) -> Result<Connection> {
    let failed = |e: rusqlite::Error| {
        Error::storage(format!(
            "cannot open a reader on journal {}: {e}",
            path.display()
        ))
    };
    let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let conn = Connection::open_with_flags(path, flags).map_err(failed)?;
    conn.busy_timeout(BUSY_TIMEOUT).map_err(failed)?;
    conn.pragma_update(None, "query_only", "ON")
        .map_err(failed)?;
    Ok(conn)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn migrations_are_valid() {
        MIGRATIONS.validate().unwrap();
    }
}
