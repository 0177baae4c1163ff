//! Orders: order.searchList (real paging from page 0), order.orderDetail,
//! order.addOrderRemark, order.logisticsAdd (shipping), order.logisticsEdit.

use std::fmt::Write;
use std::sync::OnceLock;

use serde_json::{json, Value};

use super::order_book::OrderMut;
use super::reference::{find_company, LogisticsCompany};
use super::Shop;
use crate::envelope::ApiFailure;
use crate::params::Params;

/// The order statuses the gateway models (`order_status` on the wire).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum OrderStatus {
    /// 1 — created, awaiting payment.
    AwaitingPayment,
    /// 2 — paid, being prepared: awaiting shipment.
    AwaitingShipment,
    /// 3 — shipped.
    Shipped,
    /// 4 — cancelled.
    Canceled,
    /// 5 — completed.
    Completed,
}

impl OrderStatus {
    /// The wire value of `order_status`.
    pub fn code(self) -> i64 {
        match self {
            OrderStatus::AwaitingPayment => 1,
            OrderStatus::AwaitingShipment => 2,
            OrderStatus::Shipped => 3,
            OrderStatus::Canceled => 4,
            OrderStatus::Completed => 5,
        }
    }

    /// The status with wire value `code`.
    pub fn from_code(code: i64) -> Option<Self> {
        Some(match code {
            1 => OrderStatus::AwaitingPayment,
            2 => OrderStatus::AwaitingShipment,
            3 => OrderStatus::Shipped,
            4 => OrderStatus::Canceled,
            5 => OrderStatus::Completed,
            _ => return None,
        })
    }

    fn desc(self) -> &'static str {
        match self {
            OrderStatus::AwaitingPayment => "待支付",
            OrderStatus::AwaitingShipment => "备货中",
            OrderStatus::Shipped => "已发货",
            OrderStatus::Canceled => "已取消",
            OrderStatus::Completed => "已完成",
        }
    }

    /// `main_status`: like `order_status`, except that a paid order awaiting shipment is 105.
    fn main_status(self) -> (i64, &'static str) {
        match self {
            OrderStatus::AwaitingShipment => (105, "已支付"),
            other => (other.code(), other.desc()),
        }
    }
}

/// One parcel sent for an order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Shipment {
    pub(crate) tracking_no: String,
    pub(crate) company: &'static LogisticsCompany,
    pub(crate) ship_time: i64,
    pub(crate) delivery_id: String,
}

/// One line (SKU order) of an order.
#[derive(Debug, Clone)]
pub(crate) struct OrderLine {
    pub(crate) sku_order_id: String,
    pub(crate) product_id: i64,
    pub(crate) product_name: String,
    pub(crate) product_pic: String,
    pub(crate) sku_id: i64,
    pub(crate) code: String,
    pub(crate) spec: Vec<(String, String)>,
    pub(crate) item_num: i64,
    pub(crate) price: i64,
    pub(crate) category: [i64; 3],
}

#[derive(Debug, Clone)]
pub(crate) struct Order {
    pub(crate) order_id: String,
    pub(crate) status: OrderStatus,
    pub(crate) create_time: i64,
    pub(crate) update_time: i64,
    pub(crate) pay_time: i64,
    pub(crate) finish_time: i64,
    pub(crate) exp_ship_time: i64,
    pub(crate) cancel_reason: String,
    pub(crate) buyer_words: String,
    pub(crate) seller_words: String,
    pub(crate) seller_remark_stars: i64,
    pub(crate) post_amount: i64,
    pub(crate) receiver: (&'static str, &'static str, [&'static str; 4], &'static str),
    pub(crate) lines: Vec<OrderLine>,
    pub(crate) shipments: Vec<Shipment>,
    /// (after_sale_status, after_sale_type, refund_status) of the latest after-sale.
    pub(crate) after_sale: Option<(i64, i64, i64)>,
    /// The order rendered as JSON, kept until the order changes: a page of orders is then
    /// a concatenation instead of thousands of small allocations.
    pub(crate) rendered: OnceLock<String>,
}

impl Order {
    /// Drops the cached rendering; every change to an order goes through here.
    pub(crate) fn touch(&mut self) -> &mut Self {
        self.rendered = OnceLock::new();
        self
    }

