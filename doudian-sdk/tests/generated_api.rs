//! The generated API as users meet it: names, the METHODS table, canonical requests,
//! lossless IDs, redaction, paging and push messages. Needs the `order`, `product`, `sku` and `messages`
//! features (`cargo test -p doudian-sdk --features full`).
#![cfg(all(feature = "order", feature = "product", feature = "sku", feature = "messages"))]

use doudian_sdk::api::messages::Message;
use doudian_sdk::api::order::{self, OrderSearchListRequest, OrderSearchListResponse};
use doudian_sdk::api::product::{ProductDetailRequest, ProductListV2Request};
use doudian_sdk::api::sku::SkuListRequest;
use doudian_sdk::catalog::METHODS;
use doudian_sdk::ids::{OrderId, ShopId, SkuId};
use doudian_sdk::page::Paginated;
use doudian_sdk::Request;

#[test]
fn methods_table_lists_every_method_sorted() {
    assert_eq!(METHODS.len(), 807);
    assert!(METHODS.windows(2).all(|w| w[0].name < w[1].name), "sorted and unique");
    assert_eq!(METHODS.iter().filter(|m| m.typed).count(), 740);
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
    let untyped = doudian_sdk::catalog::find("max.activities").unwrap();
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
    let data = r#"{"total":3,"page":0,"size":20,"shop_order_list":[
        {"order_id":"6920000000000000001","shop_id":7301111111111111111,"post_tel":"13800000000","sku_order_list":[{"sku_id":"7301111111111111112"}]},
        {"order_id":6920000000000000002,"shop_id":"7301111111111111113","unknown_new_field":{"x":1}},
        {"order_id":"6920000000000000003A"}]}"#;
    let response: OrderSearchListResponse = doudian_sdk::de::from_str(data).unwrap();
    let orders = &response.shop_order_list;
    // A number and a string of digits are the same id; text with a letter stays text.
    assert_eq!(orders[0].order_id, Some(OrderId::from(6_920_000_000_000_000_001)));
    assert_eq!(orders[1].order_id, Some(OrderId::from("6920000000000000002")));
    assert_eq!(orders[2].order_id.as_ref().map(ToString::to_string).as_deref(), Some("6920000000000000003A"));
    assert_eq!(orders[0].shop_id, Some(ShopId::from(7_301_111_111_111_111_111)));
    assert_eq!(orders[1].shop_id, Some(ShopId::from(7_301_111_111_111_111_113)));
    assert_eq!(orders[0].sku_order_list[0].sku_id, Some(SkuId::from(7_301_111_111_111_111_112)));
    assert!(!format!("{:?}", orders[0]).contains("13800000000"));
    // Sent back, each field takes the form the platform gives it: `order_id` is a string
    // and `shop_id` a number in this reply's spec.
    let encoded = serde_json::to_value(&orders[1]).unwrap();
    assert_eq!(encoded["order_id"], "6920000000000000002");
    assert_eq!(encoded["shop_id"], 7_301_111_111_111_111_113_i64);
    let (items, total) = OrderSearchListRequest::into_items(response);
    assert_eq!((items.len(), total), (3, Some(3)));
}

