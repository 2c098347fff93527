//! Who is calling: REST `lookup` by phone over Contacts and Leads, every hit
//! re-verified against its stored phone fields (Vtiger stores numbers as
//! typed and matches loosely), then each Contact's organization and open
//! Potentials.

use std::collections::HashMap;

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use ringside_core::{
    Company, Contact, ContactMatch, Deal, ErrorKind, NumberPlan, NumberVariants, PhoneEntry,
    PhoneNumber, RecordSource, Result,
};
use serde_json::Value;

use crate::VtigerCrm;
use crate::rest::{MAX_ROWS, is_record_id, quote, rows};
use crate::wire::{AccountRow, PersonRow, PotentialRow, reference};

/// The `searchIn` of every lookup: the phone fields of Contacts and Leads.
pub const SEARCH_IN: &str =
    r#"{"Contacts":["phone","mobile","homephone","otherphone"],"Leads":["phone","mobile"]}"#;
/// The most pages of Potentials read for one contact.
const MAX_DEAL_PAGES: usize = 10;
/// The system name on every record source.
pub const SYSTEM: &str = "vtiger";

/// The module of a record, from its composite id's prefix (stock Vtiger:
/// Contacts `12`, Leads `10`, Accounts `11`, Potentials `13`), else from
/// the fields it carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecordKind {
    Contact,
    Lead,
    Account,
}

impl RecordKind {
    pub fn module(self) -> &'static str {
        match self {
            RecordKind::Contact => "Contacts",
            RecordKind::Lead => "Leads",
            RecordKind::Account => "Accounts",
        }
    }

    fn phone_fields(self) -> &'static [&'static str] {
        match self {
            RecordKind::Contact => &["phone", "mobile", "homephone", "otherphone"],
            RecordKind::Lead => &["phone", "mobile"],
            RecordKind::Account => &["phone"],
        }
    }

    fn of(row: &PersonRow) -> Option<RecordKind> {
        match row.id.split_once('x').map(|(prefix, _)| prefix) {
            Some("12") => return Some(RecordKind::Contact),
            Some("10") => return Some(RecordKind::Lead),
            Some("11") => return Some(RecordKind::Account),
            _ => {}
        }
        if row.accountname.is_some() {
            Some(RecordKind::Account)
        } else if row.company.is_some() {
            Some(RecordKind::Lead)
        } else if row.account_id.is_some() {
            Some(RecordKind::Contact)
        } else {
            None
        }
    }
}

/// The value `lookup` searches for: the national number's digits, else the
/// last digits, else the E.164 digits. `None` for anonymous callers.
pub fn lookup_value(variants: &NumberVariants) -> Option<String> {
    if variants.number.is_anonymous() {
        return None;
    }
    let digits = |s: &str| s.chars().filter(char::is_ascii_digit).collect::<String>();
    [&variants.national, &variants.last_digits, &variants.e164]
        .into_iter()
        .flatten()
        .map(|v| digits(v))
        .find(|v| !v.is_empty())
}

/// Where to open a record in Vtiger's web UI.
pub fn record_url(base: &str, module: &str, id: &str) -> Option<String> {
    let (_, record) = id.split_once('x')?;
    if record.is_empty() || !record.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some(format!(
        "{base}/index.php?module={module}&view=Detail&record={record}"
    ))
}

fn source(base: &str, module: &str, id: &str) -> RecordSource {
    RecordSource {
        system: SYSTEM.to_string(),
        id: id.to_string(),
        url: record_url(base, module, id),
    }
}

/// `Y-m-d H:i:s` read as UTC (Vtiger stores datetimes in UTC).
pub fn parse_datetime(value: &str) -> Option<DateTime<Utc>> {
    NaiveDateTime::parse_from_str(value.trim(), "%Y-%m-%d %H:%M:%S")
        .ok()
        .map(|n| n.and_utc())
}

fn non_empty(s: &str) -> Option<String> {
    let s = s.trim();
    (!s.is_empty()).then(|| s.to_string())
}

fn field<'a>(row: &'a PersonRow, name: &str) -> &'a str {
    match name {
        "phone" => &row.phone,
        "mobile" => &row.mobile,
        "homephone" => &row.homephone,
        "otherphone" => &row.otherphone,
        _ => "",
    }
}

/// The record's non-empty phone fields.
fn phones(row: &PersonRow, kind: RecordKind, plan: &NumberPlan) -> Vec<PhoneEntry> {
    kind.phone_fields()
        .iter()
        .filter_map(|name| {
            let raw = field(row, name).trim();
            if raw.is_empty() {
                return None;
            }
            let e164 = match plan.normalize(raw) {
                PhoneNumber::E164(e) => Some(e),
                _ => None,
            };
            Some(PhoneEntry {
                label: Some((*name).to_string()),
                raw: raw.to_string(),
                e164,
            })
        })
        .collect()
}

/// A person row as a [`Contact`] (company filled in later for Contacts).
fn contact_of(base: &str, row: &PersonRow, kind: RecordKind, plan: &NumberPlan) -> Contact {
    let name = format!("{} {}", row.firstname.trim(), row.lastname.trim())
        .trim()
        .to_string();
    let company = match kind {
        // A Lead's company is free text, not a record: it links to the lead.
        RecordKind::Lead => non_empty(&reference(row.company.as_ref())).map(|name| Company {
            source: source(base, kind.module(), &row.id),
            name,
        }),
        _ => None,
    };
    Contact {
        source: source(base, kind.module(), &row.id),
        name,
        company,
        phones: phones(row, kind, plan),
        email: non_empty(&row.email),
        notes: None,
        updated_at: parse_datetime(&row.modifiedtime),
    }
}

