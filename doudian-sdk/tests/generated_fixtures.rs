//! Compiles the generator's snapshot output for the hard-case fixture
//! (`codegen/tests/fixtures/hard_cases/expected`) against the real SDK core, and checks
//! that the generated types behave: keywords and odd names keep their wire names,
//! duplicate names are deduplicated, sensitive fields are redacted, paging reads nested
//! paths, non-object responses decode (bare or in a `data` wrapper), and messages decode
//! by tag or, where the tag is unpublished, by name.
#![allow(dead_code)]

// The SDK's round-trip checks, built for tests only: compiled here against the names below.
#[path = "../src/de/testing.rs"]
mod testing;

// The generated code names the core as `crate::de`, `crate::request`, ...: map them here.
mod de {
    pub use doudian_sdk::de::*;
}
mod ser {
    pub use doudian_sdk::ser::*;
}
mod page {
    pub use doudian_sdk::page::*;
}
mod request {
    pub use doudian_sdk::request::*;
}
mod retry {
    pub use doudian_sdk::retry::*;
}
#[allow(unused_imports)]
mod codes {
    pub use doudian_sdk::codes::*;
}
mod ids {
    pub use doudian_sdk::ids::*;
}
mod secret {
    pub use doudian_sdk::secret::*;
}

#[allow(unused_imports)]
#[path = "../../codegen/tests/fixtures/hard_cases/expected/demo/mod.rs"]
#[rustfmt::skip]
mod demo;
#[path = "../../codegen/tests/fixtures/hard_cases/expected/messages/mod.rs"]
#[rustfmt::skip]
mod messages;

use demo::*;
use doudian_sdk::page::Paginated;
use doudian_sdk::Request;

#[test]
fn each_request_carries_its_retry_class() {
    use doudian_sdk::retry::RetryClass;
    // `retry` in the spec, the old `read_only: true`, an override in either key, and nothing.
    assert_eq!(DemoAreasRequest::RETRY, RetryClass::ReadOnly);
    assert_eq!(DemoSearchListRequest::RETRY, RetryClass::ReadOnly);
    assert_eq!(DemoCreateBatchRequest::RETRY, RetryClass::Idempotent);
    assert_eq!(DemoShipAgainRequest::RETRY, RetryClass::Idempotent);
    assert_eq!(DemoUntypedCallRequest::RETRY, RetryClass::ReadOnly);
    assert_eq!(DemoShipRequest::RETRY, RetryClass::ReadBack);
    assert_eq!(DemoCreateRequest::RETRY, RetryClass::ReadBack);
    // `READ_ONLY` still tells read-only methods apart.
    assert_eq!(
        [DemoAreasRequest::READ_ONLY, DemoCreateBatchRequest::READ_ONLY, DemoShipRequest::READ_ONLY],
        [true, false, false]
    );
}

const SAMPLES: &str = include_str!("../../codegen/tests/fixtures/hard_cases/expected/samples.json");
const MESSAGE_SAMPLES: &str = include_str!("../../codegen/tests/fixtures/hard_cases/expected/message_samples.json");

#[test]
fn every_fixture_method_round_trips_its_sample() {
    testing::Checker::new(SAMPLES)
        .check::<DemoAreasRequest>()
        .check::<DemoCreateRequest>()
        .check::<DemoCreateBatchRequest>()
        .check::<DemoSearchListRequest>()
        .check::<DemoShipRequest>()
        .check::<DemoShipAgainRequest>()
        .check::<DemoUntypedCallRequest>()
        .finish();
}

