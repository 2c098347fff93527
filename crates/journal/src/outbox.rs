//! The CRM outbox: what each CRM must still be told, durable in the journal.
//!
//! The journal stores rows and enforces the two storage rules: an operation is
//! enqueued at most once per `(crm, call, op_key)`, and a call's operations are
//! handed out strictly in order (an operation is due only when every earlier
//! one of the same call for the same CRM has been delivered). What the
//! operations mean is the CRM framework's business (`ringside-crm`).

use chrono::{DateTime, Utc};
use ringside_core::{CallId, Error, Result};
use rusqlite::{OptionalExtension, Row, params};
use serde::Serialize;

use crate::codec::{db, parse_timestamp, timestamp};
use crate::{Queries, WriteTx};

/// Where an operation stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum OutboxState {
    /// Waiting for its turn, its `not_before`, or its next attempt.
    Pending,
    /// The CRM has it.
    Delivered,
    /// Failed permanently (validation, credentials): waits for a person.
    Parked,
}

impl OutboxState {
    pub fn as_str(self) -> &'static str {
        match self {
            OutboxState::Pending => "pending",
            OutboxState::Delivered => "delivered",
            OutboxState::Parked => "parked",
        }
    }

    fn parse(s: &str) -> Result<Self> {
        match s {
            "pending" => Ok(OutboxState::Pending),
            "delivered" => Ok(OutboxState::Delivered),
            "parked" => Ok(OutboxState::Parked),
            other => Err(Error::storage(format!(
                "journal: unknown outbox state {other:?}"
            ))),
        }
    }
}

/// An operation to enqueue.
#[derive(Debug, Clone)]
pub struct NewOutboxOp {
    pub crm: String,
    pub call_id: CallId,
    /// Unique per call and CRM: `ring`, `answered`, `transfer:X.1`, `ended`...
    pub op_key: String,
    /// Its place in the call: lower ranks are delivered first.
    pub rank: i64,
    pub kind: String,
    /// JSON the framework needs at delivery time.
    pub data: String,
    /// Not delivered before this instant (e.g. a wrap-up window for notes).
    pub not_before: DateTime<Utc>,
}

/// One stored operation.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct OutboxOp {
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub id: i64,
    pub crm: String,
    pub call_id: CallId,
    pub op_key: String,
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub rank: i64,
    pub kind: String,
    pub data: String,
    pub state: OutboxState,
    /// How many times delivery was tried. More than zero means the CRM may
    /// already have it (a timeout or a crash mid-request).
    pub attempts: u32,
    pub created_at: DateTime<Utc>,
    pub not_before: DateTime<Utc>,
    pub next_attempt_at: DateTime<Utc>,
    pub error_code: Option<String>,
    pub last_error: Option<String>,
    pub delivered_at: Option<DateTime<Utc>>,
    /// What was sent, for the record (JSON, secrets excluded).
    pub sent: Option<String>,
}

/// How many operations a CRM has in each state.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct OutboxCounts {
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub pending: u64,
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub parked: u64,
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub delivered: u64,
}

const COLUMNS: &str = "id, crm, call_id, op_key, kind, data, state, attempts, created_at, \
     not_before, next_attempt_at, error_code, last_error, delivered_at, sent, rank";

struct RawOp {
    id: i64,
    crm: String,
    call_id: String,
    op_key: String,
    kind: String,
    data: String,
    state: String,
    attempts: i64,
    created_at: String,
    not_before: String,
    next_attempt_at: String,
    error_code: Option<String>,
    last_error: Option<String>,
    delivered_at: Option<String>,
    sent: Option<String>,
    rank: i64,
}

fn raw_op(r: &Row<'_>) -> rusqlite::Result<RawOp> {
    Ok(RawOp {
        id: r.get(0)?,
        crm: r.get(1)?,
        call_id: r.get(2)?,
        op_key: r.get(3)?,
        kind: r.get(4)?,
        data: r.get(5)?,
        state: r.get(6)?,
        attempts: r.get(7)?,
        created_at: r.get(8)?,
        not_before: r.get(9)?,
        next_attempt_at: r.get(10)?,
        error_code: r.get(11)?,
        last_error: r.get(12)?,
        delivered_at: r.get(13)?,
        sent: r.get(14)?,
        rank: r.get(15)?,
    })
}

