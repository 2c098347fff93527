//! Engine settings.

use std::time::Duration;

use ringside_core::{MatchPolicy, NumberPlan};
use serde::{Deserialize, Serialize};

/// How the engine reads numbers, matches contacts and closes stuck calls.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct EngineConfig {
    /// The PBX provider name stored on calls (`gamma`).
    pub provider: String,
    /// The PBX account's number plan (region, outside-line prefix).
    pub plan: NumberPlan,
    /// What to do when several contacts match a number.
    pub match_policy: MatchPolicy,
    /// A call with no event for this long is closed as `failed` (spec: 4 h).
    #[serde(with = "minutes")]
    pub reconcile_after: chrono::Duration,
    /// How many earlier calls with the same number a lookup returns.
    pub recent_calls: usize,
    /// A contact lookup slower than this gives up (the pop never waits on it).
    pub lookup_timeout: Duration,
}

impl Default for EngineConfig {
    fn default() -> Self {
        Self {
            provider: "gamma".into(),
            plan: NumberPlan::default(),
            match_policy: MatchPolicy::Ask,
            reconcile_after: chrono::Duration::hours(4),
            recent_calls: 5,
            lookup_timeout: Duration::from_secs(3),
        }
    }
}

mod minutes {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(d: &chrono::Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_i64(d.num_minutes())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<chrono::Duration, D::Error> {
        i64::deserialize(d).map(chrono::Duration::minutes)
    }
}
