//! PhoneBridge account-level endpoints: integrate, click-to-call
//! registration, users, callerdetails.

mod common;

use common::{access_token, bad_param, code, demo, pb, post, start};
use reqwest::Method;
use ringside_zoho_emulator::{EmulatorConfig, ZohoEmulator};
use serde_json::json;

#[tokio::test]
async fn integrate_state_machine() {
    let emulator = start().await;
    let token = access_token(&emulator).await;
    assert!(!emulator.integrated(), "starts not integrated");
    // Before integrating, the other endpoints refuse.
    let (status, body) = pb(&emulator, &token, Method::GET, "users", &[]).await;
    assert_eq!((status, code(&body)), (400, "PBX_NOT_INTEGRATED"));
    let (status, body) = pb(&emulator, &token, Method::DELETE, "integrate", &[]).await;
    assert_eq!((status, code(&body)), (400, "PBX_NOT_INTEGRATED"));

    let (status, body) = post(&emulator, &token, "integrate", &[]).await;
    assert_eq!(status, 200);
    assert_eq!(
        body,
        json!({"message":"Ringside Integration is successful","status":"success","code":"SUCCESS"})
    );
    assert!(emulator.integrated());
    let (status, body) = post(&emulator, &token, "integrate", &[]).await;
    assert_eq!((status, code(&body)), (403, "PBX_ALREADY_ENABLED"));
    assert_eq!(body["status"], "error");
    assert_eq!(body["details"], json!({}));

    let (status, body) = pb(&emulator, &token, Method::DELETE, "integrate", &[]).await;
    assert_eq!((status, code(&body)), (200, "SUCCESS"));
    assert!(!emulator.integrated());
    let (status, body) = post(&emulator, &token, "callreceived", &[]).await;
    assert_eq!((status, code(&body)), (400, "PBX_NOT_INTEGRATED"));

    emulator.set_other_pbx(true);
    let (status, body) = post(&emulator, &token, "integrate", &[]).await;
    assert_eq!(
        (status, code(&body)),
        (403, "DIFFERENT_PBX_ALREADY_ENABLED")
    );
    emulator.set_other_pbx(false);

    emulator.set_license_ok(false);
    let (status, body) = post(&emulator, &token, "integrate", &[]).await;
    assert_eq!((status, code(&body)), (403, "NO_PERMISSION"));
    assert_eq!(
        body["message"],
        "PBX Integration is not available for your license type"
    );
    emulator.set_license_ok(true);

    let (status, _) = post(&emulator, &token, "integrate", &[]).await;
    assert_eq!(status, 200);
    let (status, _) = pb(&emulator, &token, Method::GET, "integrate", &[]).await;
    assert_eq!(status, 405);
}

