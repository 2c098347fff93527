//! Where a CRM's rotating OAuth refresh token is kept.
//!
//! amoCRM and Bitrix24 refresh tokens are **single use**: every refresh
//! answers a new one and invalidates the old. Their adapters save the new
//! token through a [`TokenStore`] *before* they use the new access token
//! (the hub and the desktop store it in the OS keyring). When saving fails,
//! an adapter keeps the new token in memory (so this process keeps working),
//! returns a `Storage` error that says so, and tries to save again on every
//! later request until it succeeds.

use std::sync::{Arc, Mutex};

use ringside_core::{Result, Sensitive};

/// Persists the newest refresh token.
pub trait TokenStore: Send + Sync {
    fn save(&self, refresh_token: &Sensitive<String>) -> Result<()>;
}

/// A [`TokenStore`] in memory, for tests and emulated demos.
#[derive(Debug, Default)]
pub struct MemoryTokenStore(pub Mutex<Option<Sensitive<String>>>);

impl MemoryTokenStore {
    pub fn new() -> Arc<Self> {
        Arc::new(Self::default())
    }

    /// The last token saved.
    pub fn get(&self) -> Option<Sensitive<String>> {
        self.0.lock().unwrap().clone()
    }
}

impl TokenStore for MemoryTokenStore {
    fn save(&self, refresh_token: &Sensitive<String>) -> Result<()> {
        *self.0.lock().unwrap() = Some(refresh_token.clone());
        Ok(())
    }
}
