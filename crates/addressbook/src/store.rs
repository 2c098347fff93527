//! Writing and reading contacts, companies, deals and notes.
//!
//! The free functions take a `&Connection` so the same code runs inside a
//! single call's transaction, an import's savepoint, or the demo loader.

use chrono::{DateTime, Utc};
use ringside_core::{
    Company, Contact, ContactMatch, Deal, Error, PhoneEntry, RecordSource, Result,
};
use rusqlite::{Connection, OptionalExtension, params};

use crate::model::{NewContact, NewDeal, Note};
use crate::search::{fold, search_text};
use crate::sql::{SqlContext, parse_date, parse_time, rowid, time_text};
use crate::validate::{self, ContactRecord, DealRecord};
use crate::{AddressBook, SYSTEM};

fn source(kind: &str, id: i64) -> RecordSource {
    RecordSource {
        system: SYSTEM.to_string(),
        id: id.to_string(),
        url: Some(format!("ringside://{kind}/{id}")),
    }
}

/// The id of the company called `name` (folded), created if new.
fn company_id(conn: &Connection, name: &str) -> Result<i64> {
    let key = fold(name);
    conn.execute(
        "INSERT INTO companies (name, name_key) VALUES (?1, ?2) ON CONFLICT(name_key) DO NOTHING",
        params![name, key],
    )
    .storage("saving company")?;
    conn.query_row(
        "SELECT id FROM companies WHERE name_key = ?1",
        [&key],
        |r| r.get(0),
    )
    .storage("reading company")
}

/// Store the contact's fields, phones and search text under `id` (new or existing).
fn write_contact(
    conn: &Connection,
    id: Option<i64>,
    c: &ContactRecord,
    now: DateTime<Utc>,
) -> Result<i64> {
    let company = c
        .company
        .as_deref()
        .map(|n| company_id(conn, n))
        .transpose()?;
    let search = search_text(c);
    let updated = time_text(now);
    let id = match id {
        Some(id) => {
            conn.execute(
                "UPDATE contacts SET name = ?2, company_id = ?3, email = ?4, notes = ?5, search = ?6, updated_at = ?7 WHERE id = ?1",
                params![id, c.name, company, c.email, c.notes, search, updated],
            )
            .storage("updating contact")?;
            conn.execute("DELETE FROM phones WHERE contact_id = ?1", [id])
                .storage("replacing phones")?;
            id
        }
        None => {
            conn.execute(
                "INSERT INTO contacts (name, company_id, email, notes, search, updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                params![c.name, company, c.email, c.notes, search, updated],
            )
            .storage("inserting contact")?;
            conn.last_insert_rowid()
        }
    };
    let mut insert = conn
        .prepare_cached(
            "INSERT INTO phones (contact_id, position, label, raw, e164, national, rdigits) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        )
        .storage("preparing phone insert")?;
    for (position, p) in c.phones.iter().enumerate() {
        insert
            .execute(params![
                id,
                position as i64,
                p.label,
                p.raw,
                p.e164,
                p.national,
                p.rdigits
            ])
            .storage("inserting phone")?;
    }
    Ok(id)
}

/// Insert a new contact; its id.
pub(crate) fn insert_contact(
    conn: &Connection,
    c: &ContactRecord,
    now: DateTime<Utc>,
) -> Result<i64> {
    write_contact(conn, None, c, now)
}

/// Insert a deal for `contact_id`; its id.
pub(crate) fn insert_deal(conn: &Connection, contact_id: i64, d: &DealRecord) -> Result<i64> {
    conn.execute(
        "INSERT INTO deals (contact_id, name, stage, amount, currency, close_date, open) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        params![
            contact_id,
            d.name,
            d.stage,
            d.amount,
            d.currency,
            d.close_date.map(|d| d.format("%Y-%m-%d").to_string()),
            d.open
        ],
    )
    .storage("inserting deal")?;
    Ok(conn.last_insert_rowid())
}

