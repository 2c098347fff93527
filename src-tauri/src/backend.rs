//! The connection to calls, per mode, and the live feed that drives the app.
//!
//! - demo: an in-process hub whose Gamma emulator plays the demo script
//!   (with `crm.demo_vtiger`, also an emulated Vtiger with the demo data);
//! - embedded: an in-process hub on this agent's Gamma account (API key and
//!   webhook secret from the keyring), plus Vtiger when `crm.vtiger` is on
//!   (its access key and gateway secret from the keyring) and Zoho when
//!   `crm.zoho` is on (its client secret and the refresh token of the
//!   Connect flow from the keyring) and amoCRM when `crm.amocrm` is on (its
//!   long-lived token, or its OAuth client secret and refresh token, from the
//!   keyring; rotated refresh tokens go back there through
//!   [`crate::secrets::AmoTokenStore`]) and Bitrix24 when `crm.bitrix24` is
//!   on (its webhook URL, or its local application's secret and refresh
//!   token, from the keyring; rotated refresh tokens go back there through
//!   [`crate::secrets::BitrixTokenStore`]);
//! - hub: a remote `ringside-hub` (URL from the settings, `hub-token` from the
//!   keyring).
//!
//! Whatever the mode, the app talks to it through one [`HubClient`]. A
//! supervisor task connects, follows the live feed (each update goes to
//! [`crate::pop::on_update`]), probes the PBX through the hub, publishes
//! `status`, and reconnects with backoff. [`Backend::restart`] replaces it
//! when the settings change.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::StreamExt;
use ringside_api::{Me, PbxState};
use ringside_client::{HubClient, LiveEvent};
use ringside_core::{ErrorKind, NumberPlan, Sensitive};
use ringside_hub::crms::CrmSpec;
use ringside_hub::embedded::{self, EmbeddedHub, EmbeddedOptions, EmbeddedPbx};
use tauri::{AppHandle, Emitter, Manager, Runtime};

use crate::error::{CommandError, CommandResult};
use crate::models::{
    AmoAuthMode, AmoDesktop, AmoUnknownNumber, BitrixAuthMode, BitrixDesktop, BitrixPlan,
    ConnState, ConnStatus, Mode, PbxSettings, SecretName, VtigerDesktop, ZohoDesktop, events,
};
use crate::secrets::{AmoTokenStore, BitrixTokenStore};
use crate::state::AppState;

/// How often the hub is asked whether it reaches the PBX.
const PBX_PROBE: Duration = Duration::from_secs(20);
const MAX_BACKOFF: Duration = Duration::from_secs(30);

/// One live connection: the client, who we are, and the embedded hub when
/// there is one (dropping it stops it).
pub struct Connection {
    pub mode: Mode,
    pub client: HubClient,
    pub me: Me,
    /// The in-process hub (demo, embedded); taken and shut down on restart.
    pub embedded: tokio::sync::Mutex<Option<EmbeddedHub>>,
    /// The demo's data folder, deleted with the connection.
    _demo_dir: Option<tempfile::TempDir>,
}

impl Connection {
    /// The demo's Gamma emulator (tests drive calls with it).
    pub async fn emulator(&self) -> Option<Arc<ringside_gamma_emulator::EmulatorHandle>> {
        self.embedded
            .lock()
            .await
            .as_ref()
            .and_then(|h| h.emulator.clone())
    }

    /// Stop the in-process hub, if any.
    pub async fn shutdown(&self) {
        let hub = self.embedded.lock().await.take();
        if let Some(hub) = hub {
            hub.shutdown().await;
        }
    }
}

#[derive(Clone, Default)]
pub struct Backend {
    inner: Arc<Mutex<Inner>>,
}

#[derive(Default)]
struct Inner {
    conn: Option<Arc<Connection>>,
    task: Option<tauri::async_runtime::JoinHandle<()>>,
    generation: u64,
}

impl Backend {
    /// The current connection, or `unavailable` while there is none.
    pub fn connection(&self) -> CommandResult<Arc<Connection>> {
        self.inner
            .lock()
            .unwrap()
            .conn
            .clone()
            .ok_or_else(|| CommandError::unavailable("not connected yet"))
    }

    /// (Re)connect with the current settings, replacing any connection.
    pub fn restart<R: Runtime>(&self, app: &AppHandle<R>) {
        let mut inner = self.inner.lock().unwrap();
        if let Some(task) = inner.task.take() {
            task.abort();
        }
        let old = inner.conn.take();
        inner.generation += 1;
        let generation = inner.generation;
        let backend = self.clone();
        let app = app.clone();
        inner.task = Some(tauri::async_runtime::spawn(async move {
            // The old embedded hub releases its ports before the new one binds them.
            if let Some(old) = old {
                old.shutdown().await;
            }
            backend.supervise(app, generation).await;
        }));
    }

    /// Stop the connection and the embedded hub.
    pub async fn stop(&self) {
        let old = {
            let mut inner = self.inner.lock().unwrap();
            if let Some(task) = inner.task.take() {
                task.abort();
            }
            inner.generation += 1;
            inner.conn.take()
        };
        if let Some(old) = old {
            old.shutdown().await;
        }
    }

