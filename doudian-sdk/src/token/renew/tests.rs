use std::collections::HashSet;
use std::sync::atomic::{AtomicU64, Ordering::SeqCst};
use std::sync::{Arc, Mutex};

use futures_util::future::BoxFuture;

use super::*;
use crate::ratelimit::{LocalRateLimiter, RateLimits};
use crate::secret::AccessToken;
use crate::token::tests::token;
use crate::token::{FileTokenStore, Grant, MemoryTokenStore, TokenReply};

const DAY: u64 = 86400;
const WITHIN: Duration = Duration::from_secs(3 * DAY);

/// A platform whose refresh issues a new pair (`<old>+`), or refuses the refresh tokens
/// in `refused` with `refusal`; counts the refreshes.
#[derive(Default)]
struct Platform {
    refreshes: AtomicU64,
    refused: Mutex<HashSet<String>>,
    refusal: Mutex<Option<(i64, String)>>,
}

impl Platform {
    fn refuse(&self, refresh_token: &str, code: i64, sub_code: &str) {
        self.refused.lock().unwrap().insert(refresh_token.to_owned());
        *self.refusal.lock().unwrap() = Some((code, sub_code.to_owned()));
    }
}

impl TokenEndpoint for Platform {
    fn create<'a>(&'a self, _: &'a Grant) -> BoxFuture<'a, Result<TokenReply>> {
        Box::pin(async { Err(Error::config("no token.create here")) })
    }

    fn refresh<'a>(&'a self, refresh_token: &'a AccessToken, _: bool) -> BoxFuture<'a, Result<TokenReply>> {
        Box::pin(async move {
            self.refreshes.fetch_add(1, SeqCst);
            // Yield, so that concurrent renewals really overlap.
            tokio::time::sleep(Duration::from_millis(2)).await;
            if self.refused.lock().unwrap().contains(refresh_token.expose()) {
                let (code, sub_code) = self.refusal.lock().unwrap().clone().unwrap();
                return Err(Error::from(ApiError {
                    method: "token.refresh".into(),
                    code,
                    msg: "生成token失败".into(),
                    sub_code,
                    sub_msg: "refresh_token does not exist".into(),
                    log_id: "log".into(),
                }));
            }
            Ok(TokenReply {
                access_token: format!("{}+a", refresh_token.expose()),
                refresh_token: format!("{}+", refresh_token.expose()),
                expires_in: Some(serde_json::json!(7 * DAY)),
                ..TokenReply::default()
            })
        })
    }
}

/// Shop `key`'s pair with refresh token `r-<key>`, whose refresh token has `left` seconds.
fn shop(key: &str, left: i64) -> StoredToken {
    let now = unix_now();
    let mut pair = token(now.saturating_sub(5 * DAY));
    pair.shop_id = key.into();
    pair.refresh_token = AccessToken::new(format!("r-{key}"));
    pair.refresh_expires_at = now.saturating_add_signed(left);
    pair
}

fn unlimited() -> LocalRateLimiter {
    LocalRateLimiter::new(RateLimits::new())
}

fn keys(report: &RenewalReport) -> (Vec<&str>, Vec<&str>, Vec<&str>, Vec<&str>) {
    let mut renewed: Vec<_> = report.renewed.iter().map(|r| r.key.as_str()).collect();
    let mut refused: Vec<_> = report.refused.iter().map(|r| r.key.as_str()).collect();
    let mut consent: Vec<_> = report.needs_consent.iter().map(String::as_str).collect();
    let mut skipped: Vec<_> = report.skipped.iter().map(String::as_str).collect();
    for list in [&mut renewed, &mut refused, &mut consent, &mut skipped] {
        list.sort_unstable();
    }
    (renewed, refused, consent, skipped)
}

#[tokio::test]
async fn due_shops_are_renewed_a_refused_one_is_marked_and_the_rest_are_not_sent() {
    let store = MemoryTokenStore::new();
    store.save("due-1", &shop("due-1", 2 * DAY as i64)).await.unwrap();
    store.save("due-2", &shop("due-2", 60)).await.unwrap();
    store.save("refused", &shop("refused", DAY as i64)).await.unwrap();
    store.save("valid", &shop("valid", 10 * DAY as i64)).await.unwrap();
    store.save("expired", &shop("expired", -1)).await.unwrap();
    let platform = Platform::default();
    platform.refuse("r-refused", 50001, "dop.token-generate-failed:token-invalid");

    let report = renew_due(&store, &platform, WITHIN, &unlimited()).await.unwrap();
    assert_eq!(keys(&report), (vec!["due-1", "due-2"], vec!["refused"], vec!["expired"], vec![]));
    assert_eq!(platform.refreshes.load(SeqCst), 3, "the expired and the valid shop are not sent");
    assert_eq!((report.valid, report.failed.len(), report.unchanged.len()), (1, 0, 0));
    assert!(report.needs_consent_anywhere());
    let refusal = &report.refused[0].refusal;
    assert_eq!((refusal.code, refusal.sub_code.as_str()), (50001, "dop.token-generate-failed:token-invalid"));
    assert_eq!(refusal.message, "refresh_token does not exist");

    let now = unix_now();
    let renewed = store.load("due-1").await.unwrap().unwrap();
    assert_eq!(renewed.refresh_token.expose(), "r-due-1+");
    assert_eq!(renewed.shop_id, "due-1", "kept when the reply carries none");
    assert!(renewed.refresh_expires_at >= now + 14 * DAY - 5);
    assert_eq!(
        report.renewed.iter().find(|r| r.key == "due-1").unwrap().refresh_expires_at,
        renewed.refresh_expires_at
    );
    assert_eq!(renewed.state(now, WITHIN), TokenState::Valid);
    let marked = store.load("refused").await.unwrap().unwrap();
    assert_eq!(marked.refresh_token.expose(), "r-refused", "the pair is kept, marked");
    assert_eq!(marked.refused.as_ref(), Some(refusal));
    assert_eq!(marked.state(now, WITHIN), TokenState::NeedsConsent);

    // A second run has nothing due, and does not send the refused shop again.
    let again = renew_due(&store, &platform, WITHIN, &unlimited()).await.unwrap();
    assert_eq!(keys(&again), (vec![], vec![], vec!["expired", "refused"], vec![]));
    assert_eq!((again.valid, platform.refreshes.load(SeqCst)), (3, 3));
}

