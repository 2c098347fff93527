//! An in-process HTTP emulator of one Bitrix24 portal's REST API for
//! telephony integrations, written from the vendor document of
//! `telephony.externalcall.register` (`seeds/bitrix24-externalcall-register.txt`,
//! primary) and the contracts notes (`docs/contracts-notes.md` §5: 5.2 auth
//! and URL forms, 5.3 envelope, 5.4 limits, 5.5 telephony methods, 5.6
//! events, 5.7 contact + deals by phone, 5.8 pitfalls, 5.9 emulator notes),
//! independent of the rest of Ringside: it speaks only the vendor's wire
//! format.
//!
//! Real Bitrix24 serves each portal on its own host
//! (`https://<portal>.bitrix24.<tld>`) and the OAuth token server on
//! `https://oauth.bitrix.info`. The emulator serves **one** portal and the
//! token server on one listener at [`BitrixEmulator::base_url`]:
//! - **inbound webhook**: `{base}/rest/<user>/<code>/<method>[.json]`
//!   ([`BitrixEmulator::webhook_url`]);
//! - **local application (OAuth)**: `{base}/rest/<method>[.json]` with
//!   `auth=<access_token>` in the query string or the body; tokens from
//!   `{base}/oauth/token/` (`src/oauth.rs`);
//! - the methods (`src/api.rs`): `telephony.externalcall.register`,
//!   `.show`, `.hide`, `.finish`, `.attachRecord`, `user.get`, `profile`,
//!   `app.info`, `crm.duplicate.findbycomm`, `crm.contact.get`,
//!   `crm.company.get`, `crm.lead.get`, `crm.deal.list`;
//! - the **ONEXTERNALCALLSTART** event, sent on demand by
//!   [`BitrixEmulator::start_call_from_crm`] (`src/event.rs`).
//!
//! Every request is recorded ([`BitrixEmulator::requests`]), every applied
//! method call too ([`BitrixEmulator::method_calls`]); faults can be queued
//! ([`BitrixEmulator::inject`]) and the portal taken down. Each module's docs
//! tag its rules *vendor doc* (the register text), *notes* (the contracts
//! notes, with their own official/3P tags) or *inferred*.
//!
//! The emulator has its own clock ([`BitrixEmulator::advance`]): token
//! expiry, the leaky bucket, the 30-minute CALL_ID reuse window.

mod api;
mod demo;
mod event;
mod faults;
mod oauth;
mod params;
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
pub use faults::Fault;
pub use oauth::ACCESS_LIFETIME;
pub use store::{CALL_ID_REUSE_WINDOW, STATUS_CODES, digits, phone_matches};

use server::Shared;

/// How the emulated portal is set up.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EmulatorConfig {
    /// The inbound webhook's user (`1`, the portal owner, who always exists).
    pub webhook_user_id: u32,
    /// The inbound webhook's secret code (`wh0001code`).
    pub webhook_code: String,
    /// Whether `telephony.*` methods may be called through the webhook.
    /// `false` (default, notes §5.5/§5.8: "app context only"): they answer
    /// 401 `WRONG_AUTH_TYPE`. `true`: older portals that allow it (asterlink's
    /// setup, notes §5.8).
    pub webhook_telephony: bool,
    /// The local application's `client_id`.
    pub client_id: String,
    /// The local application's `client_secret`.
    pub client_secret: String,
    /// The application token sent in events as `auth[application_token]`.
    pub application_token: String,
    /// The leaky bucket's drain rate, requests per second (2.0; Enterprise 5.0).
    pub bucket_rate: f64,
    /// The leaky bucket's capacity (50; Enterprise 250). 0 disables the limit.
    pub bucket_burst: u32,
}

