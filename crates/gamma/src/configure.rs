//! The body of the `configure` request: where and how the PBX posts events.

use std::collections::BTreeMap;

use reqwest::Url;
use reqwest::header::HeaderName;
use ringside_core::{Error, Result, Sensitive};
use serde_json::{Map, Value, json};

/// What `POST {base}/configure` sets.
///
/// Header values are [`Sensitive`]: one of them is normally the shared secret
/// the webhook checks, so it never shows in `Debug` or logs.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Configure {
    /// Where the PBX posts events (`events_callback_url`).
    pub events_callback_url: String,
    /// Headers the PBX adds to every event request (`events_callback_headers`).
    pub events_callback_headers: BTreeMap<String, Sensitive<String>>,
    /// Parameters the PBX adds to every event request (`events_callback_parameters`).
    pub events_callback_parameters: BTreeMap<String, String>,
    /// Addresses or CIDR networks allowed to use the API key
    /// (`allowed_ip_addresses`); `None` keeps the PBX's current list.
    pub allowed_ip_addresses: Option<Vec<String>>,
}

impl Configure {
    /// A configuration that only sets the callback URL.
    pub fn new(events_callback_url: impl Into<String>) -> Self {
        Self {
            events_callback_url: events_callback_url.into(),
            ..Self::default()
        }
    }

    /// Add a header the PBX will send with every event.
    pub fn header(mut self, name: impl Into<String>, value: Sensitive<String>) -> Self {
        self.events_callback_headers.insert(name.into(), value);
        self
    }

    /// Check the configuration before anything is sent.
    pub fn validate(&self) -> Result<()> {
        let url = Url::parse(self.events_callback_url.trim()).map_err(|e| {
            Error::invalid(format!(
                "events_callback_url `{}` is not a URL: {e}",
                self.events_callback_url
            ))
        })?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(Error::invalid(format!(
                "events_callback_url must be http or https, got `{}`",
                url.scheme()
            )));
        }
        for name in self.events_callback_headers.keys() {
            HeaderName::from_bytes(name.as_bytes()).map_err(|_| {
                Error::invalid(format!(
                    "events_callback_headers: `{name}` is not a valid HTTP header name"
                ))
            })?;
        }
        if let Some(ips) = &self.allowed_ip_addresses
            && let Some(blank) = ips.iter().find(|ip| ip.trim().is_empty())
        {
            return Err(Error::invalid(format!(
                "allowed_ip_addresses contains a blank entry: {blank:?}"
            )));
        }
        Ok(())
    }

    /// The JSON body, with the header values exposed (only ever sent to the PBX).
    pub(crate) fn to_body(&self) -> Value {
        let headers: Map<String, Value> = self
            .events_callback_headers
            .iter()
            .map(|(k, v)| (k.clone(), Value::String(v.expose().clone())))
            .collect();
        let mut body = json!({
            "events_callback_url": self.events_callback_url.trim(),
            "events_callback_headers": headers,
            "events_callback_parameters": self.events_callback_parameters,
        });
        if let (Some(ips), Value::Object(map)) = (&self.allowed_ip_addresses, &mut body) {
            map.insert("allowed_ip_addresses".into(), json!(ips));
        }
        body
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn body_carries_every_field_and_debug_hides_secrets() {
        let mut c = Configure::new("https://example.com/vtcrm/callback")
            .header("X-Ringside-Secret", Sensitive::new("s3cret".into()));
        c.events_callback_parameters
            .insert("tenant".into(), "acme".into());
        c.allowed_ip_addresses = Some(vec!["193.22.119.28".into(), "218.32.3.0/32".into()]);
        c.validate().unwrap();
        assert_eq!(
            c.to_body(),
            json!({
                "events_callback_url": "https://example.com/vtcrm/callback",
                "events_callback_headers": {"X-Ringside-Secret": "s3cret"},
                "events_callback_parameters": {"tenant": "acme"},
                "allowed_ip_addresses": ["193.22.119.28", "218.32.3.0/32"],
            })
        );
        assert!(!format!("{c:?}").contains("s3cret"));
        let keep = Configure::new("https://example.com/cb").to_body();
        assert!(keep.get("allowed_ip_addresses").is_none());
    }

    #[test]
    fn validation_names_the_problem() {
        let cases = [
            (Configure::new("not a url"), "is not a URL"),
            (Configure::new("ftp://example.com/cb"), "http or https"),
            (
                Configure::new("https://e.com/cb").header("bad header", Sensitive::default()),
                "not a valid HTTP header name",
            ),
            (
                Configure {
                    allowed_ip_addresses: Some(vec![" ".into()]),
                    ..Configure::new("https://e.com/cb")
                },
                "blank entry",
            ),
        ];
        for (c, needle) in cases {
            let e = c.validate().unwrap_err();
            assert_eq!(e.kind, ringside_core::ErrorKind::Invalid);
            assert!(e.message.contains(needle), "{}", e.message);
        }
    }
}
