//! The live stream over a real socket: updates arrive, a reconnect with
//! `Last-Event-ID` gets exactly the missed ones, no duplicates, nothing of
//! other extensions.

mod common;

use std::time::Duration;

use common::*;
use ringside_core::CallStatus;
use ringside_engine::CallUpdate;

/// A minimal SSE reader over a reqwest response.
struct Sse {
    response: reqwest::Response,
    buffer: String,
}

#[derive(Debug)]
struct SseEvent {
    id: Option<String>,
    event: Option<String>,
    data: String,
}

impl Sse {
    async fn connect(url: &str, token: &str, last_event_id: Option<i64>) -> Sse {
        let mut req = reqwest::Client::new().get(url).bearer_auth(token);
        if let Some(id) = last_event_id {
            req = req.header("Last-Event-ID", id.to_string());
        }
        let response = req.send().await.unwrap();
        assert_eq!(response.status().as_u16(), 200);
        assert!(
            response.headers()["content-type"]
                .to_str()
                .unwrap()
                .starts_with("text/event-stream")
        );
        Sse {
            response,
            buffer: String::new(),
        }
    }

    /// The next `call` event within `wait`, skipping keep-alive comments.
    async fn next(&mut self, wait: Duration) -> Option<CallUpdate> {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            if let Some(end) = self.buffer.find("\n\n") {
                let block: String = self.buffer.drain(..end + 2).collect();
                let event = parse(&block);
                if event.data.is_empty() {
                    continue;
                }
                assert_eq!(event.event.as_deref(), Some("call"));
                let update: CallUpdate = serde_json::from_str(&event.data).unwrap();
                assert_eq!(event.id, Some(update.seq.to_string()));
                return Some(update);
            }
            let chunk = tokio::time::timeout_at(deadline, self.response.chunk()).await;
            match chunk {
                Ok(Ok(Some(bytes))) => self.buffer.push_str(&String::from_utf8_lossy(&bytes)),
                Ok(Ok(None)) | Ok(Err(_)) | Err(_) => return None,
            }
        }
    }
}

fn parse(block: &str) -> SseEvent {
    let mut event = SseEvent {
        id: None,
        event: None,
        data: String::new(),
    };
    for line in block.lines() {
        if let Some(v) = line.strip_prefix("id:") {
            event.id = Some(v.trim().to_string());
        } else if let Some(v) = line.strip_prefix("event:") {
            event.event = Some(v.trim().to_string());
        } else if let Some(v) = line.strip_prefix("data:") {
            event.data.push_str(v.strip_prefix(' ').unwrap_or(v));
        }
    }
    event
}

async fn expected_after(hub: &TestHub, ext: &str, after: i64) -> Vec<i64> {
    hub.state
        .engine
        .updates_since(Some(ext), after, 1000)
        .await
        .unwrap()
        .iter()
        .map(|u| u.seq)
        .collect()
}

