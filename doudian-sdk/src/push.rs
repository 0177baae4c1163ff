//! Push messages (webhooks): verify, parse, reply (PROTOCOL.md §6).
//!
//! The platform POSTs a JSON array of records `{"tag": "100", "msg_id": "...", "data": "..."}`
//! (`data` is itself JSON, encoded as a string) with two headers: `app-id` (the app key) and
//! `event-sign` = lower-case hex `md5(app_key + raw_body + app_secret)`.
//!
//! A receiving handler:
//! 1. [`PushVerifier::receive`] (or [`PushVerifier::receive_headers`]) checks `app-id` and
//!    `event-sign` over the body bytes exactly as received, then parses the records;
//! 2. answer [`SUCCESS_REPLY`] at once (the platform expects a reply within about 2 s) and
//!    process the records afterwards;
//! 3. optionally drop redeliveries with a [`SeenStore`] ([`first_time_only`]);
//! 4. [`PushRecord::decode`] turns each record into a typed [`PushEvent`].
//!
//! Decisions:
//! * hex in `event-sign` is compared case-insensitively (the value is the same; Java
//!   compares lower case exactly, C# case-insensitively), always in constant time;
//! * hmac-sha256 pushes (same input, key = app secret) are accepted only when enabled with
//!   [`PushVerifier::accept_hmac_sha256`]: no official SDK documents them. The digest kind is
//!   told apart by length (32 hex digits md5, 64 hmac-sha256);
//! * a record's `data` that is not a JSON string (an object, say) is kept as its raw JSON
//!   text instead of being rejected; a missing or `null` `data` or `msg_id` is empty;
//!   a numeric `tag` or `msg_id` is read as its digits.
//!
//! ```rust
//! use doudian_sdk::push::{sign_push_body, PushEvent, PushVerifier, SUCCESS_REPLY};
//! use doudian_sdk::SignMethod;
//!
//! let verifier = PushVerifier::new("7012345678901234567", "secret");
//! let body = br#"[{"tag":"0","msg_id":"0","data":"2023-11-15 06:13:20"}]"#;
//! let event_sign = sign_push_body("7012345678901234567", "secret", body, SignMethod::Md5);
//!
//! let records = verifier.receive(Some("7012345678901234567"), Some(&event_sign), body).unwrap();
//! assert!(records[0].is_test());
//! assert!(matches!(records[0].decode().unwrap(), PushEvent::Test { .. }));
//! assert_eq!(SUCCESS_REPLY, r#"{"code":0,"msg":"success"}"#);
//!
//! // A tampered body is a typed error, never a panic.
//! assert!(verifier.receive(Some("7012345678901234567"), Some(&event_sign), b"[]").is_err());
//! ```

use std::collections::{HashSet, VecDeque};
use std::fmt;
use std::sync::{Arc, Mutex};

use futures_util::future::BoxFuture;
use serde::Deserialize;
use serde_json::value::RawValue;

use crate::error::{Error, VerifyError};
use crate::secret::AppSecret;
use crate::sign::{digest_parts, hex_signature_matches, hmac_for, HmacSha256, SignMethod};

/// The typed push messages, one variant per known tag (generated from the spec).
#[cfg(feature = "messages")]
#[cfg_attr(docsrs, doc(cfg(feature = "messages")))]
pub use crate::api::messages::Message;

#[cfg(feature = "messages")]
mod tags;
#[cfg(feature = "messages")]
#[cfg_attr(docsrs, doc(cfg(feature = "messages")))]
pub use tags::{register_tag, registered_type};

/// The reply that acknowledges a push: HTTP 200 with this body.
pub const SUCCESS_REPLY: &str = r#"{"code":0,"msg":"success"}"#;

/// The reply for a push that was rejected (the Go community module's form); the platform
/// redelivers pushes that are not acknowledged. Send it with a non-200 status or as 200,
/// either tells the platform the push was not taken.
pub const FAILURE_REPLY: &str = r#"{"code":1,"msg":"fail"}"#;

/// The header carrying the app key.
pub const APP_ID_HEADER: &str = "app-id";

/// The header carrying the signature.
pub const EVENT_SIGN_HEADER: &str = "event-sign";

/// The tag of the platform's test (verification) push.
pub const TEST_TAG: &str = "0";

