//! Connecting Zoho from the desktop: the OAuth consent in the person's
//! browser, answered on a loopback listener.
//!
//! [`connect`]: bind `127.0.0.1:<free port>`, open
//! `ringside_zoho::authorize_url(…, redirect_uri = http://127.0.0.1:<port>/zoho/callback,
//! state = <random>)` in the browser, wait (at most [`CONNECT_TIMEOUT`]) for
//! Zoho's redirect to the loopback, check it with
//! `ringside_zoho::parse_redirect`, exchange the code at
//! `Grant::exchange_server(accounts_url)` and store the refresh token in the
//! keyring (`zoho-refresh-token`, the only writer). The browser tab gets a
//! small page saying it worked, or why not. [`disconnect`] revokes the token
//! (best effort) and deletes it.
//!
//! Nothing here logs a code or a token.

use std::time::Duration;

use rand::Rng;
use ringside_core::{ErrorKind, Sensitive};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use crate::error::{CommandError, CommandResult};
use crate::models::{SecretName, ZohoDesktop};
use crate::state::AppState;

/// Where Zoho sends the browser back to, on the loopback.
pub const CALLBACK_PATH: &str = "/zoho/callback";
/// How long the person has to consent in the browser.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(5 * 60);
/// How long one loopback connection may take to send its request.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
/// The largest request head read from the loopback.
const MAX_REQUEST: usize = 16 * 1024;
/// Zoho's token and revoke requests.
const HTTP_TIMEOUT: Duration = Duration::from_secs(30);

/// What a successful Connect found out.
#[derive(Debug, Clone)]
pub struct Connected {
    /// The accounts server the code was exchanged at (the person's data
    /// centre: the refresh token only works there).
    pub accounts_server: String,
    /// Where the org's APIs live.
    pub api_domain: String,
    /// The data centre (`eu`, `us`…), when Zoho said.
    pub location: Option<String>,
}

/// The Zoho block of the settings, usable for Connect.
fn configured(state: &AppState) -> CommandResult<ZohoDesktop> {
    let zoho = state.settings().crm.zoho.unwrap_or_default();
    if zoho.accounts_url.trim().is_empty() || zoho.client_id.trim().is_empty() {
        return Err(CommandError::kind(
            ErrorKind::Config,
            "choose the Zoho data centre, enter the client id and save the settings before \
             connecting",
        ));
    }
    Ok(zoho)
}

/// The whole Connect flow (see the module docs). `open` shows a URL in the
/// browser; `cancel` ends the wait early (a newer Connect replaced this one).
pub async fn connect(
    state: &AppState,
    open: impl FnOnce(&str) -> CommandResult<()>,
    timeout: Duration,
    cancel: tokio::sync::oneshot::Receiver<()>,
) -> CommandResult<Connected> {
    let zoho = configured(state)?;
    let client_secret = state
        .secrets
        .get(SecretName::ZohoClientSecret)
        .await?
        .ok_or_else(|| {
            CommandError::kind(
                ErrorKind::Config,
                "the Zoho client secret is not stored yet: add it in Settings",
            )
        })?;

    let listener = TcpListener::bind(("127.0.0.1", 0)).await.map_err(|e| {
        CommandError::unavailable(format!("cannot listen on the loopback for Zoho: {e}"))
    })?;
    let port = listener
        .local_addr()
        .map_err(|e| CommandError::internal(e.to_string()))?
        .port();
    let redirect_uri = format!("http://127.0.0.1:{port}{CALLBACK_PATH}");
    let expected_state = random_state();
    let url = ringside_zoho::authorize_url(
        &zoho.accounts_url,
        &zoho.client_id,
        &redirect_uri,
        &expected_state,
        ringside_zoho::SCOPES,
    );
    tracing::info!(port, "zoho: opening the consent page in the browser");
    open(&url)?;

    let (stream, query) = tokio::select! {
        callback = tokio::time::timeout(timeout, next_callback(&listener)) => match callback {
            Ok(callback) => callback?,
            Err(_) => {
                return Err(CommandError::kind(
                    ErrorKind::Timeout,
                    format!(
                        "Zoho did not send the browser back within {} minutes: nothing was \
                         stored; press Connect to try again",
                        timeout.as_secs().div_ceil(60)
                    ),
                ));
            }
        },
        _ = cancel => {
            return Err(CommandError::kind(
                ErrorKind::Conflict,
                "a newer Zoho Connect replaced this one",
            ));
        }
    };
    drop(listener);

    let result = finish(
        state,
        &zoho,
        &client_secret,
        &redirect_uri,
        &query,
        &expected_state,
    )
    .await;
    let page = match &result {
        Ok(_) => Page::connected(),
        Err(e) => Page::failed(&e.message),
    };
    respond(stream, page).await;
    result
}

