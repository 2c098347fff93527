//! With `--features ts`: the declarations the desktop's bindings are made of.
#![cfg(feature = "ts")]

use ringside_api::*;
use ts_rs::TS;

#[test]
fn declarations_name_the_core_types() {
    let cfg = ts_rs::Config::default();
    for decl in [
        Me::decl(&cfg),
        CallQuery::decl(&cfg),
        CallPage::decl(&cfg),
        CallDetail::decl(&cfg),
        CallEvent::decl(&cfg),
        CallUpdate::decl(&cfg),
        NotesBody::decl(&cfg),
        ContactsQuery::decl(&cfg),
        NewContact::decl(&cfg),
        NumberInfo::decl(&cfg),
        HubStatus::decl(&cfg),
        PbxStatus::decl(&cfg),
        PbxState::decl(&cfg),
        ErrorBody::decl(&cfg),
    ] {
        println!("{decl}");
    }
}
