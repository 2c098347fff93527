//! The REST API over real HTTP: auth, flood control, me, lookup, VTQL,
//! retrieve and listtypes.

mod common;

use common::{client, code, column, demo, query_ok, rest, rest_json, status_json};
use ringside_vtiger_emulator::{NewContact, Surface};
use serde_json::Value;

const PHONE_SEARCH: &str = r#"{"Contacts":["phone","mobile"],"Leads":["phone","mobile"]}"#;

async fn lookup_phone(
    emulator: &ringside_vtiger_emulator::VtigerEmulator,
    value: &str,
) -> Vec<Value> {
    let (status, body) = rest_json(
        emulator,
        "lookup",
        &[
            ("type", "phone"),
            ("value", value),
            ("searchIn", PHONE_SEARCH),
        ],
    )
    .await;
    assert_eq!(status, 200, "{body}");
    body["result"].as_array().unwrap().clone()
}

#[tokio::test]
async fn basic_auth_is_required() {
    let (emulator, _) = demo().await;
    let url = format!("{}/me", emulator.rest_url());
    let cases = [
        client().get(&url),
        client()
            .get(&url)
            .basic_auth("admin@ringside.test", Some("wrong")),
        client()
            .get(&url)
            .basic_auth("someone@else.test", Some("vt-access-key-0001")),
        client().get(&url).bearer_auth("vt-access-key-0001"),
    ];
    for request in cases {
        let response = request.send().await.unwrap();
        assert!(response.headers().contains_key("x-floodcontrol-remaining"));
        let (status, body) = status_json(response).await;
        assert_eq!(status, 401);
        assert_eq!(code(&body), "INVALID_AUTH");
        assert_eq!(body["error"]["message"], "Invalid username or access key");
    }
    let (status, body) = rest_json(&emulator, "me", &[]).await;
    assert_eq!(status, 200);
    assert_eq!(body["success"], true);
    assert_eq!(body["result"]["id"], "19x1");
    assert_eq!(body["result"]["user_name"], "admin@ringside.test");
    assert_eq!(body["result"]["email1"], "admin@ringside.test");
    assert!(body["result"]["first_name"].is_string());
    assert!(body["result"]["last_name"].is_string());

    let requests = emulator.requests();
    assert!(requests.iter().all(|r| r.surface == Surface::Rest));
    assert!(!requests[0].has_authorization());
    assert!(requests[1].has_authorization());
    assert_eq!(requests.last().unwrap().status, 200);

    let post = client()
        .post(&url)
        .basic_auth("admin@ringside.test", Some("vt-access-key-0001"))
        .send()
        .await
        .unwrap();
    let (status, body) = status_json(post).await;
    assert_eq!(status, 405);
    assert_eq!(code(&body), "METHOD_NOT_ALLOWED");
}

#[tokio::test]
async fn revoked_access_keys_stop_working() {
    let (emulator, _) = demo().await;
    let old = emulator.config();
    emulator.revoke_access_key(Some("vt-access-key-0002".to_owned()));
    assert_eq!(emulator.config().access_key, "vt-access-key-0002");
    let response = client()
        .get(format!("{}/me", emulator.rest_url()))
        .basic_auth(&old.username, Some(&old.access_key))
        .send()
        .await
        .unwrap();
    let (status, body) = status_json(response).await;
    assert_eq!(status, 401);
    assert_eq!(code(&body), "INVALID_AUTH");
    let (status, _) = rest_json(&emulator, "me", &[]).await;
    assert_eq!(status, 200, "the new key works");

    emulator.revoke_access_key(None);
    assert_eq!(emulator.config().access_key, "");
    for key in ["", "vt-access-key-0002", "vt-access-key-0001"] {
        let response = client()
            .get(format!("{}/me", emulator.rest_url()))
            .basic_auth(&old.username, Some(key))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), 401, "{key}");
    }
}

