use crate::{book, count};

#[test]
fn load_demo_is_idempotent() {
    let (dir, book) = book();
    let n = book.load_demo().unwrap();
    assert!((11..=15).contains(&n), "{n}");
    assert_eq!(book.contact_count().unwrap(), n as u64);
    assert_eq!(book.load_demo().unwrap(), 0);
    assert_eq!(book.contact_count().unwrap(), n as u64);
    assert_eq!(
        count(
            &dir,
            "SELECT COUNT(*) FROM deals WHERE name = 'Piloto 2025' AND open = 0"
        ),
        1
    );
    // Every demo phone parsed to E.164 with the default plan.
    assert_eq!(
        count(&dir, "SELECT COUNT(*) FROM phones WHERE e164 IS NULL"),
        0
    );
}

#[test]
fn demo_survives_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("book.sqlite");
    let plan = ringside_core::NumberPlan::default();
    let n = ringside_addressbook::AddressBook::open(&path, plan.clone())
        .unwrap()
        .load_demo()
        .unwrap();
    let book = ringside_addressbook::AddressBook::open(&path, plan).unwrap();
    assert_eq!(book.contact_count().unwrap(), n as u64);
    assert_eq!(book.load_demo().unwrap(), 0);
}
