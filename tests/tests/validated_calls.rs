//! `CallOptions::validate`: parameters checked against the method's schema before anything
//! is signed or sent (the gateway's counters prove nothing arrived).

use doudian_sdk::schema::ViolationKind;
use doudian_sdk::{CallOptions, Error};
use e2e_tests::{client, gateway};
use serde_json::json;

#[tokio::test]
async fn invalid_params_are_refused_before_sending() {
    let gw = gateway().await;
    let client = client(&gw);
    let validate = CallOptions::new().validate();

    let err = client.call_json("order.searchList", r#"{"page":"x","size":20}"#, &validate).await.unwrap_err();
    let Error::InvalidParams { method, violations } = &err else { panic!("not InvalidParams: {err:?}") };
    assert_eq!(method, "order.searchList");
    assert_eq!((violations[0].kind, violations[0].path.as_str()), (ViolationKind::WrongType, "$.page"));
    assert!(err.to_string().contains("$.page: expected an integer"), "{err}");

    let err = client.call_value("order.searchList", &json!({"pgae": 0, "size": 20}), &validate).await.unwrap_err();
    let Error::InvalidParams { violations, .. } = &err else { panic!("not InvalidParams: {err:?}") };
    let unknown = violations.iter().find(|v| v.kind == ViolationKind::Unknown).expect("the typo");
    assert_eq!(unknown.suggestion.as_deref(), Some("page"));
    // A method the spec does not know cannot be checked: refused too, when asked to check.
    let err = client.call_json("order.noSuchMethod", "{}", &validate).await.unwrap_err();
    assert!(matches!(err, Error::InvalidParams { .. }), "{err:?}");
    assert_eq!(gw.counters().requests, 0, "nothing was sent, not even a token call");

    // Valid parameters are sent; without `validate` the same bad ones reach the gateway.
    let reply = client.call_json("order.searchList", r#"{"page":0,"size":2}"#, &validate).await.unwrap();
    assert_eq!(reply["shop_order_list"].as_array().unwrap().len(), 2);
    assert_eq!(gw.calls("order.searchList"), 1);
    let err = client.call_json("order.searchList", r#"{"page":"x","size":20}"#, &CallOptions::new()).await.unwrap_err();
    assert_eq!(err.api().map(|a| a.sub_code.as_str()), Some("isv.parameter-invalid"), "{err:?}");
    assert_eq!(gw.calls("order.searchList"), 2);
}
