//! `GammaClient` against the Gamma emulator: the exact requests it sends,
//! the answers it reads, and how every failure maps to an error kind.

use std::collections::BTreeMap;
use std::time::Duration;

use pretty_assertions::assert_eq;
use ringside_core::{ErrorKind, EventKind, Extension, LegState, PbxControl, Sensitive};
use ringside_gamma::{Configure, EXTERNAL_CALL_ID_HEADER, GammaClient, PBX_ID_HEADER, parse_event};
use ringside_gamma_emulator::{
    DialProgress, Emulator, EmulatorConfig, EmulatorHandle, Fault, RecordedRequest,
};
use serde_json::json;

async fn emulator() -> EmulatorHandle {
    let config = EmulatorConfig {
        // No timers firing in the background of these tests.
        dial: DialProgress {
            answer_after: None,
            ..DialProgress::default()
        },
        ..EmulatorConfig::default()
    };
    Emulator::start(config).await.unwrap()
}

fn client(emu: &EmulatorHandle) -> GammaClient {
    GammaClient::new(&emu.base_url(), Sensitive::new(emu.api_key().to_string())).unwrap()
}

fn requests_to(emu: &EmulatorHandle, path: &str) -> Vec<RecordedRequest> {
    emu.requests()
        .into_iter()
        .filter(|r| r.path == path)
        .collect()
}

/// An address where nothing listens.
async fn closed_address() -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    format!("http://{addr}")
}

#[tokio::test]
async fn configure_sends_every_field_with_the_key() {
    let emu = emulator().await;
    // A trailing slash on the base is accepted.
    let client = GammaClient::new(
        &format!("{}/", emu.base_url()),
        Sensitive::new(emu.api_key().into()),
    )
    .unwrap();
    let config = Configure {
        events_callback_url: "https://ringside.example/gamma/events".into(),
        events_callback_headers: BTreeMap::from([(
            "X-Ringside-Secret".into(),
            Sensitive::new("s3cret".into()),
        )]),
        events_callback_parameters: BTreeMap::from([("tenant".into(), "acme".into())]),
        allowed_ip_addresses: Some(vec!["193.22.119.0/24".into()]),
    };
    client.configure(&config).await.unwrap();

    let sent = requests_to(&emu, "configure");
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].method, "POST");
    assert_eq!(
        sent[0].header("authorization"),
        Some("VTCRM-Basic emulator-key")
    );
    assert_eq!(sent[0].header("content-type"), Some("application/json"));
    assert_eq!(
        sent[0].body,
        json!({
            "events_callback_url": "https://ringside.example/gamma/events",
            "events_callback_headers": {"X-Ringside-Secret": "s3cret"},
            "events_callback_parameters": {"tenant": "acme"},
            "allowed_ip_addresses": ["193.22.119.0/24"],
        })
    );
    let target = emu.callback().unwrap();
    assert_eq!(target.url, "https://ringside.example/gamma/events");
    assert_eq!(
        target.headers,
        vec![("X-Ringside-Secret".to_string(), "s3cret".to_string())]
    );
    assert_eq!(
        target.parameters,
        vec![("tenant".to_string(), "acme".to_string())]
    );
    assert_eq!(
        target.allowed_ip_addresses,
        vec!["193.22.119.0/24".to_string()]
    );
}

#[tokio::test]
async fn both_extension_lists() {
    let emu = emulator().await;
    let client = client(&emu);
    assert_eq!(
        client.extension_list().await.unwrap(),
        ["201", "202", "203", "204", "206", "301", "9204"]
    );
    let named = client.extension_list_json().await.unwrap();
    assert_eq!(named.len(), 7);
    assert_eq!(
        named[0],
        Extension {
            extension: "201".into(),
            name: Some("Gines Gomez".into())
        }
    );
    assert_eq!(named[6].name.as_deref(), Some("Incoming IVR"));
    assert_eq!(PbxControl::extensions(&client).await.unwrap(), named);
    let methods: Vec<(String, String)> = emu
        .requests()
        .into_iter()
        .map(|r| (r.method, r.path))
        .collect();
    assert_eq!(
        methods,
        [
            ("GET".to_string(), "getExtensionList".to_string()),
            ("GET".into(), "getExtensionListJSON".into()),
            ("GET".into(), "getExtensionListJSON".into()),
        ]
    );
}