#[tokio::test]
async fn flood_control_headers_and_429_over_the_limit() {
    let (emulator, _) = demo().await;
    emulator.set_flood_control(3);
    let mut remaining = Vec::new();
    for _ in 0..3 {
        let response = rest(&emulator, "listtypes", &[]).await;
        assert_eq!(response.status().as_u16(), 200);
        let headers = response.headers();
        assert_eq!(headers["x-floodcontrol-limit"], "3");
        let reset: u64 = headers["x-floodcontrol-reset"]
            .to_str()
            .unwrap()
            .parse()
            .unwrap();
        assert!((1..=60).contains(&reset), "{reset}");
        remaining.push(
            headers["x-floodcontrol-remaining"]
                .to_str()
                .unwrap()
                .to_owned(),
        );
    }
    assert_eq!(remaining, ["2", "1", "0"]);

    let response = rest(&emulator, "listtypes", &[]).await;
    assert_eq!(response.status().as_u16(), 429);
    let retry_after: u64 = response.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&retry_after), "{retry_after}");
    assert_eq!(response.headers()["x-floodcontrol-remaining"], "0");
    let (_, body) = status_json(response).await;
    assert_eq!(code(&body), "RATE_LIMIT_EXCEEDED");

    // Raising the limit lets requests through again; the window is kept.
    emulator.set_flood_control(5);
    let response = rest(&emulator, "listtypes", &[]).await;
    assert_eq!(response.status().as_u16(), 200);
    assert_eq!(response.headers()["x-floodcontrol-remaining"], "1");
    assert_eq!(emulator.config().flood_limit_per_minute, 5);
}

