//! The engine and its use cases.

use std::sync::Arc;

use ringside_core::fold::{Applied, CallFold};
use ringside_core::{
    Call, CallId, CallStatus, Clock, ContactLookup, Error, ErrorKind, EventKind, Extension,
    LookupResult, PbxControl, PbxEvent, Result,
};
use ringside_crm::OutboxHook;
use ringside_journal::{CallFilter, CallUpdate, Journal, NewEvent, StoredEvent, WriteTx};
use serde::Serialize;
use tokio::sync::broadcast;

use crate::EngineConfig;

/// How many updates a slow live subscriber may fall behind before it must
/// re-read from the journal.
const LIVE_BUFFER: usize = 1024;

/// One event as it arrived, parsed by the PBX adapter.
#[derive(Debug, Clone)]
pub struct IncomingEvent {
    pub event: PbxEvent,
    /// The raw body exactly as received, journaled verbatim.
    pub body: String,
    pub source_ip: Option<String>,
}

/// What [`Engine::ingest`] did. When it returns, the event is on disk.
#[derive(Debug, Clone, Serialize)]
pub struct Ingested {
    /// The event's sequence number in the journal.
    pub seq: i64,
    /// The call it was folded into (none for unknown states).
    pub call: Option<Call>,
    /// The call-update sequence number, when the call changed.
    pub update_seq: Option<i64>,
}

/// Who a number is, and the last calls with it.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct NumberInfo {
    pub lookup: LookupResult,
    pub recent_calls: Vec<Call>,
}

struct Inner {
    config: EngineConfig,
    fold: CallFold,
    journal: Journal,
    lookup: Arc<dyn ContactLookup>,
    pbx: Arc<dyn PbxControl>,
    clock: Arc<dyn Clock>,
    live: broadcast::Sender<CallUpdate>,
    /// Plans each changed call's CRM operations in the same transaction.
    outbox: OutboxHook,
}

/// The engine. Cheap to clone; every clone shares one journal and one live feed.
#[derive(Clone)]
pub struct Engine {
    inner: Arc<Inner>,
}

fn new_call_id() -> CallId {
    CallId(uuid::Uuid::now_v7().to_string())
}

impl Engine {
    pub fn new(
        config: EngineConfig,
        journal: Journal,
        lookup: Arc<dyn ContactLookup>,
        pbx: Arc<dyn PbxControl>,
        clock: Arc<dyn Clock>,
    ) -> Engine {
        let (live, _) = broadcast::channel(LIVE_BUFFER);
        Engine {
            inner: Arc::new(Inner {
                fold: CallFold::new(config.plan.clone()),
                config,
                journal,
                lookup,
                pbx,
                clock,
                live,
                outbox: OutboxHook::default(),
            }),
        }
    }

    /// The same engine, planning CRM operations with `outbox` on every call
    /// change (in the change's own transaction). Call before cloning.
    pub fn with_outbox(mut self, outbox: OutboxHook) -> Engine {
        match Arc::get_mut(&mut self.inner) {
            Some(inner) => inner.outbox = outbox,
            None => panic!("Engine::with_outbox must be called before the engine is shared"),
        }
        self
    }

    pub fn config(&self) -> &EngineConfig {
        &self.inner.config
    }

    pub fn journal(&self) -> &Journal {
        &self.inner.journal
    }

    fn now(&self) -> chrono::DateTime<chrono::Utc> {
        self.inner.clock.now()
    }

    fn publish(&self, updates: impl IntoIterator<Item = CallUpdate>) {
        for update in updates {
            // No subscriber is fine: the journal keeps every update.
            let _ = self.inner.live.send(update);
        }
    }

    /// Journal the raw event and fold it into its call, in one transaction.
    /// Returns once both are durable; only then may the webhook answer 2xx.
    pub async fn ingest(&self, incoming: IncomingEvent) -> Result<Ingested> {
        let fold = self.inner.fold.clone();
        let now = self.now();
        let outbox = self.inner.outbox.clone();
        let ingested = self
            .inner
            .journal
            .write(move |tx| ingest_in(tx, &fold, &outbox, incoming, now))
            .await?;
        if let (Some(seq), Some(call)) = (ingested.update_seq, &ingested.call) {
            self.inner.outbox.wake();
            if call.legs.len() == 1 && call.answered_at.is_none() && !call.is_ended() {
                self.warm_lookup(&call.remote_number);
            }
            self.publish([CallUpdate {
                seq,
                call: call.clone(),
            }]);
        }
        Ok(ingested)
    }

