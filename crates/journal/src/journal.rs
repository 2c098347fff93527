//! The journal handle: opening, the write queue and the reader pool.

use std::path::{Path, PathBuf};
use std::sync::mpsc::{self, Sender};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;

use ringside_core::{Error, Result};
use rusqlite::Connection;

use crate::queries::Queries;
use crate::schema;
use crate::write_tx::WriteTx;
use crate::writer::{self, Job, Pending};

/// Read connections kept open between reads.
const IDLE_READERS: usize = 4;

/// How the journal file is opened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct JournalOptions {
    /// `synchronous=FULL` (fsync on every commit). Only benchmarks turn it off.
    pub synchronous_full: bool,
}

impl Default for JournalOptions {
    fn default() -> Self {
        Self {
            synchronous_full: true,
        }
    }
}

/// A handle on the journal file. Cheap to clone; the writer thread stops when
/// the last clone is dropped.
#[derive(Clone)]
pub struct Journal {
    shared: Arc<Shared>,
}

struct Shared {
    path: PathBuf,
    jobs: Option<Sender<Job>>,
    writer: Option<JoinHandle<()>>,
    readers: Mutex<Vec<Connection>>,
}

impl std::fmt::Debug for Journal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Journal")
            .field("path", &self.shared.path)
            .finish_non_exhaustive()
    }
}

impl Journal {
    /// Open or create the journal at `path` (creating parent directories) and
    /// apply migrations. Errors are `Storage`, with the path in the message.
    pub fn open(path: &Path) -> Result<Journal> {
        Self::open_with(path, JournalOptions::default())
    }

    /// [`Journal::open`] with explicit options.
    pub fn open_with(path: &Path, options: JournalOptions) -> Result<Journal> {
        let conn = schema::open_writer(path, options.synchronous_full)?;
        let (jobs, queue) = mpsc::channel::<Job>();
        let writer = std::thread::Builder::new()
            .name("ringside-journal-writer".into())
            .spawn(move || writer::run(conn, queue))
            .map_err(|e| {
                Error::storage(format!(
                    "cannot start the writer of journal {}: {e}",
                    path.display()
                ))
            })?;
        Ok(Journal {
            shared: Arc::new(Shared {
                path: path.to_path_buf(),
                jobs: Some(jobs),
                writer: Some(writer),
                readers: Mutex::new(Vec::new()),
            }),
        })
    }

    /// Where the journal file lives.
    pub fn path(&self) -> &Path {
        &self.shared.path
    }

    /// Run `f` in a write transaction on the writer thread. Jobs queued
    /// together share one commit; each runs in its own savepoint, so an `Err`
    /// from `f` rolls back only its own writes. Resolves after the commit, with
    /// `f`'s result, or the commit's error if the batch could not be committed.
    /// Dropping the future does not cancel a write already queued.
    pub async fn write<R, F>(&self, f: F) -> Result<R>
    where
        F: FnOnce(&mut WriteTx<'_>) -> Result<R> + Send + 'static,
        R: Send + 'static,
    {
        let (tx, rx) = tokio::sync::oneshot::channel();
        self.submit(f, move |result| {
            let _ = tx.send(result);
        })?;
        rx.await.map_err(|_| writer_gone())?
    }

    /// [`Journal::write`] for synchronous callers: blocks until committed.
    /// Calling it from inside a write job is an `Internal` error, not a deadlock.
    pub fn write_blocking<R, F>(&self, f: F) -> Result<R>
    where
        F: FnOnce(&mut WriteTx<'_>) -> Result<R> + Send + 'static,
        R: Send + 'static,
    {
        let (tx, rx) = mpsc::sync_channel(1);
        self.submit(f, move |result| {
            let _ = tx.send(result);
        })?;
        rx.recv().map_err(|_| writer_gone())?
    }

    /// Run `f` against a read connection on the blocking pool. WAL readers see
    /// the last commit and never block the writer.
    pub async fn read<R, F>(&self, f: F) -> Result<R>
    where
        F: FnOnce(&Queries<'_>) -> Result<R> + Send + 'static,
        R: Send + 'static,
    {
        let journal = self.clone();
        tokio::task::spawn_blocking(move || journal.read_blocking(f))
            .await
            .map_err(|e| Error::internal(format!("journal: a read job failed: {e}")))?
    }

    /// [`Journal::read`] on the calling thread.
    pub fn read_blocking<R, F>(&self, f: F) -> Result<R>
    where
        F: FnOnce(&Queries<'_>) -> Result<R> + Send + 'static,
        R: Send + 'static,
    {
        let conn = self.take_reader()?;
        let result = f(&Queries::new(&conn));
        self.return_reader(conn);
        result
    }

    fn submit<R, F, S>(&self, work: F, reply: S) -> Result<()>
    where
        F: FnOnce(&mut WriteTx<'_>) -> Result<R> + Send + 'static,
        S: FnOnce(Result<R>) + Send + 'static,
        R: Send + 'static,
    {
        if self
            .shared
            .writer
            .as_ref()
            .is_some_and(|w| w.thread().id() == std::thread::current().id())
        {
            // The writer would wait for itself.
            return Err(Error::internal(
                "journal: write called from inside a write job; use the job's WriteTx",
            ));
        }
        let jobs = self.shared.jobs.as_ref().ok_or_else(writer_gone)?;
        jobs.send(Box::new(Pending { work, reply }))
            .map_err(|_| writer_gone())
    }

    fn take_reader(&self) -> Result<Connection> {
        let idle = self
            .shared
            .readers
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .pop();
        match idle {
            Some(conn) => Ok(conn),
            None => schema::open_reader(&self.shared.path),
        }
    }

    fn return_reader(&self, conn: Connection) {
        let mut idle = self
            .shared
            .readers
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if idle.len() < IDLE_READERS {
            idle.push(conn);
        }
    }
}

fn writer_gone() -> Error {
    Error::storage("journal: the writer thread is not running")
}

impl Drop for Shared {
    fn drop(&mut self) {
        // Closing the queue ends the writer's loop once queued jobs are done.
        drop(self.jobs.take());
        if let Some(writer) = self.writer.take()
            && writer.thread().id() != std::thread::current().id()
            && writer.join().is_err()
        {
            tracing::error!("journal writer thread panicked");
        }
    }
}
