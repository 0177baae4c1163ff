//! `doudian ship` reruns against the bundled gateway: the journal beside the CSV lets a
//! rerun skip what earlier runs did — after a clean run, after `kill -9`s mid-run, after
//! a torn journal line — and a CSV line changed after its order was journaled is failed,
//! not skipped or resent. Everything is asserted on counts (the gateway's and the
//! summary's), never on time.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output};
use std::time::Duration;

use doudian_gateway::{Fault, FaultRule, Gateway, OrderStatus, RunningGateway};
use serde_json::{json, Value};

mod common;
use common::doudian_for;

const SHIP: &str = "order.logisticsAdd";
const READ: &str = "order.orderDetail";

async fn gateway(orders: usize) -> (RunningGateway, Vec<String>) {
    let gw = Gateway::builder().awaiting_orders(orders).start().await.unwrap();
    let ids = gw.order_ids(OrderStatus::AwaitingShipment);
    assert!(ids.len() >= orders, "the gateway seeds the orders: {}", ids.len());
    (gw, ids)
}

/// A fresh directory for one test's CSV and journal.
fn fresh_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("doudian-ship-journal-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn tracking_no(id: &str) -> String {
    format!("ZT{}", &id[id.len() - 8..])
}

/// Writes `orders.csv` in `dir`, one line per id, with `tracking` choosing the number.
fn write_csv(dir: &Path, ids: &[String], tracking: impl Fn(&str) -> String) -> String {
    let mut text = String::from("order_id,company_code,tracking_no\n");
    for id in ids {
        text.push_str(&format!("{id},zhongtong,{}\n", tracking(id)));
    }
    let path = dir.join("orders.csv");
    std::fs::write(&path, text).unwrap();
    path.display().to_string()
}

fn journal_of(csv: &str) -> PathBuf {
    PathBuf::from(format!("{csv}.journal"))
}

fn ship(gw: &RunningGateway, csv: &str, extra: &[&str]) -> Command {
    let mut command = doudian_for(gw);
    command.args(["ship", "--csv", csv, "--json"]).args(extra);
    command
}

async fn run(mut command: Command) -> Output {
    tokio::task::spawn_blocking(move || command.output().unwrap()).await.unwrap()
}

/// The `--json` summary, checked to add up to its orders.
fn summary(output: &Output) -> Value {
    let s: Value = serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
        panic!("{e}: {}\n{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr))
    });
    let counted = ["shipped", "already_shipped", "skipped"].iter().map(|f| s[f].as_u64().unwrap()).sum::<u64>()
        + s["failed"].as_array().unwrap().len() as u64;
    assert_eq!(Some(counted), s["orders"].as_u64(), "the summary adds up: {s}");
    s
}

/// (shipped, already_shipped, skipped, failed) of a summary.
fn counts(s: &Value) -> (u64, u64, u64, usize) {
    let n = |field: &str| s[field].as_u64().unwrap();
    (n("shipped"), n("already_shipped"), n("skipped"), s["failed"].as_array().unwrap().len())
}

