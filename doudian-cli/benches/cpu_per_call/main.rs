//! CPU per call of the SDK's client, this build beside a baseline commit in one run:
//! `Client::execute` calls against `doudian mock` running as a separate process, so only
//! the client's CPU is counted.
//!
//! The executable is a driver or a worker. The driver starts the mock and one worker
//! process per (build, runtime): this same executable with `DOUDIAN_BENCH_WORKER=<runtime>`
//! for this build, and the executable built from the baseline commit (its tree with this
//! file as its bench, so both builds run this harness). A worker builds one runtime and one
//! client, warms up, then answers commands on stdin, one line each (see [`worker`]), with
//! its own measurement: on-CPU µs per call split into user and system time (see
//! `worker::usage`), context switches per call, calls/s and its peak RSS during the command
//! (VmHWM, reset before each command; the allocator keeps what earlier commands freed, so
//! a worker's peak after its first in-flight round includes that round's memory). CPU and
//! memory are therefore those of one subject alone.
//!
//! Cases (`DOUDIAN_BENCH_CASES`):
//! * `small`: sequential `shop.brandList` calls (a small reply);
//! * `large`: sequential `order.searchList` with page size 20 (20 full orders, ~120 KB; the
//!   mock's shop holds 45);
//! * `in_flight`: the same large call with `DOUDIAN_BENCH_IN_FLIGHT` calls in flight at
//!   once (its peak RSS is the memory of that many replies in flight).
//!
//! Runtimes (`DOUDIAN_BENCH_RUNTIMES`):
//! * `current_thread`: a current-thread runtime;
//! * `multi_thread`: the default multi-thread runtime (one worker per core) driven as
//!   `#[tokio::main]` drives it: the calls run in `block_on`, on the main thread;
//! * `multi_thread_spawned`: the same runtime with the calls in one spawned task;
//! * also `multi_thread_spawn_each` (each call in a task of its own, awaited from
//!   `block_on`) and `multi_thread_1` (one worker thread, calls in `block_on`).
//!
//! In flight, each runtime runs its calls where it runs the sequential ones (the calls
//! joined in `block_on`, joined in one spawned task, or each in a task of its own).
//!
//! Each round runs every case on every subject, in an order that alternates between
//! rounds; the tables show the medians of the rounds, the ratio of this build to the
//! baseline (the median of the per-round ratios), the ratio of each runtime to
//! `current_thread` within each build, and every round's raw figures.
//!
//! Files: `worker.rs` (one subject and its measurement), `driver.rs` (the mock, the
//! workers, the rounds), `baseline.rs` (the baseline's tree and build), `report.rs` (the
//! tables).
//!
//! Run: `cargo bench -p doudian-cli --bench cpu_per_call`. The first run with a baseline
//! exports and builds it (a release build of its workspace, several minutes); later runs
//! reuse it.
//!
//! Environment:
//! * `DOUDIAN_BENCH_CALLS`: calls per round of the small case (default 20000); the large
//!   and in-flight cases make a tenth of them (the in-flight case rounded up to a multiple
//!   of the calls in flight).
//! * `DOUDIAN_BENCH_ROUNDS`: rounds (default 5).
//! * `DOUDIAN_BENCH_CASES`: comma-separated, of `small`, `large`, `in_flight` (default all).
//! * `DOUDIAN_BENCH_IN_FLIGHT`: calls in flight in the `in_flight` case (default 32).
//! * `DOUDIAN_BENCH_RUNTIMES`: comma-separated (default
//!   `current_thread,multi_thread,multi_thread_spawned`).
//! * `DOUDIAN_BENCH_BASELINE`: the commit measured beside this build (default `7208b62`;
//!   `none` for this build alone). Its tree is exported with `git archive` into
//!   `<target dir>/bench-baseline/<commit>/` and built with `cargo bench --no-run` into
//!   `<target dir>/bench-baseline/target/`. If that fails, the bench fails.
//!
//! Under `cargo test` (no `--bench` argument) it runs one short round of this build alone
//! as a smoke test (a baseline only if `DOUDIAN_BENCH_BASELINE` names one); any failed call
//! fails it.

mod baseline;
mod driver;
mod report;
mod worker;

/// Set on a worker process: the runtime it measures.
const WORKER_ENV: &str = "DOUDIAN_BENCH_WORKER";
/// Set on a worker process: the commands it runs as its warm-up, separated by `;`.
const WARMUP_ENV: &str = "DOUDIAN_BENCH_WORKER_WARMUP";
/// The mock's settings handed to a worker, as `doudian mock` prints them.
const MOCK_SETTINGS: [&str; 4] = ["DOUDIAN_APP_KEY", "DOUDIAN_APP_SECRET", "DOUDIAN_BASE_URL", "DOUDIAN_SHOP_ID"];

fn main() {
    let outcome = match std::env::var(WORKER_ENV) {
        Ok(runtime) => worker::serve(&runtime),
        Err(_) => driver::run(),
    };
    if let Err(message) = outcome {
        eprintln!("cpu_per_call: {message}");
        std::process::exit(1);
    }
}