/// The `event-sign` value of a push body: lower-case hex digest of
/// `app_key + body + app_secret` (md5; hmac-sha256 keyed with the secret).
///
/// ```rust
/// use doudian_sdk::push::sign_push_body;
/// use doudian_sdk::SignMethod;
///
/// let body = br#"[{"tag":"0","msg_id":"0","data":"2023-11-15 06:13:20"}]"#;
/// // From doudian-sdk/tests/vectors/push_vectors.json, case `push_test_message`.
/// assert_eq!(
///     sign_push_body("7012345678901234567", "9f8e7d6c-5b4a-4321-8fed-cba987654321", body, SignMethod::Md5),
///     "ddd3e420dd44e625ce0775ee4d31d2e1"
/// );
/// ```
pub fn sign_push_body(app_key: &str, app_secret: &str, body: &[u8], sign_method: SignMethod) -> String {
    digest_parts(sign_method, app_secret, None, &[app_key.as_bytes(), body, app_secret.as_bytes()])
}

/// Verifies pushes for one app.
#[derive(Clone)]
pub struct PushVerifier {
    app_key: String,
    app_secret: AppSecret,
    /// Present when hmac-sha256 pushes are accepted: the key schedule, computed once.
    hmac: Option<HmacSha256>,
}

impl fmt::Debug for PushVerifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PushVerifier")
            .field("app_key", &self.app_key)
            .field("app_secret", &self.app_secret)
            .field("accepts_hmac_sha256", &self.hmac.is_some())
            .finish()
    }
}

impl PushVerifier {
    /// A verifier accepting md5 signatures (the documented form).
    pub fn new(app_key: impl Into<String>, app_secret: impl Into<AppSecret>) -> Self {
        PushVerifier { app_key: app_key.into(), app_secret: app_secret.into(), hmac: None }
    }

    /// Also accept hmac-sha256 signatures (unverified against the platform; off by default).
    pub fn accept_hmac_sha256(mut self, accept: bool) -> Self {
        self.hmac = accept.then(|| hmac_for(self.app_secret.expose()));
        self
    }

    /// The app key pushes must carry.
    pub fn app_key(&self) -> &str {
        &self.app_key
    }

    /// Checks the `app-id` and `event-sign` header values against the raw body.
    ///
    /// Errors: a missing `app-id` is [`VerifyError::Malformed`], another app's is
    /// [`VerifyError::WrongAppKey`]; a missing `event-sign` is
    /// [`VerifyError::MissingSignature`], a wrong one [`VerifyError::BadSignature`].
    pub fn verify(&self, app_id: Option<&str>, event_sign: Option<&str>, body: &[u8]) -> Result<(), Error> {
        self.verify_bytes(app_id.map(str::as_bytes), event_sign.map(str::as_bytes), body)
    }

    /// [`verify`](Self::verify) with the headers given as `(name, value)` pairs, names
    /// matched case-insensitively (an `http::HeaderMap`'s `iter()` fits, as does a slice of
    /// string pairs). The first header of each name counts.
    ///
    /// ```rust
    /// use doudian_sdk::push::{sign_push_body, PushVerifier};
    /// use doudian_sdk::SignMethod;
    ///
    /// let verifier = PushVerifier::new("key", "secret");
    /// let body = b"[]";
    /// let sign = sign_push_body("key", "secret", body, SignMethod::Md5);
    /// let headers = [("App-Id", "key"), ("Event-Sign", sign.as_str()), ("Content-Type", "application/json")];
    /// assert!(verifier.verify_headers(headers, body).is_ok());
    /// ```
    pub fn verify_headers<I, N, V>(&self, headers: I, body: &[u8]) -> Result<(), Error>
    where
        I: IntoIterator<Item = (N, V)>,
        N: AsRef<str>,
        V: AsRef<[u8]>,
    {
        let (mut app_id, mut event_sign) = (None, None);
        for (name, value) in headers {
            let name = name.as_ref();
            if app_id.is_none() && name.eq_ignore_ascii_case(APP_ID_HEADER) {
                app_id = Some(value.as_ref().to_vec());
            } else if event_sign.is_none() && name.eq_ignore_ascii_case(EVENT_SIGN_HEADER) {
                event_sign = Some(value.as_ref().to_vec());
            }
        }
        self.verify_bytes(app_id.as_deref(), event_sign.as_deref(), body)
    }

