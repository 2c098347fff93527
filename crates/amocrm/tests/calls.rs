//! Ended calls against the emulator: the exact `POST /api/v4/calls` body,
//! unknown numbers (park vs create a contact), confirmation through the
//! call notes, and the legacy form-encoded calls/add.

mod common;

use std::time::Duration;

use common::*;
use ringside_amocrm::{UnknownNumber, calls::legacy_form};
use ringside_amocrm_emulator::{Fault, Scope, Via};
use ringside_core::{Direction, ErrorKind, Outcome};
use ringside_crm::{Confirmation, CrmProvider, OpKind};
use serde_json::{Value, json};

fn posted_calls(env: &Env) -> Vec<Value> {
    env.emulator
        .requests()
        .into_iter()
        .filter(|r| r.method == "POST" && r.path == "/api/v4/calls")
        .map(|r| serde_json::from_str(&r.body).unwrap())
        .collect()
}

#[tokio::test]
async fn ended_calls_send_the_exact_v4_record() {
    let env = demo().await;
    let crm = adapter(long_lived(&env));
    let tony = crm
        .users()
        .await
        .unwrap()
        .into_iter()
        .find(|u| u.name.starts_with("Tony"))
        .unwrap();

    let mut answered = ended("c-answered", Direction::Inbound, Outcome::Answered, 65);
    answered.recording_url = Some("https://rec.example/c-answered.mp3".into());
    let delivered = crm
        .deliver(&end_op(&answered, Some(user("203", tony.id, "Tony"))))
        .await
        .unwrap();
    let expected = json!([{
        "direction": "inbound",
        "uniq": "c-answered",
        "duration": 65,
        "source": "ringside",
        "phone": "+34647460197",
        "link": "https://rec.example/c-answered.mp3",
        "call_status": 4,
        "call_result": "Answered by Tony, 1 min 05 s",
        "responsible_user_id": tony.id,
        "created_at": t0().timestamp(),
        "request_id": "0",
    }]);
    assert_eq!(delivered.sent, expected);
    assert_eq!(posted_calls(&env).last().unwrap(), &expected);

    let missed = ended("c-missed", Direction::Inbound, Outcome::Missed, 0);
    crm.deliver(&end_op(&missed, None)).await.unwrap();
    let busy = ended("c-busy", Direction::Outbound, Outcome::Busy, 0);
    crm.deliver(&end_op(&busy, Some(user("203", tony.id, "Tony"))))
        .await
        .unwrap();
    let mut out = ended("c-out", Direction::Outbound, Outcome::NoAnswer, 0);
    out.recording_url = Some("file:///tmp/x.wav".into()); // not a link amo can fetch
    crm.deliver(&end_op(&out, None)).await.unwrap();

    let sent = posted_calls(&env);
    assert_eq!(sent.len(), 4);
    assert_eq!(sent[1][0]["call_status"], 6);
    assert_eq!(sent[1][0]["call_result"], "Missed");
    assert_eq!(sent[1][0]["duration"], 0);
    assert!(sent[1][0].get("responsible_user_id").is_none());
    assert_eq!(sent[2][0]["call_status"], 7);
    assert_eq!(sent[2][0]["direction"], "outbound");
    assert_eq!(sent[2][0]["responsible_user_id"], tony.id);
    assert_eq!(sent[3][0]["call_status"], 6);
    assert_eq!(sent[3][0]["call_result"], "No answer");
    assert!(sent[3][0].get("link").is_none());

    // What amo applied: four calls on Lucía's records, by uniq.
    let applied = env.emulator.calls();
    assert_eq!(applied.len(), 4);
    let first = &applied[0];
    assert_eq!(first.via, Via::V4);
    assert_eq!(first.uniq.as_deref(), Some("c-answered"));
    assert_eq!(first.call_status, Some(4));
    assert_eq!(first.duration, 65);
    assert_eq!(first.created_at, t0().timestamp() as u64);
    assert_eq!(first.responsible_user_id, Some(tony.id));
    assert_eq!(
        first.link.as_deref(),
        Some("https://rec.example/c-answered.mp3")
    );
    assert!(first.entity_id.is_some());
    // No bearer token in what is kept with the outbox row.
    assert!(!delivered.sent.to_string().contains("amo-long-lived"));
}

