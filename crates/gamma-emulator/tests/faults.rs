//! Injected faults: statuses, rate limiting, latency and a full outage
//! with recovery on the same port.

mod common;

use std::time::{Duration, Instant};

use common::{Api, fast_emulator};
use ringside_gamma_emulator::Fault;

#[tokio::test]
async fn status_fault_applies_the_given_number_of_times() {
    let emulator = fast_emulator().await;
    let api = Api::new(&emulator);
    emulator.inject(Fault::Status(503), Some(2)).await;
    assert_eq!(api.get("getExtensionList").await.0, 503);
    assert_eq!(api.get("getExtensionList").await.0, 503);
    assert_eq!(api.get("getExtensionList").await.0, 200);
    let statuses: Vec<u16> = emulator.requests().iter().map(|r| r.status).collect();
    assert_eq!(statuses, [503, 503, 200]);
}

#[tokio::test]
async fn unlimited_fault_lasts_until_cleared() {
    let emulator = fast_emulator().await;
    let api = Api::new(&emulator);
    emulator.inject(Fault::Status(500), None).await;
    for _ in 0..3 {
        assert_eq!(api.get("getExtensionListJSON").await.0, 500);
    }
    emulator.clear_faults().await;
    assert_eq!(api.get("getExtensionListJSON").await.0, 200);
}

#[tokio::test]
async fn rate_limited_answers_429_with_retry_after() {
    let emulator = fast_emulator().await;
    let api = Api::new(&emulator);
    emulator
        .inject(
            Fault::RateLimited {
                retry_after_secs: 3,
            },
            Some(1),
        )
        .await;
    let response = api
        .client
        .get(format!("{}/getExtensionList", api.base))
        .header("Authorization", format!("VTCRM-Basic {}", api.key))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 429);
    assert_eq!(response.headers()["retry-after"], "3");
    assert_eq!(api.get("getExtensionList").await.0, 200);
}

#[tokio::test]
async fn latency_delays_then_serves() {
    let emulator = fast_emulator().await;
    let api = Api::new(&emulator);
    emulator
        .inject(Fault::Latency(Duration::from_millis(150)), Some(1))
        .await;
    let started = Instant::now();
    assert_eq!(api.get("getExtensionList").await.0, 200);
    assert!(started.elapsed() >= Duration::from_millis(150));
    let started = Instant::now();
    assert_eq!(api.get("getExtensionList").await.0, 200);
    assert!(started.elapsed() < Duration::from_millis(150));
}

#[tokio::test]
async fn down_refuses_connections_then_recovers_on_the_same_port() {
    let emulator = fast_emulator().await;
    let api = Api::new(&emulator);
    // A pooled keep-alive connection exists before the outage.
    assert_eq!(api.get("getExtensionList").await.0, 200);
    emulator.inject(Fault::Down, None).await;
    let refused = tokio::net::TcpStream::connect(emulator.addr()).await;
    assert!(refused.is_err(), "the port should refuse connections");
    let pooled = api
        .client
        .get(format!("{}/getExtensionList", api.base))
        .header("Authorization", format!("VTCRM-Basic {}", api.key))
        .send()
        .await;
    assert!(pooled.is_err(), "open connections should be cut");
    let fresh = reqwest::Client::new()
        .get(format!("{}/getExtensionList", api.base))
        .send()
        .await;
    assert!(fresh.unwrap_err().is_connect());
    emulator.clear_faults().await;
    assert_eq!(api.get("getExtensionList").await.0, 200);
    assert_eq!(Api::new(&emulator).get("getExtensionList").await.0, 200);
    let statuses: Vec<u16> = emulator.requests().iter().map(|r| r.status).collect();
    assert_eq!(statuses, [200, 200, 200]);
}

#[tokio::test]
async fn faults_come_before_auth_and_are_recorded() {
    let emulator = fast_emulator().await;
    emulator.inject(Fault::Status(503), Some(1)).await;
    let response = reqwest::Client::new()
        .post(format!("{}/call", emulator.base_url()))
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 503);
    let recorded = emulator.requests();
    assert_eq!(recorded[0].path, "call");
    assert_eq!(recorded[0].status, 503);
    assert_eq!(recorded[0].body, serde_json::json!({}));
}

#[tokio::test]
async fn shutdown_closes_the_port() {
    let emulator = fast_emulator().await;
    let addr = emulator.addr();
    emulator.shutdown().await;
    assert!(tokio::net::TcpStream::connect(addr).await.is_err());
}

#[tokio::test]
async fn dropping_the_handle_stops_the_server() {
    let emulator = fast_emulator().await;
    let addr = emulator.addr();
    drop(emulator);
    for _ in 0..100 {
        if tokio::net::TcpStream::connect(addr).await.is_err() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("the port still accepts connections after the handle dropped");
}
