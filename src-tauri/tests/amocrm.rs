//! amoCRM from the desktop, end to end: an embedded-mode connection (PBX:
//! the Gamma emulator) with amoCRM (the amoCRM emulator with the demo data)
//! whose lookups come from amo — first with a long-lived token, then with
//! OAuth, where every rotated (single-use) refresh token amo issues is
//! written back to the real keyring and survives a reconnect.
//!
//! Needs a Secret Service: without one (and without
//! `RINGSIDE_REQUIRE_SECRET_SERVICE`) the test says so and passes;
//! `scripts/test.sh` runs it inside a private session bus with an unlocked
//! gnome-keyring.

use std::time::{Duration, Instant};

use ringside_amocrm_emulator::{AmoEmulator, EmulatorConfig};
use ringside_core::Sensitive;
use ringside_desktop::models::{
    AmoAuthMode, AmoDesktop, AmoUnknownNumber, Mode, SecretName, Settings,
};
use ringside_desktop::secrets::Secrets;
use ringside_desktop::{AppState, Options, app_builder};
use serde_json::{Value, json};
use tauri::test::{
    INVOKE_KEY, MockRuntime, get_ipc_response, mock_builder, mock_context, noop_assets,
};
use tauri::{Manager, WebviewWindow, WebviewWindowBuilder};

fn invoke(w: &WebviewWindow<MockRuntime>, cmd: &str, args: Value) -> Result<Value, Value> {
    get_ipc_response(
        w,
        tauri::webview::InvokeRequest {
            cmd: cmd.into(),
            callback: tauri::ipc::CallbackFn(0),
            error: tauri::ipc::CallbackFn(1),
            url: "tauri://localhost".parse().unwrap(),
            body: tauri::ipc::InvokeBody::Json(args),
            headers: Default::default(),
            invoke_key: INVOKE_KEY.to_string(),
        },
    )
    .map(|b| b.deserialize::<Value>().unwrap())
}

fn ok(w: &WebviewWindow<MockRuntime>, cmd: &str, args: Value) -> Value {
    invoke(w, cmd, args).unwrap_or_else(|e| panic!("{cmd} failed: {e}"))
}

