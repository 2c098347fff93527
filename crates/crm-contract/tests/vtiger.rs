//! The CRM contract suite on Vtiger: `ringside-vtiger` against
//! `ringside-vtiger-emulator`.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use ringside_core::NumberPlan;
use ringside_crm::{CrmProvider, CrmUser, Throttle};
use ringside_crm_contract::{Fault, Received, Target, crm_contract_tests};
use ringside_vtiger::{VtigerCrm, VtigerSettings};
use ringside_vtiger_emulator::{EmulatorConfig, Fault as VtFault, Scope, VtigerEmulator};

struct Vtiger {
    emulator: VtigerEmulator,
    users: Vec<CrmUser>,
    /// The gateway secret the admin has configured in Ringside.
    configured_secret: Mutex<String>,
}

#[async_trait::async_trait]
impl Target for Vtiger {
    const NAME: &'static str = "vtiger";

    async fn start() -> Self {
        let emulator = VtigerEmulator::start(EmulatorConfig::default())
            .await
            .expect("emulator starts");
        // The demo data is the contract data set: Lucía (647 46 01 97) with
        // two open Potentials and a closed one; Ana on 201, Bruno on 202.
        let ids = emulator.seed_demo();
        let users = vec![
            CrmUser {
                extension: "201".into(),
                user_id: Some(ids.ana),
                name: Some("Ana García".into()),
                phone: Some("201".into()),
                email: None,
            },
            CrmUser {
                extension: "202".into(),
                user_id: Some(ids.bruno),
                name: Some("Bruno Díaz".into()),
                phone: Some("202".into()),
                email: None,
            },
        ];
        let secret = emulator.config().gateway_secret;
        Vtiger {
            emulator,
            users,
            configured_secret: Mutex::new(secret),
        }
    }

    fn provider(&self, throttle: Arc<Throttle>, numbers: NumberPlan) -> Arc<dyn CrmProvider> {
        let config = self.emulator.config();
        let mut settings = VtigerSettings::new(
            self.emulator.base_url(),
            config.username,
            config.access_key,
            self.configured_secret.lock().unwrap().clone(),
        );
        settings.numbers = numbers;
        Arc::new(VtigerCrm::new(settings, throttle).expect("valid settings"))
    }

    fn users(&self) -> Vec<CrmUser> {
        self.users.clone()
    }

    fn received(&self) -> Vec<Received> {
        self.emulator
            .gateway_events()
            .into_iter()
            .filter(|e| e.call_id != ringside_vtiger::PROBE_CALL_ID)
            .map(|e| {
                let p = |k: &str| e.params.get(k).cloned();
                let mut detail = BTreeMap::new();
                let op = match e.event.as_str() {
                    "call_initiated" => "ring",
                    "call_connected" => "answered",
                    "call_transfer" => "transfer",
                    "call_hangup" => "ended",
                    "call_recording" => "recording",
                    other => other,
                };
                if let Some(d) = p("direction") {
                    detail.insert("direction".into(), d);
                }
                if let Some(from) = p("from") {
                    detail.insert(
                        "customer".into(),
                        from.chars().filter(char::is_ascii_digit).collect(),
                    );
                }
                // The users' Office Phones are their extensions.
                if let Some(agent) = p("transferred_number").or_else(|| p("to")) {
                    detail.insert("agent".into(), agent);
                }
                if let Some(reason) = p("hangup_reason") {
                    let result = match reason.as_str() {
                        "completed" => "answered",
                        "no_answer" => "not_answered",
                        other => other,
                    };
                    detail.insert("result".into(), result.into());
                }
                if let Some(d) = p("billduration") {
                    detail.insert("duration".into(), d);
                }
                if let Some(r) = p("recordingurl") {
                    detail.insert("recording".into(), r);
                }
                Received {
                    call_id: e.call_id,
                    op: op.into(),
                    detail,
                }
            })
            .collect()
    }

    fn request_count(&self) -> usize {
        self.emulator.requests().len()
    }

