//! The hub's configuration file (`ringside.toml`).
//!
//! Every setting is documented here and in `ringside.example.toml`. Unknown
//! keys are rejected, so a typo never silently falls back to a default.
//! Secrets are never written in the file: a [`SecretRef`] names an
//! environment variable or an OS keyring entry, and a plain string where a
//! secret belongs is refused with a message saying what to write instead.

use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use ipnet::IpNet;
use ringside_core::{Error, MatchPolicy, NumberPlan, Result};
use serde::de::{self, MapAccess, Visitor};
use serde::{Deserialize, Deserializer};

/// The message given when a secret is written in clear in the config file.
pub const PLAIN_SECRET_MESSAGE: &str =
    "secrets may not be written in the config file: use { env = \"...\" } or { keyring = \"...\" }";

/// Where a secret comes from. Never the config file itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SecretRef {
    /// `{ env = "VAR" }`: the environment variable `VAR`.
    Env(String),
    /// `{ keyring = "entry" }`: the OS keyring, service `ringside`, user `entry`.
    Keyring(String),
}

impl fmt::Display for SecretRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SecretRef::Env(var) => write!(f, "env {var}"),
            SecretRef::Keyring(entry) => write!(f, "keyring entry {entry:?}"),
        }
    }
}

impl<'de> Deserialize<'de> for SecretRef {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> std::result::Result<Self, D::Error> {
        struct SecretRefVisitor;

        impl<'de> Visitor<'de> for SecretRefVisitor {
            type Value = SecretRef;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("{ env = \"VAR\" } or { keyring = \"entry-name\" }")
            }

            fn visit_str<E: de::Error>(self, _v: &str) -> std::result::Result<SecretRef, E> {
                Err(E::custom(PLAIN_SECRET_MESSAGE))
            }

            fn visit_map<A: MapAccess<'de>>(
                self,
                mut map: A,
            ) -> std::result::Result<SecretRef, A::Error> {
                let mut found: Option<SecretRef> = None;
                while let Some(key) = map.next_key::<String>()? {
                    let value: String = map.next_value()?;
                    if found.is_some() {
                        return Err(de::Error::custom(
                            "a secret reference takes exactly one of `env` or `keyring`",
                        ));
                    }
                    if value.trim().is_empty() {
                        return Err(de::Error::custom(format!("`{key}` may not be empty")));
                    }
                    found = Some(match key.as_str() {
                        "env" => SecretRef::Env(value),
                        "keyring" => SecretRef::Keyring(value),
                        other => {
                            return Err(de::Error::custom(format!(
                                "unknown secret source `{other}`: use {{ env = \"...\" }} or {{ keyring = \"...\" }}"
                            )));
                        }
                    });
                }
                found.ok_or_else(|| {
                    de::Error::custom(
                        "empty secret reference: use { env = \"...\" } or { keyring = \"...\" }",
                    )
                })
            }
        }

        deserializer.deserialize_any(SecretRefVisitor)
    }
}

/// The whole file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// `[server]`: where and how the HTTP server listens.
    #[serde(default)]
    pub server: ServerConfig,
    /// `[gamma]`: the Gamma CRM API account.
    pub gamma: GammaConfig,
    /// `[storage]`: where the journal and the address book live.
    #[serde(default)]
    pub storage: StorageConfig,
    /// `[engine]`: call folding and lookup policy.
    #[serde(default)]
    pub engine: EngineSection,
    /// `[[agents]]`: one entry per agent allowed to use the API.
    #[serde(default)]
    pub agents: Vec<AgentConfig>,
    /// `[crm.*]`: the CRMs calls are logged to and contacts looked up in.
    /// Several may be enabled at once; each has its own outbox.
    #[serde(default)]
    pub crm: CrmSection,
}

/// `[crm]`
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CrmSection {
    /// `[crm.vtiger]`: Vtiger Cloud.
    pub vtiger: Option<VtigerConfig>,
    /// `[crm.zoho]`: Zoho CRM through PhoneBridge v2.
    pub zoho: Option<ZohoConfig>,
    /// `[crm.amocrm]`: amoCRM (Kommo).
    pub amocrm: Option<AmoConfig>,
    /// `[crm.bitrix24]`: Bitrix24 telephony.
    pub bitrix24: Option<BitrixConfig>,
}

