//! `ringside-desktop-bench [--app PATH] [--baseline PATH] [--rings N] [--starts N] [--idle SECS] [--json FILE]`
//!
//! Measures the desktop app in a real window (inside the headless session of
//! `scripts/desktop-test.sh`, like `ringside-e2e`), beside a minimal Tauri v2
//! app (`ringside-tauri-baseline`) measured the same way:
//!
//! - ring → pop painted: from just before the emulator posts the `ringing`
//!   event to the app's webhook to the pop page's timestamp of the frame that
//!   shows the number (p50/p99 over `--rings`);
//! - idle memory: PSS (`/proc/PID/smaps_rollup`) of the app and all its
//!   processes (WebKitWebProcess, WebKitNetworkProcess...) after `--idle` s;
//! - cold start to interactive: spawn (WebDriver new session) → the main
//!   window rendered what `app_state` answered; baseline: spawn → its page.
//!
//! Prints a Markdown table and writes `target/bench/desktop.json`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow, bail};
use ringside_desktop_e2e::{
    EXTENSION, Harness, MAIN_READY, Session, check_session, now_ms, percentile, procs,
    sibling_binary, split, workspace_root,
};
use ringside_gamma_emulator::ScenarioBuilder;
use serde_json::{Value, json};

struct Args {
    app: PathBuf,
    baseline: PathBuf,
    rings: usize,
    starts: usize,
    idle: Duration,
    json: PathBuf,
}

fn args() -> Result<Args> {
    let mut a = Args {
        app: sibling_binary("ringside-desktop"),
        baseline: sibling_binary("ringside-tauri-baseline"),
        rings: 30,
        starts: 5,
        idle: Duration::from_secs(10),
        json: workspace_root().join("target/bench/desktop.json"),
    };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        let mut val = |what: &str| it.next().with_context(|| format!("{arg} needs {what}"));
        match arg.as_str() {
            "--app" => a.app = val("PATH")?.into(),
            "--baseline" => a.baseline = val("PATH")?.into(),
            "--rings" => a.rings = val("N")?.parse()?,
            "--starts" => a.starts = val("N")?.parse()?,
            "--idle" => a.idle = Duration::from_secs_f64(val("SECS")?.parse()?),
            "--json" => a.json = val("FILE")?.into(),
            "-h" | "--help" => {
                println!(
                    "ringside-desktop-bench [--app PATH] [--baseline PATH] [--rings 30] [--starts 5] [--idle 10] [--json FILE]"
                );
                std::process::exit(0);
            }
            other => bail!("unknown argument {other:?}"),
        }
    }
    Ok(a)
}

/// The main window rendered `app_state`'s answer: the settings view exists
/// only once it arrived (the status badge is there from the first render).
const RINGSIDE_READY: &str = "[data-testid=settings-mode]";
const BASELINE_READY: &str = "#ready";

/// Records, in the pop page, the frame that first shows a new call's number
/// and the one that first shows the caller's name:
/// `window.__ringsideBench.{number,name}[<data-call-id>] = Date.now()` in the
/// `requestAnimationFrame` after the DOM changed.
const OBSERVER: &str = r#"
if (!window.__ringsideBench) {
  const b = (window.__ringsideBench = { number: {}, name: {}, pending: {} });
  const stamp = (kind, id) => {
    const key = kind + id;
    if (b[kind][id] || b.pending[key]) return;
    b.pending[key] = true;
    requestAnimationFrame(() => { b[kind][id] = Date.now(); delete b.pending[key]; });
  };
  const check = () => {
    const pop = document.querySelector('[data-testid=pop]');
    const id = pop && pop.getAttribute('data-call-id');
    if (!id) return;
    const num = document.querySelector('[data-testid=pop-number]');
    if (num && num.textContent.trim()) stamp('number', id);
    const name = document.querySelector('[data-testid=pop-name]');
    if (name && name.textContent.trim()) stamp('name', id);
  };
  new MutationObserver(check).observe(document.documentElement,
    { subtree: true, childList: true, attributes: true, characterData: true });
  check();
}
return true;
"#;

