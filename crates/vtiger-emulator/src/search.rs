//! Search by Number (`Search.php`) and a stand-in for the CRM's web UI
//! (`index.php`).
//!
//! Vendor doc: the API "will open the Contact/Lead/Organization record that
//! has the matching number"; with no match the user "is prompted to create
//! the new Contact record". Contracts notes §2.2 [3P]: the path and the
//! `phone_number` parameter. Inferred: the 302 redirects and their
//! `index.php?module=…&view=Detail&record=N` / `view=Edit&phone=…` targets
//! (Vtiger's usual UI URLs), the digit-suffix matching, the search order
//! (Contacts, then Leads, then Accounts) and that no browser login is
//! checked.

use crate::server::{Incoming, Reply, Shared};
use crate::store::{Module, parse_id, phone_matches};

/// The path of Search by Number.
pub const SEARCH_PATH: &str = "/modules/PhoneCalls/callbacks/Search.php";

/// The path of the (stand-in) web UI.
pub const INDEX_PATH: &str = "/index.php";

const SEARCHED: [Module; 3] = [Module::Contacts, Module::Leads, Module::Accounts];

fn encode(pairs: &[(&str, &str)]) -> String {
    let mut serializer = form_urlencoded::Serializer::new(String::new());
    for (k, v) in pairs {
        serializer.append_pair(k, v);
    }
    serializer.finish()
}

/// Serves `Search.php?phone_number=…`.
pub(crate) fn handle_search(shared: &Shared, incoming: &Incoming) -> Reply {
    let Some(number) = incoming
        .query_param("phone_number")
        .filter(|n| !n.trim().is_empty())
    else {
        return Reply::error(
            400,
            "MANDATORY_FIELDS_MISSING",
            "Mandatory parameter missing: phone_number",
        );
    };
    let state = shared.lock();
    for module in SEARCHED {
        let hit = state.store.rows(module).into_iter().find(|row| {
            module
                .phone_fields()
                .iter()
                .any(|f| phone_matches(&row[*f], number))
        });
        if let Some(row) = hit {
            let record = row["id"].split_once('x').map(|(_, n)| n).unwrap_or("");
            return Reply::redirect(format!(
                "{INDEX_PATH}?{}",
                encode(&[
                    ("module", module.name()),
                    ("view", "Detail"),
                    ("record", record)
                ])
            ));
        }
    }
    Reply::redirect(format!(
        "{INDEX_PATH}?{}",
        encode(&[("module", "Contacts"), ("view", "Edit"), ("phone", number)])
    ))
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// Serves `index.php?module=…&view=…`: a tiny page naming what it shows,
/// with `data-*` attributes a test can read.
pub(crate) fn handle_index(shared: &Shared, incoming: &Incoming) -> Reply {
    let module = incoming.query_param("module").unwrap_or("");
    let view = incoming.query_param("view").unwrap_or("");
    let Some(m) = Module::from_name(module) else {
        return Reply::html(
            404,
            "<html><body><h1>Unknown module</h1></body></html>".into(),
        );
    };
    match view {
        "Detail" => {
            let record = incoming.query_param("record").unwrap_or("");
            let id = format!("{}x{record}", m.type_id());
            let row = parse_id(&id)
                .ok()
                .and_then(|_| shared.lock().store.get(&id).ok());
            let Some(row) = row else {
                return Reply::html(
                    404,
                    format!(
                        "<html><body><h1>Record not found</h1><p data-id=\"{}\"></p></body></html>",
                        escape(&id)
                    ),
                );
            };
            let label = match m {
                Module::Contacts | Module::Leads => {
                    format!("{} {}", row["firstname"], row["lastname"])
                }
                Module::Accounts => row["accountname"].clone(),
                Module::Potentials => row["potentialname"].clone(),
                Module::Users => format!("{} {}", row["first_name"], row["last_name"]),
                Module::PhoneCalls => row["sourceuuid"].clone(),
            };
            Reply::html(
                200,
                format!(
                    "<html><head><title>{module} {id}</title></head><body>\
                     <h1 data-module=\"{module}\" data-view=\"Detail\" data-id=\"{id}\">\
                     {module} {id}: {label}</h1></body></html>",
                    module = escape(module),
                    id = escape(&id),
                    label = escape(label.trim()),
                ),
            )
        }
        "Edit" => {
            let phone = incoming.query_param("phone").unwrap_or("");
            Reply::html(
                200,
                format!(
                    "<html><head><title>New {module}</title></head><body>\
                     <h1 data-module=\"{module}\" data-view=\"Edit\" data-phone=\"{phone}\">\
                     Create {module} with phone {phone}</h1></body></html>",
                    module = escape(module),
                    phone = escape(phone),
                ),
            )
        }
        _ => Reply::html(
            404,
            "<html><body><h1>Unknown view</h1></body></html>".into(),
        ),
    }
}
