//! The connection test, user discovery and Search by Number links.

mod common;

use common::{adapter, adapter_with, demo, settings};
use ringside_core::{ErrorKind, NumberPlan, PhoneNumber, Sensitive};
use ringside_crm::{CrmProvider, CrmUser};
use ringside_vtiger_emulator::Surface;

#[tokio::test]
async fn check_reports_the_user_and_probes_the_gateway_secret_without_writing() {
    let (emulator, _) = demo().await;
    let crm = adapter(&emulator);
    let info = crm.check().await.unwrap();
    let host = emulator
        .base_url()
        .trim_start_matches("http://")
        .to_string();
    assert_eq!(info.account, format!("admin@ringside.test on {host}"));
    assert_eq!(info.detail.as_deref(), Some("gateway secret accepted"));
    // The probe hit the gateway, was refused as RECORD_NOT_FOUND and created nothing.
    let probe = emulator
        .requests()
        .into_iter()
        .find(|r| r.surface == Surface::Gateway)
        .unwrap();
    assert_eq!(probe.status, 400);
    assert_eq!(probe.param("event"), Some("call_recording"));
    assert_eq!(probe.param("call_id"), Some("ringside-connection-test"));
    assert!(emulator.phone_calls().is_empty());
    assert!(emulator.gateway_events().is_empty());
}

#[tokio::test]
async fn check_names_the_credential_that_is_wrong() {
    let (emulator, _) = demo().await;
    let mut s = settings(&emulator);
    s.gateway_secret = Sensitive::new("wrong".into());
    let (crm, _) = adapter_with(s);
    let e = crm.check().await.unwrap_err();
    assert_eq!(e.kind, ErrorKind::Unauthorized);
    assert!(e.message.contains("gateway secret"), "{}", e.message);

    let mut s = settings(&emulator);
    s.access_key = Sensitive::new("wrong".into());
    let (crm, _) = adapter_with(s);
    let before = emulator.requests().len();
    let e = crm.check().await.unwrap_err();
    assert_eq!(e.kind, ErrorKind::Unauthorized);
    assert!(e.message.contains("access key"), "{}", e.message);
    // REST failed first: the gateway was never probed.
    assert!(
        !emulator
            .requests()
            .iter()
            .skip(before)
            .any(|r| r.surface == Surface::Gateway)
    );
}

#[tokio::test]
async fn demo_agents_are_discovered_by_office_phone() {
    let (emulator, ids) = demo().await;
    let crm = adapter(&emulator);
    let users = crm.discover_users().await.unwrap();
    assert_eq!(
        users,
        vec![
            CrmUser {
                extension: "201".into(),
                user_id: Some(ids.ana.clone()),
                name: Some("Ana García".into()),
                phone: Some("201".into()),
                email: None,
            },
            CrmUser {
                extension: "202".into(),
                user_id: Some(ids.bruno.clone()),
                name: Some("Bruno Díaz".into()),
                phone: Some("202".into()),
                email: None,
            },
        ]
    );
}

#[tokio::test]
async fn search_url_opens_lucias_record() {
    let (emulator, ids) = demo().await;
    let crm = adapter(&emulator);
    let number = NumberPlan::default().normalize("0647460197");
    let url = crm.search_url(&number).unwrap();
    assert_eq!(
        url,
        format!(
            "{}/modules/PhoneCalls/callbacks/Search.php?phone_number=34647460197",
            emulator.base_url()
        )
    );
    assert_eq!(crm.search_url(&PhoneNumber::Anonymous), None);

    let response = reqwest::get(&url).await.unwrap();
    let landed = response.url().to_string();
    let record = ids.lucia.split_once('x').unwrap().1;
    assert!(
        landed.contains(&format!("module=Contacts&view=Detail&record={record}")),
        "{landed}"
    );
    let page = response.text().await.unwrap();
    assert!(
        page.contains(&format!("data-id=\"{}\"", ids.lucia)),
        "{page}"
    );
    assert!(page.contains("Lucía Fernández"), "{page}");
}
