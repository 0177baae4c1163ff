//! A loopback gateway that behaves like the Doudian (抖店) open platform
//! (`openapi-fxg.jinritemai.com`), for tests and local development.
//!
//! It checks what the platform checks — app key, `v`, timestamps in the three forms the
//! official SDKs send, `sign` by md5 or hmac-sha256 over the re-canonicalised param_json,
//! access tokens — and answers with the platform's envelope, codes and sub-codes and a
//! `log_id` on every reply. It issues and refreshes tokens by the platform's rules, keeps a
//! shop's working set (products, orders, logistics, after-sales) for the methods that
//! change or page through it, answers every other method of the spec with sample data,
//! sends signed push messages, and can be told to misbehave (rate limits, 5xx, delays,
//! dropped connections, broken JSON, ids as strings, oversized replies).
//!
//! ```no_run
//! # async fn demo() -> Result<(), doudian_gateway::GatewayError> {
//! use std::time::Duration;
//! use doudian_gateway::{Fault, FaultRule, Gateway};
//!
//! let gateway = Gateway::builder()
//!     .app_key("7012345678901234567")
//!     .app_secret("my-secret")
//!     .token_ttl(Duration::from_secs(5))
//!     .refresh_window(Duration::from_secs(2))
//!     .start()
//!     .await?;
//! println!("{} {}", gateway.base_url(), gateway.app_key());
//! gateway.inject(FaultRule::new(Fault::RateLimit).for_method("order.searchList").times(2));
//! // ... drive a client against gateway.base_url() ...
//! assert_eq!(gateway.counters().signature_failures, 0);
//! gateway.shutdown().await;
//! # Ok(()) }
//! ```
//!
//! # Error codes
//!
//! | situation | code | sub_code |
//! | --- | --- | --- |
//! | no `app_key` | 40001 | `isv.app-id-missing` |
//! | unknown `app_key` | 40003 | `isv.app-id-invalid` |
//! | `method` query differs from the path, `v` not 2, bad `sign_method` | 40003 | `isv.parameter-invalid` |
//! | no `v` / `timestamp` | 40001 | `isv.parameter-missing` |
//! | `timestamp` in none of the three forms | 40003 | `isv.timestamp-format-error` |
//! | `timestamp` outside the skew window | 40003 | `isv.timestamp-invalid` |
//! | no `sign` | 40001 | `isv.signature-missing` |
//! | body not a JSON object | 40003 | `isv.parameter-format-invalid` |
//! | wrong `sign` | 40003 | `isv.signature-invalid` |
//! | method not in the spec | 70000 | `isp.api-service-off` |
//! | no `access_token` | 40001 | `isv.access-token-missing` |
//! | unknown / replaced token | 40003 | `isv.access-token-no-existed` |
//! | expired token | 40003 | `isv.access-token-expired` |
//! | required parameter missing (the method's schema, `doudian_sdk::schema`) | 40001 | `isv.parameter-missing` |
//! | parameter of the wrong type or value, a field the method does not take (named, with the nearest one it does), unknown id | 40003 | `isv.parameter-invalid` |
//! | order.searchList: `update_time_start` / `create_time_start` more than 90 days back, a page starting at or past the per-filter cap | 40003 | `isv.parameter-invalid` (naming the field / the cap) |
//! | token.create/refresh refused | 50001 | `dop.token-generate-failed:{no-authorization, code-invalid, code-expired, grant-type-invalid, token-invalid, token-expired}` |
//! | business rule (ship twice, ship unpaid, edit unshipped, deleted product) | 50002 | `isv.business-failed:{order-already-shipped, order-not-paid, order-canceled, order-not-shipped, product-deleted}` |
//! | injected rate limit, or over a [`GatewayBuilder::method_qps`] quota | 60000 | `isv.traffic-limited` |
//! | injected busy service | 20000 | `dop.service-error` |
//!
//! Business errors come with HTTP 200, as on the platform.
//!
//! # The shop's working set
//!
//! Every gateway starts with the same seeded shop (dated relative to start-up), unless
//! [`GatewayBuilder::empty_shop`] is set:
//! * 5 products (4 on sale, 1 off the shelf) with 12 SKUs, in a 3-level category tree
//!   (`shop.getShopCategory` from `cid` 0), 4 brands, 7 logistics companies;
//! * 45 orders over the last four weeks: 20 awaiting shipment (`order_status` 2,
//!   `main_status` 105), 10 shipped (3), 7 completed (5), 4 cancelled (4), 4 awaiting
//!   payment (1); `order.searchList` pages from 0, at most 100 a page, newest first;
//! * 8 after-sale requests in several states (4 awaiting the seller), `afterSale.List`
//!   pages from 0; `product.listV2` pages from 1.
//!
//! [`GatewayBuilder::awaiting_orders`] adds any number of further orders awaiting
//! shipment, built like the seeded ones, for batch-shipping runs.
//!
//! order.searchList keeps the platform's rules: a `update_time_start` or
//! `create_time_start` more than 90 days before the gateway's now is refused (40003
//! `isv.parameter-invalid` naming the field), and one filter reaches at most
//! [`GatewayBuilder::search_cap`] orders (the platform's 50,000): `total` still counts
//! every match, a page starting at or past the cap is refused (40003
//! `isv.parameter-invalid`) and one straddling it ends there. Pages walk indexes by
//! (`update_time` | `create_time`, order id), so they stay fast over 100,000+ orders.
//!
//! # A moving shop
//!
//! For order synchronisers: [`GatewayBuilder::shops`] serves several shops (a token acts
//! on the shop it was granted for), and churn moves orders along their life cycle —
//! paid, shipped, completed, some cancelled or refunded (after-sale requests opened and
//! refunded), new orders created — each change stamping the order's `update_time` with
//! the gateway's clock (never twice in one second for one order) and pushing its signed
//! message (tags 100, 101, 102, 103, 106, 200, 206) to the webhook when one is set, less
//! a dropped share ([`GatewayBuilder::push_drop`]).
//!
//! ```no_run
//! # async fn demo() -> Result<(), doudian_gateway::GatewayError> {
//! use doudian_gateway::{Gateway, PushFate};
//!
//! let gateway = Gateway::builder()
//!     .shops(10)                // shops 4463798 ..= 4463807
//!     .awaiting_orders(20_000)  // spread over them, plus the seeded 45 in the first
//!     .webhook("http://127.0.0.1:9000/push")
//!     .push_drop(0.1)           // 10% of pushes lost
//!     .search_cap(1_000)        // one order.searchList filter reaches 1,000 orders
//!     .churn_seed(7)            // the same changes every run
//!     .start()
//!     .await?;
//! // Exact steps for tests (the rate, `.churn(50.0)` or `set_churn_rate`, runs on tokio time):
//! for change in gateway.churn_steps(100) {
//!     let lost = matches!(change.push, PushFate::Dropped { .. });
//!     println!("{} {:?} -> {:?} at {} (push lost: {lost})", change.order_id, change.from, change.to, change.update_time);
//! }
//! gateway.set_churn_rate(50.0)?;
//! // ... sync, stop churn, then compare the copy with every order:
//! gateway.set_churn_rate(0.0)?;
//! let every_order = gateway.orders_dump(); // what GET /_mock/orders answers
//! # drop(every_order);
//! # Ok(()) }
//! ```
//!
//! [`RunningGateway::churn_steps_over`] spreads steps over a span of the gateway's clock
//! (and moves it): 20,000 changes in one hour, at once, each second holding its share.
//!
//! Over HTTP (loopback peers only): `POST /_mock/churn` with any of `{"rate": R,
//! "steps": K, "seconds": S, "push_drop": p}` (answers the settings, `steps_taken` and
//! the K changes; `seconds` spreads the steps as `churn_steps_over` does),
//! `GET /_mock/churn`, `GET /_mock/orders` (`{"orders": [{"shop_id", "order_id",
//! "order_status", "update_time"}, …]}` sorted by shop and order id) and `POST
//! /_mock/webhook` with `{"url": …}` or `{"url": null}`.
//!
//! # Quotas
//!
//! [`GatewayBuilder::method_qps`] limits a method to N calls a second for all clients
//! together, as the platform's per-app quota does: a token bucket holding one second's
//! worth, refilled by real (monotonic) time; a call over it is answered `60000
//! isv.traffic-limited` without being processed and counted in [`Counters::codes`] and
//! [`Counters::throttled`]. Only authenticated calls are charged (the check sits after
//! the signature and token checks and before the method).
//!
//! Modelled methods: [`STATEFUL_METHODS`]. Every other method of the spec answers with
//! its sample data from `data/samples.json` (generated from the spec).
//!
//! # Binary material upload
//!
//! The gateway plays ImageX too (PROTOCOL.md §8): `open.materialToken` answers an
//! `auth_query` URL back to the gateway (`/_imagex/?Action=ApplyImageUpload&…`, its
//! credential single-use, 15 minutes); its GET answers a store URI, an `Auth` and the
//! gateway's own `host:port` as upload host; `PUT /{store_uri}` checks `Authorization` and
//! `Content-CRC32` (lower-case hex, no leading zeros) against the streamed body and
//! answers `{"success":0,…}`, or a non-zero `success` with `error.{code,error,message}`
//! (`Crc32Mismatch`, `InvalidContentCRC32`, `InvalidAuthorization`, `NoSuchUpload`,
//! `EntityTooLarge`). `material.uploadImageSync` then accepts the store URI as `file_uri`
//! (an unknown one is 40003 `isv.parameter-invalid`). [`RunningGateway::stored_object`]
//! and [`Counters::uploads`] show what arrived; the GET and the PUT take faults under the
//! method names `imagex.apply` and `imagex.put`.
//!
//! # Faults and counters
//!
//! [`RunningGateway::inject`] switches a [`FaultRule`] on (a [`Fault`], optionally one
//! method, a number of calls, a fraction of calls); [`RunningGateway::counters`] reports
//! what arrived and what was done ([`Counters`]: calls per method, signature failures,
//! refresh outcomes, ship calls and shipments per order, ...). Faults that act before
//! processing leave the state untouched; those after processing damage only the reply.

