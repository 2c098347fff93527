//! Deliveries to the Phone Calls Generic gateway, against the emulator.

mod common;

use std::time::Duration;

use common::{adapter, adapter_with, call, demo, op, settings, user};
use ringside_core::{Direction, ErrorKind, Outcome, Sensitive};
use ringside_crm::{Confirmation, CrmProvider, OpKind};
use ringside_vtiger_emulator::{Fault, NewUser, Scope, Surface};
use serde_json::json;

#[tokio::test]
async fn a_whole_inbound_call_reaches_vtiger_event_by_event() {
    let (emulator, ids) = demo().await;
    let crm = adapter(&emulator);
    let ana = user("201", &ids.ana, None);
    let bruno = user("202", &ids.bruno, None);
    let mut c = call("call-1", Direction::Inbound);

    // Ring.
    let sent = crm
        .deliver(&op(OpKind::Ring, &c, Some(ana.clone())))
        .await
        .unwrap();
    assert_eq!(
        sent.sent,
        json!({"event": "call_initiated", "call_id": "call-1", "from": "+34647460197",
               "to": "201", "direction": "inbound"})
    );
    let record = emulator.phone_call("call-1").unwrap();
    assert_eq!(record.callstatus, "ringing");
    assert_eq!(record.direction, "inbound");
    assert_eq!(record.customer_number, "+34647460197");
    assert_eq!(record.user_id.as_deref(), Some(ids.ana.as_str()));

    // The request itself: a form body (not the query string), the secret header.
    let request = emulator
        .requests()
        .into_iter()
        .find(|r| r.surface == Surface::Gateway)
        .unwrap();
    assert_eq!(request.method, "POST");
    assert!(request.query.is_empty(), "{:?}", request.query);
    assert!(
        request
            .content_type
            .as_deref()
            .unwrap()
            .starts_with("application/x-www-form-urlencoded")
    );
    assert_eq!(
        request.secret.as_deref(),
        Some(emulator.config().gateway_secret.as_str())
    );
    assert!(
        !sent
            .sent
            .to_string()
            .contains(&emulator.config().gateway_secret)
    );

    // Answered by Ana.
    crm.deliver(&op(OpKind::Answered, &c, Some(ana.clone())))
        .await
        .unwrap();
    assert_eq!(
        emulator.phone_call("call-1").unwrap().callstatus,
        "in-progress"
    );

    // Transferred to Bruno: Vtiger now shows him as the call's user.
    crm.deliver(&op(OpKind::Transfer, &c, Some(bruno.clone())))
        .await
        .unwrap();
    let record = emulator.phone_call("call-1").unwrap();
    assert_eq!(record.transferred_to, vec!["202".to_string()]);
    assert_eq!(record.user_id.as_deref(), Some(ids.bruno.as_str()));

    // Ended, answered, with talk time, a recording, notes and a disposition.
    c.outcome = Some(Outcome::Answered);
    c.talk_seconds = 42;
    c.recording_url = Some("https://rec.example.com/call-1.mp3".into());
    c.notes = Some("Wants a quote for the Valencia office".into());
    c.disposition = Some("Interested".into());
    crm.deliver(&op(OpKind::Ended, &c, Some(bruno.clone())))
        .await
        .unwrap();
    let record = emulator.phone_call("call-1").unwrap();
    assert_eq!(record.callstatus, "completed");
    assert_eq!(record.billduration.as_deref(), Some("42"));
    assert_eq!(
        record.recordingurl.as_deref(),
        Some("https://rec.example.com/call-1.mp3")
    );
    assert_eq!(
        record.notes.as_deref(),
        Some("Wants a quote for the Valencia office\nDisposition: Interested")
    );

    // A better recording arrives later.
    crm.deliver(&op(
        OpKind::Recording {
            url: "https://rec.example.com/call-1-final.mp3".into(),
        },
        &c,
        None,
    ))
    .await
    .unwrap();
    assert_eq!(
        emulator
            .phone_call("call-1")
            .unwrap()
            .recordingurl
            .as_deref(),
        Some("https://rec.example.com/call-1-final.mp3")
    );

    // Exactly these events, with exactly these parameters.
    let events = emulator.gateway_events();
    let names: Vec<&str> = events.iter().map(|e| e.event.as_str()).collect();
    assert_eq!(
        names,
        [
            "call_initiated",
            "call_connected",
            "call_transfer",
            "call_hangup",
            "call_recording"
        ]
    );
    assert!(events.iter().all(|e| e.call_id == "call-1"));
    let params = |i: usize| -> Vec<(String, String)> {
        events[i]
            .params
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    };
    let pairs = |p: &[(&str, &str)]| -> Vec<(String, String)> {
        let mut v: Vec<(String, String)> = p
            .iter()
            .map(|(k, v)| ((*k).to_string(), (*v).to_string()))
            .collect();
        v.sort();
        v
    };
    assert_eq!(
        params(1),
        pairs(&[
            ("event", "call_connected"),
            ("call_id", "call-1"),
            ("from", "+34647460197"),
            ("to", "201")
        ])
    );
    assert_eq!(
        params(2),
        pairs(&[
            ("event", "call_transfer"),
            ("call_id", "call-1"),
            ("transferred_number", "202")
        ])
    );
    assert_eq!(
        params(3),
        pairs(&[
            ("event", "call_hangup"),
            ("call_id", "call-1"),
            ("hangup_reason", "completed"),
            ("billduration", "42"),
            ("recordingurl", "https://rec.example.com/call-1.mp3"),
            (
                "notes",
                "Wants a quote for the Valencia office\nDisposition: Interested"
            ),
        ])
    );
    assert_eq!(
        params(4),
        pairs(&[
            ("event", "call_recording"),
            ("call_id", "call-1"),
            ("recordingurl", "https://rec.example.com/call-1-final.mp3")
        ])
    );
    // One Phone Calls record for the whole call.
    assert_eq!(emulator.phone_calls().len(), 1);
}

