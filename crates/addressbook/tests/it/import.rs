use std::fs::File;

use ringside_addressbook::{AddressBook, RowError};
use ringside_core::{ErrorKind, NumberPlan};

use crate::{book, count, fixture};

fn errors(list: &[(usize, &str)]) -> Vec<RowError> {
    list.iter()
        .map(|(line, message)| RowError {
            line: *line,
            message: message.to_string(),
        })
        .collect()
}

fn found(book: &AddressBook, number: &str) -> Vec<String> {
    book.lookup_blocking(&NumberPlan::default().variants(number))
        .unwrap()
        .into_iter()
        .map(|m| m.contact.name)
        .collect()
}

#[test]
fn good_csv() {
    let (_dir, book) = book();
    let report = book
        .import_csv(File::open(fixture("contacts.csv")).unwrap())
        .unwrap();
    assert_eq!((report.imported, report.errors), (3, vec![]));
    let ana = book
        .lookup_blocking(&NumberPlan::default().variants("0912000111"))
        .unwrap();
    let ana = &ana[0];
    assert_eq!(ana.contact.company.as_ref().unwrap().name, "Hotel Sol");
    assert_eq!(ana.contact.notes.as_deref(), Some("Prefers mornings"));
    assert_eq!(ana.deals[0].name, "Centralita hotel");
    assert_eq!(ana.deals[0].amount.as_deref(), Some("5400.00"));
    assert_eq!(
        ana.deals[0].close_date,
        chrono::NaiveDate::from_ymd_opt(2026, 11, 30)
    );
    // Two numbers in one cell, both labelled from the column.
    let bruno = book.search("bruno", 5).unwrap();
    let phones: Vec<(Option<&str>, Option<&str>)> = bruno[0]
        .phones
        .iter()
        .map(|p| (p.label.as_deref(), p.e164.as_deref()))
        .collect();
    assert_eq!(
        phones,
        [
            (Some("mobile"), Some("+34612345678")),
            (Some("mobile"), Some("+34612345679"))
        ]
    );
    // A closed stage makes a closed deal: not shown with the contact.
    let carla = book
        .lookup_blocking(&NumberPlan::default().variants("+34954111222"))
        .unwrap();
    assert_eq!(carla[0].contact.name, "Carla Méndez");
    assert!(carla[0].deals.is_empty());
}

#[test]
fn broken_csv_reports_exact_lines_and_keeps_good_rows() {
    let (dir, book) = book();
    let report = book
        .import_csv(File::open(fixture("broken.csv")).unwrap())
        .unwrap();
    assert_eq!(
        report.errors,
        errors(&[
            (3, "phone \"abc\" is not a phone number"),
            (4, "no name"),
            (5, "wrong number of fields (expected 7, found 2)"),
            (8, "phone \"xyz\" is not a phone number"),
            (9, "amount \"lots\" is not a decimal number like 12500.00"),
        ])
    );
    assert_eq!(report.imported, 3);
    assert_eq!(book.contact_count().unwrap(), 3);
    assert_eq!(found(&book, "+34944444444"), ["Multi\nLine"]);
    assert_eq!(found(&book, "+34977777777"), ["Good Two"]);
    // Rejected rows left nothing behind: no phones, no deals, no companies.
    for number in ["+34955555555", "+34966666666", "+34922222222"] {
        assert!(found(&book, number).is_empty(), "{number}");
    }
    assert_eq!(count(&dir, "SELECT COUNT(*) FROM phones"), 3);
    assert_eq!(count(&dir, "SELECT COUNT(*) FROM deals"), 0);
}

#[test]
fn spanish_csv_with_bom_and_semicolons() {
    let (_dir, book) = book();
    let report = book
        .import_csv(File::open(fixture("spanish.csv")).unwrap())
        .unwrap();
    assert_eq!((report.imported, report.errors), (2, vec![]));
    let maria = &book
        .lookup_blocking(&NumberPlan::default().variants("0912345678"))
        .unwrap()[0];
    assert_eq!(maria.contact.name, "María García López");
    assert_eq!(
        maria.contact.company.as_ref().unwrap().name,
        "Talleres García"
    );
    assert_eq!(
        maria.contact.email.as_deref(),
        Some("maria@talleresgarcia.example")
    );
    assert_eq!(
        maria.contact.notes.as_deref(),
        Some("Cliente desde 2019; muy puntual")
    );
    assert_eq!(maria.contact.phones.len(), 2);
    assert_eq!(maria.contact.phones[1].label.as_deref(), Some("mobile"));
    assert_eq!(found(&book, "+34655444333"), ["José Martín"]);
}

#[test]
fn unusable_files_are_invalid_and_write_nothing() {
    let (_dir, book) = book();
    let binary: Vec<u8> = (0..2048u32).map(|i| (i * 7919 % 251) as u8).collect();
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("binary", binary),
        ("nul bytes", b"name,phone\nA,\0\0\0\n".to_vec()),
        (
            "no name column",
            b"company,phone\nAcme,+34 911 111 111\n".to_vec(),
        ),
        ("empty", Vec::new()),
    ];
    for (what, bytes) in cases {
        let err = book.import_csv(bytes.as_slice()).unwrap_err();
        assert_eq!(err.kind, ErrorKind::Invalid, "{what}: {}", err.message);
        assert!(
            book.import_vcard(bytes.as_slice()).is_err(),
            "{what} as vCard"
        );
    }
    assert_eq!(book.contact_count().unwrap(), 0);
}

#[test]
fn vcard_import() {
    let (_dir, book) = book();
    let report = book
        .import_vcard(File::open(fixture("contacts.vcf")).unwrap())
        .unwrap();
    assert_eq!(
        report.errors,
        errors(&[(12, "phone \"not-a-number\" is not a phone number")])
    );
    assert_eq!(report.imported, 2);
    let marta = &book
        .lookup_blocking(&NumberPlan::default().variants("0699888777"))
        .unwrap()[0];
    let c = &marta.contact;
    assert_eq!(c.name, "Dra. Marta Puig");
    assert_eq!(
        c.company.as_ref().unwrap().name,
        "Clínica Diagonal, Barcelona"
    );
    assert_eq!(c.email.as_deref(), Some("marta@example.com"));
    assert_eq!(
        c.notes.as_deref(),
        Some("Prefiere llamadas, no correos.\nMañanas.")
    );
    let labels: Vec<Option<&str>> = c.phones.iter().map(|p| p.label.as_deref()).collect();
    assert_eq!(labels, [Some("work"), Some("mobile")]);
    assert_eq!(found(&book, "+442079460958"), ["Oliver Bennett"]);
}

#[test]
fn vcard_card_errors() {
    let (_dir, book) = book();
    let text = "\
BEGIN:VCARD
VERSION:3.0
N:;;;;
TEL:+34 911 111 111
END:VCARD
BEGIN:VCARD
FN:No Contact Means
NOTE:nothing to call
END:VCARD
BEGIN:VCARD
FN:Good One
EMAIL:good@example.com
END:VCARD
BEGIN:VCARD
FN:Cut Short
TEL:+34 922 222 222
BEGIN:VCARD
FN:Last Card
TEL:+34 933 333 333
";
    let report = book.import_vcard(text.as_bytes()).unwrap();
    assert_eq!(
        report.errors,
        errors(&[
            (1, "no name (FN or N)"),
            (6, "no TEL or EMAIL"),
            (14, "card is not terminated (no END:VCARD)"),
            (17, "card is not terminated (no END:VCARD)"),
        ])
    );
    assert_eq!(report.imported, 1);
    assert_eq!(book.contact_count().unwrap(), 1);
}
