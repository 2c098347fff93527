//! The in-memory portal: users, companies, contacts, leads, deals and the
//! registered calls; phone matching.
//!
//! Sources:
//! - notes §5.7 (official): contacts carry `PHONE` as
//!   `[{"ID","VALUE_TYPE","VALUE","TYPE_ID":"PHONE"}]`; deals have one
//!   primary `CONTACT_ID`.
//! - notes §5.8 (3P): users carry their extension in `UF_PHONE_INNER`.
//! - inferred: one id sequence per entity type (as Bitrix tables have);
//!   the portal owner is user 1; phones are kept exactly as typed.
//! - inferred (register binding): [`phone_matches`], digits only, one ends
//!   with the other, the shorter ≥ 7 digits; contacts first, then companies,
//!   then leads, lowest id wins.
//! - inferred (findbycomm): exact digits ([`digits`], the extension after
//!   `#`, `,`, `;` or `ext` dropped, notes §5.7 3P b24-rest-docs#72).

use std::time::Duration;

use crate::{ExternalCall, NewContact, NewDeal};

/// How long a register answers the same CALL_ID for the same parameters
/// (30 minutes, vendor doc: "fetches the same CALL_ID during 30 minutes").
pub const CALL_ID_REUSE_WINDOW: Duration = Duration::from_secs(30 * 60);

/// The `STATUS_CODE` values `finish` accepts (notes §5.5).
pub const STATUS_CODES: [&str; 13] = [
    "200", "304", "603", "603-S", "403", "404", "486", "484", "503", "480", "402", "423", "OTHER",
];

/// The digits of `s` before any extension (`#`, `,`, `;`, `ext`, `x`),
/// everything else dropped.
pub fn digits(s: &str) -> String {
    let lower = s.to_ascii_lowercase();
    let cut = ["#", ",", ";", "ext", "x"]
        .iter()
        .filter_map(|m| lower.find(m))
        .min()
        .unwrap_or(lower.len());
    lower[..cut].chars().filter(char::is_ascii_digit).collect()
}

/// Whether a stored phone matches a number for call binding: digits only,
/// one digit string ends with the other, the shorter has at least 7 digits
/// (inferred), so `+34647460197` finds `647 46 01 97`.
pub fn phone_matches(stored: &str, given: &str) -> bool {
    let (a, b) = (digits(stored), digits(given));
    let (short, long) = if a.len() <= b.len() { (a, b) } else { (b, a) };
    short.len() >= 7 && long.ends_with(&short)
}

#[derive(Debug, Clone)]
pub(crate) struct User {
    pub(crate) id: u32,
    pub(crate) name: String,
    pub(crate) last_name: String,
    pub(crate) email: String,
    pub(crate) inner_phone: Option<String>,
}

#[derive(Debug, Clone)]
pub(crate) struct Company {
    pub(crate) id: u32,
    pub(crate) title: String,
    pub(crate) phones: Vec<String>,
    pub(crate) created: u64,
}

#[derive(Debug, Clone)]
pub(crate) struct Contact {
    pub(crate) id: u32,
    pub(crate) name: String,
    pub(crate) last_name: String,
    pub(crate) phones: Vec<String>,
    pub(crate) company_id: Option<u32>,
    pub(crate) created: u64,
}

#[derive(Debug, Clone)]
pub(crate) struct Lead {
    pub(crate) id: u32,
    pub(crate) title: String,
    pub(crate) phones: Vec<String>,
    pub(crate) source_id: String,
    pub(crate) assigned_by: u32,
    pub(crate) created: u64,
}

#[derive(Debug, Clone)]
pub(crate) struct Deal {
    pub(crate) id: u32,
    pub(crate) d: NewDeal,
    pub(crate) created: u64,
}

/// The portal's data.
#[derive(Debug)]
pub(crate) struct Store {
    pub(crate) users: Vec<User>,
    pub(crate) companies: Vec<Company>,
    pub(crate) contacts: Vec<Contact>,
    pub(crate) leads: Vec<Lead>,
    pub(crate) deals: Vec<Deal>,
    pub(crate) calls: Vec<ExternalCall>,
    pub(crate) next_activity: u32,
    pub(crate) next_file: u32,
    call_counter: u64,
}

impl Default for Store {
    fn default() -> Self {
        Store {
            users: vec![User {
                id: 1,
                name: "Admin".to_owned(),
                last_name: "Portal".to_owned(),
                email: "admin@ringside.test".to_owned(),
                inner_phone: None,
            }],
            companies: Vec::new(),
            contacts: Vec::new(),
            leads: Vec::new(),
            deals: Vec::new(),
            calls: Vec::new(),
            next_activity: 7_900,
            next_file: 9_000,
            call_counter: 0,
        }
    }
}