impl RawOp {
    fn decode(self) -> Result<OutboxOp> {
        let what = format!("outbox op {}", self.id);
        Ok(OutboxOp {
            id: self.id,
            crm: self.crm,
            call_id: CallId(self.call_id),
            op_key: self.op_key,
            rank: self.rank,
            kind: self.kind,
            data: self.data,
            state: OutboxState::parse(&self.state)?,
            attempts: u32::try_from(self.attempts).unwrap_or(u32::MAX),
            created_at: parse_timestamp(&self.created_at, &what)?,
            not_before: parse_timestamp(&self.not_before, &what)?,
            next_attempt_at: parse_timestamp(&self.next_attempt_at, &what)?,
            error_code: self.error_code,
            last_error: self.last_error,
            delivered_at: self
                .delivered_at
                .map(|t| parse_timestamp(&t, &what))
                .transpose()?,
            sent: self.sent,
        })
    }
}

impl Queries<'_> {
    fn outbox_rows(
        &self,
        sql: &str,
        params: impl rusqlite::Params,
        what: std::fmt::Arguments<'_>,
    ) -> Result<Vec<OutboxOp>> {
        let raws = self
            .conn()
            .prepare_cached(sql)
            .and_then(|mut st| {
                st.query_map(params, raw_op)?
                    .collect::<rusqlite::Result<Vec<_>>>()
            })
            .map_err(db(what))?;
        raws.into_iter().map(RawOp::decode).collect()
    }

    /// One operation by id.
    pub fn outbox_op(&self, id: i64) -> Result<Option<OutboxOp>> {
        let raw = self
            .conn()
            .prepare_cached(&format!("SELECT {COLUMNS} FROM outbox WHERE id = ?1"))
            .and_then(|mut st| st.query_row(params![id], raw_op).optional())
            .map_err(db(format_args!("reading outbox op {id}")))?;
        raw.map(RawOp::decode).transpose()
    }

    /// Operations of `crm` that may be delivered at `now`, oldest first: pending,
    /// past `not_before` and `next_attempt_at`, and first in line for their call
    /// (every operation of that call before it — lower rank, or same rank and
    /// enqueued earlier — is delivered).
    pub fn outbox_due(&self, crm: &str, now: DateTime<Utc>, limit: usize) -> Result<Vec<OutboxOp>> {
        let now = timestamp(&now);
        self.outbox_rows(
            &format!(
                "SELECT {COLUMNS} FROM outbox o WHERE o.crm = ?1 AND o.state = 'pending' \
                 AND o.not_before <= ?2 AND o.next_attempt_at <= ?2 \
                 AND NOT EXISTS (SELECT 1 FROM outbox p WHERE p.crm = o.crm \
                   AND p.call_id = o.call_id AND p.state != 'delivered' \
                   AND (p.rank < o.rank OR (p.rank = o.rank AND p.id < o.id))) \
                 ORDER BY o.id LIMIT ?3"
            ),
            params![crm, now, limit as i64],
            format_args!("reading the {crm} outbox"),
        )
    }

    /// When the next pending operation of `crm` becomes due (ignoring order),
    /// so the delivery worker knows how long it may sleep.
    pub fn outbox_next_due_at(&self, crm: &str) -> Result<Option<DateTime<Utc>>> {
        let next: Option<String> = self
            .conn()
            .prepare_cached(
                "SELECT MIN(MAX(not_before, next_attempt_at)) FROM outbox \
                 WHERE crm = ?1 AND state = 'pending'",
            )
            .and_then(|mut st| st.query_row(params![crm], |r| r.get(0)))
            .map_err(db(format_args!("reading the {crm} outbox")))?;
        next.map(|t| parse_timestamp(&t, "outbox next_attempt_at"))
            .transpose()
    }

    /// Every operation of one call for `crm`, in order.
    pub fn outbox_for_call(&self, crm: &str, call: &CallId) -> Result<Vec<OutboxOp>> {
        self.outbox_rows(
            &format!(
                "SELECT {COLUMNS} FROM outbox WHERE crm = ?1 AND call_id = ?2 ORDER BY rank, id"
            ),
            params![crm, call.as_str()],
            format_args!("reading the {crm} outbox of call {call}"),
        )
    }

    /// Operations of `crm` in `state`, newest first.
    pub fn outbox_list(
        &self,
        crm: &str,
        state: OutboxState,
        limit: usize,
    ) -> Result<Vec<OutboxOp>> {
        self.outbox_rows(
            &format!(
                "SELECT {COLUMNS} FROM outbox WHERE crm = ?1 AND state = ?2 \
                 ORDER BY id DESC LIMIT ?3"
            ),
            params![crm, state.as_str(), limit as i64],
            format_args!("listing the {crm} outbox"),
        )
    }

    /// How many operations `crm` has in each state.
    pub fn outbox_counts(&self, crm: &str) -> Result<OutboxCounts> {
        let mut counts = OutboxCounts::default();
        let rows: Vec<(String, i64)> = self
            .conn()
            .prepare_cached("SELECT state, COUNT(*) FROM outbox WHERE crm = ?1 GROUP BY state")
            .and_then(|mut st| {
                st.query_map(params![crm], |r| Ok((r.get(0)?, r.get(1)?)))?
                    .collect()
            })
            .map_err(db(format_args!("counting the {crm} outbox")))?;
        for (state, n) in rows {
            let n = n.max(0) as u64;
            match OutboxState::parse(&state)? {
                OutboxState::Pending => counts.pending = n,
                OutboxState::Parked => counts.parked = n,
                OutboxState::Delivered => counts.delivered = n,
            }
        }
        Ok(counts)
    }
}

