//! A hub in-process for one agent, without a config file: what the desktop
//! app runs in its demo and embedded modes, and what `ringside-hub demo`
//! is made of. There is one way to wire a hub in-process, and this is it.
//!
//! [`start`] opens the journal and the address book in `data_dir`, builds
//! the engine, and serves the agent API on `127.0.0.1` with a random agent
//! token. The PBX is either
//!
//! - [`EmbeddedPbx::Demo`]: a Gamma emulator with a random API key, the demo
//!   address book, and the emulator's event callback registered through the
//!   real [`GammaClient::configure`]; with `play`, the demo script (agent
//!   extension 203) loops in the background; or
//! - [`EmbeddedPbx::Gamma`]: the agent's real Gamma account, whose events
//!   arrive on a webhook-only server at `webhook_listen`.
//!
//! Nothing here prints; the demo's screen output lives in [`crate::demo`].

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use ringside_addressbook::AddressBook;
use ringside_core::{Error, MatchPolicy, NumberPlan, Result, Sensitive, SystemClock};
use ringside_engine::{Engine, EngineConfig};
use ringside_gamma::GammaClient;
use ringside_gamma_emulator::{EmitError, Emulator, EmulatorConfig, EmulatorHandle};
use ringside_journal::Journal;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::crms::{self, CrmSpec};
use crate::hub::{RECONCILE_EVERY, configure_gamma, random_secret};
use crate::server;
use crate::state::{Agent, AppState, Limits, WebhookAuth};
use ringside_crm::CrmSettings;
use ringside_vtiger::VtigerSettings;
use ringside_vtiger_emulator::{NewUser, OutgoingConfig, OutgoingMethod, VtigerEmulator};

/// The demo agent's extension (the demo script rings it).
pub const DEMO_EXTENSION: &str = "203";
/// The demo agent's name.
pub const DEMO_AGENT: &str = "Tony Manero";
/// The journal file name inside the data directory.
pub const JOURNAL_FILE: &str = "journal.sqlite3";
/// The address book file name inside the data directory.
pub const ADDRESS_BOOK_FILE: &str = "addressbook.sqlite3";
/// The header carrying the webhook secret.
pub const SECRET_HEADER: &str = "X-Ringside-Secret";
/// Connections each embedded server accepts at once.
const MAX_CONNECTIONS: usize = 64;
/// Longest pause between attempts to register the webhook with Gamma.
const CONFIGURE_RETRY_MAX: Duration = Duration::from_secs(60);

/// What to run.
#[derive(Debug, Clone)]
pub struct EmbeddedOptions {
    /// Where the journal and the address book live (created if missing).
    pub data_dir: PathBuf,
    pub agent_name: String,
    /// The agent's extension: its calls, its dials.
    pub extension: String,
    /// How the PBX account writes numbers (region, outside-line prefix).
    pub plan: NumberPlan,
    /// What a lookup does when several contacts match.
    pub match_policy: MatchPolicy,
    pub pbx: EmbeddedPbx,
    /// CRMs to log calls to and look contacts up in (secrets resolved).
    pub crms: Vec<CrmSpec>,
    /// Demo only: also run a Vtiger emulator with the demo data and log the
    /// demo's calls to it (the local address book then starts empty, so the
    /// pop shows Vtiger's contacts and Potentials).
    pub demo_vtiger: bool,
}

impl EmbeddedOptions {
    /// The demo agent (Tony Manero, 203, Spain) on an emulated PBX.
    pub fn demo(data_dir: PathBuf, play: bool, speed: f64) -> Self {
        Self {
            data_dir,
            agent_name: DEMO_AGENT.into(),
            extension: DEMO_EXTENSION.into(),
            plan: NumberPlan::default(),
            match_policy: MatchPolicy::default(),
            pbx: EmbeddedPbx::Demo { play, speed },
            crms: Vec::new(),
            demo_vtiger: false,
        }
    }
}

/// Which PBX the hub talks to.
#[derive(Debug, Clone)]
pub enum EmbeddedPbx {
    /// The Gamma emulator; `play` loops the demo script at `speed` (1.0 =
    /// real time).
    Demo { play: bool, speed: f64 },
    /// A real Gamma account.
    Gamma {
        /// The requests API, e.g. `https://config.work.oigaa.com/vtcrm/api`.
        base_url: String,
        api_key: Sensitive<String>,
        /// What Gamma must send in the `X-Ringside-Secret` header.
        webhook_secret: Sensitive<String>,
        /// Where the webhook (and nothing else) listens.
        webhook_listen: SocketAddr,
        /// The URL Gamma reaches the webhook listener at; `None`:
        /// `http://{webhook_listen}`.
        public_url: Option<String>,
        /// Register `{public_url}/webhooks/gamma` with Gamma at start.
        configure_on_start: bool,
    },
}

