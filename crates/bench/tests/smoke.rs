//! Every benchmark, tiny, in-process: the results must be sane (everything
//! accepted, journaled and streamed exactly once, percentiles in order,
//! throughput above zero). No timing thresholds: the machine is shared.

use std::time::Duration;

use ringside_bench::{crm, intake, journal, live};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn journal_bench_writes_every_event() {
    let r = journal::bench(journal::Params {
        events: 300,
        concurrency: 8,
        sequential_events: 40,
        budget: Duration::from_secs(120),
        rounds: 2,
    })
    .await
    .unwrap();
    for (series, planned) in [
        (&r.grouped_fsync, 300),
        (&r.grouped_no_fsync, 300),
        (&r.sequential_fsync, 40),
    ] {
        assert_eq!(series.runs.len(), 2, "{series:?}");
        for run in &series.runs {
            assert_eq!(run.events, planned, "{run:?}");
            assert_eq!(run.journaled, planned as u64, "{run:?}");
            assert!(!run.stopped_by_budget, "{run:?}");
            assert!(run.events_per_second > 0.0, "{run:?}");
        }
        assert!(series.events_per_second > 0.0, "{series:?}");
    }
    assert!(r.group_commit_gain > 0.0 && r.fsync_cost > 0.0, "{r:?}");
    assert!(
        r.table().contains("| grouped | 8 | FULL | 300 |"),
        "{}",
        r.table()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn intake_bench_journals_every_accepted_event() {
    let r = intake::bench(intake::Params {
        events: 300,
        clients: 4,
        budget: Duration::from_secs(120),
        rounds: 2,
    })
    .await
    .unwrap();
    for side in [&r.hub, &r.engine, &r.bare] {
        assert_eq!((side.requests, side.accepted), (600, 600), "{side:?}");
        assert_eq!(side.rounds.len(), 2, "{side:?}");
        assert!(side.requests_per_second > 0.0, "{side:?}");
        assert!(!side.stopped_by_budget, "{side:?}");
        assert!(side.latency.ordered(), "{side:?}");
        assert_eq!(side.latency.count, 600, "{side:?}");
    }
    // Every event the hub accepted is in its journal (engine-only rounds are
    // checked inside the bench).
    assert_eq!(r.journaled, 600);
    assert!(r.ratio > 0.0 && r.hub_over_engine > 0.0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn live_bench_streams_every_event_exactly_once() {
    let r = live::bench(live::Params {
        events: 60,
        pause: Duration::from_millis(1),
        wait: Duration::from_secs(10),
        budget: Duration::from_secs(120),
        rounds: 1,
    })
    .await
    .unwrap();
    for side in [&r.hub, &r.bare, &r.bare_nagle] {
        assert!(side.exactly_once(), "{side:?}");
        assert!(!side.stopped_by_budget, "{side:?}");
        assert_eq!(side.received, 60, "{side:?}");
        assert_eq!(side.latency.count, 60, "{side:?}");
        assert!(side.latency.ordered(), "{side:?}");
        assert!(side.latency.p50_us <= side.latency.p99_us);
        assert!(side.latency.p99_us <= side.latency.max_us);
    }
    assert!(r.p50_ratio > 0.0 && r.p99_ratio > 0.0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn crm_bench_looks_up_through_the_cache_and_delivers_every_operation_once() {
    let latency = Duration::from_millis(20);
    let r = crm::bench(crm::Params {
        numbers: 4,
        lookups: 40,
        crm_latency: latency,
        calls: 20,
        producers: 4,
        budget: Duration::from_secs(120),
        rounds: 1,
    })
    .await
    .unwrap();
    let l = &r.lookup;
    // Four numbers on each of the two caches; every lookup found its contact.
    assert_eq!(
        (l.cold.lookups, l.cold.found, l.cold.failed),
        (8, 8, 0),
        "{l:?}"
    );
    for side in [&l.warm, &l.stale] {
        assert_eq!(
            (side.lookups, side.found, side.failed),
            (40, 40, 0),
            "{side:?}"
        );
    }
    for side in [&l.cold, &l.warm, &l.stale] {
        assert!(!side.stopped_by_budget, "{side:?}");
        assert!(side.latency.ordered(), "{side:?}");
        assert_eq!(side.latency.count, side.lookups as u64, "{side:?}");
    }
    // Cold lookups really waited on the slowed CRM (a sleep: a lower bound,
    // not a timing threshold); warm ones never asked it.
    assert!(l.cold.latency.p50_us >= latency.as_micros() as u64, "{l:?}");
    assert!(l.cold.crm_requests >= 8, "{l:?}");
    assert_eq!(l.cold.crm_fetches, 8, "{l:?}");
    assert_eq!((l.warm.crm_fetches, l.warm.crm_requests), (0, 0), "{l:?}");
    // Stale hits refresh in the background, one request per number at a time.
    assert!((1..=40).contains(&l.stale.crm_fetches), "{l:?}");
    assert_eq!(l.fresh_cache.fresh_hits, 40, "{l:?}");
    assert_eq!(l.stale_cache.stale_hits, 40, "{l:?}");
    assert!(
        l.warm_over_cold_p50 > 0.0 && l.stale_over_cold_p50 > 0.0,
        "{l:?}"
    );

    let o = &r.outbox;
    for side in [&o.outbox, &o.direct] {
        assert_eq!((side.calls, side.deliveries), (20, 60), "{side:?}");
        assert!(side.deliveries_per_second > 0.0, "{side:?}");
        assert!(!side.stopped_by_budget, "{side:?}");
    }
    assert!(o.ratio > 0.0, "{o:?}");
    assert!(
        r.table().contains("| adapter deliver, direct | 20 | 60 |"),
        "{}",
        r.table()
    );
}

/// The binary's `all --quick`: tables on stdout, one JSON file per bench.
#[test]
fn all_quick_writes_four_json_results() {
    let out = tempfile::tempdir().unwrap();
    let run = std::process::Command::new(env!("CARGO_BIN_EXE_ringside-bench"))
        .args(["all", "--quick", "--out"])
        .arg(out.path())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&run.stdout);
    assert!(
        run.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&run.stderr)
    );
    for name in ["journal", "intake", "live", "crm"] {
        assert!(stdout.contains(&format!("## {name}")), "{stdout}");
        let text = std::fs::read_to_string(out.path().join(format!("{name}.json"))).unwrap();
        let json: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(json["bench"], name, "{json}");
        assert!(json["machine"]["cpus"].as_u64().unwrap() >= 1, "{json}");
        assert!(json["report"].get("params").is_some(), "{name}: {json}");
    }
}
