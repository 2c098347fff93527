//! The servers under test, all on `127.0.0.1:0`: a real hub (SQLite journal
//! in a temp dir with `synchronous=FULL`, the demo address book, the Gamma
//! emulator as the PBX, served by [`ringside_hub::run`] with its connection
//! cap) and the bare axum baselines the hub is compared with.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::StatusCode;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::routing::{get, post};
use axum::serve::ListenerExt;
use futures::Stream;
use ringside_addressbook::AddressBook;
use ringside_core::{Sensitive, SystemClock};
use ringside_engine::{Engine, EngineConfig};
use ringside_gamma::GammaClient;
use ringside_gamma_emulator::{Emulator, EmulatorConfig, EmulatorHandle};
use ringside_hub::{Agent, AppState, Limits, WebhookAuth};
use ringside_journal::Journal;
use tokio::net::TcpListener;
use tokio::sync::{broadcast, oneshot};
use tokio::task::JoinHandle;
use tokio_stream::StreamExt;
use tokio_stream::wrappers::BroadcastStream;

/// The webhook secret header (the hub's default).
pub const SECRET_HEADER: &str = "X-Ringside-Secret";
/// The extension of the benchmark's agent.
pub const AGENT_EXTENSION: &str = "203";
/// The path both intake servers answer on.
pub const WEBHOOK_PATH: &str = "/webhooks/gamma";
/// The stream path of the hub and of the live baseline.
pub const STREAM_PATH: &str = "/api/v1/stream";
/// Largest body the baselines accept, as the hub's default.
pub const MAX_BODY: usize = 64 * 1024;
/// The hub's default connection cap.
const MAX_CONNECTIONS: usize = 512;

/// A server running on a task until stopped.
pub struct Served {
    /// `http://127.0.0.1:PORT`
    pub url: String,
    stop: Option<oneshot::Sender<()>>,
    task: JoinHandle<()>,
}

impl Served {
    async fn start(
        serve: impl FnOnce(TcpListener, oneshot::Receiver<()>) -> JoinHandle<()>,
    ) -> anyhow::Result<Served> {
        let listener = TcpListener::bind(("127.0.0.1", 0)).await?;
        let url = format!("http://{}", listener.local_addr()?);
        let (stop, stopping) = oneshot::channel();
        let task = serve(listener, stopping);
        Ok(Served {
            url,
            stop: Some(stop),
            task,
        })
    }

    /// Stop gracefully, giving open connections up to five seconds.
    pub async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if tokio::time::timeout(Duration::from_secs(5), &mut self.task)
            .await
            .is_err()
        {
            self.task.abort();
        }
    }
}

/// A real hub and what it is made of.
pub struct HubUnderTest {
    pub server: Served,
    pub state: AppState,
    /// The webhook secret Gamma would send.
    pub secret: String,
    /// The bearer token of the agent at [`AGENT_EXTENSION`].
    pub token: String,
    _emulator: EmulatorHandle,
    _dir: tempfile::TempDir,
}

impl HubUnderTest {
    /// Build and serve a hub as `ringside-hub` does from its config.
    pub async fn start() -> anyhow::Result<HubUnderTest> {
        let dir = tempfile::tempdir().context("creating the hub's temp dir")?;
        let config = EngineConfig::default();
        let journal_path = dir.path().join("journal.sqlite");
        let book_path = dir.path().join("contacts.sqlite");
        let plan = config.plan.clone();
        let (journal, book) = tokio::task::spawn_blocking(move || {
            let journal = Journal::open(&journal_path)?;
            let book = AddressBook::open(&book_path, plan)?;
            book.load_demo()?;
            Ok::<_, ringside_core::Error>((journal, book))
        })
        .await??;
        let emulator_config = EmulatorConfig::default();
        let key = emulator_config.api_key.clone();
        let emulator = Emulator::start(emulator_config).await?;
        let pbx = GammaClient::new(&emulator.base_url(), Sensitive::new(key))?;
        let engine = Engine::new(
            config,
            journal,
            Arc::new(book),
            Arc::new(pbx),
            Arc::new(SystemClock),
        );
        let secret = "bench-webhook-secret-0123456789ab".to_string();
        let token = "bench-agent-token-203-0123456789ab".to_string();
        let webhook = WebhookAuth::new(Sensitive::new(secret.clone()), SECRET_HEADER)?;
        let agents = vec![Agent {
            name: "Tony Manero".into(),
            extension: AGENT_EXTENSION.into(),
            token: Sensitive::new(token.clone()),
        }];
        let state = AppState::new(engine, webhook, agents, Limits::default())?;
        let served_state = state.clone();
        let server = Served::start(move |listener, stopping| {
            tokio::spawn(async move {
                let shutdown = async move {
                    let _ = stopping.await;
                };
                if let Err(e) =
                    ringside_hub::run(listener, served_state, MAX_CONNECTIONS, shutdown).await
                {
                    eprintln!("bench hub failed: {e}");
                }
            })
        })
        .await?;
        Ok(HubUnderTest {
            server,
            state,
            secret,
            token,
            _emulator: emulator,
            _dir: dir,
        })
    }

