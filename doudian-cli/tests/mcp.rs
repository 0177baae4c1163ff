//! `doudian mcp` driven by a real MCP client: PyPI `mcp` (pinned below and in .ci/run),
//! unmodified, running `tests/python/mcp_client.py`, which launches the server over stdio
//! against an in-process gateway: the tools, search, describe, calls, the refusals, and a
//! write that goes through only once the server is started with --allow-writes.
//!
//! The client's venv lives under Cargo's target directory (see `common/pypi.rs`).

use std::collections::BTreeSet;
use std::path::Path;
use std::process::{Command, Output};
use std::time::Duration;

use doudian_gateway::{Gateway, OrderStatus, RunningGateway};
use serde_json::Value;

#[path = "common/pypi.rs"]
mod pypi;
#[path = "common/secrets.rs"]
mod secrets;

/// The PyPI `mcp` release the test runs (the same pin as `.ci/run`).
const MCP_VERSION: &str = "2.3.0";

/// Runs the client script against `gw` (its argv: the order to remark and the remark),
/// off the runtime that serves the gateway. Returns the script's JSON and its stderr,
/// which holds the servers' log lines.
async fn run_client(gw: &RunningGateway, env: &[(&str, &Path)], order_id: &str, remark: &str) -> (Value, String) {
    let python = tokio::task::spawn_blocking(|| pypi::venv_python("mcp", MCP_VERSION)).await.unwrap();
    let mut command = Command::new(python);
    command
        .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/python/mcp_client.py"))
        .args([order_id, remark])
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("NO_PROXY", "127.0.0.1")
        .env("no_proxy", "127.0.0.1")
        .env("DOUDIAN_BIN", env!("CARGO_BIN_EXE_doudian"))
        .env("DOUDIAN_BASE_URL", gw.base_url())
        .env("DOUDIAN_APP_KEY", gw.app_key())
        .env("DOUDIAN_APP_SECRET", gw.app_secret())
        .env("DOUDIAN_SHOP_ID", gw.shop_id().to_string());
    for (name, value) in env {
        command.env(name, value);
    }
    let output: Output = tokio::task::spawn_blocking(move || command.output()).await.unwrap().unwrap();
    let (stdout, stderr) =
        (String::from_utf8_lossy(&output.stdout).into_owned(), String::from_utf8_lossy(&output.stderr).into_owned());
    assert!(output.status.success(), "the MCP client failed:\n{stdout}\n{stderr}");
    let summary = serde_json::from_str(stdout.trim()).unwrap_or_else(|e| panic!("{e}: {stdout}\n{stderr}"));
    (summary, stderr)
}

/// The `error` of a refused or failed tool call.
fn tool_error<'a>(summary: &'a Value, key: &str) -> &'a Value {
    let reply = &summary[key];
    assert_eq!(reply["is_error"], true, "{key}: {reply}");
    &reply["structured"]["error"]
}

