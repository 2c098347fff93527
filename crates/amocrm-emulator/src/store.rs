//! The in-memory account: users, companies, contacts, leads, pipelines,
//! notes, the applied calls and the legacy queue; phone matching and call
//! placement.
//!
//! Sources:
//! - notes §4.5: contacts carry `custom_fields_values` with `field_code`
//!   `PHONE` / `EMAIL` and `values[{value, enum_code}]`; phones are kept
//!   exactly as typed (notes §4.7: `+7999…` and `8999…` are different
//!   strings to amo).
//! - notes §4.3 (placement, official): the contact or company with that
//!   phone; exactly one active lead → the lead; otherwise the contact or
//!   company itself. Customers (buyers) are not modelled.
//! - amo's fixed won/lost statuses 142 and 143 (amo documentation, common
//!   knowledge; inferred here).
//! - inferred: the field ids, one id sequence for every entity, phone
//!   matching on digits (one ends with the other, the shorter ≥ 7 digits),
//!   several contacts sharing a phone → the lowest id wins, contacts before
//!   companies.

use serde_json::{Value, json};

use crate::{CallRecord, NewContact, NewLead, Via};

/// The PHONE field's id (inferred: amo gives every account its own ids).
pub const PHONE_FIELD_ID: u64 = 264_911;
/// The EMAIL field's id.
pub const EMAIL_FIELD_ID: u64 = 264_913;
/// The free-text "Notas" field's id (`field_code` null, as custom fields
/// created by users have no code).
pub const NOTES_FIELD_ID: u64 = 264_915;
/// amo's fixed "won" status id ("Успешно реализовано").
pub const WON_STATUS: u32 = 142;
/// amo's fixed "lost" status id ("Закрыто и не реализовано").
pub const LOST_STATUS: u32 = 143;
/// The account's main pipeline, "Ventas".
pub const MAIN_PIPELINE_ID: u32 = 3001;

/// The digits of `s`, everything else dropped.
pub fn digits(s: &str) -> String {
    s.chars().filter(char::is_ascii_digit).collect()
}

/// Whether a stored phone matches a number a call names: digits only, one
/// digit string ends with the other, the shorter has at least 7 digits
/// (inferred), so `+34647460197` finds `647 46 01 97`.
pub fn phone_matches(stored: &str, given: &str) -> bool {
    let (a, b) = (digits(stored), digits(given));
    let (short, long) = if a.len() <= b.len() { (a, b) } else { (b, a) };
    short.len() >= 7 && long.ends_with(&short)
}

#[derive(Debug, Clone)]
pub(crate) struct User {
    pub(crate) id: u64,
    pub(crate) name: String,
    pub(crate) email: String,
}

#[derive(Debug, Clone)]
pub(crate) struct Company {
    pub(crate) id: u64,
    pub(crate) name: String,
    pub(crate) phones: Vec<(String, String)>,
    pub(crate) created_at: u64,
}

#[derive(Debug, Clone)]
pub(crate) struct Contact {
    pub(crate) id: u64,
    pub(crate) name: String,
    pub(crate) phones: Vec<(String, String)>,
    pub(crate) email: Option<String>,
    pub(crate) company_id: Option<u64>,
    pub(crate) responsible_user_id: Option<u64>,
    pub(crate) notes_text: Option<String>,
    pub(crate) created_at: u64,
}

impl Contact {
    /// Every filled field's raw text, as `query` searches them.
    pub(crate) fn field_texts(&self) -> Vec<&str> {
        let mut texts = vec![self.name.as_str()];
        texts.extend(self.phones.iter().map(|(v, _)| v.as_str()));
        texts.extend(self.email.as_deref());
        texts.extend(self.notes_text.as_deref());
        texts
    }
}

#[derive(Debug, Clone)]
pub(crate) struct Lead {
    pub(crate) id: u64,
    pub(crate) name: String,
    pub(crate) price: u64,
    pub(crate) status_id: u32,
    pub(crate) pipeline_id: u32,
    pub(crate) contact_ids: Vec<u64>,
    pub(crate) responsible_user_id: u64,
    pub(crate) created_at: u64,
    pub(crate) closed_at: Option<u64>,
}

impl Lead {
    pub(crate) fn is_active(&self) -> bool {
        self.status_id != WON_STATUS && self.status_id != LOST_STATUS
    }
}

#[derive(Debug, Clone)]
pub(crate) struct Pipeline {
    pub(crate) id: u32,
    pub(crate) name: String,
    pub(crate) is_main: bool,
    pub(crate) statuses: Vec<(u32, String)>,
}

