//! OAuth against the emulator: single-use refresh tokens rotated into the
//! store, one refresh on a 401, a revoked connection, long-lived tokens.

mod common;

use std::sync::Arc;

use common::*;
use ringside_amocrm::{AmoAuth, AmoCrm, REFRESH_REFUSED, TokenStore};
use ringside_core::{Error, ErrorKind, Result, Sensitive};
use ringside_crm::CrmProvider;

fn auth_headers(env: &Env) -> Vec<String> {
    env.emulator
        .requests()
        .into_iter()
        .filter(|r| r.path.starts_with("/api/v4/"))
        .filter_map(|r| r.authorization)
        .collect()
}

#[tokio::test]
async fn a_forced_refresh_stores_the_new_token_and_kills_the_old() {
    let env = demo().await;
    let (settings, store, original) = oauth(&env);
    let crm = adapter(settings.clone());
    crm.check().await.unwrap(); // first use refreshes: token #2 in the store
    let second = store.get().unwrap();
    assert_ne!(second.expose(), &original);
    assert!(crm.refresh_credentials().await.unwrap());
    let third = store.get().unwrap();
    assert_ne!(third.expose(), second.expose());
    assert_eq!(env.emulator.refreshes(), 2);
    // The adapter keeps working with the new token.
    crm.check().await.unwrap();

    // Whoever still holds the old token is refused by amo.
    let mut stale = settings;
    if let AmoAuth::OAuth { refresh_token, .. } = &mut stale.auth {
        *refresh_token = second.clone();
    }
    let e = adapter(stale).check().await.unwrap_err();
    assert_eq!(e.kind, ErrorKind::Unauthorized);
    assert!(e.message.starts_with(REFRESH_REFUSED), "{}", e.message);
    // And the stored (newest) token works for a new adapter.
    let mut fresh = oauth(&env).0;
    if let AmoAuth::OAuth { refresh_token, .. } = &mut fresh.auth {
        *refresh_token = third;
    }
    adapter(fresh).check().await.unwrap();
}

#[tokio::test]
async fn a_401_refreshes_once_then_succeeds() {
    let env = demo().await;
    let (settings, store, _) = oauth(&env);
    let crm = adapter(settings);
    crm.check().await.unwrap();
    assert_eq!(env.emulator.refreshes(), 1);
    let before = store.get().unwrap();
    env.emulator.expire_access_tokens();
    let users = crm.users().await.unwrap();
    assert!(!users.is_empty());
    assert_eq!(env.emulator.refreshes(), 2);
    assert_ne!(store.get().unwrap().expose(), before.expose());
    let statuses: Vec<u16> = env
        .emulator
        .requests()
        .into_iter()
        .filter(|r| r.path == "/api/v4/users")
        .map(|r| r.status)
        .collect();
    assert_eq!(statuses, vec![401, 200]);
}

#[tokio::test]
async fn concurrent_401s_share_one_refresh() {
    let env = demo().await;
    let (settings, _, _) = oauth(&env);
    let crm = Arc::new(adapter(settings));
    crm.check().await.unwrap();
    env.emulator.expire_access_tokens();
    let a = tokio::spawn({
        let crm = crm.clone();
        async move { crm.users().await }
    });
    let b = tokio::spawn({
        let crm = crm.clone();
        async move { crm.check().await }
    });
    a.await.unwrap().unwrap();
    b.await.unwrap().unwrap();
    assert_eq!(env.emulator.refreshes(), 2);
}

#[tokio::test]
async fn a_revoked_connection_says_reconnect() {
    let env = demo().await;
    let (settings, _, _) = oauth(&env);
    let crm = adapter(settings);
    crm.check().await.unwrap();
    env.emulator.revoke_all_tokens();
    let e = crm.check().await.unwrap_err();
    assert_eq!(e.kind, ErrorKind::Unauthorized);
    assert!(
        e.message.contains("reconnect amoCRM in Settings"),
        "{}",
        e.message
    );
}

#[tokio::test]
async fn a_long_lived_token_works_without_refreshing() {
    let env = demo().await;
    let crm = adapter(long_lived(&env));
    let info = crm.check().await.unwrap();
    assert!(info.account.ends_with("(ringside)"), "{}", info.account);
    assert_eq!(info.detail.as_deref(), Some("calls via API v4"));
    assert!(!crm.refresh_credentials().await.unwrap());
    assert_eq!(env.emulator.refreshes(), 0);
    let token = env.emulator.config().long_lived_token.unwrap();
    assert!(
        auth_headers(&env)
            .iter()
            .all(|h| h == &format!("Bearer {token}"))
    );
    // A wrong long-lived token is Unauthorized with what to do.
    let mut bad = long_lived(&env);
    bad.auth = AmoAuth::LongLived {
        token: Sensitive::new("nope".into()),
    };
    let e = adapter(bad).check().await.unwrap_err();
    assert_eq!(e.kind, ErrorKind::Unauthorized);
    assert!(e.message.contains("long-lived token"), "{}", e.message);
}

struct BrokenStore;

impl TokenStore for BrokenStore {
    fn save(&self, _: &Sensitive<String>) -> Result<()> {
        Err(Error::storage("the keyring is locked"))
    }
}

#[tokio::test]
async fn a_failed_save_keeps_the_new_token_and_says_so() {
    let env = demo().await;
    let (mut settings, _, _) = oauth(&env);
    if let AmoAuth::OAuth { store, .. } = &mut settings.auth {
        *store = Arc::new(BrokenStore);
    }
    let crm = AmoCrm::new(settings, throttle()).unwrap();
    let e = crm.check().await.unwrap_err();
    assert_eq!(e.kind, ErrorKind::Storage);
    assert!(e.message.contains("the keyring is locked"), "{}", e.message);
    assert!(e.message.contains("kept in memory"), "{}", e.message);
    assert!(crm.tokens().unwrap().unsaved().await);
    // The token in memory still works: no second refresh was needed.
    crm.check().await.unwrap();
    assert_eq!(env.emulator.refreshes(), 1);
}
