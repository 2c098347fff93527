//! Every route of `HubClient` against a real in-process hub, and the hub's
//! errors read back as Ringside errors.

mod common;

use std::time::Duration;

use common::*;
use ringside_client::HubClient;
use ringside_client::api::{CallQuery, NewContact, NewPhone, PbxState};
use ringside_core::{CallId, CallStatus, ErrorKind, Outcome, Sensitive};
use ringside_gamma_emulator::scenario::ScenarioBuilder;

#[tokio::test]
async fn every_route_answers_in_api_types() {
    let demo = Demo::start().await;
    let client = &demo.client;

    let me = client.me().await.unwrap();
    assert_eq!(
        (me.name.as_str(), me.extension.as_str(), me.missed_calls),
        ("Tony Manero", "203", 0)
    );
    let health = client.health().await.unwrap();
    assert_eq!(
        (health.status.as_str(), health.journal.as_str()),
        ("ok", "ok")
    );
    let status = client.status().await.unwrap();
    assert_eq!(status.pbx.state, PbxState::Ok, "{status:?}");
    assert_eq!(status.journal, "ok");

    demo.play(&missed("660001", "+34647460197")).await;
    demo.play(&missed("660002", "+34911234567")).await;
    assert_eq!(client.me().await.unwrap().missed_calls, 2);

    // Calls: filters, paging with `next`.
    let page = client.calls(&CallQuery::default()).await.unwrap();
    assert_eq!(page.calls.len(), 2);
    assert!(page.next.is_none());
    let first = client
        .calls(&CallQuery {
            limit: Some(1),
            ..CallQuery::default()
        })
        .await
        .unwrap();
    assert_eq!(first.calls.len(), 1);
    let second = client
        .calls(&CallQuery {
            limit: Some(1),
            before: first.next.clone(),
            ..CallQuery::default()
        })
        .await
        .unwrap();
    assert_eq!(second.calls.len(), 1);
    assert_ne!(first.calls[0].id, second.calls[0].id);
    let search = client
        .calls(&CallQuery {
            search: Some("647460".into()),
            outcome: Some(Outcome::Missed),
            since: Some(chrono::Utc::now() - chrono::Duration::hours(1)),
            ..CallQuery::default()
        })
        .await
        .unwrap();
    assert_eq!(search.calls.len(), 1);
    let lucia_call = search.calls[0].clone();
    assert_eq!(lucia_call.provider_call_id, "660001");

    let detail = client.call(&lucia_call.id).await.unwrap();
    assert_eq!(detail.call.id, lucia_call.id);
    assert!(detail.events.len() >= 2, "{:?}", detail.events);
    assert!(detail.events.windows(2).all(|w| w[0].seq < w[1].seq));

    let noted = client
        .set_notes(
            &lucia_call.id,
            Some("call back".into()),
            Some("callback".into()),
        )
        .await
        .unwrap();
    assert_eq!(noted.notes.as_deref(), Some("call back"));
    assert_eq!(noted.disposition.as_deref(), Some("callback"));

    let info = client.lookup("647 46 01 97").await.unwrap();
    assert_eq!(
        info.lookup.chosen_match().unwrap().contact.name,
        "Lucía Fernández"
    );
    assert_eq!(info.recent_calls[0].id, lucia_call.id);

    let extensions = client.extensions().await.unwrap();
    assert!(
        extensions
            .iter()
            .any(|e| e.extension == "203" && e.name.as_deref() == Some("Tony Manero")),
        "{extensions:?}"
    );

    let contacts = client.contacts("luc", 10).await.unwrap();
    assert_eq!(contacts[0].name, "Lucía Fernández");
    assert_eq!(client.contacts("", 3).await.unwrap().len(), 3);
    let created = client
        .create_contact(&NewContact {
            name: "Irene Campos".into(),
            company: Some("Campos Abogados".into()),
            phones: vec![NewPhone::new(Some("mobile"), "612 34 56 78")],
            ..NewContact::default()
        })
        .await
        .unwrap();
    assert_eq!(created.phones[0].e164.as_deref(), Some("+34612345678"));
    assert_eq!(
        client.contacts("irene", 5).await.unwrap()[0].name,
        "Irene Campos"
    );

    demo.hub.shutdown().await;
}

