//! `settings.json`: load, validate, save atomically (temp file + rename).
//!
//! Defaults are demo mode. The file never holds a secret: the types have no
//! field for one and unknown fields are refused, so nothing can smuggle a key
//! in; secrets live in the OS keyring ([`crate::secrets`]).

use std::io::Write;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use ringside_core::NumberPlan;

use crate::error::{CommandError, CommandResult};
use crate::models::{AmoAuthMode, BitrixAuthMode, Mode, Settings};

pub const FILE_NAME: &str = "settings.json";

/// `dirs::config_dir()/ringside/settings.json`.
pub fn default_path() -> PathBuf {
    dirs::config_dir()
        .unwrap_or_else(|| PathBuf::from("."))
        .join("ringside")
        .join(FILE_NAME)
}

/// The settings at `path`; defaults (demo mode) when there is no file.
pub fn load(path: &Path) -> CommandResult<Settings> {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Settings::default()),
        Err(e) => {
            return Err(CommandError::kind(
                ringside_core::ErrorKind::Storage,
                format!("cannot read {}: {e}", path.display()),
            ));
        }
    };
    let settings: Settings = serde_json::from_str(&text).map_err(|e| {
        CommandError::invalid(format!("{} is not valid settings: {e}", path.display()))
    })?;
    validate(settings)
}

/// Validate `settings` and write them to `path` atomically. Returns what was written.
pub fn save(path: &Path, settings: Settings) -> CommandResult<Settings> {
    let settings = validate(settings)?;
    let storage = |what: &str, e: std::io::Error| {
        CommandError::kind(
            ringside_core::ErrorKind::Storage,
            format!("{what} {}: {e}", path.display()),
        )
    };
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(|e| storage("cannot create the folder of", e))?;
    let mut json = serde_json::to_vec_pretty(&settings)
        .map_err(|e| CommandError::internal(format!("cannot encode settings: {e}")))?;
    json.push(b'\n');
    let tmp = dir.join(format!(".{FILE_NAME}.{}.tmp", std::process::id()));
    let write = || -> std::io::Result<()> {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(&json)?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)
    };
    if let Err(e) = write() {
        let _ = std::fs::remove_file(&tmp);
        return Err(storage("cannot write", e));
    }
    Ok(settings)
}

