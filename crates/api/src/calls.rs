//! Calls: the agent, the call list, one call, notes and call control.

use chrono::{DateTime, Utc};
use ringside_core::{Call, CallId, CallStatus, Direction, Outcome};
use serde::{Deserialize, Serialize};

/// `GET /api/v1/me`: who the token acts for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Me {
    pub name: String,
    pub extension: String,
    /// Missed calls of the agent's extension.
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub missed_calls: u64,
}

/// Query of `GET /api/v1/calls`; every field narrows the list.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct CallQuery {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(
        feature = "ts",
        ts(type = "\"inbound\" | \"outbound\" | null", optional)
    )]
    pub direction: Option<Direction>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(
        feature = "ts",
        ts(
            type = "\"answered\" | \"missed\" | \"no_answer\" | \"busy\" | \"failed\" | null",
            optional
        )
    )]
    pub outcome: Option<Outcome>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(
        feature = "ts",
        ts(
            type = "\"dialing\" | \"ringing\" | \"talking\" | \"transferring\" | \"ended\" | null",
            optional
        )
    )]
    pub status: Option<CallStatus>,
    /// Substring of the number, label or notes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "ts", ts(optional))]
    pub search: Option<String>,
    /// Page size, default 50, at most 1000.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "ts", ts(type = "number | null", optional))]
    pub limit: Option<usize>,
    /// Paging cursor `<started_at RFC 3339>,<call id>`: the `next` of the previous page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "ts", ts(optional))]
    pub before: Option<String>,
    /// Only calls started at or after this instant.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "ts", ts(optional))]
    pub since: Option<DateTime<Utc>>,
    /// Only calls started before this instant.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "ts", ts(optional))]
    pub until: Option<DateTime<Utc>>,
}

/// `GET /api/v1/calls`: one page, newest first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct CallPage {
    #[cfg_attr(feature = "ts", ts(type = "Array<Call>"))]
    pub calls: Vec<Call>,
    /// The cursor for the next (older) page, when this one was full.
    pub next: Option<String>,
}

/// One raw PBX event folded into a call, as journaled.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct CallEvent {
    /// Position in the journal, strictly increasing.
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub seq: i64,
    /// Which provider sent it.
    pub provider: String,
    /// When Ringside received it.
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
    /// The logical call the event was folded into.
    #[cfg_attr(feature = "ts", ts(type = "string | null"))]
    pub call_id: Option<CallId>,
}

/// `GET /api/v1/calls/{id}`: the call and its raw events in journal order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct CallDetail {
    #[cfg_attr(feature = "ts", ts(type = "Call"))]
    pub call: Call,
    pub events: Vec<CallEvent>,
}

/// One entry of the live feed (`GET /api/v1/stream`, `event: call`): a call
/// right after a change. `seq` is the SSE `id`; resume after it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct CallUpdate {
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub seq: i64,
    #[cfg_attr(feature = "ts", ts(type = "Call"))]
    pub call: Call,
}

/// Body of `PUT /api/v1/calls/{id}/notes`; blank text clears a field.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct NotesBody {
    #[serde(default)]
    pub notes: Option<String>,
    #[serde(default)]
    pub disposition: Option<String>,
}

/// Body of `POST /api/v1/dial`: the agent's extension calls `destination`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct DialBody {
    pub destination: String,
}

/// Body of `POST /api/v1/calls/{id}/transfer` (cold transfer).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct TransferBody {
    pub destination: String,
}

/// The answer of a command with nothing else to say.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Done {
    pub ok: bool,
}
