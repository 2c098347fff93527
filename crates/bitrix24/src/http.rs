//! Sending one request: a throttle permit first (token and legacy requests
//! included), transport failures as errors, a bounded body.

use std::time::Duration;

use reqwest::header::ACCEPT;
use reqwest::{RequestBuilder, Response};
use ringside_core::{Error, ErrorKind, Result};
use ringside_crm::Throttle;

const MAX_BODY_BYTES: usize = 4 << 20;
const MAX_ERROR_BYTES: usize = 16 << 10;
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// An HTTP answer, whatever its status.
#[derive(Debug, Clone)]
pub(crate) struct Reply {
    pub status: u16,
    pub body: String,
}

impl Reply {
    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }
}

/// No redirects: a redirect would turn a POST into a GET; it is reported.
pub(crate) fn client() -> Result<reqwest::Client> {
    reqwest::Client::builder()
        .connect_timeout(CONNECT_TIMEOUT)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .map_err(|e| Error::internal(format!("cannot build the HTTP client: {e}")))
}

/// Wait for a permit, send, read the bounded body. Only transport failures
/// are errors here.
pub(crate) async fn send(
    throttle: &Throttle,
    what: &str,
    request: RequestBuilder,
) -> Result<Reply> {
    throttle.acquire().await;
    tracing::debug!(crm = "bitrix24", what, "request");
    let response = request
        .header(ACCEPT, "application/json")
        .send()
        .await
        .map_err(|e| transport_error(what, &e))?;
    let status = response.status().as_u16();
    let success = (200..300).contains(&status);
    let limit = if success {
        MAX_BODY_BYTES
    } else {
        MAX_ERROR_BYTES
    };
    let (body, complete) = read_bounded(response, limit)
        .await
        .map_err(|e| transport_error(what, &e))?;
    if success && !complete {
        return Err(Error::internal(format!(
            "{what}: Bitrix24's answer is larger than {} MiB",
            MAX_BODY_BYTES >> 20
        )));
    }
    if !success {
        tracing::debug!(crm = "bitrix24", what, status, "request failed");
    }
    Ok(Reply {
        status,
        body: String::from_utf8_lossy(&body).into_owned(),
    })
}

fn transport_error(what: &str, e: &reqwest::Error) -> Error {
    let host = e
        .url()
        .and_then(|u| u.host_str().map(str::to_string))
        .unwrap_or_else(|| "Bitrix24".to_string());
    if e.is_timeout() {
        Error::new(
            ErrorKind::Timeout,
            format!("{what}: Bitrix24 ({host}) did not answer in time"),
        )
    } else if e.is_connect() {
        Error::new(
            ErrorKind::Unavailable,
            format!("{what}: Bitrix24 unreachable at {host}: {}", root_cause(e)),
        )
    } else {
        Error::new(
            ErrorKind::Unavailable,
            format!(
                "{what}: the request to Bitrix24 ({host}) failed: {}",
                root_cause(e)
            ),
        )
    }
}

async fn read_bounded(
    mut response: Response,
    limit: usize,
) -> std::result::Result<(Vec<u8>, bool), reqwest::Error> {
    let mut out = Vec::new();
    while let Some(chunk) = response.chunk().await? {
        if out.len() + chunk.len() > limit {
            out.extend_from_slice(&chunk[..limit - out.len()]);
            return Ok((out, false));
        }
        out.extend_from_slice(&chunk);
    }
    Ok((out, true))
}

fn root_cause(e: &reqwest::Error) -> String {
    let mut source: &dyn std::error::Error = e;
    while let Some(next) = source.source() {
        source = next;
    }
    source.to_string()
}
