//! The CRM framework every CRM adapter plugs into.
//!
//! - [`CrmProvider`] (`provider.rs`): what an adapter is, with declared
//!   [`Capabilities`]; missing capabilities answer `unsupported`.
//! - [`Planner`] (`plan.rs`): which operations a logical call owes a CRM
//!   (integration spec §5), as a pure function of the call and the outbox.
//! - [`Outbox`] (`outbox.rs`): the durable, ordered, at-least-once delivery
//!   worker per CRM over the journal's outbox table.
//! - [`Throttle`] and [`Guarded`] (`layers.rs`): rate limit and deadline
//!   layers around any adapter.
//! - [`CachedLookup`] and [`CombinedLookup`] (`lookup.rs`): the lookup cache
//!   (hit/miss lifetimes, stale-while-refresh, one request per number) and the
//!   lookup over every source.
//! - [`AgentDirectory`] (`directory.rs`): PBX extension → CRM user.
//! - [`Crm`], [`CrmSet`], [`OutboxHook`] (`runtime.rs`): one enabled CRM
//!   assembled, all of them, and the engine's hook.
//!
//! No HTTP framework, no vendor: adapters live in their own crates.

mod directory;
mod layers;
mod lookup;
mod outbox;
mod plan;
mod provider;
mod runtime;
mod tokens;

pub use directory::AgentDirectory;
pub use layers::{Guarded, Limits, Throttle};
pub use lookup::{CacheSettings, CacheStats, CachedLookup, CombinedLookup};
pub use outbox::{DeliverySettings, Outbox, OutboxStatus, Pass, plan_in};
pub use plan::{OpData, PlanPolicy, Planner, record_external_ring};
pub use provider::{
    Capabilities, Capability, Confirmation, ConnectionInfo, CrmProvider, CrmUser, Delivered,
    NewContact, OpKind, Operation, PriorOp, unsupported,
};
pub use runtime::{Crm, CrmSet, CrmSettings, OutboxHook};
pub use tokens::{MemoryTokenStore, TokenStore};
