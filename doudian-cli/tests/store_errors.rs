//! Local token-store failures: exit 2 (set-up the user can fix), with their cause, so a
//! Redis that is down, a wrong Redis password and an unusable token path read differently.

use std::process::{Command, Output};

use doudian_gateway::{Gateway, RunningGateway};
use e2e_tests::redis_server::RedisServer;

/// `doudian call shop.brandList` against `gw` for its shop, with `--token-store store`.
async fn call_with_store(gw: &RunningGateway, store: &str) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_doudian"));
    for var in ["DOUDIAN_TOKEN_FILE", "DOUDIAN_TOKEN_STORE", "DOUDIAN_AUTH_CODE", "RUST_LOG"] {
        command.env_remove(var);
    }
    command
        .env("NO_PROXY", "127.0.0.1")
        .env("DOUDIAN_BASE_URL", gw.base_url())
        .env("DOUDIAN_APP_KEY", gw.app_key())
        .env("DOUDIAN_APP_SECRET", gw.app_secret())
        .env("DOUDIAN_SHOP_ID", gw.shop_id().to_string())
        .args(["call", "shop.brandList", "--token-store", store]);
    tokio::task::spawn_blocking(move || command.output().unwrap()).await.unwrap()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn store_failures_exit_2_and_name_their_cause() {
    let gw = Gateway::builder().start().await.unwrap();

    // A token path under a regular file: the system's reason is printed.
    let dir = e2e_tests::TempDir::new("store-errors");
    std::fs::write(dir.path().join("plain"), b"").unwrap();
    let path = dir.path().join("plain").join("tokens.json");
    let output = call_with_store(&gw, &format!("file:{}", path.display())).await;
    assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
    assert!(stderr(&output).contains("Not a directory"), "{}", stderr(&output));

    // Nothing listens: the connection is refused.
    let mut redis = RedisServer::start();
    let port = redis.port();
    redis.stop();
    let down = call_with_store(&gw, &format!("redis://127.0.0.1:{port}")).await;
    assert_eq!(down.status.code(), Some(2), "{}", stderr(&down));
    assert!(stderr(&down).contains("refused"), "{}", stderr(&down));

    // A Redis that wants another password says so.
    let redis = RedisServer::start();
    assert_eq!(redis.command(&["CONFIG", "SET", "requirepass", "right"]), "+OK");
    let refused = call_with_store(&gw, &format!("redis://:wrong@127.0.0.1:{}", redis.port())).await;
    assert_eq!(refused.status.code(), Some(2), "{}", stderr(&refused));
    let message = stderr(&refused);
    assert!(message.contains("Password authentication failed"), "{message}");
    assert!(!message.contains("refused") && !message.contains("wrong@"), "{message}");
    assert_eq!(gw.calls("shop.brandList"), 0);
}
