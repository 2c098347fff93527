//! An in-process HTTP emulator of amoCRM (Kommo) for telephony
//! integrations, written from the vendor document of the legacy `calls/add`
//! method (`seeds/amocrm-calls-add.txt`, primary) and the contracts notes
//! (`docs/contracts-notes.md` §4: 4.2 auth, 4.3 `POST /api/v4/calls`, 4.4
//! legacy `calls/add`, 4.5 contacts by phone, 4.6 limits, 4.7 pitfalls, 4.8
//! emulator notes), independent of the rest of Ringside: it speaks only the
//! vendor's wire format.
//!
//! Real amoCRM serves every account on its own host,
//! `https://<subdomain>.amocrm.ru` (Kommo: `<subdomain>.kommo.com`), and the
//! legacy telephony API on `https://sip.amocrm.ru` (`.com` globally). The
//! emulator serves **one** account ([`EmulatorConfig::subdomain`]) and all of
//! those surfaces on one listener at [`AmoEmulator::base_url`]:
//! - **OAuth**: `POST /oauth2/access_token` (`src/oauth.rs`);
//! - **API v4**: `/api/v4/...` (account, users, contacts, leads, pipelines,
//!   companies, calls, notes; `src/api.rs`), behind the per-IP rate limit
//!   (`src/server.rs`);
//! - **legacy** `POST /api/calls/add/` (the `sip.amocrm` host;
//!   `src/legacy.rs`).
//!
//! Every request is recorded ([`AmoEmulator::requests`]); faults can be
//! queued ([`AmoEmulator::inject`]) and the service taken down. Each
//! module's docs tag its rules *vendor doc* (the legacy calls/add text),
//! *notes* (the contracts notes) or *inferred*.
//!
//! The emulator has its own clock ([`AmoEmulator::advance`]) for token
//! expiry, the rate-limit window, the IP block and the 18-hour legacy queue.

mod api;
mod demo;
mod faults;
mod legacy;
mod oauth;
mod server;
mod store;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

pub use demo::{DemoIds, STATUS_FIRST_CONTACT, STATUS_NEGOTIATION};
pub use faults::{Fault, Scope};
pub use legacy::LEGACY_QUEUE_LIFETIME;
pub use oauth::AUTH_CODE_LIFETIME;
pub use store::{
    EMAIL_FIELD_ID, LOST_STATUS, MAIN_PIPELINE_ID, NOTES_FIELD_ID, PHONE_FIELD_ID, WON_STATUS,
    digits, phone_matches,
};

use server::Shared;

/// How the emulated amoCRM account is set up.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EmulatorConfig {
    /// The account's subdomain (`ringside`). Real amo serves the account at
    /// `https://<subdomain>.amocrm.ru`; the emulator serves its one account
    /// at [`AmoEmulator::base_url`] and only reports the subdomain in
    /// `GET /api/v4/account`.
    pub subdomain: String,
    /// The account id (`31415926`).
    pub account_id: u64,
    /// The OAuth integration's client id.
    pub client_id: String,
    /// The OAuth integration's client secret.
    pub client_secret: String,
    /// The integration's registered redirect URI; grants must repeat it.
    pub redirect_uri: String,
    /// A private integration's long-lived token, accepted as a Bearer
    /// token (notes §4.2: Kommo documents long-lived tokens).
    pub long_lived_token: Option<String>,
    /// Access-token lifetime (`expires_in`; 86400 s, notes §4.2 "about 24 h").
    pub access_lifetime: Duration,
    /// API v4 requests allowed per client IP in a rolling one-second window
    /// (7, notes §4.6); more answer 429. 0 disables the limit.
    pub rate_per_second: u32,
    /// After this many consecutive 429s the IP is blocked (20, inferred).
    pub block_after_429s: u32,
    /// How long a blocked IP gets 403 (60 s, inferred).
    pub block_for: Duration,
    /// The legacy `calls/add` service code (`code` query parameter).
    pub legacy_code: String,
    /// The legacy `calls/add` service key (`key` query parameter).
    pub legacy_key: String,
    /// The account currency (`EUR`).
    pub currency: String,
}

impl Default for EmulatorConfig {
    fn default() -> Self {
        EmulatorConfig {
            subdomain: "ringside".to_owned(),
            account_id: 31_415_926,
            client_id: "3f1c2b9e-amo-ringside-client".to_owned(),
            client_secret: "amo-client-secret-0001".to_owned(),
            redirect_uri: "https://ringside.test/oauth/amocrm".to_owned(),
            long_lived_token: Some("amo-long-lived-0001".to_owned()),
            access_lifetime: Duration::from_secs(86_400),
            rate_per_second: 7,
            block_after_429s: 20,
            block_for: Duration::from_secs(60),
            legacy_code: "ringside_pbx".to_owned(),
            legacy_key: "601eb8fab9707d8009dba552f2d411a3".to_owned(),
            currency: "EUR".to_owned(),
        }
    }
}