    fn install(&self, generation: u64, conn: Option<Arc<Connection>>) -> bool {
        let mut inner = self.inner.lock().unwrap();
        if inner.generation != generation {
            return false;
        }
        inner.conn = conn;
        true
    }

    async fn supervise<R: Runtime>(self, app: AppHandle<R>, generation: u64) {
        let mut backoff = Duration::from_secs(1);
        loop {
            publish(&app, ConnStatus::connecting());
            match connect(&app).await {
                Ok(conn) => {
                    backoff = Duration::from_secs(1);
                    let conn = Arc::new(conn);
                    if !self.install(generation, Some(conn.clone())) {
                        return;
                    }
                    on_connected(&app, &conn);
                    follow(&app, &conn).await;
                    self.install(generation, None);
                    conn.shutdown().await;
                }
                Err(e) => {
                    tracing::warn!("cannot connect: {e}");
                    publish(&app, status_for_error(&e));
                }
            }
            tokio::time::sleep(backoff).await;
            backoff = (backoff * 2).min(MAX_BACKOFF);
        }
    }
}

/// Status for a failed connection attempt or a broken stream: the hub
/// (remote or embedded) is not usable; the message says why.
fn status_for_error(e: &CommandError) -> ConnStatus {
    ConnStatus::new(ConnState::HubOffline, Some(e.message.clone()))
}

/// Set and emit the status when it changed; the tray follows.
pub fn publish<R: Runtime>(app: &AppHandle<R>, status: ConnStatus) {
    let state = app.state::<AppState>();
    if state.set_status(status.clone()) {
        let _ = app.emit(events::STATUS, &status);
        crate::tray::refresh(app);
    }
}

fn on_connected<R: Runtime>(app: &AppHandle<R>, conn: &Connection) {
    let state = app.state::<AppState>();
    state.set_agent(Some(conn.me.clone()));
    state.reset_missed(conn.me.missed_calls);
    let _ = app.emit(events::MISSED, conn.me.missed_calls);
    crate::tray::refresh(app);
    if let Some(number) = state.take_pending_dial() {
        crate::dial_from_outside(app, number);
    }
}

/// Follow the live feed until it ends; probe the PBX while connected.
async fn follow<R: Runtime>(app: &AppHandle<R>, conn: &Connection) {
    let after = match conn.mode {
        // A fresh demo journal: everything in it is news (the first ring may
        // have happened while we were connecting).
        Mode::Demo => Some(0),
        // Otherwise only what happens from now on.
        _ => None,
    };
    let mut feed = conn.client.live(after);
    let mut probe = tokio::time::interval(PBX_PROBE);
    let mut connected = false;
    loop {
        tokio::select! {
            event = feed.next() => match event {
                None => return,
                Some(LiveEvent::Connected) => {
                    connected = true;
                    probe.reset_immediately();
                }
                Some(LiveEvent::Update(update)) => crate::pop::on_update(app, update).await,
                Some(LiveEvent::Disconnected { reason }) => {
                    connected = false;
                    publish(app, status_for_error(&reason.into()));
                }
            },
            _ = probe.tick(), if connected => {
                let status = match conn.client.status().await {
                    Ok(s) if s.pbx.state == PbxState::Ok => ConnStatus::new(ConnState::Connected, None),
                    Ok(s) => ConnStatus::new(ConnState::PbxUnreachable, Some(s.pbx.message)),
                    Err(e) => ConnStatus::new(ConnState::HubOffline, Some(e.message)),
                };
                publish(app, status);
            }
        }
    }
}

