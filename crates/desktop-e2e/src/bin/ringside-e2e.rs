//! `ringside-e2e [--app PATH] [--out DIR] [--update-screenshots] [--notify-log FILE]`
//!
//! The desktop app end to end, in a real window: run inside the headless
//! session of `scripts/desktop-test.sh` (Xvfb, private D-Bus, unlocked
//! gnome-keyring, dunst, dbus-monitor writing `$RINGSIDE_NOTIFY_LOG`).
//! Prints `ok NAME` / `FAIL NAME: reason` per check, then `N passed, M failed`;
//! exits non-zero on any failure. Screenshots go to `target/e2e/` (and to
//! `docs/screenshots/` with `--update-screenshots`).

use std::io::Write;
use std::path::PathBuf;
use std::process::{ExitCode, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow, bail, ensure};
use ringside_desktop_e2e::{
    EXTENSION, Harness, Session, callback_header, check_session, now_ms, sibling_binary, split,
    wd::eventually, workspace_root,
};
use ringside_gamma_emulator::{EXTERNAL_CALL_ID_HEADER, Scenario, ScenarioBuilder};

const SHORT: Duration = Duration::from_secs(8);

struct Args {
    app: PathBuf,
    out: PathBuf,
    update_screenshots: bool,
    notify_log: Option<PathBuf>,
}

fn args() -> Result<Args> {
    let mut a = Args {
        app: sibling_binary("ringside-desktop"),
        out: workspace_root().join("target/e2e"),
        update_screenshots: false,
        notify_log: std::env::var_os("RINGSIDE_NOTIFY_LOG").map(PathBuf::from),
    };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--app" => a.app = it.next().context("--app PATH")?.into(),
            "--out" => a.out = it.next().context("--out DIR")?.into(),
            "--update-screenshots" => a.update_screenshots = true,
            "--notify-log" => a.notify_log = Some(it.next().context("--notify-log FILE")?.into()),
            "-h" | "--help" => {
                println!(
                    "ringside-e2e [--app PATH] [--out DIR] [--update-screenshots] [--notify-log FILE]"
                );
                std::process::exit(0);
            }
            other => bail!("unknown argument {other:?}"),
        }
    }
    Ok(a)
}

/// What the checks hand on to each other.
#[derive(Default)]
struct Ctx {
    main: String,
    pop: Option<String>,
    /// The rest of the ringing call of check a (ended after it).
    ring_rest: Option<Scenario>,
    /// The emulator's id of the call dialed in check b.
    dialed: Option<String>,
    screenshots: Vec<PathBuf>,
}

