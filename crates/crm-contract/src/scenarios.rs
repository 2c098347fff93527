//! The scenarios. Each is `pub async fn name<T: Target>()`, panicking with a
//! clear message when the adapter breaks the contract.

use std::time::Duration;

use ringside_crm::Capability;

use crate::harness::wait_until;
use crate::{
    CLOSED_DEAL, CUSTOMER, CUSTOMER_NAME, Fault, OPEN_DEALS, Received, Rig, Script, Target,
    UNKNOWN_NUMBER,
};

fn unique_root(tag: &str) -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(1);
    format!(
        "{tag}{}{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    )
}

fn detail<'a>(r: &'a Received, key: &str) -> Option<&'a str> {
    r.detail.get(key).map(String::as_str)
}

fn live<T: Target>(rig: &Rig<T>) -> bool {
    rig.crms.crms()[0]
        .capabilities()
        .has(Capability::LiveCallEvents)
}

/// The operations a CRM with live events gets, or only the end.
fn expected<T: Target>(rig: &Rig<T>, live_ops: &[&str]) -> Vec<String> {
    expected_dir(rig, live_ops, false)
}

/// [`expected`] for a call of the given direction, without the operations
/// the CRM's API has no request for.
fn expected_dir<T: Target>(rig: &Rig<T>, live_ops: &[&str], outbound: bool) -> Vec<String> {
    live_ops
        .iter()
        .filter(|o| live(rig) || **o == "ended")
        .filter(|o| !rig.target.has_no_request(o, outbound))
        .map(|s| s.to_string())
        .collect()
}

/// Lookup finds the stored contact from every form the number arrives in,
/// with its open deals only; an unknown number finds nobody.
pub async fn lookup_with_every_number_form<T: Target>() {
    let rig = Rig::<T>::start().await;
    let crm = &rig.crms.crms()[0];
    if !crm.capabilities().has(Capability::LookupContact) {
        return;
    }
    for form in [
        CUSTOMER,
        "0647460197",
        "00647460197",
        "647460197",
        "+34 647 46 01 97",
        "647-46-01-97",
    ] {
        let info = rig
            .engine
            .lookup(form)
            .await
            .unwrap_or_else(|e| panic!("lookup {form}: {e}"));
        let m = info
            .lookup
            .chosen_match()
            .unwrap_or_else(|| panic!("{}: {form} matched {:?}", T::NAME, info.lookup.matches));
        assert_eq!(m.contact.name, CUSTOMER_NAME, "{}: {form}", T::NAME);
        assert_eq!(m.contact.source.system, T::NAME);
        if crm.capabilities().has(Capability::OpenDeals) {
            let mut names: Vec<_> = m.deals.iter().map(|d| d.name.as_str()).collect();
            names.sort();
            let mut want = OPEN_DEALS.to_vec();
            want.sort();
            assert_eq!(names, want, "{}: open deals for {form}", T::NAME);
            assert!(m.deals.iter().all(|d| d.open && d.name != CLOSED_DEAL));
        }
    }
    let none = rig.engine.lookup(UNKNOWN_NUMBER).await.unwrap();
    assert!(
        none.lookup.matches.is_empty(),
        "{}: unknown number matched",
        T::NAME
    );
    let anon = rig.engine.lookup("anonymous").await.unwrap();
    assert!(anon.lookup.matches.is_empty());
}

/// A repeated lookup is served from the cache without a request.
pub async fn lookup_is_cached<T: Target>() {
    let rig = Rig::<T>::start().await;
    if !rig.crms.crms()[0]
        .capabilities()
        .has(Capability::LookupContact)
    {
        return;
    }
    rig.engine.lookup(CUSTOMER).await.unwrap();
    let before = rig.target.request_count();
    let again = rig.engine.lookup("0647460197").await.unwrap();
    assert_eq!(
        again.lookup.chosen_match().unwrap().contact.name,
        CUSTOMER_NAME
    );
    assert_eq!(
        rig.target.request_count(),
        before,
        "{}: second lookup hit the CRM",
        T::NAME
    );
}

/// A stall `extra_ms` longer than the adapter's deadline.
fn stall_ms<T: Target>(rig: &Rig<T>, extra_ms: u64) -> u64 {
    (rig.settings().limits.timeout_seconds * 1000.0) as u64 + extra_ms
}

