//! One error type for everything a call can run into.

use std::fmt;

/// The result of an SDK call.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong. Third-party errors are reachable only through
/// [`std::error::Error::source`], so their types never become part of this API.
///
/// ```
/// use doudian_sdk::client::decode_reply;
///
/// let body = br#"{"code":60000,"msg":"too fast","sub_code":"isv.traffic-limited","sub_msg":"","log_id":"L1"}"#;
/// let err = decode_reply::<serde_json::Value>("order.searchList", body.to_vec()).unwrap_err();
/// assert!(err.is_rate_limited() && err.is_retryable());
/// assert_eq!(err.log_id(), Some("L1"));
/// assert_eq!(err.api().unwrap().code, 60000);
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The platform answered with an error envelope.
    #[error(transparent)]
    Api(Box<ApiError>),
    /// The request did not complete: connection, TLS, timeout, HTTP status, body limit.
    #[error(transparent)]
    Transport(Box<TransportError>),
    /// The reply (or a push message) is not what the spec says.
    #[error(transparent)]
    Decode(Box<DecodeError>),
    /// A push message or SPI call failed verification.
    #[error(transparent)]
    Verify(Box<VerifyError>),
    /// A binary material upload failed after (or instead of) its `open.materialToken` call:
    /// reading the material, the upload address, or the PUT of the bytes.
    #[error(transparent)]
    Upload(Box<UploadError>),
    /// The client or a call is configured wrongly (missing credentials, no shop to act for).
    #[error("configuration error: {0}")]
    Config(String),
    /// A request could not be built, so nothing was sent: parameters that do not serialise
    /// to a JSON object, JSON text that does not parse, a textual id where the platform
    /// takes a number, a page size out of the method's range.
    #[error("invalid request: {0}")]
    InvalidRequest(String),
    /// The parameters break the method's schema ([`CallOptions::validate`](crate::CallOptions::validate)),
    /// so nothing was sent: every violation, each with its JSON path.
    #[cfg(feature = "schema")]
    #[cfg_attr(docsrs, doc(cfg(feature = "schema")))]
    #[error("invalid parameters for {method}: {}", crate::schema::Violations(violations))]
    InvalidParams {
        /// The method called.
        method: String,
        /// What is wrong, in document order.
        violations: Vec<crate::schema::Violation>,
    },
    /// The token store failed to load or save a token.
    #[error("token store error: {message}")]
    TokenStore {
        /// What failed.
        message: String,
        /// The underlying I/O or format error.
        #[source]
        source: Option<Box<dyn std::error::Error + Send + Sync>>,
    },
    /// Other shared state failed: a seen-message store, a shared rate limiter.
    #[error("shared store error: {message}")]
    Store {
        /// What failed.
        message: String,
        /// The underlying error.
        #[source]
        source: Option<Box<dyn std::error::Error + Send + Sync>>,
    },
}

/// An error envelope from the platform (`code != 10000`).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ApiError {
    /// The method called, e.g. `order.searchList`.
    pub method: String,
    /// The numeric code (`40003`, `60000`, ...).
    pub code: i64,
    /// The platform's message.
    pub msg: String,
    /// The sub-code, e.g. `isv.signature-invalid`.
    pub sub_code: String,
    /// The sub-message.
    pub sub_msg: String,
    /// The platform's log id: quote it when asking the platform for help.
    pub log_id: String,
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} failed: code {} ({})", self.method, self.code, self.msg)?;
        if !self.sub_code.is_empty() || !self.sub_msg.is_empty() {
            write!(f, ", sub_code {} ({})", self.sub_code, self.sub_msg)?;
        }
        if !self.log_id.is_empty() {
            write!(f, ", log_id {}", self.log_id)?;
        }
        Ok(())
    }
}

impl std::error::Error for ApiError {}

/// What kind of transport failure happened; decides whether a retry is safe.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum TransportKind {
    /// No connection could be made: the request was never sent, a retry is safe.
    Connect,
    /// The call took longer than its timeout; the request may have been processed.
    Timeout,
    /// The connection broke or the body could not be read after the request was sent.
    Io,
    /// The gateway answered with a non-200 HTTP status.
    Status(u16),
    /// The reply was larger than the configured limit.
    BodyTooLarge {
        /// The configured limit in bytes.
        limit: usize,
    },
}

/// A transport failure. Never carries the URL: the access token rides in its query.
///
/// Its message names the method and the kind of failure; the underlying error is its
/// [`source`](std::error::Error::source) only, so a chain printer ([`Chain`]) shows it once.
#[derive(Debug)]
#[non_exhaustive]
pub struct TransportError {
    /// The method called.
    pub method: String,
    /// What happened.
    pub kind: TransportKind,
    /// The underlying error, with any URL stripped.
    pub source: Option<Box<dyn std::error::Error + Send + Sync>>,
}

