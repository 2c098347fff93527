//! The REST methods.
//!
//! Telephony (vendor doc for register; notes §5.5 for the rest):
//! - every `telephony.*` method through the inbound webhook answers 401
//!   `WRONG_AUTH_TYPE` "Current authorization type is denied for this
//!   method" unless `webhook_telephony` (notes §5.5/§5.8: app context only;
//!   the HTTP status is inferred).
//! - `register`: `USER_ID` or `USER_PHONE_INNER` (vendor doc: "only one of
//!   two is required"; the user must exist, inferred), `PHONE_NUMBER`
//!   (required; no digits → `ERROR_CORE` "Unsupported phone number format",
//!   notes), `TYPE` 1–5 (required; notes add 5 informational),
//!   `CALL_START_DATE` (optional, defaults to now, notes; vendor doc: "the
//!   date must pass an hour zone": a parseable date without an offset → 400
//!   `ERROR_CORE` "CALL_START_DATE must include a time zone" (inferred), an
//!   unparseable one → `ERROR_CORE` "CALL_START_DATE should be in the
//!   ISO-8601 format." (notes)), `CRM_CREATE`, `CRM_SOURCE`,
//!   `CRM_ENTITY_TYPE`/`CRM_ENTITY_ID` (force the binding), `SHOW` (default
//!   1), `LINE_NUMBER`, `EXTERNAL_CALL_ID`.
//!   **CALL_ID reuse** (vendor doc; key from notes §5.5/§5.9): a register
//!   with the same user, phone ([`crate::phone_matches`], so `647 46 01 97`
//!   and `+34647460197` are the same number; inferred), TYPE, LINE_NUMBER and
//!   EXTERNAL_CALL_ID (both absent counts as the same) while that call is
//!   unfinished and registered less than 30 minutes ago answers the same
//!   CALL_ID and the same result (nothing new is created, inferred). So a
//!   new EXTERNAL_CALL_ID always gets a new CALL_ID, and repeating one is
//!   idempotent.
//!   Binding: forced entity, else the first contact, company, then lead
//!   whose phone matches ([`crate::phone_matches`]), else with
//!   `CRM_CREATE=1` a new lead titled `<PHONE_NUMBER> - Incoming call`
//!   (`Outgoing` for TYPE 1, `Callback` for 4; inferred), reported in
//!   `CRM_CREATED_LEAD` and `CRM_CREATED_ENTITIES`.
//! - `show`/`hide`: `CALL_ID` + `USER_ID` (int or array) → `true`; `false`
//!   for an unknown CALL_ID (notes, official); missing params → 400.
//! - `finish`: `CALL_ID`, `USER_ID`/`USER_PHONE_INNER`, `DURATION` (0),
//!   `STATUS_CODE` (default 200 when DURATION > 0 else 304; one of
//!   [`crate::STATUS_CODES`]), `COST`, `COST_CURRENCY`, `VOTE` (1–5),
//!   `ADD_TO_CHAT`, `FAILED_REASON`, `RECORD_URL`. The result is the notes'
//!   statistics row (`CALL_START_DATE` is `{}`, as in the notes' sample).
//!   Unknown **or already finished** CALL_ID → 400 `ERROR_CORE` "Call is not
//!   found (call should be registered prior to finishing)" (notes §5.5/§5.8:
//!   the finished call leaves the active table, b24-rest-docs#175).
//! - `attachRecord`: after finish only, else 400 `ERROR_CORE` "Call is not
//!   found in the statistic table. It looks like it is not finished yet."
//!   (notes); `RECORD_URL` → `{"FILE_ID"}`; `FILENAME` + `FILE_CONTENT`
//!   (base64) → `{"FILE_ID"}`; `FILENAME` alone → `{"uploadUrl","fieldName"}`
//!   (nothing recorded). Only `.mp3`/`.wav` file names.
//!
//! Users (notes §5.8): `user.get` with `FILTER` or top-level fields (`ID`,
//! `UF_PHONE_INNER`, …); `profile` / `user.current`: the acting user;
//! `app.info`: the application (OAuth only, webhook → `WRONG_AUTH_TYPE`,
//! inferred).
//!
//! CRM (notes §5.7): `crm.duplicate.findbycomm` (`TYPE`=PHONE, `VALUES` ≤ 20,
//! optional `ENTITY_TYPE`; exact digits after dropping formatting and
//! extensions, so `647460197` finds `647 46 01 97` but `+34647460197` does
//! not (inferred); no match → `[]`, notes; ≥ 20 hits in a type → only that
//! type); `crm.contact.get`, `crm.company.get`, `crm.lead.get` (`id`; not
//! found → 400 `NOT_FOUND` "Not found", inferred); `crm.deal.list`
//! (`filter` on `CONTACT_ID`, `CLOSED`, `STAGE_ID`, `ID`, an optional `=`
//! prefix; `select`; `start`; 50 per page ordered by ID; `total`, and
//! `next` when more).

