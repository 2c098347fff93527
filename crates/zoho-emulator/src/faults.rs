//! Injected faults: error statuses, rate limiting, latency, and a CRM that
//! does the work but answers too late. Faults are queued; each request takes
//! one `times` of the first queued fault whose scope covers its surface.
//!
//! None of this is from the vendor document, which only lists
//! `500 INTERNAL_ERROR`: the 429 `TOO_MANY_REQUESTS` shape is the contracts
//! notes' (§3.6, itself `[INFERRED]`); the rest models real-world failures.

use std::collections::VecDeque;

use crate::Surface;

/// Which requests a fault applies to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// The accounts server (`/oauth/v2/...`).
    Accounts,
    /// PhoneBridge (`/{dc}/crm/v2/phonebridge/...`, and the unprefixed
    /// `/crm/v2/phonebridge/...`).
    PhoneBridge,
    /// Every request, record pages and unknown paths included.
    All,
}

impl Scope {
    fn covers(self, surface: Surface) -> bool {
        match self {
            Scope::All => true,
            Scope::Accounts => surface == Surface::Accounts,
            Scope::PhoneBridge => surface == Surface::PhoneBridge,
        }
    }
}

/// A misbehaviour of the emulated Zoho, for `times` matching requests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fault {
    /// Answer `status` (e.g. 500, 502, 503) with the vendor's error shape
    /// (`{"code":"INTERNAL_ERROR","details":{},"message":…,"status":"error"}`);
    /// the request is not applied.
    ServerError {
        /// The HTTP status to answer.
        status: u16,
        /// How many requests suffer it.
        times: u32,
        /// Which requests.
        scope: Scope,
    },
    /// Answer 429 `{"code":"TOO_MANY_REQUESTS",…}`, with `Retry-After` when
    /// given; the request is not applied.
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
    /// Apply the request (state change, recorded call event, minted token)
    /// and only then sleep `ms` before answering: Zoho did the work but the
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
            scope: Scope::PhoneBridge,
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
            queue.take(Surface::Accounts),
            Some(Fault::Latency { .. })
        ));
        assert_eq!(queue.take(Surface::Accounts), None);
        assert!(matches!(
            queue.take(Surface::PhoneBridge),
            Some(Fault::ServerError { status: 502, .. })
        ));
        assert!(queue.take(Surface::PhoneBridge).is_some());
        assert_eq!(queue.take(Surface::PhoneBridge), None);
    }
}
