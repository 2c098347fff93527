//! [`HubClient`]: one method per route of the hub's agent API.

use std::time::Duration;

use bytes::BytesMut;
use reqwest::{Method, RequestBuilder, Response, Url};
use ringside_api::{
    CallDetail, CallPage, CallQuery, ContactsQuery, CrmCheck, CrmLink, CrmRetried, CrmRetryBody,
    CrmState, DialBody, Done, Health, HubStatus, Me, NewContact, NotesBody, NumberInfo,
    TransferBody,
};
use ringside_core::{Call, CallId, Contact, Error, ErrorKind, Extension, Result, Sensitive};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::error::{parse_error, transport};
use crate::live::LiveFeed;

/// Time limit of one request (connect + answer); the live feed has its own.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
/// Time limit to open a connection.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// Largest answer read, in bytes (a page of 1000 calls fits many times).
const MAX_ANSWER_BYTES: usize = 32 * 1024 * 1024;

/// A client of one hub, acting for the agent whose token it holds. Cheap to
/// clone; clones share the connection pool.
#[derive(Clone)]
pub struct HubClient {
    pub(crate) http: reqwest::Client,
    base: Url,
    token: Sensitive<String>,
}

impl std::fmt::Debug for HubClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HubClient")
            .field("base", &self.base.as_str())
            .field("token", &self.token)
            .finish_non_exhaustive()
    }
}

impl HubClient {
    /// A client of the hub at `base_url` (`http://127.0.0.1:8700`; a path
    /// prefix such as `https://pbx.example/ringside` is kept).
    pub fn new(base_url: &str, token: Sensitive<String>) -> Result<HubClient> {
        let mut base = Url::parse(base_url.trim())
            .map_err(|e| Error::invalid(format!("hub URL {base_url:?}: {e}")))?;
        if !matches!(base.scheme(), "http" | "https") || base.cannot_be_a_base() {
            return Err(Error::invalid(format!(
                "hub URL {base_url:?} must start with http:// or https://"
            )));
        }
        if token.expose().trim().is_empty() {
            return Err(Error::new(
                ErrorKind::Unauthorized,
                "the hub token is empty",
            ));
        }
        base.set_query(None);
        base.set_fragment(None);
        let http = reqwest::Client::builder()
            .connect_timeout(CONNECT_TIMEOUT)
            .build()
            .map_err(|e| Error::internal(format!("building the HTTP client: {e}")))?;
        Ok(HubClient { http, base, token })
    }

    /// The hub's base URL.
    pub fn base_url(&self) -> &str {
        self.base.as_str()
    }

    /// `GET /api/v1/me`
    pub async fn me(&self) -> Result<Me> {
        self.call_json(Method::GET, &["me"], None::<&()>, None::<&()>)
            .await
    }

    /// `GET /api/v1/calls`: one page of the agent's calls, newest first.
    pub async fn calls(&self, query: &CallQuery) -> Result<CallPage> {
        self.call_json(Method::GET, &["calls"], Some(query), None::<&()>)
            .await
    }

    /// `GET /api/v1/calls/{id}`
    pub async fn call(&self, id: &CallId) -> Result<CallDetail> {
        self.call_json(
            Method::GET,
            &["calls", id.as_str()],
            None::<&()>,
            None::<&()>,
        )
        .await
    }

    /// `PUT /api/v1/calls/{id}/notes`; blank text clears a field.
    pub async fn set_notes(
        &self,
        id: &CallId,
        notes: Option<String>,
        disposition: Option<String>,
    ) -> Result<Call> {
        let body = NotesBody { notes, disposition };
        self.call_json(
            Method::PUT,
            &["calls", id.as_str(), "notes"],
            None::<&()>,
            Some(&body),
        )
        .await
    }

    /// `GET /api/v1/lookup?number=`
    pub async fn lookup(&self, number: &str) -> Result<NumberInfo> {
        self.call_json(
            Method::GET,
            &["lookup"],
            Some(&[("number", number)]),
            None::<&()>,
        )
        .await
    }

    /// `POST /api/v1/dial`: the agent's extension calls `destination`.
    pub async fn dial(&self, destination: &str) -> Result<Call> {
        let body = DialBody {
            destination: destination.to_string(),
        };
        self.call_json(Method::POST, &["dial"], None::<&()>, Some(&body))
            .await
    }

    /// `POST /api/v1/calls/{id}/hangup`
    pub async fn hang_up(&self, id: &CallId) -> Result<()> {
        let _: Done = self
            .call_json(
                Method::POST,
                &["calls", id.as_str(), "hangup"],
                None::<&()>,
                None::<&()>,
            )
            .await?;
        Ok(())
    }

    /// `POST /api/v1/calls/{id}/transfer` (cold transfer).
    pub async fn transfer(&self, id: &CallId, destination: &str) -> Result<()> {
        let body = TransferBody {
            destination: destination.to_string(),
        };
        let _: Done = self
            .call_json(
                Method::POST,
                &["calls", id.as_str(), "transfer"],
                None::<&()>,
                Some(&body),
            )
            .await?;
        Ok(())
    }

    /// `GET /api/v1/extensions`
    pub async fn extensions(&self) -> Result<Vec<Extension>> {
        self.call_json(Method::GET, &["extensions"], None::<&()>, None::<&()>)
            .await
    }

