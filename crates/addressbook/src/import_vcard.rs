//! vCard import (3.0 and 4.0, read leniently; 2.1-style bare `TEL;CELL:`
//! parameters too). A small parser of our own: the registry's `vcard4` is
//! strict RFC 6350 (4.0 only) and `ical` does not report line numbers, which
//! the import report needs.
//!
//! Continuation lines are unfolded, `\,` `\;` `\n` `\\` unescaped, groups
//! (`item1.TEL`) dropped. Each card is one [`ImportRow`] whose line is its
//! `BEGIN:VCARD` line. FN (else N), ORG, TEL (TYPE → label), EMAIL and NOTE
//! are read; everything else is ignored.

use std::io::Read;

use ringside_core::{Error, Result};

use crate::AddressBook;
use crate::import::{ImportRow, RowData, read_text};
use crate::model::{ImportReport, NewContact, NewPhone};

/// A logical (unfolded) line and the physical line it starts on.
struct Line {
    number: usize,
    text: String,
}

/// Join continuation lines (starting with a space or tab) onto the line before.
fn unfold(text: &str) -> Vec<Line> {
    let mut out: Vec<Line> = Vec::new();
    for (i, physical) in text.split('\n').enumerate() {
        let physical = physical.strip_suffix('\r').unwrap_or(physical);
        match (physical.strip_prefix([' ', '\t']), out.last_mut()) {
            (Some(rest), Some(prev)) => prev.text.push_str(rest),
            _ => out.push(Line {
                number: i + 1,
                text: physical.to_string(),
            }),
        }
    }
    out
}

/// One content line: `group.NAME;PARAM=a,b:value`.
struct Property {
    /// Upper case, group dropped.
    name: String,
    /// Lower-case `TYPE` values (from `TYPE=` or bare 2.1 parameters).
    types: Vec<String>,
    /// The value, still escaped.
    value: String,
}

fn property(line: &str) -> Option<Property> {
    let mut quoted = false;
    let colon = line.char_indices().find_map(|(i, c)| {
        if c == '"' {
            quoted = !quoted;
        }
        (c == ':' && !quoted).then_some(i)
    })?;
    let (head, value) = (&line[..colon], &line[colon + 1..]);
    let mut parts = head.split(';');
    let name = parts.next()?.trim();
    let name = name.rsplit('.').next().unwrap_or(name).to_ascii_uppercase();
    let mut types = Vec::new();
    for param in parts {
        let (key, values) = param.split_once('=').unwrap_or(("TYPE", param));
        if key.trim().eq_ignore_ascii_case("TYPE") {
            types.extend(
                values
                    .split(',')
                    .map(|t| t.trim().trim_matches('"').to_ascii_lowercase()),
            );
        }
    }
    Some(Property {
        name,
        types,
        value: value.to_string(),
    })
}

/// Undo vCard text escapes.
fn unescape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('n' | 'N') => out.push('\n'),
            Some(other) => out.push(other),
            None => out.push('\\'),
        }
    }
    out
}

/// Split a structured value (`N`, `ORG`) on unescaped `;`, unescaping each part.
fn components(s: &str) -> Vec<String> {
    let mut parts = Vec::new();
    let mut current = String::new();
    let mut escaped = false;
    for c in s.chars() {
        match (escaped, c) {
            (true, _) => {
                current.push('\\');
                current.push(c);
                escaped = false;
            }
            (false, '\\') => escaped = true,
            (false, ';') => parts.push(unescape(&std::mem::take(&mut current))),
            (false, _) => current.push(c),
        }
    }
    parts.push(unescape(&current));
    parts
}

