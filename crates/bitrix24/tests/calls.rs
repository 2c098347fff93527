//! Live call events against the emulator over HTTP, with a local
//! application (OAuth): register, show/hide, finish, attachRecord.

mod common;

use common::*;
use ringside_core::{Direction, ErrorKind, Outcome};
use ringside_crm::{Confirmation, CrmProvider, OpKind, PriorOp};
use serde_json::{Value, json};

async fn ring(
    env: &Env,
    crm: &ringside_bitrix24::BitrixCrm,
    id: &str,
    direction: Direction,
) -> Value {
    let call = call(id, direction);
    crm.deliver(&op(OpKind::Ring, &call, Some(ana(env))))
        .await
        .unwrap()
        .sent
}

#[tokio::test]
async fn ring_registers_with_exact_params_and_keeps_the_call_id() {
    let env = demo().await;
    let crm = oauth_adapter(&env);
    let sent = ring(&env, &crm, "c-ring", Direction::Inbound).await;

    let registers = applied(&env, "telephony.externalcall.register");
    assert_eq!(registers.len(), 1);
    let r = &registers[0];
    assert_eq!(param(r, "USER_ID"), Some(env.ids.ana.to_string().as_str()));
    assert_eq!(param(r, "PHONE_NUMBER"), Some("+34647460197"));
    assert_eq!(param(r, "TYPE"), Some("2"));
    assert_eq!(
        param(r, "CALL_START_DATE"),
        Some("2026-03-05T09:07:03+00:00")
    );
    assert_eq!(param(r, "CRM_CREATE"), Some("1"));
    assert_eq!(param(r, "SHOW"), Some("0"));
    assert_eq!(param(r, "EXTERNAL_CALL_ID"), Some("c-ring"));
    assert!(!r.params.contains_key("USER_PHONE_INNER"));

    let calls = env.emulator.calls();
    assert_eq!(calls.len(), 1);
    let call_id = sent["CALL_ID"].as_str().unwrap();
    assert_eq!(call_id, calls[0].call_id);
    assert_eq!(calls[0].external_call_id.as_deref(), Some("c-ring"));
    assert_eq!(calls[0].call_type, 2);
    assert_eq!(calls[0].start_date, "2026-03-05T09:07:03+00:00");
    // Lucía is a known contact: the call is bound to her, no lead created.
    assert_eq!(sent["CRM_ENTITY_TYPE"], "CONTACT");
    assert_eq!(
        sent["CRM_ENTITY_ID"],
        json!(calls[0].crm_entity_id.unwrap())
    );
    assert!(sent.get("CRM_CREATED_LEAD").is_some());
    assert!(sent.get("CRM_CREATED_ENTITIES").is_some());
    // The params are kept too.
    assert_eq!(sent["EXTERNAL_CALL_ID"], "c-ring");
    assert_eq!(sent["TYPE"], 2);
    // REST requests are JSON POSTs; the token refresh is a GET.
    for r in env.emulator.requests() {
        if r.path.starts_with("/rest/") {
            assert_eq!(r.method, "POST", "{r:?}");
            assert!(
                r.content_type
                    .as_deref()
                    .is_some_and(|c| c.starts_with("application/json")),
                "{r:?}"
            );
        } else {
            assert_eq!(r.method, "GET", "{r:?}");
            assert!(r.path.starts_with("/oauth/token"), "{r:?}");
        }
    }
    // Every request authenticated as the application.
    assert!(
        env.emulator
            .method_calls()
            .iter()
            .all(|m| m.auth == ringside_bitrix24_emulator::AuthKind::OAuth)
    );
}

#[tokio::test]
async fn outbound_ring_by_inner_phone_and_crm_create_off() {
    let env = demo().await;
    let (mut settings, _, _) = oauth(&env);
    settings.crm_create = false;
    let crm = adapter(settings);
    let mut ana = ana(&env);
    ana.user_id = None;
    let c = call("c-out", Direction::Outbound);
    crm.deliver(&op(OpKind::Ring, &c, Some(ana))).await.unwrap();
    let r = &applied(&env, "telephony.externalcall.register")[0];
    assert_eq!(param(r, "USER_PHONE_INNER"), Some("201"));
    assert_eq!(param(r, "TYPE"), Some("1"));
    assert_eq!(param(r, "CRM_CREATE"), Some("0"));
    assert_eq!(env.emulator.calls()[0].user_id, env.ids.ana);
}

