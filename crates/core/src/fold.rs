//! The call fold (integration spec §1): PBX leg events in, logical calls out.
//!
//! The fold keeps, per leg, the first time each state was reached, and derives
//! everything else (status, answered/ended instants, talk time, outcome, owner
//! extension) from those facts. That makes it idempotent per
//! `(callId, callLegId, state)` and order-independent: a duplicate changes
//! nothing, a late event fills in a fact, and nothing moves a call backwards.

use chrono::{DateTime, Duration, Utc};

use crate::call::{Call, CallId, CallStatus, Direction, Leg, LegState, Outcome, StateMark};
use crate::event::{EventKind, PbxEvent, StateCause};
use crate::phone::{NumberPlan, PhoneNumber};

/// `provider_call_id` of a dialed call the PBX has not reported yet.
pub const DIALING_PREFIX: &str = "ringside:";

/// What applying one event did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Applied {
    /// The call changed.
    Changed,
    /// The fact was already known (a repeated event).
    Duplicate,
    /// Nothing the fold understands (an unknown state); kept in the journal only.
    Ignored,
}

/// Folds provider events into logical calls with one number plan.
#[derive(Debug, Clone)]
pub struct CallFold {
    plan: NumberPlan,
}

/// The root id of a transfer chain from a leg id: `1558393109565.2` → `1558393109565`.
pub fn chain_root(call_id: &str) -> &str {
    match call_id.rsplit_once('.') {
        Some((root, n))
            if !root.is_empty() && !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()) =>
        {
            chain_root(root)
        }
        _ => call_id,
    }
}

impl CallFold {
    pub fn new(plan: NumberPlan) -> Self {
        Self { plan }
    }

    pub fn plan(&self) -> &NumberPlan {
        &self.plan
    }

    /// The root id of the logical call an event belongs to, when no stored leg
    /// says otherwise: `firstCallId`, else the chain root of `originalCallId`,
    /// else the chain root of `callId`.
    pub fn root_id(ev: &PbxEvent) -> String {
        if let Some(root) = ev.root_call_id.as_deref().filter(|s| !s.trim().is_empty()) {
            return root.trim().to_string();
        }
        if let Some(orig) = ev
            .original_call_id
            .as_deref()
            .filter(|s| !s.trim().is_empty())
        {
            return chain_root(orig.trim()).to_string();
        }
        chain_root(ev.call_id.trim()).to_string()
    }

    /// A new call for the chain `ev` belongs to, with `ev` applied.
    pub fn start(&self, id: CallId, ev: &PbxEvent, now: DateTime<Utc>) -> Call {
        let mut call = Call::new(
            id,
            &ev.provider,
            Self::root_id(ev),
            ev.at.unwrap_or(now),
            now,
        );
        self.apply(&mut call, ev, now);
        call
    }

    /// A call Ringside dialed itself, before the PBX reports anything.
    pub fn dialing(
        &self,
        id: CallId,
        provider: &str,
        extension: &str,
        destination: &str,
        now: DateTime<Utc>,
    ) -> Call {
        let mut call = Call::new(id, provider, String::new(), now, now);
        call.provider_call_id = format!("{DIALING_PREFIX}{}", call.id);
        call.external_call_id = Some(call.id.0.clone());
        call.direction = Direction::Outbound;
        call.remote_number = self.plan.normalize(destination).display();
        call.remote_raw = Some(destination.to_string());
        call.extension = Some(extension.to_string());
        call.status = CallStatus::Dialing;
        call
    }

    /// Apply one event to the call it belongs to.
    pub fn apply(&self, call: &mut Call, ev: &PbxEvent, now: DateTime<Utc>) -> Applied {
        // A call Ringside dialed learns the PBX's id from its first event.
        if call.provider_call_id.starts_with(DIALING_PREFIX) {
            call.provider_call_id = Self::root_id(ev);
        }
        let identified = self.adopt_identity(call, ev);
        let applied = match &ev.kind {
            EventKind::Leg { state } => self.apply_leg(call, ev, *state, now),
            EventKind::RecordingAvailable { url } => match url {
                Some(url) if call.recording_url.as_deref() != Some(url.as_str()) => {
                    call.recording_url = Some(url.clone());
                    call.recording = true;
                    Applied::Changed
                }
                None if !call.recording => {
                    call.recording = true;
                    Applied::Changed
                }
                _ => Applied::Duplicate,
            },
            EventKind::TranscriptionAvailable { transcript } => {
                if call.transcript.as_ref() == Some(transcript) {
                    Applied::Duplicate
                } else {
                    call.transcript = Some(transcript.clone());
                    Applied::Changed
                }
            }
            EventKind::AppData { data } => {
                if call.app_data.contains(data) {
                    Applied::Duplicate
                } else {
                    call.app_data.push(data.clone());
                    Applied::Changed
                }
            }
            EventKind::Unknown { .. } => Applied::Ignored,
        };
        if let Some(ext_id) = ev.external_call_id.as_deref().filter(|s| !s.is_empty())
            && call.external_call_id.is_none()
        {
            call.external_call_id = Some(ext_id.to_string());
        }
        let applied = match applied {
            Applied::Duplicate | Applied::Ignored if identified => Applied::Changed,
            other => other,
        };
        if applied == Applied::Changed {
            call.last_event_at = now;
            derive(call);
        }
        applied
    }