/// Open the connection the settings ask for.
async fn connect<R: Runtime>(app: &AppHandle<R>) -> CommandResult<Connection> {
    let state = app.state::<AppState>();
    let settings = state.settings();
    let mode = state.mode();
    let mut demo_dir = None;
    let (client, embedded) = match mode {
        Mode::Demo => {
            // A fresh journal per start: the demo's history is the demo's.
            let dir = tempfile::Builder::new()
                .prefix("ringside-demo-")
                .tempdir()
                .map_err(|e| {
                    CommandError::kind(
                        ErrorKind::Storage,
                        format!("cannot create a demo folder: {e}"),
                    )
                })?;
            let mut options = EmbeddedOptions::demo(
                dir.path().to_path_buf(),
                state.options.demo_play,
                state.options.demo_speed,
            );
            options.match_policy = settings.match_policy;
            options.demo_vtiger = settings.crm.demo_vtiger;
            let hub = embedded::start(options).await?;
            demo_dir = Some(dir);
            (HubClient::new(&hub.api_url, hub.token.clone())?, Some(hub))
        }
        Mode::Embedded => {
            let api_key = required(&state, SecretName::PbxApiKey, "the PBX API key").await?;
            let webhook_secret =
                required(&state, SecretName::WebhookSecret, "the webhook secret").await?;
            let pbx = &settings.pbx;
            let plan = NumberPlan {
                region: pbx.region.clone(),
                outside_line_prefix: pbx.outside_line_prefix.clone(),
                ..NumberPlan::default()
            };
            let crms = crm_specs(&state, &settings, &plan).await?;
            let data_dir = state.options.data_dir.clone().unwrap_or_else(|| {
                dirs::data_dir()
                    .unwrap_or_else(|| std::path::PathBuf::from("."))
                    .join("ringside")
                    .join("embedded")
            });
            let hub =
                embedded::start(EmbeddedOptions {
                    data_dir,
                    agent_name: pbx.agent_name.clone(),
                    extension: pbx.extension.clone(),
                    plan,
                    match_policy: settings.match_policy,
                    pbx: EmbeddedPbx::Gamma {
                        base_url: pbx.base_url.clone(),
                        api_key,
                        webhook_secret,
                        webhook_listen: pbx.webhook_listen.trim().parse().map_err(|e| {
                            CommandError::invalid(format!("pbx.webhook_listen: {e}"))
                        })?,
                        public_url: pbx.public_url.clone(),
                        configure_on_start: pbx.configure_on_start,
                    },
                    crms,
                    demo_vtiger: false,
                })
                .await?;
            (HubClient::new(&hub.api_url, hub.token.clone())?, Some(hub))
        }
        Mode::Hub => {
            let token = required(&state, SecretName::HubToken, "the hub token").await?;
            (HubClient::new(&settings.hub.url, token)?, None)
        }
    };
    let me = match client.me().await {
        Ok(me) => me,
        Err(e) => {
            if let Some(hub) = embedded {
                hub.shutdown().await;
            }
            return Err(e.into());
        }
    };
    Ok(Connection {
        mode,
        client,
        me,
        embedded: tokio::sync::Mutex::new(embedded),
        _demo_dir: demo_dir,
    })
}

/// The CRMs of `settings.crm` (embedded mode), secrets from the keyring.
async fn crm_specs(
    state: &AppState,
    settings: &crate::models::Settings,
    plan: &NumberPlan,
) -> CommandResult<Vec<CrmSpec>> {
    let mut specs = Vec::new();
    if let Some(v) = settings.crm.vtiger_enabled() {
        let access_key =
            required(state, SecretName::VtigerAccessKey, "the Vtiger access key").await?;
        let gateway_secret = required(
            state,
            SecretName::VtigerGatewaySecret,
            "the Vtiger gateway secret",
        )
        .await?;
        specs.push(vtiger_spec(
            v,
            &settings.pbx,
            plan,
            access_key,
            gateway_secret,
        ));
    }
    if let Some(z) = settings.crm.zoho_enabled() {
        let client_secret = required(
            state,
            SecretName::ZohoClientSecret,
            "the Zoho client secret",
        )
        .await?;
        let refresh_token = state
            .secrets
            .get(SecretName::ZohoRefreshToken)
            .await?
            .ok_or_else(|| CommandError::kind(ErrorKind::Config, ZOHO_NOT_CONNECTED))?;
        specs.push(zoho_spec(
            z,
            &settings.pbx,
            plan,
            client_secret,
            refresh_token,
        ));
    }
    if let Some(a) = settings.crm.amocrm_enabled() {
        let auth = match a.auth {
            AmoAuthMode::LongLived => ringside_amocrm::AmoAuth::LongLived {
                token: required(
                    state,
                    SecretName::AmocrmToken,
                    "the amoCRM long-lived token (amocrm-token)",
                )
                .await?,
            },
            AmoAuthMode::OAuth => ringside_amocrm::AmoAuth::OAuth {
                client_id: a.client_id.clone().unwrap_or_default(),
                client_secret: required(
                    state,
                    SecretName::AmocrmClientSecret,
                    "the amoCRM client secret (amocrm-client-secret)",
                )
                .await?,
                redirect_uri: a.redirect_uri.clone().unwrap_or_default(),
                refresh_token: required(
                    state,
                    SecretName::AmocrmRefreshToken,
                    "the amoCRM refresh token (amocrm-refresh-token)",
                )
                .await?,
                store: Arc::new(AmoTokenStore::new(state.secrets.clone())),
            },
        };
        specs.push(amo_spec(a, &settings.pbx, plan, auth));
    }
    if let Some(b) = settings.crm.bitrix24_enabled() {
        let auth = match b.auth {
            BitrixAuthMode::Webhook => ringside_bitrix24::BitrixAuth::Webhook {
                url: required(
                    state,
                    SecretName::Bitrix24WebhookUrl,
                    "the Bitrix24 webhook URL (bitrix24-webhook-url)",
                )
                .await?,
            },
            BitrixAuthMode::OAuth => ringside_bitrix24::BitrixAuth::OAuth {
                portal_url: b.portal_url.clone().unwrap_or_default(),
                client_id: b.client_id.clone().unwrap_or_default(),
                client_secret: required(
                    state,
                    SecretName::Bitrix24ClientSecret,
                    "the Bitrix24 client secret (bitrix24-client-secret)",
                )
                .await?,
                refresh_token: required(
                    state,
                    SecretName::Bitrix24RefreshToken,
                    "the Bitrix24 refresh token (bitrix24-refresh-token)",
                )
                .await?,
                store: Arc::new(BitrixTokenStore::new(state.secrets.clone())),
            },
        };
        specs.push(bitrix_spec(b, &settings.pbx, plan, auth));
    }
    Ok(specs)
}

