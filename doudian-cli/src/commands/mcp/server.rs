//! The MCP tools and their calls.

use std::collections::BTreeMap;
use std::sync::Arc;

use doudian_sdk::error::TransportKind;
use doudian_sdk::{CallOptions, Client, Error};
use rmcp::model::{
    CallToolRequestParams, CallToolResponse, CallToolResult, ContentBlock, Implementation, JsonObject, ListToolsResult,
    MetaObject, PaginatedRequestParams, ServerCapabilities, ServerConfig, Tool, ToolAnnotations,
};
use rmcp::service::RequestContext;
use rmcp::{ErrorData, RoleServer, ServerHandler};
use serde_json::{json, Value};

use super::index::{MethodEntry, MethodIndex};
use super::schemas;

const SEARCH: &str = "search_methods";
const DESCRIBE: &str = "describe_method";
const CALL: &str = "call_method";
/// The most hits one search returns.
const MAX_HITS: u64 = 200;
const DEFAULT_HITS: u64 = 50;

/// The MCP tool name of a method: every character other than an ASCII letter, digit, `_`
/// or `-` becomes `_` (`order.searchList` is `order_searchList`). Names of that alphabet
/// are valid everywhere agents call tools (some reject `.`).
pub fn tool_name(method: &str) -> String {
    method.chars().map(|c| if c.is_ascii_alphanumeric() || c == '_' || c == '-' { c } else { '_' }).collect()
}

/// The methods given with `--tool`, by tool name: each must be a method of the catalog
/// (another spelling is taken) and not withheld.
pub fn own_tools(index: &MethodIndex, methods: &[String]) -> Result<BTreeMap<String, &'static str>, String> {
    let mut tools = BTreeMap::new();
    for name in methods {
        let entry = index
            .find(name)
            .ok_or_else(|| format!("--tool {name}: not a method of the catalog (`doudian methods` lists them)"))?;
        if entry.withheld() {
            return Err(format!("--tool {name}: not offered, its reply holds the app's tokens"));
        }
        tools.insert(tool_name(entry.info.name), entry.info.name);
    }
    Ok(tools)
}

/// The server: a client for the shop, the catalog, and what it may call.
pub struct DoudianMcp {
    client: Client,
    index: MethodIndex,
    allow_writes: bool,
    /// The `--tool` methods by tool name.
    own_tools: BTreeMap<String, &'static str>,
    /// What `tools/list` answers (built once).
    tools: Vec<Tool>,
}

impl DoudianMcp {
    pub fn new(
        client: Client,
        index: MethodIndex,
        own_tools: BTreeMap<String, &'static str>,
        allow_writes: bool,
    ) -> Self {
        let mut tools = meta_tools(allow_writes);
        for (tool, method) in &own_tools {
            if let Some(entry) = index.find(method) {
                tools.push(method_tool(tool, entry, allow_writes));
            }
        }
        DoudianMcp { client, index, allow_writes, own_tools, tools }
    }

    fn search(&self, args: &JsonObject) -> CallToolResult {
        let Some(query) = args.get("query").and_then(Value::as_str).filter(|q| !q.trim().is_empty()) else {
            return refusal(
                "invalid_arguments",
                "search_methods needs `query`, a non-empty string".to_owned(),
                json!({}),
            );
        };
        let limit = match args.get("limit") {
            None | Some(Value::Null) => DEFAULT_HITS,
            Some(value) => match value.as_u64().filter(|n| (1..=MAX_HITS).contains(n)) {
                Some(n) => n,
                None => {
                    return refusal(
                        "invalid_arguments",
                        format!("`limit` must be a whole number from 1 to {MAX_HITS}, not {value}"),
                        json!({}),
                    )
                }
            },
        };
        let hits = self.index.search(query, limit as usize);
        CallToolResult::structured(json!({
            "query": query,
            "total": hits.total,
            "methods": hits.methods.iter().map(|e| e.hit()).collect::<Vec<_>>(),
        }))
    }