#[tokio::test]
async fn an_unregistered_vendor_gets_pbx_not_registered() {
    let emulator = ZohoEmulator::start(EmulatorConfig {
        registered: false,
        pbx_name: "AcmePBX".into(),
        ..EmulatorConfig::default()
    })
    .await
    .unwrap();
    let token = access_token(&emulator).await;
    let (status, body) = post(&emulator, &token, "integrate", &[]).await;
    assert_eq!((status, code(&body)), (400, "PBX_NOT_REGISTERED"));
    assert_eq!(body["message"], "AcmePBX is not registered");
    emulator.set_integrated(true);
    let (status, body) = post(
        &emulator,
        &token,
        "clicktocallandcallcontrol",
        &[("clicktocallurl", "https://hub.test/dial")],
    )
    .await;
    assert_eq!((status, code(&body)), (400, "PBX_NOT_REGISTERED"));
    emulator.set_registered(true);
    assert!(emulator.config().registered);
    let (status, _) = post(
        &emulator,
        &token,
        "clicktocallandcallcontrol",
        &[("clicktocallurl", "https://hub.test/dial")],
    )
    .await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn click_to_call_registration_validates_and_stores() {
    let (emulator, ids, token) = demo().await;
    let (status, body) = post(&emulator, &token, "clicktocallandcallcontrol", &[]).await;
    assert_eq!((status, code(&body)), (400, "REQUIRED_PARAM_MISSING"));
    assert_eq!(bad_param(&body), "clicktocallurl");
    assert_eq!(body["message"], "One of the expected parameters is missing");

    let (status, body) = post(
        &emulator,
        &token,
        "clicktocallandcallcontrol",
        &[("clicktocallurl", "hub.test/dial")],
    )
    .await;
    assert_eq!(
        (status, code(&body), bad_param(&body)),
        (400, "INVALID_DATA", "clicktocallurl")
    );
    let (status, body) = post(
        &emulator,
        &token,
        "clicktocallandcallcontrol",
        &[
            ("clicktocallurl", "https://hub.test/dial"),
            ("muteurl", "ftp://hub.test/mute"),
        ],
    )
    .await;
    assert_eq!((status, bad_param(&body)), (400, "muteurl"));
    let (status, body) = post(
        &emulator,
        &token,
        "clicktocallandcallcontrol",
        &[
            ("clicktocallurl", "https://hub.test/dial"),
            ("userid", &format!("{},4150868000000999999", ids.ana)),
        ],
    )
    .await;
    assert_eq!((status, code(&body)), (400, "INVALID_USER"));
    let (status, body) = post(
        &emulator,
        &token,
        "clicktocallandcallcontrol",
        &[
            ("clicktocallurl", "https://hub.test/dial"),
            ("authorizationparam", "{name:Authorization"),
        ],
    )
    .await;
    assert_eq!((status, bad_param(&body)), (400, "authorizationparam"));
    assert_eq!(emulator.click_to_call_registration(), None);

    let users = format!("{},{}", ids.ana, ids.bruno);
    let (status, body) = post(
        &emulator,
        &token,
        "clicktocallandcallcontrol",
        &[
            ("clicktocallurl", "https://hub.test/zoho/dial"),
            ("answerurl", "https://hub.test/zoho/answer"),
            ("hungupurl", "https://hub.test/zoho/hungup"),
            ("authorizationparam", "{name:X-Ringside-Token,value:s3cret}"),
            (
                "clicktocallparam",
                r#"[{"name":"pbxuserid","value":"pbx-1"},{"name":"tenant","value":"acme"}]"#,
            ),
            ("callcontrolparam", "[{name:tenant,value:acme}]"),
            ("userid", &users),
        ],
    )
    .await;
    assert_eq!((status, code(&body)), (200, "SUCCESS"), "{body}");
    assert_eq!(body["status"], "success");
    let reg = emulator.click_to_call_registration().unwrap();
    assert_eq!(
        reg.clicktocallurl.as_deref(),
        Some("https://hub.test/zoho/dial")
    );
    assert_eq!(
        reg.answerurl.as_deref(),
        Some("https://hub.test/zoho/answer")
    );
    assert_eq!(reg.muteurl, None);
    assert_eq!(
        reg.authorization,
        Some(("X-Ringside-Token".into(), "s3cret".into()))
    );
    assert_eq!(
        reg.clicktocallparams,
        vec![
            ("pbxuserid".to_owned(), "pbx-1".to_owned()),
            ("tenant".to_owned(), "acme".to_owned())
        ]
    );
    assert_eq!(
        reg.callcontrolparams,
        vec![("tenant".into(), "acme".into())]
    );
    assert_eq!(reg.userids, vec![ids.ana.clone(), ids.bruno.clone()]);

    let (status, body) = pb(
        &emulator,
        &token,
        Method::DELETE,
        "clicktocallandcallcontrol",
        &[],
    )
    .await;
    assert_eq!((status, code(&body)), (200, "SUCCESS"));
    assert_eq!(emulator.click_to_call_registration(), None);
}

#[tokio::test]
async fn click_to_call_registration_needs_integration_and_is_dropped_with_it() {
    let emulator = start().await;
    let token = access_token(&emulator).await;
    let params = [("clicktocallurl", "https://hub.test/dial")];
    let (status, body) = post(&emulator, &token, "clicktocallandcallcontrol", &params).await;
    assert_eq!((status, code(&body)), (400, "PBX_NOT_INTEGRATED"));
    assert_eq!(post(&emulator, &token, "integrate", &[]).await.0, 200);
    assert_eq!(
        post(&emulator, &token, "clicktocallandcallcontrol", &params)
            .await
            .0,
        200
    );
    assert!(emulator.click_to_call_registration().is_some());
    assert_eq!(
        pb(&emulator, &token, Method::DELETE, "integrate", &[])
            .await
            .0,
        200
    );
    assert_eq!(emulator.click_to_call_registration(), None);
}

#[tokio::test]
async fn users_lists_the_directory() {
    let (emulator, ids, token) = demo().await;
    let (status, body) = pb(&emulator, &token, Method::GET, "users", &[]).await;
    assert_eq!(status, 200);
    assert_eq!(
        body,
        json!({"users": [
            {"userid": ids.ana, "username": "Ana García", "email": "ana@ringside.test"},
            {"userid": ids.bruno, "username": "Bruno Díaz", "email": "bruno@ringside.test"},
            {"userid": ids.tony, "username": "Tony Manero", "email": "tony@ringside.test"},
        ]})
    );
    assert_eq!(ids.ana.len(), 19);
    assert!(ids.ana.bytes().all(|b| b.is_ascii_digit()));
    let (status, _) = post(&emulator, &token, "users", &[]).await;
    assert_eq!(status, 405);
}

#[tokio::test]
async fn callerdetails_returns_the_vendor_shape_with_all_potentials() {
    let (emulator, ids, token) = demo().await;
    let base = emulator.base_url();
    let (status, body) = pb(
        &emulator,
        &token,
        Method::GET,
        "callerdetails",
        &[("phonenumber", "+34647460197")],
    )
    .await;
    assert_eq!(status, 200);
    let data = body["data"].as_array().unwrap();
    assert_eq!(data.len(), 1);
    let lucia = &data[0];
    assert_eq!(lucia["Name"], "Lucía Fernández");
    assert_eq!(lucia["Module"], "Contacts");
    assert_eq!(lucia["Id"], ids.lucia.as_str());
    assert_eq!(lucia["Company/Account"], "Fernández Interiorismo SL");
    assert_eq!(lucia["Mobile"], "647 46 01 97");
    assert_eq!(lucia["Phone"], serde_json::Value::Null);
    assert_eq!(lucia["Email"], "lucia@fernandez-interiorismo.test");
    assert!(lucia.get("Department").is_some());
    assert_eq!(
        lucia["Url"],
        format!("{base}/crm/tab/Contacts/{}", ids.lucia)
    );
    let potentials = lucia["Potential"].as_array().unwrap();
    let names: Vec<&str> = potentials
        .iter()
        .map(|p| p["Name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "Reforma oficina Valencia",
            "Mobiliario sala de juntas",
            "Proyecto piloto"
        ]
    );
    let first = &potentials[0];
    assert_eq!(first["Id"], ids.lucia_potentials[0].as_str());
    assert_eq!(first["Stage"], "Negotiation/Review");
    assert_eq!(first["ExpectedRevenue"], "18500.00");
    assert_eq!(first["ClosingDate"], "2026-12-15");
    assert_eq!(first["Probability"], "90");
    assert_eq!(first["PotentialOwner"], "Ana García");
    assert_eq!(
        first["Url"],
        format!("{base}/crm/tab/Potentials/{}", ids.lucia_potentials[0])
    );
    assert_eq!(potentials[2]["Stage"], "Closed Won");
    for key in [
        "Name",
        "Module",
        "Id",
        "Company/Account",
        "Email",
        "Phone",
        "Mobile",
        "Department",
        "Url",
        "Potential",
    ] {
        assert!(lucia.get(key).is_some(), "missing {key}");
    }

    // The record page the Url points at exists.
    let page = common::client()
        .get(lucia["Url"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(page.status().as_u16(), 200);
    assert!(page.text().await.unwrap().contains("Lucía Fernández"));
}

#[tokio::test]
async fn callerdetails_matches_on_digits_and_answers_204_otherwise() {
    let (emulator, ids, token) = demo().await;
    let lookup = |n: &'static str| {
        let emulator = emulator.clone();
        let token = token.clone();
        async move {
            pb(
                &emulator,
                &token,
                Method::GET,
                "callerdetails",
                &[("phonenumber", n)],
            )
            .await
        }
    };
    // National, E.164 and 00-prefixed forms find the nationally typed mobile.
    for n in ["647460197", "+34 647 46 01 97", "0034647460197"] {
        let (status, body) = lookup(n).await;
        assert_eq!(status, 200, "{n}");
        assert_eq!(body["data"][0]["Id"], ids.lucia.as_str(), "{n}");
    }
    // A lead, typed with dashes.
    let (_, body) = lookup("+34676543210").await;
    assert_eq!(body["data"][0]["Module"], "Leads");
    assert_eq!(body["data"][0]["Id"], ids.pablo_lead.as_str());
    assert_eq!(body["data"][0]["Company/Account"], "Navarro Reformas");
    assert_eq!(body["data"][0]["Potential"], json!([]));
    // Javier, with one Potential.
    let (_, body) = lookup("911234567").await;
    assert_eq!(body["data"][0]["Id"], ids.javier.as_str());
    assert_eq!(body["data"][0]["Potential"].as_array().unwrap().len(), 1);
    // Two contacts on one switchboard number.
    let (_, body) = lookup("933456789").await;
    let found: Vec<&str> = body["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["Id"].as_str().unwrap())
        .collect();
    assert_eq!(
        found,
        ids.clinica.iter().map(String::as_str).collect::<Vec<_>>()
    );
    // Fewer than 7 digits never match; an unknown number is 204 and empty.
    for n in ["460197", "+34 600 000 000"] {
        let (status, body) = lookup(n).await;
        assert_eq!((status, body), (204, serde_json::Value::Null), "{n}");
    }
    // An account found by its own phone.
    let account = emulator.add_account("Centralita SA", Some("+34 96 000 11 22"));
    let (status, body) = lookup("960001122").await;
    assert_eq!(status, 200);
    assert_eq!(body["data"][0]["Module"], "Accounts");
    assert_eq!(body["data"][0]["Id"], account.as_str());
}

#[tokio::test]
async fn callerdetails_requires_phonenumber_and_rejects_an_unencoded_plus() {
    let (emulator, _, token) = demo().await;
    let (status, body) = pb(&emulator, &token, Method::GET, "callerdetails", &[]).await;
    assert_eq!(
        (status, code(&body), bad_param(&body)),
        (400, "REQUIRED_PARAM_MISSING", "phonenumber")
    );
    // A raw query string with an unencoded '+' (decoded as a space).
    let url = format!(
        "{}/crm/v2/phonebridge/callerdetails?phonenumber=+34647460197",
        emulator.api_domain()
    );
    let response = common::client()
        .get(url)
        .header("Authorization", format!("Zoho-oauthtoken {token}"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 400);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(
        (code(&body), bad_param(&body)),
        ("INVALID_DATA", "phonenumber")
    );
    assert!(body["message"].as_str().unwrap().contains("URL-encoded"));
}

#[tokio::test]
async fn unknown_endpoints_are_404() {
    let (emulator, _, token) = demo().await;
    let (status, body) = pb(&emulator, &token, Method::GET, "nope", &[]).await;
    assert_eq!((status, code(&body)), (404, "INVALID_URL_PATTERN"));
}
