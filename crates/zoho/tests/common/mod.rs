//! Shared helpers: an emulator with the demo data and a refresh token, an
//! adapter pointed at it, and operations built from calls.
#![allow(dead_code)]

use std::sync::Arc;

use chrono::{DateTime, TimeZone, Utc};
use ringside_core::{Call, CallId, Direction, ManualClock};
use ringside_crm::{CrmUser, Limits, OpKind, Operation, Throttle};
use ringside_zoho::{ZohoCrm, ZohoSettings};
use ringside_zoho_emulator::{DemoIds, EmulatorConfig, ZohoEmulator};

pub struct Env {
    pub emulator: ZohoEmulator,
    pub ids: DemoIds,
    pub refresh_token: String,
}

pub async fn start(config: EmulatorConfig) -> Env {
    let emulator = ZohoEmulator::start(config).await.unwrap();
    let ids = emulator.seed_demo();
    emulator.set_integrated(true);
    let refresh_token = emulator.add_refresh_token();
    Env {
        emulator,
        ids,
        refresh_token,
    }
}

/// The demo org, integrated, with one refresh token.
pub async fn demo() -> Env {
    start(EmulatorConfig::default()).await
}

/// A throttle generous enough not to slow the tests down.
pub fn throttle() -> Arc<Throttle> {
    Throttle::new(&Limits {
        requests_per_second: 1000.0,
        burst: 100,
        timeout_seconds: 10.0,
    })
}

pub fn settings(env: &Env) -> ZohoSettings {
    let config = env.emulator.config();
    ZohoSettings::new(
        env.emulator.accounts_url(),
        config.client_id,
        config.client_secret,
        env.refresh_token.clone(),
    )
}

pub fn adapter(env: &Env) -> ZohoCrm {
    ZohoCrm::new(settings(env), throttle()).unwrap()
}

/// An adapter whose clock the test moves (in step with the emulator's).
pub fn adapter_with_clock(env: &Env) -> (ZohoCrm, Arc<ManualClock>) {
    let clock = Arc::new(ManualClock::new(Utc::now()));
    let crm = ZohoCrm::with_clock(settings(env), throttle(), clock.clone()).unwrap();
    (crm, clock)
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

pub fn user(extension: &str, user_id: &str) -> CrmUser {
    CrmUser {
        extension: extension.into(),
        user_id: Some(user_id.into()),
        name: None,
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
