//! A client's rate limiter against the gateway's per-method quota: paced calls are never
//! throttled, and an adaptive limit learns the quota from the 60000 answers.

use std::sync::Arc;
use std::time::{Duration, Instant};

use doudian_gateway::{Gateway, RunningGateway};
use doudian_sdk::api::shop::ShopBrandListRequest;
use doudian_sdk::ratelimit::{LocalRateLimiter, RateLimits};
use doudian_sdk::Client;
use e2e_tests::*;
use tokio::task::JoinSet;

const METHOD: &str = "shop.brandList";

async fn limited_gateway(qps: u32) -> RunningGateway {
    Gateway::builder().method_qps(METHOD, qps).start().await.unwrap()
}

/// `calls` calls at once through `client`; how long they took.
async fn burst(client: &Client, calls: usize) -> Duration {
    let started = Instant::now();
    let mut tasks = JoinSet::new();
    for _ in 0..calls {
        let client = client.clone();
        tasks.spawn(async move { client.execute(&ShopBrandListRequest::new()).await.map(|_| ()) });
    }
    while let Some(outcome) = tasks.join_next().await {
        outcome.unwrap().expect("every call succeeds");
    }
    started.elapsed()
}

fn throttled(gw: &RunningGateway) -> u64 {
    gw.counters().codes.get(METHOD).and_then(|codes| codes.get(&60000)).copied().unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn calls_paced_at_the_quota_are_never_throttled() {
    let gw = limited_gateway(40).await;
    let client = client_builder(&gw).rate_limits(RateLimits::new().method(METHOD, 40.0)).build().unwrap();
    client.token().await.unwrap();
    // 80 calls at once: the gateway's bucket (40 at once, then 40/s) would throttle
    // about 40 of them unpaced; paced at 40/s, none, and they take 79 intervals.
    let took = burst(&client, 80).await;
    assert_eq!(throttled(&gw), 0);
    assert!(took >= Duration::from_millis(1900), "{took:?}");
    assert_eq!(gw.calls(METHOD), 80);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_adaptive_limit_slows_down_after_60000s() {
    let gw = limited_gateway(40).await;
    let limiter = Arc::new(LocalRateLimiter::new(RateLimits::adaptive()));
    let client = client_builder(&gw).rate_limiter(limiter.clone()).retry(fast_retry(20)).build().unwrap();
    client.token().await.unwrap();
    assert_eq!(limiter.current_rate(METHOD), None, "unpaced until the platform says otherwise");
    burst(&client, 200).await;
    let rate = limiter.current_rate(METHOD).expect("paced after the first 60000");
    assert!((10.0..=60.0).contains(&rate), "learnt a rate near the quota of 40/s: {rate}");
    let first = throttled(&gw);
    assert!(first > 0, "the quota was reached");
    // The gateway's bucket refills in real time: after a second's rest it holds 40 calls
    // again, however slowly this machine ran the first burst.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    // Now paced at r ≤ 60/s: the k-th call reaches the gateway no sooner than (k-1)/r
    // after the first, when the bucket has 40 + 40·(k-1)/r tokens, enough for every k up
    // to 118, so none of 60 is throttled. Unpaced, 20 of them would be.
    burst(&client, 60).await;
    let more = throttled(&gw) - first;
    assert_eq!(more, 0, "60000s once paced at {rate}/s (first burst: {first})");
}
