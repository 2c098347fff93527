//! API v4 (`/api/v4/...`): account, users, contacts (search and create),
//! leads, pipelines, companies, calls and call notes. Answers are
//! `application/hal+json`; errors `application/problem+json`.
//!
//! Rules:
//! - notes §4.5 (official): `GET /api/v4/contacts?query=` searches **all
//!   filled fields** (name, every PHONE/EMAIL value, custom text fields),
//!   as a substring of the raw stored text (case-insensitive); `limit` ≤ 250
//!   (else 400 validation problem, inferred), `page` from 1; `with=leads`
//!   embeds **lead ids only** (`{"id","_links"}`); companies are always
//!   embedded as ids (inferred).
//! - notes §4.5 / §4.7 (3P): no results, or a page past the end → **204
//!   with an empty body**; `+79995551122` and `89995551122` are different
//!   strings: a query is matched against the stored text as typed.
//! - inferred: a query of digits only is compared with each field's digits
//!   (so `647460197` finds `647 46 01 97`, but `89995551122` still does not
//!   find `+7 999 555 11 22`).
//! - notes §4.5 (inferred there): `GET /api/v4/leads?filter[id][]=…`
//!   (PHP-style array keys; `filter[id][0]=`, and a single `filter[id]=`
//!   are accepted too); `with=contacts` embeds contact ids. A single
//!   entity by id that does not exist → 204 (inferred).
//! - notes §4.3 (official / official-lib / 3P): `POST /api/v4/calls`, see
//!   [`post_calls`].
//! - inferred: `GET /api/v4/{leads|contacts|companies}[/{id}]/notes` with
//!   `filter[note_type][]`, `filter[updated_at][from|to]`,
//!   `filter[entity_id][]`, `filter[id][]`, `limit`/`page`; 204 when none.

use axum::http::Method;
use serde_json::{Map, Value, json};

use crate::CallRecord;
use crate::Via;
use crate::server::{HAL, Incoming, PROBLEM, Reply, State};
use crate::store::{
    Company, Contact, EMAIL_FIELD_ID, Lead, NOTES_FIELD_ID, Note, PHONE_FIELD_ID, digits,
};

/// The most a list may ask for (notes §4.5).
const MAX_LIMIT: usize = 250;
/// The default page size (inferred; amo's is 50).
const DEFAULT_LIMIT: usize = 50;
/// The PHONE `enum_code`s amo knows.
const PHONE_ENUMS: [&str; 6] = ["WORK", "WORKDD", "MOBILE", "FAX", "HOME", "OTHER"];

/// One validation error: `(code, path, detail)`.
type FieldError = (String, String, String);

fn field_error(code: &str, path: &str, detail: &str) -> FieldError {
    (code.to_owned(), path.to_owned(), detail.to_owned())
}

/// The 400 validation problem (notes §4.3):
/// `{"validation-errors":[{"request_id","errors":[{"code","path","detail"}]}],"title":"Bad Request","type":"https://httpstatus.es/400","status":400,"detail":"Request validation failed"}`.
fn validation(items: Vec<(String, Vec<FieldError>)>) -> Reply {
    let items: Vec<Value> = items
        .into_iter()
        .map(|(request_id, errors)| {
            let errors: Vec<Value> = errors
                .into_iter()
                .map(|(code, path, detail)| json!({"code": code, "path": path, "detail": detail}))
                .collect();
            json!({"request_id": request_id, "errors": errors})
        })
        .collect();
    Reply::json(
        400,
        json!({
            "validation-errors": items,
            "title": "Bad Request",
            "type": "https://httpstatus.es/400",
            "status": 400,
            "detail": "Request validation failed",
        }),
        PROBLEM,
    )
}

fn not_found() -> Reply {
    Reply::problem(404, "Not Found", "Not found")
}