/// Which part of the emulated amoCRM a request hit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum Surface {
    /// `/oauth2/...`.
    OAuth,
    /// `/api/v4/...`.
    Api,
    /// The legacy `/api/calls/add/`.
    Legacy,
    /// Anything else.
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
    /// The decoded query string, in order (PHP-style keys kept verbatim,
    /// e.g. `filter[id][]`).
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
    /// The client's IP address.
    pub client_ip: String,
    /// The status answered; 0 while the request is still being served.
    pub status: u16,
}

impl RecordedRequest {
    /// The first value of `key`, query string first, then form body.
    pub fn param(&self, key: &str) -> Option<&str> {
        self.query
            .iter()
            .chain(&self.form)
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
}

/// How a call reached the account.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum Via {
    /// `POST /api/v4/calls`.
    V4,
    /// The legacy `POST /api/calls/add/`.
    Legacy,
}

/// One call: applied ([`AmoEmulator::calls`]), queued
/// ([`AmoEmulator::queued_legacy`]) or dropped after 18 h
/// ([`AmoEmulator::dropped_legacy`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CallRecord {
    /// How it arrived.
    pub via: Via,
    /// v4 `uniq`; legacy `uuid`.
    pub uniq: Option<String>,
    /// `inbound` or `outbound` (legacy `type`).
    pub direction: String,
    /// The customer's number (v4 `phone`; legacy `caller` for inbound,
    /// `to` for outbound).
    pub phone: String,
    /// Seconds (legacy `billsec`).
    pub duration: u64,
    /// v4 `source`; legacy: the service `code`.
    pub source: String,
    /// The recording URL.
    pub link: Option<String>,
    /// v4 `call_status` (1..=8); legacy: `None`.
    pub call_status: Option<u8>,
    /// v4 `call_result`.
    pub call_result: Option<String>,
    /// v4 `responsible_user_id`; legacy: `None`.
    pub responsible_user_id: Option<u64>,
    /// v4 `created_at` (or the arrival time); legacy `date`.
    pub created_at: u64,
    /// The `request_id` of a v4 item (its index when not sent); legacy:
    /// `None`.
    pub request_id: Option<String>,
    /// The legacy call's other number (`to` for inbound, `caller` for
    /// outbound: the agent's extension); v4: `None`.
    pub agent_number: Option<String>,
    /// `leads`, `contacts` or `companies`; `None` while queued.
    pub entity_type: Option<String>,
    /// The entity the call note is on; `None` while queued.
    pub entity_id: Option<u64>,
    /// The call note's id; `None` while queued. For v4 this is also the
    /// call's `id` in the answer (amo stores calls as notes, inferred).
    pub note_id: Option<u64>,
}

/// A contact to seed. Phones are kept exactly as typed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NewContact {
    /// The full name.
    pub name: String,
    /// PHONE values: `(value, enum_code)`, `enum_code` `WORK`, `MOBILE`, ….
    pub phones: Vec<(String, String)>,
    /// EMAIL (enum `WORK`).
    pub email: Option<String>,
    /// The company the contact belongs to.
    pub company_id: Option<u64>,
    /// The responsible user.
    pub responsible_user_id: Option<u64>,
    /// A free-text custom field ("Notas", [`NOTES_FIELD_ID`]), searched by
    /// `query` like every other field.
    pub notes_text: Option<String>,
}

/// A lead (deal) to seed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NewLead {
    /// The lead's name.
    pub name: String,
    /// The budget, in the account currency.
    pub price: u64,
    /// The status; [`WON_STATUS`] 142 and [`LOST_STATUS`] 143 are closed.
    pub status_id: u32,
    /// The pipeline; the main one ([`MAIN_PIPELINE_ID`]) when `None`.
    pub pipeline_id: Option<u32>,
    /// The linked contacts.
    pub contact_ids: Vec<u64>,
}

/// A running emulator. Clones share it; the server stops when the last
/// clone is dropped.
#[derive(Debug, Clone)]
pub struct AmoEmulator {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    shared: Arc<Shared>,
    addr: SocketAddr,
    server: JoinHandle<()>,
}

impl Drop for Inner {
    fn drop(&mut self) {
        self.server.abort();
    }
}

