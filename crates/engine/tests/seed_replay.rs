//! Every example of the Gamma document, replayed through the engine into a real
//! journal: the logical calls must be exactly these (integration spec §1).

mod common;

use common::{harness, ingest, seed_bodies};
use ringside_core::{Call, CallStatus, Direction, Outcome};
use ringside_engine::CallFilter;

/// One expected logical call.
struct Expect {
    root: &'static str,
    direction: Direction,
    status: CallStatus,
    outcome: Option<Outcome>,
    talk_seconds: i64,
    remote: &'static str,
    extensions: &'static [&'static str],
    owner: &'static str,
    legs: usize,
    recording_url: Option<&'static str>,
    transcript_starts: Option<&'static str>,
    app_data: &'static [&'static str],
}

const EXPECTED: &[Expect] = &[
    Expect {
        root: "321296",
        direction: Direction::Inbound,
        status: CallStatus::Ringing,
        outcome: None,
        talk_seconds: 0,
        remote: "+34647460197",
        extensions: &["203"],
        owner: "203",
        legs: 1,
        recording_url: None,
        transcript_starts: None,
        app_data: &[],
    },
    Expect {
        // ringing 1542399572176, talking …578197, dropped …582021
        root: "471900",
        direction: Direction::Inbound,
        status: CallStatus::Ended,
        outcome: Some(Outcome::Answered),
        talk_seconds: 3,
        remote: "+34647460197",
        extensions: &["203"],
        owner: "203",
        legs: 1,
        recording_url: None,
        transcript_starts: None,
        app_data: &[],
    },
    Expect {
        root: "472362",
        direction: Direction::Inbound,
        status: CallStatus::Ended,
        outcome: Some(Outcome::Missed),
        talk_seconds: 0,
        remote: "+34647460197",
        extensions: &["203"],
        owner: "203",
        legs: 1,
        recording_url: None,
        transcript_starts: None,
        app_data: &[],
    },
    Expect {
        // talking 1542401516677, dropped …521090
        root: "472367",
        direction: Direction::Outbound,
        status: CallStatus::Ended,
        outcome: Some(Outcome::Answered),
        talk_seconds: 4,
        remote: "+34647460197",
        extensions: &["203"],
        owner: "203",
        legs: 1,
        recording_url: None,
        transcript_starts: None,
        app_data: &[],
    },
    Expect {
        // "00647460197" as displayed; the recording and transcript arrive later.
        root: "472388",
        direction: Direction::Outbound,
        status: CallStatus::Ended,
        outcome: Some(Outcome::NoAnswer),
        talk_seconds: 0,
        remote: "+34647460197",
        extensions: &["203"],
        owner: "203",
        legs: 1,
        recording_url: Some("https://callRecording"),
        transcript_starts: Some("Hi, good Morning"),
        app_data: &[],
    },
    Expect {
        // 201 → 301 → 201; the last leg is still alerting.
        root: "1558393109565",
        direction: Direction::Outbound,
        status: CallStatus::Ringing,
        outcome: None,
        talk_seconds: 0,
        remote: "+34647460197",
        extensions: &["201", "301"],
        owner: "201",
        legs: 3,
        recording_url: None,
        transcript_starts: None,
        app_data: &[],
    },
    Expect {
        root: "1614639701402",
        direction: Direction::Inbound,
        status: CallStatus::Ringing,
        outcome: None,
        talk_seconds: 0,
        remote: "+34941892961",
        extensions: &["9900"],
        owner: "9900",
        legs: 0,
        recording_url: None,
        transcript_starts: None,
        app_data: &["435267232"],
    },
];

fn check(calls: &[Call]) {
    assert_eq!(
        calls.len(),
        EXPECTED.len(),
        "{:#?}",
        calls
            .iter()
            .map(|c| &c.provider_call_id)
            .collect::<Vec<_>>()
    );
    for want in EXPECTED {
        let call = calls
            .iter()
            .find(|c| c.provider_call_id == want.root)
            .unwrap_or_else(|| panic!("no call {}", want.root));
        let ctx = want.root;
        assert_eq!(call.direction, want.direction, "{ctx} direction");
        assert_eq!(call.status, want.status, "{ctx} status");
        assert_eq!(call.outcome, want.outcome, "{ctx} outcome");
        assert_eq!(call.talk_seconds, want.talk_seconds, "{ctx} talk");
        assert_eq!(call.remote_number, want.remote, "{ctx} remote");
        if want.legs > 0 {
            assert_eq!(call.extensions(), want.extensions, "{ctx} extensions");
        }
        assert_eq!(call.extension.as_deref(), Some(want.owner), "{ctx} owner");
        assert_eq!(call.legs.len(), want.legs, "{ctx} legs");
        assert_eq!(
            call.recording_url.as_deref(),
            want.recording_url,
            "{ctx} recording"
        );
        assert_eq!(
            call.transcript
                .as_ref()
                .map(|t| t.text())
                .as_deref()
                .map(|t| t.starts_with(want.transcript_starts.unwrap_or("\u{0}"))),
            want.transcript_starts.map(|_| true),
            "{ctx} transcript"
        );
        assert_eq!(call.app_data, want.app_data, "{ctx} app data");
    }
}

#[tokio::test]
async fn every_seed_example_folds_into_the_right_calls() {
    let h = harness().await;
    for body in seed_bodies() {
        ingest(&h.engine, &body).await;
    }
    let calls = h.engine.list_calls(CallFilter::default()).await.unwrap();
    check(&calls);

    // The transfer chain keeps every leg's history.
    let transfer = calls
        .iter()
        .find(|c| c.provider_call_id == "1558393109565")
        .unwrap();
    let legs: Vec<&str> = transfer
        .legs
        .iter()
        .map(|l| l.provider_call_id.as_str())
        .collect();
    assert_eq!(
        legs,
        ["1558393109565", "1558393109565.1", "1558393109565.2"]
    );
    assert_eq!(
        transfer.legs[1].transferred_from.as_deref(),
        Some("1558393109565")
    );
    assert_eq!(
        transfer.legs[2].transferred_from.as_deref(),
        Some("1558393109565.1")
    );

    // Every raw event is in the journal, linked to its call.
    let events = h.engine.call_events(&transfer.id).await.unwrap();
    assert_eq!(events.len(), 3);
    assert!(
        events
            .iter()
            .all(|e| e.call_id.as_ref() == Some(&transfer.id))
    );
}

#[tokio::test]
async fn replaying_twice_changes_nothing() {
    let h = harness().await;
    for body in seed_bodies() {
        ingest(&h.engine, &body).await;
    }
    let first = h.engine.list_calls(CallFilter::default()).await.unwrap();
    let seq = h.engine.latest_update_seq().await.unwrap();
    for body in seed_bodies() {
        let ingested = ingest(&h.engine, &body).await;
        assert_eq!(
            ingested.update_seq, None,
            "a duplicate must not produce an update: {body}"
        );
    }
    let second = h.engine.list_calls(CallFilter::default()).await.unwrap();
    assert_eq!(first, second);
    assert_eq!(h.engine.latest_update_seq().await.unwrap(), seq);
}

#[tokio::test]
async fn reversed_order_gives_the_same_calls() {
    let h = harness().await;
    let mut bodies = seed_bodies();
    bodies.reverse();
    for body in bodies {
        ingest(&h.engine, &body).await;
    }
    let calls = h.engine.list_calls(CallFilter::default()).await.unwrap();
    check(&calls);
}
