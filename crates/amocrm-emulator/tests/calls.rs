//! POST /api/v4/calls: validation, placement, Entity not found, no dedup,
//! notes.

mod common;

use std::time::Duration;

use common::{demo, get, post};
use ringside_amocrm_emulator::Via;
use serde_json::{Value, json};

fn call(phone: &str, uniq: &str) -> Value {
    json!({"direction": "inbound", "uniq": uniq, "duration": 98, "source": "ringside",
           "phone": phone, "link": "https://rec.test/a.mp3", "call_status": 4,
           "call_result": "Hablado", "created_at": 1_750_000_000})
}

#[tokio::test]
async fn one_active_lead_gets_the_call_and_a_note() {
    let (emulator, d, token) = demo().await;
    let (status, body) = post(
        &emulator,
        &token,
        "/api/v4/calls",
        json!([call("+34911234567", "u-1")]),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["_total_items"], 1);
    let c = &body["_embedded"]["calls"][0];
    assert_eq!(c["entity_type"], "leads");
    assert_eq!(c["entity_id"], d.javier_lead);
    assert_eq!(c["account_id"], 31_415_926);
    assert_eq!(c["request_id"], "0");
    let calls = emulator.calls();
    assert_eq!(calls.len(), 1);
    assert_eq!(calls[0].via, Via::V4);
    assert_eq!(calls[0].uniq.as_deref(), Some("u-1"));
    assert_eq!(calls[0].call_status, Some(4));
    assert_eq!(calls[0].note_id, c["id"].as_u64());
    let path = format!("/api/v4/leads/{}/notes", d.javier_lead);
    let (status, notes) = get(&emulator, &token, &path).await;
    assert_eq!(status, 200);
    let note = &notes["_embedded"]["notes"][0];
    assert_eq!(note["note_type"], "call_in");
    assert_eq!(note["params"]["uniq"], "u-1");
    assert_eq!(note["params"]["duration"], 98);
    assert_eq!(note["params"]["phone"], "+34911234567");
    assert_eq!(note["params"]["source"], "ringside");
    assert_eq!(note["params"]["link"], "https://rec.test/a.mp3");
    assert_eq!(note["params"]["call_status"], 4);
    assert_eq!(note["params"]["call_result"], "Hablado");
    assert!(emulator.wait_for_calls(1, Duration::from_secs(1)).await);
}

