//! 1,000 concurrent calls through one client in each token situation: every call succeeds
//! (or, for a tool app whose authorisation is gone, fails fast) with at most one
//! token.refresh and at most one token.create (a revoked self-use token: one of each).

use std::sync::Arc;
use std::time::{Duration, Instant};

use doudian_gateway::{Fault, FaultRule, Gateway, RunningGateway};
use doudian_sdk::api::shop::ShopBrandListRequest;
use doudian_sdk::token::{FileTokenStore, MemoryTokenStore, StoredToken, TokenStore};
use doudian_sdk::{Client, Error};
use e2e_tests::*;
use tokio::task::JoinSet;

const CALLS: usize = 1000;

/// Runs `n` calls of shop.brandList at once; returns their outcomes and the wall time.
async fn burst(client: &Client, n: usize) -> (Vec<Result<usize, Error>>, Duration) {
    let started = Instant::now();
    let mut calls = JoinSet::new();
    for _ in 0..n {
        let client = client.clone();
        calls.spawn(async move { client.execute(&ShopBrandListRequest::new()).await.map(|r| r.0.len()) });
    }
    let mut outcomes = Vec::with_capacity(n);
    while let Some(result) = calls.join_next().await {
        outcomes.push(result.expect("no panic"));
    }
    (outcomes, started.elapsed())
}

fn assert_all_succeed(outcomes: &[Result<usize, Error>]) {
    let failures: Vec<String> = outcomes.iter().filter_map(|o| o.as_ref().err()).map(|e| e.to_string()).collect();
    assert!(failures.is_empty(), "{} of {} calls failed, e.g. {:?}", failures.len(), outcomes.len(), failures.first());
}

/// The token.refresh and token.create requests the gateway received.
fn token_calls(gw: &RunningGateway) -> (u64, u64) {
    (gw.calls("token.refresh"), gw.calls("token.create"))
}

/// A client of `gw`'s shop over `store` (self-use unless `tool_app`).
fn client_over(gw: &RunningGateway, store: Arc<dyn TokenStore>, tool_app: bool) -> Client {
    let builder = Client::builder(gw.app_key(), gw.app_secret())
        .base_url(gw.base_url())
        .env_proxy(false)
        .timeout(Duration::from_secs(20))
        .retry(fast_retry(3))
        .token_store(store);
    match tool_app {
        true => builder.build().unwrap().for_shop(gw.shop_id().to_string()),
        false => builder.shop_id(gw.shop_id().to_string()).build().unwrap(),
    }
}

