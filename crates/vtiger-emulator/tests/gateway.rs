//! The Phone Calls Generic gateway over real HTTP.

mod common;

use std::time::Duration;

use common::{client, code, demo, gateway, query_ok, status_json};
use ringside_vtiger_emulator::{SECRET_HEADER, Surface};

#[tokio::test]
async fn the_secret_header_is_required() {
    let (emulator, _) = demo().await;
    let params = [
        ("event", "call_initiated"),
        ("call_id", "c1"),
        ("from", "+34647460197"),
    ];
    let missing = client()
        .post(emulator.gateway_url())
        .query(&params)
        .send()
        .await
        .unwrap();
    let (status, body) = status_json(missing).await;
    assert_eq!(status, 401);
    assert_eq!(code(&body), "INVALID_SECRET");

    let wrong = client()
        .post(emulator.gateway_url())
        .header(SECRET_HEADER, "not-the-secret")
        .query(&params)
        .send()
        .await
        .unwrap();
    let (status, body) = status_json(wrong).await;
    assert_eq!(status, 401);
    assert_eq!(code(&body), "INVALID_SECRET");

    assert!(emulator.phone_calls().is_empty());
    assert!(emulator.gateway_events().is_empty());
    let requests = emulator.requests();
    assert_eq!(requests.len(), 2);
    assert_eq!(requests[0].surface, Surface::Gateway);
    assert_eq!(requests[0].status, 401);
    assert!(!requests[0].has_secret());
    assert_eq!(requests[1].secret.as_deref(), Some("not-the-secret"));
    assert_eq!(requests[1].param("from"), Some("+34647460197"));
}

#[tokio::test]
async fn each_event_checks_its_required_parameters() {
    let (emulator, _) = demo().await;
    let cases: &[(&[(&str, &str)], &str)] = &[
        (
            &[("call_id", "c1"), ("from", "600111222")],
            "MANDATORY_FIELDS_MISSING",
        ),
        (
            &[("event", "call_started"), ("call_id", "c1")],
            "INVALID_EVENT",
        ),
        (
            &[("event", "call_initiated"), ("from", "600111222")],
            "MANDATORY_FIELDS_MISSING",
        ),
        (
            &[
                ("event", "call_initiated"),
                ("call_id", ""),
                ("from", "600111222"),
            ],
            "MANDATORY_FIELDS_MISSING",
        ),
        (
            &[("event", "call_initiated"), ("call_id", "c1")],
            "MANDATORY_FIELDS_MISSING",
        ),
        (
            &[
                ("event", "call_initiated"),
                ("call_id", "c1"),
                ("from", "600111222"),
                ("direction", "incoming"),
            ],
            "INVALID_PARAMETER",
        ),
    ];
    for (params, expected) in cases {
        let (status, body) = gateway(&emulator, params).await;
        assert_eq!(status, 400, "{params:?}");
        assert_eq!(code(&body), *expected, "{params:?}");
    }
    assert!(emulator.phone_calls().is_empty());

    // The follow-up events need an existing call.
    let (status, body) = gateway(
        &emulator,
        &[
            ("event", "call_connected"),
            ("call_id", "nope"),
            ("to", "201"),
        ],
    )
    .await;
    assert_eq!(status, 400);
    assert_eq!(code(&body), "RECORD_NOT_FOUND");

    let (status, _) = gateway(
        &emulator,
        &[
            ("event", "call_initiated"),
            ("call_id", "c1"),
            ("from", "600111222"),
            ("to", "201"),
        ],
    )
    .await;
    assert_eq!(status, 200);
    let follow_ups: &[(&[(&str, &str)], &str)] = &[
        (
            &[("event", "call_connected"), ("call_id", "c1")],
            "MANDATORY_FIELDS_MISSING",
        ),
        (
            &[("event", "call_transfer"), ("call_id", "c1")],
            "MANDATORY_FIELDS_MISSING",
        ),
        (
            &[("event", "call_recording"), ("call_id", "c1")],
            "MANDATORY_FIELDS_MISSING",
        ),
        (
            &[
                ("event", "call_recording"),
                ("call_id", "c1"),
                ("recordingurl", "ftp://x/y.mp3"),
            ],
            "INVALID_PARAMETER",
        ),
        (
            &[
                ("event", "call_hangup"),
                ("call_id", "c1"),
                ("billduration", "-5"),
            ],
            "INVALID_PARAMETER",
        ),
        (
            &[
                ("event", "call_hangup"),
                ("call_id", "c1"),
                ("billduration", "12.5"),
            ],
            "INVALID_PARAMETER",
        ),
        (
            &[
                ("event", "call_hangup"),
                ("call_id", "c1"),
                ("recordingurl", "rec.mp3"),
            ],
            "INVALID_PARAMETER",
        ),
        (
            &[("event", "call_hangup"), ("call_id", "other")],
            "RECORD_NOT_FOUND",
        ),
    ];
    for (params, expected) in follow_ups {
        let (status, body) = gateway(&emulator, params).await;
        assert_eq!(status, 400, "{params:?}");
        assert_eq!(code(&body), *expected, "{params:?}");
    }
    let call = emulator.phone_call("c1").unwrap();
    assert_eq!(
        call.callstatus, "ringing",
        "a refused event changes nothing"
    );
    assert_eq!(call.recordingurl, None);
    assert_eq!(emulator.gateway_events().len(), 1);

    // The vendor table's `transferred_number` on hangup is not required.
    let (status, body) = gateway(&emulator, &[("event", "call_hangup"), ("call_id", "c1")]).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["result"]["status"], "completed");
}

