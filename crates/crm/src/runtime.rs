//! One enabled CRM, assembled: its adapter behind the layers, its directory,
//! lookup cache, planner and outbox worker. [`CrmSet`] holds every enabled
//! CRM (several may be on at once, each with its own outbox).

use std::sync::Arc;
use std::time::Duration;

use ringside_core::{Clock, ContactLookup, Error, NumberPlan, Result};
use ringside_journal::{Journal, WriteTx};
use serde::{Deserialize, Serialize};
use tokio::sync::Notify;

use crate::directory::AgentDirectory;
use crate::layers::{Guarded, Limits, Throttle};
use crate::lookup::{CacheSettings, CachedLookup};
use crate::outbox::{DeliverySettings, Outbox, OutboxStatus, plan_in};
use crate::plan::{PlanPolicy, Planner};
use crate::provider::{Capabilities, Capability, ConnectionInfo, CrmProvider, CrmUser};

/// The vendor-neutral settings of one CRM.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CrmSettings {
    pub limits: Limits,
    pub cache: CacheSettings,
    pub delivery: DeliverySettings,
    /// PBX extension → CRM user, overriding what is discovered.
    pub users: Vec<CrmUser>,
    /// Ask the CRM for its users (and their extensions) at start and hourly.
    pub discover_users: bool,
}

impl CrmSettings {
    pub fn validate(&self, crm: &str) -> Result<()> {
        self.limits.validate(crm)?;
        for u in &self.users {
            if u.extension.trim().is_empty() || !u.extension.chars().all(|c| c.is_ascii_digit()) {
                return Err(Error::config(format!(
                    "{crm}: users: {:?} is not an extension",
                    u.extension
                )));
            }
        }
        Ok(())
    }
}

/// One enabled CRM.
pub struct Crm {
    id: String,
    provider: Arc<dyn CrmProvider>,
    directory: Arc<AgentDirectory>,
    lookup: Arc<CachedLookup>,
    planner: Planner,
    settings: CrmSettings,
    wake: Arc<Notify>,
}

impl Crm {
    /// `build` makes the adapter; it receives the CRM's throttle so it can
    /// take a permit per HTTP request and hold it on vendor signals.
    pub fn new(
        id: impl Into<String>,
        settings: CrmSettings,
        numbers: NumberPlan,
        build: impl FnOnce(Arc<Throttle>) -> Arc<dyn CrmProvider>,
    ) -> Crm {
        let id = id.into();
        let throttle = Throttle::new(&settings.limits);
        let inner = build(throttle.clone());
        let provider: Arc<dyn CrmProvider> =
            Arc::new(Guarded::new(inner, throttle, &settings.limits));
        let caps = provider.capabilities();
        let policy = PlanPolicy::for_capabilities(
            &caps,
            Duration::from_secs(settings.delivery.wrap_up_seconds),
            Duration::from_secs(settings.delivery.recording_wait_seconds),
        );
        Crm {
            lookup: Arc::new(CachedLookup::new(
                id.clone(),
                provider.clone(),
                settings.cache.clone(),
            )),
            directory: Arc::new(AgentDirectory::new(settings.users.clone())),
            planner: Planner::new(id.clone(), policy, numbers),
            id,
            provider,
            settings,
            wake: Arc::new(Notify::new()),
        }
    }

    pub fn id(&self) -> &str {
        &self.id
    }

    pub fn capabilities(&self) -> Capabilities {
        self.provider.capabilities()
    }

    pub fn provider(&self) -> &Arc<dyn CrmProvider> {
        &self.provider
    }

    pub fn directory(&self) -> &Arc<AgentDirectory> {
        &self.directory
    }

    pub fn planner(&self) -> &Planner {
        &self.planner
    }

    /// The cached lookup, when the CRM can look contacts up.
    pub fn lookup(&self) -> Option<Arc<dyn ContactLookup>> {
        self.capabilities()
            .has(Capability::LookupContact)
            .then(|| self.lookup.clone() as Arc<dyn ContactLookup>)
    }

    pub fn cache(&self) -> &Arc<CachedLookup> {
        &self.lookup
    }

    /// Whether calls are delivered to this CRM at all.
    pub fn logs_calls(&self) -> bool {
        let caps = self.capabilities();
        caps.live_call_events || caps.log_at_end
    }

    /// The outbox worker over `journal`.
    pub fn outbox(&self, journal: Journal, clock: Arc<dyn Clock>) -> Arc<Outbox> {
        Arc::new(Outbox::new(
            journal,
            self.provider.clone(),
            self.directory.clone(),
            self.planner.clone(),
            self.settings.delivery.clone(),
            clock,
            self.wake.clone(),
        ))
    }

