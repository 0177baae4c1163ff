//! The wire, seen from a scripted loopback server: what the SDK sends (path, query,
//! headers, raw canonical body, a sign the server can recompute), and what it makes of
//! replies that do not match the spec — decode errors name the JSON path, keep the log id
//! and an excerpt, and never panic; 19-digit ids survive; error envelopes in both forms
//! become typed API errors.

use doudian_sdk::api::order::{OrderOrderDetailRequest, OrderSearchListRequest};
use doudian_sdk::client::decode_reply;
use doudian_sdk::push::PushRecord;
use doudian_sdk::retry::RetryPolicy;
use doudian_sdk::sign::{sign, SignMethod};
use doudian_sdk::{AccessToken, CallOptions, Client, Error};
use e2e_tests::*;

fn no_token() -> CallOptions {
    CallOptions::new().without_token()
}

fn decode_error(err: &Error) -> &doudian_sdk::error::DecodeError {
    match err {
        Error::Decode(d) => d,
        other => panic!("expected a decode error, got {other:?}"),
    }
}

fn order(id: &str, status: &str) -> String {
    format!(
        r#"{{"order_id":{id},"order_status":{status},"shop_id":4463798,"sku_order_list":[{{"sku_id":1,"product_id":2}}]}}"#
    )
}

