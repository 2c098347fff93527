//! The CRMs a hub logs calls to and looks contacts up in.
//!
//! - [`CrmSpec`]: one CRM with its secrets resolved, from the config file
//!   ([`specs_from_config`]) or from the embedded options (desktop, demo);
//!   [`assemble`] turns specs into the framework's [`CrmSet`] (every adapter
//!   behind its layers, with its own outbox).
//! - The agent routes under `/api/v1/crms`: outbox state with parked
//!   operations, retry, connection test, "open in CRM" links.
//! - The inbound click-to-call endpoint `/crm/{name}/click-to-call`: the CRM
//!   asks the hub to dial for one of its users (integration spec §6).

use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, Method, StatusCode};
use ringside_addressbook::AddressBook;
use ringside_amocrm::{AmoAuth, AmoCrm, AmoSettings, CallsMode, TokenStore, UnknownNumber};
use ringside_api::{CrmCheck, CrmLink, CrmRetried, CrmRetryBody, CrmState, ErrorBody, ParkedOp};
use ringside_bitrix24::{BitrixAuth, BitrixCrm, BitrixSettings};
use ringside_core::{ContactLookup, Error, ErrorKind, NumberPlan, Result, Sensitive};
use ringside_crm::{Capability, CombinedLookup, Crm, CrmSet, CrmSettings};
use ringside_vtiger::{VtigerCrm, VtigerSettings};
use ringside_zoho::{Registration, ZohoCrm, ZohoSettings};
use serde::{Deserialize, Serialize};

use crate::api::AuthAgent;
use crate::config::{ClickToCallConfig, Config};
use crate::error::{ApiError, ApiJson, ApiPath, ApiQuery};
use crate::secrets;
use crate::state::{AppState, ct_eq};

/// How long each contact source may take to answer a lookup before the
/// others' answers are returned without it.
pub const PER_SOURCE_LOOKUP: Duration = Duration::from_millis(2500);

/// One CRM to enable, secrets resolved.
#[derive(Debug, Clone)]
pub enum CrmSpec {
    Vtiger {
        settings: VtigerSettings,
        crm: CrmSettings,
        click_to_call: Option<ClickToCall>,
    },
    Zoho {
        settings: ZohoSettings,
        crm: CrmSettings,
        click_to_call: Option<ZohoClickToCall>,
    },
    Amo {
        settings: AmoSettings,
        crm: CrmSettings,
    },
    Bitrix {
        settings: BitrixSettings,
        crm: CrmSettings,
        /// `auth[application_token]` of its events, when they are accepted.
        application_token: Option<Sensitive<String>>,
    },
}

/// Where the hub keeps a rotating refresh token (amoCRM, Bitrix24): the
/// keyring entry the config names. Each new token is written before it is used.
pub struct KeyringTokenStore {
    pub entry: String,
}

impl TokenStore for KeyringTokenStore {
    fn save(&self, refresh_token: &Sensitive<String>) -> Result<()> {
        secrets::keyring_set(&self.entry, refresh_token)
    }
}

/// Zoho's click-to-call and call control through the hub: the token Zoho
/// must send (header or parameter `auth_name`), and where to register.
#[derive(Debug, Clone)]
pub struct ZohoClickToCall {
    pub auth_name: String,
    pub token: Sensitive<String>,
    /// The hub's public base URL, when the URLs are registered at start.
    pub register_at: Option<String>,
}

impl ZohoClickToCall {
    fn inbound(&self) -> ClickToCall {
        ClickToCall {
            method: Method::POST,
            number_param: "tonumber".into(),
            user_param: "userid".into(),
            basic: None,
            token: Some((self.auth_name.clone(), self.token.clone())),
        }
    }

    /// What to register with Zoho's `clicktocallandcallcontrol`.
    pub fn registration(&self, public_url: &str, user_ids: Vec<String>) -> Registration {
        let base = public_url.trim_end_matches('/');
        Registration {
            clicktocall_url: format!("{base}/crm/zoho/click-to-call"),
            hungup_url: Some(format!("{base}/crm/zoho/call-control/hungup")),
            answer_url: None,
            authorization: (self.auth_name.clone(), self.token.clone()),
            user_ids,
        }
    }
}

