//! Scenarios produce the vendor's exact event shapes, play in order at the
//! requested speed, and their calls can be dropped or redirected.

mod common;

use std::collections::HashSet;
use std::time::{Duration, Instant};

use common::{Api, Receiver, fast_emulator, states};
use ringside_gamma_emulator::{Scenario, ScenarioBuilder, demo_script};
use serde_json::{Value, json};

const ALWAYS_PRESENT: [&str; 15] = [
    "callId",
    "callLegId",
    "isIncoming",
    "displayedExternalNumber",
    "displayedLabel",
    "displayedNumber",
    "isRecording",
    "state",
    "stateCause",
    "extension",
    "firstFrom",
    "firstTo",
    "firstIsIncoming",
    "firstCallId",
    "originalDialedNumber",
];
const INFORMATIVE: [&str; 2] = ["recordingAvailable", "transcriptionAvailable"];

fn ms(seconds: f64) -> Duration {
    Duration::from_secs_f64(seconds)
}

/// Every call-state event carries the always-present attributes as strings
/// and a timestamp (`eventTimestamp`, or `lastModificationTime` on a
/// missed call's drop).
fn check_shape(scenario: &Scenario) {
    for event in scenario.events() {
        let state = event["state"].as_str().unwrap();
        if INFORMATIVE.contains(&state) {
            continue;
        }
        for key in ALWAYS_PRESENT {
            assert!(
                event[key].is_string(),
                "{}: {key} missing in {event}",
                scenario.name
            );
        }
        let stamp = event
            .get("eventTimestamp")
            .or(event.get("lastModificationTime"));
        let stamp = stamp.and_then(Value::as_str).unwrap();
        assert!(stamp.parse::<i64>().is_ok(), "{stamp}");
        for flag in ["isIncoming", "isRecording", "firstIsIncoming"] {
            assert!(
                matches!(event[flag].as_str(), Some("true" | "false")),
                "{event}"
            );
        }
    }
}

fn all_scenarios(b: &mut ScenarioBuilder) -> Vec<Scenario> {
    let s = ms(1.0);
    vec![
        b.incoming_answered("471900", "647460197", 203, s, s, true),
        b.incoming_missed("472362", "+34647460197", 203, s),
        b.outgoing_answered("472367", 203, "647460197", s, s),
        b.outgoing_unanswered("472388", 203, "647460197", s),
        b.transfer("1558393109565", "+442079460958", 203, 301, s, s),
        b.anonymous("1", 203, s, None),
        b.internal("2", 202, 203, s, Some(s)),
        b.app_data("1614639701402", "941892961", 9204, "435267232"),
        b.recording_available("471900", "https://callRecording"),
        b.transcription_available("471900", &[("Hola", ms(1.5))]),
    ]
}

#[test]
fn every_scenario_has_the_vendor_shape() {
    let mut b = ScenarioBuilder::new(1_542_399_572_160);
    for scenario in all_scenarios(&mut b) {
        check_shape(&scenario);
    }
}

#[test]
fn incoming_answered_matches_the_vendor_example() {
    let mut b = ScenarioBuilder::new(1_542_399_572_160);
    let scenario = b.incoming_answered("471900", "647460197", 203, ms(6.0), ms(4.0), false);
    let events = scenario.events();
    assert_eq!(events.len(), 3);
    let ringing = events[0];
    assert_eq!(ringing["callId"], "471900");
    assert_eq!(ringing["displayedExternalNumber"], "+34647460197");
    assert_eq!(ringing["displayedLabel"], "647460197");
    assert_eq!(ringing["displayedNumber"], "0647460197");
    assert_eq!(ringing["isIncoming"], "true");
    assert_eq!(ringing["state"], "ringing");
    assert_eq!(ringing["firstFrom"], "0647460197");
    assert_eq!(ringing["firstTo"], "203");
    assert_eq!(ringing["eventTimestamp"], "1542399572160");
    assert_eq!(events[1]["state"], "talking");
    assert_eq!(events[1]["eventTimestamp"], "1542399578160");
    assert_eq!(events[2]["state"], "dropped");
    assert_eq!(events[2]["eventTimestamp"], "1542399582160");
    assert_eq!(ringing["callLegId"], events[2]["callLegId"]);
    assert_eq!(scenario.duration(), ms(10.0));
    assert_eq!(b.now_ms(), 1_542_399_582_160);
}

#[test]
fn missed_drop_uses_last_modification_time() {
    let mut b = ScenarioBuilder::new(1_000);
    let scenario = b
        .wait(ms(0.5))
        .incoming_missed("472362", "647460197", 203, ms(3.5));
    assert_eq!(scenario.steps[0].delay, ms(0.5));
    let drop = scenario.events()[1];
    assert_eq!(drop["state"], "dropped");
    assert_eq!(drop["lastModificationTime"], "5000");
    assert!(drop.get("eventTimestamp").is_none());
}

