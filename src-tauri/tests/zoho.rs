//! Zoho from the desktop, end to end: the Connect flow against the Zoho
//! emulator with a fake browser (it follows the consent page's redirect to
//! the loopback exactly as a browser would), the refresh token in the real
//! keyring, and an embedded-mode connection (PBX: the Gamma emulator) whose
//! lookups come from Zoho.
//!
//! Needs a Secret Service: without one (and without
//! `RINGSIDE_REQUIRE_SECRET_SERVICE`) the test says so and passes;
//! `scripts/test.sh` runs it inside a private session bus with an unlocked
//! gnome-keyring.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use ringside_core::Sensitive;
use ringside_desktop::models::{Mode, SecretName, Settings, ZohoDesktop};
use ringside_desktop::secrets::Secrets;
use ringside_desktop::{AppState, Options, app_builder};
use ringside_zoho_emulator::{DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, ZohoEmulator};
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

fn stored(w: &WebviewWindow<MockRuntime>, name: &str) -> bool {
    let overview = ok(w, "secret_status", json!({}));
    overview["secrets"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == name)
        .unwrap_or_else(|| panic!("no {name} in {overview}"))["stored"]
        .as_bool()
        .unwrap()
}

/// A browser that opens the consent page without following its redirect,
/// then opens the `Location` it was sent to (the loopback). With `forge`, the
/// `state` in that Location is replaced first. Each page it ends on is
/// recorded as (status, text).
#[derive(Clone, Default)]
struct FakeBrowser {
    forge: Arc<AtomicBool>,
    pages: Arc<Mutex<Vec<(u16, String)>>>,
    opened: Arc<Mutex<Vec<String>>>,
}

impl FakeBrowser {
    fn install(&self, state: &AppState) {
        let me = self.clone();
        state.set_browser(Some(Arc::new(move |url: &str| {
            me.opened.lock().unwrap().push(url.to_string());
            let url = url.to_string();
            let forge = me.forge.load(Ordering::SeqCst);
            let pages = me.pages.clone();
            tauri::async_runtime::spawn(async move {
                let http = reqwest::Client::builder()
                    .redirect(reqwest::redirect::Policy::none())
                    .build()
                    .unwrap();
                let consent = http.get(&url).send().await.unwrap();
                assert_eq!(consent.status(), 302, "the consent page redirects");
                let location = consent.headers()[reqwest::header::LOCATION]
                    .to_str()
                    .unwrap()
                    .to_string();
                let mut location = tauri::Url::parse(&location).unwrap();
                if forge {
                    let pairs: Vec<(String, String)> = location
                        .query_pairs()
                        .map(|(k, v)| {
                            let v = if k == "state" { "forged".into() } else { v };
                            (k.into_owned(), v.into_owned())
                        })
                        .collect();
                    location.query_pairs_mut().clear().extend_pairs(pairs);
                }
                let page = http.get(location).send().await.unwrap();
                let status = page.status().as_u16();
                let text = page.text().await.unwrap();
                pages.lock().unwrap().push((status, text));
            });
            Ok(())
        })));
    }

    fn last_page(&self) -> (u16, String) {
        wait("the browser's page", Duration::from_secs(10), || {
            self.pages.lock().unwrap().last().cloned()
        })
    }
}

