//! Per-method quotas (`GatewayBuilder::method_qps`): a token bucket per method shared by
//! all clients; calls over it get 60000 and change nothing. The assertions are on exact
//! counts: the tests freeze the quotas' time (`GatewayBuilder::freeze_quotas`) and move it
//! themselves (`RunningGateway::advance_quotas`), so a busy machine changes nothing.

mod common;

use std::time::Duration;

use common::*;
use doudian_gateway::{Gateway, GatewayError, OrderStatus, RunningGateway};
use serde_json::{json, Value};

/// A gateway whose `method` takes `qps` calls a second, on frozen quota time.
async fn limited(method: &str, qps: u32, awaiting: usize) -> RunningGateway {
    Gateway::builder()
        .app_key(APP_KEY)
        .app_secret(APP_SECRET)
        .awaiting_orders(awaiting)
        .method_qps(method, qps)
        .freeze_quotas()
        .start()
        .await
        .expect("gateway starts")
}

/// Sends the prepared (already signed) calls all at once; the replies in order.
async fn burst(caller: &Caller, method: &'static str, prepared: Vec<(Vec<(String, String)>, String)>) -> Vec<Value> {
    let tasks: Vec<_> = prepared
        .into_iter()
        .map(|(query, body)| {
            let caller = caller.clone();
            tokio::spawn(async move {
                let response = caller.send(method, &query, body).await.expect("reply");
                serde_json::from_str::<Value>(&response.text().await.expect("body")).expect("JSON envelope")
            })
        })
        .collect();
    let mut replies = Vec::new();
    for task in tasks {
        replies.push(task.await.unwrap());
    }
    replies
}

fn ship_params(id: &str) -> String {
    json!({"order_id": id, "company_code": "yunda", "logistics_code": format!("YD{id}")}).to_string()
}

