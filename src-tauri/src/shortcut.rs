//! The global hotkey (setting `hotkey`): dial the number on the clipboard.

use std::str::FromStr;

use tauri::{AppHandle, Manager, Runtime};
use tauri_plugin_clipboard_manager::ClipboardExt;
use tauri_plugin_global_shortcut::{GlobalShortcutExt, Shortcut, ShortcutEvent, ShortcutState};

/// Parse an accelerator such as `CmdOrCtrl+Shift+D`.
pub fn parse(text: &str) -> Result<Shortcut, String> {
    Shortcut::from_str(text).map_err(|e| format!("{text:?} is not a key combination ({e})"))
}

/// The plugin's handler: on key down, dial what the clipboard holds.
pub fn handle<R: Runtime>(app: &AppHandle<R>, _shortcut: &Shortcut, event: ShortcutEvent) {
    if event.state != ShortcutState::Pressed {
        return;
    }
    let text = match app.clipboard().read_text() {
        Ok(text) => text,
        Err(e) => {
            tracing::warn!("hotkey: cannot read the clipboard: {e}");
            return;
        }
    };
    match crate::deeplink::number_from_text(&text) {
        Some(number) => crate::dial_from_outside(app, number),
        None => tracing::info!("hotkey: no phone number on the clipboard"),
    }
}

/// Register `hotkey` as the only global shortcut (none for `None`).
pub fn apply<R: Runtime>(app: &AppHandle<R>, hotkey: Option<&str>) {
    let Some(shortcuts) = app.try_state::<tauri_plugin_global_shortcut::GlobalShortcut<R>>() else {
        return;
    };
    let _ = shortcuts.unregister_all();
    let Some(hotkey) = hotkey else {
        return;
    };
    match parse(hotkey) {
        Ok(s) => {
            if let Err(e) = app.global_shortcut().register(s) {
                tracing::warn!("cannot register the hotkey {hotkey}: {e}");
            }
        }
        Err(e) => tracing::warn!("{e}"),
    }
}
