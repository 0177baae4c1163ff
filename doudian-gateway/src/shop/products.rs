//! Products and SKUs: product.listV2, product.detail, product.addV2, product.editV2,
//! product.del, product.setOnline/setOffline, sku.list.

use serde_json::{json, Value};

use super::reference::{category_detail, is_leaf_category};
use super::Shop;
use crate::envelope::ApiFailure;
use crate::params::Params;
use crate::time::format_gmt8;

/// Product status: on sale.
pub(crate) const STATUS_ONLINE: i64 = 0;
/// Product status: off the shelf.
pub(crate) const STATUS_OFFLINE: i64 = 1;
/// Product status: deleted (in the recycle bin).
pub(crate) const STATUS_DELETED: i64 = 2;
/// Audit status: approved.
const CHECK_APPROVED: i64 = 3;
/// Audit status: not submitted (saved as draft).
const CHECK_DRAFT: i64 = 1;

const ID_PREFIX_PRODUCT: i64 = 3_600;
const ID_PREFIX_SKU: i64 = 1_750;
const ID_PREFIX_SPEC: i64 = 1_690;
const ID_PREFIX_SPEC_VALUE: i64 = 1_700;

#[derive(Debug, Clone)]
pub(crate) struct SpecGroup {
    pub(crate) id: i64,
    pub(crate) name: String,
    /// (spec detail id, value name)
    pub(crate) values: Vec<(i64, String)>,
}

#[derive(Debug, Clone)]
pub(crate) struct Sku {
    pub(crate) id: i64,
    pub(crate) out_sku_id: i64,
    pub(crate) outer_sku_id: String,
    pub(crate) code: String,
    /// (spec detail id, spec group name, value name), up to three.
    pub(crate) spec: Vec<(i64, String, String)>,
    pub(crate) price: i64,
    pub(crate) stock_num: i64,
    pub(crate) create_time: i64,
}

#[derive(Debug, Clone)]
pub(crate) struct Product {
    pub(crate) product_id: i64,
    pub(crate) out_product_id: i64,
    pub(crate) outer_product_id: String,
    pub(crate) name: String,
    pub(crate) description: String,
    pub(crate) pics: Vec<String>,
    pub(crate) status: i64,
    pub(crate) check_status: i64,
    pub(crate) category_leaf_id: i64,
    pub(crate) product_type: i64,
    pub(crate) pay_type: i64,
    pub(crate) reduce_type: i64,
    pub(crate) freight_id: i64,
    pub(crate) brand_id: i64,
    pub(crate) mobile: String,
    pub(crate) recommend_remark: String,
    pub(crate) market_price: i64,
    pub(crate) discount_price: i64,
    pub(crate) spec_id: i64,
    pub(crate) specs: Vec<SpecGroup>,
    pub(crate) skus: Vec<Sku>,
    pub(crate) create_time: i64,
    pub(crate) update_time: i64,
}

impl Product {
    fn img(&self) -> &str {
        self.pics.first().map(String::as_str).unwrap_or("")
    }

    pub(crate) fn list_item(&self) -> Value {
        json!({
            "product_id": self.product_id,
            "status": self.status,
            "check_status": self.check_status,
            "market_price": self.market_price,
            "discount_price": self.discount_price,
            "img": self.img(),
            "name": self.name,
            "pay_type": self.pay_type,
            "product_type": self.product_type,
            "spec_id": self.spec_id,
            "cos_ratio": 0,
            "create_time": self.create_time,
            "update_time": self.update_time,
            "out_product_id": self.out_product_id,
            "description": self.description,
            "mobile": self.mobile,
            "extra": "",
            "recommend_remark": self.recommend_remark,
            "category_detail": category_detail(self.category_leaf_id),
            "outer_product_id": self.outer_product_id,
            "is_package_product": false,
            "package_product_list": [],
            "sub_product_list": [],
        })
    }