/// `[crm.bitrix24]`
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BitrixConfig {
    /// An inbound webhook URL (`https://acme.bitrix24.es/rest/1/abc…/`): the
    /// URL is the secret. Current portals refuse telephony methods through
    /// webhooks (`WRONG_AUTH_TYPE`); then use a local application:
    pub webhook_url: Option<SecretRef>,
    pub portal_url: Option<String>,
    pub client_id: Option<String>,
    pub client_secret: Option<SecretRef>,
    /// Bitrix24 refresh tokens rotate: each new one is written back here, so
    /// it must be `{ keyring = "…" }`.
    pub refresh_token: Option<SecretRef>,
    /// `CRM_CREATE`: unknown callers become leads (shown in the pop). Default true.
    #[serde(default = "default_true")]
    pub crm_create: bool,
    /// The token Bitrix24 sends with events (`auth[application_token]`):
    /// `ONEXTERNALCALLSTART` to `{public_url}/crm/bitrix24/events`.
    pub application_token: Option<SecretRef>,
    /// Default: the leaky bucket of standard plans, 2 requests/s with a
    /// burst of 50 (Enterprise: 5 and 250).
    #[serde(default = "bitrix_limits")]
    pub limits: ringside_crm::Limits,
    #[serde(default)]
    pub cache: ringside_crm::CacheSettings,
    #[serde(default)]
    pub delivery: ringside_crm::DeliverySettings,
    /// Extension → user overrides; by default users are read from
    /// `user.get` (`UF_PHONE_INNER`).
    #[serde(default)]
    pub users: Vec<ringside_crm::CrmUser>,
}

fn bitrix_limits() -> ringside_crm::Limits {
    ringside_crm::Limits {
        requests_per_second: 2.0,
        burst: 50,
        timeout_seconds: 10.0,
    }
}

impl BitrixConfig {
    pub fn crm_settings(&self) -> ringside_crm::CrmSettings {
        ringside_crm::CrmSettings {
            limits: self.limits.clone(),
            cache: self.cache.clone(),
            delivery: self.delivery.clone(),
            users: self.users.clone(),
            discover_users: true,
        }
    }

    fn validate(&self) -> Result<()> {
        let oauth = [
            self.portal_url.is_some(),
            self.client_id.is_some(),
            self.client_secret.is_some(),
            self.refresh_token.is_some(),
        ];
        match (self.webhook_url.is_some(), oauth) {
            (true, [false, false, false, false]) => {}
            (false, [true, true, true, true]) => {
                if let Some(url) = &self.portal_url {
                    check_http_url("crm.bitrix24.portal_url", url)?;
                }
                if !matches!(self.refresh_token, Some(SecretRef::Keyring(_))) {
                    return Err(Error::config(
                        "crm.bitrix24.refresh_token must be { keyring = \"...\" }: Bitrix24 \
                         refresh tokens rotate and the hub stores each new one",
                    ));
                }
            }
            _ => {
                return Err(Error::config(
                    "crm.bitrix24 needs webhook_url, or portal_url + client_id + client_secret + \
                     refresh_token (a local application), not both",
                ));
            }
        }
        self.crm_settings().validate("crm.bitrix24")
    }
}

/// `[crm.amocrm]`
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AmoConfig {
    /// The account, e.g. `https://acme.amocrm.ru` or `https://acme.kommo.com`.
    pub base_url: String,
    /// A long-lived token (private integration). Or, instead, OAuth:
    pub long_lived_token: Option<SecretRef>,
    pub client_id: Option<String>,
    pub client_secret: Option<SecretRef>,
    pub redirect_uri: Option<String>,
    /// amo refresh tokens are single use: every refresh returns a new one,
    /// which the hub writes back here — so it must be `{ keyring = "…" }`.
    pub refresh_token: Option<SecretRef>,
    /// A call whose number matches no amoCRM contact: `park` (wait for a
    /// person, with the reason) or `create_contact` (create one, then log).
    #[serde(default)]
    pub unknown_number: AmoUnknownNumber,
    /// `[crm.amocrm.legacy]`: log through the legacy `calls/add` instead of
    /// API v4.
    pub legacy: Option<AmoLegacyConfig>,
    /// Default: 5 requests/s with a burst of 2 (amo allows 7 per second).
    #[serde(default = "amo_limits")]
    pub limits: ringside_crm::Limits,
    #[serde(default)]
    pub cache: ringside_crm::CacheSettings,
    /// `recording_wait_seconds`: amo cannot attach a recording later, so a
    /// call the PBX says is recorded waits this long for its URL.
    #[serde(default)]
    pub delivery: ringside_crm::DeliverySettings,
    /// Extension → amo user, by `email` (ids from `/api/v4/users`) or `user_id`.
    #[serde(default)]
    pub users: Vec<ringside_crm::CrmUser>,
}

