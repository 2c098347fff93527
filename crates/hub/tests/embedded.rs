//! `embedded::start`: a hub in-process for one agent, on the demo PBX and
//! on a (here: emulated) Gamma account.

use std::net::SocketAddr;
use std::time::Duration;

use ringside_core::{CallStatus, ErrorKind, Outcome, Sensitive};
use ringside_engine::CallFilter;
use ringside_gamma_emulator::scenario::ScenarioBuilder;
use ringside_gamma_emulator::{Emulator, EmulatorConfig};
use ringside_hub::embedded::{self, EmbeddedHub, EmbeddedOptions, EmbeddedPbx};

fn ring(call_id: &str, number: &str) -> ringside_gamma_emulator::Scenario {
    ScenarioBuilder::new(chrono::Utc::now().timestamp_millis()).incoming_missed(
        call_id,
        number,
        203,
        Duration::from_millis(10),
    )
}

async fn calls_of(hub: &EmbeddedHub) -> Vec<ringside_core::Call> {
    hub.engine
        .list_calls(CallFilter {
            extension: Some("203".into()),
            ..CallFilter::default()
        })
        .await
        .unwrap()
}

async fn get(hub_url: &str, path: &str, token: &str) -> (u16, serde_json::Value) {
    let response = reqwest::Client::new()
        .get(format!("{hub_url}{path}"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or_default())
}

#[tokio::test]
async fn demo_without_play_wires_emulator_webhook_and_engine() {
    let dir = tempfile::tempdir().unwrap();
    let hub = embedded::start(EmbeddedOptions::demo(dir.path().into(), false, 1.0))
        .await
        .unwrap();
    assert!(
        hub.api_url.starts_with("http://127.0.0.1:"),
        "{}",
        hub.api_url
    );
    let emulator = hub.emulator.clone().expect("demo has an emulator");
    // The real `configure` request registered the hub's webhook.
    let configure = emulator
        .requests()
        .into_iter()
        .find(|r| r.path == "configure")
        .expect("a configure request");
    assert_eq!(configure.status, 200);
    assert_eq!(emulator.callback().unwrap().url, hub.webhook_url);

    let (status, me) = get(&hub.api_url, "/api/v1/me", hub.token.expose()).await;
    assert_eq!(status, 200, "{me}");
    assert_eq!(me["extension"], "203");
    assert_eq!(me["name"], "Tony Manero");
    let (status, _) = get(&hub.api_url, "/api/v1/me", "wrong").await;
    assert_eq!(status, 401);
    let (_, contacts) = get(&hub.api_url, "/api/v1/contacts?q=lucia", hub.token.expose()).await;
    assert_eq!(contacts[0]["name"], "Lucía Fernández", "demo address book");

    // Nothing plays by itself.
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(calls_of(&hub).await.is_empty());

    let statuses = emulator
        .play(&ring("770001", "+34647460197"), 0.0)
        .await
        .unwrap();
    assert!(statuses.iter().all(|s| *s == 200), "{statuses:?}");
    let calls = calls_of(&hub).await;
    assert_eq!(calls.len(), 1);
    assert_eq!(calls[0].provider_call_id, "770001");
    assert_eq!(calls[0].outcome, Some(Outcome::Missed));
    let info = hub.engine.lookup("+34647460197").await.unwrap();
    assert_eq!(
        info.lookup.chosen_match().unwrap().contact.name,
        "Lucía Fernández"
    );

    drop(emulator);
    hub.shutdown().await;

    // The same data directory again: the journal kept the call, the demo
    // address book is not loaded twice.
    let hub = embedded::start(EmbeddedOptions::demo(dir.path().into(), false, 1.0))
        .await
        .unwrap();
    assert_eq!(calls_of(&hub).await.len(), 1);
    assert_eq!(hub.address_book.search("", 100).unwrap().len(), 13);
    hub.shutdown().await;
}

#[tokio::test]
async fn demo_with_play_loops_the_script_in_the_background() {
    let dir = tempfile::tempdir().unwrap();
    let hub = embedded::start(EmbeddedOptions::demo(dir.path().into(), true, 50.0))
        .await
        .unwrap();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let calls = calls_of(&hub).await;
        if calls.iter().any(|c| c.status == CallStatus::Ended) {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "no demo call ended: {calls:#?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    hub.shutdown().await;
}

#[tokio::test]
async fn gamma_mode_serves_the_webhook_apart_and_registers_it() {
    let dir = tempfile::tempdir().unwrap();
    let pbx = Emulator::start(EmulatorConfig::default()).await.unwrap();
    let secret = "gamma-mode-secret-0123456789";
    let options = EmbeddedOptions {
        crms: Vec::new(),
        demo_vtiger: false,
        data_dir: dir.path().into(),
        agent_name: "Tony Manero".into(),
        extension: "203".into(),
        plan: ringside_core::NumberPlan::default(),
        match_policy: ringside_core::MatchPolicy::First,
        pbx: EmbeddedPbx::Gamma {
            base_url: pbx.base_url(),
            api_key: Sensitive::new(pbx.api_key().to_string()),
            webhook_secret: Sensitive::new(secret.into()),
            webhook_listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            public_url: None,
            configure_on_start: true,
        },
    };
    let hub = embedded::start(options).await.unwrap();
    assert!(hub.emulator.is_none());
    assert!(hub.configure_error.is_none(), "{:?}", hub.configure_error);
    let target = pbx.callback().expect("the webhook was registered");
    assert_eq!(target.url, hub.webhook_url);
    assert!(
        !hub.webhook_url.starts_with(&hub.api_url),
        "a listener of its own"
    );
    assert!(
        target
            .headers
            .iter()
            .any(|(k, v)| k.eq_ignore_ascii_case("X-Ringside-Secret") && v == secret),
        "{:?}",
        target.headers
    );

    let statuses = pbx
        .play(&ring("770002", "+34911234567"), 0.0)
        .await
        .unwrap();
    assert!(statuses.iter().all(|s| *s == 200), "{statuses:?}");
    assert_eq!(calls_of(&hub).await.len(), 1);

    // The webhook listener serves nothing of the agent API.
    let webhook_base = hub.webhook_url.trim_end_matches("/webhooks/gamma");
    let (status, _) = get(webhook_base, "/api/v1/me", hub.token.expose()).await;
    assert_eq!(status, 404);
    let (status, health) = get(webhook_base, "/healthz", "").await;
    assert_eq!((status, health["status"].as_str()), (200, Some("ok")));
    hub.shutdown().await;
    pbx.shutdown().await;
}

#[tokio::test]
async fn gamma_mode_starts_even_when_the_pbx_refuses_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let pbx = Emulator::start(EmulatorConfig::default()).await.unwrap();
    let options = EmbeddedOptions {
        crms: Vec::new(),
        demo_vtiger: false,
        data_dir: dir.path().into(),
        agent_name: "Tony Manero".into(),
        extension: "203".into(),
        plan: ringside_core::NumberPlan::default(),
        match_policy: ringside_core::MatchPolicy::Ask,
        pbx: EmbeddedPbx::Gamma {
            base_url: pbx.base_url(),
            api_key: Sensitive::new("not-the-key".into()),
            webhook_secret: Sensitive::new("s3cret-s3cret".into()),
            webhook_listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            public_url: Some("https://desk.example/".into()),
            configure_on_start: true,
        },
    };
    let hub = embedded::start(options).await.unwrap();
    assert_eq!(hub.webhook_url, "https://desk.example/webhooks/gamma");
    let error = hub.configure_error.clone().expect("configure failed");
    assert_eq!(error.kind, ErrorKind::Unauthorized, "{error:?}");
    let (status, me) = get(&hub.api_url, "/api/v1/me", hub.token.expose()).await;
    assert_eq!(status, 200, "{me}");
    let (_, status) = get(&hub.api_url, "/api/v1/status", hub.token.expose()).await;
    assert_eq!(status["pbx"]["state"], "unauthorized", "{status}");
    hub.shutdown().await;
    pbx.shutdown().await;
}
