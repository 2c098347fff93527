//! An in-process HTTP emulator of Vtiger Cloud, written from the vendor
//! document (`seeds/vtiger-phone-calls-api.txt`) and the contracts notes
//! (`docs/contracts-notes.md` §2), independent of the rest of Ringside: it
//! speaks only the vendor's wire format.
//!
//! Three surfaces:
//! - the Phone Calls **Generic gateway** ([`GATEWAY_PATH`]; the rules are
//!   listed in `src/gateway.rs`), which keeps Phone Calls records per
//!   `call_id`;
//! - the **REST API** under [`REST_BASE`] (`me`, `lookup`, `query` with a
//!   VTQL subset, `retrieve`, `listtypes`), with HTTP Basic auth and flood
//!   control;
//! - **Search by Number** (`Search.php`), redirecting to a stand-in
//!   `index.php`.
//!
//! Plus the gateway's "Outgoing call" configuration ([`OutgoingConfig`],
//! [`VtigerEmulator::click_to_call`]). Every request is recorded
//! ([`VtigerEmulator::requests`]); faults can be queued
//! ([`VtigerEmulator::inject`]), the service taken down, and credentials
//! rotated. Each module's docs say which rules come from the vendor document,
//! which from the contracts notes and which are inferred.

mod demo;
mod faults;
mod gateway;
mod outgoing;
mod rest;
mod search;
mod server;
mod store;
mod vtql;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

pub use demo::DemoIds;
pub use faults::{Fault, Scope};
pub use gateway::{EVENTS, GATEWAY_PATH, hangup_status};
pub use outgoing::{OutgoingConfig, OutgoingMethod};
pub use rest::REST_BASE;
pub use search::{INDEX_PATH, SEARCH_PATH};
pub use server::SECRET_HEADER;
pub use store::{Module, PhoneCallRecord, Row, digits, phone_matches};
pub use vtql::MAX_ROWS;

use server::Shared;
use store::{Store, now_string};

/// The default gateway secret.
pub const DEFAULT_GATEWAY_SECRET: &str = "vt-gw-secret-0001";
/// The default REST user.
pub const DEFAULT_USERNAME: &str = "admin@ringside.test";
/// The default REST access key.
pub const DEFAULT_ACCESS_KEY: &str = "vt-access-key-0001";
/// The default flood-control limit (requests per rolling minute).
pub const DEFAULT_FLOOD_LIMIT: u32 = 6000;

/// How the emulated instance is set up.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EmulatorConfig {
    /// The Generic gateway's "Vtiger Secret Key", expected in
    /// `X-VTIGER-SECRET`.
    pub gateway_secret: String,
    /// The REST user (Basic auth user name); it exists as user `19x1`.
    pub username: String,
    /// The REST access key (Basic auth password).
    pub access_key: String,
    /// REST requests per rolling minute before 429.
    pub flood_limit_per_minute: u32,
    /// The gateway's "Outgoing call" configuration, for click-to-call.
    pub outgoing: Option<OutgoingConfig>,
}

impl Default for EmulatorConfig {
    fn default() -> Self {
        EmulatorConfig {
            gateway_secret: DEFAULT_GATEWAY_SECRET.to_owned(),
            username: DEFAULT_USERNAME.to_owned(),
            access_key: DEFAULT_ACCESS_KEY.to_owned(),
            flood_limit_per_minute: DEFAULT_FLOOD_LIMIT,
            outgoing: None,
        }
    }
}

/// Which part of the emulated instance a request hit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum Surface {
    /// `Generic.php`.
    Gateway,
    /// The REST API.
    Rest,
    /// `Search.php`.
    Search,
    /// Anything else (`index.php`, unknown paths).
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
    /// The `X-VTIGER-SECRET` header.
    pub secret: Option<String>,
    /// The `Authorization` header.
    pub authorization: Option<String>,
    /// The status answered; 0 while the request is still being served.
    pub status: u16,
}

