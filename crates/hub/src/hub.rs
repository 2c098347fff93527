//! Wiring a hub from its configuration: secrets, storage, the Gamma client,
//! the engine, the reconciler and the server.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use ringside_addressbook::AddressBook;
use ringside_core::{Error, Result, Sensitive, SystemClock};
use ringside_engine::{Engine, EngineConfig};
use ringside_gamma::{Configure, GammaClient};
use ringside_journal::Journal;
use tokio::net::TcpListener;

use crate::config::Config;
use crate::crms;
use crate::secrets;
use crate::server;
use crate::state::{Agent, AppState, Limits, WebhookAuth};

/// How often the reconciler looks for calls whose end never arrived.
pub const RECONCILE_EVERY: Duration = Duration::from_secs(60);

/// Everything a running hub is made of.
pub struct Hub {
    pub state: AppState,
    pub gamma: GammaClient,
    pub address_book: AddressBook,
}

/// The engine settings from the config file.
pub fn engine_config(config: &Config) -> EngineConfig {
    EngineConfig {
        provider: ringside_gamma::PROVIDER.to_string(),
        plan: config.number_plan(),
        match_policy: config.engine.match_policy,
        reconcile_after: chrono::Duration::minutes(i64::from(
            config.engine.reconcile_after_minutes,
        )),
        recent_calls: config.engine.recent_calls,
        ..EngineConfig::default()
    }
}

/// Limits from the config file.
pub fn limits(config: &Config) -> Limits {
    Limits {
        max_body_bytes: config.server.max_body_bytes,
        request_timeout: Duration::from_secs(config.server.request_timeout_secs),
        ..Limits::default()
    }
}

/// Resolve the secrets, open the storage and build the engine.
pub async fn build(config: &Config) -> Result<Hub> {
    let api_key = secrets::resolve(&config.gamma.api_key)
        .await
        .map_err(|e| e.context("gamma.api_key"))?;
    let webhook_secret = secrets::resolve(&config.gamma.webhook_secret)
        .await
        .map_err(|e| e.context("gamma.webhook_secret"))?;
    let mut agents = Vec::with_capacity(config.agents.len());
    for agent in &config.agents {
        let token = secrets::resolve(&agent.token)
            .await
            .map_err(|e| e.context(format!("token of agent {:?}", agent.name)))?;
        agents.push(Agent {
            name: agent.name.clone(),
            extension: agent.extension.clone(),
            token,
        });
    }
    if agents.is_empty() {
        tracing::warn!("no [[agents]] configured: the agent API will refuse every request");
    }

    let mut webhook = WebhookAuth::new(webhook_secret, &config.gamma.secret_header)?;
    webhook.query_param = config.gamma.secret_query_param.clone();
    webhook.allowed = config.gamma.allowed_cidrs.clone();

    let journal_path = config.journal_path()?;
    let book_path = config.address_book_path()?;
    let plan = config.number_plan();
    let (journal, address_book) = tokio::task::spawn_blocking(move || {
        Ok::<_, Error>((
            Journal::open(&journal_path)?,
            AddressBook::open(&book_path, plan)?,
        ))
    })
    .await
    .map_err(|e| Error::internal(format!("opening storage failed: {e}")))??;

    let gamma = GammaClient::new(&config.gamma.base_url, api_key)?;
    let specs = crms::specs_from_config(config).await?;
    let mut crms = crms::assemble(&specs, &config.number_plan())?;
    let clock = Arc::new(SystemClock);
    let engine = Engine::new(
        engine_config(config),
        journal.clone(),
        crms::contact_lookup(&crms.set, Some(address_book.clone())),
        Arc::new(gamma.clone()),
        clock.clone(),
    )
    .with_outbox(crms.set.hook());
    crms.set.start(&journal, clock);
    // Zoho: enable PhoneBridge and register our click-to-call URLs (runs
    // until it succeeds; a Zoho outage at start does not stop the hub).
    if let Some(task) = crms.spawn_setup() {
        drop(task);
    }
    let state = AppState::new(engine, webhook, agents, limits(config))?
        .with_address_book(address_book.clone())
        .with_crms(crms);
    Ok(Hub {
        state,
        gamma,
        address_book,
    })
}

/// Ask Gamma to post events to `webhook_url` with the secret header (and
/// the secret query parameter, when configured).
pub async fn configure_gamma(
    gamma: &GammaClient,
    webhook_url: &str,
    auth: &WebhookAuth,
) -> Result<()> {
    let mut configure =
        Configure::new(webhook_url).header(auth.header.as_str(), auth.secret.clone());
    if let Some(param) = &auth.query_param {
        configure
            .events_callback_parameters
            .insert(param.clone(), auth.secret.expose().clone());
    }
    configure.validate()?;
    gamma.configure(&configure).await
}

/// Run a hub from `config` until `shutdown` resolves.
pub async fn serve(
    config: Config,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<()> {
    let hub = build(&config).await?;
    let listener = TcpListener::bind(config.server.listen)
        .await
        .map_err(|e| Error::config(format!("cannot listen on {}: {e}", config.server.listen)))?;
    if config.gamma.configure_on_start
        && let Some(url) = config.webhook_url()
    {
        configure_gamma(&hub.gamma, &url, &hub.state.webhook)
            .await
            .map_err(|e| e.context("configuring Gamma's event callback"))?;
        tracing::info!(%url, "Gamma posts events to this hub");
    }
    let reconciler = hub.state.engine.spawn_reconciler(RECONCILE_EVERY);
    tracing::info!(listen = %config.server.listen, "ringside-hub serving");
    let result = server::run(listener, hub.state, config.server.max_connections, shutdown)
        .await
        .map_err(|e| Error::internal(format!("server failed: {e}")));
    reconciler.abort();
    result
}

/// A random secret of 32 hex digits (demo webhook secrets and agent tokens).
pub fn random_secret() -> Sensitive<String> {
    use rand::RngCore;
    let mut bytes = [0u8; 16];
    rand::rng().fill_bytes(&mut bytes);
    Sensitive::new(bytes.iter().map(|b| format!("{b:02x}")).collect())
}
