//! The `doudian` binary as a process: stdout, stderr and exit codes.

use std::io::{BufRead, BufReader, Write};
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use doudian_gateway::{Gateway, RunningGateway};
use serde_json::Value;

#[path = "common/secrets.rs"]
mod secrets;

/// Variables the CLI reads; every test starts from none of them (and no proxy for loopback).
const DOUDIAN_VARS: &[&str] = &[
    "DOUDIAN_BASE_URL",
    "DOUDIAN_APP_KEY",
    "DOUDIAN_APP_SECRET",
    "DOUDIAN_SHOP_ID",
    "DOUDIAN_AUTH_CODE",
    "DOUDIAN_SIGN_METHOD",
    "DOUDIAN_TOKEN_FILE",
    "DOUDIAN_TOKEN_STORE",
    "RUST_LOG",
];

fn doudian() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_doudian"));
    for var in DOUDIAN_VARS {
        command.env_remove(var);
    }
    command.env("NO_PROXY", "127.0.0.1,localhost").env("no_proxy", "127.0.0.1,localhost");
    command
}

fn run(command: &mut Command) -> Output {
    command.output().expect("doudian runs")
}

/// Runs with `stdin` as standard input.
fn run_with_stdin(command: &mut Command, stdin: &[u8]) -> Output {
    let mut child = command.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    child.stdin.take().unwrap().write_all(stdin).unwrap();
    child.wait_with_output().unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn stdout_json(output: &Output) -> Value {
    serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
        panic!("stdout is not JSON ({e}): {}\nstderr: {}", text(&output.stdout), text(&output.stderr))
    })
}

fn reference(name: &str) -> Value {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../doudian-sdk/tests/vectors").join(name);
    serde_json::from_slice(&std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))).unwrap()
}

/// Runs the blocking command off the runtime that serves the in-process gateway.
async fn run_async(mut command: Command) -> Output {
    tokio::task::spawn_blocking(move || run(&mut command)).await.unwrap()
}

/// The connection variables for `gw`'s app and shop.
fn connected(gw: &RunningGateway) -> Command {
    let mut command = doudian();
    command
        .env("DOUDIAN_BASE_URL", gw.base_url())
        .env("DOUDIAN_APP_KEY", gw.app_key())
        .env("DOUDIAN_APP_SECRET", gw.app_secret());
    command
}

#[test]
fn sign_reproduces_every_known_vector() {
    let vectors = reference("sign_vectors.json");
    let cases = vectors["cases"].as_array().unwrap();
    assert!(cases.len() >= 10);
    for case in cases {
        let (id, inputs, expected) = (&case["id"], &case["inputs"], &case["expected"]);
        let s = |v: &Value| v.as_str().unwrap().to_owned();
        let output = run(doudian().args([
            "sign",
            "--app-key",
            &s(&inputs["app_key"]),
            "--app-secret",
            &s(&inputs["app_secret"]),
            "--method",
            &s(&inputs["method"]),
            "--timestamp",
            &s(&inputs["timestamp"]),
            "--sign-method",
            &s(&inputs["sign_method"]),
            "--param-json",
            &s(&inputs["params_json_text"]),
        ]));
        assert!(output.status.success(), "{id}: {}", text(&output.stderr));
        let printed = stdout_json(&output);
        assert_eq!(printed["param_json"], expected["param_json"], "{id}");
        assert_eq!(printed["sign"], expected["sign"], "{id}");
        assert_eq!(printed["sign_method"], inputs["sign_method"], "{id}");
        let secret = s(&inputs["app_secret"]);
        let masked = s(&expected["sign_string"]).replace(&secret, "***");
        assert_eq!(printed["sign_string_masked"].as_str(), Some(masked.as_str()), "{id}");
        assert!(!text(&output.stdout).contains(&secret), "{id}: the secret is printed");
    }
}

#[test]
fn sign_reads_credentials_from_the_environment_and_rejects_bad_json() {
    let vectors = reference("sign_vectors.json");
    let case = vectors["cases"].as_array().unwrap().iter().find(|c| c["id"] == "empty_hmac").unwrap();
    let inputs = &case["inputs"];
    let output = run(doudian()
        .env("DOUDIAN_APP_KEY", inputs["app_key"].as_str().unwrap())
        .env("DOUDIAN_APP_SECRET", inputs["app_secret"].as_str().unwrap())
        .args(["sign", "--method", "shop.getShopCategory", "--timestamp", "1700000000"]));
    assert!(output.status.success(), "{}", text(&output.stderr));
    assert_eq!(stdout_json(&output)["sign"], case["expected"]["sign"], "hmac-sha256 and {{}} are the defaults");

    let output = run(doudian().args([
        "sign",
        "--app-key",
        "k",
        "--app-secret",
        "s",
        "--method",
        "m",
        "--timestamp",
        "1",
        "--param-json",
        "{\"a\":",
    ]));
    assert_eq!(output.status.code(), Some(2), "{}", text(&output.stderr));
    assert!(output.stdout.is_empty());
    assert!(text(&output.stderr).starts_with("error: "), "{}", text(&output.stderr));
}

