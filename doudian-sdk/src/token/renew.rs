//! Renewing every shop whose refresh token is about to expire
//! ([`Client::renew_due`](crate::Client::renew_due)): a refresh token lives 14 days and a
//! shop whose token is not refreshed within them must consent again.

use std::time::Duration;

use futures_util::TryStreamExt;
use serde::Serialize;

use super::manager::{refreshed_pair, TokenEndpoint};
use super::{list_tokens, unix_now, RefreshRefusal, StoredToken, TokenState, TokenStore};
use crate::error::{ApiError, Chain, Error, Result};
use crate::ratelimit::{Instant, RateLimiter};

/// Shops are listed this many at a time.
const PAGE_SIZE: usize = 500;
/// A renewal lock is held at most this long: a refresh retried through a slow platform
/// fits in it, and a process that died holding it blocks the shop no longer.
const LEASE: Duration = Duration::from_secs(30);
/// A new pair the store does not take is offered this many times: the platform may have
/// retired the old pair, so losing the new one would cost the shop's consent.
const SAVE_ATTEMPTS: u32 = 3;

/// What [`Client::renew_due`](crate::Client::renew_due) did, shop by shop.
#[derive(Debug, Default, Serialize)]
#[non_exhaustive]
pub struct RenewalReport {
    /// Refreshed by this run: a new pair, saved.
    pub renewed: Vec<RenewedShop>,
    /// Refreshed, but the platform handed back the same pair (its access token has more
    /// than an hour left), so its refresh token's life is unchanged: still due.
    pub unchanged: Vec<String>,
    /// Due when listed, but another process renewed it (or it was removed) before this
    /// one took its renewal lock: not refreshed again.
    pub skipped: Vec<String>,
    /// The platform refused the refresh token (in this run or in a concurrent one): the
    /// pair is now marked [`refused`](StoredToken::refused) and the shop needs consent.
    pub refused: Vec<RefusedShop>,
    /// Not renewed for a reason that says nothing about the shop's consent (the network,
    /// the store, an app-level error such as a bad signature): try again later.
    pub failed: Vec<FailedShop>,
    /// Already needing consent before this run (refresh token expired or refused
    /// earlier): not sent, since only a new authorisation helps.
    pub needs_consent: Vec<String>,
    /// Unreadable entries of the store (a file that is not a token).
    pub unreadable: Vec<FailedShop>,
    /// Shops whose refresh token has more than the window left.
    pub valid: usize,
}

impl RenewalReport {
    /// Whether any shop needs consent now: refused in this run or before, or expired.
    pub fn needs_consent_anywhere(&self) -> bool {
        !self.refused.is_empty() || !self.needs_consent.is_empty()
    }
}

/// A shop renewed.
#[derive(Debug, Clone, Serialize)]
#[non_exhaustive]
pub struct RenewedShop {
    /// The store key (shop id).
    pub key: String,
    /// When the new access token expires (Unix seconds).
    pub expires_at: u64,
    /// When the new refresh token expires (Unix seconds).
    pub refresh_expires_at: u64,
}

/// A shop whose refresh token the platform refused.
#[derive(Debug, Clone, Serialize)]
#[non_exhaustive]
pub struct RefusedShop {
    /// The store key (shop id).
    pub key: String,
    /// The platform's answer.
    #[serde(flatten)]
    pub refusal: RefreshRefusal,
}

/// A shop not renewed, and why.
#[derive(Debug, Clone, Serialize)]
#[non_exhaustive]
pub struct FailedShop {
    /// The store key (shop id).
    pub key: String,
    /// The error, with its causes.
    pub error: String,
}

impl FailedShop {
    fn new(key: &str, error: &Error) -> Self {
        FailedShop { key: key.to_owned(), error: Chain(error).to_string() }
    }
}

/// Whether the platform's `answer` to a token.refresh refuses that shop's refresh token
/// (a token-generation failure: unknown or expired refresh token; the authorisation gone),
/// as opposed to refusing the app's call (a bad signature or app key, which would refuse
/// every shop's and says nothing about their consent).
fn refuses_the_shop(answer: &ApiError) -> bool {
    answer.code == 50001
        || answer.sub_code.starts_with("dop.token-generate-failed")
        || matches!(answer.sub_code.as_str(), "dop.authorization-no-existed" | "dop.authorization-closed")
}

