//! Phone numbers (integration spec §2), parsed with the `phonenumber` crate
//! (libphonenumber's metadata and rules).
//!
//! A [`NumberPlan`] belongs to a PBX account: its default region and the
//! outside-line prefix the PBX puts in front of external numbers.

use std::str::FromStr;

use phonenumber::country;
use serde::{Deserialize, Serialize};

use crate::{Error, Result};

/// How to read numbers for one PBX account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NumberPlan {
    /// ISO 3166 region for numbers written without a country code (e.g. `ES`).
    pub region: String,
    /// The PBX's outside-line prefix (Gamma example: `0`); empty for none.
    pub outside_line_prefix: String,
    /// Numbers of at most this many digits are internal extensions.
    pub max_extension_digits: usize,
    /// How many trailing digits the last-digits match compares.
    pub last_digits: usize,
}

impl Default for NumberPlan {
    fn default() -> Self {
        Self {
            region: "ES".into(),
            outside_line_prefix: "0".into(),
            max_extension_digits: 5,
            last_digits: 9,
        }
    }
}

/// A number read with a plan.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case", tag = "kind", content = "value")]
pub enum PhoneNumber {
    /// A valid number in E.164 form, e.g. `+34647460197`.
    E164(String),
    /// An internal extension, e.g. `203`.
    Extension(String),
    /// Hidden caller id.
    Anonymous,
    /// Could not be parsed; the digits (and a leading `+`) as given.
    Raw(String),
}

impl PhoneNumber {
    /// The form shown to people and stored as `remote_number`.
    pub fn display(&self) -> String {
        match self {
            PhoneNumber::E164(s) | PhoneNumber::Extension(s) | PhoneNumber::Raw(s) => s.clone(),
            PhoneNumber::Anonymous => "anonymous".into(),
        }
    }

    pub fn is_anonymous(&self) -> bool {
        matches!(self, PhoneNumber::Anonymous)
    }
}

/// The forms to look a number up by, most specific first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NumberVariants {
    pub number: PhoneNumber,
    /// `+34647460197`
    pub e164: Option<String>,
    /// National significant number, digits only: `647460197`.
    pub national: Option<String>,
    /// The last N digits (N from the plan), for a match re-verified against the
    /// stored number's own digits.
    pub last_digits: Option<String>,
}

impl NumberVariants {
    /// Whether a number as stored in a CRM (typed by a person) is the same number.
    ///
    /// Compares the stored number's normalised E.164 form when it parses, else
    /// its last digits.
    pub fn matches_stored(&self, stored: &str, plan: &NumberPlan) -> bool {
        if self.number.is_anonymous() {
            return false;
        }
        let other = plan.normalize(stored);
        if let (Some(a), PhoneNumber::E164(b)) = (&self.e164, &other) {
            return a == b;
        }
        if let (PhoneNumber::Extension(a), PhoneNumber::Extension(b)) = (&self.number, &other) {
            return a == b;
        }
        match &self.last_digits {
            Some(last) => {
                let digits = digits_of(stored);
                digits.len() >= last.len() && digits.ends_with(last.as_str())
            }
            None => false,
        }
    }
}

fn digits_of(s: &str) -> String {
    s.chars().filter(char::is_ascii_digit).collect()
}

impl NumberPlan {
    /// Check the plan itself (region known).
    pub fn validate(&self) -> Result<()> {
        self.country()?;
        if !self.outside_line_prefix.chars().all(|c| c.is_ascii_digit()) {
            return Err(Error::config(format!(
                "outside-line prefix {:?} must be digits only",
                self.outside_line_prefix
            )));
        }
        Ok(())
    }

    fn country(&self) -> Result<country::Id> {
        country::Id::from_str(&self.region.to_ascii_uppercase())
            .map_err(|_| Error::config(format!("unknown region {:?}", self.region)))
    }

    /// Read a number as the PBX or a person wrote it.
    pub fn normalize(&self, raw: &str) -> PhoneNumber {
        let trimmed = raw.trim();
        let lowered = trimmed.to_ascii_lowercase();
        if lowered.is_empty()
            || matches!(
                lowered.as_str(),
                "anonymous" | "anonimo" | "anónimo" | "private" | "unknown" | "restricted"
            )
        {
            return PhoneNumber::Anonymous;
        }
        let plus = trimmed.starts_with('+');
        let digits = digits_of(trimmed);
        if digits.is_empty() {
            return PhoneNumber::Raw(trimmed.to_string());
        }
        if !plus && digits.len() <= self.max_extension_digits {
            return PhoneNumber::Extension(digits);
        }
        let Ok(region) = self.country() else {
            return PhoneNumber::Raw(if plus { format!("+{digits}") } else { digits });
        };
        if plus {
            let international = format!("+{digits}");
            if let Some(e164) = valid_e164(region, &international) {
                return PhoneNumber::E164(e164);
            }
            // `+340647460197`: the PBX glued the country code onto a number that
            // still carried the outside-line prefix. Read the rest as national.
            if let Ok(parsed) = phonenumber::parse(None, &international) {
                let cc = parsed.code().value().to_string();
                if region_code(region) == Some(parsed.code().value())
                    && let Some(rest) = digits.strip_prefix(cc.as_str())
                    && let Some(e164) = self.national_candidates(region, rest)
                {
                    return PhoneNumber::E164(e164);
                }
            }
            return PhoneNumber::Raw(international);
        }
        match self.national_candidates(region, &digits) {
            Some(e164) => PhoneNumber::E164(e164),
            None => PhoneNumber::Raw(digits),
        }
    }

