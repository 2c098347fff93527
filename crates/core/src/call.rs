//! The logical call: what agents and CRMs care about, folded from PBX legs.

use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::event::StateCause;

/// Ringside's own id for a logical call: stable, unique, time-ordered.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(transparent)]
pub struct CallId(pub String);

impl CallId {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for CallId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<&str> for CallId {
    fn from(s: &str) -> Self {
        Self(s.to_string())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    Inbound,
    Outbound,
}

impl Direction {
    pub fn as_str(self) -> &'static str {
        match self {
            Direction::Inbound => "inbound",
            Direction::Outbound => "outbound",
        }
    }
}

/// How a finished call ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Answered,
    /// Inbound, never reached `talking`.
    Missed,
    /// Outbound, never reached `talking`.
    NoAnswer,
    Busy,
    /// Closed by the reconciliation timeout, or failed at the PBX.
    Failed,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Answered => "answered",
            Outcome::Missed => "missed",
            Outcome::NoAnswer => "no_answer",
            Outcome::Busy => "busy",
            Outcome::Failed => "failed",
        }
    }
}

/// Where the call is now.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum CallStatus {
    /// Dialed by Ringside, no PBX event yet.
    Dialing,
    /// Ringing at the agent (inbound) or the customer (outbound).
    Ringing,
    Talking,
    /// The last leg ended by transfer; the next leg has not shown up yet.
    Transferring,
    Ended,
}

impl CallStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            CallStatus::Dialing => "dialing",
            CallStatus::Ringing => "ringing",
            CallStatus::Talking => "talking",
            CallStatus::Transferring => "transferring",
            CallStatus::Ended => "ended",
        }
    }
}

/// The state of one leg. Order matters: a leg never moves backwards.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum LegState {
    /// Calls triggered through the API start with an extra `prompting` event.
    Prompting,
    /// Inbound: the agent's phone rings.
    Ringing,
    /// Outbound (or a transferred leg): the far end is being alerted.
    Alerting,
    Talking,
    Dropped,
}

impl LegState {
    pub fn as_str(self) -> &'static str {
        match self {
            LegState::Prompting => "prompting",
            LegState::Ringing => "ringing",
            LegState::Alerting => "alerting",
            LegState::Talking => "talking",
            LegState::Dropped => "dropped",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "prompting" => LegState::Prompting,
            "ringing" => LegState::Ringing,
            "alerting" => LegState::Alerting,
            "talking" => LegState::Talking,
            "dropped" => LegState::Dropped,
            _ => return None,
        })
    }

    /// `ringing` and `alerting` are the same step in the call's life.
    pub fn rank(self) -> u8 {
        match self {
            LegState::Prompting => 0,
            LegState::Ringing | LegState::Alerting => 1,
            LegState::Talking => 2,
            LegState::Dropped => 3,
        }
    }
}

/// One state a leg reached, first time seen.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct StateMark {
    pub state: LegState,
    pub at: DateTime<Utc>,
    pub cause: StateCause,
}

/// One leg of a logical call: the provider's `callId` + `callLegId` at one extension.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Leg {
    /// Provider call id of the leg (Gamma `callId`, `X` or `X.1`).
    pub provider_call_id: String,
    /// Provider leg id (Gamma `callLegId`), if sent.
    pub provider_leg_id: Option<String>,
    pub extension: Option<String>,
    pub incoming: Option<bool>,
    /// The call this leg was transferred from.
    pub transferred_from: Option<String>,
    /// The states it reached, in rank order, each with its first timestamp.
    pub states: Vec<StateMark>,
}

impl Leg {
    pub fn reached(&self, state: LegState) -> Option<&StateMark> {
        self.states.iter().find(|m| m.state == state)
    }

    /// The furthest state reached.
    pub fn current(&self) -> Option<&StateMark> {
        self.states.iter().max_by_key(|m| (m.state.rank(), m.at))
    }

    /// When the leg was first seen.
    pub fn first_at(&self) -> Option<DateTime<Utc>> {
        self.states.iter().map(|m| m.at).min()
    }
}

