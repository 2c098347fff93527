//! The Gamma events wire format: one JSON object per POST to our callback.
//!
//! [`GammaEvent`] carries every attribute the vendor document lists, read
//! leniently (see [`crate::lenient`]): booleans as strings, ids as numbers,
//! unknown attributes ignored, unknown states kept. [`parse_event`] turns a
//! request body into the provider-neutral [`PbxEvent`] the fold consumes.

use chrono::{DateTime, Utc};
use ringside_core::call::TranscriptSegment;
use ringside_core::{Error, EventKind, LegState, PbxEvent, Result, StateCause, Transcript};
use serde::{Deserialize, Serialize, Serializer};
use serde_json::{Map, Value};

use crate::lenient::{Fields, flag, millis, speech_seconds, text, type_name};

/// The provider name Gamma events carry in [`PbxEvent::provider`].
pub const PROVIDER: &str = "gamma";

/// One Gamma event exactly as documented, with lenient types.
///
/// Deserialising checks the shape (required `callId` and `state`, field
/// types, timestamps); serialising writes the vendor's own shape (booleans
/// and timestamps as strings), which is what the emulator and fixtures use.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(try_from = "Map<String, Value>", rename_all = "camelCase")]
pub struct GammaEvent {
    /// `callId`: the id of the call (`X`, or `X.1` after a transfer).
    pub call_id: String,
    /// `callLegId`: the id of this leg.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub call_leg_id: Option<String>,
    /// `displayedExternalNumber`: the other party's long number.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub displayed_external_number: Option<String>,
    /// `displayedLabel`: the other party's label.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub displayed_label: Option<String>,
    /// `displayedNumber`: the other party's number as dialed/shown (`anonymous` when hidden).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub displayed_number: Option<String>,
    /// `isIncoming`: whether the leg is incoming to `extension`.
    #[serde(skip_serializing_if = "Option::is_none", serialize_with = "flag_str")]
    pub is_incoming: Option<bool>,
    /// `isRecording`: whether the call is being recorded.
    #[serde(skip_serializing_if = "Option::is_none", serialize_with = "flag_str")]
    pub is_recording: Option<bool>,
    /// `eventTimestamp`, in milliseconds since the epoch.
    #[serde(skip_serializing_if = "Option::is_none", serialize_with = "millis_str")]
    pub event_timestamp: Option<i64>,
    /// `lastModificationTime`, in milliseconds since the epoch (sent instead of
    /// `eventTimestamp` on some events).
    #[serde(skip_serializing_if = "Option::is_none", serialize_with = "millis_str")]
    pub last_modification_time: Option<i64>,
    /// `state`: `prompting`, `ringing`, `alerting`, `talking`, `dropped`,
    /// `recordingAvailable`, `transcriptionAvailable`, `appDataAvailable`, or
    /// anything newer.
    pub state: String,
    /// `stateCause`: `causeNormal`, `causeTransfer`, `informative`...
    #[serde(skip_serializing_if = "Option::is_none")]
    pub state_cause: Option<String>,
    /// `extension`: the extension that sends or receives the call.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub extension: Option<String>,
    /// `originallyFrom`: the source of the call this one was transferred from.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub originally_from: Option<String>,
    /// `originallyTo`: the destination of the call this one was transferred from.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub originally_to: Option<String>,
    /// `originalIsIncoming`: the direction of the call this one was transferred from.
    #[serde(skip_serializing_if = "Option::is_none", serialize_with = "flag_str")]
    pub original_is_incoming: Option<bool>,
    /// `originalCallId`: the call this one was transferred from.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub original_call_id: Option<String>,
    /// `firstFrom`: the source of the first call of the transfer chain.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub first_from: Option<String>,
    /// `firstTo`: the destination of the first call of the transfer chain.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub first_to: Option<String>,
    /// `firstIsIncoming`: the direction of the first call of the chain.
    #[serde(skip_serializing_if = "Option::is_none", serialize_with = "flag_str")]
    pub first_is_incoming: Option<bool>,
    /// `firstCallId`: the first call of the transfer chain (the logical call's root).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub first_call_id: Option<String>,
    /// `originalDialedNumber`: what the user dialed before any redirection.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub original_dialed_number: Option<String>,
    /// `lineId`: seen in the vendor's examples, undocumented.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line_id: Option<String>,
    /// `recordingURL` (on `recordingAvailable`).
    #[serde(rename = "recordingURL", skip_serializing_if = "Option::is_none")]
    pub recording_url: Option<String>,
    /// `transcription` (on `transcriptionAvailable`), Google Speech format.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub transcription: Option<SpeechTranscription>,
    /// `appData` (on `appDataAvailable`): e.g. digits typed into an IVR.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub app_data: Option<String>,
}

