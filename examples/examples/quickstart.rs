//! The quickstart: everything a shop integration does, end to end.
//!
//! `cargo run --example quickstart` — with no `DOUDIAN_*` variables it starts the bundled
//! gateway in-process; with `DOUDIAN_BASE_URL`, `DOUDIAN_APP_KEY`, `DOUDIAN_APP_SECRET` and
//! `DOUDIAN_SHOP_ID` set it runs against that gateway instead. Note that against a real
//! shop it really adds (then deletes) a product and ships an order awaiting shipment.
//! It prints an account of each step and exits non-zero if any step failed.

use std::time::Duration;

use doudian_examples::connect;
use doudian_sdk::api::after_sale::AfterSaleListRequest;
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
use doudian_sdk::codes::OrderStatus;
use doudian_sdk::ids::OrderId;
use doudian_sdk::push::{PushEvent, PushVerifier};
use doudian_sdk::webhook::push_endpoint;
use doudian_sdk::{Client, Error};

type Outcome = Result<(), Box<dyn std::error::Error>>;

/// Runs one step, prints its account, and remembers failures instead of stopping.
struct Account {
    failures: Vec<String>,
}

impl Account {
    fn step(&mut self, title: &str, outcome: Outcome) {
        match outcome {
            Ok(()) => {}
            Err(e) => {
                println!("   ✗ {title} failed: {e}");
                if let Some(Error::Api(api)) = e.downcast_ref::<Error>() {
                    println!("     (code {}, sub_code {}, log_id {})", api.code, api.sub_code, api.log_id);
                }
                self.failures.push(title.to_owned());
            }
        }
    }
}

#[tokio::main]
async fn main() -> Outcome {
    let target = connect().await?;
    let client = &target.client;
    match &target.gateway {
        Some(gateway) => {
            println!("▶ No DOUDIAN_* credentials set: using the bundled gateway at {}\n", gateway.base_url())
        }
        None => println!("▶ Using the gateway at {}\n", client.base_url()),
    }
    let mut account = Account { failures: Vec::new() };

    println!("1. Authorisation");
    account.step("token", token(client).await);
    println!("\n2. The shop");
    let mut leaf_category = None;
    account.step("brands and categories", shop(client, &mut leaf_category).await);
    println!("\n3. Products");
    account.step("products", products(client, leaf_category).await);
    println!("\n4. Orders");
    let mut to_ship = None;
    account.step("orders", orders(client, &mut to_ship).await);
    println!("\n5. Logistics");
    account.step("logistics", logistics(client, to_ship.as_ref()).await);
    println!("\n6. After-sales");
    account.step("after-sales", after_sales(client).await);
    println!("\n7. Push messages");
    account.step("push", push(&target).await);

    if account.failures.is_empty() {
        println!("\n✔ Every step succeeded.");
        Ok(())
    } else {
        Err(format!("{} step(s) failed: {}", account.failures.len(), account.failures.join(", ")).into())
    }
}

async fn token(client: &Client) -> Outcome {
    let token = client.token().await?;
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH)?.as_secs();
    println!(
        "   token for shop {} ({}), valid for {} h more; tokens print as {:?}",
        token.shop_id,
        token.shop_name,
        token.expires_at.saturating_sub(now) / 3600,
        token.access_token
    );
    Ok(())
}

async fn shop(client: &Client, leaf_category: &mut Option<i64>) -> Outcome {
    let brands = client.execute(&ShopBrandListRequest::new()).await?;
    println!("   {} brands, e.g. {:?}", brands.0.len(), brands.0.first().and_then(|b| b.brand_chinese_name.as_deref()));
    // Walk down the category tree to a leaf: products are listed in leaf categories.
    let mut parent = 0;
    for depth in 1..=4 {
        let categories = client.execute(&ShopGetShopCategoryRequest::new(parent)).await?;
        let Some(first) = categories.0.first() else { break };
        let (id, name) = (first.id.unwrap_or_default(), first.name.clone().unwrap_or_default());
        println!("   level {depth}: {} categories, descending into {name} ({id})", categories.0.len());
        if first.is_leaf == Some(true) {
            *leaf_category = Some(id);
            break;
        }
        parent = id;
    }
    Ok(())
}