use serde_json::{Value, json};

use crate::params::{Params, list_of};
use crate::server::{Ctx, Reply, State, iso};
use crate::store::{Binding, STATUS_CODES, digits, phone_matches};
use crate::{AuthKind, ExternalCall, Finish};

const PAGE: usize = 50;

pub(crate) fn handle(state: &mut State, ctx: &Ctx, params: &Params) -> Reply {
    let method = ctx.method.as_str();
    if ctx.auth == AuthKind::Webhook
        && ((method.starts_with("telephony.") && !state.config.webhook_telephony)
            || method == "app.info")
    {
        return Reply::error(
            401,
            "WRONG_AUTH_TYPE",
            "Current authorization type is denied for this method",
        );
    }
    match method {
        "telephony.externalcall.register" => register(state, params),
        "telephony.externalcall.show" => show_hide(state, params, true),
        "telephony.externalcall.hide" => show_hide(state, params, false),
        "telephony.externalcall.finish" => finish(state, params),
        "telephony.externalcall.attachrecord" => attach_record(state, params),
        "user.get" => user_get(state, params),
        "profile" | "user.current" => profile(state, ctx.user_id),
        "app.info" => app_info(state),
        "crm.duplicate.findbycomm" => find_by_comm(state, params),
        "crm.contact.get" => entity_get(state, params, "CONTACT"),
        "crm.company.get" => entity_get(state, params, "COMPANY"),
        "crm.lead.get" => entity_get(state, params, "LEAD"),
        "crm.deal.list" => deal_list(state, params),
        _ => Reply::error(404, "ERROR_METHOD_NOT_FOUND", "Method not found!"),
    }
}

fn invalid(description: &str) -> Reply {
    Reply::bad("INVALID_ARGUMENT", description)
}

fn core(description: &str) -> Reply {
    Reply::bad("ERROR_CORE", description)
}

/// `USER_ID` or `USER_PHONE_INNER` → an existing user.
fn resolve_user(state: &State, params: &Params) -> Result<u32, Reply> {
    if let Some(id) = params.str("USER_ID") {
        let user = id.parse::<u32>().ok().and_then(|id| state.store.user(id));
        return user
            .map(|u| u.id)
            .ok_or_else(|| core(&format!("User {id} is not found")));
    }
    if let Some(inner) = params.str("USER_PHONE_INNER") {
        return state
            .store
            .user_by_inner(&inner)
            .map(|u| u.id)
            .ok_or_else(|| core(&format!("User with USER_PHONE_INNER {inner} is not found")));
    }
    Err(invalid("USER_ID or USER_PHONE_INNER should be set"))
}

/// `CALL_START_DATE`: ISO 8601 with an offset.
fn check_start_date(value: &str) -> Result<(), Reply> {
    use chrono::{DateTime, NaiveDate, NaiveDateTime};
    let with_offset = DateTime::parse_from_rfc3339(value).is_ok()
        || [
            "%Y-%m-%dT%H:%M:%S%z",
            "%Y-%m-%dT%H:%M%:z",
            "%Y-%m-%dT%H:%M%z",
        ]
        .iter()
        .any(|f| DateTime::parse_from_str(value, f).is_ok());
    if with_offset {
        return Ok(());
    }
    let naive = [
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%dT%H:%M:%S",
        "%Y-%m-%dT%H:%M",
        "%Y-%m-%d %H:%M:%S",
    ]
    .iter()
    .any(|f| NaiveDateTime::parse_from_str(value, f).is_ok())
        || NaiveDate::parse_from_str(value, "%Y-%m-%d").is_ok();
    Err(if naive {
        core("CALL_START_DATE must include a time zone")
    } else {
        core("CALL_START_DATE should be in the ISO-8601 format.")
    })
}