/// A transcription in the Google Speech-to-Text response format.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct SpeechTranscription {
    /// One result per stretch of speech, in order.
    #[serde(default)]
    pub results: Vec<SpeechResult>,
}

/// One Google Speech result.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SpeechResult {
    /// Candidate transcripts, most likely first.
    #[serde(default)]
    pub alternatives: Vec<SpeechAlternative>,
    /// Where the result ends in the recording, e.g. `"5.640s"`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result_end_time: Option<String>,
}

/// One candidate transcript of a Google Speech result.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct SpeechAlternative {
    /// The recognised text.
    #[serde(default)]
    pub transcript: String,
    /// The recogniser's confidence, 0 to 1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub confidence: Option<f64>,
}

impl SpeechTranscription {
    /// The transcript in Ringside's terms: the first (most likely) alternative
    /// of each result, with its end time in seconds.
    pub fn to_transcript(&self) -> Transcript {
        let segments = self
            .results
            .iter()
            .filter_map(|r| {
                let best = r.alternatives.first()?;
                Some(TranscriptSegment {
                    text: best.transcript.clone(),
                    confidence: best.confidence,
                    end_seconds: r.result_end_time.as_deref().and_then(speech_seconds),
                })
            })
            .collect();
        Transcript { segments }
    }
}

/// Map a Gamma `stateCause` onto the shared vocabulary.
pub fn parse_state_cause(raw: &str) -> StateCause {
    match raw {
        "causeNormal" => StateCause::Normal,
        "causeTransfer" => StateCause::Transfer,
        "informative" => StateCause::Informative,
        other if other.to_ascii_lowercase().contains("busy") => StateCause::Busy,
        other => StateCause::Other(other.to_string()),
    }
}

/// Parse one event body (the raw bytes the PBX posted) into a [`PbxEvent`].
///
/// `external_call_id` is the `X-VTCRM-External-Call-Id` header the PBX echoes
/// on events of calls Ringside dialed. Malformed bodies fail with
/// [`ringside_core::ErrorKind::Invalid`]; unknown states do not fail.
pub fn parse_event(body: &[u8], external_call_id: Option<&str>) -> Result<PbxEvent> {
    let value: Value = serde_json::from_slice(body)
        .map_err(|e| Error::invalid(format!("body is not valid JSON: {e}")))?;
    let event = match value {
        Value::Object(fields) => GammaEvent::try_from(fields)?,
        other => {
            return Err(Error::invalid(format!(
                "event body must be a JSON object, got {}",
                type_name(&other)
            )));
        }
    };
    event.into_pbx_event(external_call_id)
}

impl GammaEvent {
    /// When the PBX says the event happened: `eventTimestamp`, else `lastModificationTime`.
    pub fn at(&self) -> Option<DateTime<Utc>> {
        self.event_timestamp
            .or(self.last_modification_time)
            .and_then(DateTime::from_timestamp_millis)
    }

    /// What happened. Unknown states become [`EventKind::Unknown`]; an
    /// informative state without its payload is invalid (but a
    /// `recordingAvailable` without a URL is fine).
    pub fn kind(&self) -> Result<EventKind> {
        let state = self.state.trim();
        if let Some(leg) =
            LegState::parse(state).or_else(|| LegState::parse(&state.to_ascii_lowercase()))
        {
            return Ok(EventKind::Leg { state: leg });
        }
        let missing = |field: &str| {
            Error::invalid(format!(
                "a `{state}` event must carry `{field}` (call {})",
                self.call_id
            ))
        };
        Ok(match state.to_ascii_lowercase().as_str() {
            // The vendor leaves the exchange of recordings to each partner, so
            // the URL may be absent: the call is still marked as recorded.
            "recordingavailable" => EventKind::RecordingAvailable {
                url: self.recording_url.clone(),
            },
            "transcriptionavailable" => EventKind::TranscriptionAvailable {
                transcript: self
                    .transcription
                    .as_ref()
                    .ok_or_else(|| missing("transcription"))?
                    .to_transcript(),
            },
            "appdataavailable" => EventKind::AppData {
                data: self.app_data.clone().ok_or_else(|| missing("appData"))?,
            },
            _ => EventKind::Unknown {
                state: self.state.clone(),
            },
        })
    }

    /// The cause; when absent, `Informative` for informative events and
    /// `Normal` for leg states.
    pub fn cause(&self, kind: &EventKind) -> StateCause {
        match (&self.state_cause, kind) {
            (Some(raw), _) => parse_state_cause(raw),
            (None, EventKind::Leg { .. } | EventKind::Unknown { .. }) => StateCause::Normal,
            (None, _) => StateCause::Informative,
        }
    }

