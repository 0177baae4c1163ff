//! `doudian`: the command-line companion of doudian-sdk.
//!
//! Exit codes: 0 success; 1 the platform or a verification said no (API error, bad
//! signature); 2 usage or configuration error; 3 transport or decode failure.

mod commands;
mod logging;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Work with the Doudian (抖店) open platform from the shell.
#[derive(Debug, Parser)]
#[command(name = "doudian", version, about)]
struct Cli {
    /// More log lines on stderr: -v debug, -vv trace (RUST_LOG, when set, decides instead).
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    verbose: u8,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Call any method with JSON parameters and print the JSON result.
    Call(commands::call::CallArgs),
    /// Upload a local file (binary material upload) and print its store URI as JSON.
    Upload(commands::upload::UploadArgs),
    /// Ship the orders of a CSV file (order_id,company_code,tracking_no), each exactly once,
    /// at the app's quota.
    Ship(commands::ship::ShipArgs),
    /// Orders: keep every order of the shops in a database (`orders sync`).
    #[command(subcommand)]
    Orders(commands::orders::OrdersCommand),
    /// Print the canonical param_json, the masked string to sign and the sign.
    Sign(commands::sign::SignArgs),
    /// Push messages (webhooks).
    #[command(subcommand)]
    Push(commands::push::PushCommand),
    /// List the methods the SDK knows, with their Rust type and cargo feature.
    Methods(commands::methods::MethodsArgs),
    /// Run the bundled gateway on loopback.
    Mock(commands::mock::MockArgs),
    /// The token store of a tool app with many shops: list their states, renew the due ones.
    #[command(subcommand)]
    Tokens(commands::tokens::TokensCommand),
    /// Serve the platform to AI agents: a Model Context Protocol server on stdin/stdout.
    Mcp(commands::mcp::McpArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    logging::init(cli.verbose);
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::from(commands::EXIT_CONFIG);
        }
    };
    // The command runs as a task on a worker, not in `block_on` on the main thread: there
    // each call would be handed between the main thread and the worker running the
    // connection (about 6 context switches and twice the CPU per call, measured by
    // `cargo bench -p doudian-cli --bench cpu_per_call`).
    let command = runtime.spawn(async move {
        match cli.command {
            Command::Call(args) => commands::call::run(args).await,
            Command::Upload(args) => commands::upload::run(args).await,
            Command::Ship(args) => commands::ship::run(args).await,
            Command::Orders(command) => commands::orders::run(command).await,
            Command::Sign(args) => commands::sign::run(args),
            Command::Push(command) => commands::push::run(command).await,
            Command::Methods(args) => commands::methods::run(args),
            Command::Mock(args) => commands::mock::run(args).await,
            Command::Tokens(command) => commands::tokens::run(command).await,
            Command::Mcp(args) => commands::mcp::run(args).await,
        }
    });
    let outcome = runtime.block_on(command).unwrap_or_else(|e| {
        Err(commands::Failure { message: format!("error: the command failed: {e}"), exit_code: commands::EXIT_CONFIG })
    });
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => {
            eprintln!("{}", failure.message);
            ExitCode::from(failure.exit_code)
        }
    }
}