impl RecordedRequest {
    /// Whether `X-VTIGER-SECRET` was sent.
    pub fn has_secret(&self) -> bool {
        self.secret.is_some()
    }

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
}

/// One accepted (2xx) `Generic.php` request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct GatewayEvent {
    /// The `event` parameter.
    pub event: String,
    /// The `call_id` parameter.
    pub call_id: String,
    /// The Phone Calls record it touched (`45xN`).
    pub record_id: String,
    /// Every parameter, query string and form body merged.
    pub params: BTreeMap<String, String>,
}

/// A user to seed (Users module, `19xN`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NewUser {
    /// Login name.
    pub user_name: String,
    /// First name.
    pub first_name: String,
    /// Last name.
    pub last_name: String,
    /// E-mail (`email1`).
    pub email: String,
    /// Office Phone: the number the gateway's `to` must match.
    pub phone_work: String,
    /// Mobile phone.
    pub phone_mobile: Option<String>,
}

/// A contact to seed (Contacts, `12xN`). Phones are kept exactly as typed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NewContact {
    /// First name.
    pub firstname: String,
    /// Last name.
    pub lastname: String,
    /// Office phone.
    pub phone: Option<String>,
    /// Mobile phone.
    pub mobile: Option<String>,
    /// Home phone.
    pub homephone: Option<String>,
    /// Other phone.
    pub otherphone: Option<String>,
    /// E-mail.
    pub email: Option<String>,
    /// The organization (`11xN`).
    pub account_id: Option<String>,
    /// `Y-m-d H:i:s`; now (UTC) when absent.
    pub modifiedtime: Option<String>,
}

/// A lead to seed (Leads, `10xN`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NewLead {
    /// First name.
    pub firstname: String,
    /// Last name.
    pub lastname: String,
    /// Company.
    pub company: String,
    /// Office phone.
    pub phone: Option<String>,
    /// Mobile phone.
    pub mobile: Option<String>,
    /// E-mail.
    pub email: Option<String>,
}

/// A deal to seed (Potentials, `13xN`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NewPotential {
    /// The deal's name.
    pub potentialname: String,
    /// The contact (`12xN`).
    pub contact_id: Option<String>,
    /// The organization (`11xN`).
    pub related_to: Option<String>,
    /// E.g. `Prospecting`, `Negotiation or Review`, `Closed Won`,
    /// `Closed Lost`.
    pub sales_stage: String,
    /// E.g. `1500.00`.
    pub amount: Option<String>,
    /// ISO code, e.g. `EUR` (Vtiger really has a `currency_id` reference).
    pub currency: Option<String>,
    /// `Y-m-d`.
    pub closingdate: Option<String>,
}

/// A running emulator. Clones share it; the server stops when the last
/// clone is dropped.
#[derive(Debug, Clone)]
pub struct VtigerEmulator {
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

impl VtigerEmulator {
    /// Binds 127.0.0.1 on a free port and serves on a tokio task. The REST
    /// user exists as `19x1`.
    pub async fn start(config: EmulatorConfig) -> std::io::Result<VtigerEmulator> {
        let listener = TcpListener::bind(("127.0.0.1", 0)).await?;
        let addr = listener.local_addr()?;
        let username = config.username.clone();
        let shared = Arc::new(Shared::new(config));
        let app = server::app(Arc::clone(&shared));
        let server = tokio::spawn(async move {
            if let Err(error) = axum::serve(listener, app).await {
                tracing::warn!(%error, "vtiger emulator server failed");
            }
        });
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .build()
            .map_err(std::io::Error::other)?;
        let emulator = VtigerEmulator {
            inner: Arc::new(Inner {
                shared,
                addr,
                server,
                client,
            }),
        };
        emulator.add_user(NewUser {
            user_name: username.clone(),
            first_name: "Ringside".to_owned(),
            last_name: "Admin".to_owned(),
            email: username,
            ..NewUser::default()
        });
        Ok(emulator)
    }

    /// `http://127.0.0.1:PORT`.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.inner.addr)
    }