#[test]
fn connect_zoho_in_the_browser_then_pop_from_zoho() {
    let required = std::env::var_os("RINGSIDE_REQUIRE_SECRET_SERVICE").is_some();
    let secrets = Secrets::new(format!("ringside-test-zoho-e2e-{}", std::process::id()));
    let secret = |name, value: &str| {
        tauri::async_runtime::block_on(secrets.set(name, Sensitive::new(value.to_string())))
    };
    if let Err(e) = secret(SecretName::ZohoClientSecret, DEFAULT_CLIENT_SECRET) {
        assert!(
            !required,
            "RINGSIDE_REQUIRE_SECRET_SERVICE is set but: {e:?}"
        );
        assert_eq!(e.code, "keyring_unavailable", "{e:?}");
        eprintln!("skipped: no OS keyring ({})", e.message);
        return;
    }
    secret(SecretName::ZohoRefreshToken, "").unwrap();

    // Zoho with the demo data and PhoneBridge enabled; a Gamma PBX.
    let zoho = tauri::async_runtime::block_on(ZohoEmulator::start(Default::default())).unwrap();
    zoho.set_integrated(true);
    zoho.seed_demo();
    let pbx = tauri::async_runtime::block_on(ringside_gamma_emulator::Emulator::start(
        Default::default(),
    ))
    .unwrap();
    secret(SecretName::PbxApiKey, pbx.api_key()).unwrap();
    secret(SecretName::WebhookSecret, "zoho-e2e-webhook-secret").unwrap();

    let dir = tempfile::tempdir().unwrap();
    let mut settings = Settings {
        mode: Mode::Embedded,
        ..Settings::default()
    };
    settings.pbx.base_url = pbx.base_url();
    settings.pbx.agent_name = "Tony Manero".into();
    settings.pbx.extension = "203".into();
    settings.pbx.webhook_listen = "127.0.0.1:0".into();
    settings.crm.zoho = Some(ZohoDesktop {
        enabled: true,
        accounts_url: zoho.accounts_url(),
        client_id: DEFAULT_CLIENT_ID.into(),
        email: "tony@ringside.test".into(),
    });
    let settings = ringside_desktop::settings::validate(settings).unwrap();
    let state = AppState::new(
        dir.path().join("settings.json"),
        settings,
        false,
        secrets.clone(),
        Options {
            demo_play: false,
            notifications: false,
            data_dir: Some(dir.path().join("embedded")),
            ..Options::default()
        },
    );
    let browser = FakeBrowser::default();
    browser.install(&state);
    let app = app_builder(mock_builder(), state)
        .build(mock_context(noop_assets()))
        .unwrap();
    let main = WebviewWindowBuilder::new(&app, "main", Default::default())
        .build()
        .unwrap();
    app.state::<AppState>().backend.restart(app.handle());

    // Zoho on but never connected: the connection says what to do.
    wait("the not-connected message", Duration::from_secs(30), || {
        let s = ok(&main, "app_state", json!({}));
        s["status"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("Zoho is not connected yet: press Connect in Settings"))
            .then_some(())
    });
    assert!(!stored(&main, "zoho-refresh-token"));
    // and the refresh token cannot be typed in
    let e = invoke(
        &main,
        "set_secret",
        json!({"name": "zoho-refresh-token", "value": "1000.typed"}),
    )
    .unwrap_err();
    assert_eq!(e["code"], "invalid", "{e}");

    // A redirect with another state is refused, and nothing is stored.
    browser.forge.store(true, Ordering::SeqCst);
    let result = ok(&main, "zoho_connect", json!({}));
    assert_eq!(result["ok"], false, "{result}");
    assert!(
        result["message"].as_str().unwrap().contains("state"),
        "{result}"
    );
    let (status, page) = browser.last_page();
    assert_eq!(status, 400, "{page}");
    assert!(page.contains("could not connect to Zoho"), "{page}");
    assert!(!stored(&main, "zoho-refresh-token"));
    assert_eq!(zoho.mints(), 0, "no code was exchanged");

    // The real thing: consent, loopback, exchange, keyring.
    browser.forge.store(false, Ordering::SeqCst);
    browser.pages.lock().unwrap().clear();
    let result = ok(&main, "zoho_connect", json!({}));
    assert_eq!(result["ok"], true, "{result}");
    assert!(
        result["message"].as_str().unwrap().contains("eu"),
        "{result}"
    );
    let (status, page) = browser.last_page();
    assert_eq!(status, 200, "{page}");
    assert!(
        page.contains("Ringside is connected to Zoho — you can close this tab"),
        "{page}"
    );
    let opened = browser.opened.lock().unwrap().last().cloned().unwrap();
    assert!(
        opened.starts_with(&format!("{}/oauth/v2/auth?", zoho.accounts_url())),
        "{opened}"
    );
    assert!(opened.contains("%2Fzoho%2Fcallback"), "{opened}");
    assert!(stored(&main, "zoho-refresh-token"));
    let refresh = tauri::async_runtime::block_on(secrets.get(SecretName::ZohoRefreshToken))
        .unwrap()
        .expect("the refresh token is in the keyring");
    // the code exchange (the reconnect may already have minted more)
    assert!(zoho.mints_for(refresh.expose()) >= 1);

    // The reconnect brings Zoho up: this agent's lookups come from Zoho.
    wait("connected", Duration::from_secs(30), || {
        let s = ok(&main, "app_state", json!({}));
        (s["status"]["state"] == "connected" && s["agent"].is_object()).then_some(())
    });
    let states = wait("zoho in crm_states", Duration::from_secs(30), || {
        invoke(&main, "crm_states", json!({}))
            .ok()
            .filter(|s| s.as_array().unwrap().iter().any(|c| c["id"] == "zoho"))
    });
    let zoho_state = states
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == "zoho")
        .unwrap();
    assert!(
        zoho_state["capabilities"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c == "open_deals"),
        "{zoho_state:#}"
    );

    let info = ok(&main, "lookup", json!({"number": "+34647460197"}));
    let chosen = info["lookup"]["chosen"].as_u64().expect("one match chosen") as usize;
    let m = &info["lookup"]["matches"][chosen];
    assert_eq!(m["contact"]["name"], "Lucía Fernández", "{info:#}");
    assert_eq!(m["contact"]["source"]["system"], "zoho", "{m:#}");
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
    assert!(
        zoho.mints_for(refresh.expose()) >= 2,
        "the connection minted access tokens with the stored refresh token"
    );

    let test = ok(&main, "test_connection", json!({"target": "zoho"}));
    assert_eq!(test["ok"], true, "{test}");

    // Disconnect: revoked at Zoho, gone from the keyring, not connected again.
    ok(&main, "zoho_disconnect", json!({}));
    assert!(!stored(&main, "zoho-refresh-token"));
    let revoke = zoho
        .requests()
        .into_iter()
        .find(|r| r.path == "/oauth/v2/token/revoke")
        .expect("the refresh token was revoked");
    assert_eq!(revoke.param("token"), Some(refresh.expose().as_str()));
    wait(
        "not connected after disconnect",
        Duration::from_secs(30),
        || {
            let s = ok(&main, "app_state", json!({}));
            s["status"]["message"]
                .as_str()
                .is_some_and(|m| m.contains("Zoho is not connected yet"))
                .then_some(())
        },
    );

    tauri::async_runtime::block_on(app.state::<AppState>().backend.stop());
    for name in [
        SecretName::PbxApiKey,
        SecretName::WebhookSecret,
        SecretName::ZohoClientSecret,
    ] {
        secret(name, "").unwrap();
    }
}