#[derive(Debug, Clone)]
pub(crate) struct Note {
    pub(crate) id: u64,
    pub(crate) entity_type: String,
    pub(crate) entity_id: u64,
    /// `call_in` or `call_out`.
    pub(crate) note_type: &'static str,
    pub(crate) created_at: u64,
    pub(crate) updated_at: u64,
    pub(crate) responsible_user_id: u64,
    pub(crate) params: Value,
}

/// A legacy call waiting for its contact.
#[derive(Debug, Clone)]
pub(crate) struct Queued {
    pub(crate) record: CallRecord,
    /// The emulator time it arrived.
    pub(crate) arrived_at: u64,
}

#[derive(Debug)]
pub(crate) struct Store {
    next_id: u64,
    pub(crate) users: Vec<User>,
    pub(crate) companies: Vec<Company>,
    pub(crate) contacts: Vec<Contact>,
    pub(crate) leads: Vec<Lead>,
    pub(crate) pipelines: Vec<Pipeline>,
    pub(crate) notes: Vec<Note>,
    pub(crate) calls: Vec<CallRecord>,
    pub(crate) queued: Vec<Queued>,
    pub(crate) dropped: Vec<CallRecord>,
}

impl Default for Store {
    fn default() -> Self {
        Store {
            next_id: 1_000_001,
            users: Vec::new(),
            companies: Vec::new(),
            contacts: Vec::new(),
            leads: Vec::new(),
            pipelines: vec![Pipeline {
                id: MAIN_PIPELINE_ID,
                name: "Ventas".to_owned(),
                is_main: true,
                statuses: vec![
                    (5001, "Primer contacto".to_owned()),
                    (5002, "Negociación".to_owned()),
                    (WON_STATUS, "Успешно реализовано".to_owned()),
                    (LOST_STATUS, "Закрыто и не реализовано".to_owned()),
                ],
            }],
            notes: Vec::new(),
            calls: Vec::new(),
            queued: Vec::new(),
            dropped: Vec::new(),
        }
    }
}

/// The note type of a direction.
pub(crate) fn note_type(direction: &str) -> &'static str {
    if direction == "outbound" {
        "call_out"
    } else {
        "call_in"
    }
}

impl Store {
    pub(crate) fn next_id(&mut self) -> u64 {
        let id = self.next_id;
        self.next_id += 1;
        id
    }

    pub(crate) fn add_user(&mut self, name: &str, email: &str) -> u64 {
        let id = self.next_id();
        self.users.push(User {
            id,
            name: name.to_owned(),
            email: email.to_owned(),
        });
        id
    }

    pub(crate) fn user_exists(&self, id: u64) -> bool {
        self.users.iter().any(|u| u.id == id)
    }

    pub(crate) fn add_company(&mut self, name: &str, now: u64) -> u64 {
        let id = self.next_id();
        self.companies.push(Company {
            id,
            name: name.to_owned(),
            phones: Vec::new(),
            created_at: now,
        });
        id
    }

    /// Adds a contact and attaches the queued legacy calls to its phones.
    pub(crate) fn add_contact(&mut self, c: NewContact, now: u64) -> u64 {
        let id = self.next_id();
        self.contacts.push(Contact {
            id,
            name: c.name,
            phones: c.phones,
            email: c.email,
            company_id: c.company_id,
            responsible_user_id: c.responsible_user_id,
            notes_text: c.notes_text,
            created_at: now,
        });
        self.attach_queued(now);
        id
    }

    pub(crate) fn add_lead(&mut self, l: NewLead, now: u64) -> u64 {
        let id = self.next_id();
        let responsible_user_id = l
            .contact_ids
            .first()
            .and_then(|c| self.contact(*c))
            .and_then(|c| c.responsible_user_id)
            .or_else(|| self.users.first().map(|u| u.id))
            .unwrap_or(0);
        let closed = l.status_id == WON_STATUS || l.status_id == LOST_STATUS;
        self.leads.push(Lead {
            id,
            name: l.name,
            price: l.price,
            status_id: l.status_id,
            pipeline_id: l.pipeline_id.unwrap_or(MAIN_PIPELINE_ID),
            contact_ids: l.contact_ids,
            responsible_user_id,
            created_at: now,
            closed_at: closed.then_some(now),
        });
        id
    }

    pub(crate) fn contact(&self, id: u64) -> Option<&Contact> {
        self.contacts.iter().find(|c| c.id == id)
    }

    pub(crate) fn company(&self, id: u64) -> Option<&Company> {
        self.companies.iter().find(|c| c.id == id)
    }

