//! `ringside-hub`: the headless Ringside server for teams.
//!
//! One Gamma webhook, many agents. The PBX posts call events to
//! `POST /webhooks/gamma` ([`webhook`]); each is checked (source network,
//! shared secret, size, shape), journaled durably and folded into its logical
//! call by the [`ringside_engine::Engine`] before the PBX hears 200. Agents
//! use the bearer-token API under `/api/v1` ([`api`]) and follow their calls
//! live over Server-Sent Events ([`stream`]).
//!
//! Code map: [`config`] (the TOML file, secret references), [`secrets`] (env
//! and OS keyring), [`state`] (what handlers share), [`server`] (`app`,
//! `run`, the connection cap), [`error`] (`{code, message}` answers),
//! [`hub`] (wiring from config), [`embedded`] (a hub in-process for one
//! agent: the desktop app's demo and embedded modes), [`demo`] (the
//! self-contained demo, printed), [`replay`] (post recorded events to a
//! hub), [`contacts`] and [`status`] (agent routes beyond calls). The wire
//! types are `ringside-api`'s.

pub mod api;
pub mod config;
pub mod contacts;
pub mod crms;
pub mod demo;
pub mod embedded;
pub mod error;
pub mod hub;
pub mod replay;
pub mod secrets;
pub mod server;
pub mod state;
pub mod status;
pub mod stream;
pub mod webhook;
pub mod zoho;

pub use config::{Config, SecretRef};
pub use server::{app, run};
pub use state::{Agent, AppState, Limits, WebhookAuth};
