//! Every flow of the quickstart, through the SDK's typed API against the bundled gateway
//! over loopback HTTP; the gateway's state and counters prove each write took effect once.

use std::collections::BTreeSet;

use doudian_gateway::{logistics_companies, OrderStatus, TradeEvent};
use doudian_sdk::api::after_sale::{operate, AfterSaleListRequest, AfterSaleOperateRequest};
use doudian_sdk::api::order::{
    OrderAddOrderRemarkRequest, OrderLogisticsAddRequest, OrderLogisticsCompanyListRequest, OrderLogisticsEditRequest,
    OrderOrderDetailRequest, OrderSearchListRequest,
};
use doudian_sdk::api::product::{
    ProductAddV2Request, ProductAddV2Required, ProductDelRequest, ProductDetailRequest, ProductEditV2Request,
    ProductListV2Request,
};
use doudian_sdk::api::shop::{ShopBrandListRequest, ShopGetShopCategoryRequest};
use doudian_sdk::api::sku::SkuListRequest;
use doudian_sdk::client::Authorized;
use doudian_sdk::codes::{self, AfterSaleStatus, AfterSaleType};
use doudian_sdk::ids::{AfterSaleId, ProductId};
use doudian_sdk::push::{Message, PushEvent};
use doudian_sdk::{Client, Error};
use e2e_tests::*;

#[tokio::test]
async fn self_use_token_is_created_once_for_the_shop() {
    let gw = gateway().await;
    let client = client(&gw);
    let token = client.token().await.unwrap();
    assert_eq!(token.shop_id, gw.shop_id().to_string());
    assert_eq!(token.shop_name, "抖店示例店铺");
    let now = now_secs();
    // The platform's 7 days, give or take the seconds of this test.
    assert!((7 * 86400 - 5..=7 * 86400 + 5).contains(&(token.expires_at - now)), "{}", token.expires_at - now);
    assert_eq!(format!("{:?}", token.access_token), "<redacted>");
    // A second look and a call reuse it.
    assert_eq!(client.token().await.unwrap().access_token, token.access_token);
    client.execute(&ShopBrandListRequest::new()).await.unwrap();
    assert_eq!(gw.calls("token.create"), 1);
    assert_eq!(gw.counters().tokens_created, 1);
    assert_eq!(gw.calls("token.refresh"), 0);
}

#[tokio::test]
async fn tool_app_exchanges_a_code_for_the_shops_token() {
    let gw = gateway().await;
    // A tool app has no shop of its own: the client is built without shop_id.
    let app = Client::builder(gw.app_key(), gw.app_secret())
        .base_url(gw.base_url())
        .env_proxy(false)
        .retry(fast_retry(3))
        .build()
        .unwrap();
    let err = app.execute(&ShopBrandListRequest::new()).await.unwrap_err();
    assert!(matches!(err, Error::Config(_)), "no shop yet: {err:?}");

    let code = gw.mint_auth_code(gw.shop_id());
    let Authorized { shop, token, .. } = app.authorize_code(&code).await.unwrap();
    assert_eq!(token.shop_id, gw.shop_id().to_string());
    assert_eq!(shop.shop(), Some(gw.shop_id().to_string().as_str()));
    let brands = shop.execute(&ShopBrandListRequest::new()).await.unwrap();
    assert_eq!(brands.0.len(), 4);

    // A second shop through the same client: its own token, its own code.
    let other_code = gw.mint_auth_code(5_000_001);
    let Authorized { shop: other, token: other_token, .. } = app.authorize_code(&other_code).await.unwrap();
    assert_eq!(other_token.shop_id, "5000001");
    assert_ne!(other_token.access_token, token.access_token);
    other.execute(&ShopBrandListRequest::new()).await.unwrap();
    // for_shop reaches the stored token of an authorised shop.
    assert_eq!(app.for_shop("5000001").token().await.unwrap().access_token, other_token.access_token);
    assert_eq!(shop.token().await.unwrap().access_token, token.access_token);
    assert_eq!(gw.counters().tokens_created, 2);

    // A shop that never authorised the app: a configuration error naming the way out, no call.
    let requests = gw.counters().requests;
    let err = app.for_shop("7777777").execute(&ShopBrandListRequest::new()).await.unwrap_err();
    assert!(matches!(err, Error::Config(ref m) if m.contains("authorize_code")), "{err:?}");
    assert_eq!(gw.counters().requests, requests);

    // An expired code (10 minutes on the platform).
    let stale = gw.mint_auth_code(gw.shop_id());
    gw.advance_clock(std::time::Duration::from_secs(601));
    let err = app.authorize_code(&stale).await.unwrap_err();
    assert_eq!(err.api().map(|a| a.sub_code.as_str()), Some("dop.token-generate-failed:code-expired"), "{err:?}");

    // A code is single-use.
    let reused = app.authorize_code(&code).await.unwrap_err();
    let api = reused.api().unwrap_or_else(|| panic!("an API error, got {reused:?}"));
    assert_eq!(api.code, 50001, "{api}");
    assert!(api.sub_code.starts_with("dop.token-generate-failed"), "{api}");
    assert!(!api.log_id.is_empty());
    assert_eq!(gw.counters().tokens_created, 2);
}

