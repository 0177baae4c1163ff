//! Call observers against the gateway: every attempt of a retried call heard with what came
//! back, an observer that panics breaks nothing, and the `metrics` feature records calls,
//! errors and latency per method through the `metrics` facade.

use std::sync::{Arc, Mutex};

use doudian_gateway::{Fault, FaultRule};
use doudian_sdk::api::order::OrderSearchListRequest;
use doudian_sdk::api::shop::ShopBrandListRequest;
use doudian_sdk::error::TransportKind;
use doudian_sdk::observe::{Answer, Attempt, CallObserver, Outcome};
use e2e_tests::*;
use metrics_util::debugging::{DebugValue, DebuggingRecorder};
use metrics_util::MetricKind;

const SEARCH: &str = "order.searchList";
const BRANDS: &str = "shop.brandList";

/// One event an observer heard, owned.
#[derive(Debug, Clone, PartialEq)]
enum Heard {
    Attempt { method: String, attempt: u32 },
    Answer { method: String, attempt: u32, outcome: String, throttled: bool, bytes: usize, log_id: String },
}

/// Keeps every event.
#[derive(Default)]
struct Recording(Mutex<Vec<Heard>>);

impl Recording {
    fn of(&self, method: &str) -> Vec<Heard> {
        let events = self.0.lock().unwrap();
        events
            .iter()
            .filter(|event| match event {
                Heard::Attempt { method: m, .. } | Heard::Answer { method: m, .. } => m == method,
            })
            .cloned()
            .collect()
    }
}

impl CallObserver for Recording {
    fn attempt(&self, attempt: &Attempt<'_>) {
        let event = Heard::Attempt { method: attempt.method.to_owned(), attempt: attempt.attempt };
        self.0.lock().unwrap().push(event);
    }

    fn answer(&self, answer: &Answer<'_>) {
        self.0.lock().unwrap().push(Heard::Answer {
            method: answer.method.to_owned(),
            attempt: answer.attempt,
            outcome: format!("{:?}", answer.outcome),
            throttled: answer.throttled,
            bytes: answer.bytes,
            log_id: answer.log_id.to_owned(),
        });
    }
}

/// Panics on every event.
struct Panicking;

impl CallObserver for Panicking {
    fn attempt(&self, _: &Attempt<'_>) {
        panic!("an observer's bug");
    }
    fn answer(&self, _: &Answer<'_>) {
        panic!("an observer's bug");
    }
}

#[tokio::test]
async fn the_observer_hears_every_attempt_of_a_retried_call() {
    let gw = gateway().await;
    let recording = Arc::new(Recording::default());
    let client = client_builder(&gw).retry(fast_retry(3)).observer(recording.clone()).build().unwrap();
    client.token().await.unwrap();
    // First throttled, then a 503, then answered.
    gw.inject(FaultRule::new(Fault::RateLimit).for_method(SEARCH).times(1));
    gw.inject(FaultRule::new(Fault::HttpStatus(503)).for_method(SEARCH).times(1));
    let page = client.page(&OrderSearchListRequest::new(0, 5)).await.unwrap();
    assert_eq!(page.items.len(), 5);
    assert_eq!(gw.calls(SEARCH), 3);

    let heard = recording.of(SEARCH);
    assert_eq!(heard.len(), 6, "{heard:#?}");
    let attempts: Vec<_> = heard.iter().step_by(2).cloned().collect();
    let expected: Vec<_> = (1..=3).map(|attempt| Heard::Attempt { method: SEARCH.into(), attempt }).collect();
    assert_eq!(attempts, expected, "each attempt is heard before its answer");
    let answers: Vec<_> = heard
        .iter()
        .skip(1)
        .step_by(2)
        .map(|event| match event {
            Heard::Answer { attempt, outcome, throttled, .. } => (*attempt, outcome.as_str(), *throttled),
            other => panic!("{other:?}"),
        })
        .collect();
    let throttled = format!("{:?}", Outcome::Api { code: 60000, sub_code: "isv.traffic-limited" });
    let unavailable = format!("{:?}", Outcome::Transport(TransportKind::Status(503)));
    assert_eq!(answers, [(1, throttled.as_str(), true), (2, unavailable.as_str(), false), (3, "Success", false)]);
    let Heard::Answer { bytes, log_id, .. } = &heard[5] else { unreachable!() };
    assert!(*bytes > 100 && !log_id.is_empty(), "the answer's size and log id: {bytes} {log_id}");
    // The token call the client made on its own is heard too.
    assert_eq!(recording.of("token.create").len(), 2);
}

