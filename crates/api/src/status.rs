//! Health and status.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// `GET /healthz` (no token): whether the hub can read its journal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Health {
    /// `ok` or `unavailable`.
    pub status: String,
    /// `ok`, or why the journal cannot be read.
    pub journal: String,
}

/// `GET /api/v1/status`: the hub's view of its dependencies.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct HubStatus {
    pub pbx: PbxStatus,
    /// `ok`, or why the journal cannot be read.
    pub journal: String,
}

/// Whether the PBX answered the hub's last probe (its extension list).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct PbxStatus {
    pub state: PbxState,
    /// For people: what the PBX answered.
    pub message: String,
    /// When the PBX was asked (answers are cached for a few seconds).
    pub checked_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub enum PbxState {
    /// The PBX answered.
    Ok,
    /// No answer: connection refused, timeout, 5xx.
    Unreachable,
    /// The PBX refused the hub's credentials.
    Unauthorized,
    /// Anything else (an unexpected answer, a bad configuration).
    Error,
}
