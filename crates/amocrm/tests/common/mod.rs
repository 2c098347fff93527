//! Shared helpers: the demo emulator, adapters pointed at it (long-lived,
//! OAuth, legacy) and operations built from calls.
#![allow(dead_code)]

use std::sync::Arc;

use chrono::{DateTime, TimeZone, Utc};
use ringside_amocrm::{AmoAuth, AmoCrm, AmoSettings, CallsMode, MemoryTokenStore};
use ringside_amocrm_emulator::{AmoEmulator, DemoIds, EmulatorConfig};
use ringside_core::{Call, CallId, Direction, Outcome, Sensitive};
use ringside_crm::{CrmUser, Limits, OpKind, Operation, Throttle};

pub struct Env {
    pub emulator: AmoEmulator,
    pub ids: DemoIds,
}

pub async fn start(config: EmulatorConfig) -> Env {
    let emulator = AmoEmulator::start(config).await.unwrap();
    let ids = emulator.seed_demo();
    Env { emulator, ids }
}

pub async fn demo() -> Env {
    start(EmulatorConfig::default()).await
}

/// Under the emulator's 7 requests per second.
pub fn throttle() -> Arc<Throttle> {
    Throttle::new(&Limits {
        requests_per_second: 6.0,
        burst: 1,
        timeout_seconds: 10.0,
    })
}

pub fn long_lived(env: &Env) -> AmoSettings {
    let token = env.emulator.config().long_lived_token.unwrap();
    AmoSettings::new(
        env.emulator.base_url(),
        AmoAuth::LongLived {
            token: Sensitive::new(token),
        },
    )
}

/// OAuth settings with a fresh refresh token, and the store it rotates into.
pub fn oauth(env: &Env) -> (AmoSettings, Arc<MemoryTokenStore>, String) {
    let config = env.emulator.config();
    let refresh = env.emulator.add_refresh_token();
    let store = MemoryTokenStore::new();
    let settings = AmoSettings::new(
        env.emulator.base_url(),
        AmoAuth::OAuth {
            client_id: config.client_id,
            client_secret: Sensitive::new(config.client_secret),
            redirect_uri: config.redirect_uri,
            refresh_token: Sensitive::new(refresh.clone()),
            store: store.clone(),
        },
    );
    (settings, store, refresh)
}

pub fn legacy(env: &Env, mut settings: AmoSettings) -> AmoSettings {
    let config = env.emulator.config();
    settings.mode = CallsMode::Legacy {
        code: config.legacy_code,
        key: Sensitive::new(config.legacy_key),
        account_id: config.account_id,
        url: env.emulator.base_url(),
    };
    settings
}

pub fn adapter(settings: AmoSettings) -> AmoCrm {
    AmoCrm::new(settings, throttle()).unwrap()
}

/// 2026-03-05 09:07:03 UTC.
pub fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 5, 9, 7, 3).unwrap()
}

pub fn ended(id: &str, direction: Direction, outcome: Outcome, talk: i64) -> Call {
    let mut call = Call::new(CallId::from(id), "gamma", format!("g-{id}"), t0(), t0());
    call.direction = direction;
    call.remote_number = "+34647460197".into();
    call.outcome = Some(outcome);
    call.talk_seconds = talk;
    if outcome == Outcome::Answered {
        call.answered_at = Some(t0() + chrono::Duration::seconds(5));
    }
    call.ended_at = Some(t0() + chrono::Duration::seconds(5 + talk));
    call
}

pub fn user(extension: &str, user_id: u64, name: &str) -> CrmUser {
    CrmUser {
        extension: extension.into(),
        user_id: Some(user_id.to_string()),
        name: Some(name.into()),
        phone: None,
        email: None,
    }
}

pub fn op(kind: OpKind, call: &Call, user: Option<CrmUser>) -> Operation {
    Operation {
        id: 1,
        kind,
        call: call.clone(),
        customer: call.remote_number.clone(),
        extension: user.as_ref().map(|u| u.extension.clone()),
        user,
        previous_user: None,
        prior: Vec::new(),
    }
}

pub fn end_op(call: &Call, user: Option<CrmUser>) -> Operation {
    op(OpKind::Ended, call, user)
}
