//! The token manager against the emulated accounts server: refresh ahead of
//! expiry, once on INVALID_TOKEN, single flight, the mint budget, revoked
//! tokens, api_domain, and the first-time authorisation flow.

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::*;
use ringside_core::{Direction, ErrorKind, NumberPlan};
use ringside_crm::{CrmProvider, OpKind};
use ringside_zoho::{
    SCOPES, TokenManager, ZohoCrm, ZohoSettings, authorize_url, exchange_code, parse_redirect,
};
use ringside_zoho_emulator::{EmulatorConfig, Fault, Scope};

fn lookups(env: &Env) -> usize {
    env.emulator
        .requests()
        .iter()
        .filter(|r| r.path.ends_with("/callerdetails"))
        .count()
}

#[tokio::test]
async fn the_token_is_reused_then_refreshed_ahead_of_expiry() {
    let env = demo().await;
    let (crm, clock) = adapter_with_clock(&env);
    let variants = NumberPlan::default().variants("+34647460197");
    crm.lookup(&variants).await.unwrap();
    crm.lookup(&variants).await.unwrap();
    assert_eq!(env.emulator.mints_for(&env.refresh_token), 1);

    // 54 minutes later: 6 left, more than the 5-minute margin.
    let step = Duration::from_secs(54 * 60);
    env.emulator.advance(step);
    clock.advance(chrono::Duration::from_std(step).unwrap());
    crm.lookup(&variants).await.unwrap();
    assert_eq!(env.emulator.mints_for(&env.refresh_token), 1);

    // 56 minutes: less than the margin left (the token still works at
    // Zoho): refreshed before use, no request is refused.
    let step = Duration::from_secs(2 * 60);
    env.emulator.advance(step);
    clock.advance(chrono::Duration::from_std(step).unwrap());
    crm.lookup(&variants).await.unwrap();
    assert_eq!(env.emulator.mints_for(&env.refresh_token), 2);
    assert!(env.emulator.requests().iter().all(|r| r.status != 401));
}

#[tokio::test]
async fn a_short_token_lifetime_in_seconds_is_honoured() {
    let env = start(EmulatorConfig {
        token_lifetime: Duration::from_secs(2),
        ..EmulatorConfig::default()
    })
    .await;
    let mut s = settings(&env);
    s.refresh_margin = Duration::from_secs(1);
    let crm = ZohoCrm::new(s, throttle()).unwrap();
    let variants = NumberPlan::default().variants("+34647460197");
    crm.lookup(&variants).await.unwrap();
    crm.lookup(&variants).await.unwrap();
    assert_eq!(
        env.emulator.mints(),
        1,
        "2 s is seconds, not 2 ms or 2000 s"
    );
    tokio::time::sleep(Duration::from_millis(1100)).await;
    crm.lookup(&variants).await.unwrap();
    assert_eq!(env.emulator.mints(), 2);
    assert!(env.emulator.requests().iter().all(|r| r.status != 401));
}

#[tokio::test]
async fn invalid_token_refreshes_once_and_retries_once() {
    let env = demo().await;
    let crm = adapter(&env);
    let c = call("call-1", Direction::Inbound);
    crm.deliver(&op(OpKind::Ring, &c, Some(user("201", &env.ids.ana))))
        .await
        .unwrap();
    assert_eq!(env.emulator.mints(), 1);
    env.emulator.expire_access_tokens();
    crm.deliver(&op(OpKind::Answered, &c, Some(user("201", &env.ids.ana))))
        .await
        .unwrap();
    assert_eq!(env.emulator.mints(), 2, "exactly one extra mint");
    let statuses: Vec<u16> = env
        .emulator
        .requests()
        .iter()
        .filter(|r| r.path.ends_with("/callanswered"))
        .map(|r| r.status)
        .collect();
    assert_eq!(statuses, vec![401, 200]);
    assert_eq!(env.emulator.events().len(), 2);
}

