//! State shared through a real `redis-server` (one per test, on a free loopback port):
//! tokens renewed once by many clients, a Redis that goes down, pushes deduplicated
//! across two endpoint replicas, and one call quota shared by several processes.

use std::sync::Arc;
use std::time::Duration;

use doudian_gateway::{Gateway, OrderStatus, RunningGateway, TradeEvent};
use doudian_sdk::api::shop::ShopBrandListRequest;
use doudian_sdk::push::{PushEvent, PushRecord, PushVerifier, SeenStore};
use doudian_sdk::ratelimit::{RateLimiter, RateLimits};
use doudian_sdk::redis::{Redis, RedisPushQueue, RedisRateLimiter};
use doudian_sdk::token::TokenStore;
use doudian_sdk::webhook::PushQueue;
use doudian_sdk::webhook::{Accepted, PushEndpoint};
use doudian_sdk::{Client, Error};
use e2e_tests::redis_server::RedisServer;
use e2e_tests::*;
use tokio::task::JoinSet;

/// A self-use client of `gw` whose tokens live in `redis` (a new store: as a new process).
fn redis_client(gw: &RunningGateway, redis: &RedisServer) -> Client {
    let store = Redis::connect(&redis.url(), gw.app_key()).unwrap().token_store();
    client_builder(gw).token_store(store).build().unwrap()
}

