//! Live call events through `telephony.externalcall.*`.
//!
//! | operation | request |
//! |---|---|
//! | ring | `register` {USER_ID \| USER_PHONE_INNER, PHONE_NUMBER, TYPE 2 in / 1 out, CALL_START_DATE (ISO 8601 with offset), CRM_CREATE, SHOW 0, EXTERNAL_CALL_ID = our call id} |
//! | answered | none: Bitrix24 has no "answered" method; `finish` carries the outcome |
//! | transfer | `hide` {CALL_ID, USER_ID: previous agent} then `show` {CALL_ID, USER_ID: new agent} |
//! | ended | `finish` {CALL_ID, user, DURATION, STATUS_CODE, RECORD_URL when known, ADD_TO_CHAT 0} |
//! | recording | `attachRecord` {CALL_ID, FILENAME, RECORD_URL} (only after `finish`) |
//!
//! `EXTERNAL_CALL_ID` is always sent: without it Bitrix24 answers the same
//! `CALL_ID` for 30 minutes to any register with the same number, type and
//! user, and two overlapping calls would share one call card.
//!
//! The ring's `Delivered::sent` keeps the params and Bitrix24's answer
//! (`CALL_ID`, `CRM_CREATED_LEAD`, `CRM_ENTITY_TYPE`/`ID`,
//! `CRM_CREATED_ENTITIES`); later operations read the `CALL_ID` from
//! `Operation::prior`. A call Bitrix24 started itself (click-to-call,
//! `ONEXTERNALCALLSTART`) has a synthetic prior ring `{"CALL_ID": …}` stored
//! by the hub; its ring is never registered again.
//!
//! Every request is safe to repeat (see `confirm`).

use chrono::SecondsFormat;
use ringside_core::{Direction, Error, ErrorKind, Outcome, Result};
use ringside_crm::{CrmUser, Delivered, OpKind, Operation, PriorOp};
use serde_json::{Map, Value, json};

use crate::{BitrixCrm, VendorError};

/// What an answered operation records (no request is made).
pub const ANSWERED_SKIPPED: &str = "Bitrix24 has no answered event; finish carries the outcome";
/// The error when a later operation has no `CALL_ID` to refer to.
pub const NO_CALL_ID: &str = "no Bitrix24 CALL_ID for this call yet";

/// The `TYPE` of a register: 2 inbound, 1 outbound.
pub fn call_type(direction: Direction) -> u8 {
    match direction {
        Direction::Inbound => 2,
        Direction::Outbound => 1,
    }
}

/// The `STATUS_CODE` of a finish: `200` answered, `304` missed (inbound not
/// answered), `603-S` cancelled (outbound not answered or failed), `486`
/// busy. Without an outcome: answered when there was talk time, else missed
/// or cancelled by direction.
pub fn status_code(
    outcome: Option<Outcome>,
    direction: Direction,
    talk_seconds: i64,
) -> &'static str {
    let unanswered = match direction {
        Direction::Inbound => "304",
        Direction::Outbound => "603-S",
    };
    match outcome {
        Some(Outcome::Answered) => "200",
        Some(Outcome::Busy) => "486",
        Some(Outcome::Missed) => "304",
        Some(Outcome::NoAnswer) => "603-S",
        Some(Outcome::Failed) => unanswered,
        None if talk_seconds > 0 => "200",
        None => unanswered,
    }
}

/// The `FILENAME` of a recording: `<call id>.mp3`, or `.wav` when the URL's
/// path ends so.
pub fn record_filename(call_id: &str, url: &str) -> String {
    let path = url
        .split(['?', '#'])
        .next()
        .unwrap_or_default()
        .to_ascii_lowercase();
    let ext = if path.ends_with(".wav") { "wav" } else { "mp3" };
    let safe: String = call_id
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') {
                c
            } else {
                '_'
            }
        })
        .collect();
    format!("{safe}.{ext}")
}

