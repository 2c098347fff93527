//! PhoneBridge v2 call events and setup, all under
//! `{api_domain}/crm/v2/phonebridge/` (the `api_domain` of the token: never a
//! hard-coded host), form-encoded POST bodies (`+` becomes `%2B`), times in
//! GMT `yyyy-MM-dd HH:mm:ss`.
//!
//! | operation | inbound | outbound |
//! |---|---|---|
//! | ring | `callreceived` from=customer, to=agent | `calldialed` customerstatus=`inprogress`, from=agent, to=customer |
//! | answered | `callanswered` from=customer, to=agent | none (Zoho has no such event: skipped, `callhungup` carries it) |
//! | transfer | `callreceived` + `transfercallrefid`, to=the new agent | same |
//! | ended, answered | `callhungup` direction=inbound, callstarttime, duration, voiceurl, desc | `callhungup` direction=outbound, from=agent, to=customer |
//! | ended, not answered | `callmissed` callmissedtime, voicemailurl | `calldialed` customerstatus=`busy`/`noanswer` |
//! | recording later | `voiceurl` callrefid, voiceurl | same |
//!
//! `callrefid` is always Ringside's logical call id. `userid` is the agent's
//! Zoho user id when the agent directory knows it.
//!
//! Delivery state cannot be read back from PhoneBridge, so `confirm()` says
//! `Unknown` and the outbox sends again; Zoho is expected to deduplicate a
//! repeated event by `callrefid` + event (inferred, not documented; the
//! emulator models it).

use chrono::{DateTime, Utc};
use reqwest::Method;
use ringside_core::{Direction, Error, ErrorKind, Outcome, Result, Sensitive};
use ringside_crm::{Delivered, OpKind, Operation};
use serde_json::{Map, Value, json};

use crate::ZohoCrm;
use crate::wire::{UsersResponse, ZohoUser};

/// The form parameters of one PhoneBridge request, in order.
pub type Params = Vec<(&'static str, String)>;

/// What `Answered` on an outbound call sends instead of a request.
pub const OUTBOUND_ANSWERED_SKIPPED: &str =
    "Zoho has no event for an answered outbound call; callhungup carries it";

/// What one operation becomes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Planned {
    /// POST `params` to `{api_domain}/crm/v2/phonebridge/{endpoint}`.
    Send {
        endpoint: &'static str,
        params: Params,
    },
    /// Nothing to send (see the reason).
    Skip { reason: &'static str },
}

/// A UTC instant as PhoneBridge wants it: GMT `yyyy-MM-dd HH:mm:ss`.
pub fn gmt(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%d %H:%M:%S").to_string()
}

/// The agent's number: the directory's phone, else the extension (the
/// operation's, then the call's).
fn agent_number(op: &Operation) -> Option<String> {
    op.user
        .as_ref()
        .map(|u| u.phone_or_extension().trim().to_string())
        .filter(|p| !p.is_empty())
        .or_else(|| op.extension.as_ref().map(|e| e.trim().to_string()))
        .or_else(|| op.call.extension.as_ref().map(|e| e.trim().to_string()))
        .filter(|p| !p.is_empty())
}

fn user_id(op: &Operation) -> Option<String> {
    op.user
        .as_ref()
        .and_then(|u| u.user_id.as_deref())
        .map(str::trim)
        .filter(|id| !id.is_empty())
        .map(str::to_string)
}

fn is_http_url(url: &str) -> bool {
    let lower = url.trim().to_ascii_lowercase();
    lower.starts_with("https://") || lower.starts_with("http://")
}

fn recording(op: &Operation) -> Option<String> {
    match op.call.recording_url.as_deref().map(str::trim) {
        Some(url) if is_http_url(url) => Some(url.to_string()),
        Some(url) if !url.is_empty() => {
            tracing::warn!(crm = "zoho", "recording URL is not http(s); not sent");
            None
        }
        _ => None,
    }
}

/// The agent's notes, then a `Disposition: X` line.
fn description(op: &Operation) -> Option<String> {
    let clean = |s: Option<&str>| {
        s.map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_string)
    };
    let notes = clean(op.call.notes.as_deref());
    let disposition = clean(op.call.disposition.as_deref()).map(|d| format!("Disposition: {d}"));
    match (notes, disposition) {
        (Some(n), Some(d)) => Some(format!("{n}\n{d}")),
        (n, d) => n.or(d),
    }
}

