//! Listing, searching and counting calls.

use ringside_core::{Call, CallStatus, Direction, LegState, Outcome};
use ringside_journal::{CallFilter, Journal};
use tempfile::TempDir;

use crate::common::*;

/// Five calls: two missed, one answered and transferred, two still open.
fn history() -> (TempDir, Journal, Vec<Call>) {
    let (dir, journal) = journal();
    let a = ended(call("c-a", "1", "+34600000001", "203", 0), Outcome::Missed);
    let mut b = ended(
        call("c-b", "2", "+34600000002", "204", 10),
        Outcome::Answered,
    );
    b.direction = Direction::Outbound;
    b.notes = Some("Pricing QUESTION".into());
    b.legs
        .push(leg("2.1", Some("9"), "301", 12, &[LegState::Talking]));
    b.extension = Some("301".into());
    let c = call("c-c", "3", "+34600000001", "203", 20);
    let mut d = call("c-d", "4", "anonymous", "301", 30);
    d.status = CallStatus::Talking;
    d.remote_raw = None;
    d.remote_label = Some("ACME Corp".into());
    let e = ended(call("c-e", "5", "+34600000003", "204", 30), Outcome::Missed);
    let all = vec![a, b, c, d, e];
    save(&journal, all.clone());
    (dir, journal, all)
}

#[test]
fn list_calls_applies_each_filter() {
    let (_dir, journal, _) = history();
    let cases: Vec<(&str, CallFilter, Vec<&str>)> = vec![
        (
            "everything, newest first, ties by id desc",
            CallFilter::default(),
            vec!["c-e", "c-d", "c-c", "c-b", "c-a"],
        ),
        (
            "extension via owner",
            CallFilter {
                extension: Some("203".into()),
                ..Default::default()
            },
            vec!["c-c", "c-a"],
        ),
        (
            "extension via a leg only",
            CallFilter {
                extension: Some("204".into()),
                ..Default::default()
            },
            vec!["c-e", "c-b"],
        ),
        (
            "extension via owner or leg",
            CallFilter {
                extension: Some("301".into()),
                ..Default::default()
            },
            vec!["c-d", "c-b"],
        ),
        (
            "unknown extension",
            CallFilter {
                extension: Some("999".into()),
                ..Default::default()
            },
            vec![],
        ),
        (
            "direction",
            CallFilter {
                direction: Some(Direction::Outbound),
                ..Default::default()
            },
            vec!["c-b"],
        ),
        (
            "outcome",
            CallFilter {
                outcome: Some(Outcome::Missed),
                ..Default::default()
            },
            vec!["c-e", "c-a"],
        ),
        (
            "status",
            CallFilter {
                status: Some(CallStatus::Ringing),
                ..Default::default()
            },
            vec!["c-c"],
        ),
        (
            "search number",
            CallFilter {
                search: Some("600000001".into()),
                ..Default::default()
            },
            vec!["c-c", "c-a"],
        ),
        (
            "search label, any case",
            CallFilter {
                search: Some("acme".into()),
                ..Default::default()
            },
            vec!["c-d"],
        ),
        (
            "search notes, any case",
            CallFilter {
                search: Some("pricing question".into()),
                ..Default::default()
            },
            vec!["c-b"],
        ),
        (
            "search treats % literally",
            CallFilter {
                search: Some("%".into()),
                ..Default::default()
            },
            vec![],
        ),
        (
            "blank search is no filter",
            CallFilter {
                search: Some("  ".into()),
                limit: Some(1),
                ..Default::default()
            },
            vec!["c-e"],
        ),
        (
            "since is inclusive",
            CallFilter {
                since: Some(t(20)),
                ..Default::default()
            },
            vec!["c-e", "c-d", "c-c"],
        ),
        (
            "until is exclusive",
            CallFilter {
                until: Some(t(20)),
                ..Default::default()
            },
            vec!["c-b", "c-a"],
        ),
        (
            "limit",
            CallFilter {
                limit: Some(2),
                ..Default::default()
            },
            vec!["c-e", "c-d"],
        ),
        (
            "limit zero",
            CallFilter {
                limit: Some(0),
                ..Default::default()
            },
            vec![],
        ),
        (
            "combined",
            CallFilter {
                extension: Some("204".into()),
                outcome: Some(Outcome::Missed),
                since: Some(t(5)),
                ..Default::default()
            },
            vec!["c-e"],
        ),
    ];
    for (name, filter, expected) in cases {
        let got = journal
            .read_blocking(move |q| q.list_calls(&filter))
            .unwrap();
        assert_eq!(ids(&got), expected, "{name}");
    }
}

