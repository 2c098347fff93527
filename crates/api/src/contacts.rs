//! The address book and number lookup.

use ringside_core::{Call, LookupResult};
use serde::{Deserialize, Serialize};

/// Query of `GET /api/v1/contacts`: search-as-you-type.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct ContactsQuery {
    /// Words of a name, company or email, or digits of a number; empty lists
    /// contacts alphabetically.
    #[serde(default)]
    pub q: String,
    /// At most this many contacts: default 50, at most 200.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "ts", ts(type = "number | null", optional))]
    pub limit: Option<usize>,
}

/// Body of `POST /api/v1/contacts`: a contact for the local address book.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct NewContact {
    /// Full name as people write it; required.
    pub name: String,
    /// Company name; companies are shared between contacts by name.
    #[serde(default)]
    pub company: Option<String>,
    /// Phone numbers as typed; at least one phone or an email is required.
    #[serde(default)]
    pub phones: Vec<NewPhone>,
    /// One email address.
    #[serde(default)]
    pub email: Option<String>,
    /// Free text kept with the contact.
    #[serde(default)]
    pub notes: Option<String>,
}

/// One phone number of a [`NewContact`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct NewPhone {
    /// `work`, `mobile`, `home`...
    #[serde(default)]
    pub label: Option<String>,
    /// As typed by a person, e.g. `91 123 45 67`.
    pub number: String,
}

impl NewPhone {
    pub fn new(label: Option<&str>, number: &str) -> Self {
        Self {
            label: label.map(str::to_string),
            number: number.to_string(),
        }
    }
}

/// `GET /api/v1/lookup?number=`: who a number is, and the last calls with it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct NumberInfo {
    #[cfg_attr(feature = "ts", ts(type = "LookupResult"))]
    pub lookup: LookupResult,
    #[cfg_attr(feature = "ts", ts(type = "Array<Call>"))]
    pub recent_calls: Vec<Call>,
}
