//! Injected faults, outages and their effect on state.

mod common;

use std::time::{Duration, Instant};

use common::{client, code, demo, post, refresh};
use reqwest::Method;
use ringside_zoho_emulator::{Fault, Scope, Surface};

fn received(callrefid: &str) -> [(&str, &str); 3] {
    [
        ("callrefid", callrefid),
        ("fromnumber", "+34647460197"),
        ("tonumber", "201"),
    ]
}

#[tokio::test]
async fn server_errors_are_answered_and_not_applied() {
    let (emulator, _, token) = demo().await;
    emulator.inject(Fault::ServerError {
        status: 502,
        times: 2,
        scope: Scope::PhoneBridge,
    });
    // An accounts request is outside the scope and unaffected.
    let rt = emulator.add_refresh_token();
    assert_eq!(refresh(&emulator, &rt).await.0, 200);
    for _ in 0..2 {
        let (status, body) = post(&emulator, &token, "callreceived", &received("f1")).await;
        assert_eq!(status, 502);
        assert_eq!(code(&body), "INTERNAL_ERROR");
        assert_eq!(body["status"], "error");
    }
    assert!(
        emulator.calls().is_empty(),
        "a faulted request is not applied"
    );
    assert!(emulator.events().is_empty());
    assert_eq!(
        post(&emulator, &token, "callreceived", &received("f1"))
            .await
            .0,
        200
    );
    let statuses: Vec<(Surface, u16)> = emulator
        .requests()
        .iter()
        .skip(1) // demo()'s own token request
        .map(|r| (r.surface, r.status))
        .collect();
    assert_eq!(
        statuses,
        [
            (Surface::Accounts, 200),
            (Surface::PhoneBridge, 502),
            (Surface::PhoneBridge, 502),
            (Surface::PhoneBridge, 200)
        ]
    );
}

#[tokio::test]
async fn accounts_faults_hit_the_token_endpoint_only() {
    let (emulator, _, token) = demo().await;
    emulator.inject(Fault::ServerError {
        status: 500,
        times: 1,
        scope: Scope::Accounts,
    });
    assert_eq!(
        common::pb(&emulator, &token, Method::GET, "users", &[])
            .await
            .0,
        200
    );
    let rt = emulator.add_refresh_token();
    assert_eq!(refresh(&emulator, &rt).await.0, 500);
    assert_eq!(emulator.mints_for(&rt), 0);
    assert_eq!(refresh(&emulator, &rt).await.0, 200);
}

#[tokio::test]
async fn rate_limits_answer_429_with_and_without_retry_after() {
    let (emulator, _, token) = demo().await;
    emulator.inject(Fault::RateLimited {
        retry_after_secs: Some(7),
        times: 1,
        scope: Scope::All,
    });
    emulator.inject(Fault::RateLimited {
        retry_after_secs: None,
        times: 1,
        scope: Scope::PhoneBridge,
    });
    let url = format!("{}/crm/v2/phonebridge/users", emulator.api_domain());
    let send = || {
        client()
            .get(&url)
            .header("Authorization", format!("Zoho-oauthtoken {token}"))
            .send()
    };
    let first = send().await.unwrap();
    assert_eq!(first.status().as_u16(), 429);
    assert_eq!(first.headers()["retry-after"], "7");
    let body: serde_json::Value = first.json().await.unwrap();
    assert_eq!(code(&body), "TOO_MANY_REQUESTS");
    assert_eq!(body["details"], serde_json::json!({}));
    let second = send().await.unwrap();
    assert_eq!(second.status().as_u16(), 429);
    assert!(second.headers().get("retry-after").is_none());
    assert_eq!(send().await.unwrap().status().as_u16(), 200);
}