#[tokio::main]
async fn main() -> ExitCode {
    let started = Instant::now();
    let (passed, failed) = match run().await {
        Ok(counts) => counts,
        Err(e) => {
            println!("FAIL setup: {e:#}");
            (0, 1)
        }
    };
    println!(
        "{passed} passed, {failed} failed ({:.0} s)",
        started.elapsed().as_secs_f64()
    );
    if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

async fn run() -> Result<(usize, usize)> {
    let a = args()?;
    check_session()?;
    // Screenshots of failed checks from an earlier run would mislead.
    if let Ok(dir) = std::fs::read_dir(&a.out) {
        for e in dir.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            if name.starts_with("fail-") && name.ends_with(".png") {
                let _ = std::fs::remove_file(e.path());
            }
        }
    }
    let h = Harness::start(a.app.clone(), a.out.clone()).await?;
    let t0 = Instant::now();
    let s = h
        .open_app()
        .await
        .context("opening a WebDriver session on the app")?;
    let mut ctx = Ctx::default();
    let setup = async {
        ctx.main = h.wait_main_ready(&s, Duration::from_secs(40)).await?;
        h.wait_request("configure", 0, Duration::from_secs(10), |_| true)
            .await
            .context("the app did not register its webhook with the PBX (configure)")?;
        anyhow::Ok(())
    }
    .await;
    if let Err(e) = setup {
        let _ = s.screenshot(&a.out.join("setup-failure.png")).await;
        let _ = s.delete().await;
        return Err(e.context(format!(
            "the app did not come up (see {})",
            h.td.log.display()
        )));
    }
    eprintln!("app ready in {:.1} s", t0.elapsed().as_secs_f64());

    let mut passed = 0;
    let mut failed = 0;
    macro_rules! check {
        ($name:literal, $f:expr) => {{
            let t = Instant::now();
            let r = match tokio::time::timeout(Duration::from_secs(60), $f).await {
                Ok(r) => r,
                Err(_) => Err(anyhow!("timed out after 60 s")),
            };
            match r {
                Ok(()) => {
                    passed += 1;
                    println!("ok {} ({:.1} s)", $name, t.elapsed().as_secs_f64());
                }
                Err(e) => {
                    failed += 1;
                    println!("FAIL {}: {:#}", $name, e);
                    let _ = s
                        .screenshot(&a.out.join(format!("fail-{}.png", $name)))
                        .await;
                }
            }
        }};
    }

    check!("ring", ring(&h, &s, &mut ctx, &a));
    check!("click-to-call", click_to_call(&h, &s, &mut ctx));
    check!("hang-up", hang_up(&h, &s, &mut ctx));
    check!("transfer", transfer(&h, &s, &mut ctx));
    check!("tel-link", tel_link(&h, &s, &mut ctx));
    check!("hotkey", hotkey(&h, &s, &mut ctx));
    check!("missed-call", missed(&h, &s, &mut ctx, &a));
    check!("notification", notification(&a));

    if let Err(e) = s.delete().await {
        eprintln!("warning: ending the session: {e:#}");
    }
    let retries = h.driver.retries.load(std::sync::atomic::Ordering::Relaxed);
    if retries > 0 {
        eprintln!("({retries} WebDriver requests retried after tauri-driver dropped them)");
    }
    if a.update_screenshots {
        let dir = workspace_root().join("docs/screenshots");
        std::fs::create_dir_all(&dir)?;
        for shot in &ctx.screenshots {
            let to = dir.join(shot.file_name().unwrap());
            std::fs::copy(shot, &to).with_context(|| format!("copying to {}", to.display()))?;
            eprintln!("updated {}", to.display());
        }
    }
    Ok((passed, failed))
}

/// Switch to the pop window (found once, by its `[data-testid=pop]`).
async fn to_pop(s: &Session, ctx: &mut Ctx) -> Result<()> {
    match &ctx.pop {
        Some(h) => s.switch_to(h).await,
        None => {
            // The main window has no [data-testid=pop]; the pop page always has it.
            let h = s.switch_to_window_with("[data-testid=pop]", SHORT).await?;
            ctx.pop = Some(h);
            Ok(())
        }
    }
}

/// Wait until the pop shows a call whose number contains `digits`.
async fn pop_shows(s: &Session, digits: &str, status: &[&str]) -> Result<()> {
    eventually(
        &format!("pop showing {digits} ({status:?})"),
        SHORT,
        || async {
            let Some(n) = s.find("[data-testid=pop-number]").await? else {
                return Ok(None);
            };
            let number = s.attr(&n, "data-number").await?.unwrap_or_default();
            let st = match s.find("[data-testid=pop-status]").await? {
                Some(e) => s.attr(&e, "data-status").await?.unwrap_or_default(),
                None => String::new(),
            };
            Ok(
                (number.contains(digits) && (status.is_empty() || status.contains(&st.as_str())))
                    .then_some(()),
            )
        },
    )
    .await
}

/// Whether the current window's document is visible (a hidden Tauri window is not).
async fn visibility(s: &Session) -> String {
    s.execute("return document.visibilityState", serde_json::json!([]))
        .await
        .ok()
        .and_then(|v| v.as_str().map(String::from))
        .unwrap_or_else(|| "?".into())
}

fn call_id() -> String {
    // Gamma call ids are numbers; derive fresh ones from the clock.
    static N: std::sync::atomic::AtomicI64 = std::sync::atomic::AtomicI64::new(0);
    (now_ms() + N.fetch_add(1, std::sync::atomic::Ordering::Relaxed)).to_string()
}

