//! The delivery worker of one CRM's durable outbox.
//!
//! Operations come from the journal (enqueued in the same transaction as the
//! event that caused them), go out in order per call, at least once:
//! - before sending, the attempt is counted durably; an operation with an
//!   earlier attempt is first checked with the CRM ([`CrmProvider::confirm`])
//!   so a request that landed before a timeout or a crash is not repeated;
//! - timeouts, 5xx and 429 are retried with exponential backoff and jitter,
//!   never sooner than the vendor's `Retry-After`; the whole CRM pauses
//!   meanwhile (one outage, not one per call) — for as long as it takes;
//! - `unauthorized` gets one credential refresh, then parks; other permanent
//!   errors (validation, permissions) park with their reason until a person
//!   presses retry; a parked operation holds back the rest of its call.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};
use rand::Rng;
use ringside_core::{Clock, Error, ErrorKind, Result};
use ringside_journal::{Journal, OutboxCounts, OutboxOp, OutboxState, WriteTx};
use serde::{Deserialize, Serialize};
use tokio::sync::Notify;

use crate::directory::AgentDirectory;
use crate::plan::{OpData, Planner};
use crate::provider::{Confirmation, CrmProvider, OpKind, Operation, PriorOp};

/// How deliveries are paced and retried, per CRM.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DeliverySettings {
    /// First retry after about this long (milliseconds); doubles per attempt.
    pub backoff_base_ms: u64,
    /// Retries are never further apart than this (seconds).
    pub backoff_max_seconds: u64,
    /// Hold a call's end this long so notes typed right after it travel along.
    pub wrap_up_seconds: u64,
    /// CRMs that cannot attach a recording later: wait this long for a
    /// promised recording before logging the call without it.
    pub recording_wait_seconds: u64,
}

impl Default for DeliverySettings {
    fn default() -> Self {
        Self {
            backoff_base_ms: 1_000,
            backoff_max_seconds: 300,
            wrap_up_seconds: 15,
            recording_wait_seconds: 120,
        }
    }
}

impl DeliverySettings {
    /// The wait before attempt `attempt + 1`: exponential, with "equal
    /// jitter" (half fixed, half random) so many clients do not retry in step.
    pub fn backoff(&self, attempt: u32) -> Duration {
        let base = self.backoff_base_ms.max(1) as f64 / 1000.0;
        let cap = self.backoff_max_seconds.max(1) as f64;
        let exp = (base * 2f64.powi(attempt.saturating_sub(1).min(30) as i32)).min(cap);
        let half = exp / 2.0;
        let jitter = rand::rng().random_range(0.0..=half);
        Duration::from_secs_f64(half + jitter)
    }
}

/// What the UI shows for one CRM's outbox.
#[derive(Debug, Clone, Serialize)]
pub struct OutboxStatus {
    pub crm: String,
    pub counts: OutboxCounts,
    /// Deliveries are paused (an outage, a rate limit) until then.
    pub paused_until: Option<DateTime<Utc>>,
    /// The last failure, retryable or not.
    pub last_error: Option<Error>,
    /// Parked operations, newest first, with their reasons.
    pub parked: Vec<OutboxOp>,
}

/// The result of one pass over the due operations.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pass {
    /// Nothing is due; `delivered` went out in this pass.
    Idle { delivered: usize },
    /// A retryable failure: the CRM pauses until then.
    Paused {
        delivered: usize,
        until: DateTime<Utc>,
    },
}

enum Step {
    Delivered,
    Parked,
    Pause(DateTime<Utc>),
}

#[derive(Default)]
struct WorkerState {
    paused_until: Option<DateTime<Utc>>,
    last_error: Option<Error>,
}

/// One CRM's outbox worker. Share it behind an `Arc`; [`Outbox::spawn`] runs it.
pub struct Outbox {
    journal: Journal,
    provider: Arc<dyn CrmProvider>,
    directory: Arc<AgentDirectory>,
    planner: Planner,
    settings: DeliverySettings,
    clock: Arc<dyn Clock>,
    wake: Arc<Notify>,
    state: Mutex<WorkerState>,
}

impl Outbox {
    pub fn new(
        journal: Journal,
        provider: Arc<dyn CrmProvider>,
        directory: Arc<AgentDirectory>,
        planner: Planner,
        settings: DeliverySettings,
        clock: Arc<dyn Clock>,
        wake: Arc<Notify>,
    ) -> Self {
        Self {
            journal,
            provider,
            directory,
            planner,
            settings,
            clock,
            wake,
            state: Mutex::default(),
        }
    }

    pub fn crm(&self) -> &str {
        self.planner.crm()
    }

    /// Nudge the worker (new operations, a retry).
    pub fn wake(&self) {
        self.wake.notify_one();
    }

