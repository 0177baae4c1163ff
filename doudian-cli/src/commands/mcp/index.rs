//! The catalog as `doudian mcp` shows it: each method with its Chinese title and a
//! one-line summary, found by `search_methods` and described by `describe_method`.

use doudian_sdk::catalog::{self, MethodInfo};
use doudian_sdk::retry::RetryClass;
use serde_json::{json, Value};

use super::schemas;

/// Methods never called through the server: their replies are the app's tokens, which the
/// server keeps to itself (it creates and refreshes them as `doudian call` does).
const WITHHELD: [&str; 2] = ["token.create", "token.refresh"];

/// One method of the catalog, with what searching and describing it needs.
#[derive(Debug)]
pub struct MethodEntry {
    pub info: &'static MethodInfo,
    /// The Chinese title: the params schema's `title`, when it has one.
    pub title: Option<String>,
    /// The params schema's `description`, when it has one.
    pub description: Option<String>,
    /// The lower-cased name, group (and its Chinese title) and title, for case-insensitive
    /// matching.
    haystack: String,
}

impl MethodEntry {
    fn new(info: &'static MethodInfo) -> Self {
        let schema = schemas::params(info.name);
        let text = |key: &str| schema.and_then(|s| s.get(key)).and_then(Value::as_str).map(str::to_owned);
        let title = text("title");
        let description = text("description");
        // Other spellings of the name too (`crossBorder.stockTaking`), and the group's
        // Chinese name (售后 finds the after-sale methods whose own titles lack it).
        let group_title = schemas::group_title(info.group).unwrap_or("");
        let haystack = [info.name, info.group, group_title, title.as_deref().unwrap_or(""), &info.known_as.join("\n")]
            .join("\n")
            .to_lowercase();
        MethodEntry { info, title, description, haystack }
    }

    /// Whether the server refuses to call the method whatever its flags (see [`WITHHELD`]).
    pub fn withheld(&self) -> bool {
        WITHHELD.contains(&self.info.name)
    }

    /// `read` or `write`.
    pub fn access(&self) -> &'static str {
        if self.info.read_only {
            "read"
        } else {
            "write"
        }
    }

    /// One line: the schema's description when there is one, else what a call does.
    pub fn summary(&self) -> String {
        if let Some(description) = &self.description {
            return description.clone();
        }
        let mut summary = retry_meaning(self.info.retry).to_owned();
        if let Some(paging) = &self.info.paging {
            summary.push_str(&format!(
                " Paged: `{}` counts from {}, `{}` sets the page size{}; the items are at `{}`.",
                paging.page_param,
                paging.page_base,
                paging.size_param,
                paging.max_size.map(|max| format!(" (at most {max})")).unwrap_or_default(),
                paging.items_path,
            ));
        }
        summary
    }

    /// A `search_methods` hit.
    pub fn hit(&self) -> Value {
        json!({
            "method": self.info.name,
            "title": self.title,
            "access": self.access(),
            "summary": self.summary(),
        })
    }

    /// The `describe_method` answer. `tool`: the method's own tool on this server, if any;
    /// `allow_writes`: whether the server calls writes.
    pub fn describe(&self, tool: Option<&str>, allow_writes: bool) -> Value {
        let info = self.info;
        let callable = !self.withheld() && (info.read_only || allow_writes);
        let why_not = if self.withheld() {
            Some("the server keeps the app's tokens itself and never hands them out")
        } else if !callable {
            Some("a write: this server was started without --allow-writes")
        } else {
            None
        };
        json!({
            "method": info.name,
            "known_as": info.known_as,
            "group": info.group,
            "group_title": schemas::group_title(info.group),
            "title": self.title,
            "access": self.access(),
            "read_only": info.read_only,
            "retry": info.retry.as_str(),
            "paging": info.paging.map(|p| json!({
                "page_param": p.page_param,
                "size_param": p.size_param,
                "page_base": p.page_base,
                "max_size": p.max_size,
                "items_path": p.items_path,
                "total_path": p.total_path,
            })),
            "params": schemas::params(info.name).cloned().unwrap_or_else(|| json!({ "type": "object" })),
            "reply": schemas::reply(info.name).cloned().unwrap_or_else(|| json!({})),
            "docs": {
                "summary": self.summary(),
                "retry": retry_meaning(info.retry),
                "typed": info.typed,
                "rust_request_type": format!("doudian_sdk::{}", info.request_type),
                "rust_response_type": format!("doudian_sdk::{}", info.response_type),
                "cargo_feature": info.feature,
            },
            "callable": callable,
            "not_callable_because": why_not,
            "tool": tool,
        })
    }
}

/// What a repeat of a method of this class does, for an agent deciding whether to retry.
fn retry_meaning(class: RetryClass) -> &'static str {
    match class {
        RetryClass::ReadOnly => "Reads only: safe to repeat.",
        RetryClass::Idempotent => "Writes; a repeat with the same params leaves the same state.",
        RetryClass::ReadBack => {
            "Writes, and a repeat may act twice: after an unclear failure, read the state back before trying again."
        }
        // A class added to the SDK later: the cautious reading.
        _ => "Writes; read the state back before repeating it.",
    }
}