impl CrmSpec {
    pub fn name(&self) -> &'static str {
        match self {
            CrmSpec::Vtiger { .. } => "vtiger",
            CrmSpec::Zoho { .. } => "zoho",
            CrmSpec::Amo { .. } => "amocrm",
            CrmSpec::Bitrix { .. } => "bitrix24",
        }
    }

    fn click_to_call(&self) -> Option<ClickToCall> {
        match self {
            CrmSpec::Vtiger { click_to_call, .. } => click_to_call.clone(),
            CrmSpec::Zoho { click_to_call, .. } => click_to_call.as_ref().map(|c| c.inbound()),
            CrmSpec::Amo { .. } | CrmSpec::Bitrix { .. } => None,
        }
    }
}

/// How a CRM authenticates its click-to-call requests, and where the number
/// and the user are.
#[derive(Debug, Clone)]
pub struct ClickToCall {
    pub method: Method,
    pub number_param: String,
    pub user_param: String,
    /// HTTP Basic credentials the CRM sends.
    pub basic: Option<(String, Sensitive<String>)>,
    /// Or a token parameter: (name, value).
    pub token: Option<(String, Sensitive<String>)>,
}

impl ClickToCall {
    async fn from_config(crm: &str, c: &ClickToCallConfig) -> Result<Self> {
        let basic = match (&c.username, &c.password) {
            (Some(user), Some(password)) => Some((
                user.clone(),
                secrets::resolve(password)
                    .await
                    .map_err(|e| e.context(format!("crm.{crm}.click_to_call.password")))?,
            )),
            _ => None,
        };
        let token = match (&c.token_param, &c.token) {
            (Some(param), Some(token)) => Some((
                param.clone(),
                secrets::resolve(token)
                    .await
                    .map_err(|e| e.context(format!("crm.{crm}.click_to_call.token")))?,
            )),
            _ => None,
        };
        Ok(Self {
            method: if c.method == "GET" {
                Method::GET
            } else {
                Method::POST
            },
            number_param: c.number_param.clone(),
            user_param: c.user_param.clone(),
            basic,
            token,
        })
    }
}

