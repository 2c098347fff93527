//! Gamma wire events for the scenarios, built as the PBX sends them (JSON
//! with string booleans and millisecond timestamps) and parsed by the real
//! wire parser.

use chrono::{DateTime, Utc};
use ringside_core::Result;
use ringside_engine::IncomingEvent;
use serde_json::{Value, json};

/// The events of one call, in the order the PBX would send them.
#[derive(Debug, Clone)]
pub struct Script {
    root: String,
    customer: String,
    incoming: bool,
    start: DateTime<Utc>,
    events: Vec<Value>,
}

impl Script {
    /// A call with root id `root` from/to the customer, starting `ago` seconds
    /// before now (events are in the past, so nothing waits on the clock).
    pub fn new(root: &str, customer: &str, incoming: bool, ago: i64) -> Self {
        Self {
            root: root.into(),
            customer: national(customer),
            incoming,
            start: Utc::now() - chrono::Duration::seconds(ago),
            events: Vec::new(),
        }
    }

    fn base(&self, call_id: &str, state: &str, ext: &str, at: i64) -> Value {
        let ts = (self.start + chrono::Duration::seconds(at)).timestamp_millis();
        json!({
            "callId": call_id,
            "callLegId": format!("{call_id}.leg"),
            "state": state,
            "stateCause": "causeNormal",
            "extension": ext,
            "isIncoming": if self.incoming { "true" } else { "false" },
            "isRecording": "false",
            "displayedNumber": self.customer,
            "displayedExternalNumber": self.customer,
            "displayedLabel": self.customer,
            "firstCallId": self.root,
            "firstIsIncoming": if self.incoming { "true" } else { "false" },
            "eventTimestamp": ts.to_string(),
        })
    }

    /// A leg state on the root leg at `at` seconds into the call.
    pub fn state(mut self, state: &str, ext: &str, at: i64) -> Self {
        let ev = self.base(&self.root.clone(), state, ext, at);
        self.events.push(ev);
        self
    }

    /// The root leg drops with `causeTransfer`, and leg `root.N` alerts `to`.
    pub fn transfer(mut self, n: u32, from: &str, to: &str, at: i64) -> Self {
        let root = self.root.clone();
        let prev = if n == 1 {
            root.clone()
        } else {
            format!("{root}.{}", n - 1)
        };
        let mut drop = self.base(&prev, "dropped", from, at);
        drop["stateCause"] = json!("causeTransfer");
        let leg = format!("{root}.{n}");
        let mut alert = self.base(&leg, "alerting", to, at + 1);
        alert["originalCallId"] = json!(prev);
        alert["isIncoming"] = json!("true");
        self.events.push(drop);
        self.events.push(alert);
        self
    }

    /// A state on transfer leg `root.N`.
    pub fn leg_state(mut self, n: u32, state: &str, ext: &str, at: i64) -> Self {
        let leg = format!("{}.{n}", self.root);
        let mut ev = self.base(&leg, state, ext, at);
        ev["originalCallId"] = json!(self.root);
        self.events.push(ev);
        self
    }

    /// The recording became available (informative event, with its URL).
    pub fn recording(mut self, url: &str) -> Self {
        self.events.push(json!({
            "callId": self.root,
            "state": "recordingAvailable",
            "recordingURL": url,
            "stateCause": "informative",
        }));
        self
    }

    /// The events as the engine ingests them.
    pub fn events(&self) -> Result<Vec<IncomingEvent>> {
        self.events
            .iter()
            .map(|v| {
                let body = v.to_string();
                let event = ringside_gamma::parse_event(body.as_bytes(), None)?;
                Ok(IncomingEvent {
                    event,
                    body,
                    source_ip: None,
                })
            })
            .collect()
    }
}

/// How Gamma shows a Spanish number: with the outside-line `0` and national digits.
fn national(customer: &str) -> String {
    match customer.strip_prefix("+34") {
        Some(rest) => format!("0{rest}"),
        None => customer.to_string(),
    }
}
