//! The Gamma requests API client: configure, extension lists and call control.
//!
//! Every request carries `Authorization: VTCRM-Basic <key>`; every failure
//! goes through [`crate::parse_error`]. Nothing is retried here: a dial must
//! never ring the customer twice, and retrying idempotent requests is the
//! caller's layer.

use std::time::Duration;

use chrono::Utc;
use reqwest::header::{ACCEPT, AUTHORIZATION, HeaderValue, RETRY_AFTER};
use reqwest::{Method, Response, Url};
use ringside_core::{Error, ErrorKind, Extension, PbxControl, Result, Sensitive};
use serde_json::{Value, json};

use crate::EXTERNAL_CALL_ID_HEADER;
use crate::configure::Configure;
use crate::error::{parse_error, parse_retry_after};

/// The request timeout unless [`GammaClient::with_timeout`] says otherwise.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);
/// The largest successful answer read (extension lists of big PBXs fit easily).
const MAX_BODY_BYTES: usize = 1 << 20;
/// The most of an error answer read for its message.
const MAX_ERROR_BYTES: usize = 8 << 10;

/// A client of one PBX's requests API.
#[derive(Debug, Clone)]
pub struct GammaClient {
    http: reqwest::Client,
    /// The API base without a trailing slash, e.g. `https://config.work.oigaa.com/vtcrm/api`.
    base: String,
    key: Sensitive<String>,
    timeout: Duration,
}

impl GammaClient {
    /// A client for the API at `base_url` (a trailing slash is fine) with `key`.
    /// An unusable URL or an empty key is a [`ErrorKind::Config`] error.
    pub fn new(base_url: &str, key: Sensitive<String>) -> Result<Self> {
        let trimmed = base_url.trim().trim_end_matches('/');
        let url = Url::parse(trimmed).map_err(|e| {
            Error::config(format!("Gamma API base URL `{base_url}` is invalid: {e}"))
        })?;
        if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
            return Err(Error::config(format!(
                "Gamma API base URL `{base_url}` must be an http(s) URL with a host"
            )));
        }
        if key.expose().trim().is_empty() {
            return Err(Error::config("the Gamma API key is empty"));
        }
        let http = reqwest::Client::builder()
            .build()
            .map_err(|e| Error::internal(format!("cannot build the HTTP client: {e}")))?;
        let client = Self {
            http,
            base: trimmed.to_string(),
            key,
            timeout: DEFAULT_TIMEOUT,
        };
        client.authorization()?;
        Ok(client)
    }

    /// The same client with another request timeout (connect + answer).
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// The API base this client talks to, without a trailing slash.
    pub fn base_url(&self) -> &str {
        &self.base
    }

    /// `POST configure`: where and how the PBX posts events.
    pub async fn configure(&self, config: &Configure) -> Result<()> {
        config.validate()?;
        self.send(Method::POST, "configure", Some(config.to_body()))
            .await?;
        Ok(())
    }

    /// `GET getExtensionList`: the extensions with the API service, as strings.
    pub async fn extension_list(&self) -> Result<Vec<String>> {
        let body = self.send(Method::GET, "getExtensionList", None).await?;
        let items = json_array(&body, "getExtensionList")?;
        items
            .iter()
            .map(|v| extension_number(v, "getExtensionList"))
            .collect()
    }

    /// `GET getExtensionListJSON`: the extensions with their names.
    pub async fn extension_list_json(&self) -> Result<Vec<Extension>> {
        const OP: &str = "getExtensionListJSON";
        let body = self.send(Method::GET, OP, None).await?;
        json_array(&body, OP)?
            .iter()
            .map(|item| {
                let Value::Object(obj) = item else {
                    return Err(unexpected(OP, "an entry is not an object"));
                };
                let extension = obj
                    .get("extension")
                    .ok_or_else(|| unexpected(OP, "an entry has no `extension`"))
                    .and_then(|v| extension_number(v, OP))?;
                let name = match obj.get("name") {
                    Some(Value::String(s)) if !s.trim().is_empty() => Some(s.clone()),
                    _ => None,
                };
                Ok(Extension { extension, name })
            })
            .collect()
    }

    /// `POST call`: ring `extension`, then dial `destination`. The PBX echoes
    /// `external_call_id` as the `X-VTCRM-External-Call-Id` header on every
    /// event of the call. Sent once, never retried.
    pub async fn call(
        &self,
        extension: &str,
        destination: &str,
        external_call_id: Option<&str>,
    ) -> Result<()> {
        let mut body = json!({
            "extension": required("extension", extension)?,
            "destination": required("destination", destination)?,
        });
        if let (Some(id), Value::Object(map)) = (external_call_id.map(str::trim), &mut body)
            && !id.is_empty()
        {
            map.insert(
                "request_callback_headers".into(),
                json!({ EXTERNAL_CALL_ID_HEADER: id }),
            );
        }
        self.send(Method::POST, "call", Some(body)).await?;
        Ok(())
    }

    /// `POST drop`: end the call `call_id` (the `callId` of its current leg).
    pub async fn drop_call(&self, call_id: &str) -> Result<()> {
        let body = json!({ "callId": required("callId", call_id)? });
        self.send(Method::POST, "drop", Some(body)).await?;
        Ok(())
    }

    /// `POST redirectIncoming`: cold-transfer the call to an extension or number.
    pub async fn redirect_incoming(&self, call_id: &str, destination: &str) -> Result<()> {
        let body = json!({
            "callId": required("callId", call_id)?,
            "destination": required("destination", destination)?,
        });
        self.send(Method::POST, "redirectIncoming", Some(body))
            .await?;
        Ok(())
    }

    /// One request, one attempt. Returns the (bounded) body of a 2xx answer.
    async fn send(&self, method: Method, op: &str, body: Option<Value>) -> Result<Vec<u8>> {
        let url = format!("{}/{op}", self.base);
        let mut request = self
            .http
            .request(method, &url)
            .timeout(self.timeout)
            .header(AUTHORIZATION, self.authorization()?)
            .header(ACCEPT, "application/json");
        if let Some(body) = &body {
            request = request.json(body);
        }
        tracing::debug!(op, "gamma request");
        let response = request
            .send()
            .await
            .map_err(|e| self.transport_error(op, &e))?;
        let status = response.status();
        if status.is_success() {
            let body = read_bounded(response, MAX_BODY_BYTES, true)
                .await
                .map_err(|e| self.transport_error(op, &e))?
                .ok_or_else(|| unexpected(op, "the answer is larger than 1 MiB"))?;
            return Ok(body);
        }
        let reason = response
            .extensions()
            .get::<hyper::ext::ReasonPhrase>()
            .map(|r| String::from_utf8_lossy(r.as_bytes()).into_owned());
        let retry_after = response
            .headers()
            .get(RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| parse_retry_after(v, Utc::now()));
        let text = read_bounded(response, MAX_ERROR_BYTES, false)
            .await
            .ok()
            .flatten()
            .map(|b| String::from_utf8_lossy(&b).into_owned())
            .unwrap_or_default();
        tracing::debug!(op, status = status.as_u16(), "gamma request failed");
        Err(parse_error(status.as_u16(), reason.as_deref(), &text, retry_after).context(op))
    }

    /// `VTCRM-Basic <key>`, marked sensitive so the HTTP stack never logs it.
    fn authorization(&self) -> Result<HeaderValue> {
        let mut value = HeaderValue::from_str(&format!("VTCRM-Basic {}", self.key.expose()))
            .map_err(|_| {
                Error::config("the Gamma API key contains characters not allowed in a header")
            })?;
        value.set_sensitive(true);
        Ok(value)
    }

    /// A failure before any answer: unreachable, timed out, or broken mid-way.
    fn transport_error(&self, op: &str, e: &reqwest::Error) -> Error {
        let base = &self.base;
        if e.is_timeout() {
            Error::new(
                ErrorKind::Timeout,
                format!(
                    "{op}: the PBX at {base} did not answer within {:?}",
                    self.timeout
                ),
            )
        } else if e.is_connect() {
            Error::new(
                ErrorKind::Unavailable,
                format!("{op}: PBX unreachable at {base}: {}", root_cause(e)),
            )
        } else {
            Error::new(
                ErrorKind::Unavailable,
                format!(
                    "{op}: the request to the PBX at {base} failed: {}",
                    root_cause(e)
                ),
            )
        }
    }
}

