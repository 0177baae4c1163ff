//! The one handler that serves every `POST /{method path}`: the body within its size and
//! time limits, faults, authentication, the method, and the reply in the envelope.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::{ConnectInfo, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode, Uri};
use axum::response::Response;

use crate::auth::{authenticate, Refusal};
use crate::counters::bump;
use crate::envelope::{self, ApiFailure, CODE_SUCCESS};
use crate::faults::Fault;
use crate::listener::{dropped, Connection};
use crate::methods::{is_known, run};
use crate::query::Query;
use crate::state::Inner;

/// `/order/searchList` -> `order.searchList` (leading slashes tolerated, as GO sends `//`).
pub(crate) fn method_from_path(path: &str) -> String {
    path.trim_start_matches('/').trim_end_matches('/').replace('/', ".")
}

fn json_response(status: StatusCode, log_id: &str, body: impl Into<Body>) -> Response {
    let mut response = Response::new(body.into());
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json;charset=utf-8"));
    if let Ok(value) = HeaderValue::from_str(log_id) {
        headers.insert("x-tt-logid", value);
    }
    response
}

/// Reads the whole body within the gateway's size and time limits; a refusal otherwise,
/// in the platform's envelope (413 too large, 408 too slow, 400 broken).
async fn read_body(inner: &Inner, log_id: &str, body: Body) -> Result<axum::body::Bytes, Response> {
    let limits = &inner.config.limits;
    let refuse = |status: StatusCode, detail: String| {
        let failure = ApiFailure::new(crate::envelope::CODE_INVALID_PARAMETER, "isv.parameter-invalid", detail);
        json_response(status, log_id, envelope::failure(log_id, &failure))
    };
    match tokio::time::timeout(limits.body_timeout, axum::body::to_bytes(body, limits.max_body_bytes)).await {
        Ok(Ok(bytes)) => Ok(bytes),
        Err(_) => Err(refuse(
            StatusCode::REQUEST_TIMEOUT,
            format!("the request body did not arrive within {} s", limits.body_timeout.as_secs_f64()),
        )),
        Ok(Err(e)) if is_length_limit(&e) => Err(refuse(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!("the request body is larger than {} bytes", limits.max_body_bytes),
        )),
        Ok(Err(e)) => Err(refuse(StatusCode::BAD_REQUEST, format!("the request body could not be read: {e}"))),
    }
}

/// Whether a body error is the size limit (its source chain names it).
fn is_length_limit(error: &axum::Error) -> bool {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(error);
    while let Some(e) = source {
        if e.is::<http_body_util::LengthLimitError>() {
            return true;
        }
        source = e.source();
    }
    false
}

pub(crate) async fn handle(
    State(inner): State<Arc<Inner>>,
    ConnectInfo(connection): ConnectInfo<Connection>,
    uri: Uri,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let method = method_from_path(uri.path());
    let log_id = inner.log_ids.next(inner.clock.now_ms());
    let body = match read_body(&inner, &log_id, body).await {
        Ok(body) => body,
        Err(refusal) => return refusal,
    };
    let legacy = envelope::wants_legacy_fields(&headers);
    inner.counters.update(|c| {
        c.requests += 1;
        c.methods.entry(method.clone()).or_default().received += 1;
    });

    let drawn = inner.faults.draw(&method, &inner.rng);
    if !drawn.fired.is_empty() {
        inner.counters.update(|c| drawn.fired.iter().for_each(|name| *c.faults.entry(name).or_default() += 1));
    }
    if !drawn.delay.is_zero() {
        tokio::time::sleep(drawn.delay).await;
    }
    match drawn.before {
        Some(Fault::DropConnection) => return dropped(&connection),
        Some(Fault::HttpStatus(code)) => {
            let status = StatusCode::from_u16(code).unwrap_or(StatusCode::BAD_GATEWAY);
            let mut response = Response::new(Body::from(format!(
                "<html><body><h1>{} {}</h1></body></html>",
                status.as_u16(),
                status.canonical_reason().unwrap_or("Error")
            )));
            *response.status_mut() = status;
            response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("text/html"));
            return response;
        }
        Some(Fault::RateLimit) => {
            let failure = ApiFailure::traffic_limited();
            return failure_reply(&inner, &method, &log_id, &failure, &drawn.after, legacy, &connection);
        }
        Some(Fault::ServiceBusy) => {
            let failure = ApiFailure::service_busy();
            return failure_reply(&inner, &method, &log_id, &failure, &drawn.after, legacy, &connection);
        }
        _ => {}
    }

    let query = Query::parse(uri.query());
    let host = crate::listener::request_host(inner.config.addr, &uri, &headers);
    // The sign covers the name as sent; another spelling of a method's name (`afterSale.Operate`)
    // is charged and run as the method itself.
    let canonical = doudian_sdk::catalog::find(&method).map_or(method.as_str(), |m| m.name);
    let outcome = authenticate(&inner, &method, &query, &body, is_known(&method)).and_then(|call| {
        // The method's quota: after authentication (only the app's own calls are charged
        // to it) and before the method runs (a throttled call changes nothing); quota.rs
        // says why there.
        inner.quotas.admit(canonical).map_err(|qps| {
            inner.counters.update(|c| bump(&mut c.throttled, canonical));
            (ApiFailure::traffic_limited_at(canonical, qps), Refusal::Other)
        })?;
        run(&inner, canonical, call, &host).map_err(|f| (f, Refusal::Other))
    });
    match outcome {
        Ok(done) => {
            inner.counters.update(|c| {
                c.methods.entry(method.clone()).or_default().succeeded += 1;
                c.count_code(&method, CODE_SUCCESS);
            });
            if !done.pushes.is_empty() {
                inner.spawn_webhook_push(done.pushes);
            }
            let mut text = envelope::success(&log_id, &done.data);
            if legacy {
                envelope::add_legacy_fields(&mut text, CODE_SUCCESS, "success");
            }
            finish(&log_id, text, &drawn.after, &connection)
        }
        Err((failure, refusal)) => {
            inner.counters.update(|c| match refusal {
                Refusal::Signature => c.signature_failures += 1,
                Refusal::Timestamp => c.timestamp_failures += 1,
                Refusal::Token => c.token_failures += 1,
                Refusal::Other => {}
            });
            failure_reply(&inner, &method, &log_id, &failure, &drawn.after, legacy, &connection)
        }
    }
}

