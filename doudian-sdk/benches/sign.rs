//! Signing cost of a typical `order.searchList` call: canonical serialisation plus the
//! digest, compared with the digest alone.
//!
//! `cargo bench -p doudian-sdk --bench sign -- --warm-up-time 1 --measurement-time 3`

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use doudian_sdk::sign::{canonical_param_json, digest, sign, sign_string, to_canonical_json, SignMethod, Signer};
use doudian_sdk::AppSecret;
use serde::Serialize;

const APP_KEY: &str = "7012345678901234567";
const SECRET: &str = "9f8e7d6c-5b4a-4321-8fed-cba987654321";
const TIMESTAMP: &str = "1700000000";

/// Mirrors the spec's `order.searchList` parameters, fields in wire-name byte order and
/// `None` skipped, as the generated request declares them (hand-written here on purpose).
#[derive(Serialize)]
struct CombineStatusItem {
    #[serde(skip_serializing_if = "Option::is_none")]
    main_status: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    order_status: Option<String>,
}

#[derive(Serialize, Default)]
struct OrderSearchListRequest {
    #[serde(skip_serializing_if = "Option::is_none")]
    abnormal_order: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    after_sale_status_desc: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    b_type: Option<i64>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    combine_status: Vec<CombineStatusItem>,
    #[serde(skip_serializing_if = "Option::is_none")]
    create_time_end: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    create_time_start: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    fulfil_status: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    is_searchable: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    order_asc: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    order_by: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    order_type: Option<i64>,
    page: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    presell_type: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    product: Option<String>,
    size: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    tracking_no: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    trade_type: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    update_time_end: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    update_time_start: Option<i64>,
}

/// The same parameters in the Java SDK's (unsorted) field order: `to_canonical_json` notices
/// and re-canonicalises the text, which is the cost of a hand-written unsorted request.
#[derive(Serialize)]
struct UnsortedOrderSearchList<'a> {
    product: &'a str,
    create_time_start: i64,
    create_time_end: i64,
    combine_status: [UnsortedCombineStatus<'a>; 1],
    size: i64,
    page: i64,
    order_by: &'a str,
    order_asc: bool,
}

#[derive(Serialize)]
struct UnsortedCombineStatus<'a> {
    order_status: &'a str,
    main_status: &'a str,
}

fn typical_request() -> OrderSearchListRequest {
    OrderSearchListRequest {
        combine_status: vec![CombineStatusItem { main_status: Some("103".into()), order_status: Some("2,3".into()) }],
        create_time_end: Some(1_700_064_000),
        create_time_start: Some(1_699_977_600),
        order_asc: Some(false),
        order_by: Some("create_time".into()),
        page: 0,
        size: 20,
        product: Some("3473196049974326153".into()),
        ..Default::default()
    }
}

fn bench_sign(c: &mut Criterion) {
    let request = typical_request();
    let param_json = to_canonical_json(&request).unwrap();
    let message = sign_string(APP_KEY, SECRET, "order.searchList", &param_json, TIMESTAMP);
    let hmac_signer = Signer::new(APP_KEY, AppSecret::new(SECRET), SignMethod::HmacSha256);
    let md5_signer = Signer::new(APP_KEY, AppSecret::new(SECRET), SignMethod::Md5);
    let unsorted_text = serde_json::to_string_pretty(&serde_json::json!({
        "size": 20, "page": 0, "product": "3473196049974326153",
        "create_time_start": 1699977600, "create_time_end": 1700064000,
        "order_by": "create_time", "order_asc": false,
        "combine_status": [{"order_status": "2,3", "main_status": "103"}],
    }))
    .unwrap();

    let unsorted = UnsortedOrderSearchList {
        product: "3473196049974326153",
        create_time_start: 1_699_977_600,
        create_time_end: 1_700_064_000,
        combine_status: [UnsortedCombineStatus { order_status: "2,3", main_status: "103" }],
        size: 20,
        page: 0,
        order_by: "create_time",
        order_asc: false,
    };
    assert_eq!(to_canonical_json(&unsorted).unwrap(), param_json);

    let mut group = c.benchmark_group("order.searchList");
    group.throughput(Throughput::Elements(1));
    group.bench_function("canonical (typed)", |b| b.iter(|| to_canonical_json(black_box(&request)).unwrap()));
    group.bench_function("canonical (typed, unsorted fields: fallback)", |b| {
        b.iter(|| to_canonical_json(black_box(&unsorted)).unwrap())
    });
    group.bench_function("canonical (typed) + hmac-sha256, Signer", |b| {
        b.iter(|| {
            let pj = to_canonical_json(black_box(&request)).unwrap();
            hmac_signer.sign("order.searchList", &pj, TIMESTAMP)
        })
    });
    group.bench_function("canonical (typed) + hmac-sha256, sign()", |b| {
        b.iter(|| {
            let pj = to_canonical_json(black_box(&request)).unwrap();
            sign(SignMethod::HmacSha256, APP_KEY, SECRET, "order.searchList", &pj, TIMESTAMP)
        })
    });
    group.bench_function("canonical (typed) + md5, Signer", |b| {
        b.iter(|| {
            let pj = to_canonical_json(black_box(&request)).unwrap();
            md5_signer.sign("order.searchList", &pj, TIMESTAMP)
        })
    });
    group.bench_function("hmac-sha256 alone, Signer", |b| {
        b.iter(|| hmac_signer.sign("order.searchList", black_box(&param_json), TIMESTAMP))
    });
    group.bench_function("hmac-sha256 alone, digest() of the sign string", |b| {
        b.iter(|| digest(SignMethod::HmacSha256, SECRET, black_box(&message)))
    });
    group.bench_function("md5 alone, digest() of the sign string", |b| {
        b.iter(|| digest(SignMethod::Md5, SECRET, black_box(&message)))
    });
    group.bench_function("canonical_param_json (sorted compact text)", |b| {
        b.iter(|| canonical_param_json(black_box(&param_json)).unwrap())
    });
    group.bench_function("canonical_param_json (unsorted pretty text)", |b| {
        b.iter(|| canonical_param_json(black_box(&unsorted_text)).unwrap())
    });
    group.bench_function("serde_json::to_string (reference, no checks)", |b| {
        b.iter(|| serde_json::to_string(black_box(&request)).unwrap())
    });
    group.finish();
    eprintln!("param_json ({} bytes): {param_json}", param_json.len());
}

criterion_group!(benches, bench_sign);
criterion_main!(benches);
