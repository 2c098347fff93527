//! Realistic Gamma event bodies, built with the emulator's
//! [`ScenarioBuilder`]: every body carries the "Always Present" attributes
//! as strings, timestamps in milliseconds and `<root>.N` ids after
//! transfers, exactly as the PBX posts them. Every call gets a fresh,
//! process-wide unique id.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use chrono::{TimeZone, Utc};
use ringside_gamma_emulator::ScenarioBuilder;

/// Call ids handed out so far in this process (ids stay unique across runs
/// that share a journal).
static NEXT_CALL: AtomicU64 = AtomicU64::new(0);
/// The first call id, in the vendor's 13-digit style.
const FIRST_CALL_ID: u64 = 1_795_000_000_000;

/// One webhook request: the body and the `callId` it is about.
#[derive(Debug, Clone)]
pub struct Event {
    /// The event's `callId` (`X`, or `X.1` after a transfer).
    pub call_id: String,
    /// The JSON body as the PBX posts it.
    pub body: String,
}

/// One call's events, in the order the PBX sends them.
#[derive(Debug, Clone)]
pub struct Call {
    pub kind: Kind,
    pub events: Vec<Event>,
}

/// The shapes of call in a workload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Ringing, talking, dropped at one extension.
    IncomingAnswered,
    /// Ringing, dropped.
    IncomingMissed,
    /// Alerting, talking, dropped from one extension.
    OutgoingAnswered,
    /// Incoming, answered, cold-transferred to a second extension
    /// (`causeTransfer`, then `X.1` alerting, talking, dropped).
    Transfer,
}

/// The mix of a 20-call cycle: 40 % answered, 20 % missed, 25 % outgoing,
/// 15 % transferred.
const MIX: [Kind; 20] = {
    use Kind::{IncomingAnswered as A, IncomingMissed as M, OutgoingAnswered as O, Transfer as T};
    [A, O, M, A, T, O, A, M, A, O, A, T, M, O, A, A, M, O, T, A]
};

fn next_call_id() -> u64 {
    FIRST_CALL_ID + NEXT_CALL.fetch_add(1, Ordering::Relaxed)
}

/// A Spanish mobile number, different for every call.
fn customer(n: u64) -> String {
    format!("+346{:08}", (n.wrapping_mul(7_919)) % 100_000_000)
}

/// Milliseconds since the epoch of the call's first event: calls start one
/// second apart from 2026-11-22 09:00 UTC.
fn start_ms(n: u64) -> i64 {
    let base = Utc
        .with_ymd_and_hms(2026, 11, 22, 9, 0, 0)
        .single()
        .map_or(0, |t| t.timestamp_millis());
    base + i64::try_from(n % 1_000_000).unwrap_or(0) * 1_000
}

/// Build one call of `kind` at `extension` with the emulator's scenario
/// builder; transfers go to `transfer_to`.
pub fn call(kind: Kind, extension: u32, transfer_to: u32) -> Call {
    let id = next_call_id();
    let root = id.to_string();
    let number = customer(id);
    let mut timeline = ScenarioBuilder::new(start_ms(id));
    let secs = Duration::from_secs;
    let scenario = match kind {
        Kind::IncomingAnswered => {
            timeline.incoming_answered(&root, &number, extension, secs(6), secs(90), false)
        }
        Kind::IncomingMissed => timeline.incoming_missed(&root, &number, extension, secs(4)),
        Kind::OutgoingAnswered => {
            timeline.outgoing_answered(&root, extension, &number, secs(5), secs(58))
        }
        Kind::Transfer => {
            timeline.transfer(&root, &number, extension, transfer_to, secs(4), secs(40))
        }
    };
    let events = scenario
        .steps
        .iter()
        .map(|step| Event {
            call_id: step
                .event
                .get("callId")
                .and_then(|v| v.as_str())
                .unwrap_or(&root)
                .to_owned(),
            body: step.event.to_string(),
        })
        .collect();
    Call { kind, events }
}

/// Calls in the standard mix until exactly `events` events: the agents are
/// `extensions` in turn, transfers go to the next agent in the list. The last
/// call may be cut short (a prefix of a real call, as when a run stops).
pub fn mix(events: usize, extensions: &[u32]) -> Vec<Call> {
    let extensions = if extensions.is_empty() {
        &[203][..]
    } else {
        extensions
    };
    let mut calls = Vec::new();
    let mut total = 0;
    let mut i = 0;
    while total < events {
        let extension = extensions[i % extensions.len()];
        let transfer_to = extensions[(i + 1) % extensions.len()];
        let transfer_to = if transfer_to == extension {
            301
        } else {
            transfer_to
        };
        let mut call = call(MIX[i % MIX.len()], extension, transfer_to);
        call.events.truncate(events - total);
        total += call.events.len();
        calls.push(call);
        i += 1;
    }
    calls
}

/// The events of `calls`, call after call.
pub fn flatten(calls: &[Call]) -> Vec<Event> {
    calls
        .iter()
        .flat_map(|c| c.events.iter().cloned())
        .collect()
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    #[test]
    fn a_mix_has_exactly_the_events_asked_for_and_every_body_parses() {
        let calls = mix(101, &[201, 203]);
        let events = flatten(&calls);
        assert_eq!(events.len(), 101);
        let roots: HashSet<String> = calls.iter().map(|c| c.events[0].call_id.clone()).collect();
        assert_eq!(roots.len(), calls.len(), "call ids are unique");
        for event in &events {
            let parsed = ringside_gamma::parse_event(event.body.as_bytes(), None).unwrap();
            assert_eq!(parsed.call_id, event.call_id);
        }
        assert!(calls.iter().any(|c| c.kind == Kind::Transfer));
        let transfer = calls.iter().find(|c| c.kind == Kind::Transfer).unwrap();
        assert!(transfer.events.iter().any(|e| e.call_id.ends_with(".1")));
    }
}
