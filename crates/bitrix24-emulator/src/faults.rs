//! Injected faults: error statuses, Bitrix's two limit answers, latency, and
//! a portal that does the work but answers too late. Faults are queued; each
//! request (REST or the token endpoint) takes one `times` of the first
//! queued fault.
//!
//! Bodies are the Bitrix error envelope (notes §5.3):
//! - `QueryLimit`: 503 `{"error":"QUERY_LIMIT_EXCEEDED","error_description":"Too many requests"}`
//!   (notes §5.3, the exact body from b24-rest-docs#193);
//! - `OperationTimeLimit`: 429 `{"error":"OPERATION_TIME_LIMIT",…}` (notes §5.3/§5.4);
//! - `ServerError`: the given status with `INTERNAL_SERVER_ERROR` (inferred).
//!
//! Injected faults come after the outage switch, authentication and the
//! real leaky bucket (inferred).

use std::collections::VecDeque;

/// A misbehaviour of the emulated portal, for `times` requests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fault {
    /// Answer `status` (500, 502, …) with
    /// `{"error":"INTERNAL_SERVER_ERROR","error_description":"Internal server error"}`;
    /// not applied.
    ServerError {
        /// The HTTP status.
        status: u16,
        /// How many requests suffer it.
        times: u32,
    },
    /// Answer 503 `QUERY_LIMIT_EXCEEDED` (counted in `limit_hits`); not applied.
    QueryLimit {
        /// How many requests suffer it.
        times: u32,
    },
    /// Answer 429 `OPERATION_TIME_LIMIT`; not applied.
    OperationTimeLimit {
        /// How many requests suffer it.
        times: u32,
    },
    /// Sleep, then handle the request normally.
    Latency {
        /// The delay in milliseconds.
        ms: u64,
        /// How many requests suffer it.
        times: u32,
    },
    /// Apply the request, then sleep `ms` before answering: the portal did
    /// the work but the client times out first.
    ApplyThenStall {
        /// The stall in milliseconds.
        ms: u64,
        /// How many requests suffer it.
        times: u32,
    },
}

impl Fault {
    fn times_mut(&mut self) -> &mut u32 {
        match self {
            Fault::ServerError { times, .. }
            | Fault::QueryLimit { times }
            | Fault::OperationTimeLimit { times }
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

    pub(crate) fn clear(&mut self) {
        self.queued.clear();
    }

    /// Takes one use of the first fault.
    pub(crate) fn take(&mut self) -> Option<Fault> {
        let fault = self.queued.front_mut()?;
        let taken = fault.clone();
        let times = fault.times_mut();
        *times -= 1;
        if *times == 0 {
            self.queued.pop_front();
        }
        Some(taken)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn faults_are_consumed_in_order() {
        let mut queue = FaultQueue::default();
        queue.push(Fault::QueryLimit { times: 2 });
        queue.push(Fault::Latency { ms: 1, times: 0 });
        queue.push(Fault::OperationTimeLimit { times: 1 });
        assert!(matches!(queue.take(), Some(Fault::QueryLimit { .. })));
        assert!(matches!(queue.take(), Some(Fault::QueryLimit { .. })));
        assert!(matches!(
            queue.take(),
            Some(Fault::OperationTimeLimit { .. })
        ));
        assert_eq!(queue.take(), None);
    }
}