    pub(crate) fn detail(&self) -> Value {
        let spec_prices: Vec<Value> = self
            .skus
            .iter()
            .map(|sku| {
                let id = |i: usize| sku.spec.get(i).map(|s| s.0).unwrap_or(0);
                json!({
                    "sku_id": sku.id,
                    "out_sku_id": sku.out_sku_id,
                    "outer_sku_id": sku.outer_sku_id,
                    "spec_detail_ids": sku.spec.iter().map(|s| s.0).collect::<Vec<_>>(),
                    "stock_num": sku.stock_num,
                    "price": sku.price,
                    "code": sku.code,
                    "step_stock_num": 0,
                    "prom_stock_num": 0,
                    "prom_step_stock_num": 0,
                    "spec_detail_id1": id(0),
                    "spec_detail_id2": id(1),
                    "spec_detail_id3": id(2),
                    "sku_type": 0,
                    "supplier_id": "",
                    "lock_stock_num": 0,
                    "lock_step_stock_num": 0,
                })
            })
            .collect();
        let specs: Vec<Value> = self
            .specs
            .iter()
            .map(|group| {
                json!({
                    "id": group.id,
                    "spec_id": self.spec_id,
                    "name": group.name,
                    "pid": 0,
                    "is_leaf": 0,
                    "values": group.values.iter().map(|(id, name)| json!({
                        "id": id, "spec_id": self.spec_id, "name": name, "pid": group.id,
                        "is_leaf": 1, "status": 1,
                    })).collect::<Vec<_>>(),
                })
            })
            .collect();
        json!({
            "product_id": self.product_id,
            "product_id_str": self.product_id.to_string(),
            "out_product_id": self.out_product_id,
            "outer_product_id": self.outer_product_id,
            "open_user_id": 0,
            "name": self.name,
            "description": self.description,
            "delivery_method": 0,
            "cdf_category": "",
            "status": self.status,
            "spec_id": self.spec_id,
            "check_status": self.check_status,
            "mobile": self.mobile,
            "brand_id": self.brand_id,
            "is_sub_product": false,
            "draft_status": 0,
            "category_detail": category_detail(self.category_leaf_id),
            "pay_type": self.pay_type,
            "recommend_remark": self.recommend_remark,
            "extra": "",
            "is_create": 1,
            "create_time": format_gmt8(self.create_time as u64),
            "update_time": format_gmt8(self.update_time as u64),
            "pic": self.pics,
            "product_format": "",
            "spec_pics": [],
            "spec_prices": spec_prices,
            "specs": specs,
            "img": self.img(),
            "presell_type": 0,
            "maximum_per_order": 0,
            "limit_per_buyer": 0,
            "minimum_per_order": 1,
            "market_price": self.market_price,
            "discount_price": self.discount_price,
            "freight_id": self.freight_id,
            "reduce_type": self.reduce_type,
            "product_type": self.product_type,
            "store_id": 0,
            "main_product_id": 0,
        })
    }

    pub(crate) fn sku_items(&self) -> Value {
        Value::Array(
            self.skus
                .iter()
                .map(|sku| {
                    let part = |i: usize| sku.spec.get(i).cloned().unwrap_or((0, String::new(), String::new()));
                    json!({
                        "id": sku.id,
                        "open_user_id": 0,
                        "out_sku_id": sku.out_sku_id,
                        "product_id": self.product_id,
                        "spec_detail_id1": part(0).0,
                        "spec_detail_id2": part(1).0,
                        "spec_detail_id3": part(2).0,
                        "spec_detail_name1": part(0).2,
                        "spec_detail_name2": part(1).2,
                        "spec_detail_name3": part(2).2,
                        "price": sku.price,
                        "settlement_price": sku.price,
                        "spec_id": self.spec_id,
                        "create_time": sku.create_time,
                        "code": sku.code,
                        "sku_type": 0,
                        "supplier_id": "",
                        "stock_num": sku.stock_num,
                        "prehold_stock_num": 0,
                        "prom_stock_num": 0,
                        "step_stock_num": 0,
                        "prehold_step_stock_num": 0,
                        "prom_step_stock_num": 0,
                        "product_id_str": self.product_id.to_string(),
                        "normal_stock_num": sku.stock_num,
                        "channel_stock_num": 0,
                    })
                })
                .collect(),
        )
    }
}

/// Parses `specs` text (`颜色|红色,黑色^尺码|S,M`) into spec groups with fresh ids.
pub(crate) fn parse_specs(shop: &mut Shop, text: &str) -> Result<Vec<SpecGroup>, ApiFailure> {
    let mut groups = Vec::new();
    for part in text.split('^').filter(|p| !p.trim().is_empty()) {
        let (name, values) = part.split_once('|').ok_or_else(|| {
            ApiFailure::parameter_invalid(format!("specs group `{part}` must look like `颜色|红色,黑色`"))
        })?;
        let values: Vec<(i64, String)> = values
            .split(',')
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .map(|v| (shop.new_id(ID_PREFIX_SPEC_VALUE), v.to_owned()))
            .collect();
        if name.trim().is_empty() || values.is_empty() {
            return Err(ApiFailure::parameter_invalid(format!("specs group `{part}` has no name or values")));
        }
        groups.push(SpecGroup { id: shop.new_id(ID_PREFIX_SPEC), name: name.trim().to_owned(), values });
    }
    if groups.is_empty() || groups.len() > 3 {
        return Err(ApiFailure::parameter_invalid("specs must have one to three groups"));
    }
    Ok(groups)
}

