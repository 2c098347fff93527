//! Input checks: a [`NewContact`] or [`NewDeal`] becomes a record ready to
//! store, or an `Invalid` error that names the offending value.

use chrono::NaiveDate;
use ringside_core::{Error, NumberPlan, PhoneNumber, Result};

use crate::model::{NewContact, NewDeal};

/// A phone number with every form the lookups use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PhoneRecord {
    pub label: Option<String>,
    pub raw: String,
    pub e164: Option<String>,
    /// National significant number when E.164 is known, else the digits as typed.
    pub national: String,
    /// All digits (of the E.164 form when known, else as typed), reversed.
    pub rdigits: String,
}

/// A checked contact.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ContactRecord {
    pub name: String,
    pub company: Option<String>,
    pub phones: Vec<PhoneRecord>,
    pub email: Option<String>,
    pub notes: Option<String>,
}

/// A checked deal (without its contact, which the caller resolves).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct DealRecord {
    pub name: String,
    pub stage: String,
    pub amount: Option<String>,
    pub currency: Option<String>,
    pub close_date: Option<NaiveDate>,
    pub open: bool,
}

/// Trimmed text, `None` when blank.
pub(crate) fn non_blank(s: Option<&str>) -> Option<String> {
    s.map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
}

pub(crate) fn digits_of(s: &str) -> String {
    s.chars().filter(char::is_ascii_digit).collect()
}

/// Check a contact: a name, at least one phone or an email, every phone a number.
pub(crate) fn contact(c: &NewContact, plan: &NumberPlan) -> Result<ContactRecord> {
    let name = non_blank(Some(&c.name)).ok_or_else(|| Error::invalid("no name"))?;
    let email = match non_blank(c.email.as_deref()) {
        Some(e) => Some(email(&e)?),
        None => None,
    };
    let phones = c
        .phones
        .iter()
        .filter(|p| !p.number.trim().is_empty())
        .map(|p| phone(p.label.as_deref(), &p.number, plan))
        .collect::<Result<Vec<_>>>()?;
    if phones.is_empty() && email.is_none() {
        return Err(Error::invalid("no phone number or email"));
    }
    Ok(ContactRecord {
        name,
        company: non_blank(c.company.as_deref()),
        phones,
        email,
        notes: non_blank(c.notes.as_deref()),
    })
}

fn email(e: &str) -> Result<String> {
    let ok = match e.split_once('@') {
        Some((local, domain)) => {
            !local.is_empty()
                && !domain.is_empty()
                && !domain.contains('@')
                && !e.contains(char::is_whitespace)
        }
        None => false,
    };
    if ok {
        Ok(e.to_string())
    } else {
        Err(Error::invalid(format!(
            "email {e:?} is not an email address"
        )))
    }
}

/// Check one phone as a person typed it: only phone characters, at least
/// three digits, and not an anonymous marker.
pub(crate) fn phone(label: Option<&str>, raw: &str, plan: &NumberPlan) -> Result<PhoneRecord> {
    let raw = raw.trim();
    let bad = || Error::invalid(format!("phone {raw:?} is not a phone number"));
    let phone_chars = raw
        .chars()
        .all(|c| c.is_ascii_digit() || c.is_whitespace() || "+-().".contains(c));
    if !phone_chars || digits_of(raw).len() < 3 {
        return Err(bad());
    }
    let (e164, national) = match plan.normalize(raw) {
        PhoneNumber::E164(e) => {
            let national = plan.variants(&e).national;
            (Some(e), national)
        }
        PhoneNumber::Extension(_) | PhoneNumber::Raw(_) => (None, None),
        PhoneNumber::Anonymous => return Err(bad()),
    };
    let digits = digits_of(e164.as_deref().unwrap_or(raw));
    Ok(PhoneRecord {
        label: non_blank(label).map(|l| l.to_lowercase()),
        raw: raw.to_string(),
        e164,
        national: national.unwrap_or_else(|| digits_of(raw)),
        rdigits: digits.chars().rev().collect(),
    })
}

/// Check a deal's fields (the contact is checked by the store).
pub(crate) fn deal(d: &NewDeal) -> Result<DealRecord> {
    let name = non_blank(Some(&d.name)).ok_or_else(|| Error::invalid("deal has no name"))?;
    let stage = non_blank(Some(&d.stage))
        .ok_or_else(|| Error::invalid(format!("deal {name:?} has no stage")))?;
    let amount = match non_blank(d.amount.as_deref()) {
        Some(a) => Some(amount(&a)?),
        None => None,
    };
    let currency = match non_blank(d.currency.as_deref()) {
        Some(c) => Some(currency(&c)?),
        None => None,
    };
    Ok(DealRecord {
        name,
        stage,
        amount,
        currency,
        close_date: d.close_date,
        open: d.open,
    })
}

/// A non-negative decimal with `.` as separator: `12500`, `12500.00`.
pub(crate) fn amount(a: &str) -> Result<String> {
    let (int, frac) = match a.split_once('.') {
        Some((i, f)) => (i, Some(f)),
        None => (a, None),
    };
    let digits = |s: &str| !s.is_empty() && s.chars().all(|c| c.is_ascii_digit());
    if digits(int) && frac.is_none_or(digits) {
        Ok(a.to_string())
    } else {
        Err(Error::invalid(format!(
            "amount {a:?} is not a decimal number like 12500.00"
        )))
    }
}

/// Three ASCII letters, returned upper-case.
pub(crate) fn currency(c: &str) -> Result<String> {
    if c.len() == 3 && c.chars().all(|ch| ch.is_ascii_alphabetic()) {
        Ok(c.to_ascii_uppercase())
    } else {
        Err(Error::invalid(format!(
            "currency {c:?} is not a 3-letter code like EUR"
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phones() {
        let plan = NumberPlan::default();
        let cases: [(&str, Option<(&str, &str)>); 7] = [
            ("91 123 45 67", Some(("+34911234567", "911234567"))),
            ("+34 647 460 197", Some(("+34647460197", "647460197"))),
            ("+44 (20) 7946-0958", Some(("+442079460958", "2079460958"))),
            ("203", None),
            ("7541763052569", None),
            ("abc", None),
            ("12", None),
        ];
        for (raw, want) in cases {
            let got = phone(None, raw, &plan);
            match (raw, want) {
                ("abc" | "12", _) => {
                    assert_eq!(
                        got.unwrap_err().message,
                        format!("phone {raw:?} is not a phone number")
                    );
                }
                (_, Some((e164, national))) => {
                    let p = got.unwrap();
                    assert_eq!(p.e164.as_deref(), Some(e164), "{raw}");
                    assert_eq!(p.national, national, "{raw}");
                }
                (_, None) => assert_eq!(got.unwrap().e164, None, "{raw}"),
            }
        }
    }

    #[test]
    fn amounts_and_currencies() {
        for ok in ["0", "12500", "12500.00", "4800.5"] {
            assert_eq!(amount(ok).unwrap(), ok);
        }
        for bad in ["", "-5", "12,500.00", "1.2.3", "12.", ".5", "abc"] {
            assert!(amount(bad).is_err(), "{bad}");
        }
        assert_eq!(currency("eur").unwrap(), "EUR");
        assert!(currency("EURO").is_err());
        assert!(currency("€").is_err());
    }

    #[test]
    fn emails() {
        assert!(email("lucia@marazul.example").is_ok());
        for bad in ["lucia", "@x", "a@", "a b@c", "a@b@c"] {
            assert!(email(bad).is_err(), "{bad}");
        }
    }
}
