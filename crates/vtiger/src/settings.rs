//! What a Vtiger connection needs: the instance URL, the REST user and its
//! access key, the Phone Calls gateway secret, the number plan used to
//! re-verify lookup matches, and which sales stages count as closed.

use ringside_core::{NumberPlan, Sensitive};
use serde::Deserialize;

/// The sales stages that close a Potential in a stock Vtiger.
pub fn default_closed_stages() -> Vec<String> {
    vec!["Closed Won".to_string(), "Closed Lost".to_string()]
}

/// One Vtiger instance as Ringside talks to it.
///
/// `Debug` never shows the access key or the gateway secret (they are
/// [`Sensitive`]).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VtigerSettings {
    /// The instance, e.g. `https://acme.od2.vtiger.com` (a trailing slash,
    /// or a pasted `/restapi/v1/vtiger/default`, is fine).
    pub base_url: String,
    /// The REST user (HTTP Basic user name), e.g. `admin@acme.com`.
    pub username: String,
    /// The user's access key (My Preferences → Access Key).
    pub access_key: Sensitive<String>,
    /// The Generic gateway's "Vtiger Secret Key", sent as `X-VTIGER-SECRET`.
    pub gateway_secret: Sensitive<String>,
    /// How to read the numbers stored in Vtiger when re-verifying matches.
    #[serde(default)]
    pub numbers: NumberPlan,
    /// Potentials in one of these sales stages are not open deals.
    #[serde(default = "default_closed_stages")]
    pub closed_stages: Vec<String>,
}

impl VtigerSettings {
    /// Settings with the default number plan and closed stages.
    pub fn new(
        base_url: impl Into<String>,
        username: impl Into<String>,
        access_key: impl Into<String>,
        gateway_secret: impl Into<String>,
    ) -> Self {
        Self {
            base_url: base_url.into(),
            username: username.into(),
            access_key: Sensitive::new(access_key.into()),
            gateway_secret: Sensitive::new(gateway_secret.into()),
            numbers: NumberPlan::default(),
            closed_stages: default_closed_stages(),
        }
    }

    /// Whether `stage` closes a deal (compared case-insensitively, trimmed).
    pub fn is_closed_stage(&self, stage: &str) -> bool {
        let stage = stage.trim();
        self.closed_stages
            .iter()
            .any(|closed| closed.trim().eq_ignore_ascii_case(stage))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_redacts_both_secrets() {
        let s = VtigerSettings::new(
            "https://acme.od2.vtiger.com",
            "admin@acme.com",
            "access-key-123",
            "gateway-secret-456",
        );
        let debug = format!("{s:?}");
        assert!(debug.contains("admin@acme.com"));
        assert!(!debug.contains("access-key-123"), "{debug}");
        assert!(!debug.contains("gateway-secret-456"), "{debug}");
    }

    #[test]
    fn deserializes_with_defaults() {
        let s: VtigerSettings = serde_json::from_value(serde_json::json!({
            "base_url": "https://acme.od2.vtiger.com",
            "username": "admin",
            "access_key": "k",
            "gateway_secret": "s",
        }))
        .unwrap();
        assert_eq!(s.closed_stages, default_closed_stages());
        assert_eq!(s.numbers, NumberPlan::default());
        assert!(s.is_closed_stage("closed won "));
        assert!(!s.is_closed_stage("Prospecting"));
    }
}
