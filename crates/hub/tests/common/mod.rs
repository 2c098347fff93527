//! A hub for tests: real SQLite files in a temp dir, the real Gamma emulator
//! as the PBX, the real router; either driven with `oneshot` or served on
//! `127.0.0.1:0`.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::connect_info::MockConnectInfo;
use axum::http::{Request, StatusCode};
use ringside_addressbook::AddressBook;
use ringside_core::{Call, NumberPlan, Sensitive, SystemClock};
use ringside_engine::{Engine, EngineConfig};
use ringside_gamma::GammaClient;
use ringside_gamma_emulator::{DialProgress, Emulator, EmulatorConfig, EmulatorHandle};
use ringside_hub::server::PeerAddr;
use ringside_hub::{Agent, AppState, Limits, WebhookAuth, app};
use ringside_journal::Journal;
use serde_json::Value;
use tempfile::TempDir;
use tokio::sync::oneshot;
use tower::ServiceExt;

pub const SECRET: &str = "test-webhook-secret-0123456789";
pub const SECRET_HEADER: &str = "X-Ringside-Secret";
pub const TOKEN_203: &str = "token-of-tony-203";
pub const TOKEN_201: &str = "token-of-gines-201";
pub const WEBHOOK: &str = "/webhooks/gamma";

pub struct TestHub {
    pub dir: TempDir,
    pub emulator: EmulatorHandle,
    pub gamma: GammaClient,
    pub state: AppState,
    pub journal_path: PathBuf,
}

pub struct Served {
    pub addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl Served {
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    pub async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        let _ = tokio::time::timeout(Duration::from_secs(10), &mut self.task).await;
    }
}

impl TestHub {
    pub async fn new() -> TestHub {
        Self::with(|_| {}, DialProgress::default()).await
    }

    pub async fn with(tune: impl FnOnce(&mut WebhookAuth), dial: DialProgress) -> TestHub {
        Self::with_limits(tune, dial, Limits::default()).await
    }

    pub async fn with_limits(
        tune: impl FnOnce(&mut WebhookAuth),
        dial: DialProgress,
        limits: Limits,
    ) -> TestHub {
        let dir = tempfile::tempdir().unwrap();
        let emulator = Emulator::start(EmulatorConfig {
            dial,
            ..EmulatorConfig::default()
        })
        .await
        .unwrap();
        let journal_path = dir.path().join("journal.sqlite3");
        let journal = Journal::open(&journal_path).unwrap();
        let book =
            AddressBook::open(&dir.path().join("book.sqlite3"), NumberPlan::default()).unwrap();
        book.load_demo().unwrap();
        let gamma = GammaClient::new(
            &emulator.base_url(),
            Sensitive::new(emulator.api_key().to_string()),
        )
        .unwrap();
        let engine = Engine::new(
            EngineConfig::default(),
            journal,
            Arc::new(book.clone()),
            Arc::new(gamma.clone()),
            Arc::new(SystemClock),
        );
        let mut auth = WebhookAuth::new(Sensitive::new(SECRET.into()), SECRET_HEADER).unwrap();
        tune(&mut auth);
        let agents = vec![
            Agent {
                name: "Tony Manero".into(),
                extension: "203".into(),
                token: Sensitive::new(TOKEN_203.into()),
            },
            Agent {
                name: "Gines Gomez".into(),
                extension: "201".into(),
                token: Sensitive::new(TOKEN_201.into()),
            },
        ];
        let state = AppState::new(engine, auth, agents, limits)
            .unwrap()
            .with_address_book(book);
        TestHub {
            dir,
            emulator,
            gamma,
            state,
            journal_path,
        }
    }

    /// The router as seen from a client at 127.0.0.1.
    pub fn app(&self) -> Router {
        self.app_from(SocketAddr::from(([127, 0, 0, 1], 40000)))
    }

    pub fn app_from(&self, peer: SocketAddr) -> Router {
        app(self.state.clone()).layer(MockConnectInfo(PeerAddr(peer)))
    }

