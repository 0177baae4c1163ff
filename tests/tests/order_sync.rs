//! The order synchroniser against the bundled gateway, into SQLite and a real PostgreSQL:
//! an initial sync equals the gateway, a crash at any point loses nothing, overlap
//! re-reads are dropped, windows over the per-filter cap are split, a second fuller than
//! a page is read through, pushes refresh orders, older versions never replace newer.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use doudian_gateway::{Gateway, RunningGateway, TradeEvent};
use doudian_sdk::api::order::{Order, OrderAddOrderRemarkRequest, OrderOrderDetailRequest};
use doudian_sdk::push::{PushRecord, PushVerifier};
use doudian_sdk::sync::sql::SqlSink;
use doudian_sdk::sync::{Checkpoint, OrderSync, PushOutcome, SinkError, SyncSink};
use doudian_sdk::webhook::{serve, PushEndpoint};
use doudian_sdk::{AppSecret, Client};
use e2e_tests::postgres_server::PostgresServer;
use e2e_tests::{all_order_ids, client, client_builder, TempDir};
use futures_util::future::BoxFuture;
use futures_util::StreamExt;

/// A database for one test: a SQLite file in a temp dir, or a PostgreSQL cluster of its own.
struct Db {
    sink: SqlSink,
    _postgres: Option<PostgresServer>,
    _dir: TempDir,
}

#[derive(Clone, Copy, Debug)]
enum Kind {
    Sqlite,
    Postgres,
}

async fn database(kind: Kind) -> Db {
    let dir = TempDir::new("order-sync");
    match kind {
        Kind::Sqlite => {
            let url = format!("sqlite:{}", dir.path().join("orders.db").display());
            Db { sink: SqlSink::connect(&url).await.expect("the SQLite sink opens"), _postgres: None, _dir: dir }
        }
        Kind::Postgres => {
            let server = tokio::task::spawn_blocking(PostgresServer::start).await.expect("PostgreSQL starts");
            let sink = SqlSink::connect(&server.url()).await.expect("the PostgreSQL sink opens");
            Db { sink, _postgres: Some(server), _dir: dir }
        }
    }
}

async fn gateway_with(extra_orders: usize) -> RunningGateway {
    Gateway::builder().awaiting_orders(extra_orders).start().await.expect("the gateway starts")
}

/// What the gateway holds: order id -> (order_status, update_time), read one by one with
/// order.orderDetail (not through the listing the synchroniser uses).
async fn gateway_orders(gw: &RunningGateway, client: &Client) -> BTreeMap<String, (i64, i64)> {
    futures_util::stream::iter(all_order_ids(gw))
        .map(|id| async move {
            let reply = client.execute(&OrderOrderDetailRequest::new(id.as_str())).await.expect("orderDetail");
            let order = reply.into_data().shop_order_detail.expect("an order");
            let status = order.order_status.expect("a status").code();
            (id, (status, order.update_time.expect("an update_time")))
        })
        .buffer_unordered(16)
        .collect()
        .await
}

async fn stored_orders(sink: &SqlSink, shop: &str) -> BTreeMap<String, (i64, i64)> {
    let rows = sink.stored_orders(Some(shop)).await.expect("the stored orders");
    let count = rows.len();
    let map: BTreeMap<_, _> =
        rows.into_iter().map(|r| (r.order_id, (r.order_status.expect("a status"), r.update_time))).collect();
    assert_eq!(map.len(), count, "one row per order");
    map
}

/// The differences between the database and the gateway, as readable lines.
fn differences(stored: &BTreeMap<String, (i64, i64)>, gateway: &BTreeMap<String, (i64, i64)>) -> Vec<String> {
    let mut lines = Vec::new();
    for (id, want) in gateway {
        match stored.get(id) {
            None => lines.push(format!("missing {id} {want:?}")),
            Some(got) if got != want => lines.push(format!("stale {id}: stored {got:?}, gateway {want:?}")),
            _ => {}
        }
    }
    lines.extend(stored.keys().filter(|id| !gateway.contains_key(*id)).map(|id| format!("extra {id}")));
    lines
}