/// Renews every shop of `store` whose refresh token expires within `within`, taking a
/// slot of `limiter` for each `token.refresh`. Each shop is renewed under the store's
/// renewal lock and re-read once the lock is held, so that processes running this at once
/// refresh each due shop once.
pub(crate) async fn renew_due(
    store: &dyn TokenStore,
    api: &dyn TokenEndpoint,
    within: Duration,
    limiter: &dyn RateLimiter,
) -> Result<RenewalReport> {
    let mut report = RenewalReport::default();
    let now = unix_now();
    let mut due = Vec::new();
    let mut listed = list_tokens(store, PAGE_SIZE);
    while let Some(entry) = listed.try_next().await? {
        match entry.token {
            Err(error) => report.unreadable.push(FailedShop::new(&entry.key, &error)),
            Ok(token) => match token.state(now, within) {
                TokenState::Valid => report.valid += 1,
                TokenState::RenewDue => due.push((entry.key, token)),
                TokenState::NeedsConsent => report.needs_consent.push(entry.key),
            },
        }
    }
    drop(listed);
    for (key, listed) in due {
        let lock = match store.lock_renewal(&key, LEASE).await {
            Ok(lock) => lock,
            Err(error) => {
                report.failed.push(FailedShop::new(&key, &error));
                continue;
            }
        };
        renew_one(store, api, within, limiter, &key, &listed, &mut report).await;
        lock.release().await;
    }
    Ok(report)
}

/// Renews `key` under its renewal lock, if it is still the pair that was listed as due.
async fn renew_one(
    store: &dyn TokenStore,
    api: &dyn TokenEndpoint,
    within: Duration,
    limiter: &dyn RateLimiter,
    key: &str,
    listed: &StoredToken,
    report: &mut RenewalReport,
) {
    let current = match store.load(key).await {
        Ok(Some(current)) => current,
        Ok(None) => return report.skipped.push(key.to_owned()),
        Err(error) => return report.failed.push(FailedShop::new(key, &error)),
    };
    if let Some(refusal) = &current.refused {
        // Refused by a concurrent run since the listing: that shop needs consent here too.
        return report.refused.push(RefusedShop { key: key.to_owned(), refusal: refusal.clone() });
    }
    let now = unix_now();
    if current.refresh_token != listed.refresh_token || current.state(now, within) != TokenState::RenewDue {
        return report.skipped.push(key.to_owned());
    }
    limiter.acquire("token.refresh").await;
    let sent_at = Instant::now();
    let outcome = api.refresh(&current.refresh_token, true).await;
    match &outcome {
        Err(error) if error.is_rate_limited() => limiter.throttled("token.refresh", sent_at),
        _ => limiter.answered("token.refresh", sent_at),
    }
    let (to_save, renewed) = match outcome.and_then(|reply| refreshed_pair(&current, reply)) {
        Ok(fresh) => {
            let same = fresh.refresh_token == current.refresh_token;
            (fresh, Ok(same))
        }
        Err(Error::Api(answer)) if refuses_the_shop(&answer) => {
            tracing::warn!(shop = key, code = answer.code, sub_code = %answer.sub_code,
                "the platform refused the refresh token: the shop must consent again");
            let refusal = RefreshRefusal::from_api(&answer, unix_now());
            let mut marked = current.clone();
            marked.refused = Some(refusal.clone());
            (marked, Err(refusal))
        }
        Err(error) => return report.failed.push(FailedShop::new(key, &error)),
    };
    if let Err(error) = save(store, key, &to_save).await {
        tracing::error!(shop = key, error = %Chain(&error), "the token store did not take the renewed pair");
        return report.failed.push(FailedShop::new(key, &error));
    }
    match renewed {
        Ok(true) => report.unchanged.push(key.to_owned()),
        Ok(false) => report.renewed.push(RenewedShop {
            key: key.to_owned(),
            expires_at: to_save.expires_at,
            refresh_expires_at: to_save.refresh_expires_at,
        }),
        Err(refusal) => report.refused.push(RefusedShop { key: key.to_owned(), refusal }),
    }
}

async fn save(store: &dyn TokenStore, key: &str, token: &StoredToken) -> Result<()> {
    let mut attempt = 1;
    loop {
        match store.save(key, token).await {
            Err(error) if attempt < SAVE_ATTEMPTS => {
                tracing::warn!(shop = key, error = %Chain(&error), "cannot save the renewed pair; trying again");
                tokio::time::sleep(Duration::from_millis(200 * u64::from(attempt))).await;
                attempt += 1;
            }
            outcome => return outcome,
        }
    }
}

#[cfg(test)]
mod tests;
