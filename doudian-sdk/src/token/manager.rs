//! [`TokenManager`]: hands out a valid token per shop, renewing it once however many
//! callers (and processes) need it.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use futures_util::future::BoxFuture;

use super::{unix_now, Grant, StoredToken, TokenReply, TokenStore};
use crate::error::{ApiError, Error, Result};
use crate::retry::RetryPolicy;
use crate::secret::AccessToken;

/// The two token calls, as the token manager needs them (implemented by the client).
pub(crate) trait TokenEndpoint: Send + Sync + 'static {
    fn create<'a>(&'a self, grant: &'a Grant) -> BoxFuture<'a, Result<TokenReply>>;
    /// `patient`: retry on rate limits and busy replies (the caller waits for the result);
    /// otherwise one attempt (an opportunistic refresh backs off instead).
    fn refresh<'a>(&'a self, refresh_token: &'a AccessToken, patient: bool) -> BoxFuture<'a, Result<TokenReply>>;
}

/// How tokens are renewed.
#[derive(Debug, Clone)]
pub(crate) struct TokenSettings {
    /// Refresh inside this last stretch of a token's life (the platform's: 1 hour).
    pub(crate) refresh_window: Duration,
    /// How long a caller whose valid token is due for refresh waits for the new one.
    pub(crate) refresh_wait: Duration,
    /// The longest a store's renewal lock is held (and waited for).
    pub(crate) lease: Duration,
    /// Mark token.create as for a test shop.
    pub(crate) test_shop: bool,
}

impl Default for TokenSettings {
    fn default() -> Self {
        TokenSettings {
            refresh_window: Duration::from_secs(3600),
            refresh_wait: Duration::from_millis(500),
            lease: Duration::from_secs(30),
            test_shop: false,
        }
    }
}

/// Backoff of opportunistic refreshes after failures: 10 s doubling to 5 minutes, jittered.
fn refresh_backoff() -> RetryPolicy {
    RetryPolicy::attempts(u32::MAX).with_backoff(Duration::from_secs(10), Duration::from_secs(300))
}

/// Why a caller needs a renewed token; decides what counts as "already renewed".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Need {
    /// The token is valid but inside the refresh window.
    Fresher,
    /// The token has expired (or there is none).
    Valid,
    /// The platform rejected the token: any other unexpired token will do.
    Replacement,
}

impl Need {
    /// Whether `candidate` meets the need of a caller who saw the access token `seen`.
    fn satisfied_by(self, candidate: &StoredToken, seen: Option<&AccessToken>, window: Duration, now: u64) -> bool {
        let different = seen.is_none_or(|s| *s != candidate.access_token);
        match self {
            Need::Fresher => different && !candidate.needs_refresh(now, window),
            Need::Valid | Need::Replacement => different && !candidate.is_expired(now),
        }
    }
}

/// Per-shop state: the cached token and the renewal bookkeeping.
#[derive(Default)]
struct Slot {
    state: Mutex<SlotState>,
    /// The single-flight point of renewals within the process.
    flight: tokio::sync::Mutex<()>,
}

#[derive(Default)]
struct SlotState {
    token: Option<StoredToken>,
    /// An opportunistic refresh is running.
    refreshing: bool,
    /// Consecutive failed opportunistic refreshes, and when the next may start.
    failures: u32,
    next_refresh: Option<Instant>,
    /// The refresh token the platform refused, and its answer: given to every caller of
    /// that token without asking again.
    refused: Option<(AccessToken, ApiError)>,
}

impl Slot {
    fn lock(&self) -> MutexGuard<'_, SlotState> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn cached(&self) -> Option<StoredToken> {
        self.lock().token.clone()
    }

    fn keep(&self, token: &StoredToken) {
        self.lock().token = Some(token.clone());
    }

    /// The platform's refusal of `token`'s refresh token, if it refused it.
    fn refusal(&self, token: &StoredToken) -> Option<Error> {
        self.lock().refusal_of(token).map(|answer| Error::from(answer.clone()))
    }
}

impl SlotState {
    /// The platform's answer refusing `token`'s refresh token, if it refused it.
    fn refusal_of(&self, token: &StoredToken) -> Option<&ApiError> {
        match &self.refused {
            Some((refused, answer)) if *refused == token.refresh_token => Some(answer),
            _ => None,
        }
    }
}

/// What the renewals share, so that a background refresh can outlive its caller.
struct Renewer {
    store: Arc<dyn TokenStore>,
    settings: TokenSettings,
}

