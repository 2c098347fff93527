//! Account, users, contacts search and creation, leads, pipelines,
//! companies.

mod common;

use common::{demo, get, ids, post};
use ringside_amocrm_emulator::{LOST_STATUS, PHONE_FIELD_ID, WON_STATUS};
use serde_json::json;

#[tokio::test]
async fn account_and_users() {
    let (emulator, ids_, token) = demo().await;
    let (status, body) = get(&emulator, &token, "/api/v4/account").await;
    assert_eq!(status, 200);
    assert_eq!(body["id"], 31_415_926);
    assert_eq!(body["subdomain"], "ringside");
    assert_eq!(body["currency"], "EUR");
    let (status, body) = get(&emulator, &token, "/api/v4/users").await;
    assert_eq!(status, 200);
    let users = body["_embedded"]["users"].as_array().unwrap();
    assert_eq!(users.len(), 3);
    assert_eq!(users[0]["id"], ids_.ana);
    assert_eq!(users[0]["email"], "ana@ringside.test");
    let hal = emulator.requests().last().unwrap().clone();
    assert_eq!(hal.status, 200);
}

#[tokio::test]
async fn hal_content_type_and_204_on_no_results() {
    let (emulator, _, token) = demo().await;
    let response = common::client()
        .get(format!(
            "{}/api/v4/contacts?query=Zzyzx",
            emulator.base_url()
        ))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 204);
    assert!(response.text().await.unwrap().is_empty());
    let response = common::client()
        .get(format!("{}/api/v4/contacts?query=Luc", emulator.base_url()))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(
        response.headers()["content-type"].to_str().unwrap(),
        "application/hal+json"
    );
}

#[tokio::test]
async fn digits_query_matches_any_field_including_the_note_trap() {
    let (emulator, d, token) = demo().await;
    let (status, body) = get(&emulator, &token, "/api/v4/contacts?query=647460197").await;
    assert_eq!(status, 200);
    let found = ids(&body, "contacts");
    assert_eq!(found, vec![d.lucia, d.marco], "Marco matches on his note");
    let marco = &body["_embedded"]["contacts"][1];
    let fields = marco["custom_fields_values"].as_array().unwrap();
    let phone = fields.iter().find(|f| f["field_code"] == "PHONE").unwrap();
    assert_eq!(phone["field_id"], PHONE_FIELD_ID);
    assert_eq!(phone["values"][0]["value"], "+34 622 98 76 54");
    let notes = fields.iter().find(|f| f["field_code"].is_null()).unwrap();
    assert_eq!(notes["field_name"], "Notas");
    assert!(
        notes["values"][0]["value"]
            .as_str()
            .unwrap()
            .contains("647460197")
    );
    // Raw text match, too.
    let (_, body) = get(&emulator, &token, "/api/v4/contacts?query=647%2046%2001").await;
    assert_eq!(ids(&body, "contacts"), vec![d.lucia]);
    // The e-mail and the name are fields.
    let (_, body) = get(&emulator, &token, "/api/v4/contacts?query=ortega-asociados").await;
    assert_eq!(ids(&body, "contacts"), vec![d.javier]);
    let (_, body) = get(&emulator, &token, "/api/v4/contacts?query=vidal").await;
    assert_eq!(ids(&body, "contacts"), vec![d.marco]);
}

#[tokio::test]
async fn plus_seven_is_not_found_by_eight() {
    let (emulator, d, token) = demo().await;
    let (status, body) = get(&emulator, &token, "/api/v4/contacts?query=89995551122").await;
    assert_eq!(status, 204, "{body}");
    let (status, _) = get(&emulator, &token, "/api/v4/contacts?query=%2B79995551122").await;
    assert_eq!(status, 204, "the raw text has spaces");
    let (status, body) = get(&emulator, &token, "/api/v4/contacts?query=9995551122").await;
    assert_eq!(status, 200);
    assert_eq!(ids(&body, "contacts"), vec![d.elena]);
    let (_, body) = get(&emulator, &token, "/api/v4/contacts?query=%2B7%20999").await;
    assert_eq!(ids(&body, "contacts"), vec![d.elena]);
}

