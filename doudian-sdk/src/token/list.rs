//! Walking a store's shops ([`list_tokens`]) and what each shop's pair says about it
//! ([`TokenState`]): for operators of tool apps with many shops.

use std::collections::HashSet;

use futures_util::stream::{self, BoxStream, StreamExt, TryStreamExt};
use serde::Serialize;

use super::{StoredToken, TokenStore};
use crate::error::Result;

/// One page of a store's tokens ([`TokenStore::list_page`]).
#[derive(Debug)]
#[non_exhaustive]
pub struct TokenPage {
    /// The tokens of the page, each with the key it is kept under.
    pub tokens: Vec<ListedToken>,
    /// Where the next page starts; `None` on the last page.
    pub next: Option<String>,
}

impl TokenPage {
    /// A page of `tokens`, followed by the page at `next` (`None`: the last page).
    pub fn new(tokens: Vec<ListedToken>, next: Option<String>) -> Self {
        TokenPage { tokens, next }
    }
}

/// A key of a store and its token, or why that token cannot be read (a file that is not a
/// token): one bad entry does not hide the others.
#[derive(Debug)]
#[non_exhaustive]
pub struct ListedToken {
    /// The key (shop id or subject id).
    pub key: String,
    /// Its token.
    pub token: Result<StoredToken>,
}

impl ListedToken {
    /// `key` and its token (or the error reading it).
    pub fn new(key: impl Into<String>, token: Result<StoredToken>) -> Self {
        ListedToken { key: key.into(), token }
    }
}

/// What a shop's stored pair says about its authorisation at a given time
/// ([`StoredToken::state`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum TokenState {
    /// The refresh token has more than the renewal window left.
    Valid,
    /// The refresh token expires within the renewal window: refresh it now
    /// ([`Client::renew_due`](crate::Client::renew_due)), or the shop must consent again.
    RenewDue,
    /// The refresh token has expired or the platform refused it: only the shop's new
    /// consent (a new authorisation code) gives a token again.
    NeedsConsent,
}

impl TokenState {
    /// `valid`, `renew_due` or `needs_consent`.
    pub fn as_str(self) -> &'static str {
        match self {
            TokenState::Valid => "valid",
            TokenState::RenewDue => "renew_due",
            TokenState::NeedsConsent => "needs_consent",
        }
    }
}