/// Hands out valid tokens per shop.
pub(crate) struct TokenManager {
    renewer: Arc<Renewer>,
    slots: Mutex<HashMap<String, Arc<Slot>>>,
}

impl TokenManager {
    pub(crate) fn new(store: Arc<dyn TokenStore>, settings: TokenSettings) -> Self {
        TokenManager { renewer: Arc::new(Renewer { store, settings }), slots: Mutex::new(HashMap::new()) }
    }

    fn slot(&self, key: &str) -> Arc<Slot> {
        let mut slots = self.slots.lock().unwrap_or_else(|p| p.into_inner());
        // Looked up first: the key is copied only for a new shop.
        if let Some(slot) = slots.get(key) {
            return slot.clone();
        }
        slots.entry(key.to_owned()).or_default().clone()
    }

    /// The per-call fast path of [`TokenManager::token`]: the cached access token of `key`
    /// when there is nothing to do (nothing to load, refresh or create, no refusal to
    /// report); `None` sends the caller to `token`, which decides the same way.
    pub(crate) fn ready_access_token(&self, key: &str, grant: Option<&Grant>) -> Option<AccessToken> {
        let slots = self.slots.lock().unwrap_or_else(|p| p.into_inner());
        // Never the other way round: no path takes the map's lock while holding a slot's.
        let state = slots.get(key)?.lock();
        let token = state.token.as_ref()?;
        let can_create = grant.is_some_and(|g| g.creates_for(key));
        let refused = state.refusal_of(token).is_some();
        if (refused && !can_create) || token.needs_refresh(unix_now(), self.renewer.settings.refresh_window) {
            return None;
        }
        Some(token.access_token.clone())
    }

    /// A valid token for `key`: cached, loaded, refreshed inside the window, or created
    /// with `grant` when there is none.
    pub(crate) async fn token(
        &self,
        key: &str,
        grant: Option<&Grant>,
        api: &Arc<dyn TokenEndpoint>,
    ) -> Result<StoredToken> {
        let slot = self.slot(key);
        let mut token = match slot.cached() {
            Some(token) => Some(token),
            None => {
                let loaded = self.renewer.store.load(key).await?;
                if let Some(token) = &loaded {
                    slot.keep(token);
                }
                loaded
            }
        };
        // A refused refresh token means the shop's authorisation is gone: without a grant
        // that can create a new token, every caller gets the refusal at once.
        let can_create = grant.is_some_and(|g| g.creates_for(key));
        if let Some(refusal) = token.as_ref().filter(|_| !can_create).and_then(|t| slot.refusal(t)) {
            // Unless the shop was authorised again since (by another process): its new
            // pair is in the store. Calls are failing meanwhile, so a load each is cheap; a
            // store that cannot answer leaves the refusal as the error that matters.
            match self.renewer.store.load(key).await {
                Ok(Some(stored)) if slot.refusal(&stored).is_none() => {
                    slot.keep(&stored);
                    token = Some(stored);
                }
                _ => return Err(refusal),
            }
        }
        let (now, window) = (unix_now(), self.renewer.settings.refresh_window);
        match token {
            Some(token) if !token.needs_refresh(now, window) => Ok(token),
            Some(token) if !token.is_expired(now) => Ok(self.refresh_while_valid(key, &slot, token, api).await),
            seen => {
                let seen = seen.map(|t| t.access_token);
                self.renew(key, &slot, grant, api.as_ref(), seen.as_ref(), Need::Valid).await
            }
        }
    }

    /// Called after the platform rejected `rejected` as expired or unknown: renew once
    /// (refresh, or create anew), unless another caller or process already did.
    pub(crate) async fn replace_rejected(
        &self,
        key: &str,
        rejected: &AccessToken,
        grant: Option<&Grant>,
        api: &dyn TokenEndpoint,
    ) -> Result<StoredToken> {
        let slot = self.slot(key);
        self.renew(key, &slot, grant, api, Some(rejected), Need::Replacement).await
    }

    /// Exchanges a grant for a token and stores it under its shop id (tool apps: the code's shop).
    pub(crate) async fn create(&self, grant: &Grant, api: &dyn TokenEndpoint) -> Result<StoredToken> {
        let reply = api.create(grant).await?;
        let token = StoredToken::from_reply(reply, unix_now())?;
        let key = grant.key().map(str::to_owned).unwrap_or_else(|| token.shop_id.clone());
        if key.is_empty() {
            return Err(Error::config("token reply names no shop_id"));
        }
        let slot = self.slot(&key);
        let _flight = slot.flight.lock().await;
        self.renewer.store.save(&key, &token).await?;
        let mut state = slot.lock();
        state.token = Some(token.clone());
        state.refused = None;
        Ok(token)
    }