#[tokio::test]
async fn two_calls_from_one_number_get_different_call_ids_and_a_resend_the_same() {
    let env = demo().await;
    let crm = oauth_adapter(&env);
    let first = ring(&env, &crm, "c-1", Direction::Inbound).await;
    env.emulator.advance(std::time::Duration::from_secs(60));
    let second = ring(&env, &crm, "c-2", Direction::Inbound).await;
    assert_ne!(first["CALL_ID"], second["CALL_ID"]);
    // The outbox resends a ring whose answer was lost: same CALL_ID.
    let again = ring(&env, &crm, "c-1", Direction::Inbound).await;
    assert_eq!(first["CALL_ID"], again["CALL_ID"]);
    assert_eq!(env.emulator.calls().len(), 2);
    let c = call("c-1", Direction::Inbound);
    assert_eq!(
        crm.confirm(&op(OpKind::Ring, &c, Some(ana(&env))))
            .await
            .unwrap(),
        Confirmation::Unknown
    );
}

#[tokio::test]
async fn answered_makes_no_request() {
    let env = demo().await;
    let crm = oauth_adapter(&env);
    let c = call("c-ans", Direction::Inbound);
    let before = env.emulator.requests().len();
    let d = crm
        .deliver(&op(OpKind::Answered, &c, Some(ana(&env))))
        .await
        .unwrap();
    assert!(
        d.sent["skipped"]
            .as_str()
            .unwrap()
            .contains("no answered event")
    );
    assert_eq!(env.emulator.requests().len(), before);
}

#[tokio::test]
async fn later_ops_without_a_call_id_are_conflicts() {
    let env = demo().await;
    let crm = oauth_adapter(&env);
    let c = ended("c-none", Direction::Inbound, Outcome::Answered, 10);
    for kind in [
        OpKind::Ended,
        OpKind::Transfer,
        OpKind::Recording {
            url: "https://rec/x.mp3".into(),
        },
    ] {
        let e = crm
            .deliver(&op(kind, &c, Some(ana(&env))))
            .await
            .unwrap_err();
        assert_eq!(e.kind, ErrorKind::Conflict);
        assert_eq!(e.message, "no Bitrix24 CALL_ID for this call yet");
    }
    assert!(env.emulator.requests().is_empty());
}

#[tokio::test]
async fn transfer_hides_from_the_previous_agent_and_shows_to_the_new() {
    let env = demo().await;
    let crm = oauth_adapter(&env);
    let sent = ring(&env, &crm, "c-tr", Direction::Inbound).await;
    let c = call("c-tr", Direction::Inbound);
    let mut t = after_ring(op(OpKind::Transfer, &c, Some(bruno(&env))), &sent);
    t.previous_user = Some(ana(&env));
    crm.deliver(&t).await.unwrap();
    // Idempotent: again.
    crm.deliver(&t).await.unwrap();
    let hides = applied(&env, "telephony.externalcall.hide");
    let shows = applied(&env, "telephony.externalcall.show");
    assert_eq!(hides.len(), 2);
    assert_eq!(shows.len(), 2);
    assert_eq!(param(&hides[0], "CALL_ID"), sent["CALL_ID"].as_str());
    assert_eq!(
        param(&hides[0], "USER_ID"),
        Some(env.ids.ana.to_string().as_str())
    );
    assert_eq!(
        param(&shows[0], "USER_ID"),
        Some(env.ids.bruno.to_string().as_str())
    );
    let methods: Vec<String> = env
        .emulator
        .method_calls()
        .into_iter()
        .map(|m| m.method)
        .collect();
    let hide_at = methods
        .iter()
        .position(|m| m == "telephony.externalcall.hide")
        .unwrap();
    let show_at = methods
        .iter()
        .position(|m| m == "telephony.externalcall.show")
        .unwrap();
    assert!(hide_at < show_at);
    let x = &env.emulator.calls()[0];
    assert_eq!(x.hidden_from[0], env.ids.ana);
    assert_eq!(x.shown_to.last(), Some(&env.ids.bruno));
}