/// Builds the SKUs from `spec_prices` (a JSON array in a string, one entry per SKU with
/// `spec_detail_name1..3`, `price`, `stock_num`, `code`, `outer_sku_id`).
pub(crate) fn parse_spec_prices(
    shop: &mut Shop,
    groups: &[SpecGroup],
    text: &str,
    now: i64,
) -> Result<Vec<Sku>, ApiFailure> {
    let entries: Vec<Value> = serde_json::from_str(text)
        .map_err(|e| ApiFailure::parameter_invalid(format!("spec_prices must be a JSON array: {e}")))?;
    if entries.is_empty() {
        return Err(ApiFailure::parameter_invalid("spec_prices must list at least one SKU"));
    }
    let mut skus = Vec::with_capacity(entries.len());
    for (i, entry) in entries.iter().enumerate() {
        let p = Params::new(entry);
        let mut spec = Vec::new();
        for (g, group) in groups.iter().enumerate() {
            let key = format!("spec_detail_name{}", g + 1);
            let wanted = p.str_opt(&key)?;
            let value = match wanted {
                Some(name) => group.values.iter().find(|(_, v)| *v == name).ok_or_else(|| {
                    ApiFailure::parameter_invalid(format!(
                        "spec_prices[{i}].{key} `{name}` is not a value of `{}`",
                        group.name
                    ))
                })?,
                None => return Err(ApiFailure::parameter_missing(&format!("spec_prices[{i}].{key}"))),
            };
            spec.push((value.0, group.name.clone(), value.1.clone()));
        }
        let price = p.i64_req("price").map_err(|e| prefixed(e, i))?;
        let stock_num = p.i64_opt("stock_num").map_err(|e| prefixed(e, i))?.unwrap_or(0);
        if price < 0 || stock_num < 0 {
            return Err(ApiFailure::parameter_invalid(format!(
                "spec_prices[{i}]: price and stock_num must not be negative"
            )));
        }
        skus.push(Sku {
            id: shop.new_id(ID_PREFIX_SKU),
            out_sku_id: p.i64_opt("out_sku_id").ok().flatten().unwrap_or(0),
            outer_sku_id: p.str_opt("outer_sku_id")?.unwrap_or_default(),
            code: p.str_opt("code")?.unwrap_or_default(),
            spec,
            price,
            stock_num,
            create_time: now,
        });
    }
    Ok(skus)
}

fn prefixed(mut failure: ApiFailure, index: usize) -> ApiFailure {
    failure.sub_msg = format!("spec_prices[{index}]: {}", failure.sub_msg);
    failure
}

fn split_pics(text: &str) -> Vec<String> {
    text.split('|').map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned).collect()
}

fn not_found(id: i64) -> ApiFailure {
    ApiFailure::parameter_invalid(format!("product {id} does not exist in this shop"))
}

impl Shop {
    fn product_by_params(&self, p: &Params<'_>) -> Result<&Product, ApiFailure> {
        if let Some(id) = p.i64_opt("product_id")? {
            return self.products.get(&id).ok_or_else(|| not_found(id));
        }
        if let Some(out) = p.i64_opt("out_product_id")? {
            return self
                .products
                .values()
                .find(|pr| pr.out_product_id == out)
                .ok_or_else(|| ApiFailure::parameter_invalid(format!("no product with out_product_id {out}")));
        }
        Err(ApiFailure::parameter_missing("product_id"))
    }

    fn product_mut(&mut self, id: i64) -> Result<&mut Product, ApiFailure> {
        self.products.get_mut(&id).ok_or_else(|| not_found(id))
    }