impl fmt::Display for TransportError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.kind {
            TransportKind::Connect => write!(f, "{}: could not connect", self.method),
            TransportKind::Timeout => write!(f, "{}: timed out", self.method),
            TransportKind::Io => write!(f, "{}: connection failed during the call", self.method),
            TransportKind::Status(status) => write!(f, "{}: HTTP status {status}", self.method),
            TransportKind::BodyTooLarge { limit } => {
                write!(f, "{}: response larger than the {limit}-byte limit", self.method)
            }
        }
    }
}

impl std::error::Error for TransportError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source.as_deref().map(|e| e as &(dyn std::error::Error + 'static))
    }
}

/// Which input a [`DecodeError`] is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum DecodeStage {
    /// A reply that is not a readable envelope: not JSON, truncated, no `code`. Whether the
    /// call was processed cannot be told.
    Envelope,
    /// A reply whose envelope says success but whose `data` does not match its type (or
    /// needs more memory than the decode budget): the call *was* processed.
    Data,
    /// Something other than a reply: a push message, an SPI call.
    Message,
}

/// A reply that does not decode: where in the JSON, why, and a short excerpt.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct DecodeError {
    /// What was being decoded, e.g. the method name or `push message tag 100`.
    pub context: String,
    /// Which input: a reply's envelope, a reply's data, or a message.
    pub stage: DecodeStage,
    /// The JSON path of the failing value, e.g. `data.shop_order_list[3].order_id`.
    pub path: String,
    /// The decoder's message.
    pub message: String,
    /// The start of the body (at most 256 bytes, cut at a character boundary).
    pub excerpt: String,
    /// The log id of the reply, when it could be read.
    pub log_id: String,
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: cannot decode reply at `{}`: {}", self.context, self.path, self.message)?;
        if !self.log_id.is_empty() {
            write!(f, " (log_id {})", self.log_id)?;
        }
        Ok(())
    }
}

impl std::error::Error for DecodeError {}

/// Why a push message or SPI call was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum VerifyError {
    /// The signature header or parameter is missing.
    #[error("signature missing")]
    MissingSignature,
    /// The signature does not match the body.
    #[error("signature does not match")]
    BadSignature,
    /// The `app-id` / `app_key` is not this app's.
    #[error("app key `{0}` is not this app's")]
    WrongAppKey(String),
    /// The SPI timestamp is outside the accepted window or unreadable.
    #[error("timestamp `{0}` is outside the accepted window")]
    StaleTimestamp(String),
    /// The body is not the documented shape.
    #[error("malformed body: {0}")]
    Malformed(String),
}

/// The step of a binary material upload (PROTOCOL.md §8) an [`UploadError`] is about.
///
/// The `open.materialToken` call itself fails like any call ([`Error::Api`],
/// [`Error::Transport`], ...) with `method == "open.materialToken"`; [`UploadStep::Token`]
/// is a successful reply without a usable `auth_query`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum UploadStep {
    /// Reading and measuring the material before anything is sent.
    Read,
    /// The `open.materialToken` reply.
    Token,
    /// The GET of `auth_query` that hands out the store URI, its credential and the host.
    Authorize,
    /// The PUT of the bytes to the upload host.
    Put,
}

impl fmt::Display for UploadStep {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            UploadStep::Read => "reading the material",
            UploadStep::Token => "open.materialToken",
            UploadStep::Authorize => "the upload address (GET auth_query)",
            UploadStep::Put => "the PUT of the bytes",
        })
    }
}

/// What went wrong in an [`UploadStep`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum UploadFailure {
    /// The material is larger than the limit; nothing was sent.
    TooLarge {
        /// The material's size in bytes (at least this many, for a reader).
        size: u64,
        /// The configured limit in bytes.
        limit: u64,
    },
    /// The file or reader could not be read.
    Read,
    /// The file changed between being checksummed and being sent; the PUT was aborted.
    SourceChanged,
    /// The HTTP exchange failed: no connection, a timeout, a broken connection, a non-2xx
    /// status without a readable refusal, or a reply over the size limit.
    Transport(TransportKind),
    /// The reply is not the documented shape (not JSON, a field missing).
    Malformed,
    /// The server refused: `ResponseMetadata.Error` of the address reply, or a PUT reply
    /// whose `success` is not 0.
    Refused {
        /// The HTTP status of the refusal.
        status: u16,
        /// The server's error code, as text (empty when it gave none).
        code: String,
    },
    /// The PUT was refused because the server's CRC-32 of the bytes differs from
    /// `Content-CRC32`: the bytes were damaged on the way.
    CrcMismatch {
        /// The HTTP status of the refusal.
        status: u16,
    },
}

