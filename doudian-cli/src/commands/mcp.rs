//! `doudian mcp`: a Model Context Protocol server on stdin/stdout, for AI agents.
//!
//! 800-odd methods as tools would fill an agent's context, so the server offers three:
//! `search_methods`, `describe_method` and `call_method`, plus a tool of its own for each
//! method named with `--tool` (its input schema the method's params schema). Writes are
//! refused unless the server was started with `--allow-writes`. It connects as `doudian
//! call` does (the same flags and `DOUDIAN_*` variables); stdout carries the protocol
//! only, log lines go to stderr.

mod index;
mod schemas;
mod server;

use clap::Args;

use self::index::MethodIndex;
use super::call::{connect, ConnectionArgs};
use super::{Failure, EXIT_TRANSPORT};

#[derive(Debug, Args)]
pub struct McpArgs {
    #[command(flatten)]
    connection: ConnectionArgs,
    /// Call methods that write (the catalog's non-read-only methods). Without it the
    /// server refuses them and calls only reads.
    #[arg(long)]
    allow_writes: bool,
    /// Offer METHOD as a tool of its own, with the method's params schema as its input
    /// schema (repeatable). The tool is named after the method with every character other
    /// than a letter, digit, `_` or `-` turned into `_`: order.searchList is
    /// `order_searchList`.
    #[arg(long = "tool", value_name = "METHOD")]
    tools: Vec<String>,
}

pub async fn run(args: McpArgs) -> Result<(), Failure> {
    use rmcp::ServiceExt;

    let index = MethodIndex::build();
    // Before connecting: a mistyped --tool fails at once, with the reason.
    let own_tools = server::own_tools(&index, &args.tools).map_err(Failure::config)?;
    let (client, _gateway) = connect(&args.connection).await?;
    let handler = server::DoudianMcp::new(client, index, own_tools, args.allow_writes);
    tracing::info!(allow_writes = args.allow_writes, tools = args.tools.len(), "doudian mcp: serving on stdio");
    let running = handler.serve(rmcp::transport::stdio_pipes()).await.map_err(|e| Failure {
        message: format!("error: the MCP session did not start: {e}"),
        exit_code: EXIT_TRANSPORT,
    })?;
    let reason = running
        .waiting()
        .await
        .map_err(|e| Failure { message: format!("error: the MCP session failed: {e}"), exit_code: EXIT_TRANSPORT })?;
    tracing::info!(?reason, "doudian mcp: session ended");
    Ok(())
}