#[test]
fn id_setters_take_numbers_and_text_and_keep_each_field_s_wire_form() {
    // `product.detail` takes `product_id` as a string, `sku.list` as a number.
    let detail = ProductDetailRequest::new().product_id(3_473_196_049_974_326_153);
    assert_eq!(serde_json::to_string(&detail).unwrap(), r#"{"product_id":"3473196049974326153"}"#);
    let skus = SkuListRequest::new().product_id("3473196049974326153");
    assert_eq!(serde_json::to_string(&skus).unwrap(), r#"{"product_id":3473196049974326153}"#);
    // A textual id in a numeric field is refused before anything is sent.
    let wrong = SkuListRequest::new().product_id("abc");
    let error = doudian_sdk::sign::to_canonical_json(&wrong).unwrap_err();
    assert!(error.to_string().contains("ProductId `abc` is not a number"), "{error}");
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
    let _: fn(OrderSearchListResponse) -> (Vec<order::Order>, Option<i64>) = OrderSearchListRequest::into_items;
}

#[test]
fn push_messages_decode_by_tag() {
    assert_eq!(Message::TAGS.len(), 39);
    let message = Message::decode(100, r#"{"p_id":"6920000000000000001","s_ids":[6920000000000000002],"shop_id":1}"#)
        .unwrap()
        .unwrap();
    assert_eq!(message.tag(), Some(100));
    let Message::TradeCreate(created) = message else { panic!("wrong variant") };
    assert_eq!(created.p_id, Some(OrderId::from(6_920_000_000_000_000_001)));
    assert_eq!(created.s_ids, [6_920_000_000_000_000_002]);
    assert_eq!(created.shop_id, Some(ShopId::from(1)));
    assert!(Message::decode(0, "{}").is_none());
    let address =
        Message::decode(105, r#"{"addr_struct":{"province":{"id":"1","name":"x"},"detail":"secret street"}}"#)
            .unwrap()
            .unwrap();
    assert!(!format!("{address:?}").contains("secret street"));
}

/// Catalog v3's shapes: methods whose documentation lists a single `data` field decode the
/// value itself and the value wrapped in `{"data": …}`; conflicts are settled by the
/// wider type; untyped map keys are text; other spellings find their method.
#[cfg(all(feature = "yunc", feature = "supply_chain", feature = "buyin", feature = "cross_border"))]
mod catalog_v3 {
    use doudian_sdk::api::buyin::{BuyinInstGmvResponse, BuyinMaterialsProductStatusResponse};
    use doudian_sdk::api::supply_chain::SupplyChainSkuStockNumResponse;
    use doudian_sdk::api::yunc::YuncAdjustInventoryResponse;
    use doudian_sdk::de::from_str;

    #[test]
    fn single_data_methods_decode_both_reply_shapes() {
        // A scalar.
        for text in [r#""done""#, r#"{"data":"done"}"#] {
            let reply: YuncAdjustInventoryResponse = from_str(text).unwrap();
            assert_eq!(reply.0.as_deref(), Some("done"), "{text}");
        }
        // A list.
        for text in [r#"[{"sku_id":"7"}]"#, r#"{"data":[{"sku_id":"7"}]}"#] {
            let reply: SupplyChainSkuStockNumResponse = from_str(text).unwrap();
            assert_eq!(reply.0.len(), 1, "{text}");
        }
        // An object.
        for text in [r#"{"gmv":12}"#, r#"{"data":{"gmv":"12"}}"#] {
            let reply: BuyinInstGmvResponse = from_str(text).unwrap();
            assert_eq!(reply.gmv, Some(12), "{text}");
        }
        // The copies disagree on the shape (`data_shape` conflict): both decode.
        for text in [r#"[{"status":1,"can_share":true}]"#, r#"{"data":[{"status":1,"can_share":true}]}"#] {
            let reply: BuyinMaterialsProductStatusResponse = from_str(text).unwrap();
            assert_eq!((reply.0[0].status, reply.0[0].can_share), (Some(1), Some(true)), "{text}");
        }
        // Never a silent empty value.
        assert!(from_str::<SupplyChainSkuStockNumResponse>(r#"{"items":[]}"#).is_err());
        assert!(from_str::<YuncAdjustInventoryResponse>(r#"{"value":"done"}"#).is_err());
    }

    #[test]
    fn conflicts_take_the_wider_type_and_map_keys_are_text() {
        // `buyin.activitySearch` lists `service_rate` twice (i32 and f64): one f64 field.
        let activity: doudian_sdk::api::buyin::activity_search::Activity =
            from_str(r#"{"service_rate":0.25}"#).unwrap();
        assert_eq!(activity.service_rate, Some(0.25));
        // `order.policy`: i64 in the SDKs, string in the documentation: text, which takes both.
        let policy: doudian_sdk::api::order::policy::PolicyPolicyInfo =
            from_str(r#"{"ins_ensured_time_begin":1700000000,"ins_ensured_time_end":"2023-11-15"}"#).unwrap();
        assert_eq!(policy.ins_ensured_time_begin.as_deref(), Some("1700000000"));
        assert_eq!(policy.ins_ensured_time_end.as_deref(), Some("2023-11-15"));
        // `sku.detail`'s `map<any,any>` maps: text keys, any values.
        let sku: doudian_sdk::api::sku::SkuDetailResponse = from_str(r#"{"stock_map":{"1":{"x":1},"w2":5}}"#).unwrap();
        assert_eq!(sku.stock_map.len(), 2);
    }

    #[test]
    fn other_spellings_find_the_documented_method() {
        for (alias, name) in [
            ("crossBorder.stockTaking", "crossborder.stockTaking"),
            ("crossBorder.OrderInterception", "crossborder.OrderInterception"),
            ("afterSale.Operate", "afterSale.operate"),
        ] {
            let method = doudian_sdk::catalog::find(alias).unwrap_or_else(|| panic!("{alias}"));
            assert_eq!(method.name, name);
            assert!(method.known_as.contains(&alias));
        }
        // The documentation's cross-border paths live in the `cross_border` module beside the others.
        let taking = doudian_sdk::catalog::find("crossborder.stockTaking").unwrap();
        assert_eq!(taking.request_type, "api::cross_border::CrossborderStockTakingRequest");
        let names = doudian_sdk::catalog::names();
        assert_eq!(names.iter().filter(|(_, alias_of)| alias_of.is_none()).count(), 807);
        assert_eq!(names.iter().filter(|(_, alias_of)| alias_of.is_some()).count(), 5);
    }
}

#[test]
fn request_filters_take_the_code_sets_their_replies_give() {
    use doudian_sdk::codes::{MainStatus, OrderStatus, OrderType, ProductCheckStatus};
    let filter = order::search_list::CombineStatus::new().order_status(OrderStatus::AWAITING_SHIPMENT);
    let request = OrderSearchListRequest::new(0, 20).combine_status(vec![filter]);
    let json = serde_json::to_value(&request).unwrap();
    assert_eq!(json["combine_status"][0], serde_json::json!({"order_status": "2"}));
    // Several codes at once, and the raw number still works.
    let several = order::search_list::CombineStatus::new()
        .order_status([OrderStatus::AWAITING_SHIPMENT, OrderStatus::PARTLY_SHIPPED])
        .main_status(MainStatus::PAID);
    assert_eq!(
        serde_json::to_value(&several).unwrap(),
        serde_json::json!({"main_status": "105", "order_status": "2,101"})
    );
    let raw: OrderStatus = 2.into();
    assert_eq!(raw, OrderStatus::AWAITING_SHIPMENT);
    // The new sets type the replies that carry them.
    let reply: OrderSearchListResponse =
        serde_json::from_str(r#"{"shop_order_list": [{"order_type": 2, "order_status": 3}], "total": 1}"#).unwrap();
    assert_eq!(reply.shop_order_list[0].order_type, Some(OrderType::VIRTUAL));
    assert_eq!(ProductCheckStatus::from(4).label(), Some("审核驳回"));
}

/// One function over an order, whichever call returned it.
fn order_line(order: &order::Order) -> String {
    let skus: Vec<String> =
        order.sku_order_list.iter().map(|sku| sku.product_name.clone().unwrap_or_default()).collect();
    let province = order.post_addr.as_ref().and_then(|a| a.province.as_ref()).and_then(|p| p.name.clone());
    format!(
        "{} to {} [{}]",
        order.order_id.clone().map(|id| id.to_string()).unwrap_or_default(),
        province.unwrap_or_default(),
        skus.join(", ")
    )
}

#[test]
fn one_order_type_for_the_list_and_the_detail_and_one_address_across_groups() {
    let order_json = r#"{"order_id": "6920000000000000001", "post_addr": {"province": {"id": "11", "name": "北京"}},
        "sku_order_list": [{"product_name": "杯子", "post_addr": {"city": {"name": "北京市"}}}]}"#;
    let listed: OrderSearchListResponse =
        serde_json::from_str(&format!(r#"{{"shop_order_list": [{order_json}], "total": 1}}"#)).unwrap();
    let read: order::OrderOrderDetailResponse =
        serde_json::from_str(&format!(r#"{{"shop_order_detail": {order_json}}}"#)).unwrap();
    let from_list: &order::Order = &listed.shop_order_list[0];
    let from_detail: &order::Order = read.shop_order_detail.as_ref().unwrap();
    assert_eq!(order_line(from_list), "6920000000000000001 to 北京 [杯子]");
    assert_eq!(from_list, from_detail);
    let sku: &order::SkuOrder = &from_detail.sku_order_list[0];
    // The same Address type in the order group, the after-sale group and the pushes.
    let address: &doudian_sdk::api::model::Address = sku.post_addr.as_ref().unwrap();
    let _: Option<&doudian_sdk::api::after_sale::Address> = Some(address);
    let push: doudian_sdk::api::messages::trade_address_changed::TradeAddressChanged =
        serde_json::from_str(r#"{"addr_struct": {"city": {"name": "北京市"}}}"#).unwrap();
    assert_eq!(push.addr_struct.as_ref(), Some(address));
    let after_sale: doudian_sdk::api::after_sale::AfterSaleDetailResponse = serde_json::from_str(
        r#"{"process_info": {"after_sale_info": {"return_address": {"city": {"name": "北京市"}}}}}"#,
    )
    .unwrap();
    let info = after_sale.process_info.as_ref().and_then(|p| p.after_sale_info.as_ref()).unwrap();
    assert_eq!(info.return_address.as_ref(), Some(address));
    // The old names still compile, deprecated, for one release.
    #[allow(deprecated)]
    let _: Option<order::search_list::ShopOrder> = Some(from_list.clone());
}
