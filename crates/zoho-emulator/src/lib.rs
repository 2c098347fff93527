//! An in-process HTTP emulator of Zoho CRM for telephony integrations,
//! written from the vendor document (`seeds/zoho-phonebridge-api.txt`, the
//! PhoneBridge v2 API, primary) and the contracts notes
//! (`docs/contracts-notes.md` §3: 3.2 OAuth, 3.3 v2 endpoints, 3.7
//! pitfalls, 3.8 emulator notes), independent of the rest of Ringside: it
//! speaks only the vendor's wire format.
//!
//! Two surfaces on one listener:
//! - the **accounts server** at [`ZohoEmulator::accounts_url`] (`/oauth/v2/auth`,
//!   `/oauth/v2/token`, `/oauth/v2/token/revoke`; rules in `src/oauth.rs`);
//! - **PhoneBridge v2** under the data centre's API domain
//!   ([`ZohoEmulator::api_domain`], `{base}/{dc}`), at
//!   `{api_domain}/crm/v2/phonebridge/<endpoint>` (rules in
//!   `src/phonebridge.rs`). The unprefixed `{base}/crm/v2/phonebridge/...`
//!   stands for the US default host `www.zohoapis.com` and answers 401
//!   `INVALID_TOKEN` to this DC's tokens, as real multi-DC Zoho does
//!   (contracts notes §3.7), so a client that ignores `api_domain` fails.
//!
//! Plus Zoho's requests to *our* endpoints: [`ZohoEmulator::click_to_call`]
//! and [`ZohoEmulator::call_control`] (`src/outgoing.rs`), and stand-in
//! record pages at `{base}/crm/tab/<Module>/<id>` for the `Url` fields.
//! Every request is recorded ([`ZohoEmulator::requests`]); faults can be
//! queued ([`ZohoEmulator::inject`]) and the service taken down. Each
//! module's docs say which rules come from the vendor document, which from
//! the contracts notes and which are inferred.
//!
//! The emulator has its own clock ([`ZohoEmulator::advance`]) for token
//! expiry, the mint window, grant codes and the future-time check.

mod demo;
mod faults;
mod oauth;
mod outgoing;
mod phonebridge;
mod server;
mod store;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

pub use demo::DemoIds;
pub use faults::{Fault, Scope};
pub use oauth::GRANT_CODE_LIFETIME;
pub use outgoing::CALL_CONTROL_ACTIONS;
pub use phonebridge::{
    AGENT_STATUSES, CALL_EVENTS, CUSTOMER_STATUSES, FUTURE_TOLERANCE_SECS, PHONEBRIDGE_PATH,
};
pub use store::{CallLog, Transfer, digits, phone_matches, stage_probability};

use server::Shared;
use store::{Person, Potential, User};

/// The default OAuth client id.
pub const DEFAULT_CLIENT_ID: &str = "1000.RINGSIDETESTCLIENT";
/// The default OAuth client secret.
pub const DEFAULT_CLIENT_SECRET: &str = "zoho-client-secret-0001";
/// The default PBX vendor name (it appears in PhoneBridge messages).
pub const DEFAULT_PBX_NAME: &str = "Ringside";
/// The default data centre.
pub const DEFAULT_DATA_CENTRE: &str = "eu";

/// How the emulated Zoho is set up.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EmulatorConfig {
    /// The registered OAuth client's id.
    pub client_id: String,
    /// The registered OAuth client's secret.
    pub client_secret: String,
    /// The PBX vendor name, as in `"Ringside Integration is successful"`.
    pub pbx_name: String,
    /// Whether the PBX vendor is registered with Zoho; when false every
    /// PhoneBridge endpoint answers 400 `PBX_NOT_REGISTERED` (vendor doc).
    pub registered: bool,
    /// Access-token lifetime (`expires_in`; 3600 s, contracts notes §3.2).
    pub token_lifetime: Duration,
    /// Access tokens one refresh token may mint per `mint_window` (10,
    /// contracts notes §3.2).
    pub mint_limit: u32,
    /// The mint window (600 s, contracts notes §3.2).
    pub mint_window: Duration,
    /// The data centre: `api_domain` is `{base}/{data_centre}` and
    /// PhoneBridge answers this DC's tokens only there.
    pub data_centre: String,
}

