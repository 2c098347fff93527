//! The Zoho CRM adapter (PhoneBridge v2).
//!
//! - [`oauth`]: the [`TokenManager`] (one access token per CRM, refreshed
//!   ahead of expiry by a single flight, once more on `INVALID_TOKEN`, never
//!   more than 10 mints per 10 minutes) and the first-time authorisation
//!   helpers ([`authorize_url`], [`parse_redirect`], [`exchange_code`]).
//! - [`phonebridge`]: the call events (integration spec §5) and the setup
//!   calls (`integrate`, `clicktocallandcallcontrol`, `users`).
//! - [`lookup`]: `callerdetails` by phone, re-verified, with open Potentials.
//! - [`error`]: the ONE [`parse_error`] and the table of documented codes.
//!
//! Every request (token requests included) takes one permit from the CRM's
//! [`Throttle`]; a 429's `Retry-After` holds it. Every PhoneBridge request
//! goes to `{api_domain}/crm/v2/phonebridge/…`, `api_domain` being the one
//! the token answer named (Zoho is multi-DC: an EU token does not work on the
//! US host). Nothing is retried here except the one retry after a refused
//! access token; the outbox retries deliveries durably.

pub mod error;
mod http;
pub mod lookup;
pub mod oauth;
pub mod phonebridge;
pub mod settings;
pub mod wire;

use std::sync::Arc;

use reqwest::{Method, Url};
use ringside_core::{Clock, ContactMatch, Error, ErrorKind, NumberVariants, Result, SystemClock};
use ringside_crm::{
    Capabilities, Confirmation, ConnectionInfo, CrmProvider, CrmUser, Delivered, Operation,
    Throttle,
};
use serde_json::Value;

pub use error::{CODES, describe_code, parse_error};
pub use oauth::{
    AccessToken, Grant, MINT_LIMIT, MINT_WINDOW, SCOPES, TokenManager, Tokens, authorize_url,
    exchange_code, parse_redirect,
};
pub use phonebridge::{OUTBOUND_ANSWERED_SKIPPED, Params, Planned, Registration, gmt, plan};
pub use settings::{ZohoSettings, default_closed_stages};
pub use wire::ZohoUser;

use crate::http::Reply;
use crate::phonebridge::pb_result;

/// PhoneBridge's path under the `api_domain`.
pub const PHONEBRIDGE_PATH: &str = "/crm/v2/phonebridge";

/// One Zoho CRM org as a [`CrmProvider`].
#[derive(Debug)]
pub struct ZohoCrm {
    http: reqwest::Client,
    settings: ZohoSettings,
    throttle: Arc<Throttle>,
    tokens: TokenManager,
}

impl ZohoCrm {
    /// An adapter for `settings`, taking its request permits from `throttle`.
    /// No request is made until first use.
    ///
    /// An accounts URL that is not http(s) with a host, an empty client id
    /// or an unusable number plan is a `Config` error.
    pub fn new(settings: ZohoSettings, throttle: Arc<Throttle>) -> Result<ZohoCrm> {
        Self::with_clock(settings, throttle, Arc::new(SystemClock))
    }

    /// As [`ZohoCrm::new`], reading "now" (token expiry, the mint window)
    /// from `clock`.
    pub fn with_clock(
        mut settings: ZohoSettings,
        throttle: Arc<Throttle>,
        clock: Arc<dyn Clock>,
    ) -> Result<ZohoCrm> {
        let accounts = settings
            .accounts_url
            .trim()
            .trim_end_matches('/')
            .to_string();
        let url = Url::parse(&accounts).map_err(|e| {
            Error::config(format!(
                "the Zoho accounts URL `{}` is invalid: {e}",
                settings.accounts_url
            ))
        })?;
        if !matches!(url.scheme(), "http" | "https")
            || url.host_str().is_none_or(str::is_empty)
            || url.query().is_some()
        {
            return Err(Error::config(format!(
                "the Zoho accounts URL `{}` must be like https://accounts.zoho.eu",
                settings.accounts_url
            )));
        }
        if settings.client_id.trim().is_empty() {
            return Err(Error::config("the Zoho client id is empty"));
        }
        settings
            .numbers
            .validate()
            .map_err(|e| e.context("Zoho number plan"))?;
        settings.accounts_url = accounts;
        let http = http::client()?;
        let tokens = TokenManager::new(
            http.clone(),
            &settings.accounts_url,
            &settings.client_id,
            settings.client_secret.clone(),
            settings.refresh_token.clone(),
            settings.refresh_margin,
            Arc::clone(&throttle),
            clock,
        );
        Ok(ZohoCrm {
            http,
            settings,
            throttle,
            tokens,
        })
    }

    pub fn settings(&self) -> &ZohoSettings {
        &self.settings
    }

    /// The token manager (e.g. to [`TokenManager::seed`] it after a code
    /// exchange, or to read the mint count).
    pub fn tokens(&self) -> &TokenManager {
        &self.tokens
    }

