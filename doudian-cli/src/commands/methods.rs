//! `doudian methods`: what the SDK knows.

use clap::Args;
use doudian_sdk::catalog::{self, MethodInfo};

use super::{print_json, Failure};

#[derive(Debug, Args)]
pub struct MethodsArgs {
    /// Show only methods whose name contains this text (case-insensitive).
    filter: Option<String>,
    /// Print JSON instead of a table.
    #[arg(long)]
    json: bool,
    /// Print the JSON Schemas of this method's parameters and reply `data`:
    /// `{"method": ..., "params": ..., "reply": ...}`.
    #[arg(long, value_name = "METHOD", conflicts_with_all = ["filter", "json"])]
    schema: Option<String>,
}

pub fn run(args: MethodsArgs) -> Result<(), Failure> {
    if let Some(name) = &args.schema {
        return print_schema(name);
    }
    let filter = args.filter.unwrap_or_default().to_lowercase();
    // Each name on its own line: a method's other spelling too, marked as an alias.
    let selected: Vec<(&str, Option<&str>, &MethodInfo)> = catalog::names()
        .into_iter()
        .filter(|(name, _)| name.to_lowercase().contains(&filter))
        .filter_map(|(name, alias_of)| Some((name, alias_of, catalog::find(name)?)))
        .collect();
    if args.json {
        let rows = selected
            .iter()
            .map(|(name, alias_of, m)| {
                serde_json::json!({
                    "method": name,
                    "alias_of": alias_of,
                    "request_type": format!("doudian_sdk::{}", m.request_type),
                    "response_type": format!("doudian_sdk::{}", m.response_type),
                    "feature": m.feature,
                    "read_only": m.read_only,
                    "retry": m.retry.as_str(),
                    "typed": m.typed,
                    "paginated": m.paging.is_some(),
                })
            })
            .collect();
        return print_json(&serde_json::Value::Array(rows));
    }
    let width = selected.iter().map(|(name, ..)| name.len()).max().unwrap_or(6).max(6);
    let type_width = selected.iter().map(|(.., m)| m.request_type.len()).max().unwrap_or(4).max(4);
    let feature_width = selected.iter().map(|(.., m)| m.feature.len()).max().unwrap_or(7).max(7);
    println!("{:<width$}  {:<type_width$}  {:<feature_width$}  RETRY", "METHOD", "TYPE", "FEATURE");
    for (name, alias_of, m) in &selected {
        let mut notes = Vec::new();
        if let Some(canonical) = alias_of {
            notes.push(format!("alias of {canonical}"));
        }
        if !m.typed {
            notes.push("untyped".to_owned());
        }
        if m.paging.is_some() {
            notes.push("paged".to_owned());
        }
        let notes = if notes.is_empty() { String::new() } else { format!("  ({})", notes.join(", ")) };
        println!(
            "{:<width$}  {:<type_width$}  {:<feature_width$}  {}{}",
            name, m.request_type, m.feature, m.retry, notes
        );
    }
    if selected.is_empty() {
        return Err(Failure::config(format!("no method matches `{filter}`")));
    }
    Ok(())
}

/// `--schema METHOD`.
fn print_schema(name: &str) -> Result<(), Failure> {
    let (Some(params), Some(reply)) = (doudian_sdk::schema::params(name), doudian_sdk::schema::reply(name)) else {
        return Err(Failure::config(format!("no method `{name}` in the spec (`doudian methods` lists them)")));
    };
    let method = catalog::find(name).map_or(name, |m| m.name);
    print_json(&serde_json::json!({ "method": method, "params": params, "reply": reply }))
}
