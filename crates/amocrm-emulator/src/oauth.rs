//! OAuth 2 at `POST /oauth2/access_token` and Bearer authentication of the
//! API v4.
//!
//! Rules:
//! - notes §4.2 (official): a JSON body with `grant_type`
//!   (`authorization_code` | `refresh_token`), `client_id`,
//!   `client_secret`, `redirect_uri` and `code` / `refresh_token`; the answer
//!   is `{"token_type":"Bearer","expires_in","access_token","refresh_token"}`
//!   plus `server_time` (Kommo). A form body is accepted too (inferred).
//! - notes §4.2 (inferred there): access tokens live about 24 h
//!   (`access_lifetime`); refresh tokens are **single use**: a refresh
//!   grant returns a new access token and a new refresh token, and the old
//!   refresh token is dead. Reusing it answers 400
//!   `{"hint":"Token has been revoked","title":"Некорректный запрос","type":"https://developers.amocrm.ru/v3/errors/OAuthProblemJson","status":400,"detail":"The refresh token is invalid."}`
//!   (the shape is amo's `OAuthProblemJson` as seen in the wild; inferred).
//! - inferred: codes are single use and live [`AUTH_CODE_LIFETIME`]
//!   (amo says 20 minutes); a wrong `client_id`/`client_secret` answers 401
//!   with hint "Client authentication failed"; a `redirect_uri` other than
//!   the registered one answers 400; refresh tokens do not expire here.
//! - notes §4.2: the API takes `Authorization: Bearer <token>`, the token
//!   an OAuth access token or the private integration's long-lived token.
//!   Missing, unknown, expired or revoked → 401
//!   `{"title":"Unauthorized","type":"https://httpstatus.es/401","status":401,"detail":…}`
//!   (the shape of amo's problem JSON, notes §4.3; inferred).

use std::collections::HashMap;
use std::time::Duration;

use axum::http::Method;
use serde_json::{Value, json};

use crate::server::{Incoming, JSON, PROBLEM, Reply, State};

/// How long an authorization code stays valid (20 minutes, inferred).
pub const AUTH_CODE_LIFETIME: Duration = Duration::from_secs(20 * 60);

#[derive(Debug)]
struct Code {
    expires_at: u64,
    used: bool,
}

#[derive(Debug)]
struct Access {
    expires_at: u64,
    revoked: bool,
}

/// Codes and tokens.
#[derive(Debug, Default)]
pub(crate) struct OAuth {
    codes: HashMap<String, Code>,
    /// Refresh token → still usable.
    refresh: HashMap<String, bool>,
    access: HashMap<String, Access>,
    long_lived_revoked: bool,
    counter: u64,
    /// Successful refresh grants.
    pub(crate) refreshes: usize,
}

impl OAuth {
    fn token(&mut self, prefix: &str) -> String {
        self.counter += 1;
        // Not secret, only unique and opaque-looking.
        let mix = self
            .counter
            .wrapping_mul(0x9E37_79B9_7F4A_7C15)
            .rotate_left(17);
        format!("{prefix}{:06}.{mix:016x}", self.counter)
    }

    pub(crate) fn issue_code(&mut self, now: u64) -> String {
        let code = self.token("def50200");
        self.codes.insert(
            code.clone(),
            Code {
                expires_at: now + AUTH_CODE_LIFETIME.as_secs(),
                used: false,
            },
        );
        code
    }

    pub(crate) fn add_refresh_token(&mut self) -> String {
        let token = self.token("amo-rt-");
        self.refresh.insert(token.clone(), true);
        token
    }

    pub(crate) fn expire_access_tokens(&mut self) {
        for access in self.access.values_mut() {
            access.expires_at = 0;
        }
    }

    pub(crate) fn revoke_all(&mut self) {
        for access in self.access.values_mut() {
            access.revoked = true;
        }
        for valid in self.refresh.values_mut() {
            *valid = false;
        }
        for code in self.codes.values_mut() {
            code.used = true;
        }
        self.long_lived_revoked = true;
    }

    fn mint(&mut self, now: u64, lifetime: Duration) -> (String, String) {
        let access = self.token("amo-at-");
        self.access.insert(
            access.clone(),
            Access {
                expires_at: now + lifetime.as_secs(),
                revoked: false,
            },
        );
        (access, self.add_refresh_token())
    }
}

/// amo's `OAuthProblemJson`.
fn oauth_problem(status: u16, hint: &str, detail: &str) -> Reply {
    let title = if status == 401 {
        "Unauthorized"
    } else {
        "Некорректный запрос"
    };
    Reply::json(
        status,
        json!({
            "hint": hint,
            "title": title,
            "type": "https://developers.amocrm.ru/v3/errors/OAuthProblemJson",
            "status": status,
            "detail": detail,
        }),
        PROBLEM,
    )
}