fn failure_reply(
    inner: &Inner,
    method: &str,
    log_id: &str,
    failure: &ApiFailure,
    after: &[Fault],
    legacy: bool,
    connection: &Connection,
) -> Response {
    debug_assert_ne!(failure.code, CODE_SUCCESS);
    inner.counters.update(|c| {
        c.methods.entry(method.to_owned()).or_default().failed += 1;
        c.count_code(method, failure.code);
    });
    let mut text = envelope::failure(log_id, failure);
    if legacy {
        envelope::add_legacy_fields(&mut text, failure.code, &failure.msg);
    }
    finish(log_id, text, after, connection)
}

/// Applies the after-processing faults to the reply text and builds the response.
fn finish(log_id: &str, mut text: String, after: &[Fault], connection: &Connection) -> Response {
    let mut truncate = false;
    for fault in after {
        match fault {
            Fault::DropAfterProcessing => return dropped(connection),
            Fault::IdsAsStrings => text = ids_as_strings(&text),
            Fault::Oversized(size) => pad(&mut text, *size),
            Fault::MalformedJson => text = text.replacen("\"code\":", "\"code\"=", 1),
            Fault::TruncatedJson => truncate = true,
            _ => {}
        }
    }
    if truncate {
        let mut bytes = text.into_bytes();
        bytes.truncate(bytes.len() / 2);
        return json_response(StatusCode::OK, log_id, bytes);
    }
    json_response(StatusCode::OK, log_id, text)
}

/// Pads the envelope with a `_padding` field until it is at least `size` bytes.
fn pad(text: &mut String, size: usize) {
    const FIELD: &str = ",\"_padding\":\"\"}";
    if text.len() + FIELD.len() >= size || !text.ends_with('}') {
        return;
    }
    // The closing brace is replaced, not added: one more byte of fill.
    let fill = size - text.len() - FIELD.len() + 1;
    text.pop();
    text.reserve(FIELD.len() + fill);
    text.push_str(",\"_padding\":\"");
    text.extend(std::iter::repeat_n('x', fill));
    text.push_str("\"}");
}

/// Rewrites integer `id` / `*_id` fields inside `data` as strings.
fn ids_as_strings(text: &str) -> String {
    fn walk(value: &mut serde_json::Value) {
        match value {
            serde_json::Value::Object(map) => {
                for (key, item) in map.iter_mut() {
                    let is_id = key == "id" || key.ends_with("_id") || key.ends_with("_ids");
                    match item {
                        serde_json::Value::Number(n) if is_id && (n.is_i64() || n.is_u64()) => {
                            *item = serde_json::Value::String(n.to_string());
                        }
                        serde_json::Value::Array(items) if is_id => {
                            for element in items.iter_mut() {
                                if let serde_json::Value::Number(n) = element {
                                    *element = serde_json::Value::String(n.to_string());
                                }
                            }
                        }
                        other => walk(other),
                    }
                }
            }
            serde_json::Value::Array(items) => items.iter_mut().for_each(walk),
            _ => {}
        }
    }
    let Ok(mut envelope) = serde_json::from_str::<serde_json::Value>(text) else {
        return text.to_owned();
    };
    if let Some(data) = envelope.get_mut("data") {
        walk(data);
    }
    envelope.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_to_methods() {
        assert_eq!(method_from_path("/order/searchList"), "order.searchList");
        assert_eq!(method_from_path("//order/searchList"), "order.searchList");
        assert_eq!(method_from_path("/sendHome/order/acceptOrder"), "sendHome.order.acceptOrder");
    }

    #[test]
    fn id_rewrite_only_touches_integer_ids_in_data() {
        let text = r#"{"code":10000,"data":{"id":1,"order_id":"2","shop_id":3,"price":4,"list":[{"sku_id":5}],"s_ids":[6]},"log_id":"x"}"#;
        let out: serde_json::Value = serde_json::from_str(&ids_as_strings(text)).unwrap();
        assert_eq!(out["code"], 10000);
        assert_eq!(out["data"]["id"], "1");
        assert_eq!(out["data"]["order_id"], "2");
        assert_eq!(out["data"]["shop_id"], "3");
        assert_eq!(out["data"]["price"], 4);
        assert_eq!(out["data"]["list"][0]["sku_id"], "5");
        assert_eq!(out["data"]["s_ids"][0], "6");
    }

    #[test]
    fn padding_reaches_the_size_and_stays_json() {
        let mut text = r#"{"code":10000}"#.to_owned();
        pad(&mut text, 1000);
        assert_eq!(text.len(), 1000);
        let v: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(v["code"], 10000);
    }
}
