//! What every importer decides on its own (`api-spec/README.md`, "What the importers
//! decide"): each method's retry class by name, sensitive fields by name, and paging by shape.
//! The catalog importer and the SDK importer both build their entries through
//! [`imported_field`] and [`imported_method`], so the rules live here once. Each decision
//! is written into the spec explicitly, and `overrides.json` can change it.

use crate::spec::{Body, Field, Method, Origin, Paging, RetryClass};

/// A spec field from an importer's facts; `sensitive` is decided by name.
pub fn imported_field(
    name: &str,
    ty: String,
    required: bool,
    example: Option<String>,
    fields: Option<Vec<Field>>,
) -> Field {
    Field {
        name: name.to_owned(),
        ty,
        required,
        example,
        sensitive: is_sensitive(name),
        doc: None,
        note: None,
        code_set: None,
        fields,
    }
}

/// A typed spec method from an importer's facts; `retry` and `paging` are decided here.
pub fn imported_method(
    name: &str,
    origin: Origin,
    source: Option<String>,
    mut request: Vec<Field>,
    mut response: Body,
) -> Method {
    mark_receivers(&mut request);
    if let Some(fields) = response.fields.as_mut() {
        mark_receivers(fields);
    }
    Method {
        paging: detect_paging(&request, &response),
        request: Some(request),
        response: Some(response),
        ..untyped_method(name, origin, source)
    }
}

/// An untyped spec method (known by name only): only `retry` is decided.
pub fn untyped_method(name: &str, origin: Origin, source: Option<String>) -> Method {
    Method {
        name: name.to_owned(),
        origin: Some(origin),
        source,
        doc: None,
        doc_url: None,
        aliases: Vec::new(),
        known_as: Vec::new(),
        retry: Some(retry_class_by_name(name)),
        read_only: false,
        paging: None,
        request: None,
        response: None,
    }
}

/// Inside an object that holds a receiver (`receiver_msg`, `post_receiver_msg`, ...), the
/// plain `name`, `addr`, `tel`, `detail` and the like are the buyer's personal data.
pub fn mark_receivers(fields: &mut [Field]) {
    fn walk(fields: &mut [Field], inside_receiver: bool) {
        const PERSONAL: &[&str] = &["name", "addr", "address", "tel", "phone", "mobile", "detail"];
        for field in fields {
            if inside_receiver && PERSONAL.contains(&field.name.as_str()) {
                field.sensitive = true;
            }
            let receiver = field.name.to_ascii_lowercase().contains("receiver");
            if let Some(children) = field.fields.as_deref_mut() {
                walk(children, receiver);
            }
        }
    }
    walk(fields, false);
}

/// Read-only by name: the last segment starts with a read verb or ends with a read noun.
pub fn is_read_only(method: &str) -> bool {
    let last = method.rsplit('.').next().unwrap_or(method).to_ascii_lowercase();
    const PREFIXES: &[&str] = &["get", "list", "search", "query", "batchget", "mget", "batchsearch", "detail", "info"];
    const SUFFIXES: &[&str] = &["list", "detail", "details", "info", "query", "check", "search"];
    const EXACT: &[&str] = &["permission", "policy", "reputation", "stocknum", "sendresult", "template", "getsug"];
    PREFIXES.iter().any(|p| last.starts_with(p))
        || SUFFIXES.iter().any(|s| last.ends_with(s))
        || EXACT.contains(&last.as_str())
}

/// The retry class by name: [`is_read_only`] methods are `read-only`; writes whose name
/// says they set a value ([`is_idempotent_write`]) are `idempotent`; every other write is
/// `read-back`, the safe default (`overrides.json` records what the project knows better).
pub fn retry_class_by_name(method: &str) -> RetryClass {
    if is_read_only(method) {
        RetryClass::ReadOnly
    } else if is_idempotent_write(method) {
        RetryClass::Idempotent
    } else {
        RetryClass::ReadBack
    }
}

