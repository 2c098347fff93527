//! Lookup against the emulator's demo account.

mod common;

use common::*;
use ringside_core::NumberPlan;
use ringside_crm::CrmProvider;

fn contact_queries(env: &Env) -> Vec<String> {
    env.emulator
        .requests()
        .into_iter()
        .filter(|r| r.path == "/api/v4/contacts" && r.method == "GET")
        .filter_map(|r| r.param("query").map(str::to_string))
        .collect()
}

#[tokio::test]
async fn lucia_is_found_from_every_form_with_her_open_leads() {
    let env = demo().await;
    let crm = adapter(long_lived(&env));
    let plan = NumberPlan::default();
    for raw in ["+34647460197", "0647460197", "647460197"] {
        let found = crm.lookup(&plan.variants(raw)).await.unwrap();
        assert_eq!(found.len(), 1, "{raw}: {found:?}");
        let m = &found[0];
        assert_eq!(m.contact.name, "Lucía Fernández");
        assert_eq!(m.contact.source.system, "amocrm");
        assert_eq!(
            m.contact.source.url.as_deref().unwrap(),
            format!(
                "{}/contacts/detail/{}",
                env.emulator.base_url(),
                m.contact.source.id
            )
        );
        assert_eq!(m.contact.phones[0].raw, "647 46 01 97");
        assert_eq!(m.contact.phones[0].e164.as_deref(), Some("+34647460197"));
        let mut names: Vec<&str> = m.deals.iter().map(|d| d.name.as_str()).collect();
        names.sort_unstable();
        assert_eq!(
            names,
            vec!["Mobiliario sala de juntas", "Reforma oficina Valencia"]
        );
        for d in &m.deals {
            assert!(d.open);
            assert_eq!(d.currency.as_deref(), Some("EUR"));
            assert!(
                !d.stage.is_empty() && d.stage.parse::<u64>().is_err(),
                "{}",
                d.stage
            );
            assert_eq!(
                d.source.url.as_deref().unwrap(),
                format!("{}/leads/detail/{}", env.emulator.base_url(), d.source.id)
            );
        }
    }
    assert_eq!(contact_queries(&env), vec!["647460197"; 3]);
    // Pipelines and the account are read once, leads once per lookup.
    let count = |p: &str| {
        env.emulator
            .requests()
            .iter()
            .filter(|r| r.path == p)
            .count()
    };
    assert_eq!(count("/api/v4/leads/pipelines"), 1);
    assert_eq!(count("/api/v4/account"), 1);
    assert_eq!(count("/api/v4/leads"), 3);
}

#[tokio::test]
async fn a_note_mentioning_the_number_is_not_a_match() {
    let env = demo().await;
    let crm = adapter(long_lived(&env));
    let found = crm
        .lookup(&NumberPlan::default().variants("+34647460197"))
        .await
        .unwrap();
    assert!(found.iter().all(|m| m.contact.name != "Marco Vidal"));
    // amo's query did return Marco (any field): re-verification dropped him.
    let answered_marco = env
        .emulator
        .requests()
        .iter()
        .any(|r| r.path == "/api/v4/contacts" && r.status == 200);
    assert!(answered_marco);
}

#[tokio::test]
async fn no_match_is_empty_and_anonymous_asks_nothing() {
    let env = demo().await;
    let crm = adapter(long_lived(&env));
    let plan = NumberPlan::default();
    let found = crm.lookup(&plan.variants("+34911222333")).await.unwrap();
    assert!(found.is_empty());
    assert!(
        env.emulator
            .requests()
            .iter()
            .filter(|r| r.path == "/api/v4/contacts")
            .all(|r| r.status == 204)
    );
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
async fn a_russian_number_typed_with_spaces_is_found() {
    let env = demo().await;
    let crm = adapter(long_lived(&env));
    let found = crm
        .lookup(&NumberPlan::default().variants("+79995551122"))
        .await
        .unwrap();
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0].contact.name, "Elena Ruiz");
    assert_eq!(found[0].contact.phones[0].raw, "+7 999 555 11 22");
}

#[tokio::test]
async fn users_are_discovered_by_email() {
    let env = demo().await;
    let crm = adapter(long_lived(&env));
    let users = crm.discover_users().await.unwrap();
    assert_eq!(users.len(), 3);
    assert!(
        users
            .iter()
            .all(|u| u.extension.is_empty() && u.user_id.is_some() && u.email.is_some())
    );
}
