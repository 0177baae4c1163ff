//! Batch shipping, as an ERP runs it every day: find every order awaiting shipment, ship
//! each with its tracking number (bounded concurrency, rate-limit-aware retries), show
//! progress and print a summary. Safe to run again: shipped orders are no longer awaiting
//! shipment, an "already shipped" answer counts as skipped, and a ship call whose outcome
//! is unknown (a timeout after sending) is never blindly resent — the order is read back.
//!
//! `cargo run --example batch_ship [TRACKING_CSV]` — the optional CSV has lines
//! `order_id,company_code,tracking_no`; without it, tracking numbers are made up (demo).
//! With no `DOUDIAN_*` variables it runs against the bundled gateway, twice, with rate
//! limiting switched on, to show the retries and that the second run ships nothing.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};

use doudian_examples::connect;
use doudian_gateway::{Fault, FaultRule};
use doudian_sdk::api::order::search_list::CombineStatus;
use doudian_sdk::api::order::{OrderLogisticsAddRequest, OrderOrderDetailRequest, OrderSearchListRequest};
use doudian_sdk::{Client, Error};
use futures_util::{StreamExt, TryStreamExt};

/// How many ship calls are in flight at once: the platform throttles per app.
const CONCURRENCY: usize = 4;
/// `order_status` 2: paid, awaiting shipment.
const AWAITING_SHIPMENT: &str = "2";
const SHIPPED: i64 = 3;

type Outcome<T = ()> = Result<T, Box<dyn std::error::Error>>;

#[derive(Debug, Default)]
struct Summary {
    shipped: usize,
    skipped: usize,
    failed: Vec<(String, String)>,
}

enum Shipment {
    Shipped,
    AlreadyShipped,
    Failed(String),
}

#[tokio::main]
async fn main() -> Outcome {
    let tracking = match std::env::args().nth(1) {
        Some(path) => read_tracking_csv(&path)?,
        None => HashMap::new(),
    };
    let target = connect().await?;
    let runs = if let Some(gateway) = &target.gateway {
        println!("▶ bundled gateway at {} (rate limiting on: 3 ship calls will be throttled)", gateway.base_url());
        gateway.inject(FaultRule::new(Fault::RateLimit).for_method("order.logisticsAdd").times(3));
        2
    } else {
        1
    };
    for run in 1..=runs {
        println!("\n=== run {run} ===");
        let summary = ship_all(&target.client, &tracking).await?;
        println!(
            "summary: {} shipped, {} skipped (already shipped), {} failed",
            summary.shipped,
            summary.skipped,
            summary.failed.len()
        );
        for (order_id, reason) in &summary.failed {
            println!("  ✗ {order_id}: {reason}");
        }
        if let Some(gateway) = &target.gateway {
            println!("gateway saw {} order.logisticsAdd calls in all so far", gateway.calls("order.logisticsAdd"));
        }
        if !summary.failed.is_empty() {
            return Err(format!("{} order(s) not shipped; run again to retry them", summary.failed.len()).into());
        }
    }
    Ok(())
}

async fn ship_all(client: &Client, tracking: &HashMap<String, (String, String)>) -> Outcome<Summary> {
    // Collect the ids first: shipping moves orders out of the filter, which would shift
    // the pages under a reader that ships while it pages.
    let awaiting =
        OrderSearchListRequest::new(0, 100).combine_status(vec![CombineStatus::new().order_status(AWAITING_SHIPMENT)]);
    let order_ids: Vec<String> =
        client.items(awaiting).try_filter_map(|order| async move { Ok(order.order_id) }).try_collect().await?;
    let total = order_ids.len();
    println!("{total} orders awaiting shipment");
    let done = AtomicUsize::new(0);
    let results: Vec<(String, Shipment)> = futures_util::stream::iter(order_ids)
        .map(|order_id| {
            let done = &done;
            async move {
                let (company, tracking_no) = tracking
                    .get(&order_id)
                    .cloned()
                    .unwrap_or_else(|| ("zhongtong".to_owned(), demo_tracking_no(&order_id)));
                let outcome = ship_one(client, &order_id, &company, &tracking_no).await;
                let n = done.fetch_add(1, Ordering::Relaxed) + 1;
                let mark = match &outcome {
                    Shipment::Shipped => "shipped",
                    Shipment::AlreadyShipped => "skipped",
                    Shipment::Failed(_) => "FAILED",
                };
                println!("  [{n:>3}/{total}] {order_id} {mark} ({company} {tracking_no})");
                (order_id, outcome)
            }
        })
        .buffer_unordered(CONCURRENCY)
        .collect()
        .await;
    let mut summary = Summary::default();
    for (order_id, outcome) in results {
        match outcome {
            Shipment::Shipped => summary.shipped += 1,
            Shipment::AlreadyShipped => summary.skipped += 1,
            Shipment::Failed(reason) => summary.failed.push((order_id, reason)),
        }
    }
    Ok(summary)
}

async fn ship_one(client: &Client, order_id: &str, company: &str, tracking_no: &str) -> Shipment {
    let request = OrderLogisticsAddRequest::new(order_id).company_code(company).logistics_code(tracking_no);
    // The client retries throttling (60000) and busy (20000) answers with backoff; a
    // timeout after sending is NOT retried for a write, so the order is read back instead.
    match client.execute(&request).await {
        Ok(_) => Shipment::Shipped,
        Err(e) if e.api().is_some_and(|api| api.sub_code.ends_with("order-already-shipped")) => {
            Shipment::AlreadyShipped
        }
        Err(e) if e.is_ambiguous() => match order_status(client, order_id).await {
            Ok(SHIPPED) => Shipment::Shipped,
            Ok(status) => Shipment::Failed(format!("outcome unknown ({e}); order status is still {status}")),
            Err(read) => Shipment::Failed(format!("outcome unknown ({e}); reading it back failed: {read}")),
        },
        Err(e) => Shipment::Failed(e.to_string()),
    }
}

async fn order_status(client: &Client, order_id: &str) -> Result<i64, Error> {
    let detail = client.execute(&OrderOrderDetailRequest::new(order_id)).await?;
    Ok(detail.shop_order_detail.as_ref().and_then(|o| o.order_status).map(i64::from).unwrap_or_default())
}

fn demo_tracking_no(order_id: &str) -> String {
    format!("ZT{}", &order_id[order_id.len().saturating_sub(10)..])
}

fn read_tracking_csv(path: &str) -> Outcome<HashMap<String, (String, String)>> {
    let text = std::fs::read_to_string(path)?;
    let mut map = HashMap::new();
    for (n, line) in text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty()) {
        let fields: Vec<&str> = line.split(',').map(str::trim).collect();
        let [order_id, company, tracking_no] = fields[..] else {
            return Err(format!("{path}:{}: expected order_id,company_code,tracking_no", n + 1).into());
        };
        map.insert(order_id.to_owned(), (company.to_owned(), tracking_no.to_owned()));
    }
    Ok(map)
}