impl Default for EmulatorConfig {
    fn default() -> Self {
        EmulatorConfig {
            webhook_user_id: 1,
            webhook_code: "wh0001code".to_owned(),
            webhook_telephony: false,
            client_id: "local.65f1c2b9e0a1b2.12345678".to_owned(),
            client_secret: "b24ClientSecret0001ringside".to_owned(),
            application_token: "51610fefc120af04b628cc82d6298cce".to_owned(),
            bucket_rate: 2.0,
            bucket_burst: 50,
        }
    }
}

/// How a REST call was authenticated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum AuthKind {
    /// `/rest/<user>/<code>/<method>`.
    Webhook,
    /// `/rest/<method>?auth=<access_token>`.
    OAuth,
}

/// One request as it arrived, with the answer's status and error code.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RecordedRequest {
    /// `GET`, `POST`, …
    pub method: String,
    /// The path, without the query string.
    pub path: String,
    /// The decoded query string, in order (PHP-style keys verbatim).
    pub query: Vec<(String, String)>,
    /// The raw body (lossy UTF-8).
    pub body: String,
    /// The `Content-Type` header.
    pub content_type: Option<String>,
    /// The REST method named by the path (lower-cased, `.json` removed);
    /// `None` for the token endpoint and unknown paths.
    pub rest_method: Option<String>,
    /// How the request authenticated, when it did.
    pub auth: Option<AuthKind>,
    /// The status answered; 0 while the request is still being served.
    pub status: u16,
    /// The `error` code of an error answer.
    pub error: Option<String>,
}

/// One applied (successfully answered) REST method call.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MethodCall {
    /// The method, lower-cased (Bitrix method names are case-insensitive:
    /// `telephony.externalCall.register` is recorded as
    /// `telephony.externalcall.register`).
    pub method: String,
    /// The parameters (query string and body merged, `auth` removed),
    /// flattened to PHP-style keys whatever the body format was:
    /// `FIELDS[PHONE][0][VALUE]`, `VALUES[0]`, `filter[CONTACT_ID]`.
    pub params: BTreeMap<String, String>,
    /// How it authenticated.
    pub auth: AuthKind,
}

/// How a call was finished (`telephony.externalcall.finish`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finish {
    /// The user who finished it.
    pub user_id: u32,
    /// `DURATION`, seconds.
    pub duration: u64,
    /// `STATUS_CODE` (defaulted: 200 when `DURATION > 0`, else 304).
    pub status_code: String,
    /// `COST`, as sent.
    pub cost: Option<String>,
    /// `COST_CURRENCY`.
    pub cost_currency: Option<String>,
    /// `VOTE` (1–5).
    pub vote: Option<u8>,
    /// `ADD_TO_CHAT` (default true).
    pub add_to_chat: bool,
    /// `FAILED_REASON`.
    pub failed_reason: Option<String>,
    /// `RECORD_URL` (deprecated in favour of attachRecord).
    pub record_url: Option<String>,
    /// The CRM activity created (when the call is bound to an entity).
    pub activity_id: Option<u32>,
}

