//! Shared helpers: start an emulator, get a token, call PhoneBridge.
#![allow(dead_code)]

use std::time::Duration;

use reqwest::Method;
use ringside_zoho_emulator::{DemoIds, EmulatorConfig, ZohoEmulator};
use serde_json::Value;

pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(20))
        .build()
        .unwrap()
}

pub async fn start() -> ZohoEmulator {
    ZohoEmulator::start(EmulatorConfig::default())
        .await
        .unwrap()
}

/// Refreshes `refresh` against the accounts server; the raw status and JSON.
pub async fn refresh(emulator: &ZohoEmulator, refresh: &str) -> (u16, Value) {
    let config = emulator.config();
    let response = client()
        .post(format!("{}/oauth/v2/token", emulator.accounts_url()))
        .query(&[
            ("grant_type", "refresh_token"),
            ("client_id", config.client_id.as_str()),
            ("client_secret", config.client_secret.as_str()),
            ("refresh_token", refresh),
        ])
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap())
}

/// A fresh access token (from a new refresh token).
pub async fn access_token(emulator: &ZohoEmulator) -> String {
    let rt = emulator.add_refresh_token();
    let (status, body) = refresh(emulator, &rt).await;
    assert_eq!(status, 200, "{body}");
    body["access_token"].as_str().unwrap().to_owned()
}

/// An emulator with the demo data, integrated, and a live access token.
pub async fn demo() -> (ZohoEmulator, DemoIds, String) {
    let emulator = start().await;
    let ids = emulator.seed_demo();
    emulator.set_integrated(true);
    let token = access_token(&emulator).await;
    (emulator, ids, token)
}

/// A PhoneBridge request on the api_domain, params as a form body (POST,
/// DELETE) or query string (GET). Returns the status and body (`Null` when
/// empty).
pub async fn pb(
    emulator: &ZohoEmulator,
    token: &str,
    method: Method,
    endpoint: &str,
    params: &[(&str, &str)],
) -> (u16, Value) {
    let url = format!("{}/crm/v2/phonebridge/{endpoint}", emulator.api_domain());
    pb_url(&url, token, method, params).await
}

pub async fn pb_url(
    url: &str,
    token: &str,
    method: Method,
    params: &[(&str, &str)],
) -> (u16, Value) {
    let mut request = client()
        .request(method.clone(), url)
        .header("Authorization", format!("Zoho-oauthtoken {token}"));
    request = if method == Method::GET {
        request.query(params)
    } else {
        request.form(params)
    };
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let text = response.text().await.unwrap();
    let body = if text.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).unwrap_or_else(|_| panic!("not JSON: {text}"))
    };
    (status, body)
}

pub async fn post(
    emulator: &ZohoEmulator,
    token: &str,
    endpoint: &str,
    params: &[(&str, &str)],
) -> (u16, Value) {
    pb(emulator, token, Method::POST, endpoint, params).await
}

/// `code` of a PhoneBridge body.
pub fn code(body: &Value) -> &str {
    body["code"].as_str().unwrap_or("")
}

/// `details.param` of a PhoneBridge error.
pub fn bad_param(body: &Value) -> &str {
    body["details"]["param"].as_str().unwrap_or("")
}

/// Now in GMT, `yyyy-MM-dd HH:mm:ss`.
pub fn gmt_now() -> String {
    chrono::Utc::now().format("%Y-%m-%d %H:%M:%S").to_string()
}
