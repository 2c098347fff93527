//! Every example of the vendor document, replayed over HTTP through the real
//! webhook (with the `replay` command's code), then read back through the
//! agent API as logical calls.

mod common;

use axum::http::StatusCode;
use common::*;
use ringside_core::{Call, CallStatus, Direction, Outcome};
use ringside_hub::replay::{ReplayOptions, replay};

fn by_root<'a>(calls: &'a [Call], root: &str) -> &'a Call {
    calls
        .iter()
        .find(|c| c.provider_call_id == root)
        .unwrap_or_else(|| {
            panic!(
                "no call {root} in {:#?}",
                calls
                    .iter()
                    .map(|c| &c.provider_call_id)
                    .collect::<Vec<_>>()
            )
        })
}

#[tokio::test]
async fn seed_examples_become_the_right_calls() {
    let hub = TestHub::new().await;
    let served = hub.serve().await;

    let mut files = Vec::new();
    for (name, scenario) in ringside_gamma::seed::all() {
        let path = hub.dir.path().join(format!("{name}.json"));
        std::fs::write(&path, scenario).unwrap();
        files.push(path);
    }
    let options = ReplayOptions {
        url: served.url(WEBHOOK),
        secret_header: SECRET_HEADER.into(),
        secret: ringside_core::Sensitive::new(SECRET.into()),
        files,
    };
    let posted = replay(&options, |_| {}).await.unwrap();
    let total: usize = ringside_gamma::seed::all()
        .iter()
        .map(|(_, s)| ringside_gamma::seed::bodies(s).unwrap().len())
        .sum();
    assert_eq!(posted.len(), total);
    for p in &posted {
        assert_eq!(
            p.status,
            200,
            "{} #{}: {}",
            p.file.display(),
            p.index,
            p.body
        );
    }
    assert_eq!(hub.event_count().await, total as u64);

    let calls = hub.calls(TOKEN_203).await;

    // Incoming answered: ringing 1542399572176, talking …578197, dropped …582021.
    let answered = by_root(&calls, "471900");
    assert_eq!(answered.direction, Direction::Inbound);
    assert_eq!(answered.outcome, Some(Outcome::Answered));
    assert_eq!(answered.status, CallStatus::Ended);
    assert_eq!(answered.remote_number, "+34647460197");
    assert_eq!(answered.started_at.timestamp_millis(), 1_542_399_572_176);
    assert_eq!(
        answered.answered_at.unwrap().timestamp_millis(),
        1_542_399_578_197
    );
    assert_eq!(
        answered.ended_at.unwrap().timestamp_millis(),
        1_542_399_582_021
    );
    // 3.824 s of talk, floored.
    assert_eq!(answered.talk_seconds, 3);

    let missed = by_root(&calls, "472362");
    assert_eq!(missed.direction, Direction::Inbound);
    assert_eq!(missed.outcome, Some(Outcome::Missed));
    assert_eq!(missed.talk_seconds, 0);

    let out_answered = by_root(&calls, "472367");
    assert_eq!(out_answered.direction, Direction::Outbound);
    assert_eq!(out_answered.outcome, Some(Outcome::Answered));

    // Outgoing unanswered, with the recording and transcript that came later.
    let no_answer = by_root(&calls, "472388");
    assert_eq!(no_answer.direction, Direction::Outbound);
    assert_eq!(no_answer.outcome, Some(Outcome::NoAnswer));
    assert_eq!(no_answer.remote_number, "+34647460197");
    assert_eq!(
        no_answer.recording_url.as_deref(),
        Some("https://callRecording")
    );
    let transcript = no_answer.transcript.as_ref().expect("transcript attached");
    assert_eq!(transcript.segments.len(), 3);
    assert!(transcript.text().contains("How can I help you"));

    // The transfer is one call, three legs, 201 → 301 → 201; 203 never saw it.
    assert!(calls.iter().all(|c| c.provider_call_id != "1558393109565"));
    let calls_201 = hub.calls(TOKEN_201).await;
    let transfer = by_root(&calls_201, "1558393109565");
    assert_eq!(
        calls_201
            .iter()
            .filter(|c| c.provider_call_id.starts_with("1558393109565"))
            .count(),
        1
    );
    let mut legs = transfer.legs.clone();
    legs.sort_by_key(|l| l.first_at());
    let leg_ids: Vec<&str> = legs.iter().map(|l| l.provider_call_id.as_str()).collect();
    assert_eq!(
        leg_ids,
        ["1558393109565", "1558393109565.1", "1558393109565.2"]
    );
    let leg_exts: Vec<&str> = legs.iter().filter_map(|l| l.extension.as_deref()).collect();
    assert_eq!(leg_exts, ["201", "301", "201"]);
    assert_eq!(transfer.extension.as_deref(), Some("201"));

    // Its raw events come with it.
    let (status, json) = hub
        .api(
            "GET",
            &format!("/api/v1/calls/{}", transfer.id),
            TOKEN_201,
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{json}");
    assert_eq!(json["events"].as_array().unwrap().len(), 3);

    served.stop().await;
}
