//! The client: builds, signs and sends calls, decodes replies, manages tokens and retries.

use std::fmt;
use std::ops::{Deref, DerefMut};
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::future::BoxFuture;
use futures_util::stream::{self, Stream, TryStreamExt};
use serde::de::DeserializeOwned;
use serde::Deserialize;

use crate::error::{excerpt, ApiError, DecodeError, Error, Result, TransportError, TransportKind};
use crate::page::{Page, Paginated};
use crate::request::{method_path, Request};
use crate::retry::RetryPolicy;
use crate::secret::{AccessToken, AppSecret};
use crate::sign::{self, SignMethod};
use crate::token::{Grant, MemoryTokenStore, StoredToken, TokenEndpoint, TokenManager, TokenReply, TokenStore};

/// The production gateway.
pub const DEFAULT_BASE_URL: &str = "https://openapi-fxg.jinritemai.com";
/// The sandbox gateway (community-documented; not every app may use it).
pub const SANDBOX_BASE_URL: &str = "https://openapi-sandbox.jinritemai.com";
/// The default limit on a reply's size.
pub const DEFAULT_MAX_RESPONSE_BYTES: usize = 32 * 1024 * 1024;
const SUCCESS_CODE: i64 = 10000;

/// A Doudian API client. Cheap to clone: clones share one connection pool, one token
/// manager and one configuration.
///
/// ```no_run
/// # async fn run() -> doudian_sdk::Result<()> {
/// use doudian_sdk::Client;
/// let client = Client::builder("7012345678901234567", "app-secret").shop_id("4463798").build()?;
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Client {
    inner: Arc<Inner>,
    /// The shop (token key) this handle acts for; see [`Client::for_shop`].
    shop: Option<Arc<str>>,
}

struct Inner {
    http: reqwest::Client,
    base_url: String,
    /// The app key, the secret and the sign method; the HMAC key schedule is computed once.
    signer: sign::Signer,
    retry: RetryPolicy,
    max_response_bytes: usize,
    tokens: TokenManager,
    /// How to mint a token without user interaction (self-use apps).
    grant: Option<Grant>,
    extra_headers: Vec<(String, String)>,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("base_url", &self.inner.base_url)
            .field("signer", &self.inner.signer)
            .field("shop", &self.shop)
            .finish_non_exhaustive()
    }
}

/// Configures a [`Client`].
#[must_use]
pub struct ClientBuilder {
    app_key: String,
    app_secret: AppSecret,
    base_url: String,
    sign_method: SignMethod,
    connect_timeout: Duration,
    timeout: Duration,
    retry: RetryPolicy,
    max_response_bytes: usize,
    store: Option<Arc<dyn TokenStore>>,
    grant: Option<Grant>,
    refresh_window: Duration,
    test_shop: bool,
    user_agent: String,
    extra_headers: Vec<(String, String)>,
    use_env_proxy: bool,
}

impl ClientBuilder {
    /// Sets the gateway base URL (default [`DEFAULT_BASE_URL`]).
    pub fn base_url(mut self, url: impl Into<String>) -> Self {
        self.base_url = url.into();
        self
    }

    /// Uses the sandbox gateway and marks token requests as for a test shop.
    pub fn sandbox(mut self) -> Self {
        self.base_url = SANDBOX_BASE_URL.to_owned();
        self.test_shop = true;
        self
    }

    /// Sets the sign method (default hmac-sha256).
    pub fn sign_method(mut self, method: SignMethod) -> Self {
        self.sign_method = method;
        self
    }

    /// Sets the connect timeout (default 5 s).
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// Sets the total timeout of one attempt (default 15 s).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Sets the retry policy (default: 3 attempts, see [`RetryPolicy`]).
    pub fn retry(mut self, policy: RetryPolicy) -> Self {
        self.retry = policy;
        self
    }

    /// Sets the largest reply accepted (default 32 MiB).
    pub fn max_response_bytes(mut self, limit: usize) -> Self {
        self.max_response_bytes = limit;
        self
    }

    /// Sets where tokens are kept (default: in memory).
    pub fn token_store(mut self, store: Arc<dyn TokenStore>) -> Self {
        self.store = Some(store);
        self
    }

    /// A self-use app acting for its own shop: tokens are created with `shop_id` as needed,
    /// and calls act for this shop unless [`Client::for_shop`] says otherwise.
    pub fn shop_id(mut self, shop_id: impl Into<String>) -> Self {
        self.grant = Some(Grant::SelfUseShop { shop_id: shop_id.into() });
        self
    }

