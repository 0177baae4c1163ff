//! A worker: one runtime and one client, measured one command at a time.

use std::io::{BufRead, Write};
use std::time::{Duration, Instant};

use doudian_sdk::api::order::OrderSearchListRequest;
use doudian_sdk::api::shop::ShopBrandListRequest;
use doudian_sdk::Client;
use tokio::runtime::{Builder, Runtime};

use crate::WARMUP_ENV;

/// This process's CPU use so far, from `/proc` (no `unsafe` for `getrusage` here: the
/// workspace forbids it). The kernel accounts user and system time by sampling at each
/// tick and scales the samples to the precise on-CPU time, as `getrusage` does; done here
/// the same way per command: the precise time is the sum of the threads' `schedstat` (ns),
/// split by the command's user and system ticks from `/proc/self/stat`.
#[derive(Clone, Copy)]
struct Usage {
    /// On-CPU time of the live threads.
    cpu: Duration,
    user_ticks: u64,
    sys_ticks: u64,
    /// Voluntary and involuntary context switches of the live threads.
    switches: u64,
}

fn usage() -> Result<Usage, String> {
    let stat = read_proc("/proc/self/stat")?;
    // The command name may hold spaces: the fields after it start after the last ')'.
    let rest = stat.rfind(')').map(|end| &stat[end + 2..]).ok_or("/proc/self/stat: no command name")?;
    let fields: Vec<&str> = rest.split(' ').collect();
    // utime and stime are fields 14 and 15 of the line, 12 and 13 after the name and state.
    let ticks = |i: usize| {
        fields.get(i).and_then(|f| f.parse::<u64>().ok()).ok_or(format!("/proc/self/stat: no field {}", i + 3))
    };
    let (mut cpu_ns, mut switches) = (0u64, 0u64);
    let tasks = std::fs::read_dir("/proc/self/task").map_err(|e| format!("/proc/self/task: {e}"))?;
    for task in tasks.flatten() {
        // A thread may end between the listing and the read: it is skipped.
        if let Ok(schedstat) = std::fs::read_to_string(task.path().join("schedstat")) {
            cpu_ns += schedstat.split(' ').next().and_then(|ns| ns.parse::<u64>().ok()).unwrap_or(0);
        }
        let Ok(status) = std::fs::read_to_string(task.path().join("status")) else { continue };
        for line in status.lines() {
            if let Some(value) = line
                .strip_prefix("voluntary_ctxt_switches:")
                .or_else(|| line.strip_prefix("nonvoluntary_ctxt_switches:"))
            {
                switches += value.trim().parse::<u64>().unwrap_or(0);
            }
        }
    }
    Ok(Usage { cpu: Duration::from_nanos(cpu_ns), user_ticks: ticks(11)?, sys_ticks: ticks(12)?, switches })
}

fn read_proc(path: &str) -> Result<String, String> {
    std::fs::read_to_string(path).map_err(|e| format!("{path}: {e}"))
}

/// A line `<name>: <n> kB` of `/proc/self/status`, in KiB.
fn status_kib(name: &str) -> Result<u64, String> {
    let status = read_proc("/proc/self/status")?;
    status
        .lines()
        .find_map(|line| line.strip_prefix(name)?.strip_prefix(':'))
        .and_then(|value| value.trim().trim_end_matches("kB").trim().parse().ok())
        .ok_or(format!("/proc/self/status: no {name}"))
}

/// Resets the peak RSS (`VmHWM`) to the current RSS, so that the next reading is the peak
/// of one command (Linux ≥ 4.0). False if the kernel refused: the peak is then the
/// process's.
fn reset_peak_rss() -> bool {
    std::fs::write("/proc/self/clear_refs", "5").is_ok()
}

#[derive(Clone, Copy, PartialEq)]
enum Case {
    Small,
    Large,
}

impl Case {
    fn parse(word: &str) -> Result<Case, String> {
        match word {
            "small" => Ok(Case::Small),
            "large" => Ok(Case::Large),
            other => Err(format!("unknown case `{other}` (small, large)")),
        }
    }
}

/// One call; checks the reply so that nothing is optimised away or silently failing.
async fn call(client: &Client, case: Case) -> Result<(), String> {
    match case {
        Case::Small => {
            let brands = client.execute(&ShopBrandListRequest::new()).await.map_err(|e| e.to_string())?;
            if brands.is_empty() {
                return Err("shop.brandList: no brands in the reply".into());
            }
        }
        Case::Large => {
            let orders = client.execute(&OrderSearchListRequest::new(0, 20)).await.map_err(|e| e.to_string())?;
            if orders.shop_order_list.len() != 20 {
                return Err(format!(
                    "order.searchList: {} orders in the reply, not 20 (the mock's shop holds 45)",
                    orders.shop_order_list.len()
                ));
            }
        }
    }
    Ok(())
}

