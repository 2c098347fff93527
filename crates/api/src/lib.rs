//! The agent API's wire types: what `ringside-hub` answers under `/api/v1`
//! and what `ringside-client` sends and reads back. One definition for both
//! sides, so a shape cannot drift between server and client.
//!
//! Domain types that cross the wire unchanged ([`Call`], [`Contact`],
//! [`Extension`], [`LookupResult`]...) are re-exported from `ringside-core`.
//! Types whose server-side originals live in crates with storage behind them
//! ([`CallUpdate`], [`NumberInfo`], [`CallEvent`], [`NewContact`]) are
//! mirrored here with the same serde shape, so a client needs neither SQLite
//! nor the engine. The crate knows no HTTP library.
//!
//! With the `ts` feature, this crate's own types derive `ts_rs::TS`. Fields
//! of `ringside-core` types are declared by name (`Call`, `Contact`,
//! `Extension`, `LookupResult`): whoever exports the bindings provides those.

mod calls;
mod contacts;
mod crm;
mod error;
mod status;

pub use calls::{
    CallDetail, CallEvent, CallPage, CallQuery, CallUpdate, DialBody, Done, Me, NotesBody,
    TransferBody,
};
pub use contacts::{ContactsQuery, NewContact, NewPhone, NumberInfo};
pub use crm::{CrmCheck, CrmLink, CrmRetried, CrmRetryBody, CrmState, ParkedOp};
pub use error::{ErrorBody, kind_from_code};
pub use status::{Health, HubStatus, PbxState, PbxStatus};

pub use ringside_core::{
    Call, CallId, CallStatus, Company, Contact, ContactMatch, Deal, Direction, Extension,
    LookupResult, Outcome, PhoneEntry, RecordSource,
};

/// The agent API's path prefix.
pub const API_PREFIX: &str = "/api/v1";
/// Largest `limit` of `GET /api/v1/contacts`.
pub const MAX_CONTACTS: usize = 200;
/// `limit` of `GET /api/v1/contacts` when none is given.
pub const DEFAULT_CONTACTS: usize = 50;
