//! The legacy form-encoded calls/add: parsing, per-uuid results, the queue
//! and its 18 hours.

mod common;

use std::time::Duration;

use common::{client, legacy, legacy_call, parts, start};
use ringside_amocrm_emulator::{NewContact, Surface, Via};
use serde_json::json;

fn entry<'a>(
    uuid: &'a str,
    caller: &'a str,
    to: &'a str,
    kind: &'a str,
) -> Vec<(&'a str, &'a str)> {
    vec![
        ("uuid", uuid),
        ("caller", caller),
        ("to", to),
        ("date", "1414654739"),
        ("type", kind),
        ("billsec", "98"),
        ("link", "https://rec.test/1.mp3"),
        ("account_id", "31415926"),
    ]
}

#[tokio::test]
async fn vendor_example_shape_is_accepted_and_matched() {
    let emulator = start().await;
    let d = emulator.seed_demo();
    // Inbound: the customer is the caller. Outbound: the customer is `to`.
    let body = format!(
        "{}&{}",
        legacy_call(0, &entry("in-1", "34647460197", "117", "inbound")),
        legacy_call(1, &entry("out-1", "280", "+34911234567", "outbound")),
    );
    assert!(body.contains("request%5Badd%5D%5B0%5D%5Buuid%5D=in-1"));
    let (status, reply) = legacy(&emulator, "", &body).await;
    assert_eq!(status, 200, "{reply}");
    assert_eq!(
        reply,
        json!({"response": {"calls": {"add": {"success": ["in-1", "out-1"], "errors": []}}}})
    );
    let calls = emulator.calls();
    assert_eq!(calls.len(), 2);
    assert_eq!(calls[0].via, Via::Legacy);
    assert_eq!(calls[0].uniq.as_deref(), Some("in-1"));
    assert_eq!(calls[0].phone, "34647460197");
    assert_eq!(calls[0].agent_number.as_deref(), Some("117"));
    assert_eq!(calls[0].entity_type.as_deref(), Some("contacts"));
    assert_eq!(calls[0].entity_id, Some(d.lucia));
    assert_eq!(calls[0].duration, 98);
    assert_eq!(calls[0].created_at, 1_414_654_739);
    assert_eq!(calls[0].source, "ringside_pbx");
    assert_eq!(calls[1].direction, "outbound");
    assert_eq!(
        calls[1].entity_id,
        Some(d.javier),
        "legacy notes go on the contact card"
    );
    let recorded = emulator.requests().last().unwrap().clone();
    assert_eq!(recorded.surface, Surface::Legacy);
    assert_eq!(recorded.form.len(), 16);
}

