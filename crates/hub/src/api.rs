//! The agent API under `/api/v1`: every route needs `Authorization: Bearer
//! <token>` and acts for the token's agent, on the agent's own extension.
//! A call the agent took no part in is answered as if it did not exist (404).

use axum::extract::{FromRequestParts, State};
use axum::http::StatusCode;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use chrono::{DateTime, SecondsFormat, Utc};
use ringside_api::{
    CallDetail, CallEvent, CallPage, CallQuery, DialBody, Done, Me, NotesBody, NumberInfo,
    TransferBody,
};
use ringside_core::{Call, CallId, ErrorKind, Extension};
use ringside_engine::{CallFilter, StoredEvent};
use serde::Deserialize;

use crate::error::{ApiError, ApiJson, ApiPath, ApiQuery};
use crate::state::{Agent, AppState};

/// The agent a request acts for, from its bearer token.
#[derive(Debug, Clone)]
pub struct AuthAgent(pub Agent);

impl FromRequestParts<AppState> for AuthAgent {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let header = parts
            .headers
            .get(AUTHORIZATION)
            .ok_or_else(|| ApiError::unauthorized("missing `Authorization: Bearer <token>`"))?;
        let value = header
            .to_str()
            .map_err(|_| ApiError::unauthorized("malformed Authorization header"))?;
        let token = match value.split_once(' ') {
            Some((scheme, token)) if scheme.eq_ignore_ascii_case("bearer") => token.trim(),
            _ => {
                return Err(ApiError::unauthorized(
                    "expected `Authorization: Bearer <token>`",
                ));
            }
        };
        state
            .agent_by_token(token)
            .cloned()
            .map(AuthAgent)
            .ok_or_else(|| ApiError::unauthorized("unknown token"))
    }
}

/// `GET /api/v1/me`
pub async fn me(
    State(state): State<AppState>,
    AuthAgent(agent): AuthAgent,
) -> Result<ApiJson<Me>, ApiError> {
    let missed_calls = state.engine.missed_count(Some(&agent.extension)).await?;
    Ok(ApiJson(Me {
        name: agent.name,
        extension: agent.extension,
        missed_calls,
    }))
}

/// The cursor naming `call` as the last row of a page.
pub fn cursor_of(call: &Call) -> String {
    format!(
        "{},{}",
        call.started_at.to_rfc3339_opts(SecondsFormat::AutoSi, true),
        call.id
    )
}

fn parse_cursor(s: &str) -> Result<(DateTime<Utc>, CallId), ApiError> {
    let bad = || {
        ApiError::invalid(format!(
            "`before` must be `<started_at>,<call id>`, got {s:?}"
        ))
    };
    let (at, id) = s.split_once(',').ok_or_else(bad)?;
    let at = DateTime::parse_from_rfc3339(at.trim())
        .map_err(|_| bad())?
        .with_timezone(&Utc);
    let id = id.trim();
    if id.is_empty() {
        return Err(bad());
    }
    Ok((at, CallId::from(id)))
}

/// `GET /api/v1/calls`
pub async fn calls(
    State(state): State<AppState>,
    AuthAgent(agent): AuthAgent,
    ApiQuery(q): ApiQuery<CallQuery>,
) -> Result<ApiJson<CallPage>, ApiError> {
    let limit = q.limit.unwrap_or(50);
    if limit == 0 || limit > CallFilter::MAX_LIMIT {
        return Err(ApiError::invalid(format!(
            "`limit` must be between 1 and {}",
            CallFilter::MAX_LIMIT
        )));
    }
    let before = q.before.as_deref().map(parse_cursor).transpose()?;
    let filter = CallFilter {
        extension: Some(agent.extension.clone()),
        direction: q.direction,
        outcome: q.outcome,
        status: q.status,
        search: q.search.filter(|s| !s.trim().is_empty()),
        since: q.since,
        until: q.until,
        limit: Some(limit),
        before,
    };
    let calls = state.engine.list_calls(filter).await?;
    let next = if calls.len() == limit {
        calls.last().map(cursor_of)
    } else {
        None
    };
    Ok(ApiJson(CallPage { calls, next }))
}

/// The call `id` if `agent` took part in it, else 404.
async fn own_call(state: &AppState, agent: &Agent, id: &str) -> Result<Call, ApiError> {
    let not_found = || ApiError::not_found(format!("no call {id}"));
    let call = match state.engine.call(&CallId::from(id)).await {
        Ok(call) => call,
        Err(e) if e.kind == ErrorKind::NotFound => return Err(not_found()),
        Err(e) => return Err(e.into()),
    };
    if call.involves(&agent.extension) {
        Ok(call)
    } else {
        Err(not_found())
    }
}

