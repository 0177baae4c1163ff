//! `doudian tokens list` and `doudian tokens renew --within 3d`: the token store of a tool
//! app with many shops, and the refresh of every shop whose refresh token is about to
//! expire (a shop not refreshed within 14 days must consent again).

mod window;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use clap::{Args, Subcommand};
use doudian_sdk::ratelimit::{LocalRateLimiter, RateLimits};
use doudian_sdk::token::{list_tokens, FileTokenStore, RenewalReport, StoredToken, TokenStore};
use doudian_sdk::{Client, SignMethod};
use futures_util::TryStreamExt;
use serde_json::{json, Value};

use super::{print_json, unix_now, write_stdout, Failure, EXIT_REFUSED, EXIT_TRANSPORT};

/// Shops are read from the store this many at a time.
const PAGE_SIZE: usize = 1000;

#[derive(Debug, Subcommand)]
pub enum TokensCommand {
    /// Every shop of the token store with its access and refresh expiry and its state:
    /// valid, renew_due (refresh token expires within --within) or needs_consent (refresh
    /// token expired or refused by the platform).
    List(ListArgs),
    /// Refresh every shop whose refresh token expires within --within, at --qps
    /// token.refresh calls a second. Safe to run in several processes at once against one
    /// store: each due shop is refreshed once. Exits 1 when any shop needs consent.
    Renew(RenewArgs),
}

/// The token store, and the app whose tokens it keeps.
#[derive(Debug, Clone, Args)]
pub struct StoreArgs {
    /// The token store: `file:PATH` or `redis://HOST:PORT[/DB]` (as for `doudian call`).
    #[arg(long, env = "DOUDIAN_TOKEN_STORE")]
    token_store: Option<String>,
    /// The same as `--token-store file:PATH`.
    #[arg(long, env = "DOUDIAN_TOKEN_FILE", conflicts_with = "token_store")]
    token_file: Option<PathBuf>,
    /// The app key (a Redis store keeps each app's tokens under its key).
    #[arg(long, env = "DOUDIAN_APP_KEY")]
    app_key: Option<String>,
}

impl StoreArgs {
    fn open(&self) -> Result<Arc<dyn TokenStore>, Failure> {
        match (&self.token_store, &self.token_file) {
            (Some(description), _) => {
                let is_redis = description.starts_with("redis://") || description.starts_with("rediss://");
                let app_key = match (&self.app_key, is_redis) {
                    (Some(key), _) => key.as_str(),
                    (None, true) => {
                        return Err(Failure::config("a Redis token store needs the app key (DOUDIAN_APP_KEY)"))
                    }
                    (None, false) => "",
                };
                super::call::token_store(description, app_key)
            }
            (None, Some(path)) => Ok(Arc::new(FileTokenStore::new(path))),
            (None, None) => {
                Err(Failure::config("set the token store: --token-store file:PATH|redis://… or --token-file"))
            }
        }
    }
}

#[derive(Debug, Args)]
pub struct ListArgs {
    #[command(flatten)]
    store: StoreArgs,
    /// The renewal window that makes a shop renew_due: 3d, 12h, 90m, 45s.
    #[arg(long, value_name = "DURATION", default_value = "3d", value_parser = window::parse)]
    within: Duration,
    /// Print JSON instead of a table.
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Args)]
pub struct RenewArgs {
    #[command(flatten)]
    store: StoreArgs,
    /// The gateway base URL.
    #[arg(long, env = "DOUDIAN_BASE_URL")]
    base_url: Option<String>,
    /// The app secret.
    #[arg(long, env = "DOUDIAN_APP_SECRET", hide_env_values = true)]
    app_secret: Option<String>,
    /// md5 or hmac-sha256.
    #[arg(long, env = "DOUDIAN_SIGN_METHOD", default_value = "hmac-sha256")]
    sign_method: String,
    /// Renew the shops whose refresh token expires within this: 3d, 12h, 90m, 45s.
    #[arg(long, value_name = "DURATION", value_parser = window::parse)]
    within: Duration,
    /// token.refresh calls a second, at most (this process's share of the app's quota).
    #[arg(long, value_name = "N", default_value_t = 10.0, value_parser = parse_qps)]
    qps: f64,
    /// Print the report as JSON.
    #[arg(long)]
    json: bool,
}

fn parse_qps(text: &str) -> Result<f64, String> {
    match text.trim().parse::<f64>() {
        Ok(qps) if qps.is_finite() && qps > 0.0 => Ok(qps),
        _ => Err(format!("`{text}`: expected a number of calls a second above 0, e.g. 5 or 0.5")),
    }
}

pub async fn run(command: TokensCommand) -> Result<(), Failure> {
    match command {
        TokensCommand::List(args) => list(args).await,
        TokensCommand::Renew(args) => renew(args).await,
    }
}