#[tokio::test]
async fn a_wrong_type_deep_in_a_list_names_its_path() {
    let data = format!(
        r#"{{"page":0,"size":2,"total":2,"shop_order_list":[{},{}]}}"#,
        order("\"6921349872346712345\"", "2"),
        order("\"6921349872346712346\"", "\"abc\"")
    );
    let server = ScriptedServer::start(vec![Canned::ok(envelope(&data))]).await;
    let client = server.client(fast_retry(3));
    let err = client.execute_with(&OrderSearchListRequest::new(0, 2), &no_token()).await.unwrap_err();
    let decode = decode_error(&err);
    assert_eq!(decode.context, "order.searchList");
    assert_eq!(decode.path, "data.shop_order_list[1].order_status");
    assert_eq!(decode.log_id, "202401010000000000000000SCRIPTED");
    assert!(decode.excerpt.starts_with(r#"{"code":10000,"msg":"success""#), "{}", decode.excerpt);
    assert!(
        err.to_string().starts_with("order.searchList: cannot decode reply at `data.shop_order_list[1].order_status`"),
        "{err}"
    );
    assert!(err.to_string().ends_with("(log_id 202401010000000000000000SCRIPTED)"), "{err}");
    assert_eq!(err.log_id(), Some("202401010000000000000000SCRIPTED"));
    assert_eq!(server.hits(), 1, "a decode error is not retried");
}

#[tokio::test]
async fn an_object_where_a_list_belongs_names_its_path() {
    let data = r#"{"shop_order_list":[{"order_id":"1","sku_order_list":{"sku_id":1}}]}"#;
    let err = decode_reply::<doudian_sdk::api::order::OrderSearchListResponse>(
        "order.searchList",
        envelope(data).into_bytes(),
    )
    .unwrap_err();
    assert_eq!(decode_error(&err).path, "data.shop_order_list[0].sku_order_list");
}

#[tokio::test]
async fn nineteen_digit_ids_survive_as_numbers_and_as_strings() {
    let data = format!(
        r#"{{"page":0,"size":2,"total":2,"shop_order_list":[{},{}]}}"#,
        order("6921349872346712345", "2"),
        order("\"6921349872346712345\"", "\"2\"")
    );
    let server = ScriptedServer::start(vec![Canned::ok(envelope(&data))]).await;
    let client = server.client(fast_retry(3));
    let reply = client.execute_with(&OrderSearchListRequest::new(0, 2), &no_token()).await.unwrap();
    let [a, b] = reply.shop_order_list.as_slice() else { panic!("two orders") };
    assert_eq!(a.order_id.as_ref().and_then(|id| id.as_i64()), Some(6921349872346712345));
    assert_eq!(b.order_id.as_ref().and_then(|id| id.as_i64()), Some(6921349872346712345));
    assert_eq!((a.order_status, b.order_status), (Some(2.into()), Some(2.into())));
    assert_eq!(serde_json::to_value(a).unwrap(), serde_json::to_value(b).unwrap());
}

#[tokio::test]
async fn an_integer_too_large_for_its_field_is_an_error_not_a_wrapped_value() {
    // 9300000000000000000 > i64::MAX: must not wrap or saturate silently.
    let data =
        r#"{"page":0,"size":1,"total":1,"shop_order_list":[{"order_id":"1","create_time":9300000000000000000}]}"#;
    let server = ScriptedServer::start(vec![Canned::ok(envelope(data))]).await;
    let client = server.client(fast_retry(3));
    let err = client.execute_with(&OrderSearchListRequest::new(0, 1), &no_token()).await.unwrap_err();
    assert_eq!(decode_error(&err).path, "data.shop_order_list[0].create_time");
}

#[tokio::test]
async fn an_id_too_large_for_i64_is_kept_as_its_digits() {
    let data = r#"{"page":0,"size":1,"total":1,"shop_order_list":[{"order_id":"1","shop_id":9300000000000000000}]}"#;
    let server = ScriptedServer::start(vec![Canned::ok(envelope(data))]).await;
    let client = server.client(fast_retry(3));
    let reply = client.execute_with(&OrderSearchListRequest::new(0, 1), &no_token()).await.unwrap();
    let shop_id = reply.shop_order_list[0].shop_id.as_ref().unwrap();
    assert_eq!((shop_id.as_i64(), shop_id.to_string()), (None, "9300000000000000000".to_owned()));
}

#[tokio::test]
async fn error_envelopes_in_both_forms_are_typed_api_errors() {
    let server = ScriptedServer::start(vec![
        Canned::ok(
            r#"{"code":"40004","msg":"业务处理失败","sub_code":"isv.business-failed:1","sub_msg":"订单不存在","log_id":"L-NEW","data":null}"#,
        ),
        Canned::ok(r#"{"err_no":30002,"message":"no permission","log_id":"L-OLD"}"#),
    ])
    .await;
    let client = server.client(RetryPolicy::none());
    let err = client.execute_with(&OrderOrderDetailRequest::new("1"), &no_token()).await.unwrap_err();
    let api = err.api().unwrap_or_else(|| panic!("{err:?}"));
    assert_eq!(
        (api.method.as_str(), api.code, api.msg.as_str(), api.sub_code.as_str(), api.sub_msg.as_str()),
        ("order.orderDetail", 40004, "业务处理失败", "isv.business-failed:1", "订单不存在")
    );
    assert_eq!(err.log_id(), Some("L-NEW"));
    assert_eq!(
        err.to_string(),
        "order.orderDetail failed: code 40004 (业务处理失败), sub_code isv.business-failed:1 (订单不存在), log_id L-NEW"
    );

    let legacy = client.execute_with(&OrderOrderDetailRequest::new("1"), &no_token()).await.unwrap_err();
    assert!(legacy.is_permission_denied(), "{legacy:?}");
    assert_eq!((legacy.api().unwrap().msg.as_str(), legacy.log_id()), ("no permission", Some("L-OLD")));
}

#[tokio::test]
async fn replies_that_are_not_envelopes_never_panic() {
    let bodies: Vec<&[u8]> = vec![
        b"",
        b"null",
        b"[]",
        b"42",
        b"\"text\"",
        b"{\"code\":10000,\"data\":[1,2]}",
        b"{\"code\":10000,\"data\":\"not an object\"}",
        b"{\"code\":{},\"data\":{}}",
        b"\xff\xfe\x00garbage",
        "{\"code\":10000,\"data\":{\"shop_order_list\":[{\"order_id\":\"中文\u{2028}\"}]".as_bytes(),
    ];
    let server = ScriptedServer::start(bodies.iter().map(|b| Canned::ok(b.to_vec())).collect()).await;
    let client = server.client(RetryPolicy::none());
    for body in &bodies {
        let result = client.execute_with(&OrderSearchListRequest::new(0, 1), &no_token()).await;
        let err = result.expect_err(&format!("{:?} is not a valid reply", String::from_utf8_lossy(body)));
        let decode = decode_error(&err);
        assert!(decode.excerpt.len() <= doudian_sdk::error::EXCERPT_LIMIT);
        assert!(!decode.path.is_empty());
    }
    assert_eq!(server.hits(), bodies.len());
}

#[tokio::test]
async fn push_message_with_a_wrong_type_names_its_path() {
    let record = PushRecord::new("102", "7301234567890123456", r#"{"p_id":4962389765832389,"s_ids":[1,{"x":1}]}"#);
    let err = record.decode().unwrap_err();
    let decode = decode_error(&err);
    assert_eq!(decode.path, "s_ids[1]");
    assert_eq!(decode.context, "push message tag 102 (msg_id 7301234567890123456)");
}

/// `call_value` sends the canonical text of a JSON value: the bytes `call_json` sends for
/// the same parameters written as text, keys sorted, numbers as written; `null` is `{}`;
/// a value that is not an object is refused before anything is sent.
#[tokio::test]
async fn call_value_sends_what_call_json_sends_for_the_same_parameters() {
    let server = ScriptedServer::start(vec![Canned::ok(envelope(r#"{"brands":[]}"#))]).await;
    let client = server.client(RetryPolicy::none());
    let text = r#"{"z":[2,1],"page":0,"name":"连衣裙 & <裙>","big":6921349872346712345,"price":1.5}"#;
    let value: serde_json::Value = serde_json::from_str(text).unwrap();
    let reply = client.call_value("shop.brandList", &value, &no_token()).await.unwrap();
    assert_eq!(reply.data(), &serde_json::json!({"brands": []}));
    let by_value = server.requests().pop().unwrap().body;
    client.call_json("shop.brandList", text, &no_token()).await.unwrap();
    let by_text = server.requests().pop().unwrap().body;
    assert_eq!(String::from_utf8(by_value).unwrap(), String::from_utf8(by_text).unwrap());
    assert_eq!(server.requests().len(), 2);

    client.call_value("shop.brandList", &serde_json::Value::Null, &no_token()).await.unwrap();
    assert_eq!(server.requests().pop().unwrap().body, b"{}");
    for not_an_object in [serde_json::json!([1]), serde_json::json!("x"), serde_json::json!(3)] {
        let err = client.call_value("shop.brandList", &not_an_object, &no_token()).await.unwrap_err();
        assert!(matches!(err, Error::InvalidRequest(ref m) if m.contains("JSON object")), "{err:?}");
    }
    let err = client.call_json("shop.brandList", "{\"a\":", &no_token()).await.unwrap_err();
    assert!(matches!(err, Error::InvalidRequest(ref m) if m.contains("not valid JSON")), "{err:?}");
    assert_eq!(server.hits(), 3, "refused requests are not sent");
}

#[tokio::test]
async fn requests_carry_the_documented_query_headers_and_raw_body() {
    let server = ScriptedServer::start(vec![Canned::ok(envelope(r#"{"shop_order_list":[]}"#))]).await;
    // The documented wire values, spelled out: not `method.as_str()`, which would compare
    // the SDK's value with itself.
    for (method, wire_value) in [(SignMethod::HmacSha256, "hmac-sha256"), (SignMethod::Md5, "md5")] {
        let client = Client::builder("7300000000000000001", "wire-secret")
            .base_url(format!("{}/", server.base_url))
            .sign_method(method)
            .env_proxy(false)
            .build()
            .unwrap();
        let token = "tok/en+with=odd&chars";
        let options = CallOptions::new().access_token(AccessToken::new(token)).log_id("my-trace-id-1");
        let request = OrderSearchListRequest::new(0, 20).order_by("create_time").product("连衣裙 & <裙>");
        client.execute_with(&request, &options).await.unwrap();
        let sent = server.requests().pop().unwrap();
        assert_eq!((sent.method.as_str(), sent.path.as_str()), ("POST", "/order/searchList"), "one slash");
        let q = |name: &str| sent.query_value(name).unwrap_or_else(|| panic!("no `{name}` in {}", sent.query));
        assert_eq!(q("app_key"), "7300000000000000001");
        assert_eq!(q("method"), "order.searchList");
        assert_eq!(q("v"), "2");
        assert_eq!(q("sign_method"), wire_value);
        assert_eq!(q("access_token"), token, "percent-encoded and back: {}", sent.query);
        let timestamp = q("timestamp");
        let sent_at: u64 = timestamp.parse().expect("Unix seconds");
        assert!(now_secs().abs_diff(sent_at) <= 5, "{timestamp}");
        // The body is the canonical param_json itself, and the sign covers exactly it.
        let body = String::from_utf8(sent.body.clone()).unwrap();
        assert_eq!(
            body, r#"{"order_by":"create_time","page":0,"product":"连衣裙 & <裙>","size":20}"#,
            "canonical: sorted, compact, raw UTF-8, no HTML escaping"
        );
        let expected = sign(method, "7300000000000000001", "wire-secret", "order.searchList", &body, &timestamp);
        assert_eq!(q("sign"), expected);
        assert_eq!(sent.header("content-type"), Some("application/json;charset=UTF-8"));
        assert_eq!(sent.header("x-tt-logid"), Some("my-trace-id-1"));
        assert!(sent.header("user-agent").is_some_and(|ua| ua.starts_with("doudian-sdk-rust/")));
        assert!(!sent.query.contains("wire-secret") && !body.contains("wire-secret"));
    }

    // Token-less calls send no access_token; no parameters (or blank text) is `{}`.
    let client = server.client(RetryPolicy::none());
    for params in ["{ }", "  "] {
        client.call_json("shop.brandList", params, &no_token()).await.unwrap();
        let sent = server.requests().pop().unwrap();
        assert_eq!(sent.body, b"{}", "{params:?}");
        assert_eq!(sent.query_value("access_token"), None);
    }
}
