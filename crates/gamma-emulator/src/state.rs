//! What the emulator remembers: the requests it saw, the faults armed, the
//! callback target (in the event queue) and the calls in progress.

use std::sync::{Mutex, MutexGuard, PoisonError};

use serde_json::Value;
use tokio::sync::watch;

use crate::callbacks::EventQueue;
use crate::calls::CallBook;
use crate::config::EmulatorConfig;
use crate::faults::FaultPlan;

/// One request the requests API received, accepted or not.
#[derive(Debug, Clone, PartialEq)]
pub struct RecordedRequest {
    /// The HTTP method ("POST", "GET"...).
    pub method: String,
    /// The API method: the path after `/vtcrm/api/` ("call", "drop"...).
    pub path: String,
    /// The request headers, names lowercased, in arrival order.
    pub headers: Vec<(String, String)>,
    /// The body as JSON, `Value::Null` when it was empty or not JSON.
    pub body: Value,
    /// The status the emulator answered with.
    pub status: u16,
}

impl RecordedRequest {
    /// The first value of a header (name matched case-insensitively).
    pub fn header(&self, name: &str) -> Option<&str> {
        let name = name.to_ascii_lowercase();
        self.headers
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// Locks a mutex, ignoring poisoning (the data stays usable for a test
/// double).
pub(crate) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The state shared by the server, the handle and background tasks.
pub(crate) struct Shared {
    pub(crate) config: EmulatorConfig,
    requests: Mutex<Vec<RecordedRequest>>,
    request_count: watch::Sender<usize>,
    pub(crate) faults: Mutex<FaultPlan>,
    pub(crate) events: EventQueue,
    pub(crate) calls: Mutex<CallBook>,
    pub(crate) stopping: watch::Receiver<bool>,
}

impl Shared {
    /// Fresh state; `stopping` turns true when the emulator shuts down.
    pub(crate) fn new(config: EmulatorConfig, stopping: watch::Receiver<bool>) -> Self {
        let events = EventQueue::start(config.pbx_id.clone());
        Self {
            config,
            requests: Mutex::new(Vec::new()),
            request_count: watch::channel(0).0,
            faults: Mutex::new(FaultPlan::default()),
            events,
            calls: Mutex::new(CallBook::default()),
            stopping,
        }
    }

    /// Records a served request.
    pub(crate) fn record(&self, request: RecordedRequest) {
        let mut all = lock(&self.requests);
        all.push(request);
        // Bump a counter rather than the length: clearing must still wake.
        self.request_count.send_modify(|n| *n += 1);
    }

    /// Every request recorded since the last clear.
    pub(crate) fn requests(&self) -> Vec<RecordedRequest> {
        lock(&self.requests).clone()
    }

    /// Forgets the recorded requests.
    pub(crate) fn clear_requests(&self) {
        lock(&self.requests).clear();
    }

    /// Watches the number of requests recorded.
    pub(crate) fn watch_requests(&self) -> watch::Receiver<usize> {
        self.request_count.subscribe()
    }
}