/// The CRMs of a config file, with their secrets read.
pub async fn specs_from_config(config: &Config) -> Result<Vec<CrmSpec>> {
    let mut specs = Vec::new();
    if let Some(v) = &config.crm.vtiger {
        let access_key = secrets::resolve(&v.access_key)
            .await
            .map_err(|e| e.context("crm.vtiger.access_key"))?;
        let gateway_secret = secrets::resolve(&v.gateway_secret)
            .await
            .map_err(|e| e.context("crm.vtiger.gateway_secret"))?;
        let click_to_call = match &v.click_to_call {
            Some(c) => Some(ClickToCall::from_config("vtiger", c).await?),
            None => None,
        };
        let mut settings = VtigerSettings::new(
            &v.base_url,
            &v.username,
            access_key.expose().clone(),
            gateway_secret.expose().clone(),
        );
        settings.numbers = config.number_plan();
        if let Some(stages) = &v.closed_stages {
            settings.closed_stages = stages.clone();
        }
        specs.push(CrmSpec::Vtiger {
            settings,
            crm: v.crm_settings(),
            click_to_call,
        });
    }
    if let Some(z) = &config.crm.zoho {
        let client_secret = secrets::resolve(&z.client_secret)
            .await
            .map_err(|e| e.context("crm.zoho.client_secret"))?;
        let refresh_token = secrets::resolve(&z.refresh_token)
            .await
            .map_err(|e| e.context("crm.zoho.refresh_token"))?;
        let mut settings = ZohoSettings::new(
            &z.accounts_url,
            &z.client_id,
            client_secret.expose().clone(),
            refresh_token.expose().clone(),
        );
        settings.numbers = config.number_plan();
        if let Some(stages) = &z.closed_stages {
            settings.closed_stages = stages.clone();
        }
        let click_to_call = match &z.click_to_call {
            Some(c) => Some(ZohoClickToCall {
                auth_name: c.auth_name.clone(),
                token: secrets::resolve(&c.token)
                    .await
                    .map_err(|e| e.context("crm.zoho.click_to_call.token"))?,
                register_at: c
                    .register_on_start
                    .then(|| config.server.public_url.clone())
                    .flatten(),
            }),
            None => None,
        };
        specs.push(CrmSpec::Zoho {
            settings,
            crm: z.crm_settings(),
            click_to_call,
        });
    }
    if let Some(a) = &config.crm.amocrm {
        let auth = match (&a.long_lived_token, &a.refresh_token) {
            (Some(token), _) => AmoAuth::LongLived {
                token: secrets::resolve(token)
                    .await
                    .map_err(|e| e.context("crm.amocrm.long_lived_token"))?,
            },
            (None, Some(refresh @ crate::config::SecretRef::Keyring(entry))) => AmoAuth::OAuth {
                client_id: a.client_id.clone().unwrap_or_default(),
                client_secret: match &a.client_secret {
                    Some(secret) => secrets::resolve(secret)
                        .await
                        .map_err(|e| e.context("crm.amocrm.client_secret"))?,
                    None => return Err(Error::config("crm.amocrm.client_secret is required")),
                },
                redirect_uri: a.redirect_uri.clone().unwrap_or_default(),
                refresh_token: secrets::resolve(refresh)
                    .await
                    .map_err(|e| e.context("crm.amocrm.refresh_token"))?,
                store: Arc::new(KeyringTokenStore {
                    entry: entry.clone(),
                }),
            },
            _ => AmoAuth::None,
        };
        let mut settings = AmoSettings::new(&a.base_url, auth);
        settings.numbers = config.number_plan();
        settings.unknown_number = match a.unknown_number {
            crate::config::AmoUnknownNumber::Park => UnknownNumber::Park,
            crate::config::AmoUnknownNumber::CreateContact => UnknownNumber::CreateContact,
        };
        if let Some(l) = &a.legacy {
            settings.mode = CallsMode::Legacy {
                code: l.code.clone(),
                key: secrets::resolve(&l.key)
                    .await
                    .map_err(|e| e.context("crm.amocrm.legacy.key"))?,
                account_id: l.account_id,
                url: l.url.clone(),
            };
        }
        specs.push(CrmSpec::Amo {
            settings,
            crm: a.crm_settings(),
        });
    }
    if let Some(b) = &config.crm.bitrix24 {
        let auth = match (&b.webhook_url, &b.refresh_token) {
            (Some(url), _) => BitrixAuth::Webhook {
                url: secrets::resolve(url)
                    .await
                    .map_err(|e| e.context("crm.bitrix24.webhook_url"))?,
            },
            (None, Some(refresh @ crate::config::SecretRef::Keyring(entry))) => BitrixAuth::OAuth {
                portal_url: b.portal_url.clone().unwrap_or_default(),
                client_id: b.client_id.clone().unwrap_or_default(),
                client_secret: match &b.client_secret {
                    Some(secret) => secrets::resolve(secret)
                        .await
                        .map_err(|e| e.context("crm.bitrix24.client_secret"))?,
                    None => return Err(Error::config("crm.bitrix24.client_secret is required")),
                },
                refresh_token: secrets::resolve(refresh)
                    .await
                    .map_err(|e| e.context("crm.bitrix24.refresh_token"))?,
                store: Arc::new(KeyringTokenStore {
                    entry: entry.clone(),
                }),
            },
            _ => return Err(Error::config("crm.bitrix24 has no credentials")),
        };
        let mut settings = BitrixSettings::new(auth);
        settings.numbers = config.number_plan();
        settings.crm_create = b.crm_create;
        let application_token = match &b.application_token {
            Some(t) => Some(
                secrets::resolve(t)
                    .await
                    .map_err(|e| e.context("crm.bitrix24.application_token"))?,
            ),
            None => None,
        };
        specs.push(CrmSpec::Bitrix {
            settings,
            crm: b.crm_settings(),
            application_token,
        });
    }
    Ok(specs)
}

