//! CPU per call of the SDK's client: sequential `Client::execute` calls through one client
//! against `doudian mock` running as a separate process, so only the client's CPU is
//! counted (this process's on-CPU time, split into user and system time as the kernel
//! samples it; see [`usage`]).
//!
//! Cases: `shop.brandList` (a small reply) and `order.searchList` with page size 20 (20
//! full orders, ~120 KB; the mock's shop holds 45), each on
//! * `current_thread`: a current-thread runtime;
//! * `multi_thread`: the default multi-thread runtime (one worker per core) driven as
//!   `#[tokio::main]` drives it: the calls run in `block_on`, on the main thread, while
//!   the connection's task runs on a worker;
//! * `multi_thread_spawned`: the same runtime with the calls in one spawned task, so the
//!   calls and the connection's task share a worker.
//!
//! Every runtime has its own client (a connection belongs to the runtime that opened it),
//! warmed up before the first round; the rounds interleave the runtimes (the order
//! alternates) and the table shows the median of the rounds.
//!
//! Run: `cargo bench -p doudian-cli --bench cpu_per_call`
//!
//! Environment:
//! * `DOUDIAN_BENCH_CALLS`: calls per round of the small case (default 20000); the large
//!   case makes a tenth of them.
//! * `DOUDIAN_BENCH_ROUNDS`: rounds (default 5).
//! * `DOUDIAN_BENCH_CASES`: `small`, `large` or both (the default, `small,large`).
//! * `DOUDIAN_BENCH_RUNTIMES`: which runtimes, comma-separated (default
//!   `current_thread,multi_thread,multi_thread_spawned`). Also: `multi_thread_spawn_each`
//!   (each call in a task of its own, awaited from `block_on`) and `multi_thread_1` (one
//!   worker thread, calls in `block_on`).
//!
//! Under `cargo test` (no `--bench` argument) it runs one short round as a smoke test.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use doudian_sdk::api::order::OrderSearchListRequest;
use doudian_sdk::api::shop::ShopBrandListRequest;
use doudian_sdk::Client;
use tokio::runtime::{Builder, Runtime};

/// The reference figures of the issue (another machine): CPU µs per sequential call of
/// other clients.
const GO_SMALL_US: f64 = 58.8;
const GO_LARGE_US: f64 = 1_834.0;
const PYPI_SMALL_US: f64 = 706.0;

/// `doudian mock` as a child process, killed on drop.
struct Mock {
    child: Child,
    settings: BTreeMap<String, String>,
}

impl Mock {
    fn start() -> Mock {
        let mut child = Command::new(env!("CARGO_BIN_EXE_doudian"))
            .args(["mock", "--port", "0"])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("doudian mock starts");
        let mut settings = BTreeMap::new();
        let mut lines = BufReader::new(child.stdout.take().expect("piped stdout")).lines();
        while !settings.contains_key("DOUDIAN_SHOP_ID") {
            let line = lines.next().expect("doudian mock prints its settings").expect("readable stdout");
            if let Some((name, value)) = line.split_once('=') {
                settings.insert(name.to_owned(), value.to_owned());
            }
        }
        // Whatever it prints later must not fill the pipe.
        std::thread::spawn(move || lines.for_each(drop));
        Mock { child, settings }
    }

    fn client(&self) -> Client {
        Client::builder(&self.settings["DOUDIAN_APP_KEY"], self.settings["DOUDIAN_APP_SECRET"].as_str())
            .base_url(&self.settings["DOUDIAN_BASE_URL"])
            .shop_id(&self.settings["DOUDIAN_SHOP_ID"])
            .env_proxy(false)
            .build()
            .expect("a client for the mock")
    }
}

