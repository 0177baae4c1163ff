//! token.create and token.refresh by the rules of PROTOCOL.md §4, with lifetimes of seconds.

mod common;

use std::time::Duration;

use common::*;
use doudian_gateway::{Gateway, RunningGateway};
use serde_json::{json, Value};

async fn short_lived() -> RunningGateway {
    Gateway::builder()
        .app_key(APP_KEY)
        .app_secret(APP_SECRET)
        .token_ttl(Duration::from_secs(30))
        .refresh_ttl(Duration::from_secs(300))
        .refresh_window(Duration::from_secs(10))
        .rotation_grace(Duration::from_secs(10))
        .start()
        .await
        .unwrap()
}

fn text(v: &Value, key: &str) -> String {
    v[key].as_str().unwrap_or_else(|| panic!("{key} in {v}")).to_owned()
}

async fn brand_list(gw: &RunningGateway, token: &str) -> Value {
    Caller::new(gw).with_token(token).call("shop.brandList", json!({})).await
}

async fn refresh(gw: &RunningGateway, refresh_token: &str) -> Value {
    Caller::new(gw).call("token.refresh", json!({"grant_type": "refresh_token", "refresh_token": refresh_token})).await
}

#[tokio::test]
async fn self_use_token_with_numeric_or_string_shop_id() {
    let gw = gateway().await;
    let caller = Caller::new(&gw);
    let data = caller.create_token(gw.shop_id()).await;
    for key in ["access_token", "refresh_token", "scope", "shop_name", "authority_id", "auth_subject_type"] {
        assert!(data[key].is_string(), "{key}: {data}");
    }
    assert_eq!(data["shop_id"], gw.shop_id());
    assert_eq!(data["expires_in"], 7 * 24 * 3600);
    assert_ok(&brand_list(&gw, &text(&data, "access_token")).await);

    let reply = caller
        .call(
            "token.create",
            json!({"grant_type": "authorization_self", "code": "", "shop_id": gw.shop_id().to_string()}),
        )
        .await;
    assert_ok(&reply);
    // Java and Python send an empty access_token on token calls.
    let with_empty = caller.clone().with_token("");
    let reply =
        with_empty.call("token.create", json!({"grant_type": "authorization_self", "shop_id": gw.shop_id()})).await;
    assert_ok(&reply);
    assert_eq!(gw.counters().tokens_created, 3);
}

#[tokio::test]
async fn token_create_refusals() {
    let gw = gateway().await;
    let caller = Caller::new(&gw);
    let reply = caller.call("token.create", json!({"grant_type": "authorization_self", "shop_id": 1})).await;
    assert_error(&reply, 50001, "dop.token-generate-failed:no-authorization");
    let reply = caller.call("token.create", json!({"shop_id": gw.shop_id()})).await;
    assert_error(&reply, 40001, "isv.parameter-missing");
    let reply = caller.call("token.create", json!({"grant_type": "password"})).await;
    assert_error(&reply, 50001, "dop.token-generate-failed:grant-type-invalid");
    let reply = caller.call("token.create", json!({"grant_type": "authorization_self"})).await;
    assert_error(&reply, 40001, "isv.parameter-missing");
}

#[tokio::test]
async fn non_shop_subjects_get_tokens() {
    let gw = gateway().await;
    let reply = Caller::new(&gw)
        .call(
            "token.create",
            json!({"grant_type": "authorization_self", "auth_id": "112334", "auth_subject_type": "WuLiuShang"}),
        )
        .await;
    let data = assert_ok(&reply);
    assert_eq!(data["authority_id"], "112334");
    assert_eq!(data["auth_subject_type"], "WuLiuShang");
}

#[tokio::test]
async fn tool_apps_redeem_minted_codes_once() {
    let gw = gateway().await;
    let caller = Caller::new(&gw);
    let code = gw.mint_auth_code(gw.shop_id());
    let reply = caller.call("token.create", json!({"grant_type": "authorization_code", "code": code})).await;
    let data = assert_ok(&reply);
    assert_eq!(data["shop_id"], gw.shop_id());
    assert_ok(&brand_list(&gw, &text(data, "access_token")).await);

    let again = caller.call("token.create", json!({"grant_type": "authorization_code", "code": code})).await;
    assert_error(&again, 50001, "dop.token-generate-failed:code-invalid");

    let late = gw.mint_auth_code(gw.shop_id());
    gw.advance_clock(Duration::from_secs(601));
    let reply = caller.call("token.create", json!({"grant_type": "authorization_code", "code": late})).await;
    assert_error(&reply, 50001, "dop.token-generate-failed:code-expired");
}

