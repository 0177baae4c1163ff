//! Every fault switch, and what it means for the state (done or not done).

mod common;

use std::time::{Duration, Instant};

use common::*;
use doudian_gateway::{Fault, FaultRule, OrderStatus};
use serde_json::{json, Value};

fn ship_params(order_id: &str) -> Value {
    json!({"order_id": order_id, "company_code": "zhongtong", "logistics_code": format!("ZT{order_id}")})
}

async fn raw_call(caller: &Caller, method: &str, params: &Value) -> reqwest::Result<(u16, String)> {
    let (query, body) = caller.signed(method, &params.to_string());
    let response = caller.send(method, &query, body).await?;
    let status = response.status().as_u16();
    Ok((status, response.text().await?))
}

#[tokio::test]
async fn rate_limit_the_next_calls_of_one_method() {
    let gw = gateway().await;
    let caller = authed(&gw).await;
    gw.inject(FaultRule::new(Fault::RateLimit).for_method("order.searchList").times(2));
    let page = json!({"page": 0, "size": 1});
    assert_ok(&caller.call("shop.brandList", json!({})).await);
    assert_error(&caller.call("order.searchList", page.clone()).await, 60000, "isv.traffic-limited");
    assert_error(&caller.call("order.searchList", page.clone()).await, 60000, "isv.traffic-limited");
    assert_ok(&caller.call("order.searchList", page).await);
    assert!(gw.faults().is_empty(), "a counted rule retires itself");
    let c = gw.counters();
    assert_eq!(c.faults["rate_limit"], 2);
    assert_eq!(c.method("order.searchList").failed, 2);
    assert_eq!(c.method("order.searchList").succeeded, 1);
}

#[tokio::test]
async fn rate_limit_a_fraction() {
    let gw = gateway().await;
    let caller = authed(&gw).await;
    let id = gw.inject(FaultRule::new(Fault::RateLimit).fraction(0.5));
    let mut limited = 0;
    for _ in 0..200 {
        if caller.call("shop.brandList", json!({})).await["code"] == 60000 {
            limited += 1;
        }
    }
    assert!((60..=140).contains(&limited), "{limited} of 200");
    assert!(gw.remove_fault(id));
    assert_ok(&caller.call("shop.brandList", json!({})).await);
}

#[tokio::test]
async fn service_busy() {
    let gw = gateway().await;
    let caller = authed(&gw).await;
    gw.inject(FaultRule::new(Fault::ServiceBusy).times(1));
    assert_error(&caller.call("shop.brandList", json!({})).await, 20000, "dop.service-error");
    assert_ok(&caller.call("shop.brandList", json!({})).await);
}

#[tokio::test]
async fn http_5xx_happens_before_processing() {
    let gw = gateway().await;
    let caller = authed(&gw).await;
    let id = gw.order_ids(OrderStatus::AwaitingShipment)[0].clone();
    gw.inject(FaultRule::new(Fault::HttpStatus(503)).for_method("order.logisticsAdd").times(1));
    let (status, body) = raw_call(&caller, "order.logisticsAdd", &ship_params(&id)).await.unwrap();
    assert_eq!(status, 503);
    assert!(serde_json::from_str::<Value>(&body).is_err());
    assert_eq!(gw.order(&id).unwrap().status, OrderStatus::AwaitingShipment);
    assert_eq!(gw.ship_calls(&id), 0);
    assert_ok(&caller.call("order.logisticsAdd", ship_params(&id)).await);
    assert_eq!(gw.shipments(&id), 1);
}

#[tokio::test]
async fn delay() {
    let gw = gateway().await;
    let caller = authed(&gw).await;
    gw.inject(FaultRule::new(Fault::Delay(Duration::from_millis(300))).times(1));
    let started = Instant::now();
    assert_ok(&caller.call("shop.brandList", json!({})).await);
    assert!(started.elapsed() >= Duration::from_millis(300));
    // Once: the next call is not delayed (counted, not timed: a busy machine is slow).
    assert_ok(&caller.call("shop.brandList", json!({})).await);
    assert_eq!(gw.counters().faults.values().sum::<u64>(), 1, "{:?}", gw.counters().faults);
}

