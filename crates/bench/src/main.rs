//! `ringside-bench`: run the benchmarks, print Markdown tables, write JSON
//! to `target/bench/<name>.json`.

use std::path::{Path, PathBuf};
use std::time::Instant;

use clap::{Args, Parser, Subcommand};
use ringside_bench::{crm, intake, journal, live, report};

#[derive(Parser)]
#[command(
    name = "ringside-bench",
    about = "Ringside benchmarks (ratios against same-run baselines)"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
    /// Small sizes: the whole of `all` in well under a minute.
    #[arg(long, global = true)]
    quick: bool,
    /// Where the JSON results go (default: target/bench).
    #[arg(long, global = true)]
    out: Option<PathBuf>,
}

#[derive(Subcommand)]
enum Command {
    /// Journal events/s: group commit with and without fsync, one at a time.
    Journal(JournalArgs),
    /// Webhook requests/s: real hub vs bare axum.
    Intake(IntakeArgs),
    /// Webhook → SSE stream latency: real hub vs bare broadcast.
    Live(LiveArgs),
    /// CRM: cached who-is-calling lookups vs cold ones against a slowed
    /// Vtiger; outbox deliveries/s vs the adapter called directly.
    Crm(CrmArgs),
    /// All four with their defaults (about 4–5 minutes; `--quick` < 45 s).
    All,
}

#[derive(Args)]
struct JournalArgs {
    /// Events per run.
    #[arg(long)]
    events: Option<usize>,
    /// Concurrent writers.
    #[arg(long)]
    concurrency: Option<usize>,
    /// Events of the one-at-a-time run.
    #[arg(long)]
    sequential: Option<usize>,
    /// Seconds each run may take at most.
    #[arg(long)]
    budget: Option<u64>,
    /// How many times the runs are repeated.
    #[arg(long)]
    rounds: Option<usize>,
}

#[derive(Args)]
struct IntakeArgs {
    /// Webhook requests per side.
    #[arg(long)]
    events: Option<usize>,
    /// Concurrent keep-alive clients.
    #[arg(long)]
    clients: Option<usize>,
    /// Seconds each side may take at most.
    #[arg(long)]
    budget: Option<u64>,
    /// How many times the sides are measured.
    #[arg(long)]
    rounds: Option<usize>,
}

#[derive(Args)]
struct LiveArgs {
    /// Events per side, one at a time.
    #[arg(long)]
    events: Option<usize>,
    /// Pause between events, in milliseconds.
    #[arg(long)]
    pause_ms: Option<u64>,
    /// Seconds each side may take at most.
    #[arg(long)]
    budget: Option<u64>,
    /// How many times the sides are measured.
    #[arg(long)]
    rounds: Option<usize>,
}

#[derive(Args)]
struct CrmArgs {
    /// Distinct numbers looked up cold, per cache, per round.
    #[arg(long)]
    numbers: Option<usize>,
    /// Warm lookups, and stale lookups, per round.
    #[arg(long)]
    lookups: Option<usize>,
    /// Delay the Vtiger emulator adds to every request of the lookup bench.
    #[arg(long)]
    crm_latency_ms: Option<u64>,
    /// Calls per side per round in the outbox bench (three deliveries each).
    #[arg(long)]
    calls: Option<usize>,
    /// Concurrent tasks ingesting calls into the pipeline.
    #[arg(long)]
    producers: Option<usize>,
    /// Seconds each loop may take at most.
    #[arg(long)]
    budget: Option<u64>,
    /// How many times everything is measured.
    #[arg(long)]
    rounds: Option<usize>,
}

fn secs(s: u64) -> std::time::Duration {
    std::time::Duration::from_secs(s)
}

impl JournalArgs {
    fn params(&self, quick: bool) -> journal::Params {
        let base = if quick {
            journal::Params::quick()
        } else {
            journal::Params::default()
        };
        journal::Params {
            events: self.events.unwrap_or(base.events),
            concurrency: self.concurrency.unwrap_or(base.concurrency),
            sequential_events: self.sequential.unwrap_or(base.sequential_events),
            budget: self.budget.map_or(base.budget, secs),
            rounds: self.rounds.unwrap_or(base.rounds),
        }
    }
}