/// The grant's parameters: a JSON object (numbers as text) or a form.
fn params(incoming: &Incoming) -> Option<HashMap<String, String>> {
    if incoming.is_form() {
        return Some(incoming.form.iter().cloned().collect());
    }
    let Ok(Value::Object(map)) = serde_json::from_str::<Value>(&incoming.body) else {
        return None;
    };
    Some(
        map.into_iter()
            .filter_map(|(k, v)| match v {
                Value::String(s) => Some((k, s)),
                Value::Number(n) => Some((k, n.to_string())),
                _ => None,
            })
            .collect(),
    )
}

/// `POST /oauth2/access_token`.
pub(crate) fn handle(state: &mut State, incoming: &Incoming) -> Reply {
    if incoming.path != "/oauth2/access_token" {
        return Reply::problem(404, "Not Found", "Not found");
    }
    if incoming.method != Method::POST {
        return Reply::problem(405, "Method Not Allowed", "Use POST");
    }
    let Some(params) = params(incoming) else {
        return oauth_problem(
            400,
            "The body must be a JSON object",
            "В запросе отсутствует ряд параметров или параметры невалидны",
        );
    };
    let get = |k: &str| params.get(k).map(String::as_str).filter(|v| !v.is_empty());
    let grant = get("grant_type").unwrap_or("");
    let secret_field = match grant {
        "authorization_code" => "code",
        "refresh_token" => "refresh_token",
        _ => {
            return oauth_problem(
                400,
                "Unsupported grant type",
                "The authorization grant type is not supported by the authorization server.",
            );
        }
    };
    for required in ["client_id", "client_secret", "redirect_uri", secret_field] {
        if get(required).is_none() {
            return oauth_problem(
                400,
                &format!("Check the `{required}` parameter"),
                "The request is missing a required parameter, includes an invalid parameter value, includes a parameter more than once, or is otherwise malformed.",
            );
        }
    }
    if get("client_id") != Some(state.config.client_id.as_str())
        || get("client_secret") != Some(state.config.client_secret.as_str())
    {
        return oauth_problem(
            401,
            "Client authentication failed",
            "Client authentication failed",
        );
    }
    if get("redirect_uri") != Some(state.config.redirect_uri.as_str()) {
        return oauth_problem(
            400,
            "Redirect URI mismatch",
            "The request is missing a required parameter, includes an invalid parameter value, includes a parameter more than once, or is otherwise malformed.",
        );
    }
    let now = state.now();
    let secret = get(secret_field).unwrap_or("").to_owned();
    if grant == "authorization_code" {
        match state.oauth.codes.get_mut(&secret) {
            None => {
                return oauth_problem(
                    400,
                    "Cannot decrypt the authorization code",
                    "The authorization code is invalid.",
                );
            }
            Some(code) if code.used => {
                return oauth_problem(
                    400,
                    "Authorization code has been revoked",
                    "The authorization code is invalid.",
                );
            }
            Some(code) if code.expires_at <= now => {
                return oauth_problem(
                    400,
                    "Authorization code has expired",
                    "The authorization code is invalid.",
                );
            }
            Some(code) => code.used = true,
        }
    } else {
        match state.oauth.refresh.get_mut(&secret) {
            Some(valid) if *valid => *valid = false,
            Some(_) => {
                return oauth_problem(
                    400,
                    "Token has been revoked",
                    "The refresh token is invalid.",
                );
            }
            None => {
                return oauth_problem(
                    400,
                    "Cannot decrypt the refresh token",
                    "The refresh token is invalid.",
                );
            }
        }
        state.oauth.refreshes += 1;
    }
    let lifetime = state.config.access_lifetime;
    let (access, refresh) = state.oauth.mint(now, lifetime);
    Reply::json(
        200,
        json!({
            "token_type": "Bearer",
            "expires_in": lifetime.as_secs(),
            "access_token": access,
            "refresh_token": refresh,
            "server_time": now,
        }),
        JSON,
    )
}

/// Checks the API v4 Bearer token.
pub(crate) fn authenticate(state: &State, incoming: &Incoming) -> Result<(), Reply> {
    let unauthorized = |detail: &str| Err(Reply::problem(401, "Unauthorized", detail));
    let Some(header) = incoming.authorization.as_deref() else {
        return unauthorized("Authorization header is missing");
    };
    let Some(token) = header
        .strip_prefix("Bearer ")
        .or_else(|| header.strip_prefix("bearer "))
        .map(str::trim)
    else {
        return unauthorized("Authorization header must be 'Bearer <token>'");
    };
    if state.config.long_lived_token.as_deref() == Some(token) {
        return if state.oauth.long_lived_revoked {
            unauthorized("The token has been revoked")
        } else {
            Ok(())
        };
    }
    match state.oauth.access.get(token) {
        None => unauthorized("Invalid access token"),
        Some(a) if a.revoked => unauthorized("The token has been revoked"),
        Some(a) if a.expires_at <= state.now() => unauthorized("The access token has expired"),
        Some(_) => Ok(()),
    }
}
