//! Canonical param_json and request signatures (PROTOCOL.md §2–3).
//!
//! The canonical param_json is both the request body and the text that is signed:
//! keys sorted by their UTF-8 bytes at every depth (inside arrays too), compact, raw UTF-8,
//! `"` and `\` escaped, `\b \f \n \r \t` short escapes, other controls as `\u00xx`,
//! U+2028/U+2029 as `\u2028`/`\u2029`, no HTML escaping, `/` unescaped, number literals
//! kept exactly, explicit nulls kept, `{}` for no parameters.
//!
//! Three ways in, all producing the same text for the same value:
//! * [`to_canonical_json`] for typed requests (the fast path: one serde pass, no tree);
//! * [`canonical_param_json`] for JSON text (keeps every number literal, `1.0` and
//!   integers beyond 64 bits included);
//! * [`canonical_value`] for a `serde_json::Value`.
//!
//! Then [`sign`] (or a [`Signer`], which keeps the HMAC key prepared) gives the `sign` query
//! value, and [`sign_string_masked`] shows what was signed without the secret.
//!
//! Decisions where the protocol leaves room:
//! * duplicate keys in JSON text: the last one wins, as in a Go map or a Java `JsonObject`;
//! * a `\u` escape holding a lone surrogate is rejected (it has no UTF-8 form; Go would
//!   silently substitute U+FFFD and sign different data than the caller meant);
//! * empty or whitespace-only text and a top-level `null` mean "no parameters": `{}`;
//!   any other top-level value that is not an object is an [`Error::InvalidRequest`].

mod canonical;
mod fast;

use std::fmt;
use std::str::FromStr;

use hmac::{Hmac, Mac};
use md5::{Digest, Md5};
use serde::Serialize;
use sha2::Sha256;

use crate::error::Error;
use crate::secret::AppSecret;

pub(crate) use canonical::Flavor;

pub(crate) type HmacSha256 = Hmac<Sha256>;

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
            other => Err(Error::Config(format!("unknown sign method `{other}` (expected `md5` or `hmac-sha256`)"))),
        }
    }
}

/// The canonical text "no parameters".
const EMPTY_OBJECT: &str = "{}";

fn not_an_object(what: &str) -> Error {
    Error::invalid_request(format!("param_json must be a JSON object, not {what}"))
}

/// Canonical param_json of JSON text, keeping number literals exactly.
///
/// The text must hold one JSON object; empty or whitespace-only text and `null` mean "no
/// parameters" and give `{}`. Malformed JSON, a lone surrogate in a `\u` escape, or a
/// top-level value that is not an object give [`Error::InvalidRequest`]. Duplicate keys: the last
/// one wins.
///
/// ```rust
/// use doudian_sdk::sign::canonical_param_json;
///
/// let text = r#"{ "size": 20, "page": 0, "price": 1.0, "id": 123456789012345678901234567890,
///                "note": "a/b <c> \u00e9\u2028" }"#;
/// assert_eq!(
///     canonical_param_json(text).unwrap(),
///     "{\"id\":123456789012345678901234567890,\"note\":\"a/b <c> é\\u2028\",\"page\":0,\"price\":1.0,\"size\":20}"
/// );
/// assert_eq!(canonical_param_json("  ").unwrap(), "{}");
/// assert!(canonical_param_json("[1,2]").is_err());
/// assert!(canonical_param_json("{\"a\":").is_err());
/// ```
pub fn canonical_param_json(json_text: &str) -> Result<String, Error> {
    canonical_text(json_text, Flavor::Standard)
}

/// Canonical text of param_json in one of the flavours (the SPI verifier needs the others).
pub(crate) fn canonical_text(json_text: &str, flavor: Flavor) -> Result<String, Error> {
    if json_text.trim_ascii().is_empty() {
        return Ok(EMPTY_OBJECT.to_owned());
    }
    let node = canonical::parse(json_text)
        .map_err(|e| Error::invalid_request(format!("param_json is not valid JSON: {e}")))?;
    match &node {
        canonical::Node::Object(_) => Ok(canonical::to_string(&node, flavor, json_text.len())),
        canonical::Node::Literal("null") => Ok(EMPTY_OBJECT.to_owned()),
        canonical::Node::Literal(_) => Err(not_an_object("a number or boolean")),
        canonical::Node::Str(_) => Err(not_an_object("a string")),
        canonical::Node::Array(_) => Err(not_an_object("an array")),
    }
}