#[tokio::test]
async fn shop_brands_and_category_tree() {
    let gw = gateway().await;
    let client = client(&gw);
    let brands = client.execute(&ShopBrandListRequest::new()).await.unwrap();
    assert_eq!(brands.0.len(), 4);
    assert!(brands.0.iter().all(|b| b.id.is_some() && b.brand_chinese_name.is_some()));
    assert!(!brands.log_id().is_empty());

    // Walk the 3-level tree down to a leaf.
    let mut parent = 0;
    let mut depth = 0;
    let leaf = loop {
        depth += 1;
        let level = client.execute(&ShopGetShopCategoryRequest::new(parent)).await.unwrap();
        let first = level.0.first().unwrap_or_else(|| panic!("category {parent} has children"));
        let id = first.id.unwrap();
        if first.is_leaf == Some(true) {
            break id;
        }
        assert!(depth < 3, "the tree has 3 levels");
        parent = id;
    };
    assert_eq!(depth, 3);
    assert_ne!(leaf, 0);
    // A leaf has no children.
    assert!(client.execute(&ShopGetShopCategoryRequest::new(leaf)).await.unwrap().0.is_empty());
}

#[tokio::test]
async fn products_list_detail_add_edit_delete_and_skus() {
    let gw = gateway().await;
    let client = client(&gw);

    // Listing pages from 1.
    // Pages one by one; `first_page` knows that product.listV2 counts from 1.
    let mut pager = client.pages(ProductListV2Request::first_page(2));
    let mut pages = Vec::new();
    while let Some(page) = pager.next().await {
        pages.push(page.unwrap());
    }
    assert_eq!(pages.iter().map(|p| p.page).collect::<Vec<_>>(), vec![1, 2, 3]);
    let listed: BTreeSet<i64> = pages
        .iter()
        .flat_map(|p| &p.items)
        .map(|p| p.product_id.as_ref().and_then(ProductId::as_i64).unwrap())
        .collect();
    let held: BTreeSet<i64> = gw.products().iter().map(|p| p.product_id).collect();
    assert_eq!((listed.len(), &listed), (SEEDED_PRODUCTS, &held));
    assert_eq!(pages[0].total, Some(SEEDED_PRODUCTS as i64));

    let first = *listed.iter().next().unwrap();
    let detail = client.execute(&ProductDetailRequest::new().product_id(first)).await.unwrap();
    let expected = gw.products().into_iter().find(|p| p.product_id == first).unwrap();
    assert_eq!(detail.name.as_deref(), Some(expected.name.as_str()));
    assert_eq!(detail.product_id, Some(first.into()));

    // A leaf category to add into.
    let mut cid = 0;
    loop {
        let level = client.execute(&ShopGetShopCategoryRequest::new(cid)).await.unwrap();
        cid = level.0[0].id.unwrap();
        if level.0[0].is_leaf == Some(true) {
            break;
        }
    }
    let spec_prices = serde_json::json!([
        {"spec_detail_name1": "红色", "price": 1990, "stock_num": 50, "code": "E2E-RED", "outer_sku_id": "e2e-red"},
        {"spec_detail_name1": "黑色", "price": 2990, "stock_num": 30, "code": "E2E-BLK", "outer_sku_id": "e2e-blk"},
    ])
    .to_string();
    let add = ProductAddV2Request::new(ProductAddV2Required {
        category_leaf_id: cid,
        commit: true,
        description: "e2e product".into(),
        freight_id: 0,
        mobile: "13800000000".into(),
        name: "E2E T-shirt".into(),
        pic: "https://img.example.com/e2e-1.jpg".into(),
        product_type: 0,
        reduce_type: 1,
    })
    .spec_prices(spec_prices)
    .specs("颜色|红色,黑色");
    let added = client.execute(&add).await.unwrap();
    let product_id = added.product_id.clone().expect("product.addV2 returns the id");
    assert_eq!(added.sku.len(), 2);
    assert_eq!(gw.counters().products_added, 1);
    assert_eq!(gw.products().len(), SEEDED_PRODUCTS + 1);

    let skus = client.execute(&SkuListRequest::new().product_id(&product_id)).await.unwrap();
    let mut codes: Vec<_> = skus.0.iter().map(|s| (s.code.clone().unwrap(), s.price.unwrap())).collect();
    codes.sort();
    assert_eq!(codes, vec![("E2E-BLK".to_owned(), 2990), ("E2E-RED".to_owned(), 1990)]);
    assert!(skus.0.iter().all(|s| s.product_id.as_ref() == Some(&product_id) && s.id.is_some()));

    client.execute(&ProductEditV2Request::new(true, &product_id).name("E2E T-shirt (renamed)")).await.unwrap();
    let renamed = client.execute(&ProductDetailRequest::new().product_id(&product_id)).await.unwrap();
    assert_eq!(renamed.name.as_deref(), Some("E2E T-shirt (renamed)"));
    let held = gw.products().into_iter().find(|p| p.product_id == product_id).unwrap();
    assert_eq!((held.name.as_str(), held.sku_count), ("E2E T-shirt (renamed)", 2));

    client.execute(&ProductDelRequest::new().product_id(&product_id)).await.unwrap();
    let deleted = gw.products().into_iter().find(|p| p.product_id == product_id).unwrap();
    assert_eq!(deleted.status, 2, "deleted");
    // A deleted product cannot be edited: a business error with the platform's codes.
    let err = client.execute(&ProductEditV2Request::new(true, product_id).name("again")).await.unwrap_err();
    let api = err.api().unwrap_or_else(|| panic!("{err:?}"));
    assert_eq!((api.code, api.sub_code.as_str()), (50002, "isv.business-failed:product-deleted"), "{api}");
}