#[test]
fn messages_decode_by_tag() {
    use messages::Message;
    testing::check_messages(
        MESSAGE_SAMPLES,
        testing::MessageDecoders {
            names: Message::NAMES,
            tags: Message::TAGS,
            decode: Message::decode,
            decode_named: Message::decode_named,
            tag_of: Message::tag,
            name_of: Message::name,
        },
    );
    let message = messages::Message::decode(100, r#"{"p_id":"7301111111111111111","s_ids":[1,"2"]}"#).unwrap().unwrap();
    let messages::Message::DemoCreated(created) = message else { panic!("wrong variant") };
    assert_eq!(created.p_id, Some(ids::OrderId::from(7_301_111_111_111_111_111)));
    assert_eq!(created.s_ids, vec![1, 2]);
    assert!(messages::Message::decode(999, "{}").is_none());
    // An id is kept whatever its text; a value that is no id at all is an error.
    let refunded = messages::Message::decode(200, r#"{"aftersale_id":"x1"}"#).unwrap().unwrap();
    let messages::Message::DemoRefunded(refunded) = refunded else { panic!("wrong variant") };
    assert_eq!(refunded.aftersale_id.unwrap(), "x1");
    let failure = messages::Message::decode(200, r#"{"aftersale_id":{"x":1}}"#).unwrap().unwrap_err();
    assert_eq!(failure.path, "aftersale_id");
}

#[test]
fn keywords_and_odd_names_keep_their_wire_names_in_canonical_order() {
    let request = DemoSearchListRequest::new(1, 20)
        .type_("normal")
        .return_(false)
        .three_d_model("x")
        .order_id(7_301_111_111_111_111_111)
        .filter(vec![search_list::Filter::new(2).tags(vec!["a".into()])]);
    let text = serde_json::to_string(&request).unwrap();
    assert_eq!(
        text,
        r#"{"3d_model":"x","filter":[{"status":2,"tags":["a"]}],"order_id":7301111111111111111,"page":1,"return":false,"size":20,"type":"normal"}"#
    );
    assert_eq!(DemoSearchListRequest::METHOD, "demo.searchList");
    const { assert!(DemoSearchListRequest::READ_ONLY) };
    const { assert!(!DemoShipRequest::READ_ONLY) };
}

#[test]
fn camel_and_snake_case_fields_coexist() {
    let item: search_list::List = doudian_sdk::de::from_str(
        r#"{"routeLabelData":{"code":"c"},"route_label_info":"i","MaterialId":"m","reject_time":"t"}"#,
    )
    .unwrap();
    assert_eq!(item.route_label_data.unwrap().code.as_deref(), Some("c"));
    assert_eq!(item.route_label_info.as_deref(), Some("i"));
    assert_eq!(item.material_id.as_deref(), Some("m"));
    assert_eq!(item.reject_time.as_deref(), Some("t"));
}

#[test]
fn sensitive_fields_are_redacted_in_debug() {
    let item: search_list::List = doudian_sdk::de::from_str(r#"{"order_id":"1","post_tel":"13800000000"}"#).unwrap();
    let debug = format!("{item:?}");
    assert!(debug.contains(r#"post_tel: <redacted>"#), "{debug}");
    assert!(!debug.contains("13800000000"), "{debug}");
    assert!(debug.contains(r#"order_id: Some(OrderId(1))"#), "{debug}");
    let ship = DemoShipRequest::new(vec![ship::Pack::new("SF")]).receiver(ship::Receiver::default());
    assert!(format!("{ship:?}").contains("receiver: <redacted>"));
}

#[test]
fn paging_reads_nested_items_and_total() {
    let mut request = DemoSearchListRequest::new(1, 20);
    assert_eq!(<DemoSearchListRequest as Paginated>::PAGE_BASE, 1);
    assert_eq!(<DemoSearchListRequest as Paginated>::MAX_PAGE_SIZE, Some(50));
    assert_eq!(request.page_number(), Some(1));
    request.set_page_number(3);
    assert_eq!((request.page, request.page_size()), (3, Some(20)));
    let response: DemoSearchListResponse =
        doudian_sdk::de::from_str(r#"{"data":{"total":"41","list":[{"order_id":"a"},{"order_id":"b"}]}}"#).unwrap();
    let (items, total) = DemoSearchListRequest::into_items(response);
    assert_eq!((items.len(), total), (2, Some(41)));
    let empty: DemoSearchListResponse = doudian_sdk::de::from_str(r#"{"data":null}"#).unwrap();
    let (items, total) = DemoSearchListRequest::into_items(empty);
    assert!(items.is_empty());
    assert_eq!(total, None);
}

#[test]
fn non_object_responses_decode() {
    let areas: DemoAreasResponse = doudian_sdk::de::from_str(r#"[{"area_id":"7301111111111111111"}]"#).unwrap();
    assert_eq!(areas.0[0].area_id, Some(7_301_111_111_111_111_111));
    let created: DemoCreateResponse = doudian_sdk::de::from_str(r#""42""#).unwrap();
    assert_eq!(created.0, Some(42));
    let batch: DemoCreateBatchResponse = doudian_sdk::de::from_str(r#"{"w1":true,"w2":0}"#).unwrap();
    assert_eq!(batch.0.get("w2"), Some(&false));
    let null: DemoAreasResponse = doudian_sdk::de::from_str("null").unwrap();
    assert!(null.0.is_empty());
}

#[test]
fn untyped_methods_carry_open_json() {
    let request = DemoUntypedCallRequest::new().param("b", 2).param("a", "x");
    assert_eq!(serde_json::to_string(&request).unwrap(), r#"{"a":"x","b":2}"#);
    let response: DemoUntypedCallResponse = doudian_sdk::de::from_str(r#"{"anything":[1,2]}"#).unwrap();
    assert_eq!(response.0["anything"][1], 2);
}

#[test]
fn wrong_types_fail_with_their_path() {
    let failure = doudian_sdk::de::from_str::<DemoSearchListResponse>(
        r#"{"data":{"list":[{},{"sku_map":{"5":{"sku_id":true}}}]}}"#,
    )
    .unwrap_err();
    assert_eq!(failure.path, "data.list[1].sku_map.5.sku_id");
}

#[test]
fn nested_types_of_one_shape_are_one_type_across_methods() {
    // `demo.ship` and `demo.shipAgain` hold the same `Pack` and `Receiver`: one type, in
    // `shared`, re-exported by both method modules, so a value moves between them as is.
    let pack: ship::Pack = ship_again::Pack::new("SF");
    let receiver: shared::Receiver = ship::Receiver::default().name("x");
    let again = DemoShipAgainRequest::new(vec![pack.clone()]).receiver(receiver.clone());
    let first = DemoShipRequest::new(vec![pack]).receiver(receiver);
    assert_eq!(serde_json::to_value(&again).unwrap(), serde_json::to_value(&first).unwrap());
    use std::any::TypeId;
    assert_eq!(TypeId::of::<ship::Receiver>(), TypeId::of::<ship_again::Receiver>());
}

#[test]
fn messages_without_a_published_tag_decode_by_type_or_event_name() {
    use messages::Message;
    assert_eq!(Message::UNTAGGED, ["DemoUntagged"]);
    assert_eq!(Message::type_name("demo_untaggedEvent"), Some("DemoUntagged"));
    for name in ["DemoUntagged", "demo_untaggedEvent"] {
        let message =
            Message::decode_named(name, r#"{"note":"hi","order_id":"7301111111111111111"}"#).unwrap().unwrap();
        assert_eq!((message.tag(), message.name()), (None, "DemoUntagged"));
        let Message::DemoUntagged(untagged) = message else { panic!("wrong variant") };
        assert_eq!(untagged.note.as_deref(), Some("hi"));
    }
    assert!(Message::decode_named("demo_other", "{}").is_none());
    let failure = Message::decode_named("DemoUntagged", r#"{"note":{"x":1}}"#).unwrap().unwrap_err();
    assert_eq!(failure.path, "note");
}

#[test]
fn a_single_data_field_decodes_bare_and_wrapped() {
    // An object: the fields themselves, or the same fields inside {"data": ...}.
    let bare: DemoWrappedInfoResponse = doudian_sdk::de::from_str(r#"{"info":"ok","count":"3"}"#).unwrap();
    let wrapped: DemoWrappedInfoResponse =
        doudian_sdk::de::from_str(r#"{"data":{"info":"ok","count":3},"extra":1}"#).unwrap();
    assert_eq!((bare.info.as_deref(), bare.count), (Some("ok"), Some(3)));
    assert_eq!((wrapped.info, wrapped.count), (bare.info, bare.count));
    // A list: the array, or {"data": [...]}; anything else is an error, never an empty list.
    let bare: DemoWrappedListResponse = doudian_sdk::de::from_str(r#"[{"id":7},{"id":"8"}]"#).unwrap();
    let wrapped: DemoWrappedListResponse = doudian_sdk::de::from_str(r#"{"data":[{"id":7},{"id":"8"}]}"#).unwrap();
    assert_eq!(bare.0.iter().map(|d| d.id).collect::<Vec<_>>(), [Some(7), Some(8)]);
    assert_eq!(wrapped.0.iter().map(|d| d.id).collect::<Vec<_>>(), [Some(7), Some(8)]);
    let null: DemoWrappedListResponse = doudian_sdk::de::from_str("null").unwrap();
    assert!(null.0.is_empty());
    for not_a_list in [r#"{}"#, r#"{"list":[{"id":7}]}"#, r#""text""#] {
        assert!(doudian_sdk::de::from_str::<DemoWrappedListResponse>(not_a_list).is_err(), "{not_a_list}");
    }
    let failure =
        doudian_sdk::de::from_str::<DemoWrappedListResponse>(r#"{"data":[{"id":7},{"id":true}]}"#).unwrap_err();
    assert_eq!(failure.path, "data[1].id");
    assert_eq!(DemoWrappedListRequest::METHOD, "Demo.wrappedList");
}
