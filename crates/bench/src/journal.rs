//! `journal`: raw events appended per second through the journal's single
//! writer thread. Three runs on fresh files: C concurrent writers with
//! `synchronous=FULL` (group commit shares one fsync among the waiting
//! jobs), the same with fsync off (the cost of durability), and one writer
//! at a time with `write_blocking` and fsync on (one fsync per event: what
//! group commit buys). The three run in turn, `rounds` times; rates are the
//! medians over the rounds.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context;
use chrono::Utc;
use ringside_journal::{Journal, JournalOptions, NewEvent};
use serde::Serialize;

use crate::report::{Table, median, rate, ratio};
use crate::workload;

/// What to measure.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Params {
    /// Events per run.
    pub events: usize,
    /// Concurrent writer tasks of the grouped runs.
    pub concurrency: usize,
    /// Events of the one-at-a-time run (at most `events`).
    pub sequential_events: usize,
    /// Time limit of each run; a run stops early when it is reached.
    pub budget: Duration,
    /// How many times the three runs are repeated, in turn.
    pub rounds: usize,
}

impl Default for Params {
    fn default() -> Self {
        Self {
            events: 20_000,
            concurrency: 64,
            sequential_events: 2_000,
            budget: Duration::from_secs(20),
            rounds: 3,
        }
    }
}

impl Params {
    /// Small enough for a smoke check (well under 30 s).
    pub fn quick() -> Self {
        Self {
            events: 1_000,
            concurrency: 16,
            sequential_events: 100,
            budget: Duration::from_secs(5),
            rounds: 1,
        }
    }
}

/// One run's outcome.
#[derive(Debug, Clone, Serialize)]
pub struct Run {
    pub name: String,
    pub writers: usize,
    pub synchronous_full: bool,
    /// Events acknowledged as committed.
    pub events: usize,
    /// Rows counted in the journal afterwards.
    pub journaled: u64,
    pub seconds: f64,
    pub events_per_second: f64,
    /// The time limit stopped it before all events were written.
    pub stopped_by_budget: bool,
}

/// One kind of run over all rounds.
#[derive(Debug, Clone, Serialize)]
pub struct Series {
    pub name: String,
    pub writers: usize,
    pub synchronous_full: bool,
    /// Median over the rounds.
    pub events_per_second: f64,
    pub runs: Vec<Run>,
}

impl Series {
    fn new(name: &str, writers: usize, synchronous_full: bool) -> Self {
        Self {
            name: name.into(),
            writers,
            synchronous_full,
            events_per_second: 0.0,
            runs: Vec::new(),
        }
    }

    fn push(&mut self, run: Run) {
        self.runs.push(run);
        let rates: Vec<f64> = self.runs.iter().map(|r| r.events_per_second).collect();
        self.events_per_second = median(&rates);
    }
}

/// The three runs and their ratios.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub params: Params,
    pub grouped_fsync: Series,
    pub grouped_no_fsync: Series,
    pub sequential_fsync: Series,
    /// Grouped / sequential, both with fsync: what group commit buys.
    pub group_commit_gain: f64,
    /// Grouped without fsync / grouped with: what durability costs.
    pub fsync_cost: f64,
}

impl Report {
    pub fn table(&self) -> String {
        let mut t = Table::new(&[
            "journal run",
            "writers",
            "fsync",
            "events/round",
            "events/s (median)",
            "rounds",
        ]);
        for series in [
            &self.grouped_fsync,
            &self.grouped_no_fsync,
            &self.sequential_fsync,
        ] {
            let events = series.runs.iter().map(|r| r.events).min().unwrap_or(0);
            let rounds: Vec<String> = series
                .runs
                .iter()
                .map(|r| rate(r.events_per_second))
                .collect();
            t.row(vec![
                series.name.clone(),
                series.writers.to_string(),
                if series.synchronous_full {
                    "FULL"
                } else {
                    "off"
                }
                .into(),
                events.to_string(),
                rate(series.events_per_second),
                rounds.join(", "),
            ]);
        }
        format!(
            "{}\ngroup commit gain (grouped / sequential, fsync on): {:.1}x\n\
             fsync cost (grouped: fsync off / fsync on): {:.2}x\n",
            t.markdown(),
            self.group_commit_gain,
            self.fsync_cost
        )
    }
}

/// The events as the engine would journal them: parsed for their columns,
/// body verbatim.
fn events(n: usize) -> anyhow::Result<Arc<Vec<NewEvent>>> {
    let now = Utc::now();
    let calls = workload::mix(n, &[201, 202, 203, 204, 206]);
    let mut out = Vec::with_capacity(n);
    for event in workload::flatten(&calls) {
        let parsed = ringside_gamma::parse_event(event.body.as_bytes(), None)?;
        out.push(NewEvent {
            provider: parsed.provider.clone(),
            received_at: now,
            provider_call_id: Some(parsed.call_id.clone()),
            leg_id: parsed.leg_id.clone(),
            state: Some(parsed.state_name()),
            body: event.body,
            external_call_id: None,
            source_ip: Some("127.0.0.1".into()),
            parsed: true,
        });
    }
    Ok(Arc::new(out))
}

