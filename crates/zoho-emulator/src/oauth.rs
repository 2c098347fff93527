//! The accounts server (`/oauth/v2/...`): the consent page, the token
//! endpoint (authorization-code and refresh-token grants), revocation, and
//! the access tokens PhoneBridge checks.
//!
//! From the contracts notes §3.2 `[OFFICIAL]`/`[3P]`: parameters in the query
//! string of `POST /oauth/v2/token`; access tokens last one hour
//! (`expires_in: 3600`); the refresh answer carries `api_domain` and
//! `token_type`; at most 10 access tokens per refresh token per 10 minutes;
//! a grant code lives about a minute and works once; `access_type=offline`
//! on the consent URL; HTTP **200** `{"error":"invalid_code"}` for a used or
//! expired code and for a bad or revoked refresh token; `location` and
//! `accounts-server` on the consent redirect (multi-DC, §3.7).
//!
//! `[INFERRED]`: the form body is accepted as well as the query string; the
//! exact mint-cap answer (HTTP 400 `{"error":"Access Denied",
//! "error_description":"You have made too many requests continuously.
//! Please try again after some time."}`) and that the cap is a rolling
//! window over successful mints (the code exchange counts as the first mint
//! of its refresh token; refused attempts do not count);
//! `{"error":"invalid_client"}` for a wrong client id or secret,
//! `{"error":"invalid_redirect_uri"}` for a redirect URI other than the
//! code's (the code stays usable), `{"error":"unsupported_grant_type"}`;
//! that revoking a refresh token also kills the access tokens minted from
//! it; that revocation answers `{"status":"success"}` even for an unknown
//! token; the 400 HTML pages of the consent endpoint.

use std::collections::hash_map::RandomState;
use std::hash::BuildHasher;
use std::time::Duration;

use axum::http::Method;
use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use crate::server::{Incoming, Reply, Shared, State};

/// How long a grant code lives (contracts notes §3.2: "about 1 minute").
pub const GRANT_CODE_LIFETIME: Duration = Duration::from_secs(60);

#[derive(Debug, Clone)]
struct GrantCode {
    code: String,
    redirect_uri: String,
    expires_at: DateTime<Utc>,
    used: bool,
    offline: bool,
}

#[derive(Debug, Clone)]
struct RefreshToken {
    token: String,
    revoked: bool,
    /// When each access token was minted from it.
    minted: Vec<DateTime<Utc>>,
}

#[derive(Debug, Clone)]
struct AccessToken {
    token: String,
    refresh: Option<String>,
    expires_at: DateTime<Utc>,
    revoked: bool,
}

/// The accounts server's state.
#[derive(Debug, Default)]
pub(crate) struct OAuth {
    counter: u64,
    codes: Vec<GrantCode>,
    refresh: Vec<RefreshToken>,
    access: Vec<AccessToken>,
}

fn to_chrono(d: Duration) -> chrono::Duration {
    chrono::Duration::from_std(d).unwrap_or(chrono::Duration::MAX)
}

impl OAuth {
    /// A fresh `1000.<32 hex>.<32 hex>` token.
    fn token(&mut self) -> String {
        let mut hex = String::from("1000.");
        for part in 0..4 {
            self.counter += 1;
            let n = RandomState::new().hash_one((self.counter, part));
            hex.push_str(&format!("{n:016x}"));
            if part == 1 {
                hex.push('.');
            }
        }
        hex
    }

    pub(crate) fn add_refresh_token(&mut self) -> String {
        let token = self.token();
        self.refresh.push(RefreshToken {
            token: token.clone(),
            revoked: false,
            minted: Vec::new(),
        });
        token
    }

    pub(crate) fn issue_grant_code(
        &mut self,
        redirect_uri: &str,
        offline: bool,
        now: DateTime<Utc>,
    ) -> String {
        let code = self.token();
        self.codes.push(GrantCode {
            code: code.clone(),
            redirect_uri: redirect_uri.to_owned(),
            expires_at: now + to_chrono(GRANT_CODE_LIFETIME),
            used: false,
            offline,
        });
        code
    }

