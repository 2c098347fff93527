//! The config file: the shipped example parses, secrets written in clear are
//! refused, env secrets resolve (through the real binary's `check-config`).

use std::process::Command;

use ringside_hub::config::{Config, PLAIN_SECRET_MESSAGE, SecretRef};

const EXAMPLE: &str = include_str!("../ringside.example.toml");

#[test]
fn the_example_config_parses() {
    let config = Config::parse(EXAMPLE).unwrap();
    assert_eq!(config.server.listen.to_string(), "127.0.0.1:8700");
    assert_eq!(config.server.max_body_bytes, 64 * 1024);
    assert_eq!(config.server.max_connections, 512);
    assert_eq!(
        config.webhook_url().as_deref(),
        Some("https://ringside.example.com/webhooks/gamma")
    );
    assert_eq!(
        config.gamma.api_key,
        SecretRef::Env("RINGSIDE_GAMMA_API_KEY".into())
    );
    assert_eq!(
        config.gamma.webhook_secret,
        SecretRef::Keyring("gamma-webhook-secret".into())
    );
    assert_eq!(config.gamma.allowed_cidrs.len(), 1);
    assert!(config.gamma.configure_on_start);
    assert_eq!(config.agents.len(), 2);
    assert_eq!(config.agents[0].extension, "203");
    let summary = config.summary();
    assert!(summary.contains("env RINGSIDE_GAMMA_API_KEY"), "{summary}");
    let vtiger = config
        .crm
        .vtiger
        .as_ref()
        .expect("the example enables Vtiger");
    assert_eq!(vtiger.username, "admin@acme.com");
    assert_eq!(
        vtiger.access_key,
        SecretRef::Keyring("vtiger-access-key".into())
    );
    assert_eq!(vtiger.users[0].extension, "201");
    assert_eq!(vtiger.delivery.wrap_up_seconds, 15);
    assert!(vtiger.click_to_call.is_some());
    assert!(summary.contains("crm.vtiger"), "{summary}");
    let zoho = config.crm.zoho.as_ref().expect("the example enables Zoho");
    assert_eq!(zoho.accounts_url, "https://accounts.zoho.eu");
    assert_eq!(
        zoho.refresh_token,
        SecretRef::Keyring("zoho-refresh-token".into())
    );
    assert_eq!(zoho.users[0].email.as_deref(), Some("tony@acme.com"));
    assert!(
        zoho.crm_settings().discover_users,
        "Zoho ids come from `users`"
    );
    assert!(summary.contains("crm.zoho"), "{summary}");
    let amo = config
        .crm
        .amocrm
        .as_ref()
        .expect("the example enables amoCRM");
    assert_eq!(
        amo.long_lived_token,
        Some(SecretRef::Keyring("amocrm-token".into()))
    );
    assert_eq!(amo.limits.requests_per_second, 5.0);
    assert!(summary.contains("crm.amocrm"), "{summary}");
    let bitrix = config
        .crm
        .bitrix24
        .as_ref()
        .expect("the example enables Bitrix24");
    assert_eq!(bitrix.limits.burst, 50);
    assert!(bitrix.crm_create);
    assert!(summary.contains("crm.bitrix24"), "{summary}");
}

#[test]
fn crm_settings_are_checked() {
    let bad = |from: &str, to: &str, wants: &str| {
        let text = EXAMPLE.replace(from, to);
        assert_ne!(text, EXAMPLE, "{from} not in the example");
        let err = Config::parse(&text).unwrap_err();
        assert!(err.message.contains(wants), "{wants}: {}", err.message);
    };
    bad(
        r#"gateway_secret = { env = "RINGSIDE_VTIGER_SECRET" }"#,
        r#"gateway_secret = "129412201662064da8bece7""#,
        PLAIN_SECRET_MESSAGE,
    );
    bad(
        r#"base_url = "https://acme.od2.vtiger.com""#,
        r#"base_url = "acme.od2.vtiger.com""#,
        "crm.vtiger.base_url",
    );
    bad(
        "requests_per_second = 1.0",
        "requests_per_second = 0.0",
        "requests_per_second",
    );
    bad(
        "token_param = \"token\"\ntoken = { keyring = \"vtiger-click-to-call-token\" }",
        "",
        "unauthenticated dial endpoint is refused",
    );
    bad(
        r#"extension = "201"
phone"#,
        r#"extension = "2o1"
phone"#,
        "not an extension",
    );
    bad(
        "wrap_up_seconds = 15",
        "wrap_up_seconds = 15\nwrapup = 3",
        "unknown field",
    );
    bad(
        r#"client_secret = { env = "RINGSIDE_ZOHO_CLIENT_SECRET" }"#,
        r#"client_secret = "abc123""#,
        PLAIN_SECRET_MESSAGE,
    );
    bad(
        r#"long_lived_token = { keyring = "amocrm-token" }"#,
        "client_id = \"x\"\nclient_secret = { env = \"S\" }\nredirect_uri = \"https://r\"\nrefresh_token = { env = \"R\" }",
        "must be { keyring",
    );
    bad(
        r#"long_lived_token = { keyring = "amocrm-token" }"#,
        "",
        "needs long_lived_token",
    );
    bad(
        r#"unknown_number = "create_contact""#,
        r#"unknown_number = "drop""#,
        "unknown variant",
    );
    let no_public_url = EXAMPLE
        .replace("public_url = \"https://ringside.example.com\"", "")
        .replace("configure_on_start = true", "configure_on_start = false");
    let err = Config::parse(&no_public_url).unwrap_err();
    assert!(
        err.message
            .contains("crm.zoho.click_to_call.register_on_start needs server.public_url"),
        "{}",
        err.message
    );
}

