//! Zoho → our endpoints: click-to-call and call control, sent to the URLs
//! registered with `clicktocallandcallcontrol`.

mod common;

use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::routing::post as route_post;
use common::{demo, post};
use tokio::net::TcpListener;

#[derive(Debug, Clone)]
struct Captured {
    path: String,
    form: Vec<(String, String)>,
    header: Option<String>,
    content_type: Option<String>,
}

impl Captured {
    fn get(&self, key: &str) -> Option<&str> {
        self.form
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
}

type Inbox = Arc<Mutex<Vec<Captured>>>;

async fn receive(
    State(inbox): State<Inbox>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> (StatusCode, String) {
    let captured = Captured {
        path: uri.path().to_owned(),
        form: form_urlencoded::parse(&body).into_owned().collect(),
        header: headers
            .get("x-ringside-token")
            .map(|v| v.to_str().unwrap().to_owned()),
        content_type: headers
            .get("content-type")
            .map(|v| v.to_str().unwrap().to_owned()),
    };
    inbox.lock().unwrap().push(captured);
    (StatusCode::OK, r#"{"status":"ok"}"#.to_owned())
}

async fn endpoint() -> (String, Inbox) {
    let inbox = Inbox::default();
    let app = Router::new()
        .route("/zoho/{action}", route_post(receive))
        .with_state(Arc::clone(&inbox));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/zoho", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (url, inbox)
}

#[tokio::test]
async fn click_to_call_posts_the_number_user_params_and_authorization() {
    let (emulator, ids, token) = demo().await;
    let (url, inbox) = endpoint().await;
    // Nothing registered yet.
    assert!(
        emulator
            .click_to_call(&ids.ana, "+34647460197")
            .await
            .is_err()
    );
    let users = format!("{},{}", ids.ana, ids.bruno);
    let (status, _) = post(
        &emulator,
        &token,
        "clicktocallandcallcontrol",
        &[
            ("clicktocallurl", &format!("{url}/dial")),
            ("hungupurl", &format!("{url}/hungup")),
            ("holdurl", &format!("{url}/hold")),
            (
                "authorizationparam",
                r#"{"name":"X-Ringside-Token","value":"tok-123"}"#,
            ),
            ("clicktocallparam", "[{name:tenant,value:acme}]"),
            ("callcontrolparam", "[{name:tenant,value:acme-cc}]"),
            ("userid", &users),
        ],
    )
    .await;
    assert_eq!(status, 200);

    let (status, body) = emulator
        .click_to_call(&ids.ana, "+34647460197")
        .await
        .unwrap();
    assert_eq!((status, body.as_str()), (200, r#"{"status":"ok"}"#));
    let got = inbox.lock().unwrap().pop().unwrap();
    assert_eq!(got.path, "/zoho/dial");
    assert_eq!(got.get("tonumber"), Some("+34647460197"));
    assert_eq!(got.get("userid"), Some(ids.ana.as_str()));
    assert_eq!(got.get("fromnumber"), Some(""));
    assert_eq!(got.get("tenant"), Some("acme"));
    assert_eq!(got.header.as_deref(), Some("tok-123"));
    assert_eq!(got.get("X-Ringside-Token"), Some("tok-123"));
    assert!(
        got.content_type
            .unwrap()
            .starts_with("application/x-www-form-urlencoded")
    );

    // Tony is a user but not enabled; an unknown user is refused too.
    assert!(
        emulator
            .click_to_call(&ids.tony, "911234567")
            .await
            .is_err()
    );
    assert!(
        emulator
            .click_to_call("4150868000000999999", "911234567")
            .await
            .is_err()
    );
    assert!(inbox.lock().unwrap().is_empty());
}

#[tokio::test]
async fn call_control_posts_to_the_registered_urls() {
    let (emulator, ids, token) = demo().await;
    let (url, inbox) = endpoint().await;
    let (status, _) = post(
        &emulator,
        &token,
        "clicktocallandcallcontrol",
        &[
            ("clicktocallurl", &format!("{url}/dial")),
            ("answerurl", &format!("{url}/answer")),
            ("hungupurl", &format!("{url}/hungup")),
            ("muteurl", &format!("{url}/mute")),
            ("unmuteurl", &format!("{url}/unmute")),
            ("holdurl", &format!("{url}/hold")),
            ("unholdurl", &format!("{url}/unhold")),
            ("keypressurl", &format!("{url}/keypress")),
            ("authorizationparam", "{name:X-Ringside-Token,value:tok-9}"),
            ("callcontrolparam", r#"[{"name":"tenant","value":"acme"}]"#),
        ],
    )
    .await;
    assert_eq!(status, 200);
    for action in ringside_zoho_emulator::CALL_CONTROL_ACTIONS {
        let (status, _) = emulator
            .call_control(action, "call-7", &ids.tony)
            .await
            .unwrap();
        assert_eq!(status, 200, "{action}");
        let got = inbox.lock().unwrap().pop().unwrap();
        assert_eq!(got.path, format!("/zoho/{action}"));
        assert_eq!(got.get("callrefid"), Some("call-7"));
        assert_eq!(got.get("userid"), Some(ids.tony.as_str()));
        assert_eq!(got.get("tenant"), Some("acme"));
        assert_eq!(got.header.as_deref(), Some("tok-9"));
    }
    assert!(
        emulator
            .call_control("transfer", "call-7", &ids.ana)
            .await
            .is_err()
    );
}

#[tokio::test]
async fn call_control_fails_for_an_unregistered_url() {
    let (emulator, ids, token) = demo().await;
    let (url, inbox) = endpoint().await;
    assert!(emulator.call_control("hold", "c", &ids.ana).await.is_err());
    let (status, _) = post(
        &emulator,
        &token,
        "clicktocallandcallcontrol",
        &[("clicktocallurl", &format!("{url}/dial"))],
    )
    .await;
    assert_eq!(status, 200);
    let err = emulator
        .call_control("hold", "c", &ids.ana)
        .await
        .unwrap_err();
    assert!(err.contains("not registered"), "{err}");
    // Without userids registered, any known user may click to call, and no
    // authorization is sent.
    let (status, _) = emulator
        .click_to_call(&ids.tony, "647460197")
        .await
        .unwrap();
    assert_eq!(status, 200);
    let got = inbox.lock().unwrap().pop().unwrap();
    assert_eq!(got.header, None);
    assert_eq!(got.form.len(), 3);
}

#[tokio::test]
async fn an_unreachable_endpoint_is_an_error() {
    let (emulator, ids, token) = demo().await;
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let dead = format!("http://{}/dial", listener.local_addr().unwrap());
    drop(listener);
    let (status, _) = post(
        &emulator,
        &token,
        "clicktocallandcallcontrol",
        &[("clicktocallurl", dead.as_str())],
    )
    .await;
    assert_eq!(status, 200);
    assert!(emulator.click_to_call(&ids.ana, "647460197").await.is_err());
}
