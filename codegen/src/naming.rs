//! Every naming decision of the generator, in one place. Renderers never invent names.

use heck::{ToSnakeCase, ToUpperCamelCase};

/// Rust keywords (strict and reserved, all editions) that cannot be identifiers.
const KEYWORDS: &[&str] = &[
    "abstract", "as", "async", "await", "become", "box", "break", "const", "continue", "crate", "do", "dyn", "else",
    "enum", "extern", "false", "final", "fn", "for", "gen", "if", "impl", "in", "let", "loop", "macro", "match", "mod",
    "move", "mut", "override", "priv", "pub", "ref", "return", "self", "Self", "static", "struct", "super", "trait",
    "true", "try", "type", "typeof", "unsafe", "unsized", "use", "virtual", "where", "while", "yield",
];

/// Prelude names the generated code uses bare: a nested type may not take them.
const RESERVED_TYPES: &[&str] = &[
    "Option",
    "Some",
    "None",
    "Result",
    "Ok",
    "Err",
    "Vec",
    "String",
    "Box",
    "Default",
    "Clone",
    "Debug",
    "Into",
    "From",
    "Send",
    "Sync",
    "Sized",
    "Copy",
    "Drop",
    "Fn",
    "FnMut",
    "FnOnce",
    "Iterator",
    "ToString",
    "ToOwned",
    "PartialEq",
    "Eq",
    "PartialOrd",
    "Ord",
    "AsRef",
    "AsMut",
    "Extend",
    "IntoIterator",
    "TryFrom",
    "TryInto",
    "Unpin",
];

/// The module of a group's shared nested types (`api/<group>/shared.rs`): no method's module
/// may take the name.
pub const SHARED_MODULE: &str = "shared";

/// The identifier types of the SDK's core (`crate::ids`), which fields may be typed with.
pub const ID_TYPES: &[&str] = &["ProductId", "SkuId", "OrderId", "ShopId", "AfterSaleId"];

/// The identifier type of a field of this JSON name, wherever it appears (requests,
/// replies and pushes). Plural names only name lists (a plural string may be a
/// comma-separated list, which stays text).
pub fn id_type_by_name(wire: &str, list: bool) -> Option<&'static str> {
    let single = match wire {
        "product_id" => "ProductId",
        "sku_id" => "SkuId",
        "order_id" | "shop_order_id" | "sku_order_id" | "parent_order_id" | "p_id" => "OrderId",
        "shop_id" => "ShopId",
        "aftersale_id" | "after_sale_id" => "AfterSaleId",
        _ => "",
    };
    if !single.is_empty() {
        return Some(single);
    }
    match wire {
        "product_ids" if list => Some("ProductId"),
        "sku_ids" if list => Some("SkuId"),
        "order_ids" | "s_ids" if list => Some("OrderId"),
        "aftersale_ids" | "after_sale_ids" if list => Some("AfterSaleId"),
        _ => None,
    }
}

/// Whether a type name would shadow a prelude name the generated code relies on.
pub fn is_reserved(name: &str) -> bool {
    RESERVED_TYPES.contains(&name)
}

/// Whether `name` is a Rust keyword.
pub fn is_keyword(name: &str) -> bool {
    KEYWORDS.contains(&name)
}

/// Makes an identifier legal: keywords get a trailing underscore, a leading digit gets
/// the given letter prefix.
fn legal(mut ident: String, digit_prefix: &str) -> String {
    if ident.starts_with(|c: char| c.is_ascii_digit()) {
        ident.insert_str(0, digit_prefix);
    }
    if is_keyword(&ident) {
        ident.push('_');
    }
    ident
}

/// The platform's class rule: every `.`- or `_`-separated segment of the method name
/// with its first letter upper-cased, the rest kept (`order.searchList` -> `OrderSearchList`,
/// `sendHome.order.acceptOrder` -> `SendHomeOrderAcceptOrder`, `QA.xz002` -> `QAXz002`).
pub fn method_type_stem(method: &str) -> String {
    let mut out = String::with_capacity(method.len());
    for segment in method.split(['.', '_']).filter(|s| !s.is_empty()) {
        let mut chars = segment.chars();
        if let Some(first) = chars.next() {
            out.extend(first.to_uppercase());
            out.extend(chars);
        }
    }
    legal(out, "M")
}

