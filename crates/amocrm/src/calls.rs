//! Logging a call when it ends.
//!
//! **API v4** (`CallsMode::V4`): `POST /api/v4/calls` with one record
//! `[{direction, uniq, duration, source, phone, link, call_status,
//! call_result, responsible_user_id, created_at, request_id}]`. amo files it
//! on the contact (or its only open lead) whose PHONE matches `phone`; when
//! none does it answers 400 "Entity not found", and [`UnknownNumber`]
//! decides: `CreateContact` creates a contact named after the number (or the
//! caller's label) and posts the call once more; `Park` fails as `Invalid`
//! with a reason a person can act on (the outbox parks it).
//!
//! **Legacy** (`CallsMode::Legacy`): `POST {url}/api/calls/add/?code=&key=
//! &account_id=` with the form-encoded `request[add][0][…]` fields of the
//! vendor document (its PHP example posts `http_build_query`). amo queues
//! the call and **deletes it if no contact has the number within 18 hours**:
//! when API v4 auth is also configured and unknown numbers create contacts,
//! the number is looked up first and a contact created if none has it;
//! otherwise a warning is logged.
//!
//! amo does not deduplicate by `uniq`: after an unknown outcome the outbox
//! asks [`AmoCrm::confirm_op`] first, which looks for the `uniq` among the
//! call notes (API v4 only; legacy answers `Unknown`).

use chrono::Duration as ChronoDuration;
use reqwest::Method;
use ringside_core::{
    Call, Contact, Direction, Error, ErrorKind, Outcome, PhoneEntry, PhoneNumber, RecordSource,
    Result,
};
use ringside_crm::{Confirmation, CrmUser, Delivered, NewContact, OpKind, Operation};
use serde_json::{Map, Value, json};

use crate::error::is_entity_not_found;
use crate::lookup::SYSTEM;
use crate::settings::{CallsMode, UnknownNumber};
use crate::{AmoCrm, as_u64, embedded, json_of};

/// `call_status`: a conversation took place.
pub const STATUS_ANSWERED: u8 = 4;
/// `call_status`: no answer (missed, unanswered, failed).
pub const STATUS_NO_ANSWER: u8 = 6;
/// `call_status`: busy.
pub const STATUS_BUSY: u8 = 7;
/// The notes page size amo allows.
const PAGE: usize = 250;

/// amo's `call_status` for a finished call (amocrm-api-php's constants):
/// 4 answered, 7 busy, 6 anything else (missed, no answer, failed). A call
/// without an outcome counts as answered when it has talk time.
pub fn call_status(call: &Call) -> u8 {
    match call.outcome {
        Some(Outcome::Answered) => STATUS_ANSWERED,
        Some(Outcome::Busy) => STATUS_BUSY,
        Some(Outcome::Missed | Outcome::NoAnswer | Outcome::Failed) => STATUS_NO_ANSWER,
        None if call.answered_at.is_some() || call.talk_seconds > 0 => STATUS_ANSWERED,
        None => STATUS_NO_ANSWER,
    }
}

/// `1 min 05 s`, `42 s`.
pub fn talk_time(seconds: i64) -> String {
    let s = seconds.max(0);
    if s < 60 {
        format!("{s} s")
    } else {
        format!("{} min {:02} s", s / 60, s % 60)
    }
}

/// The short `call_result`: `Answered by Tony, 1 min 05 s`, `Missed`,
/// `No answer`, `Busy`, `Failed`; the agent's notes follow after `. `
/// (at most 255 characters in all).
pub fn call_result(call: &Call, user: Option<&CrmUser>) -> String {
    let base = match call_status(call) {
        STATUS_ANSWERED => {
            let by = user
                .and_then(|u| u.name.as_deref())
                .map(str::trim)
                .filter(|n| !n.is_empty());
            match by {
                Some(name) => format!("Answered by {name}, {}", talk_time(call.talk_seconds)),
                None => format!("Answered, {}", talk_time(call.talk_seconds)),
            }
        }
        STATUS_BUSY => "Busy".to_string(),
        _ => match call.outcome {
            Some(Outcome::NoAnswer) => "No answer".to_string(),
            Some(Outcome::Failed) => "Failed".to_string(),
            _ => "Missed".to_string(),
        },
    };
    let text = match call
        .notes
        .as_deref()
        .map(str::trim)
        .filter(|n| !n.is_empty())
    {
        Some(notes) => format!("{base}. {notes}"),
        None => base,
    };
    text.chars().take(255).collect()
}

/// The recording link, when it is an http(s) URL amo can fetch.
pub fn recording_link(call: &Call) -> Option<String> {
    call.recording_url
        .as_deref()
        .map(str::trim)
        .filter(|u| u.starts_with("https://") || u.starts_with("http://"))
        .map(str::to_string)
}