impl IntakeArgs {
    fn params(&self, quick: bool) -> intake::Params {
        let base = if quick {
            intake::Params::quick()
        } else {
            intake::Params::default()
        };
        intake::Params {
            events: self.events.unwrap_or(base.events),
            clients: self.clients.unwrap_or(base.clients),
            budget: self.budget.map_or(base.budget, secs),
            rounds: self.rounds.unwrap_or(base.rounds),
        }
    }
}

impl LiveArgs {
    fn params(&self, quick: bool) -> live::Params {
        let base = if quick {
            live::Params::quick()
        } else {
            live::Params::default()
        };
        live::Params {
            events: self.events.unwrap_or(base.events),
            pause: self
                .pause_ms
                .map_or(base.pause, std::time::Duration::from_millis),
            budget: self.budget.map_or(base.budget, secs),
            rounds: self.rounds.unwrap_or(base.rounds),
            ..base
        }
    }
}

impl CrmArgs {
    fn params(&self, quick: bool) -> crm::Params {
        let base = if quick {
            crm::Params::quick()
        } else {
            crm::Params::default()
        };
        crm::Params {
            numbers: self.numbers.unwrap_or(base.numbers),
            lookups: self.lookups.unwrap_or(base.lookups),
            crm_latency: self
                .crm_latency_ms
                .map_or(base.crm_latency, std::time::Duration::from_millis),
            calls: self.calls.unwrap_or(base.calls),
            producers: self.producers.unwrap_or(base.producers),
            budget: self.budget.map_or(base.budget, secs),
            rounds: self.rounds.unwrap_or(base.rounds),
        }
    }
}

/// What goes into `<name>.json`.
#[derive(serde::Serialize)]
struct Saved<'a, T> {
    bench: &'a str,
    /// The machine when the bench started.
    machine: report::Machine,
    report: &'a T,
}

fn emit(
    out: &Path,
    name: &str,
    machine: report::Machine,
    table: &str,
    value: &impl serde::Serialize,
) -> anyhow::Result<()> {
    println!("## {name}\n\n{}\n\n{table}", machine.describe());
    let saved = Saved {
        bench: name,
        machine,
        report: value,
    };
    let path = report::write_json(out, name, &saved)?;
    println!("(JSON: {})\n", path.display());
    Ok(())
}

async fn journal(out: &Path, params: journal::Params) -> anyhow::Result<()> {
    let machine = report::Machine::now();
    let r = journal::bench(params).await?;
    emit(out, "journal", machine, &r.table(), &r)
}

async fn intake(out: &Path, params: intake::Params) -> anyhow::Result<()> {
    let machine = report::Machine::now();
    let r = intake::bench(params).await?;
    emit(out, "intake", machine, &r.table(), &r)
}

async fn live(out: &Path, params: live::Params) -> anyhow::Result<()> {
    let machine = report::Machine::now();
    let r = live::bench(params).await?;
    emit(out, "live", machine, &r.table(), &r)
}

async fn crm(out: &Path, params: crm::Params) -> anyhow::Result<()> {
    let machine = report::Machine::now();
    let r = crm::bench(params).await?;
    emit(out, "crm", machine, &r.table(), &r)
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let out = cli.out.clone().unwrap_or_else(report::default_dir);
    let quick = cli.quick;
    let started = Instant::now();
    match cli.command {
        Command::Journal(args) => journal(&out, args.params(quick)).await?,
        Command::Intake(args) => intake(&out, args.params(quick)).await?,
        Command::Live(args) => live(&out, args.params(quick)).await?,
        Command::Crm(args) => crm(&out, args.params(quick)).await?,
        Command::All => {
            let (j, i, l, c) = if quick {
                (
                    journal::Params::quick(),
                    intake::Params::quick(),
                    live::Params::quick(),
                    crm::Params::quick(),
                )
            } else {
                (
                    journal::Params::default(),
                    intake::Params::default(),
                    live::Params::default(),
                    crm::Params::default(),
                )
            };
            journal(&out, j).await?;
            intake(&out, i).await?;
            live(&out, l).await?;
            crm(&out, c).await?;
        }
    }
    eprintln!("done in {:.1} s", started.elapsed().as_secs_f64());
    Ok(())
}
