//! Zoho OAuth: the [`TokenManager`] that keeps one access token per CRM
//! (single-flight refresh ahead of expiry, the 10-mints-per-10-minutes
//! budget, the `api_domain` of the org's data centre), and the first-time
//! authorisation helpers used by the desktop's browser + loopback flow and by
//! the hub ([`authorize_url`], [`parse_redirect`], [`exchange_code`]).
//!
//! Zoho's rules (contracts notes §3.2): access tokens last one hour
//! (`expires_in` is **seconds**; the old accounts API sent milliseconds plus
//! `expires_in_sec`, both handled); one refresh token mints at most 10 access
//! tokens per 10 minutes, after which minting is blocked for the rest of the
//! window; the token endpoint takes its parameters in the query string and
//! answers errors with HTTP 200 `{"error":"…"}`.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use reqwest::Url;
use ringside_core::{Clock, Error, ErrorKind, Result, Sensitive};
use ringside_crm::Throttle;
use serde_json::Value;
use tokio::sync::Mutex;

use crate::error::{CLIENT_REFUSED, parse_error};
use crate::http::{self, Reply};
use crate::wire::TokenResponse;

/// Everything Ringside asks Zoho for: PhoneBridge, Contacts/Deals read (for
/// the caller lookup) and users read.
pub const SCOPES: &[&str] = &[
    "ZohoCRM.crmphonebridge.CREATE",
    "ZohoCRM.crmphonebridge.READ",
    "ZohoCRM.crmphonebridge.UPDATE",
    "ZohoCRM.crmphonebridge.DELETE",
    "ZohoCRM.modules.contacts.READ",
    "ZohoCRM.modules.deals.READ",
    "ZohoCRM.users.READ",
];
/// The token endpoint under the accounts server.
pub const TOKEN_PATH: &str = "/oauth/v2/token";
/// The consent page under the accounts server.
pub const AUTH_PATH: &str = "/oauth/v2/auth";
/// Zoho mints at most this many access tokens per refresh token ...
pub const MINT_LIMIT: usize = 10;
/// ... in this rolling window.
pub const MINT_WINDOW: Duration = Duration::from_secs(10 * 60);
/// The message when Ringside's own budget stops a mint.
pub const MINT_BUDGET_MESSAGE: &str = "Zoho allows 10 new access tokens per 10 minutes; waiting";
/// The access token lifetime assumed when Zoho does not say.
const DEFAULT_LIFETIME: Duration = Duration::from_secs(3600);
/// An `expires_in` above this is milliseconds (the old accounts API).
const MAX_SECONDS: u64 = 86_400;

/// What a code exchange returns.
#[derive(Debug, Clone)]
pub struct Tokens {
    pub access_token: Sensitive<String>,
    /// Empty if Zoho sent none (it only does with `access_type=offline`).
    pub refresh_token: Sensitive<String>,
    /// How long the access token lives (normalised to a duration: no
    /// seconds/milliseconds ambiguity).
    pub expires_in: Duration,
    /// Where the org's APIs live (`https://www.zohoapis.eu`): every
    /// PhoneBridge call goes to `{api_domain}/crm/v2/phonebridge/…`.
    pub api_domain: String,
}

/// What the consent redirect carried.
#[derive(Debug, Clone)]
pub struct Grant {
    /// The grant code: valid for about a minute, once.
    pub code: Sensitive<String>,
    /// The user's data-centre accounts server (`accounts-server`), where the
    /// code must be exchanged.
    pub accounts_server: Option<String>,
    /// The data centre (`location`: `us`, `eu`, `in`…).
    pub location: Option<String>,
}

impl Grant {
    /// The accounts server to exchange the code at: the redirect's
    /// `accounts-server` when it is a Zoho accounts host (https,
    /// `accounts.` + a known Zoho domain) or has the same origin as
    /// `configured`; `configured` when the redirect named none. Any other
    /// server is refused (`Invalid`): a forged `accounts-server` must never
    /// receive the client secret.
    pub fn exchange_server(&self, configured: &str) -> Result<String> {
        let configured = configured.trim().trim_end_matches('/');
        let Some(server) = self.accounts_server.as_deref().map(str::trim) else {
            return Ok(configured.to_string());
        };
        let server = server.trim_end_matches('/');
        if same_origin(server, configured) || is_zoho_accounts(server) {
            Ok(server.to_string())
        } else {
            Err(Error::invalid(format!(
                "the sign-in redirect names an accounts server that is not Zoho's ({server}); refusing to send the client secret there"
            )))
        }
    }
}