    /// The JSON text of [`Order::to_json`], rendered once per version of the order.
    pub(crate) fn rendered(&self, shop: &Shop) -> &str {
        self.rendered.get_or_init(|| self.to_json(shop).to_string())
    }

    pub(crate) fn order_amount(&self) -> i64 {
        self.lines.iter().map(|l| l.price * l.item_num).sum::<i64>() + self.post_amount
    }

    pub(crate) fn ship_time(&self) -> i64 {
        self.shipments.first().map(|s| s.ship_time).unwrap_or(0)
    }

    /// `post_addr` (with the encrypted detail) or `mask_post_addr` (masked detail only).
    fn address(&self, masked: bool) -> Value {
        let (_, _, [province, city, town, street], _) = self.receiver;
        let part = |name: &str, id: u32| json!({"name": name, "id": id.to_string()});
        let mut address = json!({
            "province": part(province, 11), "city": part(city, 1101), "town": part(town, 110105),
            "street": part(street, 110105001),
        });
        if let Some(map) = address.as_object_mut() {
            if masked {
                map.insert("detail".to_owned(), json!("****"));
            } else {
                map.insert("detail".to_owned(), json!(""));
                map.insert("encrypt_detail".to_owned(), json!("#3Ax1#2vB9#"));
            }
        }
        address
    }

    fn line_json(&self, line: &OrderLine) -> Value {
        let (status, (main, main_desc)) = (self.status, self.status.main_status());
        let (as_status, as_type, refund_status) = self.after_sale.unwrap_or((0, 0, 0));
        let amount = line.price * line.item_num;
        json!({
            "order_id": line.sku_order_id,
            "parent_order_id": self.order_id,
            "order_level": 3,
            "biz": 2, "biz_desc": "小店",
            "order_type": 0, "order_type_desc": "普通订单",
            "trade_type": 0, "trade_type_desc": "普通",
            "order_status": status.code(), "order_status_desc": status.desc(),
            "main_status": main, "main_status_desc": main_desc,
            "pay_time": self.pay_time,
            "order_expire_time": 1800,
            "finish_time": self.finish_time,
            "create_time": self.create_time,
            "update_time": self.update_time,
            "cancel_reason": self.cancel_reason,
            "b_type": 2, "b_type_desc": "抖音",
            "sub_b_type": 3, "sub_b_type_desc": "安卓",
            "send_pay": 0, "send_pay_desc": "",
            "author_id": 0, "author_name": "",
            "theme_type": "0", "theme_type_desc": "",
            "app_id": 1128,
            "room_id": 0,
            "content_id": "0", "video_id": "", "origin_id": "0",
            "cid": line.category[2],
            "c_biz": 1, "c_biz_desc": "鲁班广告",
            "page_id": 0,
            "pay_type": 1,
            "channel_payment_no": format!("TP{}", self.order_id),
            "order_amount": amount,
            "pay_amount": amount,
            "post_insurance_amount": 0,
            "modify_amount": 0,
            "modify_post_amount": 0,
            "promotion_amount": 0,
            "promotion_shop_amount": 0,
            "promotion_platform_amount": 0,
            "shop_cost_amount": 0,
            "platform_cost_amount": 0,
            "promotion_talent_amount": 0,
            "promotion_pay_amount": 0,
            "code": line.code,
            "post_tel": "", "encrypt_post_tel": "#1kT9#abcd#",
            "post_receiver": "", "encrypt_post_receiver": "#kP2#efgh#",
            "post_addr": self.address(false),
            "exp_ship_time": self.exp_ship_time,
            "ship_time": self.ship_time(),
            "logistics_receipt_time": 0,
            "confirm_receipt_time": if status == OrderStatus::Completed { self.finish_time } else { 0 },
            "goods_type": 0,
            "product_id": line.product_id,
            "sku_id": line.sku_id,
            "spec": line.spec.iter().map(|(n, v)| json!({"name": n, "value": v})).collect::<Vec<_>>(),
            "first_cid": line.category[0], "second_cid": line.category[1], "third_cid": line.category[2], "fourth_cid": 0,
            "out_sku_id": "", "supplier_id": "", "out_product_id": "",
            "warehouse_ids": [], "out_warehouse_ids": [],
            "inventory_type": "", "inventory_type_desc": "",
            "reduce_stock_type": 1, "reduce_stock_type_desc": "下单减库存",
            "origin_amount": amount,
            "has_tax": false,
            "item_num": line.item_num,
            "sum_amount": amount,
            "source_platform": "douyin",
            "product_pic": line.product_pic,
            "is_comment": 0,
            "product_name": line.product_name,
            "inventory_list": [],
            "post_amount": 0,
            "pre_sale_type": 0,
            "after_sale_info": {"after_sale_status": as_status, "after_sale_type": as_type, "refund_status": refund_status},
            "promotion_redpack_amount": 0,
            "promotion_redpack_platform_amount": 0,
            "promotion_redpack_talent_amount": 0,
            "receive_type": 0,
            "need_serial_number": false,
            "ad_env_type": "",
            "sku_order_tag_ui": [],
            "product_id_str": line.product_id.to_string(),
            "appointment_ship_time": 0,
            "room_id_str": "0",
            "given_product_type": "",
            "master_sku_order_id": "",
            "bundle_sku_info": [],
            "author_cost_amount": 0,
            "only_platform_cost_amount": 0,
            "promise_info": "",
            "mask_post_receiver": mask_name(self.receiver.0),
            "mask_post_tel": mask_tel(self.receiver.1),
            "mask_post_addr": self.address(true),
            "master_sku_order_id_list": [],
            "tax_amount": 0,
        })
    }

