//! Who is calling: a cache in front of each CRM, and one lookup over every
//! source.
//!
//! [`CachedLookup`] keeps answers per number with separate lifetimes for a hit
//! and a miss. Past its lifetime an answer is still served (up to `max_stale`)
//! while one refresh runs in the background, so a ring never waits on a slow
//! CRM once a number was seen; concurrent lookups of one number share one
//! request. [`CombinedLookup`] asks every source at once, each under its own
//! deadline, so a slow CRM never hides the others' answers.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::FutureExt;
use futures::future::{BoxFuture, Shared};
use ringside_core::{ContactLookup, ContactMatch, Error, ErrorKind, NumberVariants, Result};
use serde::{Deserialize, Serialize};
use tokio::time::Instant;

use crate::provider::CrmProvider;

/// Cache lifetimes, per CRM.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CacheSettings {
    /// A found contact is fresh this long (seconds).
    pub hit_seconds: u64,
    /// "Nobody has this number" is fresh this long (seconds).
    pub miss_seconds: u64,
    /// A stale answer is still shown (while refreshing) up to this age.
    pub max_stale_seconds: u64,
    /// Numbers kept at most; the oldest are dropped first.
    pub capacity: usize,
}

impl Default for CacheSettings {
    fn default() -> Self {
        Self {
            hit_seconds: 600,
            miss_seconds: 60,
            max_stale_seconds: 86_400,
            capacity: 10_000,
        }
    }
}

type Fetch = Shared<BoxFuture<'static, Result<Vec<ContactMatch>, Error>>>;

struct Entry {
    matches: Vec<ContactMatch>,
    fetched_at: Instant,
}

#[derive(Default)]
struct State {
    entries: HashMap<String, Entry>,
    inflight: HashMap<String, Fetch>,
}

/// Counters for tests and the status page.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct CacheStats {
    pub fresh_hits: u64,
    pub stale_hits: u64,
    pub fetches: u64,
}

/// One CRM's lookups behind a cache.
pub struct CachedLookup {
    name: String,
    provider: Arc<dyn CrmProvider>,
    settings: CacheSettings,
    state: Arc<Mutex<State>>,
    stats: Arc<Mutex<CacheStats>>,
}

impl CachedLookup {
    pub fn new(
        name: impl Into<String>,
        provider: Arc<dyn CrmProvider>,
        settings: CacheSettings,
    ) -> Self {
        Self {
            name: name.into(),
            provider,
            settings,
            state: Arc::default(),
            stats: Arc::default(),
        }
    }

    pub fn stats(&self) -> CacheStats {
        *self.stats.lock().unwrap()
    }

    /// Forget a number (after creating a contact for it, say).
    pub fn invalidate(&self, variants: &NumberVariants) {
        self.state.lock().unwrap().entries.remove(&key(variants));
    }

    fn lifetime(&self, matches: &[ContactMatch]) -> Duration {
        Duration::from_secs(if matches.is_empty() {
            self.settings.miss_seconds
        } else {
            self.settings.hit_seconds
        })
    }

    /// The shared request for `key`, started if none is running.
    fn fetch(&self, key: &str, variants: &NumberVariants) -> Fetch {
        let mut state = self.state.lock().unwrap();
        if let Some(f) = state.inflight.get(key) {
            return f.clone();
        }
        self.stats.lock().unwrap().fetches += 1;
        let provider = self.provider.clone();
        let variants = variants.clone();
        let shared_state = self.state.clone();
        let key_owned = key.to_string();
        let capacity = self.settings.capacity;
        let fut = async move {
            let result = provider.lookup(&variants).await;
            let mut state = shared_state.lock().unwrap();
            state.inflight.remove(&key_owned);
            if let Ok(matches) = &result {
                if state.entries.len() >= capacity
                    && let Some(oldest) = state
                        .entries
                        .iter()
                        .min_by_key(|(_, e)| e.fetched_at)
                        .map(|(k, _)| k.clone())
                {
                    state.entries.remove(&oldest);
                }
                state.entries.insert(
                    key_owned,
                    Entry {
                        matches: matches.clone(),
                        fetched_at: Instant::now(),
                    },
                );
            }
            result
        };
        // The request runs on its own task: a caller that gives up (the pop's
        // deadline) does not cancel it, and its answer still warms the cache.
        let task = tokio::spawn(fut);
        let fut = async move {
            task.await
                .unwrap_or_else(|e| Err(Error::internal(format!("lookup task failed: {e}"))))
        }
        .boxed()
        .shared();
        state.inflight.insert(key.to_string(), fut.clone());
        fut
    }
}