    /// The full URL of the Generic gateway.
    pub fn gateway_url(&self) -> String {
        format!("{}{GATEWAY_PATH}", self.base_url())
    }

    /// The full URL of the REST base.
    pub fn rest_url(&self) -> String {
        format!("{}{REST_BASE}", self.base_url())
    }

    /// The configuration as it stands now (rotated secret, current access
    /// key — empty after a revocation without replacement — and limit).
    pub fn config(&self) -> EmulatorConfig {
        let state = self.inner.shared.lock();
        let mut config = state.config.clone();
        config.access_key = state.access_key.clone().unwrap_or_default();
        config
    }

    fn with_store<T>(&self, f: impl FnOnce(&mut Store) -> T) -> T {
        f(&mut self.inner.shared.lock().store)
    }

    /// Adds a user (`19xN`).
    pub fn add_user(&self, u: NewUser) -> String {
        self.with_store(|s| {
            s.insert(
                Module::Users,
                &[
                    ("user_name", Some(&u.user_name)),
                    ("first_name", Some(&u.first_name)),
                    ("last_name", Some(&u.last_name)),
                    ("email1", Some(&u.email)),
                    ("phone_work", Some(&u.phone_work)),
                    ("phone_mobile", u.phone_mobile.as_deref()),
                ],
            )
        })
    }

    /// Adds an organization (`11xN`).
    pub fn add_account(&self, name: &str) -> String {
        self.add_account_with_phone(name, None)
    }

    /// Adds an organization with a phone (`11xN`).
    pub fn add_account_with_phone(&self, name: &str, phone: Option<&str>) -> String {
        self.with_store(|s| {
            s.insert(
                Module::Accounts,
                &[("accountname", Some(name)), ("phone", phone)],
            )
        })
    }

    /// Adds a contact (`12xN`), assigned to the REST user.
    pub fn add_contact(&self, c: NewContact) -> String {
        let now = now_string();
        self.with_store(|s| {
            s.insert(
                Module::Contacts,
                &[
                    ("firstname", Some(&c.firstname)),
                    ("lastname", Some(&c.lastname)),
                    ("phone", c.phone.as_deref()),
                    ("mobile", c.mobile.as_deref()),
                    ("homephone", c.homephone.as_deref()),
                    ("otherphone", c.otherphone.as_deref()),
                    ("email", c.email.as_deref()),
                    ("account_id", c.account_id.as_deref()),
                    ("assigned_user_id", Some("19x1")),
                    (
                        "modifiedtime",
                        Some(c.modifiedtime.as_deref().unwrap_or(&now)),
                    ),
                    ("createdtime", Some(&now)),
                ],
            )
        })
    }

    /// Adds a lead (`10xN`).
    pub fn add_lead(&self, l: NewLead) -> String {
        let now = now_string();
        self.with_store(|s| {
            s.insert(
                Module::Leads,
                &[
                    ("firstname", Some(&l.firstname)),
                    ("lastname", Some(&l.lastname)),
                    ("company", Some(&l.company)),
                    ("phone", l.phone.as_deref()),
                    ("mobile", l.mobile.as_deref()),
                    ("email", l.email.as_deref()),
                    ("modifiedtime", Some(&now)),
                ],
            )
        })
    }

    /// Adds a deal (`13xN`).
    pub fn add_potential(&self, p: NewPotential) -> String {
        let now = now_string();
        self.with_store(|s| {
            s.insert(
                Module::Potentials,
                &[
                    ("potentialname", Some(&p.potentialname)),
                    ("contact_id", p.contact_id.as_deref()),
                    ("related_to", p.related_to.as_deref()),
                    ("sales_stage", Some(&p.sales_stage)),
                    ("amount", p.amount.as_deref()),
                    ("currency", p.currency.as_deref()),
                    ("closingdate", p.closingdate.as_deref()),
                    ("modifiedtime", Some(&now)),
                ],
            )
        })
    }

