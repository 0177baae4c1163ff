//! The `data` of push messages about the shop's orders and after-sale requests, with the
//! field names of the platform's messages (catalog `messages`).

use serde_json::{json, Value};

use super::orders::OrderStatus;
use super::Shop;
use crate::push::{RefundEvent, TradeEvent};

impl Shop {
    /// The data of a trade message about `order_id`, if the order exists.
    pub(crate) fn trade_event_data(&self, event: TradeEvent, order_id: &str, now: i64) -> Option<Value> {
        let order = self.orders.get(order_id)?;
        let p_id: i64 = order.order_id.parse().ok()?;
        let s_ids: Vec<i64> = order.lines.iter().filter_map(|l| l.sku_order_id.parse().ok()).collect();
        let mut data = json!({
            "p_id": p_id,
            "s_ids": s_ids,
            "shop_id": self.shop_id,
            "store_id": 0,
            "order_status": order.status.code(),
            "order_type": 0,
            "biz": 2,
        });
        let extra = match event {
            TradeEvent::Created => json!({"create_time": order.create_time}),
            TradeEvent::Paid => json!({"pay_time": order.pay_time, "pay_amount": order.order_amount(), "pay_type": 1}),
            TradeEvent::SellerShipped => {
                let shipment = order.shipments.first();
                json!({
                    "logistics_msg": {
                        "express_company_id": shipment.map(|s| s.company.id.to_string()).unwrap_or_default(),
                        "logistics_code": shipment.map(|s| s.tracking_no.clone()).unwrap_or_default(),
                    },
                    "receiver_msg": {"addr": "#3Ax1#2vB9#", "name": "#kP2#efgh#", "tel": "#1kT9#abcd#"},
                    "update_time": order.update_time,
                })
            }
            TradeEvent::Succeeded => {
                json!({"complete_time": if order.status == OrderStatus::Completed { order.finish_time } else { now }})
            }
            TradeEvent::Canceled => json!({"cancel_reason": order.cancel_reason, "cancel_time": order.update_time}),
            TradeEvent::MemoModified => {
                return Some(json!({
                    "p_id": p_id, "shop_id": self.shop_id, "remark": order.seller_words,
                    "star": order.seller_remark_stars, "update_time": order.update_time,
                }))
            }
        };
        if let (Some(map), Value::Object(more)) = (data.as_object_mut(), extra) {
            map.extend(more);
        }
        Some(data)
    }

    /// The data of a refund message about after-sale `aftersale_id`, if it exists.
    pub(crate) fn refund_event_data(&self, event: RefundEvent, aftersale_id: i64) -> Option<Value> {
        let a = self.after_sales.get(&aftersale_id)?;
        let mut data = json!({
            "aftersale_id": a.aftersale_id,
            "aftersale_status": a.status,
            "aftersale_type": a.kind,
            "p_id": a.order_id.parse::<i64>().ok()?,
            "s_id": a.sku_order_id.parse::<i64>().ok()?,
            "shop_id": self.shop_id,
            "reason_code": 1,
            "refund_amount": a.refund_amount,
            "refund_post_amount": 0,
            "refund_voucher_num": 0,
        });
        let (key, at) = match event {
            RefundEvent::Created => ("apply_time", a.apply_time),
            RefundEvent::Agreed | RefundEvent::ReturnAgreed => ("agree_time", a.update_time),
            RefundEvent::Refused => ("refuse_time", a.update_time),
            RefundEvent::Succeeded => ("success_time", a.update_time),
            RefundEvent::Closed => ("close_time", a.update_time),
        };
        if let Some(map) = data.as_object_mut() {
            map.insert(key.to_owned(), json!(at));
        }
        Some(data)
    }
}