/// The customer's number to file the call under, or why there is none.
fn customer(op: &Operation) -> Result<String> {
    let number = op.customer.trim();
    if number.is_empty() || number.eq_ignore_ascii_case("anonymous") {
        return Err(Error::invalid(
            "the call has no customer number (anonymous caller): amoCRM files calls by number",
        ));
    }
    Ok(number.to_string())
}

fn responsible(op: &Operation) -> Option<u64> {
    op.user
        .as_ref()
        .and_then(|u| u.user_id.as_deref())
        .and_then(|id| id.trim().parse().ok())
}

/// The `POST /api/v4/calls` body for an ended call.
pub fn v4_body(op: &Operation, source: &str) -> Result<Value> {
    let call = &op.call;
    let mut record = Map::new();
    record.insert("direction".into(), json!(call.direction.as_str()));
    record.insert("uniq".into(), json!(call.id.as_str()));
    record.insert("duration".into(), json!(call.talk_seconds.max(0)));
    record.insert("source".into(), json!(source));
    record.insert("phone".into(), json!(customer(op)?));
    if let Some(link) = recording_link(call) {
        record.insert("link".into(), json!(link));
    }
    record.insert("call_status".into(), json!(call_status(call)));
    record.insert(
        "call_result".into(),
        json!(call_result(call, op.user.as_ref())),
    );
    if let Some(id) = responsible(op) {
        record.insert("responsible_user_id".into(), json!(id));
    }
    record.insert("created_at".into(), json!(call.started_at.timestamp()));
    record.insert("request_id".into(), json!("0"));
    Ok(Value::Array(vec![Value::Object(record)]))
}

/// The agent's number for calls/add, digits only: the directory's phone,
/// else the extension (of the operation, else of the call), else empty
/// (amo then refuses the call: "to is required").
fn agent_number(op: &Operation) -> String {
    let candidates = [
        op.user.as_ref().map(|u| u.phone_or_extension().to_string()),
        op.extension.clone(),
        op.call.extension.clone(),
    ];
    candidates
        .into_iter()
        .flatten()
        .map(|s| digits(&s))
        .find(|s| !s.is_empty())
        .unwrap_or_default()
}

fn digits(s: &str) -> String {
    s.chars().filter(char::is_ascii_digit).collect()
}

/// The calls/add form fields (`request[add][0][…]`, in the vendor example's
/// order). Numbers are digits only ("string (numeral)"): inbound `caller` =
/// customer, `to` = agent; outbound the other way round.
pub fn legacy_form(op: &Operation, account_id: u64) -> Result<Vec<(String, String)>> {
    let call = &op.call;
    let customer = digits(&customer(op)?);
    let agent = agent_number(op);
    let (caller, to) = match call.direction {
        Direction::Inbound => (customer, agent),
        Direction::Outbound => (agent, customer),
    };
    let mut fields = vec![
        ("uuid", call.id.as_str().to_string()),
        ("caller", caller),
        ("to", to),
        ("date", call.started_at.timestamp().to_string()),
        ("billsec", call.talk_seconds.max(0).to_string()),
        ("type", call.direction.as_str().to_string()),
    ];
    if let Some(link) = recording_link(call) {
        fields.push(("link", link));
    }
    fields.push(("account_id", account_id.to_string()));
    Ok(fields
        .into_iter()
        .map(|(k, v)| (format!("request[add][0][{k}]"), v))
        .collect())
}

/// What calls/add said about one uuid.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LegacyOutcome {
    Added,
    /// amo already has this uuid (a repeat): delivered.
    Duplicate,
    Rejected(Vec<String>),
    /// The answer does not mention it.
    Missing,
}

/// Read `{"response":{"calls":{"add":{"success":[…],"errors":{uuid:[…]}}}}}`
/// for `uuid` (`errors` may also be a list, PHP's empty array).
pub fn legacy_outcome(answer: &Value, uuid: &str) -> LegacyOutcome {
    let add = answer
        .pointer("/response/calls/add")
        .cloned()
        .unwrap_or(Value::Null);
    let reasons: Option<Vec<String>> = match add.get("errors") {
        Some(Value::Object(map)) => map.get(uuid).map(reason_list),
        Some(Value::Array(list)) => list
            .iter()
            .find(|e| e.get("uuid").and_then(Value::as_str) == Some(uuid))
            .map(|e| reason_list(e.get("reasons").or(e.get("errors")).unwrap_or(e))),
        _ => None,
    };
    if let Some(reasons) = reasons {
        if reasons
            .iter()
            .any(|r| r.to_ascii_lowercase().contains("duplicate"))
        {
            return LegacyOutcome::Duplicate;
        }
        return LegacyOutcome::Rejected(reasons);
    }
    let added = add
        .get("success")
        .and_then(Value::as_array)
        .is_some_and(|s| {
            s.iter().any(|v| match v {
                Value::String(s) => s == uuid,
                other => other.get("uuid").and_then(Value::as_str) == Some(uuid),
            })
        });
    if added {
        LegacyOutcome::Added
    } else {
        LegacyOutcome::Missing
    }
}

