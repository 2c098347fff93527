//! Behaviour of the journal against real SQLite files in temporary directories.

mod calls;
mod common;
mod events;
mod lifecycle;
mod listing;
mod updates;
mod writer;