    fn verify_bytes(&self, app_id: Option<&[u8]>, event_sign: Option<&[u8]>, body: &[u8]) -> Result<(), Error> {
        match app_id {
            None => return Err(VerifyError::Malformed(format!("the `{APP_ID_HEADER}` header is missing")).into()),
            Some(id) if id != self.app_key.as_bytes() => {
                return Err(VerifyError::WrongAppKey(shortened(&String::from_utf8_lossy(id))).into())
            }
            Some(_) => {}
        }
        let Some(received) = event_sign else {
            return Err(VerifyError::MissingSignature.into());
        };
        let secret = self.app_secret.expose();
        let parts: [&[u8]; 3] = [self.app_key.as_bytes(), body, secret.as_bytes()];
        let expected = match (received.len(), &self.hmac) {
            (32, _) => digest_parts(SignMethod::Md5, secret, None, &parts),
            (64, Some(hmac)) => digest_parts(SignMethod::HmacSha256, secret, Some(hmac), &parts),
            _ => return Err(VerifyError::BadSignature.into()),
        };
        if hex_signature_matches(&expected, received) {
            Ok(())
        } else {
            Err(VerifyError::BadSignature.into())
        }
    }

    /// Verifies the push and parses its records ([`verify`](Self::verify) then [`parse_body`]).
    pub fn receive(
        &self,
        app_id: Option<&str>,
        event_sign: Option<&str>,
        body: &[u8],
    ) -> Result<Vec<PushRecord>, Error> {
        self.verify(app_id, event_sign, body)?;
        parse_body(body)
    }

    /// [`receive`](Self::receive) with the headers as `(name, value)` pairs.
    pub fn receive_headers<I, N, V>(&self, headers: I, body: &[u8]) -> Result<Vec<PushRecord>, Error>
    where
        I: IntoIterator<Item = (N, V)>,
        N: AsRef<str>,
        V: AsRef<[u8]>,
    {
        self.verify_headers(headers, body)?;
        parse_body(body)
    }
}

/// A caller-supplied value for an error message, cut to 64 bytes (at a char boundary) so a
/// hostile request cannot flood the logs.
pub(crate) fn shortened(value: &str) -> String {
    const LIMIT: usize = 64;
    if value.len() <= LIMIT {
        return value.to_owned();
    }
    let mut end = LIMIT;
    while !value.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &value[..end])
}

/// One record of a push, `data` still JSON text.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct PushRecord {
    /// The message kind, e.g. `"100"` (order created); `"0"` is the platform's test push.
    pub tag: String,
    /// The message id: redeliveries carry the same one.
    pub msg_id: String,
    /// The message body: the JSON text that the record's `data` string held.
    pub data: String,
}

impl PushRecord {
    /// A record (for tests and for gateways that build pushes).
    pub fn new(tag: impl Into<String>, msg_id: impl Into<String>, data: impl Into<String>) -> Self {
        PushRecord { tag: tag.into(), msg_id: msg_id.into(), data: data.into() }
    }

    /// Whether this is the platform's test push (tag `"0"`): acknowledge it, nothing else.
    pub fn is_test(&self) -> bool {
        self.tag == TEST_TAG
    }

    /// The tag as a number, when it is one.
    pub fn tag_number(&self) -> Option<u32> {
        self.tag.parse().ok()
    }

    /// The typed message of this record: [`PushEvent::Test`] for tag `"0"`,
    /// `PushEvent::Message` for a tag the SDK knows (feature `messages`),
    /// [`PushEvent::Unknown`] otherwise. A known tag whose data does not decode is an
    /// [`Error::Decode`] naming the JSON path.
    pub fn decode(&self) -> Result<PushEvent, Error> {
        if self.is_test() {
            return Ok(PushEvent::Test { msg_id: self.msg_id.clone(), data: self.data.clone() });
        }
        #[cfg(feature = "messages")]
        if let Some(event) = self.typed()? {
            return Ok(event);
        }
        let data = serde_json::from_str(&self.data).unwrap_or_else(|_| serde_json::Value::String(self.data.clone()));
        Ok(PushEvent::Unknown { tag: self.tag.clone(), msg_id: self.msg_id.clone(), data })
    }