fn key(variants: &NumberVariants) -> String {
    variants.number.display()
}

#[async_trait::async_trait]
impl ContactLookup for CachedLookup {
    fn system(&self) -> &str {
        &self.name
    }

    async fn lookup(&self, variants: &NumberVariants) -> Result<Vec<ContactMatch>> {
        let key = key(variants);
        let cached = {
            let state = self.state.lock().unwrap();
            state
                .entries
                .get(&key)
                .map(|e| (e.matches.clone(), e.fetched_at.elapsed()))
        };
        match cached {
            Some((matches, age)) if age < self.lifetime(&matches) => {
                self.stats.lock().unwrap().fresh_hits += 1;
                Ok(matches)
            }
            Some((matches, age)) if age < Duration::from_secs(self.settings.max_stale_seconds) => {
                self.stats.lock().unwrap().stale_hits += 1;
                let refresh = self.fetch(&key, variants);
                let name = self.name.clone();
                tokio::spawn(async move {
                    if let Err(e) = refresh.await {
                        tracing::warn!(crm = %name, error = %e, "background lookup refresh failed; keeping the stale answer");
                    }
                });
                Ok(matches)
            }
            _ => self.fetch(&key, variants).await,
        }
    }
}

/// Every contact source asked at once; each gets `per_source` to answer.
pub struct CombinedLookup {
    sources: Vec<Arc<dyn ContactLookup>>,
    per_source: Duration,
}

impl CombinedLookup {
    pub fn new(sources: Vec<Arc<dyn ContactLookup>>, per_source: Duration) -> Self {
        Self {
            sources,
            per_source,
        }
    }
}

#[async_trait::async_trait]
impl ContactLookup for CombinedLookup {
    fn system(&self) -> &str {
        "crm"
    }

