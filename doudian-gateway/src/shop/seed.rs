//! The seeded working set: five products, 45 orders in every status, eight after-sale
//! requests. Deterministic (the same ids and texts every run), dated relative to start-up
//! so that time filters behave like on a live shop. On request, any number of extra
//! orders awaiting shipment, built the same way (for batch-shipping benchmarks).

use super::after_sales::{
    AfterSale, AS_AWAITING_RETURN, AS_PENDING, AS_REJECTED, AS_RETURN_SHIPPED, AS_SUCCEEDED, TYPE_REFUND_SHIPPED,
    TYPE_REFUND_UNSHIPPED, TYPE_RETURN_AND_REFUND,
};
use super::orders::{Order, OrderLine, OrderStatus, Shipment};
use super::products::{parse_specs, Product, Sku, STATUS_OFFLINE, STATUS_ONLINE};
use super::reference::{category_path, LOGISTICS_COMPANIES};
use super::Shop;

const HOUR: i64 = 3600;
const DAY: i64 = 24 * HOUR;

/// How many orders the seed creates, and how many of them await shipment.
pub(crate) const SEED_ORDERS: usize = 45;
/// The id of the first seeded order; the i-th is this + 7919·i, its SKU orders + 1, + 2
/// and its delivery + 50 (all below `SEED_ORDER_BASE` + 350,000).
const SEED_ORDER_BASE: i64 = 6_928_371_640_000_000_000;
/// The id of the first extra order awaiting shipment (`add_awaiting_orders`), 10^13 above
/// the seeded ones so that no id of either set can meet the other's.
pub(crate) const EXTRA_ORDER_BASE: i64 = 6_928_371_650_000_000_000;
/// Extra orders are this far apart (an order id, then its SKU order ids + 1 and + 2).
const EXTRA_ORDER_STEP: i64 = 10;
/// Extra orders are created this many seconds apart, so every one has its own
/// create_time (and `create_time_start`/`_end` windows cut between them).
const EXTRA_ORDER_SPACING_SECS: i64 = 13;
/// The most extra orders a gateway takes (ids and create times stay plausible; memory is
/// about 1 KB an order, plus about 6 KB for its cached rendering once it was listed).
pub(crate) const MAX_EXTRA_ORDERS: usize = 1_000_000;
#[cfg(test)]
pub(crate) const SEED_AWAITING_SHIPMENT: usize = 20;

struct ProductSeed {
    name: &'static str,
    description: &'static str,
    leaf: i64,
    specs: &'static str,
    price: i64,
    stock: i64,
    status: i64,
    brand_id: i64,
}

const PRODUCTS: &[ProductSeed] = &[
    ProductSeed {
        name: "纯棉圆领短袖T恤",
        description: "100%新疆长绒棉，亲肤透气",
        leaf: 20002,
        specs: "颜色|白色,黑色^尺码|M,L",
        price: 5900,
        stock: 120,
        status: STATUS_ONLINE,
        brand_id: 7_001_001,
    },
    ProductSeed {
        name: "降噪蓝牙耳机 Pro",
        description: "主动降噪，30小时续航",
        leaf: 20102,
        specs: "颜色|月光白,曜石黑",
        price: 19900,
        stock: 40,
        status: STATUS_ONLINE,
        brand_id: 7_001_003,
    },
    ProductSeed {
        name: "明前龙井绿茶 250g",
        description: "当季新茶，罐装密封",
        leaf: 20202,
        specs: "规格|250g",
        price: 8800,
        stock: 300,
        status: STATUS_ONLINE,
        brand_id: 7_001_002,
    },
    ProductSeed {
        name: "手绘陶瓷马克杯",
        description: "釉下彩，可微波炉加热",
        leaf: 20302,
        specs: "颜色|白色,雾蓝,樱粉",
        price: 3900,
        stock: 75,
        status: STATUS_ONLINE,
        brand_id: 0,
    },
    ProductSeed {
        name: "轻量运动双肩包",
        description: "防泼水面料，15.6寸电脑仓",
        leaf: 20402,
        specs: "颜色|黑色,深灰",
        price: 12900,
        stock: 0,
        status: STATUS_OFFLINE,
        brand_id: 7_001_004,
    },
];

