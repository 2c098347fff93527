//! Faults injected into the requests API: error statuses, rate limiting,
//! latency and a full outage.

use std::collections::VecDeque;
use std::time::Duration;

/// A misbehaviour of the requests API.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fault {
    /// Answer with this HTTP status (e.g. 500, 503) instead of serving.
    Status(u16),
    /// Answer 429 Too Many Requests with a `Retry-After` header.
    RateLimited {
        /// The value of the `Retry-After` header, in seconds.
        retry_after_secs: u64,
    },
    /// Wait this long, then serve the request normally.
    Latency(Duration),
    /// Refuse connections: the listener is closed and open connections are
    /// cut. `times` does not apply; the API comes back on `clear_faults`.
    Down,
}

/// What a request should suffer, decided before it is served.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Affliction {
    /// Serve normally.
    None,
    /// Delay, then serve normally.
    Delay(Duration),
    /// Answer with this status; `retry_after` adds a `Retry-After` header.
    Fail {
        status: u16,
        retry_after: Option<u64>,
    },
}

#[derive(Debug)]
struct Armed {
    fault: Fault,
    remaining: Option<u32>,
}

/// The injected faults, applied in order of injection, one per request.
#[derive(Debug, Default)]
pub(crate) struct FaultPlan {
    armed: VecDeque<Armed>,
}

impl FaultPlan {
    /// Arms a fault for `times` requests (`None`: until cleared).
    pub(crate) fn arm(&mut self, fault: Fault, times: Option<u32>) {
        if times == Some(0) {
            return;
        }
        self.armed.push_back(Armed {
            fault,
            remaining: times,
        });
    }

    /// Forgets every fault.
    pub(crate) fn clear(&mut self) {
        self.armed.clear();
    }

    /// Whether an outage is armed.
    pub(crate) fn is_down(&self) -> bool {
        self.armed.iter().any(|a| a.fault == Fault::Down)
    }

    /// Takes the affliction for the next request, using up one of its times.
    pub(crate) fn next_request(&mut self) -> Affliction {
        let Some(index) = self.armed.iter().position(|a| a.fault != Fault::Down) else {
            return Affliction::None;
        };
        let armed = &mut self.armed[index];
        let affliction = match armed.fault {
            Fault::Status(status) => Affliction::Fail {
                status,
                retry_after: None,
            },
            Fault::RateLimited { retry_after_secs } => Affliction::Fail {
                status: 429,
                retry_after: Some(retry_after_secs),
            },
            Fault::Latency(delay) => Affliction::Delay(delay),
            Fault::Down => Affliction::None,
        };
        if let Some(remaining) = armed.remaining.as_mut() {
            *remaining = remaining.saturating_sub(1);
            if *remaining == 0 {
                self.armed.remove(index);
            }
        }
        affliction
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn faults_apply_in_order_and_run_out() {
        let mut plan = FaultPlan::default();
        plan.arm(Fault::Status(503), Some(2));
        plan.arm(
            Fault::RateLimited {
                retry_after_secs: 7,
            },
            Some(1),
        );
        let fail = |status, retry_after| Affliction::Fail {
            status,
            retry_after,
        };
        assert_eq!(plan.next_request(), fail(503, None));
        assert_eq!(plan.next_request(), fail(503, None));
        assert_eq!(plan.next_request(), fail(429, Some(7)));
        assert_eq!(plan.next_request(), Affliction::None);
    }

    #[test]
    fn unlimited_fault_stays_until_cleared_and_down_is_skipped() {
        let mut plan = FaultPlan::default();
        plan.arm(Fault::Down, None);
        plan.arm(Fault::Latency(Duration::from_millis(5)), None);
        for _ in 0..3 {
            assert_eq!(
                plan.next_request(),
                Affliction::Delay(Duration::from_millis(5))
            );
        }
        assert!(plan.is_down());
        plan.clear();
        assert!(!plan.is_down());
        assert_eq!(plan.next_request(), Affliction::None);
    }
}
