//! The desktop's use cases behind the commands, the tray, the hotkey and
//! `tel:` links: dial, look up, pop choices, settings, secrets, connection
//! tests, connecting Zoho, opening links.

use std::time::Duration;

use ringside_api::{Call, CallId, CrmLink, CrmRetried, CrmState, NumberInfo};
use ringside_core::Sensitive;
use tauri::{AppHandle, Emitter, Manager, Runtime};

use crate::error::{CommandError, CommandResult};
use crate::models::{
    AmoAuthMode, BitrixAuthMode, Mode, PopState, SecretName, Settings, TestResult, TestTarget,
    events,
};
use crate::state::AppState;

pub async fn lookup(state: &AppState, number: &str) -> CommandResult<NumberInfo> {
    let conn = state.backend.connection()?;
    let info = conn.client.lookup(number).await?;
    Ok(crate::pop::apply_policy(
        info,
        state.settings().match_policy,
    ))
}

pub async fn dial(state: &AppState, number: &str) -> CommandResult<Call> {
    let number = number.trim();
    if number.is_empty() {
        return Err(CommandError::invalid("no number to dial"));
    }
    let conn = state.backend.connection()?;
    Ok(conn.client.dial(number).await?)
}

/// Show a changed call in the pop, if it is the one on screen.
pub fn refresh_pop<R: Runtime>(app: &AppHandle<R>, state: &AppState, call: Call) {
    if let Some(shown) = state.pop.lock().unwrap().refresh(call) {
        let _ = app.emit(events::POP, &shown);
    }
}

pub fn choose_contact<R: Runtime>(
    app: &AppHandle<R>,
    state: &AppState,
    call_id: &CallId,
    index: usize,
) -> CommandResult<PopState> {
    let shown = state.pop.lock().unwrap().choose(call_id, index)?;
    let _ = app.emit(events::POP, &shown);
    Ok(shown)
}

pub fn dismiss_pop<R: Runtime>(app: &AppHandle<R>, state: &AppState) {
    state.pop.lock().unwrap().dismiss();
    crate::pop::hide_window(app);
    let _ = app.emit(events::POP, None::<PopState>);
}

/// Validate, write atomically, apply: hotkey, autostart, and a reconnect when
/// how we connect changed.
pub async fn save_settings<R: Runtime>(
    app: &AppHandle<R>,
    state: &AppState,
    settings: Settings,
) -> CommandResult<Settings> {
    let path = state.settings_path().to_path_buf();
    let before = state.settings();
    let saved = tokio::task::spawn_blocking(move || crate::settings::save(&path, settings))
        .await
        .map_err(|e| CommandError::internal(e.to_string()))??;
    state.set_settings(saved.clone());
    if before.hotkey != saved.hotkey {
        crate::shortcut::apply(app, saved.hotkey.as_deref());
    }
    if before.autostart != saved.autostart {
        apply_autostart(app, saved.autostart);
    }
    if connection_changed(&before, &saved) {
        state.backend.restart(app);
    }
    Ok(saved)
}

/// Whether a settings change needs a new connection.
pub fn connection_changed(before: &Settings, after: &Settings) -> bool {
    before.mode != after.mode
        || match after.mode {
            Mode::Demo => before.crm.demo_vtiger != after.crm.demo_vtiger,
            Mode::Embedded => {
                before.pbx != after.pbx
                    || before.crm.vtiger_enabled() != after.crm.vtiger_enabled()
                    || before.crm.zoho_enabled() != after.crm.zoho_enabled()
                    || before.crm.amocrm_enabled() != after.crm.amocrm_enabled()
                    || before.crm.bitrix24_enabled() != after.crm.bitrix24_enabled()
            }
            Mode::Hub => before.hub != after.hub,
        }
}

pub fn apply_autostart<R: Runtime>(app: &AppHandle<R>, enabled: bool) {
    use tauri_plugin_autostart::ManagerExt;
    if app
        .try_state::<tauri_plugin_autostart::AutoLaunchManager>()
        .is_none()
    {
        return;
    }
    let launcher = app.autolaunch();
    let result = match (enabled, launcher.is_enabled().unwrap_or(false)) {
        (true, false) => launcher.enable(),
        (false, true) => launcher.disable(),
        _ => Ok(()),
    };
    if let Err(e) = result {
        tracing::warn!("autostart: {e}");
    }
}