impl Drop for Mock {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// This process's CPU use so far, from `/proc` (no `unsafe` for `getrusage` here: the
/// workspace forbids it). The kernel accounts user and system time by sampling at each
/// tick and scales the samples to the precise on-CPU time, as `getrusage` does; done here
/// the same way per round: the precise time is the sum of the threads' `schedstat` (ns),
/// split by the round's user and system ticks from `/proc/self/stat`.
#[derive(Clone, Copy)]
struct Usage {
    /// On-CPU time of the live threads.
    cpu: Duration,
    user_ticks: u64,
    sys_ticks: u64,
    /// Voluntary and involuntary context switches of the live threads.
    switches: u64,
}

fn usage() -> Usage {
    let stat = std::fs::read_to_string("/proc/self/stat").expect("/proc/self/stat");
    // The command name may hold spaces: the fields after it start after the last ')'.
    let rest = &stat[stat.rfind(')').expect("a stat line") + 2..];
    let fields: Vec<&str> = rest.split(' ').collect();
    // utime and stime are fields 14 and 15 of the line, 12 and 13 after the name and state.
    let ticks = |i: usize| fields[i].parse::<u64>().expect("a number of ticks");
    let (mut cpu_ns, mut switches) = (0u64, 0u64);
    for task in std::fs::read_dir("/proc/self/task").expect("/proc/self/task").flatten() {
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
    Usage { cpu: Duration::from_nanos(cpu_ns), user_ticks: ticks(11), sys_ticks: ticks(12), switches }
}

#[derive(Clone, Copy, PartialEq)]
enum Case {
    Small,
    Large,
}

impl Case {
    fn name(self) -> &'static str {
        match self {
            Case::Small => "shop.brandList (small)",
            Case::Large => "order.searchList size 20 (large)",
        }
    }
}

/// One call; checks the reply so that nothing is optimised away or silently failing.
async fn call(client: &Client, case: Case) {
    match case {
        Case::Small => {
            let brands = client.execute(&ShopBrandListRequest::new()).await.expect("shop.brandList");
            assert!(!brands.is_empty());
        }
        Case::Large => {
            let orders = client.execute(&OrderSearchListRequest::new(0, 20)).await.expect("order.searchList");
            assert_eq!(orders.shop_order_list.len(), 20, "the mock's shop holds at least 20 orders");
        }
    }
}

async fn calls(client: Client, case: Case, n: usize) {
    for _ in 0..n {
        call(&client, case).await;
    }
}

/// [`calls`], each call in a task of its own, awaited from `block_on`.
async fn calls_each_spawned(client: Client, case: Case, n: usize) {
    for _ in 0..n {
        let client = client.clone();
        tokio::spawn(async move { call(&client, case).await }).await.expect("the call");
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

/// A runtime under test with its own client.
struct Subject {
    name: String,
    runtime: Runtime,
    client: Client,
    /// Where the calls run.
    mode: Mode,
}

impl Subject {
    fn new(name: &str, mock: &Mock) -> Subject {
        let (runtime, mode) = match name {
            "current_thread" => (Builder::new_current_thread().enable_all().build(), Mode::BlockOn),
            "multi_thread" => (Builder::new_multi_thread().enable_all().build(), Mode::BlockOn),
            "multi_thread_spawned" => (Builder::new_multi_thread().enable_all().build(), Mode::Task),
            "multi_thread_spawn_each" => (Builder::new_multi_thread().enable_all().build(), Mode::TaskPerCall),
            "multi_thread_1" => (Builder::new_multi_thread().worker_threads(1).enable_all().build(), Mode::BlockOn),
            other => panic!("unknown runtime `{other}` in DOUDIAN_BENCH_RUNTIMES"),
        };
        let runtime = runtime.expect("a tokio runtime");
        // Built inside the runtime: its connections are driven by this runtime.
        let client = runtime.block_on(async { mock.client() });
        Subject { name: name.to_owned(), runtime, client, mode }
    }

    fn run(&self, case: Case, n: usize) {
        let client = self.client.clone();
        match self.mode {
            Mode::BlockOn => self.runtime.block_on(calls(client, case, n)),
            Mode::Task => {
                self.runtime.block_on(async move { tokio::spawn(calls(client, case, n)).await.expect("the calls") })
            }
            Mode::TaskPerCall => self.runtime.block_on(calls_each_spawned(client, case, n)),
        }
    }

    /// Runs `n` calls and measures them.
    fn measure(&self, case: Case, n: usize) -> Sample {
        let (before, started) = (usage(), Instant::now());
        self.run(case, n);
        let (wall, after) = (started.elapsed(), usage());
        let total = (after.cpu.saturating_sub(before.cpu)).as_secs_f64() * 1e6 / n as f64;
        let (user_ticks, sys_ticks) = (after.user_ticks - before.user_ticks, after.sys_ticks - before.sys_ticks);
        // Without a tick in the round (a very short one) the split is unknown.
        let user_share = match user_ticks + sys_ticks {
            0 => f64::NAN,
            all => user_ticks as f64 / all as f64,
        };
        Sample {
            rate: n as f64 / wall.as_secs_f64(),
            user: total * user_share,
            sys: total * (1.0 - user_share),
            total,
            switches: (after.switches - before.switches) as f64 / n as f64,
        }
    }
}

#[derive(Clone, Copy)]
struct Sample {
    rate: f64,
    user: f64,
    sys: f64,
    total: f64,
    switches: f64,
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    let mid = values.len() / 2;
    if values.len() % 2 == 1 {
        values[mid]
    } else {
        (values[mid - 1] + values[mid]) / 2.0
    }
}

fn env_number(name: &str, default: usize) -> usize {
    match std::env::var(name) {
        Ok(text) => text.trim().parse().unwrap_or_else(|_| panic!("{name} must be a number, not `{text}`")),
        Err(_) => default,
    }
}

fn main() {
    // `cargo bench` passes `--bench`; `cargo test --benches` does not: a quick smoke run then.
    let benching = std::env::args().any(|a| a == "--bench");
    let small_calls = env_number("DOUDIAN_BENCH_CALLS", if benching { 20_000 } else { 200 }).max(10);
    let large_calls = (small_calls / 10).max(1);
    let rounds = env_number("DOUDIAN_BENCH_ROUNDS", if benching { 5 } else { 1 }).max(1);
    let runtimes = std::env::var("DOUDIAN_BENCH_RUNTIMES")
        .unwrap_or_else(|_| "current_thread,multi_thread,multi_thread_spawned".into());

    let mock = Mock::start();
    let subjects: Vec<Subject> =
        runtimes.split(',').map(str::trim).filter(|s| !s.is_empty()).map(|name| Subject::new(name, &mock)).collect();
    let cases: Vec<Case> = match std::env::var("DOUDIAN_BENCH_CASES").as_deref() {
        Ok("small") => vec![Case::Small],
        Ok("large") => vec![Case::Large],
        Ok("small,large") | Err(_) => vec![Case::Small, Case::Large],
        Ok(other) => panic!("DOUDIAN_BENCH_CASES: `small`, `large` or `small,large`, not `{other}`"),
    };
    println!(
        "cpu_per_call: {} cores, {rounds} rounds of {small_calls} small / {large_calls} large sequential calls, \
         gateway in a separate process ({})",
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        mock.settings["DOUDIAN_BASE_URL"],
    );
    // Warm-up: token, connection, allocator, caches.
    for subject in &subjects {
        for &case in &cases {
            let n = if case == Case::Small { (small_calls / 10).max(20) } else { (large_calls / 5).max(5) };
            subject.run(case, n);
        }
    }
    // samples[case][subject] = one sample per round; the order of the runtimes alternates.
    let mut samples = vec![vec![Vec::new(); subjects.len()]; cases.len()];
    for round in 0..rounds {
        for (c, &case) in cases.iter().enumerate() {
            let n = if case == Case::Small { small_calls } else { large_calls };
            let mut order: Vec<usize> = (0..subjects.len()).collect();
            if round % 2 == 1 {
                order.reverse();
            }
            for s in order {
                samples[c][s].push(subjects[s].measure(case, n));
            }
        }
    }

    println!();
    println!("| case | runtime | calls/s | user µs/call | sys µs/call | CPU µs/call | ctx switches/call |");
    println!("| --- | --- | ---: | ---: | ---: | ---: | ---: |");
    for (c, &case) in cases.iter().enumerate() {
        for (s, subject) in subjects.iter().enumerate() {
            let of = |f: fn(&Sample) -> f64| median(samples[c][s].iter().map(f).collect());
            println!(
                "| {} | {} | {:.0} | {:.1} | {:.1} | {:.1} | {:.2} |",
                case.name(),
                subject.name,
                of(|x| x.rate),
                of(|x| x.user),
                of(|x| x.sys),
                of(|x| x.total),
                of(|x| x.switches),
            );
        }
    }
    println!();
    println!(
        "Medians over {rounds} rounds; the user/sys split is the kernel's tick sampling. For scale, the issue's \
         figures from another machine (compare only figures measured on one machine): official Go SDK \
         {GO_SMALL_US} µs small / {GO_LARGE_US} µs large CPU per sequential call, PyPI doudian {PYPI_SMALL_US} µs \
         small; the goal is 1/3 of Go's on small replies."
    );
    if rounds > 1 {
        println!();
        println!("Per round, CPU µs/call (user+sys):");
        for (c, &case) in cases.iter().enumerate() {
            for (s, subject) in subjects.iter().enumerate() {
                let all: Vec<String> = samples[c][s].iter().map(|x| format!("{:.1}", x.total)).collect();
                println!("  {} / {}: {}", case.name(), subject.name, all.join(" "));
            }
        }
    }
}
