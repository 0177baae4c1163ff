//! The moving shop: churn along the order life cycle, its pushes (and the dropped share),
//! `/_mock/orders` against order.searchList over several shops, the per-filter cap, the
//! 90-day rule and `/_mock/churn`. No wall-clock asserts: churn is driven by explicit
//! steps, the rate by paused tokio time.

mod common;

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use axum::Router;
use common::*;
use doudian_gateway::{push_signature, Gateway, OrderRow, OrderStatus, PushFate, RunningGateway};
use doudian_sdk::SignMethod;
use serde_json::{json, Value};

const DAY: i64 = 86_400;

async fn builder_gateway(builder: doudian_gateway::GatewayBuilder) -> RunningGateway {
    builder.app_key(APP_KEY).app_secret(APP_SECRET).start().await.expect("gateway starts")
}

async fn control(gw: &RunningGateway, verb: &str, path: &str, body: Option<Value>) -> (u16, Value) {
    let http = reqwest::Client::new();
    let url = format!("{}{path}", gw.base_url());
    let request = match verb {
        "GET" => http.get(url),
        _ => http.post(url).body(body.map(|b| b.to_string()).unwrap_or_default()),
    };
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    (status, serde_json::from_str(&response.text().await.unwrap()).unwrap())
}

fn now_secs_of(gw: &RunningGateway) -> i64 {
    (gw.now_ms() / 1000) as i64
}

/// The moves an order may make in one step (None: created by the step).
fn allowed(from: Option<OrderStatus>, to: OrderStatus) -> bool {
    use OrderStatus::*;
    matches!(
        (from, to),
        (None, AwaitingPayment)
            | (Some(AwaitingPayment), AwaitingShipment | Canceled)
            | (Some(AwaitingShipment), AwaitingShipment | Shipped | Canceled)
            | (Some(Shipped), Shipped | Completed | Canceled)
            | (Some(Completed), Completed)
    )
}

fn status_of(code: i64) -> OrderStatus {
    OrderStatus::from_code(code).expect("a modelled status")
}

#[tokio::test]
async fn each_step_moves_one_order_along_its_life_cycle_stamped_with_the_gateways_clock() {
    let gw = builder_gateway(Gateway::builder().shops(3).awaiting_orders(60).churn_seed(11)).await;
    // Stamps follow the gateway's clock, not the system's.
    gw.advance_clock(Duration::from_secs(5 * 86_400));
    let mut before: BTreeMap<(i64, String), OrderRow> =
        gw.orders_dump().into_iter().map(|r| ((r.shop_id, r.order_id.clone()), r)).collect();
    let mut tags = BTreeSet::new();
    for k in 0..600 {
        if k % 100 == 0 {
            gw.advance_clock(Duration::from_secs(7));
        }
        let clock_before = now_secs_of(&gw);
        let changes = gw.churn_steps(1);
        let clock_after = now_secs_of(&gw);
        assert_eq!(changes.len(), 1);
        let change = &changes[0];
        assert!(allowed(change.from, change.to), "{change:?}");
        assert!((clock_before..=clock_after).contains(&change.update_time), "{change:?}");
        assert_eq!(change.push, PushFate::NoTarget, "no webhook set");
        tags.insert(change.tag);
        // The dump differs from the one before in exactly this order.
        let after: BTreeMap<(i64, String), OrderRow> =
            gw.orders_dump().into_iter().map(|r| ((r.shop_id, r.order_id.clone()), r)).collect();
        let key = (change.shop_id, change.order_id.clone());
        let row = &after[&key];
        assert_eq!((status_of(row.order_status), row.update_time), (change.to, change.update_time));
        match before.get(&key) {
            Some(old) => {
                assert_eq!(Some(status_of(old.order_status)), change.from, "{change:?}");
                // Never twice in one second: (order id, update_time) names one version.
                assert!(old.update_time < change.update_time, "{old:?} {change:?}");
                assert_eq!(after.len(), before.len());
            }
            None => {
                assert_eq!(change.from, None);
                assert_eq!(after.len(), before.len() + 1);
            }
        }
        let differing: Vec<_> = after.iter().filter(|(k, r)| before.get(*k) != Some(*r)).map(|(k, _)| k).collect();
        assert_eq!(differing, vec![&key]);
        before = after;
    }
    assert_eq!(tags.into_iter().collect::<Vec<_>>(), [100, 101, 102, 103, 106, 200, 206]);
    assert_eq!(gw.churn_step_count(), 600);
    // Every shop moved.
    let shops: BTreeSet<i64> = before.keys().map(|(shop, _)| *shop).collect();
    assert_eq!(shops.into_iter().collect::<Vec<_>>(), gw.shop_ids());
}

