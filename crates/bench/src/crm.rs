//! `crm`: the CRM side of a call, with the real parts: the `ringside-crm`
//! framework (throttle and deadline layers, lookup cache, planner, durable
//! outbox worker), the `ringside-vtiger` adapter and the Vtiger emulator on
//! `127.0.0.1`, all assembled as the hub assembles them.
//!
//! - **lookup**: who is calling, through `Engine::lookup` (the hub's
//!   `contact_lookup`: a `CombinedLookup` over the Vtiger `CachedLookup`),
//!   with every emulator request slowed by a latency fault. One at a time:
//!   *cold* lookups (a number never seen: the ring waits on the CRM), *warm*
//!   lookups of a number already cached (a fresh hit), and *stale* hits (a
//!   cache with `hit_seconds: 0`: answered at once from the stale entry while
//!   one refresh runs in the background). The cold lookups are the baseline:
//!   warm ÷ cold and stale ÷ cold show what the cache saves a ring.
//! - **outbox**: deliveries per second to the emulator's Phone Calls gateway
//!   through the whole pipeline (Gamma events → `Engine::ingest` → SQLite
//!   journal with fsync and the outbox rows in the same transaction → the
//!   outbox worker → the adapter) against the baseline of calling the same
//!   layered adapter's `deliver` directly, one operation after the other,
//!   for the same operations with no journal. Outbox ÷ direct is the price
//!   of durability and ordering.
//!
//! Both run `rounds` times on fresh emulators and journals; every loop is
//! bounded by its count and by `budget`.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, bail, ensure};
use chrono::Utc;
use ringside_core::fold::CallFold;
use ringside_core::{
    Clock, ContactLookup, Error, ErrorKind, Extension, NumberPlan, PbxControl, SystemClock,
};
use ringside_crm::{
    CacheSettings, CacheStats, Crm, CrmSet, CrmSettings, CrmUser, DeliverySettings, Limits, OpData,
    OpKind, Operation,
};
use ringside_engine::{Engine, EngineConfig, IncomingEvent};
use ringside_journal::Journal;
use ringside_vtiger::{VtigerCrm, VtigerSettings};
use ringside_vtiger_emulator::{
    EmulatorConfig, Fault, NewContact, NewPotential, Scope, Surface, VtigerEmulator,
};
use serde::Serialize;

use crate::report::{Latency, Recorder, Table, median, ms, rate, ratio};
use crate::workload::{self, Kind};

/// What to measure.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Params {
    /// Distinct numbers looked up cold, per cache, per round.
    pub numbers: usize,
    /// Warm lookups, and stale lookups, per round.
    pub lookups: usize,
    /// The delay the emulator adds to every request in the lookup bench.
    pub crm_latency: Duration,
    /// Calls (three deliveries each) per side, per round, in the outbox bench.
    pub calls: usize,
    /// Concurrent tasks ingesting the calls' events into the pipeline.
    pub producers: usize,
    /// Time limit of each loop; it stops early when it is reached.
    pub budget: Duration,
    /// How many times everything is measured.
    pub rounds: usize,
}

impl Default for Params {
    fn default() -> Self {
        Self {
            numbers: 40,
            lookups: 2_000,
            crm_latency: Duration::from_millis(100),
            calls: 500,
            producers: 8,
            budget: Duration::from_secs(60),
            rounds: 3,
        }
    }
}

impl Params {
    /// Small enough for a smoke check.
    pub fn quick() -> Self {
        Self {
            numbers: 8,
            lookups: 200,
            crm_latency: Duration::from_millis(100),
            calls: 60,
            producers: 4,
            budget: Duration::from_secs(15),
            rounds: 1,
        }
    }
}

/// The customer in the demo data: Lucía Fernández, stored as `647 46 01 97`,
/// with an organization and open Potentials. The first cold number.
pub const LUCIA: &str = "+34647460197";

