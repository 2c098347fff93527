//! `ringside-hub`: serve, check a config, store a secret, run the demo,
//! replay recorded events.

use std::io::Read;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use clap::{Parser, Subcommand};
use ringside_core::Sensitive;
use ringside_hub::config::{Config, SecretRef};
use ringside_hub::demo::{self, DemoOptions};
use ringside_hub::replay::{self, ReplayOptions};
use ringside_hub::{hub, secrets};
use tracing_subscriber::EnvFilter;

#[derive(Parser)]
#[command(
    name = "ringside-hub",
    version,
    about = "The headless Ringside server: Gamma webhook, agent API, live call stream"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum AmoCommand {
    /// Exchange the integration's authorisation code (valid 20 minutes;
    /// read from stdin) and store the refresh token in the keyring entry
    /// named by `crm.amocrm.refresh_token`.
    Connect {
        #[arg(long, short, default_value = "ringside.toml")]
        config: PathBuf,
    },
}

#[derive(Subcommand)]
enum ZohoCommand {
    /// Authorise Ringside in the browser (loopback redirect) and store the
    /// refresh token in the keyring entry named by `crm.zoho.refresh_token`.
    Connect {
        #[arg(long, short, default_value = "ringside.toml")]
        config: PathBuf,
        /// The loopback port of the redirect (register
        /// `http://127.0.0.1:PORT/zoho/callback` with the Zoho client).
        #[arg(long, default_value_t = 8765)]
        port: u16,
    },
    /// Enable PhoneBridge for the Zoho account and register this hub's
    /// click-to-call and hang-up URLs (`server.public_url`).
    Setup {
        #[arg(long, short, default_value = "ringside.toml")]
        config: PathBuf,
    },
}

#[derive(Subcommand)]
enum Command {
    /// Run the hub.
    Serve {
        /// The config file.
        #[arg(long, short, default_value = "ringside.toml")]
        config: PathBuf,
    },
    /// Validate a config file, resolve its secrets and print a summary (no secret values).
    CheckConfig {
        #[arg(long, short, default_value = "ringside.toml")]
        config: PathBuf,
    },
    /// Manage secrets in the OS keyring (service "ringside").
    Secret {
        #[command(subcommand)]
        command: SecretCommand,
    },
    /// Zoho CRM: first-time authorisation, PhoneBridge setup.
    Zoho {
        #[command(subcommand)]
        command: ZohoCommand,
    },
    /// amoCRM: exchange an authorisation code for the first tokens.
    Amocrm {
        #[command(subcommand)]
        command: AmoCommand,
    },
    /// Run a self-contained demo: emulated Gamma PBX → real hub, with printed call updates.
    Demo {
        /// Where the hub listens.
        #[arg(long, default_value = "127.0.0.1:8700")]
        listen: SocketAddr,
        /// Playback speed of the demo script (1.0 = real time).
        #[arg(long, default_value_t = 1.0)]
        speed: f64,
        /// How many times to play the script (default: until Ctrl-C).
        #[arg(long)]
        loops: Option<u64>,
        /// Keep the journal and address book here (default: a fresh temporary directory).
        #[arg(long)]
        data_dir: Option<PathBuf>,
        /// Log the calls to an emulated Vtiger too (and look contacts up there).
        #[arg(long)]
        vtiger: bool,
    },
    /// Post the events of JSON-array files to a hub's webhook, in order.
    Replay {
        /// The webhook URL.
        #[arg(long, default_value = "http://127.0.0.1:8700/webhooks/gamma")]
        url: String,
        /// The environment variable holding the webhook secret.
        #[arg(long)]
        secret_env: String,
        /// The header carrying the secret.
        #[arg(long, default_value = "X-Ringside-Secret")]
        secret_header: String,
        /// JSON files, each an array of events.
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
}

#[derive(Subcommand)]
enum SecretCommand {
    /// Read a secret from stdin and store it under ENTRY (use it as `{ keyring = "ENTRY" }`).
    Set { entry: String },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| EnvFilter::new(default_filter(&cli.command))),
        )
        .with_writer(std::io::stderr)
        .init();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli.command)) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn default_filter(command: &Command) -> &'static str {
    match command {
        // The demo's own lines are the show; keep logs to warnings.
        Command::Demo { .. } => "warn",
        _ => "info,tower_http=warn",
    }
}

