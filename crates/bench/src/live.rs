//! `live`: webhook → agent stream latency, the path a screen pop takes. An
//! SSE client follows `/api/v1/stream` as the agent at extension 203; each
//! event is posted on its own (a short pause between) and timed from just
//! before the POST to the arrival of the SSE `call` event naming its
//! `callId`. The baseline, with the same client code, is a bare axum app
//! whose POST handler puts the body on a broadcast channel that an SSE
//! endpoint forwards: the floor set by HTTP, SSE and the runtime. The
//! baseline runs twice: with `TCP_NODELAY` (the floor the ratios use) and
//! with axum's default sockets, Nagle's algorithm on, as the hub's `run`
//! serves today. The sides run in turn, `rounds` times, on fresh servers;
//! latencies are pooled over the rounds.

use std::collections::HashSet;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use reqwest::header::{ACCEPT, CONTENT_TYPE};
use serde::Serialize;
use serde_json::Value;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use crate::harness::{
    self, AGENT_EXTENSION, HubUnderTest, SECRET_HEADER, STREAM_PATH, WEBHOOK_PATH,
};
use crate::report::{Latency, Recorder, Table, ms, ratio};
use crate::workload::{self, Event};

/// What to measure.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Params {
    /// Events posted per side, one at a time.
    pub events: usize,
    /// Pause after each event is received.
    pub pause: Duration,
    /// How long to wait for one event on the stream before counting it lost.
    pub wait: Duration,
    /// Time limit of each side; it stops early when it is reached.
    pub budget: Duration,
    /// How many times the sides are measured, in turn.
    pub rounds: usize,
}

impl Default for Params {
    fn default() -> Self {
        Self {
            events: 2_000,
            pause: Duration::from_millis(5),
            wait: Duration::from_secs(5),
            budget: Duration::from_secs(60),
            rounds: 3,
        }
    }
}

impl Params {
    /// Small enough for a smoke check.
    pub fn quick() -> Self {
        Self {
            events: 200,
            pause: Duration::from_millis(2),
            wait: Duration::from_secs(5),
            budget: Duration::from_secs(5),
            rounds: 1,
        }
    }
}

/// One side's outcome over all rounds.
#[derive(Debug, Clone, Serialize)]
pub struct Side {
    pub name: String,
    /// Events posted and answered 2xx.
    pub sent: usize,
    /// Events whose SSE `call` event arrived.
    pub received: usize,
    /// Events not seen on the stream within `wait`.
    pub lost: usize,
    /// Posts not answered 2xx.
    pub refused: usize,
    /// SSE `call` events that matched no pending event (duplicates, strays).
    pub unexpected: usize,
    /// SSE event ids seen more than once on one stream.
    pub repeated_ids: usize,
    /// POST → SSE event, all rounds pooled.
    pub latency: Latency,
    /// Each round's p50 and p99, in microseconds.
    pub rounds: Vec<(u64, u64)>,
    pub stopped_by_budget: bool,
    #[serde(skip)]
    recorder: Recorder,
}

impl Side {
    fn new(name: &str) -> Self {
        Self {
            name: name.into(),
            sent: 0,
            received: 0,
            lost: 0,
            refused: 0,
            unexpected: 0,
            repeated_ids: 0,
            latency: Recorder::new().summary(),
            rounds: Vec::new(),
            stopped_by_budget: false,
            recorder: Recorder::new(),
        }
    }

    fn add(&mut self, round: Round) {
        self.sent += round.sent;
        self.received += round.received;
        self.lost += round.lost;
        self.refused += round.refused;
        self.unexpected += round.unexpected;
        self.repeated_ids += round.repeated_ids;
        self.stopped_by_budget |= round.stopped_by_budget;
        let summary = round.latency.summary();
        self.rounds.push((summary.p50_us, summary.p99_us));
        self.recorder.merge(&round.latency);
        self.latency = self.recorder.summary();
    }

    /// Every event posted arrived exactly once and nothing else did.
    pub fn exactly_once(&self) -> bool {
        self.sent == self.received
            && self.lost == 0
            && self.refused == 0
            && self.unexpected == 0
            && self.repeated_ids == 0
    }
}

/// One side in one round.
#[derive(Default)]
struct Round {
    sent: usize,
    received: usize,
    lost: usize,
    refused: usize,
    unexpected: usize,
    repeated_ids: usize,
    latency: Recorder,
    stopped_by_budget: bool,
}

/// The sides and the ratios of the hub to the `TCP_NODELAY` baseline.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub params: Params,
    pub hub: Side,
    /// The baseline with `TCP_NODELAY`: the reference of the ratios.
    pub bare: Side,
    /// The baseline with axum's default sockets (Nagle on), as the hub.
    pub bare_nagle: Side,
    /// Hub p50 over bare p50.
    pub p50_ratio: f64,
    /// Hub p99 over bare p99.
    pub p99_ratio: f64,
}

