//! The reply envelope and the platform's error codes (PROTOCOL.md §5).
//!
//! Every reply, success or failure, is `{"code","msg","sub_code","sub_msg","log_id"[,"data"]}`
//! with HTTP 200; `code` 10000 is success. The `msg` texts follow the platform's short
//! Chinese labels per code; `sub_msg` says in English what exactly was wrong, for the
//! developer reading a test failure.

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::time::format_gmt8_compact;

/// Success.
pub const CODE_SUCCESS: i64 = 10000;
/// Service unavailable; retry (`dop.service-error`).
pub const CODE_SERVICE_BUSY: i64 = 20000;
/// A required parameter is missing (`isv.parameter-missing`, `isv.signature-missing`, ...).
pub const CODE_MISSING_PARAMETER: i64 = 40001;
/// A parameter is invalid (`isv.signature-invalid`, `isv.access-token-expired`, ...).
pub const CODE_INVALID_PARAMETER: i64 = 40003;
/// Token generation failed (`dop.token-generate-failed:*`).
pub const CODE_TOKEN_GENERATION_FAILED: i64 = 50001;
/// The business rule rejected the call (`isv.business-failed:*`), e.g. shipping twice.
pub const CODE_BUSINESS_FAILED: i64 = 50002;
/// Rate limited (`isv.traffic-limited`).
pub const CODE_TRAFFIC_LIMITED: i64 = 60000;
/// The API is offline or unknown (`isp.api-service-off`).
pub const CODE_API_OFF: i64 = 70000;

/// A platform error reply: what the gateway answers instead of `data`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiFailure {
    /// Numeric code (40003, 60000, ...).
    pub code: i64,
    /// The short message for the code.
    pub msg: String,
    /// The sub-code (`isv.signature-invalid`, ...).
    pub sub_code: String,
    /// What exactly was wrong.
    pub sub_msg: String,
}

impl fmt::Display for ApiFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {} ({}: {})", self.code, self.msg, self.sub_code, self.sub_msg)
    }
}

impl ApiFailure {
    /// A failure with `code`, its standard message, `sub_code` and `sub_msg`.
    pub fn new(code: i64, sub_code: impl Into<String>, sub_msg: impl Into<String>) -> Self {
        ApiFailure { code, msg: message_for(code).to_owned(), sub_code: sub_code.into(), sub_msg: sub_msg.into() }
    }

    pub(crate) fn parameter_missing(name: &str) -> Self {
        Self::new(CODE_MISSING_PARAMETER, "isv.parameter-missing", format!("missing required parameter `{name}`"))
    }

    pub(crate) fn parameter_invalid(detail: impl Into<String>) -> Self {
        Self::new(CODE_INVALID_PARAMETER, "isv.parameter-invalid", detail)
    }

    pub(crate) fn business(reason: &str, detail: impl Into<String>) -> Self {
        Self::new(CODE_BUSINESS_FAILED, format!("isv.business-failed:{reason}"), detail)
    }

    pub(crate) fn token_generation(reason: &str, detail: impl Into<String>) -> Self {
        Self::new(CODE_TOKEN_GENERATION_FAILED, format!("dop.token-generate-failed:{reason}"), detail)
    }

    pub(crate) fn traffic_limited() -> Self {
        Self::new(CODE_TRAFFIC_LIMITED, "isv.traffic-limited", "too many calls; slow down and retry")
    }

    /// Over a method's quota (`GatewayBuilder::method_qps`).
    pub(crate) fn traffic_limited_at(method: &str, calls_per_second: u32) -> Self {
        Self::new(
            CODE_TRAFFIC_LIMITED,
            "isv.traffic-limited",
            format!("{method} is limited to {calls_per_second} calls a second for this app; slow down and retry"),
        )
    }

    pub(crate) fn service_busy() -> Self {
        Self::new(CODE_SERVICE_BUSY, "dop.service-error", "the service is busy; retry later")
    }
}

/// The platform's short message per code.
pub fn message_for(code: i64) -> &'static str {
    match code {
        CODE_SUCCESS => "success",
        CODE_SERVICE_BUSY => "服务不可用",
        30001 => "无权限",
        CODE_MISSING_PARAMETER => "缺少必选参数",
        CODE_INVALID_PARAMETER => "非法的参数",
        CODE_TOKEN_GENERATION_FAILED => "生成token失败",
        CODE_BUSINESS_FAILED => "业务处理失败",
        CODE_TRAFFIC_LIMITED => "调用频率超限",
        CODE_API_OFF => "API已下线",
        _ => "其他错误",
    }
}

/// Hands out log ids: `yyyyMMddHHmmss` (GMT+8) followed by 18 hex digits, unique within a
/// gateway (a counter) and, in practice, across gateways (a random salt).
pub(crate) struct LogIds {
    salt: u64,
    counter: AtomicU64,
}

impl LogIds {
    pub(crate) fn new(salt: u64) -> Self {
        LogIds { salt: salt & 0x0fff_ffff_0000_0000, counter: AtomicU64::new(1) }
    }

