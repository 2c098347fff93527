//! Injected faults: error statuses, rate limiting, latency, and a CRM that
//! does the work but answers too late. Faults are queued; each request takes
//! one `times` of the first queued fault whose scope covers its surface.
//!
//! None of this is from the vendor document (its PHP example only lists
//! the statuses a client may see: 301, 400, 401, 403, 404, 500, 502, 503);
//! the bodies are amo's problem JSON (`{"title","type","status","detail"}`,
//! inferred from notes §4.3) and the rest models real-world failures.
//! Injected faults come after the outage switch and the real rate limit.

use std::collections::VecDeque;

use crate::Surface;

/// Which requests a fault applies to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// `/oauth2/...`.
    OAuth,
    /// `/api/v4/...`.
    Api,
    /// The legacy `/api/calls/add/`.
    Legacy,
    /// Every request, unknown paths included.
    All,
}

impl Scope {
    fn covers(self, surface: Surface) -> bool {
        match self {
            Scope::All => true,
            Scope::OAuth => surface == Surface::OAuth,
            Scope::Api => surface == Surface::Api,
            Scope::Legacy => surface == Surface::Legacy,
        }
    }
}

/// A misbehaviour of the emulated amoCRM, for `times` matching requests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fault {
    /// Answer `status` (e.g. 500, 502, 503) with a problem JSON body
    /// (`{"title":…,"type":"https://httpstatus.es/<status>","status":…,"detail":…}`);
    /// the request is not applied.
    ServerError {
        /// The HTTP status to answer.
        status: u16,
        /// How many requests suffer it.
        times: u32,
        /// Which requests.
        scope: Scope,
    },
    /// Answer 429 (problem JSON, title `Too Many Requests`), with
    /// `Retry-After` when given; the request is not applied. This does not
    /// count towards the IP block.
    RateLimited {
        /// The `Retry-After` value, in seconds; no header when `None`.
        retry_after_secs: Option<u64>,
        /// How many requests suffer it.
        times: u32,
        /// Which requests.
        scope: Scope,
    },
    /// Sleep, then handle the request normally.
    Latency {
        /// The delay in milliseconds.
        ms: u64,
        /// How many requests suffer it.
        times: u32,
        /// Which requests.
        scope: Scope,
    },
    /// Apply the request (state change, applied call, minted token) and
    /// only then sleep `ms` before answering: amo did the work but the
    /// client times out or crashes before it learns so.
    ApplyThenStall {
        /// The stall in milliseconds.
        ms: u64,
        /// How many requests suffer it.
        times: u32,
        /// Which requests.
        scope: Scope,
    },
}

impl Fault {
    fn scope(&self) -> Scope {
        match self {
            Fault::ServerError { scope, .. }
            | Fault::RateLimited { scope, .. }
            | Fault::Latency { scope, .. }
            | Fault::ApplyThenStall { scope, .. } => *scope,
        }
    }

    fn times_mut(&mut self) -> &mut u32 {
        match self {
            Fault::ServerError { times, .. }
            | Fault::RateLimited { times, .. }
            | Fault::Latency { times, .. }
            | Fault::ApplyThenStall { times, .. } => times,
        }
    }
}

/// The queued faults.
#[derive(Debug, Default)]
pub(crate) struct FaultQueue {
    queued: VecDeque<Fault>,
}

impl FaultQueue {
    /// Queues a fault (one with `times == 0` is ignored).
    pub(crate) fn push(&mut self, mut fault: Fault) {
        if *fault.times_mut() > 0 {
            self.queued.push_back(fault);
        }
    }

    /// Forgets every fault.
    pub(crate) fn clear(&mut self) {
        self.queued.clear();
    }

    /// Takes one use of the first fault covering `surface`.
    pub(crate) fn take(&mut self, surface: Surface) -> Option<Fault> {
        let index = self.queued.iter().position(|f| f.scope().covers(surface))?;
        let fault = &mut self.queued[index];
        let taken = fault.clone();
        let times = fault.times_mut();
        *times -= 1;
        if *times == 0 {
            self.queued.remove(index);
        }
        Some(taken)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn faults_are_consumed_in_order_per_scope() {
        let mut queue = FaultQueue::default();
        queue.push(Fault::ServerError {
            status: 502,
            times: 2,
            scope: Scope::Api,
        });
        queue.push(Fault::Latency {
            ms: 1,
            times: 1,
            scope: Scope::All,
        });
        queue.push(Fault::RateLimited {
            retry_after_secs: None,
            times: 0,
            scope: Scope::All,
        });
        assert!(matches!(
            queue.take(Surface::OAuth),
            Some(Fault::Latency { .. })
        ));
        assert_eq!(queue.take(Surface::OAuth), None);
        assert!(matches!(
            queue.take(Surface::Api),
            Some(Fault::ServerError { status: 502, .. })
        ));
        assert!(queue.take(Surface::Api).is_some());
        assert_eq!(queue.take(Surface::Api), None);
    }
}