impl Report {
    pub fn table(&self) -> String {
        let mut t = Table::new(&[
            "webhook → stream",
            "events",
            "received",
            "p50 ms",
            "p90 ms",
            "p99 ms",
            "max ms",
            "p50 / p99 per round",
        ]);
        for side in [&self.hub, &self.bare, &self.bare_nagle] {
            let l = &side.latency;
            let rounds: Vec<String> = side
                .rounds
                .iter()
                .map(|(p50, p99)| format!("{}/{}", ms(*p50), ms(*p99)))
                .collect();
            t.row(vec![
                side.name.clone(),
                side.sent.to_string(),
                side.received.to_string(),
                ms(l.p50_us),
                ms(l.p90_us),
                ms(l.p99_us),
                ms(l.max_us),
                rounds.join(", "),
            ]);
        }
        format!(
            "{}\nhub / bare (TCP_NODELAY) latency: p50 {:.2}x, p99 {:.2}x\n",
            t.markdown(),
            self.p50_ratio,
            self.p99_ratio
        )
    }
}

/// One SSE `call` event as the client saw it.
#[derive(Debug)]
struct Frame {
    id: Option<String>,
    /// Every `callId` it names: the raw event's, or the call update's root
    /// and legs.
    call_ids: Vec<String>,
    at: Instant,
}

/// The `callId`s a stream event's data names: `callId` of a raw Gamma
/// event, or `provider_call_id` of a call update's call and of its legs.
fn call_ids(data: &str) -> Vec<String> {
    let Ok(value) = serde_json::from_str::<Value>(data) else {
        return Vec::new();
    };
    let text = |v: &Value, key: &str| v.get(key).and_then(Value::as_str).map(str::to_owned);
    let mut ids: Vec<String> = text(&value, "callId").into_iter().collect();
    if let Some(call) = value.get("call") {
        ids.extend(text(call, "provider_call_id"));
        if let Some(legs) = call.get("legs").and_then(Value::as_array) {
            ids.extend(legs.iter().filter_map(|leg| text(leg, "provider_call_id")));
        }
    }
    ids
}

/// Parse one SSE frame (lines up to a blank line); `None` unless it is a
/// `call` event.
fn parse_frame(frame: &str, at: Instant) -> Option<Frame> {
    let (mut event, mut id, mut data) = (None, None, String::new());
    for line in frame.lines() {
        let (field, value) = line.split_once(':').unwrap_or((line, ""));
        let value = value.strip_prefix(' ').unwrap_or(value);
        match field {
            "event" => event = Some(value.to_owned()),
            "id" => id = Some(value.to_owned()),
            "data" => {
                if !data.is_empty() {
                    data.push('\n');
                }
                data.push_str(value);
            }
            _ => {}
        }
    }
    (event.as_deref() == Some("call")).then(|| Frame {
        id,
        call_ids: call_ids(&data),
        at,
    })
}

/// Open the stream and forward its `call` events, stamped on arrival.
async fn follow(
    client: &reqwest::Client,
    url: &str,
    token: Option<&str>,
) -> anyhow::Result<(mpsc::UnboundedReceiver<Frame>, JoinHandle<()>)> {
    let mut request = client.get(url).header(ACCEPT, "text/event-stream");
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let mut response = request
        .send()
        .await
        .context("opening the stream")?
        .error_for_status()?;
    let (tx, rx) = mpsc::unbounded_channel();
    let reader = tokio::spawn(async move {
        let mut buffer: Vec<u8> = Vec::new();
        while let Ok(Some(chunk)) = response.chunk().await {
            let at = Instant::now();
            buffer.extend_from_slice(&chunk);
            while let Some(end) = buffer.windows(2).position(|w| w == b"\n\n") {
                let frame: Vec<u8> = buffer.drain(..end + 2).collect();
                if let Some(frame) = parse_frame(&String::from_utf8_lossy(&frame), at)
                    && tx.send(frame).is_err()
                {
                    return;
                }
            }
        }
    });
    Ok((rx, reader))
}

struct Target<'a> {
    name: &'a str,
    webhook: String,
    stream: String,
    secret: &'a str,
    token: Option<&'a str>,
}

