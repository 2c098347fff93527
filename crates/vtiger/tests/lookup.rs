//! Lookups by phone over REST, against the emulator.

mod common;

use chrono::NaiveDate;
use common::{adapter, adapter_with, demo, settings};
use ringside_core::{ErrorKind, NumberPlan, PhoneEntry};
use ringside_crm::CrmProvider;
use ringside_vtiger_emulator::{NewContact, NewPotential, Surface};

fn record_number(id: &str) -> &str {
    id.split_once('x').unwrap().1
}

#[tokio::test]
async fn lucia_is_found_from_every_form_of_her_number_with_her_open_deals() {
    let (emulator, ids) = demo().await;
    let crm = adapter(&emulator);
    let plan = NumberPlan::default();
    let base = emulator.base_url();
    for raw in ["+34647460197", "0647460197", "647460197"] {
        let matches = crm.lookup(&plan.variants(raw)).await.unwrap();
        assert_eq!(matches.len(), 1, "{raw}: {matches:?}");
        let m = &matches[0];
        let contact = &m.contact;
        assert_eq!(contact.name, "Lucía Fernández");
        assert_eq!(contact.source.system, "vtiger");
        assert_eq!(contact.source.id, ids.lucia);
        assert_eq!(
            contact.source.url.as_deref(),
            Some(
                format!(
                    "{base}/index.php?module=Contacts&view=Detail&record={}",
                    record_number(&ids.lucia)
                )
                .as_str()
            )
        );
        assert_eq!(
            contact.phones,
            vec![PhoneEntry {
                label: Some("mobile".into()),
                raw: "647 46 01 97".into(),
                e164: Some("+34647460197".into()),
            }]
        );
        assert_eq!(
            contact.email.as_deref(),
            Some("lucia@fernandez-interiorismo.test")
        );
        assert!(contact.updated_at.is_some());
        let company = contact.company.as_ref().unwrap();
        assert_eq!(company.name, "Fernández Interiorismo SL");
        assert_eq!(company.source.id, ids.fernandez_account);
        assert!(
            company
                .source
                .url
                .as_deref()
                .unwrap()
                .contains("module=Accounts&view=Detail")
        );

        // Only the two open Potentials; "Proyecto piloto" is Closed Won.
        let names: Vec<&str> = m.deals.iter().map(|d| d.name.as_str()).collect();
        assert_eq!(
            names,
            ["Reforma oficina Valencia", "Mobiliario sala de juntas"]
        );
        let reforma = &m.deals[0];
        assert_eq!(reforma.source.id, ids.lucia_potentials[0]);
        assert_eq!(
            reforma.source.url.as_deref(),
            Some(
                format!(
                    "{base}/index.php?module=Potentials&view=Detail&record={}",
                    record_number(&ids.lucia_potentials[0])
                )
                .as_str()
            )
        );
        assert_eq!(reforma.stage, "Negotiation or Review");
        assert_eq!(reforma.amount.as_deref(), Some("18500.00"));
        assert_eq!(reforma.currency.as_deref(), Some("EUR"));
        assert_eq!(reforma.close_date, NaiveDate::from_ymd_opt(2026, 12, 15));
        let mobiliario = &m.deals[1];
        assert_eq!(mobiliario.stage, "Prospecting");
        assert_eq!(mobiliario.amount.as_deref(), Some("7200.00"));
        assert_eq!(mobiliario.close_date, NaiveDate::from_ymd_opt(2027, 1, 31));
        assert!(m.deals.iter().all(|d| d.open));
    }
    // Each lookup: one lookup, one retrieve (organization), one Potentials page.
    let rest: Vec<_> = emulator
        .requests()
        .into_iter()
        .filter(|r| r.surface == Surface::Rest)
        .collect();
    assert_eq!(rest.len(), 9);
    let lookup = &rest[0];
    assert_eq!(lookup.path, "/restapi/v1/vtiger/default/lookup");
    assert_eq!(lookup.param("type"), Some("phone"));
    assert_eq!(lookup.param("value"), Some("647460197"));
    assert_eq!(
        lookup.param("searchIn"),
        Some(
            r#"{"Contacts":["phone","mobile","homephone","otherphone"],"Leads":["phone","mobile"]}"#
        )
    );
    assert!(rest.iter().all(|r| r.status == 200));
}

