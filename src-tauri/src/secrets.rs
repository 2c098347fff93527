//! The desktop's secrets in the OS keyring: service `ringside`, entries
//! `pbx-api-key`, `webhook-secret`, `hub-token`, `vtiger-access-key`,
//! `vtiger-gateway-secret`, `zoho-client-secret`, `zoho-refresh-token` (the
//! last one written only by the Zoho Connect flow), `amocrm-token`,
//! `amocrm-client-secret`, `amocrm-refresh-token` (entered once, then kept
//! current by [`AmoTokenStore`]), `bitrix24-webhook-url`,
//! `bitrix24-client-secret`, `bitrix24-refresh-token` (entered once, then
//! kept current by [`BitrixTokenStore`]) — the same service the hub's
//! `{ keyring = "…" }` references use.
//!
//! The keyring crate blocks (D-Bus on Linux) and can hang on a misbehaving
//! bus, so every call runs in `spawn_blocking` under a timeout. When there is
//! no Secret Service the error is `keyring_unavailable`, naming what is
//! missing; there is deliberately no fallback to a file.

use std::time::Duration;

use ringside_core::Sensitive;

use crate::error::{CommandError, CommandResult};
use crate::models::{KeyringStatus, SecretName, SecretStatus, SecretsOverview};

pub const SERVICE: &str = "ringside";
const TIMEOUT: Duration = Duration::from_secs(5);

/// A handle on one keyring service.
#[derive(Debug, Clone)]
pub struct Secrets {
    service: String,
    timeout: Duration,
}

impl Default for Secrets {
    fn default() -> Self {
        Self::new(SERVICE)
    }
}

impl Secrets {
    /// Secrets under `service` (tests use their own service name).
    pub fn new(service: impl Into<String>) -> Self {
        Self {
            service: service.into(),
            timeout: TIMEOUT,
        }
    }

    /// The stored value, `None` when there is no entry.
    pub async fn get(&self, name: SecretName) -> CommandResult<Option<Sensitive<String>>> {
        let service = self.service.clone();
        self.blocking(move || {
            let entry =
                keyring::Entry::new(&service, name.entry()).map_err(|e| describe(name, e))?;
            match entry.get_password() {
                Ok(v) if v.is_empty() => Ok(None),
                Ok(v) => Ok(Some(Sensitive::new(v))),
                Err(keyring::Error::NoEntry) => Ok(None),
                Err(e) => Err(describe(name, e)),
            }
        })
        .await
    }

    /// Store `value`; an empty value deletes the entry.
    pub async fn set(&self, name: SecretName, value: Sensitive<String>) -> CommandResult<()> {
        let service = self.service.clone();
        self.blocking(move || write(&service, name, &value)).await
    }

    /// [`Secrets::set`] for synchronous callers (amoCRM's token store):
    /// the keyring call runs on its own thread under the same timeout; on a
    /// multi-threaded runtime the calling worker hands its other tasks off
    /// while it waits.
    pub fn set_blocking(&self, name: SecretName, value: Sensitive<String>) -> CommandResult<()> {
        let service = self.service.clone();
        let timeout = self.timeout;
        let wait = move || {
            let (tx, rx) = std::sync::mpsc::channel();
            std::thread::Builder::new()
                .name("ringside-keyring".into())
                .spawn(move || {
                    let _ = tx.send(write(&service, name, &value));
                })
                .map_err(|e| CommandError::internal(format!("keyring thread: {e}")))?;
            match rx.recv_timeout(timeout) {
                Ok(result) => result,
                Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {
                    Err(CommandError::keyring_unavailable(format!(
                        "the OS keyring did not answer within {} s (is the Secret Service \
                         locked or waiting for a password prompt?); {} was not stored",
                        timeout.as_secs(),
                        name.entry()
                    )))
                }
                Err(e) => Err(CommandError::internal(format!(
                    "keyring thread failed: {e}"
                ))),
            }
        };
        match tokio::runtime::Handle::try_current().map(|h| h.runtime_flavor()) {
            Ok(tokio::runtime::RuntimeFlavor::MultiThread) => tokio::task::block_in_place(wait),
            _ => wait(),
        }
    }