/// What to do with a call to or from a number no contact has.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AmoUnknownNumber {
    #[default]
    Park,
    CreateContact,
}

/// `[crm.amocrm.legacy]`: the `calls/add` service credentials amo support issues.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AmoLegacyConfig {
    /// `https://sip.amocrm.ru` (`.com` for the global version).
    pub url: String,
    pub code: String,
    pub key: SecretRef,
    pub account_id: u64,
}

fn amo_limits() -> ringside_crm::Limits {
    ringside_crm::Limits {
        requests_per_second: 5.0,
        burst: 2,
        timeout_seconds: 10.0,
    }
}

impl AmoConfig {
    pub fn crm_settings(&self) -> ringside_crm::CrmSettings {
        ringside_crm::CrmSettings {
            limits: self.limits.clone(),
            cache: self.cache.clone(),
            delivery: self.delivery.clone(),
            users: self.users.clone(),
            discover_users: true,
        }
    }

    fn validate(&self) -> Result<()> {
        check_http_url("crm.amocrm.base_url", &self.base_url)?;
        let oauth = [
            self.client_id.is_some(),
            self.client_secret.is_some(),
            self.redirect_uri.is_some(),
            self.refresh_token.is_some(),
        ];
        match (self.long_lived_token.is_some(), oauth) {
            (true, [false, false, false, false]) => {}
            (false, [true, true, true, true]) => {
                if !matches!(self.refresh_token, Some(SecretRef::Keyring(_))) {
                    return Err(Error::config(
                        "crm.amocrm.refresh_token must be { keyring = \"...\" }: amo refresh \
                         tokens are single use and the hub stores each new one",
                    ));
                }
            }
            (false, [false, false, false, false]) if self.legacy.is_some() => {}
            _ => {
                return Err(Error::config(
                    "crm.amocrm needs long_lived_token, or client_id + client_secret + \
                     redirect_uri + refresh_token (OAuth), not both",
                ));
            }
        }
        if let Some(l) = &self.legacy {
            check_http_url("crm.amocrm.legacy.url", &l.url)?;
            if l.code.trim().is_empty() {
                return Err(Error::config("crm.amocrm.legacy.code may not be empty"));
            }
        }
        self.crm_settings().validate("crm.amocrm")
    }
}

/// `[crm.zoho]`
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ZohoConfig {
    /// The accounts server of the Zoho data centre, e.g.
    /// `https://accounts.zoho.eu` (`.com`, `.in`, `.com.au`, `.jp`...).
    pub accounts_url: String,
    /// The OAuth client of Ringside's PhoneBridge registration.
    pub client_id: String,
    pub client_secret: SecretRef,
    /// The refresh token from `ringside-hub zoho connect` (stored in the
    /// keyring by that command).
    pub refresh_token: SecretRef,
    /// Potentials in these stages are not open deals.
    #[serde(default)]
    pub closed_stages: Option<Vec<String>>,
    #[serde(default)]
    pub limits: ringside_crm::Limits,
    #[serde(default)]
    pub cache: ringside_crm::CacheSettings,
    #[serde(default)]
    pub delivery: ringside_crm::DeliverySettings,
    /// `[[crm.zoho.users]]`: extension → the Zoho user, by `email` (its id is
    /// read from PhoneBridge `users`) or `user_id`.
    #[serde(default)]
    pub users: Vec<ringside_crm::CrmUser>,
    /// `[crm.zoho.click_to_call]`: Zoho's click-to-call and hang-up through
    /// this hub.
    pub click_to_call: Option<ZohoClickToCallConfig>,
}

impl ZohoConfig {
    pub fn crm_settings(&self) -> ringside_crm::CrmSettings {
        ringside_crm::CrmSettings {
            limits: self.limits.clone(),
            cache: self.cache.clone(),
            delivery: self.delivery.clone(),
            users: self.users.clone(),
            // Zoho users carry no extension: the ids come from `users`.
            discover_users: true,
        }
    }
}

