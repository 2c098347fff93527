//! How an emulated PBX is set up: its API key, extensions, id and how
//! triggered calls progress.

use std::net::SocketAddr;
use std::time::Duration;

/// The API key the emulator accepts when none is configured.
pub const DEFAULT_API_KEY: &str = "emulator-key";

/// The setup of one emulated PBX.
#[derive(Debug, Clone)]
pub struct EmulatorConfig {
    /// The key expected in `Authorization: VTCRM-Basic <key>`.
    pub api_key: String,
    /// The extensions with the API service active: number and name.
    pub extensions: Vec<(u32, String)>,
    /// Sent as `X-VTCRM-PBXID` on every event callback.
    pub pbx_id: String,
    /// How calls triggered through `call` progress.
    pub dial: DialProgress,
    /// Where to listen; `127.0.0.1:0` (any free port) by default.
    pub bind: SocketAddr,
}

impl Default for EmulatorConfig {
    fn default() -> Self {
        Self {
            api_key: DEFAULT_API_KEY.to_owned(),
            extensions: default_extensions(),
            pbx_id: "emulated-pbx".to_owned(),
            dial: DialProgress::default(),
            bind: SocketAddr::from(([127, 0, 0, 1], 0)),
        }
    }
}

impl EmulatorConfig {
    /// The name of an extension, if it is in the list.
    pub fn extension_name(&self, extension: u32) -> Option<&str> {
        self.extensions
            .iter()
            .find(|(number, _)| *number == extension)
            .map(|(_, name)| name.as_str())
    }
}

/// The seed document's extensions plus 301 (Laura Vidal) and the IVR 9204.
pub fn default_extensions() -> Vec<(u32, String)> {
    [
        (201, "Gines Gomez"),
        (202, "Antonio Abajo"),
        (203, "Tony Manero"),
        (204, "Sandra Thomas"),
        (206, "Peter Garrisson"),
        (301, "Laura Vidal"),
        (9204, "Incoming IVR"),
    ]
    .into_iter()
    .map(|(number, name)| (number, name.to_owned()))
    .collect()
}

/// How a call triggered with the `call` request (or moved with
/// `redirectIncoming`) progresses: `prompting` at once, `alerting` after
/// `ring_delay`, `talking` after a further `answer_after` (never if `None`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DialProgress {
    /// When false, `call` creates the call but emits no events.
    pub enabled: bool,
    /// Time between `prompting` and `alerting`.
    pub ring_delay: Duration,
    /// Time from `alerting` to `talking`; `None` means nobody answers.
    pub answer_after: Option<Duration>,
}

impl Default for DialProgress {
    fn default() -> Self {
        Self {
            enabled: true,
            ring_delay: Duration::from_millis(200),
            answer_after: Some(Duration::from_secs(2)),
        }
    }
}
