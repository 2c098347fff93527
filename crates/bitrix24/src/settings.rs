//! What one Bitrix24 connection needs: how Ringside authenticates (an inbound
//! webhook or a local application's OAuth), whether Bitrix24 may create
//! leads for unknown numbers, and how stored numbers are read.

use std::sync::Arc;

use ringside_core::{NumberPlan, Sensitive};

/// Where the rotating refresh token is kept (shared with every CRM whose
/// refresh tokens rotate).
pub use ringside_crm::{MemoryTokenStore, TokenStore};

/// How Ringside signs in to the portal.
#[derive(Clone)]
pub enum BitrixAuth {
    /// An inbound webhook: `https://<portal>/rest/<user id>/<code>/`. The
    /// URL itself is the credential. Current portals refuse the
    /// `telephony.externalcall.*` methods through webhooks
    /// (`WRONG_AUTH_TYPE`); lookups work.
    Webhook { url: Sensitive<String> },
    /// A local application (server side, no UI) with OAuth 2: requests go to
    /// `{portal_url}/rest/<method>?auth=<access token>`; the refresh token
    /// rotates and every new one is saved through `store`.
    OAuth {
        /// `https://<portal>.bitrix24.com`.
        portal_url: String,
        client_id: String,
        client_secret: Sensitive<String>,
        refresh_token: Sensitive<String>,
        store: Arc<dyn TokenStore>,
    },
}

impl std::fmt::Debug for BitrixAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            BitrixAuth::Webhook { .. } => f.write_str("Webhook { url: <redacted> }"),
            BitrixAuth::OAuth {
                portal_url,
                client_id,
                ..
            } => f
                .debug_struct("OAuth")
                .field("portal_url", portal_url)
                .field("client_id", client_id)
                .finish_non_exhaustive(),
        }
    }
}

impl BitrixAuth {
    /// `webhook` or `oauth`.
    pub fn name(&self) -> &'static str {
        match self {
            BitrixAuth::Webhook { .. } => "webhook",
            BitrixAuth::OAuth { .. } => "oauth",
        }
    }
}

/// One Bitrix24 portal.
#[derive(Debug, Clone)]
pub struct BitrixSettings {
    pub auth: BitrixAuth,
    /// `CRM_CREATE` on register: Bitrix24 creates a lead (or deal) for a
    /// number it does not know. Default `true`.
    pub crm_create: bool,
    /// How stored numbers are read for re-verification.
    pub numbers: NumberPlan,
    /// The OAuth token endpoint's base (`https://oauth.bitrix.info`); `None`
    /// uses the portal itself (`{portal_url}/oauth/token/`), which local
    /// applications accept too.
    pub oauth_server: Option<String>,
}

impl BitrixSettings {
    /// `CRM_CREATE=1`, the default number plan, tokens refreshed on the
    /// portal.
    pub fn new(auth: BitrixAuth) -> Self {
        Self {
            auth,
            crm_create: true,
            numbers: NumberPlan::default(),
            oauth_server: None,
        }
    }
}
