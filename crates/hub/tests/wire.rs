//! `ringside-api` mirrors a few engine types so clients need no storage
//! crates: their JSON must be the engine's, field for field.

mod common;

use common::*;
use serde::Serialize;
use serde::de::DeserializeOwned;

/// `original`'s JSON read as `T` and written again is the same JSON.
fn same_shape<T: DeserializeOwned + Serialize>(original: &impl Serialize) {
    let json = serde_json::to_value(original).unwrap();
    let mirrored: T =
        serde_json::from_value(json.clone()).unwrap_or_else(|e| panic!("{e}: {json:#}"));
    assert_eq!(serde_json::to_value(&mirrored).unwrap(), json);
}

#[tokio::test]
async fn mirrored_types_keep_the_engine_shapes() {
    let hub = TestHub::new().await;
    hub.post_all(ringside_gamma::seed::INCOMING_ANSWERED).await;
    let engine = &hub.state.engine;
    let updates = engine.updates_since(None, 0, 100).await.unwrap();
    assert!(!updates.is_empty());
    for update in &updates {
        same_shape::<ringside_api::CallUpdate>(update);
    }
    let call = &updates.last().unwrap().call;
    let events = engine.call_events(&call.id).await.unwrap();
    assert!(!events.is_empty());
    for event in events {
        let json = serde_json::to_value(&event).unwrap();
        let api = ringside_hub::api::call_event(event);
        assert_eq!(serde_json::to_value(&api).unwrap(), json);
        same_shape::<ringside_api::CallEvent>(&json);
    }
    let info = engine.lookup(&call.remote_number).await.unwrap();
    assert!(!info.recent_calls.is_empty());
    same_shape::<ringside_api::NumberInfo>(&info);
}
