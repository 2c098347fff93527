//! A small W3C WebDriver client over plain HTTP (reqwest), for tauri-driver.
//!
//! tauri-driver 2.1 drops about 5% of the requests it proxies to
//! WebKitWebDriver ("connection reset by peer") before they reach the
//! browser, so every call is retried up to 3 times on a transport error.
//! HTTP error answers (no such element, stale element...) are not retried.

use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow, bail};
use base64::Engine as _;
use serde_json::{Value, json};

/// The W3C key of an element reference.
pub const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";
const TRIES: usize = 3;

/// An error answer of the WebDriver (`{"value": {"error", "message"}}`).
#[derive(Debug)]
pub struct WdError {
    pub status: u16,
    pub error: String,
    pub message: String,
}

impl std::fmt::Display for WdError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "webdriver {} ({}): {}",
            self.error, self.status, self.message
        )
    }
}

impl std::error::Error for WdError {}

/// A WebDriver server (tauri-driver) at `base`.
#[derive(Clone)]
pub struct Driver {
    http: reqwest::Client,
    base: String,
    /// Transport errors retried so far (tauri-driver drops).
    pub retries: std::sync::Arc<std::sync::atomic::AtomicUsize>,
}

impl Driver {
    pub fn new(base: impl Into<String>) -> Result<Self> {
        Ok(Self {
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(120))
                .no_proxy()
                .build()?,
            base: base.into().trim_end_matches('/').to_string(),
            retries: Default::default(),
        })
    }

    /// One command; retried on transport errors. Returns the answer's `value`.
    pub async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> Result<Value> {
        let url = format!("{}{path}", self.base);
        let mut last = None;
        for attempt in 0..TRIES {
            let mut req = self.http.request(method.clone(), &url);
            if let Some(body) = &body {
                req = req.json(body);
            } else if method == reqwest::Method::POST {
                req = req.json(&json!({}));
            }
            let resp = match req.send().await {
                Ok(r) => r,
                Err(e) => {
                    last = Some(anyhow!(e).context(format!("{method} {path}")));
                    self.retries
                        .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    tokio::time::sleep(Duration::from_millis(100 * (attempt as u64 + 1))).await;
                    continue;
                }
            };
            let status = resp.status().as_u16();
            let bytes = match resp.bytes().await {
                Ok(b) => b,
                Err(e) => {
                    last = Some(anyhow!(e).context(format!("{method} {path}: reading the answer")));
                    self.retries
                        .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    tokio::time::sleep(Duration::from_millis(100 * (attempt as u64 + 1))).await;
                    continue;
                }
            };
            let v: Value = if bytes.is_empty() {
                Value::Null
            } else {
                serde_json::from_slice(&bytes).with_context(|| {
                    format!(
                        "{method} {path}: not JSON: {}",
                        String::from_utf8_lossy(&bytes)
                    )
                })?
            };
            let value = v.get("value").cloned().unwrap_or(Value::Null);
            if status >= 400 {
                return Err(WdError {
                    status,
                    error: value["error"]
                        .as_str()
                        .unwrap_or("unknown error")
                        .to_string(),
                    message: value["message"].as_str().unwrap_or_default().to_string(),
                }
                .into());
            }
            return Ok(value);
        }
        Err(last.unwrap_or_else(|| anyhow!("{method} {path} failed")))
    }

    /// Wait until `/status` answers.
    pub async fn wait_ready(&self, timeout: Duration) -> Result<()> {
        let end = Instant::now() + timeout;
        loop {
            match self.http.get(format!("{}/status", self.base)).send().await {
                Ok(r) if r.status().is_success() => return Ok(()),
                _ if Instant::now() > end => {
                    bail!("tauri-driver at {} did not answer /status", self.base)
                }
                _ => tokio::time::sleep(Duration::from_millis(100)).await,
            }
        }
    }

    /// A session on the Tauri app `application` started with `args`.
    pub async fn session(&self, application: &Path, args: &[String]) -> Result<Session> {
        let caps = json!({"capabilities": {"alwaysMatch": {"tauri:options": {
            "application": application.to_string_lossy(),
            "args": args,
        }}}});
        let v = self
            .call(reqwest::Method::POST, "/session", Some(caps))
            .await?;
        let id = v["sessionId"]
            .as_str()
            .ok_or_else(|| anyhow!("no sessionId in {v}"))?
            .to_string();
        Ok(Session {
            driver: self.clone(),
            id,
        })
    }
}

/// An element reference.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Elem(pub String);

/// A WebDriver session (one app instance).
pub struct Session {
    driver: Driver,
    pub id: String,
}

impl Session {
    fn path(&self, rest: &str) -> String {
        format!("/session/{}{rest}", self.id)
    }

    pub async fn get(&self, rest: &str) -> Result<Value> {
        self.driver
            .call(reqwest::Method::GET, &self.path(rest), None)
            .await
    }

    pub async fn post(&self, rest: &str, body: Value) -> Result<Value> {
        self.driver
            .call(reqwest::Method::POST, &self.path(rest), Some(body))
            .await
    }

