//! Server limits: the connection cap, the API time limit, body limits.

mod common;

use std::time::Duration;

use axum::http::StatusCode;
use common::*;
use ringside_gamma_emulator::Fault;
use ringside_hub::Limits;
use serde_json::json;

#[tokio::test]
async fn connections_beyond_the_cap_wait_for_a_free_slot() {
    let hub = TestHub::new().await;
    let served = hub.serve_capped(1).await;
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(0)
        .build()
        .unwrap();

    // One idle connection takes the only slot.
    let held = tokio::net::TcpStream::connect(served.addr).await.unwrap();
    let waiting = tokio::time::timeout(
        Duration::from_millis(500),
        client.get(served.url("/healthz")).send(),
    )
    .await;
    assert!(
        waiting.is_err(),
        "a second connection was served: {waiting:?}"
    );

    drop(held);
    let response = tokio::time::timeout(
        Duration::from_secs(5),
        client.get(served.url("/healthz")).send(),
    )
    .await
    .expect("served once the slot is free")
    .unwrap();
    assert_eq!(response.status().as_u16(), 200);
    served.stop().await;
}

#[tokio::test]
async fn a_slow_request_times_out_with_a_json_error() {
    let limits = Limits {
        request_timeout: Duration::from_millis(300),
        ..Limits::default()
    };
    let hub = TestHub::with_limits(|_| {}, Default::default(), limits).await;
    hub.emulator
        .inject(Fault::Latency(Duration::from_secs(3)), Some(1))
        .await;
    let (status, json) = hub.api("GET", "/api/v1/extensions", TOKEN_203, None).await;
    assert_eq!(status, StatusCode::GATEWAY_TIMEOUT, "{json}");
    assert_error(&json, "timeout");
}

#[tokio::test]
async fn oversize_api_bodies_are_refused() {
    let hub = TestHub::new().await;
    hub.post_all(ringside_gamma::seed::INCOMING_MISSED).await;
    let call = &hub.calls(TOKEN_203).await[0];
    let (status, json) = hub
        .api(
            "PUT",
            &format!("/api/v1/calls/{}/notes", call.id),
            TOKEN_203,
            Some(json!({ "notes": "x".repeat(70 * 1024) })),
        )
        .await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{json}");
    assert_error(&json, "payload_too_large");
    // Not JSON at all.
    let req = axum::http::Request::post("/api/v1/dial")
        .header("authorization", format!("Bearer {TOKEN_203}"))
        .header("content-type", "application/json")
        .body(axum::body::Body::from("{nope"))
        .unwrap();
    let (status, json) = send(hub.app(), req).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{json}");
    assert_error(&json, "invalid");
}
