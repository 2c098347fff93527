//! A hub with Bitrix24 (the emulated portal, a local application with
//! OAuth): a user clicks a number in Bitrix24 → `ONEXTERNALCALLSTART` →
//! Gamma dials the user's extension; the call Bitrix24 already registered is
//! the one finished (never registered twice); a wrong application token is
//! refused.

use std::time::Duration;

use ringside_bitrix24::{BitrixAuth, BitrixSettings, MemoryTokenStore};
use ringside_bitrix24_emulator::{BitrixEmulator, EmulatorConfig};
use ringside_core::Sensitive;
use ringside_crm::CrmSettings;
use ringside_hub::crms::CrmSpec;
use ringside_hub::embedded::{self, EmbeddedOptions};

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
async fn bitrix_click_to_call_dials_and_finishes_the_registered_call() {
    let bitrix = BitrixEmulator::start(EmulatorConfig::default())
        .await
        .unwrap();
    let ids = bitrix.seed_demo();
    let config = bitrix.config();
    let dir = tempfile::tempdir().unwrap();
    let mut options = EmbeddedOptions::demo(dir.path().to_path_buf(), false, 40.0);
    let mut settings = BitrixSettings::new(BitrixAuth::OAuth {
        portal_url: bitrix.base_url(),
        client_id: config.client_id.clone(),
        client_secret: Sensitive::new(config.client_secret.clone()),
        refresh_token: Sensitive::new(bitrix.add_refresh_token()),
        store: MemoryTokenStore::new(),
    });
    settings.crm_create = true;
    options.crms = vec![CrmSpec::Bitrix {
        settings,
        crm: CrmSettings {
            discover_users: true,
            delivery: ringside_crm::DeliverySettings {
                wrap_up_seconds: 0,
                ..Default::default()
            },
            ..CrmSettings::default()
        },
        application_token: Some(Sensitive::new(config.application_token.clone())),
    }];
    let hub = embedded::start(options).await.unwrap();
    let crm = hub.state.crms.get("bitrix24").unwrap().clone();
    // Users come from user.get (UF_PHONE_INNER): Tony is on 203.
    let tony = ids.tony.to_string();
    assert!(
        wait_until(async || crm.directory().by_user_id(&tony).is_some()).await,
        "directory discovered"
    );

    let events = format!("{}/crm/bitrix24/events", hub.api_url);
    let (status, body, call_id) = bitrix
        .start_call_from_crm(&events, ids.tony, "+34 647 46 01 97")
        .await
        .unwrap();
    assert_eq!(status, 200, "{body}");
    let answer: serde_json::Value = serde_json::from_str(&body).unwrap();
    let ours = answer["call_id"]
        .as_str()
        .expect("a Ringside call")
        .to_string();
    let gamma = hub.emulator.clone().unwrap();
    let dial = gamma
        .wait_for_request("call", Duration::from_secs(5))
        .await
        .expect("Gamma got the call");
    assert_eq!(dial.body["extension"], "203");

    // The PBX reports the call; Tony hangs up; Bitrix24's own CALL_ID is finished.
    let engine = hub.engine.clone();
    let id = ringside_core::CallId(ours.clone());
    assert!(
        wait_until(async || engine
            .call(&id)
            .await
            .is_ok_and(|c| c.current_leg().is_some()))
        .await
    );
    engine.hang_up(&id).await.unwrap();
    assert!(
        wait_until(async || bitrix
            .calls()
            .iter()
            .any(|c| c.call_id == call_id && c.finished.is_some()))
        .await,
        "finished: {:#?}",
        bitrix.calls()
    );
    assert_eq!(bitrix.calls().len(), 1, "never registered a second time");
    let registers = bitrix
        .method_calls()
        .iter()
        .filter(|m| m.method == "telephony.externalcall.register")
        .count();
    assert_eq!(registers, 0, "Ringside never registered it: Bitrix24 had");

    // A forged event is refused and dials nothing.
    let before = gamma.requests().iter().filter(|r| r.path == "call").count();
    let forged = reqwest::Client::new()
        .post(&events)
        .form(&[
            ("event", "ONEXTERNALCALLSTART"),
            ("data[CALL_ID]", "externalCall.forged"),
            ("data[USER_ID]", tony.as_str()),
            ("data[PHONE_NUMBER]", "647460197"),
            ("auth[application_token]", "wrong"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), 401);
    assert_eq!(
        gamma.requests().iter().filter(|r| r.path == "call").count(),
        before
    );
    hub.shutdown().await;
}