    /// The typed message, when the tag is one the SDK has a type for.
    #[cfg(feature = "messages")]
    fn typed(&self) -> Result<Option<PushEvent>, Error> {
        let Some(tag) = self.tag_number() else { return Ok(None) };
        let decoded = Message::decode(tag, &self.data)
            .or_else(|| tags::registered_type(tag).and_then(|name| Message::decode_named(name, &self.data)));
        match decoded {
            Some(Ok(message)) => {
                Ok(Some(PushEvent::Message { tag, msg_id: self.msg_id.clone(), message: Box::new(message) }))
            }
            Some(Err(failure)) => {
                Err(message_error(format!("push message tag {tag} (msg_id {})", self.msg_id), failure, &self.data))
            }
            None => Ok(None),
        }
    }
}

/// The error for a message's `data` that does not decode into its type.
#[cfg(feature = "messages")]
fn message_error(context: String, failure: crate::de::DecodeFailure, data: &str) -> Error {
    crate::error::DecodeError {
        context,
        stage: crate::error::DecodeStage::Message,
        path: failure.path,
        message: failure.message,
        excerpt: crate::error::excerpt(data.as_bytes()),
        log_id: String::new(),
    }
    .into()
}

impl PushRecord {
    /// [`decode`](Self::decode), with a record that does not decode kept as
    /// [`PushEvent::Undecodable`] instead of an error.
    pub fn into_event(self) -> PushEvent {
        match self.decode() {
            Ok(event) => event,
            Err(error) => PushEvent::Undecodable {
                tag: self.tag_number().unwrap_or_default(),
                msg_id: self.msg_id,
                data: self.data,
                error: error.to_string(),
            },
        }
    }
}

/// A decoded push record.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum PushEvent {
    /// The platform's test push (tag `"0"`): acknowledge with [`SUCCESS_REPLY`].
    Test {
        /// The message id (the platform sends `"0"`).
        msg_id: String,
        /// Whatever the test carried (a date-time string in the one sample seen).
        data: String,
    },
    /// A message of a tag the SDK knows.
    #[cfg(feature = "messages")]
    #[cfg_attr(docsrs, doc(cfg(feature = "messages")))]
    Message {
        /// The tag, e.g. 100.
        tag: u32,
        /// The message id.
        msg_id: String,
        /// The typed message.
        message: Box<Message>,
    },
    /// A tag the SDK does not know (any tag but the test push without the `messages`
    /// feature), kept as JSON (or as a JSON string holding the raw text when `data` is not
    /// JSON).
    Unknown {
        /// The tag as sent.
        tag: String,
        /// The message id.
        msg_id: String,
        /// The parsed data.
        data: serde_json::Value,
    },
    /// A known tag whose data does not match its message type: kept whole, with the
    /// reason, so that nothing is lost ([`PushRecord::into_event`] gives it; the webhook
    /// handler passes it on to the application).
    Undecodable {
        /// The tag.
        tag: u32,
        /// The message id.
        msg_id: String,
        /// The data exactly as received.
        data: String,
        /// Why it did not decode (the decode error, with its JSON path).
        error: String,
    },
}

impl PushEvent {
    /// Whether this is the platform's test push.
    pub fn is_test(&self) -> bool {
        matches!(self, PushEvent::Test { .. })
    }

