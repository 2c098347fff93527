//! CSV import: a header row names the columns (English and Spanish aliases,
//! any case or accents), the delimiter (`,`, `;` or tab) is sniffed from the
//! header line, and every record becomes one [`ImportRow`] tagged with the
//! physical line it starts on.

use std::io::Read;

use chrono::NaiveDate;
use ringside_core::{Error, Result};

use crate::AddressBook;
use crate::import::{ImportRow, RowData, read_text};
use crate::model::{ImportReport, NewContact, NewDeal, NewPhone};
use crate::search::fold;
use crate::validate::non_blank;

/// What a header column holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Column {
    Name,
    FirstName,
    LastName,
    Company,
    /// A phone column and the label its numbers get.
    Phone(Option<&'static str>),
    Email,
    Notes,
    Deal,
    Stage,
    Amount,
    Currency,
    CloseDate,
    Ignored,
}

/// Recognise a header cell.
fn column(header: &str) -> Column {
    let key = fold(header)
        .replace(['_', '-', '.'], " ")
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    match key.as_str() {
        "name" | "full name" | "fullname" | "display name" | "contact" | "contact name"
        | "nombre completo" | "contacto" | "nombre y apellidos" => Column::Name,
        "first name" | "firstname" | "given name" | "nombre" => Column::FirstName,
        "last name" | "lastname" | "surname" | "family name" | "apellido" | "apellidos" => {
            Column::LastName
        }
        "company" | "company name" | "organization" | "organisation" | "org" | "account"
        | "empresa" | "compania" | "organizacion" | "razon social" => Column::Company,
        "phone" | "phone number" | "telephone" | "tel" | "number" | "telefono" | "numero"
        | "telefonos" | "phones" => Column::Phone(None),
        "mobile" | "mobile phone" | "cell" | "cell phone" | "cellphone" | "movil"
        | "telefono movil" | "celular" => Column::Phone(Some("mobile")),
        "work phone" | "business phone" | "office phone" | "work" | "telefono trabajo"
        | "telefono oficina" | "telefono empresa" | "oficina" => Column::Phone(Some("work")),
        "home phone" | "home" | "telefono casa" | "telefono particular" | "casa" | "particular" => {
            Column::Phone(Some("home"))
        }
        "other phone" | "otro telefono" => Column::Phone(Some("other")),
        "email" | "e mail" | "mail" | "email address" | "correo" | "correo electronico"
        | "e mail address" => Column::Email,
        "notes" | "note" | "comments" | "comment" | "notas" | "nota" | "observaciones"
        | "comentarios" => Column::Notes,
        "deal" | "deal name" | "opportunity" | "oportunidad" | "negocio" | "trato" => Column::Deal,
        "stage" | "deal stage" | "etapa" | "fase" => Column::Stage,
        "amount" | "value" | "deal value" | "importe" | "monto" | "valor" | "cantidad" => {
            Column::Amount
        }
        "currency" | "moneda" | "divisa" => Column::Currency,
        "close date"
        | "closing date"
        | "expected close"
        | "expected close date"
        | "fecha cierre"
        | "fecha de cierre" => Column::CloseDate,
        _ => Column::Ignored,
    }
}

/// The delimiter used most on the header line (outside quotes): `,`, `;` or tab.
fn sniff_delimiter(text: &str) -> u8 {
    let header = text.lines().next().unwrap_or_default();
    let mut counts = [(b',', 0usize), (b';', 0), (b'\t', 0)];
    let mut quoted = false;
    for b in header.bytes() {
        if b == b'"' {
            quoted = !quoted;
        } else if !quoted && let Some(slot) = counts.iter_mut().find(|(d, _)| *d == b) {
            slot.1 += 1;
        }
    }
    // `max_by_key` keeps the last maximum; the order above makes `,` win ties.
    counts
        .iter()
        .rev()
        .max_by_key(|(_, n)| *n)
        .map_or(b',', |(d, _)| *d)
}

/// A closed stage: `Closed Won`, `Cerrado perdido`, `Ganado`...
fn stage_is_open(stage: &str) -> bool {
    let s = fold(stage);
    !["closed", "won", "lost", "cerrad", "ganad", "perdid"]
        .iter()
        .any(|p| s.starts_with(p))
}

/// An amount as exported by a spreadsheet: `12500.00`, `12500,00`, `12.500,00`.
fn amount_cell(a: &str) -> String {
    let a: String = a.chars().filter(|c| !c.is_whitespace()).collect();
    match (a.rfind('.'), a.rfind(',')) {
        (None, Some(_)) => a.replace(',', "."),
        (Some(dot), Some(comma)) if comma > dot => a.replace('.', "").replace(',', "."),
        (Some(_), Some(_)) => a.replace(',', ""),
        _ => a,
    }
}

fn date_cell(d: &str) -> std::result::Result<NaiveDate, String> {
    ["%Y-%m-%d", "%d/%m/%Y", "%d-%m-%Y", "%d.%m.%Y"]
        .iter()
        .find_map(|f| NaiveDate::parse_from_str(d, f).ok())
        .ok_or_else(|| format!("close date {d:?} is not a date like 2026-12-15"))
}