#[tokio::test]
async fn a_panicking_observer_breaks_no_call() {
    let gw = gateway().await;
    let recording = Arc::new(Recording::default());
    let client = client_builder(&gw).observer(Panicking).observer(recording.clone()).build().unwrap();
    for _ in 0..2 {
        client.execute(&ShopBrandListRequest::new()).await.expect("the call goes on");
    }
    // The observer after the panicking one still hears everything, on both calls.
    let heard = recording.of(BRANDS);
    assert_eq!(heard.len(), 4, "{heard:#?}");
    assert!(matches!(&heard[3], Heard::Answer { outcome, .. } if outcome == "Success"));
}

/// (name, sorted `key=value` labels) -> counter value, or the histogram's sample count.
fn snapshot(recorder: &DebuggingRecorder) -> Vec<(MetricKind, String, Vec<String>, u64)> {
    let mut rows: Vec<_> = recorder
        .snapshotter()
        .snapshot()
        .into_vec()
        .into_iter()
        .map(|(key, _, _, value)| {
            let (kind, key) = key.into_parts();
            let mut labels: Vec<String> = key.labels().map(|l| format!("{}={}", l.key(), l.value())).collect();
            labels.sort();
            let value = match value {
                DebugValue::Counter(count) => count,
                DebugValue::Histogram(samples) => {
                    assert!(samples.iter().all(|s| s.into_inner() >= 0.0 && s.into_inner().is_finite()));
                    samples.len() as u64
                }
                DebugValue::Gauge(_) => panic!("no gauges are recorded"),
            };
            (kind, key.name().to_owned(), labels, value)
        })
        .collect();
    rows.sort();
    rows
}

fn row(kind: MetricKind, name: &str, labels: &[&str], value: u64) -> (MetricKind, String, Vec<String>, u64) {
    (kind, name.to_owned(), labels.iter().map(|l| l.to_string()).collect(), value)
}

// The recorder is installed on this test's thread only: a current-thread runtime keeps
// the client's calls (and so its observer) on it.
#[tokio::test(flavor = "current_thread")]
async fn metrics_record_calls_errors_and_latency_per_method() {
    let recorder = DebuggingRecorder::new();
    let _local = metrics::set_default_local_recorder(&recorder);
    let gw = gateway().await;
    let client = client_builder(&gw).retry(fast_retry(3)).build().unwrap();
    gw.inject(FaultRule::new(Fault::RateLimit).for_method(SEARCH).times(1));
    client.page(&OrderSearchListRequest::new(0, 5)).await.unwrap();
    client.page(&OrderSearchListRequest::new(1, 5)).await.unwrap();
    client.execute(&ShopBrandListRequest::new()).await.unwrap();

    use MetricKind::{Counter, Histogram};
    let calls = "doudian_calls_total";
    let errors = "doudian_call_errors_total";
    let duration = "doudian_call_duration_seconds";
    let mut expected = vec![
        row(Counter, calls, &["method=order.searchList", "outcome=api_error"], 1),
        row(Counter, calls, &["method=order.searchList", "outcome=success"], 2),
        row(Counter, calls, &["method=shop.brandList", "outcome=success"], 1),
        row(Counter, calls, &["method=token.create", "outcome=success"], 1),
        row(Counter, errors, &["code=60000", "method=order.searchList", "sub_code=isv.traffic-limited"], 1),
        row(Histogram, duration, &["method=order.searchList"], 3),
        row(Histogram, duration, &["method=shop.brandList"], 1),
        row(Histogram, duration, &["method=token.create"], 1),
    ];
    expected.sort();
    assert_eq!(snapshot(&recorder), expected);
}