    /// The token is valid but due: start one refresh in the background (unless one runs or
    /// failures are backing off), wait a short bound for it, and otherwise keep the token.
    async fn refresh_while_valid(
        &self,
        key: &str,
        slot: &Arc<Slot>,
        current: StoredToken,
        api: &Arc<dyn TokenEndpoint>,
    ) -> StoredToken {
        {
            let mut state = slot.lock();
            if state.refreshing || state.next_refresh.is_some_and(|at| Instant::now() < at) {
                return state.token.clone().unwrap_or(current);
            }
            state.refreshing = true;
        }
        let (renewer, slot_for_task, api, key_owned, seen) =
            (self.renewer.clone(), slot.clone(), api.clone(), key.to_owned(), current.access_token.clone());
        // Spawned, so that a caller giving up waiting never cancels a refresh mid-flight
        // (the platform may already have rotated the pair).
        let task = tokio::spawn(async move {
            let slot = slot_for_task;
            let outcome = {
                let _flight = slot.flight.lock().await;
                renewer.renew_under_lock(&key_owned, &slot, None, api.as_ref(), Some(&seen), Need::Fresher).await
            };
            let mut state = slot.lock();
            state.refreshing = false;
            match outcome {
                Ok(fresh) => {
                    state.failures = 0;
                    // A pair that is still due (the platform returned it unchanged, or the
                    // clocks disagree) is not refreshed again on every call.
                    let due = fresh.needs_refresh(unix_now(), renewer.settings.refresh_window);
                    state.next_refresh = due.then(|| Instant::now() + refresh_backoff().backoff(1));
                    Some(fresh)
                }
                Err(error) => {
                    state.failures = state.failures.saturating_add(1);
                    let delay = refresh_backoff().backoff(state.failures);
                    state.next_refresh = Some(Instant::now() + delay);
                    tracing::warn!(shop = %key_owned, error = %error, retry_in_s = delay.as_secs(),
                        "token refresh failed; the current token is still valid");
                    None
                }
            }
        });
        match tokio::time::timeout(self.renewer.settings.refresh_wait, task).await {
            Ok(Ok(Some(fresh))) => fresh,
            _ => current,
        }
    }

    /// Waits for the shop's single renewal and returns its outcome.
    async fn renew(
        &self,
        key: &str,
        slot: &Arc<Slot>,
        grant: Option<&Grant>,
        api: &dyn TokenEndpoint,
        seen: Option<&AccessToken>,
        need: Need,
    ) -> Result<StoredToken> {
        let _flight = slot.flight.lock().await;
        // Renewed by the caller we waited behind? (A refusal it met is answered below
        // without asking the platform again.)
        if let Some(cached) = slot.cached() {
            if need.satisfied_by(&cached, seen, self.renewer.settings.refresh_window, unix_now()) {
                return Ok(cached);
            }
        }
        self.renewer.renew_under_lock(key, slot, grant, api, seen, need).await
    }

    pub(crate) fn test_shop(&self) -> bool {
        self.renewer.settings.test_shop
    }

    pub(crate) fn store(&self) -> &Arc<dyn TokenStore> {
        &self.renewer.store
    }
}

impl Renewer {
    /// Renews under the store's renewal lock (called inside the process's single flight).
    async fn renew_under_lock(
        &self,
        key: &str,
        slot: &Slot,
        grant: Option<&Grant>,
        api: &dyn TokenEndpoint,
        seen: Option<&AccessToken>,
        need: Need,
    ) -> Result<StoredToken> {
        let lock = self.store.lock_renewal(key, self.settings.lease).await?;
        let outcome = self.renew_locked(key, slot, grant, api, seen, need).await;
        lock.release().await;
        outcome
    }

