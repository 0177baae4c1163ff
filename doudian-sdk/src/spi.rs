//! SPI calls from the platform to the app: verify and reply (PROTOCOL.md §7).
//!
//! The platform calls the app's URL (GET or POST) with the query parameters `app_key`,
//! `timestamp`, `sign`, `sign_v2`, `sign_method` and `param_json` (in the query for GET, the
//! raw body for POST). The signature is the digest (hmac-sha256 keyed with the app secret
//! when `sign_method` is `hmac-sha256`, md5 otherwise) of
//! `secret + "app_key" + key + "param_json" + param_json + "timestamp" + ts + secret`.
//!
//! Which text of `param_json` is signed differs between the official SDKs, so a call is
//! accepted when `sign` **or** `sign_v2` matches any of: the standard canonical form, Go's
//! HTML-escaped form (`< > &` as `\u003c \u003e \u0026`), the Java SDK's gson form
//! (`< > & = '` escaped, UTF-16 key order, its array quirks), and the text exactly as
//! received; an empty `param_json` is tried as both `{}` (Go) and `""` (Java, PHP). Every
//! candidate needs the app secret, so accepting several costs no security. Left out: the
//! `\u0008`/`\u000c` escapes of Go before 1.22 (only strings holding backspace or form feed
//! would differ).
//!
//! Also checked: `app_key` equals this app's, and `timestamp` (Unix seconds, Unix
//! milliseconds, or `yyyy-MM-dd HH:mm:ss` in GMT+8) is within a window of now (5 minutes by
//! default, configurable or off). All digest compares are constant-time.
//!
//! ```rust
//! use doudian_sdk::spi::{sign, SpiParams, SpiReply, SpiVerifier};
//! use doudian_sdk::SignMethod;
//! use std::time::{Duration, UNIX_EPOCH};
//!
//! let verifier = SpiVerifier::new("7012345678901234567", "secret");
//! let now = UNIX_EPOCH + Duration::from_secs(1_700_000_000);
//! let s = sign(SignMethod::Md5, "7012345678901234567", "secret", r#"{"order_id":"1"}"#, "1700000000");
//! let query = format!(
//!     "app_key=7012345678901234567&timestamp=1700000000&sign_method=md5&sign={s}\
//!      &param_json=%7B%22order_id%22%3A%221%22%7D"
//! );
//! let params = SpiParams::from_request(&query, None).unwrap();
//! assert!(verifier.verify_at(&params, now).is_ok());
//! assert_eq!(SpiReply::success(serde_json::json!({"ok": true})).to_json(),
//!            r#"{"code":0,"message":"success","data":{"ok":true}}"#);
//!
//! let mut wrong = params.clone();
//! wrong.sign = Some("0".repeat(32));
//! let error = verifier.verify_at(&wrong, now).unwrap_err();
//! assert_eq!(SpiReply::from_error(&error).code, doudian_sdk::spi::SIGN_FAILED);
//! ```

use std::fmt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::error::{Error, VerifyError};
use crate::push::shortened;
use crate::secret::AppSecret;
use crate::sign::{canonical_variants, digest_parts, hex_signature_matches, hmac_for, HmacSha256, SignMethod};

/// Reply code: success.
pub const SUCCESS: i64 = 0;
/// Reply code: the signature (or app key) did not verify. JAVA and PHP use 100001; the
/// official Go SDK answers 10001 ("验证签名失败") — a disagreement between the SDKs; this
/// crate follows the majority.
pub const SIGN_FAILED: i64 = 100001;
/// Reply code: a parameter is missing or unreadable (PHP's `100002`).
pub const PARAMETER_ERROR: i64 = 100002;
/// Reply code: the app failed while handling the call (PHP's `100003`).
pub const INTERNAL_ERROR: i64 = 100003;

/// The default accepted distance between the call's timestamp and now.
pub const DEFAULT_TIMESTAMP_WINDOW: Duration = Duration::from_secs(5 * 60);

