//! The intermediate representation the renderers print: every name and type decided.
//! [`crate::lower`] builds it from the spec.

use crate::spec::Paging;
use crate::types::TypeExpr;

/// A spec file and its parsed content.
#[derive(Debug, Clone)]
pub struct Sourced<T> {
    /// Path relative to the repository root (`api-spec/groups/order.json`).
    pub file: String,
    /// The parsed content.
    pub value: T,
}

/// The whole API, ready to render.
#[derive(Debug, Clone, PartialEq)]
pub struct Api {
    /// Sorted by module name.
    pub groups: Vec<Group>,
    /// Push messages, sorted by tag.
    pub messages: Messages,
    /// The code sets fields may be typed with.
    pub codes: crate::codes::CodeSets,
    /// The domain types of `api::model` (see [`crate::shapes`]), sorted by name.
    pub model: Vec<ModelStruct>,
}

/// A type of `api::model`: one struct for an object several methods or pushes hold.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelStruct {
    /// The merged struct.
    pub body: Struct,
    /// The cargo features of its holders (group modules, `messages`).
    pub features: std::collections::BTreeSet<String>,
    /// The shape's doc (declared shapes).
    pub doc: Option<String>,
    /// The methods and messages that hold it (`order.searchList`, `message TradeAddressChanged`).
    pub places: Vec<String>,
    /// Named in `shapes.json` (re-exported by its groups), not found inside one.
    pub declared: bool,
}

/// One API group: one module, one cargo feature, one generated file.
#[derive(Debug, Clone, PartialEq)]
pub struct Group {
    /// As the platform spells it (`afterSale`).
    pub name: String,
    /// Module and feature (`after_sale`).
    pub module: String,
    /// The spec file it came from.
    pub file: String,
    /// Sorted by method name.
    pub methods: Vec<Method>,
    /// Nested types several of its methods hold in the same shape (see [`crate::share`]),
    /// sorted by name.
    pub shared: Vec<Shared>,
    /// The declared domain types its methods hold (re-exported from `api::model`).
    pub domain_types: Vec<String>,
}

/// A nested type generated once for a group, in its `shared` module.
#[derive(Debug, Clone, PartialEq)]
pub struct Shared {
    /// The type (as the first method that holds it has it).
    pub body: Struct,
    /// The methods that hold it (and re-export it), in group order.
    pub methods: Vec<String>,
}

impl Group {
    /// The names of the shared types `method` holds.
    pub fn shared_by(&self, method: &str) -> Vec<&str> {
        self.shared.iter().filter(|s| s.methods.iter().any(|m| m == method)).map(|s| s.body.name.as_str()).collect()
    }
}

/// One method.
#[derive(Debug, Clone, PartialEq)]
pub struct Method {
    /// `order.searchList`
    pub name: String,
    /// `OrderSearchListRequest`
    pub request_type: String,
    /// `OrderSearchListResponse`
    pub response_type: String,
    /// The module of the nested types (`search_list`).
    pub module: String,
    /// Safe to retry after an ambiguous failure.
    pub read_only: bool,
    /// Field definitions, or `None` for an untyped method.
    pub typed: Option<Typed>,
    /// Paging facts.
    pub paging: Option<PagingIr>,
    /// What the method does (spec or override).
    pub doc: Option<String>,
    /// The platform's documentation page.
    pub doc_url: Option<String>,
    /// Other names (the Chinese title): `#[doc(alias)]`.
    pub aliases: Vec<String>,
    /// Other spellings of the method name (callable by name, `#[doc(alias)]`).
    pub known_as: Vec<String>,
    /// Nested types merged into `api::model`: old name -> model name (kept as aliases).
    pub moved: std::collections::BTreeMap<String, String>,
}

/// The types of a typed method.
#[derive(Debug, Clone, PartialEq)]
pub struct Typed {
    /// The request (named like the method's request type).
    pub request: Struct,
    /// The response.
    pub response: ResponseShape,
    /// The key of a one-key object the reply may wrap `data` in (`data`), besides sending
    /// the value itself.
    pub wrapper: Option<String>,
    /// Nested types, in the method's module, sorted by name.
    pub nested: Vec<Struct>,
}

/// The shape of a response's `data`.
#[derive(Debug, Clone, PartialEq)]
pub enum ResponseShape {
    /// An object: a struct.
    Object(Struct),
    /// Anything else: a transparent newtype over this type, with its spec type for samples.
    Newtype(RustType, TypeExpr),
}

