//! End-to-end tests (`ringside-e2e`) and benchmarks (`ringside-desktop-bench`)
//! of the Ringside desktop app, run in a real window inside a headless
//! session (Xvfb + private D-Bus with gnome-keyring and dunst; see
//! `scripts/desktop-test.sh`).
//!
//! The app runs in **embedded** mode against the Gamma emulator started in
//! this process: the emulator posts call events to the app's own webhook and
//! records every request the app makes. The UI is driven with WebDriver
//! through tauri-driver ([`wd`]).

pub mod procs;
pub mod wd;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use ringside_gamma_emulator::{
    Emulator, EmulatorConfig, EmulatorHandle, RecordedRequest, Scenario,
};
use serde_json::{Value, json};

pub use procs::TauriDriver;
pub use wd::{Driver, Elem, Session};

/// The agent's extension in the tests (Tony Manero in the emulator).
pub const EXTENSION: u32 = 203;

/// Set by `scripts/desktop-test.sh` inside its throwaway session: the tests
/// write secrets to the OS keyring, which must not be a person's real one.
pub const SESSION_GUARD: &str = "RINGSIDE_E2E_THROWAWAY_SESSION";

/// The workspace root (from this crate's manifest dir at build time).
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .unwrap_or_else(|_| Path::new(env!("CARGO_MANIFEST_DIR")).join("../.."))
}

/// A binary next to this one (`target/<profile>/NAME`).
pub fn sibling_binary(name: &str) -> PathBuf {
    std::env::current_exe()
        .ok()
        .and_then(|p| p.parent().map(Path::to_path_buf))
        .unwrap_or_else(|| workspace_root().join("target/debug"))
        .join(name)
}

/// Refuse to run outside a throwaway session (we write to the real keyring
/// and need a display and a session bus).
pub fn check_session() -> Result<()> {
    if std::env::var_os(SESSION_GUARD).is_none() {
        bail!(
            "{SESSION_GUARD} is not set: run me through `bash scripts/desktop-test.sh` (I store \
             secrets in the OS keyring, which must be a throwaway one)"
        );
    }
    for var in ["DISPLAY", "DBUS_SESSION_BUS_ADDRESS"] {
        if std::env::var_os(var).is_none() {
            bail!(
                "{var} is not set: run me inside the headless session of scripts/desktop-test.sh"
            );
        }
    }
    Ok(())
}

/// Unix milliseconds now.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// The first `n` steps of `s`, and the rest.
pub fn split(s: &Scenario, n: usize) -> (Scenario, Scenario) {
    let n = n.min(s.steps.len());
    (
        Scenario {
            name: format!("{} (first {n})", s.name),
            steps: s.steps[..n].to_vec(),
        },
        Scenario {
            name: format!("{} (rest)", s.name),
            steps: s.steps[n..].to_vec(),
        },
    )
}

/// Where the app keeps its files in one test run: XDG dirs under a temp dir.
pub struct AppEnv {
    pub dir: tempfile::TempDir,
    pub settings: PathBuf,
    pub config_home: PathBuf,
    pub data_home: PathBuf,
    pub cache_home: PathBuf,
    pub webhook_port: u16,
}

