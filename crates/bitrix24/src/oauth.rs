//! Bitrix24 OAuth 2 for a local application: the [`TokenManager`] (one
//! access token per portal, single-flight refresh ahead of expiry and once
//! more on `expired_token`, the rotating refresh token saved through a
//! [`TokenStore`] before the new access token is used).
//!
//! `GET {server}/oauth/token/?grant_type=refresh_token&client_id=…&
//! client_secret=…&refresh_token=…` answers `{access_token, refresh_token,
//! expires_in, client_endpoint, …}`. Every refresh answers a NEW refresh
//! token (the old one stops working). Access tokens last one hour.
//!
//! The refresh is lazy: it happens only when a request is about to be made
//! with a token that has less than [`REFRESH_MARGIN`] left, or after
//! `expired_token` — never on a timer (Bitrix24 blocks apps that refresh on
//! a schedule).

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use ringside_core::{Clock, Error, ErrorKind, Result, Sensitive};
use ringside_crm::Throttle;
use serde::Deserialize;
use tokio::sync::Mutex;

use crate::error::{REFRESH_REFUSED, parse_error};
use crate::http::{self, Reply};
use crate::settings::TokenStore;

/// The token endpoint under the OAuth server's base.
pub const TOKEN_PATH: &str = "/oauth/token/";
/// Refresh this long before the access token expires.
pub const REFRESH_MARGIN: Duration = Duration::from_secs(5 * 60);
/// The access token lifetime assumed when Bitrix24 does not say (1 h).
const DEFAULT_LIFETIME: Duration = Duration::from_secs(3600);

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
    /// Counts refreshes: a caller whose token (generation N) was rejected
    /// only refreshes if the current one is still N.
    pub generation: u64,
}

struct State {
    refresh_token: Sensitive<String>,
    current: Option<AccessToken>,
    generation: u64,
    /// The refresh token in memory has not reached the store yet.
    unsaved: bool,
}

/// The OAuth client side of one Bitrix24 portal.
pub struct TokenManager {
    http: reqwest::Client,
    token_url: String,
    client_id: String,
    client_secret: Sensitive<String>,
    store: Arc<dyn TokenStore>,
    throttle: Arc<Throttle>,
    clock: Arc<dyn Clock>,
    /// tokio's Mutex, held across the refresh request: single flight.
    state: Mutex<State>,
}

impl std::fmt::Debug for TokenManager {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenManager")
            .field("token_url", &self.token_url)
            .field("client_id", &self.client_id)
            .finish_non_exhaustive()
    }
}

fn chrono_duration(d: Duration) -> chrono::Duration {
    chrono::Duration::from_std(d).unwrap_or(chrono::Duration::MAX)
}

impl TokenManager {
    /// `server` is the OAuth server's base (`https://oauth.bitrix.info` or
    /// the portal URL).
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        http: reqwest::Client,
        server: &str,
        client_id: &str,
        client_secret: Sensitive<String>,
        refresh_token: Sensitive<String>,
        store: Arc<dyn TokenStore>,
        throttle: Arc<Throttle>,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Self {
            http,
            token_url: format!("{}{TOKEN_PATH}", server.trim().trim_end_matches('/')),
            client_id: client_id.trim().to_string(),
            client_secret,
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

    /// Bitrix24 rejected `rejected` (`expired_token`): refresh, unless
    /// another caller already replaced it (then the replacement is returned).
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
                tracing::info!(
                    crm = "bitrix24",
                    "the new Bitrix24 refresh token is saved now"
                );
            }
            Err(e) => tracing::error!(
                crm = "bitrix24",
                error = %e,
                "the new Bitrix24 refresh token is still only in memory: if Ringside stops, the Bitrix24 application must be reconnected"
            ),
        }
    }

    async fn refresh(&self, state: &mut State) -> Result<AccessToken> {
        if state.refresh_token.expose().trim().is_empty() {
            return Err(Error::new(
                ErrorKind::Unauthorized,
                "Bitrix24 is not connected yet (no refresh token): connect the Bitrix24 application in Settings",
            ));
        }
        let query = [
            ("grant_type", "refresh_token"),
            ("client_id", self.client_id.as_str()),
            ("client_secret", self.client_secret.expose().as_str()),
            ("refresh_token", state.refresh_token.expose().as_str()),
        ];
        let what = "Bitrix24 access token refresh";
        let request = self.http.get(&self.token_url).query(&query);
        let reply = http::send(&self.throttle, what, request).await?;
        let tokens = token_result(&reply).map_err(|e| {
            if matches!(e.kind, ErrorKind::Unauthorized | ErrorKind::Invalid) {
                let mut refused = Error::new(ErrorKind::Unauthorized, REFRESH_REFUSED);
                if !e.message.contains(REFRESH_REFUSED) {
                    refused.message = format!("{REFRESH_REFUSED} ({})", e.message);
                } else {
                    refused.message = e.message;
                }
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
        state.generation += 1;
        let access = AccessToken {
            token: tokens.access_token,
            expires_at: self.clock.now() + chrono_duration(tokens.expires_in),
            generation: state.generation,
        };
        state.current = Some(access.clone());
        if tokens.refresh_token.expose().trim().is_empty() {
            tracing::warn!(
                crm = "bitrix24",
                "Bitrix24's token answer had no refresh token; keeping the old one"
            );
            return Ok(access);
        }
        state.refresh_token = tokens.refresh_token;
        if let Err(e) = self.store.save(&state.refresh_token) {
            state.unsaved = true;
            return Err(Error::storage(format!(
                "Bitrix24 issued a new refresh token (the old one no longer works) but saving it failed: {}; \
                 it is kept in memory and saving is retried on the next request — if Ringside stops first, reconnect the Bitrix24 application in Settings",
                e.message
            )));
        }
        state.unsaved = false;
        tracing::debug!(
            crm = "bitrix24",
            generation = access.generation,
            "new access token"
        );
        Ok(access)
    }
}

fn token_result(reply: &Reply) -> Result<Tokens> {
    let json: Option<serde_json::Value> = serde_json::from_str(&reply.body).ok();
    let has_error = json.as_ref().is_some_and(|j| j.get("error").is_some());
    if !reply.is_success() || has_error {
        return Err(parse_error(reply.status, &reply.body));
    }
    let token: TokenResponse = json
        .and_then(|j| serde_json::from_value(j).ok())
        .ok_or_else(|| Error::internal("Bitrix24's token answer is not JSON"))?;
    if token.access_token.trim().is_empty() {
        return Err(Error::internal(
            "Bitrix24's token answer has no access token",
        ));
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
