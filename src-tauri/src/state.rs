//! What the app shares between commands, the live feed task, the tray and
//! the hotkey. Locks are std mutexes held only for short, non-async sections.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use ringside_api::Me;

use crate::backend::Backend;
use crate::models::{AppSnapshot, ConnStatus, Mode, Settings};
use crate::pop::ScreenPop;
use crate::secrets::Secrets;

/// Knobs for tests and the demo.
#[derive(Debug, Clone)]
pub struct Options {
    /// Demo mode: play the demo script (tests turn it off and drive calls themselves).
    pub demo_play: bool,
    /// Demo script speed (1.0 = real time).
    pub demo_speed: f64,
    /// Send native notifications (tests turn them off).
    pub notifications: bool,
    /// Embedded mode: where the journal and address book live; `None` =
    /// `dirs::data_dir()/ringside/embedded` (tests use a temporary folder).
    pub data_dir: Option<PathBuf>,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            demo_play: true,
            demo_speed: 1.0,
            notifications: true,
            data_dir: None,
        }
    }
}

/// Opens a URL in the person's browser. The default is the opener plugin
/// (the system browser); tests put a fake browser here.
pub type Browser = Arc<dyn Fn(&str) -> Result<(), String> + Send + Sync>;

pub struct AppState {
    settings_path: PathBuf,
    settings: Mutex<Settings>,
    /// `--demo`: demo mode whatever the file says.
    force_demo: bool,
    pub options: Options,
    pub secrets: Secrets,
    pub backend: Backend,
    pub pop: Mutex<ScreenPop>,
    status: Mutex<ConnStatus>,
    agent: Mutex<Option<Me>>,
    missed: Mutex<u64>,
    /// A number to dial once connected (a `tel:` link at launch).
    pending_dial: Mutex<Option<String>>,
    /// Replaces the system browser (tests).
    browser: Mutex<Option<Browser>>,
    /// Cancels the Zoho Connect flow under way, if any (a new Connect
    /// replaces it).
    pub(crate) zoho_connect: Mutex<Option<tokio::sync::oneshot::Sender<()>>>,
}

impl AppState {
    pub fn new(
        settings_path: PathBuf,
        settings: Settings,
        force_demo: bool,
        secrets: Secrets,
        options: Options,
    ) -> Self {
        Self {
            settings_path,
            settings: Mutex::new(settings),
            force_demo,
            options,
            secrets,
            backend: Backend::default(),
            pop: Mutex::new(ScreenPop::default()),
            status: Mutex::new(ConnStatus::connecting()),
            agent: Mutex::new(None),
            missed: Mutex::new(0),
            pending_dial: Mutex::new(None),
            browser: Mutex::new(None),
            zoho_connect: Mutex::new(None),
        }
    }

    /// Open URLs with `browser` instead of the system browser (`None`: the
    /// system browser again). For tests.
    pub fn set_browser(&self, browser: Option<Browser>) {
        *self.browser.lock().unwrap() = browser;
    }

    /// The browser override, if any.
    pub fn browser(&self) -> Option<Browser> {
        self.browser.lock().unwrap().clone()
    }

    pub fn settings_path(&self) -> &std::path::Path {
        &self.settings_path
    }

    pub fn settings(&self) -> Settings {
        self.settings.lock().unwrap().clone()
    }

    pub fn set_settings(&self, settings: Settings) {
        *self.settings.lock().unwrap() = settings;
    }

    /// The mode in effect (`--demo` wins over the file).
    pub fn mode(&self) -> Mode {
        if self.force_demo {
            Mode::Demo
        } else {
            self.settings.lock().unwrap().mode
        }
    }

    pub fn status(&self) -> ConnStatus {
        self.status.lock().unwrap().clone()
    }

    /// Set the status; true when it changed.
    pub fn set_status(&self, status: ConnStatus) -> bool {
        let mut current = self.status.lock().unwrap();
        let changed = *current != status;
        *current = status;
        changed
    }

    pub fn agent(&self) -> Option<Me> {
        self.agent.lock().unwrap().clone()
    }

    pub fn set_agent(&self, agent: Option<Me>) {
        *self.agent.lock().unwrap() = agent;
    }

    pub fn agent_extension(&self) -> Option<String> {
        self.agent
            .lock()
            .unwrap()
            .as_ref()
            .map(|a| a.extension.clone())
    }

    pub fn missed(&self) -> u64 {
        *self.missed.lock().unwrap()
    }

    /// The hub's count when known, else one more than before. Returns it.
    pub fn set_missed(&self, from_hub: Option<u64>) -> u64 {
        let mut missed = self.missed.lock().unwrap();
        *missed = from_hub.unwrap_or(*missed + 1);
        *missed
    }

    pub fn reset_missed(&self, value: u64) {
        *self.missed.lock().unwrap() = value;
    }

    pub fn notifications_enabled(&self) -> bool {
        self.options.notifications
    }

    pub fn set_pending_dial(&self, number: Option<String>) {
        *self.pending_dial.lock().unwrap() = number;
    }

    pub fn take_pending_dial(&self) -> Option<String> {
        self.pending_dial.lock().unwrap().take()
    }

    pub fn snapshot(&self) -> AppSnapshot {
        AppSnapshot {
            mode: self.mode(),
            agent: self.agent(),
            status: self.status(),
            missed: self.missed(),
            pop: self.pop.lock().unwrap().current().cloned(),
            settings: self.settings(),
        }
    }
}