    async fn lookup(&self, variants: &NumberVariants) -> Result<Vec<ContactMatch>> {
        let asks = self.sources.iter().map(|source| {
            let source = source.clone();
            async move {
                let answer = tokio::time::timeout(self.per_source, source.lookup(variants))
                    .await
                    .unwrap_or_else(|_| {
                        Err(Error::new(
                            ErrorKind::Timeout,
                            format!(
                                "{} did not answer within {:?}",
                                source.system(),
                                self.per_source
                            ),
                        ))
                    });
                (source.system().to_string(), answer)
            }
        });
        let answers = futures::future::join_all(asks).await;
        let mut matches: Vec<ContactMatch> = Vec::new();
        let mut first_error = None;
        let mut any_ok = false;
        for (system, answer) in answers {
            match answer {
                Ok(found) => {
                    any_ok = true;
                    for m in found {
                        let dup = matches.iter().any(|have| {
                            have.contact.source.system == m.contact.source.system
                                && have.contact.source.id == m.contact.source.id
                        });
                        if !dup {
                            matches.push(m);
                        }
                    }
                }
                Err(e) => {
                    tracing::warn!(source = %system, error = %e, "contact lookup failed");
                    first_error.get_or_insert(e.context(format!("{system} lookup")));
                }
            }
        }
        match (any_ok, first_error) {
            (false, Some(e)) => Err(e),
            _ => Ok(matches),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::provider::{Capabilities, ConnectionInfo};
    use ringside_core::{Contact, NumberPlan, RecordSource};
    use std::sync::atomic::{AtomicU32, Ordering};

    struct Slow {
        calls: AtomicU32,
        delay: Duration,
        found: bool,
    }

    #[async_trait::async_trait]
    impl CrmProvider for Slow {
        fn kind(&self) -> &'static str {
            "slow"
        }
        fn capabilities(&self) -> Capabilities {
            Capabilities {
                lookup_contact: true,
                ..Capabilities::default()
            }
        }
        async fn check(&self) -> Result<ConnectionInfo> {
            unreachable!()
        }
        async fn lookup(&self, _v: &NumberVariants) -> Result<Vec<ContactMatch>> {
            let n = self.calls.fetch_add(1, Ordering::SeqCst) + 1;
            tokio::time::sleep(self.delay).await;
            if !self.found {
                return Ok(Vec::new());
            }
            Ok(vec![ContactMatch {
                contact: Contact {
                    source: RecordSource {
                        system: "slow".into(),
                        id: format!("v{n}"),
                        url: None,
                    },
                    name: format!("Version {n}"),
                    company: None,
                    phones: vec![],
                    email: None,
                    notes: None,
                    updated_at: None,
                },
                deals: vec![],
            }])
        }
    }

    fn variants() -> NumberVariants {
        NumberPlan::default().variants("+34647460197")
    }

    fn cached(found: bool) -> (Arc<Slow>, CachedLookup) {
        let slow = Arc::new(Slow {
            calls: AtomicU32::new(0),
            delay: Duration::from_secs(2),
            found,
        });
        let settings = CacheSettings {
            hit_seconds: 60,
            miss_seconds: 5,
            max_stale_seconds: 3600,
            capacity: 10,
        };
        (slow.clone(), CachedLookup::new("slow", slow, settings))
    }

    #[tokio::test(start_paused = true)]
    async fn concurrent_lookups_share_one_request_then_hit_the_cache() {
        let (slow, cache) = cached(true);
        let v = variants();
        let (a, b) = tokio::join!(cache.lookup(&v), cache.lookup(&v));
        assert_eq!(a.unwrap()[0].contact.name, "Version 1");
        assert_eq!(b.unwrap()[0].contact.name, "Version 1");
        assert_eq!(slow.calls.load(Ordering::SeqCst), 1);
        let start = Instant::now();
        cache.lookup(&variants()).await.unwrap();
        assert_eq!(start.elapsed(), Duration::ZERO, "a fresh hit never waits");
        assert_eq!(cache.stats().fresh_hits, 1);
    }

    #[tokio::test(start_paused = true)]
    async fn a_stale_hit_answers_at_once_and_refreshes_in_the_background() {
        let (slow, cache) = cached(true);
        cache.lookup(&variants()).await.unwrap();
        tokio::time::advance(Duration::from_secs(61)).await;
        let start = Instant::now();
        let stale = cache.lookup(&variants()).await.unwrap();
        assert_eq!(start.elapsed(), Duration::ZERO, "stale answers never wait");
        assert_eq!(stale[0].contact.name, "Version 1");
        tokio::time::sleep(Duration::from_secs(3)).await;
        assert_eq!(slow.calls.load(Ordering::SeqCst), 2);
        let fresh = cache.lookup(&variants()).await.unwrap();
        assert_eq!(fresh[0].contact.name, "Version 2");
    }

    #[tokio::test(start_paused = true)]
    async fn a_miss_lives_shorter_than_a_hit() {
        let (slow, cache) = cached(false);
        assert!(cache.lookup(&variants()).await.unwrap().is_empty());
        tokio::time::advance(Duration::from_secs(4)).await;
        cache.lookup(&variants()).await.unwrap();
        assert_eq!(slow.calls.load(Ordering::SeqCst), 1, "fresh miss cached");
        tokio::time::advance(Duration::from_secs(2)).await;
        cache.lookup(&variants()).await.unwrap();
        tokio::time::sleep(Duration::from_secs(3)).await;
        assert_eq!(slow.calls.load(Ordering::SeqCst), 2, "stale miss refreshed");
    }

    #[tokio::test(start_paused = true)]
    async fn a_slow_source_does_not_hide_the_others() {
        let (_, slow) = cached(true);
        let fast = Arc::new(Slow {
            calls: AtomicU32::new(0),
            delay: Duration::from_millis(10),
            found: true,
        });
        let fast = CachedLookup::new("fast", fast, CacheSettings::default());
        let combined = CombinedLookup::new(
            vec![Arc::new(slow), Arc::new(fast)],
            Duration::from_millis(500),
        );
        let start = Instant::now();
        let found = combined.lookup(&variants()).await.unwrap();
        assert_eq!(found.len(), 1);
        assert!(start.elapsed() <= Duration::from_millis(500));
    }
}
