//! `doudian push verify`: check a push the way a webhook handler must.

use std::io::Read;

use clap::{Args, Subcommand};
use doudian_sdk::push::{PushEvent, PushVerifier};
use doudian_sdk::{AppSecret, SignMethod};

use super::{print_json, Failure};

#[derive(Debug, Subcommand)]
pub enum PushCommand {
    /// Verify a push body (read from stdin) against its `event-sign`, then print its
    /// messages as JSON. Exit 0 when valid, 1 with the reason on stderr when not.
    Verify(VerifyArgs),
}

#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// The app key.
    #[arg(long, env = "DOUDIAN_APP_KEY")]
    app_key: String,
    /// The app secret.
    #[arg(long, env = "DOUDIAN_APP_SECRET", hide_env_values = true)]
    app_secret: String,
    /// The `event-sign` header.
    #[arg(long)]
    event_sign: String,
    /// The `app-id` header (checked against the app key when given).
    #[arg(long)]
    app_id: Option<String>,
    /// md5 (the platform's) or hmac-sha256 (also accepted when given).
    #[arg(long, default_value = "md5")]
    sign_method: String,
}

pub fn run(command: PushCommand) -> Result<(), Failure> {
    let PushCommand::Verify(args) = command;
    let sign_method: SignMethod =
        args.sign_method.parse().map_err(|e: doudian_sdk::Error| Failure::config(e.to_string()))?;
    let mut body = Vec::new();
    std::io::stdin().read_to_end(&mut body).map_err(|e| Failure::config(format!("cannot read stdin: {e}")))?;
    let verifier = PushVerifier::new(args.app_key, AppSecret::new(args.app_secret))
        .accept_hmac_sha256(sign_method == SignMethod::HmacSha256);
    // Without --app-id only the signature is checked: stand in the app's own key.
    let app_id = args.app_id.clone().unwrap_or_else(|| verifier.app_key().to_owned());
    let records = verifier.receive(Some(&app_id), Some(&args.event_sign), &body)?;
    let mut out = Vec::with_capacity(records.len());
    for record in &records {
        let event = record.decode()?;
        let kind = match &event {
            PushEvent::Test { .. } => "test".to_owned(),
            PushEvent::Message { message, .. } => message_name(message),
            PushEvent::Unknown { .. } => "unknown".to_owned(),
            _ => "other".to_owned(),
        };
        let data = serde_json::from_str::<serde_json::Value>(&record.data)
            .unwrap_or_else(|_| serde_json::Value::String(record.data.clone()));
        out.push(serde_json::json!({ "tag": record.tag, "msg_id": record.msg_id, "type": kind, "data": data }));
    }
    print_json(&serde_json::json!({ "valid": true, "messages": out, "reply": doudian_sdk::push::SUCCESS_REPLY }))
}

/// The message type's name, from its `Debug` form (`TradeCreate(TradeCreate { .. })`).
fn message_name(message: &doudian_sdk::push::Message) -> String {
    let debug = format!("{message:?}");
    debug.split(['(', ' ', '{']).next().unwrap_or_default().to_owned()
}