/// Check every field the current mode uses, and the shape of the others.
/// Normalises blank optional strings to `null`.
pub fn validate(mut s: Settings) -> CommandResult<Settings> {
    let bad = |field: &str, why: String| CommandError::invalid(format!("{field}: {why}"));
    s.hotkey = s
        .hotkey
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty());
    s.pbx.public_url = s
        .pbx
        .public_url
        .map(|u| u.trim().to_string())
        .filter(|u| !u.is_empty());
    s.pbx.base_url = s.pbx.base_url.trim().to_string();
    s.pbx.extension = s.pbx.extension.trim().to_string();
    s.pbx.agent_name = s.pbx.agent_name.trim().to_string();
    s.pbx.region = s.pbx.region.trim().to_ascii_uppercase();
    s.hub.url = s.hub.url.trim().trim_end_matches('/').to_string();
    if let Some(v) = &mut s.crm.vtiger {
        v.base_url = v.base_url.trim().trim_end_matches('/').to_string();
        v.username = v.username.trim().to_string();
        v.office_phone = v
            .office_phone
            .take()
            .map(|p| p.trim().to_string())
            .filter(|p| !p.is_empty());
    }
    if let Some(z) = &mut s.crm.zoho {
        z.accounts_url = z.accounts_url.trim().trim_end_matches('/').to_string();
        z.client_id = z.client_id.trim().to_string();
        z.email = z.email.trim().to_string();
    }
    if let Some(a) = &mut s.crm.amocrm {
        a.base_url = a.base_url.trim().trim_end_matches('/').to_string();
        // trimmed only: amo compares the redirect URI with the registered one exactly
        let optional =
            |v: Option<String>| v.map(|v| v.trim().to_string()).filter(|v| !v.is_empty());
        a.client_id = optional(a.client_id.take());
        a.redirect_uri = optional(a.redirect_uri.take());
        a.email = a.email.trim().to_string();
    }
    if let Some(b) = &mut s.crm.bitrix24 {
        let optional =
            |v: Option<String>| v.map(|v| v.trim().to_string()).filter(|v| !v.is_empty());
        b.portal_url = optional(b.portal_url.take()).map(|u| u.trim_end_matches('/').to_string());
        b.client_id = optional(b.client_id.take());
    }

    let embedded = s.mode == Mode::Embedded;
    if embedded || !s.pbx.base_url.is_empty() {
        http_url(&s.pbx.base_url).map_err(|e| bad("pbx.base_url", e))?;
    }
    if embedded && s.pbx.extension.is_empty() {
        return Err(bad(
            "pbx.extension",
            "this agent's extension is required".into(),
        ));
    }
    if !s.pbx.extension.chars().all(|c| c.is_ascii_digit()) || s.pbx.extension.len() > 8 {
        return Err(bad(
            "pbx.extension",
            format!("{:?} must be up to 8 digits", s.pbx.extension),
        ));
    }
    NumberPlan {
        region: s.pbx.region.clone(),
        outside_line_prefix: s.pbx.outside_line_prefix.clone(),
        ..NumberPlan::default()
    }
    .validate()
    .map_err(|e| bad("pbx.region / pbx.outside_line_prefix", e.message))?;
    SocketAddr::from_str(s.pbx.webhook_listen.trim()).map_err(|e| {
        bad(
            "pbx.webhook_listen",
            format!("{:?} is not host:port ({e})", s.pbx.webhook_listen),
        )
    })?;
    if let Some(url) = &s.pbx.public_url {
        http_url(url).map_err(|e| bad("pbx.public_url", e))?;
    }
    if s.mode == Mode::Hub || !s.hub.url.is_empty() {
        http_url(&s.hub.url).map_err(|e| bad("hub.url", e))?;
    }
    if let Some(hotkey) = &s.hotkey {
        crate::shortcut::parse(hotkey).map_err(|e| bad("hotkey", e))?;
    }
    if let Some(v) = &s.crm.vtiger {
        if v.enabled || !v.base_url.is_empty() {
            if v.enabled && v.base_url.is_empty() {
                return Err(bad(
                    "crm.vtiger.base_url",
                    "the Vtiger address is required, e.g. https://acme.od2.vtiger.com".into(),
                ));
            }
            http_url(&v.base_url).map_err(|e| bad("crm.vtiger.base_url", e))?;
        }
        if v.enabled && v.username.is_empty() {
            return Err(bad(
                "crm.vtiger.username",
                "the Vtiger user name is required, e.g. admin@acme.com".into(),
            ));
        }
        if let Some(phone) = &v.office_phone
            && !phone
                .chars()
                .all(|c| c.is_ascii_digit() || " +-().".contains(c))
        {
            return Err(bad(
                "crm.vtiger.office_phone",
                format!("{phone:?} is not a phone number"),
            ));
        }
    }
    if let Some(z) = &s.crm.zoho {
        if z.enabled || !z.accounts_url.is_empty() {
            if z.accounts_url.is_empty() {
                return Err(bad(
                    "crm.zoho.accounts_url",
                    "the Zoho accounts server of your data centre is required, e.g. \
                     https://accounts.zoho.eu"
                        .into(),
                ));
            }
            let url = http_url(&z.accounts_url).map_err(|e| bad("crm.zoho.accounts_url", e))?;
            if url.query().is_some() || url.fragment().is_some() {
                return Err(bad(
                    "crm.zoho.accounts_url",
                    format!(
                        "{:?} must be the server only, e.g. https://accounts.zoho.eu",
                        z.accounts_url
                    ),
                ));
            }
        }
        if z.enabled && z.client_id.is_empty() {
            return Err(bad(
                "crm.zoho.client_id",
                "the Zoho client id is required, e.g. 1000.XXXX".into(),
            ));
        }
        if (z.enabled || !z.email.is_empty()) && !looks_like_email(&z.email) {
            return Err(bad(
                "crm.zoho.email",
                format!(
                    "{:?} is not an e-mail address: your Zoho user's, e.g. tony@acme.com",
                    z.email
                ),
            ));
        }
    }
    if let Some(a) = &s.crm.amocrm {
        if a.enabled || !a.base_url.is_empty() {
            if a.base_url.is_empty() {
                return Err(bad(
                    "crm.amocrm.base_url",
                    "the amoCRM account address is required, e.g. https://acme.amocrm.ru or \
                     https://acme.kommo.com"
                        .into(),
                ));
            }
            let url = http_url(&a.base_url).map_err(|e| bad("crm.amocrm.base_url", e))?;
            if url.query().is_some() || url.fragment().is_some() {
                return Err(bad(
                    "crm.amocrm.base_url",
                    format!(
                        "{:?} must be the account only, e.g. https://acme.amocrm.ru",
                        a.base_url
                    ),
                ));
            }
        }
        if a.enabled && a.auth == AmoAuthMode::OAuth {
            if a.client_id.is_none() {
                return Err(bad(
                    "crm.amocrm.client_id",
                    "OAuth needs the integration's id (amoCRM → amoMarket → your \
                     integration → Keys and scopes)"
                        .into(),
                ));
            }
            if a.redirect_uri.is_none() {
                return Err(bad(
                    "crm.amocrm.redirect_uri",
                    "OAuth needs the integration's redirect URI, exactly as registered".into(),
                ));
            }
        }
        if a.auth == AmoAuthMode::OAuth
            && let Some(uri) = &a.redirect_uri
        {
            http_url(uri).map_err(|e| bad("crm.amocrm.redirect_uri", e))?;
        }
        if (a.enabled || !a.email.is_empty()) && !looks_like_email(&a.email) {
            return Err(bad(
                "crm.amocrm.email",
                format!(
                    "{:?} is not an e-mail address: your amoCRM user's, e.g. tony@acme.com",
                    a.email
                ),
            ));
        }
    }
    if let Some(b) = &s.crm.bitrix24 {
        let oauth = b.auth == BitrixAuthMode::OAuth;
        if b.enabled && oauth && b.portal_url.is_none() {
            return Err(bad(
                "crm.bitrix24.portal_url",
                "OAuth needs the portal's address, e.g. https://acme.bitrix24.es".into(),
            ));
        }
        if oauth && let Some(portal) = &b.portal_url {
            let url = http_url(portal).map_err(|e| bad("crm.bitrix24.portal_url", e))?;
            if url.query().is_some() || url.fragment().is_some() || url.path() != "/" {
                return Err(bad(
                    "crm.bitrix24.portal_url",
                    format!("{portal:?} must be the portal only, e.g. https://acme.bitrix24.es"),
                ));
            }
        }
        if b.enabled && oauth && b.client_id.is_none() {
            return Err(bad(
                "crm.bitrix24.client_id",
                "OAuth needs the local application's id (Bitrix24 → Developer resources → \
                 Other → Local application), e.g. local.xxxx"
                    .into(),
            ));
        }
    }
    Ok(s)
}

