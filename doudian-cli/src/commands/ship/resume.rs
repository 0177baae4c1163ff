//! One order of a run, given what the journal says earlier runs did with it:
//!
//! - confirmed (shipped, or found already shipped) with the CSV line's logistics values:
//!   skipped, no call;
//! - confirmed with other values (the CSV line changed since): not sent again — the
//!   platform would refuse a second shipment — but failed, naming both values, so that a
//!   correction (order.logisticsEdit) is not silently skipped;
//! - sent by a run that died before its outcome was recorded: read back once; shipped
//!   means that call took effect (recorded; a changed line then fails as above), still
//!   awaiting shipment means it did not, and the CSV line is shipped now;
//! - refused earlier, or not in the journal: shipped now.
//!
//! Each ship call is recorded as `sending` before it is sent, and its outcome after.

use doudian_sdk::codes::OrderStatus;
use doudian_sdk::Client;

use super::journal::{Journal, Record, State};
use super::orders::Shipment;
use super::shipper::{self, Outcome};

/// How one order of the CSV ended in this run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Settled {
    /// Shipped by this run's call.
    ShippedNow,
    /// Read back by this run as no longer awaiting shipment.
    FoundShipped,
    /// Confirmed by an earlier run's journal record: no call.
    Journaled,
    /// Not shipped, or not known to be, and why.
    Failed(String),
}

pub async fn settle(client: &Client, journal: &Journal, shipment: &Shipment, earlier: Option<&Record>) -> Settled {
    match earlier {
        Some(record) if matches!(record.state, State::Shipped | State::AlreadyShipped) => {
            changed(record, shipment).map_or(Settled::Journaled, Settled::Failed)
        }
        Some(record) if record.state == State::Sending => match shipper::order_status(client, &shipment.order_id).await
        {
            Ok(status) if shipper::is_shipped(status) => {
                // The earlier call took effect: record it with the values it sent.
                let noted = note(journal, &record.shipment(), State::AlreadyShipped).await;
                match changed(record, shipment) {
                    Some(why) => Settled::Failed(why),
                    None => confirmed(noted, Settled::FoundShipped),
                }
            }
            Ok(OrderStatus::AWAITING_SHIPMENT) => ship_now(client, journal, shipment).await,
            Ok(status) => Settled::Failed(format!(
                "an earlier run's ship call has an unknown outcome; the order's status is {status:?}"
            )),
            Err(read) => Settled::Failed(format!(
                "an earlier run's ship call has an unknown outcome; reading the order back failed: {read}"
            )),
        },
        // Refused earlier, or never tried.
        _ => ship_now(client, journal, shipment).await,
    }
}

async fn ship_now(client: &Client, journal: &Journal, shipment: &Shipment) -> Settled {
    // Recorded before sending: a run killed from here on leaves `sending`, and its rerun
    // reads the order back instead of sending blindly.
    if let Err(why) = journal.append(shipment, State::Sending).await {
        return Settled::Failed(format!("not sent: cannot write the journal: {why}"));
    }
    match shipper::ship(client, shipment).await {
        Outcome::Shipped => confirmed(note(journal, shipment, State::Shipped).await, Settled::ShippedNow),
        Outcome::AlreadyShipped => {
            confirmed(note(journal, shipment, State::AlreadyShipped).await, Settled::FoundShipped)
        }
        Outcome::NotShipped(why) => {
            // Best effort: without this record a rerun reads the order back first.
            let _ = note(journal, shipment, State::NotShipped).await;
            Settled::Failed(why)
        }
        // Left as `sending`: the rerun reads it back.
        Outcome::Unknown(why) => Settled::Failed(why),
    }
}

async fn note(journal: &Journal, shipment: &Shipment, state: State) -> Result<(), String> {
    journal.append(shipment, state).await.map_err(|why| format!("cannot write the journal: {why}"))
}

/// An order whose outcome is settled but not recorded still counts as settled (the
/// platform has it); the message says a rerun will read it back.
fn confirmed(noted: Result<(), String>, settled: Settled) -> Settled {
    match noted {
        Ok(()) => settled,
        Err(why) => {
            eprintln!("warning: {why}; a rerun reads this order back");
            settled
        }
    }
}

/// Why a journaled order does not match its CSV line any more, if it does not.
fn changed(record: &Record, shipment: &Shipment) -> Option<String> {
    let journaled = (record.company_code.as_str(), record.tracking_no.as_str());
    let now = (shipment.company_code.as_str(), shipment.tracking_no.as_str());
    (journaled != now).then(|| {
        format!(
            "shipped by an earlier run as {} {}, but the CSV line now says {} {}: not sent again (correct a shipment with order.logisticsEdit)",
            journaled.0, journaled.1, now.0, now.1
        )
    })
}
