//! Raw events: append, link, read back.

use ringside_core::{CallId, ErrorKind};
use ringside_journal::{NewEvent, StoredEvent};

use crate::common::*;

fn stored(seq: i64, ev: &NewEvent, call_id: Option<&str>) -> StoredEvent {
    StoredEvent {
        seq,
        provider: ev.provider.clone(),
        received_at: ev.received_at,
        provider_call_id: ev.provider_call_id.clone(),
        leg_id: ev.leg_id.clone(),
        state: ev.state.clone(),
        body: ev.body.clone(),
        external_call_id: ev.external_call_id.clone(),
        call_id: call_id.map(CallId::from),
    }
}

#[test]
fn events_are_appended_linked_and_read_back_in_order() {
    let (_dir, journal) = journal();
    let ringing = event("100.5", "ringing", 0);
    let talking = event("100.5", "talking", 1);
    let garbage = NewEvent {
        provider_call_id: None,
        leg_id: None,
        state: None,
        body: "not json at all \u{0}\u{7f} ünïcode".into(),
        parsed: false,
        ..event("x", "x", 2)
    };
    let c = call("c1", "100.5", "+34600000001", "203", 0);
    let (a, b, g) = (ringing.clone(), talking.clone(), garbage.clone());
    let seqs = journal
        .write_blocking(move |tx| {
            let s1 = tx.append_event(&a)?;
            let s2 = tx.append_event(&b)?;
            let s3 = tx.append_event(&g)?;
            tx.save_call(&c)?;
            tx.link_event(s2, &c.id)?;
            tx.link_event(s1, &c.id)?;
            Ok([s1, s2, s3])
        })
        .unwrap();
    assert!(seqs[0] < seqs[1] && seqs[1] < seqs[2], "{seqs:?}");

    let (for_call, after, all, count) = journal
        .read_blocking(move |q| {
            Ok((
                q.events_for_call(&CallId::from("c1"))?,
                q.events_after(seqs[0], 10)?,
                q.events_after(0, 2)?,
                q.event_count()?,
            ))
        })
        .unwrap();
    assert_eq!(
        for_call,
        [
            stored(seqs[0], &ringing, Some("c1")),
            stored(seqs[1], &talking, Some("c1"))
        ]
    );
    assert_eq!(
        after,
        [
            stored(seqs[1], &talking, Some("c1")),
            stored(seqs[2], &garbage, None)
        ],
        "unparsed bodies are kept byte for byte"
    );
    assert_eq!(all.len(), 2, "limit is honoured");
    assert_eq!(count, 3);
}

#[test]
fn linking_needs_a_known_event_and_a_saved_call() {
    let (_dir, journal) = journal();
    let ev = event("100.5", "ringing", 0);
    let err = journal
        .write_blocking(|tx| tx.link_event(999, &CallId::from("c1")))
        .unwrap_err();
    assert_eq!(err.kind, ErrorKind::NotFound);

    let err = journal
        .write_blocking(move |tx| {
            let seq = tx.append_event(&ev)?;
            tx.link_event(seq, &CallId::from("never-saved"))
        })
        .unwrap_err();
    assert_eq!(err.kind, ErrorKind::Storage, "foreign key: {}", err.message);
    assert_eq!(
        journal.read_blocking(|q| q.event_count()).unwrap(),
        0,
        "job rolled back"
    );
}
