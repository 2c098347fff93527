//! amo's rate limit (429) and IP block (403) hold the throttle.

mod common;

use std::time::Duration;

use common::*;
use ringside_amocrm_emulator::{EmulatorConfig, Fault, Scope};
use ringside_core::ErrorKind;
use ringside_crm::CrmProvider;

#[tokio::test]
async fn a_429_is_rate_limited_and_holds_the_throttle() {
    let env = demo().await;
    let throttle = throttle();
    let crm = ringside_amocrm::AmoCrm::new(long_lived(&env), throttle.clone()).unwrap();
    env.emulator.inject(Fault::RateLimited {
        retry_after_secs: Some(3),
        times: 1,
        scope: Scope::Api,
    });
    let e = crm.check().await.unwrap_err();
    assert_eq!(e.kind, ErrorKind::RateLimited);
    assert_eq!(e.retry_after, Some(Duration::from_secs(3)));
    let held = throttle.held_until().expect("the throttle is held");
    let left = held - tokio::time::Instant::now();
    assert!(left > Duration::from_secs(2), "{left:?}");
}

#[tokio::test]
async fn the_ip_block_is_a_long_wait() {
    let env = start(EmulatorConfig {
        block_after_429s: 3,
        ..EmulatorConfig::default()
    })
    .await;
    // Someone else on this IP floods amo until it blocks the IP.
    let http = reqwest::Client::new();
    let url = format!("{}/api/v4/account", env.emulator.base_url());
    for _ in 0..30 {
        let _ = http.get(&url).send().await;
    }
    let throttle = throttle();
    let crm = ringside_amocrm::AmoCrm::new(long_lived(&env), throttle.clone()).unwrap();
    let e = crm.check().await.unwrap_err();
    assert_eq!(e.kind, ErrorKind::RateLimited, "{}", e.message);
    assert!(e.retry_after.unwrap() >= Duration::from_secs(60));
    assert!(e.message.contains("blocked"), "{}", e.message);
    let left = throttle.held_until().unwrap() - tokio::time::Instant::now();
    assert!(left > Duration::from_secs(50), "{left:?}");
}

#[tokio::test]
async fn a_server_error_is_unavailable() {
    let env = demo().await;
    let crm = adapter(long_lived(&env));
    env.emulator.inject(Fault::ServerError {
        status: 502,
        times: 1,
        scope: Scope::Api,
    });
    assert_eq!(crm.check().await.unwrap_err().kind, ErrorKind::Unavailable);
    env.emulator.set_down(true);
    let e = crm.check().await.unwrap_err();
    assert!(e.is_retryable(), "{e:?}");
}
