//! Every command of `docs/desktop-contract.md`, thin: read the arguments,
//! call the hub client or a use case in [`crate::actions`], map the error.
//! All `async` (a sync command would run on the main thread and freeze the UI).

use ringside_api::Call;
use ringside_api::{
    CallDetail, CallId, CallPage, CallQuery, Contact, CrmLink, CrmRetried, CrmState, Extension,
    NewContact, NumberInfo,
};
use ringside_core::Sensitive;
use tauri::{AppHandle, Runtime, State};

use crate::actions;
use crate::error::CommandResult;
use crate::models::{
    AppSnapshot, PopState, SecretName, SecretsOverview, Settings, TestResult, TestTarget,
};
use crate::state::AppState;

#[tauri::command]
pub async fn app_state(state: State<'_, AppState>) -> CommandResult<AppSnapshot> {
    Ok(state.snapshot())
}

#[tauri::command]
pub async fn search_contacts(
    state: State<'_, AppState>,
    query: String,
    limit: Option<usize>,
) -> CommandResult<Vec<Contact>> {
    let conn = state.backend.connection()?;
    Ok(conn
        .client
        .contacts(&query, limit.unwrap_or(ringside_api::DEFAULT_CONTACTS))
        .await?)
}

#[tauri::command]
pub async fn create_contact(
    state: State<'_, AppState>,
    contact: NewContact,
) -> CommandResult<Contact> {
    let conn = state.backend.connection()?;
    Ok(conn.client.create_contact(&contact).await?)
}

#[tauri::command]
pub async fn list_calls(state: State<'_, AppState>, query: CallQuery) -> CommandResult<CallPage> {
    let conn = state.backend.connection()?;
    Ok(conn.client.calls(&query).await?)
}

#[tauri::command]
pub async fn call_detail(state: State<'_, AppState>, call_id: CallId) -> CommandResult<CallDetail> {
    let conn = state.backend.connection()?;
    Ok(conn.client.call(&call_id).await?)
}

#[tauri::command]
pub async fn lookup(state: State<'_, AppState>, number: String) -> CommandResult<NumberInfo> {
    actions::lookup(&state, &number).await
}

#[tauri::command]
pub async fn dial(state: State<'_, AppState>, number: String) -> CommandResult<Call> {
    actions::dial(&state, &number).await
}

#[tauri::command]
pub async fn hang_up(state: State<'_, AppState>, call_id: CallId) -> CommandResult<()> {
    let conn = state.backend.connection()?;
    Ok(conn.client.hang_up(&call_id).await?)
}

#[tauri::command]
pub async fn transfer(
    state: State<'_, AppState>,
    call_id: CallId,
    destination: String,
) -> CommandResult<()> {
    let conn = state.backend.connection()?;
    Ok(conn.client.transfer(&call_id, &destination).await?)
}

#[tauri::command]
pub async fn save_notes<R: Runtime>(
    app: AppHandle<R>,
    state: State<'_, AppState>,
    call_id: CallId,
    notes: Option<String>,
    disposition: Option<String>,
) -> CommandResult<Call> {
    let conn = state.backend.connection()?;
    let call = conn.client.set_notes(&call_id, notes, disposition).await?;
    actions::refresh_pop(&app, &state, call.clone());
    Ok(call)
}

#[tauri::command]
pub async fn extensions(state: State<'_, AppState>) -> CommandResult<Vec<Extension>> {
    let conn = state.backend.connection()?;
    Ok(conn.client.extensions().await?)
}

#[tauri::command]
pub async fn choose_contact<R: Runtime>(
    app: AppHandle<R>,
    state: State<'_, AppState>,
    call_id: CallId,
    index: usize,
) -> CommandResult<PopState> {
    actions::choose_contact(&app, &state, &call_id, index)
}

#[tauri::command]
pub async fn dismiss_pop<R: Runtime>(
    app: AppHandle<R>,
    state: State<'_, AppState>,
) -> CommandResult<()> {
    actions::dismiss_pop(&app, &state);
    Ok(())
}

#[tauri::command]
pub async fn get_settings(state: State<'_, AppState>) -> CommandResult<Settings> {
    Ok(state.settings())
}

#[tauri::command]
pub async fn save_settings<R: Runtime>(
    app: AppHandle<R>,
    state: State<'_, AppState>,
    settings: Settings,
) -> CommandResult<Settings> {
    actions::save_settings(&app, &state, settings).await
}

#[tauri::command]
pub async fn secret_status(state: State<'_, AppState>) -> CommandResult<SecretsOverview> {
    Ok(state.secrets.overview().await)
}

#[tauri::command]
pub async fn set_secret<R: Runtime>(
    app: AppHandle<R>,
    state: State<'_, AppState>,
    name: SecretName,
    value: Sensitive<String>,
) -> CommandResult<()> {
    actions::set_secret(&app, &state, name, value).await
}

#[tauri::command]
pub async fn test_connection(
    state: State<'_, AppState>,
    target: TestTarget,
) -> CommandResult<TestResult> {
    Ok(actions::test_connection(&state, target).await)
}

#[tauri::command]
pub async fn crm_states(state: State<'_, AppState>) -> CommandResult<Vec<CrmState>> {
    actions::crm_states(&state).await
}

#[tauri::command]
pub async fn crm_retry(
    state: State<'_, AppState>,
    crm_id: String,
    op_id: Option<i64>,
) -> CommandResult<CrmRetried> {
    actions::crm_retry(&state, &crm_id, op_id).await
}

#[tauri::command]
pub async fn crm_links(state: State<'_, AppState>, number: String) -> CommandResult<Vec<CrmLink>> {
    actions::crm_links(&state, &number).await
}

/// Connect Zoho through the browser (consent, loopback, keyring).
#[tauri::command]
pub async fn zoho_connect<R: Runtime>(
    app: AppHandle<R>,
    state: State<'_, AppState>,
) -> CommandResult<TestResult> {
    Ok(actions::zoho_connect(&app, &state).await)
}

/// Revoke and forget Zoho's refresh token.
#[tauri::command]
pub async fn zoho_disconnect<R: Runtime>(
    app: AppHandle<R>,
    state: State<'_, AppState>,
) -> CommandResult<()> {
    actions::zoho_disconnect(&app, &state).await
}

#[tauri::command]
pub async fn open_external<R: Runtime>(app: AppHandle<R>, url: String) -> CommandResult<()> {
    actions::open_external(&app, &url)
}

/// The invoke handler with every command above.
pub fn handler<R: Runtime>() -> impl Fn(tauri::ipc::Invoke<R>) -> bool + Send + Sync + 'static {
    tauri::generate_handler![
        app_state,
        search_contacts,
        create_contact,
        list_calls,
        call_detail,
        lookup,
        dial,
        hang_up,
        transfer,
        save_notes,
        extensions,
        choose_contact,
        dismiss_pop,
        get_settings,
        save_settings,
        secret_status,
        set_secret,
        test_connection,
        open_external,
        crm_states,
        crm_retry,
        crm_links,
        zoho_connect,
        zoho_disconnect,
    ]
}
