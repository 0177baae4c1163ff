//! Runs a method once the call passed the checks: the stateful methods against the shop,
//! every other method of the spec with its sample data.

use serde_json::Value;

use crate::auth::Authenticated;
use crate::counters::bump;
use crate::envelope::ApiFailure;
use crate::params::Params;
use crate::push::{PushRecord, RefundEvent, TradeEvent};
use crate::samples::sample_data;
use crate::shop::{reference, SearchRules, Shop};
use crate::state::Inner;
use crate::tokens::{Grant, RefreshOutcome};

/// The methods with stateful behaviour (everything else answers with its sample).
pub const STATEFUL_METHODS: &[&str] = &[
    "afterSale.List",
    "afterSale.operate",
    "material.uploadImageSync",
    "open.materialToken",
    "order.addOrderRemark",
    "order.logisticsAdd",
    "order.logisticsCompanyList",
    "order.logisticsEdit",
    "order.orderDetail",
    "order.searchList",
    "product.addV2",
    "product.del",
    "product.detail",
    "product.editV2",
    "product.listV2",
    "product.setOffline",
    "product.setOnline",
    "shop.brandList",
    "shop.getShopCategory",
    "sku.list",
    "token.create",
    "token.refresh",
];

/// Whether the gateway answers `method`: modelled, sampled, or in the SDK's method table.
pub(crate) fn is_known(method: &str) -> bool {
    STATEFUL_METHODS.contains(&method) || sample_data(method).is_some() || doudian_sdk::catalog::find(method).is_some()
}

/// The result of a successful method: the `data` JSON text and pushes to send.
pub(crate) struct Done {
    pub(crate) data: String,
    pub(crate) pushes: Vec<PushRecord>,
}

impl Done {
    fn data(value: Value) -> Self {
        Done { data: value.to_string(), pushes: Vec::new() }
    }
}

/// Runs `method`; `host` is how the client reached the gateway (upload URLs point back to it).
pub(crate) fn run(inner: &Inner, method: &str, call: Authenticated, host: &str) -> Result<Done, ApiFailure> {
    crate::validation::check(method, &call.params)?;
    let p = Params::new(&call.params);
    match method {
        "open.materialToken" => crate::imagex::material_token(inner, &p, host).map(Done::data),
        "material.uploadImageSync" => crate::imagex::upload_image_sync(inner, &p).map(Done::data),
        "token.create" => token_create(inner, &p).map(Done::data),
        "token.refresh" => token_refresh(inner, &p).map(Done::data),
        "shop.brandList" => Ok(Done::data(reference::brand_list())),
        "shop.getShopCategory" => reference::shop_categories(&p).map(Done::data),
        "order.logisticsCompanyList" => Ok(Done::data(reference::logistics_company_list())),
        _ if STATEFUL_METHODS.contains(&method) => run_on_shop(inner, method, &p, call.grant.as_ref()),
        _ => Ok(Done {
            // In the method table but without a sample (an open-JSON method): empty data.
            data: sample_data(method).unwrap_or("{}").to_owned(),
            pushes: Vec::new(),
        }),
    }
}

/// Runs a method on the shop the token was granted for (the gateway's own shop for a
/// grant naming no shop it serves).
fn run_on_shop(inner: &Inner, method: &str, p: &Params<'_>, grant: Option<&Grant>) -> Result<Done, ApiFailure> {
    let now_ms = inner.clock.now_ms();
    let now = (now_ms / 1000) as i64;
    let webhook = inner.webhook_configured();
    let mut pushes = Vec::new();
    let mut shop = crate::state::lock(inner.shop_for(grant.map_or(inner.config.shop_id, |g| g.shop_id)));
    let shop: &mut Shop = &mut shop;
    let data = match method {
        // Pre-rendered: pages of cached order texts.
        "order.searchList" => {
            let rules = SearchRules { now, cap: inner.config.search_cap };
            return Ok(Done { data: shop.order_search(p, &rules)?, pushes });
        }
        "order.orderDetail" => return Ok(Done { data: shop.order_detail(p)?, pushes }),
        "product.listV2" => shop.product_list(p)?,
        "product.detail" => shop.product_detail(p)?,
        "sku.list" => shop.sku_list(p)?,
        "product.addV2" => {
            let data = shop.product_add(p, now)?;
            inner.counters.update(|c| c.products_added += 1);
            data
        }
        "product.editV2" => shop.product_edit(p, now)?,
        "product.del" => shop.product_delete(p, now)?,
        "product.setOnline" => shop.product_set_status(p, true, now)?,
        "product.setOffline" => shop.product_set_status(p, false, now)?,
        "order.addOrderRemark" => {
            let (order_id, data) = shop.order_add_remark(p, now)?;
            inner.counters.update(|c| bump(&mut c.remarks, &order_id));
            if webhook {
                pushes.extend(trade_push(inner, shop, TradeEvent::MemoModified, &order_id, now));
            }
            data
        }
        "order.logisticsAdd" => {
            // Counted before the checks: every attempt to ship, successful or not.
            let order_id = p.str_opt("order_id")?.unwrap_or_default();
            inner.counters.update(|c| bump(&mut c.ship_calls, &order_id));
            let data = shop.order_ship(p, now)?;
            inner.counters.update(|c| bump(&mut c.shipments, &order_id));
            if webhook {
                pushes.extend(trade_push(inner, shop, TradeEvent::SellerShipped, &order_id, now));
            }
            data
        }
        "order.logisticsEdit" => {
            let data = shop.order_edit_logistics(p, now)?;
            let order_id = p.str_opt("order_id")?.unwrap_or_default();
            inner.counters.update(|c| bump(&mut c.logistics_edits, &order_id));
            data
        }
        "afterSale.List" => shop.after_sale_list(p)?,
        "afterSale.operate" => {
            let (data, changed) = shop.after_sale_operate(p, now)?;
            inner.counters.update(|c| {
                for id in &changed {
                    bump(&mut c.after_sale_operations, &id.to_string());
                }
            });
            if webhook {
                for id in changed {
                    let event = match shop.after_sales.get(&id).map(|a| a.status) {
                        Some(crate::shop::AS_SUCCEEDED) => RefundEvent::Succeeded,
                        Some(crate::shop::AS_AWAITING_RETURN) => RefundEvent::ReturnAgreed,
                        _ => RefundEvent::Refused,
                    };
                    if let Some(data) = shop.refund_event_data(event, id) {
                        pushes.push(PushRecord::new(event.tag().to_string(), inner.new_msg_id(), &data));
                    }
                }
            }
            data
        }
        other => {
            return Err(ApiFailure::new(
                crate::envelope::CODE_API_OFF,
                "isp.api-service-off",
                format!("method `{other}` is not modelled"),
            ))
        }
    };
    Ok(Done { data: data.to_string(), pushes })
}