/// Check the redirect, exchange the code, store the refresh token.
async fn finish(
    state: &AppState,
    zoho: &ZohoDesktop,
    client_secret: &Sensitive<String>,
    redirect_uri: &str,
    query: &str,
    expected_state: &str,
) -> CommandResult<Connected> {
    let grant = ringside_zoho::parse_redirect(query, expected_state)?;
    let server = grant.exchange_server(&zoho.accounts_url)?;
    let http = http_client()?;
    let tokens = ringside_zoho::exchange_code(
        &http,
        &server,
        &zoho.client_id,
        client_secret.expose(),
        redirect_uri,
        grant.code.expose(),
    )
    .await?;
    if tokens.refresh_token.expose().trim().is_empty() {
        return Err(CommandError::kind(
            ErrorKind::Unauthorized,
            "Zoho sent no refresh token (the consent was not for offline access): press \
             Connect again",
        ));
    }
    state
        .secrets
        .set(SecretName::ZohoRefreshToken, tokens.refresh_token)
        .await?;
    tracing::info!(
        location = grant.location.as_deref().unwrap_or("?"),
        "zoho: connected; the refresh token is in the keyring"
    );
    Ok(Connected {
        accounts_server: server,
        api_domain: tokens.api_domain,
        location: grant.location,
    })
}

/// Revoke the stored refresh token at Zoho (best effort) and delete it.
pub async fn disconnect(state: &AppState) -> CommandResult<()> {
    let token = state.secrets.get(SecretName::ZohoRefreshToken).await?;
    let accounts = state
        .settings()
        .crm
        .zoho
        .map(|z| z.accounts_url)
        .filter(|a| !a.trim().is_empty());
    if let (Some(token), Some(accounts)) = (token, accounts)
        && let Err(e) = revoke(&accounts, &token).await
    {
        tracing::warn!("zoho: revoking the refresh token failed ({e}); deleting it anyway");
    }
    state
        .secrets
        .set(SecretName::ZohoRefreshToken, Sensitive::new(String::new()))
        .await
}

/// `POST {accounts}/oauth/v2/token/revoke?token=…`.
async fn revoke(accounts: &str, token: &Sensitive<String>) -> CommandResult<()> {
    let url = format!(
        "{}/oauth/v2/token/revoke",
        accounts.trim().trim_end_matches('/')
    );
    let reply = http_client()?
        .post(url)
        .query(&[("token", token.expose().as_str())])
        .send()
        .await
        // without the URL: it carries the token
        .map_err(|e| {
            CommandError::unavailable(format!("Zoho did not answer: {}", e.without_url()))
        })?;
    if reply.status().is_success() {
        Ok(())
    } else {
        Err(CommandError::unavailable(format!(
            "Zoho answered {}",
            reply.status()
        )))
    }
}

fn http_client() -> CommandResult<reqwest::Client> {
    reqwest::Client::builder()
        .timeout(HTTP_TIMEOUT)
        .build()
        .map_err(|e| CommandError::internal(format!("no HTTP client: {e}")))
}

/// 32 random letters and digits.
fn random_state() -> String {
    rand::rng()
        .sample_iter(rand::distr::Alphanumeric)
        .take(32)
        .map(char::from)
        .collect()
}

