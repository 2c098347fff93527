//! Shared helpers: start an emulator, get a token, call the API.
#![allow(dead_code)]

use std::time::Duration;

use reqwest::Method;
use ringside_amocrm_emulator::{AmoEmulator, DemoIds, EmulatorConfig};
use serde_json::Value;

pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(20))
        .build()
        .unwrap()
}

/// An emulator with the default config but no rate limit (tests that are
/// about the limit start their own).
pub async fn start() -> AmoEmulator {
    AmoEmulator::start(EmulatorConfig {
        rate_per_second: 0,
        ..EmulatorConfig::default()
    })
    .await
    .unwrap()
}

/// The status and JSON body (`Null` when empty).
pub async fn parts(response: reqwest::Response) -> (u16, Value) {
    let status = response.status().as_u16();
    let text = response.text().await.unwrap();
    let body = if text.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).unwrap_or(Value::String(text))
    };
    (status, body)
}

/// `POST /oauth2/access_token` with a JSON body.
pub async fn token_request(emulator: &AmoEmulator, body: Value) -> (u16, Value) {
    parts(
        client()
            .post(format!("{}/oauth2/access_token", emulator.base_url()))
            .json(&body)
            .send()
            .await
            .unwrap(),
    )
    .await
}

/// A refresh grant with the configured client.
pub async fn refresh(emulator: &AmoEmulator, token: &str) -> (u16, Value) {
    let c = emulator.config();
    token_request(
        emulator,
        serde_json::json!({
            "client_id": c.client_id, "client_secret": c.client_secret,
            "grant_type": "refresh_token", "refresh_token": token,
            "redirect_uri": c.redirect_uri,
        }),
    )
    .await
}

/// A fresh OAuth access token.
pub async fn access_token(emulator: &AmoEmulator) -> String {
    let rt = emulator.add_refresh_token();
    let (status, body) = refresh(emulator, &rt).await;
    assert_eq!(status, 200, "{body}");
    body["access_token"].as_str().unwrap().to_owned()
}

/// An emulator with the demo data and an access token.
pub async fn demo() -> (AmoEmulator, DemoIds, String) {
    let emulator = start().await;
    let ids = emulator.seed_demo();
    let token = access_token(&emulator).await;
    (emulator, ids, token)
}

/// An API v4 request (`path` includes any query string).
pub async fn api(
    emulator: &AmoEmulator,
    token: &str,
    method: Method,
    path: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let mut request = client()
        .request(method, format!("{}{path}", emulator.base_url()))
        .bearer_auth(token);
    if let Some(body) = body {
        request = request.json(&body);
    }
    parts(request.send().await.unwrap()).await
}

pub async fn get(emulator: &AmoEmulator, token: &str, path: &str) -> (u16, Value) {
    api(emulator, token, Method::GET, path, None).await
}

pub async fn post(emulator: &AmoEmulator, token: &str, path: &str, body: Value) -> (u16, Value) {
    api(emulator, token, Method::POST, path, Some(body)).await
}

/// The legacy calls/add with the configured code/key and a raw form body.
pub async fn legacy(emulator: &AmoEmulator, query: &str, form: &str) -> (u16, Value) {
    let c = emulator.config();
    parts(
        client()
            .post(format!(
                "{}/api/calls/add/?code={}&key={}{query}",
                emulator.base_url(),
                c.legacy_code,
                c.legacy_key
            ))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(form.to_owned())
            .send()
            .await
            .unwrap(),
    )
    .await
}

/// `request[add][i][k]=v` pairs for one call, form-encoded.
pub fn legacy_call(i: usize, fields: &[(&str, &str)]) -> String {
    let mut s = form_urlencoded::Serializer::new(String::new());
    for (k, v) in fields {
        s.append_pair(&format!("request[add][{i}][{k}]"), v);
    }
    s.finish()
}

/// The ids in `_embedded.<key>`.
pub fn ids(body: &Value, key: &str) -> Vec<u64> {
    body["_embedded"][key]
        .as_array()
        .map(|a| a.iter().map(|x| x["id"].as_u64().unwrap()).collect())
        .unwrap_or_default()
}