#[tokio::test]
async fn finish_status_codes_and_record_url() {
    let env = demo().await;
    let crm = oauth_adapter(&env);
    let cases = [
        ("f-200", Direction::Inbound, Outcome::Answered, 42, "200"),
        ("f-304", Direction::Inbound, Outcome::Missed, 0, "304"),
        ("f-603", Direction::Outbound, Outcome::NoAnswer, 0, "603-S"),
        ("f-fail", Direction::Outbound, Outcome::Failed, 0, "603-S"),
        ("f-486", Direction::Outbound, Outcome::Busy, 0, "486"),
    ];
    for (id, direction, outcome, talk, code) in cases {
        let sent = ring(&env, &crm, id, direction).await;
        let mut c = ended(id, direction, outcome, talk);
        if outcome == Outcome::Answered {
            c.recording_url = Some("https://pbx.example/rec/f-200.mp3".into());
        }
        let d = crm
            .deliver(&after_ring(op(OpKind::Ended, &c, Some(tony(&env))), &sent))
            .await
            .unwrap();
        assert_eq!(d.sent["STATUS_CODE"], code, "{id}");
        let x = env
            .emulator
            .calls()
            .into_iter()
            .find(|x| x.external_call_id.as_deref() == Some(id))
            .unwrap();
        let f = x.finished.unwrap();
        assert_eq!(f.status_code, code, "{id}");
        assert_eq!(f.duration, talk as u64, "{id}");
        assert_eq!(f.user_id, env.ids.tony, "{id}");
        assert!(!f.add_to_chat, "{id}");
        if outcome == Outcome::Answered {
            assert_eq!(
                f.record_url.as_deref(),
                Some("https://pbx.example/rec/f-200.mp3")
            );
        } else {
            assert_eq!(f.record_url, None, "{id}");
        }
    }
    let finishes = applied(&env, "telephony.externalcall.finish");
    assert_eq!(param(&finishes[0], "DURATION"), Some("42"));
    assert_eq!(param(&finishes[0], "ADD_TO_CHAT"), Some("0"));
}

#[tokio::test]
async fn finish_twice_is_delivered_once() {
    let env = demo().await;
    let crm = oauth_adapter(&env);
    let sent = ring(&env, &crm, "c-twice", Direction::Inbound).await;
    let c = ended("c-twice", Direction::Inbound, Outcome::Answered, 12);
    let end = after_ring(op(OpKind::Ended, &c, Some(ana(&env))), &sent);
    crm.deliver(&end).await.unwrap();
    let again = crm.deliver(&end).await.unwrap();
    assert_eq!(again.sent["already_finished"], true);
    assert_eq!(applied(&env, "telephony.externalcall.finish").len(), 1);
    assert_eq!(crm.confirm(&end).await.unwrap(), Confirmation::Unknown);
}

#[tokio::test]
async fn recording_attaches_after_finish_and_is_a_conflict_before() {
    let env = demo().await;
    let crm = oauth_adapter(&env);
    let sent = ring(&env, &crm, "c-rec", Direction::Inbound).await;
    let c = ended("c-rec", Direction::Inbound, Outcome::Answered, 30);
    let rec = after_ring(
        op(
            OpKind::Recording {
                url: "https://pbx.example/rec/abc.wav".into(),
            },
            &c,
            Some(ana(&env)),
        ),
        &sent,
    );
    let e = crm.deliver(&rec).await.unwrap_err();
    assert_eq!(e.kind, ErrorKind::Conflict, "{}", e.message);

    crm.deliver(&after_ring(op(OpKind::Ended, &c, Some(ana(&env))), &sent))
        .await
        .unwrap();
    let d = crm.deliver(&rec).await.unwrap();
    assert_eq!(d.sent["FILENAME"], "c-rec.wav");
    let x = &env.emulator.calls()[0];
    assert_eq!(
        x.records,
        vec![(
            "c-rec.wav".to_string(),
            "https://pbx.example/rec/abc.wav".to_string()
        )]
    );
}

#[tokio::test]
async fn a_call_bitrix_registered_itself_is_finished_by_its_call_id() {
    let env = demo().await;
    let crm = oauth_adapter(&env);
    // As if ONEXTERNALCALLSTART registered it: the hub's synthetic ring.
    let registered = ring(&env, &crm, "other", Direction::Outbound).await;
    let synthetic = json!({ "CALL_ID": registered["CALL_ID"] });
    let c = ended("c-click", Direction::Outbound, Outcome::Answered, 7);
    let mut ring_again = op(OpKind::Ring, &c, Some(ana(&env)));
    ring_again.prior = vec![PriorOp {
        op_key: "ring".into(),
        sent: synthetic.clone(),
    }];
    let d = crm.deliver(&ring_again).await.unwrap();
    assert_eq!(d.sent["CALL_ID"], registered["CALL_ID"]);
    assert_eq!(applied(&env, "telephony.externalcall.register").len(), 1);
    crm.deliver(&after_ring(
        op(OpKind::Ended, &c, Some(ana(&env))),
        &synthetic,
    ))
    .await
    .unwrap();
    assert!(env.emulator.calls()[0].finished.is_some());
}