    /// Start a lookup of a ringing number in the background, so the contact
    /// sources' caches are warm when the pop asks a moment later.
    fn warm_lookup(&self, number: &str) {
        let variants = self.inner.config.plan.variants(number);
        if variants.number.is_anonymous() {
            return;
        }
        let lookup = self.inner.lookup.clone();
        let timeout = self.inner.config.lookup_timeout;
        tokio::spawn(async move {
            let _ = tokio::time::timeout(timeout, lookup.lookup(&variants)).await;
        });
    }

    /// A live feed of every call update. Subscribe before reading the backlog
    /// with [`Engine::updates_since`] and skip sequence numbers already seen.
    pub fn subscribe(&self) -> broadcast::Receiver<CallUpdate> {
        self.inner.live.subscribe()
    }

    /// Updates after `after_seq`, oldest first, optionally for one extension.
    pub async fn updates_since(
        &self,
        extension: Option<&str>,
        after_seq: i64,
        limit: usize,
    ) -> Result<Vec<CallUpdate>> {
        let extension = extension.map(str::to_string);
        self.inner
            .journal
            .read(move |q| q.updates_since(extension.as_deref(), after_seq, limit))
            .await
    }

    /// The newest call-update sequence number (0 when none).
    pub async fn latest_update_seq(&self) -> Result<i64> {
        self.inner.journal.read(|q| q.latest_update_seq()).await
    }

    pub async fn list_calls(&self, filter: CallFilter) -> Result<Vec<Call>> {
        self.inner
            .journal
            .read(move |q| q.list_calls(&filter))
            .await
    }

    pub async fn call(&self, id: &CallId) -> Result<Call> {
        let id = id.clone();
        self.inner
            .journal
            .read(move |q| {
                q.call(&id)?
                    .ok_or_else(|| Error::not_found(format!("no call {id}")))
            })
            .await
    }

    /// The raw events folded into a call, in arrival order.
    pub async fn call_events(&self, id: &CallId) -> Result<Vec<StoredEvent>> {
        let id = id.clone();
        self.inner
            .journal
            .read(move |q| q.events_for_call(&id))
            .await
    }

    pub async fn missed_count(&self, extension: Option<&str>) -> Result<u64> {
        let extension = extension.map(str::to_string);
        self.inner
            .journal
            .read(move |q| q.missed_count(extension.as_deref(), None))
            .await
    }

    /// Who `number` is (contacts with open deals, per the match policy) and
    /// the last calls with it.
    pub async fn lookup(&self, number: &str) -> Result<NumberInfo> {
        if number.trim().is_empty() {
            return Err(Error::invalid("no number to look up"));
        }
        let config = &self.inner.config;
        let variants = config.plan.variants(number);
        let matches = if variants.number.is_anonymous() {
            Vec::new()
        } else {
            tokio::time::timeout(config.lookup_timeout, self.inner.lookup.lookup(&variants))
                .await
                .map_err(|_| {
                    Error::new(
                        ErrorKind::Timeout,
                        format!(
                            "{} did not answer the lookup within {:?}",
                            self.inner.lookup.system(),
                            config.lookup_timeout
                        ),
                    )
                })??
        };
        let display = variants.number.display();
        let limit = config.recent_calls;
        let recent_calls = if variants.number.is_anonymous() {
            Vec::new()
        } else {
            self.inner
                .journal
                .read(move |q| q.calls_with_number(&display, limit))
                .await?
        };
        Ok(NumberInfo {
            lookup: LookupResult::new(variants.number, matches, config.match_policy),
            recent_calls,
        })
    }

    /// Click-to-call: ring `extension`, then call `destination`. The call is
    /// journaled (status `dialing`) before the PBX is asked, so its events
    /// find it. Never retried: a repeated dial would ring the customer twice.
    pub async fn dial(&self, extension: &str, destination: &str) -> Result<Call> {
        self.dial_with(extension, destination, |_, _| Ok(())).await
    }

