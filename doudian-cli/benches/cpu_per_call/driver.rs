//! The driver: the mock, one worker process per (runtime, build), the interleaved rounds.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, BufWriter, Write};
use std::path::Path;
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};

use crate::{baseline, report, MOCK_SETTINGS, WARMUP_ENV, WORKER_ENV};

/// The commit before the transport rewrite of issue 20.
const DEFAULT_BASELINE: &str = "7208b62";

/// `doudian mock` as a child process, killed on drop.
struct Mock {
    child: Child,
    settings: BTreeMap<String, String>,
}

impl Mock {
    fn start() -> Result<Mock, String> {
        let mut child = Command::new(env!("CARGO_BIN_EXE_doudian"))
            .args(["mock", "--port", "0"])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("doudian mock does not start: {e}"))?;
        let mut settings = BTreeMap::new();
        let stdout = child.stdout.take().ok_or("doudian mock: no stdout")?;
        let mut lines = BufReader::new(stdout).lines();
        while !MOCK_SETTINGS.iter().all(|name| settings.contains_key(*name)) {
            let line = match lines.next() {
                Some(Ok(line)) => line,
                _ => {
                    let _ = child.kill();
                    let _ = child.wait();
                    return Err("doudian mock ended before printing its settings".into());
                }
            };
            if let Some((name, value)) = line.split_once('=') {
                settings.insert(name.to_owned(), value.to_owned());
            }
        }
        // Whatever it prints later must not fill the pipe.
        std::thread::spawn(move || lines.for_each(drop));
        Ok(Mock { child, settings })
    }
}

impl Drop for Mock {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A worker process as the driver sees it; killed on drop.
struct Worker {
    /// `<runtime> / <build>`, for messages.
    name: String,
    child: Child,
    stdin: BufWriter<ChildStdin>,
    stdout: BufReader<ChildStdout>,
}

impl Worker {
    fn start(executable: &Path, runtime: &str, build: &str, mock: &Mock, warmup: &str) -> Result<Worker, String> {
        let name = format!("{runtime} / {build}");
        let mut command = Command::new(executable);
        command.env(WORKER_ENV, runtime).env(WARMUP_ENV, warmup);
        for setting in MOCK_SETTINGS {
            command.env(setting, &mock.settings[setting]);
        }
        let mut child = command
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .map_err(|e| format!("worker {name} ({}) does not start: {e}", executable.display()))?;
        let (stdin, stdout) = (child.stdin.take(), child.stdout.take());
        let mut worker = Worker {
            name,
            child,
            stdin: BufWriter::new(stdin.ok_or("a worker without stdin")?),
            stdout: BufReader::new(stdout.ok_or("a worker without stdout")?),
        };
        match worker.read_line()?.as_str() {
            "ready" => Ok(worker),
            other => Err(format!("worker {}: {}", worker.name, other.strip_prefix("error ").unwrap_or(other))),
        }
    }

    fn read_line(&mut self) -> Result<String, String> {
        let mut line = String::new();
        match self.stdout.read_line(&mut line) {
            Ok(0) => Err(format!("worker {} ended without an answer ({})", self.name, exit_status(&mut self.child))),
            Ok(_) => Ok(line.trim_end().to_owned()),
            Err(e) => Err(format!("worker {}: {e}", self.name)),
        }
    }