    async fn renew_locked(
        &self,
        key: &str,
        slot: &Slot,
        grant: Option<&Grant>,
        api: &dyn TokenEndpoint,
        seen: Option<&AccessToken>,
        need: Need,
    ) -> Result<StoredToken> {
        let window = self.settings.refresh_window;
        // Another process may have renewed while this one waited for the lock.
        let stored = self.store.load(key).await?;
        if let Some(stored) = &stored {
            if need.satisfied_by(stored, seen, window, unix_now()) {
                slot.keep(stored);
                return Ok(stored.clone());
            }
        }
        // The store may have lost it (a deleted file): the cached pair can still refresh.
        let current = stored.or_else(|| slot.cached());
        let refusal = match current {
            Some(current) if unix_now() < current.refresh_expires_at => {
                if let Some(refusal) = slot.refusal(&current) {
                    refusal
                } else {
                    match self.refresh(key, &current, api, need != Need::Fresher).await {
                        Ok(fresh) if need.satisfied_by(&fresh, seen, window, unix_now()) || need == Need::Fresher => {
                            slot.keep(&fresh);
                            return Ok(fresh);
                        }
                        Ok(_) => Error::config(format!(
                            "the platform rejects the token of `{key}` and its refresh returns the same token"
                        )),
                        Err(Error::Api(answer)) if !Error::Api(answer.clone()).is_retryable() => {
                            tracing::warn!(shop = key, code = answer.code, sub_code = %answer.sub_code,
                                "the platform refused the refresh token");
                            slot.lock().refused = Some((current.refresh_token.clone(), (*answer).clone()));
                            Error::Api(answer)
                        }
                        Err(other) => return Err(other),
                    }
                }
            }
            Some(_) => Error::config(format!("the refresh token of `{key}` has expired: authorise the shop again")),
            None => Error::config(format!(
                "no usable token for `{key}`: authorise the shop first (tool apps: Client::authorize_code)"
            )),
        };
        // Only grants that need no user interaction can mint a new token here.
        let Some(grant) = grant.filter(|g| g.creates_for(key)) else {
            return Err(refusal);
        };
        let token = StoredToken::from_reply(api.create(grant).await?, unix_now())?;
        self.store.save(key, &token).await?;
        let mut state = slot.lock();
        state.token = Some(token.clone());
        state.refused = None;
        tracing::debug!(shop = key, "token created");
        Ok(token)
    }

    async fn refresh(
        &self,
        key: &str,
        token: &StoredToken,
        api: &dyn TokenEndpoint,
        patient: bool,
    ) -> Result<StoredToken> {
        let reply = api.refresh(&token.refresh_token, patient).await?;
        let mut fresh = StoredToken::from_reply(reply, unix_now())?;
        if fresh.shop_id.is_empty() {
            fresh.shop_id = token.shop_id.clone();
        }
        if fresh.refresh_token == token.refresh_token {
            // The platform handed back the same pair: its refresh token's life is unchanged.
            fresh.refresh_expires_at = token.refresh_expires_at;
        }
        // Persist before use: a crash after this point never loses the new pair.
        self.store.save(key, &fresh).await?;
        tracing::debug!(shop = key, same_pair = fresh.access_token == token.access_token, "token refreshed");
        Ok(fresh)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicU64, Ordering};

    use super::*;
    use crate::token::tests::token;
    use crate::token::MemoryTokenStore;

    /// What the endpoint's token.refresh answers.
    #[derive(Clone, Copy, PartialEq)]
    enum Refresh {
        Works,
        /// The same pair back, with a new `expires_in` (the platform does this close to expiry).
        Unchanged,
        RateLimited,
        Refused,
    }

    /// A token endpoint that counts calls and hands out numbered tokens.
    struct Endpoint {
        creates: AtomicU64,
        refreshes: AtomicU64,
        lifetime: u64,
        refresh: Refresh,
        /// The `patient` flag of each refresh, in order.
        patience: Mutex<Vec<bool>>,
    }

    impl Endpoint {
        fn new(lifetime: u64, refresh: Refresh) -> Arc<Self> {
            Arc::new(Endpoint {
                creates: AtomicU64::new(0),
                refreshes: AtomicU64::new(0),
                lifetime,
                refresh,
                patience: Mutex::new(Vec::new()),
            })
        }
        fn reply(&self, n: u64) -> TokenReply {
            TokenReply {
                access_token: format!("access-{n}"),
                refresh_token: format!("refresh-{n}"),
                expires_in: Some(serde_json::json!(self.lifetime)),
                shop_id: Some(serde_json::json!("42")),
                ..TokenReply::default()
            }
        }
        fn counts(&self) -> (u64, u64) {
            (self.creates.load(Ordering::SeqCst), self.refreshes.load(Ordering::SeqCst))
        }
    }

    fn api_error(code: i64, sub_code: &str) -> Error {
        Error::from(ApiError {
            method: "token.refresh".into(),
            code,
            msg: String::new(),
            sub_code: sub_code.into(),
            sub_msg: String::new(),
            log_id: "L".into(),
        })
    }

