//! Builders for test calls and events, and a fresh journal per test.

use chrono::{DateTime, Duration, TimeZone, Utc};
use ringside_core::call::TranscriptSegment;
use ringside_core::{
    Call, CallId, CallStatus, Direction, Leg, LegState, Outcome, StateCause, StateMark, Transcript,
};
use ringside_journal::{Journal, NewEvent};
use tempfile::TempDir;

/// A journal in its own temporary directory (kept alive by the `TempDir`).
pub fn journal() -> (TempDir, Journal) {
    let dir = tempfile::tempdir().unwrap();
    let journal = Journal::open(&dir.path().join("journal.sqlite")).unwrap();
    (dir, journal)
}

/// `minutes` after a fixed morning.
pub fn t(minutes: i64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2025, 5, 6, 9, 0, 0).unwrap() + Duration::minutes(minutes)
}

/// A leg at `extension` that reached `states` (one minute apart from `start`).
pub fn leg(
    pcid: &str,
    leg_id: Option<&str>,
    extension: &str,
    start: i64,
    states: &[LegState],
) -> Leg {
    Leg {
        provider_call_id: pcid.into(),
        provider_leg_id: leg_id.map(Into::into),
        extension: Some(extension.into()),
        incoming: Some(true),
        transferred_from: None,
        states: states
            .iter()
            .enumerate()
            .map(|(i, s)| StateMark {
                state: *s,
                at: t(start + i as i64),
                cause: StateCause::Normal,
            })
            .collect(),
    }
}

/// A ringing inbound call `id` (root `root`) from `number` at extension `ext`, started at `t(start)`.
pub fn call(id: &str, root: &str, number: &str, ext: &str, start: i64) -> Call {
    let mut call = Call::new(CallId::from(id), "gamma", root.into(), t(start), t(start));
    call.remote_number = number.into();
    call.remote_raw = Some(number.trim_start_matches('+').into());
    call.extension = Some(ext.into());
    call.legs = vec![leg(root, Some("1"), ext, start, &[LegState::Ringing])];
    call
}

/// `call` after it ended with `outcome`.
pub fn ended(mut call: Call, outcome: Outcome) -> Call {
    let end = call.started_at + Duration::minutes(3);
    call.status = CallStatus::Ended;
    call.outcome = Some(outcome);
    call.ended_at = Some(end);
    call.last_event_at = end;
    if outcome == Outcome::Answered {
        call.answered_at = Some(call.started_at + Duration::minutes(1));
        call.talk_seconds = 120;
    }
    call
}

/// A call with every optional field set, odd characters and sub-millisecond times.
pub fn rich_call() -> Call {
    let mut c = call("c-rich", "1700000000.42", "+34647460197", "203", 0);
    c.external_call_id = Some("ext-9f2".into());
    c.direction = Direction::Outbound;
    c.remote_label = Some("Zoë \"Q\" O'Brien — ACME, S.L. 🚀".into());
    c.started_at = t(0) + Duration::nanoseconds(123_456_789);
    c.last_event_at = t(9) + Duration::nanoseconds(1);
    c.legs = vec![
        Leg {
            transferred_from: None,
            ..leg(
                "1700000000.42",
                None,
                "203",
                0,
                &[
                    LegState::Prompting,
                    LegState::Alerting,
                    LegState::Talking,
                    LegState::Dropped,
                ],
            )
        },
        Leg {
            transferred_from: Some("1700000000.42".into()),
            states: vec![StateMark {
                state: LegState::Talking,
                at: t(4),
                cause: StateCause::Other("causeWeird".into()),
            }],
            ..leg("1700000000.42.1", Some("7"), "301", 4, &[])
        },
    ];
    c.legs[0].states[3].cause = StateCause::Transfer;
    c.status = CallStatus::Ended;
    c.outcome = Some(Outcome::Answered);
    c.answered_at = Some(t(2));
    c.ended_at = Some(t(9));
    c.talk_seconds = 420;
    c.recording = true;
    c.recording_url = Some("https://rec.example/a?b=1&c=2".into());
    c.transcript = Some(Transcript {
        segments: vec![
            TranscriptSegment {
                text: "Hola, buenos días".into(),
                confidence: Some(0.93),
                end_seconds: Some(1.5),
            },
            TranscriptSegment {
                text: "línea 2\n\ttab".into(),
                confidence: None,
                end_seconds: None,
            },
        ],
    });
    c.app_data = vec!["1".into(), "#42".into()];
    c.notes = Some("wants a callback\nafter 5pm".into());
    c.disposition = Some("follow_up".into());
    c.reconciled = true;
    c
}

/// A parsed Gamma event about `pcid` in `state`, received at `t(minute)`.
pub fn event(pcid: &str, state: &str, minute: i64) -> NewEvent {
    NewEvent {
        provider: "gamma".into(),
        received_at: t(minute),
        provider_call_id: Some(pcid.into()),
        leg_id: Some("1".into()),
        state: Some(state.into()),
        body: format!("{{\"callId\":\"{pcid}\",\"state\":\"{state}\"}}"),
        external_call_id: None,
        source_ip: Some("203.0.113.7".into()),
        parsed: true,
    }
}

/// Save calls in one write.
pub fn save(journal: &Journal, calls: Vec<Call>) -> Vec<i64> {
    journal
        .write_blocking(move |tx| calls.iter().map(|c| tx.save_call(c)).collect())
        .unwrap()
}

/// The ids of calls, in order.
pub fn ids(calls: &[Call]) -> Vec<&str> {
    calls.iter().map(|c| c.id.as_str()).collect()
}
