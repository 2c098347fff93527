//! The CRM contract suite on Zoho: `ringside-zoho` against
//! `ringside-zoho-emulator` (accounts server + PhoneBridge v2).

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use ringside_core::NumberPlan;
use ringside_crm::{CrmProvider, CrmUser, Throttle};
use ringside_crm_contract::{Fault, Received, Target, crm_contract_tests};
use ringside_zoho::{ZohoCrm, ZohoSettings};
use ringside_zoho_emulator::{EmulatorConfig, Fault as ZFault, Scope, ZohoEmulator};

struct Zoho {
    emulator: ZohoEmulator,
    users: Vec<CrmUser>,
    /// The refresh token Ringside holds (changes when reconnected).
    refresh_token: Mutex<String>,
}

impl Zoho {
    fn extension_of(&self, userid: &str) -> Option<String> {
        self.users
            .iter()
            .find(|u| u.user_id.as_deref() == Some(userid))
            .map(|u| u.extension.clone())
    }
}

fn digits(s: &str) -> String {
    s.chars().filter(char::is_ascii_digit).collect()
}

#[async_trait::async_trait]
impl Target for Zoho {
    const NAME: &'static str = "zoho";

    async fn start() -> Self {
        let emulator = ZohoEmulator::start(EmulatorConfig::default())
            .await
            .expect("emulator starts");
        let ids = emulator.seed_demo();
        emulator.set_integrated(true);
        let user = |ext: &str, id: String, name: &str| CrmUser {
            extension: ext.into(),
            user_id: Some(id),
            name: Some(name.into()),
            phone: None,
            email: None,
        };
        let users = vec![
            user("201", ids.ana, "Ana García"),
            user("202", ids.bruno, "Bruno Díaz"),
        ];
        let refresh_token = emulator.add_refresh_token();
        Zoho {
            emulator,
            users,
            refresh_token: Mutex::new(refresh_token),
        }
    }

    fn provider(&self, throttle: Arc<Throttle>, numbers: NumberPlan) -> Arc<dyn CrmProvider> {
        let config = self.emulator.config();
        let mut settings = ZohoSettings::new(
            self.emulator.accounts_url(),
            config.client_id,
            config.client_secret,
            self.refresh_token.lock().unwrap().clone(),
        );
        settings.numbers = numbers;
        Arc::new(ZohoCrm::new(settings, throttle).expect("valid settings"))
    }

    fn users(&self) -> Vec<CrmUser> {
        self.users.clone()
    }

    fn received(&self) -> Vec<Received> {
        self.emulator
            .events()
            .into_iter()
            .map(|e| {
                let p = |k: &str| e.params.get(k).cloned();
                let mut detail = BTreeMap::new();
                let transfer = p("transfercallrefid").is_some();
                let status = p("customerstatus").unwrap_or_default();
                let op = match (e.endpoint.as_str(), transfer, status.as_str()) {
                    ("callreceived", true, _) => "transfer",
                    ("callreceived", false, _) => "ring",
                    ("calldialed", _, "inprogress") => "ring",
                    ("calldialed", _, _) => "ended",
                    ("callanswered", ..) => "answered",
                    ("callhungup" | "callmissed", ..) => "ended",
                    ("voiceurl", ..) => "recording",
                    (other, ..) => other,
                };
                let outbound =
                    e.endpoint == "calldialed" || p("direction").as_deref() == Some("outbound");
                if op == "ring" {
                    detail.insert(
                        "direction".into(),
                        if outbound { "outbound" } else { "inbound" }.into(),
                    );
                }
                let customer = if outbound {
                    p("tonumber")
                } else {
                    p("fromnumber")
                };
                if let Some(c) = customer {
                    detail.insert("customer".into(), digits(&c));
                }
                if let Some(agent) = e.user.as_deref().and_then(|u| self.extension_of(u)) {
                    detail.insert("agent".into(), agent);
                }
                match e.endpoint.as_str() {
                    "callhungup" => {
                        detail.insert("result".into(), "answered".into());
                        detail.insert("duration".into(), p("duration").unwrap_or_default());
                    }
                    "callmissed" => {
                        detail.insert("result".into(), "not_answered".into());
                        detail.insert("duration".into(), "0".into());
                    }
                    "calldialed" if op == "ended" => {
                        let result = if status == "busy" {
                            "busy"
                        } else {
                            "not_answered"
                        };
                        detail.insert("result".into(), result.into());
                        detail.insert("duration".into(), "0".into());
                    }
                    _ => {}
                }
                if let Some(url) = p("voiceurl") {
                    detail.insert("recording".into(), url);
                }
                Received {
                    call_id: e.callrefid,
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
            Fault::ServerErrors { status, times } => self.emulator.inject(ZFault::ServerError {
                status,
                times,
                scope: Scope::PhoneBridge,
            }),
            Fault::RateLimited {
                retry_after_secs,
                times,
            } => self.emulator.inject(ZFault::RateLimited {
                retry_after_secs: Some(retry_after_secs),
                times,
                scope: Scope::PhoneBridge,
            }),
            Fault::ApplyThenStall { ms, times } => self.emulator.inject(ZFault::ApplyThenStall {
                ms,
                times,
                scope: Scope::PhoneBridge,
            }),
            Fault::Outage(down) => self.emulator.set_down(down),
            Fault::ExpireCredentials => {
                // The user revoked Ringside's access in Zoho.
                let rt = self.refresh_token.lock().unwrap().clone();
                self.emulator.revoke_refresh_token(&rt);
                self.emulator.expire_access_tokens();
            }
            Fault::RenewCredentials => {
                // ...and connected Zoho again.
                *self.refresh_token.lock().unwrap() = self.emulator.add_refresh_token();
            }
        }
    }

    fn has_no_request(&self, op: &str, outbound: bool) -> bool {
        // PhoneBridge v2 has no event for an answered outbound call; the
        // hang-up carries it.
        outbound && op == "answered"
    }
}

crm_contract_tests!(Zoho);
