//! The embedded local address book, Ringside's default CRM.
//!
//! Contacts, companies, deals and notes live in one SQLite file (WAL, foreign
//! keys on). Phone numbers are read with the account's
//! [`NumberPlan`](ringside_core::NumberPlan) when stored, so a call can be
//! matched by E.164, national digits or last digits (integration spec §2).
//! People can type into a search-as-you-type box (name, company, email, digits;
//! case- and accent-insensitive), import CSV and vCard files (bad rows are
//! reported by line, good rows kept, nothing half-written), and load a demo
//! data set whose numbers the demo PBX simulator dials.
//!
//! [`AddressBook`] is cheap to clone; it implements
//! [`ContactLookup`](ringside_core::ContactLookup) as the `local` system.

mod demo;
mod import;
mod import_csv;
mod import_vcard;
mod lookup;
mod model;
mod schema;
mod search;
mod sql;
mod store;
mod validate;

use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard};

use ringside_core::{Clock, Error, NumberPlan, Result, SystemClock};
use rusqlite::Connection;

pub use model::{ImportReport, NewContact, NewDeal, NewPhone, Note, RowError};

/// The `system` name of every record the address book returns.
pub const SYSTEM: &str = "local";

/// A handle on one address-book file. Clones share the connection.
#[derive(Clone)]
pub struct AddressBook {
    conn: Arc<Mutex<Connection>>,
    plan: Arc<NumberPlan>,
    clock: Arc<dyn Clock>,
}

impl std::fmt::Debug for AddressBook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AddressBook")
            .field("plan", &self.plan)
            .finish_non_exhaustive()
    }
}

impl AddressBook {
    /// Open (or create, with its parent directories) the address book at
    /// `path`; numbers are read with `plan`.
    pub fn open(path: &Path, plan: NumberPlan) -> Result<AddressBook> {
        plan.validate()?;
        let fail = |e: &dyn std::fmt::Display| {
            Error::storage(format!("opening address book {}: {e}", path.display()))
        };
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent).map_err(|e| fail(&e))?;
        }
        let mut conn = Connection::open(path).map_err(|e| fail(&e))?;
        schema::prepare(&mut conn).map_err(|e| fail(&e))?;
        Ok(AddressBook {
            conn: Arc::new(Mutex::new(conn)),
            plan: Arc::new(plan),
            clock: Arc::new(SystemClock),
        })
    }

    /// Use `clock` for `updated_at` stamps (tests inject a manual clock).
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// The plan numbers are read with.
    pub fn plan(&self) -> &NumberPlan {
        &self.plan
    }

    fn conn(&self) -> Result<MutexGuard<'_, Connection>> {
        self.conn
            .lock()
            .map_err(|_| Error::internal("address book connection poisoned by an earlier panic"))
    }
}

#[async_trait::async_trait]
impl ringside_core::ContactLookup for AddressBook {
    fn system(&self) -> &str {
        SYSTEM
    }

    async fn lookup(
        &self,
        variants: &ringside_core::NumberVariants,
    ) -> Result<Vec<ringside_core::ContactMatch>> {
        let book = self.clone();
        let variants = variants.clone();
        tokio::task::spawn_blocking(move || book.lookup_blocking(&variants))
            .await
            .map_err(|e| Error::internal(format!("address book lookup task failed: {e}")))?
    }
}