/// The enabled CRMs, each adapter behind the framework's layers.
pub fn assemble(specs: &[CrmSpec], plan: &NumberPlan) -> Result<Crms> {
    let mut crms = Vec::new();
    let mut inbound = Vec::new();
    let mut zoho: Option<ZohoHandle> = None;
    let mut bitrix_events: Option<Sensitive<String>> = None;
    for spec in specs {
        if let Some(c) = spec.click_to_call() {
            inbound.push((spec.name().to_string(), c));
        }
        match spec {
            CrmSpec::Vtiger { settings, crm, .. } => {
                crm.validate("vtiger")?;
                let mut settings = settings.clone();
                settings.numbers = plan.clone();
                // A bad base URL fails here, at start, not at the first ring.
                let (c, _) = build("vtiger", crm, plan, |throttle| {
                    VtigerCrm::new(settings, throttle).map(Arc::new)
                })?;
                crms.push(c);
            }
            CrmSpec::Zoho {
                settings,
                crm,
                click_to_call,
            } => {
                crm.validate("zoho")?;
                let mut settings = settings.clone();
                settings.numbers = plan.clone();
                let (c, handle) = build("zoho", crm, plan, |throttle| {
                    ZohoCrm::new(settings, throttle).map(Arc::new)
                })?;
                crms.push(c);
                zoho = Some(ZohoHandle {
                    crm: handle,
                    click_to_call: click_to_call.clone(),
                });
            }
            CrmSpec::Bitrix {
                settings,
                crm,
                application_token,
            } => {
                crm.validate("bitrix24")?;
                let mut settings = settings.clone();
                settings.numbers = plan.clone();
                let (c, _) = build("bitrix24", crm, plan, |throttle| {
                    BitrixCrm::new(settings, throttle).map(Arc::new)
                })?;
                crms.push(c);
                bitrix_events = application_token.clone();
            }
            CrmSpec::Amo { settings, crm } => {
                crm.validate("amocrm")?;
                let mut settings = settings.clone();
                settings.numbers = plan.clone();
                let (c, _) = build("amocrm", crm, plan, |throttle| {
                    AmoCrm::new(settings, throttle).map(Arc::new)
                })?;
                crms.push(c);
            }
        }
    }
    Ok(Crms {
        set: CrmSet::new(crms)?,
        inbound,
        zoho,
        bitrix_events,
    })
}

/// One CRM behind the framework, and the adapter itself (for vendor-specific
/// setup). The adapter is made with the CRM's own throttle.
fn build<P: ringside_crm::CrmProvider>(
    name: &'static str,
    crm: &CrmSettings,
    plan: &NumberPlan,
    make: impl FnOnce(Arc<ringside_crm::Throttle>) -> Result<Arc<P>>,
) -> Result<(Crm, Arc<P>)> {
    let mut made: Result<Arc<P>> = Err(Error::internal(format!("{name} was not built")));
    let c = Crm::new(name, crm.clone(), plan.clone(), |throttle| {
        made = make(throttle);
        match &made {
            Ok(p) => p.clone() as Arc<dyn ringside_crm::CrmProvider>,
            Err(_) => Arc::new(Unbuilt(name)),
        }
    });
    Ok((c, made?))
}

/// Stands in for an adapter whose construction failed; never used, since
/// [`build`] returns the error.
struct Unbuilt(&'static str);

#[async_trait::async_trait]
impl ringside_crm::CrmProvider for Unbuilt {
    fn kind(&self) -> &'static str {
        self.0
    }
    fn capabilities(&self) -> ringside_crm::Capabilities {
        ringside_crm::Capabilities::default()
    }
    async fn check(&self) -> Result<ringside_crm::ConnectionInfo> {
        Err(Error::config(format!("{} could not be built", self.0)))
    }
}

/// The Zoho adapter itself (for integration setup), beside its CRM.
#[derive(Clone)]
pub struct ZohoHandle {
    pub crm: Arc<ZohoCrm>,
    pub click_to_call: Option<ZohoClickToCall>,
}