fn origin(url: &str) -> Option<(String, String, Option<u16>)> {
    let u = Url::parse(url).ok()?;
    Some((
        u.scheme().to_string(),
        u.host_str()?.to_ascii_lowercase(),
        u.port_or_known_default(),
    ))
}

fn same_origin(a: &str, b: &str) -> bool {
    matches!((origin(a), origin(b)), (Some(x), Some(y)) if x == y)
}

/// `https://accounts.zoho.{com,eu,in,com.au,jp,com.cn,sa,uk}` or
/// `https://accounts.zohocloud.ca`.
pub fn is_zoho_accounts(url: &str) -> bool {
    let Some((scheme, host, _)) = origin(url) else {
        return false;
    };
    let Some(rest) = host.strip_prefix("accounts.") else {
        return false;
    };
    scheme == "https" && ZOHO_ACCOUNTS_DOMAINS.contains(&rest)
}

/// The data centres' accounts domains (after `accounts.`).
pub const ZOHO_ACCOUNTS_DOMAINS: &[&str] = &[
    "zoho.com",
    "zoho.eu",
    "zoho.in",
    "zoho.com.au",
    "zoho.jp",
    "zoho.com.cn",
    "zoho.sa",
    "zoho.uk",
    "zohocloud.ca",
];

/// The consent page to open in the browser:
/// `{accounts}/oauth/v2/auth?scope=<comma-joined>&client_id&redirect_uri&state&response_type=code&access_type=offline&prompt=consent`.
/// (`prompt=consent` makes Zoho issue a refresh token every time.)
pub fn authorize_url(
    accounts_url: &str,
    client_id: &str,
    redirect_uri: &str,
    state: &str,
    scopes: &[&str],
) -> String {
    let base = accounts_url.trim().trim_end_matches('/');
    let query: String = form_pairs(&[
        ("scope", &scopes.join(",")),
        ("client_id", client_id),
        ("redirect_uri", redirect_uri),
        ("state", state),
        ("response_type", "code"),
        ("access_type", "offline"),
        ("prompt", "consent"),
    ]);
    format!("{base}{AUTH_PATH}?{query}")
}

/// `application/x-www-form-urlencoded` pairs (commas in the scope list are
/// kept as is, which Zoho's own examples show).
fn form_pairs(pairs: &[(&str, &str)]) -> String {
    let mut url = Url::parse("http://x/").expect("static URL");
    url.query_pairs_mut().extend_pairs(pairs);
    url.query().unwrap_or_default().replace("%2C", ",")
}

/// Read the consent redirect's query (`code=…&location=eu&accounts-server=…&state=…`,
/// with or without the leading `?`, or the whole redirect URL).
///
/// A `state` other than `expected_state` → `Invalid` (checked first: a
/// forged redirect is refused whatever it says); `error=access_denied` →
/// `Unauthorized` ("you declined"); another `error` → `Unauthorized` with it;
/// no `code` → `Invalid`.
pub fn parse_redirect(query: &str, expected_state: &str) -> Result<Grant> {
    let query = query.trim();
    let query = match query.split_once('?') {
        Some((_, q)) => q,
        None => query,
    };
    let query = query.split('#').next().unwrap_or_default();
    let url = Url::parse(&format!("http://x/?{query}"))
        .map_err(|e| Error::invalid(format!("the sign-in redirect is not a valid query: {e}")))?;
    let get = |name: &str| {
        url.query_pairs()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.trim().to_string())
            .filter(|v| !v.is_empty())
    };
    match get("state") {
        Some(state) if !expected_state.is_empty() && state == expected_state => {}
        _ => {
            return Err(Error::invalid(
                "the sign-in redirect does not carry the state Ringside sent (a stale or forged redirect); start the Zoho connection again",
            ));
        }
    }
    if let Some(error) = get("error") {
        return Err(Error::new(
            ErrorKind::Unauthorized,
            if error.eq_ignore_ascii_case("access_denied") {
                "you declined the Zoho consent: Ringside cannot connect to Zoho without it"
                    .to_string()
            } else {
                format!("Zoho sign-in failed: {error}")
            },
        ));
    }
    let code = get("code")
        .ok_or_else(|| Error::invalid("the sign-in redirect carries no authorisation code"))?;
    Ok(Grant {
        code: Sensitive::new(code),
        accounts_server: get("accounts-server"),
        location: get("location"),
    })
}

