//! Search-as-you-type over a folded `search` column.
//!
//! Each contact keeps one line of text: its name, company and email folded to
//! lower case without accents, then the digits of every phone (as typed and in
//! E.164). A query is folded the same way and every word must appear in that
//! line; a query that looks like a phone number is compared as one run of
//! digits, so `647 460` finds `+34 647 460 197`.

use ringside_core::{Contact, Result};
use rusqlite::params_from_iter;

use crate::AddressBook;
use crate::sql::SqlContext;
use crate::store::load_contact;
use crate::validate::{ContactRecord, digits_of};

/// At most this many words of a query are used.
const MAX_WORDS: usize = 8;

/// Lower case with Latin diacritics removed: `Lucía Fernández` → `lucia fernandez`.
pub(crate) fn fold(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars().flat_map(char::to_lowercase) {
        match c {
            'à' | 'á' | 'â' | 'ã' | 'ä' | 'å' | 'ā' | 'ă' | 'ą' => out.push('a'),
            'ç' | 'ć' | 'č' | 'ĉ' | 'ċ' => out.push('c'),
            'ď' | 'đ' => out.push('d'),
            'è' | 'é' | 'ê' | 'ë' | 'ē' | 'ĕ' | 'ė' | 'ę' | 'ě' => out.push('e'),
            'ĝ' | 'ğ' | 'ġ' | 'ģ' => out.push('g'),
            'ì' | 'í' | 'î' | 'ï' | 'ĩ' | 'ī' | 'ĭ' | 'į' | 'ı' => out.push('i'),
            'ł' | 'ľ' | 'ĺ' | 'ļ' => out.push('l'),
            'ñ' | 'ń' | 'ň' | 'ņ' => out.push('n'),
            'ò' | 'ó' | 'ô' | 'õ' | 'ö' | 'ø' | 'ō' | 'ŏ' | 'ő' => out.push('o'),
            'ŕ' | 'ř' | 'ŗ' => out.push('r'),
            'ś' | 'š' | 'ş' | 'ș' => out.push('s'),
            'ť' | 'ţ' | 'ț' => out.push('t'),
            'ù' | 'ú' | 'û' | 'ü' | 'ũ' | 'ū' | 'ŭ' | 'ů' | 'ű' | 'ų' => out.push('u'),
            'ý' | 'ÿ' => out.push('y'),
            'ź' | 'ż' | 'ž' => out.push('z'),
            'ß' => out.push_str("ss"),
            'æ' => out.push_str("ae"),
            'œ' => out.push_str("oe"),
            other => out.push(other),
        }
    }
    out
}

/// The text a contact is searched by.
pub(crate) fn search_text(c: &ContactRecord) -> String {
    let mut parts = vec![fold(&c.name)];
    parts.extend(c.company.as_deref().map(fold));
    parts.extend(c.email.as_deref().map(fold));
    for p in &c.phones {
        parts.push(digits_of(&p.raw));
        parts.extend(p.e164.as_deref().map(digits_of));
    }
    parts.join(" ")
}

/// `%`, `_` and `\` taken literally in a `LIKE … ESCAPE '\'` pattern.
fn like_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// The words to look for: one run of digits for a phone-like query, else the
/// folded words.
fn query_words(query: &str) -> Vec<String> {
    let phone_like = query.chars().any(|c| c.is_ascii_digit())
        && query
            .chars()
            .all(|c| c.is_ascii_digit() || c.is_whitespace() || "+-()./".contains(c));
    if phone_like {
        return vec![digits_of(query)];
    }
    fold(query)
        .split_whitespace()
        .take(MAX_WORDS)
        .map(str::to_string)
        .collect()
}

impl AddressBook {
    /// Contacts whose name, company, email or phone digits contain every word
    /// of `query` (case- and accent-insensitive), names starting with the
    /// first word first, then alphabetical. An empty query lists contacts
    /// alphabetically.
    pub fn search(&self, query: &str, limit: usize) -> Result<Vec<Contact>> {
        let words = query_words(query);
        let mut sql = String::from("SELECT id FROM contacts WHERE 1 = 1");
        let mut args: Vec<String> = Vec::with_capacity(words.len() + 2);
        for w in &words {
            sql.push_str(&format!(" AND search LIKE ?{} ESCAPE '\\'", args.len() + 1));
            args.push(format!("%{}%", like_escape(w)));
        }
        let first = words
            .first()
            .map(|w| format!("{}%", like_escape(w)))
            .unwrap_or_default();
        sql.push_str(&format!(
            " ORDER BY CASE WHEN search LIKE ?{} ESCAPE '\\' THEN 0 ELSE 1 END, search, id LIMIT {}",
            args.len() + 1,
            limit.min(i64::MAX as usize)
        ));
        args.push(first);
        let conn = self.conn()?;
        let ids = conn
            .prepare_cached(&sql)
            .storage("preparing search")?
            .query_map(params_from_iter(args.iter()), |r| r.get::<_, i64>(0))
            .and_then(|rows| rows.collect::<rusqlite::Result<Vec<_>>>())
            .storage("searching contacts")?;
        let mut out = Vec::with_capacity(ids.len());
        for id in ids {
            out.extend(load_contact(&conn, id)?);
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folding() {
        let cases = [
            ("Lucía Fernández", "lucia fernandez"),
            ("LOGÍSTICA ORTEGA", "logistica ortega"),
            ("Clínica Diagonal", "clinica diagonal"),
            ("Ñandú", "nandu"),
            ("Straße", "strasse"),
            ("Łódź", "lodz"),
        ];
        for (input, want) in cases {
            assert_eq!(fold(input), want);
        }
    }

    #[test]
    fn words() {
        assert_eq!(query_words("+34 647-460"), vec!["34647460"]);
        assert_eq!(query_words("Dra. Puig"), vec!["dra.", "puig"]);
        assert_eq!(query_words("  "), Vec::<String>::new());
        assert_eq!(like_escape("50%_a\\"), "50\\%\\_a\\\\");
    }
}
