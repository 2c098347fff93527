//! The Vtiger CRM adapter.
//!
//! Two Vtiger surfaces (contracts notes §2):
//! - the Phone Calls **Generic gateway** (`Generic.php`, header
//!   `X-VTIGER-SECRET`) receives the call's live events: ring, answered,
//!   transfer, hangup and a late recording (integration spec §5; see
//!   [`gateway`]);
//! - the **REST API** (`/restapi/v1/vtiger/default`, HTTP Basic
//!   `username:accessKey`) answers lookups by phone ([`lookup`]), the open
//!   Potentials of a contact, the users' Office Phones and whether a
//!   delivery reached Vtiger (`PhoneCalls WHERE sourceuuid = <call id>`).
//!
//! Every request takes one permit from the CRM's [`Throttle`]; Vtiger's
//! flood-control headers hold it (see [`rest`]). Every failure goes through
//! the one [`parse_error`]. Nothing is retried here.

pub mod gateway;
pub mod lookup;
pub mod rest;
pub mod settings;
pub mod wire;

use std::sync::Arc;
use std::time::Duration;

use reqwest::Url;
use ringside_core::{ContactMatch, Error, NumberVariants, PhoneNumber, Result};
use ringside_crm::{
    Capabilities, Confirmation, ConnectionInfo, CrmProvider, CrmUser, Delivered, Operation,
    Throttle,
};

pub use gateway::{GATEWAY_PATH, PROBE_CALL_ID, SECRET_HEADER, hangup_reason, params_for};
pub use rest::{REST_BASE, Surface, parse_error};
pub use settings::{VtigerSettings, default_closed_stages};

use crate::gateway::gateway_result;
use crate::wire::UserRow;

/// Search by Number's path under the instance URL.
pub const SEARCH_PATH: &str = "/modules/PhoneCalls/callbacks/Search.php";
/// How long to wait for a TCP/TLS connection. The whole request's deadline
/// is the framework's `Guarded` layer.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// The most pages of users read.
const MAX_USER_PAGES: usize = 10;

/// One Vtiger instance as a [`CrmProvider`].
#[derive(Debug)]
pub struct VtigerCrm {
    http: reqwest::Client,
    /// The instance URL without a trailing slash.
    base: String,
    /// `host[:port]`, for messages.
    authority: String,
    settings: VtigerSettings,
    throttle: Arc<Throttle>,
}

