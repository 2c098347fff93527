//! The IPC types of `docs/desktop-contract.md`: what commands take and return
//! and what events carry. With the `ts` feature each derives `ts_rs::TS`; the
//! `export_bindings` test writes them to `ui/src/lib/bindings/`.
//!
//! Domain and wire types (`Call`, `Contact`, `NumberInfo`, `CallPage`...) come
//! from `ringside-core` and `ringside-api` unchanged.

use ringside_api::{Call, CallId, Me, NumberInfo};
use ringside_core::MatchPolicy;
use serde::{Deserialize, Serialize};

use crate::error::CommandError;

/// How the desktop reaches calls.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    /// In-process hub with the Gamma emulator playing the demo script.
    #[default]
    Demo,
    /// In-process hub talking to this agent's real Gamma account.
    Embedded,
    /// A remote `ringside-hub` (URL + agent token).
    Hub,
}

impl Mode {
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Demo => "demo",
            Mode::Embedded => "embedded",
            Mode::Hub => "hub",
        }
    }
}

/// Embedded mode: this agent's Gamma account. Secrets are in the keyring.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(default, deny_unknown_fields)]
pub struct PbxSettings {
    pub base_url: String,
    pub agent_name: String,
    pub extension: String,
    /// ISO 3166 region for numbers without a country code.
    pub region: String,
    /// Digits the PBX puts before external numbers; empty for none.
    pub outside_line_prefix: String,
    /// Where the embedded webhook listens, `host:port`.
    pub webhook_listen: String,
    /// What Gamma posts to; `null` = `http://{webhook_listen}`.
    pub public_url: Option<String>,
    /// Register the webhook with Gamma when connecting.
    pub configure_on_start: bool,
}

impl Default for PbxSettings {
    fn default() -> Self {
        Self {
            base_url: "https://config.work.oigaa.com/vtcrm/api".into(),
            agent_name: String::new(),
            extension: String::new(),
            region: "ES".into(),
            outside_line_prefix: "0".into(),
            webhook_listen: "127.0.0.1:8701".into(),
            public_url: None,
            configure_on_start: true,
        }
    }
}

/// Hub mode: where the team's hub is. The token is in the keyring.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(default, deny_unknown_fields)]
pub struct HubSettings {
    pub url: String,
}

impl Default for HubSettings {
    fn default() -> Self {
        Self {
            url: "http://127.0.0.1:8700".into(),
        }
    }
}

/// Demo/embedded modes: this agent's Vtiger. The access key and the
/// gateway secret are in the keyring (`vtiger-access-key`,
/// `vtiger-gateway-secret`).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(default, deny_unknown_fields)]
pub struct VtigerDesktop {
    pub enabled: bool,
    /// The instance, e.g. `https://acme.od2.vtiger.com`.
    pub base_url: String,
    /// The REST user, e.g. `admin@acme.com`.
    pub username: String,
    /// This agent's Vtiger Office Phone; `null` = the extension.
    pub office_phone: Option<String>,
}

/// Embedded mode: this agent's Zoho CRM (PhoneBridge). The client secret
/// is in the keyring (`zoho-client-secret`), and so is the refresh token
/// the Connect flow obtains (`zoho-refresh-token`).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(default, deny_unknown_fields)]
pub struct ZohoDesktop {
    pub enabled: bool,
    /// The data centre's accounts server, e.g. `https://accounts.zoho.eu`.
    pub accounts_url: String,
    /// Ringside's PhoneBridge OAuth client id, e.g. `1000.XXXX`.
    pub client_id: String,
    /// This agent's Zoho user (its id comes from PhoneBridge `users`).
    pub email: String,
}

/// How the desktop signs in to amoCRM (its secrets are in the keyring).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub enum AmoAuthMode {
    /// A private integration's long-lived token (`amocrm-token`).
    #[default]
    #[serde(rename = "long_lived")]
    LongLived,
    /// An OAuth integration: `amocrm-client-secret` and the single-use
    /// refresh token `amocrm-refresh-token` (every rotated one is written
    /// back there).
    #[serde(rename = "oauth")]
    OAuth,
}

