//! The `metrics` feature: every answer recorded through the `metrics` facade (names and
//! labels in the [parent module](super#metrics)).

use std::sync::Once;

use metrics::{counter, describe_counter, describe_histogram, histogram, SharedString, Unit};

use super::{Answer, CallObserver, Outcome};
use crate::error::{DecodeStage, TransportKind};

const CALLS: &str = "doudian_calls_total";
const ERRORS: &str = "doudian_call_errors_total";
const DURATION: &str = "doudian_call_duration_seconds";

/// Records calls, errors by code and latency per method. Every client has one when the
/// feature is on.
pub(crate) struct Metrics;

impl CallObserver for Metrics {
    fn answer(&self, answer: &Answer<'_>) {
        static DESCRIBED: Once = Once::new();
        DESCRIBED.call_once(describe);
        let method = SharedString::from(answer.method.to_owned());
        counter!(CALLS, "method" => method.clone(), "outcome" => outcome_label(&answer.outcome)).increment(1);
        if let Some((code, sub_code)) = error_labels(&answer.outcome) {
            counter!(ERRORS, "method" => method.clone(), "code" => code, "sub_code" => sub_code).increment(1);
        }
        histogram!(DURATION, "method" => method).record(answer.latency.as_secs_f64());
    }
}

/// The help texts, given to whichever recorder is installed when the first answer comes.
fn describe() {
    describe_counter!(CALLS, "Doudian API attempts answered or failed, by method and outcome");
    describe_counter!(ERRORS, "Doudian API attempts that failed, by method, code and sub_code");
    describe_histogram!(DURATION, Unit::Seconds, "Doudian API attempt latency, by method");
}