#[tokio::test]
async fn refresh_early_returns_the_same_pair() {
    let gw = short_lived().await;
    let first = Caller::new(&gw).create_token(gw.shop_id()).await;
    gw.advance_clock(Duration::from_secs(5));
    let reply = refresh(&gw, &text(&first, "refresh_token")).await;
    let same = assert_ok(&reply);
    assert_eq!(same["access_token"], first["access_token"]);
    assert_eq!(same["refresh_token"], first["refresh_token"]);
    let left = same["expires_in"].as_u64().unwrap();
    assert!((24..=25).contains(&left), "{left}");
    assert_eq!(gw.counters().refreshes.same_pair, 1);
}

#[tokio::test]
async fn refresh_in_the_last_window_rotates_and_keeps_the_old_pair_for_the_grace() {
    let gw = short_lived().await;
    let first = Caller::new(&gw).create_token(gw.shop_id()).await;
    let (old_access, old_refresh) = (text(&first, "access_token"), text(&first, "refresh_token"));
    gw.advance_clock(Duration::from_secs(25));
    let reply = refresh(&gw, &old_refresh).await;
    let new = assert_ok(&reply).clone();
    assert_ne!(new["access_token"], first["access_token"]);
    assert_ne!(new["refresh_token"], first["refresh_token"]);
    assert_eq!(new["expires_in"], 30);
    // A second refresher with the old refresh token gets the same new pair.
    let again = refresh(&gw, &old_refresh).await;
    assert_eq!(assert_ok(&again)["access_token"], new["access_token"]);

    // The old pair lives on for the grace period, past its own expiry...
    gw.advance_clock(Duration::from_secs(8));
    assert_ok(&brand_list(&gw, &old_access).await);
    // ...and not after.
    gw.advance_clock(Duration::from_secs(3));
    assert_error(&brand_list(&gw, &old_access).await, 40003, "isv.access-token-expired");
    assert_ok(&brand_list(&gw, &text(&new, "access_token")).await);
    assert_eq!(gw.counters().refreshes.rotated, 2);
}

#[tokio::test]
async fn refresh_after_expiry_kills_the_old_pair() {
    let gw = short_lived().await;
    let first = Caller::new(&gw).create_token(gw.shop_id()).await;
    let old_access = text(&first, "access_token");
    gw.advance_clock(Duration::from_secs(31));
    assert_error(&brand_list(&gw, &old_access).await, 40003, "isv.access-token-expired");
    let reply = refresh(&gw, &text(&first, "refresh_token")).await;
    let new = assert_ok(&reply).clone();
    assert_ne!(new["access_token"], first["access_token"]);
    assert_error(&brand_list(&gw, &old_access).await, 40003, "isv.access-token-no-existed");
    let reused = refresh(&gw, &text(&first, "refresh_token")).await;
    assert_error(&reused, 50001, "dop.token-generate-failed:token-invalid");
    assert_ok(&brand_list(&gw, &text(&new, "access_token")).await);
    let c = gw.counters();
    assert_eq!((c.refreshes.after_expiry, c.refreshes.refused), (1, 1));
}

#[tokio::test]
async fn refresh_token_expiry_and_bad_grant() {
    let gw = short_lived().await;
    let first = Caller::new(&gw).create_token(gw.shop_id()).await;
    let reply = Caller::new(&gw)
        .call(
            "token.refresh",
            json!({"grant_type": "authorization_self", "refresh_token": text(&first, "refresh_token")}),
        )
        .await;
    assert_error(&reply, 50001, "dop.token-generate-failed:grant-type-invalid");
    gw.advance_clock(Duration::from_secs(301));
    let reply = refresh(&gw, &text(&first, "refresh_token")).await;
    assert_error(&reply, 50001, "dop.token-generate-failed:token-expired");
}

#[tokio::test]
async fn tokens_expire_in_real_time_too() {
    let gw = Gateway::builder()
        .app_key(APP_KEY)
        .app_secret(APP_SECRET)
        .token_ttl(Duration::from_millis(800))
        .start()
        .await
        .unwrap();
    let token = gw.issue_token();
    assert_ok(&brand_list(&gw, &token.access_token).await);
    tokio::time::sleep(Duration::from_millis(900)).await;
    assert_error(&brand_list(&gw, &token.access_token).await, 40003, "isv.access-token-expired");
    assert_eq!(gw.counters().token_failures, 1);
}

#[tokio::test]
async fn expire_and_revoke_switches() {
    let gw = gateway().await;
    let a = gw.issue_token();
    let b = gw.issue_token();
    assert!(gw.expire_token(&a.access_token));
    assert!(gw.revoke_token(&b.access_token));
    assert!(!gw.revoke_token("unknown"));
    assert_error(&brand_list(&gw, &a.access_token).await, 40003, "isv.access-token-expired");
    assert_error(&brand_list(&gw, &b.access_token).await, 40003, "isv.access-token-no-existed");
    // An expired token refreshes to a new pair.
    let reply = refresh(&gw, &a.refresh_token).await;
    assert_ok(&brand_list(&gw, &text(assert_ok(&reply), "access_token")).await);
}