impl Default for EmulatorConfig {
    fn default() -> Self {
        EmulatorConfig {
            client_id: DEFAULT_CLIENT_ID.to_owned(),
            client_secret: DEFAULT_CLIENT_SECRET.to_owned(),
            pbx_name: DEFAULT_PBX_NAME.to_owned(),
            registered: true,
            token_lifetime: Duration::from_secs(3600),
            mint_limit: 10,
            mint_window: Duration::from_secs(600),
            data_centre: DEFAULT_DATA_CENTRE.to_owned(),
        }
    }
}

/// Which part of the emulated Zoho a request hit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum Surface {
    /// The accounts server, `/oauth/...`.
    Accounts,
    /// PhoneBridge, `[/{dc}]/crm/v2/phonebridge/...`.
    PhoneBridge,
    /// Anything else (record pages, unknown paths).
    Other,
}

/// One request as it arrived, with the status it was answered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RecordedRequest {
    /// The surface hit.
    pub surface: Surface,
    /// `GET`, `POST`, …
    pub method: String,
    /// The path, without the query string.
    pub path: String,
    /// The decoded query string, in order.
    pub query: Vec<(String, String)>,
    /// The decoded form body (empty unless the content type is
    /// `application/x-www-form-urlencoded`).
    pub form: Vec<(String, String)>,
    /// The raw body (lossy UTF-8).
    pub body: String,
    /// The `Content-Type` header.
    pub content_type: Option<String>,
    /// The `Authorization` header.
    pub authorization: Option<String>,
    /// The status answered; 0 while the request is still being served.
    pub status: u16,
}

impl RecordedRequest {
    /// Whether `Authorization` was sent.
    pub fn has_authorization(&self) -> bool {
        self.authorization.is_some()
    }

    /// The first value of `key`, query string first, then form body.
    pub fn param(&self, key: &str) -> Option<&str> {
        self.query
            .iter()
            .chain(&self.form)
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// The PhoneBridge endpoint (`callreceived`, …), if this was a
    /// PhoneBridge request.
    pub fn endpoint(&self) -> Option<&str> {
        phonebridge::split_path(&self.path).map(|(_, e)| e)
    }
}

/// One applied (not duplicate, not refused) call event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CallEvent {
    /// `callreceived`, `callanswered`, `callhungup`, `callmissed`,
    /// `calldialed` or `voiceurl`.
    pub endpoint: String,
    /// The `callrefid` sent.
    pub callrefid: String,
    /// Every parameter, decoded (query string first, then form body).
    pub params: BTreeMap<String, String>,
    /// The `userid` sent, if any.
    pub user: Option<String>,
}

/// The `clicktocallandcallcontrol` registration: where Zoho sends
/// click-to-call and call-control requests.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Registration {
    /// `clicktocallurl` (always present once registered).
    pub clicktocallurl: Option<String>,
    /// `answerurl`.
    pub answerurl: Option<String>,
    /// `hungupurl`.
    pub hungupurl: Option<String>,
    /// `muteurl`.
    pub muteurl: Option<String>,
    /// `unmuteurl`.
    pub unmuteurl: Option<String>,
    /// `holdurl`.
    pub holdurl: Option<String>,
    /// `unholdurl`.
    pub unholdurl: Option<String>,
    /// `keypressurl`.
    pub keypressurl: Option<String>,
    /// `authorizationparam`: `(name, value)`.
    pub authorization: Option<(String, String)>,
    /// `clicktocallparam`, in order.
    pub clicktocallparams: Vec<(String, String)>,
    /// `callcontrolparam`, in order.
    pub callcontrolparams: Vec<(String, String)>,
    /// `userid`, split on commas; empty when none was sent.
    pub userids: Vec<String>,
}

/// A CRM user.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NewUser {
    /// Full name (`username` in `users`).
    pub name: String,
    /// E-mail.
    pub email: String,
}

/// A contact to seed (module `Contacts`). Phones are kept exactly as typed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NewContact {
    /// First name.
    pub first_name: String,
    /// Last name.
    pub last_name: String,
    /// Phone.
    pub phone: Option<String>,
    /// Mobile.
    pub mobile: Option<String>,
    /// E-mail.
    pub email: Option<String>,
    /// The account (company) name; the Account is created if missing.
    pub account: Option<String>,
    /// Department.
    pub department: Option<String>,
}