/// What the pop page recorded: the UI's own stamp (by provider call id)
/// when it sets one, and the observer's (by Ringside call id).
const READ_PAINTED: &str = r#"
const ui = (window.__ringside && window.__ringside.popPaintedAt) || null;
const b = window.__ringsideBench || { number: {}, name: {} };
return { ui: ui, number: b.number, name: b.name };
"#;

const UI_METHOD: &str = "the pop page's own stamp window.__ringside.popPaintedAt[provider_call_id] (Date.now() in a requestAnimationFrame after rendering the number)";
const OBSERVER_METHOD: &str = "a MutationObserver injected via WebDriver into the pop page: Date.now() in the requestAnimationFrame after pop-number of a new call appears (the UI sets no window.__ringside.popPaintedAt yet)";

#[tokio::main]
async fn main() -> std::process::ExitCode {
    match run().await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("bench failed: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

struct StartSample {
    ready_ms: f64,
    pss_kib: u64,
    per_process: BTreeMap<String, (u64, u32)>,
}

async fn run() -> Result<()> {
    let a = args()?;
    check_session()?;
    if !a.baseline.is_file() {
        bail!(
            "{} is missing: cargo build -p ringside-tauri-baseline --features custom-protocol",
            a.baseline.display()
        );
    }
    let out = workspace_root().join("target/bench");
    let h = Harness::start(a.app.clone(), out.clone()).await?;
    let load_before = loadavg();

    // Cold start + idle memory, alternating app and baseline.
    let mut ours = Vec::new();
    let mut base = Vec::new();
    for i in 0..a.starts {
        eprintln!("start {}/{}: ringside-desktop", i + 1, a.starts);
        ours.push(start_sample(&h, &a.app, &h.env.args(), RINGSIDE_READY, a.idle).await?);
        eprintln!("start {}/{}: baseline", i + 1, a.starts);
        base.push(start_sample(&h, &a.baseline, &[], BASELINE_READY, a.idle).await?);
    }

    // Ring → pop painted.
    eprintln!("{} rings", a.rings);
    let ring = rings(&h, a.rings).await?;

    let med = |v: &[StartSample], f: fn(&StartSample) -> f64| {
        let mut x: Vec<f64> = v.iter().map(f).collect();
        x.sort_by(f64::total_cmp);
        percentile(&x, 50.0)
    };
    let start_ours = med(&ours, |s| s.ready_ms);
    let start_base = med(&base, |s| s.ready_ms);
    let mem_ours = med(&ours, |s| s.pss_kib as f64) / 1024.0;
    let mem_base = med(&base, |s| s.pss_kib as f64) / 1024.0;
    let pct = |v: &[f64]| {
        let mut x = v.to_vec();
        x.sort_by(f64::total_cmp);
        (percentile(&x, 50.0), percentile(&x, 99.0))
    };
    let (p50, p99) = pct(&ring.number);
    let (name50, name99) = pct(&ring.name);

    println!();
    println!(
        "| desktop ({} build, Xvfb) | Ringside | minimal Tauri app | ratio |",
        profile(&a.app)
    );
    println!("|---|---:|---:|---:|");
    println!(
        "| cold start → interactive, median of {} | {start_ours:.0} ms | {start_base:.0} ms | {:.2}× |",
        a.starts,
        start_ours / start_base
    );
    println!(
        "| idle memory, PSS of all processes after {} s, median of {} | {mem_ours:.1} MiB | {mem_base:.1} MiB | {:.2}× |",
        a.idle.as_secs(),
        a.starts,
        mem_ours / mem_base
    );
    println!(
        "| ring webhook → pop painted the number, p50 / p99 ({} rings) | {p50:.0} / {p99:.0} ms | – | – |",
        ring.number.len()
    );
    println!(
        "| ring webhook → pop painted the caller's name (lookup), p50 / p99 | {name50:.0} / {name99:.0} ms | – | – |"
    );
    println!("\nring timing method: {}", ring.method);
    println!(
        "warm-up rings (number / name painted, ms): {}",
        ring.warmup
            .iter()
            .map(|(n, m)| format!("{n:.0} / {m:.0}"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    let last = |v: &[StartSample]| {
        v.last()
            .map(|s| {
                s.per_process
                    .iter()
                    .map(|(name, (kib, n))| (name.clone(), json!({"pss_kib": kib, "processes": n})))
                    .collect::<serde_json::Map<String, Value>>()
            })
            .unwrap_or_default()
    };
    println!(
        "processes (last start): Ringside {}; baseline {}",
        Value::Object(last(&ours)),
        Value::Object(last(&base))
    );

    let load_after = loadavg();
    println!(
        "machine: {} CPUs, load average {load_before} (start) / {load_after} (end)",
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(0)
    );
    let report = json!({
        "measured_at_unix_ms": now_ms(),
        "machine": {
            "cpus": std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0),
            "loadavg_start": load_before, "loadavg_end": load_after,
        },
        "build": profile(&a.app),
        "cold_start_ms": {
            "ringside": ours.iter().map(|s| s.ready_ms).collect::<Vec<_>>(),
            "baseline": base.iter().map(|s| s.ready_ms).collect::<Vec<_>>(),
            "ringside_median": start_ours, "baseline_median": start_base,
            "ratio": start_ours / start_base,
            "method": "WebDriver: POST /session (spawns the app) → first successful find of the ready element, polled; same for both apps",
        },
        "idle_pss_kib": {
            "idle_seconds": a.idle.as_secs(),
            "ringside": ours.iter().map(|s| s.pss_kib).collect::<Vec<_>>(),
            "baseline": base.iter().map(|s| s.pss_kib).collect::<Vec<_>>(),
            "ringside_median_mib": mem_ours, "baseline_median_mib": mem_base,
            "ratio": mem_ours / mem_base,
            "ringside_processes": last(&ours), "baseline_processes": last(&base),
        },
        "ring_to_pop_painted_ms": {
            "samples": ring.number, "p50": p50, "p99": p99, "method": ring.method,
        },
        "ring_to_pop_name_painted_ms": {
            "samples": ring.name, "p50": name50, "p99": name99,
        },
        "ring_warmup_ms": ring.warmup.iter().map(|(n, m)| json!({"number": n, "name": m})).collect::<Vec<_>>(),
        "webdriver_retries": h.driver.retries.load(std::sync::atomic::Ordering::Relaxed),
    });
    if let Some(dir) = a.json.parent() {
        std::fs::create_dir_all(dir)?;
    }
    std::fs::write(&a.json, serde_json::to_vec_pretty(&report)?)?;
    eprintln!("wrote {}", a.json.display());
    Ok(())
}

fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_default()
}

fn profile(app: &Path) -> &'static str {
    if app.components().any(|c| c.as_os_str() == "release") {
        "release"
    } else {
        "debug"
    }
}

/// One cold start of `app`: WebDriver session → ready element; then idle
/// PSS of its process tree; then the session ends and the app is gone.
async fn start_sample(
    h: &Harness,
    app: &Path,
    args: &[String],
    ready: &str,
    idle: Duration,
) -> Result<StartSample> {
    wait_gone(h, app).await?;
    let t0 = Instant::now();
    let s = h.driver.session(app, args).await?;
    let result = async {
        let deadline = Instant::now() + Duration::from_secs(60);
        let ready_ms = loop {
            // The first window may not be the main one: look in each.
            let mut found = false;
            for w in s.window_handles().await.unwrap_or_default() {
                if s.switch_to(&w).await.is_ok() && s.find(ready).await.ok().flatten().is_some() {
                    found = true;
                    break;
                }
            }
            if found {
                break t0.elapsed().as_secs_f64() * 1e3;
            }
            if Instant::now() > deadline {
                bail!("{ready} did not appear in {} within 60 s", app.display());
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        };
        if ready == RINGSIDE_READY && s.find(MAIN_READY).await?.is_none() {
            bail!("no status badge in the main window");
        }
        tokio::time::sleep(idle).await;
        let pids = procs::running(app, &procs::descendants(h.td.pid()));
        let pid = *pids
            .first()
            .ok_or_else(|| anyhow!("{} is not running", app.display()))?;
        let (pss_kib, per_process) = procs::tree_pss(pid);
        eprintln!(
            "  ready after {ready_ms:.0} ms, idle PSS {:.1} MiB: {}",
            pss_kib as f64 / 1024.0,
            per_process
                .iter()
                .map(|(name, (kib, n))| format!("{name} ×{n} {:.1} MiB", *kib as f64 / 1024.0))
                .collect::<Vec<_>>()
                .join(", ")
        );
        Ok(StartSample {
            ready_ms,
            pss_kib,
            per_process,
        })
    }
    .await;
    let _ = s.delete().await;
    result
}

/// Wait until no instance of `app` runs under tauri-driver (a new one would
/// otherwise hand its arguments to it and exit: single instance).
async fn wait_gone(h: &Harness, app: &Path) -> Result<()> {
    let end = Instant::now() + Duration::from_secs(10);
    loop {
        let pids = procs::running(app, &procs::descendants(h.td.pid()));
        if pids.is_empty() {
            return Ok(());
        }
        if Instant::now() > end {
            for p in pids {
                procs::terminate(p, Duration::from_secs(2));
            }
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Ring timings in ms from just before the emulator posts `ringing`.
struct Rings {
    number: Vec<f64>,
    name: Vec<f64>,
    /// (number, name) of the two warm-up rings, left out of the percentiles.
    warmup: Vec<(f64, f64)>,
    method: &'static str,
}

/// `n` rings from Lucía (after 2 warm-up rings), each ended before the next.
async fn rings(h: &Harness, n: usize) -> Result<Rings> {
    wait_gone(h, &h.app).await?;
    let s = h.open_app().await?;
    let result = async {
        h.wait_main_ready(&s, Duration::from_secs(40)).await?;
        h.wait_request("configure", 0, Duration::from_secs(10), |_| true)
            .await?;
        s.switch_to_window_with("[data-testid=pop]", Duration::from_secs(10))
            .await?;
        s.execute(OBSERVER, json!([]))
            .await
            .context("installing the paint observer in the pop")?;
        let mut out = Rings {
            number: Vec::new(),
            name: Vec::new(),
            warmup: Vec::new(),
            method: OBSERVER_METHOD,
        };
        let mut seen: Vec<String> = Vec::new();
        for i in 0..n + 2 {
            let provider_id = (now_ms() * 10 + i as i64).to_string();
            let sc = ScenarioBuilder::new(now_ms()).incoming_missed(
                &provider_id,
                "0647460197",
                EXTENSION,
                Duration::from_millis(500),
            );
            let (ringing, rest) = split(&sc, 1);
            let t0 = now_ms();
            h.play(&ringing).await?;
            let p = wait_painted(&s, &provider_id, &seen).await?;
            seen.push(p.call_id.clone());
            // The first two warm up (first pop of the window, first lookup).
            if i < 2 {
                out.warmup
                    .push(((p.number - t0) as f64, (p.name - t0) as f64));
            } else {
                match p.ui_number {
                    Some(t) => {
                        out.number.push((t - t0) as f64);
                        out.method = UI_METHOD;
                    }
                    None => out.number.push((p.number - t0) as f64),
                }
                out.name.push((p.name - t0) as f64);
            }
            h.play(&rest).await?;
            tokio::time::sleep(Duration::from_millis(300)).await;
        }
        Ok(out)
    }
    .await;
    let _ = s.delete().await;
    result
}

struct Painted {
    /// Ringside's id of the call (the pop's `data-call-id`).
    call_id: String,
    number: i64,
    name: i64,
    ui_number: Option<i64>,
}

/// The stamps of the call just rung: the observer's for a call id not
/// `seen` before, and the UI's own for `provider_id` if it sets one.
async fn wait_painted(s: &Session, provider_id: &str, seen: &[String]) -> Result<Painted> {
    let end = Instant::now() + Duration::from_secs(10);
    loop {
        let v: Value = s.execute(READ_PAINTED, json!([])).await?;
        let fresh = v["number"]
            .as_object()
            .and_then(|o| o.iter().find(|(id, _)| !seen.contains(id)));
        if let Some((id, number)) = fresh
            && let Some(name) = v["name"][id.as_str()].as_f64()
        {
            return Ok(Painted {
                call_id: id.clone(),
                number: number.as_f64().unwrap_or(0.0) as i64,
                name: name as i64,
                ui_number: v["ui"][provider_id].as_f64().map(|t| t as i64),
            });
        }
        if Instant::now() > end {
            bail!(
                "the pop did not paint call {provider_id} (number and name) within 10 s (recorded: {v})"
            );
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
