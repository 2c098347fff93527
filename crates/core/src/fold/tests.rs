//! Fold scenarios as data: each test is a list of events and the expected call.

use chrono::TimeZone;

use super::*;
use crate::call::Transcript;

fn ms(t: i64) -> DateTime<Utc> {
    Utc.timestamp_millis_opt(t).unwrap()
}

/// `ev("471900", "leg", "ringing", 1000)` with incoming/ext/number defaults.
fn ev(call_id: &str, leg: &str, state: &str, t: i64) -> PbxEvent {
    PbxEvent {
        provider: "gamma".into(),
        root_call_id: Some(chain_root(call_id).to_string()),
        call_id: call_id.into(),
        leg_id: Some(leg.into()),
        original_call_id: None,
        kind: match LegState::parse(state) {
            Some(state) => EventKind::Leg { state },
            None => EventKind::Unknown {
                state: state.into(),
            },
        },
        cause: StateCause::Normal,
        at: Some(ms(t)),
        extension: Some("203".into()),
        incoming: Some(true),
        recording: Some(false),
        remote_number: Some("0647460197".into()),
        remote_label: Some("647460197".into()),
        external_call_id: None,
    }
}

fn outgoing(mut e: PbxEvent) -> PbxEvent {
    e.incoming = Some(false);
    e
}

fn fold(events: &[PbxEvent]) -> Vec<Call> {
    CallFold::new(NumberPlan::default()).fold_all(events, ms(9_999_999))
}

fn one(events: &[PbxEvent]) -> Call {
    let calls = fold(events);
    assert_eq!(calls.len(), 1, "{calls:#?}");
    calls.into_iter().next().unwrap()
}

#[test]
fn incoming_answered() {
    let c = one(&[
        ev("471900", "L", "ringing", 1_000),
        ev("471900", "L", "talking", 7_000),
        ev("471900", "L", "dropped", 49_500),
    ]);
    assert_eq!(c.direction, Direction::Inbound);
    assert_eq!(c.remote_number, "+34647460197");
    assert_eq!(c.status, CallStatus::Ended);
    assert_eq!(c.outcome, Some(Outcome::Answered));
    assert_eq!(c.started_at, ms(1_000));
    assert_eq!(c.answered_at, Some(ms(7_000)));
    assert_eq!(c.ended_at, Some(ms(49_500)));
    assert_eq!(c.talk_seconds, 42);
    assert_eq!(c.extension.as_deref(), Some("203"));
}

#[test]
fn incoming_missed_and_outgoing_outcomes() {
    let missed = one(&[ev("1", "L", "ringing", 0), ev("1", "L", "dropped", 5_000)]);
    assert_eq!(missed.outcome, Some(Outcome::Missed));
    assert_eq!(missed.talk_seconds, 0);

    let no_answer = one(&[
        outgoing(ev("2", "L", "alerting", 0)),
        outgoing(ev("2", "L", "dropped", 5_000)),
    ]);
    assert_eq!(no_answer.direction, Direction::Outbound);
    assert_eq!(no_answer.outcome, Some(Outcome::NoAnswer));

    let mut busy_drop = outgoing(ev("3", "L", "dropped", 2_000));
    busy_drop.cause = StateCause::Busy;
    let busy = one(&[outgoing(ev("3", "L", "alerting", 0)), busy_drop]);
    assert_eq!(busy.outcome, Some(Outcome::Busy));

    let answered_out = one(&[
        outgoing(ev("4", "L", "alerting", 0)),
        outgoing(ev("4", "L", "talking", 3_000)),
        outgoing(ev("4", "L", "dropped", 13_000)),
    ]);
    assert_eq!(answered_out.outcome, Some(Outcome::Answered));
    assert_eq!(answered_out.talk_seconds, 10);
}

#[test]
fn live_statuses() {
    let ringing = one(&[ev("5", "L", "ringing", 0)]);
    assert_eq!(ringing.status, CallStatus::Ringing);
    assert_eq!(ringing.outcome, None);
    let talking = one(&[ev("5", "L", "ringing", 0), ev("5", "L", "talking", 1)]);
    assert_eq!(talking.status, CallStatus::Talking);
    let prompting = one(&[outgoing(ev("6", "L", "prompting", 0))]);
    assert_eq!(prompting.status, CallStatus::Dialing);
}