    /// Take the customer's number, the direction and the owner extension from
    /// the event. The root leg is authoritative; any other event (a transfer
    /// leg, IVR data) only fills in what the call does not know yet. Returns
    /// whether anything changed.
    fn adopt_identity(&self, call: &mut Call, ev: &PbxEvent) -> bool {
        let before = (
            call.remote_number.clone(),
            call.direction,
            call.extension.clone(),
            call.recording,
        );
        let is_leg = matches!(ev.kind, EventKind::Leg { .. });
        let is_root_leg =
            is_leg && chain_root(&ev.call_id) == ev.call_id && ev.call_id == call.provider_call_id;
        let knows_number = !call.remote_number.is_empty();
        if is_root_leg || !knows_number {
            if let Some(raw) = ev.remote_number.as_deref().filter(|s| !s.trim().is_empty()) {
                call.remote_number = self.plan.normalize(raw).display();
                call.remote_raw = Some(raw.to_string());
                call.remote_label = ev.remote_label.clone();
            } else if is_leg && !knows_number {
                call.remote_number = PhoneNumber::Anonymous.display();
            }
        }
        if let Some(incoming) = ev.incoming
            && (is_root_leg || call.legs.is_empty())
        {
            call.direction = if incoming {
                Direction::Inbound
            } else {
                Direction::Outbound
            };
        }
        if call.extension.is_none() && ev.extension.is_some() {
            call.extension = ev.extension.clone();
        }
        if ev.recording == Some(true) {
            call.recording = true;
        }
        before
            != (
                call.remote_number.clone(),
                call.direction,
                call.extension.clone(),
                call.recording,
            )
    }

    fn apply_leg(
        &self,
        call: &mut Call,
        ev: &PbxEvent,
        state: LegState,
        now: DateTime<Utc>,
    ) -> Applied {
        let at = ev.at.unwrap_or(now);
        let idx = call.legs.iter().position(|l| {
            l.provider_call_id == ev.call_id
                && (l.provider_leg_id == ev.leg_id
                    || l.provider_leg_id.is_none()
                    || ev.leg_id.is_none())
        });
        let leg = match idx {
            Some(i) => &mut call.legs[i],
            None => {
                call.legs.push(Leg {
                    provider_call_id: ev.call_id.clone(),
                    provider_leg_id: ev.leg_id.clone(),
                    extension: ev.extension.clone(),
                    incoming: ev.incoming,
                    transferred_from: ev.original_call_id.clone(),
                    states: Vec::new(),
                });
                call.legs.last_mut().expect("just pushed")
            }
        };
        let mut filled = false;
        if leg.provider_leg_id.is_none() && ev.leg_id.is_some() {
            leg.provider_leg_id = ev.leg_id.clone();
            filled = true;
        }
        if leg.extension.is_none() && ev.extension.is_some() {
            leg.extension = ev.extension.clone();
            filled = true;
        }
        if leg.reached(state).is_some() {
            return if filled {
                Applied::Changed
            } else {
                Applied::Duplicate
            };
        }
        leg.states.push(StateMark {
            state,
            at,
            cause: ev.cause.clone(),
        });
        leg.states.sort_by_key(|m| (m.state.rank(), m.at));
        Applied::Changed
    }

    /// Close a call whose end never arrived, as `failed`. Returns whether it closed it.
    pub fn reconcile(&self, call: &mut Call, now: DateTime<Utc>, after: Duration) -> bool {
        if call.status == CallStatus::Ended || now - call.last_event_at < after {
            return false;
        }
        call.reconciled = true;
        call.ended_at = Some(now);
        call.last_event_at = now;
        derive(call);
        true
    }

