//! Fixed reference data: brands, the category tree, logistics companies.

use serde_json::{json, Value};

use crate::envelope::ApiFailure;
use crate::params::Params;

/// A logistics company the shop can ship with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LogisticsCompany {
    /// The platform's numeric id (`logistics_id`).
    pub id: i64,
    /// The company code (`company_code`, e.g. `zhongtong`).
    pub code: &'static str,
    /// The display name.
    pub name: &'static str,
}

pub(crate) const LOGISTICS_COMPANIES: &[LogisticsCompany] = &[
    LogisticsCompany { id: 7, code: "zhongtong", name: "中通快递" },
    LogisticsCompany { id: 8, code: "yuantong", name: "圆通速递" },
    LogisticsCompany { id: 9, code: "shentong", name: "申通快递" },
    LogisticsCompany { id: 12, code: "yunda", name: "韵达快递" },
    LogisticsCompany { id: 15, code: "shunfeng", name: "顺丰速运" },
    LogisticsCompany { id: 16, code: "jd", name: "京东物流" },
    LogisticsCompany { id: 17, code: "youzhengguonei", name: "邮政快递包裹" },
];

/// The company named by `logistics_id`, `company_code` or (last resort) `company` (name).
pub(crate) fn find_company(p: &Params<'_>) -> Result<&'static LogisticsCompany, ApiFailure> {
    if let Some(id) = p.i64_opt("logistics_id")?.filter(|id| *id != 0) {
        return LOGISTICS_COMPANIES
            .iter()
            .find(|c| c.id == id)
            .ok_or_else(|| ApiFailure::parameter_invalid(format!("unknown logistics_id {id}")));
    }
    if let Some(code) = p.str_opt("company_code")? {
        return LOGISTICS_COMPANIES
            .iter()
            .find(|c| c.code == code)
            .ok_or_else(|| ApiFailure::parameter_invalid(format!("unknown company_code `{code}`")));
    }
    if let Some(name) = p.str_opt("company")? {
        return LOGISTICS_COMPANIES
            .iter()
            .find(|c| c.name == name || c.code == name)
            .ok_or_else(|| ApiFailure::parameter_invalid(format!("unknown company `{name}`")));
    }
    Err(ApiFailure::parameter_missing("company_code"))
}

pub(crate) fn logistics_company_list() -> Value {
    Value::Array(LOGISTICS_COMPANIES.iter().map(|c| json!({"id": c.id, "name": c.name, "code": c.code})).collect())
}

pub(crate) fn brand_list() -> Value {
    json!([
        {"id": 7_001_001, "brand_chinese_name": "抖小铺", "brand_english_name": "DouXiaoPu", "brand_reg_num": "52210001"},
        {"id": 7_001_002, "brand_chinese_name": "山野茶", "brand_english_name": "Wild Hill Tea", "brand_reg_num": "52210002"},
        {"id": 7_001_003, "brand_chinese_name": "声浪", "brand_english_name": "SoundWave", "brand_reg_num": "52210003"},
        {"id": 7_001_004, "brand_chinese_name": "", "brand_english_name": "Urban Trek", "brand_reg_num": "52210004"},
    ])
}

/// (id, name, level, parent_id, is_leaf)
pub(crate) const CATEGORIES: &[(i64, &str, i64, i64, bool)] = &[
    (20000, "服饰内衣", 1, 0, false),
    (20001, "男装", 2, 20000, false),
    (20002, "T恤", 3, 20001, true),
    (20100, "数码", 1, 0, false),
    (20101, "影音电器", 2, 20100, false),
    (20102, "耳机", 3, 20101, true),
    (20200, "食品饮料", 1, 0, false),
    (20201, "茶", 2, 20200, false),
    (20202, "绿茶", 3, 20201, true),
    (20300, "家居日用", 1, 0, false),
    (20301, "餐饮具", 2, 20300, false),
    (20302, "杯子", 3, 20301, true),
    (20400, "箱包", 1, 0, false),
    (20401, "功能箱包", 2, 20400, false),
    (20402, "双肩包", 3, 20401, true),
];

/// The chain of categories from level 1 down to `leaf` (empty if unknown).
pub(crate) fn category_path(leaf: i64) -> Vec<(i64, &'static str)> {
    let mut path = Vec::new();
    let mut current = leaf;
    while let Some(&(id, name, _, parent, _)) = CATEGORIES.iter().find(|c| c.0 == current) {
        path.push((id, name));
        current = parent;
    }
    path.reverse();
    path
}

pub(crate) fn is_leaf_category(id: i64) -> bool {
    CATEGORIES.iter().any(|c| c.0 == id && c.4)
}

/// shop.getShopCategory: the children of `cid` (0 = the top level).
pub(crate) fn shop_categories(p: &Params<'_>) -> Result<Value, ApiFailure> {
    let cid = p.i64_req("cid")?;
    Ok(Value::Array(
        CATEGORIES
            .iter()
            .filter(|c| c.3 == cid)
            .map(|&(id, name, level, parent_id, is_leaf)| {
                json!({"id": id, "name": name, "level": level, "parent_id": parent_id,
                       "is_leaf": is_leaf, "enable": true})
            })
            .collect(),
    ))
}

/// `category_detail` of a product in category `leaf`.
pub(crate) fn category_detail(leaf: i64) -> Value {
    let path = category_path(leaf);
    let at = |i: usize| path.get(i).copied().unwrap_or((0, ""));
    json!({
        "first_cid": at(0).0, "second_cid": at(1).0, "third_cid": at(2).0, "fourth_cid": at(3).0,
        "first_cname": at(0).1, "second_cname": at(1).1, "third_cname": at(2).1, "fourth_cname": at(3).1,
    })
}
