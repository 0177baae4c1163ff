//! The generated API as users meet it: names, the METHODS table, canonical requests,
//! lossless IDs, redaction, paging and push messages. Needs the `order` and `product`
//! features (`cargo test -p doudian-sdk --features full`).
#![cfg(all(feature = "order", feature = "product"))]

use doudian_sdk::api::messages::Message;
use doudian_sdk::api::order::{self, OrderSearchListRequest, OrderSearchListResponse};
use doudian_sdk::api::product::ProductListV2Request;
use doudian_sdk::catalog::METHODS;
use doudian_sdk::page::Paginated;
use doudian_sdk::Request;

#[test]
fn methods_table_lists_every_method_sorted() {
    assert_eq!(METHODS.len(), 534);
    assert!(METHODS.windows(2).all(|w| w[0].name < w[1].name), "sorted and unique");
    assert_eq!(METHODS.iter().filter(|m| m.typed).count(), 353);
    let search = doudian_sdk::catalog::find("order.searchList").unwrap();
    assert_eq!(search.request_type, "api::order::OrderSearchListRequest");
    assert_eq!(search.feature, "order");
    assert!(search.read_only);
    let paging = search.paging.unwrap();
    assert_eq!((paging.page_param, paging.size_param, paging.page_base), ("page", "size", 0));
    assert_eq!((paging.items_path, paging.total_path, paging.max_size), ("shop_order_list", Some("total"), Some(100)));
    let after_sale = doudian_sdk::catalog::find("afterSale.Detail").unwrap();
    assert_eq!(
        (after_sale.feature, after_sale.request_type),
        ("after_sale", "api::after_sale::AfterSaleDetailRequest")
    );
    let untyped = doudian_sdk::catalog::find("alliance.getOrderList").unwrap();
    assert!(!untyped.typed);
}

#[test]
fn requests_serialise_canonically() {
    let request =
        OrderSearchListRequest::new(0, 20).order_by("create_time").order_asc(false).product("3473196049974326153");
    assert_eq!(
        serde_json::to_string(&request).unwrap(),
        r#"{"order_asc":false,"order_by":"create_time","page":0,"product":"3473196049974326153","size":20}"#
    );
    assert_eq!(OrderSearchListRequest::METHOD, "order.searchList");
}

#[test]
fn ids_are_lossless_as_numbers_and_strings() {
    let data = r#"{"total":2,"page":0,"size":20,"shop_order_list":[
        {"order_id":"6920000000000000001","shop_id":7301111111111111111,"post_tel":"13800000000","sku_order_list":[{"sku_id":"7301111111111111112"}]},
        {"order_id":6920000000000000002,"shop_id":"7301111111111111113","unknown_new_field":{"x":1}}]}"#;
    let response: OrderSearchListResponse = doudian_sdk::de::from_str(data).unwrap();
    let orders = &response.shop_order_list;
    assert_eq!(orders[0].order_id.as_deref(), Some("6920000000000000001"));
    assert_eq!(orders[1].order_id.as_deref(), Some("6920000000000000002"));
    assert_eq!(orders[0].shop_id, Some(7_301_111_111_111_111_111));
    assert_eq!(orders[1].shop_id, Some(7_301_111_111_111_111_113));
    assert!(!format!("{:?}", orders[0]).contains("13800000000"));
    let (items, total) = OrderSearchListRequest::into_items(response);
    assert_eq!((items.len(), total), (2, Some(2)));
}

#[test]
fn a_wrong_type_names_its_path() {
    let failure = doudian_sdk::de::from_str::<OrderSearchListResponse>(
        r#"{"shop_order_list":[{},{},{},{"shop_id":{"oops":1}}]}"#,
    )
    .unwrap_err();
    assert_eq!(failure.path, "shop_order_list[3].shop_id");
}

#[test]
fn page_bases_differ_per_method() {
    assert_eq!(<OrderSearchListRequest as Paginated>::PAGE_BASE, 0);
    assert_eq!(<ProductListV2Request as Paginated>::PAGE_BASE, 1);
    let _: fn(OrderSearchListResponse) -> (Vec<order::search_list::ShopOrder>, Option<i64>) =
        OrderSearchListRequest::into_items;
}

#[test]
fn push_messages_decode_by_tag() {
    assert_eq!(Message::TAGS.len(), 39);
    let message = Message::decode(100, r#"{"p_id":"6920000000000000001","s_ids":[6920000000000000002],"shop_id":1}"#)
        .unwrap()
        .unwrap();
    assert_eq!(message.tag(), 100);
    let Message::TradeCreate(created) = message else { panic!("wrong variant") };
    assert_eq!(created.p_id, Some(6_920_000_000_000_000_001));
    assert!(Message::decode(0, "{}").is_none());
    let address =
        Message::decode(105, r#"{"addr_struct":{"province":{"id":"1","name":"x"},"detail":"secret street"}}"#)
            .unwrap()
            .unwrap();
    assert!(!format!("{address:?}").contains("secret street"));
}

/// Decoding speed of a 100-order `order.searchList` reply (run with `--release -- --ignored`).
#[test]
#[ignore = "a measurement; run in release"]
fn decode_throughput() {
    let sample: serde_json::Value =
        serde_json::from_str(include_str!("../../doudian-gateway/data/samples.json")).unwrap();
    let mut data = sample["order.searchList"]["response"].clone();
    let order = data["shop_order_list"][0].clone();
    data["shop_order_list"] = serde_json::Value::Array(vec![order; 100]);
    let text = data.to_string();
    let rounds = 300;
    let started = std::time::Instant::now();
    for _ in 0..rounds {
        let decoded: OrderSearchListResponse = doudian_sdk::de::from_str(&text).unwrap();
        std::hint::black_box(decoded);
    }
    let typed = started.elapsed();
    let started = std::time::Instant::now();
    for _ in 0..rounds {
        let decoded: serde_json::Value = serde_json::from_str(&text).unwrap();
        std::hint::black_box(decoded);
    }
    let value = started.elapsed();
    let mb = (text.len() * rounds) as f64 / 1e6;
    println!(
        "{} bytes per reply: typed {:.0} MB/s, serde_json::Value {:.0} MB/s",
        text.len(),
        mb / typed.as_secs_f64(),
        mb / value.as_secs_f64()
    );
}
