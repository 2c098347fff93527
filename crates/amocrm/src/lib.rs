//! The amoCRM (Kommo) adapter: a log-at-end CRM.
//!
//! - [`oauth`]: the [`TokenManager`] (single-flight refresh ahead of expiry
//!   and once on a 401; amo's refresh tokens are single use, so every new one
//!   is saved through the [`TokenStore`] before the new access token is
//!   used) and [`exchange_code`]. Long-lived tokens are never refreshed.
//! - [`calls`]: one call record per logical call when it ends, through
//!   `POST /api/v4/calls` ([`CallsMode::V4`]) or the legacy form-encoded
//!   `calls/add` ([`CallsMode::Legacy`]); [`UnknownNumber`] decides what
//!   happens when no contact has the number; `confirm` looks for our `uniq`
//!   among the call notes.
//! - [`lookup`]: `GET /api/v4/contacts?query=` re-verified on the PHONE field
//!   (amo's query matches any field), with the open leads.
//! - [`error`]: the ONE [`parse_error`].
//!
//! Every HTTP request (token, API v4, legacy) first takes one permit from the
//! CRM's [`Throttle`]; a 429 or amo's 403 IP block holds it for everyone.

pub mod calls;
pub mod error;
mod http;
pub mod lookup;
pub mod oauth;
pub mod settings;

use std::sync::Arc;

use reqwest::{Method, Url};
use ringside_core::{
    Clock, Contact, ContactMatch, Error, ErrorKind, NumberVariants, Result, Sensitive, SystemClock,
};
use ringside_crm::{
    Capabilities, Confirmation, ConnectionInfo, CrmProvider, CrmUser, Delivered, NewContact,
    Operation, Throttle,
};
use serde_json::Value;
use tokio::sync::OnceCell;

pub use error::{
    ENTITY_NOT_FOUND, IP_BLOCK_WAIT, NOT_PAID, REFRESH_REFUSED, is_entity_not_found, parse_error,
};
pub use oauth::{AccessToken, REFRESH_MARGIN, TokenManager, Tokens, exchange_code};
pub use settings::{AmoAuth, AmoSettings, CallsMode, MemoryTokenStore, TokenStore, UnknownNumber};

use crate::http::Reply;

/// An amoCRM user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AmoUser {
    pub id: u64,
    pub name: String,
    pub email: String,
}

enum Auth {
    Token(Sensitive<String>),
    Refreshing(Box<TokenManager>),
    None,
}

/// One amoCRM account as a [`CrmProvider`].
pub struct AmoCrm {
    http: reqwest::Client,
    settings: AmoSettings,
    throttle: Arc<Throttle>,
    auth: Auth,
    /// `GET /api/v4/account`'s currency, once.
    currency: OnceCell<Option<String>>,
    /// `(pipeline id, status id) → status name`, once.
    statuses: OnceCell<lookup::Statuses>,
}

impl std::fmt::Debug for AmoCrm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AmoCrm")
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

fn check_url(what: &str, raw: &str) -> Result<String> {
    let trimmed = raw.trim().trim_end_matches('/').to_string();
    let url = Url::parse(&trimmed)
        .map_err(|e| Error::config(format!("the amoCRM {what} `{raw}` is invalid: {e}")))?;
    if !matches!(url.scheme(), "http" | "https")
        || url.host_str().is_none_or(str::is_empty)
        || url.query().is_some()
    {
        return Err(Error::config(format!(
            "the amoCRM {what} `{raw}` must be like https://example.amocrm.ru"
        )));
    }
    Ok(trimmed)
}

impl AmoCrm {
    /// An adapter for `settings`, taking its request permits from `throttle`.
    /// No request is made until first use. A bad URL, an empty credential,
    /// [`CallsMode::V4`] without API v4 auth or an unusable number plan is a
    /// `Config` error.
    pub fn new(settings: AmoSettings, throttle: Arc<Throttle>) -> Result<AmoCrm> {
        Self::with_clock(settings, throttle, Arc::new(SystemClock))
    }

