//! The on-disk spec format (`api-spec/`), mirrored exactly: every struct denies unknown
//! keys so that a typo fails loudly with its location. See `api-spec/README.md`.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// One `api-spec/groups/<group>.json` file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GroupFile {
    /// The API group as the platform spells it (`afterSale`).
    pub group: String,
    /// The group's methods, sorted by name.
    pub methods: Vec<Method>,
}

/// One platform method.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Method {
    /// The full method name (`order.searchList`).
    pub name: String,
    /// The importer that owns this entry (its re-import replaces it); absent for
    /// hand-written methods, which every importer keeps untouched.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub origin: Option<Origin>,
    /// Where the facts came from (informational).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    /// What the method does, for the generated docs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub doc: Option<String>,
    /// The platform's documentation page of the method.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub doc_url: Option<String>,
    /// Other names the method goes by (its Chinese title): rustdoc search finds them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub aliases: Vec<String>,
    /// Other spellings of the method name seen in copies (`crossBorder.stockTaking` for
    /// `crossborder.stockTaking`): callable by name, listed as aliases, found by rustdoc.
    /// The method is sent under `name`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub known_as: Vec<String>,
    /// The method only reads (safe to retry after an ambiguous failure).
    #[serde(default, skip_serializing_if = "is_false")]
    pub read_only: bool,
    /// Paging facts, for paginated list methods.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub paging: Option<Paging>,
    /// The request parameters; absent (with `response`) for an untyped method.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request: Option<Vec<Field>>,
    /// The shape of the reply's `data`; absent (with `request`) for an untyped method.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub response: Option<Body>,
}

/// Which importer wrote an entry. A closed set, so a misspelt origin fails to parse instead
/// of silently turning an imported entry into a hand-written one (or the reverse).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Origin {
    /// `cargo xtask import-catalog`: the platform catalog.
    #[serde(rename = "catalog")]
    Catalog,
    /// `cargo xtask import-sdk --go`: the official Go SDK from the console.
    #[serde(rename = "sdk-go")]
    SdkGo,
    /// `cargo xtask import-sdk --java`: the official Java SDK from the console.
    #[serde(rename = "sdk-java")]
    SdkJava,
}

impl Origin {
    /// The spelling in the spec files.
    pub fn as_str(self) -> &'static str {
        match self {
            Origin::Catalog => "catalog",
            Origin::SdkGo => "sdk-go",
            Origin::SdkJava => "sdk-java",
        }
    }
}

impl std::fmt::Display for Origin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The reply's `data`: an object (usually) or any other type.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Body {
    /// A type expression (`object`, `list<object>`, `i64`, `map<string,bool>`, ...).
    #[serde(rename = "type")]
    pub ty: String,
    /// The fields of the object inside `type`, when it has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fields: Option<Vec<Field>>,
    /// The documentation lists `data` as one field of this name holding the value: the
    /// reply may carry the value itself (as the official Go SDK decodes it) or wrapped in
    /// `{"<wrapper>": value}`; both decode.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wrapper: Option<String>,
    /// A decision the importer made about the shape (where its sources disagree).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

impl Body {
    /// A body of this type and fields, with no wrapper and no note.
    pub fn new(ty: impl Into<String>, fields: Option<Vec<Field>>) -> Body {
        Body { ty: ty.into(), fields, wrapper: None, note: None }
    }
}

/// One field of a request, response or message object.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Field {
    /// The JSON name.
    pub name: String,
    /// A type expression: `string`, `i32`, `i64`, `f64`, `bool`, `any`, `object`,
    /// `list<T>`, `map<K,V>` (K is `string`, `i32` or `i64`).
    #[serde(rename = "type")]
    pub ty: String,
    /// The platform requires the field (requests only; responses treat every field as optional).
    #[serde(default, skip_serializing_if = "is_false")]
    pub required: bool,
    /// An example value, verbatim text from the catalog.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub example: Option<String>,
    /// Personal data or a credential: `Debug` prints `<redacted>`.
    #[serde(default, skip_serializing_if = "is_false")]
    pub sensitive: bool,
    /// What the field means, for the generated docs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub doc: Option<String>,
    /// A decision the importer made about this field (where its sources disagree).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// The code set the values belong to (`OrderStatus`): the field is typed with it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code_set: Option<String>,
    /// The fields of the object inside `type`, when it has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fields: Option<Vec<Field>>,
}

/// Where a paginated method keeps its paging parameters and results.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Paging {
    /// The request field with the page number.
    pub page: String,
    /// The request field with the page size.
    pub size: String,
    /// The number of the first page (0 or 1).
    pub base: i64,
    /// The item list inside `data`: wire names joined by `.`.
    pub items: String,
    /// The total inside `data`, when the method reports one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub total: Option<String>,
    /// The largest accepted page size, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_size: Option<i64>,
}

/// `api-spec/messages.json`: the push message types.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MessagesFile {
    /// Sorted by tag.
    pub messages: Vec<Message>,
}

