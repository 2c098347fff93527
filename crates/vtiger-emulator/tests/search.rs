//! Search by Number and the stand-in web UI.

mod common;

use common::{client, code, demo, status_json};
use ringside_vtiger_emulator::{SEARCH_PATH, Surface};

async fn search(base: &str, number: &str) -> reqwest::Response {
    client()
        .get(format!("{base}{SEARCH_PATH}"))
        .query(&[("phone_number", number)])
        .send()
        .await
        .unwrap()
}

fn location(response: &reqwest::Response) -> String {
    assert_eq!(response.status().as_u16(), 302);
    response.headers()["location"].to_str().unwrap().to_owned()
}

#[tokio::test]
async fn a_matching_number_redirects_to_the_record() {
    let (emulator, ids) = demo().await;
    let base = emulator.base_url();
    let lucia_n = ids.lucia.split_once('x').unwrap().1;
    for number in ["+34647460197", "647460197", "34 647 46 01 97"] {
        let response = search(&base, number).await;
        assert_eq!(
            location(&response),
            format!("/index.php?module=Contacts&view=Detail&record={lucia_n}"),
            "{number}"
        );
    }
    let pablo_n = ids.pablo_lead.split_once('x').unwrap().1;
    let response = search(&base, "+34676543210").await;
    assert_eq!(
        location(&response),
        format!("/index.php?module=Leads&view=Detail&record={pablo_n}")
    );

    // Following the redirect lands on a page naming the record.
    let page = reqwest::get(format!("{base}{SEARCH_PATH}?phone_number=%2B34647460197"))
        .await
        .unwrap();
    assert_eq!(page.status().as_u16(), 200);
    let html = page.text().await.unwrap();
    assert!(html.contains("Lucía Fernández"), "{html}");
    assert!(
        html.contains(&format!("data-id=\"{}\"", ids.lucia)),
        "{html}"
    );
    assert!(html.contains("data-view=\"Detail\""), "{html}");
}

#[tokio::test]
async fn an_account_phone_matches_too() {
    let (emulator, _) = demo().await;
    let id = emulator.add_account_with_phone("Centralita SA", Some("+34 963 00 11 22"));
    let response = search(&emulator.base_url(), "963001122").await;
    assert_eq!(
        location(&response),
        format!(
            "/index.php?module=Accounts&view=Detail&record={}",
            id.split_once('x').unwrap().1
        )
    );
}

#[tokio::test]
async fn no_match_redirects_to_a_new_contact() {
    let (emulator, _) = demo().await;
    let base = emulator.base_url();
    let response = search(&base, "+34600000000").await;
    assert_eq!(
        location(&response),
        "/index.php?module=Contacts&view=Edit&phone=%2B34600000000"
    );
    // Too few digits is no match either.
    let response = search(&base, "201").await;
    assert!(location(&response).contains("view=Edit"));

    let page = reqwest::get(format!("{base}{SEARCH_PATH}?phone_number=%2B34600000000"))
        .await
        .unwrap();
    let html = page.text().await.unwrap();
    assert!(html.contains("data-view=\"Edit\""), "{html}");
    assert!(html.contains("+34600000000"), "{html}");
}

#[tokio::test]
async fn the_phone_number_is_required() {
    let (emulator, _) = demo().await;
    let response = client()
        .get(format!("{}{SEARCH_PATH}", emulator.base_url()))
        .send()
        .await
        .unwrap();
    let (status, body) = status_json(response).await;
    assert_eq!(status, 400);
    assert_eq!(code(&body), "MANDATORY_FIELDS_MISSING");
    let requests = emulator.requests();
    assert_eq!(requests[0].surface, Surface::Search);
    assert_eq!(requests[0].status, 400);

    let missing = client()
        .get(format!(
            "{}/index.php?module=Contacts&view=Detail&record=999",
            emulator.base_url()
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status().as_u16(), 404);
}