/// A running in-process hub.
pub struct EmbeddedHub {
    /// The hub's base URL, `http://127.0.0.1:PORT` (the API is under `/api/v1`).
    pub api_url: String,
    /// The agent's bearer token (random per start).
    pub token: Sensitive<String>,
    /// The emulated PBX (demo only): tests play scenarios on it and read the
    /// requests it received.
    pub emulator: Option<Arc<EmulatorHandle>>,
    /// The emulated Vtiger (demo with `demo_vtiger`): what it received.
    pub vtiger: Option<VtigerEmulator>,
    pub engine: Engine,
    pub address_book: AddressBook,
    /// What the servers share (tests end streams with `close_streams`).
    pub state: AppState,
    /// The URL the PBX posts events to.
    pub webhook_url: String,
    /// Why registering the webhook with Gamma failed at start, if it did
    /// (it is retried in the background until it succeeds).
    pub configure_error: Option<Error>,
    addr: SocketAddr,
    servers: Vec<Server>,
    background: Background,
}

impl std::fmt::Debug for EmbeddedHub {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EmbeddedHub")
            .field("api_url", &self.api_url)
            .field("webhook_url", &self.webhook_url)
            .field("demo", &self.emulator.is_some())
            .finish_non_exhaustive()
    }
}

/// Tasks that end with the hub: dropping the hub without
/// [`EmbeddedHub::shutdown`] aborts them (and its servers stop, their stop
/// signal being dropped).
struct Background(Vec<JoinHandle<()>>);

impl Drop for Background {
    fn drop(&mut self) {
        for task in &self.0 {
            task.abort();
        }
    }
}

struct Server {
    stop: oneshot::Sender<()>,
    task: JoinHandle<std::io::Result<()>>,
}

impl EmbeddedHub {
    /// Where the agent API listens.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Stop the demo player, the servers (ending open streams), the
    /// background tasks and the emulator.
    pub async fn shutdown(mut self) {
        let background = std::mem::take(&mut self.background.0);
        for task in &background {
            task.abort();
        }
        for task in background {
            let _ = task.await;
        }
        for server in self.servers {
            let _ = server.stop.send(());
            if tokio::time::timeout(Duration::from_secs(10), server.task)
                .await
                .is_err()
            {
                tracing::warn!("embedded hub: a server did not stop within 10 s");
            }
        }
        if let Some(emulator) = self.emulator
            && let Ok(emulator) = Arc::try_unwrap(emulator)
        {
            emulator.shutdown().await;
        }
    }
}

/// Start a hub for `options` with its agent API on `127.0.0.1`, any free port.
pub async fn start(options: EmbeddedOptions) -> Result<EmbeddedHub> {
    let listener = TcpListener::bind(("127.0.0.1", 0))
        .await
        .map_err(|e| Error::internal(format!("cannot listen on 127.0.0.1: {e}")))?;
    start_on(options, listener).await
}

