use crate::demo_book;

fn names(book: &ringside_addressbook::AddressBook, query: &str) -> Vec<String> {
    book.search(query, 20)
        .unwrap()
        .into_iter()
        .map(|c| c.name)
        .collect()
}

#[test]
fn search_as_you_type() {
    let (_dir, book) = demo_book();
    let cases: &[(&str, &[&str])] = &[
        ("luc", &["Lucía Fernández"]),
        ("lucia", &["Lucía Fernández"]),
        ("LUCÍA", &["Lucía Fernández"]),
        ("fernandez lu", &["Lucía Fernández"]),
        ("mar azul", &["Lucía Fernández"]),
        ("46019", &["Lucía Fernández"]),
        ("647 460", &["Lucía Fernández"]),
        ("+34 647", &["Lucía Fernández"]),
        ("911234", &["Javier Ortega"]),
        ("logistica", &["Javier Ortega"]),
        (
            "clinica",
            &["Dra. Marta Puig", "Recepción Clínica Diagonal"],
        ),
        ("marta", &["Dra. Marta Puig"]),
        ("bennettco.example", &["Oliver Bennett"]),
        ("100%", &[]),
        ("zzz", &[]),
    ];
    for (query, want) in cases {
        assert_eq!(names(&book, query), *want, "{query:?}");
    }
}

#[test]
fn name_prefix_first_and_limit() {
    let (_dir, book) = demo_book();
    let all = names(&book, "mar");
    assert!(all.len() >= 3, "{all:?}");
    assert_eq!(book.search("mar", 2).unwrap().len(), 2);
    assert_eq!(names(&book, "oli")[0], "Oliver Bennett");
    assert_eq!(book.search("", 5).unwrap().len(), 5);
}