    fn describe(&self, args: &JsonObject) -> CallToolResult {
        let Some(name) = args.get("name").and_then(Value::as_str) else {
            return refusal("invalid_arguments", "describe_method needs `name`, a method name".to_owned(), json!({}));
        };
        match self.index.find(name) {
            Some(entry) => {
                let tool = tool_name(entry.info.name);
                let own = self.own_tools.contains_key(&tool).then_some(tool.as_str());
                CallToolResult::structured(entry.describe(own, self.allow_writes))
            }
            None => unknown_method(name),
        }
    }

    /// `call_method`, and the `--tool` tools: the checks, then the call.
    async fn call(&self, name: &str, params: Value) -> CallToolResult {
        let Some(entry) = self.index.find(name) else {
            return unknown_method(name);
        };
        let method = entry.info.name;
        if entry.withheld() {
            return refusal(
                "withheld",
                format!("{method} is not offered: the server keeps the app's tokens itself and never hands them out"),
                json!({ "method": method }),
            );
        }
        if !entry.info.read_only && !self.allow_writes {
            return refusal(
                "write_refused",
                format!(
                    "{method} writes (retry class {}); this server calls only reads: start `doudian mcp` with --allow-writes to let it write",
                    entry.info.retry
                ),
                json!({ "method": method }),
            );
        }
        if let Err(violations) = schemas::validate_params(method, &params) {
            let listed: Vec<Value> = violations
                .iter()
                .map(|v| json!({ "path": v.path, "message": v.message, "suggestion": v.suggestion, "text": v.to_string() }))
                .collect();
            let text: Vec<String> = violations.iter().map(ToString::to_string).collect();
            return refusal(
                "invalid_params",
                format!("the params of {method} do not match its schema, nothing was sent: {}", text.join("; ")),
                json!({ "method": method, "violations": listed }),
            );
        }
        tracing::info!(method, "doudian mcp: calling");
        match self.client.call_value(method, &params, &CallOptions::new()).await {
            Ok(reply) => {
                let log_id = reply.log_id().to_owned();
                let data = reply.into_data();
                let result = if data.is_object() {
                    CallToolResult::structured(data)
                } else {
                    // Structured content is an object; other data goes as JSON text.
                    CallToolResult::success(vec![ContentBlock::text(data.to_string())])
                };
                let mut meta = JsonObject::new();
                meta.insert("log_id".to_owned(), Value::String(log_id));
                result.with_meta(Some(MetaObject(meta)))
            }
            Err(error) => {
                tracing::info!(method, error = %doudian_sdk::error::Chain(&error), "doudian mcp: the call failed");
                call_failure(method, &error)
            }
        }
    }
}

impl ServerHandler for DoudianMcp {
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(ServerCapabilities::builder().enable_tools().build())
            .with_server_info(
                Implementation::new("doudian", env!("CARGO_PKG_VERSION")).with_title("Doudian (抖店) open platform"),
            )
            .with_instructions(
                "The Doudian (抖店) open platform, for one shop. Find a method with search_methods \
                 (by name, group or Chinese title), read its params and reply schemas with \
                 describe_method, call it with call_method. Replies are the platform's `data`. \
                 Methods that write are refused unless the server was started with --allow-writes.",
            )
    }

    async fn list_tools(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, ErrorData> {
        Ok(ListToolsResult::with_all_items(self.tools.clone()))
    }

    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        _context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, ErrorData> {
        let args = request.arguments.unwrap_or_default();
        if let Some(refused) = unknown_argument(&request.name, &args) {
            return Ok(refused.into());
        }
        let result = match request.name.as_ref() {
            SEARCH => self.search(&args),
            DESCRIBE => self.describe(&args),
            CALL => match args.get("name").and_then(Value::as_str) {
                Some(name) => {
                    let params = args.get("params").cloned().unwrap_or_else(|| json!({}));
                    self.call(name, params).await
                }
                None => refusal("invalid_arguments", "call_method needs `name`, a method name".to_owned(), json!({})),
            },
            tool => match self.own_tools.get(tool) {
                Some(method) => self.call(method, Value::Object(args)).await,
                None => return Err(ErrorData::invalid_params(format!("no tool named `{tool}`"), None)),
            },
        };
        Ok(result.into())
    }
}

