//! What one amoCRM connection needs: where the account lives, how Ringside
//! authenticates, how calls are sent and what to do with unknown numbers.

use std::sync::Arc;

use ringside_core::{NumberPlan, Sensitive};

/// Where the rotating refresh token is kept (shared with every CRM whose
/// refresh tokens rotate).
pub use ringside_crm::{MemoryTokenStore, TokenStore};

/// How Ringside signs in to API v4.
#[derive(Clone)]
pub enum AmoAuth {
    /// A long-lived token of a private integration (Kommo): never refreshed.
    LongLived { token: Sensitive<String> },
    /// An OAuth 2 integration with a (single-use, rotating) refresh token.
    OAuth {
        client_id: String,
        client_secret: Sensitive<String>,
        redirect_uri: String,
        refresh_token: Sensitive<String>,
        store: Arc<dyn TokenStore>,
    },
    /// No API v4 access: only valid with [`CallsMode::Legacy`]; the adapter
    /// then can neither look callers up, nor create contacts, nor confirm.
    None,
}

impl std::fmt::Debug for AmoAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            AmoAuth::LongLived { .. } => f.write_str("LongLived { token: <redacted> }"),
            AmoAuth::OAuth {
                client_id,
                redirect_uri,
                ..
            } => f
                .debug_struct("OAuth")
                .field("client_id", client_id)
                .field("redirect_uri", redirect_uri)
                .finish_non_exhaustive(),
            AmoAuth::None => f.write_str("None"),
        }
    }
}

impl AmoAuth {
    /// Whether API v4 can be used.
    pub fn has_v4(&self) -> bool {
        !matches!(self, AmoAuth::None)
    }
}

/// What to do when amoCRM has no contact with the call's number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum UnknownNumber {
    /// Create a contact named after the number, then log the call to it.
    CreateContact,
    /// Fail the delivery as `Invalid` with a reason a person can act on
    /// (the outbox parks it).
    #[default]
    Park,
}

/// How calls reach amoCRM.
#[derive(Debug, Clone)]
pub enum CallsMode {
    /// `POST /api/v4/calls` (recommended).
    V4,
    /// The legacy `POST {url}/api/calls/add/?code=&key=` (form-encoded,
    /// queued by amo for up to 18 hours).
    Legacy {
        /// The telephony widget's code.
        code: String,
        /// The service key amo support issued.
        key: Sensitive<String>,
        account_id: u64,
        /// `https://sip.amocrm.ru` (or `.com`).
        url: String,
    },
}

/// One amoCRM account.
#[derive(Debug, Clone)]
pub struct AmoSettings {
    /// `https://<subdomain>.amocrm.ru` or `https://<subdomain>.kommo.com`.
    pub base_url: String,
    pub auth: AmoAuth,
    pub mode: CallsMode,
    pub unknown_number: UnknownNumber,
    /// The `source` of every call (`ringside`).
    pub source: String,
    /// How stored numbers are read for re-verification.
    pub numbers: NumberPlan,
}

impl AmoSettings {
    /// API v4 calls, unknown numbers parked, source `ringside`, the default
    /// number plan.
    pub fn new(base_url: impl Into<String>, auth: AmoAuth) -> Self {
        Self {
            base_url: base_url.into(),
            auth,
            mode: CallsMode::V4,
            unknown_number: UnknownNumber::Park,
            source: "ringside".to_string(),
            numbers: NumberPlan::default(),
        }
    }
}
