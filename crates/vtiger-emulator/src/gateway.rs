//! The Phone Calls "Generic" gateway: `Generic.php` callbacks from the
//! telephony system (vendor doc "Phone Calls API Usage", contracts notes
//! §2.2).
//!
//! From the vendor doc: the `X-VTIGER-SECRET` header on every call; the five
//! events and their required parameters; `call_initiated` creates the call
//! log with status `ringing`; `call_connected` sets `in-progress` and uses
//! `to` to find the user who picked up; the `hangup_reason` → call status
//! table (default `completed`); a missing `direction` is decided by whether
//! `from` belongs to a user; the popup user is the one whose Office Phone is
//! `to`.
//!
//! From the contracts notes: the path, parameters in the query string and/or
//! a form body, one stable `call_id` kept as `sourceuuid`.
//!
//! Inferred (the real behaviour is unknown): every response body — success
//! is `{"success":true,"result":{"id":"45xN","status":"<callstatus>"}}`,
//! failures `{"success":false,"error":{"code","message"}}` with 400/401/404/
//! 405/415; the error codes; that a key sent twice with different values is
//! refused; that a repeated `call_initiated` is counted rather than creating
//! a second log; that Office Phones compare by digits only; that an unknown
//! number on connect/transfer keeps the previous user; that `billduration`
//! must be a whole number of seconds and recording URLs must be http(s).
//!
//! Encoding: parameters are decoded as `application/x-www-form-urlencoded`
//! (as PHP does), so an unencoded `+` in `from=+34…` arrives as a space.

use std::collections::BTreeMap;

use axum::http::Method;
use serde_json::json;

use crate::GatewayEvent;
use crate::server::{Incoming, Reply, Shared};
use crate::store::{Module, PhoneCallRecord, same_digits};

/// The path of the Generic gateway.
pub const GATEWAY_PATH: &str = "/modules/PhoneCalls/callbacks/Generic.php";

/// The events the Generic gateway knows (vendor doc).
pub const EVENTS: [&str; 5] = [
    "call_initiated",
    "call_connected",
    "call_recording",
    "call_transfer",
    "call_hangup",
];

/// The call status a `hangup_reason` sets (vendor doc table): `no_answer`
/// → `hangup`, `busy` → `busy`, `completed` → `completed`, anything else →
/// itself.
pub fn hangup_status(reason: &str) -> String {
    match reason {
        "no_answer" => "hangup".to_owned(),
        other => other.to_owned(),
    }
}

type Params = BTreeMap<String, String>;

fn missing(what: &str) -> Reply {
    Reply::error(
        400,
        "MANDATORY_FIELDS_MISSING",
        format!("Mandatory parameter missing: {what}"),
    )
}

/// A non-empty parameter.
fn param<'a>(params: &'a Params, key: &str) -> Option<&'a str> {
    params
        .get(key)
        .map(String::as_str)
        .filter(|v| !v.trim().is_empty())
}

fn required<'a>(params: &'a Params, key: &str) -> Result<&'a str, Reply> {
    param(params, key).ok_or_else(|| missing(key))
}

/// Merges query-string and form parameters; a key given twice with
/// different values is an error.
pub(crate) fn merge(
    query: &[(String, String)],
    form: &[(String, String)],
) -> Result<Params, String> {
    let mut params = Params::new();
    for (key, value) in query.iter().chain(form) {
        match params.get(key) {
            Some(existing) if existing != value => return Err(key.clone()),
            Some(_) => {}
            None => {
                params.insert(key.clone(), value.clone());
            }
        }
    }
    Ok(params)
}

fn check_url(params: &Params, key: &str) -> Result<Option<String>, Reply> {
    match param(params, key) {
        None => Ok(None),
        Some(url) if url.starts_with("http://") || url.starts_with("https://") => {
            Ok(Some(url.to_owned()))
        }
        Some(_) => Err(Reply::error(
            400,
            "INVALID_PARAMETER",
            format!("{key} must be an http(s) URL"),
        )),
    }
}

/// Serves one `Generic.php` request.
pub(crate) fn handle(shared: &Shared, incoming: &Incoming) -> Reply {
    if incoming.method != Method::GET && incoming.method != Method::POST {
        return Reply::error(405, "METHOD_NOT_ALLOWED", "Use GET or POST")
            .with_header("allow", "GET, POST".to_owned());
    }
    let mut state = shared.lock();
    if incoming.secret.as_deref() != Some(state.config.gateway_secret.as_str()) {
        return Reply::error(
            401,
            "INVALID_SECRET",
            "Missing or invalid X-VTIGER-SECRET header",
        );
    }
    if !incoming.body.is_empty() && !incoming.is_form() {
        return Reply::error(
            415,
            "UNSUPPORTED_CONTENT_TYPE",
            "The body must be application/x-www-form-urlencoded",
        );
    }
    let params = match merge(&incoming.query, &incoming.form) {
        Ok(params) => params,
        Err(key) => {
            return Reply::error(
                400,
                "PARAMETER_CONFLICT",
                format!("Parameter {key} given twice with different values"),
            );
        }
    };
    let outcome = apply(&mut state.store, &params);
    match outcome {
        Ok((event, call)) => {
            state.gateway_events.push(GatewayEvent {
                event,
                call_id: call.sourceuuid.clone(),
                record_id: call.id.clone(),
                params,
            });
            let count = state.gateway_events.len();
            shared.events.send_replace(count);
            Reply::ok(json!({"id": call.id, "status": call.callstatus}))
        }
        Err(reply) => reply,
    }
}

