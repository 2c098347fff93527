//! Rate limiting, timeouts and credential refresh as layers around any
//! adapter, configured per CRM. (Retrying a delivery is the outbox's job: its
//! retries are durable. Lookups are not retried: the cache serves stale data
//! while a refresh runs.)
//!
//! - [`Throttle`] is a token bucket (`governor`, GCRA) plus a hold that vendor
//!   signals set: a `Retry-After`, Vtiger's flood-control headers, Bitrix24's
//!   `QUERY_LIMIT_EXCEEDED`. Adapters take one permit per HTTP request, so a
//!   lookup that needs two requests pays for two.
//! - [`Guarded`] wraps a provider: every call gets a deadline, and an answer
//!   carrying `retry_after` holds the throttle for everyone.

use std::num::NonZeroU32;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use ringside_core::{Contact, ContactMatch, Error, ErrorKind, NumberVariants, PhoneNumber, Result};
use serde::{Deserialize, Serialize};
use tokio::time::Instant;

use crate::provider::{
    Capabilities, Confirmation, ConnectionInfo, CrmProvider, CrmUser, Delivered, NewContact,
    Operation,
};

/// Per-CRM limits.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Limits {
    /// Sustained requests per second.
    pub requests_per_second: f64,
    /// How many requests may go at once after a quiet spell.
    pub burst: u32,
    /// Deadline for one provider call (a lookup, a delivery), in seconds.
    pub timeout_seconds: f64,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            requests_per_second: 2.0,
            burst: 10,
            timeout_seconds: 10.0,
        }
    }
}

impl Limits {
    pub fn validate(&self, crm: &str) -> Result<()> {
        if !(self.requests_per_second > 0.0 && self.requests_per_second <= 1000.0) {
            return Err(Error::config(format!(
                "{crm}: limits.requests_per_second must be between 0 and 1000"
            )));
        }
        if self.burst == 0 {
            return Err(Error::config(format!(
                "{crm}: limits.burst must be at least 1"
            )));
        }
        if !(self.timeout_seconds > 0.0 && self.timeout_seconds <= 600.0) {
            return Err(Error::config(format!(
                "{crm}: limits.timeout_seconds must be between 0 and 600"
            )));
        }
        Ok(())
    }

    pub fn timeout(&self) -> Duration {
        Duration::from_secs_f64(self.timeout_seconds)
    }
}

/// A CRM's request budget: a token bucket and a vendor-imposed hold.
pub struct Throttle {
    bucket: DefaultDirectRateLimiter,
    hold: Mutex<Option<Instant>>,
}

impl std::fmt::Debug for Throttle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Throttle")
            .field("held_until", &self.held_until())
            .finish()
    }
}

impl Throttle {
    pub fn new(limits: &Limits) -> Arc<Self> {
        let period = Duration::from_secs_f64(1.0 / limits.requests_per_second.max(0.001));
        let burst = NonZeroU32::new(limits.burst.max(1)).unwrap_or(NonZeroU32::MIN);
        let quota = Quota::with_period(period)
            .unwrap_or_else(|| Quota::per_second(NonZeroU32::MIN))
            .allow_burst(burst);
        Arc::new(Self {
            bucket: RateLimiter::direct(quota),
            hold: Mutex::new(None),
        })
    }

    /// Wait for a permit to send one request.
    pub async fn acquire(&self) {
        loop {
            let hold = self.held_until();
            match hold {
                Some(until) if until > Instant::now() => tokio::time::sleep_until(until).await,
                _ => break,
            }
        }
        self.bucket.until_ready().await;
    }

    /// The vendor asked us to wait `wait` (Retry-After, a flood-control reset):
    /// nobody sends before then.
    pub fn hold_for(&self, wait: Duration) {
        let until = Instant::now() + wait;
        let mut hold = self.hold.lock().unwrap();
        if hold.is_none_or(|h| h < until) {
            *hold = Some(until);
        }
    }

    pub fn held_until(&self) -> Option<Instant> {
        let hold = *self.hold.lock().unwrap();
        hold.filter(|h| *h > Instant::now())
    }
}

/// A provider behind its CRM's deadline and throttle.
pub struct Guarded {
    inner: Arc<dyn CrmProvider>,
    throttle: Arc<Throttle>,
    timeout: Duration,
}

impl Guarded {
    pub fn new(inner: Arc<dyn CrmProvider>, throttle: Arc<Throttle>, limits: &Limits) -> Self {
        Self {
            inner,
            throttle,
            timeout: limits.timeout(),
        }
    }

    async fn guard<T>(&self, what: &str, fut: impl Future<Output = Result<T>>) -> Result<T> {
        let result = match tokio::time::timeout(self.timeout, fut).await {
            Ok(r) => r,
            Err(_) => Err(Error::new(
                ErrorKind::Timeout,
                format!(
                    "{} did not answer {what} within {:?}",
                    self.inner.kind(),
                    self.timeout
                ),
            )),
        };
        if let Err(e) = &result
            && let Some(wait) = e.retry_after
        {
            self.throttle.hold_for(wait);
        }
        result
    }
}

#[async_trait::async_trait]
impl CrmProvider for Guarded {
    fn kind(&self) -> &'static str {
        self.inner.kind()
    }

    fn capabilities(&self) -> Capabilities {
        self.inner.capabilities()
    }

    async fn check(&self) -> Result<ConnectionInfo> {
        self.guard("the connection test", self.inner.check()).await
    }

    async fn lookup(&self, variants: &NumberVariants) -> Result<Vec<ContactMatch>> {
        self.guard("the lookup", self.inner.lookup(variants)).await
    }

    async fn deliver(&self, op: &Operation) -> Result<Delivered> {
        self.guard("the delivery", self.inner.deliver(op)).await
    }

    async fn confirm(&self, op: &Operation) -> Result<Confirmation> {
        self.guard("the delivery check", self.inner.confirm(op))
            .await
    }

    async fn refresh_credentials(&self) -> Result<bool> {
        self.guard("the credential refresh", self.inner.refresh_credentials())
            .await
    }

    async fn discover_users(&self) -> Result<Vec<CrmUser>> {
        self.guard("the user list", self.inner.discover_users())
            .await
    }

    async fn create_contact(&self, contact: &NewContact) -> Result<Contact> {
        self.guard("creating the contact", self.inner.create_contact(contact))
            .await
    }

    fn search_url(&self, number: &PhoneNumber) -> Option<String> {
        self.inner.search_url(number)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_bucket_allows_a_burst_then_paces() {
        let throttle = Throttle::new(&Limits {
            requests_per_second: 20.0,
            burst: 5,
            timeout_seconds: 1.0,
        });
        let start = std::time::Instant::now();
        for _ in 0..5 {
            throttle.acquire().await;
        }
        let burst = start.elapsed();
        for _ in 0..5 {
            throttle.acquire().await;
        }
        let paced = start.elapsed() - burst;
        // Five more at 20/s take ~250 ms; the burst took ~nothing.
        assert!(paced >= Duration::from_millis(180), "paced {paced:?}");
        assert!(burst < paced, "burst {burst:?} vs paced {paced:?}");
    }

    #[tokio::test]
    async fn a_hold_stops_everyone_until_it_lifts() {
        let throttle = Throttle::new(&Limits::default());
        throttle.hold_for(Duration::from_millis(150));
        throttle.hold_for(Duration::from_millis(10)); // a shorter hold never shortens it
        let start = std::time::Instant::now();
        throttle.acquire().await;
        assert!(start.elapsed() >= Duration::from_millis(140));
        assert_eq!(throttle.held_until(), None);
    }
}