/// What a new call is registered with.
pub(crate) struct NewCall {
    pub(crate) user_id: u32,
    pub(crate) phone: String,
    pub(crate) call_type: u8,
    pub(crate) start_date: Option<String>,
    pub(crate) crm_create: bool,
    pub(crate) show: bool,
    pub(crate) crm_source: Option<String>,
    pub(crate) line_number: Option<String>,
    pub(crate) external_call_id: Option<String>,
    pub(crate) forced: Option<Binding>,
    pub(crate) from_crm_click: bool,
}

/// Registers a new call (no reuse check); returns its index.
pub(crate) fn new_call(state: &mut State, n: NewCall) -> usize {
    let now = state.now();
    let store = &mut state.store;
    let mut binding = n.forced.or_else(|| store.bind(&n.phone));
    let mut created_lead = None;
    if binding.is_none() && n.crm_create {
        let kind = match n.call_type {
            1 => "Outgoing",
            4 => "Callback",
            _ => "Incoming",
        };
        let title = format!("{} - {kind} call", n.phone);
        let id = store.add_lead(&title, &n.phone, n.crm_source.as_deref(), now);
        created_lead = Some(id);
        binding = Some(("LEAD", id));
    }
    let call_id = store.new_call_id(now);
    store.calls.push(ExternalCall {
        call_id,
        external_call_id: n.external_call_id,
        user_id: n.user_id,
        phone_number: n.phone,
        call_type: n.call_type,
        start_date: n.start_date.unwrap_or_else(|| iso(now)),
        crm_create: n.crm_create,
        show: n.show,
        crm_source: n.crm_source,
        line_number: n.line_number,
        crm_entity_type: binding.map(|b| b.0.to_owned()),
        crm_entity_id: binding.map(|b| b.1),
        shown_to: if n.show { vec![n.user_id] } else { Vec::new() },
        hidden_from: Vec::new(),
        finished: None,
        records: Vec::new(),
        created_lead,
        registrations: 1,
        from_crm_click: n.from_crm_click,
        registered_at: now,
    });
    store.calls.len() - 1
}

fn register_result(call: &ExternalCall) -> Value {
    let created: Vec<Value> = call
        .created_lead
        .map(|id| json!({"ENTITY_TYPE": "LEAD", "ENTITY_ID": id}))
        .into_iter()
        .collect();
    json!({
        "CALL_ID": call.call_id,
        "CRM_CREATED_LEAD": call.created_lead,
        "CRM_CREATED_ENTITIES": created,
        "CRM_ENTITY_TYPE": call.crm_entity_type,
        "CRM_ENTITY_ID": call.crm_entity_id,
    })
}

fn register(state: &mut State, params: &Params) -> Reply {
    let user_id = match resolve_user(state, params) {
        Ok(id) => id,
        Err(reply) => return reply,
    };
    let Some(phone) = params.str("PHONE_NUMBER") else {
        return invalid("PHONE_NUMBER should be set");
    };
    if digits(&phone).is_empty() {
        return core("Unsupported phone number format");
    }
    let call_type = match params.str("TYPE").and_then(|t| t.parse::<u8>().ok()) {
        Some(t @ 1..=5) => t,
        _ => return invalid("TYPE should be one of 1, 2, 3, 4, 5"),
    };
    let start_date = params.str("CALL_START_DATE");
    if let Some(date) = &start_date
        && let Err(reply) = check_start_date(date)
    {
        return reply;
    }
    let forced = match (params.str("CRM_ENTITY_TYPE"), params.str("CRM_ENTITY_ID")) {
        (Some(t), Some(id)) => {
            let t = t.to_ascii_uppercase();
            let kind = ["CONTACT", "COMPANY", "LEAD"].into_iter().find(|k| *k == t);
            match (kind, id.parse::<u32>().ok()) {
                (Some(kind), Some(id)) if state.store.exists(kind, id) => Some((kind, id)),
                _ => return core("CRM entity is not found"),
            }
        }
        _ => None,
    };
    let show = params.flag("SHOW", true);
    let line_number = params.str("LINE_NUMBER");
    let external_call_id = params.str("EXTERNAL_CALL_ID");
    let now = state.now();
    let window = crate::CALL_ID_REUSE_WINDOW.as_secs();
    if let Some(call) = state.store.calls.iter_mut().find(|c| {
        c.finished.is_none()
            && c.user_id == user_id
            && phone_matches(&c.phone_number, &phone)
            && c.call_type == call_type
            && c.line_number == line_number
            && c.external_call_id == external_call_id
            && now < c.registered_at + window
    }) {
        call.registrations += 1;
        if show {
            call.shown_to.push(user_id);
        }
        return Reply::ok(register_result(call));
    }
    let index = new_call(
        state,
        NewCall {
            user_id,
            phone,
            call_type,
            start_date,
            crm_create: params.flag("CRM_CREATE", false),
            show,
            crm_source: params.str("CRM_SOURCE"),
            line_number,
            external_call_id,
            forced,
            from_crm_click: false,
        },
    );
    Reply::ok(register_result(&state.store.calls[index]))
}

