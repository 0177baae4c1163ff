//! Honest outcomes of writes under every fault the gateway can inject: a write that was
//! applied comes back `Ok` or `is_ambiguous()`; one that was not applied comes back as an
//! error (and, unless ambiguous, is safe to send again); no read-back write is applied
//! twice, and an idempotent one applied again (a retry after a lost reply) leaves the state
//! that was asked for.

use std::time::Duration;

use doudian_gateway::{Fault, FaultRule, OrderStatus, RunningGateway};
use doudian_sdk::api::order::{OrderAddOrderRemarkRequest, OrderLogisticsAddRequest};
use doudian_sdk::request::Request;
use doudian_sdk::retry::RetryClass;
use doudian_sdk::{Client, Error};
use e2e_tests::*;

/// Every fault kind, with the variants that behave differently (HTTP statuses).
fn every_fault() -> Vec<Fault> {
    vec![
        Fault::RateLimit,
        Fault::ServiceBusy,
        Fault::HttpStatus(429),
        Fault::HttpStatus(500),
        Fault::HttpStatus(502),
        Fault::HttpStatus(503),
        Fault::HttpStatus(504),
        Fault::Delay(Duration::from_millis(900)),
        Fault::DropConnection,
        Fault::DropAfterProcessing,
        Fault::MalformedJson,
        Fault::TruncatedJson,
        Fault::IdsAsStrings,
        Fault::Oversized(256 * 1024),
    ]
}

#[derive(Clone, Copy, Debug)]
enum Write {
    Ship,
    Remark,
}

impl Write {
    fn method(self) -> &'static str {
        match self {
            Write::Ship => "order.logisticsAdd",
            Write::Remark => "order.addOrderRemark",
        }
    }

    async fn send(self, client: &Client, order_id: &str) -> Result<(), Error> {
        match self {
            Write::Ship => {
                let request = OrderLogisticsAddRequest::new(order_id)
                    .company_code("zhongtong")
                    .logistics_code(format!("ZT{order_id}"));
                client.execute(&request).await.map(|_| ())
            }
            Write::Remark => {
                client.execute(&OrderAddOrderRemarkRequest::new(order_id, "outcome test")).await.map(|_| ())
            }
        }
    }

    /// The write's retry class, as its request type says it.
    fn retry(self) -> RetryClass {
        match self {
            Write::Ship => OrderLogisticsAddRequest::RETRY,
            Write::Remark => OrderAddOrderRemarkRequest::RETRY,
        }
    }

    /// How many times the gateway applied this write to `order_id`.
    fn applied(self, gw: &RunningGateway, order_id: &str) -> u64 {
        match self {
            Write::Ship => gw.shipments(order_id),
            Write::Remark => gw.counters().remarks.get(order_id).copied().unwrap_or(0),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn applied_writes_are_ok_or_ambiguous_and_unapplied_ones_fail() {
    let gw = gateway().await;
    // Short timeouts so the delay fault ends in a client timeout; a reply limit below the
    // oversized fault's size.
    let client = client_builder(&gw)
        .timeout(Duration::from_millis(400))
        .max_response_bytes(128 * 1024)
        .retry(fast_retry(3))
        .build()
        .unwrap();
    client.token().await.unwrap();
    let mut awaiting = gw.order_ids(OrderStatus::AwaitingShipment).into_iter();
    let mut others =
        [OrderStatus::Shipped, OrderStatus::Completed, OrderStatus::Canceled, OrderStatus::AwaitingPayment]
            .into_iter()
            .flat_map(|status| gw.order_ids(status));
    assert_eq!((Write::Ship.retry(), Write::Remark.retry()), (RetryClass::ReadBack, RetryClass::Idempotent));
    let mut report = Vec::new();
    let mut repeated = 0;
    for fault in every_fault() {
        for write in [Write::Ship, Write::Remark] {
            let order_id = match write {
                Write::Ship => awaiting.next().expect("enough orders awaiting shipment"),
                Write::Remark => others.next().expect("enough orders to remark"),
            };
            gw.inject(FaultRule::new(fault.clone()).for_method(write.method()).times(1));
            let outcome = write.send(&client, &order_id).await;
            // A delayed call may still be running at the gateway: let it finish first.
            tokio::time::sleep(Duration::from_millis(if matches!(fault, Fault::Delay(_)) { 800 } else { 20 })).await;
            gw.clear_faults();
            let applied = write.applied(&gw, &order_id);
            let line = format!(
                "{fault:?} {write:?}: applied {applied}, {:?}",
                outcome.as_ref().map_err(|e| (e.is_ambiguous(), e.to_string()))
            );
            if write.retry() == RetryClass::ReadBack {
                assert!(applied <= 1, "applied twice: {line}");
            } else if applied > 0 {
                repeated += usize::from(applied > 1);
                assert_eq!(gw.order(&order_id).unwrap().seller_words, "outcome test", "{line}");
            }
            match &outcome {
                Ok(()) => assert!(applied >= 1, "Ok but not applied: {line}"),
                Err(error) if applied >= 1 => {
                    assert!(error.is_ambiguous(), "applied, but reported as safe to resend: {line}")
                }
                Err(_) => {}
            }
            // Not applied: sending again (as the error permits when unambiguous) applies it once.
            if applied == 0 {
                write.send(&client, &order_id).await.unwrap_or_else(|e| panic!("resend failed: {e} ({line})"));
                assert_eq!(write.applied(&gw, &order_id), 1, "{line}");
            }
            report.push(line);
        }
    }
    eprintln!("{}", report.join("\n"));
    assert_eq!(report.len(), 2 * every_fault().len());
    // At least the reply dropped after processing makes the client send the remark again.
    assert!(repeated >= 1, "no idempotent write was retried after an ambiguous failure");
}
