//! The requests API is as strict as the vendor document: auth, methods,
//! bodies and parameters.

mod common;

use common::{Api, fast_emulator};
use serde_json::{Value, json};

#[tokio::test]
async fn missing_or_wrong_key_is_401_and_recorded() {
    let emulator = fast_emulator().await;
    let client = reqwest::Client::new();
    let url = format!("{}/getExtensionList", emulator.base_url());
    let missing = client.get(&url).send().await.unwrap();
    assert_eq!(missing.status(), 401);
    let wrong = client
        .get(&url)
        .header("Authorization", "VTCRM-Basic not-the-key")
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), 401);
    let wrong_scheme = client
        .get(&url)
        .header("Authorization", format!("Bearer {}", emulator.api_key()))
        .send()
        .await
        .unwrap();
    assert_eq!(wrong_scheme.status(), 401);
    let recorded = emulator.requests();
    assert_eq!(recorded.len(), 3);
    assert!(
        recorded
            .iter()
            .all(|r| r.status == 401 && r.path == "getExtensionList")
    );
    assert_eq!(
        recorded[1].header("Authorization"),
        Some("VTCRM-Basic not-the-key")
    );
}

#[tokio::test]
async fn wrong_http_method_is_405() {
    let emulator = fast_emulator().await;
    let api = Api::new(&emulator);
    let (status, _) = api.get("call").await;
    assert_eq!(status, 405);
    let (status, _) = api.post("getExtensionList", json!({})).await;
    assert_eq!(status, 405);
    let response = api
        .client
        .put(format!("{}/configure", api.base))
        .header("Authorization", format!("VTCRM-Basic {}", api.key))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 405);
    assert_eq!(response.headers()["allow"], "POST");
}

#[tokio::test]
async fn extension_lists_in_both_flavours() {
    let emulator = fast_emulator().await;
    let api = Api::new(&emulator);
    let (status, numbers) = api.get("getExtensionList").await;
    assert_eq!(status, 200);
    assert_eq!(numbers, json!([201, 202, 203, 204, 206, 301, 9204]));
    let (status, detailed) = api.get("getExtensionListJSON").await;
    assert_eq!(status, 200);
    assert_eq!(
        detailed[0],
        json!({"extension": 201, "name": "Gines Gomez"})
    );
    assert_eq!(
        detailed[5],
        json!({"extension": 301, "name": "Laura Vidal"})
    );
    assert_eq!(
        detailed[6],
        json!({"extension": 9204, "name": "Incoming IVR"})
    );
}

async fn expect_400(api: &Api, method: &str, body: Value, param: &str, reason: &str) {
    let (status, error) = api.post(method, body.clone()).await;
    assert_eq!(status, 400, "{method} {body}");
    assert_eq!(error["param"], param, "{method} {body}: {error}");
    let text = error["error"].as_str().unwrap();
    assert!(
        text.contains(reason),
        "{method} {body}: {text:?} lacks {reason:?}"
    );
}

#[tokio::test]
async fn bad_bodies_are_400_naming_the_parameter() {
    let emulator = fast_emulator().await;
    let api = Api::new(&emulator);
    let url = "events_callback_url";
    expect_400(&api, "configure", json!({}), url, "missing mandatory").await;
    expect_400(&api, "configure", json!({url: "ftp://x/y"}), url, "http(s)").await;
    expect_400(
        &api,
        "configure",
        json!({url: "not a url"}),
        url,
        "not a URL",
    )
    .await;
    expect_400(&api, "configure", json!({url: 7}), url, "must be a string").await;
    let headers = "events_callback_headers";
    expect_400(
        &api,
        "configure",
        json!({url: "http://a/b", headers: "x"}),
        headers,
        "object",
    )
    .await;
    let ips = json!({url: "http://a/b", "allowed_ip_addresses": ["1.2.3.4/99"]});
    expect_400(&api, "configure", ips, "allowed_ip_addresses", "CIDR").await;
    expect_400(
        &api,
        "call",
        json!({"destination": "600111222"}),
        "extension",
        "missing",
    )
    .await;
    expect_400(
        &api,
        "call",
        json!({"extension": "203"}),
        "destination",
        "missing",
    )
    .await;
    expect_400(
        &api,
        "call",
        json!({"extension": true, "destination": "1"}),
        "extension",
        "string",
    )
    .await;
    let unknown = json!({"extension": "999", "destination": "600111222"});
    expect_400(
        &api,
        "call",
        unknown,
        "extension",
        "not in the extension list",
    )
    .await;
    let letters = json!({"extension": "203", "destination": "call me"});
    expect_400(&api, "call", letters, "destination", "not a dialable").await;
    expect_400(
        &api,
        "drop",
        json!({}),
        "callId",
        "missing mandatory parameter callId",
    )
    .await;
    expect_400(
        &api,
        "drop",
        json!({"callId": "471900"}),
        "callId",
        "unknown callId",
    )
    .await;
    expect_400(
        &api,
        "redirectIncoming",
        json!({"callId": "1"}),
        "destination",
        "missing",
    )
    .await;
    let redirect = json!({"callId": "1", "destination": "202"});
    expect_400(
        &api,
        "redirectIncoming",
        redirect,
        "callId",
        "unknown callId",
    )
    .await;
    expect_400(&api, "drop", json!([1, 2]), "body", "JSON object").await;
}

