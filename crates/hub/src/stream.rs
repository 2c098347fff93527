//! `GET /api/v1/stream`: the agent's call updates as Server-Sent Events.
//!
//! Each event is `id: <seq>`, `event: call`, `data: <CallUpdate JSON>`. A
//! client resumes with `Last-Event-ID` (or `?after=<seq>`; `after=0` replays
//! everything); without either it gets only updates from now on. The first
//! event is only `id: <position>` (no data): the sequence number the stream
//! starts after, to resume from should the connection drop before any update.
//!
//! Invariants: updates reach a client in sequence order, none twice, none
//! lost. The subscription to live updates is taken *before* the backlog is
//! read, and the live channel is only a wake-up: the updates themselves are
//! read from the journal after the last one sent. So an update published out
//! of order, or dropped because the client lagged behind the broadcast
//! buffer, is still delivered, in order, exactly once.

use std::convert::Infallible;

use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::sse::{Event, KeepAlive, Sse};
use futures::Stream;
use ringside_engine::{CallUpdate, Engine};
use serde::Deserialize;
use tokio::sync::broadcast::error::RecvError;
use tokio::sync::{broadcast, mpsc};
use tokio_stream::StreamExt;
use tokio_stream::wrappers::ReceiverStream;

use crate::api::AuthAgent;
use crate::error::{ApiError, ApiQuery};
use crate::state::AppState;

/// Updates read from the journal per page.
const PAGE: usize = 200;
/// Events buffered per client before the forwarder waits for it.
const BUFFER: usize = 64;

#[derive(Debug, Deserialize)]
pub struct StreamQuery {
    /// Resume after this update sequence number; `0` replays everything.
    pub after: Option<i64>,
}

/// `GET /api/v1/stream`
pub async fn stream(
    State(state): State<AppState>,
    AuthAgent(agent): AuthAgent,
    headers: HeaderMap,
    ApiQuery(q): ApiQuery<StreamQuery>,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, ApiError> {
    // An empty Last-Event-ID means none (SSE spec).
    let last_event_id = match headers
        .get("last-event-id")
        .map(|v| v.to_str().unwrap_or("?").trim())
        .filter(|v| !v.is_empty())
    {
        Some(text) => Some(text.parse::<i64>().map_err(|_| {
            ApiError::invalid(format!(
                "Last-Event-ID must be a sequence number, got {text:?}"
            ))
        })?),
        None => None,
    };
    // Subscribe first: nothing published from here on can be missed.
    let live = state.engine.subscribe();
    let after = match last_event_id.or(q.after) {
        Some(after) => after.max(0),
        None => state.engine.latest_update_seq().await?,
    };
    let (tx, rx) = mpsc::channel(BUFFER);
    let closing = state.closing();
    tokio::spawn(async move {
        tokio::select! {
            _ = closing => {}
            _ = forward(state.engine.clone(), agent.extension, after, live, tx) => {}
        }
    });
    let events = ReceiverStream::new(rx).map(Ok::<Event, Infallible>);
    Ok(Sse::new(events).keep_alive(KeepAlive::new().interval(state.limits.keep_alive)))
}

/// Send the agent's updates after `last` to `tx`, then keep following live
/// updates, until the client goes away.
async fn forward(
    engine: Engine,
    extension: String,
    mut last: i64,
    mut live: broadcast::Receiver<CallUpdate>,
    tx: mpsc::Sender<Event>,
) {
    // Where the client stands: an event with an `id` and no data dispatches
    // nothing but sets the client's last event id, so a reconnect resumes
    // from here even before the first update arrives.
    if tx
        .send(Event::default().id(last.to_string()))
        .await
        .is_err()
    {
        return;
    }
    if drain(&engine, &extension, &mut last, &tx).await.is_err() {
        return;
    }
    loop {
        let woken = tokio::select! {
            _ = tx.closed() => return,
            r = live.recv() => r,
        };
        match woken {
            Ok(update) => {
                if update.seq <= last || !update.call.involves(&extension) {
                    continue;
                }
                // Read from the journal rather than trusting the broadcast
                // order: an earlier update may not have been published yet.
                if drain(&engine, &extension, &mut last, &tx).await.is_err() {
                    return;
                }
                // The journal could not be read (or filters differently):
                // never drop what we were told about.
                if update.seq > last {
                    if send(&tx, &update).await.is_err() {
                        return;
                    }
                    last = update.seq;
                }
            }
            Err(RecvError::Lagged(n)) => {
                tracing::debug!(skipped = n, "stream: lagged behind, re-reading the journal");
                if drain(&engine, &extension, &mut last, &tx).await.is_err() {
                    return;
                }
            }
            Err(RecvError::Closed) => return,
        }
    }
}

/// The client is gone.
struct Gone;

/// Send every update of `extension` after `last` from the journal. A journal
/// read error is logged and ends the drain (the caller falls back to live).
async fn drain(
    engine: &Engine,
    extension: &str,
    last: &mut i64,
    tx: &mpsc::Sender<Event>,
) -> Result<(), Gone> {
    loop {
        let page = match engine.updates_since(Some(extension), *last, PAGE).await {
            Ok(page) => page,
            Err(e) => {
                tracing::warn!("stream: cannot read updates after {last}: {e}");
                return Ok(());
            }
        };
        let full = page.len() == PAGE;
        for update in page {
            if update.seq <= *last {
                continue;
            }
            send(tx, &update).await?;
            *last = update.seq;
        }
        if !full {
            return Ok(());
        }
    }
}

async fn send(tx: &mpsc::Sender<Event>, update: &CallUpdate) -> Result<(), Gone> {
    let event = match Event::default()
        .id(update.seq.to_string())
        .event("call")
        .json_data(update)
    {
        Ok(event) => event,
        Err(e) => {
            tracing::error!(seq = update.seq, "stream: cannot encode an update: {e}");
            return Ok(());
        }
    };
    tx.send(event).await.map_err(|_| Gone)
}
