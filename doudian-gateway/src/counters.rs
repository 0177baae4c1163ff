//! What the gateway received and did, for tests to assert on ("the order was shipped once").

use std::collections::BTreeMap;
use std::sync::Mutex;

/// Calls of one method.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MethodCounts {
    /// Requests that arrived for the method (whatever became of them).
    pub received: u64,
    /// Requests answered with code 10000 (including those whose reply a fault then damaged).
    pub succeeded: u64,
    /// Requests answered with a platform error (including injected 60000/20000).
    pub failed: u64,
}

/// What token.refresh calls did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RefreshCounts {
    /// Refreshed early: the same pair came back.
    pub same_pair: u64,
    /// Refreshed in the last window: a new pair, the old one kept for the grace period.
    pub rotated: u64,
    /// Refreshed after expiry: a new pair, the old one dead.
    pub after_expiry: u64,
    /// Refused (unknown or expired refresh token).
    pub refused: u64,
}

/// What the binary material upload endpoints did (PROTOCOL.md §8).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct UploadCounts {
    /// Upload credentials handed out by open.materialToken.
    pub tokens_issued: u64,
    /// Upload addresses handed out by `GET /_imagex/`.
    pub addresses: u64,
    /// Address requests refused (unknown, used or expired credential).
    pub address_refusals: u64,
    /// PUT requests received.
    pub puts: u64,
    /// PUTs that stored their object (a repeated PUT of the same object counts again).
    pub stored: u64,
    /// PUTs refused (unknown store URI, wrong Authorization, bad or mismatched CRC, ...).
    pub put_refusals: u64,
    /// PUTs refused because the body's CRC-32 differs from `Content-CRC32`.
    pub crc_mismatches: u64,
    /// Bytes in every stored PUT.
    pub bytes_stored: u64,
}

/// A snapshot of every counter.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Counters {
    /// All requests received.
    pub requests: u64,
    /// Per method (by the method name taken from the path).
    pub methods: BTreeMap<String, MethodCounts>,
    /// Reply codes per method: how often each `code` (10000, 60000, ...) was answered.
    pub codes: BTreeMap<String, BTreeMap<i64, u64>>,
    /// Requests refused with `isv.signature-invalid`.
    pub signature_failures: u64,
    /// Requests refused for a bad or stale timestamp.
    pub timestamp_failures: u64,
    /// Requests refused for a missing, unknown or expired access token.
    pub token_failures: u64,
    /// Tokens issued by token.create.
    pub tokens_created: u64,
    /// token.refresh outcomes.
    pub refreshes: RefreshCounts,
    /// Faults that fired, by [`crate::Fault::name`].
    pub faults: BTreeMap<&'static str, u64>,
    /// Calls refused with 60000 because their method was over its quota
    /// ([`crate::GatewayBuilder::method_qps`]), per method. Injected rate limits are in
    /// [`Counters::faults`] instead; both are in [`Counters::codes`].
    pub throttled: BTreeMap<String, u64>,
    /// order.logisticsAdd calls per order id (successful or not).
    pub ship_calls: BTreeMap<String, u64>,
    /// Successful shipments per order id (more than 1 would be a bug in a client).
    pub shipments: BTreeMap<String, u64>,
    /// Successful order.logisticsEdit calls per order id.
    pub logistics_edits: BTreeMap<String, u64>,
    /// Successful order.addOrderRemark calls per order id.
    pub remarks: BTreeMap<String, u64>,
    /// Successful afterSale.operate item operations per after-sale id.
    pub after_sale_operations: BTreeMap<String, u64>,
    /// Products created by product.addV2.
    pub products_added: u64,
    /// Push deliveries that got HTTP 200 from the webhook.
    pub pushes_delivered: u64,
    /// Push deliveries that failed (transport error or non-200).
    pub pushes_failed: u64,
    /// Push records dropped on purpose (`GatewayBuilder::push_drop`), never sent.
    pub pushes_dropped: u64,
    /// Binary material uploads.
    pub uploads: UploadCounts,
}

impl Counters {
    /// The counts of `method` (zero if never called).
    pub fn method(&self, method: &str) -> MethodCounts {
        self.methods.get(method).copied().unwrap_or_default()
    }

    /// How often `method` was answered with `code`.
    pub fn code(&self, method: &str, code: i64) -> u64 {
        self.codes.get(method).and_then(|codes| codes.get(&code)).copied().unwrap_or(0)
    }

    pub(crate) fn count_code(&mut self, method: &str, code: i64) {
        if let Some(codes) = self.codes.get_mut(method) {
            *codes.entry(code).or_default() += 1;
        } else {
            self.codes.insert(method.to_owned(), BTreeMap::from([(code, 1)]));
        }
    }
}

/// The live counters behind one lock; every update is a few map operations.
#[derive(Debug, Default)]
pub(crate) struct LiveCounters {
    inner: Mutex<Counters>,
}

impl LiveCounters {
    pub(crate) fn update<R>(&self, f: impl FnOnce(&mut Counters) -> R) -> R {
        f(&mut self.inner.lock().unwrap_or_else(|e| e.into_inner()))
    }

    pub(crate) fn snapshot(&self) -> Counters {
        self.update(|c| c.clone())
    }

    pub(crate) fn reset(&self) {
        self.update(|c| *c = Counters::default());
    }
}

pub(crate) fn bump(map: &mut BTreeMap<String, u64>, key: &str) {
    match map.get_mut(key) {
        Some(n) => *n += 1,
        None => {
            map.insert(key.to_owned(), 1);
        }
    }
}
