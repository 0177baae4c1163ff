//! [`TokenManager`]: hands out a valid token per shop, renewing it once however many
//! callers (and processes) need it.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
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
    /// How often a held pair is compared with the store's (a store that lost its data gets
    /// it written back; a pair another process renewed is taken up).
    pub(crate) store_check: Duration,
}

impl Default for TokenSettings {
    fn default() -> Self {
        TokenSettings {
            refresh_window: Duration::from_secs(3600),
            refresh_wait: Duration::from_millis(500),
            lease: Duration::from_secs(30),
            test_shop: false,
            store_check: Duration::from_secs(60),
        }
    }
}

/// Backoff of opportunistic refreshes after failures: 10 s doubling to 5 minutes, jittered.
fn refresh_backoff() -> RetryPolicy {
    RetryPolicy::attempts(u32::MAX).with_backoff(Duration::from_secs(10), Duration::from_secs(300))
}

/// Backoff of saving a pair the store refused: 1 s doubling to a minute, jittered, forever
/// (the pair is the shop's authorisation: it is kept until it lands).
fn save_backoff() -> RetryPolicy {
    RetryPolicy::attempts(u32::MAX).with_backoff(Duration::from_secs(1), Duration::from_secs(60))
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
    /// Only a rejected token must be replaced by another one: the platform keeps a pair
    /// with time left and hands it back from a refresh with its true expiry, so the same
    /// pair with a later expiry serves a caller who needed it valid or fresher.
    fn satisfied_by(self, candidate: &StoredToken, seen: Option<&AccessToken>, window: Duration, now: u64) -> bool {
        match self {
            Need::Fresher => !candidate.needs_refresh(now, window),
            Need::Valid => !candidate.is_expired(now),
            Need::Replacement => seen.is_none_or(|s| *s != candidate.access_token) && !candidate.is_expired(now),
        }
    }
}

/// The pair a token.refresh of `token` answered with `reply`.
pub(crate) fn refreshed_pair(token: &StoredToken, reply: TokenReply) -> Result<StoredToken> {
    let mut fresh = StoredToken::from_reply(reply, unix_now())?;
    if fresh.shop_id.is_empty() {
        fresh.shop_id = token.shop_id.clone();
    }
    if fresh.refresh_token == token.refresh_token {
        // The platform handed back the same pair: its refresh token's life is unchanged.
        fresh.refresh_expires_at = token.refresh_expires_at;
    }
    Ok(fresh)
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
    /// `token` is not in the store yet: a background task saves it until that works.
    unsaved: bool,
    saving: bool,
    /// When (Unix seconds) `token` is next compared with the store's pair; a check runs.
    next_check: u64,
    checking: bool,
}

impl Slot {
    fn lock(&self) -> MutexGuard<'_, SlotState> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn cached(&self) -> Option<StoredToken> {
        self.lock().token.clone()
    }

    /// Takes up a pair read from the store (so it is saved there).
    fn keep(&self, token: &StoredToken) {
        let mut state = self.lock();
        state.token = Some(token.clone());
        state.unsaved = false;
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
    /// Saves of a new pair the store refused (each background retry counts).
    failed_saves: AtomicU64,
}

/// What the token manager has not been able to persist (see [`crate::Client::token_health`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct TokenHealth {
    /// Saves of a newly issued pair that the store refused since the client was built.
    pub failed_saves: u64,
    /// Shops whose current pair is held in memory only, waiting for the store.
    pub unsaved_shops: Vec<String>,
}

/// Hands out valid tokens per shop.
pub(crate) struct TokenManager {
    renewer: Arc<Renewer>,
    slots: Mutex<HashMap<String, Arc<Slot>>>,
}