pub(crate) fn handle(state: &mut State, incoming: &Incoming) -> Reply {
    let rest = incoming
        .path
        .trim_start_matches("/api/v4")
        .trim_matches('/');
    let segments: Vec<&str> = rest.split('/').collect();
    let get = incoming.method == Method::GET;
    let post = incoming.method == Method::POST;
    match segments[..] {
        [entity, "notes"] if get && is_entity(entity) => notes(state, incoming, entity, None),
        [entity, id, "notes"] if get && is_entity(entity) => match id.parse::<u64>() {
            Ok(id) => notes(state, incoming, entity, Some(id)),
            Err(_) => not_found(),
        },
        ["account"] if get => account(state),
        ["users"] if get => users(state, incoming),
        ["contacts"] if get => search_contacts(state, incoming),
        ["contacts"] if post => post_contacts(state, incoming),
        ["contacts", id] if get => by_id(id, |id| {
            state
                .store
                .contact(id)
                .map(|c| contact_json(state, c, wants(incoming, "leads")))
        }),
        ["leads"] if get => leads(state, incoming),
        ["leads", "pipelines"] if get => pipelines(state),
        ["leads", "pipelines", id] if get => by_id(id, |id| {
            state
                .store
                .pipelines
                .iter()
                .find(|p| u64::from(p.id) == id)
                .map(|p| pipeline_json(state, p))
        }),
        ["leads", id] if get => by_id(id, |id| {
            state
                .store
                .lead(id)
                .map(|l| lead_json(state, l, wants(incoming, "contacts")))
        }),
        ["companies", id] if get => by_id(id, |id| {
            state.store.company(id).map(|c| company_json(state, c))
        }),
        ["calls"] if post => post_calls(state, incoming),
        _ => not_found(),
    }
}

fn is_entity(entity: &str) -> bool {
    matches!(entity, "leads" | "contacts" | "companies")
}

/// Whether `with=` lists `what`.
fn wants(incoming: &Incoming, what: &str) -> bool {
    incoming
        .query("with")
        .is_some_and(|w| w.split(',').any(|x| x.trim() == what))
}

fn by_id(id: &str, find: impl FnOnce(u64) -> Option<Value>) -> Reply {
    match id.parse::<u64>().ok().and_then(find) {
        Some(value) => Reply::hal(value),
        None if id.parse::<u64>().is_ok() => Reply::no_content(),
        None => not_found(),
    }
}

fn link(state: &State, path: &str) -> Value {
    json!({"self": {"href": format!("{}{path}", state.base_url)}})
}

/// `limit` and `page` (1-based), or the 400 validation problem.
fn paging(incoming: &Incoming) -> Result<(usize, usize), Reply> {
    let mut errors = Vec::new();
    let limit = match incoming.query("limit") {
        None => DEFAULT_LIMIT,
        Some(raw) => match raw.parse::<usize>() {
            Ok(n) if (1..=MAX_LIMIT).contains(&n) => n,
            _ => {
                errors.push(field_error(
                    "InvalidLimit",
                    "limit",
                    &format!("The limit must be between 1 and {MAX_LIMIT}"),
                ));
                0
            }
        },
    };
    let page = match incoming.query("page") {
        None => 1,
        Some(raw) => match raw.parse::<usize>() {
            Ok(n) if n >= 1 => n,
            _ => {
                errors.push(field_error(
                    "InvalidPage",
                    "page",
                    "The page must be a positive integer",
                ));
                0
            }
        },
    };
    if errors.is_empty() {
        Ok((limit, page))
    } else {
        Err(validation(vec![("0".to_owned(), errors)]))
    }
}

/// One page of a list as `{"_page","_links","_embedded":{key:[…]}}`, or 204
/// when the page is empty.
fn page_of(
    state: &State,
    incoming: &Incoming,
    key: &str,
    items: Vec<Value>,
    (limit, page): (usize, usize),
) -> Reply {
    let total = items.len();
    let items: Vec<Value> = items
        .into_iter()
        .skip((page - 1) * limit)
        .take(limit)
        .collect();
    if items.is_empty() {
        return Reply::no_content();
    }
    let mut links = link(
        state,
        &format!("{}?page={page}&limit={limit}", incoming.path),
    );
    if page * limit < total {
        links["next"] = json!({"href": format!("{}{}?page={}&limit={limit}", state.base_url, incoming.path, page + 1)});
    }
    Reply::hal(json!({"_page": page, "_links": links, "_embedded": {key: items}}))
}