/// Store a secret in the keyring; reconnect when the current mode uses it.
/// (amoCRM's and Bitrix24's refresh tokens are settable: each is entered
/// once; the adapter's token store then keeps the newest one there without a
/// reconnect.)
pub async fn set_secret<R: Runtime>(
    app: &AppHandle<R>,
    state: &AppState,
    name: SecretName,
    value: Sensitive<String>,
) -> CommandResult<()> {
    if name == SecretName::ZohoRefreshToken {
        return Err(CommandError::invalid(
            "zoho-refresh-token is written only by Connect (Settings → Zoho)",
        ));
    }
    state.secrets.set(name, value).await?;
    if secret_in_use(state, name) {
        state.backend.restart(app);
    }
    Ok(())
}

/// Whether the current connection uses the secret `name`.
fn secret_in_use(state: &AppState, name: SecretName) -> bool {
    match state.mode() {
        Mode::Demo => false,
        Mode::Embedded => match name {
            SecretName::PbxApiKey | SecretName::WebhookSecret => true,
            SecretName::VtigerAccessKey | SecretName::VtigerGatewaySecret => {
                state.settings().crm.vtiger_enabled().is_some()
            }
            SecretName::ZohoClientSecret | SecretName::ZohoRefreshToken => {
                state.settings().crm.zoho_enabled().is_some()
            }
            SecretName::AmocrmToken => state
                .settings()
                .crm
                .amocrm_enabled()
                .is_some_and(|a| a.auth == AmoAuthMode::LongLived),
            SecretName::AmocrmClientSecret | SecretName::AmocrmRefreshToken => state
                .settings()
                .crm
                .amocrm_enabled()
                .is_some_and(|a| a.auth == AmoAuthMode::OAuth),
            SecretName::Bitrix24WebhookUrl => state
                .settings()
                .crm
                .bitrix24_enabled()
                .is_some_and(|b| b.auth == BitrixAuthMode::Webhook),
            SecretName::Bitrix24ClientSecret | SecretName::Bitrix24RefreshToken => state
                .settings()
                .crm
                .bitrix24_enabled()
                .is_some_and(|b| b.auth == BitrixAuthMode::OAuth),
            SecretName::HubToken => false,
        },
        Mode::Hub => name == SecretName::HubToken,
    }
}

/// Connect Zoho: the consent in the browser, the refresh token into the
/// keyring (see [`crate::zoho`]), then a reconnect. When Zoho sent the
/// browser back from another data centre than the configured one, the
/// settings follow it (the token works only there).
pub async fn zoho_connect<R: Runtime>(app: &AppHandle<R>, state: &AppState) -> TestResult {
    let (cancel_tx, cancel_rx) = tokio::sync::oneshot::channel();
    if let Some(previous) = state.zoho_connect.lock().unwrap().replace(cancel_tx) {
        let _ = previous.send(());
    }
    let open = |url: &str| open_in_browser(app, url);
    let connected =
        match crate::zoho::connect(state, open, crate::zoho::CONNECT_TIMEOUT, cancel_rx).await {
            Ok(c) => c,
            Err(e) => {
                return TestResult {
                    ok: false,
                    message: e.message,
                };
            }
        };
    let mut message = match &connected.location {
        Some(dc) => format!(
            "Connected to Zoho (data centre {dc}, APIs at {})",
            connected.api_domain
        ),
        None => format!("Connected to Zoho (APIs at {})", connected.api_domain),
    };
    let settings = state.settings();
    let configured = settings
        .crm
        .zoho
        .as_ref()
        .map(|z| z.accounts_url.trim().trim_end_matches('/').to_string());
    if let Some(configured) = configured
        && configured != connected.accounts_server
    {
        let mut moved = settings.clone();
        if let Some(z) = moved.crm.zoho.as_mut() {
            z.accounts_url = connected.accounts_server.clone();
        }
        match save_settings(app, state, moved).await {
            Ok(_) => {
                message.push_str(&format!(
                    "; your account is at {}, the settings now say so",
                    connected.accounts_server
                ));
                // save_settings reconnected when Zoho is on
                return TestResult { ok: true, message };
            }
            Err(e) => tracing::warn!("zoho: cannot save the data centre's accounts server: {e}"),
        }
    }
    if secret_in_use(state, SecretName::ZohoRefreshToken) {
        state.backend.restart(app);
    }
    TestResult { ok: true, message }
}

/// Disconnect Zoho: revoke the refresh token (best effort), delete it from
/// the keyring, reconnect.
pub async fn zoho_disconnect<R: Runtime>(
    app: &AppHandle<R>,
    state: &AppState,
) -> CommandResult<()> {
    crate::zoho::disconnect(state).await?;
    if secret_in_use(state, SecretName::ZohoRefreshToken) {
        state.backend.restart(app);
    }
    Ok(())
}