impl fmt::Display for UploadFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            UploadFailure::TooLarge { size, limit } => {
                write!(f, "{size} bytes is over the {limit}-byte limit; nothing was sent")
            }
            UploadFailure::Read => f.write_str("cannot read the material"),
            UploadFailure::SourceChanged => f.write_str("the file changed while it was being sent"),
            UploadFailure::Transport(TransportKind::Connect) => f.write_str("could not connect"),
            UploadFailure::Transport(TransportKind::Timeout) => f.write_str("timed out"),
            UploadFailure::Transport(TransportKind::Io) => f.write_str("the connection failed during the exchange"),
            UploadFailure::Transport(TransportKind::Status(status)) => write!(f, "HTTP status {status}"),
            UploadFailure::Transport(TransportKind::BodyTooLarge { limit }) => {
                write!(f, "reply larger than the {limit}-byte limit")
            }
            UploadFailure::Malformed => f.write_str("the reply is not the documented shape"),
            UploadFailure::Refused { status, code } => write!(f, "refused (HTTP {status}, code `{code}`)"),
            UploadFailure::CrcMismatch { status } => {
                write!(f, "refused (HTTP {status}): the server's CRC-32 of the bytes differs from Content-CRC32")
            }
        }
    }
}

/// A failed binary material upload: the step, what happened, and what the server said.
/// Never carries a URL or a credential: the `auth_query` URL and the upload `Authorization`
/// are both credentials. The underlying error is its [`source`](std::error::Error::source)
/// only, never part of its message, so a chain printer ([`Chain`]) shows it once.
#[derive(Debug)]
#[non_exhaustive]
pub struct UploadError {
    /// Where the upload stopped.
    pub step: UploadStep,
    /// What happened.
    pub failure: UploadFailure,
    /// The server's message, or what exactly is missing or wrong.
    pub detail: String,
    /// The start of the reply body, for refusals without a readable message (empty when
    /// there was no reply, or when it may hold the upload credential).
    pub excerpt: String,
    /// The log id: `X-Tt-Logid` of the address reply, or the token call's.
    pub log_id: String,
    /// The underlying I/O or HTTP error, with any URL stripped.
    pub source: Option<Box<dyn std::error::Error + Send + Sync>>,
}

#[cfg(feature = "upload")]
impl UploadError {
    pub(crate) fn new(step: UploadStep, failure: UploadFailure, detail: impl Into<String>) -> Self {
        UploadError {
            step,
            failure,
            detail: detail.into(),
            excerpt: String::new(),
            log_id: String::new(),
            source: None,
        }
    }

    pub(crate) fn with_source(mut self, source: impl std::error::Error + Send + Sync + 'static) -> Self {
        self.source = Some(Box::new(source));
        self
    }
}

impl fmt::Display for UploadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "upload failed at {}: {}", self.step, self.failure)?;
        if !self.detail.is_empty() {
            write!(f, ": {}", self.detail)?;
        }
        if !self.excerpt.is_empty() {
            write!(f, "; reply: {}", self.excerpt)?;
        }
        if !self.log_id.is_empty() {
            write!(f, " (log_id {})", self.log_id)?;
        }
        Ok(())
    }
}

impl std::error::Error for UploadError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source.as_deref().map(|e| e as &(dyn std::error::Error + 'static))
    }
}

/// Displays an error followed by its causes (`cannot save: Permission denied (os error 13)`),
/// for logs and command-line messages that would otherwise drop the cause. A cause whose
/// text its parent already ends with is not repeated.
///
/// ```
/// use doudian_sdk::error::Chain;
/// let io = std::io::Error::new(std::io::ErrorKind::PermissionDenied, "Permission denied");
/// let error = doudian_sdk::Error::TokenStore { message: "cannot write tokens".into(), source: Some(Box::new(io)) };
/// assert_eq!(Chain(&error).to_string(), "token store error: cannot write tokens: Permission denied");
/// ```
#[derive(Clone, Copy)]
pub struct Chain<'a>(pub &'a (dyn std::error::Error + 'static));

impl fmt::Display for Chain<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut last = self.0.to_string();
        f.write_str(&last)?;
        let mut cause = self.0.source();
        while let Some(error) = cause {
            let text = error.to_string();
            if !text.is_empty() && !last.ends_with(&text) {
                write!(f, ": {text}")?;
            }
            last = text;
            cause = error.source();
        }
        Ok(())
    }
}

impl fmt::Debug for Chain<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// A lock that another holder kept longer than the store was willing to wait: the
/// [`source`](std::error::Error::source) of the [`Error::TokenStore`] that
/// [`FileTokenStore`](crate::token::FileTokenStore) returns then, so a caller can tell
/// "busy" from "broken" and name the file to look at.
///
/// ```
/// use doudian_sdk::error::LockTimeout;
///
/// fn lock_timeout(err: &doudian_sdk::Error) -> Option<&LockTimeout> {
///     std::error::Error::source(err)?.downcast_ref()
/// }
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct LockTimeout {
    /// The lock file.
    pub path: std::path::PathBuf,
    /// How long the store waited for it (its configured lock timeout).
    pub waited: std::time::Duration,
}

impl fmt::Display for LockTimeout {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} is still locked by another holder after {:?}", self.path.display(), self.waited)
    }
}

impl std::error::Error for LockTimeout {}

/// A token store that cannot enumerate its shops: the
/// [`source`](std::error::Error::source) of the [`Error::TokenStore`] that the default
/// [`TokenStore::list_page`](crate::token::TokenStore::list_page) returns. The bundled
/// stores (memory, file, Redis) all list.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ListingUnsupported {
    /// The store's type name.
    pub store: &'static str,
}

