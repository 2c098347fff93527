//! The embedded local address book (the default CRM): contacts, companies, deals, notes in SQLite; lookup by number variants; CSV and vCard import; the demo data set.