/// Try the PBX account, the hub or a CRM with the saved settings and secrets.
pub async fn test_connection(state: &AppState, target: TestTarget) -> TestResult {
    let result = match target {
        TestTarget::Hub => test_hub(state).await,
        TestTarget::Pbx => test_pbx(state).await,
        TestTarget::Vtiger => test_crm(state, "vtiger").await,
        TestTarget::Zoho => test_crm(state, "zoho").await,
        TestTarget::Amocrm => test_crm(state, "amocrm").await,
        TestTarget::Bitrix24 => test_crm(state, "bitrix24").await,
    };
    match result {
        Ok(message) => TestResult { ok: true, message },
        Err(e) => TestResult {
            ok: false,
            message: e.message,
        },
    }
}

/// The running connection's CRM `id` checks its credentials.
async fn test_crm(state: &AppState, id: &str) -> CommandResult<String> {
    let conn = state.backend.connection()?;
    let check = tokio::time::timeout(Duration::from_secs(20), conn.client.crm_check(id))
        .await
        .map_err(|_| {
            CommandError::kind(
                ringside_core::ErrorKind::Timeout,
                format!("{id} did not answer in 20 s"),
            )
        })?
        .map_err(|e| {
            if e.kind == ringside_core::ErrorKind::NotFound {
                CommandError::kind(
                    e.kind,
                    format!(
                        "{id} is not enabled in this connection ({}); turn it on and save the \
                         settings first",
                        e.message
                    ),
                )
            } else {
                e.into()
            }
        })?;
    Ok(match check.detail {
        Some(detail) => format!("Connected to {id} as {}: {detail}", check.account),
        None => format!("Connected to {id} as {}", check.account),
    })
}

/// Every CRM of the connection: outbox counts, parked operations.
pub async fn crm_states(state: &AppState) -> CommandResult<Vec<CrmState>> {
    let conn = state.backend.connection()?;
    Ok(conn.client.crms().await?)
}

/// Retry one parked operation of `crm_id`, or all of them.
pub async fn crm_retry(
    state: &AppState,
    crm_id: &str,
    op_id: Option<i64>,
) -> CommandResult<CrmRetried> {
    let conn = state.backend.connection()?;
    Ok(conn.client.crm_retry(crm_id, op_id).await?)
}

/// Where to look `number` up in each CRM (for callers without a record link).
pub async fn crm_links(state: &AppState, number: &str) -> CommandResult<Vec<CrmLink>> {
    let number = number.trim();
    if number.is_empty() {
        return Err(CommandError::invalid("no number to look up"));
    }
    let conn = state.backend.connection()?;
    Ok(conn.client.crm_links(number).await?)
}

async fn test_hub(state: &AppState) -> CommandResult<String> {
    if state.mode() != Mode::Hub {
        let conn = state.backend.connection()?;
        let me = conn.client.me().await?;
        return Ok(format!(
            "The built-in hub answers: {} ({})",
            me.name, me.extension
        ));
    }
    let settings = state.settings();
    let token = state
        .secrets
        .get(SecretName::HubToken)
        .await?
        .ok_or_else(|| {
            CommandError::kind(ringside_core::ErrorKind::Config, "no hub token stored yet")
        })?;
    let client = ringside_client::HubClient::new(&settings.hub.url, token)?;
    let me = tokio::time::timeout(Duration::from_secs(10), client.me())
        .await
        .map_err(|_| {
            CommandError::kind(
                ringside_core::ErrorKind::Timeout,
                format!("{} did not answer in 10 s", settings.hub.url),
            )
        })??;
    Ok(format!(
        "Connected to {} as {} ({})",
        settings.hub.url, me.name, me.extension
    ))
}

async fn test_pbx(state: &AppState) -> CommandResult<String> {
    match state.mode() {
        Mode::Embedded => {
            let settings = state.settings();
            let key = state
                .secrets
                .get(SecretName::PbxApiKey)
                .await?
                .ok_or_else(|| {
                    CommandError::kind(
                        ringside_core::ErrorKind::Config,
                        "no PBX API key stored yet",
                    )
                })?;
            let gamma = ringside_gamma::GammaClient::new(&settings.pbx.base_url, key)?
                .with_timeout(Duration::from_secs(10));
            let extensions = gamma.extension_list_json().await?;
            Ok(format!(
                "The PBX answered: {} extensions{}",
                extensions.len(),
                if extensions
                    .iter()
                    .any(|e| e.extension == settings.pbx.extension)
                {
                    format!(", {} among them", settings.pbx.extension)
                } else {
                    format!(" (but not {})", settings.pbx.extension)
                }
            ))
        }
        Mode::Demo | Mode::Hub => {
            let conn = state.backend.connection()?;
            let status = conn.client.status().await?;
            match status.pbx.state {
                ringside_api::PbxState::Ok => {
                    Ok(format!("The PBX answers the hub: {}", status.pbx.message))
                }
                _ => Err(CommandError::unavailable(format!(
                    "The hub cannot reach the PBX: {}",
                    status.pbx.message
                ))),
            }
        }
    }
}

