//! Products, SKUs, brands, categories and after-sale requests.

mod common;

use common::*;
use serde_json::{json, Value};

fn add_params(name: &str) -> Value {
    json!({
        "product_type": 0,
        "category_leaf_id": 20002,
        "name": name,
        "pic": "https://img.example/1.jpg|https://img.example/2.jpg",
        "description": "测试商品",
        "reduce_type": 1,
        "freight_id": 0,
        "mobile": "40012345678",
        "commit": true,
        "specs": "颜色|红色,蓝色^尺码|S,M",
        "spec_prices": json!([
            {"spec_detail_name1": "红色", "spec_detail_name2": "S", "price": 9900, "stock_num": 10, "code": "R-S"},
            {"spec_detail_name1": "红色", "spec_detail_name2": "M", "price": 9900, "stock_num": 5, "code": "R-M"},
            {"spec_detail_name1": "蓝色", "spec_detail_name2": "S", "price": 10900, "stock_num": 0, "code": "B-S"},
        ]).to_string(),
    })
}

#[tokio::test]
async fn categories_and_brands() {
    let gw = gateway().await;
    let caller = authed(&gw).await;
    let top = caller.call("shop.getShopCategory", json!({"cid": 0})).await;
    let top = assert_ok(&top).as_array().unwrap().clone();
    assert!(top.len() >= 3 && top.iter().all(|c| c["level"] == 1 && c["is_leaf"] == false));
    let mut cid = top[0]["id"].as_i64().unwrap();
    for _ in 0..5 {
        let children = caller.call("shop.getShopCategory", json!({"cid": cid})).await;
        let children = assert_ok(&children).as_array().unwrap().clone();
        assert!(children.iter().all(|c| c["parent_id"] == cid));
        if children[0]["is_leaf"] == true {
            break;
        }
        cid = children[0]["id"].as_i64().unwrap();
    }
    assert_error(&caller.call("shop.getShopCategory", json!({})).await, 40001, "isv.parameter-missing");
    let brands = caller.call("shop.brandList", json!({})).await;
    assert!(assert_ok(&brands)
        .as_array()
        .unwrap()
        .iter()
        .all(|b| b["id"].is_i64() && b["brand_chinese_name"].is_string()));
}

