//! Decode memory is bounded: a hostile reply of a million `{}` (or `null`) list items is
//! refused with an error naming the JSON path, and the decoding process's peak memory stays
//! within 64 MB + 16 × the reply's size. Measured in a child process (this test binary
//! re-run with one test selected), so other tests' memory does not count.
#![cfg(feature = "order")]

use std::process::Command;

use doudian_sdk::api::order::{OrderOrderDetailResponse, OrderSearchListResponse};
use doudian_sdk::client::decode_reply;
use doudian_sdk::de::budget_for;
use doudian_sdk::Error;

const ITEMS: usize = 1_000_000;

/// `{"code":10000,...,"data":{"shop_order_detail":{"sku_order_list":[{},{},…]}}}`.
fn hostile_detail(item: &str) -> Vec<u8> {
    let mut body = String::with_capacity(ITEMS * (item.len() + 1) + 128);
    body.push_str(r#"{"code":10000,"msg":"success","log_id":"L","data":{"shop_order_detail":{"sku_order_list":["#);
    for i in 0..ITEMS {
        if i > 0 {
            body.push(',');
        }
        body.push_str(item);
    }
    body.push_str("]}}}");
    body.into_bytes()
}

/// `order.searchList` with a million empty orders.
fn hostile_search() -> Vec<u8> {
    let items = vec!["{}"; ITEMS].join(",");
    format!(r#"{{"code":10000,"log_id":"L","data":{{"total":1,"shop_order_list":[{items}]}}}}"#).into_bytes()
}

/// The peak resident memory of this process so far, in bytes (Linux `VmHWM`).
fn peak_rss() -> usize {
    let status = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status");
    let line = status.lines().find(|l| l.starts_with("VmHWM:")).expect("VmHWM");
    line.split_whitespace().nth(1).and_then(|kb| kb.parse::<usize>().ok()).expect("a number of kB") * 1024
}

fn current_rss() -> usize {
    let status = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status");
    let line = status.lines().find(|l| l.starts_with("VmRSS:")).expect("VmRSS");
    line.split_whitespace().nth(1).and_then(|kb| kb.parse::<usize>().ok()).expect("a number of kB") * 1024
}

/// The child side: builds one hostile reply, decodes it, prints `reply_bytes peak_growth path`.
#[test]
fn child_decodes_one_hostile_reply() {
    let Ok(case) = std::env::var("DOUDIAN_DECODE_CASE") else { return };
    let body = match case.as_str() {
        "empty-objects" => hostile_detail("{}"),
        "nulls" => hostile_detail("null"),
        "search" => hostile_search(),
        other => panic!("unknown case {other}"),
    };
    let len = body.len();
    // The reply is in memory before decoding starts, as it is in the client.
    let before = current_rss();
    let started = std::time::Instant::now();
    let error = match case.as_str() {
        "search" => decode_reply::<OrderSearchListResponse>("order.searchList", body).map(|_| ()).unwrap_err(),
        _ => decode_reply::<OrderOrderDetailResponse>("order.orderDetail", body).map(|_| ()).unwrap_err(),
    };
    let took = started.elapsed();
    let Error::Decode(decode) = &error else { panic!("{error:?}") };
    println!("RESULT {len} {} {} {}", peak_rss().saturating_sub(before), took.as_millis(), decode.path);
    eprintln!("{error}");
}

#[test]
fn a_million_empty_items_are_refused_within_the_memory_bound() {
    for case in ["empty-objects", "nulls", "search"] {
        let output = Command::new(std::env::current_exe().unwrap())
            .args(["--exact", "child_decodes_one_hostile_reply", "--nocapture", "--test-threads", "1"])
            .env("DOUDIAN_DECODE_CASE", case)
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&output.stdout);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(output.status.success(), "{case}: {stdout}\n{stderr}");
        let line = stdout
            .lines()
            .find_map(|l| l.split_once("RESULT ").map(|(_, rest)| rest))
            .unwrap_or_else(|| panic!("{stdout}"));
        let fields: Vec<&str> = line.split(' ').collect();
        let (len, growth, millis, path) =
            (fields[0].parse::<usize>().unwrap(), fields[1].parse::<usize>().unwrap(), fields[2], fields[3]);
        let bound = budget_for(len);
        eprintln!(
            "{case}: {len} bytes, peak growth {} MB (bound {} MB), {millis} ms, refused at {path}",
            growth >> 20,
            bound >> 20
        );
        assert!(growth <= bound, "{case}: peak growth {growth} over the bound {bound}");
        let list = if case == "search" { "data.shop_order_list" } else { "data.shop_order_detail.sku_order_list" };
        assert_eq!(path, list, "{case}");
        assert!(stderr.contains("needs more memory than the decode budget allows after"), "{case}: {stderr}");
    }
}

#[test]
fn ordinary_replies_stay_far_below_the_budget() {
    // A real-sized reply: a few orders with their items decode untouched by the budget.
    let samples: serde_json::Value =
        serde_json::from_str(include_str!("../../doudian-gateway/data/samples.json")).unwrap();
    let data = &samples["order.searchList"]["response"];
    let body = serde_json::to_vec(&serde_json::json!({"code": 10000, "log_id": "L", "data": data})).unwrap();
    let reply = decode_reply::<OrderSearchListResponse>("order.searchList", body).unwrap();
    assert!(!reply.shop_order_list.is_empty());
}
