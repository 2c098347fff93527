//! Least privilege: with the real config and capabilities, each window may
//! call only its own commands, and no plugin command at all.

use ringside_desktop::models::Settings;
use ringside_desktop::secrets::Secrets;
use ringside_desktop::{AppState, Options, app_builder};
use serde_json::{Value, json};
use tauri::WebviewWindow;
use tauri::test::{INVOKE_KEY, MockRuntime, get_ipc_response, mock_builder};

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

#[test]
fn each_window_gets_only_its_commands() {
    let dir = tempfile::tempdir().unwrap();
    let state = AppState::new(
        dir.path().join("settings.json"),
        Settings::default(),
        false,
        Secrets::new("ringside-test-acl"),
        Options {
            demo_play: false,
            notifications: false,
            ..Options::default()
        },
    );
    let context = tauri::generate_context!(
        "tauri.conf.json",
        test = true,
        assets = tauri::test::noop_assets()
    );
    let app = app_builder(mock_builder(), state).build(context).unwrap();
    let window = |label: &str| {
        let config = app
            .config()
            .app
            .windows
            .iter()
            .find(|w| w.label == label)
            .unwrap()
            .clone();
        tauri::WebviewWindowBuilder::from_config(&app, &config)
            .unwrap()
            .build()
            .unwrap()
    };
    let main = window("main");
    let pop = window("pop");

    // both may read the app state
    assert!(invoke(&main, "app_state", json!({})).is_ok());
    assert!(invoke(&pop, "app_state", json!({})).is_ok());
    // settings and secrets: main only
    assert!(invoke(&main, "get_settings", json!({})).is_ok());
    for (cmd, args) in [
        ("get_settings", json!({})),
        ("save_settings", json!({"settings": {}})),
        ("secret_status", json!({})),
        ("set_secret", json!({"name": "hub-token", "value": "x"})),
        ("list_calls", json!({"query": {}})),
        ("search_contacts", json!({"query": "", "limit": 5})),
        ("test_connection", json!({"target": "hub"})),
        ("test_connection", json!({"target": "vtiger"})),
        ("crm_states", json!({})),
        ("crm_retry", json!({"crmId": "vtiger", "opId": 1})),
        ("test_connection", json!({"target": "zoho"})),
        ("test_connection", json!({"target": "amocrm"})),
        (
            "set_secret",
            json!({"name": "amocrm-refresh-token", "value": "x"}),
        ),
        ("test_connection", json!({"target": "bitrix24"})),
        (
            "set_secret",
            json!({"name": "bitrix24-refresh-token", "value": "x"}),
        ),
        ("zoho_connect", json!({})),
        ("zoho_disconnect", json!({})),
    ] {
        let e = invoke(&pop, cmd, args).expect_err(cmd);
        assert!(e.to_string().contains("not allowed"), "{cmd}: {e}");
    }
    // the CRM outbox: main only; "open in CRM" links: both (the pop's button)
    for (cmd, args) in [
        ("crm_states", json!({})),
        ("crm_retry", json!({"crmId": "vtiger", "opId": null})),
        ("crm_links", json!({"number": "+34647460197"})),
    ] {
        // not connected in this test: the command runs and answers `unavailable`
        let e = invoke(&main, cmd, args).expect_err(cmd);
        assert_eq!(e["code"], "unavailable", "{cmd}: {e}");
    }
    // Zoho's Connect: main only. Without Zoho settings it answers at once
    // (no browser is opened) that the settings come first.
    let connect = invoke(&main, "zoho_connect", json!({})).expect("zoho_connect");
    assert_eq!(connect["ok"], false, "{connect}");
    assert!(
        connect["message"].as_str().unwrap().contains("client id"),
        "{connect}"
    );
    // disconnect runs (or answers keyring_unavailable without a keyring)
    if let Err(e) = invoke(&main, "zoho_disconnect", json!({})) {
        assert_eq!(e["code"], "keyring_unavailable", "{e}");
    }
    // amoCRM's connection test: main only; not connected here, it says so
    let test = invoke(&main, "test_connection", json!({"target": "amocrm"})).expect("amocrm");
    assert_eq!(test["ok"], false, "{test}");
    assert!(
        test["message"].as_str().unwrap().contains("not connected"),
        "{test}"
    );
    // and Bitrix24's
    let test = invoke(&main, "test_connection", json!({"target": "bitrix24"})).expect("bitrix24");
    assert_eq!(test["ok"], false, "{test}");
    assert!(
        test["message"].as_str().unwrap().contains("not connected"),
        "{test}"
    );
    let e = invoke(&pop, "crm_links", json!({"number": "+34647460197"})).expect_err("crm_links");
    assert_eq!(e["code"], "unavailable", "pop crm_links: {e}");
    // no plugin is reachable from either webview
    for cmd in [
        "plugin:opener|open_url",
        "plugin:clipboard-manager|read_text",
        "plugin:global-shortcut|register",
        "plugin:autostart|enable",
        "plugin:deep-link|get_current",
        "plugin:window-state|save_window_state",
    ] {
        for w in [&main, &pop] {
            assert!(
                invoke(w, cmd, json!({})).is_err(),
                "{cmd} reachable from {}",
                w.label()
            );
        }
    }
}
