//! `doudian push verify` and `doudian push listen`: check pushes the way a webhook must.

use std::io::Read;
use std::sync::Arc;

use clap::{Args, Subcommand};
use doudian_sdk::push::{PushEvent, PushRecord, PushVerifier};
use doudian_sdk::webhook::{serve_with, PushEndpoint, PushJournal, ServeOptions};
use doudian_sdk::{AppSecret, SignMethod};
use tokio::io::AsyncWriteExt;

use super::{print_json, Failure, EXIT_TRANSPORT};

/// The largest push body read from stdin: far above any real push (the platform sends a
/// handful of records), small enough that a wrong file cannot exhaust memory.
pub const MAX_BODY_BYTES: u64 = 16 * 1024 * 1024;

#[derive(Debug, Subcommand)]
pub enum PushCommand {
    /// Verify a push body (read from stdin) against its `event-sign`, then print its
    /// messages as JSON. Exit 0 when valid, 1 with the reason on stderr when not.
    Verify(VerifyArgs),
    /// Receive pushes on 127.0.0.1: verify each, answer it, and print every new event as
    /// one JSON line on stdout (for wiring up and debugging a push endpoint).
    Listen(ListenArgs),
}

/// The app whose pushes are checked.
#[derive(Debug, Args)]
pub struct AppArgs {
    /// The app key.
    #[arg(long, env = "DOUDIAN_APP_KEY")]
    app_key: String,
    /// The app secret.
    #[arg(long, env = "DOUDIAN_APP_SECRET", hide_env_values = true)]
    app_secret: String,
    /// md5 (the platform's) or hmac-sha256 (also accepted when given).
    #[arg(long, default_value = "md5")]
    sign_method: String,
}

impl AppArgs {
    fn verifier(&self) -> Result<PushVerifier, Failure> {
        let sign_method: SignMethod =
            self.sign_method.parse().map_err(|e: doudian_sdk::Error| Failure::config(e.to_string()))?;
        Ok(PushVerifier::new(self.app_key.clone(), AppSecret::new(self.app_secret.clone()))
            .accept_hmac_sha256(sign_method == SignMethod::HmacSha256))
    }
}

#[derive(Debug, Args)]
pub struct VerifyArgs {
    #[command(flatten)]
    app: AppArgs,
    /// The `event-sign` header.
    #[arg(long)]
    event_sign: String,
    /// The `app-id` header (checked against the app key when given).
    #[arg(long)]
    app_id: Option<String>,
}

#[derive(Debug, Args)]
pub struct ListenArgs {
    #[command(flatten)]
    app: AppArgs,
    /// The port on 127.0.0.1; 0 picks a free one (printed on stderr).
    #[arg(long, default_value_t = 0)]
    port: u16,
    /// Keep verified pushes in this directory until their line is printed: a push is
    /// answered success once it is on disk, and a restart prints what was left.
    #[arg(long)]
    journal: Option<std::path::PathBuf>,
}

pub async fn run(command: PushCommand) -> Result<(), Failure> {
    match command {
        PushCommand::Verify(args) => verify(args),
        PushCommand::Listen(args) => listen(args).await,
    }
}

fn verify(args: VerifyArgs) -> Result<(), Failure> {
    let verifier = args.app.verifier()?;
    let body = read_stdin(MAX_BODY_BYTES)?;
    // Without --app-id only the signature is checked: stand in the app's own key.
    let app_id = args.app_id.clone().unwrap_or_else(|| verifier.app_key().to_owned());
    let records = verifier.receive(Some(&app_id), Some(&args.event_sign), &body)?;
    let mut out = Vec::with_capacity(records.len());
    for record in &records {
        // A known tag whose data does not decode fails the verification of the push.
        record.decode()?;
        out.push(event_json(record.clone().into_event(), record));
    }
    print_json(&serde_json::json!({ "valid": true, "messages": out, "reply": doudian_sdk::push::SUCCESS_REPLY }))
}

/// Reads stdin up to `limit` bytes; more is a usage error, never an unbounded read.
fn read_stdin(limit: u64) -> Result<Vec<u8>, Failure> {
    let mut body = Vec::new();
    std::io::stdin()
        .take(limit + 1)
        .read_to_end(&mut body)
        .map_err(|e| Failure::config(format!("cannot read stdin: {e}")))?;
    if body.len() as u64 > limit {
        return Err(Failure::config(format!("the push body on stdin is larger than {limit} bytes")));
    }
    Ok(body)
}

/// One event as printed: tag, msg_id, the message type's name, and its data as JSON.
fn event_json(event: PushEvent, record: &PushRecord) -> serde_json::Value {
    let data = serde_json::from_str::<serde_json::Value>(&record.data)
        .unwrap_or_else(|_| serde_json::Value::String(record.data.clone()));
    let mut line = serde_json::json!({ "tag": record.tag, "msg_id": record.msg_id, "type": "", "data": data });
    line["type"] = match &event {
        PushEvent::Test { .. } => "test".into(),
        PushEvent::Message { message, .. } => message_name(message).into(),
        PushEvent::Unknown { .. } => "unknown".into(),
        PushEvent::Undecodable { error, .. } => {
            line["error"] = error.clone().into();
            "undecodable".into()
        }
        _ => "other".into(),
    };
    line
}

async fn listen(args: ListenArgs) -> Result<(), Failure> {
    let verifier = args.app.verifier()?;
    // Lines are written whole, one event at a time, so that a reader can split on '\n'.
    let stdout = Arc::new(tokio::sync::Mutex::new(tokio::io::stdout()));
    let mut endpoint = PushEndpoint::with_records(verifier, move |record: PushRecord| {
        let stdout = stdout.clone();
        async move {
            let mut line = event_json(record.clone().into_event(), &record).to_string();
            line.push('\n');
            let mut out = stdout.lock().await;
            out.write_all(line.as_bytes()).await?;
            out.flush().await
        }
    });
    if let Some(dir) = &args.journal {
        let journal = PushJournal::open(dir).map_err(|e| Failure::config(doudian_sdk::error::Chain(&e).to_string()))?;
        if journal.waiting() > 0 {
            eprintln!("{} pushes left by an earlier run are printed first", journal.waiting());
        }
        endpoint = endpoint.queue(journal);
    }
    let app = axum::Router::new()
        .route("/", endpoint.clone().into_method_router())
        .route("/{*path}", endpoint.into_method_router());
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", args.port))
        .await
        .map_err(|e| Failure::config(format!("cannot listen on 127.0.0.1:{}: {e}", args.port)))?;
    let address = listener.local_addr().map_err(|e| Failure::config(e.to_string()))?;
    eprintln!("listening for pushes on http://{address}/ (any path; Ctrl-C to stop)");
    let shutdown = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    serve_with(listener, app, ServeOptions::default(), shutdown)
        .await
        .map_err(|e| Failure { message: format!("error: the listener stopped: {e}"), exit_code: EXIT_TRANSPORT })
}

/// The message type's name, from its `Debug` form (`TradeCreate(TradeCreate { .. })`).
fn message_name(message: &doudian_sdk::push::Message) -> String {
    let debug = format!("{message:?}");
    debug.split(['(', ' ', '{']).next().unwrap_or_default().to_owned()
}
