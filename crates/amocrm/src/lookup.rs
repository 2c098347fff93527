//! Who is calling: `GET /api/v4/contacts?query=<digits>&with=leads`.
//!
//! amo's `query` matches **any** field (a note mentioning the number
//! matches too) and compares strings as typed, so:
//! - the queries are, in order, the national digits (`647460197`), for a
//!   `+7` number the `8`-trunk form (`89995551122`), then the E.164 digits
//!   (`79995551122`); the next is tried only when the previous found no
//!   verified contact (204 = none);
//! - every contact is **re-verified**: kept only if one PHONE value is the
//!   same number ([`NumberVariants::matches_stored`]);
//! - the kept contacts' leads come in one `GET /api/v4/leads?filter[id][]=…`;
//!   open = status not 142 (won) / 143 (lost); stage names from the pipelines
//!   and the currency from the account (both fetched once and cached).
//!
//! Anonymous callers and internal extensions make no request.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};
use reqwest::Method;
use ringside_core::{
    Company, Contact, ContactMatch, Deal, NumberVariants, PhoneEntry, PhoneNumber, RecordSource,
    Result,
};
use serde_json::Value;

use crate::{AmoCrm, as_u64, embedded, str_of};

/// The system name on every record source.
pub const SYSTEM: &str = "amocrm";
/// amo's fixed "won" status.
pub const WON: u64 = 142;
/// amo's fixed "lost" status.
pub const LOST: u64 = 143;

/// Stage names by `(pipeline id, status id)`, and by status id alone.
#[derive(Debug, Default, Clone)]
pub struct Statuses {
    by_pair: HashMap<(u64, u64), String>,
    by_status: HashMap<u64, String>,
}

impl Statuses {
    pub fn from_pipelines(json: &Value) -> Self {
        let mut s = Statuses::default();
        for p in embedded(json, "pipelines") {
            let Some(pid) = p.get("id").and_then(as_u64) else {
                continue;
            };
            for st in embedded(p, "statuses") {
                if let Some(id) = st.get("id").and_then(as_u64) {
                    let name = str_of(st, "name");
                    s.by_pair.insert((pid, id), name.clone());
                    s.by_status.entry(id).or_insert(name);
                }
            }
        }
        s
    }

    pub fn name(&self, pipeline: Option<u64>, status: u64) -> Option<&str> {
        pipeline
            .and_then(|p| self.by_pair.get(&(p, status)))
            .or_else(|| self.by_status.get(&status))
            .map(String::as_str)
    }
}

fn digits(s: &str) -> String {
    s.chars().filter(char::is_ascii_digit).collect()
}

/// The `query` values to try, in order (empty: no request).
pub fn queries(variants: &NumberVariants) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    match &variants.number {
        PhoneNumber::Anonymous | PhoneNumber::Extension(_) => {}
        PhoneNumber::E164(e164) => {
            if let Some(national) = variants.national.as_deref().map(digits) {
                out.push(national.clone());
                if e164.starts_with("+7") {
                    out.push(format!("8{national}"));
                }
            }
            out.push(digits(e164));
        }
        PhoneNumber::Raw(raw) => out.push(digits(raw)),
    }
    let mut seen = HashSet::new();
    out.retain(|q| !q.is_empty() && seen.insert(q.clone()));
    out
}

/// The values of a contact's custom field (`PHONE`, `EMAIL`) with their
/// enum codes.
fn field_values(contact: &Value, code: &str) -> Vec<(String, Option<String>)> {
    contact
        .get("custom_fields_values")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter(|f| {
            f.get("field_code")
                .and_then(Value::as_str)
                .is_some_and(|c| c.eq_ignore_ascii_case(code))
        })
        .flat_map(|f| {
            f.get("values")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default()
        })
        .filter_map(|v| {
            let value = match v.get("value")? {
                Value::String(s) => s.trim().to_string(),
                Value::Number(n) => n.to_string(),
                _ => return None,
            };
            (!value.is_empty()).then(|| {
                let label = v
                    .get("enum_code")
                    .and_then(Value::as_str)
                    .map(str::to_ascii_lowercase);
                (value, label)
            })
        })
        .collect()
}

