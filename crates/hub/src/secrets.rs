//! Resolving [`SecretRef`]s: environment variables and the OS keyring.
//!
//! Keyring entries live under the service [`KEYRING_SERVICE`] with the entry
//! name as the user. The keyring crate blocks (D-Bus on Linux), so every call
//! runs in `spawn_blocking`.

use ringside_core::{Error, ErrorKind, Result, Sensitive};

use crate::config::SecretRef;

/// The keyring service name under which Ringside stores its secrets.
pub const KEYRING_SERVICE: &str = "ringside";

/// Resolve one secret reference to its value.
pub async fn resolve(secret: &SecretRef) -> Result<Sensitive<String>> {
    match secret {
        SecretRef::Env(var) => resolve_env(var),
        SecretRef::Keyring(entry) => {
            let entry = entry.clone();
            tokio::task::spawn_blocking(move || keyring_get(&entry))
                .await
                .map_err(|e| Error::internal(format!("keyring task failed: {e}")))?
        }
    }
}

fn resolve_env(var: &str) -> Result<Sensitive<String>> {
    match std::env::var(var) {
        Ok(value) if !value.trim().is_empty() => Ok(Sensitive::new(value.trim().to_string())),
        Ok(_) => Err(Error::config(format!(
            "environment variable {var} is empty"
        ))),
        Err(std::env::VarError::NotPresent) => Err(Error::config(format!(
            "environment variable {var} is not set"
        ))),
        Err(std::env::VarError::NotUnicode(_)) => Err(Error::config(format!(
            "environment variable {var} is not valid UTF-8"
        ))),
    }
}

fn keyring_get(entry_name: &str) -> Result<Sensitive<String>> {
    let entry = keyring::Entry::new(KEYRING_SERVICE, entry_name)
        .map_err(|e| keyring_error(entry_name, e))?;
    let value = entry
        .get_password()
        .map_err(|e| keyring_error(entry_name, e))?;
    if value.trim().is_empty() {
        return Err(Error::config(format!(
            "keyring entry {entry_name:?} (service {KEYRING_SERVICE:?}) is empty"
        )));
    }
    Ok(Sensitive::new(value))
}

/// Store `value` in the OS keyring under `entry_name` (blocking).
pub fn keyring_set(entry_name: &str, value: &Sensitive<String>) -> Result<()> {
    let entry = keyring::Entry::new(KEYRING_SERVICE, entry_name)
        .map_err(|e| keyring_error(entry_name, e))?;
    entry
        .set_password(value.expose())
        .map_err(|e| keyring_error(entry_name, e))
}

fn keyring_error(entry_name: &str, e: keyring::Error) -> Error {
    match e {
        keyring::Error::NoEntry => Error::config(format!(
            "keyring entry {entry_name:?} (service {KEYRING_SERVICE:?}) not found: store it with `ringside-hub secret set {entry_name}`"
        )),
        keyring::Error::PlatformFailure(err) | keyring::Error::NoStorageAccess(err) => Error::new(
            ErrorKind::Config,
            format!(
                "the OS keyring is not available for entry {entry_name:?}: {err}. \
                     On Linux this needs a running Secret Service (gnome-keyring or KeePassXC) \
                     on the D-Bus session bus; on a headless server use {{ env = \"...\" }} instead"
            ),
        ),
        other => Error::config(format!("keyring entry {entry_name:?}: {other}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn env_secret_resolves_and_missing_env_is_named() {
        // `set_var` needs `unsafe` in edition 2024 (forbidden here): use a
        // variable the test process already has.
        let present = std::env::vars()
            .find(|(_, v)| !v.trim().is_empty())
            .map(|(k, _)| k)
            .expect("some environment variable");
        let v = resolve(&SecretRef::Env(present.clone())).await.unwrap();
        assert_eq!(v.expose(), std::env::var(&present).unwrap().trim());

        let err = resolve(&SecretRef::Env("RINGSIDE_TEST_SURELY_UNSET_42".into()))
            .await
            .unwrap_err();
        assert!(err.message.contains("RINGSIDE_TEST_SURELY_UNSET_42"));
        assert!(err.message.contains("not set"));
    }
}