impl fmt::Display for ListingUnsupported {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "the token store {} cannot list its shops (it does not implement TokenStore::list_page)", self.store)
    }
}

impl std::error::Error for ListingUnsupported {}

/// The longest body excerpt kept in a [`DecodeError`].
pub const EXCERPT_LIMIT: usize = 256;

/// The start of `body`, at most [`EXCERPT_LIMIT`] bytes, cut at a character boundary.
pub fn excerpt(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(&body[..body.len().min(EXCERPT_LIMIT + 4)]);
    let mut end = text.len().min(EXCERPT_LIMIT);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    text[..end].to_owned()
}

impl Error {
    /// The platform error, when this is one.
    pub fn api(&self) -> Option<&ApiError> {
        match self {
            Error::Api(e) => Some(e),
            _ => None,
        }
    }

    /// The platform's log id, when the failure came with one.
    pub fn log_id(&self) -> Option<&str> {
        let id = match self {
            Error::Api(e) => &e.log_id,
            Error::Decode(e) => &e.log_id,
            Error::Upload(e) => &e.log_id,
            _ => return None,
        };
        (!id.is_empty()).then_some(id.as_str())
    }

    fn sub_code(&self) -> &str {
        self.api().map(|e| e.sub_code.as_str()).unwrap_or("")
    }

    fn code(&self) -> Option<i64> {
        self.api().map(|e| e.code)
    }

    /// The access token expired or is unknown: refresh it and call again.
    pub fn is_token_expired(&self) -> bool {
        matches!(self.sub_code(), "isv.access-token-expired" | "isv.access-token-no-existed")
    }

    /// The access token is not valid for this app, or missing.
    pub fn is_token_invalid(&self) -> bool {
        self.is_token_expired() || matches!(self.sub_code(), "isv.access-token-invalid" | "isv.access-token-missing")
    }

    /// The platform throttled the call (60000 / `isv.traffic-limited`).
    pub fn is_rate_limited(&self) -> bool {
        self.code() == Some(60000) || self.sub_code() == "isv.traffic-limited"
    }

    /// The app lacks the permission, or the shop's authorisation is gone (30001/30002).
    pub fn is_permission_denied(&self) -> bool {
        matches!(self.code(), Some(30001 | 30002))
    }

    /// The shop's authorisation no longer exists or was closed.
    pub fn is_authorization_gone(&self) -> bool {
        matches!(self.sub_code(), "dop.authorization-no-existed" | "dop.authorization-closed")
    }

    /// The signature was rejected: check the app secret and the sign method.
    pub fn is_signature_invalid(&self) -> bool {
        self.sub_code() == "isv.signature-invalid"
    }

    /// The platform is busy (20000 / `dop.service-error`).
    pub fn is_service_busy(&self) -> bool {
        self.code() == Some(20000) || self.sub_code() == "dop.service-error"
    }

    /// Whether calling again may succeed without any change, for *any* method, because the
    /// call was certainly not processed: rate limits (60000), a busy service (20000), a
    /// connection that could not be made, HTTP 503 or 429. The SDK retries these itself
    /// (see [`RetryPolicy`](crate::retry::RetryPolicy)).
    pub fn is_retryable(&self) -> bool {
        match self {
            Error::Api(_) => self.is_rate_limited() || self.is_service_busy(),
            Error::Transport(t) => matches!(t.kind, TransportKind::Connect | TransportKind::Status(503 | 429)),
            Error::Upload(u) => {
                matches!(u.failure, UploadFailure::Transport(TransportKind::Connect | TransportKind::Status(503 | 429)))
            }
            _ => false,
        }
    }

    /// Whether the call may have been processed although it failed — the outcome is
    /// unknown. For a write this means: **do not send it again blindly**; read the state
    /// back (was the order shipped? is the remark there?) and send again only if it was
    /// not applied. The contract, for every failure after the request may have reached the
    /// platform:
    ///
    /// * a timeout after the connection was made, a connection broken while sending or
    ///   reading;
    /// * an HTTP 5xx status other than 503 (a proxy's 502/504 may hide a processed call);
    /// * a reply that cannot be read: not JSON, truncated, without a code
    ///   ([`DecodeStage::Envelope`]), larger than the reply limit, or a success whose
    ///   `data` does not decode ([`DecodeStage::Data`]: processed for certain).
    ///
    /// For a material upload ([`Error::Upload`]) only the PUT can be ambiguous (a lost or
    /// unreadable PUT reply: the object may be stored). That is harmless — nothing refers
    /// to a store URI the caller never got — so uploading again is always safe; the SDK
    /// already retried the PUT itself (see `Client::upload_material`).
    ///
    /// Everything else is unambiguous: an [`ApiError`] (the platform refused the call and
    /// did nothing), or a failure before sending (see [`Error::is_retryable`]). Reads and
    /// idempotent writes are retried after ambiguous failures (except a data mismatch, which
    /// would fail again); read-back writes only with
    /// [`RetryPolicy::with_ambiguous_writes`](crate::retry::RetryPolicy::with_ambiguous_writes)
    /// (see [`RetryClass`](crate::retry::RetryClass)).
    pub fn is_ambiguous(&self) -> bool {
        match self {
            Error::Transport(t) => kind_is_ambiguous(t.kind),
            Error::Decode(d) => matches!(d.stage, DecodeStage::Envelope | DecodeStage::Data),
            Error::Upload(u) => {
                u.step == UploadStep::Put
                    && (u.failure == UploadFailure::Malformed
                        || matches!(u.failure, UploadFailure::Transport(kind) if kind_is_ambiguous(kind)))
            }
            _ => false,
        }
    }