#[tokio::test]
async fn dial_hang_up_and_transfer_send_the_documented_bodies() {
    let emu = emulator().await;
    let client = client(&emu);

    client.dial("203", "647460197", "rs-0001").await.unwrap();
    let calls = requests_to(&emu, "call");
    assert_eq!(calls.len(), 1);
    assert_eq!(
        calls[0].body,
        json!({
            "extension": "203",
            "destination": "647460197",
            "request_callback_headers": {"X-VTCRM-External-Call-Id": "rs-0001"},
        })
    );
    let active = emu.active_calls();
    assert_eq!(active.len(), 1);
    let call_id = active[0].clone();

    client.transfer(&call_id, "202").await.unwrap();
    assert_eq!(
        requests_to(&emu, "redirectIncoming")[0].body,
        json!({"callId": call_id, "destination": "202"})
    );

    // A transfer replaces the call with `X.1` (vendor document, "Call Transfer").
    assert_eq!(emu.active_calls(), [format!("{call_id}.1")]);
    let moved = format!("{call_id}.1");

    client.hang_up(&moved).await.unwrap();
    assert_eq!(requests_to(&emu, "drop")[0].body, json!({"callId": moved}));
    assert!(emu.active_calls().is_empty());

    // The PBX no longer knows the call: its 400 reason reaches the message.
    let err = client.hang_up(&call_id).await.unwrap_err();
    assert_eq!(err.kind, ErrorKind::Invalid);
    assert!(
        err.message.contains(&format!("unknown callId {call_id}")),
        "{}",
        err.message
    );
    assert!(err.message.starts_with("drop: "), "{}", err.message);
}

#[tokio::test]
async fn events_of_a_dialed_call_carry_our_id_and_parse() {
    let emu = emulator().await;
    let client = client(&emu);
    // Deliveries to a closed port fail, but the emulator records what it sent.
    client
        .configure(&Configure::new(format!(
            "{}/events",
            closed_address().await
        )))
        .await
        .unwrap();
    client.dial("203", "647460197", "rs-0002").await.unwrap();

    let sent = emu.wait_for_events(1, Duration::from_secs(5)).await;
    let first = sent.first().expect("the emulator sends a prompting event");
    let header = |name: &str| {
        first
            .headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    };
    assert_eq!(header(EXTERNAL_CALL_ID_HEADER), Some("rs-0002"));
    assert!(header(PBX_ID_HEADER).is_some());
    let body = serde_json::to_vec(&first.event).unwrap();
    let event = parse_event(&body, header(EXTERNAL_CALL_ID_HEADER)).unwrap();
    assert_eq!(
        event.kind,
        EventKind::Leg {
            state: LegState::Prompting
        }
    );
    assert_eq!(event.external_call_id.as_deref(), Some("rs-0002"));
    assert_eq!(event.extension.as_deref(), Some("203"));
    assert_eq!(event.incoming, Some(false));
    assert!(event.at.is_some());
}

#[tokio::test]
async fn wrong_key_is_unauthorized() {
    let emu = emulator().await;
    let client = GammaClient::new(&emu.base_url(), Sensitive::new("not-the-key".into())).unwrap();
    let err = client.extension_list().await.unwrap_err();
    assert_eq!(err.kind, ErrorKind::Unauthorized);
    assert!(
        err.message.contains("the PBX rejected the API key"),
        "{}",
        err.message
    );
    assert!(!err.message.contains("not-the-key"));
    assert!(!format!("{client:?}").contains("not-the-key"));
}

#[tokio::test]
async fn server_errors_are_unavailable_and_rate_limits_say_when_to_retry() {
    let emu = emulator().await;
    let client = client(&emu);
    for status in [500, 502, 503, 504] {
        emu.inject(Fault::Status(status), Some(1)).await;
        let err = client.extension_list().await.unwrap_err();
        assert_eq!(err.kind, ErrorKind::Unavailable, "{status}");
        assert!(err.message.contains(&status.to_string()), "{}", err.message);
        assert!(err.is_retryable());
    }
    emu.inject(
        Fault::RateLimited {
            retry_after_secs: 7,
        },
        Some(1),
    )
    .await;
    let err = client.extension_list_json().await.unwrap_err();
    assert_eq!(err.kind, ErrorKind::RateLimited);
    assert_eq!(err.retry_after, Some(Duration::from_secs(7)));
    emu.inject(Fault::Status(403), Some(1)).await;
    assert_eq!(
        client.extension_list().await.unwrap_err().kind,
        ErrorKind::Forbidden
    );
    // Faults used up: the PBX answers again.
    assert_eq!(client.extension_list().await.unwrap().len(), 7);
}