type Receiver = (&'static str, &'static str, [&'static str; 4], &'static str);

const RECEIVERS: &[Receiver] = &[
    ("张伟", "13800138000", ["北京市", "北京市", "朝阳区", "建外街道"], "u1"),
    ("李娜", "13912345678", ["上海市", "上海市", "浦东新区", "陆家嘴街道"], "u2"),
    ("王芳", "13700001111", ["广东省", "深圳市", "南山区", "粤海街道"], "u3"),
    ("刘洋", "15000002222", ["浙江省", "杭州市", "西湖区", "文新街道"], "u4"),
    ("陈静", "18600003333", ["四川省", "成都市", "武侯区", "玉林街道"], "u5"),
];

pub(crate) fn seed(shop: &mut Shop, now: i64) {
    seed_products(shop, now);
    seed_orders(shop, now);
    seed_after_sales(shop, now);
}

pub(crate) fn seed_products(shop: &mut Shop, now: i64) {
    for (i, seed) in PRODUCTS.iter().enumerate() {
        // parse_specs only fails on malformed text; the seed texts are fixed and tested.
        let groups = parse_specs(shop, seed.specs).unwrap_or_default();
        let mut combos: Vec<Vec<(i64, String, String)>> = vec![Vec::new()];
        for group in &groups {
            combos = combos
                .into_iter()
                .flat_map(|prefix| {
                    group.values.iter().map(move |(id, value)| {
                        let mut next = prefix.clone();
                        next.push((*id, group.name.clone(), value.clone()));
                        next
                    })
                })
                .collect();
        }
        let created = now - (60 - i as i64 * 7) * DAY;
        let skus: Vec<Sku> = combos
            .into_iter()
            .enumerate()
            .map(|(k, spec)| Sku {
                id: shop.new_id(1_750),
                out_sku_id: 0,
                outer_sku_id: format!("SKU-{}-{}", i + 1, k + 1),
                code: format!("C{:02}{:02}", i + 1, k + 1),
                spec,
                price: seed.price,
                stock_num: seed.stock,
                create_time: created,
            })
            .collect();
        let product = Product {
            product_id: shop.new_id(3_600),
            out_product_id: 0,
            outer_product_id: format!("P-{}", i + 1),
            name: seed.name.to_owned(),
            description: seed.description.to_owned(),
            pics: vec![format!("https://p3-aio.ecombdimg.com/obj/gateway/product-{}.jpg", i + 1)],
            status: seed.status,
            check_status: 3,
            category_leaf_id: seed.leaf,
            product_type: 0,
            pay_type: 1,
            reduce_type: 1,
            freight_id: 0,
            brand_id: seed.brand_id,
            mobile: "40012345678".to_owned(),
            recommend_remark: String::new(),
            market_price: seed.price,
            discount_price: seed.price,
            spec_id: shop.new_id(1_690),
            specs: groups,
            skus,
            create_time: created,
            update_time: created + DAY,
        };
        shop.products.insert(product.product_id, product);
    }
}

/// The status of the i-th seeded order: 20 awaiting shipment, 10 shipped, 7 completed,
/// 4 cancelled, 4 awaiting payment, interleaved so every page mixes them.
fn seeded_status(i: usize) -> OrderStatus {
    let slot = (i * 7) % SEED_ORDERS;
    match slot {
        0..20 => OrderStatus::AwaitingShipment,
        20..30 => OrderStatus::Shipped,
        30..37 => OrderStatus::Completed,
        37..41 => OrderStatus::Canceled,
        _ => OrderStatus::AwaitingPayment,
    }
}

fn seed_orders(shop: &mut Shop, now: i64) {
    let products: Vec<Product> = shop.products.values().cloned().collect();
    for i in 0..SEED_ORDERS {
        let base: i64 = SEED_ORDER_BASE + i as i64 * 7919;
        let create_time = now - 2 * HOUR - i as i64 * 15 * HOUR - (i as i64 * 37) % HOUR;
        let order = build_order(&products, i, base, seeded_status(i), create_time, now);
        shop.orders.insert(order);
    }
}

/// The order lines of the i-th order: one product (two for every fourth order), one of
/// its SKUs, 1 to 3 pieces; SKU order ids follow the order id (`base` + 1, + 2).
fn order_lines(products: &[Product], i: usize, base: i64) -> Vec<OrderLine> {
    let mut lines = Vec::new();
    let mut picks = vec![i % products.len()];
    if i.is_multiple_of(4) {
        picks.push((i + 2) % products.len());
    }
    for (n, pick) in picks.into_iter().enumerate() {
        let product = &products[pick];
        let sku = &product.skus[i % product.skus.len()];
        let path = category_path(product.category_leaf_id);
        let cid = |k: usize| path.get(k).map(|c| c.0).unwrap_or(0);
        lines.push(OrderLine {
            sku_order_id: (base + 1 + n as i64).to_string(),
            product_id: product.product_id,
            product_name: product.name.clone(),
            product_pic: product.pics.first().cloned().unwrap_or_default(),
            sku_id: sku.id,
            code: sku.code.clone(),
            spec: sku.spec.iter().map(|(_, g, v)| (g.clone(), v.clone())).collect(),
            item_num: 1 + (i % 3) as i64,
            price: sku.price,
            category: [cid(0), cid(1), cid(2)],
        });
    }
    lines
}

/// The i-th order (`i` varies products, receiver, postage and buyer words), with id
/// `base`, in `status`, created at `create_time`; paid two minutes later unless unpaid.
pub(crate) fn build_order(
    products: &[Product],
    i: usize,
    base: i64,
    status: OrderStatus,
    create_time: i64,
    now: i64,
) -> Order {
    let lines = order_lines(products, i, base);
    let paid = !matches!(status, OrderStatus::AwaitingPayment | OrderStatus::Canceled);
    let pay_time = if paid { create_time + 120 } else { 0 };
    let shipped = matches!(status, OrderStatus::Shipped | OrderStatus::Completed);
    let ship_time = if shipped { (pay_time + 20 * HOUR).min(now - 60) } else { 0 };
    let shipments = if shipped {
        let company = &LOGISTICS_COMPANIES[i % LOGISTICS_COMPANIES.len()];
        vec![Shipment {
            tracking_no: format!("{}{:012}", company.code[..2].to_uppercase(), 7_731_000_000 + i as u64 * 97),
            company,
            ship_time,
            delivery_id: (base + 50).to_string(),
        }]
    } else {
        Vec::new()
    };
    let finish_time = if status == OrderStatus::Completed { (ship_time + 3 * DAY).min(now - 30) } else { 0 };
    let cancel_reason = if status == OrderStatus::Canceled { "买家不想要了".to_owned() } else { String::new() };
    let update_time =
        create_time.max(pay_time).max(ship_time).max(finish_time) + i64::from(status == OrderStatus::Canceled) * HOUR;
    Order {
        order_id: base.to_string(),
        status,
        create_time,
        update_time: update_time.min(now),
        pay_time,
        finish_time,
        exp_ship_time: if paid { pay_time + 48 * HOUR } else { 0 },
        cancel_reason,
        buyer_words: if i % 5 == 1 { "请尽快发货，谢谢".to_owned() } else { String::new() },
        seller_words: String::new(),
        seller_remark_stars: 0,
        post_amount: if i.is_multiple_of(3) { 0 } else { 600 },
        receiver: RECEIVERS[i % RECEIVERS.len()],
        lines,
        shipments,
        after_sale: None,
        rendered: std::sync::OnceLock::new(),
    }
}

/// Adds orders awaiting shipment (`GatewayBuilder::awaiting_orders`), built like the
/// seeded ones from the shop's products on sale: of the `n` orders spread over `shops`
/// shops, this shop takes every k-th with k % `shops` == `slot`. The k-th has id
/// [`EXTRA_ORDER_BASE`] + 10·k (SKU order ids + 1, + 2) and was created 5 min + 13 s·k
/// before `now`, paid two minutes later. Deterministic for a given `now`. Fails when the
/// shop has no product on sale to order.
pub(crate) fn add_awaiting_orders(
    shop: &mut Shop,
    n: usize,
    now: i64,
    slot: usize,
    shops: usize,
) -> Result<(), String> {
    if n == 0 || slot >= n {
        return Ok(());
    }
    let products = products_on_sale(shop);
    if products.is_empty() {
        return Err("orders awaiting shipment need products on sale; the shop has none".to_owned());
    }
    for k in (slot..n).step_by(shops.max(1)) {
        let base = EXTRA_ORDER_BASE + k as i64 * EXTRA_ORDER_STEP;
        let create_time = now - 5 * 60 - k as i64 * EXTRA_ORDER_SPACING_SECS;
        let order = build_order(&products, k, base, OrderStatus::AwaitingShipment, create_time, now);
        shop.orders.insert(order);
    }
    Ok(())
}

/// The products an order can be built from (on sale, with SKUs).
pub(crate) fn products_on_sale(shop: &Shop) -> Vec<Product> {
    shop.products.values().filter(|p| p.status == STATUS_ONLINE && !p.skus.is_empty()).cloned().collect()
}

fn seed_after_sales(shop: &mut Shop, now: i64) {
    // (order status to pick from, nth such order, type, status, reason)
    let plan: &[(OrderStatus, usize, i64, i64, &str)] = &[
        (OrderStatus::Shipped, 0, TYPE_REFUND_SHIPPED, AS_PENDING, "不想要了"),
        (OrderStatus::Shipped, 1, TYPE_RETURN_AND_REFUND, AS_PENDING, "尺码不合适"),
        (OrderStatus::Shipped, 2, TYPE_RETURN_AND_REFUND, AS_AWAITING_RETURN, "质量问题"),
        (OrderStatus::Shipped, 3, TYPE_RETURN_AND_REFUND, AS_RETURN_SHIPPED, "与描述不符"),
        (OrderStatus::Completed, 0, TYPE_RETURN_AND_REFUND, AS_SUCCEEDED, "七天无理由退货"),
        (OrderStatus::Completed, 1, TYPE_REFUND_SHIPPED, AS_REJECTED, "少件/漏发"),
        (OrderStatus::Completed, 2, TYPE_REFUND_SHIPPED, AS_PENDING, "商品破损"),
        (OrderStatus::AwaitingShipment, 0, TYPE_REFUND_UNSHIPPED, AS_PENDING, "拍错了"),
    ];
    for (k, &(status, nth, kind, as_status, reason)) in plan.iter().enumerate() {
        let mut candidates: Vec<&Order> = shop.orders.values().filter(|o| o.status == status).collect();
        candidates.sort_by_key(|o| std::cmp::Reverse(o.create_time));
        let Some(order) = candidates.get(nth) else { continue };
        let line = &order.lines[0];
        let apply_time = (order.pay_time.max(order.ship_time()) + 6 * HOUR).min(now - 120);
        let update_time = if as_status == AS_PENDING { apply_time } else { (apply_time + 5 * HOUR).min(now - 60) };
        let after_sale = AfterSale {
            aftersale_id: 7_300_000_000_000_000_000 + k as i64 * 131,
            order_id: order.order_id.clone(),
            sku_order_id: line.sku_order_id.clone(),
            kind,
            status: as_status,
            refund_amount: line.price * line.item_num,
            reason,
            apply_time,
            update_time,
            seller_logs: Vec::new(),
        };
        let order_id = order.order_id.clone();
        let summary = (as_status, kind, after_sale.refund_status());
        shop.after_sales.insert(after_sale.aftersale_id, after_sale);
        if let Some(mut order) = shop.orders.get_mut(&order_id) {
            order.after_sale = Some(summary);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seed_has_the_promised_shape() {
        let shop = Shop::seeded(1, "s".into(), 1_700_000_000);
        assert_eq!(shop.products.len(), PRODUCTS.len());
        assert_eq!(shop.products.values().map(|p| p.skus.len()).sum::<usize>(), 4 + 2 + 1 + 3 + 2);
        assert_eq!(shop.orders.len(), SEED_ORDERS);
        let awaiting = shop.orders.values().filter(|o| o.status == OrderStatus::AwaitingShipment).count();
        assert_eq!(awaiting, SEED_AWAITING_SHIPMENT);
        assert_eq!(shop.after_sales.len(), 8);
        // Deterministic ids.
        let again = Shop::seeded(1, "s".into(), 1_700_000_000);
        assert_eq!(shop.orders.keys().collect::<Vec<_>>(), again.orders.keys().collect::<Vec<_>>());
    }

    #[test]
    fn extra_awaiting_orders_leave_the_seed_alone_and_never_collide() {
        let now = 1_700_000_000;
        let seeded = Shop::seeded(1, "s".into(), now);
        let mut shop = Shop::seeded(1, "s".into(), now);
        shop.add_awaiting_orders(20_000, now, 0, 1).unwrap();
        assert_eq!(shop.orders.len(), SEED_ORDERS + 20_000);
        // Every seeded order is still there, unchanged (after-sale marks included).
        for (id, order) in seeded.orders.iter() {
            let kept = shop.orders.get(id).unwrap();
            assert_eq!(
                (kept.status, kept.create_time, kept.after_sale),
                (order.status, order.create_time, order.after_sale)
            );
        }
        // No id of one kind equals any other id: orders, SKU orders, deliveries.
        let mut ids = std::collections::HashSet::new();
        for order in shop.orders.values() {
            assert!(ids.insert(order.order_id.clone()), "{}", order.order_id);
            for line in &order.lines {
                assert!(ids.insert(line.sku_order_id.clone()), "{}", line.sku_order_id);
            }
            for shipment in &order.shipments {
                assert!(ids.insert(shipment.delivery_id.clone()), "{}", shipment.delivery_id);
            }
        }
        let extra: Vec<&Order> = shop.orders.values().filter(|o| !seeded.orders.contains_key(&o.order_id)).collect();
        assert!(extra.iter().all(|o| o.status == OrderStatus::AwaitingShipment
            && o.shipments.is_empty()
            && o.pay_time > o.create_time
            && o.pay_time <= now
            && o.update_time == o.pay_time
            && !o.lines.is_empty()
            && o.order_id.len() == 19));
        // Built from the products on sale only.
        assert!(extra.iter().flat_map(|o| &o.lines).all(|l| shop.products[&l.product_id].status == STATUS_ONLINE));
        // Deterministic for the same start-up time.
        let mut again = Shop::seeded(1, "s".into(), now);
        again.add_awaiting_orders(20_000, now, 0, 1).unwrap();
        assert!(shop
            .orders
            .iter()
            .zip(again.orders.iter())
            .all(|((a, x), (b, y))| a == b && x.create_time == y.create_time));
        // An empty shop has nothing to order.
        assert!(Shop::empty(1, "s".into()).add_awaiting_orders(1, now, 0, 1).is_err());
        assert!(Shop::empty(1, "s".into()).add_awaiting_orders(0, now, 0, 1).is_ok());
    }
}
