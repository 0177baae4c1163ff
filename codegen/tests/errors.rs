//! Bad spec input: every case is an error naming the file and the spec path.

use codegen::{Input, SpecFile};

const GROUP: &str = "api-spec/groups/order.json";

/// One code set, typed by name on `order_status`.
const CODES: &str = r#"{"code_sets": [{"name": "OrderStatus", "doc": "An order's status.", "fields": ["order_status"],
  "values": [{"name": "SHIPPED", "value": 3, "label": "已发货", "doc": "Shipped."}]}]}"#;

fn input(groups: &[(&str, &str)], messages: &str, overrides: &str) -> Input {
    Input {
        groups: groups.iter().map(|(path, text)| SpecFile { path: path.to_string(), text: text.to_string() }).collect(),
        messages: SpecFile { path: "api-spec/messages.json".into(), text: messages.into() },
        overrides: SpecFile { path: "api-spec/overrides.json".into(), text: overrides.into() },
        codes: SpecFile { path: "api-spec/codes.json".into(), text: CODES.into() },
        shapes: SpecFile { path: "api-spec/shapes.json".into(), text: r#"{"shapes": []}"#.into() },
        titles: None,
    }
}

/// The error text for a single group file with one method's request and response.
fn error_for(method: &str) -> String {
    let group = format!(r#"{{"group": "order", "methods": [{method}]}}"#);
    error_of(input(&[(GROUP, &group)], r#"{"messages": []}"#, "{}"))
}

fn error_of(input: Input) -> String {
    match codegen::generate(&input) {
        Ok(_) => panic!("expected an error"),
        Err(errors) => errors.to_string(),
    }
}

fn assert_contains(text: &str, parts: &[&str]) {
    for part in parts {
        assert!(text.contains(part), "`{part}` not in:\n{text}");
    }
}

#[test]
fn unknown_key() {
    let e = error_for(
        r#"{"name": "order.searchList", "request": [{"name": "a", "type": "i64", "requird": true}], "response": {"type": "object", "fields": []}}"#,
    );
    assert_contains(&e, &[GROUP, "methods[0].request[0]", "unknown field `requird`"]);
}

#[test]
fn unknown_type() {
    let e = error_for(
        r#"{"name": "order.searchList", "request": [], "response": {"type": "object", "fields": [
            {"name": "shop_order_list", "type": "list<object>", "fields": [{"name": "sku_id", "type": "i65"}]}]}}"#,
    );
    assert_contains(&e, &[GROUP, "order.searchList -> response.shop_order_list[].sku_id", "unknown type `i65`"]);
}

#[test]
fn unknown_origin() {
    // A misspelt origin must not silently make an imported entry hand-written (or the reverse).
    let e = error_for(r#"{"name": "order.searchList", "origin": "sdk-rust"}"#);
    assert_contains(&e, &[GROUP, "methods[0].origin", "unknown variant `sdk-rust`", "`catalog`, `sdk-go`, `sdk-java`"]);
}

#[test]
fn duplicate_method() {
    let a = r#"{"group": "order", "methods": [{"name": "order.searchList"}]}"#;
    let e = error_of(input(&[(GROUP, a), ("api-spec/groups/order2.json", a)], r#"{"messages": []}"#, "{}"));
    assert_contains(&e, &["api-spec/groups/order2.json: order.searchList: duplicate method (also defined in api-spec/groups/order.json)"]);
}

#[test]
fn nested_types_of_different_shapes_are_qualified_by_their_parents() {
    // Two `pack_list` items of different shapes: the second is named by its path.
    let method = r#"{"name": "order.ship", "request": [{"name": "pack_list", "type": "list<object>", "fields": [{"name": "a", "type": "string"}]}],
        "response": {"type": "object", "fields": [{"name": "pack_list", "type": "list<object>", "fields": [{"name": "b", "type": "string"}]},
                                                  {"name": "result", "type": "object", "fields": [{"name": "children", "type": "list<object>", "fields": [
                                                      {"name": "children", "type": "list<object>", "fields": [{"name": "c", "type": "i64"}]}]}]}]}}"#;
    let group = format!(r#"{{"group": "order", "methods": [{method}]}}"#);
    let output = codegen::generate(&input(&[(GROUP, &group)], r#"{"messages": []}"#, "{}")).unwrap();
    let code = &output.files["order/ship.rs"];
    for name in [
        "pub struct Pack ",
        "pub struct ShipPack ",
        "pub struct ShipResult ",
        "pub struct Child ",
        "pub struct ChildChild ",
    ] {
        assert!(code.contains(name), "`{name}` not in the generated code");
    }
    // A name given in overrides is never changed: a collision is then an error naming both paths.
    let overrides = r#"{"methods": {"order.ship": {"fields": {"response.pack_list": {"type_name": "Pack"}}}}}"#;
    let e = error_of(input(&[(GROUP, &group)], r#"{"messages": []}"#, overrides));
    assert_contains(&e, &[GROUP, "order.ship -> response.pack_list", "`Pack`", "request.pack_list", "overrides.json"]);
}

#[test]
fn rust_field_name_collision() {
    let e = error_for(
        r#"{"name": "order.x", "request": [{"name": "shopId", "type": "i64"}, {"name": "shop_id", "type": "i64"}], "response": {"type": "object", "fields": []}}"#,
    );
    assert_contains(&e, &["order.x -> request.shop_id", "`shop_id` is also derived from `request.shopId`"]);
}

#[test]
fn a_duplicate_json_name_is_one_field_unless_the_types_differ() {
    let same = r#"{"name": "order.x", "request": [{"name": "a", "type": "i64"}, {"name": "a", "type": "i64"}], "response": {"type": "object", "fields": []}}"#;
    let group = format!(r#"{{"group": "order", "methods": [{same}]}}"#);
    let output = codegen::generate(&input(&[(GROUP, &group)], r#"{"messages": []}"#, "{}")).unwrap();
    assert_eq!(output.files["order/x.rs"].matches("pub a: Option<i64>").count(), 1);
    let different = r#"{"name": "order.x", "request": [{"name": "a", "type": "i64"}, {"name": "a", "type": "string"}], "response": {"type": "object", "fields": []}}"#;
    assert_contains(&error_for(different), &["order.x -> request.a", "appears twice", "different types"]);
}

#[test]
fn dangling_references() {
    // An object type without its fields.
    let e = error_for(
        r#"{"name": "order.x", "request": [{"name": "addr", "type": "object"}], "response": {"type": "object", "fields": []}}"#,
    );
    assert_contains(&e, &["order.x -> request.addr", "holds an object but the field has no `fields`"]);
    // Paging that names a field the method does not have.
    let e = error_for(
        r#"{"name": "order.x", "paging": {"page": "page", "size": "size", "base": 0, "items": "list"},
            "request": [{"name": "page", "type": "i64"}], "response": {"type": "object", "fields": []}}"#,
    );
    assert_contains(
        &e,
        &["order.x -> paging.size", "no request field `size`", "order.x -> paging.items", "no response field `list`"],
    );
    // Overrides for a method or field the spec does not have.
    let group = r#"{"group": "order", "methods": [{"name": "order.x", "request": [], "response": {"type": "object", "fields": []}}]}"#;
    let overrides = r#"{"methods": {"order.y": {}, "order.x": {"fields": {"request.nope": {"sensitive": true}}}}}"#;
    let e = error_of(input(&[(GROUP, group)], r#"{"messages": []}"#, overrides));
    assert_contains(&e, &["api-spec/overrides.json: methods.order.y: override for a method the spec does not have"]);
    assert_contains(&e, &["api-spec/overrides.json: methods.order.x.fields.request.nope: override for a field"]);
}

#[test]
fn malformed_json() {
    let e = error_of(input(&[(GROUP, r#"{"group": "order", "methods": [}"#)], r#"{"messages": []}"#, "{}"));
    assert_contains(&e, &[GROUP, "line 1"]);
    let e = error_of(input(&[], r#"{"messages": [] } trailing"#, "{}"));
    assert_contains(&e, &["api-spec/messages.json", "trailing"]);
}

#[test]
fn method_in_the_wrong_group_and_half_typed() {
    let e = error_for(r#"{"name": "product.x"}"#);
    assert_contains(&e, &["product.x: method is not in group `order`"]);
    let e = error_for(r#"{"name": "order.x", "request": []}"#);
    assert_contains(&e, &["order.x: give both `request` and `response`"]);
}

#[test]
fn message_errors() {
    let messages = r#"{"messages": [{"tag": 1, "name": "A", "fields": []}, {"tag": 1, "name": "B", "fields": [{"name": "x", "type": "strin"}]}]}"#;
    let e = error_of(input(&[], messages, "{}"));
    assert_contains(&e, &["api-spec/messages.json: B: tag 1 is also used by `A`", "B -> x: unknown type `strin`"]);
}

#[test]
fn every_error_is_reported_not_just_the_first() {
    let e = error_for(
        r#"{"name": "order.x", "request": [{"name": "a", "type": "i65"}, {"name": "b", "type": "map<bool,i64>"}], "response": {"type": "object", "fields": []}}"#,
    );
    assert_eq!(e.lines().count(), 2, "{e}");
}

#[test]
fn id_type_overrides_name_a_known_type_on_a_field_that_can_hold_it() {
    let group = r#"{"group": "order", "methods": [{"name": "order.x", "request": [
        {"name": "OrderId", "type": "string"}, {"name": "flag", "type": "bool"}, {"name": "tags", "type": "list<bool>"}
    ], "response": {"type": "object", "fields": []}}]}"#;
    let overrides = r#"{"methods": {"order.x": {"fields": {
        "request.OrderId": {"id_type": "OrderNumber"},
        "request.flag": {"id_type": "OrderId"},
        "request.tags": {"id_type": "SkuId"}
    }}}}"#;
    let e = error_of(input(&[(GROUP, group)], r#"{"messages": []}"#, overrides));
    assert_contains(
        &e,
        &[
            "order.x -> request.OrderId: unknown id_type `OrderNumber` (known: ProductId, SkuId, OrderId, ShopId, AfterSaleId, or `none`)",
            "order.x -> request.flag: id_type `OrderId` on a field of type `bool` (needs an integer or a string)",
            "order.x -> request.tags: id_type `SkuId` on a list of `bool` (needs integers or strings)",
        ],
    );
}

#[test]
fn a_method_module_cannot_take_the_shared_types_module_name() {
    let e = error_for(r#"{"name": "order.shared", "request": [], "response": {"type": "object", "fields": []}}"#);
    assert_contains(&e, &["order.shared: module name `shared` is the group's module of shared types"]);
}

#[test]
fn retry_class_errors() {
    // An unknown class names the three that exist.
    let e = error_for(r#"{"name": "order.ship", "retry": "safe"}"#);
    assert_contains(
        &e,
        &[GROUP, "methods[0].retry", "unknown variant `safe`", "`read-only`, `idempotent`, `read-back`"],
    );
    // The old key and the new one must agree.
    let e = error_for(r#"{"name": "order.ship", "read_only": true, "retry": "read-back"}"#);
    assert_contains(&e, &[GROUP, "order.ship -> retry", "`read_only: true` contradicts `retry: \"read-back\"`"]);
    // So must an override's.
    let group = r#"{"group": "order", "methods": [{"name": "order.ship"}]}"#;
    let overrides = r#"{"methods": {"order.ship": {"read_only": false, "retry": "read-only"}}}"#;
    let e = error_of(input(&[(GROUP, group)], r#"{"messages": []}"#, overrides));
    assert_contains(&e, &["api-spec/overrides.json", "methods.order.ship.retry", "`read_only: false` contradicts"]);
}

/// The class each method of `group` ends up with, from the generated method table.
fn classes(group: &str, overrides: &str) -> Vec<(String, String)> {
    let output = codegen::generate(&input(&[(GROUP, group)], r#"{"messages": []}"#, overrides))
        .unwrap_or_else(|errors| panic!("{errors}"));
    let table = &output.files["method_table.tsv"];
    let mut lines = table.lines();
    let retry = lines.next().unwrap().split('\t').position(|column| column == "retry").expect("a retry column");
    lines
        .map(|line| {
            let columns: Vec<&str> = line.split('\t').collect();
            (columns[0].to_owned(), columns[retry].to_owned())
        })
        .collect()
}

#[test]
fn retry_classes_come_from_the_spec_then_the_overrides() {
    let group = r#"{"group": "order", "methods": [
        {"name": "order.a", "retry": "idempotent"},
        {"name": "order.b", "read_only": true},
        {"name": "order.c"},
        {"name": "order.d", "retry": "read-only"},
        {"name": "order.e", "read_only": true},
        {"name": "order.f", "retry": "idempotent"},
        {"name": "order.g", "retry": "read-only", "read_only": true}
    ]}"#;
    let expected = |pairs: &[(&str, &str)]| -> Vec<(String, String)> {
        pairs.iter().map(|(m, c)| (m.to_string(), c.to_string())).collect()
    };
    // The spec alone: `retry`, the old `read_only: true`, and `read-back` when nothing says.
    assert_eq!(
        classes(group, "{}"),
        expected(&[
            ("order.a", "idempotent"),
            ("order.b", "read-only"),
            ("order.c", "read-back"),
            ("order.d", "read-only"),
            ("order.e", "read-only"),
            ("order.f", "idempotent"),
            ("order.g", "read-only"),
        ])
    );
    // An override replaces it, in either spelling; `read_only: false` is `read-back`.
    let overrides = r#"{"methods": {
        "order.a": {"note": "adds", "retry": "read-back"},
        "order.b": {"retry": "idempotent"},
        "order.c": {"read_only": true},
        "order.d": {"read_only": false},
        "order.e": {"note": "only a doc", "doc": "Reads."},
        "order.f": {"retry": "idempotent", "read_only": false}
    }}"#;
    assert_eq!(
        classes(group, overrides),
        expected(&[
            ("order.a", "read-back"),
            ("order.b", "idempotent"),
            ("order.c", "read-only"),
            ("order.d", "read-back"),
            ("order.e", "read-only"),
            ("order.f", "idempotent"),
            ("order.g", "read-only"),
        ])
    );
}