impl VtigerCrm {
    /// An adapter for `settings`, taking its request permits from `throttle`.
    ///
    /// A base URL that is not http(s) with a host, an empty user name or an
    /// unusable number plan is a [`ErrorKind::Config`] error.
    pub fn new(settings: VtigerSettings, throttle: Arc<Throttle>) -> Result<VtigerCrm> {
        let mut trimmed = settings.base_url.trim().trim_end_matches('/');
        for suffix in [REST_BASE, "/index.php"] {
            if let Some(rest) = trimmed.strip_suffix(suffix) {
                trimmed = rest.trim_end_matches('/');
            }
        }
        let url = Url::parse(trimmed).map_err(|e| {
            Error::config(format!(
                "the Vtiger URL `{}` is invalid: {e}",
                settings.base_url
            ))
        })?;
        let Some(host) = url.host_str().filter(|h| !h.is_empty()) else {
            return Err(Error::config(format!(
                "the Vtiger URL `{}` has no host",
                settings.base_url
            )));
        };
        if !matches!(url.scheme(), "http" | "https") {
            return Err(Error::config(format!(
                "the Vtiger URL `{}` must start with https:// (or http://)",
                settings.base_url
            )));
        }
        if url.query().is_some() || url.fragment().is_some() {
            return Err(Error::config(format!(
                "the Vtiger URL `{}` must be the instance address only (no ?query or #fragment)",
                settings.base_url
            )));
        }
        let authority = match url.port() {
            Some(port) => format!("{host}:{port}"),
            None => host.to_string(),
        };
        if settings.username.trim().is_empty() {
            return Err(Error::config("the Vtiger user name is empty"));
        }
        settings
            .numbers
            .validate()
            .map_err(|e| e.context("Vtiger number plan"))?;
        let http = reqwest::Client::builder()
            .connect_timeout(CONNECT_TIMEOUT)
            // A redirect would turn the gateway POST into a GET: report it.
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| Error::internal(format!("cannot build the HTTP client: {e}")))?;
        Ok(VtigerCrm {
            http,
            base: trimmed.to_string(),
            authority,
            settings,
            throttle,
        })
    }

    /// The instance URL the adapter talks to, without a trailing slash.
    pub fn base_url(&self) -> &str {
        &self.base
    }

    pub fn settings(&self) -> &VtigerSettings {
        &self.settings
    }

    /// Probe the gateway secret without creating anything: a
    /// `call_recording` for the call id [`PROBE_CALL_ID`], which no Phone
    /// Calls record has. Vtiger checks the secret first, so `400
    /// RECORD_NOT_FOUND` means the secret was accepted (and nothing was
    /// written), `401` that it was refused.
    async fn probe_gateway(&self) -> Result<String> {
        let params: gateway::Params = vec![
            ("event", "call_recording".into()),
            ("call_id", PROBE_CALL_ID.into()),
            ("recordingurl", "https://example.invalid/probe".into()),
        ];
        let what = "Vtiger gateway secret check";
        let reply = self.post_gateway(what, &params).await?;
        if reply.status == 400 && reply.error_code().as_deref() == Some("RECORD_NOT_FOUND") {
            return Ok("gateway secret accepted".into());
        }
        gateway_result(reply).map_err(|e| e.context(what))?;
        Ok("gateway secret accepted".into())
    }

    async fn users(&self) -> Result<Vec<CrmUser>> {
        let rows: Vec<UserRow> = self
            .query_all(
                "SELECT id, user_name, first_name, last_name, phone_work FROM Users",
                MAX_USER_PAGES,
            )
            .await?;
        Ok(rows.iter().filter_map(user_of).collect())
    }
}

/// A Vtiger user whose Office Phone is an extension (2 to 6 digits).
fn user_of(row: &UserRow) -> Option<CrmUser> {
    let phone = row.phone_work.trim();
    let digits: String = phone.chars().filter(char::is_ascii_digit).collect();
    if !(2..=6).contains(&digits.len()) {
        tracing::debug!(
            crm = "vtiger",
            user = %row.user_name,
            "user skipped: the Office Phone is empty or not an extension"
        );
        return None;
    }
    let name = format!("{} {}", row.first_name.trim(), row.last_name.trim())
        .trim()
        .to_string();
    Some(CrmUser {
        extension: digits,
        user_id: Some(row.id.clone()).filter(|id| !id.is_empty()),
        name: (!name.is_empty()).then_some(name),
        phone: Some(phone.to_string()),
        email: None,
    })
}

