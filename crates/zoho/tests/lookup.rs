//! `callerdetails` against the emulator: number forms, re-verification,
//! open Potentials only, 204, anonymous callers.

mod common;

use chrono::NaiveDate;
use common::*;
use ringside_core::{ErrorKind, NumberPlan};
use ringside_crm::CrmProvider;
use ringside_zoho_emulator::{Fault, Scope};

#[tokio::test]
async fn lucia_is_found_from_every_form_of_her_number_with_open_deals_only() {
    let env = demo().await;
    let crm = adapter(&env);
    let plan = NumberPlan::default();
    for raw in ["+34647460197", "0647460197", "647460197"] {
        let matches = crm.lookup(&plan.variants(raw)).await.unwrap();
        assert_eq!(matches.len(), 1, "{raw}");
        let m = &matches[0];
        assert_eq!(m.contact.name, "Lucía Fernández");
        assert_eq!(m.contact.source.system, "zoho");
        assert_eq!(m.contact.source.id, env.ids.lucia);
        assert!(m.contact.source.url.is_some());
        assert_eq!(
            m.contact.company.as_ref().map(|c| c.name.as_str()),
            Some("Fernández Interiorismo SL")
        );
        assert_eq!(
            m.contact.email.as_deref(),
            Some("lucia@fernandez-interiorismo.test")
        );
        assert_eq!(m.contact.phones[0].raw, "647 46 01 97");
        assert_eq!(m.contact.phones[0].e164.as_deref(), Some("+34647460197"));
        let names: Vec<&str> = m.deals.iter().map(|d| d.name.as_str()).collect();
        assert_eq!(
            names,
            ["Reforma oficina Valencia", "Mobiliario sala de juntas"],
            "{raw}"
        );
        let d = &m.deals[0];
        assert_eq!(d.source.id, env.ids.lucia_potentials[0]);
        assert_eq!(d.stage, "Negotiation/Review");
        assert_eq!(d.amount.as_deref(), Some("18500.00"));
        assert_eq!(d.close_date, NaiveDate::from_ymd_opt(2026, 12, 15));
        assert!(d.open);
    }
    // Always asked by E.164, `+` encoded, on the api_domain.
    let asked: Vec<_> = env
        .emulator
        .requests()
        .into_iter()
        .filter(|r| r.path.ends_with("/callerdetails"))
        .collect();
    assert_eq!(asked.len(), 3);
    for r in asked {
        assert_eq!(r.path, "/eu/crm/v2/phonebridge/callerdetails");
        assert_eq!(r.method, "GET");
        assert!(
            r.query
                .iter()
                .any(|(k, v)| k == "phonenumber" && v == "+34647460197"),
            "{:?}",
            r.query
        );
    }
}

#[tokio::test]
async fn two_contacts_on_one_switchboard_number_both_match() {
    let env = demo().await;
    let crm = adapter(&env);
    let matches = crm
        .lookup(&NumberPlan::default().variants("+34933456789"))
        .await
        .unwrap();
    assert_eq!(matches.len(), 2);
}

#[tokio::test]
async fn nobody_is_204_and_empty_and_anonymous_sends_nothing() {
    let env = demo().await;
    let crm = adapter(&env);
    let plan = NumberPlan::default();
    assert!(
        crm.lookup(&plan.variants("+34600000000"))
            .await
            .unwrap()
            .is_empty()
    );
    let r = env.emulator.requests().pop().unwrap();
    assert_eq!(r.status, 204);
    let before = env.emulator.requests().len();
    assert!(
        crm.lookup(&plan.variants("anonymous"))
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(env.emulator.requests().len(), before);
}

#[tokio::test]
async fn a_rate_limited_lookup_holds_the_throttle() {
    let env = demo().await;
    let throttle = throttle();
    let crm = ringside_zoho::ZohoCrm::new(settings(&env), throttle.clone()).unwrap();
    crm.refresh_credentials().await.unwrap();
    env.emulator.inject(Fault::RateLimited {
        retry_after_secs: Some(7),
        times: 1,
        scope: Scope::PhoneBridge,
    });
    let e = crm
        .lookup(&NumberPlan::default().variants("647460197"))
        .await
        .unwrap_err();
    assert_eq!(e.kind, ErrorKind::RateLimited);
    assert_eq!(e.retry_after, Some(std::time::Duration::from_secs(7)));
    assert!(throttle.held_until().is_some());
}

#[tokio::test]
async fn a_server_error_is_unavailable() {
    let env = demo().await;
    let crm = adapter(&env);
    crm.refresh_credentials().await.unwrap();
    env.emulator.inject(Fault::ServerError {
        status: 500,
        times: 1,
        scope: Scope::PhoneBridge,
    });
    let e = crm
        .lookup(&NumberPlan::default().variants("647460197"))
        .await
        .unwrap_err();
    assert_eq!(e.kind, ErrorKind::Unavailable);
    assert!(e.message.contains("internal error"), "{}", e.message);
    env.emulator.set_down(true);
    let e = crm
        .lookup(&NumberPlan::default().variants("647460197"))
        .await
        .unwrap_err();
    assert_eq!(e.kind, ErrorKind::Unavailable);
}
