//! `/_mock/*` over HTTP: stats, clock and fault rules, as another process drives them.

mod common;

use common::*;
use serde_json::{json, Value};

async fn control(gw: &doudian_gateway::RunningGateway, verb: &str, path: &str, body: Option<Value>) -> (u16, Value) {
    let http = reqwest::Client::new();
    let url = format!("{}{path}", gw.base_url());
    let request = match verb {
        "GET" => http.get(url),
        "DELETE" => http.delete(url),
        _ => http.post(url).body(body.map(|b| b.to_string()).unwrap_or_default()),
    };
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    (status, serde_json::from_str(&response.text().await.unwrap()).unwrap())
}

#[tokio::test]
async fn stats_count_calls_and_reply_codes_per_method() {
    let gw = gateway().await;
    let caller = authed(&gw).await;
    for _ in 0..3 {
        assert_ok(&caller.call("shop.brandList", json!({})).await);
    }
    let (status, rule) = control(
        &gw,
        "POST",
        "/_mock/faults",
        Some(json!({"fault": "rate_limit", "method": "shop.brandList", "times": 2})),
    )
    .await;
    assert_eq!((status, rule["id"].is_u64()), (200, true), "{rule}");
    for _ in 0..3 {
        caller.call("shop.brandList", json!({})).await;
    }
    let unsigned = Caller { secret: "wrong".into(), ..caller.clone() };
    assert_error(
        &unsigned.call("order.searchList", json!({"page": 0, "size": 1})).await,
        40003,
        "isv.signature-invalid",
    );

    let (status, stats) = control(&gw, "GET", "/_mock/stats", None).await;
    assert_eq!(status, 200);
    assert_eq!(stats["calls"]["shop.brandList"], 6, "{stats}");
    assert_eq!(stats["codes"]["shop.brandList"], json!({"10000": 4, "60000": 2}), "{stats}");
    assert_eq!(stats["codes"]["order.searchList"], json!({"40003": 1}), "{stats}");
    assert_eq!(stats["signature_failures"], 1);
    assert_eq!(stats["faults"]["rate_limit"], 2);
    assert_eq!(gw.counters().code("shop.brandList", 60000), 2);

    // The rule used itself up; listing and clearing work too.
    assert_eq!(control(&gw, "GET", "/_mock/faults", None).await.1["rules"], json!([]));
    control(&gw, "POST", "/_mock/faults", Some(json!({"fault": "http_status", "status": 503}))).await;
    assert_eq!(control(&gw, "GET", "/_mock/faults", None).await.1["rules"].as_array().unwrap().len(), 1);
    assert_eq!(control(&gw, "DELETE", "/_mock/faults", None).await.0, 200);
    assert!(gw.faults().is_empty());
}

#[tokio::test]
async fn the_clock_moves_token_lifetimes() {
    let gw = gateway().await;
    let caller = authed(&gw).await;
    assert_ok(&caller.call("shop.brandList", json!({})).await);
    let (status, moved) = control(&gw, "POST", "/_mock/clock", Some(json!({"advance_secs": 8 * 86400}))).await;
    assert_eq!(status, 200, "{moved}");
    assert!(moved["now_ms"].as_u64().unwrap() > (now_secs() + 7 * 86400) * 1000);
    assert_error(&caller.call("shop.brandList", json!({})).await, 40003, "isv.access-token-expired");
}

#[tokio::test]
async fn bad_control_requests_are_refused_in_the_envelope() {
    let gw = gateway().await;
    let (status, reply) = control(&gw, "POST", "/_mock/faults", Some(json!({"fault": "nope"}))).await;
    assert_eq!(status, 400);
    assert_error(&reply, 40003, "isv.parameter-invalid");
    assert!(reply["sub_msg"].as_str().unwrap().contains("unknown fault `nope`"), "{reply}");
    let (status, reply) = control(&gw, "POST", "/_mock/clock", Some(json!({"advance": 1}))).await;
    assert_eq!(status, 400);
    assert!(reply["sub_msg"].as_str().unwrap().contains("advance_secs"), "{reply}");
}
