//! `ringside-hub demo`: the whole system on one machine, no accounts.
//!
//! An [`embedded`] hub on the demo PBX (the Gamma emulator, the demo
//! address book, one agent on extension 203 with a random token), the demo
//! script played through it — emulator → HTTP webhook → journal → engine —
//! and each call update printed as one readable line.

use std::collections::HashMap;
use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context;
use ringside_core::{Call, CallId, CallStatus, Deal, Direction, Outcome, Sensitive};
use ringside_engine::{CallUpdate, Engine};
use ringside_gamma_emulator::EmulatorHandle;
use tokio::net::TcpListener;
use tokio::sync::{broadcast, oneshot};

use crate::embedded::{self, EmbeddedOptions, play_demo_script};

pub use crate::embedded::{ADDRESS_BOOK_FILE, DEMO_EXTENSION, JOURNAL_FILE};

/// How to run the demo.
#[derive(Debug, Clone)]
pub struct DemoOptions {
    /// Where the hub listens (port 0 picks a free one).
    pub listen: SocketAddr,
    /// Playback speed of the demo script (1.0 = real time).
    pub speed: f64,
    /// How many times to play the script; `None` = until stopped.
    pub loops: Option<u64>,
    /// Where the journal and address book go; `None` = a fresh temporary
    /// directory, deleted at the end.
    pub data_dir: Option<PathBuf>,
    /// Also log the calls to an emulated Vtiger (contacts and Potentials come
    /// from it), printing every request Vtiger receives.
    pub vtiger: bool,
}

impl Default for DemoOptions {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 8700)),
            speed: 1.0,
            loops: None,
            data_dir: None,
            vtiger: false,
        }
    }
}

/// Where printed lines go (stdout in the binary, a buffer in tests).
pub type LineSink = Arc<dyn Fn(&str) + Send + Sync>;

/// What a demo run did.
#[derive(Debug, Clone)]
pub struct DemoReport {
    /// Script loops played to the end.
    pub loops: u64,
    /// Events the emulator delivered to the webhook.
    pub events: usize,
    /// Events the webhook did not answer with 200.
    pub rejected: usize,
    /// The hub's address.
    pub addr: SocketAddr,
}

/// Run the demo until `loops` are played or `shutdown` resolves.
pub async fn run(
    options: DemoOptions,
    out: LineSink,
    shutdown: impl Future<Output = ()> + Send,
) -> anyhow::Result<DemoReport> {
    let temp;
    let (data_dir, temporary) = match &options.data_dir {
        Some(dir) => (dir.clone(), false),
        None => {
            temp = tempfile::Builder::new()
                .prefix("ringside-demo-")
                .tempdir()
                .context("creating a temporary data directory")?;
            (temp.path().to_path_buf(), true)
        }
    };
    let listener = TcpListener::bind(options.listen)
        .await
        .with_context(|| format!("cannot listen on {}", options.listen))?;
    // The player below counts what it plays, so the hub's own stays off.
    let mut embedded_options = EmbeddedOptions::demo(data_dir.clone(), false, options.speed);
    embedded_options.demo_vtiger = options.vtiger;
    let hub = embedded::start_on(embedded_options, listener)
        .await
        .context("starting the demo hub")?;
    let emulator = hub
        .emulator
        .clone()
        .context("the demo hub has no emulator")?;
    let addr = hub.addr();

    banner(&out, &emulator, addr, &hub.token, &data_dir, temporary);
    if let Some(vtiger) = &hub.vtiger {
        out(&format!(
            "  Vtiger emulator {} (calls are logged there; contacts and Potentials come from it)",
            vtiger.base_url()
        ));
        out("");
    }
    let vtiger_printer = hub
        .vtiger
        .clone()
        .map(|vt| tokio::spawn(print_vtiger(vt, out.clone())));

    let (stop_printer, printer_stop) = oneshot::channel::<()>();
    let printer = tokio::spawn(print_updates(
        hub.engine.clone(),
        hub.engine.subscribe(),
        out.clone(),
        printer_stop,
    ));

    let mut report = DemoReport {
        loops: 0,
        events: 0,
        rejected: 0,
        addr,
    };
    let played = {
        let play = play(&emulator, &options, &mut report);
        tokio::select! {
            r = play => r,
            _ = shutdown => Ok(()),
        }
    };

    if played.is_ok() && hub.vtiger.is_some() {
        // Let the outbox finish (the end waits its wrap-up for notes).
        let drained = async {
            loop {
                let pending: u64 = match hub.state.crms.statuses().await {
                    Ok(all) => all.iter().map(|s| s.counts.pending).sum(),
                    Err(_) => 0,
                };
                if pending == 0 {
                    break;
                }
                tokio::time::sleep(std::time::Duration::from_millis(200)).await;
            }
        };
        let _ = tokio::time::timeout(std::time::Duration::from_secs(30), drained).await;
        tokio::time::sleep(std::time::Duration::from_millis(400)).await;
    }
    let _ = stop_printer.send(());
    let _ = printer.await;
    if let Some(task) = vtiger_printer {
        task.abort();
    }
    if let Some(vt) = &hub.vtiger {
        let events = vt.gateway_events();
        out(&format!(
            "Vtiger received {} call events for {} calls",
            events.len(),
            vt.phone_calls().len()
        ));
    }
    drop(emulator);
    hub.shutdown().await;
    played?;
    out(&format!(
        "demo stopped: {} loop(s), {} events delivered",
        report.loops, report.events
    ));
    Ok(report)
}