async fn stats(gw: &RunningGateway) -> Value {
    let text = reqwest::get(format!("{}/_mock/stats", gw.base_url())).await.unwrap().text().await.unwrap();
    serde_json::from_str(&text).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_over_the_quota_gets_60000_and_ships_nothing() {
    const METHOD: &str = "order.logisticsAdd";
    let gw = limited(METHOD, 20, 100).await;
    let caller = authed(&gw).await;
    let ids: Vec<String> = gw.order_ids(OrderStatus::AwaitingShipment).into_iter().take(60).collect();
    // Signed beforehand, so that the burst is nothing but sending.
    let prepared = ids.iter().map(|id| caller.signed(METHOD, &ship_params(id))).collect();
    let replies = burst(&caller, METHOD, prepared).await;

    let shipped: Vec<&String> =
        ids.iter().zip(&replies).filter(|(_, r)| r["code"] == 10000).map(|(id, _)| id).collect();
    let throttled: Vec<&String> = ids
        .iter()
        .zip(&replies)
        .filter(|(_, r)| r["code"] == 60000)
        .map(|(id, reply)| {
            assert_error(reply, 60000, "isv.traffic-limited");
            assert!(reply["sub_msg"].as_str().unwrap().contains("20 calls a second"), "{reply}");
            id
        })
        .collect();
    // A full bucket admits one second's worth at once, and nothing refills meanwhile.
    assert_eq!((shipped.len(), throttled.len()), (20, 40), "{replies:?}");

    // Throttled calls were not processed: nothing shipped, not even counted as an attempt.
    for id in &shipped {
        assert_eq!((gw.ship_calls(id), gw.shipments(id)), (1, 1), "{id}");
        assert_eq!(gw.order(id).unwrap().status, OrderStatus::Shipped);
    }
    for id in &throttled {
        assert_eq!((gw.ship_calls(id), gw.shipments(id)), (0, 0), "{id}");
        assert_eq!(gw.order(id).unwrap().status, OrderStatus::AwaitingShipment);
    }
    let counters = gw.counters();
    assert_eq!(counters.code(METHOD, 60000), throttled.len() as u64);
    assert_eq!(counters.code(METHOD, 10000), shipped.len() as u64);
    assert_eq!(counters.method(METHOD).failed, throttled.len() as u64);
    assert_eq!(counters.throttled[METHOD], throttled.len() as u64);
    assert!(counters.faults.is_empty(), "no injected fault fired: {:?}", counters.faults);
    let stats = stats(&gw).await;
    assert_eq!(stats["codes"][METHOD]["60000"], throttled.len(), "{stats}");
    assert_eq!(stats["throttled"][METHOD], throttled.len(), "{stats}");
    assert_eq!(stats["limits"], json!({METHOD: 20}), "{stats}");

    // Other methods are not limited, at the very moment the limited one is exhausted.
    let prepared = ids.iter().map(|id| caller.signed("order.orderDetail", &json!({"shop_order_id": id}).to_string()));
    let details = burst(&caller, "order.orderDetail", prepared.collect()).await;
    assert!(details.iter().all(|r| r["code"] == 10000), "{details:?}");
    assert!(!gw.counters().throttled.contains_key("order.orderDetail"));

    // Half a second later half the bucket has refilled: 10 of the throttled orders ship
    // now, the 11th is throttled again.
    gw.advance_quotas(Duration::from_millis(500)).unwrap();
    for id in throttled.iter().take(10) {
        assert_ok(&caller.call_text(METHOD, &ship_params(id)).await);
        assert_eq!(gw.shipments(id), 1);
    }
    assert_error(&caller.call_text(METHOD, &ship_params(throttled[10])).await, 60000, "isv.traffic-limited");
    assert_eq!(gw.shipments(throttled[10]), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn calls_refused_by_the_checks_are_not_charged_to_the_quota() {
    const METHOD: &str = "shop.brandList";
    // Frozen: the bucket never refills, so what it admits is an exact count.
    let gw = limited(METHOD, 5, 0).await;
    let caller = authed(&gw).await;
    // Far more refused calls than the quota: a wrong signature, an unknown token.
    let forged = Caller { secret: "not-the-secret".into(), ..caller.clone() };
    let stranger = caller.clone().with_token("no-such-token");
    for _ in 0..10 {
        assert_error(&forged.call(METHOD, json!({})).await, 40003, "isv.signature-invalid");
        assert_error(&stranger.call(METHOD, json!({})).await, 40003, "isv.access-token-no-existed");
    }
    // Had they been charged, the bucket would be empty; it still holds its 5.
    let prepared = (0..12).map(|_| caller.signed(METHOD, "{}")).collect();
    let replies = burst(&caller, METHOD, prepared).await;
    let ok = replies.iter().filter(|r| r["code"] == 10000).count();
    assert_eq!(ok, 5, "{replies:?}");
    assert_eq!(replies.iter().filter(|r| r["code"] == 60000).count(), 12 - ok);
    let counters = gw.counters();
    assert_eq!((counters.signature_failures, counters.token_failures), (10, 10));
    assert_eq!(counters.throttled[METHOD], (12 - ok) as u64);
}

#[tokio::test]
async fn moving_the_gateway_clock_does_not_refill_a_bucket() {
    const METHOD: &str = "shop.brandList";
    // One call a second: after the first call the next token is a whole second away.
    let gw = limited(METHOD, 1, 0).await;
    let caller = authed(&gw).await;
    assert_ok(&caller.call(METHOD, json!({})).await);
    // An hour on the mock clock (tokens, order times) adds nothing to the bucket.
    gw.advance_clock(Duration::from_secs(3600));
    assert_error(&caller.call(METHOD, json!({})).await, 60000, "isv.traffic-limited");
    // A second of the quotas' own time does.
    gw.advance_quotas(Duration::from_secs(1)).unwrap();
    assert_ok(&caller.call(METHOD, json!({})).await);
}

#[tokio::test]
async fn quotas_on_real_time_cannot_be_moved() {
    let gw = Gateway::builder().method_qps("shop.brandList", 1).start().await.expect("gateway starts");
    let refused = gw.advance_quotas(Duration::from_secs(1)).unwrap_err();
    assert!(refused.to_string().contains("freeze_quotas"), "{refused}");
}

#[tokio::test]
async fn start_refuses_settings_that_cannot_work() {
    let refused = |result: Result<RunningGateway, GatewayError>| match result {
        Err(GatewayError::Config(message)) => message,
        other => panic!("expected a configuration error, got {other:?}"),
    };
    let message = refused(Gateway::builder().method_qps("order.logisticsAdd", 0).start().await);
    assert!(message.contains("at least 1"), "{message}");
    let message = refused(Gateway::builder().method_qps("order.logisticAdd", 10).start().await);
    assert!(message.contains("order.logisticAdd"), "{message}");
    let message = refused(Gateway::builder().empty_shop().awaiting_orders(10).start().await);
    assert!(message.contains("empty_shop"), "{message}");
    // The last limit given for a method counts.
    let gw = Gateway::builder().method_qps("order.logisticsAdd", 0).method_qps("order.logisticsAdd", 7).start().await;
    assert_eq!(stats(&gw.unwrap()).await["limits"], json!({"order.logisticsAdd": 7}));
}

#[tokio::test]
async fn another_spelling_of_a_name_is_charged_and_run_as_the_method() {
    // `crossBorder.stockTaking` is another spelling of `crossborder.stockTaking`: the gateway
    // runs it as that method (its sample reply, not the empty data of an unknown name) and
    // charges it to that method's bucket (every throttle is counted under the method).
    let gw = limited("crossborder.stockTaking", 1, 0).await;
    let caller = authed(&gw).await;
    // The method's sample parameters: they fit its schema (the gateway checks them).
    let samples: Value = serde_json::from_str(include_str!("../data/samples.json")).unwrap();
    let params = &samples["crossborder.stockTaking"]["request"];
    let mut replies = Vec::new();
    for name in ["crossBorder.stockTaking", "crossborder.stockTaking"].repeat(3) {
        replies.push(caller.call(name, params.clone()).await);
    }
    let admitted: Vec<&Value> = replies.iter().filter(|r| r["code"] == 10000).collect();
    let throttled = replies.iter().filter(|r| r["code"] == 60000).count();
    // One call a second on frozen time: the first is admitted, every other is throttled.
    assert_eq!((admitted.len(), throttled), (1, 5), "{replies:?}");
    assert_eq!(replies[0]["code"], 10000, "{}", replies[0]);
    let sample = &replies[0]["data"];
    assert!(sample.as_object().is_some_and(|data| !data.is_empty()), "the method's sample: {sample}");
    assert!(admitted.iter().all(|r| &r["data"] == sample), "{admitted:?}");
    let stats = stats(&gw).await;
    assert_eq!(stats["throttled"]["crossborder.stockTaking"].as_u64().unwrap_or(0) as usize, throttled);
    assert!(stats["throttled"].get("crossBorder.stockTaking").is_none(), "{stats}");
}
