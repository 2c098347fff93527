//! amoCRM OAuth 2: the [`TokenManager`] (one access token per account,
//! single-flight refresh ahead of expiry and once more on a 401, the rotating
//! single-use refresh token saved through a [`TokenStore`] before the new
//! access token is used) and [`exchange_code`] for the first authorisation.
//!
//! `POST {base}/oauth2/access_token` with a JSON body
//! `{client_id, client_secret, grant_type, refresh_token|code, redirect_uri}`
//! answers `{token_type, expires_in, access_token, refresh_token}`. Every
//! refresh answers a NEW refresh token and invalidates the old one.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use ringside_core::{Clock, Error, ErrorKind, Result, Sensitive};
use ringside_crm::Throttle;
use serde::Deserialize;
use serde_json::json;
use tokio::sync::Mutex;

use crate::error::{REFRESH_REFUSED, parse_error};
use crate::http::{self, Reply};
use crate::settings::TokenStore;

/// The token endpoint under the account's base URL.
pub const TOKEN_PATH: &str = "/oauth2/access_token";
/// Refresh this long before the access token expires.
pub const REFRESH_MARGIN: Duration = Duration::from_secs(5 * 60);
/// The access token lifetime assumed when amo does not say (about 24 h).
const DEFAULT_LIFETIME: Duration = Duration::from_secs(86_400);

/// What a token request returns.
#[derive(Debug, Clone)]
pub struct Tokens {
    pub access_token: Sensitive<String>,
    pub refresh_token: Sensitive<String>,
    pub expires_in: Duration,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct TokenResponse {
    access_token: String,
    refresh_token: String,
    expires_in: Option<serde_json::Value>,
}

/// An access token in use.
#[derive(Debug, Clone)]
pub struct AccessToken {
    pub token: Sensitive<String>,
    pub expires_at: DateTime<Utc>,
    /// Counts refreshes: a caller whose token (generation N) got a 401 only
    /// refreshes if the current one is still N.
    pub generation: u64,
}

struct State {
    refresh_token: Sensitive<String>,
    current: Option<AccessToken>,
    generation: u64,
    /// The refresh token in memory has not reached the store yet.
    unsaved: bool,
}

/// The OAuth client side of one amoCRM account.
pub struct TokenManager {
    http: reqwest::Client,
    base_url: String,
    client_id: String,
    client_secret: Sensitive<String>,
    redirect_uri: String,
    store: Arc<dyn TokenStore>,
    throttle: Arc<Throttle>,
    clock: Arc<dyn Clock>,
    /// tokio's Mutex, held across the refresh request: single flight.
    state: Mutex<State>,
}

impl std::fmt::Debug for TokenManager {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenManager")
            .field("base_url", &self.base_url)
            .field("client_id", &self.client_id)
            .finish_non_exhaustive()
    }
}

fn chrono_duration(d: Duration) -> chrono::Duration {
    chrono::Duration::from_std(d).unwrap_or(chrono::Duration::MAX)
}