#[tokio::test]
async fn to_is_the_users_office_phone_when_it_differs_from_the_extension() {
    let (emulator, _) = demo().await;
    let carla = emulator.add_user(NewUser {
        user_name: "carla".into(),
        first_name: "Carla".into(),
        last_name: "Ruiz".into(),
        email: "carla@ringside.test".into(),
        phone_work: "+34 910 000 203".into(),
        phone_mobile: None,
    });
    let crm = adapter(&emulator);
    let c = call("call-carla", Direction::Outbound);
    let carla_user = user("203", &carla, Some("+34 910 000 203"));
    let sent = crm
        .deliver(&op(OpKind::Ring, &c, Some(carla_user)))
        .await
        .unwrap();
    assert_eq!(sent.sent["to"], "+34 910 000 203");
    assert_eq!(sent.sent["direction"], "outbound");
    let record = emulator.phone_call("call-carla").unwrap();
    assert_eq!(record.user_id.as_deref(), Some(carla.as_str()));
    assert_eq!(record.direction, "outbound");
}

#[tokio::test]
async fn hangup_reasons_set_vtigers_call_status() {
    let (emulator, ids) = demo().await;
    let crm = adapter(&emulator);
    let ana = user("201", &ids.ana, None);
    let cases = [
        (Outcome::Missed, "no_answer", "hangup"),
        (Outcome::NoAnswer, "no_answer", "hangup"),
        (Outcome::Busy, "busy", "busy"),
        (Outcome::Failed, "failed", "failed"),
    ];
    for (i, (outcome, reason, status)) in cases.into_iter().enumerate() {
        let id = format!("call-h{i}");
        let mut c = call(&id, Direction::Inbound);
        crm.deliver(&op(OpKind::Ring, &c, Some(ana.clone())))
            .await
            .unwrap();
        c.outcome = Some(outcome);
        let sent = crm
            .deliver(&op(OpKind::Ended, &c, Some(ana.clone())))
            .await
            .unwrap();
        assert_eq!(sent.sent["hangup_reason"], reason);
        assert_eq!(sent.sent["billduration"], "0");
        assert!(sent.sent.get("notes").is_none());
        assert!(sent.sent.get("recordingurl").is_none());
        assert_eq!(emulator.phone_call(&id).unwrap().callstatus, status);
    }
}

