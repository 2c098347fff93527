//! The demo data: three agents, a Spanish interior-design customer with open
//! and closed deals, a second customer with an international-format number,
//! a lead, and two contacts sharing a switchboard number (the multi-match
//! case). Numbers are typed the way people type them, so matching has to
//! work on digits.

use crate::{NewContact, NewLead, NewPotential, NewUser, ZohoEmulator};

/// The ids `seed_demo` created.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DemoIds {
    /// Ana García, `ana@ringside.test`.
    pub ana: String,
    /// Bruno Díaz, `bruno@ringside.test`.
    pub bruno: String,
    /// Tony Manero, `tony@ringside.test`.
    pub tony: String,
    /// The Account "Fernández Interiorismo SL".
    pub fernandez_account: String,
    /// Lucía Fernández (Contacts), mobile `647 46 01 97`.
    pub lucia: String,
    /// Lucía's Potentials: "Reforma oficina Valencia", "Mobiliario sala de
    /// juntas", then the closed "Proyecto piloto".
    pub lucia_potentials: Vec<String>,
    /// Javier Ortega (Contacts), phone `+34 91 123 45 67`.
    pub javier: String,
    /// Javier's open Potential.
    pub javier_potential: String,
    /// Pablo Navarro (Leads, Navarro Reformas), mobile `676-54-32-10`.
    pub pablo_lead: String,
    /// The two contacts on `+34 933 456 789`.
    pub clinica: Vec<String>,
}

fn some(s: &str) -> Option<String> {
    Some(s.to_owned())
}

fn potential(contact: &str, name: &str, stage: &str, revenue: &str, close: &str) -> NewPotential {
    NewPotential {
        contact_id: contact.to_owned(),
        name: name.to_owned(),
        stage: stage.to_owned(),
        expected_revenue: some(revenue),
        closing_date: some(close),
        owner: some("Ana García"),
        probability: None,
    }
}

pub(crate) fn seed(emulator: &ZohoEmulator) -> DemoIds {
    let user = |name: &str, email: &str| {
        emulator.add_user(NewUser {
            name: name.to_owned(),
            email: email.to_owned(),
        })
    };
    let ana = user("Ana García", "ana@ringside.test");
    let bruno = user("Bruno Díaz", "bruno@ringside.test");
    let tony = user("Tony Manero", "tony@ringside.test");
    let lucia = emulator.add_contact(NewContact {
        first_name: "Lucía".into(),
        last_name: "Fernández".into(),
        mobile: some("647 46 01 97"),
        email: some("lucia@fernandez-interiorismo.test"),
        account: some("Fernández Interiorismo SL"),
        department: some("Dirección"),
        ..NewContact::default()
    });
    let fernandez_account = emulator.add_account("Fernández Interiorismo SL", None);
    let lucia_potentials = vec![
        emulator.add_potential(potential(
            &lucia,
            "Reforma oficina Valencia",
            "Negotiation/Review",
            "18500.00",
            "2026-12-15",
        )),
        emulator.add_potential(potential(
            &lucia,
            "Mobiliario sala de juntas",
            "Qualification",
            "7200.00",
            "2027-01-31",
        )),
        emulator.add_potential(potential(
            &lucia,
            "Proyecto piloto",
            "Closed Won",
            "3000.00",
            "2026-03-01",
        )),
    ];
    let javier = emulator.add_contact(NewContact {
        first_name: "Javier".into(),
        last_name: "Ortega".into(),
        phone: some("+34 91 123 45 67"),
        email: some("javier.ortega@ortega-asociados.test"),
        account: some("Ortega Asociados"),
        ..NewContact::default()
    });
    let mut javier_deal = potential(
        &javier,
        "Renovación contrato mantenimiento",
        "Needs Analysis",
        "4800.00",
        "2026-12-01",
    );
    javier_deal.owner = some("Bruno Díaz");
    let javier_potential = emulator.add_potential(javier_deal);
    let pablo_lead = emulator.add_lead(NewLead {
        first_name: "Pablo".into(),
        last_name: "Navarro".into(),
        company: "Navarro Reformas".into(),
        mobile: some("676-54-32-10"),
        ..NewLead::default()
    });
    let clinica = [("Recepción", "Clínica Diagonal"), ("Marta", "Puig")]
        .into_iter()
        .map(|(first, last)| {
            emulator.add_contact(NewContact {
                first_name: first.into(),
                last_name: last.into(),
                phone: some("+34 933 456 789"),
                account: some("Clínica Diagonal"),
                ..NewContact::default()
            })
        })
        .collect();
    DemoIds {
        ana,
        bruno,
        tony,
        fernandez_account,
        lucia,
        lucia_potentials,
        javier,
        javier_potential,
        pablo_lead,
        clinica,
    }
}
