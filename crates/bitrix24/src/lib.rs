//! The Bitrix24 adapter: a live-events CRM (the call card follows the call).
//!
//! - [`calls`]: ring → `telephony.externalcall.register` (always with our
//!   call id as `EXTERNAL_CALL_ID`, whose `CALL_ID` answer is kept in
//!   `Delivered::sent` so later operations find it in `Operation::prior`,
//!   across restarts); transfer → `hide` + `show`; ended → `finish`;
//!   recording → `attachRecord`. Answered has no Bitrix24 method and is
//!   recorded as skipped.
//! - [`lookup`]: `crm.duplicate.findbycomm` (contacts and leads) with the
//!   number's variants, every match re-verified on its PHONE values, open
//!   deals through `crm.deal.list` (CLOSED=N, paged by 50).
//! - [`oauth`]: the [`TokenManager`] of a local application (single-flight
//!   refresh ahead of expiry and once on `expired_token`; the rotating
//!   refresh token is saved through the [`TokenStore`] before use).
//! - [`error`]: the ONE [`parse_error`].
//!
//! Every HTTP request (REST and token) first takes one permit from the CRM's
//! [`Throttle`]; `QUERY_LIMIT_EXCEEDED` and `OPERATION_TIME_LIMIT` hold it
//! for everyone. Bodies are JSON (`POST`, `application/json`).

pub mod calls;
pub mod error;
mod http;
pub mod lookup;
pub mod oauth;
pub mod settings;

use std::collections::HashMap;
use std::sync::Arc;

use reqwest::Url;
use ringside_core::{
    Clock, ContactMatch, Error, ErrorKind, NumberVariants, Result, Sensitive, SystemClock,
};
use ringside_crm::{
    Capabilities, Confirmation, ConnectionInfo, CrmProvider, CrmUser, Delivered, Operation,
    Throttle,
};
use serde_json::{Value, json};

pub use error::{
    INVALID_CREDENTIALS_MESSAGE, MISSING_SCOPE_MESSAGE, OPERATION_TIME_WAIT, QUERY_LIMIT_WAIT,
    REFRESH_REFUSED, VendorError, WRONG_AUTH_TYPE_MESSAGE, is_token_rejected, parse_error,
};
pub use oauth::{AccessToken, REFRESH_MARGIN, TokenManager, Tokens};
pub use settings::{BitrixAuth, BitrixSettings, MemoryTokenStore, TokenStore};

use crate::http::Reply;

/// The system name on every record source, and the provider kind.
pub const SYSTEM: &str = "bitrix24";
/// How many pages of a list method are read at most (50 records each).
pub const MAX_PAGES: usize = 10;

enum Auth {
    /// `https://<portal>/rest/<user>/<code>/` (with the trailing slash).
    Webhook(Sensitive<String>),
    OAuth(Box<TokenManager>),
}

/// One Bitrix24 portal as a [`CrmProvider`].
pub struct BitrixCrm {
    http: reqwest::Client,
    settings: BitrixSettings,
    throttle: Arc<Throttle>,
    auth: Auth,
    /// `https://<portal>` (no trailing slash): record links and OAuth REST.
    portal: String,
}

impl std::fmt::Debug for BitrixCrm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BitrixCrm")
            .field("portal", &self.portal)
            .field("auth", &self.settings.auth)
            .finish_non_exhaustive()
    }
}

fn parse_url(what: &str, raw: &str) -> Result<Url> {
    let url = Url::parse(raw.trim()).map_err(|_| {
        Error::config(format!(
            "the Bitrix24 {what} is not a valid URL (like https://example.bitrix24.com)"
        ))
    })?;
    if !matches!(url.scheme(), "http" | "https")
        || url.host_str().is_none_or(str::is_empty)
        || url.query().is_some()
    {
        return Err(Error::config(format!(
            "the Bitrix24 {what} must be like https://example.bitrix24.com"
        )));
    }
    Ok(url)
}

fn origin(url: &Url) -> String {
    let mut s = format!("{}://{}", url.scheme(), url.host_str().unwrap_or_default());
    if let Some(port) = url.port() {
        s.push_str(&format!(":{port}"));
    }
    s
}

