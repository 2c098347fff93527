//! Every example event of the vendor document, one JSON array per scenario.
//!
//! The fixtures are verbatim copies of `gamma-crm-api.txt` except for two
//! typos fixed so they are strict JSON: a missing comma after
//! `"originalIsIncoming":"false"` in the third transfer event, and one before
//! `"stateCause"` in the transcription event. Other crates replay them in
//! their tests through [`all`] and [`bodies`].

use ringside_core::{Error, Result};
use serde_json::Value;

/// The first example under "Event callback notification" (with `originalDialedNumber`).
pub const EVENT_ATTRIBUTES_EXAMPLE: &str =
    include_str!("../fixtures/seed/event_attributes_example.json");
/// Incoming call from 0647460197 to extension 203: ringing, talking, dropped.
/// (The vendor's example says `firstIsIncoming: "false"`; kept verbatim.)
pub const INCOMING_ANSWERED: &str = include_str!("../fixtures/seed/incoming_answered.json");
/// Incoming call never answered: ringing, dropped (with `lastModificationTime`).
pub const INCOMING_MISSED: &str = include_str!("../fixtures/seed/incoming_missed.json");
/// Outgoing call from 203, answered: alerting, talking, dropped.
pub const OUTGOING_ANSWERED: &str = include_str!("../fixtures/seed/outgoing_answered.json");
/// Outgoing call from 203, not answered: alerting, dropped (with `lineId`).
pub const OUTGOING_UNANSWERED: &str = include_str!("../fixtures/seed/outgoing_unanswered.json");
/// A transfer chain: dropped with `causeTransfer`, then `X.1` and `X.2` alerting.
pub const TRANSFER: &str = include_str!("../fixtures/seed/transfer.json");
/// A `recordingAvailable` event.
pub const RECORDING: &str = include_str!("../fixtures/seed/recording.json");
/// A `transcriptionAvailable` event (Google Speech format).
pub const TRANSCRIPTION: &str = include_str!("../fixtures/seed/transcription.json");
/// An `appDataAvailable` event (IVR digits).
pub const APP_DATA: &str = include_str!("../fixtures/seed/app_data.json");

/// Every scenario as `(name, JSON array text)`, the name being the fixture's file stem.
pub fn all() -> Vec<(&'static str, &'static str)> {
    vec![
        ("event_attributes_example", EVENT_ATTRIBUTES_EXAMPLE),
        ("incoming_answered", INCOMING_ANSWERED),
        ("incoming_missed", INCOMING_MISSED),
        ("outgoing_answered", OUTGOING_ANSWERED),
        ("outgoing_unanswered", OUTGOING_UNANSWERED),
        ("transfer", TRANSFER),
        ("recording", RECORDING),
        ("transcription", TRANSCRIPTION),
        ("app_data", APP_DATA),
    ]
}

/// Split a scenario (a JSON array) into one request body per event, in order,
/// ready for [`crate::parse_event`] or to be posted to a webhook.
pub fn bodies(scenario: &str) -> Result<Vec<String>> {
    match serde_json::from_str::<Value>(scenario) {
        Ok(Value::Array(events)) => Ok(events.iter().map(Value::to_string).collect()),
        Ok(_) => Err(Error::invalid("a scenario must be a JSON array of events")),
        Err(e) => Err(Error::invalid(format!("scenario is not valid JSON: {e}"))),
    }
}
