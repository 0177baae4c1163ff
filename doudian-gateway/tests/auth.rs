//! Signatures, timestamps, app keys and tokens, checked the way the platform checks them.

mod common;

use common::*;
use doudian_sdk::SignMethod;
use serde_json::json;

#[tokio::test]
async fn accepts_both_sign_methods_and_all_timestamp_forms() {
    let gw = gateway().await;
    let token = gw.issue_token();
    for sign_method in [Some(SignMethod::HmacSha256), Some(SignMethod::Md5), None] {
        for form in [Stamp::Seconds, Stamp::Millis, Stamp::DateTime] {
            let mut caller = Caller::new(&gw).with_token(&token.access_token);
            caller.sign_method = sign_method;
            caller.stamp = form;
            let reply = caller.call("shop.brandList", json!({})).await;
            let data = assert_ok(&reply);
            assert!(data.as_array().is_some_and(|b| !b.is_empty()), "{reply}");
        }
    }
    assert_eq!(gw.counters().signature_failures, 0);
    assert_eq!(gw.calls("shop.brandList"), 9);
}

#[tokio::test]
async fn the_sign_is_over_the_recanonicalised_body() {
    let gw = gateway().await;
    let caller = authed(&gw).await;
    // Java sends unsorted keys with whitespace but signs the canonical text.
    let body = r#"{ "size": 5, "page": 0, "order_by": "create_time" }"#;
    let (query, _) = caller.signed("order.searchList", body);
    let reply: serde_json::Value = caller
        .send("order.searchList", &query, body.to_owned())
        .await
        .unwrap()
        .text()
        .await
        .map(|t| serde_json::from_str::<serde_json::Value>(&t).unwrap())
        .unwrap();
    assert_eq!(assert_ok(&reply)["size"], 5);
}