#[tokio::test]
async fn with_leads_gives_ids_only_and_leads_filter_fetches_them() {
    let (emulator, d, token) = demo().await;
    let (_, body) = get(&emulator, &token, "/api/v4/contacts?query=Luc%C3%ADa").await;
    assert!(body["_embedded"]["contacts"][0]["_embedded"]["leads"].is_null());
    assert_eq!(
        body["_embedded"]["contacts"][0]["_embedded"]["companies"][0]["id"],
        d.fernandez_company
    );
    let (_, body) = get(
        &emulator,
        &token,
        "/api/v4/contacts?query=Fern%C3%A1ndez&with=leads",
    )
    .await;
    let contact = &body["_embedded"]["contacts"][0];
    let leads = contact["_embedded"]["leads"].as_array().unwrap();
    let lead_ids: Vec<u64> = leads.iter().map(|l| l["id"].as_u64().unwrap()).collect();
    assert_eq!(lead_ids, d.lucia_leads);
    assert!(leads[0].get("name").is_none() && leads[0].get("price").is_none());

    let path = format!(
        "/api/v4/leads?filter[id][]={}&filter[id][]={}&filter[id][]={}",
        lead_ids[0], lead_ids[1], lead_ids[2]
    );
    let (status, body) = get(&emulator, &token, &path).await;
    assert_eq!(status, 200);
    let leads = body["_embedded"]["leads"].as_array().unwrap();
    assert_eq!(leads.len(), 3);
    assert_eq!(leads[0]["name"], "Reforma oficina Valencia");
    assert_eq!(leads[0]["price"], 18500);
    assert_eq!(leads[0]["status_id"], 5002);
    assert_eq!(leads[0]["pipeline_id"], d.pipeline);
    assert!(leads[0]["closed_at"].is_null());
    assert_eq!(leads[2]["status_id"], WON_STATUS);
    assert!(leads[2]["closed_at"].is_u64());
    // Encoded brackets and indexed keys parse the same.
    let path = format!("/api/v4/leads?filter%5Bid%5D%5B0%5D={}", d.javier_lead);
    let (_, body) = get(&emulator, &token, &path).await;
    assert_eq!(ids(&body, "leads"), vec![d.javier_lead]);
    let (status, _) = get(&emulator, &token, "/api/v4/leads?filter[id][]=999").await;
    assert_eq!(status, 204);
    let (status, body) = get(&emulator, &token, "/api/v4/leads?filter[id][]=abc").await;
    assert_eq!(status, 400);
    assert!(body["validation-errors"].is_array());
    let (status, body) = get(
        &emulator,
        &token,
        &format!("/api/v4/leads/{}", d.javier_lead),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(body["price"], 4800);
}

#[tokio::test]
async fn limit_and_paging() {
    let (emulator, _, token) = demo().await;
    let (status, body) = get(&emulator, &token, "/api/v4/contacts?limit=251").await;
    assert_eq!(status, 400);
    assert_eq!(body["detail"], "Request validation failed");
    assert_eq!(body["validation-errors"][0]["errors"][0]["path"], "limit");
    let (status, body) = get(&emulator, &token, "/api/v4/contacts?limit=250").await;
    assert_eq!(status, 200);
    assert_eq!(ids(&body, "contacts").len(), 6);
    let (_, page1) = get(&emulator, &token, "/api/v4/contacts?limit=4&page=1").await;
    assert_eq!(ids(&page1, "contacts").len(), 4);
    assert_eq!(page1["_page"], 1);
    assert!(page1["_links"]["next"]["href"].is_string());
    let (_, page2) = get(&emulator, &token, "/api/v4/contacts?limit=4&page=2").await;
    assert_eq!(ids(&page2, "contacts").len(), 2);
    assert!(page2["_links"]["next"].is_null());
    let (status, _) = get(&emulator, &token, "/api/v4/contacts?limit=4&page=3").await;
    assert_eq!(status, 204);
}

#[tokio::test]
async fn pipelines_and_companies() {
    let (emulator, d, token) = demo().await;
    let (status, body) = get(&emulator, &token, "/api/v4/leads/pipelines").await;
    assert_eq!(status, 200);
    let pipeline = &body["_embedded"]["pipelines"][0];
    assert_eq!(pipeline["id"], d.pipeline);
    assert_eq!(pipeline["name"], "Ventas");
    assert_eq!(pipeline["is_main"], true);
    let statuses: Vec<(u64, String)> = pipeline["_embedded"]["statuses"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["id"].as_u64().unwrap(),
                s["name"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert!(statuses.contains(&(5001, "Primer contacto".into())));
    assert!(statuses.contains(&(5002, "Negociación".into())));
    assert!(statuses.contains(&(u64::from(WON_STATUS), "Успешно реализовано".into())));
    assert!(statuses.contains(&(u64::from(LOST_STATUS), "Закрыто и не реализовано".into())));
    let (status, body) = get(
        &emulator,
        &token,
        &format!("/api/v4/companies/{}", d.fernandez_company),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(body["name"], "Fernández Interiorismo SL");
    assert_eq!(get(&emulator, &token, "/api/v4/companies/1").await.0, 204);
    assert_eq!(get(&emulator, &token, "/api/v4/nothing").await.0, 404);
}

#[tokio::test]
async fn contacts_are_created() {
    let (emulator, _, token) = demo().await;
    let (status, body) = post(
        &emulator,
        &token,
        "/api/v4/contacts",
        json!([{"name": "Nuevo Cliente", "request_id": "n1",
                "custom_fields_values": [{"field_code": "PHONE", "values": [{"value": "+34 611 22 33 44", "enum_code": "MOBILE"}]}]}]),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let created = &body["_embedded"]["contacts"][0];
    assert_eq!(created["request_id"], "n1");
    let id = created["id"].as_u64().unwrap();
    let (_, found) = get(&emulator, &token, "/api/v4/contacts?query=611223344").await;
    assert_eq!(ids(&found, "contacts"), vec![id]);
    assert_eq!(
        found["_embedded"]["contacts"][0]["custom_fields_values"][0]["values"][0]["enum_code"],
        "MOBILE"
    );
    let (status, body) = post(
        &emulator,
        &token,
        "/api/v4/contacts",
        json!([{"name": "Malo", "custom_fields_values": [{"field_code": "PHONE", "values": [{"value": "1", "enum_code": "PAGER"}]}]}]),
    )
    .await;
    assert_eq!(status, 400);
    assert_eq!(body["validation-errors"][0]["request_id"], "0");
    assert_eq!(
        body["validation-errors"][0]["errors"][0]["code"],
        "NotSupportedChoice"
    );
    let (status, _) = post(&emulator, &token, "/api/v4/contacts", json!({"name": "x"})).await;
    assert_eq!(status, 400);
}
