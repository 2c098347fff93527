//! Opening, migrating, reopening, and the errors of a bad path or file.

use ringside_core::ErrorKind;
use ringside_journal::{Journal, JournalOptions};

use crate::common::*;

fn pragma(path: &std::path::Path, name: &str) -> String {
    let conn = rusqlite::Connection::open(path).unwrap();
    conn.query_row(&format!("PRAGMA {name}"), [], |r| {
        r.get::<_, rusqlite::types::Value>(0)
    })
    .map(|v| format!("{v:?}"))
    .unwrap()
}

#[test]
fn a_fresh_file_is_migrated_and_reopening_is_idempotent() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("nested/deeper/journal.sqlite");
    let journal = Journal::open(&path).unwrap();
    assert_eq!(journal.path(), path);
    assert!(path.exists(), "parent directories are created");
    assert_eq!(journal.read_blocking(|q| q.event_count()).unwrap(), 0);
    save(&journal, vec![call("c1", "1", "+34600000001", "203", 0)]);
    drop(journal);
    assert_eq!(pragma(&path, "user_version"), "Integer(2)");
    assert_eq!(pragma(&path, "journal_mode"), "Text(\"wal\")");

    for _ in 0..2 {
        let journal = Journal::open(&path).unwrap();
        let c = journal.read_blocking(|q| q.latest_update_seq()).unwrap();
        assert_eq!(c, 1, "reopening keeps data and does not re-run migrations");
    }
    assert_eq!(pragma(&path, "user_version"), "Integer(2)");
}

#[test]
fn writes_survive_drop_and_reopen_and_the_wal_is_checkpointed() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("journal.sqlite");
    for options in [
        JournalOptions::default(),
        JournalOptions {
            synchronous_full: false,
        },
    ] {
        let journal = Journal::open_with(&path, options).unwrap();
        let clone = journal.clone();
        journal
            .write_blocking(|tx| tx.append_event(&event("1", "ringing", 0)))
            .unwrap();
        journal.read_blocking(|q| q.event_count()).unwrap();
        drop(journal);
        clone.read_blocking(|q| q.event_count()).unwrap();
        drop(clone);
        assert!(
            !dir.path().join("journal.sqlite-wal").exists(),
            "the last clone closes every connection"
        );
    }
    let journal = Journal::open(&path).unwrap();
    assert_eq!(journal.read_blocking(|q| q.event_count()).unwrap(), 2);
}

#[test]
fn a_path_under_a_regular_file_is_a_storage_error_naming_the_path() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("not-a-dir");
    std::fs::write(&file, b"x").unwrap();
    let path = file.join("journal.sqlite");
    let err = Journal::open(&path).unwrap_err();
    assert_eq!(err.kind, ErrorKind::Storage);
    assert!(
        err.message.contains(&path.display().to_string()),
        "{}",
        err.message
    );
}

#[test]
fn a_corrupt_file_is_a_clear_storage_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("journal.sqlite");
    let mut state = 0x2545_f491_4f6c_dd1d_u64;
    let noise: Vec<u8> = (0..64 * 1024)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state as u8
        })
        .collect();
    std::fs::write(&path, noise).unwrap();
    let err = Journal::open(&path).unwrap_err();
    assert_eq!(err.kind, ErrorKind::Storage);
    assert!(
        err.message.contains(&path.display().to_string()),
        "{}",
        err.message
    );
    assert!(err.message.contains("not a database"), "{}", err.message);
}