    pub(crate) fn next(&self, now_ms: u64) -> String {
        let n = self.counter.fetch_add(1, Ordering::Relaxed);
        format!("{}{:018x}", format_gmt8_compact(now_ms / 1000), self.salt ^ n)
    }
}

fn push_json_str(out: &mut String, s: &str) {
    // serde_json's string escaping; writing into a String cannot fail.
    out.push_str(&serde_json::to_string(s).unwrap_or_else(|_| "\"\"".to_owned()));
}

/// The success envelope around `data` (already JSON text).
pub(crate) fn success(log_id: &str, data: &str) -> String {
    let mut out = String::with_capacity(data.len() + 96);
    out.push_str(r#"{"code":10000,"data":"#);
    out.push_str(data);
    out.push_str(r#","log_id":"#);
    push_json_str(&mut out, log_id);
    out.push_str(r#","msg":"success","sub_code":"","sub_msg":""}"#);
    out
}

/// The failure envelope (no `data`).
pub(crate) fn failure(log_id: &str, failure: &ApiFailure) -> String {
    let mut out = String::with_capacity(160);
    out.push_str(r#"{"code":"#);
    out.push_str(&failure.code.to_string());
    out.push_str(r#","log_id":"#);
    push_json_str(&mut out, log_id);
    out.push_str(r#","msg":"#);
    push_json_str(&mut out, &failure.msg);
    out.push_str(r#","sub_code":"#);
    push_json_str(&mut out, &failure.sub_code);
    out.push_str(r#","sub_msg":"#);
    push_json_str(&mut out, &failure.sub_msg);
    out.push('}');
    out
}

/// Adds the legacy `err_no` (0 on success, else the code) and `message` fields, which the
/// platform keeps for clients that do not send `x-open-no-old-err-code: 1` (PROTOCOL.md §5).
pub(crate) fn add_legacy_fields(text: &mut String, code: i64, msg: &str) {
    if !text.ends_with('}') {
        return;
    }
    text.pop();
    text.push_str(r#","err_no":"#);
    text.push_str(&(if code == CODE_SUCCESS { 0 } else { code }).to_string());
    text.push_str(r#","message":"#);
    push_json_str(text, msg);
    text.push('}');
}

/// Whether a request asked for the envelope without the legacy fields.
pub(crate) fn wants_legacy_fields(headers: &axum::http::HeaderMap) -> bool {
    headers.get("x-open-no-old-err-code").is_none_or(|value| value.as_bytes().trim_ascii() != b"1")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn envelopes_are_valid_json() {
        let ok: serde_json::Value = serde_json::from_str(&success("L1", r#"{"a":1}"#)).unwrap();
        assert_eq!(ok["code"], 10000);
        assert_eq!(ok["data"]["a"], 1);
        assert_eq!(ok["log_id"], "L1");
        let f = ApiFailure::new(40003, "isv.signature-invalid", "sign \"x\" mismatch");
        let err: serde_json::Value = serde_json::from_str(&failure("L2", &f)).unwrap();
        assert_eq!(err["code"], 40003);
        assert_eq!(err["msg"], "非法的参数");
        assert_eq!(err["sub_code"], "isv.signature-invalid");
        assert_eq!(err["sub_msg"], "sign \"x\" mismatch");
        assert!(err.get("data").is_none());
    }

    #[test]
    fn legacy_fields_for_clients_that_want_them() {
        let mut ok = success("L1", "{}");
        add_legacy_fields(&mut ok, CODE_SUCCESS, "success");
        let ok: serde_json::Value = serde_json::from_str(&ok).unwrap();
        assert_eq!(
            (ok["err_no"].as_i64(), ok["message"].as_str(), ok["code"].as_i64()),
            (Some(0), Some("success"), Some(10000))
        );
        let mut err = failure("L2", &ApiFailure::traffic_limited());
        add_legacy_fields(&mut err, CODE_TRAFFIC_LIMITED, "too fast");
        let err: serde_json::Value = serde_json::from_str(&err).unwrap();
        assert_eq!((err["err_no"].as_i64(), err["message"].as_str()), (Some(60000), Some("too fast")));
        let mut headers = axum::http::HeaderMap::new();
        assert!(wants_legacy_fields(&headers));
        headers.insert("x-open-no-old-err-code", "1".parse().unwrap());
        assert!(!wants_legacy_fields(&headers));
        headers.insert("x-open-no-old-err-code", "0".parse().unwrap());
        assert!(wants_legacy_fields(&headers));
    }

    #[test]
    fn log_ids_are_unique_and_dated() {
        let ids = LogIds::new(0x1234_5678_9abc_def0);
        let a = ids.next(1_700_000_000_000);
        let b = ids.next(1_700_000_000_000);
        assert_ne!(a, b);
        assert!(a.starts_with("20231115061320"), "{a}");
        assert_eq!(a.len(), 32);
    }
}
