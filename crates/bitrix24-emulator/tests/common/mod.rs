//! Shared helpers: start an emulator, call methods over HTTP.
#![allow(dead_code)]

use std::time::Duration;

use ringside_bitrix24_emulator::{BitrixEmulator, EmulatorConfig};
use serde_json::Value;

pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(20))
        .build()
        .unwrap()
}

/// An emulator with the bucket off and webhook telephony as given.
pub async fn start(webhook_telephony: bool) -> BitrixEmulator {
    BitrixEmulator::start(EmulatorConfig {
        bucket_burst: 0,
        webhook_telephony,
        ..EmulatorConfig::default()
    })
    .await
    .unwrap()
}

pub async fn parts(response: reqwest::Response) -> (u16, Value) {
    let status = response.status().as_u16();
    let text = response.text().await.unwrap();
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

/// POST a JSON body through the webhook.
pub async fn hook(emulator: &BitrixEmulator, method: &str, body: Value) -> (u16, Value) {
    parts(
        client()
            .post(format!("{}{method}.json", emulator.webhook_url()))
            .json(&body)
            .send()
            .await
            .unwrap(),
    )
    .await
}

/// POST a form body through the webhook.
pub async fn hook_form(
    emulator: &BitrixEmulator,
    method: &str,
    form: &[(&str, &str)],
) -> (u16, Value) {
    parts(
        client()
            .post(format!("{}{method}", emulator.webhook_url()))
            .form(form)
            .send()
            .await
            .unwrap(),
    )
    .await
}

/// The token endpoint's refresh grant.
pub async fn refresh(emulator: &BitrixEmulator, token: &str) -> (u16, Value) {
    let c = emulator.config();
    parts(
        client()
            .get(format!("{}/oauth/token/", emulator.base_url()))
            .query(&[
                ("grant_type", "refresh_token"),
                ("client_id", c.client_id.as_str()),
                ("client_secret", c.client_secret.as_str()),
                ("refresh_token", token),
            ])
            .send()
            .await
            .unwrap(),
    )
    .await
}

/// A fresh access token.
pub async fn access_token(emulator: &BitrixEmulator) -> String {
    let (status, body) = refresh(emulator, &emulator.add_refresh_token()).await;
    assert_eq!(status, 200, "{body}");
    body["access_token"].as_str().unwrap().to_owned()
}

/// POST a JSON body as the application (`auth` in the query string).
pub async fn app(
    emulator: &BitrixEmulator,
    token: &str,
    method: &str,
    body: Value,
) -> (u16, Value) {
    parts(
        client()
            .post(format!("{}/rest/{method}", emulator.base_url()))
            .query(&[("auth", token)])
            .json(&body)
            .send()
            .await
            .unwrap(),
    )
    .await
}
