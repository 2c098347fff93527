//! The in-memory CRM: Users, Accounts, Contacts, Leads, Potentials and
//! PhoneCalls, with Vtiger's composite record ids and its phone matching.
//!
//! Sources: composite ids `<moduleTypeId>x<recordId>` and the `12x`/`10x`/
//! `13x` prefixes come from the contracts notes (§2.3, §2.6, [OFFICIAL] and
//! [3P]); `19x` for Users matches the `userId` of a real webservice login
//! (§2.4). `11x` (Accounts) and `45x` (PhoneCalls) are inferred. Field names
//! are Vtiger's field names as used by third-party clients (§2.3); values are
//! kept exactly as typed, with `""` for an empty field, like Vtiger returns
//! them.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::Value;

/// One record as Vtiger returns it: every column of its module, `id`
/// included, empty columns as `""`.
pub type Row = BTreeMap<String, String>;

/// The modules the emulator serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub enum Module {
    /// CRM users (`19x…`).
    Users,
    /// Organizations (`11x…`).
    Accounts,
    /// Contacts (`12x…`).
    Contacts,
    /// Leads (`10x…`).
    Leads,
    /// Deals (`13x…`).
    Potentials,
    /// Call logs written by the Generic gateway (`45x…`).
    PhoneCalls,
}

impl Module {
    /// Every module, in the order `listtypes` reports them.
    pub const ALL: [Module; 6] = [
        Module::Accounts,
        Module::Contacts,
        Module::Leads,
        Module::PhoneCalls,
        Module::Potentials,
        Module::Users,
    ];

    /// The module's name on the wire (`Contacts`, …).
    pub fn name(self) -> &'static str {
        match self {
            Module::Users => "Users",
            Module::Accounts => "Accounts",
            Module::Contacts => "Contacts",
            Module::Leads => "Leads",
            Module::Potentials => "Potentials",
            Module::PhoneCalls => "PhoneCalls",
        }
    }

    /// The module's name, exactly (module names are case-sensitive).
    pub fn from_name(name: &str) -> Option<Module> {
        Module::ALL.into_iter().find(|m| m.name() == name)
    }

    /// The numeric prefix of the module's composite ids.
    pub fn type_id(self) -> u32 {
        match self {
            Module::Users => 19,
            Module::Accounts => 11,
            Module::Contacts => 12,
            Module::Leads => 10,
            Module::Potentials => 13,
            Module::PhoneCalls => 45,
        }
    }

    /// The module whose ids start with `type_id`.
    pub fn from_type_id(type_id: u32) -> Option<Module> {
        Module::ALL.into_iter().find(|m| m.type_id() == type_id)
    }

    /// The module's columns, `id` first.
    ///
    /// `Potentials.currency` is a simplification: Vtiger actually holds a
    /// `currency_id` reference; the emulator exposes an ISO code instead.
    pub fn columns(self) -> &'static [&'static str] {
        match self {
            Module::Users => &[
                "id",
                "user_name",
                "first_name",
                "last_name",
                "email1",
                "phone_work",
                "phone_mobile",
            ],
            Module::Accounts => &["id", "accountname", "phone"],
            Module::Contacts => &[
                "id",
                "firstname",
                "lastname",
                "phone",
                "mobile",
                "homephone",
                "otherphone",
                "email",
                "account_id",
                "assigned_user_id",
                "modifiedtime",
                "createdtime",
            ],
            Module::Leads => &[
                "id",
                "firstname",
                "lastname",
                "company",
                "phone",
                "mobile",
                "email",
                "modifiedtime",
            ],
            Module::Potentials => &[
                "id",
                "potentialname",
                "contact_id",
                "related_to",
                "sales_stage",
                "amount",
                "currency",
                "closingdate",
                "modifiedtime",
            ],
            Module::PhoneCalls => &[
                "id",
                "sourceuuid",
                "direction",
                "customernumber",
                "user",
                "callstatus",
                "recordingurl",
                "billduration",
                "notes",
            ],
        }
    }

    /// Whether `column` is one of the module's columns.
    pub fn has_column(self, column: &str) -> bool {
        self.columns().contains(&column)
    }

    /// The phone fields that Search by Number looks at (inferred: the
    /// vendor says "the Contact/Lead/Organization record that has the
    /// matching number").
    pub(crate) fn phone_fields(self) -> &'static [&'static str] {
        match self {
            Module::Contacts => &["phone", "mobile", "homephone", "otherphone"],
            Module::Leads => &["phone", "mobile"],
            Module::Accounts => &["phone"],
            Module::Users => &["phone_work", "phone_mobile"],
            Module::Potentials | Module::PhoneCalls => &[],
        }
    }
}

