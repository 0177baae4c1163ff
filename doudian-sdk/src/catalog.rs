//! A table of every method the SDK knows, for tools (the CLI, the bundled gateway) that
//! work by method name: [`METHODS`], generated from the spec, one line per method, into
//! `src/api/method_table.tsv`, whatever cargo features are enabled, and read on first use.

use std::sync::LazyLock;

use crate::retry::RetryClass;

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
    /// Whether the method only reads (its retry class is [`RetryClass::ReadOnly`]).
    pub read_only: bool,
    /// What a repeat of the method does: whether the client sends it again after an
    /// ambiguous failure ([`crate::retry::RetryPolicy::retries_ambiguous`]).
    pub retry: RetryClass,
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

/// Every method the spec knows, sorted by name (generated; a slice once dereferenced:
/// `METHODS.iter()`, `METHODS.len()`).
pub static METHODS: LazyLock<Box<[MethodInfo]>> = LazyLock::new(|| parse_table(METHOD_TABLE));

/// The generated table: a header line, then one tab-separated line per method.
static METHOD_TABLE: &str = include_str!("api/method_table.tsv");

/// The methods of a table, in its order; a line that does not parse is left out (the
/// generator writes the table, and a test checks that every line parses).
fn parse_table(table: &'static str) -> Box<[MethodInfo]> {
    table.lines().skip(1).filter_map(parse_line).collect()
}

fn parse_line(line: &'static str) -> Option<MethodInfo> {
    let columns: Vec<&'static str> = line.split('\t').collect();
    let [name, known_as, group, feature, request_type, response_type, retry, typed, page_param, size_param, page_base, max_size, items_path, total_path] =
        columns[..]
    else {
        return None;
    };
    let flag = |text: &str| match text {
        "1" => Some(true),
        "0" => Some(false),
        _ => None,
    };
    let known_as: &'static [&'static str] = match known_as {
        "" => &[],
        // A handful of methods, once per process: kept for its lifetime.
        list => Box::leak(list.split(',').collect::<Box<[_]>>()),
    };
    let retry = RetryClass::from_name(retry)?;
    let paging = match page_param {
        "" => None,
        _ => Some(PagingInfo {
            page_param,
            size_param,
            page_base: page_base.parse().ok()?,
            max_size: if max_size.is_empty() { None } else { Some(max_size.parse().ok()?) },
            items_path,
            total_path: (!total_path.is_empty()).then_some(total_path),
        }),
    };
    Some(MethodInfo {
        name,
        known_as,
        group,
        feature,
        request_type,
        response_type,
        read_only: retry == RetryClass::ReadOnly,
        retry,
        typed: flag(typed)?,
        paging,
    })
}

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
    fn every_line_of_the_table_parses() {
        assert_eq!(METHODS.len(), METHOD_TABLE.lines().count() - 1);
        assert!(METHODS.windows(2).all(|w| w[0].name < w[1].name), "sorted and unique");
        let header = METHOD_TABLE.lines().next().unwrap();
        assert!(header.starts_with("name\tknown_as\tgroup"), "{header}");
        for bad in [
            "x",
            "a\t\tg\tf\treq\tresp\tread-only\t2\t\t\t\t\t\t",
            "a\t\tg\tf\treq\tresp\tread-only\t1\tpage\tsize\tzero\t\titems\t",
            "a\t\tg\tf\treq\tresp\t1\t1\t\t\t\t\t\t",
        ] {
            assert!(parse_line(bad).is_none(), "{bad:?}");
        }
        let paged = parse_line(
            "a.b\tA.b,a.B\ta\ta\tapi::a::AbRequest\tapi::a::AbResponse\tread-only\t1\tpage\tsize\t1\t100\tlist\ttotal",
        )
        .unwrap();
        assert_eq!(paged.known_as, ["A.b", "a.B"]);
        let paging = paged.paging.unwrap();
        assert_eq!((paging.page_base, paging.max_size, paging.total_path), (1, Some(100), Some("total")));
        assert!(paged.read_only && paged.typed);
        assert_eq!(paged.retry, RetryClass::ReadOnly);
        for (column, class) in [("idempotent", RetryClass::Idempotent), ("read-back", RetryClass::ReadBack)] {
            let line = format!("a.c\t\ta\ta\treq\tresp\t{column}\t0\t\t\t\t\t\t");
            let write = parse_line(Box::leak(line.into_boxed_str())).unwrap();
            assert_eq!((write.retry, write.read_only, write.typed), (class, false, false));
        }
    }

    #[test]
    fn every_method_has_a_retry_class_and_the_core_flows_have_theirs() {
        let class = |name: &str| find(name).map(|m| m.retry);
        assert_eq!(class("order.searchList"), Some(RetryClass::ReadOnly));
        assert_eq!(class("order.addOrderRemark"), Some(RetryClass::Idempotent));
        assert_eq!(class("sku.editPrice"), Some(RetryClass::Idempotent));
        assert_eq!(class("order.logisticsAdd"), Some(RetryClass::ReadBack));
        assert_eq!(class("order.batchDecrypt"), Some(RetryClass::ReadBack));
        for class in [RetryClass::ReadOnly, RetryClass::Idempotent, RetryClass::ReadBack] {
            assert!(METHODS.iter().any(|m| m.retry == class), "no {class} method");
        }
        assert!(METHODS.iter().all(|m| m.read_only == (m.retry == RetryClass::ReadOnly)));
    }

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