async fn products(client: &Client, leaf_category: Option<i64>) -> Outcome {
    let page = client.page(&ProductListV2Request::new(1, 10)).await?;
    println!("   {} products in the shop, first page holds {}", page.total.unwrap_or_default(), page.items.len());
    if let Some(first) = page.items.first() {
        let id = first.product_id.clone().unwrap_or_default();
        // `product.listV2` sends the id as a number and `product.detail` takes it as a string:
        // one `ProductId` fits both.
        let detail = client.execute(&ProductDetailRequest::new().product_id(&id)).await?;
        println!(
            "   product {id}: {} (status {})",
            detail.name.as_deref().unwrap_or("?"),
            detail.status.unwrap_or_default()
        );
    }
    let category = leaf_category.ok_or("no leaf category found")?;
    let specs = "颜色|红色,黑色";
    let spec_prices = serde_json::json!([
        {"spec_detail_name1": "红色", "price": 1990, "stock_num": 50, "code": "QS-RED", "outer_sku_id": "qs-red"},
        {"spec_detail_name1": "黑色", "price": 1990, "stock_num": 30, "code": "QS-BLK", "outer_sku_id": "qs-blk"},
    ])
    .to_string();
    let add = ProductAddV2Request::new(ProductAddV2Required {
        category_leaf_id: category,
        commit: true,
        description: "quickstart product created by doudian-sdk".into(),
        freight_id: 0,
        mobile: "13800000000".into(),
        name: "Quickstart T-shirt".into(),
        pic: "https://img.example.com/qs-1.jpg|https://img.example.com/qs-2.jpg".into(),
        product_type: 0,
        reduce_type: 1,
    })
    .spec_prices(spec_prices)
    .specs(specs);
    let added = client.execute(&add).await?;
    let product_id = added.product_id.clone().ok_or("product.addV2 returned no product_id")?;
    println!("   added product {product_id} with {} SKUs (log_id {})", added.sku.len(), added.log_id());
    let skus = client.execute(&SkuListRequest::new().product_id(&product_id)).await?;
    for sku in skus.iter() {
        println!(
            "     SKU {} {} at {} fen",
            sku.id.unwrap_or_default(),
            sku.code.as_deref().unwrap_or(""),
            sku.price.unwrap_or_default()
        );
    }
    client.execute(&ProductEditV2Request::new(true, &product_id).name("Quickstart T-shirt (renamed)")).await?;
    let detail = client.execute(&ProductDetailRequest::new().product_id(&product_id)).await?;
    println!("   renamed it: {}", detail.name.as_deref().unwrap_or("?"));
    client.execute(&ProductDelRequest::new().product_id(&product_id)).await?;
    println!("   deleted product {product_id}");
    Ok(())
}

async fn orders(client: &Client, to_ship: &mut Option<OrderId>) -> Outcome {
    let request = OrderSearchListRequest::new(0, 20);
    let first = client.page(&request).await?;
    println!(
        "   {} orders in all; reading every page of {} ...",
        first.total.unwrap_or_default(),
        first.size.unwrap_or_default()
    );
    let mut pages = 0;
    let mut count = 0;
    let mut stream = client.pages(request);
    while let Some(page) = stream.next().await {
        let page = page?;
        pages += 1;
        count += page.items.len();
        for order in &page.items {
            if to_ship.is_none() && order.order_status == Some(OrderStatus::AWAITING_SHIPMENT) {
                *to_ship = order.order_id.clone();
            }
        }
    }
    println!("   read {count} orders on {pages} pages");
    let Some(order_id) = to_ship.clone() else {
        println!("   no order is awaiting shipment");
        return Ok(());
    };
    let detail = client.execute(&OrderOrderDetailRequest::new(&order_id)).await?;
    if let Some(order) = &detail.shop_order_detail {
        println!(
            "   order {order_id}: {} paid {} fen; receiver {:?}",
            order.order_status_desc.as_deref().unwrap_or("?"),
            order.pay_amount.unwrap_or_default(),
            order.post_receiver.as_ref().map(|_| "<present, sensitive>")
        );
    }
    client.execute(&OrderAddOrderRemarkRequest::new(&order_id, "quickstart: pack with care")).await?;
    println!("   added a seller remark to {order_id}");
    Ok(())
}