#[tokio::test]
async fn order_search_reads_every_page_once() {
    let gw = gateway().await;
    let client = client(&gw);
    let expected = all_order_ids(&gw);
    assert_eq!(expected.len(), SEEDED_ORDERS);

    // 45 orders, 7 a page: pages 0..=6, the last one holding 3.
    let pages: Vec<_> = client.pages(OrderSearchListRequest::first_page(7)).try_collect().await.unwrap();
    assert_eq!(pages.iter().map(|p| p.page).collect::<Vec<_>>(), (0..7).collect::<Vec<_>>());
    assert_eq!(pages.iter().map(|p| p.items.len()).collect::<Vec<_>>(), vec![7, 7, 7, 7, 7, 7, 3]);
    assert!(pages.iter().all(|p| p.total == Some(SEEDED_ORDERS as i64)));
    assert!(pages[..6].iter().all(|p| p.has_more) && !pages[6].has_more);
    let ids: Vec<String> =
        pages.iter().flat_map(|p| &p.items).map(|o| o.order_id.as_ref().unwrap().to_string()).collect();
    let unique: BTreeSet<String> = ids.iter().cloned().collect();
    assert_eq!(ids.len(), unique.len(), "an order repeats across pages");
    assert_eq!(unique, expected);
    assert_eq!(gw.calls("order.searchList"), 7);

    // The item stream: the same orders in the same order.
    let items: Vec<_> = client.items(OrderSearchListRequest::new(0, 10)).try_collect().await.unwrap();
    let streamed: Vec<String> = items.iter().map(|o| o.order_id.as_ref().unwrap().to_string()).collect();
    assert_eq!(streamed, ids);
    assert_eq!(gw.calls("order.searchList"), 7 + 5);

    // Statuses agree with the gateway's view.
    let awaiting: BTreeSet<String> = items
        .iter()
        .filter(|o| o.order_status == Some(codes::OrderStatus::AWAITING_SHIPMENT))
        .map(|o| o.order_id.as_ref().unwrap().to_string())
        .collect();
    assert_eq!(awaiting, gw.order_ids(OrderStatus::AwaitingShipment).into_iter().collect());

    // A page size above the method's limit is refused before any call.
    let before = gw.calls("order.searchList");
    let err = client.page(&OrderSearchListRequest::new(0, 101)).await.unwrap_err();
    assert!(matches!(err, Error::InvalidRequest(_)), "{err:?}");
    assert_eq!(gw.calls("order.searchList"), before);
}

