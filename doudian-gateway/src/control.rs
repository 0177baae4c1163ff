//! `/_mock/*`: control of a running gateway over HTTP, for tests in other processes and
//! other languages. Answered only to loopback peers; everything else gets a refusal in the
//! platform's envelope.
//!
//! | request | does |
//! | --- | --- |
//! | `GET /_mock/stats` | `{"calls": {"<method>": <requests received>}, "codes": {"<method>": {"<code>": <count>}}, "limits": {"<method>": <calls per second>}, "throttled": {"<method>": <calls refused over the limit>}, ...}` |
//! | `POST /_mock/clock` `{"advance_secs": N}` | moves the gateway's clock (token and code lifetimes, order times) |
//! | `POST /_mock/churn` `{"rate": R, "steps": K, "push_drop": p}` (any of them) | sets the churn rate (changes a second, 0 stops), takes K steps now, sets the share of pushes dropped; answers the settings, `"steps_taken"` (all so far) and the K `"changes"` |
//! | `GET /_mock/churn` | `{"rate": R, "push_drop": p, "steps_taken": N}` |
//! | `GET /_mock/orders` | `{"orders": [{"shop_id", "order_id", "order_status", "update_time"}, …]}`, every order of every shop sorted by shop and order id |
//! | `POST /_mock/webhook` `{"url": "http://…"}` or `{"url": null}` | sets or clears the webhook pushes go to |
//! | `POST /_mock/faults` `{"fault": "rate_limit", "method": "…", "times": N, "fraction": p}` | adds a fault rule, answers `{"id": N}` |
//! | `GET /_mock/faults` | the active rules |
//! | `DELETE /_mock/faults` | removes every rule |
//!
//! Fault names are those of [`Fault::name`]; `http_status` takes `"status"`, `delay` takes
//! `"delay_ms"`, `oversized` takes `"size"` (bytes).

use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{ConnectInfo, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{json, Value};

use crate::churn::{check_rate, check_share, ChurnChange, PushFate};
use crate::envelope::{self, ApiFailure, CODE_INVALID_PARAMETER};
use crate::faults::{Fault, FaultRule};
use crate::listener::Connection;
use crate::state::Inner;

/// A fault rule as JSON.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FaultSpec {
    fault: String,
    method: Option<String>,
    times: Option<u64>,
    fraction: Option<f64>,
    status: Option<u16>,
    delay_ms: Option<u64>,
    size: Option<usize>,
}

impl FaultSpec {
    fn into_rule(self) -> Result<FaultRule, String> {
        let fault = match self.fault.as_str() {
            "rate_limit" => Fault::RateLimit,
            "service_busy" => Fault::ServiceBusy,
            "http_status" => Fault::HttpStatus(self.status.ok_or("`http_status` needs `status`")?),
            "delay" => Fault::Delay(Duration::from_millis(self.delay_ms.ok_or("`delay` needs `delay_ms`")?)),
            "drop_connection" => Fault::DropConnection,
            "drop_after_processing" => Fault::DropAfterProcessing,
            "malformed_json" => Fault::MalformedJson,
            "truncated_json" => Fault::TruncatedJson,
            "ids_as_strings" => Fault::IdsAsStrings,
            "oversized" => Fault::Oversized(self.size.ok_or("`oversized` needs `size`")?),
            other => return Err(format!("unknown fault `{other}`")),
        };
        let mut rule = FaultRule::new(fault);
        if let Some(method) = self.method {
            rule = rule.for_method(method);
        }
        if let Some(times) = self.times {
            rule = rule.times(times);
        }
        if let Some(fraction) = self.fraction {
            rule = rule.fraction(fraction);
        }
        Ok(rule)
    }
}

fn reply(status: StatusCode, body: Value) -> Response {
    let mut response = (status, body.to_string()).into_response();
    response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json;charset=utf-8"));
    response
}