fn reason_list(v: &Value) -> Vec<String> {
    match v {
        Value::Array(items) => items
            .iter()
            .map(|i| match i {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            })
            .collect(),
        Value::String(s) => vec![s.clone()],
        other => vec![other.to_string()],
    }
}

impl AmoCrm {
    pub(crate) async fn deliver_op(&self, op: &Operation) -> Result<Delivered> {
        if !matches!(op.kind, OpKind::Ended) {
            return Err(Error::new(
                ErrorKind::Unsupported,
                format!(
                    "amoCRM logs a call once, when it ends; a {} operation is never sent to it",
                    op.kind.name()
                ),
            ));
        }
        match &self.settings.mode {
            CallsMode::V4 => self.deliver_v4(op).await,
            CallsMode::Legacy {
                code,
                key,
                account_id,
                url,
            } => {
                self.deliver_legacy(op, code, key.expose(), *account_id, url)
                    .await
            }
        }
    }

    async fn post_call(&self, body: &Value) -> Result<crate::http::Reply> {
        self.v4(
            "logging the call to amoCRM",
            Method::POST,
            "/api/v4/calls",
            &[],
            Some(body),
        )
        .await
    }

    async fn deliver_v4(&self, op: &Operation) -> Result<Delivered> {
        let body = v4_body(op, &self.settings.source)?;
        let reply = self.post_call(&body).await?;
        if reply.is_success() {
            return Ok(Delivered { sent: body });
        }
        if !is_entity_not_found(reply.status, &reply.body) {
            return Err(self.error_of(&reply).context("logging the call to amoCRM"));
        }
        let number = customer(op)?;
        match self.settings.unknown_number {
            UnknownNumber::Park => Err(Error::invalid(format!(
                "no amoCRM contact has {number}; create one, or set unknown numbers to create contacts"
            ))),
            UnknownNumber::CreateContact => {
                let (contact_body, contact) = self.create_for_caller(op, &number).await?;
                tracing::info!(crm = "amocrm", contact = %contact.source.id, "created a contact for an unknown number");
                let reply = self.post_call(&body).await?;
                if !reply.is_success() {
                    return Err(self
                        .error_of(&reply)
                        .context("logging the call to the new amoCRM contact"));
                }
                Ok(Delivered {
                    sent: json!({"contacts": contact_body, "calls": body}),
                })
            }
        }
    }

    /// A contact for the call's unknown number: named after the caller's
    /// label when the PBX gave one, else the number; responsible = the agent.
    async fn create_for_caller(&self, op: &Operation, number: &str) -> Result<(Value, Contact)> {
        let name = op
            .call
            .remote_label
            .as_deref()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .unwrap_or(number)
            .to_string();
        let new = NewContact {
            name,
            phone: number.to_string(),
            company: None,
            email: None,
        };
        self.create_raw(&new, responsible(op)).await
    }

    async fn deliver_legacy(
        &self,
        op: &Operation,
        code: &str,
        key: &str,
        account_id: u64,
        url: &str,
    ) -> Result<Delivered> {
        let form = legacy_form(op, account_id)?;
        let number = customer(op)?;
        let mut created = None;
        if self.settings.auth.has_v4()
            && self.settings.unknown_number == UnknownNumber::CreateContact
        {
            let variants = self.settings.numbers.variants(&number);
            if self.lookup_number(&variants).await?.is_empty() {
                let (body, _) = self.create_for_caller(op, &number).await?;
                created = Some(body);
            }
        } else {
            tracing::warn!(
                crm = "amocrm",
                call = op.call.id.as_str(),
                "calls/add: amoCRM deletes the call after 18 hours unless a contact with its number appears"
            );
        }
        let what = "logging the call to amoCRM (calls/add)";
        let request = self
            .http
            .post(format!("{url}/api/calls/add/"))
            .query(&[
                ("code", code.to_string()),
                ("key", key.to_string()),
                ("account_id", account_id.to_string()),
            ])
            .form(&form);
        let reply = crate::http::send(&self.throttle, what, request).await?;
        let answer = json_of(self, what, &reply)?.unwrap_or(Value::Null);
        let mut fields = Map::new();
        for (k, v) in &form {
            fields.insert(k.clone(), json!(v));
        }
        let mut sent = json!({"code": code, "account_id": account_id, "form": fields});
        if let Some(body) = created {
            sent["contacts"] = body;
        }
        match legacy_outcome(&answer, op.call.id.as_str()) {
            LegacyOutcome::Added => Ok(Delivered { sent }),
            LegacyOutcome::Duplicate => {
                tracing::info!(
                    crm = "amocrm",
                    call = op.call.id.as_str(),
                    "calls/add already had this call"
                );
                Ok(Delivered { sent })
            }
            LegacyOutcome::Rejected(reasons) => Err(Error::invalid(format!(
                "amoCRM calls/add refused the call: {}",
                reasons.join(", ")
            ))),
            LegacyOutcome::Missing => Err(Error::internal(format!(
                "amoCRM calls/add's answer does not mention the call: {}",
                crate::error::vendor_detail(&reply.body)
            ))),
        }
    }