    /// How many raw events the journal holds.
    pub async fn journaled(&self) -> anyhow::Result<u64> {
        Ok(self
            .state
            .engine
            .journal()
            .read(|q| q.event_count())
            .await?)
    }

    pub async fn stop(self) {
        self.server.stop().await;
    }
}

/// Serve `app` as `axum::serve` does by default (Nagle on, like the hub's
/// `run`), or with `TCP_NODELAY` on every accepted connection.
async fn serve(listener: TcpListener, app: Router, nodelay: bool, stopping: oneshot::Receiver<()>) {
    let shutdown = async move {
        let _ = stopping.await;
    };
    let listener = listener.tap_io(move |tcp| {
        if nodelay && let Err(e) = tcp.set_nodelay(true) {
            eprintln!("bench baseline: cannot set TCP_NODELAY: {e}");
        }
    });
    if let Err(e) = axum::serve(listener, app)
        .with_graceful_shutdown(shutdown)
        .await
    {
        eprintln!("bench baseline failed: {e}");
    }
}

/// The intake baseline: accepts the POST (64 KiB limit), parses the JSON
/// and answers 200 — everything but authentication, journal and fold.
pub async fn bare_intake() -> anyhow::Result<Served> {
    async fn accept(body: Bytes) -> StatusCode {
        match serde_json::from_slice::<serde_json::Value>(&body) {
            Ok(_) => StatusCode::OK,
            Err(_) => StatusCode::BAD_REQUEST,
        }
    }
    let app = Router::new()
        .route(WEBHOOK_PATH, post(accept))
        .layer(DefaultBodyLimit::max(MAX_BODY));
    Served::start(|listener, stopping| tokio::spawn(serve(listener, app, false, stopping))).await
}

/// The live baseline: a POST puts the body on a broadcast channel and an SSE
/// endpoint forwards it as `event: call` — the shortest webhook-to-stream path.
/// `nodelay` sets `TCP_NODELAY` on its connections (axum's default and the
/// hub leave Nagle's algorithm on).
pub async fn bare_live(nodelay: bool) -> anyhow::Result<Served> {
    #[derive(Clone)]
    struct Feed(
        broadcast::Sender<(u64, String)>,
        Arc<std::sync::atomic::AtomicU64>,
    );

    async fn publish(State(feed): State<Feed>, body: Bytes) -> StatusCode {
        let Ok(text) = String::from_utf8(body.to_vec()) else {
            return StatusCode::BAD_REQUEST;
        };
        let seq = feed.1.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
        let _ = feed.0.send((seq, text));
        StatusCode::OK
    }

    async fn stream(
        State(feed): State<Feed>,
    ) -> Sse<impl Stream<Item = Result<Event, Infallible>>> {
        let events = BroadcastStream::new(feed.0.subscribe()).filter_map(|item| {
            item.ok().map(|(seq, body)| {
                Ok(Event::default()
                    .id(seq.to_string())
                    .event("call")
                    .data(body))
            })
        });
        Sse::new(events).keep_alive(KeepAlive::new().interval(Duration::from_secs(15)))
    }

    let feed = Feed(
        broadcast::channel(1024).0,
        Arc::new(std::sync::atomic::AtomicU64::new(0)),
    );
    let app = Router::new()
        .route(WEBHOOK_PATH, post(publish))
        .route(STREAM_PATH, get(stream))
        .layer(DefaultBodyLimit::max(MAX_BODY))
        .with_state(feed);
    Served::start(move |listener, stopping| tokio::spawn(serve(listener, app, nodelay, stopping)))
        .await
}

/// The HTTP client every benchmark uses: keep-alive, no proxy, no overall
/// time limit (the SSE stream is long-lived; requests set their own).
pub fn client(connections: usize) -> anyhow::Result<reqwest::Client> {
    Ok(reqwest::Client::builder()
        .no_proxy()
        .pool_max_idle_per_host(connections.max(1))
        .tcp_nodelay(true)
        .connect_timeout(Duration::from_secs(5))
        .build()?)
}
