//! `/api/v1/contacts`: the hub's local address book, for the agent's
//! search-as-you-type box and "create contact" from an unknown caller.

use axum::extract::State;
use axum::http::StatusCode;
use ringside_addressbook::AddressBook;
use ringside_api::{ContactsQuery, DEFAULT_CONTACTS, MAX_CONTACTS, NewContact};
use ringside_core::{Contact, Error};

use crate::api::AuthAgent;
use crate::error::{ApiError, ApiJson, ApiQuery};
use crate::state::AppState;

/// Longest search text, in characters.
const MAX_QUERY_CHARS: usize = 200;

fn book(state: &AppState) -> Result<AddressBook, ApiError> {
    state
        .address_book
        .clone()
        .ok_or_else(|| Error::config("this hub has no local address book").into())
}

/// Run `f` on the address book off the async threads.
async fn with_book<T: Send + 'static>(
    book: AddressBook,
    f: impl FnOnce(&AddressBook) -> ringside_core::Result<T> + Send + 'static,
) -> Result<T, ApiError> {
    tokio::task::spawn_blocking(move || f(&book))
        .await
        .map_err(|e| Error::internal(format!("address book task failed: {e}")))?
        .map_err(ApiError::from)
}

/// `GET /api/v1/contacts?q=&limit=`: contacts matching every word of `q`
/// (names starting with it first); an empty `q` lists them alphabetically.
pub async fn search(
    State(state): State<AppState>,
    AuthAgent(_agent): AuthAgent,
    ApiQuery(query): ApiQuery<ContactsQuery>,
) -> Result<ApiJson<Vec<Contact>>, ApiError> {
    let limit = query.limit.unwrap_or(DEFAULT_CONTACTS);
    if limit == 0 || limit > MAX_CONTACTS {
        return Err(ApiError::invalid(format!(
            "`limit` must be between 1 and {MAX_CONTACTS}"
        )));
    }
    if query.q.chars().count() > MAX_QUERY_CHARS {
        return Err(ApiError::invalid(format!(
            "`q` is longer than {MAX_QUERY_CHARS} characters"
        )));
    }
    let book = book(&state)?;
    let q = query.q;
    let contacts = with_book(book, move |b| b.search(q.trim(), limit)).await?;
    Ok(ApiJson(contacts))
}

/// `POST /api/v1/contacts`: add a contact; `201` with it as stored.
pub async fn create(
    State(state): State<AppState>,
    AuthAgent(_agent): AuthAgent,
    ApiJson(new): ApiJson<NewContact>,
) -> Result<(StatusCode, ApiJson<Contact>), ApiError> {
    let book = book(&state)?;
    let new = to_book(new);
    let contact = with_book(book, move |b| b.add_contact(&new)).await?;
    Ok((StatusCode::CREATED, ApiJson(contact)))
}

fn to_book(c: NewContact) -> ringside_addressbook::NewContact {
    ringside_addressbook::NewContact {
        name: c.name,
        company: c.company,
        phones: c
            .phones
            .into_iter()
            .map(|p| ringside_addressbook::NewPhone {
                label: p.label,
                number: p.number,
            })
            .collect(),
        email: c.email,
        notes: c.notes,
    }
}
