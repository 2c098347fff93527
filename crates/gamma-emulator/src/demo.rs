//! About a minute of realistic traffic for `ringside-hub demo`, with the
//! numbers of the demo address book.

use std::time::Duration;

use crate::scenario::{Scenario, ScenarioBuilder};

/// The extension the demo agent sits at.
pub const DEMO_AGENT_EXTENSION: u32 = 203;

fn secs(s: u64) -> Duration {
    Duration::from_secs(s)
}

/// The demo's scenarios, to play in order, stamped from `start_ms`. Call
/// ids are derived from `start_ms`, so a new script built for each loop
/// never reuses one.
pub fn demo_script(start_ms: i64) -> Vec<Scenario> {
    let agent = DEMO_AGENT_EXTENSION;
    let id = |n: i64| (start_ms + n).to_string();
    let mut b = ScenarioBuilder::new(start_ms);
    let lucia = id(0);
    let answered =
        b.wait(secs(1))
            .incoming_answered(&lucia, "+34647460197", agent, secs(4), secs(12), true);
    let recording = b.wait(secs(3)).recording_available(
        &lucia,
        &format!("https://recordings.gamma.example/{lucia}.mp3"),
    );
    let transcript = b.wait(secs(2)).transcription_available(
        &lucia,
        &[
            ("Buenos días, Tony Manero al habla.", secs(3)),
            (
                "Hola Tony, soy Lucía Fernández. Llamo por el presupuesto de la renovación.",
                secs(8),
            ),
            ("Claro, se lo envío hoy mismo por correo.", secs(11)),
            ("Perfecto, muchas gracias. Hasta luego.", secs(13)),
        ],
    );
    vec![
        answered.then(recording).then(transcript),
        b.wait(secs(2))
            .incoming_missed(&id(1), "+34911234567", agent, secs(6)),
        b.wait(secs(2))
            .outgoing_answered(&id(2), agent, "+34933456789", secs(3), secs(6)),
        b.wait(secs(2))
            .transfer(&id(3), "+442079460958", agent, 301, secs(3), secs(5)),
        b.wait(secs(2))
            .incoming_missed(&id(4), "+34600111222", agent, secs(5)),
        b.wait(secs(2))
            .anonymous(&id(5), agent, secs(3), Some(secs(4))),
        b.wait(secs(2))
            .app_data(&id(6), "+34911234567", 9204, "435267232"),
    ]
}
