//! What callers hand the address book, and what an import reports back.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

/// A contact to add or to replace an existing one with.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct NewContact {
    /// Full name as people write it; required.
    pub name: String,
    /// Company name; companies are shared between contacts by (folded) name.
    pub company: Option<String>,
    /// Phone numbers as typed; at least one phone or an email is required.
    #[serde(default)]
    pub phones: Vec<NewPhone>,
    /// One email address, checked for the `local@domain` shape.
    pub email: Option<String>,
    /// Free text kept with the contact.
    pub notes: Option<String>,
}

/// One phone number of a [`NewContact`].
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct NewPhone {
    /// `work`, `mobile`, `home`...
    pub label: Option<String>,
    /// As typed by a person, e.g. `91 123 45 67`.
    pub number: String,
}

impl NewPhone {
    /// A phone with a label.
    pub fn new(label: Option<&str>, number: &str) -> Self {
        Self {
            label: label.map(str::to_string),
            number: number.to_string(),
        }
    }
}

/// A deal to attach to a contact.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct NewDeal {
    /// The local id of the contact the deal belongs to.
    pub contact_id: String,
    /// What the deal is called; required.
    pub name: String,
    /// Pipeline stage as the user names it (`Negotiation`, `Proposal`...); required.
    pub stage: String,
    /// A non-negative decimal string such as `12500.00`.
    pub amount: Option<String>,
    /// ISO 4217 code (three letters), stored upper-case.
    pub currency: Option<String>,
    /// Expected (or actual) close date.
    pub close_date: Option<NaiveDate>,
    /// Closed deals never show up in lookups.
    pub open: bool,
}

/// A dated note on a contact (e.g. a logged call).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Note {
    /// When it happened (not when it was written).
    pub at: DateTime<Utc>,
    /// The note itself, trimmed.
    pub text: String,
}

/// The outcome of a CSV or vCard import.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ImportReport {
    /// Rows (CSV records or vCards) written.
    pub imported: usize,
    /// Rows rejected, in file order.
    pub errors: Vec<RowError>,
}

/// A rejected import row.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RowError {
    /// 1-based physical line where the row (or the card's `BEGIN`) starts.
    pub line: usize,
    /// Why it was rejected, e.g. `no name`.
    pub message: String,
}
