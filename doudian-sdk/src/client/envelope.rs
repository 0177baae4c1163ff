//! The reply envelope: success or an [`ApiError`], and the typed `data` of a success.

use serde::de::DeserializeOwned;
use serde::Deserialize;

use super::Response;
use crate::error::{excerpt, ApiError, DecodeError, DecodeStage, Error, Result};

const SUCCESS_CODE: i64 = 10000;

/// The envelope of every reply; `data` stays raw until the code says success.
#[derive(Deserialize)]
struct Envelope<'a> {
    #[serde(default)]
    code: Option<CodeValue>,
    #[serde(default)]
    msg: Option<String>,
    #[serde(default)]
    sub_code: Option<String>,
    #[serde(default)]
    sub_msg: Option<String>,
    #[serde(default)]
    log_id: Option<String>,
    /// The legacy envelope: `err_no` (0 = success) and `message`.
    #[serde(default)]
    err_no: Option<CodeValue>,
    #[serde(default)]
    message: Option<String>,
    #[serde(borrow, default)]
    data: Option<&'a serde_json::value::RawValue>,
}

/// A code sent as a number or as a numeric string.
#[derive(Deserialize)]
#[serde(untagged)]
enum CodeValue {
    Number(i64),
    Text(String),
}

impl CodeValue {
    fn value(&self) -> Option<i64> {
        match self {
            CodeValue::Number(n) => Some(*n),
            CodeValue::Text(s) => s.trim().parse().ok(),
        }
    }
}

/// A reply that passed the envelope check: its bytes and where `data` sits in them.
pub(super) struct RawReply {
    pub(super) body: Vec<u8>,
    pub(super) log_id: String,
    /// The byte range of `data` in `body` (empty when absent or null).
    pub(super) data: std::ops::Range<usize>,
}
/// Checks a reply body's envelope and decodes its `data` into `T`: what
/// [`Client::execute`](crate::Client::execute) does with every reply. Public for replaying recorded replies.
///
/// ```
/// use doudian_sdk::client::decode_reply;
///
/// #[derive(Debug, serde::Deserialize)]
/// struct Data { order_id: i64 }
/// let ok = decode_reply::<Data>("m", br#"{"code":10000,"msg":"success","log_id":"L","data":{"order_id":1}}"#.to_vec()).unwrap();
/// assert_eq!((ok.order_id, ok.log_id()), (1, "L"));
/// // A wrong type is an error naming the JSON path, never a silent zero.
/// let err = decode_reply::<Data>("m", br#"{"code":10000,"data":{"order_id":"x"}}"#.to_vec()).unwrap_err();
/// assert!(err.to_string().contains("data.order_id"), "{err}");
/// ```
pub fn decode_reply<T: DeserializeOwned>(method: &str, body: Vec<u8>) -> Result<Response<T>> {
    // One pass reads the envelope and decodes `data` whatever the order of the keys. When
    // it cannot say how the reply went (`data` does not decode, it is absent, or the body
    // is not an envelope), the envelope is read on its own first, as the error must say
    // what the platform answered before what failed to decode.
    if let Ok(reply) = crate::de::from_slice::<OnePass<T>>(&body) {
        if let Some(outcome) = reply.outcome(method) {
            return outcome;
        }
    }
    decode_data(method, &check_envelope(method, body)?)
}

/// Decodes `data` of a checked reply into `T`, naming the JSON path on failure.
/// The envelope was parsed once already; only the `data` bytes are decoded here.
pub(super) fn decode_data<T: DeserializeOwned>(method: &str, reply: &RawReply) -> Result<Response<T>> {
    let data: &[u8] = if reply.data.is_empty() { b"{}" } else { &reply.body[reply.data.clone()] };
    match crate::de::from_slice::<T>(data) {
        Ok(data) => Ok(Response { data, log_id: reply.log_id.clone() }),
        Err(failure) => {
            let path = if failure.path.is_empty() || failure.path == "." {
                "data".to_owned()
            } else {
                format!("data.{}", failure.path)
            };
            Err(decode_error(method, DecodeStage::Data, &path, failure.message, reply))
        }
    }
}