impl AmoEmulator {
    /// Binds 127.0.0.1 on a free port and serves on a tokio task. The
    /// account starts with no users, contacts or leads, and one main
    /// pipeline, "Ventas" ([`MAIN_PIPELINE_ID`]).
    pub async fn start(config: EmulatorConfig) -> std::io::Result<AmoEmulator> {
        let listener = TcpListener::bind(("127.0.0.1", 0)).await?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(Shared::new(config, format!("http://{addr}")));
        let app = server::app(Arc::clone(&shared));
        let server = tokio::spawn(async move {
            let service = app.into_make_service_with_connect_info::<SocketAddr>();
            if let Err(error) = axum::serve(listener, service).await {
                tracing::warn!(%error, "amoCRM emulator server failed");
            }
        });
        Ok(AmoEmulator {
            inner: Arc::new(Inner {
                shared,
                addr,
                server,
            }),
        })
    }

    fn with_state<T>(&self, f: impl FnOnce(&mut server::State) -> T) -> T {
        self.inner.shared.with_state(f)
    }

    /// `http://127.0.0.1:PORT`: the account's host (`<sub>.amocrm.ru`), the
    /// OAuth server and the legacy `sip.amocrm` host at once.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.inner.addr)
    }

    /// The configuration.
    pub fn config(&self) -> EmulatorConfig {
        self.with_state(|s| s.config.clone())
    }

    // ----- OAuth -----

    /// An authorization code as if the user had installed and authorised
    /// the integration (redirected to `redirect_uri?code=…`); single use,
    /// valid [`AUTH_CODE_LIFETIME`] of the emulator clock.
    pub fn issue_auth_code(&self) -> String {
        self.with_state(|s| {
            let now = s.now();
            s.oauth.issue_code(now)
        })
    }

    /// A valid (unused) refresh token.
    pub fn add_refresh_token(&self) -> String {
        self.with_state(|s| s.oauth.add_refresh_token())
    }

    /// Every access token issued so far becomes expired now (refresh
    /// tokens and the long-lived token stay valid).
    pub fn expire_access_tokens(&self) {
        self.with_state(|s| s.oauth.expire_access_tokens());
    }

    /// Revokes everything, as if the integration were uninstalled: access
    /// tokens, refresh tokens, unused codes and the long-lived token.
    pub fn revoke_all_tokens(&self) {
        self.with_state(|s| s.oauth.revoke_all());
    }

    /// Moves the emulator's clock forward (token expiry, the rate-limit
    /// window, the IP block, the legacy queue's 18 hours).
    pub fn advance(&self, by: Duration) {
        self.with_state(|s| s.clock_offset += by);
    }

    /// `refresh_token` grants served successfully.
    pub fn refreshes(&self) -> usize {
        self.with_state(|s| s.oauth.refreshes)
    }

    // ----- CRM data -----

    /// Adds a user; returns its id.
    pub fn add_user(&self, name: &str, email: &str) -> u64 {
        self.with_state(|s| s.store.add_user(name, email))
    }

    /// Adds a company; returns its id.
    pub fn add_company(&self, name: &str) -> u64 {
        self.with_state(|s| {
            let now = s.now();
            s.store.add_company(name, now)
        })
    }

    /// Adds a contact; returns its id. Queued legacy calls to one of its
    /// phones are attached to it now.
    pub fn add_contact(&self, c: NewContact) -> u64 {
        self.with_state(|s| {
            let now = s.now();
            s.store.add_contact(c, now)
        })
    }

    /// Adds a lead; returns its id. A lead in status 142/143 gets
    /// `closed_at`.
    pub fn add_lead(&self, l: NewLead) -> u64 {
        self.with_state(|s| {
            let now = s.now();
            s.store.add_lead(l, now)
        })
    }

    /// Seeds the demo data (call once, on a fresh emulator) and returns the
    /// ids.
    pub fn seed_demo(&self) -> DemoIds {
        demo::seed(self)
    }

    // ----- observation -----

    /// Every request in arrival order, rejected and faulted ones included.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.with_state(|s| s.requests.clone())
    }

    /// Every applied call (v4 or legacy, a queued legacy call when it gets
    /// attached), in order.
    pub fn calls(&self) -> Vec<CallRecord> {
        self.with_state(|s| s.store.calls.clone())
    }

    /// Legacy calls waiting for a contact with a matching phone.
    pub fn queued_legacy(&self) -> Vec<CallRecord> {
        self.with_state(|s| s.store.queued.iter().map(|q| q.record.clone()).collect())
    }

    /// Legacy calls deleted because no contact appeared within 18 hours.
    pub fn dropped_legacy(&self) -> Vec<CallRecord> {
        self.with_state(|s| s.store.dropped.clone())
    }

    /// Waits until at least `n` calls were applied; false on timeout.
    pub async fn wait_for_calls(&self, n: usize, timeout: Duration) -> bool {
        let mut calls = self.inner.shared.calls.subscribe();
        tokio::time::timeout(timeout, calls.wait_for(|count| *count >= n))
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

    /// An outage: while down, every request gets 503 with a problem JSON
    /// body (the connection itself works).
    pub fn set_down(&self, down: bool) {
        self.with_state(|s| s.down = down);
    }
}
