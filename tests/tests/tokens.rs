//! Tokens over real HTTP: single-flight refresh under concurrency, expiry in the middle
//! of a run, revocation, and a file store that outlives the client.

use std::sync::Arc;
use std::time::Duration;

use doudian_gateway::{Gateway, RunningGateway};
use doudian_sdk::api::order::OrderSearchListRequest;
use doudian_sdk::api::shop::ShopBrandListRequest;
use doudian_sdk::client::Authorized;
use doudian_sdk::token::{FileTokenStore, MemoryTokenStore, StoredToken, TokenStore};
use doudian_sdk::{Client, Error};
use e2e_tests::*;
use tokio::task::JoinSet;

const SEARCH: &str = "order.searchList";

/// `token` as the SDK would hold it had `expires_at` been `expires_at` (the client's view of
/// time cannot be moved, so the stored token is aged instead).
fn aged(token: &StoredToken, expires_at: u64) -> StoredToken {
    let mut json = serde_json::to_value(token).unwrap();
    json["expires_at"] = expires_at.into();
    serde_json::from_value(json).unwrap()
}

/// Runs `n` calls at once on a multi-threaded runtime; every one must succeed.
async fn concurrent_calls(client: &Client, n: usize) {
    let mut calls = JoinSet::new();
    for i in 0..n {
        let client = client.clone();
        calls.spawn(async move {
            if i % 2 == 0 {
                client.execute(&ShopBrandListRequest::new()).await.map(|r| r.0.len())
            } else {
                client.page(&OrderSearchListRequest::new(0, 2)).await.map(|p| p.items.len())
            }
        });
    }
    let mut done = 0;
    while let Some(result) = calls.join_next().await {
        let count = result.expect("no panic").expect("every call succeeds");
        assert!(count > 0);
        done += 1;
    }
    assert_eq!(done, n);
}

/// A gateway whose tokens live 120 s and rotate in their last 60 s, a client that
/// refreshes in the same window, and the token it created.
async fn short_lived() -> (RunningGateway, StoredToken) {
    let gw = Gateway::builder()
        .token_ttl(Duration::from_secs(120))
        .refresh_window(Duration::from_secs(60))
        .start()
        .await
        .unwrap();
    let first = client_builder(&gw).refresh_window(Duration::from_secs(60)).build().unwrap();
    let token = first.token().await.unwrap();
    let left = token.expires_at - now_secs();
    assert!((118..=121).contains(&left), "{left}");
    (gw, token)
}

