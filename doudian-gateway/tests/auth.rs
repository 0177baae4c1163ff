//! Signatures, timestamps, app keys and tokens, checked the way the platform checks them.

mod common;

use common::*;
use doudian_gateway::Gateway;
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

/// Sends `body` signed over `signed_text` (instead of the canonical form).
async fn call_signed_over(
    caller: &Caller,
    method: &str,
    body: &str,
    signed_text: &str,
    header: bool,
) -> serde_json::Value {
    let (mut query, _) = caller.signed(method, body);
    let timestamp = query.iter().find(|(k, _)| k == "timestamp").unwrap().1.clone();
    let sign = doudian_sdk::sign::sign(
        SignMethod::HmacSha256,
        &caller.app_key,
        &caller.secret,
        method,
        signed_text,
        &timestamp,
    );
    query.retain(|(k, _)| k != "sign");
    query.push(("sign".to_owned(), sign));
    let url = format!("{}/{}", caller.base, method.replace('.', "/"));
    let mut request = caller.http.post(url).query(&query).body(body.to_owned());
    if header {
        request = request.header("x-open-no-old-err-code", "1");
    }
    serde_json::from_str(&request.send().await.unwrap().text().await.unwrap()).unwrap()
}

#[tokio::test]
async fn every_official_sdks_canonical_variant_is_accepted_and_others_are_explained() {
    let gw = gateway().await;
    let caller = authed(&gw).await;
    // Java sends its fields unsorted and signs its gson form (HTML-safe escaping); the
    // empty object is a `combine_status` filter with no condition (a field the method takes).
    let body = r#"{"size":1,"page":0,"order_by":"create_time","product":"<a href='x'>&=</a>","combine_status":[{}]}"#;
    let forms = doudian_sdk::sign::signed_forms(body).unwrap();
    assert!(forms.len() >= 4, "{forms:?}");
    for (who, text) in &forms {
        let reply = call_signed_over(&caller, "order.searchList", body, text, true).await;
        assert_eq!(reply["code"], 10000, "{who}: {reply}");
    }
    // A sign over the raw body is refused, and the refusal shows what to sign, secret masked.
    let reply = call_signed_over(&caller, "order.searchList", body, body, true).await;
    assert_error(&reply, 40003, "isv.signature-invalid");
    let sub_msg = reply["sub_msg"].as_str().unwrap();
    assert!(sub_msg.contains(&format!("***app_key{}method", caller.app_key)), "{sub_msg}");
    assert!(sub_msg.contains(&forms[0].1), "{sub_msg}");
    assert!(!sub_msg.contains(&caller.secret), "{sub_msg}");

    // With --lenient-sign, the raw body's sign is accepted too.
    let lenient = Gateway::builder().app_key(APP_KEY).app_secret(APP_SECRET).lenient_sign(true).start().await.unwrap();
    let caller = authed(&lenient).await;
    assert_eq!(call_signed_over(&caller, "order.searchList", body, body, true).await["code"], 10000);
}

#[tokio::test]
async fn legacy_fields_unless_the_official_header_is_sent() {
    let gw = gateway().await;
    let caller = authed(&gw).await;
    let body = "{}";
    let canonical = doudian_sdk::sign::canonical_param_json(body).unwrap();
    let modern = call_signed_over(&caller, "shop.brandList", body, &canonical, true).await;
    assert!(modern.get("err_no").is_none() && modern.get("message").is_none(), "{modern}");
    let legacy = call_signed_over(&caller, "shop.brandList", body, &canonical, false).await;
    assert_eq!(
        (legacy["err_no"].as_i64(), legacy["message"].as_str(), legacy["code"].as_i64()),
        (Some(0), Some("success"), Some(10000))
    );
    let refused = call_signed_over(&caller, "shop.brandList", body, "{\"x\":1}", false).await;
    assert_eq!((refused["err_no"].as_i64(), refused["code"].as_i64()), (Some(40003), Some(40003)), "{refused}");
    assert_eq!(refused["message"], refused["msg"]);
}

#[tokio::test]
async fn parameters_are_checked_against_the_methods_schema() {
    let gw = gateway().await;
    let caller = authed(&gw).await;
    let reply = caller.call("order.searchList", json!({"page": "x", "size": 10})).await;
    assert_error(&reply, 40003, "isv.parameter-invalid");
    assert!(reply["sub_msg"].as_str().unwrap().contains("`page`"), "{reply}");
    // A field the method does not take: named, with the nearest one it does.
    let reply = caller.call("order.searchList", json!({"page": 0, "size": 10, "pgae": 1})).await;
    assert_error(&reply, 40003, "isv.parameter-invalid");
    let sub_msg = reply["sub_msg"].as_str().unwrap();
    assert!(sub_msg.contains("`pgae`") && sub_msg.contains("did you mean `page`?"), "{reply}");
    // Nested places by their path.
    let reply = caller.call("order.searchList", json!({"page": 0, "size": 10, "combine_status": [{"nope": 1}]})).await;
    assert_error(&reply, 40003, "isv.parameter-invalid");
    assert!(reply["sub_msg"].as_str().unwrap().contains("`combine_status[0].nope`"), "{reply}");
    // A method without a modelled shop checks its schema too.
    let reply = caller.call("shop.brandList", json!({"nope": 1})).await;
    assert_error(&reply, 40003, "isv.parameter-invalid");
    // The forms the official SDKs disagree on still pass: numbers as text, null as absent.
    let reply = caller.call("order.searchList", json!({"page": "0", "size": "2", "order_by": null})).await;
    assert_eq!(reply["code"], 10000, "{reply}");
}
