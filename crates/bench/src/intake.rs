//! `intake`: webhook requests per second. K keep-alive clients post the
//! events of realistic calls (each call's events in order, by one client) to
//! a real hub — secret check, parse, journal with fsync, fold, publish — and
//! the same requests, with the same client code, to a bare axum handler that
//! only parses the JSON. The ratio hub / bare is what Ringside's durable
//! intake costs over the HTTP stack itself. A third side calls
//! `Engine::ingest` directly with the same concurrency (parse, journal with
//! fsync, fold, publish; no HTTP), which splits the hub's cost between the
//! HTTP layer and the engine. The sides run in turn, `rounds` times, each
//! round on fresh servers; rates are medians over the rounds, latencies are
//! pooled.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use reqwest::header::CONTENT_TYPE;
use ringside_engine::{Engine, IncomingEvent};
use serde::Serialize;

use crate::harness::{self, HubUnderTest, SECRET_HEADER, WEBHOOK_PATH};
use crate::report::{Latency, Recorder, Table, median, ms, rate, ratio};
use crate::workload::{self, Call, Event};

/// What to measure.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Params {
    /// Webhook requests per side.
    pub events: usize,
    /// Concurrent keep-alive clients.
    pub clients: usize,
    /// Time limit of each side; it stops early when it is reached.
    pub budget: Duration,
    /// How many times the sides are measured, in turn.
    pub rounds: usize,
}

impl Default for Params {
    fn default() -> Self {
        Self {
            events: 10_000,
            clients: 32,
            budget: Duration::from_secs(30),
            rounds: 3,
        }
    }
}

impl Params {
    /// Small enough for a smoke check.
    pub fn quick() -> Self {
        Self {
            events: 1_000,
            clients: 16,
            budget: Duration::from_secs(5),
            rounds: 1,
        }
    }
}

/// One side's outcome over all rounds.
#[derive(Debug, Clone, Serialize)]
pub struct Side {
    pub name: String,
    /// Requests sent (all rounds).
    pub requests: usize,
    /// Requests answered 200 (all rounds).
    pub accepted: usize,
    /// Median over the rounds of accepted requests per second.
    pub requests_per_second: f64,
    /// Each round's rate.
    pub rounds: Vec<f64>,
    /// Time from sending a request to its full answer, all rounds pooled.
    pub latency: Latency,
    pub stopped_by_budget: bool,
    #[serde(skip)]
    recorder: Recorder,
}

impl Side {
    fn new(name: &str) -> Self {
        Self {
            name: name.into(),
            requests: 0,
            accepted: 0,
            requests_per_second: 0.0,
            rounds: Vec::new(),
            latency: Recorder::new().summary(),
            stopped_by_budget: false,
            recorder: Recorder::new(),
        }
    }

    fn add(&mut self, round: Round) {
        self.requests += round.requests;
        self.accepted += round.accepted;
        self.stopped_by_budget |= round.requests < round.planned;
        self.rounds
            .push(ratio(round.accepted as f64, round.elapsed.as_secs_f64()));
        self.requests_per_second = median(&self.rounds);
        self.recorder.merge(&round.latency);
        self.latency = self.recorder.summary();
    }
}

/// One side in one round.
struct Round {
    planned: usize,
    requests: usize,
    accepted: usize,
    elapsed: Duration,
    latency: Recorder,
}

/// The three sides and their ratios.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub params: Params,
    pub hub: Side,
    pub bare: Side,
    /// `Engine::ingest` called directly, no HTTP.
    pub engine: Side,
    /// Raw events in the hubs' journals afterwards (all rounds).
    pub journaled: u64,
    /// Hub requests/s over bare requests/s.
    pub ratio: f64,
    /// Hub requests/s over engine-only events/s.
    pub hub_over_engine: f64,
}

impl Report {
    pub fn table(&self) -> String {
        let mut t = Table::new(&[
            "intake",
            "clients",
            "requests",
            "accepted",
            "requests/s (median)",
            "p50 ms",
            "p99 ms",
            "rounds",
        ]);
        for side in [&self.hub, &self.engine, &self.bare] {
            let rounds: Vec<String> = side.rounds.iter().map(|r| rate(*r)).collect();
            t.row(vec![
                side.name.clone(),
                self.params.clients.to_string(),
                side.requests.to_string(),
                side.accepted.to_string(),
                rate(side.requests_per_second),
                ms(side.latency.p50_us),
                ms(side.latency.p99_us),
                rounds.join(", "),
            ]);
        }
        format!(
            "{}\nhub / bare throughput: {:.2}x; hub / engine only: {:.2}x \
             (journaled {} of {} accepted)\n",
            t.markdown(),
            self.ratio,
            self.hub_over_engine,
            self.journaled,
            self.hub.accepted
        )
    }
}

struct Target {
    url: String,
    secret: String,
}

