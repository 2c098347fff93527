use ringside_core::{ContactLookup, NumberPlan};

use crate::{book, demo_book, person};

fn names(book: &ringside_addressbook::AddressBook, raw: &str) -> Vec<String> {
    let v = NumberPlan::default().variants(raw);
    book.lookup_blocking(&v)
        .unwrap()
        .into_iter()
        .map(|m| m.contact.name)
        .collect()
}

/// Every number form the demo PBX sends, and what it must find.
#[test]
fn seed_number_forms() {
    let (_dir, book) = demo_book();
    let cases: &[(&str, &[&str])] = &[
        ("+34647460197", &["Lucía Fernández"]),
        ("0647460197", &["Lucía Fernández"]),
        ("00647460197", &["Lucía Fernández"]),
        ("+340647460197", &["Lucía Fernández"]),
        ("647460197", &["Lucía Fernández"]),
        ("anonymous", &[]),
        ("203", &[]),
        ("+34911234567", &["Javier Ortega"]),
        ("0911234567", &["Javier Ortega"]),
        (
            "+34 933 456 789",
            &["Recepción Clínica Diagonal", "Dra. Marta Puig"],
        ),
        (
            "0933456789",
            &["Recepción Clínica Diagonal", "Dra. Marta Puig"],
        ),
        ("0699888777", &["Dra. Marta Puig"]),
        ("+442079460958", &["Oliver Bennett"]),
        ("0 0044 20 7946 0958", &["Oliver Bennett"]),
        ("+34600111222", &[]),
        ("0600111222", &[]),
        ("+34647460198", &[]),
    ];
    for (raw, want) in cases {
        assert_eq!(names(&book, raw), *want, "{raw}");
    }
}

#[test]
fn open_deals_only_by_close_date() {
    let (_dir, book) = demo_book();
    let matches = book
        .lookup_blocking(&NumberPlan::default().variants("+34647460197"))
        .unwrap();
    let deals: Vec<(&str, &str, Option<&str>, &str)> = matches[0]
        .deals
        .iter()
        .map(|d| {
            (
                d.name.as_str(),
                d.stage.as_str(),
                d.amount.as_deref(),
                d.currency.as_deref().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        deals,
        [
            (
                "Renovación centralita 2027",
                "Negotiation",
                Some("12500.00"),
                "EUR"
            ),
            (
                "Ampliación 20 extensiones",
                "Proposal",
                Some("4800.00"),
                "EUR"
            ),
        ]
    );
    assert!(matches[0].deals.iter().all(|d| d.open));
    assert_eq!(
        matches[0].deals[0].close_date,
        chrono::NaiveDate::from_ymd_opt(2026, 12, 15)
    );
}

#[test]
fn multi_match_carries_each_contacts_deals() {
    let (_dir, book) = demo_book();
    let matches = book
        .lookup_blocking(&NumberPlan::default().variants("+34933456789"))
        .unwrap();
    assert_eq!(matches.len(), 2);
    assert!(matches[0].deals.is_empty());
    assert_eq!(matches[1].deals[0].name, "Centralita clínica");
    assert_eq!(matches[1].deals[0].amount.as_deref(), Some("15800.00"));
}

/// Numbers that do not parse are matched by their last digits; every
/// national or last-digits hit is re-verified against the stored number.
#[test]
fn national_and_last_digits_are_verified() {
    let (_dir, book) = book();
    // Too long to be valid: stored raw, reachable only by its digits.
    book.add_contact(&person("Odd Number", "7541763052569"))
        .unwrap();
    book.add_contact(&person("Extension Owner", "203")).unwrap();
    book.add_contact(&person("Madrid", "+34 911 763 052"))
        .unwrap();
    let french = NumberPlan::default().variants("+33 9 11 76 30 52");
    assert_eq!(
        french.national.as_deref(),
        Some("911763052"),
        "same national digits as Madrid"
    );
    let cases: &[(&str, &[&str])] = &[
        ("7541763052569", &["Odd Number"]),
        ("203", &["Extension Owner"]),
        ("0911763052", &["Madrid"]),
        ("+33 9 11 76 30 52", &[]),
        // A short unparseable number is too weak to match by its tail.
        ("63052569", &[]),
    ];
    for (raw, want) in cases {
        assert_eq!(names(&book, raw), *want, "{raw}");
    }
}

#[tokio::test]
async fn contact_lookup_trait() {
    let (_dir, book) = demo_book();
    assert_eq!(book.system(), "local");
    let found = book
        .lookup(&NumberPlan::default().variants("91 123 45 67"))
        .await
        .unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].contact.name, "Javier Ortega");
    assert_eq!(found[0].deals[0].name, "Flota 2027");
    assert_eq!(found[0].deals[0].source.system, "local");
}
