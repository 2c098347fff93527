//! The local application's OAuth: the token endpoint (Bitrix's
//! `https://oauth.bitrix.info/oauth/token/`, served here at
//! `{base}/oauth/token/`) and access-token checks.
//!
//! Rules:
//! - notes §5.2 (official): `GET /oauth/token/?grant_type=refresh_token&client_id=…&client_secret=…&refresh_token=…`;
//!   the answer carries `access_token`, `refresh_token` (**new**: the old one
//!   is dead, single use; notes §6 "rotating"), `expires_in` (3600),
//!   `client_endpoint`, `server_endpoint`, `member_id`, `domain`, `scope`,
//!   `status`. POST with a form or JSON body works too (inferred).
//! - notes §5.2: access tokens live 1 h ([`ACCESS_LIFETIME`], emulator
//!   clock); refresh tokens 180 days (not modelled: they never expire here).
//! - inferred: a wrong client → 401 `{"error":"invalid_client",…}`; an
//!   unknown or used refresh token → 400 `{"error":"invalid_grant",…}`; any
//!   other `grant_type` → 400 `{"error":"unsupported_grant_type",…}`. Tokens
//!   act as the portal owner (user `webhook_user_id`), who installed the app.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use serde_json::json;

use crate::params::Params;
use crate::server::{Reply, State};

/// How long an access token lives (1 h, notes §5.2).
pub const ACCESS_LIFETIME: Duration = Duration::from_secs(3600);

/// The portal's `member_id` (inferred value).
pub(crate) const MEMBER_ID: &str = "a223c6b3710f85df22e9377d6c4f7553";

/// Tokens.
#[derive(Debug, Default)]
pub(crate) struct OAuth {
    refresh: HashSet<String>,
    /// Access token → expiry (emulator Unix seconds).
    access: HashMap<String, u64>,
    counter: u64,
}

/// The outcome of checking an access token.
pub(crate) enum TokenCheck {
    Valid,
    Expired,
    Unknown,
}

impl OAuth {
    fn mint(&mut self, kind: &str) -> String {
        self.counter += 1;
        format!(
            "{kind}{:08x}b24{:016x}",
            self.counter,
            self.counter.wrapping_mul(0x9E37_79B9_7F4A_7C15)
        )
    }

    pub(crate) fn add_refresh_token(&mut self) -> String {
        let token = self.mint("r");
        self.refresh.insert(token.clone());
        token
    }

    /// The application was uninstalled (or its access revoked): no token of
    /// it works any more.
    pub(crate) fn revoke_all(&mut self) {
        self.refresh.clear();
        self.access.clear();
    }

    pub(crate) fn expire_all(&mut self) {
        for expiry in self.access.values_mut() {
            *expiry = 0;
        }
    }

    pub(crate) fn check(&self, token: &str, now: u64) -> TokenCheck {
        match self.access.get(token) {
            Some(expiry) if now < *expiry => TokenCheck::Valid,
            Some(_) => TokenCheck::Expired,
            None => TokenCheck::Unknown,
        }
    }
}

/// `/oauth/token/`.
pub(crate) fn handle(state: &mut State, params: &Params) -> Reply {
    let err = |status: u16, code: &str, description: &str| Reply::Raw {
        status,
        body: json!({"error": code, "error_description": description}),
    };
    if params.str("grant_type").as_deref() != Some("refresh_token") {
        return err(
            400,
            "unsupported_grant_type",
            "Only grant_type=refresh_token is supported",
        );
    }
    if params.str("client_id").as_deref() != Some(state.config.client_id.as_str())
        || params.str("client_secret").as_deref() != Some(state.config.client_secret.as_str())
    {
        return err(401, "invalid_client", "Invalid client credentials");
    }
    let Some(old) = params.str("refresh_token") else {
        return err(400, "invalid_request", "refresh_token is required");
    };
    if !state.oauth.refresh.remove(&old) {
        return err(400, "invalid_grant", "Invalid refresh token");
    }
    let now = state.now();
    let access = state.oauth.mint("a");
    state
        .oauth
        .access
        .insert(access.clone(), now + ACCESS_LIFETIME.as_secs());
    let refresh = state.oauth.add_refresh_token();
    let user = state.config.webhook_user_id;
    Reply::Raw {
        status: 200,
        body: json!({
            "access_token": access,
            "expires": now + ACCESS_LIFETIME.as_secs(),
            "expires_in": ACCESS_LIFETIME.as_secs(),
            "scope": "crm,telephony,user",
            "domain": state.domain(),
            "server_endpoint": format!("{}/oauth/rest/", state.base_url),
            "status": "L",
            "client_endpoint": format!("{}/rest/", state.base_url),
            "member_id": MEMBER_ID,
            "user_id": user,
            "refresh_token": refresh,
        }),
    }
}