    impl TokenEndpoint for Endpoint {
        fn create<'a>(&'a self, _grant: &'a Grant) -> BoxFuture<'a, Result<TokenReply>> {
            let n = self.creates.fetch_add(1, Ordering::SeqCst);
            Box::pin(async move {
                tokio::time::sleep(Duration::from_millis(20)).await;
                Ok(self.reply(n))
            })
        }
        fn refresh<'a>(&'a self, _token: &'a AccessToken, patient: bool) -> BoxFuture<'a, Result<TokenReply>> {
            let n = 100 + self.refreshes.fetch_add(1, Ordering::SeqCst);
            self.patience.lock().unwrap().push(patient);
            Box::pin(async move {
                tokio::time::sleep(Duration::from_millis(20)).await;
                match self.refresh {
                    Refresh::Works => Ok(self.reply(n)),
                    Refresh::Unchanged => {
                        Ok(TokenReply { access_token: "a".into(), refresh_token: "r".into(), ..self.reply(n) })
                    }
                    Refresh::RateLimited => Err(api_error(60000, "isv.traffic-limited")),
                    Refresh::Refused => Err(api_error(50001, "dop.token-generate-failed:token-invalid")),
                }
            })
        }
    }

    fn manager(store: Arc<MemoryTokenStore>) -> Arc<TokenManager> {
        Arc::new(TokenManager::new(store, TokenSettings::default()))
    }

    fn self_use() -> Grant {
        Grant::SelfUseShop { shop_id: "42".into() }
    }

    /// A stored pair for shop 42 with `left` seconds of life; tokens "a"/"r".
    async fn stored(store: &MemoryTokenStore, left: u64) {
        let mut pair = token(unix_now() + left);
        pair.shop_id = "42".into();
        store.save("42", &pair).await.unwrap();
    }