    pub(crate) async fn confirm_op(&self, op: &Operation) -> Result<Confirmation> {
        if !matches!(op.kind, OpKind::Ended) || !matches!(self.settings.mode, CallsMode::V4) {
            return Ok(Confirmation::Unknown);
        }
        let from = (op.call.started_at - ChronoDuration::seconds(60)).timestamp();
        let uniq = op.call.id.as_str();
        for entity in ["contacts", "leads", "companies"] {
            let path = format!("/api/v4/{entity}/notes");
            for page in 1..=40u32 {
                let query = vec![
                    ("filter[note_type][]".to_string(), "call_in".to_string()),
                    ("filter[note_type][]".to_string(), "call_out".to_string()),
                    ("filter[updated_at][from]".to_string(), from.to_string()),
                    ("limit".to_string(), PAGE.to_string()),
                    ("page".to_string(), page.to_string()),
                ];
                let Some(json) = self
                    .v4_json(
                        "checking amoCRM's call notes",
                        Method::GET,
                        &path,
                        &query,
                        None,
                    )
                    .await?
                else {
                    break;
                };
                let notes = embedded(&json, "notes");
                if notes
                    .iter()
                    .any(|n| n.pointer("/params/uniq").and_then(Value::as_str) == Some(uniq))
                {
                    return Ok(Confirmation::Applied);
                }
                if notes.len() < PAGE {
                    break;
                }
            }
        }
        Ok(Confirmation::NotApplied)
    }

    pub(crate) async fn create(
        &self,
        contact: &NewContact,
        responsible: Option<u64>,
    ) -> Result<Contact> {
        self.create_raw(contact, responsible).await.map(|(_, c)| c)
    }

    /// `POST /api/v4/contacts` with the name, the PHONE (WORK) and EMAIL
    /// (WORK). amo links companies by id only: `company` is not sent.
    pub(crate) async fn create_raw(
        &self,
        contact: &NewContact,
        responsible: Option<u64>,
    ) -> Result<(Value, Contact)> {
        let name = contact.name.trim();
        let phone = contact.phone.trim();
        if name.is_empty() && phone.is_empty() {
            return Err(Error::invalid(
                "a new contact needs a name or a phone number",
            ));
        }
        let name = if name.is_empty() { phone } else { name };
        let mut fields = Vec::new();
        if !phone.is_empty() {
            fields.push(
                json!({"field_code": "PHONE", "values": [{"value": phone, "enum_code": "WORK"}]}),
            );
        }
        let email = contact
            .email
            .as_deref()
            .map(str::trim)
            .filter(|e| !e.is_empty());
        if let Some(email) = email {
            fields.push(
                json!({"field_code": "EMAIL", "values": [{"value": email, "enum_code": "WORK"}]}),
            );
        }
        let mut record = json!({"name": name, "custom_fields_values": fields});
        if let Some(id) = responsible {
            record["responsible_user_id"] = json!(id);
        }
        let body = json!([record]);
        let answer = self
            .v4_json(
                "creating the amoCRM contact",
                Method::POST,
                "/api/v4/contacts",
                &[],
                Some(&body),
            )
            .await?
            .unwrap_or(Value::Null);
        let id = embedded(&answer, "contacts")
            .first()
            .and_then(|c| c.get("id"))
            .and_then(as_u64)
            .ok_or_else(|| Error::internal("amoCRM created the contact but sent no id"))?;
        let e164 = match self.settings.numbers.normalize(phone) {
            PhoneNumber::E164(e) => Some(e),
            _ => None,
        };
        let created = Contact {
            source: RecordSource {
                system: SYSTEM.to_string(),
                id: id.to_string(),
                url: Some(format!("{}/contacts/detail/{id}", self.settings.base_url)),
            },
            name: name.to_string(),
            company: None,
            phones: if phone.is_empty() {
                Vec::new()
            } else {
                vec![PhoneEntry {
                    label: Some("work".to_string()),
                    raw: phone.to_string(),
                    e164,
                }]
            },
            email: email.map(str::to_string),
            notes: None,
            updated_at: None,
        };
        Ok((body, created))
    }
}