    /// End the session (tauri-driver then stops the app).
    pub async fn delete(&self) -> Result<()> {
        self.driver
            .call(reqwest::Method::DELETE, &self.path(""), None)
            .await?;
        Ok(())
    }

    /// All elements matching `css`, in the current window.
    pub async fn find_all(&self, css: &str) -> Result<Vec<Elem>> {
        let v = self
            .post("/elements", json!({"using": "css selector", "value": css}))
            .await?;
        Ok(v.as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|e| e[ELEMENT].as_str().map(|s| Elem(s.into())))
                    .collect()
            })
            .unwrap_or_default())
    }

    /// The first element matching `css`, if any.
    pub async fn find(&self, css: &str) -> Result<Option<Elem>> {
        Ok(self.find_all(css).await?.into_iter().next())
    }

    /// Wait (up to `timeout`) for an element matching `css`.
    pub async fn wait_for(&self, css: &str, timeout: Duration) -> Result<Elem> {
        let end = Instant::now() + timeout;
        loop {
            if let Some(e) = self.find(css).await? {
                return Ok(e);
            }
            if Instant::now() > end {
                bail!("no {css} after {:.1} s", timeout.as_secs_f64());
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    pub async fn text(&self, e: &Elem) -> Result<String> {
        Ok(self
            .get(&format!("/element/{}/text", e.0))
            .await?
            .as_str()
            .unwrap_or_default()
            .to_string())
    }

    pub async fn attr(&self, e: &Elem, name: &str) -> Result<Option<String>> {
        Ok(self
            .get(&format!("/element/{}/attribute/{name}", e.0))
            .await?
            .as_str()
            .map(String::from))
    }

    /// Click `e` after scrolling it to the middle of the window: WebDriver
    /// scrolls it only to the bottom edge, where a sticky footer (the pop's
    /// actions) can cover it ("element click intercepted").
    pub async fn click(&self, e: &Elem) -> Result<()> {
        let _ = self
            .execute(
                "arguments[0].scrollIntoView({block: 'center', inline: 'nearest'})",
                json!([{ ELEMENT: e.0 }]),
            )
            .await;
        self.post(&format!("/element/{}/click", e.0), json!({}))
            .await?;
        Ok(())
    }

    pub async fn clear(&self, e: &Elem) -> Result<()> {
        self.post(&format!("/element/{}/clear", e.0), json!({}))
            .await?;
        Ok(())
    }

    pub async fn type_text(&self, e: &Elem, text: &str) -> Result<()> {
        self.post(&format!("/element/{}/value", e.0), json!({"text": text}))
            .await?;
        Ok(())
    }

    /// Run `script` (a function body; `arguments` holds `args`) in the page.
    pub async fn execute(&self, script: &str, args: Value) -> Result<Value> {
        self.post("/execute/sync", json!({"script": script, "args": args}))
            .await
    }

    pub async fn window_handles(&self) -> Result<Vec<String>> {
        let v = self.get("/window/handles").await?;
        Ok(v.as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|h| h.as_str().map(String::from))
                    .collect()
            })
            .unwrap_or_default())
    }

    pub async fn current_window(&self) -> Result<String> {
        Ok(self
            .get("/window")
            .await?
            .as_str()
            .unwrap_or_default()
            .to_string())
    }

    pub async fn switch_to(&self, handle: &str) -> Result<()> {
        self.post("/window", json!({"handle": handle})).await?;
        Ok(())
    }

    /// Switch to the first window holding an element matching `css`
    /// (waiting up to `timeout`); returns its handle.
    pub async fn switch_to_window_with(&self, css: &str, timeout: Duration) -> Result<String> {
        let end = Instant::now() + timeout;
        loop {
            for h in self.window_handles().await? {
                if self.switch_to(&h).await.is_ok() && self.find(css).await.ok().flatten().is_some()
                {
                    return Ok(h);
                }
            }
            if Instant::now() > end {
                bail!("no window with {css} after {:.1} s", timeout.as_secs_f64());
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// A PNG of the current window, written to `path`.
    pub async fn screenshot(&self, path: &Path) -> Result<()> {
        let v = self.get("/screenshot").await?;
        let png = base64::engine::general_purpose::STANDARD
            .decode(
                v.as_str()
                    .ok_or_else(|| anyhow!("screenshot is not a string"))?,
            )
            .context("screenshot is not base64")?;
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        std::fs::write(path, png).with_context(|| format!("writing {}", path.display()))?;
        Ok(())
    }
}

/// Poll `f` until it returns `Some` or `timeout` passes; the last error (or
/// "timed out") otherwise.
pub async fn eventually<T, F, Fut>(what: &str, timeout: Duration, mut f: F) -> Result<T>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<Option<T>>>,
{
    let end = Instant::now() + timeout;
    let mut last_err = None;
    loop {
        match f().await {
            Ok(Some(v)) => return Ok(v),
            Ok(None) => {}
            Err(e) => last_err = Some(e),
        }
        if Instant::now() > end {
            return Err(match last_err {
                Some(e) => e.context(format!(
                    "{what}: timed out after {:.1} s",
                    timeout.as_secs_f64()
                )),
                None => anyhow!("{what}: timed out after {:.1} s", timeout.as_secs_f64()),
            });
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