/// Every method of the catalog, built once when the server starts.
#[derive(Debug)]
pub struct MethodIndex {
    /// Sorted by name, as the catalog is.
    entries: Vec<MethodEntry>,
}

/// The hits of a search: at most the asked number, and how many matched in all.
#[derive(Debug)]
pub struct Hits<'a> {
    pub methods: Vec<&'a MethodEntry>,
    pub total: usize,
}

impl MethodIndex {
    pub fn build() -> Self {
        MethodIndex { entries: catalog::METHODS.iter().map(MethodEntry::new).collect() }
    }

    /// The method named `name`, or another spelling of it.
    pub fn find(&self, name: &str) -> Option<&MethodEntry> {
        let info = catalog::find(name)?;
        self.entries.binary_search_by(|e| e.info.name.cmp(info.name)).ok().map(|i| &self.entries[i])
    }

    /// The callable methods whose name, group (or its Chinese name) or title holds every
    /// word of `query` (case-insensitive): exact names first, then names starting with the
    /// query, then names holding it, then the rest; alphabetical within each.
    pub fn search(&self, query: &str, limit: usize) -> Hits<'_> {
        let query = query.trim().to_lowercase();
        let words: Vec<&str> = query.split_whitespace().collect();
        let mut matches: Vec<(u8, &MethodEntry)> = self
            .entries
            .iter()
            .filter(|e| !e.withheld() && words.iter().all(|w| e.haystack.contains(w)))
            .map(|e| {
                let name = e.info.name.to_lowercase();
                let rank = if name == query {
                    0
                } else if name.starts_with(&query) {
                    1
                } else if name.contains(&query) {
                    2
                } else {
                    3
                };
                (rank, e)
            })
            .collect();
        matches.sort_by(|(a_rank, a), (b_rank, b)| a_rank.cmp(b_rank).then_with(|| a.info.name.cmp(b.info.name)));
        let total = matches.len();
        Hits { methods: matches.into_iter().take(limit).map(|(_, e)| e).collect(), total }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn search_is_case_insensitive_over_name_and_group_and_ranks_names_first() {
        let index = MethodIndex::build();
        let hits = index.search("ORDER.SEARCHLIST", 10);
        assert_eq!(hits.methods[0].info.name, "order.searchList");
        // Every word must match: the group `order` and `list` in the name.
        let hits = index.search("order list", 500);
        assert!(
            hits.total >= 3 && hits.methods.iter().all(|e| e.haystack.contains("order") && e.haystack.contains("list"))
        );
        assert!(hits.methods.iter().any(|e| e.info.name == "order.searchList"));
        // A group's name finds its methods even where the method name lacks it.
        // (A method of another group may mention it in its description.)
        let hits = index.search("aftersale", 500);
        assert!(hits.methods.iter().all(|e| e.haystack.contains("aftersale")));
        assert!(hits.methods.iter().filter(|e| e.info.group == "afterSale").count() > 10, "{}", hits.total);
        // So does its Chinese name, where a method's own title lacks it.
        let hits = index.search("售后", 500);
        let after_sale: Vec<&MethodEntry> = hits.methods.into_iter().filter(|e| e.info.group == "afterSale").collect();
        assert_eq!(
            after_sale.len(),
            index.entries.iter().filter(|e| e.info.group == "afterSale" && !e.withheld()).count()
        );
        assert!(after_sale.iter().any(|e| !e.title.as_deref().unwrap_or("").contains("售后")));
        // The limit caps the list, not the count.
        let few = index.search("order", 3);
        assert_eq!(few.methods.len(), 3);
        assert!(few.total > 3);
        assert!(index.search("no-such-method-anywhere", 10).total == 0);
    }

    #[test]
    fn token_methods_are_withheld_from_search_and_marked_not_callable() {
        let index = MethodIndex::build();
        assert_eq!(
            index.search("token.create", 10).methods.iter().filter(|e| e.info.name == "token.create").count(),
            0
        );
        let entry = index.find("token.create").unwrap();
        assert!(entry.withheld());
        assert_eq!(entry.describe(None, true)["callable"], false);
    }

    #[test]
    fn describe_gives_both_schemas_the_retry_class_and_paging() {
        let index = MethodIndex::build();
        let described = index.find("order.searchList").unwrap().describe(Some("order_searchList"), false);
        assert!(described["params"].is_object() && described["reply"].is_object(), "{described}");
        assert_eq!(described["read_only"], true);
        assert_eq!(described["retry"], "read-only");
        assert_eq!(described["paging"]["page_param"], "page");
        assert_eq!(described["callable"], true);
        assert_eq!(described["tool"], "order_searchList");
        assert_eq!((described["group"].as_str(), described["group_title"].as_str()), (Some("order"), Some("订单")));
        let write = index.find("order.addOrderRemark").unwrap();
        assert_eq!(write.access(), "write");
        assert_eq!(write.describe(None, false)["callable"], false);
        assert_eq!(write.describe(None, true)["callable"], true);
    }
}