fn methods(hits: &Value) -> Vec<&str> {
    hits["structured"]["methods"].as_array().unwrap().iter().map(|h| h["method"].as_str().unwrap()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_mcp_client_searches_describes_and_calls_and_writes_only_with_allow_writes() {
    let gw = Gateway::builder().start().await.unwrap();
    let order_id = gw.order_ids(OrderStatus::AwaitingShipment).into_iter().next().expect("an order to remark");
    let remark = "remarked through doudian mcp";
    let (out, _logs) = run_client(&gw, &[], &order_id, remark).await;

    // The three tools and the two --tool methods, each with its params schema.
    let tools: BTreeSet<&str> = out["tools"].as_array().unwrap().iter().map(|t| t["name"].as_str().unwrap()).collect();
    let expected = ["call_method", "describe_method", "order_addOrderRemark", "order_searchList", "search_methods"];
    assert_eq!(tools, BTreeSet::from(expected), "{}", out["tools"]);
    let tool = |name: &str| out["tools"].as_array().unwrap().iter().find(|t| t["name"] == name).unwrap().clone();
    let described = &out["describe"]["structured"];
    assert_eq!(tool("order_searchList")["input_schema"], described["params"], "{described}");
    assert_eq!(tool("order_searchList")["read_only_hint"], true);
    assert_eq!(tool("order_addOrderRemark")["read_only_hint"], false);

    // Search: case-insensitive, by name, group or title, with read or write.
    let hits = &out["search_order"]["structured"]["methods"];
    for hit in hits.as_array().unwrap() {
        assert!(
            hit["method"].as_str().unwrap().to_lowercase().contains("order")
                || hit["title"].as_str().is_some_and(|t| t.to_lowercase().contains("order")),
            "{hit}"
        );
    }
    let hit = |name: &str| hits.as_array().unwrap().iter().find(|h| h["method"] == name).unwrap().clone();
    assert_eq!(hit("order.searchList")["access"], "read");
    assert_eq!(hit("order.addOrderRemark")["access"], "write");
    // The summary is the method's doc from the spec.
    assert!(
        hit("order.searchList")["summary"].as_str().unwrap().contains("update_time"),
        "{}",
        hit("order.searchList")
    );
    assert_eq!(methods(&out["search_case"])[0], "order.searchList");
    // 订单 can match only a Chinese title (api-spec/titles.json, through the params
    // schema) or the Chinese name of a group (订单 of `order`, BIC订单码 of `orderCode`):
    // every hit has one holding it, and order.searchList is among them.
    for hit in out["search_zh"]["structured"]["methods"].as_array().unwrap() {
        let group = doudian_sdk::catalog::find(hit["method"].as_str().unwrap()).unwrap().group;
        let group_title = doudian_sdk::schema::group_title(group).unwrap_or_default();
        assert!(group_title.contains("订单") || hit["title"].as_str().is_some_and(|t| t.contains("订单")), "{hit}");
    }
    assert_eq!(described["title"], "订单列表查询", "{described}");
    assert!(methods(&out["search_zh"]).contains(&"order.searchList"), "{}", out["search_zh"]);

    // Describe: both schemas, the retry class, the paging, the tool.
    assert!(described["params"].is_object() && described["reply"].is_object(), "{described}");
    assert!(described.get("title").is_some(), "{described}");
    assert_eq!((described["read_only"].as_bool(), described["retry"].as_str()), (Some(true), Some("read-only")));
    assert_eq!(described["paging"]["page_param"], "page");
    assert_eq!(described["tool"], "order_searchList");

    // A call gets the gateway's orders, through call_method and through the method's tool.
    let data = &out["call"]["structured"];
    assert_eq!(out["call"]["is_error"], false, "{}", out["call"]);
    let listed: BTreeSet<&str> =
        data["shop_order_list"].as_array().unwrap().iter().map(|o| o["order_id"].as_str().unwrap()).collect();
    let held: BTreeSet<String> =
        gw.orders_dump().into_iter().filter(|o| o.shop_id == gw.shop_id()).map(|o| o.order_id).collect();
    assert_eq!(listed, held.iter().map(String::as_str).collect(), "{data}");
    assert!(listed.contains(order_id.as_str()));
    assert_eq!(data["total"], held.len());
    assert!(out["call"]["meta"]["log_id"].as_str().is_some_and(|id| !id.is_empty()), "{}", out["call"]);
    assert_eq!(out["tool_call"]["structured"], *data);

    // Refusals, none of which reaches the gateway.
    assert_eq!(tool_error(&out, "not_object")["kind"], "invalid_params");
    assert_eq!(tool_error(&out, "unknown_method")["kind"], "unknown_method");
    assert_eq!(tool_error(&out, "misspelt")["kind"], "invalid_arguments");
    assert_eq!(tool_error(&out, "token_refused")["kind"], "withheld");
    for key in ["write_refused", "write_tool_refused"] {
        let error = tool_error(&out, key);
        assert_eq!(error["kind"], "write_refused", "{error}");
        assert!(error["message"].as_str().unwrap().contains("--allow-writes"), "{error}");
    }
    assert_eq!(out["unknown_tool"]["code"], -32602, "{}", out["unknown_tool"]);
    assert_eq!(gw.calls("order.searchList"), 2, "a refused call was sent");

    // The platform's error, with its code, sub_code, message and log_id.
    let error = tool_error(&out, "api_error");
    assert_eq!((error["kind"].as_str(), error["code"].as_i64()), (Some("api"), Some(40003)), "{error}");
    for field in ["sub_code", "message", "log_id"] {
        assert!(error[field].as_str().is_some_and(|v| !v.is_empty()), "{field}: {error}");
    }

    // With --allow-writes the same write goes through, once.
    assert_eq!(out["write"]["is_error"], false, "{}", out["write"]);
    assert_eq!(gw.calls("order.addOrderRemark"), 1);
    assert_eq!(gw.order(&order_id).unwrap().seller_words, remark);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn trace_logs_and_replies_of_mcp_never_show_the_secret_or_a_token() {
    // Tokens live 30 minutes, inside the SDK's 1-hour refresh window: the first server
    // creates one, the second (same token file) refreshes it, all under trace logging.
    let gw = Gateway::builder().token_ttl(Duration::from_secs(1800)).start().await.unwrap();
    let dir = e2e_tests::TempDir::new("mcp-trace");
    let file = dir.path().join("tokens.json");
    let order_id = gw.order_ids(OrderStatus::AwaitingShipment).into_iter().next().unwrap();
    let env = [("RUST_LOG", Path::new("trace")), ("DOUDIAN_TOKEN_FILE", file.as_path())];
    let (out, logs) = run_client(&gw, &env, &order_id, "traced").await;
    assert_eq!(out["write"]["is_error"], false, "{}", out["write"]);
    assert!(gw.calls("token.create") >= 1 && gw.calls("token.refresh") >= 1, "{:?}", gw.counters());
    // The logs are there (so the scan below means something) ...
    for expected in ["doudian.call", "method=\"token.create\"", "method=\"token.refresh\"", "log_id=", "doudian mcp"] {
        assert!(logs.contains(expected), "`{expected}` not in the trace logs:\n{logs}");
    }
    // ... and neither they nor any reply hold the secret or a token, old or new.
    let secrets = secrets::every_secret(&gw, &file);
    let replies = out.to_string();
    for secret in &secrets {
        assert!(!logs.contains(secret.as_str()), "a secret or token is in the trace logs:\n{logs}");
        assert!(!replies.contains(secret.as_str()), "a secret or token is in a reply:\n{replies}");
    }
}

#[test]
fn a_tool_flag_naming_no_method_fails_at_start_with_the_reason() {
    let output = Command::new(env!("CARGO_BIN_EXE_doudian"))
        .args(["mcp", "--tool", "order.searchList", "--tool", "order.noSuchMethod"])
        .env_clear()
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("--tool order.noSuchMethod: not a method of the catalog"), "{stderr}");
    assert!(output.stdout.is_empty(), "stdout is the protocol's alone");
}