/// One push message type.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Message {
    /// The numeric tag the platform sends (as a string) in each record; absent for a
    /// message whose tag no copy publishes (decoded by name, or by a tag the user registers).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tag: Option<u32>,
    /// The type name (`TradeCreate`).
    pub name: String,
    /// The platform's event name (`trade_TradeCreate`), when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event: Option<String>,
    /// `"catalog"` when owned by the importer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub origin: Option<Origin>,
    /// The platform's documentation page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub doc_url: Option<String>,
    /// What the message tells, for the generated docs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub doc: Option<String>,
    /// The fields of the decoded `data` object.
    pub fields: Vec<Field>,
}

/// `api-spec/overrides.json`: hand-made decisions that survive re-import.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Overrides {
    /// Per method name.
    #[serde(default)]
    pub methods: BTreeMap<String, MethodOverride>,
    /// Per message type name.
    #[serde(default)]
    pub messages: BTreeMap<String, MessageOverride>,
}

/// Overrides for one method.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MethodOverride {
    /// Why (kept for the reader; not used).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// Replaces the spec's `read_only`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub read_only: Option<bool>,
    /// Replaces the spec's paging facts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub paging: Option<Paging>,
    /// Removes the spec's paging facts (the heuristic was wrong).
    #[serde(default, skip_serializing_if = "is_false")]
    pub no_paging: bool,
    /// Replaces the spec's `doc`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub doc: Option<String>,
    /// Replaces the spec's `doc_url`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub doc_url: Option<String>,
    /// Added to the spec's `aliases`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub aliases: Vec<String>,
    /// Per field, keyed by spec path (`response.shop_order_list[].post_tel`).
    #[serde(default)]
    pub fields: BTreeMap<String, FieldOverride>,
}

/// Overrides for one message type.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MessageOverride {
    /// Why (kept for the reader; not used).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// Replaces the spec's `doc`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub doc: Option<String>,
    /// Per field, keyed by path (`receiver_addr.detail`).
    #[serde(default)]
    pub fields: BTreeMap<String, FieldOverride>,
}

/// Overrides for one field.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FieldOverride {
    /// Why (kept for the reader; not used).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// The Rust field name to use instead of the derived one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rust_name: Option<String>,
    /// The Rust name of the field's nested object type instead of the derived one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub type_name: Option<String>,
    /// Replaces the spec's `sensitive`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sensitive: Option<bool>,
    /// Replaces the spec's `doc`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub doc: Option<String>,
    /// Replaces the spec's `code_set`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code_set: Option<String>,
    /// With `code_set`: the field is one string of codes joined by `,` (`"2,3"`).
    #[serde(default, skip_serializing_if = "is_false")]
    pub joined_codes: bool,
    /// The identifier type (`ProductId`) instead of the one the field's name gives, or
    /// `none` to keep the wire's own type.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id_type: Option<String>,
    /// The JSON name appears more than once in its object with the same type: keep one.
    #[serde(default, skip_serializing_if = "is_false")]
    pub dedupe: bool,
}

fn is_false(value: &bool) -> bool {
    !*value
}

/// `api-spec/codes.json`: the code sets, the statuses and types the platform sends as bare
/// numbers. Each becomes an open newtype in `doudian_sdk::codes` with a constant per value.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CodesFile {
    /// Sorted as they are listed in the generated docs.
    pub code_sets: Vec<CodeSet>,
}

/// One code set.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CodeSet {
    /// The Rust type (`OrderStatus`).
    pub name: String,
    /// What the codes say (the first paragraph of the type's rustdoc).
    pub doc: String,
    /// JSON names of the fields that hold this set wherever they appear in requests,
    /// replies and pushes (within `groups`, when given). Any other field takes the set
    /// through a `code_set` entry in the spec or in `overrides.json`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub fields: Vec<String>,
    /// The groups (as the platform spells them, `messages` for pushes) where `fields`
    /// applies; everywhere when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub groups: Option<Vec<String>>,
    /// Where the values come from (informational).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    /// The values the SDK names.
    pub values: Vec<CodeValue>,
}

/// One named value of a code set.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CodeValue {
    /// The constant (`AWAITING_SHIPMENT`).
    pub name: String,
    /// The wire number.
    pub value: i64,
    /// The platform's Chinese label.
    pub label: String,
    /// What the value means.
    pub doc: String,
}

/// `api-spec/shapes.json`: named domain shapes (see `codegen::shapes`).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ShapesFile {
    /// The shapes.
    pub shapes: Vec<Shape>,
}

/// One named shape: the objects at its places become one type.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Shape {
    /// The Rust type (`Order`).
    pub name: String,
    /// What it is (its rustdoc).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub doc: Option<String>,
    /// `<method> <path>` (`order.searchList response.shop_order_list[]`) or
    /// `message <Name> <path>` (`message TradeAddressChanged addr_struct`).
    pub places: Vec<String>,
}