/// The Bitrix24 `CALL_ID` among the call's earlier operations: the ring's,
/// else the latest operation that recorded one.
pub fn call_id_of(prior: &[PriorOp]) -> Option<String> {
    let of = |p: &PriorOp| {
        p.sent
            .get("CALL_ID")
            .and_then(Value::as_str)
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_string)
    };
    prior
        .iter()
        .filter(|p| p.op_key == "ring")
        .find_map(of)
        .or_else(|| prior.iter().rev().find_map(of))
}

/// How a request names the agent: `USER_ID` when the directory knows the
/// Bitrix24 user id, else `USER_PHONE_INNER` (the user's phone or extension).
fn user_param(user: Option<&CrmUser>, extension: Option<&str>) -> Result<(&'static str, Value)> {
    if let Some(u) = user {
        if let Some(id) = u
            .user_id
            .as_deref()
            .and_then(|s| s.trim().parse::<u64>().ok())
        {
            return Ok(("USER_ID", json!(id)));
        }
        let inner = u.phone_or_extension().trim();
        if !inner.is_empty() {
            return Ok(("USER_PHONE_INNER", json!(inner)));
        }
    }
    match extension.map(str::trim).filter(|e| !e.is_empty()) {
        Some(ext) => Ok(("USER_PHONE_INNER", json!(ext))),
        None => Err(Error::config(
            "no Bitrix24 user for this call's agent: map the extension to a Bitrix24 user (or set its inner phone in Bitrix24)",
        )),
    }
}

fn user_id(user: Option<&CrmUser>) -> Option<u64> {
    user.and_then(|u| u.user_id.as_deref())
        .and_then(|s| s.trim().parse().ok())
}

/// Whether a `finish` answer means the call is finished already. Bitrix24
/// moves a finished call out of its active table, so finishing it again
/// answers `ERROR_CORE` "Call is not found (call should be registered prior
/// to finishing)"; an explicit "already finished" is accepted too. The
/// `CALL_ID` always comes from Bitrix24's own register answer, so "not
/// found" for it means "finished before" (the first answer was lost).
pub fn is_already_finished(v: &VendorError) -> bool {
    let d = v.description.to_ascii_lowercase();
    (d.contains("already") && (d.contains("finish") || d.contains("complet")))
        || (d.contains("call is not found") && !d.contains("statistic"))
}

/// Whether an `attachRecord` answer means the call is not finished yet.
pub fn is_not_finished(v: &VendorError) -> bool {
    let d = v.description.to_ascii_lowercase();
    d.contains("not finished") || d.contains("statistic")
}

impl BitrixCrm {
    pub(crate) async fn deliver_op(&self, op: &Operation) -> Result<Delivered> {
        match &op.kind {
            OpKind::Ring => self.ring(op).await,
            OpKind::Answered => Ok(Delivered {
                sent: json!({ "skipped": ANSWERED_SKIPPED }),
            }),
            OpKind::Transfer => self.transfer(op).await,
            OpKind::Ended => self.finish(op).await,
            OpKind::Recording { url } => self.attach_record(op, url).await,
        }
    }

    fn call_id(&self, op: &Operation) -> Result<String> {
        call_id_of(&op.prior).ok_or_else(|| Error::new(ErrorKind::Conflict, NO_CALL_ID))
    }

    /// The register params of a ring.
    pub fn register_params(&self, op: &Operation) -> Result<Map<String, Value>> {
        let (key, value) = user_param(op.user.as_ref(), op.extension.as_deref())?;
        let phone = if op.customer.trim().is_empty() {
            op.call.remote_number.trim()
        } else {
            op.customer.trim()
        };
        if phone.is_empty() {
            return Err(Error::invalid(
                "the call has no customer number to register in Bitrix24",
            ));
        }
        let mut p = Map::new();
        p.insert(key.into(), value);
        p.insert("PHONE_NUMBER".into(), json!(phone));
        p.insert("TYPE".into(), json!(call_type(op.call.direction)));
        p.insert(
            "CALL_START_DATE".into(),
            json!(
                op.call
                    .started_at
                    .to_rfc3339_opts(SecondsFormat::Secs, false)
            ),
        );
        p.insert(
            "CRM_CREATE".into(),
            json!(u8::from(self.settings.crm_create)),
        );
        p.insert("SHOW".into(), json!(0));
        p.insert("EXTERNAL_CALL_ID".into(), json!(op.call.id.as_str()));
        Ok(p)
    }