/// The CRM users of the demo data (Ana on 201, Bruno on 202), configured.
fn users(emulator: &VtigerEmulator) -> Vec<CrmUser> {
    let ids = emulator.seed_demo();
    vec![
        CrmUser {
            extension: "201".into(),
            user_id: Some(ids.ana),
            name: Some("Ana García".into()),
            phone: Some("201".into()),
            email: None,
        },
        CrmUser {
            extension: "202".into(),
            user_id: Some(ids.bruno),
            name: Some("Bruno Díaz".into()),
            phone: Some("202".into()),
            email: None,
        },
    ]
}

/// Limits so generous that the throttle never makes anyone wait: every
/// request still takes its permit, but the bucket never runs dry. This is
/// beyond what a config file may set (`Limits::validate` stops at 1 000
/// requests/s): at 1 000/s with a burst of 1 000 the throttle itself capped
/// the direct baseline (4 500 deliveries took 1 s of burst + 3.5 s paced).
fn limits() -> Limits {
    Limits {
        requests_per_second: 1_000_000.0,
        burst: 1_000_000,
        timeout_seconds: 10.0,
    }
}

fn settings(cache: CacheSettings, users: Vec<CrmUser>) -> CrmSettings {
    CrmSettings {
        limits: limits(),
        cache,
        delivery: DeliverySettings {
            wrap_up_seconds: 0,
            ..DeliverySettings::default()
        },
        users,
        discover_users: false,
    }
}

/// The Vtiger CRM pointed at `emulator`, behind the framework's layers, as
/// the hub's `crms::assemble` builds it.
fn vtiger_crm(emulator: &VtigerEmulator, settings: CrmSettings) -> anyhow::Result<Crm> {
    let config = emulator.config();
    let vtiger = VtigerSettings::new(
        emulator.base_url(),
        config.username,
        config.access_key,
        config.gateway_secret,
    );
    // Fail here on bad settings, not inside the builder.
    VtigerCrm::new(
        vtiger.clone(),
        ringside_crm::Throttle::new(&settings.limits),
    )?;
    Ok(Crm::new(
        "vtiger",
        settings,
        NumberPlan::default(),
        move |throttle| {
            Arc::new(VtigerCrm::new(vtiger, throttle).expect("settings were checked a moment ago"))
        },
    ))
}

/// REST requests the emulator has received so far.
fn rest_requests(emulator: &VtigerEmulator) -> usize {
    emulator
        .requests()
        .iter()
        .filter(|r| r.surface == Surface::Rest)
        .count()
}