#[tokio::test]
async fn call_control_reaches_the_pbx() {
    let demo = Demo::start().await;
    let client = &demo.client;
    let emulator = demo.hub.emulator.clone().unwrap();

    // Dial, wait for the PBX to report the call, hang up.
    let call = client.dial("933 456 789").await.unwrap();
    assert_eq!(call.status, CallStatus::Dialing);
    let request = emulator
        .wait_for_request("call", Duration::from_secs(5))
        .await
        .expect("the emulator got `call`");
    assert_eq!(request.status, 200);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        match client.hang_up(&call.id).await {
            Ok(()) => break,
            Err(e) if e.kind == ErrorKind::Conflict && tokio::time::Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            Err(e) => panic!("hang up: {e:?}"),
        }
    }
    emulator
        .wait_for_request("drop", Duration::from_secs(5))
        .await
        .expect("the emulator got `drop`");

    // Transfer a call that is talking.
    let scenario = ScenarioBuilder::new(chrono::Utc::now().timestamp_millis()).incoming_answered(
        "660010",
        "+34647460197",
        203,
        Duration::from_millis(10),
        Duration::from_secs(30),
        false,
    );
    let player = {
        let emulator = emulator.clone();
        tokio::spawn(async move { emulator.play(&scenario, 1.0).await })
    };
    let talking = loop {
        let page = client.calls(&CallQuery::default()).await.unwrap();
        if let Some(c) = page
            .calls
            .iter()
            .find(|c| c.provider_call_id == "660010" && c.status == CallStatus::Talking)
        {
            break c.clone();
        }
        assert!(tokio::time::Instant::now() < deadline + Duration::from_secs(10));
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    client.transfer(&talking.id, "301").await.unwrap();
    let redirect = emulator
        .wait_for_request("redirectIncoming", Duration::from_secs(5))
        .await
        .expect("the emulator got `redirectIncoming`");
    assert_eq!(redirect.body["destination"], "301");
    player.abort();
    drop(emulator);
    demo.hub.shutdown().await;
}

#[tokio::test]
async fn hub_errors_come_back_with_their_kind() {
    let demo = Demo::start().await;
    let client = &demo.client;

    let wrong = HubClient::new(&demo.hub.api_url, Sensitive::new("wrong-token".into())).unwrap();
    let e = wrong.me().await.unwrap_err();
    assert_eq!(e.kind, ErrorKind::Unauthorized, "{e:?}");
    assert_eq!(e.message, "unknown token");
    // `/healthz` needs no token.
    assert!(wrong.health().await.is_ok());

    for id in ["no-such-call", "a/b?c#d"] {
        let e = client.call(&CallId::from(id)).await.unwrap_err();
        assert_eq!(e.kind, ErrorKind::NotFound, "{id}: {e:?}");
        assert_eq!(e.message, format!("no call {id}"));
    }
    let invalid = [
        client.contacts("", 0).await.map(|_| ()),
        client.contacts("", 201).await.map(|_| ()),
        client.dial("  ").await.map(|_| ()),
        client.lookup("").await.map(|_| ()),
        client
            .create_contact(&NewContact {
                name: "Nobody".into(),
                ..NewContact::default()
            })
            .await
            .map(|_| ()),
    ];
    for result in invalid {
        let e = result.unwrap_err();
        assert_eq!(e.kind, ErrorKind::Invalid, "{e:?}");
    }

    demo.play(&missed("660020", "+34600111222")).await;
    let ended = client.calls(&CallQuery::default()).await.unwrap().calls[0].clone();
    let e = client.hang_up(&ended.id).await.unwrap_err();
    assert_eq!(e.kind, ErrorKind::Conflict, "{e:?}");

    // The PBX refusing the hub: the kind the hub reported.
    let emulator = demo.hub.emulator.clone().unwrap();
    emulator
        .inject(ringside_gamma_emulator::Fault::Status(503), None)
        .await;
    let e = client.extensions().await.unwrap_err();
    assert_eq!(e.kind, ErrorKind::Unavailable, "{e:?}");
    emulator.clear_faults().await;
    drop(emulator);

    let url = demo.hub.api_url.clone();
    demo.hub.shutdown().await;
    let e = client.me().await.unwrap_err();
    assert_eq!(e.kind, ErrorKind::Unavailable, "{e:?}");
    assert!(
        e.message.starts_with(&format!("hub unreachable at {url}")),
        "{}",
        e.message
    );
}

#[test]
fn bad_settings_are_refused_up_front() {
    let token = || Sensitive::new("t".to_string());
    let e = HubClient::new("ftp://hub.example", token()).unwrap_err();
    assert_eq!(e.kind, ErrorKind::Invalid);
    let e = HubClient::new("not a url", token()).unwrap_err();
    assert_eq!(e.kind, ErrorKind::Invalid);
    let e = HubClient::new("http://127.0.0.1:8700", Sensitive::new(" ".into())).unwrap_err();
    assert_eq!(e.kind, ErrorKind::Unauthorized);
    let client = HubClient::new("https://pbx.example/ringside/", token()).unwrap();
    assert_eq!(client.base_url(), "https://pbx.example/ringside/");
    assert!(!format!("{client:?}").contains("\"t\""));
}
