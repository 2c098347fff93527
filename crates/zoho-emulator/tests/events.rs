//! Call events: required parameters, formats, encodings, idempotency,
//! transfers and the call logs they build.

mod common;

use std::time::Duration;

use common::{bad_param, client, code, demo, gmt_now, post};
use serde_json::json;

const LUCIA: &str = "+34647460197";
const AGENT: &str = "201";

fn base(callrefid: &str) -> Vec<(&str, String)> {
    vec![
        ("callrefid", callrefid.to_owned()),
        ("fromnumber", LUCIA.to_owned()),
        ("tonumber", AGENT.to_owned()),
    ]
}

/// Owned event parameters.
type Params = Vec<(&'static str, String)>;

fn full(event: &str) -> Params {
    let mut p: Params = vec![
        ("callrefid", "c1".into()),
        ("fromnumber", LUCIA.into()),
        ("tonumber", AGENT.into()),
    ];
    match event {
        "callhungup" => {
            p.push(("callstarttime", gmt_now()));
            p.push(("direction", "inbound".into()));
            p.push(("duration", "42".into()));
        }
        "callmissed" => p.push(("callmissedtime", gmt_now())),
        "calldialed" => p.push(("customerstatus", "inprogress".into())),
        "voiceurl" => {
            p = vec![
                ("callrefid", "c1".into()),
                ("voiceurl", "https://rec.test/c1.mp3".into()),
            ];
        }
        _ => {}
    }
    p
}

fn refs<'a>(p: &'a [(&'static str, String)]) -> Vec<(&'static str, &'a str)> {
    p.iter().map(|(k, v)| (*k, v.as_str())).collect()
}

#[tokio::test]
async fn every_required_parameter_is_checked() {
    let (emulator, _, token) = demo().await;
    // voiceurl needs a known call.
    let (status, _) = post(
        &emulator,
        &token,
        "callreceived",
        &refs(&full("callreceived")),
    )
    .await;
    assert_eq!(status, 200);
    for event in [
        "callreceived",
        "callanswered",
        "callhungup",
        "callmissed",
        "calldialed",
        "voiceurl",
    ] {
        let params = full(event);
        for (i, (missing, _)) in params.iter().enumerate() {
            let mut without = params.clone();
            without.remove(i);
            let (status, body) = post(&emulator, &token, event, &refs(&without)).await;
            assert_eq!(status, 400, "{event} without {missing}: {body}");
            assert_eq!(
                body,
                json!({"code":"REQUIRED_PARAM_MISSING","details":{"param":missing},"message":"One of the expected parameters is missing","status":"error"}),
                "{event} without {missing}"
            );
            // An empty value is missing too.
            let mut empty = params.clone();
            empty[i].1 = String::new();
            let (status, body) = post(&emulator, &token, event, &refs(&empty)).await;
            assert_eq!(
                (status, bad_param(&body)),
                (400, *missing),
                "{event} empty {missing}"
            );
        }
    }
    assert_eq!(emulator.events().len(), 1, "no refused event was applied");
}

#[tokio::test]
async fn a_full_inbound_call_is_logged() {
    let (emulator, ids, token) = demo().await;
    let mut received = base("call-1");
    received.push(("userid", ids.ana.clone()));
    let (status, body) = post(&emulator, &token, "callreceived", &refs(&received)).await;
    assert_eq!(status, 200);
    // callreceived answers the full record.
    assert_eq!(body["data"][0]["Id"], ids.lucia.as_str());
    assert_eq!(body["data"][0]["Potential"].as_array().unwrap().len(), 3);
    let (status, body) = post(&emulator, &token, "callanswered", &refs(&base("call-1"))).await;
    assert_eq!(status, 200);
    // callanswered answers the short record.
    assert_eq!(
        body,
        json!({"data":[{"Name":"Lucía Fernández","Id":ids.lucia,"Module":"Contacts"}]})
    );
    let start = gmt_now();
    let mut hungup = base("call-1");
    hungup.extend([
        ("callstarttime", start.clone()),
        ("direction", "inbound".into()),
        ("duration", "95".into()),
        ("voiceurl", "https://rec.test/call-1.mp3".into()),
        ("desc", "Presupuesto reforma".into()),
    ]);
    let (status, body) = post(&emulator, &token, "callhungup", &refs(&hungup)).await;
    assert_eq!(status, 200);
    assert_eq!(body["data"][0]["Module"], "Contacts");

    assert!(emulator.wait_for_events(3, Duration::from_secs(1)).await);
    let events = emulator.events();
    let endpoints: Vec<&str> = events.iter().map(|e| e.endpoint.as_str()).collect();
    assert_eq!(endpoints, ["callreceived", "callanswered", "callhungup"]);
    assert_eq!(events[0].user.as_deref(), Some(ids.ana.as_str()));
    assert_eq!(events[0].params["fromnumber"], LUCIA);
    assert_eq!(events[2].params["desc"], "Presupuesto reforma");

    let calls = emulator.calls();
    assert_eq!(calls.len(), 1);
    let call = &calls[0];
    assert_eq!(call.callrefid, "call-1");
    assert_eq!(call.direction.as_deref(), Some("inbound"));
    assert_eq!(call.customer_number.as_deref(), Some(LUCIA));
    assert_eq!(call.user.as_deref(), Some(ids.ana.as_str()));
    assert_eq!(
        call.statuses,
        ["callreceived", "callanswered", "callhungup"]
    );
    assert_eq!(call.start_time.as_deref(), Some(start.as_str()));
    assert_eq!(call.duration, Some(95));
    assert_eq!(
        call.voiceurl.as_deref(),
        Some("https://rec.test/call-1.mp3")
    );
    assert_eq!(call.description.as_deref(), Some("Presupuesto reforma"));
    assert_eq!(call.matched, [("Contacts".to_owned(), ids.lucia.clone())]);
    assert_eq!(call.duplicates, 0);
}

#[tokio::test]
async fn an_unmatched_caller_gets_plain_success() {
    let (emulator, _, token) = demo().await;
    let mut p = base("c-unknown");
    p[1].1 = "+34600000000".into();
    let (status, body) = post(&emulator, &token, "callreceived", &refs(&p)).await;
    assert_eq!(
        (status, body),
        (200, json!({"status":"success","code":"SUCCESS"}))
    );
}

#[tokio::test]
async fn outbound_calls_match_the_callee() {
    let (emulator, ids, token) = demo().await;
    let p = [
        ("callrefid", "out-1"),
        ("fromnumber", "201"),
        ("tonumber", "911234567"),
        ("customerstatus", "inprogress"),
        ("agentstatus", "success"),
        ("userid", ids.bruno.as_str()),
    ];
    let (status, body) = post(&emulator, &token, "calldialed", &p).await;
    assert_eq!(status, 200);
    assert_eq!(body["data"][0]["Id"], ids.javier.as_str());
    assert!(body["data"][0]["Potential"].is_array());
    // The same callrefid with a new customerstatus is applied.
    let mut success = p;
    success[3] = ("customerstatus", "success");
    assert_eq!(post(&emulator, &token, "calldialed", &success).await.0, 200);
    let (status, body) = post(
        &emulator,
        &token,
        "callhungup",
        &[
            ("callrefid", "out-1"),
            ("fromnumber", "201"),
            ("tonumber", "911234567"),
            ("callstarttime", &gmt_now()),
            ("direction", "outbound"),
            ("duration", "0"),
        ],
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(body["data"][0]["Name"], "Javier Ortega");
    let call = emulator.call("out-1").unwrap();
    assert_eq!(call.direction.as_deref(), Some("outbound"));
    assert_eq!(call.customer_number.as_deref(), Some("911234567"));
    assert_eq!(call.customer_status.as_deref(), Some("success"));
    assert_eq!(call.agent_status.as_deref(), Some("success"));
    assert_eq!(call.statuses, ["calldialed", "calldialed", "callhungup"]);
    assert_eq!(call.duration, Some(0));
    assert_eq!(emulator.events().len(), 3);
}

#[tokio::test]
async fn value_formats_are_checked() {
    let (emulator, _, token) = demo().await;
    let hungup = |f: &dyn Fn(&mut Params)| {
        let mut p = full("callhungup");
        f(&mut p);
        p
    };
    let cases: Vec<(&str, Params, &str)> = vec![
        (
            "callhungup",
            hungup(&|p| p[4].1 = "sideways".into()),
            "direction",
        ),
        ("callhungup", hungup(&|p| p[5].1 = "-1".into()), "duration"),
        (
            "callhungup",
            hungup(&|p| p[5].1 = "12.5".into()),
            "duration",
        ),
        (
            "callhungup",
            hungup(&|p| p.push(("voiceurl", "rec.mp3".into()))),
            "voiceurl",
        ),
        (
            "calldialed",
            {
                let mut p = full("calldialed");
                p[3].1 = "ringing".into();
                p
            },
            "customerstatus",
        ),
        (
            "calldialed",
            {
                let mut p = full("calldialed");
                p.push(("agentstatus", "asleep".into()));
                p
            },
            "agentstatus",
        ),
        (
            "callmissed",
            {
                let mut p = full("callmissed");
                p.push(("sequential", "yes".into()));
                p
            },
            "sequential",
        ),
        (
            "callmissed",
            {
                let mut p = full("callmissed");
                p.push(("voicemailurl", "vm.mp3".into()));
                p
            },
            "voicemailurl",
        ),
    ];
    for (event, params, param) in cases {
        let (status, body) = post(&emulator, &token, event, &refs(&params)).await;
        assert_eq!(
            (status, code(&body), bad_param(&body)),
            (400, "INVALID_DATA", param),
            "{event} {params:?}"
        );
    }
    for status in [
        "success",
        "inprogress",
        "notavailable",
        "rejected",
        "noanswer",
        "busy",
        "blocked",
        "invalid",
        "internationaldisabled",
    ] {
        let mut p = full("calldialed");
        p[3].1 = status.into();
        assert_eq!(
            post(&emulator, &token, "calldialed", &refs(&p)).await.0,
            200,
            "{status}"
        );
    }
}

#[tokio::test]
async fn times_must_be_exact_and_gmt() {
    let (emulator, _, token) = demo().await;
    for (event, key, index) in [
        ("callhungup", "callstarttime", 3),
        ("callmissed", "callmissedtime", 3),
    ] {
        for bad in [
            "2026-03-01T10:00:00",
            "2026-03-01 10:00",
            "2026-3-1 10:00:00",
            "2026-03-01 10:00:00.123",
            "2026-02-30 10:00:00",
            "01/03/2026 10:00:00",
            "1772359200",
        ] {
            let mut p = full(event);
            p[index].1 = bad.into();
            let (status, body) = post(&emulator, &token, event, &refs(&p)).await;
            assert_eq!(
                (status, code(&body), bad_param(&body)),
                (400, "INVALID_DATA", key),
                "{event} {bad}"
            );
        }
        // A local time two hours ahead of GMT (a time-zone bug).
        let ahead = (chrono::Utc::now() + chrono::Duration::hours(2))
            .format("%Y-%m-%d %H:%M:%S")
            .to_string();
        let mut p = full(event);
        p[index].1 = ahead;
        let (status, body) = post(&emulator, &token, event, &refs(&p)).await;
        assert_eq!((status, bad_param(&body)), (400, key), "{event} future");
        assert!(body["message"].as_str().unwrap().contains("GMT"));
        // A minute ahead (clock skew) is tolerated; the past is fine.
        let skew = (chrono::Utc::now() + chrono::Duration::seconds(60))
            .format("%Y-%m-%d %H:%M:%S")
            .to_string();
        let mut p = full(event);
        p[index].1 = skew;
        assert_eq!(
            post(&emulator, &token, event, &refs(&p)).await.0,
            200,
            "{event} skew"
        );
    }
    // The check uses the emulator clock.
    emulator.advance(Duration::from_secs(3 * 3600));
    let token = common::access_token(&emulator).await;
    let ahead = (chrono::Utc::now() + chrono::Duration::hours(2))
        .format("%Y-%m-%d %H:%M:%S")
        .to_string();
    let mut p = full("callhungup");
    p[0].1 = "c-later".into();
    p[3].1 = ahead;
    assert_eq!(
        post(&emulator, &token, "callhungup", &refs(&p)).await.0,
        200
    );
}

#[tokio::test]
async fn an_unencoded_plus_is_rejected() {
    let (emulator, _, token) = demo().await;
    let url = format!("{}/crm/v2/phonebridge/callreceived", emulator.api_domain());
    for (body, param) in [
        (
            "callrefid=p1&fromnumber=+34647460197&tonumber=201",
            "fromnumber",
        ),
        (
            "callrefid=p1&fromnumber=%2B34647460197&tonumber=+201",
            "tonumber",
        ),
    ] {
        let response = client()
            .post(&url)
            .header("Authorization", format!("Zoho-oauthtoken {token}"))
            .header("Content-Type", "application/x-www-form-urlencoded")
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), 400);
        let json: serde_json::Value = response.json().await.unwrap();
        assert_eq!((code(&json), bad_param(&json)), ("INVALID_DATA", param));
        assert!(
            json["message"]
                .as_str()
                .unwrap()
                .contains("'+' must be URL-encoded")
        );
    }
    // In the query string too.
    let response = client()
        .post(format!(
            "{url}?callrefid=p1&fromnumber=+34647460197&tonumber=201"
        ))
        .header("Authorization", format!("Zoho-oauthtoken {token}"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 400);
    // Encoded, in the query string, it is applied.
    let response = client()
        .post(format!(
            "{url}?callrefid=p1&fromnumber=%2B34647460197&tonumber=201"
        ))
        .header("Authorization", format!("Zoho-oauthtoken {token}"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 200);
    assert_eq!(emulator.events()[0].params["fromnumber"], "+34647460197");
    assert!(
        emulator
            .requests()
            .iter()
            .filter(|r| r.status == 400)
            .count()
            >= 3
    );
}

#[tokio::test]
async fn unknown_users_are_refused() {
    let (emulator, _, token) = demo().await;
    let mut p = base("u1");
    p.push(("userid", "4150868000000999999".into()));
    let (status, body) = post(&emulator, &token, "callreceived", &refs(&p)).await;
    assert_eq!(status, 400);
    assert_eq!(
        body,
        json!({"code":"INVALID_USER","details":{},"message":"Please check the user configuration","status":"error"})
    );
    assert!(emulator.calls().is_empty());
}

#[tokio::test]
async fn a_repeated_event_is_not_applied_twice() {
    let (emulator, ids, token) = demo().await;
    let mut p = base("dup-1");
    p.push(("userid", ids.ana.clone()));
    assert_eq!(
        post(&emulator, &token, "callreceived", &refs(&p)).await.0,
        200
    );
    for _ in 0..2 {
        let (status, body) = post(&emulator, &token, "callreceived", &refs(&p)).await;
        assert_eq!(
            (status, body),
            (200, json!({"status":"success","code":"SUCCESS"}))
        );
    }
    let mut hungup = full("callhungup");
    hungup[0].1 = "dup-1".into();
    assert_eq!(
        post(&emulator, &token, "callhungup", &refs(&hungup))
            .await
            .0,
        200
    );
    assert_eq!(
        post(&emulator, &token, "callhungup", &refs(&hungup))
            .await
            .0,
        200
    );
    let call = emulator.call("dup-1").unwrap();
    assert_eq!(call.duplicates, 3);
    assert_eq!(call.statuses, ["callreceived", "callhungup"]);
    assert_eq!(emulator.events().len(), 2);
    assert_eq!(emulator.calls().len(), 1);
    let recorded = emulator
        .requests()
        .iter()
        .filter(|r| r.param("callrefid") == Some("dup-1"))
        .count();
    assert_eq!(recorded, 5, "requests() keeps every attempt");
}

#[tokio::test]
async fn a_transfer_is_recorded_on_the_original_call() {
    let (emulator, ids, token) = demo().await;
    let mut first = base("orig-1");
    first.push(("userid", ids.ana.clone()));
    assert_eq!(
        post(&emulator, &token, "callreceived", &refs(&first))
            .await
            .0,
        200
    );
    assert_eq!(
        post(&emulator, &token, "callanswered", &refs(&base("orig-1")))
            .await
            .0,
        200
    );
    let mut transfer = base("leg-2");
    transfer[2].1 = "202".into();
    transfer.push(("userid", ids.bruno.clone()));
    transfer.push(("transfercallrefid", "orig-1".into()));
    let (status, _) = post(&emulator, &token, "callreceived", &refs(&transfer)).await;
    assert_eq!(status, 200);
    // The transfer repeated is a duplicate.
    assert_eq!(
        post(&emulator, &token, "callreceived", &refs(&transfer))
            .await
            .0,
        200
    );
    let calls = emulator.calls();
    assert_eq!(calls.len(), 1, "no new call for the transfer: {calls:?}");
    let call = &calls[0];
    assert_eq!(call.user.as_deref(), Some(ids.bruno.as_str()));
    assert_eq!(call.transfers.len(), 1);
    assert_eq!(call.transfers[0].callrefid, "leg-2");
    assert_eq!(
        call.transfers[0].from_user.as_deref(),
        Some(ids.ana.as_str())
    );
    assert_eq!(
        call.transfers[0].to_user.as_deref(),
        Some(ids.bruno.as_str())
    );
    assert_eq!(call.duplicates, 1);
    // The new leg's callrefid names the same call from now on.
    let mut hungup = full("callhungup");
    hungup[0].1 = "leg-2".into();
    assert_eq!(
        post(&emulator, &token, "callhungup", &refs(&hungup))
            .await
            .0,
        200
    );
    let call = emulator.call("orig-1").unwrap();
    assert_eq!(call.statuses.last().map(String::as_str), Some("callhungup"));
    assert_eq!(emulator.calls().len(), 1);
    // A transfercallrefid naming no known call starts a call.
    let mut orphan = base("leg-9");
    orphan.push(("transfercallrefid", "never-seen".into()));
    assert_eq!(
        post(&emulator, &token, "callreceived", &refs(&orphan))
            .await
            .0,
        200
    );
    assert_eq!(emulator.calls().len(), 2);
}

#[tokio::test]
async fn voiceurl_needs_a_known_call() {
    let (emulator, _, token) = demo().await;
    let p = [
        ("callrefid", "ghost"),
        ("voiceurl", "https://rec.test/g.mp3"),
    ];
    let (status, body) = post(&emulator, &token, "voiceurl", &p).await;
    assert_eq!(
        (status, code(&body), bad_param(&body)),
        (400, "INVALID_DATA", "callrefid")
    );
    assert_eq!(
        post(&emulator, &token, "callreceived", &refs(&base("ghost")))
            .await
            .0,
        200
    );
    let bad = [("callrefid", "ghost"), ("voiceurl", "g.mp3")];
    assert_eq!(post(&emulator, &token, "voiceurl", &bad).await.0, 400);
    let (status, body) = post(&emulator, &token, "voiceurl", &p).await;
    assert_eq!(
        (status, body),
        (200, json!({"status":"success","code":"SUCCESS"}))
    );
    assert_eq!(
        emulator.call("ghost").unwrap().voiceurl.as_deref(),
        Some("https://rec.test/g.mp3")
    );
    assert_eq!(emulator.events().last().unwrap().endpoint, "voiceurl");
}

#[tokio::test]
async fn a_missed_call_keeps_its_time_and_voicemail() {
    let (emulator, ids, token) = demo().await;
    let at = gmt_now();
    let p = [
        ("callrefid", "m1"),
        ("fromnumber", "+34 933 456 789"),
        ("tonumber", "201"),
        ("callmissedtime", at.as_str()),
        ("voicemailurl", "https://rec.test/vm1.mp3"),
        ("sequential", "true"),
    ];
    let (status, body) = post(&emulator, &token, "callmissed", &p).await;
    assert_eq!(status, 200);
    // Two matches, both short records.
    assert_eq!(body["data"].as_array().unwrap().len(), 2);
    assert_eq!(body["data"][0]["Id"], ids.clinica[0].as_str());
    assert!(body["data"][0].get("Potential").is_none());
    let call = emulator.call("m1").unwrap();
    assert_eq!(call.statuses, ["callmissed"]);
    assert_eq!(call.start_time.as_deref(), Some(at.as_str()));
    assert_eq!(call.voiceurl.as_deref(), Some("https://rec.test/vm1.mp3"));
    assert_eq!(call.direction.as_deref(), Some("inbound"));
}

#[tokio::test]
async fn events_accept_query_string_parameters() {
    let (emulator, _, token) = demo().await;
    let response = client()
        .post(format!(
            "{}/crm/v2/phonebridge/callreceived",
            emulator.api_domain()
        ))
        .query(&[
            ("callrefid", "q1"),
            ("fromnumber", "+34647460197"),
            ("tonumber", "201"),
        ])
        .header("Authorization", format!("Zoho-oauthtoken {token}"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 200);
    assert_eq!(emulator.events()[0].callrefid, "q1");
}