    /// Decodes the event's data as the message type `name` (type name, `TradeAppointment`,
    /// or event name, `trade_TradeAppointment`): the way to read a message whose tag the SDK
    /// does not know, [`PushEvent::Unknown`], or one that arrived
    /// [`Undecodable`](PushEvent::Undecodable). A typed event of that type is returned as is.
    ///
    /// ```rust
    /// use doudian_sdk::push::{Message, PushRecord};
    ///
    /// let event = PushRecord::new("777", "m1", r#"{"order_code":"0654497435","third_cid":"31631"}"#).into_event();
    /// let Message::BtasSellerSendOrderToSc(message) = event.decode_as("btas_sellerSendOrderToSc").unwrap() else {
    ///     panic!()
    /// };
    /// assert_eq!(message.order_code.as_deref(), Some("0654497435"));
    /// assert!(event.decode_as("NoSuchMessage").is_err());
    /// ```
    #[cfg(feature = "messages")]
    #[cfg_attr(docsrs, doc(cfg(feature = "messages")))]
    pub fn decode_as(&self, name: &str) -> Result<Message, Error> {
        let text = match self {
            PushEvent::Message { message, .. } if Message::type_name(name) == Some(message.name()) => {
                return Ok((**message).clone())
            }
            PushEvent::Message { message, .. } => {
                return Err(Error::config(format!("the push is a `{}`, not `{name}`", message.name())))
            }
            PushEvent::Unknown { data, .. } => data.to_string(),
            PushEvent::Undecodable { data, .. } | PushEvent::Test { data, .. } => data.clone(),
        };
        match Message::decode_named(name, &text) {
            None => Err(Error::config(format!("push message `{name}` is not a message type the SDK has"))),
            Some(Ok(message)) => Ok(message),
            Some(Err(failure)) => {
                Err(message_error(format!("push message `{name}` (msg_id {})", self.msg_id()), failure, &text))
            }
        }
    }

    /// The message id.
    pub fn msg_id(&self) -> &str {
        match self {
            #[cfg(feature = "messages")]
            PushEvent::Message { msg_id, .. } => msg_id,
            PushEvent::Test { msg_id, .. }
            | PushEvent::Unknown { msg_id, .. }
            | PushEvent::Undecodable { msg_id, .. } => msg_id,
        }
    }
}

#[derive(Deserialize)]
struct WireRecord<'a> {
    #[serde(borrow)]
    tag: Option<&'a RawValue>,
    #[serde(borrow)]
    msg_id: Option<&'a RawValue>,
    #[serde(borrow)]
    data: Option<&'a RawValue>,
}

fn malformed(message: impl Into<String>) -> Error {
    VerifyError::Malformed(message.into()).into()
}

/// A string field as its text; a number as its digits. (`null` arrives as `None`: serde
/// reads a JSON null into an absent `Option<&RawValue>`.)
fn text_field(raw: Option<&RawValue>, name: &str, index: usize, allow_any_json: bool) -> Result<String, Error> {
    let Some(raw) = raw else { return Ok(String::new()) };
    let text = raw.get();
    match text.as_bytes().first() {
        Some(b'"') => serde_json::from_str::<String>(text)
            .map_err(|e| malformed(format!("record {index}: `{name}` is not a valid string: {e}"))),
        Some(b'-' | b'0'..=b'9') => Ok(text.to_owned()),
        _ if allow_any_json => Ok(text.to_owned()),
        _ => Err(malformed(format!("record {index}: `{name}` must be a string"))),
    }
}

/// Parses a push body (a JSON array of `{tag, msg_id, data}` records) without verifying it.
/// Any body that is not that shape is a [`VerifyError::Malformed`].
///
/// ```rust
/// use doudian_sdk::push::parse_body;
///
/// let records = parse_body(br#"[{"tag":"100","msg_id":"7301","data":"{\"p_id\":1}"}]"#).unwrap();
/// assert_eq!((records[0].tag.as_str(), records[0].msg_id.as_str(), records[0].data.as_str()), ("100", "7301", r#"{"p_id":1}"#));
/// assert!(parse_body(b"{}").is_err());
/// ```
pub fn parse_body(body: &[u8]) -> Result<Vec<PushRecord>, Error> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Err(malformed("the push body is empty"));
    }
    let raw: Vec<&RawValue> = serde_json::from_slice(body)
        .map_err(|e| malformed(format!("the push body is not a JSON array of {{tag, msg_id, data}} records: {e}")))?;
    raw.into_iter()
        .enumerate()
        .map(|(index, raw)| {
            // Objects only: serde would also read a positional array `["100","1","{}"]`
            // into the record's fields, which no platform push looks like.
            if !raw.get().starts_with('{') {
                return Err(malformed(format!("record {index} is not a {{tag, msg_id, data}} object")));
            }
            let record: WireRecord<'_> = serde_json::from_str(raw.get())
                .map_err(|e| malformed(format!("record {index} is not a {{tag, msg_id, data}} object: {e}")))?;
            let tag = text_field(record.tag, "tag", index, false)?;
            if tag.is_empty() {
                return Err(malformed(format!("record {index}: `tag` is missing")));
            }
            Ok(PushRecord {
                tag,
                msg_id: text_field(record.msg_id, "msg_id", index, false)?,
                data: text_field(record.data, "data", index, true)?,
            })
        })
        .collect()
}