#[tokio::test]
async fn an_app_level_refusal_fails_the_shop_without_marking_it() {
    let store = MemoryTokenStore::new();
    store.save("1", &shop("1", DAY as i64)).await.unwrap();
    let platform = Platform::default();
    platform.refuse("r-1", 40004, "isv.signature-invalid");
    let report = renew_due(&store, &platform, WITHIN, &unlimited()).await.unwrap();
    assert!(report.refused.is_empty() && report.renewed.is_empty());
    assert_eq!(report.failed.len(), 1);
    assert!(report.failed[0].error.contains("isv.signature-invalid"), "{:?}", report.failed);
    let kept = store.load("1").await.unwrap().unwrap();
    assert_eq!((kept.refused.clone(), kept.state(unix_now(), WITHIN)), (None, TokenState::RenewDue));
}

#[tokio::test]
async fn the_same_pair_handed_back_keeps_its_refresh_life_and_is_reported_unchanged() {
    struct Same;
    impl TokenEndpoint for Same {
        fn create<'a>(&'a self, _: &'a Grant) -> BoxFuture<'a, Result<TokenReply>> {
            Box::pin(async { Err(Error::config("no")) })
        }
        fn refresh<'a>(&'a self, token: &'a AccessToken, _: bool) -> BoxFuture<'a, Result<TokenReply>> {
            Box::pin(async move {
                Ok(TokenReply {
                    access_token: "a".into(),
                    refresh_token: token.expose().into(),
                    expires_in: Some(serde_json::json!(3600 * 5)),
                    ..TokenReply::default()
                })
            })
        }
    }
    let store = MemoryTokenStore::new();
    let pair = shop("1", DAY as i64);
    store.save("1", &pair).await.unwrap();
    let report = renew_due(&store, &Same, WITHIN, &unlimited()).await.unwrap();
    assert_eq!(report.unchanged, ["1"]);
    assert!(report.renewed.is_empty());
    assert_eq!(store.load("1").await.unwrap().unwrap().refresh_expires_at, pair.refresh_expires_at);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn four_runs_at_once_on_one_locking_store_refresh_each_due_shop_once() {
    let dir = std::env::temp_dir().join(format!("doudian-renew-due-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let store = Arc::new(FileTokenStore::new(dir.join("tokens.json")));
    for n in 0..30 {
        let left = if n % 3 == 0 { 10 * DAY } else { DAY + n };
        store.save(&n.to_string(), &shop(&n.to_string(), left as i64)).await.unwrap();
    }
    let platform = Arc::new(Platform::default());
    platform.refuse("r-7", 50001, "dop.token-generate-failed:token-invalid");
    let runs: Vec<_> = (0..4)
        .map(|_| {
            let (store, platform) = (store.clone(), platform.clone());
            tokio::spawn(async move { renew_due(&*store, &*platform, WITHIN, &unlimited()).await.unwrap() })
        })
        .collect();
    let mut reports = Vec::new();
    for run in runs {
        reports.push(run.await.unwrap());
    }
    assert_eq!(platform.refreshes.load(SeqCst), 20, "one token.refresh per due shop");
    let renewed: usize = reports.iter().map(|r| r.renewed.len()).sum();
    assert_eq!(renewed, 19);
    for report in &reports {
        // Every run reports the refused shop: refused to it or to a run before it took the
        // lock, or already marked when it listed the store.
        let refused: Vec<_> = report
            .refused
            .iter()
            .map(|r| r.key.as_str())
            .chain(report.needs_consent.iter().map(String::as_str))
            .collect();
        assert_eq!(refused, ["7"], "{report:?}");
        assert!(report.failed.is_empty() && report.unreadable.is_empty(), "{report:?}");
        let accounted = report.renewed.len() + report.skipped.len() + refused.len() + report.valid;
        assert_eq!(accounted, 30, "every shop once: {report:?}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}
