//! A table of every method the SDK knows, for tools (the CLI, the bundled gateway) that
//! work by method name: [`METHODS`], generated from the spec, one line per method, into
//! `src/api/method_table.rs`, whatever cargo features are enabled.

/// Facts about one platform method.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct MethodInfo {
    /// The platform method name, e.g. `order.searchList`.
    pub name: &'static str,
    /// The API group, as in the spec (e.g. `afterSale`).
    pub group: &'static str,
    /// The cargo feature (and module) of the group, e.g. `after_sale`.
    pub feature: &'static str,
    /// The request type's path below the crate, e.g. `api::order::OrderSearchListRequest`.
    pub request_type: &'static str,
    /// The response type's path below the crate.
    pub response_type: &'static str,
    /// Whether the method only reads (safe to retry after an ambiguous failure).
    pub read_only: bool,
    /// Whether the spec has field definitions (otherwise request and response are open JSON).
    pub typed: bool,
    /// Paging facts, for paginated list methods.
    pub paging: Option<PagingInfo>,
}

/// Where a paginated method keeps its paging parameters and results.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct PagingInfo {
    /// The request field holding the page number (wire name).
    pub page_param: &'static str,
    /// The request field holding the page size (wire name).
    pub size_param: &'static str,
    /// The number of the first page (0 or 1).
    pub page_base: i64,
    /// The largest accepted page size, when known.
    pub max_size: Option<i64>,
    /// The path of the item list inside `data`, wire names joined by `.`.
    pub items_path: &'static str,
    /// The path of the total inside `data`, when the method reports one.
    pub total_path: Option<&'static str>,
}

/// Every method the spec knows, sorted by name (generated).
pub static METHODS: &[MethodInfo] = &include!("api/method_table.rs");

/// Looks a method up by its platform name.
pub fn find(name: &str) -> Option<&'static MethodInfo> {
    METHODS.binary_search_by(|m| m.name.cmp(name)).ok().map(|i| &METHODS[i])
}
