//! The demo data: three agents; a Spanish interior-design customer with two
//! open leads and a won one (so a call to her lands on the contact); a
//! customer with one open lead (a call lands on the lead); a Russian number
//! typed in international format (`+7 …`, the `8…` search trap); a contact
//! whose free-text note mentions Lucía's number (the any-field trap); and
//! two contacts sharing a switchboard number. Numbers are typed the way
//! people type them.

use crate::{AmoEmulator, MAIN_PIPELINE_ID, NewContact, NewLead, WON_STATUS};

/// "Primer contacto" in "Ventas".
pub const STATUS_FIRST_CONTACT: u32 = 5001;
/// "Negociación" in "Ventas".
pub const STATUS_NEGOTIATION: u32 = 5002;

/// The ids `seed_demo` created.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DemoIds {
    /// Ana García, `ana@ringside.test`.
    pub ana: u64,
    /// Bruno Díaz, `bruno@ringside.test`.
    pub bruno: u64,
    /// Tony Manero, `tony@ringside.test`.
    pub tony: u64,
    /// The pipeline "Ventas" (statuses 5001 "Primer contacto", 5002
    /// "Negociación", 142 won, 143 lost).
    pub pipeline: u32,
    /// The company "Fernández Interiorismo SL".
    pub fernandez_company: u64,
    /// Lucía Fernández, PHONE `647 46 01 97` (WORK).
    pub lucia: u64,
    /// Lucía's leads: "Reforma oficina Valencia" (18500, Negociación),
    /// "Mobiliario sala de juntas" (7200, Primer contacto), the won
    /// "Proyecto piloto" (3000, 142).
    pub lucia_leads: Vec<u64>,
    /// Javier Ortega, PHONE `+34 91 123 45 67`.
    pub javier: u64,
    /// Javier's one open lead.
    pub javier_lead: u64,
    /// Elena Ruiz, PHONE `+7 999 555 11 22` (MOBILE).
    pub elena: u64,
    /// Marco Vidal: PHONE `+34 622 98 76 54`, but his "Notas" field
    /// mentions `647460197`.
    pub marco: u64,
    /// The two contacts on `+34 933 456 789` (Clínica Diagonal).
    pub clinica: Vec<u64>,
}

fn phone(value: &str, enum_code: &str) -> Vec<(String, String)> {
    vec![(value.to_owned(), enum_code.to_owned())]
}

pub(crate) fn seed(emulator: &AmoEmulator) -> DemoIds {
    let ana = emulator.add_user("Ana García", "ana@ringside.test");
    let bruno = emulator.add_user("Bruno Díaz", "bruno@ringside.test");
    let tony = emulator.add_user("Tony Manero", "tony@ringside.test");
    let fernandez_company = emulator.add_company("Fernández Interiorismo SL");
    let lucia = emulator.add_contact(NewContact {
        name: "Lucía Fernández".into(),
        phones: phone("647 46 01 97", "WORK"),
        email: Some("lucia@fernandez-interiorismo.test".into()),
        company_id: Some(fernandez_company),
        responsible_user_id: Some(ana),
        notes_text: None,
    });
    let lead = |name: &str, price: u64, status_id: u32, contact: u64| {
        emulator.add_lead(NewLead {
            name: name.into(),
            price,
            status_id,
            pipeline_id: Some(MAIN_PIPELINE_ID),
            contact_ids: vec![contact],
        })
    };
    let lucia_leads = vec![
        lead(
            "Reforma oficina Valencia",
            18_500,
            STATUS_NEGOTIATION,
            lucia,
        ),
        lead(
            "Mobiliario sala de juntas",
            7_200,
            STATUS_FIRST_CONTACT,
            lucia,
        ),
        lead("Proyecto piloto", 3_000, WON_STATUS, lucia),
    ];
    let javier = emulator.add_contact(NewContact {
        name: "Javier Ortega".into(),
        phones: phone("+34 91 123 45 67", "WORK"),
        email: Some("javier.ortega@ortega-asociados.test".into()),
        responsible_user_id: Some(bruno),
        ..NewContact::default()
    });
    let javier_lead = lead(
        "Renovación contrato mantenimiento",
        4_800,
        STATUS_FIRST_CONTACT,
        javier,
    );
    let elena = emulator.add_contact(NewContact {
        name: "Elena Ruiz".into(),
        phones: phone("+7 999 555 11 22", "MOBILE"),
        responsible_user_id: Some(tony),
        ..NewContact::default()
    });
    let marco = emulator.add_contact(NewContact {
        name: "Marco Vidal".into(),
        phones: phone("+34 622 98 76 54", "MOBILE"),
        responsible_user_id: Some(ana),
        notes_text: Some("Conoce a Lucía (647460197); llamar por la tarde".into()),
        ..NewContact::default()
    });
    let clinica_company = emulator.add_company("Clínica Diagonal");
    let clinica = ["Recepción Clínica Diagonal", "Marta Puig"]
        .into_iter()
        .map(|name| {
            emulator.add_contact(NewContact {
                name: name.into(),
                phones: phone("+34 933 456 789", "WORK"),
                company_id: Some(clinica_company),
                responsible_user_id: Some(bruno),
                ..NewContact::default()
            })
        })
        .collect();
    DemoIds {
        ana,
        bruno,
        tony,
        pipeline: MAIN_PIPELINE_ID,
        fernandez_company,
        lucia,
        lucia_leads,
        javier,
        javier_lead,
        elena,
        marco,
        clinica,
    }
}
