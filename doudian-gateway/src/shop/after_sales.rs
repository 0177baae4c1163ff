//! After-sale requests: afterSale.List (pages from 0) and afterSale.operate.

use serde_json::{json, Value};

use super::Shop;
use crate::envelope::ApiFailure;
use crate::params::Params;
use crate::time::format_gmt8;

/// Awaiting the seller's decision.
pub(crate) const AS_PENDING: i64 = 6;
/// Return agreed: waiting for the buyer to send the goods back.
pub(crate) const AS_AWAITING_RETURN: i64 = 7;
/// The buyer sent the goods back: waiting for the seller to receive them.
pub(crate) const AS_RETURN_SHIPPED: i64 = 11;
/// Refunded.
pub(crate) const AS_SUCCEEDED: i64 = 12;
/// The seller rejected the request.
pub(crate) const AS_REJECTED: i64 = 27;
/// The seller refused the refund after the return.
pub(crate) const AS_REFUND_REFUSED: i64 = 29;

/// Return goods and refund.
pub(crate) const TYPE_RETURN_AND_REFUND: i64 = 0;
/// Refund only, goods already shipped.
pub(crate) const TYPE_REFUND_SHIPPED: i64 = 1;
/// Refund only, goods not shipped.
pub(crate) const TYPE_REFUND_UNSHIPPED: i64 = 2;

fn status_text(status: i64) -> &'static str {
    match status {
        AS_PENDING => "待商家处理",
        AS_AWAITING_RETURN => "待买家退货",
        AS_RETURN_SHIPPED => "待商家收货",
        AS_SUCCEEDED => "退款成功",
        AS_REJECTED => "商家拒绝",
        AS_REFUND_REFUSED => "退货后拒绝退款",
        _ => "售后处理中",
    }
}

fn type_text(kind: i64) -> &'static str {
    match kind {
        TYPE_RETURN_AND_REFUND => "退货退款",
        TYPE_REFUND_SHIPPED => "已发货仅退款",
        TYPE_REFUND_UNSHIPPED => "未发货仅退款",
        _ => "换货",
    }
}

/// Refund status of an after-sale: 1 pending, 3 refunded, 4 refused/closed.
fn refund_status(status: i64) -> i64 {
    match status {
        AS_SUCCEEDED => 3,
        AS_REJECTED | AS_REFUND_REFUSED => 4,
        _ => 1,
    }
}

#[derive(Debug, Clone)]
pub(crate) struct AfterSale {
    pub(crate) aftersale_id: i64,
    pub(crate) order_id: String,
    pub(crate) sku_order_id: String,
    pub(crate) kind: i64,
    pub(crate) status: i64,
    pub(crate) refund_amount: i64,
    pub(crate) reason: &'static str,
    pub(crate) apply_time: i64,
    pub(crate) update_time: i64,
    /// (content, time)
    pub(crate) seller_logs: Vec<(String, i64)>,
}

impl AfterSale {
    pub(crate) fn refund_status(&self) -> i64 {
        refund_status(self.status)
    }

