//! What a CRM adapter is: the [`CrmProvider`] trait and its declared
//! [`Capabilities`].
//!
//! Callers check a capability before asking; a provider that lacks one answers
//! [`ErrorKind::Unsupported`] (the trait's defaults), never a silent success.

use ringside_core::{
    Call, Contact, ContactMatch, Error, ErrorKind, NumberVariants, PhoneNumber, Result,
};
use serde::{Deserialize, Serialize};

/// What one CRM can do, declared by its adapter.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Capabilities {
    /// Find contacts by phone number.
    pub lookup_contact: bool,
    /// Return the open deals of a matched contact.
    pub open_deals: bool,
    /// Receive live call events (ring, answered, transfer) as they happen.
    pub live_call_events: bool,
    /// Receive one call log when the call ends.
    pub log_at_end: bool,
    /// Accept a recording that arrives after the call was logged.
    pub attach_recording_later: bool,
    /// Create a contact for an unknown caller.
    pub create_contact: bool,
    /// The CRM's own click-to-call can dial through Ringside.
    pub inbound_click_to_call: bool,
}

/// One capability, for checks and messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Capability {
    LookupContact,
    OpenDeals,
    LiveCallEvents,
    LogAtEnd,
    AttachRecordingLater,
    CreateContact,
    InboundClickToCall,
}

impl Capability {
    pub fn describe(self) -> &'static str {
        match self {
            Capability::LookupContact => "look up contacts",
            Capability::OpenDeals => "list open deals",
            Capability::LiveCallEvents => "receive live call events",
            Capability::LogAtEnd => "log calls",
            Capability::AttachRecordingLater => "attach a recording later",
            Capability::CreateContact => "create contacts",
            Capability::InboundClickToCall => "dial from the CRM",
        }
    }
}

impl Capabilities {
    pub fn has(&self, cap: Capability) -> bool {
        match cap {
            Capability::LookupContact => self.lookup_contact,
            Capability::OpenDeals => self.open_deals,
            Capability::LiveCallEvents => self.live_call_events,
            Capability::LogAtEnd => self.log_at_end,
            Capability::AttachRecordingLater => self.attach_recording_later,
            Capability::CreateContact => self.create_contact,
            Capability::InboundClickToCall => self.inbound_click_to_call,
        }
    }

    /// `Ok` when `crm` declares `cap`, else an `unsupported` error naming both.
    pub fn require(&self, crm: &str, cap: Capability) -> Result<()> {
        if self.has(cap) {
            Ok(())
        } else {
            Err(unsupported(crm, cap))
        }
    }
}

/// The error for a capability a provider does not have.
pub fn unsupported(crm: &str, cap: Capability) -> Error {
    Error::new(
        ErrorKind::Unsupported,
        format!("{crm} cannot {}", cap.describe()),
    )
}

/// A CRM user as mapped from a PBX extension (the agent directory).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(deny_unknown_fields)]
pub struct CrmUser {
    /// The PBX extension this user answers on.
    pub extension: String,
    /// The CRM's id for the user (Vtiger `19x5`, Zoho user id...), when known.
    #[serde(default)]
    pub user_id: Option<String>,
    #[serde(default)]
    pub name: Option<String>,
    /// The number the CRM knows the user by (Vtiger's Office Phone), when it
    /// differs from the extension.
    #[serde(default)]
    pub phone: Option<String>,
    /// The user's e-mail: how a configured entry finds its CRM id in a CRM
    /// whose users have no extension (Zoho).
    #[serde(default)]
    pub email: Option<String>,
}

impl CrmUser {
    /// The number to tell the CRM: the configured phone, else the extension.
    pub fn phone_or_extension(&self) -> &str {
        self.phone.as_deref().unwrap_or(&self.extension)
    }
}

/// Whether an operation whose outcome we never heard (timeout, crash) reached
/// the CRM.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Confirmation {
    /// The CRM has it: do not send again.
    Applied,
    /// The CRM does not have it: send.
    NotApplied,
    /// The CRM cannot tell: send again (at least once; the CRM deduplicates
    /// by our call id where it can).
    Unknown,
}

/// What a successful "test connection" found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct ConnectionInfo {
    /// Who we are signed in as, where (`admin@acme.com on acme.od2.vtiger.com`).
    pub account: String,
    /// Anything worth telling the person (e.g. users discovered).
    pub detail: Option<String>,
}

/// A contact to create for an unknown caller.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct NewContact {
    pub name: String,
    pub phone: String,
    #[serde(default)]
    pub company: Option<String>,
    #[serde(default)]
    pub email: Option<String>,
}