/// The texts a caller may have signed for `json_text`, deduplicated, most likely first:
/// the standard canonical form, Go's HTML-escaped form, the Java (gson) form, the Python
/// form (U+2028/9 raw) and the PHP form (§10). Works for any top-level JSON value; `None`
/// when the text is not JSON.
#[cfg(feature = "spi")]
pub(crate) fn canonical_variants(json_text: &str) -> Option<Vec<String>> {
    Some(signed_forms(json_text).ok()?.into_iter().map(|(_, text)| text).collect())
}

/// Every canonical text an official SDK signs for param_json `json_text` — the standard
/// form (Go), Go's HTML-escaped form, Java's gson form, Python's and PHP's — named by who
/// produces it, deduplicated, the standard form first. A gateway accepts a sign over any
/// of them (the Java SDK works against the platform although it signs its own variant).
///
/// ```rust
/// use doudian_sdk::sign::signed_forms;
///
/// let forms = signed_forms(r#"{"q":"a='b'","e":{}}"#).unwrap();
/// assert_eq!(forms[0], ("standard", r#"{"e":{},"q":"a='b'"}"#.to_owned()));
/// assert!(forms.contains(&("java", r#"{"e":{},"q":"a\u003d\u0027b\u0027"}"#.to_owned())));
/// assert!(forms.contains(&("php", r#"{"e":[],"q":"a='b'"}"#.to_owned())));
/// ```
pub fn signed_forms(json_text: &str) -> Result<Vec<(&'static str, String)>, Error> {
    let node = canonical::parse(json_text)
        .map_err(|e| Error::invalid_request(format!("param_json is not valid JSON: {e}")))?;
    let mut forms: Vec<(&'static str, String)> = Vec::with_capacity(5);
    for (name, flavor) in [
        ("standard", Flavor::Standard),
        ("go-html", Flavor::GoHtml),
        ("java", Flavor::Gson),
        ("python", Flavor::PyRaw),
        ("php", Flavor::Php),
    ] {
        let text = canonical::to_string(&node, flavor, json_text.len());
        if !forms.iter().any(|(_, known)| *known == text) {
            forms.push((name, text));
        }
    }
    Ok(forms)
}

/// Canonical text of any `serde_json::Value` (a top-level `null` gives `{}`).
///
/// This is a formatter, total over all values: it does not check that the value is an
/// object (an array gives its canonical array text). Numbers are written as
/// `serde_json::Number` holds them, so without serde_json's `arbitrary_precision` feature a
/// float literal like `1.0` has already become the `f64` 1 (written `1.0`) and integers
/// beyond 64 bits are already rounded; pass such parameters as text to
/// [`canonical_param_json`] instead.
///
/// ```rust
/// use doudian_sdk::sign::canonical_value;
/// use serde_json::json;
///
/// let params = json!({"z": [{"b": 1, "a": null}], "A": "\u{2028}", "_": "</>&='"});
/// assert_eq!(canonical_value(&params), r#"{"A":"\u2028","_":"</>&='","z":[{"a":null,"b":1}]}"#);
/// assert_eq!(canonical_value(&serde_json::Value::Null), "{}");
/// ```
pub fn canonical_value(value: &serde_json::Value) -> String {
    if value.is_null() {
        return EMPTY_OBJECT.to_owned();
    }
    let mut out = String::with_capacity(128);
    write_value(&mut out, value);
    out
}

fn write_value(out: &mut String, value: &serde_json::Value) {
    use serde_json::Value;
    match value {
        Value::Null => out.push_str("null"),
        Value::Bool(true) => out.push_str("true"),
        Value::Bool(false) => out.push_str("false"),
        Value::Number(n) => {
            use fmt::Write;
            // Writing into a String cannot fail.
            let _ = write!(out, "{n}");
        }
        Value::String(s) => canonical::write_str(out, s, Flavor::Standard),
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_value(out, item);
            }
            out.push(']');
        }
        Value::Object(map) => {
            // Without serde_json's `preserve_order` the map is already in byte order (the
            // sort then only checks it, in one pass); with it (another crate may enable the
            // feature) the keys must be sorted here.
            let mut entries: Vec<(&String, &Value)> = map.iter().collect();
            entries.sort_unstable_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
            out.push('{');
            for (i, (key, item)) in entries.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                canonical::write_str(out, key, Flavor::Standard);
                out.push(':');
                write_value(out, item);
            }
            out.push('}');
        }
    }
}