    /// Revokes a refresh token (and the access tokens minted from it) or an
    /// access token.
    pub(crate) fn revoke(&mut self, token: &str) {
        for r in self.refresh.iter_mut().filter(|r| r.token == token) {
            r.revoked = true;
        }
        for a in self
            .access
            .iter_mut()
            .filter(|a| a.token == token || a.refresh.as_deref() == Some(token))
        {
            a.revoked = true;
        }
    }

    pub(crate) fn expire_access_tokens(&mut self) {
        for a in &mut self.access {
            a.revoked = true;
        }
    }

    pub(crate) fn mints(&self) -> usize {
        self.access.len()
    }

    pub(crate) fn mints_for(&self, refresh_token: &str) -> usize {
        self.refresh
            .iter()
            .find(|r| r.token == refresh_token)
            .map_or(0, |r| r.minted.len())
    }

    /// Whether `token` is a live access token.
    pub(crate) fn access_ok(&self, token: &str, now: DateTime<Utc>) -> bool {
        self.access
            .iter()
            .any(|a| a.token == token && !a.revoked && now < a.expires_at)
    }

    fn mint(&mut self, refresh: Option<&str>, lifetime: Duration, now: DateTime<Utc>) -> String {
        let token = self.token();
        self.access.push(AccessToken {
            token: token.clone(),
            refresh: refresh.map(str::to_owned),
            expires_at: now + to_chrono(lifetime),
            revoked: false,
        });
        if let Some(r) = refresh.and_then(|t| self.refresh.iter_mut().find(|r| r.token == t)) {
            r.minted.push(now);
        }
        token
    }
}

/// `{"error": code}` with HTTP 200, the token endpoint's failure shape.
fn token_error(code: &str) -> Reply {
    Reply::json(200, json!({"error": code}))
}

fn html_error(status: u16, message: &str) -> Reply {
    Reply::html(
        status,
        format!(
            "<!doctype html><html><head><title>Zoho Accounts</title></head>\
             <body><h1>An error occurred</h1><p>{message}</p></body></html>"
        ),
    )
}

pub(crate) fn handle(shared: &Shared, incoming: &Incoming) -> Reply {
    let mut state = shared.lock();
    match incoming.path.as_str() {
        "/oauth/v2/auth" if incoming.method == Method::GET => consent(&mut state, incoming),
        "/oauth/v2/token" if incoming.method == Method::POST => token(&mut state, incoming),
        "/oauth/v2/token/revoke" if incoming.method == Method::POST => {
            if let Some(token) = incoming.param("token") {
                state.oauth.revoke(token);
            }
            Reply::json(200, json!({"status": "success"}))
        }
        "/oauth/v2/auth" | "/oauth/v2/token" | "/oauth/v2/token/revoke" => Reply::error(
            405,
            "METHOD_NOT_ALLOWED",
            "The requested method is not allowed",
            json!({}),
        ),
        _ => Reply::error(
            404,
            "INVALID_URL_PATTERN",
            "Please check if the URL trying to access is a correct one",
            json!({}),
        ),
    }
}

/// The consent page, as if the user had consented: 302 to the redirect URI
/// with `code`, `state`, `location` and `accounts-server`.
fn consent(state: &mut State, incoming: &Incoming) -> Reply {
    if incoming.param("client_id") != Some(state.config.client_id.as_str()) {
        return html_error(400, "Invalid Client");
    }
    if incoming.param("response_type") != Some("code") {
        return html_error(400, "Invalid response_type: only \"code\" is supported");
    }
    let Some(redirect_uri) = incoming.param("redirect_uri").filter(|u| is_http_url(u)) else {
        return html_error(400, "Invalid Redirect Uri");
    };
    let offline = incoming.param("access_type") == Some("offline");
    let now = state.now();
    let code = state.oauth.issue_grant_code(redirect_uri, offline, now);
    let mut query = form_urlencoded::Serializer::new(String::new());
    query.append_pair("code", &code);
    if let Some(s) = incoming.param("state") {
        query.append_pair("state", s);
    }
    query.append_pair("location", &state.config.data_centre);
    query.append_pair("accounts-server", &state.base_url);
    let separator = if redirect_uri.contains('?') { '&' } else { '?' };
    Reply::redirect(format!("{redirect_uri}{separator}{}", query.finish()))
}

