//! Click-to-call: the emulator calls our endpoint as Vtiger's "Outgoing
//! call" configuration says.

mod common;

use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::routing::any;
use base64::Engine;
use common::demo;
use ringside_vtiger_emulator::{OutgoingConfig, OutgoingMethod};
use tokio::net::TcpListener;

#[derive(Debug, Clone)]
struct Captured {
    method: Method,
    query: Vec<(String, String)>,
    body: Vec<(String, String)>,
    content_type: Option<String>,
    basic: Option<String>,
}

type Inbox = Arc<Mutex<Vec<Captured>>>;

async fn receive(
    State(inbox): State<Inbox>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> (StatusCode, String) {
    let pairs = |raw: &[u8]| -> Vec<(String, String)> {
        form_urlencoded::parse(raw).into_owned().collect()
    };
    let basic = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Basic "))
        .map(|b| {
            String::from_utf8(base64::engine::general_purpose::STANDARD.decode(b).unwrap()).unwrap()
        });
    let captured = Captured {
        method,
        query: pairs(uri.query().unwrap_or("").as_bytes()),
        body: pairs(&body),
        content_type: headers
            .get("content-type")
            .map(|v| v.to_str().unwrap().to_owned()),
        basic,
    };
    let refuse = captured
        .query
        .iter()
        .any(|(k, v)| k == "refuse" && v == "yes");
    inbox.lock().unwrap().push(captured);
    if refuse {
        (StatusCode::FORBIDDEN, "no".to_owned())
    } else {
        (StatusCode::OK, r#"{"status":"dialing"}"#.to_owned())
    }
}

async fn endpoint() -> (String, Inbox) {
    let inbox = Inbox::default();
    let app = Router::new()
        .route("/dial", any(receive))
        .with_state(Arc::clone(&inbox));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/dial", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (url, inbox)
}

fn params() -> Vec<(String, String)> {
    [
        ("caller", "{{office_phone}}"),
        ("callee", "{{number}}"),
        ("agent", "{{user_name}} <{{user_email}}> {{user_id}}"),
        ("source", "vtiger"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect()
}

fn value<'a>(pairs: &'a [(String, String)], key: &str) -> &'a str {
    pairs.iter().find(|(k, _)| k == key).unwrap().1.as_str()
}

#[tokio::test]
async fn get_sends_substituted_params_in_the_query_with_basic_auth() {
    let (emulator, ids) = demo().await;
    let (url, inbox) = endpoint().await;
    emulator.set_outgoing(Some(OutgoingConfig {
        url,
        method: OutgoingMethod::Get,
        username: Some("vtiger".into()),
        password: Some("s3cret".into()),
        params: params(),
    }));
    let (status, body) = emulator
        .click_to_call(&ids.ana, "+34 647 46 01 97")
        .await
        .unwrap();
    assert_eq!(status, 200);
    assert_eq!(body, r#"{"status":"dialing"}"#);
    let got = inbox.lock().unwrap()[0].clone();
    assert_eq!(got.method, Method::GET);
    assert!(got.body.is_empty());
    assert_eq!(value(&got.query, "caller"), "201");
    assert_eq!(value(&got.query, "callee"), "+34 647 46 01 97");
    assert_eq!(
        value(&got.query, "agent"),
        format!("ana <ana@ringside.test> {}", ids.ana)
    );
    assert_eq!(value(&got.query, "source"), "vtiger");
    assert_eq!(got.basic.as_deref(), Some("vtiger:s3cret"));
}

#[tokio::test]
async fn post_sends_a_form_body_without_auth_when_none_is_configured() {
    let (emulator, ids) = demo().await;
    let (url, inbox) = endpoint().await;
    emulator.set_outgoing(Some(OutgoingConfig {
        url,
        method: OutgoingMethod::Post,
        username: None,
        password: None,
        params: params(),
    }));
    let (status, _) = emulator
        .click_to_call(&ids.bruno, "676543210")
        .await
        .unwrap();
    assert_eq!(status, 200);
    let got = inbox.lock().unwrap()[0].clone();
    assert_eq!(got.method, Method::POST);
    assert!(got.query.is_empty());
    assert_eq!(
        got.content_type.as_deref(),
        Some("application/x-www-form-urlencoded")
    );
    assert_eq!(value(&got.body, "caller"), "202");
    assert_eq!(value(&got.body, "callee"), "676543210");
    assert_eq!(
        value(&got.body, "agent"),
        format!("bruno <bruno@ringside.test> {}", ids.bruno)
    );
    assert_eq!(got.basic, None);
}

#[tokio::test]
async fn our_answer_is_passed_back_and_bad_clicks_fail() {
    let (emulator, ids) = demo().await;
    assert!(
        emulator.click_to_call(&ids.ana, "600111222").await.is_err(),
        "not configured"
    );
    let (url, inbox) = endpoint().await;
    let mut params = params();
    params.push(("refuse".into(), "yes".into()));
    emulator.set_outgoing(Some(OutgoingConfig {
        url,
        method: OutgoingMethod::Get,
        username: None,
        password: None,
        params,
    }));
    assert_eq!(
        emulator.click_to_call(&ids.ana, "600111222").await.unwrap(),
        (403, "no".to_owned())
    );
    assert!(emulator.click_to_call("19x99", "600111222").await.is_err());
    assert!(
        emulator
            .click_to_call(&ids.lucia, "600111222")
            .await
            .is_err(),
        "not a user"
    );
    assert_eq!(inbox.lock().unwrap().len(), 1);
}

#[tokio::test]
async fn the_outgoing_config_can_come_from_the_start_config() {
    let (url, inbox) = endpoint().await;
    let emulator =
        ringside_vtiger_emulator::VtigerEmulator::start(ringside_vtiger_emulator::EmulatorConfig {
            outgoing: Some(OutgoingConfig {
                url,
                method: OutgoingMethod::Post,
                username: None,
                password: None,
                params: vec![("to".into(), "{{number}}".into())],
            }),
            ..Default::default()
        })
        .await
        .unwrap();
    let (status, _) = emulator.click_to_call("19x1", "911234567").await.unwrap();
    assert_eq!(status, 200);
    assert_eq!(value(&inbox.lock().unwrap()[0].body, "to"), "911234567");
}
