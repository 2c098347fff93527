//! The running emulator as tests and the demo drive it.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::api::API_PREFIX;
use crate::callbacks::{CallbackTarget, EmitError, SentEvent, delivered};
use crate::calls::Playback;
use crate::faults::Fault;
use crate::listener::OutageSwitch;
use crate::scenario::Scenario;
use crate::state::{RecordedRequest, Shared, lock};

/// A running emulator. Dropping it shuts the server down.
pub struct EmulatorHandle {
    pub(crate) shared: Arc<Shared>,
    pub(crate) addr: SocketAddr,
    pub(crate) outage: OutageSwitch,
    pub(crate) stop: watch::Sender<bool>,
    pub(crate) server: Option<JoinHandle<()>>,
}

impl EmulatorHandle {
    /// The base URL of the requests API: `http://127.0.0.1:PORT/vtcrm/api`.
    pub fn base_url(&self) -> String {
        format!("http://{}{API_PREFIX}", self.addr)
    }

    /// The address the server listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The API key the emulator accepts.
    pub fn api_key(&self) -> &str {
        &self.shared.config.api_key
    }

    /// Every request received since the last clear, in arrival order.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.shared.requests()
    }

    /// Forgets the recorded requests.
    pub fn clear_requests(&self) {
        self.shared.clear_requests();
    }

    /// The first recorded request to this API method (e.g. "call"), waiting
    /// up to `timeout` for one to arrive.
    pub async fn wait_for_request(&self, path: &str, timeout: Duration) -> Option<RecordedRequest> {
        let mut changes = self.shared.watch_requests();
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            changes.borrow_and_update();
            if let Some(found) = self.requests().into_iter().find(|r| r.path == path) {
                return Some(found);
            }
            if tokio::time::timeout_at(deadline, changes.changed())
                .await
                .is_err()
            {
                return None;
            }
        }
    }

    /// Arms a fault for the next `times` requests (`None`: until
    /// [`clear_faults`](Self::clear_faults)). `Fault::Down` closes the port
    /// at once and lasts until cleared.
    pub async fn inject(&self, fault: Fault, times: Option<u32>) {
        let down = fault == Fault::Down;
        lock(&self.shared.faults).arm(fault, times);
        if down && let Err(error) = self.outage.down().await {
            tracing::warn!(%error, "could not take the emulator down");
        }
    }

    /// Removes every fault; after an outage the API listens again on the
    /// same port before this returns.
    pub async fn clear_faults(&self) {
        let was_down = {
            let mut faults = lock(&self.shared.faults);
            let down = faults.is_down();
            faults.clear();
            down
        };
        if was_down && let Err(error) = self.outage.up().await {
            tracing::warn!(%error, "could not bring the emulator back up");
        }
    }

    /// Sets where events go, as a `configure` request would (keeping any
    /// allowed addresses).
    pub fn configure_callback(
        &self,
        url: &str,
        headers: &[(String, String)],
        parameters: &[(String, String)],
    ) {
        let callbacks = &self.shared.events.callbacks;
        let allowed = callbacks
            .target()
            .map(|t| t.allowed_ip_addresses)
            .unwrap_or_default();
        callbacks.set_target(CallbackTarget {
            url: url.to_owned(),
            headers: headers.to_vec(),
            parameters: parameters.to_vec(),
            allowed_ip_addresses: allowed,
        });
    }

    /// Where events currently go, if configured.
    pub fn callback(&self) -> Option<CallbackTarget> {
        self.shared.events.callbacks.target()
    }

    /// POSTs one event to the callback after every event queued before it,
    /// with `extra_headers` besides the configured ones; returns the
    /// receiver's status.
    pub async fn emit(
        &self,
        event: Value,
        extra_headers: &[(String, String)],
    ) -> Result<u16, EmitError> {
        self.emit_with(event, extra_headers, &[]).await
    }

    /// Like [`emit`](Self::emit), with extra query parameters too.
    pub async fn emit_with(
        &self,
        event: Value,
        extra_headers: &[(String, String)],
        extra_parameters: &[(String, String)],
    ) -> Result<u16, EmitError> {
        let queued =
            self.shared
                .events
                .enqueue(event, extra_headers.to_vec(), extra_parameters.to_vec());
        delivered(queued).await
    }

    /// Every event delivery attempted, in order.
    pub fn sent_events(&self) -> Vec<SentEvent> {
        self.shared.events.callbacks.sent()
    }

    /// Waits until at least `count` deliveries were attempted (or `timeout`
    /// passed) and returns them all.
    pub async fn wait_for_events(&self, count: usize, timeout: Duration) -> Vec<SentEvent> {
        let mut sent = self.shared.events.callbacks.watch_sent();
        let _ = tokio::time::timeout(timeout, sent.wait_for(|n| *n >= count)).await;
        self.sent_events()
    }

    /// The ids of the calls in progress (triggered, or played and not yet
    /// dropped).
    pub fn active_calls(&self) -> Vec<String> {
        lock(&self.shared.calls).active_ids()
    }

    /// Emits a scenario's steps in order, sleeping each step's delay divided
    /// by `speed` (values ≤ 0 mean no delay), and tracks its calls as active
    /// until dropped so `drop` and `redirectIncoming` work on them; events of
    /// a call ended through the API are then skipped. Returns the statuses
    /// of the events sent; stops at the first failed delivery.
    pub async fn play(&self, scenario: &Scenario, speed: f64) -> Result<Vec<u16>, EmitError> {
        let mut playback = Playback::default();
        let mut statuses = Vec::new();
        for step in &scenario.steps {
            if speed > 0.0 && !step.delay.is_zero() {
                tokio::time::sleep(step.delay.div_f64(speed)).await;
            }
            if let Some(queued) = playback.queue(&self.shared, &step.event) {
                statuses.push(delivered(queued).await?);
            }
        }
        Ok(statuses)
    }

    /// Plays scenarios one after another (see [`play`](Self::play)).
    pub async fn play_all(
        &self,
        scenarios: &[Scenario],
        speed: f64,
    ) -> Result<Vec<u16>, EmitError> {
        let mut statuses = Vec::new();
        for scenario in scenarios {
            statuses.extend(self.play(scenario, speed).await?);
        }
        Ok(statuses)
    }

    /// Stops the server gracefully and waits for it to finish.
    pub async fn shutdown(mut self) {
        self.stop.send_replace(true);
        if let Some(server) = self.server.take() {
            let _ = server.await;
        }
    }
}

impl Drop for EmulatorHandle {
    fn drop(&mut self) {
        self.stop.send_replace(true);
    }
}