#[test]
fn a_secret_in_clear_is_refused_without_echoing_it() {
    for (from, to) in [
        (
            r#"api_key = { env = "RINGSIDE_GAMMA_API_KEY" }"#,
            r#"api_key = "83isocjid5hyd02sdjiembslw323""#,
        ),
        (
            r#"token = { env = "RINGSIDE_TOKEN_203" }"#,
            r#"token = "83isocjid5hyd02sdjiembslw323""#,
        ),
        (
            r#"webhook_secret = { keyring = "gamma-webhook-secret" }"#,
            r#"webhook_secret = "83isocjid5hyd02sdjiembslw323""#,
        ),
    ] {
        let text = EXAMPLE.replace(from, to);
        assert_ne!(text, EXAMPLE);
        let err = Config::parse(&text).unwrap_err();
        assert!(
            err.message.contains(PLAIN_SECRET_MESSAGE),
            "{}",
            err.message
        );
        assert!(
            !err.message.contains("83isocjid5hyd02sdjiembslw323"),
            "{}",
            err.message
        );
    }
}

fn write_config(dir: &std::path::Path) -> std::path::PathBuf {
    let text = format!(
        r#"
[server]
listen = "127.0.0.1:0"

[gamma]
base_url = "http://127.0.0.1:9/vtcrm/api"
api_key = {{ env = "RINGSIDE_TEST_API_KEY" }}
webhook_secret = {{ env = "RINGSIDE_TEST_WEBHOOK_SECRET" }}

[storage]
data_dir = "{}"

[[agents]]
name = "Tony"
extension = "203"
token = {{ env = "RINGSIDE_TEST_TOKEN" }}
"#,
        dir.display()
    );
    let path = dir.join("ringside.toml");
    std::fs::write(&path, text).unwrap();
    path
}

#[test]
fn check_config_resolves_env_secrets_and_never_prints_them() {
    let dir = tempfile::tempdir().unwrap();
    let path = write_config(dir.path());
    let output = Command::new(env!("CARGO_BIN_EXE_ringside-hub"))
        .args(["check-config", "--config"])
        .arg(&path)
        .env("RINGSIDE_TEST_API_KEY", "key-value-1234567")
        .env("RINGSIDE_TEST_WEBHOOK_SECRET", "secret-value-7654321")
        .env("RINGSIDE_TEST_TOKEN", "token-value-5555555")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(stdout.contains("config OK"), "{stdout}");
    assert!(
        stdout.contains("resolved from env RINGSIDE_TEST_TOKEN"),
        "{stdout}"
    );
    for secret in [
        "key-value-1234567",
        "secret-value-7654321",
        "token-value-5555555",
    ] {
        assert!(!stdout.contains(secret), "{stdout}");
    }

    // A missing variable is named, and the command fails.
    let output = Command::new(env!("CARGO_BIN_EXE_ringside-hub"))
        .args(["check-config", "--config"])
        .arg(&path)
        .env("RINGSIDE_TEST_API_KEY", "key-value-1234567")
        .env("RINGSIDE_TEST_WEBHOOK_SECRET", "secret-value-7654321")
        .env_remove("RINGSIDE_TEST_TOKEN")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(!output.status.success());
    assert!(
        stdout.contains("RINGSIDE_TEST_TOKEN is not set"),
        "{stdout}"
    );
}

#[test]
fn a_plain_secret_fails_check_config_with_the_clear_message() {
    let dir = tempfile::tempdir().unwrap();
    let path = write_config(dir.path());
    let text = std::fs::read_to_string(&path)
        .unwrap()
        .replace(r#"{ env = "RINGSIDE_TEST_TOKEN" }"#, r#""hunter2-hunter2""#);
    std::fs::write(&path, text).unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_ringside-hub"))
        .args(["check-config", "--config"])
        .arg(&path)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success());
    assert!(stderr.contains(PLAIN_SECRET_MESSAGE), "{stderr}");
    assert!(!stderr.contains("hunter2"), "{stderr}");
}

/// `serve` with env secrets: starts, answers /healthz, stops on SIGTERM-free
/// kill. Uses port 0 through a config written here.
#[test]
fn serve_starts_from_a_config_file() {
    let dir = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let path = write_config(dir.path());
    let text = std::fs::read_to_string(&path)
        .unwrap()
        .replace("127.0.0.1:0", &format!("127.0.0.1:{port}"));
    std::fs::write(&path, text).unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_ringside-hub"))
        .args(["serve", "--config"])
        .arg(&path)
        .env("RINGSIDE_TEST_API_KEY", "key-value-1234567")
        .env("RINGSIDE_TEST_WEBHOOK_SECRET", "secret-value-7654321")
        .env("RINGSIDE_TEST_TOKEN", "token-value-5555555")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let healthy = runtime.block_on(async {
        let client = reqwest::Client::new();
        for _ in 0..100 {
            if let Ok(r) = client
                .get(format!("http://127.0.0.1:{port}/healthz"))
                .send()
                .await
                && r.status().as_u16() == 200
            {
                return r.json::<serde_json::Value>().await.ok();
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        None
    });
    let _ = child.kill();
    let _ = child.wait();
    assert_eq!(
        healthy,
        Some(serde_json::json!({"status": "ok", "journal": "ok"}))
    );
    assert!(dir.path().join("journal.sqlite3").exists());
}