#[tokio::test]
async fn only_ended_operations_are_sent() {
    let env = demo().await;
    let crm = adapter(long_lived(&env));
    let call = ended("c-ring", Direction::Inbound, Outcome::Answered, 3);
    for kind in [
        OpKind::Ring,
        OpKind::Answered,
        OpKind::Transfer,
        OpKind::Recording {
            url: "https://r/x.mp3".into(),
        },
    ] {
        let e = crm.deliver(&op(kind, &call, None)).await.unwrap_err();
        assert_eq!(e.kind, ErrorKind::Unsupported);
    }
    assert!(env.emulator.requests().is_empty());
}

fn unknown_call(id: &str) -> ringside_core::Call {
    let mut call = ended(id, Direction::Inbound, Outcome::Answered, 12);
    call.remote_number = "+34911222333".into();
    call
}

#[tokio::test]
async fn an_unknown_number_is_parked_with_a_reason() {
    let env = demo().await;
    let crm = adapter(long_lived(&env));
    let e = crm
        .deliver(&end_op(&unknown_call("c-unknown"), None))
        .await
        .unwrap_err();
    assert_eq!(e.kind, ErrorKind::Invalid);
    assert_eq!(
        e.message,
        "no amoCRM contact has +34911222333; create one, or set unknown numbers to create contacts"
    );
    assert!(env.emulator.calls().is_empty());
}

#[tokio::test]
async fn an_unknown_number_gets_a_contact_then_the_call() {
    let env = demo().await;
    let mut settings = long_lived(&env);
    settings.unknown_number = UnknownNumber::CreateContact;
    let crm = adapter(settings);
    let mut call = unknown_call("c-new");
    call.remote_label = Some("Acme reception".into());
    let delivered = crm.deliver(&end_op(&call, None)).await.unwrap();
    assert_eq!(
        delivered.sent["contacts"],
        json!([{"name": "Acme reception", "custom_fields_values": [
            {"field_code": "PHONE", "values": [{"value": "+34911222333", "enum_code": "WORK"}]}]}])
    );
    assert_eq!(delivered.sent["calls"][0]["uniq"], "c-new");

    let posts: Vec<_> = env
        .emulator
        .requests()
        .into_iter()
        .filter(|r| r.method == "POST")
        .map(|r| (r.path, r.status))
        .collect();
    assert_eq!(
        posts,
        vec![
            ("/api/v4/calls".to_string(), 400),
            ("/api/v4/contacts".to_string(), 200),
            ("/api/v4/calls".to_string(), 200),
        ]
    );
    let applied = env.emulator.calls();
    assert_eq!(applied.len(), 1);
    assert_eq!(applied[0].uniq.as_deref(), Some("c-new"));
    assert_eq!(applied[0].entity_type.as_deref(), Some("contacts"));
    // The call sits on the contact just created: it has the number.
    let found = crm
        .lookup(&ringside_core::NumberPlan::default().variants("+34911222333"))
        .await
        .unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].contact.name, "Acme reception");
    assert_eq!(
        applied[0].entity_id.map(|id| id.to_string()),
        Some(found[0].contact.source.id.clone())
    );
}

#[tokio::test]
async fn confirm_finds_a_call_that_was_applied_before_a_timeout() {
    let env = demo().await;
    let crm = adapter(long_lived(&env));
    let call = ended("c-stall", Direction::Inbound, Outcome::Answered, 30);
    let op = end_op(&call, None);
    assert_eq!(crm.confirm(&op).await.unwrap(), Confirmation::NotApplied);

    env.emulator.inject(Fault::ApplyThenStall {
        ms: 3_000,
        times: 1,
        scope: Scope::Api,
    });
    let attempt = tokio::time::timeout(Duration::from_millis(800), crm.deliver(&op)).await;
    assert!(attempt.is_err(), "the delivery should have timed out");
    assert_eq!(crm.confirm(&op).await.unwrap(), Confirmation::Applied);
    assert_eq!(env.emulator.calls().len(), 1);

    // A different call is still not there.
    let other = end_op(
        &ended("c-other", Direction::Inbound, Outcome::Answered, 3),
        None,
    );
    assert_eq!(crm.confirm(&other).await.unwrap(), Confirmation::NotApplied);
}

