//! Shared helpers: an emulator with the demo data, an adapter pointed at it,
//! and operations built from calls.
#![allow(dead_code)]

use std::sync::Arc;

use chrono::Utc;
use ringside_core::{Call, CallId, Direction};
use ringside_crm::{CrmUser, Limits, OpKind, Operation, Throttle};
use ringside_vtiger::{VtigerCrm, VtigerSettings};
use ringside_vtiger_emulator::{DemoIds, EmulatorConfig, VtigerEmulator};

pub async fn demo() -> (VtigerEmulator, DemoIds) {
    let emulator = VtigerEmulator::start(EmulatorConfig::default())
        .await
        .unwrap();
    let ids = emulator.seed_demo();
    (emulator, ids)
}

/// A throttle generous enough not to slow the tests down.
pub fn throttle() -> Arc<Throttle> {
    Throttle::new(&Limits {
        requests_per_second: 1000.0,
        burst: 100,
        timeout_seconds: 10.0,
    })
}

/// Settings with the emulator's current credentials.
pub fn settings(emulator: &VtigerEmulator) -> VtigerSettings {
    let config = emulator.config();
    VtigerSettings::new(
        emulator.base_url(),
        config.username,
        config.access_key,
        config.gateway_secret,
    )
}

pub fn adapter(emulator: &VtigerEmulator) -> VtigerCrm {
    VtigerCrm::new(settings(emulator), throttle()).unwrap()
}

pub fn adapter_with(settings: VtigerSettings) -> (VtigerCrm, Arc<Throttle>) {
    let throttle = throttle();
    (
        VtigerCrm::new(settings, Arc::clone(&throttle)).unwrap(),
        throttle,
    )
}

pub fn call(id: &str, direction: Direction) -> Call {
    let now = Utc::now();
    let mut call = Call::new(CallId::from(id), "gamma", format!("g-{id}"), now, now);
    call.direction = direction;
    call.remote_number = "+34647460197".into();
    call
}

pub fn user(extension: &str, user_id: &str, phone: Option<&str>) -> CrmUser {
    CrmUser {
        extension: extension.into(),
        user_id: Some(user_id.into()),
        name: None,
        phone: phone.map(str::to_owned),
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
