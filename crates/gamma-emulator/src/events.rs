//! The vendor's event shape: every call-state event carries the "Always
//! Present" attributes as strings, the way the PBX sends them.

use serde_json::{Map, Value, json};

/// The outside-line prefix of the emulated PBX.
pub const OUTSIDE_LINE_PREFIX: &str = "0";

/// How the PBX shows a party: `displayedNumber`, `displayedExternalNumber`
/// and `displayedLabel`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Displayed {
    /// As dialled on the PBX, with the outside-line prefix ("0647460197").
    pub number: String,
    /// The long (E.164) form where it is known ("+34647460197").
    pub external: String,
    /// The label ("647460197", "Ext 201", "anonymous").
    pub label: String,
}

impl Displayed {
    /// How an extension is shown ("201", label "Ext 201").
    pub fn extension(extension: u32) -> Self {
        Self {
            number: extension.to_string(),
            external: extension.to_string(),
            label: format!("Ext {extension}"),
        }
    }

    /// How a caller with a hidden number is shown.
    pub fn anonymous() -> Self {
        Self {
            number: "anonymous".to_owned(),
            external: "anonymous".to_owned(),
            label: "anonymous".to_owned(),
        }
    }

    /// How the PBX shows an outside number given as E.164 ("+34647460197",
    /// "+442079460958"), national ("647460197") or already prefixed
    /// ("0647460197", "00442079460958"). Spaces are ignored.
    pub fn outside(number: &str) -> Self {
        let digits: String = number.chars().filter(|c| !c.is_whitespace()).collect();
        let spanish = |national: &str| Self {
            number: format!("{OUTSIDE_LINE_PREFIX}{national}"),
            external: format!("+34{national}"),
            label: national.to_owned(),
        };
        let international = |full: &str| Self {
            number: format!("00{full}"),
            external: format!("+{full}"),
            label: format!("00{full}"),
        };
        let all_digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
        if let Some(full) = digits.strip_prefix('+') {
            match full.strip_prefix("34") {
                Some(national) if national.len() == 9 && all_digits(national) => spanish(national),
                _ => international(full),
            }
        } else if let Some(full) = digits.strip_prefix("00").filter(|f| all_digits(f)) {
            international(full)
        } else if let Some(national) = digits
            .strip_prefix(OUTSIDE_LINE_PREFIX)
            .filter(|n| n.len() == 9 && all_digits(n))
        {
            spanish(national)
        } else if digits.len() == 9 && all_digits(&digits) {
            spanish(&digits)
        } else {
            Self {
                number: digits.clone(),
                external: digits.clone(),
                label: digits,
            }
        }
    }
}

/// One side of a transfer chain: `from`, `to`, direction and call id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin {
    /// The source of that call (as the PBX shows it).
    pub from: String,
    /// The destination of that call.
    pub to: String,
    /// Whether that call was incoming.
    pub incoming: bool,
    /// Its call id.
    pub call_id: String,
}

/// One call leg as the PBX reports it to one extension.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Leg {
    /// `callId` (`<root>.N` after N transfers).
    pub call_id: String,
    /// `callLegId`, e.g. "1542399572160.-703374".
    pub leg_id: String,
    /// The extension that sends or receives the call.
    pub extension: u32,
    /// `isIncoming`.
    pub incoming: bool,
    /// `isRecording`.
    pub recording: bool,
    /// The other party.
    pub displayed: Displayed,
    /// The first call of the transfer chain (`first*`).
    pub first: Origin,
    /// The call this one was transferred from (`original*`), if any.
    pub original: Option<Origin>,
    /// `originalDialedNumber`.
    pub original_dialed: String,
}

/// Formats a millisecond timestamp as the vendor does: a decimal string.
pub fn ms(timestamp_ms: i64) -> String {
    timestamp_ms.to_string()
}

/// A `callLegId` in the vendor's shape: `<ms>.-<line>`.
pub fn leg_id(timestamp_ms: i64, line: u64) -> String {
    format!("{timestamp_ms}.-{line}")
}

fn flag(value: bool) -> Value {
    Value::String(value.to_string())
}

impl Leg {
    /// The attributes every call-state event carries, without any timestamp.
    pub fn attributes(&self, state: &str, cause: &str) -> Map<String, Value> {
        let mut event = json!({
            "callId": self.call_id,
            "callLegId": self.leg_id,
            "displayedExternalNumber": self.displayed.external,
            "displayedLabel": self.displayed.label,
            "displayedNumber": self.displayed.number,
            "isIncoming": flag(self.incoming),
            "isRecording": flag(self.recording),
            "state": state,
            "stateCause": cause,
            "extension": self.extension.to_string(),
            "firstFrom": self.first.from,
            "firstTo": self.first.to,
            "firstIsIncoming": flag(self.first.incoming),
            "firstCallId": self.first.call_id,
            "originalDialedNumber": self.original_dialed,
        });
        if let (Some(original), Some(map)) = (&self.original, event.as_object_mut()) {
            map.insert("originallyFrom".into(), original.from.clone().into());
            map.insert("originallyTo".into(), original.to.clone().into());
            map.insert("originalIsIncoming".into(), flag(original.incoming));
            map.insert("originalCallId".into(), original.call_id.clone().into());
        }
        match event {
            Value::Object(map) => map,
            _ => Map::new(),
        }
    }