fn legacy_posts(env: &Env) -> Vec<ringside_amocrm_emulator::RecordedRequest> {
    env.emulator
        .requests()
        .into_iter()
        .filter(|r| r.path.starts_with("/api/calls/add"))
        .collect()
}

#[tokio::test]
async fn legacy_calls_add_posts_the_form_and_reads_the_answer() {
    let env = demo().await;
    let config = env.emulator.config();
    let crm = adapter(legacy(&env, long_lived(&env)));
    let mut call = ended("c-legacy-1", Direction::Inbound, Outcome::Answered, 98);
    call.recording_url = Some("https://rec.example/l1.mp3".into());
    let mut agent = user("203", 1, "Tony");
    agent.phone = Some("+34 960 000 203".into());
    let op = end_op(&call, Some(agent));
    let delivered = crm.deliver(&op).await.unwrap();

    let posts = legacy_posts(&env);
    assert_eq!(posts.len(), 1);
    let post = &posts[0];
    assert_eq!(post.path, "/api/calls/add/");
    assert_eq!(post.param("code"), Some(config.legacy_code.as_str()));
    assert_eq!(post.param("key"), Some(config.legacy_key.as_str()));
    let form: Vec<(&str, &str)> = post
        .form
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let account = config.account_id.to_string();
    let date = t0().timestamp().to_string();
    assert_eq!(
        form,
        vec![
            ("request[add][0][uuid]", "c-legacy-1"),
            ("request[add][0][caller]", "34647460197"),
            ("request[add][0][to]", "34960000203"),
            ("request[add][0][date]", date.as_str()),
            ("request[add][0][billsec]", "98"),
            ("request[add][0][type]", "inbound"),
            ("request[add][0][link]", "https://rec.example/l1.mp3"),
            ("request[add][0][account_id]", account.as_str()),
        ]
    );
    assert!(
        post.content_type
            .as_deref()
            .unwrap()
            .starts_with("application/x-www-form-urlencoded")
    );
    // The key is not kept with the outbox row.
    assert!(!delivered.sent.to_string().contains(&config.legacy_key));
    assert_eq!(
        delivered.sent["form"]["request[add][0][uuid]"],
        "c-legacy-1"
    );

    // Outbound: caller = agent, to = customer.
    let out = ended("c-legacy-2", Direction::Outbound, Outcome::NoAnswer, 0);
    let fields = legacy_form(&end_op(&out, Some(user("204", 2, "Ana"))), 7).unwrap();
    assert_eq!(fields[1], ("request[add][0][caller]".into(), "204".into()));
    assert_eq!(
        fields[2],
        ("request[add][0][to]".into(), "34647460197".into())
    );

    // Sending the same uuid again: amo says duplicate, which is delivered.
    crm.deliver(&op).await.unwrap();
    assert_eq!(legacy_posts(&env).len(), 2);
    let applied_or_queued = env.emulator.calls().len() + env.emulator.queued_legacy().len();
    assert_eq!(applied_or_queued, 1, "amo keeps one call per uuid");
}

#[tokio::test]
async fn legacy_per_uuid_errors_are_invalid() {
    let env = demo().await;
    let mut settings = legacy(&env, long_lived(&env));
    if let ringside_amocrm::CallsMode::Legacy { account_id, .. } = &mut settings.mode {
        *account_id = 999; // not this account
    }
    let crm = adapter(settings);
    let call = ended("c-legacy-bad", Direction::Inbound, Outcome::Answered, 5);
    let e = crm.deliver(&end_op(&call, None)).await.unwrap_err();
    assert_eq!(e.kind, ErrorKind::Invalid, "{}", e.message);
    assert!(
        e.message.starts_with("amoCRM calls/add refused the call: "),
        "{}",
        e.message
    );
}

#[tokio::test]
async fn legacy_confirm_is_unknown() {
    let env = demo().await;
    let crm = adapter(legacy(&env, long_lived(&env)));
    let call = ended("c-legacy-c", Direction::Inbound, Outcome::Answered, 5);
    assert_eq!(
        crm.confirm(&end_op(&call, None)).await.unwrap(),
        Confirmation::Unknown
    );
}
