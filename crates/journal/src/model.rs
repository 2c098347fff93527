//! The values that go into and come out of the journal.

use chrono::{DateTime, Utc};
use ringside_core::{Call, CallId, CallStatus, Direction, Outcome};
use serde::{Deserialize, Serialize};

/// One raw event as received from a provider, ready to be appended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewEvent {
    /// Which provider sent it, e.g. `gamma`.
    pub provider: String,
    /// When Ringside received it.
    pub received_at: DateTime<Utc>,
    /// The provider's id of the call (leg) the event is about, if understood.
    pub provider_call_id: Option<String>,
    /// The provider's leg id, if sent.
    pub leg_id: Option<String>,
    /// The state the event reports, as the provider spelled it.
    pub state: Option<String>,
    /// The raw body text exactly as received.
    pub body: String,
    /// The id Ringside sent when it dialed, if echoed back.
    pub external_call_id: Option<String>,
    /// The address the event came from.
    pub source_ip: Option<String>,
    /// `false` when the event was kept but not understood.
    pub parsed: bool,
}

/// One raw event as stored, with its sequence number and the call it was folded into.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct StoredEvent {
    /// Position in the journal, strictly increasing.
    pub seq: i64,
    /// Which provider sent it.
    pub provider: String,
    /// When Ringside received it (millisecond precision).
    pub received_at: DateTime<Utc>,
    /// The provider's id of the call (leg) the event is about.
    pub provider_call_id: Option<String>,
    /// The provider's leg id.
    pub leg_id: Option<String>,
    /// The state the event reports.
    pub state: Option<String>,
    /// The raw body text exactly as received.
    pub body: String,
    /// The id Ringside sent when it dialed, if echoed back.
    pub external_call_id: Option<String>,
    /// The logical call the event was folded into, once linked.
    pub call_id: Option<CallId>,
}

/// One entry of the call-update log: a snapshot of a call after a change.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct CallUpdate {
    /// Position in the update log, strictly increasing; resume after it.
    pub seq: i64,
    /// The call as it was right after this update.
    pub call: Call,
}

/// Which calls [`Queries::list_calls`](crate::Queries::list_calls) returns.
/// Every set field narrows the result; the default is "the newest 100".
#[derive(Default, Clone, Debug)]
pub struct CallFilter {
    /// Calls this extension took part in (any leg, or the owning extension).
    pub extension: Option<String>,
    /// Only calls in this direction.
    pub direction: Option<Direction>,
    /// Only calls that ended this way.
    pub outcome: Option<Outcome>,
    /// Only calls currently in this status.
    pub status: Option<CallStatus>,
    /// Case-insensitive substring of the remote number, raw number, label or notes.
    pub search: Option<String>,
    /// Calls started at or after this instant.
    pub since: Option<DateTime<Utc>>,
    /// Calls started strictly before this instant.
    pub until: Option<DateTime<Utc>>,
    /// How many rows at most: default 100, capped at 1000.
    pub limit: Option<usize>,
    /// Keyset paging cursor: only rows strictly older than this `(started_at, id)`,
    /// i.e. pass the last call of the previous page.
    pub before: Option<(DateTime<Utc>, CallId)>,
}

impl CallFilter {
    /// Default page size.
    pub const DEFAULT_LIMIT: usize = 100;
    /// Largest page size.
    pub const MAX_LIMIT: usize = 1000;

    /// The page size this filter asks for, after defaults and the cap.
    pub fn effective_limit(&self) -> usize {
        self.limit
            .unwrap_or(Self::DEFAULT_LIMIT)
            .min(Self::MAX_LIMIT)
    }
}
