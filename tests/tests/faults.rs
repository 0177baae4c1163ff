//! Every fault the gateway can inject, seen through the SDK: the typed error or the
//! successful retry, and the gateway's counters proving no write was done twice.

use std::time::Duration;

use doudian_gateway::{Fault, FaultRule, OrderStatus};
use doudian_sdk::api::order::{
    OrderAddOrderRemarkRequest, OrderLogisticsAddRequest, OrderOrderDetailRequest, OrderSearchListRequest,
};
use doudian_sdk::api::shop::ShopBrandListRequest;
use doudian_sdk::error::{DecodeStage, TransportKind};
use doudian_sdk::ids::OrderId;
use doudian_sdk::request::Request;
use doudian_sdk::retry::{RetryClass, RetryPolicy};
use doudian_sdk::{CallOptions, Client, Error, SignMethod};
use e2e_tests::*;

const SHIP: &str = "order.logisticsAdd";
const SEARCH: &str = "order.searchList";

fn ship(order_id: &(impl std::fmt::Display + ?Sized)) -> OrderLogisticsAddRequest {
    OrderLogisticsAddRequest::new(order_id.to_string())
        .company_code("zhongtong")
        .logistics_code(format!("ZT{order_id}"))
}

/// A client with a token already in place, so that counters see only the calls under test.
async fn ready_client(builder: doudian_sdk::ClientBuilder) -> Client {
    let client = builder.build().unwrap();
    client.token().await.unwrap();
    client
}

fn transport_kind(err: &Error) -> TransportKind {
    match err {
        Error::Transport(t) => t.kind,
        other => panic!("expected a transport error, got {other:?}"),
    }
}

#[tokio::test]
async fn rate_limited_twice_then_success() {
    let gw = gateway().await;
    let client = ready_client(client_builder(&gw).retry(fast_retry(3))).await;
    gw.inject(FaultRule::new(Fault::RateLimit).for_method(SEARCH).times(2));
    let page = client.page(&OrderSearchListRequest::new(0, 5)).await.unwrap();
    assert_eq!(page.items.len(), 5);
    assert_eq!(gw.calls(SEARCH), 3);
    let counts = gw.counters().method(SEARCH);
    assert_eq!((counts.failed, counts.succeeded), (2, 1));
    assert_eq!(gw.counters().faults["rate_limit"], 2);
}

#[tokio::test]
async fn rate_limit_outlasting_the_attempts_is_a_typed_error() {
    let gw = gateway().await;
    let client = ready_client(client_builder(&gw).retry(fast_retry(2))).await;
    gw.inject(FaultRule::new(Fault::RateLimit).for_method(SEARCH).times(5));
    let err = client.page(&OrderSearchListRequest::new(0, 5)).await.unwrap_err();
    assert!(err.is_rate_limited() && err.is_retryable(), "{err:?}");
    let api = err.api().unwrap();
    assert_eq!((api.code, api.sub_code.as_str(), api.method.as_str()), (60000, "isv.traffic-limited", SEARCH));
    assert!(err.log_id().is_some_and(|id| !id.is_empty()));
    assert_eq!(gw.calls(SEARCH), 2, "max_attempts bounds the calls");
    // Per-call options override the client's policy.
    let options = CallOptions::new().retry(fast_retry(4));
    client.execute_with(&OrderSearchListRequest::new(0, 5), &options).await.unwrap();
    assert_eq!(gw.calls(SEARCH), 2 + 4, "3 more limited calls, then success");
}

#[tokio::test]
async fn rate_limited_write_is_retried_and_ships_once() {
    // A rate limit is refused before processing: retrying a write is safe.
    let gw = gateway().await;
    let client = ready_client(client_builder(&gw).retry(fast_retry(3))).await;
    let order_id = order_awaiting_shipment(&gw);
    gw.inject(FaultRule::new(Fault::RateLimit).for_method(SHIP).times(2));
    client.execute(&ship(&order_id)).await.unwrap();
    assert_eq!(gw.calls(SHIP), 3);
    assert_eq!((gw.ship_calls(&order_id), gw.shipments(&order_id)), (1, 1));
}

