//! Shared test helpers: a local callback receiver and request shortcuts.
#![allow(dead_code)]

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::routing::post;
use axum::{Json, Router};
use ringside_gamma_emulator::{Emulator, EmulatorConfig, EmulatorHandle};
use serde_json::Value;
use tokio::net::TcpListener;

/// One event the receiver got.
#[derive(Debug, Clone)]
pub struct Received {
    pub headers: HashMap<String, String>,
    pub query: Vec<(String, String)>,
    pub event: Value,
}

#[derive(Default)]
struct Inbox {
    received: Mutex<Vec<Received>>,
    in_flight: AtomicUsize,
    max_in_flight: AtomicUsize,
    delay: Mutex<Duration>,
}

/// A callback endpoint on 127.0.0.1:0 that keeps what it receives.
#[derive(Clone)]
pub struct Receiver {
    pub url: String,
    inbox: Arc<Inbox>,
}

async fn receive(
    State(inbox): State<Arc<Inbox>>,
    headers: HeaderMap,
    Query(query): Query<Vec<(String, String)>>,
    Json(event): Json<Value>,
) -> &'static str {
    let now = inbox.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
    inbox.max_in_flight.fetch_max(now, Ordering::SeqCst);
    let delay = *inbox.delay.lock().unwrap();
    tokio::time::sleep(delay).await;
    let headers = headers
        .iter()
        .map(|(n, v)| (n.as_str().to_owned(), v.to_str().unwrap().to_owned()))
        .collect();
    inbox.received.lock().unwrap().push(Received {
        headers,
        query,
        event,
    });
    inbox.in_flight.fetch_sub(1, Ordering::SeqCst);
    "ok"
}

impl Receiver {
    pub async fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let inbox = Arc::new(Inbox::default());
        let app = Router::new()
            .route("/vtcrm/callback", post(receive))
            .with_state(Arc::clone(&inbox));
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Self {
            url: format!("http://{addr}/vtcrm/callback"),
            inbox,
        }
    }

    /// Makes each answer take this long.
    pub fn slow_down(&self, delay: Duration) {
        *self.inbox.delay.lock().unwrap() = delay;
    }

    pub fn received(&self) -> Vec<Received> {
        self.inbox.received.lock().unwrap().clone()
    }

    pub fn max_in_flight(&self) -> usize {
        self.inbox.max_in_flight.load(Ordering::SeqCst)
    }

    /// Waits until `count` events arrived (panics after 5 s).
    pub async fn wait_for(&self, count: usize) -> Vec<Received> {
        for _ in 0..500 {
            let received = self.received();
            if received.len() >= count {
                return received;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        panic!("expected {count} events, got {:?}", self.received());
    }
}

/// The `state` of each event.
pub fn states(received: &[Received]) -> Vec<String> {
    received
        .iter()
        .map(|r| r.event["state"].as_str().unwrap_or("").to_owned())
        .collect()
}

/// An emulator with fast dialling: ring after 10 ms, answer after 30 ms.
pub async fn fast_emulator() -> EmulatorHandle {
    let mut config = EmulatorConfig::default();
    config.dial.ring_delay = Duration::from_millis(10);
    config.dial.answer_after = Some(Duration::from_millis(30));
    Emulator::start(config).await.unwrap()
}

/// Authorised requests against an emulator.
pub struct Api {
    pub client: reqwest::Client,
    pub base: String,
    pub key: String,
}

impl Api {
    pub fn new(emulator: &EmulatorHandle) -> Self {
        Self {
            client: reqwest::Client::new(),
            base: emulator.base_url(),
            key: emulator.api_key().to_owned(),
        }
    }

    pub async fn post(&self, method: &str, body: Value) -> (u16, Value) {
        let response = self
            .client
            .post(format!("{}/{method}", self.base))
            .header("Authorization", format!("VTCRM-Basic {}", self.key))
            .json(&body)
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    pub async fn get(&self, method: &str) -> (u16, Value) {
        let response = self
            .client
            .get(format!("{}/{method}", self.base))
            .header("Authorization", format!("VTCRM-Basic {}", self.key))
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }
}