#[tokio::test]
async fn a_wrong_secret_or_tampered_body_is_a_signature_error() {
    let gw = gateway().await;
    let mut caller = authed(&gw).await;
    caller.secret = "not-the-secret".to_owned();
    let reply = caller.call("shop.brandList", json!({})).await;
    assert_error(&reply, 40003, "isv.signature-invalid");

    let caller = authed(&gw).await;
    let (query, _) = caller.signed("order.searchList", r#"{"page":0,"size":5}"#);
    let reply: serde_json::Value = caller
        .send("order.searchList", &query, r#"{"page":1,"size":5}"#.to_owned())
        .await
        .unwrap()
        .text()
        .await
        .map(|t| serde_json::from_str::<serde_json::Value>(&t).unwrap())
        .unwrap();
    assert_error(&reply, 40003, "isv.signature-invalid");

    // md5 signed but announced as hmac.
    let mut caller = authed(&gw).await;
    caller.sign_method = Some(SignMethod::Md5);
    let (mut query, body) = caller.signed("shop.brandList", "{}");
    query.iter_mut().filter(|(k, _)| k == "sign_method").for_each(|(_, v)| *v = "hmac-sha256".to_owned());
    let reply: serde_json::Value = caller
        .send("shop.brandList", &query, body)
        .await
        .unwrap()
        .text()
        .await
        .map(|t| serde_json::from_str::<serde_json::Value>(&t).unwrap())
        .unwrap();
    assert_error(&reply, 40003, "isv.signature-invalid");
    assert_eq!(gw.counters().signature_failures, 3);
}

async fn with_query_edit(
    gw: &doudian_gateway::RunningGateway,
    edit: impl FnOnce(&mut Vec<(String, String)>),
) -> serde_json::Value {
    let caller = authed(gw).await;
    let (mut query, body) = caller.signed("shop.brandList", "{}");
    edit(&mut query);
    caller
        .send("shop.brandList", &query, body)
        .await
        .unwrap()
        .text()
        .await
        .map(|t| serde_json::from_str::<serde_json::Value>(&t).unwrap())
        .unwrap()
}

fn set(query: &mut [(String, String)], key: &str, value: &str) {
    query.iter_mut().filter(|(k, _)| k == key).for_each(|(_, v)| *v = value.to_owned());
}

fn remove(query: &mut Vec<(String, String)>, key: &str) {
    query.retain(|(k, _)| k != key);
}

#[tokio::test]
async fn public_parameter_errors() {
    let gw = gateway().await;
    assert_error(&with_query_edit(&gw, |q| remove(q, "sign")).await, 40001, "isv.signature-missing");
    assert_error(&with_query_edit(&gw, |q| remove(q, "app_key")).await, 40001, "isv.app-id-missing");
    assert_error(
        &with_query_edit(&gw, |q| set(q, "app_key", "7000000000000000000")).await,
        40003,
        "isv.app-id-invalid",
    );
    assert_error(&with_query_edit(&gw, |q| remove(q, "access_token")).await, 40001, "isv.access-token-missing");
    assert_error(&with_query_edit(&gw, |q| set(q, "access_token", "nope")).await, 40003, "isv.access-token-no-existed");
    assert_error(&with_query_edit(&gw, |q| set(q, "v", "1")).await, 40003, "isv.parameter-invalid");
    assert_error(&with_query_edit(&gw, |q| remove(q, "v")).await, 40001, "isv.parameter-missing");
    assert_error(&with_query_edit(&gw, |q| set(q, "method", "shop.other")).await, 40003, "isv.parameter-invalid");
    assert_error(&with_query_edit(&gw, |q| set(q, "sign_method", "sha1")).await, 40003, "isv.parameter-invalid");
    assert_error(
        &with_query_edit(&gw, |q| set(q, "timestamp", "2023/11/15")).await,
        40003,
        "isv.timestamp-format-error",
    );
    let stale = stamp(Stamp::Seconds, -3600);
    assert_error(&with_query_edit(&gw, |q| set(q, "timestamp", &stale)).await, 40003, "isv.timestamp-invalid");
    let future = stamp(Stamp::DateTime, 3600);
    assert_error(&with_query_edit(&gw, |q| set(q, "timestamp", &future)).await, 40003, "isv.timestamp-invalid");
    assert_eq!(gw.counters().timestamp_failures, 3);
}

#[tokio::test]
async fn unparseable_body_and_unknown_methods() {
    let gw = gateway().await;
    let caller = authed(&gw).await;
    // A body that is not JSON cannot be signed canonically; send it with any sign.
    let (query, _) = caller.signed("shop.brandList", "{}");
    let reply: serde_json::Value = caller
        .send("shop.brandList", &query, "{\"a\":".to_owned())
        .await
        .unwrap()
        .text()
        .await
        .map(|t| serde_json::from_str::<serde_json::Value>(&t).unwrap())
        .unwrap();
    assert_error(&reply, 40003, "isv.parameter-format-invalid");
    let reply = caller.call("nothing.here", json!({})).await;
    assert_error(&reply, 70000, "isp.api-service-off");
}

#[tokio::test]
async fn every_reply_has_a_unique_log_id() {
    let gw = gateway().await;
    let caller = authed(&gw).await;
    let mut ids = std::collections::HashSet::new();
    for _ in 0..20 {
        let reply = caller.call("shop.brandList", json!({})).await;
        assert!(ids.insert(reply["log_id"].as_str().unwrap().to_owned()));
        let bad = with_query_edit(&gw, |q| remove(q, "sign")).await;
        assert!(ids.insert(bad["log_id"].as_str().unwrap().to_owned()));
    }
}

#[tokio::test]
async fn legacy_double_slash_paths_work() {
    let gw = gateway().await;
    let caller = authed(&gw).await;
    let (query, body) = caller.signed("shop.brandList", "{}");
    let url = format!("{}//shop/brandList", caller.base);
    let reply: serde_json::Value = caller
        .http
        .post(url)
        .query(&query)
        .body(body)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .map(|t| serde_json::from_str::<serde_json::Value>(&t).unwrap())
        .unwrap();
    assert_ok(&reply);
}

#[tokio::test]
async fn required_parameters_are_checked() {
    let gw = gateway().await;
    let caller = authed(&gw).await;
    let reply = caller.call("order.searchList", json!({"page": 0})).await;
    assert_error(&reply, 40001, "isv.parameter-missing");
    assert!(reply["sub_msg"].as_str().unwrap().contains("size"));
    let reply = caller.call("order.orderDetail", json!({})).await;
    assert_error(&reply, 40001, "isv.parameter-missing");
    let reply = caller.call("order.searchList", json!({"page": "x", "size": 10})).await;
    assert_error(&reply, 40003, "isv.parameter-invalid");
}
