use chrono::{NaiveDate, TimeZone, Utc};
use ringside_addressbook::{AddressBook, NewContact, NewDeal, NewPhone};
use ringside_core::{ErrorKind, ManualClock, NumberPlan};
use std::sync::Arc;

use crate::{book, count, person};

fn deal(contact_id: &str, name: &str, open: bool) -> NewDeal {
    NewDeal {
        contact_id: contact_id.into(),
        name: name.into(),
        stage: "Proposal".into(),
        amount: Some("12500.00".into()),
        currency: Some("eur".into()),
        close_date: NaiveDate::from_ymd_opt(2026, 12, 15),
        open,
    }
}

#[test]
fn add_read_update_delete() {
    let (dir, book) = book();
    let start = Utc.with_ymd_and_hms(2026, 3, 1, 9, 0, 0).unwrap();
    let clock = Arc::new(ManualClock::new(start));
    let book = book.with_clock(clock.clone());
    let added = book
        .add_contact(&NewContact {
            name: "  Lucía Fernández ".into(),
            company: Some("Mar Azul Hoteles S.L.".into()),
            phones: vec![
                NewPhone::new(Some("Mobile"), "+34 647 460 197"),
                NewPhone::new(None, "203"),
            ],
            email: Some("lucia@marazul.example".into()),
            notes: Some("VIP".into()),
        })
        .unwrap();
    let id = added.source.id.clone();
    assert_eq!(added.name, "Lucía Fernández");
    assert_eq!(added.source.system, "local");
    assert_eq!(
        added.source.url.as_deref(),
        Some(format!("ringside://contacts/{id}").as_str())
    );
    let company = added.company.as_ref().unwrap();
    assert_eq!(company.name, "Mar Azul Hoteles S.L.");
    assert_eq!(
        company.source.url.as_deref(),
        Some(format!("ringside://companies/{}", company.source.id).as_str())
    );
    assert_eq!(added.phones[0].label.as_deref(), Some("mobile"));
    assert_eq!(added.phones[0].raw, "+34 647 460 197");
    assert_eq!(added.phones[0].e164.as_deref(), Some("+34647460197"));
    assert_eq!(added.phones[1].e164, None);
    assert_eq!(added.updated_at, Some(start));

    let d = book.add_deal(&deal(&id, "Renovación", true)).unwrap();
    assert_eq!(d.currency.as_deref(), Some("EUR"));
    assert_eq!(d.amount.as_deref(), Some("12500.00"));
    assert_eq!(
        d.source.url.as_deref(),
        Some(format!("ringside://deals/{}", d.source.id).as_str())
    );
    book.add_deal(&deal(&id, "Old", false)).unwrap();
    let m = book.contact(&id).unwrap().unwrap();
    assert_eq!(m.contact, added);
    assert_eq!(m.deals, vec![d]);

    let at = Utc.with_ymd_and_hms(2026, 3, 2, 10, 30, 0).unwrap();
    book.add_note(&id, "Called about the renewal", at).unwrap();
    let notes = book.notes(&id).unwrap();
    assert_eq!(
        (notes[0].at, notes[0].text.as_str()),
        (at, "Called about the renewal")
    );

    clock.advance(chrono::Duration::hours(1));
    let updated = book
        .update_contact(&id, &person("Lucía F.", "0647460197"))
        .unwrap();
    assert_eq!(updated.source.id, id);
    assert_eq!(updated.company, None);
    assert_eq!(updated.phones.len(), 1);
    assert_eq!(updated.updated_at, Some(start + chrono::Duration::hours(1)));
    assert_eq!(
        book.contact(&id).unwrap().unwrap().deals.len(),
        1,
        "deals survive an update"
    );
    assert_eq!(book.contact_count().unwrap(), 1);

    book.delete_contact(&id).unwrap();
    assert_eq!(book.contact(&id).unwrap(), None);
    assert_eq!(book.contact_count().unwrap(), 0);
    for table in ["phones", "deals", "notes"] {
        assert_eq!(
            count(&dir, &format!("SELECT COUNT(*) FROM {table}")),
            0,
            "{table} cascade"
        );
    }
}