/// Canonical param_json of a typed request (fast path: no intermediate `Value`).
///
/// The value is serialised once with serde_json and a formatter that escapes U+2028/U+2029
/// and checks, as the keys go by, that every object's keys are strictly ascending by bytes.
/// Generated requests always are, so that single pass is the whole cost. When they are not
/// (a hand-written type with unsorted fields, a `HashMap`, `#[serde(flatten)]`, non-string
/// map keys, an embedded `RawValue`), the serialised text is canonicalised with
/// [`canonical_param_json`] as a second pass: the result is always canonical.
///
/// A value that serialises to `null` (a unit struct, `None`) gives `{}`; any other
/// non-object gives [`Error::InvalidRequest`], as does a `Serialize` impl that fails.
///
/// ```rust
/// use doudian_sdk::sign::to_canonical_json;
/// use std::collections::HashMap;
///
/// #[derive(serde::Serialize)]
/// struct Params { size: u32, page: u32, order_by: &'static str, big: u128 }
///
/// let params = Params { size: 20, page: 0, order_by: "create_time", big: u128::MAX };
/// assert_eq!(
///     to_canonical_json(&params).unwrap(),
///     r#"{"big":340282366920938463463374607431768211455,"order_by":"create_time","page":0,"size":20}"#
/// );
/// let map: HashMap<&str, i32> = [("b", 2), ("a", 1), ("c", 3)].into_iter().collect();
/// assert_eq!(to_canonical_json(&map).unwrap(), r#"{"a":1,"b":2,"c":3}"#);
/// assert!(to_canonical_json(&[1, 2]).is_err());
/// ```
pub fn to_canonical_json<T: Serialize + ?Sized>(value: &T) -> Result<String, Error> {
    let (text, needs_canonicalising) = serialize_watched(value)?;
    match text.as_bytes().first() {
        Some(b'{') if !needs_canonicalising => Ok(text),
        Some(b'{') => canonical_param_json(&text),
        _ if text == "null" => Ok(EMPTY_OBJECT.to_owned()),
        Some(b'[') => Err(not_an_object("an array")),
        Some(b'"') => Err(not_an_object("a string")),
        _ => Err(not_an_object("a number or boolean")),
    }
}

/// serde_json output with U+2028/U+2029 escaped, and whether it still needs sorting.
fn serialize_watched<T: Serialize + ?Sized>(value: &T) -> Result<(String, bool), Error> {
    let mut buffer = Vec::with_capacity(256);
    let mut watch = fast::KeyWatch::default();
    {
        let formatter = fast::CanonicalFormatter { watch: &mut watch };
        let mut serializer = serde_json::Serializer::with_formatter(&mut buffer, formatter);
        value
            .serialize(&mut serializer)
            .map_err(|e| Error::invalid_request(format!("cannot serialise the parameters: {e}")))?;
    }
    let text =
        String::from_utf8(buffer).map_err(|_| Error::invalid_request("the parameters serialised to invalid UTF-8"))?;
    Ok((text, watch.needs_canonicalising))
}

/// The pieces of the request sign string between the two copies of the secret.
fn request_sign_parts<'a>(app_key: &'a str, method: &'a str, param_json: &'a str, timestamp: &'a str) -> [&'a str; 10] {
    ["app_key", app_key, "method", method, "param_json", param_json, "timestamp", timestamp, "v", "2"]
}