fn show_hide(state: &mut State, params: &Params, show: bool) -> Reply {
    let Some(call_id) = params.str("CALL_ID") else {
        return invalid("CALL_ID must be a string");
    };
    let users: Vec<u32> = list_of(params.get("USER_ID"))
        .iter()
        .filter_map(|u| u.trim().parse().ok())
        .collect();
    if users.is_empty() {
        return invalid("USER_ID should be set");
    }
    let Some(call) = state.store.call_mut(&call_id) else {
        return Reply::ok(json!(false));
    };
    if show {
        call.shown_to.extend(users);
    } else {
        call.hidden_from.extend(users);
    }
    Reply::ok(json!(true))
}

fn finish(state: &mut State, params: &Params) -> Reply {
    let Some(call_id) = params.str("CALL_ID") else {
        return invalid("CALL_ID must be a string");
    };
    let user_id = match resolve_user(state, params) {
        Ok(id) => id,
        Err(reply) => return reply,
    };
    let duration = match params.str("DURATION").map(|d| d.parse::<u64>()) {
        None => 0,
        Some(Ok(d)) => d,
        Some(Err(_)) => return invalid("DURATION must be an integer"),
    };
    let status_code = match params.str("STATUS_CODE") {
        None if duration > 0 => "200".to_owned(),
        None => "304".to_owned(),
        Some(code) => match STATUS_CODES.iter().find(|c| c.eq_ignore_ascii_case(&code)) {
            Some(c) => (*c).to_owned(),
            None => return invalid(&format!("Unknown STATUS_CODE {code}")),
        },
    };
    let vote = match params.str("VOTE").map(|v| v.parse::<u8>()) {
        None => None,
        Some(Ok(v @ 1..=5)) => Some(v),
        Some(_) => return invalid("VOTE should be between 1 and 5"),
    };
    let activity = state.store.next_activity + 1;
    let index = state
        .store
        .calls
        .iter()
        .filter(|c| c.finished.is_some())
        .count()
        + 1;
    let Some(call) = state
        .store
        .calls
        .iter_mut()
        .find(|c| c.call_id == call_id && c.finished.is_none())
    else {
        return core("Call is not found (call should be registered prior to finishing)");
    };
    let activity_id = call.crm_entity_id.map(|_| activity);
    let done = Finish {
        user_id,
        duration,
        status_code,
        cost: params.str("COST"),
        cost_currency: params.str("COST_CURRENCY"),
        vote,
        add_to_chat: params.flag("ADD_TO_CHAT", true),
        failed_reason: params.str("FAILED_REASON"),
        record_url: params.str("RECORD_URL"),
        activity_id,
    };
    let row = json!({
        "CALL_ID": call.call_id,
        "EXTERNAL_CALL_ID": call.external_call_id,
        "PORTAL_USER_ID": user_id,
        "PHONE_NUMBER": call.phone_number,
        "PORTAL_NUMBER": call.line_number.clone().unwrap_or_default(),
        "INCOMING": call.call_type.to_string(),
        "CALL_DURATION": duration,
        "CALL_START_DATE": {},
        "CALL_STATUS": u8::from(done.status_code == "200"),
        "CALL_VOTE": done.vote,
        "COST": done.cost.as_deref().and_then(|c| c.parse::<f64>().ok()).unwrap_or(0.0),
        "COST_CURRENCY": done.cost_currency.clone().unwrap_or_default(),
        "CALL_FAILED_CODE": done.status_code,
        "CALL_FAILED_REASON": done.failed_reason.clone().unwrap_or_default(),
        "REST_APP_ID": "1",
        "REST_APP_NAME": "Ringside",
        "CRM_ACTIVITY_ID": activity_id,
        "COMMENT": null,
        "CRM_ENTITY_TYPE": call.crm_entity_type,
        "CRM_ENTITY_ID": call.crm_entity_id,
        "ID": index,
    });
    call.finished = Some(done);
    if activity_id.is_some() {
        state.store.next_activity = activity;
    }
    Reply::ok(row)
}