    fn to_json(&self, shop: &Shop) -> Value {
        let order = shop.orders.get(&self.order_id);
        let related: Vec<Value> = order
            .into_iter()
            .flat_map(|o| o.lines.iter().filter(|l| l.sku_order_id == self.sku_order_id).map(move |l| (o, l)))
            .map(|(o, l)| {
                json!({
                    "sku_order_id": l.sku_order_id,
                    "order_status": o.status.code(),
                    "pay_amount": l.price * l.item_num,
                    "post_amount": 0,
                    "item_num": l.item_num,
                    "create_time": o.create_time,
                    "tax_amount": 0,
                    "is_oversea_order": 0,
                    "product_name": l.product_name,
                    "product_id": l.product_id,
                    "product_image": l.product_pic,
                    "tags": [],
                    "sku_spec": l.spec.iter().map(|(n, v)| json!({"name": n, "value": v})).collect::<Vec<_>>(),
                    "shop_sku_code": l.code,
                    "logistics_code": o.shipments.first().map(|s| s.tracking_no.as_str()).unwrap_or(""),
                    "aftersale_pay_amount": self.refund_amount,
                    "aftersale_post_amount": 0,
                    "aftersale_tax_amount": 0,
                    "aftersale_item_num": l.item_num,
                    "promotion_pay_amount": 0,
                    "price": l.price,
                    "logistics_company_name": o.shipments.first().map(|s| s.company.name).unwrap_or(""),
                    "given_sku_order_ids": [],
                })
            })
            .collect();
        let deadline = if matches!(self.status, AS_PENDING | AS_AWAITING_RETURN | AS_RETURN_SHIPPED) {
            self.update_time + 48 * 3600
        } else {
            0
        };
        json!({
            "aftersale_info": {
                "aftersale_id": self.aftersale_id.to_string(),
                "aftersale_order_type": 1,
                "aftersale_type": self.kind,
                "aftersale_status": self.status,
                "related_id": self.sku_order_id,
                "apply_time": self.apply_time,
                "update_time": self.update_time,
                "status_deadline": deadline,
                "refund_amount": self.refund_amount,
                "refund_post_amount": 0,
                "aftersale_num": 1,
                "part_type": 0,
                "aftersale_refund_type": 1,
                "refund_type": 1,
                "arbitrate_status": 0,
                "create_time": self.apply_time,
                "refund_tax_amount": 0,
                "left_urge_sms_count": 3,
                "return_logistics_code": "",
                "risk_decision_code": 0,
                "risk_decision_reason": "",
                "risk_decision_description": "",
                "return_promotion_amount": 0,
                "refund_status": self.refund_status(),
                "arbitrate_blame": 0,
                "return_logistics_company_name": "",
                "exchange_logistics_company_name": "",
                "remark": "",
                "got_pkg": i64::from(self.kind != TYPE_REFUND_UNSHIPPED),
                "order_logistics": [],
                "is_agree_refuse_sign": 0,
                "reason_second_labels": [],
                "aftersale_tags": [],
                "store_id": 0,
                "store_name": "",
                "aftersale_sub_type": 0,
            },
            "order_info": {
                "shop_order_id": self.order_id,
                "related_order_info": related,
                "order_flag": 0,
            },
            "text_part": {
                "logistics_text": "",
                "aftersale_status_text": status_text(self.status),
                "aftersale_type_text": type_text(self.kind),
                "return_logistics_text": "",
                "aftersale_refund_type_text": "原路退回",
                "reason_text": self.reason,
                "bad_item_text": "",
                "arbitrate_status_text": "",
            },
            "seller_logs": self.seller_logs.iter().map(|(content, at)| json!({
                "content": content, "op_name": "商家", "create_time": format_gmt8(*at as u64), "star": 0,
            })).collect::<Vec<_>>(),
        })
    }
}

/// What an afterSale.operate `type` does: (allowed from statuses, new status, log text).
fn operation(kind: i64) -> Option<(&'static [i64], i64, &'static str)> {
    Some(match kind {
        101 => (&[AS_PENDING], AS_SUCCEEDED, "同意仅退款"),
        102 => (&[AS_PENDING], AS_REJECTED, "拒绝仅退款"),
        111 => (&[AS_PENDING], AS_AWAITING_RETURN, "同意退货申请"),
        112 => (&[AS_PENDING], AS_REJECTED, "拒绝退货申请"),
        201 => (&[AS_AWAITING_RETURN, AS_RETURN_SHIPPED], AS_SUCCEEDED, "确认收货并退款"),
        202 => (&[AS_RETURN_SHIPPED], AS_REFUND_REFUSED, "拒绝退款"),
        _ => return None,
    })
}