fn account(state: &State) -> Reply {
    let c = &state.config;
    Reply::hal(json!({
        "id": c.account_id,
        "name": format!("{} (Ringside)", c.subdomain),
        "subdomain": c.subdomain,
        "created_at": 1_577_836_800,
        "created_by": 0,
        "updated_at": 1_577_836_800,
        "updated_by": 0,
        "current_user_id": state.store.users.first().map_or(0, |u| u.id),
        "country": "ES",
        "currency": c.currency,
        "currency_symbol": if c.currency == "EUR" { "€" } else { "" },
        "customers_mode": "disabled",
        "is_unsorted_on": true,
        "mobile_feature_version": 0,
        "is_loss_reason_enabled": false,
        "is_helpbot_enabled": false,
        "is_technical_account": false,
        "contact_name_display_order": 1,
        "_links": link(state, "/api/v4/account"),
    }))
}

fn users(state: &State, incoming: &Incoming) -> Reply {
    let paging = match paging(incoming) {
        Ok(p) => p,
        Err(reply) => return reply,
    };
    let users = state
        .store
        .users
        .iter()
        .map(|u| {
            json!({
                "id": u.id, "name": u.name, "email": u.email, "lang": "es",
                "_links": link(state, &format!("/api/v4/users/{}", u.id)),
            })
        })
        .collect();
    page_of(state, incoming, "users", users, paging)
}

fn phone_field(phones: &[(String, String)]) -> Value {
    let values: Vec<Value> = phones
        .iter()
        .map(|(value, enum_code)| json!({"value": value, "enum_code": enum_code}))
        .collect();
    json!({"field_id": PHONE_FIELD_ID, "field_name": "Teléfono", "field_code": "PHONE", "field_type": "multitext", "values": values})
}

fn contact_json(state: &State, c: &Contact, with_leads: bool) -> Value {
    let mut fields = Vec::new();
    if !c.phones.is_empty() {
        fields.push(phone_field(&c.phones));
    }
    if let Some(email) = &c.email {
        fields.push(json!({"field_id": EMAIL_FIELD_ID, "field_name": "Email", "field_code": "EMAIL", "field_type": "multitext", "values": [{"value": email, "enum_code": "WORK"}]}));
    }
    if let Some(text) = &c.notes_text {
        fields.push(json!({"field_id": NOTES_FIELD_ID, "field_name": "Notas", "field_code": null, "field_type": "textarea", "values": [{"value": text}]}));
    }
    let companies: Vec<Value> = c
        .company_id
        .map(|id| json!({"id": id, "_links": link(state, &format!("/api/v4/companies/{id}"))}))
        .into_iter()
        .collect();
    let mut embedded = json!({"tags": [], "companies": companies});
    if with_leads {
        let leads: Vec<Value> = state
            .store
            .leads_of(c.id)
            .map(|l| json!({"id": l.id, "_links": link(state, &format!("/api/v4/leads/{}", l.id))}))
            .collect();
        embedded["leads"] = json!(leads);
    }
    let (first, last) = c.name.split_once(' ').unwrap_or((c.name.as_str(), ""));
    json!({
        "id": c.id,
        "name": c.name,
        "first_name": first,
        "last_name": last,
        "responsible_user_id": c.responsible_user_id.unwrap_or(0),
        "group_id": 0,
        "created_by": 0,
        "updated_by": 0,
        "created_at": c.created_at,
        "updated_at": c.created_at,
        "closest_task_at": null,
        "is_deleted": false,
        "custom_fields_values": if fields.is_empty() { Value::Null } else { json!(fields) },
        "account_id": state.config.account_id,
        "_links": link(state, &format!("/api/v4/contacts/{}", c.id)),
        "_embedded": embedded,
    })
}

/// Whether `query` hits one field's raw text.
fn query_hits(query: &str, text: &str) -> bool {
    if query.chars().all(|ch| ch.is_ascii_digit()) {
        digits(text).contains(query)
    } else {
        text.to_lowercase().contains(&query.to_lowercase())
    }
}