fn looks_base64(s: &str) -> bool {
    let s: String = s.chars().filter(|c| !c.is_ascii_whitespace()).collect();
    !s.is_empty()
        && s.len().is_multiple_of(4)
        && s.trim_end_matches('=')
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '+' || c == '/')
}

fn attach_record(state: &mut State, params: &Params) -> Reply {
    let Some(call_id) = params.str("CALL_ID") else {
        return invalid("CALL_ID must be a string");
    };
    let filename = params.str("FILENAME");
    let url = params.str("RECORD_URL");
    let content = params.str("FILE_CONTENT");
    let base = state.base_url.clone();
    let file_id = state.store.next_file + 1;
    let Some(call) = state.store.call_mut(&call_id) else {
        return core("Call is not found");
    };
    if call.finished.is_none() {
        return core(
            "Call is not found in the statistic table. It looks like it is not finished yet.",
        );
    }
    if let Some(name) = &filename {
        let lower = name.to_ascii_lowercase();
        if !(lower.ends_with(".mp3") || lower.ends_with(".wav")) {
            return core("Wrong file extension. Only mp3 and wav files are allowed");
        }
    }
    let record = match (&url, &content, &filename) {
        (Some(url), _, _) => {
            let name = filename.clone().unwrap_or_else(|| {
                url.rsplit('/')
                    .next()
                    .map(|s| s.split('?').next().unwrap_or(s).to_owned())
                    .filter(|s| !s.is_empty())
                    .unwrap_or_else(|| "record.mp3".to_owned())
            });
            (name, url.clone())
        }
        (None, Some(content), Some(name)) => {
            if !looks_base64(content) {
                return core("Error decoding file content");
            }
            (
                name.clone(),
                format!("{base}/disk/downloadFile/{file_id}/{name}"),
            )
        }
        (None, Some(_), None) => return invalid("FILENAME should be set"),
        (None, None, Some(_)) => {
            return Reply::ok(json!({
                "uploadUrl": format!("{base}/rest/upload.json?auth=upload&token=rec{file_id}"),
                "fieldName": "file",
            }));
        }
        (None, None, None) => return invalid("RECORD_URL, FILE_CONTENT or FILENAME should be set"),
    };
    call.records.push(record);
    state.store.next_file = file_id;
    Reply::ok(json!({"FILE_ID": file_id}))
}

fn user_json(u: &crate::store::User) -> Value {
    json!({
        "ID": u.id.to_string(),
        "ACTIVE": true,
        "NAME": u.name,
        "LAST_NAME": u.last_name,
        "EMAIL": u.email,
        "UF_PHONE_INNER": u.inner_phone,
    })
}

/// `start` as a page offset.
fn start_of(params: &Params) -> usize {
    params
        .str("start")
        .and_then(|s| s.parse::<i64>().ok())
        .map_or(0, |s| usize::try_from(s).unwrap_or(0))
}

/// One page of `items` with `total` and, when more follow, `next`.
fn page(items: Vec<Value>, start: usize) -> Reply {
    let total = items.len();
    let result: Vec<Value> = items.into_iter().skip(start).take(PAGE).collect();
    let mut extra = vec![("total", json!(total))];
    if start + PAGE < total {
        extra.insert(0, ("next", json!(start + PAGE)));
    }
    Reply::Ok {
        result: Value::Array(result),
        extra,
    }
}

