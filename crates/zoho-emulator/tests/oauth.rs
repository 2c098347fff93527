//! The accounts server: consent redirect, code and refresh grants, the mint
//! cap, revocation, and the access tokens PhoneBridge accepts.

mod common;

use std::time::Duration;

use common::{access_token, client, code, refresh, start};
use reqwest::Method;
use ringside_zoho_emulator::{EmulatorConfig, Surface, ZohoEmulator};
use serde_json::Value;

const REDIRECT: &str = "http://127.0.0.1:9/zoho/callback";

async fn exchange(emulator: &ZohoEmulator, code: &str, redirect: &str) -> (u16, Value) {
    let config = emulator.config();
    let response = client()
        .post(format!("{}/oauth/v2/token", emulator.accounts_url()))
        .query(&[
            ("grant_type", "authorization_code"),
            ("client_id", config.client_id.as_str()),
            ("client_secret", config.client_secret.as_str()),
            ("redirect_uri", redirect),
            ("code", code),
        ])
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap())
}

fn query_of(location: &str) -> Vec<(String, String)> {
    let (_, query) = location.split_once('?').unwrap();
    form_urlencoded::parse(query.as_bytes())
        .into_owned()
        .collect()
}

fn get<'a>(pairs: &'a [(String, String)], key: &str) -> Option<&'a str> {
    pairs
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
}

async fn consent(emulator: &ZohoEmulator, params: &[(&str, &str)]) -> reqwest::Response {
    client()
        .get(format!("{}/oauth/v2/auth", emulator.accounts_url()))
        .query(params)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn consent_redirects_with_code_state_location_and_accounts_server() {
    let emulator = start().await;
    let response = consent(
        &emulator,
        &[
            ("scope", "ZohoCRM.crmphonebridge.ALL"),
            ("client_id", "1000.RINGSIDETESTCLIENT"),
            ("redirect_uri", REDIRECT),
            ("state", "xyz 1"),
            ("response_type", "code"),
            ("access_type", "offline"),
        ],
    )
    .await;
    assert_eq!(response.status().as_u16(), 302);
    let location = response.headers()["location"].to_str().unwrap().to_owned();
    assert!(location.starts_with(&format!("{REDIRECT}?")), "{location}");
    let pairs = query_of(&location);
    assert_eq!(get(&pairs, "state"), Some("xyz 1"));
    assert_eq!(get(&pairs, "location"), Some("eu"));
    assert_eq!(
        get(&pairs, "accounts-server"),
        Some(emulator.accounts_url().as_str())
    );
    let grant = get(&pairs, "code").unwrap();
    assert!(grant.starts_with("1000."));

    let (status, body) = exchange(&emulator, grant, REDIRECT).await;
    assert_eq!(status, 200);
    assert!(body["access_token"].as_str().unwrap().starts_with("1000."));
    assert!(body["refresh_token"].as_str().unwrap().starts_with("1000."));
    assert_eq!(body["expires_in"], 3600);
    assert_eq!(body["api_domain"], emulator.api_domain());
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(emulator.api_domain(), format!("{}/eu", emulator.base_url()));
    assert_eq!(emulator.mints(), 1);
    assert_eq!(
        emulator.mints_for(body["refresh_token"].as_str().unwrap()),
        1
    );
    assert!(
        emulator
            .requests()
            .iter()
            .all(|r| r.surface == Surface::Accounts)
    );
}

#[tokio::test]
async fn consent_refuses_a_bad_client_or_response_type() {
    let emulator = start().await;
    let bad_client = consent(
        &emulator,
        &[
            ("client_id", "1000.OTHER"),
            ("redirect_uri", REDIRECT),
            ("response_type", "code"),
        ],
    )
    .await;
    assert_eq!(bad_client.status().as_u16(), 400);
    let bad_type = consent(
        &emulator,
        &[
            ("client_id", "1000.RINGSIDETESTCLIENT"),
            ("redirect_uri", REDIRECT),
            ("response_type", "token"),
        ],
    )
    .await;
    assert_eq!(bad_type.status().as_u16(), 400);
}

#[tokio::test]
async fn without_offline_access_no_refresh_token_is_issued() {
    let emulator = start().await;
    let response = consent(
        &emulator,
        &[
            ("client_id", "1000.RINGSIDETESTCLIENT"),
            ("redirect_uri", REDIRECT),
            ("response_type", "code"),
        ],
    )
    .await;
    let location = response.headers()["location"].to_str().unwrap().to_owned();
    let pairs = query_of(&location);
    assert_eq!(get(&pairs, "state"), None);
    let (status, body) = exchange(&emulator, get(&pairs, "code").unwrap(), REDIRECT).await;
    assert_eq!(status, 200);
    assert!(body["access_token"].is_string());
    assert!(body.get("refresh_token").is_none(), "{body}");
}

#[tokio::test]
async fn grant_codes_are_single_use_and_expire_after_60_seconds() {
    let emulator = start().await;
    let grant = emulator.issue_grant_code(REDIRECT);
    // The wrong redirect URI is refused and does not use the code up.
    let (status, body) = exchange(&emulator, &grant, "http://127.0.0.1:9/other").await;
    assert_eq!(
        (status, body["error"].as_str()),
        (200, Some("invalid_redirect_uri"))
    );
    let (status, body) = exchange(&emulator, &grant, REDIRECT).await;
    assert_eq!(status, 200);
    assert!(body["refresh_token"].is_string());
    let (status, body) = exchange(&emulator, &grant, REDIRECT).await;
    assert_eq!(
        (status, body),
        (200, serde_json::json!({"error": "invalid_code"}))
    );

    let late = emulator.issue_grant_code(REDIRECT);
    emulator.advance(Duration::from_secs(59));
    let on_time = emulator.issue_grant_code(REDIRECT);
    emulator.advance(Duration::from_secs(2));
    let (status, body) = exchange(&emulator, &late, REDIRECT).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (200, Some("invalid_code"))
    );
    let (_, body) = exchange(&emulator, &on_time, REDIRECT).await;
    assert!(body["access_token"].is_string(), "{body}");
    let (_, body) = exchange(&emulator, "1000.unknown.code", REDIRECT).await;
    assert_eq!(body["error"], "invalid_code");
}

