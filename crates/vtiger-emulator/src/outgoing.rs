//! Click-to-call: the Generic gateway's "Outgoing call" configuration, which
//! makes Vtiger call *our* endpoint when a user clicks a number.
//!
//! Vendor doc: a REST URL, POST or GET, content type FORM by default,
//! optional username/password, and configured parameters. Contracts notes
//! §2.2 add a "URL-based authorization" that the emulator does not model.
//! Inferred: the placeholder syntax (`{{number}}`, `{{office_phone}}`,
//! `{{user_name}}`, `{{user_email}}`, `{{user_id}}`), that GET sends the
//! parameters in the query string, and that username/password mean HTTP
//! Basic auth.

use serde::{Deserialize, Serialize};

use crate::store::Row;

/// How the outgoing request is sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum OutgoingMethod {
    /// Parameters in the query string.
    Get,
    /// Parameters in an `application/x-www-form-urlencoded` body.
    Post,
}

/// The Generic gateway's "Outgoing call" configuration (Vtiger → telephony).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutgoingConfig {
    /// Our endpoint.
    pub url: String,
    /// GET or POST.
    pub method: OutgoingMethod,
    /// HTTP Basic user, if any.
    pub username: Option<String>,
    /// HTTP Basic password, if any.
    pub password: Option<String>,
    /// The configured parameters; values may hold the placeholders
    /// `{{number}}`, `{{office_phone}}`, `{{user_name}}`, `{{user_email}}`
    /// and `{{user_id}}`, substituted on each click.
    pub params: Vec<(String, String)>,
}

/// Replaces the placeholders in `value` for this user and number.
pub(crate) fn substitute(value: &str, user: &Row, number: &str) -> String {
    let field = |k: &str| user.get(k).map(String::as_str).unwrap_or("");
    value
        .replace("{{number}}", number)
        .replace("{{office_phone}}", field("phone_work"))
        .replace("{{user_name}}", field("user_name"))
        .replace("{{user_email}}", field("email1"))
        .replace("{{user_id}}", field("id"))
}

/// Sends the configured outgoing request; returns our endpoint's status and
/// body.
pub(crate) async fn send(
    client: &reqwest::Client,
    config: &OutgoingConfig,
    user: &Row,
    number: &str,
) -> Result<(u16, String), String> {
    let params: Vec<(String, String)> = config
        .params
        .iter()
        .map(|(k, v)| (k.clone(), substitute(v, user, number)))
        .collect();
    let mut request = match config.method {
        OutgoingMethod::Get => client.get(&config.url).query(&params),
        OutgoingMethod::Post => client.post(&config.url).form(&params),
    };
    if let Some(username) = &config.username {
        request = request.basic_auth(username, config.password.as_ref());
    }
    let response = request
        .send()
        .await
        .map_err(|e| format!("outgoing call request failed: {e}"))?;
    let status = response.status().as_u16();
    let body = response
        .text()
        .await
        .map_err(|e| format!("reading the outgoing call answer failed: {e}"))?;
    Ok((status, body))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_are_substituted() {
        let user: Row = [
            ("id", "19x2"),
            ("user_name", "ana"),
            ("email1", "ana@x.test"),
            ("phone_work", "201"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
        assert_eq!(
            substitute(
                "{{office_phone}}>{{number}} {{user_name}}/{{user_email}}/{{user_id}} {{other}}",
                &user,
                "+34600"
            ),
            "201>+34600 ana/ana@x.test/19x2 {{other}}"
        );
    }
}