fn exists(conn: &Connection, id: i64) -> Result<bool> {
    conn.query_row("SELECT 1 FROM contacts WHERE id = ?1", [id], |_| Ok(()))
        .optional()
        .storage("reading contact")
        .map(|r| r.is_some())
}

/// The contact `id`, with company and phones.
pub(crate) fn load_contact(conn: &Connection, id: i64) -> Result<Option<Contact>> {
    let row = conn
        .prepare_cached(
            "SELECT c.name, c.email, c.notes, c.updated_at, co.id, co.name
             FROM contacts c LEFT JOIN companies co ON co.id = c.company_id WHERE c.id = ?1",
        )
        .storage("preparing contact read")?
        .query_row([id], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, Option<String>>(1)?,
                r.get::<_, Option<String>>(2)?,
                r.get::<_, String>(3)?,
                r.get::<_, Option<i64>>(4)?,
                r.get::<_, Option<String>>(5)?,
            ))
        })
        .optional()
        .storage("reading contact")?;
    let Some((name, email, notes, updated, company_id, company_name)) = row else {
        return Ok(None);
    };
    let phones = conn
        .prepare_cached(
            "SELECT label, raw, e164 FROM phones WHERE contact_id = ?1 ORDER BY position, id",
        )
        .storage("preparing phone read")?
        .query_map([id], |r| {
            Ok(PhoneEntry {
                label: r.get(0)?,
                raw: r.get(1)?,
                e164: r.get(2)?,
            })
        })
        .and_then(|rows| rows.collect::<rusqlite::Result<Vec<_>>>())
        .storage("reading phones")?;
    let company = match (company_id, company_name) {
        (Some(cid), Some(name)) => Some(Company {
            source: source("companies", cid),
            name,
        }),
        _ => None,
    };
    Ok(Some(Contact {
        source: source("contacts", id),
        name,
        company,
        phones,
        email,
        notes,
        updated_at: parse_time(&updated),
    }))
}

/// The contact's open deals, soonest close date first (undated last).
pub(crate) fn open_deals(conn: &Connection, contact_id: i64) -> Result<Vec<Deal>> {
    conn.prepare_cached(
        "SELECT id, name, stage, amount, currency, close_date, open FROM deals
         WHERE contact_id = ?1 AND open = 1 ORDER BY close_date IS NULL, close_date, id",
    )
    .storage("preparing deal read")?
    .query_map([contact_id], deal_row)
    .and_then(|rows| rows.collect::<rusqlite::Result<Vec<_>>>())
    .storage("reading deals")
}

fn deal_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Deal> {
    Ok(Deal {
        source: source("deals", r.get(0)?),
        name: r.get(1)?,
        stage: r.get(2)?,
        amount: r.get(3)?,
        currency: r.get(4)?,
        close_date: r
            .get::<_, Option<String>>(5)?
            .as_deref()
            .and_then(parse_date),
        open: r.get(6)?,
    })
}

/// The contact with its open deals.
pub(crate) fn load_match(conn: &Connection, id: i64) -> Result<Option<ContactMatch>> {
    let Some(contact) = load_contact(conn, id)? else {
        return Ok(None);
    };
    Ok(Some(ContactMatch {
        contact,
        deals: open_deals(conn, id)?,
    }))
}

fn not_found(id: &str) -> Error {
    Error::not_found(format!("no contact with id {id:?}"))
}

impl AddressBook {
    /// Add a contact; it comes back with its new id.
    pub fn add_contact(&self, c: &NewContact) -> Result<Contact> {
        let record = validate::contact(c, &self.plan)?;
        let mut conn = self.conn()?;
        let tx = conn.transaction().storage("starting transaction")?;
        let id = insert_contact(&tx, &record, self.clock.now())?;
        tx.commit().storage("saving contact")?;
        load_contact(&conn, id)?.ok_or_else(|| Error::internal("contact vanished after insert"))
    }