#[tokio::test]
async fn service_busy_is_retried() {
    let gw = gateway().await;
    let client = ready_client(client_builder(&gw)).await;
    gw.inject(FaultRule::new(Fault::ServiceBusy).for_method("shop.brandList").times(1));
    client.execute(&ShopBrandListRequest::new()).await.unwrap();
    assert_eq!(gw.calls("shop.brandList"), 2);
}

#[tokio::test]
async fn http_5xx_on_a_read_is_retried() {
    let gw = gateway().await;
    let client = ready_client(client_builder(&gw).retry(fast_retry(4))).await;
    for status in [500, 502, 503, 504] {
        gw.reset_counters();
        gw.inject(FaultRule::new(Fault::HttpStatus(status)).for_method(SEARCH).times(1));
        let page = client.page(&OrderSearchListRequest::new(0, 3)).await.unwrap();
        assert_eq!(page.items.len(), 3);
        assert_eq!(gw.calls(SEARCH), 2, "HTTP {status}: one failure, one retry");
    }
    // Without retries the status is a typed transport error.
    gw.inject(FaultRule::new(Fault::HttpStatus(500)).for_method(SEARCH).times(1));
    let options = CallOptions::new().retry(RetryPolicy::none());
    let err = client.execute_with(&OrderSearchListRequest::new(0, 3), &options).await.unwrap_err();
    assert_eq!(transport_kind(&err), TransportKind::Status(500));
    assert!(err.is_ambiguous() && !err.is_retryable());
}

#[tokio::test]
async fn http_500_on_a_write_is_not_retried() {
    let gw = gateway().await;
    let client = ready_client(client_builder(&gw).retry(fast_retry(4))).await;
    let order_id = order_awaiting_shipment(&gw);
    gw.inject(FaultRule::new(Fault::HttpStatus(500)).for_method(SHIP).times(1));
    let err = client.execute(&ship(&order_id)).await.unwrap_err();
    assert_eq!(transport_kind(&err), TransportKind::Status(500));
    assert_eq!(gw.calls(SHIP), 1, "a write that may have been processed is not sent again");
    assert_eq!(gw.shipments(&order_id), 0);
    assert_eq!(gw.order(&order_id).unwrap().status, OrderStatus::AwaitingShipment);
}

/// 502 and 504 come from proxies in front of the platform: the platform behind them may
/// well have processed the call (504 says outright that it did not answer in time). PROTOCOL
/// and issue 3 §5: "a write is never sent twice when the first attempt may have been
/// processed" — so these are not retried for writes either.
#[tokio::test]
async fn http_502_and_504_on_a_write_are_not_retried() {
    let gw = gateway().await;
    let client = ready_client(client_builder(&gw).retry(fast_retry(4))).await;
    let orders = gw.order_ids(OrderStatus::AwaitingShipment);
    for (status, order_id) in [(502u16, &orders[0]), (504, &orders[1])] {
        gw.reset_counters();
        gw.inject(FaultRule::new(Fault::HttpStatus(status)).for_method(SHIP).times(1));
        let result = client.execute(&ship(order_id)).await;
        assert_eq!(gw.calls(SHIP), 1, "HTTP {status} on a write was sent again ({result:?})");
        let err = result.unwrap_err();
        assert_eq!(transport_kind(&err), TransportKind::Status(status));
    }
}

#[tokio::test]
async fn http_5xx_on_a_write_is_retried_when_the_caller_opts_in() {
    let gw = gateway().await;
    let policy = fast_retry(3).with_ambiguous_writes(true);
    let client = ready_client(client_builder(&gw).retry(policy)).await;
    let order_id = order_awaiting_shipment(&gw);
    gw.inject(FaultRule::new(Fault::HttpStatus(500)).for_method(SHIP).times(1));
    client.execute(&ship(&order_id)).await.unwrap();
    assert_eq!(gw.calls(SHIP), 2);
    assert_eq!((gw.ship_calls(&order_id), gw.shipments(&order_id)), (1, 1));
}

