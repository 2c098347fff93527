//! The live feed against a real hub: updates of a played call, resuming
//! after the line was cut without losing or repeating an update, replay
//! from the start, and what it says when the hub goes away.

mod common;

use std::time::Duration;

use common::*;
use ringside_client::{HubClient, LiveEvent};
use ringside_core::{CallStatus, ErrorKind, Sensitive};

#[tokio::test]
async fn a_played_ring_reaches_the_feed_in_order() {
    let demo = Demo::start().await;
    let mut feed = demo.client.live(None);
    connected(&mut feed).await;
    let before = demo.hub.engine.latest_update_seq().await.unwrap();

    demo.play(&missed("550001", "+34647460197")).await;
    let expected = demo.seqs_after(before).await;
    assert!(expected.len() >= 2, "{expected:?}");
    let got = updates(&mut feed, expected.len()).await;
    assert_eq!(got.iter().map(|u| u.seq).collect::<Vec<_>>(), expected);
    assert!(got.iter().all(|u| u.call.provider_call_id == "550001"));
    assert_eq!(got.first().unwrap().call.status, CallStatus::Ringing);
    assert_eq!(got.last().unwrap().call.status, CallStatus::Ended);
    assert!(
        next(&mut feed, Duration::from_millis(300)).await.is_none(),
        "nothing more"
    );
    demo.hub.shutdown().await;
}

#[tokio::test]
async fn a_cut_line_resumes_with_exactly_the_missed_updates() {
    let demo = Demo::start().await;
    let proxy = Proxy::start(demo.hub.addr()).await;
    let client = HubClient::new(&proxy.url(), demo.hub.token.clone()).unwrap();
    let mut feed = client.live(None);
    connected(&mut feed).await;

    // Cut before any update: the hub's opening position is the resume point.
    proxy.cut();
    match next(&mut feed, Duration::from_secs(10)).await {
        Some(LiveEvent::Disconnected { reason }) => {
            assert_eq!(reason.kind, ErrorKind::Unavailable, "{reason:?}");
        }
        other => panic!("expected Disconnected, got {other:?}"),
    }
    demo.play(&missed("550010", "+34911234567")).await;
    let first_outage = demo.seqs_after(0).await;
    proxy.restore();
    connected(&mut feed).await;
    let got = updates(&mut feed, first_outage.len()).await;
    assert_eq!(got.iter().map(|u| u.seq).collect::<Vec<_>>(), first_outage);
    let last = *first_outage.last().unwrap();

    // Cut again after updates: what happened meanwhile, once, in order.
    proxy.cut();
    assert!(matches!(
        next(&mut feed, Duration::from_secs(10)).await,
        Some(LiveEvent::Disconnected { .. })
    ));
    demo.play(&missed("550011", "+34600111222")).await;
    demo.play(&missed("550012", "+34647460197")).await;
    // The feed keeps trying while the line is down, without repeating itself.
    assert!(next(&mut feed, Duration::from_millis(800)).await.is_none());
    let missed_meanwhile = demo.seqs_after(last).await;
    assert!(missed_meanwhile.len() >= 4, "{missed_meanwhile:?}");
    proxy.restore();
    connected(&mut feed).await;
    let got = updates(&mut feed, missed_meanwhile.len()).await;
    assert_eq!(
        got.iter().map(|u| u.seq).collect::<Vec<_>>(),
        missed_meanwhile
    );
    assert!(
        got.iter()
            .all(|u| ["550011", "550012"].contains(&u.call.provider_call_id.as_str())),
        "{got:?}"
    );

    // And live again afterwards, with no duplicate at the seam.
    let last = *missed_meanwhile.last().unwrap();
    demo.play(&missed("550013", "+34911234567")).await;
    let live = demo.seqs_after(last).await;
    let got = updates(&mut feed, live.len()).await;
    assert_eq!(got.iter().map(|u| u.seq).collect::<Vec<_>>(), live);
    assert!(next(&mut feed, Duration::from_millis(300)).await.is_none());
    drop(proxy);
    demo.hub.shutdown().await;
}

#[tokio::test]
async fn after_zero_replays_everything_of_the_agent() {
    let demo = Demo::start().await;
    demo.play(&missed("550020", "+34647460197")).await;
    demo.play(&missed("550021", "+34911234567")).await;
    let all = demo.seqs_after(0).await;
    let mut feed = demo.client.live(Some(0));
    connected(&mut feed).await;
    let got = updates(&mut feed, all.len()).await;
    assert_eq!(got.iter().map(|u| u.seq).collect::<Vec<_>>(), all);
    // From a given point: only what came after it.
    let mut feed = demo.client.live(Some(all[1]));
    connected(&mut feed).await;
    let got = updates(&mut feed, all.len() - 2).await;
    assert_eq!(got.iter().map(|u| u.seq).collect::<Vec<_>>(), all[2..]);
    demo.hub.shutdown().await;
}

#[tokio::test]
async fn the_feed_says_why_it_is_down() {
    let demo = Demo::start().await;
    let wrong = HubClient::new(&demo.hub.api_url, Sensitive::new("wrong".into())).unwrap();
    let mut refused = wrong.live(None);
    match next(&mut refused, Duration::from_secs(10)).await {
        Some(LiveEvent::Disconnected { reason }) => {
            assert_eq!(reason.kind, ErrorKind::Unauthorized, "{reason:?}");
        }
        other => panic!("expected Disconnected, got {other:?}"),
    }
    // Retrying with the same refusal is not news.
    assert!(
        next(&mut refused, Duration::from_millis(1000))
            .await
            .is_none()
    );

    let mut feed = demo.client.live(None);
    connected(&mut feed).await;
    demo.hub.shutdown().await;
    match next(&mut feed, Duration::from_secs(10)).await {
        Some(LiveEvent::Disconnected { reason }) => {
            assert_eq!(reason.kind, ErrorKind::Unavailable, "{reason:?}");
        }
        other => panic!("expected Disconnected, got {other:?}"),
    }
    assert!(next(&mut feed, Duration::from_millis(1000)).await.is_none());
}