/// Inbound, answered: ring, answered, ended (answered, with the talk time).
pub async fn inbound_answered<T: Target>() {
    let rig = Rig::<T>::start().await;
    let root = unique_root("in-ans");
    let script = Script::new(&root, CUSTOMER, true, 600)
        .state("ringing", "201", 0)
        .state("talking", "201", 5)
        .state("dropped", "201", 65);
    rig.play(&script).await;
    let id = rig.call_id(&root).await;
    let want = expected(&rig, &["ring", "answered", "ended"]);
    let ops = rig.wait_for_ops(&id, want.len()).await;
    rig.wait_drained().await;
    assert_eq!(rig.ops_for(&id), want, "{}: {ops:?}", T::NAME);
    let got = rig.received_for(&id);
    let end = got.iter().find(|r| r.op == "ended").unwrap();
    assert_eq!(
        detail(end, "result"),
        Some("answered"),
        "{}: {end:?}",
        T::NAME
    );
    assert_eq!(detail(end, "duration"), Some("60"), "{}: {end:?}", T::NAME);
    if live(&rig) {
        let ring = &got[0];
        assert_eq!(
            detail(ring, "direction"),
            Some("inbound"),
            "{}: {ring:?}",
            T::NAME
        );
        assert_eq!(
            detail(ring, "customer"),
            Some("34647460197"),
            "{}: {ring:?}",
            T::NAME
        );
        if let Some(answered) = got.iter().find(|r| r.op == "answered") {
            assert_eq!(
                detail(answered, "agent"),
                Some("201"),
                "{}: {answered:?}",
                T::NAME
            );
        }
    }
}

/// Inbound, never answered: ring, ended as not answered.
pub async fn inbound_missed<T: Target>() {
    let rig = Rig::<T>::start().await;
    let root = unique_root("in-miss");
    rig.play(
        &Script::new(&root, CUSTOMER, true, 600)
            .state("ringing", "201", 0)
            .state("dropped", "201", 20),
    )
    .await;
    let id = rig.call_id(&root).await;
    let want = expected(&rig, &["ring", "ended"]);
    rig.wait_for_ops(&id, want.len()).await;
    rig.wait_drained().await;
    assert_eq!(rig.ops_for(&id), want);
    let end = rig.received_for(&id).pop().unwrap();
    assert_eq!(
        detail(&end, "result"),
        Some("not_answered"),
        "{}: {end:?}",
        T::NAME
    );
    assert_eq!(detail(&end, "duration"), Some("0"), "{}: {end:?}", T::NAME);
}

/// Outbound, answered by the customer.
pub async fn outbound_answered<T: Target>() {
    let rig = Rig::<T>::start().await;
    let root = unique_root("out-ans");
    rig.play(
        &Script::new(&root, CUSTOMER, false, 600)
            .state("alerting", "202", 0)
            .state("talking", "202", 10)
            .state("dropped", "202", 40),
    )
    .await;
    let id = rig.call_id(&root).await;
    let want = expected_dir(&rig, &["ring", "answered", "ended"], true);
    rig.wait_for_ops(&id, want.len()).await;
    rig.wait_drained().await;
    assert_eq!(rig.ops_for(&id), want);
    let got = rig.received_for(&id);
    if live(&rig) {
        assert_eq!(
            detail(&got[0], "direction"),
            Some("outbound"),
            "{}: {:?}",
            T::NAME,
            got[0]
        );
        assert_eq!(
            detail(&got[0], "agent"),
            Some("202"),
            "{}: {:?}",
            T::NAME,
            got[0]
        );
    }
    let end = got.last().unwrap();
    assert_eq!(detail(end, "result"), Some("answered"));
    assert_eq!(detail(end, "duration"), Some("30"));
}

/// Outbound, the customer never picked up.
pub async fn outbound_unanswered<T: Target>() {
    let rig = Rig::<T>::start().await;
    let root = unique_root("out-noans");
    rig.play(
        &Script::new(&root, CUSTOMER, false, 600)
            .state("alerting", "202", 0)
            .state("dropped", "202", 30),
    )
    .await;
    let id = rig.call_id(&root).await;
    let want = expected_dir(&rig, &["ring", "ended"], true);
    rig.wait_for_ops(&id, want.len()).await;
    rig.wait_drained().await;
    assert_eq!(rig.ops_for(&id), want);
    let end = rig.received_for(&id).pop().unwrap();
    assert_eq!(
        detail(&end, "result"),
        Some("not_answered"),
        "{}: {end:?}",
        T::NAME
    );
}