    /// A self-use app acting for a non-shop subject (`auth_id` + `auth_subject_type`).
    pub fn auth_subject(mut self, auth_id: impl Into<String>, subject_type: impl Into<String>) -> Self {
        self.grant = Some(Grant::SelfUseSubject { auth_id: auth_id.into(), subject_type: subject_type.into() });
        self
    }

    /// How long before expiry a token is refreshed (default 1 hour, the platform's window).
    pub fn refresh_window(mut self, window: Duration) -> Self {
        self.refresh_window = window;
        self
    }

    /// Marks token requests with `test_shop = "1"`.
    pub fn test_shop(mut self, test_shop: bool) -> Self {
        self.test_shop = test_shop;
        self
    }

    /// Adds a header to every call.
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.extra_headers.push((name.into(), value.into()));
        self
    }

    /// Sets the User-Agent.
    pub fn user_agent(mut self, agent: impl Into<String>) -> Self {
        self.user_agent = agent.into();
        self
    }

    /// Whether to use the proxy named by `HTTPS_PROXY` / `HTTP_PROXY` / `NO_PROXY` (default yes).
    pub fn env_proxy(mut self, use_it: bool) -> Self {
        self.use_env_proxy = use_it;
        self
    }

    /// Builds the client.
    pub fn build(self) -> Result<Client> {
        if self.app_key.trim().is_empty() {
            return Err(Error::config("app_key is empty"));
        }
        if self.app_secret.expose().is_empty() {
            return Err(Error::config("app_secret is empty"));
        }
        let base_url = self.base_url.trim_end_matches('/').to_owned();
        if !(base_url.starts_with("https://") || base_url.starts_with("http://")) {
            return Err(Error::config(format!("base URL `{base_url}` must start with https:// or http://")));
        }
        let mut http = reqwest::Client::builder()
            .use_rustls_tls()
            .https_only(false)
            .connect_timeout(self.connect_timeout)
            .timeout(self.timeout)
            .pool_idle_timeout(Duration::from_secs(60))
            .gzip(true)
            .user_agent(self.user_agent);
        if !self.use_env_proxy {
            http = http.no_proxy();
        }
        let http =
            http.build().map_err(|e| Error::config(format!("cannot build the HTTP client: {}", e.without_url())))?;
        let store = self.store.unwrap_or_else(|| Arc::new(MemoryTokenStore::new()));
        let shop = self.grant.as_ref().and_then(Grant::key).map(Arc::from);
        Ok(Client {
            inner: Arc::new(Inner {
                http,
                base_url,
                signer: sign::Signer::new(self.app_key, self.app_secret, self.sign_method),
                retry: self.retry,
                max_response_bytes: self.max_response_bytes,
                tokens: TokenManager::new(store, self.refresh_window, self.test_shop),
                grant: self.grant,
                extra_headers: self.extra_headers,
            }),
            shop,
        })
    }
}

/// Options for one call, overriding the client's.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct CallOptions {
    /// The retry policy for this call.
    pub retry: Option<RetryPolicy>,
    /// The total timeout of each attempt.
    pub timeout: Option<Duration>,
    /// Use this access token instead of the managed one (no refresh then).
    pub access_token: Option<AccessToken>,
    /// Send the call without any access token.
    pub without_token: bool,
    /// A log id to send as `x-tt-logid`, to find the call in the platform's logs.
    pub log_id: Option<String>,
}

impl CallOptions {
    /// Default options.
    pub fn new() -> Self {
        Self::default()
    }
    /// Sets the retry policy.
    pub fn retry(mut self, policy: RetryPolicy) -> Self {
        self.retry = Some(policy);
        self
    }
    /// Sets the timeout of each attempt.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }
    /// Uses an explicit access token.
    pub fn access_token(mut self, token: AccessToken) -> Self {
        self.access_token = Some(token);
        self
    }
    /// Sends the call without an access token.
    pub fn without_token(mut self) -> Self {
        self.without_token = true;
        self
    }
    /// Sets the `x-tt-logid` header.
    pub fn log_id(mut self, log_id: impl Into<String>) -> Self {
        self.log_id = Some(log_id.into());
        self
    }
}

/// A successful reply: the decoded `data` plus the platform's log id.
/// Derefs to the data, so fields read directly: `reply.total`.
#[derive(Debug, Clone, PartialEq)]
pub struct Response<T> {
    data: T,
    log_id: String,
}