/// A JSON value as an integer id (Bitrix24 sends ids as strings or numbers).
pub(crate) fn as_u64(v: &Value) -> Option<u64> {
    match v {
        Value::Number(n) => n.as_u64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// A JSON value as trimmed text (numbers included); empty when absent.
pub(crate) fn text(v: &Value, key: &str) -> String {
    match v.get(key) {
        Some(Value::String(s)) => s.trim().to_string(),
        Some(Value::Number(n)) => n.to_string(),
        _ => String::new(),
    }
}

impl BitrixCrm {
    /// An adapter for `settings`, taking its request permits from `throttle`.
    /// No request is made until first use. A bad URL, an empty credential
    /// or an unusable number plan is a `Config` error.
    pub fn new(settings: BitrixSettings, throttle: Arc<Throttle>) -> Result<BitrixCrm> {
        Self::with_clock(settings, throttle, Arc::new(SystemClock))
    }

    /// As [`BitrixCrm::new`], reading "now" (token expiry) from `clock`.
    pub fn with_clock(
        settings: BitrixSettings,
        throttle: Arc<Throttle>,
        clock: Arc<dyn Clock>,
    ) -> Result<BitrixCrm> {
        settings
            .numbers
            .validate()
            .map_err(|e| e.context("Bitrix24 number plan"))?;
        let http = http::client()?;
        let (auth, portal) = match &settings.auth {
            BitrixAuth::Webhook { url } => {
                let parsed = parse_url("webhook URL", url.expose())?;
                let segments: Vec<&str> = parsed
                    .path_segments()
                    .map(|s| s.filter(|p| !p.is_empty()).collect())
                    .unwrap_or_default();
                if segments.len() < 3 || segments[segments.len() - 3] != "rest" {
                    return Err(Error::config(
                        "the Bitrix24 webhook URL must be like https://example.bitrix24.com/rest/1/abc123/",
                    ));
                }
                let mut base = url.expose().trim().to_string();
                if !base.ends_with('/') {
                    base.push('/');
                }
                (Auth::Webhook(Sensitive::new(base)), origin(&parsed))
            }
            BitrixAuth::OAuth {
                portal_url,
                client_id,
                client_secret,
                refresh_token,
                store,
            } => {
                parse_url("portal address", portal_url)?;
                let portal = portal_url.trim().trim_end_matches('/').to_string();
                if client_id.trim().is_empty() || client_secret.expose().trim().is_empty() {
                    return Err(Error::config(
                        "the Bitrix24 application's client_id or client_secret is empty",
                    ));
                }
                let server = match &settings.oauth_server {
                    Some(s) => {
                        parse_url("OAuth server", s)?;
                        s.trim().trim_end_matches('/').to_string()
                    }
                    None => portal.clone(),
                };
                let manager = TokenManager::new(
                    http.clone(),
                    &server,
                    client_id,
                    client_secret.clone(),
                    refresh_token.clone(),
                    Arc::clone(store),
                    Arc::clone(&throttle),
                    clock,
                );
                (Auth::OAuth(Box::new(manager)), portal)
            }
        };
        Ok(BitrixCrm {
            http,
            settings,
            throttle,
            auth,
            portal,
        })
    }

    pub fn settings(&self) -> &BitrixSettings {
        &self.settings
    }

    /// `https://<portal>`, as record links use it.
    pub fn portal_url(&self) -> &str {
        &self.portal
    }

    /// The OAuth token manager, when the portal uses a local application.
    pub fn tokens(&self) -> Option<&TokenManager> {
        match &self.auth {
            Auth::OAuth(t) => Some(t),
            Auth::Webhook(_) => None,
        }
    }

    /// The error for a failed answer; a rate limit holds the throttle.
    pub(crate) fn error_of(&self, reply: &Reply) -> Error {
        let e = parse_error(reply.status, &reply.body);
        if e.kind == ErrorKind::RateLimited
            && let Some(wait) = e.retry_after
        {
            self.throttle.hold_for(wait);
        }
        e
    }

    /// One REST method call (POST, JSON body); with OAuth an
    /// `expired_token` answer refreshes the token once (shared with
    /// concurrent callers) and sends once more. The raw answer.
    pub(crate) async fn request(&self, what: &str, method: &str, params: &Value) -> Result<Reply> {
        match &self.auth {
            Auth::Webhook(base) => {
                let request = self
                    .http
                    .post(format!("{}{method}", base.expose()))
                    .json(params);
                http::send(&self.throttle, what, request).await
            }
            Auth::OAuth(tokens) => {
                let access = tokens.access().await?;
                let reply = self.send_oauth(what, method, params, &access).await?;
                if reply.is_success() || !is_token_rejected(reply.status, &reply.body) {
                    return Ok(reply);
                }
                tracing::info!(
                    crm = "bitrix24",
                    what,
                    "access token rejected; refreshing once"
                );
                let fresh = tokens.renew(&access).await?;
                self.send_oauth(what, method, params, &fresh).await
            }
        }
    }

    async fn send_oauth(
        &self,
        what: &str,
        method: &str,
        params: &Value,
        access: &AccessToken,
    ) -> Result<Reply> {
        let request = self
            .http
            .post(format!("{}/rest/{method}", self.portal))
            .query(&[("auth", access.token.expose().as_str())])
            .json(params);
        http::send(&self.throttle, what, request).await
    }

    /// A REST method's whole envelope (`result`, `next`, `total`, `time`),
    /// or its error.
    pub async fn call(&self, what: &str, method: &str, params: &Value) -> Result<Value> {
        let reply = self.request(what, method, params).await?;
        self.envelope(what, &reply)
    }

    /// The envelope of an answer, or its error (with `what` as context).
    pub(crate) fn envelope(&self, what: &str, reply: &Reply) -> Result<Value> {
        let json: Option<Value> = serde_json::from_str(&reply.body).ok();
        let has_error = json
            .as_ref()
            .is_some_and(|j| j.get("error").is_some_and(|e| !e.is_null()));
        if !reply.is_success() || has_error {
            return Err(self.error_of(reply).context(what));
        }
        match json {
            Some(j) if j.get("result").is_some() => Ok(j),
            Some(_) => Err(Error::internal(format!(
                "{what}: Bitrix24's answer has no result"
            ))),
            None => Err(Error::internal(format!(
                "{what}: Bitrix24's answer is not JSON"
            ))),
        }
    }

    /// Every page of a list method (`start` = 0, 50, …, following `next`),
    /// at most [`MAX_PAGES`].
    pub(crate) async fn list(
        &self,
        what: &str,
        method: &str,
        params: &Value,
    ) -> Result<Vec<Value>> {
        let mut out = Vec::new();
        let mut start: u64 = 0;
        for _ in 0..MAX_PAGES {
            let mut p = params.clone();
            if let Some(obj) = p.as_object_mut() {
                obj.insert("start".into(), json!(start));
            }
            let page = self.call(what, method, &p).await?;
            if let Some(items) = page.get("result").and_then(Value::as_array) {
                out.extend(items.iter().cloned());
            }
            match page.get("next").and_then(as_u64) {
                Some(next) if next > start => start = next,
                _ => return Ok(out),
            }
        }
        tracing::warn!(
            crm = "bitrix24",
            what,
            pages = MAX_PAGES,
            "stopped reading after the page limit"
        );
        Ok(out)
    }

    /// The portal's users (`user.get`, every page) as [`CrmUser`]s: the
    /// extension is `UF_PHONE_INNER` (empty when not set).
    pub async fn users(&self) -> Result<Vec<CrmUser>> {
        let list = self
            .list("listing Bitrix24 users", "user.get", &json!({}))
            .await?;
        Ok(list
            .iter()
            .filter_map(|u| {
                let id = u.get("ID").and_then(as_u64)?;
                let name = format!("{} {}", text(u, "NAME"), text(u, "LAST_NAME"))
                    .trim()
                    .to_string();
                Some(CrmUser {
                    extension: text(u, "UF_PHONE_INNER"),
                    user_id: Some(id.to_string()),
                    name: Some(name).filter(|n| !n.is_empty()),
                    phone: None,
                    email: Some(text(u, "EMAIL")).filter(|e| !e.is_empty()),
                })
            })
            .collect())
    }

    /// The users that have an inner phone (`UF_PHONE_INNER`), by it.
    pub async fn users_by_inner_phone(&self) -> Result<HashMap<String, CrmUser>> {
        Ok(self
            .users()
            .await?
            .into_iter()
            .filter(|u| !u.extension.is_empty())
            .map(|u| (u.extension.clone(), u))
            .collect())
    }
}

#[async_trait::async_trait]
impl CrmProvider for BitrixCrm {
    fn kind(&self) -> &'static str {
        SYSTEM
    }

    /// Live call events (register → finish), recordings after the end,
    /// lookups with open deals and Bitrix24's own click-to-call
    /// (`ONEXTERNALCALLSTART`, handled by the hub). No log-at-end and no
    /// contact creation: `CRM_CREATE` lets Bitrix24 create a lead itself.
    fn capabilities(&self) -> Capabilities {
        Capabilities {
            lookup_contact: true,
            open_deals: true,
            live_call_events: true,
            log_at_end: false,
            attach_recording_later: true,
            create_contact: false,
            inbound_click_to_call: true,
        }
    }

    /// Webhook: `profile` → "<name> (user <id>) on <portal>". OAuth:
    /// `app.info` → "application <code> on <portal>". Telephony methods are
    /// not tried (they would register a call); the detail warns that
    /// webhooks may be refused them.
    async fn check(&self) -> Result<ConnectionInfo> {
        let host = Url::parse(&self.portal)
            .ok()
            .and_then(|u| u.host_str().map(str::to_string))
            .unwrap_or_else(|| self.portal.clone());
        match &self.auth {
            Auth::Webhook(_) => {
                let env = self
                    .call("testing the Bitrix24 webhook", "profile", &json!({}))
                    .await?;
                let r = &env["result"];
                let name = format!("{} {}", text(r, "NAME"), text(r, "LAST_NAME"))
                    .trim()
                    .to_string();
                let id = text(r, "ID");
                Ok(ConnectionInfo {
                    account: format!("{name} (user {id}) on {host}"),
                    detail: Some(
                        "signed in with an inbound webhook; current Bitrix24 portals may refuse telephony methods \
                         through webhooks (WRONG_AUTH_TYPE): if calls are not logged, use a local application (OAuth)"
                            .to_string(),
                    ),
                })
            }
            Auth::OAuth(_) => {
                let env = self
                    .call("testing the Bitrix24 application", "app.info", &json!({}))
                    .await?;
                let r = &env["result"];
                let mut code = text(r, "CODE");
                if code.is_empty() {
                    code = text(r, "ID");
                }
                Ok(ConnectionInfo {
                    account: format!("application {code} on {host}"),
                    detail: Some("signed in as a local application (OAuth)".to_string()),
                })
            }
        }
    }

    async fn lookup(&self, variants: &NumberVariants) -> Result<Vec<ContactMatch>> {
        self.lookup_number(variants).await
    }

    async fn deliver(&self, op: &Operation) -> Result<Delivered> {
        self.deliver_op(op).await
    }

    /// Always `Unknown`, and resending is safe: `register` with the same
    /// `EXTERNAL_CALL_ID` answers the same `CALL_ID` (30-minute dedup);
    /// `hide`/`show` are idempotent; a repeated `finish` answers "already
    /// finished" (or "not found"), taken as delivered; `attachRecord` again
    /// replaces the record.
    async fn confirm(&self, _op: &Operation) -> Result<Confirmation> {
        Ok(Confirmation::Unknown)
    }

    /// OAuth: refresh now (`Ok(true)`). Webhook: nothing to refresh.
    async fn refresh_credentials(&self) -> Result<bool> {
        match &self.auth {
            Auth::OAuth(tokens) => tokens.force_refresh().await.map(|_| true),
            Auth::Webhook(_) => Ok(false),
        }
    }

    /// `user.get`: extension = `UF_PHONE_INNER` (empty when not set).
    async fn discover_users(&self) -> Result<Vec<CrmUser>> {
        self.users().await
    }
}

#[cfg(test)]
mod tests {
    use ringside_crm::Limits;

    use super::*;

    fn make(auth: BitrixAuth) -> Result<BitrixCrm> {
        BitrixCrm::new(BitrixSettings::new(auth), Throttle::new(&Limits::default()))
    }

    fn webhook(url: &str) -> BitrixAuth {
        BitrixAuth::Webhook {
            url: Sensitive::new(url.to_string()),
        }
    }

    #[test]
    fn settings_are_validated() {
        let crm = make(webhook("https://acme.bitrix24.com/rest/1/abc")).unwrap();
        assert_eq!(crm.portal_url(), "https://acme.bitrix24.com");
        let crm = make(webhook("http://127.0.0.1:8080/rest/1/abc/")).unwrap();
        assert_eq!(crm.portal_url(), "http://127.0.0.1:8080");
        for bad in [
            "acme.bitrix24.com",
            "https://acme.bitrix24.com/",
            "https://acme.bitrix24.com/rest/1/abc/?x=1",
            "ftp://acme/rest/1/abc/",
        ] {
            assert_eq!(
                make(webhook(bad)).unwrap_err().kind,
                ErrorKind::Config,
                "{bad}"
            );
        }
        let oauth = |id: &str| BitrixAuth::OAuth {
            portal_url: "https://acme.bitrix24.com/".into(),
            client_id: id.into(),
            client_secret: Sensitive::new("s".into()),
            refresh_token: Sensitive::new("r".into()),
            store: MemoryTokenStore::new(),
        };
        let crm = make(oauth("local.1")).unwrap();
        assert_eq!(crm.portal_url(), "https://acme.bitrix24.com");
        assert!(crm.tokens().is_some());
        assert_eq!(make(oauth(" ")).unwrap_err().kind, ErrorKind::Config);
        let caps = crm.capabilities();
        assert!(caps.live_call_events && caps.attach_recording_later && !caps.log_at_end);
    }
}
