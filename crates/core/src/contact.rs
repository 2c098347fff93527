//! Contacts, companies and deals, wherever they live (local address book or a CRM).

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use crate::Result;
use crate::phone::{NumberVariants, PhoneNumber};

/// Which store a record came from, with a link to open it there.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct RecordSource {
    /// `local`, `vtiger`, `zoho`, `amocrm`, `bitrix24`.
    pub system: String,
    /// The record's id in that system.
    pub id: String,
    /// Where to open the record, when the system has a web UI.
    pub url: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct PhoneEntry {
    /// `work`, `mobile`, `home`, ... as the store labels it.
    pub label: Option<String>,
    /// As typed by a person.
    pub raw: String,
    /// E.164 when it parses with the account's plan.
    pub e164: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Company {
    pub source: RecordSource,
    pub name: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Contact {
    pub source: RecordSource,
    pub name: String,
    pub company: Option<Company>,
    pub phones: Vec<PhoneEntry>,
    pub email: Option<String>,
    pub notes: Option<String>,
    /// Last time the record changed, for the `most_recent` policy.
    pub updated_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Deal {
    pub source: RecordSource,
    pub name: String,
    pub stage: String,
    /// Amount in the deal's currency, as a decimal string (no float rounding).
    pub amount: Option<String>,
    /// ISO 4217 code.
    pub currency: Option<String>,
    pub close_date: Option<NaiveDate>,
    pub open: bool,
}

/// A contact that matched a number, with its open deals.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct ContactMatch {
    pub contact: Contact,
    pub deals: Vec<Deal>,
}

/// What to do when several contacts match one number (integration spec §2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum MatchPolicy {
    /// Show all, the agent picks.
    #[default]
    Ask,
    /// The most recently updated contact.
    MostRecent,
    /// The first one the store returned.
    First,
}

/// The answer to "who is this number?".
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct LookupResult {
    pub number: PhoneNumber,
    pub matches: Vec<ContactMatch>,
    /// Index into `matches` chosen by the policy; `None` when the agent must pick
    /// (policy `ask` with several matches) or nothing matched.
    pub chosen: Option<usize>,
}

impl LookupResult {
    /// Apply `policy` to `matches`.
    pub fn new(number: PhoneNumber, matches: Vec<ContactMatch>, policy: MatchPolicy) -> Self {
        let chosen = match (matches.len(), policy) {
            (0, _) => None,
            (1, _) => Some(0),
            (_, MatchPolicy::Ask) => None,
            (_, MatchPolicy::First) => Some(0),
            (_, MatchPolicy::MostRecent) => matches
                .iter()
                .enumerate()
                .max_by_key(|(_, m)| m.contact.updated_at)
                .map(|(i, _)| i),
        };
        Self {
            number,
            matches,
            chosen,
        }
    }

    pub fn chosen_match(&self) -> Option<&ContactMatch> {
        self.chosen.and_then(|i| self.matches.get(i))
    }
}

/// A store that can say who a number belongs to.
#[async_trait::async_trait]
pub trait ContactLookup: Send + Sync + 'static {
    /// A short name for the store (`local`, `vtiger`...).
    fn system(&self) -> &str;
    /// Contacts whose phone fields match one of `variants` (E.164, national,
    /// last digits re-verified), each with its open deals. Empty when none.
    async fn lookup(&self, variants: &NumberVariants) -> Result<Vec<ContactMatch>>;
}