async fn play(
    emulator: &EmulatorHandle,
    options: &DemoOptions,
    report: &mut DemoReport,
) -> anyhow::Result<()> {
    while options.loops.is_none_or(|loops| report.loops < loops) {
        let statuses = play_demo_script(emulator, options.speed, report.loops == 0)
            .await
            .context("playing the demo script")?;
        report.events += statuses.len();
        report.rejected += statuses.iter().filter(|s| **s != 200).count();
        report.loops += 1;
    }
    Ok(())
}

fn banner(
    out: &LineSink,
    emulator: &EmulatorHandle,
    addr: SocketAddr,
    token: &Sensitive<String>,
    data_dir: &std::path::Path,
    temporary: bool,
) {
    let api = format!("http://{addr}/api/v1");
    let token = token.expose();
    out("Ringside demo: an emulated Gamma PBX posting to a real hub.");
    out(&format!("  Gamma emulator  {}", emulator.base_url()));
    out(&format!(
        "  webhook         http://{addr}{}",
        crate::webhook::PATH
    ));
    out(&format!(
        "  agent API       {api}   (Tony Manero, extension {DEMO_EXTENSION})"
    ));
    out(&format!("  agent token     {token}"));
    out(&format!(
        "  data            {}{}",
        data_dir.display(),
        if temporary { "  (deleted on exit)" } else { "" }
    ));
    out("  try:");
    out(&format!(
        "    curl -H 'Authorization: Bearer {token}' {api}/calls"
    ));
    out(&format!(
        "    curl -N -H 'Authorization: Bearer {token}' '{api}/stream?after=0'"
    ));
    out("  Ctrl-C stops.");
    out("");
}