#[tokio::test]
async fn two_active_leads_or_none_put_the_call_on_the_contact() {
    let (emulator, d, token) = demo().await;
    let mut out = call("647460197", "u-2");
    out["direction"] = json!("outbound");
    out["request_id"] = json!("mine");
    let (status, body) = post(
        &emulator,
        &token,
        "/api/v4/calls",
        json!([out, call("+7 999 555 11 22", "u-3")]),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let calls = body["_embedded"]["calls"].as_array().unwrap();
    assert_eq!(calls[0]["entity_type"], "contacts");
    assert_eq!(calls[0]["entity_id"], d.lucia);
    assert_eq!(calls[0]["request_id"], "mine");
    assert_eq!(calls[1]["entity_type"], "contacts");
    assert_eq!(calls[1]["entity_id"], d.elena);
    let (_, notes) = get(
        &emulator,
        &token,
        "/api/v4/contacts/notes?filter[note_type][]=call_out",
    )
    .await;
    assert_eq!(notes["_embedded"]["notes"].as_array().unwrap().len(), 1);
    assert_eq!(notes["_embedded"]["notes"][0]["entity_id"], d.lucia);
    // The shared switchboard number goes to the first contact.
    let (_, body) = post(
        &emulator,
        &token,
        "/api/v4/calls",
        json!([call("933456789", "u-4")]),
    )
    .await;
    assert_eq!(body["_embedded"]["calls"][0]["entity_id"], d.clinica[0]);
}

#[tokio::test]
async fn unknown_phone_is_entity_not_found_and_others_still_apply() {
    let (emulator, d, token) = demo().await;
    let (status, body) = post(
        &emulator,
        &token,
        "/api/v4/calls",
        json!([call("+1 555 0100 999", "x")]),
    )
    .await;
    assert_eq!(status, 400);
    assert_eq!(body["_total_items"], 0);
    assert_eq!(body["errors"][0]["title"], "Entity not found");
    assert_eq!(body["errors"][0]["status"], 400);
    assert!(emulator.calls().is_empty());
    // The note field's digits do not place a call (only PHONE counts).
    let (status, _) = post(
        &emulator,
        &token,
        "/api/v4/calls",
        json!([call("+34 622 98 76 54", "m")]),
    )
    .await;
    assert_eq!(status, 200);
    let (status, body) = post(
        &emulator,
        &token,
        "/api/v4/calls",
        json!([call("+34911234567", "ok"), call("+15550100999", "bad")]),
    )
    .await;
    assert_eq!(status, 400);
    assert_eq!(body["_total_items"], 1);
    assert_eq!(body["_embedded"]["calls"][0]["entity_id"], d.javier_lead);
    assert_eq!(body["errors"][0]["request_id"], "1");
    assert_eq!(emulator.calls().len(), 2);
}

#[tokio::test]
async fn validation_rejects_the_whole_batch() {
    let (emulator, d, token) = demo().await;
    let (status, body) = post(&emulator, &token, "/api/v4/calls", call("647460197", "o")).await;
    assert_eq!(status, 400, "an object is not an array");
    assert_eq!(body["status"], 400);
    let mut bad_status = call("647460197", "a");
    bad_status["call_status"] = json!(9);
    let mut missing = call("647460197", "b");
    missing.as_object_mut().unwrap().remove("source");
    missing["duration"] = json!(-1);
    missing["direction"] = json!("sideways");
    let mut bad_user = call("647460197", "c");
    bad_user["responsible_user_id"] = json!(12345);
    bad_user["link"] = json!("ftp://x");
    let (status, body) = post(
        &emulator,
        &token,
        "/api/v4/calls",
        json!([call("647460197", "fine"), bad_status, missing, bad_user]),
    )
    .await;
    assert_eq!(status, 400);
    assert_eq!(body["title"], "Bad Request");
    assert_eq!(body["type"], "https://httpstatus.es/400");
    assert_eq!(body["detail"], "Request validation failed");
    let items = body["validation-errors"].as_array().unwrap();
    assert_eq!(items.len(), 3);
    assert_eq!(items[0]["request_id"], "1");
    assert_eq!(items[0]["errors"][0]["code"], "NotSupportedChoice");
    assert_eq!(items[0]["errors"][0]["path"], "call_status");
    let paths: Vec<&str> = items[1]["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["path"].as_str().unwrap())
        .collect();
    assert!(
        paths.contains(&"direction") && paths.contains(&"source") && paths.contains(&"duration")
    );
    let paths: Vec<&str> = items[2]["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["path"].as_str().unwrap())
        .collect();
    assert_eq!(paths, ["link", "responsible_user_id"]);
    assert!(emulator.calls().is_empty(), "nothing applied");
    let mut good_user = call("647460197", "d");
    good_user["responsible_user_id"] = json!(d.ana);
    let (status, _) = post(&emulator, &token, "/api/v4/calls", json!([good_user])).await;
    assert_eq!(status, 200);
    assert_eq!(emulator.calls()[0].responsible_user_id, Some(d.ana));
}

#[tokio::test]
async fn same_uniq_twice_makes_two_calls() {
    let (emulator, _, token) = demo().await;
    for _ in 0..2 {
        let (status, _) = post(
            &emulator,
            &token,
            "/api/v4/calls",
            json!([call("+34 91 123 45 67", "dup")]),
        )
        .await;
        assert_eq!(status, 200);
    }
    let calls = emulator.calls();
    assert_eq!(calls.len(), 2);
    assert!(calls.iter().all(|c| c.uniq.as_deref() == Some("dup")));
    assert_ne!(calls[0].note_id, calls[1].note_id);
}

#[tokio::test]
async fn notes_filter_by_type_and_updated_at() {
    let (emulator, d, token) = demo().await;
    let (status, _) = get(
        &emulator,
        &token,
        "/api/v4/leads/notes?filter[note_type][]=call_in",
    )
    .await;
    assert_eq!(status, 204);
    post(
        &emulator,
        &token,
        "/api/v4/calls",
        json!([call("+34911234567", "n1")]),
    )
    .await;
    let (_, body) = get(&emulator, &token, "/api/v4/account").await;
    assert!(body["id"].is_u64());
    emulator.advance(Duration::from_secs(3600));
    let now_ish = emulator.calls()[0].created_at; // 1_750_000_000, sent by the client
    assert_eq!(now_ish, 1_750_000_000);
    post(
        &emulator,
        &token,
        "/api/v4/calls",
        json!([call("+34911234567", "n2")]),
    )
    .await;
    let (status, body) = get(
        &emulator,
        &token,
        "/api/v4/leads/notes?filter[note_type][]=call_in&filter[note_type][]=call_out",
    )
    .await;
    assert_eq!(status, 200);
    let notes = body["_embedded"]["notes"].as_array().unwrap().clone();
    assert_eq!(notes.len(), 2);
    assert!(notes.iter().all(|n| n["entity_id"] == d.javier_lead));
    let second_updated = notes[1]["updated_at"].as_u64().unwrap();
    let path = format!(
        "/api/v4/leads/notes?filter[note_type][]=call_in&filter[updated_at][from]={}",
        second_updated - 60
    );
    let (_, body) = get(&emulator, &token, &path).await;
    let found = body["_embedded"]["notes"].as_array().unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!(found[0]["params"]["uniq"], "n2");
    let (status, _) = get(
        &emulator,
        &token,
        "/api/v4/contacts/notes?filter[note_type][]=call_in",
    )
    .await;
    assert_eq!(status, 204, "the notes are on the lead");
    let (_, body) = get(
        &emulator,
        &token,
        "/api/v4/leads/notes?filter[note_type][]=call_in&limit=1&page=2",
    )
    .await;
    assert_eq!(body["_embedded"]["notes"][0]["params"]["uniq"], "n2");
}