/// `clients` clients (each with its own store and connection, like processes on several
/// machines) making `calls` calls each, all at once.
async fn fleet(gw: &RunningGateway, redis: &RedisServer, clients: usize, calls: usize) {
    let mut tasks = JoinSet::new();
    for _ in 0..clients {
        let client = redis_client(gw, redis);
        for _ in 0..calls {
            let client = client.clone();
            tasks.spawn(async move { client.execute(&ShopBrandListRequest::new()).await.map(|_| ()) });
        }
    }
    while let Some(outcome) = tasks.join_next().await {
        outcome.unwrap().expect("every call succeeds");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_clients_create_once_and_refresh_once() {
    let redis = RedisServer::start();
    let gw = gateway().await;
    fleet(&gw, &redis, 8, 25).await;
    assert_eq!((gw.calls("token.create"), gw.calls("token.refresh")), (1, 0));

    // Move into the token's last hour on both sides: the gateway's clock, and the expiry
    // the stored pair carries (the clients' clocks cannot move).
    let key = Redis::connect(&redis.url(), gw.app_key()).unwrap().token_store().key(&gw.shop_id().to_string());
    let mut stored: serde_json::Value = serde_json::from_str(&redis.command(&["GET", &key])).unwrap();
    let old_access = stored["access_token"].as_str().unwrap().to_owned();
    stored["expires_at"] = (now_secs() + 1800).into();
    assert_eq!(redis.command(&["SET", &key, &stored.to_string()]), "+OK");
    gw.advance_clock(Duration::from_secs(7 * 86400 - 1800));

    fleet(&gw, &redis, 8, 25).await;
    // The calls went on with the valid token; the renewal runs in the background of each
    // client (one refreshes under the lock, the others then read its pair): wait for it.
    let lock = format!("doudian:{}:token-lock:{}", gw.app_key(), gw.shop_id());
    for round in 0.. {
        if gw.calls("token.refresh") >= 1 && redis.command(&["EXISTS", &lock]) == ":0" {
            break;
        }
        assert!(round < 1500, "the background renewal never ended");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!((gw.calls("token.create"), gw.calls("token.refresh")), (1, 1), "one refresh for the fleet");
    assert_eq!(gw.counters().refreshes.rotated, 1);
    let renewed: serde_json::Value = serde_json::from_str(&redis.command(&["GET", &key])).unwrap();
    assert_ne!(renewed["access_token"].as_str().unwrap(), old_access);
    let ttl: i64 = redis.command(&["TTL", &key]).trim_start_matches(':').parse().unwrap();
    assert!(ttl > 14 * 86400, "kept past the refresh token's life: {ttl}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn when_redis_goes_down_a_valid_cached_token_keeps_serving_and_the_rest_is_a_typed_error() {
    let mut redis = RedisServer::start();
    let gw = gateway().await;
    let warm = redis_client(&gw, &redis);
    warm.execute(&ShopBrandListRequest::new()).await.unwrap();
    redis.stop();

    // The client holding a valid token goes on.
    for _ in 0..3 {
        warm.execute(&ShopBrandListRequest::new()).await.unwrap();
    }
    // A fresh one has no token and cannot read the store: a typed error.
    let cold = redis_client(&gw, &redis);
    let error = cold.execute(&ShopBrandListRequest::new()).await.unwrap_err();
    assert!(matches!(error, Error::TokenStore { .. }), "{error:?}");
    assert!(error.to_string().contains(&format!("127.0.0.1:{}", redis.port())), "{error}");
    assert_eq!(gw.calls("token.create"), 1, "no token is minted that could not be shared");
}

/// How many connections `redis` has accepted so far, this query's own included (a count
/// that only grows: unlike the list of open ones, it does not depend on when the server
/// notices that an earlier query's connection closed).
fn connections_made(redis: &RedisServer) -> u64 {
    let stats = redis.command(&["INFO", "stats"]);
    let line = stats.lines().find_map(|line| line.strip_prefix("total_connections_received:"));
    line.expect("INFO stats counts connections").trim().parse().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_stores_of_one_handle_share_its_connection() {
    let redis = RedisServer::start();
    let before = connections_made(&redis);
    let handle = Redis::connect(&redis.url(), "app").unwrap();
    assert_eq!(handle.token_store().load("1").await.unwrap(), None);
    assert!(handle.seen_store().first_time("m1").await.unwrap());
    let limiter = handle.rate_limiter(RateLimits::new().method("order.logisticsAdd", 50.0));
    RateLimiter::acquire(&limiter, "order.logisticsAdd").await;
    assert!(handle.push_queue().push(vec![PushRecord::new("0", "q1", "{}")]).await.unwrap());
    assert_eq!(
        connections_made(&redis) - before,
        1 + 1,
        "token store, seen store, rate limiter and queue writes on one connection (and this query's)"
    );
    // Another handle is another connection (another process, say), with the same keys.
    let before = connections_made(&redis);
    let other = Redis::connect(&redis.url(), "app").unwrap();
    assert!(!other.seen_store().first_time("m1").await.unwrap(), "the same keys");
    assert_eq!(connections_made(&redis) - before, 1 + 1);
    // Each store used its kind of key under the handle's one namespace.
    for key in ["doudian:app:push-seen:m1", "doudian:app:rate:order.logisticsAdd", "doudian:app:push-queue"] {
        assert_eq!(redis.command(&["EXISTS", key]), ":1", "{key}");
    }
}

/// The key names are what earlier versions wrote (`RedisTokenStore::new` and
/// `with_namespace`): spelled out here, so a rename cannot pass unnoticed, and read by a
/// process that cannot create tokens itself (a tool app), so nothing is minted anew.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokens_stored_by_an_earlier_version_are_read_after_the_upgrade() {
    let redis = RedisServer::start();
    let gw = gateway().await;
    let shop = gw.shop_id().to_string();
    // A pair issued to a process of this version, as JSON.
    redis_client(&gw, &redis).execute(&ShopBrandListRequest::new()).await.unwrap();
    let stored = redis.command(&["GET", &format!("doudian:{}:token:{shop}", gw.app_key())]);
    assert!(stored.contains("access_token"), "the default key: {stored:?}");
    // The same pair under a namespace, where an earlier `with_namespace(url, app, "staging")` kept it.
    let staging_key = format!("staging:{}:token:{shop}", gw.app_key());
    assert_eq!(redis.command(&["SET", &staging_key, &stored]), "+OK");
    assert_eq!(redis.command(&["DEL", &format!("doudian:{}:token:{shop}", gw.app_key())]), ":1");

    let staging = Redis::connect(&redis.url(), gw.app_key()).unwrap().namespace("staging");
    let tool = Client::builder(gw.app_key(), gw.app_secret())
        .base_url(gw.base_url())
        .env_proxy(false)
        .token_store(staging.token_store())
        .build()
        .unwrap()
        .for_shop(&shop);
    tool.execute(&ShopBrandListRequest::new()).await.unwrap();
    assert_eq!((gw.calls("token.create"), gw.calls("token.refresh")), (1, 0), "the stored pair was used");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_a_redis_restart_the_first_command_on_an_old_connection_succeeds() {
    let mut redis = RedisServer::start();
    let stores: Vec<_> = (0..8).map(|_| Redis::connect(&redis.url(), "app").unwrap().token_store()).collect();
    for store in &stores {
        assert_eq!(store.load("1").await.unwrap(), None, "connected");
    }
    redis.restart();
    // Each store's connection broke with the restart: its next command is sent again on a
    // new connection instead of failing.
    for store in &stores {
        assert_eq!(store.load("1").await.unwrap(), None);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_consent_while_redis_is_down_is_kept_used_and_saved_once_redis_is_back() {
    let mut redis = RedisServer::start();
    let gw = gateway().await;
    let store = Redis::connect(&redis.url(), gw.app_key()).unwrap().token_store();
    let tool = Client::builder(gw.app_key(), gw.app_secret())
        .base_url(gw.base_url())
        .env_proxy(false)
        .retry(fast_retry(3))
        .token_store(store)
        .build()
        .unwrap();
    redis.stop();
    // The platform uses the code up as it answers: the pair comes back with the store's error.
    let authorized = tool.authorize_code(gw.mint_auth_code(gw.shop_id())).await.unwrap();
    let error = authorized.save_error.as_ref().expect("the store was down");
    assert!(matches!(error, Error::TokenStore { .. }), "{error:?}");
    assert!(!authorized.is_saved());
    assert_eq!(tool.token_health().unsaved_shops, [gw.shop_id().to_string()]);
    // The held pair serves calls while Redis is down.
    authorized.shop.execute(&ShopBrandListRequest::new()).await.unwrap();
    redis.restart();
    let key = format!("doudian:{}:token:{}", gw.app_key(), gw.shop_id());
    let mut rounds = 0;
    while redis.command(&["EXISTS", &key]) != ":1" {
        rounds += 1;
        assert!(rounds < 3000, "the held pair never reached Redis: {:?}", tool.token_health());
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let stored: serde_json::Value = serde_json::from_str(&redis.command(&["GET", &key])).unwrap();
    assert_eq!(stored["access_token"].as_str(), Some(authorized.token.access_token.expose()));
    let health = tool.token_health();
    assert!(health.unsaved_shops.is_empty() && health.failed_saves >= 1, "{health:?}");
    assert_eq!(gw.counters().tokens_created, 1, "no second consent");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redis_restarted_empty_gets_the_pair_back_from_the_running_processes() {
    let mut redis = RedisServer::start();
    let gw = gateway().await;
    let running: Vec<Client> = (0..4)
        .map(|_| {
            let store = Redis::connect(&redis.url(), gw.app_key()).unwrap().token_store();
            client_builder(&gw).token_store(store).token_store_check(Duration::ZERO).build().unwrap()
        })
        .collect();
    for client in &running {
        client.execute(&ShopBrandListRequest::new()).await.unwrap();
    }
    let key = format!("doudian:{}:token:{}", gw.app_key(), gw.shop_id());
    redis.restart();
    assert_eq!(redis.command(&["EXISTS", &key]), ":0", "restarted empty");
    // The running processes lose no call, and their next calls write the held pair back.
    for client in &running {
        client.execute(&ShopBrandListRequest::new()).await.unwrap();
    }
    let mut rounds = 0;
    while redis.command(&["EXISTS", &key]) != ":1" {
        rounds += 1;
        assert!(rounds < 3000, "the pair was never written back");
        tokio::time::sleep(Duration::from_millis(20)).await;
        running[0].execute(&ShopBrandListRequest::new()).await.unwrap();
    }
    // A process started now, one that cannot create a token itself (a tool app), finds it.
    let store = Redis::connect(&redis.url(), gw.app_key()).unwrap().token_store();
    let newcomer = Client::builder(gw.app_key(), gw.app_secret())
        .base_url(gw.base_url())
        .env_proxy(false)
        .token_store(store)
        .build()
        .unwrap()
        .for_shop(gw.shop_id().to_string());
    newcomer.execute(&ShopBrandListRequest::new()).await.unwrap();
    assert_eq!((gw.calls("token.create"), gw.calls("token.refresh")), (1, 0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_renewal_lock_held_elsewhere_makes_others_wait_and_read_the_new_pair() {
    let redis = RedisServer::start();
    let gw = Gateway::builder().token_ttl(Duration::from_secs(1800)).start().await.unwrap();
    let store = Redis::connect(&redis.url(), gw.app_key()).unwrap().token_store();
    let shop = gw.shop_id().to_string();
    // Another process holds the lock...
    let held = store.lock_renewal(&shop, Duration::from_secs(5)).await.unwrap();
    assert!(held.is_held());
    let second = Redis::connect(&redis.url(), gw.app_key()).unwrap().token_store();
    let waited =
        tokio::time::timeout(Duration::from_millis(300), second.lock_renewal(&shop, Duration::from_secs(5))).await;
    assert!(waited.is_err(), "the lock is exclusive");
    // ... and releases it: the next taker gets it at once.
    held.release().await;
    let next = second.lock_renewal(&shop, Duration::from_secs(5)).await.unwrap();
    assert!(next.is_held());
    next.release().await;
    // A lease that runs out frees the lock without its holder.
    let abandoned = store.lock_renewal(&shop, Duration::from_millis(200)).await.unwrap();
    std::mem::forget(abandoned);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(second.lock_renewal(&shop, Duration::from_secs(5)).await.unwrap().is_held());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_push_posted_to_two_replicas_is_processed_once() {
    let redis = RedisServer::start();
    let gw = gateway().await;
    let (sender, mut events) = tokio::sync::mpsc::unbounded_channel::<(usize, PushEvent)>();
    let mut urls = Vec::new();
    for replica in 0..2 {
        let sender = sender.clone();
        let verifier = PushVerifier::new(gw.app_key(), gw.app_secret());
        let seen = Redis::connect(&redis.url(), gw.app_key()).unwrap().seen_store();
        let endpoint = PushEndpoint::new(verifier, move |event: PushEvent| {
            let sender = sender.clone();
            async move {
                let fail = event.msg_id().ends_with("-fail-once");
                sender.send((replica, event)).unwrap();
                if fail {
                    Err("the first handling fails")
                } else {
                    Ok(())
                }
            }
        })
        .seen_store(seen);
        let app: axum::Router = axum::Router::new().route("/push", endpoint.into_method_router());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        urls.push(format!("http://{}/push", listener.local_addr().unwrap()));
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    }
    let order_id = gw.order_ids(OrderStatus::AwaitingShipment)[0].clone();
    let paid = gw.trade_event(TradeEvent::Paid, &order_id).unwrap();
    for url in &urls {
        let delivery = gw.send_push(url, std::slice::from_ref(&paid)).await.unwrap();
        assert_eq!(delivery.status, 200, "both replicas acknowledge");
    }
    let (_, first) = tokio::time::timeout(Duration::from_secs(5), events.recv()).await.unwrap().unwrap();
    assert_eq!(first.msg_id(), paid.msg_id);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(events.try_recv().is_err(), "the second replica dropped the redelivery");

    // A failed handling is answered failure and forgets the id, so the redelivery to the
    // other replica is processed.
    let mut flaky = gw.trade_event(TradeEvent::MemoModified, &order_id).unwrap();
    flaky.msg_id = format!("{}-fail-once", flaky.msg_id);
    let delivery = gw.send_push(&urls[0], std::slice::from_ref(&flaky)).await.unwrap();
    assert_eq!(delivery.status, 503, "a failed handling is answered failure");
    let (replica, _) = tokio::time::timeout(Duration::from_secs(5), events.recv()).await.unwrap().unwrap();
    assert_eq!(replica, 0);
    let key = Redis::connect(&redis.url(), gw.app_key()).unwrap().seen_store().key(&flaky.msg_id);
    for _ in 0..100 {
        if redis.command(&["EXISTS", &key]) == ":0" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    gw.send_push(&urls[1], std::slice::from_ref(&flaky)).await.unwrap();
    let (replica, again) = tokio::time::timeout(Duration::from_secs(5), events.recv()).await.unwrap().unwrap();
    assert_eq!((replica, again.msg_id()), (1, flaky.msg_id.as_str()));
}

/// The Redis server's clock, in µs.
fn redis_time_us(redis: &RedisServer) -> u64 {
    let script = "local t = redis.call('TIME') return string.format('%d', t[1] * 1000000 + t[2])";
    redis.command(&["EVAL", script, "0"]).parse().expect("the server's time")
}

/// `limiters` limiters (as many processes) taking `each` slots of `method` at once: the
/// slots' times on the runtime's clock, in order.
async fn take_slots(limiters: Vec<Arc<RedisRateLimiter>>, method: &'static str, each: usize) -> Vec<Duration> {
    let start = tokio::time::Instant::now();
    let mut tasks = JoinSet::new();
    for limiter in limiters {
        tasks.spawn(async move {
            let mut at = Vec::new();
            for _ in 0..each {
                limiter.acquire(method).await;
                at.push(start.elapsed());
            }
            at
        });
    }
    let mut all = Vec::new();
    while let Some(at) = tasks.join_next().await {
        all.extend(at.unwrap());
    }
    all.sort();
    all
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn four_processes_share_one_quota_through_redis() {
    let redis = RedisServer::start();
    let limits = RateLimits::new().method("order.logisticsAdd", 50.0);
    let limiters: Vec<_> = (0..4)
        .map(|_| Arc::new(Redis::connect(&redis.url(), "app").unwrap().rate_limiter(limits.clone()).local_share(0.25)))
        .collect();
    // 100 slots among 4 processes at 50/s in all. The shared schedule (GCRA in Redis, on
    // the server's clock) moves its next free slot one interval (20 ms) per reservation,
    // from no earlier than the server's time: after 100 reservations it lies at least
    // 100 intervals past the start, and at most one past the end. A process pacing itself
    // locally would reserve nothing there. (Checked on the server's clock, not on when the
    // slots were seen here: a busy machine may see them late and bunched.)
    let started_us = redis_time_us(&redis);
    take_slots(limiters.clone(), "order.logisticsAdd", 25).await;
    let ended_us = redis_time_us(&redis);
    let next_free_us: u64 = redis.command(&["GET", "doudian:app:rate:order.logisticsAdd"]).parse().unwrap();
    assert!(next_free_us >= started_us + 100 * 20_000, "{} reservations' worth", (next_free_us - started_us) / 20_000);
    assert!(next_free_us <= ended_us + 20_000, "reserved past the last call");
    // Methods without a fixed limit are not sent to Redis.
    take_slots(limiters, "order.searchList", 50).await;
    assert!(redis.command(&["EXISTS", "doudian:app:rate:order.searchList"]).contains('0'));
}

// Paused Tokio time: the local pacing is measured on the runtime's clock, which only moves
// when every task waits, so a busy machine cannot stretch or bunch the slots.
#[tokio::test(start_paused = true)]
async fn without_redis_each_process_paces_itself_at_its_local_share() {
    let mut redis = RedisServer::start();
    let url = redis.url();
    redis.stop();
    let limiter = Arc::new(
        Redis::connect(&url, "app")
            .unwrap()
            .rate_limiter(RateLimits::new().method("order.logisticsAdd", 40.0))
            .local_share(0.25),
    );
    // 10 a second alone: the 11 slots are 100 ms apart on the runtime's clock.
    let at = take_slots(vec![limiter], "order.logisticsAdd", 11).await;
    let gaps: Vec<Duration> = at.windows(2).map(|pair| pair[1] - pair[0]).collect();
    assert!(gaps.iter().all(|gap| *gap >= Duration::from_millis(100)), "{at:?}");
    assert!(gaps.iter().all(|gap| *gap < Duration::from_millis(200)), "not slower than the share: {at:?}");
}

/// A push endpoint (feature `axum`) whose records wait in the Redis stream of `queue`.
fn queued_endpoint(
    queue: RedisPushQueue,
    handler: impl Fn(PushRecord) -> futures_util::future::BoxFuture<'static, Result<(), String>> + Send + Sync + 'static,
) -> PushEndpoint {
    PushEndpoint::with_records(PushVerifier::new("app", "secret"), handler).queue(queue)
}

fn signed_push(ids: std::ops::Range<usize>) -> (axum::http::HeaderMap, Vec<u8>) {
    let records: Vec<String> = ids.map(|n| format!(r#"{{"tag":"0","msg_id":"q{n}","data":"{{}}"}}"#)).collect();
    let body = format!("[{}]", records.join(",")).into_bytes();
    let mut headers = axum::http::HeaderMap::new();
    headers.insert("app-id", "app".parse().unwrap());
    let sign = doudian_sdk::push::sign_push_body("app", "secret", &body, doudian_sdk::SignMethod::Md5);
    headers.insert("event-sign", sign.parse().unwrap());
    (headers, body)
}

#[test]
fn records_a_stopped_replica_left_in_the_redis_queue_are_handled_by_another_once() {
    let redis = RedisServer::start();
    // Replica A takes 200 records and stops (its runtime is dropped) while its handler is
    // stuck on the first: everything it read is pending in the group under its name.
    let stopped = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    stopped.block_on(async {
        let queue = Redis::connect(&redis.url(), "app").unwrap().push_queue().consumer("a");
        let endpoint = queued_endpoint(queue, |_| Box::pin(std::future::pending()));
        for push in 0..20 {
            let (headers, body) = signed_push(push * 10..push * 10 + 10);
            let accepted = endpoint.accept(&headers, &body).await;
            assert_eq!(accepted, Accepted::Verified { dispatched: 10, duplicates: 0 });
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    });
    drop(stopped);
    assert_eq!(redis.command(&["XLEN", "doudian:app:push-queue"]), ":200");

    // Replica B (another name) takes them over once idle, and its handler fails the first
    // try of one record: it is tried again. Each is handled once.
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    runtime.block_on(async {
        let (sender, mut handled) = tokio::sync::mpsc::unbounded_channel::<String>();
        let failed_once = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let queue = Redis::connect(&redis.url(), "app")
            .unwrap()
            .push_queue()
            .consumer("b")
            .claim_after(Duration::from_millis(100));
        let endpoint = queued_endpoint(queue, move |record| {
            let (sender, failed_once) = (sender.clone(), failed_once.clone());
            Box::pin(async move {
                if record.msg_id == "q7" && !failed_once.swap(true, std::sync::atomic::Ordering::SeqCst) {
                    return Err("the first try of q7 fails".to_owned());
                }
                sender.send(record.msg_id).map_err(|e| e.to_string())
            })
        });
        let _router: axum::Router = axum::Router::new().route("/push", endpoint.into_method_router());
        let mut seen = std::collections::HashSet::new();
        while seen.len() < 200 {
            let id = tokio::time::timeout(Duration::from_secs(60), handled.recv())
                .await
                .expect("all 200 within a minute")
                .unwrap();
            assert!(seen.insert(id.clone()), "{id} handled twice");
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert!(handled.try_recv().is_err(), "handled more than once");
    });
    assert_eq!(redis.command(&["XLEN", "doudian:app:push-queue"]), ":0", "acked records leave the stream");
}