async fn open(
    dir: &std::path::Path,
    name: &str,
    synchronous_full: bool,
) -> anyhow::Result<Journal> {
    let path = dir.join(format!("{name}.sqlite"));
    let journal = tokio::task::spawn_blocking(move || {
        Journal::open_with(&path, JournalOptions { synchronous_full })
    })
    .await??;
    Ok(journal)
}

async fn count(journal: &Journal) -> anyhow::Result<u64> {
    Ok(journal.read(|q| q.event_count()).await?)
}

/// `writers` tasks take the next event until all are written or the
/// budget is spent, each awaiting its commit before the next.
async fn grouped(
    journal: &Journal,
    events: &Arc<Vec<NewEvent>>,
    writers: usize,
    budget: Duration,
) -> anyhow::Result<(usize, Duration)> {
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let deadline = started + budget;
    let mut tasks = Vec::with_capacity(writers);
    for _ in 0..writers.max(1) {
        let journal = journal.clone();
        let events = Arc::clone(events);
        let next = Arc::clone(&next);
        tasks.push(tokio::spawn(async move {
            let mut written = 0usize;
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= events.len() || Instant::now() >= deadline {
                    return Ok::<_, anyhow::Error>(written);
                }
                let events = Arc::clone(&events);
                journal.write(move |tx| tx.append_event(&events[i])).await?;
                written += 1;
            }
        }));
    }
    let mut written = 0;
    for task in tasks {
        written += task.await??;
    }
    Ok((written, started.elapsed()))
}

/// One event at a time with `write_blocking`: each waits for its own commit.
async fn sequential(
    journal: &Journal,
    events: &Arc<Vec<NewEvent>>,
    limit: usize,
    budget: Duration,
) -> anyhow::Result<(usize, Duration)> {
    let journal = journal.clone();
    let events = Arc::clone(events);
    tokio::task::spawn_blocking(move || {
        let started = Instant::now();
        let deadline = started + budget;
        let mut written = 0;
        for i in 0..limit.min(events.len()) {
            if Instant::now() >= deadline {
                break;
            }
            let events = Arc::clone(&events);
            journal.write_blocking(move |tx| tx.append_event(&events[i]))?;
            written += 1;
        }
        Ok((written, started.elapsed()))
    })
    .await?
}

fn run(
    name: &str,
    writers: usize,
    synchronous_full: bool,
    planned: usize,
    (events, elapsed): (usize, Duration),
    journaled: u64,
) -> Run {
    let seconds = elapsed.as_secs_f64();
    Run {
        name: name.into(),
        writers,
        synchronous_full,
        events,
        journaled,
        seconds,
        events_per_second: ratio(events as f64, seconds),
        stopped_by_budget: events < planned,
    }
}

/// Run the three journal measurements, `rounds` times in turn, each on a
/// fresh file.
pub async fn bench(params: Params) -> anyhow::Result<Report> {
    let dir = tempfile::tempdir().context("creating the journal bench's temp dir")?;
    let events = events(params.events)?;
    let n = events.len();
    let writers = params.concurrency.max(1);
    let limit = params.sequential_events.min(n);
    let mut grouped_fsync = Series::new("grouped", writers, true);
    let mut grouped_no_fsync = Series::new("grouped", writers, false);
    let mut sequential_fsync = Series::new("sequential", 1, true);

    for round in 0..params.rounds.max(1) {
        let journal = open(dir.path(), &format!("grouped-full-{round}"), true).await?;
        let done = grouped(&journal, &events, writers, params.budget).await?;
        grouped_fsync.push(run(
            "grouped",
            writers,
            true,
            n,
            done,
            count(&journal).await?,
        ));
        drop(journal);

        let journal = open(dir.path(), &format!("grouped-off-{round}"), false).await?;
        let done = grouped(&journal, &events, writers, params.budget).await?;
        grouped_no_fsync.push(run(
            "grouped",
            writers,
            false,
            n,
            done,
            count(&journal).await?,
        ));
        drop(journal);

        let journal = open(dir.path(), &format!("sequential-full-{round}"), true).await?;
        let done = sequential(&journal, &events, limit, params.budget).await?;
        sequential_fsync.push(run(
            "sequential",
            1,
            true,
            limit,
            done,
            count(&journal).await?,
        ));
        drop(journal);
    }

    Ok(Report {
        params,
        group_commit_gain: ratio(
            grouped_fsync.events_per_second,
            sequential_fsync.events_per_second,
        ),
        fsync_cost: ratio(
            grouped_no_fsync.events_per_second,
            grouped_fsync.events_per_second,
        ),
        grouped_fsync,
        grouped_no_fsync,
        sequential_fsync,
    })
}
