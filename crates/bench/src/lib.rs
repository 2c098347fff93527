//! Ringside's benchmarks, each measured against a baseline in the same run
//! so that the ratios mean something on a shared, noisy machine.
//!
//! - [`journal`]: events/s through the journal's writer thread, group commit
//!   with fsync vs without fsync vs one event per commit.
//! - [`intake`]: webhook requests/s into a real hub (journaled with fsync
//!   before the 200) vs a bare axum handler that only parses the JSON.
//! - [`live`]: webhook → agent SSE stream latency through the hub vs a bare
//!   broadcast-to-SSE app.
//! - [`crm`]: who-is-calling latency through the lookup cache in front of a
//!   slowed Vtiger (warm and stale hits vs cold lookups), and deliveries/s
//!   through the durable outbox vs calling the adapter directly.
//!
//! Every run is bounded in events and in time and talks only to
//! `127.0.0.1`. [`workload`] builds the Gamma event bodies, [`harness`]
//! starts the servers, [`report`] prints tables and writes JSON. The
//! `ringside-bench` binary runs them; `tests/smoke.rs` runs them tiny.

pub mod crm;
pub mod harness;
pub mod intake;
pub mod journal;
pub mod live;
pub mod report;
pub mod workload;