fn trade_push(inner: &Inner, shop: &Shop, event: TradeEvent, order_id: &str, now: i64) -> Option<PushRecord> {
    let data = shop.trade_event_data(event, order_id, now)?;
    Some(PushRecord::new(event.tag().to_string(), inner.new_msg_id(), &data))
}

fn shop_grant(inner: &Inner, shop_id: i64) -> Grant {
    let shop_name =
        if shop_id == inner.config.shop_id { inner.config.shop_name.clone() } else { format!("店铺{shop_id}") };
    Grant { shop_id, shop_name, authority_id: shop_id.to_string(), auth_subject_type: String::new() }
}

fn token_create(inner: &Inner, p: &Params<'_>) -> Result<Value, ApiFailure> {
    let grant_type = p.str_req("grant_type")?;
    let now = inner.clock.now_ms();
    let mut tokens = inner.tokens.lock().unwrap_or_else(|e| e.into_inner());
    let grant = match grant_type.as_str() {
        "authorization_self" => {
            if let Some(shop_id) = p.i64_opt("shop_id")? {
                if !inner.shops.contains_key(&shop_id) {
                    let served: Vec<String> = inner.shops.keys().map(i64::to_string).collect();
                    return Err(ApiFailure::token_generation(
                        "no-authorization",
                        format!(
                            "shop {shop_id} has not authorised this app (the gateway's shops: {})",
                            served.join(", ")
                        ),
                    ));
                }
                shop_grant(inner, shop_id)
            } else if let Some(auth_id) = p.str_opt("auth_id")? {
                let subject = p.str_req("auth_subject_type")?;
                Grant { shop_id: 0, shop_name: String::new(), authority_id: auth_id, auth_subject_type: subject }
            } else {
                return Err(ApiFailure::parameter_missing("shop_id"));
            }
        }
        "authorization_code" => {
            let code = p.str_req("code")?;
            tokens.redeem_code(&code, now)?
        }
        other => {
            return Err(ApiFailure::token_generation(
                "grant-type-invalid",
                format!("grant_type `{other}` is not authorization_self or authorization_code"),
            ))
        }
    };
    let data = tokens.issue(grant, now, &inner.rng);
    drop(tokens);
    inner.counters.update(|c| c.tokens_created += 1);
    Ok(data)
}

fn token_refresh(inner: &Inner, p: &Params<'_>) -> Result<Value, ApiFailure> {
    let grant_type = p.str_req("grant_type")?;
    if grant_type != "refresh_token" {
        return Err(ApiFailure::token_generation(
            "grant-type-invalid",
            format!("grant_type must be refresh_token, got `{grant_type}`"),
        ));
    }
    let refresh_token = p.str_req("refresh_token")?;
    let now = inner.clock.now_ms();
    let result = inner.tokens.lock().unwrap_or_else(|e| e.into_inner()).refresh(&refresh_token, now, &inner.rng);
    inner.counters.update(|c| match &result {
        Ok((_, RefreshOutcome::SamePair)) => c.refreshes.same_pair += 1,
        Ok((_, RefreshOutcome::Rotated)) => c.refreshes.rotated += 1,
        Ok((_, RefreshOutcome::AfterExpiry)) => c.refreshes.after_expiry += 1,
        Err(_) => c.refreshes.refused += 1,
    });
    result.map(|(data, _)| data)
}