fn search_contacts(state: &State, incoming: &Incoming) -> Reply {
    let paging = match paging(incoming) {
        Ok(p) => p,
        Err(reply) => return reply,
    };
    let query = incoming.query("query").unwrap_or("").trim();
    let with_leads = wants(incoming, "leads");
    let contacts = state
        .store
        .contacts
        .iter()
        .filter(|c| query.is_empty() || c.field_texts().iter().any(|t| query_hits(query, t)))
        .map(|c| contact_json(state, c, with_leads))
        .collect();
    page_of(state, incoming, "contacts", contacts, paging)
}

/// A JSON array body, or the 400 problem.
fn array_body(incoming: &Incoming) -> Result<Vec<Value>, Reply> {
    match serde_json::from_str::<Value>(&incoming.body) {
        Ok(Value::Array(items)) if !items.is_empty() => Ok(items),
        Ok(Value::Array(_)) => Err(Reply::problem(
            400,
            "Bad Request",
            "The request body must be a non-empty array",
        )),
        Ok(_) => Err(Reply::problem(
            400,
            "Bad Request",
            "The request body must be an array",
        )),
        Err(_) => Err(Reply::problem(
            400,
            "Bad Request",
            "The request body is not valid JSON",
        )),
    }
}

fn request_id_of(item: &Value, index: usize) -> String {
    match item.get("request_id") {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Number(n)) => n.to_string(),
        _ => index.to_string(),
    }
}

/// `POST /api/v4/contacts`: an array of contacts; any validation error
/// rejects the whole batch (inferred). Queued legacy calls to the new
/// phones are attached.
fn post_contacts(state: &mut State, incoming: &Incoming) -> Reply {
    let items = match array_body(incoming) {
        Ok(items) => items,
        Err(reply) => return reply,
    };
    let mut failed = Vec::new();
    let mut parsed = Vec::new();
    for (index, item) in items.iter().enumerate() {
        let request_id = request_id_of(item, index);
        let mut errors = Vec::new();
        let mut contact = crate::NewContact::default();
        let Some(obj) = item.as_object() else {
            failed.push((
                request_id,
                vec![field_error(
                    "InvalidType",
                    "",
                    "This value should be of type object.",
                )],
            ));
            continue;
        };
        let text = |k: &str| obj.get(k).and_then(Value::as_str).unwrap_or("").trim();
        contact.name = if text("name").is_empty() {
            format!("{} {}", text("first_name"), text("last_name"))
                .trim()
                .to_owned()
        } else {
            text("name").to_owned()
        };
        match obj.get("responsible_user_id") {
            None | Some(Value::Null) => {}
            Some(v) => match v.as_u64() {
                Some(id) if state.store.user_exists(id) => contact.responsible_user_id = Some(id),
                _ => errors.push(field_error(
                    "NotSupportedChoice",
                    "responsible_user_id",
                    "The value you selected is not a valid choice.",
                )),
            },
        }
        let fields = obj
            .get("custom_fields_values")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        for (f, field) in fields.iter().enumerate() {
            let code = field.get("field_code").and_then(Value::as_str);
            let id = field.get("field_id").and_then(Value::as_u64);
            let values = field
                .get("values")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default();
            let path = format!("custom_fields_values.{f}");
            for (v, value) in values.iter().enumerate() {
                let Some(text) = value.get("value").and_then(Value::as_str) else {
                    errors.push(field_error(
                        "NotBlank",
                        &format!("{path}.values.{v}.value"),
                        "This value should not be blank.",
                    ));
                    continue;
                };
                let enum_code = value
                    .get("enum_code")
                    .and_then(Value::as_str)
                    .unwrap_or("WORK");
                match (code, id) {
                    (Some("PHONE"), _) | (None, Some(PHONE_FIELD_ID)) => {
                        if PHONE_ENUMS.contains(&enum_code) {
                            contact.phones.push((text.to_owned(), enum_code.to_owned()));
                        } else {
                            errors.push(field_error(
                                "NotSupportedChoice",
                                &format!("{path}.values.{v}.enum_code"),
                                "The value you selected is not a valid choice.",
                            ));
                        }
                    }
                    (Some("EMAIL"), _) | (None, Some(EMAIL_FIELD_ID)) => {
                        contact.email = Some(text.to_owned());
                    }
                    (None, Some(NOTES_FIELD_ID)) => contact.notes_text = Some(text.to_owned()),
                    _ => errors.push(field_error(
                        "NotSupportedChoice",
                        &format!("{path}.field_id"),
                        "The value you selected is not a valid choice.",
                    )),
                }
            }
        }
        if errors.is_empty() {
            parsed.push((request_id, contact));
        } else {
            failed.push((request_id, errors));
        }
    }
    if !failed.is_empty() {
        return validation(failed);
    }
    let now = state.now();
    let created: Vec<Value> = parsed
        .into_iter()
        .map(|(request_id, contact)| {
            let id = state.store.add_contact(contact, now);
            json!({"id": id, "request_id": request_id, "is_deleted": false, "is_unsorted": false, "_links": link(state, &format!("/api/v4/contacts/{id}"))})
        })
        .collect();
    Reply::hal(
        json!({"_links": link(state, "/api/v4/contacts"), "_embedded": {"contacts": created}}),
    )
}