    /// An ambiguous failure that a second attempt may get past (not a data mismatch or an
    /// oversized reply, which would come back the same).
    pub(crate) fn is_transient(&self) -> bool {
        match self {
            Error::Transport(t) => !matches!(t.kind, TransportKind::BodyTooLarge { .. }) && self.is_ambiguous(),
            Error::Decode(d) => d.stage == DecodeStage::Envelope,
            // The address GET only reads, and a PUT of the same bytes to the same store URI
            // is idempotent: both may be tried again after a lost reply.
            Error::Upload(u) => match &u.failure {
                UploadFailure::Transport(kind) => {
                    matches!(u.step, UploadStep::Authorize | UploadStep::Put)
                        && !matches!(kind, TransportKind::BodyTooLarge { .. })
                        && kind_is_ambiguous(*kind)
                }
                UploadFailure::Malformed => u.step == UploadStep::Put,
                _ => false,
            },
            _ => false,
        }
    }

    pub(crate) fn config(message: impl Into<String>) -> Self {
        Error::Config(message.into())
    }

    pub(crate) fn invalid_request(message: impl Into<String>) -> Self {
        Error::InvalidRequest(message.into())
    }
}

/// Transport failures after which the request may have been processed.
fn kind_is_ambiguous(kind: TransportKind) -> bool {
    matches!(
        kind,
        TransportKind::Timeout
            | TransportKind::Io
            | TransportKind::BodyTooLarge { .. }
            | TransportKind::Status(500..=502 | 504..=599)
    )
}

impl From<ApiError> for Error {
    fn from(e: ApiError) -> Self {
        Error::Api(Box::new(e))
    }
}

impl From<DecodeError> for Error {
    fn from(e: DecodeError) -> Self {
        Error::Decode(Box::new(e))
    }
}

impl From<TransportError> for Error {
    fn from(e: TransportError) -> Self {
        Error::Transport(Box::new(e))
    }
}

impl From<UploadError> for Error {
    fn from(e: UploadError) -> Self {
        Error::Upload(Box::new(e))
    }
}

