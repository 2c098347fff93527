//! Shared helpers: a seeded emulator and request shortcuts.
#![allow(dead_code)]

use reqwest::{Client, Response};
use ringside_vtiger_emulator::{DemoIds, EmulatorConfig, SECRET_HEADER, VtigerEmulator};
use serde_json::Value;

/// A fresh emulator with the demo data.
pub async fn demo() -> (VtigerEmulator, DemoIds) {
    let emulator = VtigerEmulator::start(EmulatorConfig::default())
        .await
        .unwrap();
    let ids = emulator.seed_demo();
    (emulator, ids)
}

/// A client that does not follow redirects.
pub fn client() -> Client {
    Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// The status and JSON body of a response.
pub async fn status_json(response: Response) -> (u16, Value) {
    let status = response.status().as_u16();
    let text = response.text().await.unwrap();
    let body = serde_json::from_str(&text).unwrap_or_else(|_| panic!("not JSON: {text:?}"));
    (status, body)
}

/// The error code of a failure body.
pub fn code(body: &Value) -> &str {
    assert_eq!(body["success"], false, "not a failure: {body}");
    assert!(body["error"]["message"].is_string(), "no message: {body}");
    body["error"]["code"].as_str().unwrap()
}

/// POSTs a Generic.php event with the parameters in the query string.
pub async fn gateway(emulator: &VtigerEmulator, params: &[(&str, &str)]) -> (u16, Value) {
    let secret = emulator.config().gateway_secret;
    let response = client()
        .post(emulator.gateway_url())
        .header(SECRET_HEADER, secret)
        .query(params)
        .send()
        .await
        .unwrap();
    status_json(response).await
}

/// GETs a REST operation with the configured credentials.
pub async fn rest(emulator: &VtigerEmulator, operation: &str, params: &[(&str, &str)]) -> Response {
    let config = emulator.config();
    client()
        .get(format!("{}/{operation}", emulator.rest_url()))
        .basic_auth(config.username, Some(config.access_key))
        .query(params)
        .send()
        .await
        .unwrap()
}

/// A REST operation's status and JSON body.
pub async fn rest_json(
    emulator: &VtigerEmulator,
    operation: &str,
    params: &[(&str, &str)],
) -> (u16, Value) {
    status_json(rest(emulator, operation, params).await).await
}

/// Runs a VTQL query that must succeed; returns the rows.
pub async fn query_ok(emulator: &VtigerEmulator, vtql: &str) -> Vec<Value> {
    let (status, body) = rest_json(emulator, "query", &[("query", vtql)]).await;
    assert_eq!(status, 200, "{vtql}: {body}");
    assert_eq!(body["success"], true);
    body["result"].as_array().unwrap().clone()
}

/// The `field` of each row.
pub fn column(rows: &[Value], field: &str) -> Vec<String> {
    rows.iter()
        .map(|r| r[field].as_str().unwrap().to_owned())
        .collect()
}