/// The string to sign: `secret + "app_key" + key + "method" + m + "param_json" + pj + "timestamp" + ts + "v2" + secret`.
///
/// ```rust
/// use doudian_sdk::sign::sign_string;
///
/// assert_eq!(
///     sign_string("key", "SECRET", "shop.getShopCategory", "{}", "1700000000"),
///     "SECRETapp_keykeymethodshop.getShopCategoryparam_json{}timestamp1700000000v2SECRET"
/// );
/// ```
pub fn sign_string(app_key: &str, app_secret: &str, method: &str, param_json: &str, timestamp: &str) -> String {
    framed(app_secret, &request_sign_parts(app_key, method, param_json, timestamp))
}

/// The string to sign with the secret replaced by `***`, for debugging signature errors.
///
/// ```rust
/// use doudian_sdk::sign::sign_string_masked;
///
/// assert_eq!(
///     sign_string_masked("key", "order.searchList", r#"{"page":0}"#, "1700000000"),
///     r#"***app_keykeymethodorder.searchListparam_json{"page":0}timestamp1700000000v2***"#
/// );
/// ```
pub fn sign_string_masked(app_key: &str, method: &str, param_json: &str, timestamp: &str) -> String {
    framed("***", &request_sign_parts(app_key, method, param_json, timestamp))
}

/// For display (the signing path hashes the parts without joining them).
fn framed(secret: &str, parts: &[&str]) -> String {
    std::iter::once(secret).chain(parts.iter().copied()).chain(std::iter::once(secret)).collect()
}

/// The lower-case hex digest of `message` by `sign_method` (hmac keyed with the secret).
///
/// ```rust
/// use doudian_sdk::sign::{digest, SignMethod};
///
/// assert_eq!(digest(SignMethod::Md5, "ignored", "abc"), "900150983cd24fb0d6963f7d28e17f72");
/// assert_eq!(
///     digest(SignMethod::HmacSha256, "key", "The quick brown fox jumps over the lazy dog"),
///     "f7bc83f430538424b13298e6aa6fb143ef4d59a14946175997479dbc2d1a3cd8"
/// );
/// ```
pub fn digest(sign_method: SignMethod, app_secret: &str, message: &str) -> String {
    digest_parts(sign_method, app_secret, None, &[message.as_bytes()])
}

/// The `sign` query value of a request.
///
/// ```rust
/// use doudian_sdk::sign::{sign, SignMethod};
///
/// // From doudian-sdk/tests/vectors/sign_vectors.json, case `empty_hmac`.
/// let s = sign(
///     SignMethod::HmacSha256,
///     "7012345678901234567",
///     "9f8e7d6c-5b4a-4321-8fed-cba987654321",
///     "shop.getShopCategory",
///     "{}",
///     "1700000000",
/// );
/// assert_eq!(s, "9aa1cf0cc91c91019cd0df95edad10e11b92cf5fc2814510b39447c45fe72760");
/// ```
pub fn sign(
    sign_method: SignMethod,
    app_key: &str,
    app_secret: &str,
    method: &str,
    param_json: &str,
    timestamp: &str,
) -> String {
    framed_digest(sign_method, app_secret, None, &request_sign_parts(app_key, method, param_json, timestamp))
}

/// `digest(secret + parts... + secret)` without building the string.
pub(crate) fn framed_digest(
    sign_method: SignMethod,
    app_secret: &str,
    prepared: Option<&HmacSha256>,
    parts: &[&str],
) -> String {
    let mut all: [&[u8]; 16] = [&[]; 16];
    debug_assert!(parts.len() + 2 <= all.len());
    let n = parts.len().min(all.len() - 2);
    all[0] = app_secret.as_bytes();
    for (slot, part) in all[1..].iter_mut().zip(&parts[..n]) {
        *slot = part.as_bytes();
    }
    all[n + 1] = app_secret.as_bytes();
    digest_parts(sign_method, app_secret, prepared, &all[..n + 2])
}