/// The SPI sign string: `secret + "app_key" + key + "param_json" + pj + "timestamp" + ts + secret`.
///
/// ```rust
/// assert_eq!(doudian_sdk::spi::sign_string("k", "S", "{}", "1"), "Sapp_keykparam_json{}timestamp1S");
/// ```
pub fn sign_string(app_key: &str, app_secret: &str, param_json: &str, timestamp: &str) -> String {
    [app_secret, "app_key", app_key, "param_json", param_json, "timestamp", timestamp, app_secret].concat()
}

/// The SPI signature of `param_json` (used as given: pass the canonical text).
///
/// ```rust
/// use doudian_sdk::spi::sign;
/// use doudian_sdk::SignMethod;
///
/// // From doudian-sdk/tests/vectors/sign_vectors.json, case `spi_md5`.
/// assert_eq!(
///     sign(SignMethod::Md5, "7012345678901234567", "9f8e7d6c-5b4a-4321-8fed-cba987654321",
///          r#"{"order_id":"4962389765832389","reason":"缺货","shop_id":4463798}"#, "1700000000"),
///     "c7286a482efe9d6f4384b6cdd2c242a5"
/// );
/// ```
pub fn sign(sign_method: SignMethod, app_key: &str, app_secret: &str, param_json: &str, timestamp: &str) -> String {
    spi_digest(sign_method, app_secret, None, app_key, param_json, timestamp)
}

fn spi_digest(
    sign_method: SignMethod,
    app_secret: &str,
    prepared: Option<&HmacSha256>,
    app_key: &str,
    param_json: &str,
    timestamp: &str,
) -> String {
    let parts: [&[u8]; 8] = [
        app_secret.as_bytes(),
        b"app_key",
        app_key.as_bytes(),
        b"param_json",
        param_json.as_bytes(),
        b"timestamp",
        timestamp.as_bytes(),
        app_secret.as_bytes(),
    ];
    digest_parts(sign_method, app_secret, prepared, &parts)
}

/// The parameters of one SPI call, as received (already percent-decoded).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct SpiParams {
    /// `app_key`.
    pub app_key: Option<String>,
    /// `timestamp`.
    pub timestamp: Option<String>,
    /// `sign`.
    pub sign: Option<String>,
    /// `sign_v2`.
    pub sign_v2: Option<String>,
    /// `sign_method`: `hmac-sha256` selects hmac-sha256, anything else (or nothing) md5.
    pub sign_method: Option<String>,
    /// `param_json`, from the query (GET) or the body (POST).
    pub param_json: Option<String>,
}

impl SpiParams {
    /// Collects the SPI parameters from decoded `(name, value)` pairs (other names ignored,
    /// the first occurrence of a name wins).
    pub fn from_pairs<I, K, V>(pairs: I) -> Self
    where
        I: IntoIterator<Item = (K, V)>,
        K: AsRef<str>,
        V: Into<String>,
    {
        let mut params = SpiParams::default();
        for (name, value) in pairs {
            let slot = match name.as_ref() {
                "app_key" => &mut params.app_key,
                "timestamp" => &mut params.timestamp,
                "sign" => &mut params.sign,
                "sign_v2" => &mut params.sign_v2,
                "sign_method" => &mut params.sign_method,
                "param_json" => &mut params.param_json,
                _ => continue,
            };
            if slot.is_none() {
                *slot = Some(value.into());
            }
        }
        params
    }

