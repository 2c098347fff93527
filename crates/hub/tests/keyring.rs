//! Secrets in the real OS keyring: a round trip through the real binary
//! (`ringside-hub secret set`) and a real Secret Service (gnome-keyring on a
//! private session bus, as `scripts/test.sh` runs it), and the clear error
//! when no Secret Service is there.

use std::io::Write;
use std::process::{Command, Stdio};

use ringside_hub::config::SecretRef;
use ringside_hub::secrets;

const BIN: &str = env!("CARGO_BIN_EXE_ringside-hub");

fn secret_set(entry: &str, value: &str, bus: Option<&str>) -> std::process::Output {
    let mut cmd = Command::new(BIN);
    cmd.args(["secret", "set", entry])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    if let Some(bus) = bus {
        cmd.env("DBUS_SESSION_BUS_ADDRESS", bus);
    }
    let mut child = cmd.spawn().unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(value.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

fn secret_service_required() -> bool {
    std::env::var_os("RINGSIDE_REQUIRE_SECRET_SERVICE").is_some()
}

#[tokio::test]
async fn a_secret_stored_by_the_cli_resolves_from_the_keyring() {
    let entry = format!("test-{}", std::process::id());
    let value = "83isocjid5hyd02sdjiembslw323";
    let out = secret_set(&entry, value, None);
    if !out.status.success() {
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            !secret_service_required(),
            "a Secret Service is required here (RINGSIDE_REQUIRE_SECRET_SERVICE) but storing failed: {stderr}"
        );
        // No Secret Service on this machine: the failure must say so clearly.
        assert!(stderr.contains("Secret Service"), "{stderr}");
        return;
    }
    assert!(
        !String::from_utf8_lossy(&out.stdout).contains(value)
            && !String::from_utf8_lossy(&out.stderr).contains(value),
        "the secret is never printed"
    );
    let resolved = secrets::resolve(&SecretRef::Keyring(entry.clone()))
        .await
        .unwrap();
    assert_eq!(resolved.expose(), value);
    assert_eq!(format!("{resolved:?}"), "<redacted>");

    // Cross-check with libsecret's own CLI when present: the same store.
    if let Ok(out) = Command::new("secret-tool")
        .args(["lookup", "service", "ringside", "username", &entry])
        .output()
        && out.status.success()
        && !out.stdout.is_empty()
    {
        assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), value);
    }

    // Clean up, then a missing entry is a clear config error.
    keyring::Entry::new(secrets::KEYRING_SERVICE, &entry)
        .unwrap()
        .delete_credential()
        .unwrap();
    let err = secrets::resolve(&SecretRef::Keyring(entry.clone()))
        .await
        .unwrap_err();
    assert!(err.message.contains("not found"), "{}", err.message);
    assert!(
        err.message.contains("ringside-hub secret set"),
        "{}",
        err.message
    );
}

#[test]
fn no_secret_service_is_a_clear_error_and_nothing_is_written_to_a_file() {
    let home = tempfile::tempdir().unwrap();
    let mut cmd = Command::new(BIN);
    let mut child = cmd
        .args(["secret", "set", "gamma-key"])
        .env(
            "DBUS_SESSION_BUS_ADDRESS",
            "unix:path=/nonexistent/ringside-test-bus",
        )
        .env("HOME", home.path())
        .env("XDG_DATA_HOME", home.path().join("data"))
        .env("XDG_CONFIG_HOME", home.path().join("config"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"super-secret-value")
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("keyring is not available"), "{stderr}");
    assert!(stderr.contains("Secret Service"), "{stderr}");
    assert!(!stderr.contains("super-secret-value"));
    // Refused, not written anywhere else.
    let mut leaked = Vec::new();
    for entry in walk(home.path()) {
        if std::fs::read(&entry).is_ok_and(|b| b.windows(18).any(|w| w == b"super-secret-value")) {
            leaked.push(entry);
        }
    }
    assert!(leaked.is_empty(), "secret written to {leaked:?}");
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    if let Ok(entries) = std::fs::read_dir(dir) {
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                out.extend(walk(&p));
            } else {
                out.push(p);
            }
        }
    }
    out
}

/// amoCRM's refresh tokens are single use: the adapter hands every new one to
/// the hub's keyring store before using it. Against an emulated amo with a
/// real Secret Service: after a refresh, the keyring holds the new token, and
/// it is the one amo accepts next.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn amo_rotated_refresh_tokens_land_in_the_keyring() {
    use ringside_amocrm::{AmoAuth, AmoCrm, AmoSettings, TokenStore};
    use ringside_amocrm_emulator::{AmoEmulator, EmulatorConfig};
    use ringside_core::Sensitive;
    use ringside_crm::CrmProvider;

    let entry = format!("test-amo-{}", std::process::id());
    let store = std::sync::Arc::new(ringside_hub::crms::KeyringTokenStore {
        entry: entry.clone(),
    });
    let probe = Sensitive::new("probe".to_string());
    if let Err(e) = store.save(&probe) {
        assert!(
            !secret_service_required(),
            "a Secret Service is required here but storing failed: {e}"
        );
        return;
    }
    let amo = AmoEmulator::start(EmulatorConfig::default()).await.unwrap();
    amo.seed_demo();
    let first = amo.add_refresh_token();
    let config = amo.config();
    let crm = AmoCrm::new(
        AmoSettings::new(
            amo.base_url(),
            AmoAuth::OAuth {
                client_id: config.client_id,
                client_secret: Sensitive::new(config.client_secret),
                redirect_uri: config.redirect_uri,
                refresh_token: Sensitive::new(first.clone()),
                store,
            },
        ),
        ringside_crm::Throttle::new(&ringside_crm::Limits::default()),
    )
    .unwrap();
    crm.check().await.expect("first refresh and a request");
    let stored = secrets::resolve(&SecretRef::Keyring(entry.clone()))
        .await
        .unwrap();
    assert_ne!(
        stored.expose(),
        &first,
        "the rotated token was written back"
    );
    assert_ne!(stored.expose(), "probe");
    assert_eq!(amo.refreshes(), 1);
    keyring::Entry::new(secrets::KEYRING_SERVICE, &entry)
        .unwrap()
        .delete_credential()
        .unwrap();
}