/// A Potential as a [`Deal`].
fn deal_of(base: &str, row: &PotentialRow, open: bool) -> Deal {
    Deal {
        source: source(base, "Potentials", &row.id),
        name: row.potentialname.trim().to_string(),
        stage: row.sales_stage.trim().to_string(),
        amount: non_empty(&row.amount),
        currency: non_empty(&row.currency),
        close_date: NaiveDate::parse_from_str(row.closingdate.trim(), "%Y-%m-%d").ok(),
        open,
    }
}

impl VtigerCrm {
    pub(crate) async fn lookup_number(
        &self,
        variants: &NumberVariants,
    ) -> Result<Vec<ContactMatch>> {
        let Some(value) = lookup_value(variants) else {
            return Ok(Vec::new());
        };
        let result = self
            .rest_get(
                "lookup",
                &[
                    ("type", "phone"),
                    ("value", &value),
                    ("searchIn", SEARCH_IN),
                ],
            )
            .await?;
        let mut found: Vec<PersonRow> = rows(result, "lookup")?;
        if found.len() >= MAX_ROWS {
            tracing::warn!(
                crm = "vtiger",
                returned = found.len(),
                "Vtiger lookup hit its {MAX_ROWS}-record cap; records beyond it are ignored"
            );
            found.truncate(MAX_ROWS);
        }
        let plan = &self.settings.numbers;
        let mut companies: HashMap<String, Option<Company>> = HashMap::new();
        let mut matches = Vec::new();
        for row in &found {
            let Some(kind) = RecordKind::of(row) else {
                tracing::debug!(crm = "vtiger", id = %row.id, "lookup hit of unknown module skipped");
                continue;
            };
            if kind == RecordKind::Account {
                tracing::debug!(crm = "vtiger", id = %row.id, "organization hit skipped");
                continue;
            }
            let verified = kind.phone_fields().iter().any(|f| {
                !field(row, f).trim().is_empty() && variants.matches_stored(field(row, f), plan)
            });
            if !verified {
                tracing::debug!(
                    crm = "vtiger",
                    id = %row.id,
                    "lookup hit dropped: no phone field is the same number"
                );
                continue;
            }
            let mut contact = contact_of(&self.base, row, kind, plan);
            let mut deals = Vec::new();
            if kind == RecordKind::Contact {
                let account = reference(row.account_id.as_ref());
                if is_record_id(&account) {
                    if !companies.contains_key(&account) {
                        let company = self.company(&account).await?;
                        companies.insert(account.clone(), company);
                    }
                    contact.company = companies.get(&account).cloned().flatten();
                }
                if is_record_id(&row.id) {
                    deals = self.open_deals(&row.id).await?;
                }
            }
            matches.push(ContactMatch { contact, deals });
        }
        Ok(matches)
    }

    /// The organization `account_id`, `None` when it is gone.
    async fn company(&self, account_id: &str) -> Result<Option<Company>> {
        match self.rest_get("retrieve", &[("id", account_id)]).await {
            Ok(Value::Null) => Ok(None),
            Ok(value) => {
                let account: AccountRow = serde_json::from_value(value).unwrap_or_default();
                Ok(non_empty(&account.accountname).map(|name| Company {
                    source: source(&self.base, "Accounts", account_id),
                    name,
                }))
            }
            Err(e) if matches!(e.kind, ErrorKind::Invalid | ErrorKind::NotFound) => {
                tracing::debug!(crm = "vtiger", error = %e, "organization not readable; no company");
                Ok(None)
            }
            Err(e) => Err(e),
        }
    }

    /// The contact's Potentials whose stage is not a closed one.
    async fn open_deals(&self, contact_id: &str) -> Result<Vec<Deal>> {
        let vtql = format!(
            "SELECT id, potentialname, sales_stage, amount, currency, closingdate, modifiedtime \
             FROM Potentials WHERE contact_id = {}",
            quote(contact_id)
        );
        let rows: Vec<PotentialRow> = self.query_all(&vtql, MAX_DEAL_PAGES).await?;
        Ok(rows
            .iter()
            .filter(|p| !self.settings.is_closed_stage(&p.sales_stage))
            .map(|p| deal_of(&self.base, p, true))
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lookup_value_prefers_national_digits() {
        let plan = NumberPlan::default();
        assert_eq!(
            lookup_value(&plan.variants("+34 647 46 01 97")).as_deref(),
            Some("647460197")
        );
        assert_eq!(lookup_value(&plan.variants("anonymous")), None);
        assert_eq!(
            lookup_value(&plan.variants("7541763052569")).as_deref(),
            Some("763052569")
        );
    }

    #[test]
    fn urls_and_dates() {
        assert_eq!(
            record_url("https://a.od2.vtiger.com", "Contacts", "12x3").as_deref(),
            Some("https://a.od2.vtiger.com/index.php?module=Contacts&view=Detail&record=3")
        );
        assert_eq!(record_url("https://a", "Contacts", "bogus"), None);
        let t = parse_datetime("2026-05-01 10:20:30").unwrap();
        assert_eq!(t.to_rfc3339(), "2026-05-01T10:20:30+00:00");
    }

    #[test]
    fn kinds_by_prefix_then_fields() {
        let row = |id: &str| PersonRow {
            id: id.into(),
            ..PersonRow::default()
        };
        assert_eq!(RecordKind::of(&row("12x1")), Some(RecordKind::Contact));
        assert_eq!(RecordKind::of(&row("10x1")), Some(RecordKind::Lead));
        let mut lead = row("77x1");
        lead.company = Some(Value::String("ACME".into()));
        assert_eq!(RecordKind::of(&lead), Some(RecordKind::Lead));
        assert_eq!(RecordKind::of(&row("77x1")), None);
    }
}
