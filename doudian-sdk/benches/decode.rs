//! Decoding a 100-order `order.searchList` reply: the SDK's typed path (envelope check +
//! lenient typed decode) against serde_json into `Value`, side by side in one run.
//!
//! Run: `cargo bench -p doudian-sdk --bench decode --features order`

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
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
    let data = serde_json::to_vec(&serde_json::from_slice::<serde_json::Value>(&body).unwrap()["data"]).unwrap();
    group.bench_function("typed data alone (no envelope)", |b| {
        b.iter(|| doudian_sdk::de::from_slice::<OrderSearchListResponse>(&data).expect("decodes"))
    });
    group.bench_function("serde_json Value", |b| {
        b.iter(|| serde_json::from_slice::<serde_json::Value>(&body).expect("decodes"))
    });
    group.bench_function("clone of the body (subtracted cost)", |b| b.iter(|| body.clone()));
    group.finish();
}

criterion_group!(benches, decode);
criterion_main!(benches);