    /// Close a call the PBX refused (e.g. a dial that failed) as `failed`.
    pub fn close_failed(&self, call: &mut Call, now: DateTime<Utc>) {
        self.reconcile(call, now, Duration::zero());
    }

    /// Fold a whole event sequence in memory (replays and tests). Call ids are
    /// `provider:root`.
    pub fn fold_all<'a>(
        &self,
        events: impl IntoIterator<Item = &'a PbxEvent>,
        now: DateTime<Utc>,
    ) -> Vec<Call> {
        let mut calls: Vec<Call> = Vec::new();
        for ev in events {
            let found = calls
                .iter()
                .position(|c| c.legs.iter().any(|l| l.provider_call_id == ev.call_id))
                .or_else(|| {
                    let root = Self::root_id(ev);
                    calls.iter().position(|c| c.provider_call_id == root)
                });
            match found {
                Some(i) => {
                    self.apply(&mut calls[i], ev, now);
                }
                None => {
                    let id = CallId(format!("{}:{}", ev.provider, Self::root_id(ev)));
                    calls.push(self.start(id, ev, now));
                }
            }
        }
        calls
    }
}

/// Recompute every derived field of the call from its legs' facts.
fn derive(call: &mut Call) {
    let marks = || call.legs.iter().flat_map(|l| l.states.iter());
    if let Some(first) = marks().map(|m| m.at).min() {
        call.started_at = call.started_at.min(first);
    }
    call.answered_at = marks()
        .filter(|m| m.state == LegState::Talking)
        .map(|m| m.at)
        .min();

    let active: Vec<&Leg> = call
        .legs
        .iter()
        .filter(|l| !l.states.is_empty() && l.reached(LegState::Dropped).is_none())
        .collect();
    let last_drop = call
        .legs
        .iter()
        .filter_map(|l| l.reached(LegState::Dropped))
        .max_by_key(|m| m.at)
        .cloned();

    let live_status = if !active.is_empty() {
        let furthest = active
            .iter()
            .filter_map(|l| l.current())
            .map(|m| m.state)
            .max_by_key(|s| s.rank());
        Some(match furthest {
            Some(LegState::Talking) => CallStatus::Talking,
            Some(LegState::Prompting) => CallStatus::Dialing,
            _ => CallStatus::Ringing,
        })
    } else {
        match &last_drop {
            Some(m) if m.cause == StateCause::Transfer => Some(CallStatus::Transferring),
            Some(_) => None,
            // No leg yet (a dialed call, or only informative events so far).
            None => Some(call.status.min_live()),
        }
    };

    match live_status {
        Some(status) if !call.reconciled => {
            call.status = status;
            call.ended_at = None;
            call.outcome = None;
            call.talk_seconds = 0;
        }
        Some(_) => {
            // Closed by reconciliation; ended_at was set then.
            call.status = CallStatus::Ended;
            call.outcome = Some(Outcome::Failed);
            call.talk_seconds = talk(call.answered_at, call.ended_at);
        }
        None => {
            call.reconciled = false;
            call.status = CallStatus::Ended;
            call.ended_at = last_drop.as_ref().map(|m| m.at);
            call.talk_seconds = talk(call.answered_at, call.ended_at);
            call.outcome = Some(if call.answered_at.is_some() {
                Outcome::Answered
            } else if last_drop
                .as_ref()
                .is_some_and(|m| m.cause == StateCause::Busy)
            {
                Outcome::Busy
            } else {
                match call.direction {
                    Direction::Inbound => Outcome::Missed,
                    Direction::Outbound => Outcome::NoAnswer,
                }
            });
        }
    }
    if let Some(leg) = call.current_leg()
        && leg.extension.is_some()
    {
        call.extension = leg.extension.clone();
    }
}

fn talk(answered: Option<DateTime<Utc>>, ended: Option<DateTime<Utc>>) -> i64 {
    match (answered, ended) {
        (Some(a), Some(e)) => (e - a).num_seconds().max(0),
        _ => 0,
    }
}

impl CallStatus {
    /// For a call with no leg facts: keep `Dialing`, otherwise `Ringing`.
    fn min_live(self) -> CallStatus {
        match self {
            CallStatus::Dialing => CallStatus::Dialing,
            _ => CallStatus::Ringing,
        }
    }
}

#[cfg(test)]
mod tests;
