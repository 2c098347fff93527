//! "Who is this number?" (integration spec §2).
//!
//! Three passes, each over an index: E.164 equality, national digits, then a
//! last-digits match (a prefix range on the reversed digits). The last two
//! are re-verified with [`NumberVariants::matches_stored`], so `+33 9 11 76
//! 30 52` never finds a stored `+34 911 763 052`. Results from all passes are merged,
//! each contact once, in pass order.

use ringside_core::{ContactMatch, NumberVariants, PhoneNumber, Result};
use rusqlite::Connection;

use crate::AddressBook;
use crate::sql::SqlContext;
use crate::store::load_match;

fn ids(conn: &Connection, sql: &str, key: &str) -> Result<Vec<(i64, String)>> {
    conn.prepare_cached(sql)
        .storage("preparing lookup")?
        .query_map([key], |r| Ok((r.get(0)?, r.get(1)?)))
        .and_then(|rows| rows.collect::<rusqlite::Result<Vec<_>>>())
        .storage("looking up number")
}

impl AddressBook {
    /// Contacts with a phone matching `v`, each with its open deals (soonest
    /// close date first). An anonymous number matches nothing; an extension
    /// matches only a stored extension with the same digits.
    pub fn lookup_blocking(&self, v: &NumberVariants) -> Result<Vec<ContactMatch>> {
        if v.number.is_anonymous() {
            return Ok(Vec::new());
        }
        let conn = self.conn()?;
        let mut found: Vec<i64> = Vec::new();
        let mut keep = |hits: Vec<(i64, String)>, verify: bool| {
            for (id, raw) in hits {
                if (!verify || v.matches_stored(&raw, &self.plan)) && !found.contains(&id) {
                    found.push(id);
                }
            }
        };
        if let Some(e164) = &v.e164 {
            keep(
                ids(
                    &conn,
                    "SELECT contact_id, raw FROM phones WHERE e164 = ?1 ORDER BY contact_id",
                    e164,
                )?,
                false,
            );
        }
        if let Some(national) = &v.national {
            // The same national digits may be another country's number: verify.
            keep(
                ids(
                    &conn,
                    "SELECT contact_id, raw FROM phones WHERE national = ?1 ORDER BY contact_id",
                    national,
                )?,
                true,
            );
        }
        if let Some(last) = &v.last_digits {
            let reversed: String = last.chars().rev().collect();
            match &v.number {
                PhoneNumber::Extension(_) => {
                    keep(
                        ids(
                            &conn,
                            "SELECT contact_id, raw FROM phones WHERE rdigits = ?1 ORDER BY contact_id",
                            &reversed,
                        )?,
                        true,
                    );
                }
                // A short unparseable number is too weak to match by its tail.
                PhoneNumber::Raw(_) if last.len() < self.plan.last_digits => {}
                _ => {
                    let sql = "SELECT contact_id, raw FROM phones
                               WHERE rdigits >= ?1 AND rdigits < ?1 || ':' ORDER BY contact_id";
                    keep(ids(&conn, sql, &reversed)?, true);
                }
            }
        }
        let mut out = Vec::with_capacity(found.len());
        for id in found {
            out.extend(load_match(&conn, id)?);
        }
        Ok(out)
    }
}