/// A write whose name makes a repeat certainly harmless: the last segment is `set` followed
/// by what it sets (`setOnline`, `setAddr`, `setStorePackageFee`): it puts a value in place,
/// and putting the same value again changes nothing. Only that verb: `update`, `edit`,
/// `modify` may also append, bump a version or start a new audit, and `del`, `cancel` may
/// be refused or act on something else when repeated, so those are read-back until an
/// override says otherwise. `settle`, `setup` and the like are not `set` (the next letter
/// must start a word).
pub fn is_idempotent_write(method: &str) -> bool {
    let last = method.rsplit('.').next().unwrap_or(method);
    last.strip_prefix("set").is_some_and(|rest| rest.starts_with(|c: char| c.is_ascii_uppercase()))
}

/// Sensitive by name: personal data (names, phones, addresses, ID cards, decrypted text)
/// and credentials. Masked values (`mask_*`) and flags (`is_*`, `*_type`) are not.
pub fn is_sensitive(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    if lower.starts_with("mask_") || lower.starts_with("is_") || lower.starts_with("need_") || lower.ends_with("_type")
    {
        return false;
    }
    let bare = lower.strip_prefix("encrypt_").unwrap_or(&lower);
    const EXACT: &[&str] = &[
        "post_receiver",
        "post_addr",
        "post_address",
        "receiver",
        "receiver_info",
        "receiver_address",
        "receiver_detail",
        "receiver_street",
        "reciever_name",
        "receiver_name",
        "detail_address",
        "address_detail",
        "id_card_no",
        "id_card_name",
        "decrypt_text",
        "plain_text",
        "plain",
        "plain_text_list",
        "decrypt_infos",
        "email",
        "user_name",
        "token",
        "secret_key",
        "contact",
        "name_prefix_phone",
        "tel",
        "phone",
        "mobile",
        "mobile_no",
        "telephone",
        "post_tel",
        "post_tel_sec",
        "rider_phone",
        "fixed_phone",
        "common_phone",
        "company_phone",
        "store_tel",
        "poi_tel",
        "virtual_mobile",
        "mobile_virtual",
        "phone_num",
        "phone_no_a",
        "phone_no_b",
        "rider_name",
        "buyer_nick",
        "nick_name",
    ];
    const SUFFIXES: &[&str] = &["_tel", "_phone", "_mobile", "access_token", "refresh_token", "_secret"];
    EXACT.contains(&bare) || SUFFIXES.iter().any(|s| bare.ends_with(s))
}