#[test]
fn push_verify_accepts_valid_and_refuses_tampered_vectors() {
    let vectors = reference("push_vectors.json");
    let mut seen = (0, 0);
    for case in vectors["cases"].as_array().unwrap() {
        let (id, inputs, expected) = (&case["id"], &case["inputs"], &case["expected"]);
        let s = |v: &Value| v.as_str().unwrap().to_owned();
        let output = run_with_stdin(
            doudian().args([
                "push",
                "verify",
                "--app-key",
                &s(&inputs["app_key"]),
                "--app-secret",
                &s(&inputs["app_secret"]),
                "--event-sign",
                &s(&inputs["headers"]["event-sign"]),
                "--app-id",
                &s(&inputs["headers"]["app-id"]),
                "--sign-method",
                &s(&inputs["sign_method"]),
            ]),
            s(&inputs["body"]).as_bytes(),
        );
        let body: Value = serde_json::from_str(inputs["body"].as_str().unwrap()).unwrap();
        if expected["valid"] == true {
            seen.0 += 1;
            assert_eq!(output.status.code(), Some(0), "{id}: {}", text(&output.stderr));
            let printed = stdout_json(&output);
            assert_eq!(printed["valid"], true, "{id}");
            assert_eq!(printed["reply"], expected["reply_on_success"], "{id}");
            let messages = printed["messages"].as_array().unwrap();
            let records = body.as_array().unwrap();
            assert_eq!(messages.len(), records.len(), "{id}");
            for (message, record) in messages.iter().zip(records) {
                assert_eq!(message["tag"], record["tag"], "{id}");
                assert_eq!(message["msg_id"], record["msg_id"], "{id}");
                if record["tag"] == "0" {
                    assert_eq!(message["type"], "test", "{id}");
                } else {
                    // `data` is printed parsed, with 16+ digit ids exact.
                    let data: Value = serde_json::from_str(record["data"].as_str().unwrap()).unwrap();
                    assert_eq!(message["data"], data, "{id}");
                    assert_ne!(message["type"], "unknown", "{id}");
                }
            }
        } else {
            seen.1 += 1;
            assert_eq!(output.status.code(), Some(1), "{id}: stdout {}", text(&output.stdout));
            assert!(output.stdout.is_empty(), "{id}");
            let stderr = text(&output.stderr);
            assert!(stderr.contains("signature does not match"), "{id}: {stderr}");
        }
    }
    assert!(seen.0 >= 2 && seen.1 >= 2, "{seen:?}");
}

#[test]
fn push_verify_refuses_another_apps_id() {
    let vectors = reference("push_vectors.json");
    let case = &vectors["cases"][0];
    let inputs = &case["inputs"];
    let output = run_with_stdin(
        doudian().args([
            "push",
            "verify",
            "--app-key",
            inputs["app_key"].as_str().unwrap(),
            "--app-secret",
            inputs["app_secret"].as_str().unwrap(),
            "--event-sign",
            inputs["headers"]["event-sign"].as_str().unwrap(),
            "--app-id",
            "7999999999999999999",
        ]),
        inputs["body"].as_str().unwrap().as_bytes(),
    );
    assert_eq!(output.status.code(), Some(1));
    assert!(text(&output.stderr).contains("7999999999999999999"), "{}", text(&output.stderr));
}

#[test]
fn methods_lists_matching_methods_with_type_and_feature() {
    let output = run(doudian().args(["methods", "searchList"]));
    assert!(output.status.success(), "{}", text(&output.stderr));
    let stdout = text(&output.stdout);
    let row = stdout.lines().find(|l| l.starts_with("order.searchList ")).unwrap_or_else(|| panic!("{stdout}"));
    let columns: Vec<_> = row.split_whitespace().collect();
    assert_eq!(columns[1], "api::order::OrderSearchListRequest", "{row}");
    assert_eq!(columns[2], "order", "{row}");
    assert_eq!(columns[3], "read-only", "{row}");
    assert!(row.contains("paged"), "{row}");
    assert!(stdout.lines().next().unwrap().starts_with("METHOD"), "{stdout}");
    assert!(stdout.lines().skip(1).all(|l| l.to_lowercase().contains("searchlist")), "{stdout}");

    let output = run(doudian().args(["methods", "--json", "order.searchList"]));
    let rows = stdout_json(&output);
    let row = rows.as_array().unwrap().iter().find(|r| r["method"] == "order.searchList").unwrap();
    assert_eq!(row["request_type"], "doudian_sdk::api::order::OrderSearchListRequest");
    assert_eq!((&row["feature"], &row["read_only"], &row["paginated"]), (&"order".into(), &true.into(), &true.into()));

    assert_eq!(row["retry"], "read-only");

    // Writes show their class: one safe to repeat, one that is not.
    let output = run(doudian().args(["methods", "order."]));
    let stdout = text(&output.stdout);
    assert!(stdout.lines().next().unwrap().ends_with("RETRY"), "{stdout}");
    for (method, class) in [("order.addOrderRemark", "idempotent"), ("order.logisticsAdd", "read-back")] {
        let row = stdout.lines().find(|l| l.starts_with(&format!("{method} "))).unwrap_or_else(|| panic!("{stdout}"));
        assert_eq!(row.split_whitespace().nth(3), Some(class), "{row}");
    }

    let output = run(doudian().args(["methods", "no-such-method-anywhere"]));
    assert_eq!(output.status.code(), Some(2));
    assert!(text(&output.stderr).contains("no method matches"), "{}", text(&output.stderr));
}