#[tokio::test]
async fn concurrent_callers_share_one_refresh() {
    let env = demo().await;
    let crm = Arc::new(adapter(&env));
    let mut tasks = Vec::new();
    for _ in 0..20 {
        let crm = Arc::clone(&crm);
        tasks.push(tokio::spawn(async move {
            crm.lookup(&NumberPlan::default().variants("647460197"))
                .await
        }));
    }
    for t in tasks {
        assert_eq!(t.await.unwrap().unwrap().len(), 1);
    }
    assert_eq!(env.emulator.mints(), 1);
    assert_eq!(lookups(&env), 20);

    // After a mass INVALID_TOKEN, the 20 share one refresh again.
    env.emulator.expire_access_tokens();
    let mut tasks = Vec::new();
    for _ in 0..20 {
        let crm = Arc::clone(&crm);
        tasks.push(tokio::spawn(async move {
            crm.lookup(&NumberPlan::default().variants("647460197"))
                .await
        }));
    }
    for t in tasks {
        t.await.unwrap().unwrap();
    }
    assert_eq!(env.emulator.mints(), 2);
}

#[tokio::test]
async fn never_more_than_ten_mints_in_ten_minutes() {
    let env = demo().await;
    let (crm, clock) = adapter_with_clock(&env);
    for i in 0..10 {
        assert!(crm.refresh_credentials().await.unwrap(), "mint {}", i + 1);
    }
    for _ in 0..2 {
        let e = crm.refresh_credentials().await.unwrap_err();
        assert_eq!(e.kind, ErrorKind::RateLimited);
        assert_eq!(
            e.message,
            "Zoho allows 10 new access tokens per 10 minutes; waiting"
        );
        let wait = e.retry_after.unwrap();
        assert!(
            wait > Duration::from_secs(590) && wait <= Duration::from_secs(600),
            "{wait:?}"
        );
    }
    assert_eq!(env.emulator.mints_for(&env.refresh_token), 10);
    assert_eq!(crm.tokens().mints_in_window().await, 10);
    // The current token still serves requests.
    crm.lookup(&NumberPlan::default().variants("647460197"))
        .await
        .unwrap();
    assert_eq!(env.emulator.mints_for(&env.refresh_token), 10);

    // Once the oldest leaves the window, one more is allowed.
    let step = Duration::from_secs(601);
    env.emulator.advance(step);
    clock.advance(chrono::Duration::from_std(step).unwrap());
    assert!(crm.refresh_credentials().await.unwrap());
    assert_eq!(env.emulator.mints_for(&env.refresh_token), 11);
}

#[tokio::test]
async fn zohos_own_mint_cap_answer_is_rate_limited_and_blocks_minting() {
    // Zoho counted mints we do not know of (another process, a restart).
    let env = start(EmulatorConfig {
        mint_limit: 2,
        ..EmulatorConfig::default()
    })
    .await;
    let crm = adapter(&env);
    crm.refresh_credentials().await.unwrap();
    crm.refresh_credentials().await.unwrap();
    let e = crm.refresh_credentials().await.unwrap_err();
    assert_eq!(e.kind, ErrorKind::RateLimited);
    assert_eq!(e.retry_after, Some(Duration::from_secs(600)));
    let token_requests = |env: &Env| {
        env.emulator
            .requests()
            .iter()
            .filter(|r| r.path == "/oauth/v2/token")
            .count()
    };
    assert_eq!(token_requests(&env), 3);
    // Blocked locally: no further request to the accounts server.
    let e = crm.refresh_credentials().await.unwrap_err();
    assert_eq!(e.kind, ErrorKind::RateLimited);
    assert_eq!(token_requests(&env), 3);
}

#[tokio::test]
async fn a_revoked_refresh_token_asks_to_reconnect() {
    let env = demo().await;
    env.emulator.revoke_refresh_token(&env.refresh_token);
    let crm = adapter(&env);
    let e = crm.check().await.unwrap_err();
    assert_eq!(e.kind, ErrorKind::Unauthorized);
    assert!(e.message.contains("reconnect Zoho"), "{}", e.message);
    let e = crm
        .lookup(&NumberPlan::default().variants("647460197"))
        .await
        .unwrap_err();
    assert_eq!(e.kind, ErrorKind::Unauthorized);
}

