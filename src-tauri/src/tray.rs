//! The tray icon: connection status, missed calls, quick dial, open, quit.
//! Labels follow the `status` and `missed` changes ([`refresh`]).

use tauri::menu::{Menu, MenuEvent, MenuItem, PredefinedMenuItem};
use tauri::tray::TrayIconBuilder;
use tauri::{AppHandle, Emitter, Manager, Runtime};

use crate::models::{ConnState, ConnStatus, Navigate, View, events};
use crate::state::AppState;

/// The menu items whose text changes.
struct TrayItems<R: Runtime> {
    status: MenuItem<R>,
    missed: MenuItem<R>,
}

/// Build the tray. Fails when the platform has no tray (on Linux:
/// libayatana-appindicator3 missing); the app then runs without one.
pub fn build<R: Runtime>(app: &AppHandle<R>) -> tauri::Result<()> {
    let state = app.state::<AppState>();
    let status = MenuItem::with_id(
        app,
        "status",
        status_label(&state.status()),
        false,
        None::<&str>,
    )?;
    let missed = MenuItem::with_id(
        app,
        "missed",
        missed_label(state.missed()),
        true,
        None::<&str>,
    )?;
    let quick_dial = MenuItem::with_id(app, "quick-dial", "Quick dial…", true, None::<&str>)?;
    let open = MenuItem::with_id(app, "open", "Open Ringside", true, None::<&str>)?;
    let quit = MenuItem::with_id(app, "quit", "Quit", true, None::<&str>)?;
    let menu = Menu::with_items(
        app,
        &[
            &status,
            &missed,
            &PredefinedMenuItem::separator(app)?,
            &quick_dial,
            &open,
            &PredefinedMenuItem::separator(app)?,
            &quit,
        ],
    )?;
    let mut tray = TrayIconBuilder::with_id("ringside")
        .menu(&menu)
        .tooltip("Ringside")
        .on_menu_event(on_menu_event);
    if let Some(icon) = app.default_window_icon() {
        tray = tray.icon(icon.clone());
    }
    tray.build(app)?;
    app.manage(TrayItems { status, missed });
    Ok(())
}

fn on_menu_event<R: Runtime>(app: &AppHandle<R>, event: MenuEvent) {
    match event.id().as_ref() {
        "missed" => crate::pop::open_history(app, None),
        "quick-dial" => {
            crate::show_main(app);
            let _ = app.emit_to(
                "main",
                events::NAVIGATE,
                Navigate {
                    view: View::Contacts,
                    call_id: None,
                    focus_dial: true,
                },
            );
        }
        "open" => crate::show_main(app),
        "quit" => app.exit(0),
        _ => {}
    }
}

/// Update the labels from the current status and missed count.
pub fn refresh<R: Runtime>(app: &AppHandle<R>) {
    let Some(items) = app.try_state::<TrayItems<R>>() else {
        return;
    };
    let state = app.state::<AppState>();
    let status = state.status();
    let _ = items.status.set_text(status_label(&status));
    let _ = items.missed.set_text(missed_label(state.missed()));
    if let Some(tray) = app.tray_by_id("ringside") {
        let _ = tray.set_tooltip(Some(format!("Ringside — {}", status_label(&status))));
    }
}

pub fn status_label(status: &ConnStatus) -> String {
    match status.state {
        ConnState::Connecting => "Connecting…".into(),
        ConnState::Connected => "Connected".into(),
        ConnState::PbxUnreachable => "PBX unreachable".into(),
        ConnState::HubOffline => "Hub offline".into(),
    }
}

pub fn missed_label(missed: u64) -> String {
    match missed {
        0 => "No missed calls".into(),
        1 => "1 missed call".into(),
        n => format!("{n} missed calls"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels() {
        assert_eq!(
            status_label(&ConnStatus::new(ConnState::PbxUnreachable, None)),
            "PBX unreachable"
        );
        assert_eq!(
            status_label(&ConnStatus::new(ConnState::HubOffline, Some("x".into()))),
            "Hub offline"
        );
        assert_eq!(missed_label(0), "No missed calls");
        assert_eq!(missed_label(1), "1 missed call");
        assert_eq!(missed_label(3), "3 missed calls");
    }
}