#[test]
fn methods_lists_every_known_name_and_other_spellings_as_aliases() {
    let output = run(doudian().args(["methods"]));
    assert!(output.status.success(), "{}", text(&output.stderr));
    let stdout = text(&output.stdout);
    let rows: Vec<&str> = stdout.lines().skip(1).collect();
    let names: std::collections::BTreeSet<&str> = rows.iter().map(|r| r.split_whitespace().next().unwrap()).collect();
    assert_eq!(names.len(), rows.len(), "one name a line");
    // The catalog's 811 names, and `afterSale.Operate`, a spelling only its case variants record.
    let catalog: Value =
        serde_json::from_str(include_str!("../../api-spec/catalog/doudian-catalog.json")).expect("the catalog parses");
    let listed: std::collections::BTreeSet<&str> = catalog["method_lists"]
        .as_object()
        .unwrap()
        .values()
        .flat_map(|l| l.as_array().unwrap())
        .filter_map(Value::as_str)
        .collect();
    assert_eq!(listed.len(), 811);
    assert!(listed.iter().all(|name| names.contains(name)), "every catalog name is listed");
    assert_eq!(rows.len(), 812);
    let alias = rows.iter().find(|r| r.starts_with("crossBorder.stockTaking ")).unwrap();
    assert!(alias.contains("(alias of crossborder.stockTaking"), "{alias}");
    assert!(alias.contains("api::cross_border::CrossborderStockTakingRequest"), "{alias}");
    assert_eq!(rows.iter().filter(|r| r.contains("(alias of ")).count(), 5);
    assert_eq!(rows.iter().filter(|r| r.contains("untyped")).count(), 67, "807 methods, 740 typed");

    let output = run(doudian().args(["methods", "--json", "crossBorder.stockTaking"]));
    let rows = stdout_json(&output);
    let row = rows.as_array().unwrap().iter().find(|r| r["method"] == "crossBorder.stockTaking").unwrap();
    assert_eq!(row["alias_of"], "crossborder.stockTaking");
}

#[test]
fn call_by_another_spelling_sends_the_documented_name() {
    // The method's sample parameters: they fit its schema, checked under the other spelling.
    let samples: Value =
        serde_json::from_str(include_str!("../../doudian-gateway/data/samples.json")).expect("samples.json");
    let params = samples["crossborder.stockTaking"]["request"].to_string();
    let output = run(doudian().args(["call", "crossBorder.stockTaking", &params]));
    assert!(output.status.success(), "{}", text(&output.stderr));
    assert!(stdout_json(&output).is_object(), "the sample reply of crossborder.stockTaking");
}