/// a. An inbound ring from Lucía pops her name and two open deals.
async fn ring(h: &Harness, s: &Session, ctx: &mut Ctx, a: &Args) -> Result<()> {
    let sc = ScenarioBuilder::new(now_ms()).incoming_answered(
        &call_id(),
        "0647460197",
        EXTENSION,
        Duration::from_secs(2),
        Duration::from_secs(3),
        false,
    );
    let (ringing, rest) = split(&sc, 1);
    let t = Instant::now();
    h.play(&ringing).await?;
    ctx.ring_rest = Some(rest);
    to_pop(s, ctx).await?;
    let name = eventually("pop-name", Duration::from_secs(5), || async {
        match s.find("[data-testid=pop-name]").await? {
            Some(e) => Ok(Some(s.text(&e).await?)),
            None => Ok(None),
        }
    })
    .await?;
    ensure!(name.trim() == "Lucía Fernández", "pop-name is {name:?}");
    let deals = eventually("2 pop-deal", Duration::from_secs(5), || async {
        let d = s.find_all("[data-testid=pop-deal]").await?;
        Ok((d.len() == 2).then_some(d))
    })
    .await?;
    let took = t.elapsed();
    let vis = visibility(s).await;
    ensure!(
        vis == "visible",
        "the pop window's document is {vis:?}, not visible"
    );
    // The DOM is ahead of the painted frame a WebDriver screenshot captures.
    tokio::time::sleep(Duration::from_millis(1000)).await;
    let shot = a.out.join("pop.png");
    s.screenshot(&shot).await?;
    ctx.screenshots.push(shot);
    eprintln!(
        "  pop with name and {} deals after {:.0} ms",
        deals.len(),
        took.as_secs_f64() * 1e3
    );
    Ok(())
}

/// b. Contacts → "Javier" → call: the PBX is asked to ring 203 and dial him.
async fn click_to_call(h: &Harness, s: &Session, ctx: &mut Ctx) -> Result<()> {
    // End the ringing call of check a first (answered, then dropped).
    if let Some(rest) = ctx.ring_rest.take() {
        h.play(&rest).await?;
    }
    s.switch_to(&ctx.main).await?;
    let nav = s.wait_for("[data-testid=nav-contacts]", SHORT).await?;
    s.click(&nav).await?;
    let search = s.wait_for("[data-testid=contact-search]", SHORT).await?;
    s.clear(&search).await?;
    s.type_text(&search, "Javier").await?;
    let button = eventually("Javier Ortega's contact-call", SHORT, || async {
        let names = s.find_all("[data-testid=contact-name]").await?;
        let mut found = false;
        for n in &names {
            found |= s.text(n).await?.contains("Javier Ortega");
        }
        if !found || names.len() != 1 {
            return Ok(None);
        }
        for b in s.find_all("[data-testid=contact-call]").await? {
            if s.attr(&b, "data-number")
                .await?
                .unwrap_or_default()
                .contains("911234567")
            {
                return Ok(Some(b));
            }
        }
        Ok(None)
    })
    .await?;
    let before = h.emulator.requests().len();
    let active_before = h.emulator.active_calls();
    s.click(&button).await?;
    let req = h
        .wait_request("call", before, SHORT, |r| {
            r.body["destination"] == "911234567"
        })
        .await?;
    ensure!(
        req.body["extension"] == "203",
        "call extension is {}",
        req.body["extension"]
    );
    ensure!(
        (200..300).contains(&req.status),
        "the emulator answered {} to call",
        req.status
    );
    let ext_id = callback_header(&req.body, EXTERNAL_CALL_ID_HEADER)
        .ok_or_else(|| anyhow!("no {EXTERNAL_CALL_ID_HEADER} in {}", req.body))?;
    ensure!(!ext_id.is_empty(), "empty {EXTERNAL_CALL_ID_HEADER}");
    ctx.dialed = h
        .emulator
        .active_calls()
        .into_iter()
        .find(|c| !active_before.contains(c));
    ensure!(
        ctx.dialed.is_some(),
        "the emulator has no new active call after `call`"
    );
    Ok(())
}