#[tokio::test]
async fn order_detail_and_remark() {
    let gw = gateway().await;
    let client = client(&gw);
    let order_id = order_awaiting_shipment(&gw);
    let detail = client.execute(&OrderOrderDetailRequest::new(&order_id)).await.unwrap();
    let order = detail.shop_order_detail.as_ref().expect("shop_order_detail");
    assert_eq!(order.order_id, Some(order_id.as_str().into()));
    assert_eq!(order.order_status, Some(codes::OrderStatus::AWAITING_SHIPMENT));
    assert_eq!(order.shop_id, Some(gw.shop_id().into()));

    client.execute(&OrderAddOrderRemarkRequest::new(&order_id, "e2e: 小心轻放 / fragile")).await.unwrap();
    assert_eq!(gw.order(&order_id).unwrap().seller_words, "e2e: 小心轻放 / fragile");
    assert_eq!(gw.counters().remarks.get(&order_id), Some(&1));
    let detail = client.execute(&OrderOrderDetailRequest::new(&order_id)).await.unwrap();
    assert_eq!(detail.shop_order_detail.as_ref().unwrap().seller_words.as_deref(), Some("e2e: 小心轻放 / fragile"));

    // An unknown order: the platform's parameter error, with a log id.
    let err = client.execute(&OrderOrderDetailRequest::new("1")).await.unwrap_err();
    let api = err.api().unwrap_or_else(|| panic!("{err:?}"));
    assert_eq!((api.code, api.sub_code.as_str()), (40003, "isv.parameter-invalid"), "{api}");
    assert!(err.log_id().is_some());
}

#[tokio::test]
async fn ship_an_order_then_correct_the_tracking_number() {
    let gw = gateway().await;
    let client = client(&gw);
    let companies = client.execute(&OrderLogisticsCompanyListRequest::new()).await.unwrap();
    let codes: Vec<_> = companies.0.iter().map(|c| c.code.clone().unwrap()).collect();
    let known: Vec<_> = logistics_companies().iter().map(|c| c.code.to_owned()).collect();
    assert_eq!(codes, known);
    assert_eq!(codes.len(), 7);

    let order_id = order_awaiting_shipment(&gw);
    let company = codes[0].clone();
    client
        .execute(&OrderLogisticsAddRequest::new(&order_id).company_code(&company).logistics_code("E2E0000001"))
        .await
        .unwrap();
    let shipped = gw.order(&order_id).unwrap();
    assert_eq!(shipped.status, OrderStatus::Shipped);
    assert_eq!(shipped.tracking_no.as_deref(), Some("E2E0000001"));
    assert_eq!(shipped.company_code.as_deref(), Some(company.as_str()));
    assert_eq!((gw.ship_calls(&order_id), gw.shipments(&order_id)), (1, 1));

    client
        .execute(&OrderLogisticsEditRequest::new(&order_id).company_code(&codes[1]).logistics_code("E2E0000002"))
        .await
        .unwrap();
    let corrected = gw.order(&order_id).unwrap();
    assert_eq!(corrected.tracking_no.as_deref(), Some("E2E0000002"));
    assert_eq!(corrected.company_code.as_deref(), Some(codes[1].as_str()));
    assert_eq!(corrected.status, OrderStatus::Shipped);
    assert_eq!(gw.counters().logistics_edits.get(&order_id), Some(&1));
    assert_eq!(gw.shipments(&order_id), 1, "an edit is not a second shipment");

    // Shipping it again is a business error; nothing is shipped twice.
    let err = client
        .execute(&OrderLogisticsAddRequest::new(&order_id).company_code(&company).logistics_code("E2E0000003"))
        .await
        .unwrap_err();
    let api = err.api().unwrap_or_else(|| panic!("{err:?}"));
    assert_eq!(api.sub_code, "isv.business-failed:order-already-shipped", "{api}");
    assert!(!err.is_retryable());
    assert_eq!((gw.ship_calls(&order_id), gw.shipments(&order_id)), (2, 1));
    assert_eq!(gw.order(&order_id).unwrap().tracking_no.as_deref(), Some("E2E0000002"));
}