impl<T> Response<T> {
    /// The platform's log id of the reply.
    pub fn log_id(&self) -> &str {
        &self.log_id
    }
    /// The decoded data.
    pub fn into_data(self) -> T {
        self.data
    }
    /// The decoded data, by reference.
    pub fn data(&self) -> &T {
        &self.data
    }
}

impl<T> Deref for Response<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.data
    }
}

impl<T> DerefMut for Response<T> {
    fn deref_mut(&mut self) -> &mut T {
        &mut self.data
    }
}

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
struct RawReply {
    body: Vec<u8>,
    log_id: String,
    /// The byte range of `data` in `body` (empty when absent or null).
    data: std::ops::Range<usize>,
}

impl Client {
    /// Starts configuring a client for an app.
    pub fn builder(app_key: impl Into<String>, app_secret: impl Into<AppSecret>) -> ClientBuilder {
        ClientBuilder {
            app_key: app_key.into(),
            app_secret: app_secret.into(),
            base_url: DEFAULT_BASE_URL.to_owned(),
            sign_method: SignMethod::default(),
            connect_timeout: Duration::from_secs(5),
            timeout: Duration::from_secs(15),
            retry: RetryPolicy::default(),
            max_response_bytes: DEFAULT_MAX_RESPONSE_BYTES,
            store: None,
            grant: None,
            refresh_window: Duration::from_secs(3600),
            test_shop: false,
            user_agent: concat!("doudian-sdk-rust/", env!("CARGO_PKG_VERSION")).to_owned(),
            extra_headers: Vec::new(),
            use_env_proxy: true,
        }
    }

    /// A handle acting for another shop (tool apps serve many shops from one client).
    /// It shares this client's connections and tokens.
    pub fn for_shop(&self, shop_id: impl AsRef<str>) -> Client {
        Client { inner: self.inner.clone(), shop: Some(Arc::from(shop_id.as_ref())) }
    }

    /// The shop this handle acts for.
    pub fn shop(&self) -> Option<&str> {
        self.shop.as_deref()
    }

    /// The app key.
    pub fn app_key(&self) -> &str {
        self.inner.signer.app_key()
    }

    /// The base URL.
    pub fn base_url(&self) -> &str {
        &self.inner.base_url
    }

    /// The token store.
    pub fn token_store(&self) -> &Arc<dyn TokenStore> {
        self.inner.tokens.store()
    }

    /// Tool apps: exchanges the `code` from a shop's consent redirect for a token, stores it
    /// under the shop's id, and returns a handle acting for that shop.
    pub async fn authorize_code(&self, code: impl Into<String>) -> Result<(Client, StoredToken)> {
        let token = self.inner.tokens.create(&Grant::AuthorizationCode(code.into()), &*self.inner).await?;
        Ok((self.for_shop(&token.shop_id), token))
    }

    /// A valid token for this handle's shop (created or refreshed as needed).
    pub async fn token(&self) -> Result<StoredToken> {
        let key = self.shop_key()?;
        self.inner.tokens.token(key, self.inner.grant.as_ref(), &*self.inner).await
    }

    fn shop_key(&self) -> Result<&str> {
        self.shop.as_deref().ok_or_else(|| {
            Error::config("no shop: configure ClientBuilder::shop_id, or use Client::for_shop / authorize_code")
        })
    }

    /// Calls the method of `request` and decodes its reply.
    pub async fn execute<R: Request>(&self, request: &R) -> Result<Response<R::Response>> {
        self.execute_with(request, &CallOptions::default()).await
    }

    /// [`Client::execute`] with per-call options.
    pub async fn execute_with<R: Request>(&self, request: &R, options: &CallOptions) -> Result<Response<R::Response>> {
        let param_json = sign::to_canonical_json(request)?;
        let reply = self.call_raw(R::METHOD, param_json, R::READ_ONLY, options).await?;
        decode_data(R::METHOD, &reply)
    }

    /// Calls any method by name with JSON parameters (text, canonicalised before signing),
    /// returning `data` as JSON. For methods the spec lacks, or tools like the CLI.
    pub async fn call_json(
        &self,
        method: &str,
        params_json: &str,
        options: &CallOptions,
    ) -> Result<Response<serde_json::Value>> {
        let param_json = sign::canonical_param_json(params_json)?;
        let read_only = crate::catalog::find(method).is_some_and(|m| m.read_only);
        let reply = self.call_raw(method, param_json, read_only, options).await?;
        decode_data(method, &reply)
    }

