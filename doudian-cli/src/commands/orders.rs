//! `doudian orders sync --into DB`: every order of the shops in a database (SQLite or
//! PostgreSQL), from `--since` (default 90 days back) up to now, then with `--follow`
//! forever, with pushes applied as they arrive. Safe to kill and rerun: the database holds
//! the checkpoint each batch reached. Processes sharing one database share the shops
//! through leases in it.

mod leases;
mod since;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use clap::{Args, Subcommand};
use doudian_sdk::push::{PushRecord, PushVerifier};
use doudian_sdk::ratelimit::{LocalRateLimiter, RateLimiter, RateLimits};
use doudian_sdk::retry::RetryPolicy;
use doudian_sdk::sync::sql::SqlSink;
use doudian_sdk::sync::{OrderSync, PassReport, Progress, SyncError};
use doudian_sdk::webhook::{serve, PushEndpoint};
use doudian_sdk::{AppSecret, ClientBuilder};
use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde_json::json;

use super::call::{connect_with, ConnectionArgs};
use super::{print_json, unix_now, Failure, EXIT_CONFIG, EXIT_TRANSPORT};
use leases::Leases;

/// The method the synchroniser lists with.
const SEARCH_METHOD: &str = "order.searchList";

#[derive(Debug, Subcommand)]
pub enum OrdersCommand {
    /// Keep every order of the shops in a database: an initial sync from --since, then with
    /// --follow polling forever and applying pushes. Safe to kill and rerun.
    Sync(SyncArgs),
}

#[derive(Debug, Args)]
pub struct SyncArgs {
    /// The database: sqlite:PATH (created when missing) or postgres://USER@HOST/DB.
    #[arg(long, value_name = "URL")]
    into: String,
    /// A shop to sync (repeatable). Default: the client's shop (DOUDIAN_SHOP_ID).
    #[arg(long = "shop", value_name = "ID", conflicts_with = "all_shops")]
    shops: Vec<String>,
    /// Every shop: those of DOUDIAN_SHOP_IDS (comma-separated, as `doudian mock --shops`
    /// prints), those the database already syncs, and the client's own.
    #[arg(long)]
    all_shops: bool,
    /// Where shops without a checkpoint start: Unix seconds, 7d / 12h / 30m ago, or
    /// YYYY-MM-DD[THH:MM[:SS]] in the platform's time (UTC+8). Default: 90 days back.
    #[arg(long, value_name = "TIME")]
    since: Option<String>,
    /// Keep polling (every --poll-interval) and applying pushes until interrupted.
    #[arg(long)]
    follow: bool,
    /// Seconds between passes with --follow.
    #[arg(long, value_name = "SECS", default_value_t = 15.0)]
    poll_interval: f64,
    /// Seconds re-read behind the checkpoint on every pass (the search index lags).
    #[arg(long, value_name = "SECS", default_value_t = 120)]
    overlap: u64,
    /// How many orders one order.searchList filter reaches (the platform's 50000).
    #[arg(long, value_name = "N", default_value_t = doudian_sdk::sync::DEFAULT_SEARCH_CAP)]
    search_cap: i64,
    /// Windows of one shop read at once (a long range is cut into time slices).
    #[arg(long, value_name = "N", default_value_t = doudian_sdk::sync::DEFAULT_CONCURRENCY)]
    concurrency: usize,
    /// order.searchList calls a second, the app's quota (among all shops of this process).
    /// Without it the rate is learnt from the platform's 60000 answers.
    #[arg(long, value_name = "N")]
    qps: Option<f64>,
    /// With --follow: receive pushes on this address (e.g. 127.0.0.1:8080, path /push)
    /// and refresh the orders they name.
    #[arg(long, value_name = "ADDR", requires = "follow")]
    push_listen: Option<SocketAddr>,
    /// Seconds a shop's lease lasts unless renewed: a process that dies loses its shops to
    /// the others after this long.
    #[arg(long, value_name = "SECS", default_value_t = 30)]
    lease_ttl: u64,
    /// This process's name in the leases (default: host and process id).
    #[arg(long, value_name = "NAME")]
    holder: Option<String>,
    /// Print the summary as JSON on stdout.
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    connection: ConnectionArgs,
}

pub async fn run(command: OrdersCommand) -> Result<(), Failure> {
    match command {
        OrdersCommand::Sync(args) => sync(args).await,
    }
}