    /// `GET /api/v1/contacts?q=&limit=`: search-as-you-type; an empty `q`
    /// lists contacts alphabetically. `limit` is 1..=200.
    pub async fn contacts(&self, q: &str, limit: usize) -> Result<Vec<Contact>> {
        let query = ContactsQuery {
            q: q.to_string(),
            limit: Some(limit),
        };
        self.call_json(Method::GET, &["contacts"], Some(&query), None::<&()>)
            .await
    }

    /// `POST /api/v1/contacts`: the contact as stored.
    pub async fn create_contact(&self, contact: &NewContact) -> Result<Contact> {
        self.call_json(Method::POST, &["contacts"], None::<&()>, Some(contact))
            .await
    }

    /// `GET /api/v1/status`: the PBX and the journal as the hub sees them.
    pub async fn status(&self) -> Result<HubStatus> {
        self.call_json(Method::GET, &["status"], None::<&()>, None::<&()>)
            .await
    }

    /// `GET /api/v1/crms`: each enabled CRM with its outbox state.
    pub async fn crms(&self) -> Result<Vec<CrmState>> {
        self.call_json(Method::GET, &["crms"], None::<&()>, None::<&()>)
            .await
    }

    /// `POST /api/v1/crms/{id}/retry`: retry one parked operation, or all
    /// of them (and anything waiting on a backoff) when `op_id` is `None`.
    pub async fn crm_retry(&self, id: &str, op_id: Option<i64>) -> Result<CrmRetried> {
        let body = CrmRetryBody { op_id };
        self.call_json(
            Method::POST,
            &["crms", id, "retry"],
            None::<&()>,
            Some(&body),
        )
        .await
    }

    /// `POST /api/v1/crms/{id}/check`: test the CRM connection.
    pub async fn crm_check(&self, id: &str) -> Result<CrmCheck> {
        self.call_json(
            Method::POST,
            &["crms", id, "check"],
            None::<&()>,
            None::<&()>,
        )
        .await
    }

    /// `GET /api/v1/crms/links?number=`: where to open `number` in each CRM.
    pub async fn crm_links(&self, number: &str) -> Result<Vec<CrmLink>> {
        self.call_json(
            Method::GET,
            &["crms", "links"],
            Some(&[("number", number)]),
            None::<&()>,
        )
        .await
    }

    /// `GET /healthz` (no token): `Ok` when the hub reads its journal.
    pub async fn health(&self) -> Result<Health> {
        let url = self.url(&["healthz"], false);
        let response = self.send(self.http.get(url)).await?;
        let status = response.status();
        let headers = response.headers().clone();
        let body = self.read(response).await?;
        if status.is_success() {
            return decode(&body);
        }
        match serde_json::from_slice::<Health>(&body) {
            Ok(health) => Err(Error::new(
                ErrorKind::Unavailable,
                format!("the hub cannot read its journal: {}", health.journal),
            )),
            Err(_) => Err(parse_error(status, &headers, &body)),
        }
    }

    /// The live call feed (see [`LiveFeed`]): updates after `after` (`Some(0)`
    /// replays everything; `None` starts from now).
    pub fn live(&self, after: Option<i64>) -> LiveFeed {
        LiveFeed::new(self.clone(), after)
    }

    /// `{base}/api/v1/{segments}` (or `{base}/{segments}` outside the API),
    /// each segment percent-encoded.
    pub(crate) fn url(&self, segments: &[&str], api: bool) -> Url {
        let mut url = self.base.clone();
        if let Ok(mut path) = url.path_segments_mut() {
            path.pop_if_empty();
            if api {
                path.extend(["api", "v1"]);
            }
            path.extend(segments);
        }
        url
    }

    /// A request to the API with the agent's token.
    pub(crate) fn request(&self, method: Method, segments: &[&str]) -> RequestBuilder {
        self.http
            .request(method, self.url(segments, true))
            .bearer_auth(self.token.expose())
    }

    async fn call_json<T: DeserializeOwned>(
        &self,
        method: Method,
        segments: &[&str],
        query: Option<&(impl Serialize + ?Sized)>,
        body: Option<&(impl Serialize + ?Sized)>,
    ) -> Result<T> {
        let mut request = self.request(method, segments).timeout(REQUEST_TIMEOUT);
        if let Some(query) = query {
            request = request.query(query);
        }
        if let Some(body) = body {
            request = request.json(body);
        }
        let response = self.send(request).await?;
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = self.read(response).await?;
        if !status.is_success() {
            return Err(parse_error(status, &headers, &bytes));
        }
        decode(&bytes)
    }

    pub(crate) async fn send(&self, request: RequestBuilder) -> Result<Response> {
        request
            .send()
            .await
            .map_err(|e| transport(self.base.as_str(), &e, REQUEST_TIMEOUT))
    }

    /// The answer's body, at most `MAX_ANSWER_BYTES`.
    pub(crate) async fn read(&self, mut response: Response) -> Result<Vec<u8>> {
        let mut out = BytesMut::new();
        while let Some(chunk) = response
            .chunk()
            .await
            .map_err(|e| transport(self.base.as_str(), &e, REQUEST_TIMEOUT))?
        {
            if out.len() + chunk.len() > MAX_ANSWER_BYTES {
                return Err(Error::internal(format!(
                    "the hub's answer is larger than {MAX_ANSWER_BYTES} bytes"
                )));
            }
            out.extend_from_slice(&chunk);
        }
        Ok(out.to_vec())
    }
}

fn decode<T: DeserializeOwned>(bytes: &[u8]) -> Result<T> {
    serde_json::from_slice(bytes)
        .map_err(|e| Error::internal(format!("unexpected answer from the hub: {e}")))
}
