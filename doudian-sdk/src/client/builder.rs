//! [`ClientBuilder`]: every setting of a client, checked once when it is built.

use std::sync::Arc;
use std::time::Duration;

use http::header::{HeaderName, HeaderValue, ACCEPT, ACCEPT_ENCODING, CONTENT_TYPE, FROM, HOST, USER_AGENT};
use http::HeaderMap;

use super::http::{Connector, Http, Origin, ProxySetting, TlsRoots};
use super::{Client, Inner, DEFAULT_BASE_URL, DEFAULT_MAX_RESPONSE_BYTES, SANDBOX_BASE_URL};
use crate::error::{Error, Result};
use crate::observe::{CallObserver, Observers};
use crate::ratelimit::{LocalRateLimiter, RateLimiter, RateLimits};
use crate::retry::RetryPolicy;
use crate::secret::AppSecret;
use crate::sign::{self, SignMethod};
use crate::token::{Grant, MemoryTokenStore, TokenManager, TokenSettings, TokenStore};

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
            refresh_window: TokenSettings::default().refresh_window,
            refresh_wait: TokenSettings::default().refresh_wait,
            renewal_lease: TokenSettings::default().lease,
            store_check: TokenSettings::default().store_check,
            test_shop: false,
            user_agent: concat!("doudian-sdk-rust/", env!("CARGO_PKG_VERSION")).to_owned(),
            extra_headers: Vec::new(),
            proxy: ProxySetting::Environment,
            tls_roots: TlsRoots::default(),
            limiter: None,
            observers: Observers::default(),
            problems: Vec::new(),
        }
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
    refresh_wait: Duration,
    renewal_lease: Duration,
    store_check: Duration,
    test_shop: bool,
    user_agent: String,
    extra_headers: Vec<(String, String)>,
    proxy: ProxySetting,
    tls_roots: TlsRoots,
    limiter: Option<Arc<dyn RateLimiter>>,
    observers: Observers,
    /// Settings that were refused when made, reported by `build`.
    problems: Vec<String>,
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

    /// Sets where tokens are kept (default: in memory): a store, or an `Arc` of one to keep
    /// a handle to it.
    pub fn token_store(mut self, store: impl TokenStore) -> Self {
        self.store = Some(Arc::new(store));
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

    /// How long a call whose token is still valid but due for refresh waits for the new
    /// one before going on with the old (default 500 ms). Calls never wait longer for a
    /// refresh while their token is valid; a failed refresh backs off and is tried later.
    pub fn refresh_wait(mut self, wait: Duration) -> Self {
        self.refresh_wait = wait;
        self
    }

    /// The longest a shared token store's renewal lock is held or waited for (default
    /// 30 s): the bound on how long other processes wait for one process's renewal.
    pub fn renewal_lease(mut self, lease: Duration) -> Self {
        self.renewal_lease = lease;
        self
    }

    /// How often a pair the client holds is compared with its token store's (default 60 s,
    /// in the background of a call): a store that lost it, a Redis restarted empty, gets it
    /// written back; a pair another process renewed is taken up.
    pub fn token_store_check(mut self, every: Duration) -> Self {
        self.store_check = every;
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

    /// Whether to use the proxy named by `HTTPS_PROXY` / `HTTP_PROXY` / `ALL_PROXY` unless
    /// `NO_PROXY` names the host, as curl reads them (default yes). `false` connects
    /// directly (and drops a [`ClientBuilder::proxy`]).
    pub fn env_proxy(mut self, use_it: bool) -> Self {
        self.proxy = if use_it { ProxySetting::Environment } else { ProxySetting::None };
        self
    }

    /// Sends every call through this HTTP proxy (`http://[user:password@]host:port`):
    /// `https` calls in a `CONNECT` tunnel, `http` calls forwarded. Overrides the proxy
    /// variables.
    pub fn proxy(mut self, url: impl Into<String>) -> Self {
        self.proxy = ProxySetting::Url(url.into());
        self
    }

    /// Trusts the certificates of a PEM text (one or more `CERTIFICATE` blocks) as roots,
    /// besides the Mozilla roots every client trusts: a TLS-inspecting corporate proxy's
    /// CA, or a test server's own certificate. A text without a certificate fails
    /// [`ClientBuilder::build`].
    pub fn add_root_certificate_pem(mut self, pem: impl AsRef<[u8]>) -> Self {
        if let Err(problem) = self.tls_roots.add_pem(pem.as_ref()) {
            self.problems.push(problem);
        }
        self
    }

    /// Paces calls per method in this process (see [`crate::ratelimit`]): at a known quota,
    /// or adaptively where it is unknown. Without it (the default) calls are not paced, and
    /// 60000 answers are only retried with backoff.
    pub fn rate_limits(self, limits: RateLimits) -> Self {
        self.rate_limiter(LocalRateLimiter::new(limits))
    }

    /// Paces calls with `limiter`: one shared by several clients (an `Arc` of it), or
    /// across processes (`redis::Redis::rate_limiter`).
    pub fn rate_limiter(mut self, limiter: impl RateLimiter) -> Self {
        self.limiter = Some(Arc::new(limiter));
        self
    }

    /// Adds an observer that hears every attempt and every answer of this client's calls
    /// (see [`crate::observe`]). Several may be added: each hears every event, in the
    /// order they were added. Pass an `Arc` to keep a handle on it.
    pub fn observer(mut self, observer: impl CallObserver) -> Self {
        self.observers.push(Box::new(observer));
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
        if let Some(problem) = self.problems.first() {
            return Err(Error::config(problem.clone()));
        }
        let base_url = self.base_url.trim_end_matches('/').to_owned();
        if !(base_url.starts_with("https://") || base_url.starts_with("http://")) {
            return Err(Error::config(format!("base URL `{base_url}` must start with https:// or http://")));
        }
        let origin = Origin::parse(&base_url).map_err(Error::config)?;
        let headers = fixed_headers(&origin, &self.user_agent, &self.extra_headers)?;
        let connector = Connector::new(origin, &self.proxy, &self.tls_roots).map_err(Error::config)?;
        let http = Http::new(connector, self.connect_timeout, self.max_response_bytes);
        #[cfg(feature = "upload")]
        let upload_http = upload_http(&self)?;
        let store = self.store.unwrap_or_else(|| Arc::new(MemoryTokenStore::new()));
        let shop = self.grant.as_ref().and_then(Grant::key).map(Arc::from);
        Ok(Client {
            inner: Arc::new(Inner {
                http,
                headers,
                timeout: self.timeout,
                #[cfg(feature = "upload")]
                upload_http,
                base_url,
                signer: sign::Signer::new(self.app_key, self.app_secret, self.sign_method),
                retry: self.retry,
                tokens: TokenManager::new(
                    store,
                    TokenSettings {
                        refresh_window: self.refresh_window,
                        refresh_wait: self.refresh_wait,
                        lease: self.renewal_lease,
                        test_shop: self.test_shop,
                        store_check: self.store_check,
                    },
                ),
                grant: self.grant,
                limiter: self.limiter,
                observers: with_metrics(self.observers),
            }),
            shop,
        })
    }
}

/// The headers every call carries: what the official SDKs send, the client's own, `Host`.
fn fixed_headers(origin: &Origin, user_agent: &str, extra: &[(String, String)]) -> Result<HeaderMap> {
    let mut headers = HeaderMap::with_capacity(12 + extra.len());
    headers.insert(HOST, origin.host_header());
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json;charset=UTF-8"));
    headers.insert(ACCEPT, HeaderValue::from_static("*/*"));
    headers.insert(ACCEPT_ENCODING, HeaderValue::from_static("gzip"));
    headers.insert(FROM, HeaderValue::from_static("sdk"));
    headers.insert(HeaderName::from_static("sdk-type"), HeaderValue::from_static("rust"));
    headers.insert(HeaderName::from_static("sdk-version"), HeaderValue::from_static(env!("CARGO_PKG_VERSION")));
    headers.insert(HeaderName::from_static("x-open-no-old-err-code"), HeaderValue::from_static("1"));
    let user_agent = HeaderValue::from_str(user_agent)
        .map_err(|_| Error::config(format!("user agent `{user_agent}` is not a valid header value")))?;
    headers.insert(USER_AGENT, user_agent);
    for (name, value) in extra {
        let name = HeaderName::try_from(name.as_str())
            .map_err(|_| Error::config(format!("header name `{name}` is not valid")))?;
        let value = HeaderValue::from_str(value)
            .map_err(|_| Error::config(format!("the value of header `{name}` is not a valid header value")))?;
        headers.append(name, value);
    }
    Ok(headers)
}

/// The material store's client: its hosts are not the API's, and its bodies are streamed.
#[cfg(feature = "upload")]
fn upload_http(builder: &ClientBuilder) -> Result<reqwest::Client> {
    let mut http = reqwest::Client::builder()
        .use_rustls_tls()
        .connect_timeout(builder.connect_timeout)
        .timeout(builder.timeout)
        .pool_idle_timeout(Duration::from_secs(50))
        .user_agent(builder.user_agent.clone());
    match &builder.proxy {
        ProxySetting::None => http = http.no_proxy(),
        ProxySetting::Environment => {}
        ProxySetting::Url(url) => {
            let proxy = reqwest::Proxy::all(url.as_str()).map_err(|e| Error::config(format!("proxy URL: {e}")))?;
            http = http.proxy(proxy);
        }
    }
    http.build().map_err(|e| Error::config(format!("cannot build the upload HTTP client: {}", e.without_url())))
}

/// With the `metrics` feature every client also records through the `metrics` facade.
fn with_metrics(observers: Observers) -> Observers {
    #[cfg(feature = "metrics")]
    let observers = {
        let mut observers = observers;
        observers.push(Box::new(crate::observe::Metrics));
        observers
    };
    observers
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_hides_the_secret() {
        let client = Client::builder("7012345678901234567", "very-secret").shop_id("1").build().unwrap();
        let text = format!("{client:?}");
        assert!(!text.contains("very-secret") && text.contains("app_secret: <redacted>"), "{text}");
    }

    #[test]
    fn builder_rejects_bad_configuration() {
        assert!(matches!(Client::builder("", "s").build(), Err(Error::Config(_))));
        assert!(matches!(Client::builder("k", "").build(), Err(Error::Config(_))));
        assert!(matches!(Client::builder("k", "s").base_url("ftp://x").build(), Err(Error::Config(_))));
    }
}
