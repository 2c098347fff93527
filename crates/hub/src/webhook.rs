//! `POST /webhooks/gamma`: the PBX posts one JSON event per request.
//!
//! Order of checks: source address (403), shared secret (401), body size
//! (413), parse (400). Only a well-formed, authenticated event reaches
//! [`Engine::ingest`](ringside_engine::Engine::ingest), which answers once the
//! event is durable; then the PBX gets `200 {"ok":true,"seq":N}`.
//! Nothing is written for a rejected request.

use std::collections::HashMap;

use axum::Json;
use axum::body::Body;
use axum::extract::{ConnectInfo, FromRequestParts, Query, Request, State};
use axum::http::header::CONTENT_LENGTH;
use futures::StreamExt;
use ringside_engine::IncomingEvent;
use serde_json::{Value, json};

use crate::error::ApiError;
use crate::server::PeerAddr;
use crate::state::AppState;

/// The webhook's path.
pub const PATH: &str = "/webhooks/gamma";

pub async fn gamma(State(state): State<AppState>, req: Request) -> Result<Json<Value>, ApiError> {
    let (mut parts, body) = req.into_parts();
    let peer = ConnectInfo::<PeerAddr>::from_request_parts(&mut parts, &state)
        .await
        .ok()
        .map(|ConnectInfo(PeerAddr(addr))| addr.ip());
    let auth = &state.webhook;

    if !auth.source_allowed(peer) {
        let who = peer.map_or_else(|| "an unknown address".to_string(), |ip| ip.to_string());
        tracing::warn!(source = %who, "webhook: source address not allowed");
        return Err(ApiError::forbidden(format!(
            "events from {who} are not accepted"
        )));
    }

    let mut authenticated = parts
        .headers
        .get(&auth.header)
        .is_some_and(|v| auth.secret_matches(v.as_bytes()));
    if !authenticated && let Some(param) = &auth.query_param {
        let query: HashMap<String, String> = Query::try_from_uri(&parts.uri)
            .map(|Query(q)| q)
            .unwrap_or_default();
        authenticated = query
            .get(param)
            .is_some_and(|v| auth.secret_matches(v.as_bytes()));
    }
    if !authenticated {
        tracing::warn!(source = ?peer, "webhook: missing or wrong secret");
        return Err(ApiError::unauthorized("missing or wrong webhook secret"));
    }

    let limit = state.limits.max_body_bytes;
    let declared = parts
        .headers
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit as u64) {
        return Err(ApiError::too_large(limit));
    }
    let bytes = read_limited(body, limit).await?;

    let external_call_id = parts
        .headers
        .get(ringside_gamma::EXTERNAL_CALL_ID_HEADER)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|v| !v.is_empty());
    let event = ringside_gamma::parse_event(&bytes, external_call_id)
        .map_err(|e| ApiError::invalid(e.message))?;
    let body = String::from_utf8(bytes).map_err(|_| ApiError::invalid("body is not UTF-8"))?;

    let ingested = state
        .engine
        .ingest(IncomingEvent {
            event,
            body,
            source_ip: peer.map(|ip| ip.to_string()),
        })
        .await?;
    Ok(Json(json!({ "ok": true, "seq": ingested.seq })))
}

/// Read at most `limit` bytes of `body`; more is a 413.
async fn read_limited(body: Body, limit: usize) -> Result<Vec<u8>, ApiError> {
    let mut stream = body.into_data_stream();
    let mut out = Vec::new();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|e| ApiError::invalid(format!("cannot read the body: {e}")))?;
        if out.len() + chunk.len() > limit {
            return Err(ApiError::too_large(limit));
        }
        out.extend_from_slice(&chunk);
    }
    Ok(out)
}
