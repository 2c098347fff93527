//! Shared helpers: the demo emulator, adapters pointed at it (webhook,
//! OAuth) and operations built from calls.
#![allow(dead_code)]

use std::sync::Arc;

use chrono::{DateTime, TimeZone, Utc};
use ringside_bitrix24::{BitrixAuth, BitrixCrm, BitrixSettings, MemoryTokenStore};
use ringside_bitrix24_emulator::{BitrixEmulator, DemoIds, EmulatorConfig, MethodCall};
use ringside_core::{Call, CallId, Direction, Outcome, Sensitive};
use ringside_crm::{CrmUser, Limits, OpKind, Operation, PriorOp, Throttle};
use serde_json::Value;

pub struct Env {
    pub emulator: BitrixEmulator,
    pub ids: DemoIds,
}

pub async fn start(config: EmulatorConfig) -> Env {
    let emulator = BitrixEmulator::start(config).await.unwrap();
    let ids = emulator.seed_demo();
    Env { emulator, ids }
}

pub async fn demo() -> Env {
    start(EmulatorConfig::default()).await
}

/// Well under the emulator's bucket (burst 50, 2/s) for these short tests.
pub fn throttle() -> Arc<Throttle> {
    Throttle::new(&Limits {
        requests_per_second: 20.0,
        burst: 20,
        timeout_seconds: 10.0,
    })
}

pub fn webhook(env: &Env) -> BitrixSettings {
    BitrixSettings::new(BitrixAuth::Webhook {
        url: Sensitive::new(env.emulator.webhook_url()),
    })
}

/// OAuth settings with a fresh refresh token, and the store it rotates into.
pub fn oauth(env: &Env) -> (BitrixSettings, Arc<MemoryTokenStore>, String) {
    let config = env.emulator.config();
    let refresh = env.emulator.add_refresh_token();
    let store = MemoryTokenStore::new();
    let settings = BitrixSettings::new(BitrixAuth::OAuth {
        portal_url: env.emulator.base_url(),
        client_id: config.client_id,
        client_secret: Sensitive::new(config.client_secret),
        refresh_token: Sensitive::new(refresh.clone()),
        store: store.clone(),
    });
    (settings, store, refresh)
}

pub fn adapter(settings: BitrixSettings) -> BitrixCrm {
    BitrixCrm::new(settings, throttle()).unwrap()
}

pub fn oauth_adapter(env: &Env) -> BitrixCrm {
    adapter(oauth(env).0)
}

/// 2026-03-05 09:07:03 UTC.
pub fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 5, 9, 7, 3).unwrap()
}

pub fn call(id: &str, direction: Direction) -> Call {
    let mut call = Call::new(CallId::from(id), "gamma", format!("g-{id}"), t0(), t0());
    call.direction = direction;
    call.remote_number = "+34647460197".into();
    call
}

pub fn ended(id: &str, direction: Direction, outcome: Outcome, talk: i64) -> Call {
    let mut call = call(id, direction);
    call.outcome = Some(outcome);
    call.talk_seconds = talk;
    if outcome == Outcome::Answered {
        call.answered_at = Some(t0() + chrono::Duration::seconds(5));
    }
    call.ended_at = Some(t0() + chrono::Duration::seconds(5 + talk));
    call
}

pub fn user(extension: &str, user_id: u32, name: &str) -> CrmUser {
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

/// `op` with the ring's `Delivered::sent` as its prior.
pub fn after_ring(mut op: Operation, ring_sent: &Value) -> Operation {
    op.prior = vec![PriorOp {
        op_key: "ring".into(),
        sent: ring_sent.clone(),
    }];
    op
}

/// The applied calls of `method` (lower-case).
pub fn applied(env: &Env, method: &str) -> Vec<MethodCall> {
    env.emulator
        .method_calls()
        .into_iter()
        .filter(|m| m.method == method)
        .collect()
}

/// One applied param.
pub fn param<'a>(m: &'a MethodCall, key: &str) -> Option<&'a str> {
    m.params.get(key).map(String::as_str)
}

pub fn ana(env: &Env) -> CrmUser {
    user("201", env.ids.ana, "Ana")
}

pub fn bruno(env: &Env) -> CrmUser {
    user("202", env.ids.bruno, "Bruno")
}

pub fn tony(env: &Env) -> CrmUser {
    user("203", env.ids.tony, "Tony")
}
