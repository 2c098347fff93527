//! Serde types of Vtiger's JSON: the `{"success":…,"result"|"error":…}`
//! envelope and the records Ringside reads.
//!
//! Vtiger returns every field as a string (`""` when empty), but a field may
//! come back as a number or `null` from other versions, so every field is
//! read leniently into a `String` (empty when absent).

use serde::{Deserialize, Deserializer};
use serde_json::Value;

/// Every answer's envelope.
#[derive(Debug, Clone, Deserialize)]
pub struct Envelope {
    #[serde(default)]
    pub success: bool,
    #[serde(default)]
    pub result: Option<Value>,
    #[serde(default)]
    pub error: Option<WireError>,
}

/// `{"code": "...", "message": "..."}`.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct WireError {
    #[serde(default, deserialize_with = "lenient")]
    pub code: String,
    #[serde(default, deserialize_with = "lenient")]
    pub message: String,
}

/// A string, a number, a boolean or `null` as a string.
pub fn lenient<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    Ok(match Value::deserialize(d)? {
        Value::String(s) => s,
        Value::Null => String::new(),
        Value::Number(n) => n.to_string(),
        Value::Bool(b) => b.to_string(),
        other => other.to_string(),
    })
}

/// A Contact or a Lead as `lookup` returns it (the fields of both).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct PersonRow {
    #[serde(deserialize_with = "lenient")]
    pub id: String,
    #[serde(deserialize_with = "lenient")]
    pub firstname: String,
    #[serde(deserialize_with = "lenient")]
    pub lastname: String,
    #[serde(deserialize_with = "lenient")]
    pub phone: String,
    #[serde(deserialize_with = "lenient")]
    pub mobile: String,
    #[serde(deserialize_with = "lenient")]
    pub homephone: String,
    #[serde(deserialize_with = "lenient")]
    pub otherphone: String,
    #[serde(deserialize_with = "lenient")]
    pub email: String,
    /// Contacts: the organization (`11xN`).
    pub account_id: Option<Value>,
    /// Leads: the company, free text.
    pub company: Option<Value>,
    /// Accounts (should `lookup` return one): the organization name.
    pub accountname: Option<Value>,
    #[serde(deserialize_with = "lenient")]
    pub modifiedtime: String,
}

/// An Organization as `retrieve` returns it.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct AccountRow {
    #[serde(deserialize_with = "lenient")]
    pub id: String,
    #[serde(deserialize_with = "lenient")]
    pub accountname: String,
}

/// A Potential (deal).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct PotentialRow {
    #[serde(deserialize_with = "lenient")]
    pub id: String,
    #[serde(deserialize_with = "lenient")]
    pub potentialname: String,
    #[serde(deserialize_with = "lenient")]
    pub sales_stage: String,
    #[serde(deserialize_with = "lenient")]
    pub amount: String,
    #[serde(deserialize_with = "lenient")]
    pub currency: String,
    #[serde(deserialize_with = "lenient")]
    pub closingdate: String,
    #[serde(deserialize_with = "lenient")]
    pub modifiedtime: String,
}

/// A CRM user.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct UserRow {
    #[serde(deserialize_with = "lenient")]
    pub id: String,
    #[serde(deserialize_with = "lenient")]
    pub user_name: String,
    #[serde(deserialize_with = "lenient")]
    pub first_name: String,
    #[serde(deserialize_with = "lenient")]
    pub last_name: String,
    #[serde(deserialize_with = "lenient")]
    pub phone_work: String,
}

/// A Phone Calls record (what the gateway events built).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct PhoneCallRow {
    #[serde(deserialize_with = "lenient")]
    pub id: String,
    #[serde(deserialize_with = "lenient")]
    pub callstatus: String,
    #[serde(deserialize_with = "lenient")]
    pub recordingurl: String,
}

/// A JSON value that may be a string or a reference object
/// (`{"value": "11x3", "label": "..."}` in some Vtiger versions) as a string.
pub fn reference(value: Option<&Value>) -> String {
    match value {
        Some(Value::String(s)) => s.trim().to_string(),
        Some(Value::Number(n)) => n.to_string(),
        Some(Value::Object(map)) => map
            .get("value")
            .or_else(|| map.get("id"))
            .and_then(Value::as_str)
            .unwrap_or("")
            .trim()
            .to_string(),
        _ => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_are_read_leniently() {
        let row: PersonRow = serde_json::from_value(serde_json::json!({
            "id": "12x3", "firstname": null, "lastname": "Fernández",
            "phone": 647460197, "account_id": {"value": "11x1", "label": "ACME"}
        }))
        .unwrap();
        assert_eq!(row.firstname, "");
        assert_eq!(row.phone, "647460197");
        assert_eq!(reference(row.account_id.as_ref()), "11x1");
        assert_eq!(row.mobile, "");
    }
}