impl Shop {
    /// afterSale.List
    pub(crate) fn after_sale_list(&self, p: &Params<'_>) -> Result<Value, ApiFailure> {
        let (page, size) = (p.i64_req("page")?, p.i64_req("size")?);
        if page < 0 {
            return Err(ApiFailure::parameter_invalid("page starts at 0"));
        }
        if !(1..=100).contains(&size) {
            return Err(ApiFailure::parameter_invalid("size must be between 1 and 100"));
        }
        let order_id = p.str_opt("order_id")?;
        let aftersale_id = p.str_opt("aftersale_id")?;
        let kind = p.i64_opt("aftersale_type")?;
        let status = p.i64_opt("aftersale_status")?;
        let statuses: Vec<i64> =
            p.str_list("standard_aftersale_status")?.iter().filter_map(|s| s.parse().ok()).collect();
        let (start, end) = (p.i64_opt("start_time")?, p.i64_opt("end_time")?);
        let (ustart, uend) = (p.i64_opt("update_start_time")?, p.i64_opt("update_end_time")?);
        let mut matching: Vec<&AfterSale> = self
            .after_sales
            .values()
            .filter(|a| order_id.as_deref().is_none_or(|o| a.order_id == o))
            .filter(|a| aftersale_id.as_deref().is_none_or(|id| a.aftersale_id.to_string() == id))
            .filter(|a| kind.is_none_or(|k| a.kind == k))
            .filter(|a| status.is_none_or(|s| a.status == s))
            .filter(|a| statuses.is_empty() || statuses.contains(&a.status))
            .filter(|a| start.is_none_or(|t| a.apply_time >= t) && end.is_none_or(|t| a.apply_time <= t))
            .filter(|a| ustart.is_none_or(|t| a.update_time >= t) && uend.is_none_or(|t| a.update_time <= t))
            .collect();
        matching.sort_by(|a, b| b.apply_time.cmp(&a.apply_time).then(b.aftersale_id.cmp(&a.aftersale_id)));
        let total = matching.len() as i64;
        let start_at = (page * size) as usize;
        let items: Vec<Value> = matching.iter().skip(start_at).take(size as usize).map(|a| a.to_json(self)).collect();
        let has_more = (start_at + items.len()) < total as usize;
        Ok(json!({"items": items, "has_more": has_more, "total": total, "page": page, "size": size}))
    }

    /// afterSale.operate: applies `type` to each item; per-item results, as the platform does.
    /// Returns the data and the ids that changed.
    pub(crate) fn after_sale_operate(&mut self, p: &Params<'_>, now: i64) -> Result<(Value, Vec<i64>), ApiFailure> {
        let kind = p.i64_req("type")?;
        p.require("items")?;
        let items = p.object_list("items")?;
        if items.is_empty() {
            return Err(ApiFailure::parameter_missing("items"));
        }
        let (allowed, next, text) = operation(kind)
            .ok_or_else(|| ApiFailure::parameter_invalid(format!("unsupported operation type {kind}")))?;
        let mut results = Vec::with_capacity(items.len());
        let mut changed = Vec::new();
        for item in &items {
            let raw_id = item.str_req("aftersale_id")?;
            let id: i64 = raw_id
                .parse()
                .map_err(|_| ApiFailure::parameter_invalid(format!("aftersale_id `{raw_id}` is not a number")))?;
            let (code, msg) = match self.after_sales.get_mut(&id) {
                None => (1, "售后单不存在".to_owned()),
                Some(a) if !allowed.contains(&a.status) => {
                    (2, format!("当前售后状态（{}）不允许该操作", status_text(a.status)))
                }
                Some(a) => {
                    a.status = next;
                    a.update_time = now;
                    let remark = item.str_opt("remark")?.or(item.str_opt("reason")?).unwrap_or_default();
                    a.seller_logs.push((format!("{text} {remark}").trim().to_owned(), now));
                    changed.push(id);
                    (0, "成功".to_owned())
                }
            };
            results.push(json!({"aftersale_id": id, "status_code": code, "status_msg": msg}));
        }
        for id in &changed {
            let (order_id, status, kind) = {
                let a = &self.after_sales[id];
                (a.order_id.clone(), a.status, a.kind)
            };
            if let Some(mut order) = self.orders.get_mut(&order_id) {
                order.after_sale = Some((status, kind, refund_status(status)));
                order.update_time = now;
            }
        }
        Ok((json!({"items": results}), changed))
    }
}
