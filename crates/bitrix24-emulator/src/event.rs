//! The `ONEXTERNALCALLSTART` event (notes §5.6, official): when a user clicks
//! a number in the CRM, the portal registers the call **first** (the handler
//! must not register it again, only finish it) and its queue server POSTs
//! `application/x-www-form-urlencoded` with PHP-style keys to the handler:
//! `event`, `event_handler_id`, `data[PHONE_NUMBER]`,
//! `data[PHONE_NUMBER_INTERNATIONAL]`, `data[EXTENSION]`, `data[USER_ID]`,
//! `data[CALL_LIST_ID]`, `data[LINE_NUMBER]`, `data[IS_MOBILE]`,
//! `data[CALL_ID]`, `data[CRM_ENTITY_TYPE]`, `data[CRM_ENTITY_ID]`, `ts`,
//! and `auth[domain]`, `auth[client_endpoint]`, `auth[server_endpoint]`,
//! `auth[member_id]`, `auth[application_token]` (the outbound-webhook set).
//! No retry: a failed POST is just an `Err`.
//!
//! Inferred: the registered call is TYPE 1 (outbound), SHOW=1, no
//! EXTERNAL_CALL_ID, never reuses a CALL_ID, and is bound by phone like a
//! register; `PHONE_NUMBER_INTERNATIONAL` repeats the number as clicked; an
//! unbound call sends empty `CRM_ENTITY_*`.

use std::time::Duration;

use crate::BitrixEmulator;
use crate::api::{NewCall, new_call};
use crate::oauth::MEMBER_ID;

pub(crate) async fn start_call_from_crm(
    emulator: &BitrixEmulator,
    handler_url: &str,
    user_id: u32,
    number: &str,
) -> Result<(u16, String, String), String> {
    let (call, form) = emulator.with_state(|state| {
        if state.store.user(user_id).is_none() {
            return Err(format!("user {user_id} does not exist"));
        }
        let index = new_call(
            state,
            NewCall {
                user_id,
                phone: number.to_owned(),
                call_type: 1,
                start_date: None,
                crm_create: false,
                show: true,
                crm_source: None,
                line_number: None,
                external_call_id: None,
                forced: None,
                from_crm_click: true,
            },
        );
        let call = state.store.calls[index].clone();
        let form: Vec<(String, String)> = [
            ("event", "ONEXTERNALCALLSTART".to_owned()),
            ("event_handler_id", "1".to_owned()),
            ("data[PHONE_NUMBER]", number.to_owned()),
            ("data[PHONE_NUMBER_INTERNATIONAL]", number.to_owned()),
            ("data[EXTENSION]", String::new()),
            ("data[USER_ID]", user_id.to_string()),
            ("data[CALL_LIST_ID]", "0".to_owned()),
            ("data[LINE_NUMBER]", String::new()),
            ("data[IS_MOBILE]", "0".to_owned()),
            ("data[CALL_ID]", call.call_id.clone()),
            (
                "data[CRM_ENTITY_TYPE]",
                call.crm_entity_type.clone().unwrap_or_default(),
            ),
            (
                "data[CRM_ENTITY_ID]",
                call.crm_entity_id
                    .map(|i| i.to_string())
                    .unwrap_or_default(),
            ),
            ("ts", state.now().to_string()),
            ("auth[domain]", state.domain()),
            ("auth[client_endpoint]", format!("{}/rest/", state.base_url)),
            (
                "auth[server_endpoint]",
                format!("{}/oauth/rest/", state.base_url),
            ),
            ("auth[member_id]", MEMBER_ID.to_owned()),
            (
                "auth[application_token]",
                state.config.application_token.clone(),
            ),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect();
        Ok((call, form))
    })?;
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .map_err(|e| e.to_string())?;
    let response = client
        .post(handler_url)
        .form(&form)
        .send()
        .await
        .map_err(|e| format!("request to {handler_url} failed: {e}"))?;
    let status = response.status().as_u16();
    let body = response
        .text()
        .await
        .map_err(|e| format!("reading the answer of {handler_url} failed: {e}"))?;
    Ok((status, body, call.call_id))
}