/// One record as a contact and optional deal.
fn row(columns: &[Column], record: &csv::StringRecord) -> std::result::Result<RowData, String> {
    if record.len() != columns.len() {
        return Err(format!(
            "wrong number of fields (expected {}, found {})",
            columns.len(),
            record.len()
        ));
    }
    let mut c = NewContact::default();
    let (mut first, mut last) = (Vec::new(), Vec::new());
    let mut deal: Option<NewDeal> = None;
    let (mut stage, mut amount, mut currency, mut close) = (None, None, None, None);
    for (col, cell) in columns.iter().zip(record.iter()) {
        let Some(value) = non_blank(Some(cell)) else {
            continue;
        };
        match col {
            Column::Name => c.name = value,
            Column::FirstName => first.push(value),
            Column::LastName => last.push(value),
            Column::Company => c.company = Some(value),
            Column::Phone(label) => c.phones.extend(
                value
                    .split([';', '/'])
                    .filter(|n| !n.trim().is_empty())
                    .map(|n| NewPhone::new(*label, n.trim())),
            ),
            Column::Email => c.email = Some(value),
            Column::Notes => c.notes = Some(value),
            Column::Deal => {
                deal = Some(NewDeal {
                    contact_id: String::new(),
                    name: value,
                    stage: String::new(),
                    amount: None,
                    currency: None,
                    close_date: None,
                    open: true,
                })
            }
            Column::Stage => stage = Some(value),
            Column::Amount => amount = Some(amount_cell(&value)),
            Column::Currency => currency = Some(value),
            Column::CloseDate => close = Some(date_cell(&value)?),
            Column::Ignored => {}
        }
    }
    if c.name.is_empty() {
        first.extend(last);
        c.name = first.join(" ");
    }
    if c.name.is_empty() {
        return Err("no name".into());
    }
    if let Some(d) = deal.as_mut() {
        d.stage = stage.unwrap_or_else(|| "New".into());
        d.open = stage_is_open(&d.stage);
        d.amount = amount;
        d.currency = currency;
        d.close_date = close;
    }
    Ok(RowData { contact: c, deal })
}

/// Parse CSV text into rows; `Invalid` when there is no usable header.
fn parse(text: &str) -> Result<Vec<ImportRow>> {
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(sniff_delimiter(text))
        .flexible(true)
        .has_headers(true)
        .from_reader(text.as_bytes());
    let headers = reader
        .headers()
        .map_err(|e| Error::invalid(format!("not a CSV file: {e}")))?;
    let columns: Vec<Column> = headers.iter().map(column).collect();
    let has_name = columns
        .iter()
        .any(|c| matches!(c, Column::Name | Column::FirstName | Column::LastName));
    if !has_name {
        return Err(Error::invalid(
            "the CSV header has no name column (name, first_name/last_name, nombre...)",
        ));
    }
    let mut rows = Vec::new();
    for record in reader.records() {
        match record {
            // Spreadsheets pad exports with rows of bare delimiters.
            Ok(record) if record.iter().all(|c| c.trim().is_empty()) => {}
            Ok(record) => {
                let line = record.position().map_or(0, |p| p.line() as usize);
                rows.push(ImportRow {
                    line,
                    parsed: row(&columns, &record),
                });
            }
            Err(e) => match e.position() {
                Some(p) => rows.push(ImportRow {
                    line: p.line() as usize,
                    parsed: Err(e.to_string()),
                }),
                None => return Err(Error::invalid(format!("not a CSV file: {e}"))),
            },
        }
    }
    Ok(rows)
}

impl AddressBook {
    /// Import contacts (and deals) from a CSV file with a header row. Bad
    /// rows are reported with their line and skipped; a file that is not CSV
    /// or has no name column is `Invalid` and nothing is written.
    pub fn import_csv(&self, input: impl Read) -> Result<ImportReport> {
        let text = read_text(input, "CSV")?;
        let rows = parse(&text)?;
        self.write_import(rows)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers() {
        let cases = [
            ("Name", Column::Name),
            ("first_name", Column::FirstName),
            ("Nombre", Column::FirstName),
            ("Apellidos", Column::LastName),
            ("EMPRESA", Column::Company),
            ("Teléfono", Column::Phone(None)),
            ("Móvil", Column::Phone(Some("mobile"))),
            ("Work Phone", Column::Phone(Some("work"))),
            ("home_phone", Column::Phone(Some("home"))),
            ("E-mail", Column::Email),
            ("Correo electrónico", Column::Email),
            ("Close date", Column::CloseDate),
            ("Fecha de cierre", Column::CloseDate),
            ("Importe", Column::Amount),
            ("Fax", Column::Ignored),
        ];
        for (header, want) in cases {
            assert_eq!(column(header), want, "{header}");
        }
    }

    #[test]
    fn delimiters() {
        assert_eq!(sniff_delimiter("name,phone\n"), b',');
        assert_eq!(sniff_delimiter("nombre;teléfono;empresa\n"), b';');
        assert_eq!(sniff_delimiter("\"a;b\",c\n"), b',');
        assert_eq!(sniff_delimiter("name\tphone\n"), b'\t');
        assert_eq!(sniff_delimiter("name\n"), b',');
    }

    #[test]
    fn cells() {
        assert_eq!(amount_cell("12500,00"), "12500.00");
        assert_eq!(amount_cell("12.500,00"), "12500.00");
        assert_eq!(amount_cell("12,500.00"), "12500.00");
        assert_eq!(amount_cell("4800"), "4800");
        assert_eq!(
            date_cell("15/12/2026"),
            NaiveDate::from_ymd_opt(2026, 12, 15).ok_or(String::new())
        );
        assert!(date_cell("soon").is_err());
        assert!(stage_is_open("Negotiation"));
        assert!(!stage_is_open("Closed Won"));
        assert!(!stage_is_open("Cerrado perdido"));
    }
}