async fn logistics(client: &Client, to_ship: Option<&OrderId>) -> Outcome {
    let companies = client.execute(&OrderLogisticsCompanyListRequest::new()).await?;
    let names: Vec<_> = companies.0.iter().take(5).filter_map(|c| c.name.as_deref()).collect();
    println!("   {} logistics companies, e.g. {}", companies.0.len(), names.join(", "));
    let Some(order_id) = to_ship else { return Ok(()) };
    let company = companies.0.first().and_then(|c| c.code.clone()).ok_or("no logistics company")?;
    // A write: sent once. If the outcome is unknown (timeout), the SDK does not resend it.
    client
        .execute(&OrderLogisticsAddRequest::new(order_id).company_code(&company).logistics_code("SF1000000001"))
        .await?;
    println!("   shipped {order_id} with {company} SF1000000001");
    client
        .execute(&OrderLogisticsEditRequest::new(order_id).company_code(&company).logistics_code("SF1000000002"))
        .await?;
    println!("   corrected the tracking number to SF1000000002");
    Ok(())
}

async fn after_sales(client: &Client) -> Outcome {
    let page = client.page(&AfterSaleListRequest::new(0, 10)).await?;
    println!("   {} after-sale requests", page.total.unwrap_or(page.items.len() as i64));
    for item in page.items.iter().take(3) {
        if let Some(info) = &item.aftersale_info {
            println!(
                "     {} type {} status {}",
                info.aftersale_id.as_ref().map_or("?".to_owned(), ToString::to_string),
                info.aftersale_type.unwrap_or_default(),
                info.aftersale_status.unwrap_or_default()
            );
        }
    }
    Ok(())
}

/// Starts a webhook on loopback (the SDK's ready axum endpoint), has the bundled gateway
/// push an order event to it, and shows the typed event the application receives.
async fn push(target: &doudian_examples::Target) -> Outcome {
    let Some(gateway) = &target.gateway else {
        println!("   (the platform pushes to your registered URL; see the README for a handler)");
        return Ok(());
    };
    let (sender, mut received) = tokio::sync::mpsc::unbounded_channel::<PushEvent>();
    // The application's function: called after the endpoint verified the push and answered.
    let on_event = move |event: PushEvent| {
        let sender = sender.clone();
        async move { sender.send(event).map_err(|_| "the quickstart stopped listening") }
    };
    let verifier = PushVerifier::new(gateway.app_key(), gateway.app_secret());
    let app = axum::Router::new().route("/webhook", push_endpoint(verifier, on_event));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("http://{}/webhook", listener.local_addr()?);
    let server = tokio::spawn(async move { axum::serve(listener, app).await });
    let order_id =
        gateway.order_ids(doudian_gateway::OrderStatus::Shipped).into_iter().next().ok_or("no shipped order")?;
    let record = gateway.trade_event(doudian_gateway::TradeEvent::SellerShipped, &order_id).ok_or("no event")?;
    let delivery = gateway.send_push(&url, &[record]).await?;
    let event = tokio::time::timeout(Duration::from_secs(5), received.recv()).await?.ok_or("no push arrived")?;
    match &event {
        PushEvent::Message { tag, msg_id, message } => {
            println!("   received tag {tag} (msg_id {msg_id}), signature verified: {message:?}")
        }
        other => println!("   received {other:?}"),
    }
    println!("   replied HTTP {} {}", delivery.status, delivery.body);
    server.abort();
    Ok(())
}