async fn assert_equal(sink: &SqlSink, gw: &RunningGateway, client: &Client) {
    let stored = stored_orders(sink, &gw.shop_id().to_string()).await;
    let gateway = gateway_orders(gw, client).await;
    let diff = differences(&stored, &gateway);
    assert!(diff.is_empty(), "{} of {} orders differ: {:?}", diff.len(), gateway.len(), &diff[..diff.len().min(10)]);
}

/// Remarks `ids` concurrently: each gets update_time = the gateway's now.
async fn remark(client: &Client, ids: &[String], text: &str) {
    futures_util::stream::iter(ids)
        .map(|id| async move {
            client.execute(&OrderAddOrderRemarkRequest::new(id.as_str(), text)).await.expect("remark");
        })
        .buffer_unordered(64)
        .collect::<Vec<_>>()
        .await;
}

/// The gateway's orders changed in the current second are listed by the next pass only
/// once that second is over.
async fn let_the_second_end() {
    tokio::time::sleep(Duration::from_millis(1100)).await;
}

macro_rules! on_both {
    ($scenario:ident: $sqlite:ident, $postgres:ident) => {
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn $sqlite() {
            $scenario(Kind::Sqlite).await;
        }

        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn $postgres() {
            $scenario(Kind::Postgres).await;
        }
    };
}

on_both!(initial_sync: initial_sync_equals_the_gateway_sqlite, initial_sync_equals_the_gateway_postgres);

async fn initial_sync(kind: Kind) {
    let db = database(kind).await;
    let gw = gateway_with(400).await;
    let client = client(&gw);
    let shop = gw.shop_id().to_string();
    let sync = OrderSync::builder(db.sink.clone()).shop(client.clone()).build().expect("the synchroniser");
    let report = sync.sync_shop(&shop).await.expect("the pass");
    assert_eq!(report.stored as usize, all_order_ids(&gw).len(), "{report:?}");
    assert_eq!(report.malformed, 0);
    assert_eq!(report.slices, 1, "445 orders are read as one range: {report:?}");
    assert!(report.checkpoint.is_some_and(|c| c.complete), "{report:?}");
    assert_equal(&db.sink, &gw, &client).await;
    // Encrypted receiver fields are stored as the platform sent them.
    let some_order = all_order_ids(&gw).into_iter().next().expect("an order");
    let body = db.sink.order_body(&shop, &some_order).await.expect("read").expect("stored");
    let body: serde_json::Value = serde_json::from_str(&body).expect("JSON");
    assert_eq!(body["encrypt_post_tel"], "#1kT9#abcd#", "{body}");
    assert_eq!(body["order_id"], some_order.as_str());
    // The checkpoint is stored with the orders.
    let checkpoint = db.sink.load_checkpoint(&shop).await.expect("read");
    assert_eq!(checkpoint, report.checkpoint);
    if let Kind::Postgres = kind {
        // Debian's server has lz4: migration 2 chose it for the bodies.
        let method: String = sqlx::query_scalar(
            "SELECT CAST(attcompression AS TEXT) FROM pg_attribute \
             WHERE attrelid = CAST('orders' AS regclass) AND attname = 'body'",
        )
        .fetch_one(db.sink.pool())
        .await
        .expect("the body column's compression");
        assert_eq!(method, "l", "order bodies compressed with lz4");
    }
}

on_both!(crash_and_resume: a_crash_mid_run_loses_nothing_sqlite, a_crash_mid_run_loses_nothing_postgres);

/// A sink that, once `stores_before_stall` batches of orders are stored, never finishes another
/// (the process is killed there; stores in flight at that moment are cut off too).
struct Stalling {
    inner: SqlSink,
    stores_before_stall: usize,
    stores: AtomicUsize,
    stalled: tokio::sync::Notify,
}