#[tokio::test]
async fn timeout_on_a_write_is_not_retried_and_ships_at_most_once() {
    let gw = gateway().await;
    // A timeout a busy machine's call still meets, and a delay far beyond it.
    let client = ready_client(client_builder(&gw).retry(fast_retry(4)).timeout(Duration::from_secs(2))).await;
    let order_id = order_awaiting_shipment(&gw);
    gw.inject(FaultRule::new(Fault::Delay(Duration::from_secs(4))).for_method(SHIP).times(1));
    let err = client.execute(&ship(&order_id)).await.unwrap_err();
    assert_eq!(transport_kind(&err), TransportKind::Timeout, "{err}");
    assert!(err.is_ambiguous() && !err.is_retryable());
    // Not sent again: a second attempt (not delayed) would have shipped, and the call would
    // have succeeded. The gateway counts a call when it arrives, which a busy machine may
    // put off: wait for the one call, then check there was only that one.
    for _ in 0..200 {
        if gw.calls(SHIP) > 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(gw.calls(SHIP), 1);
    assert!(gw.shipments(&order_id) <= 1);
    // The timeout did not fire early: the same client waits out a call held for half of it.
    let other = gw.order_ids(OrderStatus::AwaitingShipment).into_iter().find(|id| *id != order_id).unwrap();
    gw.inject(FaultRule::new(Fault::Delay(Duration::from_secs(1))).for_method(SHIP).times(1));
    client.execute(&ship(&other)).await.unwrap();
    assert_eq!((gw.calls(SHIP), gw.shipments(&other)), (2, 1));
}

#[tokio::test]
async fn timeout_on_a_read_is_retried() {
    let gw = gateway().await;
    // A timeout a busy machine's call still meets, and a delay far beyond it.
    let client = ready_client(client_builder(&gw).retry(fast_retry(3)).timeout(Duration::from_secs(2))).await;
    gw.inject(FaultRule::new(Fault::Delay(Duration::from_secs(4))).for_method(SEARCH).times(1));
    let page = client.page(&OrderSearchListRequest::new(0, 2)).await.unwrap();
    assert_eq!(page.items.len(), 2);
    assert_eq!(gw.calls(SEARCH), 2);
}

#[tokio::test]
async fn delay_beyond_the_timeout_is_a_transport_timeout() {
    let gw = gateway().await;
    let client = ready_client(client_builder(&gw).retry(RetryPolicy::none())).await;
    gw.inject(FaultRule::new(Fault::Delay(Duration::from_secs(1))).for_method(SEARCH));
    // The per-call timeout overrides the client's 10 s.
    let options = CallOptions::new().timeout(Duration::from_millis(300));
    let err = client.execute_with(&OrderSearchListRequest::new(0, 2), &options).await.unwrap_err();
    assert_eq!(transport_kind(&err), TransportKind::Timeout);
    assert!(err.to_string().starts_with(&format!("{SEARCH}: timed out")), "{err}");
    assert_eq!(err.log_id(), None);
    // A per-call timeout long enough (and not firing early): the same delayed call succeeds.
    let options = CallOptions::new().timeout(Duration::from_secs(3));
    client.execute_with(&OrderSearchListRequest::new(0, 2), &options).await.unwrap();
    assert_eq!(gw.calls(SEARCH), 2);
}

#[tokio::test]
async fn dropped_connection_on_a_write_is_not_retried() {
    let gw = gateway().await;
    let client = ready_client(client_builder(&gw).retry(fast_retry(4))).await;
    let orders = gw.order_ids(OrderStatus::AwaitingShipment);

    // Dropped after processing: shipped, the reply lost, and no second attempt.
    gw.inject(FaultRule::new(Fault::DropAfterProcessing).for_method(SHIP).times(1));
    let err = client.execute(&ship(&orders[0])).await.unwrap_err();
    assert_eq!(transport_kind(&err), TransportKind::Io, "{err}");
    assert!(err.is_ambiguous());
    assert_eq!(gw.calls(SHIP), 1);
    assert_eq!((gw.ship_calls(&orders[0]), gw.shipments(&orders[0])), (1, 1));

    // Dropped before processing: the client cannot know, so it does not resend either.
    gw.inject(FaultRule::new(Fault::DropConnection).for_method(SHIP).times(1));
    let err = client.execute(&ship(&orders[1])).await.unwrap_err();
    assert_eq!(transport_kind(&err), TransportKind::Io, "{err}");
    assert_eq!(gw.calls(SHIP), 2);
    assert_eq!((gw.ship_calls(&orders[1]), gw.shipments(&orders[1])), (0, 0));
    assert_eq!(gw.order(&orders[1]).unwrap().status, OrderStatus::AwaitingShipment);
}

#[tokio::test]
async fn dropped_connection_on_a_write_is_retried_when_the_caller_opts_in() {
    let gw = gateway().await;
    let policy = fast_retry(3).with_ambiguous_writes(true);
    let client = ready_client(client_builder(&gw).retry(policy)).await;
    let orders = gw.order_ids(OrderStatus::AwaitingShipment);

    // Lost before processing: the retry ships it.
    gw.inject(FaultRule::new(Fault::DropConnection).for_method(SHIP).times(1));
    client.execute(&ship(&orders[0])).await.unwrap();
    assert_eq!(gw.calls(SHIP), 2);
    assert_eq!((gw.ship_calls(&orders[0]), gw.shipments(&orders[0])), (1, 1));

    // Lost after processing: the retry reaches the platform, which refuses to ship twice.
    gw.reset_counters();
    gw.inject(FaultRule::new(Fault::DropAfterProcessing).for_method(SHIP).times(1));
    let err = client.execute(&ship(&orders[1])).await.unwrap_err();
    assert_eq!(err.api().map(|a| a.sub_code.as_str()), Some("isv.business-failed:order-already-shipped"), "{err:?}");
    assert_eq!(gw.calls(SHIP), 2);
    assert_eq!((gw.ship_calls(&orders[1]), gw.shipments(&orders[1])), (2, 1));
}

/// The spec's retry classes at work: the same fault (the connection dropped after the
/// gateway processed the call, so the client cannot know the outcome) on an idempotent write
/// and on a read-back write, with the default policy (no opt-in).
#[tokio::test]
async fn after_a_dropped_connection_an_idempotent_write_is_retried_and_a_read_back_write_is_not() {
    const REMARK: &str = "order.addOrderRemark";
    assert_eq!(OrderAddOrderRemarkRequest::RETRY, RetryClass::Idempotent);
    assert_eq!(OrderLogisticsAddRequest::RETRY, RetryClass::ReadBack);
    let gw = gateway().await;
    let client = ready_client(client_builder(&gw).retry(fast_retry(3))).await;
    let orders = gw.order_ids(OrderStatus::AwaitingShipment);

    // Idempotent: the remark is set, the reply lost, the call sent again and answered.
    gw.inject(FaultRule::new(Fault::DropAfterProcessing).for_method(REMARK).times(1));
    client.execute(&OrderAddOrderRemarkRequest::new(&orders[0], "fragile")).await.unwrap();
    assert_eq!(gw.calls(REMARK), 2, "one lost reply, one retry");
    assert_eq!(gw.counters().remarks.get(&orders[0]), Some(&2));
    assert_eq!(gw.order(&orders[0]).unwrap().seller_words, "fragile", "the same remark, set twice");

    // The same by name: `call_json` takes the class from the method table.
    gw.inject(FaultRule::new(Fault::DropAfterProcessing).for_method(REMARK).times(1));
    let params = format!(r#"{{"order_id": "{}", "remark": "by name"}}"#, orders[1]);
    client.call_json(REMARK, &params, &CallOptions::default()).await.unwrap();
    assert_eq!(gw.calls(REMARK), 4);
    assert_eq!(gw.order(&orders[1]).unwrap().seller_words, "by name");

    // Read-back: shipped, the reply lost, and no second attempt: the caller reads back.
    gw.inject(FaultRule::new(Fault::DropAfterProcessing).for_method(SHIP).times(1));
    let err = client.execute(&ship(&orders[2])).await.unwrap_err();
    assert!(err.is_ambiguous() && !err.is_retryable(), "{err:?}");
    assert_eq!(gw.calls(SHIP), 1);
    assert_eq!((gw.ship_calls(&orders[2]), gw.shipments(&orders[2])), (1, 1));
    gw.inject(FaultRule::new(Fault::DropAfterProcessing).for_method(SHIP).times(1));
    let params = format!(r#"{{"order_id": "{}", "company_code": "zhongtong", "logistics_code": "ZT1"}}"#, orders[3]);
    let err = client.call_json(SHIP, &params, &CallOptions::default()).await.unwrap_err();
    assert!(err.is_ambiguous(), "{err:?}");
    assert_eq!(gw.calls(SHIP), 2, "by name too, sent once");
}

#[tokio::test]
async fn dropped_connection_on_a_read_is_retried() {
    let gw = gateway().await;
    let client = ready_client(client_builder(&gw).retry(fast_retry(3))).await;
    gw.inject(FaultRule::new(Fault::DropAfterProcessing).for_method(SEARCH).times(1));
    gw.inject(FaultRule::new(Fault::DropConnection).for_method("shop.brandList").times(1));
    client.page(&OrderSearchListRequest::new(0, 2)).await.unwrap();
    client.execute(&ShopBrandListRequest::new()).await.unwrap();
    assert_eq!((gw.calls(SEARCH), gw.calls("shop.brandList")), (2, 2));
}

#[tokio::test]
async fn malformed_json_is_an_ambiguous_decode_error_with_an_excerpt() {
    let gw = gateway().await;
    let client = ready_client(client_builder(&gw).retry(fast_retry(1))).await;
    gw.inject(FaultRule::new(Fault::MalformedJson).for_method("shop.brandList").times(1));
    let err = client.execute(&ShopBrandListRequest::new()).await.unwrap_err();
    let Error::Decode(decode) = &err else { panic!("expected a decode error, got {err:?}") };
    assert_eq!((decode.context.as_str(), decode.stage), ("shop.brandList", DecodeStage::Envelope));
    assert_eq!(decode.path, "$");
    assert!(decode.excerpt.starts_with(r#"{"code"="#), "{}", decode.excerpt);
    assert!(decode.excerpt.len() <= doudian_sdk::error::EXCERPT_LIMIT);
    assert!(err.to_string().starts_with("shop.brandList: cannot decode reply at `$`"), "{err}");
    // The call was answered, so it may have been processed: ambiguous, not "retryable".
    assert!(!err.is_retryable() && err.is_ambiguous());
    assert_eq!(gw.calls("shop.brandList"), 1);

    // A read is tried again after an unreadable reply, and the second reply is fine.
    let client = ready_client(client_builder(&gw).retry(fast_retry(3))).await;
    gw.inject(FaultRule::new(Fault::MalformedJson).for_method("shop.brandList").times(1));
    assert_eq!(client.execute(&ShopBrandListRequest::new()).await.unwrap().0.len(), 4);
    assert_eq!(gw.calls("shop.brandList"), 3);
}

#[tokio::test]
async fn truncated_json_is_a_decode_error_on_reads_and_writes() {
    let gw = gateway().await;
    let client = ready_client(client_builder(&gw).retry(fast_retry(3))).await;
    gw.inject(FaultRule::new(Fault::TruncatedJson).for_method(SEARCH).times(3));
    let err = client.page(&OrderSearchListRequest::new(0, 20)).await.unwrap_err();
    let Error::Decode(decode) = &err else { panic!("expected a decode error, got {err:?}") };
    assert_eq!(decode.path, "$");
    assert!(decode.excerpt.starts_with(r#"{"code":10000"#), "{}", decode.excerpt);
    assert_eq!(decode.excerpt.len(), doudian_sdk::error::EXCERPT_LIMIT, "a long body is cut to the limit");
    assert!(decode.message.contains("EOF"), "{}", decode.message);
    assert_eq!(gw.calls(SEARCH), 3, "a read is retried while the reply stays cut");

    // A write whose reply is cut: processed once, reported as ambiguous, not resent.
    let order_id = order_awaiting_shipment(&gw);
    gw.inject(FaultRule::new(Fault::TruncatedJson).for_method(SHIP).times(1));
    let err = client.execute(&ship(&order_id)).await.unwrap_err();
    assert!(matches!(err, Error::Decode(_)) && err.is_ambiguous(), "{err:?}");
    assert_eq!(gw.calls(SHIP), 1);
    assert_eq!(gw.shipments(&order_id), 1);
}

#[tokio::test]
async fn ids_as_strings_decode_to_the_same_values() {
    let gw = gateway().await;
    let client = ready_client(client_builder(&gw)).await;
    let plain = client.page(&OrderSearchListRequest::new(0, 20)).await.unwrap();
    let order_id = plain.items[0].order_id.clone().unwrap();
    let plain_detail = client.execute(&OrderOrderDetailRequest::new(&order_id)).await.unwrap();

    gw.inject(FaultRule::new(Fault::IdsAsStrings));
    let stringy = client.page(&OrderSearchListRequest::new(0, 20)).await.unwrap();
    let stringy_detail = client.execute(&OrderOrderDetailRequest::new(&order_id)).await.unwrap();
    assert_eq!(gw.counters().faults["ids_as_strings"], 2);

    // Compared through their serialised JSON: every field, at every depth.
    let json = |value: serde_json::Result<serde_json::Value>| value.expect("serialisable");
    assert_eq!(json(serde_json::to_value(&plain.items)), json(serde_json::to_value(&stringy.items)));
    assert_eq!(json(serde_json::to_value(plain_detail.data())), json(serde_json::to_value(stringy_detail.data())));
    assert_eq!(stringy.items[0].shop_id, Some(gw.shop_id().into()));
    let sku = &stringy.items[0].sku_order_list[0];
    let positive = |id: Option<i64>| id.is_some_and(|id| id > 0);
    assert!(positive(sku.product_id.as_ref().and_then(|id| id.as_i64())), "{sku:?}");
    assert!(positive(sku.sku_id.as_ref().and_then(|id| id.as_i64())), "{sku:?}");
}

#[tokio::test]
async fn oversized_reply_is_refused_at_the_limit() {
    let gw = gateway().await;
    let limit = 1024 * 1024;
    let client = ready_client(client_builder(&gw).max_response_bytes(limit)).await;
    gw.inject(FaultRule::new(Fault::Oversized(2 * 1024 * 1024)).for_method("shop.brandList").times(1));
    let err = client.execute(&ShopBrandListRequest::new()).await.unwrap_err();
    assert_eq!(transport_kind(&err), TransportKind::BodyTooLarge { limit });
    assert_eq!(err.to_string(), "shop.brandList: response larger than the 1048576-byte limit");
    // Answered, so possibly processed; and not tried again: the reply would be as large.
    assert!(!err.is_retryable() && err.is_ambiguous());
    assert_eq!(gw.calls("shop.brandList"), 1);
    // Just under the limit is fine.
    gw.inject(FaultRule::new(Fault::Oversized(limit - 1)).for_method("shop.brandList").times(1));
    assert_eq!(client.execute(&ShopBrandListRequest::new()).await.unwrap().0.len(), 4);
}

#[tokio::test]
async fn oversized_streamed_reply_without_length_is_refused() {
    let big = envelope(&format!(r#"{{"pad":"{}"}}"#, "x".repeat(300_000)));
    let server = ScriptedServer::start(vec![Canned::ok(big).chunked()]).await;
    let client = Client::builder("k", "s")
        .base_url(&server.base_url)
        .env_proxy(false)
        .max_response_bytes(100_000)
        .retry(fast_retry(3))
        .build()
        .unwrap();
    let options = CallOptions::new().without_token();
    let err = client.call_json("shop.brandList", "{}", &options).await.unwrap_err();
    assert_eq!(transport_kind(&err), TransportKind::BodyTooLarge { limit: 100_000 });
    assert_eq!(server.hits(), 1);
}

#[tokio::test]
async fn wrong_app_secret_is_a_clear_signature_error() {
    let gw = gateway().await;
    let client = client_builder(&gw);
    let wrong = Client::builder(gw.app_key(), "not-the-secret")
        .base_url(gw.base_url())
        .shop_id(gw.shop_id().to_string())
        .env_proxy(false)
        .retry(fast_retry(3))
        .build()
        .unwrap();
    drop(client);

    // The first thing that fails is token.create.
    let err = wrong.execute(&ShopBrandListRequest::new()).await.unwrap_err();
    assert!(err.is_signature_invalid(), "{err:?}");
    let api = err.api().unwrap();
    assert_eq!((api.code, api.method.as_str()), (40003, "token.create"));
    assert!(err.log_id().is_some_and(|id| id.len() >= 20), "{:?}", err.log_id());

    // With a valid token, the call itself is refused the same way, once (not retried).
    let token = gw.issue_token();
    let options = CallOptions::new().access_token(doudian_sdk::AccessToken::new(token.access_token));
    let err = wrong.execute_with(&OrderSearchListRequest::new(0, 1), &options).await.unwrap_err();
    assert!(err.is_signature_invalid() && !err.is_retryable(), "{err:?}");
    let api = err.api().unwrap();
    assert_eq!((api.code, api.sub_code.as_str(), api.method.as_str()), (40003, "isv.signature-invalid", SEARCH));
    assert!(err.to_string().contains("isv.signature-invalid") && err.to_string().contains(&api.log_id), "{err}");
    assert!(!err.to_string().contains("not-the-secret"));
    assert_eq!(gw.calls(SEARCH), 1);
    assert_eq!(gw.counters().signature_failures, 2);
}

#[tokio::test]
async fn both_sign_methods_are_accepted() {
    let gw = gateway().await;
    for method in [SignMethod::Md5, SignMethod::HmacSha256] {
        let client = client_builder(&gw).sign_method(method).build().unwrap();
        let page = client.page(&OrderSearchListRequest::new(0, 3)).await.unwrap();
        assert_eq!(page.items.len(), 3, "{method:?}");
        client.execute(&ShopBrandListRequest::new()).await.unwrap();
    }
    let counters = gw.counters();
    assert_eq!(counters.signature_failures, 0);
    assert_eq!(counters.method(SEARCH).succeeded, 2);
    assert_eq!(counters.tokens_created, 2);
}

/// What an ERP's daily batch does: page through the orders, ship every one awaiting
/// shipment with bounded concurrency through rate limits and lost replies, read back the
/// ambiguous ones, and run again safely. Every order ends shipped exactly once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn batch_shipping_through_faults_ships_every_order_exactly_once() {
    use futures_util::{StreamExt, TryStreamExt};
    let gw = gateway().await;
    let client = ready_client(client_builder(&gw).retry(fast_retry(12))).await;
    let awaiting = gw.order_ids(OrderStatus::AwaitingShipment);
    assert_eq!(awaiting.len(), 20);
    gw.inject(FaultRule::new(Fault::RateLimit).for_method(SHIP).times(10));
    gw.inject(FaultRule::new(Fault::DropAfterProcessing).for_method(SHIP).times(2));

    async fn run_batch(client: &Client) -> (usize, usize) {
        let to_ship: Vec<OrderId> = client
            .items(OrderSearchListRequest::new(0, 7))
            .try_filter(|o| std::future::ready(o.order_status == Some(2.into())))
            .map_ok(|o| o.order_id.unwrap())
            .try_collect()
            .await
            .unwrap();
        let outcomes: Vec<_> = futures_util::stream::iter(to_ship.clone())
            .map(|id| async move {
                loop {
                    match client.execute(&ship(&id)).await {
                        Ok(_) => return true,
                        // The outcome is unknown: read the order back, ship again only if it
                        // was not shipped (and read back again if that reply is lost too).
                        Err(e) if e.is_ambiguous() => {
                            let detail = client.execute(&OrderOrderDetailRequest::new(&id)).await.unwrap();
                            if detail.shop_order_detail.as_ref().and_then(|o| o.order_status) == Some(3.into()) {
                                return true;
                            }
                        }
                        Err(e) => panic!("{id}: {e}"),
                    }
                }
            })
            .buffer_unordered(4)
            .collect()
            .await;
        (to_ship.len(), outcomes.iter().filter(|shipped| **shipped).count())
    }

    assert_eq!(run_batch(&client).await, (20, 20));
    // Each order processed once, plus the 10 rate-limited attempts. A lost reply comes
    // only after processing (a fault fires only where it takes effect), so the two lost
    // replies are read back as shipped and nothing is sent twice.
    assert_eq!(gw.calls(SHIP), 20 + 10);
    for id in &awaiting {
        assert_eq!((gw.ship_calls(id), gw.shipments(id)), (1, 1), "{id}");
        assert_eq!(gw.order(id).unwrap().status, OrderStatus::Shipped);
    }
    assert_eq!(gw.calls("order.orderDetail"), 2, "the two lost replies were read back");
    // Running again finds nothing to ship.
    assert_eq!(run_batch(&client).await, (0, 0));
    assert_eq!(gw.calls(SHIP), 30);
}