async fn list(args: ListArgs) -> Result<(), Failure> {
    let store = args.store.open()?;
    let now = unix_now() as u64;
    let mut rows: Vec<Value> = list_tokens(&*store, PAGE_SIZE)
        .map_ok(|listed| match listed.token {
            Ok(token) => row(&listed.key, &token, now, args.within),
            Err(error) => json!({
                "shop_id": listed.key,
                "state": "unreadable",
                "error": doudian_sdk::error::Chain(&error).to_string(),
            }),
        })
        .try_collect()
        .await?;
    rows.sort_by(|a, b| a["shop_id"].as_str().cmp(&b["shop_id"].as_str()));
    if args.json {
        return print_json(&json!({ "now": now, "shops": rows }));
    }
    let mut text = format!("{:<20} {:<20} {:<20} STATE\n", "SHOP", "ACCESS EXPIRES", "REFRESH EXPIRES");
    for row in &rows {
        let time = |field: &str| row[field].as_u64().map(window::utc).unwrap_or_default();
        let mut state = row["state"].as_str().unwrap_or_default().to_owned();
        if let Some(refused) = row.get("refused").filter(|r| !r.is_null()) {
            state.push_str(&format!(" (refused: {} {})", refused["code"], refused["sub_code"].as_str().unwrap_or("")));
        }
        if let Some(error) = row.get("error") {
            state.push_str(&format!(" ({})", error.as_str().unwrap_or_default()));
        }
        let shop = row["shop_id"].as_str().unwrap_or_default();
        text.push_str(&format!(
            "{shop:<20} {:<20} {:<20} {state}\n",
            time("access_expires_at"),
            time("refresh_expires_at")
        ));
    }
    text.push_str(&format!("{} shops\n", rows.len()));
    write_stdout(&text)
}

/// One shop of `tokens list --json`.
fn row(key: &str, token: &StoredToken, now: u64, within: Duration) -> Value {
    json!({
        "shop_id": key,
        "shop_name": token.shop_name,
        "access_expires_at": token.expires_at,
        "refresh_expires_at": token.refresh_expires_at,
        "state": token.state(now, within),
        "refused": token.refused,
    })
}

async fn renew(args: RenewArgs) -> Result<(), Failure> {
    let store = args.store.open()?;
    let (Some(app_key), Some(app_secret)) = (&args.store.app_key, &args.app_secret) else {
        return Err(Failure::config("renewing needs the app: set DOUDIAN_APP_KEY and DOUDIAN_APP_SECRET"));
    };
    let sign_method: SignMethod =
        args.sign_method.parse().map_err(|e: doudian_sdk::Error| Failure::config(e.to_string()))?;
    let mut builder = Client::builder(app_key.clone(), app_secret.clone()).sign_method(sign_method).token_store(store);
    if let Some(url) = &args.base_url {
        builder = builder.base_url(url);
    }
    let client = builder.build()?;
    let limiter = LocalRateLimiter::new(RateLimits::new().method("token.refresh", args.qps));
    let report = client.renew_due(args.within, &limiter).await?;
    if args.json {
        print_json(&serde_json::to_value(&report).map_err(|e| Failure::config(e.to_string()))?)?;
    } else {
        write_stdout(&summary(&report))?;
    }
    if report.needs_consent_anywhere() {
        let mut shops: Vec<&str> = report.refused.iter().map(|r| r.key.as_str()).collect();
        shops.extend(report.needs_consent.iter().map(String::as_str));
        return Err(Failure {
            message: format!("error: {} shop(s) need the shop's consent again: {}", shops.len(), shops.join(", ")),
            exit_code: EXIT_REFUSED,
        });
    }
    if !report.failed.is_empty() || !report.unreadable.is_empty() {
        return Err(Failure {
            message: format!(
                "error: {} shop(s) could not be renewed now; run again",
                report.failed.len() + report.unreadable.len()
            ),
            exit_code: EXIT_TRANSPORT,
        });
    }
    Ok(())
}

/// The report as lines for a person.
fn summary(report: &RenewalReport) -> String {
    let mut text = String::new();
    for shop in &report.renewed {
        text.push_str(&format!(
            "renewed  {} (refresh token until {})\n",
            shop.key,
            window::utc(shop.refresh_expires_at)
        ));
    }
    for key in &report.unchanged {
        text.push_str(&format!("unchanged {key} (the platform returned the same pair: still due)\n"));
    }
    for key in &report.skipped {
        text.push_str(&format!("skipped  {key} (renewed by another process)\n"));
    }
    for shop in &report.refused {
        let r = &shop.refusal;
        text.push_str(&format!("refused  {} ({} {}: {}): needs consent\n", shop.key, r.code, r.sub_code, r.message));
    }
    for key in &report.needs_consent {
        text.push_str(&format!("consent  {key} (refresh token expired or refused earlier): needs consent\n"));
    }
    for shop in report.failed.iter().chain(&report.unreadable) {
        text.push_str(&format!("failed   {} ({})\n", shop.key, shop.error));
    }
    text.push_str(&format!(
        "{} renewed, {} skipped, {} refused, {} need consent, {} failed, {} valid\n",
        report.renewed.len(),
        report.skipped.len(),
        report.refused.len(),
        report.needs_consent.len(),
        report.failed.len() + report.unreadable.len(),
        report.valid
    ));
    text
}
