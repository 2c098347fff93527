//! `ringside-client`: the agent API of `ringside-hub`, from the other side.
//!
//! [`HubClient`] has one method per route and answers in Ringside's error
//! vocabulary: the hub's `{"code","message"}` becomes a
//! [`ringside_core::Error`] of the same [`ErrorKind`](ringside_core::ErrorKind)
//! (in one place, [`parse_error`]); a hub that cannot be reached is
//! `Unavailable`, one that does not answer in time is `Timeout`.
//!
//! [`HubClient::live`] is the live call feed: a [`futures::Stream`] of
//! [`LiveEvent`]s over the hub's Server-Sent Events that reconnects by itself
//! with capped exponential backoff and resumes after the last sequence number
//! it saw, so every update arrives once and in order.
//!
//! The desktop app uses this client in every mode: against a remote hub, and
//! against the hub it runs in-process (`ringside_hub::embedded`).

mod client;
mod error;
mod live;
mod sse;

pub use client::HubClient;
pub use error::parse_error;
pub use live::{LiveEvent, LiveFeed};
pub use ringside_api as api;
pub use sse::{SseEvent, SseParser};
