//! Zoho → telephony: the requests Zoho sends to the URLs registered with
//! `clicktocallandcallcontrol` when a user clicks a number or a call-control
//! button.
//!
//! Vendor doc: Zoho "will post the call details to the clicktocall API";
//! `authorizationparam` is `{name:param/header name,value:token value}`;
//! `clicktocallparam`/`callcontrolparam` are custom name/value pairs sent
//! with the click-to-call and call-control requests. Contracts notes §3.4
//! (v3): the callee goes in `tonumber`.
//!
//! `[INFERRED]`: a form POST; the click-to-call fields `tonumber`, `userid`
//! and `fromnumber` (empty: Zoho does not know the agent's number); the
//! call-control fields `callrefid` and `userid`; the authorization sent both
//! as an HTTP header named `name` (when that is a valid header) and as a
//! form parameter of the same name, since the doc says "param/header name".

use crate::Registration;

/// Sends one form POST to `url` with the registration's authorization;
/// returns our endpoint's status and body.
pub(crate) async fn post(
    client: &reqwest::Client,
    url: &str,
    registration: &Registration,
    mut form: Vec<(String, String)>,
) -> Result<(u16, String), String> {
    let mut request = client.post(url);
    if let Some((name, value)) = &registration.authorization {
        form.push((name.clone(), value.clone()));
        if let (Ok(name), Ok(value)) = (
            reqwest::header::HeaderName::from_bytes(name.as_bytes()),
            reqwest::header::HeaderValue::from_str(value),
        ) {
            request = request.header(name, value);
        }
    }
    let response = request
        .form(&form)
        .send()
        .await
        .map_err(|e| format!("request to {url} failed: {e}"))?;
    let status = response.status().as_u16();
    let body = response
        .text()
        .await
        .map_err(|e| format!("reading the answer of {url} failed: {e}"))?;
    Ok((status, body))
}

/// The registered URL of a call-control action.
pub(crate) fn control_url<'a>(registration: &'a Registration, action: &str) -> Option<&'a str> {
    match action {
        "answer" => registration.answerurl.as_deref(),
        "hungup" => registration.hungupurl.as_deref(),
        "mute" => registration.muteurl.as_deref(),
        "unmute" => registration.unmuteurl.as_deref(),
        "hold" => registration.holdurl.as_deref(),
        "unhold" => registration.unholdurl.as_deref(),
        "keypress" => registration.keypressurl.as_deref(),
        _ => None,
    }
}

/// The call-control actions, in the vendor doc's order.
pub const CALL_CONTROL_ACTIONS: [&str; 7] = [
    "answer", "hungup", "mute", "unmute", "hold", "unhold", "keypress",
];