    /// [`Engine::dial`], running `also` in the transaction that journals the
    /// new call (before the PBX is asked): e.g. a CRM that started the call
    /// records the id it already gave it, so no ring is registered twice.
    pub async fn dial_with(
        &self,
        extension: &str,
        destination: &str,
        also: impl FnOnce(&mut WriteTx<'_>, &Call) -> Result<()> + Send + 'static,
    ) -> Result<Call> {
        let extension = extension.trim();
        if extension.is_empty() || !extension.chars().all(|c| c.is_ascii_digit()) {
            return Err(Error::invalid(format!("{extension:?} is not an extension")));
        }
        let dial_string = self.inner.config.plan.dial_string(destination)?;
        let id = new_call_id();
        let now = self.now();
        let call = self.inner.fold.dialing(
            id.clone(),
            &self.inner.config.provider,
            extension,
            destination.trim(),
            now,
        );
        let saved = self.save_with(call, also).await?;
        tracing::info!(call = %id, extension, "dialing");
        match self
            .inner
            .pbx
            .dial(extension, &dial_string, id.as_str())
            .await
        {
            Ok(()) => Ok(saved),
            Err(err) => {
                tracing::warn!(call = %id, error = %err, "dial refused by the PBX");
                let fold = self.inner.fold.clone();
                let now = self.now();
                let failed = self
                    .modify(&id, move |call| {
                        if call.status == CallStatus::Dialing {
                            fold.close_failed(call, now);
                        }
                        Ok(())
                    })
                    .await;
                if let Err(save_err) = failed {
                    tracing::error!(call = %id, error = %save_err, "could not mark the failed dial");
                }
                Err(err.context("the PBX refused the call"))
            }
        }
    }

    /// Hang up the call's current leg.
    pub async fn hang_up(&self, id: &CallId) -> Result<()> {
        let leg = self.live_leg(id).await?;
        self.inner.pbx.hang_up(&leg).await
    }

    /// Cold-transfer the call's current leg to an extension or number.
    pub async fn transfer(&self, id: &CallId, destination: &str) -> Result<()> {
        let destination = self.inner.config.plan.dial_string(destination)?;
        let leg = self.live_leg(id).await?;
        self.inner.pbx.transfer(&leg, &destination).await
    }

    /// The provider call id of the leg that owns a live call.
    async fn live_leg(&self, id: &CallId) -> Result<String> {
        let call = self.call(id).await?;
        if call.is_ended() {
            return Err(Error::new(
                ErrorKind::Conflict,
                "the call has already ended",
            ));
        }
        call.current_leg()
            .map(|l| l.provider_call_id.clone())
            .ok_or_else(|| {
                Error::new(
                    ErrorKind::Conflict,
                    "the PBX has not reported this call yet; try again in a moment",
                )
            })
    }

    /// Save what the agent typed in the screen pop.
    pub async fn set_notes(
        &self,
        id: &CallId,
        notes: Option<String>,
        disposition: Option<String>,
    ) -> Result<Call> {
        const MAX: usize = 16 * 1024;
        if notes.as_ref().is_some_and(|n| n.len() > MAX)
            || disposition.as_ref().is_some_and(|d| d.len() > MAX)
        {
            return Err(Error::invalid("notes are limited to 16 KiB"));
        }
        self.modify(id, move |call| {
            call.notes = notes.filter(|n| !n.trim().is_empty());
            call.disposition = disposition.filter(|d| !d.trim().is_empty());
            Ok(())
        })
        .await
    }

    /// The PBX's extensions (agent directory, transfer picker).
    pub async fn extensions(&self) -> Result<Vec<Extension>> {
        self.inner.pbx.extensions().await
    }

    /// Close every call that has been silent longer than `reconcile_after`.
    pub async fn reconcile(&self) -> Result<usize> {
        let fold = self.inner.fold.clone();
        let now = self.now();
        let after = self.inner.config.reconcile_after;
        let outbox = self.inner.outbox.clone();
        let updates = self
            .inner
            .journal
            .write(move |tx| {
                let mut updates = Vec::new();
                // Idle for `after` or longer (the query is strictly-before).
                let cutoff = now - after + chrono::Duration::milliseconds(1);
                for mut call in tx.open_calls_idle_since(cutoff)? {
                    if fold.reconcile(&mut call, now, after) {
                        let seq = tx.save_call(&call)?;
                        outbox.plan_in(tx, &call, now)?;
                        updates.push(CallUpdate { seq, call });
                    }
                }
                Ok(updates)
            })
            .await?;
        let n = updates.len();
        if n > 0 {
            tracing::info!(closed = n, "reconciliation closed stuck calls as failed");
            self.inner.outbox.wake();
        }
        self.publish(updates);
        Ok(n)
    }

    /// Run [`Engine::reconcile`] every `every` until the engine is dropped.
    pub fn spawn_reconciler(&self, every: std::time::Duration) -> tokio::task::JoinHandle<()> {
        let weak = Arc::downgrade(&self.inner);
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(every);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tick.tick().await;
                let Some(inner) = weak.upgrade() else { break };
                if let Err(err) = (Engine { inner }).reconcile().await {
                    tracing::warn!(error = %err, "reconciliation failed");
                }
            }
        })
    }

    async fn save_with(
        &self,
        call: Call,
        also: impl FnOnce(&mut WriteTx<'_>, &Call) -> Result<()> + Send + 'static,
    ) -> Result<Call> {
        let outbox = self.inner.outbox.clone();
        let now = self.now();
        let (seq, call) = self
            .inner
            .journal
            .write(move |tx| {
                let seq = tx.save_call(&call)?;
                also(tx, &call)?;
                outbox.plan_in(tx, &call, now)?;
                Ok((seq, call))
            })
            .await?;
        self.inner.outbox.wake();
        self.publish([CallUpdate {
            seq,
            call: call.clone(),
        }]);
        Ok(call)
    }

    async fn modify(
        &self,
        id: &CallId,
        change: impl FnOnce(&mut Call) -> Result<()> + Send + 'static,
    ) -> Result<Call> {
        let id = id.clone();
        let outbox = self.inner.outbox.clone();
        let now = self.now();
        let (seq, call) = self
            .inner
            .journal
            .write(move |tx| {
                let mut call = tx
                    .call(&id)?
                    .ok_or_else(|| Error::not_found(format!("no call {id}")))?;
                change(&mut call)?;
                let seq = tx.save_call(&call)?;
                outbox.plan_in(tx, &call, now)?;
                Ok((seq, call))
            })
            .await?;
        self.inner.outbox.wake();
        self.publish([CallUpdate {
            seq,
            call: call.clone(),
        }]);
        Ok(call)
    }
}

