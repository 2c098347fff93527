//! Every operation kind against the emulator: the exact endpoint, the
//! parameters (GMT times, `+` encoded, userid), inbound and outbound.

mod common;

use std::collections::BTreeMap;

use chrono::Duration;
use common::*;
use ringside_core::{Direction, ErrorKind, Outcome};
use ringside_crm::{Confirmation, CrmProvider, OpKind};
use serde_json::json;

fn map(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

#[tokio::test]
async fn inbound_call_ring_answer_transfer_hangup_and_late_recording() {
    let env = demo().await;
    let crm = adapter(&env);
    let ana = user("201", &env.ids.ana);
    let bruno = user("202", &env.ids.bruno);
    let mut c = call("call-in-1", Direction::Inbound);

    let d = crm
        .deliver(&op(OpKind::Ring, &c, Some(ana.clone())))
        .await
        .unwrap();
    assert_eq!(d.sent["endpoint"], "callreceived");
    assert_eq!(d.sent["fromnumber"], "+34647460197");

    c.answered_at = Some(t0() + Duration::seconds(8));
    crm.deliver(&op(OpKind::Answered, &c, Some(ana.clone())))
        .await
        .unwrap();
    crm.deliver(&op(OpKind::Transfer, &c, Some(bruno.clone())))
        .await
        .unwrap();

    c.ended_at = Some(t0() + Duration::seconds(100));
    c.talk_seconds = 92;
    c.outcome = Some(Outcome::Answered);
    c.notes = Some("Quiere presupuesto + visita".into());
    let d = crm
        .deliver(&op(OpKind::Ended, &c, Some(bruno.clone())))
        .await
        .unwrap();
    assert!(
        !d.sent.to_string().contains("1000."),
        "no token in {}",
        d.sent
    );

    crm.deliver(&op(
        OpKind::Recording {
            url: "https://rec.example/r/1.mp3".into(),
        },
        &c,
        Some(bruno.clone()),
    ))
    .await
    .unwrap();

    let events = env.emulator.events();
    let got: Vec<(&str, &BTreeMap<String, String>)> = events
        .iter()
        .map(|e| (e.endpoint.as_str(), &e.params))
        .collect();
    assert_eq!(got.len(), 5, "{got:?}");
    assert_eq!(got[0].0, "callreceived");
    assert_eq!(
        got[0].1,
        &map(&[
            ("callrefid", "call-in-1"),
            ("fromnumber", "+34647460197"),
            ("tonumber", "201"),
            ("userid", &env.ids.ana),
        ])
    );
    assert_eq!(got[1].0, "callanswered");
    assert_eq!(
        got[1].1,
        &map(&[
            ("callrefid", "call-in-1"),
            ("fromnumber", "+34647460197"),
            ("tonumber", "201"),
            ("userid", &env.ids.ana),
        ])
    );
    assert_eq!(got[2].0, "callreceived");
    assert_eq!(
        got[2].1,
        &map(&[
            ("callrefid", "call-in-1"),
            ("fromnumber", "+34647460197"),
            ("tonumber", "202"),
            ("transfercallrefid", "call-in-1"),
            ("userid", &env.ids.bruno),
        ])
    );
    assert_eq!(got[3].0, "callhungup");
    assert_eq!(
        got[3].1,
        &map(&[
            ("callrefid", "call-in-1"),
            ("fromnumber", "+34647460197"),
            ("tonumber", "202"),
            // answered_at, in GMT
            ("callstarttime", "2026-03-05 09:07:11"),
            ("direction", "inbound"),
            ("duration", "92"),
            ("desc", "Quiere presupuesto + visita"),
            ("userid", &env.ids.bruno),
        ])
    );
    assert_eq!(got[4].0, "voiceurl");
    assert_eq!(
        got[4].1,
        &map(&[
            ("callrefid", "call-in-1"),
            ("voiceurl", "https://rec.example/r/1.mp3")
        ])
    );

    // Form bodies, `+` encoded, on the token's api_domain, with the token.
    let requests: Vec<_> = env
        .emulator
        .requests()
        .into_iter()
        .filter(|r| r.path.contains("/phonebridge/"))
        .collect();
    assert_eq!(requests.len(), 5);
    for r in &requests {
        assert!(r.path.starts_with("/eu/crm/v2/phonebridge/"), "{}", r.path);
        assert_eq!(r.method, "POST");
        assert!(
            r.content_type
                .as_deref()
                .unwrap_or("")
                .starts_with("application/x-www-form-urlencoded"),
            "{:?}",
            r.content_type
        );
        assert!(
            r.authorization
                .as_deref()
                .unwrap_or("")
                .starts_with("Zoho-oauthtoken 1000.")
        );
        assert_eq!(r.status, 200);
    }
    assert!(
        requests[0].body.contains("fromnumber=%2B34647460197"),
        "{}",
        requests[0].body
    );
    assert!(
        requests[3]
            .body
            .contains("desc=Quiere+presupuesto+%2B+visita"),
        "{}",
        requests[3].body
    );

    // The emulator's call log saw one call with a transfer, the duration
    // and the late recording.
    let log = env
        .emulator
        .calls()
        .into_iter()
        .find(|l| l.callrefid == "call-in-1")
        .unwrap();
    assert_eq!(log.duration, Some(92));
    assert_eq!(log.voiceurl.as_deref(), Some("https://rec.example/r/1.mp3"));
    assert_eq!(log.transfers.len(), 1);
    assert_eq!(
        log.transfers[0].to_user.as_deref(),
        Some(env.ids.bruno.as_str())
    );
}

#[tokio::test]
async fn inbound_missed_call_is_callmissed_with_gmt_time_and_voicemail() {
    let env = demo().await;
    let crm = adapter(&env);
    let mut c = call("call-in-2", Direction::Inbound);
    crm.deliver(&op(OpKind::Ring, &c, Some(user("201", &env.ids.ana))))
        .await
        .unwrap();
    c.ended_at = Some(t0() + Duration::seconds(25));
    c.outcome = Some(Outcome::Missed);
    c.recording_url = Some("https://rec.example/vm/2.mp3".into());
    let d = crm
        .deliver(&op(OpKind::Ended, &c, Some(user("201", &env.ids.ana))))
        .await
        .unwrap();
    assert_eq!(
        d.sent,
        json!({
            "endpoint": "callmissed",
            "callrefid": "call-in-2",
            "fromnumber": "+34647460197",
            "tonumber": "201",
            "callmissedtime": "2026-03-05 09:07:28",
            "voicemailurl": "https://rec.example/vm/2.mp3",
            "userid": env.ids.ana,
        })
    );
    let e = env.emulator.events().pop().unwrap();
    assert_eq!(e.endpoint, "callmissed");
    assert_eq!(e.params["callmissedtime"], "2026-03-05 09:07:28");
    assert_eq!(e.params["voicemailurl"], "https://rec.example/vm/2.mp3");
}

#[tokio::test]
async fn outbound_call_dialed_answered_skipped_hungup() {
    let env = demo().await;
    let crm = adapter(&env);
    let tony = user("203", &env.ids.tony);
    let mut c = call("call-out-1", Direction::Outbound);
    crm.deliver(&op(OpKind::Ring, &c, Some(tony.clone())))
        .await
        .unwrap();

    c.answered_at = Some(t0() + Duration::seconds(5));
    let before = env.emulator.requests().len();
    let d = crm
        .deliver(&op(OpKind::Answered, &c, Some(tony.clone())))
        .await
        .unwrap();
    assert_eq!(
        d.sent,
        json!({"skipped": "Zoho has no event for an answered outbound call; callhungup carries it"})
    );
    assert_eq!(
        env.emulator.requests().len(),
        before,
        "no request for an answered outbound call"
    );

    c.ended_at = Some(t0() + Duration::seconds(65));
    c.talk_seconds = 60;
    c.outcome = Some(Outcome::Answered);
    crm.deliver(&op(OpKind::Ended, &c, Some(tony.clone())))
        .await
        .unwrap();

    let events = env.emulator.events();
    assert_eq!(events.len(), 2);
    assert_eq!(events[0].endpoint, "calldialed");
    assert_eq!(
        events[0].params,
        map(&[
            ("callrefid", "call-out-1"),
            ("fromnumber", "203"),
            ("tonumber", "+34647460197"),
            ("customerstatus", "inprogress"),
            ("userid", &env.ids.tony),
        ])
    );
    assert_eq!(events[1].endpoint, "callhungup");
    assert_eq!(
        events[1].params,
        map(&[
            ("callrefid", "call-out-1"),
            ("fromnumber", "203"),
            ("tonumber", "+34647460197"),
            ("callstarttime", "2026-03-05 09:07:08"),
            ("direction", "outbound"),
            ("duration", "60"),
            ("userid", &env.ids.tony),
        ])
    );
}

#[tokio::test]
async fn outbound_unanswered_is_calldialed_busy_or_noanswer() {
    let env = demo().await;
    let crm = adapter(&env);
    for (id, outcome, status) in [
        ("out-busy", Outcome::Busy, "busy"),
        ("out-noans", Outcome::NoAnswer, "noanswer"),
        ("out-failed", Outcome::Failed, "noanswer"),
    ] {
        let mut c = call(id, Direction::Outbound);
        c.ended_at = Some(t0() + Duration::seconds(30));
        c.outcome = Some(outcome);
        // A CRM user known only by extension: no userid is sent.
        let mut u = user("203", "x");
        u.user_id = None;
        crm.deliver(&op(OpKind::Ended, &c, Some(u))).await.unwrap();
        let e = env.emulator.events().pop().unwrap();
        assert_eq!(e.endpoint, "calldialed");
        assert_eq!(
            e.params,
            map(&[
                ("callrefid", id),
                ("fromnumber", "203"),
                ("tonumber", "+34647460197"),
                ("customerstatus", status),
            ])
        );
    }
}

#[tokio::test]
async fn agent_phone_is_preferred_and_extension_is_the_fallback() {
    let env = demo().await;
    let crm = adapter(&env);
    let c = call("call-in-3", Direction::Inbound);
    let mut u = user("201", &env.ids.ana);
    u.phone = Some("+34910000201".into());
    crm.deliver(&op(OpKind::Ring, &c, Some(u))).await.unwrap();
    assert_eq!(env.emulator.events()[0].params["tonumber"], "+34910000201");
    let mut o = op(OpKind::Answered, &c, None);
    o.extension = Some("201".into());
    crm.deliver(&o).await.unwrap();
    let e = &env.emulator.events()[1];
    assert_eq!(e.params["tonumber"], "201");
    assert!(!e.params.contains_key("userid"));
}

#[tokio::test]
async fn repeated_delivery_is_deduplicated_and_confirm_is_unknown() {
    let env = demo().await;
    let crm = adapter(&env);
    let c = call("call-in-4", Direction::Inbound);
    let o = op(OpKind::Ring, &c, Some(user("201", &env.ids.ana)));
    crm.deliver(&o).await.unwrap();
    crm.deliver(&o).await.unwrap();
    assert_eq!(env.emulator.events().len(), 1);
    let log = env
        .emulator
        .calls()
        .into_iter()
        .find(|l| l.callrefid == "call-in-4")
        .unwrap();
    assert_eq!(log.duplicates, 1);
    assert_eq!(crm.confirm(&o).await.unwrap(), Confirmation::Unknown);
}

#[tokio::test]
async fn an_unknown_zoho_user_is_invalid_user() {
    let env = demo().await;
    let crm = adapter(&env);
    let c = call("call-in-5", Direction::Inbound);
    let e = crm
        .deliver(&op(OpKind::Ring, &c, Some(user("201", "999999"))))
        .await
        .unwrap_err();
    assert_eq!(e.kind, ErrorKind::Invalid);
    assert!(
        e.message.contains("not enabled for PhoneBridge"),
        "{}",
        e.message
    );
    assert!(e.message.contains("callreceived"), "{}", e.message);
}