#[async_trait::async_trait]
impl PbxControl for GammaClient {
    async fn dial(&self, extension: &str, destination: &str, external_call_id: &str) -> Result<()> {
        self.call(extension, destination, Some(external_call_id))
            .await
    }

    async fn hang_up(&self, leg_call_id: &str) -> Result<()> {
        self.drop_call(leg_call_id).await
    }

    async fn transfer(&self, leg_call_id: &str, destination: &str) -> Result<()> {
        self.redirect_incoming(leg_call_id, destination).await
    }

    async fn extensions(&self) -> Result<Vec<Extension>> {
        self.extension_list_json().await
    }
}

/// Read at most `limit` bytes. `None` when the body is longer and `strict`;
/// when not strict, the first `limit` bytes.
async fn read_bounded(
    mut response: Response,
    limit: usize,
    strict: bool,
) -> std::result::Result<Option<Vec<u8>>, reqwest::Error> {
    let mut out = Vec::new();
    while let Some(chunk) = response.chunk().await? {
        if out.len() + chunk.len() > limit {
            if strict {
                return Ok(None);
            }
            out.extend_from_slice(&chunk[..limit - out.len()]);
            break;
        }
        out.extend_from_slice(&chunk);
    }
    Ok(Some(out))
}

/// The innermost error message (e.g. "Connection refused"), without the URL chain.
fn root_cause(e: &reqwest::Error) -> String {
    let mut source: &dyn std::error::Error = e;
    while let Some(next) = source.source() {
        source = next;
    }
    source.to_string()
}

fn required<'a>(field: &str, value: &'a str) -> Result<&'a str> {
    let value = value.trim();
    if value.is_empty() {
        return Err(Error::invalid(format!("`{field}` must not be empty")));
    }
    Ok(value)
}

fn unexpected(op: &str, what: &str) -> Error {
    Error::internal(format!("{op}: unexpected answer from the PBX: {what}"))
}

fn json_array(body: &[u8], op: &str) -> Result<Vec<Value>> {
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Array(items)) => Ok(items),
        Ok(_) => Err(unexpected(op, "not a JSON array")),
        Err(e) => Err(unexpected(op, &format!("not JSON: {e}"))),
    }
}

/// An extension number sent as a JSON number or string.
fn extension_number(v: &Value, op: &str) -> Result<String> {
    match v {
        Value::Number(n) => Ok(n.to_string()),
        Value::String(s) if !s.trim().is_empty() => Ok(s.trim().to_string()),
        _ => Err(unexpected(
            op,
            &format!("extension {v} is not a number or string"),
        )),
    }
}