    /// product.listV2 (pages start at 1).
    pub(crate) fn product_list(&self, p: &Params<'_>) -> Result<Value, ApiFailure> {
        let (page, size) = (p.i64_req("page")?, p.i64_req("size")?);
        if page < 1 {
            return Err(ApiFailure::parameter_invalid("page starts at 1"));
        }
        if !(1..=100).contains(&size) {
            return Err(ApiFailure::parameter_invalid("size must be between 1 and 100"));
        }
        let status = p.i64_opt("status")?;
        let check_status = p.i64_opt("check_status")?;
        let product_type = p.i64_opt("product_type")?;
        let (start, end) = (p.i64_opt("start_time")?, p.i64_opt("end_time")?);
        let (ustart, uend) = (p.i64_opt("update_start_time")?, p.i64_opt("update_end_time")?);
        let name = p.str_opt("name")?;
        let ids: Vec<i64> = p.str_list("product_id")?.iter().filter_map(|s| s.parse().ok()).collect();
        let mut matching: Vec<&Product> = self
            .products
            .values()
            .filter(|pr| match status {
                Some(s) => pr.status == s,
                None => pr.status != STATUS_DELETED,
            })
            .filter(|pr| check_status.is_none_or(|c| pr.check_status == c))
            .filter(|pr| product_type.is_none_or(|t| pr.product_type == t))
            .filter(|pr| start.is_none_or(|t| pr.create_time >= t) && end.is_none_or(|t| pr.create_time <= t))
            .filter(|pr| ustart.is_none_or(|t| pr.update_time >= t) && uend.is_none_or(|t| pr.update_time <= t))
            .filter(|pr| name.as_deref().is_none_or(|n| pr.name.contains(n)))
            .filter(|pr| ids.is_empty() || ids.contains(&pr.product_id))
            .collect();
        matching.sort_by(|a, b| b.create_time.cmp(&a.create_time).then(b.product_id.cmp(&a.product_id)));
        let total = matching.len() as i64;
        let items: Vec<Value> = matching
            .into_iter()
            .skip(((page - 1) * size) as usize)
            .take(size as usize)
            .map(Product::list_item)
            .collect();
        Ok(json!({"data": items, "total": total, "page": page, "size": size}))
    }

    /// product.detail
    pub(crate) fn product_detail(&self, p: &Params<'_>) -> Result<Value, ApiFailure> {
        Ok(self.product_by_params(p)?.detail())
    }

    /// sku.list
    pub(crate) fn sku_list(&self, p: &Params<'_>) -> Result<Value, ApiFailure> {
        Ok(self.product_by_params(p)?.sku_items())
    }

    /// product.addV2
    pub(crate) fn product_add(&mut self, p: &Params<'_>, now: i64) -> Result<Value, ApiFailure> {
        for required in [
            "product_type",
            "category_leaf_id",
            "name",
            "pic",
            "description",
            "reduce_type",
            "freight_id",
            "mobile",
            "commit",
            "specs",
            "spec_prices",
        ] {
            p.require(required)?;
        }
        let category_leaf_id = p.i64_req("category_leaf_id")?;
        if !is_leaf_category(category_leaf_id) {
            return Err(ApiFailure::parameter_invalid(format!(
                "category_leaf_id {category_leaf_id} is not a leaf category of this shop (see shop.getShopCategory)"
            )));
        }
        let commit = p.bool_opt("commit")?.unwrap_or(false);
        let groups = parse_specs(self, &p.str_req("specs")?)?;
        let skus = parse_spec_prices(self, &groups, &p.str_req("spec_prices")?, now)?;
        let pics = split_pics(&p.str_req("pic")?);
        let min_price = skus.iter().map(|s| s.price).min().unwrap_or(0);
        let product = Product {
            product_id: self.new_id(ID_PREFIX_PRODUCT),
            out_product_id: p.i64_opt("out_product_id")?.unwrap_or(0),
            outer_product_id: p.str_opt("outer_product_id")?.unwrap_or_default(),
            name: p.str_req("name")?,
            description: p.str_req("description")?,
            pics,
            status: if commit { STATUS_ONLINE } else { STATUS_OFFLINE },
            check_status: if commit { CHECK_APPROVED } else { CHECK_DRAFT },
            category_leaf_id,
            product_type: p.i64_req("product_type")?,
            pay_type: p.i64_opt("pay_type")?.unwrap_or(1),
            reduce_type: p.i64_req("reduce_type")?,
            freight_id: p.i64_req("freight_id")?,
            brand_id: p.i64_opt("brand_id")?.unwrap_or(0),
            mobile: p.str_req("mobile")?,
            recommend_remark: p.str_opt("recommend_remark")?.unwrap_or_default(),
            market_price: min_price,
            discount_price: min_price,
            spec_id: self.new_id(ID_PREFIX_SPEC),
            specs: groups,
            skus,
            create_time: now,
            update_time: now,
        };
        let reply = json!({
            "product_id": product.product_id,
            "out_product_id": product.out_product_id,
            "outer_product_id": product.outer_product_id,
            "create_time": format_gmt8(now as u64),
            "sku": product.skus.iter().map(|sku| {
                let id = |i: usize| sku.spec.get(i).map(|s| s.0).unwrap_or(0);
                json!({
                    "sku_id": sku.id, "out_sku_id": sku.out_sku_id, "outer_sku_id": sku.outer_sku_id,
                    "code": sku.code, "spec_detail_id1": id(0), "spec_detail_id2": id(1),
                    "spec_detail_id3": id(2), "spec_detail_ids": sku.spec.iter().map(|s| s.0).collect::<Vec<_>>(),
                })
            }).collect::<Vec<_>>(),
        });
        self.products.insert(product.product_id, product);
        Ok(reply)
    }

