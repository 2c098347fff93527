//! The call-control simulation: calls triggered with `call`, ended with
//! `drop`, moved with `redirectIncoming`, and calls a scenario plays, all
//! tracked while active and reported through the ordered event queue.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;
use tokio::sync::oneshot;

use crate::callbacks::Delivery;
use crate::events::{Displayed, Leg, Origin, leg_id};
use crate::state::{Shared, lock};

/// The first call id the emulator hands out.
pub const FIRST_CALL_ID: u64 = 480_000;

/// The header a client may set to name a call with its own id.
pub const EXTERNAL_CALL_ID_HEADER: &str = "X-VTCRM-External-Call-Id";

/// A call in progress, with what its events must carry.
struct ActiveCall {
    leg: Leg,
    /// Distinguishes this leg from an earlier one with the same id, so a
    /// stale timer never reports on a call that moved on.
    generation: u64,
    headers: Vec<(String, String)>,
    parameters: Vec<(String, String)>,
    external_id: Option<String>,
}

/// The calls in progress.
pub(crate) struct CallBook {
    calls: Vec<ActiveCall>,
    next_call_id: u64,
    next_line: u64,
}

impl Default for CallBook {
    fn default() -> Self {
        Self {
            calls: Vec::new(),
            next_call_id: FIRST_CALL_ID,
            next_line: 704_000,
        }
    }
}

impl CallBook {
    fn line(&mut self) -> u64 {
        self.next_line += 1;
        self.next_line
    }

    fn position(&self, id: &str) -> Option<usize> {
        self.calls
            .iter()
            .position(|c| c.leg.call_id == id || c.external_id.as_deref() == Some(id))
    }

    /// The ids of the calls in progress.
    pub(crate) fn active_ids(&self) -> Vec<String> {
        self.calls.iter().map(|c| c.leg.call_id.clone()).collect()
    }
}

/// A `call` request, validated.
pub(crate) struct DialRequest {
    pub(crate) extension: u32,
    pub(crate) destination: String,
    pub(crate) headers: Vec<(String, String)>,
    pub(crate) parameters: Vec<(String, String)>,
}

/// The id named in a `drop` or `redirectIncoming` is not an active call.
#[derive(Debug)]
pub(crate) struct UnknownCall;

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

fn known_extension(shared: &Shared, number: &str) -> Option<u32> {
    let extension = number.trim().parse().ok()?;
    shared.config.extension_name(extension).map(|_| extension)
}

fn enqueue(shared: &Shared, call: &ActiveCall, event: Value) {
    shared
        .events
        .send(event, call.headers.clone(), call.parameters.clone());
}

/// Starts an outgoing call and, when dialling is enabled, its progress:
/// `prompting` now, then `alerting` (or `ringing` at an extension), then
/// `talking`. Returns the new call id.
pub(crate) fn dial(shared: &Arc<Shared>, request: DialRequest) -> String {
    let now = now_ms();
    let internal = known_extension(shared, &request.destination);
    let displayed = match internal {
        Some(extension) => Displayed::extension(extension),
        None => Displayed::outside(&request.destination),
    };
    let mut book = lock(&shared.calls);
    let call_id = book.next_call_id.to_string();
    book.next_call_id += 1;
    let generation = book.line();
    let external_id = request
        .headers
        .iter()
        .find(|(name, _)| name.eq_ignore_ascii_case(EXTERNAL_CALL_ID_HEADER))
        .map(|(_, value)| value.clone());
    let call = ActiveCall {
        leg: Leg {
            call_id: call_id.clone(),
            leg_id: leg_id(now, generation),
            extension: request.extension,
            incoming: false,
            recording: false,
            first: Origin {
                from: request.extension.to_string(),
                to: displayed.number.clone(),
                incoming: false,
                call_id: call_id.clone(),
            },
            displayed,
            original: None,
            original_dialed: request.destination,
        },
        generation,
        headers: request.headers,
        parameters: request.parameters,
        external_id,
    };
    if shared.config.dial.enabled {
        enqueue(
            shared,
            &call,
            call.leg.event("prompting", "causeNormal", now),
        );
        tokio::spawn(ring_then_answer(
            Arc::clone(shared),
            call_id.clone(),
            generation,
            internal,
        ));
    }
    book.calls.push(call);
    call_id
}

/// Ends an active call: `dropped` with `causeNormal`.
pub(crate) fn hang_up(shared: &Shared, id: &str) -> Result<(), UnknownCall> {
    let mut book = lock(&shared.calls);
    let index = book.position(id).ok_or(UnknownCall)?;
    let call = book.calls.remove(index);
    enqueue(
        shared,
        &call,
        call.leg.event("dropped", "causeNormal", now_ms()),
    );
    Ok(())
}

