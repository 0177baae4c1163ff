//! `doudian tokens renew` and `doudian tokens list` over a store of many shops: four
//! renewals at once against one Redis store make one token.refresh per due shop; a shop
//! whose refresh the platform refuses is reported, fails the run, and lists as needing
//! consent afterwards; the file store lists too.

use std::process::Output;
use std::time::Duration;

use doudian_gateway::{Gateway, RunningGateway};
use doudian_sdk::redis::Redis;
use doudian_sdk::token::{FileTokenStore, StoredToken, TokenStore};
use e2e_tests::redis_server::RedisServer;
use e2e_tests::{now_secs, TempDir};
use serde_json::{json, Value};

mod common;

const DAY: u64 = 86_400;
const SHOPS: usize = 40;
const PROCESSES: usize = 4;

/// `doudian` with a clean environment for `gw`'s app (no shop: a tool app's operator).
fn doudian(gw: &RunningGateway) -> std::process::Command {
    let mut command = common::doudian_for(gw);
    command.env_remove("DOUDIAN_SHOP_ID");
    command
}

/// A stored pair as the SDK keeps it (the type is non-exhaustive: built from its JSON).
fn stored(shop: i64, access: &str, refresh: &str, access_expires_at: u64, refresh_expires_at: u64) -> StoredToken {
    serde_json::from_value(json!({
        "access_token": access,
        "refresh_token": refresh,
        "expires_at": access_expires_at,
        "refresh_expires_at": refresh_expires_at,
        "shop_id": shop.to_string(),
    }))
    .unwrap()
}

async fn outputs_of(children: Vec<std::process::Child>) -> Vec<Output> {
    tokio::task::spawn_blocking(move || children.into_iter().map(|c| c.wait_with_output().unwrap()).collect())
        .await
        .unwrap()
}