/// The lower-case hex digest of the concatenation of `parts`, without concatenating.
/// `prepared` is an HMAC already keyed with `app_secret` (saves hashing the key each time).
pub(crate) fn digest_parts(
    sign_method: SignMethod,
    app_secret: &str,
    prepared: Option<&HmacSha256>,
    parts: &[&[u8]],
) -> String {
    match sign_method {
        SignMethod::Md5 => {
            let mut md5 = Md5::new();
            parts.iter().for_each(|p| md5.update(p));
            hex_lower(&md5.finalize())
        }
        SignMethod::HmacSha256 => {
            let mut mac = match prepared {
                Some(prepared) => prepared.clone(),
                None => hmac_for(app_secret),
            };
            parts.iter().for_each(|p| mac.update(p));
            hex_lower(&mac.finalize().into_bytes())
        }
    }
}

pub(crate) fn hmac_for(app_secret: &str) -> HmacSha256 {
    // HMAC takes keys of any length; `new_from_slice` cannot fail for it.
    <HmacSha256 as Mac>::new_from_slice(app_secret.as_bytes())
        .unwrap_or_else(|_| unreachable!("HMAC accepts keys of every length"))
}

fn hex_lower(bytes: &[u8]) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for &b in bytes {
        out.push(HEX[usize::from(b >> 4)] as char);
        out.push(HEX[usize::from(b & 0xf)] as char);
    }
    out
}

/// Compares a received hex signature with the expected lower-case one in time that does not
/// depend on where they differ. Upper-case hex in `received` is accepted: it carries the
/// same value (the C# SDK compares case-insensitively; Java expects lower case).
pub(crate) fn hex_signature_matches(expected_lower: &str, received: &[u8]) -> bool {
    let expected = expected_lower.as_bytes();
    if expected.len() != received.len() {
        return false; // the length of a digest is public
    }
    let mut difference = 0u8;
    for (&e, &r) in expected.iter().zip(received) {
        // Normalising the caller's byte may branch: it reveals nothing about `expected`.
        let r = if r.is_ascii_uppercase() { r.to_ascii_lowercase() } else { r };
        difference |= e ^ r;
    }
    difference == 0
}

/// Signs requests for one app: the app key, the secret and the sign method, with the
/// HMAC key schedule computed once (a client keeps one `Signer` and shares it).
///
/// ```rust
/// use doudian_sdk::sign::{Signer, SignMethod};
/// use doudian_sdk::AppSecret;
///
/// let signer = Signer::new(
///     "7012345678901234567",
///     AppSecret::new("9f8e7d6c-5b4a-4321-8fed-cba987654321"),
///     SignMethod::HmacSha256,
/// );
/// assert_eq!(
///     signer.sign("shop.getShopCategory", "{}", "1700000000"),
///     "9aa1cf0cc91c91019cd0df95edad10e11b92cf5fc2814510b39447c45fe72760"
/// );
/// assert_eq!(format!("{signer:?}"),
///     r#"Signer { app_key: "7012345678901234567", app_secret: <redacted>, sign_method: HmacSha256 }"#);
/// ```
#[derive(Clone)]
pub struct Signer {
    app_key: String,
    app_secret: AppSecret,
    sign_method: SignMethod,
    prepared: Option<HmacSha256>,
}

impl Signer {
    /// A signer for `app_key` with `app_secret`, signing by `sign_method`.
    pub fn new(app_key: impl Into<String>, app_secret: AppSecret, sign_method: SignMethod) -> Self {
        let prepared = match sign_method {
            SignMethod::HmacSha256 => Some(hmac_for(app_secret.expose())),
            SignMethod::Md5 => None,
        };
        Signer { app_key: app_key.into(), app_secret, sign_method, prepared }
    }

    /// The app key.
    pub fn app_key(&self) -> &str {
        &self.app_key
    }

    /// The sign method (the value of the `sign_method` query parameter).
    pub fn sign_method(&self) -> SignMethod {
        self.sign_method
    }

    /// The `sign` query value for a call of `method` with canonical `param_json`.
    pub fn sign(&self, method: &str, param_json: &str, timestamp: &str) -> String {
        framed_digest(
            self.sign_method,
            self.app_secret.expose(),
            self.prepared.as_ref(),
            &request_sign_parts(&self.app_key, method, param_json, timestamp),
        )
    }