#[tokio::test]
async fn latency_delays_then_applies() {
    let (emulator, _, token) = demo().await;
    emulator.inject(Fault::Latency {
        ms: 300,
        times: 1,
        scope: Scope::PhoneBridge,
    });
    let started = Instant::now();
    assert_eq!(
        post(&emulator, &token, "callreceived", &received("l1"))
            .await
            .0,
        200
    );
    assert!(started.elapsed() >= Duration::from_millis(300));
    assert_eq!(emulator.events().len(), 1);
}

#[tokio::test]
async fn apply_then_stall_applies_before_the_client_gives_up() {
    let (emulator, _, token) = demo().await;
    emulator.inject(Fault::ApplyThenStall {
        ms: 3_000,
        times: 1,
        scope: Scope::PhoneBridge,
    });
    let impatient = reqwest::Client::builder()
        .timeout(Duration::from_millis(400))
        .build()
        .unwrap();
    let result = impatient
        .post(format!(
            "{}/crm/v2/phonebridge/callreceived",
            emulator.api_domain()
        ))
        .header("Authorization", format!("Zoho-oauthtoken {token}"))
        .form(&received("s1"))
        .send()
        .await;
    assert!(result.is_err(), "the client timed out");
    assert!(emulator.wait_for_events(1, Duration::from_secs(1)).await);
    assert_eq!(emulator.calls()[0].callrefid, "s1");
    // The retry is recognised as a duplicate.
    assert_eq!(
        post(&emulator, &token, "callreceived", &received("s1"))
            .await
            .0,
        200
    );
    assert_eq!(emulator.events().len(), 1);
    assert_eq!(emulator.calls()[0].duplicates, 1);
    // The stalled request's status is recorded once answered.
    let stalled = &emulator.requests()[1];
    assert_eq!(stalled.status, 200);
}

#[tokio::test]
async fn an_outage_answers_503_everywhere_until_lifted() {
    let (emulator, _, token) = demo().await;
    emulator.set_down(true);
    let (status, body) = post(&emulator, &token, "callreceived", &received("d1")).await;
    assert_eq!(status, 503);
    assert_eq!(body["status"], "error");
    assert!(body["code"].is_string());
    let rt = emulator.add_refresh_token();
    let (status, _) = refresh(&emulator, &rt).await;
    assert_eq!(status, 503);
    assert!(emulator.calls().is_empty());
    assert_eq!(emulator.mints_for(&rt), 0);
    emulator.set_down(false);
    assert_eq!(
        post(&emulator, &token, "callreceived", &received("d1"))
            .await
            .0,
        200
    );
}

#[tokio::test]
async fn cleared_faults_do_not_fire() {
    let (emulator, _, token) = demo().await;
    emulator.inject(Fault::ServerError {
        status: 500,
        times: 5,
        scope: Scope::All,
    });
    emulator.clear_faults();
    assert_eq!(
        common::pb(&emulator, &token, Method::GET, "users", &[])
            .await
            .0,
        200
    );
}

#[tokio::test]
async fn requests_record_authorization_and_parameters() {
    let (emulator, _, token) = demo().await;
    assert_eq!(
        post(&emulator, &token, "callreceived", &received("r1"))
            .await
            .0,
        200
    );
    let last = emulator.requests().pop().unwrap();
    assert_eq!(last.surface, Surface::PhoneBridge);
    assert_eq!(last.method, "POST");
    assert_eq!(last.path, "/eu/crm/v2/phonebridge/callreceived");
    assert_eq!(last.endpoint(), Some("callreceived"));
    assert!(last.has_authorization());
    assert_eq!(
        last.authorization.as_deref(),
        Some(format!("Zoho-oauthtoken {token}").as_str())
    );
    assert_eq!(last.param("fromnumber"), Some("+34647460197"));
    assert_eq!(last.form.len(), 3);
    assert!(last.query.is_empty());
    assert_eq!(last.status, 200);
    let token_request = &emulator.requests()[0];
    assert_eq!(token_request.surface, Surface::Accounts);
    assert_eq!(token_request.param("grant_type"), Some("refresh_token"));
}
