//! telephony.externalcall.*: register rules, CALL_ID reuse, show/hide,
//! finish, attachRecord, and ONEXTERNALCALLSTART.

mod common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::{hook, start};
use ringside_bitrix24_emulator::BitrixEmulator;
use serde_json::{Value, json};

async fn register(emulator: &BitrixEmulator, extra: Value) -> (u16, Value) {
    let mut body = json!({
        "USER_PHONE_INNER": "201", "PHONE_NUMBER": "+34647460197", "TYPE": 2,
        "CALL_START_DATE": "2026-11-22T10:15:00+01:00",
    });
    for (k, v) in extra.as_object().unwrap() {
        body[k] = v.clone();
    }
    hook(emulator, "telephony.externalcall.register", body).await
}

fn call_id(body: &Value) -> String {
    body["result"]["CALL_ID"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn register_validates_binds_and_creates_leads() {
    let emulator = start(true).await;
    let ids = emulator.seed_demo();
    let (status, body) = register(&emulator, json!({})).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["result"]["CRM_ENTITY_TYPE"], "CONTACT");
    assert_eq!(body["result"]["CRM_ENTITY_ID"], ids.lucia);
    assert_eq!(body["result"]["CRM_CREATED_LEAD"], Value::Null);
    let call = &emulator.calls()[0];
    assert_eq!((call.user_id, call.call_type), (ids.ana, 2));
    assert_eq!(call.start_date, "2026-11-22T10:15:00+01:00");
    assert_eq!(call.shown_to, vec![ids.ana]);

    for (extra, error) in [
        (json!({"USER_PHONE_INNER": null}), "INVALID_ARGUMENT"),
        (json!({"USER_PHONE_INNER": "999"}), "ERROR_CORE"),
        (json!({"PHONE_NUMBER": null}), "INVALID_ARGUMENT"),
        (json!({"TYPE": 9}), "INVALID_ARGUMENT"),
        (json!({"CALL_START_DATE": "next tuesday"}), "ERROR_CORE"),
    ] {
        let (status, body) = register(&emulator, extra.clone()).await;
        assert_eq!(
            (status, body["error"].as_str()),
            (400, Some(error)),
            "{extra}"
        );
    }
    let (status, body) =
        register(&emulator, json!({"CALL_START_DATE": "2026-11-22T10:15:00"})).await;
    assert_eq!(status, 400);
    assert_eq!(
        body["error_description"],
        "CALL_START_DATE must include a time zone"
    );

    // Unknown number: nothing without CRM_CREATE, a lead with it.
    let (_, body) = register(&emulator, json!({"PHONE_NUMBER": "+34 700 000 001"})).await;
    assert_eq!(body["result"]["CRM_ENTITY_TYPE"], Value::Null);
    let (_, body) = register(
        &emulator,
        json!({"PHONE_NUMBER": "+34 700 000 002", "CRM_CREATE": 1}),
    )
    .await;
    let lead = body["result"]["CRM_CREATED_LEAD"].as_u64().unwrap();
    assert_eq!(body["result"]["CRM_ENTITY_TYPE"], "LEAD");
    assert_eq!(
        body["result"]["CRM_CREATED_ENTITIES"],
        json!([{"ENTITY_TYPE": "LEAD", "ENTITY_ID": lead}])
    );
    let (_, body) = hook(&emulator, "crm.lead.get", json!({"id": lead})).await;
    assert_eq!(body["result"]["PHONE"][0]["VALUE"], "+34 700 000 002");
}

#[tokio::test]
async fn call_id_reuse_rule() {
    let emulator = start(true).await;
    emulator.seed_demo();
    let (_, a) = register(&emulator, json!({})).await;
    let (_, b) = register(&emulator, json!({"PHONE_NUMBER": "647 46 01 97"})).await;
    assert_eq!(call_id(&a), call_id(&b), "same user + number within 30 min");
    emulator.advance(Duration::from_secs(31 * 60));
    let (_, c) = register(&emulator, json!({})).await;
    assert_ne!(call_id(&a), call_id(&c), "after 30 minutes");
    let (_, d) = register(&emulator, json!({"EXTERNAL_CALL_ID": "pbx-1"})).await;
    let (_, e) = register(&emulator, json!({"EXTERNAL_CALL_ID": "pbx-2"})).await;
    let (_, f) = register(&emulator, json!({"EXTERNAL_CALL_ID": "pbx-1"})).await;
    assert_ne!(call_id(&d), call_id(&c));
    assert_ne!(call_id(&d), call_id(&e));
    assert_eq!(
        call_id(&d),
        call_id(&f),
        "same EXTERNAL_CALL_ID is idempotent"
    );
    let calls = emulator.calls();
    assert_eq!(calls.len(), 4);
    assert_eq!(calls[0].registrations, 2);
    assert_eq!(calls[2].external_call_id.as_deref(), Some("pbx-1"));
    // A finished call is not reused.
    let (status, _) = hook(
        &emulator,
        "telephony.externalcall.finish",
        json!({"CALL_ID": call_id(&c), "USER_ID": calls[1].user_id, "DURATION": 5}),
    )
    .await;
    assert_eq!(status, 200);
    let (_, g) = register(&emulator, json!({})).await;
    assert_ne!(call_id(&g), call_id(&c));
}

#[tokio::test]
async fn show_hide_finish_and_attach_record() {
    let emulator = start(true).await;
    let ids = emulator.seed_demo();
    let (_, body) = register(&emulator, json!({"SHOW": 0})).await;
    let id = call_id(&body);
    let (status, body) = hook(
        &emulator,
        "telephony.externalcall.show",
        json!({"CALL_ID": id, "USER_ID": [ids.ana, ids.bruno]}),
    )
    .await;
    assert_eq!((status, &body["result"]), (200, &json!(true)));
    let (_, body) = hook(
        &emulator,
        "telephony.externalcall.hide",
        json!({"CALL_ID": id, "USER_ID": ids.bruno}),
    )
    .await;
    assert_eq!(body["result"], true);
    let (status, body) = hook(
        &emulator,
        "telephony.externalcall.hide",
        json!({"CALL_ID": "externalCall.nope.1", "USER_ID": 1}),
    )
    .await;
    assert_eq!((status, &body["result"]), (200, &json!(false)));

    let attach =
        json!({"CALL_ID": id, "FILENAME": "call.mp3", "RECORD_URL": "https://pbx.test/rec/1.mp3"});
    let (status, body) = hook(
        &emulator,
        "telephony.externalcall.attachRecord",
        attach.clone(),
    )
    .await;
    assert_eq!(status, 400);
    assert_eq!(
        body["error_description"],
        "Call is not found in the statistic table. It looks like it is not finished yet."
    );
    let finish = json!({"CALL_ID": id, "USER_PHONE_INNER": "201", "DURATION": 95, "VOTE": 5});
    let (status, body) = hook(&emulator, "telephony.externalcall.finish", finish.clone()).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["result"]["CALL_FAILED_CODE"], "200");
    assert_eq!(body["result"]["CALL_DURATION"], 95);
    assert_eq!(body["result"]["CRM_ENTITY_ID"], ids.lucia);
    let (status, body) = hook(&emulator, "telephony.externalcall.finish", finish).await;
    assert_eq!((status, body["error"].as_str()), (400, Some("ERROR_CORE")));
    let (status, body) = hook(
        &emulator,
        "telephony.externalcall.finish",
        json!({"CALL_ID": id, "USER_ID": 1, "STATUS_CODE": "999"}),
    )
    .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("INVALID_ARGUMENT"))
    );
    let (status, body) = hook(&emulator, "telephony.externalcall.attachRecord", attach).await;
    assert_eq!(status, 200, "{body}");
    assert!(body["result"]["FILE_ID"].is_u64());

    let call = &emulator.calls()[0];
    assert_eq!(call.shown_to, vec![ids.ana, ids.bruno]);
    assert_eq!(call.hidden_from, vec![ids.bruno]);
    let done = call.finished.as_ref().unwrap();
    assert_eq!(
        (done.duration, done.status_code.as_str(), done.vote),
        (95, "200", Some(5))
    );
    assert_eq!(
        call.records,
        vec![(
            "call.mp3".to_owned(),
            "https://pbx.test/rec/1.mp3".to_owned()
        )]
    );
}

