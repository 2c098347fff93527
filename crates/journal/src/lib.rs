//! The durable journal: SQLite (WAL) with migrations; raw events, logical calls, legs and the ordered call-update log; group-committed writes.
