//! What CSV and vCard imports share: reading the file as text, and writing
//! the parsed rows in one transaction with a savepoint per row.
//!
//! A row is checked in full (contact, every phone, its deal) before anything
//! is written, and then written inside its own savepoint, so a rejected row
//! leaves nothing behind. The whole import is one transaction: a crash or a
//! storage failure part-way leaves the book as it was.

use std::io::Read;

use ringside_core::{Error, ErrorKind, Result};

use crate::model::{ImportReport, NewContact, NewDeal, RowError};
use crate::sql::SqlContext;
use crate::store::{insert_contact, insert_deal};
use crate::{AddressBook, validate};

/// Files larger than this are refused rather than read into memory.
pub(crate) const MAX_IMPORT_BYTES: u64 = 64 * 1024 * 1024;

/// One parsed row (CSV record or vCard) and where it starts in the file.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ImportRow {
    /// 1-based physical line.
    pub line: usize,
    /// The row's contact and optional deal, or why it could not be read.
    pub parsed: std::result::Result<RowData, String>,
}

/// A contact and, optionally, a deal for it (its `contact_id` is filled in on write).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct RowData {
    pub contact: NewContact,
    pub deal: Option<NewDeal>,
}

/// Read a whole import file as UTF-8 text (a leading BOM dropped); binary or
/// oversized input is `Invalid`.
pub(crate) fn read_text(input: impl Read, kind: &str) -> Result<String> {
    let mut bytes = Vec::new();
    input
        .take(MAX_IMPORT_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| Error::invalid(format!("reading the {kind} file: {e}")))?;
    if bytes.len() as u64 > MAX_IMPORT_BYTES {
        return Err(Error::invalid(format!(
            "the {kind} file is larger than {} MiB",
            MAX_IMPORT_BYTES / 1024 / 1024
        )));
    }
    let text = String::from_utf8(bytes)
        .map_err(|_| Error::invalid(format!("not a {kind} file: it is not UTF-8 text")))?;
    if text.contains('\0') {
        return Err(Error::invalid(format!(
            "not a {kind} file: it contains binary data"
        )));
    }
    Ok(text
        .strip_prefix('\u{feff}')
        .map(str::to_string)
        .unwrap_or(text))
}

impl AddressBook {
    /// Check and write `rows`; rejected rows go to the report.
    pub(crate) fn write_import(&self, rows: Vec<ImportRow>) -> Result<ImportReport> {
        let mut report = ImportReport::default();
        let now = self.clock.now();
        let mut conn = self.conn()?;
        let mut tx = conn.transaction().storage("starting import")?;
        for row in rows {
            let checked = row.parsed.and_then(|data| {
                let contact =
                    validate::contact(&data.contact, &self.plan).map_err(|e| e.message)?;
                let deal = data
                    .deal
                    .as_ref()
                    .map(validate::deal)
                    .transpose()
                    .map_err(|e| e.message)?;
                Ok((contact, deal))
            });
            let (contact, deal) = match checked {
                Ok(ok) => ok,
                Err(message) => {
                    report.errors.push(RowError {
                        line: row.line,
                        message,
                    });
                    continue;
                }
            };
            let savepoint = tx.savepoint().storage("starting import row")?;
            let written = insert_contact(&savepoint, &contact, now)
                .and_then(|id| deal.map(|d| insert_deal(&savepoint, id, &d)).transpose());
            match written {
                Ok(_) => {
                    savepoint.commit().storage("saving import row")?;
                    report.imported += 1;
                }
                // The savepoint rolls back when dropped.
                Err(e) if e.kind == ErrorKind::Invalid => {
                    report.errors.push(RowError {
                        line: row.line,
                        message: e.message,
                    });
                }
                Err(e) => return Err(e.context(format!("importing line {}", row.line))),
            }
        }
        tx.commit().storage("saving import")?;
        tracing::debug!(
            imported = report.imported,
            rejected = report.errors.len(),
            "address book import"
        );
        Ok(report)
    }
}