#[test]
fn outgoing_and_anonymous_and_internal_shapes() {
    let mut b = ScenarioBuilder::new(0);
    let out = b.outgoing_unanswered("472388", 203, "+34647460197", ms(1.0));
    let alerting = out.events()[0];
    assert_eq!(alerting["state"], "alerting");
    assert_eq!(alerting["isIncoming"], "false");
    assert_eq!(alerting["firstFrom"], "203");
    assert_eq!(alerting["firstTo"], "0647460197");
    assert!(out.events()[1]["lineId"].as_str().unwrap().starts_with('-'));
    let hidden = b.anonymous("9", 203, ms(1.0), Some(ms(1.0)));
    assert_eq!(hidden.events()[0]["displayedNumber"], "anonymous");
    assert_eq!(states_of(&hidden), ["ringing", "talking", "dropped"]);
    let internal = b.internal("10", 202, 203, ms(1.0), None);
    assert_eq!(internal.events().len(), 2);
    assert!(
        internal
            .events()
            .iter()
            .all(|e| e["extension"] == "203" && e["displayedNumber"] == "202")
    );
}

fn states_of(scenario: &Scenario) -> Vec<&str> {
    scenario
        .events()
        .iter()
        .map(|e| e["state"].as_str().unwrap())
        .collect()
}

#[test]
fn transfer_ends_the_call_and_continues_it_as_dot_one() {
    let mut b = ScenarioBuilder::new(0);
    let scenario = b.transfer("1558393109565", "647460197", 203, 301, ms(1.0), ms(1.0));
    assert_eq!(
        states_of(&scenario),
        [
            "ringing", "talking", "dropped", "alerting", "talking", "dropped"
        ]
    );
    let events = scenario.events();
    assert_eq!(events[2]["stateCause"], "causeTransfer");
    let moved = events[3];
    assert_eq!(moved["callId"], "1558393109565.1");
    assert_eq!(moved["extension"], "301");
    assert_eq!(moved["displayedNumber"], "0647460197");
    assert_eq!(moved["originallyFrom"], "0647460197");
    assert_eq!(moved["originallyTo"], "203");
    assert_eq!(moved["originalIsIncoming"], "true");
    assert_eq!(moved["originalCallId"], "1558393109565");
    assert_eq!(moved["firstCallId"], "1558393109565");
    assert_eq!(events[5]["stateCause"], "causeNormal");
}

#[test]
fn informative_events_match_the_vendor_examples() {
    let mut b = ScenarioBuilder::new(0);
    let recording = b.recording_available("472388", "https://callRecording");
    assert_eq!(
        *recording.events()[0],
        json!({"callId": "472388", "state": "recordingAvailable",
               "recordingURL": "https://callRecording", "stateCause": "informative"})
    );
    let segments = [
        ("Hi, good Morning", ms(5.64)),
        ("I'd like some information.", ms(13.87)),
    ];
    let transcript = b.transcription_available("472388", &segments);
    let event = transcript.events()[0];
    assert_eq!(event["state"], "transcriptionAvailable");
    assert_eq!(event["stateCause"], "informative");
    let results = event["transcription"]["results"].as_array().unwrap();
    assert_eq!(
        results[0]["alternatives"][0]["transcript"],
        "Hi, good Morning"
    );
    assert_eq!(results[0]["resultEndTime"], "5.640s");
    assert_eq!(results[1]["resultEndTime"], "13.870s");
    assert!(
        results[1]["alternatives"][0]["confidence"]
            .as_f64()
            .unwrap()
            < 1.0
    );
    let data = b.app_data("1614639701402", "941892961", 9204, "435267232");
    let event = data.events()[0];
    assert_eq!(event["appData"], "435267232");
    assert_eq!(event["state"], "appDataAvailable");
    assert_eq!(event["displayedLabel"], "IncomingVTCRMIvr");
    assert_eq!(event["displayedNumber"], "0941892961");
    assert_eq!(event["extension"], "9204");
}

#[tokio::test]
async fn play_sends_in_order_and_scales_delays_by_speed() {
    let emulator = fast_emulator().await;
    let receiver = Receiver::start().await;
    emulator.configure_callback(&receiver.url, &[], &[]);
    let mut b = ScenarioBuilder::new(0);
    let scenario =
        b.wait(ms(0.04))
            .incoming_answered("1", "647460197", 203, ms(0.04), ms(0.04), false);
    let started = Instant::now();
    let statuses = emulator.play(&scenario, 1.0).await.unwrap();
    assert_eq!(statuses, [200, 200, 200]);
    assert!(started.elapsed() >= ms(0.12));
    assert_eq!(
        states(&receiver.received()),
        ["ringing", "talking", "dropped"]
    );
    let mut b = ScenarioBuilder::new(0);
    let slow = b
        .wait(ms(0.4))
        .incoming_missed("2", "647460197", 203, ms(0.4));
    let started = Instant::now();
    emulator.play(&slow, 20.0).await.unwrap();
    assert!(started.elapsed() < ms(0.3), "{:?}", started.elapsed());
    assert_eq!(receiver.received().len(), 5);
    assert!(emulator.active_calls().is_empty());
}