/// The refusal of an argument a meta tool does not take. A misspelt one (`parameters` for
/// `params`) is refused, never left out: a call without the params the agent meant is no
/// call to make. (A method's own tool passes its arguments on as the params, checked
/// against the params schema.)
fn unknown_argument(tool: &str, args: &JsonObject) -> Option<CallToolResult> {
    let known: &[&str] = match tool {
        SEARCH => &["query", "limit"],
        DESCRIBE => &["name"],
        CALL => &["name", "params"],
        _ => return None,
    };
    let unknown = args.keys().find(|key| !known.contains(&key.as_str()))?;
    let message = format!("{tool} takes {}, not `{unknown}`", known.join(" and "));
    Some(refusal("invalid_arguments", message, json!({})))
}

/// A tool-level failure the agent reads: `{"error": {"kind", "message", ...}}`.
fn refusal(kind: &str, message: String, extra: Value) -> CallToolResult {
    let mut error = json!({ "kind": kind, "message": message });
    if let (Some(error), Value::Object(extra)) = (error.as_object_mut(), extra) {
        error.extend(extra);
    }
    CallToolResult::structured_error(json!({ "error": error }))
}

fn unknown_method(name: &str) -> CallToolResult {
    refusal(
        "unknown_method",
        format!("`{name}` is not a method of the catalog; search_methods finds them"),
        json!({ "method": name }),
    )
}

/// A failed call: the platform's code, sub_code, message and log_id when it answered with
/// an error; otherwise what failed (the SDK's errors never hold the secret or a token) and,
/// for a transport or decode failure, `maybe_processed`: whether the platform may have acted
/// on the call, so that an agent reads a write's outcome back before repeating it.
fn call_failure(method: &str, error: &Error) -> CallToolResult {
    if let Some(api) = error.api() {
        return CallToolResult::structured_error(json!({ "error": {
            "kind": "api",
            "method": api.method,
            "code": api.code,
            "sub_code": api.sub_code,
            "message": api.msg,
            "sub_msg": api.sub_msg,
            "log_id": api.log_id,
        }}));
    }
    let kind = match error {
        Error::Transport(_) => "transport",
        Error::Decode(_) => "decode",
        Error::Config(_) => "config",
        Error::InvalidRequest(_) => "invalid_request",
        Error::TokenStore { .. } => "token_store",
        Error::Store { .. } => "store",
        _ => "other",
    };
    let maybe_processed = match error {
        // No connection: the request never left.
        Error::Transport(transport) => Some(transport.kind != TransportKind::Connect),
        Error::Decode(_) => Some(true),
        _ => None,
    };
    CallToolResult::structured_error(json!({ "error": {
        "kind": kind,
        "method": method,
        "code": null,
        "sub_code": null,
        "message": doudian_sdk::error::Chain(error).to_string(),
        "log_id": error.log_id(),
        "maybe_processed": maybe_processed,
    }}))
}

fn schema(value: Value) -> Arc<JsonObject> {
    match value {
        Value::Object(object) => Arc::new(object),
        _ => Arc::new(JsonObject::from_iter([("type".to_owned(), json!("object"))])),
    }
}

