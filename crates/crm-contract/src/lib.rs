//! The CRM contract suite: one set of scenarios every CRM adapter runs
//! against its emulator.
//!
//! Each scenario drives the real pipeline — Gamma wire events → `Engine::ingest`
//! → journal (a SQLite file) with the outbox rows in the same transaction →
//! the CRM's outbox worker → the adapter → the emulator over HTTP — and then
//! asserts what the emulator **applied**, per call, in order, exactly once.
//!
//! An adapter crate implements [`Target`] for its emulator in a test file and
//! expands [`crm_contract_tests!`] there, which makes one `#[tokio::test]` per
//! scenario.
//!
//! The contract data set every target seeds: users on extensions `201` and
//! `202`; a contact **Lucía Fernández** whose phone is stored as typed by a
//! person in national form (`647 46 01 97`), with open deals "Reforma oficina
//! Valencia" and "Mobiliario sala de juntas" and one closed deal "Proyecto
//! piloto"; nobody has `+34 600 000 000`.

mod harness;
mod scenarios;
mod script;

use std::collections::BTreeMap;
use std::sync::Arc;

use ringside_core::NumberPlan;
use ringside_crm::{CrmProvider, CrmUser, Throttle};

pub use harness::{Rig, contract_settings, wait_until};
pub use scenarios::*;
pub use script::Script;

/// The customer in every scenario, and the contact the data set stores for it.
pub const CUSTOMER: &str = "+34647460197";
pub const CUSTOMER_NAME: &str = "Lucía Fernández";
pub const OPEN_DEALS: [&str; 2] = ["Reforma oficina Valencia", "Mobiliario sala de juntas"];
pub const CLOSED_DEAL: &str = "Proyecto piloto";
pub const UNKNOWN_NUMBER: &str = "+34600000000";

/// Faults every emulator can inject, in vendor-neutral terms.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fault {
    /// The next `times` call-logging requests answer this 5xx, not applied.
    ServerErrors { status: u16, times: u32 },
    /// The next `times` call-logging requests answer 429 (or the vendor's
    /// rate-limit signal) asking to wait `retry_after_secs`.
    RateLimited { retry_after_secs: u64, times: u32 },
    /// The next `times` call-logging requests are applied, then the answer
    /// stalls `ms` (past the adapter's deadline): a request that landed
    /// although the client gave up.
    ApplyThenStall { ms: u64, times: u32 },
    /// Every request fails (connection-level or 503) until lifted.
    Outage(bool),
    /// The credentials in use stop working (expired, revoked, rotated).
    ExpireCredentials,
    /// New credentials were issued and configured (the adapter is rebuilt).
    RenewCredentials,
}

/// One operation as the emulator applied it, in the contract's vocabulary.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Received {
    /// The call id the CRM was given (Ringside's logical call id).
    pub call_id: String,
    /// `ring`, `answered`, `transfer`, `ended` or `recording`.
    pub op: String,
    /// Normalised details. Keys a target should fill where its wire carries
    /// them: `direction` (`inbound`/`outbound`), `agent` (the extension the
    /// CRM attributed it to), `result` (`answered`/`not_answered`/`busy`/
    /// `failed`, on `ended`), `duration` (seconds, on `ended`), `recording`
    /// (URL), `customer` (digits of the customer's number).
    pub detail: BTreeMap<String, String>,
}

/// An adapter and its emulator, as the contract suite drives them.
#[async_trait::async_trait]
pub trait Target: Send + Sync + Sized + 'static {
    /// The CRM's name (`vtiger`).
    const NAME: &'static str;

    /// A fresh emulator seeded with the contract data set.
    async fn start() -> Self;

    /// The adapter, pointed at the emulator, with the CRM's throttle.
    fn provider(&self, throttle: Arc<Throttle>, numbers: NumberPlan) -> Arc<dyn CrmProvider>;

    /// The agent directory entries for extensions 201 and 202 (configured).
    fn users(&self) -> Vec<CrmUser>;

    /// Every operation the emulator applied, in arrival order.
    fn received(&self) -> Vec<Received>;

    /// How many requests the emulator saw in total (incl. failed ones).
    fn request_count(&self) -> usize;

    fn fault(&self, fault: Fault);

    /// Whether the CRM's API has no request for `op` on a call of this
    /// direction (Zoho has no event for an answered outbound call), so the
    /// adapter delivers it without a request.
    fn has_no_request(&self, _op: &str, _outbound: bool) -> bool {
        false
    }

    /// The CRM's own request budget, when the emulator enforces a real one
    /// (amoCRM: 7 requests per second); `None`: the suite's generous default.
    fn limits(&self) -> Option<ringside_crm::Limits> {
        None
    }
}