    /// Which secrets are stored, and whether the keyring answers at all.
    pub async fn overview(&self) -> SecretsOverview {
        let mut secrets = Vec::new();
        let mut keyring = KeyringStatus {
            available: true,
            message: None,
        };
        for name in SecretName::ALL {
            match self.get(name).await {
                Ok(v) => secrets.push(SecretStatus {
                    name,
                    stored: v.is_some(),
                }),
                Err(e) => {
                    secrets.push(SecretStatus {
                        name,
                        stored: false,
                    });
                    if keyring.available {
                        keyring = KeyringStatus {
                            available: false,
                            message: Some(e.message),
                        };
                    }
                }
            }
        }
        secrets.truncate(SecretName::ALL.len());
        SecretsOverview { secrets, keyring }
    }

    async fn blocking<T: Send + 'static>(
        &self,
        f: impl FnOnce() -> CommandResult<T> + Send + 'static,
    ) -> CommandResult<T> {
        match tokio::time::timeout(self.timeout, tokio::task::spawn_blocking(f)).await {
            Ok(Ok(result)) => result,
            Ok(Err(e)) => Err(CommandError::internal(format!("keyring task failed: {e}"))),
            Err(_) => Err(CommandError::keyring_unavailable(format!(
                "the OS keyring did not answer within {} s (is the Secret Service locked \
                 or waiting for a password prompt?); nothing was stored",
                self.timeout.as_secs()
            ))),
        }
    }
}

/// Write (or, for an empty value, delete) one entry. Blocks.
fn write(service: &str, name: SecretName, value: &Sensitive<String>) -> CommandResult<()> {
    let entry = keyring::Entry::new(service, name.entry()).map_err(|e| describe(name, e))?;
    let value = value.expose().trim();
    if value.is_empty() {
        return match entry.delete_credential() {
            Ok(()) | Err(keyring::Error::NoEntry) => Ok(()),
            Err(e) => Err(describe(name, e)),
        };
    }
    entry.set_password(value).map_err(|e| describe(name, e))
}

/// Where amoCRM's adapter keeps its rotating refresh token: the keyring
/// entry `amocrm-refresh-token`. amo refresh tokens are single use, and the
/// adapter saves every new one here before it uses the new access token, so
/// the next start (or reconnect) reads the live one.
#[derive(Debug, Clone)]
pub struct AmoTokenStore {
    secrets: Secrets,
}

impl AmoTokenStore {
    pub const SECRET: SecretName = SecretName::AmocrmRefreshToken;

    pub fn new(secrets: Secrets) -> Self {
        Self { secrets }
    }
}

impl ringside_amocrm::TokenStore for AmoTokenStore {
    fn save(&self, refresh_token: &Sensitive<String>) -> ringside_core::Result<()> {
        save_rotated(&self.secrets, Self::SECRET, "amoCRM", refresh_token)
    }
}

/// Where Bitrix24's adapter keeps its rotating refresh token: the keyring
/// entry `bitrix24-refresh-token`. Every refresh answers a new token and the
/// old one stops working; the adapter saves the new one here before it uses
/// the new access token, so the next start (or reconnect) reads the live one.
#[derive(Debug, Clone)]
pub struct BitrixTokenStore {
    secrets: Secrets,
}

impl BitrixTokenStore {
    pub const SECRET: SecretName = SecretName::Bitrix24RefreshToken;

    pub fn new(secrets: Secrets) -> Self {
        Self { secrets }
    }
}

impl ringside_bitrix24::TokenStore for BitrixTokenStore {
    fn save(&self, refresh_token: &Sensitive<String>) -> ringside_core::Result<()> {
        save_rotated(&self.secrets, Self::SECRET, "Bitrix24", refresh_token)
    }
}

/// A token store's write: never empty (that would delete the live token),
/// errors as `Storage` naming the entry.
fn save_rotated(
    secrets: &Secrets,
    name: SecretName,
    crm: &str,
    refresh_token: &Sensitive<String>,
) -> ringside_core::Result<()> {
    if refresh_token.expose().trim().is_empty() {
        // an empty value would delete the entry
        return Err(ringside_core::Error::storage(format!(
            "not writing an empty {crm} refresh token to {}",
            name.entry()
        )));
    }
    secrets
        .set_blocking(name, refresh_token.clone())
        .map_err(|e| {
            ringside_core::Error::storage(format!("keyring entry {}: {}", name.entry(), e.message))
        })
}

