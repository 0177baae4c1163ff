//! Access tokens, refresh tokens and authorisation codes, with the refresh rules of
//! PROTOCOL.md §4:
//!
//! 1. refreshed more than `refresh_window` (1 h) before the access token expires: the same
//!    pair comes back, with the remaining lifetime;
//! 2. refreshed inside that window: a new pair; the old pair stays valid for
//!    `rotation_grace` (1 h) more. Refreshing the old refresh token again during that hour
//!    returns the new pair (concurrent refreshers agree on one pair);
//! 3. refreshed after the access token expired (the refresh token still valid): a new
//!    pair, and the old pair is dead at once.
//!
//! All times are gateway-clock milliseconds, so tests can use lifetimes of seconds or
//! move the clock forward.

use std::collections::HashMap;
use std::time::Duration;

use serde_json::{json, Value};

use crate::envelope::{ApiFailure, CODE_INVALID_PARAMETER};
use crate::random::Rng;

/// Token lifetimes and windows.
#[derive(Debug, Clone, Copy)]
pub(crate) struct TokenPolicy {
    pub(crate) access_ttl: Duration,
    pub(crate) refresh_ttl: Duration,
    pub(crate) refresh_window: Duration,
    pub(crate) rotation_grace: Duration,
    pub(crate) auth_code_ttl: Duration,
}

fn ms(d: Duration) -> u64 {
    d.as_millis().min(u128::from(u64::MAX)) as u64
}

/// Whom a token was issued for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Grant {
    /// The shop (0 for non-shop subjects such as a logistics provider).
    pub(crate) shop_id: i64,
    pub(crate) shop_name: String,
    pub(crate) authority_id: String,
    pub(crate) auth_subject_type: String,
}

#[derive(Debug)]
struct Pair {
    access_token: String,
    refresh_token: String,
    grant: Grant,
    /// When the access token expires by its lifetime (what `expires_in` counts down to).
    access_expires_at: u64,
    /// When the access token stops being accepted (earlier or later after a rotation).
    access_valid_until: u64,
    refresh_valid_until: u64,
    /// The pair that replaced this one inside the refresh window.
    successor: Option<u64>,
}

#[derive(Debug)]
struct AuthCode {
    grant: Grant,
    expires_at: u64,
}

/// What a refresh did (counted by the gateway).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RefreshOutcome {
    SamePair,
    Rotated,
    AfterExpiry,
}

#[derive(Debug)]
pub(crate) struct Tokens {
    policy: TokenPolicy,
    pairs: HashMap<u64, Pair>,
    by_access: HashMap<String, u64>,
    by_refresh: HashMap<String, u64>,
    codes: HashMap<String, AuthCode>,
    next_id: u64,
}

impl Tokens {
    pub(crate) fn new(policy: TokenPolicy) -> Self {
        Tokens {
            policy,
            pairs: HashMap::new(),
            by_access: HashMap::new(),
            by_refresh: HashMap::new(),
            codes: HashMap::new(),
            next_id: 1,
        }
    }

    /// The grant behind a valid access token, or the platform's error for it.
    pub(crate) fn check_access(&self, access_token: &str, now: u64) -> Result<&Grant, ApiFailure> {
        let pair = self.by_access.get(access_token).and_then(|id| self.pairs.get(id)).ok_or_else(|| {
            ApiFailure::new(
                CODE_INVALID_PARAMETER,
                "isv.access-token-no-existed",
                "access_token does not exist (never issued, or replaced after it expired)",
            )
        })?;
        if now >= pair.access_valid_until {
            return Err(ApiFailure::new(
                CODE_INVALID_PARAMETER,
                "isv.access-token-expired",
                "access_token has expired; refresh it",
            ));
        }
        Ok(&pair.grant)
    }

    /// Every pair issued so far, oldest first: (access token, refresh token).
    pub(crate) fn issued(&self) -> Vec<(String, String)> {
        let mut ids: Vec<&u64> = self.pairs.keys().collect();
        ids.sort_unstable();
        ids.into_iter().map(|id| (self.pairs[id].access_token.clone(), self.pairs[id].refresh_token.clone())).collect()
    }

    /// Issues a fresh pair for `grant` and returns the token data.
    pub(crate) fn issue(&mut self, grant: Grant, now: u64, rng: &Rng) -> Value {
        let id = self.insert(grant, now, rng);
        self.data(id, now)
    }

