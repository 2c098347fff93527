//! Which operations a call owes a CRM (integration spec §5).
//!
//! Planning is a pure function of the call as it is now and the operations
//! already in the CRM's outbox, so it can run after every change (an event,
//! notes, reconciliation, a delivery) and never enqueues anything twice: each
//! operation has a stable key, and the journal keeps one row per key.

use std::time::Duration;

use chrono::{DateTime, Utc};
use ringside_core::{Call, CallStatus, LegState, NumberPlan, PhoneNumber};
use ringside_journal::{NewOutboxOp, OutboxOp, OutboxState};
use serde::{Deserialize, Serialize};

use crate::Capabilities;

/// What a [`Planner`] stores with an operation, read back at delivery.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct OpData {
    /// The extension concerned (ringing, answering, or the transfer's target).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extension: Option<String>,
    /// For a transfer: the extension the call came from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from_extension: Option<String>,
    /// For a late recording: its URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
}

/// Each operation's place in its call.
const RANK_RING: i64 = 0;
const RANK_ANSWERED: i64 = 10;
/// Plus the leg's index: transfers in the order of their legs.
const RANK_TRANSFER: i64 = 100;
const RANK_ENDED: i64 = 10_000;
const RANK_RECORDING: i64 = 10_001;

/// Record, inside an open write, that `crm` already knows `call` as ringing
/// (the CRM started it, e.g. Bitrix24's own click-to-call, and gave it an
/// id): a delivered `ring` whose `sent` later operations read, so the ring
/// is never sent to that CRM.
pub fn record_external_ring(
    tx: &mut ringside_journal::WriteTx<'_>,
    crm: &str,
    call: &Call,
    sent: &serde_json::Value,
    now: DateTime<Utc>,
) -> ringside_core::Result<()> {
    let op = NewOutboxOp {
        crm: crm.to_string(),
        call_id: call.id.clone(),
        op_key: "ring".into(),
        rank: RANK_RING,
        kind: "ring".into(),
        data: "{}".into(),
        not_before: now,
    };
    if let Some(id) = tx.enqueue_outbox(&op, now)? {
        tx.outbox_delivered(id, now, &sent.to_string())?;
    }
    Ok(())
}

/// How one CRM wants calls planned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlanPolicy {
    /// Ring, answered and transfer as they happen (Vtiger, Zoho, Bitrix24);
    /// otherwise only the end (amoCRM).
    pub live_events: bool,
    /// A recording that arrives after the end gets its own operation.
    pub recording_later: bool,
    /// Hold the end this long after the call ended, so notes typed in the
    /// pop right after hanging up travel with it.
    pub wrap_up: Duration,
    /// When the PBX said the call is recorded but no URL came yet, hold the
    /// end up to this long for it (CRMs that cannot attach one later).
    pub recording_wait: Duration,
}

impl PlanPolicy {
    pub fn for_capabilities(
        caps: &Capabilities,
        wrap_up: Duration,
        recording_wait: Duration,
    ) -> Self {
        Self {
            live_events: caps.live_call_events,
            recording_later: caps.attach_recording_later,
            wrap_up,
            recording_wait,
        }
    }
}

/// Plans one CRM's operations.
#[derive(Debug, Clone)]
pub struct Planner {
    crm: String,
    policy: PlanPolicy,
    numbers: NumberPlan,
}

impl Planner {
    pub fn new(crm: impl Into<String>, policy: PlanPolicy, numbers: NumberPlan) -> Self {
        Self {
            crm: crm.into(),
            policy,
            numbers,
        }
    }

    pub fn crm(&self) -> &str {
        &self.crm
    }

    pub fn policy(&self) -> &PlanPolicy {
        &self.policy
    }

