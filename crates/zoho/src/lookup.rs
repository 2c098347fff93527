//! Who is calling: `GET {api_domain}/crm/v2/phonebridge/callerdetails?
//! phonenumber=<E.164>` (the `+` URL-encoded). Zoho answers 204 when no Lead,
//! Contact or Account has the number; otherwise the records with their
//! Potentials. Every record is re-verified against its stored Phone/Mobile
//! (Zoho matches loosely) and only open Potentials are kept (stage not in
//! `closed_stages`).

use chrono::NaiveDate;
use reqwest::Method;
use ringside_core::{
    Company, Contact, ContactMatch, Deal, Error, NumberPlan, NumberVariants, PhoneEntry,
    PhoneNumber, RecordSource, Result,
};

use crate::ZohoCrm;
use crate::settings::ZohoSettings;
use crate::wire::{CallerDetails, CallerRecord, PotentialRecord};

/// The system name on every record source.
pub const SYSTEM: &str = "zoho";

/// The `phonenumber` to ask for: E.164, else the national digits, else the
/// number as read. `None` for anonymous callers (no request).
pub fn lookup_value(variants: &NumberVariants) -> Option<String> {
    if variants.number.is_anonymous() {
        return None;
    }
    variants
        .e164
        .clone()
        .or_else(|| variants.national.clone())
        .or_else(|| match &variants.number {
            PhoneNumber::E164(s) | PhoneNumber::Extension(s) | PhoneNumber::Raw(s) => {
                Some(s.clone())
            }
            PhoneNumber::Anonymous => None,
        })
        .map(|v| v.trim().to_string())
        .filter(|v| !v.is_empty())
}

fn non_empty(s: &str) -> Option<String> {
    let s = s.trim();
    (!s.is_empty()).then(|| s.to_string())
}

fn source(id: &str, url: &str) -> RecordSource {
    RecordSource {
        system: SYSTEM.to_string(),
        id: id.trim().to_string(),
        url: non_empty(url),
    }
}

fn phones(record: &CallerRecord, plan: &NumberPlan) -> Vec<PhoneEntry> {
    [("phone", &record.phone), ("mobile", &record.mobile)]
        .into_iter()
        .filter_map(|(label, raw)| {
            let raw = raw.trim();
            if raw.is_empty() {
                return None;
            }
            let e164 = match plan.normalize(raw) {
                PhoneNumber::E164(e) => Some(e),
                _ => None,
            };
            Some(PhoneEntry {
                label: Some(label.to_string()),
                raw: raw.to_string(),
                e164,
            })
        })
        .collect()
}

/// A record as a [`Contact`]. The company (`Company/Account`) has no id of
/// its own in PhoneBridge's answer, so it links to the record itself; an
/// Accounts record is its own company.
pub fn contact_of(record: &CallerRecord, plan: &NumberPlan) -> Contact {
    let src = source(&record.id, &record.url);
    let company_name = non_empty(&record.company).or_else(|| {
        record
            .module
            .eq_ignore_ascii_case("Accounts")
            .then(|| non_empty(&record.name))
            .flatten()
    });
    Contact {
        source: src.clone(),
        name: record.name.trim().to_string(),
        company: company_name.map(|name| Company { source: src, name }),
        phones: phones(record, plan),
        email: non_empty(&record.email),
        notes: None,
        updated_at: None,
    }
}

/// A Potential as a [`Deal`]; `None` when its stage is closed.
pub fn open_deal(potential: &PotentialRecord, settings: &ZohoSettings) -> Option<Deal> {
    if settings.is_closed_stage(&potential.stage) {
        return None;
    }
    Some(Deal {
        source: source(&potential.id, &potential.url),
        name: potential.name.trim().to_string(),
        stage: potential.stage.trim().to_string(),
        amount: non_empty(&potential.expected_revenue),
        // PhoneBridge does not say which currency.
        currency: None,
        close_date: NaiveDate::parse_from_str(potential.closing_date.trim(), "%Y-%m-%d").ok(),
        open: true,
    })
}