fn user_get(state: &mut State, params: &Params) -> Reply {
    let filter = match params.get("FILTER") {
        Some(Value::Object(_)) => params.map("FILTER"),
        _ => params.clone(),
    };
    let users = state
        .store
        .users
        .iter()
        .map(user_json)
        .filter(|u| {
            ["ID", "UF_PHONE_INNER", "NAME", "LAST_NAME", "EMAIL"]
                .iter()
                .all(|field| match filter.str(field) {
                    None => true,
                    Some(want) => u[*field].as_str() == Some(want.as_str()),
                })
        })
        .collect();
    page(users, start_of(params))
}

fn profile(state: &mut State, user_id: u32) -> Reply {
    let Some(u) = state.store.user(user_id) else {
        return Reply::error(401, "NO_AUTH_FOUND", "Wrong authorization data");
    };
    Reply::ok(json!({
        "ID": u.id.to_string(),
        "ADMIN": u.id == 1,
        "NAME": u.name,
        "LAST_NAME": u.last_name,
        "PERSONAL_GENDER": "",
        "TIME_ZONE": "",
        "TIME_ZONE_OFFSET": 0,
    }))
}

fn app_info(state: &mut State) -> Reply {
    Reply::ok(json!({
        "ID": 1,
        "CODE": state.config.client_id,
        "VERSION": 1,
        "STATUS": "L",
        "INSTALLED": true,
        "PAYMENT_EXPIRED": "N",
        "DAYS": null,
        "LANGUAGE_ID": "en",
        "LICENSE": "en_project",
        "LICENSE_TYPE": "project",
        "LICENSE_FAMILY": "project",
    }))
}

fn find_by_comm(state: &mut State, params: &Params) -> Reply {
    let Some(kind) = params.str("TYPE") else {
        return invalid("Parameter 'TYPE' is not specified");
    };
    let values = params.list("VALUES");
    if values.is_empty() {
        return invalid("Parameter 'VALUES' is not specified");
    }
    if values.len() > 20 {
        return invalid(&format!(
            "Too many values: {}. The maximum is 20.",
            values.len()
        ));
    }
    let types: Vec<&str> = match params.str("ENTITY_TYPE").map(|t| t.to_ascii_uppercase()) {
        None => vec!["LEAD", "CONTACT", "COMPANY"],
        Some(t) => match ["LEAD", "CONTACT", "COMPANY"].into_iter().find(|k| *k == t) {
            Some(k) => vec![k],
            None => return invalid(&format!("Unsupported ENTITY_TYPE {t}")),
        },
    };
    match kind.to_ascii_uppercase().as_str() {
        "PHONE" => {}
        "EMAIL" => return Reply::ok(json!([])),
        other => return invalid(&format!("Unsupported communication type {other}")),
    }
    let mut hits: Vec<(&str, Vec<u32>)> = types
        .into_iter()
        .map(|t| (t, state.store.find_by_phone(t, &values)))
        .filter(|(_, ids)| !ids.is_empty())
        .collect();
    if let Some(full) = hits.iter().position(|(_, ids)| ids.len() >= 20) {
        hits = vec![hits.swap_remove(full)];
    }
    if hits.is_empty() {
        return Reply::ok(json!([]));
    }
    let map: serde_json::Map<String, Value> = hits
        .into_iter()
        .map(|(t, ids)| (t.to_owned(), json!(ids)))
        .collect();
    Reply::ok(Value::Object(map))
}

fn phones_json(base: u32, phones: &[String]) -> Value {
    phones
        .iter()
        .enumerate()
        .map(|(i, p)| {
            json!({"ID": (base + i as u32).to_string(), "VALUE_TYPE": "WORK", "VALUE": p, "TYPE_ID": "PHONE"})
        })
        .collect()
}

