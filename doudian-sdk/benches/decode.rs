//! Decoding a 100-order `order.searchList` reply: the SDK's typed path (envelope check +
//! lenient typed decode) against serde_json into `Value`, side by side in one run.
//!
//! After criterion's group, the envelope's cost: typed decode of the reply with its
//! envelope (`decode_reply`) against the typed decode of its `data` alone, in interleaved
//! rounds (the order alternates), with the medians and the median of the per-round ratios
//! printed (issue 20 asks for a ratio of at least 0.9).
//!
//! Run: `cargo bench -p doudian-sdk --bench decode --features order`
//! (`DOUDIAN_BENCH_ROUNDS`: rounds of the envelope's cost, default 15).

use std::time::{Duration, Instant};

use criterion::{criterion_group, BatchSize, Criterion, Throughput};
use doudian_sdk::api::order::OrderSearchListResponse;
use doudian_sdk::client::decode_reply;

/// A reply with 100 orders, each the spec's fully populated sample with its own ids.
fn hundred_order_reply() -> Vec<u8> {
    let samples: serde_json::Value =
        serde_json::from_str(include_str!("../../doudian-gateway/data/samples.json")).expect("samples.json is JSON");
    let mut data = samples["order.searchList"]["response"].clone();
    let order = data["shop_order_list"][0].clone();
    let orders: Vec<serde_json::Value> = (0..100u64)
        .map(|i| {
            let mut order = order.clone();
            order["order_id"] = serde_json::Value::String(format!("{}", 6_921_349_872_346_712_345u64 + i));
            order["shop_id"] = serde_json::json!(4_463_798);
            order
        })
        .collect();
    data["shop_order_list"] = serde_json::Value::Array(orders);
    data["total"] = serde_json::json!(100);
    let envelope = serde_json::json!({
        "code": 10000, "msg": "success", "sub_code": "", "sub_msg": "",
        "log_id": "202611281200000102030405060708", "data": data,
    });
    serde_json::to_vec(&envelope).expect("encodes")
}

fn decode(c: &mut Criterion) {
    let body = hundred_order_reply();
    let mut group = c.benchmark_group("order.searchList 100 orders");
    group.throughput(Throughput::Bytes(body.len() as u64));
    group.bench_function("sdk typed (envelope + data)", |b| {
        b.iter_batched(
            || body.clone(),
            |body| decode_reply::<OrderSearchListResponse>("order.searchList", body).expect("decodes"),
            BatchSize::SmallInput,
        )
    });
    let data = data_alone(&body);
    group.bench_function("typed data alone (no envelope)", |b| {
        b.iter(|| doudian_sdk::de::from_slice::<OrderSearchListResponse>(&data).expect("decodes"))
    });
    group.bench_function("serde_json Value", |b| {
        b.iter(|| serde_json::from_slice::<serde_json::Value>(&body).expect("decodes"))
    });
    group.bench_function("clone of the body (subtracted cost)", |b| b.iter(|| body.clone()));
    group.finish();
}

/// The reply's `data`, as the bytes a decode of the data alone reads.
fn data_alone(body: &[u8]) -> Vec<u8> {
    let reply: serde_json::Value = serde_json::from_slice(body).expect("the reply is JSON");
    serde_json::to_vec(&reply["data"]).expect("encodes")
}

/// One round of one side, in MiB/s of the reply's bytes (as criterion's group counts both
/// sides: the ratio is that of the times).
fn throughput(bytes: usize, decodes: usize, elapsed: Duration) -> f64 {
    (bytes * decodes) as f64 / (1024.0 * 1024.0) / elapsed.as_secs_f64()
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

/// The envelope's cost: typed decode with the envelope against the data alone, interleaved.
fn envelope_cost(benching: bool) {
    let body = hundred_order_reply();
    let data = data_alone(&body);
    let rounds: usize = match std::env::var("DOUDIAN_BENCH_ROUNDS") {
        Ok(text) => {
            text.trim().parse().unwrap_or_else(|_| panic!("DOUDIAN_BENCH_ROUNDS must be a number, not `{text}`"))
        }
        Err(_) if benching => 15,
        Err(_) => 1,
    };
    // ~4 ms per decode of 1 MB on the project's machine: ~80 ms per side and round.
    let decodes = if benching { 20 } else { 1 };
    let (mut with_envelope, mut alone) = (Vec::new(), Vec::new());
    for round in 0..rounds.max(1) {
        let mut measure_envelope = || {
            // The bodies are owned by `decode_reply`: cloned before the clock starts.
            let bodies: Vec<Vec<u8>> = (0..decodes).map(|_| body.clone()).collect();
            let started = Instant::now();
            for body in bodies {
                std::hint::black_box(
                    decode_reply::<OrderSearchListResponse>("order.searchList", body).expect("decodes"),
                );
            }
            with_envelope.push(throughput(body.len(), decodes, started.elapsed()));
        };
        let mut measure_alone = || {
            let started = Instant::now();
            for _ in 0..decodes {
                std::hint::black_box(
                    doudian_sdk::de::from_slice::<OrderSearchListResponse>(std::hint::black_box(&data))
                        .expect("decodes"),
                );
            }
            alone.push(throughput(body.len(), decodes, started.elapsed()));
        };
        if round % 2 == 0 {
            measure_envelope();
            measure_alone();
        } else {
            measure_alone();
            measure_envelope();
        }
    }
    let ratios: Vec<f64> = with_envelope.iter().zip(&alone).map(|(e, a)| e / a).collect();
    println!();
    println!(
        "envelope's cost, {} rounds of {decodes} decodes each side (reply {} bytes, data alone {} bytes):",
        rounds.max(1),
        body.len(),
        data.len()
    );
    println!("  typed decode with the envelope (decode_reply): {:.1} MiB/s", median(with_envelope.clone()));
    println!("  typed decode of the data alone:                {:.1} MiB/s", median(alone.clone()));
    println!(
        "  with envelope / data alone: {:.2}× (median of the per-round ratios; issue 20: at least 0.9×)",
        median(ratios.clone())
    );
    let per_round: Vec<String> = ratios.iter().map(|r| format!("{r:.2}")).collect();
    println!("  per round: {}", per_round.join(" "));
}

criterion_group!(benches, decode);

fn main() {
    // As `criterion_main!`, then the envelope's cost. `cargo bench` passes `--bench`; under
    // `cargo test --benches` criterion runs each function once and this runs one round.
    benches();
    Criterion::default().configure_from_args().final_summary();
    envelope_cost(std::env::args().any(|a| a == "--bench"));
}