    /// The first page of a paginated request, as a [`Page`].
    pub async fn page<R>(&self, request: &R) -> Result<Page<R::Item>>
    where
        R: Paginated,
    {
        check_page_size(request)?;
        let page = request.page_number().unwrap_or(R::PAGE_BASE);
        let reply = self.execute(request).await?.into_data();
        let (items, total) = R::into_items(reply);
        Ok(Page::new(items, total, page, R::PAGE_BASE, request.page_size()))
    }

    /// Every page from the request's page on, one request at a time (bounded memory).
    pub fn pages<R>(&self, request: R) -> impl Stream<Item = Result<Page<R::Item>>> + Send + '_
    where
        R: Paginated + Send + Sync + 'static,
        R::Item: Send,
        R::Response: Send,
    {
        stream::try_unfold(Some(request), move |next| async move {
            let Some(mut request) = next else { return Ok(None) };
            let page = self.page(&request).await?;
            let following = if page.has_more {
                request.set_page_number(page.page + 1);
                Some(request)
            } else {
                None
            };
            Ok(Some((page, following)))
        })
    }

    /// Every item of every page from the request's page on.
    pub fn items<R>(&self, request: R) -> impl Stream<Item = Result<R::Item>> + Send + '_
    where
        R: Paginated + Send + Sync + 'static,
        R::Item: Send,
        R::Response: Send,
    {
        self.pages(request).map_ok(|page| stream::iter(page.items.into_iter().map(Ok))).try_flatten()
    }

    /// Signs and sends one call with retries and token handling; returns the checked reply.
    async fn call_raw(
        &self,
        method: &str,
        param_json: String,
        read_only: bool,
        options: &CallOptions,
    ) -> Result<RawReply> {
        let policy = options.retry.as_ref().unwrap_or(&self.inner.retry);
        let is_token_call = matches!(method, "token.create" | "token.refresh");
        let managed = !is_token_call && !options.without_token && options.access_token.is_none();
        let mut token: Option<AccessToken> = options.access_token.clone();
        let mut refreshed = false;
        let mut attempt = 0u32;
        loop {
            attempt += 1;
            if managed && token.is_none() {
                token = Some(self.token().await?.access_token);
            }
            let result = self.inner.send_once(method, &param_json, token.as_ref(), options, attempt).await;
            let error = match result {
                Ok(reply) => return Ok(reply),
                Err(e) => e,
            };
            if managed && !refreshed && error.is_token_expired() {
                refreshed = true;
                let rejected = token.take().unwrap_or_else(|| AccessToken::new(""));
                let key = self.shop_key()?;
                let fresh =
                    self.inner.tokens.replace_rejected(key, &rejected, self.inner.grant.as_ref(), &*self.inner).await?;
                token = Some(fresh.access_token);
                attempt -= 1; // the refresh-and-retry does not use up a retry
                continue;
            }
            let may_retry =
                error.is_retryable() || (error.is_ambiguous() && (read_only || policy.retry_ambiguous_writes));
            if !may_retry || attempt >= policy.max_attempts {
                return Err(error);
            }
            let delay = policy.backoff(attempt);
            tracing::debug!(method, attempt, delay_ms = delay.as_millis() as u64, error = %error, "retrying");
            tokio::time::sleep(delay).await;
        }
    }
}

fn check_page_size<R: Paginated>(request: &R) -> Result<()> {
    match (request.page_size(), R::MAX_PAGE_SIZE) {
        (Some(size), Some(max)) if size > max => {
            Err(Error::config(format!("{}: page size {size} is above the method's limit of {max}", R::METHOD)))
        }
        (Some(size), _) if size <= 0 => Err(Error::config(format!("{}: page size must be positive", R::METHOD))),
        _ => Ok(()),
    }
}

/// Checks a reply body's envelope and decodes its `data` into `T`: what
/// [`Client::execute`] does with every reply. Public for replaying recorded replies.
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
    decode_data(method, &check_envelope(method, body)?)
}

/// Decodes `data` of a checked reply into `T`, naming the JSON path on failure.
/// The envelope was parsed once already; only the `data` bytes are decoded here.
fn decode_data<T: DeserializeOwned>(method: &str, reply: &RawReply) -> Result<Response<T>> {
    let data: &[u8] = if reply.data.is_empty() { b"{}" } else { &reply.body[reply.data.clone()] };
    match crate::de::from_slice::<T>(data) {
        Ok(data) => Ok(Response { data, log_id: reply.log_id.clone() }),
        Err(failure) => {
            let path = if failure.path.is_empty() || failure.path == "." {
                "data".to_owned()
            } else {
                format!("data.{}", failure.path)
            };
            Err(decode_error(method, &path, failure.message, reply))
        }
    }
}

