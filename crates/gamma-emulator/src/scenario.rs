//! Scripted event sequences in the vendor's exact shape, stamped from a
//! base instant: answered and missed calls both ways, transfers, hidden
//! callers, internal calls and the informative events (recording,
//! transcription, IVR data).

use std::time::Duration;

use serde_json::{Value, json};

use crate::events::{Displayed, Leg, Origin, leg_id, ms};

/// A named sequence of events to play to the callback.
#[derive(Debug, Clone, PartialEq)]
pub struct Scenario {
    /// What it shows, e.g. "incoming answered at 203".
    pub name: String,
    /// The events, each after its delay.
    pub steps: Vec<Step>,
}

/// One event of a scenario.
#[derive(Debug, Clone, PartialEq)]
pub struct Step {
    /// How long to wait after the previous step (at speed 1).
    pub delay: Duration,
    /// The event body.
    pub event: Value,
}

impl Scenario {
    /// This scenario followed by `next` (names joined with " + ").
    pub fn then(mut self, next: Scenario) -> Scenario {
        self.name = format!("{} + {}", self.name, next.name);
        self.steps.extend(next.steps);
        self
    }

    /// How long it takes to play at speed 1.
    pub fn duration(&self) -> Duration {
        self.steps.iter().map(|s| s.delay).sum()
    }

    /// The events alone, in order.
    pub fn events(&self) -> Vec<&Value> {
        self.steps.iter().map(|s| &s.event).collect()
    }
}

/// The number a caller dialled to reach an extension (its direct line).
pub fn direct_line(extension: u32) -> String {
    format!("9100{extension:05}")
}

/// Builds scenarios on one timeline: each event is stamped with the
/// builder's clock, which advances by the event's delay, so scenarios built
/// one after another and played in order carry consistent timestamps.
#[derive(Debug, Clone)]
pub struct ScenarioBuilder {
    clock_ms: i64,
    gap: Duration,
    next_line: u64,
}

impl ScenarioBuilder {
    /// A timeline starting at `start_ms` (Unix milliseconds).
    pub fn new(start_ms: i64) -> Self {
        Self {
            clock_ms: start_ms,
            gap: Duration::ZERO,
            next_line: 700_000 + start_ms.rem_euclid(100_000) as u64,
        }
    }

    /// The timeline's current instant (Unix milliseconds).
    pub fn now_ms(&self) -> i64 {
        self.clock_ms
    }

    /// Adds a pause before the next event built.
    pub fn wait(&mut self, pause: Duration) -> &mut Self {
        self.gap += pause;
        self
    }

    /// Advances the clock; returns the step delay and the new instant.
    fn tick(&mut self, after: Duration) -> (Duration, i64) {
        let delay = self.gap + after;
        self.gap = Duration::ZERO;
        self.clock_ms += i64::try_from(delay.as_millis()).unwrap_or(i64::MAX / 2);
        (delay, self.clock_ms)
    }

    fn step(&mut self, after: Duration, event: impl FnOnce(i64) -> Value) -> Step {
        let (delay, now) = self.tick(after);
        Step {
            delay,
            event: event(now),
        }
    }

    fn new_leg_id(&mut self) -> String {
        self.next_line += 1;
        leg_id(self.clock_ms + self.gap.as_millis() as i64, self.next_line)
    }

    fn inbound(
        &mut self,
        call_id: &str,
        caller: Displayed,
        extension: u32,
        recorded: bool,
        dialed: String,
    ) -> Leg {
        Leg {
            call_id: call_id.to_owned(),
            leg_id: self.new_leg_id(),
            extension,
            incoming: true,
            recording: recorded,
            first: Origin {
                from: caller.number.clone(),
                to: extension.to_string(),
                incoming: true,
                call_id: call_id.to_owned(),
            },
            displayed: caller,
            original: None,
            original_dialed: dialed,
        }
    }

    fn outbound(&mut self, call_id: &str, extension: u32, number: &str) -> Leg {
        let callee = Displayed::outside(number);
        Leg {
            call_id: call_id.to_owned(),
            leg_id: self.new_leg_id(),
            extension,
            incoming: false,
            recording: false,
            first: Origin {
                from: extension.to_string(),
                to: callee.number.clone(),
                incoming: false,
                call_id: call_id.to_owned(),
            },
            original_dialed: callee.number.clone(),
            displayed: callee,
            original: None,
        }
    }