/// Remembers which `msg_id`s were already handled, so a redelivered push is processed once:
/// in memory ([`RecentMessages`]), or shared between processes (`redis::RedisSeenStore`,
/// a database), hence asynchronous and fallible. An `Arc` of a store is one too.
pub trait SeenStore: Send + Sync + 'static {
    /// `Ok(true)` the first time `msg_id` is offered (and remembers it), `Ok(false)` after.
    fn first_time<'a>(&'a self, msg_id: &'a str) -> BoxFuture<'a, Result<bool, Error>>;
    /// Forgets `msg_id`, so that a redelivery is processed (handling it failed).
    fn forget<'a>(&'a self, msg_id: &'a str) -> BoxFuture<'a, Result<(), Error>>;
}

impl<S: SeenStore + ?Sized> SeenStore for Arc<S> {
    fn first_time<'a>(&'a self, msg_id: &'a str) -> BoxFuture<'a, Result<bool, Error>> {
        (**self).first_time(msg_id)
    }
    fn forget<'a>(&'a self, msg_id: &'a str) -> BoxFuture<'a, Result<(), Error>> {
        (**self).forget(msg_id)
    }
}

/// The records whose `msg_id` is seen for the first time, now remembered as seen.
///
/// Records without a `msg_id` are always kept: they cannot be told apart. So is a record
/// the store cannot answer for (logged at `warn`): a push handled twice is better than
/// one lost.
pub async fn first_time_only<S: SeenStore + ?Sized>(records: Vec<PushRecord>, seen: &S) -> Vec<PushRecord> {
    let mut fresh = Vec::with_capacity(records.len());
    for record in records {
        if record.msg_id.is_empty() {
            fresh.push(record);
            continue;
        }
        match seen.first_time(&record.msg_id).await {
            Ok(true) => fresh.push(record),
            Ok(false) => tracing::debug!(msg_id = %record.msg_id, "push redelivery dropped"),
            Err(error) => {
                tracing::warn!(msg_id = %record.msg_id, error = %crate::error::Chain(&error),
                    "seen-store failed; processing the push anyway");
                fresh.push(record);
            }
        }
    }
    fresh
}

/// An in-memory [`SeenStore`] holding the most recent `capacity` ids: memory stays
/// bounded (about `capacity` × (id length + 64) bytes); the oldest ids are evicted first.
/// Share it between handlers behind an `Arc`. Memory only: a restart forgets everything.
/// [`insert`](Self::insert) and [`remove`](Self::remove) answer at once, without the trait.
///
/// ```rust
/// use doudian_sdk::push::{first_time_only, PushRecord, RecentMessages};
///
/// let seen = RecentMessages::new(2);
/// assert!(seen.insert("a"));
/// assert!(!seen.insert("a"));
/// seen.insert("b");
/// seen.insert("c"); // evicts "a"
/// assert!(seen.insert("a"));
///
/// # futures_util::future::FutureExt::now_or_never(async {
/// let records = vec![PushRecord::new("100", "x", "{}"), PushRecord::new("100", "x", "{}")];
/// assert_eq!(first_time_only(records, &RecentMessages::new(10)).await.len(), 1);
/// # }).unwrap();
/// ```
#[derive(Debug)]
pub struct RecentMessages {
    capacity: usize,
    state: Mutex<RecentState>,
}

#[derive(Debug, Default)]
struct RecentState {
    ids: HashSet<Arc<str>>,
    oldest_first: VecDeque<Arc<str>>,
}

impl RecentMessages {
    /// Remembers up to `capacity` ids (at least one).
    pub fn new(capacity: usize) -> Self {
        RecentMessages { capacity: capacity.max(1), state: Mutex::new(RecentState::default()) }
    }

    /// How many ids are remembered now.
    pub fn len(&self) -> usize {
        self.lock().ids.len()
    }

