//! The engine's use cases against real parts: lookup in the demo address book,
//! dial / hang up / transfer through the Gamma emulator, notes, reconciliation.

mod common;

use std::time::Duration;

use common::{harness, ingest, ingest_with};
use ringside_core::{CallStatus, ErrorKind, Outcome};
use ringside_gamma_emulator::Fault;

#[tokio::test]
async fn lookup_finds_the_caller_with_open_deals_and_recent_calls() {
    let h = harness().await;
    for body in ringside_gamma::seed::bodies(ringside_gamma::seed::INCOMING_MISSED).unwrap() {
        ingest(&h.engine, &body).await;
    }
    for form in [
        "0647460197",
        "+34 647 460 197",
        "00647460197",
        "+340647460197",
    ] {
        let info = h.engine.lookup(form).await.unwrap();
        let chosen = info.lookup.chosen_match().expect(form);
        assert_eq!(chosen.contact.name, "Lucía Fernández", "{form}");
        assert_eq!(chosen.deals.len(), 2, "closed deals are not shown");
        assert_eq!(info.recent_calls.len(), 1);
        assert_eq!(info.recent_calls[0].outcome, Some(Outcome::Missed));
    }
    // The shared switchboard matches two contacts; policy `ask` lets the agent pick.
    let info = h.engine.lookup("933456789").await.unwrap();
    assert_eq!(info.lookup.matches.len(), 2);
    assert_eq!(info.lookup.chosen, None);
    // Nobody, and nobody to look for.
    assert!(
        h.engine
            .lookup("600111222")
            .await
            .unwrap()
            .lookup
            .matches
            .is_empty()
    );
    assert!(
        h.engine
            .lookup("anonymous")
            .await
            .unwrap()
            .lookup
            .matches
            .is_empty()
    );
    assert_eq!(
        h.engine.lookup("  ").await.unwrap_err().kind,
        ErrorKind::Invalid
    );
}

#[tokio::test]
async fn dial_sends_one_call_request_with_our_id() {
    let h = harness().await;
    let call = h.engine.dial("203", "+34 647 460 197").await.unwrap();
    assert_eq!(call.status, CallStatus::Dialing);
    let ours = call.external_call_id.clone().unwrap();
    let req = h
        .emulator
        .wait_for_request("call", Duration::from_secs(5))
        .await
        .expect("the PBX got the call request");
    assert_eq!(req.body["extension"], "203");
    assert_eq!(req.body["destination"], "647460197");
    assert_eq!(
        req.body["request_callback_headers"]["X-VTCRM-External-Call-Id"],
        ours.as_str()
    );

    // The PBX's events for that call find it by our id.
    let alerting = serde_json::json!({
        "callId": "480000", "callLegId": "1.-1", "displayedExternalNumber": "+34647460197",
        "displayedLabel": "647460197", "displayedNumber": "0647460197", "isIncoming": "false",
        "isRecording": "false", "eventTimestamp": "1763802000000", "state": "alerting",
        "stateCause": "causeNormal", "extension": "203", "firstFrom": "203",
        "firstTo": "0647460197", "firstIsIncoming": "false", "firstCallId": "480000"
    })
    .to_string();
    let got = ingest_with(&h.engine, &alerting, Some(&ours)).await;
    let folded = got.call.unwrap();
    assert_eq!(folded.id, call.id);
    assert_eq!(folded.provider_call_id, "480000");
    assert_eq!(folded.status, CallStatus::Ringing);
}

#[tokio::test]
async fn a_refused_dial_is_not_retried_and_closes_the_call() {
    let h = harness().await;
    h.emulator.inject(Fault::Status(503), Some(1)).await;
    let err = h.engine.dial("203", "647460197").await.unwrap_err();
    assert_eq!(err.kind, ErrorKind::Unavailable);
    tokio::time::sleep(Duration::from_millis(200)).await;
    let calls: Vec<_> = h
        .emulator
        .requests()
        .into_iter()
        .filter(|r| r.path == "call")
        .collect();
    assert_eq!(calls.len(), 1, "a dial is never repeated");
    let history = h.engine.list_calls(Default::default()).await.unwrap();
    assert_eq!(history.len(), 1);
    assert_eq!(history[0].status, CallStatus::Ended);
    assert_eq!(history[0].outcome, Some(Outcome::Failed));
}

