//! The SQLite schema, applied with `rusqlite_migration`.
//!
//! Phones keep the number as typed plus the forms lookups need: E.164, the
//! national significant number (else the digits as typed), and all digits
//! reversed (`rdigits`) so a
//! last-N-digits match is an indexed prefix range instead of a table scan.
//! `contacts.search` holds the folded name, company, email and phone digits
//! for search-as-you-type.

use rusqlite::Connection;
use rusqlite_migration::{M, Migrations};

use crate::sql::SqlContext;
use ringside_core::Result;

const V1: &str = "
CREATE TABLE companies (
    id       INTEGER PRIMARY KEY,
    name     TEXT NOT NULL,
    name_key TEXT NOT NULL UNIQUE
);

CREATE TABLE contacts (
    id         INTEGER PRIMARY KEY,
    name       TEXT NOT NULL,
    company_id INTEGER REFERENCES companies(id) ON DELETE SET NULL,
    email      TEXT,
    notes      TEXT,
    search     TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX contacts_company ON contacts(company_id);
CREATE INDEX contacts_search ON contacts(search);

CREATE TABLE phones (
    id         INTEGER PRIMARY KEY,
    contact_id INTEGER NOT NULL REFERENCES contacts(id) ON DELETE CASCADE,
    position   INTEGER NOT NULL,
    label      TEXT,
    raw        TEXT NOT NULL,
    e164       TEXT,
    national   TEXT NOT NULL,
    rdigits    TEXT NOT NULL
);
CREATE INDEX phones_contact ON phones(contact_id);
CREATE INDEX phones_e164 ON phones(e164);
CREATE INDEX phones_national ON phones(national);
CREATE INDEX phones_rdigits ON phones(rdigits);

CREATE TABLE deals (
    id         INTEGER PRIMARY KEY,
    contact_id INTEGER NOT NULL REFERENCES contacts(id) ON DELETE CASCADE,
    name       TEXT NOT NULL,
    stage      TEXT NOT NULL,
    amount     TEXT,
    currency   TEXT,
    close_date TEXT,
    open       INTEGER NOT NULL
);
CREATE INDEX deals_contact ON deals(contact_id);

CREATE TABLE notes (
    id         INTEGER PRIMARY KEY,
    contact_id INTEGER NOT NULL REFERENCES contacts(id) ON DELETE CASCADE,
    at         TEXT NOT NULL,
    text       TEXT NOT NULL
);
CREATE INDEX notes_contact ON notes(contact_id);

CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
";

fn migrations() -> Migrations<'static> {
    Migrations::new(vec![M::up(V1)])
}

/// Set the connection up (WAL, foreign keys) and bring the schema up to date.
pub(crate) fn prepare(conn: &mut Connection) -> Result<()> {
    conn.pragma_update(None, "journal_mode", "WAL")
        .storage("enabling WAL")?;
    conn.pragma_update(None, "foreign_keys", "ON")
        .storage("enabling foreign keys")?;
    conn.pragma_update(None, "synchronous", "NORMAL")
        .storage("setting synchronous mode")?;
    conn.busy_timeout(std::time::Duration::from_secs(5))
        .storage("setting busy timeout")?;
    migrations()
        .to_latest(conn)
        .map_err(|e| ringside_core::Error::storage(format!("migrating the schema: {e}")))
}

#[cfg(test)]
mod tests {
    #[test]
    fn migrations_are_valid() {
        assert!(super::migrations().validate().is_ok());
    }
}