    /// Sets one field of a seeded record (not PhoneCalls); false if the
    /// record or the field does not exist.
    pub fn set_field(&self, id: &str, field: &str, value: &str) -> bool {
        self.with_store(|s| s.set_field(id, field, value))
    }

    /// One record as `retrieve` would return it.
    pub fn record(&self, id: &str) -> Option<Row> {
        self.with_store(|s| s.get(id).ok())
    }

    /// Seeds the demo data (call once, on a fresh emulator) and returns the
    /// ids.
    pub fn seed_demo(&self) -> DemoIds {
        demo::seed(self)
    }

    /// Every request in arrival order, rejected and faulted ones included.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.inner.shared.lock().requests.clone()
    }

    /// Every accepted `Generic.php` request, in order.
    pub fn gateway_events(&self) -> Vec<GatewayEvent> {
        self.inner.shared.lock().gateway_events.clone()
    }

    /// The Phone Calls records, in creation order.
    pub fn phone_calls(&self) -> Vec<PhoneCallRecord> {
        self.inner.shared.lock().store.calls.clone()
    }

    /// The Phone Calls record of `call_id`.
    pub fn phone_call(&self, call_id: &str) -> Option<PhoneCallRecord> {
        self.with_store(|s| s.call_mut(call_id).map(|c| c.clone()))
    }

    /// Waits until at least `n` gateway events were accepted; false on
    /// timeout.
    pub async fn wait_for_gateway_events(&self, n: usize, timeout: Duration) -> bool {
        let mut events = self.inner.shared.events.subscribe();
        tokio::time::timeout(timeout, events.wait_for(|count| *count >= n))
            .await
            .is_ok_and(|r| r.is_ok())
    }

    /// Queues a fault.
    pub fn inject(&self, fault: Fault) {
        self.inner.shared.lock().faults.push(fault);
    }

    /// Forgets every queued fault.
    pub fn clear_faults(&self) {
        self.inner.shared.lock().faults.clear();
    }

    /// An outage: while down, every request gets 503 with a JSON error body
    /// (the connection itself works).
    pub fn set_down(&self, down: bool) {
        self.inner.shared.lock().down = down;
    }

    /// Expires the access key: REST then accepts only `new_key`, or nothing
    /// at all with `None`.
    pub fn revoke_access_key(&self, new_key: Option<String>) {
        let mut state = self.inner.shared.lock();
        if let Some(key) = &new_key {
            state.config.access_key = key.clone();
        }
        state.access_key = new_key;
    }

    /// Replaces the gateway secret.
    pub fn rotate_gateway_secret(&self, new: String) {
        self.inner.shared.lock().config.gateway_secret = new;
    }

    /// Changes the flood-control limit (the current window is kept).
    pub fn set_flood_control(&self, limit_per_minute: u32) {
        self.inner.shared.lock().config.flood_limit_per_minute = limit_per_minute;
    }

    /// Replaces the "Outgoing call" configuration.
    pub fn set_outgoing(&self, outgoing: Option<OutgoingConfig>) {
        self.inner.shared.lock().config.outgoing = outgoing;
    }

    /// Click-to-call: sends the configured outgoing request as Vtiger would
    /// when user `user_id` clicks `number`, and returns the status and body
    /// of our endpoint's answer. Fails if no outgoing call is configured,
    /// the user does not exist, or the request cannot be sent.
    pub async fn click_to_call(
        &self,
        user_id: &str,
        number: &str,
    ) -> Result<(u16, String), String> {
        let (config, user) = {
            let state = self.inner.shared.lock();
            let config = state
                .config
                .outgoing
                .clone()
                .ok_or_else(|| "no outgoing call is configured".to_owned())?;
            let user = match store::parse_id(user_id) {
                Ok((Module::Users, _)) => state.store.get(user_id).ok(),
                _ => None,
            }
            .ok_or_else(|| format!("no such user: {user_id}"))?;
            (config, user)
        };
        outgoing::send(&self.inner.client, &config, &user, number).await
    }
}