async fn calls(client: Client, case: Case, n: usize) -> Result<(), String> {
    for _ in 0..n {
        call(&client, case).await?;
    }
    Ok(())
}

/// [`calls`], each call in a task of its own, awaited.
async fn calls_each_spawned(client: Client, case: Case, n: usize) -> Result<(), String> {
    for _ in 0..n {
        let client = client.clone();
        tokio::spawn(async move { call(&client, case).await }).await.map_err(|e| format!("a call's task: {e}"))??;
    }
    Ok(())
}

/// `n` calls, `in_flight` at a time: as many sequences of calls joined.
async fn calls_in_flight(
    client: Client,
    case: Case,
    n: usize,
    in_flight: usize,
    each_spawned: bool,
) -> Result<(), String> {
    let per_sequence = n / in_flight;
    let sequences = (0..in_flight).map(|_| {
        let client = client.clone();
        async move {
            if each_spawned {
                calls_each_spawned(client, case, per_sequence).await
            } else {
                calls(client, case, per_sequence).await
            }
        }
    });
    futures_util::future::try_join_all(sequences).await.map(drop)
}

/// The calls of a batch, each in a task of its own if `each_spawned`.
async fn run_batch(client: Client, batch: Batch, each_spawned: bool) -> Result<(), String> {
    let Batch { case, n, in_flight } = batch;
    match (in_flight, each_spawned) {
        (1, false) => calls(client, case, n).await,
        (1, true) => calls_each_spawned(client, case, n).await,
        (k, each_spawned) => calls_in_flight(client, case, n, k, each_spawned).await,
    }
}

#[derive(Clone, Copy)]
enum Mode {
    /// The calls run in `block_on` (as in `#[tokio::main]`).
    BlockOn,
    /// The calls run in one spawned task (on a worker of a multi-thread runtime).
    Task,
    /// Each call runs in a task of its own, awaited from `block_on`.
    TaskPerCall,
}

/// The runtime of a worker with its client.
struct Subject {
    runtime: Runtime,
    client: Client,
    /// Where the calls run.
    mode: Mode,
}

/// The calls of one command of a worker: `<case> <n> [in_flight]`.
#[derive(Clone, Copy)]
struct Batch {
    case: Case,
    n: usize,
    /// Calls at once; 1 is sequential.
    in_flight: usize,
}

impl Batch {
    fn parse(text: &str) -> Result<Batch, String> {
        let words: Vec<&str> = text.split_whitespace().collect();
        let number = |word: &str, what: &str| match word.parse::<usize>() {
            Ok(n) if n > 0 => Ok(n),
            _ => Err(format!("`{text}`: {what} must be a positive number, not `{word}`")),
        };
        let (case, n, in_flight) = match words.as_slice() {
            [case, n] => (Case::parse(case)?, number(n, "the calls")?, 1),
            [case, n, in_flight] => {
                (Case::parse(case)?, number(n, "the calls")?, number(in_flight, "the calls in flight")?)
            }
            _ => return Err(format!("`{text}`: expected `<case> <calls> [in_flight]`")),
        };
        if n % in_flight != 0 {
            return Err(format!("`{text}`: the calls must be a multiple of the calls in flight"));
        }
        Ok(Batch { case, n, in_flight })
    }
}

impl Subject {
    fn new(name: &str) -> Result<Subject, String> {
        let (runtime, mode) = match name {
            "current_thread" => (Builder::new_current_thread().enable_all().build(), Mode::BlockOn),
            "multi_thread" => (Builder::new_multi_thread().enable_all().build(), Mode::BlockOn),
            "multi_thread_spawned" => (Builder::new_multi_thread().enable_all().build(), Mode::Task),
            "multi_thread_spawn_each" => (Builder::new_multi_thread().enable_all().build(), Mode::TaskPerCall),
            "multi_thread_1" => (Builder::new_multi_thread().worker_threads(1).enable_all().build(), Mode::BlockOn),
            other => return Err(format!("unknown runtime `{other}`")),
        };
        let runtime = runtime.map_err(|e| format!("a tokio runtime: {e}"))?;
        let setting = |name: &str| std::env::var(name).map_err(|_| format!("a worker needs {name}"));
        let (app_key, app_secret) = (setting("DOUDIAN_APP_KEY")?, setting("DOUDIAN_APP_SECRET")?);
        let (base_url, shop_id) = (setting("DOUDIAN_BASE_URL")?, setting("DOUDIAN_SHOP_ID")?);
        // Built inside the runtime: its connections are driven by this runtime.
        let client = runtime.block_on(async {
            Client::builder(&app_key, app_secret.as_str())
                .base_url(&base_url)
                .shop_id(&shop_id)
                .env_proxy(false)
                .build()
                .map_err(|e| format!("a client for the mock: {e}"))
        })?;
        Ok(Subject { runtime, client, mode })
    }

