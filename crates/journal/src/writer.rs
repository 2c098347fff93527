//! The single writer thread and its group commit.
//!
//! The thread owns the only write connection. It takes every job waiting in
//! its queue (up to [`MAX_BATCH`]), opens one transaction, runs each job in its
//! own savepoint (a job that fails or panics is rolled back alone), commits
//! once, and only then tells each caller how its job went. A caller therefore
//! never hears "ok" for data that is not yet durable, and never sees a partial
//! job.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::mpsc::{Receiver, TryRecvError};

use ringside_core::{Error, Result};
use rusqlite::Connection;

use crate::write_tx::WriteTx;

/// Most jobs committed together.
pub(crate) const MAX_BATCH: usize = 512;

/// Tells the caller the final result once the batch's fate is known:
/// `Ok(())` when the batch committed, else the reason it did not.
type Deliver = Box<dyn FnOnce(Result<()>) + Send>;

/// A job that has run inside the transaction and waits for the commit.
pub(crate) struct Ran {
    failed: bool,
    deliver: Deliver,
}

/// A queued write: a closure plus the way to answer its caller.
pub(crate) trait WriteJob: Send {
    /// Run inside the open transaction.
    fn run(self: Box<Self>, tx: &mut WriteTx<'_>) -> Ran;
    /// Answer the caller without running (the transaction could not start).
    fn abandon(self: Box<Self>, err: Error);
}

/// The queue's element type.
pub(crate) type Job = Box<dyn WriteJob>;

/// A caller's closure and the function that hands its result back.
pub(crate) struct Pending<F, S> {
    pub(crate) work: F,
    pub(crate) reply: S,
}

impl<R, F, S> WriteJob for Pending<F, S>
where
    F: FnOnce(&mut WriteTx<'_>) -> Result<R> + Send + 'static,
    S: FnOnce(Result<R>) + Send + 'static,
    R: Send + 'static,
{
    fn run(self: Box<Self>, tx: &mut WriteTx<'_>) -> Ran {
        let Pending { work, reply } = *self;
        let result = catch_unwind(AssertUnwindSafe(|| work(tx)))
            .unwrap_or_else(|_| Err(Error::internal("journal: a write job panicked")));
        Ran {
            failed: result.is_err(),
            deliver: Box::new(move |commit: Result<()>| match (result, commit) {
                (Err(e), _) | (Ok(_), Err(e)) => reply(Err(e)),
                (Ok(value), Ok(())) => reply(Ok(value)),
            }),
        }
    }

    fn abandon(self: Box<Self>, err: Error) {
        (self.reply)(Err(err));
    }
}

/// The writer thread's loop: runs until every sender is gone.
pub(crate) fn run(conn: Connection, jobs: Receiver<Job>) {
    while let Ok(first) = jobs.recv() {
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match jobs.try_recv() {
                Ok(job) => batch.push(job),
                Err(TryRecvError::Empty | TryRecvError::Disconnected) => break,
            }
        }
        commit_batch(&conn, batch);
    }
    tracing::debug!("journal writer stopped");
}

fn exec(conn: &Connection, sql: &str) -> Result<()> {
    conn.execute_batch(sql)
        .map_err(|e| Error::storage(format!("journal: {sql}: {e}")))
}

/// Run one batch in one transaction and answer every caller.
fn commit_batch(conn: &Connection, batch: Vec<Job>) {
    if let Err(e) = exec(conn, "BEGIN IMMEDIATE") {
        tracing::error!(error = %e, "journal: cannot start a write transaction");
        for job in batch {
            job.abandon(e.clone());
        }
        return;
    }
    let mut ran: Vec<Ran> = Vec::with_capacity(batch.len());
    let mut jobs = batch.into_iter();
    let mut broken: Option<Error> = None;
    for job in jobs.by_ref() {
        if let Err(e) = exec(conn, "SAVEPOINT job") {
            job.abandon(e.clone());
            broken = Some(e);
            break;
        }
        let done = job.run(&mut WriteTx::new(conn));
        let closed = if done.failed {
            exec(conn, "ROLLBACK TO job; RELEASE job")
        } else {
            exec(conn, "RELEASE job")
        };
        ran.push(done);
        if let Err(e) = closed {
            broken = Some(e);
            break;
        }
    }
    let outcome = match broken {
        Some(e) => Err(e),
        None => exec(conn, "COMMIT"),
    };
    if let Err(e) = &outcome {
        tracing::error!(error = %e, jobs = ran.len(), "journal: batch not committed");
        if !conn.is_autocommit()
            && let Err(rollback) = exec(conn, "ROLLBACK")
        {
            tracing::error!(error = %rollback, "journal: rollback failed");
        }
        for job in jobs {
            job.abandon(e.clone());
        }
    }
    for done in ran {
        (done.deliver)(outcome.clone());
    }
}