    /// The provider-neutral event. `external_call_id` as in [`parse_event`].
    pub fn into_pbx_event(self, external_call_id: Option<&str>) -> Result<PbxEvent> {
        let kind = self.kind()?;
        let cause = self.cause(&kind);
        let at = self.at();
        Ok(PbxEvent {
            provider: PROVIDER.to_string(),
            root_call_id: self.first_call_id,
            call_id: self.call_id,
            leg_id: self.call_leg_id,
            original_call_id: self.original_call_id,
            kind,
            cause,
            at,
            extension: self.extension,
            incoming: self.is_incoming,
            recording: self.is_recording,
            remote_number: self.displayed_number.or(self.displayed_external_number),
            remote_label: self.displayed_label,
            external_call_id: external_call_id
                .map(str::trim)
                .filter(|id| !id.is_empty())
                .map(str::to_string),
        })
    }
}

impl TryFrom<Fields> for GammaEvent {
    type Error = Error;

    fn try_from(f: Fields) -> Result<Self> {
        let call_id = match f.get("callId") {
            None | Some(Value::Null) => return Err(Error::invalid("missing `callId`")),
            Some(_) => text(&f, "callId")?.ok_or_else(|| Error::invalid("`callId` is empty"))?,
        };
        let state = match f.get("state") {
            None | Some(Value::Null) => {
                return Err(Error::invalid(format!("missing `state` (call {call_id})")));
            }
            Some(_) => text(&f, "state")?
                .ok_or_else(|| Error::invalid(format!("`state` is empty (call {call_id})")))?,
        };
        let event = GammaEvent {
            call_id,
            call_leg_id: text(&f, "callLegId")?,
            displayed_external_number: text(&f, "displayedExternalNumber")?,
            displayed_label: text(&f, "displayedLabel")?,
            displayed_number: text(&f, "displayedNumber")?,
            is_incoming: flag(&f, "isIncoming")?,
            is_recording: flag(&f, "isRecording")?,
            event_timestamp: timestamp(&f, "eventTimestamp")?,
            last_modification_time: timestamp(&f, "lastModificationTime")?,
            state,
            state_cause: text(&f, "stateCause")?,
            extension: text(&f, "extension")?,
            originally_from: text(&f, "originallyFrom")?,
            originally_to: text(&f, "originallyTo")?,
            original_is_incoming: flag(&f, "originalIsIncoming")?,
            original_call_id: text(&f, "originalCallId")?,
            first_from: text(&f, "firstFrom")?,
            first_to: text(&f, "firstTo")?,
            first_is_incoming: flag(&f, "firstIsIncoming")?,
            first_call_id: text(&f, "firstCallId")?,
            original_dialed_number: text(&f, "originalDialedNumber")?,
            line_id: text(&f, "lineId")?,
            recording_url: text(&f, "recordingURL")?,
            transcription: transcription(&f)?,
            app_data: text(&f, "appData")?,
        };
        Ok(event)
    }
}

/// A millisecond timestamp that chrono can represent.
fn timestamp(f: &Fields, name: &str) -> Result<Option<i64>> {
    let ms = millis(f, name)?;
    match ms {
        Some(v) if DateTime::from_timestamp_millis(v).is_none() => Err(Error::invalid(format!(
            "field `{name}` is out of range: {v}"
        ))),
        _ => Ok(ms),
    }
}

/// `transcription`: a Google Speech object, or the same as a JSON string; a
/// plain-text string becomes a single result.
fn transcription(f: &Fields) -> Result<Option<SpeechTranscription>> {
    let bad = |e: serde_json::Error| {
        Error::invalid(format!(
            "field `transcription` is not in the Google Speech format: {e}"
        ))
    };
    match f.get("transcription") {
        None | Some(Value::Null) => Ok(None),
        Some(v @ Value::Object(_)) => SpeechTranscription::deserialize(v).map(Some).map_err(bad),
        Some(Value::String(s)) => match serde_json::from_str::<Value>(s) {
            Ok(v @ Value::Object(_)) => SpeechTranscription::deserialize(&v).map(Some).map_err(bad),
            _ => Ok(Some(SpeechTranscription {
                results: vec![SpeechResult {
                    alternatives: vec![SpeechAlternative {
                        transcript: s.clone(),
                        confidence: None,
                    }],
                    result_end_time: None,
                }],
            })),
        },
        Some(other) => Err(Error::invalid(format!(
            "field `transcription` must be an object, got {}",
            type_name(other)
        ))),
    }
}

fn flag_str<S: Serializer>(v: &Option<bool>, s: S) -> std::result::Result<S::Ok, S::Error> {
    match v {
        Some(b) => s.serialize_str(if *b { "true" } else { "false" }),
        None => s.serialize_none(),
    }
}

fn millis_str<S: Serializer>(v: &Option<i64>, s: S) -> std::result::Result<S::Ok, S::Error> {
    match v {
        Some(ms) => s.collect_str(ms),
        None => s.serialize_none(),
    }
}
