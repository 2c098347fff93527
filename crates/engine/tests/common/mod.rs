//! A real engine for tests: SQLite journal and address book in a temp dir, the
//! Gamma emulator as the PBX, a manual clock.

#![allow(dead_code)]

use std::sync::Arc;

use chrono::{TimeZone, Utc};
use ringside_addressbook::AddressBook;
use ringside_core::{ManualClock, Sensitive};
use ringside_engine::{Engine, EngineConfig, IncomingEvent};
use ringside_gamma::GammaClient;
use ringside_gamma_emulator::{Emulator, EmulatorConfig, EmulatorHandle};
use ringside_journal::Journal;

pub struct Harness {
    pub engine: Engine,
    pub clock: Arc<ManualClock>,
    pub emulator: EmulatorHandle,
    pub book: AddressBook,
    pub dir: tempfile::TempDir,
}

pub async fn harness() -> Harness {
    let dir = tempfile::tempdir().unwrap();
    let config = EngineConfig::default();
    let journal = Journal::open(&dir.path().join("journal.sqlite")).unwrap();
    let book = AddressBook::open(&dir.path().join("contacts.sqlite"), config.plan.clone()).unwrap();
    book.load_demo().unwrap();
    let emulator = Emulator::start(EmulatorConfig::default()).await.unwrap();
    let key = EmulatorConfig::default().api_key;
    let pbx = GammaClient::new(&emulator.base_url(), Sensitive::new(key)).unwrap();
    let clock = Arc::new(ManualClock::new(
        Utc.with_ymd_and_hms(2026, 11, 22, 9, 0, 0).unwrap(),
    ));
    let engine = Engine::new(
        config,
        journal,
        Arc::new(book.clone()),
        Arc::new(pbx),
        clock.clone(),
    );
    Harness {
        engine,
        clock,
        emulator,
        book,
        dir,
    }
}

/// Parse one Gamma body and ingest it, as the webhook does.
pub async fn ingest(engine: &Engine, body: &str) -> ringside_engine::Ingested {
    ingest_with(engine, body, None).await
}

pub async fn ingest_with(
    engine: &Engine,
    body: &str,
    external: Option<&str>,
) -> ringside_engine::Ingested {
    let event = ringside_gamma::parse_event(body.as_bytes(), external).unwrap();
    engine
        .ingest(IncomingEvent {
            event,
            body: body.to_string(),
            source_ip: Some("127.0.0.1".into()),
        })
        .await
        .unwrap()
}

/// Every event of every seed scenario, in document order.
pub fn seed_bodies() -> Vec<String> {
    ringside_gamma::seed::all()
        .into_iter()
        .flat_map(|(_, scenario)| ringside_gamma::seed::bodies(scenario).unwrap())
        .collect()
}