/// A generated struct.
#[derive(Debug, Clone, PartialEq)]
pub struct Struct {
    /// The Rust name.
    pub name: String,
    /// Sorted by wire name bytes, so serialisation is key-sorted.
    pub fields: Vec<FieldIr>,
    /// Reachable from a request: gets `new(required...)` and setters.
    pub builder: bool,
    /// Reachable from a response or a push message: the SDK decodes it. A request-only
    /// type's decoder is built for tests only (they round-trip every sample).
    pub decoded: bool,
}

impl Struct {
    /// Whether any field is sensitive (the struct then gets a redacting `Debug`).
    pub fn has_sensitive(&self) -> bool {
        self.fields.iter().any(|f| f.sensitive)
    }
}

/// A generated field.
#[derive(Debug, Clone, PartialEq)]
pub struct FieldIr {
    /// The JSON name.
    pub wire: String,
    /// The Rust name.
    pub rust: String,
    /// The Rust type without the `Option` wrapper.
    pub ty: RustType,
    /// The spec type (for samples).
    pub spec_ty: TypeExpr,
    /// Wrapped in `Option` (optional scalars and objects).
    pub optional: bool,
    /// Required by the platform (request side): a parameter of `new`.
    pub required: bool,
    /// `Debug` prints `<redacted>`.
    pub sensitive: bool,
    /// The spec's example text.
    pub example: Option<String>,
    /// What the field means.
    pub doc: Option<String>,
}

/// A Rust type of a field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RustType {
    /// `String`
    String,
    /// `i32`
    I32,
    /// `i64`
    I64,
    /// `f64`
    F64,
    /// `bool`
    Bool,
    /// `serde_json::Value`
    Value,
    /// A nested struct of the method (or message) module.
    Named(String),
    /// A code set of the core (`crate::codes::OrderStatus`); `text` when the wire value is
    /// a string of digits rather than a number.
    CodeSet {
        /// The type's name in `crate::codes`.
        name: String,
        /// Sent as a string.
        text: bool,
    },
    /// Codes of a code set joined by `,` in one string (`crate::codes::Joined<OrderStatus>`).
    CodeList {
        /// The code set's name in `crate::codes`.
        name: String,
    },
    /// A domain type of `crate::api::model`.
    Model(String),
    /// An identifier type of the core (`crate::ids::ProductId`); `text` when the field is
    /// sent as a string rather than a number.
    Id {
        /// The type's name in `crate::ids`.
        name: String,
        /// Sent as a string.
        text: bool,
    },
    /// `Vec<T>`
    Vec(Box<RustType>),
    /// `BTreeMap<String, T>`
    Map(Box<RustType>),
}

impl RustType {
    /// Lists and maps are never wrapped in `Option` (they default to empty).
    pub fn is_collection(&self) -> bool {
        matches!(self, RustType::Vec(_) | RustType::Map(_))
    }
}

/// Paging facts, resolved against the types.
#[derive(Debug, Clone, PartialEq)]
pub struct PagingIr {
    /// The spec's facts (wire names and paths).
    pub spec: Paging,
    /// The Rust field of the page number.
    pub page_field: String,
    /// The Rust field of the page size.
    pub size_field: String,
    /// Rust field names from `data` to the item list (all but the last are `Option<struct>`).
    pub items_fields: Vec<String>,
    /// Rust field names from `data` to the total.
    pub total_fields: Option<Vec<String>>,
    /// The list element type.
    pub item: RustType,
}

/// Push messages.
#[derive(Debug, Clone, PartialEq)]
pub struct Messages {
    /// The spec file.
    pub file: String,
    /// One struct per message type, sorted by tag, the untagged ones last by name.
    pub messages: Vec<MessageIr>,
}

/// One push message type.
#[derive(Debug, Clone, PartialEq)]
pub struct MessageIr {
    /// The tag; `None` when no copy publishes it (decoded by name or a registered tag).
    pub tag: Option<u32>,
    /// The platform's event name (`trade_TradeCreate`), when known.
    pub event: Option<String>,
    /// The struct (named after the message).
    pub body: Struct,
    /// The platform's documentation page.
    pub doc_url: Option<String>,
    /// What the message tells.
    pub doc: Option<String>,
    /// The module of its nested types (`trade_create`).
    pub module: String,
    /// Its nested types, sorted by name.
    pub nested: Vec<Struct>,
    /// Nested types merged into `api::model`: old name -> model name (kept as aliases).
    pub moved: std::collections::BTreeMap<String, String>,
}