/// One registered call (one `CALL_ID`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ExternalCall {
    /// `externalCall.<32 hex>.<unix ts>`.
    pub call_id: String,
    /// `EXTERNAL_CALL_ID`.
    pub external_call_id: Option<String>,
    /// The user the call belongs to (from `USER_ID` or `USER_PHONE_INNER`).
    pub user_id: u32,
    /// `PHONE_NUMBER`, as sent.
    pub phone_number: String,
    /// `TYPE`: 1 outbound, 2 inbound, 3 inbound with redirect, 4 callback,
    /// 5 informational.
    pub call_type: u8,
    /// `CALL_START_DATE` as sent (the emulator's now, `…+00:00`, when absent).
    pub start_date: String,
    /// `CRM_CREATE`.
    pub crm_create: bool,
    /// `SHOW` (default true).
    pub show: bool,
    /// `CRM_SOURCE`.
    pub crm_source: Option<String>,
    /// `LINE_NUMBER`.
    pub line_number: Option<String>,
    /// The CRM binding: `CONTACT`, `COMPANY` or `LEAD`.
    pub crm_entity_type: Option<String>,
    /// The bound entity's id.
    pub crm_entity_id: Option<u32>,
    /// Users the call card was shown to, in order (register with SHOW=1,
    /// `telephony.externalcall.show`).
    pub shown_to: Vec<u32>,
    /// Users the call card was hidden from, in order
    /// (`telephony.externalcall.hide`).
    pub hidden_from: Vec<u32>,
    /// Set by `finish`.
    pub finished: Option<Finish>,
    /// Attached records: `(filename, url)`.
    pub records: Vec<(String, String)>,
    /// The lead created because of `CRM_CREATE=1`.
    pub created_lead: Option<u32>,
    /// How many `register` calls answered this CALL_ID (1 + reuses).
    pub registrations: u32,
    /// Registered by a click in the CRM ([`BitrixEmulator::start_call_from_crm`]).
    pub from_crm_click: bool,
    /// Emulator-clock Unix seconds of the first registration.
    pub registered_at: u64,
}

/// A contact to seed. Phones are kept exactly as typed (VALUE_TYPE `WORK`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NewContact {
    /// `NAME`.
    pub name: String,
    /// `LAST_NAME`.
    pub last_name: String,
    /// The PHONE values, as typed.
    pub phones: Vec<String>,
    /// The company's title; a company with that title is created (or reused).
    pub company_title: Option<String>,
}

/// A deal to seed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NewDeal {
    /// `TITLE`.
    pub title: String,
    /// The primary contact (`CONTACT_ID`).
    pub contact_id: u32,
    /// `STAGE_ID`: `NEW`, `PREPARATION`, `WON`, `LOSE`, ….
    pub stage_id: String,
    /// `OPPORTUNITY`, as Bitrix prints it: `"18500.00"`.
    pub opportunity: String,
    /// `CURRENCY_ID`: `EUR`.
    pub currency_id: String,
    /// `CLOSED` (`Y`/`N`).
    pub closed: bool,
    /// `CLOSEDATE`, `yyyy-mm-dd`.
    pub close_date: Option<String>,
}

/// A running emulator. Clones share it; the server stops when the last
/// clone is dropped.
#[derive(Debug, Clone)]
pub struct BitrixEmulator {
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

impl BitrixEmulator {
    /// Binds 127.0.0.1 on a free port and serves on a tokio task. The portal
    /// starts with one user, the owner ("Admin Portal", id 1), and no CRM
    /// data.
    pub async fn start(config: EmulatorConfig) -> std::io::Result<BitrixEmulator> {
        let listener = TcpListener::bind(("127.0.0.1", 0)).await?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(Shared::new(config, format!("http://{addr}")));
        let app = server::app(Arc::clone(&shared));
        let server = tokio::spawn(async move {
            if let Err(error) = axum::serve(listener, app.into_make_service()).await {
                tracing::warn!(%error, "Bitrix24 emulator server failed");
            }
        });
        Ok(BitrixEmulator {
            inner: Arc::new(Inner {
                shared,
                addr,
                server,
            }),
        })
    }

    pub(crate) fn with_state<T>(&self, f: impl FnOnce(&mut server::State) -> T) -> T {
        self.inner.shared.with_state(f)
    }

    /// `http://127.0.0.1:PORT`: the portal (and the OAuth token server).
    pub fn base_url(&self) -> String {
        format!("http://{}", self.inner.addr)
    }

    /// `{base}/rest/<webhook_user_id>/<webhook_code>/`.
    pub fn webhook_url(&self) -> String {
        let c = self.config();
        format!(
            "{}/rest/{}/{}/",
            self.base_url(),
            c.webhook_user_id,
            c.webhook_code
        )
    }

    /// The configuration.
    pub fn config(&self) -> EmulatorConfig {
        self.with_state(|s| s.config.clone())
    }