#[tokio::test]
async fn answered_without_an_office_phone_is_invalid_and_sends_nothing() {
    let (emulator, _) = demo().await;
    let crm = adapter(&emulator);
    let c = call("call-x", Direction::Inbound);
    let e = crm
        .deliver(&op(OpKind::Answered, &c, None))
        .await
        .unwrap_err();
    assert_eq!(e.kind, ErrorKind::Invalid);
    assert!(
        e.message.contains("office phone is unknown"),
        "{}",
        e.message
    );
    assert!(emulator.requests().is_empty());
}

#[tokio::test]
async fn a_wrong_gateway_secret_is_unauthorized() {
    let (emulator, ids) = demo().await;
    let mut s = settings(&emulator);
    s.gateway_secret = Sensitive::new("not-the-secret".into());
    let (crm, _) = adapter_with(s);
    let c = call("call-s", Direction::Inbound);
    let e = crm
        .deliver(&op(OpKind::Ring, &c, Some(user("201", &ids.ana, None))))
        .await
        .unwrap_err();
    assert_eq!(e.kind, ErrorKind::Unauthorized);
    assert!(e.message.contains("X-VTIGER-SECRET"), "{}", e.message);
    assert!(!e.message.contains("not-the-secret"), "{}", e.message);
    assert!(emulator.phone_calls().is_empty());

    // After a rotation, the old secret fails the same way.
    let (emulator, ids) = demo().await;
    let crm = adapter(&emulator);
    emulator.rotate_gateway_secret("rotated".into());
    let e = crm
        .deliver(&op(OpKind::Ring, &c, Some(user("201", &ids.ana, None))))
        .await
        .unwrap_err();
    assert_eq!(e.kind, ErrorKind::Unauthorized);
}

#[tokio::test]
async fn server_errors_are_unavailable_and_rate_limits_carry_retry_after() {
    let (emulator, ids) = demo().await;
    let ana = user("201", &ids.ana, None);
    let c = call("call-f", Direction::Inbound);
    let ring = op(OpKind::Ring, &c, Some(ana));
    for status in [500, 503] {
        let crm = adapter(&emulator);
        emulator.inject(Fault::ServerError {
            status,
            times: 1,
            scope: Scope::Gateway,
        });
        let e = crm.deliver(&ring).await.unwrap_err();
        assert_eq!(e.kind, ErrorKind::Unavailable, "{status}");
        assert!(e.message.contains(&status.to_string()), "{}", e.message);
        assert!(e.is_retryable());
    }
    assert!(emulator.phone_calls().is_empty());

    emulator.set_down(true);
    let e = adapter(&emulator).deliver(&ring).await.unwrap_err();
    assert_eq!(e.kind, ErrorKind::Unavailable);
    emulator.set_down(false);

    emulator.inject(Fault::RateLimited {
        retry_after_secs: 7,
        times: 1,
        scope: Scope::Gateway,
    });
    let (crm, throttle) = adapter_with(settings(&emulator));
    let e = crm.deliver(&ring).await.unwrap_err();
    assert_eq!(e.kind, ErrorKind::RateLimited);
    assert_eq!(e.retry_after, Some(Duration::from_secs(7)));
    assert!(throttle.held_until().is_some(), "a 429 holds the throttle");

    // Once the faults are gone, the same delivery goes through.
    adapter(&emulator).deliver(&ring).await.unwrap();
    assert_eq!(emulator.phone_calls().len(), 1);
}

#[tokio::test]
async fn an_event_for_an_unknown_call_is_invalid() {
    let (emulator, ids) = demo().await;
    let crm = adapter(&emulator);
    let c = call("never-rang", Direction::Inbound);
    let e = crm
        .deliver(&op(OpKind::Answered, &c, Some(user("201", &ids.ana, None))))
        .await
        .unwrap_err();
    assert_eq!(e.kind, ErrorKind::Invalid);
    assert!(e.message.contains("RECORD_NOT_FOUND"), "{}", e.message);
    assert!(e.message.contains("call_connected"), "{}", e.message);
}