/// `search_methods`, `describe_method` and `call_method`.
fn meta_tools(allow_writes: bool) -> Vec<Tool> {
    let search = Tool::new(
        SEARCH,
        "Find platform methods whose name, group (or its Chinese name) or Chinese title holds \
         every word of `query` (case-insensitive; e.g. `order`, `searchList`, `订单`, `售后`). \
         Each hit: method, Chinese title, read or write, summary; `total` counts every match.",
        schema(json!({
            "type": "object",
            "properties": {
                "query": { "type": "string", "minLength": 1, "description": "Words to find, e.g. `order list` or `订单`." },
                "limit": { "type": "integer", "minimum": 1, "maximum": MAX_HITS, "default": DEFAULT_HITS,
                           "description": "The most hits to return." },
            },
            "required": ["query"],
            "additionalProperties": false,
        })),
    )
    .with_annotations(ToolAnnotations::with_title("Search methods").read_only(true).open_world(false));
    let describe = Tool::new(
        DESCRIBE,
        "A method's params schema (what call_method takes), reply schema (its `data`), retry class, \
         paging and whether this server calls it.",
        schema(json!({
            "type": "object",
            "properties": { "name": { "type": "string", "description": "The method, e.g. order.searchList." } },
            "required": ["name"],
            "additionalProperties": false,
        })),
    )
    .with_annotations(ToolAnnotations::with_title("Describe a method").read_only(true).open_world(false));
    let writes = if allow_writes {
        "Methods that write are called too (this server was started with --allow-writes)."
    } else {
        "Methods that write are refused (this server was started without --allow-writes)."
    };
    let call = Tool::new(
        CALL,
        format!(
            "Call a platform method for the shop. `params` is checked against the method's params \
             schema first (see describe_method); the reply is the platform's `data`, and a failure \
             carries code, sub_code, message and log_id. {writes}"
        ),
        schema(json!({
            "type": "object",
            "properties": {
                "name": { "type": "string", "description": "The method, e.g. order.searchList." },
                "params": { "type": "object", "description": "The method's parameters.", "default": {} },
            },
            "required": ["name"],
            "additionalProperties": false,
        })),
    )
    .with_annotations(ToolAnnotations::with_title("Call a method").read_only(!allow_writes).open_world(true));
    vec![search, describe, call]
}