/// `[crm.zoho.click_to_call]`: the URLs registered with Zoho
/// (`{public_url}/crm/zoho/click-to-call`, `.../call-control/hungup`) and the
/// token Zoho must send with every request to them.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ZohoClickToCallConfig {
    /// The header (and parameter) name Zoho sends the token in. Default
    /// `X-Ringside-Zoho-Token`.
    #[serde(default = "default_zoho_auth_name")]
    pub auth_name: String,
    pub token: SecretRef,
    /// Register the URLs with Zoho at start (`clicktocallandcallcontrol`).
    /// Needs `server.public_url`. Default true.
    #[serde(default = "default_true")]
    pub register_on_start: bool,
}

fn default_zoho_auth_name() -> String {
    "X-Ringside-Zoho-Token".into()
}

fn default_true() -> bool {
    true
}

/// `[crm.vtiger]`
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VtigerConfig {
    /// The instance, e.g. `https://acme.od2.vtiger.com`.
    pub base_url: String,
    /// The REST user (My Preferences → user name).
    pub username: String,
    /// The REST access key (My Preferences → Access Key).
    pub access_key: SecretRef,
    /// The Phone Calls Generic gateway's secret (`X-VTIGER-SECRET`).
    pub gateway_secret: SecretRef,
    /// Potentials in these stages are not open deals. Default `Closed Won`,
    /// `Closed Lost`.
    #[serde(default)]
    pub closed_stages: Option<Vec<String>>,
    /// `[crm.vtiger.limits]`: requests per second, burst, deadline.
    #[serde(default)]
    pub limits: ringside_crm::Limits,
    /// `[crm.vtiger.cache]`: lookup cache lifetimes.
    #[serde(default)]
    pub cache: ringside_crm::CacheSettings,
    /// `[crm.vtiger.delivery]`: backoff, wrap-up for notes.
    #[serde(default)]
    pub delivery: ringside_crm::DeliverySettings,
    /// `[[crm.vtiger.users]]`: extension → the user's Office Phone (and id).
    #[serde(default)]
    pub users: Vec<ringside_crm::CrmUser>,
    /// Read the directory from Vtiger's Users (an Office Phone that is an
    /// extension). Default false.
    #[serde(default)]
    pub discover_users: bool,
    /// `[crm.vtiger.click_to_call]`: Vtiger's "outgoing call" requests.
    pub click_to_call: Option<ClickToCallConfig>,
}

/// `[crm.<name>.click_to_call]`: how the CRM asks the hub to dial. The CRM
/// calls `POST|GET /crm/<name>/click-to-call` with the number and the user.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClickToCallConfig {
    /// `POST` (form body) or `GET` (query string). Default `POST`.
    #[serde(default = "default_method")]
    pub method: String,
    /// The parameter holding the number to dial. Default `number`.
    #[serde(default = "default_number_param")]
    pub number_param: String,
    /// The parameter naming the CRM user (their id, Office Phone or
    /// extension). Default `user`.
    #[serde(default = "default_user_param")]
    pub user_param: String,
    /// HTTP Basic user name the CRM sends (with `password`).
    pub username: Option<String>,
    pub password: Option<SecretRef>,
    /// Or a token parameter the CRM sends (with `token`).
    pub token_param: Option<String>,
    pub token: Option<SecretRef>,
}

impl VtigerConfig {
    /// The vendor-neutral part, for the CRM framework.
    pub fn crm_settings(&self) -> ringside_crm::CrmSettings {
        ringside_crm::CrmSettings {
            limits: self.limits.clone(),
            cache: self.cache.clone(),
            delivery: self.delivery.clone(),
            users: self.users.clone(),
            discover_users: self.discover_users,
        }
    }
}

fn default_method() -> String {
    "POST".into()
}

fn default_number_param() -> String {
    "number".into()
}

fn default_user_param() -> String {
    "user".into()
}