/// What happened to each shop in this run.
#[derive(Default)]
struct ShopSummary {
    stored: u64,
    duplicates: u64,
    calls: u64,
    splits: u64,
    /// The most time slices one pass read at once.
    slices: u64,
    passes: u64,
    checkpoint: Option<doudian_sdk::sync::Checkpoint>,
    gap: Option<(i64, i64)>,
    held_elsewhere: bool,
    error: Option<String>,
}

impl ShopSummary {
    fn add(&mut self, report: &PassReport) {
        self.stored += report.stored;
        self.duplicates += report.duplicates;
        self.calls += report.calls;
        self.splits += report.splits;
        self.slices = self.slices.max(report.slices);
        self.passes += 1;
        self.checkpoint = report.checkpoint.or(self.checkpoint);
        self.gap = report.gap.or(self.gap);
        self.error = None;
    }
}

type Summaries = Arc<Mutex<BTreeMap<String, ShopSummary>>>;

async fn sync(args: SyncArgs) -> Result<(), Failure> {
    let poll_interval = Duration::try_from_secs_f64(args.poll_interval)
        .ok()
        .filter(|d| !d.is_zero())
        .ok_or_else(|| Failure::config("--poll-interval must be a number of seconds above 0"))?;
    if args.lease_ttl < 3 {
        return Err(Failure::config("--lease-ttl must be at least 3 seconds"));
    }
    if let Some(qps) = args.qps {
        if !(qps.is_finite() && qps > 0.0) {
            return Err(Failure::config(format!("--qps {qps}: expected calls a second above 0")));
        }
    }
    let now = unix_now();
    let since = args.since.as_deref().map(|text| since::parse(text, now)).transpose().map_err(Failure::config)?;

    let limits = match args.qps {
        Some(qps) => RateLimits::adaptive().method(SEARCH_METHOD, qps),
        None => RateLimits::adaptive(),
    };
    // One limiter for every shop's client: the quota is the app's.
    let limiter: Arc<dyn RateLimiter> = Arc::new(LocalRateLimiter::new(limits));
    let tune = |builder: ClientBuilder, _: &str| {
        Ok(builder
            .rate_limiter(limiter.clone())
            .retry(RetryPolicy::attempts(10).with_backoff(Duration::from_millis(100), Duration::from_secs(5))))
    };
    let (client, bundled) = connect_with(&args.connection, tune).await?;
    let sink = SqlSink::connect(&args.into).await.map_err(|e| Failure::config(format!("--into {}: {e}", args.into)))?;
    let shops = shops(&args, &client, &sink).await?;
    let bars = Bars::new(&shops, args.json);
    let mut builder = OrderSync::builder(sink.clone());
    for shop in &shops {
        builder = match args.connection.for_shop(shop) {
            // A self-use app: a client of its own per shop.
            Some(connection) if client.shop() != Some(shop.as_str()) => {
                builder.shop(connect_with(&connection, tune).await?.0)
            }
            _ if client.shop() == Some(shop.as_str()) => builder.shop(client.clone()),
            _ => builder.shops(&client, [shop]),
        };
    }
    let mut builder = builder
        .overlap(Duration::from_secs(args.overlap))
        .search_cap(args.search_cap)
        .poll_interval(poll_interval)
        .concurrency(args.concurrency);
    if let Some(since) = since {
        builder = builder.since(since);
    }
    let progress_bars = bars.clone();
    builder = builder.on_progress(move |progress| progress_bars.show(progress));
    let sync = builder.build().map_err(|e| Failure::config(e.to_string()))?;

    let holder = args.holder.clone().unwrap_or_else(default_holder);
    let leases = Leases::new(sink.clone(), holder, Duration::from_secs(args.lease_ttl));
    let summaries: Summaries =
        Arc::new(Mutex::new(shops.iter().map(|s| (s.clone(), ShopSummary::default())).collect()));

    let outcome = if args.follow {
        let secret = match &bundled {
            Some(bundled) => Some(bundled.app_secret().to_owned()),
            None => args.connection.app_secret().map(str::to_owned),
        };
        let credentials = secret.map(|secret| (client.app_key().to_owned(), secret));
        follow(&sync, &leases, &summaries, args.push_listen, credentials, &bars).await
    } else {
        once(&sync, &leases, &summaries).await
    };
    bars.clear();
    leases.release_all().await;
    report(&sink, &summaries, args.json).await?;
    outcome
}