    fn insert(&mut self, grant: Grant, now: u64, rng: &Rng) -> u64 {
        let id = self.next_id;
        self.next_id += 1;
        let access_expires_at = now + ms(self.policy.access_ttl);
        let pair = Pair {
            access_token: rng.uuid(),
            refresh_token: rng.uuid(),
            grant,
            access_expires_at,
            access_valid_until: access_expires_at,
            refresh_valid_until: now + ms(self.policy.refresh_ttl),
            successor: None,
        };
        self.by_access.insert(pair.access_token.clone(), id);
        self.by_refresh.insert(pair.refresh_token.clone(), id);
        self.pairs.insert(id, pair);
        id
    }

    fn remove(&mut self, id: u64) {
        if let Some(pair) = self.pairs.remove(&id) {
            self.by_access.remove(&pair.access_token);
            self.by_refresh.remove(&pair.refresh_token);
        }
    }

    /// token.refresh with `refresh_token` at `now`.
    pub(crate) fn refresh(
        &mut self,
        refresh_token: &str,
        now: u64,
        rng: &Rng,
    ) -> Result<(Value, RefreshOutcome), ApiFailure> {
        let id = *self
            .by_refresh
            .get(refresh_token)
            .ok_or_else(|| ApiFailure::token_generation("token-invalid", "refresh_token does not exist"))?;
        let (grant, expires_at, refresh_until, successor) = {
            let pair = &self.pairs[&id];
            (pair.grant.clone(), pair.access_expires_at, pair.refresh_valid_until, pair.successor)
        };
        if now >= refresh_until {
            return Err(ApiFailure::token_generation("token-expired", "refresh_token has expired"));
        }
        if let Some(next) = successor.filter(|next| self.pairs.contains_key(next)) {
            // Already rotated inside the window: hand out the pair that replaced it.
            return Ok((self.data(next, now), RefreshOutcome::Rotated));
        }
        if now + ms(self.policy.refresh_window) < expires_at {
            return Ok((self.data(id, now), RefreshOutcome::SamePair));
        }
        let next = self.insert(grant, now, rng);
        if now < expires_at {
            let grace_end = now + ms(self.policy.rotation_grace);
            if let Some(old) = self.pairs.get_mut(&id) {
                old.access_valid_until = grace_end;
                old.refresh_valid_until = grace_end.min(old.refresh_valid_until);
                old.successor = Some(next);
            }
            Ok((self.data(next, now), RefreshOutcome::Rotated))
        } else {
            self.remove(id);
            Ok((self.data(next, now), RefreshOutcome::AfterExpiry))
        }
    }

    /// Mints a single-use authorisation code for `grant`, valid `auth_code_ttl`.
    pub(crate) fn mint_code(&mut self, grant: Grant, now: u64, rng: &Rng) -> String {
        let code = rng.uuid();
        let expires_at = now + ms(self.policy.auth_code_ttl);
        self.codes.insert(code.clone(), AuthCode { grant, expires_at });
        code
    }

    /// Redeems an authorisation code (once).
    pub(crate) fn redeem_code(&mut self, code: &str, now: u64) -> Result<Grant, ApiFailure> {
        let entry = self.codes.remove(code).ok_or_else(|| {
            ApiFailure::token_generation("code-invalid", "the authorisation code is unknown or already used")
        })?;
        if now >= entry.expires_at {
            return Err(ApiFailure::token_generation("code-expired", "the authorisation code has expired"));
        }
        Ok(entry.grant)
    }

    /// Makes an access token expire now (it can still be refreshed). False if unknown.
    pub(crate) fn expire_now(&mut self, access_token: &str, now: u64) -> bool {
        let Some(id) = self.by_access.get(access_token) else { return false };
        let Some(pair) = self.pairs.get_mut(id) else { return false };
        pair.access_expires_at = pair.access_expires_at.min(now);
        pair.access_valid_until = pair.access_valid_until.min(now);
        true
    }

    /// Forgets an access token and its refresh token (authorisation cancelled).
    pub(crate) fn revoke(&mut self, access_token: &str) -> bool {
        match self.by_access.get(access_token).copied() {
            Some(id) => {
                self.remove(id);
                true
            }
            None => false,
        }
    }