/// A token the gateway issued, in a fresh memory store, as the SDK keeps it with
/// `expires_at` of its own choosing (the client's clock cannot be moved).
async fn holding(gw: &RunningGateway, expires_at: Option<u64>) -> (Arc<MemoryTokenStore>, StoredToken) {
    let issued = gw.issue_token();
    let now = now_secs();
    let token: StoredToken = serde_json::from_value(serde_json::json!({
        "access_token": issued.access_token,
        "refresh_token": issued.refresh_token,
        "expires_at": expires_at.unwrap_or(now + issued.expires_in),
        "refresh_expires_at": now + 14 * 86400,
        "shop_id": gw.shop_id().to_string(),
    }))
    .unwrap();
    let store = Arc::new(MemoryTokenStore::new());
    store.save(&gw.shop_id().to_string(), &token).await.unwrap();
    (store, token)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_valid_token_is_used_as_it_is() {
    let gw = gateway().await;
    let (store, _) = holding(&gw, None).await;
    let (outcomes, took) = burst(&client_over(&gw, store, false), CALLS).await;
    assert_all_succeed(&outcomes);
    assert_eq!(token_calls(&gw), (0, 0));
    eprintln!("valid: {CALLS} calls in {took:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn thirty_minutes_left_refreshes_once() {
    let gw = Gateway::builder().token_ttl(Duration::from_secs(1800)).start().await.unwrap();
    let (store, token) = holding(&gw, None).await;
    let client = client_over(&gw, store, false);
    let (outcomes, took) = burst(&client, CALLS).await;
    assert_all_succeed(&outcomes);
    assert_eq!(token_calls(&gw), (1, 0));
    assert_eq!(gw.counters().refreshes.rotated, 1);
    assert_ne!(client.token().await.unwrap().access_token, token.access_token);
    eprintln!("30 minutes left: {CALLS} calls in {took:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expired_token_is_refreshed_once_before_use() {
    let gw = gateway().await;
    let (store, token) = holding(&gw, Some(now_secs() - 5)).await;
    gw.expire_token(token.access_token.expose());
    let (outcomes, took) = burst(&client_over(&gw, store, false), CALLS).await;
    assert_all_succeed(&outcomes);
    assert_eq!(token_calls(&gw), (1, 0));
    assert_eq!(gw.counters().token_failures, 0, "no call went out with the expired token");
    eprintln!("expired: {CALLS} calls in {took:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_the_platform_calls_expired_is_refreshed_once() {
    let gw = gateway().await;
    let (store, token) = holding(&gw, None).await;
    gw.expire_token(token.access_token.expose());
    let (outcomes, took) = burst(&client_over(&gw, store, false), CALLS).await;
    assert_all_succeed(&outcomes);
    assert_eq!(token_calls(&gw), (1, 0));
    assert_eq!(gw.counters().refreshes.after_expiry, 1);
    eprintln!("platform says expired: {CALLS} calls in {took:?}, {} rejected", gw.counters().token_failures);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revoked_self_use_token_is_refreshed_once_then_created_once() {
    let gw = gateway().await;
    let (store, token) = holding(&gw, None).await;
    gw.revoke_token(token.access_token.expose());
    let (outcomes, took) = burst(&client_over(&gw, store, false), CALLS).await;
    assert_all_succeed(&outcomes);
    assert_eq!(token_calls(&gw), (1, 1));
    assert_eq!(gw.counters().refreshes.refused, 1);
    eprintln!("revoked, self-use: {CALLS} calls in {took:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revoked_tool_app_token_fails_every_call_fast_after_one_refresh() {
    let gw = gateway().await;
    let (store, token) = holding(&gw, None).await;
    gw.revoke_token(token.access_token.expose());
    let client = client_over(&gw, store, true);
    let (outcomes, took) = burst(&client, CALLS).await;
    assert!(outcomes.iter().all(Result::is_err), "a revoked authorisation cannot succeed");
    for error in outcomes.iter().filter_map(|o| o.as_ref().err()) {
        let api = error.api().unwrap_or_else(|| panic!("{error}"));
        assert_eq!((api.code, api.sub_code.as_str()), (50001, "dop.token-generate-failed:token-invalid"), "{api}");
    }
    assert_eq!(token_calls(&gw), (1, 0));
    // Later calls fail at once, without a request.
    let requests = gw.counters().requests;
    let error = client.execute(&ShopBrandListRequest::new()).await.unwrap_err();
    assert_eq!(error.api().map(|a| a.code), Some(50001));
    assert_eq!(gw.counters().requests, requests);
    eprintln!("revoked, tool app: {CALLS} failures in {took:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_empty_store_creates_one_token() {
    let gw = gateway().await;
    let (outcomes, took) = burst(&client_over(&gw, Arc::new(MemoryTokenStore::new()), false), CALLS).await;
    assert_all_succeed(&outcomes);
    assert_eq!(token_calls(&gw), (0, 1));
    eprintln!("empty store: {CALLS} calls in {took:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_file_store_creates_one_token() {
    let gw = gateway().await;
    let dir = TempDir::new("situations");
    let store = Arc::new(FileTokenStore::new(dir.path().join("tokens.json")));
    let (outcomes, took) = burst(&client_over(&gw, store.clone(), false), CALLS).await;
    assert_all_succeed(&outcomes);
    assert_eq!(token_calls(&gw), (0, 1));
    assert!(store.load(&gw.shop_id().to_string()).await.unwrap().is_some());
    eprintln!("file store: {CALLS} calls in {took:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rate_limited_refresh_never_stalls_calls_while_the_token_is_valid() {
    let gw = Gateway::builder().token_ttl(Duration::from_secs(1800)).start().await.unwrap();
    gw.inject(FaultRule::new(Fault::RateLimit).for_method("token.refresh"));
    let (store, token) = holding(&gw, None).await;
    let client = client_over(&gw, store, false);
    let (outcomes, took) = burst(&client, 200).await;
    assert_all_succeed(&outcomes);
    let (refreshes, creates) = token_calls(&gw);
    assert!((1..=3).contains(&refreshes) && creates == 0, "{refreshes} refreshes, {creates} creates");
    assert_eq!(client.token().await.unwrap().access_token, token.access_token);
    eprintln!("refresh rate-limited: 200 calls in {took:?}, {refreshes} refresh attempts");
}