#[tokio::test]
async fn refresh_returns_api_domain_and_no_new_refresh_token() {
    let emulator = start().await;
    let rt = emulator.add_refresh_token();
    let (status, body) = refresh(&emulator, &rt).await;
    assert_eq!(status, 200);
    assert!(body["access_token"].as_str().unwrap().starts_with("1000."));
    assert_eq!(body["api_domain"], emulator.api_domain());
    assert_eq!(body["expires_in"], 3600);
    assert_eq!(body["token_type"], "Bearer");
    assert!(body.get("refresh_token").is_none());
    // Parameters in a form body are accepted too.
    let config = emulator.config();
    let response = client()
        .post(format!("{}/oauth/v2/token", emulator.accounts_url()))
        .form(&[
            ("grant_type", "refresh_token"),
            ("client_id", config.client_id.as_str()),
            ("client_secret", config.client_secret.as_str()),
            ("refresh_token", rt.as_str()),
        ])
        .send()
        .await
        .unwrap();
    let body: Value = response.json().await.unwrap();
    assert!(body["access_token"].is_string(), "{body}");
    assert_eq!(emulator.mints_for(&rt), 2);
}

#[tokio::test]
async fn wrong_client_and_unknown_grant_type_are_refused_with_200() {
    let emulator = start().await;
    let rt = emulator.add_refresh_token();
    let response = client()
        .post(format!("{}/oauth/v2/token", emulator.accounts_url()))
        .query(&[
            ("grant_type", "refresh_token"),
            ("client_id", "1000.RINGSIDETESTCLIENT"),
            ("client_secret", "wrong"),
            ("refresh_token", rt.as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 200);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"], "invalid_client");
    let response = client()
        .post(format!("{}/oauth/v2/token", emulator.accounts_url()))
        .query(&[("grant_type", "password")])
        .send()
        .await
        .unwrap();
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"], "unsupported_grant_type");
    assert_eq!(emulator.mints(), 0);
}

#[tokio::test]
async fn ten_mints_per_window_then_access_denied_until_the_window_frees() {
    let emulator = start().await;
    let rt = emulator.add_refresh_token();
    for i in 0..10 {
        let (status, body) = refresh(&emulator, &rt).await;
        assert_eq!(status, 200, "mint {i}: {body}");
        emulator.advance(Duration::from_secs(10));
    }
    let (status, body) = refresh(&emulator, &rt).await;
    assert_eq!(status, 400);
    assert_eq!(body["error"], "Access Denied");
    assert_eq!(
        body["error_description"],
        "You have made too many requests continuously. Please try again after some time."
    );
    assert_eq!(emulator.mints_for(&rt), 10);
    // Another refresh token is not affected.
    let other = emulator.add_refresh_token();
    assert_eq!(refresh(&emulator, &other).await.0, 200);
    // Still blocked just before the first mint leaves the window...
    emulator.advance(Duration::from_secs(600 - 100 - 2));
    assert_eq!(refresh(&emulator, &rt).await.0, 400);
    // ...and free once it has.
    emulator.advance(Duration::from_secs(2));
    let (status, body) = refresh(&emulator, &rt).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(emulator.mints_for(&rt), 11);
    assert_eq!(emulator.mints(), 12);
    // After a whole window everything is free again.
    emulator.advance(Duration::from_secs(600));
    for _ in 0..10 {
        assert_eq!(refresh(&emulator, &rt).await.0, 200);
    }
}

#[tokio::test]
async fn the_mint_cap_is_configurable() {
    let emulator = ZohoEmulator::start(EmulatorConfig {
        mint_limit: 2,
        mint_window: Duration::from_secs(60),
        ..EmulatorConfig::default()
    })
    .await
    .unwrap();
    let rt = emulator.add_refresh_token();
    assert_eq!(refresh(&emulator, &rt).await.0, 200);
    assert_eq!(refresh(&emulator, &rt).await.0, 200);
    assert_eq!(refresh(&emulator, &rt).await.0, 400);
    emulator.advance(Duration::from_secs(60));
    assert_eq!(refresh(&emulator, &rt).await.0, 200);
}

#[tokio::test]
async fn revoked_or_unknown_refresh_tokens_get_invalid_code() {
    let emulator = start().await;
    emulator.set_integrated(true);
    let rt = emulator.add_refresh_token();
    let (_, body) = refresh(&emulator, &rt).await;
    let access = body["access_token"].as_str().unwrap().to_owned();
    let response = client()
        .post(format!("{}/oauth/v2/token/revoke", emulator.accounts_url()))
        .query(&[("token", rt.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 200);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body, serde_json::json!({"status": "success"}));
    let (status, body) = refresh(&emulator, &rt).await;
    assert_eq!(
        (status, body),
        (200, serde_json::json!({"error": "invalid_code"}))
    );
    let (status, body) = common::pb(&emulator, &access, Method::GET, "users", &[]).await;
    assert_eq!((status, code(&body)), (401, "INVALID_TOKEN"));
    let (_, body) = refresh(&emulator, "1000.nope.nope").await;
    assert_eq!(body["error"], "invalid_code");
    // The handle's revocation works the same.
    let rt2 = emulator.add_refresh_token();
    emulator.revoke_refresh_token(&rt2);
    assert_eq!(refresh(&emulator, &rt2).await.1["error"], "invalid_code");
}

#[tokio::test]
async fn access_tokens_expire_after_their_lifetime() {
    let emulator = start().await;
    emulator.set_integrated(true);
    let token = access_token(&emulator).await;
    let (status, _) = common::pb(&emulator, &token, Method::GET, "users", &[]).await;
    assert_eq!(status, 200);
    emulator.advance(Duration::from_secs(3598));
    let (status, _) = common::pb(&emulator, &token, Method::GET, "users", &[]).await;
    assert_eq!(status, 200);
    emulator.advance(Duration::from_secs(2));
    let (status, body) = common::pb(&emulator, &token, Method::GET, "users", &[]).await;
    assert_eq!(status, 401);
    assert_eq!(
        body,
        serde_json::json!({"code":"INVALID_TOKEN","details":{},"message":"invalid oauth token","status":"error"})
    );
}

#[tokio::test]
async fn expire_access_tokens_kills_every_issued_token() {
    let emulator = start().await;
    emulator.set_integrated(true);
    let a = access_token(&emulator).await;
    let b = access_token(&emulator).await;
    emulator.expire_access_tokens();
    for t in [&a, &b] {
        let (status, body) = common::pb(&emulator, t, Method::GET, "users", &[]).await;
        assert_eq!((status, code(&body)), (401, "INVALID_TOKEN"));
    }
    let c = access_token(&emulator).await;
    assert_eq!(
        common::pb(&emulator, &c, Method::GET, "users", &[]).await.0,
        200
    );
}

#[tokio::test]
async fn missing_or_malformed_authorization_is_invalid_token() {
    let emulator = start().await;
    emulator.set_integrated(true);
    let token = access_token(&emulator).await;
    let url = format!("{}/crm/v2/phonebridge/users", emulator.api_domain());
    let none = client().get(&url).send().await.unwrap();
    assert_eq!(none.status().as_u16(), 401);
    let bearer = client()
        .get(&url)
        .header("Authorization", format!("Bearer {token}"))
        .send()
        .await
        .unwrap();
    assert_eq!(bearer.status().as_u16(), 401);
    let body: Value = bearer.json().await.unwrap();
    assert_eq!(code(&body), "INVALID_TOKEN");
    assert_eq!(
        common::pb(&emulator, "1000.made.up", Method::GET, "users", &[])
            .await
            .0,
        401
    );
}

#[tokio::test]
async fn a_token_used_on_another_dc_host_is_invalid() {
    let emulator = start().await;
    emulator.set_integrated(true);
    let token = access_token(&emulator).await;
    // The US default host (no DC prefix), as a client ignoring api_domain.
    let us = format!("{}/crm/v2/phonebridge/users", emulator.base_url());
    let (status, body) = common::pb_url(&us, &token, Method::GET, &[]).await;
    assert_eq!((status, code(&body)), (401, "INVALID_TOKEN"));
    let india = format!("{}/in/crm/v2/phonebridge/users", emulator.base_url());
    let (status, _) = common::pb_url(&india, &token, Method::GET, &[]).await;
    assert_eq!(status, 401);
    let eu = format!("{}/eu/crm/v2/phonebridge/users", emulator.base_url());
    let (status, _) = common::pb_url(&eu, &token, Method::GET, &[]).await;
    assert_eq!(status, 200);
    let surfaces: Vec<Surface> = emulator.requests().iter().map(|r| r.surface).collect();
    assert_eq!(&surfaces[surfaces.len() - 3..], [Surface::PhoneBridge; 3]);
}

#[tokio::test]
async fn the_data_centre_is_configurable() {
    let emulator = ZohoEmulator::start(EmulatorConfig {
        data_centre: "in".into(),
        ..EmulatorConfig::default()
    })
    .await
    .unwrap();
    emulator.set_integrated(true);
    assert!(emulator.api_domain().ends_with("/in"));
    let rt = emulator.add_refresh_token();
    let (_, body) = refresh(&emulator, &rt).await;
    assert_eq!(body["api_domain"], emulator.api_domain());
    let token = body["access_token"].as_str().unwrap();
    assert_eq!(
        common::pb(&emulator, token, Method::GET, "users", &[])
            .await
            .0,
        200
    );
    let eu = format!("{}/eu/crm/v2/phonebridge/users", emulator.base_url());
    assert_eq!(common::pb_url(&eu, token, Method::GET, &[]).await.0, 401);
}
