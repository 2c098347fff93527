//! PhoneBridge v2: `/{dc}/crm/v2/phonebridge/<endpoint>`.
//!
//! From the vendor doc (`seeds/zoho-phonebridge-api.txt`): the
//! `Authorization: Zoho-oauthtoken <token>` header; `integrate` POST/DELETE
//! with its answers and errors (`NO_PERMISSION`, `PBX_NOT_REGISTERED`,
//! `PBX_ALREADY_ENABLED`, `DIFFERENT_PBX_ALREADY_ENABLED`);
//! `clicktocallandcallcontrol` POST/DELETE with `clicktocallurl` required,
//! the other URLs, `userid` (comma separated), `authorizationparam`
//! (`{name:…,value:…}`), `clicktocallparam`/`callcontrolparam` (JSON arrays
//! of name/value) and `PBX_NOT_INTEGRATED`; the required parameters of each
//! call event and `REQUIRED_PARAM_MISSING` with `details.param`;
//! `callstarttime`/`callmissedtime` as `yyyy-MM-dd HH:mm:ss` in GMT;
//! `direction`, `duration`, `customerstatus`/`agentstatus` values,
//! `voicemailurl`, `sequential`; `voiceurl`'s two parameters; the `users`
//! answer; `callerdetails` (`phonenumber`, the full record with all
//! Potentials, 204 when nothing matches); the full record in the answers of
//! `callreceived` and `calldialed` and `{"Name","Id","Module"}` in those of
//! `callanswered`, `callhungup` and `callmissed`.
//!
//! From the contracts notes (§3.2, §3.3, §3.7, §3.8): 401 `INVALID_TOKEN`
//! and its exact body; form bodies and query strings both accepted; the
//! `INVALID_USER` body; a token used on another data centre's host fails
//! with `INVALID_TOKEN`; `+` must be URL-encoded; times are GMT.
//!
//! `[INFERRED]`: `{"status":"success","code":"SUCCESS"}` when a call event's
//! customer matches no record; `INVALID_DATA` (400, `details.param`) for a
//! malformed time, a time more than two minutes in the future of the
//! emulator clock, a non-numeric `duration`, an unknown
//! `direction`/`customerstatus`/`agentstatus`, a non-http(s) URL, a bad
//! `sequential`, a malformed JSON parameter, a number that starts with a
//! space and digits (an unencoded `+`) and `voiceurl` for an unknown call;
//! idempotency: an event repeating the endpoint and `callrefid` (and for
//! `callreceived` the `transfercallrefid` and `userid`, for `calldialed` the
//! `customerstatus`) is answered SUCCESS, counted in
//! [`crate::CallLog::duplicates`] and not applied again; a `callreceived`
//! whose `transfercallrefid` names a known call records a transfer on that
//! call, and its `callrefid` names that call from then on; an event for an
//! unknown `callrefid` (other than `voiceurl`) starts a call; `users` and
//! `callerdetails` require the integration like the call events; the
//! licence and registration checks apply to every endpoint; `DELETE
//! integrate` also drops the click-to-call registration and answers
//! `PBX_NOT_INTEGRATED` when nothing is enabled; a second POST of
//! `clicktocallandcallcontrol` replaces the registration; 404
//! `INVALID_URL_PATTERN` and 405 `METHOD_NOT_ALLOWED` bodies; when a
//! parameter is sent twice, the query string's first value wins (a Java
//! servlet's `getParameter`).
//!
//! Encoding: parameters are decoded as `application/x-www-form-urlencoded`
//! (as a Java or PHP server does), so an unencoded `+` arrives as a space.

use std::collections::BTreeMap;

use axum::http::Method;
use chrono::{NaiveDateTime, TimeDelta};
use serde_json::{Value, json};

use crate::oauth::is_http_url;
use crate::server::{Incoming, Reply, Shared, State};
use crate::store::{CallLog, Store, Transfer};
use crate::{CallEvent, Registration};

/// The path of PhoneBridge under an API domain.
pub const PHONEBRIDGE_PATH: &str = "/crm/v2/phonebridge";

/// The call events (vendor doc), in the order the doc lists them.
pub const CALL_EVENTS: [&str; 6] = [
    "callreceived",
    "callanswered",
    "callhungup",
    "callmissed",
    "calldialed",
    "voiceurl",
];