/// Bitrix24's REST limits per plan: standard 2 requests/s with a burst of
/// 50, enterprise 5 with a burst of 250.
pub fn bitrix_limits(plan: BitrixPlan) -> ringside_crm::Limits {
    let (requests_per_second, burst) = match plan {
        BitrixPlan::Standard => (2.0, 50),
        BitrixPlan::Enterprise => (5.0, 250),
    };
    ringside_crm::Limits {
        requests_per_second,
        burst,
        ..ringside_crm::Limits::default()
    }
}

/// `crm.bitrix24` as the hub's CRM spec: this agent as the one directory
/// entry (by extension: Bitrix24 users carry it in `UF_PHONE_INNER`), other
/// users discovered, the plan's limits, no application token (the desktop
/// takes no Bitrix24 events).
pub fn bitrix_spec(
    b: &BitrixDesktop,
    pbx: &PbxSettings,
    plan: &NumberPlan,
    auth: ringside_bitrix24::BitrixAuth,
) -> CrmSpec {
    let mut settings = ringside_bitrix24::BitrixSettings::new(auth);
    settings.numbers = plan.clone();
    settings.crm_create = b.crm_create;
    let agent_name = pbx.agent_name.trim();
    CrmSpec::Bitrix {
        settings,
        crm: ringside_crm::CrmSettings {
            users: vec![ringside_crm::CrmUser {
                extension: pbx.extension.clone(),
                user_id: None,
                name: (!agent_name.is_empty()).then(|| agent_name.to_string()),
                phone: None,
                email: None,
            }],
            discover_users: true,
            limits: bitrix_limits(b.plan),
            ..Default::default()
        },
        application_token: None,
    }
}

/// amo allows 7 requests per second: Ringside keeps to 5, a burst of 2.
pub fn amo_limits() -> ringside_crm::Limits {
    ringside_crm::Limits {
        requests_per_second: 5.0,
        burst: 2,
        ..ringside_crm::Limits::default()
    }
}

/// `crm.amocrm` as the hub's CRM spec: this agent as the one directory entry
/// (its amo e-mail: the user id is found by e-mail in `/api/v4/users`),
/// other users discovered, 5 requests/s with a burst of 2.
pub fn amo_spec(
    a: &AmoDesktop,
    pbx: &PbxSettings,
    plan: &NumberPlan,
    auth: ringside_amocrm::AmoAuth,
) -> CrmSpec {
    let mut settings = ringside_amocrm::AmoSettings::new(a.base_url.clone(), auth);
    settings.numbers = plan.clone();
    settings.unknown_number = match a.unknown_number {
        AmoUnknownNumber::Park => ringside_amocrm::UnknownNumber::Park,
        AmoUnknownNumber::CreateContact => ringside_amocrm::UnknownNumber::CreateContact,
    };
    let agent_name = pbx.agent_name.trim();
    CrmSpec::Amo {
        settings,
        crm: ringside_crm::CrmSettings {
            users: vec![ringside_crm::CrmUser {
                extension: pbx.extension.clone(),
                user_id: None,
                name: (!agent_name.is_empty()).then(|| agent_name.to_string()),
                phone: None,
                email: Some(a.email.clone()),
            }],
            discover_users: true,
            limits: amo_limits(),
            ..Default::default()
        },
    }
}

/// Zoho is on but the Connect flow has not stored a refresh token.
pub const ZOHO_NOT_CONNECTED: &str = "Zoho is not connected yet: press Connect in Settings";

/// `crm.zoho` as the hub's CRM spec: this agent as the one directory entry
/// (its Zoho e-mail: the user id is found by e-mail in PhoneBridge `users`),
/// other users discovered, no click-to-call (Zoho cannot reach a desktop).
pub fn zoho_spec(
    z: &ZohoDesktop,
    pbx: &PbxSettings,
    plan: &NumberPlan,
    client_secret: Sensitive<String>,
    refresh_token: Sensitive<String>,
) -> CrmSpec {
    let mut settings = ringside_zoho::ZohoSettings::new(
        z.accounts_url.clone(),
        z.client_id.clone(),
        client_secret.expose().clone(),
        refresh_token.expose().clone(),
    );
    settings.numbers = plan.clone();
    let agent_name = pbx.agent_name.trim();
    CrmSpec::Zoho {
        settings,
        crm: ringside_crm::CrmSettings {
            users: vec![ringside_crm::CrmUser {
                extension: pbx.extension.clone(),
                user_id: None,
                name: (!agent_name.is_empty()).then(|| agent_name.to_string()),
                phone: None,
                email: Some(z.email.clone()),
            }],
            discover_users: true,
            ..Default::default()
        },
        click_to_call: None,
    }
}