#[tokio::test]
async fn product_lifecycle() {
    let gw = gateway().await;
    let caller = authed(&gw).await;
    let before = caller.call("product.listV2", json!({"page": 1, "size": 100})).await;
    let before_total = assert_ok(&before)["total"].as_i64().unwrap();

    let added = caller.call("product.addV2", add_params("夏季新款T恤")).await;
    let added = assert_ok(&added).clone();
    let product_id = added["product_id"].as_i64().unwrap();
    assert_eq!(added["sku"].as_array().unwrap().len(), 3);

    let list = caller.call("product.listV2", json!({"page": 1, "size": 100, "name": "夏季"})).await;
    let list = assert_ok(&list);
    assert_eq!(list["total"], 1);
    assert_eq!(list["data"][0]["product_id"], product_id);
    assert_eq!(list["data"][0]["category_detail"]["third_cid"], 20002);

    // product.detail takes the id as a string, sku.list as a number.
    let detail = caller.call("product.detail", json!({"product_id": product_id.to_string()})).await;
    let detail = assert_ok(&detail);
    assert_eq!(detail["name"], "夏季新款T恤");
    assert_eq!(detail["product_id_str"], product_id.to_string());
    assert_eq!(detail["pic"].as_array().unwrap().len(), 2);
    assert_eq!(detail["specs"].as_array().unwrap().len(), 2);
    let skus = caller.call("sku.list", json!({"product_id": product_id})).await;
    let skus = assert_ok(&skus).as_array().unwrap().clone();
    assert_eq!(skus.len(), 3);
    assert!(skus.iter().any(|s| s["spec_detail_name1"] == "蓝色" && s["price"] == 10900));

    let edit = json!({"product_id": product_id, "commit": true, "name": "夏季新款T恤（升级）",
                      "specs": "颜色|白色", "spec_prices": r#"[{"spec_detail_name1":"白色","price":8800,"stock_num":2}]"#});
    assert_ok(&caller.call("product.editV2", edit).await);
    let detail = caller.call("product.detail", json!({"product_id": product_id})).await;
    assert_eq!(assert_ok(&detail)["name"], "夏季新款T恤（升级）");
    let skus = caller.call("sku.list", json!({"product_id": product_id})).await;
    assert_eq!(assert_ok(&skus).as_array().unwrap().len(), 1);

    assert_ok(&caller.call("product.del", json!({"product_id": product_id})).await);
    let after = caller.call("product.listV2", json!({"page": 1, "size": 100})).await;
    assert_eq!(assert_ok(&after)["total"], before_total);
    let deleted = caller.call("product.listV2", json!({"page": 1, "size": 100, "status": 2})).await;
    assert_eq!(assert_ok(&deleted)["total"], 1);
    let again = caller.call("product.del", json!({"product_id": product_id})).await;
    assert_error(&again, 50002, "isv.business-failed:product-deleted");
    let edit_deleted = caller.call("product.editV2", json!({"product_id": product_id, "commit": true})).await;
    assert_error(&edit_deleted, 50002, "isv.business-failed:product-deleted");
    assert_eq!(gw.counters().products_added, 1);
}

#[tokio::test]
async fn product_paging_starts_at_one() {
    let gw = gateway().await;
    let caller = authed(&gw).await;
    for i in 0..7 {
        assert_ok(&caller.call("product.addV2", add_params(&format!("商品{i}"))).await);
    }
    let mut ids = std::collections::HashSet::new();
    for page in 1..=3 {
        let reply = caller.call("product.listV2", json!({"page": page, "size": 4})).await;
        let data = assert_ok(&reply);
        assert_eq!(data["total"], 12, "4 seeded on sale + 1 off the shelf + 7 new");
        for item in data["data"].as_array().unwrap() {
            assert!(ids.insert(item["product_id"].as_i64().unwrap()));
        }
    }
    assert_eq!(ids.len(), 12);
    let zero = caller.call("product.listV2", json!({"page": 0, "size": 4})).await;
    assert_error(&zero, 40003, "isv.parameter-invalid");
}

#[tokio::test]
async fn product_validation() {
    let gw = gateway().await;
    let caller = authed(&gw).await;
    let mut params = add_params("x");
    params.as_object_mut().unwrap().remove("spec_prices");
    assert_error(&caller.call("product.addV2", params).await, 40001, "isv.parameter-missing");
    let mut params = add_params("x");
    params["category_leaf_id"] = json!(20000);
    assert_error(&caller.call("product.addV2", params).await, 40003, "isv.parameter-invalid");
    let mut params = add_params("x");
    params["spec_prices"] = json!(r#"[{"spec_detail_name1":"绿色","spec_detail_name2":"S","price":1}]"#);
    assert_error(&caller.call("product.addV2", params).await, 40003, "isv.parameter-invalid");
    let mut params = add_params("x");
    params["spec_prices"] = json!("not json");
    assert_error(&caller.call("product.addV2", params).await, 40003, "isv.parameter-invalid");
    assert_error(&caller.call("product.detail", json!({"product_id": "1"})).await, 40003, "isv.parameter-invalid");
    assert_error(&caller.call("product.detail", json!({})).await, 40001, "isv.parameter-missing");
}

#[tokio::test]
async fn after_sales_list_and_operate() {
    let gw = gateway().await;
    let caller = authed(&gw).await;
    let reply = caller.call("afterSale.List", json!({"page": 0, "size": 3})).await;
    let data = assert_ok(&reply).clone();
    assert_eq!(data["total"], 8);
    assert_eq!(data["has_more"], true);
    assert_eq!(data["items"].as_array().unwrap().len(), 3);
    let item = &data["items"][0];
    assert!(item["aftersale_info"]["aftersale_id"].is_string());
    assert!(item["order_info"]["shop_order_id"].is_string());
    let last = caller.call("afterSale.List", json!({"page": 2, "size": 3})).await;
    assert_eq!(assert_ok(&last)["has_more"], false);

    let pending = caller.call("afterSale.List", json!({"page": 0, "size": 50, "aftersale_status": 6})).await;
    let pending = assert_ok(&pending)["items"].as_array().unwrap().clone();
    assert_eq!(pending.len(), 4);
    let refund_only = pending.iter().find(|i| i["aftersale_info"]["aftersale_type"] != 0).unwrap();
    let id = refund_only["aftersale_info"]["aftersale_id"].as_str().unwrap().to_owned();

    let reply =
        caller.call("afterSale.operate", json!({"type": 101, "items": [{"aftersale_id": id, "remark": "同意"}]})).await;
    let result = &assert_ok(&reply)["items"][0];
    assert_eq!(result["status_code"], 0);
    assert_eq!(result["aftersale_id"], id.parse::<i64>().unwrap());
    assert_eq!(gw.after_sale_status(id.parse().unwrap()), Some(12));

    // The same operation again is refused per item, not for the whole call.
    let reply = caller
        .call("afterSale.operate", json!({"type": 101, "items": [{"aftersale_id": id}, {"aftersale_id": "1"}]}))
        .await;
    let items = assert_ok(&reply)["items"].as_array().unwrap().clone();
    assert_eq!((items[0]["status_code"].as_i64(), items[1]["status_code"].as_i64()), (Some(2), Some(1)));
    assert_eq!(gw.counters().after_sale_operations[&id], 1);

    let bad = caller.call("afterSale.operate", json!({"type": 999, "items": [{"aftersale_id": id}]})).await;
    assert_error(&bad, 40003, "isv.parameter-invalid");
    let bad = caller.call("afterSale.operate", json!({"type": 101})).await;
    assert_error(&bad, 40001, "isv.parameter-missing");
}