#[tokio::test]
async fn an_unreachable_vtiger_is_unavailable() {
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let mut s = ringside_vtiger::VtigerSettings::new(
        format!("http://127.0.0.1:{port}"),
        "admin",
        "key",
        "secret",
    );
    s.closed_stages = vec![];
    let (crm, _) = adapter_with(s);
    let c = call("call-u", Direction::Inbound);
    let e = crm
        .deliver(&op(OpKind::Ring, &c, Some(user("201", "19x2", None))))
        .await
        .unwrap_err();
    assert_eq!(e.kind, ErrorKind::Unavailable);
    assert!(e.message.contains("unreachable"), "{}", e.message);
}

#[tokio::test]
async fn confirm_tells_applied_from_not_applied_after_a_timeout() {
    let (emulator, ids) = demo().await;
    let crm = adapter(&emulator);
    let ana = user("201", &ids.ana, None);
    let mut c = call("call-c", Direction::Inbound);
    let ring = op(OpKind::Ring, &c, Some(ana.clone()));

    // Nothing sent yet.
    assert_eq!(crm.confirm(&ring).await.unwrap(), Confirmation::NotApplied);

    // Vtiger applies the ring but answers too late: the client gives up.
    emulator.inject(Fault::ApplyThenStall {
        ms: 2_000,
        times: 1,
        scope: Scope::Gateway,
    });
    let timed_out = tokio::time::timeout(Duration::from_millis(400), crm.deliver(&ring)).await;
    assert!(timed_out.is_err(), "the delivery should have timed out");
    assert_eq!(crm.confirm(&ring).await.unwrap(), Confirmation::Applied);

    // Answered and ended were not sent.
    let answered = op(OpKind::Answered, &c, Some(ana.clone()));
    assert_eq!(
        crm.confirm(&answered).await.unwrap(),
        Confirmation::NotApplied
    );
    c.outcome = Some(Outcome::Answered);
    c.talk_seconds = 30;
    let ended = op(OpKind::Ended, &c, Some(ana.clone()));
    assert_eq!(crm.confirm(&ended).await.unwrap(), Confirmation::NotApplied);

    crm.deliver(&answered).await.unwrap();
    assert_eq!(crm.confirm(&answered).await.unwrap(), Confirmation::Applied);
    assert_eq!(crm.confirm(&ended).await.unwrap(), Confirmation::NotApplied);

    emulator.inject(Fault::ApplyThenStall {
        ms: 2_000,
        times: 1,
        scope: Scope::Gateway,
    });
    let timed_out = tokio::time::timeout(Duration::from_millis(400), crm.deliver(&ended)).await;
    assert!(timed_out.is_err());
    assert_eq!(crm.confirm(&ended).await.unwrap(), Confirmation::Applied);

    // A recording: applied only once Vtiger has that very URL.
    let recording = op(
        OpKind::Recording {
            url: "https://rec.example.com/c.mp3".into(),
        },
        &c,
        None,
    );
    assert_eq!(
        crm.confirm(&recording).await.unwrap(),
        Confirmation::NotApplied
    );
    crm.deliver(&recording).await.unwrap();
    assert_eq!(
        crm.confirm(&recording).await.unwrap(),
        Confirmation::Applied
    );

    // A transfer leaves no trace Vtiger's REST API shows.
    let transfer = op(OpKind::Transfer, &c, Some(user("202", &ids.bruno, None)));
    assert_eq!(crm.confirm(&transfer).await.unwrap(), Confirmation::Unknown);

    // The stalled ring was applied once: one record, no duplicate.
    let record = emulator.phone_call("call-c").unwrap();
    assert_eq!(record.duplicates, 0);
    assert_eq!(emulator.phone_calls().len(), 1);
}

#[tokio::test]
async fn confirm_propagates_rest_outages() {
    let (emulator, _) = demo().await;
    let crm = adapter(&emulator);
    let c = call("call-o", Direction::Inbound);
    emulator.inject(Fault::ServerError {
        status: 502,
        times: 1,
        scope: Scope::Rest,
    });
    let e = crm.confirm(&op(OpKind::Ring, &c, None)).await.unwrap_err();
    assert_eq!(e.kind, ErrorKind::Unavailable);
}