impl From<VerifyError> for Error {
    fn from(e: VerifyError) -> Self {
        Error::Verify(Box::new(e))
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    #[test]
    fn a_chain_prints_each_cause_once() {
        let io = || std::io::Error::new(std::io::ErrorKind::PermissionDenied, "Permission denied");
        let store = Error::TokenStore { message: "cannot write t.json".into(), source: Some(Box::new(io())) };
        assert_eq!(Chain(&store).to_string(), "token store error: cannot write t.json: Permission denied");
        assert_eq!(format!("{:?}", Chain(&store)), Chain(&store).to_string());
        // Two levels of causes.
        let nested = Error::Store { message: "outer".into(), source: Some(Box::new(store)) };
        assert_eq!(
            Chain(&nested).to_string(),
            "shared store error: outer: token store error: cannot write t.json: Permission denied"
        );
        // A transport error's cause comes from `source()`, after its own message.
        let transport =
            Error::from(TransportError { method: "m".into(), kind: TransportKind::Io, source: Some(Box::new(io())) });
        assert_eq!(Chain(&transport).to_string(), "m: connection failed during the call: Permission denied");
        // A third-party parent that prints its cause as well does not get it twice.
        let store = Error::Store { message: "x: Permission denied".into(), source: Some(Box::new(io())) };
        assert_eq!(Chain(&store).to_string(), "shared store error: x: Permission denied");
        // No cause: the error alone.
        assert_eq!(Chain(&Error::config("x")).to_string(), "configuration error: x");
    }

    /// Every message of an error and its causes, joined without any de-duplication: what a
    /// chain printer that trusts the convention (anyhow's `{:#}`, say) shows.
    fn every_level(error: &(dyn std::error::Error + 'static)) -> String {
        let mut levels = vec![error.to_string()];
        let mut cause = error.source();
        while let Some(next) = cause {
            levels.push(next.to_string());
            cause = next.source();
        }
        levels.join(": ")
    }

    #[test]
    fn errors_with_a_source_leave_it_out_of_their_message() {
        let reset = || Box::new(std::io::Error::other("connection reset"));
        let transport =
            Error::from(TransportError { method: "m".into(), kind: TransportKind::Io, source: Some(reset()) });
        let upload = Error::from(UploadError {
            step: UploadStep::Put,
            failure: UploadFailure::Transport(TransportKind::Io),
            detail: String::new(),
            excerpt: String::new(),
            log_id: "L1".into(),
            source: Some(reset()),
        });
        let wrapped = Error::Store { message: "outer".into(), source: Some(Box::new(transport)) };
        for error in [&upload, &wrapped] {
            for printed in [every_level(error), Chain(error).to_string()] {
                assert_eq!(printed.matches("connection reset").count(), 1, "{printed}");
            }
        }
        assert_eq!(
            Chain(&upload).to_string(),
            "upload failed at the PUT of the bytes: the connection failed during the exchange (log_id L1): connection reset"
        );
        assert_eq!(
            every_level(&wrapped),
            "shared store error: outer: m: connection failed during the call: connection reset"
        );
    }

    /// A platform error of `order.searchList` with these codes (for tests across the crate).
    pub(crate) fn api(code: i64, sub_code: &str) -> Error {
        Error::from(ApiError {
            method: "order.searchList".into(),
            code,
            msg: "m".into(),
            sub_code: sub_code.into(),
            sub_msg: String::new(),
            log_id: String::new(),
        })
    }

    /// A transport failure of this kind (for tests across the crate).
    pub(crate) fn transport(kind: TransportKind) -> Error {
        Error::from(TransportError { method: "m".into(), kind, source: None })
    }

    fn decode(stage: DecodeStage) -> Error {
        Error::from(DecodeError {
            context: "m".into(),
            stage,
            path: "data".into(),
            message: "bad".into(),
            excerpt: String::new(),
            log_id: String::new(),
        })
    }

    fn upload(step: UploadStep, failure: UploadFailure) -> Error {
        Error::from(UploadError {
            step,
            failure,
            detail: String::new(),
            excerpt: String::new(),
            log_id: String::new(),
            source: None,
        })
    }

    /// The name of every classifier that holds for `error`.
    fn classes(error: &Error) -> Vec<&'static str> {
        [
            ("token_expired", error.is_token_expired()),
            ("token_invalid", error.is_token_invalid()),
            ("rate_limited", error.is_rate_limited()),
            ("permission_denied", error.is_permission_denied()),
            ("authorization_gone", error.is_authorization_gone()),
            ("signature_invalid", error.is_signature_invalid()),
            ("service_busy", error.is_service_busy()),
            ("retryable", error.is_retryable()),
            ("ambiguous", error.is_ambiguous()),
            ("transient", error.is_transient()),
        ]
        .into_iter()
        .filter_map(|(name, holds)| holds.then_some(name))
        .collect()
    }

    #[test]
    fn each_platform_error_is_classified_exactly() {
        let cases: &[(i64, &str, &[&str])] = &[
            (40004, "isv.access-token-expired", &["token_expired", "token_invalid"]),
            (40004, "isv.access-token-no-existed", &["token_expired", "token_invalid"]),
            (40004, "isv.access-token-invalid", &["token_invalid"]),
            (40004, "isv.access-token-missing", &["token_invalid"]),
            (60000, "", &["rate_limited", "retryable"]),
            (50002, "isv.traffic-limited", &["rate_limited", "retryable"]),
            (30001, "", &["permission_denied"]),
            (30002, "dop.authorization-no-existed", &["permission_denied", "authorization_gone"]),
            (50002, "dop.authorization-closed", &["authorization_gone"]),
            (40003, "isv.signature-invalid", &["signature_invalid"]),
            (20000, "", &["service_busy", "retryable"]),
            (50002, "dop.service-error", &["service_busy", "retryable"]),
            // Neighbours of the codes above mean nothing.
            (30000, "", &[]),
            (30003, "", &[]),
            (20001, "", &[]),
            (60001, "", &[]),
            (40003, "isv.access-token", &[]),
            (50002, "dop.authorization", &[]),
        ];
        for &(code, sub_code, expected) in cases {
            assert_eq!(classes(&api(code, sub_code)), expected, "{code} {sub_code}");
        }
    }

    #[test]
    fn sub_code_classifiers_need_a_platform_error() {
        // A non-API error has no code or sub-code: no platform classifier holds.
        let config = Error::config("x");
        assert!(classes(&config).is_empty());
        assert_eq!(config.api(), None);
        assert_eq!(config.log_id(), None);
        assert_eq!(api(60000, "").api().map(|e| e.code), Some(60000));
    }

    #[test]
    fn transport_failures_are_retryable_ambiguous_or_final() {
        use TransportKind::*;
        let cases: &[(TransportKind, &[&str])] = &[
            (Connect, &["retryable"]),
            (Status(503), &["retryable"]),
            (Status(429), &["retryable"]),
            (Timeout, &["ambiguous", "transient"]),
            (Io, &["ambiguous", "transient"]),
            (Status(500), &["ambiguous", "transient"]),
            (Status(502), &["ambiguous", "transient"]),
            (Status(504), &["ambiguous", "transient"]),
            (Status(599), &["ambiguous", "transient"]),
            // Oversized replies come back the same: ambiguous but not worth another attempt.
            (BodyTooLarge { limit: 1 }, &["ambiguous"]),
            (Status(400), &[]),
            (Status(404), &[]),
            (Status(499), &[]),
            (Status(600), &[]),
        ];
        for &(kind, expected) in cases {
            assert_eq!(classes(&transport(kind)), expected, "{kind:?}");
        }
    }

    #[test]
    fn decode_failures_are_ambiguous_by_stage() {
        assert_eq!(classes(&decode(DecodeStage::Envelope)), ["ambiguous", "transient"]);
        assert_eq!(classes(&decode(DecodeStage::Data)), ["ambiguous"], "processed for certain: no retry");
        assert_eq!(classes(&decode(DecodeStage::Message)), [] as [&str; 0]);
        assert!(classes(&Error::from(VerifyError::BadSignature)).is_empty());
        let store = Error::Store { message: "x".into(), source: None };
        assert!(classes(&store).is_empty());
        assert!(classes(&Error::invalid_request("x")).is_empty(), "nothing was sent, and it would fail again");
    }

    #[test]
    fn upload_failures_are_ambiguous_only_for_the_put() {
        use TransportKind::*;
        use UploadFailure::Transport as T;
        use UploadStep::*;
        let cases: Vec<(UploadStep, UploadFailure, &[&str])> = vec![
            (Read, UploadFailure::Read, &[]),
            (Read, UploadFailure::TooLarge { size: 2, limit: 1 }, &[]),
            (Token, UploadFailure::Malformed, &[]),
            (Authorize, T(Connect), &["retryable"]),
            (Put, T(Status(503)), &["retryable"]),
            (Put, T(Status(429)), &["retryable"]),
            (Authorize, T(Status(404)), &[]),
            // The address GET only reads: transient, not ambiguous.
            (Authorize, T(Timeout), &["transient"]),
            (Authorize, T(Status(502)), &["transient"]),
            (Authorize, UploadFailure::Malformed, &[]),
            (Authorize, T(BodyTooLarge { limit: 1 }), &[]),
            (Token, T(Timeout), &[]),
            (Put, T(Timeout), &["ambiguous", "transient"]),
            (Put, T(Io), &["ambiguous", "transient"]),
            (Put, T(Status(500)), &["ambiguous", "transient"]),
            (Put, UploadFailure::Malformed, &["ambiguous", "transient"]),
            (Put, T(BodyTooLarge { limit: 1 }), &["ambiguous"]),
            (Put, UploadFailure::Refused { status: 400, code: "x".into() }, &[]),
            (Put, UploadFailure::CrcMismatch { status: 400 }, &[]),
            (Put, UploadFailure::SourceChanged, &[]),
        ];
        for (step, failure, expected) in cases {
            let error = upload(step, failure.clone());
            assert_eq!(classes(&error), expected, "{step:?} {failure:?}");
        }
    }

    #[test]
    fn log_ids_are_read_from_api_decode_and_upload_errors() {
        let mut e = ApiError {
            method: "m".into(),
            code: 1,
            msg: String::new(),
            sub_code: String::new(),
            sub_msg: String::new(),
            log_id: "L1".into(),
        };
        assert_eq!(Error::from(e.clone()).log_id(), Some("L1"));
        e.log_id.clear();
        assert_eq!(Error::from(e).log_id(), None, "an empty log id is none");
        let Error::Decode(mut d) = decode(DecodeStage::Data) else { unreachable!() };
        d.log_id = "L2".into();
        assert_eq!(Error::Decode(d).log_id(), Some("L2"));
        let Error::Upload(mut u) = upload(UploadStep::Put, UploadFailure::Malformed) else { unreachable!() };
        u.log_id = "L3".into();
        assert_eq!(Error::Upload(u).log_id(), Some("L3"));
        assert_eq!(transport(TransportKind::Io).log_id(), None);
    }

    #[test]
    fn messages_name_the_method_the_codes_and_the_log_id() {
        let mut e = ApiError {
            method: "order.searchList".into(),
            code: 40004,
            msg: "bad token".into(),
            sub_code: String::new(),
            sub_msg: String::new(),
            log_id: String::new(),
        };
        assert_eq!(e.to_string(), "order.searchList failed: code 40004 (bad token)");
        e.sub_msg = "why".into();
        assert_eq!(e.to_string(), "order.searchList failed: code 40004 (bad token), sub_code  (why)");
        e.sub_code = "isv.x".into();
        e.sub_msg.clear();
        e.log_id = "L".into();
        assert_eq!(e.to_string(), "order.searchList failed: code 40004 (bad token), sub_code isv.x (), log_id L");
        assert_eq!(
            Error::from(e).to_string(),
            "order.searchList failed: code 40004 (bad token), sub_code isv.x (), log_id L"
        );

        let cases = [
            (TransportKind::Connect, "m: could not connect"),
            (TransportKind::Timeout, "m: timed out"),
            (TransportKind::Io, "m: connection failed during the call"),
            (TransportKind::Status(502), "m: HTTP status 502"),
            (TransportKind::BodyTooLarge { limit: 9 }, "m: response larger than the 9-byte limit"),
        ];
        for (kind, text) in cases {
            assert_eq!(transport(kind).to_string(), text);
        }
        let with_source = TransportError {
            method: "m".into(),
            kind: TransportKind::Io,
            source: Some(Box::new(std::io::Error::other("reset"))),
        };
        assert_eq!(with_source.to_string(), "m: connection failed during the call", "the cause is source()'s");
        assert_eq!(std::error::Error::source(&with_source).map(|s| s.to_string()).as_deref(), Some("reset"));
        assert!(std::error::Error::source(&TransportError {
            method: "m".into(),
            kind: TransportKind::Io,
            source: None
        })
        .is_none());

        let Error::Decode(mut d) = decode(DecodeStage::Data) else { unreachable!() };
        assert_eq!(d.to_string(), "m: cannot decode reply at `data`: bad");
        d.log_id = "L".into();
        assert_eq!(d.to_string(), "m: cannot decode reply at `data`: bad (log_id L)");
        assert_eq!(Error::config("no key").to_string(), "configuration error: no key");
        assert_eq!(Error::invalid_request("not JSON").to_string(), "invalid request: not JSON");
    }

    #[test]
    fn upload_messages_name_the_step_the_failure_and_the_detail() {
        use TransportKind::*;
        let failures = [
            (UploadFailure::TooLarge { size: 9, limit: 5 }, "9 bytes is over the 5-byte limit; nothing was sent"),
            (UploadFailure::Read, "cannot read the material"),
            (UploadFailure::SourceChanged, "the file changed while it was being sent"),
            (UploadFailure::Transport(Connect), "could not connect"),
            (UploadFailure::Transport(Timeout), "timed out"),
            (UploadFailure::Transport(Io), "the connection failed during the exchange"),
            (UploadFailure::Transport(Status(500)), "HTTP status 500"),
            (UploadFailure::Transport(BodyTooLarge { limit: 7 }), "reply larger than the 7-byte limit"),
            (UploadFailure::Malformed, "the reply is not the documented shape"),
            (UploadFailure::Refused { status: 403, code: "Denied".into() }, "refused (HTTP 403, code `Denied`)"),
            (
                UploadFailure::CrcMismatch { status: 400 },
                "refused (HTTP 400): the server's CRC-32 of the bytes differs from Content-CRC32",
            ),
        ];
        for (failure, text) in failures {
            assert_eq!(failure.to_string(), text);
        }
        let steps = [
            (UploadStep::Read, "reading the material"),
            (UploadStep::Token, "open.materialToken"),
            (UploadStep::Authorize, "the upload address (GET auth_query)"),
            (UploadStep::Put, "the PUT of the bytes"),
        ];
        for (step, text) in steps {
            assert_eq!(step.to_string(), text);
        }
        let mut e = UploadError {
            step: UploadStep::Put,
            failure: UploadFailure::Malformed,
            detail: String::new(),
            excerpt: String::new(),
            log_id: String::new(),
            source: None,
        };
        assert_eq!(e.to_string(), "upload failed at the PUT of the bytes: the reply is not the documented shape");
        assert!(std::error::Error::source(&e).is_none());
        e.source = Some(Box::new(std::io::Error::other("eof")));
        assert_eq!(e.to_string(), "upload failed at the PUT of the bytes: the reply is not the documented shape");
        assert_eq!(std::error::Error::source(&e).map(|s| s.to_string()).as_deref(), Some("eof"));
        e.detail = "no success field".into();
        e.excerpt = "{}".into();
        e.log_id = "L".into();
        assert_eq!(
            e.to_string(),
            "upload failed at the PUT of the bytes: the reply is not the documented shape: no success field; reply: {} (log_id L)"
        );
    }

    #[test]
    fn excerpts_keep_256_bytes_cut_back_to_a_character_boundary() {
        assert_eq!(excerpt(b""), "");
        assert_eq!(excerpt(b"short"), "short");
        let ascii = vec![b'a'; 300];
        assert_eq!(excerpt(&ascii), "a".repeat(256));
        assert_eq!(excerpt(&ascii[..256]), "a".repeat(256));
        // A reply over 256 bytes whose 256th byte falls inside a Chinese character (3 bytes):
        // the character is left out whole, wherever the limit cuts it.
        for lead in [254, 255] {
            let mut body = "a".repeat(lead).into_bytes();
            body.extend_from_slice("中文回复".repeat(20).as_bytes());
            assert_eq!(excerpt(&body), "a".repeat(lead), "{lead} ASCII bytes, then Chinese");
        }
        let mut body = "a".repeat(253).into_bytes();
        body.extend_from_slice("中文".repeat(20).as_bytes());
        assert_eq!(excerpt(&body), "a".repeat(253) + "中", "a character ending at byte 256 is kept");
        // Invalid UTF-8 is replaced, never a panic.
        assert_eq!(excerpt(b"a\xffb"), "a\u{fffd}b");
    }
}