    /// The shop order as order.searchList and order.orderDetail show it.
    pub(crate) fn to_json(&self, shop: &Shop) -> Value {
        let (status, (main, main_desc)) = (self.status, self.status.main_status());
        let amount = self.order_amount();
        let logistics: Vec<Value> = self
            .shipments
            .iter()
            .map(|s| {
                json!({
                    "tracking_no": s.tracking_no,
                    "company": s.company.code,
                    "ship_time": s.ship_time,
                    "delivery_id": s.delivery_id,
                    "company_name": s.company.name,
                    "product_info": self.lines.iter().map(|l| json!({
                        "product_name": l.product_name,
                        "price": l.price,
                        "outer_sku_id": "",
                        "sku_id": l.sku_id,
                        "sku_specs": l.spec.iter().map(|(n, v)| json!({"name": n, "value": v})).collect::<Vec<_>>(),
                        "product_count": l.item_num,
                        "product_id": l.product_id,
                        "sku_order_id": l.sku_order_id,
                        "product_id_str": l.product_id.to_string(),
                    })).collect::<Vec<_>>(),
                    "hour_up_pickup_code": "",
                })
            })
            .collect();
        let lines: Vec<Value> = self.lines.iter().map(|l| self.line_json(l)).collect();
        json!({
            "accept_order_status": 0,
            "shop_id": shop.shop_id,
            "shop_name": shop.shop_name,
            "open_id": "",
            "order_id": self.order_id,
            "order_level": 2,
            "biz": 2, "biz_desc": "小店",
            "order_type": 0, "order_type_desc": "普通订单",
            "trade_type": 0, "trade_type_desc": "普通",
            "order_status": status.code(), "order_status_desc": status.desc(),
            "main_status": main, "main_status_desc": main_desc,
            "pay_time": self.pay_time,
            "order_expire_time": 1800,
            "finish_time": self.finish_time,
            "create_time": self.create_time,
            "update_time": self.update_time,
            "cancel_reason": self.cancel_reason,
            "buyer_words": self.buyer_words,
            "seller_words": self.seller_words,
            "b_type": 2, "b_type_desc": "抖音",
            "sub_b_type": 3, "sub_b_type_desc": "安卓",
            "app_id": 1128,
            "pay_type": 1,
            "channel_payment_no": format!("TP{}", self.order_id),
            "order_amount": amount,
            "pay_amount": amount,
            "post_amount": self.post_amount,
            "post_insurance_amount": 0,
            "modify_amount": 0,
            "modify_post_amount": 0,
            "promotion_amount": 0,
            "promotion_shop_amount": 0,
            "promotion_platform_amount": 0,
            "shop_cost_amount": 0,
            "platform_cost_amount": 0,
            "promotion_talent_amount": 0,
            "promotion_pay_amount": 0,
            "post_tel": "", "encrypt_post_tel": "#1kT9#abcd#",
            "post_receiver": "", "encrypt_post_receiver": "#kP2#efgh#",
            "post_addr": self.address(false),
            "exp_ship_time": self.exp_ship_time,
            "ship_time": self.ship_time(),
            "logistics_info": logistics,
            "sku_order_list": lines,
            "seller_remark_stars": self.seller_remark_stars,
            "order_phase_list": [],
            "doudian_open_id": format!("1@#{}", self.receiver.3),
            "serial_number_list": [],
            "promotion_redpack_amount": 0,
            "promotion_redpack_platform_amount": 0,
            "promotion_redpack_talent_amount": 0,
            "appointment_ship_time": 0,
            "shop_order_tag_ui": [],
            "total_promotion_amount": 0,
            "post_origin_amount": self.post_amount,
            "post_promotion_amount": 0,
            "user_tag_ui": [],
            "author_cost_amount": 0,
            "only_platform_cost_amount": 0,
            "promise_info": "",
            "mask_post_receiver": mask_name(self.receiver.0),
            "mask_post_tel": mask_tel(self.receiver.1),
            "mask_post_addr": self.address(true),
        })
    }
}

fn mask_name(name: &str) -> String {
    let mut chars = name.chars();
    match chars.next() {
        Some(first) => format!("{first}{}", "*".repeat(chars.count())),
        None => String::new(),
    }
}

fn mask_tel(tel: &str) -> String {
    if tel.len() == 11 {
        format!("{}****{}", &tel[..3], &tel[7..])
    } else {
        "****".to_owned()
    }
}

/// How far back order.searchList may look: 90 days, as the platform documents ("only the
/// last 90 days can be searched"; api-spec/overrides.json, `order.searchList`).
pub(crate) const LOOK_BACK_SECS: i64 = 90 * 24 * 3600;
/// How many orders one filter of order.searchList reaches: 50,000, as the platform
/// documents ("one filter reaches at most 50,000 orders"; api-spec/overrides.json).
pub(crate) const DEFAULT_SEARCH_CAP: usize = 50_000;

/// The platform's limits on order.searchList.
///
/// Sources: the platform's documentation of order.searchList as recorded in this
/// repository's spec (api-spec/overrides.json: "only the last 90 days can be searched and
/// one filter reaches at most 50,000 orders"). How a reply past the cap looks is not
/// documented in any source we found; the gateway models it as search engines with a
/// result window do: `total` still counts every match (so a client sees that its window
/// holds more than it can page through and splits it) and a page that starts at or past
/// the cap is refused with `isv.parameter-invalid`; a page straddling it ends at it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct SearchRules {
    /// The gateway's now (Unix seconds).
    pub(crate) now: i64,
    /// Orders one filter can page through.
    pub(crate) cap: usize,
}