/// Answered by 201, transferred to 202 who answers: one logical call.
pub async fn transfer<T: Target>() {
    let rig = Rig::<T>::start().await;
    let root = unique_root("xfer");
    rig.play(
        &Script::new(&root, CUSTOMER, true, 600)
            .state("ringing", "201", 0)
            .state("talking", "201", 3)
            .transfer(1, "201", "202", 30)
            .leg_state(1, "talking", "202", 35)
            .leg_state(1, "dropped", "202", 95),
    )
    .await;
    let id = rig.call_id(&root).await;
    let want = expected(&rig, &["ring", "answered", "transfer", "ended"]);
    rig.wait_for_ops(&id, want.len()).await;
    rig.wait_drained().await;
    assert_eq!(rig.ops_for(&id), want, "{}", T::NAME);
    let got = rig.received_for(&id);
    if live(&rig) {
        let transfer = got.iter().find(|r| r.op == "transfer").expect("a transfer");
        assert_eq!(
            detail(transfer, "agent"),
            Some("202"),
            "{}: {transfer:?}",
            T::NAME
        );
    }
    assert_eq!(detail(got.last().unwrap(), "result"), Some("answered"));
}

/// The recording arrives after the end was logged: its own operation (or,
/// for CRMs that log only at the end, carried by the end).
pub async fn late_recording<T: Target>() {
    let rig = Rig::<T>::start().await;
    let root = unique_root("rec");
    let url = format!("https://recordings.example/{root}.mp3");
    let call = Script::new(&root, CUSTOMER, true, 600)
        .state("ringing", "201", 0)
        .state("talking", "201", 2)
        .state("dropped", "201", 32);
    rig.play(&call).await;
    let id = rig.call_id(&root).await;
    let first = expected(&rig, &["ring", "answered", "ended"]);
    rig.wait_for_ops(&id, first.len()).await;
    rig.wait_drained().await;
    rig.play(&Script::new(&root, CUSTOMER, true, 600).recording(&url))
        .await;
    let caps = rig.crms.crms()[0].capabilities();
    if caps.has(Capability::AttachRecordingLater) {
        let mut want = first.clone();
        want.push("recording".into());
        rig.wait_for_ops(&id, want.len()).await;
        rig.wait_drained().await;
        assert_eq!(rig.ops_for(&id), want);
        let rec = rig.received_for(&id).pop().unwrap();
        assert_eq!(
            detail(&rec, "recording"),
            Some(url.as_str()),
            "{}: {rec:?}",
            T::NAME
        );
    } else {
        rig.wait_drained().await;
        assert_eq!(
            rig.ops_for(&id),
            first,
            "{}: nothing more without the capability",
            T::NAME
        );
    }
}

/// Every event twice and out of order: the CRM still sees each operation once.
pub async fn duplicate_and_reordered_events<T: Target>() {
    let rig = Rig::<T>::start().await;
    let root = unique_root("dup");
    let script = Script::new(&root, CUSTOMER, true, 600)
        .state("ringing", "201", 0)
        .state("talking", "201", 5)
        .state("dropped", "201", 50);
    let events = script.events().unwrap();
    // dropped, talking, ringing, then all again in order.
    for ev in events.iter().rev().chain(events.iter()) {
        rig.engine.ingest(ev.clone()).await.unwrap();
    }
    let id = rig.call_id(&root).await;
    let want = expected(&rig, &["ring", "answered", "ended"]);
    rig.wait_for_ops(&id, want.len()).await;
    rig.wait_drained().await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(rig.ops_for(&id), want, "{}", T::NAME);
    let end = rig.received_for(&id).pop().unwrap();
    assert_eq!(detail(&end, "duration"), Some("45"));
}

/// A burst of 5xx: retried with backoff until delivered, each op once.
pub async fn server_error_burst<T: Target>() {
    let rig = Rig::<T>::start().await;
    rig.warm().await;
    rig.target.fault(Fault::ServerErrors {
        status: 503,
        times: 4,
    });
    let root = unique_root("5xx");
    rig.play(
        &Script::new(&root, CUSTOMER, true, 600)
            .state("ringing", "201", 0)
            .state("dropped", "201", 10),
    )
    .await;
    let id = rig.call_id(&root).await;
    let want = expected(&rig, &["ring", "ended"]);
    rig.wait_for_ops(&id, want.len()).await;
    rig.wait_drained().await;
    assert_eq!(rig.ops_for(&id), want);
    let status = rig.status().await;
    assert_eq!(status.counts.parked, 0);
}

