//! The live call feed: `GET /api/v1/stream` as a [`Stream`] that survives
//! the connection.
//!
//! The feed connects, yields [`LiveEvent::Connected`], then one
//! [`LiveEvent::Update`] per call update. When the connection fails or
//! drops it yields [`LiveEvent::Disconnected`] (once per outage, and again
//! only if the reason changes), waits — 250 ms, doubling up to 30 s — and
//! reconnects with `Last-Event-ID` set to the last sequence number it saw.
//! The hub opens every stream with its position (an `id` without data), so
//! even a feed that has seen no update yet resumes where it stood. An update
//! whose sequence number is not past the last one is dropped: none is
//! yielded twice or out of order. The feed ends only when dropped.

use std::collections::VecDeque;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use futures::Stream;
use futures::stream::BoxStream;
use reqwest::header::{ACCEPT, CONTENT_TYPE};
use reqwest::{Method, Response};
use ringside_api::CallUpdate;
use ringside_core::{Error, ErrorKind};

use crate::client::{HubClient, REQUEST_TIMEOUT};
use crate::error::parse_error;
use crate::sse::SseParser;

/// First pause before reconnecting.
const BACKOFF_FIRST: Duration = Duration::from_millis(250);
/// Longest pause between attempts.
const BACKOFF_MAX: Duration = Duration::from_secs(30);
/// A stream silent this long is dead (the hub sends a keep-alive every 15 s).
const SILENCE_LIMIT: Duration = Duration::from_secs(45);
/// Longest SSE line accepted.
const MAX_LINE: usize = 4 * 1024 * 1024;

/// What the live feed says.
#[derive(Debug, Clone)]
// Nearly every event is an update: boxing it would only add an allocation.
#[allow(clippy::large_enum_variant)]
pub enum LiveEvent {
    /// The stream is open; updates follow.
    Connected,
    /// A call changed.
    Update(CallUpdate),
    /// The stream is down; the feed is reconnecting by itself. `reason.kind`
    /// is `Unavailable` (hub unreachable or gone), `Unauthorized` (token
    /// refused), `Timeout`...
    Disconnected { reason: Error },
}

/// The live call feed of one agent (see the module docs). A
/// `Stream<Item = LiveEvent>` that never ends.
pub struct LiveFeed {
    inner: BoxStream<'static, LiveEvent>,
}

impl std::fmt::Debug for LiveFeed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LiveFeed").finish_non_exhaustive()
    }
}

impl LiveFeed {
    pub(crate) fn new(client: HubClient, after: Option<i64>) -> LiveFeed {
        let feed = Feed {
            client,
            after,
            last: None,
            open: None,
            pending: VecDeque::new(),
            failures: 0,
            down: Some(None),
        };
        let inner = futures::stream::unfold(feed, |mut feed| async move {
            let event = feed.next().await;
            Some((event, feed))
        });
        LiveFeed {
            inner: Box::pin(inner),
        }
    }
}

impl Stream for LiveFeed {
    type Item = LiveEvent;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<LiveEvent>> {
        self.inner.as_mut().poll_next(cx)
    }
}

/// An open stream.
struct Open {
    response: Response,
    parser: SseParser,
}

struct Feed {
    client: HubClient,
    /// Where the first connection starts (`None`: from now).
    after: Option<i64>,
    /// The last sequence number seen (an update's, or the hub's position).
    last: Option<i64>,
    open: Option<Open>,
    pending: VecDeque<LiveEvent>,
    /// Failed attempts since the last successful connection.
    failures: u32,
    /// `None` while connected; `Some(kind)` once a disconnection with that
    /// kind was reported (`Some(None)` at the start: nothing reported yet).
    down: Option<Option<ErrorKind>>,
}