/// What amoCRM does with a call whose number no contact has.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum AmoUnknownNumber {
    /// Keep the call in the outbox, parked with the reason, for a person.
    #[default]
    Park,
    /// Create a contact named after the number, then log the call to it.
    CreateContact,
}

/// Embedded mode: this agent's amoCRM (Kommo) account. The long-lived
/// token (`amocrm-token`), or the OAuth client secret
/// (`amocrm-client-secret`) and refresh token (`amocrm-refresh-token`), are
/// in the keyring.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(default, deny_unknown_fields)]
pub struct AmoDesktop {
    pub enabled: bool,
    /// The account, e.g. `https://acme.amocrm.ru` or `https://acme.kommo.com`.
    pub base_url: String,
    pub auth: AmoAuthMode,
    /// OAuth: the integration's id.
    pub client_id: Option<String>,
    /// OAuth: the integration's redirect URI (exactly as registered).
    pub redirect_uri: Option<String>,
    /// This agent's amo user (its id comes from `/api/v4/users`).
    pub email: String,
    pub unknown_number: AmoUnknownNumber,
}

/// How the desktop signs in to Bitrix24 (its secrets are in the keyring).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub enum BitrixAuthMode {
    /// An inbound webhook (`bitrix24-webhook-url`: the URL holds its
    /// secret). Current portals refuse telephony methods through webhooks
    /// (`WRONG_AUTH_TYPE`); lookups work.
    #[serde(rename = "webhook")]
    Webhook,
    /// A local application: `bitrix24-client-secret` and the rotating
    /// refresh token `bitrix24-refresh-token` (every new one is written back
    /// there).
    #[default]
    #[serde(rename = "oauth")]
    OAuth,
}

/// The Bitrix24 plan: how fast Ringside may call the portal's REST API.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum BitrixPlan {
    /// 2 requests per second, a burst of 50.
    #[default]
    Standard,
    /// 5 requests per second, a burst of 250.
    Enterprise,
}

/// Embedded mode: this agent's Bitrix24 portal. The webhook URL
/// (`bitrix24-webhook-url`), or the local application's secret
/// (`bitrix24-client-secret`) and refresh token (`bitrix24-refresh-token`),
/// are in the keyring.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(default, deny_unknown_fields)]
pub struct BitrixDesktop {
    pub enabled: bool,
    pub auth: BitrixAuthMode,
    /// OAuth: the portal, e.g. `https://acme.bitrix24.es`.
    pub portal_url: Option<String>,
    /// OAuth: the local application's id, e.g. `local.xxxx`.
    pub client_id: Option<String>,
    /// `CRM_CREATE`: Bitrix24 makes a lead of an unknown caller.
    pub crm_create: bool,
    pub plan: BitrixPlan,
}

impl Default for BitrixDesktop {
    fn default() -> Self {
        Self {
            enabled: false,
            auth: BitrixAuthMode::OAuth,
            portal_url: None,
            client_id: None,
            crm_create: true,
            plan: BitrixPlan::Standard,
        }
    }
}

/// CRMs for the demo and embedded modes (a remote hub has its own).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(default, deny_unknown_fields)]
pub struct CrmSettings {
    /// `null` or `enabled: false` = off.
    pub vtiger: Option<VtigerDesktop>,
    /// `null` or `enabled: false` = off.
    pub zoho: Option<ZohoDesktop>,
    /// `null` or `enabled: false` = off.
    pub amocrm: Option<AmoDesktop>,
    /// `null` or `enabled: false` = off.
    pub bitrix24: Option<BitrixDesktop>,
    /// Demo mode: an emulated Vtiger with the demo data.
    pub demo_vtiger: bool,
}

impl CrmSettings {
    /// The Vtiger settings when Vtiger is on.
    pub fn vtiger_enabled(&self) -> Option<&VtigerDesktop> {
        self.vtiger.as_ref().filter(|v| v.enabled)
    }

    /// The Zoho settings when Zoho is on.
    pub fn zoho_enabled(&self) -> Option<&ZohoDesktop> {
        self.zoho.as_ref().filter(|z| z.enabled)
    }