    /// Replace every field and phone of contact `id` (its deals and notes stay).
    pub fn update_contact(&self, id: &str, c: &NewContact) -> Result<Contact> {
        let record = validate::contact(c, &self.plan)?;
        let n = rowid(id).ok_or_else(|| not_found(id))?;
        let mut conn = self.conn()?;
        let tx = conn.transaction().storage("starting transaction")?;
        if !exists(&tx, n)? {
            return Err(not_found(id));
        }
        write_contact(&tx, Some(n), &record, self.clock.now())?;
        tx.commit().storage("saving contact")?;
        load_contact(&conn, n)?.ok_or_else(|| not_found(id))
    }

    /// Delete contact `id` with its phones, deals and notes.
    pub fn delete_contact(&self, id: &str) -> Result<()> {
        let n = rowid(id).ok_or_else(|| not_found(id))?;
        let deleted = self
            .conn()?
            .execute("DELETE FROM contacts WHERE id = ?1", [n])
            .storage("deleting contact")?;
        if deleted == 0 {
            Err(not_found(id))
        } else {
            Ok(())
        }
    }

    /// Attach a deal to an existing contact.
    pub fn add_deal(&self, d: &NewDeal) -> Result<Deal> {
        let record = validate::deal(d)?;
        let contact = rowid(&d.contact_id).ok_or_else(|| not_found(&d.contact_id))?;
        let conn = self.conn()?;
        if !exists(&conn, contact)? {
            return Err(not_found(&d.contact_id));
        }
        let id = insert_deal(&conn, contact, &record)?;
        conn.query_row(
            "SELECT id, name, stage, amount, currency, close_date, open FROM deals WHERE id = ?1",
            [id],
            deal_row,
        )
        .storage("reading deal")
    }

    /// Add a dated note (e.g. a logged call) to contact `contact_id`.
    pub fn add_note(&self, contact_id: &str, text: &str, at: DateTime<Utc>) -> Result<()> {
        let text = text.trim();
        if text.is_empty() {
            return Err(Error::invalid("note is empty"));
        }
        let n = rowid(contact_id).ok_or_else(|| not_found(contact_id))?;
        let conn = self.conn()?;
        if !exists(&conn, n)? {
            return Err(not_found(contact_id));
        }
        conn.execute(
            "INSERT INTO notes (contact_id, at, text) VALUES (?1, ?2, ?3)",
            params![n, time_text(at), text],
        )
        .storage("inserting note")?;
        Ok(())
    }

    /// The notes on contact `contact_id`, oldest first.
    pub fn notes(&self, contact_id: &str) -> Result<Vec<Note>> {
        let n = rowid(contact_id).ok_or_else(|| not_found(contact_id))?;
        let conn = self.conn()?;
        if !exists(&conn, n)? {
            return Err(not_found(contact_id));
        }
        let rows = conn
            .prepare_cached("SELECT at, text FROM notes WHERE contact_id = ?1 ORDER BY at, id")
            .storage("preparing note read")?
            .query_map([n], |r| {
                Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))
            })
            .and_then(|rows| rows.collect::<rusqlite::Result<Vec<_>>>())
            .storage("reading notes")?;
        rows.into_iter()
            .map(|(at, text)| {
                let at = parse_time(&at)
                    .ok_or_else(|| Error::storage(format!("note has a bad timestamp {at:?}")))?;
                Ok(Note { at, text })
            })
            .collect()
    }

    /// Contact `id` with its open deals; `None` if there is no such contact.
    pub fn contact(&self, id: &str) -> Result<Option<ContactMatch>> {
        match rowid(id) {
            Some(n) => load_match(&*self.conn()?, n),
            None => Ok(None),
        }
    }

    /// How many contacts the book holds.
    pub fn contact_count(&self) -> Result<u64> {
        let n: i64 = self
            .conn()?
            .query_row("SELECT COUNT(*) FROM contacts", [], |r| r.get(0))
            .storage("counting contacts")?;
        Ok(n.max(0) as u64)
    }
}