impl WriteTx<'_> {
    /// Enqueue an operation unless the same `(crm, call, op_key)` exists.
    /// Returns the new row's id, or `None` when it was already there.
    pub fn enqueue_outbox(&mut self, op: &NewOutboxOp, now: DateTime<Utc>) -> Result<Option<i64>> {
        let now = timestamp(&now);
        let inserted = self
            .conn()
            .prepare_cached(
                "INSERT OR IGNORE INTO outbox (crm, call_id, op_key, kind, data, state, \
                 created_at, not_before, next_attempt_at, rank) \
                 VALUES (?1, ?2, ?3, ?4, ?5, 'pending', ?6, ?7, ?6, ?8)",
            )
            .and_then(|mut st| {
                st.execute(params![
                    op.crm,
                    op.call_id.as_str(),
                    op.op_key,
                    op.kind,
                    op.data,
                    now,
                    timestamp(&op.not_before),
                    op.rank,
                ])
            })
            .map_err(db(format_args!(
                "enqueueing {} for {} (call {})",
                op.op_key, op.crm, op.call_id
            )))?;
        Ok((inserted > 0).then(|| self.conn().last_insert_rowid()))
    }

    fn outbox_update(&mut self, id: i64, sql: &str, params: impl rusqlite::Params) -> Result<()> {
        let changed = self
            .conn()
            .prepare_cached(sql)
            .and_then(|mut st| st.execute(params))
            .map_err(db(format_args!("updating outbox op {id}")))?;
        if changed == 0 {
            return Err(Error::not_found(format!("journal: no outbox op {id}")));
        }
        Ok(())
    }

    /// Count an attempt before the request goes out: from now on the CRM may
    /// have it, even if we crash before hearing back.
    pub fn outbox_attempt(&mut self, id: i64) -> Result<()> {
        self.outbox_update(
            id,
            "UPDATE outbox SET attempts = attempts + 1 WHERE id = ?1",
            params![id],
        )
    }

    /// The CRM has it.
    pub fn outbox_delivered(&mut self, id: i64, now: DateTime<Utc>, sent: &str) -> Result<()> {
        self.outbox_update(
            id,
            "UPDATE outbox SET state = 'delivered', delivered_at = ?2, sent = ?3, \
             error_code = NULL, last_error = NULL WHERE id = ?1",
            params![id, timestamp(&now), sent],
        )
    }

    /// A transient failure: try again at `next_attempt_at`.
    pub fn outbox_retry_at(
        &mut self,
        id: i64,
        next_attempt_at: DateTime<Utc>,
        code: &str,
        message: &str,
    ) -> Result<()> {
        self.outbox_update(
            id,
            "UPDATE outbox SET next_attempt_at = ?2, error_code = ?3, last_error = ?4 \
             WHERE id = ?1 AND state = 'pending'",
            params![id, timestamp(&next_attempt_at), code, message],
        )
    }

    /// A permanent failure: wait for a person (the UI's retry button).
    pub fn outbox_park(&mut self, id: i64, code: &str, message: &str) -> Result<()> {
        self.outbox_update(
            id,
            "UPDATE outbox SET state = 'parked', error_code = ?2, last_error = ?3 WHERE id = ?1",
            params![id, code, message],
        )
    }

    /// Put parked operations of `crm` (one, or all when `id` is `None`) back in
    /// line, due at `now`. Returns how many.
    pub fn outbox_unpark(&mut self, crm: &str, id: Option<i64>, now: DateTime<Utc>) -> Result<u64> {
        let now = timestamp(&now);
        let changed = self
            .conn()
            .prepare_cached(
                "UPDATE outbox SET state = 'pending', next_attempt_at = ?3 \
                 WHERE crm = ?1 AND state = 'parked' AND (?2 IS NULL OR id = ?2)",
            )
            .and_then(|mut st| st.execute(params![crm, id, now]))
            .map_err(db(format_args!("retrying parked {crm} operations")))?;
        Ok(changed as u64)
    }

    /// Make every pending operation of `crm` due at `now` (after a settings
    /// change or a manual "retry now").
    pub fn outbox_wake(&mut self, crm: &str, now: DateTime<Utc>) -> Result<u64> {
        let now = timestamp(&now);
        let changed = self
            .conn()
            .prepare_cached(
                "UPDATE outbox SET next_attempt_at = ?2 WHERE crm = ?1 AND state = 'pending' \
                 AND next_attempt_at > ?2",
            )
            .and_then(|mut st| st.execute(params![crm, now]))
            .map_err(db(format_args!("waking the {crm} outbox")))?;
        Ok(changed as u64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Journal;
    use chrono::TimeZone;
    use ringside_core::{Call, Direction};

    fn at(s: i64) -> DateTime<Utc> {
        Utc.timestamp_opt(1_790_000_000 + s, 0).unwrap()
    }

    fn op(call: &str, key: &str) -> NewOutboxOp {
        NewOutboxOp {
            crm: "vtiger".into(),
            call_id: CallId(call.into()),
            op_key: key.into(),
            rank: match key {
                "ring" => 0,
                "answered" => 10,
                _ => 1000,
            },
            kind: key.split(':').next().unwrap().into(),
            data: "{}".into(),
            not_before: at(0),
        }
    }

    async fn journal_with_calls(dir: &tempfile::TempDir, ids: &[&str]) -> Journal {
        let journal = Journal::open(&dir.path().join("j.sqlite")).unwrap();
        let ids: Vec<String> = ids.iter().map(|s| s.to_string()).collect();
        journal
            .write(move |tx| {
                for (i, id) in ids.iter().enumerate() {
                    let mut call = Call::new(
                        CallId(id.clone()),
                        "gamma",
                        format!("root-{i}"),
                        at(0),
                        at(0),
                    );
                    call.direction = Direction::Inbound;
                    tx.save_call(&call)?;
                }
                Ok(())
            })
            .await
            .unwrap();
        journal
    }

    #[tokio::test]
    async fn enqueue_is_deduplicated_and_delivery_is_in_order_per_call() {
        let dir = tempfile::tempdir().unwrap();
        let journal = journal_with_calls(&dir, &["a", "b"]).await;
        let ids = journal
            .write(|tx| {
                let mut ids = Vec::new();
                for (c, k) in [("a", "ring"), ("a", "ended"), ("b", "ring"), ("a", "ring")] {
                    ids.push(tx.enqueue_outbox(&op(c, k), at(0))?);
                }
                Ok(ids)
            })
            .await
            .unwrap();
        assert!(ids[0].is_some() && ids[1].is_some() && ids[2].is_some());
        assert_eq!(ids[3], None, "a repeated op_key is not enqueued again");

        let due = journal
            .read(|q| q.outbox_due("vtiger", at(1), 10))
            .await
            .unwrap();
        let keys: Vec<_> = due
            .iter()
            .map(|o| (o.call_id.0.as_str(), o.op_key.as_str()))
            .collect();
        assert_eq!(
            keys,
            [("a", "ring"), ("b", "ring")],
            "a's ended waits for a's ring"
        );

        let ring_a = ids[0].unwrap();
        journal
            .write(move |tx| {
                tx.outbox_attempt(ring_a)?;
                tx.outbox_park(ring_a, "invalid", "bad number")
            })
            .await
            .unwrap();
        let due = journal
            .read(|q| q.outbox_due("vtiger", at(1), 10))
            .await
            .unwrap();
        assert_eq!(due.len(), 1, "a parked op blocks the rest of its call");
        assert_eq!(due[0].call_id.0, "b");
        let counts = journal.read(|q| q.outbox_counts("vtiger")).await.unwrap();
        assert_eq!(
            counts,
            OutboxCounts {
                pending: 2,
                parked: 1,
                delivered: 0
            }
        );

        let n = journal
            .write(|tx| tx.outbox_unpark("vtiger", None, at(2)))
            .await
            .unwrap();
        assert_eq!(n, 1);
        journal
            .write(move |tx| tx.outbox_delivered(ring_a, at(3), "{\"event\":\"call_initiated\"}"))
            .await
            .unwrap();
        let due = journal
            .read(|q| q.outbox_due("vtiger", at(4), 10))
            .await
            .unwrap();
        let keys: Vec<_> = due
            .iter()
            .map(|o| (o.call_id.0.as_str(), o.op_key.as_str()))
            .collect();
        assert_eq!(keys, [("a", "ended"), ("b", "ring")]);
        let ring = journal
            .read(move |q| q.outbox_op(ring_a))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(ring.attempts, 1);
        assert_eq!(ring.state, OutboxState::Delivered);
        assert_eq!(ring.error_code, None);
    }

    #[tokio::test]
    async fn a_late_enqueued_op_of_lower_rank_goes_first() {
        let dir = tempfile::tempdir().unwrap();
        let journal = journal_with_calls(&dir, &["a"]).await;
        journal
            .write(|tx| {
                tx.enqueue_outbox(&op("a", "ring"), at(0))?;
                tx.enqueue_outbox(&op("a", "ended"), at(0))?;
                tx.enqueue_outbox(&op("a", "answered"), at(0))
            })
            .await
            .unwrap();
        let all = journal
            .read(|q| q.outbox_for_call("vtiger", &CallId("a".into())))
            .await
            .unwrap();
        let keys: Vec<_> = all.iter().map(|o| o.op_key.as_str()).collect();
        assert_eq!(keys, ["ring", "answered", "ended"]);
        let ring = all[0].id;
        journal
            .write(move |tx| tx.outbox_delivered(ring, at(1), "{}"))
            .await
            .unwrap();
        let due = journal
            .read(|q| q.outbox_due("vtiger", at(2), 10))
            .await
            .unwrap();
        assert_eq!(due.len(), 1);
        assert_eq!(due[0].op_key, "answered");
    }

    #[tokio::test]
    async fn retry_later_and_not_before_hold_an_op_back() {
        let dir = tempfile::tempdir().unwrap();
        let journal = journal_with_calls(&dir, &["a"]).await;
        let id = journal
            .write(|tx| {
                let mut late = op("a", "ended");
                late.not_before = at(30);
                let ring = tx.enqueue_outbox(&op("a", "ring"), at(0))?.unwrap();
                tx.enqueue_outbox(&late, at(0))?;
                tx.outbox_retry_at(ring, at(10), "unavailable", "503")?;
                Ok(ring)
            })
            .await
            .unwrap();
        assert!(
            journal
                .read(|q| q.outbox_due("vtiger", at(5), 10))
                .await
                .unwrap()
                .is_empty()
        );
        assert_eq!(
            journal
                .read(|q| q.outbox_next_due_at("vtiger"))
                .await
                .unwrap(),
            Some(at(10))
        );
        let due = journal
            .read(|q| q.outbox_due("vtiger", at(10), 10))
            .await
            .unwrap();
        assert_eq!(due[0].id, id);
        assert_eq!(due[0].error_code.as_deref(), Some("unavailable"));
        journal
            .write(|tx| tx.outbox_wake("vtiger", at(0)))
            .await
            .unwrap();
        journal
            .write(move |tx| tx.outbox_delivered(id, at(11), "{}"))
            .await
            .unwrap();
        assert!(
            journal
                .read(|q| q.outbox_due("vtiger", at(29), 10))
                .await
                .unwrap()
                .is_empty()
        );
        assert_eq!(
            journal
                .read(|q| q.outbox_due("vtiger", at(30), 10))
                .await
                .unwrap()
                .len(),
            1
        );
    }

    #[tokio::test]
    async fn the_outbox_survives_reopening_the_file() {
        let dir = tempfile::tempdir().unwrap();
        {
            let journal = journal_with_calls(&dir, &["a"]).await;
            journal
                .write(|tx| tx.enqueue_outbox(&op("a", "ring"), at(0)))
                .await
                .unwrap();
        }
        let journal = Journal::open(&dir.path().join("j.sqlite")).unwrap();
        let due = journal
            .read(|q| q.outbox_due("vtiger", at(1), 10))
            .await
            .unwrap();
        assert_eq!(due.len(), 1);
        assert_eq!(due[0].op_key, "ring");
    }
}
