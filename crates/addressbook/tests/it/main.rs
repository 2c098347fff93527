//! Integration tests for the address book, each against a real SQLite file
//! in a temporary directory.

mod crud;
mod demo;
mod import;
mod lookup;
mod search;

use std::path::PathBuf;

use ringside_addressbook::{AddressBook, NewContact, NewPhone};
use ringside_core::NumberPlan;
use tempfile::TempDir;

/// A fresh, empty book (keep the `TempDir` alive while using it).
pub fn book() -> (TempDir, AddressBook) {
    let dir = tempfile::tempdir().unwrap();
    let book = AddressBook::open(&dir.path().join("book.sqlite"), NumberPlan::default()).unwrap();
    (dir, book)
}

/// A fresh book with the demo data set.
pub fn demo_book() -> (TempDir, AddressBook) {
    let (dir, book) = book();
    book.load_demo().unwrap();
    (dir, book)
}

pub fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

/// A contact with one unlabelled phone.
pub fn person(name: &str, phone: &str) -> NewContact {
    NewContact {
        name: name.into(),
        phones: vec![NewPhone::new(None, phone)],
        ..NewContact::default()
    }
}

/// Direct read access to the file, to check what is (not) stored.
pub fn count(dir: &TempDir, sql: &str) -> i64 {
    let conn = rusqlite::Connection::open(dir.path().join("book.sqlite")).unwrap();
    conn.query_row(sql, [], |r| r.get(0)).unwrap()
}
