//! Saving calls and finding them again.

use ringside_core::{CallId, ErrorKind, LegState};
use ringside_journal::Journal;

use crate::common::*;

#[test]
fn a_saved_call_round_trips_exactly_even_after_reopen() {
    let (dir, journal) = journal();
    let original = rich_call();
    let c = original.clone();
    journal.write_blocking(move |tx| tx.save_call(&c)).unwrap();

    let read = journal
        .read_blocking(|q| q.call(&CallId::from("c-rich")))
        .unwrap();
    assert_eq!(read.as_ref(), Some(&original));
    drop(journal);

    let journal = Journal::open(&dir.path().join("journal.sqlite")).unwrap();
    let read = journal
        .read_blocking(|q| q.call(&CallId::from("c-rich")))
        .unwrap()
        .unwrap();
    assert_eq!(read, original);
    assert_eq!(
        serde_json::to_string(&read).unwrap(),
        serde_json::to_string(&original).unwrap()
    );
}

#[test]
fn unknown_calls_are_none() {
    let (_dir, journal) = journal();
    journal
        .read_blocking(|q| {
            assert_eq!(q.call(&CallId::from("nope"))?, None);
            assert_eq!(q.call_by_root("gamma", "nope")?, None);
            assert_eq!(q.call_by_leg("gamma", "nope")?, None);
            assert_eq!(q.call_by_external_id("nope")?, None);
            Ok(())
        })
        .unwrap();
}

#[test]
fn calls_are_found_by_root_leg_and_external_id() {
    let (_dir, journal) = journal();
    let mut transferred = call("c1", "100.5", "+34600000001", "203", 0);
    transferred
        .legs
        .push(leg("100.5.1", Some("2"), "301", 2, &[LegState::Alerting]));
    transferred.external_call_id = Some("ringside-77".into());
    let other = call("c2", "200.1", "+34600000002", "204", 1);
    save(&journal, vec![transferred.clone(), other.clone()]);

    journal
        .read_blocking(move |q| {
            assert_eq!(
                q.call_by_root("gamma", "100.5")?.unwrap().id,
                transferred.id
            );
            assert_eq!(q.call_by_root("gamma", "200.1")?.unwrap().id, other.id);
            assert_eq!(
                q.call_by_root("other-pbx", "100.5")?,
                None,
                "provider matters"
            );
            assert_eq!(
                q.call_by_root("gamma", "100.5.1")?,
                None,
                "a leg is not a root"
            );
            assert_eq!(
                q.call_by_leg("gamma", "100.5.1")?.unwrap().id,
                transferred.id
            );
            assert_eq!(q.call_by_leg("gamma", "100.5")?.unwrap().id, transferred.id);
            assert_eq!(q.call_by_leg("other-pbx", "100.5.1")?, None);
            assert_eq!(q.call_by_external_id("ringside-77")?.unwrap(), transferred);
            Ok(())
        })
        .unwrap();
}

#[test]
fn saving_again_replaces_columns_and_legs() {
    let (_dir, journal) = journal();
    let mut c = call("c1", "100.5", "+34600000001", "203", 0);
    c.legs
        .push(leg("100.5.1", None, "301", 2, &[LegState::Alerting]));
    save(&journal, vec![c.clone()]);

    // The fold rewrote history: the transferred leg is gone, a new one came.
    c.legs.truncate(1);
    c.legs
        .push(leg("100.5.2", None, "302", 3, &[LegState::Talking]));
    c.status = ringside_core::CallStatus::Talking;
    c.extension = Some("302".into());
    save(&journal, vec![c.clone()]);

    journal
        .read_blocking(move |q| {
            assert_eq!(q.call(&c.id)?.unwrap(), c);
            assert_eq!(
                q.call_by_leg("gamma", "100.5.1")?,
                None,
                "old leg row removed"
            );
            assert_eq!(q.call_by_leg("gamma", "100.5.2")?.unwrap().id, c.id);
            let talking = q.list_calls(&ringside_journal::CallFilter {
                status: Some(ringside_core::CallStatus::Talking),
                ..Default::default()
            })?;
            assert_eq!(ids(&talking), ["c1"], "columns follow the upsert");
            Ok(())
        })
        .unwrap();
}

#[test]
fn a_leg_cannot_belong_to_two_calls() {
    let (_dir, journal) = journal();
    save(
        &journal,
        vec![call("c1", "100.5", "+34600000001", "203", 0)],
    );
    let mut thief = call("c2", "200.1", "+34600000002", "204", 1);
    thief
        .legs
        .push(leg("100.5", Some("1"), "204", 1, &[LegState::Ringing]));
    let err = journal
        .write_blocking(move |tx| tx.save_call(&thief))
        .unwrap_err();
    assert_eq!(err.kind, ErrorKind::Storage);
    assert!(err.message.contains("c2"), "{}", err.message);
    let found = journal
        .read_blocking(|q| q.call(&CallId::from("c2")))
        .unwrap();
    assert_eq!(found, None, "the failed save left nothing behind");
}

#[test]
fn corrupt_call_json_is_a_storage_error() {
    let (dir, journal) = journal();
    save(
        &journal,
        vec![call("c1", "100.5", "+34600000001", "203", 0)],
    );
    drop(journal);

    let path = dir.path().join("journal.sqlite");
    let raw = rusqlite::Connection::open(&path).unwrap();
    raw.execute("UPDATE calls SET body = '{\"id\": 42' WHERE id = 'c1'", [])
        .unwrap();
    drop(raw);

    let journal = Journal::open(&path).unwrap();
    let err = journal
        .read_blocking(|q| q.call(&CallId::from("c1")))
        .unwrap_err();
    assert_eq!(err.kind, ErrorKind::Storage);
    assert!(err.message.contains("corrupt"), "{}", err.message);
    let err = journal
        .read_blocking(|q| q.list_calls(&Default::default()))
        .unwrap_err();
    assert_eq!(err.kind, ErrorKind::Storage);
}