#[test]
fn call_without_credentials_uses_the_bundled_gateway() {
    let output = run(doudian().args(["call", "order.searchList", r#"{"page":0,"size":2}"#]));
    assert!(output.status.success(), "{}", text(&output.stderr));
    let data = stdout_json(&output);
    assert_eq!(data["shop_order_list"].as_array().unwrap().len(), 2);
    assert_eq!(data["total"], 45);
    assert!(data["shop_order_list"][0]["order_id"].is_string());
    assert!(
        text(&output.stderr).contains("using the bundled gateway at http://127.0.0.1:"),
        "{}",
        text(&output.stderr)
    );

    // --with-log-id wraps the data; parameters can come from stdin.
    let output =
        run_with_stdin(doudian().args(["call", "order.searchList", "-", "--with-log-id"]), br#"{"page":1,"size":40}"#);
    assert!(output.status.success(), "{}", text(&output.stderr));
    let reply = stdout_json(&output);
    assert_eq!(reply["data"]["shop_order_list"].as_array().unwrap().len(), 5);
    assert!(reply["log_id"].as_str().is_some_and(|id| id.len() >= 20), "{reply}");
}

#[test]
fn call_api_error_prints_code_sub_code_msg_and_log_id() {
    let output = run(doudian().args(["call", "order.orderDetail", r#"{"shop_order_id":"1"}"#]));
    assert_eq!(output.status.code(), Some(1), "{}", text(&output.stdout));
    assert!(output.stdout.is_empty());
    let stderr = text(&output.stderr);
    let field = |name: &str| {
        stderr
            .lines()
            .find_map(|l| l.trim().strip_prefix(&format!("{name}:")).map(|v| v.trim().to_owned()))
            .unwrap_or_else(|| panic!("no `{name}:` line in {stderr}"))
    };
    assert_eq!(field("code"), "40003");
    assert_eq!(field("sub_code"), "isv.parameter-invalid");
    assert!(!field("msg").is_empty());
    assert!(field("log_id").len() >= 20, "{stderr}");
    assert!(stderr.contains("order.orderDetail failed"), "{stderr}");
}

#[test]
fn call_usage_and_transport_errors_have_their_exit_codes() {
    // Bad JSON parameters: a usage error, nothing sent.
    let output = run(doudian().args(["call", "order.searchList", "{page:0}"]));
    assert_eq!(output.status.code(), Some(2), "{}", text(&output.stderr));
    // Half the credentials.
    let output = run(doudian().env("DOUDIAN_APP_KEY", "k").args(["call", "shop.brandList"]));
    assert_eq!(output.status.code(), Some(2));
    assert!(text(&output.stderr).contains("DOUDIAN_APP_SECRET"), "{}", text(&output.stderr));
    // Nothing listens on port 9: a transport failure.
    let output = run(doudian()
        .env("DOUDIAN_BASE_URL", "http://127.0.0.1:9")
        .env("DOUDIAN_APP_KEY", "k")
        .env("DOUDIAN_APP_SECRET", "s")
        .env("DOUDIAN_SHOP_ID", "1")
        .args(["call", "shop.brandList"]));
    assert_eq!(output.status.code(), Some(3), "{}", text(&output.stderr));
    assert!(text(&output.stderr).contains("could not connect"), "{}", text(&output.stderr));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn call_uses_the_gateway_named_by_the_environment() {
    let gw = Gateway::builder().start().await.unwrap();
    // Self-use, md5.
    let mut command = connected(&gw);
    command.env("DOUDIAN_SHOP_ID", gw.shop_id().to_string()).env("DOUDIAN_SIGN_METHOD", "md5").args([
        "call",
        "order.searchList",
        r#"{"page":0,"size":3}"#,
    ]);
    let output = run_async(command).await;
    assert!(output.status.success(), "{}", text(&output.stderr));
    assert_eq!(stdout_json(&output)["shop_order_list"].as_array().unwrap().len(), 3);
    assert!(!text(&output.stderr).contains("bundled"), "{}", text(&output.stderr));
    assert_eq!(gw.calls("order.searchList"), 1);
    assert_eq!(gw.counters().tokens_created, 1);

    // Tool app: an authorisation code.
    let mut command = connected(&gw);
    command.env("DOUDIAN_AUTH_CODE", gw.mint_auth_code(gw.shop_id())).args(["call", "shop.brandList"]);
    let output = run_async(command).await;
    assert!(output.status.success(), "{}", text(&output.stderr));
    assert_eq!(stdout_json(&output).as_array().unwrap().len(), 4);
    assert_eq!(gw.counters().tokens_created, 2);

    // A wrong secret: the signature error, exit 1.
    let mut command = connected(&gw);
    command
        .env("DOUDIAN_APP_SECRET", "wrong")
        .env("DOUDIAN_SHOP_ID", gw.shop_id().to_string())
        .args(["call", "shop.brandList"]);
    let output = run_async(command).await;
    assert_eq!(output.status.code(), Some(1));
    assert!(text(&output.stderr).contains("isv.signature-invalid"), "{}", text(&output.stderr));
    assert_eq!(gw.counters().signature_failures, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn call_with_a_token_file_reuses_the_token_across_runs() {
    let gw = Gateway::builder().start().await.unwrap();
    let dir = std::env::temp_dir().join(format!("doudian-cli-tokens-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("tokens.json");
    for _ in 0..2 {
        let mut command = connected(&gw);
        command
            .env("DOUDIAN_SHOP_ID", gw.shop_id().to_string())
            .env("DOUDIAN_TOKEN_FILE", &file)
            .args(["call", "shop.brandList"]);
        let output = run_async(command).await;
        assert!(output.status.success(), "{}", text(&output.stderr));
    }
    assert_eq!(gw.calls("token.create"), 1, "the second run reads the token file");
    assert_eq!(gw.calls("shop.brandList"), 2);
    let _ = std::fs::remove_dir_all(&dir);
}

/// Starts `doudian mock` with `args`; the child and the settings it printed.
fn spawn_mock(args: &[&str]) -> (std::process::Child, std::collections::BTreeMap<String, String>) {
    let mut child = doudian().arg("mock").args(args).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    let stdout = child.stdout.take().unwrap();
    let (lines_tx, lines) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if lines_tx.send(line).is_err() {
                break;
            }
        }
    });
    let mut settings = std::collections::BTreeMap::new();
    while !settings.contains_key("DOUDIAN_SHOP_ID") {
        let line = lines.recv_timeout(Duration::from_secs(20)).unwrap_or_else(|_| {
            let _ = child.kill();
            panic!("doudian mock printed no settings; got {settings:?}")
        });
        if let Some((name, value)) = line.split_once('=') {
            settings.insert(name.to_owned(), value.to_owned());
        }
    }
    (child, settings)
}

/// Runs a command that must end by itself: checked 6,000 times 20 ms apart (two minutes at
/// least, a count rather than a deadline, so a busy machine only waits longer).
fn run_to_end(command: &mut Command) -> Output {
    let mut child = command.stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    if !e2e_tests::poll_until(6_000, Duration::from_millis(20), || child.try_wait().unwrap().is_some()) {
        let _ = child.kill();
        panic!("still running after 6,000 checks 20 ms apart");
    }
    child.wait_with_output().unwrap()
}

/// `GET url` over a bare socket: the JSON body.
fn get_json(url: &str) -> Value {
    use std::io::Read;
    let rest = url.strip_prefix("http://").expect("an http URL");
    let (host, path) = rest.split_once('/').map(|(h, p)| (h, format!("/{p}"))).unwrap_or((rest, "/".into()));
    let mut stream = std::net::TcpStream::connect(host).unwrap();
    stream.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    write!(stream, "GET {path} HTTP/1.1\r\nhost: {host}\r\nconnection: close\r\n\r\n").unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    let body = response.split_once("\r\n\r\n").map(|(_, b)| b).unwrap_or_default();
    serde_json::from_str(body).unwrap_or_else(|e| panic!("{e}: {response}"))
}

#[test]
fn mock_prints_its_base_url_and_serves_calls() {
    let (mut child, settings) =
        spawn_mock(&["--port", "0", "--app-key", "7311111111111111111", "--app-secret", "mock-secret"]);
    let base_url = settings["DOUDIAN_BASE_URL"].clone();
    let port_ok = base_url.strip_prefix("http://127.0.0.1:").and_then(|p| p.parse::<u16>().ok()).is_some_and(|p| p > 0);
    assert!(port_ok, "{base_url}");
    assert_eq!(settings["DOUDIAN_APP_KEY"], "7311111111111111111");
    assert_eq!(settings["DOUDIAN_APP_SECRET"], "mock-secret");

    // The printed settings work as they are.
    let mut call = doudian();
    call.envs(&settings).args(["call", "order.logisticsCompanyList"]);
    let output = run(&mut call);
    let _ = child.kill();
    let _ = child.wait();
    assert!(output.status.success(), "{}", text(&output.stderr));
    assert_eq!(stdout_json(&output).as_array().unwrap().len(), 7);
}

#[test]
fn mock_takes_extra_orders_and_per_method_limits() {
    let (mut child, settings) =
        spawn_mock(&["--orders", "50", "--qps", "order.logisticsAdd=5", "--qps", "order.searchList=1000"]);
    let mut call = doudian();
    call.envs(&settings).args([
        "call",
        "order.searchList",
        r#"{"page":0,"size":1,"combine_status":[{"order_status":"2"}]}"#,
    ]);
    let output = run(&mut call);
    let stats = get_json(&format!("{}/_mock/stats", settings["DOUDIAN_BASE_URL"]));
    let _ = child.kill();
    let _ = child.wait();
    assert!(output.status.success(), "{}", text(&output.stderr));
    assert_eq!(stdout_json(&output)["total"], 70, "50 extra + 20 seeded awaiting shipment");
    assert_eq!(stats["limits"], serde_json::json!({"order.logisticsAdd": 5, "order.searchList": 1000}), "{stats}");
}

#[test]
fn mock_refuses_malformed_qps_flags_and_unknown_methods() {
    for (flag, expected) in [
        ("order.logisticsAdd=abc", "must be a whole number of calls per second"),
        ("order.logisticsAdd=0", "at least 1 call per second"),
        ("order.logisticsAdd", "expected METHOD=N"),
    ] {
        let output = run_to_end(doudian().args(["mock", "--qps", flag]));
        assert_eq!(output.status.code(), Some(2), "{flag}");
        let stderr = text(&output.stderr);
        assert!(stderr.contains("--qps") && stderr.contains(flag) && stderr.contains(expected), "{flag}: {stderr}");
    }
    let output = run_to_end(doudian().args(["mock", "--orders", "many"]));
    assert_eq!(output.status.code(), Some(2));
    // Well-formed, but a method the gateway does not know: it refuses to start.
    let output = run_to_end(doudian().args(["mock", "--qps", "order.logisticAdd=100"]));
    assert_eq!(output.status.code(), Some(2));
    let stderr = text(&output.stderr);
    assert!(stderr.contains("order.logisticAdd") && stderr.contains("does not know"), "{stderr}");
}

/// `POST url` with a JSON body: the status and the JSON body.
fn post_json(url: &str, body: &Value) -> (u16, Value) {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    runtime.block_on(async {
        let response = reqwest::Client::new()
            .post(url)
            .header("content-type", "application/json")
            .body(body.to_string())
            .timeout(Duration::from_secs(20))
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        let text = response.text().await.unwrap();
        (status, serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}: {text}")))
    })
}

#[test]
fn mock_moves_orders_on_request_over_several_shops_within_a_search_cap() {
    let (mut child, settings) =
        spawn_mock(&["--orders", "40", "--shops", "2", "--search-cap", "30", "--churn-seed", "4"]);
    let base = settings["DOUDIAN_BASE_URL"].clone();
    let shop_id: i64 = settings["DOUDIAN_SHOP_ID"].parse().unwrap();
    let (status, churned) = post_json(&format!("{base}/_mock/churn"), &serde_json::json!({"steps": 50}));
    let dump = get_json(&format!("{base}/_mock/orders"));
    let (rate_status, rate) = post_json(&format!("{base}/_mock/churn"), &serde_json::json!({"rate": 2.5}));
    let mut call = doudian();
    call.envs(&settings).args(["call", "order.searchList", r#"{"page":3,"size":10}"#]);
    let past_cap = run(&mut call);
    let mut call = doudian();
    call.envs(&settings).args(["call", "order.searchList", r#"{"page":0,"size":10}"#]);
    let first_page = run(&mut call);
    let _ = child.kill();
    let _ = child.wait();
    assert_eq!(status, 200, "{churned}");
    assert_eq!(churned["changes"].as_array().unwrap().len(), 50);
    assert_eq!((rate_status, rate["rate"].as_f64()), (200, Some(2.5)));
    let rows = dump["orders"].as_array().unwrap();
    let shops: std::collections::BTreeSet<i64> = rows.iter().map(|r| r["shop_id"].as_i64().unwrap()).collect();
    assert_eq!(shops.into_iter().collect::<Vec<_>>(), [shop_id, shop_id + 1]);
    let created = churned["changes"].as_array().unwrap().iter().filter(|c| c["from"].is_null()).count();
    assert_eq!(rows.len(), 45 + 40 + created);
    assert!(first_page.status.success(), "{}", text(&first_page.stderr));
    assert_eq!(
        stdout_json(&first_page)["total"].as_u64().unwrap() as usize,
        rows.iter().filter(|r| r["shop_id"] == shop_id).count()
    );
    assert!(!past_cap.status.success());
    let stderr = text(&past_cap.stderr);
    assert!(stderr.contains("parameter-invalid") && stderr.contains("30"), "{stderr}");
}

#[test]
fn mock_refuses_bad_churn_settings() {
    for (flag, expected) in [
        ("--push-drop=2", "push drop share"),
        ("--churn=-1", "churn rate"),
        ("--shops=0", "shops"),
        ("--search-cap=0", "search_cap"),
    ] {
        let output = run_to_end(doudian().args(["mock", flag]));
        assert_eq!(output.status.code(), Some(2), "{flag}");
        let stderr = text(&output.stderr);
        assert!(stderr.contains(expected), "{flag}: {stderr}");
    }
}

/// `doudian push verify` with the `app-id` header equal to the app key, plus `extra` flags.
fn push_verify(app_key: &str, secret: &str, sign: &str, extra: &[&str], body: &[u8]) -> Output {
    let mut command = doudian();
    command
        .args(["push", "verify", "--app-key", app_key, "--app-secret", secret, "--event-sign", sign])
        .args(["--app-id", app_key])
        .args(extra);
    run_with_stdin(&mut command, body)
}

#[test]
fn push_verify_hmac_only_when_asked_and_malformed_bodies() {
    use doudian_sdk::push::sign_push_body;
    use doudian_sdk::SignMethod;
    let (key, secret) = ("7012345678901234567", "push-secret");
    let body = br#"[{"tag":"113","msg_id":"7301234567890123499","data":"{\"p_id\":6921349872346712345,\"shop_id\":4463798,\"remark\":\"\u5907\u6ce8\"}"}]"#;
    let hmac = sign_push_body(key, secret, body, SignMethod::HmacSha256);
    let md5 = sign_push_body(key, secret, body, SignMethod::Md5);

    let output = push_verify(key, secret, &hmac, &[], body);
    assert_eq!(output.status.code(), Some(1), "hmac-sha256 is refused by default");
    let output = push_verify(key, secret, &hmac, &["--sign-method", "hmac-sha256"], body);
    assert!(output.status.success(), "{}", text(&output.stderr));
    let printed = stdout_json(&output);
    assert_eq!(printed["messages"][0]["tag"], "113");
    assert_eq!(printed["messages"][0]["type"], "TradeMemoModify");
    // The 19-digit id is printed exactly.
    assert!(text(&output.stdout).contains("6921349872346712345"), "{}", text(&output.stdout));
    // md5 stays accepted when hmac-sha256 is allowed too.
    let output = push_verify(key, secret, &md5, &["--sign-method", "hmac-sha256"], body);
    assert!(output.status.success(), "{}", text(&output.stderr));

    // A correctly signed body that is not a push: refused (exit 1) with the reason.
    for bad in [&b""[..], b"{}", b"[{\"msg_id\":\"1\"}]", b"not json"] {
        let sign = sign_push_body(key, secret, bad, SignMethod::Md5);
        let output = push_verify(key, secret, &sign, &[], bad);
        assert_eq!(output.status.code(), Some(1), "{:?}: {}", text(bad), text(&output.stderr));
        assert!(text(&output.stderr).contains("malformed body"), "{}", text(&output.stderr));
    }
}

/// `--app-id` is optional ("checked against the app key when given", and issue 4's
/// synopsis `[--app-id A]`): without it the signature alone must decide.
#[test]
fn push_verify_without_app_id_checks_the_signature_alone() {
    let vectors = reference("push_vectors.json");
    let inputs = &vectors["cases"][0]["inputs"];
    let output = run_with_stdin(
        doudian().args([
            "push",
            "verify",
            "--app-key",
            inputs["app_key"].as_str().unwrap(),
            "--app-secret",
            inputs["app_secret"].as_str().unwrap(),
            "--event-sign",
            inputs["headers"]["event-sign"].as_str().unwrap(),
        ]),
        inputs["body"].as_str().unwrap().as_bytes(),
    );
    assert!(output.status.success(), "a valid push without --app-id is refused: {}", text(&output.stderr));
    assert_eq!(stdout_json(&output)["valid"], true);
}

#[test]
fn sign_accepts_every_timestamp_form_verbatim() {
    let base = ["sign", "--app-key", "k", "--app-secret", "s", "--method", "order.searchList", "--sign-method", "md5"];
    for timestamp in ["1700000000", "1700000000123", "2023-11-15 06:13:20"] {
        let output = run(doudian().args(base).args(["--timestamp", timestamp]));
        assert!(output.status.success(), "{}", text(&output.stderr));
        let printed = stdout_json(&output);
        let expected = format!("***app_keykmethodorder.searchListparam_json{{}}timestamp{timestamp}v2***");
        assert_eq!(printed["sign_string_masked"].as_str(), Some(expected.as_str()));
        assert_eq!(printed["sign"].as_str().map(str::len), Some(32));
    }
}

#[test]
fn call_an_unknown_method_is_an_api_error() {
    let output = run(doudian().args(["call", "order.noSuchMethod", "{}"]));
    assert_eq!(output.status.code(), Some(1), "{}", text(&output.stderr));
    let stderr = text(&output.stderr);
    assert!(stderr.contains("70000") && stderr.contains("isp.api-service-off"), "{stderr}");
}

#[test]
fn version_and_help() {
    let output = run(doudian().arg("--version"));
    assert!(output.status.success());
    assert!(text(&output.stdout).starts_with("doudian "), "{}", text(&output.stdout));
    let output = run(doudian().arg("--help"));
    assert!(output.status.success());
    let help = text(&output.stdout);
    for command in ["call", "sign", "push", "methods", "mock"] {
        assert!(help.contains(command), "{help}");
    }
    let output = run(doudian().arg("frobnicate"));
    assert_eq!(output.status.code(), Some(2));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn trace_logs_of_call_never_show_the_secret_or_a_token() {
    // Tokens live 30 minutes, inside the SDK's 1-hour refresh window: the first run creates
    // one, the second refreshes it, so both token calls run under trace logging.
    let gw = Gateway::builder().token_ttl(Duration::from_secs(1800)).start().await.unwrap();
    let dir = e2e_tests::TempDir::new("cli-trace");
    let file = dir.path().join("tokens.json");
    let mut logs = String::new();
    for verbosity in [None, Some("-vv")] {
        let mut command = connected(&gw);
        command.env("DOUDIAN_SHOP_ID", gw.shop_id().to_string()).env("DOUDIAN_TOKEN_FILE", &file);
        match verbosity {
            None => command.env("RUST_LOG", "trace"),
            Some(flag) => command.arg(flag),
        };
        command.args(["call", "order.searchList", r#"{"page":0,"size":1}"#]);
        let output = run_async(command).await;
        assert!(output.status.success(), "{}", text(&output.stderr));
        logs.push_str(&text(&output.stderr));
    }
    assert_eq!((gw.calls("token.create"), gw.calls("token.refresh")), (1, 1));
    // The logs are there (so the scan below means something) ...
    for expected in ["doudian.call", "method=\"token.create\"", "method=\"token.refresh\"", "log_id="] {
        assert!(logs.contains(expected), "`{expected}` not in the trace logs:\n{logs}");
    }
    // ... and hold neither the secret nor any token, old or new.
    let secrets = secrets::every_secret(&gw, &file);
    for secret in &secrets {
        assert!(!logs.contains(secret.as_str()), "a secret or token is in the trace logs:\n{logs}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn push_listen_prints_each_verified_event_once_as_a_json_line() {
    let gw = Gateway::builder().start().await.unwrap();
    let mut child = doudian()
        .args(["push", "listen", "--port", "0", "--app-key", gw.app_key(), "--app-secret", gw.app_secret()])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let (stderr, stdout) = (child.stderr.take().unwrap(), child.stdout.take().unwrap());
    let lines = |reader: Box<dyn std::io::Read + Send>| {
        let (sender, receiver) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(reader).lines().map_while(Result::ok) {
                if sender.send(line).is_err() {
                    break;
                }
            }
        });
        receiver
    };
    let (errors, events) = (lines(Box::new(stderr)), lines(Box::new(stdout)));
    let banner = errors.recv_timeout(Duration::from_secs(20)).expect("a listening line");
    let url = banner.split_whitespace().find(|w| w.starts_with("http://")).expect("a URL").to_owned();

    let order_id = gw.order_ids(doudian_gateway::OrderStatus::AwaitingShipment)[0].clone();
    let paid = gw.trade_event(doudian_gateway::TradeEvent::Paid, &order_id).unwrap();
    for _ in 0..2 {
        // The second delivery is a redelivery: acknowledged, not printed.
        let delivery = gw.send_push(&format!("{url}webhook"), std::slice::from_ref(&paid)).await.unwrap();
        assert_eq!((delivery.status, delivery.body.as_str()), (200, doudian_sdk::push::SUCCESS_REPLY));
    }
    let line = events.recv_timeout(Duration::from_secs(10)).expect("an event line");
    let event: Value = serde_json::from_str(&line).unwrap();
    assert_eq!(event["tag"], "101");
    assert_eq!(event["msg_id"], paid.msg_id.as_str());
    assert_eq!(event["type"], "TradePaid");
    assert_eq!(event["data"]["p_id"].to_string(), order_id);

    // A forged push is refused and prints nothing.
    let forged = reqwest::Client::builder()
        .no_proxy()
        .build()
        .unwrap()
        .post(&url)
        .header("app-id", gw.app_key())
        .header("event-sign", "0".repeat(32))
        .body(doudian_gateway::push_body(std::slice::from_ref(&paid)))
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), 401);
    let quiet = events.recv_timeout(Duration::from_millis(300));
    let _ = child.kill();
    let _ = child.wait();
    assert!(quiet.is_err(), "printed after a redelivery or a forgery: {quiet:?}");
}

/// A PNG-looking file of `len` bytes in `dir`.
fn png_file(dir: &e2e_tests::TempDir, name: &str, len: usize) -> (PathBuf, Vec<u8>) {
    let mut bytes = b"\x89PNG\r\n\x1a\n".to_vec();
    bytes.extend((0..len.saturating_sub(8)).map(|i| (i * 13 % 256) as u8));
    let path = dir.path().join(name);
    std::fs::write(&path, &bytes).unwrap();
    (path, bytes)
}

#[test]
fn upload_without_credentials_uses_the_bundled_gateway_and_syncs() {
    let dir = e2e_tests::TempDir::new("cli-upload");
    let (path, bytes) = png_file(&dir, "front.png", 100_000);
    let output = run(doudian().arg("upload").arg(&path).args(["--sync", "--name", "正面"]));
    assert!(output.status.success(), "{}", text(&output.stderr));
    assert!(text(&output.stderr).contains("using the bundled gateway"), "{}", text(&output.stderr));
    let reply = stdout_json(&output);
    assert!(reply["store_uri"].as_str().unwrap().starts_with("tos-cn-i-doudiangw/"), "{reply}");
    assert_eq!(reply["size"], 100_000);
    let crc = doudian_sdk::upload::crc32_hex(doudian_sdk::upload::crc32(&bytes));
    assert_eq!(reply["crc32"], crc.as_str());
    // The bundled gateway knew the store URI: uploadImageSync made it a material.
    let sync = &reply["image_sync"]["data"];
    assert_eq!((sync["is_new"].as_bool(), sync["folder_id"].as_str()), (Some(true), Some("0")), "{reply}");
    assert_eq!(sync["material_id"].as_str().map(str::len), Some(19), "{reply}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upload_stores_the_file_on_the_named_gateway_and_refuses_what_it_cannot_send() {
    let gw = Gateway::builder().start().await.unwrap();
    let dir = e2e_tests::TempDir::new("cli-upload-env");
    let (path, bytes) = png_file(&dir, "Back.JPG", 5000);
    let upload = |extra: &[&str]| {
        let mut command = connected(&gw);
        command.env("DOUDIAN_SHOP_ID", gw.shop_id().to_string()).arg("upload").arg(&path).args(extra);
        command
    };

    let output = run_async(upload(&[])).await;
    assert!(output.status.success(), "{}", text(&output.stderr));
    let reply = stdout_json(&output);
    assert!(reply.get("image_sync").is_none(), "{reply}");
    let stored = gw.stored_object(reply["store_uri"].as_str().unwrap()).expect("stored on this gateway");
    assert_eq!((stored.size, stored.extension.as_str()), (bytes.len() as u64, ".jpg"));

    // Over the limit: a usage error before any request.
    let before = gw.counters().requests;
    let output = run_async(upload(&["--max-bytes", "4999"])).await;
    assert_eq!(output.status.code(), Some(2), "{}", text(&output.stderr));
    assert!(text(&output.stderr).contains("5000 bytes is over the 4999-byte limit"), "{}", text(&output.stderr));
    assert_eq!(gw.counters().requests, before);

    // A file that is not there.
    let mut command = connected(&gw);
    command.env("DOUDIAN_SHOP_ID", gw.shop_id().to_string()).arg("upload").arg(dir.path().join("missing.png"));
    let output = run_async(command).await;
    assert_eq!(output.status.code(), Some(2), "{}", text(&output.stderr));
    assert!(text(&output.stderr).contains("missing.png"), "{}", text(&output.stderr));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn call_checks_params_against_the_schema_before_sending() {
    let gw = Gateway::builder().start().await.unwrap();
    let call = |params: &'static str, extra: &'static [&'static str]| {
        let mut command = connected(&gw);
        command.env("DOUDIAN_SHOP_ID", gw.shop_id().to_string()).args(["call", "order.searchList", params]);
        command.args(extra);
        run_async(command)
    };
    // A wrong type: exit 2, the path named, nothing sent.
    let output = call(r#"{"page":"x","size":20}"#, &[]).await;
    let stderr = text(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("$.page: expected an integer, got the string \"x\""), "{stderr}");
    assert!(output.stdout.is_empty());
    // A misspelt field: the nearest name suggested (and the missing `page` named too).
    let output = call(r#"{"pgae":0,"size":20}"#, &[]).await;
    let stderr = text(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("$.pgae: unknown field `pgae`; did you mean `page`?"), "{stderr}");
    assert!(stderr.contains("$.page: missing required field `page`"), "{stderr}");
    assert_eq!(gw.calls("order.searchList"), 0, "an invalid call is never sent");

    // --no-validate: sent as it is, and the gateway (as the platform) refuses it.
    let output = call(r#"{"page":0,"pgae":0,"size":20}"#, &["--no-validate"]).await;
    let stderr = text(&output.stderr);
    assert_eq!(gw.calls("order.searchList"), 1, "{stderr}");
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("isv.parameter-invalid") && stderr.contains("pgae"), "{stderr}");

    // Valid parameters go through.
    let output = call(r#"{"page":0,"size":2}"#, &[]).await;
    assert!(output.status.success(), "{}", text(&output.stderr));
    assert_eq!(gw.calls("order.searchList"), 2);
}

#[test]
fn methods_schema_prints_the_params_and_reply_schemas() {
    let output = run(doudian().args(["methods", "--schema", "order.searchList"]));
    assert!(output.status.success(), "{}", text(&output.stderr));
    let printed = stdout_json(&output);
    assert_eq!(printed["method"], "order.searchList");
    assert_eq!(printed["params"]["additionalProperties"], false);
    assert_eq!(printed["params"]["properties"]["page"]["type"], "integer");
    assert!(printed["params"]["required"].as_array().unwrap().contains(&Value::from("size")));
    assert_eq!(printed["reply"]["additionalProperties"], true);
    assert_eq!(printed["reply"]["properties"]["shop_order_list"]["type"], "array");
    // Another spelling finds the method; an unknown one is a usage error.
    let output = run(doudian().args(["methods", "--schema", "crossBorder.stockTaking"]));
    assert_eq!(stdout_json(&output)["method"], "crossborder.stockTaking");
    let output = run(doudian().args(["methods", "--schema", "order.noSuchMethod"]));
    assert_eq!(output.status.code(), Some(2));
    assert!(text(&output.stderr).contains("order.noSuchMethod"), "{}", text(&output.stderr));
}
