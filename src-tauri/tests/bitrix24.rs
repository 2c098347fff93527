//! Bitrix24 from the desktop, end to end: an embedded-mode connection (PBX:
//! the Gamma emulator) with Bitrix24 (the Bitrix24 emulator with the demo
//! data) signed in as a local application (OAuth), whose lookups come from
//! the portal; every rotated refresh token Bitrix24 issues is written back to
//! the real keyring and survives a reconnect.
//!
//! Needs a Secret Service: without one (and without
//! `RINGSIDE_REQUIRE_SECRET_SERVICE`) the test says so and passes;
//! `scripts/test.sh` runs it inside a private session bus with an unlocked
//! gnome-keyring.

use std::time::{Duration, Instant};

use ringside_bitrix24_emulator::{BitrixEmulator, EmulatorConfig};
use ringside_core::Sensitive;
use ringside_desktop::models::{
    BitrixAuthMode, BitrixDesktop, BitrixPlan, Mode, SecretName, Settings,
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

/// The Bitrix24 entry of `crm_states`, once the connection has one.
fn bitrix_state(main: &WebviewWindow<MockRuntime>) -> Value {
    wait("bitrix24 in crm_states", Duration::from_secs(30), || {
        invoke(main, "crm_states", json!({})).ok().and_then(|s| {
            s.as_array()
                .unwrap()
                .iter()
                .find(|c| c["id"] == "bitrix24")
                .cloned()
        })
    })
}

/// Lucía's number: she comes from Bitrix24 with her two open deals.
fn assert_lucia_from_bitrix(main: &WebviewWindow<MockRuntime>) {
    let info = ok(main, "lookup", json!({"number": "+34647460197"}));
    let chosen = info["lookup"]["chosen"].as_u64().expect("one match chosen") as usize;
    let m = &info["lookup"]["matches"][chosen];
    assert_eq!(m["contact"]["name"], "Lucía Fernández", "{info:#}");
    assert_eq!(m["contact"]["source"]["system"], "bitrix24", "{m:#}");
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
fn embedded_mode_pops_from_bitrix24_with_oauth_and_keeps_the_rotated_token() {
    let required = std::env::var_os("RINGSIDE_REQUIRE_SECRET_SERVICE").is_some();
    let secrets = Secrets::new(format!("ringside-test-bitrix24-e2e-{}", std::process::id()));
    let secret = |name, value: &str| {
        tauri::async_runtime::block_on(secrets.set(name, Sensitive::new(value.to_string())))
    };
    let keyring = |name| {
        tauri::async_runtime::block_on(secrets.get(name))
            .unwrap()
            .map(|v| v.expose().clone())
    };
    if let Err(e) = secret(SecretName::WebhookSecret, "bitrix24-e2e-webhook-secret") {
        assert!(
            !required,
            "RINGSIDE_REQUIRE_SECRET_SERVICE is set but: {e:?}"
        );
        assert_eq!(e.code, "keyring_unavailable", "{e:?}");
        eprintln!("skipped: no OS keyring ({})", e.message);
        return;
    }
    for name in [
        SecretName::Bitrix24WebhookUrl,
        SecretName::Bitrix24ClientSecret,
        SecretName::Bitrix24RefreshToken,
    ] {
        secret(name, "").unwrap();
    }

    // Bitrix24 with the demo data; a Gamma PBX.
    let b24 =
        tauri::async_runtime::block_on(BitrixEmulator::start(EmulatorConfig::default())).unwrap();
    b24.seed_demo();
    let config = b24.config();
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
    settings.crm.bitrix24 = Some(BitrixDesktop {
        enabled: true,
        auth: BitrixAuthMode::OAuth,
        portal_url: Some(b24.base_url()),
        client_id: Some(config.client_id.clone()),
        crm_create: true,
        plan: BitrixPlan::Standard,
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

    // Bitrix24 on without its secrets: the connection names the missing one.
    wait(
        "the missing-secret message",
        Duration::from_secs(30),
        || {
            let s = ok(&main, "app_state", json!({}));
            s["status"]["message"]
                .as_str()
                .is_some_and(|m| m.contains("bitrix24-client-secret"))
                .then_some(())
        },
    );

    // The secrets through the app's own path: the client secret, then a
    // first refresh token (each reconnects: Bitrix24 uses them).
    let first = b24.add_refresh_token();
    ok(
        &main,
        "set_secret",
        json!({"name": "bitrix24-client-secret", "value": config.client_secret}),
    );
    ok(
        &main,
        "set_secret",
        json!({"name": "bitrix24-refresh-token", "value": first}),
    );
    assert_eq!(
        keyring(SecretName::Bitrix24ClientSecret).as_deref(),
        Some(config.client_secret.as_str())
    );

    // The connection spends the first refresh token; the portal's new one is
    // in the keyring before it is used.
    let rotated = wait("the rotated refresh token", Duration::from_secs(30), || {
        keyring(SecretName::Bitrix24RefreshToken).filter(|t| *t != first)
    });
    wait("connected", Duration::from_secs(30), || {
        let s = ok(&main, "app_state", json!({}));
        (s["status"]["state"] == "connected" && s["agent"].is_object()).then_some(())
    });
    let state = bitrix_state(&main);
    let capabilities: Vec<&str> = state["capabilities"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap())
        .collect();
    assert!(capabilities.contains(&"live_call_events"), "{state:#}");
    assert!(capabilities.contains(&"lookup_contact"), "{state:#}");
    assert_lucia_from_bitrix(&main);
    let test = ok(&main, "test_connection", json!({"target": "bitrix24"}));
    assert_eq!(test["ok"], true, "{test}");
    assert!(
        test["message"]
            .as_str()
            .unwrap()
            .starts_with("Connected to bitrix24"),
        "{test}"
    );

    // A reconnect starts from the stored token (the first one is spent) and
    // rotates it again.
    app.state::<AppState>().backend.restart(app.handle());
    let again = wait(
        "the refresh token rotated again",
        Duration::from_secs(30),
        || keyring(SecretName::Bitrix24RefreshToken).filter(|t| *t != rotated && *t != first),
    );
    assert_ne!(again, first);
    wait(
        "connected after the reconnect",
        Duration::from_secs(30),
        || {
            let s = ok(&main, "app_state", json!({}));
            (s["status"]["state"] == "connected").then_some(())
        },
    );
    bitrix_state(&main);
    assert_lucia_from_bitrix(&main);

    tauri::async_runtime::block_on(app.state::<AppState>().backend.stop());
    for name in [
        SecretName::PbxApiKey,
        SecretName::WebhookSecret,
        SecretName::Bitrix24WebhookUrl,
        SecretName::Bitrix24ClientSecret,
        SecretName::Bitrix24RefreshToken,
    ] {
        secret(name, "").unwrap();
    }
}