    /// Serve on 127.0.0.1:0.
    pub async fn serve(&self) -> Served {
        self.serve_capped(64).await
    }

    /// Serve on 127.0.0.1:0 with at most `max_connections` connections.
    pub async fn serve_capped(&self, max_connections: usize) -> Served {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(ringside_hub::run(
            listener,
            self.state.clone(),
            max_connections,
            async move {
                let _ = stopped.await;
            },
        ));
        Served {
            addr,
            stop: Some(stop),
            task,
        }
    }

    /// Serve, and point the emulator's event callback at this hub with the
    /// real `configure` request.
    pub async fn serve_and_configure(&self) -> Served {
        let served = self.serve().await;
        ringside_hub::hub::configure_gamma(&self.gamma, &served.url(WEBHOOK), &self.state.webhook)
            .await
            .unwrap();
        served
    }

    pub async fn event_count(&self) -> u64 {
        self.state
            .engine
            .journal()
            .read(|q| q.event_count())
            .await
            .unwrap()
    }

    /// POST a body to the webhook through `oneshot`.
    pub async fn post_event(
        &self,
        body: impl Into<Body>,
        secret: Option<&str>,
    ) -> (StatusCode, Value) {
        let mut req = Request::post(WEBHOOK).header("content-type", "application/json");
        if let Some(secret) = secret {
            req = req.header(SECRET_HEADER, secret);
        }
        send(self.app(), req.body(body.into()).unwrap()).await
    }

    /// POST every event of a JSON-array scenario, asserting each is accepted.
    pub async fn post_all(&self, scenario: &str) {
        for body in ringside_gamma::seed::bodies(scenario).unwrap() {
            let (status, json) = self.post_event(body, Some(SECRET)).await;
            assert_eq!(status, StatusCode::OK, "{json}");
        }
    }

    /// The agent API as `token`.
    pub async fn api(
        &self,
        method: &str,
        path: &str,
        token: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let mut req = Request::builder()
            .method(method)
            .uri(path)
            .header("authorization", format!("Bearer {token}"));
        let body = match body {
            Some(json) => {
                req = req.header("content-type", "application/json");
                Body::from(json.to_string())
            }
            None => Body::empty(),
        };
        send(self.app(), req.body(body).unwrap()).await
    }

    /// The agent's calls (first page).
    pub async fn calls(&self, token: &str) -> Vec<Call> {
        let (status, json) = self
            .api("GET", "/api/v1/calls?limit=100", token, None)
            .await;
        assert_eq!(status, StatusCode::OK, "{json}");
        serde_json::from_value(json["calls"].clone()).unwrap()
    }

    /// Poll the call until `ok` holds (up to 10 s).
    pub async fn wait_call(&self, token: &str, id: &str, ok: impl Fn(&Call) -> bool) -> Call {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        loop {
            let (status, json) = self
                .api("GET", &format!("/api/v1/calls/{id}"), token, None)
                .await;
            if status == StatusCode::OK {
                let call: Call = serde_json::from_value(json["call"].clone()).unwrap();
                if ok(&call) {
                    return call;
                }
                if tokio::time::Instant::now() > deadline {
                    panic!("call {id} never reached the expected state: {call:#?}");
                }
            } else if tokio::time::Instant::now() > deadline {
                panic!("call {id}: {status} {json}");
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

pub async fn send(app: Router, req: Request<Body>) -> (StatusCode, Value) {
    let response = app.oneshot(req).await.unwrap();
    let status = response.status();
    let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
        .await
        .unwrap();
    let json = if bytes.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&bytes)
            .unwrap_or_else(|_| panic!("not JSON ({status}): {}", String::from_utf8_lossy(&bytes)))
    };
    (status, json)
}

/// Assert a JSON error body `{code, message}`.
pub fn assert_error(json: &Value, code: &str) {
    assert_eq!(json["code"], code, "{json}");
    assert!(
        json["message"].as_str().is_some_and(|m| !m.is_empty()),
        "no message: {json}"
    );
}