    /// One PhoneBridge request with the current token; on a 401 (Zoho's
    /// `INVALID_TOKEN`) the token is refreshed once (shared with concurrent
    /// callers) and the request sent once more. The answer as JSON (`Null`
    /// for 204 / no body), or the mapped error.
    pub(crate) async fn phonebridge(
        &self,
        what: &str,
        method: Method,
        endpoint: &str,
        query: &[(&str, String)],
        form: Option<&Params>,
    ) -> Result<Value> {
        let access = self.tokens.access().await?;
        let reply = self
            .send_once(what, &access, &method, endpoint, query, form)
            .await?;
        if !is_refused_token(&reply) {
            return pb_result(&reply);
        }
        tracing::info!(crm = "zoho", what, "access token refused; refreshing once");
        let fresh = self.tokens.renew(&access).await?;
        let reply = self
            .send_once(what, &fresh, &method, endpoint, query, form)
            .await?;
        pb_result(&reply)
    }

    async fn send_once(
        &self,
        what: &str,
        access: &AccessToken,
        method: &Method,
        endpoint: &str,
        query: &[(&str, String)],
        form: Option<&Params>,
    ) -> Result<Reply> {
        let url = format!("{}{PHONEBRIDGE_PATH}/{endpoint}", access.api_domain);
        let mut auth = reqwest::header::HeaderValue::from_str(&format!(
            "Zoho-oauthtoken {}",
            access.token.expose()
        ))
        .map_err(|_| {
            Error::internal("Zoho's access token has characters not allowed in a header")
        })?;
        auth.set_sensitive(true);
        let mut request = self
            .http
            .request(method.clone(), url)
            .header(reqwest::header::AUTHORIZATION, auth);
        if !query.is_empty() {
            request = request.query(query);
        }
        if let Some(form) = form {
            request = request.form(form);
        }
        http::send(Some(&self.throttle), what, request).await
    }
}

/// A 401, or any answer whose code is `INVALID_TOKEN`.
fn is_refused_token(reply: &Reply) -> bool {
    if reply.status == 401 {
        return true;
    }
    serde_json::from_str::<Value>(&reply.body)
        .ok()
        .and_then(|v| v.get("code").and_then(Value::as_str).map(str::to_string))
        .is_some_and(|c| c.eq_ignore_ascii_case("INVALID_TOKEN"))
}

#[async_trait::async_trait]
impl CrmProvider for ZohoCrm {
    fn kind(&self) -> &'static str {
        "zoho"
    }

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

    /// A token (refreshed if needed), then `GET users`. An org where the
    /// integration is not enabled yet answers `PBX_NOT_INTEGRATED`: that is
    /// reported in `detail` (the credentials work; the setup must run).
    async fn check(&self) -> Result<ConnectionInfo> {
        let access = self.tokens.access().await?;
        match self.users().await {
            Ok(users) => Ok(ConnectionInfo {
                account: format!("{} PhoneBridge users at {}", users.len(), access.api_domain),
                detail: Some("integration enabled".to_string()),
            }),
            Err(e) if e.kind == ErrorKind::Config && e.message.contains("PBX_NOT_INTEGRATED") => {
                Ok(ConnectionInfo {
                    account: format!("signed in at {}", access.api_domain),
                    detail: Some(
                        "PhoneBridge is not enabled for this Zoho account: run the integration setup"
                            .to_string(),
                    ),
                })
            }
            Err(e) => Err(e),
        }
    }

    async fn lookup(&self, variants: &NumberVariants) -> Result<Vec<ContactMatch>> {
        self.lookup_number(variants).await
    }

    async fn deliver(&self, op: &Operation) -> Result<Delivered> {
        self.deliver_op(op).await
    }

    /// PhoneBridge cannot be asked what it received: `Unknown`, so the
    /// outbox sends again. Zoho deduplicates a repeated event by `callrefid`
    /// and event (inferred from its design, not documented).
    async fn confirm(&self, _op: &Operation) -> Result<Confirmation> {
        Ok(Confirmation::Unknown)
    }

    /// Mint a new access token now (within the 10-per-10-minutes budget).
    async fn refresh_credentials(&self) -> Result<bool> {
        self.tokens.force_refresh().await.map(|_| true)
    }

    /// The PhoneBridge users as [`CrmUser`]s. Zoho users have no extension:
    /// `extension` is empty and the agent directory must map extensions to
    /// these users (the directory matches configured entries by `email`);
    /// `name` is the user's name.
    async fn discover_users(&self) -> Result<Vec<CrmUser>> {
        Ok(self
            .users()
            .await?
            .into_iter()
            .filter(|u| !u.userid.trim().is_empty())
            .map(|u| CrmUser {
                extension: String::new(),
                user_id: Some(u.userid.trim().to_string()),
                name: Some(u.username.trim().to_string()).filter(|n| !n.is_empty()),
                phone: None,
                email: Some(u.email.trim().to_string()).filter(|e| !e.is_empty()),
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use ringside_crm::Limits;

    use super::*;

    #[test]
    fn settings_are_validated() {
        let make = |url: &str, id: &str| {
            ZohoCrm::new(
                ZohoSettings::new(url, id, "s", "r"),
                Throttle::new(&Limits::default()),
            )
        };
        assert_eq!(
            make("https://accounts.zoho.eu/", "c")
                .unwrap()
                .settings()
                .accounts_url,
            "https://accounts.zoho.eu"
        );
        for bad in ["accounts.zoho.eu", "ftp://a", "", "https://a/?x=1"] {
            assert_eq!(make(bad, "c").unwrap_err().kind, ErrorKind::Config, "{bad}");
        }
        assert_eq!(
            make("https://accounts.zoho.eu", " ").unwrap_err().kind,
            ErrorKind::Config
        );
    }
}