fn lead_json(state: &State, l: &Lead, with_contacts: bool) -> Value {
    let mut embedded = json!({"tags": [], "companies": []});
    if with_contacts {
        let contacts: Vec<Value> = l
            .contact_ids
            .iter()
            .enumerate()
            .map(|(i, id)| json!({"id": id, "is_main": i == 0, "_links": link(state, &format!("/api/v4/contacts/{id}"))}))
            .collect();
        embedded["contacts"] = json!(contacts);
    }
    json!({
        "id": l.id,
        "name": l.name,
        "price": l.price,
        "responsible_user_id": l.responsible_user_id,
        "group_id": 0,
        "status_id": l.status_id,
        "pipeline_id": l.pipeline_id,
        "loss_reason_id": null,
        "created_by": 0,
        "updated_by": 0,
        "created_at": l.created_at,
        "updated_at": l.closed_at.unwrap_or(l.created_at),
        "closed_at": l.closed_at,
        "closest_task_at": null,
        "is_deleted": false,
        "custom_fields_values": null,
        "score": null,
        "account_id": state.config.account_id,
        "_links": link(state, &format!("/api/v4/leads/{}", l.id)),
        "_embedded": embedded,
    })
}

/// The values of a PHP-style array filter `filter[<name>]`: `filter[name][]`,
/// `filter[name][N]` or a single `filter[name]`.
fn filter_values<'a>(incoming: &'a Incoming, name: &str) -> Vec<&'a str> {
    let base = format!("filter[{name}]");
    incoming
        .query
        .iter()
        .filter(|(k, _)| {
            k == &base
                || k.strip_prefix(base.as_str()).is_some_and(|rest| {
                    rest.starts_with('[')
                        && rest.ends_with(']')
                        && rest[1..rest.len() - 1].chars().all(|c| c.is_ascii_digit())
                })
        })
        .map(|(_, v)| v.as_str())
        .collect()
}

/// Numeric filter values, or the validation problem.
fn id_filter(incoming: &Incoming, name: &str) -> Result<Vec<u64>, Reply> {
    let mut ids = Vec::new();
    for value in filter_values(incoming, name) {
        match value.trim().parse::<u64>() {
            Ok(id) => ids.push(id),
            Err(_) => {
                return Err(validation(vec![(
                    "0".to_owned(),
                    vec![field_error(
                        "InvalidType",
                        &format!("filter.{name}"),
                        "This value should be of type int.",
                    )],
                )]));
            }
        }
    }
    Ok(ids)
}

fn leads(state: &State, incoming: &Incoming) -> Reply {
    let paging = match paging(incoming) {
        Ok(p) => p,
        Err(reply) => return reply,
    };
    let ids = match id_filter(incoming, "id") {
        Ok(ids) => ids,
        Err(reply) => return reply,
    };
    let with_contacts = wants(incoming, "contacts");
    let leads = state
        .store
        .leads
        .iter()
        .filter(|l| ids.is_empty() || ids.contains(&l.id))
        .map(|l| lead_json(state, l, with_contacts))
        .collect();
    page_of(state, incoming, "leads", leads, paging)
}

