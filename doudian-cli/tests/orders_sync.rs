//! `doudian orders sync --follow` as a process against a moving gateway (churn, 10% of
//! pushes dropped, 5% faults), killed with SIGKILL at random moments and rerun: the
//! database ends equal to the gateway's dump (0 missing, 0 stale, 0 duplicated), in SQLite
//! and in a real PostgreSQL. And two processes on one PostgreSQL share ten shops through
//! leases; when one is killed its shops move to the other.

mod common;

use std::collections::BTreeMap;
use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use doudian_gateway::{Fault, FaultRule, Gateway, RunningGateway};
use doudian_sdk::sync::sql::SqlSink;
use e2e_tests::postgres_server::PostgresServer;
use e2e_tests::TempDir;

type Rows = BTreeMap<(String, String), (i64, i64)>;

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map(|a| a.port()).expect("a free port")
}

fn dump(gw: &RunningGateway) -> Rows {
    gw.orders_dump()
        .into_iter()
        .map(|o| ((o.shop_id.to_string(), o.order_id), (o.order_status, o.update_time)))
        .collect()
}

async fn stored(sink: &SqlSink) -> Rows {
    let rows = sink.stored_orders(None).await.expect("the stored orders");
    let count = rows.len();
    let map: Rows = rows
        .into_iter()
        .map(|r| ((r.shop_id, r.order_id), (r.order_status.expect("a status"), r.update_time)))
        .collect();
    assert_eq!(map.len(), count, "no order stored twice");
    map
}

/// (missing, stale, extra) of the database against the gateway.
fn compare(db: &Rows, gateway: &Rows) -> (usize, usize, usize) {
    let missing = gateway.keys().filter(|k| !db.contains_key(*k)).count();
    let stale = gateway.iter().filter(|(k, v)| db.get(*k).is_some_and(|got| got != *v)).count();
    let extra = db.keys().filter(|k| !gateway.contains_key(*k)).count();
    (missing, stale, extra)
}