#[tokio::test]
async fn dropped_connection_before_processing_does_nothing() {
    let gw = gateway().await;
    let caller = authed(&gw).await;
    let id = gw.order_ids(OrderStatus::AwaitingShipment)[0].clone();
    gw.inject(FaultRule::new(Fault::DropConnection).for_method("order.logisticsAdd").times(1));
    let error = raw_call(&caller, "order.logisticsAdd", &ship_params(&id)).await.unwrap_err();
    assert!(!error.is_status() && !error.is_decode(), "{error:?}");
    assert_eq!(gw.order(&id).unwrap().status, OrderStatus::AwaitingShipment);
    assert_eq!(gw.calls("order.logisticsAdd"), 1);
    assert_eq!(gw.ship_calls(&id), 0);
    // The same client carries on over a new connection.
    assert_ok(&caller.call("order.logisticsAdd", ship_params(&id)).await);
}

#[tokio::test]
async fn dropped_connection_after_processing_keeps_the_effect() {
    let gw = gateway().await;
    let caller = authed(&gw).await;
    let id = gw.order_ids(OrderStatus::AwaitingShipment)[0].clone();
    gw.inject(FaultRule::new(Fault::DropAfterProcessing).for_method("order.logisticsAdd").times(1));
    assert!(raw_call(&caller, "order.logisticsAdd", &ship_params(&id)).await.is_err());
    assert_eq!(gw.order(&id).unwrap().status, OrderStatus::Shipped);
    // A blind retry is refused: the order was shipped once.
    let retry = caller.call("order.logisticsAdd", ship_params(&id)).await;
    assert_error(&retry, 50002, "isv.business-failed:order-already-shipped");
    assert_eq!((gw.ship_calls(&id), gw.shipments(&id)), (2, 1));
}

#[tokio::test]
async fn malformed_and_truncated_json() {
    let gw = gateway().await;
    let caller = authed(&gw).await;
    gw.inject(FaultRule::new(Fault::MalformedJson).times(1));
    let (status, body) = raw_call(&caller, "shop.brandList", &json!({})).await.unwrap();
    assert_eq!(status, 200);
    assert!(serde_json::from_str::<Value>(&body).is_err(), "{body}");

    gw.inject(FaultRule::new(Fault::TruncatedJson).times(1));
    let (status, cut) = raw_call(&caller, "order.searchList", &json!({"page": 0, "size": 5})).await.unwrap();
    let (_, intact) = raw_call(&caller, "order.searchList", &json!({"page": 0, "size": 5})).await.unwrap();
    assert_eq!(status, 200);
    assert!(serde_json::from_str::<Value>(&cut).is_err());
    assert!(serde_json::from_str::<Value>(&intact).is_ok());
    assert!(cut.len() < intact.len() / 2 + 64 && cut.len() > intact.len() / 3, "{} vs {}", cut.len(), intact.len());
    assert_eq!(gw.counters().faults["truncated_json"], 1);
}

#[tokio::test]
async fn ids_as_strings() {
    let gw = gateway().await;
    let caller = authed(&gw).await;
    gw.inject(FaultRule::new(Fault::IdsAsStrings).for_method("order.searchList"));
    let reply = caller.call("order.searchList", json!({"page": 0, "size": 2})).await;
    let order = &assert_ok(&reply)["shop_order_list"][0];
    assert!(order["shop_id"].is_string(), "{order}");
    assert!(order["sku_order_list"][0]["product_id"].is_string());
    assert!(order["sku_order_list"][0]["sku_id"].is_string());
    assert!(order["order_status"].is_i64(), "not an id");
    assert!(reply["code"].is_i64(), "the envelope is untouched");
    let other = caller.call("product.listV2", json!({"page": 1, "size": 1})).await;
    assert!(assert_ok(&other)["data"][0]["product_id"].is_i64(), "scoped to one method");
}

#[tokio::test]
async fn oversized_reply() {
    let gw = gateway().await;
    let caller = authed(&gw).await;
    gw.inject(FaultRule::new(Fault::Oversized(4 * 1024 * 1024)).times(1));
    let (_, body) = raw_call(&caller, "shop.brandList", &json!({})).await.unwrap();
    assert!(body.len() >= 4 * 1024 * 1024);
    let reply: Value = serde_json::from_str(&body).unwrap();
    assert_ok(&reply);
}

#[tokio::test]
async fn faults_combine_and_clear() {
    let gw = gateway().await;
    let caller = authed(&gw).await;
    gw.inject(FaultRule::new(Fault::Delay(Duration::from_millis(50))));
    gw.inject(FaultRule::new(Fault::RateLimit));
    let started = Instant::now();
    assert_error(&caller.call("shop.brandList", json!({})).await, 60000, "isv.traffic-limited");
    assert!(started.elapsed() >= Duration::from_millis(50));
    assert_eq!(gw.faults().len(), 2);
    gw.clear_faults();
    assert_ok(&caller.call("shop.brandList", json!({})).await);
}
