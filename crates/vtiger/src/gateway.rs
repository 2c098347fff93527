//! The Phone Calls "Generic" gateway: one `Generic.php` POST per operation
//! (integration spec §5), form-encoded (the vendor's default content type),
//! with the gateway secret in `X-VTIGER-SECRET`.
//!
//! | operation | `event` | parameters |
//! |---|---|---|
//! | ring | `call_initiated` | `from`=customer, `to`=the user's Office Phone, `direction` |
//! | answered | `call_connected` | `from`, `to` (required) |
//! | transfer | `call_transfer` | `transferred_number` (required) |
//! | ended | `call_hangup` | `hangup_reason`, `billduration`, `recordingurl`, `notes` |
//! | recording | `call_recording` | `recordingurl` |
//!
//! `call_id` is always Ringside's logical call id, so Vtiger keeps one Phone
//! Calls record (`sourceuuid`) for the whole call.

use ringside_core::{Error, ErrorKind, Outcome, Result};
use ringside_crm::{Confirmation, Delivered, OpKind, Operation};
use serde_json::{Map, Value};

use crate::VtigerCrm;
use crate::rest::{Reply, Surface};
use crate::wire::PhoneCallRow;

/// The gateway's path under the instance URL.
pub const GATEWAY_PATH: &str = "/modules/PhoneCalls/callbacks/Generic.php";
/// The header carrying the gateway secret.
pub const SECRET_HEADER: &str = "X-VTIGER-SECRET";
/// The `call_id` of the connection test's probe (see [`VtigerCrm`]'s `check`).
pub const PROBE_CALL_ID: &str = "ringside-connection-test";

/// The form parameters of one gateway request, in order.
pub type Params = Vec<(&'static str, String)>;

/// The Vtiger `hangup_reason` for an outcome (`None`: the call was closed
/// without one, reported as `failed`).
pub fn hangup_reason(outcome: Option<Outcome>) -> &'static str {
    match outcome {
        Some(Outcome::Answered) => "completed",
        Some(Outcome::Missed | Outcome::NoAnswer) => "no_answer",
        Some(Outcome::Busy) => "busy",
        Some(Outcome::Failed) | None => "failed",
    }
}

/// The Office Phone of the user concerned: the directory's phone, else the
/// extension.
fn user_phone(op: &Operation) -> Option<String> {
    op.user
        .as_ref()
        .map(|u| u.phone_or_extension().trim().to_string())
        .or_else(|| op.extension.as_ref().map(|e| e.trim().to_string()))
        .filter(|p| !p.is_empty())
}

fn is_http_url(url: &str) -> bool {
    let lower = url.trim().to_ascii_lowercase();
    lower.starts_with("https://") || lower.starts_with("http://")
}

/// The notes sent on hangup: the agent's notes, then a `Disposition: X` line.
fn hangup_notes(op: &Operation) -> Option<String> {
    let notes = op
        .call
        .notes
        .as_deref()
        .map(str::trim)
        .filter(|n| !n.is_empty());
    let disposition = op
        .call
        .disposition
        .as_deref()
        .map(str::trim)
        .filter(|d| !d.is_empty())
        .map(|d| format!("Disposition: {d}"));
    match (notes, disposition) {
        (Some(n), Some(d)) => Some(format!("{n}\n{d}")),
        (Some(n), None) => Some(n.to_string()),
        (None, Some(d)) => Some(d),
        (None, None) => None,
    }
}