/// The tool of one `--tool` method: its params schema as input schema.
fn method_tool(tool: &str, entry: &MethodEntry, allow_writes: bool) -> Tool {
    let info = entry.info;
    let refused = if !info.read_only && !allow_writes {
        " Refused here: it writes, and this server was started without --allow-writes."
    } else {
        ""
    };
    let title = entry.title.clone().unwrap_or_else(|| info.name.to_owned());
    let description = format!(
        "{}{}: {} The same as call_method with name {}.{refused}",
        info.name,
        entry.title.as_deref().map(|t| format!(" ({t})")).unwrap_or_default(),
        entry.summary(),
        info.name,
    );
    let input = schemas::params(info.name).cloned().unwrap_or_else(|| json!({ "type": "object" }));
    let annotations = ToolAnnotations::with_title(title.clone())
        .read_only(info.read_only)
        .destructive(!info.read_only && !info.retry.repeats_safely())
        .idempotent(info.retry.repeats_safely())
        .open_world(true);
    let mut tool = Tool::new(tool.to_owned(), description, schema(input)).with_annotations(annotations);
    tool.title = Some(title);
    tool
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_method_has_a_distinct_valid_tool_name() {
        let mut seen = BTreeMap::new();
        for method in doudian_sdk::catalog::METHODS.iter() {
            let name = tool_name(method.name);
            assert!(
                (1..=64).contains(&name.len())
                    && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-'),
                "{name}"
            );
            assert!(![SEARCH, DESCRIBE, CALL].contains(&name.as_str()), "{name}");
            if let Some(other) = seen.insert(name.clone(), method.name) {
                panic!("{other} and {} are both the tool {name}", method.name);
            }
        }
        assert_eq!(tool_name("order.searchList"), "order_searchList");
        assert_eq!(tool_name("openCloud.v1.cr.token.get"), "openCloud_v1_cr_token_get");
    }

    #[test]
    fn tool_flags_take_other_spellings_and_refuse_unknown_and_token_methods() {
        let index = MethodIndex::build();
        let tools = own_tools(&index, &["order.searchList".into(), "crossBorder.stockTaking".into()]).unwrap();
        assert_eq!(tools.get("order_searchList"), Some(&"order.searchList"));
        assert_eq!(tools.get("crossborder_stockTaking"), Some(&"crossborder.stockTaking"));
        assert!(own_tools(&index, &["order.noSuchMethod".into()]).unwrap_err().contains("not a method"));
        assert!(own_tools(&index, &["token.refresh".into()]).unwrap_err().contains("tokens"));
    }

    #[test]
    fn a_method_tool_has_the_params_schema_and_honest_hints() {
        let index = MethodIndex::build();
        let read = method_tool("order_searchList", index.find("order.searchList").unwrap(), false);
        assert_eq!(Value::Object((*read.input_schema).clone()), *schemas::params("order.searchList").unwrap());
        assert_eq!(read.annotations.as_ref().unwrap().read_only_hint, Some(true));
        let write = method_tool("order_logisticsAdd", index.find("order.logisticsAdd").unwrap(), false);
        let hints = write.annotations.as_ref().unwrap();
        assert_eq!((hints.read_only_hint, hints.destructive_hint), (Some(false), Some(true)));
        assert!(write.description.as_deref().unwrap().contains("--allow-writes"));
    }

    fn error_kind(result: &CallToolResult) -> String {
        let error = &result.structured_content.as_ref().unwrap()["error"];
        error["kind"].as_str().unwrap_or_default().to_owned()
    }

    #[tokio::test]
    async fn params_that_break_the_schema_are_refused_before_anything_is_sent() {
        // Nothing listens on port 9 of loopback: a call that is sent fails to connect.
        let client = Client::builder("7300000000000000001", "secret")
            .base_url("http://127.0.0.1:9")
            .shop_id("1")
            .env_proxy(false)
            .build()
            .unwrap();
        let server = DoudianMcp::new(client, MethodIndex::build(), BTreeMap::new(), false);
        assert_eq!(error_kind(&server.call("order.searchList", json!([0, 10])).await), "invalid_params");
        assert_eq!(error_kind(&server.call("order.searchList", json!("page=0")).await), "invalid_params");
        // A param of the wrong type is refused by the method's schema.
        let wrong_type = json!({ "page": 0, "size": "many" });
        assert_eq!(error_kind(&server.call("order.searchList", wrong_type).await), "invalid_params");
        // Valid params are sent (and fail to connect): the refusals above were local.
        let sent = server.call("order.searchList", json!({ "page": 0, "size": 1 })).await;
        assert_eq!(error_kind(&sent), "transport", "{:?}", sent.structured_content);
        assert_eq!(sent.structured_content.unwrap()["error"]["maybe_processed"], false);
    }

    #[test]
    fn a_meta_tool_refuses_an_argument_it_does_not_take() {
        let args = |value: Value| value.as_object().unwrap().clone();
        let misspelt = unknown_argument(CALL, &args(json!({ "name": "order.searchList", "parameters": {} })));
        assert_eq!(error_kind(&misspelt.unwrap()), "invalid_arguments");
        assert!(unknown_argument(CALL, &args(json!({ "name": "order.searchList", "params": {} }))).is_none());
        assert!(unknown_argument(SEARCH, &args(json!({ "query": "order", "limit": 5 }))).is_none());
        assert!(unknown_argument(SEARCH, &args(json!({ "q": "order" }))).is_some());
        assert!(unknown_argument(DESCRIBE, &args(json!({ "method": "order.searchList" }))).is_some());
        // A method's own tool: its arguments are the params, left to the schema.
        assert!(unknown_argument("order_searchList", &args(json!({ "anything": 1 }))).is_none());
    }

    #[test]
    fn a_platform_error_carries_code_sub_code_message_and_log_id() {
        let body = br#"{"code":40004,"msg":"bad order","sub_code":"isv.business-failed:1","sub_msg":"no such order","log_id":"L42"}"#;
        let error = doudian_sdk::client::decode_reply::<Value>("order.orderDetail", body.to_vec()).unwrap_err();
        let result = call_failure("order.orderDetail", &error);
        assert_eq!(result.is_error, Some(true));
        let error = &result.structured_content.unwrap()["error"];
        assert_eq!((error["code"].as_i64(), error["sub_code"].as_str()), (Some(40004), Some("isv.business-failed:1")));
        assert_eq!((error["message"].as_str(), error["log_id"].as_str()), (Some("bad order"), Some("L42")));
    }
}