#[tokio::test]
async fn the_same_seed_makes_the_same_changes() {
    let run = |seed| async move {
        let gw = builder_gateway(Gateway::builder().shops(2).awaiting_orders(30).churn_seed(seed)).await;
        let changes = gw.churn_steps(200);
        changes.into_iter().map(|c| (c.shop_id, c.order_id, c.from, c.to, c.tag)).collect::<Vec<_>>()
    };
    assert_eq!(run(5).await, run(5).await);
    assert_ne!(run(5).await, run(6).await);
}

/// Push records received: (event-sign valid, record).
type Received = Arc<Mutex<Vec<(bool, Value)>>>;

async fn webhook() -> (String, Received) {
    async fn receive(State(received): State<Received>, headers: HeaderMap, body: Bytes) -> (StatusCode, &'static str) {
        let sign = headers.get("event-sign").and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
        let valid = push_signature(APP_KEY, APP_SECRET, &body, SignMethod::Md5) == sign;
        let records: Vec<Value> = serde_json::from_slice(&body).unwrap_or_default();
        received.lock().unwrap().extend(records.into_iter().map(|r| (valid, r)));
        (StatusCode::OK, r#"{"code":0,"msg":"success"}"#)
    }
    let received: Received = Arc::default();
    let app = Router::new().route("/push", post(receive)).with_state(received.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/push", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (url, received)
}

/// Waits until the webhook holds `n` records (a generous limit: a hang fails, a slow
/// machine does not).
async fn wait_for(received: &Received, n: usize) -> Vec<(bool, Value)> {
    for _ in 0..600 {
        if received.lock().unwrap().len() >= n {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    received.lock().unwrap().clone()
}

#[tokio::test]
async fn every_change_pushes_its_signed_message_and_a_dropped_share_never_arrives() {
    let (url, received) = webhook().await;
    let gw = builder_gateway(Gateway::builder().awaiting_orders(50).webhook(url).churn_seed(3)).await;

    let changes = gw.churn_steps(150);
    let sent: Vec<&str> = changes
        .iter()
        .map(|c| match &c.push {
            PushFate::Sent { msg_id } => msg_id.as_str(),
            other => panic!("nothing dropped at share 0: {other:?}"),
        })
        .collect();
    let records = wait_for(&received, sent.len()).await;
    assert_eq!(records.len(), sent.len());
    assert!(records.iter().all(|(valid, _)| *valid), "every push is signed with the app's secret");
    let by_msg: BTreeMap<&str, &Value> = records.iter().map(|(_, r)| (r["msg_id"].as_str().unwrap(), r)).collect();
    for change in &changes {
        let PushFate::Sent { msg_id } = &change.push else { unreachable!() };
        let record = by_msg[msg_id.as_str()];
        assert_eq!(record["tag"], change.tag.to_string());
        let data: Value = serde_json::from_str(record["data"].as_str().unwrap()).unwrap();
        assert_eq!(data["p_id"].as_i64().unwrap().to_string(), change.order_id, "{data}");
        assert_eq!(data["shop_id"], change.shop_id);
    }

    // A share of them dropped: exactly the dropped ones never arrive.
    received.lock().unwrap().clear();
    gw.set_push_drop(0.5).unwrap();
    let changes = gw.churn_steps(400);
    let (mut sent, mut dropped) = (HashSet::new(), HashSet::new());
    for change in &changes {
        match &change.push {
            PushFate::Sent { msg_id } => sent.insert(msg_id.clone()),
            PushFate::Dropped { msg_id } => dropped.insert(msg_id.clone()),
            PushFate::NoTarget => panic!("the webhook is set"),
            _ => unreachable!(),
        };
    }
    // 400 draws at 1/2: outside 100..=300 has a chance below 1e-20.
    assert!((100..=300).contains(&dropped.len()), "{} dropped", dropped.len());
    let records = wait_for(&received, sent.len()).await;
    let arrived: HashSet<String> = records.iter().map(|(_, r)| r["msg_id"].as_str().unwrap().to_owned()).collect();
    assert_eq!(arrived, sent);
    assert!(arrived.is_disjoint(&dropped));
    assert_eq!(gw.counters().pushes_dropped, dropped.len() as u64);

    gw.set_push_drop(1.0).unwrap();
    let changes = gw.churn_steps(20);
    assert!(changes.iter().all(|c| matches!(c.push, PushFate::Dropped { .. })));
    assert!(gw.set_push_drop(1.5).is_err());
}

/// Every order of `shop_id` as order.searchList lists it, paged by update_time ascending.
async fn listed(gw: &RunningGateway, shop_id: i64, now: i64) -> Vec<(String, i64, i64)> {
    let caller = Caller::new(gw);
    let token = caller.create_token(shop_id).await["access_token"].as_str().unwrap().to_owned();
    let caller = caller.with_token(&token);
    let mut rows = Vec::new();
    for page in 0.. {
        let params = json!({"page": page, "size": 100, "order_by": "update_time", "order_asc": true,
            "update_time_start": now - 89 * DAY, "update_time_end": now});
        let data = assert_ok(&caller.call("order.searchList", params).await).clone();
        let list = data["shop_order_list"].as_array().unwrap().clone();
        for order in &list {
            assert_eq!(order["shop_id"], shop_id);
            rows.push((
                order["order_id"].as_str().unwrap().to_owned(),
                order["order_status"].as_i64().unwrap(),
                order["update_time"].as_i64().unwrap(),
            ));
        }
        if list.len() < 100 {
            assert_eq!(data["total"].as_u64().unwrap() as usize, rows.len());
            break;
        }
    }
    rows
}

#[tokio::test]
async fn the_orders_dump_matches_what_order_search_list_returns_in_every_shop() {
    let gw = builder_gateway(Gateway::builder().shops(3).awaiting_orders(450).churn_seed(9)).await;
    gw.advance_clock(Duration::from_secs(3600));
    gw.churn_steps(700);
    let (status, dump) = control(&gw, "GET", "/_mock/orders", None).await;
    assert_eq!(status, 200);
    let rows = dump["orders"].as_array().unwrap();
    let keys: Vec<(i64, String)> =
        rows.iter().map(|r| (r["shop_id"].as_i64().unwrap(), r["order_id"].as_str().unwrap().to_owned())).collect();
    let mut sorted = keys.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(keys, sorted, "sorted by shop and order id, no order twice");
    assert_eq!(control(&gw, "GET", "/_mock/orders", None).await.1, dump, "deterministic");
    assert_eq!(rows.len(), gw.orders_dump().len());

    let now = now_secs_of(&gw);
    for shop_id in gw.shop_ids() {
        let mut from_search = listed(&gw, shop_id, now).await;
        // Ascending by (update_time, order id), the order a sync relies on.
        assert!(from_search.windows(2).all(|w| (w[0].2, &w[0].0) < (w[1].2, &w[1].0)));
        from_search.sort();
        let from_dump: Vec<(String, i64, i64)> = rows
            .iter()
            .filter(|r| r["shop_id"] == shop_id)
            .map(|r| {
                (
                    r["order_id"].as_str().unwrap().to_owned(),
                    r["order_status"].as_i64().unwrap(),
                    r["update_time"].as_i64().unwrap(),
                )
            })
            .collect();
        assert!(from_dump.len() > 150, "shop {shop_id}: {}", from_dump.len());
        assert_eq!(from_search, from_dump, "shop {shop_id}");
    }
}

#[tokio::test]
async fn tokens_act_on_their_own_shop_and_unknown_shops_are_refused() {
    let gw = builder_gateway(Gateway::builder().shops(2).awaiting_orders(10)).await;
    let [own, other] = gw.shop_ids()[..] else { panic!("two shops") };
    assert_eq!(other, own + 1);
    let now = now_secs_of(&gw);
    assert_eq!(listed(&gw, own, now).await.len(), 45 + 5, "the seed and every other extra order");
    assert_eq!(listed(&gw, other, now).await.len(), 5);
    let reply = Caller::new(&gw)
        .call("token.create", json!({"grant_type": "authorization_self", "code": "", "shop_id": own + 2}))
        .await;
    assert_error(&reply, 50001, "dop.token-generate-failed:no-authorization");
}

#[tokio::test]
async fn one_filter_reaches_the_search_cap_and_no_further() {
    let gw = builder_gateway(Gateway::builder().awaiting_orders(200).search_cap(50)).await;
    let caller = authed(&gw).await;
    let page = |page: i64, size: i64| json!({"page": page, "size": size, "order_by": "update_time"});
    // total still counts every match, so a client sees its window is too wide.
    let first = caller.call("order.searchList", page(0, 20)).await;
    assert_eq!(assert_ok(&first)["total"], 245);
    // A page straddling the cap ends at it.
    let straddling = caller.call("order.searchList", page(2, 20)).await;
    assert_eq!(assert_ok(&straddling)["shop_order_list"].as_array().unwrap().len(), 10);
    // A page starting at it is refused.
    let past = caller.call("order.searchList", page(5, 10)).await;
    assert_error(&past, 40003, "isv.parameter-invalid");
    assert!(past["sub_msg"].as_str().unwrap().contains("50"), "{past}");
    // A narrower window fits and pages to its end.
    let list = assert_ok(&first)["shop_order_list"].as_array().unwrap().clone();
    let newest = list[0]["update_time"].as_i64().unwrap();
    let narrow = json!({"page": 0, "size": 100, "order_by": "update_time", "update_time_start": newest - 300});
    let data = assert_ok(&caller.call("order.searchList", narrow).await).clone();
    let total = data["total"].as_u64().unwrap() as usize;
    assert!(total < 50 && total == data["shop_order_list"].as_array().unwrap().len(), "{total}");
}

#[tokio::test]
async fn a_window_reaching_back_past_90_days_is_refused_naming_the_field() {
    let gw = gateway().await;
    let caller = authed(&gw).await;
    let now = now_secs_of(&gw);
    for field in ["update_time_start", "create_time_start"] {
        let reply = caller.call("order.searchList", json!({"page": 0, "size": 10, field: now - 90 * DAY - 60})).await;
        assert_error(&reply, 40003, "isv.parameter-invalid");
        assert!(reply["sub_msg"].as_str().unwrap().contains(field), "{reply}");
        let inside = caller.call("order.searchList", json!({"page": 0, "size": 10, field: now - 90 * DAY + 60})).await;
        assert_eq!(assert_ok(&inside)["total"], 45);
    }
    // The rule follows the gateway's clock: the same start is refused 2 days later.
    gw.advance_clock(Duration::from_secs(2 * 86_400));
    let reply =
        caller.call("order.searchList", json!({"page": 0, "size": 10, "update_time_start": now - 89 * DAY})).await;
    assert_error(&reply, 40003, "isv.parameter-invalid");
}

#[tokio::test]
async fn churn_control_sets_the_rate_takes_steps_and_refuses_nonsense() {
    let (url, received) = webhook().await;
    let gw = builder_gateway(Gateway::builder().awaiting_orders(20)).await;
    let (status, state) = control(&gw, "GET", "/_mock/churn", None).await;
    assert_eq!((status, state["rate"].as_f64(), state["steps_taken"].as_u64()), (200, Some(0.0), Some(0)));

    let (status, _) = control(&gw, "POST", "/_mock/webhook", Some(json!({"url": url}))).await;
    assert_eq!(status, 200);
    let (status, state) = control(&gw, "POST", "/_mock/churn", Some(json!({"steps": 25}))).await;
    assert_eq!(status, 200);
    let changes = state["changes"].as_array().unwrap();
    assert_eq!(changes.len(), 25);
    assert!(changes.iter().all(|c| c["push"] == "sent" && c["update_time"].is_i64() && c["to"].is_i64()));
    assert_eq!(state["steps_taken"], 25);
    assert_eq!(wait_for(&received, 25).await.len(), 25);

    let (_, state) = control(&gw, "POST", "/_mock/churn", Some(json!({"rate": 40, "push_drop": 0.25}))).await;
    assert_eq!((state["rate"].as_f64(), state["push_drop"].as_f64()), (Some(40.0), Some(0.25)));
    assert_eq!(gw.churn_rate(), 40.0);
    let (_, state) = control(&gw, "POST", "/_mock/churn", Some(json!({"rate": 0}))).await;
    assert_eq!(state["rate"].as_f64(), Some(0.0));
    assert_eq!(gw.churn_rate(), 0.0);

    for bad in [json!({"rate": -1}), json!({"push_drop": 2}), json!({"speed": 3}), json!({}), json!({"steps": -2})] {
        let (status, reply) = control(&gw, "POST", "/_mock/churn", Some(bad.clone())).await;
        assert_eq!(status, 400, "{bad}");
        assert_eq!(reply["sub_code"], "isv.parameter-invalid", "{bad}");
    }
    let (status, _) = control(&gw, "POST", "/_mock/webhook", Some(json!({"url": "not a url"}))).await;
    assert_eq!(status, 400);
    let (status, _) = control(&gw, "POST", "/_mock/webhook", Some(json!({"url": null}))).await;
    assert_eq!(status, 200);
    assert!(gw.churn_steps(3).iter().all(|c| c.push == PushFate::NoTarget));
}

/// The rate runs on tokio time: with the clock paused, sleeping N seconds takes the steps
/// of N seconds, and rate 0 takes none.
#[tokio::test(start_paused = true)]
async fn the_rate_takes_its_steps_by_tokio_time() {
    let gw = Gateway::builder().awaiting_orders(20).churn(10.0).start().await.unwrap();
    tokio::time::sleep(Duration::from_millis(3_050)).await;
    let taken = gw.churn_step_count();
    assert!((29..=31).contains(&taken), "{taken} steps in 3 s at 10 a second");
    gw.set_churn_rate(0.0).unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    let stopped = gw.churn_step_count();
    tokio::time::sleep(Duration::from_secs(5)).await;
    assert_eq!(gw.churn_step_count(), stopped, "rate 0 stops churn");
    gw.set_churn_rate(100.0).unwrap();
    tokio::time::sleep(Duration::from_millis(1_050)).await;
    let moved = gw.churn_step_count() - stopped;
    assert!((95..=105).contains(&moved), "{moved} steps in 1 s at 100 a second");
    assert!(gw.set_churn_rate(-1.0).is_err() && gw.set_churn_rate(f64::NAN).is_err());
}

#[tokio::test]
async fn bad_settings_are_refused_at_start() {
    for (builder, words) in [
        (Gateway::builder().shops(0), "shops"),
        (Gateway::builder().churn(-2.0), "churn rate"),
        (Gateway::builder().push_drop(1.2), "push drop"),
        (Gateway::builder().search_cap(0), "search_cap"),
    ] {
        let error = builder.start().await.unwrap_err().to_string();
        assert!(error.contains(words), "{error}");
    }
}