    /// Test the connection; on success also refresh the directory.
    pub async fn check(&self) -> Result<ConnectionInfo> {
        let mut info = self.provider.check().await?;
        if self.settings.discover_users {
            match self.directory.discover(self.provider.as_ref()).await {
                Ok(n) => {
                    let found = format!("{n} users with an extension");
                    info.detail = Some(match info.detail {
                        Some(d) => format!("{d}; {found}"),
                        None => found,
                    });
                }
                Err(e) => tracing::warn!(crm = %self.id, error = %e, "user discovery failed"),
            }
        }
        Ok(info)
    }
}

/// Every enabled CRM, and what the engine needs from them.
#[derive(Default)]
pub struct CrmSet {
    crms: Vec<Arc<Crm>>,
    outboxes: Vec<Arc<Outbox>>,
    /// The workers; stopped when the set is dropped.
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Drop for CrmSet {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

impl CrmSet {
    pub fn new(crms: Vec<Crm>) -> Result<Self> {
        let mut seen = std::collections::HashSet::new();
        for c in &crms {
            if !seen.insert(c.id.clone()) {
                return Err(Error::config(format!("two CRMs are named {:?}", c.id)));
            }
        }
        Ok(Self {
            crms: crms.into_iter().map(Arc::new).collect(),
            outboxes: Vec::new(),
            tasks: Vec::new(),
        })
    }

    pub fn is_empty(&self) -> bool {
        self.crms.is_empty()
    }

    pub fn crms(&self) -> &[Arc<Crm>] {
        &self.crms
    }

    pub fn get(&self, id: &str) -> Result<&Arc<Crm>> {
        self.crms
            .iter()
            .find(|c| c.id == id)
            .ok_or_else(|| Error::not_found(format!("no CRM named {id:?} is enabled")))
    }

    /// The outbox hook for the engine: plans every CRM that logs calls.
    pub fn hook(&self) -> OutboxHook {
        OutboxHook {
            targets: self
                .crms
                .iter()
                .filter(|c| c.logs_calls())
                .map(|c| (c.planner.clone(), c.wake.clone()))
                .collect(),
        }
    }

    /// The lookups of every CRM that can look contacts up.
    pub fn lookups(&self) -> Vec<Arc<dyn ContactLookup>> {
        self.crms.iter().filter_map(|c| c.lookup()).collect()
    }

    /// Start the outbox workers (and directory discovery) on `journal`.
    pub fn start(&mut self, journal: &Journal, clock: Arc<dyn Clock>) {
        for crm in &self.crms {
            if crm.logs_calls() {
                let outbox = crm.outbox(journal.clone(), clock.clone());
                self.tasks.push(outbox.clone().spawn());
                self.outboxes.push(outbox);
            }
            if crm.settings.discover_users {
                let crm = crm.clone();
                self.tasks.push(tokio::spawn(async move {
                    let mut tick = tokio::time::interval(Duration::from_secs(3600));
                    loop {
                        tick.tick().await;
                        if let Err(e) = crm.directory.discover(crm.provider.as_ref()).await {
                            tracing::warn!(crm = %crm.id, error = %e, "user discovery failed; keeping the last list");
                        }
                    }
                }));
            }
        }
    }

    pub fn outbox(&self, id: &str) -> Result<&Arc<Outbox>> {
        self.outboxes
            .iter()
            .find(|o| o.crm() == id)
            .ok_or_else(|| Error::not_found(format!("CRM {id:?} has no outbox running")))
    }

    pub async fn statuses(&self) -> Result<Vec<OutboxStatus>> {
        let mut all = Vec::new();
        for o in &self.outboxes {
            all.push(o.status().await?);
        }
        Ok(all)
    }
}

/// What the engine calls inside each write that changed a call: plan the
/// call's operations for every CRM, in the same transaction; after the
/// commit, wake the workers.
#[derive(Clone, Default)]
pub struct OutboxHook {
    targets: Vec<(Planner, Arc<Notify>)>,
}

impl OutboxHook {
    pub fn new(targets: Vec<(Planner, Arc<Notify>)>) -> Self {
        Self { targets }
    }

    pub fn is_empty(&self) -> bool {
        self.targets.is_empty()
    }

    /// Enqueue in the open transaction; returns how many operations were added.
    pub fn plan_in(
        &self,
        tx: &mut WriteTx<'_>,
        call: &ringside_core::Call,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<usize> {
        let mut added = 0;
        for (planner, _) in &self.targets {
            added += plan_in(planner, tx, call, now)?;
        }
        Ok(added)
    }

    /// Wake every worker (after the transaction committed).
    pub fn wake(&self) {
        for (_, wake) in &self.targets {
            wake.notify_one();
        }
    }
}
