//! Who is calling: `crm.duplicate.findbycomm` then the records themselves.
//!
//! - `crm.duplicate.findbycomm` {ENTITY_TYPE, TYPE: "PHONE", VALUES} with
//!   up to 20 forms of the number ([`values`]), once for CONTACT and once
//!   for LEAD. No match answers `[]` (PHP's empty map) or `{}`: both are
//!   "none".
//! - Each id is read (`crm.contact.get` / `crm.lead.get`) and **re-verified**:
//!   kept only if one PHONE value is the same number
//!   ([`NumberVariants::matches_stored`]).
//! - A contact's company comes from `crm.company.get` (COMPANY_ID); its open
//!   deals from `crm.deal.list` {filter: {CONTACT_ID, CLOSED: "N"}}, 50 a
//!   page following `next` (at most 10 pages). `CONTACT_ID` is the deal's
//!   primary contact only (Bitrix24 cannot filter on CONTACT_IDS).
//! - Leads (a lead Bitrix24 created at register, `CRM_CREATED_LEAD`) are
//!   returned as contacts without deals, with the source id `lead:<id>` and
//!   the lead's link.
//!
//! Anonymous callers and internal extensions make no request.

use std::collections::HashSet;

use chrono::{DateTime, NaiveDate, Utc};
use ringside_core::{
    Company, Contact, ContactMatch, Deal, ErrorKind, NumberVariants, PhoneEntry, PhoneNumber,
    RecordSource, Result,
};
use serde_json::{Value, json};

use crate::{BitrixCrm, SYSTEM, as_u64, text};

/// At most this many values per findbycomm request (Bitrix24's limit).
pub const MAX_VALUES: usize = 20;

fn digits(s: &str) -> String {
    s.chars().filter(char::is_ascii_digit).collect()
}

/// The forms of a number findbycomm is asked for, most specific first (at
/// most [`MAX_VALUES`]; empty: no request): E.164, E.164 without `+`,
/// `00` international, national, national with a `0` trunk prefix, the
/// last digits.
pub fn values(variants: &NumberVariants) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    match &variants.number {
        PhoneNumber::Anonymous | PhoneNumber::Extension(_) => return out,
        PhoneNumber::E164(e164) => {
            let bare = digits(e164);
            out.push(e164.clone());
            out.push(bare.clone());
            out.push(format!("00{bare}"));
            if let Some(national) = variants.national.as_deref().map(digits) {
                out.push(national.clone());
                out.push(format!("0{national}"));
                if e164.starts_with("+7") {
                    out.push(format!("8{national}"));
                }
            }
        }
        PhoneNumber::Raw(raw) => {
            out.push(raw.trim().to_string());
            out.push(digits(raw));
        }
    }
    if let Some(last) = &variants.last_digits {
        out.push(last.clone());
    }
    let mut seen = HashSet::new();
    out.retain(|v| !v.is_empty() && seen.insert(v.clone()));
    out.truncate(MAX_VALUES);
    out
}

/// The ids of one entity type in a findbycomm result (`[]`, `{}` or
/// `{"CONTACT":[ids],"LEAD":[ids]}`).
pub fn ids_of(result: &Value, entity: &str) -> Vec<u64> {
    let mut ids: Vec<u64> = result
        .get(entity)
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(as_u64)
        .collect();
    let mut seen = HashSet::new();
    ids.retain(|id| seen.insert(*id));
    ids
}

/// A record's multi-field values (`PHONE`, `EMAIL`): `(VALUE, VALUE_TYPE)`.
fn multi(record: &Value, field: &str) -> Vec<(String, Option<String>)> {
    record
        .get(field)
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|v| {
            let value = text(v, "VALUE");
            (!value.is_empty()).then(|| {
                let label =
                    Some(text(v, "VALUE_TYPE").to_ascii_lowercase()).filter(|l| !l.is_empty());
                (value, label)
            })
        })
        .collect()
}