/// Serve the loopback until a request for [`CALLBACK_PATH`] arrives: that
/// connection and the request's query. Anything else (a favicon, a stray
/// probe) is answered 404 and the wait goes on.
async fn next_callback(listener: &TcpListener) -> CommandResult<(TcpStream, String)> {
    loop {
        let (mut stream, _) = listener.accept().await.map_err(|e| {
            CommandError::unavailable(format!("the loopback listener for Zoho failed: {e}"))
        })?;
        let target = match tokio::time::timeout(REQUEST_TIMEOUT, read_target(&mut stream)).await {
            Ok(Some(target)) => target,
            _ => {
                respond(stream, Page::not_found()).await;
                continue;
            }
        };
        let (path, query) = target.split_once('?').unwrap_or((target.as_str(), ""));
        if path == CALLBACK_PATH {
            return Ok((stream, query.to_string()));
        }
        respond(stream, Page::not_found()).await;
    }
}

/// The request target of a `GET` (path and query), from the request head.
async fn read_target(stream: &mut TcpStream) -> Option<String> {
    let mut head = Vec::with_capacity(1024);
    let mut buf = [0u8; 1024];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        let n = stream.read(&mut buf).await.ok()?;
        if n == 0 || head.len() + n > MAX_REQUEST {
            return None;
        }
        head.extend_from_slice(&buf[..n]);
    }
    let line = head.split(|b| *b == b'\n').next()?;
    let line = std::str::from_utf8(line).ok()?.trim_end();
    let mut parts = line.split(' ');
    let (method, target) = (parts.next()?, parts.next()?);
    (method == "GET" && target.starts_with('/')).then(|| target.to_string())
}

/// What the browser tab shows.
struct Page {
    status: &'static str,
    body: String,
}

impl Page {
    fn connected() -> Page {
        Page::new(
            "200 OK",
            "Ringside is connected to Zoho",
            "Ringside is connected to Zoho — you can close this tab.",
        )
    }

    fn failed(why: &str) -> Page {
        Page::new(
            "400 Bad Request",
            "Ringside could not connect to Zoho",
            &format!(
                "{} — you can close this tab and press Connect in Ringside's Settings to try again.",
                why
            ),
        )
    }

    fn not_found() -> Page {
        Page::new("404 Not Found", "Not found", "Nothing here.")
    }

    fn new(status: &'static str, title: &str, text: &str) -> Page {
        Page {
            status,
            body: format!(
                "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
                 <title>{title}</title></head>\
                 <body style=\"font-family:system-ui,sans-serif;margin:3em auto;max-width:36em\">\
                 <h1>{title}</h1><p>{}</p></body></html>",
                html_escape(text),
            ),
        }
    }
}

async fn respond(mut stream: TcpStream, page: Page) {
    let head = format!(
        "HTTP/1.1 {}\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: {}\r\n\
         Cache-Control: no-store\r\nReferrer-Policy: no-referrer\r\nConnection: close\r\n\r\n",
        page.status,
        page.body.len()
    );
    let _ = stream.write_all(head.as_bytes()).await;
    let _ = stream.write_all(page.body.as_bytes()).await;
    let _ = stream.shutdown().await;
}

