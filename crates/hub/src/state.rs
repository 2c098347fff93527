//! What every request handler shares: the engine (with its journal) and
//! the resolved security settings.

use std::sync::Arc;
use std::time::Duration;

use axum::http::HeaderName;
use ipnet::IpNet;
use ringside_addressbook::AddressBook;
use ringside_core::{Error, Result, Sensitive};
use ringside_engine::Engine;
use subtle::ConstantTimeEq;
use tokio::sync::watch;

use crate::status::PbxProbe;

/// How the Gamma webhook authenticates the PBX.
#[derive(Debug, Clone)]
pub struct WebhookAuth {
    /// The shared secret Ringside asked Gamma to send.
    pub secret: Sensitive<String>,
    /// The header carrying it.
    pub header: HeaderName,
    /// The query parameter that may carry it instead.
    pub query_param: Option<String>,
    /// Source networks allowed; empty allows all.
    pub allowed: Vec<IpNet>,
}

impl WebhookAuth {
    /// A webhook that checks `secret` in `header`, from any source.
    pub fn new(secret: Sensitive<String>, header: &str) -> Result<Self> {
        if secret.is_empty() {
            return Err(Error::config("the webhook secret is empty"));
        }
        let header = HeaderName::from_bytes(header.as_bytes())
            .map_err(|_| Error::config(format!("{header:?} is not a valid header name")))?;
        Ok(Self {
            secret,
            header,
            query_param: None,
            allowed: Vec::new(),
        })
    }

    /// Whether `presented` is the secret, compared in constant time.
    pub fn secret_matches(&self, presented: &[u8]) -> bool {
        ct_eq(self.secret.expose().as_bytes(), presented)
    }

    /// Whether a request from `ip` may post events.
    pub fn source_allowed(&self, ip: Option<std::net::IpAddr>) -> bool {
        if self.allowed.is_empty() {
            return true;
        }
        match ip {
            Some(ip) => {
                let ip = canonical(ip);
                self.allowed.iter().any(|net| net.contains(&ip))
            }
            None => false,
        }
    }
}

/// IPv4-mapped IPv6 addresses (`::ffff:a.b.c.d`) compare as IPv4.
fn canonical(ip: std::net::IpAddr) -> std::net::IpAddr {
    match ip {
        std::net::IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => std::net::IpAddr::V4(v4),
            None => std::net::IpAddr::V6(v6),
        },
        v4 => v4,
    }
}

/// Constant-time equality of two byte strings (the length is not secret).
pub fn ct_eq(expected: &[u8], presented: &[u8]) -> bool {
    expected.len() == presented.len() && bool::from(expected.ct_eq(presented))
}

/// An agent allowed to use the API, bound to one extension.
#[derive(Debug, Clone)]
pub struct Agent {
    pub name: String,
    pub extension: String,
    pub token: Sensitive<String>,
}

/// Limits applied by the server.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Largest request body, in bytes.
    pub max_body_bytes: usize,
    /// Time limit of one API request (the SSE stream excepted).
    pub request_timeout: Duration,
    /// Interval of SSE keep-alive comments.
    pub keep_alive: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_body_bytes: 64 * 1024,
            request_timeout: Duration::from_secs(30),
            keep_alive: Duration::from_secs(15),
        }
    }
}

/// Shared by all handlers. Cheap to clone.
#[derive(Clone)]
pub struct AppState {
    pub engine: Engine,
    pub webhook: Arc<WebhookAuth>,
    pub agents: Arc<Vec<Agent>>,
    pub limits: Limits,
    /// The local address book behind `/api/v1/contacts`, when the hub has one.
    pub address_book: Option<AddressBook>,
    /// Asks the PBX how it is, for `/api/v1/status` (answers are cached).
    pub pbx_probe: Arc<PbxProbe>,
    /// The enabled CRMs (outboxes, lookups, directories); empty when none.
    pub crms: Arc<ringside_crm::CrmSet>,
    /// CRMs whose own click-to-call dials through this hub.
    pub click_to_call: Arc<Vec<(String, crate::crms::ClickToCall)>>,
    /// Bitrix24 events' `auth[application_token]`, when they are accepted.
    pub bitrix_events: Option<Sensitive<String>>,
    /// Set once the server is shutting down: long-lived streams end.
    closing: Arc<watch::Sender<bool>>,
}

