//! Orders: paging and filters of order.searchList, detail, remarks, shipping and editing
//! the shipment, with the counters that prove what was done.

mod common;

use std::collections::HashSet;

use common::*;
use doudian_gateway::OrderStatus;
use serde_json::{json, Value};

async fn search(caller: &Caller, params: Value) -> Value {
    let reply = caller.call("order.searchList", params).await;
    assert_ok(&reply).clone()
}

#[tokio::test]
async fn search_pages_from_zero_through_every_order() {
    let gw = gateway().await;
    let caller = authed(&gw).await;
    let mut seen = HashSet::new();
    let mut last_create = i64::MAX;
    let mut page = 0;
    loop {
        let data = search(&caller, json!({"page": page, "size": 10})).await;
        assert_eq!(data["page"], page);
        assert_eq!(data["size"], 10);
        assert_eq!(data["total"], 45);
        let list = data["shop_order_list"].as_array().unwrap();
        for order in list {
            let id = order["order_id"].as_str().expect("order_id is a string").to_owned();
            assert!(seen.insert(id), "no order twice");
            let created = order["create_time"].as_i64().unwrap();
            assert!(created <= last_create, "newest first");
            last_create = created;
            assert!(order["shop_id"].is_i64());
            assert!(order["sku_order_list"][0]["product_id"].is_i64());
            assert!(order["sku_order_list"][0]["order_id"].is_string());
        }
        if list.len() < 10 {
            break;
        }
        page += 1;
    }
    assert_eq!(page, 4);
    assert_eq!(seen.len(), 45);
    let beyond = search(&caller, json!({"page": 9, "size": 10})).await;
    assert_eq!(beyond["shop_order_list"].as_array().unwrap().len(), 0);
    assert_eq!(beyond["total"], 45);
}

#[tokio::test]
async fn search_filters() {
    let gw = gateway().await;
    let caller = authed(&gw).await;
    let awaiting = search(&caller, json!({"page": 0, "size": 100, "combine_status": [{"order_status": "2"}]})).await;
    assert_eq!(awaiting["total"], 20);
    assert!(awaiting["shop_order_list"]
        .as_array()
        .unwrap()
        .iter()
        .all(|o| o["order_status"] == 2 && o["main_status"] == 105));
    let two_kinds = search(
        &caller,
        json!({"page": 0, "size": 100, "combine_status": [{"order_status": "3,5"}, {"order_status": "4"}]}),
    )
    .await;
    assert_eq!(two_kinds["total"], 10 + 7 + 4);
    let by_main = search(&caller, json!({"page": 0, "size": 1, "combine_status": [{"main_status": "105"}]})).await;
    assert_eq!(by_main["total"], 20);

    let all = search(&caller, json!({"page": 0, "size": 100, "order_asc": true})).await;
    let list = all["shop_order_list"].as_array().unwrap();
    assert!(list.windows(2).all(|w| w[0]["create_time"].as_i64() <= w[1]["create_time"].as_i64()));
    let middle = list[20]["create_time"].as_i64().unwrap();
    let newer = search(&caller, json!({"page": 0, "size": 100, "create_time_start": middle})).await;
    assert_eq!(newer["total"], 25);
    let window =
        search(&caller, json!({"page": 0, "size": 100, "create_time_start": middle, "create_time_end": middle})).await;
    assert_eq!(window["total"], 1);

    let bad = caller.call("order.searchList", json!({"page": 0, "size": 101})).await;
    assert_error(&bad, 40003, "isv.parameter-invalid");
    let bad = caller.call("order.searchList", json!({"page": -1, "size": 10})).await;
    assert_error(&bad, 40003, "isv.parameter-invalid");
}

#[tokio::test]
async fn detail_and_remark() {
    let gw = gateway().await;
    let caller = authed(&gw).await;
    let id = gw.order_ids(OrderStatus::AwaitingShipment)[0].clone();
    let reply = caller.call("order.orderDetail", json!({"shop_order_id": id})).await;
    let detail = &assert_ok(&reply)["shop_order_detail"];
    assert_eq!(detail["order_id"], id.as_str());
    assert_eq!(detail["order_status"], 2);

    let reply = caller
        .call("order.addOrderRemark", json!({"order_id": id, "remark": "优先发货", "is_add_star": "true", "star": "3"}))
        .await;
    assert_ok(&reply);
    let reply = caller.call("order.orderDetail", json!({"shop_order_id": id})).await;
    let detail = &assert_ok(&reply)["shop_order_detail"];
    assert_eq!(detail["seller_words"], "优先发货");
    assert_eq!(detail["seller_remark_stars"], 3);
    assert_eq!(gw.counters().remarks[&id], 1);

    let missing = caller.call("order.orderDetail", json!({"shop_order_id": "1"})).await;
    assert_error(&missing, 40003, "isv.parameter-invalid");
    let no_remark = caller.call("order.addOrderRemark", json!({"order_id": id})).await;
    assert_error(&no_remark, 40001, "isv.parameter-missing");
}