/// The request for `op`, or `Invalid` when Zoho would refuse it.
pub fn plan(op: &Operation) -> Result<Planned> {
    let callrefid = op.call.id.as_str().trim().to_string();
    if callrefid.is_empty() {
        return Err(Error::invalid("the call has no id to send as callrefid"));
    }
    let inbound = op.call.direction == Direction::Inbound;
    if let OpKind::Recording { url } = &op.kind {
        let url = url.trim();
        if !is_http_url(url) {
            return Err(Error::invalid(
                "the recording URL is not an http(s) URL; Zoho cannot link it",
            ));
        }
        return Ok(Planned::Send {
            endpoint: "voiceurl",
            params: vec![("callrefid", callrefid), ("voiceurl", url.to_string())],
        });
    }
    if !inbound && op.kind == OpKind::Answered {
        return Ok(Planned::Skip {
            reason: OUTBOUND_ANSWERED_SKIPPED,
        });
    }
    let customer = op.customer.trim().to_string();
    if customer.is_empty() {
        return Err(Error::invalid(format!(
            "Zoho needs the customer's number for the {} event",
            op.kind.name()
        )));
    }
    let agent = agent_number(op).ok_or_else(|| {
        Error::invalid(format!(
            "the agent's number is unknown (no CRM user or extension), and Zoho needs it for the {} event",
            op.kind.name()
        ))
    })?;
    // Who is `fromnumber`/`tonumber`: the customer calls the agent (inbound),
    // the agent calls the customer (outbound).
    let (from, to) = if inbound {
        (customer.clone(), agent.clone())
    } else {
        (agent.clone(), customer.clone())
    };
    let mut params: Params = vec![("callrefid", callrefid.clone())];
    let endpoint = match (&op.kind, inbound) {
        (OpKind::Ring, true) => {
            params.push(("fromnumber", from));
            params.push(("tonumber", to));
            "callreceived"
        }
        (OpKind::Answered, _) => {
            params.push(("fromnumber", from));
            params.push(("tonumber", to));
            "callanswered"
        }
        (OpKind::Ring, false) => {
            params.push(("fromnumber", from));
            params.push(("tonumber", to));
            params.push(("customerstatus", "inprogress".into()));
            "calldialed"
        }
        (OpKind::Transfer, _) => {
            // The call continues at the new agent: it rings there.
            params.push(("fromnumber", customer));
            params.push(("tonumber", agent));
            params.push(("transfercallrefid", callrefid));
            "callreceived"
        }
        (OpKind::Ended, _) if op.call.outcome == Some(Outcome::Answered) => {
            let start = op.call.answered_at.unwrap_or(op.call.started_at);
            params.push(("fromnumber", from));
            params.push(("tonumber", to));
            params.push(("callstarttime", gmt(start)));
            params.push(("direction", op.call.direction.as_str().into()));
            params.push(("duration", op.call.talk_seconds.max(0).to_string()));
            if let Some(url) = recording(op) {
                params.push(("voiceurl", url));
            }
            if let Some(desc) = description(op) {
                params.push(("desc", desc));
            }
            "callhungup"
        }
        (OpKind::Ended, true) => {
            let at = op.call.ended_at.unwrap_or(op.call.started_at);
            params.push(("fromnumber", from));
            params.push(("tonumber", to));
            params.push(("callmissedtime", gmt(at)));
            if let Some(url) = recording(op) {
                params.push(("voicemailurl", url));
            }
            "callmissed"
        }
        (OpKind::Ended, false) => {
            let status = if op.call.outcome == Some(Outcome::Busy) {
                "busy"
            } else {
                "noanswer"
            };
            params.push(("fromnumber", from));
            params.push(("tonumber", to));
            params.push(("customerstatus", status.into()));
            "calldialed"
        }
        (OpKind::Recording { .. }, _) => unreachable!("handled above"),
    };
    if let Some(id) = user_id(op) {
        params.push(("userid", id));
    }
    Ok(Planned::Send { endpoint, params })
}

/// The parameters as a JSON object (what the outbox keeps; never a token).
pub fn params_json(params: &Params) -> Value {
    Value::Object(
        params
            .iter()
            .map(|(k, v)| ((*k).to_string(), Value::String(v.clone())))
            .collect::<Map<String, Value>>(),
    )
}

/// Enabling click-to-call and call control (`clicktocallandcallcontrol`).
#[derive(Debug, Clone)]
pub struct Registration {
    /// Where Zoho posts a click-to-call (the hub's endpoint).
    pub clicktocall_url: String,
    pub hungup_url: Option<String>,
    pub answer_url: Option<String>,
    /// The header (or parameter) name and value Zoho sends to those URLs so
    /// the hub can trust them.
    pub authorization: (String, Sensitive<String>),
    /// The Zoho users to enable (empty: Zoho's default, the caller).
    pub user_ids: Vec<String>,
}

