//! What a Zoho CRM connection needs: the data-centre's accounts server, the
//! OAuth client (Ringside's registered PhoneBridge app), the refresh token
//! obtained once through the browser consent flow, the number plan used to
//! re-verify lookup matches, which Potential stages count as closed, and how
//! long before expiry the access token is renewed.

use std::time::Duration;

use ringside_core::{NumberPlan, Sensitive};
use serde::{Deserialize, Deserializer};

/// The Potential stages that close a deal in a stock Zoho CRM (and the
/// hyphenated spelling some orgs use).
pub fn default_closed_stages() -> Vec<String> {
    ["Closed Won", "Closed Lost", "Closed-Won", "Closed-Lost"]
        .into_iter()
        .map(String::from)
        .collect()
}

/// Renew the access token this long before it expires.
pub const DEFAULT_REFRESH_MARGIN: Duration = Duration::from_secs(5 * 60);

fn default_refresh_margin() -> Duration {
    DEFAULT_REFRESH_MARGIN
}

/// `refresh_margin` is written in seconds in settings files.
fn seconds<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
    u64::deserialize(d).map(Duration::from_secs)
}

/// One Zoho CRM org as Ringside talks to it.
///
/// `Debug` never shows the client secret or the refresh token (they are
/// [`Sensitive`]).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ZohoSettings {
    /// The accounts server of the org's data centre, e.g.
    /// `https://accounts.zoho.eu` (the consent redirect's `accounts-server`).
    pub accounts_url: String,
    /// Ringside's OAuth client id (registered as a PhoneBridge vendor).
    pub client_id: String,
    pub client_secret: Sensitive<String>,
    /// The long-lived refresh token from the first-time authorisation.
    pub refresh_token: Sensitive<String>,
    /// How to read the numbers stored in Zoho when re-verifying matches.
    #[serde(default)]
    pub numbers: NumberPlan,
    /// Potentials in one of these stages (compared case-insensitively) are
    /// not open deals.
    #[serde(default = "default_closed_stages")]
    pub closed_stages: Vec<String>,
    /// Renew the access token when less than this remains (seconds in a
    /// settings file; default 5 minutes).
    #[serde(default = "default_refresh_margin", deserialize_with = "seconds")]
    pub refresh_margin: Duration,
}

impl ZohoSettings {
    /// Settings with the default number plan, closed stages and margin.
    pub fn new(
        accounts_url: impl Into<String>,
        client_id: impl Into<String>,
        client_secret: impl Into<String>,
        refresh_token: impl Into<String>,
    ) -> Self {
        Self {
            accounts_url: accounts_url.into(),
            client_id: client_id.into(),
            client_secret: Sensitive::new(client_secret.into()),
            refresh_token: Sensitive::new(refresh_token.into()),
            numbers: NumberPlan::default(),
            closed_stages: default_closed_stages(),
            refresh_margin: DEFAULT_REFRESH_MARGIN,
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
    fn debug_redacts_the_secrets() {
        let s = ZohoSettings::new(
            "https://accounts.zoho.eu",
            "1000.CLIENT",
            "client-secret-123",
            "1000.refresh-456",
        );
        let debug = format!("{s:?}");
        assert!(debug.contains("1000.CLIENT"));
        assert!(!debug.contains("client-secret-123"), "{debug}");
        assert!(!debug.contains("refresh-456"), "{debug}");
    }

    #[test]
    fn deserializes_with_defaults_and_margin_in_seconds() {
        let s: ZohoSettings = serde_json::from_value(serde_json::json!({
            "accounts_url": "https://accounts.zoho.eu",
            "client_id": "c",
            "client_secret": "s",
            "refresh_token": "r",
        }))
        .unwrap();
        assert_eq!(s.closed_stages, default_closed_stages());
        assert_eq!(s.refresh_margin, Duration::from_secs(300));
        assert!(s.is_closed_stage(" closed won"));
        assert!(s.is_closed_stage("CLOSED-LOST"));
        assert!(!s.is_closed_stage("Negotiation/Review"));
        let s: ZohoSettings = serde_json::from_value(serde_json::json!({
            "accounts_url": "https://accounts.zoho.eu",
            "client_id": "c",
            "client_secret": "s",
            "refresh_token": "r",
            "refresh_margin": 600,
        }))
        .unwrap();
        assert_eq!(s.refresh_margin, Duration::from_secs(600));
    }
}