/// `N:Family;Given;Additional;Prefix;Suffix` as a display name.
fn name_from_n(value: &str) -> String {
    let parts = components(value);
    let part = |i: usize| {
        parts
            .get(i)
            .map(|p| p.replace(',', " "))
            .unwrap_or_default()
    };
    [part(3), part(1), part(2), part(0), part(4)]
        .iter()
        .map(|p| p.trim())
        .filter(|p| !p.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

/// The label for a phone's TYPE values.
fn phone_label(types: &[String]) -> Option<&'static str> {
    let order: [(&[&str], &str); 7] = [
        (&["cell", "mobile", "iphone"], "mobile"),
        (&["fax"], "fax"),
        (&["pager"], "pager"),
        (&["work"], "work"),
        (&["home"], "home"),
        (&["main"], "main"),
        (&["other"], "other"),
    ];
    order
        .iter()
        .find(|(names, _)| types.iter().any(|t| names.contains(&t.as_str())))
        .map(|(_, label)| *label)
}

/// The number in a TEL value, including 4.0's `tel:+34-647…;ext=1` URIs.
fn tel_value(value: &str) -> String {
    let v = unescape(value);
    let v = v.trim();
    match v.get(..4) {
        Some(scheme) if scheme.eq_ignore_ascii_case("tel:") => {
            v[4..].split(';').next().unwrap_or_default().to_string()
        }
        _ => v.to_string(),
    }
}

/// One card's properties as a contact.
fn card(props: &[Property]) -> std::result::Result<RowData, String> {
    let mut c = NewContact::default();
    let (mut full, mut structured) = (None, None);
    let mut notes: Vec<String> = Vec::new();
    for p in props {
        match p.name.as_str() {
            "FN" => full = full.or(Some(unescape(&p.value).trim().to_string())),
            "N" => structured = structured.or(Some(name_from_n(&p.value))),
            "ORG" => {
                c.company = c
                    .company
                    .or_else(|| components(&p.value).into_iter().next());
            }
            "TEL" => c
                .phones
                .push(NewPhone::new(phone_label(&p.types), &tel_value(&p.value))),
            "EMAIL" => c.email = c.email.or(Some(unescape(&p.value).trim().to_string())),
            "NOTE" => notes.push(unescape(&p.value)),
            _ => {}
        }
    }
    c.name = [full, structured]
        .into_iter()
        .flatten()
        .find(|n| !n.is_empty())
        .ok_or("no name (FN or N)")?;
    if c.phones.is_empty() && c.email.as_deref().is_none_or(str::is_empty) {
        return Err("no TEL or EMAIL".into());
    }
    if !notes.is_empty() {
        c.notes = Some(notes.join("\n"));
    }
    Ok(RowData {
        contact: c,
        deal: None,
    })
}

/// Split vCard text into cards; `Invalid` when there is none.
fn parse(text: &str) -> Result<Vec<ImportRow>> {
    let mut rows = Vec::new();
    let mut open: Option<(usize, Vec<Property>)> = None;
    let mut seen_card = false;
    let unterminated = |line: usize| ImportRow {
        line,
        parsed: Err("card is not terminated (no END:VCARD)".into()),
    };
    for line in unfold(text) {
        let t = line.text.trim();
        if t.eq_ignore_ascii_case("BEGIN:VCARD") {
            seen_card = true;
            if let Some((begin, _)) = open.take() {
                rows.push(unterminated(begin));
            }
            open = Some((line.number, Vec::new()));
        } else if t.eq_ignore_ascii_case("END:VCARD") {
            if let Some((begin, props)) = open.take() {
                rows.push(ImportRow {
                    line: begin,
                    parsed: card(&props),
                });
            }
        } else if let Some((_, props)) = open.as_mut() {
            props.extend(property(&line.text));
        }
    }
    if let Some((begin, _)) = open {
        rows.push(unterminated(begin));
    }
    if !seen_card {
        return Err(Error::invalid("not a vCard file: no BEGIN:VCARD"));
    }
    Ok(rows)
}

impl AddressBook {
    /// Import contacts from a vCard (3.0/4.0) file. Cards without a name,
    /// without TEL or EMAIL, with a bad TEL, or unterminated are reported by
    /// their `BEGIN` line; the others are kept.
    pub fn import_vcard(&self, input: impl Read) -> Result<ImportReport> {
        let text = read_text(input, "vCard")?;
        let rows = parse(&text)?;
        self.write_import(rows)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unfolding_and_escapes() {
        let lines = unfold("BEGIN:VCARD\r\nNOTE:one\\, two\r\n  three\\nfour\r\nEND:VCARD\r\n");
        assert_eq!(lines[1].number, 2);
        assert_eq!(lines[1].text, "NOTE:one\\, two three\\nfour");
        assert_eq!(lines[2].number, 4);
        assert_eq!(
            unescape("one\\, two three\\nfour\\\\"),
            "one, two three\nfour\\"
        );
    }

    #[test]
    fn properties() {
        let p = property("item1.TEL;TYPE=\"work,voice\";type=pref:+34 91 123 45 67").unwrap();
        assert_eq!(p.name, "TEL");
        assert_eq!(p.types, ["work", "voice", "pref"]);
        assert_eq!(phone_label(&p.types), Some("work"));
        let p = property("TEL;CELL:600").unwrap();
        assert_eq!(phone_label(&p.types), Some("mobile"));
        assert_eq!(tel_value("tel:+34-647-460-197;ext=12"), "+34-647-460-197");
        assert!(property("no colon here").is_none());
    }

    #[test]
    fn structured_names() {
        assert_eq!(name_from_n("Puig;Marta;;Dra.;"), "Dra. Marta Puig");
        assert_eq!(name_from_n("Fernández;Lucía"), "Lucía Fernández");
        assert_eq!(
            components("Mar Azul\\; Hoteles;Ventas"),
            ["Mar Azul; Hoteles", "Ventas"]
        );
    }
}