#[tokio::test]
async fn a_failed_dial_is_sent_exactly_once() {
    let emu = emulator().await;
    let client = client(&emu);
    for fault in [
        Fault::Status(503),
        Fault::RateLimited {
            retry_after_secs: 1,
        },
        Fault::Status(500),
    ] {
        emu.clear_requests();
        emu.inject(fault.clone(), Some(3)).await;
        let err = client
            .dial("203", "647460197", "rs-0003")
            .await
            .unwrap_err();
        assert!(err.is_retryable(), "{fault:?}");
        assert_eq!(requests_to(&emu, "call").len(), 1, "{fault:?} was retried");
        emu.clear_faults().await;
    }
    assert!(emu.active_calls().is_empty(), "no call was placed");
}

#[tokio::test]
async fn latency_beyond_the_timeout_is_a_timeout_and_not_retried() {
    let emu = emulator().await;
    let client = client(&emu).with_timeout(Duration::from_millis(300));
    // The first request is slow; a second one (a retry) would get the 418.
    emu.inject(Fault::Latency(Duration::from_millis(1500)), Some(1))
        .await;
    emu.inject(Fault::Status(418), Some(1)).await;
    let started = std::time::Instant::now();
    let err = client
        .dial("203", "647460197", "rs-0004")
        .await
        .unwrap_err();
    assert_eq!(err.kind, ErrorKind::Timeout, "{}", err.message);
    assert!(
        err.message.contains("did not answer within"),
        "{}",
        err.message
    );
    assert!(started.elapsed() < Duration::from_millis(1200));
    // The 418 is still armed: the dial was not sent again.
    let probe = client.extension_list().await.unwrap_err();
    assert!(probe.message.contains("(418)"), "{}", probe.message);
}

#[tokio::test]
async fn an_unreachable_pbx_is_unavailable() {
    let emu = emulator().await;
    let client = client(&emu);
    emu.inject(Fault::Down, None).await;
    let err = client.hang_up("480000").await.unwrap_err();
    assert_eq!(err.kind, ErrorKind::Unavailable, "{}", err.message);
    assert!(
        err.message
            .contains(&format!("PBX unreachable at {}", emu.base_url())),
        "{}",
        err.message
    );
    emu.clear_faults().await;
    assert_eq!(client.extension_list().await.unwrap().len(), 7);

    let nowhere = GammaClient::new(
        &format!("{}/vtcrm/api", closed_address().await),
        Sensitive::new("k".into()),
    )
    .unwrap();
    let err = nowhere.extension_list().await.unwrap_err();
    assert_eq!(err.kind, ErrorKind::Unavailable, "{}", err.message);
    assert!(
        err.message.contains("PBX unreachable at"),
        "{}",
        err.message
    );
}

#[tokio::test]
async fn bad_arguments_never_reach_the_pbx() {
    let emu = emulator().await;
    let client = client(&emu);
    let cases = [
        client.dial("", "647460197", "x").await,
        client.dial("203", " ", "x").await,
        client.hang_up("").await,
        client.transfer("480000", "").await,
        client.configure(&Configure::new("nowhere")).await,
    ];
    for result in cases {
        assert_eq!(result.unwrap_err().kind, ErrorKind::Invalid);
    }
    assert!(emu.requests().is_empty());
}

#[test]
fn bad_base_urls_and_keys_are_config_errors() {
    let key = || Sensitive::new("k".to_string());
    for base in ["", "not a url", "ftp://pbx.example/vtcrm/api", "http://"] {
        let err = GammaClient::new(base, key()).unwrap_err();
        assert_eq!(err.kind, ErrorKind::Config, "{base}");
    }
    let err = GammaClient::new(
        "https://config.work.oigaa.com/vtcrm/api",
        Sensitive::new(" ".into()),
    )
    .unwrap_err();
    assert_eq!(err.kind, ErrorKind::Config);
    let err = GammaClient::new(
        "https://config.work.oigaa.com/vtcrm/api",
        Sensitive::new("line\nbreak".into()),
    )
    .unwrap_err();
    assert_eq!(err.kind, ErrorKind::Config);
    assert!(!err.message.contains("break"), "{}", err.message);
    let ok = GammaClient::new("https://config.work.oigaa.com/vtcrm/api/", key()).unwrap();
    assert_eq!(ok.base_url(), "https://config.work.oigaa.com/vtcrm/api");
}