impl Feed {
    async fn next(&mut self) -> LiveEvent {
        loop {
            if let Some(event) = self.pending.pop_front() {
                return event;
            }
            let Some(open) = self.open.as_mut() else {
                if self.failures > 0 {
                    tokio::time::sleep(backoff(self.failures)).await;
                }
                match self.connect().await {
                    Ok(open) => {
                        self.open = Some(open);
                        self.failures = 0;
                        self.down = None;
                        return LiveEvent::Connected;
                    }
                    Err(reason) => {
                        self.failures = self.failures.saturating_add(1);
                        if let Some(event) = self.disconnected(reason) {
                            return event;
                        }
                        continue;
                    }
                }
            };
            let chunk = tokio::time::timeout(SILENCE_LIMIT, open.response.chunk()).await;
            let reason = match chunk {
                Ok(Ok(Some(bytes))) => match open.parser.feed(&bytes) {
                    Ok(events) => {
                        for event in events {
                            self.take(event);
                        }
                        continue;
                    }
                    Err(e) => Error::internal(e.to_string()),
                },
                Ok(Ok(None)) => Error::new(ErrorKind::Unavailable, "the hub closed the stream"),
                Ok(Err(e)) => Error::new(
                    ErrorKind::Unavailable,
                    format!("the stream from {} broke: {e}", self.client.base_url()),
                ),
                Err(_) => Error::new(
                    ErrorKind::Timeout,
                    format!("nothing from the hub for {} s", SILENCE_LIMIT.as_secs()),
                ),
            };
            self.open = None;
            self.failures = 1;
            if let Some(event) = self.disconnected(reason) {
                return event;
            }
        }
    }

    /// The event reporting `reason`, unless this outage was already reported
    /// with the same kind.
    fn disconnected(&mut self, reason: Error) -> Option<LiveEvent> {
        if self.down == Some(Some(reason.kind)) {
            tracing::debug!("live feed: still down: {reason}");
            return None;
        }
        self.down = Some(Some(reason.kind));
        Some(LiveEvent::Disconnected { reason })
    }

    async fn connect(&self) -> Result<Open, Error> {
        let mut request = self
            .client
            .request(Method::GET, &["stream"])
            .header(ACCEPT, "text/event-stream");
        match (self.last, self.after) {
            (Some(last), _) => request = request.header("Last-Event-ID", last.to_string()),
            (None, Some(after)) => request = request.query(&[("after", after)]),
            (None, None) => {}
        }
        let response = tokio::time::timeout(REQUEST_TIMEOUT, self.client.send(request))
            .await
            .map_err(|_| {
                Error::new(
                    ErrorKind::Timeout,
                    format!(
                        "the hub at {} did not open the stream within {} s",
                        self.client.base_url(),
                        REQUEST_TIMEOUT.as_secs()
                    ),
                )
            })??;
        let status = response.status();
        if !status.is_success() {
            let headers = response.headers().clone();
            let body = self.client.read(response).await.unwrap_or_default();
            return Err(parse_error(status, &headers, &body));
        }
        let is_sse = response
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("text/event-stream"));
        if !is_sse {
            return Err(Error::internal(format!(
                "{} did not answer with an event stream",
                self.client.base_url()
            )));
        }
        Ok(Open {
            response,
            parser: SseParser::new(MAX_LINE),
        })
    }

    /// Take one SSE event: move the resume point, queue a new update.
    fn take(&mut self, event: crate::sse::SseEvent) {
        let id = event
            .id
            .as_deref()
            .and_then(|id| id.trim().parse::<i64>().ok());
        if event.data.is_empty() {
            // The hub's position: resume from here.
            if let Some(id) = id
                && self.last.is_none_or(|last| id > last)
            {
                self.last = Some(id);
            }
            return;
        }
        if event.event.as_deref() != Some("call") {
            return;
        }
        let update: CallUpdate = match serde_json::from_str(&event.data) {
            Ok(update) => update,
            Err(e) => {
                tracing::warn!(id = ?event.id, "live feed: unreadable call update: {e}");
                return;
            }
        };
        if self.last.is_some_and(|last| update.seq <= last) {
            tracing::debug!(seq = update.seq, "live feed: already seen");
            return;
        }
        self.last = Some(update.seq);
        self.pending.push_back(LiveEvent::Update(update));
    }
}

/// The pause before attempt `failures + 1`: 250 ms doubling, at most 30 s.
fn backoff(failures: u32) -> Duration {
    let doublings = failures.saturating_sub(1).min(16);
    BACKOFF_FIRST
        .saturating_mul(1 << doublings)
        .min(BACKOFF_MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_a_cap() {
        let ms: Vec<u128> = (1..=10).map(|n| backoff(n).as_millis()).collect();
        assert_eq!(
            ms,
            [250, 500, 1000, 2000, 4000, 8000, 16000, 30000, 30000, 30000]
        );
        assert_eq!(backoff(u32::MAX), BACKOFF_MAX);
    }
}