impl ZohoHandle {
    /// Enable PhoneBridge for the account, read its users (PhoneBridge
    /// lists them only once enabled) into `crm`'s directory, and register
    /// the hub's click-to-call and hang-up URLs for the directory's users.
    pub async fn setup(&self, crm: &Crm, public_url: &str) -> Result<String> {
        let enabled_now = self.crm.ensure_integrated().await?;
        let mut done = vec![if enabled_now {
            "PhoneBridge enabled".to_string()
        } else {
            "PhoneBridge was already enabled".to_string()
        }];
        let found = crm.directory().discover(crm.provider().as_ref()).await?;
        let user_ids: Vec<String> = crm
            .directory()
            .all()
            .into_iter()
            .filter_map(|u| u.user_id)
            .collect();
        done.push(format!(
            "{found} Zoho users, {} mapped to extensions",
            user_ids.len()
        ));
        if let Some(c2c) = &self.click_to_call {
            let registration = c2c.registration(public_url, user_ids);
            self.crm.register_click_to_call(&registration).await?;
            done.push(format!(
                "click-to-call → {}, hang-up → {}",
                registration.clicktocall_url,
                registration.hungup_url.as_deref().unwrap_or("-")
            ));
        }
        Ok(done.join("; "))
    }
}

/// The assembled CRMs and their click-to-call endpoints.
pub struct Crms {
    pub set: CrmSet,
    pub inbound: Vec<(String, ClickToCall)>,
    /// The Zoho adapter, for its integration setup.
    pub zoho: Option<ZohoHandle>,
    /// The `auth[application_token]` Bitrix24's events must carry, when the
    /// hub accepts them (`ONEXTERNALCALLSTART`).
    pub bitrix_events: Option<Sensitive<String>>,
}

impl Crms {
    /// Register with the CRMs that call the hub back (Zoho's
    /// `clicktocallandcallcontrol`), in the background: a CRM that is down at
    /// start is retried until it answers.
    pub fn spawn_setup(&self) -> Option<tokio::task::JoinHandle<()>> {
        let zoho = self.zoho.clone()?;
        let public_url = zoho.click_to_call.as_ref()?.register_at.clone()?;
        let crm = self.set.get("zoho").ok()?.clone();
        Some(tokio::spawn(async move {
            let mut wait = Duration::from_secs(5);
            loop {
                match zoho.setup(&crm, &public_url).await {
                    Ok(done) => {
                        tracing::info!("zoho: {done}");
                        return;
                    }
                    Err(e) if e.is_retryable() => {
                        tracing::warn!(error = %e, "zoho setup failed; retrying");
                        tokio::time::sleep(wait).await;
                        wait = (wait * 2).min(Duration::from_secs(60));
                    }
                    Err(e) => {
                        tracing::error!(code = e.kind.code(), "zoho setup failed: {e}");
                        return;
                    }
                }
            }
        }))
    }
}

/// Who-is-calling over every CRM that can look up, then the address book.
pub fn contact_lookup(crms: &CrmSet, book: Option<AddressBook>) -> Arc<dyn ContactLookup> {
    let mut sources = crms.lookups();
    match (sources.is_empty(), book) {
        (true, Some(book)) => Arc::new(book),
        (_, book) => {
            if let Some(book) = book {
                sources.push(Arc::new(book));
            }
            Arc::new(CombinedLookup::new(sources, PER_SOURCE_LOOKUP))
        }
    }
}

fn capability_names(crm: &Crm) -> Vec<String> {
    let caps = crm.capabilities();
    [
        (Capability::LookupContact, "lookup_contact"),
        (Capability::OpenDeals, "open_deals"),
        (Capability::LiveCallEvents, "live_call_events"),
        (Capability::LogAtEnd, "log_at_end"),
        (Capability::AttachRecordingLater, "attach_recording_later"),
        (Capability::CreateContact, "create_contact"),
        (Capability::InboundClickToCall, "inbound_click_to_call"),
    ]
    .into_iter()
    .filter(|(c, _)| caps.has(*c))
    .map(|(_, n)| n.to_string())
    .collect()
}

