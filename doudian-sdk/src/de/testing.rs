//! Checks used by the generated per-method tests (`src/api/tests.rs`) and by tests that
//! compile generated code themselves (`tests/generated_fixtures.rs`, which includes this
//! file by path): every method's sample request and response round-trips. Built for tests
//! only, never in a user's build: request types decode only under `cfg(test)` too.
//!
//! It names the core as `crate::de` and `crate::request`, so that a test crate that maps
//! those names to the SDK's can include it.

use crate::request::Request;
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::Value;

/// Every integer in `value` turned into a string holding it (IDs sent as strings).
pub fn integers_as_strings(value: &Value) -> Value {
    match value {
        Value::Number(n) if n.is_i64() || n.is_u64() => Value::String(n.to_string()),
        Value::Array(items) => Value::Array(items.iter().map(integers_as_strings).collect()),
        Value::Object(map) => Value::Object(map.iter().map(|(k, v)| (k.clone(), integers_as_strings(v))).collect()),
        other => other.clone(),
    }
}

/// Decodes `value` as `T` and encodes it again.
fn round_trip<T: DeserializeOwned + Serialize>(value: &Value) -> Result<Value, String> {
    let decoded: T = crate::de::from_str(&value.to_string()).map_err(|e| e.to_string())?;
    serde_json::to_value(&decoded).map_err(|e| e.to_string())
}

/// The decoders of the generated `Message` enum, for [`check_messages`].
pub struct MessageDecoders<M> {
    /// `Message::NAMES`.
    pub names: &'static [&'static str],
    /// `Message::TAGS`.
    pub tags: &'static [u32],
    /// `Message::decode`.
    pub decode: fn(u32, &str) -> Option<Result<M, crate::de::DecodeFailure>>,
    /// `Message::decode_named`.
    pub decode_named: fn(&str, &str) -> Option<Result<M, crate::de::DecodeFailure>>,
    /// `Message::tag`.
    pub tag_of: fn(&M) -> Option<u32>,
    /// `Message::name`.
    pub name_of: fn(&M) -> &'static str,
}

/// Checks every push message type: its sample `data` (keyed by tag, or by type name
/// where the tag is unpublished) decodes by name into its variant, by tag too where it
/// has one, also with every integer sent as a string; unknown tags and names give `None`.
pub fn check_messages<M: PartialEq + std::fmt::Debug>(samples_json: &str, decoders: MessageDecoders<M>) {
    let samples: serde_json::Map<String, Value> =
        serde_json::from_str(samples_json).expect("message_samples.json parses");
    let mut failures = Vec::new();
    let mut tagged = 0;
    for &name in decoders.names {
        let tag = match (decoders.decode_named)(name, "{}") {
            Some(Ok(empty)) => (decoders.tag_of)(&empty),
            other => {
                failures.push(format!("{name}: does not decode by name: {other:?}"));
                continue;
            }
        };
        let key = tag.map_or_else(|| name.to_owned(), |tag| tag.to_string());
        let Some(data) = samples.get(&key) else {
            failures.push(format!("{name}: no sample under `{key}`"));
            continue;
        };
        let plain = (decoders.decode_named)(name, &data.to_string());
        let strings = (decoders.decode_named)(name, &integers_as_strings(data).to_string());
        match (plain, strings) {
            (Some(Ok(a)), Some(Ok(b))) => {
                if (decoders.name_of)(&a) != name {
                    failures.push(format!("{name}: decoded as {}", (decoders.name_of)(&a)));
                }
                if a != b {
                    failures.push(format!("{name}: string integers decode differently"));
                }
                if let Some(tag) = tag {
                    tagged += 1;
                    match (decoders.decode)(tag, &data.to_string()) {
                        Some(Ok(by_tag)) if by_tag == a => {}
                        other => failures.push(format!("{name}: by tag {tag}: {other:?}")),
                    }
                }
            }
            (a, b) => failures.push(format!("{name}: {a:?} / {b:?}")),
        }
    }
    if tagged != decoders.tags.len() {
        failures.push(format!("{} tags, {tagged} tagged types", decoders.tags.len()));
    }
    if samples.len() != decoders.names.len() {
        failures.push(format!("{} samples for {} types", samples.len(), decoders.names.len()));
    }
    if (decoders.decode)(0, "{}").is_some() {
        failures.push("tag 0 is not a message type but decoded".to_owned());
    }
    if (decoders.decode_named)("NoSuchMessage", "{}").is_some() {
        failures.push("an unknown name decoded".to_owned());
    }
    assert!(!decoders.names.is_empty(), "no message types");
    assert!(failures.is_empty(), "{} failures:\n{}", failures.len(), failures.join("\n"));
}

/// Collects failures over many methods, then reports them all at once.
pub struct Checker {
    samples: Value,
    failures: Vec<String>,
    checked: usize,
}

impl Checker {
    /// Starts with the generated `samples.json` text.
    pub fn new(samples_json: &str) -> Self {
        Checker {
            samples: serde_json::from_str(samples_json).expect("samples.json parses"),
            failures: Vec::new(),
            checked: 0,
        }
    }

    /// Checks one method: the sample request decodes and re-encodes to the same
    /// canonical (key-sorted) text; the sample response decodes and re-encodes to the
    /// same value, also when every integer is sent as a string.
    pub fn check<R>(mut self) -> Self
    where
        R: Request + DeserializeOwned,
        R::Response: Serialize,
    {
        self.checked += 1;
        let method = R::METHOD;
        let Some(sample) = self.samples.get(method).cloned() else {
            self.failures.push(format!("{method}: no sample"));
            return self;
        };
        let request = &sample["request"];
        match round_trip::<R>(request) {
            Ok(again) if again == *request => {
                // Field order is wire-name byte order: serde's output is already canonical.
                let decoded: R = crate::de::from_str(&request.to_string()).expect("decoded once already");
                let text = serde_json::to_string(&decoded).expect("serialises");
                let canonical: String = request.to_string();
                if text != canonical {
                    self.failures.push(format!("{method}: request serialises out of canonical key order: {text}"));
                }
            }
            Ok(again) => {
                self.failures.push(format!("{method}: request changed in a round trip:\n  {request}\n  {again}"))
            }
            Err(e) => self.failures.push(format!("{method}: request does not decode: {e}")),
        }
        match round_trip::<R>(&integers_as_strings(request)) {
            Ok(again) if again == *request => {}
            Ok(again) => {
                self.failures.push(format!("{method}: request with string integers decodes differently: {again}"))
            }
            Err(e) => self.failures.push(format!("{method}: request with string integers does not decode: {e}")),
        }
        let response = &sample["response"];
        for (what, input) in
            [("response", response.clone()), ("response with string integers", integers_as_strings(response))]
        {
            match round_trip::<R::Response>(&input) {
                Ok(again) if again == *response => {}
                Ok(again) => {
                    self.failures.push(format!("{method}: {what} changed in a round trip:\n  {response}\n  {again}"))
                }
                Err(e) => self.failures.push(format!("{method}: {what} does not decode: {e}")),
            }
        }
        self
    }

    /// Panics listing every failure.
    pub fn finish(self) {
        assert!(self.checked > 0, "no method checked");
        assert!(self.failures.is_empty(), "{} failures:\n{}", self.failures.len(), self.failures.join("\n"));
    }
}