fn refusal(inner: &Inner, status: StatusCode, detail: impl Into<String>) -> Response {
    let log_id = inner.log_ids.next(inner.clock.now_ms());
    let failure = ApiFailure::new(CODE_INVALID_PARAMETER, "isv.parameter-invalid", detail);
    let text = envelope::failure(&log_id, &failure);
    reply(status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

/// The loopback check every control request passes first: the refusal for other peers.
fn refuse_remote(inner: &Inner, connection: &Connection) -> Option<Response> {
    (!connection.peer().ip().is_loopback())
        .then(|| refusal(inner, StatusCode::FORBIDDEN, "the mock control endpoints answer loopback peers only"))
}

/// `GET /_mock/stats`.
pub(crate) async fn stats(
    State(inner): State<Arc<Inner>>,
    ConnectInfo(connection): ConnectInfo<Connection>,
) -> Response {
    if let Some(refused) = refuse_remote(&inner, &connection) {
        return refused;
    }
    let counters = inner.counters.snapshot();
    let calls: serde_json::Map<String, Value> =
        counters.methods.iter().map(|(method, counts)| (method.clone(), json!(counts.received))).collect();
    let codes: serde_json::Map<String, Value> = counters
        .codes
        .iter()
        .map(|(method, codes)| {
            let per_code: serde_json::Map<String, Value> =
                codes.iter().map(|(code, n)| (code.to_string(), json!(n))).collect();
            (method.clone(), Value::Object(per_code))
        })
        .collect();
    reply(
        StatusCode::OK,
        json!({
            "calls": calls,
            "codes": codes,
            "requests": counters.requests,
            "signature_failures": counters.signature_failures,
            "timestamp_failures": counters.timestamp_failures,
            "token_failures": counters.token_failures,
            "tokens_created": counters.tokens_created,
            "refreshes": {
                "same_pair": counters.refreshes.same_pair,
                "rotated": counters.refreshes.rotated,
                "after_expiry": counters.refreshes.after_expiry,
                "refused": counters.refreshes.refused,
            },
            "faults": counters.faults,
            "throttled": counters.throttled,
            "limits": inner.quotas.limits(),
            "shipments": counters.shipments,
            "ship_calls": counters.ship_calls,
            "uploads": {
                "tokens_issued": counters.uploads.tokens_issued,
                "addresses": counters.uploads.addresses,
                "address_refusals": counters.uploads.address_refusals,
                "puts": counters.uploads.puts,
                "stored": counters.uploads.stored,
                "put_refusals": counters.uploads.put_refusals,
                "crc_mismatches": counters.uploads.crc_mismatches,
                "bytes_stored": counters.uploads.bytes_stored,
            },
        }),
    )
}

/// `POST /_mock/clock` with `{"advance_secs": N}`.
pub(crate) async fn clock(
    State(inner): State<Arc<Inner>>,
    ConnectInfo(connection): ConnectInfo<Connection>,
    body: Bytes,
) -> Response {
    if let Some(refused) = refuse_remote(&inner, &connection) {
        return refused;
    }
    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Advance {
        advance_secs: i64,
    }
    match serde_json::from_slice::<Advance>(&body) {
        Ok(advance) => {
            inner.clock.advance_ms(advance.advance_secs.saturating_mul(1000));
            reply(StatusCode::OK, json!({ "now_ms": inner.clock.now_ms() }))
        }
        Err(e) => refusal(&inner, StatusCode::BAD_REQUEST, format!("expected {{\"advance_secs\": N}}: {e}")),
    }
}

/// The largest `steps` one `POST /_mock/churn` takes.
const MAX_STEPS_PER_REQUEST: usize = 1_000_000;

fn churn_settings(inner: &Inner) -> Value {
    json!({
        "rate": inner.churn.rate(),
        "push_drop": inner.churn.push_drop(),
        "steps_taken": inner.churn.steps(),
    })
}

fn change_json(change: &ChurnChange) -> Value {
    let (push, msg_id) = match &change.push {
        PushFate::Sent { msg_id } => ("sent", Some(msg_id)),
        PushFate::Dropped { msg_id } => ("dropped", Some(msg_id)),
        PushFate::NoTarget => ("none", None),
    };
    json!({
        "shop_id": change.shop_id,
        "order_id": change.order_id,
        "from": change.from.map(|s| s.code()),
        "to": change.to.code(),
        "update_time": change.update_time,
        "tag": change.tag,
        "push": push,
        "msg_id": msg_id,
    })
}

/// `GET /_mock/churn`.
pub(crate) async fn churn_status(
    State(inner): State<Arc<Inner>>,
    ConnectInfo(connection): ConnectInfo<Connection>,
) -> Response {
    if let Some(refused) = refuse_remote(&inner, &connection) {
        return refused;
    }
    reply(StatusCode::OK, churn_settings(&inner))
}

/// `POST /_mock/churn` with any of `{"rate": R, "steps": K, "push_drop": p}`.
pub(crate) async fn churn(
    State(inner): State<Arc<Inner>>,
    ConnectInfo(connection): ConnectInfo<Connection>,
    body: Bytes,
) -> Response {
    if let Some(refused) = refuse_remote(&inner, &connection) {
        return refused;
    }
    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct ChurnSpec {
        rate: Option<f64>,
        steps: Option<usize>,
        push_drop: Option<f64>,
    }
    let spec = match serde_json::from_slice::<ChurnSpec>(&body) {
        Ok(spec) if spec.rate.is_some() || spec.steps.is_some() || spec.push_drop.is_some() => spec,
        Ok(_) => return refusal(&inner, StatusCode::BAD_REQUEST, "expected at least one of rate, steps, push_drop"),
        Err(e) => {
            return refusal(
                &inner,
                StatusCode::BAD_REQUEST,
                format!("expected {{\"rate\": R, \"steps\": K, \"push_drop\": p}}: {e}"),
            )
        }
    };
    let checked = (
        spec.rate.map(check_rate).transpose(),
        spec.push_drop.map(check_share).transpose(),
        match spec.steps {
            Some(k) if k > MAX_STEPS_PER_REQUEST => {
                Err(format!("steps is at most {MAX_STEPS_PER_REQUEST} a request, got {k}"))
            }
            other => Ok(other),
        },
    );
    let (rate, push_drop, steps) = match checked {
        (Ok(rate), Ok(push_drop), Ok(steps)) => (rate, push_drop, steps),
        (Err(e), _, _) | (_, Err(e), _) | (_, _, Err(e)) => return refusal(&inner, StatusCode::BAD_REQUEST, e),
    };
    if let Some(share) = push_drop {
        inner.churn.set_push_drop(share);
    }
    let changes = steps.map(|k| inner.churn_steps(k)).unwrap_or_default();
    if let Some(rate) = rate {
        inner.churn.set_rate(rate);
    }
    let mut answer = churn_settings(&inner);
    answer["changes"] = changes.iter().map(change_json).collect();
    reply(StatusCode::OK, answer)
}

/// `GET /_mock/orders`: every order of every shop.
pub(crate) async fn orders(
    State(inner): State<Arc<Inner>>,
    ConnectInfo(connection): ConnectInfo<Connection>,
) -> Response {
    if let Some(refused) = refuse_remote(&inner, &connection) {
        return refused;
    }
    let rows = inner.orders_dump();
    let mut text = String::with_capacity(32 + rows.len() * 96);
    text.push_str(r#"{"orders":["#);
    for (i, row) in rows.iter().enumerate() {
        if i > 0 {
            text.push(',');
        }
        // Order ids are digits only: no escaping needed, but serde keeps it honest.
        let id = serde_json::to_string(&row.order_id).unwrap_or_default();
        let _ = std::fmt::Write::write_fmt(
            &mut text,
            format_args!(
                r#"{{"shop_id":{},"order_id":{id},"order_status":{},"update_time":{}}}"#,
                row.shop_id, row.order_status, row.update_time
            ),
        );
    }
    text.push_str("]}");
    let mut response = (StatusCode::OK, text).into_response();
    response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json;charset=utf-8"));
    response
}

/// `POST /_mock/webhook` with `{"url": "http://…"}` or `{"url": null}`.
pub(crate) async fn webhook(
    State(inner): State<Arc<Inner>>,
    ConnectInfo(connection): ConnectInfo<Connection>,
    body: Bytes,
) -> Response {
    if let Some(refused) = refuse_remote(&inner, &connection) {
        return refused;
    }
    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Target {
        url: Option<String>,
    }
    match serde_json::from_slice::<Target>(&body) {
        Ok(Target { url: Some(url) }) if reqwest::Url::parse(&url).is_err() => {
            refusal(&inner, StatusCode::BAD_REQUEST, format!("`{url}` is not a URL"))
        }
        Ok(Target { url }) => {
            *inner.webhook.lock().unwrap_or_else(|e| e.into_inner()) = url.clone();
            reply(StatusCode::OK, json!({ "url": url }))
        }
        Err(e) => refusal(&inner, StatusCode::BAD_REQUEST, format!("expected {{\"url\": \"http://…\"}}: {e}")),
    }
}

/// `POST /_mock/faults` (add a rule).
pub(crate) async fn add_fault(
    State(inner): State<Arc<Inner>>,
    ConnectInfo(connection): ConnectInfo<Connection>,
    body: Bytes,
) -> Response {
    if let Some(refused) = refuse_remote(&inner, &connection) {
        return refused;
    }
    let rule = serde_json::from_slice::<FaultSpec>(&body).map_err(|e| e.to_string()).and_then(FaultSpec::into_rule);
    match rule {
        Ok(rule) => reply(StatusCode::OK, json!({ "id": inner.faults.add(rule).0 })),
        Err(e) => refusal(&inner, StatusCode::BAD_REQUEST, format!("not a fault rule: {e}")),
    }
}

/// `GET /_mock/faults` (the active rules).
pub(crate) async fn list_faults(
    State(inner): State<Arc<Inner>>,
    ConnectInfo(connection): ConnectInfo<Connection>,
) -> Response {
    if let Some(refused) = refuse_remote(&inner, &connection) {
        return refused;
    }
    let rules: Vec<Value> = inner.faults.active().iter().map(|rule| json!(format!("{rule:?}"))).collect();
    reply(StatusCode::OK, json!({ "rules": rules }))
}

/// `DELETE /_mock/faults` (remove every rule).
pub(crate) async fn clear_faults(
    State(inner): State<Arc<Inner>>,
    ConnectInfo(connection): ConnectInfo<Connection>,
) -> Response {
    if let Some(refused) = refuse_remote(&inner, &connection) {
        return refused;
    }
    inner.faults.clear();
    reply(StatusCode::OK, json!({ "rules": [] }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(text: &str) -> Result<FaultRule, String> {
        serde_json::from_str::<FaultSpec>(text).map_err(|e| e.to_string()).and_then(FaultSpec::into_rule)
    }

    #[test]
    fn fault_rules_from_json() {
        let rule = spec(r#"{"fault":"http_status","status":503,"method":"order.searchList","times":2}"#).unwrap();
        assert_eq!(rule, FaultRule::new(Fault::HttpStatus(503)).for_method("order.searchList").times(2));
        assert_eq!(
            spec(r#"{"fault":"delay","delay_ms":20}"#).unwrap().fault(),
            &Fault::Delay(Duration::from_millis(20))
        );
        assert_eq!(
            spec(r#"{"fault":"rate_limit","fraction":0.5}"#).unwrap(),
            FaultRule::new(Fault::RateLimit).fraction(0.5)
        );
        assert!(spec(r#"{"fault":"http_status"}"#).unwrap_err().contains("needs `status`"));
        assert!(spec(r#"{"fault":"nope"}"#).unwrap_err().contains("unknown fault"));
        assert!(spec(r#"{"fault":"rate_limit","typo":1}"#).is_err());
    }

    #[test]
    fn only_loopback_peers_are_answered() {
        let inner = crate::state::Inner::for_tests();
        assert!(refuse_remote(&inner, &Connection::for_tests("127.0.0.1:5000".parse().unwrap())).is_none());
        assert!(refuse_remote(&inner, &Connection::for_tests("[::1]:5000".parse().unwrap())).is_none());
        let refused = refuse_remote(&inner, &Connection::for_tests("192.0.2.7:5000".parse().unwrap())).unwrap();
        assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    }
}
