//! A hub with Zoho (the emulated accounts server + PhoneBridge): first-time
//! authorisation through the loopback redirect, PhoneBridge setup at start,
//! Zoho's click-to-call and hang-up dialing through Gamma, and the pop's
//! lookup from Zoho.

use std::time::Duration;

use ringside_client::HubClient;
use ringside_core::Sensitive;
use ringside_crm::{CrmSettings, CrmUser};
use ringside_hub::crms::{CrmSpec, ZohoClickToCall};
use ringside_hub::embedded::{self, EmbeddedOptions};
use ringside_zoho::{ZohoCrm, ZohoSettings};
use ringside_zoho_emulator::{EmulatorConfig, ZohoEmulator};

async fn wait_until(mut done: impl AsyncFnMut() -> bool) -> bool {
    for _ in 0..300 {
        if done().await {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    false
}

/// A browser: follows the consent page's redirect to our loopback listener.
fn browse(url: String) {
    tokio::spawn(async move {
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        let consent = http.get(&url).send().await.unwrap();
        assert_eq!(consent.status(), 302);
        let back = consent.headers()["location"].to_str().unwrap().to_string();
        let page = http.get(&back).send().await.unwrap();
        assert_eq!(page.status(), 200);
        assert!(page.text().await.unwrap().contains("close this tab"));
    });
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connect_gets_a_refresh_token_through_the_loopback_redirect() {
    let zoho = ZohoEmulator::start(EmulatorConfig::default())
        .await
        .unwrap();
    zoho.seed_demo();
    zoho.set_integrated(true);
    let config = zoho.config();
    let secret = Sensitive::new(config.client_secret.clone());
    let token = ringside_hub::zoho::connect(
        &zoho.accounts_url(),
        &config.client_id,
        &secret,
        "127.0.0.1:0".parse().unwrap(),
        |start| {
            assert!(start.redirect_uri.starts_with("http://127.0.0.1:"));
            assert!(start.authorize_url.contains("access_type=offline"));
            browse(start.authorize_url);
        },
    )
    .await
    .expect("connected");
    // The token works: the adapter can use PhoneBridge with it.
    let crm = ZohoCrm::new(
        ZohoSettings::new(
            zoho.accounts_url(),
            config.client_id,
            config.client_secret,
            token.expose().clone(),
        ),
        ringside_crm::Throttle::new(&Default::default()),
    )
    .unwrap();
    let users = crm.users().await.unwrap();
    assert_eq!(users.len(), 3);

    // A redirect with someone else's state is refused.
    let err = ringside_hub::zoho::connect(
        &zoho.accounts_url(),
        &zoho.config().client_id,
        &secret,
        "127.0.0.1:0".parse().unwrap(),
        |start| {
            let (before, after) = start.authorize_url.split_once("state=").unwrap();
            let rest = after.split_once('&').map(|(_, r)| r).unwrap_or("");
            browse(format!("{before}state=forged&{rest}"));
        },
    )
    .await
    .unwrap_err();
    assert_eq!(err.kind, ringside_core::ErrorKind::Invalid, "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn zoho_click_to_call_and_hang_up_go_through_gamma() {
    let zoho = ZohoEmulator::start(EmulatorConfig::default())
        .await
        .unwrap();
    let ids = zoho.seed_demo();
    let config = zoho.config();
    let dir = tempfile::tempdir().unwrap();
    let mut options = EmbeddedOptions::demo(dir.path().to_path_buf(), false, 40.0);
    let token = Sensitive::new("zoho-to-hub-token".to_string());
    options.crms = vec![CrmSpec::Zoho {
        settings: ZohoSettings::new(
            zoho.accounts_url(),
            config.client_id.clone(),
            config.client_secret.clone(),
            zoho.add_refresh_token(),
        ),
        crm: CrmSettings {
            users: vec![CrmUser {
                extension: "203".into(),
                user_id: None,
                name: None,
                phone: None,
                email: Some("tony@ringside.test".into()),
            }],
            discover_users: true,
            ..CrmSettings::default()
        },
        click_to_call: Some(ZohoClickToCall {
            auth_name: "X-Ringside-Zoho-Token".into(),
            token: token.clone(),
            register_at: None,
        }),
    }];
    let hub = embedded::start(options).await.unwrap();

    // At start the hub enabled PhoneBridge and registered its URLs.
    assert!(wait_until(async || zoho.click_to_call_registration().is_some()).await);
    assert!(zoho.integrated());
    let registration = zoho.click_to_call_registration().unwrap();
    assert_eq!(
        registration.clicktocallurl.as_deref(),
        Some(format!("{}/crm/zoho/click-to-call", hub.api_url).as_str())
    );
    assert_eq!(
        registration.hungupurl.as_deref(),
        Some(format!("{}/crm/zoho/call-control/hungup", hub.api_url).as_str())
    );
    assert_eq!(
        registration.authorization,
        Some(("X-Ringside-Zoho-Token".into(), token.expose().clone()))
    );
    assert_eq!(
        registration.userids,
        vec![ids.tony.clone()],
        "Tony found by e-mail"
    );

    // Who is calling: Lucía from Zoho with her open Potentials.
    let client = HubClient::new(&hub.api_url, hub.token.clone()).unwrap();
    let info = client.lookup("+34647460197").await.unwrap();
    // (The demo address book has her too: the agent is asked which one.)
    let m = info
        .lookup
        .matches
        .iter()
        .find(|m| m.contact.source.system == "zoho")
        .expect("Lucía from Zoho");
    assert_eq!(m.contact.name, "Lucía Fernández");
    assert_eq!(m.deals.len(), 2, "{:?}", m.deals);

    // Tony clicks Lucía's number in Zoho.
    let (status, body) = zoho.click_to_call(&ids.tony, "647 46 01 97").await.unwrap();
    assert_eq!(status, 201, "{body}");
    let dialed: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(dialed["extension"], "203");
    let call_id = dialed["call_id"].as_str().unwrap().to_string();
    let gamma = hub.emulator.clone().unwrap();
    let call = gamma
        .wait_for_request("call", Duration::from_secs(5))
        .await
        .expect("Gamma got the call");
    assert_eq!(call.body["extension"], "203");

    // The PBX reports the call; then Tony hangs up from Zoho.
    let engine = hub.engine.clone();
    let id = ringside_core::CallId(call_id.clone());
    assert!(
        wait_until(async || engine
            .call(&id)
            .await
            .is_ok_and(|c| c.current_leg().is_some()))
        .await,
        "the PBX reported the call"
    );
    let (status, body) = zoho
        .call_control("hungup", &call_id, &ids.tony)
        .await
        .unwrap();
    assert_eq!(status, 200, "{body}");
    assert!(
        gamma
            .wait_for_request("drop", Duration::from_secs(5))
            .await
            .is_some(),
        "Gamma got the drop"
    );

    // Without the token, nothing happens.
    let http = reqwest::Client::new();
    let refused = http
        .post(format!("{}/crm/zoho/click-to-call", hub.api_url))
        .form(&[("tonumber", "647460197"), ("userid", ids.tony.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 401);
    let unsupported = http
        .post(format!("{}/crm/zoho/call-control/hold", hub.api_url))
        .header("X-Ringside-Zoho-Token", token.expose())
        .form(&[("callrefid", call_id.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(unsupported.status(), 501);
    hub.shutdown().await;
}