/// `GET /api/v1/calls/{id}`
pub async fn call(
    State(state): State<AppState>,
    AuthAgent(agent): AuthAgent,
    ApiPath(id): ApiPath<String>,
) -> Result<ApiJson<CallDetail>, ApiError> {
    let call = own_call(&state, &agent, &id).await?;
    let events = state.engine.call_events(&call.id).await?;
    let events = events.into_iter().map(call_event).collect();
    Ok(ApiJson(CallDetail { call, events }))
}

/// A journaled event as the API shows it.
pub fn call_event(e: StoredEvent) -> CallEvent {
    CallEvent {
        seq: e.seq,
        provider: e.provider,
        received_at: e.received_at,
        provider_call_id: e.provider_call_id,
        leg_id: e.leg_id,
        state: e.state,
        body: e.body,
        external_call_id: e.external_call_id,
        call_id: e.call_id,
    }
}

/// `PUT /api/v1/calls/{id}/notes`
pub async fn set_notes(
    State(state): State<AppState>,
    AuthAgent(agent): AuthAgent,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<NotesBody>,
) -> Result<ApiJson<Call>, ApiError> {
    let call = own_call(&state, &agent, &id).await?;
    let call = state
        .engine
        .set_notes(&call.id, body.notes, body.disposition)
        .await?;
    Ok(ApiJson(call))
}

#[derive(Debug, Deserialize)]
pub struct LookupQuery {
    pub number: Option<String>,
}

/// `GET /api/v1/lookup?number=`
pub async fn lookup(
    State(state): State<AppState>,
    AuthAgent(_agent): AuthAgent,
    ApiQuery(q): ApiQuery<LookupQuery>,
) -> Result<ApiJson<NumberInfo>, ApiError> {
    let number = q.number.as_deref().map(str::trim).unwrap_or_default();
    if number.is_empty() {
        return Err(ApiError::invalid("`number` is required"));
    }
    let info = state.engine.lookup(number).await?;
    Ok(ApiJson(NumberInfo {
        lookup: info.lookup,
        recent_calls: info.recent_calls,
    }))
}

/// `POST /api/v1/dial`: the agent's own extension calls `destination`.
pub async fn dial(
    State(state): State<AppState>,
    AuthAgent(agent): AuthAgent,
    ApiJson(body): ApiJson<DialBody>,
) -> Result<(StatusCode, ApiJson<Call>), ApiError> {
    let destination = body.destination.trim();
    if destination.is_empty() {
        return Err(ApiError::invalid("`destination` is required"));
    }
    let call = state
        .engine
        .dial(&agent.extension, destination)
        .await
        .map_err(ApiError::from_pbx)?;
    Ok((StatusCode::CREATED, ApiJson(call)))
}

/// `POST /api/v1/calls/{id}/hangup`
pub async fn hang_up(
    State(state): State<AppState>,
    AuthAgent(agent): AuthAgent,
    ApiPath(id): ApiPath<String>,
) -> Result<ApiJson<Done>, ApiError> {
    let call = own_call(&state, &agent, &id).await?;
    state
        .engine
        .hang_up(&call.id)
        .await
        .map_err(ApiError::from_pbx)?;
    Ok(ApiJson(Done { ok: true }))
}

/// `POST /api/v1/calls/{id}/transfer`
pub async fn transfer(
    State(state): State<AppState>,
    AuthAgent(agent): AuthAgent,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<TransferBody>,
) -> Result<ApiJson<Done>, ApiError> {
    let destination = body.destination.trim();
    if destination.is_empty() {
        return Err(ApiError::invalid("`destination` is required"));
    }
    let call = own_call(&state, &agent, &id).await?;
    state
        .engine
        .transfer(&call.id, destination)
        .await
        .map_err(ApiError::from_pbx)?;
    Ok(ApiJson(Done { ok: true }))
}

/// `GET /api/v1/extensions`
pub async fn extensions(
    State(state): State<AppState>,
    AuthAgent(_agent): AuthAgent,
) -> Result<ApiJson<Vec<Extension>>, ApiError> {
    let list = state
        .engine
        .extensions()
        .await
        .map_err(ApiError::from_pbx)?;
    Ok(ApiJson(list))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursor_round_trips() {
        let at: DateTime<Utc> = "2024-05-01T10:00:00.123Z".parse().unwrap();
        let (t, id) = parse_cursor(&format!("{},abc-1", at.to_rfc3339())).unwrap();
        assert_eq!(t, at);
        assert_eq!(id.as_str(), "abc-1");
        assert!(parse_cursor("nonsense").is_err());
        assert!(parse_cursor("2024-05-01T10:00:00Z,").is_err());
    }
}