    /// Run until the process ends: deliver what is due, sleep until the next
    /// operation is due, a pause ends, or something wakes it.
    pub fn spawn(self: Arc<Self>) -> tokio::task::JoinHandle<()> {
        tokio::spawn(async move {
            loop {
                let sleep_until = match self.deliver_due().await {
                    Ok(Pass::Idle { .. }) => self
                        .journal
                        .read({
                            let crm = self.crm().to_string();
                            move |q| q.outbox_next_due_at(&crm)
                        })
                        .await
                        .ok()
                        .flatten(),
                    Ok(Pass::Paused { until, .. }) => Some(until),
                    Err(e) => {
                        tracing::error!(crm = %self.crm(), error = %e, "outbox pass failed");
                        Some(self.clock.now() + chrono::Duration::seconds(1))
                    }
                };
                let wait = sleep_until
                    .map(|t| (t - self.clock.now()).to_std().unwrap_or_default())
                    .unwrap_or(Duration::from_secs(60))
                    .min(Duration::from_secs(60));
                if wait.is_zero() {
                    tokio::task::yield_now().await;
                    continue;
                }
                tokio::select! {
                    _ = tokio::time::sleep(wait) => {}
                    _ = self.wake.notified() => {}
                }
            }
        })
    }

    /// Deliver every operation due now, in order; stop at the first retryable
    /// failure (the CRM is paused until its next attempt).
    pub async fn deliver_due(&self) -> Result<Pass> {
        let mut delivered = 0;
        loop {
            let now = self.clock.now();
            let crm = self.crm().to_string();
            let due = self
                .journal
                .read(move |q| q.outbox_due(&crm, now, 32))
                .await?;
            if due.is_empty() {
                self.state.lock().unwrap().paused_until = None;
                return Ok(Pass::Idle { delivered });
            }
            for op in due {
                match self.deliver_one(op).await? {
                    Step::Delivered => delivered += 1,
                    Step::Parked => {}
                    Step::Pause(until) => {
                        self.state.lock().unwrap().paused_until = Some(until);
                        return Ok(Pass::Paused { delivered, until });
                    }
                }
            }
        }
    }

    /// Put parked operations (one, or all) back in line and wake the worker.
    pub async fn retry_parked(&self, id: Option<i64>) -> Result<u64> {
        let crm = self.crm().to_string();
        let now = self.clock.now();
        let n = self
            .journal
            .write(move |tx| {
                let n = tx.outbox_unpark(&crm, id, now)?;
                // "Retry" also means "now" for anything waiting on a backoff.
                tx.outbox_wake(&crm, now)?;
                Ok(n)
            })
            .await?;
        self.state.lock().unwrap().paused_until = None;
        self.wake();
        Ok(n)
    }

    pub async fn status(&self) -> Result<OutboxStatus> {
        let crm = self.crm().to_string();
        let (counts, parked) = self
            .journal
            .read(move |q| {
                Ok((
                    q.outbox_counts(&crm)?,
                    q.outbox_list(&crm, OutboxState::Parked, 50)?,
                ))
            })
            .await?;
        let state = self.state.lock().unwrap();
        Ok(OutboxStatus {
            crm: self.crm().to_string(),
            counts,
            paused_until: state.paused_until.filter(|t| *t > self.clock.now()),
            last_error: state.last_error.clone(),
            parked,
        })
    }