/// Exchange a grant code for tokens: `POST {accounts_url}/oauth/v2/token?
/// grant_type=authorization_code&client_id&client_secret&redirect_uri&code`.
/// `accounts_url` must be the redirect's `accounts-server` (see
/// [`Grant::exchange_server`]). A used or expired code → `Unauthorized`.
pub async fn exchange_code(
    http: &reqwest::Client,
    accounts_url: &str,
    client_id: &str,
    client_secret: &str,
    redirect_uri: &str,
    code: &str,
) -> Result<Tokens> {
    let url = format!("{}{TOKEN_PATH}", accounts_url.trim().trim_end_matches('/'));
    let request = http.post(url).query(&[
        ("grant_type", "authorization_code"),
        ("client_id", client_id),
        ("client_secret", client_secret),
        ("redirect_uri", redirect_uri),
        ("code", code),
    ]);
    let what = "Zoho sign-in (code exchange)";
    let reply = http::send(None, what, request).await?;
    let token = token_result(&reply).map_err(|e| {
        if e.message.starts_with(crate::error::REFRESH_REFUSED) {
            Error::new(
                ErrorKind::Unauthorized,
                "Zoho refused the authorisation code (it expires after a minute and works once): connect Zoho again",
            )
        } else {
            e.context(what)
        }
    })?;
    let api_domain = api_domain_of(&token, accounts_url, None)?;
    let expires_in = lifetime(&token);
    Ok(Tokens {
        access_token: Sensitive::new(token.access_token),
        refresh_token: Sensitive::new(token.refresh_token),
        expires_in,
        api_domain,
    })
}

/// A successful token answer, else the error.
fn token_result(reply: &Reply) -> Result<TokenResponse> {
    if !reply.is_success() {
        return Err(parse_error(reply.status, &reply.headers, &reply.body));
    }
    let token: TokenResponse = serde_json::from_str(&reply.body)
        .map_err(|_| parse_error(reply.status, &reply.headers, &reply.body))?;
    if !token.error.trim().is_empty() || token.access_token.trim().is_empty() {
        return Err(parse_error(reply.status, &reply.headers, &reply.body));
    }
    Ok(token)
}