/// Like [`start`], serving the agent API on `listener`.
pub async fn start_on(options: EmbeddedOptions, listener: TcpListener) -> Result<EmbeddedHub> {
    let addr = listener
        .local_addr()
        .map_err(|e| Error::internal(format!("listener without an address: {e}")))?;
    let demo = matches!(options.pbx, EmbeddedPbx::Demo { .. });
    let demo_vtiger = demo && options.demo_vtiger;
    let (journal, address_book) = open_storage(&options, demo && !demo_vtiger).await?;
    let mut specs = options.crms.clone();
    // A CRM that calls back (Zoho) and was given no public URL reaches this
    // hub's own listener.
    for spec in &mut specs {
        if let CrmSpec::Zoho {
            click_to_call: Some(c2c),
            ..
        } = spec
            && c2c.register_at.is_none()
        {
            c2c.register_at = Some(format!("http://{addr}"));
        }
    }
    let vtiger = if demo_vtiger {
        let (emulator, spec) = demo_vtiger_crm(&options.extension).await?;
        specs.push(spec);
        Some(emulator)
    } else {
        None
    };
    let mut crms = crms::assemble(&specs, &options.plan)?;

    let (gamma, emulator, webhook_secret) = match &options.pbx {
        EmbeddedPbx::Demo { .. } => {
            let api_key = random_secret();
            let emulator = Emulator::start(EmulatorConfig {
                api_key: api_key.expose().clone(),
                ..EmulatorConfig::default()
            })
            .await
            .map_err(|e| Error::internal(format!("starting the Gamma emulator: {e}")))?;
            let gamma = GammaClient::new(&emulator.base_url(), api_key)?;
            (gamma, Some(Arc::new(emulator)), random_secret())
        }
        EmbeddedPbx::Gamma {
            base_url,
            api_key,
            webhook_secret,
            ..
        } => (
            GammaClient::new(base_url, api_key.clone())?,
            None,
            webhook_secret.clone(),
        ),
    };

    let clock = Arc::new(SystemClock);
    let engine = Engine::new(
        EngineConfig {
            provider: ringside_gamma::PROVIDER.to_string(),
            plan: options.plan.clone(),
            match_policy: options.match_policy,
            ..EngineConfig::default()
        },
        journal.clone(),
        crms::contact_lookup(&crms.set, Some(address_book.clone())),
        Arc::new(gamma.clone()),
        clock.clone(),
    )
    .with_outbox(crms.set.hook());
    crms.set.start(&journal, clock);
    // Vtiger's "outgoing call" (its own click-to-call) dials through us.
    if let Some(vt) = &vtiger
        && let Some((_, c2c)) = crms.inbound.iter().find(|(n, _)| n == "vtiger")
        && let Some((param, token)) = &c2c.token
    {
        vt.set_outgoing(Some(OutgoingConfig {
            url: format!("http://{addr}/crm/vtiger/click-to-call"),
            method: OutgoingMethod::Post,
            username: None,
            password: None,
            params: vec![
                (c2c.number_param.clone(), "{{number}}".into()),
                (c2c.user_param.clone(), "{{user_id}}".into()),
                (param.clone(), token.expose().clone()),
            ],
        }));
    }
    let token = random_secret();
    let agent = Agent {
        name: options.agent_name.clone(),
        extension: options.extension.clone(),
        token: token.clone(),
    };
    let webhook = WebhookAuth::new(webhook_secret, SECRET_HEADER)?;
    let crm_setup = crms.spawn_setup();
    let state = AppState::new(engine.clone(), webhook, vec![agent], Limits::default())?
        .with_address_book(address_book.clone())
        .with_crms(crms);

    let mut servers = vec![serve(listener, server::app(state.clone()), &state)];
    // Both stop if a later step fails: their guards are dropped.
    let mut background = Background(vec![engine.spawn_reconciler(RECONCILE_EVERY)]);
    if let Some(task) = crm_setup {
        background.0.push(task);
    }
    let mut configure_error = None;

    let webhook_url = match &options.pbx {
        EmbeddedPbx::Demo { play, speed } => {
            let url = format!("http://{addr}{}", crate::webhook::PATH);
            // The real client registers the real webhook with the emulated PBX.
            configure_gamma(&gamma, &url, &state.webhook)
                .await
                .map_err(|e| e.context("configuring the emulator's event callback"))?;
            if let (true, Some(emulator)) = (*play, &emulator) {
                background
                    .0
                    .push(tokio::spawn(play_forever(emulator.clone(), *speed)));
            }
            url
        }
        EmbeddedPbx::Gamma {
            webhook_listen,
            public_url,
            configure_on_start,
            ..
        } => {
            let listener = TcpListener::bind(webhook_listen).await.map_err(|e| {
                Error::config(format!(
                    "cannot listen on {webhook_listen} for the webhook: {e}"
                ))
            })?;
            let bound = listener.local_addr().unwrap_or(*webhook_listen);
            servers.push(serve(listener, server::webhook_app(state.clone()), &state));
            let base = public_url
                .as_deref()
                .map(|u| u.trim_end_matches('/').to_string())
                .unwrap_or_else(|| format!("http://{bound}"));
            let url = format!("{base}{}", crate::webhook::PATH);
            if *configure_on_start
                && let Err(e) = configure_gamma(&gamma, &url, &state.webhook).await
            {
                tracing::warn!(
                    code = e.kind.code(),
                    "registering the webhook with Gamma failed: {e}"
                );
                background.0.push(tokio::spawn(configure_until_done(
                    gamma.clone(),
                    url.clone(),
                    state.webhook.clone(),
                )));
                configure_error = Some(e);
            }
            url
        }
    };

    Ok(EmbeddedHub {
        api_url: format!("http://{addr}"),
        token,
        emulator,
        vtiger,
        engine,
        address_book,
        state,
        webhook_url,
        configure_error,
        addr,
        servers,
        background,
    })
}