/// `customerstatus` values: the vendor doc's list plus
/// `internationaldisabled` (listed for `agentstatus`).
pub const CUSTOMER_STATUSES: [&str; 9] = [
    "success",
    "inprogress",
    "notavailable",
    "rejected",
    "noanswer",
    "busy",
    "blocked",
    "invalid",
    "internationaldisabled",
];

/// `agentstatus` values (vendor doc).
pub const AGENT_STATUSES: [&str; 8] = [
    "success",
    "notavailable",
    "rejected",
    "noanswer",
    "busy",
    "internationaldisabled",
    "notenoughfunds",
    "blocked",
];

/// How far in the future of the emulator clock a GMT time may be.
pub const FUTURE_TOLERANCE_SECS: i64 = 120;

/// Splits a PhoneBridge path into its data centre (`None` for the
/// unprefixed US host) and endpoint (`""` for the bare base).
pub(crate) fn split_path(path: &str) -> Option<(Option<&str>, &str)> {
    fn endpoint(rest: &str) -> Option<&str> {
        let rest = rest.strip_prefix(PHONEBRIDGE_PATH)?;
        match rest {
            "" | "/" => Some(""),
            _ => rest.strip_prefix('/'),
        }
    }
    if let Some(ep) = endpoint(path) {
        return Some((None, ep));
    }
    let trimmed = path.strip_prefix('/')?;
    let slash = trimmed.find('/')?;
    let (dc, rest) = trimmed.split_at(slash);
    if dc.is_empty() {
        return None;
    }
    endpoint(rest).map(|ep| (Some(dc), ep))
}

type Params = BTreeMap<String, String>;

fn params(incoming: &Incoming) -> Params {
    let mut params = Params::new();
    for (k, v) in incoming.query.iter().chain(&incoming.form) {
        params.entry(k.clone()).or_insert_with(|| v.clone());
    }
    params
}

fn param<'a>(params: &'a Params, key: &str) -> Option<&'a str> {
    params
        .get(key)
        .map(String::as_str)
        .filter(|v| !v.trim().is_empty())
}

fn missing(key: &str) -> Reply {
    Reply::error(
        400,
        "REQUIRED_PARAM_MISSING",
        "One of the expected parameters is missing",
        json!({"param": key}),
    )
}

fn invalid(key: &str, message: impl Into<String>) -> Reply {
    Reply::error(400, "INVALID_DATA", message, json!({"param": key}))
}

fn success(message: Option<String>) -> Reply {
    let mut body = json!({"status": "success", "code": "SUCCESS"});
    if let Some(m) = message {
        body["message"] = Value::String(m);
    }
    Reply::json(200, body)
}

fn invalid_user() -> Reply {
    Reply::error(
        400,
        "INVALID_USER",
        "Please check the user configuration",
        json!({}),
    )
}

fn not_integrated(pbx: &str) -> Reply {
    Reply::error(
        400,
        "PBX_NOT_INTEGRATED",
        format!("{pbx} Integration is not enabled"),
        json!({}),
    )
}

/// Checks the number parameters for an unencoded `+` (a leading space
/// followed by a digit).
fn check_number(params: &Params, key: &str) -> Result<(), Reply> {
    let Some(v) = params.get(key) else {
        return Ok(());
    };
    let rest = v.trim_start_matches(' ');
    if v.starts_with(' ') && rest.starts_with(|c: char| c.is_ascii_digit()) {
        return Err(invalid(
            key,
            format!(
                "Invalid phone number in {key}: it starts with a space; a '+' must be URL-encoded as %2B"
            ),
        ));
    }
    Ok(())
}

/// `yyyy-MM-dd HH:mm:ss` exactly, a valid date, GMT, and not more than
/// [`FUTURE_TOLERANCE_SECS`] ahead of `now`.
fn check_time(state: &State, params: &Params, key: &str) -> Result<String, Reply> {
    let v = param(params, key).ok_or_else(|| missing(key))?;
    let shape_ok = v.len() == 19
        && v.bytes().enumerate().all(|(i, b)| match i {
            4 | 7 => b == b'-',
            10 => b == b' ',
            13 | 16 => b == b':',
            _ => b.is_ascii_digit(),
        });
    let parsed = if shape_ok {
        NaiveDateTime::parse_from_str(v, "%Y-%m-%d %H:%M:%S").ok()
    } else {
        None
    };
    let Some(parsed) = parsed else {
        return Err(invalid(
            key,
            format!("{key} must be in yyyy-MM-dd HH:mm:ss format (GMT)"),
        ));
    };
    if parsed.and_utc() - state.now() > TimeDelta::seconds(FUTURE_TOLERANCE_SECS) {
        return Err(invalid(
            key,
            format!("{key} is in the future: it must be given in GMT"),
        ));
    }
    Ok(v.to_owned())
}