/// Poll `f` until it gives something.
fn wait<T>(what: &str, timeout: Duration, mut f: impl FnMut() -> Option<T>) -> T {
    let start = Instant::now();
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(start.elapsed() < timeout, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The amoCRM entry of `crm_states`, once the connection has one.
fn amo_state(main: &WebviewWindow<MockRuntime>) -> Value {
    wait("amocrm in crm_states", Duration::from_secs(30), || {
        invoke(main, "crm_states", json!({})).ok().and_then(|s| {
            s.as_array()
                .unwrap()
                .iter()
                .find(|c| c["id"] == "amocrm")
                .cloned()
        })
    })
}

/// Lucía's number: she comes from amoCRM with her two open deals.
fn assert_lucia_from_amo(main: &WebviewWindow<MockRuntime>) {
    let info = ok(main, "lookup", json!({"number": "+34647460197"}));
    let chosen = info["lookup"]["chosen"].as_u64().expect("one match chosen") as usize;
    let m = &info["lookup"]["matches"][chosen];
    assert_eq!(m["contact"]["name"], "Lucía Fernández", "{info:#}");
    assert_eq!(m["contact"]["source"]["system"], "amocrm", "{m:#}");
    let mut deals: Vec<_> = m["deals"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["name"].as_str().unwrap())
        .collect();
    deals.sort();
    assert_eq!(
        deals,
        ["Mobiliario sala de juntas", "Reforma oficina Valencia"],
        "{m:#}"
    );
}

#[test]
fn embedded_mode_pops_from_amocrm_with_a_long_lived_token_then_oauth() {
    let required = std::env::var_os("RINGSIDE_REQUIRE_SECRET_SERVICE").is_some();
    let secrets = Secrets::new(format!("ringside-test-amocrm-e2e-{}", std::process::id()));
    let secret = |name, value: &str| {
        tauri::async_runtime::block_on(secrets.set(name, Sensitive::new(value.to_string())))
    };
    let keyring = |name| {
        tauri::async_runtime::block_on(secrets.get(name))
            .unwrap()
            .map(|v| v.expose().clone())
    };
    if let Err(e) = secret(SecretName::WebhookSecret, "amocrm-e2e-webhook-secret") {
        assert!(
            !required,
            "RINGSIDE_REQUIRE_SECRET_SERVICE is set but: {e:?}"
        );
        assert_eq!(e.code, "keyring_unavailable", "{e:?}");
        eprintln!("skipped: no OS keyring ({})", e.message);
        return;
    }
    for name in [
        SecretName::AmocrmToken,
        SecretName::AmocrmClientSecret,
        SecretName::AmocrmRefreshToken,
    ] {
        secret(name, "").unwrap();
    }

    // amoCRM with the demo data; a Gamma PBX.
    let amo =
        tauri::async_runtime::block_on(AmoEmulator::start(EmulatorConfig::default())).unwrap();
    amo.seed_demo();
    let config = amo.config();
    let pbx = tauri::async_runtime::block_on(ringside_gamma_emulator::Emulator::start(
        Default::default(),
    ))
    .unwrap();
    secret(SecretName::PbxApiKey, pbx.api_key()).unwrap();

    let dir = tempfile::tempdir().unwrap();
    let mut settings = Settings {
        mode: Mode::Embedded,
        ..Settings::default()
    };
    settings.pbx.base_url = pbx.base_url();
    settings.pbx.agent_name = "Tony Manero".into();
    settings.pbx.extension = "203".into();
    settings.pbx.webhook_listen = "127.0.0.1:0".into();
    settings.crm.amocrm = Some(AmoDesktop {
        enabled: true,
        base_url: amo.base_url(),
        auth: AmoAuthMode::LongLived,
        client_id: None,
        redirect_uri: None,
        email: "tony@ringside.test".into(),
        unknown_number: AmoUnknownNumber::Park,
    });
    let settings = ringside_desktop::settings::validate(settings).unwrap();
    let state = AppState::new(
        dir.path().join("settings.json"),
        settings.clone(),
        false,
        secrets.clone(),
        Options {
            demo_play: false,
            notifications: false,
            data_dir: Some(dir.path().join("embedded")),
            ..Options::default()
        },
    );
    let app = app_builder(mock_builder(), state)
        .build(mock_context(noop_assets()))
        .unwrap();
    let main = WebviewWindowBuilder::new(&app, "main", Default::default())
        .build()
        .unwrap();
    app.state::<AppState>().backend.restart(app.handle());

    // amoCRM on without its token: the connection names the missing secret.
    wait("the missing-token message", Duration::from_secs(30), || {
        let s = ok(&main, "app_state", json!({}));
        s["status"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("amoCRM long-lived token") && m.contains("amocrm-token"))
            .then_some(())
    });

    // The token through the app's own path: stored, and the app reconnects.
    let token = config.long_lived_token.clone().unwrap();
    ok(
        &main,
        "set_secret",
        json!({"name": "amocrm-token", "value": token}),
    );
    assert_eq!(
        keyring(SecretName::AmocrmToken).as_deref(),
        Some(token.as_str())
    );
    wait("connected", Duration::from_secs(30), || {
        let s = ok(&main, "app_state", json!({}));
        (s["status"]["state"] == "connected" && s["agent"].is_object()).then_some(())
    });
    let state = amo_state(&main);
    let capabilities: Vec<&str> = state["capabilities"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap())
        .collect();
    assert!(capabilities.contains(&"log_at_end"), "{state:#}");
    assert!(capabilities.contains(&"lookup_contact"), "{state:#}");
    assert!(!capabilities.contains(&"live_call_events"), "{state:#}");
    assert_lucia_from_amo(&main);
    let test = ok(&main, "test_connection", json!({"target": "amocrm"}));
    assert_eq!(test["ok"], true, "{test}");
    assert!(
        test["message"]
            .as_str()
            .unwrap()
            .starts_with("Connected to amocrm"),
        "{test}"
    );
    assert!(
        amo.requests()
            .iter()
            .filter(|r| r.path.starts_with("/api/v4/"))
            .all(|r| r.authorization.as_deref() == Some(&format!("Bearer {token}"))),
        "every API call carries the long-lived token"
    );
    assert_eq!(amo.refreshes(), 0);

    // OAuth: the client secret and a first refresh token typed in (no
    // reconnect while amo still uses the long-lived token), then the settings.
    let first = amo.add_refresh_token();
    ok(
        &main,
        "set_secret",
        json!({"name": "amocrm-client-secret", "value": config.client_secret}),
    );
    ok(
        &main,
        "set_secret",
        json!({"name": "amocrm-refresh-token", "value": first}),
    );
    let mut oauth = settings.clone();
    let a = oauth.crm.amocrm.as_mut().unwrap();
    a.auth = AmoAuthMode::OAuth;
    a.client_id = Some(config.client_id.clone());
    a.redirect_uri = Some(config.redirect_uri.clone());
    let saved = ok(&main, "save_settings", json!({"settings": oauth}));
    assert_eq!(saved["crm"]["amocrm"]["auth"], "oauth", "{saved:#}");

    // The new connection spends the first refresh token; amo's new one is in
    // the keyring before it is used.
    let rotated = wait("the rotated refresh token", Duration::from_secs(30), || {
        keyring(SecretName::AmocrmRefreshToken).filter(|t| *t != first)
    });
    assert!(amo.refreshes() >= 1);
    wait("connected with OAuth", Duration::from_secs(30), || {
        let s = ok(&main, "app_state", json!({}));
        (s["status"]["state"] == "connected").then_some(())
    });
    amo_state(&main);
    assert_lucia_from_amo(&main);
    let test = ok(&main, "test_connection", json!({"target": "amocrm"}));
    assert_eq!(test["ok"], true, "{test}");

    // A reconnect starts from the stored token (the first one is spent: amo
    // would refuse it) and rotates it again.
    let before = amo.refreshes();
    app.state::<AppState>().backend.restart(app.handle());
    let again = wait(
        "the refresh token rotated again",
        Duration::from_secs(30),
        || keyring(SecretName::AmocrmRefreshToken).filter(|t| *t != rotated),
    );
    assert_ne!(again, first);
    assert!(amo.refreshes() > before);
    wait(
        "connected after the reconnect",
        Duration::from_secs(30),
        || {
            let s = ok(&main, "app_state", json!({}));
            (s["status"]["state"] == "connected").then_some(())
        },
    );
    assert_lucia_from_amo(&main);

    tauri::async_runtime::block_on(app.state::<AppState>().backend.stop());
    for name in [
        SecretName::PbxApiKey,
        SecretName::WebhookSecret,
        SecretName::AmocrmToken,
        SecretName::AmocrmClientSecret,
        SecretName::AmocrmRefreshToken,
    ] {
        secret(name, "").unwrap();
    }
}