    /// The amoCRM settings when amoCRM is on.
    pub fn amocrm_enabled(&self) -> Option<&AmoDesktop> {
        self.amocrm.as_ref().filter(|a| a.enabled)
    }

    /// The Bitrix24 settings when Bitrix24 is on.
    pub fn bitrix24_enabled(&self) -> Option<&BitrixDesktop> {
        self.bitrix24.as_ref().filter(|b| b.enabled)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum Theme {
    #[default]
    System,
    Light,
    Dark,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum Language {
    #[default]
    En,
    Es,
    Ru,
}

/// `settings.json`. Never holds a secret.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(default, deny_unknown_fields)]
pub struct Settings {
    pub mode: Mode,
    pub pbx: PbxSettings,
    pub hub: HubSettings,
    pub match_policy: MatchPolicy,
    pub autostart: bool,
    /// Global shortcut that dials the number on the clipboard; `null` = none.
    pub hotkey: Option<String>,
    pub theme: Theme,
    pub language: Language,
    /// CRMs for the demo and embedded modes.
    pub crm: CrmSettings,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            mode: Mode::Demo,
            pbx: PbxSettings::default(),
            hub: HubSettings::default(),
            match_policy: MatchPolicy::Ask,
            autostart: false,
            hotkey: Some("CmdOrCtrl+Shift+D".into()),
            theme: Theme::System,
            language: Language::En,
            crm: CrmSettings::default(),
        }
    }
}

/// The state of the connection to calls, for the status badge and the tray.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum ConnState {
    Connecting,
    Connected,
    /// The hub is up but cannot reach the PBX (calls will not arrive or dial).
    PbxUnreachable,
    /// The hub (remote, or the embedded one) does not answer.
    HubOffline,
}

/// Payload of the `status` event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct ConnStatus {
    pub state: ConnState,
    /// For people: why, when not connected.
    pub message: Option<String>,
}

impl ConnStatus {
    pub fn new(state: ConnState, message: impl Into<Option<String>>) -> Self {
        Self {
            state,
            message: message.into(),
        }
    }

    pub fn connecting() -> Self {
        Self::new(ConnState::Connecting, None)
    }
}

/// Payload of the `pop` event (or `null`: hide) and what the pop window shows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct PopState {
    #[cfg_attr(feature = "ts", ts(type = "Call"))]
    pub call: Call,
    /// Who the number is; `null` while loading or when the lookup failed.
    pub info: Option<NumberInfo>,
    pub loading: bool,
    pub lookup_error: Option<CommandError>,
}

/// Payload of the `navigate` event: which view of the main window to show.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Navigate {
    pub view: View,
    #[cfg_attr(feature = "ts", ts(type = "string | null"))]
    pub call_id: Option<CallId>,
    /// Put the focus in the dial box (tray "Quick dial…").
    pub focus_dial: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum View {
    Contacts,
    History,
    Settings,
}

/// Answer of `app_state`: everything a window needs when it (re)loads.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct AppSnapshot {
    pub mode: Mode,
    #[cfg_attr(feature = "ts", ts(type = "Me | null"))]
    pub agent: Option<Me>,
    pub status: ConnStatus,
    /// Missed calls of this agent.
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub missed: u64,
    pub pop: Option<PopState>,
    pub settings: Settings,
}

