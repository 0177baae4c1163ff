//! Canonical param_json and request signatures (PROTOCOL.md §2–3).
//!
//! CONTRACT (implemented by the signing work; signatures fixed so other modules can build):

use std::fmt;
use std::str::FromStr;

use serde::Serialize;

use crate::error::Error;

/// How a request is signed. hmac-sha256 is the default, as the official Go and PHP SDKs do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum SignMethod {
    /// Lower-case hex MD5 (the default when `sign_method` is absent on the wire).
    Md5,
    /// Lower-case hex HMAC-SHA256 keyed with the app secret.
    #[default]
    HmacSha256,
}

impl SignMethod {
    /// The wire value of `sign_method`.
    pub fn as_str(self) -> &'static str {
        match self {
            SignMethod::Md5 => "md5",
            SignMethod::HmacSha256 => "hmac-sha256",
        }
    }
}

impl fmt::Display for SignMethod {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for SignMethod {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self, Error> {
        match s {
            "md5" => Ok(SignMethod::Md5),
            "hmac-sha256" => Ok(SignMethod::HmacSha256),
            other => Err(Error::Config(format!(
                "unknown sign method `{other}` (expected `md5` or `hmac-sha256`)"
            ))),
        }
    }
}

/// Canonical param_json of JSON text, keeping number literals exactly.
pub fn canonical_param_json(json_text: &str) -> Result<String, Error> {
    let _ = json_text;
    unimplemented!("signing work")
}

/// Canonical param_json of a `serde_json::Value`.
pub fn canonical_value(value: &serde_json::Value) -> String {
    let _ = value;
    unimplemented!("signing work")
}

/// Canonical param_json of a typed request (fast path: no intermediate `Value`).
pub fn to_canonical_json<T: Serialize + ?Sized>(value: &T) -> Result<String, Error> {
    let _ = value;
    unimplemented!("signing work")
}

/// The string to sign: `secret + "app_key" + key + "method" + m + "param_json" + pj + "timestamp" + ts + "v2" + secret`.
pub fn sign_string(app_key: &str, app_secret: &str, method: &str, param_json: &str, timestamp: &str) -> String {
    let _ = (app_key, app_secret, method, param_json, timestamp);
    unimplemented!("signing work")
}

/// The string to sign with the secret replaced by `***`, for debugging signature errors.
pub fn sign_string_masked(app_key: &str, method: &str, param_json: &str, timestamp: &str) -> String {
    let _ = (app_key, method, param_json, timestamp);
    unimplemented!("signing work")
}

/// The lower-case hex digest of `message` by `sign_method` (hmac keyed with the secret).
pub fn digest(sign_method: SignMethod, app_secret: &str, message: &str) -> String {
    let _ = (sign_method, app_secret, message);
    unimplemented!("signing work")
}

/// The `sign` query value of a request.
pub fn sign(
    sign_method: SignMethod,
    app_key: &str,
    app_secret: &str,
    method: &str,
    param_json: &str,
    timestamp: &str,
) -> String {
    digest(sign_method, app_secret, &sign_string(app_key, app_secret, method, param_json, timestamp))
}