/// c. The dialed call pops (its events reach the app's webhook); hang up drops it.
async fn hang_up(h: &Harness, s: &Session, ctx: &mut Ctx) -> Result<()> {
    let dialed = ctx
        .dialed
        .clone()
        .ok_or_else(|| anyhow!("needs click-to-call"))?;
    to_pop(s, ctx).await?;
    pop_shows(
        s,
        "911234567",
        &["alerting", "ringing", "talking", "dialing"],
    )
    .await?;
    let before = h.emulator.requests().len();
    let button = s.wait_for("[data-testid=pop-hangup]", SHORT).await?;
    s.click(&button).await?;
    let req = h.wait_request("drop", before, SHORT, |_| true).await?;
    ensure!(
        req.body["callId"] == dialed.as_str(),
        "drop of {} (dialed {dialed})",
        req.body["callId"]
    );
    ensure!(
        (200..300).contains(&req.status),
        "the emulator answered {} to drop",
        req.status
    );
    pop_shows(s, "911234567", &["ended"])
        .await
        .context("the pop does not show the call ended")?;
    Ok(())
}

/// d. An answered inbound call is transferred to 301 from the pop.
async fn transfer(h: &Harness, s: &Session, ctx: &mut Ctx) -> Result<()> {
    let id = call_id();
    let sc = ScenarioBuilder::new(now_ms()).incoming_answered(
        &id,
        "0911234567",
        EXTENSION,
        Duration::from_secs(1),
        Duration::from_secs(30),
        false,
    );
    let (answered, _rest) = split(&sc, 2);
    h.play(&answered).await?;
    to_pop(s, ctx).await?;
    pop_shows(s, "911234567", &["talking"]).await?;
    let open = s.wait_for("[data-testid=pop-transfer-open]", SHORT).await?;
    s.click(&open).await?;
    let ext = s
        .wait_for(
            "[data-testid=pop-transfer-ext][data-extension='301']",
            SHORT,
        )
        .await?;
    s.click(&ext).await?;
    let before = h.emulator.requests().len();
    let go = s.wait_for("[data-testid=pop-transfer-go]", SHORT).await?;
    s.click(&go).await?;
    let req = h
        .wait_request("redirectIncoming", before, SHORT, |_| true)
        .await?;
    ensure!(
        req.body["destination"] == "301",
        "redirectIncoming to {}",
        req.body["destination"]
    );
    ensure!(
        req.body["callId"] == id.as_str(),
        "redirectIncoming of {} (call {id})",
        req.body["callId"]
    );
    ensure!(
        (200..300).contains(&req.status),
        "the emulator answered {} to redirectIncoming",
        req.status
    );
    Ok(())
}

/// e. A second launch with a tel: link dials through the running instance and exits.
async fn tel_link(h: &Harness, s: &Session, ctx: &mut Ctx) -> Result<()> {
    let before = h.emulator.requests().len();
    let log = std::fs::File::create(h.out.join("second-instance.log"))?;
    let mut second = tokio::process::Command::new(&h.app)
        .args(h.env.args())
        .arg("tel:+34600111222")
        .envs(h.env.vars())
        .stdin(Stdio::null())
        .stdout(log.try_clone()?)
        .stderr(log)
        .kill_on_drop(true)
        .spawn()
        .context("launching the app a second time")?;
    let req = h
        .wait_request("call", before, Duration::from_secs(15), |r| {
            r.body["destination"] == "600111222"
        })
        .await;
    let exit = tokio::time::timeout(Duration::from_secs(10), second.wait()).await;
    let req = req?;
    ensure!(
        req.body["extension"] == "203",
        "call extension is {}",
        req.body["extension"]
    );
    match exit {
        Ok(Ok(status)) => eprintln!("  second instance exited ({status})"),
        Ok(Err(e)) => bail!("waiting for the second instance: {e}"),
        Err(_) => {
            let _ = second.kill().await;
            bail!("the second instance did not exit within 10 s of the dial");
        }
    }
    // Leave no call up: hang it up from the pop (best effort).
    if to_pop(s, ctx).await.is_ok()
        && pop_shows(s, "600111222", &[]).await.is_ok()
        && let Ok(b) = s.wait_for("[data-testid=pop-hangup]", SHORT).await
    {
        let _ = s.click(&b).await;
    }
    Ok(())
}

