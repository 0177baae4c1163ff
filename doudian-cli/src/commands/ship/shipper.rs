//! Shipping one order exactly once: the ship call, and reading the order back whenever
//! its outcome is not a plain success.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use doudian_sdk::api::order::{OrderLogisticsAddRequest, OrderOrderDetailRequest};
use doudian_sdk::codes::OrderStatus;
use doudian_sdk::error::DecodeStage;
use doudian_sdk::observe::{self, Answer, CallObserver};
use doudian_sdk::{Client, Error};

use super::orders::Shipment;

/// The method that ships.
pub const SHIP_METHOD: &str = "order.logisticsAdd";

/// How long to wait before reading back an order whose ship call had an unknown outcome:
/// time for a call the platform received late to land.
const SETTLE_BEFORE_READ_BACK: Duration = Duration::from_secs(1);

/// What happened to one order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Shipped by this run.
    Shipped,
    /// It was not awaiting shipment: shipped before (a re-run), or by someone else.
    AlreadyShipped,
    /// Not shipped by this run's call, and why: it was refused, or never sent.
    NotShipped(String),
    /// The call may or may not have shipped it (it was sent, and reading the order back
    /// did not settle it), and why.
    Unknown(String),
}

/// Ships `shipment`. A refusal is read back (already shipped → skipped); an unknown
/// outcome (a timeout after sending) is read back and sent again only when the order is
/// still awaiting shipment, at most once — never blindly.
pub async fn ship(client: &Client, shipment: &Shipment) -> Outcome {
    let request = OrderLogisticsAddRequest::new(&shipment.order_id)
        .company_code(&shipment.company_code)
        .logistics_code(&shipment.tracking_no);
    let mut resent = false;
    loop {
        let error = match client.execute(&request).await {
            Ok(_) => return Outcome::Shipped,
            Err(error) => error,
        };
        if error.is_ambiguous() {
            tokio::time::sleep(SETTLE_BEFORE_READ_BACK).await;
            match order_status(client, &shipment.order_id).await {
                Ok(status) if is_shipped(status) => return Outcome::Shipped,
                Ok(OrderStatus::AWAITING_SHIPMENT) if !resent => {
                    // Read back: the first call was not processed. Sending it again is safe.
                    resent = true;
                    continue;
                }
                Ok(status) => {
                    return Outcome::Unknown(format!("outcome unknown ({error}); the order's status is {status:?}"))
                }
                Err(read) => {
                    return Outcome::Unknown(format!(
                        "outcome unknown ({error}); reading the order back failed: {read}"
                    ))
                }
            }
        }
        if refused(&error) {
            return match order_status(client, &shipment.order_id).await {
                Ok(status) if is_shipped(status) => Outcome::AlreadyShipped,
                _ => Outcome::NotShipped(describe(&error)),
            };
        }
        return Outcome::NotShipped(describe(&error));
    }
}

/// The platform answered and said no, for a reason other than load.
fn refused(error: &Error) -> bool {
    error.api().is_some() && !error.is_rate_limited() && !error.is_service_busy()
}

pub fn is_shipped(status: OrderStatus) -> bool {
    matches!(status, OrderStatus::SHIPPED | OrderStatus::COMPLETED)
}

fn describe(error: &Error) -> String {
    match error.api() {
        Some(api) => format!("{} {} {} (log_id {})", api.code, api.sub_code, api.sub_msg, api.log_id),
        None => error.to_string(),
    }
}

/// The order's status, read back with order.orderDetail.
pub async fn order_status(client: &Client, order_id: &str) -> Result<OrderStatus, String> {
    let detail = client.execute(&OrderOrderDetailRequest::new(order_id)).await.map_err(|e| describe(&e))?;
    detail
        .shop_order_detail
        .as_ref()
        .and_then(|order| order.order_status)
        .ok_or_else(|| format!("order.orderDetail of {order_id} has no order_status"))
}

/// Counts the platform's answers to the ship method as the client hears them: how many
/// were throttled (60000) out of how many answered.
#[derive(Debug, Default)]
pub struct ShipAnswers {
    throttled: AtomicU64,
    answered: AtomicU64,
}

impl ShipAnswers {
    /// (60000 answers, all answers) of the ship method.
    pub fn counts(&self) -> (u64, u64) {
        (self.throttled.load(Ordering::Relaxed), self.answered.load(Ordering::Relaxed))
    }
}

impl CallObserver for ShipAnswers {
    fn answer(&self, answer: &Answer<'_>) {
        if answer.method != SHIP_METHOD {
            return;
        }
        // An envelope the platform sent counts, whatever it says; no answer does not.
        if matches!(
            answer.outcome,
            observe::Outcome::Success | observe::Outcome::Api { .. } | observe::Outcome::Decode(DecodeStage::Data)
        ) {
            self.answered.fetch_add(1, Ordering::Relaxed);
        }
        if answer.throttled {
            self.throttled.fetch_add(1, Ordering::Relaxed);
        }
    }
}