fn decode_error(method: &str, path: &str, message: String, reply: &RawReply) -> Error {
    Error::from(DecodeError {
        context: method.to_owned(),
        path: if path.is_empty() { "$".to_owned() } else { path.to_owned() },
        message,
        excerpt: excerpt(&reply.body),
        log_id: reply.log_id.clone(),
    })
}

/// Percent-encodes a query value (everything but RFC 3986 unreserved characters).
fn encode_query_value(out: &mut String, value: &str) {
    for byte in value.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'.' | b'~') {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
}

impl Inner {
    fn url(&self, method: &str, sign: &str, timestamp: &str, token: Option<&AccessToken>) -> String {
        let mut url = String::with_capacity(self.base_url.len() + 256);
        url.push_str(&self.base_url);
        url.push_str(&method_path(method));
        let mut pairs: Vec<(&str, &str)> = vec![
            ("app_key", self.signer.app_key()),
            ("method", method),
            ("v", "2"),
            ("sign", sign),
            ("timestamp", timestamp),
            ("sign_method", self.signer.sign_method().as_str()),
        ];
        if let Some(token) = token {
            pairs.push(("access_token", token.expose()));
        }
        for (i, (name, value)) in pairs.into_iter().enumerate() {
            url.push(if i == 0 { '?' } else { '&' });
            url.push_str(name);
            url.push('=');
            encode_query_value(&mut url, value);
        }
        url
    }

    /// One attempt: sign with a fresh timestamp, send, read the body within the limit,
    /// check the envelope.
    async fn send_once(
        &self,
        method: &str,
        param_json: &str,
        token: Option<&AccessToken>,
        options: &CallOptions,
        attempt: u32,
    ) -> Result<RawReply> {
        let span = tracing::info_span!(
            "doudian.call",
            method,
            attempt,
            log_id = tracing::field::Empty,
            latency_ms = tracing::field::Empty
        );
        let _enter = span.enter();
        let started = Instant::now();
        let timestamp = crate::token::unix_now().to_string();
        let sign = self.signer.sign(method, param_json, &timestamp);
        let url = self.url(method, &sign, &timestamp, token);
        let mut request = self
            .http
            .post(url)
            .header("content-type", "application/json;charset=UTF-8")
            .header("accept", "*/*")
            .header("from", "sdk")
            .header("sdk-type", "rust")
            .header("sdk-version", env!("CARGO_PKG_VERSION"))
            .header("x-open-no-old-err-code", "1")
            .body(param_json.to_owned());
        for (name, value) in &self.extra_headers {
            request = request.header(name.as_str(), value.as_str());
        }
        if let Some(log_id) = &options.log_id {
            request = request.header("x-tt-logid", log_id.as_str());
        }
        if let Some(timeout) = options.timeout {
            request = request.timeout(timeout);
        }
        drop(_enter);
        let transport = |kind: TransportKind, source: Option<reqwest::Error>| -> Error {
            Error::from(TransportError {
                method: method.to_owned(),
                kind,
                source: source.map(|e| Box::new(e.without_url()) as Box<dyn std::error::Error + Send + Sync>),
            })
        };
        let classify = |e: reqwest::Error| {
            let kind = if e.is_timeout() {
                TransportKind::Timeout
            } else if e.is_connect() {
                TransportKind::Connect
            } else {
                TransportKind::Io
            };
            transport(kind, Some(e))
        };
        let mut response = request.send().await.map_err(classify)?;
        let status = response.status();
        let limit = self.max_response_bytes;
        if response.content_length().is_some_and(|len| len > limit as u64) {
            return Err(transport(TransportKind::BodyTooLarge { limit }, None));
        }
        let mut body = Vec::with_capacity(response.content_length().unwrap_or(8 * 1024).min(limit as u64) as usize);
        while let Some(chunk) = response.chunk().await.map_err(classify)? {
            if body.len() + chunk.len() > limit {
                return Err(transport(TransportKind::BodyTooLarge { limit }, None));
            }
            body.extend_from_slice(&chunk);
        }
        if !status.is_success() {
            return Err(transport(TransportKind::Status(status.as_u16()), None));
        }
        let reply = check_envelope(method, body)?;
        span.record("log_id", reply.log_id.as_str());
        span.record("latency_ms", started.elapsed().as_millis() as u64);
        Ok(reply)
    }
}