fn check_url(params: &Params, key: &str) -> Result<Option<String>, Reply> {
    match param(params, key) {
        None => Ok(None),
        Some(u) if is_http_url(u) => Ok(Some(u.to_owned())),
        Some(_) => Err(invalid(key, format!("{key} must be an http(s) URL"))),
    }
}

fn check_user(state: &State, params: &Params) -> Result<Option<String>, Reply> {
    match param(params, "userid") {
        None => Ok(None),
        Some(id) if state.store.user(id).is_some() => Ok(Some(id.to_owned())),
        Some(_) => Err(invalid_user()),
    }
}

pub(crate) fn handle(shared: &Shared, incoming: &Incoming) -> Reply {
    let Some((dc, endpoint)) = split_path(&incoming.path) else {
        return url_not_found();
    };
    let methods: &[Method] = match endpoint {
        "integrate" | "clicktocallandcallcontrol" => &[Method::POST, Method::DELETE],
        "users" | "callerdetails" => &[Method::GET],
        e if CALL_EVENTS.contains(&e) => &[Method::POST],
        _ => return url_not_found(),
    };
    let mut state = shared.lock();
    if let Err(reply) = authenticate(&state, dc, incoming) {
        return reply;
    }
    if !methods.contains(&incoming.method) {
        return Reply::error(
            405,
            "METHOD_NOT_ALLOWED",
            "The requested method is not allowed",
            json!({}),
        );
    }
    if state.integration.no_license {
        return Reply::error(
            403,
            "NO_PERMISSION",
            "PBX Integration is not available for your license type",
            json!({}),
        );
    }
    let pbx = state.config.pbx_name.clone();
    if !state.config.registered {
        return Reply::error(
            400,
            "PBX_NOT_REGISTERED",
            format!("{pbx} is not registered"),
            json!({}),
        );
    }
    if endpoint == "integrate" {
        return integrate(&mut state, &incoming.method);
    }
    if !state.integration.enabled {
        return not_integrated(&pbx);
    }
    let params = params(incoming);
    let reply = match endpoint {
        "clicktocallandcallcontrol" => click_to_call(&mut state, &incoming.method, &params),
        "users" => users(&state),
        "callerdetails" => caller_details(&state, &params),
        event => call_event(&mut state, event, &params),
    };
    let count = state.events.len();
    drop(state);
    shared.events.send_replace(count);
    reply
}

fn url_not_found() -> Reply {
    Reply::error(
        404,
        "INVALID_URL_PATTERN",
        "Please check if the URL trying to access is a correct one",
        json!({}),
    )
}

/// `Authorization: Zoho-oauthtoken <live access token>`, on the host of
/// the token's data centre.
fn authenticate(state: &State, dc: Option<&str>, incoming: &Incoming) -> Result<(), Reply> {
    let invalid_token = || Reply::error(401, "INVALID_TOKEN", "invalid oauth token", json!({}));
    let token = incoming
        .authorization
        .as_deref()
        .and_then(|h| h.strip_prefix("Zoho-oauthtoken "))
        .map(str::trim)
        .ok_or_else(invalid_token)?;
    let host_dc = dc.unwrap_or("com");
    if host_dc != state.config.data_centre || !state.oauth.access_ok(token, state.now()) {
        return Err(invalid_token());
    }
    Ok(())
}

fn integrate(state: &mut State, method: &Method) -> Reply {
    let pbx = state.config.pbx_name.clone();
    if *method == Method::DELETE {
        if !state.integration.enabled {
            return not_integrated(&pbx);
        }
        state.integration.enabled = false;
        state.integration.registration = None;
        return success(Some(format!(
            "{pbx} Integration has been successfully removed"
        )));
    }
    if state.integration.other_pbx {
        return Reply::error(
            403,
            "DIFFERENT_PBX_ALREADY_ENABLED",
            "Different PBX has been enabled for the Account",
            json!({}),
        );
    }
    if state.integration.enabled {
        return Reply::error(
            403,
            "PBX_ALREADY_ENABLED",
            format!("{pbx} has been already enabled for the Account"),
            json!({}),
        );
    }
    state.integration.enabled = true;
    Reply::json(
        200,
        json!({"message": format!("{pbx} Integration is successful"), "status": "success", "code": "SUCCESS"}),
    )
}

