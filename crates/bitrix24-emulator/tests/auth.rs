//! Both auth forms, WRONG_AUTH_TYPE, OAuth rotation and expiry, form parsing.

mod common;

use std::time::Duration;

use common::{access_token, app, client, hook, hook_form, parts, refresh, start};
use ringside_bitrix24_emulator::AuthKind;
use serde_json::json;

#[tokio::test]
async fn webhook_and_oauth_forms_and_wrong_auth_type() {
    let emulator = start(false).await;
    let ana = emulator.add_user("Ana García", Some("201"));
    // Webhook: GET works, the envelope carries result and time.
    let (status, body) = parts(
        client()
            .get(format!(
                "{}user.get?UF_PHONE_INNER=201",
                emulator.webhook_url()
            ))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["result"][0]["ID"], ana.to_string());
    assert_eq!(body["result"][0]["UF_PHONE_INNER"], "201");
    assert!(body["time"]["start"].as_f64().unwrap() > 1.6e9);
    assert!(
        body["time"]["date_start"]
            .as_str()
            .unwrap()
            .ends_with("+00:00")
    );
    // Wrong code.
    let bad = format!("{}/rest/1/nope/profile", emulator.base_url());
    let (status, body) = parts(client().post(bad).send().await.unwrap()).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (401, Some("INVALID_CREDENTIALS"))
    );
    // Telephony via webhook is denied by default.
    let (status, body) = hook(
        &emulator,
        "telephony.externalCall.register",
        json!({"USER_ID": ana, "PHONE_NUMBER": "600", "TYPE": 2}),
    )
    .await;
    assert_eq!(status, 401);
    assert_eq!(body["error"], "WRONG_AUTH_TYPE");
    assert_eq!(
        body["error_description"],
        "Current authorization type is denied for this method"
    );
    // The application may; `auth` also works in a form body.
    let token = access_token(&emulator).await;
    let (status, body) = parts(
        client()
            .post(format!(
                "{}/rest/telephony.externalcall.register.json",
                emulator.base_url()
            ))
            .form(&[
                ("auth", token.as_str()),
                ("USER_PHONE_INNER", "201"),
                ("PHONE_NUMBER", "+34 600 111 222"),
                ("TYPE", "2"),
            ])
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert!(
        body["result"]["CALL_ID"]
            .as_str()
            .unwrap()
            .starts_with("externalCall.")
    );
    let calls = emulator.method_calls();
    let last = calls.last().unwrap();
    assert_eq!(last.method, "telephony.externalcall.register");
    assert_eq!(last.auth, AuthKind::OAuth);
    assert!(!last.params.contains_key("auth"));
    // No auth at all.
    let (status, body) = app(&emulator, "", "profile", json!({})).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (401, Some("NO_AUTH_FOUND"))
    );
    let rejected = emulator
        .requests()
        .iter()
        .filter(|r| r.status == 401)
        .count();
    assert_eq!(rejected, 3);

    // An older portal lets the webhook register.
    let lenient = start(true).await;
    let (status, _) = hook(
        &lenient,
        "telephony.externalcall.register",
        json!({"USER_ID": 1, "PHONE_NUMBER": "600", "TYPE": 2}),
    )
    .await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn refresh_rotates_and_expired_tokens_answer_expired_token() {
    let emulator = start(false).await;
    let first = emulator.add_refresh_token();
    let (status, body) = refresh(&emulator, &first).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["expires_in"], 3600);
    assert_eq!(
        body["client_endpoint"],
        format!("{}/rest/", emulator.base_url())
    );
    assert!(body["member_id"].is_string());
    let second = body["refresh_token"].as_str().unwrap().to_owned();
    assert_ne!(second, first);
    let token = body["access_token"].as_str().unwrap().to_owned();
    // The old refresh token is dead.
    let (status, body) = refresh(&emulator, &first).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant"))
    );
    let (status, body) = app(&emulator, &token, "profile", json!({})).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["result"]["ID"], "1");
    emulator.advance(Duration::from_secs(3601));
    let (status, body) = app(&emulator, &token, "profile", json!({})).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (401, Some("expired_token"))
    );
    let (status, body) = refresh(&emulator, &second).await;
    assert_eq!(status, 200);
    let fresh = body["access_token"].as_str().unwrap().to_owned();
    assert_eq!(app(&emulator, &fresh, "app.info", json!({})).await.0, 200);
    emulator.expire_access_tokens();
    let (status, body) = app(&emulator, &fresh, "app.info", json!({})).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (401, Some("expired_token"))
    );
}

#[tokio::test]
async fn nested_form_keys_are_parsed_and_recorded() {
    let emulator = start(false).await;
    let ids = emulator.seed_demo();
    let (status, body) = hook_form(
        &emulator,
        "crm.deal.list",
        &[
            ("filter[CONTACT_ID]", &ids.lucia.to_string()),
            ("filter[CLOSED]", "N"),
            ("select[]", "ID"),
            ("select[]", "TITLE"),
        ],
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let deals = body["result"].as_array().unwrap();
    assert_eq!(deals.len(), 2);
    assert_eq!(deals[0]["TITLE"], "Reforma oficina Valencia");
    assert!(deals[0].get("STAGE_ID").is_none());
    let (status, body) = hook_form(
        &emulator,
        "crm.duplicate.findbycomm",
        &[
            ("type", "PHONE"),
            ("values[0]", "647460197"),
            ("values[1]", "999"),
        ],
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["result"], json!({"CONTACT": [ids.lucia]}));
    let call = emulator.method_calls().pop().unwrap();
    assert_eq!(call.auth, AuthKind::Webhook);
    assert_eq!(call.params["values[1]"], "999");
    assert_eq!(emulator.method_calls()[0].params["select[1]"], "TITLE");
}
