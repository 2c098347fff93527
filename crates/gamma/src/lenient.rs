//! Lenient readers for the loosely typed fields of a Gamma event.
//!
//! The PBX sends booleans as `"true"`, ids as strings or numbers and
//! timestamps as millisecond strings. Each reader accepts what the vendor
//! plausibly sends and otherwise fails with an [`ErrorKind::Invalid`] error
//! naming the field.
//!
//! [`ErrorKind::Invalid`]: ringside_core::ErrorKind::Invalid

use ringside_core::{Error, Result};
use serde_json::{Map, Value};

/// The JSON object of one event.
pub(crate) type Fields = Map<String, Value>;

/// A human name for the JSON type of `value`, for error messages.
pub(crate) fn type_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// A string or number field. Absent, `null` and blank strings read as `None`.
pub(crate) fn text(fields: &Fields, name: &str) -> Result<Option<String>> {
    match fields.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.trim().is_empty() => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(Value::Number(n)) => Ok(Some(n.to_string())),
        Some(other) => Err(Error::invalid(format!(
            "field `{name}` must be a string or a number, got {}",
            type_name(other)
        ))),
    }
}

/// A boolean field: `true`/`false`, `"true"`/`"false"`, `"1"`/`"0"` or `1`/`0`.
/// Absent, `null` and blank strings read as `None`.
pub(crate) fn flag(fields: &Fields, name: &str) -> Result<Option<bool>> {
    let bad = |shown: String| {
        Error::invalid(format!(
            "field `{name}` must be a boolean (true, false, \"1\" or \"0\"), got {shown}"
        ))
    };
    match fields.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Bool(b)) => Ok(Some(*b)),
        Some(Value::String(s)) => match s.trim().to_ascii_lowercase().as_str() {
            "" => Ok(None),
            "true" | "1" => Ok(Some(true)),
            "false" | "0" => Ok(Some(false)),
            _ => Err(bad(format!("{s:?}"))),
        },
        Some(Value::Number(n)) => match n.as_u64() {
            Some(1) => Ok(Some(true)),
            Some(0) => Ok(Some(false)),
            _ => Err(bad(n.to_string())),
        },
        Some(other) => Err(bad(type_name(other).to_string())),
    }
}

/// A millisecond-epoch timestamp as a number or a string of digits.
/// Absent, `null` and blank strings read as `None`.
pub(crate) fn millis(fields: &Fields, name: &str) -> Result<Option<i64>> {
    let bad = |shown: String| {
        Error::invalid(format!(
            "field `{name}` must be a number of milliseconds since the epoch, got {shown}"
        ))
    };
    match fields.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.trim().is_empty() => Ok(None),
        Some(Value::String(s)) => s
            .trim()
            .parse::<i64>()
            .map(Some)
            .map_err(|_| bad(format!("{s:?}"))),
        Some(Value::Number(n)) => match (n.as_i64(), n.as_f64()) {
            (Some(ms), _) => Ok(Some(ms)),
            // Whole milliseconds sent as a float (`1542399572176.0`).
            (None, Some(f)) if f.is_finite() && f.fract() == 0.0 && f.abs() < 9.0e15 => {
                Ok(Some(f as i64))
            }
            _ => Err(bad(n.to_string())),
        },
        Some(other) => Err(bad(type_name(other).to_string())),
    }
}

/// A Google Speech duration such as `"5.640s"` (or a bare number) in seconds.
pub(crate) fn speech_seconds(raw: &str) -> Option<f64> {
    let raw = raw.trim();
    let digits = raw.strip_suffix('s').unwrap_or(raw);
    digits.trim().parse::<f64>().ok().filter(|s| s.is_finite())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn fields(v: Value) -> Fields {
        match v {
            Value::Object(m) => m,
            _ => unreachable!("tests pass objects"),
        }
    }

    #[test]
    fn speech_durations() {
        for (raw, expected) in [
            ("5.640s", Some(5.64)),
            ("10s", Some(10.0)),
            (" 3.5 ", Some(3.5)),
            ("s", None),
            ("abc", None),
        ] {
            assert_eq!(speech_seconds(raw), expected, "{raw}");
        }
    }

    #[test]
    fn blank_values_are_absent() {
        let f = fields(json!({"a": "", "b": null, "c": "  "}));
        for name in ["a", "b", "c", "missing"] {
            assert_eq!(text(&f, name).unwrap(), None);
            assert_eq!(flag(&f, name).unwrap(), None);
            assert_eq!(millis(&f, name).unwrap(), None);
        }
    }
}