/// Print every call event the emulated Vtiger accepts, as it arrives.
async fn print_vtiger(vtiger: ringside_vtiger_emulator::VtigerEmulator, out: LineSink) {
    let mut shown = 0;
    loop {
        let events = vtiger.gateway_events();
        for e in events.iter().skip(shown) {
            let mut line = format!("  vtiger ← {:<15}", e.event);
            for key in [
                "from",
                "to",
                "direction",
                "transferred_number",
                "hangup_reason",
                "billduration",
                "recordingurl",
            ] {
                if let Some(v) = e.params.get(key) {
                    line.push_str(&format!(" {key}={v}"));
                }
            }
            out(&line);
        }
        shown = events.len();
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}

/// What was last printed about a call.
struct Printed {
    seq: i64,
    status: CallStatus,
    extension: Option<String>,
    recording_url: bool,
    app_data: usize,
    who: String,
}

async fn print_updates(
    engine: Engine,
    mut live: broadcast::Receiver<CallUpdate>,
    out: LineSink,
    mut stop: oneshot::Receiver<()>,
) {
    let mut printed: HashMap<CallId, Printed> = HashMap::new();
    loop {
        let update = tokio::select! {
            _ = &mut stop => break,
            r = live.recv() => r,
        };
        match update {
            Ok(update) => show(&engine, &out, &mut printed, update).await,
            Err(broadcast::error::RecvError::Lagged(n)) => {
                out(&format!(
                    "({n} updates skipped on screen; all are in the journal)"
                ));
            }
            Err(broadcast::error::RecvError::Closed) => return,
        }
    }
    // Show what had already arrived.
    while let Ok(update) = live.try_recv() {
        show(&engine, &out, &mut printed, update).await;
    }
}

async fn show(
    engine: &Engine,
    out: &LineSink,
    printed: &mut HashMap<CallId, Printed>,
    update: CallUpdate,
) {
    let call = &update.call;
    let lines = match printed.get_mut(&call.id) {
        None => {
            let who = describe_remote(engine, call).await;
            let lines = first_lines(call, &who);
            printed.insert(
                call.id.clone(),
                Printed {
                    seq: update.seq,
                    status: call.status,
                    extension: call.extension.clone(),
                    recording_url: call.recording_url.is_some(),
                    app_data: call.app_data.len(),
                    who,
                },
            );
            lines
        }
        Some(seen) if update.seq <= seen.seq => Vec::new(),
        Some(seen) => {
            let lines = change_lines(seen, call);
            seen.seq = update.seq;
            seen.status = call.status;
            seen.extension = call.extension.clone();
            seen.recording_url = call.recording_url.is_some();
            seen.app_data = call.app_data.len();
            lines
        }
    };
    let now = chrono::Local::now().format("%H:%M:%S");
    for line in lines {
        out(&format!("{now}  {line}"));
    }
}

fn first_lines(call: &Call, who: &str) -> Vec<String> {
    let label = match call.status {
        CallStatus::Dialing => "dialing",
        CallStatus::Ringing => "ringing",
        CallStatus::Talking => "answered",
        CallStatus::Transferring => "transferring",
        CallStatus::Ended => {
            return vec![format!("{}  {}", party_line("ended", call), ended(call))];
        }
    };
    let mut lines = vec![format!("{}  {who}", party_line(label, call))];
    for data in &call.app_data {
        lines.push(format!("{}  keyed in {data}", party_line("input", call)));
    }
    lines
}

fn change_lines(seen: &Printed, call: &Call) -> Vec<String> {
    let mut lines = Vec::new();
    if let (Some(from), Some(to)) = (&seen.extension, &call.extension)
        && from != to
    {
        lines.push(format!("{:<12}{from} → {to}", "transferred"));
    }
    if call.status != seen.status {
        match call.status {
            CallStatus::Talking => {
                lines.push(format!("{}  {}", party_line("answered", call), seen.who));
            }
            CallStatus::Ended => {
                lines.push(format!("{}  {}", party_line("ended", call), ended(call)));
            }
            CallStatus::Ringing if seen.status == CallStatus::Dialing => {
                lines.push(format!("{}  {}", party_line("ringing", call), seen.who));
            }
            _ => {}
        }
    } else if call.is_ended() && call.recording_url.is_some() && !seen.recording_url {
        lines.push(format!("{}  recording ✓", party_line("recorded", call)));
    }
    for data in call.app_data.iter().skip(seen.app_data) {
        lines.push(format!("{}  keyed in {data}", party_line("input", call)));
    }
    lines
}

/// `ringing     203 ← +34 647 46 01 97`
fn party_line(label: &str, call: &Call) -> String {
    let arrow = match call.direction {
        Direction::Inbound => "←",
        Direction::Outbound => "→",
    };
    let ext = call.extension.as_deref().unwrap_or("?");
    format!(
        "{label:<12}{ext} {arrow} {}",
        pretty_number(&call.remote_number)
    )
}

/// `answered 0:42 · recording ✓`, `missed`, `no answer`...
fn ended(call: &Call) -> String {
    let mut text = match call.outcome {
        Some(Outcome::Answered) => format!(
            "answered {}:{:02}",
            call.talk_seconds / 60,
            call.talk_seconds % 60
        ),
        Some(Outcome::Missed) => "missed".into(),
        Some(Outcome::NoAnswer) => "no answer".into(),
        Some(Outcome::Busy) => "busy".into(),
        Some(Outcome::Failed) => "failed".into(),
        None => "ended".into(),
    };
    if call.recording_url.is_some() {
        text.push_str(" · recording ✓");
    } else if call.recording {
        text.push_str(" · recording pending");
    }
    text
}

/// `+34647460197` → `+34 647 46 01 97` (libphonenumber's international format).
pub fn pretty_number(number: &str) -> String {
    if !number.starts_with('+') {
        return number.to_string();
    }
    match phonenumber::parse(None, number) {
        Ok(parsed) => parsed
            .format()
            .mode(phonenumber::Mode::International)
            .to_string(),
        Err(_) => number.to_string(),
    }
}

/// Who the other party is: the contact, company and open deals.
async fn describe_remote(engine: &Engine, call: &Call) -> String {
    if call.remote_number == "anonymous" {
        return "hidden number".into();
    }
    // The PBX's label is often just the number again; show it only when it
    // names someone.
    let fallback = || match &call.remote_label {
        Some(label) if label.chars().any(char::is_alphabetic) => label.clone(),
        _ => "unknown caller".into(),
    };
    let info = match engine.lookup(&call.remote_number).await {
        Ok(info) => info,
        Err(e) => return format!("{} (lookup failed: {})", fallback(), e.message),
    };
    let lookup = &info.lookup;
    let Some(chosen) = lookup.chosen_match() else {
        return match lookup.matches.len() {
            0 => fallback(),
            n => format!(
                "{n} possible contacts: {}",
                lookup
                    .matches
                    .iter()
                    .map(|m| m.contact.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        };
    };
    let mut text = chosen.contact.name.clone();
    if let Some(company) = &chosen.contact.company {
        text.push_str(" · ");
        text.push_str(&company.name);
    }
    let open: Vec<&Deal> = chosen.deals.iter().filter(|d| d.open).collect();
    match open.len() {
        0 => {}
        1 => text.push_str(&format!(" · 1 open deal{}", deal_total(&open))),
        n => text.push_str(&format!(" · {n} open deals{}", deal_total(&open))),
    }
    text
}

/// ` (17,300.00 EUR)`, one total per currency; empty when no amounts.
fn deal_total(deals: &[&Deal]) -> String {
    let mut totals: Vec<(String, i128)> = Vec::new();
    for deal in deals {
        let (Some(amount), currency) = (&deal.amount, &deal.currency) else {
            continue;
        };
        let Some(cents) = cents(amount) else {
            continue;
        };
        let currency = currency.clone().unwrap_or_default();
        match totals.iter_mut().find(|(c, _)| *c == currency) {
            Some((_, sum)) => *sum += cents,
            None => totals.push((currency, cents)),
        }
    }
    if totals.is_empty() {
        return String::new();
    }
    let parts: Vec<String> = totals
        .iter()
        .map(|(currency, cents)| {
            format!("{} {currency}", group_thousands(*cents))
                .trim()
                .to_string()
        })
        .collect();
    format!(" ({})", parts.join(" + "))
}

/// `"17300.5"` → `1730050`.
fn cents(amount: &str) -> Option<i128> {
    let amount = amount.trim();
    let (negative, amount) = match amount.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, amount),
    };
    let (whole, frac) = amount.split_once('.').unwrap_or((amount, ""));
    if whole.is_empty() || !whole.chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    if frac.len() > 2 || !frac.chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    let whole: i128 = whole.parse().ok()?;
    let frac: i128 = format!("{frac:0<2}").parse().ok()?;
    let value = whole.checked_mul(100)?.checked_add(frac)?;
    Some(if negative { -value } else { value })
}

/// `1730000` → `17,300.00`.
fn group_thousands(cents: i128) -> String {
    let sign = if cents < 0 { "-" } else { "" };
    let cents = cents.abs();
    let whole = (cents / 100).to_string();
    let mut grouped = String::new();
    for (i, ch) in whole.chars().enumerate() {
        if i > 0 && (whole.len() - i).is_multiple_of(3) {
            grouped.push(',');
        }
        grouped.push(ch);
    }
    format!("{sign}{grouped}.{:02}", cents % 100)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_are_summed_without_floats() {
        assert_eq!(cents("17300.00"), Some(1_730_000));
        assert_eq!(cents("12000"), Some(1_200_000));
        assert_eq!(cents("5300.5"), Some(530_050));
        assert_eq!(cents("1.234"), None);
        assert_eq!(cents("abc"), None);
        assert_eq!(group_thousands(1_730_000), "17,300.00");
        assert_eq!(group_thousands(99), "0.99");
        assert_eq!(group_thousands(12_345_678_900), "123,456,789.00");
    }

    #[test]
    fn numbers_are_shown_grouped() {
        assert!(pretty_number("+34647460197").starts_with("+34 6"));
        assert_eq!(pretty_number("anonymous"), "anonymous");
        assert_eq!(pretty_number("201"), "201");
    }
}