fn click_to_call(state: &mut State, method: &Method, params: &Params) -> Reply {
    let pbx = state.config.pbx_name.clone();
    if *method == Method::DELETE {
        state.integration.registration = None;
        return success(Some(format!(
            "{pbx} Call control notifications has been disabled for the account successfully"
        )));
    }
    match registration(state, params) {
        Ok(registration) => {
            state.integration.registration = Some(registration);
            success(Some(format!(
                "{pbx} Call control notifications has been enabled for the account successfully"
            )))
        }
        Err(reply) => reply,
    }
}

fn registration(state: &State, params: &Params) -> Result<Registration, Reply> {
    let clicktocallurl = check_url(params, "clicktocallurl")?;
    if clicktocallurl.is_none() {
        return Err(missing("clicktocallurl"));
    }
    let authorization = match param(params, "authorizationparam") {
        None => None,
        Some(raw) => Some(relaxed::pair(raw).ok_or_else(|| {
            invalid(
                "authorizationparam",
                "authorizationparam must be {\"name\":…,\"value\":…}",
            )
        })?),
    };
    let list = |key: &str| -> Result<Vec<(String, String)>, Reply> {
        match param(params, key) {
            None => Ok(Vec::new()),
            Some(raw) => relaxed::pairs(raw).ok_or_else(|| {
                invalid(
                    key,
                    format!("{key} must be a JSON array of name/value pairs"),
                )
            }),
        }
    };
    let mut userids = Vec::new();
    if let Some(raw) = param(params, "userid") {
        for id in raw.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            if state.store.user(id).is_none() {
                return Err(invalid_user());
            }
            userids.push(id.to_owned());
        }
    }
    Ok(Registration {
        clicktocallurl,
        answerurl: check_url(params, "answerurl")?,
        hungupurl: check_url(params, "hungupurl")?,
        muteurl: check_url(params, "muteurl")?,
        unmuteurl: check_url(params, "unmuteurl")?,
        holdurl: check_url(params, "holdurl")?,
        unholdurl: check_url(params, "unholdurl")?,
        keypressurl: check_url(params, "keypressurl")?,
        authorization,
        clicktocallparams: list("clicktocallparam")?,
        callcontrolparams: list("callcontrolparam")?,
        userids,
    })
}

fn users(state: &State) -> Reply {
    let users: Vec<Value> = state
        .store
        .users
        .iter()
        .map(|u| json!({"userid": u.id, "username": u.name, "email": u.email}))
        .collect();
    Reply::json(200, json!({"users": users}))
}

fn caller_details(state: &State, params: &Params) -> Reply {
    let Some(number) = param(params, "phonenumber") else {
        return missing("phonenumber");
    };
    if let Err(reply) = check_number(params, "phonenumber") {
        return reply;
    }
    let found = state.store.find(number);
    if found.is_empty() {
        return Reply::no_content();
    }
    let data: Vec<Value> = found
        .into_iter()
        .map(|f| state.store.full_json(f, &state.base_url))
        .collect();
    Reply::json(200, json!({"data": data}))
}

/// The required parameters of a call event (vendor doc), in its order.
fn required(event: &str) -> &'static [&'static str] {
    match event {
        "callreceived" | "callanswered" => &["callrefid", "fromnumber", "tonumber"],
        "callhungup" => &[
            "callrefid",
            "fromnumber",
            "tonumber",
            "callstarttime",
            "direction",
            "duration",
        ],
        "callmissed" => &["callrefid", "fromnumber", "tonumber", "callmissedtime"],
        "calldialed" => &["callrefid", "fromnumber", "tonumber", "customerstatus"],
        _ => &["callrefid", "voiceurl"],
    }
}

/// The validated content of a call event.
#[derive(Debug, Default)]
struct Checked {
    user: Option<String>,
    start_time: Option<String>,
    duration: Option<u64>,
    voiceurl: Option<String>,
}