    /// As [`AmoCrm::new`], reading "now" (token expiry) from `clock`.
    pub fn with_clock(
        mut settings: AmoSettings,
        throttle: Arc<Throttle>,
        clock: Arc<dyn Clock>,
    ) -> Result<AmoCrm> {
        settings.base_url = check_url("account address", &settings.base_url)?;
        settings
            .numbers
            .validate()
            .map_err(|e| e.context("amoCRM number plan"))?;
        if settings.source.trim().is_empty() {
            settings.source = "ringside".to_string();
        }
        if let CallsMode::Legacy { code, key, url, .. } = &mut settings.mode {
            *url = check_url("calls/add address", url)?;
            if code.trim().is_empty() || key.expose().trim().is_empty() {
                return Err(Error::config(
                    "amoCRM calls/add needs the widget code and the service key amo support issued",
                ));
            }
        } else if !settings.auth.has_v4() {
            return Err(Error::config(
                "amoCRM API v4 calls need a long-lived token or an OAuth connection",
            ));
        }
        let http = http::client()?;
        let auth = match &settings.auth {
            AmoAuth::LongLived { token } => {
                if token.expose().trim().is_empty() {
                    return Err(Error::config("the amoCRM long-lived token is empty"));
                }
                Auth::Token(token.clone())
            }
            AmoAuth::OAuth {
                client_id,
                client_secret,
                redirect_uri,
                refresh_token,
                store,
            } => {
                if client_id.trim().is_empty() || client_secret.expose().trim().is_empty() {
                    return Err(Error::config("the amoCRM client id or secret is empty"));
                }
                Auth::Refreshing(Box::new(TokenManager::new(
                    http.clone(),
                    &settings.base_url,
                    client_id,
                    client_secret.clone(),
                    redirect_uri,
                    refresh_token.clone(),
                    Arc::clone(store),
                    Arc::clone(&throttle),
                    clock,
                )))
            }
            AmoAuth::None => Auth::None,
        };
        Ok(AmoCrm {
            http,
            settings,
            throttle,
            auth,
            currency: OnceCell::new(),
            statuses: OnceCell::new(),
        })
    }

    pub fn settings(&self) -> &AmoSettings {
        &self.settings
    }

    /// The OAuth token manager, when the account uses OAuth.
    pub fn tokens(&self) -> Option<&TokenManager> {
        match &self.auth {
            Auth::Refreshing(t) => Some(t),
            _ => None,
        }
    }

    /// The account's users (`GET /api/v4/users`, every page).
    pub async fn users(&self) -> Result<Vec<AmoUser>> {
        let mut users = Vec::new();
        for page in 1..=20u32 {
            let query = vec![
                ("limit".to_string(), "250".to_string()),
                ("page".to_string(), page.to_string()),
            ];
            let Some(json) = self
                .v4_json(
                    "listing amoCRM users",
                    Method::GET,
                    "/api/v4/users",
                    &query,
                    None,
                )
                .await?
            else {
                break;
            };
            let list = embedded(&json, "users");
            for u in list {
                let Some(id) = u.get("id").and_then(as_u64) else {
                    continue;
                };
                users.push(AmoUser {
                    id,
                    name: str_of(u, "name"),
                    email: str_of(u, "email"),
                });
            }
            if list.len() < 250 {
                break;
            }
        }
        Ok(users)
    }

    /// The error for a failed answer; a rate limit holds the throttle.
    pub(crate) fn error_of(&self, reply: &Reply) -> Error {
        let e = parse_error(reply.status, &reply.headers, &reply.body);
        if e.kind == ErrorKind::RateLimited
            && let Some(wait) = e.retry_after
        {
            self.throttle.hold_for(wait);
        }
        e
    }

