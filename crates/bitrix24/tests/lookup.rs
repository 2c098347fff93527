//! Caller lookup against the emulator: findbycomm, re-verification, open
//! deals over pages, leads, users.

mod common;

use common::*;
use ringside_core::NumberPlan;
use ringside_crm::CrmProvider;

#[tokio::test]
async fn lucia_is_found_from_every_form_of_her_number_with_only_open_deals() {
    let env = demo().await;
    let crm = oauth_adapter(&env);
    let plan = NumberPlan::default();
    for raw in ["+34647460197", "0647460197", "647460197"] {
        let matches = crm.lookup(&plan.variants(raw)).await.unwrap();
        assert_eq!(matches.len(), 1, "{raw}: {matches:?}");
        let m = &matches[0];
        assert_eq!(m.contact.name, "Lucía Fernández", "{raw}");
        assert_eq!(m.contact.source.system, "bitrix24");
        let id = &m.contact.source.id;
        assert_eq!(
            m.contact.source.url.as_deref(),
            Some(format!("{}/crm/contact/details/{id}/", env.emulator.base_url()).as_str())
        );
        assert_eq!(m.contact.phones[0].e164.as_deref(), Some("+34647460197"));
        assert_eq!(m.deals.len(), 2, "{raw}: {:?}", m.deals);
        for d in &m.deals {
            assert!(d.open);
            assert!(!d.name.is_empty());
            assert!(!d.stage.is_empty());
            assert_ne!(d.stage, "WON");
            assert_eq!(
                d.source.url.as_deref(),
                Some(
                    format!(
                        "{}/crm/deal/details/{}/",
                        env.emulator.base_url(),
                        d.source.id
                    )
                    .as_str()
                )
            );
        }
    }
    let finds: Vec<_> = applied(&env, "crm.duplicate.findbycomm");
    assert_eq!(param(&finds[0], "TYPE"), Some("PHONE"));
    assert_eq!(param(&finds[0], "ENTITY_TYPE"), Some("CONTACT"));
    let lists = applied(&env, "crm.deal.list");
    assert_eq!(param(&lists[0], "filter[CLOSED]"), Some("N"));
}

#[tokio::test]
async fn unknown_numbers_find_nothing() {
    let env = demo().await;
    let crm = oauth_adapter(&env);
    let plan = NumberPlan::default();
    let matches = crm.lookup(&plan.variants("+34600000001")).await.unwrap();
    assert!(matches.is_empty());
    // The portal answered `[]` for both types; nothing else was read.
    let methods: Vec<String> = env
        .emulator
        .method_calls()
        .into_iter()
        .map(|m| m.method)
        .collect();
    assert_eq!(
        methods,
        vec!["crm.duplicate.findbycomm", "crm.duplicate.findbycomm"]
    );
    // Anonymous and internal numbers make no request at all.
    let before = env.emulator.requests().len();
    assert!(
        crm.lookup(&plan.variants("anonymous"))
            .await
            .unwrap()
            .is_empty()
    );
    assert!(crm.lookup(&plan.variants("203")).await.unwrap().is_empty());
    assert_eq!(env.emulator.requests().len(), before);
}

#[tokio::test]
async fn sixty_open_deals_are_read_over_two_pages() {
    let env = demo().await;
    let crm = oauth_adapter(&env);
    let plan = NumberPlan::default();
    let matches = crm.lookup(&plan.variants("+34911000000")).await.unwrap();
    let m = matches
        .iter()
        .find(|m| m.deals.len() == 60)
        .unwrap_or_else(|| panic!("{matches:#?}"));
    assert_eq!(m.contact.name, "Grupo Norte");
    assert_eq!(m.contact.source.id, env.ids.grupo_norte.to_string());
    let pages = applied(&env, "crm.deal.list");
    assert_eq!(pages.len(), 2);
    assert_eq!(param(&pages[0], "start"), Some("0"));
    assert_eq!(param(&pages[1], "start"), Some("50"));
}

#[tokio::test]
async fn a_lead_created_at_register_shows_in_the_pop() {
    let env = demo().await;
    let crm = oauth_adapter(&env);
    let mut c = call("c-new", ringside_core::Direction::Inbound);
    c.remote_number = "+34622111222".into();
    let sent = crm
        .deliver(&op(ringside_crm::OpKind::Ring, &c, Some(ana(&env))))
        .await
        .unwrap()
        .sent;
    let lead = sent["CRM_CREATED_LEAD"].clone();
    assert!(!lead.is_null(), "{sent}");
    let matches = crm
        .lookup(&NumberPlan::default().variants("+34622111222"))
        .await
        .unwrap();
    assert_eq!(matches.len(), 1, "{matches:?}");
    let l = &matches[0];
    let id = lead
        .as_u64()
        .map(|n| n.to_string())
        .or_else(|| lead.as_str().map(str::to_string))
        .unwrap();
    assert_eq!(l.contact.source.id, format!("lead:{id}"));
    assert_eq!(
        l.contact.source.url.as_deref(),
        Some(format!("{}/crm/lead/details/{id}/", env.emulator.base_url()).as_str())
    );
    assert!(l.deals.is_empty());
}

#[tokio::test]
async fn webhook_lookup_works() {
    let env = demo().await;
    let crm = adapter(webhook(&env));
    let matches = crm
        .lookup(&NumberPlan::default().variants("+34647460197"))
        .await
        .unwrap();
    assert_eq!(matches.len(), 1);
    assert_eq!(matches[0].deals.len(), 2);
    assert!(
        env.emulator
            .method_calls()
            .iter()
            .all(|m| m.auth == ringside_bitrix24_emulator::AuthKind::Webhook)
    );
}

#[tokio::test]
async fn discover_users_maps_inner_phones() {
    let env = demo().await;
    let crm = adapter(webhook(&env));
    let users = crm.discover_users().await.unwrap();
    for (ext, id, name) in [
        ("201", env.ids.ana, "Ana"),
        ("202", env.ids.bruno, "Bruno"),
        ("203", env.ids.tony, "Tony"),
    ] {
        let u = users
            .iter()
            .find(|u| u.extension == ext)
            .unwrap_or_else(|| panic!("{ext}: {users:?}"));
        assert_eq!(u.user_id.as_deref(), Some(id.to_string().as_str()));
        assert!(u.name.as_deref().unwrap().starts_with(name), "{u:?}");
    }
    let by_inner = crm.users_by_inner_phone().await.unwrap();
    assert_eq!(
        by_inner["202"].user_id.as_deref(),
        Some(env.ids.bruno.to_string().as_str())
    );
    assert!(!by_inner.contains_key(""));
}