impl ClickToCallConfig {
    fn validate(&self, crm: &str) -> Result<()> {
        if !matches!(self.method.as_str(), "GET" | "POST") {
            return Err(Error::config(format!(
                "crm.{crm}.click_to_call.method must be GET or POST"
            )));
        }
        let basic = self.username.is_some() || self.password.is_some();
        if basic && (self.username.is_none() || self.password.is_none()) {
            return Err(Error::config(format!(
                "crm.{crm}.click_to_call: username and password go together"
            )));
        }
        let token = self.token_param.is_some() || self.token.is_some();
        if token && (self.token_param.is_none() || self.token.is_none()) {
            return Err(Error::config(format!(
                "crm.{crm}.click_to_call: token_param and token go together"
            )));
        }
        if !basic && !token {
            return Err(Error::config(format!(
                "crm.{crm}.click_to_call needs username + password or token_param + token: \
                 an unauthenticated dial endpoint is refused"
            )));
        }
        for p in [&self.number_param, &self.user_param] {
            if p.is_empty() {
                return Err(Error::config(format!(
                    "crm.{crm}.click_to_call: parameter names may not be empty"
                )));
            }
        }
        Ok(())
    }
}

/// `[server]`
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ServerConfig {
    /// Address to listen on. Default `127.0.0.1:8700`.
    pub listen: SocketAddr,
    /// Largest request body accepted, in bytes (413 above). Default 64 KiB.
    pub max_body_bytes: usize,
    /// Most simultaneous TCP connections (SSE streams included). Default 512.
    pub max_connections: usize,
    /// The public base URL of this hub as Gamma reaches it (e.g.
    /// `https://ringside.example.com`); the webhook registered with Gamma is
    /// `{public_url}/webhooks/gamma`. Required when `gamma.configure_on_start`.
    pub public_url: Option<String>,
    /// Time limit for one API request (not the SSE stream), in seconds. Default 30.
    pub request_timeout_secs: u64,
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 8700)),
            max_body_bytes: 64 * 1024,
            max_connections: 512,
            public_url: None,
            request_timeout_secs: 30,
        }
    }
}

/// `[gamma]`
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GammaConfig {
    /// Base URL of the requests API, e.g. `https://config.work.oigaa.com/vtcrm/api/`.
    pub base_url: String,
    /// The `VTCRM-Basic` API key.
    pub api_key: SecretRef,
    /// The shared secret Ringside asks Gamma to send with every event.
    pub webhook_secret: SecretRef,
    /// Header carrying the webhook secret. Default `X-Ringside-Secret`.
    #[serde(default = "default_secret_header")]
    pub secret_header: String,
    /// Also (or instead) accept the secret as this query parameter; Gamma can
    /// send `events_callback_parameters` as request parameters.
    #[serde(default)]
    pub secret_query_param: Option<String>,
    /// Source networks allowed to post events, in CIDR notation. Empty (the
    /// default) allows all. Gamma sends events from `193.22.119.0/24`.
    #[serde(default)]
    pub allowed_cidrs: Vec<IpNet>,
    /// Call Gamma's `configure` at start with `{public_url}/webhooks/gamma`
    /// and the secret header. Default false.
    #[serde(default)]
    pub configure_on_start: bool,
    /// ISO 3166 region for numbers without a country code. Default `ES`.
    #[serde(default = "default_region")]
    pub region: String,
    /// The PBX's outside-line prefix, stripped before parsing. Default `0`.
    #[serde(default = "default_outside_line_prefix")]
    pub outside_line_prefix: String,
}

fn default_secret_header() -> String {
    "X-Ringside-Secret".into()
}

fn default_region() -> String {
    "ES".into()
}

fn default_outside_line_prefix() -> String {
    "0".into()
}

/// `[storage]`
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StorageConfig {
    /// Directory for the data files. Default: the OS data directory + `ringside`
    /// (e.g. `~/.local/share/ringside`).
    pub data_dir: Option<PathBuf>,
    /// The journal (SQLite) file, relative to `data_dir` unless absolute.
    /// Default `journal.sqlite3`.
    pub journal: Option<PathBuf>,
    /// The address book (SQLite) file, relative to `data_dir` unless absolute.
    /// Default `addressbook.sqlite3`.
    pub address_book: Option<PathBuf>,
}

/// `[engine]`
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct EngineSection {
    /// Several contacts match one number: `ask` (show all), `most_recent`, `first`.
    pub match_policy: MatchPolicy,
    /// A call with no event for this long is closed as `failed`. Default 240.
    pub reconcile_after_minutes: u32,
    /// How many earlier calls with the same number a lookup returns. Default 5.
    pub recent_calls: usize,
}