impl SyncSink for Stalling {
    fn store<'a>(
        &'a self,
        shop: &'a str,
        orders: &'a [Order],
        checkpoint: Option<Checkpoint>,
    ) -> BoxFuture<'a, Result<(), SinkError>> {
        Box::pin(async move {
            if self.stores.load(Ordering::SeqCst) >= self.stores_before_stall {
                self.stalled.notify_one();
                std::future::pending::<()>().await;
            }
            self.inner.store(shop, orders, checkpoint).await?;
            if !orders.is_empty() {
                self.stores.fetch_add(1, Ordering::SeqCst);
            }
            Ok(())
        })
    }

    fn checkpoint<'a>(&'a self, shop: &'a str) -> BoxFuture<'a, Result<Option<Checkpoint>, SinkError>> {
        self.inner.checkpoint(shop)
    }
}

async fn crash_and_resume(kind: Kind) {
    let db = database(kind).await;
    let gw = gateway_with(600).await;
    let client = client(&gw);
    let shop = gw.shop_id().to_string();

    // 1. Killed at a batch boundary: 7 batches of 20 stored, the 8th never.
    let stalling = Arc::new(Stalling {
        inner: db.sink.clone(),
        stores_before_stall: 7,
        stores: AtomicUsize::new(0),
        stalled: tokio::sync::Notify::new(),
    });
    let sync = OrderSync::builder(stalling.clone()).shop(client.clone()).page_size(20).build().expect("sync");
    let run = {
        let shop = shop.clone();
        tokio::spawn(async move { sync.sync_shop(&shop).await })
    };
    stalling.stalled.notified().await;
    run.abort();
    let _ = run.await;
    let after_crash = db.sink.stored_orders(Some(&shop)).await.expect("read").len();
    let checkpoint = db.sink.load_checkpoint(&shop).await.expect("read").expect("a checkpoint was stored");
    assert!(!checkpoint.complete, "the crash came before the end: {checkpoint:?}");
    assert!(after_crash > 0 && after_crash < all_order_ids(&gw).len(), "{after_crash} orders stored");

    // 2. Killed at whatever moment, three times (mid-transaction included).
    for (k, delay_ms) in [3u64, 17, 41].into_iter().enumerate() {
        // Orders change while nothing runs: the resume must find them.
        let ids: Vec<String> = all_order_ids(&gw).into_iter().skip(k * 50).take(5).collect();
        remark(&client, &ids, &format!("changed while down {k}")).await;
        let sync = OrderSync::builder(db.sink.clone()).shop(client.clone()).page_size(20).build().expect("sync");
        let shop = shop.clone();
        let run = tokio::spawn(async move { sync.sync_shop(&shop).await });
        tokio::time::sleep(Duration::from_millis(delay_ms)).await;
        run.abort();
        let _ = run.await;
    }

    // 3. The rerun resumes and loses nothing.
    let_the_second_end().await;
    let sync = OrderSync::builder(db.sink.clone()).shop(client.clone()).page_size(20).build().expect("sync");
    let report = sync.sync_shop(&shop).await.expect("the resumed pass");
    assert!(report.checkpoint.is_some_and(|c| c.complete), "{report:?}");
    assert_equal(&db.sink, &gw, &client).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn overlap_rereads_are_dropped_by_order_id_and_update_time() {
    let db = database(Kind::Sqlite).await;
    let gw = gateway_with(100).await;
    let client = client(&gw);
    let shop = gw.shop_id().to_string();
    // An overlap of a day reaches back over every extra order on every pass.
    let sync = OrderSync::builder(db.sink.clone())
        .shop(client.clone())
        .overlap(Duration::from_secs(24 * 3600))
        .build()
        .expect("sync");
    let first = sync.sync_shop(&shop).await.expect("pass 1");
    assert_eq!(first.stored as usize, all_order_ids(&gw).len());

    let second = sync.sync_shop(&shop).await.expect("pass 2");
    assert_eq!(second.stored, 0, "nothing changed: {second:?}");
    assert!(second.duplicates >= 100, "the overlap was read again and dropped: {second:?}");
    assert!(second.calls >= 1);

    let changed: Vec<String> = all_order_ids(&gw).into_iter().take(3).collect();
    remark(&client, &changed, "new version").await;
    let_the_second_end().await;
    let third = sync.sync_shop(&shop).await.expect("pass 3");
    assert_eq!(third.stored, 3, "only the three new versions: {third:?}");
    assert_equal(&db.sink, &gw, &client).await;
}

on_both!(cap_split: windows_over_the_cap_are_split_sqlite, windows_over_the_cap_are_split_postgres);

async fn cap_split(kind: Kind) {
    let db = database(kind).await;
    let gw = gateway_with(1000).await;
    let client = client(&gw);
    let shop = gw.shop_id().to_string();
    let sync = OrderSync::builder(db.sink.clone()).shop(client.clone()).search_cap(150).build().expect("sync");
    let report = sync.sync_shop(&shop).await.expect("the pass");
    assert!(report.splits > 0, "windows over 150 orders were split: {report:?}");
    assert_eq!(report.slices, 16, "1045 orders are read as 4 readers x 4 slices: {report:?}");
    assert_eq!(report.stored as usize, all_order_ids(&gw).len(), "{report:?}");
    // 1045 orders take at least 11 pages; the splits cost a few calls per window, not a
    // call per order.
    assert!(report.calls < 200, "{report:?}");
    assert_equal(&db.sink, &gw, &client).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_reader_reads_the_range_as_one_slice() {
    let db = database(Kind::Sqlite).await;
    let gw = gateway_with(1000).await;
    let client = client(&gw);
    let shop = gw.shop_id().to_string();
    let sync = OrderSync::builder(db.sink.clone()).shop(client.clone()).concurrency(1).build().expect("sync");
    let report = sync.sync_shop(&shop).await.expect("the pass");
    assert_eq!(report.slices, 1, "{report:?}");
    assert_eq!(report.stored as usize, all_order_ids(&gw).len(), "{report:?}");
    assert_equal(&db.sink, &gw, &client).await;
}

on_both!(crowded_second: a_second_fuller_than_a_page_is_read_through_sqlite, a_second_fuller_than_a_page_is_read_through_postgres);

async fn crowded_second(kind: Kind) {
    let db = database(kind).await;
    let gw = gateway_with(60).await;
    let client = client(&gw);
    let shop = gw.shop_id().to_string();
    let sync = OrderSync::builder(db.sink.clone()).shop(client.clone()).page_size(5).build().expect("sync");
    sync.sync_shop(&shop).await.expect("the initial pass");

    // 60 orders changed at once: a second (or two) holding many pages of 5.
    let ids: Vec<String> = all_order_ids(&gw).into_iter().take(60).collect();
    remark(&client, &ids, "all at once").await;
    let_the_second_end().await;
    let gateway = gateway_orders(&gw, &client).await;
    let mut per_second: BTreeMap<i64, usize> = BTreeMap::new();
    for (_, update_time) in gateway.values() {
        *per_second.entry(*update_time).or_default() += 1;
    }
    let fullest = per_second.values().max().copied().unwrap_or(0);
    assert!(fullest > 10, "the test needs a second holding more than two pages; the fullest held {fullest}");

    let report = sync.sync_shop(&shop).await.expect("the pass");
    assert!(report.crowded_seconds >= 1, "{report:?}");
    assert!(report.stored >= 60, "{report:?}");
    assert_equal(&db.sink, &gw, &client).await;
}

on_both!(pushes_refresh: pushes_refresh_orders_sqlite, pushes_refresh_orders_postgres);

/// A gateway shop of 30 orders, synced once into a `kind` database by a synchroniser that
/// polls every hour: within a test, only pushes and refreshes bring changes.
async fn synced_once(kind: Kind) -> (Db, RunningGateway, Client, String, OrderSync<SqlSink>) {
    let db = database(kind).await;
    let gw = gateway_with(10).await;
    let client = client(&gw);
    let shop = gw.shop_id().to_string();
    let sync = OrderSync::builder(db.sink.clone())
        .shop(client.clone())
        .poll_interval(Duration::from_secs(3600))
        .build()
        .expect("sync");
    sync.sync_shop(&shop).await.expect("the initial pass");
    (db, gw, client, shop, sync)
}

async fn pushes_refresh(kind: Kind) {
    let (db, gw, client, shop, sync) = synced_once(kind).await;

    // The app's push endpoint hands each verified record to the synchroniser.
    let handler_sync = sync.clone();
    let verifier = PushVerifier::new(gw.app_key(), AppSecret::new(gw.app_secret()));
    let endpoint = PushEndpoint::with_records(verifier, move |record: PushRecord| {
        let sync = handler_sync.clone();
        async move { sync.apply_push(&record).await.map(|_| ()).map_err(|e| e.to_string()) }
    });
    let app = axum::Router::new().route("/push", endpoint.into_method_router());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let url = format!("http://{}/push", listener.local_addr().expect("address"));
    let server = tokio::spawn(async move { serve(listener, app).await });
    gw.set_webhook(Some(&url));

    let order_id = all_order_ids(&gw).into_iter().next().expect("an order");
    let before: Order = client
        .execute(&OrderOrderDetailRequest::new(order_id.as_str()))
        .await
        .expect("detail")
        .into_data()
        .shop_order_detail
        .expect("an order");
    tokio::time::sleep(Duration::from_millis(1100)).await; // the remark gets a later second
    remark(&client, std::slice::from_ref(&order_id), "pushed").await;

    // The gateway pushes trade_TradeMemoModify (113); the endpoint refreshes the order.
    let mut refreshed = None;
    for _ in 0..200 {
        let body = db.sink.order_body(&shop, &order_id).await.expect("read").expect("stored");
        if body.contains("pushed") {
            refreshed = Some(body);
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(refreshed.is_some(), "the push refreshed the stored order");
    let newer = stored_orders(&db.sink, &shop).await[&order_id];
    assert!(newer.1 > before.update_time.expect("update_time"));

    // An older version (a late re-read, a reordered push) never replaces the newer one.
    db.sink.store_orders(&shop, std::slice::from_ref(&before), None).await.expect("store");
    assert_eq!(stored_orders(&db.sink, &shop).await[&order_id], newer);
    let body = db.sink.order_body(&shop, &order_id).await.expect("read").expect("stored");
    assert!(body.contains("pushed"), "{body}");

    // A push of another shop, another tag, or the test push is ignored.
    let foreign = PushRecord::new("101", "m-1", r#"{"p_id":"1","shop_id":"999"}"#);
    assert_eq!(sync.apply_push(&foreign).await.expect("ignored"), PushOutcome::Ignored);
    assert_eq!(sync.apply_push(&PushRecord::new("0", "0", "x")).await.expect("ignored"), PushOutcome::Ignored);
    // A record for the same version again: nothing to write.
    let record = gw.trade_event(TradeEvent::MemoModified, &order_id).expect("a record");
    let again = PushRecord::new(record.tag.clone(), record.msg_id.clone(), record.data.clone());
    assert!(matches!(sync.apply_push(&again).await.expect("applied"), PushOutcome::Unchanged { .. }));
    server.abort();
}

on_both!(guards: checkpoints_only_move_forward_sqlite, checkpoints_only_move_forward_postgres);

async fn guards(kind: Kind) {
    let db = database(kind).await;
    let sink = &db.sink;
    assert_eq!(sink.load_checkpoint("s").await.expect("read"), None);
    sink.store_orders("s", &[], Some(Checkpoint::before(100))).await.expect("store");
    sink.store_orders("s", &[], Some(Checkpoint::through(100))).await.expect("store");
    sink.store_orders("s", &[], Some(Checkpoint::before(100))).await.expect("store");
    sink.store_orders("s", &[], Some(Checkpoint::through(99))).await.expect("store");
    assert_eq!(sink.load_checkpoint("s").await.expect("read"), Some(Checkpoint::through(100)));
    sink.store_orders("s", &[], Some(Checkpoint::before(101))).await.expect("store");
    assert_eq!(sink.load_checkpoint("s").await.expect("read"), Some(Checkpoint::before(101)));
    assert_eq!(sink.checkpoints().await.expect("read"), vec![("s".to_owned(), Checkpoint::before(101))]);

    // Two versions of one order in one batch: the newest is kept; an older one later is refused.
    let version = |update_time: i64, words: &str| {
        let mut order = Order::default();
        order.order_id = Some("6900000000000000001".into());
        order.update_time = Some(update_time);
        order.seller_words = Some(words.to_owned());
        order
    };
    sink.store_orders("s", &[version(20, "newer"), version(10, "older")], None).await.expect("store");
    sink.store_orders("s", &[version(15, "late")], None).await.expect("store");
    let stored = sink.stored_orders(Some("s")).await.expect("read");
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0].update_time, 20);
    let body = sink.order_body("s", "6900000000000000001").await.expect("read").expect("stored");
    assert!(body.contains("newer"), "{body}");
    sink.store_orders("s", &[version(20, "same second, read again")], None).await.expect("store");
    let body = sink.order_body("s", "6900000000000000001").await.expect("read").expect("stored");
    assert!(body.contains("read again"), "a version as new replaces it: {body}");

    // Leases: one holder at a time; the holder renews; an expired lease moves.
    let ttl = Duration::from_secs(1);
    assert!(sink.try_lease("s", "a", ttl).await.expect("lease"));
    assert!(!sink.try_lease("s", "b", ttl).await.expect("lease"));
    assert!(sink.try_lease("s", "a", ttl).await.expect("renew"));
    let mut moved = false;
    for _ in 0..100 {
        if sink.try_lease("s", "b", ttl).await.expect("lease") {
            moved = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(moved, "an expired lease goes to the next holder");
    assert!(!sink.try_lease("s", "a", ttl).await.expect("lease"));
    sink.release_lease("s", "b").await.expect("release");
    assert!(sink.try_lease("s", "a", ttl).await.expect("lease"));
    assert_eq!(sink.leases().await.expect("read").len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_shops_sync_concurrently_into_one_database() {
    let db = database(Kind::Sqlite).await;
    let mut gateways = Vec::new();
    for (k, shop_id) in [(0usize, 7001i64), (1, 7002), (2, 7003)] {
        let gw = Gateway::builder().shop_id(shop_id).awaiting_orders(50 * k).start().await.expect("gateway");
        gateways.push(gw);
    }
    let mut builder = OrderSync::builder(db.sink.clone());
    for gw in &gateways {
        builder = builder.shop(client_builder(gw).build().expect("client"));
    }
    let sync = builder.build().expect("sync");
    assert_eq!(sync.shops(), vec!["7001", "7002", "7003"]);
    for report in sync.sync_all().await {
        report.expect("every shop's pass");
    }
    for gw in &gateways {
        assert_equal(&db.sink, gw, &client(gw)).await;
    }
    let shops: BTreeSet<String> = db.sink.checkpoints().await.expect("read").into_iter().map(|(s, _)| s).collect();
    assert_eq!(shops.len(), 3);
}

#[tokio::test]
async fn settings_out_of_range_are_refused() {
    let sink = doudian_sdk::sync::MemorySink::new();
    let gw = gateway_with(0).await;
    let err = OrderSync::builder(sink).shop(client(&gw)).page_size(101).build().expect_err("page size 101");
    assert!(err.to_string().contains("page size 101"), "{err}");
    let err = OrderSync::builder(doudian_sdk::sync::MemorySink::new())
        .shop(client(&gw))
        .search_cap(10)
        .page_size(50)
        .build()
        .expect_err("cap under a page");
    assert!(err.to_string().contains("search cap"), "{err}");
    let unknown = OrderSync::builder(doudian_sdk::sync::MemorySink::new()).shop(client(&gw)).build().expect("sync");
    assert!(matches!(
        unknown.sync_shop("42").await,
        Err(doudian_sdk::sync::SyncError::UnknownShop(shop)) if shop == "42"
    ));
    let err = SqlSink::connect("mysql://x").await.expect_err("not a URL it takes");
    assert!(err.to_string().contains("sqlite:PATH"), "{err}");
}

/// The issue's case: a per-filter cap of 1,000 and 20,000 order changes within one hour of
/// the gateway's clock. Every order changed in that hour is stored as the gateway holds it,
/// and no stored order is stale.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn twenty_thousand_changes_in_an_hour_under_a_cap_of_a_thousand() {
    let db = database(Kind::Sqlite).await;
    let gw = Gateway::builder().awaiting_orders(2_000).search_cap(1_000).start().await.expect("the gateway starts");
    let client = client(&gw);
    let shop = gw.shop_id();
    let start = (gw.now_ms() / 1000) as i64;
    let changes = gw.churn_steps_over(20_000, Duration::from_secs(3600));
    assert_eq!(changes.len(), 20_000);
    // The last changes are in the gateway's current second, which a pass reads once over.
    let_the_second_end().await;
    // The gateway's clock moved an hour on; the synchroniser reads by it.
    let offset = (gw.now_ms() / 1000) as i64 - e2e_tests::now_secs() as i64;
    let sync = OrderSync::builder(db.sink.clone())
        .shop(client.clone())
        .search_cap(1_000)
        // One reader: the hour is one window to split (four readers cut it into slices
        // that each hold fewer than 1,000).
        .concurrency(1)
        .since(start)
        .clock(move || e2e_tests::now_secs() as i64 + offset)
        .build()
        .expect("sync");
    let report = sync.sync_shop(&shop.to_string()).await.expect("the pass");
    assert!(report.splits > 0, "windows over 1,000 orders were split: {report:?}");
    let held: BTreeMap<String, (i64, i64)> = gw
        .orders_dump()
        .into_iter()
        .filter(|row| row.shop_id == shop)
        .map(|row| (row.order_id, (row.order_status, row.update_time)))
        .collect();
    let changed: BTreeMap<String, (i64, i64)> =
        held.iter().filter(|(_, (_, updated))| *updated >= start).map(|(id, v)| (id.clone(), *v)).collect();
    assert!(changed.len() > 5_000, "the hour changed {} orders", changed.len());
    let stored = stored_orders(&db.sink, &shop.to_string()).await;
    let stored_changed: BTreeMap<String, (i64, i64)> =
        stored.iter().filter(|(_, (_, updated))| *updated >= start).map(|(id, v)| (id.clone(), *v)).collect();
    let diff = differences(&stored_changed, &changed);
    assert!(diff.is_empty(), "{} of {} orders differ: {:?}", diff.len(), changed.len(), &diff[..diff.len().min(10)]);
    let stale: Vec<_> = stored.iter().filter(|(id, v)| held.get(*id) != Some(v)).take(10).collect();
    assert!(stale.is_empty(), "stale rows: {stale:?}");
}

/// `update_time` is in whole seconds: an order changed twice within one has two versions
/// with the same `update_time`, and the second is not the version already handed over.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_change_within_the_same_second_is_stored() {
    let (db, gw, client, shop, sync) = synced_once(Kind::Sqlite).await;
    let order_id = all_order_ids(&gw).into_iter().next().expect("an order");
    let refreshed = |outcome: PushOutcome| match outcome {
        PushOutcome::Refreshed { update_time, .. } => update_time,
        other => panic!("the change was not stored: {other:?}"),
    };
    // Two remarks milliseconds apart, until they share a second of the gateway's clock.
    let mut shared_a_second = false;
    for attempt in 0..20 {
        remark(&client, std::slice::from_ref(&order_id), &format!("first {attempt}")).await;
        let first = refreshed(sync.refresh(&shop, &order_id).await.expect("refresh"));
        remark(&client, std::slice::from_ref(&order_id), &format!("second {attempt}")).await;
        let second = refreshed(sync.refresh(&shop, &order_id).await.expect("refresh"));
        let body = db.sink.order_body(&shop, &order_id).await.expect("read").expect("stored");
        assert!(body.contains(&format!("second {attempt}")), "{body}");
        if first == second {
            shared_a_second = true;
            break;
        }
    }
    assert!(shared_a_second, "no two remarks shared a second in 20 attempts");
}
