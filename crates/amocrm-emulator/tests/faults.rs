//! The rate limit and IP block, injected faults, outages.

mod common;

use std::time::{Duration, Instant};

use common::{access_token, client, demo, get, legacy, legacy_call, post, refresh};
use ringside_amocrm_emulator::{AmoEmulator, EmulatorConfig, Fault, Scope};
use serde_json::json;

#[tokio::test]
async fn eight_requests_in_a_second_get_429_then_the_ip_is_blocked() {
    let emulator = AmoEmulator::start(EmulatorConfig {
        block_after_429s: 3,
        ..EmulatorConfig::default()
    })
    .await
    .unwrap();
    let token = access_token(&emulator).await; // OAuth is not limited
    for _ in 0..7 {
        assert_eq!(get(&emulator, &token, "/api/v4/account").await.0, 200);
    }
    let response = client()
        .get(format!("{}/api/v4/account", emulator.base_url()))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 429);
    assert_eq!(response.headers()["retry-after"], "1");
    // A new second: allowed again, and the 429 streak resets.
    emulator.advance(Duration::from_millis(1001));
    assert_eq!(get(&emulator, &token, "/api/v4/account").await.0, 200);
    for _ in 0..6 {
        get(&emulator, &token, "/api/v4/account").await;
    }
    for _ in 0..3 {
        assert_eq!(get(&emulator, &token, "/api/v4/account").await.0, 429);
    }
    emulator.advance(Duration::from_secs(2));
    let (status, body) = get(&emulator, &token, "/api/v4/account").await;
    assert_eq!(status, 403);
    assert_eq!(body["title"], "Forbidden");
    assert_eq!(body["detail"], "IP address blocked");
    // The legacy host and OAuth are not limited.
    assert_eq!(legacy(&emulator, "", "foo=bar").await.0, 400);
    let rt = emulator.add_refresh_token();
    assert_eq!(refresh(&emulator, &rt).await.0, 200);
    emulator.advance(Duration::from_secs(59));
    assert_eq!(get(&emulator, &token, "/api/v4/account").await.0, 200);
}

#[tokio::test]
async fn default_block_is_after_twenty_429s() {
    let emulator = AmoEmulator::start(EmulatorConfig::default()).await.unwrap();
    let token = emulator.config().long_lived_token.unwrap();
    for _ in 0..7 {
        get(&emulator, &token, "/api/v4/account").await;
    }
    for _ in 0..20 {
        assert_eq!(get(&emulator, &token, "/api/v4/account").await.0, 429);
    }
    assert_eq!(get(&emulator, &token, "/api/v4/account").await.0, 403);
    emulator.advance(Duration::from_secs(61));
    assert_eq!(get(&emulator, &token, "/api/v4/account").await.0, 200);
}

#[tokio::test]
async fn server_errors_are_not_applied_and_respect_scope() {
    let (emulator, _, token) = demo().await;
    emulator.inject(Fault::ServerError {
        status: 502,
        times: 1,
        scope: Scope::Api,
    });
    let rt = emulator.add_refresh_token();
    assert_eq!(
        refresh(&emulator, &rt).await.0,
        200,
        "OAuth is out of scope"
    );
    let call =
        json!([{"direction": "inbound", "duration": 5, "source": "s", "phone": "647460197"}]);
    let (status, body) = post(&emulator, &token, "/api/v4/calls", call.clone()).await;
    assert_eq!(status, 502);
    assert_eq!(body["status"], 502);
    assert!(emulator.calls().is_empty());
    assert_eq!(post(&emulator, &token, "/api/v4/calls", call).await.0, 200);
    emulator.inject(Fault::RateLimited {
        retry_after_secs: Some(7),
        times: 1,
        scope: Scope::OAuth,
    });
    let rt = emulator.add_refresh_token();
    let response = client()
        .post(format!("{}/oauth2/access_token", emulator.base_url()))
        .json(&json!({"grant_type": "refresh_token", "refresh_token": rt}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 429);
    assert_eq!(response.headers()["retry-after"], "7");
    assert_eq!(
        refresh(&emulator, &rt).await.0,
        200,
        "not consumed by the fault"
    );
    emulator.inject(Fault::ServerError {
        status: 500,
        times: 1,
        scope: Scope::Legacy,
    });
    let form = legacy_call(
        0,
        &[
            ("uuid", "f"),
            ("caller", "647460197"),
            ("to", "1"),
            ("date", "1"),
            ("type", "inbound"),
            ("billsec", "1"),
            ("account_id", "31415926"),
        ],
    );
    assert_eq!(legacy(&emulator, "", &form).await.0, 500);
    assert_eq!(legacy(&emulator, "", &form).await.0, 200);
    let statuses: Vec<u16> = emulator.requests().iter().map(|r| r.status).collect();
    assert!(statuses.contains(&502) && statuses.contains(&429) && statuses.contains(&500));
}

#[tokio::test]
async fn latency_and_apply_then_stall() {
    let (emulator, _, token) = demo().await;
    emulator.inject(Fault::Latency {
        ms: 300,
        times: 1,
        scope: Scope::All,
    });
    let started = Instant::now();
    assert_eq!(get(&emulator, &token, "/api/v4/account").await.0, 200);
    assert!(started.elapsed() >= Duration::from_millis(300));
    emulator.inject(Fault::ApplyThenStall {
        ms: 3_000,
        times: 1,
        scope: Scope::Api,
    });
    let impatient = reqwest::Client::builder()
        .timeout(Duration::from_millis(500))
        .build()
        .unwrap();
    let result = impatient
        .post(format!("{}/api/v4/calls", emulator.base_url()))
        .bearer_auth(&token)
        .json(&json!([{"direction": "outbound", "duration": 5, "source": "s", "phone": "+34 91 123 45 67", "uniq": "stall"}]))
        .send()
        .await;
    assert!(result.is_err(), "the client times out");
    assert!(emulator.wait_for_calls(1, Duration::from_secs(2)).await);
    assert_eq!(emulator.calls()[0].uniq.as_deref(), Some("stall"));
}

#[tokio::test]
async fn outage_answers_503_everywhere() {
    let (emulator, _, token) = demo().await;
    emulator.set_down(true);
    let (status, body) = get(&emulator, &token, "/api/v4/account").await;
    assert_eq!(status, 503);
    assert_eq!(body["status"], 503);
    let rt = emulator.add_refresh_token();
    assert_eq!(refresh(&emulator, &rt).await.0, 503);
    emulator.set_down(false);
    assert_eq!(refresh(&emulator, &rt).await.0, 200);
    emulator.inject(Fault::ServerError {
        status: 500,
        times: 5,
        scope: Scope::All,
    });
    emulator.clear_faults();
    assert_eq!(get(&emulator, &token, "/api/v4/account").await.0, 200);
}
