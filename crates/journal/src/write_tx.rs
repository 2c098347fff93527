//! What a write job may do inside the writer's transaction.

use std::ops::Deref;

use ringside_core::{Call, CallId, Error, Result};
use rusqlite::{Connection, params};

use crate::codec::{db, encode_call, extension_set, timestamp};
use crate::model::NewEvent;
use crate::queries::Queries;

/// One write job's view of the open transaction. Everything it does commits
/// together with the rest of the batch, or not at all if the job returns `Err`.
/// Derefs to [`Queries`], so reads see the job's own uncommitted writes.
pub struct WriteTx<'a> {
    queries: Queries<'a>,
}

impl<'a> WriteTx<'a> {
    pub(crate) fn new(conn: &'a Connection) -> Self {
        Self {
            queries: Queries::new(conn),
        }
    }

    pub(crate) fn conn(&self) -> &'a Connection {
        self.queries.conn()
    }

    /// Append one raw event exactly as received. Returns its sequence number.
    pub fn append_event(&mut self, ev: &NewEvent) -> Result<i64> {
        self.conn()
            .prepare_cached(
                "INSERT INTO events (provider, received_at, provider_call_id, leg_id, state, \
                 body, external_call_id, source_ip, parsed) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
            )
            .and_then(|mut st| {
                st.execute(params![
                    ev.provider,
                    timestamp(&ev.received_at),
                    ev.provider_call_id,
                    ev.leg_id,
                    ev.state,
                    ev.body,
                    ev.external_call_id,
                    ev.source_ip,
                    ev.parsed,
                ])
            })
            .map_err(db(format_args!("appending a {} event", ev.provider)))?;
        Ok(self.conn().last_insert_rowid())
    }

    /// Link a stored event to the logical call it was folded into.
    /// The call must have been saved; an unknown `seq` is `NotFound`.
    pub fn link_event(&mut self, seq: i64, call: &CallId) -> Result<()> {
        let changed = self
            .conn()
            .prepare_cached("UPDATE events SET call_id = ?1 WHERE seq = ?2")
            .and_then(|mut st| st.execute(params![call.as_str(), seq]))
            .map_err(db(format_args!("linking event {seq} to call {call}")))?;
        if changed == 0 {
            return Err(Error::not_found(format!(
                "journal: no event {seq} to link to call {call}"
            )));
        }
        Ok(())
    }

    /// Upsert the call (all columns and its full JSON), replace its legs, and
    /// append one entry to the call-update log; returns that entry's sequence number.
    pub fn save_call(&mut self, call: &Call) -> Result<i64> {
        let body = encode_call(call)?;
        let conn = self.conn();
        conn.prepare_cached(
            "INSERT INTO calls (id, provider, provider_call_id, external_call_id, direction, \
             remote_number, remote_raw, remote_label, extension, status, outcome, started_at, \
             answered_at, ended_at, talk_seconds, last_event_at, notes, body) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18) \
             ON CONFLICT (id) DO UPDATE SET provider = excluded.provider, \
             provider_call_id = excluded.provider_call_id, \
             external_call_id = excluded.external_call_id, direction = excluded.direction, \
             remote_number = excluded.remote_number, remote_raw = excluded.remote_raw, \
             remote_label = excluded.remote_label, extension = excluded.extension, \
             status = excluded.status, outcome = excluded.outcome, \
             started_at = excluded.started_at, answered_at = excluded.answered_at, \
             ended_at = excluded.ended_at, talk_seconds = excluded.talk_seconds, \
             last_event_at = excluded.last_event_at, notes = excluded.notes, body = excluded.body",
        )
        .and_then(|mut st| {
            st.execute(params![
                call.id.as_str(),
                call.provider,
                call.provider_call_id,
                call.external_call_id,
                call.direction.as_str(),
                call.remote_number,
                call.remote_raw,
                call.remote_label,
                call.extension,
                call.status.as_str(),
                call.outcome.map(|o| o.as_str()),
                timestamp(&call.started_at),
                call.answered_at.as_ref().map(timestamp),
                call.ended_at.as_ref().map(timestamp),
                call.talk_seconds,
                timestamp(&call.last_event_at),
                call.notes,
                body,
            ])
        })
        .map_err(db(format_args!("saving call {}", call.id)))?;

        conn.prepare_cached("DELETE FROM legs WHERE call_id = ?1")
            .and_then(|mut st| st.execute(params![call.id.as_str()]))
            .map_err(db(format_args!("replacing legs of call {}", call.id)))?;
        for leg in &call.legs {
            let states = serde_json::to_string(&leg.states).map_err(|e| {
                Error::internal(format!("cannot encode leg states of call {}: {e}", call.id))
            })?;
            conn.prepare_cached(
                "INSERT INTO legs (call_id, provider, provider_call_id, provider_leg_id, \
                 extension, incoming, states) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            )
            .and_then(|mut st| {
                st.execute(params![
                    call.id.as_str(),
                    call.provider,
                    leg.provider_call_id,
                    leg.provider_leg_id.as_deref().unwrap_or(""),
                    leg.extension,
                    leg.incoming,
                    states,
                ])
            })
            .map_err(db(format_args!(
                "saving leg {}/{} of call {} (a leg belongs to one call only)",
                leg.provider_call_id,
                leg.provider_leg_id.as_deref().unwrap_or("-"),
                call.id
            )))?;
        }

        conn.prepare_cached(
            "INSERT INTO call_updates (call_id, at, extensions, snapshot) VALUES (?1, ?2, ?3, ?4)",
        )
        .and_then(|mut st| {
            st.execute(params![
                call.id.as_str(),
                timestamp(&call.last_event_at),
                extension_set(call),
                body,
            ])
        })
        .map_err(db(format_args!("logging an update of call {}", call.id)))?;
        Ok(conn.last_insert_rowid())
    }
}

impl<'a> Deref for WriteTx<'a> {
    type Target = Queries<'a>;

    fn deref(&self) -> &Queries<'a> {
        &self.queries
    }
}