#[tokio::test]
async fn a_wrong_client_secret_is_a_config_error() {
    let env = demo().await;
    let mut s = settings(&env);
    s.client_secret = "wrong".to_string().into();
    let e = ZohoCrm::new(s, throttle())
        .unwrap()
        .check()
        .await
        .unwrap_err();
    assert_eq!(e.kind, ErrorKind::Config);
    assert!(
        e.message.contains("Zoho rejected the client id/secret"),
        "{}",
        e.message
    );
}

#[tokio::test]
async fn token_requests_take_throttle_permits_and_keep_secrets_out_of_the_url_logs() {
    let env = demo().await;
    env.emulator.inject(Fault::ServerError {
        status: 503,
        times: 1,
        scope: Scope::Accounts,
    });
    let crm = adapter(&env);
    let e = crm.refresh_credentials().await.unwrap_err();
    assert_eq!(e.kind, ErrorKind::Unavailable);
    assert_eq!(env.emulator.mints(), 0);
    assert!(crm.refresh_credentials().await.unwrap());
    // The refresh went to the accounts server with the query-string params.
    let r = env
        .emulator
        .requests()
        .into_iter()
        .rfind(|r| r.path == "/oauth/v2/token")
        .unwrap();
    assert_eq!(r.method, "POST");
    assert!(
        r.query
            .iter()
            .any(|(k, v)| k == "grant_type" && v == "refresh_token")
    );
}

#[tokio::test]
async fn the_first_time_flow_authorize_redirect_exchange() {
    let env = demo().await;
    let config = env.emulator.config();
    let redirect_uri = "http://127.0.0.1:53682/zoho/callback";
    let url = authorize_url(
        &env.emulator.accounts_url(),
        &config.client_id,
        redirect_uri,
        "st4te-xyz",
        SCOPES,
    );
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let consent = http.get(&url).send().await.unwrap();
    assert_eq!(consent.status().as_u16(), 302);
    let location = consent.headers()["location"].to_str().unwrap().to_string();
    assert!(location.starts_with(redirect_uri), "{location}");

    // A redirect carrying another state is refused.
    let e = parse_redirect(&location, "another-state").unwrap_err();
    assert_eq!(e.kind, ErrorKind::Invalid);

    let grant = parse_redirect(&location, "st4te-xyz").unwrap();
    assert_eq!(grant.location.as_deref(), Some("eu"));
    let server = grant.exchange_server(&env.emulator.accounts_url()).unwrap();
    assert_eq!(server, env.emulator.accounts_url().trim_end_matches('/'));
    let tokens = exchange_code(
        &http,
        &server,
        &config.client_id,
        &config.client_secret,
        redirect_uri,
        grant.code.expose(),
    )
    .await
    .unwrap();
    assert_eq!(tokens.api_domain, env.emulator.api_domain());
    assert_eq!(tokens.expires_in, config.token_lifetime);
    assert!(!tokens.refresh_token.expose().is_empty());

    // The code works once.
    let e = exchange_code(
        &http,
        &server,
        &config.client_id,
        &config.client_secret,
        redirect_uri,
        grant.code.expose(),
    )
    .await
    .unwrap_err();
    assert_eq!(e.kind, ErrorKind::Unauthorized);
    assert!(e.message.contains("authorisation code"), "{}", e.message);

    // The new refresh token works, and a seeded manager uses the exchanged
    // access token without minting.
    let mints = env.emulator.mints();
    let s = ZohoSettings::new(
        env.emulator.accounts_url(),
        config.client_id.clone(),
        config.client_secret.clone(),
        tokens.refresh_token.expose().clone(),
    );
    let crm = ZohoCrm::new(s, throttle()).unwrap();
    crm.tokens().seed(&tokens).await;
    let info = crm.check().await.unwrap();
    assert!(
        info.account.contains(&env.emulator.api_domain()),
        "{}",
        info.account
    );
    assert_eq!(env.emulator.mints(), mints);
    assert!(crm.refresh_credentials().await.unwrap());
    assert_eq!(env.emulator.mints_for(tokens.refresh_token.expose()), 2);
    let _: &TokenManager = crm.tokens();
}