/// The request type of a method (`OrderSearchListRequest`).
pub fn request_type(method: &str) -> String {
    format!("{}Request", method_type_stem(method))
}

/// The response type of a method (`OrderSearchListResponse`).
pub fn response_type(method: &str) -> String {
    format!("{}Response", method_type_stem(method))
}

/// The module and cargo feature of a group (`afterSale` -> `after_sale`, `QA` -> `qa`).
pub fn group_module(group: &str) -> String {
    legal(group.to_snake_case(), "g")
}

/// The module of a method's nested types: the method name after its group, snake case
/// (`order.searchList` -> `search_list`, `sendHome.order.acceptOrder` -> `order_accept_order`).
pub fn method_module(group: &str, method: &str) -> String {
    let rest = match method.split_once('.') {
        Some((g, rest)) if g.eq_ignore_ascii_case(group) => rest,
        _ => method,
    };
    legal(rest.replace('.', "_").to_snake_case(), "m")
}

/// The module of a push message's nested types (`TradeCreate` -> `trade_create`).
pub fn message_module(message: &str) -> String {
    legal(message.to_snake_case(), "m")
}

/// The Rust field name of a JSON name (`shopOrderList` -> `shop_order_list`, `type` -> `type_`).
pub fn field_name(wire: &str) -> String {
    let snake = wire.to_snake_case();
    let snake = if snake.is_empty() { "field".to_owned() } else { snake };
    legal(snake, "n")
}

/// The Rust type name of a nested object, from the field that holds it; a list's items
/// are named for one item (`shop_order_list` -> `ShopOrder`, `items` -> `Item`,
/// `children` -> `Child`), anything else as the field (`receiver_msg` -> `ReceiverMsg`).
pub fn nested_type_name(wire: &str, list_item: bool) -> String {
    let mut words: Vec<String> = wire.to_snake_case().split('_').filter(|w| !w.is_empty()).map(str::to_owned).collect();
    if list_item {
        if words.len() > 1 && words.last().is_some_and(|w| w == "list") {
            words.pop();
        } else if let Some(last) = words.last_mut() {
            *last = singular(last);
        }
    }
    let camel = words.join("_").to_upper_camel_case();
    let camel = if camel.is_empty() { "Object".to_owned() } else { camel };
    legal(camel, "N")
}

/// One English plural word in the singular, by the regular rules (and `children`);
/// words that do not look plural stay as they are (`status`, `data`, `info`).
fn singular(word: &str) -> String {
    const KEEP: &[&str] = &["data", "info", "status", "address", "news", "series", "species", "analysis", "basis"];
    if KEEP.contains(&word) || word.len() < 3 {
        return word.to_owned();
    }
    if word == "children" {
        return "child".to_owned();
    }
    if let Some(stem) = word.strip_suffix("ies") {
        return format!("{stem}y");
    }
    for suffix in ["sses", "xes", "ches", "shes", "zes"] {
        if let Some(stem) = word.strip_suffix(suffix) {
            return format!("{stem}{}", &suffix[..suffix.len() - 2]);
        }
    }
    if word.ends_with("ss") || word.ends_with("us") || word.ends_with("is") {
        return word.to_owned();
    }
    word.strip_suffix('s').map(str::to_owned).unwrap_or_else(|| word.to_owned())
}

/// `name` qualified by the type that holds it (`Child` under `Child` -> `ChildChild`,
/// `Result` under `SimplePlan` -> `SimplePlanResult`).
pub fn qualified_type_name(parent: &str, name: &str) -> String {
    format!("{parent}{name}")
}

/// The name that stands for the top of a method's request or response, or of a message,
/// when a nested type must be qualified by its parent: the method's last segment
/// (`buyin.simplePlan` -> `SimplePlan`) or the message name.
pub fn root_parent_name(owner: &str) -> String {
    let last = owner.rsplit('.').next().unwrap_or(owner);
    legal(last.to_upper_camel_case(), "M")
}