/// Inside one write transaction: journal the event, find its call, fold, save.
fn ingest_in(
    tx: &mut WriteTx<'_>,
    fold: &CallFold,
    outbox: &OutboxHook,
    incoming: IncomingEvent,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<Ingested> {
    let ev = &incoming.event;
    let unknown = matches!(ev.kind, EventKind::Unknown { .. });
    let seq = tx.append_event(&NewEvent {
        provider: ev.provider.clone(),
        received_at: now,
        provider_call_id: Some(ev.call_id.clone()),
        leg_id: ev.leg_id.clone(),
        state: Some(ev.state_name()),
        body: incoming.body,
        external_call_id: ev.external_call_id.clone(),
        source_ip: incoming.source_ip,
        parsed: !unknown,
    })?;
    if unknown {
        tracing::info!(seq, state = %ev.state_name(), "unknown PBX state journaled and ignored");
        return Ok(Ingested {
            seq,
            call: None,
            update_seq: None,
        });
    }
    let existing = match ev.external_call_id.as_deref() {
        Some(x) if !x.is_empty() => tx.call_by_external_id(x)?,
        _ => None,
    };
    let existing = match existing {
        Some(c) => Some(c),
        None => tx.call_by_leg(&ev.provider, &ev.call_id)?,
    };
    let existing = match existing {
        Some(c) => Some(c),
        None => tx.call_by_root(&ev.provider, &CallFold::root_id(ev))?,
    };
    let (call, changed) = match existing {
        Some(mut call) => {
            let applied = fold.apply(&mut call, ev, now);
            (call, applied == Applied::Changed)
        }
        None => (fold.start(new_call_id(), ev, now), true),
    };
    let update_seq = if changed {
        let seq = tx.save_call(&call)?;
        // The CRM operations this change causes commit with it, or not at all.
        outbox.plan_in(tx, &call, now)?;
        Some(seq)
    } else {
        None
    };
    tx.link_event(seq, &call.id)?;
    Ok(Ingested {
        seq,
        call: Some(call),
        update_seq,
    })
}