    /// The token.create / token.refresh `data` of pair `id`.
    fn data(&self, id: u64, now: u64) -> Value {
        let pair = &self.pairs[&id];
        let expires_in = pair.access_expires_at.saturating_sub(now) / 1000;
        json!({
            "access_token": pair.access_token,
            "expires_in": expires_in,
            "refresh_token": pair.refresh_token,
            "scope": "SCOPE",
            "shop_id": pair.grant.shop_id,
            "shop_name": pair.grant.shop_name,
            "authority_id": pair.grant.authority_id,
            "auth_subject_type": pair.grant.auth_subject_type,
            "encrypt_operator": "",
            "operator_name": "",
            "shop_biz_type": 0,
            "toutiao_id": "",
            "token_type": 0,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: u64 = 1000;

    fn tokens() -> Tokens {
        Tokens::new(TokenPolicy {
            access_ttl: Duration::from_secs(100),
            refresh_ttl: Duration::from_secs(1000),
            refresh_window: Duration::from_secs(10),
            rotation_grace: Duration::from_secs(10),
            auth_code_ttl: Duration::from_secs(60),
        })
    }

    fn grant() -> Grant {
        Grant { shop_id: 7, shop_name: "s".into(), authority_id: "7".into(), auth_subject_type: String::new() }
    }

    fn field(v: &Value, name: &str) -> String {
        v[name].as_str().unwrap().to_owned()
    }

    #[test]
    fn refresh_rules() {
        let rng = Rng::from_entropy();
        let mut t = tokens();
        let first = t.issue(grant(), 0, &rng);
        let (a0, r0) = (field(&first, "access_token"), field(&first, "refresh_token"));
        assert_eq!(first["expires_in"], 100);

        // Early: the same pair with the remaining lifetime.
        let (same, outcome) = t.refresh(&r0, 50 * S, &rng).unwrap();
        assert_eq!(outcome, RefreshOutcome::SamePair);
        assert_eq!(field(&same, "access_token"), a0);
        assert_eq!(same["expires_in"], 50);

        // Inside the window: a new pair; the old one lives `rotation_grace` more.
        let (new, outcome) = t.refresh(&r0, 95 * S, &rng).unwrap();
        assert_eq!(outcome, RefreshOutcome::Rotated);
        let (a1, r1) = (field(&new, "access_token"), field(&new, "refresh_token"));
        assert_ne!(a1, a0);
        assert_eq!(new["expires_in"], 100);
        assert!(t.check_access(&a0, 104 * S).is_ok(), "old pair valid past its own expiry");
        assert_eq!(t.check_access(&a0, 105 * S).unwrap_err().sub_code, "isv.access-token-expired");
        // Refreshing the old token again during the grace hour gives the same new pair.
        let (again, _) = t.refresh(&r0, 96 * S, &rng).unwrap();
        assert_eq!(field(&again, "access_token"), a1);
        assert!(t.refresh(&r0, 105 * S, &rng).is_err());

        // After expiry: a new pair, the old one dead at once.
        assert_eq!(t.check_access(&a1, 196 * S).unwrap_err().sub_code, "isv.access-token-expired");
        let (late, outcome) = t.refresh(&r1, 196 * S, &rng).unwrap();
        assert_eq!(outcome, RefreshOutcome::AfterExpiry);
        assert_eq!(t.check_access(&a1, 196 * S).unwrap_err().sub_code, "isv.access-token-no-existed");
        assert_eq!(t.refresh(&r1, 196 * S, &rng).unwrap_err().sub_code, "dop.token-generate-failed:token-invalid");
        assert!(t.check_access(&field(&late, "access_token"), 196 * S).is_ok());
    }

    #[test]
    fn refresh_token_expiry() {
        let rng = Rng::from_entropy();
        let mut t = tokens();
        let first = t.issue(grant(), 0, &rng);
        let err = t.refresh(&field(&first, "refresh_token"), 1000 * S, &rng).unwrap_err();
        assert_eq!(err.sub_code, "dop.token-generate-failed:token-expired");
    }

    #[test]
    fn codes_are_single_use_and_expire() {
        let rng = Rng::from_entropy();
        let mut t = tokens();
        let code = t.mint_code(grant(), 0, &rng);
        assert_eq!(t.redeem_code(&code, 1), Ok(grant()));
        assert_eq!(t.redeem_code(&code, 2).unwrap_err().sub_code, "dop.token-generate-failed:code-invalid");
        let code = t.mint_code(grant(), 0, &rng);
        assert_eq!(t.redeem_code(&code, 60 * S).unwrap_err().sub_code, "dop.token-generate-failed:code-expired");
    }
}
