//! A table of every method the SDK knows, for tools (the CLI, the bundled gateway) that
//! work by method name: [`METHODS`], generated from the spec, one line per method, into
//! `src/api/method_table.rs`, whatever cargo features are enabled.

/// Facts about one platform method.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct MethodInfo {
    /// The platform method name, e.g. `order.searchList`: what the SDK sends.
    pub name: &'static str,
    /// Other spellings of the name that copies use (`crossBorder.stockTaking` for
    /// `crossborder.stockTaking`); [`find`] resolves them to this method.
    pub known_as: &'static [&'static str],
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

/// Looks a method up by its platform name, or by another spelling of it
/// ([`MethodInfo::known_as`]).
pub fn find(name: &str) -> Option<&'static MethodInfo> {
    match METHODS.binary_search_by(|m| m.name.cmp(name)) {
        Ok(i) => Some(&METHODS[i]),
        // A handful of methods have other spellings: a scan, only when the name is not one.
        Err(_) => METHODS.iter().find(|m| m.known_as.contains(&name)),
    }
}

/// Every name [`find`] knows, sorted: each method's name, and each other spelling with the
/// method it stands for (`Some(canonical name)`).
pub fn names() -> Vec<(&'static str, Option<&'static str>)> {
    let mut names: Vec<(&'static str, Option<&'static str>)> = METHODS
        .iter()
        .flat_map(|m| std::iter::once((m.name, None)).chain(m.known_as.iter().map(|alias| (*alias, Some(m.name)))))
        .collect();
    names.sort_unstable();
    names
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn other_spellings_resolve_to_their_method() {
        let Some(method) = METHODS.iter().find(|m| !m.known_as.is_empty()) else {
            panic!("the spec has case variants: at least one method is known by another spelling")
        };
        for alias in method.known_as {
            assert_eq!(find(alias).map(|m| m.name), Some(method.name));
            assert!(names().contains(&(*alias, Some(method.name))));
        }
        assert_eq!(find(method.name).map(|m| m.name), Some(method.name));
        assert!(find("no.suchMethod").is_none());
        let names = names();
        assert_eq!(names.len(), METHODS.len() + METHODS.iter().map(|m| m.known_as.len()).sum::<usize>());
        assert!(names.windows(2).all(|w| w[0] < w[1]), "sorted, no duplicates");
    }
}