#![recursion_limit = "512"]

mod auth;
mod churn;
mod control;
mod counters;
mod envelope;
mod error;
mod faults;
mod gateway;
mod imagex;
mod listener;
mod methods;
mod params;
mod push;
mod query;
mod quota;
mod random;
mod samples;
mod server;
mod shop;
mod state;
mod time;
mod tokens;
mod uploads;
mod validation;

pub use churn::{ChurnChange, PushFate};
pub use counters::{Counters, MethodCounts, RefreshCounts, UploadCounts};
pub use envelope::{message_for, ApiFailure};
pub use faults::{Fault, FaultId, FaultRule};
pub use gateway::{
    Gateway, GatewayBuilder, GatewayError, IssuedToken, OrderRow, OrderSnapshot, ProductSnapshot, RunningGateway,
    DEFAULT_APP_KEY, DEFAULT_APP_SECRET, DEFAULT_SHOP_ID, MAX_SHOPS,
};
pub use methods::STATEFUL_METHODS;
pub use push::{push_body, push_signature, PushDelivery, PushRecord, RefundEvent, TradeEvent};
pub use shop::{LogisticsCompany, OrderStatus};
pub use time::format_gmt8;
pub use uploads::StoredObject;

/// Every method the gateway answers: the stateful ones and every method with sample data,
/// sorted and without duplicates.
pub fn known_methods() -> Vec<&'static str> {
    let mut all: Vec<&'static str> = samples::sample_methods();
    all.extend(STATEFUL_METHODS.iter().copied());
    all.extend(doudian_sdk::catalog::METHODS.iter().map(|m| m.name));
    all.sort_unstable();
    all.dedup();
    all
}

/// How many methods have sample data embedded (0 means the SDK's samples were not
/// generated when the gateway was built).
pub fn sample_count() -> usize {
    samples::sample_count()
}

/// The logistics companies the gateway knows (order.logisticsCompanyList).
pub fn logistics_companies() -> &'static [LogisticsCompany] {
    shop::reference::LOGISTICS_COMPANIES
}