#[tokio::test]
async fn after_sales_list_and_operate() {
    let gw = gateway().await;
    let client = client(&gw);
    let items: Vec<_> = client.items(AfterSaleListRequest::new(0, 3)).try_collect().await.unwrap();
    assert_eq!(items.len(), SEEDED_AFTER_SALES);
    let ids: BTreeSet<i64> = items
        .iter()
        .map(|i| i.aftersale_info.as_ref().unwrap().aftersale_id.as_ref().and_then(AfterSaleId::as_i64).unwrap())
        .collect();
    assert_eq!(ids, gw.after_sale_ids().into_iter().collect());
    assert_eq!(gw.calls("afterSale.List"), 3);

    // Agree to a refund-only request awaiting the seller (status 6 -> 12).
    let pending = items
        .iter()
        .filter_map(|i| i.aftersale_info.as_ref())
        .find(|info| {
            info.aftersale_status == Some(AfterSaleStatus::AWAITING_SELLER)
                && matches!(
                    info.aftersale_type,
                    Some(AfterSaleType::REFUND_AFTER_SHIPMENT | AfterSaleType::REFUND_BEFORE_SHIPMENT)
                )
        })
        .expect("a pending refund-only request");
    let id = pending.aftersale_id.clone().unwrap();
    let reply = client
        .execute(&AfterSaleOperateRequest::new(vec![operate::OperateItem::new(&id).remark("e2e: agreed")], 101))
        .await
        .unwrap();
    assert_eq!(reply.items.len(), 1);
    assert_eq!(reply.items[0].status_code, Some(0), "{:?}", reply.items[0]);
    let numeric = id.as_i64().expect("a numeric after-sale id");
    assert_eq!(gw.after_sale_status(numeric), Some(12));
    assert_eq!(gw.counters().after_sale_operations.get(&id.to_string()), Some(&1));

    // The same operation again is refused per item, and nothing changes.
    let again = client.execute(&AfterSaleOperateRequest::new(vec![operate::OperateItem::new(&id)], 101)).await.unwrap();
    assert_eq!(again.items[0].status_code, Some(2), "{:?}", again.items[0]);
    assert_eq!(gw.counters().after_sale_operations.get(&id.to_string()), Some(&1));
    let listed = client.execute(&AfterSaleListRequest::new(0, 10).aftersale_id(&id)).await.unwrap();
    assert_eq!(listed.items.len(), 1);
    assert_eq!(listed.items[0].aftersale_info.as_ref().unwrap().aftersale_status, Some(AfterSaleStatus::SUCCEEDED));
}