/// A lead to seed (module `Leads`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NewLead {
    /// First name.
    pub first_name: String,
    /// Last name.
    pub last_name: String,
    /// Company.
    pub company: String,
    /// Phone.
    pub phone: Option<String>,
    /// Mobile.
    pub mobile: Option<String>,
    /// E-mail.
    pub email: Option<String>,
}

/// A deal to seed (module `Potentials`), linked to a contact.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NewPotential {
    /// The contact's id.
    pub contact_id: String,
    /// The deal's name.
    pub name: String,
    /// `Qualification`, `Needs Analysis`, `Negotiation/Review`, `Closed
    /// Won`, `Closed Lost`, …
    pub stage: String,
    /// E.g. `18500.00`.
    pub expected_revenue: Option<String>,
    /// `yyyy-MM-dd`.
    pub closing_date: Option<String>,
    /// The owner's name; the first user's when `None`.
    pub owner: Option<String>,
    /// E.g. `90`; the stage's default probability when `None`
    /// ([`stage_probability`]).
    pub probability: Option<String>,
}

/// A running emulator. Clones share it; the server stops when the last
/// clone is dropped.
#[derive(Debug, Clone)]
pub struct ZohoEmulator {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    shared: Arc<Shared>,
    addr: SocketAddr,
    server: JoinHandle<()>,
    client: reqwest::Client,
}

impl Drop for Inner {
    fn drop(&mut self) {
        self.server.abort();
    }
}

impl ZohoEmulator {
    /// Binds 127.0.0.1 on a free port and serves on a tokio task. It starts
    /// with no users, no data and the integration **not** enabled.
    pub async fn start(config: EmulatorConfig) -> std::io::Result<ZohoEmulator> {
        let listener = TcpListener::bind(("127.0.0.1", 0)).await?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(Shared::new(config, format!("http://{addr}")));
        let app = server::app(Arc::clone(&shared));
        let server = tokio::spawn(async move {
            if let Err(error) = axum::serve(listener, app).await {
                tracing::warn!(%error, "zoho emulator server failed");
            }
        });
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .build()
            .map_err(std::io::Error::other)?;
        Ok(ZohoEmulator {
            inner: Arc::new(Inner {
                shared,
                addr,
                server,
                client,
            }),
        })
    }

    fn with_state<T>(&self, f: impl FnOnce(&mut server::State) -> T) -> T {
        f(&mut self.inner.shared.lock())
    }