#[tokio::test]
async fn stream_resumes_with_last_event_id_without_gaps_or_duplicates() {
    let hub = TestHub::new().await;
    let served = hub.serve().await;
    let url = served.url("/api/v1/stream");

    // Something from before the connection: not replayed by default.
    hub.post_all(ringside_gamma::seed::EVENT_ATTRIBUTES_EXAMPLE)
        .await;
    let before = hub.state.engine.latest_update_seq().await.unwrap();
    assert!(before > 0);
    let mut sse = Sse::connect(&url, TOKEN_203, None).await;

    hub.post_all(ringside_gamma::seed::INCOMING_ANSWERED).await;
    let expected = expected_after(&hub, "203", before).await;
    assert!(!expected.is_empty());
    let mut got = Vec::new();
    while got.len() < expected.len() {
        let update = sse.next(Duration::from_secs(5)).await.expect("an update");
        assert_eq!(
            update.call.provider_call_id, "471900",
            "only new updates by default"
        );
        got.push(update.seq);
    }
    assert_eq!(got, expected);
    let last = *got.last().unwrap();
    assert!(sse.next(Duration::from_millis(300)).await.is_none());
    drop(sse);

    // While disconnected: more for 203, and a call 203 has no part in.
    hub.post_all(ringside_gamma::seed::INCOMING_MISSED).await;
    hub.post_all(ringside_gamma::seed::TRANSFER).await;
    hub.post_all(ringside_gamma::seed::OUTGOING_ANSWERED).await;

    let missed = expected_after(&hub, "203", last).await;
    assert!(missed.len() >= 2);
    let mut sse = Sse::connect(&url, TOKEN_203, Some(last)).await;
    let mut got = Vec::new();
    while got.len() < missed.len() {
        let update = sse
            .next(Duration::from_secs(5))
            .await
            .expect("a missed update");
        assert!(update.call.involves("203"), "{:?}", update.call.legs);
        got.push(update.seq);
    }
    assert_eq!(got, missed, "exactly the missed updates, in order");

    // Live after the replay: the next update arrives once.
    hub.post_all(ringside_gamma::seed::OUTGOING_UNANSWERED)
        .await;
    let live = expected_after(&hub, "203", *got.last().unwrap()).await;
    let mut more = Vec::new();
    while more.len() < live.len() {
        let update = sse
            .next(Duration::from_secs(5))
            .await
            .expect("a live update");
        more.push(update.seq);
    }
    assert_eq!(more, live);
    assert!(
        sse.next(Duration::from_millis(300)).await.is_none(),
        "no duplicate after the seam"
    );
    drop(sse);

    // `?after=0` replays everything of the extension.
    let mut sse = Sse::connect(&format!("{url}?after=0"), TOKEN_201, None).await;
    let all_201 = expected_after(&hub, "201", 0).await;
    let mut got = Vec::new();
    while got.len() < all_201.len() {
        got.push(sse.next(Duration::from_secs(5)).await.expect("replay").seq);
    }
    assert_eq!(got, all_201);
    drop(sse);

    served.stop().await;
}

#[tokio::test]
async fn stream_follows_a_call_through_to_its_end() {
    let hub = TestHub::new().await;
    let served = hub.serve().await;
    let mut sse = Sse::connect(&served.url("/api/v1/stream"), TOKEN_203, None).await;
    hub.post_all(ringside_gamma::seed::INCOMING_ANSWERED).await;
    let mut statuses = Vec::new();
    while statuses.last() != Some(&CallStatus::Ended) {
        let update = sse.next(Duration::from_secs(5)).await.expect("an update");
        statuses.push(update.call.status);
    }
    assert_eq!(statuses.first(), Some(&CallStatus::Ringing));
    assert!(statuses.contains(&CallStatus::Talking));

    // Shutting the server down ends the open stream.
    served.stop().await;
    assert!(sse.next(Duration::from_secs(5)).await.is_none());
}

#[tokio::test]
async fn bad_last_event_id_is_a_clear_error() {
    let hub = TestHub::new().await;
    let served = hub.serve().await;
    let response = reqwest::Client::new()
        .get(served.url("/api/v1/stream"))
        .bearer_auth(TOKEN_203)
        .header("Last-Event-ID", "yesterday")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 400);
    let json: serde_json::Value = response.json().await.unwrap();
    assert_error(&json, "invalid");
    served.stop().await;
}

#[tokio::test]
async fn a_stream_opens_with_its_position() {
    let hub = TestHub::new().await;
    hub.post_all(ringside_gamma::seed::INCOMING_ANSWERED).await;
    let latest = hub.state.engine.latest_update_seq().await.unwrap();
    let served = hub.serve().await;
    // (how the client connects, the position the stream starts after)
    let cases = [(None, latest), (Some("?after=0"), 0), (Some("?after=2"), 2)];
    for (query, position) in cases {
        let url = served.url(&format!("/api/v1/stream{}", query.unwrap_or("")));
        let mut response = reqwest::Client::new()
            .get(url)
            .bearer_auth(TOKEN_203)
            .send()
            .await
            .unwrap();
        let first = response.chunk().await.unwrap().unwrap();
        let first = String::from_utf8_lossy(&first);
        assert!(
            first.starts_with(&format!("id: {position}\n\n")),
            "{query:?}: {first:?}"
        );
    }
    served.stop().await;
}