/// A 429 with Retry-After: nothing goes out before it, then each op once.
pub async fn rate_limited<T: Target>() {
    let rig = Rig::<T>::start().await;
    rig.warm().await;
    rig.target.fault(Fault::RateLimited {
        retry_after_secs: 1,
        times: 1,
    });
    let root = unique_root("429");
    let started = tokio::time::Instant::now();
    rig.play(
        &Script::new(&root, CUSTOMER, true, 600)
            .state("ringing", "201", 0)
            .state("dropped", "201", 10),
    )
    .await;
    let id = rig.call_id(&root).await;
    let want = expected(&rig, &["ring", "ended"]);
    rig.wait_for_ops(&id, want.len()).await;
    assert!(
        started.elapsed() >= Duration::from_millis(950),
        "{}: delivered {:?} after a 1 s Retry-After",
        T::NAME,
        started.elapsed()
    );
    rig.wait_drained().await;
    assert_eq!(rig.ops_for(&id), want);
}

/// The CRM applies a request but answers too late (client timeout): the
/// retry asks first and does not send it again.
pub async fn timeout_after_the_crm_applied<T: Target>() {
    let rig = Rig::<T>::start().await;
    rig.warm().await;
    rig.target.fault(Fault::ApplyThenStall {
        ms: stall_ms(&rig, 900),
        times: 1,
    });
    let root = unique_root("stall");
    rig.play(
        &Script::new(&root, CUSTOMER, true, 600)
            .state("ringing", "201", 0)
            .state("talking", "201", 1)
            .state("dropped", "201", 21),
    )
    .await;
    let id = rig.call_id(&root).await;
    let want = expected(&rig, &["ring", "answered", "ended"]);
    rig.wait_for_ops(&id, want.len()).await;
    rig.wait_drained().await;
    tokio::time::sleep(Duration::from_millis(stall_ms(&rig, 1000))).await;
    assert_eq!(rig.ops_for(&id), want, "{}: each exactly once", T::NAME);
}

/// The CRM is down for a while (many retries), then recovers: everything
/// queued meanwhile arrives, in order per call, once.
pub async fn outage_then_recovery<T: Target>() {
    let rig = Rig::<T>::start().await;
    rig.target.fault(Fault::Outage(true));
    let mut roots = Vec::new();
    for i in 0..3 {
        let root = unique_root(&format!("out{i}-"));
        rig.play(
            &Script::new(&root, CUSTOMER, true, 600 - i * 100)
                .state("ringing", "201", 0)
                .state("talking", "201", 2)
                .state("dropped", "201", 12),
        )
        .await;
        roots.push(root);
    }
    // Long enough for several backoff rounds.
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let status = rig.status().await;
    assert!(status.counts.pending >= 3, "{}: {status:?}", T::NAME);
    assert_eq!(status.counts.delivered, 0);
    assert!(
        status.last_error.is_some(),
        "the outage is visible in the status"
    );
    let ids: Vec<String> = {
        let mut v = Vec::new();
        for r in &roots {
            v.push(rig.call_id(r).await);
        }
        v
    };
    for id in &ids {
        assert!(rig.ops_for(id).is_empty());
    }
    rig.target.fault(Fault::Outage(false));
    let want = expected(&rig, &["ring", "answered", "ended"]);
    for id in &ids {
        rig.wait_for_ops(id, want.len()).await;
    }
    rig.wait_drained().await;
    for id in &ids {
        assert_eq!(rig.ops_for(id), want, "{}: call {id}", T::NAME);
    }
}

/// Credentials expire: deliveries park with a clear reason (after one
/// refresh where the CRM has one); once renewed, retry delivers them once.
pub async fn expired_credentials<T: Target>() {
    let rig = Rig::<T>::start().await;
    rig.target.fault(Fault::ExpireCredentials);
    let root = unique_root("cred");
    rig.play(
        &Script::new(&root, CUSTOMER, true, 600)
            .state("ringing", "201", 0)
            .state("dropped", "201", 10),
    )
    .await;
    let id = rig.call_id(&root).await;
    let ok = wait_until(Duration::from_secs(10), || parked_count(&rig) > 0).await;
    let status = rig.status().await;
    assert!(ok, "{}: not parked: {status:?}", T::NAME);
    let parked = &status.parked[0];
    assert_eq!(
        parked.error_code.as_deref(),
        Some("unauthorized"),
        "{parked:?}"
    );
    assert!(
        parked
            .last_error
            .as_deref()
            .unwrap_or("")
            .contains("credentials"),
        "{}: the reason says what to do: {parked:?}",
        T::NAME
    );
    assert!(rig.ops_for(&id).is_empty());

    rig.target.fault(Fault::RenewCredentials);
    let rig = rig.reconfigure().await;
    let outbox = rig.crms.outbox(T::NAME).unwrap();
    assert_eq!(outbox.retry_parked(None).await.unwrap(), 1);
    let want = expected(&rig, &["ring", "ended"]);
    rig.wait_for_ops(&id, want.len()).await;
    rig.wait_drained().await;
    assert_eq!(rig.ops_for(&id), want);
    assert_eq!(rig.status().await.counts.parked, 0);
}

