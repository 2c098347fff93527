//! Tauri build script: generates the app's command permissions (`allow-<command>`)
//! so the capabilities in `capabilities/` can grant each window only what it needs.

fn main() {
    tauri_build::try_build(
        tauri_build::Attributes::new()
            .app_manifest(tauri_build::AppManifest::new().commands(COMMANDS)),
    )
    .expect("tauri build script failed");
}

/// Every command of docs/desktop-contract.md (keep in sync with `commands.rs`).
const COMMANDS: &[&str] = &[
    "app_state",
    "search_contacts",
    "create_contact",
    "list_calls",
    "call_detail",
    "lookup",
    "dial",
    "hang_up",
    "transfer",
    "save_notes",
    "extensions",
    "choose_contact",
    "dismiss_pop",
    "get_settings",
    "save_settings",
    "secret_status",
    "set_secret",
    "test_connection",
    "open_external",
    "crm_states",
    "crm_retry",
    "crm_links",
    "zoho_connect",
    "zoho_disconnect",
];