fn lead_ids(contact: &Value) -> Vec<u64> {
    embedded(contact, "leads")
        .iter()
        .filter_map(|l| l.get("id").and_then(as_u64))
        .collect()
}

impl AmoCrm {
    pub(crate) async fn lookup_number(
        &self,
        variants: &NumberVariants,
    ) -> Result<Vec<ContactMatch>> {
        let plan = &self.settings.numbers;
        let mut kept: Vec<Value> = Vec::new();
        for query in queries(variants) {
            let params = vec![
                ("query".to_string(), query),
                ("with".to_string(), "leads".to_string()),
                ("limit".to_string(), "250".to_string()),
            ];
            let Some(json) = self
                .v4_json(
                    "looking the caller up in amoCRM",
                    Method::GET,
                    "/api/v4/contacts",
                    &params,
                    None,
                )
                .await?
            else {
                continue;
            };
            for c in embedded(&json, "contacts") {
                let verified = field_values(c, "PHONE")
                    .iter()
                    .any(|(v, _)| variants.matches_stored(v, plan));
                let id = c.get("id").and_then(as_u64);
                if verified && !kept.iter().any(|k| k.get("id").and_then(as_u64) == id) {
                    kept.push(c.clone());
                }
            }
            if !kept.is_empty() {
                break;
            }
        }
        if kept.is_empty() {
            return Ok(Vec::new());
        }
        let leads = self.open_leads(&kept).await?;
        let mut out = Vec::with_capacity(kept.len());
        for c in &kept {
            let contact = self.contact_of(c).await?;
            let deals = lead_ids(c)
                .into_iter()
                .filter_map(|id| leads.get(&id).cloned())
                .collect();
            out.push(ContactMatch { contact, deals });
        }
        Ok(out)
    }

    /// The open leads of `contacts` by id (one request for all of them).
    async fn open_leads(&self, contacts: &[Value]) -> Result<HashMap<u64, Deal>> {
        let mut ids: Vec<u64> = contacts.iter().flat_map(lead_ids).collect();
        ids.sort_unstable();
        ids.dedup();
        if ids.is_empty() {
            return Ok(HashMap::new());
        }
        let mut query: Vec<(String, String)> = ids
            .iter()
            .map(|id| ("filter[id][]".to_string(), id.to_string()))
            .collect();
        query.push(("limit".to_string(), "250".to_string()));
        let Some(json) = self
            .v4_json(
                "reading the caller's amoCRM leads",
                Method::GET,
                "/api/v4/leads",
                &query,
                None,
            )
            .await?
        else {
            return Ok(HashMap::new());
        };
        let open: Vec<&Value> = embedded(&json, "leads")
            .iter()
            .filter(|l| {
                l.get("status_id")
                    .and_then(as_u64)
                    .is_some_and(|s| s != WON && s != LOST)
            })
            .collect();
        if open.is_empty() {
            return Ok(HashMap::new());
        }
        let statuses = self.statuses().await?;
        let currency = self.currency().await?;
        let mut out = HashMap::new();
        for l in open {
            let Some(id) = l.get("id").and_then(as_u64) else {
                continue;
            };
            let status = l.get("status_id").and_then(as_u64).unwrap_or_default();
            let pipeline = l.get("pipeline_id").and_then(as_u64);
            let amount = l
                .get("price")
                .and_then(|p| match p {
                    Value::Number(n) => Some(n.to_string()),
                    Value::String(s) => Some(s.trim().to_string()),
                    _ => None,
                })
                .filter(|p| !p.is_empty() && p != "0");
            out.insert(
                id,
                Deal {
                    source: RecordSource {
                        system: SYSTEM.to_string(),
                        id: id.to_string(),
                        url: Some(format!("{}/leads/detail/{id}", self.settings.base_url)),
                    },
                    name: str_of(l, "name"),
                    stage: statuses
                        .name(pipeline, status)
                        .map(str::to_string)
                        .unwrap_or_else(|| status.to_string()),
                    amount,
                    currency: currency.clone(),
                    close_date: None,
                    open: true,
                },
            );
        }
        Ok(out)
    }

