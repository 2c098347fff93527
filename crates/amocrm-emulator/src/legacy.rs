//! The legacy telephony API: `POST /api/calls/add/?code=&key=[&account_id=]`
//! (real host `https://sip.amocrm.ru`, `.com` globally; here the same
//! listener).
//!
//! Rules:
//! - vendor doc: `code` and `key` are required GET parameters (the service
//!   identifier and the key amo support issues). Wrong or missing → 401
//!   `{"response":{"error":"Unauthorized","error_code":401}}` (the vendor's
//!   PHP example lists 401 "Unauthorized"; the body is inferred).
//! - vendor doc: the body is PHP `http_build_query($calls)`, i.e. a
//!   **form-encoded** body with nested keys
//!   `request[add][0][uuid]=…&request[add][0][caller]=…`. This wins over
//!   the notes' JSON guess (§4.4): a JSON body (JSON content type, or a body
//!   starting with `{`/`[`) → 400 (choice documented here).
//! - vendor doc: per call `account_id`, `uuid`, `caller`, `to`, `date`
//!   (Unix), `type` (`inbound`|`outbound`), `billsec` (int) are required,
//!   `link` optional; `account_id` may be sent in the query instead
//!   ("Alternatively, you can send the request link without the account_id
//!   by sending it in an array with the call data").
//! - inferred from the vendor's PHP reader: 200
//!   `{"response":{"calls":{"add":{"success":["<uuid>",…],"errors":{"<uuid>":["<reason>",…]}}}}}`.
//!   amo is PHP, and PHP's `json_encode` writes an empty `errors` map as
//!   `[]` (and an empty `success` as `[]`): clients must accept both shapes.
//!   An entry without a uuid is keyed by its index.
//! - inferred: `caller` and `to` are numerals (digits, an optional leading
//!   `+`); a uuid already seen (applied, queued or dropped) or repeated in
//!   the batch → `"duplicate uuid"` for that entry.
//! - vendor doc: the customer's number (inferred: `caller` for inbound,
//!   `to` for outbound; the other number is the agent's extension) is
//!   matched against contacts; a match → a call note on the **contact (or
//!   company) card** now; otherwise the call is **queued**, attached when a
//!   matching contact is added, and **deleted 18 hours after arrival**
//!   ([`LEGACY_QUEUE_LIFETIME`], emulator clock) if none appeared. A
//!   queued call is still a `success` (it was accepted).

use std::time::Duration;

use axum::http::Method;
use serde_json::{Map, Value, json};

use crate::server::{Incoming, JSON, Reply, State};
use crate::store::Queued;
use crate::{CallRecord, Via};

/// How long a legacy call waits for its contact (vendor doc: 18 hours).
pub const LEGACY_QUEUE_LIFETIME: Duration = Duration::from_secs(18 * 3600);

fn legacy_error(status: u16, error: &str) -> Reply {
    Reply::json(
        status,
        json!({"response": {"error": error, "error_code": status}}),
        JSON,
    )
}

/// Splits `request[add][0][uuid]` into `["request", "add", "0", "uuid"]`.
fn php_key(key: &str) -> Vec<&str> {
    let (head, mut rest) = match key.find('[') {
        Some(i) => (&key[..i], &key[i..]),
        None => return vec![key],
    };
    let mut parts = vec![head];
    while let Some(inner) = rest.strip_prefix('[') {
        let Some(end) = inner.find(']') else { break };
        parts.push(&inner[..end]);
        rest = &inner[end + 1..];
    }
    parts
}

/// The `request[add][N]` entries, in order of first appearance.
fn entries(form: &[(String, String)]) -> Vec<(String, Map<String, Value>)> {
    let mut out: Vec<(String, Map<String, Value>)> = Vec::new();
    for (key, value) in form {
        let parts = php_key(key);
        let ["request", "add", index, field] = parts[..] else {
            continue;
        };
        let pos = match out.iter().position(|(i, _)| i == index) {
            Some(pos) => pos,
            None => {
                out.push((index.to_owned(), Map::new()));
                out.len() - 1
            }
        };
        out[pos]
            .1
            .insert(field.to_owned(), Value::String(value.clone()));
    }
    out
}

fn is_numeral(s: &str) -> bool {
    let d = s.strip_prefix('+').unwrap_or(s);
    !d.is_empty() && d.chars().all(|c| c.is_ascii_digit())
}