/// One line of a transcript.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct TranscriptSegment {
    pub text: String,
    pub confidence: Option<f64>,
    /// Seconds from the start of the recording where this segment ends.
    pub end_seconds: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Transcript {
    pub segments: Vec<TranscriptSegment>,
}

impl Transcript {
    /// The whole text, segments joined by newlines.
    pub fn text(&self) -> String {
        self.segments
            .iter()
            .map(|s| s.text.trim())
            .collect::<Vec<_>>()
            .join("\n")
    }
}

/// One logical call (integration spec §1).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Call {
    pub id: CallId,
    pub provider: String,
    /// The root id of the provider's transfer chain (Gamma `firstCallId`, else `callId`).
    pub provider_call_id: String,
    /// Set for calls Ringside dialed: the id sent as `X-VTCRM-External-Call-Id`.
    pub external_call_id: Option<String>,
    pub direction: Direction,
    /// The customer: E.164 when it parses, else the raw string; `anonymous` stays `anonymous`.
    pub remote_number: String,
    /// The raw number as the PBX showed it.
    pub remote_raw: Option<String>,
    pub remote_label: Option<String>,
    /// The agent extension that currently owns the call.
    pub extension: Option<String>,
    pub legs: Vec<Leg>,
    pub status: CallStatus,
    pub started_at: DateTime<Utc>,
    pub answered_at: Option<DateTime<Utc>>,
    pub ended_at: Option<DateTime<Utc>>,
    pub talk_seconds: i64,
    /// Set once the call has ended.
    pub outcome: Option<Outcome>,
    pub recording: bool,
    pub recording_url: Option<String>,
    pub transcript: Option<Transcript>,
    pub app_data: Vec<String>,
    pub notes: Option<String>,
    pub disposition: Option<String>,
    /// Closed by the reconciliation timeout rather than by a PBX event.
    pub reconciled: bool,
    /// When Ringside last changed this call (for reconciliation).
    pub last_event_at: DateTime<Utc>,
}

impl Call {
    /// A call with no facts yet: inbound, ringing, no number.
    pub fn new(
        id: CallId,
        provider: &str,
        provider_call_id: String,
        started_at: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Call {
        Call {
            id,
            provider: provider.to_string(),
            provider_call_id,
            external_call_id: None,
            direction: Direction::Inbound,
            remote_number: String::new(),
            remote_raw: None,
            remote_label: None,
            extension: None,
            legs: Vec::new(),
            status: CallStatus::Ringing,
            started_at,
            answered_at: None,
            ended_at: None,
            talk_seconds: 0,
            outcome: None,
            recording: false,
            recording_url: None,
            transcript: None,
            app_data: Vec::new(),
            notes: None,
            disposition: None,
            reconciled: false,
            last_event_at: now,
        }
    }

    /// The leg that currently owns the call: the latest leg that has not dropped,
    /// else the latest leg.
    pub fn current_leg(&self) -> Option<&Leg> {
        let by_time = |l: &&Leg| l.first_at();
        self.legs
            .iter()
            .filter(|l| l.reached(LegState::Dropped).is_none())
            .max_by_key(by_time)
            .or_else(|| self.legs.iter().max_by_key(by_time))
    }

    /// Every extension that took part, in order of first appearance.
    pub fn extensions(&self) -> Vec<String> {
        let mut legs: Vec<&Leg> = self.legs.iter().collect();
        legs.sort_by_key(|l| l.first_at());
        let mut out: Vec<String> = Vec::new();
        for l in legs {
            if let Some(e) = &l.extension
                && !out.contains(e)
            {
                out.push(e.clone());
            }
        }
        out
    }

    /// Whether `extension` took part in the call.
    pub fn involves(&self, extension: &str) -> bool {
        self.legs
            .iter()
            .any(|l| l.extension.as_deref() == Some(extension))
            || self.extension.as_deref() == Some(extension)
    }

    pub fn is_ended(&self) -> bool {
        self.status == CallStatus::Ended
    }
}
