//! The modelled methods' replies decode into the SDK's generated response types (names and
//! JSON types as in the spec), and every method of the spec gets an answer.

mod common;

use common::*;
use doudian_gateway::OrderStatus;
use doudian_sdk::api::{after_sale, order, product, shop, sku, token};
use doudian_sdk::Request;
use serde_json::{json, Value};

async fn decodes<R: Request>(caller: &Caller, params: Value) {
    let reply = caller.call(R::METHOD, params).await;
    let data = assert_ok(&reply).to_string();
    let mut de = serde_json::Deserializer::from_str(&data);
    if let Err(e) = serde_path_to_error::deserialize::<_, R::Response>(&mut de) {
        panic!("{}: {} at {}\n{data:.400}", R::METHOD, e.inner(), e.path());
    }
}

#[tokio::test]
async fn modelled_replies_decode_into_sdk_types() {
    let gw = gateway().await;
    let caller = authed(&gw).await;
    let pid = gw.products()[0].product_id;
    let shipped = gw.order_ids(OrderStatus::Shipped)[0].clone();
    let awaiting = gw.order_ids(OrderStatus::AwaitingShipment)[0].clone();
    let add = json!({"product_type": 0, "category_leaf_id": 20002, "name": "n", "pic": "a|b", "description": "d",
        "reduce_type": 1, "freight_id": 0, "mobile": "1", "commit": true, "specs": "颜色|红色",
        "spec_prices": r#"[{"spec_detail_name1":"红色","price":100,"stock_num":3}]"#});

    decodes::<token::TokenCreateRequest>(&caller, json!({"grant_type": "authorization_self", "shop_id": gw.shop_id()}))
        .await;
    let refresh = gw.issue_token().refresh_token;
    decodes::<token::TokenRefreshRequest>(&caller, json!({"grant_type": "refresh_token", "refresh_token": refresh}))
        .await;
    decodes::<shop::ShopBrandListRequest>(&caller, json!({})).await;
    decodes::<shop::ShopGetShopCategoryRequest>(&caller, json!({"cid": 0})).await;
    decodes::<product::ProductListV2Request>(&caller, json!({"page": 1, "size": 100})).await;
    decodes::<product::ProductDetailRequest>(&caller, json!({"product_id": pid.to_string()})).await;
    decodes::<sku::SkuListRequest>(&caller, json!({"product_id": pid})).await;
    decodes::<product::ProductAddV2Request>(&caller, add).await;
    decodes::<product::ProductEditV2Request>(&caller, json!({"product_id": pid, "commit": true, "name": "x"})).await;
    decodes::<product::ProductSetOfflineRequest>(&caller, json!({"product_id": pid})).await;
    decodes::<product::ProductSetOnlineRequest>(&caller, json!({"product_id": pid})).await;
    decodes::<product::ProductDelRequest>(&caller, json!({"product_id": pid})).await;
    decodes::<order::OrderSearchListRequest>(&caller, json!({"page": 0, "size": 100})).await;
    decodes::<order::OrderOrderDetailRequest>(&caller, json!({"shop_order_id": shipped})).await;
    decodes::<order::OrderAddOrderRemarkRequest>(&caller, json!({"order_id": shipped, "remark": "r"})).await;
    decodes::<order::OrderLogisticsCompanyListRequest>(&caller, json!({})).await;
    let ship = json!({"order_id": awaiting, "company_code": "zhongtong", "logistics_code": "1"});
    decodes::<order::OrderLogisticsAddRequest>(&caller, ship).await;
    let edit = json!({"order_id": awaiting, "company_code": "yunda", "logistics_code": "2"});
    decodes::<order::OrderLogisticsEditRequest>(&caller, edit).await;
    decodes::<after_sale::AfterSaleListRequest>(&caller, json!({"page": 0, "size": 50})).await;
    let id = gw.after_sale_ids()[0].to_string();
    decodes::<after_sale::AfterSaleOperateRequest>(&caller, json!({"type": 101, "items": [{"aftersale_id": id}]}))
        .await;
}

#[test]
fn every_method_of_the_spec_has_an_answer() {
    assert!(doudian_gateway::sample_count() > 0, "samples.json was not embedded");
    let known = doudian_gateway::known_methods();
    for method in doudian_sdk::catalog::METHODS.iter() {
        assert!(known.contains(&method.name), "{} has no answer", method.name);
    }
    for modelled in doudian_gateway::STATEFUL_METHODS {
        assert!(doudian_sdk::catalog::find(modelled).is_some(), "{modelled} is not in the spec");
    }
}

#[tokio::test]
async fn sampled_methods_answer_with_their_sample() {
    let gw = gateway().await;
    let caller = authed(&gw).await;
    let reply = caller.call("logistics.templateList", json!({})).await;
    assert!(assert_ok(&reply).is_object(), "{reply}");
    let reply = caller.call("coupons.list", json!({})).await;
    assert_eq!(reply["code"], 10000, "{reply}");
}