fn entity_get(state: &mut State, params: &Params, kind: &str) -> Reply {
    let Some(id) = params.str("ID").and_then(|i| i.parse::<u32>().ok()) else {
        return invalid("ID is not defined or invalid.");
    };
    let store = &state.store;
    let (mut value, phones, created) = match kind {
        "CONTACT" => match store.contacts.iter().find(|c| c.id == id) {
            Some(c) => (
                json!({
                    "ID": c.id.to_string(), "NAME": c.name, "LAST_NAME": c.last_name,
                    "SECOND_NAME": null, "COMPANY_ID": c.company_id.map(|i| i.to_string()),
                }),
                c.phones.clone(),
                c.created,
            ),
            None => return Reply::bad("NOT_FOUND", "Not found"),
        },
        "COMPANY" => match store.companies.iter().find(|c| c.id == id) {
            Some(c) => (
                json!({"ID": c.id.to_string(), "TITLE": c.title}),
                c.phones.clone(),
                c.created,
            ),
            None => return Reply::bad("NOT_FOUND", "Not found"),
        },
        _ => match store.leads.iter().find(|l| l.id == id) {
            Some(l) => (
                json!({
                    "ID": l.id.to_string(), "TITLE": l.title, "STATUS_ID": "NEW",
                    "SOURCE_ID": l.source_id, "OPENED": "Y",
                    "ASSIGNED_BY_ID": l.assigned_by.to_string(),
                }),
                l.phones.clone(),
                l.created,
            ),
            None => return Reply::bad("NOT_FOUND", "Not found"),
        },
    };
    let multifield_base = match kind {
        "CONTACT" => 100,
        "COMPANY" => 500_000,
        _ => 900_000,
    } + id * 10;
    if let Value::Object(map) = &mut value {
        map.insert(
            "HAS_PHONE".into(),
            json!(if phones.is_empty() { "N" } else { "Y" }),
        );
        if !phones.is_empty() {
            map.insert("PHONE".into(), phones_json(multifield_base, &phones));
        }
        map.entry("ASSIGNED_BY_ID").or_insert(json!("1"));
        map.insert("DATE_CREATE".into(), json!(iso(created)));
        map.insert("DATE_MODIFY".into(), json!(iso(created)));
    }
    Reply::ok(value)
}

fn deal_list(state: &mut State, params: &Params) -> Reply {
    let filter = params.map("filter");
    let conditions: Vec<(String, String)> = filter
        .0
        .iter()
        .filter_map(|(k, v)| {
            let key = k.trim_start_matches('=').to_ascii_uppercase();
            crate::params::scalar(v).map(|v| (key, v))
        })
        .collect();
    let select: Vec<String> = params
        .list("select")
        .into_iter()
        .map(|s| s.to_ascii_uppercase())
        .collect();
    let store = &state.store;
    let deals: Vec<Value> = store
        .deals
        .iter()
        .map(|deal| {
            let d = &deal.d;
            let company = store
                .contacts
                .iter()
                .find(|c| c.id == d.contact_id)
                .and_then(|c| c.company_id);
            json!({
                "ID": deal.id.to_string(),
                "TITLE": d.title,
                "STAGE_ID": d.stage_id,
                "CATEGORY_ID": "0",
                "OPPORTUNITY": d.opportunity,
                "CURRENCY_ID": d.currency_id,
                "CLOSEDATE": d.close_date.as_ref().map(|c| format!("{c}T00:00:00+00:00")).unwrap_or_default(),
                "CLOSED": if d.closed { "Y" } else { "N" },
                "CONTACT_ID": d.contact_id.to_string(),
                "COMPANY_ID": company.map(|c| c.to_string()),
                "ASSIGNED_BY_ID": "1",
                "DATE_CREATE": iso(deal.created),
                "DATE_MODIFY": iso(deal.created),
            })
        })
        .filter(|deal| {
            conditions.iter().all(|(key, want)| match deal.get(key) {
                Some(Value::String(have)) => have.eq_ignore_ascii_case(want),
                Some(Value::Null) => want.is_empty(),
                _ => true,
            })
        })
        .map(|deal| {
            if select.is_empty() || select.iter().any(|s| s == "*") {
                return deal;
            }
            let Value::Object(map) = deal else {
                return deal;
            };
            Value::Object(
                map.into_iter()
                    .filter(|(k, _)| k == "ID" || select.contains(k))
                    .collect(),
            )
        })
        .collect();
    page(deals, start_of(params))
}