fn html_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::models::Settings;
    use crate::secrets::Secrets;
    use crate::state::Options;

    fn state_with(zoho: Option<ZohoDesktop>, service: &str) -> (tempfile::TempDir, AppState) {
        let dir = tempfile::tempdir().unwrap();
        let mut settings = Settings::default();
        settings.crm.zoho = zoho;
        let state = AppState::new(
            dir.path().join("settings.json"),
            settings,
            false,
            Secrets::new(format!("{service}-{}", std::process::id())),
            Options {
                demo_play: false,
                notifications: false,
                ..Options::default()
            },
        );
        (dir, state)
    }

    #[test]
    fn states_are_random_and_url_safe() {
        let a = random_state();
        assert_eq!(a.len(), 32);
        assert!(a.chars().all(|c| c.is_ascii_alphanumeric()));
        assert_ne!(a, random_state());
    }

    #[test]
    fn pages_escape_what_they_show() {
        let page = Page::failed("<script>alert(1)</script> & co");
        assert!(!page.body.contains("<script>"));
        assert!(page.body.contains("&lt;script&gt;"));
        assert!(Page::connected().body.contains("you can close this tab"));
    }

    #[tokio::test]
    async fn connect_needs_the_zoho_settings_first() {
        let (_dir, state) = state_with(None, "ringside-test-zoho-none");
        let (_tx, rx) = tokio::sync::oneshot::channel();
        let e = connect(&state, |_| panic!("no browser"), CONNECT_TIMEOUT, rx)
            .await
            .unwrap_err();
        assert_eq!(e.code, "config", "{e:?}");
        assert!(e.message.contains("client id"), "{e:?}");
    }

    /// Nobody comes back from the browser: a clear timeout, nothing stored.
    /// (Skipped without a keyring: the client secret must be stored first.)
    #[tokio::test]
    async fn a_browser_that_never_returns_times_out() {
        let zoho = ZohoDesktop {
            enabled: true,
            accounts_url: "https://accounts.zoho.eu".into(),
            client_id: "1000.CLIENT".into(),
            email: "tony@acme.com".into(),
        };
        let (_dir, state) = state_with(Some(zoho), "ringside-test-zoho-timeout");
        let required = std::env::var_os("RINGSIDE_REQUIRE_SECRET_SERVICE").is_some();
        if let Err(e) = state
            .secrets
            .set(
                SecretName::ZohoClientSecret,
                Sensitive::new("client-secret".into()),
            )
            .await
        {
            assert!(!required, "{e:?}");
            assert_eq!(e.code, crate::error::KEYRING_UNAVAILABLE, "{e:?}");
            return;
        }
        let opened = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
        let seen = opened.clone();
        let (_tx, rx) = tokio::sync::oneshot::channel();
        let e = connect(
            &state,
            move |url| {
                *seen.lock().unwrap() = url.to_string();
                Ok(())
            },
            Duration::from_millis(300),
            rx,
        )
        .await
        .unwrap_err();
        assert_eq!(e.code, "timeout", "{e:?}");
        assert!(e.message.contains("nothing was stored"), "{e:?}");
        let url = opened.lock().unwrap().clone();
        assert!(
            url.starts_with("https://accounts.zoho.eu/oauth/v2/auth?"),
            "{url}"
        );
        assert!(
            url.contains("redirect_uri=http%3A%2F%2F127.0.0.1%3A"),
            "{url}"
        );
        assert!(url.contains("access_type=offline"), "{url}");
        assert!(
            state
                .secrets
                .get(SecretName::ZohoRefreshToken)
                .await
                .unwrap()
                .is_none()
        );
        // a newer Connect cancels the wait
        let (tx, rx) = tokio::sync::oneshot::channel();
        tx.send(()).unwrap();
        let e = connect(&state, |_| Ok(()), CONNECT_TIMEOUT, rx)
            .await
            .unwrap_err();
        assert_eq!(e.code, "conflict", "{e:?}");
        state
            .secrets
            .set(SecretName::ZohoClientSecret, Sensitive::new(String::new()))
            .await
            .unwrap();
    }

    #[tokio::test]
    async fn the_loopback_skips_other_paths_and_reads_the_callback_query() {
        let listener = TcpListener::bind(("127.0.0.1", 0)).await.unwrap();
        let addr = listener.local_addr().unwrap();
        let client = tokio::spawn(async move {
            let http = reqwest::Client::new();
            let favicon = http
                .get(format!("http://{addr}/favicon.ico"))
                .send()
                .await
                .unwrap();
            assert_eq!(favicon.status(), 404);
            let mut raw = TcpStream::connect(addr).await.unwrap();
            raw.write_all(b"GET /zoho/callback?code=c&state=s HTTP/1.1\r\nHost: x\r\n\r\n")
                .await
                .unwrap();
            let mut answer = String::new();
            raw.read_to_string(&mut answer).await.unwrap();
            answer
        });
        let (stream, query) = next_callback(&listener).await.unwrap();
        assert_eq!(query, "code=c&state=s");
        respond(stream, Page::connected()).await;
        let answer = client.await.unwrap();
        assert!(answer.starts_with("HTTP/1.1 200 OK\r\n"), "{answer}");
        assert!(answer.contains("connected to Zoho"), "{answer}");
    }
}