    /// `n` concurrent `token()` calls.
    async fn concurrent_tokens(
        manager: &Arc<TokenManager>,
        endpoint: &Arc<Endpoint>,
        grant: Option<Grant>,
        n: usize,
    ) -> Vec<Result<StoredToken>> {
        let tasks: Vec<_> = (0..n)
            .map(|_| {
                let (manager, api, grant) =
                    (manager.clone(), endpoint.clone() as Arc<dyn TokenEndpoint>, grant.clone());
                tokio::spawn(async move { manager.token("42", grant.as_ref(), &api).await })
            })
            .collect();
        let mut out = Vec::new();
        for task in tasks {
            out.push(task.await.unwrap());
        }
        out
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_callers_share_one_create_and_one_refresh() {
        let manager = manager(Arc::new(MemoryTokenStore::new()));
        let endpoint = Endpoint::new(7 * 86400, Refresh::Works);
        for result in concurrent_tokens(&manager, &endpoint, Some(self_use()), 50).await {
            assert_eq!(result.unwrap().access_token.expose(), "access-0");
        }
        assert_eq!(endpoint.counts(), (1, 0));

        // The platform rejects access-0 for 50 concurrent callers: exactly one refresh.
        let tasks: Vec<_> = (0..50)
            .map(|_| {
                let (manager, endpoint) = (manager.clone(), endpoint.clone());
                tokio::spawn(async move {
                    manager.replace_rejected("42", &AccessToken::new("access-0"), Some(&self_use()), &*endpoint).await
                })
            })
            .collect();
        for task in tasks {
            assert_eq!(task.await.unwrap().unwrap().access_token.expose(), "access-100");
        }
        assert_eq!(endpoint.counts(), (1, 1));
    }

    #[tokio::test]
    async fn a_refresh_keeps_the_refresh_tokens_life_only_when_the_pair_is_unchanged() {
        for (refresh, access, refresh_life) in
            [(Refresh::Works, "access-100", 14 * 86400), (Refresh::Unchanged, "a", 0)]
        {
            let store = Arc::new(MemoryTokenStore::new());
            stored(&store, 1800).await;
            let before = store.load("42").await.unwrap().unwrap().refresh_expires_at;
            let manager = manager(store.clone());
            let endpoint = Endpoint::new(7 * 86400, refresh);
            let api: Arc<dyn TokenEndpoint> = endpoint.clone();
            assert_eq!(manager.token("42", None, &api).await.unwrap().access_token.expose(), access);
            let after = store.load("42").await.unwrap().unwrap();
            assert!(after.expires_at >= unix_now() + 7 * 86400 - 5, "the new expiry is stored");
            if refresh_life == 0 {
                assert_eq!(after.refresh_expires_at, before, "same refresh token, same life");
            } else {
                assert!(
                    after.refresh_expires_at.abs_diff(unix_now() + refresh_life) <= 5,
                    "a new refresh token's life"
                );
            }
        }
    }

    #[tokio::test]
    async fn a_rejected_token_that_refreshes_to_itself_is_an_error_not_a_loop() {
        let store = Arc::new(MemoryTokenStore::new());
        stored(&store, 7 * 86400).await;
        let manager = manager(store);
        let endpoint = Endpoint::new(7 * 86400, Refresh::Unchanged);
        let error = manager.replace_rejected("42", &AccessToken::new("a"), None, &*endpoint).await.unwrap_err();
        assert!(error.to_string().contains("its refresh returns the same token"), "{error}");
    }

    #[tokio::test]
    async fn callers_waiting_for_a_renewal_are_patient_an_opportunistic_refresh_is_not() {
        let store = Arc::new(MemoryTokenStore::new());
        stored(&store, 1800).await;
        let manager = manager(store.clone());
        let endpoint = Endpoint::new(7 * 86400, Refresh::Works);
        let api: Arc<dyn TokenEndpoint> = endpoint.clone();
        manager.token("42", None, &api).await.unwrap();
        manager.replace_rejected("42", &AccessToken::new("access-100"), None, &*endpoint).await.unwrap();
        assert_eq!(*endpoint.patience.lock().unwrap(), [false, true]);
    }

    #[tokio::test]
    async fn a_rate_limited_renewal_fails_that_call_and_is_tried_again_by_the_next() {
        let store = Arc::new(MemoryTokenStore::new());
        stored(&store, 0).await; // expired: callers must wait for a renewal
        let manager = manager(store);
        let endpoint = Endpoint::new(7 * 86400, Refresh::RateLimited);
        let api: Arc<dyn TokenEndpoint> = endpoint.clone();
        for attempt in 1..=2 {
            let error = manager.token("42", None, &api).await.unwrap_err();
            assert_eq!(error.api().map(|e| e.code), Some(60000), "{error}");
            assert_eq!(endpoint.counts(), (0, attempt), "a retryable failure is not remembered as a refusal");
        }
    }

    #[tokio::test]
    async fn refreshes_inside_the_window_and_persists_before_use() {
        let store = Arc::new(MemoryTokenStore::new());
        stored(&store, 1800).await; // inside the last hour: the first use refreshes it
        let manager = manager(store.clone());
        let endpoint = Endpoint::new(7 * 86400, Refresh::Works);
        let api: Arc<dyn TokenEndpoint> = endpoint.clone();
        let fresh = manager.token("42", None, &api).await.unwrap();
        assert_eq!(fresh.access_token.expose(), "access-100");
        assert_eq!(store.load("42").await.unwrap().unwrap().access_token.expose(), "access-100");
        assert_eq!(endpoint.counts(), (0, 1));
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_failing_refresh_never_stalls_calls_while_the_token_is_valid() {
        let store = Arc::new(MemoryTokenStore::new());
        stored(&store, 1800).await;
        let manager = manager(store.clone());
        let endpoint = Endpoint::new(7 * 86400, Refresh::RateLimited);
        let started = Instant::now();
        for _ in 0..3 {
            for result in concurrent_tokens(&manager, &endpoint, Some(self_use()), 200).await {
                assert_eq!(result.unwrap().access_token.expose(), "a", "the valid token is used");
            }
        }
        // One attempt; the failure backs off (10 s or more) instead of being repeated.
        assert_eq!(endpoint.counts(), (0, 1));
        assert!(started.elapsed() < Duration::from_secs(3), "{:?}", started.elapsed());
        let state = manager.slot("42");
        let state = state.lock();
        assert_eq!(state.failures, 1);
        assert!(state.next_refresh.is_some_and(|at| at >= Instant::now() + Duration::from_secs(4)));
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_refresh_that_returns_a_pair_still_due_is_not_repeated_on_every_call() {
        let store = Arc::new(MemoryTokenStore::new());
        stored(&store, 1800).await;
        let manager = manager(store);
        // The platform hands out pairs with only 30 minutes of life: still inside the window.
        let endpoint = Endpoint::new(1800, Refresh::Works);
        let api: Arc<dyn TokenEndpoint> = endpoint.clone();
        for _ in 0..5 {
            assert_eq!(manager.token("42", None, &api).await.unwrap().access_token.expose(), "access-100");
        }
        assert_eq!(endpoint.counts(), (0, 1));
        let slot = manager.slot("42");
        let state = slot.lock();
        assert!(state.next_refresh.is_some_and(|at| at >= Instant::now() + Duration::from_secs(4)));
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_refused_refresh_token_is_tried_once_then_every_tool_app_caller_fails_fast() {
        let store = Arc::new(MemoryTokenStore::new());
        stored(&store, 7 * 86400).await;
        let manager = manager(store);
        let endpoint = Endpoint::new(7 * 86400, Refresh::Refused);
        let tasks: Vec<_> = (0..100)
            .map(|_| {
                let (manager, endpoint) = (manager.clone(), endpoint.clone());
                tokio::spawn(
                    async move { manager.replace_rejected("42", &AccessToken::new("a"), None, &*endpoint).await },
                )
            })
            .collect();
        for task in tasks {
            let error = task.await.unwrap().unwrap_err();
            assert_eq!(error.api().map(|e| e.code), Some(50001), "{error}");
        }
        // Later calls do not even try: the refusal is remembered for that refresh token.
        for result in concurrent_tokens(&manager, &endpoint, None, 100).await {
            assert_eq!(
                result.unwrap_err().api().map(|e| e.sub_code.as_str()),
                Some("dop.token-generate-failed:token-invalid")
            );
        }
        assert_eq!(endpoint.counts(), (0, 1));
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_refused_refresh_token_of_a_self_use_app_is_replaced_by_one_create() {
        let store = Arc::new(MemoryTokenStore::new());
        stored(&store, 7 * 86400).await;
        let manager = manager(store.clone());
        let endpoint = Endpoint::new(7 * 86400, Refresh::Refused);
        let tasks: Vec<_> = (0..100)
            .map(|_| {
                let (manager, endpoint) = (manager.clone(), endpoint.clone());
                tokio::spawn(async move {
                    manager.replace_rejected("42", &AccessToken::new("a"), Some(&self_use()), &*endpoint).await
                })
            })
            .collect();
        for task in tasks {
            assert_eq!(task.await.unwrap().unwrap().access_token.expose(), "access-0");
        }
        assert_eq!(endpoint.counts(), (1, 1));
        assert_eq!(store.load("42").await.unwrap().unwrap().access_token.expose(), "access-0");
    }

    #[tokio::test]
    async fn an_expired_refresh_token_is_not_sent() {
        let store = Arc::new(MemoryTokenStore::new());
        let mut pair = token(unix_now() - 10);
        pair.refresh_expires_at = unix_now(); // its last second is over as it begins
        store.save("42", &pair).await.unwrap();
        let manager = manager(store);
        let endpoint = Endpoint::new(7 * 86400, Refresh::Works);
        let api: Arc<dyn TokenEndpoint> = endpoint.clone();
        let error = manager.token("42", None, &api).await.unwrap_err();
        assert!(error.to_string().contains("refresh token of `42` has expired"), "{error}");
        // A self-use app creates a new token instead.
        let fresh = manager.token("42", Some(&self_use()), &api).await.unwrap();
        assert_eq!(fresh.access_token.expose(), "access-0");
        assert_eq!(endpoint.counts(), (1, 0));
    }

    #[test]
    fn what_satisfies_each_need() {
        let (now, window) = (unix_now(), Duration::from_secs(3600));
        let (fresh, due, expired) = (token(now + 7200), token(now + 1800), token(now - 1));
        let (other, same) = (AccessToken::new("other"), fresh.access_token.clone());
        // A fresher token: another one, outside the refresh window.
        assert!(Need::Fresher.satisfied_by(&fresh, Some(&other), window, now));
        assert!(Need::Fresher.satisfied_by(&fresh, None, window, now));
        assert!(!Need::Fresher.satisfied_by(&fresh, Some(&same), window, now), "the same token");
        assert!(!Need::Fresher.satisfied_by(&due, Some(&other), window, now), "still due");
        // A valid or replacement token: another one that has not expired, due or not.
        for need in [Need::Valid, Need::Replacement] {
            assert!(need.satisfied_by(&due, Some(&other), window, now));
            assert!(!need.satisfied_by(&due, Some(&same), window, now), "the same token");
            assert!(!need.satisfied_by(&expired, None, window, now), "expired");
        }
    }

    #[tokio::test]
    async fn a_valid_token_outside_the_window_costs_no_call_and_takes_the_fast_path() {
        let store = Arc::new(MemoryTokenStore::new());
        stored(&store, 7200).await;
        let manager = manager(store.clone());
        let endpoint = Endpoint::new(7 * 86400, Refresh::Works);
        let api: Arc<dyn TokenEndpoint> = endpoint.clone();
        assert!(manager.ready_access_token("42", None).is_none(), "nothing cached yet");
        for _ in 0..3 {
            assert_eq!(manager.token("42", None, &api).await.unwrap().access_token.expose(), "a");
        }
        assert_eq!(manager.ready_access_token("42", None).unwrap().expose(), "a");
        assert_eq!(endpoint.counts(), (0, 0));
        // The cached pair outlives a store that lost it.
        store.remove("42").await.unwrap();
        assert_eq!(manager.token("42", None, &api).await.unwrap().access_token.expose(), "a");
        assert_eq!(endpoint.counts(), (0, 0));
    }

    #[tokio::test]
    async fn a_token_due_for_refresh_never_takes_the_fast_path() {
        let store = Arc::new(MemoryTokenStore::new());
        stored(&store, 1800).await;
        let manager = manager(store);
        let endpoint = Endpoint::new(7 * 86400, Refresh::RateLimited);
        let api: Arc<dyn TokenEndpoint> = endpoint.clone();
        assert_eq!(manager.token("42", None, &api).await.unwrap().access_token.expose(), "a");
        assert!(manager.ready_access_token("42", None).is_none());
        assert!(manager.ready_access_token("42", Some(&self_use())).is_none());
    }

    #[tokio::test]
    async fn after_a_refusal_only_a_creating_grant_or_a_new_authorisation_gets_a_token() {
        let store = Arc::new(MemoryTokenStore::new());
        stored(&store, 7 * 86400).await;
        let manager = manager(store.clone());
        let endpoint = Endpoint::new(7 * 86400, Refresh::Refused);
        let api: Arc<dyn TokenEndpoint> = endpoint.clone();
        manager.replace_rejected("42", &AccessToken::new("a"), None, &*endpoint).await.unwrap_err();
        // A tool app (no grant that can create) gets the refusal, on the fast path too.
        let refusal = manager.token("42", None, &api).await.unwrap_err();
        assert_eq!(refusal.api().map(|e| e.code), Some(50001), "{refusal}");
        assert!(manager.ready_access_token("42", None).is_none());
        let elsewhere = Grant::SelfUseShop { shop_id: "7".into() };
        assert!(manager.ready_access_token("42", Some(&elsewhere)).is_none(), "a grant for another shop");
        assert!(manager.token("42", Some(&elsewhere), &api).await.is_err());
        // A grant that can create a token for the shop may use the still valid one.
        assert_eq!(manager.ready_access_token("42", Some(&self_use())).unwrap().expose(), "a");
        assert_eq!(manager.token("42", Some(&self_use()), &api).await.unwrap().access_token.expose(), "a");
        // Another process authorised the shop again: its new pair is picked up.
        let mut renewed = token(unix_now() + 7 * 86400);
        (renewed.access_token, renewed.refresh_token) = (AccessToken::new("b"), AccessToken::new("r2"));
        store.save("42", &renewed).await.unwrap();
        assert_eq!(manager.token("42", None, &api).await.unwrap().access_token.expose(), "b");
        assert_eq!(manager.ready_access_token("42", None).unwrap().expose(), "b");
        assert_eq!(endpoint.counts(), (0, 1));
    }

    #[test]
    fn the_test_shop_setting_and_the_store_are_handed_on() {
        let store: Arc<dyn TokenStore> = Arc::new(MemoryTokenStore::new());
        assert!(!TokenManager::new(store.clone(), TokenSettings::default()).test_shop());
        let manager = TokenManager::new(store.clone(), TokenSettings { test_shop: true, ..TokenSettings::default() });
        assert!(manager.test_shop());
        assert!(Arc::ptr_eq(manager.store(), &store));
    }

    #[tokio::test]
    async fn tool_app_without_token_gets_a_clear_error() {
        let manager = manager(Arc::new(MemoryTokenStore::new()));
        let endpoint = Endpoint::new(7 * 86400, Refresh::Works);
        let api: Arc<dyn TokenEndpoint> = endpoint.clone();
        let err = manager.token("77", None, &api).await.unwrap_err();
        assert!(matches!(err, Error::Config(ref m) if m.contains("authorise")), "{err}");
        assert_eq!(endpoint.counts(), (0, 0));
    }
}