async fn run(command: Command) -> anyhow::Result<ExitCode> {
    match command {
        Command::Serve { config } => {
            let config = Config::load(&config)?;
            hub::serve(config, shutdown_signal()).await?;
            Ok(ExitCode::SUCCESS)
        }
        Command::CheckConfig { config } => check_config(&config).await,
        Command::Secret {
            command: SecretCommand::Set { entry },
        } => {
            let mut value = String::new();
            std::io::stdin()
                .read_to_string(&mut value)
                .context("reading the secret from stdin")?;
            let value = Sensitive::new(value.trim_end_matches(['\r', '\n']).to_string());
            if value.expose().trim().is_empty() {
                anyhow::bail!("no secret on stdin");
            }
            let name = entry.clone();
            tokio::task::spawn_blocking(move || secrets::keyring_set(&name, &value))
                .await
                .context("keyring task")??;
            println!(
                "stored keyring entry {entry:?} (service {:?}); refer to it as {{ keyring = \"{entry}\" }}",
                secrets::KEYRING_SERVICE
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::Amocrm {
            command: AmoCommand::Connect { config },
        } => {
            let config = Config::load(&config)?;
            let a = config
                .crm
                .amocrm
                .as_ref()
                .context("the config has no [crm.amocrm] section")?;
            let (
                Some(client_id),
                Some(secret),
                Some(redirect_uri),
                Some(ringside_hub::SecretRef::Keyring(entry)),
            ) = (
                &a.client_id,
                &a.client_secret,
                &a.redirect_uri,
                &a.refresh_token,
            )
            else {
                anyhow::bail!(
                    "`amocrm connect` needs OAuth settings: client_id, client_secret, redirect_uri and refresh_token = {{ keyring = \"...\" }}"
                );
            };
            let secret = ringside_hub::secrets::resolve(secret)
                .await
                .context("crm.amocrm.client_secret")?;
            let mut code = String::new();
            std::io::stdin()
                .read_to_string(&mut code)
                .context("reading the authorisation code from stdin")?;
            let code = Sensitive::new(code.trim().to_string());
            if code.expose().is_empty() {
                anyhow::bail!("no authorisation code on stdin");
            }
            let tokens = ringside_amocrm::exchange_code(
                &a.base_url,
                client_id,
                &secret,
                redirect_uri,
                &code,
                &ringside_crm::Throttle::new(&a.limits),
            )
            .await?;
            let name = entry.clone();
            let refresh = tokens.refresh_token.clone();
            tokio::task::spawn_blocking(move || secrets::keyring_set(&name, &refresh))
                .await
                .context("keyring task")??;
            println!("amoCRM connected; the refresh token is in keyring entry {entry:?}.");
            Ok(ExitCode::SUCCESS)
        }
        Command::Zoho {
            command: ZohoCommand::Connect { config, port },
        } => {
            let config = Config::load(&config)?;
            let z = config
                .crm
                .zoho
                .as_ref()
                .context("the config has no [crm.zoho] section")?;
            let ringside_hub::SecretRef::Keyring(entry) = &z.refresh_token else {
                anyhow::bail!(
                    "crm.zoho.refresh_token must be {{ keyring = \"...\" }} for `zoho connect` to store it"
                );
            };
            let secret = ringside_hub::secrets::resolve(&z.client_secret)
                .await
                .context("crm.zoho.client_secret")?;
            let token = ringside_hub::zoho::connect(
                &z.accounts_url,
                &z.client_id,
                &secret,
                std::net::SocketAddr::from(([127, 0, 0, 1], port)),
                |start| {
                    println!(
                        "The Zoho client must allow the redirect URI {}",
                        start.redirect_uri
                    );
                    println!(
                        "Open this page, sign in to Zoho and accept:\n\n  {}\n",
                        start.authorize_url
                    );
                },
            )
            .await?;
            let name = entry.clone();
            tokio::task::spawn_blocking(move || secrets::keyring_set(&name, &token))
                .await
                .context("keyring task")??;
            println!("Zoho connected; the refresh token is in keyring entry {entry:?}.");
            Ok(ExitCode::SUCCESS)
        }
        Command::Zoho {
            command: ZohoCommand::Setup { config },
        } => {
            let config = Config::load(&config)?;
            let public_url = config
                .server
                .public_url
                .clone()
                .context("`zoho setup` needs server.public_url (the URLs Zoho calls)")?;
            let specs = ringside_hub::crms::specs_from_config(&config).await?;
            let crms = ringside_hub::crms::assemble(&specs, &config.number_plan())?;
            let zoho = crms
                .zoho
                .clone()
                .context("the config has no [crm.zoho] section")?;
            let crm = crms.set.get("zoho")?;
            let done = zoho.setup(crm, &public_url).await?;
            println!("{done}");
            Ok(ExitCode::SUCCESS)
        }
        Command::Demo {
            listen,
            speed,
            loops,
            data_dir,
            vtiger,
        } => {
            if !(speed.is_finite() && speed > 0.0) {
                anyhow::bail!("--speed must be a positive number");
            }
            let options = DemoOptions {
                listen,
                speed,
                loops,
                data_dir,
                vtiger,
            };
            let out: demo::LineSink = Arc::new(|line: &str| println!("{line}"));
            demo::run(options, out, shutdown_signal()).await?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Replay {
            url,
            secret_env,
            secret_header,
            files,
        } => {
            let secret = secrets::resolve(&SecretRef::Env(secret_env)).await?;
            let options = ReplayOptions {
                url,
                secret_header,
                secret,
                files,
            };
            let posted = replay::replay(&options, |p| {
                println!(
                    "{} #{} → {} {}",
                    p.file.display(),
                    p.index,
                    p.status,
                    p.body.trim()
                );
            })
            .await?;
            let failed = posted
                .iter()
                .filter(|p| !(200..300).contains(&p.status))
                .count();
            println!("{} events posted, {failed} not accepted", posted.len());
            Ok(if failed == 0 {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            })
        }
    }
}

async fn check_config(path: &std::path::Path) -> anyhow::Result<ExitCode> {
    let config = Config::load(path)?;
    print!("{}", config.summary());
    let mut refs: Vec<(String, &SecretRef)> = vec![
        ("gamma.api_key".into(), &config.gamma.api_key),
        ("gamma.webhook_secret".into(), &config.gamma.webhook_secret),
    ];
    for agent in &config.agents {
        refs.push((format!("token of agent {:?}", agent.name), &agent.token));
    }
    let mut failed = 0;
    for (what, secret) in refs {
        match secrets::resolve(secret).await {
            Ok(_) => println!("secret {what}: resolved from {secret}"),
            Err(e) => {
                failed += 1;
                println!("secret {what}: NOT resolved: {}", e.message);
            }
        }
    }
    if failed == 0 {
        println!("config OK");
        Ok(ExitCode::SUCCESS)
    } else {
        println!("config has {failed} unresolved secret(s)");
        Ok(ExitCode::FAILURE)
    }
}

/// Resolves on Ctrl-C (or SIGTERM on Unix).
async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(e) = tokio::signal::ctrl_c().await {
            tracing::error!("cannot listen for Ctrl-C: {e}");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(e) => {
                tracing::error!("cannot listen for SIGTERM: {e}");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {}
        _ = terminate => {}
    }
}