#[tokio::test]
async fn push_from_the_gateway_is_verified_parsed_and_acknowledged() {
    let gw = gateway().await;
    let mut webhook = Webhook::for_gateway(&gw).await;
    let order_id = gw.order_ids(OrderStatus::Shipped)[0].clone();
    let record = gw.trade_event(TradeEvent::SellerShipped, &order_id).unwrap();
    let msg_id = record.msg_id.clone();
    let delivery = gw.send_push(&webhook.url, &[record]).await.unwrap();
    assert_eq!((delivery.status, delivery.body.as_str()), (200, doudian_sdk::push::SUCCESS_REPLY));
    let received = webhook.next().await;
    let events = received.outcome.unwrap();
    assert_eq!(events.len(), 1);
    match &events[0] {
        PushEvent::Message { tag, msg_id: id, message } => {
            assert_eq!((*tag, id), (102, &msg_id));
            let Message::TradeSellerShip(ship) = message.as_ref() else { panic!("tag 102 decodes as TradeSellerShip") };
            assert_eq!(ship.p_id, Some(order_id.as_str().into()));
            assert_eq!(ship.order_status, Some(codes::OrderStatus::SHIPPED));
        }
        other => panic!("expected a trade message, got {other:?}"),
    }
    assert_eq!(gw.counters().pushes_delivered, 1);
}

#[tokio::test]
async fn shipping_through_the_sdk_pushes_the_event_to_the_webhook() {
    let gw = gateway().await;
    let mut webhook = Webhook::for_gateway(&gw).await;
    gw.set_webhook(Some(&webhook.url));
    let client = client(&gw);
    let order_id = order_awaiting_shipment(&gw);
    client
        .execute(&OrderLogisticsAddRequest::new(&order_id).company_code("zhongtong").logistics_code("ZT123456789"))
        .await
        .unwrap();
    let events = webhook.next().await.outcome.unwrap();
    let [PushEvent::Message { tag: 102, message, .. }] = events.as_slice() else { panic!("{events:?}") };
    let Message::TradeSellerShip(ship) = message.as_ref() else { panic!("{message:?}") };
    assert_eq!(ship.p_id, Some(order_id.as_str().into()));
    let logistics = ship.logistics_msg.as_ref().expect("logistics_msg");
    assert_eq!(logistics.logistics_code.as_deref(), Some("ZT123456789"));
    // The buyer's details are redacted in Debug output.
    let shown = format!("{ship:?}");
    assert!(shown.contains("<redacted>") && !shown.contains("#kP2#efgh#"), "{shown}");
}

#[tokio::test]
async fn tampered_and_foreign_pushes_are_refused_by_the_webhook() {
    let gw = gateway().await;
    // The webhook of another app's secret: the gateway's md5 does not verify.
    let mut stranger = Webhook::start(doudian_sdk::push::PushVerifier::new(
        gw.app_key(),
        doudian_sdk::AppSecret::new("not-the-secret"),
    ))
    .await;
    let order_id = gw.order_ids(OrderStatus::Shipped)[0].clone();
    let record = gw.trade_event(TradeEvent::SellerShipped, &order_id).unwrap();
    let delivery = gw.send_push(&stranger.url, std::slice::from_ref(&record)).await.unwrap();
    assert_eq!((delivery.status, delivery.body.as_str()), (401, doudian_sdk::push::FAILURE_REPLY));
    assert_eq!(stranger.next().await.outcome.unwrap_err(), "signature does not match");
    assert_eq!(gw.counters().pushes_failed, 1);

    // hmac-sha256 pushes verify only when the verifier accepts them.
    let mut md5_only = Webhook::for_gateway(&gw).await;
    let delivery = gw
        .send_push_with(&md5_only.url, std::slice::from_ref(&record), doudian_sdk::SignMethod::HmacSha256)
        .await
        .unwrap();
    assert_eq!(delivery.status, 401);
    assert!(md5_only.next().await.outcome.is_err());
    let mut hmac = Webhook::start(
        doudian_sdk::push::PushVerifier::new(gw.app_key(), doudian_sdk::AppSecret::new(gw.app_secret()))
            .accept_hmac_sha256(true),
    )
    .await;
    let delivery = gw.send_push_with(&hmac.url, &[record], doudian_sdk::SignMethod::HmacSha256).await.unwrap();
    assert_eq!(delivery.status, 200);
    assert_eq!(hmac.next().await.outcome.unwrap().len(), 1);
}