/// A keyring error a person can act on.
fn describe(name: SecretName, e: keyring::Error) -> CommandError {
    let entry = name.entry();
    match e {
        keyring::Error::PlatformFailure(inner) => CommandError::keyring_unavailable(format!(
            "no OS keyring: could not reach a Secret Service (org.freedesktop.secrets, \
             e.g. gnome-keyring or KWallet) on the session D-Bus ({inner}). Ringside keeps \
             secrets only in the keyring, so {entry} was not stored"
        )),
        keyring::Error::NoStorageAccess(inner) => CommandError::keyring_unavailable(format!(
            "the OS keyring is locked or refused access ({inner}); unlock it and try again"
        )),
        keyring::Error::NoEntry => CommandError::kind(
            ringside_core::ErrorKind::NotFound,
            format!("no {entry} in the keyring"),
        ),
        other => CommandError::invalid(format!("keyring entry {entry}: {other}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// With `RINGSIDE_REQUIRE_SECRET_SERVICE` set (scripts/test.sh runs the
    /// tests inside a session bus with an unlocked gnome-keyring) a secret
    /// really round-trips; otherwise the answer is stored or a clear
    /// `keyring_unavailable`, never a silent success.
    #[tokio::test]
    async fn keyring_round_trip_or_clear_error() {
        let secrets = Secrets::new(format!("ringside-test-{}", std::process::id()));
        let required = std::env::var_os("RINGSIDE_REQUIRE_SECRET_SERVICE").is_some();
        let value = Sensitive::new("83isocjid5hyd02sdjiembslw323".to_string());
        match secrets.set(SecretName::HubToken, value.clone()).await {
            Ok(()) => {
                let got = secrets.get(SecretName::HubToken).await.unwrap();
                assert_eq!(
                    got.as_ref().map(|v| v.expose().as_str()),
                    Some(value.expose().as_str())
                );
                let overview = secrets.overview().await;
                assert!(overview.keyring.available);
                assert!(
                    overview
                        .secrets
                        .iter()
                        .any(|s| s.name == SecretName::HubToken && s.stored)
                );
                secrets
                    .set(SecretName::HubToken, Sensitive::new(String::new()))
                    .await
                    .unwrap();
                assert!(secrets.get(SecretName::HubToken).await.unwrap().is_none());
            }
            Err(e) => {
                assert!(
                    !required,
                    "RINGSIDE_REQUIRE_SECRET_SERVICE is set but: {e:?}"
                );
                assert_eq!(e.code, crate::error::KEYRING_UNAVAILABLE, "{e:?}");
                let overview = secrets.overview().await;
                assert!(!overview.keyring.available);
                assert!(overview.keyring.message.is_some());
            }
        }
    }

    /// amoCRM's token store writes each rotated refresh token to
    /// `amocrm-refresh-token`, replacing the one before — from a
    /// multi-threaded runtime (the app's) and a single-threaded one alike.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_amo_token_store_writes_the_rotated_token() {
        use ringside_amocrm::TokenStore;
        let secrets = Secrets::new(format!("ringside-test-amo-store-{}", std::process::id()));
        let required = std::env::var_os("RINGSIDE_REQUIRE_SECRET_SERVICE").is_some();
        let store = AmoTokenStore::new(secrets.clone());
        if let Err(e) = store.save(&Sensitive::new("amo-refresh-1".to_string())) {
            assert!(
                !required,
                "RINGSIDE_REQUIRE_SECRET_SERVICE is set but: {e:?}"
            );
            assert_eq!(e.kind, ringside_core::ErrorKind::Storage, "{e:?}");
            assert!(e.message.contains("amocrm-refresh-token"), "{e:?}");
            eprintln!("skipped: no OS keyring ({})", e.message);
            return;
        }
        let stored = || async {
            secrets
                .get(SecretName::AmocrmRefreshToken)
                .await
                .unwrap()
                .map(|v| v.expose().clone())
        };
        assert_eq!(stored().await.as_deref(), Some("amo-refresh-1"));
        // the rotation: the new one replaces the old
        store
            .save(&Sensitive::new("amo-refresh-2".to_string()))
            .unwrap();
        assert_eq!(stored().await.as_deref(), Some("amo-refresh-2"));
        // from a plain thread (no runtime) too
        let from_thread = store.clone();
        std::thread::spawn(move || {
            from_thread
                .save(&Sensitive::new("amo-refresh-3".to_string()))
                .unwrap()
        })
        .join()
        .unwrap();
        assert_eq!(stored().await.as_deref(), Some("amo-refresh-3"));
        // never an empty token (that would delete the live one)
        assert!(store.save(&Sensitive::new(" ".to_string())).is_err());
        assert_eq!(stored().await.as_deref(), Some("amo-refresh-3"));
        // other entries are untouched
        assert!(
            secrets
                .get(SecretName::ZohoRefreshToken)
                .await
                .unwrap()
                .is_none()
        );
        secrets
            .set(
                SecretName::AmocrmRefreshToken,
                Sensitive::new(String::new()),
            )
            .await
            .unwrap();
    }

    /// Bitrix24's token store writes each rotated refresh token to
    /// `bitrix24-refresh-token`, replacing the one before, and leaves
    /// amoCRM's entry alone.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_bitrix_token_store_writes_the_rotated_token() {
        use ringside_bitrix24::TokenStore;
        let secrets = Secrets::new(format!("ringside-test-bitrix-store-{}", std::process::id()));
        let required = std::env::var_os("RINGSIDE_REQUIRE_SECRET_SERVICE").is_some();
        let store = BitrixTokenStore::new(secrets.clone());
        if let Err(e) = store.save(&Sensitive::new("b24-refresh-1".to_string())) {
            assert!(
                !required,
                "RINGSIDE_REQUIRE_SECRET_SERVICE is set but: {e:?}"
            );
            assert_eq!(e.kind, ringside_core::ErrorKind::Storage, "{e:?}");
            assert!(e.message.contains("bitrix24-refresh-token"), "{e:?}");
            eprintln!("skipped: no OS keyring ({})", e.message);
            return;
        }
        let stored = |name| {
            let secrets = secrets.clone();
            async move { secrets.get(name).await.unwrap().map(|v| v.expose().clone()) }
        };
        assert_eq!(
            stored(SecretName::Bitrix24RefreshToken).await.as_deref(),
            Some("b24-refresh-1")
        );
        store
            .save(&Sensitive::new("b24-refresh-2".to_string()))
            .unwrap();
        assert_eq!(
            stored(SecretName::Bitrix24RefreshToken).await.as_deref(),
            Some("b24-refresh-2")
        );
        // from a plain thread (no runtime) too
        let from_thread = store.clone();
        std::thread::spawn(move || {
            from_thread
                .save(&Sensitive::new("b24-refresh-3".to_string()))
                .unwrap()
        })
        .join()
        .unwrap();
        assert_eq!(
            stored(SecretName::Bitrix24RefreshToken).await.as_deref(),
            Some("b24-refresh-3")
        );
        // never an empty token (that would delete the live one)
        let e = store.save(&Sensitive::new(String::new())).unwrap_err();
        assert!(e.message.contains("Bitrix24"), "{e:?}");
        assert_eq!(
            stored(SecretName::Bitrix24RefreshToken).await.as_deref(),
            Some("b24-refresh-3")
        );
        // other entries are untouched
        assert!(stored(SecretName::AmocrmRefreshToken).await.is_none());
        secrets
            .set(
                SecretName::Bitrix24RefreshToken,
                Sensitive::new(String::new()),
            )
            .await
            .unwrap();
    }

    #[tokio::test]
    async fn the_amo_token_store_works_on_a_current_thread_runtime() {
        use ringside_amocrm::TokenStore;
        let secrets = Secrets::new(format!("ringside-test-amo-store-ct-{}", std::process::id()));
        let store = AmoTokenStore::new(secrets.clone());
        match store.save(&Sensitive::new("amo-refresh-ct".to_string())) {
            Ok(()) => {
                let got = secrets.get(SecretName::AmocrmRefreshToken).await.unwrap();
                assert_eq!(
                    got.map(|v| v.expose().clone()).as_deref(),
                    Some("amo-refresh-ct")
                );
                secrets
                    .set(
                        SecretName::AmocrmRefreshToken,
                        Sensitive::new(String::new()),
                    )
                    .await
                    .unwrap();
            }
            Err(e) => {
                assert!(
                    std::env::var_os("RINGSIDE_REQUIRE_SECRET_SERVICE").is_none(),
                    "{e:?}"
                );
                assert_eq!(e.kind, ringside_core::ErrorKind::Storage, "{e:?}");
            }
        }
    }

    #[test]
    fn errors_name_the_secret_service() {
        let e = describe(
            SecretName::PbxApiKey,
            keyring::Error::PlatformFailure(
                "The name org.freedesktop.secrets was not provided".into(),
            ),
        );
        assert_eq!(e.code, "keyring_unavailable");
        assert!(e.message.contains("Secret Service"));
        assert!(e.message.contains("pbx-api-key"));
    }
}
