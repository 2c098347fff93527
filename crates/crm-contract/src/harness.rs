//! The rig a scenario runs on: a journal file, an engine, the CRM (adapter
//! behind the framework's layers) and its outbox worker — restartable over
//! the same file.

use std::future::Future;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use ringside_core::{
    ContactLookup, Error, ErrorKind, Extension, NumberPlan, PbxControl, Result, SystemClock,
};
use ringside_crm::{
    CacheSettings, CombinedLookup, Crm, CrmSet, CrmSettings, DeliverySettings, Limits, OutboxStatus,
};
use ringside_engine::{Engine, EngineConfig};
use ringside_journal::Journal;

use crate::{Received, Script, Target};

/// Settings that keep the suite fast: short backoff, a one-second wrap-up
/// (events of one call arrive within it, as with the PBX), a deadline short
/// enough for a stalled answer to time out.
pub fn contract_settings<T: Target>(target: &T) -> CrmSettings {
    CrmSettings {
        limits: target.limits().unwrap_or(Limits {
            requests_per_second: 100.0,
            burst: 100,
            timeout_seconds: 0.6,
        }),
        cache: CacheSettings::default(),
        delivery: DeliverySettings {
            backoff_base_ms: 40,
            backoff_max_seconds: 1,
            wrap_up_seconds: 1,
            recording_wait_seconds: 0,
        },
        users: target.users(),
        discover_users: false,
    }
}

/// The PBX is not part of the contract: call control is refused, visibly.
struct NoPbx;

#[async_trait::async_trait]
impl PbxControl for NoPbx {
    async fn dial(&self, _: &str, _: &str, _: &str) -> Result<()> {
        Err(Error::new(
            ErrorKind::Unsupported,
            "no PBX in the contract rig",
        ))
    }
    async fn hang_up(&self, _: &str) -> Result<()> {
        Err(Error::new(
            ErrorKind::Unsupported,
            "no PBX in the contract rig",
        ))
    }
    async fn transfer(&self, _: &str, _: &str) -> Result<()> {
        Err(Error::new(
            ErrorKind::Unsupported,
            "no PBX in the contract rig",
        ))
    }
    async fn extensions(&self) -> Result<Vec<Extension>> {
        Ok(Vec::new())
    }
}

/// A running pipeline over one journal file.
pub struct Rig<T: Target> {
    pub target: Arc<T>,
    pub engine: Engine,
    pub crms: CrmSet,
    settings: CrmSettings,
    path: PathBuf,
    _dir: Arc<tempfile::TempDir>,
}

impl<T: Target> Rig<T> {
    pub async fn start() -> Rig<T> {
        let target = Arc::new(T::start().await);
        let settings = contract_settings(target.as_ref());
        Self::start_with(target, settings).await
    }

    pub async fn start_with(target: Arc<T>, settings: CrmSettings) -> Rig<T> {
        let dir = Arc::new(tempfile::tempdir().expect("temp dir"));
        let path = dir.path().join("journal.sqlite");
        Self::open(target, settings, path, dir)
    }

    fn open(
        target: Arc<T>,
        settings: CrmSettings,
        path: PathBuf,
        dir: Arc<tempfile::TempDir>,
    ) -> Rig<T> {
        let journal = Journal::open(&path).expect("journal opens");
        let numbers = NumberPlan::default();
        let t = target.clone();
        let crm = Crm::new(
            T::NAME,
            settings.clone(),
            numbers.clone(),
            move |throttle| t.provider(throttle, numbers),
        );
        let mut crms = CrmSet::new(vec![crm]).expect("one CRM");
        let lookup: Arc<dyn ContactLookup> =
            Arc::new(CombinedLookup::new(crms.lookups(), Duration::from_secs(5)));
        let config = EngineConfig {
            lookup_timeout: Duration::from_secs(10),
            ..EngineConfig::default()
        };
        let clock = Arc::new(SystemClock);
        let engine = Engine::new(
            config,
            journal.clone(),
            lookup,
            Arc::new(NoPbx),
            clock.clone(),
        )
        .with_outbox(crms.hook());
        crms.start(&journal, clock);
        Rig {
            target,
            engine,
            crms,
            settings,
            path,
            _dir: dir,
        }
    }