impl TokenManager {
    pub(crate) fn new(store: Arc<dyn TokenStore>, settings: TokenSettings) -> Self {
        let renewer = Arc::new(Renewer { store, settings, failed_saves: AtomicU64::new(0) });
        TokenManager { renewer, slots: Mutex::new(HashMap::new()) }
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
        let now = unix_now();
        let check_due = now >= state.next_check && !state.checking && !state.unsaved;
        if (refused && !can_create) || check_due || token.needs_refresh(now, self.renewer.settings.refresh_window) {
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
            Some(token) => {
                self.renewer.check_store_when_due(key, &slot);
                Some(token)
            }
            None => {
                let loaded = self.renewer.store.load(key).await?;
                if let Some(token) = &loaded {
                    slot.keep(token);
                    self.renewer.checked(&slot);
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

    /// Exchanges a grant for a token and stores it under its shop id (tool apps: the code's
    /// shop). The pair is returned and held whether or not the store took it (the grant is
    /// used up): the second value is the store's error, while a background task saves it.
    pub(crate) async fn create(&self, grant: &Grant, api: &dyn TokenEndpoint) -> Result<(StoredToken, Option<Error>)> {
        let reply = api.create(grant).await?;
        let token = StoredToken::from_reply(reply, unix_now())?;
        let key = grant.key().map(str::to_owned).unwrap_or_else(|| token.shop_id.clone());
        if key.is_empty() {
            return Err(Error::config("token reply names no shop_id"));
        }
        let slot = self.slot(&key);
        let _flight = slot.flight.lock().await;
        let unsaved = self.renewer.adopt(&key, &slot, &token).await;
        Ok((token, unsaved))
    }

    /// What has not been persisted.
    pub(crate) fn health(&self) -> TokenHealth {
        let slots = self.slots.lock().unwrap_or_else(|p| p.into_inner());
        let mut unsaved_shops: Vec<String> =
            slots.iter().filter(|(_, slot)| slot.lock().unsaved).map(|(key, _)| key.clone()).collect();
        unsaved_shops.sort_unstable();
        TokenHealth { failed_saves: self.renewer.failed_saves.load(Ordering::Relaxed), unsaved_shops }
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
                    tracing::warn!(shop = %key_owned, error = %crate::error::Chain(&error), retry_in_s = delay.as_secs(),
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
        self: &Arc<Self>,
        key: &str,
        slot: &Arc<Slot>,
        grant: Option<&Grant>,
        api: &dyn TokenEndpoint,
        seen: Option<&AccessToken>,
        need: Need,
    ) -> Result<StoredToken> {
        let lock = match self.store.lock_renewal(key, self.settings.lease).await {
            Ok(lock) => lock,
            // A store that is down cannot coordinate processes, but the held pair can still
            // be renewed (and is kept until the store takes it): better than failing every
            // call until the store is back.
            Err(error) if slot.cached().is_some() => {
                tracing::warn!(shop = key, error = %crate::error::Chain(&error), "renewing without the store's lock");
                super::RenewalLock::unlocked()
            }
            Err(error) => return Err(error),
        };
        let outcome = self.renew_locked(key, slot, grant, api, seen, need).await;
        lock.release().await;
        outcome
    }

    async fn renew_locked(
        self: &Arc<Self>,
        key: &str,
        slot: &Arc<Slot>,
        grant: Option<&Grant>,
        api: &dyn TokenEndpoint,
        seen: Option<&AccessToken>,
        need: Need,
    ) -> Result<StoredToken> {
        let window = self.settings.refresh_window;
        // Another process may have renewed while this one waited for the lock.
        let stored = match self.store.load(key).await {
            Ok(stored) => stored,
            Err(error) if slot.cached().is_some() => {
                tracing::warn!(shop = key, error = %crate::error::Chain(&error), "renewing the held pair: the store cannot be read");
                None
            }
            Err(error) => return Err(error),
        };
        // The held pair is the newer one when the store lost it (a deleted file, a Redis
        // restarted empty) or has not taken it yet (a failed save).
        let held = slot.cached();
        let from_store = match (&stored, &held) {
            (Some(stored), Some(held)) => stored.expires_at >= held.expires_at,
            (stored, _) => stored.is_some(),
        };
        let current = if from_store { stored } else { held };
        if let Some(current) = &current {
            if need.satisfied_by(current, seen, window, unix_now()) {
                if from_store {
                    slot.keep(current);
                }
                return Ok(current.clone());
            }
        }
        let refusal = match current {
            // Marked by a renewal run (`Client::renew_due`): sending it again cannot help.
            Some(StoredToken { refused: Some(refused), .. }) => Error::config(format!(
                "the platform refused the refresh token of `{key}` ({} {}: {}): authorise the shop again",
                refused.code, refused.sub_code, refused.message
            )),
            Some(current) if unix_now() < current.refresh_expires_at => {
                if let Some(refusal) = slot.refusal(&current) {
                    refusal
                } else {
                    match self.refresh(&current, api, need != Need::Fresher).await {
                        Ok(fresh) => {
                            // Held before anything else: the platform may have retired the old pair.
                            self.adopt(key, slot, &fresh).await;
                            tracing::debug!(
                                shop = key,
                                same_pair = fresh.access_token == current.access_token,
                                "token refreshed"
                            );
                            if need.satisfied_by(&fresh, seen, window, unix_now()) || need == Need::Fresher {
                                return Ok(fresh);
                            }
                            Error::config(format!(
                                "the platform rejects the token of `{key}` and its refresh returns the same token"
                            ))
                        }
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
        self.adopt(key, slot, &token).await;
        tracing::debug!(shop = key, "token created");
        Ok(token)
    }

    /// The pair a refresh of `token` returns (not yet held or saved).
    async fn refresh(&self, token: &StoredToken, api: &dyn TokenEndpoint, patient: bool) -> Result<StoredToken> {
        refreshed_pair(token, api.refresh(&token.refresh_token, patient).await?)
    }

    /// Holds `token` as the shop's pair, then saves it before anyone uses it, so a crash
    /// never loses it. The platform has issued it (and may have retired the old pair or
    /// used up a consent code), so a save that fails never drops it: it stays held and is
    /// saved again in the background until the store takes it. Returns that save's error.
    async fn adopt(self: &Arc<Self>, key: &str, slot: &Arc<Slot>, token: &StoredToken) -> Option<Error> {
        {
            let mut state = slot.lock();
            state.token = Some(token.clone());
            state.refused = None;
            state.unsaved = true;
        }
        match self.store.save(key, token).await {
            Ok(()) => {
                self.saved(slot, token);
                None
            }
            Err(error) => {
                self.failed_save(key, &error);
                self.save_in_background(key, slot);
                Some(error)
            }
        }
    }

    /// The store took `token`: unless a newer pair is held since, nothing is left to save.
    fn saved(&self, slot: &Slot, token: &StoredToken) {
        let mut state = slot.lock();
        if state.token.as_ref() == Some(token) {
            state.unsaved = false;
            state.next_check = unix_now().saturating_add(self.settings.store_check.as_secs());
        }
    }

    fn failed_save(&self, key: &str, error: &Error) {
        self.failed_saves.fetch_add(1, Ordering::Relaxed);
        tracing::error!(shop = key, error = %crate::error::Chain(error),
            "the token store refused the shop's new pair: it is held in memory and saved again until the store takes it");
    }

    /// Saves the held pair until the store takes it (one task per shop).
    fn save_in_background(self: &Arc<Self>, key: &str, slot: &Arc<Slot>) {
        if std::mem::replace(&mut slot.lock().saving, true) {
            return;
        }
        let (renewer, slot, key) = (self.clone(), slot.clone(), key.to_owned());
        tokio::spawn(async move {
            for attempt in 1.. {
                tokio::time::sleep(save_backoff().backoff(attempt)).await;
                let pending = {
                    let mut state = slot.lock();
                    match (&state.token, state.unsaved) {
                        (Some(token), true) => token.clone(),
                        _ => {
                            state.saving = false;
                            return;
                        }
                    }
                };
                // Another process may have renewed meanwhile: its newer pair stands.
                if let Ok(Some(stored)) = renewer.store.load(&key).await {
                    if stored.expires_at > pending.expires_at {
                        let mut state = slot.lock();
                        if state.token.as_ref() == Some(&pending) {
                            (state.token, state.unsaved) = (Some(stored), false);
                        }
                        continue;
                    }
                }
                match renewer.store.save(&key, &pending).await {
                    Ok(()) => {
                        renewer.saved(&slot, &pending);
                        tracing::warn!(shop = %key, attempt, "the token store took the shop's held pair");
                    }
                    Err(error) => renewer.failed_save(&key, &error),
                }
            }
        });
    }

    /// A store check is not due before `store_check` from now.
    fn checked(&self, slot: &Slot) {
        slot.lock().next_check = unix_now().saturating_add(self.settings.store_check.as_secs());
    }

    /// Once per `store_check`, compares the held pair with the store's in the background:
    /// a store that lost it (a Redis restarted empty) gets it written back, so processes
    /// started since find it; a newer pair another process stored is taken up.
    fn check_store_when_due(self: &Arc<Self>, key: &str, slot: &Arc<Slot>) {
        {
            let mut state = slot.lock();
            if state.checking || state.unsaved || unix_now() < state.next_check {
                return;
            }
            state.checking = true;
        }
        let (renewer, slot, key) = (self.clone(), slot.clone(), key.to_owned());
        tokio::spawn(async move {
            renewer.check_store(&key, &slot).await;
            renewer.checked(&slot);
            slot.lock().checking = false;
        });
    }

    async fn check_store(self: &Arc<Self>, key: &str, slot: &Arc<Slot>) {
        let Some(held) = slot.cached() else { return };
        match self.store.load(key).await {
            Ok(Some(stored)) if stored == held => {}
            Ok(Some(stored)) if stored.expires_at > held.expires_at => {
                let mut state = slot.lock();
                if state.token.as_ref() == Some(&held) {
                    state.token = Some(stored);
                }
            }
            Ok(stored) => {
                if slot.lock().refusal_of(&held).is_some() {
                    return; // a dead pair is not worth restoring
                }
                // Under the renewal lock, so a renewal elsewhere is not overwritten.
                let Ok(lock) = self.store.lock_renewal(key, self.settings.lease).await else { return };
                let unchanged = matches!(self.store.load(key).await, Ok(now) if now == stored);
                if unchanged && slot.cached().as_ref() == Some(&held) {
                    tracing::warn!(
                        shop = key,
                        "the token store lost the shop's pair (or holds an older one): writing back the held one"
                    );
                    if let Err(error) = self.store.save(key, &held).await {
                        self.failed_save(key, &error);
                    }
                }
                lock.release().await;
            }
            Err(error) => tracing::debug!(shop = key, error = %crate::error::Chain(&error), "token store check failed"),
        }
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
        /// The refresh token of each refresh, in order.
        refreshed_with: Mutex<Vec<String>>,
    }

    impl Endpoint {
        fn new(lifetime: u64, refresh: Refresh) -> Arc<Self> {
            Arc::new(Endpoint {
                creates: AtomicU64::new(0),
                refreshes: AtomicU64::new(0),
                lifetime,
                refresh,
                patience: Mutex::new(Vec::new()),
                refreshed_with: Mutex::new(Vec::new()),
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
        fn refresh<'a>(&'a self, token: &'a AccessToken, patient: bool) -> BoxFuture<'a, Result<TokenReply>> {
            let n = 100 + self.refreshes.fetch_add(1, Ordering::SeqCst);
            self.patience.lock().unwrap().push(patient);
            self.refreshed_with.lock().unwrap().push(token.expose().to_owned());
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
        for _ in 0..3 {
            for result in concurrent_tokens(&manager, &endpoint, Some(self_use()), 200).await {
                assert_eq!(result.unwrap().access_token.expose(), "a", "the valid token is used");
            }
        }
        // One attempt; the failure backs off (10 s or more) instead of being repeated.
        assert_eq!(endpoint.counts(), (0, 1));
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
    fn a_refused_save_is_tried_again_within_a_second_or_two_and_never_less_often_than_every_minute() {
        let backoff = save_backoff();
        assert_eq!(
            (backoff.backoff_ceiling(1), backoff.backoff_ceiling(20)),
            (Duration::from_secs(1), Duration::from_secs(60))
        );
    }

    #[test]
    fn what_satisfies_each_need() {
        let (now, window) = (unix_now(), Duration::from_secs(3600));
        let (fresh, due, expired) = (token(now + 7200), token(now + 1800), token(now - 1));
        let (other, same) = (AccessToken::new("other"), fresh.access_token.clone());
        // A fresher token: one outside the refresh window, the same pair included (the
        // platform hands a pair with time left back with its true expiry).
        assert!(Need::Fresher.satisfied_by(&fresh, Some(&other), window, now));
        assert!(Need::Fresher.satisfied_by(&fresh, None, window, now));
        assert!(Need::Fresher.satisfied_by(&fresh, Some(&same), window, now), "the same pair, later expiry");
        assert!(!Need::Fresher.satisfied_by(&due, Some(&other), window, now), "still due");
        // A valid token: any that has not expired, due or not, the same pair included.
        assert!(Need::Valid.satisfied_by(&due, Some(&other), window, now));
        assert!(Need::Valid.satisfied_by(&due, Some(&same), window, now), "the same pair, later expiry");
        assert!(!Need::Valid.satisfied_by(&expired, None, window, now), "expired");
        // A replacement of a rejected token: another one that has not expired.
        assert!(Need::Replacement.satisfied_by(&due, Some(&other), window, now));
        assert!(Need::Replacement.satisfied_by(&due, None, window, now));
        assert!(!Need::Replacement.satisfied_by(&due, Some(&same), window, now), "the rejected token");
        assert!(!Need::Replacement.satisfied_by(&expired, Some(&other), window, now), "expired");
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

    /// A memory store whose operations can be switched to fail (as a Redis that is down or
    /// an unwritable token directory does), counting loads and saves, and able to store a
    /// pair when the renewal lock is taken (another process's renewal, at that moment).
    #[derive(Default)]
    struct FlakyStore {
        inner: MemoryTokenStore,
        load_down: std::sync::atomic::AtomicBool,
        save_down: std::sync::atomic::AtomicBool,
        lock_down: std::sync::atomic::AtomicBool,
        loads: std::sync::atomic::AtomicUsize,
        saves: std::sync::atomic::AtomicUsize,
        on_lock: Mutex<Option<StoredToken>>,
    }

    impl FlakyStore {
        fn set_down(&self, down: bool) {
            for flag in [&self.load_down, &self.save_down, &self.lock_down] {
                flag.store(down, Ordering::SeqCst);
            }
        }
        fn check(flag: &std::sync::atomic::AtomicBool) -> Result<()> {
            match flag.load(Ordering::SeqCst) {
                true => Err(Error::TokenStore { message: "the store is down".into(), source: None }),
                false => Ok(()),
            }
        }
        fn counts(&self) -> (usize, usize) {
            (self.loads.load(Ordering::SeqCst), self.saves.load(Ordering::SeqCst))
        }
        async fn access_token(&self) -> Option<String> {
            self.inner.load("42").await.unwrap().map(|t| t.access_token.expose().to_owned())
        }
    }

    impl TokenStore for FlakyStore {
        fn load<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<Option<StoredToken>>> {
            Box::pin(async move {
                self.loads.fetch_add(1, Ordering::SeqCst);
                Self::check(&self.load_down)?;
                self.inner.load(key).await
            })
        }
        fn save<'a>(&'a self, key: &'a str, token: &'a StoredToken) -> BoxFuture<'a, Result<()>> {
            Box::pin(async move {
                self.saves.fetch_add(1, Ordering::SeqCst);
                Self::check(&self.save_down)?;
                self.inner.save(key, token).await
            })
        }
        fn remove<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<()>> {
            Box::pin(async move { self.inner.remove(key).await })
        }
        fn lock_renewal<'a>(
            &'a self,
            key: &'a str,
            _lease: Duration,
        ) -> BoxFuture<'a, Result<super::super::RenewalLock>> {
            Box::pin(async move {
                Self::check(&self.lock_down)?;
                let renewed_elsewhere = self.on_lock.lock().unwrap().take();
                if let Some(token) = renewed_elsewhere {
                    self.inner.save(key, &token).await?;
                }
                Ok(super::super::RenewalLock::new(async {}))
            })
        }
    }

    /// A pair for shop 42 with tokens `access`/`access-r`, expiring at `expires_at`.
    fn pair(access: &str, expires_at: u64) -> StoredToken {
        let mut pair = token(expires_at);
        (pair.access_token, pair.refresh_token) = (AccessToken::new(access), AccessToken::new(format!("{access}-r")));
        pair.shop_id = "42".into();
        pair
    }

    /// Lets spawned tasks run without advancing paused time.
    async fn settle() {
        for _ in 0..50 {
            tokio::task::yield_now().await;
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_store_that_cannot_lock_or_load_stops_a_renewal_only_when_no_pair_is_held() {
        let endpoint = Endpoint::new(7 * 86400, Refresh::Works);
        // The lock fails, the store holds an expired pair, nothing is held: nothing to renew
        // without the store, and a self-use grant must not mint a token behind its back.
        let store = Arc::new(FlakyStore::default());
        store.inner.save("42", &token(unix_now() - 10)).await.unwrap();
        store.lock_down.store(true, Ordering::SeqCst);
        let manager = flaky_manager(&store, TokenSettings::default());
        let error =
            manager.replace_rejected("42", &AccessToken::new("a"), Some(&self_use()), &*endpoint).await.unwrap_err();
        assert!(matches!(error, Error::TokenStore { .. }), "{error}");
        // The load fails instead: the same.
        store.lock_down.store(false, Ordering::SeqCst);
        store.load_down.store(true, Ordering::SeqCst);
        let error =
            manager.replace_rejected("42", &AccessToken::new("a"), Some(&self_use()), &*endpoint).await.unwrap_err();
        assert!(matches!(error, Error::TokenStore { .. }), "{error}");
        assert_eq!(endpoint.counts(), (0, 0));
    }

    #[tokio::test(start_paused = true)]
    async fn a_pair_held_for_the_store_gives_way_to_a_newer_stored_one_and_only_to_a_newer_one() {
        for (stored_expiry_offset, expect_stored) in [(60, true), (0, false), (-60, false)] {
            let store = Arc::new(FlakyStore::default());
            store.save_down.store(true, Ordering::SeqCst);
            let manager = flaky_manager(&store, TokenSettings::default());
            let endpoint = Endpoint::new(7 * 86400, Refresh::Works);
            let (held, _) = manager.create(&self_use(), &*endpoint).await.unwrap();
            // Another process stores its pair meanwhile, and the store takes saves again.
            let other = pair("other", held.expires_at.saturating_add_signed(stored_expiry_offset));
            store.inner.save("42", &other).await.unwrap();
            store.save_down.store(false, Ordering::SeqCst);
            tokio::time::sleep(Duration::from_secs(5)).await;
            let health = manager.health();
            assert!(health.unsaved_shops.is_empty(), "{health:?}");
            let (kept, stored) = (manager.slot("42").cached().unwrap(), store.inner.load("42").await.unwrap().unwrap());
            let winner = if expect_stored { &other } else { &held };
            assert_eq!((&kept, &stored), (winner, winner), "stored {stored_expiry_offset:+} s from the held pair");
        }
    }

    #[tokio::test(start_paused = true)]
    async fn the_store_check_runs_once_per_interval_and_never_while_a_save_is_pending() {
        let store = Arc::new(FlakyStore::default());
        store.inner.save("42", &pair("a", unix_now() + 7200)).await.unwrap();
        let manager = flaky_manager(&store, TokenSettings::default());
        let endpoint = Endpoint::new(7 * 86400, Refresh::Works);
        let api: Arc<dyn TokenEndpoint> = endpoint.clone();
        manager.token("42", None, &api).await.unwrap();
        assert!(manager.slot("42").lock().next_check >= unix_now() + 59, "a load counts as a check");
        for _ in 0..5 {
            manager.token("42", None, &api).await.unwrap();
            settle().await;
        }
        assert_eq!(store.counts(), (1, 0), "no check within the interval");

        // Checked on every call: an unchanged store is read, never written.
        let store = Arc::new(FlakyStore::default());
        store.inner.save("42", &pair("a", unix_now() + 7200)).await.unwrap();
        let manager = flaky_manager(&store, TokenSettings { store_check: Duration::ZERO, ..TokenSettings::default() });
        for _ in 0..3 {
            manager.token("42", None, &api).await.unwrap();
            settle().await;
        }
        assert_eq!(store.counts(), (3, 0), "one load, then a check on each later call");

        // While a pair waits for the store, its background save owns the store: no check.
        let store = Arc::new(FlakyStore::default());
        store.save_down.store(true, Ordering::SeqCst);
        let manager = flaky_manager(&store, TokenSettings { store_check: Duration::ZERO, ..TokenSettings::default() });
        manager.create(&self_use(), &*endpoint).await.unwrap();
        for _ in 0..3 {
            manager.token("42", None, &api).await.unwrap();
            settle().await;
        }
        assert_eq!(store.counts(), (0, 1), "no load: nothing checked");
    }

    #[tokio::test(start_paused = true)]
    async fn a_store_check_writes_back_an_older_pair_of_equal_expiry_but_not_over_a_renewal_it_meets() {
        let settings = TokenSettings { store_check: Duration::ZERO, ..TokenSettings::default() };
        let endpoint = Endpoint::new(7 * 86400, Refresh::Works);
        let api: Arc<dyn TokenEndpoint> = endpoint.clone();
        let expiry = unix_now() + 7200;
        // The store holds another pair of the same expiry (restored from elsewhere): the
        // held one is written back.
        let store = Arc::new(FlakyStore::default());
        store.inner.save("42", &pair("held", expiry)).await.unwrap();
        let manager = flaky_manager(&store, settings.clone());
        manager.token("42", None, &api).await.unwrap();
        store.inner.save("42", &pair("same-expiry", expiry)).await.unwrap();
        manager.token("42", None, &api).await.unwrap();
        settle().await;
        assert_eq!(store.access_token().await.as_deref(), Some("held"));
        assert_eq!(manager.slot("42").cached().unwrap().access_token.expose(), "held");
        // The store lost the pair, and another process renews just as the check takes the
        // lock: its pair stands.
        store.inner.remove("42").await.unwrap();
        *store.on_lock.lock().unwrap() = Some(pair("renewed", expiry + 3600));
        manager.token("42", None, &api).await.unwrap();
        settle().await;
        assert_eq!(store.access_token().await.as_deref(), Some("renewed"));
    }

    fn flaky_manager(store: &Arc<FlakyStore>, settings: TokenSettings) -> Arc<TokenManager> {
        Arc::new(TokenManager::new(store.clone(), settings))
    }

    /// Waits (in paused test time) until the store holds `access` for shop 42.
    async fn until_stored(store: &FlakyStore, access: &str) {
        for _ in 0..600 {
            if store.access_token().await.as_deref() == Some(access) {
                return;
            }
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
        panic!("the store never took {access}: it holds {:?}", store.access_token().await);
    }

    /// The store goes down, stays down across several background saves, comes back.
    async fn outage_then_recovery(manager: &TokenManager, store: &FlakyStore, access: &str) {
        assert_eq!(manager.health().unsaved_shops, ["42"]);
        tokio::time::sleep(Duration::from_secs(10)).await;
        assert!(manager.health().failed_saves >= 3, "retried while down: {:?}", manager.health());
        assert_ne!(store.access_token().await.as_deref(), Some(access), "saved while down");
        store.set_down(false);
        until_stored(store, access).await;
        let health = manager.health();
        assert!(health.unsaved_shops.is_empty() && health.failed_saves >= 3, "{health:?}");
    }

    #[tokio::test(start_paused = true)]
    async fn a_consent_while_the_store_is_down_returns_the_pair_holds_it_and_saves_it_later() {
        let store = Arc::new(FlakyStore::default());
        store.set_down(true);
        let manager = flaky_manager(&store, TokenSettings::default());
        let endpoint = Endpoint::new(7 * 86400, Refresh::Works);
        let (token, unsaved) = manager.create(&Grant::AuthorizationCode("c".into()), &*endpoint).await.unwrap();
        assert_eq!(token.access_token.expose(), "access-0");
        assert!(matches!(unsaved, Some(Error::TokenStore { .. })), "{unsaved:?}");
        // The held pair serves calls while the store is down: no second consent, no refresh.
        let api: Arc<dyn TokenEndpoint> = endpoint.clone();
        assert_eq!(manager.token("42", None, &api).await.unwrap().access_token.expose(), "access-0");
        outage_then_recovery(&manager, &store, "access-0").await;
        assert_eq!(endpoint.counts(), (1, 0));
        // A consent while the store works is saved at once.
        let (_, unsaved) = manager.create(&Grant::AuthorizationCode("d".into()), &*endpoint).await.unwrap();
        assert!(unsaved.is_none());
        assert_eq!(store.access_token().await.as_deref(), Some("access-1"));
    }

    #[tokio::test(start_paused = true)]
    async fn an_expired_pair_refreshed_while_the_store_is_down_is_used_held_and_saved_later() {
        let store = Arc::new(FlakyStore::default());
        let manager = flaky_manager(&store, TokenSettings::default());
        manager.slot("42").keep(&token(unix_now() - 10));
        store.set_down(true);
        let endpoint = Endpoint::new(7 * 86400, Refresh::Works);
        let api: Arc<dyn TokenEndpoint> = endpoint.clone();
        // The platform drops the old pair as it answers: the new one is the only one left.
        for _ in 0..3 {
            assert_eq!(manager.token("42", None, &api).await.unwrap().access_token.expose(), "access-100");
        }
        assert_eq!(manager.ready_access_token("42", None).unwrap().expose(), "access-100");
        assert_eq!(endpoint.counts(), (0, 1));
        outage_then_recovery(&manager, &store, "access-100").await;
    }

    #[tokio::test(start_paused = true)]
    async fn a_rotation_in_the_last_hour_while_the_store_is_down_is_held_and_saved_later() {
        let store = Arc::new(FlakyStore::default());
        let manager = flaky_manager(&store, TokenSettings::default());
        manager.slot("42").keep(&token(unix_now() + 1800));
        store.set_down(true);
        let endpoint = Endpoint::new(7 * 86400, Refresh::Works);
        let api: Arc<dyn TokenEndpoint> = endpoint.clone();
        assert_eq!(manager.token("42", None, &api).await.unwrap().access_token.expose(), "access-100");
        assert_eq!(manager.token("42", None, &api).await.unwrap().access_token.expose(), "access-100");
        assert_eq!(endpoint.counts(), (0, 1));
        outage_then_recovery(&manager, &store, "access-100").await;
    }

    #[tokio::test]
    async fn a_held_pair_newer_than_the_stored_one_is_the_one_refreshed() {
        // The store holds the pair from before a rotation it missed (it was down).
        let store = Arc::new(FlakyStore::default());
        store.inner.save("42", &token(unix_now() - 100)).await.unwrap();
        let manager = flaky_manager(&store, TokenSettings::default());
        let mut held = token(unix_now() - 1);
        (held.access_token, held.refresh_token) = (AccessToken::new("held"), AccessToken::new("held-r"));
        manager.slot("42").keep(&held);
        let endpoint = Endpoint::new(7 * 86400, Refresh::Works);
        let api: Arc<dyn TokenEndpoint> = endpoint.clone();
        assert_eq!(manager.token("42", None, &api).await.unwrap().access_token.expose(), "access-100");
        assert_eq!(*endpoint.refreshed_with.lock().unwrap(), ["held-r"]);
        // The stored pair, when it is the newer one, is the one refreshed.
        let mut newer = token(unix_now() - 1);
        newer.refresh_token = AccessToken::new("stored-r");
        store.inner.save("42", &newer).await.unwrap();
        manager.slot("42").keep(&token(unix_now() - 100));
        manager.token("42", None, &api).await.unwrap();
        assert_eq!(*endpoint.refreshed_with.lock().unwrap(), ["held-r", "stored-r"]);
    }

    #[tokio::test]
    async fn a_stale_stored_expiry_is_renewed_by_the_same_pair_without_a_create() {
        // The stored expiry has passed, but the platform still honours the pair and its
        // refresh hands it back with its true expiry.
        for grant in [None, Some(self_use())] {
            let store = Arc::new(MemoryTokenStore::new());
            stored(&store, 0).await;
            let manager = manager(store.clone());
            let endpoint = Endpoint::new(7 * 86400, Refresh::Unchanged);
            let api: Arc<dyn TokenEndpoint> = endpoint.clone();
            for _ in 0..3 {
                let token = manager.token("42", grant.as_ref(), &api).await.unwrap();
                assert_eq!(token.access_token.expose(), "a");
                assert!(token.expires_at >= unix_now() + 7 * 86400 - 5);
            }
            assert_eq!(endpoint.counts(), (0, 1), "one refresh, no create ({grant:?})");
            assert!(store.load("42").await.unwrap().unwrap().expires_at >= unix_now() + 7 * 86400 - 5);
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_store_that_lost_its_data_gets_the_held_pair_back_and_a_newer_stored_pair_is_taken_up() {
        let store = Arc::new(FlakyStore::default());
        stored(&store.inner, 7200).await;
        let settings = TokenSettings { store_check: Duration::ZERO, ..TokenSettings::default() };
        let manager = flaky_manager(&store, settings);
        let endpoint = Endpoint::new(7 * 86400, Refresh::Works);
        let api: Arc<dyn TokenEndpoint> = endpoint.clone();
        assert_eq!(manager.token("42", None, &api).await.unwrap().access_token.expose(), "a");
        // A Redis restarted empty: the next call's check writes the held pair back.
        store.inner.remove("42").await.unwrap();
        assert!(manager.ready_access_token("42", None).is_none(), "a due check leaves the fast path");
        assert_eq!(manager.token("42", None, &api).await.unwrap().access_token.expose(), "a");
        until_stored(&store, "a").await;
        // A check that fails changes nothing.
        store.set_down(true);
        assert_eq!(manager.token("42", None, &api).await.unwrap().access_token.expose(), "a");
        tokio::time::sleep(Duration::from_secs(1)).await;
        store.set_down(false);
        // Another process stored a newer pair: it is taken up, not overwritten.
        let mut newer = token(unix_now() + 7 * 86400);
        (newer.access_token, newer.refresh_token) = (AccessToken::new("b"), AccessToken::new("r2"));
        store.inner.save("42", &newer).await.unwrap();
        let mut seen = String::new();
        for _ in 0..100 {
            seen = manager.token("42", None, &api).await.unwrap().access_token.expose().to_owned();
            if seen == "b" {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        assert_eq!(seen, "b");
        assert_eq!(store.access_token().await.as_deref(), Some("b"));
        // An older stored pair (a store restored from a backup) is overwritten by the held one.
        store.inner.save("42", &token(unix_now() + 60)).await.unwrap();
        assert_eq!(manager.token("42", None, &api).await.unwrap().access_token.expose(), "b");
        until_stored(&store, "b").await;
        assert_eq!(endpoint.counts(), (0, 0));
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