    /// Whether no id is remembered.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Remembers `msg_id`: `true` when it was not remembered yet (the first time),
    /// `false` after. The oldest id is evicted when the store is full.
    pub fn insert(&self, msg_id: &str) -> bool {
        let mut state = self.lock();
        if state.ids.contains(msg_id) {
            return false;
        }
        while state.ids.len() >= self.capacity {
            match state.oldest_first.pop_front() {
                Some(oldest) => {
                    state.ids.remove(&oldest);
                }
                None => break,
            }
        }
        let id: Arc<str> = Arc::from(msg_id);
        state.ids.insert(id.clone());
        state.oldest_first.push_back(id);
        true
    }

    /// Forgets `msg_id`.
    pub fn remove(&self, msg_id: &str) {
        let mut state = self.lock();
        if state.ids.remove(msg_id) {
            state.oldest_first.retain(|id| &**id != msg_id);
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, RecentState> {
        // A panic elsewhere while holding the lock leaves the sets consistent enough to use.
        self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl SeenStore for RecentMessages {
    fn first_time<'a>(&'a self, msg_id: &'a str) -> BoxFuture<'a, Result<bool, Error>> {
        let first = self.insert(msg_id);
        Box::pin(async move { Ok(first) })
    }
    fn forget<'a>(&'a self, msg_id: &'a str) -> BoxFuture<'a, Result<(), Error>> {
        self.remove(msg_id);
        Box::pin(async { Ok(()) })
    }
}

#[cfg(test)]
mod tests {
    use super::{
        first_time_only, parse_body, shortened, sign_push_body, AppSecret, Arc, BoxFuture, Error, PushRecord,
        PushVerifier, RecentMessages, SeenStore, SignMethod, VerifyError,
    };

    const KEY: &str = "app-key";
    const SECRET: &str = "app-secret";
    const BODY: &[u8] = br#"[{"tag":"0","msg_id":"1","data":"{}"}]"#;

    fn verifier() -> PushVerifier {
        PushVerifier::new(KEY, AppSecret::new(SECRET))
    }

    #[test]
    fn debug_names_the_app_and_hides_the_secret() {
        let text = format!("{:?}", verifier().accept_hmac_sha256(true));
        assert!(text.starts_with("PushVerifier {") && text.contains("\"app-key\""), "{text}");
        assert!(text.contains("accepts_hmac_sha256: true") && !text.contains(SECRET), "{text}");
        assert_eq!(verifier().app_key(), KEY);
    }

    #[test]
    fn headers_count_in_any_order_and_the_first_of_each_name_wins() {
        let sign = sign_push_body(KEY, SECRET, BODY, SignMethod::Md5);
        let sign_first = [("Event-Sign", sign.as_str()), ("App-Id", KEY)];
        assert_eq!(verifier().receive_headers(sign_first, BODY).unwrap().len(), 1);
        let zeros = "0".repeat(32);
        let repeated = [("event-sign", sign.as_str()), ("EVENT-SIGN", &zeros), ("app-id", KEY), ("App-Id", "other")];
        assert!(verifier().verify_headers(repeated, BODY).is_ok());
        let wrong_first = [("event-sign", zeros.as_str()), ("event-sign", sign.as_str()), ("app-id", KEY)];
        let refused = verifier().verify_headers(wrong_first, BODY).unwrap_err();
        assert!(matches!(refused, Error::Verify(ref e) if matches!(**e, VerifyError::BadSignature)), "{refused:?}");
    }

    #[test]
    fn long_caller_values_are_cut_at_a_character_boundary() {
        // 63 ASCII bytes, then a 3-byte character across byte 64.
        let straddling = format!("{}订单", "x".repeat(63));
        assert_eq!(shortened(&straddling), format!("{}…", "x".repeat(63)));
        assert_eq!(shortened(&"y".repeat(64)), "y".repeat(64));
        assert_eq!(shortened(&"z".repeat(65)), format!("{}…", "z".repeat(64)));
    }

    #[test]
    fn null_msg_id_and_data_read_as_empty() {
        let records = parse_body(br#"[{"tag":"100","msg_id":null,"data":null}]"#).unwrap();
        assert_eq!(records, vec![PushRecord::new("100", "", "")]);
        let numbers = parse_body(br#"[{"tag":105,"msg_id":-7,"data":"{}"}]"#).unwrap();
        assert_eq!(numbers, vec![PushRecord::new("105", "-7", "{}")]);
    }

    #[tokio::test]
    async fn the_store_behind_an_arc_and_the_trait_is_the_same_store() {
        let seen = Arc::new(RecentMessages::new(10));
        let handler_view: Arc<dyn SeenStore> = seen.clone();
        // The `Arc`'s own impl (method lookup takes it before the `dyn` one behind it).
        assert!(SeenStore::first_time(&handler_view, "m1").await.unwrap());
        assert!(!SeenStore::first_time(&handler_view, "m1").await.unwrap());
        assert!(!seen.insert("m1"), "remembered in the shared store");
        SeenStore::forget(&handler_view, "m1").await.unwrap();
        assert!(seen.is_empty(), "forgotten in the shared store");
        assert!(SeenStore::first_time(&*seen, "m1").await.unwrap(), "a forgotten id is new again");
        SeenStore::forget(&*seen, "m1").await.unwrap();
        assert!(seen.is_empty());
    }

    #[test]
    fn recent_messages_hold_at_most_their_capacity() {
        let seen = RecentMessages::new(3);
        for id in ["a", "b", "c", "d", "e"] {
            assert!(seen.insert(id));
            assert!(seen.len() <= 3);
        }
        assert_eq!(seen.len(), 3);
        assert!(!seen.insert("e") && !seen.insert("c"));
        assert!(seen.insert("a"), "the oldest ids were dropped");
        seen.remove("d");
        assert_eq!(seen.len(), 2);
        // Eviction goes on in arrival order after a remove: "e", then "a".
        for id in ["f", "g", "h"] {
            assert!(seen.insert(id));
        }
        assert_eq!(seen.len(), 3);
        assert!(seen.insert("e") && seen.insert("a"));
        assert!(seen.insert("x") && RecentMessages::new(0).insert("x"), "a capacity of 0 still remembers one id");
        seen.remove("never seen");
        assert_eq!(seen.len(), 3);
    }

    /// Answers from a script: new, seen, or down.
    struct Scripted(std::sync::Mutex<Vec<Result<bool, ()>>>);

    impl SeenStore for Scripted {
        fn first_time<'a>(&'a self, _: &'a str) -> BoxFuture<'a, Result<bool, Error>> {
            let answer = self.0.lock().unwrap().remove(0);
            Box::pin(async move { answer.map_err(|()| Error::Store { message: "down".into(), source: None }) })
        }
        fn forget<'a>(&'a self, _: &'a str) -> BoxFuture<'a, Result<(), Error>> {
            Box::pin(async { Ok(()) })
        }
    }

    #[tokio::test]
    async fn first_time_only_keeps_new_records_those_without_an_id_and_those_the_store_cannot_answer_for() {
        let records: Vec<PushRecord> =
            ["1", "", "2", "3", "4"].iter().map(|id| PushRecord::new("100", *id, "{}")).collect();
        // "" is not asked about; "1" is new, "2" seen, "3" unanswered, "4" new.
        let store = Scripted(std::sync::Mutex::new(vec![Ok(true), Ok(false), Err(()), Ok(true)]));
        let kept = first_time_only(records, &store).await;
        let ids: Vec<&str> = kept.iter().map(|r| r.msg_id.as_str()).collect();
        assert_eq!(ids, ["1", "", "3", "4"]);
        assert!(store.0.lock().unwrap().is_empty(), "asked once per record with an id");
    }

    /// Without the `messages` feature no tag has a type: every record but the test push is
    /// kept as JSON, nothing is refused. (CI runs this in its feature-matrix step.)
    #[cfg(not(feature = "messages"))]
    #[test]
    fn without_typed_messages_every_tag_is_kept_as_json() {
        use super::PushEvent;
        let record = PushRecord { tag: "100".into(), msg_id: "7".into(), data: r#"{"p_id":"x"}"#.into() };
        let event = record.decode().unwrap();
        assert_eq!(
            event,
            PushEvent::Unknown { tag: "100".into(), msg_id: "7".into(), data: serde_json::json!({"p_id": "x"}) }
        );
        assert_eq!(event.msg_id(), "7");
    }
}