impl SearchRules {
    /// Refuses a start further back than 90 days before now, naming the field.
    fn check_look_back(&self, field: &str, start: Option<i64>) -> Result<(), ApiFailure> {
        match start {
            Some(start) if start < self.now - LOOK_BACK_SECS => Err(ApiFailure::parameter_invalid(format!(
                "{field} {start} is more than 90 days before now ({}): only the last 90 days can be searched",
                self.now
            ))),
            _ => Ok(()),
        }
    }
}

fn not_found(id: &str) -> ApiFailure {
    ApiFailure::parameter_invalid(format!("order {id} does not exist in this shop"))
}

/// A `combine_status` filter entry: each field is a comma-separated list (empty = any).
struct CombineStatus {
    order_status: Vec<i64>,
    main_status: Vec<i64>,
}

fn number_list(text: Option<String>, what: &str) -> Result<Vec<i64>, ApiFailure> {
    text.unwrap_or_default()
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| {
            s.parse().map_err(|_| ApiFailure::parameter_invalid(format!("combine_status.{what} `{s}` is not a number")))
        })
        .collect()
}

impl Shop {
    /// The order to change (its cached rendering is dropped).
    pub(crate) fn order_mut(&mut self, order_id: &str) -> Result<OrderMut<'_>, ApiFailure> {
        self.orders.get_mut(order_id).ok_or_else(|| not_found(order_id))
    }

    /// order.searchList: pages start at 0, at most 100 per page, newest first by default,
    /// within the platform's [`SearchRules`].
    pub(crate) fn order_search(&self, p: &Params<'_>, rules: &SearchRules) -> Result<String, ApiFailure> {
        let (page, size) = (p.i64_req("page")?, p.i64_req("size")?);
        if page < 0 {
            return Err(ApiFailure::parameter_invalid("page starts at 0"));
        }
        if !(1..=100).contains(&size) {
            return Err(ApiFailure::parameter_invalid("size must be between 1 and 100"));
        }
        let combine: Vec<CombineStatus> = p
            .object_list("combine_status")?
            .iter()
            .map(|c| {
                Ok(CombineStatus {
                    order_status: number_list(c.str_opt("order_status")?, "order_status")?,
                    main_status: number_list(c.str_opt("main_status")?, "main_status")?,
                })
            })
            .collect::<Result<_, ApiFailure>>()?;
        let (cstart, cend) = (p.i64_opt("create_time_start")?, p.i64_opt("create_time_end")?);
        let (ustart, uend) = (p.i64_opt("update_time_start")?, p.i64_opt("update_time_end")?);
        rules.check_look_back("create_time_start", cstart)?;
        rules.check_look_back("update_time_start", ustart)?;
        let product = p.str_opt("product")?;
        let tracking_no = p.str_opt("tracking_no")?;
        let order_by = p.str_opt("order_by")?.unwrap_or_else(|| "create_time".to_owned());
        if order_by != "create_time" && order_by != "update_time" {
            return Err(ApiFailure::parameter_invalid("order_by must be create_time or update_time"));
        }
        let ascending = p.bool_opt("order_asc")?.unwrap_or(false);
        let skip = page.saturating_mul(size);
        if skip >= rules.cap as i64 {
            return Err(ApiFailure::parameter_invalid(format!(
                "page * size ({page} * {size}) reaches past the {} orders one filter can page through; \
                 narrow the filter (a shorter time window)",
                rules.cap
            )));
        }
        let by_update = order_by == "update_time";
        // The range of the sort key's own filter comes from the index; every other filter
        // needs the order itself.
        let (low, high) = if by_update { (ustart, uend) } else { (cstart, cend) };
        let (other_low, other_high) = if by_update { (cstart, cend) } else { (ustart, uend) };
        let needs_order = !combine.is_empty()
            || other_low.is_some()
            || other_high.is_some()
            || product.is_some()
            || tracking_no.is_some();
        let matches = |id: &str| -> bool {
            if !needs_order {
                return true;
            }
            let Some(o) = self.orders.get(id) else { return false };
            let other = if by_update { o.create_time } else { o.update_time };
            (combine.is_empty()
                || combine.iter().any(|c| {
                    (c.order_status.is_empty() || c.order_status.contains(&o.status.code()))
                        && (c.main_status.is_empty() || c.main_status.contains(&o.status.main_status().0))
                }))
                && other_low.is_none_or(|t| other >= t)
                && other_high.is_none_or(|t| other <= t)
                && product.as_deref().is_none_or(|want| {
                    o.lines.iter().any(|l| l.product_id.to_string() == want || l.product_name.contains(want))
                })
                && tracking_no.as_deref().is_none_or(|t| o.shipments.iter().any(|s| s.tracking_no == t))
        };
        // The index orders by (time, order id): every page of one listing cuts the same
        // sequence, however many orders share a second — unless orders change in between
        // (shipping moves an order out of an `order_status` 2 filter, and every later one
        // a place forward: a client that ships while paging forward skips orders, as it
        // would on the platform).
        let index = self.orders.index(by_update);
        let (low, high) = (low.unwrap_or(i64::MIN), high.unwrap_or(i64::MAX));
        let range: Box<dyn Iterator<Item = &(i64, String)>> = if low > high {
            Box::new(std::iter::empty())
        } else {
            let from = std::ops::Bound::Included((low, String::new()));
            let to = std::ops::Bound::Excluded((high.saturating_add(1), String::new()));
            let range = index.range((from, to));
            if ascending {
                Box::new(range)
            } else {
                Box::new(range.rev())
            }
        };
        let (skip, size) = (skip as usize, size as usize);
        // Past the cap nothing is served (a page straddling it stops there).
        let take = size.min(rules.cap - skip);
        let mut total = 0usize;
        let mut page_ids: Vec<&str> = Vec::with_capacity(take);
        for (_, id) in range {
            if matches(id) {
                if total >= skip && page_ids.len() < take {
                    page_ids.push(id);
                }
                total += 1;
            }
        }
        let mut out = String::with_capacity(64 + page_ids.len() * 8192);
        // Writing into a String cannot fail.
        let _ = write!(out, r#"{{"page":{page},"size":{size},"total":{total},"shop_order_list":["#);
        for (i, order) in page_ids.into_iter().filter_map(|id| self.orders.get(id)).enumerate() {
            if i > 0 {
                out.push(',');
            }
            out.push_str(order.rendered(self));
        }
        out.push_str("]}");
        Ok(out)
    }

    /// order.orderDetail
    pub(crate) fn order_detail(&self, p: &Params<'_>) -> Result<String, ApiFailure> {
        let id = p.str_req("shop_order_id")?;
        let order = self.orders.get(&id).ok_or_else(|| not_found(&id))?;
        Ok(format!(r#"{{"shop_order_detail":{}}}"#, order.rendered(self)))
    }

    /// order.addOrderRemark: sets the seller remark (and the star flag when asked).
    pub(crate) fn order_add_remark(&mut self, p: &Params<'_>, now: i64) -> Result<(String, Value), ApiFailure> {
        let id = p.str_req("order_id")?;
        let remark = p.str_req("remark")?;
        let add_star = p.bool_opt("is_add_star")?.unwrap_or(false);
        let star = match p.i64_opt("star")? {
            Some(s) if (0..=5).contains(&s) => Some(s),
            Some(s) => return Err(ApiFailure::parameter_invalid(format!("star must be 0..=5, got {s}"))),
            None => None,
        };
        let mut order = self.order_mut(&id)?;
        order.seller_words = remark;
        if add_star {
            order.seller_remark_stars = star.unwrap_or(0);
        }
        order.update_time = now;
        Ok((id, json!({})))
    }

    /// order.logisticsAdd: ships an order awaiting shipment (status 2 -> 3).
    pub(crate) fn order_ship(&mut self, p: &Params<'_>, now: i64) -> Result<Value, ApiFailure> {
        let id = p.str_req("order_id")?;
        let company = find_company(p)?;
        let tracking_no = p.str_req("logistics_code")?;
        let delivery_id = self.new_id(7_100).to_string();
        let mut order = self.order_mut(&id)?;
        match order.status {
            OrderStatus::AwaitingShipment => {}
            OrderStatus::Shipped | OrderStatus::Completed => {
                return Err(ApiFailure::business(
                    "order-already-shipped",
                    format!("order {id} has already been shipped"),
                ))
            }
            OrderStatus::AwaitingPayment => {
                return Err(ApiFailure::business("order-not-paid", format!("order {id} is not paid yet")))
            }
            OrderStatus::Canceled => {
                return Err(ApiFailure::business("order-canceled", format!("order {id} is cancelled")))
            }
        }
        order.status = OrderStatus::Shipped;
        order.update_time = now;
        order.shipments = vec![Shipment { tracking_no, company, ship_time: now, delivery_id }];
        Ok(json!({}))
    }

    /// order.logisticsEdit: corrects the tracking number or company of a shipped order.
    pub(crate) fn order_edit_logistics(&mut self, p: &Params<'_>, now: i64) -> Result<Value, ApiFailure> {
        let id = p.str_req("order_id")?;
        let company = find_company(p)?;
        let tracking_no = p.str_req("logistics_code")?;
        let mut order = self.order_mut(&id)?;
        if order.status != OrderStatus::Shipped {
            return Err(ApiFailure::business(
                "order-not-shipped",
                format!("order {id} is not in the shipped state; only shipped orders can have their shipment edited"),
            ));
        }
        let shipment = order
            .shipments
            .first_mut()
            .ok_or_else(|| ApiFailure::business("order-not-shipped", format!("order {id} has no shipment")))?;
        shipment.tracking_no = tracking_no;
        shipment.company = company;
        order.update_time = now;
        Ok(json!({}))
    }
}
