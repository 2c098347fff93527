//! A real hub in-process (`embedded::start`, demo PBX, not playing) and a
//! TCP proxy that can cut the line between the client and the hub.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::StreamExt;
use ringside_client::{HubClient, LiveEvent, LiveFeed};
use ringside_gamma_emulator::Scenario;
use ringside_gamma_emulator::scenario::ScenarioBuilder;
use ringside_hub::embedded::{self, EmbeddedHub, EmbeddedOptions};
use tempfile::TempDir;
use tokio::net::{TcpListener, TcpStream};
use tokio::task::AbortHandle;

pub struct Demo {
    pub dir: TempDir,
    pub hub: EmbeddedHub,
    pub client: HubClient,
}

impl Demo {
    pub async fn start() -> Demo {
        let dir = tempfile::tempdir().unwrap();
        let hub = embedded::start(EmbeddedOptions::demo(dir.path().into(), false, 1.0))
            .await
            .unwrap();
        let client = HubClient::new(&hub.api_url, hub.token.clone()).unwrap();
        Demo { dir, hub, client }
    }

    /// Play `scenario` at full speed; every event must be accepted.
    pub async fn play(&self, scenario: &Scenario) {
        let emulator = self.hub.emulator.as_ref().unwrap();
        let statuses = emulator.play(scenario, 0.0).await.unwrap();
        assert!(statuses.iter().all(|s| *s == 200), "{statuses:?}");
    }

    /// The sequence numbers of 203's updates after `after`, from the journal.
    pub async fn seqs_after(&self, after: i64) -> Vec<i64> {
        self.hub
            .engine
            .updates_since(Some("203"), after, 1000)
            .await
            .unwrap()
            .iter()
            .map(|u| u.seq)
            .collect()
    }
}

/// A missed call from `number` ringing 203 (ringing, then ended).
pub fn missed(call_id: &str, number: &str) -> Scenario {
    ScenarioBuilder::new(chrono::Utc::now().timestamp_millis()).incoming_missed(
        call_id,
        number,
        203,
        Duration::from_millis(5),
    )
}

/// The feed's next event within `wait`.
pub async fn next(feed: &mut LiveFeed, wait: Duration) -> Option<LiveEvent> {
    tokio::time::timeout(wait, feed.next()).await.ok().flatten()
}

/// The next event, which must be `Connected`.
pub async fn connected(feed: &mut LiveFeed) {
    match next(feed, Duration::from_secs(10)).await {
        Some(LiveEvent::Connected) => {}
        other => panic!("expected Connected, got {other:?}"),
    }
}

/// Updates until `count` arrived; anything else is a failure.
pub async fn updates(feed: &mut LiveFeed, count: usize) -> Vec<ringside_client::api::CallUpdate> {
    let mut got = Vec::new();
    while got.len() < count {
        match next(feed, Duration::from_secs(10)).await {
            Some(LiveEvent::Update(update)) => got.push(update),
            other => panic!(
                "expected update {} of {count}, got {other:?}",
                got.len() + 1
            ),
        }
    }
    got
}

/// Forwards TCP connections to `target` until cut; while cut, it accepts
/// and closes at once (the hub looks gone, its port stays taken).
pub struct Proxy {
    pub addr: SocketAddr,
    up: Arc<AtomicBool>,
    open: Arc<Mutex<Vec<AbortHandle>>>,
    accept: AbortHandle,
}

impl Proxy {
    pub async fn start(target: SocketAddr) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let up = Arc::new(AtomicBool::new(true));
        let open: Arc<Mutex<Vec<AbortHandle>>> = Arc::default();
        let (up2, open2) = (up.clone(), open.clone());
        let accept = tokio::spawn(async move {
            loop {
                let Ok((mut inbound, _)) = listener.accept().await else {
                    return;
                };
                if !up2.load(Ordering::SeqCst) {
                    drop(inbound);
                    continue;
                }
                let task = tokio::spawn(async move {
                    if let Ok(mut outbound) = TcpStream::connect(target).await {
                        let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                    }
                });
                open2.lock().unwrap().push(task.abort_handle());
            }
        })
        .abort_handle();
        Proxy {
            addr,
            up,
            open,
            accept,
        }
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Drop every open connection and refuse new ones.
    pub fn cut(&self) {
        self.up.store(false, Ordering::SeqCst);
        for task in self.open.lock().unwrap().drain(..) {
            task.abort();
        }
    }

    pub fn restore(&self) {
        self.up.store(true, Ordering::SeqCst);
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.accept.abort();
        self.cut();
    }
}