    /// A call-state event stamped with `eventTimestamp`.
    pub fn event(&self, state: &str, cause: &str, timestamp_ms: i64) -> Value {
        let mut map = self.attributes(state, cause);
        map.insert("eventTimestamp".into(), ms(timestamp_ms).into());
        Value::Object(map)
    }

    /// The leg that continues this call after a cold transfer to
    /// `extension`: callId `<root>.N+1`, `original*` naming this call and
    /// `first*` kept from the chain. An incoming call keeps showing the
    /// caller; an outgoing one shows the transferring extension (as in the
    /// vendor's transfer example).
    pub fn transferred(&self, extension: u32, leg_id: String, dialed: String) -> Leg {
        let (root, count) = split_transfer(&self.call_id);
        let displayed = if self.incoming {
            self.displayed.clone()
        } else {
            Displayed::extension(self.extension)
        };
        let (from, to) = self.from_to();
        Leg {
            call_id: format!("{root}.{}", count + 1),
            leg_id,
            extension,
            incoming: true,
            recording: self.recording,
            displayed,
            first: self.first.clone(),
            original: Some(Origin {
                from,
                to,
                incoming: self.incoming,
                call_id: self.call_id.clone(),
            }),
            original_dialed: dialed,
        }
    }

    /// Source and destination of this leg as the vendor names them.
    pub fn from_to(&self) -> (String, String) {
        let other = self.displayed.number.clone();
        let own = self.extension.to_string();
        if self.incoming {
            (other, own)
        } else {
            (own, other)
        }
    }
}

impl Leg {
    /// Reads a leg back from a call-state event (for calls a scenario
    /// plays, so `drop` and `redirectIncoming` can act on them).
    pub fn from_event(event: &Value) -> Option<Leg> {
        let text = |key: &str| event.get(key).and_then(Value::as_str).map(str::to_owned);
        let truth = |key: &str| text(key).is_some_and(|v| v == "true");
        let call_id = text("callId")?;
        let displayed = Displayed {
            number: text("displayedNumber").unwrap_or_default(),
            external: text("displayedExternalNumber").unwrap_or_default(),
            label: text("displayedLabel").unwrap_or_default(),
        };
        let original = text("originalCallId").map(|original_id| Origin {
            from: text("originallyFrom").unwrap_or_default(),
            to: text("originallyTo").unwrap_or_default(),
            incoming: truth("originalIsIncoming"),
            call_id: original_id,
        });
        Some(Leg {
            leg_id: text("callLegId").unwrap_or_default(),
            extension: text("extension")?.parse().ok()?,
            incoming: truth("isIncoming"),
            recording: truth("isRecording"),
            first: Origin {
                from: text("firstFrom").unwrap_or_else(|| displayed.number.clone()),
                to: text("firstTo").unwrap_or_default(),
                incoming: truth("firstIsIncoming"),
                call_id: text("firstCallId").unwrap_or_else(|| call_id.clone()),
            },
            displayed,
            original,
            original_dialed: text("originalDialedNumber").unwrap_or_default(),
            call_id,
        })
    }
}

/// Splits "1558393109565.2" into ("1558393109565", 2); a plain id has 0.
pub fn split_transfer(call_id: &str) -> (&str, u32) {
    match call_id.rsplit_once('.') {
        Some((root, n)) => match n.parse() {
            Ok(count) => (root, count),
            Err(_) => (call_id, 0),
        },
        None => (call_id, 0),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outside_numbers_are_shown_as_the_pbx_shows_them() {
        let cases = [
            ("+34647460197", "0647460197", "+34647460197", "647460197"),
            ("+34 647 460 197", "0647460197", "+34647460197", "647460197"),
            ("647460197", "0647460197", "+34647460197", "647460197"),
            ("0647460197", "0647460197", "+34647460197", "647460197"),
            (
                "+44 20 7946 0958",
                "00442079460958",
                "+442079460958",
                "00442079460958",
            ),
            (
                "00442079460958",
                "00442079460958",
                "+442079460958",
                "00442079460958",
            ),
            ("112", "112", "112", "112"),
        ];
        for (input, number, external, label) in cases {
            let shown = Displayed::outside(input);
            assert_eq!(
                (
                    shown.number.as_str(),
                    shown.external.as_str(),
                    shown.label.as_str()
                ),
                (number, external, label),
                "{input}"
            );
        }
    }

    #[test]
    fn transfer_ids_count_up_from_the_root() {
        assert_eq!(split_transfer("1558393109565"), ("1558393109565", 0));
        assert_eq!(split_transfer("1558393109565.2"), ("1558393109565", 2));
    }
}