    /// product.editV2: changes the given fields; `specs` with `spec_prices` replaces the SKUs.
    pub(crate) fn product_edit(&mut self, p: &Params<'_>, now: i64) -> Result<Value, ApiFailure> {
        let id = p.i64_req("product_id")?;
        p.require("commit")?;
        let commit = p.bool_opt("commit")?.unwrap_or(false);
        if self.product_mut(id)?.status == STATUS_DELETED {
            return Err(ApiFailure::business("product-deleted", format!("product {id} is deleted")));
        }
        let new_skus = match (p.str_opt("specs")?, p.str_opt("spec_prices")?) {
            (Some(specs), Some(prices)) => {
                let groups = parse_specs(self, &specs)?;
                let skus = parse_spec_prices(self, &groups, &prices, now)?;
                Some((groups, skus))
            }
            (None, None) => None,
            _ => return Err(ApiFailure::parameter_invalid("specs and spec_prices must be given together")),
        };
        if let Some(leaf) = p.i64_opt("category_leaf_id")? {
            if !is_leaf_category(leaf) {
                return Err(ApiFailure::parameter_invalid(format!("category_leaf_id {leaf} is not a leaf category")));
            }
        }
        let product = self.product_mut(id)?;
        if let Some(v) = p.str_opt("name")? {
            product.name = v;
        }
        if let Some(v) = p.str_opt("description")? {
            product.description = v;
        }
        if let Some(v) = p.str_opt("pic")? {
            product.pics = split_pics(&v);
        }
        if let Some(v) = p.str_opt("recommend_remark")? {
            product.recommend_remark = v;
        }
        if let Some(v) = p.str_opt("mobile")? {
            product.mobile = v;
        }
        if let Some(v) = p.str_opt("outer_product_id")? {
            product.outer_product_id = v;
        }
        if let Some(v) = p.i64_opt("out_product_id")? {
            product.out_product_id = v;
        }
        if let Some(v) = p.i64_opt("category_leaf_id")? {
            product.category_leaf_id = v;
        }
        if let Some(v) = p.i64_opt("brand_id")? {
            product.brand_id = v;
        }
        if let Some(v) = p.i64_opt("freight_id")? {
            product.freight_id = v;
        }
        if let Some(v) = p.i64_opt("reduce_type")? {
            product.reduce_type = v;
        }
        if let Some(v) = p.i64_opt("pay_type")? {
            product.pay_type = v;
        }
        if let Some((groups, skus)) = new_skus {
            let min_price = skus.iter().map(|s| s.price).min().unwrap_or(0);
            product.specs = groups;
            product.skus = skus;
            product.market_price = min_price;
            product.discount_price = min_price;
        }
        product.check_status = if commit { CHECK_APPROVED } else { CHECK_DRAFT };
        product.update_time = now;
        Ok(json!({}))
    }

    /// product.del: moves the product to the recycle bin (status 2).
    pub(crate) fn product_delete(&mut self, p: &Params<'_>, now: i64) -> Result<Value, ApiFailure> {
        let id = self.product_by_params(p)?.product_id;
        let forever = p.bool_opt("delete_forever")?.unwrap_or(false);
        if forever {
            self.products.remove(&id);
        } else {
            let product = self.product_mut(id)?;
            if product.status == STATUS_DELETED {
                return Err(ApiFailure::business("product-deleted", format!("product {id} is already deleted")));
            }
            product.status = STATUS_DELETED;
            product.update_time = now;
        }
        Ok(json!({}))
    }

    /// product.setOnline / product.setOffline.
    pub(crate) fn product_set_status(&mut self, p: &Params<'_>, online: bool, now: i64) -> Result<Value, ApiFailure> {
        let id = p.i64_req("product_id")?;
        let product = self.product_mut(id)?;
        if product.status == STATUS_DELETED {
            return Err(ApiFailure::business("product-deleted", format!("product {id} is deleted")));
        }
        product.status = if online { STATUS_ONLINE } else { STATUS_OFFLINE };
        product.update_time = now;
        Ok(json!({}))
    }
}