    /// One API v4 request with the current token; on a 401 an OAuth token is
    /// refreshed once (shared with concurrent callers) and the request sent
    /// once more. The raw answer, whatever its status.
    pub(crate) async fn v4(
        &self,
        what: &str,
        method: Method,
        path: &str,
        query: &[(String, String)],
        body: Option<&Value>,
    ) -> Result<Reply> {
        match &self.auth {
            Auth::None => Err(Error::config(format!(
                "{what}: needs amoCRM API v4 access (a long-lived token or an OAuth connection)"
            ))),
            Auth::Token(token) => {
                let reply = self
                    .send_v4(what, token, &method, path, query, body)
                    .await?;
                if reply.status == 401 {
                    let e = self.error_of(&reply);
                    return Err(Error::new(
                        ErrorKind::Unauthorized,
                        format!(
                            "amoCRM refused the long-lived token (revoked or expired): paste a new one in Settings ({})",
                            e.message
                        ),
                    ));
                }
                Ok(reply)
            }
            Auth::Refreshing(tokens) => {
                let access = tokens.access().await?;
                let reply = self
                    .send_v4(what, &access.token, &method, path, query, body)
                    .await?;
                if reply.status != 401 {
                    return Ok(reply);
                }
                tracing::info!(
                    crm = "amocrm",
                    what,
                    "access token refused; refreshing once"
                );
                let fresh = tokens.renew(&access).await?;
                self.send_v4(what, &fresh.token, &method, path, query, body)
                    .await
            }
        }
    }

    async fn send_v4(
        &self,
        what: &str,
        token: &Sensitive<String>,
        method: &Method,
        path: &str,
        query: &[(String, String)],
        body: Option<&Value>,
    ) -> Result<Reply> {
        let mut auth =
            reqwest::header::HeaderValue::from_str(&format!("Bearer {}", token.expose())).map_err(
                |_| Error::internal("amoCRM's token has characters not allowed in a header"),
            )?;
        auth.set_sensitive(true);
        let mut request = self
            .http
            .request(method.clone(), format!("{}{path}", self.settings.base_url))
            .header(reqwest::header::AUTHORIZATION, auth);
        if !query.is_empty() {
            request = request.query(query);
        }
        if let Some(body) = body {
            request = request.json(body);
        }
        http::send(&self.throttle, what, request).await
    }

    /// [`AmoCrm::v4`] expecting JSON: `None` for 204 (amo's "nothing").
    pub(crate) async fn v4_json(
        &self,
        what: &str,
        method: Method,
        path: &str,
        query: &[(String, String)],
        body: Option<&Value>,
    ) -> Result<Option<Value>> {
        let reply = self.v4(what, method, path, query, body).await?;
        json_of(self, what, &reply)
    }

    /// `GET /api/v4/account` (name, subdomain, currency).
    pub(crate) async fn account(&self) -> Result<Value> {
        self.v4_json(
            "reading the amoCRM account",
            Method::GET,
            "/api/v4/account",
            &[],
            None,
        )
        .await?
        .ok_or_else(|| Error::internal("amoCRM answered the account request with no content"))
    }
}

pub(crate) fn json_of(crm: &AmoCrm, what: &str, reply: &Reply) -> Result<Option<Value>> {
    if !reply.is_success() {
        return Err(crm.error_of(reply).context(what));
    }
    if reply.status == 204 || reply.body.trim().is_empty() {
        return Ok(None);
    }
    serde_json::from_str(&reply.body)
        .map(Some)
        .map_err(|_| Error::internal(format!("{what}: amoCRM's answer is not JSON")))
}

/// `json._embedded.<key>` as a slice (empty when absent).
pub(crate) fn embedded<'a>(json: &'a Value, key: &str) -> &'a [Value] {
    json.get("_embedded")
        .and_then(|e| e.get(key))
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or(&[])
}

