//! A PBX event in provider-neutral terms: what the fold consumes.
//!
//! Vendor adapters (e.g. `ringside-gamma`) parse their wire format into a
//! [`PbxEvent`]; the raw body is journaled alongside it.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::call::{LegState, Transcript};

/// Why a leg reached its state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case", tag = "kind", content = "value")]
pub enum StateCause {
    /// `causeNormal`
    Normal,
    /// `causeTransfer`: the leg ended because the call moved to another leg.
    Transfer,
    /// `causeBusy` and similar: the far end was busy.
    Busy,
    /// `informative`: not a state change (recording, transcript, app data).
    Informative,
    /// Anything else the vendor sent, kept verbatim.
    Other(String),
}

/// What happened.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum EventKind {
    /// A leg changed state.
    Leg { state: LegState },
    /// The recording of the call is available (the URL, when the PBX sends one).
    RecordingAvailable { url: Option<String> },
    /// The transcript of the recording is available.
    TranscriptionAvailable { transcript: Transcript },
    /// Application data (e.g. IVR digits) was entered.
    AppData { data: String },
    /// A state this version does not know. Journaled, ignored by the fold.
    Unknown { state: String },
}

/// One event of one leg, as reported by the PBX.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PbxEvent {
    /// Provider name, e.g. `gamma`.
    pub provider: String,
    /// The id of the first call of a transfer chain (Gamma `firstCallId`), when sent.
    pub root_call_id: Option<String>,
    /// The provider's id of this call/leg (Gamma `callId`, e.g. `471900` or `1558393109565.1`).
    pub call_id: String,
    /// The provider's leg id (Gamma `callLegId`), when sent.
    pub leg_id: Option<String>,
    /// The call this one was transferred from (Gamma `originalCallId`).
    pub original_call_id: Option<String>,
    pub kind: EventKind,
    pub cause: StateCause,
    /// When the PBX says it happened (`eventTimestamp` or `lastModificationTime`).
    pub at: Option<DateTime<Utc>>,
    /// The agent extension that sends or receives this leg.
    pub extension: Option<String>,
    /// Whether the leg is incoming to `extension`.
    pub incoming: Option<bool>,
    pub recording: Option<bool>,
    /// The other party as the PBX shows it (Gamma `displayedNumber`), raw.
    pub remote_number: Option<String>,
    /// The other party's label (Gamma `displayedLabel`).
    pub remote_label: Option<String>,
    /// Ringside's own id echoed back for calls it dialed (`X-VTCRM-External-Call-Id`).
    pub external_call_id: Option<String>,
}

impl PbxEvent {
    /// The state this event reports, when it is a leg state change.
    pub fn leg_state(&self) -> Option<LegState> {
        match &self.kind {
            EventKind::Leg { state } => Some(*state),
            _ => None,
        }
    }

    /// The name of the state as a string, for dedup keys and the journal.
    pub fn state_name(&self) -> String {
        match &self.kind {
            EventKind::Leg { state } => state.as_str().to_string(),
            EventKind::RecordingAvailable { .. } => "recordingAvailable".into(),
            EventKind::TranscriptionAvailable { .. } => "transcriptionAvailable".into(),
            EventKind::AppData { .. } => "appDataAvailable".into(),
            EventKind::Unknown { state } => state.clone(),
        }
    }
}