/// One operation a CRM must receive for a logical call (integration spec §5).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "op")]
pub enum OpKind {
    /// The call rang (inbound) or started ringing out (outbound).
    Ring,
    /// An agent answered (inbound) or the customer picked up (outbound).
    Answered,
    /// The call was transferred to another extension.
    Transfer,
    /// The call ended (with its outcome, talk time, notes, recording if known).
    Ended,
    /// A recording arrived after the end was logged.
    Recording { url: String },
}

impl OpKind {
    pub fn name(&self) -> &'static str {
        match self {
            OpKind::Ring => "ring",
            OpKind::Answered => "answered",
            OpKind::Transfer => "transfer",
            OpKind::Ended => "ended",
            OpKind::Recording { .. } => "recording",
        }
    }
}

/// An operation ready to deliver: what happened, to which call (the current
/// snapshot from the journal), and the CRM user concerned.
#[derive(Debug, Clone)]
pub struct Operation {
    /// The outbox row id.
    pub id: i64,
    pub kind: OpKind,
    /// The call as it is now (notes typed after the end are included).
    pub call: Call,
    /// The customer's number as stored on the call (E.164 when it parsed).
    pub customer: String,
    /// The extension concerned: the ringing/answering agent, or for a transfer
    /// the new agent.
    pub extension: Option<String>,
    /// That extension's CRM user, from the agent directory.
    pub user: Option<CrmUser>,
    /// For a transfer: the agent the call came from.
    pub previous_user: Option<CrmUser>,
    /// What this CRM was sent for the call's earlier operations (their
    /// `Delivered::sent`), in order: an adapter whose CRM hands back an id at
    /// ring (Bitrix24's `CALL_ID`) finds it here, across restarts.
    pub prior: Vec<PriorOp>,
}

/// An operation of the same call already delivered to this CRM.
#[derive(Debug, Clone, PartialEq)]
pub struct PriorOp {
    /// `ring`, `answered`, `transfer:…`, `ended`, `recording`.
    pub op_key: String,
    pub sent: serde_json::Value,
}

/// What a delivery sent, kept with the outbox row (no secrets).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Delivered {
    pub sent: serde_json::Value,
}

/// A CRM adapter. Implementations map every vendor failure to an
/// [`ErrorKind`] in one function, and set `retry_after` from vendor
/// rate-limit signals. Methods a provider has no capability for keep the
/// defaults, which answer `unsupported`.
#[async_trait::async_trait]
pub trait CrmProvider: Send + Sync + 'static {
    /// The vendor (`vtiger`, `zoho`...).
    fn kind(&self) -> &'static str;

    fn capabilities(&self) -> Capabilities;

    /// Test the connection and credentials.
    async fn check(&self) -> Result<ConnectionInfo>;

    /// Contacts whose phone fields match `variants`, each with its open deals
    /// (when the provider has `open_deals`). Matches are re-verified against
    /// the stored digits. Empty when none.
    async fn lookup(&self, _variants: &NumberVariants) -> Result<Vec<ContactMatch>> {
        Err(unsupported(self.kind(), Capability::LookupContact))
    }

    /// Deliver one operation. Must be safe to repeat for the same operation
    /// (the outbox delivers at least once).
    async fn deliver(&self, _op: &Operation) -> Result<Delivered> {
        Err(unsupported(self.kind(), Capability::LogAtEnd))
    }

    /// For an operation that may have reached the CRM already (an earlier
    /// attempt timed out or the process stopped mid-request): does it have it?
    async fn confirm(&self, _op: &Operation) -> Result<Confirmation> {
        Ok(Confirmation::Unknown)
    }

    /// Renew credentials after an `unauthorized` answer. `Ok(true)` when new
    /// credentials were obtained and the request is worth one more try.
    async fn refresh_credentials(&self) -> Result<bool> {
        Ok(false)
    }

    /// The CRM's users with the extensions they answer on, where the CRM can
    /// tell (the agent directory's discovery).
    async fn discover_users(&self) -> Result<Vec<CrmUser>> {
        Err(Error::new(
            ErrorKind::Unsupported,
            format!("{} cannot list its users' extensions", self.kind()),
        ))
    }

    /// Create a contact for an unknown caller.
    async fn create_contact(&self, _contact: &NewContact) -> Result<Contact> {
        Err(unsupported(self.kind(), Capability::CreateContact))
    }

    /// A link that opens the CRM's record for `number` (or its "new contact"
    /// form), for the pop's "open in CRM".
    fn search_url(&self, _number: &PhoneNumber) -> Option<String> {
        None
    }
}