pub(crate) fn as_u64(v: &Value) -> Option<u64> {
    match v {
        Value::Number(n) => n.as_u64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

pub(crate) fn str_of(v: &Value, key: &str) -> String {
    v.get(key)
        .and_then(Value::as_str)
        .map(|s| s.trim().to_string())
        .unwrap_or_default()
}

#[async_trait::async_trait]
impl CrmProvider for AmoCrm {
    fn kind(&self) -> &'static str {
        "amocrm"
    }

    /// Log-at-end only (amo has no live call events for integrations, and a
    /// call record cannot get a recording afterwards). Lookup, deals and
    /// contact creation need API v4 auth (absent only in legacy-only setups).
    fn capabilities(&self) -> Capabilities {
        let v4 = self.settings.auth.has_v4();
        Capabilities {
            lookup_contact: v4,
            open_deals: v4,
            live_call_events: false,
            log_at_end: true,
            attach_recording_later: false,
            create_contact: v4,
            inbound_click_to_call: false,
        }
    }

    /// `GET /api/v4/account` → "<name> (<subdomain>)".
    async fn check(&self) -> Result<ConnectionInfo> {
        let detail = match &self.settings.mode {
            CallsMode::V4 => "calls via API v4",
            CallsMode::Legacy { .. } => "calls via calls/add",
        };
        if !self.settings.auth.has_v4() {
            let CallsMode::Legacy { account_id, .. } = &self.settings.mode else {
                return Err(Error::config("amoCRM has no API v4 access"));
            };
            return Ok(ConnectionInfo {
                account: format!("amoCRM account {account_id}"),
                detail: Some(format!(
                    "{detail}; without API v4 access callers are not looked up and the key is only tested by the first call"
                )),
            });
        }
        let account = self.account().await?;
        let name = str_of(&account, "name");
        let sub = str_of(&account, "subdomain");
        Ok(ConnectionInfo {
            account: if sub.is_empty() {
                name
            } else {
                format!("{name} ({sub})")
            },
            detail: Some(detail.to_string()),
        })
    }

    async fn lookup(&self, variants: &NumberVariants) -> Result<Vec<ContactMatch>> {
        self.lookup_number(variants).await
    }

    /// Only [`ringside_crm::OpKind::Ended`] is sent: amoCRM is log-at-end, so
    /// the planner never plans ring/answered/transfer/recording operations
    /// for it; they answer `Unsupported`.
    async fn deliver(&self, op: &Operation) -> Result<Delivered> {
        self.deliver_op(op).await
    }

    /// API v4: `Applied` when a call note carries our `uniq`, else
    /// `NotApplied`. Legacy calls/add: `Unknown` (amo queues them).
    async fn confirm(&self, op: &Operation) -> Result<Confirmation> {
        self.confirm_op(op).await
    }

    /// OAuth: refresh now (`Ok(true)`). Long-lived tokens: `Ok(false)`.
    async fn refresh_credentials(&self) -> Result<bool> {
        match &self.auth {
            Auth::Refreshing(tokens) => tokens.force_refresh().await.map(|_| true),
            _ => Ok(false),
        }
    }

    /// amo users have no extension: `extension` is empty and the agent
    /// directory maps configured entries to these users by `email`.
    async fn discover_users(&self) -> Result<Vec<CrmUser>> {
        Ok(self
            .users()
            .await?
            .into_iter()
            .map(|u| CrmUser {
                extension: String::new(),
                user_id: Some(u.id.to_string()),
                name: Some(u.name).filter(|n| !n.is_empty()),
                phone: None,
                email: Some(u.email).filter(|e| !e.is_empty()),
            })
            .collect())
    }

    async fn create_contact(&self, contact: &NewContact) -> Result<Contact> {
        self.create(contact, None).await
    }
}

#[cfg(test)]
mod tests {
    use ringside_crm::Limits;

    use super::*;

    #[test]
    fn settings_are_validated() {
        let auth = AmoAuth::LongLived {
            token: Sensitive::new("t".into()),
        };
        let make = |url: &str, auth: AmoAuth| {
            AmoCrm::new(
                AmoSettings::new(url, auth),
                Throttle::new(&Limits::default()),
            )
        };
        assert_eq!(
            make("https://acme.amocrm.ru/", auth.clone())
                .unwrap()
                .settings()
                .base_url,
            "https://acme.amocrm.ru"
        );
        for bad in ["acme.amocrm.ru", "ftp://a", "", "https://a/?x=1"] {
            assert_eq!(
                make(bad, auth.clone()).unwrap_err().kind,
                ErrorKind::Config,
                "{bad}"
            );
        }
        assert_eq!(
            make("https://a.amocrm.ru", AmoAuth::None).unwrap_err().kind,
            ErrorKind::Config
        );
        let mut legacy = AmoSettings::new("https://a.amocrm.ru", AmoAuth::None);
        legacy.mode = CallsMode::Legacy {
            code: "w".into(),
            key: Sensitive::new("k".into()),
            account_id: 1,
            url: "https://sip.amocrm.ru/".into(),
        };
        let crm = AmoCrm::new(legacy, Throttle::new(&Limits::default())).unwrap();
        assert!(!crm.capabilities().lookup_contact);
        assert!(crm.capabilities().log_at_end);
    }
}
