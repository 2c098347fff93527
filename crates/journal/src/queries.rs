//! Everything that reads the journal. Works on a read connection and, through
//! [`WriteTx`](crate::WriteTx), inside a write transaction too.

use chrono::{DateTime, Utc};
use ringside_core::{Call, CallId, Result};
use rusqlite::types::Value;
use rusqlite::{Connection, OptionalExtension, Row, params, params_from_iter};

use crate::codec::{db, decode_call, parse_timestamp, timestamp};
use crate::model::{CallFilter, CallUpdate, StoredEvent};

/// Read access to the journal, borrowed from a connection.
pub struct Queries<'a> {
    conn: &'a Connection,
}

/// The columns of `events` that make a [`StoredEvent`], in [`stored_event`] order.
const EVENT_COLUMNS: &str =
    "seq, provider, received_at, provider_call_id, leg_id, state, body, external_call_id, call_id";

impl<'a> Queries<'a> {
    pub(crate) fn new(conn: &'a Connection) -> Self {
        Self { conn }
    }

    pub(crate) fn conn(&self) -> &'a Connection {
        self.conn
    }

    /// The call with this id.
    pub fn call(&self, id: &CallId) -> Result<Option<Call>> {
        self.one_call(
            "SELECT body FROM calls WHERE id = ?1",
            params![id.as_str()],
            format_args!("call {id}"),
        )
    }

    /// The call whose provider root id (Gamma `firstCallId`) is `root_call_id`.
    pub fn call_by_root(&self, provider: &str, root_call_id: &str) -> Result<Option<Call>> {
        self.one_call(
            "SELECT body FROM calls WHERE provider = ?1 AND provider_call_id = ?2",
            params![provider, root_call_id],
            format_args!("call with root {provider}/{root_call_id}"),
        )
    }

    /// The call that has a leg with this provider call id (e.g. a transferred `X.1`).
    pub fn call_by_leg(&self, provider: &str, leg_provider_call_id: &str) -> Result<Option<Call>> {
        self.one_call(
            "SELECT c.body FROM legs l JOIN calls c ON c.id = l.call_id \
             WHERE l.provider = ?1 AND l.provider_call_id = ?2 LIMIT 1",
            params![provider, leg_provider_call_id],
            format_args!("call with leg {provider}/{leg_provider_call_id}"),
        )
    }

    /// The (newest) call Ringside dialed with this external call id.
    pub fn call_by_external_id(&self, external_call_id: &str) -> Result<Option<Call>> {
        self.one_call(
            "SELECT body FROM calls WHERE external_call_id = ?1 \
             ORDER BY started_at DESC, id DESC LIMIT 1",
            params![external_call_id],
            format_args!("call with external id {external_call_id}"),
        )
    }

    /// Calls matching `filter`, newest `started_at` first (ties by id, descending).
    pub fn list_calls(&self, filter: &CallFilter) -> Result<Vec<Call>> {
        let mut clauses: Vec<&str> = Vec::new();
        let mut args: Vec<Value> = Vec::new();
        // Each clause uses positional `?`, so clauses and args must be pushed together.
        if let Some(ext) = &filter.extension {
            clauses.push(
                "(c.extension = ? OR EXISTS \
                 (SELECT 1 FROM legs l WHERE l.call_id = c.id AND l.extension = ?))",
            );
            args.push(Value::Text(ext.clone()));
            args.push(Value::Text(ext.clone()));
        }
        if let Some(direction) = filter.direction {
            clauses.push("c.direction = ?");
            args.push(Value::Text(direction.as_str().into()));
        }
        if let Some(outcome) = filter.outcome {
            clauses.push("c.outcome = ?");
            args.push(Value::Text(outcome.as_str().into()));
        }
        if let Some(status) = filter.status {
            clauses.push("c.status = ?");
            args.push(Value::Text(status.as_str().into()));
        }
        if let Some(search) = filter.search.as_deref().map(str::trim)
            && !search.is_empty()
        {
            clauses.push(
                "(instr(lower(c.remote_number), ?) > 0 \
                 OR instr(lower(coalesce(c.remote_raw, '')), ?) > 0 \
                 OR instr(lower(coalesce(c.remote_label, '')), ?) > 0 \
                 OR instr(lower(coalesce(c.notes, '')), ?) > 0)",
            );
            // SQLite's lower() folds ASCII only; the needle is folded the same way.
            let needle = Value::Text(search.to_ascii_lowercase());
            args.extend(std::iter::repeat_n(needle, 4));
        }
        if let Some(since) = &filter.since {
            clauses.push("c.started_at >= ?");
            args.push(Value::Text(timestamp(since)));
        }
        if let Some(until) = &filter.until {
            clauses.push("c.started_at < ?");
            args.push(Value::Text(timestamp(until)));
        }
        if let Some((started_at, id)) = &filter.before {
            clauses.push("(c.started_at < ? OR (c.started_at = ? AND c.id < ?))");
            args.push(Value::Text(timestamp(started_at)));
            args.push(Value::Text(timestamp(started_at)));
            args.push(Value::Text(id.0.clone()));
        }
        let limit = filter.effective_limit();
        if limit == 0 {
            return Ok(Vec::new());
        }
        args.push(Value::Integer(i64::try_from(limit).unwrap_or(i64::MAX)));
        let mut sql = String::from("SELECT c.id, c.body FROM calls c");
        if !clauses.is_empty() {
            sql.push_str(" WHERE ");
            sql.push_str(&clauses.join(" AND "));
        }
        sql.push_str(" ORDER BY c.started_at DESC, c.id DESC LIMIT ?");
        self.calls(&sql, params_from_iter(args), "listing calls")
    }

    /// The last calls with this remote number, newest first.
    pub fn calls_with_number(&self, remote_number: &str, limit: usize) -> Result<Vec<Call>> {
        self.calls(
            "SELECT id, body FROM calls WHERE remote_number = ?1 \
             ORDER BY started_at DESC, id DESC LIMIT ?2",
            params![remote_number, sql_limit(limit)],
            format_args!("listing calls with {remote_number}"),
        )
    }

    /// Calls not ended whose last event is older than `cutoff`, stalest first.
    pub fn open_calls_idle_since(&self, cutoff: DateTime<Utc>) -> Result<Vec<Call>> {
        self.calls(
            "SELECT id, body FROM calls WHERE status != 'ended' AND last_event_at < ?1 \
             ORDER BY last_event_at, id",
            params![timestamp(&cutoff)],
            "listing idle open calls",
        )
    }

    /// How many calls were missed, optionally for one extension and since an instant.
    pub fn missed_count(
        &self,
        extension: Option<&str>,
        since: Option<DateTime<Utc>>,
    ) -> Result<u64> {
        let since = since.as_ref().map(timestamp);
        let count: i64 = self
            .conn
            .prepare_cached(
                "SELECT count(*) FROM calls c WHERE c.outcome = 'missed' \
                 AND (?1 IS NULL OR c.extension = ?1 OR EXISTS \
                     (SELECT 1 FROM legs l WHERE l.call_id = c.id AND l.extension = ?1)) \
                 AND (?2 IS NULL OR c.started_at >= ?2)",
            )
            .and_then(|mut st| st.query_row(params![extension, since], |r| r.get(0)))
            .map_err(db("counting missed calls"))?;
        Ok(u64::try_from(count).unwrap_or(0))
    }

    /// The raw events folded into this call, in the order they were received.
    pub fn events_for_call(&self, id: &CallId) -> Result<Vec<StoredEvent>> {
        self.events(
            &format!("SELECT {EVENT_COLUMNS} FROM events WHERE call_id = ?1 ORDER BY seq"),
            params![id.as_str()],
            format_args!("events of call {id}"),
        )
    }

    /// Up to `limit` raw events with a sequence number above `after_seq`, ascending.
    pub fn events_after(&self, after_seq: i64, limit: usize) -> Result<Vec<StoredEvent>> {
        self.events(
            &format!("SELECT {EVENT_COLUMNS} FROM events WHERE seq > ?1 ORDER BY seq LIMIT ?2"),
            params![after_seq, sql_limit(limit)],
            format_args!("events after {after_seq}"),
        )
    }

    /// Up to `limit` call updates after `after_seq`, ascending; with `extension`,
    /// only updates of calls that extension had taken part in at the time.
    pub fn updates_since(
        &self,
        extension: Option<&str>,
        after_seq: i64,
        limit: usize,
    ) -> Result<Vec<CallUpdate>> {
        let mut st = self
            .conn
            .prepare_cached(
                "SELECT seq, snapshot FROM call_updates WHERE seq > ?1 \
                 AND (?2 IS NULL OR instr(extensions, ',' || ?2 || ',') > 0) \
                 ORDER BY seq LIMIT ?3",
            )
            .map_err(db("reading call updates"))?;
        let rows = st
            .query_map(params![after_seq, extension, sql_limit(limit)], |r| {
                Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?))
            })
            .map_err(db("reading call updates"))?;
        let mut out = Vec::new();
        for row in rows {
            let (seq, snapshot) = row.map_err(db("reading call updates"))?;
            let call = decode_call(&snapshot, format_args!("call update {seq}"))?;
            out.push(CallUpdate { seq, call });
        }
        Ok(out)
    }

    /// The sequence number of the newest call update, 0 when there is none.
    pub fn latest_update_seq(&self) -> Result<i64> {
        self.conn
            .prepare_cached("SELECT coalesce(max(seq), 0) FROM call_updates")
            .and_then(|mut st| st.query_row([], |r| r.get(0)))
            .map_err(db("reading the latest update seq"))
    }

    /// How many raw events the journal holds.
    pub fn event_count(&self) -> Result<u64> {
        let n: i64 = self
            .conn
            .prepare_cached("SELECT count(*) FROM events")
            .and_then(|mut st| st.query_row([], |r| r.get(0)))
            .map_err(db("counting events"))?;
        Ok(u64::try_from(n).unwrap_or(0))
    }

    fn one_call(
        &self,
        sql: &str,
        params: impl rusqlite::Params,
        what: impl std::fmt::Display,
    ) -> Result<Option<Call>> {
        let body: Option<String> = self
            .conn
            .prepare_cached(sql)
            .and_then(|mut st| st.query_row(params, |r| r.get(0)).optional())
            .map_err(db(format_args!("reading {what}")))?;
        body.map(|b| decode_call(&b, format_args!("{what}")))
            .transpose()
    }

    fn calls(
        &self,
        sql: &str,
        params: impl rusqlite::Params,
        what: impl std::fmt::Display,
    ) -> Result<Vec<Call>> {
        let mut st = self
            .conn
            .prepare_cached(sql)
            .map_err(db(format_args!("{what}")))?;
        let rows = st
            .query_map(params, |r| {
                Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))
            })
            .map_err(db(format_args!("{what}")))?;
        let mut out = Vec::new();
        for row in rows {
            let (id, body) = row.map_err(db(format_args!("{what}")))?;
            out.push(decode_call(&body, format_args!("call {id}"))?);
        }
        Ok(out)
    }

    fn events(
        &self,
        sql: &str,
        params: impl rusqlite::Params,
        what: impl std::fmt::Display,
    ) -> Result<Vec<StoredEvent>> {
        let mut st = self
            .conn
            .prepare_cached(sql)
            .map_err(db(format_args!("reading {what}")))?;
        let rows = st
            .query_map(params, raw_event)
            .map_err(db(format_args!("reading {what}")))?;
        let mut out = Vec::new();
        for row in rows {
            out.push(stored_event(
                row.map_err(db(format_args!("reading {what}")))?,
            )?);
        }
        Ok(out)
    }
}

/// An `events` row before its timestamp is parsed.
type RawEvent = (StoredEvent, String);

fn raw_event(r: &Row<'_>) -> rusqlite::Result<RawEvent> {
    let event = StoredEvent {
        seq: r.get(0)?,
        provider: r.get(1)?,
        received_at: DateTime::<Utc>::MIN_UTC,
        provider_call_id: r.get(3)?,
        leg_id: r.get(4)?,
        state: r.get(5)?,
        body: r.get(6)?,
        external_call_id: r.get(7)?,
        call_id: r.get::<_, Option<String>>(8)?.map(CallId),
    };
    Ok((event, r.get(2)?))
}

fn stored_event((mut event, received_at): RawEvent) -> Result<StoredEvent> {
    event.received_at = parse_timestamp(&received_at, format_args!("event {}", event.seq))?;
    Ok(event)
}

fn sql_limit(limit: usize) -> i64 {
    i64::try_from(limit).unwrap_or(i64::MAX)
}