/// How many operations are parked (a synchronous read, for `wait_until`).
fn parked_count<T: Target>(rig: &Rig<T>) -> u64 {
    let crm = T::NAME.to_string();
    rig.engine
        .journal()
        .read_blocking(move |q| q.outbox_counts(&crm))
        .map(|c| c.parked)
        .unwrap_or(0)
}

/// The process stops while a request is in flight (the CRM applied it), and
/// starts again: nothing is lost and nothing is sent twice.
pub async fn restart_mid_delivery<T: Target>() {
    let rig = Rig::<T>::start().await;
    rig.warm().await;
    rig.target.fault(Fault::ApplyThenStall {
        ms: stall_ms(&rig, 2400),
        times: 1,
    });
    let root = unique_root("restart");
    rig.play(
        &Script::new(&root, CUSTOMER, true, 600)
            .state("ringing", "201", 0)
            .state("talking", "201", 4)
            .state("dropped", "201", 64),
    )
    .await;
    let id = rig.call_id(&root).await;
    // The first operation reached the CRM; its answer is stalled.
    rig.wait_for_ops(&id, 1).await;
    let before = rig.status().await;
    assert_eq!(before.counts.delivered, 0, "still waiting for the answer");
    let rig = rig.restart().await;
    let want = expected(&rig, &["ring", "answered", "ended"]);
    rig.wait_for_ops(&id, want.len()).await;
    rig.wait_drained().await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        rig.ops_for(&id),
        want,
        "{}: exactly once across the restart",
        T::NAME
    );
}

/// Events accepted while the worker was stopped are delivered after a restart.
pub async fn restart_with_a_backlog<T: Target>() {
    let rig = Rig::<T>::start().await;
    rig.target.fault(Fault::Outage(true));
    let root = unique_root("backlog");
    rig.play(
        &Script::new(&root, CUSTOMER, true, 600)
            .state("ringing", "201", 0)
            .state("dropped", "201", 10),
    )
    .await;
    let id = rig.call_id(&root).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let rig = rig.restart().await;
    rig.target.fault(Fault::Outage(false));
    let outbox = rig.crms.outbox(T::NAME).unwrap();
    outbox.retry_parked(None).await.unwrap(); // "retry now" also cuts the backoff
    let want = expected(&rig, &["ring", "ended"]);
    rig.wait_for_ops(&id, want.len()).await;
    rig.wait_drained().await;
    assert_eq!(rig.ops_for(&id), want);
}

/// The provider answers what it declares, and only that.
pub async fn capabilities_are_honest<T: Target>() {
    let rig = Rig::<T>::start().await;
    let crm = &rig.crms.crms()[0];
    let caps = crm.capabilities();
    let provider = crm.provider();
    assert!(
        caps.live_call_events || caps.log_at_end,
        "a CRM adapter logs calls"
    );
    if !caps.create_contact {
        let err = provider
            .create_contact(&ringside_crm::NewContact {
                name: "X".into(),
                phone: UNKNOWN_NUMBER.into(),
                company: None,
                email: None,
            })
            .await
            .unwrap_err();
        assert_eq!(err.kind, ringside_core::ErrorKind::Unsupported);
    }
    let info = crm.check().await.expect("test connection");
    assert!(!info.account.is_empty());
}

/// One `#[tokio::test]` per contract scenario for `$target`.
#[macro_export]
macro_rules! crm_contract_tests {
    ($target:ty) => {
        $crate::crm_contract_tests!(@each $target;
            lookup_with_every_number_form, lookup_is_cached, inbound_answered, inbound_missed,
            outbound_answered, outbound_unanswered, transfer, late_recording,
            duplicate_and_reordered_events, server_error_burst, rate_limited,
            timeout_after_the_crm_applied, outage_then_recovery, expired_credentials,
            restart_mid_delivery, restart_with_a_backlog, capabilities_are_honest);
    };
    (@each $target:ty; $($name:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() {
                $crate::$name::<$target>().await;
            }
        )*
    };
}