/// `GET /api/v1/crms`
pub async fn list(
    State(state): State<AppState>,
    AuthAgent(_agent): AuthAgent,
) -> Result<ApiJson<Vec<CrmState>>, ApiError> {
    let mut out = Vec::new();
    for crm in state.crms.crms() {
        let mut entry = CrmState {
            id: crm.id().to_string(),
            kind: crm.provider().kind().to_string(),
            capabilities: capability_names(crm),
            pending: 0,
            parked: 0,
            delivered: 0,
            paused_until: None,
            last_error: None,
            parked_ops: Vec::new(),
        };
        if let Ok(outbox) = state.crms.outbox(crm.id()) {
            let status = outbox.status().await?;
            entry.pending = status.counts.pending;
            entry.parked = status.counts.parked;
            entry.delivered = status.counts.delivered;
            entry.paused_until = status.paused_until;
            entry.last_error = status.last_error.as_ref().map(ErrorBody::from);
            entry.parked_ops = status
                .parked
                .into_iter()
                .map(|op| ParkedOp {
                    id: op.id,
                    call_id: op.call_id.0,
                    op: op.kind,
                    code: op.error_code,
                    reason: op.last_error,
                    attempts: op.attempts,
                    created_at: op.created_at,
                })
                .collect();
        }
        out.push(entry);
    }
    Ok(ApiJson(out))
}

/// `POST /api/v1/crms/{id}/retry`
pub async fn retry(
    State(state): State<AppState>,
    AuthAgent(_agent): AuthAgent,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<CrmRetryBody>,
) -> Result<ApiJson<CrmRetried>, ApiError> {
    let outbox = state.crms.outbox(&id)?;
    let retried = outbox.retry_parked(body.op_id).await?;
    Ok(ApiJson(CrmRetried { retried }))
}

/// `POST /api/v1/crms/{id}/check`
pub async fn check(
    State(state): State<AppState>,
    AuthAgent(_agent): AuthAgent,
    ApiPath(id): ApiPath<String>,
) -> Result<ApiJson<CrmCheck>, ApiError> {
    let crm = state.crms.get(&id)?;
    let info = crm.check().await.map_err(ApiError::from_pbx)?;
    Ok(ApiJson(CrmCheck {
        account: info.account,
        detail: info.detail,
    }))
}

#[derive(Debug, Deserialize)]
pub struct LinksQuery {
    number: String,
}

/// `GET /api/v1/crms/links?number=`
pub async fn links(
    State(state): State<AppState>,
    AuthAgent(_agent): AuthAgent,
    ApiQuery(q): ApiQuery<LinksQuery>,
) -> Result<ApiJson<Vec<CrmLink>>, ApiError> {
    let number = state.engine.config().plan.normalize(&q.number);
    Ok(ApiJson(
        state
            .crms
            .crms()
            .iter()
            .filter_map(|c| {
                c.provider().search_url(&number).map(|url| CrmLink {
                    crm: c.id().to_string(),
                    url,
                })
            })
            .collect(),
    ))
}

/// What the click-to-call endpoint answers.
#[derive(Debug, Serialize)]
pub struct Dialed {
    pub call_id: String,
    pub extension: String,
}

/// `POST|GET /crm/{name}/click-to-call`: the CRM asks to dial `number` for
/// one of its users. Authenticated per the CRM's settings; the user is
/// looked up in that CRM's agent directory (by CRM id, phone or extension).
pub async fn click_to_call(
    State(state): State<AppState>,
    ApiPath(name): ApiPath<String>,
    method: Method,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
    body: Bytes,
) -> Result<(StatusCode, ApiJson<Dialed>), ApiError> {
    let Some((_, c2c)) = state.click_to_call.iter().find(|(n, _)| *n == name) else {
        return Err(ApiError::not_found(format!(
            "click-to-call is not enabled for {name:?}"
        )));
    };
    if method != c2c.method {
        return Err(ApiError::method_not_allowed());
    }
    let params = request_params(&method, &headers, query, &body)?;
    let param = |key: &str| {
        params
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.trim().to_string())
    };
    authenticate(c2c, &headers, &param)?;

    let number = param(&c2c.number_param)
        .filter(|n| !n.is_empty())
        .ok_or_else(|| {
            ApiError::invalid(format!("`{}` (the number) is required", c2c.number_param))
        })?;
    let user = param(&c2c.user_param)
        .filter(|u| !u.is_empty())
        .ok_or_else(|| ApiError::invalid(format!("`{}` (the user) is required", c2c.user_param)))?;
    let crm = state.crms.get(&name)?;
    crm.capabilities()
        .require(crm.id(), Capability::InboundClickToCall)?;
    let agent = crm_agent(crm, &name, &user)?;
    let call = state
        .engine
        .dial(&agent.extension, &number)
        .await
        .map_err(ApiError::from_pbx)?;
    tracing::info!(crm = %name, extension = %agent.extension, call = %call.id, "click-to-call from the CRM");
    Ok((
        StatusCode::CREATED,
        ApiJson(Dialed {
            call_id: call.id.0,
            extension: agent.extension,
        }),
    ))
}

