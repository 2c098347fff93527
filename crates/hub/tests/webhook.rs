//! The Gamma webhook: bad input is refused with a clear JSON 4xx and writes
//! nothing; good events are durable before the 200.

mod common;

use std::net::SocketAddr;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use common::*;
use ringside_journal::Journal;

const RINGING: &str = r#"{"callId":"471900","callLegId":"1542399572160.-703374","displayedExternalNumber":"+34647460197","displayedLabel":"647460197","displayedNumber":"0647460197","isIncoming":"true","isRecording":"false","eventTimestamp":"1542399572176","state":"ringing","stateCause":"causeNormal","extension":"203","firstFrom":"0647460197","firstTo":"203","firstIsIncoming":"false","firstCallId":"471900"}"#;

/// Every bad request gets a JSON 4xx, nothing is journaled, and a good event
/// still goes through afterwards.
#[tokio::test]
async fn bad_input_is_refused_and_nothing_is_written() {
    let hub = TestHub::new().await;
    let before = hub.event_count().await;

    // Malformed JSON.
    let (status, json) = hub.post_event("{\"callId\": \"1\", ", Some(SECRET)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{json}");
    assert_error(&json, "invalid");

    // Wrong types.
    let wrong = RINGING.replace(r#""callId":"471900""#, r#""callId":{}"#);
    let (status, json) = hub.post_event(wrong, Some(SECRET)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{json}");
    assert_error(&json, "invalid");
    assert!(
        json["message"].as_str().unwrap().contains("callId"),
        "{json}"
    );

    // Missing callId.
    let missing = RINGING.replace(r#""callId":"471900","#, "");
    let (status, json) = hub.post_event(missing, Some(SECRET)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{json}");
    assert_error(&json, "invalid");
    assert!(
        json["message"].as_str().unwrap().contains("callId"),
        "{json}"
    );

    // Not an object at all, and an empty body.
    for body in ["[1,2,3]", "", "null"] {
        let (status, json) = hub.post_event(body, Some(SECRET)).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body:?}: {json}");
        assert_error(&json, "invalid");
    }

    // Oversize body, with and without a Content-Length header.
    let big = format!("{{\"callId\":\"1\",\"pad\":\"{}\"}}", "x".repeat(70 * 1024));
    let (status, json) = hub.post_event(big.clone(), Some(SECRET)).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{json}");
    assert_error(&json, "payload_too_large");
    let req = Request::post(WEBHOOK)
        .header(SECRET_HEADER, SECRET)
        .header("content-length", big.len().to_string())
        .body(Body::from(big))
        .unwrap();
    let (status, json) = send(hub.app(), req).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{json}");

    // Wrong and missing secret.
    let (status, json) = hub.post_event(RINGING, Some("not-the-secret")).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{json}");
    assert_error(&json, "unauthorized");
    let (status, json) = hub.post_event(RINGING, None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{json}");
    assert_error(&json, "unauthorized");
    // A secret one character short.
    let (status, _) = hub.post_event(RINGING, Some(&SECRET[1..])).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);

    // Unknown path, wrong method.
    let (status, json) = send(
        hub.app(),
        Request::post("/webhooks/nope")
            .body(Body::from(RINGING))
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{json}");
    assert_error(&json, "not_found");
    let (status, json) = send(
        hub.app(),
        Request::get(WEBHOOK).body(Body::empty()).unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED, "{json}");
    assert_error(&json, "method_not_allowed");

    assert_eq!(
        hub.event_count().await,
        before,
        "a rejected request wrote something"
    );

    // Still serving: a good event goes through.
    let (status, json) = hub.post_event(RINGING, Some(SECRET)).await;
    assert_eq!(status, StatusCode::OK, "{json}");
    assert_eq!(json["ok"], true);
    assert!(json["seq"].as_i64().unwrap() > 0);
    assert_eq!(hub.event_count().await, before + 1);
}

#[tokio::test]
async fn source_outside_the_allow_list_is_forbidden() {
    let hub = TestHub::with(
        |auth| auth.allowed = vec!["193.22.119.0/24".parse().unwrap()],
        Default::default(),
    )
    .await;
    let outside = SocketAddr::from(([127, 0, 0, 1], 5000));
    let req = Request::post(WEBHOOK)
        .header(SECRET_HEADER, SECRET)
        .body(Body::from(RINGING))
        .unwrap();
    let (status, json) = send(hub.app_from(outside), req).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{json}");
    assert_error(&json, "forbidden");
    assert_eq!(hub.event_count().await, 0);

    let gamma = SocketAddr::from(([193, 22, 119, 28], 5000));
    let req = Request::post(WEBHOOK)
        .header(SECRET_HEADER, SECRET)
        .body(Body::from(RINGING))
        .unwrap();
    let (status, json) = send(hub.app_from(gamma), req).await;
    assert_eq!(status, StatusCode::OK, "{json}");
    assert_eq!(hub.event_count().await, 1);
}

/// Over a real socket: the allow-list sees the real peer address (127.0.0.1).
#[tokio::test]
async fn allow_list_uses_the_socket_address() {
    let hub = TestHub::with(
        |auth| auth.allowed = vec!["193.22.119.0/24".parse().unwrap()],
        Default::default(),
    )
    .await;
    let served = hub.serve().await;
    let client = reqwest::Client::new();
    let response = client
        .post(served.url(WEBHOOK))
        .header(SECRET_HEADER, SECRET)
        .body(RINGING)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 403);
    let json: serde_json::Value = response.json().await.unwrap();
    assert_error(&json, "forbidden");
    served.stop().await;
}

#[tokio::test]
async fn secret_may_come_as_a_query_parameter_when_configured() {
    let hub = TestHub::with(
        |auth| auth.query_param = Some("ringside_secret".into()),
        Default::default(),
    )
    .await;
    let req = Request::post(format!("{WEBHOOK}?ringside_secret={SECRET}"))
        .body(Body::from(RINGING))
        .unwrap();
    let (status, json) = send(hub.app(), req).await;
    assert_eq!(status, StatusCode::OK, "{json}");
    let req = Request::post(format!("{WEBHOOK}?ringside_secret=wrong"))
        .body(Body::from(RINGING))
        .unwrap();
    let (status, _) = send(hub.app(), req).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn unknown_states_are_accepted_and_journaled() {
    let hub = TestHub::new().await;
    let body = RINGING.replace(r#""state":"ringing""#, r#""state":"parked""#);
    let (status, json) = hub.post_event(body, Some(SECRET)).await;
    assert_eq!(status, StatusCode::OK, "{json}");
    assert_eq!(hub.event_count().await, 1);
    assert!(hub.calls(TOKEN_203).await.is_empty());
}

/// After a 200, a fresh `Journal` on the same file finds the event.
#[tokio::test]
async fn accepted_events_are_durable() {
    let hub = TestHub::new().await;
    let (status, json) = hub.post_event(RINGING, Some(SECRET)).await;
    assert_eq!(status, StatusCode::OK, "{json}");
    let seq = json["seq"].as_i64().unwrap();

    let reopened = Journal::open(&hub.journal_path).unwrap();
    let events = reopened
        .read(move |q| q.events_after(seq - 1, 10))
        .await
        .unwrap();
    let event = events.iter().find(|e| e.seq == seq).expect("event on disk");
    assert_eq!(event.body, RINGING);
    assert_eq!(event.provider_call_id.as_deref(), Some("471900"));
    assert_eq!(event.state.as_deref(), Some("ringing"));
}

#[tokio::test]
async fn external_call_id_header_is_kept() {
    let hub = TestHub::new().await;
    let req = Request::post(WEBHOOK)
        .header(SECRET_HEADER, SECRET)
        .header(ringside_gamma::EXTERNAL_CALL_ID_HEADER, "ringside-xyz")
        .body(Body::from(RINGING))
        .unwrap();
    let (status, json) = send(hub.app(), req).await;
    assert_eq!(status, StatusCode::OK, "{json}");
    let seq = json["seq"].as_i64().unwrap();
    let events = hub
        .state
        .engine
        .journal()
        .read(move |q| q.events_after(seq - 1, 1))
        .await
        .unwrap();
    assert_eq!(events[0].external_call_id.as_deref(), Some("ringside-xyz"));
}

#[tokio::test]
async fn healthz_reports_the_journal() {
    let hub = TestHub::new().await;
    let (status, json) = send(
        hub.app(),
        Request::get("/healthz").body(Body::empty()).unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(json, serde_json::json!({"status": "ok", "journal": "ok"}));
}