#[tokio::test]
async fn shipping_changes_status_once_and_counts_every_attempt() {
    let gw = gateway().await;
    let caller = authed(&gw).await;
    let companies = caller.call("order.logisticsCompanyList", json!({})).await;
    let companies = assert_ok(&companies).as_array().unwrap().clone();
    assert!(companies.iter().any(|c| c["code"] == "zhongtong" && c["id"].is_i64() && c["name"].is_string()));

    let id = gw.order_ids(OrderStatus::AwaitingShipment)[0].clone();
    let ship = json!({"order_id": id, "company_code": "zhongtong", "logistics_code": "ZT1234567890"});
    assert_ok(&caller.call("order.logisticsAdd", ship.clone()).await);
    let order = gw.order(&id).unwrap();
    assert_eq!(order.status, OrderStatus::Shipped);
    assert_eq!(order.tracking_no.as_deref(), Some("ZT1234567890"));

    let twice = caller.call("order.logisticsAdd", ship).await;
    assert_error(&twice, 50002, "isv.business-failed:order-already-shipped");
    assert_eq!(gw.ship_calls(&id), 2);
    assert_eq!(gw.shipments(&id), 1);

    // The order now shows up as shipped, with its logistics.
    let reply = caller.call("order.orderDetail", json!({"shop_order_id": id})).await;
    let detail = &assert_ok(&reply)["shop_order_detail"];
    assert_eq!(detail["order_status"], 3);
    assert_eq!(detail["logistics_info"][0]["tracking_no"], "ZT1234567890");
    assert_eq!(detail["logistics_info"][0]["company"], "zhongtong");
    assert!(detail["ship_time"].as_i64().unwrap() > 0);
    let awaiting = search(&caller, json!({"page": 0, "size": 100, "combine_status": [{"order_status": "2"}]})).await;
    assert_eq!(awaiting["total"], 19);

    // Correct the shipment.
    let edit = json!({"order_id": id, "logistics_id": 15, "logistics_code": "SF0001"});
    assert_ok(&caller.call("order.logisticsEdit", edit).await);
    let order = gw.order(&id).unwrap();
    assert_eq!((order.tracking_no.as_deref(), order.company_code.as_deref()), (Some("SF0001"), Some("shunfeng")));
    assert_eq!(gw.counters().logistics_edits[&id], 1);
}

#[tokio::test]
async fn shipping_refusals() {
    let gw = gateway().await;
    let caller = authed(&gw).await;
    let unpaid = gw.order_ids(OrderStatus::AwaitingPayment)[0].clone();
    let reply = caller
        .call("order.logisticsAdd", json!({"order_id": unpaid, "company_code": "yunda", "logistics_code": "1"}))
        .await;
    assert_error(&reply, 50002, "isv.business-failed:order-not-paid");
    let canceled = gw.order_ids(OrderStatus::Canceled)[0].clone();
    let reply = caller
        .call("order.logisticsAdd", json!({"order_id": canceled, "company_code": "yunda", "logistics_code": "1"}))
        .await;
    assert_error(&reply, 50002, "isv.business-failed:order-canceled");
    let awaiting = gw.order_ids(OrderStatus::AwaitingShipment)[0].clone();
    let reply = caller
        .call("order.logisticsAdd", json!({"order_id": awaiting, "company_code": "nope", "logistics_code": "1"}))
        .await;
    assert_error(&reply, 40003, "isv.parameter-invalid");
    let reply = caller.call("order.logisticsAdd", json!({"order_id": awaiting, "company_code": "yunda"})).await;
    assert_error(&reply, 40001, "isv.parameter-missing");
    let reply = caller
        .call("order.logisticsEdit", json!({"order_id": awaiting, "company_code": "yunda", "logistics_code": "1"}))
        .await;
    assert_error(&reply, 50002, "isv.business-failed:order-not-shipped");
    assert_eq!(gw.order(&awaiting).unwrap().status, OrderStatus::AwaitingShipment);
    assert_eq!(gw.ship_calls(&awaiting), 2);
    assert_eq!(gw.shipments(&awaiting), 0);
}

#[tokio::test]
async fn concurrent_shippers_ship_each_order_exactly_once() {
    let gw = gateway().await;
    let caller = authed(&gw).await;
    let ids = gw.order_ids(OrderStatus::AwaitingShipment);
    let mut tasks = Vec::new();
    for round in 0..3 {
        for id in &ids {
            let (caller, id) = (caller.clone(), id.clone());
            tasks.push(tokio::spawn(async move {
                let params =
                    json!({"order_id": id, "company_code": "yunda", "logistics_code": format!("YD{round}{id}")});
                caller.call("order.logisticsAdd", params).await["code"].as_i64().unwrap()
            }));
        }
    }
    let mut codes = Vec::new();
    for t in tasks {
        codes.push(t.await.unwrap());
    }
    assert_eq!(codes.iter().filter(|c| **c == 10000).count(), ids.len());
    assert_eq!(codes.iter().filter(|c| **c == 50002).count(), 2 * ids.len());
    for id in &ids {
        assert_eq!((gw.ship_calls(id), gw.shipments(id)), (3, 1));
    }
    assert!(gw.order_ids(OrderStatus::AwaitingShipment).is_empty());
}
