//! findbycomm, deal paging, the leaky bucket, faults and the outage.

mod common;

use std::time::Duration;

use common::{hook, start};
use ringside_bitrix24_emulator::{BitrixEmulator, EmulatorConfig, Fault};
use serde_json::json;

#[tokio::test]
async fn findbycomm_empty_array_matches_and_cap() {
    let emulator = start(false).await;
    let ids = emulator.seed_demo();
    let lead = emulator.add_lead("Llamada", "+34 911 000 000");
    let find = |values: serde_json::Value, entity: Option<&str>| {
        let mut body = json!({"TYPE": "PHONE", "VALUES": values});
        if let Some(e) = entity {
            body["ENTITY_TYPE"] = json!(e);
        }
        hook(&emulator, "crm.duplicate.findbycomm", body)
    };
    let (status, body) = find(json!(["+1 555 000 0000"]), None).await;
    assert_eq!(status, 200);
    assert_eq!(body["result"], json!([]));
    let (_, body) = find(json!(["+34911000000", "647-46-01-97"]), None).await;
    assert_eq!(
        body["result"],
        json!({"CONTACT": [ids.lucia, ids.grupo_norte], "LEAD": [lead]})
    );
    let (_, body) = find(json!(["+34 911 000 000 #12"]), Some("LEAD")).await;
    assert_eq!(body["result"], json!({"LEAD": [lead]}));
    // Exact digits: the international form does not find a national entry.
    let (_, body) = find(json!(["+34647460197"]), None).await;
    assert_eq!(body["result"], json!([]));
    let many: Vec<String> = (0..21).map(|i| format!("60000000{i:02}")).collect();
    let (status, body) = find(json!(many), None).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("INVALID_ARGUMENT"))
    );

    let (status, body) = hook(&emulator, "crm.contact.get", json!({"id": ids.lucia})).await;
    assert_eq!(status, 200);
    assert_eq!(body["result"]["NAME"], "Lucía");
    assert_eq!(body["result"]["PHONE"][0]["VALUE"], "647 46 01 97");
    let company = body["result"]["COMPANY_ID"].as_str().unwrap().to_owned();
    let (_, body) = hook(&emulator, "crm.company.get", json!({"id": company})).await;
    assert_eq!(body["result"]["TITLE"], "Fernández Interiorismo SL");
    let (status, body) = hook(&emulator, "crm.contact.get", json!({"id": 999})).await;
    assert_eq!((status, body["error"].as_str()), (400, Some("NOT_FOUND")));
    let (status, body) = hook(&emulator, "crm.nothing.here", json!({})).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (404, Some("ERROR_METHOD_NOT_FOUND"))
    );
}

#[tokio::test]
async fn deal_list_pages_and_filters_closed() {
    let emulator = start(false).await;
    let ids = emulator.seed_demo();
    let list = |contact: u32, start: u32| {
        hook(
            &emulator,
            "crm.deal.list",
            json!({"filter": {"CONTACT_ID": contact, "CLOSED": "N"}, "start": start}),
        )
    };
    let (_, body) = list(ids.grupo_norte, 0).await;
    assert_eq!(body["result"].as_array().unwrap().len(), 50);
    assert_eq!(
        (body["next"].as_u64(), body["total"].as_u64()),
        (Some(50), Some(60))
    );
    let (_, body) = list(ids.grupo_norte, 50).await;
    assert_eq!(body["result"].as_array().unwrap().len(), 10);
    assert!(body.get("next").is_none());
    assert_eq!(body["result"][9]["TITLE"], "Pedido Grupo Norte 60");
    let (_, body) = list(ids.lucia, 0).await;
    assert_eq!(body["total"], 2);
    let deal = &body["result"][0];
    assert_eq!(deal["OPPORTUNITY"], "18500.00");
    assert_eq!(
        (deal["CURRENCY_ID"].as_str(), deal["CLOSED"].as_str()),
        (Some("EUR"), Some("N"))
    );
    let (_, body) = hook(
        &emulator,
        "crm.deal.list",
        json!({"filter": {"CONTACT_ID": ids.lucia}}),
    )
    .await;
    assert_eq!(body["total"], 3);
    assert_eq!(body["result"][2]["STAGE_ID"], "WON");
    assert_eq!(body["result"][2]["CLOSEDATE"], "2026-01-15T00:00:00+00:00");
}

#[tokio::test]
async fn bucket_fills_then_drains_with_the_clock() {
    let emulator = BitrixEmulator::start(EmulatorConfig {
        bucket_burst: 5,
        bucket_rate: 2.0,
        ..EmulatorConfig::default()
    })
    .await
    .unwrap();
    for _ in 0..5 {
        assert_eq!(hook(&emulator, "profile", json!({})).await.0, 200);
    }
    let (status, body) = hook(&emulator, "profile", json!({})).await;
    assert_eq!(status, 503);
    assert_eq!(
        body,
        json!({"error": "QUERY_LIMIT_EXCEEDED", "error_description": "Too many requests"})
    );
    assert_eq!(emulator.limit_hits(), 1);
    emulator.advance(Duration::from_secs(1));
    assert_eq!(hook(&emulator, "profile", json!({})).await.0, 200);
    assert_eq!(hook(&emulator, "profile", json!({})).await.0, 200);
    assert_eq!(hook(&emulator, "profile", json!({})).await.0, 503);
    assert_eq!(emulator.limit_hits(), 2);
    assert_eq!(emulator.method_calls().len(), 7);
}

#[tokio::test]
async fn faults_and_outage() {
    let emulator = start(false).await;
    emulator.inject(Fault::OperationTimeLimit { times: 1 });
    emulator.inject(Fault::QueryLimit { times: 1 });
    emulator.inject(Fault::ServerError {
        status: 502,
        times: 1,
    });
    let (status, body) = hook(&emulator, "profile", json!({})).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (429, Some("OPERATION_TIME_LIMIT"))
    );
    assert_eq!(hook(&emulator, "profile", json!({})).await.0, 503);
    assert_eq!(emulator.limit_hits(), 1);
    assert_eq!(hook(&emulator, "profile", json!({})).await.0, 502);
    assert_eq!(hook(&emulator, "profile", json!({})).await.0, 200);
    emulator.set_down(true);
    let (status, body) = hook(&emulator, "profile", json!({})).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (503, Some("INTERNAL_SERVER_ERROR"))
    );
    emulator.set_down(false);
    emulator.inject(Fault::ApplyThenStall { ms: 300, times: 1 });
    let quick = common::client()
        .post(format!("{}profile", emulator.webhook_url()))
        .timeout(Duration::from_millis(50))
        .send()
        .await;
    assert!(quick.is_err());
    assert_eq!(emulator.method_calls().len(), 2);
    let errors: Vec<_> = emulator
        .requests()
        .iter()
        .map(|r| r.error.clone())
        .collect();
    assert_eq!(errors[0].as_deref(), Some("OPERATION_TIME_LIMIT"));
    assert_eq!(errors[4].as_deref(), Some("INTERNAL_SERVER_ERROR"));
}