/// Paging by shape: a page and a size parameter, and exactly one list at the top of an
/// object response. The page base comes from the page parameter's example, else its name
/// (`page` counts from 0 on this platform, `page_no`/`page_num` from 1).
pub fn detect_paging(request: &[Field], response: &Body) -> Option<Paging> {
    let scalar = |f: &&Field| matches!(f.ty.as_str(), "i32" | "i64" | "string");
    let page = request.iter().filter(scalar).find(|f| matches!(f.name.as_str(), "page" | "page_no" | "page_num"))?;
    let size = request.iter().filter(scalar).find(|f| matches!(f.name.as_str(), "size" | "page_size"))?;
    if response.ty != "object" {
        return None;
    }
    let fields = response.fields.as_ref()?;
    let lists: Vec<&Field> = fields.iter().filter(|f| f.ty.starts_with("list<")).collect();
    let [items] = lists.as_slice() else { return None };
    let total = fields
        .iter()
        .filter(scalar)
        .find(|f| matches!(f.name.as_str(), "total" | "total_count" | "total_num"))
        .map(|f| f.name.clone());
    let base = match page.example.as_deref().map(str::trim) {
        Some("0") => 0,
        Some("1") => 1,
        _ if page.name == "page" => 0,
        _ => 1,
    };
    Some(Paging {
        page: page.name.clone(),
        size: size.name.clone(),
        base,
        items: items.name.clone(),
        total,
        max_size: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn read_only_by_name() {
        for m in [
            "order.searchList",
            "order.orderDetail",
            "afterSale.Detail",
            "product.listV2",
            "sku.list",
            "open.getAuthInfo",
            "product.publishPreCheck",
            "logistics.queryPackageRoute",
            "afterSale.refundListSearch",
            "buyin.kolMaterialsProductsDetails",
        ] {
            assert!(is_read_only(m), "{m}");
        }
        for m in [
            "order.addOrderRemark",
            "product.addV2",
            "order.logisticsAdd",
            "token.create",
            "sku.syncStock",
            "product.del",
        ] {
            assert!(!is_read_only(m), "{m}");
        }
    }

    #[test]
    fn idempotent_writes_by_name() {
        for m in ["product.setOnline", "product.setOffline", "warehouse.setAddr", "shop.setStorePackageFee"] {
            assert!(is_idempotent_write(m), "{m}");
            assert_eq!(retry_class_by_name(m), RetryClass::Idempotent, "{m}");
        }
        // Not a word boundary, another verb, or not the last segment.
        for m in [
            "order.settle",
            "qualification.settle",
            "x.setup",
            "x.set",
            "x.reset",
            "x.Set",
            "sku.editPrice",
            "order.updateOrderAmount",
            "product.del",
            "set.create",
            "setX.create",
        ] {
            assert!(!is_idempotent_write(m), "{m}");
        }
    }

    #[test]
    fn every_method_gets_one_class_by_name() {
        // Reads first: a read name wins over the set rule (a getter named `setList` reads).
        assert_eq!(retry_class_by_name("order.searchList"), RetryClass::ReadOnly);
        assert_eq!(retry_class_by_name("x.setList"), RetryClass::ReadOnly);
        assert_eq!(retry_class_by_name("product.setOnline"), RetryClass::Idempotent);
        for m in ["order.logisticsAdd", "product.addV2", "order.settle", "sku.syncStock", "afterSale.operate"] {
            assert_eq!(retry_class_by_name(m), RetryClass::ReadBack, "{m}");
        }
        let method = untyped_method("product.setOnline", Origin::Catalog, None);
        assert_eq!((method.retry, method.read_only), (Some(RetryClass::Idempotent), false), "written as `retry`");
        assert_eq!(method.retry_class(), Ok(RetryClass::Idempotent));
    }

    #[test]
    fn sensitive_by_name() {
        for n in [
            "post_tel",
            "encrypt_post_tel",
            "post_receiver",
            "post_addr",
            "access_token",
            "refresh_token",
            "decrypt_text",
            "id_card_no",
            "mobile",
            "rider_phone",
        ] {
            assert!(is_sensitive(n), "{n}");
        }
        for n in
            ["mask_post_tel", "shop_name", "product_name", "is_virtual_tel", "sensitive_type", "order_id", "token_type"]
        {
            assert!(!is_sensitive(n), "{n}");
        }
    }

    fn field(name: &str, ty: &str, example: Option<&str>) -> Field {
        imported_field(name, ty.to_owned(), false, example.map(str::to_owned), None)
    }

    #[test]
    fn paging_by_shape() {
        let request = [field("page_no", "i64", None), field("page_size", "i64", None)];
        let response =
            Body::new("object", Some(vec![field("total_count", "i64", None), field("items", "list<string>", None)]));
        let paging = detect_paging(&request, &response).unwrap();
        assert_eq!(
            (paging.page.as_str(), paging.base, paging.items.as_str(), paging.total.as_deref()),
            ("page_no", 1, "items", Some("total_count"))
        );
        let from_example = [field("page", "i64", Some("1")), field("size", "i64", None)];
        assert_eq!(detect_paging(&from_example, &response).unwrap().base, 1, "the example wins over the name");
        let two_lists =
            Body::new("object", Some(vec![field("a", "list<string>", None), field("b", "list<string>", None)]));
        assert!(detect_paging(&request, &two_lists).is_none());
    }
}