    /// `http://127.0.0.1:PORT`; also the accounts server.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.inner.addr)
    }

    /// The accounts server (`accounts-server` on the consent redirect):
    /// the same as [`ZohoEmulator::base_url`].
    pub fn accounts_url(&self) -> String {
        self.base_url()
    }

    /// `base_url/data_centre`: the `api_domain` of the token answers.
    pub fn api_domain(&self) -> String {
        self.with_state(|s| s.api_domain())
    }

    /// The configuration as it stands (including `registered` as set).
    pub fn config(&self) -> EmulatorConfig {
        self.with_state(|s| s.config.clone())
    }

    // ----- OAuth -----

    /// A refresh token as if a user had authorised the client offline.
    pub fn add_refresh_token(&self) -> String {
        self.with_state(|s| s.oauth.add_refresh_token())
    }

    /// A grant code as if the user had consented (with
    /// `access_type=offline`) for `redirect_uri`; valid 60 s of the
    /// emulator clock, single use.
    pub fn issue_grant_code(&self, redirect_uri: &str) -> String {
        self.with_state(|s| {
            let now = s.now();
            s.oauth.issue_grant_code(redirect_uri, true, now)
        })
    }

    /// Revokes a refresh token (and the access tokens minted from it), as
    /// if the user removed the connection.
    pub fn revoke_refresh_token(&self, token: &str) {
        self.with_state(|s| s.oauth.revoke(token));
    }

    /// Every access token issued so far becomes invalid now.
    pub fn expire_access_tokens(&self) {
        self.with_state(|s| s.oauth.expire_access_tokens());
    }

    /// Moves the emulator's clock forward (token expiry, the mint window,
    /// grant-code lifetime, the future-time check).
    pub fn advance(&self, by: Duration) {
        self.with_state(|s| s.clock_offset += by);
    }

    /// Access tokens minted so far, over every grant.
    pub fn mints(&self) -> usize {
        self.with_state(|s| s.oauth.mints())
    }

    /// Access tokens minted from `refresh_token` (its code exchange
    /// included).
    pub fn mints_for(&self, refresh_token: &str) -> usize {
        self.with_state(|s| s.oauth.mints_for(refresh_token))
    }

    // ----- directory and CRM data -----

    /// Adds a CRM user; returns its id (`4150868000000225013`-like).
    pub fn add_user(&self, u: NewUser) -> String {
        self.with_state(|s| {
            let id = s.store.next_id();
            s.store.users.push(User {
                id: id.clone(),
                name: u.name,
                email: u.email,
            });
            id
        })
    }

    /// Adds an Account (or returns the existing one of that name, setting
    /// its phone when given). Accounts match `callerdetails` by phone.
    pub fn add_account(&self, name: &str, phone: Option<&str>) -> String {
        self.with_state(|s| {
            let id = s.store.account_named(name);
            if let (Some(phone), Some(a)) =
                (phone, s.store.accounts.iter_mut().find(|a| a.id == id))
            {
                a.phone = Some(phone.to_owned());
            }
            id
        })
    }

    /// Adds a contact (module `Contacts`); its account is created by name
    /// if missing.
    pub fn add_contact(&self, c: NewContact) -> String {
        self.with_state(|s| {
            if let Some(account) = &c.account {
                s.store.account_named(account);
            }
            let id = s.store.next_id();
            s.store.contacts.push(Person {
                id: id.clone(),
                first_name: c.first_name,
                last_name: c.last_name,
                phone: c.phone,
                mobile: c.mobile,
                email: c.email,
                company: c.account,
                department: c.department,
            });
            id
        })
    }

    /// Adds a lead (module `Leads`).
    pub fn add_lead(&self, l: NewLead) -> String {
        self.with_state(|s| {
            let id = s.store.next_id();
            s.store.leads.push(Person {
                id: id.clone(),
                first_name: l.first_name,
                last_name: l.last_name,
                phone: l.phone,
                mobile: l.mobile,
                email: l.email,
                company: Some(l.company).filter(|c| !c.is_empty()),
                department: None,
            });
            id
        })
    }

    /// Adds a deal (module `Potentials`) to a contact.
    pub fn add_potential(&self, p: NewPotential) -> String {
        self.with_state(|s| {
            let id = s.store.next_id();
            let owner = p.owner.or_else(|| s.store.default_owner());
            let probability = p
                .probability
                .or_else(|| stage_probability(&p.stage).map(|n| n.to_string()));
            s.store.potentials.push(Potential {
                id: id.clone(),
                contact_id: p.contact_id,
                name: p.name,
                stage: p.stage,
                expected_revenue: p.expected_revenue,
                closing_date: p.closing_date,
                owner,
                probability,
            });
            id
        })
    }

    /// Seeds the demo data (call once, on a fresh emulator) and returns the
    /// ids. It does not enable the integration.
    pub fn seed_demo(&self) -> DemoIds {
        demo::seed(self)
    }

    // ----- integration state -----

    /// Enables or disables the integration as `integrate` POST/DELETE
    /// would (disabling drops the click-to-call registration).
    pub fn set_integrated(&self, on: bool) {
        self.with_state(|s| {
            s.integration.enabled = on;
            if !on {
                s.integration.registration = None;
            }
        });
    }

    /// Whether the integration is enabled.
    pub fn integrated(&self) -> bool {
        self.with_state(|s| s.integration.enabled)
    }

    /// Whether a different PBX is integrated with the account (`integrate`
    /// then answers 403 `DIFFERENT_PBX_ALREADY_ENABLED`).
    pub fn set_other_pbx(&self, on: bool) {
        self.with_state(|s| s.integration.other_pbx = on);
    }

    /// Whether the account's licence includes PhoneBridge (when false every
    /// PhoneBridge endpoint answers 403 `NO_PERMISSION`).
    pub fn set_license_ok(&self, ok: bool) {
        self.with_state(|s| s.integration.no_license = !ok);
    }

    /// Whether the PBX vendor is registered (`PBX_NOT_REGISTERED` when not).
    pub fn set_registered(&self, registered: bool) {
        self.with_state(|s| s.config.registered = registered);
    }

    /// The `clicktocallandcallcontrol` registration, if enabled.
    pub fn click_to_call_registration(&self) -> Option<Registration> {
        self.with_state(|s| s.integration.registration.clone())
    }

    // ----- observation -----

    /// Every request in arrival order, rejected and faulted ones included.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.with_state(|s| s.requests.clone())
    }

    /// Every applied call event, in order (duplicates and refused events
    /// are not here; `requests()` has them).
    pub fn events(&self) -> Vec<CallEvent> {
        self.with_state(|s| s.events.clone())
    }

    /// The calls, in order of their first event.
    pub fn calls(&self) -> Vec<CallLog> {
        self.with_state(|s| s.store.calls.clone())
    }

    /// The call `callrefid` names (its own id or a transfer leg's).
    pub fn call(&self, callrefid: &str) -> Option<CallLog> {
        self.with_state(|s| s.store.call_mut(callrefid).map(|c| c.clone()))
    }

    /// Waits until at least `n` call events were applied; false on timeout.
    pub async fn wait_for_events(&self, n: usize, timeout: Duration) -> bool {
        let mut events = self.inner.shared.events.subscribe();
        tokio::time::timeout(timeout, events.wait_for(|count| *count >= n))
            .await
            .is_ok_and(|r| r.is_ok())
    }

    /// Queues a fault.
    pub fn inject(&self, fault: Fault) {
        self.with_state(|s| s.faults.push(fault));
    }

    /// Forgets every queued fault.
    pub fn clear_faults(&self) {
        self.with_state(|s| s.faults.clear());
    }

    /// An outage: while down, every request gets 503 with a JSON error body
    /// (the connection itself works).
    pub fn set_down(&self, down: bool) {
        self.with_state(|s| s.down = down);
    }

    // ----- Zoho -> telephony -----

    /// Click-to-call: POSTs to the registered `clicktocallurl` as Zoho does
    /// when user `userid` clicks `number`: form `tonumber`=number,
    /// `userid`, `fromnumber`="" and the `clicktocallparam` pairs, with the
    /// `authorizationparam` as a header and a form parameter. Returns our
    /// endpoint's status and body. Fails if nothing is registered, the
    /// user is unknown or not among the registered `userid`s (when some
    /// were given), or the request cannot be sent.
    pub async fn click_to_call(&self, userid: &str, number: &str) -> Result<(u16, String), String> {
        let (registration, url) = self.registration_for(userid, |r| r.clicktocallurl.clone())?;
        let mut form = vec![
            ("tonumber".to_owned(), number.to_owned()),
            ("userid".to_owned(), userid.to_owned()),
            ("fromnumber".to_owned(), String::new()),
        ];
        form.extend(registration.clicktocallparams.iter().cloned());
        outgoing::post(&self.inner.client, &url, &registration, form).await
    }

    /// Call control: `action` is one of [`CALL_CONTROL_ACTIONS`]
    /// (`answer`, `hungup`, `mute`, `unmute`, `hold`, `unhold`,
    /// `keypress`); POSTs form `callrefid`, `userid` and the
    /// `callcontrolparam` pairs to that action's registered URL, with the
    /// authorization as for click-to-call. Fails if the action is unknown,
    /// its URL was not registered, or the user is not allowed.
    pub async fn call_control(
        &self,
        action: &str,
        callrefid: &str,
        userid: &str,
    ) -> Result<(u16, String), String> {
        if !CALL_CONTROL_ACTIONS.contains(&action) {
            return Err(format!("unknown call-control action: {action}"));
        }
        let (registration, url) = self.registration_for(userid, |r| {
            outgoing::control_url(r, action).map(str::to_owned)
        })?;
        let mut form = vec![
            ("callrefid".to_owned(), callrefid.to_owned()),
            ("userid".to_owned(), userid.to_owned()),
        ];
        form.extend(registration.callcontrolparams.iter().cloned());
        outgoing::post(&self.inner.client, &url, &registration, form).await
    }

    fn registration_for(
        &self,
        userid: &str,
        url: impl FnOnce(&Registration) -> Option<String>,
    ) -> Result<(Registration, String), String> {
        self.with_state(|s| {
            let registration = s
                .integration
                .registration
                .clone()
                .ok_or_else(|| "clicktocallandcallcontrol is not registered".to_owned())?;
            if s.store.user(userid).is_none() {
                return Err(format!("no such user: {userid}"));
            }
            if !registration.userids.is_empty() && !registration.userids.iter().any(|u| u == userid)
            {
                return Err(format!("user {userid} is not enabled for click-to-call"));
            }
            let url = url(&registration).ok_or_else(|| "that URL was not registered".to_owned())?;
            Ok((registration, url))
        })
    }
}
