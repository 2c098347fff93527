//! The agent API: auth, scoping, lookup, and call control against the real
//! Gamma emulator (whose events come back through the real webhook).

mod common;

use std::time::Duration;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use common::*;
use ringside_core::{Call, CallStatus};
use ringside_gamma_emulator::scenario::ScenarioBuilder;
use ringside_gamma_emulator::{DialProgress, Fault};
use serde_json::json;

#[tokio::test]
async fn every_route_needs_a_known_bearer_token() {
    let hub = TestHub::new().await;
    let routes = [
        ("GET", "/api/v1/me"),
        ("GET", "/api/v1/calls"),
        ("GET", "/api/v1/calls/x"),
        ("GET", "/api/v1/lookup?number=647460197"),
        ("GET", "/api/v1/extensions"),
        ("GET", "/api/v1/stream"),
        ("POST", "/api/v1/dial"),
        ("POST", "/api/v1/calls/x/hangup"),
        ("POST", "/api/v1/calls/x/transfer"),
        ("PUT", "/api/v1/calls/x/notes"),
        ("GET", "/api/v1/contacts"),
        ("POST", "/api/v1/contacts"),
        ("GET", "/api/v1/status"),
    ];
    for (method, path) in routes {
        for auth in [
            None,
            Some("Bearer wrong-token"),
            Some("Basic dG9ueTpwdw=="),
            Some(TOKEN_203),
        ] {
            let mut req = Request::builder().method(method).uri(path);
            if let Some(auth) = auth {
                req = req.header("authorization", auth);
            }
            let (status, json) = send(hub.app(), req.body(Body::empty()).unwrap()).await;
            assert_eq!(
                status,
                StatusCode::UNAUTHORIZED,
                "{method} {path} {auth:?}: {json}"
            );
            assert_error(&json, "unauthorized");
        }
    }
    let (status, json) = hub.api("GET", "/api/v1/me", TOKEN_203, None).await;
    assert_eq!(status, StatusCode::OK, "{json}");
    assert_eq!(json["name"], "Tony Manero");
    assert_eq!(json["extension"], "203");
    assert_eq!(json["missed_calls"], 0);

    let (status, json) = hub.api("GET", "/api/v1/nope", TOKEN_203, None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_error(&json, "not_found");
    let (status, json) = hub.api("DELETE", "/api/v1/me", TOKEN_203, None).await;
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
    assert_error(&json, "method_not_allowed");
}

#[tokio::test]
async fn agents_see_only_their_own_calls() {
    let hub = TestHub::new().await;
    hub.post_all(ringside_gamma::seed::INCOMING_MISSED).await;
    hub.post_all(ringside_gamma::seed::TRANSFER).await;

    let mine = hub.calls(TOKEN_203).await;
    assert_eq!(mine.len(), 1);
    let theirs = hub.calls(TOKEN_201).await;
    assert_eq!(theirs.len(), 1);
    let transfer = &theirs[0];

    for (method, path, body) in [
        ("GET", format!("/api/v1/calls/{}", transfer.id), None),
        (
            "PUT",
            format!("/api/v1/calls/{}/notes", transfer.id),
            Some(json!({"notes": "x"})),
        ),
        (
            "POST",
            format!("/api/v1/calls/{}/hangup", transfer.id),
            None,
        ),
        (
            "POST",
            format!("/api/v1/calls/{}/transfer", transfer.id),
            Some(json!({"destination": "204"})),
        ),
    ] {
        let (status, json) = hub.api(method, &path, TOKEN_203, body).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{method} {path}: {json}");
        assert_error(&json, "not_found");
    }
    let (status, json) = hub
        .api("GET", "/api/v1/calls/no-such-call", TOKEN_203, None)
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_error(&json, "not_found");

    // Missed count and filters.
    let (_, me) = hub.api("GET", "/api/v1/me", TOKEN_203, None).await;
    assert_eq!(me["missed_calls"], 1);
    let (status, json) = hub
        .api(
            "GET",
            "/api/v1/calls?outcome=missed&direction=inbound",
            TOKEN_203,
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{json}");
    assert_eq!(json["calls"].as_array().unwrap().len(), 1);
    let (status, json) = hub
        .api("GET", "/api/v1/calls?outcome=answered", TOKEN_203, None)
        .await;
    assert_eq!(status, StatusCode::OK, "{json}");
    assert!(json["calls"].as_array().unwrap().is_empty());
    let (status, json) = hub
        .api("GET", "/api/v1/calls?outcome=sideways", TOKEN_203, None)
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_error(&json, "invalid");
    let (status, json) = hub
        .api("GET", "/api/v1/calls?before=garbage", TOKEN_203, None)
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_error(&json, "invalid");

    // Notes on one's own call.
    let (status, json) = hub
        .api(
            "PUT",
            &format!("/api/v1/calls/{}/notes", mine[0].id),
            TOKEN_203,
            Some(json!({"notes": "call back tomorrow", "disposition": "callback"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{json}");
    assert_eq!(json["notes"], "call back tomorrow");
    assert_eq!(json["disposition"], "callback");
    let (status, json) = hub
        .api(
            "PUT",
            &format!("/api/v1/calls/{}/notes", mine[0].id),
            TOKEN_203,
            Some(json!({"notes": 5})),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{json}");
    assert_error(&json, "invalid");
}

#[tokio::test]
async fn calls_page_with_a_cursor() {
    let hub = TestHub::new().await;
    for scenario in [
        ringside_gamma::seed::INCOMING_ANSWERED,
        ringside_gamma::seed::INCOMING_MISSED,
        ringside_gamma::seed::OUTGOING_ANSWERED,
    ] {
        hub.post_all(scenario).await;
    }
    let (status, page1) = hub
        .api("GET", "/api/v1/calls?limit=2", TOKEN_203, None)
        .await;
    assert_eq!(status, StatusCode::OK, "{page1}");
    assert_eq!(page1["calls"].as_array().unwrap().len(), 2);
    let next = page1["next"].as_str().expect("a cursor").to_string();
    let (status, page2) = hub
        .api(
            "GET",
            &format!("/api/v1/calls?limit=2&before={}", urlencode(&next)),
            TOKEN_203,
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{page2}");
    let calls2 = page2["calls"].as_array().unwrap();
    assert_eq!(calls2.len(), 1);
    assert!(page2["next"].is_null());
    // Newest first: the oldest call (471900) is on the last page.
    assert_eq!(calls2[0]["provider_call_id"], "471900");
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[tokio::test]
async fn lookup_finds_the_demo_contact_with_open_deals() {
    let hub = TestHub::new().await;
    for number in [
        "647460197",
        "0647460197",
        "+34647460197",
        "+34 647 46 01 97",
    ] {
        let (status, json) = hub
            .api(
                "GET",
                &format!("/api/v1/lookup?number={}", urlencode(number)),
                TOKEN_203,
                None,
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{number}: {json}");
        let chosen = json["lookup"]["chosen"].as_u64().expect("one match chosen") as usize;
        let m = &json["lookup"]["matches"][chosen];
        assert_eq!(m["contact"]["name"], "Lucía Fernández", "{number}");
        let open = m["deals"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|d| d["open"] == true)
            .count();
        assert_eq!(open, 2, "{number}: {json}");
    }
    for bad in [
        "/api/v1/lookup",
        "/api/v1/lookup?number=",
        "/api/v1/lookup?number=%20%20",
    ] {
        let (status, json) = hub.api("GET", bad, TOKEN_203, None).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}: {json}");
        assert_error(&json, "invalid");
    }
}

#[tokio::test]
async fn dial_and_hang_up_go_to_the_pbx() {
    let hub = TestHub::with(
        |_| {},
        DialProgress {
            enabled: true,
            ring_delay: Duration::from_millis(50),
            answer_after: Some(Duration::from_millis(100)),
        },
    )
    .await;
    let served = hub.serve_and_configure().await;
    hub.emulator.clear_requests();

    let (status, json) = hub
        .api(
            "POST",
            "/api/v1/dial",
            TOKEN_203,
            Some(json!({"destination": "647 460 197"})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{json}");
    let call: Call = serde_json::from_value(json).unwrap();
    let external = call.external_call_id.clone().expect("an external id");

    let request = hub
        .emulator
        .wait_for_request("call", Duration::from_secs(5))
        .await
        .expect("the emulator got `call`");
    assert_eq!(request.status, 200);
    assert_eq!(request.body["extension"], "203");
    let destination = request.body["destination"].as_str().unwrap();
    assert!(destination.ends_with("647460197"), "{destination}");
    assert_eq!(
        request.body["request_callback_headers"][ringside_gamma::EXTERNAL_CALL_ID_HEADER],
        external.as_str()
    );
    assert!(
        request
            .header("authorization")
            .unwrap()
            .starts_with("VTCRM-Basic ")
    );

    // The PBX's events come back through the webhook and find the call.
    let talking = hub
        .wait_call(TOKEN_203, call.id.as_str(), |c| {
            c.status == CallStatus::Talking
        })
        .await;
    let leg = talking.current_leg().unwrap().provider_call_id.clone();

    let (status, json) = hub
        .api(
            "POST",
            &format!("/api/v1/calls/{}/hangup", call.id),
            TOKEN_203,
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{json}");
    let drop = hub
        .emulator
        .wait_for_request("drop", Duration::from_secs(5))
        .await
        .expect("the emulator got `drop`");
    assert_eq!(drop.body["callId"], leg.as_str());
    let ended = hub
        .wait_call(TOKEN_203, call.id.as_str(), |c| {
            c.status == CallStatus::Ended
        })
        .await;
    assert_eq!(ended.external_call_id.as_deref(), Some(external.as_str()));

    // Hanging up an ended call is a conflict, not a PBX request.
    let (status, json) = hub
        .api(
            "POST",
            &format!("/api/v1/calls/{}/hangup", call.id),
            TOKEN_203,
            None,
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{json}");

    served.stop().await;
}

#[tokio::test]
async fn transfer_redirects_the_current_leg() {
    let hub = TestHub::new().await;
    let served = hub.serve_and_configure().await;

    let start = chrono::Utc::now().timestamp_millis();
    let scenario = ScenarioBuilder::new(start).incoming_answered(
        "880001",
        "+34647460197",
        203,
        Duration::from_millis(50),
        Duration::from_secs(30),
        false,
    );
    let emulator = &hub.emulator;
    let play = emulator.play(&scenario, 1.0);
    tokio::pin!(play);

    // Let the scenario run until the call is talking at 203.
    let call = tokio::select! {
        _ = &mut play => panic!("the scenario ended first"),
        call = async {
            loop {
                let calls = hub.calls(TOKEN_203).await;
                if let Some(c) = calls.iter().find(|c| c.provider_call_id == "880001" && c.status == CallStatus::Talking) {
                    break c.clone();
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        } => call,
    };
    hub.emulator.clear_requests();
    let (status, json) = hub
        .api(
            "POST",
            &format!("/api/v1/calls/{}/transfer", call.id),
            TOKEN_203,
            Some(json!({"destination": "301"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{json}");
    let redirect = hub
        .emulator
        .wait_for_request("redirectIncoming", Duration::from_secs(5))
        .await
        .expect("the emulator got `redirectIncoming`");
    assert_eq!(redirect.body["callId"], "880001");
    assert_eq!(redirect.body["destination"], "301");
    assert_eq!(redirect.status, 200);

    let (status, json) = hub
        .api(
            "POST",
            &format!("/api/v1/calls/{}/transfer", call.id),
            TOKEN_203,
            Some(json!({})),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{json}");

    served.stop().await;
}

#[tokio::test]
async fn a_pbx_failure_on_dial_is_reported_once_and_not_retried() {
    let hub = TestHub::new().await;
    hub.emulator.clear_requests();
    hub.emulator.inject(Fault::Status(500), Some(1)).await;

    let (status, json) = hub
        .api(
            "POST",
            "/api/v1/dial",
            TOKEN_203,
            Some(json!({"destination": "647460197"})),
        )
        .await;
    assert!(
        status == StatusCode::SERVICE_UNAVAILABLE || status == StatusCode::BAD_GATEWAY,
        "{status}: {json}"
    );
    assert_error(&json, "unavailable");
    tokio::time::sleep(Duration::from_millis(200)).await;
    let calls = hub
        .emulator
        .requests()
        .into_iter()
        .filter(|r| r.path == "call")
        .count();
    assert_eq!(calls, 1, "a dial must never be retried");

    // A bad number never reaches the PBX.
    let (status, json) = hub
        .api(
            "POST",
            "/api/v1/dial",
            TOKEN_203,
            Some(json!({"destination": "anonymous"})),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{json}");
    assert_error(&json, "invalid");
    let (status, _) = hub
        .api(
            "POST",
            "/api/v1/dial",
            TOKEN_203,
            Some(json!({"destination": ""})),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        hub.emulator
            .requests()
            .iter()
            .filter(|r| r.path == "call")
            .count(),
        1
    );
}

#[tokio::test]
async fn extensions_come_from_the_pbx() {
    let hub = TestHub::new().await;
    let (status, json) = hub.api("GET", "/api/v1/extensions", TOKEN_203, None).await;
    assert_eq!(status, StatusCode::OK, "{json}");
    let list = json.as_array().unwrap();
    assert!(
        list.iter()
            .any(|e| e["extension"] == "203" && e["name"] == "Tony Manero"),
        "{json}"
    );
}