fn pipeline_json(state: &State, p: &crate::store::Pipeline) -> Value {
    let statuses: Vec<Value> = p
        .statuses
        .iter()
        .enumerate()
        .map(|(i, (id, name))| {
            let fixed = *id == crate::WON_STATUS || *id == crate::LOST_STATUS;
            json!({
                "id": id, "name": name, "sort": (i + 1) * 10, "is_editable": !fixed,
                "pipeline_id": p.id, "color": "#fffeb2", "type": 0,
                "account_id": state.config.account_id,
                "_links": link(state, &format!("/api/v4/leads/pipelines/{}/statuses/{id}", p.id)),
            })
        })
        .collect();
    json!({
        "id": p.id, "name": p.name, "sort": 1, "is_main": p.is_main,
        "is_unsorted_on": true, "is_archive": false,
        "account_id": state.config.account_id,
        "_links": link(state, &format!("/api/v4/leads/pipelines/{}", p.id)),
        "_embedded": {"statuses": statuses},
    })
}

fn pipelines(state: &State) -> Reply {
    let pipelines: Vec<Value> = state
        .store
        .pipelines
        .iter()
        .map(|p| pipeline_json(state, p))
        .collect();
    Reply::hal(json!({
        "_total_items": pipelines.len(),
        "_links": link(state, "/api/v4/leads/pipelines"),
        "_embedded": {"pipelines": pipelines},
    }))
}

fn company_json(state: &State, c: &Company) -> Value {
    json!({
        "id": c.id,
        "name": c.name,
        "responsible_user_id": state.store.users.first().map_or(0, |u| u.id),
        "group_id": 0,
        "created_by": 0,
        "updated_by": 0,
        "created_at": c.created_at,
        "updated_at": c.created_at,
        "closest_task_at": null,
        "is_deleted": false,
        "custom_fields_values": if c.phones.is_empty() { Value::Null } else { json!([phone_field(&c.phones)]) },
        "account_id": state.config.account_id,
        "_links": link(state, &format!("/api/v4/companies/{}", c.id)),
        "_embedded": {"tags": []},
    })
}

/// One call item, validated.
struct CallItem {
    record: CallRecord,
}