    fn fault(&self, fault: Fault) {
        match fault {
            Fault::ServerErrors { status, times } => self.emulator.inject(VtFault::ServerError {
                status,
                times,
                scope: Scope::Gateway,
            }),
            Fault::RateLimited {
                retry_after_secs,
                times,
            } => self.emulator.inject(VtFault::RateLimited {
                retry_after_secs,
                times,
                scope: Scope::Gateway,
            }),
            Fault::ApplyThenStall { ms, times } => self.emulator.inject(VtFault::ApplyThenStall {
                ms,
                times,
                scope: Scope::Gateway,
            }),
            Fault::Outage(down) => self.emulator.set_down(down),
            Fault::ExpireCredentials => {
                // The admin regenerated the gateway's secret in Vtiger.
                self.emulator
                    .rotate_gateway_secret("vt-gw-secret-rotated".into());
            }
            Fault::RenewCredentials => {
                // ...and pasted the new one into Ringside's settings.
                *self.configured_secret.lock().unwrap() = self.emulator.config().gateway_secret;
            }
        }
    }
}

crm_contract_tests!(Vtiger);

/// Two CRMs at once, each with its own outbox: one being down holds back
/// only its own deliveries.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_crms_each_have_their_own_outbox() {
    use ringside_core::{ContactLookup, SystemClock};
    use ringside_crm::{CombinedLookup, Crm, CrmSet};
    use ringside_crm_contract::{CUSTOMER, Script, contract_settings, wait_until};
    use ringside_engine::{Engine, EngineConfig};
    use std::time::Duration;

    let a = Arc::new(Vtiger::start().await);
    let b = Arc::new(Vtiger::start().await);
    b.fault(Fault::Outage(true));
    let dir = tempfile::tempdir().unwrap();
    let journal = ringside_journal::Journal::open(&dir.path().join("j.sqlite")).unwrap();
    let plan = NumberPlan::default();
    let crm = |name: &str, t: &Arc<Vtiger>| {
        let t = t.clone();
        let plan2 = plan.clone();
        Crm::new(
            name,
            contract_settings(t.as_ref()),
            plan.clone(),
            move |th| t.provider(th, plan2),
        )
    };
    let mut set = CrmSet::new(vec![crm("vtiger-a", &a), crm("vtiger-b", &b)]).unwrap();
    let lookup: Arc<dyn ContactLookup> =
        Arc::new(CombinedLookup::new(set.lookups(), Duration::from_secs(5)));
    struct NoPbx;
    #[async_trait::async_trait]
    impl ringside_core::PbxControl for NoPbx {
        async fn dial(&self, _: &str, _: &str, _: &str) -> ringside_core::Result<()> {
            Err(ringside_core::Error::internal("no PBX"))
        }
        async fn hang_up(&self, _: &str) -> ringside_core::Result<()> {
            Err(ringside_core::Error::internal("no PBX"))
        }
        async fn transfer(&self, _: &str, _: &str) -> ringside_core::Result<()> {
            Err(ringside_core::Error::internal("no PBX"))
        }
        async fn extensions(&self) -> ringside_core::Result<Vec<ringside_core::Extension>> {
            Ok(Vec::new())
        }
    }
    let clock = Arc::new(SystemClock);
    let engine = Engine::new(
        EngineConfig::default(),
        journal.clone(),
        lookup,
        Arc::new(NoPbx),
        clock.clone(),
    )
    .with_outbox(set.hook());
    set.start(&journal, clock);

    let script = Script::new("two-crms-1", CUSTOMER, true, 300)
        .state("ringing", "201", 0)
        .state("dropped", "201", 9);
    for ev in script.events().unwrap() {
        engine.ingest(ev).await.unwrap();
    }
    let ops = |t: &Vtiger| t.received().into_iter().map(|r| r.op).collect::<Vec<_>>();
    assert!(wait_until(Duration::from_secs(10), || ops(&a).len() == 2).await);
    assert_eq!(ops(&a), ["ring", "ended"]);
    assert!(ops(&b).is_empty(), "b is down");
    let statuses = set.statuses().await.unwrap();
    let b_status = statuses.iter().find(|s| s.crm == "vtiger-b").unwrap();
    assert!(b_status.counts.pending >= 1, "{b_status:?}");
    b.fault(Fault::Outage(false));
    set.outbox("vtiger-b")
        .unwrap()
        .retry_parked(None)
        .await
        .unwrap();
    assert!(wait_until(Duration::from_secs(10), || ops(&b).len() == 2).await);
    assert_eq!(ops(&b), ["ring", "ended"]);
    assert_eq!(ops(&a), ["ring", "ended"], "a still exactly once");
}
