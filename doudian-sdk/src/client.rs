//! The client: builds, signs and sends calls, decodes replies, manages tokens and retries.

mod builder;
mod call;
mod envelope;
mod http;
mod pages;
mod tokens;
mod transport;

use std::fmt;
use std::ops::{Deref, DerefMut};
use std::sync::Arc;
use std::time::Duration;

pub use builder::ClientBuilder;
use call::Call;
pub use envelope::decode_reply;
pub use pages::{Items, Pages};
pub use tokens::Authorized;

use crate::error::{Error, Result};
use crate::observe::Observers;
use crate::ratelimit::RateLimiter;
use crate::request::Request;
use crate::retry::{RetryClass, RetryPolicy};
use crate::secret::AccessToken;
use crate::sign;
use crate::token::{Grant, StoredToken, TokenEndpoint, TokenHealth, TokenManager, TokenStore};

/// The production gateway.
pub const DEFAULT_BASE_URL: &str = "https://openapi-fxg.jinritemai.com";
/// The sandbox gateway (community-documented; not every app may use it).
pub const SANDBOX_BASE_URL: &str = "https://openapi-sandbox.jinritemai.com";
/// The default limit on a reply's size.
pub const DEFAULT_MAX_RESPONSE_BYTES: usize = 32 * 1024 * 1024;

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
    /// The connections to the platform.
    http: http::Http,
    /// The headers every call carries (built once).
    headers: ::http::HeaderMap,
    /// The timeout of one attempt unless the call sets its own.
    timeout: Duration,
    /// The material store's HTTP client (other hosts, streamed bodies).
    #[cfg(feature = "upload")]
    upload_http: reqwest::Client,
    base_url: String,
    /// The app key, the secret and the sign method; the HMAC key schedule is computed once.
    signer: sign::Signer,
    retry: RetryPolicy,
    tokens: TokenManager,
    /// How to mint a token without user interaction (self-use apps).
    grant: Option<Grant>,
    /// Paces calls per method (shared by clones and shop handles); none by default.
    limiter: Option<Arc<dyn RateLimiter>>,
    /// Hear every attempt and answer; none by default.
    observers: Observers,
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
    /// Check the parameters of a call by name against the method's schema before signing.
    #[cfg(feature = "schema")]
    #[cfg_attr(docsrs, doc(cfg(feature = "schema")))]
    pub validate: bool,
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
    /// Checks the parameters of [`Client::call_json`] and [`Client::call_value`] against
    /// the method's schema ([`crate::schema`]) before signing: parameters that break it, or
    /// a method the spec does not know, fail with [`Error::InvalidParams`]
    /// and nothing is sent. (Typed requests are checked by their types already.)
    #[cfg(feature = "schema")]
    #[cfg_attr(docsrs, doc(cfg(feature = "schema")))]
    pub fn validate(mut self) -> Self {
        self.validate = true;
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
impl Client {
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

    /// The HTTP client, for exchanges outside the signed API (material uploads).
    #[cfg(feature = "upload")]
    pub(crate) fn http(&self) -> &reqwest::Client {
        &self.inner.upload_http
    }

    /// The client's retry policy.
    #[cfg(feature = "upload")]
    pub(crate) fn retry_policy(&self) -> &RetryPolicy {
        &self.inner.retry
    }

    /// Tool apps: exchanges the `code` from a shop's consent redirect for a token, stores it
    /// under the shop's id, and returns a handle acting for that shop.
    ///
    /// The code is used up once the platform answers, so the pair is returned (and held by
    /// this client) even when the store cannot take it: [`Authorized::save_error`] says so,
    /// and the client saves it again in the background until the store takes it.
    pub async fn authorize_code(&self, code: impl Into<String>) -> Result<Authorized> {
        let (token, save_error) =
            self.inner.tokens.create(&Grant::AuthorizationCode(code.into()), &*self.inner).await?;
        Ok(Authorized { shop: self.for_shop(&token.shop_id), token, save_error })
    }

    /// What the client holds that its token store has not taken yet (a store that is down
    /// when the platform issues a pair): watch it, or alert on it.
    pub fn token_health(&self) -> TokenHealth {
        self.inner.tokens.health()
    }

    /// A valid token for this handle's shop (created or refreshed as needed).
    pub async fn token(&self) -> Result<StoredToken> {
        let key = self.shop_key()?;
        let endpoint: Arc<dyn TokenEndpoint> = self.inner.clone();
        self.inner.tokens.token(key, self.inner.grant.as_ref(), &endpoint).await
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
        let call = Call::new(self, R::METHOD, sign::to_canonical_json(request)?, R::RETRY, options);
        self.call(&call, decode_reply::<R::Response>).await
    }

    /// Calls any method by name with JSON parameters (text, canonicalised before signing),
    /// returning `data` as JSON. For methods the spec lacks, or tools like the CLI. Text
    /// that is not a JSON object is an [`Error::InvalidRequest`], and nothing is sent.
    pub async fn call_json(
        &self,
        method: &str,
        params_json: &str,
        options: &CallOptions,
    ) -> Result<Response<serde_json::Value>> {
        self.call_by_name(method, sign::canonical_param_json(params_json)?, options).await
    }

    /// [`Client::call_json`] with the parameters as a JSON value (an object; `null` means
    /// none).
    ///
    /// ```no_run
    /// # async fn run(client: doudian_sdk::Client) -> doudian_sdk::Result<()> {
    /// use doudian_sdk::CallOptions;
    /// use serde_json::json;
    ///
    /// let brands = client.call_value("shop.brandList", &json!({}), &CallOptions::default()).await?;
    /// println!("{}", brands.data());
    /// # Ok(()) }
    /// ```
    pub async fn call_value(
        &self,
        method: &str,
        params: &serde_json::Value,
        options: &CallOptions,
    ) -> Result<Response<serde_json::Value>> {
        self.call_by_name(method, sign::to_canonical_json(params)?, options).await
    }

    /// A call by name with canonical `param_json`: retried after an ambiguous failure as
    /// the catalog's retry class for the method allows (read-back when it is unknown).
    async fn call_by_name(
        &self,
        method: &str,
        param_json: String,
        options: &CallOptions,
    ) -> Result<Response<serde_json::Value>> {
        #[cfg(feature = "schema")]
        if options.validate {
            // Canonical text always parses; no text at all is no parameters.
            let params: serde_json::Value = match param_json.trim() {
                "" => serde_json::Value::Object(serde_json::Map::new()),
                text => serde_json::from_str(text)
                    .map_err(|e| Error::InvalidRequest(format!("parameters are not JSON: {e}")))?,
            };
            if let Err(violations) = crate::schema::validate_params(method, &params) {
                return Err(Error::InvalidParams { method: method.to_owned(), violations });
            }
        }
        let class = crate::catalog::find(method).map_or(RetryClass::ReadBack, |m| m.retry);
        let call = Call::new(self, method, param_json, class, options);
        self.call(&call, decode_reply::<serde_json::Value>).await
    }

    /// The rate limiter pacing this client's calls, if any.
    pub fn rate_limiter(&self) -> Option<&Arc<dyn RateLimiter>> {
        self.inner.limiter.as_ref()
    }
}