#[tokio::test]
async fn played_calls_can_be_dropped_and_redirected_through_the_api() {
    let emulator = fast_emulator().await;
    let receiver = Receiver::start().await;
    emulator.configure_callback(&receiver.url, &[], &[]);
    let api = Api::new(&emulator);
    let mut b = ScenarioBuilder::new(0);
    let hang_up = b.incoming_answered("77", "647460197", 203, ms(0.01), ms(0.3), false);
    let (played, status) = tokio::join!(emulator.play(&hang_up, 1.0), async {
        receiver.wait_for(2).await;
        api.post("drop", json!({"callId": "77"})).await.0
    });
    assert_eq!(status, 200);
    assert_eq!(
        played.unwrap().len(),
        2,
        "the scenario's own drop is skipped"
    );
    assert_eq!(
        states(&receiver.received()),
        ["ringing", "talking", "dropped"]
    );

    let moved = b.incoming_answered("78", "647460197", 203, ms(0.01), ms(0.3), false);
    let (_, status) = tokio::join!(emulator.play(&moved, 1.0), async {
        receiver.wait_for(5).await;
        api.post(
            "redirectIncoming",
            json!({"callId": "78", "destination": "301"}),
        )
        .await
        .0
    });
    assert_eq!(status, 200);
    let received = receiver.wait_for(8).await;
    let tail: Vec<_> = received[3..]
        .iter()
        .map(|r| (r.event["callId"].clone(), r.event["state"].clone()))
        .collect();
    assert_eq!(
        tail,
        [
            (json!("78"), json!("ringing")),
            (json!("78"), json!("talking")),
            (json!("78"), json!("dropped")),
            (json!("78.1"), json!("alerting")),
            (json!("78.1"), json!("talking")),
        ]
    );
    assert_eq!(received[5].event["stateCause"], "causeTransfer");
    assert_eq!(received[6].event["displayedNumber"], "0647460197");
    assert_eq!(emulator.active_calls(), ["78.1"]);
}

#[test]
fn demo_script_is_a_minute_of_realistic_traffic() {
    let start = 1_700_000_000_000;
    let script = demo_script(start);
    let total: Duration = script.iter().map(Scenario::duration).sum();
    assert!(total >= ms(50.0) && total <= ms(90.0), "{total:?}");
    let events: Vec<&Value> = script.iter().flat_map(|s| s.events()).collect();
    for scenario in &script {
        check_shape(scenario);
    }
    let shown: HashSet<&str> = events
        .iter()
        .filter_map(|e| e["displayedNumber"].as_str())
        .collect();
    for number in [
        "0647460197",
        "0911234567",
        "0933456789",
        "00442079460958",
        "0600111222",
        "anonymous",
    ] {
        assert!(shown.contains(number), "{number} missing");
    }
    let lucia = events[0]["callId"].as_str().unwrap();
    assert_eq!(events[0]["displayedExternalNumber"], "+34647460197");
    assert_eq!(events[0]["isRecording"], "true");
    let informative: Vec<&str> = events
        .iter()
        .filter(|e| e["callId"] == lucia)
        .map(|e| e["state"].as_str().unwrap())
        .collect();
    assert_eq!(
        informative,
        [
            "ringing",
            "talking",
            "dropped",
            "recordingAvailable",
            "transcriptionAvailable"
        ]
    );
    assert!(events.iter().any(|e| e["state"] == "appDataAvailable"));
    assert!(
        events
            .iter()
            .any(|e| e["stateCause"] == "causeTransfer" && e["extension"] == "203")
    );
    assert!(
        events
            .iter()
            .any(|e| e["extension"] == "301" && e["state"] == "talking")
    );
    assert!(
        events
            .iter()
            .any(|e| e["isIncoming"] == "false" && e["displayedNumber"] == "0933456789")
    );
    // Timestamps never go backwards.
    let stamps: Vec<i64> = events
        .iter()
        .filter_map(|e| e.get("eventTimestamp").or(e.get("lastModificationTime")))
        .map(|t| t.as_str().unwrap().parse().unwrap())
        .collect();
    assert!(stamps.windows(2).all(|w| w[0] <= w[1]));
    assert!(stamps[0] > start);
    // A later loop uses fresh call ids.
    let ids = |script: &[Scenario]| -> HashSet<String> {
        script
            .iter()
            .flat_map(|s| {
                s.events()
                    .into_iter()
                    .map(|e| e["callId"].as_str().unwrap().to_owned())
            })
            .collect()
    };
    let next = demo_script(start + total.as_millis() as i64);
    assert!(ids(&script).is_disjoint(&ids(&next)));
}