/// A CRM binding: `(entity type, id)`.
pub(crate) type Binding = (&'static str, u32);

impl Store {
    pub(crate) fn add_user(&mut self, name: &str, inner_phone: Option<&str>) -> u32 {
        let id = self.users.iter().map(|u| u.id).max().unwrap_or(0) + 1;
        let (first, last) = name.split_once(' ').unwrap_or((name, ""));
        self.users.push(User {
            id,
            name: first.to_owned(),
            last_name: last.to_owned(),
            email: format!("{}@ringside.test", first.to_lowercase()),
            inner_phone: inner_phone.map(str::to_owned),
        });
        id
    }

    pub(crate) fn user(&self, id: u32) -> Option<&User> {
        self.users.iter().find(|u| u.id == id)
    }

    pub(crate) fn user_by_inner(&self, inner: &str) -> Option<&User> {
        self.users
            .iter()
            .find(|u| u.inner_phone.as_deref() == Some(inner))
    }

    pub(crate) fn company_id(&mut self, title: &str, now: u64) -> u32 {
        if let Some(c) = self.companies.iter().find(|c| c.title == title) {
            return c.id;
        }
        let id = self.companies.len() as u32 + 1;
        self.companies.push(Company {
            id,
            title: title.to_owned(),
            phones: Vec::new(),
            created: now,
        });
        id
    }

    pub(crate) fn add_contact(&mut self, c: NewContact, now: u64) -> u32 {
        let company_id = c.company_title.as_deref().map(|t| self.company_id(t, now));
        let id = self.contacts.len() as u32 + 1;
        self.contacts.push(Contact {
            id,
            name: c.name,
            last_name: c.last_name,
            phones: c.phones,
            company_id,
            created: now,
        });
        id
    }

    pub(crate) fn add_lead(
        &mut self,
        title: &str,
        phone: &str,
        source: Option<&str>,
        now: u64,
    ) -> u32 {
        let id = self.leads.len() as u32 + 1;
        self.leads.push(Lead {
            id,
            title: title.to_owned(),
            phones: vec![phone.to_owned()],
            source_id: source.unwrap_or("CALL").to_owned(),
            assigned_by: 1,
            created: now,
        });
        id
    }

    pub(crate) fn add_deal(&mut self, d: NewDeal, now: u64) -> u32 {
        let id = self.deals.len() as u32 + 1;
        self.deals.push(Deal {
            id,
            d,
            created: now,
        });
        id
    }

    /// The entity a call to `phone` binds to (contacts, companies, leads).
    pub(crate) fn bind(&self, phone: &str) -> Option<Binding> {
        let hit = |phones: &[String]| phones.iter().any(|p| phone_matches(p, phone));
        if let Some(c) = self.contacts.iter().find(|c| hit(&c.phones)) {
            return Some(("CONTACT", c.id));
        }
        if let Some(c) = self.companies.iter().find(|c| hit(&c.phones)) {
            return Some(("COMPANY", c.id));
        }
        self.leads
            .iter()
            .find(|l| hit(&l.phones))
            .map(|l| ("LEAD", l.id))
    }

    /// Whether an entity exists.
    pub(crate) fn exists(&self, entity_type: &str, id: u32) -> bool {
        match entity_type {
            "CONTACT" => self.contacts.iter().any(|c| c.id == id),
            "COMPANY" => self.companies.iter().any(|c| c.id == id),
            "LEAD" => self.leads.iter().any(|l| l.id == id),
            _ => false,
        }
    }

    /// Ids of each type whose phones match one of `values` exactly by
    /// digits (findbycomm).
    pub(crate) fn find_by_phone(&self, entity_type: &str, values: &[String]) -> Vec<u32> {
        let wanted: Vec<String> = values
            .iter()
            .map(|v| digits(v))
            .filter(|d| !d.is_empty())
            .collect();
        let hit = |phones: &[String]| phones.iter().any(|p| wanted.contains(&digits(p)));
        match entity_type {
            "CONTACT" => self
                .contacts
                .iter()
                .filter(|c| hit(&c.phones))
                .map(|c| c.id)
                .collect(),
            "COMPANY" => self
                .companies
                .iter()
                .filter(|c| hit(&c.phones))
                .map(|c| c.id)
                .collect(),
            "LEAD" => self
                .leads
                .iter()
                .filter(|l| hit(&l.phones))
                .map(|l| l.id)
                .collect(),
            _ => Vec::new(),
        }
    }

    /// A fresh `externalCall.<32 hex>.<ts>` id.
    pub(crate) fn new_call_id(&mut self, now: u64) -> String {
        self.call_counter += 1;
        let mut x = self.call_counter.wrapping_add(now);
        let mut hex = String::new();
        for _ in 0..2 {
            // splitmix64
            x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = x;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            hex.push_str(&format!("{:016x}", z ^ (z >> 31)));
        }
        format!("externalCall.{hex}.{now}")
    }

    pub(crate) fn call_mut(&mut self, call_id: &str) -> Option<&mut ExternalCall> {
        self.calls.iter_mut().find(|c| c.call_id == call_id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phone_rules() {
        assert!(phone_matches("647 46 01 97", "+34647460197"));
        assert!(!phone_matches("647 46 01 97", "460197"));
        assert_eq!(digits("+34 911 000 000 #404"), "34911000000");
        assert_eq!(digits("+34 911 000 000 ext. 12"), "34911000000");
    }
}