impl std::fmt::Display for TokenState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Every token of `store`, fetched `page_size` at a time (so 10,000 shops never make one
/// huge reply), each key once even when the store lists it on two pages. Fails with the
/// error of the first page the store cannot give (a store that cannot list at all:
/// [`ListingUnsupported`](crate::error::ListingUnsupported)).
///
/// ```no_run
/// # async fn demo(store: &dyn doudian_sdk::token::TokenStore) -> doudian_sdk::Result<()> {
/// use futures_util::TryStreamExt;
/// let mut tokens = doudian_sdk::token::list_tokens(store, 500);
/// while let Some(listed) = tokens.try_next().await? {
///     println!("{}: {:?}", listed.key, listed.token.map(|t| t.refresh_expires_at));
/// }
/// # Ok(()) }
/// ```
pub fn list_tokens(store: &dyn TokenStore, page_size: usize) -> BoxStream<'_, Result<ListedToken>> {
    struct Walk {
        cursor: Option<String>,
        finished: bool,
        seen: HashSet<String>,
    }
    let start = Walk { cursor: None, finished: false, seen: HashSet::new() };
    stream::try_unfold(start, move |mut walk| async move {
        if walk.finished {
            return Ok::<_, crate::Error>(None);
        }
        let page = store.list_page(walk.cursor.as_deref(), page_size.max(1)).await?;
        walk.finished = page.next.is_none();
        walk.cursor = page.next;
        let fresh: Vec<_> = page.tokens.into_iter().filter(|t| walk.seen.insert(t.key.clone())).collect();
        Ok(Some((stream::iter(fresh.into_iter().map(Ok)), walk)))
    })
    .try_flatten()
    .boxed()
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use futures_util::future::BoxFuture;

    use super::*;
    use crate::token::tests::token;
    use crate::token::{MemoryTokenStore, RefreshRefusal, RenewalLock};

    const DAY: u64 = 86400;

    #[test]
    fn the_state_follows_the_refresh_tokens_expiry_and_a_refusal() {
        let now = 1_800_000_000;
        let mut pair = token(now + 2 * DAY);
        let within = Duration::from_secs(3 * DAY);
        pair.refresh_expires_at = now + 10 * DAY;
        assert_eq!(pair.state(now, within), TokenState::Valid);
        pair.refresh_expires_at = now + 3 * DAY + 1;
        assert_eq!(pair.state(now, within), TokenState::Valid, "one second outside the window");
        pair.refresh_expires_at = now + 3 * DAY;
        assert_eq!(pair.state(now, within), TokenState::RenewDue, "the window's edge is inside it");
        pair.refresh_expires_at = now + 1;
        assert_eq!(pair.state(now, within), TokenState::RenewDue);
        pair.refresh_expires_at = now;
        assert_eq!(pair.state(now, within), TokenState::NeedsConsent, "its last second is over as it begins");
        // An expired access token alone is not a consent matter: the refresh token renews it.
        let mut lapsed = token(now - DAY);
        lapsed.refresh_expires_at = now + 10 * DAY;
        assert_eq!(lapsed.state(now, within), TokenState::Valid);
        // A refused refresh token needs consent however long it had left.
        lapsed.refused = Some(RefreshRefusal { code: 50001, sub_code: "x".into(), message: "no".into(), at: now });
        assert_eq!(lapsed.state(now, within), TokenState::NeedsConsent);
        assert_eq!(lapsed.state(now, Duration::ZERO), TokenState::NeedsConsent);
        assert_eq!(
            [TokenState::Valid, TokenState::RenewDue, TokenState::NeedsConsent].map(|s| s.to_string()),
            ["valid", "renew_due", "needs_consent"]
        );
    }

    #[test]
    fn a_pair_stored_without_a_refusal_reads_and_writes_as_before() {
        let pair = token(5);
        let json = serde_json::to_value(&pair).unwrap();
        assert!(json.get("refused").is_none(), "unset, left out: earlier versions read it as before");
        let read: StoredToken = serde_json::from_value(json).unwrap();
        assert_eq!(read.refused, None);
        let mut refused = pair.clone();
        refused.refused = Some(RefreshRefusal { code: 50001, sub_code: "s".into(), message: "m".into(), at: 9 });
        let json = serde_json::to_value(&refused).unwrap();
        assert_eq!(json["refused"], serde_json::json!({"code": 50001, "sub_code": "s", "message": "m", "at": 9}));
        assert_eq!(serde_json::from_value::<StoredToken>(json).unwrap(), refused);
    }

    #[tokio::test]
    async fn every_token_is_listed_once_across_small_pages() {
        let store = MemoryTokenStore::new();
        for shop in 0..25u64 {
            store.save(&format!("{shop:03}"), &token(shop)).await.unwrap();
        }
        let listed: Vec<ListedToken> = list_tokens(&store, 4).try_collect().await.unwrap();
        let keys: Vec<_> = listed.iter().map(|t| t.key.clone()).collect();
        assert_eq!(keys, (0..25).map(|s| format!("{s:03}")).collect::<Vec<_>>());
        assert!(listed.iter().all(|t| t.token.as_ref().unwrap().expires_at == t.key.parse::<u64>().unwrap()));
        let empty: Vec<ListedToken> = list_tokens(&MemoryTokenStore::new(), 4).try_collect().await.unwrap();
        assert!(empty.is_empty());
    }

    #[tokio::test]
    async fn memory_pages_follow_each_other_and_the_last_full_page_has_no_next() {
        let store = MemoryTokenStore::new();
        for shop in 0..6u64 {
            store.save(&format!("{shop}"), &token(shop)).await.unwrap();
        }
        let keys = |page: &TokenPage| page.tokens.iter().map(|t| t.key.clone()).collect::<Vec<_>>();
        let first = store.list_page(None, 3).await.unwrap();
        assert_eq!((keys(&first), first.next.as_deref()), (vec!["0".into(), "1".into(), "2".into()], Some("2")));
        // The cursor's own key is not listed again, and exactly `limit` keys left is the end.
        let second = store.list_page(first.next.as_deref(), 3).await.unwrap();
        assert_eq!((keys(&second), second.next), (vec!["3".into(), "4".into(), "5".into()], None));
    }

    /// A store whose pages repeat keys, as Redis SCAN may while the store changes.
    struct Repeating;

    impl TokenStore for Repeating {
        fn load<'a>(&'a self, _: &'a str) -> BoxFuture<'a, Result<Option<StoredToken>>> {
            Box::pin(async { Ok(None) })
        }
        fn save<'a>(&'a self, _: &'a str, _: &'a StoredToken) -> BoxFuture<'a, Result<()>> {
            Box::pin(async { Ok(()) })
        }
        fn remove<'a>(&'a self, _: &'a str) -> BoxFuture<'a, Result<()>> {
            Box::pin(async { Ok(()) })
        }
        fn list_page<'a>(&'a self, cursor: Option<&'a str>, _: usize) -> BoxFuture<'a, Result<TokenPage>> {
            let listed = |keys: &[&str]| keys.iter().map(|k| ListedToken::new(*k, Ok(token(1)))).collect();
            let page = match cursor {
                None => TokenPage::new(listed(&["a", "b"]), Some("1".into())),
                Some("1") => TokenPage::new(vec![], Some("2".into())),
                _ => TokenPage::new(listed(&["b", "c", "a"]), None),
            };
            Box::pin(async move { Ok(page) })
        }
    }

    #[tokio::test]
    async fn a_key_listed_on_two_pages_is_listed_once_and_empty_pages_do_not_end_the_walk() {
        let listed: Vec<ListedToken> = list_tokens(&Repeating, 10).try_collect().await.unwrap();
        assert_eq!(listed.iter().map(|t| t.key.as_str()).collect::<Vec<_>>(), ["a", "b", "c"]);
    }

    /// A third-party store that implements no listing.
    struct Unlisted;

    impl TokenStore for Unlisted {
        fn load<'a>(&'a self, _: &'a str) -> BoxFuture<'a, Result<Option<StoredToken>>> {
            Box::pin(async { Ok(None) })
        }
        fn save<'a>(&'a self, _: &'a str, _: &'a StoredToken) -> BoxFuture<'a, Result<()>> {
            Box::pin(async { Ok(()) })
        }
        fn remove<'a>(&'a self, _: &'a str) -> BoxFuture<'a, Result<()>> {
            Box::pin(async { Ok(()) })
        }
        fn lock_renewal<'a>(&'a self, _: &'a str, _: Duration) -> BoxFuture<'a, Result<RenewalLock>> {
            Box::pin(async { Ok(RenewalLock::unlocked()) })
        }
    }

    #[tokio::test]
    async fn a_store_that_cannot_list_says_so_with_a_typed_error() {
        let error = list_tokens(&Unlisted, 10).try_next().await.unwrap_err();
        assert!(matches!(error, crate::Error::TokenStore { .. }), "{error:?}");
        let unsupported = std::error::Error::source(&error)
            .and_then(|s| s.downcast_ref::<crate::error::ListingUnsupported>())
            .expect("the source says the store cannot list");
        assert!(unsupported.store.ends_with("Unlisted"), "{}", unsupported.store);
        assert!(unsupported.to_string().contains("cannot list"), "{unsupported}");
    }
}
