//! The result of a run: what this run did, what earlier runs had done (from the journal),
//! and what is still not shipped or not known to be. The counts add up to the orders.

use std::path::Path;

use serde_json::json;

use super::super::{print_json, Failure};
use super::resume::Settled;
use super::shipper::SHIP_METHOD;

#[derive(Debug, Default)]
pub struct Summary {
    /// This worker's orders in the CSV.
    pub orders: usize,
    /// Shipped by this run's calls.
    pub shipped: usize,
    /// Read back by this run as no longer awaiting shipment.
    pub already_shipped: usize,
    /// Skipped without a call: an earlier run's journal record confirms them.
    pub skipped: usize,
    /// Not shipped, or outcome unknown: (order id, why), sorted.
    pub failed: Vec<(String, String)>,
}

impl Summary {
    pub fn of(settled: Vec<(String, Settled)>) -> Self {
        let mut summary = Summary { orders: settled.len(), ..Summary::default() };
        for (order_id, outcome) in settled {
            match outcome {
                Settled::ShippedNow => summary.shipped += 1,
                Settled::FoundShipped => summary.already_shipped += 1,
                Settled::Journaled => summary.skipped += 1,
                Settled::Failed(why) => summary.failed.push((order_id, why)),
            }
        }
        summary.failed.sort();
        summary
    }
}

/// The pace of the run: the ship method's answers and the time taken.
pub struct Pace {
    pub throttled: u64,
    pub answered: u64,
    pub seconds: f64,
}

pub fn report(summary: &Summary, pace: &Pace, journal: Option<&Path>, json: bool) -> Result<(), Failure> {
    let Pace { throttled, answered, seconds } = *pace;
    if json {
        let failed: Vec<_> =
            summary.failed.iter().map(|(order_id, error)| json!({ "order_id": order_id, "error": error })).collect();
        return print_json(&json!({
            "orders": summary.orders,
            "shipped": summary.shipped,
            "already_shipped": summary.already_shipped,
            "skipped": summary.skipped,
            "failed": failed,
            "throttled": throttled,
            "calls": answered,
            "seconds": (seconds * 1000.0).round() / 1000.0,
            "journal": journal.map(|path| path.display().to_string()),
        }));
    }
    println!(
        "{} orders: shipped {}, already shipped {} (read back), skipped {} (journaled by an earlier run), failed {} in {seconds:.1} s; {throttled} of {answered} {SHIP_METHOD} answers throttled",
        summary.orders,
        summary.shipped,
        summary.already_shipped,
        summary.skipped,
        summary.failed.len(),
    );
    for (order_id, error) in &summary.failed {
        println!("  ✗ {order_id}: {error}");
    }
    Ok(())
}