#[tokio::test]
async fn paging_stops_exactly_at_the_last_page() {
    let gw = gateway().await;
    let client = client(&gw);
    // (size, pages): exact multiples must not cost an extra empty request.
    for (size, pages) in [(9, 5), (15, 3), (45, 1), (44, 2), (100, 1), (1, 45)] {
        gw.reset_counters();
        let items: Vec<_> = client.items(OrderSearchListRequest::new(0, size)).try_collect().await.unwrap();
        assert_eq!(items.len(), SEEDED_ORDERS, "size {size}");
        assert_eq!(gw.calls("order.searchList"), pages, "size {size}");
    }
    // Starting from a later page reads only the rest.
    gw.reset_counters();
    let rest: Vec<_> = client.items(OrderSearchListRequest::new(3, 10)).try_collect().await.unwrap();
    assert_eq!((rest.len(), gw.calls("order.searchList")), (15, 2));
    // Past the end: one empty page, no more.
    gw.reset_counters();
    let pages: Vec<_> = client.pages(OrderSearchListRequest::new(9, 10)).try_collect().await.unwrap();
    assert_eq!(pages.len(), 1);
    assert!(pages[0].items.is_empty() && !pages[0].has_more);
    assert_eq!(gw.calls("order.searchList"), 1);
}

#[tokio::test]
async fn a_failing_page_ends_the_stream_with_its_error() {
    use doudian_gateway::{Fault, FaultRule};
    let gw = gateway().await;
    let client = client_builder(&gw).retry(doudian_sdk::retry::RetryPolicy::none()).build().unwrap();
    let mut stream = client.pages(OrderSearchListRequest::new(0, 10));
    let first = stream.next().await.unwrap().unwrap();
    assert_eq!((first.page, first.items.len()), (0, 10));
    // The stream is lazy: page 1 is requested only now, and is rate limited.
    gw.inject(FaultRule::new(Fault::RateLimit).for_method("order.searchList").times(1));
    let err = stream.next().await.unwrap().unwrap_err();
    assert!(err.is_rate_limited(), "{err:?}");
    assert!(stream.next().await.is_none(), "the stream ends after an error");
    assert_eq!(gw.calls("order.searchList"), 2);

    // With retries the same walk goes through every page.
    gw.inject(FaultRule::new(Fault::RateLimit).for_method("order.searchList").times(2));
    let retrying = client_builder(&gw).retry(fast_retry(3)).build().unwrap();
    let items: Vec<_> = retrying.items(OrderSearchListRequest::new(0, 10)).try_collect().await.unwrap();
    assert_eq!(items.len(), SEEDED_ORDERS);
}

#[tokio::test]
async fn awkward_text_is_signed_and_stored_exactly() {
    // The gateway re-canonicalises the body and checks the signature: any difference in
    // escaping between the SDK and the platform's rules would be a signature error.
    let gw = gateway().await;
    let client = client(&gw);
    let order_id = order_awaiting_shipment(&gw);
    let remarks = [
        "中文备注，测试。🚚 emoji",
        "slash / back\\slash \"quotes\" <b>&amp;</b> 'single'",
        "line\nbreak\ttab\r\u{0008}\u{000c} control \u{0001}\u{001f}",
        "separators \u{2028} \u{2029} end",
    ];
    for remark in remarks {
        client.execute(&OrderAddOrderRemarkRequest::new(&order_id, remark)).await.unwrap();
        assert_eq!(gw.order(&order_id).unwrap().seller_words, remark);
    }
    assert_eq!(gw.counters().signature_failures, 0);
    assert_eq!(gw.counters().remarks.get(&order_id), Some(&(remarks.len() as u64)));

    // JSON text by name.
    let params = r#"{"page": 0, "size": 2}"#;
    let reply = client.call_json("order.searchList", params, &doudian_sdk::CallOptions::new()).await.unwrap();
    assert_eq!(reply["shop_order_list"].as_array().unwrap().len(), 2);
    // Untyped JSON text: big numbers, nulls and nesting keep their literal form. (An untyped
    // method: the spec lists no parameters, so any object fits its schema.)
    let params = r#"{"page": 0, "extra": {"z": null, "big": 123456789012345678901234567890, "f": 1.50}}"#;
    client.call_json("bigCustomer.queryCounting", params, &doudian_sdk::CallOptions::new()).await.unwrap();
    assert_eq!(gw.calls("bigCustomer.queryCounting"), 1);
    assert_eq!(gw.counters().signature_failures, 0);
}

