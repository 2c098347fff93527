//! The Ringside engine: the use cases, written once.
//!
//! [`Engine::ingest`] journals a PBX event durably and folds it into its
//! logical call in the same transaction, then publishes the call update to
//! live subscribers. Dial, hang up, transfer, notes and lookup are one method
//! each, called by the hub's HTTP routes, the desktop app's commands and the
//! CLI alike. The engine knows no transport: the PBX is a
//! [`PbxControl`](ringside_core::PbxControl), the contact store a
//! [`ContactLookup`](ringside_core::ContactLookup), time a [`Clock`](ringside_core::Clock).

mod config;
mod engine;

pub use config::EngineConfig;
pub use engine::{Engine, IncomingEvent, Ingested, NumberInfo};
pub use ringside_journal::{CallFilter, CallUpdate, StoredEvent};