impl AppEnv {
    /// Temp XDG dirs, `settings.json` in embedded mode against `emulator`,
    /// the demo address book where the embedded hub reads it, and the
    /// secrets in the OS keyring (service `ringside`).
    pub async fn prepare(emulator: &EmulatorHandle) -> Result<Self> {
        let dir = tempfile::Builder::new().prefix("ringside-e2e-").tempdir()?;
        let config_home = dir.path().join("config");
        let data_home = dir.path().join("data");
        let cache_home = dir.path().join("cache");
        for d in [&config_home, &data_home, &cache_home] {
            std::fs::create_dir_all(d)?;
        }
        let webhook_port = procs::free_port()?;
        let settings = config_home.join("ringside").join("settings.json");
        std::fs::create_dir_all(settings.parent().unwrap())?;
        let body = json!({
            "mode": "embedded",
            "pbx": {
                "base_url": emulator.base_url(),
                "agent_name": "Tony Manero",
                "extension": EXTENSION.to_string(),
                "region": "ES",
                "outside_line_prefix": "0",
                "webhook_listen": format!("127.0.0.1:{webhook_port}"),
                "public_url": null,
                "configure_on_start": true
            },
            "hub": { "url": "http://127.0.0.1:8700" },
            "match_policy": "ask",
            "autostart": false,
            "hotkey": "CmdOrCtrl+Shift+D",
            "theme": "light",
            "language": "en"
        });
        std::fs::write(&settings, serde_json::to_vec_pretty(&body)?)?;

        let book = address_book_path(&data_home);
        tokio::task::spawn_blocking(move || -> Result<()> {
            let book = ringside_addressbook::AddressBook::open(
                &book,
                ringside_core::NumberPlan::default(),
            )
            .map_err(|e| anyhow::anyhow!("{e}"))?;
            book.load_demo().map_err(|e| anyhow::anyhow!("{e}"))?;
            Ok(())
        })
        .await??;

        let key = emulator.api_key().to_string();
        let secret = format!("e2e-webhook-{}", now_ms());
        tokio::task::spawn_blocking(move || -> Result<()> {
            for (name, value) in [("pbx-api-key", key), ("webhook-secret", secret)] {
                keyring::Entry::new("ringside", name)
                    .and_then(|e| e.set_password(&value))
                    .with_context(|| {
                        format!("storing {name} in the OS keyring (service ringside)")
                    })?;
            }
            Ok(())
        })
        .await??;

        Ok(Self {
            dir,
            settings,
            config_home,
            data_home,
            cache_home,
            webhook_port,
        })
    }

    /// The environment the app (through tauri-driver) runs with.
    pub fn vars(&self) -> Vec<(String, String)> {
        let mut v = vec![
            (
                "XDG_CONFIG_HOME".into(),
                self.config_home.display().to_string(),
            ),
            ("XDG_DATA_HOME".into(), self.data_home.display().to_string()),
            (
                "XDG_CACHE_HOME".into(),
                self.cache_home.display().to_string(),
            ),
        ];
        if std::env::var_os("RUST_LOG").is_none() {
            v.push(("RUST_LOG".into(), "info,ringside_desktop=debug".into()));
        }
        v
    }

    /// The app's command-line arguments.
    pub fn args(&self) -> Vec<String> {
        vec!["--settings".into(), self.settings.display().to_string()]
    }
}

/// Where the desktop's embedded hub opens its address book:
/// `dirs::data_dir()/ringside/embedded/` + `ringside_hub::embedded::ADDRESS_BOOK_FILE`
/// (`src-tauri/src/backend.rs`, embedded mode). `RINGSIDE_E2E_ADDRESSBOOK`
/// overrides it (relative to the data home).
pub fn address_book_path(data_home: &Path) -> PathBuf {
    match std::env::var_os("RINGSIDE_E2E_ADDRESSBOOK") {
        Some(rel) => data_home.join(rel),
        None => data_home
            .join("ringside")
            .join("embedded")
            .join("addressbook.sqlite3"),
    }
}

/// Emulator + app environment + tauri-driver: what both binaries start with.
pub struct Harness {
    pub emulator: EmulatorHandle,
    pub env: AppEnv,
    pub td: TauriDriver,
    pub driver: Driver,
    pub app: PathBuf,
    pub out: PathBuf,
}

impl Harness {
    pub async fn start(app: PathBuf, out: PathBuf) -> Result<Self> {
        if !app.is_file() {
            bail!(
                "{} is missing: build it (cd ui && npm ci && npm run build; cargo build -p ringside-desktop --features custom-protocol)",
                app.display()
            );
        }
        std::fs::create_dir_all(&out)?;
        let emulator = Emulator::start(EmulatorConfig::default()).await?;
        let env = AppEnv::prepare(&emulator).await?;
        let td = TauriDriver::start(&env.vars(), &out.join("tauri-driver.log"))?;
        let driver = Driver::new(td.url())?;
        driver.wait_ready(Duration::from_secs(20)).await?;
        Ok(Self {
            emulator,
            env,
            td,
            driver,
            app,
            out,
        })
    }

    /// A WebDriver session on a new instance of the app.
    pub async fn open_app(&self) -> Result<Session> {
        self.driver.session(&self.app, &self.env.args()).await
    }

