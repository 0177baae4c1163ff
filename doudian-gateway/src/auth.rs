//! Everything the platform checks before it runs a method (PROTOCOL.md §1–4): app key,
//! `method`, `v`, `timestamp` (three forms, within a skew window), `sign` by md5 or
//! hmac-sha256 over the *re-canonicalised* param_json, and the access token.

use doudian_sdk::sign::{canonical_param_json, sign, sign_string_masked, signed_forms};
use doudian_sdk::SignMethod;
use serde_json::Value;

use crate::envelope::{ApiFailure, CODE_INVALID_PARAMETER, CODE_MISSING_PARAMETER};
use crate::query::Query;
use crate::state::Inner;
use crate::time::{parse_request_timestamp, system_now_ms};
use crate::tokens::Grant;

/// Methods that need no access token.
pub(crate) fn is_token_method(method: &str) -> bool {
    matches!(method, "token.create" | "token.refresh")
}

/// A call that passed the checks.
pub(crate) struct Authenticated {
    /// The parsed parameters.
    pub(crate) params: Value,
    /// Whom the access token belongs to (None for token methods).
    pub(crate) grant: Option<Grant>,
}

/// Why a check failed, for the counters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Refusal {
    Signature,
    Timestamp,
    Token,
    Other,
}

fn invalid(sub_code: &str, sub_msg: impl Into<String>) -> ApiFailure {
    ApiFailure::new(CODE_INVALID_PARAMETER, sub_code, sub_msg)
}

fn missing(sub_code: &str, sub_msg: impl Into<String>) -> ApiFailure {
    ApiFailure::new(CODE_MISSING_PARAMETER, sub_code, sub_msg)
}

/// Whether `received` signs the call: over the standard canonical text first (what nearly
/// every caller sends), then over every other form an official SDK signs (Java's gson
/// escaping, Go's HTML escaping, Python's, PHP's), then — with `lenient_sign` — over the
/// body exactly as received.
fn sign_matches(
    inner: &Inner,
    sign_method: SignMethod,
    method: &str,
    text: &str,
    canonical: &str,
    timestamp: &str,
    received: &str,
) -> bool {
    let config = &inner.config;
    let signs = |param_json: &str| {
        received.eq_ignore_ascii_case(&sign(
            sign_method,
            &config.app_key,
            &config.app_secret,
            method,
            param_json,
            timestamp,
        ))
    };
    if signs(canonical) {
        return true;
    }
    let forms = signed_forms(text).unwrap_or_default();
    if forms.iter().skip(1).any(|(_, form)| signs(form)) {
        return true;
    }
    config.lenient_sign && signs(text)
}

/// `text` cut to at most `limit` bytes (at a character boundary), marked when cut.
fn shortened(text: &str, limit: usize) -> String {
    if text.len() <= limit {
        return text.to_owned();
    }
    let mut end = limit;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}… ({} bytes in all)", &text[..end], text.len())
}

/// Runs the checks in the platform's order; `known` says whether the method exists.
pub(crate) fn authenticate(
    inner: &Inner,
    method: &str,
    query: &Query,
    body: &[u8],
    known: bool,
) -> Result<Authenticated, (ApiFailure, Refusal)> {
    let other = |f: ApiFailure| (f, Refusal::Other);
    let config = &inner.config;

    let app_key = query.non_empty("app_key").ok_or_else(|| other(missing("isv.app-id-missing", "missing app_key")))?;
    if app_key != config.app_key {
        return Err(other(invalid("isv.app-id-invalid", format!("unknown app_key `{app_key}`"))));
    }
    if let Some(named) = query.non_empty("method") {
        if named != method {
            return Err(other(ApiFailure::parameter_invalid(format!(
                "the method query parameter `{named}` does not match the path (method `{method}`)"
            ))));
        }
    }
    match query.non_empty("v") {
        None => return Err(other(ApiFailure::parameter_missing("v"))),
        Some("2") => {}
        Some(v) => return Err(other(ApiFailure::parameter_invalid(format!("v must be 2, got `{v}`")))),
    }

    let timestamp = query.non_empty("timestamp").ok_or_else(|| other(ApiFailure::parameter_missing("timestamp")))?;
    let sent_ms = parse_request_timestamp(timestamp).map_err(|_| {
        (
            invalid(
                "isv.timestamp-format-error",
                format!(
                    "timestamp `{timestamp}` is not Unix seconds, Unix milliseconds or `yyyy-MM-dd HH:mm:ss` (GMT+8)"
                ),
            ),
            Refusal::Timestamp,
        )
    })?;
    let skew = system_now_ms().abs_diff(sent_ms);
    if skew > config.timestamp_skew_ms {
        return Err((
            invalid(
                "isv.timestamp-invalid",
                format!(
                    "timestamp `{timestamp}` is {}s away from the gateway clock (allowed {}s)",
                    skew / 1000,
                    config.timestamp_skew_ms / 1000
                ),
            ),
            Refusal::Timestamp,
        ));
    }

    let received_sign =
        query.non_empty("sign").ok_or_else(|| other(missing("isv.signature-missing", "missing sign")))?;
    let sign_method = match query.non_empty("sign_method") {
        None => SignMethod::Md5,
        Some(text) => text.parse::<SignMethod>().map_err(|_| {
            other(ApiFailure::parameter_invalid(format!("sign_method must be md5 or hmac-sha256, got `{text}`")))
        })?,
    };

    // The body is param_json; the legacy style carries it in the query instead.
    let text = match (body.is_empty(), query.get("param_json")) {
        (true, Some(from_query)) => from_query,
        _ => std::str::from_utf8(body)
            .map_err(|_| other(invalid("isv.parameter-format-invalid", "the body (param_json) is not UTF-8")))?,
    };
    let canonical = canonical_param_json(text)
        .map_err(|e| other(invalid("isv.parameter-format-invalid", format!("param_json is not a JSON object: {e}"))))?;
    if !sign_matches(inner, sign_method, method, text, &canonical, timestamp, received_sign) {
        let masked = sign_string_masked(&config.app_key, method, &canonical, timestamp);
        return Err((
            invalid(
                "isv.signature-invalid",
                format!(
                    "sign does not match ({sign_method}); expected it over the canonical param_json, \
                     i.e. over the string {} (*** = app_secret)",
                    shortened(&masked, 600)
                ),
            ),
            Refusal::Signature,
        ));
    }

    if !known {
        return Err(other(ApiFailure::new(
            crate::envelope::CODE_API_OFF,
            "isp.api-service-off",
            format!("method `{method}` does not exist or is offline"),
        )));
    }

    let grant = if is_token_method(method) {
        None
    } else {
        let token = query
            .non_empty("access_token")
            .ok_or_else(|| (missing("isv.access-token-missing", "missing access_token"), Refusal::Token))?;
        let now = inner.clock.now_ms();
        let tokens = inner.tokens.lock().unwrap_or_else(|e| e.into_inner());
        Some(tokens.check_access(token, now).map_err(|f| (f, Refusal::Token))?.clone())
    };

    let params: Value = serde_json::from_str(&canonical)
        .map_err(|e| other(invalid("isv.parameter-format-invalid", format!("param_json: {e}"))))?;
    Ok(Authenticated { params, grant })
}
