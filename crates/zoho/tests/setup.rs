//! Integration setup, click-to-call registration, users, check, and the
//! documented errors as the emulator answers them.

mod common;

use common::*;
use ringside_core::{Direction, ErrorKind, NumberPlan, Sensitive};
use ringside_crm::{CrmProvider, OpKind};
use ringside_zoho::{Registration, ZohoCrm};
use ringside_zoho_emulator::{EmulatorConfig, ZohoEmulator};

#[tokio::test]
async fn integrate_is_idempotent_through_ensure_integrated() {
    let env = demo().await;
    env.emulator.set_integrated(false);
    let crm = adapter(&env);
    let info = crm.check().await.unwrap();
    assert!(
        info.detail
            .as_deref()
            .unwrap()
            .contains("run the integration setup"),
        "{info:?}"
    );
    let e = crm
        .lookup(&NumberPlan::default().variants("647460197"))
        .await
        .unwrap_err();
    assert_eq!(e.kind, ErrorKind::Config);
    assert!(
        e.message
            .contains("PhoneBridge is not enabled for this Zoho account"),
        "{}",
        e.message
    );

    assert!(crm.ensure_integrated().await.unwrap());
    assert!(env.emulator.integrated());
    let e = crm.integrate(true).await.unwrap_err();
    assert_eq!(e.kind, ErrorKind::Conflict);
    assert!(e.message.contains("already enabled"), "{}", e.message);
    assert!(
        !crm.ensure_integrated().await.unwrap(),
        "already enabled is success"
    );

    let info = crm.check().await.unwrap();
    assert_eq!(
        info.account,
        format!("3 PhoneBridge users at {}", env.emulator.api_domain())
    );
    assert_eq!(info.detail.as_deref(), Some("integration enabled"));

    crm.integrate(false).await.unwrap();
    assert!(!env.emulator.integrated());
}

#[tokio::test]
async fn another_pbx_and_license_problems_are_named() {
    let env = demo().await;
    env.emulator.set_integrated(false);
    env.emulator.set_other_pbx(true);
    let crm = adapter(&env);
    let e = crm.ensure_integrated().await.unwrap_err();
    assert_eq!(e.kind, ErrorKind::Conflict);
    assert!(
        e.message
            .contains("another telephony provider is enabled in Zoho; disable it first"),
        "{}",
        e.message
    );
    env.emulator.set_license_ok(false);
    let e = crm.users().await.unwrap_err();
    assert_eq!(e.kind, ErrorKind::Forbidden);
    assert!(e.message.contains("license or role"), "{}", e.message);
}

#[tokio::test]
async fn an_unregistered_vendor_is_a_config_error() {
    let emulator = ZohoEmulator::start(EmulatorConfig {
        registered: false,
        ..EmulatorConfig::default()
    })
    .await
    .unwrap();
    let rt = emulator.add_refresh_token();
    let config = emulator.config();
    let crm = ZohoCrm::new(
        ringside_zoho::ZohoSettings::new(
            emulator.accounts_url(),
            config.client_id,
            config.client_secret,
            rt,
        ),
        throttle(),
    )
    .unwrap();
    let e = crm.integrate(true).await.unwrap_err();
    assert_eq!(e.kind, ErrorKind::Config);
    assert!(
        e.message.contains("not registered as a PhoneBridge vendor"),
        "{}",
        e.message
    );
}

#[tokio::test]
async fn click_to_call_registration_carries_urls_authorization_and_users() {
    let env = demo().await;
    let crm = adapter(&env);
    let registration = Registration {
        clicktocall_url: "https://hub.example/zoho/clicktocall".into(),
        hungup_url: Some("https://hub.example/zoho/hangup".into()),
        answer_url: Some("https://hub.example/zoho/answer".into()),
        authorization: ("X-Ringside-Key".into(), Sensitive::new("k3y+/=".into())),
        user_ids: vec![env.ids.ana.clone(), env.ids.bruno.clone()],
    };
    crm.register_click_to_call(&registration).await.unwrap();
    let r = env.emulator.click_to_call_registration().unwrap();
    assert_eq!(
        r.clicktocallurl.as_deref(),
        Some("https://hub.example/zoho/clicktocall")
    );
    assert_eq!(
        r.hungupurl.as_deref(),
        Some("https://hub.example/zoho/hangup")
    );
    assert_eq!(
        r.answerurl.as_deref(),
        Some("https://hub.example/zoho/answer")
    );
    assert_eq!(
        r.authorization,
        Some(("X-Ringside-Key".to_string(), "k3y+/=".to_string()))
    );
    assert_eq!(r.userids, vec![env.ids.ana.clone(), env.ids.bruno.clone()]);

    // An unknown user is INVALID_USER.
    let mut bad = registration.clone();
    bad.user_ids = vec!["123".into()];
    let e = crm.register_click_to_call(&bad).await.unwrap_err();
    assert_eq!(e.kind, ErrorKind::Invalid);

    crm.unregister_click_to_call().await.unwrap();
    assert!(env.emulator.click_to_call_registration().is_none());
}

#[tokio::test]
async fn users_are_discovered_without_extensions() {
    let env = demo().await;
    let crm = adapter(&env);
    let users = crm.users().await.unwrap();
    assert_eq!(users.len(), 3);
    assert_eq!(users[0].userid, env.ids.ana);
    assert_eq!(users[0].username, "Ana García");
    assert_eq!(users[0].email, "ana@ringside.test");
    let discovered = crm.discover_users().await.unwrap();
    assert_eq!(discovered.len(), 3);
    assert!(
        discovered
            .iter()
            .all(|u| u.extension.is_empty() && u.phone.is_none())
    );
    assert_eq!(
        discovered[1].user_id.as_deref(),
        Some(env.ids.bruno.as_str())
    );
    assert_eq!(discovered[1].name.as_deref(), Some("Bruno Díaz"));
    assert_eq!(discovered[1].email.as_deref(), Some("bruno@ringside.test"));
}

#[tokio::test]
async fn capabilities_and_kind() {
    let env = demo().await;
    let crm = adapter(&env);
    assert_eq!(crm.kind(), "zoho");
    let caps = crm.capabilities();
    assert!(caps.lookup_contact && caps.open_deals && caps.live_call_events);
    assert!(caps.attach_recording_later && caps.inbound_click_to_call);
    assert!(!caps.log_at_end && !caps.create_contact);
    // Delivered ops never carry a token.
    let c = call("c-caps", Direction::Inbound);
    let d = crm
        .deliver(&op(OpKind::Ring, &c, Some(user("201", &env.ids.ana))))
        .await
        .unwrap();
    let token = crm.tokens().current().await.unwrap();
    assert!(!d.sent.to_string().contains(token.token.expose().as_str()));
}