fn decode_error(method: &str, stage: DecodeStage, path: &str, message: String, reply: &RawReply) -> Error {
    Error::from(DecodeError {
        context: method.to_owned(),
        stage,
        path: if path.is_empty() { "$".to_owned() } else { path.to_owned() },
        message,
        excerpt: excerpt(&reply.body),
        log_id: reply.log_id.clone(),
    })
}
/// The envelope's fields together with `data` decoded as `T`, read in one pass.
struct OnePass<T> {
    code: Option<i64>,
    err_no: Option<i64>,
    msg: Option<String>,
    message: Option<String>,
    sub_code: Option<String>,
    sub_msg: Option<String>,
    log_id: Option<String>,
    /// `None` when absent or `null`.
    data: Option<T>,
}

impl<T> OnePass<T> {
    /// The reply's outcome, as [`check_envelope`] and [`decode_data`] would give it; `None`
    /// when they must say it (no code, or a success without `data`).
    fn outcome(self, method: &str) -> Option<Result<Response<T>>> {
        let log_id = self.log_id.unwrap_or_default();
        let success = match (self.code, self.err_no) {
            (Some(code), _) => code == SUCCESS_CODE,
            (None, Some(err_no)) => err_no == 0,
            (None, None) => return None,
        };
        if success {
            return self.data.map(|data| Ok(Response { data, log_id }));
        }
        Some(Err(Error::from(ApiError {
            method: method.to_owned(),
            code: self.code.or(self.err_no).unwrap_or_default(),
            msg: self.msg.or(self.message).unwrap_or_default(),
            sub_code: self.sub_code.unwrap_or_default(),
            sub_msg: self.sub_msg.unwrap_or_default(),
            log_id,
        })))
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for OnePass<T> {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> std::result::Result<Self, D::Error> {
        deserializer.deserialize_map(OnePassVisitor(std::marker::PhantomData))
    }
}

struct OnePassVisitor<T>(std::marker::PhantomData<T>);

impl<'de, T: Deserialize<'de>> serde::de::Visitor<'de> for OnePassVisitor<T> {
    type Value = OnePass<T>;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a reply envelope")
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> std::result::Result<OnePass<T>, A::Error> {
        use serde::de::Error as _;
        let mut reply = OnePass {
            code: None,
            err_no: None,
            msg: None,
            message: None,
            sub_code: None,
            sub_msg: None,
            log_id: None,
            data: None,
        };
        let mut seen_data = false;
        // A key seen twice is an error here (the derived envelope refuses it too): the
        // two-pass path then gives the answer.
        fn once<V, E: serde::de::Error>(
            slot: &mut Option<V>,
            value: Option<V>,
            key: &'static str,
        ) -> std::result::Result<(), E> {
            match slot.is_some() {
                true => Err(E::duplicate_field(key)),
                false => {
                    *slot = value;
                    Ok(())
                }
            }
        }
        while let Some(key) = map.next_key::<EnvelopeKey>()? {
            match key {
                EnvelopeKey::Code => once(&mut reply.code, code_value(map.next_value::<Option<CodeValue>>()?), "code")?,
                EnvelopeKey::ErrNo => {
                    once(&mut reply.err_no, code_value(map.next_value::<Option<CodeValue>>()?), "err_no")?
                }
                EnvelopeKey::Msg => once(&mut reply.msg, map.next_value()?, "msg")?,
                EnvelopeKey::Message => once(&mut reply.message, map.next_value()?, "message")?,
                EnvelopeKey::SubCode => once(&mut reply.sub_code, map.next_value()?, "sub_code")?,
                EnvelopeKey::SubMsg => once(&mut reply.sub_msg, map.next_value()?, "sub_msg")?,
                EnvelopeKey::LogId => once(&mut reply.log_id, map.next_value()?, "log_id")?,
                EnvelopeKey::Data if seen_data => return Err(A::Error::duplicate_field("data")),
                EnvelopeKey::Data => {
                    seen_data = true;
                    reply.data = map.next_value::<Option<T>>()?;
                }
                EnvelopeKey::Other => {
                    map.next_value::<serde::de::IgnoredAny>()?;
                }
            }
        }
        Ok(reply)
    }
}

/// A code read as [`check_envelope`] reads it: a number, or text holding one.
fn code_value(value: Option<CodeValue>) -> Option<i64> {
    value.as_ref().and_then(CodeValue::value)
}

/// The envelope's keys, matched without allocating.
enum EnvelopeKey {
    Code,
    ErrNo,
    Msg,
    Message,
    SubCode,
    SubMsg,
    LogId,
    Data,
    Other,
}

impl<'de> Deserialize<'de> for EnvelopeKey {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> std::result::Result<Self, D::Error> {
        struct KeyVisitor;
        impl serde::de::Visitor<'_> for KeyVisitor {
            type Value = EnvelopeKey;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a key")
            }
            fn visit_str<E: serde::de::Error>(self, key: &str) -> std::result::Result<EnvelopeKey, E> {
                Ok(match key {
                    "code" => EnvelopeKey::Code,
                    "err_no" => EnvelopeKey::ErrNo,
                    "msg" => EnvelopeKey::Msg,
                    "message" => EnvelopeKey::Message,
                    "sub_code" => EnvelopeKey::SubCode,
                    "sub_msg" => EnvelopeKey::SubMsg,
                    "log_id" => EnvelopeKey::LogId,
                    "data" => EnvelopeKey::Data,
                    _ => EnvelopeKey::Other,
                })
            }
        }
        deserializer.deserialize_identifier(KeyVisitor)
    }
}