    /// `ringing`, then `talking` after `ring`, then `dropped` after `talk`
    /// (answered), or `dropped` after `ring` with `lastModificationTime`
    /// (missed), as in the vendor's examples.
    fn ring_and_end(
        &mut self,
        leg: &Leg,
        ring_state: &str,
        ring: Duration,
        talk: Option<Duration>,
    ) -> Vec<Step> {
        let mut steps =
            vec![self.step(Duration::ZERO, |t| leg.event(ring_state, "causeNormal", t))];
        match talk {
            Some(talk) => {
                steps.push(self.step(ring, |t| leg.event("talking", "causeNormal", t)));
                steps.push(self.step(talk, |t| leg.event("dropped", "causeNormal", t)));
            }
            None => steps.push(self.step(ring, |t| missed_drop(leg, t))),
        }
        steps
    }

    /// An outside caller (E.164 or national) rings `extension`, which
    /// answers after `ring` and talks for `talk`.
    pub fn incoming_answered(
        &mut self,
        call_id: &str,
        number: &str,
        extension: u32,
        ring: Duration,
        talk: Duration,
        recorded: bool,
    ) -> Scenario {
        let leg = self.inbound(
            call_id,
            Displayed::outside(number),
            extension,
            recorded,
            direct_line(extension),
        );
        let steps = self.ring_and_end(&leg, "ringing", ring, Some(talk));
        named(format!("incoming {number} answered at {extension}"), steps)
    }

    /// An outside caller rings `extension` and hangs up after `ring`.
    pub fn incoming_missed(
        &mut self,
        call_id: &str,
        number: &str,
        extension: u32,
        ring: Duration,
    ) -> Scenario {
        let leg = self.inbound(
            call_id,
            Displayed::outside(number),
            extension,
            false,
            direct_line(extension),
        );
        let steps = self.ring_and_end(&leg, "ringing", ring, None);
        named(format!("incoming {number} missed at {extension}"), steps)
    }

    /// A caller with a hidden number (`displayedNumber` "anonymous") rings
    /// `extension`; answered when `talk` is given, else missed.
    pub fn anonymous(
        &mut self,
        call_id: &str,
        extension: u32,
        ring: Duration,
        talk: Option<Duration>,
    ) -> Scenario {
        let leg = self.inbound(
            call_id,
            Displayed::anonymous(),
            extension,
            false,
            direct_line(extension),
        );
        let steps = self.ring_and_end(&leg, "ringing", ring, talk);
        named(format!("anonymous caller at {extension}"), steps)
    }

    /// An internal call: only the receiving extension is reported, as an
    /// incoming call from `from_extension`.
    pub fn internal(
        &mut self,
        call_id: &str,
        from_extension: u32,
        to_extension: u32,
        ring: Duration,
        talk: Option<Duration>,
    ) -> Scenario {
        let caller = Displayed::extension(from_extension);
        let leg = self.inbound(
            call_id,
            caller,
            to_extension,
            false,
            to_extension.to_string(),
        );
        let steps = self.ring_and_end(&leg, "ringing", ring, talk);
        named(
            format!("internal {from_extension} to {to_extension}"),
            steps,
        )
    }

    /// `extension` calls an outside number: `alerting`, `talking` after
    /// `ring`, `dropped` after `talk`.
    pub fn outgoing_answered(
        &mut self,
        call_id: &str,
        extension: u32,
        number: &str,
        ring: Duration,
        talk: Duration,
    ) -> Scenario {
        let leg = self.outbound(call_id, extension, number);
        let steps = self.ring_and_end(&leg, "alerting", ring, Some(talk));
        named(format!("outgoing {extension} to {number} answered"), steps)
    }

    /// `extension` calls an outside number nobody answers and gives up after
    /// `ring` (the drop carries `lineId`, as in the vendor's example).
    pub fn outgoing_unanswered(
        &mut self,
        call_id: &str,
        extension: u32,
        number: &str,
        ring: Duration,
    ) -> Scenario {
        let leg = self.outbound(call_id, extension, number);
        let line = leg
            .leg_id
            .split_once('.')
            .map(|(_, l)| l.to_owned())
            .unwrap_or_default();
        let steps = vec![
            self.step(Duration::ZERO, |t| leg.event("alerting", "causeNormal", t)),
            self.step(ring, |t| {
                let mut event = leg.event("dropped", "causeNormal", t);
                if let Some(map) = event.as_object_mut() {
                    map.insert("lineId".into(), line.clone().into());
                }
                event
            }),
        ];
        named(
            format!("outgoing {extension} to {number} unanswered"),
            steps,
        )
    }