impl TokenManager {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        http: reqwest::Client,
        base_url: &str,
        client_id: &str,
        client_secret: Sensitive<String>,
        redirect_uri: &str,
        refresh_token: Sensitive<String>,
        store: Arc<dyn TokenStore>,
        throttle: Arc<Throttle>,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Self {
            http,
            base_url: base_url.trim().trim_end_matches('/').to_string(),
            client_id: client_id.trim().to_string(),
            client_secret,
            redirect_uri: redirect_uri.trim().to_string(),
            store,
            throttle,
            clock,
            state: Mutex::new(State {
                refresh_token,
                current: None,
                generation: 0,
                unsaved: false,
            }),
        }
    }

    /// A token with more than [`REFRESH_MARGIN`] left, refreshing first if
    /// needed.
    pub async fn access(&self) -> Result<AccessToken> {
        let mut state = self.state.lock().await;
        self.retry_save(&mut state);
        if let Some(current) = &state.current
            && current.expires_at - chrono_duration(REFRESH_MARGIN) > self.clock.now()
        {
            return Ok(current.clone());
        }
        self.refresh(&mut state).await
    }

    /// amo refused `rejected` (401): refresh, unless another caller already
    /// replaced it (then the replacement is returned).
    pub async fn renew(&self, rejected: &AccessToken) -> Result<AccessToken> {
        let mut state = self.state.lock().await;
        if let Some(current) = &state.current
            && current.generation != rejected.generation
        {
            return Ok(current.clone());
        }
        self.refresh(&mut state).await
    }

    /// Refresh now (the trait's `refresh_credentials`).
    pub async fn force_refresh(&self) -> Result<AccessToken> {
        let mut state = self.state.lock().await;
        self.refresh(&mut state).await
    }

    /// Whether the newest refresh token is only in memory (saving failed).
    pub async fn unsaved(&self) -> bool {
        self.state.lock().await.unsaved
    }

    fn retry_save(&self, state: &mut State) {
        if !state.unsaved {
            return;
        }
        match self.store.save(&state.refresh_token) {
            Ok(()) => {
                state.unsaved = false;
                tracing::info!(crm = "amocrm", "the new amoCRM refresh token is saved now");
            }
            Err(e) => tracing::error!(
                crm = "amocrm",
                error = %e,
                "the new amoCRM refresh token is still only in memory: if Ringside stops, amoCRM must be reconnected"
            ),
        }
    }

    async fn refresh(&self, state: &mut State) -> Result<AccessToken> {
        if state.refresh_token.expose().trim().is_empty() {
            return Err(Error::new(
                ErrorKind::Unauthorized,
                "amoCRM is not connected yet (no refresh token): connect amoCRM in Settings",
            ));
        }
        let body = json!({
            "client_id": self.client_id,
            "client_secret": self.client_secret.expose(),
            "grant_type": "refresh_token",
            "refresh_token": state.refresh_token.expose(),
            "redirect_uri": self.redirect_uri,
        });
        let what = "amoCRM access token refresh";
        let request = self
            .http
            .post(format!("{}{TOKEN_PATH}", self.base_url))
            .json(&body);
        let reply = http::send(&self.throttle, what, request).await?;
        let tokens = token_result(&reply).map_err(|e| {
            if matches!(e.kind, ErrorKind::Unauthorized | ErrorKind::Invalid) {
                let mut refused = Error::new(ErrorKind::Unauthorized, REFRESH_REFUSED);
                refused.message = format!("{REFRESH_REFUSED} ({})", e.message);
                refused
            } else {
                if let Some(wait) = e.retry_after {
                    self.throttle.hold_for(wait);
                }
                e.context(what)
            }
        })?;
        // The old refresh token is dead now: keep the new one whatever
        // happens next, and persist it before using the access token.
        state.refresh_token = tokens.refresh_token.clone();
        state.generation += 1;
        let access = AccessToken {
            token: tokens.access_token,
            expires_at: self.clock.now() + chrono_duration(tokens.expires_in),
            generation: state.generation,
        };
        state.current = Some(access.clone());
        if tokens.refresh_token.expose().is_empty() {
            tracing::warn!(crm = "amocrm", "amoCRM's token answer had no refresh token");
            return Ok(access);
        }
        if let Err(e) = self.store.save(&state.refresh_token) {
            state.unsaved = true;
            return Err(Error::storage(format!(
                "amoCRM issued a new refresh token (the old one no longer works) but saving it failed: {}; \
                 it is kept in memory and saving is retried on the next request — if Ringside stops first, reconnect amoCRM in Settings",
                e.message
            )));
        }
        state.unsaved = false;
        tracing::debug!(
            crm = "amocrm",
            generation = access.generation,
            "new access token"
        );
        Ok(access)
    }
}

fn token_result(reply: &Reply) -> Result<Tokens> {
    if !reply.is_success() {
        return Err(parse_error(reply.status, &reply.headers, &reply.body));
    }
    let token: TokenResponse = serde_json::from_str(&reply.body)
        .map_err(|_| Error::internal("amoCRM's token answer is not JSON"))?;
    if token.access_token.trim().is_empty() {
        return Err(Error::internal("amoCRM's token answer has no access token"));
    }
    let expires_in = token
        .expires_in
        .as_ref()
        .and_then(|v| {
            v.as_u64()
                .or_else(|| v.as_str().and_then(|s| s.trim().parse().ok()))
        })
        .map(Duration::from_secs)
        .unwrap_or(DEFAULT_LIFETIME);
    Ok(Tokens {
        access_token: Sensitive::new(token.access_token),
        refresh_token: Sensitive::new(token.refresh_token),
        expires_in,
    })
}

/// Exchange an authorisation code (from the consent redirect, valid 20
/// minutes, once) for the first tokens. The caller stores the refresh token.
pub async fn exchange_code(
    base_url: &str,
    client_id: &str,
    client_secret: &Sensitive<String>,
    redirect_uri: &str,
    code: &Sensitive<String>,
    throttle: &Throttle,
) -> Result<Tokens> {
    let http = http::client()?;
    let body = json!({
        "client_id": client_id.trim(),
        "client_secret": client_secret.expose(),
        "grant_type": "authorization_code",
        "code": code.expose(),
        "redirect_uri": redirect_uri.trim(),
    });
    let request = http
        .post(format!(
            "{}{TOKEN_PATH}",
            base_url.trim().trim_end_matches('/')
        ))
        .json(&body);
    let what = "amoCRM authorisation code exchange";
    let reply = http::send(throttle, what, request).await?;
    token_result(&reply).map_err(|e| e.context(what))
}