#[tokio::test]
async fn bad_dial_input_is_refused_before_the_pbx() {
    let h = harness().await;
    for (ext, dest) in [
        ("203", "anonymous"),
        ("203", "ab"),
        ("20x", "647460197"),
        ("", "647460197"),
    ] {
        let err = h.engine.dial(ext, dest).await.unwrap_err();
        assert_eq!(err.kind, ErrorKind::Invalid, "{ext} {dest}");
    }
    assert!(h.emulator.requests().is_empty());
}

#[tokio::test]
async fn notes_are_saved_and_published() {
    let h = harness().await;
    let mut live = h.engine.subscribe();
    let body = &ringside_gamma::seed::bodies(ringside_gamma::seed::INCOMING_ANSWERED).unwrap()[0];
    let call = ingest(&h.engine, body).await.call.unwrap();
    assert_eq!(live.recv().await.unwrap().call.id, call.id);
    let saved = h
        .engine
        .set_notes(
            &call.id,
            Some("Wants a quote for 20 lines".into()),
            Some("follow_up".into()),
        )
        .await
        .unwrap();
    assert_eq!(saved.notes.as_deref(), Some("Wants a quote for 20 lines"));
    let update = live.recv().await.unwrap();
    assert_eq!(update.call.disposition.as_deref(), Some("follow_up"));
    assert_eq!(h.engine.call(&call.id).await.unwrap().notes, saved.notes);
    let missing = ringside_core::CallId("nope".into());
    assert_eq!(
        h.engine
            .set_notes(&missing, None, None)
            .await
            .unwrap_err()
            .kind,
        ErrorKind::NotFound
    );
}

#[tokio::test]
async fn hang_up_and_transfer_target_the_current_leg() {
    let h = harness().await;
    // A call we dialed is active at the emulator under the PBX's id.
    let call = h.engine.dial("203", "647460197").await.unwrap();
    let ours = call.external_call_id.clone().unwrap();
    let pbx_id = h
        .emulator
        .active_calls()
        .first()
        .cloned()
        .expect("emulator tracks the call");
    assert_eq!(
        h.engine.hang_up(&call.id).await.unwrap_err().kind,
        ErrorKind::Conflict,
        "no leg reported yet"
    );
    let event = |state: &str, t: i64| {
        serde_json::json!({
            "callId": pbx_id, "callLegId": "1.-1", "displayedExternalNumber": "+34647460197",
            "displayedLabel": "647460197", "displayedNumber": "0647460197", "isIncoming": "false",
            "isRecording": "false", "eventTimestamp": t.to_string(), "state": state,
            "stateCause": "causeNormal", "extension": "203", "firstFrom": "203",
            "firstTo": "0647460197", "firstIsIncoming": "false", "firstCallId": pbx_id
        })
        .to_string()
    };
    ingest_with(
        &h.engine,
        &event("alerting", 1_763_802_000_000),
        Some(&ours),
    )
    .await;
    ingest_with(&h.engine, &event("talking", 1_763_802_004_000), Some(&ours)).await;

    h.engine.hang_up(&call.id).await.unwrap();
    let req = h
        .emulator
        .wait_for_request("drop", Duration::from_secs(5))
        .await
        .unwrap();
    assert_eq!(
        req.body["callId"].as_str().unwrap(),
        h.engine
            .call(&call.id)
            .await
            .unwrap()
            .current_leg()
            .unwrap()
            .provider_call_id
    );

    ingest_with(&h.engine, &event("dropped", 1_763_802_010_000), Some(&ours)).await;
    let ended = h.engine.call(&call.id).await.unwrap();
    assert_eq!(ended.outcome, Some(Outcome::Answered));
    assert_eq!(ended.talk_seconds, 6);
    assert_eq!(
        h.engine.hang_up(&call.id).await.unwrap_err().kind,
        ErrorKind::Conflict
    );
}

#[tokio::test]
async fn reconciliation_closes_silent_calls_as_failed() {
    let h = harness().await;
    let bodies = ringside_gamma::seed::bodies(ringside_gamma::seed::INCOMING_ANSWERED).unwrap();
    let call = ingest(&h.engine, &bodies[0]).await.call.unwrap();
    h.clock.advance(chrono::Duration::hours(3));
    assert_eq!(h.engine.reconcile().await.unwrap(), 0);
    h.clock.advance(chrono::Duration::hours(1));
    assert_eq!(h.engine.reconcile().await.unwrap(), 1);
    let closed = h.engine.call(&call.id).await.unwrap();
    assert_eq!(closed.status, CallStatus::Ended);
    assert_eq!(closed.outcome, Some(Outcome::Failed));
    assert!(closed.reconciled);
    assert_eq!(h.engine.reconcile().await.unwrap(), 0);
}