    pub(crate) fn lead(&self, id: u64) -> Option<&Lead> {
        self.leads.iter().find(|l| l.id == id)
    }

    /// The leads linked to a contact, in id order.
    pub(crate) fn leads_of(&self, contact_id: u64) -> impl Iterator<Item = &Lead> {
        self.leads
            .iter()
            .filter(move |l| l.contact_ids.contains(&contact_id))
    }

    /// The contact (lowest id) or else the company with a PHONE matching
    /// `phone`.
    pub(crate) fn find_by_phone(&self, phone: &str) -> Option<(&'static str, u64)> {
        let matches =
            |phones: &[(String, String)]| phones.iter().any(|(v, _)| phone_matches(v, phone));
        if let Some(c) = self.contacts.iter().find(|c| matches(&c.phones)) {
            return Some(("contacts", c.id));
        }
        self.companies
            .iter()
            .find(|c| matches(&c.phones))
            .map(|c| ("companies", c.id))
    }

    /// The v4 placement (notes §4.3): the matching contact's only active
    /// lead, else the contact; a company gets the call itself.
    pub(crate) fn place(&self, phone: &str) -> Option<(&'static str, u64)> {
        let (entity_type, id) = self.find_by_phone(phone)?;
        if entity_type == "contacts" {
            let active: Vec<u64> = self
                .leads_of(id)
                .filter(|l| l.is_active())
                .map(|l| l.id)
                .collect();
            if let [lead] = active[..] {
                return Some(("leads", lead));
            }
        }
        Some((entity_type, id))
    }

    /// Creates the call note for `record` on `(entity_type, entity_id)`,
    /// fills in the record's placement and appends it to the applied calls.
    /// Returns the note id.
    pub(crate) fn apply_call(
        &mut self,
        mut record: CallRecord,
        entity_type: &str,
        entity_id: u64,
        now: u64,
    ) -> u64 {
        let id = self.next_id();
        let mut params = json!({
            "uniq": record.uniq,
            "duration": record.duration,
            "source": record.source,
            "link": record.link,
            "phone": record.phone,
            "call_status": record.call_status,
            "call_result": record.call_result,
        });
        if record.via == Via::Legacy {
            params["call_responsible"] = json!(record.agent_number);
        }
        self.notes.push(Note {
            id,
            entity_type: entity_type.to_owned(),
            entity_id,
            note_type: note_type(&record.direction),
            created_at: record.created_at,
            updated_at: now,
            responsible_user_id: record.responsible_user_id.unwrap_or(0),
            params,
        });
        record.entity_type = Some(entity_type.to_owned());
        record.entity_id = Some(entity_id);
        record.note_id = Some(id);
        self.calls.push(record);
        id
    }

    /// Attaches every queued legacy call whose number now matches a
    /// contact or company (the note goes on that card, vendor doc).
    pub(crate) fn attach_queued(&mut self, now: u64) {
        let queued = std::mem::take(&mut self.queued);
        for q in queued {
            match self.find_by_phone(&q.record.phone) {
                Some((entity_type, entity_id)) => {
                    self.apply_call(q.record, entity_type, entity_id, now);
                }
                None => self.queued.push(q),
            }
        }
    }

    /// Deletes queued legacy calls older than `lifetime_secs` (vendor doc:
    /// "If a contact was not found in 18 hours, then the call will be
    /// deleted").
    pub(crate) fn purge_queue(&mut self, now: u64, lifetime_secs: u64) {
        let (keep, drop): (Vec<_>, Vec<_>) = std::mem::take(&mut self.queued)
            .into_iter()
            .partition(|q| now < q.arrived_at + lifetime_secs);
        self.queued = keep;
        self.dropped.extend(drop.into_iter().map(|q| q.record));
    }

    /// Whether a legacy uuid was seen (applied, queued or dropped).
    pub(crate) fn legacy_uuid_seen(&self, uuid: &str) -> bool {
        let is = |r: &CallRecord| r.via == Via::Legacy && r.uniq.as_deref() == Some(uuid);
        self.calls.iter().any(is)
            || self.queued.iter().any(|q| is(&q.record))
            || self.dropped.iter().any(is)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phones_match_on_trailing_digits() {
        assert!(phone_matches("647 46 01 97", "+34647460197"));
        assert!(phone_matches("+34 91 123 45 67", "911234567"));
        assert!(!phone_matches("+7 999 555 11 22", "8 999 555 11 23"));
        assert!(!phone_matches("+7 999 555 11 22", "89995551122"));
        assert!(!phone_matches("117", "117"), "extensions are too short");
    }
}
