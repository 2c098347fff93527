//! The durable journal: one SQLite file (WAL, `synchronous=FULL`) holding every
//! raw PBX event exactly as received, the logical calls folded from them (with
//! their legs), and an ordered log of call updates that clients resume from by
//! sequence number. All writes go through a single writer thread that group
//! commits: many callers share one `COMMIT` (one fsync), each in its own
//! savepoint, and no caller hears back before its data is on disk. Reads use a
//! small pool of read connections that never block the writer.

mod codec;
mod journal;
mod model;
mod outbox;
mod queries;
mod schema;
mod write_tx;
mod writer;

pub use journal::{Journal, JournalOptions};
pub use model::{CallFilter, CallUpdate, NewEvent, StoredEvent};
pub use outbox::{NewOutboxOp, OutboxCounts, OutboxOp, OutboxState};
pub use queries::Queries;
pub use write_tx::WriteTx;