    async fn deliver_one(&self, op: OutboxOp) -> Result<Step> {
        let call_id = op.call_id.clone();
        let crm = self.crm().to_string();
        let (call, earlier) = self
            .journal
            .read(move |q| Ok((q.call(&call_id)?, q.outbox_for_call(&crm, &call_id)?)))
            .await?;
        let prior = earlier
            .into_iter()
            .filter(|o| o.state == OutboxState::Delivered && o.id != op.id)
            .map(|o| PriorOp {
                op_key: o.op_key,
                sent: o
                    .sent
                    .as_deref()
                    .and_then(|s| serde_json::from_str(s).ok())
                    .unwrap_or(serde_json::Value::Null),
            })
            .collect();
        let Some(call) = call else {
            return self
                .park(
                    &op,
                    &Error::not_found(format!("call {} is not in the journal", op.call_id)),
                )
                .await;
        };
        let data: OpData = serde_json::from_str(&op.data).unwrap_or_default();
        let kind = match op.kind.as_str() {
            "ring" => OpKind::Ring,
            "answered" => OpKind::Answered,
            "transfer" => OpKind::Transfer,
            "ended" => OpKind::Ended,
            "recording" => match data.url.clone() {
                Some(url) => OpKind::Recording { url },
                None => {
                    return self
                        .park(&op, &Error::internal("a recording operation without a URL"))
                        .await;
                }
            },
            other => {
                return self
                    .park(
                        &op,
                        &Error::internal(format!("unknown operation {other:?}")),
                    )
                    .await;
            }
        };
        let operation = Operation {
            id: op.id,
            kind,
            customer: call.remote_number.clone(),
            user: data
                .extension
                .as_deref()
                .and_then(|e| self.directory.user(e)),
            previous_user: data
                .from_extension
                .as_deref()
                .and_then(|e| self.directory.user(e)),
            extension: data.extension,
            call,
            prior,
        };

        if op.attempts > 0 {
            match self.provider.confirm(&operation).await {
                Ok(Confirmation::Applied) => {
                    tracing::info!(crm = %self.crm(), op = op.id, key = %op.op_key, "an earlier attempt had landed; not sending again");
                    self.delivered(&op, serde_json::json!({ "confirmed": true }))
                        .await?;
                    return Ok(Step::Delivered);
                }
                Ok(Confirmation::NotApplied | Confirmation::Unknown) => {}
                Err(e) => return self.failed(&op, e).await,
            }
        }

        let id = op.id;
        self.journal.write(move |tx| tx.outbox_attempt(id)).await?;
        let mut result = self.provider.deliver(&operation).await;
        if let Err(e) = &result
            && e.kind == ErrorKind::Unauthorized
        {
            result = match self.provider.refresh_credentials().await {
                Ok(true) => self.provider.deliver(&operation).await,
                Ok(false) => result,
                Err(refresh) => Err(refresh),
            };
        }
        match result {
            Ok(done) => {
                self.delivered(&op, done.sent).await?;
                Ok(Step::Delivered)
            }
            Err(e) => self.failed(&op, e).await,
        }
    }

    /// Mark delivered and re-plan the call in the same transaction (a
    /// recording that arrived while the end was in flight gets its own
    /// operation now).
    async fn delivered(&self, op: &OutboxOp, sent: serde_json::Value) -> Result<()> {
        let (id, call_id) = (op.id, op.call_id.clone());
        let planner = self.planner.clone();
        let now = self.clock.now();
        let sent = sent.to_string();
        let added = self
            .journal
            .write(move |tx| {
                tx.outbox_delivered(id, now, &sent)?;
                match tx.call(&call_id)? {
                    Some(call) => plan_in(&planner, tx, &call, now),
                    None => Ok(0),
                }
            })
            .await?;
        let mut state = self.state.lock().unwrap();
        state.last_error = None;
        state.paused_until = None;
        drop(state);
        if added > 0 {
            self.wake();
        }
        tracing::debug!(crm = %self.crm(), op = op.id, key = %op.op_key, "delivered");
        Ok(())
    }

    async fn failed(&self, op: &OutboxOp, e: Error) -> Result<Step> {
        self.state.lock().unwrap().last_error = Some(e.clone());
        if !e.is_retryable() {
            return self.park(op, &e).await;
        }
        let attempts = op.attempts + 1;
        let mut wait = self.settings.backoff(attempts);
        if let Some(after) = e.retry_after {
            wait = wait.max(after);
        }
        let until = self.clock.now() + chrono::Duration::from_std(wait).unwrap_or_default();
        tracing::warn!(crm = %self.crm(), op = op.id, key = %op.op_key, attempts, error = %e, ?wait, "delivery failed; will retry");
        let (id, code, message) = (op.id, e.kind.code(), e.message.clone());
        self.journal
            .write(move |tx| tx.outbox_retry_at(id, until, code, &message))
            .await?;
        Ok(Step::Pause(until))
    }

    async fn park(&self, op: &OutboxOp, e: &Error) -> Result<Step> {
        let mut message = e.message.clone();
        if e.kind == ErrorKind::Unauthorized {
            message.push_str(" — check the credentials in settings, then retry");
        }
        tracing::error!(crm = %self.crm(), op = op.id, key = %op.op_key, error = %message, "delivery parked");
        let (id, code) = (op.id, e.kind.code());
        self.journal
            .write(move |tx| tx.outbox_park(id, code, &message))
            .await?;
        Ok(Step::Parked)
    }
}

/// Enqueue what `call` owes the planner's CRM, inside an open write.
/// Returns how many operations were added.
pub fn plan_in(
    planner: &Planner,
    tx: &mut WriteTx<'_>,
    call: &ringside_core::Call,
    now: DateTime<Utc>,
) -> Result<usize> {
    let existing = tx.outbox_for_call(planner.crm(), &call.id)?;
    let mut added = 0;
    for op in planner.plan(call, &existing, now) {
        if tx.enqueue_outbox(&op, now)?.is_some() {
            added += 1;
        }
    }
    Ok(added)
}