#[test]
fn duplicates_change_nothing() {
    let events = [
        ev("7", "L", "ringing", 0),
        ev("7", "L", "talking", 1_000),
        ev("7", "L", "dropped", 4_000),
    ];
    let fold = CallFold::new(NumberPlan::default());
    let mut call = fold.start(CallId("c".into()), &events[0], ms(0));
    for e in &events[1..] {
        assert_eq!(fold.apply(&mut call, e, ms(10)), Applied::Changed);
    }
    let before = call.clone();
    for e in &events {
        assert_eq!(fold.apply(&mut call, e, ms(20)), Applied::Duplicate);
    }
    assert_eq!(call, before);
}

#[test]
fn out_of_order_never_moves_backwards() {
    // dropped arrives first, then a late ringing and talking.
    let c = one(&[
        ev("8", "L", "dropped", 9_000),
        ev("8", "L", "ringing", 0),
        ev("8", "L", "talking", 2_000),
    ]);
    assert_eq!(c.status, CallStatus::Ended);
    assert_eq!(c.outcome, Some(Outcome::Answered));
    assert_eq!(c.started_at, ms(0));
    assert_eq!(c.talk_seconds, 7);

    // A ringing repeated after the end does not reopen the call.
    let c = one(&[
        ev("9", "L", "ringing", 0),
        ev("9", "L", "dropped", 3_000),
        ev("9", "L", "ringing", 0),
    ]);
    assert_eq!(c.status, CallStatus::Ended);
    assert_eq!(c.outcome, Some(Outcome::Missed));
}

#[test]
fn transfer_chain_is_one_call() {
    // Outgoing call from 201, transferred to 301, then to 201 again (the seed's shape).
    let mut d0 = outgoing(ev("100", "a", "dropped", 10_000));
    d0.extension = Some("201".into());
    d0.cause = StateCause::Transfer;
    let root_talk = {
        let mut e = outgoing(ev("100", "a", "talking", 2_000));
        e.extension = Some("201".into());
        e
    };
    let mut l1 = ev("100.1", "b", "alerting", 10_100);
    l1.extension = Some("301".into());
    l1.original_call_id = Some("100".into());
    l1.remote_number = Some("201".into());
    let mut l1t = l1.clone();
    l1t.kind = EventKind::Leg {
        state: LegState::Talking,
    };
    l1t.at = Some(ms(12_000));
    let mut l1d = l1.clone();
    l1d.kind = EventKind::Leg {
        state: LegState::Dropped,
    };
    l1d.cause = StateCause::Transfer;
    l1d.at = Some(ms(20_000));
    let mut l2 = ev("100.2", "c", "alerting", 20_100);
    l2.extension = Some("201".into());
    l2.original_call_id = Some("100.1".into());
    l2.remote_number = Some("301".into());

    // Mid-transfer: the root leg ended by transfer, the next leg not yet seen.
    let mid = one(&[root_talk.clone(), d0.clone()]);
    assert_eq!(mid.status, CallStatus::Transferring);
    assert_eq!(mid.outcome, None);

    let mut l2d = l2.clone();
    l2d.kind = EventKind::Leg {
        state: LegState::Dropped,
    };
    l2d.at = Some(ms(30_000));
    let c = one(&[root_talk, d0, l1, l1t, l1d, l2, l2d]);
    assert_eq!(c.provider_call_id, "100");
    assert_eq!(c.direction, Direction::Outbound);
    assert_eq!(c.remote_number, "+34647460197");
    assert_eq!(c.legs.len(), 3);
    assert_eq!(c.extensions(), vec!["201".to_string(), "301".to_string()]);
    assert_eq!(c.status, CallStatus::Ended);
    assert_eq!(c.outcome, Some(Outcome::Answered));
    assert_eq!(c.answered_at, Some(ms(2_000)));
    assert_eq!(c.ended_at, Some(ms(30_000)));
    assert_eq!(c.talk_seconds, 28);
    assert_eq!(c.legs[1].transferred_from.as_deref(), Some("100"));
}

#[test]
fn transfer_leg_before_root_still_one_call() {
    let mut l1 = ev("200.1", "b", "alerting", 5_000);
    l1.extension = Some("301".into());
    l1.original_call_id = Some("200".into());
    l1.remote_number = Some("203".into());
    let mut d0 = ev("200", "a", "dropped", 4_900);
    d0.cause = StateCause::Transfer;
    let c = one(&[l1, d0, ev("200", "a", "ringing", 0)]);
    assert_eq!(
        c.remote_number, "+34647460197",
        "the root leg says who the customer is"
    );
    assert_eq!(c.direction, Direction::Inbound);
    assert_eq!(c.status, CallStatus::Ringing);
    assert_eq!(c.extension.as_deref(), Some("301"));
}