/// The records of a `callerdetails` answer that really have the number,
/// each with its open deals.
pub fn matches_of(
    details: CallerDetails,
    variants: &NumberVariants,
    settings: &ZohoSettings,
) -> Vec<ContactMatch> {
    let plan = &settings.numbers;
    details
        .data
        .into_iter()
        .filter(|record| {
            let verified = [&record.phone, &record.mobile]
                .into_iter()
                .any(|stored| !stored.trim().is_empty() && variants.matches_stored(stored, plan));
            if !verified {
                tracing::debug!(
                    crm = "zoho",
                    id = %record.id,
                    "callerdetails hit dropped: neither Phone nor Mobile is the same number"
                );
            }
            verified
        })
        .map(|record| ContactMatch {
            contact: contact_of(&record, plan),
            deals: record
                .potentials
                .iter()
                .flatten()
                .filter_map(|p| open_deal(p, settings))
                .collect(),
        })
        .collect()
}

impl ZohoCrm {
    pub(crate) async fn lookup_number(
        &self,
        variants: &NumberVariants,
    ) -> Result<Vec<ContactMatch>> {
        let Some(number) = lookup_value(variants) else {
            return Ok(Vec::new());
        };
        let what = "Zoho PhoneBridge callerdetails";
        let value = self
            .phonebridge(
                what,
                Method::GET,
                "callerdetails",
                &[("phonenumber", number)],
                None,
            )
            .await
            .map_err(|e| e.context(what))?;
        if value.is_null() {
            return Ok(Vec::new());
        }
        let details: CallerDetails = serde_json::from_value(value)
            .map_err(|e| Error::internal(format!("{what}: unexpected answer shape: {e}")))?;
        Ok(matches_of(details, variants, &self.settings))
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn settings() -> ZohoSettings {
        ZohoSettings::new("https://accounts.zoho.eu", "c", "s", "r")
    }

    #[test]
    fn lookup_value_is_e164_and_none_for_anonymous() {
        let plan = NumberPlan::default();
        assert_eq!(
            lookup_value(&plan.variants("0647460197")).as_deref(),
            Some("+34647460197")
        );
        assert_eq!(lookup_value(&plan.variants("anonymous")), None);
    }

    #[test]
    fn records_are_verified_and_closed_deals_dropped() {
        let s = settings();
        let details: CallerDetails = serde_json::from_value(json!({"data": [
            {"Name": "Lucía Fernández", "Module": "Contacts", "Id": "1", "Mobile": "647 46 01 97",
             "Company/Account": "Hotel Sol", "Url": "https://crm.zoho.eu/c/1",
             "Potential": [
                {"Name": "Renovación", "Id": "10", "Stage": "Negotiation/Review",
                 "ExpectedRevenue": "12000", "ClosingDate": "2026-06-30", "Url": "https://crm.zoho.eu/p/10"},
                {"Name": "Proyecto piloto", "Id": "11", "Stage": "closed won"}
             ]},
            {"Name": "Someone else", "Module": "Leads", "Id": "2", "Phone": "+34 910 000 000"}
        ]}))
        .unwrap();
        let m = matches_of(details, &s.numbers.variants("+34647460197"), &s);
        assert_eq!(m.len(), 1);
        let c = &m[0].contact;
        assert_eq!(c.name, "Lucía Fernández");
        assert_eq!(c.source.system, "zoho");
        assert_eq!(c.source.url.as_deref(), Some("https://crm.zoho.eu/c/1"));
        assert_eq!(c.company.as_ref().unwrap().name, "Hotel Sol");
        assert_eq!(c.phones[0].e164.as_deref(), Some("+34647460197"));
        assert_eq!(m[0].deals.len(), 1);
        let d = &m[0].deals[0];
        assert_eq!(d.amount.as_deref(), Some("12000"));
        assert_eq!(d.close_date, NaiveDate::from_ymd_opt(2026, 6, 30));
        assert!(d.open);
    }
}
