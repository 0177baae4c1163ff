//! Eight `doudian call` processes at once sharing one token store — a file, then Redis:
//! one token.create among them, and once the token is in its last hour one token.refresh.

use std::process::Output;
use std::time::Duration;

use doudian_gateway::{Gateway, RunningGateway};
use e2e_tests::redis_server::RedisServer;
use serde_json::Value;

mod common;
use common::doudian_for;

const PROCESSES: usize = 8;

/// Runs `PROCESSES` `doudian call shop.brandList` processes at once with `--token-store`.
async fn run_fleet(gw: &RunningGateway, token_store: &str) {
    let mut children = Vec::new();
    for _ in 0..PROCESSES {
        children.push(doudian_for(gw).args(["call", "shop.brandList", "--token-store", token_store]).spawn().unwrap());
    }
    let outputs: Vec<Output> = tokio::task::spawn_blocking(move || {
        children.into_iter().map(|child| child.wait_with_output().unwrap()).collect()
    })
    .await
    .unwrap();
    for output in outputs {
        assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    }
}

/// The stored token with its expiry moved to 30 minutes from now, and the gateway's clock
/// moved to the same point of the token's life.
fn into_the_last_hour(gw: &RunningGateway, stored: &mut Value) {
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs();
    stored["expires_at"] = (now + 1800).into();
    gw.advance_clock(Duration::from_secs(7 * 86400 - 1800));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn processes_sharing_a_token_file_create_once_and_refresh_once() {
    let gw = Gateway::builder().start().await.unwrap();
    let dir = std::env::temp_dir().join(format!("doudian-cli-fleet-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("tokens.json");
    let store = format!("file:{}", file.display());

    run_fleet(&gw, &store).await;
    assert_eq!((gw.calls("token.create"), gw.calls("token.refresh")), (1, 0));

    // The store keeps each shop in its own file.
    let shop_file = doudian_sdk::token::FileTokenStore::new(&file).token_path(&gw.shop_id().to_string());
    let mut stored: Value = serde_json::from_slice(&std::fs::read(&shop_file).unwrap()).unwrap();
    let old_access = stored["access_token"].clone();
    into_the_last_hour(&gw, &mut stored);
    std::fs::write(&shop_file, stored.to_string()).unwrap();

    run_fleet(&gw, &store).await;
    assert_eq!((gw.calls("token.create"), gw.calls("token.refresh")), (1, 1));
    assert_eq!(gw.counters().refreshes.rotated, 1);
    let renewed: Value = serde_json::from_slice(&std::fs::read(&shop_file).unwrap()).unwrap();
    assert_ne!(renewed["access_token"], old_access);
    assert_eq!(gw.calls("shop.brandList"), 2 * PROCESSES as u64);

    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(std::fs::metadata(&shop_file).unwrap().permissions().mode() & 0o777, 0o600);
    }
    let temporaries: Vec<_> = std::fs::read_dir(shop_file.parent().unwrap())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name.contains(".tmp-"))
        .collect();
    assert!(temporaries.is_empty(), "{temporaries:?}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn processes_sharing_redis_create_once_and_refresh_once() {
    let redis = RedisServer::start();
    let gw = Gateway::builder().start().await.unwrap();
    run_fleet(&gw, &redis.url()).await;
    assert_eq!((gw.calls("token.create"), gw.calls("token.refresh")), (1, 0));

    let key = format!("doudian:{}:token:{}", gw.app_key(), gw.shop_id());
    let mut stored: Value = serde_json::from_str(&redis.command(&["GET", &key])).unwrap();
    let old_access = stored["access_token"].clone();
    into_the_last_hour(&gw, &mut stored);
    assert_eq!(redis.command(&["SET", &key, &stored.to_string()]), "+OK");

    run_fleet(&gw, &format!("{}/0", redis.url())).await;
    assert_eq!((gw.calls("token.create"), gw.calls("token.refresh")), (1, 1));
    let renewed: Value = serde_json::from_str(&redis.command(&["GET", &key])).unwrap();
    assert_ne!(renewed["access_token"], old_access);
    assert_eq!(gw.calls("shop.brandList"), 2 * PROCESSES as u64);
}