    /// The operations `call` owes this CRM that `existing` (its outbox rows
    /// for the call) does not hold yet, in delivery order. `now` is when the
    /// planning happens: the end waits its wrap-up from then at the earliest,
    /// so events that arrive shortly after (reordered) still make it.
    pub fn plan(&self, call: &Call, existing: &[OutboxOp], now: DateTime<Utc>) -> Vec<NewOutboxOp> {
        if call.status == CallStatus::Dialing || self.is_internal(call) {
            return Vec::new();
        }
        let has = |key: &str| existing.iter().any(|o| o.op_key == key);
        // An operation whose moment has passed (a later one was already
        // delivered: a very late, reordered event) is not sent at all: the
        // CRM would move the call backwards.
        let delivered_rank = existing
            .iter()
            .filter(|o| o.state == OutboxState::Delivered)
            .map(|o| o.rank)
            .max();
        let mut ops = Vec::new();
        let mut push = |key: String,
                        kind: &str,
                        rank: i64,
                        data: OpData,
                        not_before: DateTime<Utc>| {
            if has(&key) {
                return;
            }
            if delivered_rank.is_some_and(|r| r > rank) {
                tracing::info!(call = %call.id, crm = %self.crm, op = %key, "not sending an operation that arrived after a later one was delivered");
                return;
            }
            ops.push(NewOutboxOp {
                crm: self.crm.clone(),
                call_id: call.id.clone(),
                op_key: key,
                rank,
                kind: kind.to_string(),
                data: serde_json::to_string(&data).unwrap_or_else(|_| "{}".into()),
                not_before,
            });
        };
        let first = call.legs.first();
        if self.policy.live_events {
            let ringing_ext = first
                .and_then(|l| l.extension.clone())
                .or_else(|| call.extension.clone());
            push(
                "ring".into(),
                "ring",
                RANK_RING,
                OpData {
                    extension: ringing_ext,
                    ..OpData::default()
                },
                now,
            );
            if call.answered_at.is_some() {
                let answering = call
                    .legs
                    .iter()
                    .filter_map(|l| l.reached(LegState::Talking).map(|m| (m.at, l)))
                    .min_by_key(|(at, _)| *at)
                    .and_then(|(_, l)| l.extension.clone())
                    .or_else(|| call.extension.clone());
                push(
                    "answered".into(),
                    "answered",
                    RANK_ANSWERED,
                    OpData {
                        extension: answering,
                        ..OpData::default()
                    },
                    now,
                );
            }
            for (i, leg) in call.legs.iter().enumerate() {
                if leg.transferred_from.is_none() || leg.extension.is_none() {
                    continue;
                }
                let from_extension = call.legs[..i]
                    .iter()
                    .rev()
                    .find_map(|l| l.extension.clone());
                push(
                    format!("transfer:{}", leg.provider_call_id),
                    "transfer",
                    RANK_TRANSFER + i as i64,
                    OpData {
                        extension: leg.extension.clone(),
                        from_extension,
                        url: None,
                    },
                    now,
                );
            }
        }
        if call.ended_at.is_some() && call.outcome.is_some() {
            let mut hold = self.policy.wrap_up;
            if !self.policy.recording_later && call.recording && call.recording_url.is_none() {
                hold = hold.max(self.policy.recording_wait);
            }
            // The hold counts from when we learn of the end (the PBX's clock
            // and ours need not agree).
            let not_before = now + chrono::Duration::from_std(hold).unwrap_or_default();
            push(
                "ended".into(),
                "ended",
                RANK_ENDED,
                OpData {
                    extension: call.extension.clone(),
                    ..OpData::default()
                },
                not_before,
            );
            if self.policy.recording_later
                && let Some(url) = &call.recording_url
                && let Some(ended) = existing.iter().find(|o| o.op_key == "ended")
                && ended.state == OutboxState::Delivered
                && !ended
                    .sent
                    .as_deref()
                    .is_some_and(|s| s.contains(url.as_str()))
            {
                push(
                    "recording".into(),
                    "recording",
                    RANK_RECORDING,
                    OpData {
                        url: Some(url.clone()),
                        ..OpData::default()
                    },
                    now,
                );
            }
        }
        ops
    }