/// A client for `gw` starting from `token` in a fresh memory store.
async fn client_holding(gw: &RunningGateway, token: &StoredToken) -> (Client, Arc<MemoryTokenStore>) {
    let store = Arc::new(MemoryTokenStore::new());
    store.save(&gw.shop_id().to_string(), token).await.unwrap();
    let client = client_builder(gw).refresh_window(Duration::from_secs(60)).token_store(store.clone()).build().unwrap();
    (client, store)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_concurrent_calls_with_an_expiring_token_refresh_once() {
    let (gw, token) = short_lived().await;
    // 70 s later on both sides: 50 s left, inside the last minute.
    gw.advance_clock(Duration::from_secs(70));
    let (client, store) = client_holding(&gw, &aged(&token, now_secs() + 50)).await;

    concurrent_calls(&client, 50).await;
    let counters = gw.counters();
    assert_eq!(gw.calls("token.refresh"), 1, "single-flight refresh");
    assert_eq!(counters.refreshes.rotated, 1);
    assert_eq!(gw.calls("token.create"), 1, "only the first client's");
    assert_eq!(counters.token_failures, 0, "no call went out with a stale token");

    // The new pair is in use and persisted.
    let fresh = client.token().await.unwrap();
    assert_ne!(fresh.access_token, token.access_token);
    assert_ne!(fresh.refresh_token, token.refresh_token);
    let stored = store.load(&gw.shop_id().to_string()).await.unwrap().unwrap();
    assert_eq!(stored, fresh);
    assert!((118..=121).contains(&(fresh.expires_at - now_secs())));

    // Fresh for two more minutes: no more refreshes.
    concurrent_calls(&client, 50).await;
    assert_eq!(gw.calls("token.refresh"), 1);
}

#[tokio::test]
async fn early_refresh_gets_the_same_pair_and_its_real_lifetime() {
    let (gw, token) = short_lived().await;
    // The client believes the token is about to expire; the platform knows it has 2 minutes.
    let (client, store) = client_holding(&gw, &aged(&token, now_secs() + 30)).await;
    client.execute(&ShopBrandListRequest::new()).await.unwrap();
    client.execute(&ShopBrandListRequest::new()).await.unwrap();
    assert_eq!(gw.counters().refreshes.same_pair, 1);
    assert_eq!(gw.calls("token.refresh"), 1, "the corrected lifetime stops further refreshes");
    let stored = store.load(&gw.shop_id().to_string()).await.unwrap().unwrap();
    assert_eq!(stored.access_token, token.access_token);
    assert!((118..=121).contains(&(stored.expires_at - now_secs())), "{}", stored.expires_at - now_secs());
    assert_eq!(stored.refresh_expires_at, token.refresh_expires_at, "same pair: same refresh-token life");
}

#[tokio::test]
async fn token_expired_mid_run_is_refreshed_and_the_call_retried_once() {
    let gw = gateway().await;
    let client = client(&gw);
    client.page(&OrderSearchListRequest::new(0, 1)).await.unwrap();
    let old = client.token().await.unwrap();
    assert!(gw.expire_token(old.access_token.expose()));

    let page = client.page(&OrderSearchListRequest::new(0, 3)).await.unwrap();
    assert_eq!(page.items.len(), 3);
    let counters = gw.counters();
    assert_eq!(gw.calls(SEARCH), 1 + 2, "the rejected call and its one retry");
    assert_eq!(counters.token_failures, 1);
    assert_eq!(counters.refreshes.after_expiry, 1);
    assert_eq!(gw.calls("token.refresh"), 1);
    assert_eq!(gw.calls("token.create"), 1);
    let fresh = client.token().await.unwrap();
    assert_ne!(fresh.access_token, old.access_token);

    // The old token is dead at the gateway: used explicitly, it is refused.
    let options = doudian_sdk::CallOptions::new().access_token(old.access_token.clone());
    let err = client.execute_with(&OrderSearchListRequest::new(0, 1), &options).await.unwrap_err();
    assert!(err.is_token_expired(), "{err:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn token_expired_under_concurrent_calls_is_refreshed_once() {
    let gw = gateway().await;
    let client = client(&gw);
    let old = client.token().await.unwrap();
    gw.expire_token(old.access_token.expose());
    concurrent_calls(&client, 20).await;
    let counters = gw.counters();
    assert_eq!(gw.calls("token.refresh"), 1);
    assert_eq!(counters.refreshes.after_expiry, 1);
    assert_eq!(gw.calls("token.create"), 1);
    let rejected = counters.token_failures;
    assert!((1..=20).contains(&rejected), "{rejected}");
    assert_eq!(counters.requests, 1 + 1 + 20 + rejected, "create + refresh + 20 calls + one retry per rejection");
}

#[tokio::test]
async fn revoked_token_is_replaced_by_a_new_grant() {
    let gw = gateway().await;
    let client = client(&gw);
    let old = client.token().await.unwrap();
    assert!(gw.revoke_token(old.access_token.expose()));
    client.execute(&ShopBrandListRequest::new()).await.unwrap();
    let counters = gw.counters();
    assert_eq!(counters.refreshes.refused, 1, "the revoked refresh token is refused");
    assert_eq!(counters.tokens_created, 2, "so a self-use app creates a new token");
    assert_eq!(gw.calls("shop.brandList"), 2);
    assert_ne!(client.token().await.unwrap().access_token, old.access_token);
}

#[tokio::test]
async fn tool_app_shops_refresh_independently() {
    let gw = gateway().await;
    let app = Client::builder(gw.app_key(), gw.app_secret())
        .base_url(gw.base_url())
        .env_proxy(false)
        .retry(fast_retry(3))
        .build()
        .unwrap();
    let Authorized { shop: a, token: token_a, .. } = app.authorize_code(gw.mint_auth_code(gw.shop_id())).await.unwrap();
    let Authorized { shop: b, token: token_b, .. } = app.authorize_code(gw.mint_auth_code(6_000_002)).await.unwrap();
    gw.expire_token(token_b.access_token.expose());
    a.execute(&ShopBrandListRequest::new()).await.unwrap();
    b.execute(&ShopBrandListRequest::new()).await.unwrap();
    assert_eq!(gw.calls("token.refresh"), 1);
    assert_eq!(a.token().await.unwrap().access_token, token_a.access_token);
    assert_ne!(b.token().await.unwrap().access_token, token_b.access_token);

    // A tool app cannot mint a token by itself: once a shop's pair is gone, it must be
    // authorised again, and the error says so.
    let token_a = a.token().await.unwrap();
    gw.revoke_token(token_a.access_token.expose());
    let err = a.execute(&ShopBrandListRequest::new()).await.unwrap_err();
    let api = err.api().unwrap_or_else(|| panic!("{err:?}"));
    assert_eq!(
        (api.method.as_str(), api.code, api.sub_code.as_str()),
        ("token.refresh", 50001, "dop.token-generate-failed:token-invalid"),
        "{api}"
    );

    assert_eq!(gw.counters().tokens_created, 2);
}

#[tokio::test]
async fn file_token_store_survives_a_client_restart() {
    let dir = TempDir::new("tokens");
    let path = dir.path().join("tokens.json");
    let build =
        |gw: &RunningGateway| client_builder(gw).token_store(Arc::new(FileTokenStore::new(&path))).build().unwrap();
    let gw = gateway().await;

    let first = build(&gw);
    first.execute(&ShopBrandListRequest::new()).await.unwrap();
    let created = first.token().await.unwrap();
    drop(first);
    let key = gw.shop_id().to_string();
    let shop_file = FileTokenStore::new(&path).token_path(&key);
    let file: serde_json::Value = serde_json::from_slice(&std::fs::read(&shop_file).unwrap()).unwrap();
    assert_eq!(file["access_token"].as_str(), Some(created.access_token.expose()));

    // A new process (a new client and store on the same file) reuses the token.
    let second = build(&gw);
    second.execute(&ShopBrandListRequest::new()).await.unwrap();
    assert_eq!(gw.calls("token.create"), 1, "no second token.create");
    assert_eq!(second.token().await.unwrap(), created);

    // A refresh is persisted too: the next restart starts from the new pair.
    gw.expire_token(created.access_token.expose());
    second.execute(&ShopBrandListRequest::new()).await.unwrap();
    let refreshed = second.token().await.unwrap();
    assert_ne!(refreshed.access_token, created.access_token);
    drop(second);
    let third = build(&gw);
    third.execute(&ShopBrandListRequest::new()).await.unwrap();
    assert_eq!(third.token().await.unwrap(), refreshed);
    assert_eq!((gw.calls("token.create"), gw.calls("token.refresh")), (1, 1));
    assert_eq!(gw.counters().token_failures, 1);
    // Only the store's directory, with the shop's file and its lock files, is left behind:
    // no temporary files.
    let names = |dir: &std::path::Path| {
        let mut names: Vec<_> =
            std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
        names.sort();
        names
    };
    assert_eq!(names(dir.path()), ["tokens.json.d"]);
    assert_eq!(
        names(&dir.path().join("tokens.json.d")),
        [format!("{key}.json"), format!("{key}.lock"), format!("{key}.renew.lock")]
    );
}

#[tokio::test]
async fn corrupt_token_file_is_a_typed_error() {
    let dir = TempDir::new("corrupt");
    let path = dir.path().join("tokens.json");
    std::fs::write(&path, b"{ not json").unwrap();
    let gw = gateway().await;
    let client = client_builder(&gw).token_store(Arc::new(FileTokenStore::new(&path))).build().unwrap();
    let err = client.execute(&ShopBrandListRequest::new()).await.unwrap_err();
    assert!(matches!(err, Error::TokenStore { .. }), "{err:?}");
    assert!(err.to_string().contains("is not a token file"), "{err}");
    assert_eq!(gw.counters().requests, 0, "nothing was sent");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rate_limited_refresh_of_a_valid_token_is_not_repeated_by_every_caller() {
    let (gw, token) = short_lived().await;
    gw.advance_clock(Duration::from_secs(70));
    let (client, _store) = client_holding(&gw, &aged(&token, now_secs() + 50)).await;
    gw.inject(doudian_gateway::FaultRule::new(doudian_gateway::Fault::RateLimit).for_method("token.refresh").times(1));
    concurrent_calls(&client, 20).await;
    // One opportunistic attempt, limited; it backs off instead of being retried by each call.
    assert_eq!(gw.calls("token.refresh"), 1);
    assert_eq!(gw.counters().refreshes.rotated, 0);
    assert_eq!(gw.counters().token_failures, 0, "the still-valid token served every call");
    assert_eq!(client.token().await.unwrap().access_token, token.access_token);
}

#[tokio::test]
async fn a_failed_refresh_keeps_serving_the_still_valid_token() {
    let (gw, token) = short_lived().await;
    gw.advance_clock(Duration::from_secs(70));
    let (client, _store) = client_holding(&gw, &aged(&token, now_secs() + 50)).await;
    gw.inject(doudian_gateway::FaultRule::new(doudian_gateway::Fault::ServiceBusy).for_method("token.refresh"));
    for _ in 0..5 {
        client.execute(&ShopBrandListRequest::new()).await.unwrap();
    }
    assert_eq!(gw.calls("token.refresh"), 1, "failures back off");
    assert_eq!((gw.calls("shop.brandList"), gw.counters().token_failures), (5, 0));
    assert_eq!(gw.counters().refreshes.rotated, 0);
    assert_eq!(client.token().await.unwrap().access_token, token.access_token);
}

#[tokio::test]
async fn a_token_found_expired_is_refreshed_before_the_call() {
    let (gw, token) = short_lived().await;
    gw.advance_clock(Duration::from_secs(130));
    let (client, _store) = client_holding(&gw, &aged(&token, now_secs() - 10)).await;
    client.execute(&ShopBrandListRequest::new()).await.unwrap();
    let counters = gw.counters();
    assert_eq!(counters.refreshes.after_expiry, 1);
    assert_eq!(counters.token_failures, 0, "refreshed before use, not after a rejection");
    assert_eq!(gw.calls("shop.brandList"), 1);
}

#[tokio::test]
async fn a_dead_refresh_token_falls_back_to_a_new_self_use_token() {
    let gw = Gateway::builder()
        .token_ttl(Duration::from_secs(120))
        .refresh_ttl(Duration::from_secs(150))
        .refresh_window(Duration::from_secs(60))
        .start()
        .await
        .unwrap();
    let first = client_builder(&gw).refresh_window(Duration::from_secs(60)).build().unwrap();
    let token = first.token().await.unwrap();
    gw.advance_clock(Duration::from_secs(200));
    let (client, store) = client_holding(&gw, &aged(&token, now_secs() - 10)).await;
    client.execute(&ShopBrandListRequest::new()).await.unwrap();
    let counters = gw.counters();
    assert_eq!(counters.refreshes.refused, 1);
    assert_eq!(counters.tokens_created, 2);
    let stored = store.load(&gw.shop_id().to_string()).await.unwrap().unwrap();
    assert_ne!(stored.access_token, token.access_token);
}