impl Default for EngineSection {
    fn default() -> Self {
        Self {
            match_policy: MatchPolicy::Ask,
            reconcile_after_minutes: 240,
            recent_calls: 5,
        }
    }
}

/// `[[agents]]`
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AgentConfig {
    /// The agent's name, shown by `GET /api/v1/me`.
    pub name: String,
    /// The PBX extension the agent's token is bound to.
    pub extension: String,
    /// The agent's API bearer token.
    pub token: SecretRef,
}

impl Config {
    /// Parse TOML text and validate it (secrets are not resolved here).
    pub fn parse(text: &str) -> Result<Config> {
        // The error names the line, never echoes it: the offending line may
        // hold a secret someone wrote in clear.
        let config: Config = toml::from_str(text).map_err(|e| {
            let line = e.span().map(|span| {
                let upto = &text.as_bytes()[..span.start.min(text.len())];
                upto.iter().filter(|b| **b == b'\n').count() + 1
            });
            match line {
                Some(line) => {
                    Error::config(format!("invalid config at line {line}: {}", e.message()))
                }
                None => Error::config(format!("invalid config: {}", e.message())),
            }
        })?;
        config.validate()?;
        Ok(config)
    }

    /// Read, parse and validate a config file.
    pub fn load(path: &Path) -> Result<Config> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| Error::config(format!("cannot read {}: {e}", path.display())))?;
        Config::parse(&text).map_err(|e| e.context(path.display()))
    }

    /// Checks that need no secret.
    pub fn validate(&self) -> Result<()> {
        if self.server.max_body_bytes == 0 {
            return Err(Error::config("server.max_body_bytes must be > 0"));
        }
        if self.server.max_connections == 0 {
            return Err(Error::config("server.max_connections must be > 0"));
        }
        if self.server.request_timeout_secs == 0 {
            return Err(Error::config("server.request_timeout_secs must be > 0"));
        }
        if let Some(url) = &self.server.public_url {
            check_http_url("server.public_url", url)?;
        }
        check_http_url("gamma.base_url", &self.gamma.base_url)?;
        if self.gamma.configure_on_start && self.server.public_url.is_none() {
            return Err(Error::config(
                "gamma.configure_on_start needs server.public_url (the URL Gamma posts events to)",
            ));
        }
        check_header_name(&self.gamma.secret_header)?;
        if let Some(p) = &self.gamma.secret_query_param
            && (p.is_empty()
                || !p
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-'))
        {
            return Err(Error::config(format!(
                "gamma.secret_query_param {p:?} must be letters, digits, `_` or `-`"
            )));
        }
        self.number_plan()
            .validate()
            .map_err(|e| e.context("gamma"))?;
        if let Some(v) = &self.crm.vtiger {
            check_http_url("crm.vtiger.base_url", &v.base_url)?;
            if v.username.trim().is_empty() {
                return Err(Error::config("crm.vtiger.username may not be empty"));
            }
            v.crm_settings().validate("crm.vtiger")?;
            if let Some(c) = &v.click_to_call {
                c.validate("vtiger")?;
            }
        }
        if let Some(z) = &self.crm.zoho {
            check_http_url("crm.zoho.accounts_url", &z.accounts_url)?;
            if z.client_id.trim().is_empty() {
                return Err(Error::config("crm.zoho.client_id may not be empty"));
            }
            z.crm_settings().validate("crm.zoho")?;
            if let Some(c) = &z.click_to_call {
                check_header_name(&c.auth_name)?;
                if c.register_on_start && self.server.public_url.is_none() {
                    return Err(Error::config(
                        "crm.zoho.click_to_call.register_on_start needs server.public_url \
                         (the URLs Zoho calls)",
                    ));
                }
            }
        }
        if let Some(a) = &self.crm.amocrm {
            a.validate()?;
        }
        if let Some(b) = &self.crm.bitrix24 {
            b.validate()?;
        }
        let mut seen = std::collections::HashSet::new();
        for agent in &self.agents {
            if agent.name.trim().is_empty() {
                return Err(Error::config("an agent has an empty name"));
            }
            if agent.extension.is_empty() || !agent.extension.chars().all(|c| c.is_ascii_digit()) {
                return Err(Error::config(format!(
                    "agent {:?}: extension {:?} must be digits",
                    agent.name, agent.extension
                )));
            }
            if !seen.insert(agent.extension.as_str()) {
                return Err(Error::config(format!(
                    "extension {} is given to more than one agent",
                    agent.extension
                )));
            }
        }
        Ok(())
    }

    /// The number plan of the Gamma account.
    pub fn number_plan(&self) -> NumberPlan {
        NumberPlan {
            region: self.gamma.region.clone(),
            outside_line_prefix: self.gamma.outside_line_prefix.clone(),
            ..NumberPlan::default()
        }
    }

    /// The data directory: configured, else the OS data directory + `ringside`.
    pub fn data_dir(&self) -> Result<PathBuf> {
        match &self.storage.data_dir {
            Some(dir) => Ok(dir.clone()),
            None => dirs::data_dir()
                .map(|d| d.join("ringside"))
                .ok_or_else(|| Error::config("no OS data directory known: set storage.data_dir")),
        }
    }

    pub fn journal_path(&self) -> Result<PathBuf> {
        Ok(resolve(
            &self.data_dir()?,
            self.storage.journal.as_deref(),
            "journal.sqlite3",
        ))
    }

    pub fn address_book_path(&self) -> Result<PathBuf> {
        Ok(resolve(
            &self.data_dir()?,
            self.storage.address_book.as_deref(),
            "addressbook.sqlite3",
        ))
    }

    /// The webhook URL registered with Gamma.
    pub fn webhook_url(&self) -> Option<String> {
        self.server
            .public_url
            .as_ref()
            .map(|u| format!("{}/webhooks/gamma", u.trim_end_matches('/')))
    }

    /// A human summary without any secret value.
    pub fn summary(&self) -> String {
        let mut out = String::new();
        let s = &self.server;
        out.push_str(&format!("server.listen            {}\n", s.listen));
        out.push_str(&format!("server.max_body_bytes    {}\n", s.max_body_bytes));
        out.push_str(&format!("server.max_connections   {}\n", s.max_connections));
        out.push_str(&format!(
            "server.public_url        {}\n",
            s.public_url.as_deref().unwrap_or("(none)")
        ));
        let g = &self.gamma;
        out.push_str(&format!("gamma.base_url           {}\n", g.base_url));
        out.push_str(&format!("gamma.api_key            from {}\n", g.api_key));
        out.push_str(&format!(
            "gamma.webhook_secret     from {}\n",
            g.webhook_secret
        ));
        out.push_str(&format!("gamma.secret_header      {}\n", g.secret_header));
        out.push_str(&format!(
            "gamma.secret_query_param {}\n",
            g.secret_query_param.as_deref().unwrap_or("(none)")
        ));
        let cidrs = if g.allowed_cidrs.is_empty() {
            "(any source)".to_string()
        } else {
            g.allowed_cidrs
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        };
        out.push_str(&format!("gamma.allowed_cidrs      {cidrs}\n"));
        out.push_str(&format!(
            "gamma.configure_on_start {}\n",
            g.configure_on_start
        ));
        out.push_str(&format!(
            "gamma.number_plan        region {}, outside-line prefix {:?}\n",
            g.region, g.outside_line_prefix
        ));
        match (self.journal_path(), self.address_book_path()) {
            (Ok(j), Ok(a)) => {
                out.push_str(&format!("storage.journal          {}\n", j.display()));
                out.push_str(&format!("storage.address_book     {}\n", a.display()));
            }
            (Err(e), _) | (_, Err(e)) => out.push_str(&format!("storage                  {e}\n")),
        }
        let e = &self.engine;
        out.push_str(&format!(
            "engine                   match_policy {:?}, reconcile after {} min, {} recent calls\n",
            e.match_policy, e.reconcile_after_minutes, e.recent_calls
        ));
        if let Some(v) = &self.crm.vtiger {
            out.push_str(&format!(
                "crm.vtiger               {} as {}, access key from {}, gateway secret from {}\n",
                v.base_url, v.username, v.access_key, v.gateway_secret
            ));
        }
        if let Some(z) = &self.crm.zoho {
            out.push_str(&format!(
                "crm.zoho                 {} client {}, secret from {}, refresh token from {}\n",
                z.accounts_url, z.client_id, z.client_secret, z.refresh_token
            ));
        }
        if let Some(a) = &self.crm.amocrm {
            let auth = match (&a.long_lived_token, &a.refresh_token) {
                (Some(t), _) => format!("long-lived token from {t}"),
                (None, Some(r)) => format!("OAuth, refresh token in {r}"),
                _ => "no API access (legacy only)".into(),
            };
            out.push_str(&format!(
                "crm.amocrm               {} {auth}, calls via {}\n",
                a.base_url,
                if a.legacy.is_some() {
                    "calls/add"
                } else {
                    "API v4"
                }
            ));
        }
        if let Some(b) = &self.crm.bitrix24 {
            let auth = match (&b.webhook_url, &b.refresh_token) {
                (Some(w), _) => format!("inbound webhook from {w}"),
                (None, Some(r)) => format!("local application, refresh token in {r}"),
                _ => "no credentials".into(),
            };
            out.push_str(&format!("crm.bitrix24             {auth}\n"));
        }
        out.push_str(&format!("agents                   {}\n", self.agents.len()));
        for a in &self.agents {
            out.push_str(&format!(
                "  {:<6} {:<24} token from {}\n",
                a.extension, a.name, a.token
            ));
        }
        out
    }
}