/// Post each event, wait for it on the stream, pause; then check nothing
/// else arrives.
async fn drive(
    client: &reqwest::Client,
    target: Target<'_>,
    events: &[Event],
    params: Params,
) -> anyhow::Result<Round> {
    let (mut frames, reader) = follow(client, &target.stream, target.token).await?;
    let mut latency = Recorder::new();
    let mut ids = HashSet::new();
    let (mut sent, mut received, mut lost, mut refused, mut unexpected, mut repeated) =
        (0, 0, 0, 0, 0, 0);
    let mut seen = |frame: &Frame, repeated: &mut usize| {
        if let Some(id) = &frame.id
            && !ids.insert(id.clone())
        {
            *repeated += 1;
        }
    };
    let deadline = Instant::now() + params.budget;
    let mut stopped_by_budget = false;
    for event in events {
        if Instant::now() >= deadline {
            stopped_by_budget = true;
            break;
        }
        while let Ok(stray) = frames.try_recv() {
            seen(&stray, &mut repeated);
            unexpected += 1;
        }
        let t0 = Instant::now();
        let answer = client
            .post(&target.webhook)
            .header(CONTENT_TYPE, "application/json")
            .header(SECRET_HEADER, target.secret)
            .timeout(params.wait)
            .body(event.body.clone())
            .send()
            .await;
        let ok = match answer {
            Ok(answer) => {
                let status = answer.status();
                answer.bytes().await.is_ok() && status.is_success()
            }
            Err(_) => false,
        };
        if !ok {
            refused += 1;
            continue;
        }
        sent += 1;
        let until = tokio::time::Instant::from_std(t0 + params.wait);
        loop {
            match tokio::time::timeout_at(until, frames.recv()).await {
                Ok(Some(frame)) => {
                    seen(&frame, &mut repeated);
                    if frame.call_ids.contains(&event.call_id) {
                        latency.record(frame.at.saturating_duration_since(t0));
                        received += 1;
                        break;
                    }
                    unexpected += 1;
                }
                Ok(None) => {
                    reader.abort();
                    bail!("{}: the stream ended", target.name);
                }
                Err(_) => {
                    lost += 1;
                    break;
                }
            }
        }
        tokio::time::sleep(params.pause).await;
    }
    // Anything still arriving is a duplicate or a stray.
    tokio::time::sleep(Duration::from_millis(100)).await;
    while let Ok(stray) = frames.try_recv() {
        seen(&stray, &mut repeated);
        unexpected += 1;
    }
    reader.abort();
    Ok(Round {
        sent,
        received,
        lost,
        refused,
        unexpected,
        repeated_ids: repeated,
        latency,
        stopped_by_budget,
    })
}

/// One round on a fresh bare baseline.
async fn bare_round(
    client: &reqwest::Client,
    name: &str,
    nodelay: bool,
    params: Params,
) -> anyhow::Result<Round> {
    let extension: u32 = AGENT_EXTENSION.parse()?;
    let events = workload::flatten(&workload::mix(params.events, &[extension]));
    let server = harness::bare_live(nodelay).await?;
    let target = Target {
        name,
        webhook: format!("{}{WEBHOOK_PATH}", server.url),
        stream: format!("{}{STREAM_PATH}", server.url),
        secret: "",
        token: None,
    };
    let round = drive(client, target, &events, params).await;
    server.stop().await;
    round
}

/// One round on a fresh hub, as the agent at 203.
async fn hub_round(client: &reqwest::Client, params: Params) -> anyhow::Result<Round> {
    let extension: u32 = AGENT_EXTENSION.parse()?;
    let events = workload::flatten(&workload::mix(params.events, &[extension]));
    let server = HubUnderTest::start().await?;
    let target = Target {
        name: "hub",
        webhook: format!("{}{WEBHOOK_PATH}", server.server.url),
        stream: format!("{}{STREAM_PATH}", server.server.url),
        secret: &server.secret,
        token: Some(&server.token),
    };
    let round = drive(client, target, &events, params).await;
    server.stop().await;
    round
}

/// Measure the baselines and the hub in turn, `rounds` times, with the same
/// client code and the same kind of calls (fresh call ids each time), all at
/// extension 203.
pub async fn bench(params: Params) -> anyhow::Result<Report> {
    let client = harness::client(2)?;
    let mut bare = Side::new("bare axum, TCP_NODELAY");
    let mut bare_nagle = Side::new("bare axum, default sockets");
    let mut hub = Side::new("hub");
    for _ in 0..params.rounds.max(1) {
        bare.add(bare_round(&client, &bare.name.clone(), true, params).await?);
        bare_nagle.add(bare_round(&client, &bare_nagle.name.clone(), false, params).await?);
        hub.add(hub_round(&client, params).await?);
    }
    Ok(Report {
        params,
        p50_ratio: ratio(hub.latency.p50_us as f64, bare.latency.p50_us as f64),
        p99_ratio: ratio(hub.latency.p99_us as f64, bare.latency.p99_us as f64),
        hub,
        bare,
        bare_nagle,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_name_their_call_ids() {
        let at = Instant::now();
        let raw = parse_frame("id: 7\nevent: call\ndata: {\"callId\":\"42.1\"}\n\n", at).unwrap();
        assert_eq!(
            (raw.id.as_deref(), raw.call_ids),
            (Some("7"), vec!["42.1".to_string()])
        );
        let update = parse_frame(
            "event: call\ndata: {\"seq\":3,\"call\":{\"provider_call_id\":\"42\",\
             \"legs\":[{\"provider_call_id\":\"42\"},{\"provider_call_id\":\"42.1\"}]}}\n\n",
            at,
        )
        .unwrap();
        assert_eq!(update.call_ids, ["42", "42", "42.1"]);
        assert!(parse_frame(": keep-alive\n\n", at).is_none());
    }
}