/// Why a composite id was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum IdError {
    /// Not `<digits>x<digits>`.
    Malformed,
    /// Well formed, but no such module or record.
    NotFound,
}

/// Splits `12x3` into its module and record number.
pub(crate) fn parse_id(id: &str) -> Result<(Module, u64), IdError> {
    let (type_id, record) = id.split_once('x').ok_or(IdError::Malformed)?;
    let all_digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if !all_digits(type_id) || !all_digits(record) {
        return Err(IdError::Malformed);
    }
    let type_id: u32 = type_id.parse().map_err(|_| IdError::Malformed)?;
    let record: u64 = record.parse().map_err(|_| IdError::Malformed)?;
    let module = Module::from_type_id(type_id).ok_or(IdError::NotFound)?;
    Ok((module, record))
}

/// The digits of `s`, everything else dropped.
pub fn digits(s: &str) -> String {
    s.chars().filter(char::is_ascii_digit).collect()
}

/// Whether a stored phone field matches a searched number: digits only,
/// one digit string must end with the other, and the shorter must have at
/// least 6 digits. Vtiger stores numbers as typed (contracts notes §2.5);
/// the suffix rule is the emulator's, chosen so that an E.164 number finds a
/// nationally typed one (`+34647460197` ↔ `647 46 01 97`).
pub fn phone_matches(stored: &str, searched: &str) -> bool {
    let (a, b) = (digits(stored), digits(searched));
    let (short, long) = if a.len() <= b.len() { (a, b) } else { (b, a) };
    short.len() >= 6 && long.ends_with(&short)
}

/// Whether two numbers are the same once reduced to their digits (used for
/// the Users' Office Phone, which the vendor says must "match").
pub(crate) fn same_digits(a: &str, b: &str) -> bool {
    let a = digits(a);
    !a.is_empty() && a == digits(b)
}

/// A Phone Calls record, as the Generic gateway keeps it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PhoneCallRecord {
    /// The composite id, `45xN`.
    pub id: String,
    /// The gateway's `call_id`.
    pub sourceuuid: String,
    /// `inbound` or `outbound`.
    pub direction: String,
    /// The customer's number: `from` as sent, or `to` when `direction` was
    /// absent and inferred `outbound` because `from` is a user's Office
    /// Phone (vendor doc: the direction is decided from `from`; the swap is
    /// inferred).
    pub customer_number: String,
    /// The user whose Office Phone matched, if any (the popup user).
    pub user_id: Option<String>,
    /// `ringing`, `in-progress`, then `completed`/`hangup`/`busy`/other.
    pub callstatus: String,
    /// Every `transferred_number`, in order.
    pub transferred_to: Vec<String>,
    /// The recording URL, once known.
    pub recordingurl: Option<String>,
    /// The billed duration in seconds, as sent on hangup.
    pub billduration: Option<String>,
    /// Free-text notes sent on hangup.
    pub notes: Option<String>,
    /// How many times `call_initiated` arrived again for this `call_id`.
    pub duplicates: u32,
}

impl PhoneCallRecord {
    fn row(&self) -> Row {
        let mut row = Row::new();
        let mut put = |k: &str, v: &str| {
            row.insert(k.to_owned(), v.to_owned());
        };
        put("id", &self.id);
        put("sourceuuid", &self.sourceuuid);
        put("direction", &self.direction);
        put("customernumber", &self.customer_number);
        put("user", self.user_id.as_deref().unwrap_or(""));
        put("callstatus", &self.callstatus);
        put("recordingurl", self.recordingurl.as_deref().unwrap_or(""));
        put("billduration", self.billduration.as_deref().unwrap_or(""));
        put("notes", self.notes.as_deref().unwrap_or(""));
        row
    }
}

/// The CRM data.
#[derive(Debug, Default)]
pub(crate) struct Store {
    records: BTreeMap<Module, Vec<Row>>,
    next: BTreeMap<Module, u64>,
    pub(crate) calls: Vec<PhoneCallRecord>,
}