#[tokio::test]
async fn test_push_and_redelivered_messages() {
    use doudian_sdk::push::{first_time_only, parse_body, RecentMessages};
    let gw = gateway().await;
    let mut webhook = Webhook::for_gateway(&gw).await;
    // The platform's test push: tag "0", its data a bare date-time string.
    let test = doudian_gateway::PushRecord {
        tag: "0".to_owned(),
        msg_id: "0".to_owned(),
        data: "2023-11-15 06:13:20".to_owned(),
    };
    let delivery = gw.send_push(&webhook.url, &[test]).await.unwrap();
    assert_eq!((delivery.status, delivery.body.as_str()), (200, doudian_sdk::push::SUCCESS_REPLY));
    let events = webhook.next().await.outcome.unwrap();
    assert_eq!(events, vec![PushEvent::Test { msg_id: "0".into(), data: "2023-11-15 06:13:20".into() }]);

    // The same message delivered twice (the platform retries until it sees SUCCESS): both
    // deliveries are acknowledged, a handler with a seen-set processes it once.
    let order_id = gw.order_ids(OrderStatus::AwaitingShipment)[0].clone();
    let paid = gw.trade_event(TradeEvent::Paid, &order_id).unwrap();
    let memo = gw.trade_event(TradeEvent::MemoModified, &order_id).unwrap();
    assert_ne!(paid.msg_id, memo.msg_id);
    let seen = RecentMessages::new(100);
    let mut processed = Vec::new();
    for batch in [vec![paid.clone()], vec![paid.clone(), memo.clone()]] {
        let delivery = gw.send_push(&webhook.url, &batch).await.unwrap();
        assert_eq!(delivery.status, 200);
        let received = webhook.next().await;
        assert_eq!(received.outcome.unwrap().len(), batch.len());
        let fresh = first_time_only(parse_body(&received.body).unwrap(), &seen).await;
        processed.extend(fresh.into_iter().map(|r| (r.tag, r.msg_id)));
    }
    assert_eq!(processed, vec![("101".to_owned(), paid.msg_id), ("113".to_owned(), memo.msg_id)]);
    assert_eq!(gw.counters().pushes_delivered, 3);
}

#[tokio::test]
async fn after_sale_handling_pushes_the_refund_event() {
    let gw = gateway().await;
    let mut webhook = Webhook::for_gateway(&gw).await;
    gw.set_webhook(Some(&webhook.url));
    let client = client(&gw);
    let items: Vec<_> = client.items(AfterSaleListRequest::new(0, 20)).try_collect().await.unwrap();
    let pending = items
        .iter()
        .filter_map(|i| i.aftersale_info.as_ref())
        .find(|info| {
            info.aftersale_status == Some(AfterSaleStatus::AWAITING_SELLER)
                && info.aftersale_type == Some(AfterSaleType::RETURN_AND_REFUND)
        })
        .expect("a pending return-and-refund request");
    let id = pending.aftersale_id.clone().unwrap();
    // Agree to the return (status 6 -> 7): tag 202, refund_ReturnApplyAgreed.
    let reply = client.execute(&AfterSaleOperateRequest::new(vec![operate::OperateItem::new(&id)], 111)).await.unwrap();
    assert_eq!(reply.items[0].status_code, Some(0));
    assert_eq!(gw.after_sale_status(id.as_i64().unwrap()), Some(7));
    let events = webhook.next().await.outcome.unwrap();
    let [PushEvent::Message { tag: 202, message, .. }] = events.as_slice() else { panic!("{events:?}") };
    let Message::RefundReturnApplyAgreed(agreed) = message.as_ref() else { panic!("{message:?}") };
    assert_eq!(agreed.aftersale_id, Some(id.clone()));
    assert_eq!(agreed.aftersale_status, Some(AfterSaleStatus::AWAITING_RETURN));
    assert!(webhook.try_next().is_none(), "one push per change");
}
