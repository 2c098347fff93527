//! Webhook and local-application (OAuth) sign-in against the emulator.

mod common;

use common::*;
use ringside_bitrix24::WRONG_AUTH_TYPE_MESSAGE;
use ringside_bitrix24_emulator::EmulatorConfig;
use ringside_core::{Direction, ErrorKind, Sensitive};
use ringside_crm::{CrmProvider, OpKind};

#[tokio::test]
async fn telephony_through_a_webhook_is_a_config_error_that_says_what_to_do() {
    let env = demo().await;
    let crm = adapter(webhook(&env));
    let c = call("c-wh", Direction::Inbound);
    let e = crm
        .deliver(&op(OpKind::Ring, &c, Some(ana(&env))))
        .await
        .unwrap_err();
    assert_eq!(e.kind, ErrorKind::Config);
    assert!(e.message.contains(WRONG_AUTH_TYPE_MESSAGE), "{}", e.message);
    assert!(!e.is_retryable());
    assert!(env.emulator.calls().is_empty());
}

#[tokio::test]
async fn a_portal_that_allows_webhook_telephony_registers() {
    let env = start(EmulatorConfig {
        webhook_telephony: true,
        ..EmulatorConfig::default()
    })
    .await;
    let crm = adapter(webhook(&env));
    let c = call("c-wh2", Direction::Inbound);
    let sent = crm
        .deliver(&op(OpKind::Ring, &c, Some(ana(&env))))
        .await
        .unwrap()
        .sent;
    assert_eq!(
        sent["CALL_ID"].as_str(),
        Some(env.emulator.calls()[0].call_id.as_str())
    );
}

#[tokio::test]
async fn check_reports_the_auth_type() {
    let env = demo().await;
    let info = adapter(webhook(&env)).check().await.unwrap();
    assert!(info.account.contains("(user 1)"), "{info:?}");
    assert!(info.detail.unwrap().contains("WRONG_AUTH_TYPE"));
    let info = oauth_adapter(&env).check().await.unwrap();
    assert!(
        info.account.contains(&env.emulator.config().client_id),
        "{info:?}"
    );
}

#[tokio::test]
async fn a_wrong_webhook_code_is_unauthorized() {
    let env = demo().await;
    let url = env.emulator.webhook_url().replace("wh0001code", "nope");
    let crm = adapter(ringside_bitrix24::BitrixSettings::new(
        ringside_bitrix24::BitrixAuth::Webhook {
            url: Sensitive::new(url),
        },
    ));
    let e = crm.check().await.unwrap_err();
    assert_eq!(e.kind, ErrorKind::Unauthorized, "{}", e.message);
}

#[tokio::test]
async fn an_expired_token_is_refreshed_once_and_the_new_refresh_token_saved() {
    let env = demo().await;
    let (settings, store, first) = oauth(&env);
    let crm = adapter(settings);
    crm.check().await.unwrap();
    let saved = store.get().unwrap().expose().clone();
    assert_ne!(saved, first, "the rotated token is saved");

    env.emulator.expire_access_tokens();
    let c = call("c-exp", Direction::Inbound);
    crm.deliver(&op(OpKind::Ring, &c, Some(ana(&env))))
        .await
        .unwrap();
    let rotated = store.get().unwrap().expose().clone();
    assert_ne!(rotated, saved);
    let token_requests = env
        .emulator
        .requests()
        .iter()
        .filter(|r| r.path.starts_with("/oauth/token"))
        .count();
    assert_eq!(token_requests, 2);
    let rejected = env
        .emulator
        .requests()
        .iter()
        .filter(|r| r.error.as_deref() == Some("expired_token"))
        .count();
    assert_eq!(rejected, 1);
    assert_eq!(env.emulator.calls().len(), 1);
}

#[tokio::test]
async fn a_used_refresh_token_is_refused() {
    let env = demo().await;
    let (settings, _, _) = oauth(&env);
    let crm = adapter(settings.clone());
    crm.check().await.unwrap();
    // A second adapter with the same (now rotated away) refresh token.
    let stale = adapter(settings);
    let e = stale.check().await.unwrap_err();
    assert_eq!(e.kind, ErrorKind::Unauthorized, "{}", e.message);
}