/// The shops to sync: --shop, --all-shops, or the client's own.
async fn shops(args: &SyncArgs, client: &doudian_sdk::Client, sink: &SqlSink) -> Result<Vec<String>, Failure> {
    let mut shops: Vec<String> = args.shops.clone();
    if args.all_shops {
        if let Ok(ids) = std::env::var("DOUDIAN_SHOP_IDS") {
            shops.extend(ids.split(',').map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned));
        }
        let known = sink.checkpoints().await.map_err(|e| Failure::config(format!("--into {}: {e}", args.into)))?;
        shops.extend(known.into_iter().map(|(shop, _)| shop));
    }
    if shops.is_empty() || args.all_shops {
        shops.extend(client.shop().map(str::to_owned));
    }
    shops.sort();
    shops.dedup();
    if shops.is_empty() {
        return Err(Failure::config("no shop to sync: set DOUDIAN_SHOP_ID, --shop ID or --all-shops"));
    }
    Ok(shops)
}

/// One pass over every shop this process can lease; the others are left to their holder.
async fn once(sync: &OrderSync<SqlSink>, leases: &Leases, summaries: &Summaries) -> Result<(), Failure> {
    let shops = sync.shops();
    let results = futures_util::future::join_all(shops.iter().map(|shop| async move {
        match leases.take(shop).await {
            Ok(true) => Some(sync.sync_shop(shop).await),
            Ok(false) => None,
            Err(e) => Some(Err(e)),
        }
    }))
    .await;
    let mut failed = Vec::new();
    let mut summaries = summaries.lock().unwrap_or_else(|e| e.into_inner());
    for (shop, result) in shops.iter().zip(results) {
        let summary = summaries.entry(shop.clone()).or_default();
        match result {
            Some(Ok(report)) => summary.add(&report),
            Some(Err(error)) => {
                summary.error = Some(error.to_string());
                failed.push(error);
            }
            None => summary.held_elsewhere = true,
        }
    }
    match failed.into_iter().next() {
        None => Ok(()),
        Some(error) => Err(failure_of(error)),
    }
}

/// Polls the leased shops forever (and takes over shops whose holder stopped renewing);
/// applies pushes when --push-listen is set. Returns on Ctrl-C or SIGTERM.
async fn follow(
    sync: &OrderSync<SqlSink>,
    leases: &Leases,
    summaries: &Summaries,
    push_listen: Option<SocketAddr>,
    credentials: Option<(String, String)>,
    bars: &Bars,
) -> Result<(), Failure> {
    let _push_server = match push_listen {
        Some(addr) => Some(push_endpoint(sync, addr, credentials).await?),
        None => None,
    };
    let keeper = leases.keep(sync.shops());
    let shop_loops = futures_util::future::join_all(sync.shops().into_iter().map(|shop| async move {
        loop {
            if leases.holds(&shop) {
                let result = sync.sync_shop(&shop).await;
                let mut summaries = summaries.lock().unwrap_or_else(|e| e.into_inner());
                let summary = summaries.entry(shop.clone()).or_default();
                match result {
                    Ok(report) => summary.add(&report),
                    Err(error) => {
                        bars.println(format!("✗ shop {shop}: {error}"));
                        summary.error = Some(error.to_string());
                    }
                }
                summary.held_elsewhere = false;
            } else {
                let mut summaries = summaries.lock().unwrap_or_else(|e| e.into_inner());
                summaries.entry(shop.clone()).or_default().held_elsewhere = true;
            }
            tokio::time::sleep(sync.poll_interval()).await;
        }
    }));
    tokio::select! {
        _ = keeper => Ok(()),
        _ = shop_loops => Ok(()),
        _ = stop_signal() => Ok(()),
    }
}

async fn stop_signal() {
    #[cfg(unix)]
    {
        let mut term = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(term) => term,
            Err(_) => return std::future::pending().await,
        };
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = tokio::signal::ctrl_c().await;
}

/// The in-process push endpoint: `POST /push` on `addr`, verified with the app's secret.
async fn push_endpoint(
    sync: &OrderSync<SqlSink>,
    addr: SocketAddr,
    credentials: Option<(String, String)>,
) -> Result<tokio::task::JoinHandle<()>, Failure> {
    let Some((app_key, secret)) = credentials else {
        return Err(Failure::config("--push-listen needs the app key and secret to verify pushes"));
    };
    let verifier = PushVerifier::new(app_key, AppSecret::new(secret));
    let handler_sync = sync.clone();
    let endpoint = PushEndpoint::with_records(verifier, move |record: PushRecord| {
        let sync = handler_sync.clone();
        async move { sync.apply_push(&record).await.map(|_| ()).map_err(|e| e.to_string()) }
    });
    let app = axum::Router::new().route("/push", endpoint.into_method_router());
    let listener =
        tokio::net::TcpListener::bind(addr).await.map_err(|e| Failure::config(format!("--push-listen {addr}: {e}")))?;
    let bound = listener.local_addr().map(|a| a.to_string()).unwrap_or_else(|_| addr.to_string());
    eprintln!("receiving pushes on http://{bound}/push");
    Ok(tokio::spawn(async move {
        if let Err(e) = serve(listener, app).await {
            tracing::error!(error = %e, "the push endpoint stopped");
        }
    }))
}