#[tokio::test]
async fn a_custom_closed_stage_list_is_respected() {
    let (emulator, _) = demo().await;
    let mut s = settings(&emulator);
    s.closed_stages = vec!["Closed Won".into(), "Prospecting".into()];
    let (crm, _) = adapter_with(s);
    let matches = crm
        .lookup(&NumberPlan::default().variants("+34647460197"))
        .await
        .unwrap();
    let names: Vec<&str> = matches[0].deals.iter().map(|d| d.name.as_str()).collect();
    assert_eq!(names, ["Reforma oficina Valencia"]);
}

#[tokio::test]
async fn a_hit_that_fails_reverification_is_dropped() {
    let (emulator, ids) = demo().await;
    // Vtiger's loose matching finds this one for 647460197 (digit suffix).
    let ghost = emulator.add_contact(NewContact {
        firstname: "Ghost".into(),
        lastname: "Suffix".into(),
        phone: Some("46 01 97".into()),
        ..NewContact::default()
    });
    let crm = adapter(&emulator);
    let matches = crm
        .lookup(&NumberPlan::default().variants("+34647460197"))
        .await
        .unwrap();
    let found: Vec<&str> = matches
        .iter()
        .map(|m| m.contact.source.id.as_str())
        .collect();
    assert_eq!(found, [ids.lucia.as_str()]);

    // The emulator really did return the ghost: it was dropped by us.
    let config = emulator.config();
    let raw: serde_json::Value = reqwest::Client::new()
        .get(format!(
            "{}/restapi/v1/vtiger/default/lookup",
            emulator.base_url()
        ))
        .basic_auth(&config.username, Some(&config.access_key))
        .query(&[
            ("type", "phone"),
            ("value", "647460197"),
            ("searchIn", r#"{"Contacts":["phone","mobile"]}"#),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let returned: Vec<&str> = raw["result"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap())
        .collect();
    assert!(returned.contains(&ghost.as_str()), "{raw}");
}

#[tokio::test]
async fn a_lead_comes_back_with_its_company_and_no_deals() {
    let (emulator, ids) = demo().await;
    let crm = adapter(&emulator);
    let matches = crm
        .lookup(&NumberPlan::default().variants("+34 676 54 32 10"))
        .await
        .unwrap();
    assert_eq!(matches.len(), 1);
    let m = &matches[0];
    assert_eq!(m.contact.name, "Pablo Navarro");
    assert_eq!(m.contact.source.id, ids.pablo_lead);
    assert!(
        m.contact
            .source
            .url
            .as_deref()
            .unwrap()
            .contains("module=Leads&view=Detail")
    );
    assert_eq!(
        m.contact.company.as_ref().map(|c| c.name.as_str()),
        Some("Navarro Reformas")
    );
    assert!(m.deals.is_empty());
    // No Potentials query for a lead.
    assert!(
        !emulator
            .requests()
            .iter()
            .any(|r| r.param("query").is_some_and(|q| q.contains("Potentials")))
    );
}

#[tokio::test]
async fn a_contact_without_organization_and_a_shared_number() {
    let (emulator, ids) = demo().await;
    let crm = adapter(&emulator);
    let plan = NumberPlan::default();
    let javier = crm.lookup(&plan.variants("0911234567")).await.unwrap();
    assert_eq!(javier.len(), 1);
    assert_eq!(javier[0].contact.source.id, ids.javier);
    assert_eq!(javier[0].contact.company, None);
    assert_eq!(javier[0].deals.len(), 1);
    assert_eq!(javier[0].deals[0].source.id, ids.javier_potential);
    assert_eq!(javier[0].deals[0].stage, "Proposal or Price Quote");

    let clinic = crm.lookup(&plan.variants("+34933456789")).await.unwrap();
    let mut found: Vec<&str> = clinic
        .iter()
        .map(|m| m.contact.source.id.as_str())
        .collect();
    found.sort();
    let mut want: Vec<&str> = ids.clinica.iter().map(String::as_str).collect();
    want.sort();
    assert_eq!(found, want);
}

#[tokio::test]
async fn deals_are_paged_past_one_hundred() {
    let (emulator, _) = demo().await;
    let contact = emulator.add_contact(NewContact {
        firstname: "Big".into(),
        lastname: "Buyer".into(),
        phone: Some("+34 622 000 111".into()),
        ..NewContact::default()
    });
    for i in 0..130 {
        emulator.add_potential(NewPotential {
            potentialname: format!("Deal {i}"),
            contact_id: Some(contact.clone()),
            sales_stage: if i % 10 == 0 {
                "Closed Lost"
            } else {
                "Qualification"
            }
            .into(),
            amount: Some(format!("{i}.50")),
            currency: Some("EUR".into()),
            closingdate: Some("2026-11-30".into()),
            ..NewPotential::default()
        });
    }
    let crm = adapter(&emulator);
    let matches = crm
        .lookup(&NumberPlan::default().variants("622000111"))
        .await
        .unwrap();
    assert_eq!(matches.len(), 1);
    assert_eq!(matches[0].deals.len(), 117);
    assert!(matches[0].deals.iter().all(|d| d.stage == "Qualification"));
    let pages: Vec<String> = emulator
        .requests()
        .iter()
        .filter_map(|r| r.param("query").map(str::to_owned))
        .filter(|q| q.contains("FROM Potentials"))
        .collect();
    assert_eq!(pages.len(), 2, "{pages:?}");
    assert!(pages[0].ends_with("LIMIT 0,100;"), "{}", pages[0]);
    assert!(pages[1].ends_with("LIMIT 100,100;"), "{}", pages[1]);
}

#[tokio::test]
async fn no_match_is_empty_and_anonymous_sends_nothing() {
    let (emulator, _) = demo().await;
    let crm = adapter(&emulator);
    let plan = NumberPlan::default();
    assert!(
        crm.lookup(&plan.variants("+34 611 22 33 44"))
            .await
            .unwrap()
            .is_empty()
    );
    let before = emulator.requests().len();
    assert_eq!(before, 1);
    assert!(
        crm.lookup(&plan.variants("anonymous"))
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(emulator.requests().len(), before);
}

#[tokio::test]
async fn a_revoked_access_key_is_unauthorized() {
    let (emulator, _) = demo().await;
    let crm = adapter(&emulator);
    emulator.revoke_access_key(None);
    let e = crm
        .lookup(&NumberPlan::default().variants("+34647460197"))
        .await
        .unwrap_err();
    assert_eq!(e.kind, ErrorKind::Unauthorized);
    assert!(
        e.message.contains("username or access key"),
        "{}",
        e.message
    );
    assert!(!e.message.contains("vt-access-key"), "{}", e.message);
}

#[tokio::test]
async fn flood_control_holds_the_throttle_then_rate_limits() {
    let (emulator, _) = demo().await;
    emulator.set_flood_control(8);
    let plan = NumberPlan::default();
    let nobody = plan.variants("+34 611 22 33 44");

    // Remaining 7, 6: no hold. Remaining 5: hold until the window resets.
    let (crm, throttle) = adapter_with(settings(&emulator));
    crm.lookup(&nobody).await.unwrap();
    crm.lookup(&nobody).await.unwrap();
    assert_eq!(throttle.held_until(), None);
    crm.lookup(&nobody).await.unwrap();
    let held = throttle.held_until().expect("held at remaining 5");
    let wait = held - tokio::time::Instant::now();
    assert!(
        wait > std::time::Duration::from_secs(50) && wait <= std::time::Duration::from_secs(60),
        "{wait:?}"
    );

    // Other clients (fresh throttles) use up the window: then 429.
    for _ in 0..5 {
        adapter(&emulator).lookup(&nobody).await.unwrap();
    }
    let e = adapter(&emulator).lookup(&nobody).await.unwrap_err();
    assert_eq!(e.kind, ErrorKind::RateLimited);
    let after = e.retry_after.expect("retry_after from Retry-After");
    assert!(
        after > std::time::Duration::ZERO && after <= std::time::Duration::from_secs(60),
        "{after:?}"
    );
    assert_eq!(emulator.requests().last().unwrap().status, 429);
}
