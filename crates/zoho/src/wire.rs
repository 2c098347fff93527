//! Serde types of Zoho's JSON: the token endpoint's answer, PhoneBridge's
//! error object, `callerdetails` records with their Potentials, and users.
//!
//! Zoho returns most values as strings, but numbers (`ExpectedRevenue`,
//! `Phone`) and `null` occur, so fields are read leniently into a `String`
//! (empty when absent).

use serde::{Deserialize, Deserializer};
use serde_json::Value;

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

/// `POST /oauth/v2/token`'s answer, success or error (Zoho answers errors
/// with HTTP 200 and `{"error": "..."}`).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct TokenResponse {
    #[serde(deserialize_with = "lenient")]
    pub access_token: String,
    #[serde(deserialize_with = "lenient")]
    pub refresh_token: String,
    /// Seconds in current Zoho; milliseconds in the old accounts API (which
    /// then also sent `expires_in_sec`).
    pub expires_in: Option<Value>,
    pub expires_in_sec: Option<Value>,
    #[serde(deserialize_with = "lenient")]
    pub api_domain: String,
    #[serde(deserialize_with = "lenient")]
    pub error: String,
    #[serde(deserialize_with = "lenient")]
    pub error_description: String,
}

/// PhoneBridge's `{"code","details","message","status"}`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct PbError {
    #[serde(deserialize_with = "lenient")]
    pub code: String,
    #[serde(deserialize_with = "lenient")]
    pub message: String,
    #[serde(deserialize_with = "lenient")]
    pub status: String,
    pub details: Option<Value>,
}

impl PbError {
    /// `details.param` (the parameter a `REQUIRED_PARAM_MISSING` or
    /// `INVALID_DATA` names), else `details.api_name`.
    pub fn param(&self) -> Option<String> {
        let details = self.details.as_ref()?;
        ["param", "api_name", "parameter"]
            .iter()
            .find_map(|k| details.get(*k))
            .map(|v| match v {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            })
            .filter(|s| !s.trim().is_empty())
    }
}

/// One Lead, Contact or Account from `callerdetails` (or `callreceived`).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct CallerRecord {
    #[serde(rename = "Name", deserialize_with = "lenient")]
    pub name: String,
    #[serde(rename = "Module", deserialize_with = "lenient")]
    pub module: String,
    #[serde(rename = "Id", deserialize_with = "lenient")]
    pub id: String,
    #[serde(rename = "Company/Account", deserialize_with = "lenient")]
    pub company: String,
    #[serde(rename = "Email", deserialize_with = "lenient")]
    pub email: String,
    #[serde(rename = "Phone", deserialize_with = "lenient")]
    pub phone: String,
    #[serde(rename = "Mobile", deserialize_with = "lenient")]
    pub mobile: String,
    #[serde(rename = "Department", deserialize_with = "lenient")]
    pub department: String,
    #[serde(rename = "Url", deserialize_with = "lenient")]
    pub url: String,
    #[serde(rename = "Potential")]
    pub potentials: Option<Vec<PotentialRecord>>,
}

/// A Potential (deal) as PhoneBridge lists it under a caller.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct PotentialRecord {
    #[serde(rename = "Name", deserialize_with = "lenient")]
    pub name: String,
    #[serde(rename = "Id", deserialize_with = "lenient")]
    pub id: String,
    #[serde(rename = "PotentialOwner", deserialize_with = "lenient")]
    pub owner: String,
    #[serde(rename = "ClosingDate", deserialize_with = "lenient")]
    pub closing_date: String,
    #[serde(rename = "ExpectedRevenue", deserialize_with = "lenient")]
    pub expected_revenue: String,
    #[serde(rename = "Stage", deserialize_with = "lenient")]
    pub stage: String,
    #[serde(rename = "Url", deserialize_with = "lenient")]
    pub url: String,
    #[serde(rename = "Probability", deserialize_with = "lenient")]
    pub probability: String,
}

/// `{"data": [...]}`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct CallerDetails {
    pub data: Vec<CallerRecord>,
}

/// One PhoneBridge user.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(default)]
pub struct ZohoUser {
    #[serde(deserialize_with = "lenient")]
    pub userid: String,
    #[serde(deserialize_with = "lenient")]
    pub username: String,
    #[serde(deserialize_with = "lenient")]
    pub email: String,
}

/// `{"users": [...]}`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct UsersResponse {
    pub users: Vec<ZohoUser>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_are_read_leniently() {
        let d: CallerDetails = serde_json::from_value(serde_json::json!({"data": [{
            "Name": "Lucía", "Module": "Contacts", "Id": 42, "Phone": null,
            "Mobile": 647460197, "Potential": [{"Name": "P", "ExpectedRevenue": 1200.5}]
        }]}))
        .unwrap();
        let r = &d.data[0];
        assert_eq!(r.id, "42");
        assert_eq!(r.phone, "");
        assert_eq!(r.mobile, "647460197");
        assert_eq!(r.potentials.as_ref().unwrap()[0].expected_revenue, "1200.5");
        let e: PbError = serde_json::from_value(serde_json::json!({
            "code": "REQUIRED_PARAM_MISSING", "details": {"param": "tonumber"},
            "message": "m", "status": "error"
        }))
        .unwrap();
        assert_eq!(e.param().as_deref(), Some("tonumber"));
    }
}