/// Open an `http`/`https` link (a CRM record) in the browser. Nothing else:
/// no `file:`, no custom schemes.
pub fn open_external<R: Runtime>(app: &AppHandle<R>, url: &str) -> CommandResult<()> {
    let parsed = tauri::Url::parse(url.trim())
        .map_err(|e| CommandError::invalid(format!("{url:?} is not a URL ({e})")))?;
    if !matches!(parsed.scheme(), "http" | "https") || parsed.host_str().is_none() {
        return Err(CommandError::invalid(format!(
            "only http and https links open, not {:?}",
            parsed.scheme()
        )));
    }
    open_in_browser(app, parsed.as_str())
}

/// Open `url` in the person's browser: the system browser through the
/// opener plugin, or the browser a test put in [`AppState::set_browser`].
pub fn open_in_browser<R: Runtime>(app: &AppHandle<R>, url: &str) -> CommandResult<()> {
    if let Some(browser) = app
        .try_state::<AppState>()
        .and_then(|state| state.browser())
    {
        return browser(url)
            .map_err(|e| CommandError::unavailable(format!("cannot open the browser: {e}")));
    }
    use tauri_plugin_opener::OpenerExt;
    if app.try_state::<tauri_plugin_opener::Opener<R>>().is_none() {
        return Err(CommandError::unavailable("no opener in this build"));
    }
    app.opener().open_url(url, None::<&str>).map_err(|e| {
        // not the URL: a consent URL carries the OAuth state
        CommandError::unavailable(format!("cannot open the browser: {e}"))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reconnect_only_when_the_connection_changes() {
        let base = Settings::default();
        let mut s = base.clone();
        s.theme = crate::models::Theme::Dark;
        s.hub.url = "http://elsewhere:8700".into();
        assert!(!connection_changed(&base, &s), "demo ignores hub.url");
        s.mode = Mode::Hub;
        assert!(connection_changed(&base, &s));
        let mut t = s.clone();
        t.language = crate::models::Language::Ru;
        assert!(!connection_changed(&s, &t));
        t.hub.url = "http://other:8700".into();
        assert!(connection_changed(&s, &t));
        let mut u = t.clone();
        u.crm.demo_vtiger = true;
        assert!(!connection_changed(&t, &u), "hub mode ignores crm");
    }

    #[test]
    fn crm_changes_reconnect_in_demo_and_embedded() {
        let demo = Settings::default();
        let mut d = demo.clone();
        d.crm.demo_vtiger = true;
        assert!(connection_changed(&demo, &d));
        d.crm.demo_vtiger = false;
        d.crm.vtiger = Some(crate::models::VtigerDesktop {
            enabled: true,
            base_url: "https://acme.od2.vtiger.com".into(),
            username: "admin".into(),
            office_phone: None,
        });
        assert!(!connection_changed(&demo, &d), "demo uses only demo_vtiger");

        let mut e = Settings {
            mode: Mode::Embedded,
            ..Settings::default()
        };
        let mut f = e.clone();
        f.crm.vtiger = d.crm.vtiger.clone();
        assert!(connection_changed(&e, &f));
        e.crm.vtiger = f.crm.vtiger.clone();
        f.crm.vtiger.as_mut().unwrap().office_phone = Some("+34961000203".into());
        assert!(connection_changed(&e, &f));
        // switched off: its fields no longer matter
        e.crm.vtiger.as_mut().unwrap().enabled = false;
        let mut g = e.clone();
        g.crm.vtiger.as_mut().unwrap().username = "other".into();
        assert!(!connection_changed(&e, &g));
    }

    #[test]
    fn zoho_changes_reconnect_in_embedded_mode_only() {
        let zoho = crate::models::ZohoDesktop {
            enabled: true,
            accounts_url: "https://accounts.zoho.eu".into(),
            client_id: "1000.CLIENT".into(),
            email: "tony@acme.com".into(),
        };
        let demo = Settings::default();
        let mut d = demo.clone();
        d.crm.zoho = Some(zoho.clone());
        assert!(!connection_changed(&demo, &d), "demo mode has no Zoho");

        let e = Settings {
            mode: Mode::Embedded,
            ..Settings::default()
        };
        let mut f = e.clone();
        f.crm.zoho = Some(zoho);
        assert!(connection_changed(&e, &f));
        let mut g = f.clone();
        g.crm.zoho.as_mut().unwrap().email = "other@acme.com".into();
        assert!(connection_changed(&f, &g));
        let mut h = f.clone();
        h.crm.zoho.as_mut().unwrap().accounts_url = "https://accounts.zoho.com".into();
        assert!(connection_changed(&f, &h));
        // switched off: its fields no longer matter
        let mut off = f.clone();
        off.crm.zoho.as_mut().unwrap().enabled = false;
        assert!(connection_changed(&f, &off));
        let mut off2 = off.clone();
        off2.crm.zoho.as_mut().unwrap().client_id = "1000.OTHER".into();
        assert!(!connection_changed(&off, &off2));
    }

    #[test]
    fn amocrm_changes_reconnect_in_embedded_mode_only() {
        let amo = crate::models::AmoDesktop {
            enabled: true,
            base_url: "https://acme.amocrm.ru".into(),
            email: "tony@acme.com".into(),
            ..Default::default()
        };
        let demo = Settings::default();
        let mut d = demo.clone();
        d.crm.amocrm = Some(amo.clone());
        assert!(!connection_changed(&demo, &d), "demo mode has no amoCRM");

        let e = Settings {
            mode: Mode::Embedded,
            ..Settings::default()
        };
        let mut f = e.clone();
        f.crm.amocrm = Some(amo);
        assert!(connection_changed(&e, &f));
        for change in [
            |a: &mut crate::models::AmoDesktop| a.auth = AmoAuthMode::OAuth,
            |a: &mut crate::models::AmoDesktop| a.client_id = Some("id".into()),
            |a: &mut crate::models::AmoDesktop| a.email = "other@acme.com".into(),
            |a: &mut crate::models::AmoDesktop| {
                a.unknown_number = crate::models::AmoUnknownNumber::CreateContact
            },
        ] {
            let mut g = f.clone();
            change(g.crm.amocrm.as_mut().unwrap());
            assert!(connection_changed(&f, &g));
        }
        // switched off: its fields no longer matter
        let mut off = f.clone();
        off.crm.amocrm.as_mut().unwrap().enabled = false;
        assert!(connection_changed(&f, &off));
        let mut off2 = off.clone();
        off2.crm.amocrm.as_mut().unwrap().base_url = "https://other.kommo.com".into();
        assert!(!connection_changed(&off, &off2));
    }

    #[test]
    fn bitrix24_changes_reconnect_in_embedded_mode_only() {
        use crate::models::{BitrixDesktop, BitrixPlan};
        let b24 = BitrixDesktop {
            enabled: true,
            portal_url: Some("https://acme.bitrix24.es".into()),
            client_id: Some("local.abc".into()),
            ..BitrixDesktop::default()
        };
        let demo = Settings::default();
        let mut d = demo.clone();
        d.crm.bitrix24 = Some(b24.clone());
        assert!(!connection_changed(&demo, &d), "demo mode has no Bitrix24");

        let e = Settings {
            mode: Mode::Embedded,
            ..Settings::default()
        };
        let mut f = e.clone();
        f.crm.bitrix24 = Some(b24);
        assert!(connection_changed(&e, &f));
        for change in [
            |b: &mut BitrixDesktop| b.auth = BitrixAuthMode::Webhook,
            |b: &mut BitrixDesktop| b.portal_url = Some("https://other.bitrix24.es".into()),
            |b: &mut BitrixDesktop| b.client_id = Some("local.other".into()),
            |b: &mut BitrixDesktop| b.crm_create = false,
            |b: &mut BitrixDesktop| b.plan = BitrixPlan::Enterprise,
        ] {
            let mut g = f.clone();
            change(g.crm.bitrix24.as_mut().unwrap());
            assert!(connection_changed(&f, &g));
        }
        // switched off: its fields no longer matter
        let mut off = f.clone();
        off.crm.bitrix24.as_mut().unwrap().enabled = false;
        assert!(connection_changed(&f, &off));
        let mut off2 = off.clone();
        off2.crm.bitrix24.as_mut().unwrap().plan = BitrixPlan::Enterprise;
        assert!(!connection_changed(&off, &off2));
    }
}