/// Reads the envelope: success (`code == 10000`, or legacy `err_no == 0`) gives the reply,
/// anything else an [`ApiError`]; a body that is not an envelope is a decode error.
pub(super) fn check_envelope(method: &str, body: Vec<u8>) -> Result<RawReply> {
    let envelope: Envelope<'_> = match serde_json::from_slice(&body) {
        Ok(envelope) => envelope,
        Err(e) => {
            let reply = RawReply { log_id: String::new(), body, data: 0..0 };
            return Err(decode_error(
                method,
                DecodeStage::Envelope,
                "$",
                format!("reply is not a JSON envelope: {e}"),
                &reply,
            ));
        }
    };
    let log_id = envelope.log_id.clone().unwrap_or_default();
    let code = envelope.code.as_ref().and_then(CodeValue::value);
    let legacy = envelope.err_no.as_ref().and_then(CodeValue::value);
    let success = match (code, legacy) {
        (Some(code), _) => code == SUCCESS_CODE,
        (None, Some(err_no)) => err_no == 0,
        (None, None) => {
            let reply = RawReply { log_id, body, data: 0..0 };
            return Err(decode_error(
                method,
                DecodeStage::Envelope,
                "code",
                "reply has neither `code` nor `err_no`".into(),
                &reply,
            ));
        }
    };
    if success {
        // Where `data` sits in the body: the raw value borrows from it.
        let data = match envelope.data.map(|raw| raw.get()) {
            Some(text) if text != "null" => {
                let start = text.as_ptr() as usize - body.as_ptr() as usize;
                start..start + text.len()
            }
            _ => 0..0,
        };
        return Ok(RawReply { log_id, body, data });
    }
    Err(Error::from(ApiError {
        method: method.to_owned(),
        code: code.or(legacy).unwrap_or_default(),
        msg: envelope.msg.or(envelope.message).unwrap_or_default(),
        sub_code: envelope.sub_code.unwrap_or_default(),
        sub_msg: envelope.sub_msg.unwrap_or_default(),
        log_id,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn envelope_success_and_errors() {
        let ok =
            check_envelope("m", br#"{"code":10000,"msg":"success","log_id":"L1","data":{"a":1}}"#.to_vec()).unwrap();
        assert_eq!(ok.log_id, "L1");
        let legacy = check_envelope("m", br#"{"err_no":0,"message":"success","data":{}}"#.to_vec());
        assert!(legacy.is_ok());
        let err = check_envelope(
            "order.searchList",
            br#"{"code":"40003","msg":"bad","sub_code":"isv.signature-invalid","sub_msg":"sign","log_id":"L2"}"#
                .to_vec(),
        )
        .err()
        .unwrap();
        assert!(err.is_signature_invalid());
        assert_eq!(err.log_id(), Some("L2"));
        assert_eq!(
            err.to_string(),
            "order.searchList failed: code 40003 (bad), sub_code isv.signature-invalid (sign), log_id L2"
        );
        let legacy_err = check_envelope("m", br#"{"err_no":60000,"message":"too fast"}"#.to_vec()).err().unwrap();
        assert!(legacy_err.is_rate_limited() && legacy_err.is_retryable());
        let garbage = check_envelope("m", b"<html>busy</html>".to_vec()).err().unwrap();
        assert!(matches!(garbage, Error::Decode(ref d) if d.excerpt == "<html>busy</html>"), "{garbage:?}");
        let no_code = check_envelope("m", br#"{"data":{}}"#.to_vec()).err().unwrap();
        assert!(matches!(no_code, Error::Decode(_)));
    }
}