/// The parameters for `op`, or `Invalid` when Vtiger would refuse it.
pub fn params_for(op: &Operation) -> Result<Params> {
    let call_id = op.call.id.as_str().trim().to_string();
    if call_id.is_empty() {
        return Err(Error::invalid("the call has no id to send as call_id"));
    }
    let customer = op.customer.trim().to_string();
    let mut params: Params = Vec::new();
    match &op.kind {
        OpKind::Ring => {
            if customer.is_empty() {
                return Err(Error::invalid(
                    "Vtiger needs the customer's number (`from`) for call_initiated",
                ));
            }
            params.push(("event", "call_initiated".into()));
            params.push(("call_id", call_id));
            params.push(("from", customer));
            if let Some(to) = user_phone(op) {
                params.push(("to", to));
            }
            params.push(("direction", op.call.direction.as_str().into()));
        }
        OpKind::Answered => {
            let to = user_phone(op).ok_or_else(|| {
                Error::invalid(
                    "the answering agent's office phone is unknown (no CRM user or extension), \
                     and Vtiger needs it as `to` for call_connected",
                )
            })?;
            params.push(("event", "call_connected".into()));
            params.push(("call_id", call_id));
            if !customer.is_empty() {
                params.push(("from", customer));
            }
            params.push(("to", to));
        }
        OpKind::Transfer => {
            let to = user_phone(op).ok_or_else(|| {
                Error::invalid(
                    "the new agent's office phone is unknown (no CRM user or extension), \
                     and Vtiger needs it as `transferred_number` for call_transfer",
                )
            })?;
            params.push(("event", "call_transfer".into()));
            params.push(("call_id", call_id));
            params.push(("transferred_number", to));
        }
        OpKind::Ended => {
            params.push(("event", "call_hangup".into()));
            params.push(("call_id", call_id));
            params.push(("hangup_reason", hangup_reason(op.call.outcome).into()));
            params.push(("billduration", op.call.talk_seconds.max(0).to_string()));
            match op.call.recording_url.as_deref().map(str::trim) {
                Some(url) if is_http_url(url) => params.push(("recordingurl", url.to_string())),
                Some(url) if !url.is_empty() => tracing::warn!(
                    crm = "vtiger",
                    "recording URL is not http(s); not sent with the hangup"
                ),
                _ => {}
            }
            if let Some(notes) = hangup_notes(op) {
                params.push(("notes", notes));
            }
        }
        OpKind::Recording { url } => {
            let url = url.trim();
            if !is_http_url(url) {
                return Err(Error::invalid(
                    "the recording URL is not an http(s) URL; Vtiger cannot link it",
                ));
            }
            params.push(("event", "call_recording".into()));
            params.push(("call_id", call_id));
            params.push(("recordingurl", url.to_string()));
        }
    }
    Ok(params)
}

/// The parameters as a JSON object (what the outbox keeps; no secret).
pub fn params_json(params: &Params) -> Value {
    Value::Object(
        params
            .iter()
            .map(|(k, v)| ((*k).to_string(), Value::String(v.clone())))
            .collect::<Map<String, Value>>(),
    )
}

impl VtigerCrm {
    /// POST `params` to `Generic.php`, form-encoded, with the secret header.
    pub(crate) async fn post_gateway(&self, what: &str, params: &Params) -> Result<Reply> {
        let secret = self.settings.gateway_secret.expose();
        if secret.trim().is_empty() {
            return Err(Error::config("the Vtiger gateway secret is not set"));
        }
        let mut secret = reqwest::header::HeaderValue::from_str(secret).map_err(|_| {
            Error::config("the Vtiger gateway secret has characters not allowed in a header")
        })?;
        secret.set_sensitive(true);
        let request = self
            .http
            .post(format!("{}{GATEWAY_PATH}", self.base))
            .header(SECRET_HEADER, secret)
            .form(params);
        self.send(Surface::Gateway, what, request).await
    }

    pub(crate) async fn deliver_op(&self, op: &Operation) -> Result<Delivered> {
        let params = params_for(op)?;
        let event = params
            .iter()
            .find(|(k, _)| *k == "event")
            .map(|(_, v)| v.clone())
            .unwrap_or_default();
        let what = format!("Vtiger {event}");
        let reply = self.post_gateway(&what, &params).await?;
        gateway_result(reply).map_err(|e| e.context(&what))?;
        Ok(Delivered {
            sent: params_json(&params),
        })
    }

    pub(crate) async fn confirm_op(&self, op: &Operation) -> Result<Confirmation> {
        if matches!(op.kind, OpKind::Transfer) {
            // The Phone Calls record keeps no trace of a transfer we can read.
            return Ok(Confirmation::Unknown);
        }
        let vtql = format!(
            "SELECT id, callstatus, recordingurl FROM PhoneCalls WHERE sourceuuid = {};",
            crate::rest::quote(op.call.id.as_str())
        );
        let rows: Vec<PhoneCallRow> = match self.query_rows(&vtql).await {
            Ok(rows) => rows,
            Err(e) if matches!(e.kind, ErrorKind::Invalid | ErrorKind::NotFound) => {
                tracing::debug!(
                    crm = "vtiger",
                    error = %e,
                    "cannot read Phone Calls over REST; delivery state unknown"
                );
                return Ok(Confirmation::Unknown);
            }
            Err(e) => return Err(e),
        };
        let Some(row) = rows.first() else {
            return Ok(Confirmation::NotApplied);
        };
        let status = row.callstatus.trim().to_ascii_lowercase();
        let applied = match &op.kind {
            OpKind::Ring => true,
            OpKind::Answered => status != "ringing",
            OpKind::Ended => status != "ringing" && status != "in-progress",
            OpKind::Recording { url } => row.recordingurl.trim() == url.trim(),
            OpKind::Transfer => return Ok(Confirmation::Unknown),
        };
        Ok(if applied {
            Confirmation::Applied
        } else {
            Confirmation::NotApplied
        })
    }
}