/// The secrets the desktop keeps in the OS keyring (service `ringside`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "kebab-case")]
pub enum SecretName {
    /// Embedded mode: the Gamma account's API key.
    PbxApiKey,
    /// Embedded mode: the shared secret Gamma sends on every webhook call.
    WebhookSecret,
    /// Hub mode: this agent's API token.
    HubToken,
    /// Demo/embedded modes with Vtiger: the REST user's access key.
    VtigerAccessKey,
    /// Demo/embedded modes with Vtiger: the Generic gateway's secret key.
    VtigerGatewaySecret,
    /// Embedded mode with Zoho: the OAuth client's secret.
    ZohoClientSecret,
    /// Embedded mode with Zoho: the refresh token (written only by the
    /// Connect flow, `zoho_connect`; `set_secret` refuses it).
    ZohoRefreshToken,
    /// Embedded mode with amoCRM (long-lived auth): the integration's token.
    AmocrmToken,
    /// Embedded mode with amoCRM (OAuth): the integration's secret.
    AmocrmClientSecret,
    /// Embedded mode with amoCRM (OAuth): the refresh token. Entered once;
    /// amo's refresh tokens are single use, so every new one it issues is
    /// written back here (before it is used) by the adapter's token store.
    AmocrmRefreshToken,
    /// Embedded mode with Bitrix24 (webhook auth): the inbound webhook URL
    /// (it holds its secret).
    #[serde(rename = "bitrix24-webhook-url")]
    Bitrix24WebhookUrl,
    /// Embedded mode with Bitrix24 (OAuth): the local application's secret.
    #[serde(rename = "bitrix24-client-secret")]
    Bitrix24ClientSecret,
    /// Embedded mode with Bitrix24 (OAuth): the refresh token. Entered once;
    /// Bitrix24 rotates it on every refresh, and the adapter's token store
    /// writes each new one back here before it is used.
    #[serde(rename = "bitrix24-refresh-token")]
    Bitrix24RefreshToken,
}

impl SecretName {
    pub const ALL: [SecretName; 13] = [
        SecretName::PbxApiKey,
        SecretName::WebhookSecret,
        SecretName::HubToken,
        SecretName::VtigerAccessKey,
        SecretName::VtigerGatewaySecret,
        SecretName::ZohoClientSecret,
        SecretName::ZohoRefreshToken,
        SecretName::AmocrmToken,
        SecretName::AmocrmClientSecret,
        SecretName::AmocrmRefreshToken,
        SecretName::Bitrix24WebhookUrl,
        SecretName::Bitrix24ClientSecret,
        SecretName::Bitrix24RefreshToken,
    ];

    /// The keyring entry name.
    pub fn entry(self) -> &'static str {
        match self {
            SecretName::PbxApiKey => "pbx-api-key",
            SecretName::WebhookSecret => "webhook-secret",
            SecretName::HubToken => "hub-token",
            SecretName::VtigerAccessKey => "vtiger-access-key",
            SecretName::VtigerGatewaySecret => "vtiger-gateway-secret",
            SecretName::ZohoClientSecret => "zoho-client-secret",
            SecretName::ZohoRefreshToken => "zoho-refresh-token",
            SecretName::AmocrmToken => "amocrm-token",
            SecretName::AmocrmClientSecret => "amocrm-client-secret",
            SecretName::AmocrmRefreshToken => "amocrm-refresh-token",
            SecretName::Bitrix24WebhookUrl => "bitrix24-webhook-url",
            SecretName::Bitrix24ClientSecret => "bitrix24-client-secret",
            SecretName::Bitrix24RefreshToken => "bitrix24-refresh-token",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct SecretStatus {
    pub name: SecretName,
    pub stored: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct KeyringStatus {
    pub available: bool,
    /// Why not, when unavailable.
    pub message: Option<String>,
}

/// Answer of `secret_status`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct SecretsOverview {
    pub secrets: Vec<SecretStatus>,
    pub keyring: KeyringStatus,
}

/// What `test_connection` tries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum TestTarget {
    Pbx,
    Hub,
    /// The running connection's Vtiger (`POST /api/v1/crms/vtiger/check`).
    Vtiger,
    /// The running connection's Zoho (`POST /api/v1/crms/zoho/check`).
    Zoho,
    /// The running connection's amoCRM (`POST /api/v1/crms/amocrm/check`).
    Amocrm,
    /// The running connection's Bitrix24 (`POST /api/v1/crms/bitrix24/check`).
    Bitrix24,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct TestResult {
    pub ok: bool,
    pub message: String,
}

/// Event names (Rust → UI).
pub mod events {
    pub const CALL_UPDATE: &str = "call-update";
    pub const POP: &str = "pop";
    pub const STATUS: &str = "status";
    pub const MISSED: &str = "missed";
    pub const NAVIGATE: &str = "navigate";
}