pub(crate) fn handle(state: &mut State, incoming: &Incoming) -> Reply {
    if incoming.method != Method::POST {
        return legacy_error(405, "Method not allowed");
    }
    if incoming.query("code") != Some(state.config.legacy_code.as_str())
        || incoming.query("key") != Some(state.config.legacy_key.as_str())
    {
        return legacy_error(401, "Unauthorized");
    }
    let trimmed = incoming.body.trim_start();
    if incoming.is_json() || trimmed.starts_with('{') || trimmed.starts_with('[') {
        return legacy_error(
            400,
            "The request must be form-encoded (http_build_query), not JSON",
        );
    }
    let form = if incoming.is_form() {
        incoming.form.clone()
    } else {
        crate::server::parse_pairs(incoming.body.as_bytes())
    };
    let entries = entries(&form);
    if entries.is_empty() {
        return legacy_error(400, "Empty request: no request[add] entries");
    }
    let now = state.now();
    let query_account = incoming.query("account_id").map(str::to_owned);
    let account_id = state.config.account_id.to_string();
    let code = state.config.legacy_code.clone();
    let mut success = Vec::new();
    let mut failures = Map::new();
    let mut batch_uuids: Vec<String> = Vec::new();
    for (index, entry) in entries {
        let text = |k: &str| {
            entry
                .get(k)
                .and_then(Value::as_str)
                .map(str::trim)
                .filter(|v| !v.is_empty())
        };
        let mut reasons: Vec<String> = Vec::new();
        match text("account_id")
            .map(str::to_owned)
            .or(query_account.clone())
        {
            None => reasons.push("account_id is required".to_owned()),
            Some(a) if a != account_id => reasons.push("account_id is wrong".to_owned()),
            Some(_) => {}
        }
        let uuid = text("uuid");
        if uuid.is_none() {
            reasons.push("uuid is required".to_owned());
        }
        for k in ["caller", "to"] {
            match text(k) {
                None => reasons.push(format!("{k} is required")),
                Some(v) if !is_numeral(v) => reasons.push(format!("{k} must be a number")),
                Some(_) => {}
            }
        }
        let date = match text("date").map(str::parse::<u64>) {
            None => {
                reasons.push("date is required".to_owned());
                0
            }
            Some(Err(_)) => {
                reasons.push("date must be a unix timestamp".to_owned());
                0
            }
            Some(Ok(d)) => d,
        };
        let direction = match text("type") {
            None => {
                reasons.push("type is required".to_owned());
                ""
            }
            Some(t @ ("inbound" | "outbound")) => t,
            Some(_) => {
                reasons.push("type must be inbound or outbound".to_owned());
                ""
            }
        };
        let billsec = match text("billsec").map(str::parse::<u64>) {
            None => {
                reasons.push("billsec is required".to_owned());
                0
            }
            Some(Err(_)) => {
                reasons.push("billsec must be an integer".to_owned());
                0
            }
            Some(Ok(b)) => b,
        };
        if let Some(uuid) = uuid
            && (state.store.legacy_uuid_seen(uuid) || batch_uuids.iter().any(|u| u == uuid))
        {
            reasons.push("duplicate uuid".to_owned());
        }
        let key = uuid.map_or(index, str::to_owned);
        if !reasons.is_empty() {
            failures.insert(key, json!(reasons));
            continue;
        }
        batch_uuids.push(key.clone());
        let (caller, to) = (
            text("caller").unwrap_or("").to_owned(),
            text("to").unwrap_or("").to_owned(),
        );
        let (customer, agent) = if direction == "outbound" {
            (to, caller)
        } else {
            (caller, to)
        };
        let record = CallRecord {
            via: Via::Legacy,
            uniq: Some(key.clone()),
            direction: direction.to_owned(),
            phone: customer,
            duration: billsec,
            source: code.clone(),
            link: text("link").map(str::to_owned),
            call_status: None,
            call_result: None,
            responsible_user_id: None,
            created_at: date,
            request_id: None,
            agent_number: Some(agent),
            entity_type: None,
            entity_id: None,
            note_id: None,
        };
        match state.store.find_by_phone(&record.phone) {
            Some((entity_type, entity_id)) => {
                state.store.apply_call(record, entity_type, entity_id, now);
            }
            None => state.store.queued.push(Queued {
                record,
                arrived_at: now,
            }),
        }
        success.push(key);
    }
    let errors = if failures.is_empty() {
        json!([])
    } else {
        Value::Object(failures)
    };
    Reply::json(
        200,
        json!({"response": {"calls": {"add": {"success": success, "errors": errors}}}}),
        JSON,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn php_keys_split() {
        assert_eq!(
            php_key("request[add][0][uuid]"),
            ["request", "add", "0", "uuid"]
        );
        assert_eq!(php_key("code"), ["code"]);
    }
}
