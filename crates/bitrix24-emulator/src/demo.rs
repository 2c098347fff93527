//! The demo data: three agents with extensions; a Spanish interior-design
//! customer (phone typed nationally, `647 46 01 97`) with two open deals and
//! a won one; and a busy customer, "Grupo Norte" (`+34 911 000 000`), with
//! 60 open deals so `crm.deal.list` needs two pages (50 + 10).

use crate::{BitrixEmulator, NewContact, NewDeal};

/// The ids `seed_demo` created.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DemoIds {
    /// Ana García, `UF_PHONE_INNER` 201.
    pub ana: u32,
    /// Bruno Díaz, 202.
    pub bruno: u32,
    /// Tony Manero, 203.
    pub tony: u32,
    /// Lucía Fernández, PHONE `647 46 01 97`, company "Fernández Interiorismo SL".
    pub lucia: u32,
    /// Lucía's deals: "Reforma oficina Valencia" (18500.00 EUR, PREPARATION,
    /// open), "Mobiliario sala de juntas" (7200.00, NEW, open), "Proyecto
    /// piloto" (3000.00, WON, closed 2026-01-15).
    pub lucia_deals: Vec<u32>,
    /// Grupo Norte, PHONE `+34 911 000 000`.
    pub grupo_norte: u32,
    /// Its 60 open deals, "Pedido Grupo Norte 01" … "60".
    pub grupo_norte_deals: Vec<u32>,
}

pub(crate) fn seed(emulator: &BitrixEmulator) -> DemoIds {
    let ana = emulator.add_user("Ana García", Some("201"));
    let bruno = emulator.add_user("Bruno Díaz", Some("202"));
    let tony = emulator.add_user("Tony Manero", Some("203"));
    let lucia = emulator.add_contact(NewContact {
        name: "Lucía".into(),
        last_name: "Fernández".into(),
        phones: vec!["647 46 01 97".into()],
        company_title: Some("Fernández Interiorismo SL".into()),
    });
    let deal = |title: &str, contact_id: u32, stage: &str, amount: &str, closed: Option<&str>| {
        emulator.add_deal(NewDeal {
            title: title.into(),
            contact_id,
            stage_id: stage.into(),
            opportunity: amount.into(),
            currency_id: "EUR".into(),
            closed: closed.is_some(),
            close_date: closed.map(str::to_owned),
        })
    };
    let lucia_deals = vec![
        deal(
            "Reforma oficina Valencia",
            lucia,
            "PREPARATION",
            "18500.00",
            None,
        ),
        deal("Mobiliario sala de juntas", lucia, "NEW", "7200.00", None),
        deal(
            "Proyecto piloto",
            lucia,
            "WON",
            "3000.00",
            Some("2026-01-15"),
        ),
    ];
    let grupo_norte = emulator.add_contact(NewContact {
        name: "Grupo Norte".into(),
        last_name: String::new(),
        phones: vec!["+34 911 000 000".into()],
        company_title: None,
    });
    let grupo_norte_deals = (1..=60)
        .map(|i| {
            deal(
                &format!("Pedido Grupo Norte {i:02}"),
                grupo_norte,
                "NEW",
                &format!("{}.00", 1000 + i * 10),
                None,
            )
        })
        .collect();
    DemoIds {
        ana,
        bruno,
        tony,
        lucia,
        lucia_deals,
        grupo_norte,
        grupo_norte_deals,
    }
}