fn resolve(dir: &Path, file: Option<&Path>, default: &str) -> PathBuf {
    match file {
        Some(f) if f.is_absolute() => f.to_path_buf(),
        Some(f) => dir.join(f),
        None => dir.join(default),
    }
}

fn check_http_url(what: &str, url: &str) -> Result<()> {
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"));
    match rest {
        Some(host) if !host.is_empty() && !host.starts_with('/') => Ok(()),
        _ => Err(Error::config(format!(
            "{what} {url:?} must be an http:// or https:// URL"
        ))),
    }
}

fn check_header_name(name: &str) -> Result<()> {
    axum::http::HeaderName::from_bytes(name.as_bytes())
        .map(|_| ())
        .map_err(|_| {
            Error::config(format!(
                "gamma.secret_header {name:?} is not a valid header name"
            ))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINIMAL: &str = r#"
[gamma]
base_url = "https://config.work.oigaa.com/vtcrm/api/"
api_key = { env = "GAMMA_KEY" }
webhook_secret = { keyring = "gamma-webhook" }
"#;

    #[test]
    fn minimal_config_takes_defaults() {
        let c = Config::parse(MINIMAL).unwrap();
        assert_eq!(c.server.listen.to_string(), "127.0.0.1:8700");
        assert_eq!(c.server.max_body_bytes, 65536);
        assert_eq!(c.server.max_connections, 512);
        assert_eq!(c.gamma.secret_header, "X-Ringside-Secret");
        assert_eq!(c.gamma.api_key, SecretRef::Env("GAMMA_KEY".into()));
        assert_eq!(
            c.gamma.webhook_secret,
            SecretRef::Keyring("gamma-webhook".into())
        );
        assert_eq!(c.engine.reconcile_after_minutes, 240);
        assert!(c.gamma.allowed_cidrs.is_empty());
    }

    #[test]
    fn plain_secret_is_rejected_with_a_clear_message() {
        let text = MINIMAL.replace(r#"{ env = "GAMMA_KEY" }"#, r#""83isocjid5hyd02""#);
        let err = Config::parse(&text).unwrap_err();
        assert!(
            err.message.contains(PLAIN_SECRET_MESSAGE),
            "{}",
            err.message
        );
        assert!(!err.message.contains("83isocjid5hyd02"), "{}", err.message);
        assert!(err.message.contains("line 4"), "{}", err.message);
    }

    #[test]
    fn unknown_keys_are_rejected() {
        let text = format!("{MINIMAL}\n[server]\nlisten = \"127.0.0.1:1\"\nport = 3\n");
        let err = Config::parse(&text).unwrap_err();
        assert!(err.message.contains("port"), "{}", err.message);
    }

    #[test]
    fn configure_on_start_needs_public_url() {
        let text = MINIMAL.replace("[gamma]", "[gamma]\nconfigure_on_start = true");
        let err = Config::parse(&text).unwrap_err();
        assert!(err.message.contains("public_url"), "{}", err.message);
    }

    #[test]
    fn bad_secret_source_is_rejected() {
        let text = MINIMAL.replace(r#"{ env = "GAMMA_KEY" }"#, r#"{ file = "/etc/key" }"#);
        let err = Config::parse(&text).unwrap_err();
        assert!(
            err.message.contains("unknown secret source"),
            "{}",
            err.message
        );
    }
}