fn validate(state: &State, event: &str, params: &Params) -> Result<Checked, Reply> {
    for key in required(event) {
        if param(params, key).is_none() {
            return Err(missing(key));
        }
    }
    for key in ["fromnumber", "tonumber"] {
        check_number(params, key)?;
    }
    let mut checked = Checked::default();
    match event {
        "callhungup" => {
            checked.start_time = Some(check_time(state, params, "callstarttime")?);
            let direction = param(params, "direction").unwrap_or("");
            if direction != "inbound" && direction != "outbound" {
                return Err(invalid(
                    "direction",
                    "direction must be inbound or outbound",
                ));
            }
            let duration = param(params, "duration").unwrap_or("");
            if !duration.bytes().all(|b| b.is_ascii_digit()) {
                return Err(invalid(
                    "duration",
                    "duration must be a non-negative number of seconds",
                ));
            }
            checked.duration = Some(
                duration
                    .parse()
                    .map_err(|_| invalid("duration", "duration is too large"))?,
            );
            checked.voiceurl = check_url(params, "voiceurl")?;
        }
        "callmissed" => {
            checked.start_time = Some(check_time(state, params, "callmissedtime")?);
            checked.voiceurl = check_url(params, "voicemailurl")?;
            if let Some(s) = param(params, "sequential")
                && s != "true"
                && s != "false"
            {
                return Err(invalid("sequential", "sequential must be true or false"));
            }
        }
        "calldialed" => {
            let status = param(params, "customerstatus").unwrap_or("");
            if !CUSTOMER_STATUSES.contains(&status) {
                return Err(invalid(
                    "customerstatus",
                    format!(
                        "customerstatus must be one of {}",
                        CUSTOMER_STATUSES.join(", ")
                    ),
                ));
            }
            if let Some(a) = param(params, "agentstatus")
                && !AGENT_STATUSES.contains(&a)
            {
                return Err(invalid(
                    "agentstatus",
                    format!("agentstatus must be one of {}", AGENT_STATUSES.join(", ")),
                ));
            }
        }
        "voiceurl" => {
            checked.voiceurl = check_url(params, "voiceurl")?;
            let callrefid = param(params, "callrefid").unwrap_or("");
            if !state.store.calls.iter().any(|c| c.is_named(callrefid)) {
                return Err(invalid("callrefid", "No call is known with this callrefid"));
            }
        }
        _ => {}
    }
    checked.user = check_user(state, params)?;
    Ok(checked)
}

/// The customer's number of an event: `fromnumber` inbound, `tonumber`
/// outbound.
fn customer_number<'a>(event: &str, params: &'a Params) -> Option<&'a str> {
    let outbound = match event {
        "calldialed" => true,
        "callhungup" => param(params, "direction") == Some("outbound"),
        "voiceurl" => return None,
        _ => false,
    };
    param(params, if outbound { "tonumber" } else { "fromnumber" })
}

