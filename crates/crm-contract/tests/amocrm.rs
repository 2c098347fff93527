//! The CRM contract suite on amoCRM: `ringside-amocrm` (API v4 calls, OAuth
//! with rotating refresh tokens) against `ringside-amocrm-emulator`, under
//! amo's real budget of 7 requests per second.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use ringside_amocrm::{AmoAuth, AmoCrm, AmoSettings, MemoryTokenStore};
use ringside_amocrm_emulator::{AmoEmulator, EmulatorConfig, Fault as AFault, Scope};
use ringside_core::{NumberPlan, Sensitive};
use ringside_crm::{CrmProvider, CrmUser, Limits, Throttle};
use ringside_crm_contract::{Fault, Received, Target, crm_contract_tests};

struct Amo {
    emulator: AmoEmulator,
    users: Vec<CrmUser>,
    /// Where the rotating refresh token lives (the keyring, in the hub).
    store: Mutex<Arc<MemoryTokenStore>>,
    first_token: Mutex<String>,
}

#[async_trait::async_trait]
impl Target for Amo {
    const NAME: &'static str = "amocrm";

    async fn start() -> Self {
        let emulator = AmoEmulator::start(EmulatorConfig::default())
            .await
            .expect("emulator starts");
        let ids = emulator.seed_demo();
        let user = |ext: &str, id: u64| CrmUser {
            extension: ext.into(),
            user_id: Some(id.to_string()),
            name: None,
            phone: None,
            email: None,
        };
        let users = vec![user("201", ids.ana), user("202", ids.bruno)];
        let first = emulator.add_refresh_token();
        Amo {
            emulator,
            users,
            store: Mutex::new(MemoryTokenStore::new()),
            first_token: Mutex::new(first),
        }
    }

    fn provider(&self, throttle: Arc<Throttle>, numbers: NumberPlan) -> Arc<dyn CrmProvider> {
        let config = self.emulator.config();
        let store = self.store.lock().unwrap().clone();
        // After a restart the adapter starts from the last token it stored.
        let refresh_token = store
            .get()
            .unwrap_or_else(|| Sensitive::new(self.first_token.lock().unwrap().clone()));
        let auth = AmoAuth::OAuth {
            client_id: config.client_id,
            client_secret: Sensitive::new(config.client_secret),
            redirect_uri: config.redirect_uri,
            refresh_token,
            store,
        };
        let mut settings = AmoSettings::new(self.emulator.base_url(), auth);
        settings.numbers = numbers;
        Arc::new(AmoCrm::new(settings, throttle).expect("valid settings"))
    }

    fn users(&self) -> Vec<CrmUser> {
        self.users.clone()
    }

    fn received(&self) -> Vec<Received> {
        self.emulator
            .calls()
            .into_iter()
            .map(|c| {
                let mut detail = BTreeMap::new();
                detail.insert("direction".into(), c.direction.clone());
                detail.insert(
                    "customer".into(),
                    c.phone.chars().filter(char::is_ascii_digit).collect(),
                );
                let result = match c.call_status {
                    Some(4) => "answered",
                    Some(6) => "not_answered",
                    Some(7) => "busy",
                    _ => "other",
                };
                detail.insert("result".into(), result.into());
                detail.insert("duration".into(), c.duration.to_string());
                if let Some(agent) = c.responsible_user_id.and_then(|id| {
                    self.users
                        .iter()
                        .find(|u| u.user_id.as_deref() == Some(id.to_string().as_str()))
                        .map(|u| u.extension.clone())
                }) {
                    detail.insert("agent".into(), agent);
                }
                if let Some(link) = c.link {
                    detail.insert("recording".into(), link);
                }
                Received {
                    call_id: c.uniq.unwrap_or_default(),
                    op: "ended".into(),
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
            Fault::ServerErrors { status, times } => self.emulator.inject(AFault::ServerError {
                status,
                times,
                scope: Scope::Api,
            }),
            Fault::RateLimited {
                retry_after_secs,
                times,
            } => self.emulator.inject(AFault::RateLimited {
                retry_after_secs: Some(retry_after_secs),
                times,
                scope: Scope::Api,
            }),
            Fault::ApplyThenStall { ms, times } => self.emulator.inject(AFault::ApplyThenStall {
                ms,
                times,
                scope: Scope::Api,
            }),
            Fault::Outage(down) => self.emulator.set_down(down),
            Fault::ExpireCredentials => {
                // The account owner revoked the integration's access.
                self.emulator.revoke_all_tokens();
            }
            Fault::RenewCredentials => {
                // ...and authorised it again: a fresh refresh token.
                *self.store.lock().unwrap() = MemoryTokenStore::new();
                *self.first_token.lock().unwrap() = self.emulator.add_refresh_token();
            }
        }
    }

    fn limits(&self) -> Option<Limits> {
        // amo allows 7 requests per second: stay under it (5/s with a burst
        // of 2 never puts 8 in one second). A lookup is ~5 requests.
        Some(Limits {
            requests_per_second: 5.0,
            burst: 2,
            timeout_seconds: 2.5,
        })
    }
}

crm_contract_tests!(Amo);