fn date(raw: &str) -> Option<NaiveDate> {
    raw.get(..10)
        .and_then(|d| NaiveDate::parse_from_str(d, "%Y-%m-%d").ok())
}

fn timestamp(raw: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(raw.trim())
        .ok()
        .map(|d| d.with_timezone(&Utc))
}

fn person_name(r: &Value) -> String {
    ["NAME", "SECOND_NAME", "LAST_NAME"]
        .iter()
        .map(|k| text(r, k))
        .filter(|s| !s.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

impl BitrixCrm {
    pub(crate) async fn lookup_number(
        &self,
        variants: &NumberVariants,
    ) -> Result<Vec<ContactMatch>> {
        let values = values(variants);
        if values.is_empty() {
            return Ok(Vec::new());
        }
        let mut out = Vec::new();
        for id in self.find("CONTACT", &values).await? {
            let Some(c) = self
                .get(
                    "reading the caller's Bitrix24 contact",
                    "crm.contact.get",
                    id,
                )
                .await?
            else {
                continue;
            };
            if !self.verified(&c, variants) {
                continue;
            }
            let contact = self.contact_of(id, &c).await?;
            let deals = self.open_deals(id).await?;
            out.push(ContactMatch { contact, deals });
        }
        for id in self.find("LEAD", &values).await? {
            let Some(l) = self
                .get("reading the caller's Bitrix24 lead", "crm.lead.get", id)
                .await?
            else {
                continue;
            };
            if !self.verified(&l, variants) {
                continue;
            }
            out.push(ContactMatch {
                contact: self.lead_of(id, &l),
                deals: Vec::new(),
            });
        }
        Ok(out)
    }

    fn verified(&self, record: &Value, variants: &NumberVariants) -> bool {
        multi(record, "PHONE")
            .iter()
            .any(|(v, _)| variants.matches_stored(v, &self.settings.numbers))
    }

    /// The ids findbycomm has for `values` in `entity` (CONTACT, LEAD).
    async fn find(&self, entity: &str, values: &[String]) -> Result<Vec<u64>> {
        let env = self
            .call(
                "looking the caller up in Bitrix24",
                "crm.duplicate.findbycomm",
                &json!({ "ENTITY_TYPE": entity, "TYPE": "PHONE", "VALUES": values }),
            )
            .await?;
        Ok(ids_of(&env["result"], entity))
    }

    /// `crm.<entity>.get {id}`; `None` when it is gone (deleted since).
    async fn get(&self, what: &str, method: &str, id: u64) -> Result<Option<Value>> {
        match self.call(what, method, &json!({ "id": id })).await {
            Ok(env) => Ok(Some(env["result"].clone()).filter(Value::is_object)),
            Err(e) if e.kind == ErrorKind::NotFound => Ok(None),
            Err(e)
                if e.kind == ErrorKind::Invalid
                    && e.message.to_ascii_lowercase().contains("not found") =>
            {
                Ok(None)
            }
            Err(e) => Err(e),
        }
    }

    fn phones(&self, record: &Value) -> Vec<PhoneEntry> {
        multi(record, "PHONE")
            .into_iter()
            .map(|(raw, label)| PhoneEntry {
                e164: match self.settings.numbers.normalize(&raw) {
                    PhoneNumber::E164(e) => Some(e),
                    _ => None,
                },
                label,
                raw,
            })
            .collect()
    }

    async fn contact_of(&self, id: u64, c: &Value) -> Result<Contact> {
        let company = match c.get("COMPANY_ID").and_then(as_u64).filter(|id| *id > 0) {
            Some(cid) => self
                .get(
                    "reading the caller's Bitrix24 company",
                    "crm.company.get",
                    cid,
                )
                .await?
                .map(|co| Company {
                    source: RecordSource {
                        system: SYSTEM.to_string(),
                        id: cid.to_string(),
                        url: Some(format!("{}/crm/company/details/{cid}/", self.portal)),
                    },
                    name: text(&co, "TITLE"),
                }),
            None => None,
        };
        Ok(Contact {
            source: RecordSource {
                system: SYSTEM.to_string(),
                id: id.to_string(),
                url: Some(format!("{}/crm/contact/details/{id}/", self.portal)),
            },
            name: person_name(c),
            company,
            phones: self.phones(c),
            email: multi(c, "EMAIL").into_iter().next().map(|(v, _)| v),
            notes: Some(text(c, "COMMENTS")).filter(|n| !n.is_empty()),
            updated_at: timestamp(&text(c, "DATE_MODIFY")),
        })
    }

    fn lead_of(&self, id: u64, l: &Value) -> Contact {
        let mut name = person_name(l);
        if name.is_empty() {
            name = text(l, "TITLE");
        }
        let company_title = text(l, "COMPANY_TITLE");
        Contact {
            source: RecordSource {
                system: SYSTEM.to_string(),
                id: format!("lead:{id}"),
                url: Some(format!("{}/crm/lead/details/{id}/", self.portal)),
            },
            name,
            company: (!company_title.is_empty()).then(|| Company {
                source: RecordSource {
                    system: SYSTEM.to_string(),
                    id: format!("lead:{id}"),
                    url: None,
                },
                name: company_title,
            }),
            phones: self.phones(l),
            email: multi(l, "EMAIL").into_iter().next().map(|(v, _)| v),
            notes: Some(text(l, "COMMENTS")).filter(|n| !n.is_empty()),
            updated_at: timestamp(&text(l, "DATE_MODIFY")),
        }
    }

    /// The open deals (CLOSED=N) whose primary contact is `contact_id`.
    pub async fn open_deals(&self, contact_id: u64) -> Result<Vec<Deal>> {
        let list = self
            .list(
                "reading the caller's Bitrix24 deals",
                "crm.deal.list",
                &json!({
                    "filter": { "CONTACT_ID": contact_id, "CLOSED": "N" },
                    "select": ["ID", "TITLE", "STAGE_ID", "OPPORTUNITY", "CURRENCY_ID", "CLOSEDATE", "CLOSED"],
                    "order": { "DATE_MODIFY": "DESC" },
                }),
            )
            .await?;
        Ok(list
            .iter()
            .filter(|d| text(d, "CLOSED") != "Y")
            .filter_map(|d| {
                let id = d.get("ID").and_then(as_u64)?;
                let amount = Some(text(d, "OPPORTUNITY"))
                    .filter(|a| !a.is_empty() && !a.parse::<f64>().is_ok_and(|v| v == 0.0));
                Some(Deal {
                    source: RecordSource {
                        system: SYSTEM.to_string(),
                        id: id.to_string(),
                        url: Some(format!("{}/crm/deal/details/{id}/", self.portal)),
                    },
                    name: text(d, "TITLE"),
                    stage: text(d, "STAGE_ID"),
                    amount,
                    currency: Some(text(d, "CURRENCY_ID")).filter(|c| !c.is_empty()),
                    close_date: date(&text(d, "CLOSEDATE")),
                    open: true,
                })
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use ringside_core::NumberPlan;

    use super::*;

    #[test]
    fn values_by_number_kind() {
        let plan = NumberPlan::default();
        let v = values(&plan.variants("+34647460197"));
        assert_eq!(
            &v[..5],
            &[
                "+34647460197",
                "34647460197",
                "0034647460197",
                "647460197",
                "0647460197"
            ]
        );
        assert!(v.len() <= MAX_VALUES);
        assert!(values(&plan.variants("anonymous")).is_empty());
        assert!(values(&plan.variants("203")).is_empty());
    }

    #[test]
    fn findbycomm_results() {
        assert!(ids_of(&json!([]), "CONTACT").is_empty());
        assert!(ids_of(&json!({}), "CONTACT").is_empty());
        assert_eq!(
            ids_of(&json!({"CONTACT": [3, "5", 3], "LEAD": [9]}), "CONTACT"),
            vec![3, 5]
        );
        assert_eq!(ids_of(&json!({"CONTACT": [3]}), "LEAD"), Vec::<u64>::new());
    }
}