fn call_event(state: &mut State, event: &str, params: &Params) -> Reply {
    let checked = match validate(state, event, params) {
        Ok(c) => c,
        Err(reply) => return reply,
    };
    let callrefid = param(params, "callrefid").unwrap_or("").to_owned();
    let extra = match event {
        "callreceived" => format!(
            "{}|{}",
            param(params, "transfercallrefid").unwrap_or(""),
            checked.user.as_deref().unwrap_or("")
        ),
        "calldialed" => param(params, "customerstatus").unwrap_or("").to_owned(),
        _ => String::new(),
    };
    let key = (event.to_owned(), callrefid.clone(), extra);
    if state.integration.applied.contains(&key) {
        if let Some(call) = state.store.call_mut(&callrefid) {
            call.duplicates += 1;
        }
        return success(None);
    }
    state.integration.applied.insert(key);

    let customer = customer_number(event, params).map(str::to_owned);
    let matched: Vec<(String, String)> = customer
        .as_deref()
        .map(|n| {
            state
                .store
                .find(n)
                .into_iter()
                .map(|f| {
                    let (module, id, _) = Store::identity(f);
                    (module.to_owned(), id)
                })
                .collect()
        })
        .unwrap_or_default();

    let transfer_target = match (event, param(params, "transfercallrefid")) {
        ("callreceived", Some(t)) if state.store.call_mut(t).is_some() => Some(t.to_owned()),
        _ => None,
    };
    let call = match &transfer_target {
        Some(target) => {
            let call = state.store.call_mut(target).expect("checked above");
            call.transfers.push(Transfer {
                callrefid: callrefid.clone(),
                from_user: call.user.clone(),
                to_user: checked.user.clone(),
            });
            call
        }
        None => {
            if state.store.call_mut(&callrefid).is_none() {
                state.store.calls.push(CallLog::new(&callrefid));
            }
            state.store.call_mut(&callrefid).expect("just inserted")
        }
    };
    call.statuses.push(event.to_owned());
    if checked.user.is_some() {
        call.user.clone_from(&checked.user);
    }
    match event {
        "callreceived" | "callanswered" | "callmissed" => {
            call.direction.get_or_insert_with(|| "inbound".to_owned());
        }
        "calldialed" => {
            call.direction = Some("outbound".to_owned());
            call.customer_status = param(params, "customerstatus").map(str::to_owned);
            if let Some(a) = param(params, "agentstatus") {
                call.agent_status = Some(a.to_owned());
            }
        }
        "callhungup" => {
            call.direction = param(params, "direction").map(str::to_owned);
            call.duration = checked.duration;
            if let Some(d) = param(params, "desc") {
                call.description = Some(d.to_owned());
            }
        }
        _ => {}
    }
    if checked.start_time.is_some() {
        call.start_time.clone_from(&checked.start_time);
    }
    if checked.voiceurl.is_some() {
        call.voiceurl.clone_from(&checked.voiceurl);
    }
    if call.customer_number.is_none() && customer.is_some() {
        call.customer_number.clone_from(&customer);
        call.matched.clone_from(&matched);
    }
    state.events.push(CallEvent {
        endpoint: event.to_owned(),
        callrefid,
        params: params.clone(),
        user: checked.user,
    });

    let found = customer
        .as_deref()
        .map(|n| state.store.find(n))
        .unwrap_or_default();
    if found.is_empty() {
        return success(None);
    }
    let data: Vec<Value> = match event {
        "callreceived" | "calldialed" => found
            .into_iter()
            .map(|f| state.store.full_json(f, &state.base_url))
            .collect(),
        _ => found.into_iter().map(Store::short_json).collect(),
    };
    Reply::json(200, json!({"data": data}))
}

/// The name/value JSON of `authorizationparam`, `clicktocallparam` and
/// `callcontrolparam`: strict JSON, or the vendor doc's unquoted form
/// (`{name:Authorization,value:Bearer x}`, `[{name:a,value:b}, …]`).
pub(crate) mod relaxed {
    use serde_json::Value;

    fn from_value(v: &Value) -> Option<(String, String)> {
        let text = |v: &Value| match v {
            Value::String(s) => Some(s.clone()),
            Value::Number(n) => Some(n.to_string()),
            Value::Bool(b) => Some(b.to_string()),
            _ => None,
        };
        Some((text(v.get("name")?)?, text(v.get("value")?)?))
    }

    /// One `{name, value}` object.
    pub(crate) fn pair(raw: &str) -> Option<(String, String)> {
        if let Ok(v) = serde_json::from_str::<Value>(raw) {
            return from_value(&v);
        }
        let inner = raw.trim().strip_prefix('{')?.strip_suffix('}')?;
        object(inner)
    }

    /// An array of `{name, value}` objects.
    pub(crate) fn pairs(raw: &str) -> Option<Vec<(String, String)>> {
        if let Ok(v) = serde_json::from_str::<Value>(raw) {
            return v.as_array()?.iter().map(from_value).collect();
        }
        let inner = raw.trim().strip_prefix('[')?.strip_suffix(']')?;
        let mut out = Vec::new();
        let mut rest = inner.trim();
        while !rest.is_empty() {
            let body = rest.strip_prefix('{')?;
            let end = closing_brace(body)?;
            out.push(object(&body[..end])?);
            rest = body[end + 1..].trim_start();
            rest = rest.strip_prefix(',').unwrap_or(rest).trim_start();
        }
        Some(out)
    }

    /// The index of the `}` closing an object body (quotes respected).
    fn closing_brace(body: &str) -> Option<usize> {
        let mut quoted = false;
        let mut escaped = false;
        for (i, c) in body.char_indices() {
            match c {
                _ if escaped => escaped = false,
                '\\' if quoted => escaped = true,
                '"' => quoted = !quoted,
                '}' if !quoted => return Some(i),
                _ => {}
            }
        }
        None
    }