/// Wait (up to ten seconds) until the emulator is serving no request: a
/// lookup that gave up at its deadline still finishes in the background and
/// warms the cache.
async fn settle(emulator: &VtigerEmulator) {
    let until = Instant::now() + Duration::from_secs(10);
    while Instant::now() < until && emulator.requests().iter().any(|r| r.status == 0) {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// The PBX is not part of these benches: call control is refused.
struct NoPbx;

#[async_trait::async_trait]
impl PbxControl for NoPbx {
    async fn dial(&self, _: &str, _: &str, _: &str) -> ringside_core::Result<()> {
        Err(Error::new(
            ErrorKind::Unsupported,
            "no PBX in the CRM bench",
        ))
    }
    async fn hang_up(&self, _: &str) -> ringside_core::Result<()> {
        Err(Error::new(
            ErrorKind::Unsupported,
            "no PBX in the CRM bench",
        ))
    }
    async fn transfer(&self, _: &str, _: &str) -> ringside_core::Result<()> {
        Err(Error::new(
            ErrorKind::Unsupported,
            "no PBX in the CRM bench",
        ))
    }
    async fn extensions(&self) -> ringside_core::Result<Vec<Extension>> {
        Ok(Vec::new())
    }
}

/// A journal in a temp dir (`synchronous=FULL`), an engine whose lookup is
/// the hub's `contact_lookup` over `set`, and, with `outbox`, the engine's
/// outbox hook and the running workers.
struct Rig {
    engine: Engine,
    set: CrmSet,
    _dir: tempfile::TempDir,
}

impl Rig {
    async fn start(crm: Crm, outbox: bool) -> anyhow::Result<Rig> {
        let dir = tempfile::tempdir().context("creating the journal's temp dir")?;
        let path = dir.path().join("journal.sqlite");
        let journal = tokio::task::spawn_blocking(move || Journal::open(&path)).await??;
        let mut set = CrmSet::new(vec![crm])?;
        let lookup: Arc<dyn ContactLookup> = ringside_hub::crms::contact_lookup(&set, None);
        let clock: Arc<dyn Clock> = Arc::new(SystemClock);
        let mut engine = Engine::new(
            EngineConfig::default(),
            journal.clone(),
            lookup,
            Arc::new(NoPbx),
            clock.clone(),
        );
        if outbox {
            engine = engine.with_outbox(set.hook());
            set.start(&journal, clock);
        }
        Ok(Rig {
            engine,
            set,
            _dir: dir,
        })
    }

    fn cache_stats(&self) -> CacheStats {
        self.set
            .crms()
            .first()
            .map(|crm| crm.cache().stats())
            .unwrap_or_default()
    }
}

// ---------------------------------------------------------------- lookup --

/// One kind of lookup over all rounds.
#[derive(Debug, Clone, Serialize)]
pub struct LookupSide {
    pub name: String,
    /// Lookups made.
    pub lookups: usize,
    /// Lookups that answered with the number's contact.
    pub found: usize,
    /// Lookups that failed (timeout, CRM error).
    pub failed: usize,
    /// Lookups the cache sent to the CRM while these ran (cold: one per
    /// lookup; stale: the background refreshes, one per number at a time).
    pub crm_fetches: u64,
    /// Requests the emulator received while these lookups ran (a lookup of
    /// a contact with an organization and deals takes three).
    pub crm_requests: usize,
    /// `Engine::lookup` call → answer, all rounds pooled.
    pub latency: Latency,
    /// Each round's p50 and p99, in microseconds.
    pub rounds: Vec<(u64, u64)>,
    pub stopped_by_budget: bool,
    #[serde(skip)]
    recorder: Recorder,
}

impl LookupSide {
    fn new(name: &str) -> Self {
        Self {
            name: name.into(),
            lookups: 0,
            found: 0,
            failed: 0,
            crm_fetches: 0,
            crm_requests: 0,
            latency: Recorder::new().summary(),
            rounds: Vec::new(),
            stopped_by_budget: false,
            recorder: Recorder::new(),
        }
    }

    fn add(&mut self, round: &Lookups) {
        self.lookups += round.lookups;
        self.found += round.found;
        self.failed += round.failed;
        self.crm_requests += round.crm_requests;
        self.crm_fetches += round.crm_fetches;
        self.stopped_by_budget |= round.stopped_by_budget;
        let summary = round.latency.summary();
        self.rounds.push((summary.p50_us, summary.p99_us));
        self.recorder.merge(&round.latency);
        self.latency = self.recorder.summary();
    }
}

/// The three kinds of lookup and their ratios to the cold one.
#[derive(Debug, Clone, Serialize)]
pub struct LookupReport {
    pub cold: LookupSide,
    pub warm: LookupSide,
    pub stale: LookupSide,
    /// The caches' counters, summed over the rounds.
    pub fresh_cache: CacheStats,
    pub stale_cache: CacheStats,
    pub warm_over_cold_p50: f64,
    pub warm_over_cold_p99: f64,
    pub stale_over_cold_p50: f64,
    pub stale_over_cold_p99: f64,
}

/// One loop of lookups.
#[derive(Default)]
struct Lookups {
    lookups: usize,
    found: usize,
    failed: usize,
    crm_requests: usize,
    crm_fetches: u64,
    latency: Recorder,
    stopped_by_budget: bool,
}

impl Lookups {
    fn merge(&mut self, other: Lookups) {
        self.lookups += other.lookups;
        self.found += other.found;
        self.failed += other.failed;
        self.crm_requests += other.crm_requests;
        self.crm_fetches += other.crm_fetches;
        self.stopped_by_budget |= other.stopped_by_budget;
        self.latency.merge(&other.latency);
    }
}

/// Seed `n` contacts with distinct mobile numbers (typed with spaces, as
/// people type them), each with an organization and an open deal, as Lucía
/// has. Returns the numbers to look up, Lucía's first.
fn seed_numbers(emulator: &VtigerEmulator, n: usize) -> Vec<String> {
    let account = emulator.add_account("Estudio Bench SL");
    let mut numbers = vec![LUCIA.to_string()];
    for i in 1..n {
        // 61x xx xx xx: nine digits, distinct, far from the demo's numbers.
        let digits = format!("{}", 610_000_000 + i);
        let typed = format!(
            "{} {} {} {}",
            &digits[..3],
            &digits[3..5],
            &digits[5..7],
            &digits[7..]
        );
        let contact = emulator.add_contact(NewContact {
            firstname: format!("Cliente {i}"),
            lastname: "Bench".into(),
            mobile: Some(typed),
            account_id: Some(account.clone()),
            ..NewContact::default()
        });
        emulator.add_potential(NewPotential {
            potentialname: format!("Proyecto {i}"),
            contact_id: Some(contact),
            sales_stage: "Prospecting".into(),
            amount: Some("1000.00".into()),
            currency: Some("EUR".into()),
            ..NewPotential::default()
        });
        numbers.push(format!("+34{digits}"));
    }
    numbers
}

/// Look up `count` numbers one at a time, cycling through `numbers`, timing
/// each `Engine::lookup`.
async fn look_up(
    engine: &Engine,
    emulator: &VtigerEmulator,
    numbers: &[String],
    count: usize,
    budget: Duration,
) -> Lookups {
    let before = emulator.requests().len();
    let deadline = Instant::now() + budget;
    let mut out = Lookups::default();
    for number in numbers.iter().cycle().take(count) {
        if Instant::now() >= deadline {
            out.stopped_by_budget = true;
            break;
        }
        let t0 = Instant::now();
        let answer = engine.lookup(number).await;
        out.latency.record(t0.elapsed());
        out.lookups += 1;
        match answer {
            Ok(info) if !info.lookup.matches.is_empty() => out.found += 1,
            Ok(_) => {}
            Err(_) => out.failed += 1,
        }
    }
    out.crm_requests = emulator.requests().len().saturating_sub(before);
    out
}

struct LookupRound {
    cold: Lookups,
    warm: Lookups,
    stale: Lookups,
    fresh_cache: CacheStats,
    stale_cache: CacheStats,
}

/// One round on a fresh emulator: a cache with the default lifetimes (cold,
/// then warm) and a cache whose hits are always stale (cold, then stale).
async fn lookup_round(params: Params) -> anyhow::Result<LookupRound> {
    let emulator = VtigerEmulator::start(EmulatorConfig::default()).await?;
    let users = users(&emulator);
    let numbers = seed_numbers(&emulator, params.numbers.max(1));
    let ms = u64::try_from(params.crm_latency.as_millis()).unwrap_or(u64::MAX);
    if ms > 0 {
        // Every request the fault counts is slowed: count them all.
        emulator.inject(Fault::Latency {
            ms,
            times: u32::MAX,
            scope: Scope::All,
        });
    }

    let fresh = Rig::start(
        vtiger_crm(&emulator, settings(CacheSettings::default(), users.clone()))?,
        false,
    )
    .await?;
    let mut cold = look_up(
        &fresh.engine,
        &emulator,
        &numbers,
        numbers.len(),
        params.budget,
    )
    .await;
    settle(&emulator).await;
    let cached = fresh.cache_stats();
    cold.crm_fetches = cached.fetches;
    let mut warm = look_up(
        &fresh.engine,
        &emulator,
        &numbers[..cold.lookups.clamp(1, numbers.len())],
        params.lookups,
        params.budget,
    )
    .await;
    let fresh_cache = fresh.cache_stats();
    warm.crm_fetches = fresh_cache.fetches - cached.fetches;
    drop(fresh);
    ensure!(
        warm.crm_requests == 0 && warm.crm_fetches == 0,
        "warm lookups asked the CRM: {} fetches, {} requests",
        warm.crm_fetches,
        warm.crm_requests
    );
    ensure!(
        fresh_cache.fresh_hits - cached.fresh_hits == warm.lookups as u64,
        "warm lookups were not all fresh cache hits: {cached:?} then {fresh_cache:?}"
    );

    let always_stale = CacheSettings {
        hit_seconds: 0,
        miss_seconds: 0,
        ..CacheSettings::default()
    };
    let stale_rig =
        Rig::start(vtiger_crm(&emulator, settings(always_stale, users))?, false).await?;
    let mut fill = look_up(
        &stale_rig.engine,
        &emulator,
        &numbers,
        numbers.len(),
        params.budget,
    )
    .await;
    let filled = fill.lookups.clamp(1, numbers.len());
    settle(&emulator).await;
    let before = stale_rig.cache_stats();
    fill.crm_fetches = before.fetches;
    cold.merge(fill);
    let requests_before = emulator.requests().len();
    let mut stale = look_up(
        &stale_rig.engine,
        &emulator,
        &numbers[..filled],
        params.lookups,
        params.budget,
    )
    .await;
    // Count the refreshes' requests too, once they are done.
    settle(&emulator).await;
    stale.crm_requests = emulator.requests().len() - requests_before;
    let stale_cache = stale_rig.cache_stats();
    stale.crm_fetches = stale_cache.fetches - before.fetches;
    drop(stale_rig);
    ensure!(
        stale_cache.stale_hits == stale.lookups as u64 && stale_cache.fresh_hits == 0,
        "stale lookups were not all stale hits: {stale_cache:?} for {} lookups",
        stale.lookups
    );
    Ok(LookupRound {
        cold,
        warm,
        stale,
        fresh_cache,
        stale_cache,
    })
}

fn add_stats(a: CacheStats, b: CacheStats) -> CacheStats {
    CacheStats {
        fresh_hits: a.fresh_hits + b.fresh_hits,
        stale_hits: a.stale_hits + b.stale_hits,
        fetches: a.fetches + b.fetches,
    }
}

async fn lookup_bench(params: Params) -> anyhow::Result<LookupReport> {
    let mut cold = LookupSide::new("cold (number never seen)");
    let mut warm = LookupSide::new("warm (fresh cache hit)");
    let mut stale = LookupSide::new("stale (hit_seconds 0, refresh in background)");
    let (mut fresh_cache, mut stale_cache) = (CacheStats::default(), CacheStats::default());
    for _ in 0..params.rounds.max(1) {
        let round = lookup_round(params).await?;
        cold.add(&round.cold);
        warm.add(&round.warm);
        stale.add(&round.stale);
        fresh_cache = add_stats(fresh_cache, round.fresh_cache);
        stale_cache = add_stats(stale_cache, round.stale_cache);
    }
    let over = |a: u64, b: u64| ratio(a as f64, b as f64);
    Ok(LookupReport {
        warm_over_cold_p50: over(warm.latency.p50_us, cold.latency.p50_us),
        warm_over_cold_p99: over(warm.latency.p99_us, cold.latency.p99_us),
        stale_over_cold_p50: over(stale.latency.p50_us, cold.latency.p50_us),
        stale_over_cold_p99: over(stale.latency.p99_us, cold.latency.p99_us),
        cold,
        warm,
        stale,
        fresh_cache,
        stale_cache,
    })
}

// ---------------------------------------------------------------- outbox --

/// One way of delivering, over all rounds.
#[derive(Debug, Clone, Serialize)]
pub struct OutboxSide {
    pub name: String,
    /// Calls whose events went in (whole calls only).
    pub calls: usize,
    /// Gateway events the emulator accepted.
    pub deliveries: usize,
    /// Median over the rounds of deliveries per second.
    pub deliveries_per_second: f64,
    /// Each round's rate.
    pub rounds: Vec<f64>,
    /// Pipeline only: seconds spent ingesting, per round.
    pub ingest_seconds: Vec<f64>,
    /// Pipeline only: REST requests the emulator received (the engine's
    /// background lookup of each ringing number).
    pub crm_lookups: usize,
    pub stopped_by_budget: bool,
}

impl OutboxSide {
    fn new(name: &str) -> Self {
        Self {
            name: name.into(),
            calls: 0,
            deliveries: 0,
            deliveries_per_second: 0.0,
            rounds: Vec::new(),
            ingest_seconds: Vec::new(),
            crm_lookups: 0,
            stopped_by_budget: false,
        }
    }

    fn add(&mut self, round: Delivered) {
        self.calls += round.calls;
        self.deliveries += round.deliveries;
        self.stopped_by_budget |= round.stopped_by_budget;
        self.crm_lookups += round.crm_lookups;
        if let Some(ingest) = round.ingest {
            self.ingest_seconds.push(ingest.as_secs_f64());
        }
        self.rounds
            .push(ratio(round.deliveries as f64, round.elapsed.as_secs_f64()));
        self.deliveries_per_second = median(&self.rounds);
    }
}

/// The pipeline, the direct baseline and their ratio.
#[derive(Debug, Clone, Serialize)]
pub struct OutboxReport {
    pub outbox: OutboxSide,
    pub direct: OutboxSide,
    /// Outbox deliveries/s over direct deliveries/s.
    pub ratio: f64,
}

/// One side in one round.
struct Delivered {
    calls: usize,
    deliveries: usize,
    elapsed: Duration,
    ingest: Option<Duration>,
    crm_lookups: usize,
    stopped_by_budget: bool,
}

/// The operations every call must produce, in order, as gateway events.
const EXPECTED: [&str; 3] = ["call_initiated", "call_connected", "call_hangup"];

/// `n` incoming calls answered at 201, as the engine ingests them.
fn calls(n: usize) -> anyhow::Result<Vec<Vec<IncomingEvent>>> {
    (0..n)
        .map(|_| {
            let call = workload::call(Kind::IncomingAnswered, 201, 202);
            ensure!(call.events.len() == 3, "an answered call has three events");
            call.events
                .into_iter()
                .map(|e| {
                    let event = ringside_gamma::parse_event(e.body.as_bytes(), None)?;
                    Ok(IncomingEvent {
                        event,
                        body: e.body,
                        source_ip: Some("127.0.0.1".into()),
                    })
                })
                .collect()
        })
        .collect()
}

/// The emulator received exactly ring, answered, hangup for each of
/// `calls` calls, in that order, and nothing else.
fn check_gateway(emulator: &VtigerEmulator, calls: usize, side: &str) -> anyhow::Result<usize> {
    let events = emulator.gateway_events();
    let mut per_call: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for e in &events {
        per_call
            .entry(e.call_id.clone())
            .or_default()
            .push(e.event.clone());
    }
    ensure!(
        per_call.len() == calls,
        "{side}: the emulator saw {} calls, expected {calls}",
        per_call.len()
    );
    for (call, ops) in &per_call {
        ensure!(
            ops.as_slice() == EXPECTED,
            "{side}: call {call} got {ops:?}, expected {EXPECTED:?}"
        );
    }
    Ok(events.len())
}

/// The baseline: the same layered adapter (throttle, deadline, Vtiger) the
/// worker uses, its `deliver` called for each call's ring, answered and
/// ended in turn. The operations are planned with the CRM's own planner on
/// each call folded in memory, before the clock starts.
async fn direct_round(calls: &[Vec<IncomingEvent>], params: Params) -> anyhow::Result<Delivered> {
    let emulator = VtigerEmulator::start(EmulatorConfig::default()).await?;
    let users = users(&emulator);
    let crm = vtiger_crm(&emulator, settings(CacheSettings::default(), users))?;
    let fold = CallFold::new(NumberPlan::default());
    let now = Utc::now();
    let mut planned = Vec::with_capacity(calls.len());
    for events in calls {
        let folded = fold.fold_all(events.iter().map(|e| &e.event), now);
        let [call] = folded.as_slice() else {
            bail!("the events of one call folded into {} calls", folded.len());
        };
        let mut ops = Vec::new();
        for (i, op) in crm.planner().plan(call, &[], now).into_iter().enumerate() {
            let data: OpData = serde_json::from_str(&op.data).unwrap_or_default();
            let kind = match op.kind.as_str() {
                "ring" => OpKind::Ring,
                "answered" => OpKind::Answered,
                "ended" => OpKind::Ended,
                other => bail!("unexpected operation {other:?} for an answered call"),
            };
            ops.push(Operation {
                id: i as i64 + 1,
                kind,
                customer: call.remote_number.clone(),
                user: data
                    .extension
                    .as_deref()
                    .and_then(|e| crm.directory().user(e)),
                previous_user: None,
                prior: Vec::new(),
                extension: data.extension,
                call: call.clone(),
            });
        }
        ensure!(ops.len() == 3, "planned {} operations, not 3", ops.len());
        planned.push(ops);
    }

    let provider = crm.provider().clone();
    let started = Instant::now();
    let deadline = started + params.budget;
    let (mut done, mut stopped_by_budget) = (0, false);
    for ops in &planned {
        if Instant::now() >= deadline {
            stopped_by_budget = true;
            break;
        }
        for op in ops {
            provider
                .deliver(op)
                .await
                .with_context(|| format!("direct delivery of {}", op.kind.name()))?;
        }
        done += 1;
    }
    let elapsed = started.elapsed();
    let deliveries = check_gateway(&emulator, done, "direct")?;
    Ok(Delivered {
        calls: done,
        deliveries,
        elapsed,
        ingest: None,
        crm_lookups: 0,
        stopped_by_budget,
    })
}

/// The pipeline: `producers` tasks ingest whole calls (events in order)
/// into the engine; the outbox worker delivers. The clock stops when the
/// emulator has every event and the outbox has nothing pending.
async fn outbox_round(
    calls: Arc<Vec<Vec<IncomingEvent>>>,
    params: Params,
) -> anyhow::Result<Delivered> {
    let emulator = VtigerEmulator::start(EmulatorConfig::default()).await?;
    let users = users(&emulator);
    let rig = Rig::start(
        vtiger_crm(&emulator, settings(CacheSettings::default(), users))?,
        true,
    )
    .await?;
    let rest_before = rest_requests(&emulator);

    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let deadline = started + params.budget;
    let mut tasks = Vec::new();
    for _ in 0..params.producers.max(1) {
        let (calls, next, engine) = (calls.clone(), next.clone(), rig.engine.clone());
        tasks.push(tokio::spawn(async move {
            let mut done = 0usize;
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= calls.len() || Instant::now() >= deadline {
                    return Ok::<_, anyhow::Error>(done);
                }
                for event in &calls[i] {
                    engine.ingest(event.clone()).await?;
                }
                done += 1;
            }
        }));
    }
    let mut ingested = 0;
    for task in tasks {
        ingested += task.await??;
    }
    let ingest = started.elapsed();
    let stopped_by_budget = ingested < calls.len();

    // Drain: every event at the emulator and nothing pending in the journal,
    // within the budget plus a grace period.
    let want = ingested * EXPECTED.len();
    let grace = Duration::from_secs(30);
    let left = (deadline + grace).saturating_duration_since(Instant::now());
    let arrived = emulator.wait_for_gateway_events(want, left).await;
    let mut drained = false;
    let until = deadline + grace;
    while arrived && Instant::now() < until {
        let statuses = rig.set.statuses().await?;
        if statuses.iter().all(|s| s.counts.pending == 0) {
            drained = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    let elapsed = started.elapsed();
    let statuses = rig.set.statuses().await?;
    ensure!(
        arrived && drained,
        "the outbox did not drain within {:?}: the emulator has {} of {want} events; {:?}",
        params.budget + grace,
        emulator.gateway_events().len(),
        statuses.iter().map(|s| &s.counts).collect::<Vec<_>>()
    );
    for s in &statuses {
        ensure!(
            s.counts.parked == 0 && s.counts.delivered == want as u64,
            "outbox {}: {:?} for {want} operations (last error: {:?})",
            s.crm,
            s.counts,
            s.last_error
        );
    }
    let deliveries = check_gateway(&emulator, ingested, "outbox")?;
    let crm_lookups = rest_requests(&emulator).saturating_sub(rest_before);
    drop(rig);
    Ok(Delivered {
        calls: ingested,
        deliveries,
        elapsed,
        ingest: Some(ingest),
        crm_lookups,
        stopped_by_budget,
    })
}

async fn outbox_bench(params: Params) -> anyhow::Result<OutboxReport> {
    let mut direct = OutboxSide::new("adapter deliver, direct");
    let mut outbox = OutboxSide::new("ingest → journal → outbox worker");
    for _ in 0..params.rounds.max(1) {
        let calls = Arc::new(calls(params.calls.max(1))?);
        direct.add(direct_round(&calls, params).await?);
        outbox.add(outbox_round(calls, params).await?);
    }
    Ok(OutboxReport {
        ratio: ratio(outbox.deliveries_per_second, direct.deliveries_per_second),
        outbox,
        direct,
    })
}

// ---------------------------------------------------------------- report --

/// Both measurements.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub params: Params,
    pub lookup: LookupReport,
    pub outbox: OutboxReport,
}

impl Report {
    pub fn table(&self) -> String {
        let l = &self.lookup;
        let mut lookups = Table::new(&[
            "who is calling (Engine::lookup)",
            "lookups",
            "found",
            "CRM lookups",
            "CRM requests",
            "p50 ms",
            "p90 ms",
            "p99 ms",
            "max ms",
            "p50 / p99 per round",
        ]);
        for side in [&l.cold, &l.warm, &l.stale] {
            let s = &side.latency;
            let rounds: Vec<String> = side
                .rounds
                .iter()
                .map(|(p50, p99)| format!("{}/{}", ms(*p50), ms(*p99)))
                .collect();
            lookups.row(vec![
                side.name.clone(),
                side.lookups.to_string(),
                side.found.to_string(),
                side.crm_fetches.to_string(),
                side.crm_requests.to_string(),
                ms(s.p50_us),
                ms(s.p90_us),
                ms(s.p99_us),
                ms(s.max_us),
                rounds.join(", "),
            ]);
        }
        let o = &self.outbox;
        let mut outbox = Table::new(&[
            "CRM deliveries (Vtiger gateway)",
            "calls",
            "deliveries",
            "deliveries/s (median)",
            "rounds",
        ]);
        for side in [&o.outbox, &o.direct] {
            let rounds: Vec<String> = side.rounds.iter().map(|r| rate(*r)).collect();
            outbox.row(vec![
                side.name.clone(),
                side.calls.to_string(),
                side.deliveries.to_string(),
                rate(side.deliveries_per_second),
                rounds.join(", "),
            ]);
        }
        let ingest: Vec<String> = o
            .outbox
            .ingest_seconds
            .iter()
            .map(|s| format!("{s:.2}"))
            .collect();
        format!(
            "CRM latency fault: {} ms per request.\n\n{}\n\
             warm / cold: p50 {:.4}x, p99 {:.4}x; stale / cold: p50 {:.4}x, p99 {:.4}x \
             (a cold p50 is {:.0} warm p50s)\n\n{}\n\
             outbox / direct: {:.2}x (ingest took {} s per round; the engine's \
             background lookups sent {} REST requests)\n",
            self.params.crm_latency.as_millis(),
            lookups.markdown(),
            l.warm_over_cold_p50,
            l.warm_over_cold_p99,
            l.stale_over_cold_p50,
            l.stale_over_cold_p99,
            ratio(1.0, l.warm_over_cold_p50),
            outbox.markdown(),
            o.ratio,
            ingest.join(", "),
            o.outbox.crm_lookups,
        )
    }
}

/// Run both measurements.
pub async fn bench(params: Params) -> anyhow::Result<Report> {
    let lookup = lookup_bench(params).await?;
    let outbox = outbox_bench(params).await?;
    Ok(Report {
        params,
        lookup,
        outbox,
    })
}
