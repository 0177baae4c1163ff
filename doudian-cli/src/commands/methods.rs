//! `doudian methods`: what the SDK knows.

use clap::Args;
use doudian_sdk::catalog::METHODS;

use super::{print_json, Failure};

#[derive(Debug, Args)]
pub struct MethodsArgs {
    /// Show only methods whose name contains this text (case-insensitive).
    filter: Option<String>,
    /// Print JSON instead of a table.
    #[arg(long)]
    json: bool,
}

pub fn run(args: MethodsArgs) -> Result<(), Failure> {
    let filter = args.filter.unwrap_or_default().to_lowercase();
    let selected: Vec<_> = METHODS.iter().filter(|m| m.name.to_lowercase().contains(&filter)).collect();
    if args.json {
        let rows = selected
            .iter()
            .map(|m| {
                serde_json::json!({
                    "method": m.name,
                    "request_type": format!("doudian_sdk::{}", m.request_type),
                    "response_type": format!("doudian_sdk::{}", m.response_type),
                    "feature": m.feature,
                    "read_only": m.read_only,
                    "typed": m.typed,
                    "paginated": m.paging.is_some(),
                })
            })
            .collect();
        return print_json(&serde_json::Value::Array(rows));
    }
    let width = selected.iter().map(|m| m.name.len()).max().unwrap_or(6).max(6);
    let type_width = selected.iter().map(|m| m.request_type.len()).max().unwrap_or(4).max(4);
    println!("{:<width$}  {:<type_width$}  FEATURE", "METHOD", "TYPE");
    for m in &selected {
        let mut notes = Vec::new();
        if !m.typed {
            notes.push("untyped");
        }
        if m.paging.is_some() {
            notes.push("paged");
        }
        let notes = if notes.is_empty() { String::new() } else { format!("  ({})", notes.join(", ")) };
        println!("{:<width$}  {:<type_width$}  {}{}", m.name, m.request_type, m.feature, notes);
    }
    if selected.is_empty() {
        return Err(Failure::config(format!("no method matches `{filter}`")));
    }
    Ok(())
}