/// The CRM user named `user` (CRM id, phone or extension) in `crm`'s
/// agent directory.
fn crm_agent(crm: &Crm, name: &str, user: &str) -> Result<ringside_crm::CrmUser, ApiError> {
    let directory = crm.directory();
    directory
        .by_user_id(user)
        .or_else(|| directory.by_phone(user))
        .or_else(|| directory.user(user))
        .ok_or_else(|| {
            ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "unknown_user",
                format!("{name} user {user:?} has no extension in the agent directory"),
            )
        })
}

/// `POST /crm/{name}/call-control/{action}`: the CRM's call control (Zoho's
/// `hungupurl`...). `callrefid` is Ringside's call id (what the CRM was
/// given); only `hungup` has a PBX request behind it (Gamma `drop`).
pub async fn call_control(
    State(state): State<AppState>,
    ApiPath((name, action)): ApiPath<(String, String)>,
    method: Method,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
    body: Bytes,
) -> Result<ApiJson<ringside_api::Done>, ApiError> {
    let Some((_, c2c)) = state.click_to_call.iter().find(|(n, _)| *n == name) else {
        return Err(ApiError::not_found(format!(
            "call control is not enabled for {name:?}"
        )));
    };
    if method != Method::POST {
        return Err(ApiError::method_not_allowed());
    }
    let params = request_params(&method, &headers, query, &body)?;
    let param = |key: &str| {
        params
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.trim().to_string())
    };
    authenticate(c2c, &headers, &param)?;
    let call_id = param("callrefid")
        .filter(|c| !c.is_empty())
        .ok_or_else(|| ApiError::invalid("`callrefid` is required"))?;
    let call = state
        .engine
        .call(&ringside_core::CallId(call_id.clone()))
        .await
        .map_err(|_| ApiError::not_found(format!("no call {call_id:?}")))?;
    if let Some(user) = param(&c2c.user_param).filter(|u| !u.is_empty()) {
        let crm = state.crms.get(&name)?;
        let agent = crm_agent(crm, &name, &user)?;
        if !call.involves(&agent.extension) {
            return Err(ApiError::forbidden(format!(
                "call {call_id} is not {name} user {user:?}'s call"
            )));
        }
    }
    match action.as_str() {
        "hungup" | "hangup" => {
            state
                .engine
                .hang_up(&call.id)
                .await
                .map_err(ApiError::from_pbx)?;
            tracing::info!(crm = %name, call = %call.id, "hang-up from the CRM");
            Ok(ApiJson(ringside_api::Done { ok: true }))
        }
        "answer" | "mute" | "unmute" | "hold" | "unhold" | "keypress" => Err(ApiError::new(
            StatusCode::NOT_IMPLEMENTED,
            ErrorKind::Unsupported.code(),
            format!("the PBX (Gamma) has no request to {action} a call"),
        )),
        other => Err(ApiError::not_found(format!(
            "unknown call-control action {other:?}"
        ))),
    }
}

/// The parameters of a CRM's request: the query string, plus (POST) the
/// form body.
fn request_params(
    method: &Method,
    headers: &HeaderMap,
    query: Option<String>,
    body: &[u8],
) -> Result<Vec<(String, String)>, ApiError> {
    let params: Vec<(String, String)> = if *method == Method::GET {
        form_urlencoded::parse(query.unwrap_or_default().as_bytes())
            .into_owned()
            .collect()
    } else {
        let form = headers
            .get(axum::http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|ct| ct.starts_with("application/x-www-form-urlencoded"));
        if !form {
            return Err(ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                "expected an application/x-www-form-urlencoded body",
            ));
        }
        let mut all: Vec<(String, String)> =
            form_urlencoded::parse(query.unwrap_or_default().as_bytes())
                .into_owned()
                .collect();
        all.extend(form_urlencoded::parse(body).into_owned());
        all
    };
    Ok(params)
}