    /// Runs one command in the worker and reads its figures.
    fn measure(&mut self, command: &str) -> Result<Sample, String> {
        writeln!(self.stdin, "run {command}")
            .and_then(|()| self.stdin.flush())
            .map_err(|e| format!("worker {}: {e} ({})", self.name, exit_status(&mut self.child)))?;
        let line = self.read_line()?;
        if let Some(message) = line.strip_prefix("error ") {
            return Err(format!("worker {}, `{command}`: {message}", self.name));
        }
        Sample::parse(&line).map_err(|e| format!("worker {}, `{command}`: {e}", self.name))
    }
}

fn exit_status(child: &mut Child) -> String {
    match child.wait() {
        Ok(status) => format!("{status}"),
        Err(e) => format!("exit status unknown: {e}"),
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        let _ = writeln!(self.stdin, "quit").and_then(|()| self.stdin.flush());
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One worker's figures for one command.
#[derive(Clone, Copy)]
pub struct Sample {
    pub rate: f64,
    pub user: f64,
    pub sys: f64,
    pub total: f64,
    pub switches: f64,
    pub peak_rss_kib: f64,
    /// Whether the peak is that of the command alone (the kernel reset it).
    pub peak_reset: bool,
}

impl Sample {
    fn parse(line: &str) -> Result<Sample, String> {
        let fields: BTreeMap<&str, &str> = line
            .strip_prefix("ok ")
            .ok_or(format!("an answer neither `ok` nor `error`: `{line}`"))?
            .split_whitespace()
            .filter_map(|field| field.split_once('='))
            .collect();
        let number = |key: &str| -> Result<f64, String> {
            fields.get(key).and_then(|v| v.parse().ok()).ok_or(format!("no number `{key}` in `{line}`"))
        };
        Ok(Sample {
            rate: number("calls_per_s")?,
            user: number("user_us")?,
            sys: number("sys_us")?,
            total: number("cpu_us")?,
            switches: number("switches")?,
            peak_rss_kib: number("peak_rss_kib")?,
            peak_reset: fields.get("peak_reset") == Some(&"true"),
        })
    }
}

/// A case as the driver runs it.
#[derive(Clone, Copy, PartialEq)]
pub enum DriverCase {
    Small,
    Large,
    InFlight,
}

impl DriverCase {
    pub fn name(self, in_flight: usize) -> String {
        match self {
            DriverCase::Small => "shop.brandList (small)".into(),
            DriverCase::Large => "order.searchList size 20 (large)".into(),
            DriverCase::InFlight => format!("order.searchList size 20, {in_flight} in flight"),
        }
    }
}

/// What the driver runs, from the environment.
pub struct Plan {
    pub benching: bool,
    pub rounds: usize,
    pub cases: Vec<DriverCase>,
    pub runtimes: Vec<String>,
    pub in_flight: usize,
    small_calls: usize,
    large_calls: usize,
    in_flight_calls: usize,
    /// The commit measured beside this build.
    baseline: Option<String>,
}

impl Plan {
    fn from_env() -> Result<Plan, String> {
        // `cargo bench` passes `--bench`; `cargo test --benches` does not: a quick smoke run then.
        let benching = std::env::args().any(|a| a == "--bench");
        let small_calls = env_number("DOUDIAN_BENCH_CALLS", if benching { 20_000 } else { 200 })?.max(10);
        let large_calls = (small_calls / 10).max(1);
        let in_flight = env_number("DOUDIAN_BENCH_IN_FLIGHT", 32)?.max(1);
        let rounds = env_number("DOUDIAN_BENCH_ROUNDS", if benching { 5 } else { 1 })?.max(1);
        let cases = match std::env::var("DOUDIAN_BENCH_CASES") {
            Err(_) => vec![DriverCase::Small, DriverCase::Large, DriverCase::InFlight],
            Ok(text) => list(&text)
                .into_iter()
                .map(|case| match case.as_str() {
                    "small" => Ok(DriverCase::Small),
                    "large" => Ok(DriverCase::Large),
                    "in_flight" => Ok(DriverCase::InFlight),
                    other => Err(format!("DOUDIAN_BENCH_CASES: `{other}` is none of small, large, in_flight")),
                })
                .collect::<Result<_, _>>()?,
        };
        let runtimes = list(
            &std::env::var("DOUDIAN_BENCH_RUNTIMES")
                .unwrap_or_else(|_| "current_thread,multi_thread,multi_thread_spawned".into()),
        );
        let baseline = match std::env::var("DOUDIAN_BENCH_BASELINE") {
            Ok(commit) if commit.trim() == "none" => None,
            Ok(commit) if commit.trim().is_empty() => {
                return Err("DOUDIAN_BENCH_BASELINE is empty (`none` for none)".into())
            }
            Ok(commit) => Some(commit.trim().to_owned()),
            Err(_) => benching.then(|| DEFAULT_BASELINE.to_owned()),
        };
        if cases.is_empty() || runtimes.is_empty() {
            return Err("no case or no runtime to run".into());
        }
        Ok(Plan {
            benching,
            rounds,
            cases,
            runtimes,
            in_flight,
            small_calls,
            large_calls,
            in_flight_calls: large_calls.max(in_flight).div_ceil(in_flight) * in_flight,
            baseline,
        })
    }

    /// The worker command of a case and its warm-up.
    fn command(&self, case: DriverCase) -> (String, String) {
        match case {
            DriverCase::Small => {
                (format!("small {}", self.small_calls), format!("small {}", (self.small_calls / 10).max(20)))
            }
            DriverCase::Large => {
                (format!("large {}", self.large_calls), format!("large {}", (self.large_calls / 5).max(5)))
            }
            DriverCase::InFlight => (
                format!("large {} {}", self.in_flight_calls, self.in_flight),
                format!("large {} {}", self.in_flight, self.in_flight),
            ),
        }
    }
}

fn list(text: &str) -> Vec<String> {
    text.split(',').map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned).collect()
}

fn env_number(name: &str, default: usize) -> Result<usize, String> {
    match std::env::var(name) {
        Ok(text) => text.trim().parse().map_err(|_| format!("{name} must be a number, not `{text}`")),
        Err(_) => Ok(default),
    }
}

/// The driver: the whole run, from the environment.
pub fn run() -> Result<(), String> {
    let plan = Plan::from_env()?;
    // (label, executable) of each build; this build first.
    let mut builds =
        vec![("this build".to_owned(), std::env::current_exe().map_err(|e| format!("this executable's path: {e}"))?)];
    if let Some(commit) = &plan.baseline {
        builds.push((commit.clone(), baseline::prepare(commit)?));
    }
    let mock = Mock::start()?;
    let warmup: Vec<String> = plan.cases.iter().map(|&case| plan.command(case).1).collect();
    // One worker per (runtime, build), the builds of a runtime side by side in the order.
    // subjects[s] = (runtime, index of the build), measured by workers[s].
    let (mut subjects, mut workers) = (Vec::new(), Vec::new());
    for runtime in &plan.runtimes {
        for (b, (label, executable)) in builds.iter().enumerate() {
            workers.push(Worker::start(executable, runtime, label, &mock, &warmup.join(";"))?);
            subjects.push((runtime.clone(), b));
        }
    }
    println!(
        "cpu_per_call: {} cores, {} rounds of {} small / {} large sequential calls and {} large calls {} in flight; \
         builds: {}; gateway in a separate process ({})",
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        plan.rounds,
        plan.small_calls,
        plan.large_calls,
        plan.in_flight_calls,
        plan.in_flight,
        builds.iter().map(|(label, _)| label.as_str()).collect::<Vec<_>>().join(", "),
        mock.settings["DOUDIAN_BASE_URL"],
    );

    // samples[case][subject] = one sample per round.
    let mut samples = vec![vec![Vec::new(); subjects.len()]; plan.cases.len()];
    // (round, case, subject) in the order measured.
    let mut measured = Vec::new();
    for round in 0..plan.rounds {
        for (c, &case) in plan.cases.iter().enumerate() {
            let command = plan.command(case).0;
            let mut order: Vec<usize> = (0..subjects.len()).collect();
            if round % 2 == 1 {
                order.reverse();
            }
            for s in order {
                samples[c][s].push(workers[s].measure(&command)?);
                measured.push((round, c, s));
            }
        }
    }
    drop(workers);

    let labels: Vec<&str> = builds.iter().map(|(label, _)| label.as_str()).collect();
    report::print(&plan, &labels, &subjects, &samples, &measured);
    Ok(())
}