/// Whether `name` is a usable Rust identifier (for names given in overrides).
pub fn is_identifier(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c == '_' || c.is_ascii_alphabetic())
        && chars.all(|c| c == '_' || c.is_ascii_alphanumeric())
        && !is_keyword(name)
        && name != "_"
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn type_names_follow_the_platform_class_rule() {
        assert_eq!(request_type("order.searchList"), "OrderSearchListRequest");
        assert_eq!(response_type("order.searchList"), "OrderSearchListResponse");
        assert_eq!(request_type("afterSale.Detail"), "AfterSaleDetailRequest");
        assert_eq!(request_type("sendHome.order.acceptOrder"), "SendHomeOrderAcceptOrderRequest");
        assert_eq!(request_type("QA.xz002"), "QAXz002Request");
        assert_eq!(request_type("logistics.createSFOrder"), "LogisticsCreateSFOrderRequest");
        assert_eq!(request_type("logistics.get_cap_info"), "LogisticsGetCapInfoRequest");
    }

    #[test]
    fn modules_are_snake_case() {
        assert_eq!(group_module("afterSale"), "after_sale");
        assert_eq!(group_module("QA"), "qa");
        assert_eq!(group_module("instantShopping"), "instant_shopping");
        assert_eq!(method_module("order", "order.searchList"), "search_list");
        assert_eq!(method_module("sendHome", "sendHome.order.acceptOrder"), "order_accept_order");
        assert_eq!(method_module("afterSale", "afterSale.Detail"), "detail");
        assert_eq!(method_module("spu", "spu.queryBookNameByISBN"), "query_book_name_by_isbn");
    }

    #[test]
    fn field_names_are_legal_snake_case() {
        assert_eq!(field_name("shop_order_list"), "shop_order_list");
        assert_eq!(field_name("spuList"), "spu_list");
        assert_eq!(field_name("List"), "list");
        assert_eq!(field_name("type"), "type_");
        assert_eq!(field_name("return"), "return_");
        assert_eq!(field_name("1st"), "n1st");
        assert_eq!(field_name("address_id1"), "address_id1");
    }

    #[test]
    fn nested_types_are_named_from_their_field_and_list_items_for_one_item() {
        assert_eq!(nested_type_name("shop_order_list", true), "ShopOrder");
        assert_eq!(nested_type_name("shop_order_list", false), "ShopOrderList");
        assert_eq!(nested_type_name("spuList", true), "Spu");
        assert_eq!(nested_type_name("list", true), "List");
        assert_eq!(nested_type_name("items", true), "Item");
        assert_eq!(nested_type_name("children", true), "Child");
        assert_eq!(nested_type_name("categories", true), "Category");
        assert_eq!(nested_type_name("addresses", true), "Address");
        assert_eq!(nested_type_name("boxes", true), "Box");
        assert_eq!(nested_type_name("order_status", true), "OrderStatus");
        assert_eq!(nested_type_name("data", true), "Data");
        assert_eq!(nested_type_name("sku_infos", true), "SkuInfo");
        assert_eq!(nested_type_name("receiver_msg", false), "ReceiverMsg");
        assert_eq!(nested_type_name("self", false), "Self_");
        assert_eq!(nested_type_name("3d_model", false), "N3dModel");
    }

    #[test]
    fn qualified_names_and_roots() {
        assert_eq!(root_parent_name("buyin.simplePlan"), "SimplePlan");
        assert_eq!(root_parent_name("TradeCreate"), "TradeCreate");
        assert_eq!(qualified_type_name("Child", "Child"), "ChildChild");
    }

    #[test]
    fn prelude_names_are_reserved() {
        assert!(is_reserved("Option"));
        assert!(is_reserved("Result"));
        assert!(!is_reserved("ShopOrderList"));
    }

    #[test]
    fn identifiers_from_overrides_are_checked() {
        assert!(is_identifier("shop_order"));
        assert!(is_identifier("ShopOrder"));
        assert!(!is_identifier("type"));
        assert!(!is_identifier("1a"));
        assert!(!is_identifier("a-b"));
        assert!(!is_identifier(""));
    }
}