fn number(v: &Value) -> Option<u64> {
    match v {
        Value::Number(n) => n.as_u64().or_else(|| n.as_f64().map(|f| f.max(0.0) as u64)),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// The token's lifetime: `expires_in_sec` when present, else `expires_in`
/// in seconds — or milliseconds when it is implausibly large for seconds.
pub(crate) fn lifetime(token: &TokenResponse) -> Duration {
    if let Some(secs) = token.expires_in_sec.as_ref().and_then(number) {
        return Duration::from_secs(secs);
    }
    match token.expires_in.as_ref().and_then(number) {
        Some(n) if n > MAX_SECONDS => Duration::from_millis(n),
        Some(n) => Duration::from_secs(n),
        None => DEFAULT_LIFETIME,
    }
}

/// The `api_domain` from the answer; else the one we had; else the data
/// centre's API host derived from the accounts server
/// (`accounts.zoho.eu` → `www.zohoapis.eu`).
fn api_domain_of(
    token: &TokenResponse,
    accounts_url: &str,
    previous: Option<&str>,
) -> Result<String> {
    let given = token.api_domain.trim().trim_end_matches('/');
    if !given.is_empty() {
        return Ok(given.to_string());
    }
    if let Some(previous) = previous {
        return Ok(previous.to_string());
    }
    let accounts = accounts_url.trim().trim_end_matches('/');
    if let Some((scheme, rest)) = accounts.split_once("://accounts.") {
        let rest = rest.strip_prefix("zoho").map(|r| format!("zohoapis{r}"));
        if let Some(rest) = rest {
            return Ok(format!("{scheme}://www.{rest}"));
        }
    }
    Err(Error::internal(
        "Zoho's token answer has no api_domain and none can be derived from the accounts server",
    ))
}

/// An access token and where to use it.
#[derive(Debug, Clone)]
pub struct AccessToken {
    pub token: Sensitive<String>,
    /// `https://www.zohoapis.eu` (no trailing slash).
    pub api_domain: String,
    pub expires_at: DateTime<Utc>,
    /// Counts the mints of this manager: a caller that got an
    /// `INVALID_TOKEN` with generation N only refreshes if the current token
    /// is still N (otherwise someone already did).
    pub generation: u64,
}

#[derive(Debug, Default)]
struct State {
    current: Option<AccessToken>,
    /// When each mint of the last [`MINT_WINDOW`] happened.
    mints: VecDeque<DateTime<Utc>>,
    /// Zoho said "too many requests": no mint before this.
    blocked_until: Option<DateTime<Utc>>,
    generation: u64,
}

/// The OAuth client side of one Zoho connection.
pub struct TokenManager {
    http: reqwest::Client,
    accounts_url: String,
    client_id: String,
    client_secret: Sensitive<String>,
    refresh_token: Sensitive<String>,
    margin: Duration,
    throttle: Arc<Throttle>,
    clock: Arc<dyn Clock>,
    /// tokio's Mutex: held across the refresh request, so concurrent callers
    /// wait for one refresh and share its token (single flight).
    state: Mutex<State>,
}

impl std::fmt::Debug for TokenManager {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenManager")
            .field("accounts_url", &self.accounts_url)
            .field("client_id", &self.client_id)
            .field("margin", &self.margin)
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
        accounts_url: &str,
        client_id: &str,
        client_secret: Sensitive<String>,
        refresh_token: Sensitive<String>,
        margin: Duration,
        throttle: Arc<Throttle>,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Self {
            http,
            accounts_url: accounts_url.trim().trim_end_matches('/').to_string(),
            client_id: client_id.trim().to_string(),
            client_secret,
            refresh_token,
            margin,
            throttle,
            clock,
            state: Mutex::new(State::default()),
        }
    }

    /// Start from tokens just obtained by [`exchange_code`] (no mint needed).
    pub async fn seed(&self, tokens: &Tokens) {
        let now = self.clock.now();
        let mut state = self.state.lock().await;
        state.generation += 1;
        state.current = Some(AccessToken {
            token: tokens.access_token.clone(),
            api_domain: tokens.api_domain.trim_end_matches('/').to_string(),
            expires_at: now + chrono_duration(tokens.expires_in),
            generation: state.generation,
        });
    }

    /// A token with more than the margin left, refreshing first if needed.
    pub async fn access(&self) -> Result<AccessToken> {
        let mut state = self.state.lock().await;
        if let Some(current) = &state.current
            && current.expires_at - chrono_duration(self.margin) > self.clock.now()
        {
            return Ok(current.clone());
        }
        self.mint(&mut state).await
    }

    /// Zoho refused `rejected` (401 `INVALID_TOKEN`): refresh, unless another
    /// caller already replaced it, in which case the replacement is returned.
    pub async fn renew(&self, rejected: &AccessToken) -> Result<AccessToken> {
        let mut state = self.state.lock().await;
        if let Some(current) = &state.current
            && current.generation != rejected.generation
        {
            return Ok(current.clone());
        }
        self.mint(&mut state).await
    }

    /// Mint a new token now (the trait's `refresh_credentials`), within the
    /// budget.
    pub async fn force_refresh(&self) -> Result<AccessToken> {
        let mut state = self.state.lock().await;
        self.mint(&mut state).await
    }

    /// The current token, if any, without refreshing.
    pub async fn current(&self) -> Option<AccessToken> {
        self.state.lock().await.current.clone()
    }

    /// How many tokens this manager minted in the last [`MINT_WINDOW`].
    pub async fn mints_in_window(&self) -> usize {
        let now = self.clock.now();
        let mut state = self.state.lock().await;
        prune(&mut state, now);
        state.mints.len()
    }

    async fn mint(&self, state: &mut State) -> Result<AccessToken> {
        let now = self.clock.now();
        prune(state, now);
        if let Some(until) = state.blocked_until.filter(|u| *u > now) {
            return Err(Error::new(ErrorKind::RateLimited, MINT_BUDGET_MESSAGE)
                .with_retry_after((until - now).to_std().ok()));
        }
        if state.mints.len() >= MINT_LIMIT
            && let Some(oldest) = state.mints.front()
        {
            let free_at = *oldest + chrono_duration(MINT_WINDOW);
            return Err(Error::new(ErrorKind::RateLimited, MINT_BUDGET_MESSAGE)
                .with_retry_after(Some((free_at - now).to_std().unwrap_or(Duration::ZERO))));
        }
        if self.client_id.is_empty() || self.client_secret.expose().trim().is_empty() {
            return Err(Error::config(format!(
                "{CLIENT_REFUSED}: the client id or secret is not set"
            )));
        }
        if self.refresh_token.expose().trim().is_empty() {
            return Err(Error::new(
                ErrorKind::Unauthorized,
                "Zoho is not connected yet (no refresh token): connect Zoho in Settings",
            ));
        }
        let request = self
            .http
            .post(format!("{}{TOKEN_PATH}", self.accounts_url))
            .query(&[
                ("grant_type", "refresh_token"),
                ("client_id", self.client_id.as_str()),
                ("client_secret", self.client_secret.expose().as_str()),
                ("refresh_token", self.refresh_token.expose().as_str()),
            ]);
        let what = "Zoho access token refresh";
        let reply = match http::send(Some(&self.throttle), what, request).await {
            Ok(reply) => reply,
            Err(e) => {
                if e.kind == ErrorKind::Timeout {
                    // Zoho may have minted: count it, to stay under the cap.
                    state.mints.push_back(now);
                }
                return Err(e);
            }
        };
        let token = match token_result(&reply) {
            Ok(token) => token,
            Err(e) => {
                if e.kind == ErrorKind::RateLimited {
                    let wait = e.retry_after.unwrap_or(MINT_WINDOW);
                    state.blocked_until = Some(now + chrono_duration(wait));
                    tracing::warn!(
                        crm = "zoho",
                        wait_secs = wait.as_secs(),
                        "Zoho blocked minting access tokens"
                    );
                }
                return Err(e.context(what));
            }
        };
        let previous = state.current.as_ref().map(|c| c.api_domain.clone());
        let api_domain = api_domain_of(&token, &self.accounts_url, previous.as_deref())?;
        let lifetime = lifetime(&token);
        if lifetime <= self.margin {
            tracing::warn!(
                crm = "zoho",
                lifetime_secs = lifetime.as_secs(),
                "Zoho's access tokens live shorter than the refresh margin"
            );
        }
        state.mints.push_back(now);
        state.generation += 1;
        let access = AccessToken {
            token: Sensitive::new(token.access_token),
            api_domain,
            expires_at: now + chrono_duration(lifetime),
            generation: state.generation,
        };
        tracing::debug!(
            crm = "zoho",
            generation = access.generation,
            "new access token"
        );
        state.current = Some(access.clone());
        Ok(access)
    }
}

fn prune(state: &mut State, now: DateTime<Utc>) {
    let window = chrono_duration(MINT_WINDOW);
    while state.mints.front().is_some_and(|t| *t + window <= now) {
        state.mints.pop_front();
    }
    if state.blocked_until.is_some_and(|u| u <= now) {
        state.blocked_until = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn authorize_url_has_every_parameter() {
        let url = authorize_url(
            "https://accounts.zoho.eu/",
            "1000.ABC",
            "http://127.0.0.1:53682/callback",
            "s t",
            &SCOPES[..2],
        );
        assert_eq!(
            url,
            "https://accounts.zoho.eu/oauth/v2/auth?scope=ZohoCRM.crmphonebridge.CREATE,ZohoCRM.crmphonebridge.READ\
             &client_id=1000.ABC&redirect_uri=http%3A%2F%2F127.0.0.1%3A53682%2Fcallback&state=s+t\
             &response_type=code&access_type=offline&prompt=consent"
        );
    }

    #[test]
    fn redirects_are_parsed_and_checked() {
        let g = parse_redirect(
            "?state=abc&code=1000.xyz&location=eu&accounts-server=https%3A%2F%2Faccounts.zoho.eu",
            "abc",
        )
        .unwrap();
        assert_eq!(g.code.expose(), "1000.xyz");
        assert_eq!(g.location.as_deref(), Some("eu"));
        assert_eq!(
            g.accounts_server.as_deref(),
            Some("https://accounts.zoho.eu")
        );
        assert_eq!(
            g.exchange_server("https://accounts.zoho.com").unwrap(),
            "https://accounts.zoho.eu"
        );
        let e = parse_redirect("state=other&code=x", "abc").unwrap_err();
        assert_eq!(e.kind, ErrorKind::Invalid);
        let e = parse_redirect("code=x", "abc").unwrap_err();
        assert_eq!(e.kind, ErrorKind::Invalid);
        let e = parse_redirect("state=abc&error=access_denied", "abc").unwrap_err();
        assert_eq!(e.kind, ErrorKind::Unauthorized);
        assert!(e.message.contains("you declined"), "{}", e.message);
        let e = parse_redirect("http://127.0.0.1:1/cb?state=abc", "abc").unwrap_err();
        assert_eq!(e.kind, ErrorKind::Invalid);
        // A forged accounts server never gets the secret.
        let g = parse_redirect(
            "state=abc&code=x&accounts-server=https%3A%2F%2Fevil.example",
            "abc",
        )
        .unwrap();
        assert_eq!(
            g.exchange_server("https://accounts.zoho.eu")
                .unwrap_err()
                .kind,
            ErrorKind::Invalid
        );
        assert!(is_zoho_accounts("https://accounts.zoho.com.au"));
        assert!(is_zoho_accounts("https://accounts.zohocloud.ca"));
        assert!(!is_zoho_accounts("http://accounts.zoho.eu"));
        assert!(!is_zoho_accounts("https://accounts.zoho.eu.evil.com"));
    }

    #[test]
    fn lifetimes_in_seconds_or_milliseconds() {
        let t = |v: Value| TokenResponse {
            expires_in: Some(v),
            ..TokenResponse::default()
        };
        assert_eq!(
            lifetime(&t(serde_json::json!(3600))),
            Duration::from_secs(3600)
        );
        assert_eq!(
            lifetime(&t(serde_json::json!(3_600_000))),
            Duration::from_secs(3600)
        );
        assert_eq!(
            lifetime(&t(serde_json::json!("3600"))),
            Duration::from_secs(3600)
        );
        let both = TokenResponse {
            expires_in: Some(serde_json::json!(3_600_000)),
            expires_in_sec: Some(serde_json::json!(1800)),
            ..TokenResponse::default()
        };
        assert_eq!(lifetime(&both), Duration::from_secs(1800));
        assert_eq!(lifetime(&TokenResponse::default()), DEFAULT_LIFETIME);
    }

    #[test]
    fn api_domain_is_derived_only_as_a_last_resort() {
        let t = TokenResponse::default();
        assert_eq!(
            api_domain_of(&t, "https://accounts.zoho.eu", None).unwrap(),
            "https://www.zohoapis.eu"
        );
        assert_eq!(
            api_domain_of(&t, "https://accounts.zoho.eu", Some("https://x")).unwrap(),
            "https://x"
        );
        let t = TokenResponse {
            api_domain: "https://www.zohoapis.in/".into(),
            ..TokenResponse::default()
        };
        assert_eq!(
            api_domain_of(&t, "https://accounts.zoho.eu", None).unwrap(),
            "https://www.zohoapis.in"
        );
    }
}
