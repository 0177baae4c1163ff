//! `doudian ship --csv FILE`: batch shipping as an ERP runs it — every order of the file
//! that awaits shipment shipped exactly once, at the app's quota, from one process or
//! several workers. A journal next to the CSV lets a rerun skip what earlier runs did.

mod journal;
mod orders;
mod resume;
mod shipper;
mod summary;

use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::Args;
use doudian_sdk::ratelimit::{LocalRateLimiter, RateLimiter, RateLimits};
use doudian_sdk::redis::Redis;
use doudian_sdk::retry::RetryPolicy;
use futures_util::StreamExt;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use super::call::{connect_with, ConnectionArgs};
use super::{Failure, EXIT_REFUSED};
use journal::Journal;
use orders::{parse_csv, shard_of, Shipment};
use resume::Settled;
use shipper::{ShipAnswers, SHIP_METHOD};
use summary::{Pace, Summary};

#[derive(Debug, Args)]
pub struct ShipArgs {
    /// The orders: `order_id,company_code,tracking_no` lines (a header line, blank lines
    /// and `#` comments are skipped); `-` reads stdin.
    #[arg(long, value_name = "FILE")]
    csv: String,
    /// Where each order's progress is recorded, so that a rerun skips what is done
    /// (default: the CSV's path plus `.journal`; `--csv -` keeps none without this).
    /// Workers may share it.
    #[arg(long, value_name = "FILE")]
    journal: Option<PathBuf>,
    /// order.logisticsAdd calls a second, the app's quota (among all workers). Without it
    /// the rate is learnt from the platform's 60000 answers.
    #[arg(long, value_name = "N")]
    qps: Option<f64>,
    /// Share the --qps quota between workers through this Redis (redis://HOST:PORT[/DB]).
    #[arg(long, value_name = "URL", requires = "qps")]
    limiter: Option<String>,
    /// How many workers share the file (each run with its own --worker-index).
    #[arg(long, value_name = "K", default_value_t = 1)]
    workers: u32,
    /// Which worker this is, from 0 to K-1: it ships the orders whose id hashes to it.
    #[arg(long, value_name = "I", default_value_t = 0)]
    worker_index: u32,
    /// Ship calls in flight at once (the rate is set by --qps, not by this).
    #[arg(long, value_name = "N", default_value_t = 16)]
    concurrency: usize,
    /// Print the final summary as JSON on stdout.
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    connection: ConnectionArgs,
}

pub async fn run(args: ShipArgs) -> Result<(), Failure> {
    if args.workers == 0 || args.worker_index >= args.workers {
        return Err(Failure::config(format!(
            "--worker-index {} must be below --workers {}",
            args.worker_index, args.workers
        )));
    }
    if let Some(qps) = args.qps {
        if !(qps.is_finite() && qps > 0.0) {
            return Err(Failure::config(format!("--qps {qps}: expected calls a second above 0")));
        }
    }
    let all = read_orders(&args.csv)?;
    let mine: Vec<Shipment> =
        all.into_iter().filter(|s| shard_of(&s.order_id, args.workers) == args.worker_index).collect();

    let journal_path = args.journal.clone().or_else(|| (args.csv != "-").then(|| journal_beside(&args.csv)));
    let (journal, earlier) = match &journal_path {
        Some(path) => open_journal(path)?,
        None => (Journal::disabled(), journal::Earlier::default()),
    };

    let limiter = limiter(&args)?;
    let answers = Arc::new(ShipAnswers::default());
    let (client, _gateway) = connect_with(&args.connection, |builder, _app_key| {
        // Throttled calls wait for their slot and try again; a ship call whose outcome is
        // unknown is never retried here (the shipper reads the order back instead).
        Ok(builder
            .rate_limiter(limiter)
            .observer(answers.clone())
            .retry(RetryPolicy::attempts(10).with_backoff(Duration::from_millis(100), Duration::from_secs(5))))
    })
    .await?;

    let progress = progress_bar(mine.len() as u64, args.json);
    let started = Instant::now();
    let settled: Vec<(String, Settled)> = futures_util::stream::iter(mine)
        .map(|shipment| {
            let (client, progress, journal) = (&client, &progress, &journal);
            let earlier = earlier.last.get(&shipment.order_id);
            async move {
                let settled = resume::settle(client, journal, &shipment, earlier).await;
                if let Settled::Failed(why) = &settled {
                    progress.println(format!("✗ {}: {why}", shipment.order_id));
                }
                progress.inc(1);
                (shipment.order_id, settled)
            }
        })
        .buffer_unordered(args.concurrency.max(1))
        .collect()
        .await;
    let seconds = started.elapsed().as_secs_f64();
    progress.finish_and_clear();

    let summary = Summary::of(settled);
    let (throttled, answered) = answers.counts();
    summary::report(&summary, &Pace { throttled, answered, seconds }, journal.path(), args.json)?;
    if summary.failed.is_empty() {
        Ok(())
    } else {
        Err(Failure {
            message: format!("error: {} order(s) not shipped; run again to retry them", summary.failed.len()),
            exit_code: EXIT_REFUSED,
        })
    }
}

