//! Push messages from the platform to an app's webhook (PROTOCOL.md §6): a JSON array of
//! `{tag, msg_id, data}` records (`data` a JSON-encoded string), POSTed with the headers
//! `app-id` and `event-sign` = lower-hex md5(app_key + body + app_secret); the hmac-sha256
//! variant (key = app_secret, same input) is offered for SDKs that verify it.

use hmac::{Hmac, Mac};
use md5::{Digest, Md5};
use serde::Serialize;
use serde_json::Value;
use sha2::Sha256;

use doudian_sdk::SignMethod;

/// One push record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PushRecord {
    /// The message tag (`"100"` trade created, `"102"` shipped, `"200"` refund created, ...).
    pub tag: String,
    /// The message id (unique per message; apps deduplicate on it).
    pub msg_id: String,
    /// The message data, itself JSON text.
    pub data: String,
}

impl PushRecord {
    /// A record with `tag`, `msg_id` and `data` encoded as a JSON string.
    pub fn new(tag: impl Into<String>, msg_id: impl Into<String>, data: &Value) -> Self {
        PushRecord { tag: tag.into(), msg_id: msg_id.into(), data: data.to_string() }
    }
}

/// The push body for `records`: the compact JSON array.
pub fn push_body(records: &[PushRecord]) -> String {
    // Serialising plain strings into a Vec cannot fail.
    serde_json::to_string(records).unwrap_or_else(|_| "[]".to_owned())
}

/// The `event-sign` header for `body`.
///
/// ```
/// use doudian_gateway::push_signature;
/// use doudian_sdk::SignMethod;
/// // doudian-sdk/tests/vectors/push_vectors.json, case push_md5_valid_trade_create
/// let body = r#"[{"tag":"100","msg_id":"7301234567890123456","data":"{\"p_id\":4962389765832389,\"s_ids\":[4962389765832390],\"shop_id\":4463798,\"create_time\":1700000000,\"order_status\":1,\"order_type\":0,\"biz\":2}"}]"#;
/// assert_eq!(
///     push_signature("7012345678901234567", "9f8e7d6c-5b4a-4321-8fed-cba987654321", body.as_bytes(), SignMethod::Md5),
///     "fd6327d857a0a06befb3769cd6aa5184"
/// );
/// ```
pub fn push_signature(app_key: &str, app_secret: &str, body: &[u8], method: SignMethod) -> String {
    let parts: [&[u8]; 3] = [app_key.as_bytes(), body, app_secret.as_bytes()];
    let bytes: Vec<u8> = match method {
        SignMethod::Md5 => {
            let mut md5 = Md5::new();
            parts.iter().for_each(|p| md5.update(p));
            md5.finalize().to_vec()
        }
        SignMethod::HmacSha256 => {
            // HMAC accepts keys of any length.
            let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(app_secret.as_bytes())
                .unwrap_or_else(|_| unreachable!("HMAC accepts keys of every length"));
            parts.iter().for_each(|p| mac.update(p));
            mac.finalize().into_bytes().to_vec()
        }
    };
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// What the webhook answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PushDelivery {
    /// The HTTP status.
    pub status: u16,
    /// The response body (the platform expects `{"code":0,"msg":"success"}`).
    pub body: String,
}

/// Trade (order) events the gateway can push for one of its orders.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum TradeEvent {
    /// 100 trade_TradeCreate
    Created,
    /// 101 trade_TradePaid
    Paid,
    /// 102 trade_TradeSellerShip
    SellerShipped,
    /// 103 trade_TradeSuccess
    Succeeded,
    /// 106 trade_TradeCanceled
    Canceled,
    /// 113 trade_TradeMemoModify
    MemoModified,
}

impl TradeEvent {
    /// The push tag.
    pub fn tag(self) -> u32 {
        match self {
            TradeEvent::Created => 100,
            TradeEvent::Paid => 101,
            TradeEvent::SellerShipped => 102,
            TradeEvent::Succeeded => 103,
            TradeEvent::Canceled => 106,
            TradeEvent::MemoModified => 113,
        }
    }
}

/// After-sale (refund) events the gateway can push for one of its after-sale requests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum RefundEvent {
    /// 200 refund_RefundCreated
    Created,
    /// 201 refund_RefundAgreed
    Agreed,
    /// 202 refund_ReturnApplyAgreed
    ReturnAgreed,
    /// 204 refund_RefundRefused
    Refused,
    /// 206 refund_RefundSuccess
    Succeeded,
    /// 207 refund_RefundClosed
    Closed,
}

impl RefundEvent {
    /// The push tag.
    pub fn tag(self) -> u32 {
        match self {
            RefundEvent::Created => 200,
            RefundEvent::Agreed => 201,
            RefundEvent::ReturnAgreed => 202,
            RefundEvent::Refused => 204,
            RefundEvent::Succeeded => 206,
            RefundEvent::Closed => 207,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn body_and_hmac() {
        let r = PushRecord::new("100", "1", &serde_json::json!({"p_id": 1}));
        let body = push_body(&[r]);
        assert_eq!(body, r#"[{"tag":"100","msg_id":"1","data":"{\"p_id\":1}"}]"#);
        let hmac = push_signature("k", "s", body.as_bytes(), SignMethod::HmacSha256);
        assert_eq!(hmac.len(), 64);
        assert_eq!(hmac, doudian_sdk::sign::digest(SignMethod::HmacSha256, "s", &format!("k{body}s")));
    }
}
