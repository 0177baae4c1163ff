//! The tables of a run.

use crate::driver::{Plan, Sample};

/// The reference figures of the issue (another machine): CPU µs per sequential call of
/// other clients.
const GO_SMALL_US: f64 = 58.8;
const GO_LARGE_US: f64 = 1_834.0;
const PYPI_SMALL_US: f64 = 706.0;

/// Prints the medians per (case, runtime, build), the ratios to the baseline and to
/// current_thread, and the raw figures. `subjects[s]` = (runtime, index into `labels`),
/// `samples[case][subject]` one sample per round, `measured` the (round, case, subject)
/// in the order measured.
pub fn print(
    plan: &Plan,
    labels: &[&str],
    subjects: &[(String, usize)],
    samples: &[Vec<Vec<Sample>>],
    measured: &[(usize, usize, usize)],
) {
    let label = |b: usize| labels[b];
    let has_baseline = labels.len() > 1;
    println!();
    println!(
        "| case | runtime | build | calls/s | user µs/call | sys µs/call | CPU µs/call | ctx switches/call | peak RSS MiB \
         |{}",
        if has_baseline { " CPU ÷ baseline | peak RSS ÷ baseline |" } else { "" }
    );
    println!(
        "| --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |{}",
        if has_baseline { " ---: | ---: |" } else { "" }
    );
    for (c, &case) in plan.cases.iter().enumerate() {
        for (s, (runtime, b)) in subjects.iter().enumerate() {
            let of = |f: fn(&Sample) -> f64| median(samples[c][s].iter().map(f));
            let mut row = format!(
                "| {} | {} | {} | {} | {} | {} | {} | {} | {} |",
                case.name(plan.in_flight),
                runtime,
                label(*b),
                figure(of(|x| x.rate), 0),
                figure(of(|x| x.user), 1),
                figure(of(|x| x.sys), 1),
                figure(of(|x| x.total), 1),
                figure(of(|x| x.switches), 2),
                figure(of(|x| mib(x.peak_rss_kib)), 1),
            );
            if has_baseline {
                // The baseline of this runtime: the subject beside it with build 1.
                let base = subjects.iter().position(|(r, b)| r == runtime && *b == 1);
                match (b, base) {
                    (0, Some(base)) => {
                        let per_round = |f: fn(&Sample) -> f64| {
                            median(samples[c][s].iter().zip(&samples[c][base]).map(|(x, y)| f(x) / f(y)))
                        };
                        row +=
                            &format!(" {} | {} |", ratio(per_round(|x| x.total)), ratio(per_round(|x| x.peak_rss_kib)));
                    }
                    _ => row += " | |",
                }
            }
            println!("{row}");
        }
    }

    // Each runtime against current_thread within a build (issue 20: at most 1.2× for `multi_thread`).
    let others: Vec<&String> = plan.runtimes.iter().filter(|r| *r != "current_thread").collect();
    if plan.runtimes.iter().any(|r| r == "current_thread") && !others.is_empty() {
        println!();
        println!("CPU µs/call of each runtime ÷ current_thread's, within a build (median of the per-round ratios):");
        println!();
        println!("| case | build |{}", others.iter().map(|r| format!(" {r} ÷ current_thread |")).collect::<String>());
        println!("| --- | --- |{}", " ---: |".repeat(others.len()));
        for (c, &case) in plan.cases.iter().enumerate() {
            for b in 0..labels.len() {
                let find = |runtime: &str| subjects.iter().position(|(r, sb)| r == runtime && *sb == b);
                let Some(ct) = find("current_thread") else { continue };
                let cells: String = others
                    .iter()
                    .map(|runtime| {
                        let s = find(runtime).expect("every runtime has a worker per build");
                        let per_round = samples[c][s].iter().zip(&samples[c][ct]).map(|(x, y)| x.total / y.total);
                        format!(" {} |", ratio(median(per_round)))
                    })
                    .collect();
                println!("| {} | {} |{cells}", case.name(plan.in_flight), label(b));
            }
        }
    }

    println!();
    println!(
        "Medians over {} rounds; CPU is this build's or the baseline's worker process alone; the user/sys split is the \
         kernel's tick sampling; peak RSS is the worker's VmHWM during the command. For scale, the issue's figures from \
         another machine (compare only figures measured on one machine): official Go SDK {GO_SMALL_US} µs small / \
         {GO_LARGE_US} µs large CPU per sequential call, PyPI doudian {PYPI_SMALL_US} µs small.",
        plan.rounds
    );
    if samples.iter().flatten().flatten().any(|x| !x.peak_reset) {
        println!(
            "Note: the kernel refused to reset VmHWM (/proc/self/clear_refs); peak RSS is each worker's peak so far."
        );
    }
    if plan.benching || plan.rounds > 1 {
        println!();
        println!("Per round, in the order measured:");
        println!();
        println!(
            "| round | case | runtime | build | calls/s | user µs | sys µs | CPU µs/call | ctx/call | peak RSS MiB |"
        );
        println!("| ---: | --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |");
        for &(round, c, s) in measured {
            let (runtime, b) = &subjects[s];
            let x = samples[c][s][round];
            println!(
                "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
                round + 1,
                plan.cases[c].name(plan.in_flight),
                runtime,
                label(*b),
                figure(x.rate, 0),
                figure(x.user, 1),
                figure(x.sys, 1),
                figure(x.total, 1),
                figure(x.switches, 2),
                figure(mib(x.peak_rss_kib), 1),
            );
        }
    }
}

fn median(values: impl IntoIterator<Item = f64>) -> f64 {
    let mut values: Vec<f64> = values.into_iter().filter(|v| v.is_finite()).collect();
    if values.is_empty() {
        return f64::NAN;
    }
    values.sort_by(f64::total_cmp);
    let mid = values.len() / 2;
    if values.len() % 2 == 1 {
        values[mid]
    } else {
        (values[mid - 1] + values[mid]) / 2.0
    }
}

/// A figure for a table: `n/a` when unknown.
fn figure(value: f64, decimals: usize) -> String {
    if value.is_finite() {
        format!("{value:.decimals$}")
    } else {
        "n/a".into()
    }
}

fn ratio(value: f64) -> String {
    if value.is_finite() {
        format!("{value:.2}×")
    } else {
        "n/a".into()
    }
}

fn mib(kib: f64) -> f64 {
    kib / 1024.0
}