#[tokio::test]
async fn lookup_matches_phone_digits_whatever_the_format() {
    let (emulator, ids) = demo().await;
    for value in [
        "+34647460197",
        "647460197",
        "0034 647 46 01 97",
        "647-46-01-97",
        "460197",
    ] {
        let rows = lookup_phone(&emulator, value).await;
        assert_eq!(column(&rows, "id"), [ids.lucia.as_str()], "{value}");
        assert_eq!(rows[0]["mobile"], "647 46 01 97", "stored as typed");
        assert_eq!(rows[0]["firstname"], "Lucía");
        assert_eq!(rows[0]["account_id"], ids.fernandez_account.as_str());
    }
    // Fewer than 6 digits on the shorter side never matches.
    assert!(lookup_phone(&emulator, "60197").await.is_empty());
    assert!(lookup_phone(&emulator, "+34 600 000 000").await.is_empty());

    let rows = lookup_phone(&emulator, "+34911234567").await;
    assert_eq!(column(&rows, "id"), [ids.javier.as_str()]);
    let rows = lookup_phone(&emulator, "+34 676 543 210").await;
    assert_eq!(column(&rows, "id"), [ids.pablo_lead.as_str()]);
    assert!(rows[0]["id"].as_str().unwrap().starts_with("10x"));
    let rows = lookup_phone(&emulator, "933456789").await;
    assert_eq!(column(&rows, "id"), ids.clinica);

    // Only the fields in searchIn are searched.
    let (_, body) = rest_json(
        &emulator,
        "lookup",
        &[
            ("type", "phone"),
            ("value", "647460197"),
            ("searchIn", r#"{"Contacts":["phone"]}"#),
        ],
    )
    .await;
    assert_eq!(body["result"], serde_json::json!([]));

    let (status, body) = rest_json(
        &emulator,
        "lookup",
        &[
            ("type", "email"),
            ("value", "LUCIA@fernandez-interiorismo.test"),
            ("searchIn", r#"{"Contacts":["email"]}"#),
        ],
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(
        column(body["result"].as_array().unwrap(), "id"),
        [ids.lucia.as_str()]
    );
}

#[tokio::test]
async fn lookup_refuses_bad_parameters() {
    let (emulator, _) = demo().await;
    let cases: &[(&[(&str, &str)], &str)] = &[
        (
            &[("type", "name"), ("value", "x"), ("searchIn", PHONE_SEARCH)],
            "INVALID_PARAMETER",
        ),
        (
            &[("value", "647460197"), ("searchIn", PHONE_SEARCH)],
            "MANDATORY_FIELDS_MISSING",
        ),
        (
            &[("type", "phone"), ("searchIn", PHONE_SEARCH)],
            "MANDATORY_FIELDS_MISSING",
        ),
        (
            &[("type", "phone"), ("value", "647460197")],
            "MANDATORY_FIELDS_MISSING",
        ),
        (
            &[
                ("type", "phone"),
                ("value", "647460197"),
                ("searchIn", "Contacts"),
            ],
            "INVALID_PARAMETER",
        ),
        (
            &[
                ("type", "phone"),
                ("value", "647460197"),
                ("searchIn", r#"["Contacts"]"#),
            ],
            "INVALID_PARAMETER",
        ),
        (
            &[
                ("type", "phone"),
                ("value", "647460197"),
                ("searchIn", r#"{"Contacts":"phone"}"#),
            ],
            "INVALID_PARAMETER",
        ),
        (
            &[
                ("type", "phone"),
                ("value", "647460197"),
                ("searchIn", r#"{"Vendors":["phone"]}"#),
            ],
            "INVALID_MODULE",
        ),
        (
            &[
                ("type", "phone"),
                ("value", "647460197"),
                ("searchIn", r#"{"Contacts":["fax"]}"#),
            ],
            "INVALID_PARAMETER",
        ),
    ];
    for (params, expected) in cases {
        let (status, body) = rest_json(&emulator, "lookup", params).await;
        assert_eq!(status, 400, "{params:?}");
        assert_eq!(code(&body), *expected, "{params:?}");
    }
}

#[tokio::test]
async fn vtql_filters_orders_and_limits() {
    let (emulator, ids) = demo().await;
    let rows = query_ok(
        &emulator,
        "SELECT * FROM Contacts WHERE lastname = 'ortega';",
    )
    .await;
    assert_eq!(column(&rows, "id"), [ids.javier.as_str()]);
    assert_eq!(rows[0]["phone"], "+34 91 123 45 67");

    let rows = query_ok(&emulator, "select id, firstname from Contacts where mobile like '%46 01 97' or phone like '%933 456%';").await;
    assert_eq!(rows.len(), 3);
    assert!(
        rows[0].get("lastname").is_none(),
        "only the selected columns and id"
    );
    assert_eq!(rows[0]["firstname"], "Lucía");

    let open = format!(
        "SELECT potentialname, amount FROM Potentials WHERE contact_id = '{}' AND sales_stage NOT IN ('Closed Won', 'Closed Lost') ORDER BY amount DESC;",
        ids.lucia
    );
    let rows = query_ok(&emulator, &open).await;
    assert_eq!(
        column(&rows, "potentialname"),
        ["Reforma oficina Valencia", "Mobiliario sala de juntas"]
    );
    assert_eq!(rows[0]["amount"], "18500.00");

    let rows = query_ok(
        &emulator,
        "SELECT * FROM Potentials WHERE sales_stage IN ('Closed Won');",
    )
    .await;
    assert_eq!(column(&rows, "potentialname"), ["Proyecto piloto"]);
    assert_eq!(rows[0]["currency"], "EUR");
    assert_eq!(rows[0]["closingdate"], "2026-03-01");

    let rows = query_ok(
        &emulator,
        "SELECT * FROM Users WHERE user_name != 'admin@ringside.test' ORDER BY user_name ASC;",
    )
    .await;
    assert_eq!(column(&rows, "user_name"), ["ana", "bruno"]);
    assert_eq!(rows[0]["phone_work"], "201");

    let rows = query_ok(
        &emulator,
        "SELECT * FROM Contacts ORDER BY lastname LIMIT 1, 2;",
    )
    .await;
    assert_eq!(column(&rows, "lastname"), ["Fernández", "Ortega"]);

    let rows = query_ok(&emulator, "SELECT COUNT(*) FROM Contacts;").await;
    assert_eq!(rows, [serde_json::json!({"count": "4"})]);
}

#[tokio::test]
async fn vtql_never_returns_more_than_100_rows() {
    let (emulator, _) = demo().await;
    for n in 0..120 {
        emulator.add_contact(NewContact {
            firstname: format!("Bulk{n:03}"),
            lastname: "Carga".into(),
            ..NewContact::default()
        });
    }
    let total = 124;
    assert_eq!(
        query_ok(&emulator, "SELECT * FROM Contacts;").await.len(),
        100
    );
    assert_eq!(
        query_ok(&emulator, "SELECT id FROM Contacts LIMIT 500;")
            .await
            .len(),
        100
    );
    assert_eq!(
        query_ok(&emulator, "SELECT id FROM Contacts LIMIT 100, 100;")
            .await
            .len(),
        total - 100
    );
    assert_eq!(
        query_ok(
            &emulator,
            "SELECT COUNT(*) FROM Contacts WHERE lastname = 'Carga';"
        )
        .await[0]["count"],
        "120"
    );
}

#[tokio::test]
async fn vtql_errors() {
    let (emulator, _) = demo().await;
    let cases = [
        ("SELECT * FROM Contacts", "QUERY_SYNTAX_ERROR"),
        ("SELECT * FROM Contacts WHERE", "QUERY_SYNTAX_ERROR"),
        (
            "SELECT * FROM Contacts WHERE phone = ;",
            "QUERY_SYNTAX_ERROR",
        ),
        (
            "SELECT * FROM Contacts WHERE phone LIKE '%1;",
            "QUERY_SYNTAX_ERROR",
        ),
        ("SELECT * Contacts;", "QUERY_SYNTAX_ERROR"),
        (
            "SELECT * FROM Contacts; SELECT * FROM Leads;",
            "QUERY_SYNTAX_ERROR",
        ),
        ("SELECT * FROM Deals;", "INVALID_MODULE"),
        ("SELECT * FROM contacts;", "INVALID_MODULE"),
        ("SELECT fax FROM Contacts;", "QUERY_SYNTAX_ERROR"),
        (
            "SELECT * FROM Contacts WHERE company = 'x';",
            "QUERY_SYNTAX_ERROR",
        ),
        (
            "SELECT * FROM Contacts ORDER BY nope;",
            "QUERY_SYNTAX_ERROR",
        ),
    ];
    for (vtql, expected) in cases {
        let (status, body) = rest_json(&emulator, "query", &[("query", vtql)]).await;
        assert_eq!(status, 400, "{vtql}");
        assert_eq!(code(&body), expected, "{vtql}");
    }
    let (status, body) = rest_json(&emulator, "query", &[]).await;
    assert_eq!(status, 400);
    assert_eq!(code(&body), "MANDATORY_FIELDS_MISSING");
}

#[tokio::test]
async fn retrieve_validates_record_ids() {
    let (emulator, ids) = demo().await;
    let (status, body) = rest_json(&emulator, "retrieve", &[("id", &ids.lucia)]).await;
    assert_eq!(status, 200);
    assert_eq!(body["result"]["id"], ids.lucia.as_str());
    assert_eq!(body["result"]["lastname"], "Fernández");
    assert_eq!(
        body["result"]["phone"], "",
        "empty fields come back as empty strings"
    );

    let (_, body) = rest_json(&emulator, "retrieve", &[("id", &ids.lucia_potentials[0])]).await;
    assert_eq!(body["result"]["sales_stage"], "Negotiation or Review");
    assert_eq!(body["result"]["related_to"], ids.fernandez_account.as_str());

    for bad in ["12-3", "abc", "12x", "x3", "12x3x4", "12X1", " 12x1"] {
        let (status, body) = rest_json(&emulator, "retrieve", &[("id", bad)]).await;
        assert_eq!(status, 400, "{bad}");
        assert_eq!(code(&body), "INVALID_ID", "{bad}");
    }
    for unknown in ["12x999", "99x1", "45x1"] {
        let (status, body) = rest_json(&emulator, "retrieve", &[("id", unknown)]).await;
        assert_eq!(status, 400, "{unknown}");
        assert_eq!(code(&body), "RECORD_NOT_FOUND", "{unknown}");
    }
}

#[tokio::test]
async fn listtypes_and_unknown_operations() {
    let (emulator, _) = demo().await;
    let (status, body) = rest_json(&emulator, "listtypes", &[("fieldTypeList", "null")]).await;
    assert_eq!(status, 200);
    let types: Vec<&str> = body["result"]["types"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t.as_str().unwrap())
        .collect();
    for module in [
        "Contacts",
        "Leads",
        "Accounts",
        "Potentials",
        "Users",
        "PhoneCalls",
    ] {
        assert!(types.contains(&module), "{module}");
    }
    let (status, body) = rest_json(&emulator, "describe", &[("elementType", "Contacts")]).await;
    assert_eq!(status, 400);
    assert_eq!(code(&body), "UNKNOWN_OPERATION");
}