    async fn statuses(&self) -> Result<&Statuses> {
        self.statuses
            .get_or_try_init(|| async {
                let json = self
                    .v4_json(
                        "reading the amoCRM pipelines",
                        Method::GET,
                        "/api/v4/leads/pipelines",
                        &[],
                        None,
                    )
                    .await?
                    .unwrap_or(Value::Null);
                Ok(Statuses::from_pipelines(&json))
            })
            .await
    }

    /// The account currency (ISO 4217), read once.
    pub(crate) async fn currency(&self) -> Result<Option<String>> {
        self.currency
            .get_or_try_init(|| async {
                let account = self.account().await?;
                Ok(Some(str_of(&account, "currency")).filter(|c| !c.is_empty()))
            })
            .await
            .cloned()
    }

    async fn contact_of(&self, c: &Value) -> Result<Contact> {
        let plan = &self.settings.numbers;
        let id = c.get("id").and_then(as_u64).unwrap_or_default();
        let mut name = str_of(c, "name");
        if name.is_empty() {
            name = format!("{} {}", str_of(c, "first_name"), str_of(c, "last_name"))
                .trim()
                .to_string();
        }
        let phones = field_values(c, "PHONE")
            .into_iter()
            .map(|(raw, label)| PhoneEntry {
                e164: match plan.normalize(&raw) {
                    PhoneNumber::E164(e) => Some(e),
                    _ => None,
                },
                label,
                raw,
            })
            .collect();
        let email = field_values(c, "EMAIL").into_iter().next().map(|(v, _)| v);
        let company = match embedded(c, "companies")
            .first()
            .and_then(|co| co.get("id"))
            .and_then(as_u64)
        {
            Some(cid) => self.company(cid).await?,
            None => None,
        };
        let updated_at = c
            .get("updated_at")
            .and_then(Value::as_i64)
            .and_then(|t| DateTime::<Utc>::from_timestamp(t, 0));
        Ok(Contact {
            source: RecordSource {
                system: SYSTEM.to_string(),
                id: id.to_string(),
                url: Some(format!("{}/contacts/detail/{id}", self.settings.base_url)),
            },
            name,
            company,
            phones,
            email,
            notes: None,
            updated_at,
        })
    }

    async fn company(&self, id: u64) -> Result<Option<Company>> {
        let json = self
            .v4_json(
                "reading the caller's amoCRM company",
                Method::GET,
                &format!("/api/v4/companies/{id}"),
                &[],
                None,
            )
            .await;
        let json = match json {
            Ok(j) => j,
            Err(e) if e.kind == ringside_core::ErrorKind::NotFound => None,
            Err(e) => return Err(e),
        };
        Ok(json.map(|j| Company {
            source: RecordSource {
                system: SYSTEM.to_string(),
                id: id.to_string(),
                url: Some(format!("{}/companies/detail/{id}", self.settings.base_url)),
            },
            name: str_of(&j, "name"),
        }))
    }
}

#[cfg(test)]
mod tests {
    use ringside_core::NumberPlan;
    use serde_json::json;

    use super::*;

    #[test]
    fn queries_by_number_kind() {
        let plan = NumberPlan::default();
        assert_eq!(
            queries(&plan.variants("+34647460197")),
            vec!["647460197", "34647460197"]
        );
        assert_eq!(
            queries(&plan.variants("+79995551122")),
            vec!["9995551122", "89995551122", "79995551122"]
        );
        assert!(queries(&plan.variants("anonymous")).is_empty());
        assert!(queries(&plan.variants("203")).is_empty());
    }

    #[test]
    fn statuses_by_pipeline_then_id() {
        let s = Statuses::from_pipelines(&json!({"_embedded":{"pipelines":[
            {"id":1,"_embedded":{"statuses":[{"id":10,"name":"New"},{"id":142,"name":"Won"}]}},
            {"id":2,"_embedded":{"statuses":[{"id":20,"name":"Offer"},{"id":142,"name":"Closed"}]}}]}}));
        assert_eq!(s.name(Some(2), 142), Some("Closed"));
        assert_eq!(s.name(None, 20), Some("Offer"));
        assert_eq!(s.name(Some(9), 10), Some("New"));
        assert_eq!(s.name(None, 99), None);
    }
}
