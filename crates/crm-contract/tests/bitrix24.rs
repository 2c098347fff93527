//! The CRM contract suite on Bitrix24: `ringside-bitrix24` (a local
//! application with OAuth: telephony methods need an application context)
//! against `ringside-bitrix24-emulator`, under the leaky bucket.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use ringside_bitrix24::{BitrixAuth, BitrixCrm, BitrixSettings, MemoryTokenStore};
use ringside_bitrix24_emulator::{BitrixEmulator, EmulatorConfig, Fault as BFault};
use ringside_core::{NumberPlan, Sensitive};
use ringside_crm::{CrmProvider, CrmUser, Limits, Throttle};
use ringside_crm_contract::{Fault, Received, Target, crm_contract_tests};

struct Bitrix {
    emulator: BitrixEmulator,
    users: Vec<CrmUser>,
    store: Mutex<Arc<MemoryTokenStore>>,
    first_token: Mutex<String>,
}

impl Bitrix {
    fn extension_of(&self, user_id: u32) -> Option<String> {
        let id = user_id.to_string();
        self.users
            .iter()
            .find(|u| u.user_id.as_deref() == Some(id.as_str()))
            .map(|u| u.extension.clone())
    }
}

#[async_trait::async_trait]
impl Target for Bitrix {
    const NAME: &'static str = "bitrix24";

    async fn start() -> Self {
        let emulator = BitrixEmulator::start(EmulatorConfig::default())
            .await
            .expect("emulator starts");
        let ids = emulator.seed_demo();
        let user = |ext: &str, id: u32| CrmUser {
            extension: ext.into(),
            user_id: Some(id.to_string()),
            name: None,
            phone: None,
            email: None,
        };
        let users = vec![user("201", ids.ana), user("202", ids.bruno)];
        let first = emulator.add_refresh_token();
        Bitrix {
            emulator,
            users,
            store: Mutex::new(MemoryTokenStore::new()),
            first_token: Mutex::new(first),
        }
    }

    fn provider(&self, throttle: Arc<Throttle>, numbers: NumberPlan) -> Arc<dyn CrmProvider> {
        let config = self.emulator.config();
        let store = self.store.lock().unwrap().clone();
        let refresh_token = store
            .get()
            .unwrap_or_else(|| Sensitive::new(self.first_token.lock().unwrap().clone()));
        let mut settings = BitrixSettings::new(BitrixAuth::OAuth {
            portal_url: self.emulator.base_url(),
            client_id: config.client_id,
            client_secret: Sensitive::new(config.client_secret),
            refresh_token,
            store,
        });
        settings.numbers = numbers;
        Arc::new(BitrixCrm::new(settings, throttle).expect("valid settings"))
    }

    fn users(&self) -> Vec<CrmUser> {
        self.users.clone()
    }

    /// What the portal holds per registered call (a resent register with
    /// the same EXTERNAL_CALL_ID is the same call, not a second one).
    fn received(&self) -> Vec<Received> {
        let mut out = Vec::new();
        for call in self.emulator.calls() {
            let Some(call_id) = call.external_call_id.clone() else {
                continue;
            };
            let mut ring = BTreeMap::new();
            ring.insert(
                "direction".into(),
                if call.call_type == 1 {
                    "outbound"
                } else {
                    "inbound"
                }
                .to_string(),
            );
            ring.insert(
                "customer".into(),
                call.phone_number
                    .chars()
                    .filter(char::is_ascii_digit)
                    .collect(),
            );
            if let Some(agent) = self.extension_of(call.user_id) {
                ring.insert("agent".into(), agent);
            }
            out.push(Received {
                call_id: call_id.clone(),
                op: "ring".into(),
                detail: ring,
            });
            // The first "show" is the ring's own user; later ones are transfers.
            for user in call.shown_to.iter() {
                let mut detail = BTreeMap::new();
                if let Some(agent) = self.extension_of(*user) {
                    detail.insert("agent".into(), agent);
                }
                out.push(Received {
                    call_id: call_id.clone(),
                    op: "transfer".into(),
                    detail,
                });
            }
            if let Some(finish) = &call.finished {
                let mut detail = BTreeMap::new();
                let result = match finish.status_code.as_str() {
                    "200" => "answered",
                    "304" | "603-S" => "not_answered",
                    "486" => "busy",
                    other => other,
                };
                detail.insert("result".into(), result.to_string());
                detail.insert("duration".into(), finish.duration.to_string());
                if let Some(url) = &finish.record_url {
                    detail.insert("recording".into(), url.clone());
                }
                out.push(Received {
                    call_id: call_id.clone(),
                    op: "ended".into(),
                    detail,
                });
            }
            for (_, url) in &call.records {
                let mut detail = BTreeMap::new();
                detail.insert("recording".into(), url.clone());
                out.push(Received {
                    call_id: call_id.clone(),
                    op: "recording".into(),
                    detail,
                });
            }
        }
        out
    }

