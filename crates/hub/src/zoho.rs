//! Zoho from the command line: `ringside-hub zoho connect` (first-time
//! authorisation in the browser with a loopback redirect; the refresh token
//! goes to the keyring) and `ringside-hub zoho setup` (enable PhoneBridge and
//! register the hub's click-to-call URLs).

use std::net::SocketAddr;
use std::time::Duration;

use ringside_core::{Error, Result, Sensitive};
use ringside_zoho::{SCOPES, authorize_url, exchange_code, parse_redirect};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// How long the browser has to come back.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(300);

/// What the person must do, and the redirect URI to register with the
/// Zoho client (Zoho only redirects to registered URIs).
pub struct ConnectStart {
    pub authorize_url: String,
    pub redirect_uri: String,
}

/// Run the authorisation: listen on `listen` (loopback), hand the consent
/// URL to `open` (the CLI prints it; tests play the browser), take the one
/// redirect, check `state`, exchange the code at the user's data centre.
/// Returns the refresh token.
pub async fn connect(
    accounts_url: &str,
    client_id: &str,
    client_secret: &Sensitive<String>,
    listen: SocketAddr,
    open: impl FnOnce(ConnectStart),
) -> Result<Sensitive<String>> {
    if !listen.ip().is_loopback() {
        return Err(Error::config(
            "the Zoho redirect listener must be on 127.0.0.1 (a loopback address)",
        ));
    }
    let listener = TcpListener::bind(listen).await.map_err(|e| {
        Error::config(format!(
            "cannot listen on {listen} for Zoho's redirect: {e}"
        ))
    })?;
    let port = listener
        .local_addr()
        .map_err(|e| Error::internal(format!("listener without an address: {e}")))?
        .port();
    let redirect_uri = format!("http://127.0.0.1:{port}/zoho/callback");
    let state = crate::hub::random_secret();
    open(ConnectStart {
        authorize_url: authorize_url(
            accounts_url,
            client_id,
            &redirect_uri,
            state.expose(),
            SCOPES,
        ),
        redirect_uri: redirect_uri.clone(),
    });
    let query = tokio::time::timeout(CONNECT_TIMEOUT, one_callback(&listener))
        .await
        .map_err(|_| {
            Error::new(
                ringside_core::ErrorKind::Timeout,
                "nobody came back from Zoho's consent page within 5 minutes",
            )
        })??;
    let grant = parse_redirect(&query, state.expose())?;
    let server = grant.exchange_server(accounts_url)?;
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .map_err(|e| Error::internal(format!("http client: {e}")))?;
    let tokens = exchange_code(
        &http,
        &server,
        client_id,
        client_secret.expose(),
        &redirect_uri,
        grant.code.expose(),
    )
    .await?;
    if tokens.refresh_token.expose().is_empty() {
        return Err(Error::new(
            ringside_core::ErrorKind::Unauthorized,
            "Zoho issued no refresh token (offline access was not granted); connect again",
        ));
    }
    Ok(tokens.refresh_token)
}

/// Serve one request on the loopback listener; answer a page the person can
/// close; return its query string. Requests for other paths (a favicon) get
/// a 404 and are skipped.
async fn one_callback(listener: &TcpListener) -> Result<String> {
    loop {
        let (mut stream, _) = listener
            .accept()
            .await
            .map_err(|e| Error::internal(format!("accepting Zoho's redirect: {e}")))?;
        let mut buf = vec![0u8; 16 * 1024];
        let mut read = 0;
        while read < buf.len() {
            let n = stream.read(&mut buf[read..]).await.unwrap_or(0);
            if n == 0 {
                break;
            }
            read += n;
            if buf[..read].windows(4).any(|w| w == b"\r\n\r\n") {
                break;
            }
        }
        let head = String::from_utf8_lossy(&buf[..read]).to_string();
        let target = head
            .lines()
            .next()
            .and_then(|l| l.split_whitespace().nth(1))
            .unwrap_or("")
            .to_string();
        let (path, query) = target.split_once('?').unwrap_or((&target, ""));
        if path != "/zoho/callback" {
            let _ = stream
                .write_all(
                    b"HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\nconnection: close\r\n\r\n",
                )
                .await;
            continue;
        }
        let page = "<!doctype html><meta charset=utf-8><title>Ringside</title>\
                    <p>Ringside received Zoho's answer. You can close this tab.</p>";
        let response = format!(
            "HTTP/1.1 200 OK\r\ncontent-type: text/html; charset=utf-8\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{page}",
            page.len()
        );
        let _ = stream.write_all(response.as_bytes()).await;
        return Ok(query.to_string());
    }
}