/// The default journal: `orders.csv` -> `orders.csv.journal`.
fn journal_beside(csv: &str) -> PathBuf {
    let mut path = PathBuf::from(csv).into_os_string();
    path.push(".journal");
    PathBuf::from(path)
}

/// What earlier runs recorded, and the journal opened to record this run.
fn open_journal(path: &Path) -> Result<(Journal, journal::Earlier), Failure> {
    let cannot = |e: std::io::Error| Failure::config(format!("journal {}: {e}", path.display()));
    let earlier = journal::load(path).map_err(cannot)?;
    if earlier.unreadable > 0 {
        // A write cut short by a kill: that step is redone (read back), nothing is lost.
        eprintln!("note: journal {}: {} unreadable line(s) ignored", path.display(), earlier.unreadable);
    }
    Ok((Journal::open(path).map_err(cannot)?, earlier))
}

fn read_orders(csv: &str) -> Result<Vec<Shipment>, Failure> {
    let text = if csv == "-" {
        let mut text = String::new();
        std::io::stdin().read_to_string(&mut text).map_err(|e| Failure::config(format!("cannot read stdin: {e}")))?;
        text
    } else {
        let path = PathBuf::from(csv);
        std::fs::read_to_string(&path).map_err(|e| Failure::config(format!("cannot read {}: {e}", path.display())))?
    };
    parse_csv(&text, csv).map_err(Failure::config)
}

/// The ship method's pacing: the --qps quota (shared through Redis with --limiter, where
/// each worker falls back to 1/K of it while Redis is unreachable), or adaptive.
fn limiter(args: &ShipArgs) -> Result<Arc<dyn RateLimiter>, Failure> {
    let limits = match args.qps {
        Some(qps) => RateLimits::adaptive().method(SHIP_METHOD, qps),
        None => RateLimits::adaptive(),
    };
    match &args.limiter {
        Some(url) => {
            let app_key = args.connection.app_key().ok_or_else(|| {
                Failure::config("--limiter needs the app key (DOUDIAN_APP_KEY): the quota is the app's")
            })?;
            let limiter = Redis::connect(url, app_key)
                .map_err(|e| Failure::config(e.to_string()))?
                .rate_limiter(limits)
                .local_share(1.0 / f64::from(args.workers));
            Ok(Arc::new(limiter))
        }
        None if args.workers > 1 => {
            // Without a shared limiter each of K workers takes 1/K of the quota.
            Ok(Arc::new(LocalRateLimiter::new(limits.scaled(1.0 / f64::from(args.workers)))))
        }
        None => Ok(Arc::new(LocalRateLimiter::new(limits))),
    }
}

/// A progress bar on stderr when it is a terminal (hidden otherwise, and with --json).
fn progress_bar(total: u64, json: bool) -> ProgressBar {
    let target = if json { ProgressDrawTarget::hidden() } else { ProgressDrawTarget::stderr() };
    let bar = ProgressBar::with_draw_target(Some(total), target);
    if let Ok(style) = ProgressStyle::with_template("{bar:40} {pos}/{len} orders, {per_sec}, eta {eta}") {
        bar.set_style(style);
    }
    bar
}