/// A Vtiger emulator with the demo data (and the demo agent as a user whose
/// Office Phone is `extension`), and the CRM spec pointing at it.
async fn demo_vtiger_crm(extension: &str) -> Result<(VtigerEmulator, CrmSpec)> {
    let config = ringside_vtiger_emulator::EmulatorConfig {
        gateway_secret: random_secret().expose().clone(),
        access_key: random_secret().expose().clone(),
        ..ringside_vtiger_emulator::EmulatorConfig::default()
    };
    let emulator = VtigerEmulator::start(config.clone())
        .await
        .map_err(|e| Error::internal(format!("starting the Vtiger emulator: {e}")))?;
    emulator.seed_demo();
    emulator.add_user(NewUser {
        user_name: "tony".into(),
        first_name: "Tony".into(),
        last_name: "Manero".into(),
        email: "tony@ringside.test".into(),
        phone_work: extension.into(),
        ..NewUser::default()
    });
    let settings = VtigerSettings::new(
        emulator.base_url(),
        config.username,
        config.access_key,
        config.gateway_secret,
    );
    let crm = CrmSettings {
        discover_users: true,
        delivery: ringside_crm::DeliverySettings {
            wrap_up_seconds: 2,
            ..ringside_crm::DeliverySettings::default()
        },
        ..CrmSettings::default()
    };
    let click_to_call = crms::ClickToCall {
        method: axum::http::Method::POST,
        number_param: "number".into(),
        user_param: "user".into(),
        basic: None,
        token: Some(("token".into(), random_secret())),
    };
    Ok((
        emulator,
        CrmSpec::Vtiger {
            settings,
            crm,
            click_to_call: Some(click_to_call),
        },
    ))
}

async fn open_storage(options: &EmbeddedOptions, demo: bool) -> Result<(Journal, AddressBook)> {
    let journal_path = options.data_dir.join(JOURNAL_FILE);
    let book_path = options.data_dir.join(ADDRESS_BOOK_FILE);
    let plan = options.plan.clone();
    let dir = options.data_dir.clone();
    tokio::task::spawn_blocking(move || {
        std::fs::create_dir_all(&dir).map_err(|e| {
            Error::storage(format!("creating data directory {}: {e}", dir.display()))
        })?;
        let journal = Journal::open(&journal_path)?;
        let book = AddressBook::open(&book_path, plan)?;
        if demo {
            book.load_demo()?;
        }
        Ok((journal, book))
    })
    .await
    .map_err(|e| Error::internal(format!("opening storage failed: {e}")))?
}

fn serve(listener: TcpListener, router: axum::Router, state: &AppState) -> Server {
    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(server::run_router(
        listener,
        router,
        state.clone(),
        MAX_CONNECTIONS,
        async move {
            let _ = stopped.await;
        },
    ));
    Server { stop, task }
}

/// Play the demo script once (its calls start now) on `emulator`; the first
/// call of a `first` loop rings at once. Returns the webhook's statuses.
pub async fn play_demo_script(
    emulator: &EmulatorHandle,
    speed: f64,
    first: bool,
) -> std::result::Result<Vec<u16>, EmitError> {
    let start_ms = chrono::Utc::now().timestamp_millis();
    let mut script = ringside_gamma_emulator::demo_script(start_ms);
    if first && let Some(step) = script.first_mut().and_then(|s| s.steps.first_mut()) {
        step.delay = step.delay.min(Duration::from_millis(300));
    }
    let mut statuses = Vec::new();
    for scenario in &script {
        statuses.extend(emulator.play(scenario, speed).await?);
    }
    Ok(statuses)
}

/// Loop the demo script until aborted.
async fn play_forever(emulator: Arc<EmulatorHandle>, speed: f64) {
    let mut first = true;
    loop {
        match play_demo_script(&emulator, speed, first).await {
            Ok(statuses) => {
                let rejected = statuses.iter().filter(|s| **s != 200).count();
                if rejected > 0 {
                    tracing::warn!(rejected, "demo: the hub rejected events");
                }
            }
            Err(e) => {
                tracing::warn!("demo: playing the script failed: {e}");
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        }
        first = false;
    }
}

/// Register the webhook with Gamma, retrying with capped backoff until it
/// works.
async fn configure_until_done(gamma: GammaClient, url: String, auth: Arc<WebhookAuth>) {
    let mut pause = Duration::from_secs(2);
    loop {
        tokio::time::sleep(pause).await;
        match configure_gamma(&gamma, &url, &auth).await {
            Ok(()) => {
                tracing::info!(%url, "Gamma posts events to this hub");
                return;
            }
            Err(e) => {
                tracing::warn!(
                    code = e.kind.code(),
                    "registering the webhook with Gamma failed: {e}"
                );
                pause = (pause * 2).min(CONFIGURE_RETRY_MAX);
            }
        }
    }
}