    // ----- OAuth -----

    /// A valid (unused) refresh token, as if the local application had just
    /// been installed.
    pub fn add_refresh_token(&self) -> String {
        self.with_state(|s| s.oauth.add_refresh_token())
    }

    /// The local application was removed from the portal: every access and
    /// refresh token is rejected from now on.
    pub fn revoke_all_tokens(&self) {
        self.with_state(|s| s.oauth.revoke_all());
    }

    /// Every access token issued so far expires now.
    pub fn expire_access_tokens(&self) {
        self.with_state(|s| s.oauth.expire_all());
    }

    /// Moves the emulator's clock forward (token expiry, the leaky bucket,
    /// the CALL_ID reuse window).
    pub fn advance(&self, by: Duration) {
        self.with_state(|s| s.clock_offset += by);
    }

    // ----- CRM data -----

    /// Adds a user (`name` split at the first space into NAME and
    /// LAST_NAME; `UF_PHONE_INNER` the extension); returns its id.
    pub fn add_user(&self, name: &str, inner_phone: Option<&str>) -> u32 {
        self.with_state(|s| s.store.add_user(name, inner_phone))
    }

    /// Adds a contact; returns its id.
    pub fn add_contact(&self, c: NewContact) -> u32 {
        self.with_state(|s| {
            let now = s.now();
            s.store.add_contact(c, now)
        })
    }

    /// Adds a lead (status `NEW`) with one phone; returns its id.
    pub fn add_lead(&self, title: &str, phone: &str) -> u32 {
        self.with_state(|s| {
            let now = s.now();
            s.store.add_lead(title, phone, None, now)
        })
    }

    /// Adds a deal; returns its id.
    pub fn add_deal(&self, d: NewDeal) -> u32 {
        self.with_state(|s| {
            let now = s.now();
            s.store.add_deal(d, now)
        })
    }

    /// Seeds the demo data (call once, on a fresh emulator).
    pub fn seed_demo(&self) -> DemoIds {
        demo::seed(self)
    }

    // ----- observation -----

    /// Every registered call, in registration order.
    pub fn calls(&self) -> Vec<ExternalCall> {
        self.with_state(|s| s.store.calls.clone())
    }

    /// Every applied (successfully answered) method call, in order.
    pub fn method_calls(&self) -> Vec<MethodCall> {
        self.with_state(|s| s.method_calls.clone())
    }

    /// Every request in arrival order, rejected and faulted ones included.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.with_state(|s| s.requests.clone())
    }

    /// How many `QUERY_LIMIT_EXCEEDED` answers were given (the bucket's and
    /// injected ones).
    pub fn limit_hits(&self) -> usize {
        self.with_state(|s| s.limit_hits)
    }

    /// Queues a fault.
    pub fn inject(&self, fault: Fault) {
        self.with_state(|s| s.faults.push(fault));
    }

    /// Forgets every queued fault.
    pub fn clear_faults(&self) {
        self.with_state(|s| s.faults.clear());
    }

    /// An outage: while down, every request gets 503
    /// `{"error":"INTERNAL_SERVER_ERROR",…}`.
    pub fn set_down(&self, down: bool) {
        self.with_state(|s| s.down = down);
    }

    // ----- events -----

    /// A user clicks `number` in the CRM: the portal registers an outbound
    /// call for `user_id` (bound by phone to a CRM entity, as `register`
    /// does) and POSTs `ONEXTERNALCALLSTART` (form-encoded, no retry) to
    /// `handler_url`. Returns our endpoint's status and body, and the
    /// CALL_ID. `Err` when the user does not exist or the POST fails.
    pub async fn start_call_from_crm(
        &self,
        handler_url: &str,
        user_id: u32,
        number: &str,
    ) -> Result<(u16, String, String), String> {
        event::start_call_from_crm(self, handler_url, user_id, number).await
    }
}