#[test]
fn keyset_paging_walks_every_call_once_even_on_ties() {
    let (_dir, journal, _) = history();
    let mut seen = Vec::new();
    let mut before = None;
    loop {
        let filter = CallFilter {
            limit: Some(2),
            before: before.clone(),
            ..Default::default()
        };
        let page = journal
            .read_blocking(move |q| q.list_calls(&filter))
            .unwrap();
        let Some(last) = page.last() else { break };
        before = Some((last.started_at, last.id.clone()));
        seen.extend(page.iter().map(|c| c.id.0.clone()));
    }
    assert_eq!(seen, ["c-e", "c-d", "c-c", "c-b", "c-a"]);
}

#[test]
fn limit_is_capped() {
    let (_dir, journal) = journal();
    let many: Vec<Call> = (0..1005)
        .map(|i| {
            call(
                &format!("c{i:04}"),
                &i.to_string(),
                "+34600000009",
                "203",
                i,
            )
        })
        .collect();
    save(&journal, many);
    let got = journal
        .read_blocking(|q| {
            Ok((
                q.list_calls(&CallFilter {
                    limit: Some(5000),
                    ..Default::default()
                })?
                .len(),
                q.list_calls(&CallFilter::default())?.len(),
                q.calls_with_number("+34600000009", 3)?,
            ))
        })
        .unwrap();
    assert_eq!((got.0, got.1), (1000, 100));
    assert_eq!(ids(&got.2), ["c1004", "c1003", "c1002"]);
}

#[test]
fn calls_with_number_is_newest_first_and_exact() {
    let (_dir, journal, _) = history();
    let got = journal
        .read_blocking(|q| {
            Ok((
                q.calls_with_number("+34600000001", 10)?,
                q.calls_with_number("+34600000001", 1)?,
                q.calls_with_number("600000001", 10)?,
            ))
        })
        .unwrap();
    assert_eq!(ids(&got.0), ["c-c", "c-a"]);
    assert_eq!(ids(&got.1), ["c-c"]);
    assert!(
        got.2.is_empty(),
        "a number matches exactly, not as a substring"
    );
}

#[test]
fn open_calls_idle_since_skips_ended_and_recent_calls() {
    let (_dir, journal, _) = history();
    let cases = [
        (t(0), vec![]),
        (t(20), vec![]),
        (t(25), vec!["c-c"]),
        (t(31), vec!["c-c", "c-d"]),
    ];
    for (cutoff, expected) in cases {
        let got = journal
            .read_blocking(move |q| q.open_calls_idle_since(cutoff))
            .unwrap();
        assert_eq!(ids(&got), expected, "cutoff {cutoff}");
    }
}

#[test]
fn missed_count_by_extension_and_since() {
    let (_dir, journal, _) = history();
    let cases = [
        (None, None, 2),
        (Some("203"), None, 1),
        (Some("204"), None, 1),
        (Some("301"), None, 0),
        (None, Some(t(1)), 1),
        (Some("203"), Some(t(1)), 0),
    ];
    for (ext, since, expected) in cases {
        let got = journal
            .read_blocking(move |q| q.missed_count(ext, since))
            .unwrap();
        assert_eq!(got, expected, "extension {ext:?} since {since:?}");
    }
}