fn validate_call(
    state: &State,
    obj: &Map<String, Value>,
    now: u64,
) -> Result<CallItem, Vec<FieldError>> {
    let mut errors = Vec::new();
    let blank = |k: &str| field_error("NotBlank", k, "This value should not be blank.");
    let not_string =
        |k: &str| field_error("InvalidType", k, "This value should be of type string.");
    let not_int = |k: &str| field_error("InvalidType", k, "This value should be of type int.");
    let choice = |k: &str| {
        field_error(
            "NotSupportedChoice",
            k,
            "The value you selected is not a valid choice.",
        )
    };
    // Required strings.
    let required = |k: &str, errors: &mut Vec<FieldError>| -> String {
        match obj.get(k) {
            None | Some(Value::Null) => {
                errors.push(blank(k));
                String::new()
            }
            Some(Value::String(s)) if s.trim().is_empty() => {
                errors.push(blank(k));
                String::new()
            }
            Some(Value::String(s)) => s.clone(),
            Some(_) => {
                errors.push(not_string(k));
                String::new()
            }
        }
    };
    let direction = required("direction", &mut errors);
    if !direction.is_empty() && direction != "inbound" && direction != "outbound" {
        errors.push(choice("direction"));
    }
    let source = required("source", &mut errors);
    let phone = required("phone", &mut errors);
    let duration = match obj.get("duration") {
        None | Some(Value::Null) => {
            errors.push(blank("duration"));
            0
        }
        Some(v) => match (v.as_u64(), v.as_i64()) {
            (Some(n), _) => n,
            (None, Some(_)) => {
                errors.push(field_error(
                    "GreaterThanOrEqual",
                    "duration",
                    "This value should be greater than or equal to 0.",
                ));
                0
            }
            _ => {
                errors.push(not_int("duration"));
                0
            }
        },
    };
    let optional_string = |k: &str, errors: &mut Vec<FieldError>| match obj.get(k) {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s.clone()),
        Some(_) => {
            errors.push(not_string(k));
            None
        }
    };
    let optional_int = |k: &str, errors: &mut Vec<FieldError>| match obj.get(k) {
        None | Some(Value::Null) => None,
        Some(v) => match v.as_u64() {
            Some(n) => Some(n),
            None => {
                errors.push(not_int(k));
                None
            }
        },
    };
    let uniq = optional_string("uniq", &mut errors);
    let link = optional_string("link", &mut errors);
    if let Some(link) = &link
        && !(link.starts_with("http://") || link.starts_with("https://"))
    {
        errors.push(field_error("Url", "link", "This value is not a valid URL."));
    }
    let call_result = optional_string("call_result", &mut errors);
    let call_status = match optional_int("call_status", &mut errors) {
        None => None,
        Some(n @ 1..=8) => Some(n as u8),
        Some(_) => {
            errors.push(choice("call_status"));
            None
        }
    };
    let responsible_user_id = optional_int("responsible_user_id", &mut errors);
    if let Some(id) = responsible_user_id
        && !state.store.user_exists(id)
    {
        errors.push(choice("responsible_user_id"));
    }
    for k in ["created_by", "updated_by", "updated_at"] {
        optional_int(k, &mut errors);
    }
    let created_at = optional_int("created_at", &mut errors).unwrap_or(now);
    if !errors.is_empty() {
        return Err(errors);
    }
    Ok(CallItem {
        record: CallRecord {
            via: Via::V4,
            uniq,
            direction,
            phone,
            duration,
            source,
            link,
            call_status,
            call_result,
            responsible_user_id,
            created_at,
            request_id: None,
            agent_number: None,
            entity_type: None,
            entity_id: None,
            note_id: None,
        },
    })
}

/// `POST /api/v4/calls` (notes §4.3).
///
/// - official: the body is a JSON array (an object → 400 problem);
///   `direction`, `duration`, `source`, `phone` required; `uniq`, `link`,
///   `call_status` (1..=8, official-lib), `call_result`,
///   `responsible_user_id`, `created_by`, `updated_by`, `created_at`,
///   `updated_at`, `request_id` optional.
/// - 3P (amo error reference): any validation error rejects the **whole
///   batch**, nothing applied, with the 400 `validation-errors` problem
///   (inferred: validation runs before processing).
/// - official: placement ([`crate::store::Store::place`]); no entity → not
///   added, 400 `{"_total_items":0,"errors":[{"title":"Entity not found","status":400,…}]}`
///   (3P, issue #52). Inferred for mixed batches: the items that found an
///   entity **are applied**; the answer is then 400 with `errors` for the
///   failed items and the applied ones in `_embedded.calls`,
///   `_total_items` counting them. Clients must read `_embedded` even on 400.
/// - official-lib: success 200
///   `{"_total_items":n,"_embedded":{"calls":[{"id","entity_id","entity_type","account_id","request_id","_embedded":{"entity":{"id"}}}]}}`;
///   `request_id` echoes the item's (its index when absent, inferred).
/// - inferred: each applied call is a note `call_in`/`call_out` on the
///   entity with `params {uniq, duration, source, link, phone,
///   call_status, call_result}`; the call `id` is the note's id.
/// - notes §4.7: **no deduplication by `uniq`**: posting the same `uniq`
///   twice makes two calls; clients must keep their own map.
pub(crate) fn post_calls(state: &mut State, incoming: &Incoming) -> Reply {
    let items = match array_body(incoming) {
        Ok(items) => items,
        Err(reply) => return reply,
    };
    let now = state.now();
    let mut valid = Vec::new();
    let mut failed = Vec::new();
    for (index, item) in items.iter().enumerate() {
        let request_id = request_id_of(item, index);
        let Some(obj) = item.as_object() else {
            failed.push((
                request_id,
                vec![field_error(
                    "InvalidType",
                    "",
                    "This value should be of type object.",
                )],
            ));
            continue;
        };
        match validate_call(state, obj, now) {
            Ok(mut call) => {
                call.record.request_id = Some(request_id);
                valid.push(call);
            }
            Err(errors) => failed.push((request_id, errors)),
        }
    }
    if !failed.is_empty() {
        return validation(failed);
    }
    let mut applied = Vec::new();
    let mut errors = Vec::new();
    for call in valid {
        let request_id = call.record.request_id.clone().unwrap_or_default();
        match state.store.place(&call.record.phone) {
            Some((entity_type, entity_id)) => {
                let id = state
                    .store
                    .apply_call(call.record, entity_type, entity_id, now);
                applied.push(json!({
                    "id": id,
                    "entity_id": entity_id,
                    "entity_type": entity_type,
                    "account_id": state.config.account_id,
                    "request_id": request_id,
                    "_embedded": {"entity": {"id": entity_id, "_links": link(state, &format!("/api/v4/{entity_type}/{entity_id}"))}},
                }));
            }
            None => errors.push(json!({
                "request_id": request_id,
                "title": "Entity not found",
                "status": 400,
                "detail": format!("No contact or company found with phone {}", call.record.phone),
            })),
        }
    }
    let total = applied.len();
    let mut body = json!({"_total_items": total, "_embedded": {"calls": applied}});
    if errors.is_empty() {
        Reply::hal(body)
    } else {
        body["errors"] = json!(errors);
        Reply::json(400, body, HAL)
    }
}

