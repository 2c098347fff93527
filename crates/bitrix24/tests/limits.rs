//! Bitrix24's two limit answers mean "wait": RateLimited with retry_after,
//! and the shared throttle held.

mod common;

use std::time::Duration;

use common::*;
use ringside_bitrix24::BitrixCrm;
use ringside_bitrix24_emulator::Fault;
use ringside_core::{ErrorKind, NumberPlan};
use ringside_crm::CrmProvider;

#[tokio::test]
async fn query_limit_exceeded_is_rate_limited_and_holds_the_throttle() {
    let env = demo().await;
    let throttle = throttle();
    let crm = BitrixCrm::new(webhook(&env), throttle.clone()).unwrap();
    env.emulator.inject(Fault::QueryLimit { times: 1 });
    let e = crm
        .lookup(&NumberPlan::default().variants("+34647460197"))
        .await
        .unwrap_err();
    assert_eq!(e.kind, ErrorKind::RateLimited, "{}", e.message);
    assert_eq!(e.retry_after, Some(Duration::from_secs(1)));
    assert!(throttle.held_until().is_some());
    assert_eq!(env.emulator.limit_hits(), 1);
    // After the hold, it works.
    let matches = crm
        .lookup(&NumberPlan::default().variants("+34647460197"))
        .await
        .unwrap();
    assert_eq!(matches.len(), 1);
}

#[tokio::test]
async fn operation_time_limit_is_rate_limited_for_longer() {
    let env = demo().await;
    let throttle = throttle();
    let crm = BitrixCrm::new(webhook(&env), throttle.clone()).unwrap();
    env.emulator.inject(Fault::OperationTimeLimit { times: 1 });
    let e = crm.discover_users().await.unwrap_err();
    assert_eq!(e.kind, ErrorKind::RateLimited, "{}", e.message);
    assert_eq!(e.retry_after, Some(Duration::from_secs(10)));
    let held = throttle.held_until().unwrap();
    assert!(held > tokio::time::Instant::now() + Duration::from_secs(8));
}

#[tokio::test]
async fn server_errors_are_unavailable() {
    let env = demo().await;
    let crm = adapter(webhook(&env));
    env.emulator.inject(Fault::ServerError {
        status: 502,
        times: 1,
    });
    let e = crm.discover_users().await.unwrap_err();
    assert_eq!(e.kind, ErrorKind::Unavailable, "{}", e.message);
    env.emulator.set_down(true);
    let e = crm.discover_users().await.unwrap_err();
    assert_eq!(e.kind, ErrorKind::Unavailable, "{}", e.message);
}
