//! `ringside-hub replay`: post recorded events (JSON-array files, e.g. the
//! vendor examples) to a running hub's webhook, in order, one at a time.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use ringside_core::Sensitive;
use serde_json::Value;

/// What to replay, where.
#[derive(Debug, Clone)]
pub struct ReplayOptions {
    /// The webhook URL, e.g. `http://127.0.0.1:8700/webhooks/gamma`.
    pub url: String,
    /// The header carrying the webhook secret.
    pub secret_header: String,
    /// The webhook secret.
    pub secret: Sensitive<String>,
    /// JSON files, each an array of events (or one event object).
    pub files: Vec<PathBuf>,
}

/// The answer to one posted event.
#[derive(Debug, Clone)]
pub struct Posted {
    pub file: PathBuf,
    pub index: usize,
    pub status: u16,
    pub body: String,
}

/// The events of one file: a JSON array of objects, or one object.
pub fn events_of(text: &str) -> anyhow::Result<Vec<String>> {
    let value: Value = serde_json::from_str(text).context("not valid JSON")?;
    match value {
        Value::Array(events) => Ok(events.iter().map(Value::to_string).collect()),
        Value::Object(_) => Ok(vec![value.to_string()]),
        _ => anyhow::bail!("expected a JSON array of events"),
    }
}

/// Post every event of every file, in order; `on_posted` sees each answer.
/// Stops at the first event that could not be sent at all.
pub async fn replay(
    options: &ReplayOptions,
    mut on_posted: impl FnMut(&Posted),
) -> anyhow::Result<Vec<Posted>> {
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .context("building the HTTP client")?;
    let mut all = Vec::new();
    for file in &options.files {
        let text = tokio::fs::read_to_string(file)
            .await
            .with_context(|| format!("reading {}", file.display()))?;
        let events = events_of(&text).with_context(|| format!("in {}", file.display()))?;
        for (index, body) in events.into_iter().enumerate() {
            let response = client
                .post(&options.url)
                .header(reqwest::header::CONTENT_TYPE, "application/json")
                .header(
                    options.secret_header.as_str(),
                    options.secret.expose().as_str(),
                )
                .body(body)
                .send()
                .await
                .with_context(|| format!("posting event {index} of {}", file.display()))?;
            let status = response.status().as_u16();
            let body = response.text().await.unwrap_or_default();
            let posted = Posted {
                file: file.clone(),
                index,
                status,
                body,
            };
            on_posted(&posted);
            all.push(posted);
        }
    }
    Ok(all)
}