fn outcome_label(outcome: &Outcome<'_>) -> &'static str {
    match outcome {
        Outcome::Success => "success",
        Outcome::Api { .. } => "api_error",
        Outcome::Transport(_) => "transport_error",
        Outcome::Decode(_) => "decode_error",
        Outcome::Other => "other_error",
    }
}

/// The `code` and `sub_code` labels of a failure; `None` for a success.
fn error_labels(outcome: &Outcome<'_>) -> Option<(SharedString, SharedString)> {
    let labels = match *outcome {
        Outcome::Success => return None,
        Outcome::Api { code, sub_code } => (code.to_string().into(), sub_code.to_owned().into()),
        Outcome::Transport(kind) => ("transport".into(), transport_label(kind)),
        Outcome::Decode(stage) => ("decode".into(), decode_label(stage).into()),
        Outcome::Other => ("other".into(), "".into()),
    };
    Some(labels)
}

fn transport_label(kind: TransportKind) -> SharedString {
    match kind {
        TransportKind::Connect => "connect".into(),
        TransportKind::Timeout => "timeout".into(),
        TransportKind::Io => "io".into(),
        TransportKind::Status(status) => format!("http_{status}").into(),
        TransportKind::BodyTooLarge { .. } => "body_too_large".into(),
    }
}

fn decode_label(stage: DecodeStage) -> &'static str {
    match stage {
        DecodeStage::Envelope => "envelope",
        DecodeStage::Data => "data",
        DecodeStage::Message => "message",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use metrics_util::debugging::{DebugValue, DebuggingRecorder};
    use metrics_util::MetricKind;
    use std::time::Duration;

    fn answer(method: &str, outcome: Outcome<'static>, millis: u64) -> Answer<'static> {
        let method: &'static str = Box::leak(method.to_owned().into_boxed_str());
        let latency = Duration::from_millis(millis);
        let throttled = matches!(outcome, Outcome::Api { code: 60000, .. });
        Answer { method, attempt: 1, latency, paced: Duration::ZERO, outcome, throttled, bytes: 0, log_id: "" }
    }

    /// (kind, name, labels as `k=v` sorted) -> value, from the recorder's snapshot.
    fn snapshot(recorder: &DebuggingRecorder) -> Vec<(MetricKind, String, Vec<String>, DebugValue)> {
        let mut rows: Vec<_> = recorder
            .snapshotter()
            .snapshot()
            .into_vec()
            .into_iter()
            .map(|(key, _, _, value)| {
                let (kind, key) = key.into_parts();
                let mut labels: Vec<String> = key.labels().map(|l| format!("{}={}", l.key(), l.value())).collect();
                labels.sort();
                (kind, key.name().to_owned(), labels, value)
            })
            .collect();
        rows.sort_by(|a, b| (&a.1, &a.2).cmp(&(&b.1, &b.2)));
        rows
    }

    #[test]
    fn answers_are_counted_by_outcome_and_code_with_latency_per_method() {
        let recorder = DebuggingRecorder::new();
        metrics::with_local_recorder(&recorder, || {
            let metrics = Metrics;
            metrics.answer(&answer("order.searchList", Outcome::Success, 20));
            metrics.answer(&answer("order.searchList", Outcome::Success, 40));
            metrics.answer(&answer(
                "order.searchList",
                Outcome::Api { code: 60000, sub_code: "isv.traffic-limited" },
                5,
            ));
            metrics.answer(&answer("order.logisticsAdd", Outcome::Transport(TransportKind::Status(503)), 7));
            metrics.answer(&answer("order.logisticsAdd", Outcome::Decode(DecodeStage::Envelope), 9));
        });
        let rows = snapshot(&recorder);
        let counter = |name: &str, labels: &[&str]| {
            rows.iter().find(|(kind, n, l, _)| *kind == MetricKind::Counter && n == name && l == labels).map(
                |(_, _, _, value)| match value {
                    DebugValue::Counter(count) => *count,
                    other => panic!("{other:?}"),
                },
            )
        };
        assert_eq!(counter(CALLS, &["method=order.searchList", "outcome=success"]), Some(2));
        assert_eq!(counter(CALLS, &["method=order.searchList", "outcome=api_error"]), Some(1));
        assert_eq!(counter(CALLS, &["method=order.logisticsAdd", "outcome=transport_error"]), Some(1));
        assert_eq!(counter(CALLS, &["method=order.logisticsAdd", "outcome=decode_error"]), Some(1));
        assert_eq!(
            counter(ERRORS, &["code=60000", "method=order.searchList", "sub_code=isv.traffic-limited"]),
            Some(1)
        );
        assert_eq!(counter(ERRORS, &["code=transport", "method=order.logisticsAdd", "sub_code=http_503"]), Some(1));
        assert_eq!(counter(ERRORS, &["code=decode", "method=order.logisticsAdd", "sub_code=envelope"]), Some(1));
        let errors = rows.iter().filter(|(_, name, _, _)| name == ERRORS).count();
        assert_eq!(errors, 3, "a success is no error: {rows:?}");
        let latencies: Vec<_> = rows
            .iter()
            .filter(|(kind, name, _, _)| *kind == MetricKind::Histogram && name == DURATION)
            .map(|(_, _, labels, value)| match value {
                DebugValue::Histogram(values) => (labels.clone(), values.iter().map(|v| v.into_inner()).collect()),
                other => panic!("{other:?}"),
            })
            .collect::<Vec<(Vec<String>, Vec<f64>)>>();
        assert_eq!(
            latencies,
            [
                (vec!["method=order.logisticsAdd".to_owned()], vec![0.007, 0.009]),
                (vec!["method=order.searchList".to_owned()], vec![0.02, 0.04, 0.005]),
            ]
        );
    }

    #[test]
    fn every_failure_kind_has_its_labels() {
        let kinds = [
            (TransportKind::Connect, "connect"),
            (TransportKind::Timeout, "timeout"),
            (TransportKind::Io, "io"),
            (TransportKind::Status(429), "http_429"),
            (TransportKind::BodyTooLarge { limit: 1 }, "body_too_large"),
        ];
        for (kind, label) in kinds {
            assert_eq!(transport_label(kind), SharedString::from(label));
        }
        assert_eq!(decode_label(DecodeStage::Data), "data");
        assert_eq!(decode_label(DecodeStage::Message), "message");
        assert_eq!(error_labels(&Outcome::Other), Some(("other".into(), "".into())));
        assert_eq!(outcome_label(&Outcome::Other), "other_error");
        assert_eq!(error_labels(&Outcome::Success), None);
    }
}