    /// Wait until the main window answered `app_state` (the settings view is
    /// rendered from it) and is connected; returns its window handle.
    pub async fn wait_main_ready(&self, s: &Session, timeout: Duration) -> Result<String> {
        let end = Instant::now() + timeout;
        let handle = s.switch_to_window_with(MAIN_READY, timeout).await?;
        loop {
            let badge = s.find("[data-testid=status-badge]").await?;
            let state = match &badge {
                Some(b) => s.attr(b, "data-state").await?.unwrap_or_default(),
                None => String::new(),
            };
            if state == "connected" {
                return Ok(handle);
            }
            if Instant::now() > end {
                bail!(
                    "the status badge says {state:?}, not \"connected\", after {:.0} s",
                    timeout.as_secs_f64()
                );
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// The app processes (the app binary under tauri-driver).
    pub fn app_pids(&self) -> Vec<u32> {
        procs::running(&self.app, &procs::descendants(self.td.pid()))
    }

    /// Wait for a request the app made to the emulator, after the first
    /// `skip` recorded ones, matching `pred`.
    pub async fn wait_request(
        &self,
        path: &str,
        skip: usize,
        timeout: Duration,
        pred: impl Fn(&RecordedRequest) -> bool,
    ) -> Result<RecordedRequest> {
        let end = Instant::now() + timeout;
        loop {
            if let Some(r) = self
                .emulator
                .requests()
                .into_iter()
                .skip(skip)
                .find(|r| r.path == path && pred(r))
            {
                return Ok(r);
            }
            if Instant::now() > end {
                let seen: Vec<String> = self
                    .emulator
                    .requests()
                    .iter()
                    .skip(skip)
                    .map(|r| format!("{} {} {}", r.path, r.status, r.body))
                    .collect();
                bail!(
                    "no {path} request within {:.0} s; saw: {seen:?}",
                    timeout.as_secs_f64()
                );
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Play `s` at full speed; every event must be accepted (2xx).
    pub async fn play(&self, s: &Scenario) -> Result<()> {
        let statuses = self
            .emulator
            .play(s, 0.0)
            .await
            .map_err(|e| anyhow::anyhow!("{e:?}"))?;
        if let Some(bad) = statuses.iter().find(|c| !(200..300).contains(*c)) {
            bail!(
                "the app's webhook answered {bad} to an event of {:?}",
                s.name
            );
        }
        Ok(())
    }
}

/// Present once the main window rendered what `app_state` returned.
pub const MAIN_READY: &str = "[data-testid=status-badge]";

/// A header in a `request_callback_headers` object, case-insensitively.
pub fn callback_header<'a>(body: &'a Value, name: &str) -> Option<&'a str> {
    body.get("request_callback_headers")?
        .as_object()?
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .and_then(|(_, v)| v.as_str())
}

/// p-th percentile (0..=100) of sorted `values` (nearest rank).
pub fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_by_nearest_rank() {
        let v: Vec<f64> = (1..=100).map(f64::from).collect();
        assert_eq!(percentile(&v, 50.0), 50.0);
        assert_eq!(percentile(&v, 99.0), 99.0);
        assert_eq!(percentile(&v, 100.0), 100.0);
        assert_eq!(percentile(&[7.0], 99.0), 7.0);
        assert!(percentile(&[], 50.0).is_nan());
    }

    #[test]
    fn finds_the_external_call_id_header() {
        let body = json!({"extension": "203", "request_callback_headers": {"x-vtcrm-external-call-id": "abc"}});
        assert_eq!(
            callback_header(&body, "X-VTCRM-External-Call-Id"),
            Some("abc")
        );
        assert_eq!(
            callback_header(&json!({}), "X-VTCRM-External-Call-Id"),
            None
        );
    }

    #[test]
    fn splits_a_scenario() {
        let sc = ringside_gamma_emulator::ScenarioBuilder::new(0).incoming_answered(
            "1",
            "0647460197",
            EXTENSION,
            Duration::from_secs(1),
            Duration::from_secs(1),
            false,
        );
        let (ring, rest) = split(&sc, 1);
        assert_eq!(ring.steps.len(), 1);
        assert_eq!(ring.steps[0].event["state"], "ringing");
        assert_eq!(rest.steps.len(), sc.steps.len() - 1);
    }
}