    /// An outside caller answered at `from_extension`, then cold-transferred
    /// to `to_extension`: `dropped`/`causeTransfer` for the first call, then
    /// `<callId>.1` alerting, talking and dropped at the new extension. Both
    /// legs ring for `ring` and talk for `talk`.
    pub fn transfer(
        &mut self,
        call_id: &str,
        number: &str,
        from_extension: u32,
        to_extension: u32,
        ring: Duration,
        talk: Duration,
    ) -> Scenario {
        let first = self.inbound(
            call_id,
            Displayed::outside(number),
            from_extension,
            false,
            direct_line(from_extension),
        );
        let mut steps = vec![
            self.step(Duration::ZERO, |t| first.event("ringing", "causeNormal", t)),
            self.step(ring, |t| first.event("talking", "causeNormal", t)),
            self.step(talk, |t| first.event("dropped", "causeTransfer", t)),
        ];
        let second_id = format!("{}_1", self.new_leg_id());
        let second = first.transferred(to_extension, second_id, to_extension.to_string());
        steps.extend(self.ring_and_end(&second, "alerting", ring, Some(talk)));
        named(
            format!("incoming {number} at {from_extension} transferred to {to_extension}"),
            steps,
        )
    }

    /// The recording of a call is ready: only `callId`, `state`,
    /// `recordingURL` and `stateCause`, as in the vendor's example.
    pub fn recording_available(&mut self, call_id: &str, url: &str) -> Scenario {
        let step = self.step(Duration::ZERO, |_| {
            json!({
                "callId": call_id,
                "state": "recordingAvailable",
                "recordingURL": url,
                "stateCause": "informative",
            })
        });
        named(format!("recording of {call_id}"), vec![step])
    }

    /// The transcription of a call, in the Google Speech shape: one result
    /// per segment (text and the time it ends in the recording).
    pub fn transcription_available(
        &mut self,
        call_id: &str,
        segments: &[(&str, Duration)],
    ) -> Scenario {
        let results: Vec<Value> = segments
            .iter()
            .enumerate()
            .map(|(i, (text, end))| {
                let confidence = 0.86 + (i * 37 % 11) as f64 / 100.0;
                json!({
                    "alternatives": [{"transcript": text, "confidence": confidence}],
                    "resultEndTime": format!("{:.3}s", end.as_secs_f64()),
                })
            })
            .collect();
        let step = self.step(Duration::ZERO, |_| {
            json!({
                "callId": call_id,
                "state": "transcriptionAvailable",
                "transcription": {"results": results},
                "stateCause": "informative",
            })
        });
        named(format!("transcription of {call_id}"), vec![step])
    }

    /// A caller typed `digits` into the IVR at `ivr_extension`
    /// (`appDataAvailable`, shaped like the vendor's example).
    pub fn app_data(
        &mut self,
        call_id: &str,
        number: &str,
        ivr_extension: u32,
        digits: &str,
    ) -> Scenario {
        let mut caller = Displayed::outside(number);
        caller.external = caller.number.clone();
        caller.label = "IncomingVTCRMIvr".to_owned();
        let mut leg = self.inbound(
            call_id,
            caller,
            ivr_extension,
            false,
            direct_line(ivr_extension),
        );
        leg.first.to = leg.original_dialed.clone();
        let step = self.step(Duration::ZERO, |t| {
            let mut event = leg.event("appDataAvailable", "informative", t);
            if let Some(map) = event.as_object_mut() {
                map.insert("appData".into(), digits.into());
            }
            event
        });
        named(format!("IVR data from {number}"), vec![step])
    }
}

/// A missed call's drop: stamped with `lastModificationTime`, as the vendor
/// sends it, instead of `eventTimestamp`.
fn missed_drop(leg: &Leg, at_ms: i64) -> Value {
    let mut map = leg.attributes("dropped", "causeNormal");
    map.insert("lastModificationTime".into(), ms(at_ms).into());
    Value::Object(map)
}

fn named(name: String, steps: Vec<Step>) -> Scenario {
    Scenario { name, steps }
}
