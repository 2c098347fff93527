//! `GET /api/v1/status`: the PBX probe (extension list, time limit, cache)
//! against the emulator's faults.

mod common;

use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::connect_info::MockConnectInfo;
use axum::http::{Request, StatusCode};
use common::*;
use ringside_gamma_emulator::Fault;
use ringside_hub::server::PeerAddr;
use ringside_hub::status::PbxProbe;
use serde_json::Value;

/// The router with a probe that caches for `cache` and waits `timeout`.
fn router(hub: &TestHub, cache: Duration, timeout: Duration) -> Router {
    let state = hub
        .state
        .clone()
        .with_pbx_probe(PbxProbe::new(cache, timeout));
    ringside_hub::app(state).layer(MockConnectInfo(PeerAddr(([127, 0, 0, 1], 1).into())))
}

async fn status(app: &Router) -> Value {
    let req = Request::get("/api/v1/status")
        .header("authorization", format!("Bearer {TOKEN_203}"))
        .body(Body::empty())
        .unwrap();
    let (code, json) = send(app.clone(), req).await;
    assert_eq!(code, StatusCode::OK, "{json}");
    json
}

#[tokio::test]
async fn status_reports_what_the_pbx_answers() {
    let hub = TestHub::new().await;
    let app = router(&hub, Duration::ZERO, Duration::from_millis(500));
    let json = status(&app).await;
    assert_eq!(json["pbx"]["state"], "ok", "{json}");
    assert_eq!(json["journal"], "ok");
    assert!(json["pbx"]["checked_at"].is_string());

    // (fault, expected state)
    let cases = [
        (Fault::Status(401), "unauthorized"),
        (Fault::Status(403), "unauthorized"),
        (Fault::Status(503), "unreachable"),
        (Fault::Status(400), "error"),
        (Fault::Latency(Duration::from_secs(2)), "unreachable"),
        (Fault::Down, "unreachable"),
    ];
    for (fault, expected) in cases {
        hub.emulator.inject(fault.clone(), None).await;
        let json = status(&app).await;
        assert_eq!(json["pbx"]["state"], expected, "{fault:?}: {json}");
        assert!(!json["pbx"]["message"].as_str().unwrap().is_empty());
        hub.emulator.clear_faults().await;
    }
    assert_eq!(status(&app).await["pbx"]["state"], "ok");
}

#[tokio::test]
async fn status_is_cached_so_polling_is_cheap() {
    let hub = TestHub::new().await;
    let app = router(&hub, Duration::from_secs(60), Duration::from_secs(3));
    hub.emulator.clear_requests();
    let first = status(&app).await;
    assert_eq!(first["pbx"]["state"], "ok");
    // A fault after the first answer is not seen while the answer is fresh.
    hub.emulator.inject(Fault::Status(401), None).await;
    let polls = futures::future::join_all((0..5).map(|_| status(&app))).await;
    for json in polls {
        assert_eq!(json["pbx"], first["pbx"]);
    }
    let asked = hub
        .emulator
        .requests()
        .iter()
        .filter(|r| r.path.starts_with("getExtensionList"))
        .count();
    assert_eq!(asked, 1, "{:?}", hub.emulator.requests());
}