#[tokio::test]
async fn account_id_in_the_query_and_per_uuid_errors() {
    let emulator = start().await;
    emulator.seed_demo();
    let mut no_account = entry("q-1", "34647460197", "117", "inbound");
    no_account.retain(|(k, _)| *k != "account_id");
    let (status, reply) = legacy(
        &emulator,
        "&account_id=31415926",
        &legacy_call(0, &no_account),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(reply["response"]["calls"]["add"]["success"], json!(["q-1"]));
    let (_, reply) = legacy(
        &emulator,
        "",
        &legacy_call(0, &entry("q-2", "34647460197", "117", "sideways")),
    )
    .await;
    let add = &reply["response"]["calls"]["add"];
    assert_eq!(add["success"], json!([]));
    assert_eq!(
        add["errors"]["q-2"],
        json!(["type must be inbound or outbound"])
    );
    let mut broken = entry("q-3", "abc", "117", "inbound");
    broken.retain(|(k, _)| *k != "billsec" && *k != "account_id");
    let dup = entry("q-1", "34647460197", "117", "inbound");
    let body = format!("{}&{}", legacy_call(0, &broken), legacy_call(1, &dup));
    let (status, reply) = legacy(&emulator, "", &body).await;
    assert_eq!(status, 200);
    let errors = &reply["response"]["calls"]["add"]["errors"];
    assert_eq!(
        errors["q-3"],
        json!([
            "account_id is required",
            "caller must be a number",
            "billsec is required"
        ])
    );
    assert_eq!(errors["q-1"], json!(["duplicate uuid"]));
    let mut nameless = entry("", "34647460197", "117", "inbound");
    nameless.retain(|(k, _)| *k != "uuid");
    let (_, reply) = legacy(&emulator, "", &legacy_call(7, &nameless)).await;
    assert_eq!(
        reply["response"]["calls"]["add"]["errors"]["7"],
        json!(["uuid is required"])
    );
    assert_eq!(emulator.calls().len(), 1);
}

#[tokio::test]
async fn wrong_credentials_and_json_bodies_are_refused() {
    let emulator = start().await;
    let form = legacy_call(0, &entry("c-1", "34647460197", "117", "inbound"));
    let response = client()
        .post(format!(
            "{}/api/calls/add/?code=ringside_pbx&key=wrong",
            emulator.base_url()
        ))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(form.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 401);
    let c = emulator.config();
    let response = client()
        .post(format!("{}/api/calls/add/?code={}&key={}", emulator.base_url(), c.legacy_code, c.legacy_key))
        .json(&json!({"request": {"add": [{"uuid": "j", "caller": "1", "to": "2", "date": 1, "type": "inbound", "billsec": 1, "account_id": "31415926"}]}}))
        .send()
        .await
        .unwrap();
    let (status, body) = parts(response).await;
    assert_eq!(status, 400);
    assert!(
        body["response"]["error"]
            .as_str()
            .unwrap()
            .contains("form-encoded")
    );
    let (status, _) = legacy(&emulator, "", "foo=bar").await;
    assert_eq!(status, 400);
    assert!(emulator.calls().is_empty() && emulator.queued_legacy().is_empty());
}

#[tokio::test]
async fn unknown_numbers_queue_until_a_contact_appears() {
    let emulator = start().await;
    emulator.seed_demo();
    let (_, reply) = legacy(
        &emulator,
        "",
        &legacy_call(0, &entry("w-1", "+34655000111", "117", "inbound")),
    )
    .await;
    assert_eq!(reply["response"]["calls"]["add"]["success"], json!(["w-1"]));
    assert!(emulator.calls().is_empty());
    let queued = emulator.queued_legacy();
    assert_eq!(queued.len(), 1);
    assert_eq!(queued[0].entity_type, None);
    assert_eq!(queued[0].uniq.as_deref(), Some("w-1"));
    emulator.advance(Duration::from_secs(17 * 3600));
    let waiter = emulator.clone();
    let wait = tokio::spawn(async move { waiter.wait_for_calls(1, Duration::from_secs(5)).await });
    let id = emulator.add_contact(NewContact {
        name: "Cliente Nuevo".into(),
        phones: vec![("655000111".into(), "MOBILE".into())],
        ..NewContact::default()
    });
    assert!(wait.await.unwrap());
    assert!(emulator.queued_legacy().is_empty());
    let calls = emulator.calls();
    assert_eq!(calls[0].entity_id, Some(id));
    assert_eq!(calls[0].via, Via::Legacy);
    assert!(calls[0].note_id.is_some());
}

#[tokio::test]
async fn queued_calls_are_deleted_after_18_hours() {
    let emulator = start().await;
    let (_, reply) = legacy(
        &emulator,
        "",
        &legacy_call(0, &entry("z-1", "+34699000222", "117", "inbound")),
    )
    .await;
    assert_eq!(reply["response"]["calls"]["add"]["success"], json!(["z-1"]));
    emulator.advance(Duration::from_secs(18 * 3600 - 5));
    assert_eq!(emulator.queued_legacy().len(), 1);
    emulator.advance(Duration::from_secs(10));
    assert!(emulator.queued_legacy().is_empty());
    assert_eq!(emulator.dropped_legacy().len(), 1);
    emulator.add_contact(NewContact {
        name: "Too late".into(),
        phones: vec![("+34 699 000 222".into(), "WORK".into())],
        ..NewContact::default()
    });
    assert!(emulator.calls().is_empty());
    // The uuid is still known.
    let (_, reply) = legacy(
        &emulator,
        "",
        &legacy_call(0, &entry("z-1", "+34699000222", "117", "inbound")),
    )
    .await;
    assert_eq!(
        reply["response"]["calls"]["add"]["errors"]["z-1"],
        json!(["duplicate uuid"])
    );
}