fn authenticate(
    c2c: &ClickToCall,
    headers: &HeaderMap,
    param: &dyn Fn(&str) -> Option<String>,
) -> Result<(), ApiError> {
    if let Some((name, token)) = &c2c.token {
        // As a parameter, or as a header of the same name (Zoho's
        // `authorizationparam` may be sent either way).
        let given = param(name).or_else(|| {
            headers
                .get(name.as_str())
                .and_then(|v| v.to_str().ok())
                .map(|v| v.trim().to_string())
        });
        if let Some(given) = given
            && ct_eq(token.expose().as_bytes(), given.as_bytes())
        {
            return Ok(());
        }
    }
    if let Some((user, password)) = &c2c.basic
        && let Some(given) = headers
            .get(axum::http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| {
                v.strip_prefix("Basic ")
                    .or_else(|| v.strip_prefix("basic "))
            })
    {
        use base64::Engine as _;
        let expected = base64::engine::general_purpose::STANDARD
            .encode(format!("{user}:{}", password.expose()));
        if ct_eq(expected.as_bytes(), given.trim().as_bytes()) {
            return Ok(());
        }
    }
    Err(ApiError::unauthorized(
        "click-to-call credentials missing or wrong",
    ))
}

/// What the Bitrix24 event endpoint answers.
#[derive(Debug, Serialize)]
pub struct EventAccepted {
    pub event: String,
    pub call_id: Option<String>,
}

/// `POST /crm/bitrix24/events`: Bitrix24's event handler
/// (`ONEXTERNALCALLSTART`: a user clicked a number in Bitrix24). Form-encoded
/// with PHP-style keys (`data[CALL_ID]`, `auth[application_token]`); the
/// token is checked first. Bitrix24 does not retry events, so the call is
/// journaled (with the `CALL_ID` Bitrix24 already registered, so the ring is
/// never registered again) before the PBX is asked and before we answer.
pub async fn bitrix_event(
    State(state): State<AppState>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
    body: Bytes,
) -> Result<ApiJson<EventAccepted>, ApiError> {
    let Some(expected) = state.bitrix_events.clone() else {
        return Err(ApiError::not_found("Bitrix24 events are not enabled"));
    };
    let params = request_params(&Method::POST, &headers, query, &body)?;
    let param = |key: &str| {
        params
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(key))
            .map(|(_, v)| v.trim().to_string())
    };
    let token = param("auth[application_token]").unwrap_or_default();
    if !ct_eq(expected.expose().as_bytes(), token.as_bytes()) {
        return Err(ApiError::unauthorized(
            "auth[application_token] missing or wrong",
        ));
    }
    let event = param("event").unwrap_or_default().to_ascii_uppercase();
    if event != "ONEXTERNALCALLSTART" {
        tracing::info!(event = %event, "bitrix24 event ignored");
        return Ok(ApiJson(EventAccepted {
            event,
            call_id: None,
        }));
    }
    let field = |name: &str| {
        param(&format!("data[{name}]"))
            .filter(|v| !v.is_empty())
            .ok_or_else(|| ApiError::invalid(format!("data[{name}] is required")))
    };
    let bitrix_call_id = field("CALL_ID")?;
    let number = field("PHONE_NUMBER")?;
    let user = field("USER_ID")?;
    let crm = state.crms.get("bitrix24")?;
    let agent = crm_agent(crm, "bitrix24", &user)?;
    let now = chrono::Utc::now();
    let sent = serde_json::json!({
        "CALL_ID": bitrix_call_id,
        "registered_by": "bitrix24 (ONEXTERNALCALLSTART)",
    });
    let call = state
        .engine
        .dial_with(&agent.extension, &number, move |tx, call| {
            ringside_crm::record_external_ring(tx, "bitrix24", call, &sent, now)
        })
        .await
        .map_err(ApiError::from_pbx)?;
    tracing::info!(extension = %agent.extension, call = %call.id, "click-to-call from Bitrix24");
    Ok(ApiJson(EventAccepted {
        event,
        call_id: Some(call.id.0),
    }))
}
