//! Event callbacks: where `configure` says events go, and the single queue
//! that POSTs them there in order, one by one, each awaiting its answer.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use serde_json::Value;
use tokio::sync::{mpsc, oneshot, watch};

/// Where events are delivered, as set by `configure`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CallbackTarget {
    /// `events_callback_url`.
    pub url: String,
    /// `events_callback_headers`, sent as HTTP headers on every event.
    pub headers: Vec<(String, String)>,
    /// `events_callback_parameters`, sent as query parameters on every event.
    pub parameters: Vec<(String, String)>,
    /// `allowed_ip_addresses` (stored, not enforced: the emulator is local).
    pub allowed_ip_addresses: Vec<String>,
}

/// One event delivery the emulator attempted.
#[derive(Debug, Clone, PartialEq)]
pub struct SentEvent {
    /// The callback URL, without the query string.
    pub url: String,
    /// The query parameters sent (configured first, then per-call ones).
    pub query: Vec<(String, String)>,
    /// The headers sent, names as given (configured, per-call, then
    /// `X-VTCRM-PBXID`; `Content-Type` is always `application/json`).
    pub headers: Vec<(String, String)>,
    /// The JSON body.
    pub event: Value,
    /// The receiver's status, or `None` when the request failed.
    pub status: Option<u16>,
}

/// Why an event could not be delivered.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EmitError {
    /// No callback URL has been configured yet.
    #[error("no events callback is configured")]
    NotConfigured,
    /// The HTTP request to the callback failed (refused, timed out...).
    #[error("event delivery failed: {0}")]
    Delivery(String),
    /// The emulator is shutting down.
    #[error("the emulator has stopped")]
    Stopped,
}

/// The result of one delivery: the receiver's HTTP status.
pub type Delivery = Result<u16, EmitError>;

struct Job {
    event: Value,
    headers: Vec<(String, String)>,
    parameters: Vec<(String, String)>,
    reply: oneshot::Sender<Delivery>,
}

/// The callback state shared by the handle and the delivery task.
pub(crate) struct Callbacks {
    target: Mutex<Option<CallbackTarget>>,
    sent: Mutex<Vec<SentEvent>>,
    sent_count: watch::Sender<usize>,
    pbx_id: String,
    client: reqwest::Client,
}

/// The ordered event queue; dropping every clone stops its task.
#[derive(Clone)]
pub(crate) struct EventQueue {
    jobs: mpsc::UnboundedSender<Job>,
    pub(crate) callbacks: Arc<Callbacks>,
}

impl EventQueue {
    /// Starts the delivery task for a PBX with this id.
    pub(crate) fn start(pbx_id: String) -> Self {
        let callbacks = Arc::new(Callbacks {
            target: Mutex::new(None),
            sent: Mutex::new(Vec::new()),
            sent_count: watch::channel(0).0,
            pbx_id,
            client: reqwest::Client::builder()
                .timeout(Duration::from_secs(10))
                .no_proxy()
                .build()
                .unwrap_or_default(),
        });
        let (jobs, rx) = mpsc::unbounded_channel();
        tokio::spawn(deliver_in_order(rx, Arc::clone(&callbacks)));
        Self { jobs, callbacks }
    }

    /// Queues an event; the receiver resolves once it was delivered. Queue
    /// order is delivery order, so enqueue while holding any state lock that
    /// decides the order.
    pub(crate) fn enqueue(
        &self,
        event: Value,
        headers: Vec<(String, String)>,
        parameters: Vec<(String, String)>,
    ) -> oneshot::Receiver<Delivery> {
        let (reply, rx) = oneshot::channel();
        // If the task is gone the reply sender drops and the caller sees Stopped.
        let _ = self.jobs.send(Job {
            event,
            headers,
            parameters,
            reply,
        });
        rx
    }
}

impl EventQueue {
    /// Queues an event nobody waits for; its outcome is in the sent events.
    pub(crate) fn send(
        &self,
        event: Value,
        headers: Vec<(String, String)>,
        parameters: Vec<(String, String)>,
    ) {
        drop(self.enqueue(event, headers, parameters));
    }
}

/// Awaits a queued delivery.
pub(crate) async fn delivered(rx: oneshot::Receiver<Delivery>) -> Delivery {
    rx.await.unwrap_or(Err(EmitError::Stopped))
}

impl Callbacks {
    /// The configured target.
    pub(crate) fn target(&self) -> Option<CallbackTarget> {
        self.target
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Replaces the target.
    pub(crate) fn set_target(&self, target: CallbackTarget) {
        *self.target.lock().unwrap_or_else(PoisonError::into_inner) = Some(target);
    }

    /// Every delivery attempted so far.
    pub(crate) fn sent(&self) -> Vec<SentEvent> {
        self.sent
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Watches the number of deliveries attempted.
    pub(crate) fn watch_sent(&self) -> watch::Receiver<usize> {
        self.sent_count.subscribe()
    }

    async fn deliver(&self, job: &Job) -> Delivery {
        let target = self.target().ok_or(EmitError::NotConfigured)?;
        let mut query = target.parameters.clone();
        query.extend(job.parameters.iter().cloned());
        let mut headers = target.headers.clone();
        headers.extend(job.headers.iter().cloned());
        headers.push(("X-VTCRM-PBXID".to_owned(), self.pbx_id.clone()));
        let mut request = self
            .client
            .post(&target.url)
            .header("Content-Type", "application/json")
            .body(job.event.to_string());
        if !query.is_empty() {
            request = request.query(&query);
        }
        for (name, value) in &headers {
            request = request.header(name.as_str(), value.as_str());
        }
        let outcome = request.send().await;
        let status = outcome.as_ref().ok().map(|r| r.status().as_u16());
        let sent = SentEvent {
            url: target.url,
            query,
            headers,
            event: job.event.clone(),
            status,
        };
        {
            let mut all = self.sent.lock().unwrap_or_else(PoisonError::into_inner);
            all.push(sent);
            self.sent_count.send_replace(all.len());
        }
        match outcome {
            Ok(response) => Ok(response.status().as_u16()),
            Err(error) => Err(EmitError::Delivery(error.to_string())),
        }
    }
}

async fn deliver_in_order(mut jobs: mpsc::UnboundedReceiver<Job>, callbacks: Arc<Callbacks>) {
    while let Some(job) = jobs.recv().await {
        let result = callbacks.deliver(&job).await;
        if let Err(error) = &result {
            tracing::debug!(%error, "event not delivered");
        }
        let _ = job.reply.send(result);
    }
}