    /// Reads a raw URL query string (`a=1&b=%7B%7D`, with or without the leading `?`) and,
    /// for a POST, the body, which then is the `param_json` (an empty body keeps the query's).
    /// A body that is not UTF-8 is a [`VerifyError::Malformed`].
    ///
    /// The query is decoded as a form (`application/x-www-form-urlencoded`, the
    /// `form_urlencoded` crate): `+` is a space, `%XX` a byte, an escape that is not `%`
    /// and two hex digits is kept as written, bytes that are not UTF-8 become U+FFFD.
    pub fn from_request(query: &str, body: Option<&[u8]>) -> Result<Self, Error> {
        let query = query.strip_prefix('?').unwrap_or(query);
        let mut params = SpiParams::from_pairs(form_urlencoded::parse(query.as_bytes()));
        if let Some(body) = body.filter(|b| !b.is_empty()) {
            let text =
                std::str::from_utf8(body).map_err(|_| VerifyError::Malformed("the SPI body is not UTF-8".into()))?;
            params.param_json = Some(text.to_owned());
        }
        Ok(params)
    }
}

/// Verifies SPI calls for one app.
#[derive(Clone)]
pub struct SpiVerifier {
    app_key: String,
    app_secret: AppSecret,
    window: Option<Duration>,
    hmac: HmacSha256,
}

impl fmt::Debug for SpiVerifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SpiVerifier")
            .field("app_key", &self.app_key)
            .field("app_secret", &self.app_secret)
            .field("window", &self.window)
            .finish()
    }
}

impl SpiVerifier {
    /// A verifier with the default timestamp window ([`DEFAULT_TIMESTAMP_WINDOW`]).
    pub fn new(app_key: impl Into<String>, app_secret: impl Into<AppSecret>) -> Self {
        let app_secret = app_secret.into();
        let hmac = hmac_for(app_secret.expose());
        SpiVerifier { app_key: app_key.into(), app_secret, window: Some(DEFAULT_TIMESTAMP_WINDOW), hmac }
    }

    /// Sets the accepted distance between the call's timestamp and now; `None` skips the
    /// timestamp check (the timestamp is still signed).
    pub fn timestamp_window(mut self, window: Option<Duration>) -> Self {
        self.window = window;
        self
    }

    /// Verifies a call against the current time.
    pub fn verify(&self, params: &SpiParams) -> Result<(), Error> {
        self.verify_at(params, SystemTime::now())
    }

    /// Verifies a call as if it arrived at `now`.
    ///
    /// Errors: a missing `app_key` or `timestamp` is [`VerifyError::Malformed`], another
    /// app's key [`VerifyError::WrongAppKey`], no `sign`/`sign_v2`
    /// [`VerifyError::MissingSignature`], an unreadable or out-of-window timestamp
    /// [`VerifyError::StaleTimestamp`], no match [`VerifyError::BadSignature`].
    pub fn verify_at(&self, params: &SpiParams, now: SystemTime) -> Result<(), Error> {
        let app_key = params.app_key.as_deref().ok_or_else(|| VerifyError::Malformed("`app_key` is missing".into()))?;
        if app_key != self.app_key {
            return Err(VerifyError::WrongAppKey(shortened(app_key)).into());
        }
        let received: Vec<&[u8]> = [&params.sign, &params.sign_v2]
            .into_iter()
            .flatten()
            .map(|s| s.as_bytes())
            .filter(|s| !s.is_empty())
            .collect();
        if received.is_empty() {
            return Err(VerifyError::MissingSignature.into());
        }
        let timestamp =
            params.timestamp.as_deref().ok_or_else(|| VerifyError::Malformed("`timestamp` is missing".into()))?;
        if let Some(window) = self.window {
            check_timestamp(timestamp, now, window)?;
        }

        let sign_method = match params.sign_method.as_deref() {
            Some("hmac-sha256") => SignMethod::HmacSha256,
            _ => SignMethod::Md5,
        };
        let prepared = (sign_method == SignMethod::HmacSha256).then_some(&self.hmac);
        let param_json = params.param_json.as_deref().unwrap_or("");
        for candidate in signed_text_candidates(param_json) {
            let expected =
                spi_digest(sign_method, self.app_secret.expose(), prepared, &self.app_key, &candidate, timestamp);
            // Compare against every received value, without stopping early on a match.
            let matched = received.iter().fold(false, |any, r| any | hex_signature_matches(&expected, r));
            if matched {
                return Ok(());
            }
        }
        Err(VerifyError::BadSignature.into())
    }
}