#[tokio::test]
async fn crm_click_sends_onexternalcallstart() {
    let emulator = start(false).await;
    let ids = emulator.seed_demo();
    let seen: Arc<Mutex<Vec<(String, String)>>> = Arc::default();
    let sink = Arc::clone(&seen);
    let handler = axum::Router::new().route(
        "/b24/events",
        axum::routing::post(move |body: String| async move {
            let pairs = form_urlencoded::parse(body.as_bytes()).into_owned();
            sink.lock().unwrap().extend(pairs);
            "ok"
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/b24/events", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, handler).await.unwrap() });

    let (status, body, id) = emulator
        .start_call_from_crm(&url, ids.bruno, "647 46 01 97")
        .await
        .unwrap();
    assert_eq!((status, body.as_str()), (200, "ok"));
    let form = seen.lock().unwrap().clone();
    let get = |k: &str| {
        form.iter()
            .find(|(key, _)| key == k)
            .map(|(_, v)| v.as_str())
    };
    assert_eq!(get("event"), Some("ONEXTERNALCALLSTART"));
    assert_eq!(get("data[CALL_ID]"), Some(id.as_str()));
    assert_eq!(get("data[USER_ID]"), Some(ids.bruno.to_string().as_str()));
    assert_eq!(get("data[PHONE_NUMBER]"), Some("647 46 01 97"));
    assert_eq!(get("data[CRM_ENTITY_TYPE]"), Some("CONTACT"));
    assert_eq!(
        get("data[CRM_ENTITY_ID]"),
        Some(ids.lucia.to_string().as_str())
    );
    assert_eq!(
        get("auth[application_token]"),
        Some(emulator.config().application_token.as_str())
    );
    assert!(get("ts").unwrap().parse::<u64>().is_ok());
    let calls = emulator.calls();
    assert_eq!(calls.len(), 1);
    assert!(calls[0].from_crm_click);
    assert_eq!(calls[0].call_id, id);
    assert!(emulator.start_call_from_crm(&url, 99, "1").await.is_err());
}