    /// The string signed for such a call, secret masked (see [`sign_string_masked`]).
    pub fn sign_string_masked(&self, method: &str, param_json: &str, timestamp: &str) -> String {
        sign_string_masked(&self.app_key, method, param_json, timestamp)
    }
}

impl fmt::Debug for Signer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Signer")
            .field("app_key", &self.app_key)
            .field("app_secret", &self.app_secret)
            .field("sign_method", &self.sign_method)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sign_methods_have_their_wire_names() {
        for (method, wire) in [(SignMethod::Md5, "md5"), (SignMethod::HmacSha256, "hmac-sha256")] {
            assert_eq!(method.as_str(), wire);
            assert_eq!(method.to_string(), wire);
            assert_eq!(wire.parse::<SignMethod>().unwrap(), method);
        }
        assert_eq!(SignMethod::default(), SignMethod::HmacSha256);
        let error = "HMAC-SHA256".parse::<SignMethod>().unwrap_err();
        assert!(matches!(&error, Error::Config(m) if m.contains("`HMAC-SHA256`")), "{error}");
    }

    #[test]
    fn hex_compare() {
        let expected = "0a1b2c3d";
        assert!(hex_signature_matches(expected, b"0a1b2c3d"));
        assert!(hex_signature_matches(expected, b"0A1B2C3D"));
        assert!(!hex_signature_matches(expected, b"0a1b2c3e"));
        assert!(!hex_signature_matches(expected, b"0a1b2c3"));
        assert!(!hex_signature_matches(expected, b""));
        // A control byte must not pass for a digit.
        assert!(!hex_signature_matches(expected, b"\x10a1b2c3d"));
    }

    #[test]
    fn prepared_hmac_equals_fresh_hmac() {
        let signer = Signer::new("k", AppSecret::new("s"), SignMethod::HmacSha256);
        assert_eq!(signer.sign("m", "{}", "1"), sign(SignMethod::HmacSha256, "k", "s", "m", "{}", "1"));
        let signer = Signer::new("k", AppSecret::new("s"), SignMethod::Md5);
        assert_eq!(signer.sign("m", "{}", "1"), sign(SignMethod::Md5, "k", "s", "m", "{}", "1"));
        // What the client puts beside the sign, and what it shows when a sign is refused.
        assert_eq!((signer.app_key(), signer.sign_method()), ("k", SignMethod::Md5));
        assert_eq!(Signer::new("k", AppSecret::new("s"), SignMethod::HmacSha256).sign_method(), SignMethod::HmacSha256);
        assert_eq!(signer.sign_string_masked("m", "{}", "1"), "***app_keykmethodmparam_json{}timestamp1v2***");
        assert_eq!(
            sign(SignMethod::Md5, "k", "s", "m", "{}", "1"),
            digest(SignMethod::Md5, "s", &sign_string("k", "s", "m", "{}", "1"))
        );
    }

    #[test]
    fn fast_path_detects_unsorted_keys_at_every_depth() {
        #[derive(Serialize)]
        struct Inner {
            z: u8,
            a: u8,
        }
        #[derive(Serialize)]
        struct Outer {
            a: Vec<Inner>,
            b: Inner,
        }
        let v = Outer { a: vec![Inner { z: 1, a: 2 }], b: Inner { z: 3, a: 4 } };
        assert_eq!(to_canonical_json(&v).unwrap(), r#"{"a":[{"a":2,"z":1}],"b":{"a":4,"z":3}}"#);
    }

    fn needs_sorting<T: Serialize>(value: &T) -> bool {
        serialize_watched(value).unwrap().1
    }

    #[test]
    fn fast_path_compares_decoded_keys() {
        use std::collections::BTreeMap;
        let sorted = |keys: &[&'static str]| keys.iter().map(|k| (*k, 0)).collect::<BTreeMap<_, _>>();
        // Sorted maps pass without a second pass, also where a key is a prefix of the next
        // and the next character sorts before the quote (`ab` < `ab ` < `ab!`), and where
        // keys hold escaped characters (compared decoded: newline < quote < backslash).
        assert!(!needs_sorting(&sorted(&["ab", "ab ", "ab!", "ab\u{7f}", "abc", "é", "😀"])));
        assert!(!needs_sorting(&sorted(&[""])));
        assert!(!needs_sorting(&sorted(&["", "a"])));
        assert!(!needs_sorting(&sorted(&["a\n", "a\"", "a\\", "a\u{2027}", "a\u{2028}"])));
        assert_eq!(
            to_canonical_json(&sorted(&["a\u{2028}", "a\u{2027}"])).unwrap(),
            "{\"a\u{2027}\":0,\"a\\u2028\":0}"
        );
        assert_eq!(to_canonical_json(&sorted(&["a\n", "a\""])).unwrap(), r#"{"a\n":0,"a\"":0}"#);
        let inner: BTreeMap<&str, u8> = [("z", 1)].into_iter().collect();
        let nested: BTreeMap<&str, Vec<BTreeMap<&str, u8>>> =
            [("a", vec![inner.clone(), inner]), ("b", vec![])].into_iter().collect();
        assert!(!needs_sorting(&nested));
        // Deep nesting: each depth is watched on its own.
        let mut deep = serde_json::json!({"b": 1, "a": 2});
        for _ in 0..20 {
            deep = serde_json::json!({ "x": deep, "y": 0 });
        }
        assert!(!needs_sorting(&deep));
    }

    #[test]
    fn fast_path_numeric_keys_are_sorted_as_text() {
        let map: std::collections::BTreeMap<u32, u8> = [(9, 1), (10, 2)].into_iter().collect();
        assert_eq!(to_canonical_json(&map).unwrap(), r#"{"10":2,"9":1}"#);
    }

    #[test]
    fn fast_path_equal_keys_are_canonicalised() {
        #[derive(Serialize)]
        struct Flat {
            a: u8,
            #[serde(flatten)]
            rest: std::collections::BTreeMap<String, u8>,
        }
        let v = Flat { a: 1, rest: [("a".to_owned(), 2), ("0".to_owned(), 0)].into_iter().collect() };
        assert_eq!(to_canonical_json(&v).unwrap(), r#"{"0":0,"a":2}"#);
    }

    #[test]
    fn fast_path_raw_value_is_canonicalised() {
        #[derive(Serialize)]
        struct WithRaw {
            a: Box<serde_json::value::RawValue>,
        }
        let raw = serde_json::value::RawValue::from_string(r#"{ "y": 1.50, "x": "\u00e9" }"#.into()).unwrap();
        assert_eq!(to_canonical_json(&WithRaw { a: raw }).unwrap(), r#"{"a":{"x":"é","y":1.50}}"#);
    }

    #[test]
    fn fast_path_escapes_line_separators_in_keys_and_values() {
        let map: std::collections::BTreeMap<&str, &str> =
            [("k\u{2028}", "v\u{2029}\u{1}\u{7f}/")].into_iter().collect();
        assert_eq!(to_canonical_json(&map).unwrap(), "{\"k\\u2028\":\"v\\u2029\\u0001\u{7f}/\"}");
    }

    #[test]
    fn fast_path_top_level() {
        #[derive(Serialize)]
        struct Unit;
        #[derive(Serialize)]
        struct Empty {}
        assert_eq!(to_canonical_json(&Unit).unwrap(), "{}");
        assert_eq!(to_canonical_json(&Empty {}).unwrap(), "{}");
        assert_eq!(to_canonical_json(&None::<u8>).unwrap(), "{}");
        // Anything else is refused, saying what it was.
        let refusal = |e: Error| match e {
            Error::InvalidRequest(message) => message,
            other => panic!("{other:?}"),
        };
        assert_eq!(refusal(to_canonical_json("x").unwrap_err()), "param_json must be a JSON object, not a string");
        assert_eq!(refusal(to_canonical_json(&[1]).unwrap_err()), "param_json must be a JSON object, not an array");
        for scalar in [to_canonical_json(&1), to_canonical_json(&true)] {
            assert_eq!(refusal(scalar.unwrap_err()), "param_json must be a JSON object, not a number or boolean");
        }
    }
}