/// The global hotkey (setting `hotkey`) dials the number on the clipboard:
/// the number is copied with xclip and the keys pressed with xdotool (XTEST),
/// as a user would, whichever window has the focus.
async fn hotkey(h: &Harness, s: &Session, ctx: &mut Ctx) -> Result<()> {
    let before = h.emulator.requests().len();
    // `-loops 1`: serve the one paste the app makes, then exit.
    let mut xclip = std::process::Command::new("xclip")
        .args(["-selection", "clipboard", "-loops", "1"])
        .stdin(Stdio::piped())
        .spawn()
        .context("starting xclip (apt: xclip)")?;
    xclip
        .stdin
        .take()
        .context("xclip stdin")?
        .write_all(b"+34 654 32 19 87")?;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let pressed = std::process::Command::new("xdotool")
        .args(["key", "ctrl+shift+d"])
        .status()
        .context("running xdotool (apt: xdotool)")?;
    ensure!(pressed.success(), "xdotool failed: {pressed}");
    let req = h
        .wait_request("call", before, Duration::from_secs(15), |r| {
            r.body["destination"] == "654321987"
        })
        .await;
    let _ = xclip.kill();
    let _ = xclip.wait();
    let req = req?;
    ensure!(
        req.body["extension"] == "203",
        "call extension is {}",
        req.body["extension"]
    );
    if to_pop(s, ctx).await.is_ok()
        && pop_shows(s, "654321987", &[]).await.is_ok()
        && let Ok(b) = s.wait_for("[data-testid=pop-hangup]", SHORT).await
    {
        let _ = s.click(&b).await;
    }
    Ok(())
}

/// f. A missed call lands in History as missed and bumps the counter.
async fn missed(h: &Harness, s: &Session, ctx: &mut Ctx, a: &Args) -> Result<()> {
    s.switch_to(&ctx.main).await?;
    let before = count(s).await?;
    let sc = ScenarioBuilder::new(now_ms()).incoming_missed(
        &call_id(),
        "0933456789",
        EXTENSION,
        Duration::from_secs(1),
    );
    h.play(&sc).await?;
    let after = eventually("missed-counter incremented", SHORT, || async {
        let n = count(s).await?;
        Ok((n > before).then_some(n))
    })
    .await?;
    ensure!(
        after == before + 1,
        "missed-counter went from {before} to {after}"
    );
    let nav = s.wait_for("[data-testid=nav-history]", SHORT).await?;
    s.click(&nav).await?;
    s.wait_for("[data-testid=history-row][data-outcome=missed]", SHORT)
        .await?;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let shot = a.out.join("main.png");
    s.screenshot(&shot).await?;
    ctx.screenshots.push(shot);
    Ok(())
}

async fn count(s: &Session) -> Result<u64> {
    let c = s.wait_for("[data-testid=missed-counter]", SHORT).await?;
    let n = s.attr(&c, "data-count").await?.unwrap_or_default();
    n.trim()
        .parse::<u64>()
        .map_err(|_| anyhow!("missed-counter data-count is {n:?}"))
}

/// g. The ring was announced through org.freedesktop.Notifications.Notify.
async fn notification(a: &Args) -> Result<()> {
    let path = a
        .notify_log
        .clone()
        .ok_or_else(|| anyhow!("no dbus-monitor log: set RINGSIDE_NOTIFY_LOG or --notify-log"))?;
    let end = Instant::now() + Duration::from_secs(5);
    loop {
        let log = std::fs::read_to_string(&path)
            .with_context(|| format!("reading {}", path.display()))?;
        // dbus-monitor prints a "method call ... member=Notify" line, then the arguments:
        // app_name, replaces_id, app_icon, summary, body, ...
        let found = log
            .split("method call")
            .filter(|block| block.contains("member=Notify"))
            .filter_map(|block| {
                // The 3rd string argument is the summary.
                block
                    .lines()
                    .filter_map(|l| l.trim_start().strip_prefix("string \""))
                    .nth(2)
            })
            .any(|summary| summary.contains("Lucía Fernández") && !summary.starts_with("Missed"));
        if found {
            return Ok(());
        }
        if Instant::now() > end {
            let calls = log.matches("member=Notify").count();
            bail!(
                "{} has {calls} Notify call(s), none about Lucía Fernández",
                path.display()
            );
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}
