//! Ringside's domain, free of any transport: logical calls and the fold that
//! builds them from PBX leg events, phone-number normalisation, contacts and
//! deals, the shared error vocabulary, secrets and the injected clock.
//!
//! Nothing here knows about HTTP, JSON wire shapes of a vendor, SQLite or Tauri.

pub mod call;
pub mod clock;
pub mod contact;
pub mod error;
pub mod event;
pub mod fold;
pub mod pbx;
pub mod phone;
pub mod secret;

pub use call::{
    Call, CallId, CallStatus, Direction, Leg, LegState, Outcome, StateMark, Transcript,
};
pub use clock::{Clock, ManualClock, SystemClock};
pub use contact::{
    Company, Contact, ContactLookup, ContactMatch, Deal, LookupResult, MatchPolicy, PhoneEntry,
    RecordSource,
};
pub use error::{Error, ErrorKind, Result};
pub use event::{EventKind, PbxEvent, StateCause};
pub use pbx::{Extension, PbxControl};
pub use phone::{NumberPlan, NumberVariants, PhoneNumber};
pub use secret::Sensitive;
