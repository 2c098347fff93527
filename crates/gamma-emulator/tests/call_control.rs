//! Triggered calls progress and report events to the callback with the
//! configured and per-call headers and parameters; drop and redirect act on
//! active calls.

mod common;

use std::time::Duration;

use common::{Api, Receiver, fast_emulator, states};
use ringside_gamma_emulator::{DialProgress, Emulator, EmulatorConfig, FIRST_CALL_ID};
use serde_json::json;

async fn configured(api: &Api, receiver: &Receiver) {
    let body = json!({
        "events_callback_url": receiver.url,
        "events_callback_headers": {"X-Ringside-Secret": "s3cret"},
        "events_callback_parameters": {"tenant": "acme"},
    });
    assert_eq!(api.post("configure", body).await.0, 200);
}

#[tokio::test]
async fn call_reports_prompting_alerting_talking_with_callback_data() {
    let emulator = fast_emulator().await;
    let receiver = Receiver::start().await;
    let api = Api::new(&emulator);
    configured(&api, &receiver).await;
    let (status, answer) = api
        .post(
            "call",
            json!({
                "extension": "203",
                "destination": "647460197",
                "request_callback_headers": {"X-VTCRM-External-Call-Id": "ringside-42"},
                "request_callback_parameters": {"a_request_parameter": "v"},
            }),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(answer["callId"], FIRST_CALL_ID.to_string());
    let received = receiver.wait_for(3).await;
    assert_eq!(states(&received), ["prompting", "alerting", "talking"]);
    for r in &received {
        assert_eq!(r.headers["x-vtcrm-pbxid"], "emulated-pbx");
        assert_eq!(r.headers["x-ringside-secret"], "s3cret");
        assert_eq!(r.headers["x-vtcrm-external-call-id"], "ringside-42");
        assert_eq!(r.headers["content-type"], "application/json");
        assert!(r.query.contains(&("tenant".into(), "acme".into())));
        assert!(
            r.query
                .contains(&("a_request_parameter".into(), "v".into()))
        );
    }
    let alerting = &received[1].event;
    assert_eq!(alerting["callId"], "480000");
    assert_eq!(alerting["isIncoming"], "false");
    assert_eq!(alerting["extension"], "203");
    assert_eq!(alerting["displayedNumber"], "0647460197");
    assert_eq!(alerting["displayedExternalNumber"], "+34647460197");
    assert_eq!(alerting["firstFrom"], "203");
    assert_eq!(alerting["firstTo"], "0647460197");
    assert_eq!(alerting["stateCause"], "causeNormal");
    assert!(
        alerting["eventTimestamp"]
            .as_str()
            .unwrap()
            .parse::<i64>()
            .is_ok()
    );
    assert_eq!(
        received[0].event["callLegId"],
        received[2].event["callLegId"]
    );

    // The client's own id works for drop.
    assert_eq!(
        api.post("drop", json!({"callId": "ringside-42"})).await.0,
        200
    );
    let received = receiver.wait_for(4).await;
    assert_eq!(received[3].event["state"], "dropped");
    assert_eq!(received[3].event["stateCause"], "causeNormal");
    assert!(emulator.active_calls().is_empty());
    assert_eq!(emulator.sent_events().len(), 4);
    assert!(emulator.sent_events().iter().all(|s| s.status == Some(200)));
}

#[tokio::test]
async fn unanswered_call_stays_alerting_until_dropped() {
    let config = EmulatorConfig {
        dial: DialProgress {
            enabled: true,
            ring_delay: Duration::from_millis(5),
            answer_after: None,
        },
        ..EmulatorConfig::default()
    };
    let emulator = Emulator::start(config).await.unwrap();
    let receiver = Receiver::start().await;
    emulator.configure_callback(&receiver.url, &[], &[]);
    let api = Api::new(&emulator);
    let body = json!({"extension": 201, "destination": "+44 20 7946 0958"});
    assert_eq!(api.post("call", body).await.0, 200);
    let received = receiver.wait_for(2).await;
    assert_eq!(received[1].event["displayedNumber"], "00442079460958");
    assert_eq!(
        received[1].event["displayedExternalNumber"],
        "+442079460958"
    );
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert_eq!(states(&receiver.received()), ["prompting", "alerting"]);
    assert_eq!(emulator.active_calls(), ["480000"]);
    assert_eq!(api.post("drop", json!({"callId": 480000})).await.0, 200);
    assert_eq!(
        states(&receiver.wait_for(3).await),
        ["prompting", "alerting", "dropped"]
    );
    // A dropped call is no longer known.
    assert_eq!(api.post("drop", json!({"callId": "480000"})).await.0, 400);
}

#[tokio::test]
async fn drop_before_answer_stops_the_progress() {
    let emulator = fast_emulator().await;
    let receiver = Receiver::start().await;
    emulator.configure_callback(&receiver.url, &[], &[]);
    let api = Api::new(&emulator);
    let body = json!({"extension": "203", "destination": "600111222"});
    let (_, answer) = api.post("call", body).await;
    assert_eq!(
        api.post("drop", json!({"callId": answer["callId"]}))
            .await
            .0,
        200
    );
    tokio::time::sleep(Duration::from_millis(80)).await;
    assert_eq!(states(&receiver.received()), ["prompting", "dropped"]);
}

#[tokio::test]
async fn internal_call_is_reported_at_the_receiving_extension() {
    let emulator = fast_emulator().await;
    let receiver = Receiver::start().await;
    emulator.configure_callback(&receiver.url, &[], &[]);
    let api = Api::new(&emulator);
    assert_eq!(
        api.post("call", json!({"extension": "202", "destination": "203"}))
            .await
            .0,
        200
    );
    let received = receiver.wait_for(3).await;
    assert_eq!(states(&received), ["prompting", "ringing", "talking"]);
    let ringing = &received[1].event;
    assert_eq!(ringing["extension"], "203");
    assert_eq!(ringing["isIncoming"], "true");
    assert_eq!(ringing["displayedNumber"], "202");
    assert_eq!(ringing["displayedLabel"], "Ext 202");
}

#[tokio::test]
async fn redirect_drops_with_cause_transfer_and_rings_the_new_extension() {
    let emulator = fast_emulator().await;
    let receiver = Receiver::start().await;
    let api = Api::new(&emulator);
    configured(&api, &receiver).await;
    let call = json!({
        "extension": "201",
        "destination": "0647460197",
        "request_callback_headers": {"X-VTCRM-External-Call-Id": "ext-7"},
    });
    api.post("call", call).await;
    receiver.wait_for(3).await;
    let redirect = json!({"callId": "480000", "destination": "301"});
    assert_eq!(api.post("redirectIncoming", redirect).await.0, 200);
    let received = receiver.wait_for(6).await;
    assert_eq!(
        states(&received),
        [
            "prompting",
            "alerting",
            "talking",
            "dropped",
            "alerting",
            "talking"
        ]
    );
    let dropped = &received[3].event;
    assert_eq!(dropped["callId"], "480000");
    assert_eq!(dropped["stateCause"], "causeTransfer");
    assert_eq!(dropped["extension"], "201");
    let moved = &received[4].event;
    assert_eq!(moved["callId"], "480000.1");
    assert_eq!(moved["extension"], "301");
    assert_eq!(moved["isIncoming"], "true");
    assert_eq!(moved["displayedNumber"], "201");
    assert_eq!(moved["displayedLabel"], "Ext 201");
    assert_eq!(moved["originallyFrom"], "201");
    assert_eq!(moved["originallyTo"], "0647460197");
    assert_eq!(moved["originalIsIncoming"], "false");
    assert_eq!(moved["originalCallId"], "480000");
    assert_eq!(moved["firstCallId"], "480000");
    assert_eq!(moved["firstFrom"], "201");
    assert!(moved["callLegId"].as_str().unwrap().ends_with("_1"));
    assert_eq!(received[5].headers["x-vtcrm-external-call-id"], "ext-7");
    // A second transfer counts up and keeps the first call.
    let again = json!({"callId": "480000.1", "destination": "202"});
    assert_eq!(api.post("redirectIncoming", again).await.0, 200);
    let received = receiver.wait_for(8).await;
    assert_eq!(received[7].event["callId"], "480000.2");
    assert_eq!(received[7].event["originalCallId"], "480000.1");
    assert_eq!(received[7].event["firstCallId"], "480000");
    assert_eq!(emulator.active_calls(), ["480000.2"]);
}

#[tokio::test]
async fn events_go_out_one_by_one_in_order() {
    let emulator = fast_emulator().await;
    let receiver = Receiver::start().await;
    receiver.slow_down(Duration::from_millis(15));
    emulator.configure_callback(&receiver.url, &[], &[]);
    let emit = |n: u32| emulator.emit(json!({"callId": n.to_string(), "state": "ringing"}), &[]);
    // join! polls in order, so all six are queued at once, in this order.
    let statuses = tokio::join!(emit(0), emit(1), emit(2), emit(3), emit(4), emit(5));
    let statuses = [
        statuses.0, statuses.1, statuses.2, statuses.3, statuses.4, statuses.5,
    ];
    assert!(statuses.iter().all(|s| *s == Ok(200)));
    let ids: Vec<_> = receiver
        .received()
        .iter()
        .map(|r| r.event["callId"].clone())
        .collect();
    assert_eq!(ids, ["0", "1", "2", "3", "4", "5"]);
    assert_eq!(receiver.max_in_flight(), 1);
}

#[tokio::test]
async fn emit_without_a_callback_fails_and_extra_headers_are_sent() {
    let emulator = fast_emulator().await;
    let error = emulator
        .emit(json!({"state": "ringing"}), &[])
        .await
        .unwrap_err();
    assert_eq!(error, ringside_gamma_emulator::EmitError::NotConfigured);
    let receiver = Receiver::start().await;
    let params = [("p".to_owned(), "1".to_owned())];
    emulator.configure_callback(&receiver.url, &[], &params);
    let extra = [("X-Extra".to_owned(), "yes".to_owned())];
    assert_eq!(
        emulator.emit(json!({"state": "ringing"}), &extra).await,
        Ok(200)
    );
    let received = receiver.received();
    assert_eq!(received[0].headers["x-extra"], "yes");
    assert_eq!(received[0].query, [("p".to_owned(), "1".to_owned())]);
    let sent = emulator.sent_events();
    assert_eq!(sent[0].url, receiver.url);
    assert_eq!(sent[0].status, Some(200));
    assert!(
        sent[0]
            .headers
            .contains(&("X-VTCRM-PBXID".to_owned(), "emulated-pbx".to_owned()))
    );
}
