//! `doudian tokens list` over a Redis store of 10,000 shops (target: under 5 s), and the
//! library's `list_tokens` under it. Reports timings; asserts only that every shop is
//! listed.
//!
//! cargo bench -p doudian-cli --bench tokens_list [-- SHOPS]

use std::process::Command;
use std::time::{Duration, Instant};

use doudian_sdk::redis::Redis;
use doudian_sdk::token::{list_tokens, StoredToken, TokenStore};
use e2e_tests::redis_server::RedisServer;
use futures_util::{StreamExt, TryStreamExt};

const APP_KEY: &str = "7000000000000000000";
const ROUNDS: usize = 3;

fn pair(shop: u64, now: u64) -> StoredToken {
    serde_json::from_value(serde_json::json!({
        "access_token": format!("access-{shop:032}"),
        "refresh_token": format!("refresh-{shop:032}"),
        "expires_at": now + 86_400 * (shop % 7),
        "refresh_expires_at": now + 3_600 * (shop % (14 * 24)) + 60,
        "shop_id": shop.to_string(),
        "shop_name": format!("店铺{shop}"),
        "scope": "SCOPE",
    }))
    .expect("a stored pair")
}

fn median(mut times: Vec<Duration>) -> Duration {
    times.sort();
    times[times.len() / 2]
}

fn main() {
    // `cargo bench` passes `--bench`; a number is the shop count.
    let shops: u64 = std::env::args().skip(1).find_map(|a| a.parse().ok()).unwrap_or(10_000);
    let redis = RedisServer::start();
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("a runtime");
    let store = Redis::connect(&redis.url(), APP_KEY).expect("a Redis URL").token_store();
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs();
    let seeding = Instant::now();
    runtime.block_on(async {
        futures_util::stream::iter(0..shops)
            .map(|shop| {
                let store = &store;
                async move { store.save(&(4_000_000 + shop).to_string(), &pair(shop, now)).await }
            })
            .buffer_unordered(64)
            .try_collect::<Vec<()>>()
            .await
            .expect("seeded");
    });
    eprintln!("seeded {shops} shops in {:.2?}", seeding.elapsed());

    let mut library = Vec::new();
    for _ in 0..ROUNDS {
        let started = Instant::now();
        let listed = runtime.block_on(list_tokens(&store, 1000).try_collect::<Vec<_>>()).expect("listed");
        library.push(started.elapsed());
        assert_eq!(listed.len() as u64, shops, "every shop listed once");
    }

    let run = |json: bool| {
        let mut times = Vec::new();
        for _ in 0..ROUNDS {
            let mut command = Command::new(env!("CARGO_BIN_EXE_doudian"));
            command.env_clear().args(["tokens", "list", "--token-store", &redis.url(), "--app-key", APP_KEY]);
            if json {
                command.arg("--json");
            }
            let started = Instant::now();
            let output = command.output().expect("doudian runs");
            times.push(started.elapsed());
            assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
            let lines = output.stdout.iter().filter(|b| **b == b'\n').count() as u64;
            assert!(lines > shops, "every shop printed: {lines} lines");
        }
        times
    };
    let table = run(false);
    let json = run(true);
    println!("tokens_list: {shops} shops in Redis (SCAN COUNT 1000 + MGET per page), {ROUNDS} rounds, median (min)");
    for (what, times) in
        [("list_tokens (library)", library), ("doudian tokens list", table), ("doudian tokens list --json", json)]
    {
        let min = *times.iter().min().unwrap();
        println!("  {what:<28} {:>9.1?} ({min:.1?})", median(times));
    }
}