    /// Try the digits with the outside-line prefix stripped once, twice, then as
    /// written (which also covers international `00…` dialling).
    fn national_candidates(&self, region: country::Id, digits: &str) -> Option<String> {
        let prefix = self.outside_line_prefix.as_str();
        let mut candidates: Vec<&str> = Vec::with_capacity(3);
        if !prefix.is_empty()
            && let Some(once) = digits.strip_prefix(prefix)
        {
            candidates.push(once);
            if let Some(twice) = once.strip_prefix(prefix) {
                candidates.push(twice);
            }
        }
        candidates.push(digits);
        candidates
            .into_iter()
            .filter(|c| c.len() > self.max_extension_digits)
            .find_map(|c| valid_e164(region, c))
    }

    /// The lookup variants of a number (spec §2).
    pub fn variants(&self, raw: &str) -> NumberVariants {
        let number = self.normalize(raw);
        let (e164, national) = match &number {
            PhoneNumber::E164(e) => {
                let national = phonenumber::parse(None, e)
                    .ok()
                    .map(|p| p.national().value().to_string());
                (Some(e.clone()), national)
            }
            _ => (None, None),
        };
        let last_digits = match &number {
            PhoneNumber::Anonymous => None,
            PhoneNumber::Extension(d) => Some(d.clone()),
            PhoneNumber::E164(_) | PhoneNumber::Raw(_) => {
                let source = national.clone().unwrap_or_else(|| digits_of(raw));
                let n = self.last_digits.min(source.len());
                Some(source[source.len() - n..].to_string())
            }
        };
        NumberVariants {
            number,
            e164,
            national,
            last_digits,
        }
    }

    /// The string to send the PBX to dial `raw`: digits as the agent typed them
    /// (the PBX adds its own outside-line prefix), E.164 kept for international.
    pub fn dial_string(&self, raw: &str) -> Result<String> {
        match self.normalize(raw) {
            PhoneNumber::Anonymous => Err(Error::invalid("cannot dial an anonymous number")),
            PhoneNumber::Extension(d) => Ok(d),
            PhoneNumber::E164(e) => {
                let region = self.country()?;
                let parsed = phonenumber::parse(None, &e)
                    .map_err(|_| Error::invalid(format!("{raw:?} is not a phone number")))?;
                if region_code(region) == Some(parsed.code().value()) {
                    Ok(parsed.national().value().to_string())
                } else {
                    Ok(e)
                }
            }
            PhoneNumber::Raw(r) => {
                if digits_of(&r).len() < 3 {
                    Err(Error::invalid(format!("{raw:?} is not a phone number")))
                } else {
                    Ok(r)
                }
            }
        }
    }
}

fn region_code(region: country::Id) -> Option<u16> {
    phonenumber::metadata::DATABASE
        .by_id(region.as_ref())
        .map(|m| m.country_code())
}

fn valid_e164(region: country::Id, s: &str) -> Option<String> {
    let parsed = phonenumber::parse(Some(region), s).ok()?;
    if phonenumber::is_valid(&parsed) {
        Some(parsed.format().mode(phonenumber::Mode::E164).to_string())
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan() -> NumberPlan {
        NumberPlan::default()
    }

    /// Every number form in the Gamma seed document.
    #[test]
    fn seed_number_forms() {
        let cases = [
            ("+34647460197", PhoneNumber::E164("+34647460197".into())),
            ("0647460197", PhoneNumber::E164("+34647460197".into())),
            ("00647460197", PhoneNumber::E164("+34647460197".into())),
            ("+340647460197", PhoneNumber::E164("+34647460197".into())),
            ("647460197", PhoneNumber::E164("+34647460197".into())),
            ("anonymous", PhoneNumber::Anonymous),
            ("203", PhoneNumber::Extension("203".into())),
            ("9204", PhoneNumber::Extension("9204".into())),
            ("0941892961", PhoneNumber::E164("+34941892961".into())),
            (
                "+44 20 7946 0958",
                PhoneNumber::E164("+442079460958".into()),
            ),
            (
                "0 0044 20 7946 0958",
                PhoneNumber::E164("+442079460958".into()),
            ),
            ("7541763052569", PhoneNumber::Raw("7541763052569".into())),
        ];
        for (raw, want) in cases {
            assert_eq!(plan().normalize(raw), want, "{raw}");
        }
    }

    #[test]
    fn variants_of_a_spanish_mobile() {
        let v = plan().variants("0647460197");
        assert_eq!(v.e164.as_deref(), Some("+34647460197"));
        assert_eq!(v.national.as_deref(), Some("647460197"));
        assert_eq!(v.last_digits.as_deref(), Some("647460197"));
        assert!(v.matches_stored("+34 647 46 01 97", &plan()));
        assert!(v.matches_stored("647-460-197", &plan()));
        assert!(!v.matches_stored("+34 647 46 01 98", &plan()));
    }

    #[test]
    fn no_prefix_plan() {
        let p = NumberPlan {
            region: "GB".into(),
            outside_line_prefix: String::new(),
            ..NumberPlan::default()
        };
        assert_eq!(
            p.normalize("020 7946 0958"),
            PhoneNumber::E164("+442079460958".into())
        );
    }

    #[test]
    fn dial_strings() {
        assert_eq!(plan().dial_string("+34 647 460 197").unwrap(), "647460197");
        assert_eq!(plan().dial_string("203").unwrap(), "203");
        assert_eq!(
            plan().dial_string("+44 20 7946 0958").unwrap(),
            "+442079460958"
        );
        assert!(plan().dial_string("anonymous").is_err());
    }

    #[test]
    fn bad_plan_is_a_config_error() {
        let p = NumberPlan {
            region: "XX".into(),
            ..NumberPlan::default()
        };
        assert_eq!(p.validate().unwrap_err().kind, crate::ErrorKind::Config);
    }
}