    async fn ring(&self, op: &Operation) -> Result<Delivered> {
        if let Some(call_id) = call_id_of(&op.prior) {
            // Registered already (Bitrix24's own click-to-call): never twice.
            return Ok(Delivered {
                sent: json!({
                    "CALL_ID": call_id,
                    "skipped": "Bitrix24 registered this call itself; it is only finished",
                }),
            });
        }
        let mut params = self.register_params(op)?;
        let env = self
            .call(
                "registering the call in Bitrix24",
                "telephony.externalcall.register",
                &Value::Object(params.clone()),
            )
            .await?;
        let result = &env["result"];
        let call_id = match result.get("CALL_ID") {
            Some(Value::String(s)) if !s.trim().is_empty() => s.trim().to_string(),
            Some(Value::Number(n)) => n.to_string(),
            _ => {
                return Err(Error::internal(
                    "Bitrix24 registered the call but its answer has no CALL_ID",
                ));
            }
        };
        params.insert("CALL_ID".into(), json!(call_id));
        for key in [
            "CRM_CREATED_LEAD",
            "CRM_ENTITY_TYPE",
            "CRM_ENTITY_ID",
            "CRM_CREATED_ENTITIES",
            "LEAD_CREATION_ERROR",
        ] {
            if let Some(v) = result.get(key) {
                params.insert(key.into(), v.clone());
            }
        }
        Ok(Delivered {
            sent: Value::Object(params),
        })
    }

    async fn transfer(&self, op: &Operation) -> Result<Delivered> {
        let call_id = self.call_id(op)?;
        let new_user = user_id(op.user.as_ref()).ok_or_else(|| {
            Error::config(
                "the agent the call was transferred to has no Bitrix24 user id: map the extension to a Bitrix24 user",
            )
        })?;
        let mut sent = Map::new();
        sent.insert("CALL_ID".into(), json!(call_id));
        if let Some(previous) = user_id(op.previous_user.as_ref()) {
            let params = json!({ "CALL_ID": call_id, "USER_ID": previous });
            let env = self
                .call(
                    "hiding the call card from the previous agent in Bitrix24",
                    "telephony.externalcall.hide",
                    &params,
                )
                .await?;
            sent.insert(
                "hide".into(),
                json!({ "USER_ID": previous, "result": env["result"] }),
            );
        }
        let params = json!({ "CALL_ID": call_id, "USER_ID": new_user });
        let env = self
            .call(
                "showing the call card to the new agent in Bitrix24",
                "telephony.externalcall.show",
                &params,
            )
            .await?;
        sent.insert(
            "show".into(),
            json!({ "USER_ID": new_user, "result": env["result"] }),
        );
        Ok(Delivered {
            sent: Value::Object(sent),
        })
    }

    /// The finish params of an ended call.
    pub fn finish_params(&self, op: &Operation, call_id: &str) -> Result<Map<String, Value>> {
        let extension = op.extension.as_deref().or(op.call.extension.as_deref());
        let (key, value) = user_param(op.user.as_ref(), extension)?;
        let call = &op.call;
        let mut p = Map::new();
        p.insert("CALL_ID".into(), json!(call_id));
        p.insert(key.into(), value);
        p.insert("DURATION".into(), json!(call.talk_seconds.max(0)));
        p.insert(
            "STATUS_CODE".into(),
            json!(status_code(call.outcome, call.direction, call.talk_seconds)),
        );
        if let Some(url) = call
            .recording_url
            .as_deref()
            .filter(|u| !u.trim().is_empty())
        {
            p.insert("RECORD_URL".into(), json!(url.trim()));
        }
        p.insert("ADD_TO_CHAT".into(), json!(0));
        Ok(p)
    }

