//! The gateway under idle, slow and oversized clients: bounded time per connection, a cap
//! on connections, and every refusal in the platform's envelope.

mod common;

use std::time::{Duration, Instant};

use common::*;
use doudian_gateway::Gateway;
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Reads until the server closes the connection (or `limit` passes); returns what arrived
/// and how long it took.
async fn read_until_closed(stream: &mut TcpStream, limit: Duration) -> (String, Duration) {
    let started = Instant::now();
    let mut received = Vec::new();
    let mut buffer = [0u8; 4096];
    loop {
        match tokio::time::timeout(limit.saturating_sub(started.elapsed()), stream.read(&mut buffer)).await {
            Ok(Ok(0)) | Ok(Err(_)) => break,
            Ok(Ok(n)) => received.extend_from_slice(&buffer[..n]),
            Err(_) => panic!("the connection is still open after {limit:?}"),
        }
    }
    (String::from_utf8_lossy(&received).into_owned(), started.elapsed())
}

/// The JSON body of a raw HTTP/1.1 response.
fn body_json(response: &str) -> serde_json::Value {
    let body = response.split_once("\r\n\r\n").map(|(_, body)| body).unwrap_or_default();
    serde_json::from_str(body).unwrap_or_else(|e| panic!("not a JSON body ({e}): {response}"))
}

#[tokio::test]
async fn idle_and_slow_connections_are_closed_in_bounded_time() {
    let gw = Gateway::builder()
        .idle_timeout(Duration::from_millis(300))
        .header_read_timeout(Duration::from_millis(500))
        .start()
        .await
        .unwrap();
    // Idle: connects and says nothing.
    let mut idle = TcpStream::connect(gw.addr()).await.unwrap();
    // Slow head: one header line, then silence.
    let mut slow_head = TcpStream::connect(gw.addr()).await.unwrap();
    slow_head.write_all(b"POST /shop/brandList HTTP/1.1\r\nhost: x\r\n").await.unwrap();
    // Trickling head: a byte every 100 ms keeps the idle timer busy, not the head deadline.
    let mut trickle = TcpStream::connect(gw.addr()).await.unwrap();
    let trickler = tokio::spawn(async move {
        for byte in b"POST /shop/brandList HTTP/1.1\r\nx-slow: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa" {
            if trickle.write_all(&[*byte]).await.is_err() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("the trickling client was never cut off");
    });
    for (name, stream) in [("idle", &mut idle), ("slow head", &mut slow_head)] {
        // Closed by the gateway (read_until_closed fails on a connection left open; the
        // bound is generous: a busy machine may fire the timer late).
        let _ = (name, read_until_closed(stream, Duration::from_secs(30)).await);
    }
    tokio::time::timeout(Duration::from_secs(30), trickler).await.expect("cut off within 30 s").unwrap();
    // The gateway still serves.
    let caller = authed(&gw).await;
    assert_ok(&caller.call("shop.brandList", json!({})).await);
}

#[tokio::test]
async fn a_slow_body_is_refused_with_408_in_the_envelope() {
    let gw = Gateway::builder().body_timeout(Duration::from_millis(300)).start().await.unwrap();
    let mut stream = TcpStream::connect(gw.addr()).await.unwrap();
    stream
        .write_all(b"POST /shop/brandList?app_key=1 HTTP/1.1\r\nhost: x\r\ncontent-length: 100\r\n\r\n{\"a\":")
        .await
        .unwrap();
    let (response, _) = read_until_closed(&mut stream, Duration::from_secs(30)).await;
    assert!(response.starts_with("HTTP/1.1 408"), "{response}");
    let reply = body_json(&response);
    assert_error(&reply, 40003, "isv.parameter-invalid");
    assert!(reply["sub_msg"].as_str().unwrap().contains("did not arrive"), "{reply}");
}

#[tokio::test]
async fn an_oversized_body_is_refused_with_413_in_the_envelope() {
    let gw = Gateway::builder().max_body_bytes(1024).start().await.unwrap();
    let caller = authed(&gw).await;
    let big = json!({ "pad": "x".repeat(4096) }).to_string();
    let (query, body) = caller.signed("shop.brandList", &big);
    let response = caller.send("shop.brandList", &query, body).await.unwrap();
    assert_eq!(response.status(), 413);
    assert!(response.headers()["content-type"].to_str().unwrap().starts_with("application/json"));
    let reply: serde_json::Value = serde_json::from_str(&response.text().await.unwrap()).unwrap();
    assert_error(&reply, 40003, "isv.parameter-invalid");
    assert!(reply["sub_msg"].as_str().unwrap().contains("larger than 1024 bytes"), "{reply}");
    assert_eq!(gw.calls("shop.brandList"), 0, "refused before it was read");
}

#[tokio::test]
async fn connections_over_the_cap_get_503_in_the_envelope_and_the_rest_are_served() {
    let gw = Gateway::builder().max_connections(4).start().await.unwrap();
    let mut held = Vec::new();
    for _ in 0..4 {
        held.push(TcpStream::connect(gw.addr()).await.unwrap());
    }
    tokio::time::sleep(Duration::from_millis(100)).await;
    let mut extra = TcpStream::connect(gw.addr()).await.unwrap();
    let (response, _) = read_until_closed(&mut extra, Duration::from_secs(5)).await;
    assert!(response.starts_with("HTTP/1.1 503"), "{response}");
    assert_error(&body_json(&response), 20000, "dop.service-error");
    // Closing the held connections frees their places.
    drop(held);
    tokio::time::sleep(Duration::from_millis(100)).await;
    let caller = authed(&gw).await;
    assert_ok(&caller.call("shop.brandList", json!({})).await);
}
