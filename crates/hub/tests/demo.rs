//! The demo machinery in-process at high speed: one loop of the script goes
//! emulator → webhook → journal, with the expected outcomes.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use ringside_core::{Direction, Outcome};
use ringside_hub::demo::{self, DemoOptions, JOURNAL_FILE};
use ringside_journal::{CallFilter, Journal};

#[tokio::test]
async fn one_demo_loop_reaches_the_journal() {
    let dir = tempfile::tempdir().unwrap();
    let lines = Arc::new(Mutex::new(Vec::<String>::new()));
    let sink = lines.clone();
    let options = DemoOptions {
        listen: SocketAddr::from(([127, 0, 0, 1], 0)),
        speed: 40.0,
        loops: Some(1),
        data_dir: Some(dir.path().to_path_buf()),
        vtiger: false,
    };
    let report = demo::run(
        options,
        Arc::new(move |line: &str| sink.lock().unwrap().push(line.to_string())),
        std::future::pending(),
    )
    .await
    .unwrap();
    assert_eq!(report.loops, 1);
    assert!(report.events >= 15, "{report:?}");
    assert_eq!(report.rejected, 0, "{report:?}");

    let journal = Journal::open(&dir.path().join(JOURNAL_FILE)).unwrap();
    let event_count = journal.read(|q| q.event_count()).await.unwrap();
    assert_eq!(event_count as usize, report.events);
    let calls = journal
        .read(|q| q.list_calls(&CallFilter::default()))
        .await
        .unwrap();
    // The IVR call (extension 9204) shares a number with a missed call.
    let find = |number: &str| {
        calls
            .iter()
            .find(|c| c.remote_number == number && c.involves("203"))
            .unwrap_or_else(|| panic!("no call with {number}: {calls:#?}"))
    };
    let lucia = find("+34647460197");
    assert_eq!(lucia.outcome, Some(Outcome::Answered));
    assert_eq!(lucia.direction, Direction::Inbound);
    assert!(lucia.recording_url.is_some());
    assert!(lucia.transcript.is_some());
    assert_eq!(find("+34911234567").outcome, Some(Outcome::Missed));
    let outgoing = find("+34933456789");
    assert_eq!(outgoing.direction, Direction::Outbound);
    assert_eq!(outgoing.outcome, Some(Outcome::Answered));
    let transferred = find("+442079460958");
    assert!(transferred.involves("203") && transferred.involves("301"));
    assert_eq!(transferred.extension.as_deref(), Some("301"));
    assert_eq!(find("+34600111222").outcome, Some(Outcome::Missed));
    assert_eq!(find("anonymous").outcome, Some(Outcome::Answered));

    let lines = lines.lock().unwrap();
    let text = lines.join("\n");
    assert!(text.contains("Bearer "), "{text}");
    assert!(
        text.contains("Lucía Fernández · Mar Azul Hoteles S.L. · 2 open deals"),
        "{text}"
    );
    assert!(text.contains("transferred 203 → 301"), "{text}");
    assert!(text.contains("missed"), "{text}");
    assert!(text.contains("recording ✓"), "{text}");
}

/// `ringside-hub demo --vtiger`: the pop's contact and Potentials come from
/// the emulated Vtiger, and every call's events are printed as Vtiger gets them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_vtiger_demo_logs_every_call_to_vtiger() {
    let lines = Arc::new(Mutex::new(Vec::<String>::new()));
    let sink = lines.clone();
    let options = DemoOptions {
        listen: SocketAddr::from(([127, 0, 0, 1], 0)),
        speed: 40.0,
        loops: Some(1),
        data_dir: None,
        vtiger: true,
    };
    let report = demo::run(
        options,
        Arc::new(move |line: &str| sink.lock().unwrap().push(line.to_string())),
        std::future::pending(),
    )
    .await
    .unwrap();
    assert_eq!(report.rejected, 0, "{report:?}");
    let text = lines.lock().unwrap().join("\n");
    assert!(text.contains("Vtiger emulator http://"), "{text}");
    assert!(
        text.contains("Lucía Fernández · Fernández Interiorismo SL · 2 open deals"),
        "{text}"
    );
    for event in [
        "call_initiated",
        "call_connected",
        "call_transfer",
        "call_hangup",
    ] {
        assert!(
            text.contains(&format!("vtiger ← {event}")),
            "{event}: {text}"
        );
    }
    assert!(text.contains("hangup_reason=no_answer"), "{text}");
    assert!(text.contains("Vtiger received"), "{text}");
}
