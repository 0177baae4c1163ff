//! `doudian ship` against the bundled gateway with a per-method quota: a smaller version of
//! the 2,000-order runs (300 orders at 100 calls/s, so about 3 s each), from one process,
//! from four workers sharing the quota through a real redis-server, and adaptively.
//! Timings are checked for the mechanism (the pace holds calls back; nothing stalls) with
//! generous bounds; the full-size figures are in the closing notes.

use std::path::PathBuf;
use std::process::{Command, Output};

use doudian_gateway::{Fault, FaultRule, Gateway, OrderStatus, RunningGateway};
use e2e_tests::redis_server::RedisServer;
use serde_json::Value;

mod common;
use common::doudian_for;

const ORDERS: usize = 300;
const QUOTA: u32 = 100;
const SHIP: &str = "order.logisticsAdd";

async fn gateway() -> RunningGateway {
    Gateway::builder().awaiting_orders(ORDERS).method_qps(SHIP, QUOTA).start().await.unwrap()
}

/// A CSV of every order awaiting shipment, in a fresh directory.
fn csv_of(gw: &RunningGateway, name: &str) -> (PathBuf, Vec<String>) {
    let ids = gw.order_ids(OrderStatus::AwaitingShipment);
    assert!(ids.len() >= ORDERS, "the gateway seeds the orders: {}", ids.len());
    let dir = std::env::temp_dir().join(format!("doudian-ship-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let mut text = String::from("order_id,company_code,tracking_no\n");
    for id in &ids {
        text.push_str(&format!("{id},zhongtong,ZT{}\n", &id[id.len() - 8..]));
    }
    let path = dir.join("orders.csv");
    std::fs::write(&path, text).unwrap();
    (path, ids)
}

fn ship_command(gw: &RunningGateway, args: &[&str]) -> Command {
    let mut command = doudian_for(gw);
    command.arg("ship").args(args).arg("--json");
    command
}

/// Runs the commands at once; their outputs.
async fn run_all(commands: Vec<Command>) -> Vec<Output> {
    tokio::task::spawn_blocking(move || {
        let children: Vec<_> = commands.into_iter().map(|mut c| c.spawn().unwrap()).collect();
        children.into_iter().map(|child| child.wait_with_output().unwrap()).collect()
    })
    .await
    .unwrap()
}

fn summary(output: &Output) -> Value {
    serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
        panic!("{e}: {}\n{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr))
    })
}

fn total(summaries: &[Value], field: &str) -> u64 {
    summaries.iter().map(|s| s[field].as_u64().unwrap()).sum()
}

/// Every listed order shipped exactly once, and the gateway's 60000 answers.
fn assert_each_shipped_once(gw: &RunningGateway, ids: &[String]) {
    for id in ids {
        assert_eq!(gw.shipments(id), 1, "order {id} shipped once");
    }
    assert!(gw.order_ids(OrderStatus::AwaitingShipment).is_empty());
}

fn throttled_by_gateway(gw: &RunningGateway) -> u64 {
    gw.counters().codes.get(SHIP).and_then(|codes| codes.get(&60000)).copied().unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn at_the_quota_every_order_ships_once_and_a_rerun_skips_them() {
    let gw = gateway().await;
    let (csv, ids) = csv_of(&gw, "qps");
    let csv = csv.display().to_string();
    let outputs = run_all(vec![ship_command(&gw, &["--csv", &csv, "--qps", "100"])]).await;
    assert!(outputs[0].status.success(), "{}", String::from_utf8_lossy(&outputs[0].stderr));
    let s = summary(&outputs[0]);
    assert_eq!((s["shipped"].as_u64(), s["skipped"].as_u64()), (Some(ids.len() as u64), Some(0)));
    assert_eq!(s["failed"], serde_json::json!([]));
    assert_each_shipped_once(&gw, &ids);
    let throttled = throttled_by_gateway(&gw);
    assert_eq!(s["throttled"].as_u64(), Some(throttled), "the summary counts what the gateway answered");
    assert_eq!(s["calls"].as_u64(), Some(gw.calls(SHIP)), "every ship call was answered and counted");
    assert!(throttled * 100 <= ids.len() as u64, "at most 1% throttled: {throttled}");
    // Paced: n calls at 100/s need (n - 1) × 10 ms; and nothing stalls.
    let seconds = s["seconds"].as_f64().unwrap();
    let ideal = (ids.len() - 1) as f64 / f64::from(QUOTA);
    assert!(seconds >= ideal * 0.97, "paced at the quota: {seconds} s for {} orders", ids.len());
    eprintln!("{} orders at --qps 100: {seconds} s (ideal {ideal} s), {throttled} throttled", ids.len());

    // Again: nothing left to ship, nothing shipped twice.
    let outputs = run_all(vec![ship_command(&gw, &["--csv", &csv, "--qps", "100"])]).await;
    let s = summary(&outputs[0]);
    assert_eq!((s["shipped"].as_u64(), s["skipped"].as_u64()), (Some(0), Some(ids.len() as u64)));
    assert!(outputs[0].status.success());
    assert_each_shipped_once(&gw, &ids);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn four_workers_share_the_quota_through_redis() {
    let redis = RedisServer::start();
    let gw = gateway().await;
    let (csv, ids) = csv_of(&gw, "redis");
    let csv = csv.display().to_string();
    let url = redis.url();
    let commands = (0..4)
        .map(|i| {
            let index = i.to_string();
            let args = ["--csv", &csv, "--qps", "100", "--limiter", &url, "--workers", "4", "--worker-index", &index];
            ship_command(&gw, &args)
        })
        .collect();
    let outputs = run_all(commands).await;
    for output in &outputs {
        assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    }
    let summaries: Vec<Value> = outputs.iter().map(summary).collect();
    assert_eq!((total(&summaries, "shipped"), total(&summaries, "skipped")), (ids.len() as u64, 0));
    assert!(summaries.iter().all(|s| s["shipped"].as_u64().unwrap() > 0), "every worker had a share");
    assert_each_shipped_once(&gw, &ids);
    let throttled = throttled_by_gateway(&gw);
    assert_eq!(total(&summaries, "throttled"), throttled);
    assert!(throttled * 50 <= ids.len() as u64, "at most 2% throttled: {throttled}");
    // Together at the quota, not each at it (4× faster) nor each at a quarter of it.
    let ideal = (ids.len() - 1) as f64 / f64::from(QUOTA);
    let slowest = summaries.iter().map(|s| s["seconds"].as_f64().unwrap()).fold(0.0, f64::max);
    assert!(slowest >= ideal * 0.9, "shared pace: {slowest} s");
    eprintln!("4 workers via Redis: {slowest} s (ideal {ideal} s), {throttled} throttled");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_quota_the_rate_is_learnt_from_60000s() {
    let gw = gateway().await;
    let (csv, ids) = csv_of(&gw, "adaptive");
    let csv = csv.display().to_string();
    let outputs = run_all(vec![ship_command(&gw, &["--csv", &csv])]).await;
    assert!(outputs[0].status.success(), "{}", String::from_utf8_lossy(&outputs[0].stderr));
    let s = summary(&outputs[0]);
    assert_eq!(s["shipped"].as_u64(), Some(ids.len() as u64));
    assert_each_shipped_once(&gw, &ids);
    let throttled = throttled_by_gateway(&gw);
    // The first 60000s come from the calls in flight when the quota is first reached (16
    // by default); 2,000 orders dilute them to under 1%, 300 to about 5%.
    assert!(throttled * 10 <= ids.len() as u64, "at most 10% throttled: {throttled}");
    // The gateway's bucket lets one second's worth through at once, then 100/s.
    let ideal = (ids.len() - QUOTA as usize) as f64 / f64::from(QUOTA);
    eprintln!("adaptive: {} s (ideal {ideal} s), {throttled} throttled", s["seconds"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_outcomes_are_read_back_and_failures_exit_non_zero() {
    let gw = Gateway::builder().start().await.unwrap();
    let (csv, ids) = csv_of_small(&gw);
    // The first ship call is processed but its reply is lost: read back, not resent.
    gw.inject(FaultRule::new(Fault::DropAfterProcessing).for_method(SHIP).times(1));
    let outputs = run_all(vec![ship_command(&gw, &["--csv", &csv, "--concurrency", "1"])]).await;
    let s = summary(&outputs[0]);
    assert_eq!(outputs[0].status.code(), Some(1), "an order failed: exit 1");
    assert_eq!(s["shipped"].as_u64(), Some(ids.len() as u64));
    for id in &ids {
        assert_eq!((gw.ship_calls(id), gw.shipments(id)), (1, 1), "{id}: one call, one shipment");
    }
    let failed = s["failed"].as_array().unwrap();
    assert_eq!(failed.len(), 1);
    assert_eq!(failed[0]["order_id"], "1000000000000000001");
    assert!(failed[0]["error"].as_str().unwrap().contains("40003"), "{}", failed[0]);
}

/// The seeded orders awaiting shipment, plus one order the shop does not have.
fn csv_of_small(gw: &RunningGateway) -> (String, Vec<String>) {
    let ids = gw.order_ids(OrderStatus::AwaitingShipment);
    let dir = std::env::temp_dir().join(format!("doudian-ship-small-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let mut text: String = ids.iter().map(|id| format!("{id},zhongtong,ZT1\n")).collect();
    text.push_str("1000000000000000001,zhongtong,ZT2\n");
    let path = dir.join("orders.csv");
    std::fs::write(&path, text).unwrap();
    (path.display().to_string(), ids)
}
