//! The Gamma CRM API adapter (the PBX behind `config.work.oigaa.com/vtcrm`).
//!
//! Two halves, as in the vendor document. **Events**: the PBX posts one JSON
//! object per leg state change; [`parse_event`] reads it leniently (strings
//! for booleans, numbers for ids, unknown states kept) into the
//! provider-neutral [`ringside_core::PbxEvent`]. **Requests**: [`GammaClient`]
//! configures the event callback, lists extensions and controls calls,
//! implementing [`ringside_core::PbxControl`], with every HTTP failure mapped
//! to the shared error kinds by [`parse_error`] and no automatic retry.
//! [`seed`] holds every example event of the vendor document for replay tests.

#![warn(missing_docs)]

mod client;
mod configure;
mod error;
mod lenient;
pub mod seed;
mod wire;

pub use client::{DEFAULT_TIMEOUT, GammaClient};
pub use configure::Configure;
pub use error::{parse_error, parse_retry_after};
pub use wire::{
    GammaEvent, PROVIDER, SpeechAlternative, SpeechResult, SpeechTranscription, parse_event,
    parse_state_cause,
};

/// The header carrying Ringside's id on events of calls it dialed (sent in
/// `request_callback_headers` of `call`, echoed by the PBX).
pub const EXTERNAL_CALL_ID_HEADER: &str = "X-VTCRM-External-Call-Id";
/// The header naming the PBX on every event request.
pub const PBX_ID_HEADER: &str = "X-VTCRM-PBXID";