/// `crm.vtiger` as the hub's CRM spec: this agent as the one directory
/// entry (its Office Phone, or the extension), other users discovered.
pub fn vtiger_spec(
    v: &VtigerDesktop,
    pbx: &PbxSettings,
    plan: &NumberPlan,
    access_key: Sensitive<String>,
    gateway_secret: Sensitive<String>,
) -> CrmSpec {
    let mut settings = ringside_vtiger::VtigerSettings::new(
        v.base_url.clone(),
        v.username.clone(),
        access_key.expose().clone(),
        gateway_secret.expose().clone(),
    );
    settings.numbers = plan.clone();
    let agent_name = pbx.agent_name.trim();
    CrmSpec::Vtiger {
        settings,
        crm: ringside_crm::CrmSettings {
            users: vec![ringside_crm::CrmUser {
                extension: pbx.extension.clone(),
                user_id: None,
                name: (!agent_name.is_empty()).then(|| agent_name.to_string()),
                phone: v.office_phone.clone(),
                email: None,
            }],
            discover_users: true,
            ..Default::default()
        },
        click_to_call: None,
    }
}

async fn required(
    state: &AppState,
    name: SecretName,
    what: &str,
) -> CommandResult<Sensitive<String>> {
    state.secrets.get(name).await?.ok_or_else(|| {
        CommandError::kind(
            ErrorKind::Config,
            format!("{what} is not stored yet: add it in Settings"),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::models::Settings;
    use crate::secrets::Secrets;
    use crate::state::Options;

    fn vtiger() -> VtigerDesktop {
        VtigerDesktop {
            enabled: true,
            base_url: "https://acme.od2.vtiger.com".into(),
            username: "admin@acme.com".into(),
            office_phone: Some("+34 961 000 203".into()),
        }
    }

    #[test]
    fn the_vtiger_spec_carries_this_agent_and_the_number_plan() {
        let pbx = PbxSettings {
            agent_name: "Tony Manero".into(),
            extension: "203".into(),
            ..PbxSettings::default()
        };
        let plan = NumberPlan {
            region: "PT".into(),
            ..NumberPlan::default()
        };
        let spec = vtiger_spec(
            &vtiger(),
            &pbx,
            &plan,
            Sensitive::new("key".into()),
            Sensitive::new("gateway".into()),
        );
        assert_eq!(spec.name(), "vtiger");
        let CrmSpec::Vtiger {
            settings,
            crm,
            click_to_call,
        } = spec
        else {
            panic!("not a Vtiger spec");
        };
        assert_eq!(settings.base_url, "https://acme.od2.vtiger.com");
        assert_eq!(settings.username, "admin@acme.com");
        assert_eq!(settings.access_key.expose(), "key");
        assert_eq!(settings.gateway_secret.expose(), "gateway");
        assert_eq!(settings.numbers.region, "PT");
        assert!(crm.discover_users);
        assert_eq!(crm.users.len(), 1);
        assert_eq!(crm.users[0].extension, "203");
        assert_eq!(crm.users[0].name.as_deref(), Some("Tony Manero"));
        assert_eq!(crm.users[0].phone.as_deref(), Some("+34 961 000 203"));
        assert!(click_to_call.is_none());
    }

    fn zoho() -> ZohoDesktop {
        ZohoDesktop {
            enabled: true,
            accounts_url: "https://accounts.zoho.eu".into(),
            client_id: "1000.CLIENT".into(),
            email: "tony@acme.com".into(),
        }
    }

    #[test]
    fn the_zoho_spec_carries_this_agent_by_email_and_the_number_plan() {
        let pbx = PbxSettings {
            agent_name: "Tony Manero".into(),
            extension: "203".into(),
            ..PbxSettings::default()
        };
        let plan = NumberPlan {
            region: "PT".into(),
            ..NumberPlan::default()
        };
        let spec = zoho_spec(
            &zoho(),
            &pbx,
            &plan,
            Sensitive::new("client-secret".into()),
            Sensitive::new("1000.refresh".into()),
        );
        assert_eq!(spec.name(), "zoho");
        let CrmSpec::Zoho {
            settings,
            crm,
            click_to_call,
        } = spec
        else {
            panic!("not a Zoho spec");
        };
        assert_eq!(settings.accounts_url, "https://accounts.zoho.eu");
        assert_eq!(settings.client_id, "1000.CLIENT");
        assert_eq!(settings.client_secret.expose(), "client-secret");
        assert_eq!(settings.refresh_token.expose(), "1000.refresh");
        assert_eq!(settings.numbers.region, "PT");
        assert!(crm.discover_users);
        assert_eq!(crm.users.len(), 1);
        let user = &crm.users[0];
        assert_eq!(user.extension, "203");
        assert_eq!(user.user_id, None);
        assert_eq!(user.name.as_deref(), Some("Tony Manero"));
        assert_eq!(user.phone, None);
        assert_eq!(user.email.as_deref(), Some("tony@acme.com"));
        assert!(click_to_call.is_none());
    }

    /// Zoho on without a refresh token: "not connected yet", after the
    /// client secret (or `keyring_unavailable` without a keyring).
    #[tokio::test]
    async fn zoho_without_the_connect_flow_is_a_clear_config_error() {
        let dir = tempfile::tempdir().unwrap();
        let secrets = Secrets::new(format!("ringside-test-zoho-spec-{}", std::process::id()));
        let state = AppState::new(
            dir.path().join("settings.json"),
            Settings::default(),
            false,
            secrets.clone(),
            Options {
                demo_play: false,
                notifications: false,
                ..Options::default()
            },
        );
        let mut settings = Settings::default();
        settings.crm.zoho = Some(ZohoDesktop {
            enabled: false,
            ..zoho()
        });
        let plan = NumberPlan::default();
        assert!(
            crm_specs(&state, &settings, &plan)
                .await
                .unwrap()
                .is_empty()
        );
        settings.crm.zoho = Some(zoho());
        let e = match crm_specs(&state, &settings, &plan).await {
            Err(e) => e,
            Ok(specs) => panic!("no secrets stored, yet {} CRMs", specs.len()),
        };
        if e.code == crate::error::KEYRING_UNAVAILABLE {
            return;
        }
        assert_eq!(e.code, "config", "{e:?}");
        assert!(e.message.contains("Zoho client secret"), "{e:?}");
        secrets
            .set(
                SecretName::ZohoClientSecret,
                Sensitive::new("client-secret".into()),
            )
            .await
            .unwrap();
        let e = match crm_specs(&state, &settings, &plan).await {
            Err(e) => e,
            Ok(specs) => panic!("no refresh token, yet {} CRMs", specs.len()),
        };
        secrets
            .set(SecretName::ZohoClientSecret, Sensitive::new(String::new()))
            .await
            .unwrap();
        assert_eq!(e.code, "config", "{e:?}");
        assert_eq!(e.message, ZOHO_NOT_CONNECTED);
    }

    /// Vtiger off: no CRM and no keyring access. On without its secrets: the
    /// same clear `config` error as a missing PBX key (or, without a
    /// keyring, `keyring_unavailable`).
    #[tokio::test]
    async fn vtiger_secrets_come_from_the_keyring_or_a_clear_error() {
        let dir = tempfile::tempdir().unwrap();
        let state = AppState::new(
            dir.path().join("settings.json"),
            Settings::default(),
            false,
            Secrets::new(format!("ringside-test-vtiger-{}", std::process::id())),
            Options {
                demo_play: false,
                notifications: false,
                ..Options::default()
            },
        );
        let mut settings = Settings::default();
        let plan = NumberPlan::default();
        settings.crm.vtiger = Some(VtigerDesktop {
            enabled: false,
            ..vtiger()
        });
        assert!(
            crm_specs(&state, &settings, &plan)
                .await
                .unwrap()
                .is_empty()
        );

        settings.crm.vtiger = Some(vtiger());
        let e = match crm_specs(&state, &settings, &plan).await {
            Err(e) => e,
            Ok(specs) => panic!("no secrets stored, yet {} CRMs", specs.len()),
        };
        if e.code == crate::error::KEYRING_UNAVAILABLE {
            return;
        }
        assert_eq!(e.code, "config", "{e:?}");
        assert!(e.message.contains("Vtiger access key"), "{e:?}");
        assert!(e.message.contains("Settings"), "{e:?}");
    }

    fn amo() -> AmoDesktop {
        AmoDesktop {
            enabled: true,
            base_url: "https://acme.amocrm.ru".into(),
            auth: AmoAuthMode::LongLived,
            client_id: None,
            redirect_uri: None,
            email: "tony@acme.com".into(),
            unknown_number: AmoUnknownNumber::CreateContact,
        }
    }

    #[test]
    fn the_amo_spec_carries_this_agent_by_email_the_limits_and_the_plan() {
        let pbx = PbxSettings {
            agent_name: "Tony Manero".into(),
            extension: "203".into(),
            ..PbxSettings::default()
        };
        let plan = NumberPlan {
            region: "RU".into(),
            ..NumberPlan::default()
        };
        let spec = amo_spec(
            &amo(),
            &pbx,
            &plan,
            ringside_amocrm::AmoAuth::LongLived {
                token: Sensitive::new("long-lived".into()),
            },
        );
        assert_eq!(spec.name(), "amocrm");
        let CrmSpec::Amo { settings, crm } = spec else {
            panic!("not an amoCRM spec");
        };
        assert_eq!(settings.base_url, "https://acme.amocrm.ru");
        assert!(matches!(
            &settings.auth,
            ringside_amocrm::AmoAuth::LongLived { token } if token.expose() == "long-lived"
        ));
        assert!(matches!(settings.mode, ringside_amocrm::CallsMode::V4));
        assert_eq!(
            settings.unknown_number,
            ringside_amocrm::UnknownNumber::CreateContact
        );
        assert_eq!(settings.numbers.region, "RU");
        assert_eq!(crm.limits.requests_per_second, 5.0);
        assert_eq!(crm.limits.burst, 2);
        crm.validate("amocrm").unwrap();
        assert!(crm.discover_users);
        assert_eq!(crm.users.len(), 1);
        let user = &crm.users[0];
        assert_eq!(user.extension, "203");
        assert_eq!(user.user_id, None);
        assert_eq!(user.name.as_deref(), Some("Tony Manero"));
        assert_eq!(user.email.as_deref(), Some("tony@acme.com"));
    }

    /// amoCRM on without its secrets: a `config` error naming the missing
    /// one (the long-lived token, or for OAuth the client secret, then the
    /// refresh token), or `keyring_unavailable` without a keyring. With them:
    /// OAuth's spec carries the keyring token store.
    #[tokio::test]
    async fn amo_secrets_come_from_the_keyring_or_a_clear_error() {
        let dir = tempfile::tempdir().unwrap();
        let secrets = Secrets::new(format!("ringside-test-amo-spec-{}", std::process::id()));
        let state = AppState::new(
            dir.path().join("settings.json"),
            Settings::default(),
            false,
            secrets.clone(),
            Options {
                demo_play: false,
                notifications: false,
                ..Options::default()
            },
        );
        let mut settings = Settings::default();
        let plan = NumberPlan::default();
        settings.crm.amocrm = Some(AmoDesktop {
            enabled: false,
            ..amo()
        });
        assert!(
            crm_specs(&state, &settings, &plan)
                .await
                .unwrap()
                .is_empty()
        );

        async fn error_of(state: &AppState, settings: &Settings) -> CommandError {
            match crm_specs(state, settings, &NumberPlan::default()).await {
                Err(e) => e,
                Ok(specs) => panic!("secrets missing, yet {} CRMs", specs.len()),
            }
        }
        settings.crm.amocrm = Some(amo());
        let e = error_of(&state, &settings).await;
        if e.code == crate::error::KEYRING_UNAVAILABLE {
            return;
        }
        assert_eq!(e.code, "config", "{e:?}");
        assert!(e.message.contains("amoCRM long-lived token"), "{e:?}");
        assert!(e.message.contains("amocrm-token"), "{e:?}");
        assert!(e.message.contains("Settings"), "{e:?}");

        settings.crm.amocrm = Some(AmoDesktop {
            auth: AmoAuthMode::OAuth,
            client_id: Some("3f1c".into()),
            redirect_uri: Some("https://ringside.test/oauth/amocrm".into()),
            ..amo()
        });
        let e = error_of(&state, &settings).await;
        assert_eq!(e.code, "config", "{e:?}");
        assert!(e.message.contains("amocrm-client-secret"), "{e:?}");
        let set = |name, value: &str| secrets.set(name, Sensitive::new(value.to_string()));
        set(SecretName::AmocrmClientSecret, "amo-secret")
            .await
            .unwrap();
        let e = error_of(&state, &settings).await;
        assert_eq!(e.code, "config", "{e:?}");
        assert!(e.message.contains("amocrm-refresh-token"), "{e:?}");
        set(SecretName::AmocrmRefreshToken, "amo-refresh")
            .await
            .unwrap();
        let specs = crm_specs(&state, &settings, &plan).await.unwrap();
        set(SecretName::AmocrmClientSecret, "").await.unwrap();
        set(SecretName::AmocrmRefreshToken, "").await.unwrap();
        let [CrmSpec::Amo { settings: amo, .. }] = specs.as_slice() else {
            panic!("not one amoCRM spec");
        };
        let ringside_amocrm::AmoAuth::OAuth {
            client_id,
            client_secret,
            redirect_uri,
            refresh_token,
            ..
        } = &amo.auth
        else {
            panic!("not OAuth: {:?}", amo.auth);
        };
        assert_eq!(client_id, "3f1c");
        assert_eq!(client_secret.expose(), "amo-secret");
        assert_eq!(redirect_uri, "https://ringside.test/oauth/amocrm");
        assert_eq!(refresh_token.expose(), "amo-refresh");
    }

    fn bitrix() -> BitrixDesktop {
        BitrixDesktop {
            enabled: true,
            auth: BitrixAuthMode::Webhook,
            portal_url: None,
            client_id: None,
            crm_create: false,
            plan: BitrixPlan::Enterprise,
        }
    }

    #[test]
    fn the_bitrix_spec_carries_this_agent_by_extension_the_plan_limits_and_crm_create() {
        let pbx = PbxSettings {
            agent_name: "Tony Manero".into(),
            extension: "203".into(),
            ..PbxSettings::default()
        };
        let plan = NumberPlan {
            region: "ES".into(),
            ..NumberPlan::default()
        };
        let spec = bitrix_spec(
            &bitrix(),
            &pbx,
            &plan,
            ringside_bitrix24::BitrixAuth::Webhook {
                url: Sensitive::new("https://acme.bitrix24.es/rest/1/abc/".into()),
            },
        );
        assert_eq!(spec.name(), "bitrix24");
        let CrmSpec::Bitrix {
            settings,
            crm,
            application_token,
        } = spec
        else {
            panic!("not a Bitrix24 spec");
        };
        assert!(application_token.is_none());
        assert!(matches!(
            &settings.auth,
            ringside_bitrix24::BitrixAuth::Webhook { url } if url.expose() == "https://acme.bitrix24.es/rest/1/abc/"
        ));
        assert!(!settings.crm_create);
        assert_eq!(settings.numbers.region, "ES");
        assert_eq!(crm.limits.requests_per_second, 5.0);
        assert_eq!(crm.limits.burst, 250);
        crm.validate("bitrix24").unwrap();
        assert!(crm.discover_users);
        assert_eq!(crm.users.len(), 1);
        let user = &crm.users[0];
        assert_eq!(user.extension, "203");
        assert_eq!(user.user_id, None);
        assert_eq!(user.name.as_deref(), Some("Tony Manero"));
        assert_eq!((user.email.as_deref(), user.phone.as_deref()), (None, None));

        let standard = bitrix_limits(BitrixPlan::Standard);
        assert_eq!((standard.requests_per_second, standard.burst), (2.0, 50));
        standard.validate("bitrix24").unwrap();
        bitrix_limits(BitrixPlan::Enterprise)
            .validate("bitrix24")
            .unwrap();
    }

    /// Bitrix24 on without its secrets: a `config` error naming the missing
    /// one (the webhook URL, or for OAuth the client secret, then the
    /// refresh token). With them: OAuth's spec carries the portal, the
    /// client id and the keyring token store.
    #[tokio::test]
    async fn bitrix_secrets_come_from_the_keyring_or_a_clear_error() {
        let dir = tempfile::tempdir().unwrap();
        let secrets = Secrets::new(format!("ringside-test-bitrix-spec-{}", std::process::id()));
        let state = AppState::new(
            dir.path().join("settings.json"),
            Settings::default(),
            false,
            secrets.clone(),
            Options {
                demo_play: false,
                notifications: false,
                ..Options::default()
            },
        );
        let mut settings = Settings::default();
        let plan = NumberPlan::default();
        settings.crm.bitrix24 = Some(BitrixDesktop {
            enabled: false,
            ..bitrix()
        });
        assert!(
            crm_specs(&state, &settings, &plan)
                .await
                .unwrap()
                .is_empty()
        );

        async fn error_of(state: &AppState, settings: &Settings) -> CommandError {
            match crm_specs(state, settings, &NumberPlan::default()).await {
                Err(e) => e,
                Ok(specs) => panic!("secrets missing, yet {} CRMs", specs.len()),
            }
        }
        settings.crm.bitrix24 = Some(bitrix());
        let e = error_of(&state, &settings).await;
        if e.code == crate::error::KEYRING_UNAVAILABLE {
            return;
        }
        assert_eq!(e.code, "config", "{e:?}");
        assert!(e.message.contains("bitrix24-webhook-url"), "{e:?}");
        assert!(e.message.contains("Settings"), "{e:?}");

        settings.crm.bitrix24 = Some(BitrixDesktop {
            auth: BitrixAuthMode::OAuth,
            portal_url: Some("https://acme.bitrix24.es".into()),
            client_id: Some("local.abc".into()),
            ..bitrix()
        });
        let e = error_of(&state, &settings).await;
        assert_eq!(e.code, "config", "{e:?}");
        assert!(e.message.contains("bitrix24-client-secret"), "{e:?}");
        let set = |name, value: &str| secrets.set(name, Sensitive::new(value.to_string()));
        set(SecretName::Bitrix24ClientSecret, "b24-secret")
            .await
            .unwrap();
        let e = error_of(&state, &settings).await;
        assert_eq!(e.code, "config", "{e:?}");
        assert!(e.message.contains("bitrix24-refresh-token"), "{e:?}");
        set(SecretName::Bitrix24RefreshToken, "b24-refresh")
            .await
            .unwrap();
        let specs = crm_specs(&state, &settings, &plan).await.unwrap();
        set(SecretName::Bitrix24ClientSecret, "").await.unwrap();
        set(SecretName::Bitrix24RefreshToken, "").await.unwrap();
        let [CrmSpec::Bitrix { settings: b24, .. }] = specs.as_slice() else {
            panic!("not one Bitrix24 spec");
        };
        let ringside_bitrix24::BitrixAuth::OAuth {
            portal_url,
            client_id,
            client_secret,
            refresh_token,
            ..
        } = &b24.auth
        else {
            panic!("not OAuth: {:?}", b24.auth);
        };
        assert_eq!(portal_url, "https://acme.bitrix24.es");
        assert_eq!(client_id, "local.abc");
        assert_eq!(client_secret.expose(), "b24-secret");
        assert_eq!(refresh_token.expose(), "b24-refresh");
    }
}
