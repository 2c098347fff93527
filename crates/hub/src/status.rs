//! `GET /api/v1/status`: whether the PBX answers and the journal reads.
//!
//! The PBX is asked for its extension list (a cheap, read-only request) with
//! a short time limit. Answers are cached for a few seconds, and concurrent
//! requests share one probe, so a desktop polling the status costs the PBX
//! at most one request per cache period.

use std::time::Duration;

use axum::extract::State;
use chrono::Utc;
use ringside_api::{HubStatus, PbxState, PbxStatus};
use ringside_core::ErrorKind;
use ringside_engine::Engine;
use tokio::sync::Mutex;
use tokio::time::Instant;

use crate::api::AuthAgent;
use crate::error::{ApiError, ApiJson};
use crate::state::AppState;

/// How long a PBX answer is reused.
pub const PROBE_CACHE: Duration = Duration::from_secs(10);
/// How long the PBX may take to answer the probe.
pub const PROBE_TIMEOUT: Duration = Duration::from_secs(3);

/// Asks the PBX how it is, at most once per `cache`.
#[derive(Debug)]
pub struct PbxProbe {
    cache: Duration,
    timeout: Duration,
    last: Mutex<Option<(Instant, PbxStatus)>>,
}

impl Default for PbxProbe {
    fn default() -> Self {
        Self::new(PROBE_CACHE, PROBE_TIMEOUT)
    }
}

impl PbxProbe {
    pub fn new(cache: Duration, timeout: Duration) -> Self {
        Self {
            cache,
            timeout,
            last: Mutex::new(None),
        }
    }

    /// The PBX's status: the cached one while fresh, else a new probe.
    pub async fn status(&self, engine: &Engine) -> PbxStatus {
        // Held across the probe on purpose: concurrent callers wait for it
        // instead of asking the PBX again.
        let mut last = self.last.lock().await;
        if let Some((at, status)) = last.as_ref()
            && at.elapsed() < self.cache
        {
            return status.clone();
        }
        let status = probe(engine, self.timeout).await;
        *last = Some((Instant::now(), status.clone()));
        status
    }
}

async fn probe(engine: &Engine, timeout: Duration) -> PbxStatus {
    let (state, message) = match tokio::time::timeout(timeout, engine.extensions()).await {
        Ok(Ok(list)) => (
            PbxState::Ok,
            format!("the PBX answered with {} extensions", list.len()),
        ),
        Ok(Err(e)) => (state_of(e.kind), e.message),
        Err(_) => (
            PbxState::Unreachable,
            format!("the PBX did not answer within {} s", timeout.as_secs_f32()),
        ),
    };
    PbxStatus {
        state,
        message,
        checked_at: Utc::now(),
    }
}

/// What a failed probe says about the PBX.
fn state_of(kind: ErrorKind) -> PbxState {
    match kind {
        ErrorKind::Unauthorized | ErrorKind::Forbidden => PbxState::Unauthorized,
        ErrorKind::Unavailable | ErrorKind::Timeout => PbxState::Unreachable,
        ErrorKind::RateLimited
        | ErrorKind::NotFound
        | ErrorKind::Invalid
        | ErrorKind::Conflict
        | ErrorKind::Config
        | ErrorKind::Unsupported
        | ErrorKind::Storage
        | ErrorKind::Internal => PbxState::Error,
    }
}

/// `GET /api/v1/status`
pub async fn status(
    State(state): State<AppState>,
    AuthAgent(_agent): AuthAgent,
) -> Result<ApiJson<HubStatus>, ApiError> {
    let pbx = state.pbx_probe.status(&state.engine).await;
    let journal = match state.engine.latest_update_seq().await {
        Ok(_) => "ok".to_string(),
        Err(e) => e.message,
    };
    Ok(ApiJson(HubStatus { pbx, journal }))
}
