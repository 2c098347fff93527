//! `/api/v1/contacts`: search-as-you-type over the demo address book and
//! creating a contact, with their validation.

mod common;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use common::*;
use ringside_core::Contact;
use ringside_hub::{AppState, app};
use serde_json::{Value, json};

fn names(json: &Value) -> Vec<String> {
    let contacts: Vec<Contact> = serde_json::from_value(json.clone()).unwrap();
    contacts.into_iter().map(|c| c.name).collect()
}

#[tokio::test]
async fn search_lists_finds_and_limits() {
    let hub = TestHub::new().await;
    // (query string, expected names: a prefix of the answer when `exact` is false)
    let cases: &[(&str, &[&str], bool)] = &[
        (
            "",
            &["Andrés Gómez", "Carmen Ruiz", "Dra. Marta Puig"],
            false,
        ),
        ("?limit=2", &["Andrés Gómez", "Carmen Ruiz"], true),
        ("?q=lucia", &["Lucía Fernández"], true),
        ("?q=LUCÍA%20fern", &["Lucía Fernández"], true),
        ("?q=647%20460", &["Lucía Fernández"], true),
        ("?q=%2B34%20647%2046%2001%2097", &["Lucía Fernández"], true),
        ("?q=nobody-has-this-name", &[], true),
        ("?q=&limit=200", &["Andrés Gómez"], false),
    ];
    for (query, expected, exact) in cases {
        let (status, json) = hub
            .api("GET", &format!("/api/v1/contacts{query}"), TOKEN_203, None)
            .await;
        assert_eq!(status, StatusCode::OK, "{query}: {json}");
        let got = names(&json);
        if *exact {
            assert_eq!(got, *expected, "{query}");
        } else {
            assert!(
                got.starts_with(&expected.iter().map(|s| s.to_string()).collect::<Vec<_>>()),
                "{query}: {got:?}"
            );
        }
    }
    let (_, all) = hub.api("GET", "/api/v1/contacts", TOKEN_203, None).await;
    assert_eq!(all.as_array().unwrap().len(), 13, "the whole demo book");
    let lucia = &hub
        .api("GET", "/api/v1/contacts?q=lucia", TOKEN_203, None)
        .await
        .1[0];
    assert_eq!(lucia["source"]["system"], "local");
    assert_eq!(lucia["company"]["name"], "Mar Azul Hoteles S.L.");

    for query in ["?limit=0", "?limit=201", "?limit=x", "?nope=1"] {
        let (status, json) = hub
            .api("GET", &format!("/api/v1/contacts{query}"), TOKEN_203, None)
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{query}: {json}");
        assert_error(&json, "invalid");
    }
    let long = "a".repeat(201);
    let (status, json) = hub
        .api(
            "GET",
            &format!("/api/v1/contacts?q={long}"),
            TOKEN_203,
            None,
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{json}");
}

#[tokio::test]
async fn create_stores_a_contact_that_search_and_lookup_find() {
    let hub = TestHub::new().await;
    let body = json!({
        "name": "Irene Campos",
        "company": "Campos Abogados",
        "phones": [{"label": "mobile", "number": "612 34 56 78"}],
        "email": "irene@campos.example",
        "notes": "met at the fair"
    });
    let (status, json) = hub
        .api("POST", "/api/v1/contacts", TOKEN_203, Some(body))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{json}");
    let created: Contact = serde_json::from_value(json).unwrap();
    assert_eq!(created.name, "Irene Campos");
    assert_eq!(created.phones[0].e164.as_deref(), Some("+34612345678"));
    assert_eq!(created.company.as_ref().unwrap().name, "Campos Abogados");

    let (_, found) = hub
        .api("GET", "/api/v1/contacts?q=irene", TOKEN_203, None)
        .await;
    assert_eq!(names(&found), ["Irene Campos"]);
    let (status, info) = hub
        .api(
            "GET",
            "/api/v1/lookup?number=%2B34612345678",
            TOKEN_203,
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{info}");
    assert_eq!(
        info["lookup"]["matches"][0]["contact"]["name"],
        "Irene Campos"
    );

    // Validation: each answered with a JSON `invalid`, nothing stored: 400
    // for a contact the address book refuses, 422 for a body of the wrong
    // shape (as on every JSON route).
    let invalid = [
        (
            json!({"name": "", "phones": [{"number": "612345678"}]}),
            400,
        ),
        (json!({"name": "No Way To Reach"}), 400),
        (
            json!({"name": "Bad Phone", "phones": [{"number": "call me"}]}),
            400,
        ),
        (json!({"name": "Typo", "phone": "612345678"}), 422),
        (json!({"phones": [{"number": "612345678"}]}), 422),
    ];
    for (body, expected) in invalid {
        let (status, json) = hub
            .api("POST", "/api/v1/contacts", TOKEN_203, Some(body.clone()))
            .await;
        assert_eq!(status.as_u16(), expected, "{body}: {json}");
        assert_error(&json, "invalid");
    }
    let req = Request::post("/api/v1/contacts")
        .header("authorization", format!("Bearer {TOKEN_203}"))
        .header("content-type", "text/plain")
        .body(Body::from("name=x"))
        .unwrap();
    let (status, json) = send(hub.app(), req).await;
    assert_eq!(status, StatusCode::UNSUPPORTED_MEDIA_TYPE, "{json}");
    assert_error(&json, "unsupported_media_type");
    let (_, all) = hub.api("GET", "/api/v1/contacts", TOKEN_203, None).await;
    assert_eq!(all.as_array().unwrap().len(), 14);
}

#[tokio::test]
async fn a_hub_without_an_address_book_says_so() {
    let hub = TestHub::new().await;
    let bare = AppState::new(
        hub.state.engine.clone(),
        (*hub.state.webhook).clone(),
        (*hub.state.agents).clone(),
        hub.state.limits,
    )
    .unwrap();
    let req = Request::get("/api/v1/contacts")
        .header("authorization", format!("Bearer {TOKEN_203}"))
        .body(Body::empty())
        .unwrap();
    let (status, json) = send(
        app(bare).layer(axum::extract::connect_info::MockConnectInfo(
            ringside_hub::server::PeerAddr(([127, 0, 0, 1], 1).into()),
        )),
        req,
    )
    .await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR, "{json}");
    assert_error(&json, "config");
}
