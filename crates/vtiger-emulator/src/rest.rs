//! The Vtiger Cloud REST API under `/restapi/v1/vtiger/default` (contracts
//! notes §2.3).
//!
//! From the notes [OFFICIAL]: the base path, HTTP Basic `username:accessKey`,
//! `{"success":true,"result":…}` on 200 and HTTP 400 on failure, composite
//! ids, `GET /me`, `GET /listtypes`, `GET /query`. [3P]: `GET /lookup` with
//! `type` (`phone`/`email`), `value` and a JSON `searchIn`, `GET /retrieve`,
//! the `X-FloodControl-*` headers and the 100-row cap.
//!
//! Inferred: the JSON error body `{"success":false,"error":{"code","message"}}`
//! on every failure (the real API puts the message in the status line); the
//! error codes (`INVALID_AUTH`, `RATE_LIMIT_EXCEEDED`, `MANDATORY_FIELDS_MISSING`,
//! `INVALID_PARAMETER`, `INVALID_MODULE`, `QUERY_SYNTAX_ERROR`, `INVALID_ID`,
//! `RECORD_NOT_FOUND`, `UNKNOWN_OPERATION`, `METHOD_NOT_ALLOWED`); the rolling
//! one-minute flood window, which counts every REST request that is not
//! itself refused for flooding, authorized or not; lookup's digit-suffix
//! matching ([`crate::phone_matches`]) and that it searches Contacts, Leads
//! and Accounts only.

use std::time::Instant;

use axum::http::Method;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Value, json};

use crate::server::{Incoming, Reply, Shared, State};
use crate::store::{IdError, Module, parse_id, phone_matches, row_json};
use crate::vtql::{self, MAX_ROWS, QueryError};

/// The base path of the REST API.
pub const REST_BASE: &str = "/restapi/v1/vtiger/default";

/// The modules `lookup` searches.
const LOOKUP_MODULES: [Module; 3] = [Module::Contacts, Module::Leads, Module::Accounts];

fn param<'a>(incoming: &'a Incoming, key: &str) -> Result<&'a str, Reply> {
    incoming
        .query_param(key)
        .filter(|v| !v.trim().is_empty())
        .ok_or_else(|| {
            Reply::error(
                400,
                "MANDATORY_FIELDS_MISSING",
                format!("Mandatory parameter missing: {key}"),
            )
        })
}

fn invalid(message: impl Into<String>) -> Reply {
    Reply::error(400, "INVALID_PARAMETER", message)
}

/// Whether the `Authorization` header carries the configured user and the
/// current access key.
fn authorized(state: &State, authorization: Option<&str>) -> bool {
    let Some(key) = state.access_key.as_deref() else {
        return false;
    };
    let Some((scheme, encoded)) = authorization.and_then(|a| a.trim().split_once(' ')) else {
        return false;
    };
    if !scheme.eq_ignore_ascii_case("basic") {
        return false;
    }
    let Ok(decoded) = STANDARD.decode(encoded.trim()) else {
        return false;
    };
    let Ok(decoded) = String::from_utf8(decoded) else {
        return false;
    };
    decoded.split_once(':') == Some((state.config.username.as_str(), key))
}

/// Serves one REST request (flood control, auth, then the operation).
pub(crate) fn handle(shared: &Shared, incoming: &Incoming) -> Reply {
    let mut state = shared.lock();
    let limit = state.config.flood_limit_per_minute;
    let flood = match state.flood.admit(limit, Instant::now()) {
        Ok(flood) => flood,
        Err(flood) => {
            return Reply::error(
                429,
                "RATE_LIMIT_EXCEEDED",
                "Flood control: too many API requests, retry later",
            )
            .with_header("retry-after", flood.reset_secs.to_string())
            .with_flood(flood);
        }
    };
    let reply = if !authorized(&state, incoming.authorization.as_deref()) {
        Reply::error(401, "INVALID_AUTH", "Invalid username or access key")
            .with_header("www-authenticate", "Basic realm=\"Vtiger\"".to_owned())
    } else if incoming.method != Method::GET {
        Reply::error(405, "METHOD_NOT_ALLOWED", "This emulator serves GET only")
            .with_header("allow", "GET".to_owned())
    } else {
        let operation = incoming.path[REST_BASE.len()..].trim_start_matches('/');
        match operation {
            "me" => me(&state),
            "lookup" => lookup(&state, incoming).unwrap_or_else(|e| e),
            "query" => query(&state, incoming).unwrap_or_else(|e| e),
            "retrieve" => retrieve(&state, incoming).unwrap_or_else(|e| e),
            "listtypes" => Reply::ok(json!({
                "types": Module::ALL.iter().map(|m| m.name()).collect::<Vec<_>>()
            })),
            other => Reply::error(
                400,
                "UNKNOWN_OPERATION",
                format!("Unknown operation: {other}"),
            ),
        }
    };
    reply.with_flood(flood)
}