/// Every text of `param_json` that one of the official SDKs signs.
fn signed_text_candidates(param_json: &str) -> Vec<String> {
    if param_json.trim_ascii().is_empty() {
        let mut candidates = vec!["{}".to_owned(), String::new()];
        if !param_json.is_empty() {
            candidates.push(param_json.to_owned());
        }
        return candidates;
    }
    let mut candidates = canonical_variants(param_json).unwrap_or_default();
    if !candidates.iter().any(|c| c == param_json) {
        candidates.push(param_json.to_owned());
    }
    candidates
}

fn check_timestamp(timestamp: &str, now: SystemTime, window: Duration) -> Result<(), Error> {
    let stale = || Error::from(VerifyError::StaleTimestamp(shortened(timestamp)));
    let sent = parse_timestamp(timestamp).ok_or_else(stale)?;
    let now = now.duration_since(UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0);
    let window = i64::try_from(window.as_secs()).unwrap_or(i64::MAX);
    if (now - sent).abs() <= window {
        Ok(())
    } else {
        Err(stale())
    }
}

/// Unix seconds of a timestamp in one of the forms the platform's SDKs send.
fn parse_timestamp(text: &str) -> Option<i64> {
    if !text.is_empty() && text.len() <= 18 && text.bytes().all(|b| b.is_ascii_digit()) {
        let value: i64 = text.parse().ok()?;
        // 13 digits and more are milliseconds (seconds reach 13 digits in the year 33658).
        return Some(if text.len() >= 13 { value / 1000 } else { value });
    }
    crate::time::parse_datetime(text)
}

/// The body of an SPI reply: `{"code": …, "message": "…", "data": {…}}`.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct SpiReply {
    /// [`SUCCESS`], [`SIGN_FAILED`], [`PARAMETER_ERROR`], [`INTERNAL_ERROR`], or the SPI's own.
    pub code: i64,
    /// A short message.
    pub message: String,
    /// The SPI's result object (`{}` for failures).
    pub data: serde_json::Value,
}

impl SpiReply {
    /// Success with `data` (use `json!({})` when the SPI returns nothing).
    pub fn success(data: serde_json::Value) -> Self {
        SpiReply { code: SUCCESS, message: "success".into(), data }
    }

    /// Any code and message, `data` empty.
    pub fn failure(code: i64, message: impl Into<String>) -> Self {
        SpiReply { code, message: message.into(), data: serde_json::Value::Object(Default::default()) }
    }

    /// The signature did not verify ([`SIGN_FAILED`]).
    pub fn sign_failed() -> Self {
        Self::failure(SIGN_FAILED, "sign verification failed")
    }

    /// A parameter is missing or wrong ([`PARAMETER_ERROR`]).
    pub fn parameter_error(message: impl Into<String>) -> Self {
        Self::failure(PARAMETER_ERROR, message)
    }

    /// The app failed ([`INTERNAL_ERROR`]).
    pub fn internal_error(message: impl Into<String>) -> Self {
        Self::failure(INTERNAL_ERROR, message)
    }

    /// The reply for a failed verification or handling: signature and app key problems
    /// give [`SIGN_FAILED`], unreadable or stale parameters [`PARAMETER_ERROR`], anything
    /// else [`INTERNAL_ERROR`]. Messages never include the secret or the signature.
    pub fn from_error(error: &Error) -> Self {
        match error {
            Error::Verify(verify) => match &**verify {
                VerifyError::MissingSignature | VerifyError::BadSignature | VerifyError::WrongAppKey(_) => {
                    Self::sign_failed()
                }
                VerifyError::StaleTimestamp(_) => Self::parameter_error("timestamp outside the accepted window"),
                other => Self::parameter_error(other.to_string()),
            },
            Error::Decode(_) | Error::Config(_) | Error::InvalidRequest(_) => {
                Self::parameter_error("invalid parameters")
            }
            _ => Self::internal_error("internal error"),
        }
    }

