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

async fn gateway_with_awaiting(n: usize) -> doudian_gateway::RunningGateway {
    doudian_gateway::Gateway::builder()
        .app_key(APP_KEY)
        .app_secret(APP_SECRET)
        .awaiting_orders(n)
        .start()
        .await
        .expect("gateway starts")
}

/// Every page of `filter` (100 a page, from 0) until a short one: the orders in order.
async fn all_pages(caller: &Caller, filter: Value, expected_total: u64) -> Vec<Value> {
    let mut orders = Vec::new();
    for page in 0.. {
        let params = json!({"page": page, "size": 100, "combine_status": filter});
        let mut reply = caller.call("order.searchList", params).await;
        assert_ok(&reply);
        let mut data = reply["data"].take();
        assert_eq!(data["total"], expected_total, "page {page}");
        let Value::Array(list) = data["shop_order_list"].take() else { panic!("no list: {data}") };
        let short = list.len() < 100;
        orders.extend(list);
        if short {
            break;
        }
    }
    orders
}

#[tokio::test]
async fn extra_orders_awaiting_shipment_page_through_the_status_filter_and_ship() {
    let gw = gateway_with_awaiting(2500).await;
    let caller = authed(&gw).await;
    let awaiting_filter = json!([{"order_status": "2"}]);
    let orders = all_pages(&caller, awaiting_filter.clone(), 2520).await;
    assert_eq!(orders.len(), 2520, "2500 extra + the 20 seeded");
    let mut seen = HashSet::new();
    let mut last = (i64::MAX, String::from("9999999999999999999"));
    for order in &orders {
        let id = order["order_id"].as_str().expect("order_id is a string").to_owned();
        assert_eq!(id.len(), 19, "{id}");
        assert!(seen.insert(id.clone()), "{id} twice");
        assert_eq!((order["order_status"].as_i64(), order["main_status"].as_i64()), (Some(2), Some(105)), "{id}");
        // Newest first, ties by id: one strict order over all pages.
        let key = (order["create_time"].as_i64().unwrap(), id.clone());
        assert!(key < last, "{key:?} after {last:?}");
        last = key;
        // Shaped like the seeded orders: lines, amounts, a receiver, paid.
        let lines = order["sku_order_list"].as_array().unwrap();
        assert!(!lines.is_empty() && lines.len() <= 2, "{id}");
        let goods: i64 = lines
            .iter()
            .map(|l| {
                assert_eq!(l["parent_order_id"], id.as_str());
                l["origin_amount"].as_i64().unwrap()
            })
            .sum();
        assert_eq!(order["order_amount"].as_i64().unwrap(), goods + order["post_amount"].as_i64().unwrap());
        assert!(order["pay_time"].as_i64().unwrap() > order["create_time"].as_i64().unwrap());
        assert!(!order["mask_post_receiver"].as_str().unwrap().is_empty());
    }
    // Every order awaiting shipment, the seeded ones too; nothing else changed.
    let expected: HashSet<String> = gw.order_ids(OrderStatus::AwaitingShipment).into_iter().collect();
    assert_eq!(seen, expected);
    // No id collides with a seeded one (the shop keys orders by id: a clash would lose one).
    assert_eq!(search(&caller, json!({"page": 0, "size": 1})).await["total"], 2545);
    assert_eq!(
        search(&caller, json!({"page": 0, "size": 1, "combine_status": [{"order_status": "3"}]})).await["total"],
        10
    );

    // Shipping an extra order moves it out of the filter, exactly like a seeded one.
    let id = orders[1234]["order_id"].as_str().unwrap().to_owned();
    let ship = json!({"order_id": id, "company_code": "zhongtong", "logistics_code": "ZT20000001"});
    assert_ok(&caller.call("order.logisticsAdd", ship.clone()).await);
    assert_error(&caller.call("order.logisticsAdd", ship).await, 50002, "isv.business-failed:order-already-shipped");
    assert_eq!((gw.ship_calls(&id), gw.shipments(&id)), (2, 1));
    assert_eq!(gw.order(&id).unwrap().status, OrderStatus::Shipped);
    // Its page (12) now holds the next order in its place; the listing is one shorter.
    let page = search(&caller, json!({"page": 12, "size": 100, "combine_status": awaiting_filter})).await;
    assert_eq!(page["total"], 2519);
    let ids: Vec<&str> =
        page["shop_order_list"].as_array().unwrap().iter().map(|o| o["order_id"].as_str().unwrap()).collect();
    let expected: Vec<&str> =
        orders[1200..1301].iter().map(|o| o["order_id"].as_str().unwrap()).filter(|o| *o != id).collect();
    assert_eq!(ids, expected);
    let shipped = search(&caller, json!({"page": 0, "size": 100, "combine_status": [{"order_status": "3"}]})).await;
    assert_eq!(shipped["total"], 11);
    let detail = caller.call("order.orderDetail", json!({"shop_order_id": id})).await;
    assert_eq!(assert_ok(&detail)["shop_order_detail"]["logistics_info"][0]["tracking_no"], "ZT20000001");
}

#[tokio::test]
async fn twenty_thousand_extra_orders_build_and_list_quickly() {
    let started = std::time::Instant::now();
    let gw = gateway_with_awaiting(20_000).await;
    let built = started.elapsed();
    let caller = authed(&gw).await;
    let filter = json!([{"order_status": "2"}]);
    let started = std::time::Instant::now();
    let mut seen = HashSet::new();
    for page in [0, 1, 100, 199, 200] {
        let data = search(&caller, json!({"page": page, "size": 100, "combine_status": filter})).await;
        assert_eq!(data["total"], 20_020);
        let list = data["shop_order_list"].as_array().unwrap();
        assert_eq!(list.len(), if page == 200 { 20 } else { 100 }, "page {page}");
        for order in list {
            seen.insert(order["order_id"].as_str().unwrap().to_owned());
        }
    }
    let listed = started.elapsed();
    assert_eq!(seen.len(), 420);
    // Reported, not asserted: a shared machine's timings say nothing about the code.
    println!("20,000 extra orders: built in {built:?}, 5 pages listed in {listed:?}");
}
