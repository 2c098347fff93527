//! Group commit: concurrency, isolation of failing jobs, readers during writes.

use std::collections::BTreeSet;
use std::sync::mpsc;
use std::time::Duration;

use ringside_core::{CallId, Error, ErrorKind};
use ringside_journal::Journal;

use crate::common::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_hundred_concurrent_writes_all_commit_with_distinct_seqs() {
    let (dir, journal) = journal();
    let tasks: Vec<_> = (0..200)
        .map(|i| {
            let journal = journal.clone();
            tokio::spawn(async move {
                journal
                    .write(move |tx| {
                        let c = call(
                            &format!("c{i:03}"),
                            &format!("{i}.0"),
                            "+34600000001",
                            "203",
                            i,
                        );
                        let seq = tx.append_event(&event(&format!("{i}.0"), "ringing", i))?;
                        let update = tx.save_call(&c)?;
                        tx.link_event(seq, &c.id)?;
                        Ok((seq, update))
                    })
                    .await
            })
        })
        .collect();
    let mut events = BTreeSet::new();
    let mut updates = BTreeSet::new();
    for task in tasks {
        let (seq, update) = task.await.unwrap().unwrap();
        events.insert(seq);
        updates.insert(update);
    }
    assert_eq!(
        (events.len(), updates.len()),
        (200, 200),
        "sequence numbers are distinct"
    );
    drop(journal);

    let journal = Journal::open(&dir.path().join("journal.sqlite")).unwrap();
    let (count, calls, linked, latest) = journal
        .read(|q| {
            Ok((
                q.event_count()?,
                q.list_calls(&ringside_journal::CallFilter {
                    limit: Some(1000),
                    ..Default::default()
                })?,
                q.events_for_call(&CallId::from("c123"))?,
                q.latest_update_seq()?,
            ))
        })
        .await
        .unwrap();
    assert_eq!(count, 200);
    assert_eq!(calls.len(), 200);
    assert_eq!(linked.len(), 1);
    assert_eq!(latest, *updates.last().unwrap());
}

/// Hold the writer inside a batch until `release` fires, so later jobs queue up
/// behind it and are then committed together, as one batch.
fn hold_writer(
    journal: &Journal,
) -> (
    mpsc::Sender<()>,
    tokio::task::JoinHandle<Result<i64, Error>>,
) {
    let (release, gate) = mpsc::channel::<()>();
    let j = journal.clone();
    let held = tokio::spawn(async move {
        j.write(move |tx| {
            let seq = tx.append_event(&event("gate", "ringing", 0))?;
            let _ = gate.recv_timeout(Duration::from_secs(10));
            Ok(seq)
        })
        .await
    });
    (release, held)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_job_leaves_no_trace_while_its_batch_commits() {
    let (_dir, journal) = journal();
    let (release, gate) = hold_writer(&journal);
    tokio::time::sleep(Duration::from_millis(100)).await;

    let write = |pcid: &'static str, fail: bool| {
        let journal = journal.clone();
        tokio::spawn(async move {
            journal
                .write(move |tx| {
                    let c = call(&format!("call-{pcid}"), pcid, "+34600000001", "203", 1);
                    let seq = tx.append_event(&event(pcid, "ringing", 1))?;
                    tx.save_call(&c)?;
                    tx.link_event(seq, &c.id)?;
                    if fail {
                        return Err(Error::invalid("this job changed its mind"));
                    }
                    Ok(seq)
                })
                .await
        })
    };
    let before = write("before", false);
    let failing = write("failing", true);
    let after = write("after", false);
    tokio::time::sleep(Duration::from_millis(300)).await;
    // While the batch is open, readers see none of it and are not blocked.
    let seen = journal.read(|q| q.event_count()).await.unwrap();
    assert_eq!(seen, 0, "nothing is visible before COMMIT");
    release.send(()).unwrap();

    gate.await.unwrap().unwrap();
    let before = before.await.unwrap().unwrap();
    let err = failing.await.unwrap().unwrap_err();
    let after = after.await.unwrap().unwrap();
    assert_eq!(
        err.kind,
        ErrorKind::Invalid,
        "the job's own error comes back"
    );
    assert_eq!(err.message, "this job changed its mind");
    assert_ne!(
        before, after,
        "tasks may queue in any order, but each has its own seq"
    );

    let (count, failed_call, failed_updates, kept) = journal
        .read(|q| {
            Ok((
                q.event_count()?,
                q.call_by_root("gamma", "failing")?,
                q.updates_since(None, 0, 100)?.len(),
                q.call_by_root("gamma", "after")?,
            ))
        })
        .await
        .unwrap();
    assert_eq!(count, 3, "gate, before and after");
    assert_eq!(failed_call, None);
    assert_eq!(failed_updates, 2);
    assert!(kept.is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_panicking_job_is_an_internal_error_and_the_writer_survives() {
    let (_dir, journal) = journal();
    let err = journal
        .write(|tx| -> ringside_core::Result<()> {
            tx.append_event(&event("p", "ringing", 0))?;
            panic!("job bug");
        })
        .await
        .unwrap_err();
    assert_eq!(err.kind, ErrorKind::Internal);
    let seq = journal
        .write(|tx| tx.append_event(&event("q", "ringing", 0)))
        .await
        .unwrap();
    let events = journal.read(|q| q.events_after(0, 10)).await.unwrap();
    assert_eq!(events.len(), 1, "the panicking job was rolled back");
    assert_eq!(events[0].seq, seq);
}

#[test]
fn reads_inside_a_write_see_the_jobs_own_changes() {
    let (_dir, journal) = journal();
    let found = journal
        .write_blocking(|tx| {
            let c = call("c1", "1", "+34600000001", "203", 0);
            tx.save_call(&c)?;
            Ok((tx.call(&c.id)?, tx.latest_update_seq()?))
        })
        .unwrap();
    assert_eq!(found.0.unwrap().id.as_str(), "c1");
    assert_eq!(found.1, 1);
}

#[test]
fn blocking_writes_from_many_threads_commit() {
    let (_dir, journal) = journal();
    std::thread::scope(|s| {
        for i in 0..8 {
            let journal = journal.clone();
            s.spawn(move || {
                for j in 0..10 {
                    journal
                        .write_blocking(move |tx| {
                            tx.append_event(&event(&format!("{i}.{j}"), "ringing", j))
                        })
                        .unwrap();
                }
            });
        }
    });
    assert_eq!(journal.read_blocking(|q| q.event_count()).unwrap(), 80);
}

#[test]
fn writing_from_inside_a_write_job_is_refused_not_a_deadlock() {
    let (_dir, journal) = journal();
    let inner = journal.clone();
    let err = journal
        .write_blocking(move |_tx| inner.write_blocking(|tx| tx.latest_update_seq()))
        .unwrap_err();
    assert_eq!(err.kind, ErrorKind::Internal);
    assert!(
        err.message.contains("inside a write job"),
        "{}",
        err.message
    );
}