/// Now, as Vtiger writes datetimes: `Y-m-d H:i:s`, UTC (contracts notes
/// §2.5).
pub(crate) fn now_string() -> String {
    chrono::Utc::now().format("%Y-%m-%d %H:%M:%S").to_string()
}

impl Store {
    /// The next composite id of `module`.
    pub(crate) fn next_id(&mut self, module: Module) -> String {
        let n = self.next.entry(module).or_insert(0);
        *n += 1;
        format!("{}x{}", module.type_id(), n)
    }

    /// Adds a record; unknown columns are dropped, missing ones are `""`.
    pub(crate) fn insert(&mut self, module: Module, fields: &[(&str, Option<&str>)]) -> String {
        let id = self.next_id(module);
        let mut row: Row = module
            .columns()
            .iter()
            .map(|c| ((*c).to_owned(), String::new()))
            .collect();
        row.insert("id".to_owned(), id.clone());
        for (k, v) in fields {
            if let (true, Some(v)) = (module.has_column(k), v) {
                row.insert((*k).to_owned(), (*v).to_owned());
            }
        }
        self.records.entry(module).or_default().push(row);
        id
    }

    /// Every record of `module`, in creation order.
    pub(crate) fn rows(&self, module: Module) -> Vec<Row> {
        if module == Module::PhoneCalls {
            return self.calls.iter().map(PhoneCallRecord::row).collect();
        }
        self.records.get(&module).cloned().unwrap_or_default()
    }

    /// One record by composite id.
    pub(crate) fn get(&self, id: &str) -> Result<Row, IdError> {
        let (module, _) = parse_id(id)?;
        self.rows(module)
            .into_iter()
            .find(|r| r.get("id").map(String::as_str) == Some(id))
            .ok_or(IdError::NotFound)
    }

    /// Sets one column of a stored (non-PhoneCalls) record.
    pub(crate) fn set_field(&mut self, id: &str, field: &str, value: &str) -> bool {
        let Ok((module, _)) = parse_id(id) else {
            return false;
        };
        if !module.has_column(field) || field == "id" {
            return false;
        }
        let Some(row) = self
            .records
            .get_mut(&module)
            .and_then(|rows| rows.iter_mut().find(|r| r["id"] == id))
        else {
            return false;
        };
        row.insert(field.to_owned(), value.to_owned());
        true
    }

    /// The user whose Office Phone (`phone_work`) has the digits of
    /// `number`.
    pub(crate) fn user_by_office_phone(&self, number: &str) -> Option<String> {
        self.rows(Module::Users)
            .into_iter()
            .find(|u| same_digits(&u["phone_work"], number))
            .map(|u| u["id"].clone())
    }

    /// The user with this `user_name`.
    pub(crate) fn user_by_name(&self, user_name: &str) -> Option<Row> {
        self.rows(Module::Users)
            .into_iter()
            .find(|u| u["user_name"] == user_name)
    }

    pub(crate) fn call_mut(&mut self, call_id: &str) -> Option<&mut PhoneCallRecord> {
        self.calls.iter_mut().find(|c| c.sourceuuid == call_id)
    }
}

/// A record as a JSON object.
pub(crate) fn row_json(row: &Row) -> Value {
    Value::Object(
        row.iter()
            .map(|(k, v)| (k.clone(), Value::String(v.clone())))
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_parse_strictly() {
        assert_eq!(parse_id("12x3"), Ok((Module::Contacts, 3)));
        assert_eq!(parse_id("12x"), Err(IdError::Malformed));
        assert_eq!(parse_id("x3"), Err(IdError::Malformed));
        assert_eq!(parse_id("12X3"), Err(IdError::Malformed));
        assert_eq!(parse_id(" 12x3"), Err(IdError::Malformed));
        assert_eq!(parse_id("99x1"), Err(IdError::NotFound));
    }

    #[test]
    fn phone_matching_uses_digit_suffixes_of_six_or_more() {
        assert!(phone_matches("647 46 01 97", "+34647460197"));
        assert!(phone_matches("+34 647-46-01-97", "647460197"));
        assert!(phone_matches("460197", "+34 647 46 01 97"));
        assert!(!phone_matches("60197", "+34 647 46 01 97"));
        assert!(!phone_matches("647 46 01 98", "647460197"));
        assert!(!phone_matches("", ""));
    }
}