impl Registration {
    /// The form parameters (the authorization value included: this is the
    /// one request allowed to carry it).
    fn params(&self) -> Result<Params> {
        let check = |name: &str, url: &str| {
            if is_http_url(url) {
                Ok(url.trim().to_string())
            } else {
                Err(Error::invalid(format!(
                    "the {name} `{url}` is not an http(s) URL"
                )))
            }
        };
        let mut params: Params = vec![(
            "clicktocallurl",
            check("click-to-call URL", &self.clicktocall_url)?,
        )];
        if let Some(url) = &self.answer_url {
            params.push(("answerurl", check("answer URL", url)?));
        }
        if let Some(url) = &self.hungup_url {
            params.push(("hungupurl", check("hang-up URL", url)?));
        }
        let (name, value) = &self.authorization;
        if !name.trim().is_empty() {
            params.push((
                "authorizationparam",
                json!({"name": name.trim(), "value": value.expose()}).to_string(),
            ));
        }
        let ids: Vec<&str> = self
            .user_ids
            .iter()
            .map(|s| s.trim())
            .filter(|s| !s.is_empty())
            .collect();
        if !ids.is_empty() {
            params.push(("userid", ids.join(",")));
        }
        Ok(params)
    }
}

/// 2xx with `{"status":"success"}`, `{"data":[…]}`, no `status` key or no
/// body → the value; `{"status":"error"}` or a non-2xx → the mapped error.
pub(crate) fn pb_result(reply: &crate::http::Reply) -> Result<Value> {
    if !reply.is_success() {
        return Err(crate::error::parse_error(
            reply.status,
            &reply.headers,
            &reply.body,
        ));
    }
    let body = reply.body.trim();
    if body.is_empty() {
        return Ok(Value::Null);
    }
    match serde_json::from_str::<Value>(body) {
        Ok(value) => {
            let status = value.get("status").and_then(Value::as_str).unwrap_or("");
            if status.eq_ignore_ascii_case("error") {
                Err(crate::error::parse_error(
                    reply.status,
                    &reply.headers,
                    &reply.body,
                ))
            } else {
                Ok(value)
            }
        }
        // The third-party bridges treat anything but an explicit error as
        // success; keep the text.
        Err(_) => Ok(Value::String(body.chars().take(300).collect())),
    }
}

impl ZohoCrm {
    pub(crate) async fn deliver_op(&self, op: &Operation) -> Result<Delivered> {
        match plan(op)? {
            Planned::Skip { reason } => Ok(Delivered {
                sent: json!({ "skipped": reason }),
            }),
            Planned::Send { endpoint, params } => {
                let what = format!("Zoho PhoneBridge {endpoint}");
                self.phonebridge(&what, Method::POST, endpoint, &[], Some(&params))
                    .await
                    .map_err(|e| e.context(&what))?;
                let mut sent = params_json(&params);
                if let Value::Object(map) = &mut sent {
                    map.insert("endpoint".into(), Value::String(endpoint.into()));
                }
                Ok(Delivered { sent })
            }
        }
    }

    /// Enable (`POST`) or disable (`DELETE`) the PhoneBridge integration for
    /// the org. Enabling an enabled integration is `Conflict`
    /// (`PBX_ALREADY_ENABLED`); see [`ZohoCrm::ensure_integrated`].
    pub async fn integrate(&self, enable: bool) -> Result<()> {
        let (method, what) = if enable {
            (Method::POST, "Zoho PhoneBridge integrate")
        } else {
            (Method::DELETE, "Zoho PhoneBridge integrate (disable)")
        };
        self.phonebridge(what, method, "integrate", &[], None)
            .await
            .map(drop)
            .map_err(|e| e.context(what))
    }

    /// Enable the integration; already enabled is success. `Ok(true)` when
    /// this call enabled it, `Ok(false)` when it already was.
    pub async fn ensure_integrated(&self) -> Result<bool> {
        match self.integrate(true).await {
            Ok(()) => Ok(true),
            Err(e)
                if e.kind == ErrorKind::Conflict
                    && e.message.contains("(Zoho: PBX_ALREADY_ENABLED") =>
            {
                Ok(false)
            }
            Err(e) => Err(e),
        }
    }