fn note_json(state: &State, n: &Note) -> Value {
    json!({
        "id": n.id,
        "entity_id": n.entity_id,
        "created_by": 0,
        "updated_by": 0,
        "created_at": n.created_at,
        "updated_at": n.updated_at,
        "responsible_user_id": n.responsible_user_id,
        "group_id": 0,
        "note_type": n.note_type,
        "params": n.params,
        "account_id": state.config.account_id,
        "_links": link(state, &format!("/api/v4/{}/{}/notes/{}", n.entity_type, n.entity_id, n.id)),
    })
}

fn notes(state: &State, incoming: &Incoming, entity: &str, entity_id: Option<u64>) -> Reply {
    let paging = match paging(incoming) {
        Ok(p) => p,
        Err(reply) => return reply,
    };
    let types = filter_values(incoming, "note_type");
    let (ids, entity_ids) = match (id_filter(incoming, "id"), id_filter(incoming, "entity_id")) {
        (Ok(a), Ok(b)) => (a, b),
        (Err(reply), _) | (_, Err(reply)) => return reply,
    };
    let bound = |k: &str| -> Result<Option<u64>, Reply> {
        match incoming.query(&format!("filter[updated_at][{k}]")) {
            None => Ok(None),
            Some(raw) => raw.parse().map(Some).map_err(|_| {
                validation(vec![(
                    "0".to_owned(),
                    vec![field_error(
                        "InvalidType",
                        &format!("filter.updated_at.{k}"),
                        "This value should be of type int.",
                    )],
                )])
            }),
        }
    };
    let (from, to) = match (bound("from"), bound("to")) {
        (Ok(a), Ok(b)) => (a, b),
        (Err(reply), _) | (_, Err(reply)) => return reply,
    };
    let notes = state
        .store
        .notes
        .iter()
        .filter(|n| n.entity_type == entity)
        .filter(|n| entity_id.is_none_or(|id| n.entity_id == id))
        .filter(|n| types.is_empty() || types.contains(&n.note_type))
        .filter(|n| ids.is_empty() || ids.contains(&n.id))
        .filter(|n| entity_ids.is_empty() || entity_ids.contains(&n.entity_id))
        .filter(|n| from.is_none_or(|f| n.updated_at >= f))
        .filter(|n| to.is_none_or(|t| n.updated_at <= t))
        .map(|n| note_json(state, n))
        .collect();
    page_of(state, incoming, "notes", notes, paging)
}