#[tokio::test]
async fn query_string_and_form_body_are_merged_and_conflicts_refused() {
    let (emulator, _) = demo().await;
    let secret = emulator.config().gateway_secret;
    let response = client()
        .post(emulator.gateway_url())
        .header(SECRET_HEADER, &secret)
        .query(&[("event", "call_initiated"), ("call_id", "m1")])
        .form(&[
            ("from", "+34 647 46 01 97"),
            ("to", "201"),
            ("call_id", "m1"),
        ])
        .send()
        .await
        .unwrap();
    let (status, body) = status_json(response).await;
    assert_eq!(status, 200, "{body}");
    let event = &emulator.gateway_events()[0];
    assert_eq!(event.event, "call_initiated");
    assert_eq!(event.params["from"], "+34 647 46 01 97");
    assert_eq!(event.params["to"], "201");
    assert_eq!(event.params.len(), 4);

    let conflict = client()
        .post(emulator.gateway_url())
        .header(SECRET_HEADER, &secret)
        .query(&[("event", "call_hangup"), ("call_id", "m1")])
        .form(&[("call_id", "m2")])
        .send()
        .await
        .unwrap();
    let (status, body) = status_json(conflict).await;
    assert_eq!(status, 400);
    assert_eq!(code(&body), "PARAMETER_CONFLICT");

    let json_body = client()
        .post(emulator.gateway_url())
        .header(SECRET_HEADER, &secret)
        .json(&serde_json::json!({"event": "call_hangup", "call_id": "m1"}))
        .send()
        .await
        .unwrap();
    let (status, body) = status_json(json_body).await;
    assert_eq!(status, 415);
    assert_eq!(code(&body), "UNSUPPORTED_CONTENT_TYPE");

    // GET works too; other methods do not.
    let get = client()
        .get(emulator.gateway_url())
        .header(SECRET_HEADER, &secret)
        .query(&[
            ("event", "call_connected"),
            ("call_id", "m1"),
            ("to", "202"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(get.status().as_u16(), 200);
    let put = client()
        .put(emulator.gateway_url())
        .header(SECRET_HEADER, &secret)
        .send()
        .await
        .unwrap();
    assert_eq!(put.status().as_u16(), 405);

    assert_eq!(emulator.phone_call("m1").unwrap().callstatus, "in-progress");
    let statuses: Vec<u16> = emulator.requests().iter().map(|r| r.status).collect();
    assert_eq!(statuses, [200, 400, 415, 200, 405]);
    assert_eq!(emulator.gateway_events().len(), 2);
}

#[tokio::test]
async fn a_call_progresses_through_its_statuses() {
    let (emulator, ids) = demo().await;
    let (status, body) = gateway(
        &emulator,
        &[
            ("event", "call_initiated"),
            ("call_id", "p1"),
            ("from", "+34647460197"),
            ("to", "201"),
            ("direction", "inbound"),
        ],
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(body["success"], true);
    assert_eq!(body["result"]["status"], "ringing");
    let id = body["result"]["id"].as_str().unwrap().to_owned();
    assert!(id.starts_with("45x"), "{id}");
    let call = emulator.phone_call("p1").unwrap();
    assert_eq!(call.id, id);
    assert_eq!(call.direction, "inbound");
    assert_eq!(call.customer_number, "+34647460197");
    assert_eq!(call.user_id.as_deref(), Some(ids.ana.as_str()));

    let (_, body) = gateway(
        &emulator,
        &[
            ("event", "call_connected"),
            ("call_id", "p1"),
            ("from", "+34647460197"),
            ("to", "(202)"),
        ],
    )
    .await;
    assert_eq!(body["result"]["status"], "in-progress");
    assert_eq!(
        emulator.phone_call("p1").unwrap().user_id.as_deref(),
        Some(ids.bruno.as_str())
    );

    let (status, _) = gateway(
        &emulator,
        &[
            ("event", "call_transfer"),
            ("call_id", "p1"),
            ("transferred_number", "201"),
        ],
    )
    .await;
    assert_eq!(status, 200);
    let (status, _) = gateway(
        &emulator,
        &[
            ("event", "call_recording"),
            ("call_id", "p1"),
            ("recordingurl", "https://pbx.test/rec/p1.mp3"),
        ],
    )
    .await;
    assert_eq!(status, 200);
    let (_, body) = gateway(
        &emulator,
        &[
            ("event", "call_hangup"),
            ("call_id", "p1"),
            ("hangup_reason", "no_answer"),
            ("billduration", "42"),
            ("notes", "Llamar mañana"),
        ],
    )
    .await;
    assert_eq!(body["result"]["status"], "hangup");

    let call = emulator.phone_call("p1").unwrap();
    assert_eq!(call.callstatus, "hangup");
    assert_eq!(call.transferred_to, ["201"]);
    assert_eq!(call.user_id.as_deref(), Some(ids.ana.as_str()));
    assert_eq!(
        call.recordingurl.as_deref(),
        Some("https://pbx.test/rec/p1.mp3")
    );
    assert_eq!(call.billduration.as_deref(), Some("42"));
    assert_eq!(call.notes.as_deref(), Some("Llamar mañana"));
    let events: Vec<String> = emulator
        .gateway_events()
        .into_iter()
        .map(|e| e.event)
        .collect();
    assert_eq!(
        events,
        [
            "call_initiated",
            "call_connected",
            "call_transfer",
            "call_recording",
            "call_hangup"
        ]
    );

    // The record is visible over REST too.
    let rows = query_ok(
        &emulator,
        "SELECT * FROM PhoneCalls WHERE sourceuuid = 'p1';",
    )
    .await;
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0]["callstatus"], "hangup");
    assert_eq!(rows[0]["customernumber"], "+34647460197");
    assert_eq!(rows[0]["user"], ids.ana.as_str());
}

#[tokio::test]
async fn hangup_reasons_map_to_call_statuses() {
    let (emulator, _) = demo().await;
    for (call_id, reason, expected) in [
        ("h1", None, "completed"),
        ("h2", Some("busy"), "busy"),
        ("h3", Some("completed"), "completed"),
        ("h4", Some("failed"), "failed"),
        ("h5", Some("no_answer"), "hangup"),
    ] {
        gateway(
            &emulator,
            &[
                ("event", "call_initiated"),
                ("call_id", call_id),
                ("from", "600111222"),
            ],
        )
        .await;
        let mut params = vec![("event", "call_hangup"), ("call_id", call_id)];
        if let Some(reason) = reason {
            params.push(("hangup_reason", reason));
        }
        let (status, body) = gateway(&emulator, &params).await;
        assert_eq!(status, 200);
        assert_eq!(body["result"]["status"], expected);
        assert_eq!(emulator.phone_call(call_id).unwrap().callstatus, expected);
    }
}

#[tokio::test]
async fn a_repeated_call_initiated_is_counted_not_duplicated() {
    let (emulator, _) = demo().await;
    let params = [
        ("event", "call_initiated"),
        ("call_id", "d1"),
        ("from", "600111222"),
        ("to", "201"),
    ];
    let (_, first) = gateway(&emulator, &params).await;
    let (status, second) = gateway(&emulator, &params).await;
    let (_, third) = gateway(&emulator, &params).await;
    assert_eq!(status, 200);
    assert_eq!(first["result"]["id"], second["result"]["id"]);
    assert_eq!(first["result"]["id"], third["result"]["id"]);
    let calls = emulator.phone_calls();
    assert_eq!(calls.len(), 1);
    assert_eq!(calls[0].duplicates, 2);
    assert_eq!(emulator.gateway_events().len(), 3);
}

#[tokio::test]
async fn direction_is_inferred_from_a_users_number_and_users_match_by_digits() {
    let (emulator, ids) = demo().await;
    gateway(
        &emulator,
        &[
            ("event", "call_initiated"),
            ("call_id", "o1"),
            ("from", "202"),
            ("to", "+34 647 46 01 97"),
        ],
    )
    .await;
    let outbound = emulator.phone_call("o1").unwrap();
    assert_eq!(outbound.direction, "outbound");
    assert_eq!(outbound.user_id.as_deref(), Some(ids.bruno.as_str()));
    assert_eq!(outbound.customer_number, "+34 647 46 01 97");

    gateway(
        &emulator,
        &[
            ("event", "call_initiated"),
            ("call_id", "i1"),
            ("from", "600111222"),
            ("to", "2-0-1"),
        ],
    )
    .await;
    let inbound = emulator.phone_call("i1").unwrap();
    assert_eq!(inbound.direction, "inbound");
    assert_eq!(inbound.user_id.as_deref(), Some(ids.ana.as_str()));

    gateway(
        &emulator,
        &[
            ("event", "call_initiated"),
            ("call_id", "n1"),
            ("from", "600111222"),
            ("to", "299"),
        ],
    )
    .await;
    assert_eq!(emulator.phone_call("n1").unwrap().user_id, None);
}

#[tokio::test]
async fn an_unencoded_plus_arrives_as_a_space() {
    let (emulator, _) = demo().await;
    let url = format!(
        "{}?event=call_initiated&call_id=e1&from=+34647460197&to=201",
        emulator.gateway_url()
    );
    let response = client()
        .post(url)
        .header(SECRET_HEADER, emulator.config().gateway_secret)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 200);
    assert_eq!(
        emulator.phone_call("e1").unwrap().customer_number,
        " 34647460197"
    );
}

#[tokio::test]
async fn waiting_for_gateway_events() {
    let (emulator, _) = demo().await;
    assert!(
        !emulator
            .wait_for_gateway_events(1, Duration::from_millis(50))
            .await
    );
    let waiter = {
        let emulator = emulator.clone();
        tokio::spawn(async move {
            emulator
                .wait_for_gateway_events(2, Duration::from_secs(5))
                .await
        })
    };
    gateway(
        &emulator,
        &[
            ("event", "call_initiated"),
            ("call_id", "w1"),
            ("from", "600111222"),
        ],
    )
    .await;
    gateway(&emulator, &[("event", "call_hangup"), ("call_id", "w1")]).await;
    assert!(waiter.await.unwrap());
    assert!(
        emulator
            .wait_for_gateway_events(2, Duration::from_millis(10))
            .await
    );
}

#[tokio::test]
async fn a_rotated_secret_replaces_the_old_one() {
    let (emulator, _) = demo().await;
    emulator.rotate_gateway_secret("rotated-secret".to_owned());
    assert_eq!(emulator.config().gateway_secret, "rotated-secret");
    let params = [
        ("event", "call_initiated"),
        ("call_id", "r1"),
        ("from", "600111222"),
    ];
    let old = client()
        .post(emulator.gateway_url())
        .header(SECRET_HEADER, "vt-gw-secret-0001")
        .query(&params)
        .send()
        .await
        .unwrap();
    assert_eq!(old.status().as_u16(), 401);
    let (status, _) = gateway(&emulator, &params).await;
    assert_eq!(status, 200);
}