    /// The JSON body, keys in the order `code`, `message`, `data`.
    pub fn to_json(&self) -> String {
        let message = serde_json::Value::String(self.message.clone());
        format!(r#"{{"code":{},"message":{},"data":{}}}"#, self.code, message, self.data)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_in_three_forms() {
        assert_eq!(parse_timestamp("1700000000"), Some(1_700_000_000));
        assert_eq!(parse_timestamp("1700000000123"), Some(1_700_000_000));
        // 2023-11-15 06:13:20 GMT+8 is 2023-11-14 22:13:20 UTC = 1700000000.
        assert_eq!(parse_timestamp("2023-11-15 06:13:20"), Some(1_700_000_000));
        assert_eq!(parse_timestamp("1970-01-01 08:00:00"), Some(0));
        assert_eq!(parse_timestamp("2024-02-29 08:00:00"), Some(1_709_164_800));
        for bad in ["", "-1", "17e8", "2023-13-01 00:00:00", "2023-11-15T06:13:20", "１７", "9999999999999999999999"]
        {
            assert_eq!(parse_timestamp(bad), None, "{bad}");
        }
    }

    #[test]
    fn percent_decoding() {
        let param_json = |encoded: &str| {
            SpiParams::from_request(&format!("?sign=1&param_json={encoded}&param_json=x"), None).unwrap().param_json
        };
        assert_eq!(param_json("%7B%22a%22%3A1%7D").as_deref(), Some(r#"{"a":1}"#));
        assert_eq!(param_json("a+b%20c").as_deref(), Some("a b c"));
        assert_eq!(param_json("%E7%BC%BA%E8%B4%A7").as_deref(), Some("缺货"));
        assert_eq!(param_json("100%").as_deref(), Some("100%"));
        assert_eq!(param_json("%zz%4").as_deref(), Some("%zz%4"));
        // Not two hex digits: kept as written (the `+` still a space), never byte 5.
        assert_eq!(param_json("%+5").as_deref(), Some("% 5"));
        assert_eq!(param_json("%ff").as_deref(), Some("\u{fffd}"));
    }

    #[test]
    fn candidates() {
        assert_eq!(signed_text_candidates(""), ["{}", ""]);
        assert_eq!(signed_text_candidates(r#"{"b":1,"a":"x"}"#), [r#"{"a":"x","b":1}"#, r#"{"b":1,"a":"x"}"#]);
        assert_eq!(
            signed_text_candidates(r#"{"a":"<='>"}"#),
            [r#"{"a":"<='>"}"#, r#"{"a":"\u003c='\u003e"}"#, r#"{"a":"\u003c\u003d\u0027\u003e"}"#]
        );
        assert_eq!(signed_text_candidates("not json"), ["not json"]);
    }

    #[test]
    fn reference_variants_match_the_official_sdks() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/vectors/sign_vectors.json");
        let vectors: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
        let case = vectors["cases"].as_array().unwrap().iter().find(|c| c["id"] == "html_chars_hmac").unwrap();
        let variants = canonical_variants(case["inputs"]["params_json_text"].as_str().unwrap()).unwrap();
        assert_eq!(variants[0], case["expected"]["param_json"].as_str().unwrap());
        assert_eq!(variants[1], case["go_default_html_escaped_param_json"].as_str().unwrap());
        assert_eq!(variants[2], case["java_official"]["param_json_signed"].as_str().unwrap());
    }

    #[test]
    fn reply_json() {
        assert_eq!(
            SpiReply::sign_failed().to_json(),
            r#"{"code":100001,"message":"sign verification failed","data":{}}"#
        );
        assert_eq!(SpiReply::parameter_error("a \"b\"").to_json(), r#"{"code":100002,"message":"a \"b\"","data":{}}"#);
    }
}