    /// Extension-to-extension calls are not customer calls: no CRM logs them.
    fn is_internal(&self, call: &Call) -> bool {
        matches!(
            self.numbers.normalize(&call.remote_number),
            PhoneNumber::Extension(_)
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use ringside_core::fold::CallFold;
    use ringside_core::{CallId, EventKind, PbxEvent, StateCause};

    fn event_at(call_id: &str, state: LegState, ext: &str, s: i64) -> PbxEvent {
        PbxEvent {
            provider: "gamma".into(),
            root_call_id: Some(call_id.into()),
            call_id: call_id.into(),
            leg_id: Some(format!("{call_id}-leg")),
            original_call_id: None,
            kind: EventKind::Leg { state },
            cause: StateCause::Normal,
            at: Some(at(s)),
            extension: Some(ext.into()),
            incoming: Some(true),
            recording: Some(false),
            remote_number: Some("+34647460197".into()),
            remote_label: None,
            external_call_id: None,
        }
    }

    fn at(s: i64) -> DateTime<Utc> {
        Utc.timestamp_opt(1_790_000_000 + s, 0).unwrap()
    }

    fn planner(live: bool) -> Planner {
        Planner::new(
            "vtiger",
            PlanPolicy {
                live_events: live,
                recording_later: live,
                wrap_up: Duration::from_secs(15),
                recording_wait: Duration::from_secs(120),
            },
            NumberPlan::default(),
        )
    }

    fn keys(ops: &[NewOutboxOp]) -> Vec<&str> {
        ops.iter().map(|o| o.op_key.as_str()).collect()
    }

    fn stored(ops: Vec<NewOutboxOp>, state: OutboxState, sent: Option<&str>) -> Vec<OutboxOp> {
        ops.into_iter()
            .enumerate()
            .map(|(i, o)| OutboxOp {
                id: i as i64 + 1,
                crm: o.crm,
                call_id: o.call_id,
                op_key: o.op_key,
                rank: o.rank,
                kind: o.kind,
                data: o.data,
                state,
                attempts: 1,
                created_at: at(0),
                not_before: o.not_before,
                next_attempt_at: at(0),
                error_code: None,
                last_error: None,
                delivered_at: None,
                sent: sent.map(str::to_string),
            })
            .collect()
    }

    fn answered_call() -> Call {
        let fold = CallFold::new(NumberPlan::default());
        let mut call = fold.start(
            CallId("c".into()),
            &event_at("1", LegState::Ringing, "201", 0),
            at(0),
        );
        fold.apply(
            &mut call,
            &event_at("1", LegState::Talking, "201", 5),
            at(5),
        );
        fold.apply(
            &mut call,
            &event_at("1", LegState::Dropped, "201", 65),
            at(65),
        );
        call
    }

    #[test]
    fn an_answered_call_plans_ring_answered_ended_once() {
        let call = answered_call();
        let p = planner(true);
        let ops = p.plan(&call, &[], call.ended_at.unwrap());
        assert_eq!(keys(&ops), ["ring", "answered", "ended"]);
        assert_eq!(
            ops[2].not_before,
            call.ended_at.unwrap() + chrono::Duration::seconds(15)
        );
        let data: OpData = serde_json::from_str(&ops[1].data).unwrap();
        assert_eq!(data.extension.as_deref(), Some("201"));
        let existing = stored(ops, OutboxState::Pending, None);
        assert!(
            p.plan(&call, &existing, call.ended_at.unwrap()).is_empty(),
            "planning again adds nothing"
        );
    }

    #[test]
    fn end_only_crms_get_the_end_held_for_a_promised_recording() {
        let mut call = answered_call();
        call.recording = true;
        let ops = planner(false).plan(&call, &[], at(70));
        assert_eq!(keys(&ops), ["ended"]);
        assert_eq!(ops[0].not_before, at(70) + chrono::Duration::seconds(120));
    }

    #[test]
    fn a_late_recording_is_its_own_operation_only_after_the_end_went_without_it() {
        let mut call = answered_call();
        let p = planner(true);
        let first = p.plan(&call, &[], call.ended_at.unwrap());
        call.recording_url = Some("https://rec.example/1.mp3".into());
        let pending = stored(first.clone(), OutboxState::Pending, None);
        assert!(
            p.plan(&call, &pending, call.ended_at.unwrap()).is_empty(),
            "a pending end will carry the URL"
        );
        let sent_without = stored(first.clone(), OutboxState::Delivered, Some("{}"));
        assert_eq!(
            keys(&p.plan(&call, &sent_without, call.ended_at.unwrap())),
            ["recording"]
        );
        let sent_with = stored(
            first,
            OutboxState::Delivered,
            Some("{\"recordingurl\":\"https://rec.example/1.mp3\"}"),
        );
        assert!(
            p.plan(&call, &sent_with, call.ended_at.unwrap()).is_empty(),
            "the end already carried it"
        );
    }

    #[test]
    fn an_operation_overtaken_by_a_delivered_later_one_is_dropped() {
        let call = answered_call();
        let p = planner(true);
        let mut ended_first: Vec<NewOutboxOp> = p
            .plan(&call, &[], call.ended_at.unwrap())
            .into_iter()
            .filter(|o| o.op_key != "answered")
            .collect();
        ended_first.sort_by_key(|o| o.rank);
        let delivered = stored(ended_first, OutboxState::Delivered, Some("{}"));
        assert!(
            p.plan(&call, &delivered, call.ended_at.unwrap()).is_empty(),
            "answered after the end is not sent"
        );
        let pending = stored(
            p.plan(&call, &[], call.ended_at.unwrap())
                .into_iter()
                .filter(|o| o.op_key != "answered")
                .collect(),
            OutboxState::Pending,
            None,
        );
        let late = p.plan(&call, &pending, call.ended_at.unwrap());
        assert_eq!(keys(&late), ["answered"]);
        assert!(late[0].rank < pending.iter().find(|o| o.op_key == "ended").unwrap().rank);
    }

    #[test]
    fn internal_and_dialing_calls_owe_nothing() {
        let fold = CallFold::new(NumberPlan::default());
        let mut ev = event_at("2", LegState::Ringing, "201", 0);
        ev.remote_number = Some("202".into());
        let call = fold.start(CallId("i".into()), &ev, at(0));
        assert!(planner(true).plan(&call, &[], at(0)).is_empty());
        let dialing = fold.dialing(CallId("d".into()), "gamma", "201", "+34647460197", at(0));
        assert!(planner(true).plan(&dialing, &[], at(0)).is_empty());
    }
}