/// `local@domain.tld`: one `@`, something before it, a dot inside the
/// domain, no spaces.
pub fn looks_like_email(text: &str) -> bool {
    let Some((local, domain)) = text.split_once('@') else {
        return false;
    };
    !local.is_empty()
        && !domain.contains('@')
        && !text.chars().any(|c| c.is_whitespace() || c.is_control())
        && domain
            .split_once('.')
            .is_some_and(|(a, b)| !a.is_empty() && !b.is_empty() && !b.ends_with('.'))
}

/// An absolute `http`/`https` URL with a host and no credentials in it.
fn http_url(text: &str) -> Result<tauri::Url, String> {
    let url = tauri::Url::parse(text).map_err(|e| format!("{text:?} is not a URL ({e})"))?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        return Err(format!("{text:?} must be an http:// or https:// URL"));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err("put credentials in the keyring, not in the URL".into());
    }
    Ok(url)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::models::{Language, Theme};

    #[test]
    fn defaults_are_demo_and_valid() {
        let s = validate(Settings::default()).unwrap();
        assert_eq!(s.mode, Mode::Demo);
        assert_eq!(s.hotkey.as_deref(), Some("CmdOrCtrl+Shift+D"));
    }

    #[test]
    fn missing_file_gives_defaults() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(
            load(&dir.path().join("nope.json")).unwrap(),
            Settings::default()
        );
    }

    #[test]
    fn save_then_load_round_trips_atomically() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub").join(FILE_NAME);
        let mut s = Settings {
            mode: Mode::Embedded,
            theme: Theme::Dark,
            language: Language::Es,
            hotkey: Some(String::new()),
            ..Settings::default()
        };
        s.pbx.extension = " 203 ".into();
        s.pbx.agent_name = "Tony Manero".into();
        let saved = save(&path, s).unwrap();
        assert_eq!(saved.pbx.extension, "203");
        assert_eq!(saved.hotkey, None);
        assert_eq!(load(&path).unwrap(), saved);
        // only the file itself is left behind
        let names: Vec<_> = std::fs::read_dir(path.parent().unwrap())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, vec![std::ffi::OsString::from(FILE_NAME)]);
    }

    #[test]
    fn contract_example_parses() {
        let text = r#"{
          "mode": "demo",
          "pbx": { "base_url": "https://config.work.oigaa.com/vtcrm/api", "agent_name": "Tony Manero",
                   "extension": "203", "region": "ES", "outside_line_prefix": "0",
                   "webhook_listen": "127.0.0.1:8701", "public_url": null, "configure_on_start": true },
          "hub": { "url": "http://127.0.0.1:8700" },
          "match_policy": "ask", "autostart": false, "hotkey": "CmdOrCtrl+Shift+D",
          "theme": "system", "language": "en",
          "crm": { "vtiger": { "enabled": true, "base_url": "https://acme.od2.vtiger.com",
                               "username": "admin@acme.com", "office_phone": null },
                   "zoho": { "enabled": true, "accounts_url": "https://accounts.zoho.eu",
                             "client_id": "1000.XXXX", "email": "tony@acme.com" },
                   "amocrm": { "enabled": true, "base_url": "https://acme.amocrm.ru",
                               "auth": "long_lived", "client_id": null, "redirect_uri": null,
                               "email": "tony@acme.com", "unknown_number": "park" },
                   "demo_vtiger": false }
        }"#;
        let s: Settings = serde_json::from_str(text).unwrap();
        let s = validate(s).unwrap();
        assert_eq!(
            s.crm.amocrm_enabled().map(|a| (a.auth, a.unknown_number)),
            Some((
                AmoAuthMode::LongLived,
                crate::models::AmoUnknownNumber::Park
            ))
        );
        // a partial file fills in the rest
        let s: Settings = serde_json::from_str(r#"{"mode":"hub"}"#).unwrap();
        assert_eq!(s.hub.url, "http://127.0.0.1:8700");
    }

    #[test]
    fn secrets_and_unknown_fields_are_refused() {
        let err = serde_json::from_str::<Settings>(
            r#"{"mode":"hub","hub":{"url":"http://h","token":"x"}}"#,
        );
        assert!(err.is_err());
        let err = serde_json::from_str::<Settings>(r#"{"api_key":"83isocjid5hyd02sdjiembslw323"}"#);
        assert!(err.is_err());
        let mut s = Settings::default();
        s.hub.url = "http://agent:secret@hub.example".into();
        assert_eq!(validate(s).unwrap_err().code, "invalid");
    }

    #[test]
    fn invalid_values_name_the_field() {
        let check = |f: fn(&mut Settings), field: &str| {
            let mut s = Settings::default();
            f(&mut s);
            let e = validate(s).unwrap_err();
            assert_eq!(e.code, "invalid");
            assert!(e.message.starts_with(field), "{field}: {}", e.message);
        };
        check(|s| s.pbx.base_url = "ftp://x".into(), "pbx.base_url");
        check(|s| s.mode = Mode::Embedded, "pbx.extension");
        check(|s| s.pbx.extension = "20a".into(), "pbx.extension");
        check(|s| s.pbx.region = "XX".into(), "pbx.region");
        check(|s| s.pbx.outside_line_prefix = "+".into(), "pbx.region");
        check(
            |s| s.pbx.webhook_listen = "localhost".into(),
            "pbx.webhook_listen",
        );
        check(|s| s.pbx.public_url = Some("hook".into()), "pbx.public_url");
        check(
            |s| {
                s.mode = Mode::Hub;
                s.hub.url = String::new()
            },
            "hub.url",
        );
        check(|s| s.hotkey = Some("Ctrl+Nope+".into()), "hotkey");
        fn vtiger(base_url: &str, username: &str) -> Option<crate::models::VtigerDesktop> {
            Some(crate::models::VtigerDesktop {
                enabled: true,
                base_url: base_url.into(),
                username: username.into(),
                office_phone: None,
            })
        }
        check(
            |s| s.crm.vtiger = vtiger("", "admin"),
            "crm.vtiger.base_url",
        );
        check(
            |s| s.crm.vtiger = vtiger("acme.od2.vtiger.com", "admin"),
            "crm.vtiger.base_url",
        );
        check(
            |s| s.crm.vtiger = vtiger("https://acme.od2.vtiger.com", " "),
            "crm.vtiger.username",
        );
        check(
            |s| {
                s.crm.vtiger = vtiger("https://acme.od2.vtiger.com", "admin");
                s.crm.vtiger.as_mut().unwrap().office_phone = Some("call me".into());
            },
            "crm.vtiger.office_phone",
        );
    }

    #[test]
    fn vtiger_settings_validate_and_normalise() {
        let mut s = Settings::default();
        s.crm.vtiger = Some(crate::models::VtigerDesktop {
            enabled: true,
            base_url: " https://acme.od2.vtiger.com/ ".into(),
            username: " admin@acme.com ".into(),
            office_phone: Some("  ".into()),
        });
        let s = validate(s).unwrap();
        let v = s.crm.vtiger_enabled().unwrap();
        assert_eq!(v.base_url, "https://acme.od2.vtiger.com");
        assert_eq!(v.username, "admin@acme.com");
        assert_eq!(v.office_phone, None);
        // switched off, an unfinished Vtiger section does not block saving
        let mut s = Settings::default();
        s.crm.vtiger = Some(crate::models::VtigerDesktop::default());
        let s = validate(s).unwrap();
        assert!(s.crm.vtiger_enabled().is_none());
        // a secret has no field to go into
        assert!(
            serde_json::from_str::<Settings>(
                r#"{"crm":{"vtiger":{"enabled":true,"access_key":"k"}}}"#
            )
            .is_err()
        );
    }

    fn zoho(accounts_url: &str, client_id: &str, email: &str) -> crate::models::ZohoDesktop {
        crate::models::ZohoDesktop {
            enabled: true,
            accounts_url: accounts_url.into(),
            client_id: client_id.into(),
            email: email.into(),
        }
    }

    #[test]
    fn zoho_settings_validate_and_normalise() {
        let mut s = Settings::default();
        s.crm.zoho = Some(zoho(
            " https://accounts.zoho.eu/ ",
            " 1000.ABC ",
            " tony@acme.com ",
        ));
        let s = validate(s).unwrap();
        let z = s.crm.zoho_enabled().unwrap();
        assert_eq!(z.accounts_url, "https://accounts.zoho.eu");
        assert_eq!(z.client_id, "1000.ABC");
        assert_eq!(z.email, "tony@acme.com");

        let check = |z: crate::models::ZohoDesktop, field: &str| {
            let mut s = Settings::default();
            s.crm.zoho = Some(z);
            let e = validate(s).unwrap_err();
            assert_eq!(e.code, "invalid");
            assert!(e.message.starts_with(field), "{field}: {}", e.message);
        };
        check(
            zoho("", "1000.ABC", "tony@acme.com"),
            "crm.zoho.accounts_url",
        );
        check(
            zoho("accounts.zoho.eu", "1000.ABC", "tony@acme.com"),
            "crm.zoho.accounts_url",
        );
        check(
            zoho("ftp://accounts.zoho.eu", "1000.ABC", "tony@acme.com"),
            "crm.zoho.accounts_url",
        );
        check(
            zoho("https://accounts.zoho.eu/?x=1", "1000.ABC", "tony@acme.com"),
            "crm.zoho.accounts_url",
        );
        check(
            zoho("https://accounts.zoho.eu", " ", "tony@acme.com"),
            "crm.zoho.client_id",
        );
        for email in [
            "",
            "tony",
            "tony@",
            "@acme.com",
            "tony@acme",
            "to ny@acme.com",
        ] {
            check(
                zoho("https://accounts.zoho.eu", "1000.ABC", email),
                "crm.zoho.email",
            );
        }
        // http is fine (a local accounts server: the emulator)
        let mut s = Settings::default();
        s.crm.zoho = Some(zoho("http://127.0.0.1:9000", "1000.ABC", "tony@acme.com"));
        validate(s).unwrap();
        // switched off and empty, it does not block saving
        let mut s = Settings::default();
        s.crm.zoho = Some(crate::models::ZohoDesktop::default());
        let s = validate(s).unwrap();
        assert!(s.crm.zoho_enabled().is_none());
        // no field for a secret
        for secret in ["client_secret", "refresh_token"] {
            let text = format!(r#"{{"crm":{{"zoho":{{"enabled":true,"{secret}":"x"}}}}}}"#);
            assert!(serde_json::from_str::<Settings>(&text).is_err(), "{secret}");
        }
    }

    fn amo(base_url: &str, email: &str) -> crate::models::AmoDesktop {
        crate::models::AmoDesktop {
            enabled: true,
            base_url: base_url.into(),
            email: email.into(),
            ..Default::default()
        }
    }

    #[test]
    fn amocrm_settings_validate_and_normalise() {
        use crate::models::{AmoDesktop, AmoUnknownNumber};
        // serde defaults: a block with only some fields fills in the rest
        let s: Settings = serde_json::from_str(
            r#"{"crm":{"amocrm":{"enabled":true,"base_url":"https://acme.kommo.com","email":"tony@acme.com"}}}"#,
        )
        .unwrap();
        let a = s.crm.amocrm_enabled().unwrap();
        assert_eq!(a.auth, AmoAuthMode::LongLived);
        assert_eq!(a.unknown_number, AmoUnknownNumber::Park);
        assert_eq!(
            (a.client_id.as_deref(), a.redirect_uri.as_deref()),
            (None, None)
        );
        validate(s).unwrap();
        let s: Settings = serde_json::from_str(
            r#"{"crm":{"amocrm":{"enabled":true,"base_url":"https://acme.amocrm.ru","auth":"oauth",
                "client_id":"3f1c","redirect_uri":"https://ringside.test/oauth/amocrm",
                "email":"tony@acme.com","unknown_number":"create_contact"}}}"#,
        )
        .unwrap();
        let s = validate(s).unwrap();
        let a = s.crm.amocrm_enabled().unwrap();
        assert_eq!(a.auth, AmoAuthMode::OAuth);
        assert_eq!(a.unknown_number, AmoUnknownNumber::CreateContact);
        let json = serde_json::to_value(&s).unwrap();
        assert_eq!(json["crm"]["amocrm"]["auth"], "oauth");
        assert_eq!(json["crm"]["amocrm"]["unknown_number"], "create_contact");

        let mut s = Settings::default();
        s.crm.amocrm = Some(AmoDesktop {
            client_id: Some("  ".into()),
            redirect_uri: Some(" https://ringside.test/oauth/amocrm/ ".into()),
            ..amo(" https://acme.amocrm.ru/ ", " tony@acme.com ")
        });
        let s = validate(s).unwrap();
        let a = s.crm.amocrm_enabled().unwrap();
        assert_eq!(a.base_url, "https://acme.amocrm.ru");
        assert_eq!(a.email, "tony@acme.com");
        assert_eq!(a.client_id, None);
        // the redirect URI keeps its slash: amo compares it exactly
        assert_eq!(
            a.redirect_uri.as_deref(),
            Some("https://ringside.test/oauth/amocrm/")
        );

        let check = |a: AmoDesktop, field: &str| {
            let mut s = Settings::default();
            s.crm.amocrm = Some(a);
            let e = validate(s).unwrap_err();
            assert_eq!(e.code, "invalid");
            assert!(e.message.starts_with(field), "{field}: {}", e.message);
        };
        check(amo("", "tony@acme.com"), "crm.amocrm.base_url");
        check(
            amo("acme.amocrm.ru", "tony@acme.com"),
            "crm.amocrm.base_url",
        );
        check(
            amo("ftp://acme.amocrm.ru", "tony@acme.com"),
            "crm.amocrm.base_url",
        );
        check(
            amo("https://acme.amocrm.ru/?x=1", "tony@acme.com"),
            "crm.amocrm.base_url",
        );
        check(
            amo("https://user:pw@acme.amocrm.ru", "tony@acme.com"),
            "crm.amocrm.base_url",
        );
        for email in ["", "tony", "tony@acme", "to ny@acme.com"] {
            check(amo("https://acme.amocrm.ru", email), "crm.amocrm.email");
        }
        let oauth = AmoDesktop {
            auth: AmoAuthMode::OAuth,
            client_id: Some("3f1c".into()),
            redirect_uri: Some("https://ringside.test/oauth/amocrm".into()),
            ..amo("https://acme.amocrm.ru", "tony@acme.com")
        };
        let mut s = Settings::default();
        s.crm.amocrm = Some(oauth.clone());
        validate(s).unwrap();
        check(
            AmoDesktop {
                client_id: None,
                ..oauth.clone()
            },
            "crm.amocrm.client_id",
        );
        check(
            AmoDesktop {
                redirect_uri: Some(" ".into()),
                ..oauth.clone()
            },
            "crm.amocrm.redirect_uri",
        );
        check(
            AmoDesktop {
                redirect_uri: Some("ringside.test/oauth".into()),
                ..oauth.clone()
            },
            "crm.amocrm.redirect_uri",
        );
        // long-lived auth needs neither (and ignores what the hidden fields hold)
        let mut s = Settings::default();
        s.crm.amocrm = Some(AmoDesktop {
            auth: AmoAuthMode::LongLived,
            client_id: None,
            redirect_uri: Some("not a url".into()),
            ..oauth
        });
        validate(s).unwrap();
        // http is fine (a local account: the emulator)
        let mut s = Settings::default();
        s.crm.amocrm = Some(amo("http://127.0.0.1:9000", "tony@acme.com"));
        validate(s).unwrap();
        // switched off and empty, it does not block saving
        let mut s = Settings::default();
        s.crm.amocrm = Some(AmoDesktop::default());
        let s = validate(s).unwrap();
        assert!(s.crm.amocrm_enabled().is_none());
        // no field for a secret; unknown values are refused
        for field in [
            r#""token":"x""#,
            r#""long_lived_token":"x""#,
            r#""client_secret":"x""#,
            r#""refresh_token":"x""#,
            r#""auth":"password""#,
            r#""unknown_number":"ignore""#,
        ] {
            let text = format!(r#"{{"crm":{{"amocrm":{{"enabled":true,{field}}}}}}}"#);
            assert!(serde_json::from_str::<Settings>(&text).is_err(), "{field}");
        }
    }

    #[test]
    fn bitrix24_settings_validate_and_normalise() {
        use crate::models::{BitrixDesktop, BitrixPlan};
        // serde defaults: OAuth, CRM_CREATE on, the standard plan
        let s: Settings = serde_json::from_str(
            r#"{"crm":{"bitrix24":{"enabled":true,"portal_url":" https://acme.bitrix24.es/ ","client_id":" local.abc "}}}"#,
        )
        .unwrap();
        let s = validate(s).unwrap();
        let b = s.crm.bitrix24_enabled().unwrap();
        assert_eq!(b.auth, BitrixAuthMode::OAuth);
        assert!(b.crm_create);
        assert_eq!(b.plan, BitrixPlan::Standard);
        assert_eq!(b.portal_url.as_deref(), Some("https://acme.bitrix24.es"));
        assert_eq!(b.client_id.as_deref(), Some("local.abc"));
        let s: Settings = serde_json::from_str(
            r#"{"crm":{"bitrix24":{"enabled":true,"auth":"webhook","portal_url":null,
                "client_id":null,"crm_create":false,"plan":"enterprise"}}}"#,
        )
        .unwrap();
        let s = validate(s).unwrap();
        let b = s.crm.bitrix24_enabled().unwrap();
        assert_eq!(b.auth, BitrixAuthMode::Webhook);
        assert!(!b.crm_create);
        assert_eq!(b.plan, BitrixPlan::Enterprise);
        let json = serde_json::to_value(&s).unwrap();
        assert_eq!(json["crm"]["bitrix24"]["auth"], "webhook");
        assert_eq!(json["crm"]["bitrix24"]["plan"], "enterprise");

        let oauth = BitrixDesktop {
            enabled: true,
            portal_url: Some("https://acme.bitrix24.es".into()),
            client_id: Some("local.abc".into()),
            ..BitrixDesktop::default()
        };
        let check = |b: BitrixDesktop, field: &str| {
            let mut s = Settings::default();
            s.crm.bitrix24 = Some(b);
            let e = validate(s).unwrap_err();
            assert_eq!(e.code, "invalid");
            assert!(e.message.starts_with(field), "{field}: {}", e.message);
        };
        for portal in [
            None,
            Some(" "),
            Some("acme.bitrix24.es"),
            Some("ftp://acme.bitrix24.es"),
            Some("https://acme.bitrix24.es/?x=1"),
            Some("https://user:pw@acme.bitrix24.es"),
            // a webhook URL is not the portal
            Some("https://acme.bitrix24.es/rest/1/abc/"),
        ] {
            check(
                BitrixDesktop {
                    portal_url: portal.map(Into::into),
                    ..oauth.clone()
                },
                "crm.bitrix24.portal_url",
            );
        }
        check(
            BitrixDesktop {
                client_id: Some("  ".into()),
                ..oauth.clone()
            },
            "crm.bitrix24.client_id",
        );
        // the webhook needs neither (and ignores what the hidden fields hold)
        let mut s = Settings::default();
        s.crm.bitrix24 = Some(BitrixDesktop {
            auth: BitrixAuthMode::Webhook,
            portal_url: Some("not a url".into()),
            client_id: None,
            ..oauth.clone()
        });
        validate(s).unwrap();
        // http is fine (a local portal: the emulator)
        let mut s = Settings::default();
        s.crm.bitrix24 = Some(BitrixDesktop {
            portal_url: Some("http://127.0.0.1:9000".into()),
            ..oauth
        });
        validate(s).unwrap();
        // switched off and empty, it does not block saving
        let mut s = Settings::default();
        s.crm.bitrix24 = Some(BitrixDesktop::default());
        let s = validate(s).unwrap();
        assert!(s.crm.bitrix24_enabled().is_none());
        // no field for a secret; unknown values are refused
        for field in [
            r#""webhook_url":"x""#,
            r#""client_secret":"x""#,
            r#""refresh_token":"x""#,
            r#""auth":"password""#,
            r#""plan":"free""#,
        ] {
            let text = format!(r#"{{"crm":{{"bitrix24":{{"enabled":true,{field}}}}}}}"#);
            assert!(serde_json::from_str::<Settings>(&text).is_err(), "{field}");
        }
    }

    #[test]
    fn a_file_from_before_crm_settings_loads() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(FILE_NAME);
        std::fs::write(
            &path,
            r#"{"mode":"demo","pbx":{"extension":"203"},"theme":"dark","language":"es"}"#,
        )
        .unwrap();
        let s = load(&path).unwrap();
        assert_eq!(s.crm, crate::models::CrmSettings::default());
        assert!(s.crm.vtiger.is_none());
        assert!(s.crm.zoho.is_none());
        assert!(!s.crm.demo_vtiger);
        // nor does one from before Zoho
        std::fs::write(
            &path,
            r#"{"crm":{"vtiger":{"enabled":false,"base_url":"","username":"","office_phone":null},"demo_vtiger":true}}"#,
        )
        .unwrap();
        let s = load(&path).unwrap();
        assert!(s.crm.zoho.is_none());
        assert!(s.crm.amocrm.is_none());
        assert!(s.crm.bitrix24.is_none());
        assert!(s.crm.demo_vtiger);
    }

    #[test]
    fn broken_file_is_an_error_not_a_reset() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(FILE_NAME);
        std::fs::write(&path, "{ not json").unwrap();
        assert_eq!(load(&path).unwrap_err().code, "invalid");
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "{ not json");
    }
}