/// Waits until the database equals the gateway (nothing changes any more), at most 90 s.
async fn converge(sink: &SqlSink, gw: &RunningGateway) {
    let gateway = dump(gw);
    let mut last = (0, 0, 0);
    for check in 0..180 {
        last = compare(&stored(sink).await, &gateway);
        if last == (0, 0, 0) {
            eprintln!("{} orders equal after {check} checks 0.5 s apart", gateway.len());
            return;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let (missing, stale, extra) = last;
    let db = stored(sink).await;
    let differing: Vec<_> = gateway
        .iter()
        .filter(|(k, v)| db.get(*k) != Some(*v))
        .take(5)
        .map(|(k, v)| format!("{k:?}: gateway {v:?}, database {:?}", db.get(k)))
        .collect();
    panic!(
        "after 90 s: {missing} missing, {stale} stale, {extra} extra of {} orders; e.g. {differing:#?}; \
         checkpoints {:?}, gateway clock {}",
        gateway.len(),
        sink.checkpoints().await,
        gw.now_ms() / 1000
    );
}

/// Waits (at most 120 s) until every shop's checkpoint is within the overlap (5 s) of the
/// gateway's clock: the sync is following, not catching up.
async fn caught_up(sink: &SqlSink, gw: &RunningGateway) {
    for check in 0..240 {
        let now = (gw.now_ms() / 1000) as i64;
        let checkpoints = sink.checkpoints().await.expect("the checkpoints");
        if checkpoints.len() == gw.shop_ids().len() && checkpoints.iter().all(|(_, c)| c.update_time >= now - 5) {
            eprintln!("caught up after {check} checks 0.5 s apart");
            return;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    panic!("the sync did not catch up within 120 s: {:?}", sink.checkpoints().await);
}

/// `doudian orders sync --follow` for every shop of `gw`.
fn follow(gw: &RunningGateway, into: &str, holder: &str, push_port: Option<u16>, log: &std::path::Path) -> Child {
    let ids: Vec<String> = gw.shop_ids().iter().map(i64::to_string).collect();
    let mut command: Command = common::doudian_for(gw);
    command
        .env("DOUDIAN_SHOP_IDS", ids.join(","))
        .args(["orders", "sync", "--into", into, "--all-shops", "--follow", "--json"])
        .args(["--poll-interval", "1", "--overlap", "5", "--lease-ttl", "3", "--holder", holder])
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(log).expect("a log file"));
    if let Some(port) = push_port {
        command.args(["--push-listen", &format!("127.0.0.1:{port}")]);
    }
    command.spawn().expect("doudian orders sync starts")
}

/// A small deterministic generator for the kill moments.
struct Moments(u64);

impl Moments {
    fn next_ms(&mut self, from: u64, to: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        from + self.0 % (to - from)
    }
}

/// A soak setting from the environment, or its default (CI's size). The size:
/// `DOUDIAN_SOAK_ORDERS=20000 DOUDIAN_SOAK_CHURN=50`.
fn soak_setting(name: &str, default: f64) -> f64 {
    match std::env::var(name) {
        Ok(text) => text.trim().parse().unwrap_or_else(|_| panic!("{name} must be a number, not `{text}`")),
        Err(_) => default,
    }
}

async fn soak(into: &str, dir: &TempDir) {
    let push_port = free_port();
    let gw = Gateway::builder()
        .shops(2)
        .awaiting_orders(soak_setting("DOUDIAN_SOAK_ORDERS", 2000.0) as usize)
        .churn(soak_setting("DOUDIAN_SOAK_CHURN", 30.0))
        .churn_seed(7)
        .push_drop(0.1)
        .webhook(format!("http://127.0.0.1:{push_port}/push"))
        .start()
        .await
        .expect("the gateway starts");
    // 5% of calls fail: throttled, 502, or the connection dropped.
    for fault in [Fault::RateLimit, Fault::HttpStatus(502), Fault::DropConnection] {
        gw.inject(FaultRule::new(fault).fraction(0.05 / 3.0));
    }
    let log = dir.path().join("sync.log");
    let mut moments = Moments(0x5eed_1234_abcd_0001);
    for _ in 0..5 {
        let mut child = follow(&gw, into, "soak", Some(push_port), &log);
        tokio::time::sleep(Duration::from_millis(moments.next_ms(300, 2500))).await;
        child.kill().expect("kill -9");
        child.wait().expect("reaped");
    }
    let mut child = follow(&gw, into, "soak", Some(push_port), &log);
    let sink = SqlSink::connect(into).await.expect("the database");
    // The bound of the issue is for a sync that keeps up: churn stops once the last run
    // has caught up with what the kills left behind.
    caught_up(&sink, &gw).await;
    gw.set_churn_rate(0.0).expect("churn stops");
    gw.clear_faults();
    let stopped = std::time::Instant::now();
    converge(&sink, &gw).await;
    // Reported, not asserted (a busy machine stretches it): the bound is one poll
    // interval (1 s here) plus the overlap (5 s).
    eprintln!("equal {:.1} s after churn stopped", stopped.elapsed().as_secs_f64());
    child.kill().expect("stop");
    child.wait().expect("reaped");
    assert!(gw.churn_step_count() > 30, "the shops moved: {} changes", gw.churn_step_count());
    let log = std::fs::read_to_string(dir.path().join("sync.log")).unwrap_or_default();
    assert!(!log.contains("panicked"), "{log}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_and_rerun_the_sqlite_database_equals_the_gateway() {
    let dir = TempDir::new("orders-soak-sqlite");
    let into = format!("sqlite:{}", dir.path().join("orders.db").display());
    soak(&into, &dir).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_and_rerun_the_postgres_database_equals_the_gateway() {
    let dir = TempDir::new("orders-soak-postgres");
    let server = tokio::task::spawn_blocking(PostgresServer::start).await.expect("PostgreSQL starts");
    soak(&server.url(), &dir).await;
}

/// Waits (at most 60 s) until every one of the `shops` is leased to `holder`.
async fn wait_for_holder(sink: &SqlSink, shops: usize, holder: &str) {
    for _ in 0..240 {
        let leases = sink.leases().await.expect("the leases");
        if leases.len() == shops && leases.iter().all(|l| l.holder == holder) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    panic!("the {shops} shops did not all go to {holder}: {:?}", sink.leases().await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_processes_share_ten_shops_and_a_killed_ones_shops_move() {
    let dir = TempDir::new("orders-leases");
    let server = tokio::task::spawn_blocking(PostgresServer::start).await.expect("PostgreSQL starts");
    let gw = Gateway::builder().shops(10).awaiting_orders(500).churn(10.0).churn_seed(3).start().await.expect("gw");
    let into = server.url();
    let mut a = follow(&gw, &into, "a", None, &dir.path().join("a.log"));
    let sink = SqlSink::connect(&into).await.expect("the database");
    wait_for_holder(&sink, 10, "a").await;

    // While a renews, b takes none of a's shops (each shop has one holder at a time).
    let mut b = follow(&gw, &into, "b", None, &dir.path().join("b.log"));
    for _ in 0..8 {
        tokio::time::sleep(Duration::from_millis(500)).await;
        let leases = sink.leases().await.expect("the leases");
        assert!(leases.iter().all(|l| l.holder == "a"), "b took a live lease: {leases:?}");
    }

    // a dies: its shops move to b once their leases expire, and b keeps them synced.
    a.kill().expect("kill -9 a");
    a.wait().expect("reaped");
    wait_for_holder(&sink, 10, "b").await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    gw.set_churn_rate(0.0).expect("churn stops");
    converge(&sink, &gw).await;
    b.kill().expect("stop b");
    b.wait().expect("reaped");
}

/// `--concurrency N` reaches the synchroniser: one slice at 1, four per reader above it
/// (a range of more than eight pages), and the same orders stored either way.
#[tokio::test]
async fn the_concurrency_flag_sets_how_many_slices_are_read_at_once() {
    let gw = Gateway::builder().awaiting_orders(1000).start().await.expect("the gateway starts");
    let dir = TempDir::new("sync-concurrency");
    for (concurrency, slices) in [("1", 1), ("2", 8)] {
        let into = format!("sqlite:{}", dir.path().join(format!("c{concurrency}.db")).display());
        let mut command = common::doudian_for(&gw);
        command.args(["orders", "sync", "--into", &into, "--json", "--concurrency", concurrency]);
        // Waited for off the runtime's thread: the gateway answers on it.
        let output = tokio::task::spawn_blocking(move || command.output()).await.unwrap().expect("doudian runs");
        assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
        let summary: serde_json::Value = serde_json::from_slice(&output.stdout).expect("a JSON summary");
        assert_eq!(summary["shops"][0]["slices"], slices, "--concurrency {concurrency}: {summary}");
        let sink = SqlSink::connect(&into).await.expect("the database");
        assert_eq!(compare(&stored(&sink).await, &dump(&gw)), (0, 0, 0), "--concurrency {concurrency}");
    }
}