    fn request_count(&self) -> usize {
        self.emulator.requests().len()
    }

    fn fault(&self, fault: Fault) {
        match fault {
            Fault::ServerErrors { status, times } => {
                self.emulator.inject(BFault::ServerError { status, times })
            }
            Fault::RateLimited { times, .. } => {
                // Bitrix24's "wait" signal: QUERY_LIMIT_EXCEEDED (no
                // Retry-After; the adapter waits its documented second).
                self.emulator.inject(BFault::QueryLimit { times })
            }
            Fault::ApplyThenStall { ms, times } => {
                self.emulator.inject(BFault::ApplyThenStall { ms, times })
            }
            Fault::Outage(down) => self.emulator.set_down(down),
            Fault::ExpireCredentials => self.emulator.revoke_all_tokens(),
            Fault::RenewCredentials => {
                *self.store.lock().unwrap() = MemoryTokenStore::new();
                *self.first_token.lock().unwrap() = self.emulator.add_refresh_token();
            }
        }
    }

    fn has_no_request(&self, op: &str, _outbound: bool) -> bool {
        // Bitrix24 has no "answered" method: finish carries the outcome.
        op == "answered"
    }

    fn limits(&self) -> Option<Limits> {
        // The portal's bucket: 2 requests/s with a burst of 50.
        Some(Limits {
            requests_per_second: 2.0,
            burst: 50,
            timeout_seconds: 1.5,
        })
    }
}

crm_contract_tests!(Bitrix);

/// A burst of 300 calls in a minute is logged completely, and the throttle,
/// set to the portal's bucket, never lets Bitrix24 answer
/// QUERY_LIMIT_EXCEEDED. (The portal's bucket is scaled up, 100/s with a
/// burst of 50, so the run takes seconds, not the 5 minutes 600 requests need
/// at 2/s; the throttle mirrors whatever the plan is.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_of_300_calls_never_trips_the_bucket() {
    use ringside_core::{ContactLookup, SystemClock};
    use ringside_crm::{CombinedLookup, Crm, CrmSet};
    use ringside_crm_contract::{CUSTOMER, Script, contract_settings, wait_until};
    use ringside_engine::{Engine, EngineConfig};
    use std::time::Duration;

    let emulator = BitrixEmulator::start(EmulatorConfig {
        bucket_rate: 100.0,
        bucket_burst: 50,
        ..EmulatorConfig::default()
    })
    .await
    .unwrap();
    let ids = emulator.seed_demo();
    let first = emulator.add_refresh_token();
    let target = Arc::new(Bitrix {
        emulator: emulator.clone(),
        users: vec![CrmUser {
            extension: "201".into(),
            user_id: Some(ids.ana.to_string()),
            name: None,
            phone: None,
            email: None,
        }],
        store: Mutex::new(MemoryTokenStore::new()),
        first_token: Mutex::new(first),
    });
    let mut settings = contract_settings(target.as_ref());
    settings.limits = Limits {
        requests_per_second: 100.0,
        burst: 50,
        timeout_seconds: 5.0,
    };
    settings.delivery.wrap_up_seconds = 0;
    let dir = tempfile::tempdir().unwrap();
    let journal = ringside_journal::Journal::open(&dir.path().join("j.sqlite")).unwrap();
    let plan = NumberPlan::default();
    let t = target.clone();
    let plan2 = plan.clone();
    let crm = Crm::new("bitrix24", settings, plan, move |th| t.provider(th, plan2));
    let mut set = CrmSet::new(vec![crm]).unwrap();
    let lookup: Arc<dyn ContactLookup> =
        Arc::new(CombinedLookup::new(set.lookups(), Duration::from_secs(5)));
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

    let started = std::time::Instant::now();
    for i in 0..300 {
        let script = Script::new(&format!("burst-{i}"), CUSTOMER, true, 60 - i / 5)
            .state("ringing", "201", 0)
            .state("dropped", "201", 3);
        for ev in script.events().unwrap() {
            engine.ingest(ev).await.unwrap();
        }
    }
    let ingest = started.elapsed();
    let done = wait_until(Duration::from_secs(60), || {
        emulator
            .calls()
            .iter()
            .filter(|c| c.finished.is_some())
            .count()
            == 300
    })
    .await;
    let finished = emulator
        .calls()
        .iter()
        .filter(|c| c.finished.is_some())
        .count();
    assert!(done, "{finished} of 300 calls finished");
    assert_eq!(emulator.calls().len(), 300, "one registered call per call");
    assert_eq!(emulator.limit_hits(), 0, "the bucket was never overrun");
    let status = set.statuses().await.unwrap();
    assert_eq!(status[0].counts.parked, 0);
    eprintln!(
        "300 calls: ingested in {ingest:?}, all in Bitrix24 after {:?}",
        started.elapsed()
    );
}

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
