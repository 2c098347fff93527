//! An emulator of the Gamma CRM API, written from the vendor document
//! (`seeds/gamma-crm-api.txt`) and independent of the rest of Ringside. It
//! serves the requests API (`configure`, both extension lists, `call`,
//! `drop`, `redirectIncoming`) as strictly as the vendor describes it,
//! records every request, injects faults (error statuses, 429, latency, a
//! full outage), simulates call progress for triggered calls, and POSTs
//! events to the configured callback in order, one by one. Scenarios build
//! realistic event sequences; [`demo_script`] is a minute of demo traffic.

mod api;
mod callbacks;
mod calls;
mod config;
mod demo;
mod events;
mod faults;
mod handle;
mod listener;
mod requests;
pub mod scenario;
mod state;

use std::sync::Arc;

use tokio::net::TcpListener;
use tokio::sync::watch;

pub use api::API_PREFIX;
pub use callbacks::{CallbackTarget, EmitError, SentEvent};
pub use calls::{EXTERNAL_CALL_ID_HEADER, FIRST_CALL_ID};
pub use config::{DEFAULT_API_KEY, DialProgress, EmulatorConfig, default_extensions};
pub use demo::{DEMO_AGENT_EXTENSION, demo_script};
pub use events::{Displayed, Leg, OUTSIDE_LINE_PREFIX, Origin};
pub use faults::Fault;
pub use handle::EmulatorHandle;
pub use scenario::{Scenario, ScenarioBuilder, Step, direct_line};
pub use state::RecordedRequest;

/// Starts emulated PBXs.
pub struct Emulator;

impl Emulator {
    /// Binds `config.bind` (any free port on 127.0.0.1 by default) and
    /// serves the requests API until the handle is shut down or dropped.
    pub async fn start(config: EmulatorConfig) -> std::io::Result<EmulatorHandle> {
        let listener = TcpListener::bind(config.bind).await?;
        let (listener, outage) = listener::OutageListener::new(listener)?;
        let addr = axum::serve::Listener::local_addr(&listener)?;
        let (stop, stopping) = watch::channel(false);
        let shared = Arc::new(state::Shared::new(config, stopping.clone()));
        let server = tokio::spawn(run(listener, api::app(Arc::clone(&shared)), stopping));
        Ok(EmulatorHandle {
            shared,
            addr,
            outage,
            stop,
            server: Some(server),
        })
    }
}

/// Serves `app` on `listener` until `stopping` turns true.
async fn run(
    listener: listener::OutageListener,
    app: axum::Router,
    mut stopping: watch::Receiver<bool>,
) {
    let shutdown = async move {
        let _ = stopping.wait_for(|stop| *stop).await;
    };
    if let Err(error) = axum::serve(listener, app)
        .with_graceful_shutdown(shutdown)
        .await
    {
        tracing::warn!(%error, "gamma emulator server failed");
    }
}