fn json_of(output: &Output) -> Value {
    serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
        panic!("{e}: {}\n{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr))
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn four_renewals_at_once_refresh_each_due_shop_once_and_a_refused_shop_needs_consent() {
    let gw = Gateway::builder().shops(SHOPS).start().await.unwrap();
    let redis = RedisServer::start();
    let store = Redis::connect(&redis.url(), gw.app_key()).unwrap().token_store();
    let now = now_secs();
    // Every fourth shop has 10 days left on its refresh token; the others 1 to 2 days.
    let mut due = Vec::new();
    let mut refused_shop = None;
    for (n, shop) in gw.shop_ids().into_iter().enumerate() {
        let issued = gw.issue_token_for_shop(shop).unwrap();
        let refresh_left = if n % 4 == 0 { 10 * DAY } else { DAY + n as u64 * 600 };
        let pair =
            stored(shop, &issued.access_token, &issued.refresh_token, now.saturating_sub(5 * DAY), now + refresh_left);
        store.save(&shop.to_string(), &pair).await.unwrap();
        if n % 4 != 0 {
            due.push(shop.to_string());
            // The platform has forgotten this shop's authorisation: its refresh is refused.
            if refused_shop.is_none() {
                assert!(gw.revoke_token(&issued.access_token));
                refused_shop = Some(shop.to_string());
            }
        }
    }
    let refused_shop = refused_shop.unwrap();
    // The platform's view: twelve days into the pairs' life, the access tokens expired long
    // ago and the refresh tokens still work (refreshing gives a new pair, kills the old).
    gw.advance_clock(Duration::from_secs(12 * DAY));
    let redis_store = redis.url();

    let children = (0..PROCESSES)
        .map(|_| {
            doudian(&gw)
                .args(["tokens", "renew", "--within", "3d", "--qps", "200", "--json", "--token-store", &redis_store])
                .spawn()
                .unwrap()
        })
        .collect();
    let outputs = outputs_of(children).await;

    assert_eq!(gw.calls("token.refresh"), due.len() as u64, "exactly one token.refresh per due shop");
    let mut renewed = Vec::new();
    for output in &outputs {
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(1), "a shop needs consent: {stderr}");
        assert!(stderr.contains(&refused_shop) && stderr.contains("consent"), "{stderr}");
        let report = json_of(output);
        assert_eq!(report["failed"], json!([]), "{report}");
        renewed.extend(report["renewed"].as_array().unwrap().iter().map(|r| r["key"].as_str().unwrap().to_owned()));
        // Whichever process was refused, each reports the shop: refused to it, or marked.
        let refused: Vec<&str> = report["refused"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["key"].as_str().unwrap())
            .chain(report["needs_consent"].as_array().unwrap().iter().map(|k| k.as_str().unwrap()))
            .collect();
        assert_eq!(refused, [refused_shop.as_str()], "{report}");
    }
    // The platform's answer, as the gateway gives it for a refresh token it does not know.
    let reports: Vec<Value> = outputs.iter().map(json_of).collect();
    let refusals: Vec<&Value> = reports.iter().flat_map(|r| r["refused"].as_array().unwrap()).collect();
    assert!(!refusals.is_empty(), "at least the process that sent it was refused");
    for refusal in refusals {
        assert_eq!(
            (&refusal["code"], &refusal["sub_code"]),
            (&json!(50001), &json!("dop.token-generate-failed:token-invalid"))
        );
    }
    renewed.sort();
    let mut expected: Vec<String> = due.iter().filter(|s| **s != refused_shop).cloned().collect();
    expected.sort();
    assert_eq!(renewed, expected, "each due shop renewed by one process");

    // The renewed pairs are the platform's new ones, good for 14 more days.
    let shop = &expected[0];
    let pair = store.load(shop).await.unwrap().unwrap();
    assert!(pair.refresh_expires_at >= now + 13 * DAY, "{}", pair.refresh_expires_at);
    let issued = gw.issued_tokens();
    assert!(issued.iter().any(|t| t.access_token == pair.access_token.expose()), "a pair the gateway issued");

    // The listing shows every shop with its state; the refused one needs consent.
    let listing = doudian(&gw).args(["tokens", "list", "--json", "--token-store", &redis_store]).output().unwrap();
    assert!(listing.status.success(), "{}", String::from_utf8_lossy(&listing.stderr));
    let listing = json_of(&listing);
    let shops = listing["shops"].as_array().unwrap();
    assert_eq!(shops.len(), SHOPS);
    for shop in shops {
        let id = shop["shop_id"].as_str().unwrap();
        let expected_state = if id == refused_shop { "needs_consent" } else { "valid" };
        assert_eq!(shop["state"], expected_state, "{shop}");
        assert!(shop["access_expires_at"].is_u64() && shop["refresh_expires_at"].is_u64(), "{shop}");
    }
    let refused_row = shops.iter().find(|s| s["shop_id"] == refused_shop.as_str()).unwrap();
    assert_eq!(refused_row["refused"]["code"], 50001, "{refused_row}");

    // A second run has nothing left to refresh, and still says the shop needs consent.
    let again = doudian(&gw)
        .args(["tokens", "renew", "--within", "3d", "--json", "--token-store", &redis_store])
        .output()
        .unwrap();
    assert_eq!(again.status.code(), Some(1));
    let again = json_of(&again);
    assert_eq!(
        (again["renewed"].as_array().unwrap().len(), again["needs_consent"].clone()),
        (0, json!([refused_shop]))
    );
    assert_eq!(gw.calls("token.refresh"), due.len() as u64, "nothing sent again");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_file_store_lists_its_shops_with_their_states() {
    let gw = Gateway::builder().start().await.unwrap();
    let dir = TempDir::new("tokens-list");
    let path = dir.path().join("tokens.json");
    let store = FileTokenStore::new(&path);
    let now = now_secs();
    store.save("101", &stored(101, "a1", "r1", now + DAY, now + 10 * DAY)).await.unwrap();
    store.save("102", &stored(102, "a2", "r2", now.saturating_sub(DAY), now + DAY)).await.unwrap();
    store.save("103", &stored(103, "a3", "r3", now.saturating_sub(8 * DAY), now.saturating_sub(60))).await.unwrap();

    let listing = doudian(&gw).args(["tokens", "list", "--json", "--token-file"]).arg(&path).output().unwrap();
    assert!(listing.status.success(), "{}", String::from_utf8_lossy(&listing.stderr));
    let listing = json_of(&listing);
    let states: Vec<(&str, &str)> = listing["shops"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| (s["shop_id"].as_str().unwrap(), s["state"].as_str().unwrap()))
        .collect();
    assert_eq!(states, [("101", "valid"), ("102", "renew_due"), ("103", "needs_consent")]);
    assert_eq!(listing["shops"][1]["refresh_expires_at"], now + DAY);

    // The table: one line per shop and a count.
    let table = doudian(&gw).args(["tokens", "list", "--token-file"]).arg(&path).output().unwrap();
    let text = String::from_utf8_lossy(&table.stdout);
    assert!(table.status.success() && text.contains("renew_due") && text.ends_with("3 shops\n"), "{text}");
    assert_eq!(text.lines().filter(|l| l.starts_with("10")).count(), 3, "{text}");
}

#[test]
fn bad_windows_and_missing_settings_are_usage_errors() {
    let run = |args: &[&str]| {
        let output = std::process::Command::new(env!("CARGO_BIN_EXE_doudian")).env_clear().args(args).output().unwrap();
        (output.status.code(), String::from_utf8_lossy(&output.stderr).into_owned())
    };
    let (code, stderr) = run(&["tokens", "renew", "--within", "3w", "--token-file", "x.json"]);
    assert_eq!(code, Some(2));
    assert!(stderr.contains("unknown unit `w`"), "{stderr}");
    let (code, stderr) = run(&["tokens", "renew", "--within", "0h", "--token-file", "x.json"]);
    assert!(code == Some(2) && stderr.contains("a window of 0"), "{stderr}");
    let (code, stderr) = run(&["tokens", "list", "--token-store", "redis://127.0.0.1:1/0"]);
    assert!(code == Some(2) && stderr.contains("needs the app key"), "{stderr}");
    let (code, stderr) = run(&["tokens", "renew", "--within", "3d", "--token-file", "x.json"]);
    assert!(code == Some(2) && stderr.contains("DOUDIAN_APP_SECRET"), "{stderr}");
    let (code, stderr) = run(&["tokens", "renew", "--within", "3d", "--qps", "0", "--token-file", "x.json"]);
    assert!(code == Some(2) && stderr.contains("above 0"), "{stderr}");
}