/// Cold-transfers an active call: `dropped` with `causeTransfer`, then the
/// call `<root>.N` alerting at the destination extension and answered after
/// the dial delay. A destination outside the PBX only ends the leg.
pub(crate) fn redirect(
    shared: &Arc<Shared>,
    id: &str,
    destination: &str,
) -> Result<(), UnknownCall> {
    let now = now_ms();
    let mut book = lock(&shared.calls);
    let index = book.position(id).ok_or(UnknownCall)?;
    let call = book.calls.remove(index);
    enqueue(
        shared,
        &call,
        call.leg.event("dropped", "causeTransfer", now),
    );
    let Some(extension) = known_extension(shared, destination) else {
        return Ok(());
    };
    let generation = book.line();
    let leg = call.leg.transferred(
        extension,
        format!("{}_1", leg_id(now, generation)),
        destination.to_owned(),
    );
    let moved = ActiveCall {
        leg,
        generation,
        headers: call.headers,
        parameters: call.parameters,
        external_id: call.external_id,
    };
    enqueue(
        shared,
        &moved,
        moved.leg.event("alerting", "causeNormal", now),
    );
    if shared.config.dial.enabled {
        tokio::spawn(answer_later(
            Arc::clone(shared),
            moved.leg.call_id.clone(),
            generation,
        ));
    }
    book.calls.push(moved);
    Ok(())
}

/// Sleeps, returning false if the emulator stops first.
async fn pause(shared: &Shared, delay: Duration) -> bool {
    let mut stopping = shared.stopping.clone();
    tokio::select! {
        () = tokio::time::sleep(delay) => true,
        _ = stopping.wait_for(|stop| *stop) => false,
    }
}

/// Moves a still-current call to `state`, reporting it; false if the call
/// ended or moved on meanwhile.
fn advance(
    shared: &Shared,
    call_id: &str,
    generation: u64,
    state: &str,
    change: impl FnOnce(&mut Leg),
) -> bool {
    let mut book = lock(&shared.calls);
    let Some(call) = book
        .calls
        .iter_mut()
        .find(|c| c.leg.call_id == call_id && c.generation == generation)
    else {
        return false;
    };
    change(&mut call.leg);
    let event = call.leg.event(state, "causeNormal", now_ms());
    enqueue(shared, call, event);
    true
}

async fn ring_then_answer(
    shared: Arc<Shared>,
    call_id: String,
    generation: u64,
    internal: Option<u32>,
) {
    if !pause(&shared, shared.config.dial.ring_delay).await {
        return;
    }
    // An internal call is reported only on the side that receives it.
    let rang = match internal {
        Some(extension) => advance(&shared, &call_id, generation, "ringing", |leg| {
            leg.displayed = Displayed::extension(leg.extension);
            leg.extension = extension;
            leg.incoming = true;
        }),
        None => advance(&shared, &call_id, generation, "alerting", |_| {}),
    };
    if rang {
        answer_later(shared, call_id, generation).await;
    }
}

async fn answer_later(shared: Arc<Shared>, call_id: String, generation: u64) {
    let Some(delay) = shared.config.dial.answer_after else {
        return;
    };
    if pause(&shared, delay).await {
        advance(&shared, &call_id, generation, "talking", |_| {});
    }
}

/// The calls one scenario playback started, so that its later events for a
/// call ended through the API (dropped or redirected) are not sent.
#[derive(Default)]
pub(crate) struct Playback {
    started: HashSet<String>,
}

const CALL_STATES: [&str; 5] = ["prompting", "ringing", "alerting", "talking", "dropped"];

impl Playback {
    /// Queues a scenario event unless its call was ended through the API,
    /// tracking the call as active until the scenario drops it.
    pub(crate) fn queue(
        &mut self,
        shared: &Shared,
        event: &Value,
    ) -> Option<oneshot::Receiver<Delivery>> {
        let state = event.get("state").and_then(Value::as_str).unwrap_or("");
        let call_id = event.get("callId").and_then(Value::as_str);
        let mut book = lock(&shared.calls);
        if let (Some(call_id), true) = (call_id, CALL_STATES.contains(&state)) {
            let index = book.calls.iter().position(|c| c.leg.call_id == call_id);
            if self.started.contains(call_id) && index.is_none() {
                return None;
            }
            if state == "dropped" {
                if let Some(index) = index {
                    book.calls.remove(index);
                }
                self.started.remove(call_id);
            } else if let Some(leg) = Leg::from_event(event) {
                self.started.insert(call_id.to_owned());
                match index {
                    Some(index) => book.calls[index].leg = leg,
                    None => {
                        let generation = book.line();
                        book.calls.push(ActiveCall {
                            leg,
                            generation,
                            headers: Vec::new(),
                            parameters: Vec::new(),
                            external_id: None,
                        });
                    }
                }
            }
        }
        Some(shared.events.enqueue(event.clone(), Vec::new(), Vec::new()))
    }
}
