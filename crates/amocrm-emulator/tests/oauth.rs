//! OAuth: code exchange, refresh rotation, errors, Bearer auth.

mod common;

use std::time::Duration;

use common::{access_token, client, get, parts, refresh, start, token_request};
use ringside_amocrm_emulator::{AmoEmulator, EmulatorConfig, Surface};
use serde_json::json;

fn code_body(emulator: &AmoEmulator, code: &str) -> serde_json::Value {
    let c = emulator.config();
    json!({
        "client_id": c.client_id, "client_secret": c.client_secret,
        "grant_type": "authorization_code", "code": code, "redirect_uri": c.redirect_uri,
    })
}

#[tokio::test]
async fn authorization_code_is_exchanged_once() {
    let emulator = start().await;
    let code = emulator.issue_auth_code();
    let (status, body) = token_request(&emulator, code_body(&emulator, &code)).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 86400);
    assert!(body["access_token"].is_string() && body["refresh_token"].is_string());
    assert!(body["server_time"].as_u64().unwrap() > 1_600_000_000);
    let (status, body) = token_request(&emulator, code_body(&emulator, &code)).await;
    assert_eq!(status, 400);
    assert_eq!(body["hint"], "Authorization code has been revoked");
    assert_eq!(
        body["type"],
        "https://developers.amocrm.ru/v3/errors/OAuthProblemJson"
    );
}

#[tokio::test]
async fn codes_expire_and_form_bodies_work() {
    let emulator = start().await;
    let c = emulator.config();
    let code = emulator.issue_auth_code();
    let response = client()
        .post(format!("{}/oauth2/access_token", emulator.base_url()))
        .form(&[
            ("client_id", c.client_id.as_str()),
            ("client_secret", c.client_secret.as_str()),
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
            ("redirect_uri", c.redirect_uri.as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(parts(response).await.0, 200);
    let late = emulator.issue_auth_code();
    emulator.advance(Duration::from_secs(21 * 60));
    let (status, body) = token_request(&emulator, code_body(&emulator, &late)).await;
    assert_eq!(status, 400);
    assert_eq!(body["hint"], "Authorization code has expired");
}

#[tokio::test]
async fn refresh_rotates_and_old_refresh_token_is_rejected() {
    let emulator = start().await;
    let rt = emulator.add_refresh_token();
    let (status, first) = refresh(&emulator, &rt).await;
    assert_eq!(status, 200);
    let new_rt = first["refresh_token"].as_str().unwrap();
    assert_ne!(new_rt, rt);
    assert_eq!(emulator.refreshes(), 1);
    let (status, body) = refresh(&emulator, &rt).await;
    assert_eq!(status, 400);
    assert_eq!(
        body,
        json!({"hint":"Token has been revoked","title":"Некорректный запрос","type":"https://developers.amocrm.ru/v3/errors/OAuthProblemJson","status":400,"detail":"The refresh token is invalid."})
    );
    let (status, second) = refresh(&emulator, new_rt).await;
    assert_eq!(status, 200);
    assert_eq!(emulator.refreshes(), 2);
    // The first access token still works until it expires.
    let at = first["access_token"].as_str().unwrap();
    assert_eq!(get(&emulator, at, "/api/v4/account").await.0, 200);
    assert_ne!(second["access_token"], first["access_token"]);
}

#[tokio::test]
async fn wrong_client_and_redirect_and_grant() {
    let emulator = start().await;
    let c = emulator.config();
    let rt = emulator.add_refresh_token();
    let (status, body) = token_request(
        &emulator,
        json!({"client_id": c.client_id, "client_secret": "nope", "grant_type": "refresh_token",
               "refresh_token": rt, "redirect_uri": c.redirect_uri}),
    )
    .await;
    assert_eq!(status, 401);
    assert_eq!(body["status"], 401);
    assert_eq!(body["hint"], "Client authentication failed");
    let (status, _) = token_request(
        &emulator,
        json!({"client_id": c.client_id, "client_secret": c.client_secret, "grant_type": "refresh_token",
               "refresh_token": rt, "redirect_uri": "https://elsewhere.test/cb"}),
    )
    .await;
    assert_eq!(status, 400);
    let (status, body) = token_request(
        &emulator,
        json!({"client_id": c.client_id, "client_secret": c.client_secret, "grant_type": "password"}),
    )
    .await;
    assert_eq!(status, 400);
    assert_eq!(body["hint"], "Unsupported grant type");
    // The failed attempts did not burn the refresh token.
    assert_eq!(refresh(&emulator, &rt).await.0, 200);
    assert!(
        emulator
            .requests()
            .iter()
            .all(|r| r.surface == Surface::OAuth)
    );
}

#[tokio::test]
async fn bearer_auth_missing_expired_revoked_and_long_lived() {
    let emulator = start().await;
    let response = client()
        .get(format!("{}/api/v4/account", emulator.base_url()))
        .send()
        .await
        .unwrap();
    let (status, body) = parts(response).await;
    assert_eq!(status, 401);
    assert_eq!(body["title"], "Unauthorized");
    assert_eq!(body["type"], "https://httpstatus.es/401");
    assert_eq!(body["status"], 401);

    let at = access_token(&emulator).await;
    assert_eq!(get(&emulator, &at, "/api/v4/account").await.0, 200);
    emulator.advance(Duration::from_secs(86_401));
    let (status, body) = get(&emulator, &at, "/api/v4/account").await;
    assert_eq!(status, 401, "{body}");

    let at = access_token(&emulator).await;
    emulator.expire_access_tokens();
    assert_eq!(get(&emulator, &at, "/api/v4/account").await.0, 401);

    let long = emulator.config().long_lived_token.unwrap();
    assert_eq!(long, "amo-long-lived-0001");
    assert_eq!(get(&emulator, &long, "/api/v4/account").await.0, 200);
    assert_eq!(get(&emulator, "garbage", "/api/v4/account").await.0, 401);

    let rt = emulator.add_refresh_token();
    emulator.revoke_all_tokens();
    assert_eq!(get(&emulator, &long, "/api/v4/account").await.0, 401);
    assert_eq!(refresh(&emulator, &rt).await.0, 400);
}

#[tokio::test]
async fn no_long_lived_token_when_configured_off() {
    let emulator = AmoEmulator::start(EmulatorConfig {
        long_lived_token: None,
        ..EmulatorConfig::default()
    })
    .await
    .unwrap();
    assert_eq!(
        get(&emulator, "amo-long-lived-0001", "/api/v4/account")
            .await
            .0,
        401
    );
}