    /// Enable click-to-call and call control (`POST clicktocallandcallcontrol`).
    pub async fn register_click_to_call(&self, registration: &Registration) -> Result<()> {
        let params = registration.params()?;
        let what = "Zoho PhoneBridge click-to-call registration";
        self.phonebridge(
            what,
            Method::POST,
            "clicktocallandcallcontrol",
            &[],
            Some(&params),
        )
        .await
        .map(drop)
        .map_err(|e| e.context(what))
    }

    /// Disable click-to-call and call control (`DELETE clicktocallandcallcontrol`).
    pub async fn unregister_click_to_call(&self) -> Result<()> {
        let what = "Zoho PhoneBridge click-to-call removal";
        self.phonebridge(what, Method::DELETE, "clicktocallandcallcontrol", &[], None)
            .await
            .map(drop)
            .map_err(|e| e.context(what))
    }

    /// The org's active PhoneBridge users (`GET users`).
    pub async fn users(&self) -> Result<Vec<ZohoUser>> {
        let what = "Zoho PhoneBridge users";
        let value = self
            .phonebridge(what, Method::GET, "users", &[], None)
            .await
            .map_err(|e| e.context(what))?;
        if value.is_null() {
            return Ok(Vec::new());
        }
        let users: UsersResponse = serde_json::from_value(value)
            .map_err(|e| Error::internal(format!("{what}: unexpected answer shape: {e}")))?;
        Ok(users.users)
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;
    use ringside_core::{Call, CallId};
    use ringside_crm::CrmUser;

    use super::*;

    fn op(kind: OpKind, direction: Direction) -> Operation {
        let t0 = Utc.with_ymd_and_hms(2026, 3, 5, 9, 7, 3).unwrap();
        let mut call = Call::new(CallId::from("c-1"), "gamma", "g".into(), t0, t0);
        call.direction = direction;
        call.remote_number = "+34647460197".into();
        Operation {
            id: 1,
            kind,
            customer: call.remote_number.clone(),
            call,
            extension: Some("201".into()),
            user: Some(CrmUser {
                extension: "201".into(),
                user_id: Some("4000000000123".into()),
                name: None,
                phone: None,
                email: None,
            }),
            previous_user: None,
            prior: Vec::new(),
        }
    }

    fn sent(p: Planned) -> (&'static str, Params) {
        match p {
            Planned::Send { endpoint, params } => (endpoint, params),
            Planned::Skip { reason } => panic!("skipped: {reason}"),
        }
    }

    #[test]
    fn gmt_format() {
        let t = Utc.with_ymd_and_hms(2016, 9, 20, 15, 9, 10).unwrap();
        assert_eq!(gmt(t), "2016-09-20 15:09:10");
    }

    #[test]
    fn outbound_answered_is_skipped_and_inbound_ring_is_callreceived() {
        assert!(matches!(
            plan(&op(OpKind::Answered, Direction::Outbound)).unwrap(),
            Planned::Skip { .. }
        ));
        let (endpoint, params) = sent(plan(&op(OpKind::Ring, Direction::Inbound)).unwrap());
        assert_eq!(endpoint, "callreceived");
        assert_eq!(
            params,
            vec![
                ("callrefid", "c-1".to_string()),
                ("fromnumber", "+34647460197".to_string()),
                ("tonumber", "201".to_string()),
                ("userid", "4000000000123".to_string()),
            ]
        );
    }

    #[test]
    fn missing_agent_or_bad_recording_is_invalid() {
        let mut o = op(OpKind::Ring, Direction::Inbound);
        o.user = None;
        o.extension = None;
        assert_eq!(plan(&o).unwrap_err().kind, ErrorKind::Invalid);
        let o = op(
            OpKind::Recording {
                url: "ftp://x".into(),
            },
            Direction::Inbound,
        );
        assert_eq!(plan(&o).unwrap_err().kind, ErrorKind::Invalid);
    }

    #[test]
    fn registration_params() {
        let r = Registration {
            clicktocall_url: "https://hub.example/zoho/clicktocall".into(),
            hungup_url: Some("https://hub.example/zoho/hangup".into()),
            answer_url: None,
            authorization: ("Authorization".into(), Sensitive::new("Bearer t".into())),
            user_ids: vec!["1".into(), " 2 ".into()],
        };
        let p = r.params().unwrap();
        assert_eq!(
            p[0],
            (
                "clicktocallurl",
                "https://hub.example/zoho/clicktocall".into()
            )
        );
        assert_eq!(p[1].0, "hungupurl");
        let auth: Value = serde_json::from_str(&p[2].1).unwrap();
        assert_eq!(auth, json!({"name": "Authorization", "value": "Bearer t"}));
        assert_eq!(p[3], ("userid", "1,2".into()));
    }
}