#[async_trait::async_trait]
impl CrmProvider for VtigerCrm {
    fn kind(&self) -> &'static str {
        "vtiger"
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities {
            lookup_contact: true,
            open_deals: true,
            live_call_events: true,
            log_at_end: false,
            attach_recording_later: true,
            create_contact: false,
            inbound_click_to_call: true,
        }
    }

    /// `GET /me` checks the REST user and access key; then the gateway secret
    /// is probed (see `probe_gateway`: a `call_recording` for a call id that
    /// does not exist, answered `RECORD_NOT_FOUND` once the secret passed).
    async fn check(&self) -> Result<ConnectionInfo> {
        let me = self.rest_get("me", &[]).await?;
        let user_name = me
            .get("user_name")
            .and_then(|v| v.as_str())
            .map(str::trim)
            .filter(|u| !u.is_empty())
            .unwrap_or(self.settings.username.as_str())
            .to_string();
        let detail = self.probe_gateway().await?;
        Ok(ConnectionInfo {
            account: format!("{user_name} on {}", self.authority),
            detail: Some(detail),
        })
    }

    async fn lookup(&self, variants: &NumberVariants) -> Result<Vec<ContactMatch>> {
        self.lookup_number(variants).await
    }

    async fn deliver(&self, op: &Operation) -> Result<Delivered> {
        self.deliver_op(op).await
    }

    async fn confirm(&self, op: &Operation) -> Result<Confirmation> {
        self.confirm_op(op).await
    }

    async fn discover_users(&self) -> Result<Vec<CrmUser>> {
        self.users().await
    }

    fn search_url(&self, number: &PhoneNumber) -> Option<String> {
        let value = match number {
            PhoneNumber::Anonymous => return None,
            PhoneNumber::E164(e) => e.trim_start_matches('+').to_string(),
            PhoneNumber::Extension(s) | PhoneNumber::Raw(s) => {
                s.chars().filter(char::is_ascii_digit).collect()
            }
        };
        if value.is_empty() {
            return None;
        }
        let mut url = Url::parse(&format!("{}{SEARCH_PATH}", self.base)).ok()?;
        url.query_pairs_mut().append_pair("phone_number", &value);
        Some(url.to_string())
    }
}

#[cfg(test)]
mod tests {
    use ringside_core::ErrorKind;
    use ringside_crm::Limits;

    use super::*;

    fn crm(base: &str) -> Result<VtigerCrm> {
        VtigerCrm::new(
            VtigerSettings::new(base, "admin", "key", "secret"),
            Throttle::new(&Limits::default()),
        )
    }

    #[test]
    fn base_urls_are_validated_and_normalised() {
        assert_eq!(
            crm("https://acme.od2.vtiger.com/").unwrap().base_url(),
            "https://acme.od2.vtiger.com"
        );
        assert_eq!(
            crm("https://acme.od2.vtiger.com/restapi/v1/vtiger/default")
                .unwrap()
                .base_url(),
            "https://acme.od2.vtiger.com"
        );
        for bad in ["ftp://acme", "acme.od2.vtiger.com", "", "https://a/?x=1"] {
            assert_eq!(crm(bad).unwrap_err().kind, ErrorKind::Config, "{bad}");
        }
        let e = VtigerCrm::new(
            VtigerSettings::new("https://a.vtiger.com", " ", "k", "s"),
            Throttle::new(&Limits::default()),
        )
        .unwrap_err();
        assert_eq!(e.kind, ErrorKind::Config);
    }

    #[test]
    fn search_urls() {
        let c = crm("https://acme.od2.vtiger.com").unwrap();
        assert_eq!(
            c.search_url(&PhoneNumber::E164("+34647460197".into()))
                .as_deref(),
            Some(
                "https://acme.od2.vtiger.com/modules/PhoneCalls/callbacks/Search.php?phone_number=34647460197"
            )
        );
        assert_eq!(c.search_url(&PhoneNumber::Anonymous), None);
        assert_eq!(
            c.search_url(&PhoneNumber::Raw("+1 (555) 01".into()))
                .as_deref(),
            Some(
                "https://acme.od2.vtiger.com/modules/PhoneCalls/callbacks/Search.php?phone_number=155501"
            )
        );
    }

    #[test]
    fn users_need_an_extension_like_office_phone() {
        let row = |phone: &str| UserRow {
            id: "19x2".into(),
            user_name: "ana".into(),
            first_name: "Ana".into(),
            last_name: "García".into(),
            phone_work: phone.into(),
        };
        let u = user_of(&row("201")).unwrap();
        assert_eq!(u.extension, "201");
        assert_eq!(u.user_id.as_deref(), Some("19x2"));
        assert_eq!(u.name.as_deref(), Some("Ana García"));
        assert!(user_of(&row("")).is_none());
        assert!(user_of(&row("+34 910 000 201")).is_none());
        assert!(user_of(&row("1")).is_none());
    }
}
