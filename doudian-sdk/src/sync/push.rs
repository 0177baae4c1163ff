//! Which order a push is about: the trade (`1xx`) and refund (`2xx`) tags carry the shop
//! order id as `p_id` and the shop as `shop_id`.

use serde_json::Value;

use crate::push::PushRecord;

/// The order a push record names.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct PushOrder {
    /// The shop, as text.
    pub shop_id: String,
    /// The shop order id (`p_id`), as text.
    pub order_id: String,
}

impl PushOrder {
    /// The order of a trade or refund push; `None` for other tags, the test push, and
    /// records without a `p_id` or `shop_id`.
    pub fn of(record: &PushRecord) -> Option<PushOrder> {
        let tag = record.tag_number()?;
        if !(100..300).contains(&tag) {
            return None;
        }
        let data: Value = serde_json::from_str(&record.data).ok()?;
        Some(PushOrder { shop_id: id_text(data.get("shop_id")?)?, order_id: id_text(data.get("p_id")?)? })
    }
}

/// An id sent as a number or as a string of it.
fn id_text(value: &Value) -> Option<String> {
    match value {
        Value::Number(n) => Some(n.to_string()),
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trade_and_refund_pushes_name_their_order() {
        let paid = PushRecord::new("101", "m1", r#"{"p_id":6928371650000000000,"shop_id":4463798,"s_ids":[1]}"#);
        assert_eq!(
            PushOrder::of(&paid),
            Some(PushOrder { shop_id: "4463798".into(), order_id: "6928371650000000000".into() })
        );
        let refund = PushRecord::new("200", "m2", r#"{"p_id":"6928371650000000010","shop_id":"4463798"}"#);
        assert_eq!(PushOrder::of(&refund).map(|p| p.order_id), Some("6928371650000000010".into()));
    }

    #[test]
    fn other_pushes_name_no_order() {
        for record in [
            PushRecord::new("0", "0", "2026-01-01 00:00:00"),
            PushRecord::new("400", "m", r#"{"p_id":1,"shop_id":2}"#),
            PushRecord::new("99", "m", r#"{"p_id":1,"shop_id":2}"#),
            PushRecord::new("101", "m", r#"{"shop_id":2}"#),
            PushRecord::new("101", "m", r#"{"p_id":"","shop_id":2}"#),
            PushRecord::new("101", "m", "not json"),
        ] {
            assert_eq!(PushOrder::of(&record), None, "{record:?}");
        }
    }
}