pub(crate) fn is_http_url(s: &str) -> bool {
    let rest = s
        .strip_prefix("http://")
        .or_else(|| s.strip_prefix("https://"));
    rest.is_some_and(|r| {
        let host = r.split(['/', '?', '#']).next().unwrap_or("");
        !host.is_empty() && !r.chars().any(char::is_whitespace)
    })
}

fn token(state: &mut State, incoming: &Incoming) -> Reply {
    let grant_type = incoming.param("grant_type").unwrap_or("");
    if grant_type != "authorization_code" && grant_type != "refresh_token" {
        return token_error("unsupported_grant_type");
    }
    if incoming.param("client_id") != Some(state.config.client_id.as_str())
        || incoming.param("client_secret") != Some(state.config.client_secret.as_str())
    {
        return token_error("invalid_client");
    }
    let now = state.now();
    let lifetime = state.config.token_lifetime;
    let mut body = serde_json::Map::new();
    if grant_type == "authorization_code" {
        let code = incoming.param("code").unwrap_or("");
        let Some(grant) = state
            .oauth
            .codes
            .iter_mut()
            .find(|g| g.code == code && !g.used && now < g.expires_at)
        else {
            return token_error("invalid_code");
        };
        if incoming.param("redirect_uri") != Some(grant.redirect_uri.as_str()) {
            return token_error("invalid_redirect_uri");
        }
        grant.used = true;
        let offline = grant.offline;
        let refresh = offline.then(|| state.oauth.add_refresh_token());
        let access = state.oauth.mint(refresh.as_deref(), lifetime, now);
        body.insert("access_token".into(), Value::String(access));
        if let Some(refresh) = refresh {
            body.insert("refresh_token".into(), Value::String(refresh));
        }
    } else {
        let given = incoming.param("refresh_token").unwrap_or("");
        let window = to_chrono(state.config.mint_window);
        let limit = state.config.mint_limit as usize;
        let Some(refresh) = state
            .oauth
            .refresh
            .iter()
            .find(|r| r.token == given && !r.revoked)
        else {
            return token_error("invalid_code");
        };
        let recent = refresh.minted.iter().filter(|t| now - **t < window).count();
        if recent >= limit {
            return Reply::json(
                400,
                json!({
                    "error": "Access Denied",
                    "error_description": "You have made too many requests continuously. Please try again after some time."
                }),
            );
        }
        let access = state.oauth.mint(Some(given), lifetime, now);
        body.insert("access_token".into(), Value::String(access));
    }
    body.insert("expires_in".into(), json!(lifetime.as_secs()));
    body.insert("api_domain".into(), Value::String(state.api_domain()));
    body.insert("token_type".into(), Value::String("Bearer".into()));
    Reply::json(200, Value::Object(body))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_look_like_zoho_tokens() {
        let mut oauth = OAuth::default();
        let a = oauth.token();
        let b = oauth.token();
        assert_ne!(a, b);
        let parts: Vec<&str> = a.split('.').collect();
        assert_eq!(parts.len(), 3);
        assert_eq!(parts[0], "1000");
        assert_eq!(parts[1].len(), 32);
        assert_eq!(parts[2].len(), 32);
    }

    #[test]
    fn urls_must_be_http() {
        assert!(is_http_url("https://hub.test/zoho/dial"));
        assert!(is_http_url("http://127.0.0.1:8080"));
        assert!(!is_http_url("ftp://x"));
        assert!(!is_http_url("https://"));
        assert!(!is_http_url("hub.test/dial"));
        assert!(!is_http_url("https://a b"));
    }
}
