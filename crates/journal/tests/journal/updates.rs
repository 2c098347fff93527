//! The call-update log: ordering, extension filter and resume.

use ringside_core::{CallStatus, LegState, Outcome};

use crate::common::*;

#[test]
fn updates_are_ordered_filtered_by_extension_and_resumable() {
    let (_dir, journal) = journal();
    assert_eq!(journal.read_blocking(|q| q.latest_update_seq()).unwrap(), 0);

    // c1 rings at 203, is transferred to 301; c2 rings at 204 and is missed.
    let ringing = call("c1", "1", "+34600000001", "203", 0);
    let mut transferred = ringing.clone();
    transferred
        .legs
        .push(leg("1.1", None, "301", 2, &[LegState::Talking]));
    transferred.extension = Some("301".into());
    transferred.status = CallStatus::Talking;
    let other = call("c2", "2", "+34600000002", "204", 1);
    let missed = ended(other.clone(), Outcome::Missed);
    let seqs = save(
        &journal,
        vec![
            ringing.clone(),
            other.clone(),
            transferred.clone(),
            missed.clone(),
        ],
    );
    assert!(seqs.windows(2).all(|w| w[0] < w[1]), "{seqs:?}");

    let q = |ext: Option<&'static str>, after: i64, limit: usize| {
        journal
            .read_blocking(move |q| q.updates_since(ext, after, limit))
            .unwrap()
            .into_iter()
            .map(|u| (u.seq, u.call))
            .collect::<Vec<_>>()
    };
    assert_eq!(
        q(None, 0, 100),
        [
            (seqs[0], ringing.clone()),
            (seqs[1], other.clone()),
            (seqs[2], transferred.clone()),
            (seqs[3], missed.clone())
        ]
    );
    assert_eq!(
        q(Some("203"), 0, 100),
        [(seqs[0], ringing.clone()), (seqs[2], transferred.clone())]
    );
    assert_eq!(
        q(Some("301"), 0, 100),
        [(seqs[2], transferred.clone())],
        "301 sees the call only from the update where it took part"
    );
    assert_eq!(
        q(Some("204"), seqs[1], 100),
        [(seqs[3], missed.clone())],
        "resume after a seq"
    );
    assert_eq!(
        q(Some("20"), 0, 100),
        [],
        "extension match is exact, not a prefix"
    );
    assert_eq!(q(None, 0, 2).len(), 2);
    assert_eq!(q(None, seqs[3], 100), []);
    assert_eq!(
        journal.read_blocking(|q| q.latest_update_seq()).unwrap(),
        seqs[3]
    );
}

#[test]
fn owner_extension_without_a_leg_still_matches() {
    let (_dir, journal) = journal();
    let mut dialing = call("c1", "1", "+34600000001", "203", 0);
    dialing.legs.clear();
    dialing.status = CallStatus::Dialing;
    save(&journal, vec![dialing]);
    let got = journal
        .read_blocking(|q| q.updates_since(Some("203"), 0, 10))
        .unwrap();
    assert_eq!(got.len(), 1);
}
