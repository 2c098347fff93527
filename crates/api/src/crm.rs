//! The CRMs the hub delivers calls to: their outbox state, retry, test.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::ErrorBody;

/// `GET /api/v1/crms`: one enabled CRM.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct CrmState {
    /// The configured name (`vtiger`).
    pub id: String,
    /// The vendor (`vtiger`, `zoho`...).
    pub kind: String,
    /// What it can do: `lookup_contact`, `open_deals`, `live_call_events`,
    /// `log_at_end`, `attach_recording_later`, `create_contact`,
    /// `inbound_click_to_call`.
    pub capabilities: Vec<String>,
    /// Operations waiting to be delivered.
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub pending: u64,
    /// Operations that failed permanently and wait for a retry.
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub parked: u64,
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub delivered: u64,
    /// Deliveries are paused (outage, rate limit) until then.
    pub paused_until: Option<DateTime<Utc>>,
    /// The last failure, when the last attempt failed.
    pub last_error: Option<ErrorBody>,
    /// The parked operations, newest first.
    pub parked_ops: Vec<ParkedOp>,
}

/// An operation the CRM refused for good, with the reason.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct ParkedOp {
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub id: i64,
    pub call_id: String,
    /// `ring`, `answered`, `transfer`, `ended`, `recording`.
    pub op: String,
    /// The error code (`unauthorized`, `invalid`...).
    pub code: Option<String>,
    /// For people: why, and what to do.
    pub reason: Option<String>,
    pub attempts: u32,
    pub created_at: DateTime<Utc>,
}

/// `POST /api/v1/crms/{id}/retry`: retry one parked operation, or all.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(deny_unknown_fields)]
pub struct CrmRetryBody {
    #[serde(default)]
    #[cfg_attr(feature = "ts", ts(type = "number | null"))]
    pub op_id: Option<i64>,
}

/// The answer to a retry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct CrmRetried {
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub retried: u64,
}

/// `POST /api/v1/crms/{id}/check`: the connection test passed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct CrmCheck {
    pub account: String,
    pub detail: Option<String>,
}

/// `GET /api/v1/crms/links?number=`: where to open a number in each CRM.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct CrmLink {
    pub crm: String,
    pub url: String,
}
