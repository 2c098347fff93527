//! The desktop's secrets in the OS keyring: service `ringside`, entries
//! `pbx-api-key`, `webhook-secret`, `hub-token`, `vtiger-access-key`,
//! `vtiger-gateway-secret`, `zoho-client-secret`, `zoho-refresh-token` (the
//! last one written only by the Zoho Connect flow) — the same service the
//! hub's `{ keyring = "…" }` references use.
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
        self.blocking(move || {
            let entry =
                keyring::Entry::new(&service, name.entry()).map_err(|e| describe(name, e))?;
            let value = value.expose().trim();
            if value.is_empty() {
                return match entry.delete_credential() {
                    Ok(()) | Err(keyring::Error::NoEntry) => Ok(()),
                    Err(e) => Err(describe(name, e)),
                };
            }
            entry.set_password(value).map_err(|e| describe(name, e))
        })
        .await
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
