//! The client's side of token management: the token a managed call carries, the
//! replacement of one the platform rejected, and the token calls the [`TokenManager`]
//! makes through the client ([`TokenEndpoint`]).
//!
//! [`TokenManager`]: crate::token::TokenManager

use futures_util::future::BoxFuture;

use super::call::Call;
use super::envelope::decode_reply;
use super::{Client, Inner, Response};
use crate::error::{Error, Result};
use crate::retry::RetryPolicy;
use crate::secret::AccessToken;
use crate::sign;
use crate::token::{Grant, StoredToken, TokenEndpoint, TokenReply};

/// The excerpt of a token reply that does not decode: it may hold live tokens.
const WITHHELD: &str = "<withheld: token replies carry secrets>";

/// A shop's consent, exchanged for a token ([`Client::authorize_code`]).
#[derive(Debug)]
#[non_exhaustive]
pub struct Authorized {
    /// A handle acting for the shop.
    pub shop: Client,
    /// The pair the platform issued.
    pub token: StoredToken,
    /// Why the token store did not take the pair, if it did not. The client holds the pair
    /// and saves it again in the background; other processes find it once that works.
    pub save_error: Option<Error>,
}

impl Authorized {
    /// Whether the token store took the pair.
    pub fn is_saved(&self) -> bool {
        self.save_error.is_none()
    }
}

impl Client {
    /// The access token of a managed call: the cached one when nothing is to be done (one
    /// lock and one clone per call), else what [`Client::token`] gives.
    pub(super) async fn managed_access_token(&self) -> Result<AccessToken> {
        let ready =
            self.shop.as_deref().and_then(|shop| self.inner.tokens.ready_access_token(shop, self.inner.grant.as_ref()));
        match ready {
            Some(token) => Ok(token),
            None => Ok(self.token().await?.access_token),
        }
    }

    /// A fresh token in place of `rejected` (the one a call carried when the platform said
    /// it expired): one refresh, shared with every caller that saw the same token.
    pub(super) async fn replace_rejected_token(&self, rejected: Option<AccessToken>) -> Result<AccessToken> {
        let rejected = rejected.unwrap_or_else(|| AccessToken::new(""));
        let key = self.shop_key()?;
        let grant = self.inner.grant.as_ref();
        Ok(self.inner.tokens.replace_rejected(key, &rejected, grant, &*self.inner).await?.access_token)
    }
}

impl Client {
    /// Tool apps with many shops: refreshes every shop of the token store whose refresh
    /// token expires within `within` (a refresh token lives 14 days; a shop not refreshed
    /// in time must consent again), at the pace `limiter` gives `token.refresh`
    /// (e.g. a [`LocalRateLimiter`](crate::ratelimit::LocalRateLimiter) with
    /// `RateLimits::new().method("token.refresh", 5.0)`).
    ///
    /// Each shop is renewed under the store's renewal lock and read again once the lock is
    /// held: processes running this at once against one shared store (Redis, or a file
    /// store on one machine) make one token.refresh per due shop, and the others report it
    /// [`skipped`](crate::token::RenewalReport::skipped). A refresh token the platform
    /// refuses is marked on the stored pair ([`StoredToken::refused`]): the shop then
    /// lists as [needing consent](crate::token::TokenState::NeedsConsent), and no later
    /// run or call sends it again. Fails only when the store cannot be listed; each shop's
    /// own failure is in the report.
    ///
    /// Shops already [needing consent](crate::token::TokenState::NeedsConsent) are not
    /// sent. This client's cached pairs are not consulted: run it from a process of its
    /// own (`doudian tokens renew`), or know that clients sharing the store pick the new
    /// pair up from it.
    pub async fn renew_due(
        &self,
        within: std::time::Duration,
        limiter: &dyn crate::ratelimit::RateLimiter,
    ) -> Result<crate::token::RenewalReport> {
        crate::token::renew_due(&**self.inner.tokens.store(), &*self.inner, within, limiter).await
    }
}

impl TokenEndpoint for Inner {
    fn create<'a>(&'a self, grant: &'a Grant) -> BoxFuture<'a, Result<TokenReply>> {
        Box::pin(async move {
            let params = sign::canonical_value(&grant.create_params(self.tokens.test_shop()));
            self.token_call("token.create", params, &self.retry).await
        })
    }

    fn refresh<'a>(&'a self, refresh_token: &'a AccessToken, patient: bool) -> BoxFuture<'a, Result<TokenReply>> {
        Box::pin(async move {
            let params = sign::canonical_value(&serde_json::json!({
                "grant_type": "refresh_token",
                "refresh_token": refresh_token.expose(),
            }));
            let policy = if patient { self.retry.clone() } else { RetryPolicy::none() };
            self.token_call("token.refresh", params, &policy).await
        })
    }
}

impl Inner {
    /// Token calls: no access token, not paced, retried like reads; excerpts withheld.
    async fn token_call(&self, method: &'static str, param_json: String, policy: &RetryPolicy) -> Result<TokenReply> {
        let call = Call::token(method, param_json, policy);
        let decode = decode_reply::<TokenReply>;
        let (call, decode) = (&call, &decode);
        let attempt = |attempt| async move {
            self.send(call, None, attempt, decode).await.map(Response::into_data).map_err(withhold_excerpt)
        };
        crate::retry::run(policy, method, call.retry_ambiguous, attempt).await
    }
}

/// A token reply that does not decode (its envelope or its `data`) may hold live tokens:
/// its excerpt is withheld from the error.
fn withhold_excerpt(error: Error) -> Error {
    match error {
        Error::Decode(mut decode) => {
            decode.excerpt = WITHHELD.to_owned();
            Error::Decode(decode)
        }
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::token::tests::token;

    #[test]
    fn an_authorization_is_saved_when_it_carries_no_save_error() {
        let shop = Client::builder("k", "s").build().unwrap();
        let saved = Authorized { shop: shop.clone(), token: token(1), save_error: None };
        assert!(saved.is_saved());
        let unsaved = Authorized { shop, token: token(1), save_error: Some(Error::config("down")) };
        assert!(!unsaved.is_saved());
    }
}
