//! A real third-party client against `doudian mock`: PyPI `doudian` 0.6, unmodified, run by
//! `tests/python/pypi_doudian_flow.py` — token.create, shop.brandList, every page of
//! order.searchList, and token refreshes — then checked through `GET /_mock/stats`.
//!
//! The client lives in a virtual environment under Cargo's target directory
//! (`<target>/tmp/pypi-doudian-0.6`), which `.ci/run` creates; this test creates it itself
//! when it is missing (`python3 -m venv` and `pip install doudian==0.6` from PyPI). A
//! machine without python3 fails the test with the reason.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;

#[path = "common/pypi.rs"]
mod pypi;

#[test]
fn the_pypi_client_gets_tokens_brands_and_every_order_page() {
    let python = pypi::venv_python("doudian", "0.6");
    let mut mock = Command::new(env!("CARGO_BIN_EXE_doudian"))
        .args(["mock", "--port", "0", "--token-ttl", "1800"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut settings = std::collections::BTreeMap::new();
    let mut lines = BufReader::new(mock.stdout.take().unwrap()).lines();
    while !settings.contains_key("DOUDIAN_SHOP_ID") {
        let line = lines.next().expect("doudian mock prints its settings").unwrap();
        if let Some((name, value)) = line.split_once('=') {
            settings.insert(name.to_owned(), value.to_owned());
        }
    }
    let output = Command::new(&python)
        .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/python/pypi_doudian_flow.py"))
        .envs(&settings)
        .env("TZ", "Asia/Shanghai")
        .env("NO_PROXY", "127.0.0.1")
        .env("no_proxy", "127.0.0.1")
        .output()
        .unwrap();
    let stats = get_json(&format!("{}/_mock/stats", settings["DOUDIAN_BASE_URL"]));
    let _ = mock.kill();
    let _ = mock.wait();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{stdout}\n{}", String::from_utf8_lossy(&output.stderr));
    let summary: serde_json::Value = serde_json::from_str(stdout.trim()).unwrap();
    assert_eq!(summary["orders"], 45, "{summary}");
    assert_eq!(summary["pages"], 5, "{summary}");
    assert_eq!(stats["codes"]["token.create"]["10000"], 1, "{stats}");
    assert!(stats["codes"]["token.refresh"]["10000"].as_u64().unwrap_or(0) >= 1, "{stats}");
    assert_eq!(stats["codes"]["order.searchList"]["10000"], 5, "{stats}");
    assert_eq!(stats["signature_failures"], 0, "{stats}");
    assert_eq!(stats["timestamp_failures"], 0, "{stats}");
}

/// `GET url` as JSON over a plain blocking socket (the test needs no async runtime).
fn get_json(url: &str) -> serde_json::Value {
    use std::io::{Read, Write};
    use std::net::TcpStream;
    {
        let rest = url.strip_prefix("http://").expect("an http URL");
        let (host, path) = rest.split_once('/').map(|(h, p)| (h, format!("/{p}"))).unwrap_or((rest, "/".into()));
        let mut stream = TcpStream::connect(host).unwrap();
        stream.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        write!(stream, "GET {path} HTTP/1.1\r\nhost: {host}\r\nconnection: close\r\n\r\n").unwrap();
        let mut response = String::new();
        stream.read_to_string(&mut response).unwrap();
        let body = response.split_once("\r\n\r\n").map(|(_, b)| b).unwrap_or_default();
        serde_json::from_str(body).unwrap_or_else(|e| panic!("{e}: {response}"))
    }
}