#[tokio::test]
async fn body_must_be_json_with_a_json_content_type() {
    let emulator = fast_emulator().await;
    let api = Api::new(&emulator);
    let send = |content_type: &'static str, body: &'static str| {
        api.client
            .post(format!("{}/configure", api.base))
            .header("Authorization", format!("VTCRM-Basic {}", api.key))
            .header("Content-Type", content_type)
            .body(body)
            .send()
    };
    let good = r#"{"events_callback_url":"https://example.com/vtcrm/callback"}"#;
    assert_eq!(send("json", good).await.unwrap().status(), 200);
    assert_eq!(
        send("application/json; charset=utf-8", good)
            .await
            .unwrap()
            .status(),
        200
    );
    let plain = send("text/plain", good).await.unwrap();
    assert_eq!(plain.status(), 400);
    let error: Value = plain.json().await.unwrap();
    assert_eq!(error["param"], "content-type");
    let broken = send("application/json", "{not json").await.unwrap();
    assert_eq!(broken.status(), 400);
    let recorded = emulator.requests();
    assert_eq!(
        recorded[0].body["events_callback_url"],
        "https://example.com/vtcrm/callback"
    );
    assert_eq!(recorded[0].header("content-type"), Some("json"));
    assert_eq!(recorded[3].body, Value::Null);
    assert_eq!(recorded[3].status, 400);
}

#[tokio::test]
async fn configure_stores_the_callback() {
    let emulator = fast_emulator().await;
    let api = Api::new(&emulator);
    let body = json!({
        "events_callback_url": "https://example.com/vtcrm/callback",
        "events_callback_headers": {"X-A-Header": "A header value"},
        "events_callback_parameters": {"a_parameter": "A parameter value"},
        "allowed_ip_addresses": ["193.22.119.28", "218.32.3.0/32"],
    });
    assert_eq!(api.post("configure", body).await.0, 200);
    let target = emulator.callback().unwrap();
    assert_eq!(target.url, "https://example.com/vtcrm/callback");
    assert_eq!(
        target.headers,
        vec![("X-A-Header".into(), "A header value".into())]
    );
    assert_eq!(
        target.parameters,
        vec![("a_parameter".into(), "A parameter value".into())]
    );
    assert_eq!(
        target.allowed_ip_addresses,
        vec!["193.22.119.28", "218.32.3.0/32"]
    );
    // Without allowed addresses the current ones remain.
    let again = json!({"events_callback_url": "http://127.0.0.1:9/cb"});
    assert_eq!(api.post("configure", again).await.0, 200);
    let target = emulator.callback().unwrap();
    assert_eq!(target.url, "http://127.0.0.1:9/cb");
    assert!(target.headers.is_empty());
    assert_eq!(target.allowed_ip_addresses.len(), 2);
    let found = emulator
        .wait_for_request("configure", std::time::Duration::from_millis(10))
        .await
        .unwrap();
    assert_eq!(found.method, "POST");
    emulator.clear_requests();
    assert!(emulator.requests().is_empty());
}

#[tokio::test]
async fn wait_for_request_sees_requests_arriving_later() {
    let emulator = fast_emulator().await;
    let api = Api::new(&emulator);
    let waiting =
        emulator.wait_for_request("getExtensionListJSON", std::time::Duration::from_secs(5));
    let (found, _) = tokio::join!(waiting, async {
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        api.get("getExtensionListJSON").await
    });
    assert_eq!(found.unwrap().status, 200);
    let none = emulator
        .wait_for_request("drop", std::time::Duration::from_millis(20))
        .await;
    assert!(none.is_none());
}