#[test]
fn companies_are_shared_by_folded_name() {
    let (_dir, book) = book();
    let mut a = person("A", "+34 911 111 111");
    a.company = Some("Clínica Diagonal".into());
    let mut b = person("B", "+34 922 222 222");
    b.company = Some("CLINICA DIAGONAL".into());
    let a = book.add_contact(&a).unwrap();
    let b = book.add_contact(&b).unwrap();
    assert_eq!(a.company.unwrap().source.id, b.company.unwrap().source.id);
}

#[test]
fn validation_errors_are_invalid() {
    let (_dir, book) = book();
    let cases = [
        (person("   ", "+34 647 460 197"), "no name"),
        (
            NewContact {
                name: "No Way".into(),
                ..NewContact::default()
            },
            "no phone number or email",
        ),
        (
            person("Letters", "abc"),
            "phone \"abc\" is not a phone number",
        ),
        (
            person("Anon", "anonymous"),
            "phone \"anonymous\" is not a phone number",
        ),
        (
            NewContact {
                name: "Bad Mail".into(),
                email: Some("nope".into()),
                ..NewContact::default()
            },
            "email \"nope\" is not an email address",
        ),
    ];
    for (contact, message) in cases {
        let err = book.add_contact(&contact).unwrap_err();
        assert_eq!(
            (err.kind, err.message.as_str()),
            (ErrorKind::Invalid, message)
        );
    }
    let only_email = NewContact {
        name: "Mail Only".into(),
        email: Some("m@x.example".into()),
        ..NewContact::default()
    };
    let id = book.add_contact(&only_email).unwrap().source.id;

    let mut bad = deal(&id, "X", true);
    bad.amount = Some("12,500".into());
    assert_eq!(book.add_deal(&bad).unwrap_err().kind, ErrorKind::Invalid);
    let mut bad = deal(&id, "X", true);
    bad.currency = Some("EURO".into());
    assert_eq!(book.add_deal(&bad).unwrap_err().kind, ErrorKind::Invalid);
    let mut bad = deal(&id, "X", true);
    bad.stage = " ".into();
    assert_eq!(book.add_deal(&bad).unwrap_err().kind, ErrorKind::Invalid);
    assert_eq!(
        book.add_note(&id, "  ", Utc::now()).unwrap_err().kind,
        ErrorKind::Invalid
    );
    assert_eq!(book.contact_count().unwrap(), 1);
}

#[test]
fn missing_contacts_are_not_found() {
    let (_dir, book) = book();
    assert_eq!(book.contact("42").unwrap(), None);
    assert_eq!(book.contact("not-an-id").unwrap(), None);
    for id in ["42", "not-an-id"] {
        assert_eq!(
            book.delete_contact(id).unwrap_err().kind,
            ErrorKind::NotFound
        );
        assert_eq!(
            book.update_contact(id, &person("X", "+34 911 111 111"))
                .unwrap_err()
                .kind,
            ErrorKind::NotFound
        );
        assert_eq!(
            book.add_deal(&deal(id, "X", true)).unwrap_err().kind,
            ErrorKind::NotFound
        );
        assert_eq!(
            book.add_note(id, "hi", Utc::now()).unwrap_err().kind,
            ErrorKind::NotFound
        );
    }
}

#[test]
fn reopen_keeps_data_and_creates_parent_dirs() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("nested/deeper/book.sqlite");
    let id = {
        let book = AddressBook::open(&path, NumberPlan::default()).unwrap();
        book.add_contact(&person("Kept", "+34 647 460 197"))
            .unwrap()
            .source
            .id
    };
    let book = AddressBook::open(&path, NumberPlan::default()).unwrap();
    assert_eq!(book.contact(&id).unwrap().unwrap().contact.name, "Kept");
}

#[test]
fn open_failure_is_storage_with_the_path() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("a-file");
    std::fs::write(&file, b"x").unwrap();
    let path = file.join("book.sqlite");
    let err = AddressBook::open(&path, NumberPlan::default()).unwrap_err();
    assert_eq!(err.kind, ErrorKind::Storage);
    assert!(
        err.message.contains(&path.display().to_string()),
        "{}",
        err.message
    );

    let not_sqlite = dir.path().join("garbage.sqlite");
    std::fs::write(&not_sqlite, vec![7u8; 4096]).unwrap();
    let err = AddressBook::open(&not_sqlite, NumberPlan::default()).unwrap_err();
    assert_eq!(err.kind, ErrorKind::Storage);
}