/// Validates the parameters and changes the store; returns the event name
/// and the call record as it now stands.
fn apply(
    store: &mut crate::store::Store,
    params: &Params,
) -> Result<(String, PhoneCallRecord), Reply> {
    let event = required(params, "event")?.to_owned();
    if !EVENTS.contains(&event.as_str()) {
        return Err(Reply::error(
            400,
            "INVALID_EVENT",
            format!("Unknown event: {event}"),
        ));
    }
    let call_id = required(params, "call_id")?.to_owned();
    if event == "call_initiated" {
        return initiate(store, params, &call_id).map(|call| (event, call));
    }
    // Validate every parameter before touching the record.
    let update = match event.as_str() {
        "call_connected" => Update::Connected {
            to: required(params, "to")?.to_owned(),
        },
        "call_transfer" => Update::Transfer {
            number: required(params, "transferred_number")?.to_owned(),
        },
        "call_recording" => Update::Recording {
            url: check_url(params, "recordingurl")?.ok_or_else(|| missing("recordingurl"))?,
        },
        _ => {
            // The vendor table marks `transferred_number` as required for
            // `call_hangup` too; that row is evidently copied from
            // `call_transfer` ("transfer agent number") and is NOT enforced.
            let billduration = param(params, "billduration").map(str::to_owned);
            if let Some(d) = &billduration
                && !d.bytes().all(|b| b.is_ascii_digit())
            {
                return Err(Reply::error(
                    400,
                    "INVALID_PARAMETER",
                    "billduration must be a non-negative whole number of seconds",
                ));
            }
            Update::Hangup {
                status: hangup_status(param(params, "hangup_reason").unwrap_or("completed")),
                billduration,
                recordingurl: check_url(params, "recordingurl")?,
                notes: param(params, "notes").map(str::to_owned),
            }
        }
    };
    let resolved = match &update {
        Update::Connected { to } => store.user_by_office_phone(to),
        Update::Transfer { number } => store.user_by_office_phone(number),
        _ => None,
    };
    let Some(call) = store.call_mut(&call_id) else {
        return Err(Reply::error(
            400,
            "RECORD_NOT_FOUND",
            format!("No call with call_id {call_id}"),
        ));
    };
    match update {
        Update::Connected { .. } => {
            call.callstatus = "in-progress".to_owned();
        }
        Update::Transfer { number } => call.transferred_to.push(number),
        Update::Recording { url } => call.recordingurl = Some(url),
        Update::Hangup {
            status,
            billduration,
            recordingurl,
            notes,
        } => {
            call.callstatus = status;
            if billduration.is_some() {
                call.billduration = billduration;
            }
            if recordingurl.is_some() {
                call.recordingurl = recordingurl;
            }
            if notes.is_some() {
                call.notes = notes;
            }
        }
    }
    if resolved.is_some() {
        call.user_id = resolved;
    }
    Ok((event, call.clone()))
}

enum Update {
    Connected {
        to: String,
    },
    Transfer {
        number: String,
    },
    Recording {
        url: String,
    },
    Hangup {
        status: String,
        billduration: Option<String>,
        recordingurl: Option<String>,
        notes: Option<String>,
    },
}

fn initiate(
    store: &mut crate::store::Store,
    params: &Params,
    call_id: &str,
) -> Result<PhoneCallRecord, Reply> {
    let from = required(params, "from")?.to_owned();
    let to = param(params, "to").map(str::to_owned);
    let direction = param(params, "direction");
    if let Some(d) = direction
        && d != "inbound"
        && d != "outbound"
    {
        return Err(Reply::error(
            400,
            "INVALID_PARAMETER",
            "direction must be inbound or outbound",
        ));
    }
    if let Some(call) = store.call_mut(call_id) {
        call.duplicates += 1;
        return Ok(call.clone());
    }
    let user_of = |store: &crate::store::Store, n: Option<&str>| {
        n.and_then(|n| store.user_by_office_phone(n))
    };
    let (direction, customer, user) = match direction {
        Some(d) => (d.to_owned(), from.clone(), user_of(store, to.as_deref())),
        None => {
            // Vendor doc: without `direction`, "we will search if `from`
            // number is associated to any user and decide on the direction".
            let from_user = store
                .rows(Module::Users)
                .into_iter()
                .find(|u| same_digits(&u["phone_work"], &from))
                .map(|u| u["id"].clone());
            match from_user {
                Some(user) => (
                    "outbound".to_owned(),
                    to.clone().unwrap_or_default(),
                    Some(user),
                ),
                None => (
                    "inbound".to_owned(),
                    from.clone(),
                    user_of(store, to.as_deref()),
                ),
            }
        }
    };
    let call = PhoneCallRecord {
        id: store.next_id(Module::PhoneCalls),
        sourceuuid: call_id.to_owned(),
        direction,
        customer_number: customer,
        user_id: user,
        callstatus: "ringing".to_owned(),
        transferred_to: Vec::new(),
        recordingurl: None,
        billduration: None,
        notes: None,
        duplicates: 0,
    };
    store.calls.push(call.clone());
    Ok(call)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(p: &[(&str, &str)]) -> Vec<(String, String)> {
        p.iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn merge_accepts_repeats_and_refuses_conflicts() {
        let merged = merge(
            &pairs(&[("event", "call_hangup"), ("call_id", "a")]),
            &pairs(&[("call_id", "a"), ("notes", "x")]),
        )
        .unwrap();
        assert_eq!(merged.len(), 3);
        assert_eq!(
            merge(&pairs(&[("call_id", "a")]), &pairs(&[("call_id", "b")])),
            Err("call_id".to_owned())
        );
    }

    #[test]
    fn hangup_reasons_map_as_the_vendor_table_says() {
        assert_eq!(hangup_status("no_answer"), "hangup");
        assert_eq!(hangup_status("busy"), "busy");
        assert_eq!(hangup_status("completed"), "completed");
        assert_eq!(hangup_status("failed"), "failed");
    }
}