/// Reads the envelope: success (`code == 10000`, or legacy `err_no == 0`) gives the reply,
/// anything else an [`ApiError`]; a body that is not an envelope is a decode error.
fn check_envelope(method: &str, body: Vec<u8>) -> Result<RawReply> {
    let envelope: Envelope<'_> = match serde_json::from_slice(&body) {
        Ok(envelope) => envelope,
        Err(e) => {
            let reply = RawReply { log_id: String::new(), body, data: 0..0 };
            return Err(decode_error(method, "$", format!("reply is not a JSON envelope: {e}"), &reply));
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
            return Err(decode_error(method, "code", "reply has neither `code` nor `err_no`".into(), &reply));
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

impl TokenEndpoint for Inner {
    fn create<'a>(&'a self, grant: &'a Grant) -> BoxFuture<'a, Result<TokenReply>> {
        Box::pin(async move {
            let params = sign::canonical_value(&grant.create_params(self.tokens.test_shop()));
            self.token_call("token.create", params).await
        })
    }

    fn refresh<'a>(&'a self, refresh_token: &'a AccessToken) -> BoxFuture<'a, Result<TokenReply>> {
        Box::pin(async move {
            let params = sign::canonical_value(&serde_json::json!({
                "grant_type": "refresh_token",
                "refresh_token": refresh_token.expose(),
            }));
            self.token_call("token.refresh", params).await
        })
    }
}

impl Inner {
    /// Token calls: no access token; retried like reads (creating or refreshing twice is
    /// harmless: the platform returns the same pair).
    async fn token_call(&self, method: &'static str, param_json: String) -> Result<TokenReply> {
        let options = CallOptions::default();
        let mut attempt = 0;
        loop {
            attempt += 1;
            match self.send_once(method, &param_json, None, &options, attempt).await {
                Ok(reply) => return decode_data::<TokenReply>(method, &reply).map(Response::into_data),
                Err(e) if (e.is_retryable() || e.is_ambiguous()) && attempt < self.retry.max_attempts => {
                    tokio::time::sleep(self.retry.backoff(attempt)).await;
                }
                Err(e) => return Err(e),
            }
        }
    }
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

    #[test]
    fn query_values_are_percent_encoded() {
        let mut out = String::new();
        encode_query_value(&mut out, "a b&c=d/é-_.~");
        assert_eq!(out, "a%20b%26c%3Dd%2F%C3%A9-_.~");
    }

    #[test]
    fn debug_hides_the_secret() {
        let client = Client::builder("7012345678901234567", "very-secret").shop_id("1").build().unwrap();
        let text = format!("{client:?}");
        assert!(!text.contains("very-secret") && text.contains("app_secret: <redacted>"), "{text}");
    }

    #[tokio::test]
    async fn transport_errors_never_carry_the_url_or_token() {
        // Port 9 on loopback: nothing listens, the connection is refused before sending.
        let client = Client::builder("7012345678901234567", "s")
            .base_url("http://127.0.0.1:9")
            .retry(RetryPolicy::attempts(2).with_backoff(Duration::from_millis(1), Duration::from_millis(2)))
            .env_proxy(false)
            .build()
            .unwrap();
        let options = CallOptions::new().access_token(AccessToken::new("tok-SECRET-123"));
        let err = client.call_json("order.searchList", r#"{"page":0,"size":1}"#, &options).await.unwrap_err();
        let Error::Transport(ref t) = err else { panic!("expected a transport error, got {err:?}") };
        assert_eq!(t.kind, TransportKind::Connect);
        assert!(err.is_retryable() && !err.is_ambiguous());
        let mut texts = vec![err.to_string(), format!("{err:?}")];
        let mut source = std::error::Error::source(&err);
        while let Some(s) = source {
            texts.push(s.to_string());
            source = s.source();
        }
        for text in texts {
            assert!(!text.contains("tok-SECRET-123") && !text.contains("127.0.0.1:9/"), "leaks: {text}");
        }
    }

    #[test]
    fn builder_rejects_bad_configuration() {
        assert!(matches!(Client::builder("", "s").build(), Err(Error::Config(_))));
        assert!(matches!(Client::builder("k", "").build(), Err(Error::Config(_))));
        assert!(matches!(Client::builder("k", "s").base_url("ftp://x").build(), Err(Error::Config(_))));
    }
}