fn assert_each_shipped_once(gw: &RunningGateway, ids: &[String]) {
    for id in ids {
        assert_eq!(gw.shipments(id), 1, "order {id} shipped once");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rerun_sends_nothing_and_reads_nothing() {
    let (gw, ids) = gateway(100).await;
    let dir = fresh_dir("rerun");
    let csv = write_csv(&dir, &ids, tracking_no);
    let n = ids.len() as u64;

    let first = run(ship(&gw, &csv, &[])).await;
    assert!(first.status.success(), "{}", String::from_utf8_lossy(&first.stderr));
    let s = summary(&first);
    assert_eq!(counts(&s), (n, 0, 0, 0));
    assert_eq!(s["journal"].as_str(), Some(journal_of(&csv).to_str().unwrap()));
    assert_eq!((gw.calls(SHIP), gw.calls(READ)), (n, 0));

    let again = run(ship(&gw, &csv, &[])).await;
    assert!(again.status.success(), "{}", String::from_utf8_lossy(&again.stderr));
    assert_eq!(counts(&summary(&again)), (0, 0, n, 0), "every order skipped from the journal");
    assert_eq!((gw.calls(SHIP), gw.calls(READ)), (n, 0), "the rerun made no ship call and no read");
    assert_each_shipped_once(&gw, &ids);
}

/// Waits until the gateway has seen `calls` ship calls, then kills `child` (SIGKILL).
async fn kill_after(gw: &RunningGateway, child: &mut Child, calls: u64) {
    while gw.calls(SHIP) < calls {
        if let Some(status) = child.try_wait().unwrap() {
            panic!("the run ended ({status}) before {calls} ship calls; it was to be killed");
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    child.kill().unwrap();
    child.wait().unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_runs_resume_without_resending() {
    const CONCURRENCY: u64 = 8;
    let kill_points = [40, 100, 160, 220];
    let (gw, ids) = gateway(300).await;
    // Every ship call waits a little at the gateway, so that calls are in flight when a
    // run is killed.
    gw.inject(FaultRule::new(Fault::Delay(Duration::from_millis(20))).for_method(SHIP));
    let dir = fresh_dir("kill");
    let csv = write_csv(&dir, &ids, tracking_no);
    let flags = ["--qps", "100", "--concurrency", "8"];

    for calls in kill_points {
        let mut child = ship(&gw, &csv, &flags).spawn().unwrap();
        kill_after(&gw, &mut child, calls).await;
    }
    let last = run(ship(&gw, &csv, &flags)).await;
    assert!(last.status.success(), "{}", String::from_utf8_lossy(&last.stderr));
    let s = summary(&last);
    let (n, kills) = (ids.len() as u64, kill_points.len() as u64);
    assert_eq!(s["orders"].as_u64(), Some(n));
    let (_, _, skipped, failed) = counts(&s);
    assert_eq!(failed, 0, "{s}");
    assert!(skipped + kills * CONCURRENCY >= kill_points[kills as usize - 1], "earlier runs' work skipped: {s}");
    assert_each_shipped_once(&gw, &ids);

    // At most the calls in flight at each kill are sent again (read back first, they are
    // sent again only when they had not landed), and only they are read back (twice, if
    // a late call of the killed run lands between the read and the resend).
    let (sent, read) = (gw.calls(SHIP), gw.calls(READ));
    assert!(sent <= n + kills * CONCURRENCY, "{sent} ship calls for {n} orders, {kills} kills");
    assert!(read <= 2 * kills * CONCURRENCY, "{read} reads after {kills} kills");
    let codes = gw.counters().codes.get(SHIP).cloned().unwrap_or_default();
    eprintln!("{n} orders, {kills} kills: {sent} {SHIP} (codes {codes:?}), {read} {READ}; last run {s}");

    let again = run(ship(&gw, &csv, &flags)).await;
    assert_eq!(counts(&summary(&again)), (0, 0, n, 0));
    assert_eq!((gw.calls(SHIP), gw.calls(READ)), (sent, read), "nothing left to send or read");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_torn_last_journal_line_is_read_back_not_resent() {
    let (gw, ids) = gateway(50).await;
    let dir = fresh_dir("torn");
    let csv = write_csv(&dir, &ids, tracking_no);
    let n = ids.len() as u64;
    assert!(run(ship(&gw, &csv, &[])).await.status.success());

    // The last record (an order's `shipped`, written after its `sending`) cut in half, as
    // a kill in the middle of the write leaves it.
    let journal = journal_of(&csv);
    let text = std::fs::read_to_string(&journal).unwrap();
    let last_line_start = text.trim_end().rfind('\n').unwrap() + 1;
    let torn: Value = serde_json::from_str(text[last_line_start..].trim()).unwrap();
    assert_eq!(torn["state"], "shipped");
    std::fs::write(&journal, &text[..last_line_start + 30]).unwrap();

    let rerun = run(ship(&gw, &csv, &[])).await;
    assert!(rerun.status.success(), "{}", String::from_utf8_lossy(&rerun.stderr));
    assert!(String::from_utf8_lossy(&rerun.stderr).contains("1 unreadable line(s) ignored"));
    assert_eq!(counts(&summary(&rerun)), (0, 1, n - 1, 0), "the torn order is read back as shipped");
    assert_eq!((gw.calls(SHIP), gw.calls(READ)), (n, 1), "one read, no ship call");

    // The next record went on a line of its own: a third run has nothing to do.
    let third = run(ship(&gw, &csv, &[])).await;
    assert_eq!(counts(&summary(&third)), (0, 0, n, 0));
    assert_eq!((gw.calls(SHIP), gw.calls(READ)), (n, 1));
    assert_each_shipped_once(&gw, &ids);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_changed_csv_line_fails_unless_its_order_still_awaits_shipment() {
    let (gw, ids) = gateway(10).await;
    let dir = fresh_dir("changed");
    // `waiting` is left out of the first run; `changed` and `unconfirmed` are shipped by it.
    let (waiting, changed, unconfirmed) = (&ids[0], &ids[1], &ids[2]);
    let csv = write_csv(&dir, &ids[1..], tracking_no);
    assert!(run(ship(&gw, &csv, &[])).await.status.success());
    let journal = journal_of(&csv);
    let text = std::fs::read_to_string(&journal).unwrap();
    // `unconfirmed`: its run died after the call landed but before recording it.
    let mut kept: String = text
        .lines()
        .filter(|l| !(l.contains(unconfirmed.as_str()) && l.contains("\"shipped\"")))
        .map(|l| format!("{l}\n"))
        .collect();
    // `waiting`: its run died after recording `sending`, before the call left.
    let sending =
        json!({"order_id": waiting, "company_code": "zhongtong", "tracking_no": "OLD1", "state": "sending", "at": 0});
    kept.push_str(&format!("{sending}\n"));
    std::fs::write(&journal, kept).unwrap();
    let (sent, read) = (gw.calls(SHIP), gw.calls(READ));

    let new_number = |id: &str| {
        if id == changed || id == unconfirmed || id == waiting {
            format!("NEW{}", &id[id.len() - 4..])
        } else {
            tracking_no(id)
        }
    };
    let csv = write_csv(&dir, &ids, new_number);
    let rerun = run(ship(&gw, &csv, &[])).await;
    assert_eq!(rerun.status.code(), Some(1), "changed lines fail: {}", String::from_utf8_lossy(&rerun.stderr));
    let s = summary(&rerun);
    let n = ids.len() as u64;
    assert_eq!(counts(&s), (1, 0, n - 3, 2), "{s}");
    let failed: Vec<&str> = s["failed"].as_array().unwrap().iter().map(|f| f["order_id"].as_str().unwrap()).collect();
    let mut expected = vec![changed.as_str(), unconfirmed.as_str()];
    expected.sort();
    assert_eq!(failed, expected);
    for f in s["failed"].as_array().unwrap() {
        let error = f["error"].as_str().unwrap();
        let id = f["order_id"].as_str().unwrap();
        assert!(error.contains(&tracking_no(id)) && error.contains(&new_number(id)), "names both numbers: {error}");
    }
    // The waiting order is read back and shipped with the CSV's new line; the
    // unconfirmed one is read back; the changed one costs nothing.
    assert_eq!((gw.calls(SHIP) - sent, gw.calls(READ) - read), (1, 2));
    assert_eq!(gw.order(waiting).unwrap().tracking_no, Some(new_number(waiting)));
    assert_eq!(gw.order(changed).unwrap().tracking_no, Some(tracking_no(changed)), "not re-shipped");
    assert_each_shipped_once(&gw, &ids);

    // Both are journaled now: the next run fails them again without a call.
    let again = run(ship(&gw, &csv, &[])).await;
    assert_eq!(counts(&summary(&again)), (0, 0, n - 2, 2));
    assert_eq!((gw.calls(SHIP) - sent, gw.calls(READ) - read), (1, 2));
}