    /// Whether `s` starts a `name:`/`value:` key (optionally quoted).
    fn starts_key(s: &str) -> bool {
        let s = s.trim_start();
        let s = s.strip_prefix('"').unwrap_or(s);
        ["name", "value"].iter().any(|k| {
            s.strip_prefix(k).is_some_and(|r| {
                let r = r.strip_prefix('"').unwrap_or(r);
                r.trim_start().starts_with(':')
            })
        })
    }

    fn quoted(s: &str) -> Option<(String, &str)> {
        let body = s.strip_prefix('"')?;
        let end = closing_quote(body)?;
        let value: String = serde_json::from_str(&format!("\"{}\"", &body[..end])).ok()?;
        Some((value, &body[end + 1..]))
    }

    fn closing_quote(body: &str) -> Option<usize> {
        let mut escaped = false;
        for (i, c) in body.char_indices() {
            match c {
                _ if escaped => escaped = false,
                '\\' => escaped = true,
                '"' => return Some(i),
                _ => {}
            }
        }
        None
    }

    /// `name:X,value:Y` (keys and values optionally quoted).
    fn object(inner: &str) -> Option<(String, String)> {
        let (mut name, mut value) = (None, None);
        let mut rest = inner.trim();
        while !rest.is_empty() {
            let (key, after) = if rest.starts_with('"') {
                quoted(rest)?
            } else {
                let colon = rest.find(':')?;
                (rest[..colon].trim().to_owned(), &rest[colon..])
            };
            let after = after.trim_start().strip_prefix(':')?.trim_start();
            let (val, after) = if after.starts_with('"') {
                let (v, a) = quoted(after)?;
                (v, a.trim_start())
            } else {
                let mut end = after.len();
                for (i, c) in after.char_indices() {
                    if c == ',' && starts_key(&after[i + 1..]) {
                        end = i;
                        break;
                    }
                }
                (after[..end].trim().to_owned(), &after[end..])
            };
            match key.as_str() {
                "name" => name = Some(val),
                "value" => value = Some(val),
                _ => return None,
            }
            rest = after.strip_prefix(',').unwrap_or(after).trim_start();
            if !after.is_empty() && !after.starts_with(',') {
                return None;
            }
        }
        Some((name?, value?))
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        fn p(a: &str, b: &str) -> (String, String) {
            (a.to_owned(), b.to_owned())
        }

        #[test]
        fn strict_and_unquoted_forms_parse() {
            assert_eq!(
                pair(r#"{"name":"Authorization","value":"Bearer abc"}"#),
                Some(p("Authorization", "Bearer abc"))
            );
            assert_eq!(
                pair("{name:Authorization,value:Bearer a,b}"),
                Some(p("Authorization", "Bearer a,b"))
            );
            assert_eq!(
                pair("{ value : tok:1 , name : X-Token }"),
                Some(p("X-Token", "tok:1"))
            );
            assert_eq!(
                pairs(
                    "[{name:pbxuserid,value:pbxuser1234}, {name:emailaddress,value:xyz@pbx.com}]"
                ),
                Some(vec![
                    p("pbxuserid", "pbxuser1234"),
                    p("emailaddress", "xyz@pbx.com")
                ])
            );
            assert_eq!(
                pairs(r#"[{"name":"a","value":"1"}]"#),
                Some(vec![p("a", "1")])
            );
            assert_eq!(pairs("[]"), Some(vec![]));
            assert_eq!(pair("{name:x}"), None);
            assert_eq!(pair("name:x,value:y"), None);
            assert_eq!(pairs("[{name:x,value:y}"), None);
            assert_eq!(pair("{other:y,name:x,value:z}"), None);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_split_into_dc_and_endpoint() {
        assert_eq!(
            split_path("/eu/crm/v2/phonebridge/callreceived"),
            Some((Some("eu"), "callreceived"))
        );
        assert_eq!(
            split_path("/crm/v2/phonebridge/users"),
            Some((None, "users"))
        );
        assert_eq!(split_path("/eu/crm/v2/phonebridge"), Some((Some("eu"), "")));
        assert_eq!(split_path("/crm/tab/Contacts/1"), None);
        assert_eq!(split_path("/a/b/crm/v2/phonebridge/users"), None);
    }
}
