//! Ringside desktop: the agent's companion window (Tauri v2).
//!
//! One [`ringside_client::HubClient`] talks to a hub — the embedded one
//! (demo, or this agent's Gamma account) or a team's `ringside-hub` — and its
//! live feed drives the screen pop, notifications, the tray and the UI
//! (`docs/desktop-contract.md`). Tauri lives only here; the domain, the engine
//! and the hub know nothing of it.
//!
//! Code map: [`commands`] (thin IPC commands) → [`actions`] (use cases);
//! [`backend`] (connection per mode, live feed, status); [`pop`] (screen-pop
//! decisions and effects); [`notify`], [`tray`], [`shortcut`], [`deeplink`]
//! (`tel:` links, single instance); [`settings`] and [`secrets`] (keyring);
//! [`zoho`] (Zoho's browser consent on a loopback listener);
//! [`models`] (IPC types, exported to TypeScript with the `ts` feature).

pub mod actions;
pub mod backend;
pub mod cli;
pub mod commands;
pub mod deeplink;
pub mod error;
pub mod models;
pub mod notify;
pub mod pop;
pub mod secrets;
pub mod settings;
pub mod shortcut;
pub mod state;
pub mod tray;
pub mod zoho;

use tauri::{AppHandle, Manager, RunEvent, Runtime, WindowEvent};

pub use error::{CommandError, CommandResult};
pub use state::{AppState, Options};

/// The app's state and commands on any builder (the real one in [`run`], the
/// mock runtime's in tests). Plugins, tray and windows are added by [`run`].
pub fn app_builder<R: Runtime>(builder: tauri::Builder<R>, state: AppState) -> tauri::Builder<R> {
    builder.manage(state).invoke_handler(commands::handler())
}

/// Start the desktop app.
pub fn run() {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "info,ringside_desktop=debug".into()),
        )
        .try_init();

    let argv: Vec<String> = std::env::args().collect();
    let cli = cli::Cli::parse(&argv);
    let settings_path = cli.settings.clone().unwrap_or_else(settings::default_path);
    let settings = match settings::load(&settings_path) {
        Ok(s) => s,
        Err(e) => {
            // Keep the broken file as it is (the person may want to fix it); run on defaults.
            tracing::error!("{}; starting with default settings (demo)", e.message);
            models::Settings::default()
        }
    };
    let hotkey = settings.hotkey.clone();
    let autostart = settings.autostart;
    let state = AppState::new(
        settings_path,
        settings,
        cli.demo,
        secrets::Secrets::default(),
        Options::default(),
    );

    let builder = tauri::Builder::default()
        // First: a second launch hands its argv (a tel: link) to this instance and exits.
        .plugin(tauri_plugin_single_instance::init(
            |app, argv, _cwd| match deeplink::number_in_argv(&argv) {
                Some(number) => dial_from_outside(app, number),
                None => show_main(app),
            },
        ))
        .plugin(tauri_plugin_deep_link::init())
        .plugin(
            tauri_plugin_window_state::Builder::default()
                .with_state_flags(
                    tauri_plugin_window_state::StateFlags::SIZE
                        | tauri_plugin_window_state::StateFlags::POSITION
                        | tauri_plugin_window_state::StateFlags::MAXIMIZED,
                )
                .build(),
        )
        .plugin(tauri_plugin_autostart::Builder::new().build())
        .plugin(
            tauri_plugin_global_shortcut::Builder::new()
                .with_handler(shortcut::handle)
                .build(),
        )
        .plugin(tauri_plugin_clipboard_manager::init())
        .plugin(tauri_plugin_opener::init());

    app_builder(builder, state)
        .setup(move |app| {
            let handle = app.handle();
            if let Err(e) = tray::build(handle) {
                tracing::warn!("no tray icon ({e}); closing the main window will quit");
            }
            shortcut::apply(handle, hotkey.as_deref());
            actions::apply_autostart(handle, autostart);
            #[cfg(target_os = "macos")]
            {
                use tauri_plugin_deep_link::DeepLinkExt;
                let h = handle.clone();
                handle.deep_link().on_open_url(move |event| {
                    if let Some(n) = event
                        .urls()
                        .iter()
                        .find_map(|u| deeplink::parse_dial_link(u.as_str()))
                    {
                        dial_from_outside(&h, n);
                    }
                });
            }
            exit_on_signals(handle);
            let state = handle.state::<AppState>();
            state.set_pending_dial(cli.dial.clone());
            state.backend.restart(handle);
            Ok(())
        })
        .on_window_event(|window, event| {
            if let WindowEvent::CloseRequested { api, .. } = event {
                let app = window.app_handle();
                match window.label() {
                    // The pop closes like "dismiss".
                    "pop" => {
                        api.prevent_close();
                        actions::dismiss_pop(app, &app.state::<AppState>());
                    }
                    // With a tray, closing the main window keeps Ringside running.
                    "main" if app.tray_by_id("ringside").is_some() => {
                        api.prevent_close();
                        let _ = window.hide();
                    }
                    _ => {}
                }
            }
        })
        .build(tauri::generate_context!())
        .expect("error while building Ringside")
        .run(|app, event| {
            if let RunEvent::Exit = event {
                // Stop the embedded hub (and delete the demo's folder) before leaving.
                let state = app.state::<AppState>();
                tauri::async_runtime::block_on(state.backend.stop());
            }
        });
}

/// SIGTERM / SIGINT exit like "Quit" (so the embedded hub stops cleanly).
fn exit_on_signals<R: Runtime>(app: &AppHandle<R>) {
    #[cfg(unix)]
    {
        let app = app.clone();
        tauri::async_runtime::spawn(async move {
            use tokio::signal::unix::{SignalKind, signal};
            let (Ok(mut term), Ok(mut int)) = (
                signal(SignalKind::terminate()),
                signal(SignalKind::interrupt()),
            ) else {
                return;
            };
            tokio::select! {
                _ = term.recv() => {}
                _ = int.recv() => {}
            }
            app.exit(0);
        });
    }
    #[cfg(not(unix))]
    let _ = app;
}

/// Show, unminimise and focus the main window.
pub fn show_main<R: Runtime>(app: &AppHandle<R>) {
    if let Some(w) = app.get_webview_window("main") {
        let _ = w.show();
        let _ = w.unminimize();
        let _ = w.set_focus();
    }
}

/// Dial a number that came from outside the UI (a `tel:` link, the hotkey):
/// now when connected, else as soon as the connection is up.
pub fn dial_from_outside<R: Runtime>(app: &AppHandle<R>, number: String) {
    let app = app.clone();
    tauri::async_runtime::spawn(async move {
        let state = app.state::<AppState>();
        if state.backend.connection().is_err() {
            tracing::info!("not connected yet: will dial {number} once connected");
            state.set_pending_dial(Some(number));
            return;
        }
        if let Err(e) = actions::dial(&state, &number).await {
            tracing::warn!("dial {number}: {e}");
            let notice = notify::Notice {
                summary: format!("Cannot dial {}", notify::pretty_number(&number)),
                body: e.message,
            };
            if state.notifications_enabled() {
                let _ = notify::show(notice, || {}).await;
            }
        }
    });
}
