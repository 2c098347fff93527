//! Injected faults, outages and their effect on state.

mod common;

use std::time::{Duration, Instant};

use common::{client, code, demo, gateway, rest, rest_json, status_json};
use ringside_vtiger_emulator::{Fault, SEARCH_PATH, SECRET_HEADER, Scope, Surface};

fn initiate(call_id: &str) -> [(&str, &str); 4] {
    [
        ("event", "call_initiated"),
        ("call_id", call_id),
        ("from", "+34647460197"),
        ("to", "201"),
    ]
}

#[tokio::test]
async fn server_errors_are_answered_and_not_applied() {
    let (emulator, _) = demo().await;
    emulator.inject(Fault::ServerError {
        status: 502,
        times: 2,
        scope: Scope::Gateway,
    });
    // A REST request is outside the scope and unaffected.
    let (status, _) = rest_json(&emulator, "me", &[]).await;
    assert_eq!(status, 200);
    for _ in 0..2 {
        let (status, body) = gateway(&emulator, &initiate("f1")).await;
        assert_eq!(status, 502);
        assert_eq!(code(&body), "SERVER_ERROR");
    }
    assert!(
        emulator.phone_calls().is_empty(),
        "a faulted request is not applied"
    );
    assert!(emulator.gateway_events().is_empty());
    let (status, _) = gateway(&emulator, &initiate("f1")).await;
    assert_eq!(status, 200);
    let statuses: Vec<(Surface, u16)> = emulator
        .requests()
        .iter()
        .map(|r| (r.surface, r.status))
        .collect();
    assert_eq!(
        statuses,
        [
            (Surface::Rest, 200),
            (Surface::Gateway, 502),
            (Surface::Gateway, 502),
            (Surface::Gateway, 200)
        ]
    );
    assert_eq!(emulator.phone_calls().len(), 1);
}

#[tokio::test]
async fn rate_limited_faults_send_retry_after_and_flood_headers() {
    let (emulator, _) = demo().await;
    emulator.inject(Fault::RateLimited {
        retry_after_secs: 7,
        times: 1,
        scope: Scope::Rest,
    });
    let response = rest(&emulator, "me", &[]).await;
    assert_eq!(response.status().as_u16(), 429);
    assert_eq!(response.headers()["retry-after"], "7");
    assert_eq!(response.headers()["x-floodcontrol-remaining"], "0");
    assert_eq!(response.headers()["x-floodcontrol-reset"], "7");
    assert!(response.headers().contains_key("x-floodcontrol-limit"));
    let (_, body) = status_json(response).await;
    assert_eq!(code(&body), "RATE_LIMIT_EXCEEDED");
    let (status, _) = rest_json(&emulator, "me", &[]).await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn latency_delays_then_serves() {
    let (emulator, _) = demo().await;
    emulator.inject(Fault::Latency {
        ms: 300,
        times: 1,
        scope: Scope::All,
    });
    let started = Instant::now();
    let (status, _) = gateway(&emulator, &initiate("l1")).await;
    assert_eq!(status, 200);
    assert!(started.elapsed() >= Duration::from_millis(300));
    assert_eq!(emulator.phone_calls().len(), 1);
    let started = Instant::now();
    gateway(&emulator, &[("event", "call_hangup"), ("call_id", "l1")]).await;
    assert!(started.elapsed() < Duration::from_millis(300), "used up");
}

#[tokio::test]
async fn apply_then_stall_applies_before_answering() {
    let (emulator, _) = demo().await;
    emulator.inject(Fault::ApplyThenStall {
        ms: 2_000,
        times: 1,
        scope: Scope::Gateway,
    });
    let impatient = reqwest::Client::builder()
        .timeout(Duration::from_millis(300))
        .build()
        .unwrap();
    let outcome = impatient
        .post(emulator.gateway_url())
        .header(SECRET_HEADER, emulator.config().gateway_secret)
        .query(&initiate("s1"))
        .send()
        .await;
    assert!(outcome.unwrap_err().is_timeout());
    // The client gave up, but the CRM already did the work.
    let call = emulator.phone_call("s1").expect("applied");
    assert_eq!(call.callstatus, "ringing");
    assert_eq!(emulator.gateway_events().len(), 1);
    assert_eq!(emulator.requests()[0].status, 200);

    // The client retries: a duplicate, not a second record.
    let (status, _) = gateway(&emulator, &initiate("s1")).await;
    assert_eq!(status, 200);
    assert_eq!(emulator.phone_calls().len(), 1);
    assert_eq!(emulator.phone_call("s1").unwrap().duplicates, 1);
}

#[tokio::test]
async fn apply_then_stall_answers_after_the_stall() {
    let (emulator, _) = demo().await;
    emulator.inject(Fault::ApplyThenStall {
        ms: 300,
        times: 1,
        scope: Scope::Rest,
    });
    let started = Instant::now();
    let (status, body) = rest_json(&emulator, "me", &[]).await;
    assert_eq!(status, 200);
    assert_eq!(body["result"]["id"], "19x1");
    assert!(started.elapsed() >= Duration::from_millis(300));
}

#[tokio::test]
async fn an_outage_answers_503_everywhere_until_lifted() {
    let (emulator, _) = demo().await;
    emulator.set_down(true);
    let (status, body) = gateway(&emulator, &initiate("o1")).await;
    assert_eq!(status, 503);
    assert_eq!(code(&body), "SERVICE_UNAVAILABLE");
    let (status, body) = rest_json(&emulator, "me", &[]).await;
    assert_eq!(status, 503);
    assert_eq!(code(&body), "SERVICE_UNAVAILABLE");
    let search = client()
        .get(format!(
            "{}{SEARCH_PATH}?phone_number=647460197",
            emulator.base_url()
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(search.status().as_u16(), 503);
    assert!(emulator.phone_calls().is_empty());
    assert!(emulator.requests().iter().all(|r| r.status == 503));
    assert_eq!(emulator.requests().len(), 3);

    emulator.set_down(false);
    let (status, _) = gateway(&emulator, &initiate("o1")).await;
    assert_eq!(status, 200);
    let (status, _) = rest_json(&emulator, "me", &[]).await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn faults_run_in_order_and_can_be_cleared() {
    let (emulator, _) = demo().await;
    emulator.inject(Fault::ServerError {
        status: 500,
        times: 1,
        scope: Scope::All,
    });
    emulator.inject(Fault::ServerError {
        status: 503,
        times: 1,
        scope: Scope::All,
    });
    emulator.inject(Fault::ServerError {
        status: 502,
        times: 5,
        scope: Scope::All,
    });
    let search = client()
        .get(format!(
            "{}{SEARCH_PATH}?phone_number=647460197",
            emulator.base_url()
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(
        search.status().as_u16(),
        500,
        "Scope::All covers Search.php"
    );
    let (status, _) = rest_json(&emulator, "me", &[]).await;
    assert_eq!(status, 503);
    let (status, _) = gateway(&emulator, &initiate("c1")).await;
    assert_eq!(status, 502);
    emulator.clear_faults();
    let (status, _) = gateway(&emulator, &initiate("c1")).await;
    assert_eq!(status, 200);
}