/// A gateway answer as success or error. The real success body is not
/// documented, so any 2xx counts unless it is an explicit
/// `{"success":false,…}`.
pub(crate) fn gateway_result(reply: Reply) -> Result<()> {
    if reply.is_success() {
        if let Some(env) = reply.envelope()
            && !env.success
            && env.error.is_some()
        {
            return Err(crate::rest::parse_error(
                Surface::Gateway,
                reply.status,
                &reply.headers,
                &reply.body,
            ));
        }
        return Ok(());
    }
    Err(crate::rest::parse_error(
        Surface::Gateway,
        reply.status,
        &reply.headers,
        &reply.body,
    ))
}

#[cfg(test)]
mod tests {
    use chrono::Utc;
    use ringside_core::{Call, CallId, Direction};
    use ringside_crm::CrmUser;

    use super::*;

    fn op(kind: OpKind) -> Operation {
        let now = Utc::now();
        let mut call = Call::new(CallId::from("c-1"), "gamma", "g-1".into(), now, now);
        call.direction = Direction::Outbound;
        Operation {
            id: 1,
            kind,
            call,
            customer: "+34647460197".into(),
            extension: Some("201".into()),
            user: None,
            previous_user: None,
            prior: Vec::new(),
        }
    }

    fn get<'a>(params: &'a Params, key: &str) -> Option<&'a str> {
        params
            .iter()
            .find(|(k, _)| *k == key)
            .map(|(_, v)| v.as_str())
    }

    #[test]
    fn ring_uses_the_users_phone_over_the_extension() {
        let mut o = op(OpKind::Ring);
        o.user = Some(CrmUser {
            extension: "201".into(),
            user_id: Some("19x2".into()),
            name: None,
            phone: Some("+34 910 000 201".into()),
            email: None,
        });
        let p = params_for(&o).unwrap();
        assert_eq!(get(&p, "event"), Some("call_initiated"));
        assert_eq!(get(&p, "to"), Some("+34 910 000 201"));
        assert_eq!(get(&p, "direction"), Some("outbound"));
        assert_eq!(get(&p, "call_id"), Some("c-1"));
        o.user = None;
        o.extension = None;
        assert_eq!(get(&params_for(&o).unwrap(), "to"), None);
    }

    #[test]
    fn answered_and_transfer_need_a_phone() {
        for kind in [OpKind::Answered, OpKind::Transfer] {
            let mut o = op(kind);
            o.extension = None;
            let e = params_for(&o).unwrap_err();
            assert_eq!(e.kind, ErrorKind::Invalid);
            assert!(
                e.message.contains("office phone is unknown"),
                "{}",
                e.message
            );
        }
    }

    #[test]
    fn hangup_maps_outcomes_and_notes() {
        assert_eq!(hangup_reason(Some(Outcome::Answered)), "completed");
        assert_eq!(hangup_reason(Some(Outcome::Missed)), "no_answer");
        assert_eq!(hangup_reason(Some(Outcome::NoAnswer)), "no_answer");
        assert_eq!(hangup_reason(Some(Outcome::Busy)), "busy");
        assert_eq!(hangup_reason(Some(Outcome::Failed)), "failed");
        assert_eq!(hangup_reason(None), "failed");
        let mut o = op(OpKind::Ended);
        o.call.disposition = Some("Sale".into());
        o.call.recording_url = Some("ftp://nope".into());
        let p = params_for(&o).unwrap();
        assert_eq!(get(&p, "notes"), Some("Disposition: Sale"));
        assert_eq!(get(&p, "recordingurl"), None);
        assert_eq!(get(&p, "billduration"), Some("0"));
        let bad = op(OpKind::Recording {
            url: "not a url".into(),
        });
        assert_eq!(params_for(&bad).unwrap_err().kind, ErrorKind::Invalid);
    }
}