fn failure_of(error: SyncError) -> Failure {
    match error {
        SyncError::Api { source, .. } => Failure::from(source),
        SyncError::Config(_) | SyncError::UnknownShop(_) => {
            Failure { message: format!("error: {error}"), exit_code: EXIT_CONFIG }
        }
        other => {
            Failure { message: format!("error: {}", doudian_sdk::error::Chain(&other)), exit_code: EXIT_TRANSPORT }
        }
    }
}

async fn report(sink: &SqlSink, summaries: &Summaries, json: bool) -> Result<(), Failure> {
    let in_database = sink.stored_orders(None).await.map(|rows| rows.len()).ok();
    let summaries = summaries.lock().unwrap_or_else(|e| e.into_inner());
    if json {
        let shops: Vec<serde_json::Value> = summaries
            .iter()
            .map(|(shop, s)| {
                json!({
                    "shop_id": shop,
                    "stored": s.stored,
                    "duplicates": s.duplicates,
                    "calls": s.calls,
                    "splits": s.splits,
                    "slices": s.slices,
                    "passes": s.passes,
                    "checkpoint": s.checkpoint.map(|c| json!({"update_time": c.update_time, "complete": c.complete})),
                    "gap": s.gap.map(|(from, to)| json!([from, to])),
                    "held_elsewhere": s.held_elsewhere,
                    "error": s.error,
                })
            })
            .collect();
        return print_json(&json!({ "shops": shops, "orders_in_database": in_database }));
    }
    for (shop, s) in summaries.iter() {
        let state = match (&s.error, s.held_elsewhere, s.checkpoint) {
            (Some(error), _, _) => format!("failed: {error}"),
            (None, true, _) => "synced by another process".to_owned(),
            (None, false, Some(c)) => format!("checkpoint {c}"),
            (None, false, None) => "nothing stored".to_owned(),
        };
        eprintln!("shop {shop}: {} orders stored, {} calls, {state}", s.stored, s.calls);
    }
    if let Some(n) = in_database {
        eprintln!("{n} orders in the database");
    }
    Ok(())
}

fn default_holder() -> String {
    let host = std::fs::read_to_string("/etc/hostname").map(|h| h.trim().to_owned()).unwrap_or_default();
    let host = if host.is_empty() { "host".to_owned() } else { host };
    format!("{host}-{}", std::process::id())
}

/// A progress bar per shop on a terminal: how much of the pass's time range is stored.
#[derive(Clone)]
struct Bars {
    multi: MultiProgress,
    bars: Arc<BTreeMap<String, ProgressBar>>,
}

impl Bars {
    fn new(shops: &[String], json: bool) -> Bars {
        let target = if json { ProgressDrawTarget::hidden() } else { ProgressDrawTarget::stderr() };
        let multi = MultiProgress::with_draw_target(target);
        let style = ProgressStyle::with_template("shop {prefix:>12} {bar:30} {percent:>3}% {msg}").ok();
        let bars = shops
            .iter()
            .map(|shop| {
                let bar = multi.add(ProgressBar::new(1));
                if let Some(style) = &style {
                    bar.set_style(style.clone());
                }
                bar.set_prefix(shop.clone());
                (shop.clone(), bar)
            })
            .collect();
        Bars { multi, bars: Arc::new(bars) }
    }

    fn show(&self, progress: &Progress) {
        if let Some(bar) = self.bars.get(&progress.shop) {
            let span = (progress.to - progress.from + 1).max(1) as u64;
            bar.set_length(span);
            bar.set_position((progress.reached - progress.from).clamp(0, span as i64) as u64);
            bar.set_message(format!("{} orders", progress.stored));
        }
    }

    fn println(&self, line: String) {
        let _ = self.multi.println(line);
    }

    fn clear(&self) {
        for bar in self.bars.values() {
            bar.finish_and_clear();
        }
    }
}
