//! The demo data set. The demo PBX simulator dials these exact numbers:
//! Lucía's mobile (with open and closed deals), Javier's Madrid landline typed
//! in national form, a clinic switchboard shared by two contacts (the
//! multi-match case) and a UK number. `+34 600 111 222` is deliberately
//! absent: it is the demo's unknown caller.

use ringside_core::{Error, Result};
use rusqlite::{OptionalExtension, params};

use crate::model::{NewContact, NewDeal, NewPhone};
use crate::sql::{SqlContext, parse_date};
use crate::store::{insert_contact, insert_deal};
use crate::{AddressBook, validate};

struct DemoDeal {
    name: &'static str,
    stage: &'static str,
    amount: &'static str,
    currency: &'static str,
    close: Option<&'static str>,
    open: bool,
}

struct DemoContact {
    name: &'static str,
    company: Option<&'static str>,
    /// `(label, number as typed)`.
    phones: &'static [(&'static str, &'static str)],
    email: Option<&'static str>,
    deals: &'static [DemoDeal],
}

const fn deal(
    name: &'static str,
    stage: &'static str,
    amount: &'static str,
    currency: &'static str,
    close: Option<&'static str>,
    open: bool,
) -> DemoDeal {
    DemoDeal {
        name,
        stage,
        amount,
        currency,
        close,
        open,
    }
}

const DEMO: &[DemoContact] = &[
    DemoContact {
        name: "Lucía Fernández",
        company: Some("Mar Azul Hoteles S.L."),
        phones: &[("mobile", "+34 647 460 197")],
        email: Some("lucia@marazul.example"),
        deals: &[
            deal(
                "Renovación centralita 2027",
                "Negotiation",
                "12500.00",
                "EUR",
                Some("2026-12-15"),
                true,
            ),
            deal(
                "Ampliación 20 extensiones",
                "Proposal",
                "4800.00",
                "EUR",
                Some("2027-01-31"),
                true,
            ),
            deal(
                "Piloto 2025",
                "Closed Won",
                "900.00",
                "EUR",
                Some("2025-06-30"),
                false,
            ),
        ],
    },
    DemoContact {
        name: "Javier Ortega",
        company: Some("Logística Ortega"),
        phones: &[("work", "91 123 45 67")],
        email: Some("javier@logisticaortega.example"),
        deals: &[deal(
            "Flota 2027",
            "Qualification",
            "7300.00",
            "EUR",
            Some("2027-03-31"),
            true,
        )],
    },
    DemoContact {
        name: "Recepción Clínica Diagonal",
        company: Some("Clínica Diagonal"),
        phones: &[("work", "+34 933 456 789")],
        email: Some("recepcion@clinicadiagonal.example"),
        deals: &[],
    },
    DemoContact {
        name: "Dra. Marta Puig",
        company: Some("Clínica Diagonal"),
        phones: &[("work", "+34 933 456 789"), ("mobile", "+34 699 888 777")],
        email: Some("marta.puig@clinicadiagonal.example"),
        deals: &[deal(
            "Centralita clínica",
            "Proposal",
            "15800.00",
            "EUR",
            Some("2026-11-30"),
            true,
        )],
    },
    DemoContact {
        name: "Oliver Bennett",
        company: Some("Bennett & Co"),
        phones: &[("work", "+44 20 7946 0958")],
        email: Some("oliver@bennettco.example"),
        deals: &[deal(
            "EU expansion",
            "Negotiation",
            "22000.00",
            "GBP",
            Some("2026-10-15"),
            true,
        )],
    },
    DemoContact {
        name: "Carmen Ruiz",
        company: Some("Ferretería Ruiz"),
        phones: &[("work", "958 123 456")],
        email: None,
        deals: &[],
    },
    DemoContact {
        name: "Pablo Navarro",
        company: Some("Navarro Abogados"),
        phones: &[("mobile", "676 54 32 10")],
        email: Some("pablo@navarroabogados.example"),
        deals: &[deal(
            "Licencias CRM",
            "Proposal",
            "3200.00",
            "EUR",
            Some("2026-11-30"),
            true,
        )],
    },
    DemoContact {
        name: "Núria Soler",
        company: Some("Soler Arquitectes"),
        phones: &[("work", "+34 934 567 890")],
        email: Some("nuria@solerarquitectes.example"),
        deals: &[],
    },
    DemoContact {
        name: "Andrés Gómez",
        company: None,
        phones: &[("mobile", "+34 622 334 455")],
        email: None,
        deals: &[deal(
            "Instalación oficina",
            "Closed Lost",
            "1500.00",
            "EUR",
            Some("2025-09-01"),
            false,
        )],
    },
    DemoContact {
        name: "Elena Castro",
        company: Some("Castro Inmobiliaria"),
        phones: &[("work", "+34 955 678 123"), ("mobile", "+34 611 223 344")],
        email: Some("elena@castroinmobiliaria.example"),
        deals: &[deal(
            "Centralita virtual",
            "Negotiation",
            "6400.00",
            "EUR",
            Some("2026-10-01"),
            true,
        )],
    },
    DemoContact {
        name: "Sophie Martin",
        company: Some("Boulangerie Martin"),
        phones: &[("work", "+33 1 42 68 53 00")],
        email: Some("sophie@boulangeriemartin.example"),
        deals: &[deal(
            "Standard téléphonique",
            "Qualification",
            "2100.00",
            "EUR",
            None,
            true,
        )],
    },
    DemoContact {
        name: "Hans Weber",
        company: Some("Weber Maschinenbau GmbH"),
        phones: &[("work", "+49 30 12345678")],
        email: Some("hans.weber@weber-maschinenbau.example"),
        deals: &[],
    },
    DemoContact {
        name: "Miguel Torres",
        company: Some("Viñedos del Sur"),
        phones: &[("mobile", "+34 654 321 987")],
        email: Some("miguel@vinedosdelsur.example"),
        deals: &[],
    },
];