#[test]
fn late_recording_transcript_and_app_data_attach() {
    let rec = PbxEvent {
        kind: EventKind::RecordingAvailable {
            url: Some("https://callRecording".into()),
        },
        cause: StateCause::Informative,
        root_call_id: None,
        leg_id: None,
        at: None,
        extension: None,
        incoming: None,
        remote_number: None,
        remote_label: None,
        ..ev("300", "L", "ringing", 0)
    };
    let transcript = Transcript {
        segments: vec![crate::call::TranscriptSegment {
            text: "Hi, good Morning".into(),
            confidence: Some(0.89),
            end_seconds: Some(5.64),
        }],
    };
    let tr = PbxEvent {
        kind: EventKind::TranscriptionAvailable {
            transcript: transcript.clone(),
        },
        ..rec.clone()
    };
    let app = PbxEvent {
        kind: EventKind::AppData {
            data: "435267232".into(),
        },
        ..rec.clone()
    };
    let c = one(&[
        ev("300", "L", "ringing", 0),
        ev("300", "L", "dropped", 1_000),
        rec.clone(),
        tr.clone(),
        app.clone(),
        rec,
        tr,
        app,
    ]);
    assert_eq!(c.outcome, Some(Outcome::Missed));
    assert_eq!(c.recording_url.as_deref(), Some("https://callRecording"));
    assert!(c.recording);
    assert_eq!(c.transcript, Some(transcript));
    assert_eq!(c.app_data, vec!["435267232".to_string()]);
}

#[test]
fn unknown_states_are_ignored() {
    let fold = CallFold::new(NumberPlan::default());
    let mut call = fold.start(CallId("c".into()), &ev("400", "L", "ringing", 0), ms(0));
    let before = call.clone();
    assert_eq!(
        fold.apply(&mut call, &ev("400", "L", "onHold", 10), ms(1)),
        Applied::Ignored
    );
    assert_eq!(call, before);
}

#[test]
fn anonymous_and_internal_callers() {
    let mut a = ev("500", "L", "ringing", 0);
    a.remote_number = Some("anonymous".into());
    assert_eq!(one(&[a]).remote_number, "anonymous");
    let mut i = ev("501", "L", "ringing", 0);
    i.remote_number = Some("202".into());
    let c = one(&[i]);
    assert_eq!(c.remote_number, "202");
    assert_eq!(c.direction, Direction::Inbound);
}

#[test]
fn reconciliation_closes_stuck_calls_as_failed() {
    let fold = CallFold::new(NumberPlan::default());
    let mut call = fold.start(CallId("c".into()), &ev("600", "L", "ringing", 0), ms(0));
    fold.apply(&mut call, &ev("600", "L", "talking", 1_000), ms(1_000));
    let four_hours = Duration::hours(4);
    assert!(!fold.reconcile(&mut call, ms(1_000) + Duration::hours(3), four_hours));
    assert_eq!(call.status, CallStatus::Talking);
    let closed_at = ms(1_000) + four_hours;
    assert!(fold.reconcile(&mut call, closed_at, four_hours));
    assert_eq!(call.status, CallStatus::Ended);
    assert_eq!(call.outcome, Some(Outcome::Failed));
    assert_eq!(call.ended_at, Some(closed_at));
    assert!(call.reconciled);
    // A real end arriving afterwards wins.
    fold.apply(&mut call, &ev("600", "L", "dropped", 61_000), closed_at);
    assert_eq!(call.outcome, Some(Outcome::Answered));
    assert_eq!(call.talk_seconds, 60);
    assert!(!call.reconciled);
}

#[test]
fn chain_roots() {
    for (id, root) in [
        ("1558393109565.2", "1558393109565"),
        ("1558393109565.1", "1558393109565"),
        ("471900", "471900"),
        ("1542399572160.-703374", "1542399572160.-703374"),
        (".1", ".1"),
    ] {
        assert_eq!(chain_root(id), root, "{id}");
    }
}

#[test]
fn dialed_call_adopts_pbx_events() {
    let fold = CallFold::new(NumberPlan::default());
    let mut call = fold.dialing(CallId("ours".into()), "gamma", "203", "647460197", ms(0));
    assert_eq!(call.status, CallStatus::Dialing);
    assert_eq!(call.remote_number, "+34647460197");
    let mut e = outgoing(ev("480000", "L", "prompting", 100));
    e.external_call_id = Some("ours".into());
    fold.apply(&mut call, &e, ms(100));
    assert_eq!(call.provider_call_id, "480000");
    assert_eq!(call.status, CallStatus::Dialing);
    fold.apply(
        &mut call,
        &outgoing(ev("480000", "L", "alerting", 200)),
        ms(200),
    );
    assert_eq!(call.status, CallStatus::Ringing);
    assert_eq!(call.direction, Direction::Outbound);
}