    /// Stop everything (the worker mid-request, if it is in one) and start
    /// again over the same journal file: a process restart.
    pub async fn restart(self) -> Rig<T> {
        let Rig {
            target,
            engine,
            crms,
            settings,
            path,
            _dir,
        } = self;
        drop(crms);
        drop(engine);
        // Let the aborted tasks unwind and the journal's writer close.
        tokio::time::sleep(Duration::from_millis(100)).await;
        Self::open(target, settings, path, _dir)
    }

    /// Rebuild the adapter (new credentials configured) over the same journal.
    pub async fn reconfigure(self) -> Rig<T> {
        self.restart().await
    }

    /// Look the customer up once, so the lookup cache is warm and the
    /// engine's lookup on ring sends no request: a fault injected next hits
    /// the call's deliveries, not a lookup (some CRMs serve both on one API).
    pub async fn warm(&self) {
        if self.crms.crms()[0]
            .capabilities()
            .has(ringside_crm::Capability::LookupContact)
        {
            self.engine
                .lookup(crate::CUSTOMER)
                .await
                .expect("warm-up lookup");
        }
    }

    /// Ingest every event of `script`, as the webhook would.
    pub async fn play(&self, script: &Script) {
        for ev in script.events().expect("script events parse") {
            self.engine.ingest(ev).await.expect("ingest");
        }
    }

    /// The logical call id the engine gave the call with this root id.
    pub async fn call_id(&self, root: &str) -> String {
        let owned = root.to_string();
        self.engine
            .journal()
            .read(move |q| q.call_by_root("gamma", &owned))
            .await
            .expect("journal read")
            .unwrap_or_else(|| panic!("no call with root {root}"))
            .id
            .0
    }

    /// What the CRM applied for one call.
    pub fn received_for(&self, call_id: &str) -> Vec<Received> {
        self.target
            .received()
            .into_iter()
            .filter(|r| r.call_id == call_id)
            .collect()
    }

    /// The operation names the CRM applied for one call, in order.
    pub fn ops_for(&self, call_id: &str) -> Vec<String> {
        self.received_for(call_id)
            .into_iter()
            .map(|r| r.op)
            .collect()
    }

    /// Wait until the CRM applied `n` operations for the call.
    pub async fn wait_for_ops(&self, call_id: &str, n: usize) -> Vec<String> {
        let ok = wait_until(Duration::from_secs(20), || self.ops_for(call_id).len() >= n).await;
        let ops = self.ops_for(call_id);
        assert!(
            ok,
            "{}: expected {n} operations for {call_id}, got {ops:?}",
            T::NAME
        );
        ops
    }

    /// Wait until the outbox has nothing pending.
    pub async fn wait_drained(&self) {
        let ok = wait_until_async(Duration::from_secs(20), || async {
            self.status().await.counts.pending == 0
        })
        .await;
        assert!(
            ok,
            "{}: the outbox did not drain: {:?}",
            T::NAME,
            self.status().await
        );
    }

    pub async fn status(&self) -> OutboxStatus {
        self.crms
            .statuses()
            .await
            .expect("outbox status")
            .into_iter()
            .next()
            .expect("one outbox")
    }

    pub fn settings(&self) -> &CrmSettings {
        &self.settings
    }

    pub fn journal_path(&self) -> &std::path::Path {
        &self.path
    }
}

/// Poll `done` every 20 ms until it holds or `timeout` passes.
pub async fn wait_until(timeout: Duration, mut done: impl FnMut() -> bool) -> bool {
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        if done() {
            return true;
        }
        if tokio::time::Instant::now() >= deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn wait_until_async<F: Future<Output = bool>>(
    timeout: Duration,
    mut done: impl FnMut() -> F,
) -> bool {
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        if done().await {
            return true;
        }
        if tokio::time::Instant::now() >= deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