    fn run(&self, batch: Batch) -> Result<(), String> {
        let client = self.client.clone();
        match self.mode {
            Mode::BlockOn => self.runtime.block_on(run_batch(client, batch, false)),
            Mode::Task => self.runtime.block_on(async move {
                tokio::spawn(run_batch(client, batch, false)).await.map_err(|e| format!("the calls' task: {e}"))?
            }),
            Mode::TaskPerCall => self.runtime.block_on(run_batch(client, batch, true)),
        }
    }

    /// Runs a command and measures it: one line of `key=value` figures.
    fn measure(&self, batch: Batch) -> Result<String, String> {
        let peak_reset = reset_peak_rss();
        let rss_before = status_kib("VmRSS")?;
        let (before, started) = (usage()?, Instant::now());
        self.run(batch)?;
        let (wall, after) = (started.elapsed(), usage()?);
        let peak_rss = status_kib("VmHWM")?;
        let n = batch.n as f64;
        let total = (after.cpu.saturating_sub(before.cpu)).as_secs_f64() * 1e6 / n;
        let (user_ticks, sys_ticks) = (after.user_ticks - before.user_ticks, after.sys_ticks - before.sys_ticks);
        // Without a tick in the command (a very short one) the split is unknown.
        let user_share = match user_ticks + sys_ticks {
            0 => f64::NAN,
            all => user_ticks as f64 / all as f64,
        };
        Ok(format!(
            "ok calls_per_s={:.3} cpu_us={:.4} user_us={:.4} sys_us={:.4} switches={:.4} peak_rss_kib={peak_rss} \
             rss_before_kib={rss_before} peak_reset={peak_reset}",
            n / wall.as_secs_f64(),
            total,
            total * user_share,
            total * (1.0 - user_share),
            (after.switches - before.switches) as f64 / n,
        ))
    }
}

/// Serves as a worker: builds the runtime `runtime` and its client, runs the warm-up commands of
/// `DOUDIAN_BENCH_WORKER_WARMUP`, prints `ready`, then answers each line of stdin:
/// `run <case> <calls> [in_flight]` with `ok key=value ...` (see [`Subject::measure`]) or
/// `error <message>` (after which it exits); `quit` or the end of stdin ends it.
pub fn serve(runtime: &str) -> Result<(), String> {
    let mut out = std::io::stdout().lock();
    let mut answer = |line: &str| -> Result<(), String> {
        writeln!(out, "{line}").and_then(|()| out.flush()).map_err(|e| format!("worker stdout: {e}"))
    };
    let prepared = Subject::new(runtime).and_then(|subject| {
        let warmup = std::env::var(WARMUP_ENV).unwrap_or_default();
        for text in warmup.split(';').map(str::trim).filter(|t| !t.is_empty()) {
            subject.run(Batch::parse(text)?).map_err(|e| format!("warm-up `{text}`: {e}"))?;
        }
        Ok(subject)
    });
    let subject = match prepared {
        Ok(subject) => subject,
        Err(message) => {
            answer(&format!("error {message}"))?;
            return Err(message);
        }
    };
    answer("ready")?;
    for line in std::io::stdin().lock().lines() {
        let line = line.map_err(|e| format!("worker stdin: {e}"))?;
        let line = line.trim();
        if line == "quit" {
            break;
        }
        let measured = match line.strip_prefix("run ") {
            Some(command) => Batch::parse(command).and_then(|batch| subject.measure(batch)),
            None => Err(format!("unknown command `{line}` (run, quit)")),
        };
        match measured {
            Ok(figures) => answer(&figures)?,
            Err(message) => {
                answer(&format!("error {message}"))?;
                return Err(message);
            }
        }
    }
    Ok(())
}