/// Run `clients` concurrent workers: each takes the next whole call and
/// hands its events to `send` in order, one at a time, timing each; a
/// refused event ends its call.
async fn drive<F, Fut>(
    calls: &Arc<Vec<Call>>,
    clients: usize,
    budget: Duration,
    send: F,
) -> anyhow::Result<Round>
where
    F: Fn(Event) -> Fut + Clone + Send + 'static,
    Fut: Future<Output = bool> + Send,
{
    let planned: usize = calls.iter().map(|c| c.events.len()).sum();
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let deadline = started + budget;
    let mut tasks = Vec::with_capacity(clients);
    for _ in 0..clients.max(1) {
        let calls = Arc::clone(calls);
        let next = Arc::clone(&next);
        let send = send.clone();
        tasks.push(tokio::spawn(async move {
            let mut latency = Recorder::new();
            let (mut sent, mut accepted) = (0usize, 0usize);
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= calls.len() || Instant::now() >= deadline {
                    return (sent, accepted, latency);
                }
                for event in &calls[i].events {
                    let t0 = Instant::now();
                    let ok = send(event.clone()).await;
                    latency.record(t0.elapsed());
                    sent += 1;
                    if !ok {
                        break;
                    }
                    accepted += 1;
                }
            }
        }));
    }
    let mut latency = Recorder::new();
    let (mut requests, mut accepted) = (0, 0);
    for task in tasks {
        let (sent, ok, recorded) = task.await?;
        requests += sent;
        accepted += ok;
        latency.merge(&recorded);
    }
    Ok(Round {
        planned,
        requests,
        accepted,
        elapsed: started.elapsed(),
        latency,
    })
}

/// Post events to `target` with `client`; true when answered 2xx.
async fn drive_http(
    client: &reqwest::Client,
    target: Target,
    calls: &Arc<Vec<Call>>,
    params: Params,
) -> anyhow::Result<Round> {
    let client = client.clone();
    let target = Arc::new(target);
    drive(calls, params.clients, params.budget, move |event: Event| {
        let client = client.clone();
        let target = Arc::clone(&target);
        async move {
            let answer = client
                .post(&target.url)
                .header(CONTENT_TYPE, "application/json")
                .header(SECRET_HEADER, &target.secret)
                .timeout(Duration::from_secs(30))
                .body(event.body)
                .send()
                .await;
            match answer {
                // Read the whole answer so the connection is reused.
                Ok(answer) => {
                    let status = answer.status();
                    answer.bytes().await.is_ok() && status.is_success()
                }
                Err(_) => false,
            }
        }
    })
    .await
}

/// Parse and ingest events straight into `engine`, as the webhook does
/// after its checks.
async fn drive_engine(
    engine: Engine,
    calls: &Arc<Vec<Call>>,
    params: Params,
) -> anyhow::Result<Round> {
    drive(calls, params.clients, params.budget, move |event: Event| {
        let engine = engine.clone();
        async move {
            let Ok(parsed) = ringside_gamma::parse_event(event.body.as_bytes(), None) else {
                return false;
            };
            engine
                .ingest(IncomingEvent {
                    event: parsed,
                    body: event.body,
                    source_ip: Some("127.0.0.1".into()),
                })
                .await
                .is_ok()
        }
    })
    .await
}

/// Measure the bare baseline, the engine alone and the hub, in turn, each
/// with fresh call ids, `rounds` times.
pub async fn bench(params: Params) -> anyhow::Result<Report> {
    let extensions = [201, 202, 203, 204, 206];
    let client = harness::client(params.clients)?;
    let mut bare = Side::new("bare axum");
    let mut engine = Side::new("engine.ingest, no HTTP");
    let mut hub = Side::new("hub");
    let mut journaled = 0;

    for _ in 0..params.rounds.max(1) {
        let calls = Arc::new(workload::mix(params.events, &extensions));
        let server = harness::bare_intake().await?;
        let target = Target {
            url: format!("{}{WEBHOOK_PATH}", server.url),
            secret: String::new(),
        };
        let round = drive_http(&client, target, &calls, params).await;
        server.stop().await;
        bare.add(round?);

        let calls = Arc::new(workload::mix(params.events, &extensions));
        let direct = HubUnderTest::start().await?;
        let round = drive_engine(direct.state.engine.clone(), &calls, params).await;
        journaled_check(&direct, &round).await?;
        direct.stop().await;
        engine.add(round?);

        let calls = Arc::new(workload::mix(params.events, &extensions));
        let server = HubUnderTest::start().await?;
        let target = Target {
            url: format!("{}{WEBHOOK_PATH}", server.server.url),
            secret: server.secret.clone(),
        };
        let round = drive_http(&client, target, &calls, params).await;
        let counted = server.journaled().await;
        server.stop().await;
        hub.add(round?);
        journaled += counted?;
    }

    Ok(Report {
        params,
        ratio: ratio(hub.requests_per_second, bare.requests_per_second),
        hub_over_engine: ratio(hub.requests_per_second, engine.requests_per_second),
        hub,
        bare,
        engine,
        journaled,
    })
}

/// The engine-only side must journal what it accepted, like the hub.
async fn journaled_check(hub: &HubUnderTest, round: &anyhow::Result<Round>) -> anyhow::Result<()> {
    if let Ok(round) = round {
        let counted = hub.journaled().await?;
        anyhow::ensure!(
            counted == round.accepted as u64,
            "engine.ingest accepted {} events but the journal holds {counted}",
            round.accepted
        );
    }
    Ok(())
}