const DEMO_KEY: &str = "demo_loaded";

impl AddressBook {
    /// Load the demo data set; returns how many contacts were added, or 0 if
    /// it was loaded before (into this file).
    pub fn load_demo(&self) -> Result<usize> {
        let now = self.clock.now();
        let mut conn = self.conn()?;
        let tx = conn.transaction().storage("starting demo load")?;
        let loaded = tx
            .query_row("SELECT 1 FROM meta WHERE key = ?1", [DEMO_KEY], |_| Ok(()))
            .optional()
            .storage("checking for demo data")?;
        if loaded.is_some() {
            return Ok(0);
        }
        for c in DEMO {
            let new = NewContact {
                name: c.name.into(),
                company: c.company.map(str::to_string),
                phones: c
                    .phones
                    .iter()
                    .map(|(l, n)| NewPhone::new(Some(l), n))
                    .collect(),
                email: c.email.map(str::to_string),
                notes: None,
            };
            let record = validate::contact(&new, &self.plan)
                .map_err(|e| Error::internal(format!("demo contact {}: {e}", c.name)))?;
            let id = insert_contact(&tx, &record, now)?;
            for d in c.deals {
                let close_date = match d.close {
                    Some(s) => Some(
                        parse_date(s).ok_or_else(|| Error::internal(format!("demo date {s:?}")))?,
                    ),
                    None => None,
                };
                let new = NewDeal {
                    contact_id: id.to_string(),
                    name: d.name.into(),
                    stage: d.stage.into(),
                    amount: Some(d.amount.into()),
                    currency: Some(d.currency.into()),
                    close_date,
                    open: d.open,
                };
                let record = validate::deal(&new)
                    .map_err(|e| Error::internal(format!("demo deal {}: {e}", d.name)))?;
                insert_deal(&tx, id, &record)?;
            }
        }
        tx.execute(
            "INSERT INTO meta (key, value) VALUES (?1, ?2)",
            params![DEMO_KEY, crate::sql::time_text(now)],
        )
        .storage("marking demo data loaded")?;
        tx.commit().storage("saving demo data")?;
        Ok(DEMO.len())
    }
}
