//! A hub with Vtiger enabled (the emulated one of the demo): the pop's
//! lookup comes from Vtiger, every call reaches Vtiger's Phone Calls once,
//! the agent API shows the outbox, and Vtiger's own click-to-call dials
//! through Gamma.

use std::time::Duration;

use ringside_client::HubClient;
use ringside_hub::embedded::{self, EmbeddedHub, EmbeddedOptions, play_demo_script};

async fn vtiger_demo_hub(dir: &tempfile::TempDir) -> EmbeddedHub {
    let mut options = EmbeddedOptions::demo(dir.path().to_path_buf(), false, 40.0);
    options.demo_vtiger = true;
    embedded::start(options).await.expect("hub starts")
}

async fn wait_until(mut done: impl AsyncFnMut() -> bool) -> bool {
    for _ in 0..300 {
        if done().await {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    false
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_pop_shows_vtiger_and_every_call_reaches_vtiger_once() {
    let dir = tempfile::tempdir().unwrap();
    let hub = vtiger_demo_hub(&dir).await;
    let client = HubClient::new(&hub.api_url, hub.token.clone()).unwrap();
    let vtiger = hub.vtiger.clone().unwrap();

    // Who is calling: Lucía from Vtiger, with her two open Potentials only.
    let info = client.lookup("+34647460197").await.unwrap();
    let m = info.lookup.chosen_match().expect("one match");
    assert_eq!(m.contact.name, "Lucía Fernández");
    assert_eq!(m.contact.source.system, "vtiger");
    assert!(
        m.contact
            .source
            .url
            .as_deref()
            .unwrap()
            .contains("module=Contacts")
    );
    assert_eq!(
        m.contact.company.as_ref().map(|c| c.name.as_str()),
        Some("Fernández Interiorismo SL")
    );
    let mut deals: Vec<_> = m.deals.iter().map(|d| d.name.as_str()).collect();
    deals.sort();
    assert_eq!(
        deals,
        ["Mobiliario sala de juntas", "Reforma oficina Valencia"]
    );

    // One loop of the demo script; then everything is in Vtiger.
    let emulator = hub.emulator.clone().unwrap();
    play_demo_script(&emulator, 40.0, true).await.unwrap();
    let drained = wait_until(async || {
        let crms = client.crms().await.unwrap();
        crms[0].pending == 0 && crms[0].delivered > 0
    })
    .await;
    let crms = client.crms().await.unwrap();
    assert!(drained, "{crms:?}");
    assert_eq!(crms[0].id, "vtiger");
    assert_eq!(crms[0].parked, 0, "{crms:?}");
    assert!(
        crms[0]
            .capabilities
            .contains(&"live_call_events".to_string())
    );

    let lucia = hub
        .engine
        .list_calls(Default::default())
        .await
        .unwrap()
        .into_iter()
        .find(|c| c.remote_number == "+34647460197" && c.involves("203"))
        .expect("Lucía's call");
    let events: Vec<_> = vtiger
        .gateway_events()
        .into_iter()
        .filter(|e| e.call_id == lucia.id.0)
        .collect();
    let names: Vec<_> = events.iter().map(|e| e.event.as_str()).collect();
    let expected_tail = if names.last() == Some(&"call_recording") {
        vec![
            "call_initiated",
            "call_connected",
            "call_hangup",
            "call_recording",
        ]
    } else {
        vec!["call_initiated", "call_connected", "call_hangup"]
    };
    assert_eq!(names, expected_tail, "{events:#?}");
    let initiated = &events[0].params;
    assert_eq!(
        initiated.get("direction").map(String::as_str),
        Some("inbound")
    );
    assert_eq!(
        initiated.get("from").map(String::as_str),
        Some("+34647460197")
    );
    assert_eq!(initiated.get("to").map(String::as_str), Some("203"));
    let hangup = &events[2].params;
    assert_eq!(
        hangup.get("hangup_reason").map(String::as_str),
        Some("completed")
    );
    assert_eq!(
        hangup.get("billduration").map(String::as_str),
        Some(lucia.talk_seconds.to_string().as_str())
    );
    let record = vtiger
        .phone_call(&lucia.id.0)
        .expect("a Phone Calls record");
    assert_eq!(record.callstatus, "completed");
    assert_eq!(record.duplicates, 0);
    assert!(
        record.recordingurl.is_some(),
        "the recording reached Vtiger"
    );
    for pc in vtiger.phone_calls() {
        assert_eq!(pc.duplicates, 0, "{pc:?}");
    }

    // "Open in CRM" for any number: Vtiger's search-by-number link.
    let links = client.crm_links("+34 647 46 01 97").await.unwrap();
    assert_eq!(links.len(), 1);
    assert!(
        links[0]
            .url
            .ends_with("/modules/PhoneCalls/callbacks/Search.php?phone_number=34647460197"),
        "{links:?}"
    );
    hub.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn vtiger_click_to_call_dials_through_gamma() {
    let dir = tempfile::tempdir().unwrap();
    let hub = vtiger_demo_hub(&dir).await;
    let vtiger = hub.vtiger.clone().unwrap();
    let crm = hub.state.crms.get("vtiger").unwrap().clone();
    // The directory is discovered from Vtiger's Users (Office Phone = extension).
    let found = wait_until(async || crm.directory().by_phone("203").is_some()).await;
    assert!(found, "Tony (203) discovered");
    let tony = crm.directory().by_phone("203").unwrap();
    let tony_id = tony.user_id.clone().unwrap();
    assert_eq!(tony.extension, "203");

    let (status, body) = vtiger
        .click_to_call(&tony_id, "647 46 01 97")
        .await
        .unwrap();
    assert_eq!(status, 201, "{body}");
    assert!(body.contains("\"extension\":\"203\""), "{body}");
    let emulator = hub.emulator.clone().unwrap();
    let call = emulator
        .wait_for_request("call", Duration::from_secs(5))
        .await
        .expect("Gamma got a call request");
    assert_eq!(call.body["extension"], "203");
    let dial_string = ringside_core::NumberPlan::default()
        .dial_string("647 46 01 97")
        .unwrap();
    assert_eq!(call.body["destination"], dial_string.as_str());

    // Wrong token or unknown user: refused, nothing dialed.
    let url = format!("{}/crm/vtiger/click-to-call", hub.api_url);
    let http = reqwest::Client::new();
    let before = emulator
        .requests()
        .iter()
        .filter(|r| r.path == "call")
        .count();
    let bad = http
        .post(&url)
        .form(&[
            ("number", "647460197"),
            ("user", tony_id.as_str()),
            ("token", "nope"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 401);
    let body: serde_json::Value = bad.json().await.unwrap();
    assert_eq!(body["code"], "unauthorized");
    let get = http.get(&url).send().await.unwrap();
    assert_eq!(get.status(), 405, "only the configured method");
    assert_eq!(
        emulator
            .requests()
            .iter()
            .filter(|r| r.path == "call")
            .count(),
        before
    );
    hub.shutdown().await;
}