impl AppState {
    pub fn new(
        engine: Engine,
        webhook: WebhookAuth,
        agents: Vec<Agent>,
        limits: Limits,
    ) -> Result<Self> {
        for (i, a) in agents.iter().enumerate() {
            if a.token.is_empty() {
                return Err(Error::config(format!(
                    "agent {:?} has an empty token",
                    a.name
                )));
            }
            if agents[..i]
                .iter()
                .any(|b| ct_eq(b.token.expose().as_bytes(), a.token.expose().as_bytes()))
            {
                return Err(Error::config(format!(
                    "agent {:?} has the same token as another agent",
                    a.name
                )));
            }
        }
        Ok(Self {
            engine,
            webhook: Arc::new(webhook),
            agents: Arc::new(agents),
            limits,
            address_book: None,
            pbx_probe: Arc::new(PbxProbe::default()),
            crms: Arc::default(),
            click_to_call: Arc::default(),
            bitrix_events: None,
            closing: Arc::new(watch::channel(false).0),
        })
    }

    /// Serve `/api/v1/contacts` from `book`.
    pub fn with_address_book(mut self, book: AddressBook) -> Self {
        self.address_book = Some(book);
        self
    }

    /// Serve `/api/v1/crms` and the CRMs' click-to-call endpoints.
    pub fn with_crms(mut self, crms: crate::crms::Crms) -> Self {
        self.crms = Arc::new(crms.set);
        self.click_to_call = Arc::new(crms.inbound);
        self.bitrix_events = crms.bitrix_events;
        self
    }

    /// Probe the PBX with `probe` (tests shorten its cache).
    pub fn with_pbx_probe(mut self, probe: PbxProbe) -> Self {
        self.pbx_probe = Arc::new(probe);
        self
    }

    /// Tell long-lived responses (SSE streams) to end: the server is stopping.
    pub fn close_streams(&self) {
        self.closing.send_replace(true);
    }

    /// Resolves once [`AppState::close_streams`] was called.
    pub fn closing(&self) -> impl std::future::Future<Output = ()> + Send + 'static {
        let mut rx = self.closing.subscribe();
        async move {
            // An error means the sender is gone: the state is gone, so stop too.
            let _ = rx.wait_for(|closing| *closing).await;
        }
    }

    /// The agent whose token is `presented`. Every agent is compared (in
    /// constant time), so timing does not reveal which one matched.
    pub fn agent_by_token(&self, presented: &str) -> Option<&Agent> {
        let mut found = None;
        for agent in self.agents.iter() {
            if ct_eq(agent.token.expose().as_bytes(), presented.as_bytes()) {
                found = Some(agent);
            }
        }
        found
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn allow_list_matches_mapped_ipv4() {
        let mut auth = WebhookAuth::new(Sensitive::new("s".into()), "X-Ringside-Secret").unwrap();
        assert!(auth.source_allowed(None));
        auth.allowed = vec!["193.22.119.0/24".parse().unwrap()];
        assert!(auth.source_allowed(Some("193.22.119.28".parse().unwrap())));
        assert!(auth.source_allowed(Some("::ffff:193.22.119.28".parse().unwrap())));
        assert!(!auth.source_allowed(Some("127.0.0.1".parse().unwrap())));
        assert!(!auth.source_allowed(None));
        assert!(auth.secret_matches(b"s"));
        assert!(!auth.secret_matches(b"S"));
        assert!(!auth.secret_matches(b""));
    }
}