    async fn finish(&self, op: &Operation) -> Result<Delivered> {
        let call_id = self.call_id(op)?;
        let mut params = self.finish_params(op, &call_id)?;
        let what = "finishing the call in Bitrix24";
        let reply = self
            .request(
                what,
                "telephony.externalcall.finish",
                &Value::Object(params.clone()),
            )
            .await?;
        match self.envelope(what, &reply) {
            Ok(env) => {
                if let Some(id) = env["result"].get("CRM_ACTIVITY_ID") {
                    params.insert("CRM_ACTIVITY_ID".into(), id.clone());
                }
                Ok(Delivered {
                    sent: Value::Object(params),
                })
            }
            Err(e)
                if e.kind == ErrorKind::Invalid
                    && is_already_finished(&VendorError::parse(&reply.body)) =>
            {
                // A repeat (the first answer was lost): Bitrix24 has it.
                params.insert("already_finished".into(), json!(true));
                Ok(Delivered {
                    sent: Value::Object(params),
                })
            }
            Err(e) => Err(e),
        }
    }

    async fn attach_record(&self, op: &Operation, url: &str) -> Result<Delivered> {
        let call_id = self.call_id(op)?;
        let url = url.trim();
        if url.is_empty() {
            return Err(Error::invalid("the recording has no URL"));
        }
        let mut params = Map::new();
        params.insert("CALL_ID".into(), json!(call_id));
        params.insert(
            "FILENAME".into(),
            json!(record_filename(op.call.id.as_str(), url)),
        );
        params.insert("RECORD_URL".into(), json!(url));
        let what = "attaching the recording in Bitrix24";
        let reply = self
            .request(
                what,
                "telephony.externalcall.attachRecord",
                &Value::Object(params.clone()),
            )
            .await?;
        match self.envelope(what, &reply) {
            Ok(env) => {
                if let Some(id) = env["result"].get("FILE_ID") {
                    params.insert("FILE_ID".into(), id.clone());
                }
                Ok(Delivered {
                    sent: Value::Object(params),
                })
            }
            Err(e)
                if e.kind == ErrorKind::Invalid
                    && is_not_finished(&VendorError::parse(&reply.body)) =>
            {
                Err(Error::new(
                    ErrorKind::Conflict,
                    format!(
                        "{what}: Bitrix24 has not finished this call, so it cannot take a recording ({})",
                        e.message
                    ),
                ))
            }
            Err(e) => Err(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_codes() {
        use Direction::*;
        assert_eq!(status_code(Some(Outcome::Answered), Inbound, 30), "200");
        assert_eq!(status_code(Some(Outcome::Missed), Inbound, 0), "304");
        assert_eq!(status_code(Some(Outcome::NoAnswer), Outbound, 0), "603-S");
        assert_eq!(status_code(Some(Outcome::Failed), Outbound, 0), "603-S");
        assert_eq!(status_code(Some(Outcome::Failed), Inbound, 0), "304");
        assert_eq!(status_code(Some(Outcome::Busy), Outbound, 0), "486");
        assert_eq!(status_code(None, Inbound, 3), "200");
        assert_eq!(status_code(None, Outbound, 0), "603-S");
    }

    #[test]
    fn filenames_follow_the_url() {
        assert_eq!(record_filename("c1", "https://x/r/a.WAV?sig=1"), "c1.wav");
        assert_eq!(record_filename("c1", "https://x/r/a.mp3"), "c1.mp3");
        assert_eq!(record_filename("c/1", "https://x/r/a"), "c_1.mp3");
    }

    #[test]
    fn call_id_prefers_the_ring() {
        let p = |k: &str, v: Value| PriorOp {
            op_key: k.into(),
            sent: v,
        };
        assert_eq!(call_id_of(&[]), None);
        assert_eq!(
            call_id_of(&[
                p("ring", json!({"CALL_ID": "a"})),
                p("transfer:1", json!({"CALL_ID": "b"}))
            ]),
            Some("a".into())
        );
        assert_eq!(
            call_id_of(&[
                p("answered", json!({"skipped": "x"})),
                p("x", json!({"CALL_ID": "c"}))
            ]),
            Some("c".into())
        );
    }
}
