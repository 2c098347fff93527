//! The commands through Tauri's IPC (mock runtime) against a real embedded
//! demo hub (script not playing: the tests drive the emulator themselves).

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use ringside_desktop::models::{ConnState, Settings};
use ringside_desktop::secrets::Secrets;
use ringside_desktop::{AppState, Options, app_builder};
use serde_json::{Value, json};
use tauri::test::{
    INVOKE_KEY, MockRuntime, get_ipc_response, mock_builder, mock_context, noop_assets,
};
use tauri::{App, Listener, Manager, WebviewWindow, WebviewWindowBuilder};

struct TestApp {
    app: App<MockRuntime>,
    main: WebviewWindow<MockRuntime>,
    _dir: tempfile::TempDir,
    settings_path: PathBuf,
}

impl TestApp {
    fn start() -> TestApp {
        Self::start_with(Settings::default())
    }

    fn start_with(settings: Settings) -> TestApp {
        let dir = tempfile::tempdir().unwrap();
        let settings_path = dir.path().join("settings.json");
        let state = AppState::new(
            settings_path.clone(),
            settings,
            false,
            Secrets::new(format!("ringside-test-{}", std::process::id())),
            Options {
                demo_play: false,
                notifications: false,
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
        let t = TestApp {
            app,
            main,
            _dir: dir,
            settings_path,
        };
        t.wait_for("connected", Duration::from_secs(30), |s| {
            s["status"]["state"] == "connected" && s["agent"].is_object()
        });
        t
    }

    fn invoke(&self, cmd: &str, args: Value) -> Result<Value, Value> {
        let response = get_ipc_response(
            &self.main,
            tauri::webview::InvokeRequest {
                cmd: cmd.into(),
                callback: tauri::ipc::CallbackFn(0),
                error: tauri::ipc::CallbackFn(1),
                url: "tauri://localhost".parse().unwrap(),
                body: tauri::ipc::InvokeBody::Json(args),
                headers: Default::default(),
                invoke_key: INVOKE_KEY.to_string(),
            },
        );
        response.map(|b| b.deserialize::<Value>().unwrap())
    }

    fn ok(&self, cmd: &str, args: Value) -> Value {
        self.invoke(cmd, args)
            .unwrap_or_else(|e| panic!("{cmd} failed: {e}"))
    }

    fn err_code(&self, cmd: &str, args: Value) -> String {
        let e = self.invoke(cmd, args).expect_err(cmd);
        e["code"]
            .as_str()
            .unwrap_or_else(|| panic!("{cmd}: no code in {e}"))
            .to_string()
    }

    /// Poll `app_state` until `check` holds.
    fn wait_for(&self, what: &str, timeout: Duration, check: impl Fn(&Value) -> bool) -> Value {
        let start = Instant::now();
        loop {
            let s = self.ok("app_state", json!({}));
            if check(&s) {
                return s;
            }
            assert!(
                start.elapsed() < timeout,
                "timed out waiting for {what}; last app_state: {s:#}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn emulator(&self) -> Arc<ringside_gamma_emulator::EmulatorHandle> {
        let conn = self.app.state::<AppState>().backend.connection().unwrap();
        tauri::async_runtime::block_on(conn.emulator()).expect("demo emulator")
    }

    fn collect(&self, event: &str) -> Arc<Mutex<Vec<Value>>> {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let sink = seen.clone();
        self.app.listen_any(event, move |e| {
            sink.lock()
                .unwrap()
                .push(serde_json::from_str(e.payload()).unwrap());
        });
        seen
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        let state = self.app.state::<AppState>();
        tauri::async_runtime::block_on(state.backend.stop());
    }
}

#[test]
fn commands_against_the_embedded_demo_hub() {
    let t = TestApp::start();

    // app_state: demo mode, the demo agent, connected
    let s = t.ok("app_state", json!({}));
    assert_eq!(s["mode"], "demo");
    assert_eq!(s["agent"]["extension"], "203");
    assert_eq!(s["agent"]["name"], "Tony Manero");
    assert_eq!(s["pop"], Value::Null);
    assert_eq!(s["settings"]["mode"], "demo");

    // search_contacts
    let contacts = t.ok("search_contacts", json!({"query": "Lucía", "limit": 10}));
    let names: Vec<_> = contacts
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert!(names.contains(&"Lucía Fernández"), "{names:?}");

    // lookup: Lucía with her open deals
    let info = t.ok("lookup", json!({"number": "+34 647 46 01 97"}));
    let chosen = info["lookup"]["chosen"].as_u64().expect("one match chosen") as usize;
    let m = &info["lookup"]["matches"][chosen];
    assert_eq!(m["contact"]["name"], "Lucía Fernández");
    assert!(m["deals"].as_array().unwrap().len() >= 2, "{m:#}");

    // dial: the PBX (emulator) is asked to ring 203 and call the number
    let emulator = t.emulator();
    emulator.clear_requests();
    let call = t.ok("dial", json!({"number": "+34 647 46 01 97"}));
    assert_eq!(call["direction"], "outbound");
    let request =
        tauri::async_runtime::block_on(emulator.wait_for_request("call", Duration::from_secs(10)))
            .expect("the emulator received `call`");
    let body = request.body.to_string();
    assert!(body.contains("203"), "{body}");
    assert!(body.contains("647460197"), "{body}");
    assert_eq!(t.err_code("dial", json!({"number": "  "})), "invalid");

    // save_notes
    let call_id = call["id"].as_str().unwrap().to_string();
    let saved = t.ok(
        "save_notes",
        json!({"callId": call_id, "notes": "Send the quote today", "disposition": "follow_up"}),
    );
    assert_eq!(saved["notes"], "Send the quote today");
    assert_eq!(saved["disposition"], "follow_up");

    // list_calls, call_detail
    let page = t.ok("list_calls", json!({"query": {}}));
    assert!(
        page["calls"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["id"] == call_id.as_str())
    );
    let detail = t.ok("call_detail", json!({"callId": call_id}));
    assert_eq!(detail["call"]["id"], call_id.as_str());
    assert_eq!(
        t.err_code("call_detail", json!({"callId": "no-such-call"})),
        "not_found"
    );

    // extensions (from the PBX)
    let extensions = t.ok("extensions", json!({}));
    assert!(
        extensions
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["extension"] == "203"),
        "{extensions}"
    );

    // create_contact
    let contact = t.ok(
        "create_contact",
        json!({"contact": {"name": "Ana Test", "company": "Test SL", "phones": [{"label": "work", "number": "+34 600 000 001"}], "email": null, "notes": null}}),
    );
    assert_eq!(contact["name"], "Ana Test");

    // open_external refuses anything but http(s)
    for url in [
        "file:///etc/passwd",
        "javascript:alert(1)",
        "tel:+34647460197",
        "not a url",
    ] {
        assert_eq!(
            t.err_code("open_external", json!({"url": url})),
            "invalid",
            "{url}"
        );
    }

    // secret_status answers whatever the keyring situation
    let secrets = t.ok("secret_status", json!({}));
    let names: Vec<_> = secrets["secrets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "pbx-api-key",
            "webhook-secret",
            "hub-token",
            "vtiger-access-key",
            "vtiger-gateway-secret",
            "zoho-client-secret",
            "zoho-refresh-token",
            "amocrm-token",
            "amocrm-client-secret",
            "amocrm-refresh-token",
            "bitrix24-webhook-url",
            "bitrix24-client-secret",
            "bitrix24-refresh-token",
        ]
    );

    // no CRM in the plain demo: an empty outbox list, no links, and the
    // Vtiger test says it is not on
    assert_eq!(t.ok("crm_states", json!({})), json!([]));
    assert_eq!(
        t.ok("crm_links", json!({"number": "+34647460197"})),
        json!([])
    );
    let test = t.ok("test_connection", json!({"target": "vtiger"}));
    assert_eq!(test["ok"], false, "{test}");
}

#[test]
fn demo_with_the_emulated_vtiger_pops_vtiger_contacts_and_deals() {
    let mut settings = Settings::default();
    settings.crm.demo_vtiger = true;
    let t = TestApp::start_with(settings);

    // lookup: Lucía from Vtiger, with her two open Potentials only
    let info = t.ok("lookup", json!({"number": "+34647460197"}));
    let chosen = info["lookup"]["chosen"].as_u64().expect("one match chosen") as usize;
    let m = &info["lookup"]["matches"][chosen];
    assert_eq!(m["contact"]["name"], "Lucía Fernández", "{info:#}");
    assert_eq!(m["contact"]["source"]["system"], "vtiger", "{m:#}");
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
    assert!(!deals.contains(&"Proyecto piloto"));

    // crm_states: vtiger, with live call events
    let states = t.ok("crm_states", json!({}));
    let vtiger = states
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == "vtiger")
        .unwrap_or_else(|| panic!("no vtiger in {states:#}"));
    assert!(
        vtiger["capabilities"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c == "live_call_events"),
        "{vtiger:#}"
    );
    assert!(vtiger["parked_ops"].is_array());

    // crm_links: a search-by-number link into Vtiger
    let links = t.ok("crm_links", json!({"number": "+34 611 22 33 44"}));
    let link = &links[0];
    assert_eq!(link["crm"], "vtiger", "{links:#}");
    assert!(
        link["url"].as_str().unwrap().contains("Search.php"),
        "{links:#}"
    );
    assert_eq!(t.err_code("crm_links", json!({"number": " "})), "invalid");

    // retry with nothing parked retries nothing; an unknown CRM is not found
    let retried = t.ok("crm_retry", json!({"crmId": "vtiger", "opId": null}));
    assert_eq!(retried["retried"], 0, "{retried}");
    assert_eq!(
        t.err_code("crm_retry", json!({"crmId": "zoho", "opId": null})),
        "not_found"
    );

    // the connection test reaches the emulated Vtiger
    let test = t.ok("test_connection", json!({"target": "vtiger"}));
    assert_eq!(test["ok"], true, "{test}");
}

#[test]
fn turning_the_demo_vtiger_on_reconnects() {
    let t = TestApp::start();
    assert_eq!(t.ok("crm_states", json!({})), json!([]));
    let mut settings = t.ok("get_settings", json!({}));
    settings["crm"]["demo_vtiger"] = json!(true);
    t.ok("save_settings", json!({"settings": settings}));
    let start = Instant::now();
    loop {
        if let Ok(states) = t.invoke("crm_states", json!({}))
            && states.as_array().is_some_and(|a| !a.is_empty())
        {
            assert_eq!(states[0]["id"], "vtiger");
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "the reconnect did not bring Vtiger up"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn settings_round_trip_through_the_commands() {
    let t = TestApp::start();
    let mut settings = t.ok("get_settings", json!({}));
    assert_eq!(settings["mode"], "demo");
    settings["theme"] = json!("dark");
    settings["language"] = json!("es");
    settings["hotkey"] = json!(null);
    let saved = t.ok("save_settings", json!({"settings": settings}));
    assert_eq!(saved["theme"], "dark");
    assert_eq!(t.ok("get_settings", json!({}))["language"], "es");
    let on_disk: Value =
        serde_json::from_str(&std::fs::read_to_string(&t.settings_path).unwrap()).unwrap();
    assert_eq!(on_disk, saved);

    // invalid settings are refused and nothing changes
    let mut bad = saved.clone();
    bad["mode"] = json!("embedded");
    bad["pbx"]["extension"] = json!("");
    assert_eq!(
        t.err_code("save_settings", json!({"settings": bad})),
        "invalid"
    );
    // a secret smuggled into the settings is refused by shape
    let mut smuggled = saved.clone();
    smuggled["hub"]["token"] = json!("83isocjid5hyd02sdjiembslw323");
    assert!(
        t.invoke("save_settings", json!({"settings": smuggled}))
            .is_err()
    );
    assert_eq!(t.ok("get_settings", json!({})), saved);
    assert!(
        !std::fs::read_to_string(&t.settings_path)
            .unwrap()
            .contains("83isocjid5hyd02sdjiembslw323")
    );
}

#[test]
fn an_inbound_call_pops_with_the_caller_and_dismiss_hides_it() {
    let t = TestApp::start();
    let pops = t.collect("pop");
    let updates = t.collect("call-update");
    let emulator = t.emulator();
    let start_ms = chrono::Utc::now().timestamp_millis();
    let scenario = ringside_gamma_emulator::ScenarioBuilder::new(start_ms).incoming_answered(
        &start_ms.to_string(),
        "+34647460197",
        203,
        Duration::from_millis(1500),
        Duration::from_millis(500),
        false,
    );
    let player = std::thread::spawn(move || {
        tauri::async_runtime::block_on(emulator.play(&scenario, 1.0)).unwrap()
    });

    // pop with loading first, then with Lucía
    let s = t.wait_for("a pop with the lookup", Duration::from_secs(15), |s| {
        s["pop"]["info"].is_object()
    });
    assert_eq!(s["pop"]["call"]["remote_number"], "+34647460197");
    assert_eq!(s["pop"]["loading"], false);
    let chosen = s["pop"]["info"]["lookup"]["chosen"].as_u64().unwrap() as usize;
    assert_eq!(
        s["pop"]["info"]["lookup"]["matches"][chosen]["contact"]["name"],
        "Lucía Fernández"
    );
    {
        let pops = pops.lock().unwrap();
        assert_eq!(
            pops[0]["loading"], true,
            "the first pop event is sent before the lookup"
        );
        assert!(pops[0]["info"].is_null());
    }
    player.join().unwrap();
    // the pop follows the call to its end
    t.wait_for("the call to end in the pop", Duration::from_secs(10), |s| {
        s["pop"]["call"]["status"] == "ended"
    });
    assert!(!updates.lock().unwrap().is_empty());

    // choose_contact: out of range is refused
    let call_id = s["pop"]["call"]["id"].as_str().unwrap();
    assert_eq!(
        t.err_code("choose_contact", json!({"callId": call_id, "index": 99})),
        "invalid"
    );
    let chosen = t.ok("choose_contact", json!({"callId": call_id, "index": 0}));
    assert_eq!(chosen["info"]["lookup"]["chosen"], 0);

    // dismiss_pop hides it and tells the UI (pop: null)
    t.ok("dismiss_pop", json!({}));
    assert_eq!(t.ok("app_state", json!({}))["pop"], Value::Null);
    assert!(pops.lock().unwrap().last().unwrap().is_null());
}

#[test]
fn a_missed_call_counts_and_is_announced() {
    let t = TestApp::start();
    let missed = t.collect("missed");
    let before = t.ok("app_state", json!({}))["missed"].as_u64().unwrap();
    let emulator = t.emulator();
    let start_ms = chrono::Utc::now().timestamp_millis();
    let scenario = ringside_gamma_emulator::ScenarioBuilder::new(start_ms).incoming_missed(
        &start_ms.to_string(),
        "+34911234567",
        203,
        Duration::from_millis(300),
    );
    tauri::async_runtime::block_on(emulator.play(&scenario, 1.0)).unwrap();
    t.wait_for("the missed count", Duration::from_secs(10), |s| {
        s["missed"].as_u64() == Some(before + 1)
    });
    let start = Instant::now();
    while missed.lock().unwrap().is_empty() {
        assert!(
            start.elapsed() < Duration::from_secs(5),
            "no `missed` event"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(missed.lock().unwrap().last().unwrap(), &json!(before + 1));
}

const CHILD: &str = "RINGSIDE_KEYRING_TEST_CHILD";

/// Without a Secret Service (forced: a child process whose session bus
/// address leads nowhere) `set_secret` answers `keyring_unavailable` and
/// stores nothing anywhere else.
#[test]
fn set_secret_without_a_keyring_is_keyring_unavailable() {
    if std::env::var_os(CHILD).is_none() {
        let out = std::process::Command::new(std::env::current_exe().unwrap())
            .args([
                "set_secret_without_a_keyring_is_keyring_unavailable",
                "--exact",
                "--nocapture",
            ])
            .env(CHILD, "1")
            .env(
                "DBUS_SESSION_BUS_ADDRESS",
                "unix:path=/nonexistent/ringside-test-bus",
            )
            .env_remove("DISPLAY")
            .output()
            .unwrap();
        let log = String::from_utf8_lossy(&out.stdout).to_string()
            + &String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success() && log.contains("1 passed"), "{log}");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let state = AppState::new(
        dir.path().join("settings.json"),
        Settings::default(),
        false,
        Secrets::new("ringside-test-nokeyring"),
        Options {
            demo_play: false,
            notifications: false,
            ..Options::default()
        },
    );
    let app = app_builder(mock_builder(), state)
        .build(mock_context(noop_assets()))
        .unwrap();
    let main = WebviewWindowBuilder::new(&app, "main", Default::default())
        .build()
        .unwrap();
    let t = |cmd: &str, args: Value| {
        get_ipc_response(
            &main,
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
    };
    let e = t(
        "set_secret",
        json!({"name": "hub-token", "value": "83isocjid5hyd02sdjiembslw323"}),
    )
    .unwrap_err();
    assert_eq!(e["code"], "keyring_unavailable", "{e}");
    assert!(
        e["message"].as_str().unwrap().contains("Secret Service"),
        "{e}"
    );
    let overview = t("secret_status", json!({})).unwrap();
    assert_eq!(overview["keyring"]["available"], false);
    // nothing was written next to the settings either
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    // unknown secret names are refused by shape
    assert!(t("set_secret", json!({"name": "gamma-key", "value": "x"})).is_err());
    let _ = ConnState::Connected;
}