fn me(state: &State) -> Reply {
    match state.store.user_by_name(&state.config.username) {
        Some(user) => Reply::ok(row_json(&user)),
        None => Reply::error(400, "RECORD_NOT_FOUND", "The REST user has no Users record"),
    }
}

fn lookup(state: &State, incoming: &Incoming) -> Result<Reply, Reply> {
    let kind = param(incoming, "type")?;
    if kind != "phone" && kind != "email" {
        return Err(invalid("type must be phone or email"));
    }
    let value = param(incoming, "value")?;
    let search_in = param(incoming, "searchIn")?;
    let search_in: Value = serde_json::from_str(search_in)
        .map_err(|e| invalid(format!("searchIn is not valid JSON: {e}")))?;
    let Value::Object(search_in) = search_in else {
        return Err(invalid(
            "searchIn must be a JSON object of module -> fields",
        ));
    };
    let mut targets = Vec::new();
    for (name, fields) in &search_in {
        let module = Module::from_name(name)
            .filter(|m| LOOKUP_MODULES.contains(m))
            .ok_or_else(|| {
                Reply::error(400, "INVALID_MODULE", format!("Cannot look up in {name}"))
            })?;
        let Value::Array(fields) = fields else {
            return Err(invalid(format!(
                "searchIn.{name} must be an array of fields"
            )));
        };
        let mut names = Vec::new();
        for field in fields {
            match field.as_str() {
                Some(f) if module.has_column(f) && f != "id" => names.push(f.to_owned()),
                _ => return Err(invalid(format!("Unknown field {field} in {name}"))),
            }
        }
        targets.push((module, names));
    }
    let mut found = Vec::new();
    'modules: for (module, fields) in targets {
        for row in state.store.rows(module) {
            let hit = fields.iter().any(|f| {
                let stored = row.get(f).map(String::as_str).unwrap_or("");
                if kind == "phone" {
                    phone_matches(stored, value)
                } else {
                    !stored.is_empty() && stored.trim().eq_ignore_ascii_case(value.trim())
                }
            });
            if hit {
                found.push(row_json(&row));
                if found.len() == MAX_ROWS {
                    break 'modules;
                }
            }
        }
    }
    Ok(Reply::ok(Value::Array(found)))
}

fn query(state: &State, incoming: &Incoming) -> Result<Reply, Reply> {
    let text = param(incoming, "query")?;
    let parsed = vtql::parse(text).map_err(|e| match e {
        QueryError::Syntax(m) => Reply::error(400, "QUERY_SYNTAX_ERROR", m),
        QueryError::UnknownColumn(c) => {
            Reply::error(400, "QUERY_SYNTAX_ERROR", format!("Unknown column {c}"))
        }
        QueryError::UnknownModule(m) => {
            Reply::error(400, "INVALID_MODULE", format!("Unknown module {m}"))
        }
    })?;
    let rows = parsed.run(state.store.rows(parsed.module()));
    Ok(Reply::ok(Value::Array(rows.iter().map(row_json).collect())))
}

fn retrieve(state: &State, incoming: &Incoming) -> Result<Reply, Reply> {
    let id = param(incoming, "id")?;
    if let Err(IdError::Malformed) = parse_id(id) {
        return Err(Reply::error(
            400,
            "INVALID_ID",
            format!("Malformed record id {id}: expected <module>x<record>"),
        ));
    }
    match state.store.get(id) {
        Ok(row) => Ok(Reply::ok(row_json(&row))),
        Err(_) => Err(Reply::error(
            400,
            "RECORD_NOT_FOUND",
            format!("Record {id} does not exist"),
        )),
    }
}
