//! The demo data: two agents, a Spanish interior-design customer with open
//! and closed deals, a second customer with an international-format number,
//! a lead, and two contacts sharing a switchboard number (the multi-match
//! case). Numbers are typed the way people type them, so matching has to
//! work on digits.

use crate::{NewContact, NewLead, NewPotential, NewUser, VtigerEmulator};

/// The ids `seed_demo` created.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DemoIds {
    /// Ana García, Office Phone `201`.
    pub ana: String,
    /// Bruno Díaz, Office Phone `202`.
    pub bruno: String,
    /// Fernández Interiorismo SL.
    pub fernandez_account: String,
    /// Lucía Fernández, mobile `647 46 01 97`.
    pub lucia: String,
    /// Lucía's deals: two open, then the closed one.
    pub lucia_potentials: Vec<String>,
    /// Javier Ortega, phone `+34 91 123 45 67`.
    pub javier: String,
    /// Javier's deal.
    pub javier_potential: String,
    /// Pablo Navarro (lead), mobile `676-54-32-10`.
    pub pablo_lead: String,
    /// The two contacts on `+34 933 456 789`.
    pub clinica: Vec<String>,
}

fn some(s: &str) -> Option<String> {
    Some(s.to_owned())
}

fn potential(
    name: &str,
    contact: &str,
    account: Option<&str>,
    stage: &str,
    amount: &str,
    close: &str,
) -> NewPotential {
    NewPotential {
        potentialname: name.to_owned(),
        contact_id: some(contact),
        related_to: account.map(str::to_owned),
        sales_stage: stage.to_owned(),
        amount: some(amount),
        currency: some("EUR"),
        closingdate: some(close),
    }
}

pub(crate) fn seed(emulator: &VtigerEmulator) -> DemoIds {
    let ana = emulator.add_user(NewUser {
        user_name: "ana".into(),
        first_name: "Ana".into(),
        last_name: "García".into(),
        email: "ana@ringside.test".into(),
        phone_work: "201".into(),
        phone_mobile: None,
    });
    let bruno = emulator.add_user(NewUser {
        user_name: "bruno".into(),
        first_name: "Bruno".into(),
        last_name: "Díaz".into(),
        email: "bruno@ringside.test".into(),
        phone_work: "202".into(),
        phone_mobile: None,
    });
    let fernandez_account = emulator.add_account("Fernández Interiorismo SL");
    let lucia = emulator.add_contact(NewContact {
        firstname: "Lucía".into(),
        lastname: "Fernández".into(),
        mobile: some("647 46 01 97"),
        email: some("lucia@fernandez-interiorismo.test"),
        account_id: Some(fernandez_account.clone()),
        ..NewContact::default()
    });
    let account = Some(fernandez_account.as_str());
    let lucia_potentials = vec![
        emulator.add_potential(potential(
            "Reforma oficina Valencia",
            &lucia,
            account,
            "Negotiation or Review",
            "18500.00",
            "2026-12-15",
        )),
        emulator.add_potential(potential(
            "Mobiliario sala de juntas",
            &lucia,
            account,
            "Prospecting",
            "7200.00",
            "2027-01-31",
        )),
        emulator.add_potential(potential(
            "Proyecto piloto",
            &lucia,
            account,
            "Closed Won",
            "3000.00",
            "2026-03-01",
        )),
    ];
    let javier = emulator.add_contact(NewContact {
        firstname: "Javier".into(),
        lastname: "Ortega".into(),
        phone: some("+34 91 123 45 67"),
        ..NewContact::default()
    });
    let javier_potential = emulator.add_potential(potential(
        "Renovación contrato mantenimiento",
        &javier,
        None,
        "Proposal or Price Quote",
        "4800.00",
        "2026-12-01",
    ));
    let pablo_lead = emulator.add_lead(NewLead {
        firstname: "Pablo".into(),
        lastname: "Navarro".into(),
        company: "Navarro Reformas".into(),
        mobile: some("676-54-32-10"),
        ..NewLead::default()
    });
    let clinica = ["Recepción", "Dra. Marta"]
        .into_iter()
        .zip(["Clínica Diagonal", "Puig"])
        .map(|(first, last)| {
            emulator.add_contact(NewContact {
                firstname: first.into(),
                lastname: last.into(),
                phone: some("+34 933 456 789"),
                ..NewContact::default()
            })
        })
        .collect();
    DemoIds {
        ana,
        bruno,
        fernandez_account,
        lucia,
        lucia_potentials,
        javier,
        javier_potential,
        pablo_lead,
        clinica,
    }
}
