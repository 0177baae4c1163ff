//! Signed push messages to a webhook on loopback.

mod common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use axum::Router;
use common::*;
use doudian_gateway::{push_signature, Gateway, OrderStatus, PushRecord, RefundEvent, TradeEvent};
use doudian_sdk::SignMethod;
use serde_json::{json, Value};

/// What the webhook received: (app-id, event-sign valid?, parsed records).
type Received = Arc<Mutex<Vec<(String, bool, Vec<Value>)>>>;

/// A webhook that verifies the md5 (or, with a `sign-method` header, hmac) signature the
/// way an app would and answers like one.
async fn webhook() -> (String, Received) {
    let received: Received = Arc::default();
    async fn receive(State(received): State<Received>, headers: HeaderMap, body: Bytes) -> (StatusCode, &'static str) {
        let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
        let method = if header("sign-method") == "hmac-sha256" { SignMethod::HmacSha256 } else { SignMethod::Md5 };
        let valid = push_signature(APP_KEY, APP_SECRET, &body, method) == header("event-sign");
        let records: Vec<Value> = serde_json::from_slice(&body).unwrap_or_default();
        received.lock().unwrap().push((header("app-id"), valid, records));
        if valid {
            (StatusCode::OK, r#"{"code":0,"msg":"success"}"#)
        } else {
            (StatusCode::OK, r#"{"code":1,"msg":"fail"}"#)
        }
    }
    let app = Router::new().route("/push", post(receive)).with_state(received.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/push", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (url, received)
}

#[tokio::test]
async fn sends_signed_trade_events() {
    let gw = gateway().await;
    let (url, received) = webhook().await;
    let order_id = gw.order_ids(OrderStatus::AwaitingShipment)[0].clone();
    let records = vec![
        gw.trade_event(TradeEvent::Created, &order_id).unwrap(),
        gw.trade_event(TradeEvent::Paid, &order_id).unwrap(),
    ];
    let delivery = gw.send_push(&url, &records).await.unwrap();
    assert_eq!(delivery.status, 200);
    assert_eq!(delivery.body, r#"{"code":0,"msg":"success"}"#);

    let got = received.lock().unwrap().clone();
    let (app_id, valid, records) = &got[0];
    assert_eq!(app_id, APP_KEY);
    assert!(valid);
    assert_eq!(records.len(), 2);
    assert_eq!(records[0]["tag"], "100");
    assert_eq!(records[1]["tag"], "101");
    // `data` is a JSON string holding the message.
    let data: Value = serde_json::from_str(records[1]["data"].as_str().unwrap()).unwrap();
    assert_eq!(data["p_id"], order_id.parse::<i64>().unwrap());
    assert_eq!(data["shop_id"], gw.shop_id());
    assert!(data["pay_amount"].as_i64().unwrap() > 0);
    assert!(records[0]["msg_id"].as_str().unwrap().len() >= 19);
    assert_eq!(gw.counters().pushes_delivered, 1);
}

#[tokio::test]
async fn hmac_variant_and_custom_records() {
    let gw = gateway().await;
    let (url, received) = webhook().await;
    let record = PushRecord::new("0", "0", &json!({"test": true}));
    let delivery = gw.send_push_with(&url, &[record], SignMethod::HmacSha256).await.unwrap();
    assert_eq!(delivery.status, 200);
    assert!(received.lock().unwrap()[0].1);
    let refund = gw.refund_event(RefundEvent::Created, gw.after_sale_ids()[0]).unwrap();
    assert_eq!(refund.tag, "200");
    let data: Value = serde_json::from_str(&refund.data).unwrap();
    assert!(data["aftersale_id"].is_i64() && data["s_id"].is_i64());
}

#[tokio::test]
async fn a_wrong_secret_makes_the_webhook_refuse() {
    let gw = Gateway::builder().app_key(APP_KEY).app_secret("other-secret").start().await.unwrap();
    let (url, received) = webhook().await;
    let order_id = gw.order_ids(OrderStatus::Shipped)[0].clone();
    let delivery = gw.send_push(&url, &[gw.trade_event(TradeEvent::SellerShipped, &order_id).unwrap()]).await.unwrap();
    assert_eq!(delivery.body, r#"{"code":1,"msg":"fail"}"#);
    assert!(!received.lock().unwrap()[0].1);
}

#[tokio::test]
async fn unreachable_webhook_is_an_error() {
    let gw = gateway().await;
    let error = gw.send_push("http://127.0.0.1:9/push", &[]).await.unwrap_err();
    assert!(error.to_string().contains("push to"), "{error}");
    assert_eq!(gw.counters().pushes_failed, 1);
}

#[tokio::test]
async fn shipping_pushes_tag_102_to_the_configured_webhook() {
    let gw = gateway().await;
    let (url, received) = webhook().await;
    gw.set_webhook(Some(&url));
    let caller = authed(&gw).await;
    let order_id = gw.order_ids(OrderStatus::AwaitingShipment)[0].clone();
    let params = json!({"order_id": order_id, "company_code": "yunda", "logistics_code": "YD42"});
    assert_ok(&caller.call("order.logisticsAdd", params).await);
    for _ in 0..100 {
        if !received.lock().unwrap().is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let got = received.lock().unwrap().clone();
    let (_, valid, records) = &got[0];
    assert!(valid);
    assert_eq!(records[0]["tag"], "102");
    let data: Value = serde_json::from_str(records[0]["data"].as_str().unwrap()).unwrap();
    assert_eq!(data["logistics_msg"]["logistics_code"], "YD42");
    assert_eq!(data["order_status"], 3);
}
